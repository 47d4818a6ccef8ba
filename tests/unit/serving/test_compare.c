/* SPDX-License-Identifier: MIT */
/*
 * test_compare.c - the A/B sufficient statistics that gy_feedback_metrics adds per model
 * version (correct, class counts, the Hanley-McNeil AUC standard error, the mean and sample
 * variance of the per-row squared error, absolute error, log loss and value), checked against
 * sums computed here from the served outputs and the labels posted; and gy_deploy_compare
 * (src/monitor/abtest.c) on top of them: the control from the first route or given, the test
 * per metric equal to the gy_ab_* test on those statistics, the verdict, and its errors.
 */
#include "fixture.h"

#include "monitor/monitor.h"

#include <float.h>

#define N_PER 24

/* Rows reaching every leaf pair of sx_trees (see fixture.h). */
static const float ROWS[6][3] = {{0, 0, 0},  {0, 0, 5}, {1, -2, 0},
                                 {1, -2, 5}, {1, 0, 0}, {1, 0, 5}};

static void deploy_two(struct gy_db *db)
{
    struct gy_deploy_spec *s = gy_calloc(1, sizeof *s);
    s->name = gy_strdup("cmp");
    s->routes = gy_calloc(2, sizeof *s->routes);
    s->n_routes = 2;
    s->log_sample = 1;
    OK(gy_deploy_route_parse("fraud@1=50", &s->routes[0]));
    OK(gy_deploy_route_parse("fraud@2=50", &s->routes[1]));
    OK(gy_deploy_create(db, s, NULL, NULL));
    gy_deploy_spec_free(s);
}

/* One row on deployment "cmp" pinned to @p version, logged as @p id; returns output_0. */
static double infer_pinned(struct gy_serving *s, int64_t version, const char *id, const float *x)
{
    struct gy_serving_target *t = NULL;
    struct gy_arena *a = gy_arena_create(4096);
    struct gy_tensor in = sx_tensor("input", x, 1, 3);
    struct gy_serving_call call;
    char v[24];
    double out;
    snprintf(v, sizeof v, "%lld", (long long)version);
    OK(gy_serving_acquire(s, "cmp", v, &t));
    memset(&call, 0, sizeof call);
    call.inputs = &in;
    call.n_inputs = 1;
    call.arena = a;
    call.request_id = id;
    OK(gy_serving_infer(t, &call));
    cr_assert_eq(gy_served_model_version(call.model), version);
    out = call.outputs[0];
    gy_serving_release(t);
    gy_arena_free(a);
    return out;
}

/* What one version was served and told. */
struct side {
    double p[N_PER], y[N_PER], value[N_PER];
    size_t n_value;
};

static void mean_var(const double *x, size_t n, double *mean, double *var)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    *var = ss / (double)(n - 1);
}

static void check_stats(json_t *v, const struct side *sd)
{
    double se[N_PER], ae[N_PER], ll[N_PER], m, var;
    long long correct = 0, pos = 0;
    for (int i = 0; i < N_PER; i++) {
        double p = fmin(fmax(sd->p[i], FLT_EPSILON), 1 - FLT_EPSILON);
        se[i] = (sd->p[i] - sd->y[i]) * (sd->p[i] - sd->y[i]);
        ae[i] = fabs(sd->p[i] - sd->y[i]);
        ll[i] = -log(sd->y[i] == 1 ? p : 1 - p);
        correct += (sd->p[i] >= 0.5) == (sd->y[i] == 1);
        pos += sd->y[i] == 1;
    }
    cr_assert_eq(gy_json_int(v, "labeled", -1), N_PER);
    cr_assert_eq(gy_json_int(v, "correct", -1), correct);
    cr_assert_eq(gy_json_int(v, "positives", -1), pos);
    cr_assert_eq(gy_json_int(v, "negatives", -1), N_PER - pos);
    mean_var(se, N_PER, &m, &var);
    cr_assert_float_eq(gy_json_num(v, "mse", -1), m, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "rmse", -1), sqrt(m), 1e-12, "rmse unchanged");
    cr_assert_float_eq(gy_json_num(v, "se_var", -1), var, 1e-12);
    mean_var(ae, N_PER, &m, &var);
    cr_assert_float_eq(gy_json_num(v, "mae", -1), m, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "ae_var", -1), var, 1e-12);
    mean_var(ll, N_PER, &m, &var);
    cr_assert_float_eq(gy_json_num(v, "logloss", -1), m, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "logloss_var", -1), var, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "accuracy", -1), (double)correct / N_PER, 1e-12);
    cr_assert_float_eq(
        gy_json_num(v, "auc_se", -1),
        gy_ab_hanley_mcneil_se(gy_json_num(v, "auc", -1), (uint64_t)pos, (uint64_t)(N_PER - pos)),
        1e-15);
    cr_assert(gy_json_num(v, "auc_se", -1) > 0);
    mean_var(sd->value, sd->n_value, &m, &var);
    cr_assert_eq(gy_json_int(v, "valued", -1), (long long)sd->n_value);
    cr_assert_float_eq(gy_json_num(v, "value_mean", -1), m, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "value_var", -1), var, 1e-12);
}

