/* SPDX-License-Identifier: MIT */
/*
 * test_profile.c - unit tests for the dataset profile (src/lake/profile.c): moments and exact
 * quantiles against numpy (Debian's /usr/bin/python3), the quantile sketch's stated rank-error
 * bound on a million values, merge against profiling the concatenation, determinism and
 * save/load round trips, hostile state (truncation at every length, random corruption),
 * constant, all-null and infinite values, top values, distinct estimates and histograms.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lake/lake_int.h"

/* ------------------------------------------------------------------ helpers */

static const double qs[] = {0.0, 0.01, 0.05, 0.1, 0.2, 0.25, 0.3,  0.4, 0.5,
                            0.6, 0.7,  0.75, 0.8, 0.9, 0.95, 0.99, 1.0};
static const char *const qnames[] = {"p0",  "p1",  "p5",  "p10", "p20", "p25", "p30", "p40", "p50",
                                     "p60", "p70", "p75", "p80", "p90", "p95", "p99", "p100"};
#define NQ (sizeof qs / sizeof qs[0])
#define QLIST "[0.0,0.01,0.05,0.1,0.2,0.25,0.3,0.4,0.5,0.6,0.7,0.75,0.8,0.9,0.95,0.99,1.0]"

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unif(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

static double rng_normal(struct rng *r)
{
    double u = rng_unif(r), v = rng_unif(r);
    return sqrt(-2 * log(u + 0x1p-60)) * cos(2 * M_PI * v);
}

static struct gy_schema *mk_schema(size_t n, const enum gy_type *types)
{
    struct gy_schema *s = gy_schema_create(n);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%zu", i);
        s->cols[i].name = gy_strdup(name);
        s->cols[i].type = types[i];
    }
    return s;
}

static struct gy_profile *mk_profile(const struct gy_schema *s)
{
    struct gy_profile *p = NULL;
    cr_assert_eq(gy__profile_create(s, &p), GY_OK, "%s", gy_error_msg());
    return p;
}

static void add_vec(struct gy_profile *p, size_t col, const struct gy_colvec *v)
{
    enum gy_status rc = gy__profile_add(p, col, v);
    cr_assert_eq(rc, GY_OK, "add: %s", gy_error_msg());
}

static void add_f64(struct gy_profile *p, size_t col, double *x, uint8_t *valid, size_t n,
                    size_t batch)
{
    for (size_t o = 0; o < n; o += batch) {
        struct gy_colvec v;
        memset(&v, 0, sizeof v);
        v.type = GY_TYPE_FLOAT64;
        v.n = GY_MIN(batch, n - o);
        v.f64 = x + o;
        v.valid = valid ? valid + o : NULL;
        add_vec(p, col, &v);
    }
}

static void add_i64(struct gy_profile *p, size_t col, enum gy_type t, int64_t *x, uint8_t *valid,
                    size_t n, size_t batch)
{
    for (size_t o = 0; o < n; o += batch) {
        struct gy_colvec v;
        memset(&v, 0, sizeof v);
        v.type = t;
        v.n = GY_MIN(batch, n - o);
        v.i64 = x + o;
        v.valid = valid ? valid + o : NULL;
        add_vec(p, col, &v);
    }
}

static void add_bool(struct gy_profile *p, size_t col, uint8_t *x, uint8_t *valid, size_t n,
                     size_t batch)
{
    for (size_t o = 0; o < n; o += batch) {
        struct gy_colvec v;
        memset(&v, 0, sizeof v);
        v.type = GY_TYPE_BOOL;
        v.n = GY_MIN(batch, n - o);
        v.b = x + o;
        v.valid = valid ? valid + o : NULL;
        add_vec(p, col, &v);
    }
}

/* Strings: row i is data[off[i] .. off[i+1]). */
struct strs {
    char *data;
    uint32_t *off;
    size_t n, len, cap, off_cap;
};

static void strs_push(struct strs *s, const char *p, size_t len)
{
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2 + 1024;
        s->data = gy_realloc(s->data, s->cap);
        cr_assert_not_null(s->data);
    }
    if (s->n + 2 > s->off_cap) {
        s->off_cap = (s->n + 2) * 2;
        s->off = gy_realloc(s->off, s->off_cap * sizeof *s->off);
        cr_assert_not_null(s->off);
    }
    if (len)
        memcpy(s->data + s->len, p, len);
    s->off[s->n] = (uint32_t)s->len;
    s->len += len;
    s->off[++s->n] = (uint32_t)s->len;
}

static void strs_free(struct strs *s)
{
    gy_free(s->data);
    gy_free(s->off);
    memset(s, 0, sizeof *s);
}

/* Adds rows [from, to) of @p s. */
static void add_strs(struct gy_profile *p, size_t col, const struct strs *s, uint8_t *valid,
                     size_t from, size_t to, size_t batch)
{
    for (size_t o = from; o < to; o += batch) {
        struct gy_colvec v;
        memset(&v, 0, sizeof v);
        v.type = GY_TYPE_STRING;
        v.n = GY_MIN(batch, to - o);
        v.off = s->off + o;
        v.data = s->data;
        v.data_len = s->len;
        v.valid = valid ? valid + o : NULL;
        add_vec(p, col, &v);
    }
}

static json_t *summary_of(const struct gy_profile *p)
{
    json_t *j = NULL;
    cr_assert_eq(gy__profile_summary(p, &j), GY_OK, "%s", gy_error_msg());
    return j;
}

static json_t *colj(json_t *sum, size_t i)
{
    json_t *c = json_array_get(json_object_get(sum, "columns"), i);
    cr_assert_not_null(c);
    return c;
}

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    cr_assert(json_is_number(v), "summary field \"%s\" missing or not a number", k);
    return json_number_value(v);
}

static double jq(const json_t *col, size_t i)
{
    return jnum(json_object_get(col, "quantiles"), qnames[i]);
}

static void save_to(const struct gy_profile *p, struct gy_buf *b)
{
    gy_buf_init(b, (size_t)1 << 30);
    cr_assert_eq(gy__profile_save(p, b), GY_OK, "%s", gy_error_msg());
}

static char *dump(const json_t *j)
{
    struct gy_buf b;
    gy_buf_init(&b, (size_t)1 << 30);
    cr_assert_eq(gy_json_dump(j, &b), GY_OK);
    return gy_buf_detach(&b, NULL);
}

static int rel_close(double a, double b, double tol)
{
    return fabs(a - b) <= tol * GY_MAX(fabs(a), fabs(b));
}

/*
 * Runs numpy on @p n values (float64 or int64, little-endian) saved to a temporary file:
 * @p expr sees the array as `a`; the printed numbers are parsed into @p out.
 */
