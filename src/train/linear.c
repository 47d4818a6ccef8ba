/* SPDX-License-Identifier: MIT */
/*
 * linear.c - linear models on dense float32 rows: L2-regularized logistic regression (binary,
 * and multinomial softmax for more than two classes) with the objective of scikit-learn 1.2's
 * LogisticRegression(solver="lbfgs"), and least squares / ridge regression with the
 * objective of scikit-learn's Ridge.
 *
 * Logistic regression minimizes f(W, b) = sum_i s_i * loss_i + ||W||^2 / (2C) with either a
 * damped Newton method (exact Hessian, Cholesky, Armijo backtracking: a handful of passes
 * when there are few parameters) or L-BFGS (m = 10, Armijo backtracking). Each pass over the
 * data runs in fixed row blocks on a thread pool; every block writes its own partial sums
 * and the partials are added in block order, so the result is the same for any thread
 * count. Ridge regression is solved exactly from the normal equations on weighted-centered
 * data (Cholesky, or an eigen-decomposition giving the minimum-norm solution when the system
 * is singular).
 */
#include "train/train_int.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_ROWS_MIN 8192
#define MAX_BLOCKS 256
#define PARTIALS_MAX ((size_t)1 << 25) /* 256 MiB of per-block partial sums */
#define LBFGS_M 10
#define NEWTON_MAX_PARAMS 128
#define AUTO_LBFGS_ITER 50

/* ------------------------------------------------------------------ configuration */

void gy_linear_config_init(struct gy_linear_config *cfg, enum gy_linear_kind kind)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->kind = kind;
    cfg->C = 1.0;
    cfg->alpha = 0.0;
    cfg->fit_intercept = 1;
    cfg->tol = 1e-10;
}

static enum gy_status parse_double(const char *key, const char *v, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || isnan(*out))
        return gy_error_set(GY_E_INVALID, "parameter %s: '%s' is not a number", key, v);
    return GY_OK;
}

static enum gy_status parse_int(const char *key, const char *v, int lo, int hi, int *out)
{
    int64_t x;
    if (gy_parse_int64(v, &x) != GY_OK || x < lo || x > hi)
        return gy_error_set(GY_E_INVALID, "parameter %s: '%s' is not an integer in %d..%d", key, v,
                            lo, hi);
    *out = (int)x;
    return GY_OK;
}

enum gy_status gy_linear_config_set(struct gy_linear_config *cfg, const char *key,
                                    const char *value)
{
    enum gy_status st = gy_train_param_check(key, value);
    double d;

    if (st != GY_OK)
        return st;
    if (strcmp(key, "C") == 0) {
        if ((st = parse_double(key, value, &d)))
            return st;
        if (!(d > 0))
            return gy_error_set(GY_E_INVALID, "parameter C: %s is not > 0", value);
        cfg->C = d;
    } else if (strcmp(key, "alpha") == 0) {
        if ((st = parse_double(key, value, &d)))
            return st;
        if (!(d >= 0) || isinf(d))
            return gy_error_set(GY_E_INVALID, "parameter alpha: %s is not finite and >= 0", value);
        cfg->alpha = d;
    } else if (strcmp(key, "fit_intercept") == 0) {
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "True"))
            cfg->fit_intercept = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "False"))
            cfg->fit_intercept = 0;
        else
            return gy_error_set(GY_E_INVALID, "parameter fit_intercept: '%s' is not true/false",
                                value);
    } else if (strcmp(key, "n_classes") == 0) {
        return parse_int(key, value, 2, 1000000, &cfg->n_classes);
    } else if (strcmp(key, "max_iter") == 0) {
        return parse_int(key, value, 1, 1000000, &cfg->max_iter);
    } else if (strcmp(key, "nthread") == 0) {
        return parse_int(key, value, 0, 1024, &cfg->nthread);
    } else if (strcmp(key, "tol") == 0) {
        if ((st = parse_double(key, value, &d)))
            return st;
        if (!(d > 0) || isinf(d))
            return gy_error_set(GY_E_INVALID, "parameter tol: %s is not > 0", value);
        cfg->tol = d;
    } else if (strcmp(key, "solver") == 0) {
        if (!strcmp(value, "auto"))
            cfg->solver = GY_LINEAR_SOLVER_AUTO;
        else if (!strcmp(value, "newton"))
            cfg->solver = GY_LINEAR_SOLVER_NEWTON;
        else if (!strcmp(value, "lbfgs"))
            cfg->solver = GY_LINEAR_SOLVER_LBFGS;
        else
            return gy_error_set(GY_E_INVALID,
                                "parameter solver: '%s' is not auto, newton or "
                                "lbfgs",
                                value);
    } else if (strcmp(key, "class_weight") == 0) {
        const char *p = value;
        size_t n = 0;
        if (!strcmp(value, "balanced")) {
            cfg->class_weight_balanced = 1;
            cfg->n_class_weight = 0;
            return GY_OK;
        }
        while (*p) {
            char *end;
            errno = 0;
            d = strtod(p, &end);
            if (end == p || errno == ERANGE || !(d >= 0) || isinf(d))
                return gy_error_set(GY_E_INVALID,
                                    "parameter class_weight: '%s' is not \"balanced\" or a "
                                    "comma-separated list of weights >= 0",
                                    value);
            if (n == GY_LINEAR_MAX_CLASSES)
                return gy_error_set(GY_E_INVALID, "parameter class_weight: more than %d weights",
                                    GY_LINEAR_MAX_CLASSES);
            cfg->class_weight[n++] = d;
            p = end;
            if (*p == ',')
                p++;
            else if (*p)
                return gy_error_set(GY_E_INVALID, "parameter class_weight: unexpected '%c'", *p);
        }
        cfg->n_class_weight = n;
        cfg->class_weight_balanced = 0;
    } else {
        return gy_error_set(GY_E_INVALID,
                            "unknown %s parameter '%s' (known: C, alpha, fit_intercept, "
                            "n_classes, class_weight, max_iter, tol, solver, nthread)",
                            cfg->kind == GY_LINEAR_LOGISTIC ? "logistic" : "linear", key);
    }
    return GY_OK;
}

