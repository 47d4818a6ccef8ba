/* SPDX-License-Identifier: MIT */
/*
 * feedback.c - feedback on logged predictions and the online metrics computed from it.
 *
 * Feedback (the ground truth "label" and/or a business outcome "value" of one request) is kept
 * in the metadata store's feedback table, one row per (deployment, request id); a later report
 * for the same request replaces the earlier one. The metrics join it to the flushed prediction
 * log (the lake dataset predlog-<deployment>, read with the scan API) by request id: the first
 * logged row of an id gives the model version and output_0. Per model version:
 *   - labeled rows: rmse and mae of output_0 against the label; when every label is 0 or 1 and
 *     every output_0 is a probability in [0, 1] (a binary classifier), also accuracy (output_0
 *     >= 0.5 predicts 1), auc (when both classes occur), logloss (eps = float32 epsilon) and
 *     calibration (expected calibration error over 10 equal-width bins, calibration-in-the-
 *     large);
 *   - rows with a value: value_sum and value_mean.
 * With them, the sufficient statistics of the A/B tests (gy_deploy_compare in src/monitor):
 * the per-row mean and sample variance (ddof 1) of the squared error (mse, se_var), absolute
 * error (mae, ae_var), log loss (logloss, logloss_var) and value (value_mean, value_var); the
 * count of correct labels; the class counts and the Hanley-McNeil standard error of the AUC.
 * The last result per deployment is kept in memory for the /metrics gauges.
 */
#include "serving/serving_int.h"

#include "lake/lake.h"
#include "train/train.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define FEEDBACK_MAX_ITEMS 100000
#define FEEDBACK_MAX_ID 256

/* ------------------------------------------------------------------ storing */

static enum gy_status item_bad(size_t i, const char *what)
{
    return gy_error_set(GY_E_INVALID, "feedback: items[%zu]: %s", i, what);
}

/* A label or value: a finite number, true/false (1/0), or absent/null (*has 0). */
static enum gy_status num_field(const json_t *it, const char *key, size_t i, double *v, int *has)
{
    const json_t *j = json_object_get(it, key);
    *has = 0;
    if (!j || json_is_null(j))
        return GY_OK;
    if (json_is_boolean(j)) {
        *v = json_is_true(j) ? 1 : 0;
    } else if (json_is_number(j) && isfinite(json_number_value(j))) {
        *v = json_number_value(j);
    } else {
        char msg[64];
        snprintf(msg, sizeof msg, "\"%s\" must be a finite number", key);
        return item_bad(i, msg);
    }
    *has = 1;
    return GY_OK;
}