static void numpy_eval(const void *x, size_t n, int is_int, const char *expr, double *out,
                       size_t nout)
{
    char path[] = "/tmp/gy_profile_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(gy_fd_write_all(fd, x, n * 8), GY_OK);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np, sys\n"
             "a = np.fromfile(sys.argv[1], dtype='%s')\n"
             "r = np.atleast_1d(%s)\n"
             "print(' '.join(repr(float(v)) for v in r))\" %s",
             is_int ? "<i8" : "<f8", expr, path);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char line[1 << 17];
    char *got = fgets(line, sizeof line, f);
    int st = pclose(f);
    unlink(path);
    cr_assert(got != NULL && st == 0, "python3/numpy failed: %s", cmd);
    cr_assert(strchr(line, '\n') != NULL, "numpy output too long");
    char *p = line;
    for (size_t i = 0; i < nout; i++) {
        char *end;
        out[i] = strtod(p, &end);
        cr_assert(end != p, "bad numpy output: %s", line);
        p = end;
    }
}

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Number of sorted values < v (strict) or <= v. */
static size_t rank_of(const double *s, size_t n, double v, int le)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (le ? s[mid] <= v : s[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Checks every reported quantile of @p col against sorted data: the target rank q*N must lie
 * within the column's stated quantile_rank_error of the reported value's ranks.
 */
static void check_quantiles_in_bound(const json_t *col, const double *sorted, size_t n)
{
    double err = jnum(col, "quantile_rank_error");
    double e = err * (double)n;
    cr_assert_eq(jq(col, 0), sorted[0], "p0 must be the minimum");
    cr_assert_eq(jq(col, NQ - 1), sorted[n - 1], "p100 must be the maximum");
    for (size_t i = 1; i + 1 < NQ; i++) {
        double v = jq(col, i), t = qs[i] * (double)n;
        double lo = (double)rank_of(sorted, n, v, 0), hi = (double)rank_of(sorted, n, v, 1);
        cr_assert(hi > lo, "%s = %.17g is not a data value", qnames[i], v);
        cr_assert(t >= lo - e - 1e-6 && t <= hi + e + 1e-6,
                  "%s = %.17g: ranks [%g, %g], target %g, allowed error %g", qnames[i], v, lo, hi,
                  t, e);
    }
}

static const uint8_t *take(const uint8_t **p, const uint8_t *end, size_t n)
{
    cr_assert((size_t)(end - *p) >= n, "state walk ran past the end");
    const uint8_t *q = *p;
    *p += n;
    return q;
}

static uint64_t le64(const uint8_t *q)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}

/*
 * Walks saved state (the documented format) to the top-values section (@p hll 0) or the
 * HyperLogLog registers (@p hll 1) of column @p want; asserts that the walk consumes exactly
 * the whole buffer. NULL when the column has none.
 */
static const uint8_t *state_section(const struct gy_buf *b, const struct gy_schema *s, size_t want,
                                    int hll)
{
    const uint8_t *p = (const uint8_t *)b->data, *end = p + b->len, *found = NULL, *q;
    cr_assert_eq(memcmp(take(&p, end, 20), "GYPF", 4), 0);
    for (size_t c = 0; c < s->ncols; c++) {
        enum gy_type t = s->cols[c].type;
        q = take(&p, end, 17);
        cr_assert_eq(q[0], (uint8_t)t);
        uint64_t nfin = le64(q + 1);
        if (t == GY_TYPE_BOOL) {
            take(&p, end, 8);
            continue;
        }
        if (t == GY_TYPE_FLOAT64) {
            q = take(&p, end, 16);
            nfin -= le64(q) + le64(q + 8);
        }
        if (!nfin)
            continue;
        take(&p, end, t == GY_TYPE_STRING ? 24 : t == GY_TYPE_FLOAT64 ? 32 : 40);
        if (t != GY_TYPE_STRING) {
            q = take(&p, end, 11); /* i16 e, i64 m0, u8 nbins */
            take(&p, end, 8 * (size_t)q[10]);
            uint32_t nl = *take(&p, end, 1);
            for (uint32_t h = 0; h < nl; h++) {
                q = take(&p, end, 11); /* u64 ncompact, u8 toggle, u16 n */
                take(&p, end, 8 * ((size_t)q[9] | (size_t)q[10] << 8));
            }
        }
        q = take(&p, end, 10); /* u16 n, u64 dec */
        if (c == want && !hll)
            found = q;
        uint32_t ne = (uint32_t)q[0] | (uint32_t)q[1] << 8;
        if (ne == 0xFFFF) /* a float64 table that stopped: no entries */
            ne = 0;
        for (uint32_t i = 0; i < ne; i++) {
            if (t == GY_TYPE_STRING) {
                q = take(&p, end, 3);
                take(&p, end, ((size_t)q[0] | (size_t)q[1] << 8) + 8);
            } else {
                take(&p, end, 16);
            }
        }
        q = take(&p, end, 4096);
        if (c == want && hll)
            found = q;
    }
    cr_assert(p == end, "state walk ended %td bytes early", end - p);
    return found;
}

static const uint8_t *state_hll(const struct gy_buf *b, const struct gy_schema *s, size_t want)
{
    return state_section(b, s, want, 1);
}

/* ------------------------------------------------------------------ moments and quantiles */

Test(profile, moments_match_numpy)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64};
    struct gy_schema *s = mk_schema(2, types);
    struct gy_profile *p = mk_profile(s);
    struct rng r = {1};
    size_t n = 300000, nv = 0;
    double *x = gy_malloc(n * sizeof *x), *dense = gy_malloc(n * sizeof *dense);
    int64_t *iv = gy_malloc(n * sizeof *iv);
    uint8_t *valid = gy_malloc(n);
    for (size_t i = 0; i < n; i++) {
        x[i] = 1234.5 + 87.25 * rng_normal(&r);
        iv[i] = (int64_t)(rng_next(&r) % 2000001) - 900000;
        valid[i] = rng_next(&r) % 33 != 0;
        if (valid[i])
            dense[nv++] = x[i];
    }
    add_f64(p, 0, x, valid, n, 65536);
    add_i64(p, 1, GY_TYPE_INT64, iv, NULL, n, 65536);

    double want[4];
    numpy_eval(dense, nv, 0, "[a.mean(), a.std(ddof=1), a.min(), a.max()]", want, 4);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    cr_assert_eq(jnum(c, "count"), (double)nv);
    cr_assert_eq(jnum(c, "nulls"), (double)(n - nv));
    cr_assert(rel_close(jnum(c, "mean"), want[0], 1e-12), "mean %.17g vs numpy %.17g",
              jnum(c, "mean"), want[0]);
    cr_assert(rel_close(jnum(c, "std"), want[1], 1e-12), "std %.17g vs numpy %.17g", jnum(c, "std"),
              want[1]);
    cr_assert_eq(jnum(c, "min"), want[2]);
    cr_assert_eq(jnum(c, "max"), want[3]);

    numpy_eval(iv, n, 1, "[a.mean(), a.std(ddof=1), a.min(), a.max()]", want, 4);
    c = colj(sum, 1);
    cr_assert(json_is_integer(json_object_get(c, "min")));
    cr_assert(rel_close(jnum(c, "mean"), want[0], 1e-12), "int mean %.17g vs %.17g",
              jnum(c, "mean"), want[0]);
    cr_assert(rel_close(jnum(c, "std"), want[1], 1e-12), "int std %.17g vs %.17g", jnum(c, "std"),
              want[1]);
    cr_assert_eq(jnum(c, "min"), want[2]);
    cr_assert_eq(jnum(c, "max"), want[3]);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(x);
    gy_free(dense);
    gy_free(iv);
    gy_free(valid);
}

Test(profile, exact_quantiles_match_numpy)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64, GY_TYPE_TIMESTAMP, GY_TYPE_FLOAT64};
    struct gy_schema *s = mk_schema(4, types);
    struct gy_profile *p = mk_profile(s);
    struct rng r = {7};
    enum { NF = 1000, NI = 37 }; /* (n - 1) * q has fractions above and below 0.5 */
    double x[NF], wide[NF], want[NQ];
    int64_t iv[NI], ts[NI];
    for (size_t i = 0; i < NF; i++) /* full-precision values, some repeated, both signs */
        x[i] = i % 5 == 0 ? round(rng_normal(&r) * 4) / 16 : rng_normal(&r) * 7.3;
    for (size_t i = 0; i < NF; i++) /* neighbours far apart: numpy's lerp rounding shows */
        wide[i] = (i % 2 ? 1 : -1) * exp(60 * rng_unif(&r));
    for (size_t i = 0; i < NI; i++) {
        iv[i] = (int64_t)(rng_next(&r) % 201) - 100;
        ts[i] = 1700000000000000LL + (int64_t)(rng_next(&r) % 1000000007ULL);
    }
    add_f64(p, 0, x, NULL, NF, 300);
    add_i64(p, 1, GY_TYPE_INT64, iv, NULL, NI, 10);
    add_i64(p, 2, GY_TYPE_TIMESTAMP, ts, NULL, NI, NI);
    add_f64(p, 3, wide, NULL, NF, 512);
    json_t *sum = summary_of(p);

    numpy_eval(x, NF, 0, "np.quantile(a, " QLIST ")", want, NQ);
    json_t *c = colj(sum, 0);
    cr_assert_eq(jnum(c, "quantile_rank_error"), 0.0);
    for (size_t i = 0; i < NQ; i++)
        cr_assert_eq(jq(c, i), want[i], "float %s: %.17g vs numpy %.17g", qnames[i], jq(c, i),
                     want[i]);
    numpy_eval(iv, NI, 1, "np.quantile(a, " QLIST ")", want, NQ);
    c = colj(sum, 1);
    for (size_t i = 0; i < NQ; i++)
        cr_assert_eq(jq(c, i), want[i], "int %s: %.17g vs numpy %.17g", qnames[i], jq(c, i),
                     want[i]);
    numpy_eval(ts, NI, 1, "np.quantile(a, " QLIST ")", want, NQ);
    c = colj(sum, 2);
    for (size_t i = 0; i < NQ; i++)
        cr_assert_eq(jq(c, i), want[i], "timestamp %s: %.17g vs numpy %.17g", qnames[i], jq(c, i),
                     want[i]);
    numpy_eval(wide, NF, 0, "np.quantile(a, " QLIST ")", want, NQ);
    c = colj(sum, 3);
    for (size_t i = 0; i < NQ; i++)
        cr_assert_eq(jq(c, i), want[i], "wide %s: %.17g vs numpy %.17g", qnames[i], jq(c, i),
                     want[i]);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
}

/* Many small datasets, one numpy run: numpy's two-sided lerp differs from a + (b - a) * t in
 * the last bit for a few percent of evaluations, so this catches any other formula. */
Test(profile, exact_quantiles_match_numpy_bit_for_bit)
{
    enum { NSETS = 60 };
    enum gy_type types[] = {GY_TYPE_FLOAT64};
    struct gy_schema *s = mk_schema(1, types);
    struct rng r = {71};
    size_t sizes[NSETS], total = 0;
    for (size_t k = 0; k < NSETS; k++)
        total += sizes[k] = 2 + rng_next(&r) % 300;
    double *x = gy_malloc(total * sizeof *x), *got = gy_malloc(NSETS * NQ * sizeof *got);
    double *want = gy_malloc(NSETS * NQ * sizeof *want);
    char expr[2048];
    size_t el = (size_t)snprintf(expr, sizeof expr,
                                 "np.concatenate([np.quantile(a[o:o+n], "
                                 "%s) for o, n in [",
                                 QLIST);
    for (size_t k = 0, o = 0; k < NSETS; o += sizes[k++]) {
        for (size_t i = 0; i < sizes[k]; i++)
            x[o + i] = (rng_next(&r) % 2 ? 1 : -1) * exp(40 * rng_unif(&r));
        struct gy_profile *p = mk_profile(s);
        add_f64(p, 0, x + o, NULL, sizes[k], 100);
        json_t *sum = summary_of(p);
        for (size_t i = 0; i < NQ; i++)
            got[k * NQ + i] = jq(colj(sum, 0), i);
        json_decref(sum);
        gy__profile_free(p);
        el += (size_t)snprintf(expr + el, sizeof expr - el, "(%zu,%zu),", o, sizes[k]);
        cr_assert(el < sizeof expr);
    }
    snprintf(expr + el, sizeof expr - el, "]])");
    numpy_eval(x, total, 0, expr, want, NSETS * NQ);
    for (size_t k = 0; k < NSETS * NQ; k++)
        cr_assert_eq(got[k], want[k], "set %zu %s: %.17g vs numpy %.17g", k / NQ, qnames[k % NQ],
                     got[k], want[k]);
    gy_schema_free(s);
    gy_free(x);
    gy_free(got);
    gy_free(want);
}

