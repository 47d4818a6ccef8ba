/* SPDX-License-Identifier: MIT */
/*
 * special.c - the special functions behind drift p-values, written to agree with SciPy 1.10
 * to 1e-9 relative: the finite-n two-sided Kolmogorov distribution kstwo.sf (the decision
 * procedure of Simard & L'Ecuyer 2011 as in scipy/stats/_ksstats.py: Ruben-Gambino closed
 * forms, the Durbin matrix in Marsaglia-Tsang-Wang form, Pomeranz's recursion, Pelz-Good and
 * 2*smirnov), the one-sided Smirnov survival function (Birnbaum-Tingey's lower sum with each
 * term carried as mantissa and binary exponent, like Cephes' kolmogorov.c), the exact
 * two-sample KS lattice-path probabilities of scipy.stats.ks_2samp (Hodges 1958; the n != m
 * case in Viehmann's 2021 form that computes p directly), the regularized upper incomplete
 * gamma function (series and Lentz continued fraction with a log-space prefactor) and the
 * normal survival function as Cephes' ndtr. The algorithms are re-derived from the papers and
 * SciPy's BSD-licensed sources.
 */
#include "monitor/monitor_int.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define E128 340282366920938463463374607431768211456.0 /* 2^128 */
#define EM128 (1.0 / E128)
#define LOG_2PI 1.8378770664093454835606594728112353
#define MINLOG_CEPHES (-745.13321910194110842)

static double clip01(double p)
{
    if (!(p >= 0.0)) /* also NaN */
        return p != p ? p : 0.0;
    return p > 1.0 ? 1.0 : p;
}

/* ------------------------------------------------------------------ kstwo pieces */

/* log(n! / n^n) by Stirling's series with n*log(n) removed up front (SciPy's
 * _log_nfactorial_div_n_pow_n). */
static double log_nfact_div_npown(double n)
{
    static const double c[8] = {-2.955065359477124183e-2,  6.4102564102564102564e-3,
                                -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                -5.952380952380952381e-4,  7.9365079365079365079e-4,
                                -2.7777777777777777778e-3, 8.3333333333333333333e-2};
    double rn = 1.0 / n, x = rn / n, y = 0.0;
    for (int i = 0; i < 8; i++)
        y = y * x + c[i];
    return log(n) / 2 - n + LOG_2PI / 2 + rn * y;
}

/* C = A * B for m x m row-major matrices. */
static void matmul(const double *a, const double *b, double *c, int m)
{
    for (int i = 0; i < m; i++) {
        double *ci = c + (size_t)i * m;
        for (int j = 0; j < m; j++)
            ci[j] = 0.0;
        for (int k = 0; k < m; k++) {
            double aik = a[(size_t)i * m + k];
            const double *bk = b + (size_t)k * m;
            for (int j = 0; j < m; j++)
                ci[j] += aik * bk[j];
        }
    }
}

/* Pr(D_n <= d) by Durbin's matrix, computed as Marsaglia, Tsang and Wang do: the k-th diagonal
 * entry of (n!/n^n) H^n with H of order 2k-1, scaling by 2^128 as needed. -1 on OOM. */
