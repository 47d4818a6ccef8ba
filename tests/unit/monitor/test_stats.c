/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - unit tests for src/monitor/stats.c: the radix sort against qsort (negative
 * values, -0.0, subnormals, infinities, many ties, skipped digits), the KS statistic with ties
 * and the p-value path, Wasserstein-1 against hand-computed values, NumPy's linear quantile
 * and pairwise sum, branch-free binning (a value equal to a cut goes right, SIMD and scalar
 * paths agree), PSI, Jensen-Shannon, chi-square homogeneity with and without Yates'
 * correction, the two-proportion z-test and Benjamini-Hochberg. Expected numbers come from
 * SciPy 1.10.1 / NumPy 1.24.2 where noted.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor.h"

static int close_rel(double got, double want)
{
    return fabs(got - want) <= 1e-9 * fmax(fabs(got), fabs(want)) + 1e-300;
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(stats, radix_sort_equals_qsort)
{
    size_t sizes[] = {0, 1, 5, 255, 256, 1000, 100000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        double *a = gy_malloc((n + 1) * sizeof(double)), *b = gy_malloc((n + 1) * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd();
            switch (r % 8) {
            case 0:
                a[i] = -unif() * 1e6;
                break;
            case 1:
                a[i] = (double)(r % 7); /* ties */
                break;
            case 2:
                a[i] = (r & 256) ? -0.0 : 0.0;
                break;
            case 3:
                a[i] = 4.9e-324 * (double)(r % 5); /* subnormals */
                break;
            case 4:
                a[i] = (r & 512) ? INFINITY : -INFINITY;
                break;
            default:
                a[i] = (unif() - 0.5) * 1e-3;
            }
            b[i] = a[i] == 0 ? 0.0 : a[i];
        }
        cr_assert_eq(gy_monitor_sort(a, n, NULL), GY_OK);
        qsort(b, n, sizeof(double), cmpd);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(a[i], b[i], "n=%zu i=%zu: %g vs %g", n, i, a[i], b[i]);
            if (a[i] == 0)
                cr_assert(!signbit(a[i]), "-0.0 is returned as +0.0");
        }
        gy_free(a);
        gy_free(b);
    }
}

Test(stats, radix_sort_integer_valued_doubles_skip_digits)
{
    /* Integer-valued doubles share their low mantissa digits: those passes are skipped. */
    size_t n = 5000;
    double *a = gy_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        a[i] = (double)((i * 7919) % 1000);
    cr_assert_eq(gy_monitor_sort(a, n, NULL), GY_OK);
    for (size_t i = 1; i < n; i++)
        cr_assert(a[i - 1] <= a[i]);
    cr_expect_eq(a[0], 0.0);
    cr_expect_eq(a[n - 1], 999.0);
    gy_free(a);
}

Test(stats, ks_statistic_with_ties)
{
    /* scipy.stats.ks_2samp([1,2,2,3], [2,2,3,4,5]) = (0.4, 0.7460317460317459): the
     * difference is taken only after every value equal to 2 (and 3) on both sides; between
     * the two 2s of x it would be 0.5. */
    double x[] = {1, 2, 2, 3}, y[] = {2, 2, 3, 4, 5};
    struct gy_monitor_ks k;
    gy_monitor_ks_sorted(x, 4, y, 5, &k);
    cr_expect(close_rel(k.statistic, 0.4), "D = %.17g", k.statistic);
    cr_expect(close_rel(k.p_value, 0.7460317460317459), "p = %.17g", k.p_value);
    cr_expect_eq(k.method, GY_MONITOR_KS_EXACT);
    /* Identical samples: D = 0, p = 1. */
    gy_monitor_ks_sorted(x, 4, x, 4, &k);
    cr_expect_eq(k.statistic, 0.0);
    cr_expect_eq(k.p_value, 1.0);
    /* Disjoint constants: D = 1. */
    {
        double a[] = {3, 3, 3}, b[] = {5, 5};
        gy_monitor_ks_sorted(a, 3, b, 2, &k);
        cr_expect_eq(k.statistic, 1.0);
        cr_expect(close_rel(k.p_value, 0.2), "p = %.17g", k.p_value);
    }
}

