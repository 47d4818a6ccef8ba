/* SPDX-License-Identifier: MIT */
/*
 * acc.c - per-feature accumulators: the values of one feature in one window (or in the
 * reference), fed incrementally. Numeric values are kept exactly, in arrival order, up to the
 * exact limit and then go to a quantile sketch (memory stays bounded for unbounded streams);
 * an accumulator can also count its values into bins frozen from a reference (the deciles plus
 * out-of-range bins), which keeps PSI exact whatever the window size. Categorical values are
 * counted per distinct value in an open-addressing table up to a cap; binary values as two
 * counters. Missing values (nulls, NaN, +-inf) are counted in every kind. Accumulators of the
 * same kind merge, so sliding windows can be built from tumbling ones.
 */
#include "monitor/monitor_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *gy_monitor_kind_name(enum gy_monitor_kind k)
{
    switch (k) {
    case GY_MONITOR_NUMERIC:
        return "numeric";
    case GY_MONITOR_CATEGORICAL:
        return "categorical";
    case GY_MONITOR_BINARY:
        return "binary";
    }
    return "unknown";
}

enum gy_status gy_monitor_acc_create(enum gy_monitor_kind kind,
                                     const struct gy_monitor_acc_opts *opts,
                                     struct gy_monitor_acc **out)
{
    struct gy_monitor_acc *a;
    *out = NULL;
    if (kind != GY_MONITOR_NUMERIC && kind != GY_MONITOR_CATEGORICAL && kind != GY_MONITOR_BINARY)
        return gy_error_set(GY_E_INVALID, "unknown feature kind %d", (int)kind);
    a = gy_calloc(1, sizeof(*a));
    if (!a)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    a->kind = kind;
    if (opts)
        a->opts = *opts;
    if (a->opts.exact_limit == 0)
        a->opts.exact_limit = GY_MONITOR_DEFAULT_EXACT_LIMIT;
    if (a->opts.exact_limit > GY_MONITOR_MAX_EXACT_LIMIT)
        a->opts.exact_limit = GY_MONITOR_MAX_EXACT_LIMIT;
    if (a->opts.sketch_k == 0)
        a->opts.sketch_k = GY_MONITOR_DEFAULT_SKETCH_K;
    if (a->opts.max_categories == 0)
        a->opts.max_categories = GY_MONITOR_DEFAULT_MAX_CATEGORIES;
    if (a->opts.sketch_k < 16 || a->opts.sketch_k > (1u << 20) || (a->opts.sketch_k & 1)) {
        gy_free(a);
        return gy_error_set(GY_E_INVALID, "sketch size k must be even, from 16 to %u", 1u << 20);
    }
    a->vmin = INFINITY;
    a->vmax = -INFINITY;
    *out = a;
    return GY_OK;
}

static void cats_clear(struct gy_monitor_acc *a)
{
    for (size_t i = 0; i < a->catcap; i++)
        gy_free(a->cats[i].name);
    gy_free(a->cats);
    a->cats = NULL;
    a->catcap = 0;
    a->ncats = 0;
}

void gy_monitor_acc_free(struct gy_monitor_acc *a)
{
    if (!a)
        return;
    gy_free(a->vals);
    gy_monitor_sketch_free(a->sk);
    cats_clear(a);
    gy_free(a);
}

void gy_monitor_acc_reset(struct gy_monitor_acc *a)
{
    a->rows = a->missing = 0;
    a->nvals = 0;
    a->sorted = 0;
    a->have_moments = 0;
    gy_monitor_sketch_free(a->sk);
    a->sk = NULL;
    a->vmin = INFINITY;
    a->vmax = -INFINITY;
    a->nfinite = 0;
    a->mean = a->m2 = 0;
    memset(a->bins, 0, sizeof(a->bins));
    cats_clear(a);
    a->cat_overflow = 0;
    a->ntrue = a->nfalse = 0;
}

enum gy_monitor_kind gy_monitor_acc_kind(const struct gy_monitor_acc *a)
{
    return a->kind;
}

uint64_t gy_monitor_acc_rows(const struct gy_monitor_acc *a)
{
    return a->rows;
}

/* ------------------------------------------------------------------ numeric */

/* The 11 cut points of the frozen bins: bin = number of cuts <= x, so 0 is below the
 * reference min, 1..10 the deciles and 11 above the reference max. */
