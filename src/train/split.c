/* SPDX-License-Identifier: MIT */
/*
 * split.c - train/validation/test splits: a seeded shuffle, a shuffle within each label
 * value (stratified), or a cut in time order that keeps equal timestamps together. The
 * shuffle uses splitmix64 with integer-only bounded draws, so a seed gives the same split on
 * every machine and every build. Each part's indices come back in ascending order.
 */
#include "train/train_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gy_train_split_free(struct gy_split *s)
{
    if (!s)
        return;
    gy_free(s->train);
    gy_free(s->valid);
    gy_free(s->test);
    memset(s, 0, sizeof(*s));
}

/* round(f * n) with at least one row for a positive fraction. */
static size_t part_size(double f, size_t n)
{
    size_t k;
    if (f <= 0)
        return 0;
    k = (size_t)floor(f * (double)n + 0.5);
    return k ? k : 1;
}

static void shuffle(size_t *a, size_t n, struct gy__rng *r)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gy__rng_below(r, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Allocates the three parts; the caller fills them. */
static enum gy_status alloc_parts(struct gy_split *s, size_t n_train, size_t n_valid, size_t n_test)
{
    s->train = gy_malloc((n_train ? n_train : 1) * sizeof(size_t));
    s->valid = gy_malloc((n_valid ? n_valid : 1) * sizeof(size_t));
    s->test = gy_malloc((n_test ? n_test : 1) * sizeof(size_t));
    if (!s->train || !s->valid || !s->test)
        return gy_error_set(GY_E_NOMEM, "out of memory for a split");
    s->n_train = n_train;
    s->n_valid = n_valid;
    s->n_test = n_test;
    return GY_OK;
}

static void sort_parts(struct gy_split *s)
{
    qsort(s->train, s->n_train, sizeof(size_t), cmp_size);
    qsort(s->valid, s->n_valid, sizeof(size_t), cmp_size);
    qsort(s->test, s->n_test, sizeof(size_t), cmp_size);
}

static enum gy_status split_random(const struct gy_split_config *cfg, size_t n, size_t nv,
                                   size_t nt, struct gy_split *out)
{
    struct gy__rng r;
    size_t *perm = gy_malloc(n * sizeof(size_t));
    enum gy_status st;

    if (!perm)
        return gy_error_set(GY_E_NOMEM, "out of memory for a split");
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    gy__rng_seed(&r, cfg->seed);
    shuffle(perm, n, &r);
    st = alloc_parts(out, n - nv - nt, nv, nt);
    if (st == GY_OK) {
        memcpy(out->valid, perm, nv * sizeof(size_t));
        memcpy(out->test, perm + nv, nt * sizeof(size_t));
        memcpy(out->train, perm + nv + nt, (n - nv - nt) * sizeof(size_t));
        sort_parts(out);
    }
    gy_free(perm);
    return st;
}

/* ------------------------------------------------------------------ stratified */

struct label_row {
    float label;
    size_t row;
};

static int cmp_label_row(const void *a, const void *b)
{
    const struct label_row *x = a, *y = b;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

struct remainder {
    double frac;
    size_t group;
};

static int cmp_remainder(const void *a, const void *b)
{
    const struct remainder *x = a, *y = b;
    if (x->frac != y->frac)
        return x->frac > y->frac ? -1 : 1;
    return (x->group > y->group) - (x->group < y->group);
}

/*
 * Shares @p total rows among groups in proportion to their sizes: floors first, then one
 * more row each to the groups with the largest remainders (ties to the lower group), never
 * more than a group has left in @p room.
 */
static void largest_remainder(const size_t *size, const size_t *room, size_t ngroups, size_t n,
                              size_t total, size_t *share, struct remainder *rem)
{
    size_t given = 0;
    for (size_t g = 0; g < ngroups; g++) {
        double exact = (double)total * (double)size[g] / (double)n;
        share[g] = (size_t)floor(exact);
        if (share[g] > room[g])
            share[g] = room[g];
        given += share[g];
        rem[g].frac = exact - (double)share[g];
        rem[g].group = g;
    }
    qsort(rem, ngroups, sizeof(*rem), cmp_remainder);
    while (given < total) {
        size_t before = given;
        for (size_t i = 0; i < ngroups && given < total; i++) {
            size_t g = rem[i].group;
            if (share[g] < room[g]) {
                share[g]++;
                given++;
            }
        }
        if (given == before)
            break; /* cannot happen: total <= n */
    }
}

static enum gy_status split_stratified(const struct gy_split_config *cfg, size_t n,
                                       const float *labels, size_t nv, size_t nt,
                                       struct gy_split *out)
{
    struct label_row *lr = NULL;
    size_t *start = NULL, *size = NULL, *room = NULL, *sv = NULL, *st_ = NULL, *rows = NULL;
    struct remainder *rem = NULL;
    size_t ngroups = 0, iv = 0, it = 0, itr = 0;
    struct gy__rng r;
    enum gy_status st = GY_OK;

    if (!labels)
        return gy_error_set(GY_E_INVALID, "a stratified split needs the labels");
    for (size_t i = 0; i < n; i++)
        if (isnan(labels[i]))
            return gy_error_set(GY_E_INVALID, "stratified split: label of row %zu is missing", i);
    lr = gy_malloc(n * sizeof(*lr));
    rows = gy_malloc(n * sizeof(size_t));
    if (!lr || !rows) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for a split");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        lr[i].label = labels[i];
        lr[i].row = i;
    }
    qsort(lr, n, sizeof(*lr), cmp_label_row);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || lr[i].label != lr[i - 1].label)
            ngroups++;
    start = gy_calloc(ngroups, sizeof(size_t));
    size = gy_calloc(ngroups, sizeof(size_t));
    room = gy_calloc(ngroups, sizeof(size_t));
    sv = gy_calloc(ngroups, sizeof(size_t));
    st_ = gy_calloc(ngroups, sizeof(size_t));
    rem = gy_calloc(ngroups, sizeof(*rem));
    if (!start || !size || !room || !sv || !st_ || !rem) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for a split");
        goto out;
    }
    for (size_t i = 0, g = 0; i < n; i++) {
        if (i > 0 && lr[i].label != lr[i - 1].label)
            g++;
        if (size[g]++ == 0)
            start[g] = i;
        rows[i] = lr[i].row;
    }
    /* Validation shares first, then test shares from what each group has left. */
    for (size_t g = 0; g < ngroups; g++)
        room[g] = size[g];
    largest_remainder(size, room, ngroups, n, nv, sv, rem);
    for (size_t g = 0; g < ngroups; g++)
        room[g] = size[g] - sv[g];
    largest_remainder(size, room, ngroups, n, nt, st_, rem);

    st = alloc_parts(out, n - nv - nt, nv, nt);
    if (st != GY_OK)
        goto out;
    gy__rng_seed(&r, cfg->seed);
    for (size_t g = 0; g < ngroups; g++) {
        size_t *grp = rows + start[g];
        shuffle(grp, size[g], &r);
        for (size_t i = 0; i < size[g]; i++) {
            if (i < sv[g])
                out->valid[iv++] = grp[i];
            else if (i < sv[g] + st_[g])
                out->test[it++] = grp[i];
            else
                out->train[itr++] = grp[i];
        }
    }
    GY_ASSERT(iv == nv && it == nt && itr == n - nv - nt);
    sort_parts(out);
