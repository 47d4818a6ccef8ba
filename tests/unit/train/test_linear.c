/* SPDX-License-Identifier: MIT */
/*
 * test_linear.c - unit tests for src/train/linear.c: logistic regression (binary and
 * multinomial, with and without intercept, sample and class weights, both solvers) and
 * ridge / least squares against scikit-learn 1.2 (Debian's python3-sklearn) on small sets:
 * the same coefficients to 1e-6, the objective at least as low as LogisticRegression's
 * defaults reach. Also: the result does not depend on the thread count, weights behave as
 * repeated rows, bad inputs are refused, and gy_linear_config_set parses parameters.
 */
#include "oracle.h"

static const char oracle_py[] =
    "import json, sys, warnings\n"
    "import numpy as np\n"
    "from scipy.special import logsumexp\n"
    "from sklearn.linear_model import LogisticRegression, Ridge, LinearRegression\n"
    "from sklearn.utils.class_weight import compute_class_weight\n"
    "warnings.simplefilter('ignore')\n"
    "out = {}\n"
    "for c in json.load(open(sys.argv[1])):\n"
    "    n, d = c['n'], c['d']\n"
    "    X = np.array(c['x'], dtype=np.float64).reshape(n, d)\n"
    "    y = np.array(c['y'], dtype=np.float64)\n"
    "    w = None if c['w'] is None else np.array(c['w'], dtype=np.float64)\n"
    "    sw = np.ones(n) if w is None else w\n"
    "    r = {}\n"
    "    if c['kind'] == 'logistic':\n"
    "        y = y.astype(np.int64); cw = c['class_weight']\n"
    "        classes = np.unique(y)\n"
    "        cwv = np.ones(len(classes)) if cw is None else compute_class_weight(cw, "
    "classes=classes, y=y)\n"
    "        s = sw * cwv[y]\n"
    "        def objective(m):\n"
    "            Z = m.decision_function(X)\n"
    "            if Z.ndim == 1: loss = np.logaddexp(0, Z) - y * Z\n"
    "            else: loss = logsumexp(Z, axis=1) - Z[np.arange(n), y]\n"
    "            return float(np.sum(s * loss) + 0.5 / c['C'] * np.sum(m.coef_ ** 2))\n"
    "        kw = dict(C=c['C'], fit_intercept=c['fi'], class_weight=cw)\n"
    "        ref = LogisticRegression(solver='newton-cg', tol=1e-10, max_iter=300, **kw)\n"
    "        ref.fit(X, y, sample_weight=w)\n"
    "        dflt = LogisticRegression(**kw).fit(X, y, sample_weight=w)\n"
    "        b = ref.intercept_ - ref.intercept_.mean() if len(ref.intercept_) > 1 else "
    "ref.intercept_\n"
    "        r['coef'] = ref.coef_.ravel().tolist(); r['intercept'] = b.tolist()\n"
    "        r['objective'] = objective(ref); r['objective_default'] = objective(dflt)\n"
    "    else:\n"
    "        m = Ridge(alpha=c['alpha'], fit_intercept=c['fi'], solver='cholesky') if c['alpha'] > "
    "0 \\\n"
    "            else LinearRegression(fit_intercept=c['fi'])\n"
    "        m.fit(X, y, sample_weight=w)\n"
    "        res = y - X @ m.coef_ - m.intercept_\n"
    "        r['coef'] = np.ravel(m.coef_).tolist(); r['intercept'] = [float(m.intercept_)]\n"
    "        r['objective'] = float(np.sum(sw * res ** 2) + c['alpha'] * np.sum(m.coef_ ** 2))\n"
    "    out[c['name']] = r\n"
    "json.dump(out, open(sys.argv[2], 'w'))\n";

struct lcase {
    const char *name;
    enum gy_linear_kind kind;
    size_t n, d;
    float *x, *y, *w;
    double C, alpha;
    int fi, balanced;
    int K;
};

#define MAX_LCASES 16
static struct lcase lcases[MAX_LCASES];
static size_t nl;

