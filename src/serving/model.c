/* SPDX-License-Identifier: MIT */
/*
 * model.c - served models: one loaded model version (the bundle from the object store, checked
 * by its SHA-256 on read, validated by the bundle loader, compiled by gy_engine_create) with its
 * Triton-style statistics. Versions are shared: every endpoint and route that resolves to the
 * same (model, version) holds a reference to one served model, listed in the serving state's
 * model list; the last reference unlinks and frees it.
 *
 * At load the preprocessing is classified once: when every input is a numeric column passed
 * through unchanged (tree models trained on numeric columns, imported XGBoost models), requests
 * skip the per-value gy_feature_value conversion; when all of them are float64 (the identity),
 * an FP32 row goes to the engine as it is (see infer.c).
 */
#include "serving/serving_int.h"

#include <math.h>
#include <string.h>

#define BUNDLE_MAX ((size_t)2 << 30)

void gy__served_model_destroy(struct gy_served_model *m)
{
    if (!m)
        return;
    gy_engine_free(m->engine);
    gy_model_bundle_free(m->bundle);
    gy_free(m->types);
    gy_free(m->ops);
    gy_free(m->name);
    gy_free(m->bundle_hash);
    gy_free(m);
}

void gy__served_model_ref(struct gy_served_model *m)
{
    pthread_mutex_lock(&m->s->models_mu);
    m->refs++;
    pthread_mutex_unlock(&m->s->models_mu);
}

void gy__served_model_unref(struct gy_served_model *m)
{
    struct gy_serving *s;
    int last = 0;
    if (!m)
        return;
    s = m->s;
    pthread_mutex_lock(&s->models_mu);
    if (--m->refs == 0) {
        struct gy_served_model **pp = &s->models;
        while (*pp && *pp != m)
            pp = &(*pp)->next;
        if (*pp)
            *pp = m->next;
        last = 1;
    }
    pthread_mutex_unlock(&s->models_mu);
    if (last) {
        gy_log(GY_LOG_INFO, "serving: unloaded %s version %lld", m->name, (long long)m->version);
        gy__served_model_destroy(m);
    }
}

/*
 * Decides the numeric fast path (see struct gy_served_model): every input a float64, int64 or
 * bool column encoded passthrough, no imputation, no clipping, no standardization, outputs in
 * input order. Read from the fitted state's JSON form (the only public view of it), then
 * confirmed on probe rows through gy_features_apply_row itself. Sets m->ops, m->numeric_fast
 * and m->identity; leaves them 0 when the path does not apply. GY_E_NOMEM only.
 */
static enum gy_status classify(struct gy_served_model *m)
{
    const struct gy_features *f = m->features;
    size_t n = m->n_in;
    json_t *j = NULL, *ins, *outs, *in;
    size_t i;
    int ok = 0, all_f64 = 1;
    struct gy_feature_value *v = NULL;
    float *out = NULL;
    enum gy_status rc = GY_OK;
    if (m->n_feat != n || gy_features_to_json(f, &j))
        goto out;
    ins = json_object_get(j, "inputs");
    outs = json_object_get(j, "outputs");
    if (json_array_size(ins) != n || json_array_size(outs) != n)
        goto out;
    if (!(m->ops = gy_calloc(n, 1)) || !(v = gy_calloc(n, sizeof *v)) ||
        !(out = gy_calloc(n, sizeof *out))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(ins, i, in)
    {
        const char *type = gy_json_str(in, "type", ""), *oname;
        if (strcmp(type, "float64") == 0)
            m->ops[i] = GY__OP_F64;
        else if (strcmp(type, "int64") == 0)
            m->ops[i] = GY__OP_I64;
        else if (strcmp(type, "bool") == 0)
            m->ops[i] = GY__OP_BOOL;
        else
            goto out;
        all_f64 &= m->ops[i] == GY__OP_F64;
        oname = json_string_value(json_array_get(outs, i));
        if (strcmp(gy_json_str(in, "encode", ""), "passthrough") != 0 ||
            strcmp(gy_json_str(in, "impute", ""), "none") != 0 || json_object_get(in, "clip") ||
            json_object_get(in, "mean") || json_object_get(in, "std") ||
            json_object_get(in, "fill") || !oname ||
            strcmp(oname, gy_json_str(in, "name", "")) != 0)
            goto out;
    }
    /* The probes: values that any clip, imputation or scaling would change. */
    for (int p = 0; p < 3; p++) {
        static const double probe[] = {1.5, -2.25e10, 0.0, 3.0e-7, -1.0e30, 7.75, 2.0, -3.5};
        for (i = 0; i < n; i++) {
            double x = probe[(i + (size_t)p * 3) % 8] + (double)i;
            float want;
            v[i].kind = (i + (size_t)p) % 7 == 6 ? GY_FV_NULL : GY_FV_NUM;
            v[i].num = x;
            if (v[i].kind == GY_FV_NULL)
                want = NAN;
            else if (m->ops[i] == GY__OP_BOOL)
                want = x != 0 ? 1.0f : 0.0f;
            else if (m->ops[i] == GY__OP_I64)
                want = (float)gy__i64_trunc(x);
            else
                want = (float)x;
            out[i] = want;
        }
        {
            float *got = gy_calloc(n, sizeof *got);
            int same = 1;
            if (!got) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto out;
            }
            if (gy_features_apply_row(f, v, got))
                same = 0;
            for (i = 0; same && i < n; i++)
                same = got[i] == out[i] || (isnan(got[i]) && isnan(out[i]));
            gy_free(got);
            if (!same)
                goto out;
        }
    }
    ok = 1;
out:
    if (ok) {
        m->numeric_fast = 1;
        m->identity = all_f64;
    } else {
        gy_free(m->ops);
        m->ops = NULL;
    }
    gy_free(v);
    gy_free(out);
    json_decref(j);
    return rc;
}