void gy_linear_model_free(struct gy_linear_model *m)
{
    if (!m)
        return;
    gy_free(m->coef);
    gy_free(m->intercept);
    memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ the problem */

/*
 * Everything a pass over the data needs. Parameters are laid out as K weight rows of d
 * values, then K intercepts when fit_intercept: P = K * d + K * fi.
 */
struct problem {
    const float *x;
    size_t n, d;
    const float *y;
    const double *s; /* per-row weight (sample weight times class weight), NULL: all 1 */
    size_t K;        /* 1: binary; > 1: multinomial */
    int fi;
    size_t P;
    double inv_c; /* 1 / C, 0 without a penalty */
    double S;     /* sum of row weights */
    size_t pp;    /* P rounded up to a multiple of 4 (Hessian tiles) */
    size_t block_rows, nblocks;
    struct gy_pool *pool;
    /* Inputs and outputs of a pass. */
    const double *theta;
    double *part;  /* nblocks x (1 + P): objective and gradient per block */
    double *hpart; /* nblocks x pp x pp: Hessian (lower triangle) per block, Newton only */
    /* L-BFGS works in standardized coordinates: z = sum_j w'_j (x_j - mu_j) / sigma_j + b',
     * the same model as z = w.x + b with w_j = w'_j / sigma_j, b = b' - w.mu (mu = 0 without
     * an intercept). NULL mu: no change of coordinates. */
    double *mu, *sigma;
    double *theta_x, *g_x; /* scratch: the point and gradient in the original coordinates */
    double gmax;           /* max |gradient| in the original coordinates, last pass */
    int it0;               /* iterations done by an earlier solver (progress numbering) */
};

static void block_range(const struct problem *pr, size_t b, size_t *r0, size_t *r1)
{
    *r0 = b * pr->block_rows;
    *r1 = *r0 + pr->block_rows < pr->n ? *r0 + pr->block_rows : pr->n;
}

static void pass_of(const struct problem *pr, struct gy__lin_pass *lp)
{
    lp->x = pr->x;
    lp->d = pr->d;
    lp->y = pr->y;
    lp->s = pr->s;
    lp->K = pr->K;
    lp->fi = pr->fi;
    lp->P = pr->P;
    lp->theta = pr->theta;
}

/* Objective and gradient of one block into its slot of pr->part. */
static void fg_block(void *arg, size_t b)
{
    const struct problem *pr = arg;
    struct gy__lin_pass lp;
    size_t r0, r1;
    double *out = pr->part + b * (1 + pr->P), zbuf[64], *z = zbuf;

    pass_of(pr, &lp);
    block_range(pr, b, &r0, &r1);
    if (pr->K == 1) {
        gy__lin_fg_binary(&lp, r0, r1, out, out + 1);
        return;
    }
    if (pr->K > 64 && !(z = gy_malloc(pr->K * sizeof(double)))) {
        out[0] = NAN; /* reported as out of memory by eval_fg */
        return;
    }
    gy__lin_fg_multi(&lp, r0, r1, out, out + 1, z);
    if (z != zbuf)
        gy_free(z);
}

/* Hessian of one block into its slot of pr->hpart (pp x pp). */
static void h_block(void *arg, size_t b)
{
    const struct problem *pr = arg;
    struct gy__lin_pass lp;
    size_t r0, r1;

    pass_of(pr, &lp);
    block_range(pr, b, &r0, &r1);
    gy__lin_hess_binary(&lp, r0, r1, pr->hpart + b * pr->pp * pr->pp, pr->pp);
}

/*
 * One pass: objective and gradient at @p theta, penalty included. Returns GY_E_NOMEM when a
 * block could not get scratch memory.
 */
static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > m)
            m = fabs(v[i]);
    return m;
}

static enum gy_status eval_fg_raw(struct problem *pr, const double *theta, double *f, double *g)
{
    size_t P = pr->P, dW = pr->K * pr->d;
    double pen = 0;

    pr->theta = theta;
    gy__parallel_blocks(pr->pool, pr->nblocks, fg_block, pr);
    *f = 0;
    memset(g, 0, P * sizeof(double));
    for (size_t b = 0; b < pr->nblocks; b++) {
        const double *o = pr->part + b * (1 + P);
        *f += o[0];
        for (size_t j = 0; j < P; j++)
            g[j] += o[1 + j];
    }
    if (isnan(*f))
        return gy_error_set(GY_E_NOMEM, "out of memory in a logistic regression pass");
    for (size_t j = 0; j < dW; j++) {
        pen += theta[j] * theta[j];
        g[j] += theta[j] * pr->inv_c;
    }
    *f += 0.5 * pr->inv_c * pen;
    return GY_OK;
}

/* Maps standardized parameters to the original coordinates (see struct problem). */
static void to_original(const struct problem *pr, const double *tz, double *t)
{
    size_t d = pr->d;
    for (size_t k = 0; k < pr->K; k++) {
        double shift = 0;
        for (size_t j = 0; j < d; j++) {
            t[k * d + j] = tz[k * d + j] / pr->sigma[j];
            shift += t[k * d + j] * pr->mu[j];
        }
        if (pr->fi)
            t[pr->K * d + k] = tz[pr->K * d + k] - shift;
    }
}

/*
 * One pass: objective and gradient at @p theta, penalty included, both in the solver's
 * coordinates; pr->gmax gets max |gradient| in the original ones.
 */
static enum gy_status eval_fg(struct problem *pr, const double *theta, double *f, double *g)
{
    size_t d = pr->d, K = pr->K;
    enum gy_status st;