enum gy_status gy_feedback_put(struct gy_db *db, const char *deployment, const json_t *items,
                               size_t *stored)
{
    static const char sql[] =
        "INSERT INTO feedback (deployment, request_id, label, value, created_us) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (deployment, request_id) DO UPDATE SET "
        "label = excluded.label, value = excluded.value, created_us = excluded.created_us";
    int64_t now = gy_time_wall_us();
    size_t n;
    enum gy_status rc;
    *stored = 0;
    if (!deployment || gy__deploy_name_check(deployment))
        return gy_error_set(GY_E_INVALID, "feedback: \"deployment\" must be a deployment name");
    if (!json_is_array(items))
        return gy_error_set(GY_E_INVALID, "feedback: \"items\" must be an array");
    n = json_array_size(items);
    if (n == 0 || n > FEEDBACK_MAX_ITEMS)
        return gy_error_set(GY_E_INVALID, "feedback: \"items\" must hold 1 to %d items",
                            FEEDBACK_MAX_ITEMS);
    /* Validate everything first: nothing is stored when one item is wrong. */
    for (size_t i = 0; i < n; i++) {
        const json_t *it = json_array_get(items, i);
        const char *id;
        double v;
        int has_l, has_v;
        if (!json_is_object(it))
            return item_bad(i, "must be an object");
        id = gy_json_str(it, "request_id", NULL);
        if (!id || !*id || strlen(id) > FEEDBACK_MAX_ID)
            return item_bad(i, "\"request_id\" must be a string of 1 to 256 bytes");
        if ((rc = num_field(it, "label", i, &v, &has_l)) ||
            (rc = num_field(it, "value", i, &v, &has_v)))
            return rc;
        if (!has_l && !has_v)
            return item_bad(i, "give a \"label\", a \"value\" or both");
        if (json_object_size(it) > (size_t)(1 + (json_object_get(it, "label") != NULL) +
                                            (json_object_get(it, "value") != NULL)))
            return item_bad(i, "unknown key (use request_id, label, value)");
    }
    if ((rc = gy_db_begin(db)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        const json_t *it = json_array_get(items, i);
        struct gy_db_param p[5];
        double l = 0, v = 0;
        int has_l, has_v;
        num_field(it, "label", i, &l, &has_l);
        num_field(it, "value", i, &v, &has_v);
        p[0] = GY_DB_P_TEXT(deployment);
        p[1] = GY_DB_P_TEXT(gy_json_str(it, "request_id", ""));
        p[2] = has_l ? GY_DB_P_REAL(l) : GY_DB_P_NULL;
        p[3] = has_v ? GY_DB_P_REAL(v) : GY_DB_P_NULL;
        p[4] = GY_DB_P_INT(now);
        if ((rc = gy_db_exec(db, sql, p, 5, NULL))) {
            gy_db_rollback(db);
            return rc;
        }
    }
    if ((rc = gy_db_commit(db)))
        return rc;
    *stored = n;
    return GY_OK;
}

/* ------------------------------------------------------------------ joining */

struct fb {
    const char *id; /* borrowed from the rows */
    double label, value;
    int has_label, has_value, matched;
};

struct ver {
    int64_t version;
    size_t n, cap; /* labeled rows */
    double *y, *p;
    size_t n_value, cap_value;
    double value_sum;
    double *values;
};

static struct ver *ver_get(struct ver **vs, size_t *n, int64_t version)
{
    struct ver *nv;
    for (size_t i = 0; i < *n; i++)
        if ((*vs)[i].version == version)
            return &(*vs)[i];
    if (!(nv = gy_realloc(*vs, (*n + 1) * sizeof *nv)))
        return NULL;
    *vs = nv;
    memset(&nv[*n], 0, sizeof nv[*n]);
    nv[*n].version = version;
    return &nv[(*n)++];
}

static int ver_push(struct ver *v, double y, double p)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        double *ny = gy_realloc(v->y, cap * sizeof *ny), *np;
        if (!ny)
            return -1;
        v->y = ny;
        if (!(np = gy_realloc(v->p, cap * sizeof *np)))
            return -1;
        v->p = np;
        v->cap = cap;
    }
    v->y[v->n] = y;
    v->p[v->n] = p;
    v->n++;
    return 0;
}

static int ver_push_value(struct ver *v, double x)
{
    if (v->n_value == v->cap_value) {
        size_t cap = v->cap_value ? v->cap_value * 2 : 256;
        double *nv = gy_realloc(v->values, cap * sizeof *nv);
        if (!nv)
            return -1;
        v->values = nv;
        v->cap_value = cap;
    }
    v->values[v->n_value++] = x;
    v->value_sum += x;
    return 0;
}

/*
 * Sets @p mean_key (unless NULL) and @p var_key to the mean and the sample
 * variance (ddof 1, two passes) of the @p n values x(i); the variance only when n >= 2.
 */
static void set_mean_var(json_t *j, const char *mean_key, const char *var_key, size_t n,
                         double (*x)(const struct ver *, size_t), const struct ver *v)
{
    double sum = 0, mean, ss = 0;
    if (!n)
        return;
    for (size_t i = 0; i < n; i++)
        sum += x(v, i);
    mean = sum / (double)n;
    if (mean_key)
        gy_json_set(j, mean_key, json_real(mean));
    if (n < 2)
        return;
    for (size_t i = 0; i < n; i++) {
        double d = x(v, i) - mean;
        ss += d * d;
    }
    gy_json_set(j, var_key, json_real(ss / (double)(n - 1)));
}