Test(profile, sketch_quantiles_within_stated_error)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64};
    struct gy_schema *s = mk_schema(2, types);
    struct gy_profile *p = mk_profile(s);
    struct rng r = {11};
    size_t n = 1000000, ni = 300000;
    double *x = gy_malloc(n * sizeof *x), *sorted = gy_malloc(n * sizeof *sorted);
    int64_t *iv = gy_malloc(ni * sizeof *iv);
    for (size_t i = 0; i < n; i++) /* skewed, with a heavy tail and many repeats */
        x[i] = i % 10 == 0 ? 3.0 : exp(2 * rng_normal(&r));
    for (size_t i = 0; i < ni; i++)
        iv[i] = (int64_t)(rng_next(&r) % 100000) * (int64_t)(rng_next(&r) % 3);
    add_f64(p, 0, x, NULL, n, 65536);
    add_i64(p, 1, GY_TYPE_INT64, iv, NULL, ni, 65536);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    double err = jnum(c, "quantile_rank_error");
    cr_assert(err > 0 && err <= 0.005, "stated rank error %g", err);
    memcpy(sorted, x, n * sizeof *x);
    qsort(sorted, n, sizeof *sorted, cmp_f64);
    check_quantiles_in_bound(c, sorted, n);

    c = colj(sum, 1);
    err = jnum(c, "quantile_rank_error");
    cr_assert(err > 0 && err <= 0.005, "stated int rank error %g", err);
    for (size_t i = 0; i < ni; i++)
        sorted[i] = (double)iv[i];
    qsort(sorted, ni, sizeof *sorted, cmp_f64);
    check_quantiles_in_bound(c, sorted, ni);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(x);
    gy_free(sorted);
    gy_free(iv);
}

/* ------------------------------------------------------------------ merge */

/* Five columns of every type, rows [from, to) of a fixed synthetic dataset. */
struct dataset {
    size_t n;
    double *f;
    int64_t *i, *t;
    uint8_t *b, *valid;
    struct strs s;
};

static void dataset_make(struct dataset *d, size_t n, uint64_t seed)
{
    struct rng r = {seed};
    memset(d, 0, sizeof *d);
    d->n = n;
    d->f = gy_malloc(n * sizeof *d->f);
    d->i = gy_malloc(n * sizeof *d->i);
    d->t = gy_malloc(n * sizeof *d->t);
    d->b = gy_malloc(n);
    d->valid = gy_malloc(n);
    for (size_t k = 0; k < n; k++) {
        char buf[64];
        d->f[k] = 50 + 10 * rng_normal(&r);
        d->i[k] = (int64_t)(rng_next(&r) % 300) - 150; /* 300 distinct: exact top values */
        d->t[k] = 1714521600000000LL + (int64_t)(rng_next(&r) % 86400000000ULL);
        d->b[k] = rng_next(&r) % 3 == 0;
        d->valid[k] = rng_next(&r) % 17 != 0;
        unsigned cat = (unsigned)(rng_next(&r) % 101);
        int len = cat == 100 ? 0 : snprintf(buf, sizeof buf, "category-%u", cat);
        strs_push(&d->s, buf, (size_t)len); /* includes empty strings */
    }
}

static void dataset_free(struct dataset *d)
{
    gy_free(d->f);
    gy_free(d->i);
    gy_free(d->t);
    gy_free(d->b);
    gy_free(d->valid);
    strs_free(&d->s);
}

static const enum gy_type five_types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64, GY_TYPE_BOOL,
                                          GY_TYPE_STRING, GY_TYPE_TIMESTAMP};

static void dataset_add(struct gy_profile *p, const struct dataset *d, size_t from, size_t to,
                        size_t batch)
{
    for (size_t o = from; o < to; o += batch) {
        size_t k = GY_MIN(batch, to - o);
        add_f64(p, 0, d->f + o, d->valid + o, k, k);
        add_i64(p, 1, GY_TYPE_INT64, d->i + o, d->valid + o, k, k);
        add_bool(p, 2, d->b + o, d->valid + o, k, k);
        add_strs(p, 3, &d->s, d->valid, o, o + k, k);
        add_i64(p, 4, GY_TYPE_TIMESTAMP, d->t + o, NULL, k, k);
    }
}

static void check_merge_vs_concat(const struct dataset *d, size_t split, size_t npieces)
{
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *whole = mk_profile(s), *merged = mk_profile(s);
    dataset_add(whole, d, 0, d->n, 65536);
    size_t piece = (d->n - split + npieces - 1) / npieces;
    dataset_add(merged, d, 0, split, 65536);
    for (size_t o = split; o < d->n; o += piece) {
        struct gy_profile *part = mk_profile(s);
        dataset_add(part, d, o, GY_MIN(d->n, o + piece), 65536);
        cr_assert_eq(gy__profile_merge(merged, part), GY_OK, "%s", gy_error_msg());
        gy__profile_free(part);
    }
    json_t *sw = summary_of(whole), *sm = summary_of(merged);
    struct gy_buf bw, bm;
    save_to(whole, &bw);
    save_to(merged, &bm);
    for (size_t c = 0; c < 5; c++) {
        json_t *a = colj(sw, c), *b = colj(sm, c);
        const char *same[] = {"count",       "nulls",    "min",       "max",        "histogram",
                              "true",        "distinct", "top_exact", "min_length", "max_length",
                              "mean_length", "min_time", "max_time",  "pos_inf",    "neg_inf"};
        for (size_t k = 0; k < GY_ARRAY_LEN(same); k++)
            cr_assert(json_equal(json_object_get(a, same[k]), json_object_get(b, same[k])) ||
                          (!json_object_get(a, same[k]) && !json_object_get(b, same[k])),
                      "column %zu: \"%s\" differs between merge and concatenation", c, same[k]);
        if (json_is_true(json_object_get(a, "top_exact")))
            cr_assert(json_equal(json_object_get(a, "top"), json_object_get(b, "top")),
                      "column %zu: exact top values differ", c);
        if (five_types[c] != GY_TYPE_BOOL && five_types[c] != GY_TYPE_STRING) {
            cr_assert(rel_close(jnum(a, "mean"), jnum(b, "mean"), 1e-12), "column %zu mean", c);
            cr_assert(rel_close(jnum(a, "std"), jnum(b, "std"), 1e-12), "column %zu std", c);
        }
        if (five_types[c] != GY_TYPE_BOOL) {
            const uint8_t *ha = state_hll(&bw, s, c), *hb = state_hll(&bm, s, c);
            cr_assert(ha && hb && memcmp(ha, hb, 4096) == 0, "column %zu: HLL registers", c);
        }
    }
    /* Quantiles of the merged profile, against the data. */
    size_t nv = 0;
    double *sorted = gy_malloc(d->n * sizeof *sorted);
    for (size_t k = 0; k < d->n; k++)
        if (d->valid[k])
            sorted[nv++] = d->f[k];
    qsort(sorted, nv, sizeof *sorted, cmp_f64);
    check_quantiles_in_bound(colj(sm, 0), sorted, nv);
    for (size_t k = 0; k < d->n; k++)
        sorted[k] = (double)d->t[k];
    qsort(sorted, d->n, sizeof *sorted, cmp_f64);
    check_quantiles_in_bound(colj(sm, 4), sorted, d->n);
    gy_free(sorted);
    gy_buf_free(&bw);
    gy_buf_free(&bm);
    json_decref(sw);
    json_decref(sm);
    gy__profile_free(whole);
    gy__profile_free(merged);
    gy_schema_free(s);
}

Test(profile, merge_equals_concatenation)
{
    struct dataset d;
    dataset_make(&d, 250000, 3);
    check_merge_vs_concat(&d, 150000, 1);
    check_merge_vs_concat(&d, 1000, 9); /* many uneven pieces */
    dataset_free(&d);
}

Test(profile, merge_with_empty_is_identity)
{
    struct dataset d;
    dataset_make(&d, 20000, 5);
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *a = mk_profile(s), *e1 = mk_profile(s), *e2 = mk_profile(s);
    dataset_add(a, &d, 0, d.n, 7000);
    struct gy_buf ba, b1, b2;
    save_to(a, &ba);
    cr_assert_eq(gy__profile_merge(e1, a), GY_OK); /* empty += a */
    save_to(e1, &b1);
    cr_assert_eq(gy__profile_merge(a, e2), GY_OK); /* a += empty */
    save_to(a, &b2);
    cr_assert(b1.len == ba.len && memcmp(b1.data, ba.data, ba.len) == 0);
    cr_assert(b2.len == ba.len && memcmp(b2.data, ba.data, ba.len) == 0);
    /* a += a doubles every count */
    json_t *before = summary_of(a);
    cr_assert_eq(gy__profile_merge(a, a), GY_OK);
    json_t *after = summary_of(a);
    for (size_t c = 0; c < 5; c++)
        cr_assert_eq(jnum(colj(after, c), "count"), 2 * jnum(colj(before, c), "count"));
    json_decref(before);
    json_decref(after);
    gy_buf_free(&ba);
    gy_buf_free(&b1);
    gy_buf_free(&b2);
    gy__profile_free(a);
    gy__profile_free(e1);
    gy__profile_free(e2);
    gy_schema_free(s);
    dataset_free(&d);
}

Test(profile, merge_rejects_other_schema)
{
    enum gy_type t1[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64}, t2[] = {GY_TYPE_FLOAT64, GY_TYPE_BOOL};
    struct gy_schema *s1 = mk_schema(2, t1), *s2 = mk_schema(2, t2), *s3 = mk_schema(1, t1);
    struct gy_profile *a = mk_profile(s1), *b = mk_profile(s2), *c = mk_profile(s3);
    cr_assert_eq(gy__profile_merge(a, b), GY_E_SCHEMA);
    cr_assert_eq(gy__profile_merge(a, c), GY_E_SCHEMA);
    gy__profile_free(a);
    gy__profile_free(b);
    gy__profile_free(c);
    gy_schema_free(s1);
    gy_schema_free(s2);
    gy_schema_free(s3);
}

