/* SPDX-License-Identifier: MIT */
/*
 * abtest.c - online A/B evaluation: the two-sample tests that compare a control and a
 * treatment (two-proportion z-test, Welch's t-test, a z-test of two Hanley-McNeil AUCs), the
 * distribution functions they need beyond special.c (the regularized incomplete beta function
 * by Numerical Recipes' continued fraction, Student's t survival function and its inverse,
 * Wichura's AS241 normal quantile), and gy_deploy_compare, which runs the right test for an
 * online metric between the model versions of a deployment from the sufficient statistics
 * gy_feedback_metrics computes per version. Results equal SciPy 1.10 to 1e-9 relative (see
 * tests/unit/monitor/test_abtest.c and docs/monitoring.md "Comparing variants (A/B)").
 */
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "serving/serving.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define BETACF_MAX_ITER 100000
#define LN_SQRT_2PI 0.91893853320467274178032973640562

/* ------------------------------------------------------------------ special functions */

/* lgamma(x) - ((x - 0.5) ln x - x + ln sqrt(2 pi)) for x >= 10: the Stirling series. */
static double stirling_corr(double x)
{
    static const double c[] = {1.0 / 12,   -1.0 / 360,      1.0 / 1260, -1.0 / 1680,
                               1.0 / 1188, -691.0 / 360360, 1.0 / 156,  -3617.0 / 122400};
    double r = 1.0 / x, r2 = r * r, s = 0;
    for (int i = (int)GY_ARRAY_LEN(c) - 1; i >= 0; i--)
        s = s * r2 + c[i];
    return s * r;
}

/*
 * log B(a, b) without the cancellation of lgamma(a) + lgamma(b) - lgamma(a + b) when a (or
 * both) is large: with s = a + b and Stirling's series for each large argument,
 *   both >= 10: ln sqrt(2 pi) - ln(s)/2 + (a - 1/2) ln(a/s) + (b - 1/2) ln(b/s) + corrections,
 *   a >= 10 > b: lgamma(b) + (a - 1/2) ln(a/s) - b ln s + b + corrections.
 */
static double lbeta(double a, double b)
{
    double s, t;
    if (a < b) {
        t = a;
        a = b;
        b = t;
    }
    s = a + b;
    if (a < 10)
        return lgamma(a) + lgamma(b) - lgamma(s);
    if (b >= 10)
        return LN_SQRT_2PI - 0.5 * log(s) + (a - 0.5) * log1p(-b / s) + (b - 0.5) * log(b / s) +
               stirling_corr(a) + stirling_corr(b) - stirling_corr(s);
    return lgamma(b) + (a - 0.5) * log1p(-b / s) - b * log(s) + b + stirling_corr(a) -
           stirling_corr(s);
}

/* ln x given x and y = 1 - x, whichever is accurate. */
static double log_of(double x, double y)
{
    return x < 0.5 ? log(x) : log1p(-y);
}

/* The continued fraction of I_x(a, b) (Numerical Recipes betacf, modified Lentz). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap, h;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    h = d;
    for (int m = 1; m <= BETACF_MAX_ITER; m++) {
        double m2 = 2.0 * m, aa, del;
        aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1) <= DBL_EPSILON / 2)
            break;
    }
    return h;
}

double gy_ab_betainc(double a, double b, double x, double y)
{
    double front;
    if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1) || !(y >= 0 && y <= 1) || isinf(a) || isinf(b))
        return NAN;
    if (x == 0)
        return 0;
    if (y == 0)
        return 1;
    if (x < (a + 1) / (a + b + 2)) {
        front = exp(a * log_of(x, y) + b * log_of(y, x) - lbeta(a, b)) / a;
        return front * betacf(a, b, x);
    }
    front = exp(a * log_of(x, y) + b * log_of(y, x) - lbeta(a, b)) / b;
    return 1 - front * betacf(b, a, y);
}

/* Two-sided tail Pr(|T_df| > |t|) = I_{df/(df+t^2)}(df/2, 1/2). */
static double t_two_sided(double t, double df)
{
    double t2 = t * t, x, y;
    if (t == 0)
        return 1;
    if (isinf(t2))
        return 0;
    /* x = df/(df+t^2) and y = t^2/(df+t^2), each computed directly */
    x = df / (df + t2);
    y = t2 / (df + t2);
    return gy_ab_betainc(df / 2, 0.5, x, y);
}