static double row_se(const struct ver *v, size_t i)
{
    double d = v->p[i] - v->y[i];
    return d * d;
}

static double row_ae(const struct ver *v, size_t i)
{
    return fabs(v->p[i] - v->y[i]);
}

/* Per-row binary log loss exactly as gy_metric_logloss computes it (eps = FLT_EPSILON). */
static double row_logloss(const struct ver *v, size_t i)
{
    double p = fmin(fmax(v->p[i], FLT_EPSILON), 1 - FLT_EPSILON), q = 1 - p, s = q + p;
    return -log((v->y[i] == 1 ? p : q) / s);
}

static double row_value(const struct ver *v, size_t i)
{
    return v->values[i];
}

/* Hanley-McNeil (1982) standard error of an AUC (as gy_ab_hanley_mcneil_se in src/monitor). */
static double hanley_mcneil_se(double auc, size_t pos, size_t neg)
{
    double q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc), a2 = auc * auc;
    double var = (auc * (1 - auc) + ((double)pos - 1) * (q1 - a2) + ((double)neg - 1) * (q2 - a2)) /
                 ((double)pos * (double)neg);
    return sqrt(var > 0 ? var : 0);
}

/*
 * Calibration of a binary classifier: 10 equal-width probability bins as
 * sklearn.calibration.calibration_curve(y, p, n_bins=10, strategy='uniform') makes them (edges
 * i * 0.1; a probability goes to the first bin whose upper edge is >= it, searchsorted 'left'
 * on the inner edges). "ece" is the sample-weighted mean over non-empty bins of |mean
 * predicted - observed rate|; "calibration_in_the_large" is mean(p) - mean(y);
 * "calibration_bins" lists the non-empty bins {"lo", "hi", "n", "mean_predicted",
 * "observed_rate"} (a reliability diagram).
 */
#define CAL_BINS 10
static void set_calibration(json_t *j, const struct ver *v)
{
    double sp[CAL_BINS] = {0}, sy[CAL_BINS] = {0}, tp = 0, ty = 0, ece = 0;
    size_t cnt[CAL_BINS] = {0};
    json_t *bins = json_array();
    for (size_t i = 0; i < v->n; i++) {
        int b = 0;
        while (b < CAL_BINS - 1 && (double)(b + 1) * 0.1 < v->p[i])
            b++;
        sp[b] += v->p[i];
        sy[b] += v->y[i];
        cnt[b]++;
        tp += v->p[i];
        ty += v->y[i];
    }
    for (int b = 0; b < CAL_BINS; b++) {
        double mp, oy;
        if (!cnt[b])
            continue;
        mp = sp[b] / (double)cnt[b];
        oy = sy[b] / (double)cnt[b];
        ece += (double)cnt[b] / (double)v->n * fabs(mp - oy);
        if (bins)
            json_array_append_new(bins, json_pack("{s:f, s:f, s:I, s:f, s:f}", "lo", b * 0.1, "hi",
                                                  (b + 1) * 0.1, "n", (json_int_t)cnt[b],
                                                  "mean_predicted", mp, "observed_rate", oy));
    }
    gy_json_set(j, "ece", json_real(ece));
    gy_json_set(j, "calibration_in_the_large", json_real(tp / (double)v->n - ty / (double)v->n));
    if (bins)
        gy_json_set(j, "calibration_bins", bins);
}