/* ------------------------------------------------------------------ state */

Test(profile, deterministic_state_and_summary)
{
    struct dataset d;
    dataset_make(&d, 30000, 9);
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *a = mk_profile(s), *b = mk_profile(s);
    dataset_add(a, &d, 0, d.n, 4000);
    dataset_add(b, &d, 0, d.n, 4000);
    struct gy_buf ba, bb, ba2;
    save_to(a, &ba);
    save_to(b, &bb);
    save_to(a, &ba2);
    cr_assert(ba.len == bb.len && memcmp(ba.data, bb.data, ba.len) == 0);
    cr_assert(ba.len == ba2.len && memcmp(ba.data, ba2.data, ba.len) == 0, "save mutated");
    json_t *ja = summary_of(a), *jb = summary_of(b);
    char *da = dump(ja), *db = dump(jb);
    cr_assert_str_eq(da, db);
    gy_free(da);
    gy_free(db);
    json_decref(ja);
    json_decref(jb);
    gy_buf_free(&ba);
    gy_buf_free(&bb);
    gy_buf_free(&ba2);
    gy__profile_free(a);
    gy__profile_free(b);
    gy_schema_free(s);
    dataset_free(&d);
}

Test(profile, save_load_round_trip)
{
    struct dataset d;
    dataset_make(&d, 40000, 13);
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *a = mk_profile(s), *l = NULL;
    dataset_add(a, &d, 0, 30000, 8192);
    struct gy_buf b1, b2;
    save_to(a, &b1);
    cr_assert_eq(gy__profile_load(b1.data, b1.len, s, &l), GY_OK, "%s", gy_error_msg());
    save_to(l, &b2);
    cr_assert(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    json_t *ja = summary_of(a), *jl = summary_of(l);
    cr_assert(json_equal(ja, jl));
    json_decref(ja);
    json_decref(jl);
    /* The loaded state is complete: continuing on it equals continuing on the original. */
    dataset_add(a, &d, 30000, d.n, 8192);
    dataset_add(l, &d, 30000, d.n, 8192);
    gy_buf_free(&b1);
    gy_buf_free(&b2);
    save_to(a, &b1);
    save_to(l, &b2);
    cr_assert(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    gy_buf_free(&b1);
    gy_buf_free(&b2);
    gy__profile_free(a);
    gy__profile_free(l);
    gy_schema_free(s);
    dataset_free(&d);
}

static void expect_load_fails(const void *data, size_t len, const struct gy_schema *s,
                              enum gy_status want)
{
    struct gy_profile *p = (struct gy_profile *)1;
    enum gy_status rc = gy__profile_load(data, len, s, &p);
    cr_assert_eq(rc, want, "load of %zu bytes: got %d (%s)", len, rc, gy_error_msg());
    cr_assert_null(p);
    cr_assert(strlen(gy_error_msg()) > 0);
}

Test(profile, load_rejects_truncation_at_every_length)
{
    struct dataset d;
    dataset_make(&d, 60, 17);
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *a = mk_profile(s);
    dataset_add(a, &d, 0, d.n, 25);
    struct gy_buf b;
    save_to(a, &b);
    for (size_t len = 0; len < b.len; len++)
        expect_load_fails(b.data, len, s, GY_E_CORRUPT);
    char *longer = gy_malloc(b.len + 1);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    expect_load_fails(longer, b.len + 1, s, GY_E_CORRUPT);
    gy_free(longer);
    gy_buf_free(&b);
    gy__profile_free(a);
    dataset_free(&d);

    /* A profile whose quantile sketches have compacted: sampled lengths. */
    dataset_make(&d, 9000, 19);
    a = mk_profile(s);
    dataset_add(a, &d, 0, d.n, 4096);
    save_to(a, &b);
    for (size_t len = 0; len < b.len; len += len < 4096 || b.len - len < 4096 ? 1 : 97)
        expect_load_fails(b.data, len, s, GY_E_CORRUPT);
    gy_buf_free(&b);
    gy__profile_free(a);
    dataset_free(&d);
    gy_schema_free(s);
}

Test(profile, load_rejects_bad_header_and_schema)
{
    struct dataset d;
    dataset_make(&d, 100, 23);
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *a = mk_profile(s);
    dataset_add(a, &d, 0, d.n, 100);
    struct gy_buf b;
    save_to(a, &b);
    char *c = gy_malloc(b.len);
    memcpy(c, b.data, b.len);
    c[0] = 'X';
    expect_load_fails(c, b.len, s, GY_E_CORRUPT);
    memcpy(c, b.data, b.len);
    c[4] = 3; /* a future format version */
    expect_load_fails(c, b.len, s, GY_E_UNSUPPORTED);
    memcpy(c, b.data, b.len);
    c[6] = 1; /* unknown flag */
    expect_load_fails(c, b.len, s, GY_E_CORRUPT);
    enum gy_type other[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64, GY_TYPE_BOOL, GY_TYPE_STRING,
                            GY_TYPE_INT64};
    struct gy_schema *s2 = mk_schema(5, other), *s3 = mk_schema(4, five_types);
    expect_load_fails(b.data, b.len, s2, GY_E_SCHEMA);
    expect_load_fails(b.data, b.len, s3, GY_E_SCHEMA);
    gy_free(c);
    gy_buf_free(&b);
    gy__profile_free(a);
    gy_schema_free(s);
    gy_schema_free(s2);
    gy_schema_free(s3);
    dataset_free(&d);
}

/* No NaN (in any spelling) and no null value anywhere in a summary. */
static void assert_no_nan_or_null(const json_t *sum)
{
    char *txt = dump(sum);
    for (char *q = txt; *q; q++)
        *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
    cr_assert_null(strstr(txt, "nan"), "%s", txt);
    cr_assert_null(strstr(txt, ":null"), "%s", txt);
    cr_assert_null(strstr(txt, "[null"), "%s", txt);
    cr_assert_null(strstr(txt, ",null"), "%s", txt);
    gy_free(txt);
}

/* Loads @p data; on success the profile must summarize, save and reload. */
static int load_any(const void *data, size_t len, const struct gy_schema *s)
{
    struct gy_profile *p = NULL, *q = NULL;
    enum gy_status rc = gy__profile_load(data, len, s, &p);
    if (rc != GY_OK) {
        cr_assert(rc == GY_E_CORRUPT || rc == GY_E_SCHEMA || rc == GY_E_UNSUPPORTED,
                  "unexpected status %d", rc);
        cr_assert_null(p);
        return 0;
    }
    json_t *j = summary_of(p);
    assert_no_nan_or_null(j);
    struct gy_buf b;
    save_to(p, &b);
    cr_assert(b.len == len && memcmp(b.data, data, len) == 0, "accepted state must re-save as is");
    cr_assert_eq(gy__profile_load(b.data, b.len, s, &q), GY_OK, "reload: %s", gy_error_msg());
    json_decref(j);
    gy_buf_free(&b);
    gy__profile_free(p);
    gy__profile_free(q);
    return 1;
}

Test(profile, load_survives_random_corruption)
{
    struct dataset d;
    dataset_make(&d, 5000, 29);
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *a = mk_profile(s);
    dataset_add(a, &d, 0, d.n, 1000);
    struct gy_buf b;
    save_to(a, &b);
    uint8_t *c = gy_malloc(b.len);
    struct rng r = {31};
    int accepted = 0;
    for (int it = 0; it < 1500; it++) {
        memcpy(c, b.data, b.len);
        int flips = 1 + (int)(rng_next(&r) % 4);
        for (int k = 0; k < flips; k++)
            c[rng_next(&r) % b.len] ^= (uint8_t)(1u << (rng_next(&r) % 8));
        accepted += load_any(c, b.len, s);
    }
    /* Every byte of the header and the first column's fixed fields, set to 0xff. */
    for (size_t i = 0; i < 120 && i < b.len; i++) {
        memcpy(c, b.data, b.len);
        c[i] = 0xff;
        load_any(c, b.len, s);
    }
    cr_assert(accepted > 0, "some corruptions (sketch items) are valid states");
    cr_assert(accepted < 1500, "most corruptions must be detected");
    gy_free(c);
    gy_buf_free(&b);
    gy__profile_free(a);
    gy_schema_free(s);
    dataset_free(&d);
}

/* ------------------------------------------------------------------ special columns */

Test(profile, constant_columns)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64, GY_TYPE_FLOAT64};
    struct gy_schema *s = mk_schema(3, types);
    struct gy_profile *p = mk_profile(s);
    size_t n = 10000;
    double *x = gy_malloc(n * sizeof *x), *z = gy_malloc(n * sizeof *z);
    int64_t *iv = gy_malloc(n * sizeof *iv);
    for (size_t i = 0; i < n; i++) {
        x[i] = 5.0;
        iv[i] = 7;
        z[i] = i % 2 ? 0.0 : -0.0;
    }
    add_f64(p, 0, x, NULL, n, 3000);
    add_i64(p, 1, GY_TYPE_INT64, iv, NULL, n, 3000);
    add_f64(p, 2, z, NULL, n, 3000);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    cr_assert_eq(jnum(c, "min"), 5.0);
    cr_assert_eq(jnum(c, "max"), 5.0);
    cr_assert_eq(jnum(c, "mean"), 5.0);
    cr_assert_eq(jnum(c, "std"), 0.0);
    for (size_t i = 0; i < NQ; i++)
        cr_assert_eq(jq(c, i), 5.0);
    json_t *h = json_object_get(c, "histogram");
    cr_assert_eq(json_array_size(json_object_get(h, "counts")), 1);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(h, "counts"), 0)), 10000);
    double lo = json_number_value(json_array_get(json_object_get(h, "edges"), 0));
    double hi = json_number_value(json_array_get(json_object_get(h, "edges"), 1));
    cr_assert(lo <= 5.0 && 5.0 < hi, "bin [%g, %g)", lo, hi);
    cr_assert_eq(jnum(c, "distinct"), 1);
    cr_assert(json_is_true(json_object_get(c, "top_exact")));
    cr_assert_eq(json_array_size(json_object_get(c, "top")), 1);

    c = colj(sum, 1);
    h = json_object_get(c, "histogram");
    cr_assert_eq(json_number_value(json_array_get(json_object_get(h, "edges"), 0)), 7.0);
    cr_assert_eq(json_number_value(json_array_get(json_object_get(h, "edges"), 1)), 8.0);
    cr_assert_eq(jnum(c, "std"), 0.0);

    /* -0.0 and 0.0 are one value. */
    c = colj(sum, 2);
    cr_assert_eq(jnum(c, "distinct"), 1);
    cr_assert_eq(jnum(c, "min"), 0.0);
    cr_assert(!signbit(jnum(c, "min")));
    cr_assert_eq(
        json_integer_value(json_object_get(json_array_get(json_object_get(c, "top"), 0), "count")),
        10000);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(x);
    gy_free(z);
    gy_free(iv);
}