static void bin_cuts(const struct gy_monitor_acc *a, double cuts[GY_MONITOR_PSI_DECILES + 2])
{
    cuts[0] = a->bin_lo;
    memcpy(cuts + 1, a->cuts, sizeof(a->cuts));
    cuts[GY_MONITOR_PSI_DECILES + 1] = nextafter(a->bin_hi, INFINITY);
}

static void count_bins(struct gy_monitor_acc *a, const double *v, size_t n)
{
    double cuts[GY_MONITOR_PSI_DECILES + 2];
    bin_cuts(a, cuts);
    gy_monitor_bin_count(cuts, GY_MONITOR_PSI_DECILES + 2, v, n, a->bins);
}

/* Welford's running mean and M2 over v[0..n). */
static void welford(struct gy_monitor_acc *a, const double *v, size_t n, uint64_t before)
{
    uint64_t c = before;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - a->mean;
        c++;
        a->mean += d / (double)c;
        a->m2 += d * (v[i] - a->mean);
    }
}

/* Moves the exact values into a new sketch. */
static enum gy_status to_sketch(struct gy_monitor_acc *a)
{
    enum gy_status rc;
    if ((rc = gy_monitor_sketch_create(a->opts.sketch_k, &a->sk)))
        return rc;
    a->mean = a->m2 = 0;
    welford(a, a->vals, a->nvals, 0);
    rc = gy_monitor_sketch_add(a->sk, a->vals, a->nvals);
    gy_free(a->vals);
    a->vals = NULL;
    a->nvals = a->cap = 0;
    a->sorted = 0;
    return rc;
}

/* Adds n finite values. */
static enum gy_status add_finite(struct gy_monitor_acc *a, const double *v, size_t n)
{
    enum gy_status rc;
    if (n == 0)
        return GY_OK;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < a->vmin)
            a->vmin = v[i];
        if (v[i] > a->vmax)
            a->vmax = v[i];
    }
    if (a->has_bins)
        count_bins(a, v, n);
    if (!a->sk && a->nvals + n > a->opts.exact_limit) {
        if ((rc = to_sketch(a)))
            return rc;
    }
    if (a->sk) {
        welford(a, v, n, a->nfinite);
        a->nfinite += n;
        return gy_monitor_sketch_add(a->sk, v, n);
    }
    if (a->nvals + n > a->cap) {
        size_t nc = a->cap ? a->cap : 1024;
        double *p;
        while (nc < a->nvals + n)
            nc *= 2;
        if (nc > a->opts.exact_limit)
            nc = GY_MAX(a->opts.exact_limit, a->nvals + n);
        p = gy_realloc(a->vals, nc * sizeof(double));
        if (!p)
            return gy_error_set(GY_E_NOMEM, "out of memory for %zu values", nc);
        a->vals = p;
        a->cap = nc;
    }
    memcpy(a->vals + a->nvals, v, n * sizeof(double));
    a->nvals += n;
    a->nfinite += n;
    a->sorted = 0;
    a->have_moments = 0;
    return GY_OK;
}

enum gy_status gy_monitor_acc_add_f64(struct gy_monitor_acc *a, const double *v, size_t n)
{
    double buf[1024];
    size_t k = 0;
    enum gy_status rc;
    if (a->kind != GY_MONITOR_NUMERIC)
        return gy_error_set(GY_E_INVALID, "numbers added to a %s feature",
                            gy_monitor_kind_name(a->kind));
    a->rows += n;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            a->missing++;
            continue;
        }
        buf[k++] = v[i];
        if (k == GY_ARRAY_LEN(buf)) {
            if ((rc = add_finite(a, buf, k)))
                return rc;
            k = 0;
        }
    }
    return add_finite(a, buf, k);
}

enum gy_status gy_monitor_acc_add_missing(struct gy_monitor_acc *a, uint64_t n)
{
    a->rows += n;
    a->missing += n;
    return GY_OK;
}

enum gy_status gy__monitor_acc_finish(struct gy_monitor_acc *a)
{
    enum gy_status rc;
    if (a->sk || a->sorted)
        return GY_OK;
    if (!a->have_moments) {
        gy_monitor_mean_std(a->vals, a->nvals, &a->ex_mean, &a->ex_std);
        a->have_moments = 1;
    }
    if ((rc = gy_monitor_sort(a->vals, a->nvals, NULL)))
        return rc;
    a->sorted = 1;
    return GY_OK;
}