/* Features with different scales and offsets; labels from a known linear model. */
static struct lcase *gen(const char *name, enum gy_linear_kind kind, size_t n, size_t d, int K,
                         int weighted, uint64_t seed)
{
    struct lcase *c = &lcases[nl++];
    struct trng r = {seed};
    cr_assert(nl <= MAX_LCASES);
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->kind = kind;
    c->n = n;
    c->d = d;
    c->K = K;
    c->C = 1.0;
    c->fi = 1;
    c->x = gy_calloc(n * d, sizeof(float));
    c->y = gy_calloc(n, sizeof(float));
    c->w = weighted ? gy_calloc(n, sizeof(float)) : NULL;
    for (size_t i = 0; i < n; i++) {
        double z[8] = {0}, best = -INFINITY;
        for (size_t j = 0; j < d; j++) {
            double scale = j == 1 ? 30.0 : j == 2 ? 0.1 : 1.0, shift = j == 3 ? 5.0 : 0.0;
            c->x[i * d + j] = (float)(trng_normal(&r) * scale + shift);
        }
        if (kind == GY_LINEAR_REGRESSION) {
            double v = 1.5;
            for (size_t j = 0; j < d; j++)
                v += (double)c->x[i * d + j] * (0.5 - 0.2 * (double)j);
            c->y[i] = (float)(v + trng_normal(&r));
        } else {
            for (int k = 0; k < (K == 2 ? 1 : K); k++) {
                z[k] = trng_normal(&r) * 1.5 + 0.3 * k;
                for (size_t j = 0; j < d; j++)
                    z[k] += (double)c->x[i * d + j] * ((double)((j + (size_t)k) % 3) - 1.0) /
                            (j == 1   ? 30.0
                             : j == 2 ? 0.1
                                      : 1.0);
            }
            if (K == 2) {
                c->y[i] = z[0] > 0.7;
            } else {
                int arg = 0;
                for (int k = 0; k < K; k++)
                    if (z[k] > best) {
                        best = z[k];
                        arg = k;
                    }
                c->y[i] = (float)arg;
            }
        }
        if (c->w)
            c->w[i] = (float)(1 + trng_next(&r) % 4) * 0.5f;
    }
    return c;
}