/* The metrics of one version as JSON (new), or NULL when out of memory. */
static json_t *ver_metrics(const struct ver *v)
{
    json_t *j = json_pack("{s:I, s:I, s:I}", "version", (json_int_t)v->version, "labeled",
                          (json_int_t)v->n, "valued", (json_int_t)v->n_value);
    int binary = v->n > 0;
    double se = 0, ae = 0, m;
    if (!j)
        return NULL;
    for (size_t i = 0; i < v->n; i++) {
        double d = v->p[i] - v->y[i];
        se += d * d;
        ae += fabs(d);
        if ((v->y[i] != 0 && v->y[i] != 1) || !(v->p[i] >= 0 && v->p[i] <= 1))
            binary = 0;
    }
    if (v->n) {
        gy_json_set(j, "rmse", json_real(sqrt(se / (double)v->n)));
        gy_json_set(j, "mae", json_real(ae / (double)v->n));
        set_mean_var(j, "mse", "se_var", v->n, row_se, v);
        set_mean_var(j, NULL, "ae_var", v->n, row_ae, v);
    }
    if (binary) {
        int32_t *y = gy_malloc(v->n * sizeof *y), *pred = gy_malloc(v->n * sizeof *pred);
        if (y && pred) {
            size_t correct = 0, pos = 0;
            for (size_t i = 0; i < v->n; i++) {
                y[i] = (int32_t)v->y[i];
                pred[i] = v->p[i] >= 0.5;
                correct += pred[i] == y[i];
                pos += y[i] == 1;
            }
            gy_json_set(j, "correct", json_integer((json_int_t)correct));
            gy_json_set(j, "positives", json_integer((json_int_t)pos));
            gy_json_set(j, "negatives", json_integer((json_int_t)(v->n - pos)));
            if (gy_metric_accuracy(y, pred, NULL, v->n, &m) == GY_OK)
                gy_json_set(j, "accuracy", json_real(m));
            if (gy_metric_auc(y, v->p, NULL, v->n, &m) == GY_OK) {
                gy_json_set(j, "auc", json_real(m));
                gy_json_set(j, "auc_se", json_real(hanley_mcneil_se(m, pos, v->n - pos)));
            }
            if (gy_metric_logloss(y, v->p, NULL, v->n, 2, FLT_EPSILON, &m) == GY_OK) {
                gy_json_set(j, "logloss", json_real(m));
                set_mean_var(j, NULL, "logloss_var", v->n, row_logloss, v);
            }
            set_calibration(j, v);
        }
        gy_free(y);
        gy_free(pred);
    }
    if (v->n_value) {
        gy_json_set(j, "value_sum", json_real(v->value_sum));
        gy_json_set(j, "value_mean", json_real(v->value_sum / (double)v->n_value));
        set_mean_var(j, NULL, "value_var", v->n_value, row_value, v);
    }
    return j;
}

static int fb_cmp(const void *a, const void *b)
{
    return strcmp(((const struct fb *)a)->id, ((const struct fb *)b)->id);
}

static int ver_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct ver *)a)->version, y = ((const struct ver *)b)->version;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ the gauge cache */

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *cache; /* {deployment: metrics JSON} */

static void cache_put(const char *deployment, json_t *metrics)
{
    pthread_mutex_lock(&cache_mu);
    if (!cache)
        cache = json_object();
    if (cache)
        json_object_set(cache, deployment, metrics);
    pthread_mutex_unlock(&cache_mu);
}

void gy_feedback_gauges_reset(void)
{
    pthread_mutex_lock(&cache_mu);
    json_decref(cache);
    cache = NULL;
    pthread_mutex_unlock(&cache_mu);
}

void gy_feedback_gauges(void (*fn)(const char *deployment, int64_t version, const char *metric,
                                   double v, void *ctx),
                        void *ctx)
{
    static const char *const names[] = {
        "accuracy",  "auc",        "logloss", "rmse", "mae",
        "value_sum", "value_mean", "labeled", "ece",  "calibration_in_the_large",
        NULL};
    const char *dep;
    json_t *m;
    pthread_mutex_lock(&cache_mu);
    json_object_foreach(cache, dep, m)
    {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(m, "versions"), i, v)
        {
            for (size_t k = 0; names[k]; k++) {
                json_t *x = json_object_get(v, names[k]);
                if (x && json_is_number(x))
                    fn(dep, gy_json_int(v, "version", 0), names[k], json_number_value(x), ctx);
            }
        }
    }
    pthread_mutex_unlock(&cache_mu);
}

