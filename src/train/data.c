/* SPDX-License-Identifier: MIT */
/*
 * data.c - the small pieces every trainer shares: dense matrices and row gathering, the
 * key=value parameter checks, the deterministic random generator, weight validation and the
 * fixed-order parallel loop over row blocks.
 */
#include "train/train_int.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

enum gy_status gy_train_matrix_create(size_t rows, size_t cols, struct gy_matrix *out)
{
    memset(out, 0, sizeof(*out));
    if (cols != 0 && rows > SIZE_MAX / sizeof(float) / cols)
        return gy_error_set(GY_E_TOO_LARGE, "matrix %zu x %zu is too large", rows, cols);
    out->x = gy_calloc(rows * cols > 0 ? rows * cols : 1, sizeof(float));
    if (!out->x)
        return gy_error_set(GY_E_NOMEM, "out of memory for a %zu x %zu matrix", rows, cols);
    out->rows = rows;
    out->cols = cols;
    return GY_OK;
}

void gy_train_matrix_free(struct gy_matrix *m)
{
    if (!m)
        return;
    gy_free(m->x);
    memset(m, 0, sizeof(*m));
}

enum gy_status gy_train_matrix_take(const struct gy_matrix *m, const size_t *idx, size_t n,
                                    struct gy_matrix *out)
{
    enum gy_status st;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= m->rows)
            return gy_error_set(GY_E_INVALID, "row index %zu out of range (%zu rows)", idx[i],
                                m->rows);
    st = gy_train_matrix_create(n, m->cols, out);
    if (st != GY_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        memcpy(out->x + i * m->cols, m->x + idx[i] * m->cols, m->cols * sizeof(float));
    return GY_OK;
}

enum gy_status gy_train_gather(const float *v, const size_t *idx, size_t n, float **out)
{
    *out = NULL;
    if (!v)
        return GY_OK;
    *out = gy_malloc((n ? n : 1) * sizeof(float));
    if (!*out)
        return gy_error_set(GY_E_NOMEM, "out of memory gathering %zu values", n);
    for (size_t i = 0; i < n; i++)
        (*out)[i] = v[idx[i]];
    return GY_OK;
}

enum gy_status gy_train_f32_to_f64(const float *v, size_t n, double **out)
{
    *out = gy_malloc((n ? n : 1) * sizeof(double));
    if (!*out)
        return gy_error_set(GY_E_NOMEM, "out of memory widening %zu values", n);
    for (size_t i = 0; i < n; i++)
        (*out)[i] = v[i];
    return GY_OK;
}

const char *gy_train_task_name(enum gy_train_task t)
{
    switch (t) {
    case GY_TRAIN_BINARY:
        return "binary";
    case GY_TRAIN_MULTICLASS:
        return "multiclass";
    case GY_TRAIN_REGRESSION:
        return "regression";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ parameters */

enum gy_status gy_train_param_check(const char *key, const char *value)
{
    size_t kl, vl;

    if (!key || !*key)
        return gy_error_set(GY_E_INVALID, "parameter name is empty");
    kl = strlen(key);
    if (kl > 64)
        return gy_error_set(GY_E_INVALID, "parameter name '%.64s...' is longer than 64 bytes", key);
    for (size_t i = 0; i < kl; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return gy_error_set(GY_E_INVALID,
                                "parameter name '%s' has a character other than letters, "
                                "digits, '_', '.', ':' and '-'",
                                key);
    }
    if (!value || !*value)
        return gy_error_set(GY_E_INVALID, "parameter '%s' has an empty value", key);
    vl = strlen(value);
    if (vl > 1024)
        return gy_error_set(GY_E_INVALID, "value of parameter '%s' is longer than 1024 bytes", key);
    for (size_t i = 0; i < vl; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f)
            return gy_error_set(GY_E_INVALID, "value of parameter '%s' has a control character",
                                key);
    }
    return GY_OK;
}

enum gy_status gy_train_param_parse(const char *arg, struct gy_arena *a, struct gy_train_param *out)
{
    const char *eq = arg ? strchr(arg, '=') : NULL;
    enum gy_status st;
    char *k, *v;

    out->key = out->value = NULL;
    if (!eq)
        return gy_error_set(GY_E_INVALID, "parameter '%s' is not key=value", arg ? arg : "");
    k = gy_arena_strndup(a, arg, (size_t)(eq - arg));
    v = gy_arena_strdup(a, eq + 1);
    if (!k || !v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    st = gy_train_param_check(k, v);
    if (st != GY_OK)
        return gy_error_wrap(st, "--param %s", arg);
    out->key = k;
    out->value = v;
    return GY_OK;
}

/* ------------------------------------------------------------------ random */

void gy__rng_seed(struct gy__rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t gy__rng_next(struct gy__rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint64_t gy__rng_below(struct gy__rng *r, uint64_t bound)
{
    /* Values below 2^64 mod bound would make the low residues more likely; skip them. */
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t x = gy__rng_next(r);
        if (x >= threshold)
            return x % bound;
    }
}

/* ------------------------------------------------------------------ validation */

enum gy_status gy__check_weights(const float *w, size_t n, const char *what)
{
    if (!w)
        return GY_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]) || w[i] < 0)
            return gy_error_set(GY_E_INVALID, "%s: row %zu has weight %g (must be finite and >= 0)",
                                what, i, (double)w[i]);
    return GY_OK;
}

/* ------------------------------------------------------------------ parallel blocks */

struct par_state {
    atomic_size_t next;
    size_t nblocks;
    void (*fn)(void *, size_t);
    void *arg;
};

static void par_worker(void *p)
{
    struct par_state *s = p;
    for (;;) {
        size_t b = atomic_fetch_add(&s->next, 1);
        if (b >= s->nblocks)
            break;
        s->fn(s->arg, b);
    }
}

void gy__parallel_blocks(struct gy_pool *pool, size_t nblocks, void (*fn)(void *, size_t),
                         void *arg)
{
    struct par_state s;
    int helpers = pool ? gy_pool_size(pool) : 0;

    atomic_init(&s.next, 0);
    s.nblocks = nblocks;
    s.fn = fn;
    s.arg = arg;
    if ((size_t)helpers > nblocks)
        helpers = (int)nblocks;
    for (int i = 0; i < helpers; i++)
        if (gy_pool_submit(pool, par_worker, &s) != GY_OK)
            break; /* out of memory for the job: the calling thread does the rest */
    par_worker(&s);
    if (pool)
        gy_pool_wait(pool);
}
