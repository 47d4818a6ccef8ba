/* SPDX-License-Identifier: MIT */
/*
 * stats.c - the drift statistics on plain arrays: an LSD radix sort of doubles on their
 * IEEE-754 bit patterns, the two-sample KS statistic and p-value (SciPy's ks_2samp), the
 * Wasserstein-1 distance, NumPy's linear quantile, pairwise sum, mean and std, branch-free
 * binning on cut points, PSI, Jensen-Shannon distance, the chi-square test of homogeneity on
 * a 2 x k table, the two-proportion z-test and Benjamini-Hochberg adjusted p-values. The
 * same KS and Wasserstein walks also run over weighted sorted views, which is how sketches
 * are compared.
 *
 * Where SciPy evaluates a floating-point expression in a particular order the code below
 * does the same (noted at each place), so that the results agree to the last bits or very
 * nearly.
 */
#include "monitor/monitor_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------ sort */

static uint64_t ld64(const void *p, size_t i)
{
    uint64_t u;
    memcpy(&u, (const char *)p + i * 8, 8);
    return u;
}

static void st64(void *p, size_t i, uint64_t u)
{
    memcpy((char *)p + i * 8, &u, 8);
}

/* Order-preserving key of a double (not NaN); -0.0 maps to the key of +0.0. */
static uint64_t f2k(uint64_t u)
{
    if (u == 0x8000000000000000ULL)
        u = 0;
    return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}

