/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c - unit tests for src/train/metrics.c against scikit-learn 1.2 (Debian's
 * python3-sklearn): random binary, multiclass and regression cases generated here with a
 * fixed seed (tied scores, zero and fractional sample weights, probabilities of exactly 0
 * and 1, absent classes, one-class labels, constant targets, a single row) go to a Python
 * oracle in one run; every metric must equal scikit-learn's to 1e-9, and where scikit-learn
 * raises, gyre must return GY_E_INVALID. Also checks gy_metrics_compute and gy_metrics_list.
 */
#include <float.h>

#include "oracle.h"

static const char oracle_py[] =
    "import json, sys, warnings\n"
    "import numpy as np\n"
    "from sklearn import metrics as M\n"
    "warnings.simplefilter('ignore')\n"
    "cases = json.load(open(sys.argv[1]))\n"
    "def run(f):\n"
    "    try:\n"
    "        v = f()\n"
    "        if np.isnan(v).any(): return 'error'  # undefined: scikit-learn warns, gives NaN\n"
    "        return [float(x) for x in np.ravel(v)] if np.ndim(v) else float(v)\n"
    "    except Exception as e:\n"
    "        return 'error'\n"
    "out = {}\n"
    "for c in cases:\n"
    "    k = c['k']; y = np.array(c['y'], dtype=np.int64)\n"
    "    w = None if c['w'] is None else np.array(c['w'], dtype=np.float64)\n"
    "    r = {}\n"
    "    if c['task'] in ('binary', 'multi'):\n"
    "        s = np.array(c['score'], dtype=np.float64)\n"
    "        if c['task'] == 'multi': s = s.reshape(-1, k)\n"
    "        p = np.array(c['pred'], dtype=np.int64)\n"
    "        avg = 'binary' if c['task'] == 'binary' else 'macro'\n"
    "        if c['task'] == 'binary':\n"
    "            r['auc'] = run(lambda: M.roc_auc_score(y, s, sample_weight=w))\n"
    "        else:\n"
    "            r['auc'] = run(lambda: M.roc_auc_score(y, s, multi_class='ovr',\n"
    "                                                   labels=list(range(k)), sample_weight=w))\n"
    "        r['logloss'] = run(lambda: M.log_loss(y, s, sample_weight=w, labels=list(range(k))))\n"
    "        r['logloss32'] = run(lambda: M.log_loss(y, s, sample_weight=w, "
    "labels=list(range(k)),\n"
    "                                                eps=float(np.finfo(np.float32).eps)))\n"
    "        r['accuracy'] = run(lambda: M.accuracy_score(y, p, sample_weight=w))\n"
    "        r['precision'] = run(lambda: M.precision_score(y, p, average=avg, sample_weight=w))\n"
    "        r['recall'] = run(lambda: M.recall_score(y, p, average=avg, sample_weight=w))\n"
    "        r['f1'] = run(lambda: M.f1_score(y, p, average=avg, sample_weight=w))\n"
    "        r['confusion'] = run(lambda: M.confusion_matrix(y, p, labels=list(range(k)),\n"
    "                                                        sample_weight=w))\n"
    "    else:\n"
    "        yr = np.array(c['yr'], dtype=np.float64); p = np.array(c['score'], dtype=np.float64)\n"
    "        r['rmse'] = run(lambda: M.mean_squared_error(yr, p, sample_weight=w, squared=False))\n"
    "        r['mae'] = run(lambda: M.mean_absolute_error(yr, p, sample_weight=w))\n"
    "        r['r2'] = run(lambda: M.r2_score(yr, p, sample_weight=w))\n"
    "    out[c['name']] = r\n"
    "json.dump(out, open(sys.argv[2], 'w'))\n";

/* One generated case. */
struct mcase {
    const char *name;
    const char *task; /* "binary", "multi", "reg" */
    int k;
    size_t n;
    int32_t *y;
    double *yr;    /* regression labels */
    double *score; /* binary: n scores; multi: n x k probabilities; reg: predictions */
    int32_t *pred;
    double *w; /* NULL: unweighted */
};