enum gy_status gy_monitor_acc_freeze_bins(struct gy_monitor_acc *a)
{
    if (a->kind != GY_MONITOR_NUMERIC)
        return gy_error_set(GY_E_INVALID, "bins are for numeric features");
    if (a->nfinite == 0)
        return gy_error_set(GY_NOT_FOUND, "no values to take bins from");
    if (a->sk) {
        double *v = NULL;
        uint64_t *w = NULL;
        struct gy__monitor_view view;
        enum gy_status rc = gy__monitor_sketch_view(a->sk, &v, &w, &view);
        if (rc)
            return rc;
        for (int i = 0; i < GY_MONITOR_PSI_DECILES; i++)
            a->cuts[i] = gy__monitor_view_quantile(&view, (double)(i + 1) * 0.1);
        memset(a->bins, 0, sizeof(a->bins));
        /* The reference's own bin counts, estimated from the sketch's ranks. */
        {
            uint64_t prev = 0;
            for (int b = 0; b < GY_MONITOR_PSI_DECILES; b++) {
                uint64_t r = gy__monitor_view_rank(&view, nextafter(a->cuts[b], -INFINITY));
                a->bins[1 + b] = r - GY_MIN(prev, r);
                prev = GY_MAX(prev, r);
            }
            a->bins[GY_MONITOR_PSI_DECILES + 1] = a->nfinite - GY_MIN(prev, a->nfinite);
        }
        gy_free(v);
        gy_free(w);
    } else {
        enum gy_status rc = gy__monitor_acc_finish(a);
        if (rc)
            return rc;
        for (int i = 0; i < GY_MONITOR_PSI_DECILES; i++)
            a->cuts[i] = gy_monitor_quantile_sorted(a->vals, a->nvals, (double)(i + 1) * 0.1);
    }
    a->bin_lo = a->vmin;
    a->bin_hi = a->vmax;
    if (!a->sk) {
        memset(a->bins, 0, sizeof(a->bins));
        a->has_bins = 1;
        count_bins(a, a->vals, a->nvals);
    } else {
        a->has_bins = 1;
    }
    return GY_OK;
}

enum gy_status gy_monitor_acc_use_bins(struct gy_monitor_acc *cur, const struct gy_monitor_acc *ref)
{
    if (cur->kind != GY_MONITOR_NUMERIC || ref->kind != GY_MONITOR_NUMERIC || !ref->has_bins)
        return gy_error_set(GY_E_INVALID, "the reference has no frozen bins");
    memcpy(cur->cuts, ref->cuts, sizeof(cur->cuts));
    cur->bin_lo = ref->bin_lo;
    cur->bin_hi = ref->bin_hi;
    memset(cur->bins, 0, sizeof(cur->bins));
    cur->has_bins = 1;
    if (cur->sk) {
        /* Values already sketched cannot be counted exactly any more. */
        cur->has_bins = 0;
        return GY_OK;
    }
    count_bins(cur, cur->vals, cur->nvals);
    return GY_OK;
}

/* ------------------------------------------------------------------ categorical */

static struct gy__monitor_cat *cat_find(const struct gy_monitor_acc *a, const char *s, size_t len,
                                        uint64_t h)
{
    size_t mask, i;
    if (!a->catcap)
        return NULL;
    mask = a->catcap - 1;
    for (i = h & mask;; i = (i + 1) & mask) {
        struct gy__monitor_cat *c = &a->cats[i];
        if (!c->name)
            return c;
        if (c->hash == h && c->len == len && memcmp(c->name, s, len) == 0)
            return c;
    }
}

static enum gy_status cats_grow(struct gy_monitor_acc *a)
{
    size_t ncap = a->catcap ? a->catcap * 2 : 64;
    struct gy__monitor_cat *old = a->cats, *n = gy_calloc(ncap, sizeof(*n));
    size_t oldcap = a->catcap;
    if (!n)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    a->cats = n;
    a->catcap = ncap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].name)
            *cat_find(a, old[i].name, old[i].len, old[i].hash) = old[i];
    gy_free(old);
    return GY_OK;
}

