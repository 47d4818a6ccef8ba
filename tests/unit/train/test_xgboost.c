/* SPDX-License-Identifier: MIT */
/*
 * test_xgboost.c - unit tests for src/train/xgboost.c on small synthetic sets: binary
 * training learns (validation AUC well above 0.5) and calls the progress callback once per
 * round with train and valid metrics; early stopping keeps exactly the round XGBoost's
 * Python EarlyStopping would (strict improvement, last metric, the right direction for auc)
 * and the saved JSON holds only the kept trees; multiclass and regression objectives; the
 * same inputs give the same model; bad parameters and unused ones fail with XGBoost's own
 * words; a callback can stop training; NaN cells are missing values.
 */
#include "oracle.h"

struct ds {
    struct gy_matrix x;
    float *y;
};

/* y = 1 when x0 + x1 * x2 + noise > 0; @p nan_every puts a NaN in every k-th cell. */
static void make_binary(struct ds *d, size_t n, uint64_t seed, double noise, size_t nan_every)
{
    struct trng r = {seed};
    cr_assert_eq(gy_train_matrix_create(n, 5, &d->x), GY_OK);
    d->y = gy_calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float *row = d->x.x + i * 5;
        for (int j = 0; j < 5; j++)
            row[j] = (float)trng_normal(&r);
        d->y[i] = row[0] + row[1] * row[2] + noise * trng_normal(&r) > 0;
        if (nan_every)
            for (int j = 0; j < 5; j++)
                if ((i * 5 + (size_t)j) % nan_every == 0)
                    row[j] = NAN;
    }
}

static void free_ds(struct ds *d)
{
    gy_train_matrix_free(&d->x);
    gy_free(d->y);
}

static double auc_of(const float *y, const float *p, size_t n)
{
    int32_t *yi = gy_calloc(n, sizeof(int32_t));
    double *pd = gy_calloc(n, sizeof(double)), v = 0;
    for (size_t i = 0; i < n; i++) {
        yi[i] = (int32_t)y[i];
        pd[i] = p[i];
    }
    cr_assert_eq(gy_metric_auc(yi, pd, NULL, n, &v), GY_OK);
    gy_free(yi);
    gy_free(pd);
    return v;
}

/* Records every round's evaluations. */
struct hist {
    int calls;
    int last_iter;
    double valid[1000];
    char metric[32];
    int stop_at; /* -1: never */
    int saw_train;
};

static enum gy_status record(void *arg, const struct gy_train_progress *p)
{
    struct hist *h = arg;
    cr_assert_eq(p->iteration, h->calls, "rounds arrive in order");
    h->calls++;
    h->last_iter = p->iteration;
    for (size_t i = 0; i < p->n_evals; i++) {
        if (strcmp(p->evals[i].set, "train") == 0)
            h->saw_train = 1;
        if (strcmp(p->evals[i].set, "valid") == 0 && p->iteration < 1000) {
            h->valid[p->iteration] = p->evals[i].value; /* the last valid metric wins */
            snprintf(h->metric, sizeof(h->metric), "%s", p->evals[i].metric);
        }
    }
    if (p->iteration == h->stop_at)
        return gy_error_set(GY_E_CONFLICT, "stopped by the test");
    return GY_OK;
}

