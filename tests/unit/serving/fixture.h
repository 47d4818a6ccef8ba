/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - helpers shared by the serving unit tests: small tree models over identity
 * preprocessing (x0, x1, x2) whose leaves are shifted per version so versions are told apart
 * by their outputs, a model with a string column (fitted preprocessing), registering bundles in
 * the registry, a serving state on the fixture's store, and one-call inference.
 */
#ifndef GY_TEST_SERVING_FIXTURE_H
#define GY_TEST_SERVING_FIXTURE_H

#include "../store_fixture.h"

#include <math.h>
#include <sys/stat.h>

#include "models/models.h"
#include "serving/serving_int.h"

/*
 * Two trees over 3 features, binary:logistic, leaves shifted by @p shift:
 *   tree 0: x0 < 0.5 (missing left) ? 0.25 : (x1 < -1 (missing right) ? -0.5 : 0.75)
 *   tree 1: x2 < 3 (missing left) ? 0.125 : -0.375
 */
static inline struct gy_trees *sx_trees(float shift)
{
    const uint32_t nn[2] = {5, 3};
    struct gy_trees *t;
    struct gy_tree_node *a, *b;
    OK(gy_model_trees_create("binary:logistic", 3, 1, 0.5f, 2, nn, &t));
    a = t->trees[0].nodes;
    b = t->trees[1].nodes;
    a[0] = (struct gy_tree_node){1, 2, 0, 1, 0.5f};
    a[1] = (struct gy_tree_node){-1, -1, 0, 0, 0.25f + shift};
    a[2] = (struct gy_tree_node){3, 4, 1, 0, -1.0f};
    a[3] = (struct gy_tree_node){-1, -1, 0, 0, -0.5f + shift};
    a[4] = (struct gy_tree_node){-1, -1, 0, 0, 0.75f + shift};
    b[0] = (struct gy_tree_node){1, 2, 2, 1, 3.0f};
    b[1] = (struct gy_tree_node){-1, -1, 0, 0, 0.125f + shift};
    b[2] = (struct gy_tree_node){-1, -1, 0, 0, -0.375f + shift};
    OK(gy_model_trees_validate(t));
    return t;
}

static inline void sx_serialize(const struct gy_trees *t, const struct gy_features *f,
                                struct gy_buf *out)
{
    struct gy_model_builder *b;
    struct gy_model_info info = {
        .name = "test",
        .trainer = "xgboost",
        .objective = t->objective,
        .created_us = INT64_C(1700000000000000),
    };
    OK(gy_model_builder_create(&b));
    OK(gy_model_builder_set_info(b, &info));
    gy_model_builder_set_features(b, f);
    gy_model_builder_set_trees(b, t);
    gy_buf_init(out, (size_t)1 << 30);
    OK(gy_model_builder_serialize(b, out));
    gy_model_builder_free(b);
}

/* A bundle of sx_trees(@p shift) over identity preprocessing of x0, x1, x2. */
static inline void sx_bundle(float shift, struct gy_buf *out)
{
    static const char *const names[] = {"x0", "x1", "x2"};
    struct gy_features *f;
    struct gy_trees *t = sx_trees(shift);
    OK(gy_features_identity(names, 3, &f));
    sx_serialize(t, f, out);
    gy_features_free(f);
    gy_model_trees_free(t);
}

/*
 * Preprocessing over (amount float64, merchant string, card bool) in tree mode, fitted on six
 * rows: amount passthrough, merchant ordinal codes, card 0/1. *out new.
 */
static inline struct gy_features *sx_mixed_features(void)
{
    static const char *const merchants[] = {"grocery", "fuel", "grocery",
                                            "online",  "fuel", "grocery"};
    static const double amounts[] = {10, 250, 3.5, 99, 12, 40};
    static const uint8_t cards[] = {1, 0, 1, 0, 1, 1};
    struct gy_schema *sc = gy_schema_create(3);
    struct gy_colvec c[3];
    struct gy_feature_spec *sp;
    struct gy_features *f;
    size_t total = 0;
    memset(c, 0, sizeof c);
    sc->cols[0].name = gy_strdup("amount");
    sc->cols[0].type = GY_TYPE_FLOAT64;
    sc->cols[1].name = gy_strdup("merchant");
    sc->cols[1].type = GY_TYPE_STRING;
    sc->cols[2].name = gy_strdup("card");
    sc->cols[2].type = GY_TYPE_BOOL;
    c[0].type = GY_TYPE_FLOAT64;
    c[1].type = GY_TYPE_STRING;
    c[2].type = GY_TYPE_BOOL;
    for (int k = 0; k < 3; k++) {
        c[k].n = 6;
        c[k].valid = gy_calloc(7, 1);
        memset(c[k].valid, 1, 6);
    }
    c[0].f64 = gy_calloc(6, sizeof(double));
    memcpy(c[0].f64, amounts, sizeof amounts);
    c[2].b = gy_calloc(6, 1);
    memcpy(c[2].b, cards, sizeof cards);
    c[1].off = gy_calloc(7, sizeof(uint32_t));
    for (int i = 0; i < 6; i++)
        total += strlen(merchants[i]);
    c[1].data = gy_calloc(total + 1, 1);
    c[1].data_len = total;
    total = 0;
    for (int i = 0; i < 6; i++) {
        c[1].off[i] = (uint32_t)total;
        memcpy(c[1].data + total, merchants[i], strlen(merchants[i]));
        total += strlen(merchants[i]);
    }
    c[1].off[6] = (uint32_t)total;
    OK(gy_features_spec_create(&sp));
    OK(gy_features_fit(sp, sc, NULL, GY_FEATURES_TREE, c, 6, NULL, &f));
    cr_assert_eq(gy_features_n_outputs(f), 3);
    gy_features_spec_free(sp);
    for (int k = 0; k < 3; k++) {
        gy_free(c[k].valid);
        gy_free(c[k].f64);
        gy_free(c[k].b);
        gy_free(c[k].off);
        gy_free(c[k].data);
    }
    gy_schema_free(sc);
    return f;
}