Test(profile, all_null_and_empty_columns)
{
    struct gy_schema *s = mk_schema(5, five_types);
    struct gy_profile *p = mk_profile(s), *empty = mk_profile(s);
    size_t n = 1000;
    struct dataset d;
    dataset_make(&d, n, 37);
    memset(d.valid, 0, n);
    for (size_t o = 0; o < n; o += 300) {
        size_t k = GY_MIN(300, n - o);
        add_f64(p, 0, d.f + o, d.valid + o, k, k);
        add_i64(p, 1, GY_TYPE_INT64, d.i + o, d.valid + o, k, k);
        add_bool(p, 2, d.b + o, d.valid + o, k, k);
        add_strs(p, 3, &d.s, d.valid, o, o + k, k);
        add_i64(p, 4, GY_TYPE_TIMESTAMP, d.t + o, d.valid + o, k, k);
    }
    json_t *sum = summary_of(p), *se = summary_of(empty);
    assert_no_nan_or_null(sum);
    assert_no_nan_or_null(se);
    for (size_t c = 0; c < 5; c++) {
        json_t *o = colj(sum, c);
        cr_assert_eq(jnum(o, "count"), 0);
        cr_assert_eq(jnum(o, "nulls"), (double)n);
        const char *absent[] = {"min",       "max",       "mean",       "std",
                                "quantiles", "histogram", "min_length", "min_time"};
        for (size_t k = 0; k < GY_ARRAY_LEN(absent); k++)
            cr_assert_null(json_object_get(o, absent[k]), "column %zu has \"%s\"", c, absent[k]);
        cr_assert_eq(jnum(o, "distinct"), 0);
        cr_assert_eq(jnum(colj(se, c), "count"), 0);
    }
    /* All-null state round-trips too. */
    struct gy_buf b;
    save_to(p, &b);
    cr_assert(load_any(b.data, b.len, s));
    gy_buf_free(&b);
    json_decref(sum);
    json_decref(se);
    gy__profile_free(p);
    gy__profile_free(empty);
    gy_schema_free(s);
    dataset_free(&d);
}

Test(profile, infinities_are_counted_not_averaged)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_FLOAT64};
    struct gy_schema *s = mk_schema(2, types);
    struct gy_profile *p = mk_profile(s);
    struct rng r = {41};
    size_t n = 20000, nf = 0, npos = 0, nneg = 0, nnull = 0;
    double *x = gy_malloc(n * sizeof *x), *fin = gy_malloc(n * sizeof *fin);
    uint8_t *valid = gy_malloc(n);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = rng_next(&r) % 50;
        valid[i] = k != 0;
        x[i] = k == 1 ? INFINITY : k == 2 ? -INFINITY : k == 3 ? NAN : rng_normal(&r) * 3 + 1;
        if (!valid[i] || k == 3)
            nnull++;
        else if (k == 1)
            npos++;
        else if (k == 2)
            nneg++;
        else
            fin[nf++] = x[i];
    }
    add_f64(p, 0, x, valid, n, 5000);
    double only_inf[3] = {INFINITY, -INFINITY, INFINITY}, few[4] = {1, INFINITY, 2, 1};
    add_f64(p, 1, only_inf, NULL, 3, 3);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    assert_no_nan_or_null(sum);
    cr_assert_eq(jnum(c, "count"), (double)(nf + npos + nneg));
    cr_assert_eq(jnum(c, "nulls"), (double)nnull, "NaN counts as null");
    cr_assert_eq(jnum(c, "pos_inf"), (double)npos);
    cr_assert_eq(jnum(c, "neg_inf"), (double)nneg);
    long double m = 0, m2 = 0;
    for (size_t i = 0; i < nf; i++)
        m += fin[i];
    m /= nf;
    for (size_t i = 0; i < nf; i++)
        m2 += (fin[i] - m) * (fin[i] - m);
    cr_assert(rel_close(jnum(c, "mean"), (double)m, 1e-12));
    cr_assert(rel_close(jnum(c, "std"), (double)sqrtl(m2 / (nf - 1)), 1e-12));
    qsort(fin, nf, sizeof *fin, cmp_f64);
    cr_assert_eq(jnum(c, "max"), fin[nf - 1]);
    cr_assert_eq(jnum(c, "min"), fin[0]);
    json_t *counts = json_object_get(json_object_get(c, "histogram"), "counts");
    double tot = 0;
    for (size_t i = 0; i < json_array_size(counts); i++)
        tot += (double)json_integer_value(json_array_get(counts, i));
    cr_assert_eq(tot, (double)nf);
    double dist = jnum(c, "distinct");
    cr_assert(fabs(dist - (double)(nf + 2)) <= 0.05 * (double)nf, "distinct %g of %zu", dist,
              nf + 2);

    c = colj(sum, 1);
    cr_assert_eq(jnum(c, "count"), 3);
    cr_assert_eq(jnum(c, "pos_inf"), 2);
    cr_assert_null(json_object_get(c, "mean"));
    cr_assert_null(json_object_get(c, "quantiles"));
    cr_assert_eq(jnum(c, "distinct"), 2);
    add_f64(p, 1, few, NULL, 4, 4); /* exact: {1, 2, +inf, -inf} */
    json_decref(sum);
    sum = summary_of(p);
    c = colj(sum, 1);
    cr_assert_eq(jnum(c, "distinct"), 4);
    cr_assert(json_is_true(json_object_get(c, "top_exact")));
    cr_assert_eq(jnum(c, "max"), 2);
    cr_assert_eq(jnum(c, "mean"), 4.0 / 3);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(x);
    gy_free(fin);
    gy_free(valid);
}

/* ------------------------------------------------------------------ top values, distinct */

Test(profile, string_top_values_exact)
{
    enum gy_type types[] = {GY_TYPE_STRING};
    struct gy_schema *s = mk_schema(1, types);
    struct gy_profile *p = mk_profile(s);
    struct strs st;
    memset(&st, 0, sizeof st);
    /* Value "v<k>" appears k+1 times for k < 200, except v198 which ties with v199. */
    size_t total = 0, *order;
    for (size_t k = 0; k < 200; k++)
        total += k == 198 ? 200 : k + 1;
    order = gy_malloc(total * sizeof *order);
    size_t m = 0;
    for (size_t k = 0; k < 200; k++)
        for (size_t j = 0; j < (k == 198 ? 200 : k + 1); j++)
            order[m++] = k;
    struct rng r = {43};
    for (size_t i = total - 1; i > 0; i--) {
        size_t j = rng_next(&r) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    uint64_t lensum = 0;
    for (size_t i = 0; i < total; i++) {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "v%zu", order[i]);
        strs_push(&st, buf, (size_t)len);
        lensum += (uint64_t)len;
    }
    add_strs(p, 0, &st, NULL, 0, total, 1000);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    cr_assert(json_is_true(json_object_get(c, "top_exact")));
    cr_assert_eq(jnum(c, "distinct"), 200);
    cr_assert_eq(jnum(c, "min_length"), 2);
    cr_assert_eq(jnum(c, "max_length"), 4);
    cr_assert(rel_close(jnum(c, "mean_length"), (double)lensum / (double)total, 1e-15));
    json_t *top = json_object_get(c, "top");
    cr_assert_eq(json_array_size(top), 20);
    /* 200 x v198, 200 x v199 (tie broken by value), then v197 (198), v196 (197), ... */
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(top, 0), "value")), "v198");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(top, 1), "value")), "v199");
    for (size_t i = 0; i < 20; i++) {
        json_t *t = json_array_get(top, i);
        size_t k = i < 2 ? 198 + i : 199 - i;
        char want[64];
        snprintf(want, sizeof want, "v%zu", k);
        cr_assert_str_eq(json_string_value(json_object_get(t, "value")), want);
        cr_assert_eq(json_integer_value(json_object_get(t, "count")),
                     (json_int_t)(k >= 198 ? 200 : k + 1));
    }
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    strs_free(&st);
    gy_free(order);
}

