/* SPDX-License-Identifier: MIT */
/*
 * test_abtest.c - unit tests for src/monitor/abtest.c: Student's t survival function and its
 * inverse, the normal quantile, the regularized incomplete beta function, Welch's t-test, the
 * two-proportion z-test and the Hanley-McNeil AUC z-test, each against SciPy 1.10.1 to 1e-9
 * relative (or 1e-12 absolute), plus the defined edge cases (zero variances, too little data,
 * bad arguments). The tables were printed by
 *     /usr/bin/python3 tests/unit/monitor/abtest_oracle.py
 * and pasted here (the script says how each value is computed).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "monitor/monitor.h"

/* |got - want| <= 1e-9 relative or 1e-12 absolute. */
static int close_to(double got, double want)
{
    return fabs(got - want) <= 1e-9 * fmax(fabs(got), fabs(want)) || fabs(got - want) <= 1e-12;
}

#define CLOSE(got, want, fmt, ...)                                                                 \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        cr_assert(close_to(got_, want_), fmt ": got %.17g, want %.17g", __VA_ARGS__, got_, want_); \
    } while (0)

static const struct {
    double t, df, want;
} t_sf_cases[] = {
    {-50.0, 0.5, 0.9546473935970335},
    {-3.0, 0.5, 0.8163459220070283},
    {-0.1, 0.5, 0.5268341894356968},
    {0.0, 0.5, 0.5},
    {0.7, 0.5, 0.34270033126038335},
    {2.5, 0.5, 0.20048526452664664},
    {8.0, 0.5, 0.11325254640378932},
    {40.0, 0.5, 0.05070489996474719},
    {-50.0, 1.0, 0.9936346508990271},
    {-3.0, 1.0, 0.8975836176504333},
    {-0.1, 1.0, 0.5317255174305535},
    {0.0, 1.0, 0.5},
    {0.7, 1.0, 0.3055998877857853},
    {2.5, 1.0, 0.12111894159084335},
    {8.0, 1.0, 0.03958342416056554},
    {40.0, 1.0, 0.007956089912025812},
    {-50.0, 2.0, 0.999800119920056},
    {-3.0, 2.0, 0.9522670168666454},
    {-0.1, 2.0, 0.53526728079293},
    {0.0, 2.0, 0.5},
    {0.7, 2.0, 0.2781965123164327},
    {2.5, 2.0, 0.0648058601107554},
    {8.0, 2.0, 0.00763403608266907},
    {40.0, 2.0, 0.0003122073360923703},
    {-50.0, 3.7, 0.9999988733204636},
    {-3.0, 3.7, 0.9779370571942407},
    {-0.1, 3.7, 0.5372373662649048},
    {0.0, 3.7, 0.5},
    {0.7, 3.7, 0.26271302697158794},
    {2.5, 3.7, 0.035911011455913376},
    {8.0, 3.7, 0.0009125454813373666},
    {40.0, 3.7, 2.5693124910707444e-06},
    {-50.0, 10.0, 0.9999999999998763},
    {-3.0, 10.0, 0.9933281724887152},
    {-0.1, 10.0, 0.5388396407177959},
    {0.0, 10.0, 0.5},
    {0.7, 10.0, 0.24994378508644222},
    {2.5, 10.0, 0.015723422118304388},
    {8.0, 10.0, 5.887471394833078e-06},
    {40.0, 10.0, 1.1404288715428737e-12},
    {-50.0, 55.5, 1.0},
    {-3.0, 55.5, 0.9979811731054062},
    {-0.1, 55.5, 0.5396476603147727},
    {0.0, 55.5, 0.5},
    {0.7, 55.5, 0.2434256268668975},
    {2.5, 55.5, 0.007701316452643895},
    {8.0, 55.5, 4.1043510281460454e-11},
    {40.0, 55.5, 6.498240500283365e-43},
    {-50.0, 1000.0, 1.0},
    {-3.0, 1000.0, 0.9986166454778809},
    {-0.1, 1000.0, 0.539817815488198},
    {0.0, 1000.0, 0.5},
    {0.7, 1000.0, 0.24204505699630124},
    {2.5, 1000.0, 0.006289283900545397},
    {8.0, 1000.0, 1.7133307411957495e-15},
    {40.0, 1000.0, 5.239426077586736e-210},
    {-50.0, 123456.0, 1.0},
    {-3.0, 123456.0, 0.9986498327175714},
    {-0.1, 123456.0, 0.5398277560898723},
    {0.0, 123456.0, 0.5},
    {0.7, 123456.0, 0.24196431173000776},
    {2.5, 123456.0, 0.00621030868601781},
    {8.0, 123456.0, 6.274371061249281e-16},
    {40.0, 123456.0, 0.0},
    {-50.0, 1000000.0, 1.0},
    {-3.0, 1000000.0, 0.9986500687292891},
    {-0.1, 1000000.0, 0.5398278272539785},
    {0.0, 1000000.0, 0.5},
    {0.7, 1000000.0, 0.24196373364327095},
    {2.5, 1000000.0, 0.006209744751081614},
    {8.0, 1000000.0, 6.227531716601235e-16},
    {40.0, 1000000.0, 0.0},
};