static uint64_t k2f(uint64_t k)
{
    return (k >> 63) ? (k & 0x7fffffffffffffffULL) : ~k;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 6

enum gy_status gy_monitor_sort(double *v, size_t n, double *tmp)
{
    size_t(*hist)[RADIX_SIZE] = NULL;
    double *own = NULL;
    void *src, *dst;
    int passes[RADIX_PASSES], npass = 0;

    if (n < 256) {
        for (size_t i = 0; i < n; i++)
            if (v[i] == 0)
                v[i] = 0.0; /* -0.0 sorts as +0.0, as the radix path does */
        qsort(v, n, sizeof(double), cmp_double);
        return GY_OK;
    }
    hist = gy_calloc(RADIX_PASSES, sizeof(*hist));
    if (!tmp)
        tmp = own = gy_malloc(n * sizeof(double));
    if (!hist || !tmp) {
        gy_free(hist);
        gy_free(own);
        return gy_error_set(GY_E_NOMEM, "out of memory sorting %zu values", n);
    }
    /* One pass: keys in place and all six digit histograms. */
    for (size_t i = 0; i < n; i++) {
        uint64_t k = f2k(ld64(v, i));
        st64(v, i, k);
        for (int p = 0; p < RADIX_PASSES; p++)
            hist[p][(k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
    }
    /* Skip digits that are the same in every key (common for the low mantissa bits of
     * rounded data and the top bits of same-signed data). */
    for (int p = 0; p < RADIX_PASSES; p++) {
        size_t sum = 0, trivial = 0;
        for (unsigned b = 0; b < RADIX_SIZE; b++) {
            size_t c = hist[p][b];
            if (c == n)
                trivial = 1;
            hist[p][b] = sum;
            sum += c;
        }
        if (!trivial)
            passes[npass++] = p;
    }
    src = v;
    dst = tmp;
    for (int q = 0; q < npass; q++) {
        int p = passes[q], shift = p * RADIX_BITS, last = q == npass - 1;
        size_t *off = hist[p];
        for (size_t i = 0; i < n; i++) {
            uint64_t k = ld64(src, i);
            size_t o = off[(k >> shift) & (RADIX_SIZE - 1)]++;
            st64(dst, o, last ? k2f(k) : k);
        }
        void *t = src;
        src = dst;
        dst = t;
    }
    if (npass == 0) {
        for (size_t i = 0; i < n; i++)
            st64(v, i, k2f(ld64(v, i)));
    } else if (src != (void *)v) {
        memcpy(v, src, n * sizeof(double));
    }
    gy_free(hist);
    gy_free(own);
    return GY_OK;
}

/* ------------------------------------------------------------------ sums */

/* NumPy's pairwise summation (numpy/core/src/umath/loops_utils.h.src), element f(a[i]). */
static double pairwise(const double *a, size_t n, int sq, double mean)
{
#define ELEM(i) (sq ? (a[i] - mean) * (a[i] - mean) : a[i])
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += ELEM(i);
        return res;
    } else if (n <= 128) {
        double r[8], res;
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = ELEM((size_t)j);
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += ELEM(i + (size_t)j);
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += ELEM(i);
        return res;
    } else {
        size_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise(a, n2, sq, mean) + pairwise(a + n2, n - n2, sq, mean);
    }
#undef ELEM
}

double gy_monitor_sum(const double *v, size_t n)
{
    return 0.0 + pairwise(v, n, 0, 0);
}

void gy_monitor_mean_std(const double *v, size_t n, double *mean, double *std)
{
    double m;
    if (n == 0) {
        *mean = NAN;
        *std = NAN;
        return;
    }
    /* numpy.mean: add.reduce / n; numpy.std: sqrt(add.reduce((x - mean)**2) / n). */
    m = gy_monitor_sum(v, n) / (double)n;
    *mean = m;
    *std = sqrt((0.0 + pairwise(v, n, 1, m)) / (double)n);
}

/* ------------------------------------------------------------------ quantiles */

double gy_monitor_quantile_sorted(const double *v, size_t n, double q)
{
    /* numpy 'linear': virtual index (n-1)*q, lerp between its neighbours as _lerp does. */
    double vi = (double)(n - 1) * q, prev, gamma, a, b, diff;
    size_t i;
    if (n == 0)
        return NAN;
    if (vi >= (double)(n - 1))
        return v[n - 1];
    if (vi < 0)
        return v[0];
    prev = floor(vi);
    i = (size_t)prev;
    gamma = vi - prev;
    a = v[i];
    b = v[i + 1];
    diff = b - a;
    if (gamma >= 0.5)
        return b - diff * (1 - gamma);
    return a + diff * gamma;
}

/* ------------------------------------------------------------------ KS */

/* The walk over the pooled distinct values with the CDF difference kept as the exact integer
 * K = i*m - j*n; a double i/n - j/m is computed only where K reaches a new extreme, and SciPy's
 * extremes are the largest and smallest of those doubles (distinct K are at least 1/(nm)
 * apart, far more than rounding when nm < 2^51). */
static double ks_stat_int(const double *x, size_t n, const double *y, size_t m)
{
    int64_t K = 0, kmax = 0, kmin = 0, dn = (int64_t)n, dm = (int64_t)m;
    double dmax = 0.0, dmin = 0.0; /* the last pooled value has difference 0 exactly */
    size_t i = 0, j = 0;

    while (i + 1 < n && j + 1 < m) {
        double a = x[i], b = y[j], v = a < b ? a : b;
        size_t ta = a <= b, tb = b <= a;
        i += ta;
        j += tb;
        K += (int64_t)ta * dm - (int64_t)tb * dn;
        if ((K >= kmax || K <= kmin) && x[i] != v && y[j] != v) {
            double d = (double)i / (double)n - (double)j / (double)m;
            if (K > kmax || (K == kmax && d > dmax)) {
                kmax = K;
                dmax = d;
            }
            if (K < kmin || (K == kmin && d < dmin)) {
                kmin = K;
                dmin = d;
            }
        }
    }
    while (i < n && j < m) {
        double v = x[i] < y[j] ? x[i] : y[j];
        while (i < n && x[i] == v) {
            i++;
            K += dm;
        }
        while (j < m && y[j] == v) {
            j++;
            K -= dn;
        }
        if (K >= kmax || K <= kmin) {
            double d = (double)i / (double)n - (double)j / (double)m;
            if (K > kmax || (K == kmax && d > dmax)) {
                kmax = K;
                dmax = d;
            }
            if (K < kmin || (K == kmin && d < dmin)) {
                kmin = K;
                dmin = d;
            }
        }
    }
    /* SciPy: minS = clip(-min, 0, 1); d = minS if minS > maxS else maxS. */
    return -dmin > dmax ? -dmin : dmax;
}

/* The same walk computing the double difference at every pooled value (huge n*m). */
static double ks_stat_dbl(const double *x, size_t n, const double *y, size_t m)
{
    double dmax = 0.0, dmin = 0.0;
    size_t i = 0, j = 0;
    while (i < n && j < m) {
        double v = x[i] < y[j] ? x[i] : y[j], d;
        while (i < n && x[i] == v)
            i++;
        while (j < m && y[j] == v)
            j++;
        d = (double)i / (double)n - (double)j / (double)m;
        if (d > dmax)
            dmax = d;
        if (d < dmin)
            dmin = d;
    }
    return -dmin > dmax ? -dmin : dmax;
}

void gy_monitor_ks_sorted(const double *x, size_t n, const double *y, size_t m,
                          struct gy_monitor_ks *out)
{
    double d;
    if ((double)n * (double)m < 2251799813685248.0) /* 2^51 */
        d = ks_stat_int(x, n, y, m);
    else
        d = ks_stat_dbl(x, n, y, m);
    out->p_value = gy_monitor_ks_pvalue(n, m, d, 0, &out->method, &out->statistic);
}

/* ------------------------------------------------------------------ KS without sorting */

#define KSB_INNER 65536 /* buckets between lo and hi; plus one below and one above */

struct ksb {
    double lo, hi, scale;
};

/* An order-preserving bucket index: v1 <= v2 gives bucket(v1) <= bucket(v2). */
static size_t ksb_bucket(const struct ksb *b, double v)
{
    size_t k;
    if (v < b->lo)
        return 0;
    if (v > b->hi)
        return KSB_INNER + 1;
    k = (size_t)((v - b->lo) * b->scale);
    return 1 + (k < KSB_INNER - 1 ? k : KSB_INNER - 1);
}

/* Folds the point with counts (i, j) into the running extremes (see ks_stat_int). */
static void ks_point(int64_t K, size_t i, size_t j, size_t n, size_t m, int64_t *kmax, double *dmax,
                     int64_t *kmin, double *dmin)
{
    double d;
    if (K < *kmax && K > *kmin)
        return;
    d = (double)i / (double)n - (double)j / (double)m;
    if (K > *kmax || (K == *kmax && d > *dmax)) {
        *kmax = K;
        *dmax = d;
    }
    if (K < *kmin || (K == *kmin && d < *dmin)) {
        *kmin = K;
        *dmin = d;
    }
}

/* Sorting path for gy_monitor_ks_2samp. */
static enum gy_status ks_by_sorting(const double *x, size_t n, const double *y, size_t m,
                                    struct gy_monitor_ks *out)
{
    double *a = gy_malloc(n * sizeof(double)), *b = gy_malloc(m * sizeof(double));
    double *t = gy_malloc(GY_MAX(n, m) * sizeof(double));
    enum gy_status rc = GY_OK;
    if (!a || !b || !t) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory for the KS test");
        goto out;
    }
    memcpy(a, x, n * sizeof(double));
    memcpy(b, y, m * sizeof(double));
    if ((rc = gy_monitor_sort(a, n, t)) || (rc = gy_monitor_sort(b, m, t)))
        goto out;
    gy_monitor_ks_sorted(a, n, b, m, out);
out:
    gy_free(a);
    gy_free(b);
    gy_free(t);
    return rc;
}

/*
 * KS on unsorted samples without sorting them: count both into 65536 order-preserving
 * buckets (linear over a range taken from a sample, plus a bucket below and one above), which
 * gives the exact CDF difference at the last pooled value of every bucket and bounds it
 * inside each bucket. Only buckets whose bound reaches the best difference found can hold
 * the supremum; their values are gathered, sorted and merged exactly. The result is the same
 * double as the sorting path (every point whose K ties the extreme is evaluated).
 */
enum gy_status gy_monitor_ks_2samp(const double *x, size_t n, const double *y, size_t m,
                                   struct gy_monitor_ks *out)
{
    const size_t NB = KSB_INNER + 2;
    struct ksb kb;
    uint32_t *cx = NULL, *cy = NULL, *ox = NULL, *oy = NULL;
    uint8_t *cand = NULL;
    double *gx = NULL, *gy = NULL, smp[4096], dmax = 0.0, dmin = 0.0, d;
    size_t ns = 0, ngx = 0, ngy = 0, fx = 0, gyc = 0;
    int64_t kmax = 0, kmin = 0, dn = (int64_t)n, dm = (int64_t)m;
    enum gy_status rc = GY_OK;

    if (n == 0 || m == 0)
        return gy_error_set(GY_E_INVALID, "the KS test needs values on both sides");
    if (n + m < 8192 || n >= UINT32_MAX || m >= UINT32_MAX ||
        (double)n * (double)m >= 2251799813685248.0)
        return ks_by_sorting(x, n, y, m, out);
    /* The bucket range: the 0.1% and 99.9% points of a strided sample of both sides. */
    for (size_t i = 0; i < 2048; i++) {
        smp[ns++] = x[(size_t)((double)i * (double)n / 2048.0)];
        smp[ns++] = y[(size_t)((double)i * (double)m / 2048.0)];
    }
    qsort(smp, ns, sizeof(double), cmp_double);
    kb.lo = smp[4];
    kb.hi = smp[ns - 5];
    kb.scale = (double)KSB_INNER / (kb.hi - kb.lo);
    if (!(kb.hi > kb.lo) || !isfinite(kb.scale) || !isfinite(kb.lo) || !isfinite(kb.hi))
        return ks_by_sorting(x, n, y, m, out);
    cx = gy_calloc(NB, sizeof(uint32_t));
    cy = gy_calloc(NB, sizeof(uint32_t));
    ox = gy_calloc(NB, sizeof(uint32_t));
    oy = gy_calloc(NB, sizeof(uint32_t));
    cand = gy_calloc(NB, 1);
    if (!cx || !cy || !ox || !oy || !cand) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory for the KS test");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        cx[ksb_bucket(&kb, x[i])]++;
    for (size_t i = 0; i < m; i++)
        cy[ksb_bucket(&kb, y[i])]++;
    /* Exact differences at the last pooled value of every non-empty bucket. */
    for (size_t b = 0; b < NB; b++) {
        if (!cx[b] && !cy[b])
            continue;
        fx += cx[b];
        gyc += cy[b];
        ks_point((int64_t)fx * dm - (int64_t)gyc * dn, fx, gyc, n, m, &kmax, &dmax, &kmin, &dmin);
    }
    /* Buckets whose bounds reach the extremes found so far, and their value counts. */
    fx = gyc = 0;
    for (size_t b = 0; b < NB; b++) {
        int64_t ub = (int64_t)(fx + cx[b]) * dm - (int64_t)gyc * dn;
        int64_t lb = (int64_t)fx * dm - (int64_t)(gyc + cy[b]) * dn;
        if (cx[b] + cy[b] > 1 && (ub >= kmax || lb <= kmin)) {
            cand[b] = 1;
            ox[b] = (uint32_t)ngx;
            oy[b] = (uint32_t)ngy;
            ngx += cx[b];
            ngy += cy[b];
        }
        fx += cx[b];
        gyc += cy[b];
    }
    if (ngx + ngy > (n + m) / 4) {
        /* Too flat to prune (heavy ties, odd distributions): sort everything. */
        rc = ks_by_sorting(x, n, y, m, out);
        goto out;
    }
    gx = gy_malloc(GY_MAX(ngx, 1) * sizeof(double));
    gy = gy_malloc(GY_MAX(ngy, 1) * sizeof(double));
    if (!gx || !gy) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory for the KS test");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t b = ksb_bucket(&kb, x[i]);
        if (cand[b])
            gx[ox[b]++] = x[i];
    }
    for (size_t i = 0; i < m; i++) {
        size_t b = ksb_bucket(&kb, y[i]);
        if (cand[b])
            gy[oy[b]++] = y[i];
    }
    /* Merge each candidate bucket from its exact starting counts. */
    fx = gyc = 0;
    for (size_t b = 0; b < NB; b++) {
        if (cand[b]) {
            double *bx = gx + ox[b] - cx[b], *by = gy + oy[b] - cy[b];
            size_t i = 0, j = 0;
            if ((rc = gy_monitor_sort(bx, cx[b], NULL)) || (rc = gy_monitor_sort(by, cy[b], NULL)))
                goto out;
            while (i < cx[b] || j < cy[b]) {
                double v;
                if (j >= cy[b] || (i < cx[b] && bx[i] <= by[j]))
                    v = bx[i];
                else
                    v = by[j];
                while (i < cx[b] && bx[i] == v)
                    i++;
                while (j < cy[b] && by[j] == v)
                    j++;
                ks_point((int64_t)(fx + i) * dm - (int64_t)(gyc + j) * dn, fx + i, gyc + j, n, m,
                         &kmax, &dmax, &kmin, &dmin);
            }
        }
        fx += cx[b];
        gyc += cy[b];
    }
    d = -dmin > dmax ? -dmin : dmax;
    out->p_value = gy_monitor_ks_pvalue(n, m, d, 0, &out->method, &out->statistic);
out:
    gy_free(cx);
    gy_free(cy);
    gy_free(ox);
    gy_free(oy);
    gy_free(cand);
    gy_free(gx);
    gy_free(gy);
    return rc;
}

