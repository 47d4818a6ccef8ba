/* SPDX-License-Identifier: MIT */
/*
 * apply.c - applying a fitted preprocessing: the per-value transforms shared by the batch path
 * (column vectors to a row-major float32 matrix, for trainers) and the row path (one request's
 * typed values, for serving), category lookup through a precomputed open-addressing table, the
 * output layout and names, and the shape accessors.
 */
#include "features/features_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOKUP_SEED 0x6779726c6f6f6b75ULL /* "gyrlooku" */

/* ------------------------------------------------------------------ helpers */

int gy__features_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

void gy__features_timestamp_parts(int64_t us, double *hour, double *dow)
{
    const int64_t day_us = INT64_C(86400000000);
    int64_t days = us / day_us, rem = us % day_us;
    if (rem < 0) {
        rem += day_us;
        days--;
    }
    *hour = (double)(rem / INT64_C(3600000000));
    /* 1970-01-01 was a Thursday: Monday = 0 gives (days + 3) mod 7. */
    *dow = (double)(((days + 3) % 7 + 7) % 7);
}

void gy__features_input_clear(struct gy_finput *in)
{
    gy_free(in->name);
    for (uint32_t i = 0; i < in->cat.n_vocab; i++)
        gy_free(in->cat.values[i]);
    gy_free(in->cat.values);
    gy_free(in->cat.lens);
    gy_free(in->cat.counts);
    gy_free(in->cat.slots);
    memset(in, 0, sizeof(*in));
}

void gy_features_free(struct gy_features *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_inputs; i++)
        gy__features_input_clear(&f->inputs[i]);
    gy_free(f->inputs);
    if (f->out_names)
        for (size_t j = 0; j < f->n_outputs; j++)
            gy_free(f->out_names[j]);
    gy_free(f->out_names);
    gy_free(f);
}

enum gy_status gy__features_cat_index(struct gy_fcat *c)
{
    size_t size = 2;
    while (size < (size_t)c->n_vocab * 2)
        size *= 2;
    gy_free(c->slots);
    c->slots = gy_calloc(size, sizeof(uint32_t));
    if (!c->slots)
        return GY_E_NOMEM;
    c->mask = (uint32_t)(size - 1);
    for (uint32_t i = 0; i < c->n_vocab; i++) {
        uint64_t h = gy_hash64(c->values[i], c->lens[i], LOOKUP_SEED);
        size_t j = h & c->mask;
        while (c->slots[j])
            j = (j + 1) & c->mask;
        c->slots[j] = i + 1;
    }
    return GY_OK;
}

int gy__features_cat_has_twin(const struct gy_fcat *c, uint32_t i)
{
    size_t j = gy_hash64(c->values[i], c->lens[i], LOOKUP_SEED) & c->mask;
    for (uint32_t s; (s = c->slots[j]) != 0; j = (j + 1) & c->mask)
        if (s - 1 != i && c->lens[s - 1] == c->lens[i] &&
            memcmp(c->values[s - 1], c->values[i], c->lens[i]) == 0)
            return 1;
    return 0;
}

/* Index of a category in the vocabulary, or UINT32_MAX. */
static uint32_t fcat_find(const struct gy_fcat *c, const char *p, size_t n)
{
    size_t j;
    if (!c->slots)
        return UINT32_MAX;
    j = gy_hash64(p, n, LOOKUP_SEED) & c->mask;
    for (uint32_t s; (s = c->slots[j]) != 0; j = (j + 1) & c->mask) {
        uint32_t i = s - 1;
        if (c->lens[i] == n && memcmp(c->values[i], p, n) == 0)
            return i;
    }
    return UINT32_MAX;
}