    if (!pr->mu) {
        st = eval_fg_raw(pr, theta, f, g);
        pr->gmax = max_abs(g, pr->P);
        return st;
    }
    to_original(pr, theta, pr->theta_x);
    if ((st = eval_fg_raw(pr, pr->theta_x, f, pr->g_x)))
        return st;
    pr->gmax = max_abs(pr->g_x, pr->P);
    /* Chain rule: g' = J^T g with dw_j/dw'_j = 1/sigma_j, db/dw'_j = -mu_j/sigma_j. */
    for (size_t k = 0; k < K; k++) {
        double gb = pr->fi ? pr->g_x[K * d + k] : 0.0;
        for (size_t j = 0; j < d; j++)
            g[k * d + j] = (pr->g_x[k * d + j] - pr->mu[j] * gb) / pr->sigma[j];
        if (pr->fi)
            g[K * d + k] = gb;
    }
    return GY_OK;
}

/* One pass: the Hessian at @p theta, penalty included, full symmetric P x P into @p H. */
static void eval_h(struct problem *pr, const double *theta, double *H)
{
    size_t P = pr->P, pp = pr->pp;

    pr->theta = theta;
    gy__parallel_blocks(pr->pool, pr->nblocks, h_block, pr);
    memset(H, 0, P * P * sizeof(double));
    for (size_t b = 0; b < pr->nblocks; b++) {
        const double *hb = pr->hpart + b * pp * pp;
        for (size_t j = 0; j < P; j++)
            for (size_t k = 0; k <= j; k++)
                H[j * P + k] += hb[j * pp + k];
    }
    for (size_t j = 0; j < P; j++) {
        if (j < pr->d)
            H[j * P + j] += pr->inv_c;
        for (size_t k = 0; k < j; k++)
            H[k * P + j] = H[j * P + k];
    }
}

static double dotd(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* ------------------------------------------------------------------ dense linear algebra */

/* In-place Cholesky A = L L^T (lower triangle of row-major n x n A). 0 on success. */
static int cholesky(double *A, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double s = A[j * n + j];
        for (size_t k = 0; k < j; k++)
            s -= A[j * n + k] * A[j * n + k];
        if (!(s > 0) || !isfinite(s))
            return -1;
        s = sqrt(s);
        A[j * n + j] = s;
        for (size_t i = j + 1; i < n; i++) {
            double t = A[i * n + j];
            for (size_t k = 0; k < j; k++)
                t -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = t / s;
        }
    }
    return 0;
}