static json_t *lcases_json(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < nl; i++) {
        const struct lcase *c = &lcases[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(c->name));
        json_object_set_new(o, "kind",
                            json_string(c->kind == GY_LINEAR_LOGISTIC ? "logistic" : "ridge"));
        json_object_set_new(o, "n", json_integer((json_int_t)c->n));
        json_object_set_new(o, "d", json_integer((json_int_t)c->d));
        json_object_set_new(o, "x", jarr_f(c->x, c->n * c->d));
        json_object_set_new(o, "y", jarr_f(c->y, c->n));
        json_object_set_new(o, "w", c->w ? jarr_f(c->w, c->n) : json_null());
        json_object_set_new(o, "C", json_real(c->C));
        json_object_set_new(o, "alpha", json_real(c->alpha));
        json_object_set_new(o, "fi", json_boolean(c->fi));
        json_object_set_new(o, "class_weight", c->balanced ? json_string("balanced") : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

static void check_against(const struct lcase *c, const json_t *ref, enum gy_linear_solver solver)
{
    struct gy_linear_config cfg;
    struct gy_linear_model m;
    struct gy_matrix x = {c->n, c->d, c->x};
    const json_t *coef = json_object_get(ref, "coef"), *icpt = json_object_get(ref, "intercept");
    double obj = jnum_req(ref, "objective");

    gy_linear_config_init(&cfg, c->kind);
    cfg.C = c->C;
    cfg.alpha = c->alpha;
    cfg.fit_intercept = c->fi;
    cfg.class_weight_balanced = c->balanced;
    cfg.solver = solver;
    cfg.nthread = 2;
    cr_assert_eq(gy_train_linear(&cfg, &x, c->y, c->w, &m), GY_OK, "%s: %s", c->name,
                 gy_error_msg());
    cr_assert(m.converged, "%s (%s): not converged after %d iterations, |g| %g", c->name, m.solver,
              m.iterations, m.grad_max);
    cr_assert_eq(json_array_size(coef), m.n_outputs * m.n_features, "%s", c->name);
    for (size_t j = 0; j < m.n_outputs * m.n_features; j++) {
        double want = json_number_value(json_array_get(coef, j));
        cr_assert(fabs(m.coef[j] - want) <= 1e-6 * fmax(1.0, fabs(want)),
                  "%s (%s): coef[%zu] = %.12g, scikit-learn %.12g", c->name, m.solver, j, m.coef[j],
                  want);
    }
    for (size_t k = 0; k < m.n_outputs; k++) {
        double want = json_number_value(json_array_get(icpt, k));
        if (!c->fi)
            want = 0;
        cr_assert(fabs(m.intercept[k] - want) <= 1e-6 * fmax(1.0, fabs(want)),
                  "%s (%s): intercept[%zu] = %.12g, scikit-learn %.12g", c->name, m.solver, k,
                  m.intercept[k], want);
    }
    /* The same objective value at the optimum, and never worse than sklearn's defaults. */
    cr_assert(fabs(m.objective - obj) <= 1e-9 * fmax(1.0, fabs(obj)),
              "%s (%s): objective %.15g, scikit-learn %.15g", c->name, m.solver, m.objective, obj);
    if (c->kind == GY_LINEAR_LOGISTIC) {
        double dflt = jnum_req(ref, "objective_default");
        cr_assert(m.objective <= dflt + 1e-9 * fabs(dflt),
                  "%s: objective %.15g above LogisticRegression()'s %.15g", c->name, m.objective,
                  dflt);
    }
    gy_linear_model_free(&m);
}

Test(linear, equal_to_sklearn)
{
    struct lcase *c;
    json_t *in, *out;

    gen("binary", GY_LINEAR_LOGISTIC, 800, 6, 2, 0, 1);
    c = gen("binary_weighted_C", GY_LINEAR_LOGISTIC, 700, 5, 2, 1, 2);
    c->C = 0.05;
    c = gen("binary_balanced_no_intercept", GY_LINEAR_LOGISTIC, 600, 4, 2, 0, 3);
    c->balanced = 1;
    c->fi = 0;
    for (size_t i = 0; i < c->n; i++) /* imbalance: keep one positive in four */
        if (i % 4)
            c->y[i] = 0;
    c = gen("binary_strong", GY_LINEAR_LOGISTIC, 500, 3, 2, 1, 4);
    c->C = 100.0;
    gen("multinomial", GY_LINEAR_LOGISTIC, 900, 5, 3, 0, 5);
    c = gen("multinomial_weighted_balanced", GY_LINEAR_LOGISTIC, 700, 4, 4, 1, 6);
    c->balanced = 1;
    c->C = 0.3;
    c = gen("ridge", GY_LINEAR_REGRESSION, 500, 6, 0, 1, 7);
    c->alpha = 2.5;
    gen("least_squares", GY_LINEAR_REGRESSION, 400, 5, 0, 0, 8);
    c = gen("least_squares_rank_deficient", GY_LINEAR_REGRESSION, 300, 4, 0, 0, 9);
    for (size_t i = 0; i < c->n; i++) /* column 3 = column 0: singular normal equations */
        c->x[i * 4 + 3] = c->x[i * 4];
    c = gen("ridge_no_intercept", GY_LINEAR_REGRESSION, 300, 3, 0, 1, 10);
    c->alpha = 0.5;
    c->fi = 0;

    in = lcases_json();
    out = oracle_run(oracle_py, in);
    for (size_t i = 0; i < nl; i++) {
        const json_t *ref = json_object_get(out, lcases[i].name);
        cr_assert_not_null(ref);
        if (lcases[i].kind == GY_LINEAR_REGRESSION) {
            check_against(&lcases[i], ref, GY_LINEAR_SOLVER_AUTO);
            continue;
        }
        check_against(&lcases[i], ref, GY_LINEAR_SOLVER_LBFGS);
        if (lcases[i].K == 2)
            check_against(&lcases[i], ref, GY_LINEAR_SOLVER_NEWTON);
    }
    json_decref(in);
    json_decref(out);
    for (size_t i = 0; i < nl; i++) {
        gy_free(lcases[i].x);
        gy_free(lcases[i].y);
        gy_free(lcases[i].w);
    }
}

/* Trains with the given threads and solver; returns the model (new). */
static struct gy_linear_model fit(const struct gy_matrix *x, const float *y, const float *w,
                                  int nthread, enum gy_linear_solver solver, const char *cw)
{
    struct gy_linear_config cfg;
    struct gy_linear_model m;
    gy_linear_config_init(&cfg, GY_LINEAR_LOGISTIC);
    cfg.nthread = nthread;
    cfg.solver = solver;
    if (cw)
        cr_assert_eq(gy_linear_config_set(&cfg, "class_weight", cw), GY_OK);
    cr_assert_eq(gy_train_linear(&cfg, x, y, w, &m), GY_OK, "%s", gy_error_msg());
    return m;
}

Test(linear, threads_do_not_change_results)
{
    size_t n = 50000, d = 7; /* 7 row blocks */
    struct gy_matrix x;
    float *y = gy_calloc(n, sizeof(float));
    struct trng r = {99};
    enum gy_linear_solver solvers[2] = {GY_LINEAR_SOLVER_NEWTON, GY_LINEAR_SOLVER_LBFGS};

    cr_assert_eq(gy_train_matrix_create(n, d, &x), GY_OK);
    for (size_t i = 0; i < n; i++) {
        double z = 0.2;
        for (size_t j = 0; j < d; j++) {
            x.x[i * d + j] = (float)trng_normal(&r);
            z += x.x[i * d + j] * (double)j * 0.3;
        }
        y[i] = trng_unif(&r) < 1 / (1 + exp(-z));
    }
    for (int s = 0; s < 2; s++) {
        struct gy_linear_model a = fit(&x, y, NULL, 1, solvers[s], NULL);
        struct gy_linear_model b = fit(&x, y, NULL, 2, solvers[s], NULL);
        struct gy_linear_model c = fit(&x, y, NULL, 3, solvers[s], NULL);
        cr_assert_eq(memcmp(a.coef, b.coef, d * sizeof(double)), 0, "%s", a.solver);
        cr_assert_eq(memcmp(a.coef, c.coef, d * sizeof(double)), 0, "%s", a.solver);
        cr_assert_eq(a.intercept[0], b.intercept[0]);
        cr_assert_eq(a.objective, c.objective);
        gy_linear_model_free(&a);
        gy_linear_model_free(&b);
        gy_linear_model_free(&c);
    }
    /* The two solvers agree. */
    {
        struct gy_linear_model a = fit(&x, y, NULL, 2, GY_LINEAR_SOLVER_NEWTON, NULL);
        struct gy_linear_model b = fit(&x, y, NULL, 2, GY_LINEAR_SOLVER_LBFGS, NULL);
        for (size_t j = 0; j < d; j++)
            cr_assert_float_eq(a.coef[j], b.coef[j], 1e-7);
        cr_assert_float_eq(a.intercept[0], b.intercept[0], 1e-7);
        cr_assert_str_eq(a.solver, "newton");
        cr_assert_str_eq(b.solver, "lbfgs");
        gy_linear_model_free(&a);
        gy_linear_model_free(&b);
    }
    gy_train_matrix_free(&x);
    gy_free(y);
}

Test(linear, weights_act_as_repeated_rows)
{
    size_t n = 400, d = 3;
    struct gy_matrix x, x2;
    float *y = gy_calloc(n, sizeof(float)), *w = gy_calloc(n, sizeof(float));
    float *y2 = gy_calloc(2 * n, sizeof(float));
    struct trng r = {5};

    cr_assert_eq(gy_train_matrix_create(n, d, &x), GY_OK);
    cr_assert_eq(gy_train_matrix_create(2 * n, d, &x2), GY_OK);
    size_t m2 = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            x.x[i * d + j] = (float)trng_normal(&r);
        y[i] = trng_unif(&r) < 0.3 + 0.2 * (x.x[i * d] > 0);
        w[i] = i % 2 ? 2.0f : 1.0f;
        for (int rep = 0; rep < (i % 2 ? 2 : 1); rep++) {
            memcpy(x2.x + m2 * d, x.x + i * d, d * sizeof(float));
            y2[m2++] = y[i];
        }
    }
    x2.rows = m2;
    {
        struct gy_linear_model a = fit(&x, y, w, 2, GY_LINEAR_SOLVER_AUTO, NULL);
        struct gy_linear_model b = fit(&x2, y2, NULL, 2, GY_LINEAR_SOLVER_AUTO, NULL);
        for (size_t j = 0; j < d; j++)
            cr_assert_float_eq(a.coef[j], b.coef[j], 1e-8);
        cr_assert_float_eq(a.intercept[0], b.intercept[0], 1e-8);
        gy_linear_model_free(&a);
        gy_linear_model_free(&b);
    }
    /* Class weight 3 for class 1 = sample weight 3 on its rows; "balanced" raises the
     * predicted share of the rare class. */
    {
        float *w3 = gy_calloc(n, sizeof(float));
        double *p = gy_calloc(n, sizeof(double)), pa = 0, pb = 0;
        for (size_t i = 0; i < n; i++)
            w3[i] = y[i] ? 3.0f : 1.0f;
        struct gy_linear_model a = fit(&x, y, NULL, 2, GY_LINEAR_SOLVER_AUTO, "1,3");
        struct gy_linear_model b = fit(&x, y, w3, 2, GY_LINEAR_SOLVER_AUTO, NULL);
        struct gy_linear_model c = fit(&x, y, NULL, 2, GY_LINEAR_SOLVER_AUTO, NULL);
        struct gy_linear_model e = fit(&x, y, NULL, 2, GY_LINEAR_SOLVER_AUTO, "balanced");
        for (size_t j = 0; j < d; j++)
            cr_assert_float_eq(a.coef[j], b.coef[j], 1e-9);
        cr_assert_float_eq(a.intercept[0], b.intercept[0], 1e-9);
        cr_assert_eq(gy_linear_predict(&c, &x, p), GY_OK);
        for (size_t i = 0; i < n; i++)
            pa += p[i];
        cr_assert_eq(gy_linear_predict(&e, &x, p), GY_OK);
        for (size_t i = 0; i < n; i++) {
            cr_assert(p[i] > 0 && p[i] < 1);
            pb += p[i];
        }
        cr_assert_gt(pb, pa + 0.05 * (double)n, "balanced: mean P %g vs %g", pb / n, pa / n);
        gy_linear_model_free(&a);
        gy_linear_model_free(&b);
        gy_linear_model_free(&c);
        gy_linear_model_free(&e);
        gy_free(w3);
        gy_free(p);
    }
    gy_train_matrix_free(&x);
    gy_train_matrix_free(&x2);
    gy_free(y);
    gy_free(w);
    gy_free(y2);
}

Test(linear, predict_shapes_and_ridge_closed_form)
{
    size_t n = 300, d = 2;
    struct gy_matrix x;
    float *y = gy_calloc(n, sizeof(float));
    double *p = gy_calloc(n * 3, sizeof(double));
    struct gy_linear_config cfg;
    struct gy_linear_model m;
    struct trng r = {8};

    cr_assert_eq(gy_train_matrix_create(n, d, &x), GY_OK);
    for (size_t i = 0; i < n; i++) {
        x.x[i * 2] = (float)trng_normal(&r);
        x.x[i * 2 + 1] = (float)trng_normal(&r);
        y[i] = (float)(i % 3);
    }
    gy_linear_config_init(&cfg, GY_LINEAR_LOGISTIC);
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &m), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(m.n_outputs, 3);
    cr_assert_eq(m.n_classes, 3);
    cr_assert_float_eq(m.intercept[0] + m.intercept[1] + m.intercept[2], 0, 1e-12);
    cr_assert_eq(gy_linear_predict(&m, &x, p), GY_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_float_eq(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2], 1.0, 1e-12);
    gy_linear_model_free(&m);

    /* Exact data: y = 2 x0 - 3 x1 + 0.5 is recovered by least squares. */
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(2.0 * x.x[i * 2] - 3.0 * x.x[i * 2 + 1] + 0.5);
    gy_linear_config_init(&cfg, GY_LINEAR_REGRESSION);
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &m), GY_OK, "%s", gy_error_msg());
    cr_assert_float_eq(m.coef[0], 2.0, 1e-5);
    cr_assert_float_eq(m.coef[1], -3.0, 1e-5);
    cr_assert_float_eq(m.intercept[0], 0.5, 1e-5);
    cr_assert_str_eq(m.solver, "cholesky");
    cr_assert_lt(m.grad_max, 1e-6);
    cr_assert_eq(gy_linear_predict(&m, &x, p), GY_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_float_eq(p[i], y[i], 1e-4);
    {
        struct gy_matrix bad = {1, 3, x.x};
        cr_assert_eq(gy_linear_predict(&m, &bad, p), GY_E_INVALID);
    }
    gy_linear_model_free(&m);
    gy_train_matrix_free(&x);
    gy_free(y);
    gy_free(p);
}

