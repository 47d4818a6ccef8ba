/* SPDX-License-Identifier: MIT */
/*
 * test_special.c - unit tests for src/monitor/special.c: the two-sided Kolmogorov survival
 * function (kstwo.sf) in every branch of Simard & L'Ecuyer's decision procedure, the one-sided
 * Smirnov function, the regularized upper incomplete gamma function, the normal survival
 * function and the exact two-sample KS p-values, each against values SciPy 1.10.1 computed
 * (the tables below were printed by scipy.stats/scipy.special and pasted here).
 */
#include <criterion/criterion.h>
#include <math.h>

#include "monitor/monitor.h"

/* |got - want| <= 1e-9 relative (values below 1e-300 compare as equal). */
static int close_rel(double got, double want)
{
    return fabs(got - want) <= 1e-9 * fmax(fabs(got), fabs(want)) + 1e-300;
}

static const struct {
    int64_t n;
    double x, want;
} kstwo_cases[] = {
    {1, 0.7, 0.6000000000000001},
    {5, 0.05, 1.0},
    {5, 0.15, 0.9988},
    {5, 0.9, 1.9999999999999978e-05},
    {10, 0.08, 0.9999978058034054},
    {10, 0.3, 0.27053557479999946},
    {10, 0.95, 1.9531250000000172e-13},
    {50, 0.1, 0.6623112704658186},
    {50, 0.15, 0.19026366518248072},
    {50, 0.25, 0.0030657620198693003},
    {50, 0.6, 9.634070456142374e-18},
    {140, 0.07, 0.4776228287946562},
    {140, 0.12, 0.03252638258561632},
    {140, 0.2, 2.1981563302200222e-05},
    {141, 0.003, 1.0},
    {141, 0.08, 0.31084170879264117},
    {141, 0.2, 2.0276784223976912e-05},
    {1000, 0.02, 0.8108971656895577},
    {1000, 0.03, 0.3226902143914636},
    {1000, 0.06, 0.001428597887952891},
    {1000, 0.3, 2.590715705736845e-80},
    {1000, 0.55, 1.356299236791213e-284},
    {5000, 0.0005, 1.0},
    {5000, 0.012, 0.4639912166690191},
    {5000, 0.03, 0.00024159234422666817},
    {100000, 0.001, 0.9999638407940036},
    {100000, 0.003, 0.3284563327726956},
    {100000, 0.0059, 0.0018868913797939362},
    {100001, 0.003, 0.32845050055711633},
    {500000, 0.0008, 0.9059442014486022},
    {500000, 0.0025, 0.0038544560212235442},
    {500000, 0.02, 3.6481966551764204e-174},
    {500000, 0.0272, 0.0},
    {1000000, 0.001, 0.26982107442589376},
    {3000000, 0.002, 7.540208631841765e-11},
};
static const struct {
    int64_t n;
    double x, want;
} smirnov_cases[] = {
    {1, 0.3, 0.7},
    {2, 0.4, 0.44000000000000006},
    {10, 0.05, 0.9224335892010742},
    {10, 0.5, 0.003888705},
    {100, 0.1, 0.1265906584562817},
    {1012, 0.05, 0.006126950453128448},
    {1013, 0.05, 0.006096375178064648},
    {5000, 0.02, 0.01806981293722266},
    {250000, 0.004, 0.0003345621109572637},
    {1000000, 0.001, 0.1352450897649141},
    {1000001, 0.001, 0.1352448117787778},
    {20, 0.99, 1.0000000000000177e-40},
};
static const struct {
    double a, x, want;
} igamc_cases[] = {
    {0.5, 0.1, 0.6547208460185768},       {0.5, 3.0, 0.014305878435429641},
    {1.0, 1.0, 0.36787944117144245},      {2.5, 0.5, 0.9625657732472964},
    {2.5, 10.0, 0.0012497305630313773},   {5.0, 5.5, 0.3575180024279255},
    {10.0, 3.0, 0.9988975118698845},      {10.0, 30.0, 7.121750862815593e-06},
    {12.5, 12.0, 0.5193735712784872},     {50.0, 60.0, 0.08440668109369177},
    {0.5, 400.0, 5.395865611607819e-176}, {3.0, 700.0, 2.4225323864784486e-299},
};
static const struct {
    uint64_t n, m;
    double d, want_p, want_d;
    int exact;
} ks_cases[] = {
    {10, 10, 0.3, 0.7869297884777761, 0.3, 1},
    {10, 10, 0.7, 0.012340600575894691, 0.7, 1},
    {37, 53, 0.25, 0.10663263344761942, 0.24987251402345742, 1},
    {100, 120, 0.2, 0.021900897825175132, 0.2, 1},
    {1000, 1000, 0.05, 0.16411447756429137, 0.05, 1},
    {1000, 3000, 0.04, 0.17892009657674987, 0.04, 1},
    {5000, 7000, 0.0235, 0.07880277054265475, 0.023485714285714287, 1},
    {10000, 10000, 0.02, 0.03662861114079258, 0.02, 1},
    {3, 10000, 0.6, 0.1441456007946418, 0.6, 1},
    {10001, 10001, 0.02, 0.03613941395325637, 0.02, 0},
    {20000, 500, 0.07, 0.01593849377806535, 0.07, 0},
    {1, 20000, 0.9, 0.19999999999999996, 0.9, 0},
};