/* Adds @p count occurrences of category s. */
static enum gy_status cat_add(struct gy_monitor_acc *a, const char *s, size_t len, uint64_t count)
{
    uint64_t h;
    struct gy__monitor_cat *c;
    enum gy_status rc;
    if (len > GY_MONITOR_MAX_CATEGORY_LEN) {
        /* Cut at a UTF-8 character boundary. */
        len = GY_MONITOR_MAX_CATEGORY_LEN;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    h = gy__monitor_cat_hash(s, len);
    c = cat_find(a, s, len, h);
    if (c && c->name) {
        c->count += count;
        return GY_OK;
    }
    if (a->ncats >= a->opts.max_categories) {
        a->cat_overflow += count;
        return GY_OK;
    }
    if ((a->ncats + 1) * 2 > a->catcap) {
        if ((rc = cats_grow(a)))
            return rc;
        c = cat_find(a, s, len, h);
    }
    c->name = gy_strndup(s, len);
    if (!c->name)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    c->len = len;
    c->hash = h;
    c->count = count;
    a->ncats++;
    return GY_OK;
}

enum gy_status gy_monitor_acc_add_str(struct gy_monitor_acc *a, const char *s, size_t len)
{
    if (a->kind != GY_MONITOR_CATEGORICAL)
        return gy_error_set(GY_E_INVALID, "text added to a %s feature",
                            gy_monitor_kind_name(a->kind));
    a->rows++;
    return cat_add(a, s, len, 1);
}

enum gy_status gy_monitor_acc_add_bool(struct gy_monitor_acc *a, int v)
{
    if (a->kind != GY_MONITOR_BINARY)
        return gy_error_set(GY_E_INVALID, "a boolean added to a %s feature",
                            gy_monitor_kind_name(a->kind));
    a->rows++;
    if (v)
        a->ntrue++;
    else
        a->nfalse++;
    return GY_OK;
}

const struct gy__monitor_cat *gy__monitor_cat_lookup(const struct gy_monitor_acc *a, const char *s,
                                                     size_t len, uint64_t h)
{
    const struct gy__monitor_cat *c = cat_find(a, s, len, h);
    return c && c->name ? c : NULL;
}

/* ------------------------------------------------------------------ lake columns */

enum gy_status gy_monitor_acc_add_colvec(struct gy_monitor_acc *a, const struct gy_colvec *c)
{
    enum gy_status rc = GY_OK;
    double buf[1024];
    size_t k = 0;