/* Code of a present value: 0..n_top-1, n_top for "other", n_top+1 for "unseen". */
static uint32_t fcat_code(const struct gy_fcat *c, const char *p, size_t n)
{
    uint32_t i = fcat_find(c, p, n);
    if (i < c->n_top)
        return i;
    if (i != UINT32_MAX)
        return c->n_top;
    /* Too long or not UTF-8: such values were counted as "other" at fit time. */
    if (!c->complete || n > GY_FEATURES_MAX_CATEGORY || !gy__features_utf8_valid(p, n))
        return c->n_top;
    return c->n_top + 1;
}

/* Writes a categorical input's outputs for one value (p == NULL: missing). */
static void cat_write(const struct gy_finput *in, const char *p, size_t n, float *row)
{
    const struct gy_fcat *c = &in->cat;
    uint32_t code;
    int present = p != NULL;
    if (present)
        code = fcat_code(c, p, n);
    else if (c->impute == GY_IMPUTE_MODE && c->n_top > 0)
        code = 0, present = 1;
    else
        code = 0;
    if (in->encode == GY_ENCODE_ONEHOT) {
        for (size_t k = 0; k < in->n_out; k++)
            row[k] = 0.0f;
        if (present)
            row[code] = 1.0f;
    } else {
        row[0] = present ? (float)code : NAN;
    }
}

static void parts_write(const struct gy_finput *in, int64_t us, int present, float *row)
{
    double hour = NAN, dow = NAN;
    if (present)
        gy__features_timestamp_parts(us, &hour, &dow);
    row[0] = gy__features_num_apply(&in->num[0], hour, present);
    row[1] = gy__features_num_apply(&in->num[1], dow, present);
}

/* ------------------------------------------------------------------ layout */

/* "name=value" with NUL bytes of the value shown as '?'. new. */
static char *cat_name(const char *name, const char *v, size_t n)
{
    size_t nl = strlen(name);
    char *s = gy_malloc(nl + 1 + n + 1);
    if (!s)
        return NULL;
    memcpy(s, name, nl);
    s[nl] = '=';
    for (size_t i = 0; i < n; i++)
        s[nl + 1 + i] = v[i] ? v[i] : '?';
    s[nl + 1 + n] = '\0';
    return s;
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = gy_malloc(na + nb + 1);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    return s;
}

enum gy_status gy__features_layout(struct gy_features *f)
{
    size_t total = 0, j = 0;
    for (size_t i = 0; i < f->n_inputs; i++) {
        struct gy_finput *in = &f->inputs[i];
        switch (in->encode) {
        case GY_ENCODE_ONEHOT:
            in->n_out = (size_t)in->cat.n_top + 2;
            break;
        case GY_ENCODE_PARTS:
            in->n_out = 2;
            break;
        default:
            in->n_out = 1;
        }
        in->out_off = total;
        total += in->n_out;
        if (total > GY_FEATURES_MAX_OUTPUTS)
            return gy_error_set(GY_E_TOO_LARGE, "features: more than %d output features",
                                GY_FEATURES_MAX_OUTPUTS);
    }
    f->out_names = gy_calloc(total ? total : 1, sizeof(char *));
    if (!f->out_names)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    f->n_outputs = total;
    for (size_t i = 0; i < f->n_inputs; i++) {
        const struct gy_finput *in = &f->inputs[i];
        if (in->encode == GY_ENCODE_ONEHOT) {
            for (uint32_t k = 0; k < in->cat.n_top; k++)
                f->out_names[j++] = cat_name(in->name, in->cat.values[k], in->cat.lens[k]);
            f->out_names[j++] = join(in->name, "=<other>");
            f->out_names[j++] = join(in->name, "=<unseen>");
        } else if (in->encode == GY_ENCODE_PARTS) {
            f->out_names[j++] = join(in->name, ".hour");
            f->out_names[j++] = join(in->name, ".dow");
        } else {
            f->out_names[j++] = gy_strdup(in->name);
        }
    }
    for (j = 0; j < total; j++)
        if (!f->out_names[j])
            return gy_error_set(GY_E_NOMEM, "out of memory");
    return GY_OK;
}

/* ------------------------------------------------------------------ accessors */

