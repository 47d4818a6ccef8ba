/* SPDX-License-Identifier: MIT */
/*
 * xgboost.c - the XGBoost trainer, through XGBoost 1.7's C API. This is the only file in
 * gyre that includes <xgboost/c_api.h>: XGBoost's return codes and messages are translated
 * to gy_status and gy_error_set here and nowhere else.
 *
 * One call builds the DMatrix objects (XGDMatrixCreateFromMat_omp, NaN = missing), creates a
 * booster, applies parameters (with validate_parameters on, so that XGBoost reports
 * parameters it does not use), runs XGBoosterUpdateOneIter round by round, evaluates each
 * round when someone is listening (a progress callback or early stopping), implements early
 * stopping exactly as XGBoost's Python EarlyStopping callback (which 1.7's C API lacks),
 * slices the booster to the best round, and returns the model as JSON plus predictions.
 * XGBoost's log lines are routed through one process-wide callback: during a training call
 * they are collected for that call (thread-local), otherwise they go to gy_log.
 */
#include "train/train_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xgboost/c_api.h>

/* ------------------------------------------------------------------ errors and logs */

/*
 * Copies XGBoost's message without its noise: the "[hh:mm:ss] file:line: " prefix, the
 * "Stack trace:" block and the surrounding blank lines; inner newlines become "; ".
 */