static const struct {
    double q, df, want;
} t_isf_cases[] = {
    {0.25, 1.0, 1.0000000000000016},      {0.05, 1.0, 6.313751514675043},
    {0.025, 1.0, 12.706204736174703},     {0.005, 1.0, 63.65674116287157},
    {1e-06, 1.0, 318309.8861827435},      {0.25, 2.5, 0.7850136829923009},
    {0.05, 2.5, 2.5582186141359364},      {0.025, 2.5, 3.574654842003683},
    {0.005, 2.5, 7.163728138948786},      {1e-06, 2.5, 220.1734291782368},
    {0.25, 7.3, 0.7095730204569914},      {0.05, 7.3, 1.8829300179564306},
    {0.025, 7.3, 2.345066736547703},      {0.005, 7.3, 3.451031655622185},
    {1e-06, 7.3, 13.493523060744641},     {0.25, 40.7, 0.6805655394253698},
    {0.05, 40.7, 1.683164769514477},      {0.025, 40.7, 2.019993145994804},
    {0.005, 40.7, 2.7021470235389797},    {1e-06, 40.7, 5.538352906633893},
    {0.25, 1234.5, 0.6746885345729049},   {0.05, 1234.5, 1.64608888026902},
    {0.025, 1234.5, 1.9618874833313453},  {0.005, 1234.5, 2.5798177297333216},
    {1e-06, 1234.5, 4.776232476256313},   {0.25, 100000.0, 0.674492203553292},
    {0.05, 100000.0, 1.6448688647849696}, {0.025, 100000.0, 1.9599877075346097},
    {0.005, 100000.0, 2.575878469908375}, {1e-06, 100000.0, 4.753704716391288},
};

static const struct {
    double p, want;
} norm_ppf_cases[] = {
    {1e-300, -37.0470962993612}, {1e-20, -9.262340089798409},
    {1e-10, -6.361340902404056}, {0.001, -3.090232306167813},
    {0.02, -2.053748910631823},  {0.025, -1.9599639845400545},
    {0.3, -0.5244005127080409},  {0.5, 0.0},
    {0.7, 0.5244005127080407},   {0.93, 1.475791028179171},
    {0.975, 1.959963984540054},  {0.999999, 4.753424308817087},
};

static const struct {
    double a, b, x, want;
} betainc_cases[] = {
    {0.5, 0.5, 0.3, 0.3690101195655454},
    {2.0, 3.0, 0.4, 0.5247999999999999},
    {10.0, 0.5, 0.95, 0.3171515754655451},
    {0.5, 10.0, 0.01, 0.3420718248432155},
    {50.0, 60.0, 0.45, 0.4642352914306064},
    {500.0, 0.5, 0.999, 0.317310447309558},
    {100000.0, 0.5, 0.99999, 0.15729868817218146},
    {3000.0, 4000.0, 0.43, 0.5958415156651337},
    {1.0, 1.0, 0.125, 0.125},
    {0.1, 7.0, 0.8, 0.9999997240152728},
};