    switch (a->kind) {
    case GY_MONITOR_NUMERIC:
        if (c->type == GY_TYPE_STRING)
            return gy_error_set(GY_E_SCHEMA, "a string column cannot feed a numeric feature");
        for (size_t i = 0; i < c->n; i++) {
            double x;
            if (!c->valid[i]) {
                x = NAN;
            } else if (c->type == GY_TYPE_FLOAT64) {
                x = c->f64[i];
            } else if (c->type == GY_TYPE_BOOL) {
                x = c->b[i] ? 1.0 : 0.0;
            } else {
                x = (double)c->i64[i];
            }
            buf[k++] = x;
            if (k == GY_ARRAY_LEN(buf)) {
                if ((rc = gy_monitor_acc_add_f64(a, buf, k)))
                    return rc;
                k = 0;
            }
        }
        return gy_monitor_acc_add_f64(a, buf, k);
    case GY_MONITOR_CATEGORICAL:
        for (size_t i = 0; i < c->n && rc == GY_OK; i++) {
            char num[64];
            if (!c->valid[i]) {
                rc = gy_monitor_acc_add_missing(a, 1);
                continue;
            }
            switch (c->type) {
            case GY_TYPE_STRING:
                rc = gy_monitor_acc_add_str(a, c->data + c->off[i], c->off[i + 1] - c->off[i]);
                break;
            case GY_TYPE_BOOL:
                rc = gy_monitor_acc_add_str(a, c->b[i] ? "true" : "false", c->b[i] ? 4 : 5);
                break;
            case GY_TYPE_FLOAT64:
                if (!isfinite(c->f64[i])) {
                    rc = gy_monitor_acc_add_missing(a, 1);
                    break;
                }
                snprintf(num, sizeof num, "%.17g", c->f64[i]);
                rc = gy_monitor_acc_add_str(a, num, strlen(num));
                break;
            default:
                snprintf(num, sizeof num, "%lld", (long long)c->i64[i]);
                rc = gy_monitor_acc_add_str(a, num, strlen(num));
                break;
            }
        }
        return rc;
    case GY_MONITOR_BINARY:
        if (c->type != GY_TYPE_BOOL && c->type != GY_TYPE_INT64)
            return gy_error_set(GY_E_SCHEMA, "a %s column cannot feed a binary feature",
                                gy_type_name(c->type));
        for (size_t i = 0; i < c->n && rc == GY_OK; i++) {
            if (!c->valid[i]) {
                rc = gy_monitor_acc_add_missing(a, 1);
            } else if (c->type == GY_TYPE_BOOL) {
                rc = gy_monitor_acc_add_bool(a, c->b[i]);
            } else if (c->i64[i] == 0 || c->i64[i] == 1) {
                rc = gy_monitor_acc_add_bool(a, (int)c->i64[i]);
            } else {
                return gy_error_set(GY_E_SCHEMA, "binary feature with the value %lld",
                                    (long long)c->i64[i]);
            }
        }
        return rc;
    }
    return gy_error_set(GY_E_INVALID, "unknown feature kind");
}

/* ------------------------------------------------------------------ merge */

enum gy_status gy_monitor_acc_merge(struct gy_monitor_acc *dst, const struct gy_monitor_acc *src)
{
    enum gy_status rc;
    if (dst->kind != src->kind)
        return gy_error_set(GY_E_INVALID, "cannot merge a %s feature into a %s one",
                            gy_monitor_kind_name(src->kind), gy_monitor_kind_name(dst->kind));
    dst->rows += src->rows;
    dst->missing += src->missing;
    switch (dst->kind) {
    case GY_MONITOR_NUMERIC: {
        int same_bins = dst->has_bins && src->has_bins &&
                        memcmp(dst->cuts, src->cuts, sizeof(dst->cuts)) == 0 &&
                        dst->bin_lo == src->bin_lo && dst->bin_hi == src->bin_hi;
        if (src->sk) {
            /* dst becomes (or stays) sketched; the Welford states combine (Chan et al.). */
            uint64_t na, nb = src->nfinite;
            double delta;
            if (!dst->sk && (rc = to_sketch(dst)))
                return rc;
            na = dst->nfinite;
            if ((rc = gy_monitor_sketch_merge(dst->sk, src->sk)))
                return rc;
            delta = src->mean - dst->mean;
            if (na + nb > 0) {
                dst->mean += delta * (double)nb / (double)(na + nb);
                dst->m2 += src->m2 + delta * delta * (double)na * (double)nb / (double)(na + nb);
            }
            dst->nfinite += nb;
            if (src->vmin < dst->vmin)
                dst->vmin = src->vmin;
            if (src->vmax > dst->vmax)
                dst->vmax = src->vmax;
            if (dst->has_bins && !same_bins)
                dst->has_bins = 0;
            else if (same_bins)
                for (size_t b = 0; b < GY_ARRAY_LEN(dst->bins); b++)
                    dst->bins[b] += src->bins[b];
            return GY_OK;
        }
        if (same_bins) {
            /* add_finite would count src's values again: add the counts instead. */
            uint64_t saved[GY_ARRAY_LEN(dst->bins)];
            memcpy(saved, dst->bins, sizeof(saved));
            dst->has_bins = 0;
            rc = add_finite(dst, src->vals, src->nvals);
            dst->has_bins = 1;
            for (size_t b = 0; b < GY_ARRAY_LEN(dst->bins); b++)
                dst->bins[b] = saved[b] + src->bins[b];
            return rc;
        }
        return add_finite(dst, src->vals, src->nvals);
    }
    case GY_MONITOR_CATEGORICAL:
        for (size_t i = 0; i < src->catcap; i++)
            if (src->cats[i].name &&
                (rc = cat_add(dst, src->cats[i].name, src->cats[i].len, src->cats[i].count)))
                return rc;
        dst->cat_overflow += src->cat_overflow;
        return GY_OK;
    case GY_MONITOR_BINARY:
        dst->ntrue += src->ntrue;
        dst->nfalse += src->nfalse;
        return GY_OK;
    }
    return GY_OK;
}
