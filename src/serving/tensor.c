/* SPDX-License-Identifier: MIT */
/*
 * tensor.c - the V2 datatypes: names, sizes, and reading one element of a numeric tensor as a
 * double (half and bfloat16 converted exactly). Used by input mapping (infer.c) and by the
 * protocol layer through serving.h.
 */
#include "serving/serving_int.h"

#include <math.h>
#include <string.h>

static const struct {
    enum gy_dtype t;
    const char *name;
    size_t size;
} dtypes[] = {
    {GY_DT_BOOL, "BOOL", 1},     {GY_DT_UINT8, "UINT8", 1},   {GY_DT_UINT16, "UINT16", 2},
    {GY_DT_UINT32, "UINT32", 4}, {GY_DT_UINT64, "UINT64", 8}, {GY_DT_INT8, "INT8", 1},
    {GY_DT_INT16, "INT16", 2},   {GY_DT_INT32, "INT32", 4},   {GY_DT_INT64, "INT64", 8},
    {GY_DT_FP16, "FP16", 2},     {GY_DT_BF16, "BF16", 2},     {GY_DT_FP32, "FP32", 4},
    {GY_DT_FP64, "FP64", 8},     {GY_DT_BYTES, "BYTES", 0},
};

const char *gy_dtype_name(enum gy_dtype t)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(dtypes); i++)
        if (dtypes[i].t == t)
            return dtypes[i].name;
    return NULL;
}

enum gy_status gy_dtype_parse(const char *s, enum gy_dtype *out)
{
    for (size_t i = 0; s && i < GY_ARRAY_LEN(dtypes); i++) {
        if (strcmp(dtypes[i].name, s) == 0) {
            *out = dtypes[i].t;
            return GY_OK;
        }
    }
    return gy_error_set(GY_E_INVALID,
                        "unknown datatype '%.40s' (expected BOOL, UINT8, UINT16, UINT32, UINT64, "
                        "INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64 or BYTES)",
                        s ? s : "");
}

size_t gy_dtype_size(enum gy_dtype t)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(dtypes); i++)
        if (dtypes[i].t == t)
            return dtypes[i].size;
    return 0;
}

int gy__dtype_is_float(enum gy_dtype t)
{
    return t == GY_DT_FP16 || t == GY_DT_BF16 || t == GY_DT_FP32 || t == GY_DT_FP64;
}

float gy__half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    float f;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* Inf or NaN */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* Subnormal: exact as mant * 2^-24. */
        f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    memcpy(&f, &bits, sizeof f);
    return f;
}

float gy__bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Unaligned-safe reads: tensor data may sit anywhere in a request body. */
#define LOAD(type, p, i)                                                                           \
    do {                                                                                           \
        type v_;                                                                                   \
        memcpy(&v_, (const char *)(p) + (size_t)(i) * sizeof(type), sizeof(type));                 \
        return (double)v_;                                                                         \
    } while (0)

double gy__tensor_get(const struct gy_tensor *t, uint64_t i)
{
    uint16_t h;
    switch (t->dtype) {
    case GY_DT_BOOL:
        return ((const uint8_t *)t->data)[i] != 0 ? 1.0 : 0.0;
    case GY_DT_UINT8:
        return (double)((const uint8_t *)t->data)[i];
    case GY_DT_UINT16:
        LOAD(uint16_t, t->data, i);
    case GY_DT_UINT32:
        LOAD(uint32_t, t->data, i);
    case GY_DT_UINT64:
        LOAD(uint64_t, t->data, i);
    case GY_DT_INT8:
        return (double)((const int8_t *)t->data)[i];
    case GY_DT_INT16:
        LOAD(int16_t, t->data, i);
    case GY_DT_INT32:
        LOAD(int32_t, t->data, i);
    case GY_DT_INT64:
        LOAD(int64_t, t->data, i);
    case GY_DT_FP16:
        memcpy(&h, (const char *)t->data + i * 2, 2);
        return (double)gy__half_to_float(h);
    case GY_DT_BF16:
        memcpy(&h, (const char *)t->data + i * 2, 2);
        return (double)gy__bf16_to_float(h);
    case GY_DT_FP32:
        LOAD(float, t->data, i);
    case GY_DT_FP64:
        LOAD(double, t->data, i);
    case GY_DT_BYTES:
        break;
    }
    return NAN;
}