Test(linear, bad_inputs)
{
    float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[4] = {0, 1, 0, 1}, w[4] = {1, 1, 1, 1};
    struct gy_matrix x = {4, 2, xv};
    struct gy_linear_config cfg;
    struct gy_linear_model m;

    gy_linear_config_init(&cfg, GY_LINEAR_LOGISTIC);
    xv[5] = NAN;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &m), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "row 2, column 1") != NULL, "%s", gy_error_msg());
    cr_assert_null(m.coef);
    xv[5] = 6;
    y[2] = 0.5f;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &m), GY_E_INVALID);
    y[2] = 2; /* class 2 present, but class ... all present? 0,1,2: fine with n_classes 3 */
    cfg.n_classes = 4;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &m), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "class 3 has no training rows") != NULL, "%s", gy_error_msg());
    cfg.n_classes = 0;
    y[2] = 0;
    w[1] = -1;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, w, &m), GY_E_INVALID);
    w[1] = 1;
    cfg.C = -1;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, w, &m), GY_E_INVALID);
    cfg.C = 1;
    cfg.n_class_weight = 3;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, w, &m), GY_E_INVALID);
    cfg.n_class_weight = 0;
    cfg.solver = GY_LINEAR_SOLVER_NEWTON;
    y[2] = 2;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, w, &m), GY_E_INVALID, "Newton is binary only");
    y[2] = 0;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, w, &m), GY_OK, "%s", gy_error_msg());
    gy_linear_model_free(&m);
    gy_linear_model_free(&m);
    gy_linear_model_free(NULL);
    gy_linear_config_init(&cfg, GY_LINEAR_REGRESSION);
    y[0] = INFINITY;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &m), GY_E_INVALID);
    cfg.kind = (enum gy_linear_kind)7;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &m), GY_E_INVALID);
}

