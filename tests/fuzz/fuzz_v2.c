/* SPDX-License-Identifier: MIT */
/*
 * fuzz_v2.c - libFuzzer target for the V2 inference request parser and response writer
 * (src/api/v2_codec.c), without a server. The first byte of an input picks the mode: even,
 * the rest is a plain JSON body; odd, the next two bytes give an Inference-Header-Content-
 * Length (as decimal text, through gy__v2_header_length) and the rest is JSON header plus
 * binary tensor data; and every input is also read as a raw binary request of 1..8 columns.
 *
 * Besides the sanitizers, the target aborts when a promise breaks: a failure without error
 * text or with a code other than GY_E_INVALID/GY_E_TOO_LARGE/GY_E_UNSUPPORTED/GY_E_NOMEM; a
 * parsed tensor whose element count is not the product of its shape, exceeds the limit, has
 * no data, an unknown datatype, or data (or a BYTES element) outside both the body and the
 * arena's reach is caught by ASan when every element is read; an FP32 value whose shortest
 * text does not read back to the same bits; a response (built from the parsed inputs) whose
 * JSON part does not parse or whose binary part has the wrong length.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/v2_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ELEMS 65536

static void check_rc(enum gy_status rc)
{
    if (rc == GY_OK)
        return;
    if (rc != GY_E_INVALID && rc != GY_E_TOO_LARGE && rc != GY_E_UNSUPPORTED && rc != GY_E_NOMEM)
        abort();
    if (!*gy_error_msg())
        abort();
}

/* Reads every element (so ASan sees any wild pointer) and checks the invariants. */
static uint64_t touch(const struct gy_tensor *t)
{
    uint64_t n = 1, sum = 0;
    size_t es;
    if (!t->name || !gy__v2_dtype_name(t->dtype) || t->ndim < 0 || t->ndim > GY_TENSOR_MAX_DIMS)
        abort();
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    if (n != t->n_elems || n > FUZZ_MAX_ELEMS || !t->data)
        abort();
    if (t->dtype == GY_DT_BYTES) {
        const struct gy_bytes *b = t->data;
        for (uint64_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < b[i].len; j++)
                sum += (unsigned char)b[i].data[j];
        return sum;
    }
    es = gy__v2_dtype_size(t->dtype);
    if (es == 0)
        abort();
    for (uint64_t i = 0; i < n * es; i++)
        sum += ((const unsigned char *)t->data)[i];
    if (t->dtype == GY_DT_FP32) {
        const float *f = t->data;
        char text[32];
        for (uint64_t i = 0; i < n; i++) {
            size_t len = gy__v2_fmt_f32(f[i], text);
            if (len != strlen(text) || len >= 32)
                abort();
            if (isfinite(f[i])) {
                float g = strtof(text, NULL);
                if (memcmp(&g, &f[i], 4) != 0)
                    abort();
            } else if (strcmp(text, "null") != 0) {
                abort();
            }
        }
    }
    return sum;
}

/* Writes a response echoing the first FP32 input and checks it. */
static void respond(const struct gy_v2_request *r)
{
    struct gy_v2_out_tensor out[2];
    struct gy_v2_response resp = {.model_name = r->inputs[0].name,
                                  .model_version = 7,
                                  .id = r->id,
                                  .variant = r->id ? r->id : NULL,
                                  .outputs = out};
    struct gy_buf b;
    size_t jl, bin = 0;
    json_t *j = NULL;
    enum gy_status rc;
    for (size_t i = 0; i < r->n_inputs && resp.n_outputs < 2; i++) {
        const struct gy_tensor *t = &r->inputs[i];
        if (t->dtype != GY_DT_FP32)
            continue;
        struct gy_v2_out_tensor *o = &out[resp.n_outputs++];
        o->name = t->name;
        o->data = t->data;
        o->rows = t->n_elems;
        o->cols = 1;
        o->ndim = 1;
        o->binary = r->binary_output == 1 || (i % 2 == 1);
        if (o->binary)
            bin += (size_t)t->n_elems * 4;
    }
    gy_buf_init(&b, (size_t)16 << 20);
    rc = gy__v2_response_write(&resp, &b, &jl);
    check_rc(rc);
    if (rc == GY_OK) {
        if (jl + bin != b.len)
            abort();
        if (gy_json_parse(b.data, jl, 8, "response", &j) != GY_OK)
            abort();
        json_decref(j);
    }
    gy_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_v2_limits lim = {.max_elements = FUZZ_MAX_ELEMS};
    struct gy_v2_request r;
    struct gy_arena *arena;
    const char *body;
    size_t len, json_len;
    char *copy;
    enum gy_status rc;

    if (size < 1)
        return 0;
    /* The parser needs no NUL, so give it an exact-size copy: ASan catches any overread. */
    copy = gy_malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    arena = gy_arena_create(4096);
    if (!arena) {
        gy_free(copy);
        return 0;
    }
    body = copy + 1;
    len = size - 1;
    json_len = len;
    rc = GY_OK;
    if ((data[0] & 1) && len >= 2) {
        char hdr[16];
        snprintf(hdr, sizeof hdr, "%u", (unsigned)data[1] | ((unsigned)data[2] << 8));
        body = copy + 3;
        len = size - 3;
        rc = gy__v2_header_length(hdr, len, &json_len);
        check_rc(rc);
    }
    if (rc == GY_OK) {
        rc = gy__v2_request_parse(body, len, json_len, &lim, arena, &r);
        check_rc(rc);
        if (rc == GY_OK) {
            uint64_t total = 0;
            if (r.n_inputs == 0 || r.n_inputs > GY_V2_MAX_INPUTS ||
                r.n_outputs > GY_V2_MAX_OUTPUTS || (r.n_outputs && !r.outputs))
                abort();
            for (size_t i = 0; i < r.n_inputs; i++) {
                touch(&r.inputs[i]);
                total += r.inputs[i].n_elems;
            }
            if (total > FUZZ_MAX_ELEMS)
                abort();
            for (size_t i = 0; i < r.n_outputs; i++)
                if (!r.outputs[i].name || r.outputs[i].binary < -1 || r.outputs[i].binary > 1)
                    abort();
            respond(&r);
        }
    }
    /* The same bytes as a raw binary request. */
    rc = gy__v2_request_raw(copy + 1, size - 1, (size_t)(data[0] % 8) + 1, &lim, arena, &r);
    check_rc(rc);
    if (rc == GY_OK) {
        if (r.n_inputs != 1 || r.inputs[0].shape[1] != (uint64_t)(data[0] % 8) + 1)
            abort();
        touch(&r.inputs[0]);
    }
    gy_arena_free(arena);
    gy_free(copy);
    return 0;
}
