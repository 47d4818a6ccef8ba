/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ubj.c - libFuzzer target for the XGBoost UBJSON importer (gy_model_trees_from_xgboost_ubj
 * and gy_model_xgboost_feature_names in src/models/xgboost_ubj.c, xgboost_json.c) and, for
 * every input that imports, a differential check of the fast engine (src/models/engine*.c):
 * the ensemble is compiled and rows of NaN, zeros, ones, and each split's threshold and its
 * neighbours are predicted by the single-row kernel, the batch kernel and the reference
 * evaluator, which must agree bit for bit.
 *
 * Besides the sanitizers, the target aborts when a rejected input leaves no error text or gets
 * a status an importer must not return (anything but INVALID, UNSUPPORTED, TOO_LARGE, NOMEM),
 * or when the engine and the reference disagree. Seeds: tests/fuzz/corpus/fuzz_ubj, small
 * models saved by libxgboost (written by tests/unit/models/test_ubj.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/models_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS 8

static void check_status(enum gy_status rc)
{
    if (rc != GY_OK &&
        (gy_error_msg()[0] == '\0' || (rc != GY_E_INVALID && rc != GY_E_UNSUPPORTED &&
                                       rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM)))
        abort();
}

/* Engine against reference on ROWS rows built from the ensemble's own thresholds. */
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
    }
    /* Rows 4..7: every split's threshold, just below and just above it, and NaN mixes. */
    for (size_t r = 4; r < ROWS; r++)
        for (size_t j = 0; j < nf; j++)
            x[r * nf + j] = (r + j) % 3 ? -1.0f : NAN;
    for (size_t k = 0; k < t->n_pool; k++) {
        const struct gy_tree_node *nd = &t->pool[k];
        if (nd->left < 0)
            continue;
        x[4 * nf + nd->feature] = nd->value;
        x[5 * nf + nd->feature] = nextafterf(nd->value, -INFINITY);
        x[6 * nf + nd->feature] = nextafterf(nd->value, INFINITY);
        if (k % 2)
            x[7 * nf + nd->feature] = nd->value;
    }
    gy_model_trees_predict(t, x, ROWS, rm, ro);
    gy_engine_predict(e, x, ROWS, s, em, eo); /* batch kernel */
    if (memcmp(rm, em, ROWS * ng * 4) != 0 || memcmp(ro, eo, ROWS * no * 4) != 0)
        abort();
    for (size_t r = 0; r < ROWS; r++) { /* single-row kernel */
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
    struct gy_trees *t = NULL;
    json_t *names = NULL;
    enum gy_status rc;

    gy_error_clear();
    rc = gy_model_trees_from_xgboost_ubj(data, size, &t);
    check_status(rc);
    if (rc == GY_OK) {
        if (!t)
            abort();
        differential(t);
        gy_model_trees_free(t);
    } else if (t) {
        abort();
    }
    gy_error_clear();
    rc = gy_model_xgboost_feature_names(data, size, &names);
    check_status(rc);
    json_decref(names);
    return 0;
}