static const struct {
    double mean_a, var_a;
    uint64_t n_a;
    double mean_b, var_b;
    uint64_t n_b;
    double alpha, t, df, p, lo, hi;
} welch_cases[] = {
    {10.091774799408723, 2.7886155727833133, 2, 9.654528324364367, 3.2716445201847337, 2, 0.05,
     -0.25118614632725617, 1.987374646851176, 0.8252533877901944, -7.972771157341204,
     7.098278207252492},
    {10.041770705147982, 0.6970198719985076, 2, 10.683107332838484, 12.47199825204578, 3, 0.05,
     0.3021329083869987, 2.316812902690016, 0.787560610098313, -7.393527184465359,
     8.676200439846362},
    {12.817080635419098, 5.286745382578592, 3, 10.791697212253876, 9.247943928216843, 50, 0.01,
     -1.4514469003022972, 2.440758924191051, 0.26199198752169667, -12.333077974431882,
     8.282311128101439},
    {10.432201728739349, 1.4769487630057787, 10, 10.12773856243832, 9.554111326525927, 10, 0.05,
     -0.2898852609081583, 11.717635493305057, 0.7769697284532843, -2.598976276176872,
     1.9900499435748156},
    {10.17511779568528, 5.796935341897922, 10, 10.946427732815668, 8.012960413958872, 10, 0.2,
     0.6563473353868957, 17.548144329816108, 0.5201153123063986, -0.7936411969911554,
     2.3362610712519314},
    {10.12599674137988, 3.8579578792932097, 100, 10.133971368783824, 8.652328985843408, 80, 0.05,
     0.02081831040074494, 132.0085129517723, 0.9834220255042768, -0.7497521774256185,
     0.7657014322335044},
    {9.9610542205182, 3.9846307656311706, 1000, 10.128627821194153, 8.109899050778013, 1200, 0.05,
     1.616758823181414, 2137.7456476522493, 0.1060778941208567, -0.03568756512373475,
     0.37083476647563973},
    {11.53500722355886, 9.73643019982793, 5, 9.57367769993821, 8.89410821392035, 5000, 0.05,
     -1.404874144575594, 4.007311235928246, 0.2326322644578845, -5.834706908662446,
     1.9120478614211462},
    {10.104181635661865, 4.2881549743439225, 400, 12.832116121886493, 9.99499393598247, 400, 0.01,
     14.436168741770507, 688.1442501933072, 1.8450588526110746e-41, 2.2398385905377256,
     3.2160303819115303},
    {10.041111970002996, 2.9206227943264795, 30, 7.208024481210537, 2.1998586827330437, 7, 0.1,
     -4.415826006843215, 10.092796139813867, 0.0012738214413192679, -3.9948349049253182,
     -1.6713400726595995},
    {4.0, 0.0, 3, 5.032619880766847, 0.5760347580136402, 6, 0.05, 3.33266578301258, 5.0,
     0.020718323589747692, 0.23613019909924682, 1.829109562434448},
    {0.25, 0.19, 1000000, 0.2504, 0.1901, 1000000, 0.05, 0.6488003216752978, 1999997.8615688607,
     0.5164675240188616, -0.0008083626380558887, 0.0016083626380559116},
    {0.25, 0.19, 1000000, 0.252, 0.1901, 1200000, 0.05, 3.388289694776454, 2129227.2516813586,
     0.0007033121282498379, 0.0008430947320066434, 0.00315690526799336},
};

static const struct {
    uint64_t x_a, n_a, x_b, n_b;
    double alpha, z, p, lo, hi;
} prop_cases[] = {
    {5, 10, 7, 10, 0.05, 0.9128709291752767, 0.3613104285261789, -0.22036544309913236,
     0.6203654430991323},
    {0, 1, 1, 1, 0.05, 1.414213562373095, 0.15729920705028516, 1.0, 1.0},
    {0, 50, 0, 50, 0.05, 0.0, 1.0, 0.0, 0.0},
    {50, 50, 50, 50, 0.05, 0.0, 1.0, 0.0, 0.0},
    {480, 1000, 530, 1000, 0.05, 2.2361797892846207, 0.025339996552342214, 0.006230884017607151,
     0.09376911598239293},
    {1, 3, 2, 2, 0.1, 1.49071198499986, 0.13603712811414354, 0.21899421248918444,
     1.114339120844149},
    {9000, 10000, 9100, 10000, 0.01, 2.4115646544478455, 0.01588423527707962,
     -0.0006796007683599527, 0.020679600768359972},
    {10, 1000000, 30, 1000000, 0.05, 3.1623092834193303, 0.0015652322566207131,
     7.604254303635281e-06, 3.2395745696364714e-05},
    {0, 100, 100, 100, 0.05, 14.142135623730951, 2.0884875837624556e-45, 1.0, 1.0},
    {700, 1000, 640, 900, 0.05, 0.5304068608604714, 0.595829870155077, -0.029919970129108624,
     0.05214219235133099},
    {3, 7, 3, 7, 0.3, 0.0, 1.0, -0.2741573897339269, 0.2741573897339269},
};