Test(xgboost, binary_learns_and_reports_each_round)
{
    struct ds tr, va;
    struct gy_train_param params[] = {{"max_depth", "3"}, {"eta", "0.3"}, {"eval_metric", "auc"}};
    struct gy_xgb_config cfg;
    struct gy_xgb_result res;
    struct hist h;

    make_binary(&tr, 3000, 1, 0.3, 0);
    make_binary(&va, 1000, 2, 0.3, 0);
    memset(&cfg, 0, sizeof(cfg));
    memset(&h, 0, sizeof(h));
    h.stop_at = -1;
    cfg.objective = "binary:logistic";
    cfg.rounds = 25;
    cfg.nthread = 1; /* tests run two at a time on two cores: no OpenMP spinning */
    cfg.params = params;
    cfg.n_params = 3;
    cfg.progress.fn = record;
    cfg.progress.arg = &h;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, &va.x, va.y, NULL, &res), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(h.calls, 25);
    cr_assert(h.saw_train);
    cr_assert_str_eq(h.metric, "auc");
    cr_assert_eq(res.rounds_run, 25);
    cr_assert_eq(res.best_iteration, 24);
    cr_assert_null(res.stop_metric);
    cr_assert(isnan(res.best_score));
    /* Final evaluations: train-auc then valid-auc, the valid one equal to the callback's. */
    cr_assert_eq(res.n_evals, 2);
    cr_assert_str_eq(res.evals[0].set, "train");
    cr_assert_str_eq(res.evals[1].set, "valid");
    cr_assert_str_eq(res.evals[1].metric, "auc");
    cr_assert_eq(res.evals[1].value, h.valid[24]);
    cr_assert_eq(res.pred_cols, 1);
    cr_assert_not_null(res.pred_train);
    cr_assert_not_null(res.pred_valid);
    {
        double a = auc_of(va.y, res.pred_valid, va.x.rows);
        cr_assert(a > 0.85, "validation AUC %g", a);
        /* XGBoost's own AUC on the same predictions agrees with ours. */
        cr_assert(fabs(a - res.evals[1].value) < 1e-6, "gyre %.9f vs XGBoost %.9f", a,
                  res.evals[1].value);
    }
    for (size_t i = 0; i < tr.x.rows; i++)
        cr_assert(res.pred_train[i] > 0 && res.pred_train[i] < 1);
    /* The model JSON parses and holds one tree per round. */
    {
        json_t *j = NULL, *trees;
        cr_assert_eq(gy_json_parse(res.model_json, res.model_json_len, 128, "model", &j), GY_OK,
                     "%s", gy_error_msg());
        trees = json_object_get(
            json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                            "model"),
            "trees");
        cr_assert(json_is_array(trees));
        cr_assert_eq(json_array_size(trees), 25);
        json_decref(j);
        cr_assert_eq(gy_json_parse(res.config_json, res.config_json_len, 128, "config", &j), GY_OK);
        json_decref(j);
    }
    cr_assert_str_eq(gy_train_xgboost_version(), "1.7.4");
    gy_xgb_result_free(&res);
    gy_xgb_result_free(&res);
    free_ds(&tr);
    free_ds(&va);
}

/* What xgboost.callback.EarlyStopping keeps: the first round of the best value, strict. */
static int expected_best(const double *v, int n, int maximize)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (maximize ? v[i] > v[best] : v[best] > v[i])
            best = i;
    return best;
}

static void early_stopping_case(const char *metric, int maximize_expected)
{
    struct ds tr, va;
    struct gy_train_param params[] = {{"max_depth", "6"}, {"eta", "0.5"}, {"eval_metric", metric}};
    struct gy_xgb_config cfg;
    struct gy_xgb_result res;
    struct hist h;
    int best;

    /* Heavy label noise: the validation metric peaks early, then overfitting sets in. */
    make_binary(&tr, 1500, 3, 1.5, 0);
    make_binary(&va, 1500, 4, 1.5, 0);
    memset(&cfg, 0, sizeof(cfg));
    memset(&h, 0, sizeof(h));
    h.stop_at = -1;
    cfg.objective = "binary:logistic";
    cfg.rounds = 300;
    cfg.early_stopping_rounds = 8;
    cfg.nthread = 1;
    cfg.skip_train_eval = 1;
    cfg.params = params;
    cfg.n_params = 3;
    cfg.progress.fn = record;
    cfg.progress.arg = &h;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, &va.x, va.y, NULL, &res), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(h.saw_train, 0, "skip_train_eval");
    cr_assert_lt(res.rounds_run, 300, "early stopping never fired");
    cr_assert_eq(h.calls, res.rounds_run);
    best = expected_best(h.valid, res.rounds_run, maximize_expected);
    cr_assert_eq(res.best_iteration, best, "%s: best %d, expected %d", metric, res.best_iteration,
                 best);
    cr_assert_eq(res.rounds_run, best + 1 + 8, "stops 8 rounds after the best");
    cr_assert_str_eq(res.stop_metric, metric);
    cr_assert_eq(res.best_score, h.valid[best]);
    cr_assert_eq(res.n_evals, 1);
    cr_assert_eq(res.evals[0].value, h.valid[best]);
    /* The saved model holds rounds 0..best only, and its predictions are that model's. */
    {
        json_t *j = NULL, *trees;
        cr_assert_eq(gy_json_parse(res.model_json, res.model_json_len, 128, "model", &j), GY_OK);
        trees = json_object_get(
            json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                            "model"),
            "trees");
        cr_assert_eq(json_array_size(trees), (size_t)best + 1);
        json_decref(j);
    }
    if (strcmp(metric, "auc") == 0) {
        double a = auc_of(va.y, res.pred_valid, va.x.rows);
        cr_assert(fabs(a - res.best_score) < 1e-6, "kept model AUC %.9f, best %.9f", a,
                  res.best_score);
    }
    gy_xgb_result_free(&res);
    free_ds(&tr);
    free_ds(&va);
}