out:
    gy_free(lr);
    gy_free(rows);
    gy_free(start);
    gy_free(size);
    gy_free(room);
    gy_free(sv);
    gy_free(st_);
    gy_free(rem);
    return st;
}

/* ------------------------------------------------------------------ time */

struct time_row {
    int64_t t;
    size_t row;
};

static int cmp_time_row(const void *a, const void *b)
{
    const struct time_row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/*
 * Moves an ideal cut position @p c (rows before the cut, in time order) to the nearest
 * boundary between distinct timestamps within (lo, hi), preferring the earlier boundary on
 * a tie. Returns 0 when no boundary lies strictly between lo and hi.
 */
static size_t snap_cut(const struct time_row *tr, size_t n, size_t c, size_t lo, size_t hi)
{
    size_t down = c, up = c;
    /* A boundary at position p means tr[p - 1].t != tr[p].t (0 < p < n). */
    while (down > lo && !(down < n && down > 0 && tr[down - 1].t != tr[down].t))
        down--;
    while (up < hi && !(up > 0 && up < n && tr[up - 1].t != tr[up].t))
        up++;
    int down_ok = down > lo && down < hi;
    int up_ok = up > lo && up < hi;
    if (down_ok && up_ok)
        return (c - down <= up - c) ? down : up;
    if (down_ok)
        return down;
    if (up_ok)
        return up;
    return 0;
}

static enum gy_status split_time(size_t n, const int64_t *times, size_t nv, size_t nt,
                                 struct gy_split *out)
{
    struct time_row *tr;
    size_t c1, c2;
    enum gy_status st;

    if (!times)
        return gy_error_set(GY_E_INVALID, "a time split needs the time column");
    tr = gy_malloc(n * sizeof(*tr));
    if (!tr)
        return gy_error_set(GY_E_NOMEM, "out of memory for a split");
    for (size_t i = 0; i < n; i++) {
        tr[i].t = times[i];
        tr[i].row = i;
    }
    qsort(tr, n, sizeof(*tr), cmp_time_row);
    /* Cuts: [0, c1) train, [c1, c2) valid, [c2, n) test. */
    if (nt > 0) {
        c2 = snap_cut(tr, n, n - nt, 1, n);
        if (c2 == 0) {
            st = gy_error_set(GY_E_INVALID,
                              "time split: all timestamps are equal; cannot hold out a test part");
            goto out;
        }
    } else {
        c2 = n;
    }
    c1 = snap_cut(tr, n, c2 >= nv ? c2 - nv : 0, 0, c2);
    if (c1 == 0) {
        st = gy_error_set(GY_E_INVALID,
                          "time split: too few distinct timestamps to keep training and "
                          "validation rows apart (ties stay together)");
        goto out;
    }
    st = alloc_parts(out, c1, c2 - c1, n - c2);
    if (st != GY_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (i < c1)
            out->train[i] = tr[i].row;
        else if (i < c2)
            out->valid[i - c1] = tr[i].row;
        else
            out->test[i - c2] = tr[i].row;
    }
    sort_parts(out);
out:
    gy_free(tr);
    return st;
}

enum gy_status gy_train_split(const struct gy_split_config *cfg, size_t n, const float *labels,
                              const int64_t *times, struct gy_split *out)
{
    size_t nv, nt;
    enum gy_status st;

    memset(out, 0, sizeof(*out));
    if (!(cfg->valid_fraction > 0 && cfg->valid_fraction < 1))
        return gy_error_set(GY_E_INVALID, "validation fraction %g is not in (0, 1)",
                            cfg->valid_fraction);
    if (!(cfg->test_fraction >= 0 && cfg->test_fraction < 1) ||
        !(cfg->valid_fraction + cfg->test_fraction < 1))
        return gy_error_set(GY_E_INVALID,
                            "test fraction %g is not in [0, 1) or leaves no training rows",
                            cfg->test_fraction);
    if (n < 2 + (cfg->test_fraction > 0))
        return gy_error_set(GY_E_INVALID, "%zu rows are too few to split", n);
    nv = part_size(cfg->valid_fraction, n);
    nt = part_size(cfg->test_fraction, n);
    if (nv + nt >= n)
        return gy_error_set(GY_E_INVALID,
                            "%zu rows are too few for validation and test fractions %g and %g", n,
                            cfg->valid_fraction, cfg->test_fraction);
    switch (cfg->method) {
    case GY_SPLIT_RANDOM:
        st = split_random(cfg, n, nv, nt, out);
        break;
    case GY_SPLIT_STRATIFIED:
        st = split_stratified(cfg, n, labels, nv, nt, out);
        break;
    case GY_SPLIT_TIME:
        st = split_time(n, times, nv, nt, out);
        break;
    default:
        st = gy_error_set(GY_E_INVALID, "unknown split method %d", (int)cfg->method);
        break;
    }
    if (st != GY_OK)
        gy_train_split_free(out);
    return st;
}
