/* SPDX-License-Identifier: MIT */
/*
 * fit.c - fitting a feature spec on training rows. fit_begin resolves each column's rule
 * against the schema and the trainer's mode (tree or linear defaults); fit_add accumulates, per
 * input, numeric statistics (Welford mean and variance of clipped values, all values when an
 * exact median is wanted) or exact category counts (a hash table over the value bytes);
 * fit_finish turns them into the immutable struct gy_features (fill values, means, stds,
 * top-k vocabularies) and lays out the output features.
 */
#include "features/features_int.h"

#include <stdlib.h>
#include <string.h>

/* Accumulator of one numeric channel. */
struct num_acc {
    uint64_t n, missing;
    double mean, m2;
    double *vals; /* only for impute=median */
    size_t nvals, cap;
};

/* Exact category counter: open addressing over (hash, bytes). */
struct cat_entry {
    uint64_t hash;
    uint64_t off;
    uint64_t count;
    uint32_t len;
    uint32_t used;
};

struct cat_acc {
    struct cat_entry *tab;
    size_t size, used; /* size is a power of two */
    char *bytes;
    size_t nbytes, capbytes;
    uint64_t unusable; /* values too long or not UTF-8: always "other" */
    uint64_t missing;
};

struct fit_col {
    size_t schema_idx;
    struct gy_finput in;
    struct num_acc acc[2];
    struct cat_acc cat;
};

struct gy_features_fitter {
    enum gy_features_mode mode;
    struct gy_schema *schema;
    size_t ncols;
    struct fit_col *cols;
    int broken; /* a failed add or a finish happened */
};

#define HASH_SEED 0x6779726566656174ULL /* "gyrefeat" */

/* ------------------------------------------------------------------ resolving rules */

static int is_numeric(enum gy_type t)
{
    return t == GY_TYPE_FLOAT64 || t == GY_TYPE_INT64 || t == GY_TYPE_BOOL;
}

static enum gy_status bad_encode(const struct gy_column_def *c, enum gy_feature_encode e,
                                 const char *allowed)
{
    return gy_error_set(
        GY_E_INVALID, "feature spec: column '%s' (%s) cannot be encoded as %s (%s columns take %s)",
        c->name, gy_type_name(c->type), gy_feature_encode_name(e), gy_type_name(c->type), allowed);
}

static enum gy_status bad_option(const struct gy_column_def *c, const char *what)
{
    return gy_error_set(GY_E_INVALID, "feature spec: column '%s' (%s): %s", c->name,
                        gy_type_name(c->type), what);
}

/* Sets in->encode and the channels' settings from rule @p r (may be NULL). *drop when dropped. */
static enum gy_status resolve(const struct gy_feature_rule *r, int drop_unnamed,
                              const struct gy_column_def *c, enum gy_features_mode mode,
                              struct gy_finput *in, int *drop)
{
    struct gy_feature_rule none;
    enum gy_feature_encode e;
    enum gy_feature_impute im;
    int linear = mode == GY_FEATURES_LINEAR;