size_t gy_features_n_inputs(const struct gy_features *f)
{
    return f->n_inputs;
}

const char *gy_features_input_name(const struct gy_features *f, size_t i)
{
    return i < f->n_inputs ? f->inputs[i].name : NULL;
}

enum gy_type gy_features_input_type(const struct gy_features *f, size_t i)
{
    return i < f->n_inputs ? f->inputs[i].type : (enum gy_type)0;
}

long gy_features_input_find(const struct gy_features *f, const char *name)
{
    for (size_t i = 0; i < f->n_inputs; i++)
        if (strcmp(f->inputs[i].name, name) == 0)
            return (long)i;
    return -1;
}

size_t gy_features_n_outputs(const struct gy_features *f)
{
    return f->n_outputs;
}

const char *gy_features_output_name(const struct gy_features *f, size_t j)
{
    return j < f->n_outputs ? f->out_names[j] : NULL;
}

/* ------------------------------------------------------------------ batch apply */

enum gy_status gy_features_apply_cols(const struct gy_features *f, const struct gy_schema *schema,
                                      const struct gy_colvec *cols, size_t nrows,
                                      const uint8_t *mask, float *out, size_t *rows_out)
{
    size_t stride = f->n_outputs, nsel = 0;

    *rows_out = 0;
    /* Check every input before writing anything. */
    for (size_t i = 0; i < f->n_inputs; i++) {
        const struct gy_finput *in = &f->inputs[i];
        long c = gy_schema_find(schema, in->name);
        const struct gy_colvec *v;
        int ok;
        if (c < 0)
            return gy_error_set(GY_E_SCHEMA, "features: input column '%s' is missing", in->name);
        v = &cols[c];
        if (v->type != in->type || schema->cols[c].type != in->type)
            return gy_error_set(GY_E_SCHEMA, "features: input column '%s' is %s, %s expected",
                                in->name, gy_type_name(v->type), gy_type_name(in->type));
        if (v->n != nrows)
            return gy_error_set(GY_E_SCHEMA,
                                "features: input column '%s' has %zu rows, %zu "
                                "expected",
                                in->name, v->n, nrows);
        switch (in->type) {
        case GY_TYPE_FLOAT64:
            ok = nrows == 0 || v->f64;
            break;
        case GY_TYPE_BOOL:
            ok = nrows == 0 || v->b;
            break;
        case GY_TYPE_STRING:
            ok = nrows == 0 ||
                 (v->off && v->off[nrows] <= v->data_len && (v->data || v->off[nrows] == 0));
            for (size_t r = 0; ok && r < nrows; r++)
                ok = v->off[r] <= v->off[r + 1];
            break;
        default:
            ok = nrows == 0 || v->i64;
        }
        if (!ok)
            return gy_error_set(GY_E_SCHEMA, "features: input column '%s': malformed vector",
                                in->name);
    }
    for (size_t r = 0; r < nrows; r++)
        nsel += !mask || mask[r];
    for (size_t i = 0; i < f->n_inputs; i++) {
        const struct gy_finput *in = &f->inputs[i];
        const struct gy_colvec *v = &cols[gy_schema_find(schema, in->name)];
        float *row = out + in->out_off;
        for (size_t r = 0; r < nrows; r++) {
            int present;
            if (mask && !mask[r])
                continue;
            present = !v->valid || v->valid[r];
            switch (in->type) {
            case GY_TYPE_FLOAT64:
                row[0] = gy__features_num_apply(&in->num[0], present ? v->f64[r] : NAN, present);
                break;
            case GY_TYPE_INT64:
                row[0] =
                    gy__features_num_apply(&in->num[0], present ? (double)v->i64[r] : NAN, present);
                break;
            case GY_TYPE_BOOL:
                row[0] = gy__features_num_apply(&in->num[0], present ? (v->b[r] ? 1.0 : 0.0) : NAN,
                                                present);
                break;
            case GY_TYPE_TIMESTAMP:
                parts_write(in, present ? v->i64[r] : 0, present, row);
                break;
            case GY_TYPE_STRING:
                if (present)
                    cat_write(in, v->data + v->off[r], v->off[r + 1] - v->off[r], row);
                else
                    cat_write(in, NULL, 0, row);
                break;
            }
            row += stride;
        }
    }
    *rows_out = nsel;
    return GY_OK;
}