static double kolmogn_dmtw_cdf(int64_t n, double d)
{
    double nd, h, fac, tt, p, *H = NULL, *P = NULL, *T = NULL, *v = NULL, *w = NULL;
    int k, m;
    int64_t nn, expnt = 0, hexpnt = 0;

    if (d >= 1.0)
        return 1.0;
    nd = (double)n * d;
    if (nd <= 0.5)
        return 0.0;
    k = (int)ceil(nd);
    h = k - nd;
    m = 2 * k - 1;
    H = gy_calloc((size_t)m * m, sizeof(double));
    P = gy_calloc((size_t)m * m, sizeof(double));
    T = gy_calloc((size_t)m * m, sizeof(double));
    v = gy_calloc((size_t)m, sizeof(double));
    w = gy_calloc((size_t)m, sizeof(double));
    if (!H || !P || !T || !v || !w) {
        p = -1.0;
        goto out;
    }
    for (int j = 1; j <= m; j++)
        v[j - 1] = 1.0 - pow(h, j);
    fac = 1.0;
    for (int j = 1; j <= m; j++) {
        w[j - 1] = fac;
        fac /= j;
        v[j - 1] *= fac;
    }
    tt = (2 * h - 1.0 > 0 ? pow(2 * h - 1.0, m) : 0.0) - 2 * pow(h, m);
    v[m - 1] = (1.0 + tt) * fac;
    for (int i = 1; i < m; i++)
        for (int r = i - 1; r < m; r++)
            H[(size_t)r * m + i] = w[r - (i - 1)];
    for (int r = 0; r < m; r++)
        H[(size_t)r * m] = v[r];
    for (int c = 0; c < m; c++)
        H[(size_t)(m - 1) * m + c] = v[m - 1 - c];
    for (int i = 0; i < m; i++)
        P[(size_t)i * m + i] = 1.0;
    nn = n;
    while (nn > 0) {
        if (nn % 2) {
            matmul(P, H, T, m);
            memcpy(P, T, (size_t)m * m * sizeof(double));
            expnt += hexpnt;
        }
        matmul(H, H, T, m);
        memcpy(H, T, (size_t)m * m * sizeof(double));
        hexpnt *= 2;
        if (fabs(H[(size_t)(k - 1) * m + (k - 1)]) > E128) {
            for (size_t i = 0; i < (size_t)m * m; i++)
                H[i] /= E128;
            hexpnt += 128;
        }
        nn /= 2;
    }
    p = P[(size_t)(k - 1) * m + (k - 1)];
    for (int64_t i = 1; i <= n; i++) {
        p = (double)i * p / (double)n;
        if (fabs(p) < EM128) {
            p *= E128;
            expnt -= 128;
        }
    }
    if (expnt != 0)
        p = ldexp(p, (int)GY_MAX(GY_MIN(expnt, 100000), -100000));
    p = clip01(p);
out:
    gy_free(H);
    gy_free(P);
    gy_free(T);
    gy_free(v);
    gy_free(w);
    return p;
}

static void pomeranz_j1j2(int64_t i, int64_t n, int64_t ll, int64_t ceilf, int64_t roundf,
                          int64_t *j1o, int64_t *j2o)
{
    int64_t j1, j2;
    if (i == 0) {
        j1 = -ll - ceilf - 1;
        j2 = ll + ceilf - 1;
    } else {
        int64_t ip1div2 = (i + 1) / 2, ip1mod2 = (i + 1) % 2;
        if (ip1mod2 == 0) {
            if (ip1div2 == n + 1) {
                j1 = n - ll - ceilf - 1;
                j2 = n + ll + ceilf - 1;
            } else {
                j1 = ip1div2 - 1 - ll - roundf - 1;
                j2 = ip1div2 + ll - 1 + ceilf - 1;
            }
        } else {
            j1 = ip1div2 - 1 - ll - 1;
            j2 = ip1div2 + ll + roundf - 1;
        }
    }
    *j1o = GY_MAX(j1 + 2, 0);
    *j2o = GY_MIN(j2, n);
}

/* Pr(D_n <= x) by Pomeranz's recursion (1974), two rows of the n x (2n+2) table at a time,
 * each row the convolution of the previous one with (almost) Poisson weights. -1 on OOM. */