static const struct {
    double auc_a;
    uint64_t pos_a, neg_a;
    double auc_b;
    uint64_t pos_b, neg_b;
    double alpha, se_a, z, p, lo, hi;
} auc_cases[] = {
    {0.7, 30, 70, 0.8, 25, 75, 0.05, 0.06008666440915992, 1.2088096867252653, 0.22673596923789052,
     -0.06213999656552305, 0.2621399965655232},
    {0.9, 500, 4500, 0.91, 480, 4520, 0.05, 0.009332671427885015, 0.767181533532736,
     0.44297359070208997, -0.015547590744458696, 0.035547590744458714},
    {0.5, 1, 1, 0.75, 2, 2, 0.05, 0.5, 0.43762823018203156, 0.6616558035199378, -0.869651252688159,
     1.369651252688159},
    {0.65, 200, 300, 0.78, 210, 290, 0.01, 0.025417040622076507, 3.898653011635277,
     9.672926925516663e-05, 0.04410935816498783, 0.21589064183501216},
    {0.8, 40, 60, 0.8, 45, 55, 0.05, 0.047414640651893034, 0.0, 1.0, -0.12909578948794742,
     0.12909578948794742},
};

Test(abtest, t_sf_matches_scipy)
{
    for (size_t i = 0; i < sizeof t_sf_cases / sizeof t_sf_cases[0]; i++) {
        double got = gy_ab_t_sf(t_sf_cases[i].t, t_sf_cases[i].df);
        CLOSE(got, t_sf_cases[i].want, "t.sf(%g, %g)", t_sf_cases[i].t, t_sf_cases[i].df);
    }
    cr_assert(isnan(gy_ab_t_sf(1, 0)), "df 0");
    cr_assert(isnan(gy_ab_t_sf(NAN, 3)), "t NaN");
    cr_assert_eq(gy_ab_t_sf(INFINITY, 3), 0);
    cr_assert_eq(gy_ab_t_sf(-INFINITY, 3), 1);
}

Test(abtest, t_isf_matches_polished_scipy)
{
    for (size_t i = 0; i < sizeof t_isf_cases / sizeof t_isf_cases[0]; i++) {
        double got = gy_ab_t_isf(t_isf_cases[i].q, t_isf_cases[i].df);
        CLOSE(got, t_isf_cases[i].want, "t.isf(%g, %g)", t_isf_cases[i].q, t_isf_cases[i].df);
        /* the lower quantile is the mirror image */
        CLOSE(gy_ab_t_isf(1 - t_isf_cases[i].q, t_isf_cases[i].df), -t_isf_cases[i].want,
              "t.isf(1 - %g, %g)", t_isf_cases[i].q, t_isf_cases[i].df);
    }
    cr_assert_eq(gy_ab_t_isf(0.5, 7), 0);
    cr_assert(isnan(gy_ab_t_isf(0, 7)) && isnan(gy_ab_t_isf(1, 7)) && isnan(gy_ab_t_isf(0.1, -1)));
}

Test(abtest, norm_ppf_matches_scipy)
{
    for (size_t i = 0; i < sizeof norm_ppf_cases / sizeof norm_ppf_cases[0]; i++)
        CLOSE(gy_ab_norm_ppf(norm_ppf_cases[i].p), norm_ppf_cases[i].want, "norm.ppf(%g)",
              norm_ppf_cases[i].p);
    cr_assert(isinf(gy_ab_norm_ppf(0)) && gy_ab_norm_ppf(0) < 0);
    cr_assert(isinf(gy_ab_norm_ppf(1)) && gy_ab_norm_ppf(1) > 0);
    cr_assert(isnan(gy_ab_norm_ppf(-0.1)) && isnan(gy_ab_norm_ppf(1.5)));
}

