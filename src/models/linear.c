/* SPDX-License-Identifier: MIT */
/*
 * linear.c - linear and logistic models: allocation, validation, the reference evaluator
 * (double precision margins and transforms, rounded to float32 once at the end), the bundle
 * section codec and the inspect summary (weights by feature name).
 */
#include "models/models_int.h"

#include <math.h>
#include <string.h>

#define LINEAR_HEAD 80

/* The objective is informational text: it must be NUL-terminated UTF-8 (JSON-safe). */
static int objective_ok(const char *s, size_t cap)
{
    json_t *j;
    if (memchr(s, '\0', cap) == NULL)
        return 0;
    j = json_string(s);
    if (!j)
        return 0;
    json_decref(j);
    return 1;
}

static enum gy_status shape_check(enum gy_link link, uint32_t n_features, uint32_t n_outputs,
                                  enum gy_status err)
{
    if (link != GY_LINK_IDENTITY && link != GY_LINK_LOGISTIC && link != GY_LINK_SOFTMAX)
        return gy_error_set(err, "linear: link %d (identity, logistic or softmax)", (int)link);
    if (n_features == 0 || n_features > GY_MODEL_MAX_FEATURES)
        return gy_error_set(err, "linear: %u features (1 to %u allowed)", n_features,
                            GY_MODEL_MAX_FEATURES);
    if (n_outputs == 0 || n_outputs > GY_MODEL_MAX_GROUPS)
        return gy_error_set(err, "linear: %u outputs (1 to %u allowed)", n_outputs,
                            GY_MODEL_MAX_GROUPS);
    if ((uint64_t)n_features * n_outputs > GY_MODEL_MAX_WEIGHTS)
        return gy_error_set(err, "linear: %llu weights (at most %u)",
                            (unsigned long long)n_features * n_outputs, GY_MODEL_MAX_WEIGHTS);
    if (link == GY_LINK_SOFTMAX && n_outputs < 2)
        return gy_error_set(err, "linear: softmax needs at least 2 outputs");
    return GY_OK;
}