uint64_t gy__monitor_view_rank(const struct gy__monitor_view *a, double x)
{
    /* Upper bound: the first item > x. */
    size_t lo = 0, hi = a->len;
    uint64_t r = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->v[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!a->w)
        return lo;
    for (size_t i = 0; i < lo; i++)
        r += a->w[i];
    return r;
}

double gy__monitor_ks_views(const struct gy__monitor_view *a, const struct gy__monitor_view *b)
{
    double dmax = 0.0, dmin = 0.0, na = (double)a->total, nb = (double)b->total;
    uint64_t ca = 0, cb = 0;
    size_t i = 0, j = 0;
    while (i < a->len && j < b->len) {
        double v = a->v[i] < b->v[j] ? a->v[i] : b->v[j], d;
        while (i < a->len && a->v[i] == v)
            ca += a->w ? a->w[i++] : (i++, 1);
        while (j < b->len && b->v[j] == v)
            cb += b->w ? b->w[j++] : (j++, 1);
        d = (double)ca / na - (double)cb / nb;
        if (d > dmax)
            dmax = d;
        if (d < dmin)
            dmin = d;
    }
    return -dmin > dmax ? -dmin : dmax;
}

/* ------------------------------------------------------------------ Wasserstein */

/* Neumaier-compensated accumulation. */
struct ksum {
    double s, c;
};