Test(profile, string_heavy_hitter_and_truncation)
{
    enum gy_type types[] = {GY_TYPE_STRING};
    struct gy_schema *s = mk_schema(1, types);
    struct gy_profile *p = mk_profile(s);
    struct strs st;
    memset(&st, 0, sizeof st);
    struct rng r = {47};
    size_t n = 200000, heavy = 0, longs = 0;
    char longbuf[1100];
    /* 300 bytes of 'x' then a varying suffix, and a multibyte character across byte 256. */
    memset(longbuf, 'x', sizeof longbuf);
    memcpy(longbuf + 255, "\xc3\xa9", 2);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = rng_next(&r) % 100;
        if (k < 10) {
            strs_push(&st, "heavy", 5);
            heavy++;
        } else if (k == 10) {
            int len = snprintf(longbuf + 300, 32, "%zu", i);
            strs_push(&st, longbuf, 300 + (size_t)len);
            longs++;
        } else {
            char buf[64];
            int len = snprintf(buf, sizeof buf, "id-%u", (unsigned)(rng_next(&r) % 50000));
            strs_push(&st, buf, (size_t)len);
        }
    }
    add_strs(p, 0, &st, NULL, 0, n, 65536);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    assert_no_nan_or_null(sum);
    cr_assert(json_is_false(json_object_get(c, "top_exact")));
    double err = jnum(c, "top_error");
    cr_assert(err > 0 && err <= (double)n / 257);
    json_t *top = json_object_get(c, "top");
    json_t *t0 = json_array_get(top, 0);
    cr_assert_str_eq(json_string_value(json_object_get(t0, "value")), "heavy");
    double cnt = jnum(t0, "count");
    cr_assert(cnt <= (double)heavy && cnt >= (double)heavy - err, "heavy %g of %zu", cnt, heavy);
    /* The long values share their first 256 bytes: one truncated entry, cut before the
     * two-byte character that straddles byte 256. */
    json_t *t1 = json_array_get(top, 1);
    cr_assert(json_is_true(json_object_get(t1, "truncated")));
    cr_assert_eq(strlen(json_string_value(json_object_get(t1, "value"))), 255);
    cr_assert(jnum(t1, "count") <= (double)longs && jnum(t1, "count") >= (double)longs - err);
    cr_assert_eq(jnum(c, "max_length"), 300 + 6);
    double dist = jnum(c, "distinct"), want = 50000.0 + 1 + (double)longs;
    cr_assert(fabs(dist - want) <= 0.05 * want, "distinct %g, about %g", dist, want);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    strs_free(&st);
}

Test(profile, top_counts_are_bounded_under_reduction)
{
    enum gy_type types[] = {GY_TYPE_INT64};
    struct gy_schema *s = mk_schema(1, types);
    struct gy_profile *p = mk_profile(s);
    struct rng r = {59};
    enum { N = 200000, D = 5000 };
    int64_t *v = gy_malloc(N * sizeof *v);
    uint64_t *truth = gy_calloc(D, sizeof *truth);
    double *cdf = gy_malloc(D * sizeof *cdf), z = 0;
    for (size_t k = 0; k < D; k++) /* Zipf: frequency of value k ~ 1 / (k + 1) */
        cdf[k] = (z += 1.0 / (double)(k + 1));
    for (size_t i = 0; i < N; i++) {
        double u = rng_unif(&r) * z;
        size_t lo = 0, hi = D - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        v[i] = (int64_t)lo * 3 - 1000;
        truth[lo]++;
    }
    /* Streamed, and merged from 8 pieces (merges reduce by larger amounts). */
    struct gy_profile *m = mk_profile(s);
    add_i64(p, 0, GY_TYPE_INT64, v, NULL, N, 65536);
    for (size_t k = 0; k < 8; k++) {
        struct gy_profile *part = mk_profile(s);
        add_i64(part, 0, GY_TYPE_INT64, v + k * (N / 8), NULL, N / 8, 65536);
        cr_assert_eq(gy__profile_merge(m, part), GY_OK);
        gy__profile_free(part);
    }
    for (int pass = 0; pass < 2; pass++) {
        json_t *sum = summary_of(pass ? m : p), *c = colj(sum, 0);
        cr_assert(json_is_false(json_object_get(c, "top_exact")));
        double err = jnum(c, "top_error");
        cr_assert(err >= 1 && err <= (double)N / 257, "top_error %g", err);
        json_t *top = json_object_get(c, "top");
        cr_assert_eq(json_array_size(top), 20);
        for (size_t i = 0; i < 20; i++) {
            json_t *t = json_array_get(top, i);
            int64_t val = json_integer_value(json_object_get(t, "value"));
            double cnt = jnum(t, "count"), real = (double)truth[(val + 1000) / 3];
            cr_assert(cnt <= real && cnt >= real - err,
                      "%s: value %lld: count %g, true %g, error %g", pass ? "merged" : "streamed",
                      (long long)val, cnt, real, err);
            if (i < 10) /* the heaviest values are far above the error: found in order */
                cr_assert_eq(val, (int64_t)i * 3 - 1000);
        }
        json_decref(sum);
    }
    gy__profile_free(m);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(v);
    gy_free(truth);
    gy_free(cdf);
}

Test(profile, distinct_estimate_within_two_percent)
{
    enum gy_type types[] = {GY_TYPE_INT64, GY_TYPE_STRING, GY_TYPE_FLOAT64, GY_TYPE_INT64};
    struct gy_schema *s = mk_schema(4, types);
    struct gy_profile *p = mk_profile(s);
    size_t n = 100000;
    int64_t *iv = gy_malloc(2 * n * sizeof *iv), *small = gy_malloc(n * sizeof *small);
    double *x = gy_malloc(n * sizeof *x);
    struct strs st;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < 2 * n; i++)
        iv[i] = (int64_t)(i % n); /* every value twice */
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "user-%zu@example.com", i * 7919 % n);
        strs_push(&st, buf, (size_t)len);
        x[i] = (double)i * 0.001;
        small[i] = (int64_t)(i % 500) * 1000003;
    }
    add_i64(p, 0, GY_TYPE_INT64, iv, NULL, 2 * n, 65536);
    add_strs(p, 1, &st, NULL, 0, n, 65536);
    add_f64(p, 2, x, NULL, n, 65536);
    add_i64(p, 3, GY_TYPE_INT64, small, NULL, n, 65536);
    json_t *sum = summary_of(p);
    for (size_t c = 0; c < 3; c++) {
        double d = jnum(colj(sum, c), "distinct");
        cr_assert(fabs(d - (double)n) <= 0.02 * (double)n, "column %zu: distinct %g", c, d);
    }
    /* 500 distinct values: still exact. */
    cr_assert(json_is_true(json_object_get(colj(sum, 3), "top_exact")));
    cr_assert_eq(jnum(colj(sum, 3), "distinct"), 500);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(iv);
    gy_free(small);
    gy_free(x);
    strs_free(&st);
}

Test(profile, bool_and_timestamp_columns)
{
    enum gy_type types[] = {GY_TYPE_BOOL, GY_TYPE_TIMESTAMP};
    struct gy_schema *s = mk_schema(2, types);
    struct gy_profile *p = mk_profile(s);
    uint8_t b[10] = {1, 0, 1, 1, 0, 1, 1, 0, 1, 1}, valid[10] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 1};
    int64_t ts[3] = {1714564800000000LL, 1714521600000000LL, 1714608000123456LL};
    add_bool(p, 0, b, valid, 10, 4);
    add_i64(p, 1, GY_TYPE_TIMESTAMP, ts, NULL, 3, 3);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    cr_assert_eq(jnum(c, "count"), 9);
    cr_assert_eq(jnum(c, "true"), 6);
    cr_assert_eq(jnum(c, "distinct"), 2);
    json_t *top = json_object_get(c, "top");
    cr_assert(json_is_true(json_object_get(json_array_get(top, 0), "value")));
    cr_assert_eq(jnum(json_array_get(top, 0), "count"), 6);
    cr_assert(json_is_false(json_object_get(json_array_get(top, 1), "value")));
    cr_assert_null(json_object_get(c, "mean"));
    c = colj(sum, 1);
    cr_assert_str_eq(json_string_value(json_object_get(c, "min_time")),
                     "2024-05-01T00:00:00.000000Z");
    cr_assert_str_eq(json_string_value(json_object_get(c, "max_time")),
                     "2024-05-02T00:00:00.123456Z");
    cr_assert_eq(jnum(c, "min"), 1714521600000000.0);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
}

/* ------------------------------------------------------------------ histograms */

/* Recounts @p x into the summary's bins; asserts the counts match exactly. */
static void check_histogram(const json_t *col, const double *x, size_t n)
{
    json_t *h = json_object_get(col, "histogram");
    json_t *edges = json_object_get(h, "edges"), *counts = json_object_get(h, "counts");
    size_t nb = json_array_size(counts);
    cr_assert(nb >= 1 && nb <= 64 && json_array_size(edges) == nb + 1, "%zu bins", nb);
    double *e = gy_malloc((nb + 1) * sizeof *e);
    uint64_t *c = gy_calloc(nb, sizeof *c), total = 0;
    for (size_t i = 0; i <= nb; i++) {
        e[i] = json_number_value(json_array_get(edges, i));
        cr_assert(isfinite(e[i]));
        if (i)
            cr_assert(e[i] > e[i - 1]);
    }
    /* Equal power-of-two widths, edges aligned to them (unless clamped at the double range). */
    double w = 0;
    for (size_t i = 0; i < nb; i++) {
        if (fabs(e[i]) == DBL_MAX || fabs(e[i + 1]) == DBL_MAX)
            continue; /* clamped at the end of the double range */
        int ex;
        if (w == 0)
            w = e[i + 1] - e[i];
        cr_assert_eq(e[i + 1] - e[i], w, "unequal bins");
        cr_assert_eq(frexp(w, &ex), 0.5, "width %g is not a power of two", w);
        cr_assert_eq(fmod(e[i], w), 0.0, "edge %.17g not aligned to %g", e[i], w);
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        size_t lo = 0, hi = nb;
        cr_assert(x[i] >= e[0] && (x[i] < e[nb] || e[nb] == DBL_MAX), "%.17g outside", x[i]);
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (x[i] >= e[mid])
                lo = mid;
            else
                hi = mid;
        }
        c[lo]++;
    }
    for (size_t i = 0; i < nb; i++) {
        uint64_t got = (uint64_t)json_integer_value(json_array_get(counts, i));
        cr_assert_eq(got, c[i], "bin %zu [%.17g, %.17g): %llu, recounted %llu", i, e[i], e[i + 1],
                     (unsigned long long)got, (unsigned long long)c[i]);
        total += got;
    }
    cr_assert_eq((double)total, jnum(col, "count") - jnum(col, "pos_inf") - jnum(col, "neg_inf"));
    cr_assert(json_integer_value(json_array_get(counts, 0)) > 0 &&
              json_integer_value(json_array_get(counts, nb - 1)) > 0);
    gy_free(e);
    gy_free(c);
}

