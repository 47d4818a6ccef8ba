/* SPDX-License-Identifier: MIT */
/*
 * persist.c - the JSON form of a fitted preprocessing (written into model bundles) and its
 * loader, which trusts nothing: every key, type, count, bound and the output layout are
 * checked, and a failure names the path of the offending field. Also the identity
 * preprocessing used for models whose inputs are already numeric features.
 */
#include "features/features_int.h"

#include <string.h>

#define FEATURES_JSON_VERSION 1

/* ------------------------------------------------------------------ saving */

static int set(json_t *o, const char *k, json_t *v)
{
    return v == NULL || json_object_set_new(o, k, v) != 0;
}

static int chan_to_json(json_t *o, const struct gy_fnum *c)
{
    if (set(o, "impute", json_string(gy_feature_impute_name(c->impute))))
        return -1;
    if (c->impute != GY_IMPUTE_NONE && set(o, "fill", json_real(c->fill)))
        return -1;
    if (c->lo != -INFINITY || c->hi != INFINITY) {
        json_t *a = json_array();
        if (!a || set(o, "clip", a) ||
            json_array_append_new(a, c->lo != -INFINITY ? json_real(c->lo) : json_null()) ||
            json_array_append_new(a, c->hi != INFINITY ? json_real(c->hi) : json_null()))
            return -1;
    }
    if (c->standardize && (set(o, "mean", json_real(c->mean)) || set(o, "std", json_real(c->std))))
        return -1;
    if (set(o, "count", json_integer((json_int_t)c->count)) ||
        set(o, "missing", json_integer((json_int_t)c->missing)))
        return -1;
    return 0;
}

static int input_to_json(json_t *o, const struct gy_finput *in)
{
    if (set(o, "name", json_string(in->name)) ||
        set(o, "type", json_string(gy_type_name(in->type))) ||
        set(o, "encode", json_string(gy_feature_encode_name(in->encode))))
        return -1;
    if (in->type == GY_TYPE_STRING) {
        const struct gy_fcat *c = &in->cat;
        json_t *cats = json_array(), *other = json_array();
        if (set(o, "top", json_integer(c->top)) ||
            set(o, "impute", json_string(gy_feature_impute_name(c->impute))) ||
            set(o, "categories", cats) || set(o, "other", other))
            return -1;
        for (uint32_t i = 0; i < c->n_vocab; i++) {
            json_t *s = json_stringn(c->values[i], c->lens[i]);
            if (i < c->n_top) {
                json_t *e = json_object();
                if (!e || json_array_append_new(cats, e) || set(e, "value", s) ||
                    set(e, "count", json_integer((json_int_t)c->counts[i])))
                    return -1;
            } else if (!s || json_array_append_new(other, s)) {
                return -1;
            }
        }
        if (set(o, "other_complete", json_boolean(c->complete)) ||
            set(o, "other_count", json_integer((json_int_t)c->other_count)) ||
            set(o, "missing", json_integer((json_int_t)c->missing)))
            return -1;
        return 0;
    }
    if (in->type == GY_TYPE_TIMESTAMP) {
        json_t *parts = json_array();
        if (set(o, "parts", parts))
            return -1;
        for (int k = 0; k < 2; k++) {
            json_t *p = json_object();
            if (!p || json_array_append_new(parts, p) || chan_to_json(p, &in->num[k]))
                return -1;
        }
        return 0;
    }
    return chan_to_json(o, &in->num[0]);
}

enum gy_status gy_features_to_json(const struct gy_features *f, json_t **out)
{
    json_t *root = json_object(), *ins = json_array(), *outs = json_array();
    *out = NULL;
    if (!root || !ins || !outs)
        goto nomem;
    if (set(root, "version", json_integer(FEATURES_JSON_VERSION)) ||
        set(root, "mode", json_string(f->mode == GY_FEATURES_LINEAR ? "linear" : "tree")) ||
        json_object_set(root, "inputs", ins) || json_object_set(root, "outputs", outs))
        goto nomem;
    for (size_t i = 0; i < f->n_inputs; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(ins, o) || input_to_json(o, &f->inputs[i]))
            goto nomem;
    }
    for (size_t j = 0; j < f->n_outputs; j++)
        if (json_array_append_new(outs, json_string(f->out_names[j])))
            goto nomem;
    json_decref(ins);
    json_decref(outs);
    *out = root;
    return GY_OK;
