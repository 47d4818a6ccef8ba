/* SPDX-License-Identifier: MIT */
/*
 * bundle.c - the model bundle container: the builder a trainer fills (metadata, preprocessing,
 * estimator, profile) and serializes, the loader that validates every byte of a bundle image
 * before handing out an immutable struct gy_model_bundle, the accessors, and the reference
 * predictions over a loaded bundle. The byte layout is described in docs/internals/models.md:
 * a 32-byte header, a section table, 8-byte aligned sections, and a SHA-256 trailer over all
 * bytes before it.
 */
#include "models/models_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BINS 20

const char *gy__model_bundle_section_name(uint32_t id)
{
    switch (id) {
    case GY_SEC_META:
        return "metadata";
    case GY_SEC_PREPROC:
        return "preprocessing";
    case GY_SEC_TREES:
        return "trees";
    case GY_SEC_LINEAR:
        return "linear";
    case GY_SEC_PROFILE:
        return "profile";
    }
    return "unknown";
}

const char *gy__model_output_name(enum gy_link link)
{
    switch (link) {
    case GY_LINK_LOGISTIC:
        return "probability";
    case GY_LINK_SOFTMAX:
        return "probabilities";
    case GY_LINK_ARGMAX:
    case GY_LINK_HINGE:
        return "class";
    default:
        return "prediction";
    }
}

/* ------------------------------------------------------------------ container */

void gy__model_bundle_reseal(uint8_t *data, size_t len)
{
    struct gy_sha256 h;
    if (len < GY_SHA256_LEN)
        return;
    gy_sha256_init(&h);
    gy_sha256_update(&h, data, len - GY_SHA256_LEN);
    gy_sha256_final(&h, data + len - GY_SHA256_LEN);
}

enum gy_status gy__model_bundle_assemble(const uint32_t *ids, const void *const *secs,
                                         const size_t *lens, size_t n, struct gy_buf *out)
{
    size_t start = out->len, off, total;
    uint8_t head[GY_BUNDLE_HEADER_LEN];
    enum gy_status rc;
    static const uint8_t zeros[GY_SHA256_LEN] = {0};

    if (n == 0 || n > GY_BUNDLE_MAX_SECTIONS)
        return gy_error_set(GY_E_INVALID, "bundle: %zu sections", n);
    off = GY_BUNDLE_HEADER_LEN + n * GY_BUNDLE_ENTRY_LEN;
    off = (off + 7) & ~(size_t)7;
    total = off;
    for (size_t i = 0; i < n; i++) {
        total += lens[i];
        total = (total + 7) & ~(size_t)7;
    }
    total += GY_SHA256_LEN;
    if (total > GY_BUNDLE_MAX_LEN)
        return gy_error_set(GY_E_TOO_LARGE, "bundle: %zu bytes (at most 2 GiB)", total);
    rc = gy_buf_reserve(out, total);
    if (rc)
        return rc;
    memset(head, 0, sizeof(head));
    memcpy(head, GY_BUNDLE_MAGIC, 4);
    head[4] = GY_BUNDLE_VERSION;
    head[6] = GY_BUNDLE_HEADER_LEN;
    gy__model_put_u32(head + 8, (uint32_t)n);
    gy__model_put_u64(head + 16, total);
    gy_buf_append(out, head, sizeof(head));
    for (size_t i = 0; i < n; i++) {
        uint8_t e[GY_BUNDLE_ENTRY_LEN];
        memset(e, 0, sizeof(e));
        gy__model_put_u32(e, ids[i]);
        gy__model_put_u64(e + 8, off);
        gy__model_put_u64(e + 16, lens[i]);
        gy_buf_append(out, e, sizeof(e));
        off = (off + lens[i] + 7) & ~(size_t)7;
    }
    for (size_t i = 0; i < n; i++) {
        gy_buf_append(out, zeros, ((out->len - start + 7) & ~(size_t)7) - (out->len - start));
        gy_buf_append(out, secs[i], lens[i]);
    }
    gy_buf_append(out, zeros, ((out->len - start + 7) & ~(size_t)7) - (out->len - start));
    gy_buf_append(out, zeros, GY_SHA256_LEN);
    GY_ASSERT(out->len - start == total);
    gy__model_bundle_reseal((uint8_t *)out->data + start, total);
    return GY_OK;
}

/* ------------------------------------------------------------------ builder */

/* True when @p s is valid UTF-8 (what a JSON string needs). */
static int utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    if (!j)
        return 0;
    json_decref(j);
    return 1;
}

struct gy_model_builder {
    json_t *info; /* metadata fields in order */
    json_t *classes;
    const struct gy_features *features;
    const struct gy_trees *trees;
    const struct gy_linear *linear;
    json_t *lake_profile;
    float *scores;
    size_t score_rows, score_cols;
};

enum gy_status gy_model_builder_create(struct gy_model_builder **out)
{
    *out = gy_calloc(1, sizeof(**out));
    return *out ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
}

void gy_model_builder_free(struct gy_model_builder *b)
{
    if (!b)
        return;
    json_decref(b->info);
    json_decref(b->classes);
    json_decref(b->lake_profile);
    gy_free(b->scores);
    gy_free(b);
}