double gy_ab_t_sf(double t, double df)
{
    double tail;
    if (!(df > 0) || isnan(t))
        return NAN;
    tail = 0.5 * t_two_sided(t, df);
    return t > 0 ? tail : 1 - tail;
}

/* ln of Student's t density. */
static double t_logpdf(double t, double df)
{
    return -lbeta(df / 2, 0.5) - 0.5 * log(df) - (df + 1) / 2 * log1p(t * t / df);
}

double gy_ab_norm_ppf(double p)
{
    static const double a[8] = {3.3871328727963666080e0,  1.3314166789178437745e+2,
                                1.9715909503065514427e+3, 1.3731693765509461125e+4,
                                4.5921953931549871457e+4, 6.7265770927008700853e+4,
                                3.3430575583588128105e+4, 2.5090809287301226727e+3};
    static const double b[8] = {1.0,
                                4.2313330701600911252e+1,
                                6.8718700749205790830e+2,
                                5.3941960214247511077e+3,
                                2.1213794301586595867e+4,
                                3.9307895800092710610e+4,
                                2.8729085735721942674e+4,
                                5.2264952788528545610e+3};
    static const double c[8] = {1.42343711074968357734e0,  4.63033784615654529590e0,
                                5.76949722146069140550e0,  3.64784832476320460504e0,
                                1.27045825245236838258e0,  2.41780725177450611770e-1,
                                2.27238449892691845833e-2, 7.74545014278341407640e-4};
    static const double d[8] = {1.0,
                                2.05319162663775882187e0,
                                1.67638483018380384940e0,
                                6.89767334985100004550e-1,
                                1.48103976427480074590e-1,
                                1.51986665636164571966e-2,
                                5.47593808499534494600e-4,
                                1.05075007164441684324e-9};
    static const double e[8] = {6.65790464350110377720e0,  5.46378491116411436990e0,
                                1.78482653991729133580e0,  2.96560571828504891230e-1,
                                2.65321895265761230930e-2, 1.24266094738807843860e-3,
                                2.71155556874348757815e-5, 2.01033439929228813265e-7};
    static const double f[8] = {1.0,
                                5.99832206555887937690e-1,
                                1.36929880922735805310e-1,
                                1.48753612908506148525e-2,
                                7.86869131145613259100e-4,
                                1.84631831751005468180e-5,
                                1.42151175831644588870e-7,
                                2.04426310338993978564e-15};
    const double *num, *den;
    double q = p - 0.5, r, x, pn = 0, pd = 0, resid, dens;
    if (isnan(p) || p < 0 || p > 1)
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    if (fabs(q) <= 0.425) {
        r = 0.180625 - q * q;
        for (int i = 7; i >= 0; i--) {
            pn = pn * r + a[i];
            pd = pd * r + b[i];
        }
        x = q * pn / pd;
    } else {
        r = q < 0 ? p : 1 - p;
        r = sqrt(-log(r));
        if (r <= 5) {
            r -= 1.6;
            num = c;
            den = d;
        } else {
            r -= 5;
            num = e;
            den = f;
        }
        for (int i = 7; i >= 0; i--) {
            pn = pn * r + num[i];
            pd = pd * r + den[i];
        }
        x = pn / pd;
        if (q < 0)
            x = -x;
    }
    /* One Newton step on the tail that holds p, against Cephes' ndtr (special.c): the
     * residual Phi(x) - p is computed as a difference of lower or of upper tails. */
    resid = x < 0 ? gy_monitor_norm_sf(-x) - p : (1 - p) - gy_monitor_norm_sf(x);
    dens = exp(-0.5 * x * x - LN_SQRT_2PI);
    if (dens > 0 && isfinite(resid))
        x -= resid / dens;
    return x;
}

