/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bundle.c - libFuzzer target for the model bundle loader (gy_model_bundle_load in
 * src/models/bundle.c) and everything it reaches: the container, the JSON sections, the
 * preprocessing loader, the trees and linear section decoders and their validation.
 *
 * Each input is loaded twice: as given (so the header, length and checksum checks are
 * exercised) and with its SHA-256 trailer recomputed (so the mutations reach the structural
 * checks behind the checksum). When a load succeeds the bundle must be usable: it is
 * inspected to JSON and dumped, one row of NaNs and one row of zeros are predicted both as a
 * preprocessed matrix and as raw inputs, and it is freed.
 *
 * Besides the sanitizers, the target aborts when a rejected input leaves no error text or gets
 * a status a loader must not return (anything but CORRUPT, INVALID, UNSUPPORTED, TOO_LARGE).
 * The seed corpus (tests/fuzz/corpus/fuzz_bundle) is written by the models unit tests.
 */
#include <stdlib.h>
#include <string.h>

#include "models/models_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(struct gy_model_bundle *b)
{
    size_t nf = gy_model_bundle_n_features(b), nm = gy_model_bundle_n_margins(b);
    size_t no = gy_model_bundle_n_outputs(b),
           ni = gy_features_n_inputs(gy_model_bundle_features(b));
    float *x = gy_calloc(nf, sizeof(float)), *m = gy_calloc(nm, sizeof(float));
    float *o = gy_calloc(no, sizeof(float));
    struct gy_feature_value *v = gy_calloc(ni, sizeof(*v));
    json_t *j = NULL;
    struct gy_buf out;

    if (!x || !m || !o || !v)
        abort();
    if (gy_model_bundle_to_json(b, &j) != GY_OK)
        abort();
    gy_buf_init(&out, (size_t)1 << 30);
    if (gy_json_dump(j, &out) != GY_OK)
        abort();
    gy_buf_free(&out);
    json_decref(j);
    for (size_t i = 0; i < nf; i++)
        x[i] = __builtin_nanf("");
    gy_model_predict_matrix(b, x, 1, m, o);
    memset(x, 0, nf * sizeof(float));
    gy_model_predict_matrix(b, x, 1, NULL, o);
    /* All inputs missing, then all zero (numbers are accepted by every input type). */
    if (gy_model_predict_row(b, v, m, o) != GY_OK)
        abort();
    for (size_t i = 0; i < ni; i++)
        v[i].kind = GY_FV_NUM;
    if (gy_model_predict_row(b, v, m, o) != GY_OK)
        abort();
    gy_free(x);
    gy_free(m);
    gy_free(o);
    gy_free(v);
}

static void try_load(const uint8_t *data, size_t size)
{
    struct gy_model_bundle *b = NULL;
    enum gy_status rc = gy_model_bundle_load(data, size, &b);
    if (rc != GY_OK) {
        if (b || gy_error_msg()[0] == '\0' ||
            (rc != GY_E_CORRUPT && rc != GY_E_INVALID && rc != GY_E_UNSUPPORTED &&
             rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM))
            abort();
        return;
    }
    use(b);
    gy_model_bundle_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;
    gy_error_clear();
    try_load(data, size);
    if (size < GY_SHA256_LEN || size > ((size_t)1 << 24))
        return 0;
    copy = gy_malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    /* Make the header's length field agree too, so truncations and extensions get past it. */
    if (size >= GY_BUNDLE_HEADER_LEN + GY_SHA256_LEN && memcmp(copy, GY_BUNDLE_MAGIC, 4) == 0)
        gy__model_put_u64(copy + 16, size);
    gy__model_bundle_reseal(copy, size);
    try_load(copy, size);
    gy_free(copy);
    return 0;
}