static int str_or_null(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, v ? json_string(v) : json_null());
}

enum gy_status gy_model_builder_set_info(struct gy_model_builder *b,
                                         const struct gy_model_info *info)
{
    json_t *o;
    char created[32];
    static const struct {
        const char *what;
        size_t off;
    } req[] = {
        {"name", offsetof(struct gy_model_info, name)},
        {"trainer", offsetof(struct gy_model_info, trainer)},
        {"objective", offsetof(struct gy_model_info, objective)},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(req); i++) {
        const char *s = *(const char *const *)((const char *)info + req[i].off);
        if (!s || !*s || !utf8_ok(s))
            return gy_error_set(GY_E_INVALID, "model info: \"%s\" is required (UTF-8 text)",
                                req[i].what);
    }
    if ((info->run_id && !utf8_ok(info->run_id)) || (info->dataset && !utf8_ok(info->dataset)) ||
        (info->target && !utf8_ok(info->target)) ||
        (info->gyre_version && !utf8_ok(info->gyre_version)))
        return gy_error_set(GY_E_INVALID, "model info: text fields must be UTF-8");
    if (info->params && !json_is_object(info->params))
        return gy_error_set(GY_E_INVALID, "model info: \"params\" must be an object");
    if (info->metrics && !json_is_object(info->metrics))
        return gy_error_set(GY_E_INVALID, "model info: \"metrics\" must be an object");
    if (info->classes) {
        size_t i;
        json_t *v;
        if (!json_is_array(info->classes) || json_array_size(info->classes) > GY_MODEL_MAX_GROUPS)
            return gy_error_set(GY_E_INVALID, "model info: \"classes\" must be an array");
        json_array_foreach(info->classes, i, v)
        {
            if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
                return gy_error_set(GY_E_INVALID,
                                    "model info: classes[%zu] must be a string, number or bool", i);
        }
    }
    gy_time_format(info->created_us ? info->created_us : gy_time_wall_us(), created);
    o = json_object();
    if (!o || json_object_set_new(o, "name", json_string(info->name)) ||
        json_object_set_new(o, "created", json_string(created)) ||
        json_object_set_new(
            o, "gyre_version",
            json_string(info->gyre_version ? info->gyre_version : GY_MODEL_GYRE_VERSION)) ||
        json_object_set_new(o, "trainer", json_string(info->trainer)) ||
        json_object_set_new(o, "objective", json_string(info->objective)) ||
        str_or_null(o, "run_id", info->run_id) || str_or_null(o, "dataset", info->dataset) ||
        str_or_null(o, "target", info->target) ||
        json_object_set_new(o, "params",
                            info->params ? json_deep_copy(info->params) : json_object()) ||
        json_object_set_new(o, "metrics",
                            info->metrics ? json_deep_copy(info->metrics) : json_object())) {
        json_decref(o);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    json_decref(b->info);
    b->info = o;
    json_decref(b->classes);
    b->classes = info->classes ? json_deep_copy(info->classes) : NULL;
    if (info->classes && !b->classes)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    return GY_OK;
}

void gy_model_builder_set_features(struct gy_model_builder *b, const struct gy_features *f)
{
    b->features = f;
}

void gy_model_builder_set_trees(struct gy_model_builder *b, const struct gy_trees *t)
{
    b->trees = t;
    b->linear = NULL;
}

void gy_model_builder_set_linear(struct gy_model_builder *b, const struct gy_linear *l)
{
    b->linear = l;
    b->trees = NULL;
}

enum gy_status gy_model_builder_set_profile(struct gy_model_builder *b, const json_t *lake_profile,
                                            const float *scores, size_t nrows, size_t n_outputs)
{
    json_t *lp = NULL;
    float *s = NULL;
    if (lake_profile) {
        if (!json_is_object(lake_profile))
            return gy_error_set(GY_E_INVALID, "profile: the lake profile must be an object");
        lp = json_deep_copy(lake_profile);
        if (!lp)
            return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if (scores && nrows) {
        if (n_outputs == 0 || n_outputs > GY_MODEL_MAX_GROUPS ||
            nrows > SIZE_MAX / sizeof(float) / n_outputs) {
            json_decref(lp);
            return gy_error_set(GY_E_INVALID, "profile: bad score matrix shape");
        }
        s = gy_malloc(nrows * n_outputs * sizeof(float));
        if (!s) {
            json_decref(lp);
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
        memcpy(s, scores, nrows * n_outputs * sizeof(float));
    }
    json_decref(b->lake_profile);
    gy_free(b->scores);
    b->lake_profile = lp;
    b->scores = s;
    b->score_rows = s ? nrows : 0;
    b->score_cols = s ? n_outputs : 0;
    return GY_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Score distribution of one output column. new, NULL on OOM. */
static json_t *score_summary(const float *s, size_t nrows, size_t ncols, size_t col,
                             const char *name, int prob)
{
    float *v = gy_malloc((nrows ? nrows : 1) * sizeof(float));
    json_t *o = NULL, *dec, *edges, *counts;
    size_t n = 0, nonfinite = 0;
    double sum = 0, lo, hi;
    uint64_t bins[HIST_BINS] = {0};

    if (!v)
        return NULL;
    for (size_t r = 0; r < nrows; r++) {
        float x = s[r * ncols + col];
        if (isfinite(x)) {
            v[n++] = x;
            sum += x;
        } else {
            nonfinite++;
        }
    }
    qsort(v, n, sizeof(float), cmp_float);
    dec = json_array();
    edges = json_array();
    counts = json_array();
    o = json_pack("{s:s,s:I,s:I}", "output", name, "count", (json_int_t)n, "nonfinite",
                  (json_int_t)nonfinite);
    if (!o || !dec || !edges || !counts)
        goto fail;
    if (n) {
        if (json_object_set_new(o, "mean", gy_json_real(sum / (double)n)) ||
            json_object_set_new(o, "min", json_real(v[0])) ||
            json_object_set_new(o, "max", json_real(v[n - 1])))
            goto fail;
        for (int q = 0; q <= 10; q++) {
            /* Linear interpolation between closest ranks (NumPy's default). */
            double pos = (double)q / 10.0 * (double)(n - 1);
            size_t i = (size_t)pos;
            double frac = pos - (double)i, d = v[i];
            if (i + 1 < n)
                d = d + ((double)v[i + 1] - d) * frac;
            if (json_array_append_new(dec, json_real(d)))
                goto fail;
        }
    }
    if (prob) {
        lo = 0;
        hi = 1;
    } else {
        lo = n ? v[0] : 0;
        hi = n ? v[n - 1] : 1;
        if (!(hi > lo))
            hi = lo + 1;
    }
    for (size_t i = 0; i < n; i++) {
        double t = ((double)v[i] - lo) / (hi - lo) * HIST_BINS;
        int k = t < 0 ? 0 : t >= HIST_BINS ? HIST_BINS - 1 : (int)t;
        bins[k]++;
    }
    for (int k = 0; k <= HIST_BINS; k++)
        if (json_array_append_new(edges, json_real(lo + (hi - lo) * k / HIST_BINS)))
            goto fail;
    for (int k = 0; k < HIST_BINS; k++)
        if (json_array_append_new(counts, json_integer((json_int_t)bins[k])))
            goto fail;
    if (json_object_set_new(o, "deciles", dec) ||
        json_object_set_new(o, "histogram",
                            json_pack("{s:o,s:o}", "edges", edges, "counts", counts))) {
        dec = edges = counts = NULL;
        goto fail;
    }
    gy_free(v);
    return o;
fail:
    json_decref(dec);
    json_decref(edges);
    json_decref(counts);
    json_decref(o);
    gy_free(v);
    return NULL;
}

/* The profile section: {"dataset": filtered lake profile or null, "scores": [...] or null}. */
static enum gy_status build_profile(const struct gy_model_builder *b, enum gy_link link,
                                    size_t n_outputs, json_t **out)
{
    json_t *p = json_object(), *ds = json_null(), *sc = json_null();
    enum gy_status rc = GY_E_NOMEM;
    *out = NULL;
    if (!p)
        goto out;
    if (b->lake_profile) {
        json_t *cols = json_object_get(b->lake_profile, "columns");
        json_decref(ds);
        if (json_is_array(cols)) {
            json_t *keep = json_array(), *v;
            size_t i;
            ds = json_deep_copy(b->lake_profile);
            if (!ds || !keep || json_object_set_new(ds, "columns", keep))
                goto out;
            json_array_foreach(cols, i, v)
            {
                const char *nm = gy_json_str(v, "name", NULL);
                if (nm && gy_features_input_find(b->features, nm) >= 0 &&
                    json_array_append(keep, v))
                    goto out;
            }
        } else {
            ds = json_deep_copy(b->lake_profile);
            if (!ds)
                goto out;
        }
    }
    if (b->scores) {
        if (b->score_cols != n_outputs) {
            rc = gy_error_set(GY_E_INVALID,
                              "profile: scores have %zu columns, the model has %zu "
                              "outputs",
                              b->score_cols, n_outputs);
            goto out;
        }
        json_decref(sc);
        sc = json_array();
        if (!sc)
            goto out;
        for (size_t k = 0; k < n_outputs; k++) {
            char name[48];
            json_t *s;
            if (n_outputs == 1)
                gy_snprintf(name, sizeof(name), "%s", gy__model_output_name(link));
            else
                gy_snprintf(name, sizeof(name), "%s[%zu]", gy__model_output_name(link), k);
            s = score_summary(b->scores, b->score_rows, b->score_cols, k, name,
                              link == GY_LINK_LOGISTIC || link == GY_LINK_SOFTMAX);
            if (!s || json_array_append_new(sc, s))
                goto out;
        }
    }
    if (json_object_set(p, "dataset", ds) || json_object_set(p, "scores", sc))
        goto out;
    *out = p;
    p = NULL;
    rc = GY_OK;
out:
    json_decref(ds);
    json_decref(sc);
    json_decref(p);
    return rc == GY_E_NOMEM ? gy_error_set(rc, "out of memory") : rc;
}

/* Checks classes against the estimator's shape. */
static enum gy_status classes_check(const json_t *classes, enum gy_link link, size_t n_groups,
                                    enum gy_status err)
{
    size_t want;
    if (!classes || json_is_null(classes))
        return GY_OK;
    if (!json_is_array(classes))
        return gy_error_set(err, "\"classes\" must be an array or null");
    if (link == GY_LINK_SOFTMAX || link == GY_LINK_ARGMAX)
        want = n_groups;
    else if ((link == GY_LINK_LOGISTIC || link == GY_LINK_HINGE) && n_groups == 1)
        want = 2;
    else
        return gy_error_set(err, "\"classes\" given for a model that is not a classifier");
    if (json_array_size(classes) != want)
        return gy_error_set(err, "%zu classes for a model with %zu", json_array_size(classes),
                            want);
    return GY_OK;
}

/* The metadata object with signatures for the estimator's shape. new. */
static enum gy_status build_meta(const struct gy_model_builder *b, enum gy_link link,
                                 size_t n_outputs, json_t **out)
{
    json_t *m = json_deep_copy(b->info), *ins = json_array(), *fn = json_array(), *os;
    const struct gy_features *f = b->features;
    *out = NULL;
    if (!m || !ins || !fn)
        goto nomem;
    if (json_object_set(m, "classes", b->classes ? b->classes : json_null()))
        goto nomem;
    for (size_t i = 0; i < gy_features_n_inputs(f); i++) {
        json_t *e = json_pack("{s:s,s:s}", "name", gy_features_input_name(f, i), "type",
                              gy_type_name(gy_features_input_type(f, i)));
        if (!e || json_array_append_new(ins, e))
            goto nomem;
    }
    for (size_t j = 0; j < gy_features_n_outputs(f); j++)
        if (json_array_append_new(fn, json_string(gy_features_output_name(f, j))))
            goto nomem;
    os = json_pack("{s:s,s:s,s:[I],s:s}", "name", gy__model_output_name(link), "datatype", "FP32",
                   "shape", (json_int_t)n_outputs, "link", gy_model_link_name(link));
    if (json_object_set(m, "input_signature", ins) ||
        json_object_set_new(m, "output_signature", os) || json_object_set(m, "feature_names", fn))
        goto nomem;
    json_decref(ins);
    json_decref(fn);
    *out = m;
    return GY_OK;
nomem:
    json_decref(ins);
    json_decref(fn);
    json_decref(m);
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

enum gy_status gy_model_builder_serialize(struct gy_model_builder *b, struct gy_buf *out)
{
    json_t *meta = NULL, *pre = NULL, *prof = NULL;
    struct gy_buf s[4];
    enum gy_status rc;
    enum gy_link link;
    size_t n_groups, n_features, n_outputs;
    uint32_t ids[4];
    const void *secs[4];
    size_t lens[4];

    for (int i = 0; i < 4; i++)
        gy_buf_init(&s[i], GY_BUNDLE_MAX_LEN);
    if (!b->info || !b->features || (!b->trees && !b->linear)) {
        rc = gy_error_set(GY_E_INVALID, "model bundle: info, features and an estimator are "
                                        "required");
        goto out;
    }
    if (b->trees) {
        rc = gy_model_trees_validate(b->trees);
        link = b->trees->link;
        n_groups = b->trees->n_groups;
        n_features = b->trees->n_features;
        if (rc == GY_OK && strcmp(gy_json_str(b->info, "objective", ""), b->trees->objective)) {
            rc = gy_error_set(GY_E_INVALID,
                              "model bundle: info objective '%s' differs from the "
                              "trees' '%s'",
                              gy_json_str(b->info, "objective", ""), b->trees->objective);
            goto out;
        }
    } else {
        rc = gy_model_linear_validate(b->linear);
        link = b->linear->link;
        n_groups = b->linear->n_outputs;
        n_features = b->linear->n_features;
    }
    if (rc) {
        rc = gy_error_wrap(GY_E_INVALID, "model bundle: estimator");
        goto out;
    }
    n_outputs = gy_model_link_n_outputs(link, n_groups);
    if (n_features != gy_features_n_outputs(b->features)) {
        rc = gy_error_set(GY_E_INVALID,
                          "model bundle: the estimator takes %zu features, the preprocessing "
                          "gives %zu",
                          n_features, gy_features_n_outputs(b->features));
        goto out;
    }
    rc = classes_check(b->classes, link, n_groups, GY_E_INVALID);
    if (rc) {
        gy_error_wrap(rc, "model bundle");
        goto out;
    }
    rc = build_meta(b, link, n_outputs, &meta);
    if (rc == GY_OK)
        rc = gy_features_to_json(b->features, &pre);
    if (rc == GY_OK)
        rc = build_profile(b, link, n_outputs, &prof);
    if (rc == GY_OK)
        rc = gy_json_dump(meta, &s[0]);
    if (rc == GY_OK)
        rc = gy_json_dump(pre, &s[1]);
    if (rc == GY_OK)
        rc = b->trees ? gy__model_trees_encode(b->trees, &s[2])
                      : gy__model_linear_encode(b->linear, &s[2]);
    if (rc == GY_OK)
        rc = gy_json_dump(prof, &s[3]);
    if (rc)
        goto out;
    ids[0] = GY_SEC_META;
    ids[1] = GY_SEC_PREPROC;
    ids[2] = b->trees ? GY_SEC_TREES : GY_SEC_LINEAR;
    ids[3] = GY_SEC_PROFILE;
    for (int i = 0; i < 4; i++) {
        secs[i] = s[i].data ? s[i].data : "";
        lens[i] = s[i].len;
    }
    {
        size_t start = out->len;
        struct gy_model_bundle *check = NULL;
        rc = gy__model_bundle_assemble(ids, secs, lens, 4, out);
        /* Never hand out a bundle this gyre cannot load: read it back once. */
        if (rc == GY_OK && gy_model_bundle_load(out->data + start, out->len - start, &check)) {
            rc = gy_error_wrap(GY_E_INTERNAL, "model bundle: the built bundle does not load");
            out->len = start;
            out->data[start] = '\0';
        }
        gy_model_bundle_free(check);
    }
out:
    for (int i = 0; i < 4; i++)
        gy_buf_free(&s[i]);
    json_decref(meta);
    json_decref(pre);
    json_decref(prof);
    return rc;
}

/* ------------------------------------------------------------------ loader */

static enum gy_status corrupt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static enum gy_status corrupt(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return gy_error_set(GY_E_CORRUPT, "model bundle: %s", msg);
}

static enum gy_status parse_section(const uint8_t *p, size_t n, const char *name, json_t **out)
{
    char what[32];
    enum gy_status rc;
    gy_snprintf(what, sizeof(what), "%s section", name);
    rc = gy_json_parse((const char *)p, n, GY_MODEL_MAX_JSON_DEPTH, what, out);
    if (rc)
        return gy_error_wrap(GY_E_CORRUPT, "model bundle");
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return corrupt("%s section: not a JSON object", name);
    }
    return GY_OK;
}

static int is_str(const json_t *o, const char *k, int nonempty)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) && (!nonempty || json_string_length(v) > 0);
}

static int is_str_or_null(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) || json_is_null(v);
}

/* Checks the metadata against the loaded preprocessing and estimator. */
static enum gy_status meta_check(const struct gy_model_bundle *b, enum gy_link link,
                                 size_t n_groups, size_t n_outputs)
{
    const json_t *m = b->meta, *ins, *os, *fn, *shape, *classes;
    const struct gy_features *f = b->features;
    enum gy_status rc;
    static const char *const req[] = {"name", "created", "gyre_version", "trainer", "objective"};
    static const char *const opt[] = {"run_id", "dataset", "target"};

    for (size_t i = 0; i < GY_ARRAY_LEN(req); i++)
        if (!is_str(m, req[i], 1))
            return corrupt("metadata: \"%s\" must be a non-empty string", req[i]);
    for (size_t i = 0; i < GY_ARRAY_LEN(opt); i++)
        if (!is_str_or_null(m, opt[i]))
            return corrupt("metadata: \"%s\" must be a string or null", opt[i]);
    if (!json_is_object(json_object_get(m, "params")) ||
        !json_is_object(json_object_get(m, "metrics")))
        return corrupt("metadata: \"params\" and \"metrics\" must be objects");
    if (b->trees && strcmp(gy_json_str(m, "objective", ""), b->trees->objective) != 0)
        return corrupt("metadata: objective differs from the trees section's '%s'",
                       b->trees->objective);
    ins = json_object_get(m, "input_signature");
    if (!json_is_array(ins) || json_array_size(ins) != gy_features_n_inputs(f))
        return corrupt("metadata: \"input_signature\" must list the %zu inputs",
                       gy_features_n_inputs(f));
    for (size_t i = 0; i < json_array_size(ins); i++) {
        const json_t *e = json_array_get(ins, i);
        if (!json_is_object(e) || json_object_size(e) != 2 ||
            strcmp(gy_json_str(e, "name", ""), gy_features_input_name(f, i)) != 0 ||
            strcmp(gy_json_str(e, "type", ""), gy_type_name(gy_features_input_type(f, i))) != 0)
            return corrupt("metadata: input_signature[%zu] does not match the preprocessing "
                           "input '%s'",
                           i, gy_features_input_name(f, i));
    }
    fn = json_object_get(m, "feature_names");
    if (!json_is_array(fn) || json_array_size(fn) != gy_features_n_outputs(f))
        return corrupt("metadata: \"feature_names\" must list the %zu features",
                       gy_features_n_outputs(f));
    for (size_t j = 0; j < json_array_size(fn); j++)
        if (!json_is_string(json_array_get(fn, j)) ||
            strcmp(json_string_value(json_array_get(fn, j)), gy_features_output_name(f, j)) != 0)
            return corrupt("metadata: feature_names[%zu] does not match the preprocessing", j);
    os = json_object_get(m, "output_signature");
    shape = json_object_get(os, "shape");
    if (!json_is_object(os) || json_object_size(os) != 4 ||
        strcmp(gy_json_str(os, "name", ""), gy__model_output_name(link)) != 0 ||
        strcmp(gy_json_str(os, "datatype", ""), "FP32") != 0 ||
        strcmp(gy_json_str(os, "link", ""), gy_model_link_name(link)) != 0 ||
        !json_is_array(shape) || json_array_size(shape) != 1 ||
        !json_is_integer(json_array_get(shape, 0)) ||
        json_integer_value(json_array_get(shape, 0)) != (json_int_t)n_outputs)
        return corrupt("metadata: \"output_signature\" must be {\"name\": \"%s\", \"datatype\": "
                       "\"FP32\", \"shape\": [%zu], \"link\": \"%s\"}",
                       gy__model_output_name(link), n_outputs, gy_model_link_name(link));
    classes = json_object_get(m, "classes");
    if (!classes)
        return corrupt("metadata: \"classes\" is missing (null when not a classifier)");
    rc = classes_check(classes, link, n_groups, GY_E_CORRUPT);
    if (rc)
        return gy_error_wrap(rc, "model bundle: metadata");
    for (size_t i = 0; json_is_array(classes) && i < json_array_size(classes); i++) {
        const json_t *v = json_array_get(classes, i);
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
            return corrupt("metadata: classes[%zu] must be a string, number or bool", i);
    }
    return GY_OK;
}

static int finite_num(const json_t *v)
{
    return json_is_number(v) && isfinite(json_number_value(v));
}

/* Checks the profile section's structure: dataset part loosely, scores strictly. */
static enum gy_status profile_check(const json_t *p, size_t n_outputs)
{
    const json_t *ds = json_object_get(p, "dataset"), *sc = json_object_get(p, "scores");
    if (json_object_size(p) != 2 || !ds || !sc)
        return corrupt("profile: expected exactly \"dataset\" and \"scores\"");
    if (!json_is_null(ds) && !json_is_object(ds))
        return corrupt("profile: \"dataset\" must be an object or null");
    if (json_is_object(ds) && json_object_get(ds, "columns")) {
        const json_t *cols = json_object_get(ds, "columns");
        if (!json_is_array(cols))
            return corrupt("profile: dataset.columns must be an array");
        for (size_t i = 0; i < json_array_size(cols); i++)
            if (!is_str(json_array_get(cols, i), "name", 1))
                return corrupt("profile: dataset.columns[%zu] needs a \"name\"", i);
    }
    if (json_is_null(sc))
        return GY_OK;
    if (!json_is_array(sc) || json_array_size(sc) != n_outputs)
        return corrupt("profile: \"scores\" must hold one entry per output (%zu)", n_outputs);
    for (size_t k = 0; k < n_outputs; k++) {
        const json_t *e = json_array_get(sc, k), *h = json_object_get(e, "histogram");
        const json_t *dec = json_object_get(e, "deciles");
        const json_t *edges = json_object_get(h, "edges"), *counts = json_object_get(h, "counts");
        json_int_t count = json_integer_value(json_object_get(e, "count")), total = 0;
        if (!json_is_object(e) || !is_str(e, "output", 1) ||
            !json_is_integer(json_object_get(e, "count")) || count < 0 ||
            !json_is_integer(json_object_get(e, "nonfinite")) ||
            json_integer_value(json_object_get(e, "nonfinite")) < 0)
            return corrupt("profile: scores[%zu] needs \"output\", \"count\", \"nonfinite\"", k);
        if (!json_is_array(dec) || (count > 0 && json_array_size(dec) != 11) ||
            (count == 0 && json_array_size(dec) != 0))
            return corrupt("profile: scores[%zu].deciles must hold 11 values", k);
        if (count > 0 &&
            (!finite_num(json_object_get(e, "mean")) || !finite_num(json_object_get(e, "min")) ||
             !finite_num(json_object_get(e, "max"))))
            return corrupt("profile: scores[%zu] needs finite mean, min and max", k);
        for (size_t i = 0; i < json_array_size(dec); i++)
            if (!finite_num(json_array_get(dec, i)) ||
                (i && json_number_value(json_array_get(dec, i)) <
                          json_number_value(json_array_get(dec, i - 1))))
                return corrupt("profile: scores[%zu].deciles must be finite and sorted", k);
        if (!json_is_object(h) || !json_is_array(edges) || !json_is_array(counts) ||
            json_array_size(edges) != HIST_BINS + 1 || json_array_size(counts) != HIST_BINS)
            return corrupt("profile: scores[%zu].histogram needs 21 edges and 20 counts", k);
        for (size_t i = 0; i <= HIST_BINS; i++)
            if (!finite_num(json_array_get(edges, i)) ||
                (i && !(json_number_value(json_array_get(edges, i)) >
                        json_number_value(json_array_get(edges, i - 1)))))
                return corrupt("profile: scores[%zu].histogram edges must increase", k);
        for (size_t i = 0; i < HIST_BINS; i++) {
            const json_t *c = json_array_get(counts, i);
            if (!json_is_integer(c) || json_integer_value(c) < 0 ||
                json_integer_value(c) > count - total)
                return corrupt("profile: scores[%zu].histogram counts are bad", k);
            total += json_integer_value(c);
        }
        if (total != count)
            return corrupt("profile: scores[%zu].histogram counts do not add up to count", k);
    }
    return GY_OK;
}

void gy_model_bundle_free(struct gy_model_bundle *b)
{
    if (!b)
        return;
    json_decref(b->meta);
    json_decref(b->profile);
    gy_features_free(b->features);
    gy_model_trees_free(b->trees);
    gy_model_linear_free(b->linear);
    gy_free(b);
}

enum gy_status gy_model_bundle_load(const void *data, size_t len, struct gy_model_bundle **out)
{
    const uint8_t *p = data;
    struct gy_model_bundle *b = NULL;
    enum gy_status rc;
    uint32_t n, version;
    uint64_t total, table_end, prev_end;
    uint8_t sum[GY_SHA256_LEN];
    struct gy_sha256 h;
    const uint8_t *sec[6] = {0};
    size_t seclen[6] = {0};
    json_t *pre = NULL;
    enum gy_link link;
    size_t n_groups, n_features;

    *out = NULL;
    if (len < GY_BUNDLE_HEADER_LEN + GY_SHA256_LEN)
        return corrupt("%zu bytes is too short for a bundle", len);
    if (memcmp(p, GY_BUNDLE_MAGIC, 4) != 0)
        return corrupt("bad magic (not a gyre model bundle)");
    version = (uint32_t)p[4] | (uint32_t)p[5] << 8;
    if (version == 0)
        return corrupt("format version 0");
    if (version > GY_BUNDLE_VERSION)
        return gy_error_set(GY_E_UNSUPPORTED,
                            "model bundle: format version %u is newer than this gyre reads (%d)",
                            version, GY_BUNDLE_VERSION);
    total = gy__model_get_u64(p + 16);
    if (total != len)
        return corrupt("the header says %llu bytes, the data has %zu (%s)",
                       (unsigned long long)total, len, total > len ? "truncated" : "extra bytes");
    gy_sha256_init(&h);
    gy_sha256_update(&h, p, len - GY_SHA256_LEN);
    gy_sha256_final(&h, sum);
    if (memcmp(sum, p + len - GY_SHA256_LEN, GY_SHA256_LEN) != 0)
        return corrupt("checksum mismatch (the file is damaged)");
    if (((uint32_t)p[6] | (uint32_t)p[7] << 8) != GY_BUNDLE_HEADER_LEN)
        return corrupt("header length %u", (uint32_t)p[6] | (uint32_t)p[7] << 8);
    n = gy__model_get_u32(p + 8);
    if (n == 0 || n > GY_BUNDLE_MAX_SECTIONS)
        return corrupt("%u sections (1 to %d allowed)", n, GY_BUNDLE_MAX_SECTIONS);
    if (gy__model_get_u32(p + 12) != 0 || gy__model_get_u64(p + 24) != 0)
        return corrupt("unknown header flags or reserved bytes set");
    table_end = GY_BUNDLE_HEADER_LEN + (uint64_t)n * GY_BUNDLE_ENTRY_LEN;
    if (table_end > len - GY_SHA256_LEN)
        return corrupt("the section table runs past the end");
    b = gy_calloc(1, sizeof(*b));
    if (!b)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    b->file_len = len;
    gy_hex_encode(p + len - GY_SHA256_LEN, GY_SHA256_LEN, b->checksum);
    prev_end = table_end;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = p + GY_BUNDLE_HEADER_LEN + (size_t)i * GY_BUNDLE_ENTRY_LEN;
        uint32_t id = gy__model_get_u32(e);
        uint64_t off = gy__model_get_u64(e + 8), slen = gy__model_get_u64(e + 16);
        if (gy__model_get_u32(e + 4) != 0) {
            rc = corrupt("section %u: reserved bytes set", i);
            goto out;
        }
        if (id < GY_SEC_META || id > GY_SEC_PROFILE) {
            rc = corrupt("section %u: unknown id %u", i, id);
            goto out;
        }
        if (sec[id]) {
            rc = corrupt("section %u: %s appears twice", i, gy__model_bundle_section_name(id));
            goto out;
        }
        if (off % 8 || off < prev_end || off - prev_end >= 8 || off > len - GY_SHA256_LEN ||
            slen > len - GY_SHA256_LEN - off) {
            rc = corrupt("section %u (%s): offset %llu length %llu out of place", i,
                         gy__model_bundle_section_name(id), (unsigned long long)off,
                         (unsigned long long)slen);
            goto out;
        }
        for (uint64_t k = prev_end; k < off; k++) {
            if (p[k]) {
                rc = corrupt("section %u: padding is not zero", i);
                goto out;
            }
        }
        sec[id] = p + off;
        seclen[id] = (size_t)slen;
        b->sections[i].id = id;
        b->sections[i].offset = off;
        b->sections[i].length = slen;
        prev_end = off + slen;
    }
    b->n_sections = n;
    if ((len - GY_SHA256_LEN) - prev_end >= 8) {
        rc = corrupt("%llu unaccounted bytes before the checksum",
                     (unsigned long long)((len - GY_SHA256_LEN) - prev_end));
        goto out;
    }
    for (uint64_t k = prev_end; k < len - GY_SHA256_LEN; k++) {
        if (p[k]) {
            rc = corrupt("final padding is not zero");
            goto out;
        }
    }
    if (!sec[GY_SEC_META] || !sec[GY_SEC_PREPROC] || (!sec[GY_SEC_TREES] == !sec[GY_SEC_LINEAR])) {
        rc = corrupt("needs metadata, preprocessing and exactly one estimator section");
        goto out;
    }
    /* Estimator first: its shape is needed to check the rest. */
    if (sec[GY_SEC_TREES]) {
        b->kind = GY_MODEL_TREES;
        rc = gy__model_trees_decode(sec[GY_SEC_TREES], seclen[GY_SEC_TREES], &b->trees);
        if (rc) {
            gy_error_wrap(rc, "model bundle");
            goto out;
        }
        link = b->trees->link;
        n_groups = b->trees->n_groups;
        n_features = b->trees->n_features;
    } else {
        b->kind = GY_MODEL_LINEAR;
        rc = gy__model_linear_decode(sec[GY_SEC_LINEAR], seclen[GY_SEC_LINEAR], &b->linear);
        if (rc) {
            gy_error_wrap(rc, "model bundle");
            goto out;
        }
        link = b->linear->link;
        n_groups = b->linear->n_outputs;
        n_features = b->linear->n_features;
    }
    rc = parse_section(sec[GY_SEC_PREPROC], seclen[GY_SEC_PREPROC], "preprocessing", &pre);
    if (rc)
        goto out;
    rc = gy_features_from_json(pre, &b->features);
    if (rc) {
        gy_error_wrap(rc, "model bundle");
        goto out;
    }
    if (gy_features_n_outputs(b->features) != n_features) {
        rc = corrupt("the preprocessing gives %zu features, the estimator takes %zu",
                     gy_features_n_outputs(b->features), n_features);
        goto out;
    }
    rc = parse_section(sec[GY_SEC_META], seclen[GY_SEC_META], "metadata", &b->meta);
    if (rc)
        goto out;
    rc = meta_check(b, link, n_groups, gy_model_link_n_outputs(link, n_groups));
    if (rc)
        goto out;
    if (sec[GY_SEC_PROFILE]) {
        rc = parse_section(sec[GY_SEC_PROFILE], seclen[GY_SEC_PROFILE], "profile", &b->profile);
        if (rc == GY_OK)
            rc = profile_check(b->profile, gy_model_link_n_outputs(link, n_groups));
        if (rc)
            goto out;
    } else {
        b->profile = json_pack("{s:n,s:n}", "dataset", "scores");
        if (!b->profile) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = b;
    b = NULL;
    rc = GY_OK;
out:
    json_decref(pre);
    gy_model_bundle_free(b);
    return rc;
}

enum gy_status gy_model_bundle_load_file(const char *path, struct gy_model_bundle **out)
{
    struct gy_buf buf;
    enum gy_status rc;
    *out = NULL;
    gy_buf_init(&buf, GY_BUNDLE_MAX_LEN);
    rc = gy_file_read(path, &buf); /* its error text names the file */
    if (rc == GY_OK) {
        rc = gy_model_bundle_load(buf.data, buf.len, out);
        if (rc)
            gy_error_wrap(rc, "%s", path);
    }
    gy_buf_free(&buf);
    return rc;
}

/* ------------------------------------------------------------------ accessors */

enum gy_model_kind gy_model_bundle_kind(const struct gy_model_bundle *b)
{
    return b->kind;
}

const json_t *gy_model_bundle_meta(const struct gy_model_bundle *b)
{
    return b->meta;
}

const struct gy_features *gy_model_bundle_features(const struct gy_model_bundle *b)
{
    return b->features;
}

const struct gy_trees *gy_model_bundle_trees(const struct gy_model_bundle *b)
{
    return b->trees;
}

const struct gy_linear *gy_model_bundle_linear(const struct gy_model_bundle *b)
{
    return b->linear;
}

const json_t *gy_model_bundle_profile(const struct gy_model_bundle *b)
{
    return b->profile;
}

size_t gy_model_bundle_n_features(const struct gy_model_bundle *b)
{
    return b->trees ? b->trees->n_features : b->linear->n_features;
}

size_t gy_model_bundle_n_margins(const struct gy_model_bundle *b)
{
    return b->trees ? b->trees->n_groups : b->linear->n_outputs;
}

size_t gy_model_bundle_n_outputs(const struct gy_model_bundle *b)
{
    return b->trees ? gy_model_link_n_outputs(b->trees->link, b->trees->n_groups)
                    : b->linear->n_outputs;
}

/* ------------------------------------------------------------------ prediction */

void gy_model_predict_matrix(const struct gy_model_bundle *b, const float *x, size_t nrows,
                             float *margins, float *outputs)
{
    if (b->trees)
        gy_model_trees_predict(b->trees, x, nrows, margins, outputs);
    else
        gy_model_linear_predict(b->linear, x, nrows, margins, outputs);
}

enum gy_status gy_model_predict_row(const struct gy_model_bundle *b,
                                    const struct gy_feature_value *in, float *margins,
                                    float *outputs)
{
    float local[256];
    size_t nf = gy_model_bundle_n_features(b);
    float *x = nf <= GY_ARRAY_LEN(local) ? local : gy_malloc(nf * sizeof(float));
    enum gy_status rc;
    if (!x)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    rc = gy_features_apply_row(b->features, in, x);
    if (rc == GY_OK)
        gy_model_predict_matrix(b, x, 1, margins, outputs);
    if (x != local)
        gy_free(x);
    return rc;
}