static void ksum_add(struct ksum *k, double v)
{
    double t = k->s + v;
    if (fabs(k->s) >= fabs(v))
        k->c += (k->s - t) + v;
    else
        k->c += (v - t) + k->s;
    k->s = t;
}

double gy__monitor_wasserstein_views(const struct gy__monitor_view *a,
                                     const struct gy__monitor_view *b)
{
    /* SciPy's _cdf_distance(1, u, v): sum over consecutive pooled values of
     * |U(z_k) - V(z_k)| * (z_{k+1} - z_k), with right-continuous CDFs. Here the difference
     * is kept as the integer K = ca*nb - cb*na and divided once at the end. */
    struct ksum acc = {0, 0};
    uint64_t ca = 0, cb = 0;
    size_t i = 0, j = 0;
    double na = (double)a->total, nb = (double)b->total;
    int exact = na * nb < 4503599627370496.0; /* 2^52: K fits a double exactly */

    while (i < a->len || j < b->len) {
        double v, next;
        if (j >= b->len || (i < a->len && a->v[i] <= b->v[j]))
            v = a->v[i];
        else
            v = b->v[j];
        while (i < a->len && a->v[i] == v)
            ca += a->w ? a->w[i++] : (i++, 1);
        while (j < b->len && b->v[j] == v)
            cb += b->w ? b->w[j++] : (j++, 1);
        if (i >= a->len && j >= b->len)
            break;
        if (j >= b->len || (i < a->len && a->v[i] <= b->v[j]))
            next = a->v[i];
        else
            next = b->v[j];
        if (exact) {
            double k = (double)ca * nb - (double)cb * na;
            ksum_add(&acc, fabs(k) * (next - v));
        } else {
            ksum_add(&acc, fabs((double)ca / na - (double)cb / nb) * (next - v));
        }
    }
    return exact ? (acc.s + acc.c) / (na * nb) : acc.s + acc.c;
}