Test(xgboost, early_stopping_minimizes_logloss)
{
    early_stopping_case("logloss", 0);
}

Test(xgboost, early_stopping_maximizes_auc)
{
    early_stopping_case("auc", 1);
}

Test(xgboost, multiclass_and_regression)
{
    struct ds tr;
    struct gy_xgb_config cfg;
    struct gy_xgb_result res;
    size_t n = 1200;

    make_binary(&tr, n, 5, 0.0, 0);
    for (size_t i = 0; i < n; i++) {
        float x0 = tr.x.x[i * 5];
        tr.y[i] = x0 < -0.5f ? 0.0f : x0 < 0.5f ? 1.0f : 2.0f;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.nthread = 1; /* tests run two at a time on two cores: no OpenMP spinning */
    cfg.objective = "multi:softprob";
    cfg.num_class = 3;
    cfg.rounds = 10;
    cfg.skip_pred_valid = 1;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(res.pred_cols, 3);
    cr_assert_null(res.pred_valid);
    {
        size_t right = 0;
        for (size_t i = 0; i < n; i++) {
            const float *p = res.pred_train + i * 3;
            int arg = p[1] > p[0] ? (p[2] > p[1] ? 2 : 1) : (p[2] > p[0] ? 2 : 0);
            cr_assert(fabsf(p[0] + p[1] + p[2] - 1.0f) < 1e-5f);
            right += arg == (int)tr.y[i];
        }
        cr_assert_gt(right, n * 95 / 100, "train accuracy %zu / %zu", right, n);
    }
    /* Without a callback or early stopping: one final evaluation with the default metric. */
    cr_assert_eq(res.n_evals, 1);
    cr_assert_str_eq(res.evals[0].metric, "mlogloss");
    gy_xgb_result_free(&res);

    /* Regression on y = 3 x0 - x1. */
    for (size_t i = 0; i < n; i++)
        tr.y[i] = 3 * tr.x.x[i * 5] - tr.x.x[i * 5 + 1];
    cfg.objective = "reg:squarederror";
    cfg.num_class = 0;
    cfg.rounds = 30;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(res.pred_cols, 1);
    cr_assert_str_eq(res.evals[0].metric, "rmse");
    cr_assert_lt(res.evals[0].value, 0.5, "train rmse %g", res.evals[0].value);
    gy_xgb_result_free(&res);
    free_ds(&tr);
}

Test(xgboost, deterministic_weights_and_missing_values)
{
    struct ds tr;
    struct gy_xgb_config cfg;
    struct gy_xgb_result a, b, c;
    float *w;

    make_binary(&tr, 2000, 6, 0.5, 7); /* every 7th cell missing */
    w = gy_calloc(tr.x.rows, sizeof(float));
    for (size_t i = 0; i < tr.x.rows; i++)
        w[i] = tr.y[i] ? 5.0f : 1.0f;
    memset(&cfg, 0, sizeof(cfg));
    cfg.objective = "binary:logistic";
    cfg.rounds = 6;
    cfg.nthread = 2; /* the default on this machine; few rounds, as OpenMP spins when the
                      * other test process holds the second core */
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &a), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &b), GY_OK);
    cr_assert_eq(a.model_json_len, b.model_json_len);
    cr_assert_eq(memcmp(a.model_json, b.model_json, a.model_json_len), 0,
                 "same inputs, "
                 "same model");
    /* Weighting the positives raises the predicted probabilities. */
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, w, NULL, NULL, NULL, &c), GY_OK);
    {
        double ma = 0, mc = 0;
        for (size_t i = 0; i < tr.x.rows; i++) {
            ma += a.pred_train[i];
            mc += c.pred_train[i];
        }
        cr_assert_gt(mc, ma + 0.1 * (double)tr.x.rows, "weights had no effect");
    }
    gy_xgb_result_free(&a);
    gy_xgb_result_free(&b);
    gy_xgb_result_free(&c);
    w[3] = -1;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, w, NULL, NULL, NULL, &a), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "row 3") != NULL, "%s", gy_error_msg());
    gy_free(w);
    free_ds(&tr);
}