    *drop = 0;
    if (!r) {
        if (drop_unnamed > 0) {
            *drop = 1;
            return GY_OK;
        }
        memset(&none, 0, sizeof(none));
        r = &none;
    }
    e = r->encode;
    im = r->impute;
    in->type = c->type;
    for (int k = 0; k < 2; k++) {
        in->num[k].lo = -INFINITY;
        in->num[k].hi = INFINITY;
        in->num[k].std = 1;
        in->num[k].impute = GY_IMPUTE_NONE;
    }
    if (is_numeric(c->type)) {
        if (e == GY_ENCODE_DEFAULT)
            e = linear && c->type != GY_TYPE_BOOL ? GY_ENCODE_STANDARDIZE : GY_ENCODE_PASSTHROUGH;
        if (e != GY_ENCODE_PASSTHROUGH && e != GY_ENCODE_STANDARDIZE && e != GY_ENCODE_DROP)
            return bad_encode(c, e, "passthrough, standardize or drop");
        if (im == GY_IMPUTE_DEFAULT)
            im = linear ? GY_IMPUTE_MEAN : GY_IMPUTE_NONE;
        if (im == GY_IMPUTE_MODE)
            return bad_option(c, "impute=mode applies to string columns (use mean or median)");
        if (r->top)
            return bad_option(c, "top= applies to string columns");
        in->n_num = 1;
        in->num[0].impute = im;
        in->num[0].fill = im == GY_IMPUTE_CONSTANT ? r->impute_value : 0;
        in->num[0].standardize = e == GY_ENCODE_STANDARDIZE;
        if (r->has_lo)
            in->num[0].lo = r->lo;
        if (r->has_hi)
            in->num[0].hi = r->hi;
    } else if (c->type == GY_TYPE_STRING) {
        if (e == GY_ENCODE_DEFAULT)
            e = linear ? GY_ENCODE_ONEHOT : GY_ENCODE_ORDINAL;
        if (e != GY_ENCODE_ONEHOT && e != GY_ENCODE_ORDINAL && e != GY_ENCODE_DROP)
            return bad_encode(c, e, "onehot, ordinal or drop");
        if (im == GY_IMPUTE_DEFAULT)
            im = GY_IMPUTE_NONE;
        if (im != GY_IMPUTE_NONE && im != GY_IMPUTE_MODE)
            return bad_option(c, "string columns take impute=mode or impute=none");
        if (r->has_lo || r->has_hi)
            return bad_option(c, "clip= applies to numeric columns");
        in->cat.impute = im;
        in->cat.top =
            r->top ? r->top
                   : (e == GY_ENCODE_ONEHOT ? GY_FEATURES_TOP_ONEHOT : GY_FEATURES_TOP_ORDINAL);
    } else if (c->type == GY_TYPE_TIMESTAMP) {
        if (e == GY_ENCODE_DEFAULT)
            e = GY_ENCODE_DROP;
        if (e != GY_ENCODE_PARTS && e != GY_ENCODE_DROP)
            return bad_encode(c, e, "parts or drop");
        if (im == GY_IMPUTE_DEFAULT)
            im = linear ? GY_IMPUTE_MEAN : GY_IMPUTE_NONE;
        if (im == GY_IMPUTE_MODE)
            return bad_option(c, "impute=mode applies to string columns");
        if (r->has_lo || r->has_hi)
            return bad_option(c, "clip= applies to numeric columns");
        if (r->top)
            return bad_option(c, "top= applies to string columns");
        in->n_num = 2;
        for (int k = 0; k < 2; k++) {
            in->num[k].impute = im;
            in->num[k].fill = im == GY_IMPUTE_CONSTANT ? r->impute_value : 0;
        }
    } else {
        return bad_option(c, "unsupported column type");
    }
    if (e == GY_ENCODE_DROP) {
        *drop = 1;
        return GY_OK;
    }
    in->encode = e;
    return GY_OK;
}

static void fit_col_clear(struct fit_col *c)
{
    gy__features_input_clear(&c->in);
    for (int k = 0; k < 2; k++)
        gy_free(c->acc[k].vals);
    gy_free(c->cat.tab);
    gy_free(c->cat.bytes);
    memset(c, 0, sizeof(*c));
}

void gy_features_fitter_free(struct gy_features_fitter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->ncols; i++)
        fit_col_clear(&f->cols[i]);
    gy_free(f->cols);
    gy_schema_free(f->schema);
    gy_free(f);
}

enum gy_status gy_features_fit_begin(const struct gy_feature_spec *spec,
                                     const struct gy_schema *schema, const char *target,
                                     enum gy_features_mode mode, struct gy_features_fitter **out)
{
    struct gy_features_fitter *f;
    enum gy_status rc = GY_OK;