enum gy_status gy_feedback_metrics(struct gy_db *db, const char *deployment, int64_t since_us,
                                   json_t **out)
{
    static const char *const cols[] = {"request_id", "model_version", "output_0"};
    char ds[GY_LAKE_MAX_NAME + 1];
    struct gy_db_param p[2];
    struct gy_db_rows *rows = NULL;
    struct gy_lake_scan *sc = NULL;
    struct fb *fbs = NULL;
    struct ver *vs = NULL;
    size_t nfb = 0, nv = 0, matched = 0;
    uint64_t logged = 0;
    json_t *res = NULL, *arr;
    enum gy_status rc;
    *out = NULL;
    if (!deployment || gy__deploy_name_check(deployment))
        return gy_error_set(GY_E_INVALID, "feedback: not a deployment name");
    p[0] = GY_DB_P_TEXT(deployment);
    p[1] = GY_DB_P_INT(since_us);
    if ((rc = gy_db_query(db,
                          "SELECT request_id, label, value FROM feedback WHERE deployment = $1 "
                          "AND created_us >= $2",
                          p, 2, &rows)))
        return rc;
    nfb = gy_db_rows_count(rows);
    if (nfb && !(fbs = gy_calloc(nfb, sizeof *fbs))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nfb; i++) {
        fbs[i].id = gy_db_rows_text(rows, i, 0);
        fbs[i].has_label = !gy_db_rows_isnull(rows, i, 1);
        fbs[i].label = fbs[i].has_label ? gy_db_rows_real(rows, i, 1) : 0;
        fbs[i].has_value = !gy_db_rows_isnull(rows, i, 2);
        fbs[i].value = fbs[i].has_value ? gy_db_rows_real(rows, i, 2) : 0;
    }
    if (nfb)
        qsort(fbs, nfb, sizeof *fbs, fb_cmp);
    snprintf(ds, sizeof ds, "predlog-%s", deployment);
    rc = nfb ? gy_lake_scan_open(db, ds, 0, cols, 3, &sc) : GY_NOT_FOUND;
    if (rc && rc != GY_NOT_FOUND)
        goto out;
    rc = GY_OK;
    while (sc) {
        const struct gy_colvec *cv;
        size_t n;
        if ((rc = gy_lake_scan_next(sc, &cv, &n)))
            goto out;
        if (!n)
            break;
        logged += n;
        for (size_t r = 0; r < n; r++) {
            char id[FEEDBACK_MAX_ID + 1];
            size_t len;
            struct fb key, *f;
            struct ver *v;
            if (!cv[0].valid[r] || !cv[1].valid[r])
                continue;
            len = cv[0].off[r + 1] - cv[0].off[r];
            if (len > FEEDBACK_MAX_ID)
                continue;
            memcpy(id, cv[0].data + cv[0].off[r], len);
            id[len] = 0;
            key.id = id;
            f = bsearch(&key, fbs, nfb, sizeof *fbs, fb_cmp);
            if (!f || f->matched)
                continue;
            f->matched = 1;
            matched++;
            if (!(v = ver_get(&vs, &nv, cv[1].i64[r]))) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto out;
            }
            if (f->has_label && cv[2].valid[r] && ver_push(v, f->label, cv[2].f64[r])) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto out;
            }
            if (f->has_value && ver_push_value(v, f->value)) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto out;
            }
        }
    }
    if (nv)
        qsort(vs, nv, sizeof *vs, ver_cmp);
    res = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:[]}", "deployment", deployment, "since_us",
                    (json_int_t)since_us, "feedback", (json_int_t)nfb, "matched",
                    (json_int_t)matched, "unmatched", (json_int_t)(nfb - matched), "logged",
                    (json_int_t)logged, "versions");
    if (!res) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    arr = json_object_get(res, "versions");
    for (size_t i = 0; i < nv; i++) {
        json_t *j = ver_metrics(&vs[i]);
        if (!j || json_array_append_new(arr, j)) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (since_us == 0)
        cache_put(deployment, res);
    *out = res;
    res = NULL;
out:
    json_decref(res);
    for (size_t i = 0; i < nv; i++) {
        gy_free(vs[i].y);
        gy_free(vs[i].p);
        gy_free(vs[i].values);
    }
    gy_free(vs);
    gy_lake_scan_free(sc);
    gy_free(fbs);
    gy_db_rows_free(rows);
    return rc;
}