double gy_ab_t_isf(double q, double df)
{
    double lo = 0, hi = 1, t, lq;
    if (!(df > 0) || !(q > 0 && q < 1))
        return NAN;
    if (q > 0.5)
        return -gy_ab_t_isf(1 - q, df);
    if (q == 0.5)
        return 0;
    lq = log(q);
    while (gy_ab_t_sf(hi, df) > q) {
        lo = hi;
        hi *= 2;
        if (isinf(hi))
            return INFINITY;
    }
    /* start from the normal quantile when it is inside the bracket */
    t = -gy_ab_norm_ppf(q);
    if (!(t > lo && t < hi))
        t = 0.5 * (lo + hi);
    /* Newton on ln sf(t) (nearly linear in the tail), safeguarded by bisection */
    for (int it = 0; it < 200; it++) {
        double sf = gy_ab_t_sf(t, df), g, dg, next;
        if (sf > q)
            lo = t;
        else
            hi = t;
        if (sf == q)
            break;
        g = log(sf) - lq;
        dg = -exp(t_logpdf(t, df) - log(sf));
        next = t - g / dg;
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        if (fabs(next - t) <= 4 * DBL_EPSILON * fabs(t)) {
            t = next;
            break;
        }
        t = next;
    }
    return t;
}

double gy_ab_hanley_mcneil_se(double auc, uint64_t pos, uint64_t neg)
{
    double q1, q2, a2, v;
    if (pos == 0 || neg == 0 || !(auc >= 0 && auc <= 1))
        return NAN;
    q1 = auc / (2 - auc);
    q2 = 2 * auc * auc / (1 + auc);
    a2 = auc * auc;
    v = (auc * (1 - auc) + ((double)pos - 1) * (q1 - a2) + ((double)neg - 1) * (q2 - a2)) /
        ((double)pos * (double)neg);
    return sqrt(v > 0 ? v : 0);
}

/* ------------------------------------------------------------------ the tests */

static enum gy_status alpha_check(double alpha)
{
    if (!(alpha > 0 && alpha < 1))
        return gy_error_set(GY_E_INVALID, "alpha must be in (0, 1), not %g", alpha);
    return GY_OK;
}

/* A z-test of effect with standard error se (se 0: the effect is exact). */
static void z_finish(struct gy_ab_test *o, double z_se, double ci_se, double alpha)
{
    double zq = -gy_ab_norm_ppf(alpha / 2);
    if (z_se > 0) {
        o->statistic = o->effect / z_se;
        o->p_value = 2 * gy_monitor_norm_sf(fabs(o->statistic));
        if (o->p_value > 1)
            o->p_value = 1;
    } else if (o->effect == 0) {
        o->statistic = 0;
        o->p_value = 1;
    } else {
        o->statistic = copysign(INFINITY, o->effect);
        o->p_value = 0;
    }
    o->df = NAN;
    o->ci_lo = o->effect - zq * ci_se;
    o->ci_hi = o->effect + zq * ci_se;
    o->significant = o->p_value < alpha;
}

enum gy_status gy_ab_two_proportion(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b,
                                    double alpha, struct gy_ab_test *out)
{
    double pa, pb, pool, se0, se;
    enum gy_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = alpha_check(alpha)))
        return rc;
    if (n_a == 0 || n_b == 0)
        return gy_error_set(GY_E_INVALID, "two-proportion test: a group has no trials");
    if (x_a > n_a || x_b > n_b)
        return gy_error_set(GY_E_INVALID, "two-proportion test: more successes than trials");
    pa = (double)x_a / (double)n_a;
    pb = (double)x_b / (double)n_b;
    pool = ((double)x_a + (double)x_b) / ((double)n_a + (double)n_b);
    se0 = sqrt(pool * (1 - pool) * (1.0 / (double)n_a + 1.0 / (double)n_b));
    se = sqrt(pa * (1 - pa) / (double)n_a + pb * (1 - pb) / (double)n_b);
    out->test = "two-proportion z-test";
    out->a = pa;
    out->b = pb;
    out->n_a = n_a;
    out->n_b = n_b;
    out->effect = pb - pa;
    z_finish(out, se0, se, alpha);
    return GY_OK;
}