static void clean_message(const char *msg, char *out, size_t cap)
{
    const char *p = msg ? msg : "", *end;
    size_t o = 0;

    if (*p == '[') { /* "[18:58:28] " */
        const char *rb = strchr(p, ']');
        if (rb && rb - p <= 12)
            p = rb + 1;
    }
    while (*p == ' ')
        p++;
    if (strncmp(p, "WARNING: ", 9) == 0)
        p += 9;
    {
        /* "./src/objective/objective.cc:26: " */
        const char *sp = strstr(p, ": ");
        const char *dot = strstr(p, ".cc:");
        if (!dot)
            dot = strstr(p, ".cu:");
        if (!dot)
            dot = strstr(p, ".h:");
        if (dot && sp && dot < sp && !memchr(p, ' ', (size_t)(dot - p)))
            p = sp + 2;
    }
    end = strstr(p, "Stack trace:");
    if (!end)
        end = p + strlen(p);
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\t'))
        end--;
    for (; p < end && o + 4 < cap; p++) {
        if (*p == '\n') {
            while (p + 1 < end && (p[1] == '\n' || p[1] == ' '))
                p++;
            out[o++] = ';';
            out[o++] = ' ';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/*
 * Copies @p msg into @p out folding XGBoost's list lines ("...; Objective candidate: a;
 * Objective candidate: b") into "... (candidates: a, b)".
 */
static void fold_candidates(const char *msg, char *out, size_t cap)
{
    const char *hit = strstr(msg, " candidate: "), *first = hit, *r;
    size_t o;
    int n = 0;

    while (first && first > msg && !(first[0] == ';' && first[1] == ' '))
        first--;
    if (!hit || first == msg) {
        snprintf(out, cap, "%s", msg);
        return;
    }
    o = (size_t)(first - msg) < cap - 1 ? (size_t)(first - msg) : cap - 1;
    memcpy(out, msg, o);
    for (r = first; (hit = strstr(r, " candidate: ")) != NULL;) {
        const char *c = hit + strlen(" candidate: "), *next = strstr(c, "; ");
        if (!next)
            next = c + strlen(c);
        o += (size_t)snprintf(out + o, cap - o, "%s%.*s",
                              n++ ? ", " : " (candidates: ", (int)(next - c), c);
        if (o >= cap - 2 || !*next)
            break;
        r = next;
    }
    if (o < cap - 2)
        snprintf(out + o, cap - o, ")");
}

/* Records XGBoost's last error for the calling thread and returns GY_E_INVALID. */
static enum gy_status xgb_error(const char *what)
{
    char msg[1024], folded[1024];
    clean_message(XGBGetLastError(), msg, sizeof(msg));
    fold_candidates(msg, folded, sizeof(folded));
    return gy_error_set(GY_E_INVALID, "XGBoost %s: %s", what, folded);
}

/* Warnings collected for the training call running on this thread, or NULL. */
static _Thread_local struct gy_buf *tl_warnings;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void xgb_log(const char *msg)
{
    char clean[1024];
    clean_message(msg, clean, sizeof(clean));
    if (!clean[0])
        return;
    if (tl_warnings) {
        gy_buf_puts(tl_warnings, clean);
        gy_buf_putc(tl_warnings, '\n');
    } else {
        gy_log(GY_LOG_WARN, "xgboost: %s", clean);
    }
}

static void register_log(void)
{
    XGBRegisterLogCallback(xgb_log);
}

static char xgb_version[32];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void init_version(void)
{
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    snprintf(xgb_version, sizeof(xgb_version), "%d.%d.%d", major, minor, patch);
}

const char *gy_train_xgboost_version(void)
{
    pthread_once(&version_once, init_version);
    return xgb_version;
}

/* ------------------------------------------------------------------ evaluation strings */

/*
 * Parses an EvalOneIter line, "[3]\ttrain-logloss:0.5\tvalid-logloss:0.6", in place: each
 * "set-metric:value" token becomes one entry (set before the first '-', metric up to the
 * last ':'), as XGBoost's Python callback splits it. Returns the entry count (up to cap).
 */
static size_t parse_evals(char *line, struct gy_train_eval *ev, size_t cap)
{
    size_t n = 0;
    char *save = NULL, *tok;

    for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        char *dash, *colon, *end;
        if (tok[0] == '[')
            continue;
        dash = strchr(tok, '-');
        colon = strrchr(tok, ':');
        if (!dash || !colon || colon < dash || n >= cap)
            continue;
        *dash = '\0';
        *colon = '\0';
        ev[n].set = tok;
        ev[n].metric = dash + 1;
        ev[n].value = strtod(colon + 1, &end);
        if (end == colon + 1)
            ev[n].value = NAN;
        n++;
    }
    return n;
}

#define MAX_EVALS 64

/* Direction of an early-stopping metric, as xgboost.callback.EarlyStopping decides it. */
static int metric_maximize(const char *metric)
{
    static const char *const up[] = {"auc",  "aucpr",  "map",  "ndcg",
                                     "auc@", "aucpr@", "map@", "ndcg@"};
    if (strcmp(metric, "mape") == 0)
        return 0;
    for (size_t i = 0; i < GY_ARRAY_LEN(up); i++)
        if (strncmp(metric, up[i], strlen(up[i])) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ training */

void gy_xgb_result_free(struct gy_xgb_result *r)
{
    if (!r)
        return;
    gy_free(r->model_json);
    gy_free(r->config_json);
    gy_free(r->evals);
    gy_free(r->evals_text);
    gy_free(r->stop_metric);
    gy_free(r->pred_train);
    gy_free(r->pred_valid);
    gy_free(r->warnings);
    memset(r, 0, sizeof(*r));
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static enum gy_status set_param(BoosterHandle b, const char *k, const char *v)
{
    if (XGBoosterSetParam(b, k, v) != 0)
        return gy_error_wrap(xgb_error("parameter"), "%s=%s", k, v);
    return GY_OK;
}

static enum gy_status make_dmatrix(const struct gy_matrix *m, const float *y, const float *w,
                                   int nthread, const char *what, DMatrixHandle *out)
{
    enum gy_status st;

    *out = NULL;
    if (!m || !m->x || m->rows == 0 || m->cols == 0)
        return gy_error_set(GY_E_INVALID, "%s set is empty", what);
    if (!y)
        return gy_error_set(GY_E_INVALID, "%s set has no labels", what);
    for (size_t i = 0; i < m->rows; i++)
        if (!isfinite(y[i]))
            return gy_error_set(GY_E_INVALID, "%s set: label of row %zu is not a finite number",
                                what, i);
    st = gy__check_weights(w, m->rows, what);
    if (st != GY_OK)
        return st;
    if (XGDMatrixCreateFromMat_omp(m->x, (bst_ulong)m->rows, (bst_ulong)m->cols, NAN, out,
                                   nthread) != 0) {
        *out = NULL;
        return xgb_error("DMatrix");
    }
    if (XGDMatrixSetFloatInfo(*out, "label", y, (bst_ulong)m->rows) != 0)
        return xgb_error("labels");
    if (w && XGDMatrixSetFloatInfo(*out, "weight", w, (bst_ulong)m->rows) != 0)
        return xgb_error("weights");
    return GY_OK;
}

/* Predicts transformed outputs of @p b on @p d into a new float array; sets *cols. */
static enum gy_status predict(BoosterHandle b, DMatrixHandle d, size_t rows, float **out,
                              size_t *cols)
{
    static const char cfg[] = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                              "\"iteration_end\": 0, \"strict_shape\": true}";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    size_t total = 1;

    *out = NULL;
    if (XGBoosterPredictFromDMatrix(b, d, cfg, &shape, &dim, &res) != 0)
        return xgb_error("predict");
    for (bst_ulong i = 0; i < dim; i++)
        total *= (size_t)shape[i];
    if (dim < 1 || (size_t)shape[0] != rows || total % rows != 0)
        return gy_error_set(GY_E_INTERNAL, "XGBoost returned predictions of an unexpected shape");
    *out = gy_malloc(total * sizeof(float));
    if (!*out)
        return gy_error_set(GY_E_NOMEM, "out of memory for %zu predictions", total);
    memcpy(*out, res, total * sizeof(float));
    *cols = total / rows;
    return GY_OK;
}

/* Copies an XGBoost-owned buffer into a new NUL-terminated string. */
static enum gy_status copy_text(const char *p, bst_ulong len, char **out, size_t *out_len)
{
    *out = gy_malloc((size_t)len + 1);
    if (!*out)
        return gy_error_set(GY_E_NOMEM, "out of memory for a %zu-byte model", (size_t)len);
    memcpy(*out, p, (size_t)len);
    (*out)[len] = '\0';
    *out_len = (size_t)len;
    return GY_OK;
}

/* Keeps a copy of the line that holds the kept round's evaluations. */
static enum gy_status keep_line(char **kept, const char *line)
{
    char *c = gy_strdup(line);
    if (!c)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    gy_free(*kept);
    *kept = c;
    return GY_OK;
}

enum gy_status gy_train_xgboost(const struct gy_xgb_config *cfg, const struct gy_matrix *train,
                                const float *y_train, const float *w_train,
                                const struct gy_matrix *valid, const float *y_valid,
                                const float *w_valid, struct gy_xgb_result *out)
{
    DMatrixHandle dm[2] = {NULL, NULL};
    BoosterHandle bst = NULL, sliced = NULL, final;
    const char *names[2];
    DMatrixHandle eval_dm[2];
    bst_ulong n_eval = 0;
    struct gy_buf warn, line;
    struct gy_train_eval ev[MAX_EVALS];
    char num[32], *kept_line = NULL;
    int rounds = cfg->rounds ? cfg->rounds : 100;
    int nthread = cfg->nthread > 0 ? cfg->nthread : default_threads();
    int esr = cfg->early_stopping_rounds;
    int evaluate = cfg->progress.fn != NULL || esr > 0;
    int best = -1, since_best = 0, maximize = cfg->maximize;
    double best_score = NAN;
    int64_t t0 = gy_time_mono_ns(), t_boost = t0;
    enum gy_status st = GY_OK;

    memset(out, 0, sizeof(*out));
    out->best_score = NAN;
    gy_buf_init(&warn, 1 << 16);
    gy_buf_init(&line, 1 << 20);
    pthread_once(&log_once, register_log);

    if (rounds < 1 || rounds > 100000) {
        st = gy_error_set(GY_E_INVALID, "rounds %d is not in 1..100000", rounds);
        goto out;
    }
    if (esr < 0 || (esr > 0 && !valid)) {
        st = gy_error_set(GY_E_INVALID,
                          esr < 0 ? "early_stopping_rounds %d is negative"
                                  : "early stopping (%d rounds) needs a "
                                    "validation set",
                          esr);
        goto out;
    }
    if (cfg->num_class < 0 || cfg->num_class == 1 || cfg->num_class > 100000) {
        st = gy_error_set(GY_E_INVALID, "num_class %d is not 0 or 2..100000", cfg->num_class);
        goto out;
    }
    if (cfg->nthread < 0 || nthread > 1024) {
        st = gy_error_set(GY_E_INVALID, "nthread %d is not in 0..1024", cfg->nthread);
        goto out;
    }
    for (size_t i = 0; i < cfg->n_params; i++)
        if ((st = gy_train_param_check(cfg->params[i].key, cfg->params[i].value)) != GY_OK)
            goto out;
    if (valid && (!train || valid->cols != train->cols)) {
        st = gy_error_set(GY_E_INVALID, "validation set has %zu columns, training set %zu",
                          valid->cols, train ? train->cols : 0);
        goto out;
    }

    tl_warnings = &warn;
    if ((st = make_dmatrix(train, y_train, w_train, nthread, "training", &dm[0])))
        goto out;
    if (valid && (st = make_dmatrix(valid, y_valid, w_valid, nthread, "validation", &dm[1])))
        goto out;
    out->dmatrix_s = (double)(gy_time_mono_ns() - t0) / 1e9;
    t_boost = gy_time_mono_ns();
    if (XGBoosterCreate(dm, valid ? 2 : 1, &bst) != 0) {
        bst = NULL;
        st = xgb_error("booster");
        goto out;
    }
    snprintf(num, sizeof(num), "%d", nthread);
    if ((st = set_param(bst, "verbosity", "1")) ||
        (st = set_param(bst, "validate_parameters", "1")) || (st = set_param(bst, "nthread", num)))
        goto out;
    if (cfg->objective && (st = set_param(bst, "objective", cfg->objective)))
        goto out;
    if (cfg->num_class > 0) {
        snprintf(num, sizeof(num), "%d", cfg->num_class);
        if ((st = set_param(bst, "num_class", num)))
            goto out;
    }
    for (size_t i = 0; i < cfg->n_params; i++)
        if ((st = set_param(bst, cfg->params[i].key, cfg->params[i].value)))
            goto out;

    /* Evaluation sets: the training set (unless skipped) and the validation set. */
    if (!cfg->skip_train_eval) {
        eval_dm[n_eval] = dm[0];
        names[n_eval++] = "train";
    }
    if (valid) {
        eval_dm[n_eval] = dm[1];
        names[n_eval++] = "valid";
    }

    for (int it = 0; it < rounds; it++) {
        const char *msg = NULL;
        size_t ne = 0;
        struct gy_train_progress pr;

        if (XGBoosterUpdateOneIter(bst, it, dm[0]) != 0) {
            st = xgb_error("training");
            goto out;
        }
        out->rounds_run = it + 1;
        if (it == 0 && warn.len && strstr(warn.data, "are not used")) {
            /* validate_parameters: a parameter XGBoost ignored is almost always a typo. */
            const char *hit = strstr(warn.data, " are not used"), *b = hit;
            while (b > warn.data && b[-1] != '\n')
                b--;
            if (strncmp(b, "Parameters: ", 12) == 0)
                b += 12;
            st = gy_error_set(GY_E_INVALID,
                              "XGBoost does not use the parameters %.*s (misspelt, or not for "
                              "this booster or objective)",
                              (int)(hit - b), b);
            goto out;
        }
        if (evaluate && n_eval > 0) {
            if (XGBoosterEvalOneIter(bst, it, eval_dm, names, n_eval, &msg) != 0) {
                st = xgb_error("evaluation");
                goto out;
            }
            gy_buf_reset(&line);
            if ((st = gy_buf_puts(&line, msg)))
                goto out;
            /* parse_evals writes into line.data; keep an untouched copy when needed. */
            if (esr == 0 && (st = keep_line(&kept_line, msg)))
                goto out;
            ne = parse_evals(line.data, ev, MAX_EVALS);
        }
        if (esr > 0) {
            const struct gy_train_eval *sv = NULL;
            for (size_t j = 0; j < ne; j++)
                if (strcmp(ev[j].set, "valid") == 0)
                    sv = &ev[j]; /* the last validation metric decides */
            if (!sv) {
                st = gy_error_set(GY_E_INTERNAL, "XGBoost reported no validation metric");
                goto out;
            }
            if (best < 0) {
                if (maximize == 0)
                    maximize = metric_maximize(sv->metric) ? 1 : -1;
                gy_free(out->stop_metric);
                if (!(out->stop_metric = gy_strdup(sv->metric))) {
                    st = gy_error_set(GY_E_NOMEM, "out of memory");
                    goto out;
                }
            }
            if (best < 0 || (maximize > 0 ? sv->value > best_score : best_score > sv->value)) {
                best = it;
                best_score = sv->value;
                since_best = 0;
                if ((st = keep_line(&kept_line, msg)))
                    goto out;
            } else {
                since_best++;
            }
        }
        if (cfg->progress.fn) {
            pr.iteration = it;
            pr.rounds = rounds;
            pr.best_iteration = esr > 0 ? best : -1;
            pr.elapsed_s = (double)(gy_time_mono_ns() - t0) / 1e9;
            pr.evals = ev;
            pr.n_evals = ne;
            st = cfg->progress.fn(cfg->progress.arg, &pr);
            if (st != GY_OK)
                goto out;
        }
        if (esr > 0 && since_best >= esr)
            break;
    }
    out->boost_s = (double)(gy_time_mono_ns() - t_boost) / 1e9;
    if (esr == 0)
        best = out->rounds_run - 1;
    out->best_iteration = best;
    out->best_score = esr > 0 ? best_score : NAN;

    /* Keep rounds 0..best only. */
    final = bst;
    if (best + 1 < out->rounds_run) {
        if (XGBoosterSlice(bst, 0, best + 1, 1, &sliced) != 0) {
            sliced = NULL;
            st = xgb_error("slicing the booster to the best round");
            goto out;
        }
        final = sliced;
    }
    {
        bst_ulong len = 0;
        const char *buf = NULL;
        if (XGBoosterSaveModelToBuffer(final, "{\"format\": \"json\"}", &len, &buf) != 0) {
            st = xgb_error("saving the model");
            goto out;
        }
        if ((st = copy_text(buf, len, &out->model_json, &out->model_json_len)))
            goto out;
        if (XGBoosterSaveJsonConfig(bst, &len, &buf) != 0) {
            st = xgb_error("saving the configuration");
            goto out;
        }
        if ((st = copy_text(buf, len, &out->config_json, &out->config_json_len)))
            goto out;
    }
    if (!cfg->skip_pred_train &&
        (st = predict(final, dm[0], train->rows, &out->pred_train, &out->pred_cols)))
        goto out;
    if (valid && !cfg->skip_pred_valid &&
        (st = predict(final, dm[1], valid->rows, &out->pred_valid, &out->pred_cols)))
        goto out;
    /* Final evaluations when nobody evaluated during training. Training keeps the training
     * set's predictions cached and predicting the validation set above filled its cache, so
     * this only computes the metrics; a validation set without predictions is left out
     * (evaluating it would predict every tree again). */
    if (!kept_line) {
        DMatrixHandle fdm[2];
        const char *fnames[2];
        bst_ulong nf = 0;
        const char *msg = NULL;
        if (!cfg->skip_train_eval) {
            fdm[nf] = dm[0];
            fnames[nf++] = "train";
        }
        if (valid && !cfg->skip_pred_valid) {
            fdm[nf] = dm[1];
            fnames[nf++] = "valid";
        }
        if (nf > 0) {
            if (XGBoosterEvalOneIter(bst, best, fdm, fnames, nf, &msg) != 0) {
                st = xgb_error("evaluation");
                goto out;
            }
            if ((st = keep_line(&kept_line, msg)))
                goto out;
        }
    }
    if (kept_line) {
        out->evals = gy_calloc(MAX_EVALS, sizeof(*out->evals));
        if (!out->evals) {
            st = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        out->evals_text = kept_line;
        kept_line = NULL;
        out->n_evals = parse_evals(out->evals_text, out->evals, MAX_EVALS);
    }
    if (warn.len) {
        size_t wl;
        out->warnings = gy_buf_detach(&warn, &wl);
    }
out:
    tl_warnings = NULL;
    if (sliced)
        XGBoosterFree(sliced);
    if (bst)
        XGBoosterFree(bst);
    for (int i = 0; i < 2; i++)
        if (dm[i])
            XGDMatrixFree(dm[i]);
    gy_free(kept_line);
    gy_buf_free(&warn);
    gy_buf_free(&line);
    if (st != GY_OK)
        gy_xgb_result_free(out);
    return st;
}