double gy_monitor_wasserstein_sorted(const double *x, size_t n, const double *y, size_t m)
{
    struct gy__monitor_view a = {x, NULL, n, n, 0}, b = {y, NULL, m, m, 0};
    return gy__monitor_wasserstein_views(&a, &b);
}

double gy__monitor_view_quantile(const struct gy__monitor_view *a, double q)
{
    uint64_t target, cum = 0;
    if (a->len == 0)
        return NAN;
    if (!a->w)
        return gy_monitor_quantile_sorted(a->v, a->len, q);
    /* Weighted: the first item whose cumulative weight reaches ceil(q * total). */
    target = (uint64_t)ceil(q * (double)a->total);
    if (target == 0)
        return a->v[0];
    for (size_t i = 0; i < a->len; i++) {
        cum += a->w[i];
        if (cum >= target)
            return a->v[i];
    }
    return a->v[a->len - 1];
}

/* ------------------------------------------------------------------ binning, PSI */

#if defined(__SSE2__)
/*
 * ge[k] = number of values >= cuts[k] among the first `done` values (returned), from compare
 * masks (all ones = -1) summed in vector registers. With ascending cuts the bin counts are
 * the differences of these, so there is no per-value store at all. The loop over the cuts
 * has a constant bound and is unrolled, so NC must be a constant at each call.
 */