/* Loads (name, version) from @p hash; *out new with refs 1, not listed. */
static enum gy_status load(struct gy_serving *s, struct gy_db *db, const char *name,
                           int64_t version, const char *hash, struct gy_served_model **out)
{
    struct gy_served_model *m = NULL;
    struct gy_buf buf;
    int64_t t0 = gy_time_mono_ns();
    enum gy_status rc;
    *out = NULL;
    gy_buf_init(&buf, BUNDLE_MAX);
    if (!hash || !*hash) {
        rc = gy_error_set(GY_E_UNSUPPORTED,
                          "model %s version %lld has no gyre bundle (register one with a bundle "
                          "to serve it)",
                          name, (long long)version);
        goto out;
    }
    m = gy_calloc(1, sizeof *m);
    if (!m || !(m->name = gy_strdup(name)) || !(m->bundle_hash = gy_strdup(hash))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    m->s = s;
    m->refs = 1;
    m->version = version;
    rc = gy_db_object_get(db, hash, &buf);
    if (rc == GY_NOT_FOUND)
        rc = gy_error_set(GY_E_CORRUPT, "the bundle object %s is missing from the store", hash);
    if (rc)
        goto fail;
    m->bundle_bytes = buf.len;
    if ((rc = gy_model_bundle_load(buf.data, buf.len, &m->bundle)))
        goto fail;
    gy_buf_free(&buf);
    if ((rc = gy_engine_create(m->bundle, &m->engine)))
        goto fail;
    m->features = gy_model_bundle_features(m->bundle);
    m->n_in = gy_features_n_inputs(m->features);
    m->n_feat = gy_model_bundle_n_features(m->bundle);
    m->n_marg = gy_engine_n_margins(m->engine);
    m->n_out = gy_engine_n_outputs(m->engine);
    if (gy_engine_n_features(m->engine) != m->n_feat ||
        gy_features_n_outputs(m->features) != m->n_feat || m->n_in == 0 || m->n_out == 0) {
        rc = gy_error_set(GY_E_CORRUPT, "the engine and the bundle disagree on the row width");
        goto fail;
    }
    if (!(m->types = gy_calloc(m->n_in, sizeof *m->types))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->n_in; i++) {
        m->types[i] = gy_features_input_type(m->features, i);
        if (m->types[i] == GY_TYPE_STRING)
            m->has_strings = 1;
    }
    if ((rc = classify(m)))
        goto fail;
    m->load_ns = (uint64_t)(gy_time_mono_ns() - t0);
    *out = m;
    m = NULL;
    goto out;
fail:
    gy_error_wrap(rc, "model %s version %lld", name, (long long)version);
out:
    gy_buf_free(&buf);
    gy__served_model_destroy(m);
    return rc;
}

enum gy_status gy__served_model_get(struct gy_serving *s, struct gy_db *db, const char *name,
                                    int64_t version, const char *bundle_hash,
                                    struct gy_served_model **out)
{
    struct gy_served_model *m, *mine = NULL;
    enum gy_status rc;
    *out = NULL;
    pthread_mutex_lock(&s->models_mu);
    for (m = s->models; m; m = m->next) {
        if (m->version == version && strcmp(m->name, name) == 0) {
            m->refs++;
            break;
        }
    }
    pthread_mutex_unlock(&s->models_mu);
    if (m) {
        *out = m;
        return GY_OK;
    }
    gy__add(&s->loads, 1);
    rc = load(s, db, name, version, bundle_hash, &mine);
    if (rc) {
        gy__add(&s->load_failures, 1);
        return rc;
    }
    pthread_mutex_lock(&s->models_mu);
    for (m = s->models; m; m = m->next) {
        if (m->version == version && strcmp(m->name, name) == 0) {
            m->refs++;
            break;
        }
    }
    if (!m) {
        mine->next = s->models;
        s->models = mine;
        m = mine;
        mine = NULL;
    }
    pthread_mutex_unlock(&s->models_mu);
    if (mine) {
        gy__served_model_destroy(mine);
    } else {
        gy_log(GY_LOG_INFO, "serving: loaded %s version %lld in %.1f ms%s", m->name,
               (long long)m->version, (double)m->load_ns / 1e6,
               m->identity       ? " (identity preprocessing)"
               : m->numeric_fast ? " (numeric passthrough preprocessing)"
                                 : "");
    }
    *out = m;
    return GY_OK;
}

/* ------------------------------------------------------------------ accessors */

const char *gy_served_model_name(const struct gy_served_model *m)
{
    return m->name;
}

int64_t gy_served_model_version(const struct gy_served_model *m)
{
    return m->version;
}

const struct gy_model_bundle *gy_served_model_bundle(const struct gy_served_model *m)
{
    return m->bundle;
}

const struct gy_engine *gy_served_model_engine(const struct gy_served_model *m)
{
    return m->engine;
}