/* Stores @p bundle and registers it as the next version of @p model (created when missing). */
static inline int64_t sx_register(struct gy_db *db, const char *model, const struct gy_buf *bundle,
                                  char hex[GY_SHA256_HEX_LEN + 1])
{
    char h[GY_SHA256_HEX_LEN + 1];
    struct gy_registry_version_create c;
    int64_t v = 0;
    enum gy_status rc;
    OK(gy_db_object_put(db, bundle->data, bundle->len, h));
    rc = gy_registry_model_create(db, model, NULL, NULL, NULL, 0);
    cr_assert(rc == GY_OK || rc == GY_E_EXISTS, "%s", gy_error_msg());
    memset(&c, 0, sizeof c);
    c.name = model;
    c.source = "models:/test";
    c.bundle_hash = h;
    OK(gy_registry_version_create(db, &c, &v));
    if (hex)
        memcpy(hex, h, sizeof h);
    return v;
}

/* Registers sx_bundle(@p shift) as the next version of @p model. */
static inline int64_t sx_register_shift(struct gy_db *db, const char *model, float shift,
                                        char hex[GY_SHA256_HEX_LEN + 1])
{
    struct gy_buf b;
    int64_t v;
    sx_bundle(shift, &b);
    v = sx_register(db, model, &b, hex);
    gy_buf_free(&b);
    return v;
}

/* Overwrites the stored object @p hex with other bytes (its hash no longer matches). */
static inline void sx_corrupt(struct gy_db *db, const char *hex)
{
    char path[1024];
    FILE *fp;
    OK(gy_db_object_path(db, hex, path, sizeof path));
    cr_assert_eq(chmod(path, 0644), 0, "chmod %s", path);
    fp = fopen(path, "r+b");
    cr_assert_not_null(fp);
    fseek(fp, 40, SEEK_SET);
    fputs("garbage garbage garbage", fp);
    fclose(fp);
}

static inline struct gy_serving *sx_serving_cfg(const struct fx *f, unsigned poll_ms, int allow_inf)
{
    struct gy_serving_config cfg;
    struct gy_serving *s = NULL;
    gy_log_set_level(GY_LOG_WARN);
    gy_serving_config_init(&cfg);
    cfg.home = f->home;
    cfg.db_url = f->pg ? f->url : NULL;
    cfg.poll_ms = poll_ms;
    cfg.allow_inf = allow_inf;
    OK(gy_serving_create(&cfg, &s));
    OK(gy_serving_start(s));
    cr_assert(gy_serving_ready(s));
    return s;
}

static inline struct gy_serving *sx_serving(const struct fx *f, unsigned poll_ms)
{
    return sx_serving_cfg(f, poll_ms, 0);
}

/* A FP32 [n, w] tensor over @p x. */
static inline struct gy_tensor sx_tensor(const char *name, const float *x, uint64_t n, uint64_t w)
{
    struct gy_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = GY_DT_FP32;
    t.ndim = 2;
    t.shape[0] = n;
    t.shape[1] = w;
    t.n_elems = n * w;
    t.data = x;
    return t;
}

/*
 * One inference of @p n rows of 3 floats on endpoint @p name: outputs to @p out (n floats),
 * the answering version to *version (may be NULL). Returns the status.
 */
static inline enum gy_status sx_infer(struct gy_serving *s, const char *name, const float *x,
                                      uint64_t n, float *out, int64_t *version)
{
    struct gy_serving_target *t = NULL;
    struct gy_arena *a = gy_arena_create(4096);
    struct gy_tensor in = sx_tensor("input", x, n, 3);
    struct gy_serving_call call;
    enum gy_status rc = gy_serving_acquire(s, name, NULL, &t);
    if (rc == GY_OK) {
        memset(&call, 0, sizeof call);
        call.inputs = &in;
        call.n_inputs = 1;
        call.arena = a;
        rc = gy_serving_infer(t, &call);
        if (rc == GY_OK) {
            cr_assert_eq(call.nrows, n);
            cr_assert_eq(call.n_outputs, 1);
            memcpy(out, call.outputs, n * sizeof(float));
            if (version)
                *version = gy_served_model_version(call.model);
        }
        gy_serving_release(t);
    }
    gy_arena_free(a);
    return rc;
}

/* The reference outputs of sx_trees(@p shift) on @p n rows. */
static inline void sx_expect(float shift, const float *x, size_t n, float *out)
{
    struct gy_trees *t = sx_trees(shift);
    gy_model_trees_predict(t, x, n, NULL, out);
    gy_model_trees_free(t);
}

/* Polls endpoint @p name until version @p want answers (up to @p ms); returns the last one. */
static inline int64_t sx_wait_version(struct gy_serving *s, const char *name, int64_t want, int ms)
{
    const float x[3] = {1, 2, 3};
    float out[1];
    int64_t v = -1;
    for (int i = 0; i <= ms / 10; i++) {
        if (sx_infer(s, name, x, 1, out, &v) == GY_OK && v == want)
            return v;
        usleep(10000);
    }
    return v;
}

#endif /* GY_TEST_SERVING_FIXTURE_H */