#define GE_BODY(VEC, SET1, LOADU, CMPLE, SUB, ZERO, W, NC)                                         \
    do {                                                                                           \
        VEC c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;                                      \
        __typeof__(ZERO) a[12];                                                                    \
        size_t end = n - n % (W);                                                                  \
        c0 = SET1(cuts[0]);                                                                        \
        c1 = (NC) > 1 ? SET1(cuts[1]) : c0;                                                        \
        c2 = (NC) > 2 ? SET1(cuts[2]) : c0;                                                        \
        c3 = (NC) > 3 ? SET1(cuts[3]) : c0;                                                        \
        c4 = (NC) > 4 ? SET1(cuts[4]) : c0;                                                        \
        c5 = (NC) > 5 ? SET1(cuts[5]) : c0;                                                        \
        c6 = (NC) > 6 ? SET1(cuts[6]) : c0;                                                        \
        c7 = (NC) > 7 ? SET1(cuts[7]) : c0;                                                        \
        c8 = (NC) > 8 ? SET1(cuts[8]) : c0;                                                        \
        c9 = (NC) > 9 ? SET1(cuts[9]) : c0;                                                        \
        c10 = (NC) > 10 ? SET1(cuts[10]) : c0;                                                     \
        c11 = (NC) > 11 ? SET1(cuts[11]) : c0;                                                     \
        {                                                                                          \
            __typeof__(ZERO) a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO, a4 = ZERO, a5 = ZERO,     \
                             a6 = ZERO, a7 = ZERO, a8 = ZERO, a9 = ZERO, a10 = ZERO, a11 = ZERO;   \
            for (size_t i = 0; i < end; i += (W)) {                                                \
                VEC v = LOADU(x + i);                                                              \
                a0 = SUB(a0, CMPLE(c0, v));                                                        \
                if ((NC) > 1)                                                                      \
                    a1 = SUB(a1, CMPLE(c1, v));                                                    \
                if ((NC) > 2)                                                                      \
                    a2 = SUB(a2, CMPLE(c2, v));                                                    \
                if ((NC) > 3)                                                                      \
                    a3 = SUB(a3, CMPLE(c3, v));                                                    \
                if ((NC) > 4)                                                                      \
                    a4 = SUB(a4, CMPLE(c4, v));                                                    \
                if ((NC) > 5)                                                                      \
                    a5 = SUB(a5, CMPLE(c5, v));                                                    \
                if ((NC) > 6)                                                                      \
                    a6 = SUB(a6, CMPLE(c6, v));                                                    \
                if ((NC) > 7)                                                                      \
                    a7 = SUB(a7, CMPLE(c7, v));                                                    \
                if ((NC) > 8)                                                                      \
                    a8 = SUB(a8, CMPLE(c8, v));                                                    \
                if ((NC) > 9)                                                                      \
                    a9 = SUB(a9, CMPLE(c9, v));                                                    \
                if ((NC) > 10)                                                                     \
                    a10 = SUB(a10, CMPLE(c10, v));                                                 \
                if ((NC) > 11)                                                                     \
                    a11 = SUB(a11, CMPLE(c11, v));                                                 \
            }                                                                                      \
            a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3, a[4] = a4, a[5] = a5;                      \
            a[6] = a6, a[7] = a7, a[8] = a8, a[9] = a9, a[10] = a10, a[11] = a11;                  \
        }                                                                                          \
        for (int k = 0; k < (NC); k++) {                                                           \
            int64_t lanes[4] = {0, 0, 0, 0};                                                       \
            memcpy(lanes, &a[k], sizeof(a[k]));                                                    \
            ge[k] = (uint64_t)(lanes[0] + lanes[1] + lanes[2] + lanes[3]);                         \
        }                                                                                          \
        return end;                                                                                \
    } while (0)

#define SSE_CMPLE(c, v) _mm_castpd_si128(_mm_cmple_pd(c, v))