nomem:
    json_decref(ins);
    json_decref(outs);
    json_decref(root);
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

/* ------------------------------------------------------------------ loading */

struct ctx {
    char where[GY_LAKE_MAX_NAME + 64];
};

static enum gy_status corrupt(const struct ctx *c, const char *fmt, const char *key)
{
    char msg[160];
    gy_snprintf(msg, sizeof(msg), fmt, key);
    return gy_error_set(GY_E_CORRUPT, "preprocessing: %s: %s", c->where, msg);
}

/* Every key of @p o must be in @p allowed (NULL-terminated). */
static enum gy_status only_keys(const struct ctx *c, const json_t *o, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        size_t i;
        for (i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0)
                break;
        if (!allowed[i])
            return corrupt(c, "unknown key \"%s\"", key);
    }
    return GY_OK;
}

static enum gy_status get_count(const struct ctx *c, const json_t *o, const char *k, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return corrupt(c, "\"%s\" must be a non-negative integer", k);
    *out = (uint64_t)json_integer_value(v);
    return GY_OK;
}

static enum gy_status get_finite(const struct ctx *c, const json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return corrupt(c, "\"%s\" must be a finite number", k);
    *out = json_number_value(v);
    return GY_OK;
}

static enum gy_status chan_from_json(const struct ctx *c, const json_t *o, struct gy_fnum *ch,
                                     int standardize)
{
    const char *im = gy_json_str(o, "impute", NULL);
    json_t *clip = json_object_get(o, "clip");
    enum gy_status rc;

    ch->lo = -INFINITY;
    ch->hi = INFINITY;
    ch->std = 1;
    ch->standardize = standardize;
    if (!im)
        return corrupt(c, "\"%s\" must be a string", "impute");
    if (strcmp(im, "none") == 0)
        ch->impute = GY_IMPUTE_NONE;
    else if (strcmp(im, "mean") == 0)
        ch->impute = GY_IMPUTE_MEAN;
    else if (strcmp(im, "median") == 0)
        ch->impute = GY_IMPUTE_MEDIAN;
    else if (strcmp(im, "constant") == 0)
        ch->impute = GY_IMPUTE_CONSTANT;
    else
        return corrupt(c, "\"%s\" must be none, mean, median or constant", "impute");
    if (ch->impute != GY_IMPUTE_NONE) {
        rc = get_finite(c, o, "fill", &ch->fill);
        if (rc)
            return rc;
    } else if (json_object_get(o, "fill")) {
        return corrupt(c, "\"%s\" without imputation", "fill");
    }
    if (clip) {
        json_t *lo = json_array_get(clip, 0), *hi = json_array_get(clip, 1);
        if (!json_is_array(clip) || json_array_size(clip) != 2 ||
            !(json_is_null(lo) || json_is_number(lo)) ||
            !(json_is_null(hi) || json_is_number(hi)) || (json_is_null(lo) && json_is_null(hi)))
            return corrupt(c, "\"%s\" must be [LO, HI] with at least one number", "clip");
        if (json_is_number(lo))
            ch->lo = json_number_value(lo);
        if (json_is_number(hi))
            ch->hi = json_number_value(hi);
        if ((json_is_number(lo) && !isfinite(ch->lo)) || (json_is_number(hi) && !isfinite(ch->hi)))
            return corrupt(c, "\"%s\" bounds must be finite", "clip");
        if (ch->lo > ch->hi)
            return corrupt(c, "\"%s\" lower bound is above the upper bound", "clip");
    }
    if (standardize) {
        rc = get_finite(c, o, "mean", &ch->mean);
        if (rc == GY_OK)
            rc = get_finite(c, o, "std", &ch->std);
        if (rc)
            return rc;
        if (!(ch->std > 0))
            return corrupt(c, "\"%s\" must be positive", "std");
    } else if (json_object_get(o, "mean") || json_object_get(o, "std")) {
        return corrupt(c, "%s given without standardize", "\"mean\"/\"std\"");
    }
    rc = get_count(c, o, "count", &ch->count);
    if (rc == GY_OK)
        rc = get_count(c, o, "missing", &ch->missing);
    return rc;
}