static double kolmogn_pomeranz_cdf(int64_t n, double x)
{
    double t = (double)n * x, f, g, ans, gn, g2n, om2gn;
    int64_t ll, ceilf, roundf, npwrs, j1, j2, k1, v0s = 0, v1s = 0, expnt = 0;
    double *gp = NULL, *g2p = NULL, *om2gp = NULL, *V0 = NULL, *V1 = NULL;

    ll = (int64_t)floor(t);
    f = t - (double)ll;
    g = GY_MIN(f, 1.0 - f);
    ceilf = f > 0 ? 1 : 0;
    roundf = f > 0.5 ? 1 : 0;
    npwrs = 2 * (ll + 1);
    gp = gy_malloc((size_t)npwrs * sizeof(double));
    g2p = gy_malloc((size_t)npwrs * sizeof(double));
    om2gp = gy_malloc((size_t)npwrs * sizeof(double));
    V0 = gy_calloc((size_t)npwrs, sizeof(double));
    V1 = gy_calloc((size_t)npwrs, sizeof(double));
    if (!gp || !g2p || !om2gp || !V0 || !V1) {
        ans = -1.0;
        goto out;
    }
    gp[0] = g2p[0] = om2gp[0] = 1.0;
    gn = g / (double)n;
    g2n = 2 * g / (double)n;
    om2gn = (1 - 2 * g) / (double)n;
    for (int64_t m = 1; m < npwrs; m++) {
        gp[m] = gp[m - 1] * gn / (double)m;
        g2p[m] = g2p[m - 1] * g2n / (double)m;
        om2gp[m] = om2gp[m - 1] * om2gn / (double)m;
    }
    V1[0] = 1;
    pomeranz_j1j2(0, n, ll, ceilf, roundf, &j1, &j2);
    for (int64_t i = 1; i < 2 * n + 2; i++) {
        double *tmp = V0;
        int64_t ts = v0s, ln2;
        const double *pw;
        k1 = j1;
        V0 = V1;
        V1 = tmp;
        v0s = v1s;
        v1s = ts;
        memset(V1, 0, (size_t)npwrs * sizeof(double));
        pomeranz_j1j2(i, n, ll, ceilf, roundf, &j1, &j2);
        if (i == 1 || i == 2 * n + 1)
            pw = gp;
        else
            pw = (i % 2) ? g2p : om2gp;
        ln2 = j2 - k1 + 1;
        if (ln2 > 0) {
            /* conv = numpy.convolve(V0[s:s+ln2], pw[:ln2]); V1[:len] = conv[j1-k1 : ...] */
            int64_t s = k1 - v0s, la = GY_MIN(s + ln2, npwrs) - s, lb = GY_MIN(ln2, npwrs);
            int64_t cs = j1 - k1, cl = j2 - j1 + 1;
            double vmax = 0;
            for (int64_t c = 0; c < cl; c++) {
                int64_t kk = cs + c;
                double acc = 0;
                int64_t lo = GY_MAX(0, kk - (lb - 1)), hi = GY_MIN(kk, la - 1);
                for (int64_t a = lo; a <= hi; a++)
                    acc += V0[s + a] * pw[kk - a];
                V1[c] = acc;
                if (acc > vmax)
                    vmax = acc;
            }
            if (vmax > 0 && vmax < EM128) {
                for (int64_t c = 0; c < npwrs; c++)
                    V1[c] *= E128;
                expnt -= 128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    ans = (n - v1s >= 0 && n - v1s < npwrs) ? V1[n - v1s] : 0.0;
    for (int64_t m = 1; m <= n; m++) {
        if (fabs(ans) > E128) {
            ans *= EM128;
            expnt += 128;
        }
        ans *= (double)m;
    }
    if (expnt != 0)
        ans = ldexp(ans, (int)GY_MAX(GY_MIN(expnt, 100000), -100000));
    ans = clip01(ans);
out:
    gy_free(gp);
    gy_free(g2p);
    gy_free(om2gp);
    gy_free(V0);
    gy_free(V1);
    return ans;
}

/* Pelz-Good's approximation of Pr(D_n <= x) (1976): the Li-Chien/Korolyuk expansion in
 * 1/sqrt(n) with each term rewritten through Jacobi theta functions for small z. */
static double kolmogn_pelzgood_cdf(int64_t n, double x)
{
    const double pi2 = M_PI * M_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
    const double sqrt2pi = sqrt(2 * M_PI), sqrt3 = sqrt(3.0);
    double z, z2, z3, z4, z6, qlog, q, k1a, k1b, k2a, k2b, k2c, k3a, k3b, k3c, k3d;
    double K[4] = {0, 0, 0, 0}, k2extra = 0, k3extra = 0, sqrt3z;
    int64_t maxk;

    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    z = sqrt((double)n) * x;
    z2 = z * z;
    z3 = z2 * z;
    z4 = z2 * z2;
    z6 = z4 * z2;
    qlog = -pi2 / 8 / z2;
    if (qlog < -708)
        return 0.0;
    q = exp(qlog);
    k1a = -z2;
    k1b = pi2 / 4;
    k2a = 6 * z6 + 2 * z4;
    k2b = (2 * z4 - 5 * z2) * pi2 / 4;
    k2c = pi4 * (1 - 2 * z2) / 16;
    k3d = pi6 * (5 - 30 * z2) / 64;
    k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
    k3b = pi2 * (135 * z4 - 96 * z6) / 4;
    k3a = -30 * z6 - 90 * pow(z, 8);
    maxk = (int64_t)ceil(16 * z / M_PI);
    for (int64_t k = maxk; k > 0; k--) {
        double m = (double)(2 * k - 1), m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
        double qp = pow(q, (double)(8 * k));
        double c1 = k1a + k1b * m2, c2 = k2a + k2b * m2 + k2c * m4;
        double c3 = k3a + k3b * m2 + k3c * m4 + k3d * m6;
        K[0] = K[0] * qp + 1.0;
        K[1] = K[1] * qp + c1;
        K[2] = K[2] * qp + c2;
        K[3] = K[3] * qp + c3;
    }
    for (int i = 0; i < 4; i++)
        K[i] = K[i] * q * sqrt2pi;
    K[0] /= z;
    K[1] /= 6 * z4;
    K[2] /= 72 * pow(z, 7);
    K[3] /= 6480 * pow(z, 10);
    q = exp(-pi2 / 2 / z2);
    sqrt3z = sqrt3 * z;
    for (int64_t k = maxk; k > 0; k--) {
        double ks = (double)k, ks2 = ks * ks, kspi = M_PI * ks, qpw = pow(q, ks2);
        k2extra += ks2 * qpw;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qpw;
    }
    k2extra *= pi2 * sqrt2pi / (-36 * z3);
    K[2] += k2extra;
    k3extra *= pi2 * sqrt2pi / (216 * z6);
    K[3] += k3extra;
    K[1] /= pow((double)n, 0.5);
    K[2] /= pow((double)n, 1.0);
    K[3] /= pow((double)n, 1.5);
    return K[0] + K[1] + K[2] + K[3];
}

/* ------------------------------------------------------------------ smirnov */

/* Adds Aj to a compensated sum. */
static void nsum_add(double *s, double *c, double v)
{
    double t = *s + v;
    if (fabs(*s) >= fabs(v))
        *c += (*s - t) + v;
    else
        *c += (v - t) + *s;
    *s = t;
}

/* exp(l) times mant * 2^e, without overflow or premature underflow. */
static double scaled_exp(double mant, int64_t e, double l)
{
    static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double kf = floor(l / M_LN2);
    double r = (l - kf * ln2_hi) - kf * ln2_lo;
    int64_t ex = e + (int64_t)kf;
    if (ex < -2000)
        return 0.0;
    if (ex > 2000)
        return INFINITY;
    return ldexp(mant * exp(r), (int)ex);
}

double gy_monitor_smirnov(int64_t n, double x)
{
    double nxhi, nxlo, nxflr, alpha, sum = 0, comp = 0, cman = 1.0, oneoverx;
    int64_t nxfl, n1mxfl, nterms, vmid, cexp = 0;

    if (!(n > 0 && x >= 0.0 && x <= 1.0))
        return NAN;
    if (n == 1)
        return 1 - x;
    if (x == 0.0)
        return 1.0;
    if (x == 1.0)
        return 0.0;
    /* floor(n*x) and its remainder, exactly (n*x as a double-double). */
    nxhi = (double)n * x;
    nxlo = fma((double)n, x, -nxhi);
    nxflr = floor(nxhi);
    if (nxflr == nxhi) {
        if (nxlo < 0) {
            nxflr -= 1;
            alpha = 1.0 + nxlo;
        } else {
            alpha = nxlo;
        }
    } else {
        alpha = (nxhi - nxflr) + nxlo;
    }
    nxfl = (int64_t)nxflr;
    if (alpha >= 1.0) {
        nxfl += 1;
        alpha = 0;
    }
    n1mxfl = n - nxfl - (alpha == 0 ? 0 : 1);
    if (alpha == 0)
        n1mxfl -= 1;
    if (nxfl == 0 || (nxfl == 1 && alpha == 0)) {
        double cdf = x * exp((double)(n - 1) * log1p(x));
        return clip01(1 - cdf);
    }
    if (-2 * (double)n * x * x < MINLOG_CEPHES)
        return 0.0;
    if (nxfl >= n - 1)
        return clip01(exp((double)n * log1p(-x)));
    if (n > 1000000) {
        double logp = -pow(6.0 * (double)n * x + 1.0, 2) / 18.0 / (double)n;
        return clip01(exp(logp));
    }
    /* Birnbaum-Tingey lower sum: sf = x * sum_{v=0}^{n(1-x)} A_v with
     * A_v = C(n,v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v). */
    nterms = n1mxfl + 1;
    vmid = n / 2;
    oneoverx = 1.0 / x;
    nsum_add(&sum, &comp, scaled_exp(oneoverx, 0, (double)n * log1p(-x)));
    for (int64_t j = 1; j < nterms; j++) {
        int e;
        double y, l, aj;
        /* C(n, j) = C(n, j-1) * (n - j + 1) / j, kept as mantissa and exponent. */
        cman *= (double)(n - (j - 1)) / (double)j;
        cman = frexp(cman, &e);
        cexp += e;
        y = x + (double)j / (double)n;
        l = (double)(n - j) * log1p(-y) + (double)(j - 1) * log(y);
        aj = scaled_exp(cman, cexp, l);
        if (isfinite(aj) && aj != 0)
            nsum_add(&sum, &comp, aj);
        if (aj != 0) {
            if (4 * (double)(nterms - j) * fabs(aj) < DBL_EPSILON * (sum + comp) && j != nterms - 1)
                break;
        } else if (j > vmid) {
            break;
        }
    }
    return clip01(x * (sum + comp));
}

/* ------------------------------------------------------------------ kstwo */

double gy_monitor_kstwo_sf(int64_t n, double x)
{
    double t, nxsq, cdf;

    if (n < 1 || x != x)
        return NAN;
    if (x >= 1.0)
        return 0.0;
    if (x <= 0.0)
        return 1.0;
    t = (double)n * x;
    if (t <= 1.0) {
        double prob;
        if (t <= 0.5)
            return 1.0;
        if (n <= 140) {
            prob = 1.0;
            for (int64_t i = 1; i <= n; i++)
                prob *= (double)i * (1.0 / (double)n) * (2 * t - 1);
        } else {
            prob = exp(log_nfact_div_npown((double)n) + (double)n * log(2 * t - 1));
        }
        return clip01(1.0 - prob);
    }
    if (t >= (double)(n - 1))
        return clip01(2 * pow(1.0 - x, (double)n));
    if (x >= 0.5)
        return clip01(2 * gy_monitor_smirnov(n, x));
    nxsq = t * x;
    if (n <= 140) {
        if (nxsq <= 0.754693)
            cdf = kolmogn_dmtw_cdf(n, x);
        else if (nxsq <= 4)
            cdf = kolmogn_pomeranz_cdf(n, x);
        else
            return clip01(2 * gy_monitor_smirnov(n, x));
        /* Out of memory (tiny matrices here): the Pelz-Good approximation instead. */
        if (cdf < 0)
            cdf = kolmogn_pelzgood_cdf(n, x);
        return clip01(1.0 - cdf);
    }
    if (nxsq >= 370.0)
        return 0.0;
    if (nxsq >= 2.2)
        return clip01(2 * gy_monitor_smirnov(n, x));
    if (n <= 100000 && (double)n * pow(x, 1.5) <= 1.4)
        cdf = kolmogn_dmtw_cdf(n, x);
    else
        cdf = -1;
    if (cdf < 0)
        cdf = kolmogn_pelzgood_cdf(n, x);
    return clip01(1.0 - clip01(cdf));
}

/* ------------------------------------------------------------------ exact two-sample KS */

/* Pr(D_{n,n} >= h/n) = 2 * sum_k (-1)^(k-1) C(2n, n-kh) / C(2n, n), evaluated Horner-like as
 * SciPy's _compute_prob_outside_square does to avoid cancellation. */
static double ks_prob_outside_square(int64_t n, int64_t h)
{
    double P = 0.0;
    int64_t k = (int64_t)floor((double)n / (double)h);
    while (k >= 0) {
        double p1 = 1.0;
        for (int64_t j = 0; j < h; j++)
            p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
        P = p1 * (1.0 - P);
        k -= 1;
    }
    return 2 * P;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t ceildiv(int64_t a, int64_t b)
{
    return -floordiv(-a, b);
}

/* The share of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm,
 * by the column recursion that carries probabilities instead of counts (Viehmann 2021), as
 * SciPy's _compute_outer_prob_inside_method. -1 on OOM. */
static double ks_outer_prob_inside(int64_t m, int64_t n, int64_t g, int64_t h)
{
    int64_t mg, ng, minj, maxj, curlen, lena, lastminj, lastlen;
    double *A, res;

    if (m < n) {
        int64_t t = m;
        m = n;
        n = t;
    }
    mg = m / g;
    ng = n / g;
    minj = 0;
    maxj = GY_MIN(ceildiv(h, mg), n + 1);
    curlen = maxj - minj;
    lena = GY_MIN(2 * maxj + 2, n + 1);
    A = gy_malloc((size_t)GY_MAX(lena, 1) * sizeof(double));
    if (!A)
        return -1;
    for (int64_t i = 0; i < lena; i++)
        A[i] = 1.0;
    for (int64_t i = minj; i < maxj && i < lena; i++)
        A[i] = 0.0;
    for (int64_t i = 1; i <= m; i++) {
        double val;
        lastminj = minj;
        lastlen = curlen;
        minj = GY_MAX(floordiv(ng * i - h, mg) + 1, 0);
        minj = GY_MIN(minj, n);
        maxj = GY_MIN(ceildiv(ng * i + h, mg), n + 1);
        if (maxj <= minj) {
            gy_free(A);
            return 1.0;
        }
        val = minj == 0 ? 0.0 : 1.0;
        for (int64_t jj = 0; jj < maxj - minj; jj++) {
            int64_t j = jj + minj;
            val = (A[jj + minj - lastminj] * (double)i + val * (double)j) / (double)(i + j);
            A[jj] = val;
        }
        curlen = maxj - minj;
        if (lastlen > curlen)
            for (int64_t t = maxj - minj; t < maxj - minj + (lastlen - curlen) && t < lena; t++)
                A[t] = 1;
    }
    res = A[maxj - minj - 1];
    gy_free(A);
    return res;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

double gy_monitor_ks_pvalue(uint64_t n1, uint64_t n2, double d, int force_asymptotic,
                            enum gy_monitor_ks_method *method, double *d_out)
{
    double prob = NAN, m, n, en;

    if (!force_asymptotic && GY_MAX(n1, n2) <= 10000) {
        int64_t g = gcd64((int64_t)n1, (int64_t)n2);
        int64_t lcm = ((int64_t)n1 / g) * (int64_t)n2;
        int64_t h = (int64_t)nearbyint(d * (double)lcm);
        d = (double)h * 1.0 / (double)lcm;
        if (h == 0) {
            prob = 1.0;
        } else if (n1 == n2) {
            prob = ks_prob_outside_square((int64_t)n1, h);
        } else {
            prob = ks_outer_prob_inside((int64_t)n1, (int64_t)n2, g, h);
        }
        if (prob >= 0 && prob <= 1) {
            *method = GY_MONITOR_KS_EXACT;
            *d_out = d;
            return prob;
        }
        /* SciPy falls back to the asymptotic p-value when the exact one fails. */
    }
    m = (double)GY_MAX(n1, n2);
    n = (double)GY_MIN(n1, n2);
    en = m * n / (m + n);
    prob = gy_monitor_kstwo_sf((int64_t)GY_MAX(nearbyint(en), 1.0), d);
    *method = GY_MONITOR_KS_ASYMPTOTIC;
    *d_out = d;
    return clip01(prob);
}

/* ------------------------------------------------------------------ gamma, normal */

/* x^a e^-x / Gamma(a), in log space. */
static double igam_prefactor(double a, double x)
{
    int sign;
    return exp(a * log(x) - x - lgamma_r(a, &sign)); /* lgamma_r: no global signgam */
}

double gy_monitor_igamc(double a, double x)
{
    if (a != a || x != x || x < 0 || a < 0)
        return NAN;
    if (a == 0)
        return x > 0 ? 0.0 : NAN;
    if (x == 0)
        return 1.0;
    if (isinf(x))
        return 0.0;
    if (x < a + 1) {
        /* P(a, x) by its power series; Q = 1 - P. */
        double ap = a, del = 1.0 / a, sum = del;
        for (int i = 0; i < 100000; i++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * DBL_EPSILON / 4)
                break;
        }
        return clip01(1.0 - sum * igam_prefactor(a, x));
    }
    /* Q(a, x) by Legendre's continued fraction, modified Lentz. */
    {
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 100000; i++) {
            double an = -i * (i - a), del;
            b += 2;
            d = an * d + b;
            if (fabs(d) < tiny)
                d = tiny;
            c = b + an / c;
            if (fabs(c) < tiny)
                c = tiny;
            d = 1 / d;
            del = d * c;
            h *= del;
            if (fabs(del - 1) < DBL_EPSILON / 4)
                break;
        }
        return clip01(igam_prefactor(a, x) * h);
    }
}

double gy_monitor_chi2_sf(double x, double dof)
{
    if (x < 0)
        return 1.0;
    return gy_monitor_igamc(dof / 2.0, x / 2.0);
}

/* Cephes ndtr: Phi(a) through erf near 0 and erfc in the tails. */
static double ndtr(double a)
{
    double x = a * M_SQRT1_2, z = fabs(x), y;
    if (z < M_SQRT1_2) {
        y = 0.5 + 0.5 * erf(x);
    } else {
        y = 0.5 * erfc(z);
        if (x > 0)
            y = 1.0 - y;
    }
    return y;
}

double gy_monitor_norm_sf(double z)
{
    return ndtr(-z);
}
