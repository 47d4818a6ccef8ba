/* SPDX-License-Identifier: MIT */
/*
 * fuzz_xgb_json.c - libFuzzer target for the XGBoost JSON model importer
 * (gy_model_trees_from_xgboost_json and gy_model_xgboost_feature_names in
 * src/models/xgboost_json.c, and the format sniffing of gy_model_trees_from_xgboost) and, for
 * every input that imports, a differential check of the fast engine (src/models/engine*.c)
 * against the reference evaluator on rows of NaN, zeros, ones, -inf and each split's
 * threshold and its neighbours, which must agree bit for bit.
 *
 * Besides the sanitizers, the target aborts when a rejected input leaves no error text or gets
 * a status an importer must not return (anything but INVALID, UNSUPPORTED, TOO_LARGE, NOMEM),
 * when a failed import still hands back an ensemble, when the sniffing entry point disagrees
 * with the JSON importer on a text it does not take for UBJSON, or when the engine and the
 * reference disagree. Seeds: tests/fuzz/corpus/fuzz_xgb_json, the fuzz_ubj seed models saved by
 * libxgboost 1.7 as JSON.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/models_int.h"
#include "models/xgboost_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS 6

static void check_status(enum gy_status rc)
{
    if (rc != GY_OK &&
        (gy_error_msg()[0] == '\0' || (rc != GY_E_INVALID && rc != GY_E_UNSUPPORTED &&
                                       rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM)))
        abort();
}

/* Engine (batch and single-row kernels) against the reference on ROWS rows. */
static void differential(const struct gy_trees *t)
{
    struct gy_engine *e = NULL;
    size_t nf = t->n_features, ng = t->n_groups, no = gy_model_link_n_outputs(t->link, ng);
    float *x, *rm, *ro, *em, *eo;
    void *raw;
    char *s;

    if (nf > 4096 || ng > 256)
        return; /* keep each run small */
    if (gy_engine_create_trees(t, &e) != GY_OK) {
        if (strstr(gy_error_msg(), "out of memory"))
            return;
        abort(); /* an imported ensemble always compiles */
    }
    x = gy_malloc(ROWS * nf * sizeof(float));
    rm = gy_malloc(ROWS * ng * sizeof(float));
    ro = gy_malloc(ROWS * no * sizeof(float));
    em = gy_malloc(ROWS * ng * sizeof(float));
    eo = gy_malloc(ROWS * no * sizeof(float));
    raw = gy_malloc(gy_engine_scratch_size(e, ROWS) + 63);
    if (!x || !rm || !ro || !em || !eo || !raw)
        abort();
    s = (char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    for (size_t j = 0; j < nf; j++) {
        x[0 * nf + j] = NAN;
        x[1 * nf + j] = 0.0f;
        x[2 * nf + j] = 1.0f;
        x[3 * nf + j] = -INFINITY;
        x[4 * nf + j] = NAN;
        x[5 * nf + j] = NAN;
    }
    for (size_t k = 0; k < t->n_pool; k++) {
        const struct gy_tree_node *nd = &t->pool[k];
        if (nd->left < 0)
            continue;
        x[4 * nf + nd->feature] = nextafterf(nd->value, -INFINITY);
        x[5 * nf + nd->feature] = nd->value;
    }
    gy_model_trees_predict(t, x, ROWS, rm, ro);
    gy_engine_predict(e, x, ROWS, s, em, eo);
    if (memcmp(rm, em, ROWS * ng * 4) != 0 || memcmp(ro, eo, ROWS * no * 4) != 0)
        abort();
    for (size_t r = 0; r < ROWS; r++) {
        gy_engine_predict(e, x + r * nf, 1, s, em, eo);
        if (memcmp(rm + r * ng, em, ng * 4) != 0 || memcmp(ro + r * no, eo, no * 4) != 0)
            abort();
    }
    gy_free(x);
    gy_free(rm);
    gy_free(ro);
    gy_free(em);
    gy_free(eo);
    gy_free(raw);
    gy_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_trees *t = NULL, *t2 = NULL;
    json_t *names = NULL;
    enum gy_status rc, rc2;

    gy_error_clear();
    rc = gy_model_trees_from_xgboost_json((const char *)data, size, &t);
    check_status(rc);
    if (rc == GY_OK) {
        if (!t)
            abort();
        differential(t);
    } else if (t) {
        abort();
    }
    if (!gy__model_xgboost_is_ubj(data, size)) {
        /* What does not look like UBJSON is JSON to the sniffing entry point too. */
        gy_error_clear();
        rc2 = gy_model_trees_from_xgboost(data, size, &t2);
        check_status(rc2);
        if ((rc2 == GY_OK) != (rc == GY_OK))
            abort();
        if (t && t2 && (t->n_pool != t2->n_pool || t->n_features != t2->n_features))
            abort();
        gy_model_trees_free(t2);
    }
    gy_model_trees_free(t);
    gy_error_clear();
    rc = gy_model_xgboost_feature_names(data, size, &names);
    check_status(rc);
    json_decref(names);
    return 0;
}