/* Solves L L^T x = b in place (b becomes x). */
static void chol_solve(const double *L, size_t n, double *b)
{
    for (size_t i = 0; i < n; i++) {
        double t = b[i];
        for (size_t k = 0; k < i; k++)
            t -= L[i * n + k] * b[k];
        b[i] = t / L[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        double t = b[i];
        for (size_t k = i + 1; k < n; k++)
            t -= L[k * n + i] * b[k];
        b[i] = t / L[i * n + i];
    }
}

/*
 * Symmetric eigen-decomposition by cyclic Jacobi rotations: on return the diagonal of A holds
 * the eigenvalues and the columns of V the eigenvectors. Fine for the few hundred parameters
 * a linear model on dense features has.
 */
static void jacobi_eigen(double *A, double *V, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            V[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (size_t i = 0; i < n; i++) {
            diag += A[i * n + i] * A[i * n + i];
            for (size_t j = i + 1; j < n; j++)
                off += A[i * n + j] * A[i * n + j];
        }
        if (off <= 1e-30 * diag || off == 0)
            break;
        for (size_t p = 0; p < n; p++) {
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q], app, aqq, theta, t, c, s;
                if (apq == 0)
                    continue;
                app = A[p * n + p];
                aqq = A[q * n + q];
                theta = (aqq - app) / (2 * apq);
                t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                c = 1 / sqrt(t * t + 1);
                s = t * c;
                for (size_t k = 0; k < n; k++) {
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq;
                    A[k * n + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < n; k++) {
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk;
                    A[q * n + k] = s * apk + c * aqk;
                }
                for (size_t k = 0; k < n; k++) {
                    double vkp = V[k * n + p], vkq = V[k * n + q];
                    V[k * n + p] = c * vkp - s * vkq;
                    V[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
}

/* ------------------------------------------------------------------ solvers */

static enum gy_status report(const struct gy_linear_config *cfg, int it, int max_iter, double f,
                             int64_t t0)
{
    struct gy_train_eval ev = {"train", "objective", f};
    struct gy_train_progress p = {it, max_iter, -1, (double)(gy_time_mono_ns() - t0) / 1e9, &ev, 1};
    if (!cfg->progress.fn)
        return GY_OK;
    return cfg->progress.fn(cfg->progress.arg, &p);
}

/*
 * Armijo backtracking along @p dir from theta (objective f, gradient g): finds t with
 * f(theta + t dir) <= f + 1e-4 t g.dir, starting at t = @p t0. On success theta_new, f_new,
 * g_new hold the new point and *ok = 1; *ok = 0 when no decrease is found (the iterate is at
 * the limit of double precision).
 */
static enum gy_status line_search(struct problem *pr, const double *theta, double f,
                                  const double *g, const double *dir, double t0, double *theta_new,
                                  double *f_new, double *g_new, int *ok)
{
    double gd = dotd(g, dir, pr->P), t = t0;
    enum gy_status st;

    *ok = 0;
    if (!(gd < 0))
        return GY_OK;
    for (int k = 0; k < 60; k++) {
        for (size_t j = 0; j < pr->P; j++)
            theta_new[j] = theta[j] + t * dir[j];
        if ((st = eval_fg(pr, theta_new, f_new, g_new)))
            return st;
        if (isfinite(*f_new) && *f_new <= f + 1e-4 * t * gd) {
            *ok = 1;
            return GY_OK;
        }
        /* Near the optimum the decrease falls below the rounding noise of a sum over every
         * row; a step that keeps f within that noise and shrinks the gradient is progress. */
        if (isfinite(*f_new) && *f_new - f <= 1e-13 * fabs(f) &&
            max_abs(g_new, pr->P) < max_abs(g, pr->P)) {
            *ok = 1;
            return GY_OK;
        }
        t *= 0.5;
    }
    return GY_OK;
}

struct solve_out {
    int iterations, converged;
    double f, gmax;
};

static enum gy_status solve_newton(struct problem *pr, const struct gy_linear_config *cfg,
                                   int max_iter, double gtol, double *theta, struct solve_out *so)
{
    size_t P = pr->P;
    double *H = NULL, *L = NULL, *g = NULL, *dir = NULL, *tn = NULL, *gn = NULL, f, fn, gmax;
    int64_t t0 = gy_time_mono_ns();
    enum gy_status st;
    int it, ok;

    H = gy_malloc(P * P * sizeof(double));
    L = gy_malloc(P * P * sizeof(double));
    g = gy_malloc(P * sizeof(double));
    dir = gy_malloc(P * sizeof(double));
    tn = gy_malloc(P * sizeof(double));
    gn = gy_malloc(P * sizeof(double));
    pr->pp = (P + 3) & ~(size_t)3;
    pr->hpart = gy_malloc(pr->nblocks * pr->pp * pr->pp * sizeof(double));
    if (!H || !L || !g || !dir || !tn || !gn || !pr->hpart) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for the Newton solver");
        goto out;
    }
    if ((st = eval_fg(pr, theta, &f, g)))
        goto out;
    gmax = pr->gmax;
    for (it = 0; it < max_iter; it++) {
        double mu = 0;
        if (gmax <= gtol)
            break;
        eval_h(pr, theta, H);
        /* Cholesky of H, damped (H + mu I) when H is not numerically positive definite
         * (no penalty and separable or collinear data). */
        {
            double dmax = 0;
            for (size_t j = 0; j < P; j++)
                dmax = fmax(dmax, H[j * P + j]);
            for (int tries = 0; tries < 40; tries++) {
                memcpy(L, H, P * P * sizeof(double));
                for (size_t j = 0; j < P; j++)
                    L[j * P + j] += mu;
                if (cholesky(L, P) == 0)
                    break;
                mu = mu == 0 ? fmax(dmax, 1.0) * 1e-12 : mu * 10;
            }
        }
        for (size_t j = 0; j < P; j++)
            dir[j] = -g[j];
        chol_solve(L, P, dir);
        if ((st = line_search(pr, theta, f, g, dir, 1.0, tn, &fn, gn, &ok)))
            goto out;
        if (!ok)
            break; /* no further decrease representable */
        memcpy(theta, tn, P * sizeof(double));
        memcpy(g, gn, P * sizeof(double));
        f = fn;
        gmax = pr->gmax;
        if ((st = report(cfg, pr->it0 + it, pr->it0 + max_iter, f, t0)))
            goto out;
    }
    so->iterations = it;
    so->converged = gmax <= gtol;
    so->f = f;
    so->gmax = gmax;
    st = GY_OK;
out:
    gy_free(H);
    gy_free(L);
    gy_free(g);
    gy_free(dir);
    gy_free(tn);
    gy_free(gn);
    gy_free(pr->hpart);
    pr->hpart = NULL;
    return st;
}

static enum gy_status solve_lbfgs(struct problem *pr, const struct gy_linear_config *cfg,
                                  int max_iter, double gtol, double *theta, struct solve_out *so)
{
    size_t P = pr->P;
    double *mem = NULL, *S, *Y, *rho, *alpha, *g, *dir, *tn, *gn, f, fn, gmax;
    int64_t t0 = gy_time_mono_ns();
    int it, ok, m = 0, head = 0;
    enum gy_status st;

    mem = gy_malloc((2 * LBFGS_M * P + 2 * LBFGS_M + 4 * P) * sizeof(double));
    if (!mem)
        return gy_error_set(GY_E_NOMEM, "out of memory for the L-BFGS solver");
    S = mem;
    Y = S + LBFGS_M * P;
    rho = Y + LBFGS_M * P;
    alpha = rho + LBFGS_M;
    g = alpha + LBFGS_M;
    dir = g + P;
    tn = dir + P;
    gn = tn + P;
    if ((st = eval_fg(pr, theta, &f, g)))
        goto out;
    gmax = pr->gmax;
    for (it = 0; it < max_iter; it++) {
        double t_init = 1.0;
        if (gmax <= gtol)
            break;
        /* Two-loop recursion: dir = -H g. */
        for (size_t j = 0; j < P; j++)
            dir[j] = -g[j];
        for (int k = 0; k < m; k++) {
            int i = (head - 1 - k + LBFGS_M) % LBFGS_M;
            alpha[i] = rho[i] * dotd(S + (size_t)i * P, dir, P);
            for (size_t j = 0; j < P; j++)
                dir[j] -= alpha[i] * Y[(size_t)i * P + j];
        }
        if (m > 0) {
            int i = (head - 1 + LBFGS_M) % LBFGS_M;
            double gamma = dotd(S + (size_t)i * P, Y + (size_t)i * P, P) /
                           dotd(Y + (size_t)i * P, Y + (size_t)i * P, P);
            for (size_t j = 0; j < P; j++)
                dir[j] *= gamma;
        } else {
            /* First step: unit length in the largest coordinate. */
            t_init = 1.0 / fmax(max_abs(g, P), 1e-300);
            t_init = fmin(t_init, 1.0);
        }
        for (int k = m - 1; k >= 0; k--) {
            int i = (head - 1 - k + LBFGS_M) % LBFGS_M;
            double beta = rho[i] * dotd(Y + (size_t)i * P, dir, P);
            for (size_t j = 0; j < P; j++)
                dir[j] += (alpha[i] - beta) * S[(size_t)i * P + j];
        }
        if ((st = line_search(pr, theta, f, g, dir, t_init, tn, &fn, gn, &ok)))
            goto out;
        if (!ok) {
            if (m == 0)
                break;
            m = 0; /* reset the memory and retry along the gradient */
            continue;
        }
        {
            double *s = S + (size_t)head * P, *y = Y + (size_t)head * P, sy;
            for (size_t j = 0; j < P; j++) {
                s[j] = tn[j] - theta[j];
                y[j] = gn[j] - g[j];
            }
            sy = dotd(s, y, P);
            if (sy > 1e-12 * sqrt(dotd(s, s, P) * dotd(y, y, P))) {
                rho[head] = 1.0 / sy;
                head = (head + 1) % LBFGS_M;
                if (m < LBFGS_M)
                    m++;
            }
        }
        memcpy(theta, tn, P * sizeof(double));
        memcpy(g, gn, P * sizeof(double));
        f = fn;
        gmax = pr->gmax;
        if ((st = report(cfg, pr->it0 + it, pr->it0 + max_iter, f, t0)))
            goto out;
    }
    so->iterations = it;
    so->converged = gmax <= gtol;
    so->f = f;
    so->gmax = gmax;
    if (pr->mu) {
        to_original(pr, theta, tn);
        memcpy(theta, tn, P * sizeof(double));
    }
    st = GY_OK;
out:
    gy_free(mem);
    return st;
}

/* ------------------------------------------------------------------ standardization */

struct stats_ctx {
    const struct problem *pr;
    double *part; /* nblocks x (1 + 2d): sum s, sum s (x - x0), sum s (x - x0)^2 */
};

static void stats_block(void *arg, size_t b)
{
    const struct stats_ctx *c = arg;
    const struct problem *pr = c->pr;
    size_t r0, r1, d = pr->d;
    double *o = c->part + b * (1 + 2 * d), *s1 = o + 1, *s2 = s1 + d;

    block_range(pr, b, &r0, &r1);
    memset(o, 0, (1 + 2 * d) * sizeof(double));
    for (size_t i = r0; i < r1; i++) {
        const float *xi = pr->x + i * d;
        double si = pr->s ? pr->s[i] : 1.0;
        o[0] += si;
        for (size_t j = 0; j < d; j++) {
            double v = (double)xi[j] - (double)pr->x[j]; /* shifted by row 0: less cancellation */
            s1[j] += si * v;
            s2[j] += si * v * v;
        }
    }
}

/*
 * Weighted column means and standard deviations for L-BFGS's change of coordinates (a
 * preconditioner: exact to a few digits is plenty). Constant columns get sigma = 1; without
 * an intercept the columns are only scaled (by their root mean square), not centered.
 */
static enum gy_status standardize(struct problem *pr)
{
    size_t d = pr->d;
    struct stats_ctx c;
    enum gy_status st = GY_OK;
    double S = 0;

    pr->mu = gy_calloc(d, sizeof(double));
    pr->sigma = gy_calloc(d, sizeof(double));
    pr->theta_x = gy_calloc(pr->P, sizeof(double));
    pr->g_x = gy_calloc(pr->P, sizeof(double));
    c.pr = pr;
    c.part = gy_calloc(pr->nblocks * (1 + 2 * d), sizeof(double));
    if (!pr->mu || !pr->sigma || !pr->theta_x || !pr->g_x || !c.part) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for the L-BFGS solver");
        goto out;
    }
    gy__parallel_blocks(pr->pool, pr->nblocks, stats_block, &c);
    for (size_t b = 0; b < pr->nblocks; b++) {
        const double *o = c.part + b * (1 + 2 * d);
        S += o[0];
        for (size_t j = 0; j < d; j++) {
            pr->mu[j] += o[1 + j];
            pr->sigma[j] += o[1 + d + j];
        }
    }
    for (size_t j = 0; j < d; j++) {
        double x0 = pr->x[j], m1 = pr->mu[j] / S, m2 = pr->sigma[j] / S;
        double var = m2 - m1 * m1, mean = x0 + m1;
        if (!pr->fi) {
            var = m2 + 2 * x0 * m1 + x0 * x0; /* mean of x^2 */
            mean = 0;
        }
        pr->mu[j] = mean;
        pr->sigma[j] = var > 0 && isfinite(var) ? sqrt(var) : 1.0;
        if (!(pr->sigma[j] > 1e-150))
            pr->sigma[j] = 1.0;
    }
out:
    gy_free(c.part);
    return st;
}

/* ------------------------------------------------------------------ logistic */

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static enum gy_status check_x(const struct gy_matrix *x)
{
    size_t total = x->rows * x->cols;
    if (!x->x || x->rows == 0 || x->cols == 0)
        return gy_error_set(GY_E_INVALID, "training matrix is empty");
    for (size_t i = 0; i < total; i++)
        if (!isfinite(x->x[i]))
            return gy_error_set(GY_E_INVALID,
                                "row %zu, column %zu is %s: linear models need every value "
                                "(impute missing values first)",
                                i / x->cols, i % x->cols, isnan(x->x[i]) ? "missing" : "infinite");
    return GY_OK;
}

/*
 * Cuts the rows into blocks of at least BLOCK_ROWS_MIN rows, at most MAX_BLOCKS blocks, and
 * few enough that the per-block partial sums (@p per_block doubles each) stay within
 * PARTIALS_MAX doubles. The cut depends only on n and the problem's shape, never on the
 * thread count.
 */
static void setup_blocks(struct problem *pr, size_t per_block)
{
    size_t maxb = PARTIALS_MAX / (per_block ? per_block : 1), br;
    maxb = maxb < 1 ? 1 : maxb > MAX_BLOCKS ? MAX_BLOCKS : maxb;
    br = (pr->n + maxb - 1) / maxb;
    pr->block_rows = br > BLOCK_ROWS_MIN ? br : BLOCK_ROWS_MIN;
    pr->nblocks = (pr->n + pr->block_rows - 1) / pr->block_rows;
}

static enum gy_status train_logistic(const struct gy_linear_config *cfg, const struct gy_matrix *x,
                                     const float *y, const float *w, struct gy_linear_model *out)
{
    struct problem pr;
    size_t n = x->rows, d = x->cols, *count = NULL;
    double *s = NULL, *theta = NULL, cw[GY_LINEAR_MAX_CLASSES];
    double *cwp = NULL;
    int K = cfg->n_classes, max_iter;
    struct solve_out so = {0, 0, 0, 0};
    enum gy_linear_solver solver = cfg->solver;
    const char *name = NULL;
    int newton_ok;
    enum gy_status st = GY_OK;

    memset(&pr, 0, sizeof(pr));
    if (!(cfg->C > 0))
        return gy_error_set(GY_E_INVALID, "C must be > 0, not %g", cfg->C);
    if (!(cfg->tol > 0))
        return gy_error_set(GY_E_INVALID, "tol must be > 0, not %g", cfg->tol);
    if (cfg->max_iter < 0 || cfg->nthread < 0 || K < 0 || K == 1 || K > 1000000)
        return gy_error_set(GY_E_INVALID, "max_iter, nthread and n_classes must be valid");
    if (K == 0) {
        float mx = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i] > mx)
                mx = y[i];
        K = mx >= 1 && mx < 1000000 ? (int)mx + 1 : 2;
    }
    for (size_t i = 0; i < n; i++)
        if (!(y[i] >= 0 && y[i] < (float)K && y[i] == floorf(y[i])))
            return gy_error_set(GY_E_INVALID, "label of row %zu is %g, not a class in 0..%d", i,
                                (double)y[i], K - 1);
    count = gy_calloc((size_t)K, sizeof(size_t));
    if (!count)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        count[(size_t)y[i]]++;
    for (int k = 0; k < K; k++)
        if (count[k] == 0) {
            st = gy_error_set(GY_E_INVALID, "class %d has no training rows", k);
            goto out;
        }
    if (cfg->n_class_weight > 0) {
        if (cfg->n_class_weight != (size_t)K) {
            st = gy_error_set(GY_E_INVALID, "%zu class weights given for %d classes",
                              cfg->n_class_weight, K);
            goto out;
        }
        for (int k = 0; k < K; k++)
            if (!(cfg->class_weight[k] >= 0) || isinf(cfg->class_weight[k])) {
                st = gy_error_set(GY_E_INVALID, "class weight %d is %g", k, cfg->class_weight[k]);
                goto out;
            }
        cwp = (double *)cfg->class_weight;
    } else if (cfg->class_weight_balanced) {
        if (K > GY_LINEAR_MAX_CLASSES) {
            st = gy_error_set(GY_E_INVALID, "balanced class weights support up to %d classes",
                              GY_LINEAR_MAX_CLASSES);
            goto out;
        }
        /* compute_class_weight("balanced"): n / (K * bincount(y)) */
        for (int k = 0; k < K; k++)
            cw[k] = (double)n / ((double)K * (double)count[k]);
        cwp = cw;
    }
    if (w || cwp) {
        s = gy_malloc(n * sizeof(double));
        if (!s) {
            st = gy_error_set(GY_E_NOMEM, "out of memory for row weights");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            s[i] = (w ? (double)w[i] : 1.0) * (cwp ? cwp[(size_t)y[i]] : 1.0);
    }

    pr.x = x->x;
    pr.n = n;
    pr.d = d;
    pr.y = y;
    pr.s = s;
    pr.K = K == 2 ? 1 : (size_t)K;
    pr.fi = cfg->fit_intercept ? 1 : 0;
    pr.P = pr.K * d + (pr.fi ? pr.K : 0);
    pr.inv_c = isinf(cfg->C) ? 0.0 : 1.0 / cfg->C;
    pr.S = 0;
    for (size_t i = 0; i < n; i++)
        pr.S += s ? s[i] : 1.0;
    if (!(pr.S > 0)) {
        st = gy_error_set(GY_E_INVALID, "the row weights sum to zero");
        goto out;
    }
    {
        size_t per_block = GY_MAX(1 + pr.P, 1 + 2 * d), pp = (pr.P + 3) & ~(size_t)3;
        if (pr.K == 1 && pr.P <= NEWTON_MAX_PARAMS)
            per_block = GY_MAX(per_block, pp * pp);
        setup_blocks(&pr, per_block);
    }
    /* AUTO: L-BFGS in standardized coordinates, which needs a dozen cheap passes on
     * well-conditioned data; when that is not enough (strongly correlated features) and the
     * problem is small and binary, Newton's method finishes from where L-BFGS stopped. */
    newton_ok = pr.K == 1 && pr.P <= NEWTON_MAX_PARAMS;
    if (solver == GY_LINEAR_SOLVER_NEWTON && !newton_ok) {
        st = gy_error_set(GY_E_INVALID,
                          "the Newton solver handles binary problems with up to %d parameters",
                          NEWTON_MAX_PARAMS);
        goto out;
    }
    max_iter = cfg->max_iter ? cfg->max_iter : solver == GY_LINEAR_SOLVER_NEWTON ? 100 : 1000;
    pr.part = gy_malloc(pr.nblocks * (1 + pr.P) * sizeof(double));
    theta = gy_calloc(pr.P, sizeof(double));
    if (!pr.part || !theta) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for the solver");
        goto out;
    }
    {
        int nt = cfg->nthread ? cfg->nthread : cpu_count();
        if (nt > 1 && pr.nblocks > 1 &&
            (st = gy_pool_create(GY_MIN(nt, (int)pr.nblocks) - 1, &pr.pool)))
            goto out;
    }
    if (solver == GY_LINEAR_SOLVER_NEWTON) {
        st = solve_newton(&pr, cfg, max_iter, cfg->tol * pr.S, theta, &so);
        name = "newton";
    } else {
        int lbfgs_iter = solver == GY_LINEAR_SOLVER_AUTO && newton_ok
                             ? GY_MIN(max_iter, AUTO_LBFGS_ITER)
                             : max_iter;
        if ((st = standardize(&pr)))
            goto out;
        st = solve_lbfgs(&pr, cfg, lbfgs_iter, cfg->tol * pr.S, theta, &so);
        name = "lbfgs";
        if (st == GY_OK && !so.converged && solver == GY_LINEAR_SOLVER_AUTO && newton_ok) {
            struct solve_out so2 = {0, 0, 0, 0};
            gy_free(pr.mu); /* Newton works in the original coordinates */
            pr.mu = NULL;
            pr.it0 = so.iterations;
            st = solve_newton(&pr, cfg, max_iter, cfg->tol * pr.S, theta, &so2);
            so2.iterations += so.iterations;
            so = so2;
            name = "lbfgs+newton";
        }
    }
    if (st != GY_OK)
        goto out;

    out->kind = GY_LINEAR_LOGISTIC;
    out->n_features = d;
    out->n_outputs = pr.K;
    out->n_classes = K;
    out->coef = gy_malloc(pr.K * d * sizeof(double));
    out->intercept = gy_calloc(pr.K, sizeof(double));
    if (!out->coef || !out->intercept) {
        st = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(out->coef, theta, pr.K * d * sizeof(double));
    if (pr.fi) {
        double mean = 0;
        for (size_t k = 0; k < pr.K; k++)
            mean += theta[pr.K * d + k];
        mean = pr.K > 1 ? mean / (double)pr.K : 0.0;
        for (size_t k = 0; k < pr.K; k++)
            out->intercept[k] = theta[pr.K * d + k] - mean;
    }
    out->solver = name;
    out->iterations = so.iterations;
    out->converged = so.converged;
    out->objective = so.f;
    out->grad_max = so.gmax;
out:
    gy_pool_free(pr.pool);
    gy_free(pr.part);
    gy_free(pr.mu);
    gy_free(pr.sigma);
    gy_free(pr.theta_x);
    gy_free(pr.g_x);
    gy_free(theta);
    gy_free(s);
    gy_free(count);
    return st;
}

/* ------------------------------------------------------------------ ridge */

struct gram_ctx {
    const struct problem *pr;
    const double *mean; /* d + 1: feature means then the label mean */
    double *part;       /* nblocks x (d*d + d): Gram lower triangle and X^T y */
};

static void gram_block(void *arg, size_t b)
{
    const struct gram_ctx *c = arg;
    const struct problem *pr = c->pr;
    size_t r0, r1, d = pr->d;
    double *G = c->part + b * (d * d + d), *r = G + d * d;
    double xr[1024], *xc = xr;

    block_range(pr, b, &r0, &r1);
    memset(G, 0, (d * d + d) * sizeof(double));
    if (d > 1024) {
        xc = gy_malloc(d * sizeof(double));
        if (!xc) {
            G[0] = NAN;
            return;
        }
    }
    for (size_t i = r0; i < r1; i++) {
        const float *xi = pr->x + i * d;
        double si = pr->s ? pr->s[i] : 1.0;
        double yc = (double)pr->y[i] - c->mean[d];
        for (size_t j = 0; j < d; j++)
            xc[j] = (double)xi[j] - c->mean[j];
        for (size_t j = 0; j < d; j++) {
            double a = si * xc[j];
            double *gj = G + j * d;
            for (size_t k = 0; k <= j; k++)
                gj[k] += a * xc[k];
            r[j] += a * yc;
        }
    }
    if (xc != xr)
        gy_free(xc);
}

static enum gy_status train_ridge(const struct gy_linear_config *cfg, const struct gy_matrix *x,
                                  const float *y, const float *w, struct gy_linear_model *out)
{
    struct problem pr;
    struct gram_ctx gc;
    size_t n = x->rows, d = x->cols;
    double *mean = NULL, *G = NULL, *L = NULL, *rhs = NULL, *V = NULL, *coef = NULL;
    const char *solver = "cholesky";
    enum gy_status st = GY_OK;

    memset(&pr, 0, sizeof(pr));
    memset(&gc, 0, sizeof(gc));
    if (!(cfg->alpha >= 0) || isinf(cfg->alpha))
        return gy_error_set(GY_E_INVALID, "alpha must be finite and >= 0, not %g", cfg->alpha);
    if (d > 4096)
        return gy_error_set(GY_E_INVALID,
                            "linear regression supports up to 4096 features, "
                            "not %zu",
                            d);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return gy_error_set(GY_E_INVALID, "label of row %zu is not a finite number", i);
    pr.x = x->x;
    pr.n = n;
    pr.d = d;
    pr.y = y;
    setup_blocks(&pr, d * d + d);
    mean = gy_calloc(d + 1, sizeof(double));
    G = gy_calloc(d * d, sizeof(double));
    L = gy_malloc(d * d * sizeof(double));
    rhs = gy_calloc(d, sizeof(double));
    coef = gy_calloc(d, sizeof(double));
    gc.part = gy_malloc(pr.nblocks * (d * d + d) * sizeof(double));
    if (!mean || !G || !L || !rhs || !coef || !gc.part) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for linear regression");
        goto out;
    }
    if (w) {
        double *s = gy_malloc(n * sizeof(double));
        if (!s) {
            st = gy_error_set(GY_E_NOMEM, "out of memory for row weights");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            s[i] = w[i];
        pr.s = s;
    }
    for (size_t i = 0; i < n; i++)
        pr.S += pr.s ? pr.s[i] : 1.0;
    if (!(pr.S > 0)) {
        st = gy_error_set(GY_E_INVALID, "the row weights sum to zero");
        goto out;
    }
    if (cfg->fit_intercept) {
        /* Weighted means (np.average with the sample weights), summed in row order. */
        for (size_t i = 0; i < n; i++) {
            double si = pr.s ? pr.s[i] : 1.0;
            const float *xi = x->x + i * d;
            for (size_t j = 0; j < d; j++)
                mean[j] += si * (double)xi[j];
            mean[d] += si * (double)y[i];
        }
        for (size_t j = 0; j <= d; j++)
            mean[j] /= pr.S;
    }
    {
        int nt = cfg->nthread ? cfg->nthread : cpu_count();
        if (nt > 1 && pr.nblocks > 1 &&
            (st = gy_pool_create(GY_MIN(nt, (int)pr.nblocks) - 1, &pr.pool)))
            goto out;
    }
    gc.pr = &pr;
    gc.mean = mean;
    gy__parallel_blocks(pr.pool, pr.nblocks, gram_block, &gc);
    for (size_t b = 0; b < pr.nblocks; b++) {
        const double *Gb = gc.part + b * (d * d + d);
        if (isnan(Gb[0])) {
            st = gy_error_set(GY_E_NOMEM, "out of memory in linear regression");
            goto out;
        }
        for (size_t j = 0; j < d; j++) {
            for (size_t k = 0; k <= j; k++)
                G[j * d + k] += Gb[j * d + k];
            rhs[j] += Gb[d * d + j];
        }
    }
    for (size_t j = 0; j < d; j++) {
        G[j * d + j] += cfg->alpha;
        for (size_t k = 0; k < j; k++)
            G[k * d + j] = G[j * d + k];
    }
    memcpy(L, G, d * d * sizeof(double));
    memcpy(coef, rhs, d * sizeof(double));
    if (cholesky(L, d) == 0) {
        chol_solve(L, d, coef);
    } else {
        /* Singular: the minimum-norm least-squares solution, V diag(1/lambda) V^T rhs over
         * eigenvalues above a relative cutoff (as an SVD-based lstsq does). */
        double lmax = 0, cut;
        V = gy_malloc(d * d * sizeof(double));
        if (!V) {
            st = gy_error_set(GY_E_NOMEM, "out of memory for linear regression");
            goto out;
        }
        memcpy(L, G, d * d * sizeof(double));
        jacobi_eigen(L, V, d);
        for (size_t j = 0; j < d; j++)
            lmax = fmax(lmax, fabs(L[j * d + j]));
        cut = lmax * (double)(n > d ? n : d) * DBL_EPSILON;
        memset(coef, 0, d * sizeof(double));
        for (size_t k = 0; k < d; k++) {
            double lam = L[k * d + k], proj = 0;
            if (!(lam > cut))
                continue;
            for (size_t j = 0; j < d; j++)
                proj += V[j * d + k] * rhs[j];
            for (size_t j = 0; j < d; j++)
                coef[j] += V[j * d + k] * proj / lam;
        }
        solver = "eigen";
    }

    out->kind = GY_LINEAR_REGRESSION;
    out->n_features = d;
    out->n_outputs = 1;
    out->n_classes = 0;
    out->coef = coef;
    coef = NULL;
    out->intercept = gy_calloc(1, sizeof(double));
    if (!out->intercept) {
        st = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if (cfg->fit_intercept)
        out->intercept[0] = mean[d] - dotd(mean, out->coef, d);
    out->solver = solver;
    out->iterations = 1;
    out->converged = 1;
    {
        /* Objective and gradient at the solution, from the centered normal equations:
         * grad_w = 2 (G w - rhs), objective = sum s (yc - xc.w)^2 + alpha ||w||^2, computed
         * by a residual pass for accuracy. */
        double obj = 0, pen = 0, gmax = 0;
        for (size_t j = 0; j < d; j++) {
            double gj = 2 * (dotd(G + j * d, out->coef, d) - rhs[j]);
            gmax = fmax(gmax, fabs(gj));
            pen += out->coef[j] * out->coef[j];
        }
        for (size_t i = 0; i < n; i++) {
            double si = pr.s ? pr.s[i] : 1.0;
            double r = (double)y[i] - gy__lin_dot(x->x + i * d, out->coef, d) - out->intercept[0];
            obj += si * r * r;
        }
        out->objective = obj + cfg->alpha * pen;
        out->grad_max = gmax;
    }
out:
    gy_pool_free(pr.pool);
    gy_free((void *)pr.s);
    gy_free(gc.part);
    gy_free(mean);
    gy_free(G);
    gy_free(L);
    gy_free(rhs);
    gy_free(V);
    gy_free(coef);
    return st;
}

/* ------------------------------------------------------------------ entry points */

enum gy_status gy_train_linear(const struct gy_linear_config *cfg, const struct gy_matrix *x,
                               const float *y, const float *w, struct gy_linear_model *out)
{
    enum gy_status st;

    memset(out, 0, sizeof(*out));
    if (!x || !y)
        return gy_error_set(GY_E_INVALID, "no training data");
    if ((st = check_x(x)) || (st = gy__check_weights(w, x->rows, "training weights")))
        return st;
    if (cfg->kind == GY_LINEAR_LOGISTIC)
        st = train_logistic(cfg, x, y, w, out);
    else if (cfg->kind == GY_LINEAR_REGRESSION)
        st = train_ridge(cfg, x, y, w, out);
    else
        st = gy_error_set(GY_E_INVALID, "unknown linear model kind %d", (int)cfg->kind);
    if (st != GY_OK)
        gy_linear_model_free(out);
    return st;
}

enum gy_status gy_linear_predict(const struct gy_linear_model *m, const struct gy_matrix *x,
                                 double *out)
{
    size_t d = m->n_features, K = m->n_outputs;

    if (x->cols != d)
        return gy_error_set(GY_E_INVALID, "matrix has %zu columns, the model %zu features", x->cols,
                            d);
    for (size_t i = 0; i < x->rows; i++) {
        const float *xi = x->x + i * d;
        if (m->kind == GY_LINEAR_REGRESSION) {
            out[i] = gy__lin_dot(xi, m->coef, d) + m->intercept[0];
        } else if (K == 1) {
            double z = gy__lin_dot(xi, m->coef, d) + m->intercept[0];
            out[i] = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
        } else {
            double *o = out + i * K, zmax = -INFINITY, sum = 0;
            for (size_t k = 0; k < K; k++) {
                o[k] = gy__lin_dot(xi, m->coef + k * d, d) + m->intercept[k];
                if (o[k] > zmax)
                    zmax = o[k];
            }
            for (size_t k = 0; k < K; k++) {
                o[k] = exp(o[k] - zmax);
                sum += o[k];
            }
            for (size_t k = 0; k < K; k++)
                o[k] /= sum;
        }
    }
    return GY_OK;
}
