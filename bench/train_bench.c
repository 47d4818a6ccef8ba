/* SPDX-License-Identifier: MIT */
/*
 * train_bench.c - times gyre's trainers on the training benchmark's data set (1M x 28
 * synthetic binary rows written by bench/make_synth.py): gy_train_xgboost with the
 * parameters of ../shared/bench/peers/06_train.py (binary:logistic, hist, 100 rounds,
 * max_depth 6, eta 0.3, nthread 2, seed 0) and gy_train_linear (logistic, C = 1, as
 * scikit-learn's LogisticRegression defaults). Prints one JSON object per measurement on
 * stdout; bench/train_peer.py runs it next to XGBoost's Python package and scikit-learn and
 * prints the ratios.
 *
 * Build: `make build/bench/train_bench` (the Makefile builds each C file in bench/ against
 * build/libgyre.a).
 * Usage: build/bench/train_bench DATADIR [xgboost|logistic|all] [key=value ...]
 *   logistic keys go to gy_linear_config_set (solver=lbfgs, nthread=1, ...);
 *   xgboost keys are added to the XGBoost parameters (rounds=N sets the rounds).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "train/train.h"

struct data {
    struct gy_matrix xtr, xte;
    float *ytr, *yte;
};

static int read_f32(const char *dir, const char *name, size_t count, float *dst)
{
    char path[4096];
    FILE *f;
    size_t got;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "train_bench: cannot open %s (run bench/make_synth.py %s)\n", path, dir);
        return -1;
    }
    got = fread(dst, sizeof(float), count, f);
    fclose(f);
    if (got != count) {
        fprintf(stderr, "train_bench: %s has %zu values, expected %zu\n", path, got, count);
        return -1;
    }
    return 0;
}

static int load(const char *dir, struct data *d)
{
    char path[4096];
    struct gy_buf b;
    json_t *meta = NULL;
    size_t ntr, nte, cols;
    int rc = -1;

    memset(d, 0, sizeof(*d));
    gy_buf_init(&b, 1 << 16);
    snprintf(path, sizeof(path), "%s/meta.json", dir);
    if (gy_file_read(path, &b) != GY_OK || gy_json_parse(b.data, b.len, 8, path, &meta) != GY_OK) {
        fprintf(stderr, "train_bench: %s: %s (run bench/make_synth.py %s)\n", path, gy_error_msg(),
                dir);
        goto out;
    }
    ntr = (size_t)gy_json_int(meta, "train_rows", 0);
    nte = (size_t)gy_json_int(meta, "test_rows", 0);
    cols = (size_t)gy_json_int(meta, "features", 0);
    if (!ntr || !nte || !cols)
        goto out;
    if (gy_train_matrix_create(ntr, cols, &d->xtr) || gy_train_matrix_create(nte, cols, &d->xte))
        goto out;
    d->ytr = gy_malloc(ntr * sizeof(float));
    d->yte = gy_malloc(nte * sizeof(float));
    if (!d->ytr || !d->yte)
        goto out;
    if (read_f32(dir, "train_X.f32", ntr * cols, d->xtr.x) ||
        read_f32(dir, "train_y.f32", ntr, d->ytr) ||
        read_f32(dir, "test_X.f32", nte * cols, d->xte.x) ||
        read_f32(dir, "test_y.f32", nte, d->yte))
        goto out;
    rc = 0;
out:
    if (meta)
        json_decref(meta);
    gy_buf_free(&b);
    return rc;
}

static double now_s(void)
{
    return (double)gy_time_mono_ns() / 1e9;
}

/* AUC and log loss of float probabilities against float labels. */
static int score(const float *y, const double *p, size_t n, double *auc, double *logloss)
{
    struct gy_metrics m;
    if (gy_metrics_compute(GY_TRAIN_BINARY, 2, y, p, NULL, n, &m) != GY_OK)
        return -1;
    *auc = m.auc;
    *logloss = m.logloss;
    gy_metrics_free(&m);
    return 0;
}

