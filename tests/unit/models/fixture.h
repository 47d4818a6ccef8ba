/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - helpers shared by the models unit tests: a small hand-made tree ensemble, a
 * linear model, and a finished bundle built from them with fixed metadata.
 */
#ifndef GY_TEST_MODELS_FIXTURE_H
#define GY_TEST_MODELS_FIXTURE_H

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "models/models_int.h"

/*
 * Two trees over 3 features, binary:logistic with base_score 0.5:
 *   tree 0: n0: x0 < 0.5 (missing left) ? n1 : n2;  n1 leaf 0.25;
 *           n2: x1 < -1 (missing right) ? n3 : n4;  n3 leaf -0.5; n4 leaf 0.75
 *   tree 1: n0: x2 < 3 (missing left) ? n1 : n2;    n1 leaf 0.125; n2 leaf -0.375
 */
static inline struct gy_trees *fx_trees(void)
{
    const uint32_t nn[2] = {5, 3};
    struct gy_trees *t;
    struct gy_tree_node *a, *b;
    cr_assert_eq(gy_model_trees_create("binary:logistic", 3, 1, 0.5f, 2, nn, &t), GY_OK, "%s",
                 gy_error_msg());
    a = t->trees[0].nodes;
    b = t->trees[1].nodes;
    a[0] = (struct gy_tree_node){1, 2, 0, 1, 0.5f};
    a[1] = (struct gy_tree_node){-1, -1, 0, 0, 0.25f};
    a[2] = (struct gy_tree_node){3, 4, 1, 0, -1.0f};
    a[3] = (struct gy_tree_node){-1, -1, 0, 0, -0.5f};
    a[4] = (struct gy_tree_node){-1, -1, 0, 0, 0.75f};
    b[0] = (struct gy_tree_node){1, 2, 2, 1, 3.0f};
    b[1] = (struct gy_tree_node){-1, -1, 0, 0, 0.125f};
    b[2] = (struct gy_tree_node){-1, -1, 0, 0, -0.375f};
    cr_assert_eq(gy_model_trees_validate(t), GY_OK, "%s", gy_error_msg());
    return t;
}

static inline struct gy_features *fx_identity(size_t n)
{
    static const char *const names[] = {"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"};
    struct gy_features *f;
    cr_assert(n <= 8);
    cr_assert_eq(gy_features_identity(names, n, &f), GY_OK);
    return f;
}

/* Builds and serializes a bundle into @p out (initialized here). */
static inline void fx_bundle(const struct gy_trees *t, const struct gy_linear *l,
                             const struct gy_features *f, const float *scores, size_t nscores,
                             struct gy_buf *out)
{
    struct gy_model_builder *b;
    json_t *params = json_pack("{s:s,s:i}", "eta", "0.3", "rounds", 2);
    json_t *metrics = json_pack("{s:f}", "auc", 0.75);
    json_t *classes = json_pack("[ss]", "legit", "fraud");
    json_t *lake = json_pack("{s:[{s:s,s:i},{s:s,s:i}]}", "columns", "name", "x0", "count", 10,
                             "name", "dropped", "count", 3);
    struct gy_model_info info = {
        .name = "fraud",
        .trainer = t ? "xgboost" : "logistic",
        .objective = t ? t->objective : l->objective,
        .run_id = "run-1",
        .dataset = "tx@3",
        .target = "label",
        .created_us = INT64_C(1700000000000000),
        .params = params,
        .metrics = metrics,
        .classes = (t ? t->link : l->link) == GY_LINK_LOGISTIC ? classes : NULL,
    };
    cr_assert_eq(gy_model_builder_create(&b), GY_OK);
    cr_assert_eq(gy_model_builder_set_info(b, &info), GY_OK, "%s", gy_error_msg());
    gy_model_builder_set_features(b, f);
    if (t)
        gy_model_builder_set_trees(b, t);
    else
        gy_model_builder_set_linear(b, l);
    cr_assert_eq(gy_model_builder_set_profile(b, lake, scores, nscores,
                                              t ? gy_model_link_n_outputs(t->link, t->n_groups)
                                                : l->n_outputs),
                 GY_OK);
    gy_buf_init(out, (size_t)1 << 30);
    cr_assert_eq(gy_model_builder_serialize(b, out), GY_OK, "%s", gy_error_msg());
    gy_model_builder_free(b);
    json_decref(params);
    json_decref(metrics);
    json_decref(classes);
    json_decref(lake);
}

#endif /* GY_TEST_MODELS_FIXTURE_H */