enum gy_status gy_ab_welch(double mean_a, double var_a, uint64_t n_a, double mean_b, double var_b,
                           uint64_t n_b, double alpha, struct gy_ab_test *out)
{
    double sa, sb, se2, se, ra, rb;
    enum gy_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = alpha_check(alpha)))
        return rc;
    if (n_a < 2 || n_b < 2)
        return gy_error_set(GY_E_INVALID,
                            "Welch t-test: each group needs at least 2 rows "
                            "(control %llu, treatment %llu)",
                            (unsigned long long)n_a, (unsigned long long)n_b);
    if (!isfinite(mean_a) || !isfinite(mean_b) || !isfinite(var_a) || !isfinite(var_b) ||
        var_a < 0 || var_b < 0)
        return gy_error_set(GY_E_INVALID,
                            "Welch t-test: means and variances must be finite, variances >= 0");
    out->test = "Welch t-test";
    out->a = mean_a;
    out->b = mean_b;
    out->n_a = n_a;
    out->n_b = n_b;
    out->effect = mean_b - mean_a;
    sa = var_a / (double)n_a;
    sb = var_b / (double)n_b;
    se2 = sa + sb;
    if (!(se2 > 0)) {
        z_finish(out, 0, 0, alpha);
        return GY_OK;
    }
    se = sqrt(se2);
    ra = sa / se2;
    rb = sb / se2;
    out->df = 1 / (ra * ra / ((double)n_a - 1) + rb * rb / ((double)n_b - 1));
    out->statistic = out->effect / se;
    out->p_value = t_two_sided(out->statistic, out->df);
    {
        double tq = gy_ab_t_isf(alpha / 2, out->df);
        out->ci_lo = out->effect - tq * se;
        out->ci_hi = out->effect + tq * se;
    }
    out->significant = out->p_value < alpha;
    return GY_OK;
}

enum gy_status gy_ab_auc(double auc_a, uint64_t pos_a, uint64_t neg_a, double auc_b, uint64_t pos_b,
                         uint64_t neg_b, double alpha, struct gy_ab_test *out)
{
    double sea, seb, se;
    enum gy_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = alpha_check(alpha)))
        return rc;
    if (!pos_a || !neg_a || !pos_b || !neg_b)
        return gy_error_set(GY_E_INVALID, "AUC test: each group needs positives and negatives");
    if (!(auc_a >= 0 && auc_a <= 1 && auc_b >= 0 && auc_b <= 1))
        return gy_error_set(GY_E_INVALID, "AUC test: an AUC is not in [0, 1]");
    sea = gy_ab_hanley_mcneil_se(auc_a, pos_a, neg_a);
    seb = gy_ab_hanley_mcneil_se(auc_b, pos_b, neg_b);
    se = sqrt(sea * sea + seb * seb);
    out->test = "AUC z-test (Hanley-McNeil)";
    out->a = auc_a;
    out->b = auc_b;
    out->n_a = pos_a + neg_a;
    out->n_b = pos_b + neg_b;
    out->effect = auc_b - auc_a;
    z_finish(out, se, se, alpha);
    return GY_OK;
}

/* ------------------------------------------------------------------ deployments */

enum ab_kind { AB_PROP, AB_WELCH, AB_AUC };