#define MAX_CASES 32
static struct mcase cases[MAX_CASES];
static size_t ncases;

static struct mcase *add_case(const char *name, const char *task, int k, size_t n, int weighted)
{
    struct mcase *c = &cases[ncases++];
    cr_assert(ncases <= MAX_CASES);
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->task = task;
    c->k = k;
    c->n = n;
    c->y = gy_calloc(n, sizeof(int32_t));
    c->yr = gy_calloc(n, sizeof(double));
    c->score = gy_calloc(n * (size_t)(strcmp(task, "multi") == 0 ? k : 1), sizeof(double));
    c->pred = gy_calloc(n, sizeof(int32_t));
    c->w = weighted ? gy_calloc(n, sizeof(double)) : NULL;
    return c;
}

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

static void build_cases(void)
{
    struct trng r = {20240601};
    struct mcase *c;

    /* Binary, continuous scores, no weights. */
    c = add_case("bin_basic", "binary", 2, 2000, 0);
    for (size_t i = 0; i < c->n; i++) {
        double z = trng_normal(&r) * 1.5;
        c->score[i] = sigmoid(z);
        c->y[i] = trng_unif(&r) < sigmoid(z * 1.3);
    }
    gy_metric_classes(c->score, c->n, 2, c->pred);

    /* Binary, heavily tied scores and weights with zeros and fractions. */
    c = add_case("bin_ties_weighted", "binary", 2, 1500, 1);
    for (size_t i = 0; i < c->n; i++) {
        double u = trng_unif(&r);
        c->score[i] = floor(u * 10) / 10; /* 10 distinct values */
        c->y[i] = trng_unif(&r) < 0.2 + 0.6 * u;
        c->w[i] = (double)(trng_next(&r) % 5) * 0.5; /* 0, 0.5, ..., 2 */
    }
    gy_metric_classes(c->score, c->n, 2, c->pred);

    /* Binary, probabilities of exactly 0 and 1 on the wrong side: clipping decides. */
    c = add_case("bin_extreme", "binary", 2, 8, 0);
    {
        const double s[] = {0.0, 1.0, 1e-20, 1.0 - 1e-16, 0.5, 1e-300, 1.0, 0.0};
        const int32_t y[] = {1, 0, 1, 0, 1, 0, 1, 0};
        for (size_t i = 0; i < 8; i++) {
            c->score[i] = s[i];
            c->y[i] = y[i];
        }
    }
    gy_metric_classes(c->score, c->n, 2, c->pred);

    /* Binary, one class only: AUC is undefined, the rest is defined. */
    c = add_case("bin_one_class", "binary", 2, 50, 0);
    for (size_t i = 0; i < c->n; i++) {
        c->score[i] = trng_unif(&r);
        c->y[i] = 1;
    }
    gy_metric_classes(c->score, c->n, 2, c->pred);

    /* Binary, nothing predicted positive: precision's zero division gives 0. */
    c = add_case("bin_no_positive_prediction", "binary", 2, 100, 1);
    for (size_t i = 0; i < c->n; i++) {
        c->score[i] = trng_unif(&r) * 0.5;
        c->y[i] = trng_unif(&r) < 0.3;
        c->w[i] = 0.25 + trng_unif(&r);
        c->pred[i] = 0;
    }

    /* Binary, every label and prediction 0. */
    c = add_case("bin_all_negative", "binary", 2, 30, 0);
    for (size_t i = 0; i < c->n; i++)
        c->score[i] = trng_unif(&r) * 0.4;
    gy_metric_classes(c->score, c->n, 2, c->pred);

    /* Binary, all weights zero: weighted averages are undefined. */
    c = add_case("bin_zero_weights", "binary", 2, 20, 1);
    for (size_t i = 0; i < c->n; i++) {
        c->score[i] = trng_unif(&r);
        c->y[i] = (int32_t)(i % 2);
    }
    gy_metric_classes(c->score, c->n, 2, c->pred);

    /* Binary, positives all weigh zero. */
    c = add_case("bin_positive_weight_zero", "binary", 2, 40, 1);
    for (size_t i = 0; i < c->n; i++) {
        c->score[i] = trng_unif(&r);
        c->y[i] = (int32_t)(i % 3 == 0);
        c->w[i] = c->y[i] ? 0.0 : 1.0;
    }
    gy_metric_classes(c->score, c->n, 2, c->pred);

    /* Multiclass, softmax probabilities, weights. */
    c = add_case("multi_basic", "multi", 4, 1200, 1);
    for (size_t i = 0; i < c->n; i++) {
        double z[4], s = 0, u = trng_unif(&r), acc = 0;
        for (int k = 0; k < 4; k++) {
            z[k] = exp(trng_normal(&r));
            s += z[k];
        }
        for (int k = 0; k < 4; k++)
            c->score[i * 4 + (size_t)k] = z[k] / s;
        c->y[i] = 3;
        for (int k = 0; k < 4; k++) {
            acc += c->score[i * 4 + (size_t)k];
            if (u < acc) {
                c->y[i] = k;
                break;
            }
        }
        c->w[i] = 0.5 + trng_unif(&r);
    }
    gy_metric_classes(c->score, c->n, 4, c->pred);

    /* Multiclass with a class absent from labels and predictions. */
    c = add_case("multi_absent_class", "multi", 5, 300, 0);
    for (size_t i = 0; i < c->n; i++) {
        double z[5], s = 0;
        for (int k = 0; k < 5; k++) {
            z[k] = k == 4 ? 0.001 : exp(trng_normal(&r));
            s += z[k];
        }
        for (int k = 0; k < 5; k++)
            c->score[i * 5 + (size_t)k] = z[k] / s;
        c->y[i] = (int32_t)(trng_next(&r) % 4);
    }
    gy_metric_classes(c->score, c->n, 5, c->pred);

    /* Multiclass with tied probabilities (argmax takes the first) and tied scores. */
    c = add_case("multi_ties", "multi", 3, 600, 1);
    {
        static const double pat[][3] = {{0.25, 0.25, 0.5}, {0.5, 0.25, 0.25}, {0.25, 0.5, 0.25},
                                        {0.4, 0.4, 0.2},   {0.2, 0.4, 0.4},   {0.5, 0.5, 0.0}};
        for (size_t i = 0; i < c->n; i++) {
            size_t p = trng_next(&r) % 6;
            for (int k = 0; k < 3; k++)
                c->score[i * 3 + (size_t)k] = pat[p][k];
            c->y[i] = (int32_t)(trng_next(&r) % 3);
            c->w[i] = (double)(1 + trng_next(&r) % 4);
        }
    }
    gy_metric_classes(c->score, c->n, 3, c->pred);

    /* Regression. */
    c = add_case("reg_basic", "reg", 0, 1000, 1);
    for (size_t i = 0; i < c->n; i++) {
        c->yr[i] = trng_normal(&r) * 10 + 3;
        c->score[i] = c->yr[i] + trng_normal(&r) * 2;
        c->w[i] = trng_unif(&r) * 3;
    }
    c = add_case("reg_unweighted", "reg", 0, 777, 0);
    for (size_t i = 0; i < c->n; i++) {
        c->yr[i] = trng_unif(&r) * 1e6;
        c->score[i] = c->yr[i] * (1 + 0.01 * trng_normal(&r));
    }
    c = add_case("reg_constant_perfect", "reg", 0, 10, 0);
    for (size_t i = 0; i < c->n; i++)
        c->yr[i] = c->score[i] = 4.5;
    c = add_case("reg_constant_imperfect", "reg", 0, 10, 0);
    for (size_t i = 0; i < c->n; i++) {
        c->yr[i] = 4.5;
        c->score[i] = 4.5 + (double)i;
    }
    c = add_case("reg_one_row", "reg", 0, 1, 0);
    c->yr[0] = 1;
    c->score[0] = 2;
}

