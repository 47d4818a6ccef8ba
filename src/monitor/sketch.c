/* SPDX-License-Identifier: MIT */
/*
 * sketch.c - a deterministic compacting quantile sketch for numeric windows past the
 * exact-sort limit. Level h holds items of weight 2^h; when a level reaches k items it is
 * sorted and every other item (alternating which, per level) moves up one level with twice
 * the weight (Manku, Rajagopalan & Lindsay 1998; KLL 2016 without the randomness). One
 * compaction at level h moves the estimated count of items <= x by at most 2^h for every x,
 * so the sketch keeps the exact sum of those amounts as its rank-error bound: with n items
 * it is at most (n/k) * (log2(n/k) + 1) (each level adds about n/k), 0.38% of n for
 * n = 1e8 and k = 4096; in practice the alternating offsets cancel most of it. Sketches with the
 * same k merge level by level (the bounds add).
 */
#include "monitor/monitor_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEVELS 56

struct gy_monitor_sketch {
    uint32_t k;
    int nlevels;
    double *lvl[MAX_LEVELS]; /* each of capacity 3k */
    uint32_t len[MAX_LEVELS];
    uint8_t flip[MAX_LEVELS];
    double *scratch; /* 3k doubles for sorting */
    uint64_t n, err;
    double min, max;
};

enum gy_status gy_monitor_sketch_create(uint32_t k, struct gy_monitor_sketch **out)
{
    struct gy_monitor_sketch *s;
    *out = NULL;
    if (k < 16 || k > (1u << 20) || (k & 1))
        return gy_error_set(GY_E_INVALID, "sketch size k must be even, from 16 to %u: %u", 1u << 20,
                            k);
    s = gy_calloc(1, sizeof(*s));
    if (!s)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    s->k = k;
    s->min = INFINITY;
    s->max = -INFINITY;
    *out = s;
    return GY_OK;
}

void gy_monitor_sketch_free(struct gy_monitor_sketch *s)
{
    if (!s)
        return;
    for (int h = 0; h < MAX_LEVELS; h++)
        gy_free(s->lvl[h]);
    gy_free(s->scratch);
    gy_free(s);
}

static enum gy_status ensure_level(struct gy_monitor_sketch *s, int h)
{
    if (h >= MAX_LEVELS)
        return gy_error_set(GY_E_TOO_LARGE, "sketch: too many levels");
    if (!s->lvl[h]) {
        s->lvl[h] = gy_malloc((size_t)s->k * 3 * sizeof(double));
        if (!s->lvl[h])
            return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if (h + 1 > s->nlevels)
        s->nlevels = h + 1;
    return GY_OK;
}

/* Sorts level h and moves every other item of its largest even prefix up one level. */
static enum gy_status compact(struct gy_monitor_sketch *s, int h)
{
    enum gy_status rc;
    uint32_t L = s->len[h], even = L & ~1u, off = s->flip[h];
    double *src = s->lvl[h], *dst;

    if (!s->scratch) {
        s->scratch = gy_malloc((size_t)s->k * 3 * sizeof(double));
        if (!s->scratch)
            return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if ((rc = ensure_level(s, h + 1)))
        return rc;
    if ((rc = gy_monitor_sort(src, L, s->scratch)))
        return rc;
    dst = s->lvl[h + 1];
    for (uint32_t i = off; i < even; i += 2)
        dst[s->len[h + 1]++] = src[i];
    /* An odd item out (the largest) stays at this level. */
    if (L & 1)
        src[0] = src[L - 1];
    s->len[h] = L & 1;
    s->flip[h] ^= 1;
    s->err += (uint64_t)1 << h;
    if (s->len[h + 1] >= s->k)
        return compact(s, h + 1);
    return GY_OK;
}

enum gy_status gy_monitor_sketch_add(struct gy_monitor_sketch *s, const double *v, size_t n)
{
    enum gy_status rc;
    if (n && (rc = ensure_level(s, 0)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (x < s->min)
            s->min = x;
        if (x > s->max)
            s->max = x;
        s->lvl[0][s->len[0]++] = x;
        s->n++;
        if (s->len[0] >= s->k && (rc = compact(s, 0)))
            return rc;
    }
    return GY_OK;
}

enum gy_status gy_monitor_sketch_merge(struct gy_monitor_sketch *dst,
                                       const struct gy_monitor_sketch *src)
{
    enum gy_status rc;
    if (dst->k != src->k)
        return gy_error_set(GY_E_INVALID, "sketches of different sizes (%u, %u) do not merge",
                            dst->k, src->k);
    for (int h = 0; h < src->nlevels; h++) {
        if (!src->len[h])
            continue;
        if ((rc = ensure_level(dst, h)))
            return rc;
        memcpy(dst->lvl[h] + dst->len[h], src->lvl[h], src->len[h] * sizeof(double));
        dst->len[h] += src->len[h];
        if (dst->len[h] >= dst->k && (rc = compact(dst, h)))
            return rc;
    }
    dst->n += src->n;
    dst->err += src->err;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return GY_OK;
}

uint64_t gy_monitor_sketch_count(const struct gy_monitor_sketch *s)
{
    return s->n;
}

uint64_t gy_monitor_sketch_error(const struct gy_monitor_sketch *s)
{
    return s->err;
}

double gy__monitor_sketch_min(const struct gy_monitor_sketch *s)
{
    return s->min;
}

double gy__monitor_sketch_max(const struct gy_monitor_sketch *s)
{
    return s->max;
}

uint64_t gy_monitor_sketch_rank(const struct gy_monitor_sketch *s, double x)
{
    uint64_t r = 0;
    for (int h = 0; h < s->nlevels; h++) {
        uint64_t c = 0;
        for (uint32_t i = 0; i < s->len[h]; i++)
            c += s->lvl[h][i] <= x;
        r += c << h;
    }
    return r;
}

struct witem {
    double v;
    uint64_t w;
};

static int cmp_witem(const void *a, const void *b)
{
    double x = ((const struct witem *)a)->v, y = ((const struct witem *)b)->v;
    return (x > y) - (x < y);
}

enum gy_status gy__monitor_sketch_view(const struct gy_monitor_sketch *s, double **vo,
                                       uint64_t **wo, struct gy__monitor_view *out)
{
    size_t total = 0, k = 0;
    struct witem *it;
    double *v;
    uint64_t *w;

    *vo = NULL;
    *wo = NULL;
    for (int h = 0; h < s->nlevels; h++)
        total += s->len[h];
    it = gy_malloc(GY_MAX(total, 1) * sizeof(*it));
    v = gy_malloc(GY_MAX(total, 1) * sizeof(double));
    w = gy_malloc(GY_MAX(total, 1) * sizeof(uint64_t));
    if (!it || !v || !w) {
        gy_free(it);
        gy_free(v);
        gy_free(w);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    for (int h = 0; h < s->nlevels; h++)
        for (uint32_t i = 0; i < s->len[h]; i++) {
            it[k].v = s->lvl[h][i] == 0 ? 0.0 : s->lvl[h][i];
            it[k++].w = (uint64_t)1 << h;
        }
    qsort(it, total, sizeof(*it), cmp_witem);
    for (size_t i = 0; i < total; i++) {
        v[i] = it[i].v;
        w[i] = it[i].w;
    }
    gy_free(it);
    *vo = v;
    *wo = w;
    out->v = v;
    out->w = w;
    out->len = total;
    out->total = s->n;
    out->rank_error = s->err;
    return GY_OK;
}