    *out = NULL;
    if (mode != GY_FEATURES_TREE && mode != GY_FEATURES_LINEAR)
        return gy_error_set(GY_E_INVALID, "features: unknown mode %d", (int)mode);
    if (schema->ncols > GY_LAKE_MAX_COLUMNS)
        return gy_error_set(GY_E_TOO_LARGE, "features: more than %d columns", GY_LAKE_MAX_COLUMNS);
    if (target && gy_schema_find(schema, target) < 0)
        return gy_error_set(GY_E_INVALID, "target column '%s' is not in the dataset", target);
    for (size_t i = 0; spec && i < spec->n; i++) {
        const struct gy_feature_rule *r = &spec->rules[i];
        if (gy_schema_find(schema, r->name) < 0)
            return gy_error_set(GY_E_INVALID,
                                "feature spec names column '%s', which the dataset does not have",
                                r->name);
        if (target && strcmp(r->name, target) == 0 && r->encode != GY_ENCODE_DROP)
            return gy_error_set(GY_E_INVALID,
                                "feature spec: column '%s' is the target; it cannot be an input",
                                r->name);
    }
    f = gy_calloc(1, sizeof(*f));
    if (!f)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    f->mode = mode;
    f->schema = gy_schema_copy(schema);
    f->cols = gy_calloc(schema->ncols ? schema->ncols : 1, sizeof(*f->cols));
    if (!f->schema || !f->cols) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < schema->ncols; i++) {
        const struct gy_column_def *c = &schema->cols[i];
        struct fit_col *fc = &f->cols[f->ncols];
        int drop;
        if (target && strcmp(c->name, target) == 0)
            continue;
        memset(fc, 0, sizeof(*fc));
        rc = resolve(spec ? gy__features_spec_find(spec, c->name) : NULL,
                     spec ? spec->drop_unnamed : 0, c, mode, &fc->in, &drop);
        if (rc)
            goto out;
        if (drop)
            continue;
        fc->schema_idx = i;
        fc->in.name = gy_strdup(c->name);
        if (!fc->in.name) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        f->ncols++;
    }
    if (f->ncols == 0) {
        rc = gy_error_set(GY_E_INVALID, "features: no input columns are left after the spec "
                                        "(every column is dropped or is the target)");
        goto out;
    }
    *out = f;
    f = NULL;
out:
    gy_features_fitter_free(f);
    return rc;
}

/* ------------------------------------------------------------------ accumulating */

static enum gy_status num_add(struct num_acc *a, const struct gy_fnum *ch, double v)
{
    double d;
    if (!isfinite(v)) {
        a->missing++;
        return GY_OK;
    }
    if (v < ch->lo)
        v = ch->lo;
    if (v > ch->hi)
        v = ch->hi;
    a->n++;
    d = v - a->mean;
    a->mean += d / (double)a->n;
    a->m2 += d * (v - a->mean);
    if (ch->impute == GY_IMPUTE_MEDIAN) {
        if (a->nvals == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 1024;
            double *nv = gy_realloc(a->vals, cap * sizeof(*nv));
            if (!nv)
                return gy_error_set(GY_E_NOMEM, "out of memory");
            a->vals = nv;
            a->cap = cap;
        }
        a->vals[a->nvals++] = v;
    }
    return GY_OK;
}

static enum gy_status cat_grow(struct cat_acc *c)
{
    size_t size = c->size ? c->size * 2 : 1024;
    struct cat_entry *t = gy_calloc(size, sizeof(*t));
    if (!t)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < c->size; i++) {
        struct cat_entry *e = &c->tab[i];
        size_t j;
        if (!e->used)
            continue;
        for (j = e->hash & (size - 1); t[j].used; j = (j + 1) & (size - 1))
            ;
        t[j] = *e;
    }
    gy_free(c->tab);
    c->tab = t;
    c->size = size;
    return GY_OK;
}