static enum gy_status expect_error(struct ds *tr, const char *key, const char *value,
                                   const char *needle)
{
    struct gy_train_param p = {key, value};
    struct gy_xgb_config cfg;
    struct gy_xgb_result res;
    enum gy_status st;

    memset(&cfg, 0, sizeof(cfg));
    cfg.nthread = 1; /* tests run two at a time on two cores: no OpenMP spinning */
    cfg.objective = "binary:logistic";
    cfg.rounds = 3;
    cfg.params = &p;
    cfg.n_params = 1;
    st = gy_train_xgboost(&cfg, &tr->x, tr->y, NULL, NULL, NULL, NULL, &res);
    cr_assert_eq(st, GY_E_INVALID, "%s=%s was accepted", key, value);
    cr_assert(strstr(gy_error_msg(), needle) != NULL, "%s=%s: '%s' lacks '%s'", key, value,
              gy_error_msg(), needle);
    cr_assert(strstr(gy_error_msg(), "Stack trace") == NULL, "%s", gy_error_msg());
    cr_assert(strstr(gy_error_msg(), "[bt]") == NULL, "%s", gy_error_msg());
    cr_assert_null(res.model_json);
    return st;
}

Test(xgboost, bad_parameters_report_xgboost_errors)
{
    struct ds tr;
    struct gy_xgb_config cfg;
    struct gy_xgb_result res;

    make_binary(&tr, 300, 7, 0.3, 0);
    expect_error(&tr, "max_depth", "abc", "Invalid Parameter format for max_depth");
    expect_error(&tr, "max_depth", "-3", "max_depth should be greater equal to 0");
    expect_error(&tr, "objective", "binary:nope", "Unknown objective function");
    expect_error(&tr, "max_dept", "3", "max_dept");   /* a typo: not used */
    expect_error(&tr, "eval_metric", "nope", "nope"); /* at evaluation */
    expect_error(&tr, "bad key", "1", "bad key");     /* ours, before XGBoost */
    expect_error(&tr, "eta", "", "empty value");

    /* Labels outside [0, 1] for logistic: XGBoost's check. */
    tr.y[0] = 2;
    memset(&cfg, 0, sizeof(cfg));
    cfg.nthread = 1; /* tests run two at a time on two cores: no OpenMP spinning */
    cfg.objective = "binary:logistic";
    cfg.rounds = 2;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "label") != NULL, "%s", gy_error_msg());
    tr.y[0] = NAN;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "row 0") != NULL, "%s", gy_error_msg());
    tr.y[0] = 1;
    /* Our own checks. */
    cfg.rounds = -1;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_E_INVALID);
    cfg.rounds = 2;
    cfg.early_stopping_rounds = 3;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "validation") != NULL, "%s", gy_error_msg());
    cfg.early_stopping_rounds = 0;
    cfg.num_class = 1;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_E_INVALID);
    free_ds(&tr);
}

Test(xgboost, callback_stops_training)
{
    struct ds tr;
    struct gy_xgb_config cfg;
    struct gy_xgb_result res;
    struct hist h;

    make_binary(&tr, 500, 8, 0.3, 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.nthread = 1; /* tests run two at a time on two cores: no OpenMP spinning */
    memset(&h, 0, sizeof(h));
    h.stop_at = 3;
    cfg.objective = "binary:logistic";
    cfg.rounds = 50;
    cfg.progress.fn = record;
    cfg.progress.arg = &h;
    cr_assert_eq(gy_train_xgboost(&cfg, &tr.x, tr.y, NULL, NULL, NULL, NULL, &res), GY_E_CONFLICT);
    cr_assert_str_eq(gy_error_msg(), "stopped by the test");
    cr_assert_eq(h.calls, 4);
    cr_assert_null(res.model_json);
    free_ds(&tr);
}