Test(linear, config_set)
{
    struct gy_linear_config cfg;

    gy_linear_config_init(&cfg, GY_LINEAR_LOGISTIC);
    cr_assert_eq(cfg.C, 1.0);
    cr_assert_eq(cfg.fit_intercept, 1);
    cr_assert_eq(gy_linear_config_set(&cfg, "C", "0.25"), GY_OK);
    cr_assert_eq(cfg.C, 0.25);
    cr_assert_eq(gy_linear_config_set(&cfg, "C", "0"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "C", "abc"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "C", "inf"), GY_OK);
    cr_assert(isinf(cfg.C));
    cr_assert_eq(gy_linear_config_set(&cfg, "fit_intercept", "false"), GY_OK);
    cr_assert_eq(cfg.fit_intercept, 0);
    cr_assert_eq(gy_linear_config_set(&cfg, "fit_intercept", "maybe"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "class_weight", "balanced"), GY_OK);
    cr_assert_eq(cfg.class_weight_balanced, 1);
    cr_assert_eq(gy_linear_config_set(&cfg, "class_weight", "1,2.5,0"), GY_OK);
    cr_assert_eq(cfg.class_weight_balanced, 0);
    cr_assert_eq(cfg.n_class_weight, 3);
    cr_assert_eq(cfg.class_weight[1], 2.5);
    cr_assert_eq(gy_linear_config_set(&cfg, "class_weight", "1,-2"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "class_weight", "1;2"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "solver", "lbfgs"), GY_OK);
    cr_assert_eq(cfg.solver, GY_LINEAR_SOLVER_LBFGS);
    cr_assert_eq(gy_linear_config_set(&cfg, "solver", "sag"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "max_iter", "0"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "max_iter", "50"), GY_OK);
    cr_assert_eq(gy_linear_config_set(&cfg, "nthread", "2"), GY_OK);
    cr_assert_eq(gy_linear_config_set(&cfg, "tol", "-1"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "alpha", "-1"), GY_E_INVALID);
    cr_assert_eq(gy_linear_config_set(&cfg, "alpha", "3"), GY_OK);
    cr_assert_eq(gy_linear_config_set(&cfg, "penalty", "l1"), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "unknown logistic parameter 'penalty'") != NULL, "%s",
              gy_error_msg());
}