static enum gy_status cat_add(struct cat_acc *c, const char *p, size_t n, const char *col)
{
    uint64_t h;
    size_t j;
    enum gy_status rc;
    if (n > GY_FEATURES_MAX_CATEGORY || !gy__features_utf8_valid(p, n)) {
        c->unusable++;
        return GY_OK;
    }
    if ((c->used + 1) * 2 > c->size) {
        rc = cat_grow(c);
        if (rc)
            return rc;
    }
    h = gy_hash64(p, n, HASH_SEED);
    for (j = h & (c->size - 1); c->tab[j].used; j = (j + 1) & (c->size - 1)) {
        struct cat_entry *e = &c->tab[j];
        if (e->hash == h && e->len == n && memcmp(c->bytes + e->off, p, n) == 0) {
            e->count++;
            return GY_OK;
        }
    }
    if (c->used >= GY_FEATURES_MAX_DISTINCT)
        return gy_error_set(GY_E_TOO_LARGE,
                            "features: column '%s' has more than %u distinct values; drop it "
                            "(%s:drop)",
                            col, GY_FEATURES_MAX_DISTINCT, col);
    if (c->nbytes + n + 1 > c->capbytes) {
        size_t cap = c->capbytes ? c->capbytes : 4096;
        char *nb;
        while (cap < c->nbytes + n + 1)
            cap *= 2;
        nb = gy_realloc(c->bytes, cap);
        if (!nb)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        c->bytes = nb;
        c->capbytes = cap;
    }
    if (n)
        memcpy(c->bytes + c->nbytes, p, n);
    c->tab[j].hash = h;
    c->tab[j].off = c->nbytes;
    c->tab[j].len = (uint32_t)n;
    c->tab[j].count = 1;
    c->tab[j].used = 1;
    c->nbytes += n;
    c->used++;
    return GY_OK;
}

static enum gy_status col_add(struct fit_col *fc, const struct gy_colvec *v, size_t nrows,
                              const uint8_t *mask)
{
    enum gy_status rc = GY_OK;
    struct gy_finput *in = &fc->in;
    for (size_t i = 0; i < nrows && rc == GY_OK; i++) {
        int present;
        if (mask && !mask[i])
            continue;
        present = !v->valid || v->valid[i];
        switch (in->type) {
        case GY_TYPE_FLOAT64:
            rc = num_add(&fc->acc[0], &in->num[0], present ? v->f64[i] : NAN);
            break;
        case GY_TYPE_INT64:
            rc = num_add(&fc->acc[0], &in->num[0], present ? (double)v->i64[i] : NAN);
            break;
        case GY_TYPE_BOOL:
            rc = num_add(&fc->acc[0], &in->num[0], present ? (v->b[i] ? 1.0 : 0.0) : NAN);
            break;
        case GY_TYPE_TIMESTAMP: {
            double hour = NAN, dow = NAN;
            if (present)
                gy__features_timestamp_parts(v->i64[i], &hour, &dow);
            rc = num_add(&fc->acc[0], &in->num[0], hour);
            if (rc == GY_OK)
                rc = num_add(&fc->acc[1], &in->num[1], dow);
            break;
        }
        case GY_TYPE_STRING:
            if (!present)
                fc->cat.missing++;
            else
                rc = cat_add(&fc->cat, v->data + v->off[i], v->off[i + 1] - v->off[i], in->name);
            break;
        }
    }
    return rc;
}