static json_t *compare(struct gy_db *db, const char *metric, int64_t control, double alpha)
{
    json_t *c = NULL;
    enum gy_status rc = gy_deploy_compare(db, "cmp", metric, control, 0, alpha, &c);
    cr_assert_eq(rc, GY_OK, "%s: %s", metric, gy_error_msg());
    cr_assert_str_eq(gy_json_str(c, "deployment", ""), "cmp");
    cr_assert_str_eq(gy_json_str(c, "metric", ""), metric);
    cr_assert_eq(json_array_size(json_object_get(c, "variants")), 1);
    return c;
}

static void compare_fails(struct gy_db *db, const char *metric, int64_t control, double alpha,
                          enum gy_status want, const char *needle)
{
    json_t *c = NULL;
    cr_assert_eq(gy_deploy_compare(db, "cmp", metric, control, 0, alpha, &c), want, "%s",
                 metric ? metric : "(null)");
    cr_assert_null(c);
    cr_assert(strstr(gy_error_msg(), needle), "\"%s\" lacks \"%s\"", gy_error_msg(), needle);
}

DB_TEST(feedback_ab_statistics_and_compare)
{
    struct gy_serving *s;
    struct side sd[2];
    json_t *items = json_array(), *m = NULL, *c, *var;
    size_t n = 0;
    struct gy_ab_test t;
    memset(sd, 0, sizeof sd);
    cr_assert_eq(sx_register_shift(f->db, "fraud", 0, NULL), 1);
    cr_assert_eq(sx_register_shift(f->db, "fraud", -0.25f, NULL), 2);
    deploy_two(f->db);
    gy_log_set_level(GY_LOG_WARN);
    s = sx_serving(f, 250);
    /*
     * Version 1 is told the opposite of what it predicts, version 2 what it predicts, except
     * on every eighth row (accuracy 3/24 against 21/24); every third row of each also gets a
     * business value.
     */
    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < N_PER; i++) {
            char id[32];
            double p, y;
            snprintf(id, sizeof id, "v%d-%d", v + 1, i);
            p = infer_pinned(s, v + 1, id, ROWS[i % 6]);
            y = ((p >= 0.5) == (v == 1)) != (i % 8 == 7) ? 1 : 0;
            sd[v].p[i] = p;
            sd[v].y[i] = y;
            if (i % 3 == 0) {
                sd[v].value[sd[v].n_value] = (v + 1) * 10.0 + i * 0.5;
                json_array_append_new(items, json_pack("{s:s, s:f, s:f}", "request_id", id, "label",
                                                       y, "value", sd[v].value[sd[v].n_value]));
                sd[v].n_value++;
            } else {
                json_array_append_new(items, json_pack("{s:s, s:f}", "request_id", id, "label", y));
            }
        }
    }
    gy_serving_free(s);
    OK(gy_feedback_put(f->db, "cmp", items, &n));
    cr_assert_eq(n, 2 * N_PER);
    json_decref(items);

    OK(gy_feedback_metrics(f->db, "cmp", 0, &m));
    cr_assert_eq(json_array_size(json_object_get(m, "versions")), 2);
    for (int v = 0; v < 2; v++) {
        json_t *jv = json_array_get(json_object_get(m, "versions"), (size_t)v);
        cr_assert_eq(gy_json_int(jv, "version", 0), v + 1);
        check_stats(jv, &sd[v]);
    }
    cr_assert_eq(gy_json_int(json_array_get(json_object_get(m, "versions"), 0), "correct", -1), 3);
    cr_assert_eq(gy_json_int(json_array_get(json_object_get(m, "versions"), 1), "correct", -1),
                 N_PER - 3);

    /* accuracy: the control is the first route's version (1); version 2 is clearly better */
    c = compare(f->db, "accuracy", 0, 0.05);
    var = json_array_get(json_object_get(c, "variants"), 0);
    cr_assert_eq(jint(c, "control.version"), 1);
    cr_assert_eq(jint(c, "control.n"), N_PER);
    cr_assert_float_eq(gy_json_num(json_object_get(c, "control"), "value", -1), 3.0 / N_PER, 1e-15);
    cr_assert(json_is_true(json_object_get(c, "higher_is_better")));
    OK(gy_ab_two_proportion(3, N_PER, N_PER - 3, N_PER, 0.05, &t));
    cr_assert_eq(gy_json_int(var, "version", 0), 2);
    cr_assert_str_eq(gy_json_str(var, "test", ""), "two-proportion z-test");
    cr_assert_float_eq(gy_json_num(var, "effect", -1), 0.75, 1e-15);
    cr_assert_float_eq(gy_json_num(var, "p_value", -1), t.p_value, 1e-300);
    cr_assert_float_eq(gy_json_num(var, "statistic", -1), t.statistic, 1e-12);
    cr_assert_float_eq(json_number_value(json_array_get(json_object_get(var, "ci"), 0)), t.ci_lo,
                       1e-15);
    cr_assert(json_is_null(json_object_get(var, "df")), "a z-test has no df");
    cr_assert(json_is_true(json_object_get(var, "significant")));
    cr_assert(json_is_true(json_object_get(var, "better")));
    json_decref(c);

    /* the same split with version 2 as the control: version 1 is significantly worse */
    c = compare(f->db, "accuracy", 2, 0.05);
    var = json_array_get(json_object_get(c, "variants"), 0);
    cr_assert_eq(gy_json_int(var, "version", 0), 1);
    cr_assert_float_eq(gy_json_num(var, "effect", 0), -0.75, 1e-15);
    cr_assert(json_is_false(json_object_get(var, "better")));
    json_decref(c);

    /* a strict enough alpha: not significant, no verdict */
    c = compare(f->db, "accuracy", 0, 1e-12);
    var = json_array_get(json_object_get(c, "variants"), 0);
    cr_assert(json_is_false(json_object_get(var, "significant")));
    cr_assert(json_is_null(json_object_get(var, "better")));
    json_decref(c);

    /* rmse: Welch on the per-row squared error, lower is better, value is the rmse */
    {
        json_t *v1 = json_array_get(json_object_get(m, "versions"), 0);
        json_t *v2 = json_array_get(json_object_get(m, "versions"), 1);
        c = compare(f->db, "rmse", 0, 0.05);
        var = json_array_get(json_object_get(c, "variants"), 0);
        OK(gy_ab_welch(gy_json_num(v1, "mse", 0), gy_json_num(v1, "se_var", 0), N_PER,
                       gy_json_num(v2, "mse", 0), gy_json_num(v2, "se_var", 0), N_PER, 0.05, &t));
        cr_assert(json_is_false(json_object_get(c, "higher_is_better")));
        cr_assert_str_eq(gy_json_str(var, "test", ""), "Welch t-test");
        cr_assert_float_eq(gy_json_num(var, "value", -1), gy_json_num(v2, "rmse", 0), 1e-15);
        cr_assert_float_eq(gy_json_num(var, "effect", -1), t.effect, 1e-15);
        cr_assert_float_eq(gy_json_num(var, "df", -1), t.df, 1e-9);
        cr_assert_float_eq(gy_json_num(var, "p_value", -1), t.p_value, 1e-15);
        cr_assert(t.effect < 0 && t.significant, "version 2 has the smaller errors");
        cr_assert(json_is_true(json_object_get(var, "better")), "lower error is better");
        json_decref(c);

        /* value_mean: Welch on the values (20.x vs 10.x: higher, better) */
        c = compare(f->db, "value_mean", 0, 0.05);
        var = json_array_get(json_object_get(c, "variants"), 0);
        OK(gy_ab_welch(gy_json_num(v1, "value_mean", 0), gy_json_num(v1, "value_var", 0),
                       sd[0].n_value, gy_json_num(v2, "value_mean", 0),
                       gy_json_num(v2, "value_var", 0), sd[1].n_value, 0.05, &t));
        cr_assert_eq(gy_json_int(var, "n", 0), (long long)sd[1].n_value);
        cr_assert_float_eq(gy_json_num(var, "p_value", -1), t.p_value, 1e-300);
        cr_assert_float_eq(gy_json_num(var, "statistic", -1), t.statistic, 1e-12);
        json_decref(c);

        /* auc: Hanley-McNeil z-test */
        c = compare(f->db, "auc", 0, 0.05);
        var = json_array_get(json_object_get(c, "variants"), 0);
        OK(gy_ab_auc(gy_json_num(v1, "auc", 0), (uint64_t)gy_json_int(v1, "positives", 0),
                     (uint64_t)gy_json_int(v1, "negatives", 0), gy_json_num(v2, "auc", 0),
                     (uint64_t)gy_json_int(v2, "positives", 0),
                     (uint64_t)gy_json_int(v2, "negatives", 0), 0.05, &t));
        cr_assert_str_eq(gy_json_str(var, "test", ""), "AUC z-test (Hanley-McNeil)");
        cr_assert_float_eq(gy_json_num(var, "p_value", -1), t.p_value, 1e-300);
        json_decref(c);

        c = compare(f->db, "logloss", 0, 0.05);
        json_decref(c);
        c = compare(f->db, "mae", 0, 0.05);
        json_decref(c);
    }
    json_decref(m);

    /* errors */
    {
        json_t *c2 = NULL;
        cr_assert_eq(gy_deploy_compare(f->db, "nope", "accuracy", 0, 0, 0.05, &c2), GY_NOT_FOUND);
        cr_assert_null(c2);
    }
    compare_fails(f->db, "f1", 0, 0.05, GY_E_INVALID, "unknown metric");
    compare_fails(f->db, "accuracy", 0, 0, GY_E_INVALID, "alpha");
    compare_fails(f->db, "accuracy", 7, 0.05, GY_E_INVALID, "control version 7");

    /* version 2 keeps a value on one row only: too little for Welch, and the error says so */
    items = json_array();
    for (int i = 0; i < N_PER; i++) {
        char id[32];
        snprintf(id, sizeof id, "v2-%d", i);
        if (i == 0)
            json_array_append_new(items, json_pack("{s:s, s:f, s:f}", "request_id", id, "label",
                                                   sd[1].y[i], "value", 5.0));
        else
            json_array_append_new(items,
                                  json_pack("{s:s, s:f}", "request_id", id, "label", sd[1].y[i]));
    }
    OK(gy_feedback_put(f->db, "cmp", items, &n));
    json_decref(items);
    compare_fails(f->db, "value_mean", 0, 0.05, GY_E_INVALID, "version 2");
    /* NULL metric is accuracy */
    c = NULL;
    OK(gy_deploy_compare(f->db, "cmp", NULL, 0, 0, 0.05, &c));
    cr_assert_str_eq(gy_json_str(c, "metric", ""), "accuracy");
    json_decref(c);
    gy_feedback_gauges_reset(); /* results over all feedback are kept for the gauges */
}