Test(special, kstwo_sf_matches_scipy_in_every_branch)
{
    for (size_t i = 0; i < sizeof(kstwo_cases) / sizeof(kstwo_cases[0]); i++) {
        double got = gy_monitor_kstwo_sf(kstwo_cases[i].n, kstwo_cases[i].x);
        cr_expect(close_rel(got, kstwo_cases[i].want), "kstwo.sf(%.17g, %lld) = %.17g, want %.17g",
                  kstwo_cases[i].x, (long long)kstwo_cases[i].n, got, kstwo_cases[i].want);
    }
}

Test(special, kstwo_sf_edges)
{
    cr_expect_eq(gy_monitor_kstwo_sf(100, 0.0), 1.0);
    cr_expect_eq(gy_monitor_kstwo_sf(100, 1.0), 0.0);
    cr_expect_eq(gy_monitor_kstwo_sf(100, 0.004), 1.0); /* below 1/(2n) */
    cr_expect(isnan(gy_monitor_kstwo_sf(0, 0.5)));
    /* Monotone in x. */
    for (int64_t n = 7; n < 300000; n *= 9) {
        double prev = 1.0;
        for (double x = 0.0005; x < 1; x *= 1.3) {
            double p = gy_monitor_kstwo_sf(n, x);
            cr_expect(p <= prev + 1e-12, "n=%lld x=%g: %g > %g", (long long)n, x, p, prev);
            cr_expect(p >= 0 && p <= 1);
            prev = p;
        }
    }
}

Test(special, smirnov_matches_scipy)
{
    for (size_t i = 0; i < sizeof(smirnov_cases) / sizeof(smirnov_cases[0]); i++) {
        double got = gy_monitor_smirnov(smirnov_cases[i].n, smirnov_cases[i].x);
        cr_expect(close_rel(got, smirnov_cases[i].want), "smirnov(%lld, %.17g) = %.17g, want %.17g",
                  (long long)smirnov_cases[i].n, smirnov_cases[i].x, got, smirnov_cases[i].want);
    }
    cr_expect_eq(gy_monitor_smirnov(10, 0.0), 1.0);
    cr_expect_eq(gy_monitor_smirnov(10, 1.0), 0.0);
}

Test(special, igamc_and_chi2_match_scipy)
{
    for (size_t i = 0; i < sizeof(igamc_cases) / sizeof(igamc_cases[0]); i++) {
        double got = gy_monitor_igamc(igamc_cases[i].a, igamc_cases[i].x);
        cr_expect(close_rel(got, igamc_cases[i].want), "Q(%g, %g) = %.17g, want %.17g",
                  igamc_cases[i].a, igamc_cases[i].x, got, igamc_cases[i].want);
    }
    /* chi2.sf(3.841458820694124, 1) = 0.04999999999999989; chi2.sf(x, 2) = exp(-x/2). */
    cr_expect(close_rel(gy_monitor_chi2_sf(3.841458820694124, 1), 0.04999999999999989));
    cr_expect(close_rel(gy_monitor_chi2_sf(7.5, 2), exp(-3.75)));
    cr_expect_eq(gy_monitor_igamc(3.0, 0.0), 1.0);
    cr_expect_eq(gy_monitor_igamc(3.0, INFINITY), 0.0);
}

Test(special, norm_sf)
{
    /* scipy.stats.norm.sf at 0, 1.96, -1 and 30. */
    cr_expect_eq(gy_monitor_norm_sf(0), 0.5);
    cr_expect(close_rel(gy_monitor_norm_sf(1.96), 0.024997895148220435));
    cr_expect(close_rel(gy_monitor_norm_sf(-1), 0.8413447460685429));
    cr_expect(close_rel(gy_monitor_norm_sf(30), 4.906713927148187e-198));
}

Test(special, ks_pvalue_exact_and_asymptotic_as_ks_2samp)
{
    for (size_t i = 0; i < sizeof(ks_cases) / sizeof(ks_cases[0]); i++) {
        enum gy_monitor_ks_method m;
        double d, p = gy_monitor_ks_pvalue(ks_cases[i].n, ks_cases[i].m, ks_cases[i].d, 0, &m, &d);
        cr_expect(close_rel(p, ks_cases[i].want_p), "n=%llu m=%llu d=%g: p %.17g want %.17g",
                  (unsigned long long)ks_cases[i].n, (unsigned long long)ks_cases[i].m,
                  ks_cases[i].d, p, ks_cases[i].want_p);
        cr_expect_eq(d, ks_cases[i].want_d, "statistic %.17g want %.17g", d, ks_cases[i].want_d);
        cr_expect_eq(m, ks_cases[i].exact ? GY_MONITOR_KS_EXACT : GY_MONITOR_KS_ASYMPTOTIC);
    }
}