static void free_cases(void)
{
    for (size_t i = 0; i < ncases; i++) {
        gy_free(cases[i].y);
        gy_free(cases[i].yr);
        gy_free(cases[i].score);
        gy_free(cases[i].pred);
        gy_free(cases[i].w);
    }
    ncases = 0;
}

static json_t *cases_json(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ncases; i++) {
        const struct mcase *c = &cases[i];
        size_t ns = c->n * (size_t)(strcmp(c->task, "multi") == 0 ? c->k : 1);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(c->name));
        json_object_set_new(o, "task", json_string(c->task));
        json_object_set_new(o, "k", json_integer(c->k));
        json_object_set_new(o, "y", jarr_i(c->y, c->n));
        json_object_set_new(o, "yr", jarr_d(c->yr, c->n));
        json_object_set_new(o, "score", jarr_d(c->score, ns));
        json_object_set_new(o, "pred", jarr_i(c->pred, c->n));
        json_object_set_new(o, "w", c->w ? jarr_d(c->w, c->n) : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

static int compared;

/* Compares one metric: the oracle's value (or "error") with gyre's status and value. */
static void check(const json_t *res, const char *cname, const char *metric, enum gy_status st,
                  double v)
{
    const json_t *o = json_object_get(res, metric);
    cr_assert_not_null(o, "%s: oracle has no %s", cname, metric);
    compared++;
    if (json_is_string(o)) {
        cr_assert_eq(st, GY_E_INVALID, "%s %s: scikit-learn raises, gyre gave status %d (%g)",
                     cname, metric, (int)st, v);
        cr_assert_str_neq(gy_error_msg(), "", "%s %s: no error text", cname, metric);
        return;
    }
    cr_assert_eq(st, GY_OK, "%s %s: scikit-learn gives %.17g, gyre failed: %s", cname, metric,
                 json_number_value(o), gy_error_msg());
    double want = json_number_value(o);
    cr_assert(fabs(v - want) <= 1e-9 * fmax(1.0, fabs(want)),
              "%s %s: gyre %.17g, scikit-learn %.17g (diff %.3g)", cname, metric, v, want,
              v - want);
}

Test(metrics, equal_to_sklearn)
{
    json_t *in, *out;

    build_cases();
    in = cases_json();
    out = oracle_run(oracle_py, in);
    for (size_t i = 0; i < ncases; i++) {
        const struct mcase *c = &cases[i];
        const json_t *res = json_object_get(out, c->name);
        double v = NAN, p = NAN, rc = NAN, f = NAN;
        enum gy_status st;
        cr_assert_not_null(res);
        if (strcmp(c->task, "reg") == 0) {
            st = gy_metric_rmse(c->yr, c->score, c->w, c->n, &v);
            check(res, c->name, "rmse", st, v);
            st = gy_metric_mae(c->yr, c->score, c->w, c->n, &v);
            check(res, c->name, "mae", st, v);
            st = gy_metric_r2(c->yr, c->score, c->w, c->n, &v);
            check(res, c->name, "r2", st, v);
            continue;
        }
        int multi = strcmp(c->task, "multi") == 0;
        st = multi ? gy_metric_auc_ovr(c->y, c->score, c->w, c->n, c->k, &v)
                   : gy_metric_auc(c->y, c->score, c->w, c->n, &v);
        check(res, c->name, "auc", st, v);
        st = gy_metric_logloss(c->y, c->score, c->w, c->n, c->k, 0, &v);
        check(res, c->name, "logloss", st, v);
        st = gy_metric_logloss(c->y, c->score, c->w, c->n, c->k, FLT_EPSILON, &v);
        check(res, c->name, "logloss32", st, v);
        st = gy_metric_accuracy(c->y, c->pred, c->w, c->n, &v);
        check(res, c->name, "accuracy", st, v);
        st = gy_metric_prf(c->y, c->pred, c->w, c->n, c->k,
                           multi ? GY_METRIC_MACRO : GY_METRIC_BINARY, &p, &rc, &f);
        check(res, c->name, "precision", st, p);
        check(res, c->name, "recall", st, rc);
        check(res, c->name, "f1", st, f);
        {
            double cm[25];
            const json_t *want = json_object_get(res, "confusion");
            cr_assert(json_is_array(want), "%s: no confusion matrix", c->name);
            cr_assert_eq(gy_metric_confusion(c->y, c->pred, c->w, c->n, c->k, cm), GY_OK);
            cr_assert_eq(json_array_size(want), (size_t)(c->k * c->k));
            for (size_t j = 0; j < (size_t)(c->k * c->k); j++) {
                double e = json_number_value(json_array_get(want, j));
                cr_assert(fabs(cm[j] - e) <= 1e-9 * fmax(1.0, fabs(e)),
                          "%s confusion[%zu]: %.17g vs %.17g", c->name, j, cm[j], e);
            }
            compared++;
        }
    }
    cr_assert_eq(compared, 103, "%d comparisons", compared);
    json_decref(in);
    json_decref(out);
    free_cases();
}

/* gy_metrics_compute on float labels and weights equals the individual metrics. */
Test(metrics, compute_all)
{
    struct trng r = {7};
    size_t n = 500;
    float *y = gy_calloc(n, sizeof(float)), *w = gy_calloc(n, sizeof(float));
    double *p = gy_calloc(n * 3, sizeof(double)), *yd = gy_calloc(n, sizeof(double));
    double *wd = gy_calloc(n, sizeof(double)), v;
    int32_t *yi = gy_calloc(n, sizeof(int32_t)), *pi = gy_calloc(n, sizeof(int32_t));
    struct gy_metrics m;
    const char *names[16];
    double vals[16];

    for (size_t i = 0; i < n; i++) {
        p[i] = trng_unif(&r);
        y[i] = trng_unif(&r) < p[i];
        yi[i] = (int32_t)y[i];
        w[i] = (float)(1 + i % 3) * 0.5f;
        wd[i] = w[i];
    }
    cr_assert_eq(gy_metrics_compute(GY_TRAIN_BINARY, 2, y, p, w, n, &m), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(gy_metric_auc(yi, p, wd, n, &v), GY_OK);
    cr_assert_eq(m.auc, v);
    cr_assert_eq(gy_metric_logloss(yi, p, wd, n, 2, 0, &v), GY_OK);
    cr_assert_eq(m.logloss, v);
    gy_metric_classes(p, n, 2, pi);
    cr_assert_eq(gy_metric_accuracy(yi, pi, wd, n, &v), GY_OK);
    cr_assert_eq(m.accuracy, v);
    cr_assert(isnan(m.rmse) && isnan(m.r2));
    cr_assert_not_null(m.confusion);
    cr_assert_eq(gy_metrics_list(&m, names, vals, 16), 6);
    cr_assert_str_eq(names[0], "auc");
    cr_assert_str_eq(names[5], "f1");
    cr_assert_eq(gy_metrics_list(&m, names, vals, 2), 6, "count beyond cap");
    gy_metrics_free(&m);

    /* One class: AUC is NaN and left out of the list, the rest is there. */
    for (size_t i = 0; i < n; i++)
        y[i] = 0;
    cr_assert_eq(gy_metrics_compute(GY_TRAIN_BINARY, 2, y, p, NULL, n, &m), GY_OK);
    cr_assert(isnan(m.auc));
    cr_assert_eq(gy_metrics_list(&m, names, vals, 16), 5);
    cr_assert_str_eq(names[0], "logloss");
    gy_metrics_free(&m);

    /* Multiclass. */
    for (size_t i = 0; i < n; i++) {
        double a = trng_unif(&r), b = trng_unif(&r) * (1 - a);
        p[i * 3] = a;
        p[i * 3 + 1] = b;
        p[i * 3 + 2] = 1 - a - b;
        y[i] = (float)(i % 3);
    }
    cr_assert_eq(gy_metrics_compute(GY_TRAIN_MULTICLASS, 3, y, p, NULL, n, &m), GY_OK, "%s",
                 gy_error_msg());
    cr_assert(m.auc > 0.3 && m.auc < 0.7, "random scores: auc %g", m.auc);
    {
        double cm_sum = 0;
        for (int j = 0; j < 9; j++)
            cm_sum += m.confusion[j];
        cr_assert_eq(cm_sum, (double)n);
    }
    gy_metrics_free(&m);

    /* Regression. */
    for (size_t i = 0; i < n; i++) {
        y[i] = (float)i;
        yd[i] = y[i];
        p[i] = y[i] + 1.0;
    }
    cr_assert_eq(gy_metrics_compute(GY_TRAIN_REGRESSION, 0, y, p, NULL, n, &m), GY_OK);
    cr_assert_eq(m.rmse, 1.0);
    cr_assert_eq(m.mae, 1.0);
    cr_assert_eq(gy_metric_r2(yd, p, NULL, n, &v), GY_OK);
    cr_assert_eq(m.r2, v);
    cr_assert(isnan(m.auc));
    cr_assert_eq(gy_metrics_list(&m, names, vals, 16), 3);
    cr_assert_str_eq(names[0], "rmse");
    gy_metrics_free(&m);

    /* Bad inputs: a label that is no class, a NaN prediction, no rows. */
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(i % 2);
    y[3] = 2.5f;
    cr_assert_eq(gy_metrics_compute(GY_TRAIN_BINARY, 2, y, p, NULL, n, &m), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "row 3") != NULL, "%s", gy_error_msg());
    cr_assert_null(m.confusion);
    y[3] = 1;
    p[7] = NAN;
    cr_assert_eq(gy_metrics_compute(GY_TRAIN_REGRESSION, 0, y, p, NULL, n, &m), GY_E_INVALID);
    cr_assert_eq(gy_metrics_compute(GY_TRAIN_BINARY, 2, y, p, NULL, 0, &m), GY_E_INVALID);

    gy_free(y);
    gy_free(w);
    gy_free(p);
    gy_free(yd);
    gy_free(wd);
    gy_free(yi);
    gy_free(pi);
}

Test(metrics, argument_errors)
{
    int32_t y[4] = {0, 1, 0, 1}, bad[4] = {0, 2, 0, 1}, pred[4] = {0, 1, 1, 1};
    double s[4] = {0.1, 0.9, 0.4, 0.6}, w[4] = {1, 1, NAN, 1}, v;

    cr_assert_eq(gy_metric_auc(bad, s, NULL, 4, &v), GY_E_INVALID);
    cr_assert_eq(gy_metric_auc(y, s, w, 4, &v), GY_E_INVALID);
    cr_assert_eq(gy_metric_auc(y, s, NULL, 0, &v), GY_E_INVALID);
    cr_assert_eq(gy_metric_auc(y, s, NULL, 4, &v), GY_OK);
    cr_assert_eq(v, 1.0);
    cr_assert_eq(gy_metric_logloss(y, s, NULL, 4, 1, 0, &v), GY_E_INVALID);
    cr_assert_eq(gy_metric_logloss(y, s, NULL, 4, 2, 0.7, &v), GY_E_INVALID);
    cr_assert_eq(gy_metric_prf(y, pred, NULL, 4, 3, GY_METRIC_BINARY, &v, NULL, NULL),
                 GY_E_INVALID);
    cr_assert_eq(gy_metric_prf(y, pred, NULL, 4, 2, GY_METRIC_BINARY, &v, NULL, NULL), GY_OK);
    cr_assert_float_eq(v, 2.0 / 3.0, 1e-15);
    cr_assert_eq(gy_metric_confusion(y, bad, NULL, 4, 2, (double[4]){0}), GY_E_INVALID);
}