/* How an online metric is tested, and where its statistics are in a feedback version. */
static const struct ab_metric {
    const char *name;
    enum ab_kind kind;
    int higher_is_better;
    const char *value;  /* the metric itself */
    const char *mean;   /* Welch: per-row mean; prop: successes; auc: positives */
    const char *var;    /* Welch: per-row sample variance; auc: negatives */
    const char *n;      /* rows */
    const char *tested; /* what effect and interval are on */
} ab_metrics[] = {
    {"accuracy", AB_PROP, 1, "accuracy", "correct", NULL, "labeled", "share of correct labels"},
    {"auc", AB_AUC, 1, "auc", "positives", "negatives", "labeled", "AUC"},
    {"logloss", AB_WELCH, 0, "logloss", "logloss", "logloss_var", "labeled",
     "mean per-row log loss"},
    {"rmse", AB_WELCH, 0, "rmse", "mse", "se_var", "labeled", "mean per-row squared error"},
    {"mae", AB_WELCH, 0, "mae", "mae", "ae_var", "labeled", "mean per-row absolute error"},
    {"value_mean", AB_WELCH, 1, "value_mean", "value_mean", "value_var", "valued",
     "mean business value"},
};

static const struct ab_metric *metric_find(const char *name)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(ab_metrics); i++)
        if (strcmp(ab_metrics[i].name, name) == 0)
            return &ab_metrics[i];
    return NULL;
}

/* A number that must be in version @p v's statistics; GY_E_INVALID naming it otherwise. */
static enum gy_status need_num(const json_t *v, const char *key, const struct ab_metric *m,
                               double *out)
{
    const json_t *j = json_object_get(v, key);
    if (!j || !json_is_number(j))
        return gy_error_set(GY_E_INVALID,
                            "compare: version %lld has no %s (%s needs %s; for accuracy, auc "
                            "and logloss every label must be 0/1 and every output a "
                            "probability, auc needs both classes, Welch needs 2 rows)",
                            (long long)gy_json_int(v, "version", 0), key, m->name, key);
    *out = json_number_value(j);
    return GY_OK;
}

static enum gy_status run_test(const struct ab_metric *m, const json_t *ctl, const json_t *var,
                               double alpha, struct gy_ab_test *t)
{
    double a1, a2, b1, b2;
    uint64_t na = (uint64_t)gy_json_int(ctl, m->n, 0), nb = (uint64_t)gy_json_int(var, m->n, 0);
    enum gy_status rc;
    switch (m->kind) {
    case AB_PROP:
        if ((rc = need_num(ctl, m->mean, m, &a1)) || (rc = need_num(var, m->mean, m, &b1)))
            return rc;
        return gy_ab_two_proportion((uint64_t)a1, na, (uint64_t)b1, nb, alpha, t);
    case AB_AUC:
        if ((rc = need_num(ctl, "auc", m, &a1)) || (rc = need_num(var, "auc", m, &b1)) ||
            (rc = need_num(ctl, m->mean, m, &a2)) || (rc = need_num(var, m->mean, m, &b2)))
            return rc;
        {
            double an, bn;
            if ((rc = need_num(ctl, m->var, m, &an)) || (rc = need_num(var, m->var, m, &bn)))
                return rc;
            return gy_ab_auc(a1, (uint64_t)a2, (uint64_t)an, b1, (uint64_t)b2, (uint64_t)bn, alpha,
                             t);
        }
    case AB_WELCH:
        if ((rc = need_num(ctl, m->mean, m, &a1)) || (rc = need_num(ctl, m->var, m, &a2)) ||
            (rc = need_num(var, m->mean, m, &b1)) || (rc = need_num(var, m->var, m, &b2)))
            return rc;
        return gy_ab_welch(a1, a2, na, b1, b2, nb, alpha, t);
    }
    return gy_error_set(GY_E_INVALID, "compare: unknown test");
}

/* A finite number, or null. */
static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The version the deployment's first route resolves to now. */
static enum gy_status first_route_version(struct gy_db *db, const struct gy_deploy_spec *spec,
                                          int64_t *out)
{
    struct gy_registry_version_info *vi = NULL;
    char ref[512];
    enum gy_status rc;
    snprintf(ref, sizeof ref, "%s@%s", spec->routes[0].model,
             spec->routes[0].ref ? spec->routes[0].ref : "champion");
    if ((rc = gy_registry_resolve(db, ref, &vi)))
        return rc;
    *out = vi->version;
    gy_registry_version_info_free(vi);
    return GY_OK;
}