Test(profile, histogram_counts_every_value_in_its_bin)
{
    enum { NCASE = 6 };
    enum gy_type types[NCASE];
    for (size_t i = 0; i < NCASE; i++)
        types[i] = GY_TYPE_FLOAT64;
    struct gy_schema *s = mk_schema(NCASE, types);
    struct gy_profile *p = mk_profile(s);
    struct rng r = {53};
    size_t n = 50000;
    double *x = gy_malloc(NCASE * n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double u = rng_normal(&r);
        x[0 * n + i] = 100 + 15 * u;                              /* bell */
        x[1 * n + i] = (i % 2 ? 1 : -1) * exp(40 * rng_unif(&r)); /* wide, both signs */
        x[2 * n + i] = i < n / 2 ? 1e-300 * u : 1e300 * u;        /* huge range, grows */
        x[3 * n + i] = (i % 3 ? 1 : -1) * DBL_MAX * rng_unif(&r); /* the whole range */
        x[4 * n + i] = 4.9406564584124654e-324 * (double)(i % 9); /* subnormals */
        x[5 * n + i] = 1e6 + (double)(i % 5) * 0x1p-30;           /* narrow at large */
    }
    for (size_t k = 0; k < NCASE; k++)
        add_f64(p, k, x + k * n, NULL, n, 7919);
    json_t *sum = summary_of(p);
    assert_no_nan_or_null(sum);
    for (size_t k = 0; k < NCASE; k++)
        check_histogram(colj(sum, k), x + k * n, n);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(x);
}

Test(profile, integer_histogram_full_range)
{
    enum gy_type types[] = {GY_TYPE_INT64};
    struct gy_schema *s = mk_schema(1, types);
    struct gy_profile *p = mk_profile(s);
    int64_t v[6] = {INT64_MIN, -1, 0, 1, INT64_MAX, INT64_MAX};
    add_i64(p, 0, GY_TYPE_INT64, v, NULL, 6, 2);
    json_t *sum = summary_of(p), *c = colj(sum, 0);
    cr_assert_eq(json_integer_value(json_object_get(c, "min")), INT64_MIN);
    cr_assert_eq(json_integer_value(json_object_get(c, "max")), INT64_MAX);
    json_t *counts = json_object_get(json_object_get(c, "histogram"), "counts");
    uint64_t tot = 0;
    for (size_t i = 0; i < json_array_size(counts); i++)
        tot += (uint64_t)json_integer_value(json_array_get(counts, i));
    cr_assert_eq(tot, 6);
    cr_assert(rel_close(jnum(c, "mean"), (double)(((long double)INT64_MAX - 1) / 6), 1e-15));
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
}

/* ------------------------------------------------------------------ input checks */

Test(profile, add_rejects_bad_batches)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_STRING};
    struct gy_schema *s = mk_schema(2, types);
    struct gy_profile *p = mk_profile(s);
    int64_t iv[2] = {1, 2};
    struct gy_colvec v;
    memset(&v, 0, sizeof v);
    v.type = GY_TYPE_INT64;
    v.n = 2;
    v.i64 = iv;
    cr_assert_eq(gy__profile_add(p, 0, &v), GY_E_SCHEMA);
    cr_assert_eq(gy__profile_add(p, 2, &v), GY_E_INVALID);
    uint32_t off[3] = {0, 5, 3};
    char data[8] = "abcdefg";
    memset(&v, 0, sizeof v);
    v.type = GY_TYPE_STRING;
    v.n = 2;
    v.off = off;
    v.data = data;
    v.data_len = 7;
    cr_assert_eq(gy__profile_add(p, 1, &v), GY_E_INVALID, "offsets going backwards");
    off[2] = 9;
    cr_assert_eq(gy__profile_add(p, 1, &v), GY_E_INVALID, "offsets past the data");
    memset(&v, 0, sizeof v);
    v.type = GY_TYPE_FLOAT64;
    v.n = 3;
    cr_assert_eq(gy__profile_add(p, 0, &v), GY_E_INVALID, "no values array");
    json_t *sum = summary_of(p);
    cr_assert_eq(jnum(colj(sum, 0), "count"), 0, "rejected batches change nothing");
    cr_assert_eq(jnum(colj(sum, 1), "count"), 0);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
}

/* ------------------------------------------------------------------ float64 top values */

/* Loads saved state back and returns the summary of the copy. */
static json_t *reloaded_summary(const struct gy_profile *p, const struct gy_schema *s)
{
    struct gy_buf b;
    struct gy_profile *q = NULL;
    save_to(p, &b);
    cr_assert_eq(gy__profile_load(b.data, b.len, s, &q), GY_OK, "%s", gy_error_msg());
    json_t *sum = summary_of(q);
    gy__profile_free(q);
    gy_buf_free(&b);
    return sum;
}

Test(profile, float_top_values_stop_past_1024_distinct)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_FLOAT64};
    struct gy_schema *s = mk_schema(2, types);
    struct gy_profile *whole = mk_profile(s), *merged = mk_profile(s);
    enum { N = 100000 };
    double *x = gy_malloc(N * sizeof *x), *codes = gy_malloc(N * sizeof *codes);
    struct rng r = {71};
    /* Column 0: 600 distinct values in each half, 1200 together; column 1: 5 codes. */
    for (size_t i = 0; i < N; i++) {
        x[i] = (double)(rng_next(&r) % 600) + (i < N / 2 ? 0.0 : 0.5);
        codes[i] = (double)(rng_next(&r) % 5);
    }
    add_f64(whole, 0, x, NULL, N, 65536);
    add_f64(whole, 1, codes, NULL, N, 65536);
    for (int h = 0; h < 2; h++) {
        struct gy_profile *part = mk_profile(s);
        add_f64(part, 0, x + h * (N / 2), NULL, N / 2, 4096);
        add_f64(part, 1, codes + h * (N / 2), NULL, N / 2, 4096);
        if (h == 0) { /* the first half alone is tracked exactly */
            json_t *sum = summary_of(part), *c = colj(sum, 0);
            cr_assert(json_is_true(json_object_get(c, "top_exact")));
            cr_assert_eq(jnum(c, "distinct"), 600);
            cr_assert_eq(json_array_size(json_object_get(c, "top")), 20);
            json_decref(sum);
        }
        cr_assert_eq(gy__profile_merge(merged, part), GY_OK);
        gy__profile_free(part);
    }
    json_t *sums[3] = {summary_of(whole), summary_of(merged), reloaded_summary(merged, s)};
    for (int k = 0; k < 3; k++) {
        json_t *c0 = colj(sums[k], 0), *c1 = colj(sums[k], 1);
        assert_no_nan_or_null(sums[k]);
        cr_assert(json_is_false(json_object_get(c0, "top_exact")), "summary %d", k);
        cr_assert(json_is_false(json_object_get(c0, "top_tracked")), "summary %d", k);
        cr_assert_eq(json_array_size(json_object_get(c0, "top")), 0);
        cr_assert_eq(jnum(c0, "top_error"), N);
        double dist = jnum(c0, "distinct");
        cr_assert(dist > 1024 && fabs(dist - 1200) <= 0.05 * 1200, "distinct %g", dist);
        /* Low-cardinality float columns keep exact top values. */
        cr_assert(json_is_true(json_object_get(c1, "top_exact")));
        cr_assert_null(json_object_get(c1, "top_tracked"));
        cr_assert_eq(json_array_size(json_object_get(c1, "top")), 5);
        cr_assert_eq(jnum(c1, "distinct"), 5);
        const char *keys[] = {"top", "top_exact", "top_error", "top_tracked", "distinct"};
        for (size_t i = 0; i < GY_ARRAY_LEN(keys); i++)
            cr_assert(json_equal(json_object_get(c0, keys[i]),
                                 json_object_get(colj(sums[0], 0), keys[i])),
                      "summary %d: \"%s\" differs from streaming", k, keys[i]);
    }
    /* Stopped state is saved compactly and merges as stopped. */
    struct gy_buf bw, bm;
    save_to(whole, &bw);
    save_to(merged, &bm);
    for (int k = 0; k < 2; k++) { /* the mark 0xFFFF, a zero error and no entries */
        const uint8_t *top = state_section(k ? &bm : &bw, s, 0, 0);
        static const uint8_t mark[10] = {0xFF, 0xFF};
        cr_assert(top && memcmp(top, mark, sizeof mark) == 0, "state %d: top values section", k);
    }
    cr_assert(state_hll(&bw, s, 0) != NULL);
    struct gy_profile *again = mk_profile(s);
    add_f64(again, 0, x, NULL, 10, 10); /* few values: exact until merged with a stopped one */
    cr_assert_eq(gy__profile_merge(again, whole), GY_OK);
    json_t *sa = summary_of(again);
    cr_assert(json_is_false(json_object_get(colj(sa, 0), "top_tracked")));
    json_decref(sa);
    for (int k = 0; k < 3; k++)
        json_decref(sums[k]);
    gy_buf_free(&bw);
    gy_buf_free(&bm);
    gy__profile_free(again);
    gy__profile_free(whole);
    gy__profile_free(merged);
    gy_schema_free(s);
    gy_free(x);
    gy_free(codes);
}

/* ------------------------------------------------------------------ quantile sketch shapes */

/*
 * Profiles column 0 of @p x (n values) with @p batch-sized adds (or as @p parts profiles
 * merged in order when parts > 1), then checks every quantile against the sorted data within
 * the stated rank error, and that the error is at most @p max_err (a fraction of n).
 */