Test(stats, ks_large_is_asymptotic_and_symmetric)
{
    size_t n = 20000, m = 15000;
    double *x = gy_malloc(n * sizeof(double)), *y = gy_malloc(m * sizeof(double));
    struct gy_monitor_ks a, b;
    for (size_t i = 0; i < n; i++)
        x[i] = unif();
    for (size_t i = 0; i < m; i++)
        y[i] = unif() * 1.05;
    gy_monitor_sort(x, n, NULL);
    gy_monitor_sort(y, m, NULL);
    gy_monitor_ks_sorted(x, n, y, m, &a);
    gy_monitor_ks_sorted(y, m, x, n, &b);
    cr_expect_eq(a.method, GY_MONITOR_KS_ASYMPTOTIC);
    cr_expect_eq(a.statistic, b.statistic);
    cr_expect_eq(a.p_value, b.p_value);
    cr_expect(a.statistic > 0.02 && a.statistic < 0.08, "D = %g", a.statistic);
    cr_expect(a.p_value < 1e-6, "p = %g", a.p_value);
    gy_free(x);
    gy_free(y);
}

Test(stats, wasserstein)
{
    /* scipy.stats.wasserstein_distance([0,1,3], [5,6,8]) = 5.0 and ([0,1], [0,0,3]) =
     * 0.8333333333333334. */
    double a[] = {0, 1, 3}, b[] = {5, 6, 8}, c[] = {0, 1}, d[] = {0, 0, 3};
    cr_expect(close_rel(gy_monitor_wasserstein_sorted(a, 3, b, 3), 5.0));
    cr_expect(close_rel(gy_monitor_wasserstein_sorted(c, 2, d, 3), 0.8333333333333334), "W = %.17g",
              gy_monitor_wasserstein_sorted(c, 2, d, 3));
    cr_expect_eq(gy_monitor_wasserstein_sorted(a, 3, a, 3), 0.0);
}

Test(stats, quantile_and_moments_as_numpy)
{
    /* numpy.quantile([1, 2, 4, 7, 11], [0.1, 0.30000000000000004, 0.5, 0.9]) =
     * [1.4, 2.4000000000000004, 4.0, 9.4]; numpy.std(...) = 3.63318042491699. */
    double v[] = {1, 2, 4, 7, 11}, mean, std;
    cr_expect(close_rel(gy_monitor_quantile_sorted(v, 5, 0.1), 1.4));
    cr_expect_eq(gy_monitor_quantile_sorted(v, 5, 3 * 0.1), 2.4000000000000004);
    cr_expect_eq(gy_monitor_quantile_sorted(v, 5, 0.5), 4.0);
    cr_expect(close_rel(gy_monitor_quantile_sorted(v, 5, 0.9), 9.4));
    cr_expect_eq(gy_monitor_quantile_sorted(v, 5, 1.0), 11.0);
    gy_monitor_mean_std(v, 5, &mean, &std);
    cr_expect_eq(mean, 5.0);
    cr_expect(close_rel(std, 3.63318042491699));
}

Test(stats, pairwise_sum_is_numpys)
{
    /* np.sum of [1e16, 1.0, -1e16] + 11 ones: numpy's pairwise order gives 10.0 here, where a
     * left-to-right sum gives 11.0. */
    double v[14] = {1e16, 1.0, -1e16};
    for (int i = 3; i < 14; i++)
        v[i] = 1.0;
    cr_expect_eq(gy_monitor_sum(v, 14), 10.0, "sum = %.17g", gy_monitor_sum(v, 14));
}

Test(stats, bin_count_right_side_and_paths_agree)
{
    double cuts[] = {-1, 0, 0, 2.5, 10};
    double x[] = {-5, -1, -0.5, 0, 1, 2.5, 3, 10, 11, 0};
    uint64_t got[6] = {0}, want[6] = {1, 2, 0, 3, 2, 2}; /* x == cut goes to the right */
    gy_monitor_bin_count(cuts, 5, x, 10, got);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(got[i], want[i], "bin %d: %llu want %llu", i, (unsigned long long)got[i],
                     (unsigned long long)want[i]);
    /* Large input (SIMD path, odd tail) against a scalar count. */
    {
        size_t n = 100003;
        double *v = gy_malloc(n * sizeof(double)), c9[9];
        uint64_t a[10] = {0}, b[10] = {0};
        for (int i = 0; i < 9; i++)
            c9[i] = (double)i / 9.0;
        for (size_t i = 0; i < n; i++)
            v[i] = (i % 17 == 0) ? c9[i % 9] : unif();
        gy_monitor_bin_count(c9, 9, v, n, a);
        for (size_t i = 0; i < n; i++) {
            size_t k = 0;
            while (k < 9 && c9[k] <= v[i])
                k++;
            b[k]++;
        }
        for (int i = 0; i < 10; i++)
            cr_expect_eq(a[i], b[i]);
        gy_free(v);
    }
}