static enum gy_status cat_from_json(const struct ctx *c, const json_t *o, struct gy_fcat *fc)
{
    json_t *cats = json_object_get(o, "categories"), *other = json_object_get(o, "other");
    json_t *complete = json_object_get(o, "other_complete");
    const char *im = gy_json_str(o, "impute", NULL);
    json_t *top = json_object_get(o, "top");
    size_t nc, no;
    enum gy_status rc;

    if (!json_is_integer(top) || json_integer_value(top) < 1 ||
        json_integer_value(top) > GY_FEATURES_MAX_TOP)
        return corrupt(c, "\"%s\" must be an integer from 1 to 100000", "top");
    fc->top = (uint32_t)json_integer_value(top);
    if (im && strcmp(im, "none") == 0)
        fc->impute = GY_IMPUTE_NONE;
    else if (im && strcmp(im, "mode") == 0)
        fc->impute = GY_IMPUTE_MODE;
    else
        return corrupt(c, "\"%s\" must be none or mode", "impute");
    if (!json_is_array(cats) || !json_is_array(other) || !json_is_boolean(complete))
        return corrupt(c, "%s",
                       "\"categories\" and \"other\" must be arrays, \"other_complete\" a "
                       "boolean");
    nc = json_array_size(cats);
    no = json_array_size(other);
    if (nc > fc->top)
        return corrupt(c, "%s", "more \"categories\" than \"top\"");
    if (no > GY_FEATURES_MAX_VOCAB)
        return corrupt(c, "%s", "too many \"other\" values");
    if (no > 0 && nc < fc->top)
        return corrupt(c, "%s", "\"other\" values while fewer than \"top\" categories");
    if (!json_is_true(complete) && no > 0)
        return corrupt(c, "%s", "\"other\" values with \"other_complete\" false");
    fc->complete = json_is_true(complete);
    fc->values = gy_calloc(nc + no + 1, sizeof(char *));
    fc->lens = gy_calloc(nc + no + 1, sizeof(uint32_t));
    fc->counts = gy_calloc(nc + 1, sizeof(uint64_t));
    if (!fc->values || !fc->lens || !fc->counts)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nc + no; i++) {
        json_t *e = i < nc ? json_array_get(cats, i) : json_array_get(other, i - nc);
        json_t *s = i < nc ? json_object_get(e, "value") : e;
        size_t n;
        if (i < nc) {
            static const char *const keys[] = {"value", "count", NULL};
            if (!json_is_object(e))
                return corrupt(c, "%s", "a category must be an object");
            rc = only_keys(c, e, keys);
            if (rc == GY_OK)
                rc = get_count(c, e, "count", &fc->counts[i]);
            if (rc)
                return rc;
        }
        if (!json_is_string(s))
            return corrupt(c, "%s", "a category value must be a string");
        n = json_string_length(s);
        if (n > GY_FEATURES_MAX_CATEGORY)
            return corrupt(c, "%s", "a category value is longer than 4096 bytes");
        fc->values[i] = gy_malloc(n + 1);
        if (!fc->values[i])
            return gy_error_set(GY_E_NOMEM, "out of memory");
        memcpy(fc->values[i], json_string_value(s), n + 1);
        fc->lens[i] = (uint32_t)n;
        fc->n_vocab = (uint32_t)(i + 1);
    }
    fc->n_top = (uint32_t)nc;
    rc = get_count(c, o, "other_count", &fc->other_count);
    if (rc == GY_OK)
        rc = get_count(c, o, "missing", &fc->missing);
    if (rc)
        return rc;
    if (gy__features_cat_index(fc) != GY_OK)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    /* Uniqueness: a duplicate sits on the probe path of its twin. */
    for (uint32_t i = 0; i < fc->n_vocab; i++)
        if (gy__features_cat_has_twin(fc, i))
            return corrupt(c, "%s", "a category value appears twice");
    return GY_OK;
}

static enum gy_status input_from_json(const json_t *o, size_t idx, struct gy_finput *in)
{
    static const char *const num_keys[] = {"name", "type", "encode", "impute",  "fill", "clip",
                                           "mean", "std",  "count",  "missing", NULL};
    static const char *const str_keys[] = {"name",        "type",       "encode", "top",
                                           "impute",      "categories", "other",  "other_complete",
                                           "other_count", "missing",    NULL};
    static const char *const ts_keys[] = {"name", "type", "encode", "parts", NULL};
    static const char *const part_keys[] = {"impute", "fill", "clip", "count", "missing", NULL};
    struct ctx c;
    const char *name = gy_json_str(o, "name", NULL);
    const char *type = gy_json_str(o, "type", NULL);
    const char *enc = gy_json_str(o, "encode", NULL);
    enum gy_status rc;