/* ------------------------------------------------------------------ row apply */

static enum gy_status bad_kind(const struct gy_finput *in, const struct gy_feature_value *v)
{
    static const char *const kinds[] = {"null", "number", "string", "bool"};
    return gy_error_set(GY_E_INVALID, "input '%s' (%s) cannot take a %s value", in->name,
                        gy_type_name(in->type),
                        (size_t)v->kind < GY_ARRAY_LEN(kinds) ? kinds[v->kind] : "unknown");
}

enum gy_status gy_features_apply_row(const struct gy_features *f,
                                     const struct gy_feature_value *vals, float *out)
{
    for (size_t i = 0; i < f->n_inputs; i++) {
        const struct gy_finput *in = &f->inputs[i];
        const struct gy_feature_value *v = &vals[i];
        float *row = out + in->out_off;
        if (v->kind != GY_FV_NULL && v->kind != GY_FV_NUM && v->kind != GY_FV_STR &&
            v->kind != GY_FV_BOOL)
            return bad_kind(in, v);
        switch (in->type) {
        case GY_TYPE_FLOAT64:
        case GY_TYPE_INT64:
        case GY_TYPE_BOOL:
            if (v->kind == GY_FV_STR)
                return bad_kind(in, v);
            if (v->kind == GY_FV_NULL || !isfinite(v->num)) {
                row[0] = gy__features_num_apply(&in->num[0], NAN, 0);
            } else if (in->type == GY_TYPE_BOOL) {
                row[0] = gy__features_num_apply(&in->num[0], v->num != 0 ? 1.0 : 0.0, 1);
            } else if (in->type == GY_TYPE_INT64) {
                /* The same double an int64 cell gives: round to an integer first. */
                double d = v->num;
                if (d >= -9223372036854775808.0 && d < 9223372036854775808.0)
                    d = (double)(int64_t)d;
                row[0] = gy__features_num_apply(&in->num[0], d, 1);
            } else {
                row[0] = gy__features_num_apply(&in->num[0], v->num, 1);
            }
            break;
        case GY_TYPE_TIMESTAMP:
            if (v->kind == GY_FV_STR || v->kind == GY_FV_BOOL)
                return bad_kind(in, v);
            if (v->kind == GY_FV_NUM && v->num >= -9223372036854775808.0 &&
                v->num < 9223372036854775808.0)
                parts_write(in, (int64_t)v->num, 1, row);
            else
                parts_write(in, 0, 0, row);
            break;
        case GY_TYPE_STRING:
            if (v->kind == GY_FV_STR) {
                cat_write(in, v->str ? v->str : "", v->str ? v->len : 0, row);
            } else if (v->kind == GY_FV_NUM && isfinite(v->num)) {
                char tmp[40];
                int n = snprintf(tmp, sizeof(tmp), "%.17g", v->num);
                /* Prefer the shortest form that reads back the same (12 -> "12"). */
                for (int p = 1; p < 17; p++) {
                    char t2[40];
                    int n2 = snprintf(t2, sizeof(t2), "%.*g", p, v->num);
                    if (strtod(t2, NULL) == v->num) {
                        memcpy(tmp, t2, (size_t)n2 + 1);
                        n = n2;
                        break;
                    }
                }
                cat_write(in, tmp, (size_t)n, row);
            } else if (v->kind == GY_FV_BOOL) {
                cat_write(in, v->num != 0 ? "true" : "false", v->num != 0 ? 4 : 5, row);
            } else {
                cat_write(in, NULL, 0, row);
            }
            break;
        }
    }
    return GY_OK;
}