Test(abtest, betainc_matches_scipy)
{
    for (size_t i = 0; i < sizeof betainc_cases / sizeof betainc_cases[0]; i++) {
        double a = betainc_cases[i].a, b = betainc_cases[i].b, x = betainc_cases[i].x;
        CLOSE(gy_ab_betainc(a, b, x, 1 - x), betainc_cases[i].want, "betainc(%g, %g, %g)", a, b, x);
    }
    cr_assert_eq(gy_ab_betainc(2, 3, 0, 1), 0);
    cr_assert_eq(gy_ab_betainc(2, 3, 1, 0), 1);
    cr_assert(isnan(gy_ab_betainc(0, 3, 0.5, 0.5)) && isnan(gy_ab_betainc(2, 3, 1.5, -0.5)));
}

Test(abtest, welch_matches_scipy)
{
    for (size_t i = 0; i < sizeof welch_cases / sizeof welch_cases[0]; i++) {
        struct gy_ab_test t;
        cr_assert_eq(gy_ab_welch(welch_cases[i].mean_a, welch_cases[i].var_a, welch_cases[i].n_a,
                                 welch_cases[i].mean_b, welch_cases[i].var_b, welch_cases[i].n_b,
                                 welch_cases[i].alpha, &t),
                     GY_OK, "case %zu: %s", i, gy_error_msg());
        cr_assert_str_eq(t.test, "Welch t-test");
        cr_assert_eq(t.n_a, welch_cases[i].n_a);
        cr_assert_eq(t.n_b, welch_cases[i].n_b);
        cr_assert_eq(t.effect, welch_cases[i].mean_b - welch_cases[i].mean_a);
        CLOSE(t.statistic, welch_cases[i].t, "case %zu t", i);
        CLOSE(t.df, welch_cases[i].df, "case %zu df", i);
        CLOSE(t.p_value, welch_cases[i].p, "case %zu p", i);
        CLOSE(t.ci_lo, welch_cases[i].lo, "case %zu ci_lo", i);
        CLOSE(t.ci_hi, welch_cases[i].hi, "case %zu ci_hi", i);
        cr_assert_eq(t.significant, welch_cases[i].p < welch_cases[i].alpha, "case %zu", i);
    }
}