    gy_snprintf(c.where, sizeof(c.where), "inputs[%zu]", idx);
    if (!json_is_object(o))
        return corrupt(&c, "%s", "must be an object");
    if (!name || !*name || strlen(name) > GY_LAKE_MAX_NAME ||
        json_string_length(json_object_get(o, "name")) != strlen(name))
        return corrupt(&c, "\"%s\" must be a column name", "name");
    gy_snprintf(c.where, sizeof(c.where), "inputs[%zu] (\"%s\")", idx, name);
    in->name = gy_strdup(name);
    if (!in->name)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if (!type || gy_type_parse(type, &in->type) != GY_OK || strcmp(type, gy_type_name(in->type)))
        return corrupt(&c, "\"%s\" must be a column type", "type");
    if (!enc)
        return corrupt(&c, "\"%s\" must be a string", "encode");
    for (int e = GY_ENCODE_PASSTHROUGH; e <= GY_ENCODE_PARTS; e++)
        if (strcmp(enc, gy_feature_encode_name((enum gy_feature_encode)e)) == 0)
            in->encode = (enum gy_feature_encode)e;
    switch (in->type) {
    case GY_TYPE_FLOAT64:
    case GY_TYPE_INT64:
    case GY_TYPE_BOOL:
        if (in->encode != GY_ENCODE_PASSTHROUGH && in->encode != GY_ENCODE_STANDARDIZE)
            return corrupt(&c, "\"%s\" must be passthrough or standardize", "encode");
        rc = only_keys(&c, o, num_keys);
        if (rc)
            return rc;
        in->n_num = 1;
        return chan_from_json(&c, o, &in->num[0], in->encode == GY_ENCODE_STANDARDIZE);
    case GY_TYPE_STRING:
        if (in->encode != GY_ENCODE_ONEHOT && in->encode != GY_ENCODE_ORDINAL)
            return corrupt(&c, "\"%s\" must be onehot or ordinal", "encode");
        rc = only_keys(&c, o, str_keys);
        if (rc)
            return rc;
        return cat_from_json(&c, o, &in->cat);
    case GY_TYPE_TIMESTAMP: {
        json_t *parts = json_object_get(o, "parts");
        char base[sizeof(c.where)];
        if (in->encode != GY_ENCODE_PARTS)
            return corrupt(&c, "\"%s\" must be parts", "encode");
        rc = only_keys(&c, o, ts_keys);
        if (rc)
            return rc;
        if (!json_is_array(parts) || json_array_size(parts) != 2)
            return corrupt(&c, "\"%s\" must be an array of two objects", "parts");
        in->n_num = 2;
        memcpy(base, c.where, sizeof(base));
        for (size_t k = 0; k < 2; k++) {
            json_t *p = json_array_get(parts, k);
            gy_snprintf(c.where, sizeof(c.where), "%.300s.parts[%zu]", base, k);
            if (!json_is_object(p))
                return corrupt(&c, "%s", "must be an object");
            rc = only_keys(&c, p, part_keys);
            if (rc == GY_OK)
                rc = chan_from_json(&c, p, &in->num[k], 0);
            if (rc)
                return rc;
        }
        return GY_OK;
    }
    }
    return corrupt(&c, "%s", "unsupported type");
}

enum gy_status gy_features_from_json(const json_t *j, struct gy_features **out)
{
    static const char *const keys[] = {"version", "mode", "inputs", "outputs", NULL};
    struct gy_features *f = NULL;
    struct ctx c;
    json_t *ins = json_object_get(j, "inputs"), *outs = json_object_get(j, "outputs");
    json_t *ver = json_object_get(j, "version");
    const char *mode = gy_json_str(j, "mode", NULL);
    enum gy_status rc;
    size_t n;