static int bench_xgboost(struct data *d, int argc, char **argv)
{
    struct gy_train_param params[64];
    size_t np = 0;
    struct gy_xgb_config cfg;
    struct gy_xgb_result res;
    double t0, t, auc, ll, *p;
    enum gy_status st;

    memset(&cfg, 0, sizeof(cfg));
    cfg.objective = "binary:logistic";
    cfg.nthread = 2;
    cfg.rounds = 100;
    cfg.skip_train_eval = 1;
    cfg.skip_pred_train = 1;
    params[np++] = (struct gy_train_param){"tree_method", "hist"};
    params[np++] = (struct gy_train_param){"max_depth", "6"};
    params[np++] = (struct gy_train_param){"eta", "0.3"};
    params[np++] = (struct gy_train_param){"seed", "0"};
    for (int i = 0; i < argc && np < 60; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (strcmp(argv[i], "rounds") == 0) {
            int64_t r;
            if (gy_parse_int64(eq + 1, &r) != GY_OK || r < 1 || r > 100000) {
                fprintf(stderr, "train_bench: bad rounds '%s'\n", eq + 1);
                return -1;
            }
            cfg.rounds = (int)r;
        } else
            params[np++] = (struct gy_train_param){argv[i], eq + 1};
    }
    cfg.params = params;
    cfg.n_params = np;
    t0 = now_s();
    st = gy_train_xgboost(&cfg, &d->xtr, d->ytr, NULL, &d->xte, d->yte, NULL, &res);
    t = now_s() - t0;
    if (st != GY_OK) {
        fprintf(stderr, "train_bench: xgboost: %s\n", gy_error_msg());
        return -1;
    }
    if (gy_train_f32_to_f64(res.pred_valid, d->xte.rows, &p) != GY_OK ||
        score(d->yte, p, d->xte.rows, &auc, &ll)) {
        fprintf(stderr, "train_bench: scoring: %s\n", gy_error_msg());
        return -1;
    }
    gy_free(p);
    printf("{\"bench\": \"xgboost\", \"xgboost\": \"%s\", \"rounds\": %d, \"wall_s\": %.4f, "
           "\"dmatrix_s\": %.4f, \"boost_s\": %.4f, \"test_auc\": %.10f, "
           "\"test_logloss\": %.10f, \"model_json_bytes\": %zu}\n",
           gy_train_xgboost_version(), res.rounds_run, t, res.dmatrix_s, res.boost_s, auc, ll,
           res.model_json_len);
    gy_xgb_result_free(&res);
    return 0;
}

static int bench_logistic(struct data *d, int argc, char **argv)
{
    struct gy_linear_config cfg;
    struct gy_linear_model m;
    double t0, t, auc_te, ll_te, auc_tr, ll_tr, *p;
    int nthread = 2;

    gy_linear_config_init(&cfg, GY_LINEAR_LOGISTIC);
    cfg.nthread = 2;
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (gy_linear_config_set(&cfg, argv[i], eq + 1) != GY_OK) {
            fprintf(stderr, "train_bench: %s\n", gy_error_msg());
            return -1;
        }
        nthread = cfg.nthread;
    }
    t0 = now_s();
    if (gy_train_linear(&cfg, &d->xtr, d->ytr, NULL, &m) != GY_OK) {
        fprintf(stderr, "train_bench: logistic: %s\n", gy_error_msg());
        return -1;
    }
    t = now_s() - t0;
    p = gy_malloc(d->xtr.rows * sizeof(double));
    if (!p || gy_linear_predict(&m, &d->xtr, p) || score(d->ytr, p, d->xtr.rows, &auc_tr, &ll_tr) ||
        gy_linear_predict(&m, &d->xte, p) || score(d->yte, p, d->xte.rows, &auc_te, &ll_te)) {
        fprintf(stderr, "train_bench: scoring: %s\n", gy_error_msg());
        return -1;
    }
    gy_free(p);
    printf("{\"bench\": \"logistic\", \"solver\": \"%s\", \"nthread\": %d, \"wall_s\": %.4f, "
           "\"iterations\": %d, \"converged\": %d, \"objective\": %.12f, \"grad_max\": %.3g, "
           "\"train_logloss\": %.16f, \"test_logloss\": %.16f, \"test_auc\": %.10f}\n",
           m.solver, nthread, t, m.iterations, m.converged, m.objective, m.grad_max, ll_tr, ll_te,
           auc_te);
    gy_linear_model_free(&m);
    return 0;
}

int main(int argc, char **argv)
{
    struct data d;
    const char *what = argc > 2 ? argv[2] : "all";
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DATADIR [xgboost|logistic|all] [key=value ...]\n", argv[0]);
        return 2;
    }
    if (load(argv[1], &d))
        return 1;
    if (!strcmp(what, "logistic") || !strcmp(what, "all"))
        rc |= bench_logistic(&d, argc - 3, argv + 3);
    if (!strcmp(what, "xgboost") || !strcmp(what, "all"))
        rc |= bench_xgboost(&d, argc - 3, argv + 3);
    gy_train_matrix_free(&d.xtr);
    gy_train_matrix_free(&d.xte);
    gy_free(d.ytr);
    gy_free(d.yte);
    return rc ? 1 : 0;
}