enum gy_status gy_model_linear_create(const char *objective, enum gy_link link, uint32_t n_features,
                                      uint32_t n_outputs, struct gy_linear **out)
{
    struct gy_linear *l;
    enum gy_status rc;
    *out = NULL;
    rc = shape_check(link, n_features, n_outputs, GY_E_INVALID);
    if (rc)
        return rc;
    if (!objective || strlen(objective) >= sizeof(l->objective) ||
        !objective_ok(objective, sizeof(l->objective)))
        return gy_error_set(GY_E_INVALID, "linear: objective name missing, too long or not UTF-8");
    l = gy_calloc(1, sizeof(*l));
    if (!l)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    l->intercepts = gy_calloc(n_outputs, sizeof(double));
    l->weights = gy_calloc((size_t)n_outputs * n_features, sizeof(double));
    if (!l->intercepts || !l->weights) {
        gy_model_linear_free(l);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    memcpy(l->objective, objective, strlen(objective) + 1);
    l->link = link;
    l->n_features = n_features;
    l->n_outputs = n_outputs;
    *out = l;
    return GY_OK;
}

void gy_model_linear_free(struct gy_linear *l)
{
    if (!l)
        return;
    gy_free(l->intercepts);
    gy_free(l->weights);
    gy_free(l);
}

enum gy_status gy_model_linear_validate(const struct gy_linear *l)
{
    enum gy_status rc = shape_check(l->link, l->n_features, l->n_outputs, GY_E_CORRUPT);
    if (rc)
        return rc;
    if (!objective_ok(l->objective, sizeof(l->objective)))
        return gy_error_set(GY_E_CORRUPT, "linear: objective is not terminated UTF-8 text");
    for (uint32_t k = 0; k < l->n_outputs; k++) {
        if (!isfinite(l->intercepts[k]))
            return gy_error_set(GY_E_CORRUPT, "linear: intercept %u is not finite", k);
        for (uint32_t j = 0; j < l->n_features; j++)
            if (!isfinite(l->weights[(size_t)k * l->n_features + j]))
                return gy_error_set(GY_E_CORRUPT, "linear: weight [%u][%u] is not finite", k, j);
    }
    return GY_OK;
}

void gy_model_linear_predict(const struct gy_linear *l, const float *x, size_t nrows,
                             float *margins, float *outputs)
{
    size_t nf = l->n_features, no = l->n_outputs;
    for (size_t r = 0; r < nrows; r++) {
        const float *row = x + r * nf;
        double mx = -INFINITY, sum = 0;
        double m[64];
        for (size_t k = 0; k < no; k++) {
            const double *w = l->weights + k * nf;
            double s = l->intercepts[k];
            for (size_t j = 0; j < nf; j++)
                s += w[j] * (double)row[j];
            if (margins)
                margins[r * no + k] = (float)s;
            if (!outputs)
                continue;
            if (l->link == GY_LINK_LOGISTIC)
                outputs[r * no + k] = (float)(1.0 / (1.0 + exp(-s)));
            else if (l->link == GY_LINK_IDENTITY)
                outputs[r * no + k] = (float)s;
            else {
                if (k < GY_ARRAY_LEN(m))
                    m[k] = s;
                if (s > mx)
                    mx = s;
            }
        }
        if (!outputs || l->link != GY_LINK_SOFTMAX)
            continue;
        /* Softmax in double. Margins beyond the local buffer are recomputed. */
        for (size_t k = 0; k < no; k++) {
            double s;
            if (k < GY_ARRAY_LEN(m)) {
                s = m[k];
            } else {
                const double *w = l->weights + k * nf;
                s = l->intercepts[k];
                for (size_t j = 0; j < nf; j++)
                    s += w[j] * (double)row[j];
            }
            sum += exp(s - mx);
        }
        for (size_t k = 0; k < no; k++) {
            double s;
            if (k < GY_ARRAY_LEN(m)) {
                s = m[k];
            } else {
                const double *w = l->weights + k * nf;
                s = l->intercepts[k];
                for (size_t j = 0; j < nf; j++)
                    s += w[j] * (double)row[j];
            }
            outputs[r * no + k] = (float)(exp(s - mx) / sum);
        }
    }
}

/* ------------------------------------------------------------------ section codec */

enum gy_status gy__model_linear_encode(const struct gy_linear *l, struct gy_buf *out)
{
    size_t nw = (size_t)l->n_outputs * l->n_features;
    size_t len = LINEAR_HEAD + 8 * ((size_t)l->n_outputs + nw);
    uint8_t *p;
    enum gy_status rc = gy_buf_reserve(out, len);
    if (rc)
        return rc;
    p = (uint8_t *)out->data + out->len;
    memset(p, 0, LINEAR_HEAD);
    gy__model_put_u32(p, GY_LINEAR_SECTION_VERSION);
    gy__model_put_u32(p + 4, (uint32_t)l->link);
    gy__model_put_u32(p + 8, l->n_features);
    gy__model_put_u32(p + 12, l->n_outputs);
    memcpy(p + 16, l->objective, strnlen(l->objective, 63));
    p += LINEAR_HEAD;
    for (uint32_t k = 0; k < l->n_outputs; k++, p += 8)
        gy__model_put_f64(p, l->intercepts[k]);
    for (size_t i = 0; i < nw; i++, p += 8)
        gy__model_put_f64(p, l->weights[i]);
    out->len += len;
    out->data[out->len] = '\0';
    return GY_OK;
}

enum gy_status gy__model_linear_decode(const uint8_t *p, size_t n, struct gy_linear **out)
{
    struct gy_linear *l = NULL;
    uint32_t link, nf, no;
    char objective[64];
    enum gy_status rc;
    uint64_t want;

    *out = NULL;
    if (n < LINEAR_HEAD)
        return gy_error_set(GY_E_CORRUPT, "linear section: %zu bytes, shorter than its header", n);
    if (gy__model_get_u32(p) != GY_LINEAR_SECTION_VERSION)
        return gy_error_set(GY_E_UNSUPPORTED, "linear section: layout version %u is not supported",
                            gy__model_get_u32(p));
    link = gy__model_get_u32(p + 4);
    nf = gy__model_get_u32(p + 8);
    no = gy__model_get_u32(p + 12);
    rc = shape_check((enum gy_link)link, nf, no, GY_E_CORRUPT);
    if (rc)
        return gy_error_wrap(rc, "linear section");
    memcpy(objective, p + 16, 64);
    {
        const char *nul = memchr(objective, '\0', sizeof(objective));
        if (!nul)
            return gy_error_set(GY_E_CORRUPT, "linear section: objective is not terminated");
        for (const char *c = nul; c < objective + sizeof(objective); c++)
            if (*c)
                return gy_error_set(GY_E_CORRUPT, "linear section: objective padding is not zero");
    }
    want = LINEAR_HEAD + 8 * ((uint64_t)no + (uint64_t)no * nf);
    if (want != n)
        return gy_error_set(GY_E_CORRUPT, "linear section: %zu bytes, %llu expected", n,
                            (unsigned long long)want);
    rc = gy_model_linear_create(objective, (enum gy_link)link, nf, no, &l);
    if (rc)
        return rc == GY_E_NOMEM ? rc : gy_error_wrap(GY_E_CORRUPT, "linear section");
    p += LINEAR_HEAD;
    for (uint32_t k = 0; k < no; k++, p += 8)
        l->intercepts[k] = gy__model_get_f64(p);
    for (size_t i = 0; i < (size_t)no * nf; i++, p += 8)
        l->weights[i] = gy__model_get_f64(p);
    rc = gy_model_linear_validate(l);
    if (rc) {
        gy_model_linear_free(l);
        return gy_error_wrap(rc, "linear section");
    }
    *out = l;
    return GY_OK;
}

enum gy_status gy__model_linear_summary(const struct gy_linear *l, const struct gy_features *f,
                                        json_t **out)
{
    json_t *o = json_object(), *ws = json_array(), *ic = json_array();
    *out = NULL;
    if (!o || !ws || !ic)
        goto nomem;
    if (json_object_set_new(o, "kind", json_string("linear")) ||
        json_object_set_new(o, "objective", json_string(l->objective)) ||
        json_object_set_new(o, "link", json_string(gy_model_link_name(l->link))) ||
        json_object_set_new(o, "n_features", json_integer(l->n_features)) ||
        json_object_set_new(o, "n_outputs", json_integer(l->n_outputs)) ||
        json_object_set(o, "intercepts", ic) || json_object_set(o, "weights", ws))
        goto nomem;
    for (uint32_t k = 0; k < l->n_outputs; k++) {
        json_t *w = json_object();
        if (json_array_append_new(ic, json_real(l->intercepts[k])) || !w ||
            json_array_append_new(ws, w))
            goto nomem;
        for (uint32_t j = 0; j < l->n_features; j++) {
            const char *name =
                f && j < gy_features_n_outputs(f) ? gy_features_output_name(f, j) : NULL;
            char tmp[32];
            if (!name) {
                gy_snprintf(tmp, sizeof(tmp), "f%u", j);
                name = tmp;
            }
            if (json_object_set_new(w, name, json_real(l->weights[(size_t)k * l->n_features + j])))
                goto nomem;
        }
    }
    json_decref(ws);
    json_decref(ic);
    *out = o;
    return GY_OK;
nomem:
    json_decref(ws);
    json_decref(ic);
    json_decref(o);
    return gy_error_set(GY_E_NOMEM, "out of memory");
}