    *out = NULL;
    gy_snprintf(c.where, sizeof(c.where), "top level");
    if (!json_is_object(j))
        return corrupt(&c, "%s", "must be an object");
    rc = only_keys(&c, j, keys);
    if (rc)
        return rc;
    if (!json_is_integer(ver))
        return corrupt(&c, "\"%s\" must be an integer", "version");
    if (json_integer_value(ver) != FEATURES_JSON_VERSION)
        return gy_error_set(GY_E_UNSUPPORTED, "preprocessing: version %lld is not supported",
                            (long long)json_integer_value(ver));
    if (!mode || (strcmp(mode, "tree") != 0 && strcmp(mode, "linear") != 0))
        return corrupt(&c, "\"%s\" must be tree or linear", "mode");
    if (!json_is_array(ins) || json_array_size(ins) == 0 ||
        json_array_size(ins) > GY_FEATURES_MAX_INPUTS)
        return corrupt(&c, "\"%s\" must be an array of 1 to 4096 inputs", "inputs");
    if (!json_is_array(outs))
        return corrupt(&c, "\"%s\" must be an array", "outputs");
    n = json_array_size(ins);
    f = gy_calloc(1, sizeof(*f));
    if (!f || !(f->inputs = gy_calloc(n, sizeof(*f->inputs)))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    f->mode = strcmp(mode, "linear") == 0 ? GY_FEATURES_LINEAR : GY_FEATURES_TREE;
    for (size_t i = 0; i < n; i++) {
        f->n_inputs = i + 1;
        rc = input_from_json(json_array_get(ins, i), i, &f->inputs[i]);
        if (rc)
            goto out;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(f->inputs[k].name, f->inputs[i].name) == 0) {
                gy_snprintf(c.where, sizeof(c.where), "inputs[%zu]", i);
                rc = corrupt(&c, "%s", "duplicate input name");
                goto out;
            }
        }
    }
    rc = gy__features_layout(f);
    if (rc) {
        if (rc == GY_E_TOO_LARGE)
            rc = GY_E_CORRUPT;
        goto out;
    }
    gy_snprintf(c.where, sizeof(c.where), "outputs");
    if (json_array_size(outs) != f->n_outputs) {
        rc = corrupt(&c, "%s", "the count does not match the inputs");
        goto out;
    }
    for (size_t k = 0; k < f->n_outputs; k++) {
        const char *s = json_string_value(json_array_get(outs, k));
        if (!s || strcmp(s, f->out_names[k]) != 0) {
            gy_snprintf(c.where, sizeof(c.where), "outputs[%zu]", k);
            rc = corrupt(&c, "%s", "does not match the name the inputs give");
            goto out;
        }
    }
    *out = f;
    f = NULL;
    rc = GY_OK;
out:
    gy_features_free(f);
    return rc;
}

/* ------------------------------------------------------------------ identity */

enum gy_status gy_features_identity(const char *const *names, size_t n, struct gy_features **out)
{
    struct gy_features *f;
    enum gy_status rc;
    *out = NULL;
    if (n == 0 || n > GY_FEATURES_MAX_INPUTS)
        return gy_error_set(GY_E_INVALID, "features: identity needs 1 to %d inputs",
                            GY_FEATURES_MAX_INPUTS);
    f = gy_calloc(1, sizeof(*f));
    if (!f || !(f->inputs = gy_calloc(n, sizeof(*f->inputs)))) {
        gy_free(f);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    f->mode = GY_FEATURES_TREE;
    for (size_t i = 0; i < n; i++) {
        struct gy_finput *in = &f->inputs[i];
        size_t len = names[i] ? strlen(names[i]) : 0;
        f->n_inputs = i + 1;
        if (len == 0 || len > GY_LAKE_MAX_NAME) {
            rc = gy_error_set(GY_E_INVALID, "features: input %zu has a bad name", i);
            goto fail;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(names[k], names[i]) == 0) {
                rc =
                    gy_error_set(GY_E_INVALID, "features: input name '%s' appears twice", names[i]);
                goto fail;
            }
        }
        in->name = gy_strdup(names[i]);
        if (!in->name) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto fail;
        }
        in->type = GY_TYPE_FLOAT64;
        in->encode = GY_ENCODE_PASSTHROUGH;
        in->n_num = 1;
        in->num[0].impute = GY_IMPUTE_NONE;
        in->num[0].lo = -INFINITY;
        in->num[0].hi = INFINITY;
        in->num[0].std = 1;
    }
    rc = gy__features_layout(f);
    if (rc)
        goto fail;
    *out = f;
    return GY_OK;
fail:
    gy_features_free(f);
    return rc;
}
