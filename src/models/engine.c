/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the serving engine (interim: wraps the reference evaluator until the compiled
 * node-pool kernels land).
 */
#include "models/models.h"

#include <string.h>

struct gy_engine {
    struct gy_trees *trees;   /* copy */
    struct gy_linear *linear; /* copy */
    size_t n_features, n_margins, n_outputs;
};

static enum gy_status copy_trees(const struct gy_trees *t, struct gy_trees **out)
{
    uint32_t *n = gy_malloc(sizeof(*n) * (t->n_trees ? t->n_trees : 1));
    enum gy_status rc;
    if (!n)
        return GY_E_NOMEM;
    for (uint32_t i = 0; i < t->n_trees; i++)
        n[i] = t->trees[i].n_nodes;
    rc = gy_model_trees_create(t->objective, t->n_features, t->n_groups, t->base_score,
                               t->n_trees, n, out);
    gy_free(n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < t->n_trees; i++) {
        (*out)->trees[i].group = t->trees[i].group;
        (*out)->trees[i].weight = t->trees[i].weight;
        memcpy((*out)->trees[i].nodes, t->trees[i].nodes,
               sizeof(struct gy_tree_node) * t->trees[i].n_nodes);
    }
    (*out)->has_weights = t->has_weights;
    (*out)->num_parallel_tree = t->num_parallel_tree;
    (*out)->base_margin = t->base_margin;
    return GY_OK;
}

enum gy_status gy_engine_create_trees(const struct gy_trees *t, struct gy_engine **out)
{
    struct gy_engine *e = gy_calloc(1, sizeof(*e));
    enum gy_status rc;
    *out = NULL;
    if (!e)
        return GY_E_NOMEM;
    if ((rc = copy_trees(t, &e->trees))) {
        gy_free(e);
        return rc;
    }
    e->n_features = t->n_features;
    e->n_margins = t->n_groups;
    e->n_outputs = gy_model_link_n_outputs(t->link, t->n_groups);
    *out = e;
    return GY_OK;
}

enum gy_status gy_engine_create_linear(const struct gy_linear *l, struct gy_engine **out)
{
    struct gy_engine *e = gy_calloc(1, sizeof(*e));
    enum gy_status rc;
    *out = NULL;
    if (!e)
        return GY_E_NOMEM;
    rc = gy_model_linear_create(l->objective, l->link, l->n_features, l->n_outputs, &e->linear);
    if (rc) {
        gy_free(e);
        return rc;
    }
    memcpy(e->linear->intercepts, l->intercepts, sizeof(double) * l->n_outputs);
    memcpy(e->linear->weights, l->weights, sizeof(double) * l->n_outputs * l->n_features);
    e->n_features = l->n_features;
    e->n_margins = l->n_outputs;
    e->n_outputs = gy_model_link_n_outputs(l->link, l->n_outputs);
    *out = e;
    return GY_OK;
}

enum gy_status gy_engine_create(const struct gy_model_bundle *b, struct gy_engine **out)
{
    if (gy_model_bundle_kind(b) == GY_MODEL_TREES)
        return gy_engine_create_trees(gy_model_bundle_trees(b), out);
    return gy_engine_create_linear(gy_model_bundle_linear(b), out);
}

void gy_engine_free(struct gy_engine *e)
{
    if (!e)
        return;
    gy_model_trees_free(e->trees);
    gy_model_linear_free(e->linear);
    gy_free(e);
}

size_t gy_engine_n_features(const struct gy_engine *e) { return e->n_features; }
size_t gy_engine_n_margins(const struct gy_engine *e) { return e->n_margins; }
size_t gy_engine_n_outputs(const struct gy_engine *e) { return e->n_outputs; }
size_t gy_engine_memory(const struct gy_engine *e)
{
    return e->trees ? e->trees->n_pool * sizeof(struct gy_tree_node) : e->n_features * e->n_margins * 8;
}
size_t gy_engine_scratch_size(const struct gy_engine *e, size_t nrows)
{
    (void)e;
    (void)nrows;
    return 64;
}

void gy_engine_predict(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                       float *margins, float *outputs)
{
    (void)scratch;
    if (e->trees)
        gy_model_trees_predict(e->trees, x, nrows, margins, outputs);
    else
        gy_model_linear_predict(e->linear, x, nrows, margins, outputs);
}

enum gy_status gy_engine_predict_parallel(const struct gy_engine *e, struct gy_pool *pool,
                                          const float *x, size_t nrows, float *margins,
                                          float *outputs)
{
    (void)pool;
    gy_engine_predict(e, x, nrows, NULL, margins, outputs);
    return GY_OK;
}