/* Checks that a batch vector has the type and the arrays its type needs. */
static enum gy_status check_vec(const struct gy_colvec *v, const struct gy_column_def *c,
                                size_t nrows)
{
    int ok;
    if (v->type != c->type)
        return gy_error_set(GY_E_SCHEMA, "features: column '%s' is %s in the batch, %s expected",
                            c->name, gy_type_name(v->type), gy_type_name(c->type));
    if (v->n != nrows)
        return gy_error_set(GY_E_SCHEMA, "features: column '%s' has %zu rows, %zu expected",
                            c->name, v->n, nrows);
    switch (c->type) {
    case GY_TYPE_FLOAT64:
        ok = nrows == 0 || v->f64;
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        ok = nrows == 0 || v->i64;
        break;
    case GY_TYPE_BOOL:
        ok = nrows == 0 || v->b;
        break;
    case GY_TYPE_STRING:
        ok = nrows == 0 ||
             (v->off && (v->data || v->off[nrows] == 0) && v->off[nrows] <= v->data_len);
        for (size_t i = 0; ok && i < nrows; i++)
            ok = v->off[i] <= v->off[i + 1];
        break;
    default:
        ok = 0;
    }
    if (!ok)
        return gy_error_set(GY_E_SCHEMA, "features: column '%s': malformed column vector", c->name);
    return GY_OK;
}