static json_t *sketch_check(const double *x, size_t n, size_t batch, size_t parts, double max_err)
{
    enum gy_type types[] = {GY_TYPE_FLOAT64};
    struct gy_schema *s = mk_schema(1, types);
    struct gy_profile *p = mk_profile(s);
    double *sorted = gy_malloc(n * sizeof *sorted);
    for (size_t k = 0; k < parts; k++) {
        size_t from = n * k / parts, to = n * (k + 1) / parts;
        struct gy_profile *part = parts > 1 ? mk_profile(s) : p;
        add_f64(part, 0, (double *)x + from, NULL, to - from, batch);
        if (parts > 1) {
            cr_assert_eq(gy__profile_merge(p, part), GY_OK, "%s", gy_error_msg());
            gy__profile_free(part);
        }
    }
    json_t *sum = summary_of(p);
    json_t *c = json_incref(colj(sum, 0));
    memcpy(sorted, x, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_f64);
    check_quantiles_in_bound(c, sorted, n);
    double err = jnum(c, "quantile_rank_error");
    cr_assert(err <= max_err, "stated rank error %g above %g (n %zu, batch %zu, parts %zu)", err,
              max_err, n, batch, parts);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(sorted);
    return c;
}

Test(profile, sketch_bound_holds_for_every_shape)
{
    enum { N = 400000 };
    double *x = gy_malloc(N * sizeof *x);
    struct rng r = {5};
    for (int shape = 0; shape < 7; shape++) {
        for (size_t i = 0; i < N; i++) {
            double z = rng_normal(&r);
            switch (shape) {
            case 0: /* bell-shaped, like the benchmark's columns */
                x[i] = round((z * 6 + 3) * 1e6) / 1e6;
                break;
            case 1: /* heavy tail over many binades */
                x[i] = exp(6 * z);
                break;
            case 2: /* two values */
                x[i] = rng_next(&r) % 3 ? 1.0 : -2.5;
                break;
            case 3: /* the whole double range: value-width buckets cannot scale */
                x[i] = i % 1000 == 0 ? (i % 2000 ? DBL_MAX : -DBL_MAX) : z;
                break;
            case 4: /* subnormals and zeros */
                x[i] = i % 5 ? z * 0x1p-1060 : 0.0;
                break;
            case 5: /* sorted input */
                x[i] = (double)i * 0.5 - 1000;
                break;
            default: /* one outlier far from a tight cluster: crowded buckets, recursion */
                x[i] = i == 12345 ? 1e12 : 1 + z * 1e-9;
                break;
            }
        }
        /* whole chunks (compacted where they are), odd batches (through level 0), merges */
        json_t *a = sketch_check(x, N, 65536, 1, 0.0015);
        json_t *b = sketch_check(x, N, 999, 1, 0.0015);
        json_decref(sketch_check(x, N, 65536, 7, 0.003));
        /* the sketch depends on the values, not on how they were batched */
        cr_assert(json_equal(json_object_get(a, "quantiles"), json_object_get(b, "quantiles")),
                  "shape %d: quantiles differ by batch size", shape);
        cr_assert_eq(jnum(a, "quantile_rank_error"), jnum(b, "quantile_rank_error"));
        json_decref(a);
        json_decref(b);
    }
    gy_free(x);
}

/* The stated bound is exactly 32 per level-0 compaction plus 2^h per level-h compaction:
 * for one million values in chunks that is 15 * 32 + 3 * 64 + 1 * 128 = 800. */
Test(profile, sketch_bound_of_a_million_values)
{
    enum { N = 1000000 };
    double *x = gy_malloc(N * sizeof *x);
    struct rng r = {9};
    for (size_t i = 0; i < N; i++)
        x[i] = rng_normal(&r);
    json_t *c = sketch_check(x, N, 65536, 1, 1.0);
    cr_assert_eq(jnum(c, "quantile_rank_error"), 800.0 / N, "%.9g", jnum(c, "quantile_rank_error"));
    json_decref(c);
    /* fewer values than one level-0 buffer: exact (numpy's interpolation, tested above) */
    enum gy_type types[] = {GY_TYPE_FLOAT64};
    struct gy_schema *s = mk_schema(1, types);
    struct gy_profile *p = mk_profile(s);
    add_f64(p, 0, x, NULL, 65535, 4000);
    json_t *sum = summary_of(p);
    cr_assert_eq(jnum(colj(sum, 0), "quantile_rank_error"), 0.0);
    json_decref(sum);
    add_f64(p, 0, x, NULL, 1, 1); /* the 65536th value compacts level 0 */
    sum = summary_of(p);
    cr_assert_eq(jnum(colj(sum, 0), "quantile_rank_error"), 32.0 / 65536);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(x);
}

Test(profile, integer_sketch_bound)
{
    enum { N = 300000 };
    enum gy_type types[] = {GY_TYPE_INT64};
    struct gy_schema *s = mk_schema(1, types);
    struct gy_profile *p = mk_profile(s);
    int64_t *v = gy_malloc(N * sizeof *v);
    double *sorted = gy_malloc(N * sizeof *sorted);
    struct rng r = {13};
    for (size_t i = 0; i < N; i++)
        v[i] = i % 3 ? (int64_t)(rng_next(&r) % 1000000) - 500000 : (int64_t)(i % 7);
    add_i64(p, 0, GY_TYPE_INT64, v, NULL, N, 65536);
    json_t *sum = summary_of(p);
    for (size_t i = 0; i < N; i++)
        sorted[i] = (double)v[i];
    qsort(sorted, N, sizeof *sorted, cmp_f64);
    check_quantiles_in_bound(colj(sum, 0), sorted, N);
    cr_assert(jnum(colj(sum, 0), "quantile_rank_error") <= 0.0015);
    json_decref(sum);
    gy__profile_free(p);
    gy_schema_free(s);
    gy_free(v);
    gy_free(sorted);
}

/* ------------------------------------------------------------------ format 1 */

/*
 * tests/unit/lake/data/profile_v1.bin was saved by the format-1 code (before level 0 took
 * whole chunks) from this data: columns x (float64, every 97th row null) and n (int64), added
 * in batches of 5000.
 */
#define V1_N 20000
static void fixture_v1_data(double *x, int64_t *n, uint8_t *valid)
{
    uint64_t st = 2024;
    for (size_t i = 0; i < V1_N; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)((st >> 11) % 1000000) / 1000000.0 - 0.5;
        x[i] = round((u * u * u * 800 + 10) * 1e6) / 1e6;
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        n[i] = (int64_t)((st >> 11) % 5000) - 1000;
        valid[i] = i % 97 != 0;
    }
}

Test(profile, format_1_state_loads_saves_and_merges)
{
    static double x[2 * V1_N], sorted[2 * V1_N];
    static int64_t n[2 * V1_N];
    static uint8_t valid[2 * V1_N];
    enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64};
    struct gy_schema *s = mk_schema(2, types);
    FILE *f = fopen("tests/unit/lake/data/profile_v1.bin", "rb");
    cr_assert_not_null(f, "run from the repository root");
    static uint8_t state[1 << 20];
    size_t len = fread(state, 1, sizeof state, f);
    fclose(f);
    cr_assert(len > 20 && state[4] == 1, "a format-1 state");
    fixture_v1_data(x, n, valid);
    for (size_t i = V1_N; i < 2 * V1_N; i++) { /* more rows, added by this build */
        x[i] = x[i - V1_N] * 1.5;
        n[i] = n[i - V1_N] + 7;
        valid[i] = 1;
    }
    for (int round = 0; round < 2; round++) {
        size_t rows = round ? 2 * V1_N : V1_N, m = 0;
        struct gy_profile *p = NULL;
        cr_assert_eq(gy__profile_load(state, len, s, &p), GY_OK, "%s", gy_error_msg());
        if (round)
            add_f64(p, 0, x + V1_N, NULL, V1_N, 3000),
                add_i64(p, 1, GY_TYPE_INT64, n + V1_N, NULL, V1_N, 3000);
        json_t *sum = summary_of(p), *c = colj(sum, 0);
        for (size_t i = 0; i < rows; i++)
            if (valid[i])
                sorted[m++] = x[i];
        cr_assert_eq(jnum(c, "count"), (double)m);
        cr_assert_eq(jnum(c, "nulls"), (double)(rows - m));
        qsort(sorted, m, sizeof *sorted, cmp_f64);
        cr_assert(jnum(c, "quantile_rank_error") > 0);
        check_quantiles_in_bound(c, sorted, m);
        for (size_t i = 0; i < rows; i++)
            sorted[i] = (double)n[i];
        qsort(sorted, rows, sizeof *sorted, cmp_f64);
        check_quantiles_in_bound(colj(sum, 1), sorted, rows);
        /* saved as read while unchanged, as format 2 once rows were added; either loads to
         * the same summary */
        struct gy_buf b;
        save_to(p, &b);
        cr_assert_eq(((const uint8_t *)b.data)[4], round ? 2 : 1);
        if (!round)
            cr_assert(b.len == len && memcmp(b.data, state, len) == 0);
        json_t *again = reloaded_summary(p, s);
        for (size_t k = 0; k < 2; k++) { /* format 2 rounds format 1's level-0 count up to 32s */
            json_t *c0 = colj(sum, k), *c1 = colj(again, k);
            double e0 = jnum(c0, "quantile_rank_error"), e1 = jnum(c1, "quantile_rank_error");
            double cnt = jnum(c0, "count");
            cr_assert(e1 >= e0 && e1 <= e0 + 31 / cnt + 1e-9, "column %zu: %g then %g", k, e0, e1);
            json_object_del(c0, "quantile_rank_error");
            json_object_del(c1, "quantile_rank_error");
        }
        cr_assert(json_equal(sum, again));
        json_decref(again);
        json_decref(sum);
        gy_buf_free(&b);
        gy__profile_free(p);
    }
    gy_schema_free(s);
}