static inline __attribute__((always_inline)) size_t ge_sse2(const double *cuts, const int nc,
                                                            const double *x, size_t n, uint64_t *ge)
{
    GE_BODY(__m128d, _mm_set1_pd, _mm_loadu_pd, SSE_CMPLE, _mm_sub_epi64, _mm_setzero_si128(), 2,
            nc);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
#define AVX_CMPLE(c, v) _mm256_castpd_si256(_mm256_cmp_pd(c, v, _CMP_LE_OQ))

static inline __attribute__((always_inline, target("avx2"))) size_t
ge_avx2(const double *cuts, const int nc, const double *x, size_t n, uint64_t *ge)
{
    GE_BODY(__m256d, _mm256_set1_pd, _mm256_loadu_pd, AVX_CMPLE, _mm256_sub_epi64,
            _mm256_setzero_si256(), 4, nc);
}

__attribute__((target("avx2"))) static size_t ge_avx2_any(const double *cuts, size_t nc,
                                                          const double *x, size_t n, uint64_t *ge)
{
    switch (nc) {
    case 9:
        return ge_avx2(cuts, 9, x, n, ge);
    case 11:
        return ge_avx2(cuts, 11, x, n, ge);
    default: {
        double c12[12];
        uint64_t g12[12];
        size_t done;
        for (size_t k = 0; k < 12; k++)
            c12[k] = k < nc ? cuts[k] : NAN; /* NaN compares false */
        done = ge_avx2(c12, 12, x, n, g12);
        memcpy(ge, g12, nc * sizeof(uint64_t));
        return done;
    }
    }
}
#endif

/* Dispatches on the cut count (9 and 11 are the PSI bins) and on AVX2 at run time. */
static size_t ge_counts(const double *cuts, size_t nc, const double *x, size_t n, uint64_t *ge)
{
#ifdef HAVE_AVX2_KERNEL
    if (__builtin_cpu_supports("avx2"))
        return ge_avx2_any(cuts, nc, x, n, ge);
#endif
    switch (nc) {
    case 9:
        return ge_sse2(cuts, 9, x, n, ge);
    case 11:
        return ge_sse2(cuts, 11, x, n, ge);
    default: {
        double c12[12];
        uint64_t g12[12];
        size_t done;
        for (size_t k = 0; k < 12; k++)
            c12[k] = k < nc ? cuts[k] : NAN;
        done = ge_sse2(c12, 12, x, n, g12);
        memcpy(ge, g12, nc * sizeof(uint64_t));
        return done;
    }
    }
}
#endif

void gy_monitor_bin_count(const double *cuts, size_t ncuts, const double *x, size_t n,
                          uint64_t *counts)
{
    size_t i = 0;
    if (ncuts > 12) {
        /* Many cuts: binary search (upper bound). */
        for (; i < n; i++) {
            size_t lo = 0, hi = ncuts;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (cuts[mid] <= x[i])
                    lo = mid + 1;
                else
                    hi = mid;
            }
            counts[lo]++;
        }
        return;
    }
#if defined(__SSE2__)
    if (ncuts <= 12) {
        uint64_t ge[12];
        size_t done = ge_counts(cuts, ncuts, x, n, ge);
        counts[0] += done - (ncuts ? ge[0] : 0);
        for (size_t k = 0; k + 1 < ncuts; k++)
            counts[k + 1] += ge[k] - ge[k + 1];
        if (ncuts)
            counts[ncuts] += ge[ncuts - 1];
        i = done;
    }
#endif
    for (; i < n; i++) {
        size_t b = 0;
        for (size_t k = 0; k < ncuts; k++)
            b += cuts[k] <= x[i];
        counts[b]++;
    }
}

double gy_monitor_psi(const double *p, const double *q, size_t k)
{
    double s = 0;
    for (size_t i = 0; i < k; i++)
        s += (q[i] - p[i]) * log(q[i] / p[i]);
    return s;
}

/* ------------------------------------------------------------------ JS, chi2, z, BH */

/* scipy.special.rel_entr. */
static double rel_entr(double x, double y)
{
    if (x > 0 && y > 0)
        return x * log(x / y);
    if (x == 0 && y >= 0)
        return 0;
    return INFINITY;
}