enum gy_status gy_deploy_compare(struct gy_db *db, const char *deployment, const char *metric,
                                 int64_t control_version, int64_t since_us, double alpha,
                                 json_t **out)
{
    const struct ab_metric *m;
    struct gy_deploy_spec *spec = NULL;
    json_t *fb = NULL, *res = NULL, *ctl = NULL, *vars, *v;
    int64_t rev;
    size_t i;
    enum gy_status rc;
    *out = NULL;
    if (!metric)
        metric = "accuracy";
    if (!(m = metric_find(metric)))
        return gy_error_set(GY_E_INVALID,
                            "compare: unknown metric \"%s\" (use accuracy, auc, logloss, rmse, "
                            "mae or value_mean)",
                            metric);
    if ((rc = alpha_check(alpha)))
        return rc;
    if (since_us < 0)
        return gy_error_set(GY_E_INVALID, "compare: since must be >= 0");
    if (!deployment)
        return gy_error_set(GY_E_INVALID, "compare: no deployment");
    if ((rc = gy_deploy_get_spec(db, deployment, &spec, &rev)))
        goto out;
    if (control_version <= 0 && (rc = first_route_version(db, spec, &control_version)))
        goto out;
    if ((rc = gy_feedback_metrics(db, deployment, since_us, &fb)))
        goto out;
    json_array_foreach(json_object_get(fb, "versions"), i, v)
    {
        if (gy_json_int(v, "version", 0) == control_version)
            ctl = v;
    }
    if (!ctl || gy_json_int(ctl, m->n, 0) == 0) {
        rc = gy_error_set(GY_E_INVALID, "compare: control version %lld has no %s feedback%s",
                          (long long)control_version,
                          m->kind == AB_WELCH && strcmp(m->n, "valued") == 0 ? "value" : "labeled",
                          since_us ? " in the window" : "");
        goto out;
    }
    res = json_pack("{s:s, s:s, s:s, s:f, s:I, s:b, s:{s:I, s:I, s:o}, s:[]}", "deployment",
                    deployment, "metric", m->name, "tested", m->tested, "alpha", alpha, "since_us",
                    (json_int_t)since_us, "higher_is_better", m->higher_is_better, "control",
                    "version", (json_int_t)control_version, "n",
                    (json_int_t)gy_json_int(ctl, m->n, 0), "value",
                    num_or_null(gy_json_num(ctl, m->value, NAN)), "variants");
    if (!res) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    vars = json_object_get(res, "variants");
    json_array_foreach(json_object_get(fb, "versions"), i, v)
    {
        struct gy_ab_test t;
        json_t *row, *better;
        if (v == ctl || gy_json_int(v, m->n, 0) == 0)
            continue;
        if ((rc = run_test(m, ctl, v, alpha, &t))) {
            char why[256];
            snprintf(why, sizeof why, "%s", gy_error_msg());
            gy_error_set(rc, "compare: control %lld vs version %lld: %s",
                         (long long)control_version, (long long)gy_json_int(v, "version", 0), why);
            goto out;
        }
        if (!t.significant)
            better = json_null();
        else
            better = json_boolean((t.effect > 0) == (m->higher_is_better != 0));
        row = json_pack(
            "{s:I, s:I, s:o, s:s, s:f, s:[f, f], s:o, s:o, s:f, s:b, s:o}", "version",
            (json_int_t)gy_json_int(v, "version", 0), "n", (json_int_t)gy_json_int(v, m->n, 0),
            "value", num_or_null(gy_json_num(v, m->value, NAN)), "test", t.test, "effect", t.effect,
            "ci", t.ci_lo, t.ci_hi, "statistic", num_or_null(t.statistic), "df", num_or_null(t.df),
            "p_value", t.p_value, "significant", t.significant, "better", better);
        if (!row || json_array_append_new(vars, row)) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = res;
    res = NULL;
    rc = GY_OK;
out:
    json_decref(res);
    json_decref(fb);
    gy_deploy_spec_free(spec);
    return rc;
}