enum gy_status gy_features_fit_add(struct gy_features_fitter *f, const struct gy_colvec *cols,
                                   size_t nrows, const uint8_t *mask)
{
    enum gy_status rc;
    if (f->broken)
        return gy_error_set(GY_E_INVALID, "features: fitter used after a failure or finish");
    for (size_t i = 0; i < f->ncols; i++) {
        const struct fit_col *fc = &f->cols[i];
        rc = check_vec(&cols[fc->schema_idx], &f->schema->cols[fc->schema_idx], nrows);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < f->ncols; i++) {
        struct fit_col *fc = &f->cols[i];
        rc = col_add(fc, &cols[fc->schema_idx], nrows, mask);
        if (rc) {
            f->broken = 1;
            return rc;
        }
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ finishing */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void num_finish(struct gy_fnum *ch, struct num_acc *a)
{
    uint64_t ntot;
    double mean = a->mean, m2 = a->m2;
    ch->count = a->n;
    ch->missing = a->missing;
    if (ch->impute == GY_IMPUTE_MEAN) {
        ch->fill = a->n ? a->mean : 0;
    } else if (ch->impute == GY_IMPUTE_MEDIAN) {
        ch->fill = 0;
        if (a->nvals) {
            size_t m = a->nvals / 2;
            qsort(a->vals, a->nvals, sizeof(double), cmp_double);
            if (a->nvals % 2)
                ch->fill = a->vals[m];
            else {
                ch->fill = (a->vals[m - 1] + a->vals[m]) / 2;
                if (!isfinite(ch->fill))
                    ch->fill = a->vals[m - 1] / 2 + a->vals[m] / 2;
            }
        }
    }
    if (!ch->standardize) {
        ch->mean = 0;
        ch->std = 1;
        return;
    }
    ntot = a->n;
    if (ch->impute != GY_IMPUTE_NONE && a->missing) {
        /* The imputed rows join the statistics as a group of equal values (Chan et al.). */
        double fill = ch->fill, delta;
        if (fill < ch->lo)
            fill = ch->lo;
        if (fill > ch->hi)
            fill = ch->hi;
        ntot = a->n + a->missing;
        delta = fill - mean;
        mean += delta * (double)a->missing / (double)ntot;
        m2 += delta * delta * (double)a->n * (double)a->missing / (double)ntot;
    }
    ch->mean = ntot ? mean : 0;
    ch->std = ntot ? sqrt(m2 / (double)ntot) : 1;
    if (!(ch->std > 0) || !isfinite(ch->std))
        ch->std = 1;
    if (!isfinite(ch->mean))
        ch->mean = 0;
}

struct sort_ctx_entry {
    const char *p;
    uint32_t len;
    uint64_t count;
};

static int cmp_cat(const void *a, const void *b)
{
    const struct sort_ctx_entry *x = a, *y = b;
    int c;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    c = memcmp(x->p, y->p, GY_MIN(x->len, y->len));
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

static enum gy_status cat_finish(struct gy_fcat *fc, struct cat_acc *a)
{
    struct sort_ctx_entry *e = NULL;
    size_t n = 0, keep;
    enum gy_status rc = GY_E_NOMEM;

    fc->missing = a->missing;
    e = gy_malloc((a->used ? a->used : 1) * sizeof(*e));
    if (!e)
        goto out;
    for (size_t i = 0; i < a->size; i++) {
        if (!a->tab[i].used)
            continue;
        e[n].p = a->bytes + a->tab[i].off;
        e[n].len = a->tab[i].len;
        e[n].count = a->tab[i].count;
        n++;
    }
    qsort(e, n, sizeof(*e), cmp_cat);
    fc->n_top = (uint32_t)GY_MIN((size_t)fc->top, n);
    fc->complete = n - fc->n_top <= GY_FEATURES_MAX_VOCAB;
    keep = fc->complete ? n : fc->n_top;
    fc->other_count = a->unusable;
    for (size_t i = fc->n_top; i < n; i++)
        fc->other_count += e[i].count;
    fc->values = gy_calloc(keep ? keep : 1, sizeof(char *));
    fc->lens = gy_calloc(keep ? keep : 1, sizeof(uint32_t));
    fc->counts = gy_calloc(fc->n_top ? fc->n_top : 1, sizeof(uint64_t));
    if (!fc->values || !fc->lens || !fc->counts)
        goto out;
    for (size_t i = 0; i < keep; i++) {
        fc->values[i] = gy_strndup(e[i].p, e[i].len);
        if (!fc->values[i])
            goto out;
        fc->lens[i] = e[i].len;
        fc->n_vocab = (uint32_t)(i + 1);
        if (i < fc->n_top)
            fc->counts[i] = e[i].count;
    }
    rc = gy__features_cat_index(fc);
out:
    gy_free(e);
    return rc == GY_OK ? rc : gy_error_set(rc, "out of memory");
}

enum gy_status gy_features_fit_finish(struct gy_features_fitter *f, struct gy_features **out)
{
    struct gy_features *r = NULL;
    enum gy_status rc = GY_OK;

    *out = NULL;
    if (f->broken)
        return gy_error_set(GY_E_INVALID, "features: fitter used after a failure or finish");
    f->broken = 1;
    r = gy_calloc(1, sizeof(*r));
    if (!r || !(r->inputs = gy_calloc(f->ncols, sizeof(*r->inputs)))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    r->mode = f->mode;
    for (size_t i = 0; i < f->ncols; i++) {
        struct fit_col *fc = &f->cols[i];
        struct gy_finput *in = &r->inputs[i];
        *in = fc->in; /* moves the name */
        memset(&fc->in, 0, sizeof(fc->in));
        r->n_inputs++;
        if (in->type == GY_TYPE_STRING) {
            rc = cat_finish(&in->cat, &fc->cat);
            if (rc)
                goto out;
        } else {
            for (int k = 0; k < in->n_num; k++)
                num_finish(&in->num[k], &fc->acc[k]);
        }
    }
    rc = gy__features_layout(r);
    if (rc)
        goto out;
    *out = r;
    r = NULL;
out:
    gy_features_free(r);
    return rc;
}

enum gy_status gy_features_fit(const struct gy_feature_spec *spec, const struct gy_schema *schema,
                               const char *target, enum gy_features_mode mode,
                               const struct gy_colvec *cols, size_t nrows, const uint8_t *mask,
                               struct gy_features **out)
{
    struct gy_features_fitter *f = NULL;
    enum gy_status rc;
    *out = NULL;
    rc = gy_features_fit_begin(spec, schema, target, mode, &f);
    if (rc == GY_OK)
        rc = gy_features_fit_add(f, cols, nrows, mask);
    if (rc == GY_OK)
        rc = gy_features_fit_finish(f, out);
    gy_features_fitter_free(f);
    return rc;
}