/* Nearly collinear features and a weak penalty: L-BFGS alone crawls, so AUTO hands over to
 * Newton, and the answer equals Newton's from scratch. */
Test(linear, auto_falls_back_to_newton)
{
    size_t n = 3000, d = 4;
    struct gy_matrix x;
    float *y = gy_calloc(n, sizeof(float));
    struct trng r = {21};
    struct gy_linear_config cfg;
    struct gy_linear_model a, b;

    cr_assert_eq(gy_train_matrix_create(n, d, &x), GY_OK);
    for (size_t i = 0; i < n; i++) {
        double u = trng_normal(&r), v = trng_normal(&r);
        x.x[i * d] = (float)u;
        x.x[i * d + 1] = (float)(u + 1e-3 * trng_normal(&r));
        x.x[i * d + 2] = (float)v;
        x.x[i * d + 3] = (float)(v - 2e-3 * trng_normal(&r));
        y[i] = trng_unif(&r) < 1 / (1 + exp(-(u + 0.5 * v)));
    }
    gy_linear_config_init(&cfg, GY_LINEAR_LOGISTIC);
    cfg.C = 1e6;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &a), GY_OK, "%s", gy_error_msg());
    cr_assert_str_eq(a.solver, "lbfgs+newton", "%s after %d iterations", a.solver, a.iterations);
    cr_assert(a.converged);
    cr_assert_gt(a.iterations, 50);
    cfg.solver = GY_LINEAR_SOLVER_NEWTON;
    cr_assert_eq(gy_train_linear(&cfg, &x, y, NULL, &b), GY_OK, "%s", gy_error_msg());
    cr_assert(b.converged);
    for (size_t j = 0; j < d; j++)
        cr_assert(fabs(a.coef[j] - b.coef[j]) <= 1e-6 * fmax(1, fabs(b.coef[j])),
                  "coef[%zu]: %.12g vs %.12g", j, a.coef[j], b.coef[j]);
    cr_assert(fabs(a.objective - b.objective) <= 1e-10 * b.objective);
    gy_linear_model_free(&a);
    gy_linear_model_free(&b);
    gy_train_matrix_free(&x);
    gy_free(y);
}