Test(abtest, welch_zero_variance_and_bad_input)
{
    struct gy_ab_test t;
    cr_assert_eq(gy_ab_welch(3, 0, 5, 3, 0, 9, 0.05, &t), GY_OK);
    cr_assert_eq(t.p_value, 1.0);
    cr_assert_eq(t.statistic, 0.0);
    cr_assert(isnan(t.df));
    cr_assert_eq(t.significant, 0);
    cr_assert(t.ci_lo == 0 && t.ci_hi == 0);

    cr_assert_eq(gy_ab_welch(3, 0, 5, 3.5, 0, 9, 0.05, &t), GY_OK);
    cr_assert_eq(t.p_value, 0.0);
    cr_assert(isinf(t.statistic) && t.statistic > 0);
    cr_assert_eq(t.significant, 1);
    cr_assert(t.ci_lo == 0.5 && t.ci_hi == 0.5);
    cr_assert_eq(gy_ab_welch(3, 0, 5, 2.5, 0, 9, 0.05, &t), GY_OK);
    cr_assert(isinf(t.statistic) && t.statistic < 0);

    cr_assert_eq(gy_ab_welch(1, 1, 1, 2, 1, 10, 0.05, &t), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "at least 2"), "%s", gy_error_msg());
    cr_assert_eq(gy_ab_welch(1, 1, 10, 2, 1, 0, 0.05, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_welch(1, -1, 10, 2, 1, 10, 0.05, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_welch(NAN, 1, 10, 2, 1, 10, 0.05, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_welch(1, 1, 10, 2, INFINITY, 10, 0.05, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_welch(1, 1, 10, 2, 1, 10, 0, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_welch(1, 1, 10, 2, 1, 10, 1, &t), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "alpha"), "%s", gy_error_msg());
}

Test(abtest, two_proportion_matches_formulas)
{
    for (size_t i = 0; i < sizeof prop_cases / sizeof prop_cases[0]; i++) {
        struct gy_ab_test t;
        cr_assert_eq(gy_ab_two_proportion(prop_cases[i].x_a, prop_cases[i].n_a, prop_cases[i].x_b,
                                          prop_cases[i].n_b, prop_cases[i].alpha, &t),
                     GY_OK, "case %zu: %s", i, gy_error_msg());
        cr_assert_str_eq(t.test, "two-proportion z-test");
        CLOSE(t.a, (double)prop_cases[i].x_a / (double)prop_cases[i].n_a, "case %zu a", i);
        CLOSE(t.b, (double)prop_cases[i].x_b / (double)prop_cases[i].n_b, "case %zu b", i);
        CLOSE(t.statistic, prop_cases[i].z, "case %zu z", i);
        CLOSE(t.p_value, prop_cases[i].p, "case %zu p", i);
        CLOSE(t.ci_lo, prop_cases[i].lo, "case %zu ci_lo", i);
        CLOSE(t.ci_hi, prop_cases[i].hi, "case %zu ci_hi", i);
        cr_assert(isnan(t.df), "case %zu: no df for a z-test", i);
        cr_assert_eq(t.significant, prop_cases[i].p < prop_cases[i].alpha, "case %zu", i);
    }
}

Test(abtest, two_proportion_bad_input)
{
    struct gy_ab_test t;
    cr_assert_eq(gy_ab_two_proportion(0, 0, 1, 2, 0.05, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_two_proportion(1, 2, 0, 0, 0.05, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_two_proportion(3, 2, 1, 2, 0.05, &t), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "more successes"), "%s", gy_error_msg());
    cr_assert_eq(gy_ab_two_proportion(1, 2, 1, 2, -0.5, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_two_proportion(1, 2, 1, 2, NAN, &t), GY_E_INVALID);
}

Test(abtest, auc_matches_formulas)
{
    for (size_t i = 0; i < sizeof auc_cases / sizeof auc_cases[0]; i++) {
        struct gy_ab_test t;
        CLOSE(gy_ab_hanley_mcneil_se(auc_cases[i].auc_a, auc_cases[i].pos_a, auc_cases[i].neg_a),
              auc_cases[i].se_a, "case %zu se", i);
        cr_assert_eq(gy_ab_auc(auc_cases[i].auc_a, auc_cases[i].pos_a, auc_cases[i].neg_a,
                               auc_cases[i].auc_b, auc_cases[i].pos_b, auc_cases[i].neg_b,
                               auc_cases[i].alpha, &t),
                     GY_OK, "case %zu: %s", i, gy_error_msg());
        cr_assert_str_eq(t.test, "AUC z-test (Hanley-McNeil)");
        cr_assert_eq(t.n_a, auc_cases[i].pos_a + auc_cases[i].neg_a);
        CLOSE(t.statistic, auc_cases[i].z, "case %zu z", i);
        CLOSE(t.p_value, auc_cases[i].p, "case %zu p", i);
        CLOSE(t.ci_lo, auc_cases[i].lo, "case %zu ci_lo", i);
        CLOSE(t.ci_hi, auc_cases[i].hi, "case %zu ci_hi", i);
        cr_assert_eq(t.significant, auc_cases[i].p < auc_cases[i].alpha, "case %zu", i);
    }
}

Test(abtest, auc_edges)
{
    struct gy_ab_test t;
    cr_assert(isnan(gy_ab_hanley_mcneil_se(0.7, 0, 5)));
    cr_assert(isnan(gy_ab_hanley_mcneil_se(1.2, 3, 5)));
    cr_assert_eq(gy_ab_hanley_mcneil_se(1, 3, 5), 0.0);
    /* two perfect classifiers: exact and equal */
    cr_assert_eq(gy_ab_auc(1, 3, 5, 1, 4, 4, 0.05, &t), GY_OK);
    cr_assert(t.p_value == 1 && t.statistic == 0 && !t.significant);
    cr_assert_eq(gy_ab_auc(0.7, 0, 5, 0.8, 4, 4, 0.05, &t), GY_E_INVALID);
    cr_assert_eq(gy_ab_auc(0.7, 3, 5, 1.8, 4, 4, 0.05, &t), GY_E_INVALID);
}