double gy_monitor_jensenshannon(const double *p, const double *q, size_t k, double base)
{
    double sp = gy_monitor_sum(p, k), sq = gy_monitor_sum(q, k), js, *l, *r;
    double stackl[64], stackr[64];
    if (!(sp > 0) || !(sq > 0))
        return NAN;
    l = k <= 64 ? stackl : gy_malloc(k * sizeof(double));
    r = k <= 64 ? stackr : gy_malloc(k * sizeof(double));
    if (!l || !r) {
        if (l != stackl)
            gy_free(l);
        if (r != stackr)
            gy_free(r);
        return NAN;
    }
    for (size_t i = 0; i < k; i++) {
        double pi = p[i] / sp, qi = q[i] / sq, mi = (pi + qi) / 2.0;
        l[i] = rel_entr(pi, mi);
        r[i] = rel_entr(qi, mi);
    }
    js = gy_monitor_sum(l, k) + gy_monitor_sum(r, k);
    if (base > 0)
        js /= log(base);
    if (l != stackl)
        gy_free(l);
    if (r != stackr)
        gy_free(r);
    js /= 2.0;
    return sqrt(js > 0 ? js : 0.0);
}

enum gy_status gy_monitor_chi2_contingency(const double *row0, const double *row1, size_t k,
                                           struct gy_monitor_chi2 *out)
{
    double rs[2], total, *terms;
    enum gy_status rc = GY_OK;

    if (k == 0)
        return gy_error_set(GY_E_INVALID, "chi-square: empty table");
    rs[0] = gy_monitor_sum(row0, k);
    rs[1] = gy_monitor_sum(row1, k);
    total = rs[0] + rs[1];
    if (!(rs[0] > 0) || !(rs[1] > 0))
        return gy_error_set(GY_E_INVALID, "chi-square: a row of the table sums to zero");
    for (size_t c = 0; c < k; c++)
        if (!(row0[c] + row1[c] > 0))
            return gy_error_set(GY_E_INVALID, "chi-square: column %zu of the table is zero", c);
    out->dof = (int)(k - 1);
    if (k == 1) {
        out->statistic = 0.0;
        out->p_value = 1.0;
        return GY_OK;
    }
    terms = gy_malloc(2 * k * sizeof(double));
    if (!terms)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (int r = 0; r < 2; r++) {
        const double *row = r ? row1 : row0;
        for (size_t c = 0; c < k; c++) {
            double col = row0[c] + row1[c], e = rs[r] * col / total, o = row[c];
            if (k == 2) {
                /* Yates: move each observed count up to 0.5 towards its expectation. */
                double diff = e - o, mag = GY_MIN(0.5, fabs(diff));
                double dir = diff > 0 ? 1.0 : (diff < 0 ? -1.0 : 0.0);
                o = o + mag * dir;
            }
            terms[(size_t)r * k + c] = (o - e) * (o - e) / e;
        }
    }
    out->statistic = gy_monitor_sum(terms, 2 * k);
    out->p_value = gy_monitor_chi2_sf(out->statistic, (double)out->dof);
    gy_free(terms);
    return rc;
}

void gy_monitor_ztest_2prop(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z,
                            double *p)
{
    /* Evidently's proportions_diff_z_stat_ind, in its order of operations. */
    double p1 = (double)x1 / (double)n1, p2 = (double)x2 / (double)n2;
    double P = (p1 * (double)n1 + p2 * (double)n2) / (double)(n1 + n2);
    double den = sqrt(P * (1 - P) * (1.0 / (double)n1 + 1.0 / (double)n2));
    if (!(den > 0)) {
        *z = 0.0;
        *p = 1.0;
        return;
    }
    *z = (p1 - p2) / den;
    *p = 2 * gy_monitor_norm_sf(fabs(*z));
    if (*p > 1)
        *p = 1;
}

struct pidx {
    double p;
    size_t i;
};

static int cmp_pidx(const void *a, const void *b)
{
    const struct pidx *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

enum gy_status gy_monitor_bh_adjust(const double *p, size_t m, double *adj)
{
    struct pidx *s;
    double run = 1.0;
    if (m == 0)
        return GY_OK;
    s = gy_malloc(m * sizeof(*s));
    if (!s)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m; i++) {
        s[i].p = p[i];
        s[i].i = i;
    }
    qsort(s, m, sizeof(*s), cmp_pidx);
    for (size_t r = m; r-- > 0;) {
        double v = s[r].p * (double)m / (double)(r + 1);
        if (v < run)
            run = v;
        adj[s[r].i] = run;
    }
    gy_free(s);
    return GY_OK;
}