Test(stats, psi_js)
{
    double p[] = {0.25, 0.25, 0.5}, q[] = {0.5, 0.25, 0.25};
    /* (0.25)ln2 + 0 + (-0.25)ln(0.5) = 0.5 ln 2 */
    cr_expect(close_rel(gy_monitor_psi(p, q, 3), 0.5 * log(2)));
    cr_expect_eq(gy_monitor_psi(p, p, 3), 0.0);
    /* scipy.spatial.distance.jensenshannon([1,0], [0,1], base=2) = 1.0;
     * ([10,20,30], [30,20,10], base=2) = 0.354703515198132 */
    {
        double a[] = {1, 0}, b[] = {0, 1}, c[] = {10, 20, 30}, d[] = {30, 20, 10};
        cr_expect(close_rel(gy_monitor_jensenshannon(a, b, 2, 2.0), 1.0));
        cr_expect(close_rel(gy_monitor_jensenshannon(c, d, 3, 2.0), 0.354703515198132),
                  "js = %.17g", gy_monitor_jensenshannon(c, d, 3, 2.0));
        cr_expect_eq(gy_monitor_jensenshannon(c, c, 3, 2.0), 0.0);
    }
}

Test(stats, chi2_contingency_as_scipy)
{
    struct gy_monitor_chi2 c;
    /* chi2_contingency([[10, 20, 30], [20, 20, 20]]) = (5.333333333333334,
     * 0.0694834512228015, 2); the 2x2 table [[12, 5], [7, 9]] uses Yates:
     * (1.455996378814684, 0.22756821457580642, 1). */
    double a[] = {10, 20, 30}, b[] = {20, 20, 20}, c2a[] = {12, 5}, c2b[] = {7, 9};
    cr_assert_eq(gy_monitor_chi2_contingency(a, b, 3, &c), GY_OK);
    cr_expect(close_rel(c.statistic, 5.333333333333334), "chi2 = %.17g", c.statistic);
    cr_expect(close_rel(c.p_value, 0.0694834512228015), "p = %.17g", c.p_value);
    cr_expect_eq(c.dof, 2);
    cr_assert_eq(gy_monitor_chi2_contingency(c2a, c2b, 2, &c), GY_OK);
    cr_expect(close_rel(c.statistic, 1.455996378814684), "chi2 = %.17g", c.statistic);
    cr_expect(close_rel(c.p_value, 0.22756821457580642), "p = %.17g", c.p_value);
    /* One category: dof 0, statistic 0, p 1 (not NaN). */
    {
        double x[] = {5}, y[] = {9};
        cr_assert_eq(gy_monitor_chi2_contingency(x, y, 1, &c), GY_OK);
        cr_expect_eq(c.statistic, 0.0);
        cr_expect_eq(c.p_value, 1.0);
        cr_expect_eq(c.dof, 0);
    }
    /* A zero column is refused, as SciPy does. */
    {
        double x[] = {5, 0}, y[] = {9, 0};
        cr_expect_eq(gy_monitor_chi2_contingency(x, y, 2, &c), GY_E_INVALID);
    }
}

Test(stats, ztest)
{
    double z, p;
    /* 30/100 vs 45/100: P = 0.375, z = -0.15/sqrt(0.375*0.625*0.02) = -2.1908902300206647,
     * p = 2*norm.sf(|z|) = 0.02845973691631055. */
    gy_monitor_ztest_2prop(30, 100, 45, 100, &z, &p);
    cr_expect(close_rel(z, -2.1908902300206647), "z = %.17g", z);
    cr_expect(close_rel(p, 0.02845973691631055), "p = %.17g", p);
    /* Both sides all true: z 0, p 1. */
    gy_monitor_ztest_2prop(10, 10, 7, 7, &z, &p);
    cr_expect_eq(z, 0.0);
    cr_expect_eq(p, 1.0);
}

Test(stats, benjamini_hochberg)
{
    /* scipy.stats.false_discovery_control([0.01, 0.04, 0.03, 0.2]) (SciPy >= 1.11) =
     * [0.04, 0.05333333, 0.05333333, 0.2]. */
    double p[] = {0.01, 0.04, 0.03, 0.2}, adj[4];
    cr_assert_eq(gy_monitor_bh_adjust(p, 4, adj), GY_OK);
    cr_expect(close_rel(adj[0], 0.04));
    cr_expect(close_rel(adj[1], 0.04 * 4 / 3));
    cr_expect(close_rel(adj[2], 0.04 * 4 / 3));
    cr_expect(close_rel(adj[3], 0.2));
    {
        double one[] = {0.9}, o[1];
        cr_assert_eq(gy_monitor_bh_adjust(one, 1, o), GY_OK);
        cr_expect_eq(o[0], 0.9);
    }
}
