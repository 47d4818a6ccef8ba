/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - evaluation metrics that equal scikit-learn 1.2's on float64 arrays: ROC AUC
 * (binary, and one-vs-rest macro for multiclass), log loss, accuracy, precision, recall, F1
 * (binary and macro), confusion matrices, RMSE, MAE and R^2, all with sample weights. Each
 * function follows scikit-learn's computation step by step (clipping and renormalizing in
 * log_loss, dropping collinear ROC points and integrating trapezoids in roc_auc_score,
 * zero_division and force_finite conventions) and sums with compensated (Neumaier)
 * summation, so the results agree to far better than the required 1e-9. Where scikit-learn
 * raises, these return GY_E_INVALID.
 */
#include "train/train_int.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

/* Neumaier's compensated sum: error independent of n for our purposes. */
struct ksum {
    double s, c;
};

static void ks_add(struct ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static double ks_get(const struct ksum *k)
{
    return k->s + k->c;
}

static enum gy_status check_n(size_t n)
{
    if (n == 0)
        return gy_error_set(GY_E_INVALID, "no rows to evaluate");
    return GY_OK;
}

static enum gy_status check_w(const double *w, size_t n)
{
    if (!w)
        return GY_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]))
            return gy_error_set(GY_E_INVALID, "sample weight of row %zu is not finite", i);
    return GY_OK;
}

static enum gy_status check_labels(const int32_t *y, size_t n, int k, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= k)
            return gy_error_set(GY_E_INVALID, "%s of row %zu is %d, not a class in [0, %d)", what,
                                i, (int)y[i], k);
    return GY_OK;
}

static enum gy_status check_finite(const double *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return gy_error_set(GY_E_INVALID, "%s %zu is not finite", what, i);
    return GY_OK;
}

/* np.average(v, weights=w): sum(v * w) / sum(w), or the mean. */
static enum gy_status weighted_mean(const double *v, const double *w, size_t n, double *out)
{
    struct ksum s = {0, 0}, sw = {0, 0};
    for (size_t i = 0; i < n; i++) {
        ks_add(&s, w ? v[i] * w[i] : v[i]);
        if (w)
            ks_add(&sw, w[i]);
    }
    if (!w) {
        *out = ks_get(&s) / (double)n;
        return GY_OK;
    }
    if (ks_get(&sw) == 0)
        return gy_error_set(GY_E_INVALID, "sample weights sum to zero");
    *out = ks_get(&s) / ks_get(&sw);
    return GY_OK;
}

/* ------------------------------------------------------------------ ROC AUC */

struct scored {
    double score;
    double pos, neg; /* weight counted as positive / negative */
};

static int cmp_scored_desc(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

/*
 * The area under the ROC curve of @p m points (already filtered), as
 * sklearn.metrics._ranking: _binary_clf_curve, roc_curve(drop_intermediate=True), auc.
 */
static enum gy_status auc_of(struct scored *pts, size_t m, double *out)
{
    double *fps = NULL, *tps = NULL;
    size_t nt = 0, kept;
    struct ksum tp = {0, 0}, fp = {0, 0}, area = {0, 0};
    enum gy_status st = GY_OK;

    qsort(pts, m, sizeof(*pts), cmp_scored_desc);
    fps = gy_malloc((m + 1) * sizeof(double));
    tps = gy_malloc((m + 1) * sizeof(double));
    if (!fps || !tps) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for ROC AUC");
        goto out;
    }
    /* One point per distinct score: the cumulative weights after its last row. */
    for (size_t i = 0; i < m; i++) {
        ks_add(&tp, pts[i].pos);
        ks_add(&fp, pts[i].neg);
        if (i + 1 == m || pts[i + 1].score != pts[i].score) {
            tps[nt] = ks_get(&tp);
            fps[nt] = ks_get(&fp);
            nt++;
        }
    }
    /* drop_intermediate: keep the ends and every point where either curve bends. */
    kept = nt;
    if (nt > 2) {
        size_t j = 1;
        double pf = fps[0], pt = tps[0]; /* original value of the previous point */
        for (size_t i = 1; i + 1 < nt; i++) {
            double df = (fps[i + 1] - fps[i]) - (fps[i] - pf);
            double dt = (tps[i + 1] - tps[i]) - (tps[i] - pt);
            pf = fps[i];
            pt = tps[i];
            if (df != 0 || dt != 0) {
                fps[j] = fps[i];
                tps[j] = tps[i];
                j++;
            }
        }
        fps[j] = fps[nt - 1];
        tps[j] = tps[nt - 1];
        kept = j + 1;
    }
    /* Prepend (0, 0), normalize, integrate. */
    memmove(fps + 1, fps, kept * sizeof(double));
    memmove(tps + 1, tps, kept * sizeof(double));
    fps[0] = tps[0] = 0;
    kept++;
    if (!(fps[kept - 1] > 0) || !(tps[kept - 1] > 0)) {
        st = gy_error_set(GY_E_INVALID, "ROC AUC is not defined: the %s rows have no weight",
                          fps[kept - 1] > 0 ? "positive" : "negative");
        goto out;
    }
    {
        double fl = fps[kept - 1], tl = tps[kept - 1];
        for (size_t i = 0; i + 1 < kept; i++) {
            double x0 = fps[i] / fl, x1 = fps[i + 1] / fl;
            double y0 = tps[i] / tl, y1 = tps[i + 1] / tl;
            ks_add(&area, (x1 - x0) * (y1 + y0) / 2.0);
        }
    }
    *out = ks_get(&area);
out:
    gy_free(fps);
    gy_free(tps);
    return st;
}

/* Binary AUC of column @p col of a row-major n x @p stride score array, positive class @p c. */
static enum gy_status auc_column(const int32_t *y, const double *score, size_t stride, size_t col,
                                 int32_t c, const double *w, size_t n, double *out)
{
    struct scored *pts;
    size_t m = 0, npos = 0;
    enum gy_status st;

    for (size_t i = 0; i < n; i++)
        npos += y[i] == c;
    if (npos == 0 || npos == n)
        return gy_error_set(GY_E_INVALID, "ROC AUC is not defined: only one class present in "
                                          "the labels");
    pts = gy_malloc(n * sizeof(*pts));
    if (!pts)
        return gy_error_set(GY_E_NOMEM, "out of memory for ROC AUC");
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (w && wi == 0)
            continue; /* scikit-learn drops zero-weight rows before building the curve */
        pts[m].score = score[i * stride + col];
        pts[m].pos = y[i] == c ? wi : 0.0;
        pts[m].neg = y[i] == c ? 0.0 : wi;
        m++;
    }
    st = auc_of(pts, m, out);
    gy_free(pts);
    return st;
}

enum gy_status gy_metric_auc(const int32_t *y, const double *score, const double *w, size_t n,
                             double *out)
{
    enum gy_status st;
    if ((st = check_n(n)) || (st = check_labels(y, n, 2, "label")) || (st = check_w(w, n)) ||
        (st = check_finite(score, n, "score of row")))
        return st;
    return auc_column(y, score, 1, 0, 1, w, n, out);
}

enum gy_status gy_metric_auc_ovr(const int32_t *y, const double *prob, const double *w, size_t n,
                                 int k, double *out)
{
    enum gy_status st;
    struct ksum sum = {0, 0};

    if (k < 2)
        return gy_error_set(GY_E_INVALID, "one-vs-rest AUC needs at least 2 classes, not %d", k);
    if ((st = check_n(n)) || (st = check_labels(y, n, k, "label")) || (st = check_w(w, n)) ||
        (st = check_finite(prob, n * (size_t)k, "probability")))
        return st;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int c = 0; c < k; c++)
            s += prob[i * (size_t)k + (size_t)c];
        /* numpy.allclose(1, s): |1 - s| <= atol + rtol * |s| */
        if (!(fabs(1.0 - s) <= 1e-8 + 1e-5 * fabs(s)))
            return gy_error_set(GY_E_INVALID,
                                "one-vs-rest AUC needs probabilities: row %zu sums to %.17g", i, s);
    }
    for (int c = 0; c < k; c++) {
        double a;
        st = auc_column(y, prob, (size_t)k, (size_t)c, c, w, n, &a);
        if (st != GY_OK)
            return gy_error_wrap(st, "class %d", c);
        ks_add(&sum, a);
    }
    *out = ks_get(&sum) / k;
    return GY_OK;
}

/* ------------------------------------------------------------------ log loss */

enum gy_status gy_metric_logloss(const int32_t *y, const double *prob, const double *w, size_t n,
                                 int k, double eps, double *out)
{
    enum gy_status st;
    size_t cols = k == 2 ? 1 : (size_t)k;
    double *loss;

    if (k < 2)
        return gy_error_set(GY_E_INVALID, "log loss needs at least 2 classes, not %d", k);
    if (eps == 0)
        eps = DBL_EPSILON;
    if (!(eps > 0 && eps < 0.5))
        return gy_error_set(GY_E_INVALID, "log loss eps %g is not in (0, 0.5)", eps);
    if ((st = check_n(n)) || (st = check_labels(y, n, k, "label")) || (st = check_w(w, n)) ||
        (st = check_finite(prob, n * cols, "probability")))
        return st;
    loss = gy_malloc(n * sizeof(double));
    if (!loss)
        return gy_error_set(GY_E_NOMEM, "out of memory for log loss");
    for (size_t i = 0; i < n; i++) {
        if (k == 2) {
            /* clip, expand to [1 - p, p], renormalize by the row sum, -log of the true one */
            double p = fmin(fmax(prob[i], eps), 1 - eps);
            double q = 1 - p, s = q + p;
            loss[i] = -log((y[i] == 1 ? p : q) / s);
        } else {
            const double *r = prob + i * cols;
            double s = 0;
            for (int c = 0; c < k; c++)
                s += fmin(fmax(r[c], eps), 1 - eps);
            loss[i] = -log(fmin(fmax(r[y[i]], eps), 1 - eps) / s);
        }
    }
    st = weighted_mean(loss, w, n, out);
    gy_free(loss);
    return st;
}

/* ------------------------------------------------------------------ label metrics */

enum gy_status gy_metric_accuracy(const int32_t *y, const int32_t *pred, const double *w, size_t n,
                                  double *out)
{
    struct ksum s = {0, 0}, sw = {0, 0};
    enum gy_status st;

    if ((st = check_n(n)) || (st = check_w(w, n)))
        return st;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (y[i] == pred[i])
            ks_add(&s, wi);
        ks_add(&sw, wi);
    }
    if (ks_get(&sw) == 0)
        return gy_error_set(GY_E_INVALID, "sample weights sum to zero");
    *out = ks_get(&s) / ks_get(&sw);
    return GY_OK;
}

enum gy_status gy_metric_confusion(const int32_t *y, const int32_t *pred, const double *w, size_t n,
                                   int k, double *cm)
{
    enum gy_status st;
    struct ksum *acc;

    if (k < 1)
        return gy_error_set(GY_E_INVALID, "confusion matrix needs at least 1 class");
    if ((st = check_n(n)) || (st = check_labels(y, n, k, "label")) ||
        (st = check_labels(pred, n, k, "predicted class")) || (st = check_w(w, n)))
        return st;
    acc = gy_calloc((size_t)k * (size_t)k, sizeof(*acc));
    if (!acc)
        return gy_error_set(GY_E_NOMEM, "out of memory for a confusion matrix");
    for (size_t i = 0; i < n; i++)
        ks_add(&acc[(size_t)y[i] * (size_t)k + (size_t)pred[i]], w ? w[i] : 1.0);
    for (size_t j = 0; j < (size_t)k * (size_t)k; j++)
        cm[j] = ks_get(&acc[j]);
    gy_free(acc);
    return GY_OK;
}

/* tp / denominator with scikit-learn's zero_division default: 0 when the denominator is 0. */
static double prf_divide(double num, double den)
{
    return den == 0.0 ? num / 1.0 : num / den;
}

static double f1_of(double p, double r)
{
    double den = p + r;
    if (den == 0.0)
        den = 1;
    return 2.0 * p * r / den;
}

enum gy_status gy_metric_prf(const int32_t *y, const int32_t *pred, const double *w, size_t n,
                             int k, enum gy_metric_average avg, double *precision, double *recall,
                             double *f1)
{
    enum gy_status st;
    struct ksum *acc = NULL; /* per class: tp, pred_sum, true_sum */
    unsigned char *present = NULL;
    double p_sum = 0, r_sum = 0, f_sum = 0;
    int nlabels = 0;

    if (avg == GY_METRIC_BINARY && k != 2)
        return gy_error_set(GY_E_INVALID, "binary precision/recall needs 2 classes, not %d", k);
    if (avg != GY_METRIC_BINARY && avg != GY_METRIC_MACRO)
        return gy_error_set(GY_E_INVALID, "unknown average %d", (int)avg);
    if (k < 1)
        return gy_error_set(GY_E_INVALID, "precision/recall needs at least 1 class");
    if ((st = check_n(n)) || (st = check_labels(y, n, k, "label")) ||
        (st = check_labels(pred, n, k, "predicted class")) || (st = check_w(w, n)))
        return st;
    acc = gy_calloc((size_t)k * 3, sizeof(*acc));
    present = gy_calloc((size_t)k, 1);
    if (!acc || !present) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for precision/recall");
        goto out;
    }
    /* multilabel_confusion_matrix: weighted counts of true positives, predictions and
     * true labels per class. */
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (y[i] == pred[i])
            ks_add(&acc[(size_t)y[i] * 3], wi);
        ks_add(&acc[(size_t)pred[i] * 3 + 1], wi);
        ks_add(&acc[(size_t)y[i] * 3 + 2], wi);
        present[y[i]] = present[pred[i]] = 1;
    }
    for (int c = 0; c < k; c++) {
        double p, r;
        if (avg == GY_METRIC_BINARY && c != 1)
            continue; /* average="binary": pos_label=1 only */
        if (avg == GY_METRIC_MACRO && !present[c])
            continue; /* macro averages over the labels present in y or pred */
        p = prf_divide(ks_get(&acc[(size_t)c * 3]), ks_get(&acc[(size_t)c * 3 + 1]));
        r = prf_divide(ks_get(&acc[(size_t)c * 3]), ks_get(&acc[(size_t)c * 3 + 2]));
        p_sum += p;
        r_sum += r;
        f_sum += f1_of(p, r);
        nlabels++;
    }
    GY_ASSERT(nlabels > 0);
    if (precision)
        *precision = p_sum / nlabels;
    if (recall)
        *recall = r_sum / nlabels;
    if (f1)
        *f1 = f_sum / nlabels;
out:
    gy_free(acc);
    gy_free(present);
    return st;
}

void gy_metric_classes(const double *prob, size_t n, int k, int32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (k == 2) {
            out[i] = prob[i] > 0.5;
            continue;
        }
        const double *r = prob + i * (size_t)k;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (r[c] > r[best] || (isnan(r[c]) && !isnan(r[best])))
                best = c;
        out[i] = best;
    }
}

/* ------------------------------------------------------------------ regression */

static enum gy_status check_regression(const double *y, const double *pred, const double *w,
                                       size_t n)
{
    enum gy_status st;
    if ((st = check_n(n)) || (st = check_w(w, n)) || (st = check_finite(y, n, "label of row")) ||
        (st = check_finite(pred, n, "prediction of row")))
        return st;
    return GY_OK;
}

enum gy_status gy_metric_rmse(const double *y, const double *pred, const double *w, size_t n,
                              double *out)
{
    enum gy_status st;
    double *sq, mse;

    if ((st = check_regression(y, pred, w, n)))
        return st;
    sq = gy_malloc(n * sizeof(double));
    if (!sq)
        return gy_error_set(GY_E_NOMEM, "out of memory for RMSE");
    for (size_t i = 0; i < n; i++)
        sq[i] = (y[i] - pred[i]) * (y[i] - pred[i]);
    st = weighted_mean(sq, w, n, &mse);
    gy_free(sq);
    if (st == GY_OK)
        *out = sqrt(mse);
    return st;
}

enum gy_status gy_metric_mae(const double *y, const double *pred, const double *w, size_t n,
                             double *out)
{
    enum gy_status st;
    double *ab;

    if ((st = check_regression(y, pred, w, n)))
        return st;
    ab = gy_malloc(n * sizeof(double));
    if (!ab)
        return gy_error_set(GY_E_NOMEM, "out of memory for MAE");
    for (size_t i = 0; i < n; i++)
        ab[i] = fabs(pred[i] - y[i]);
    st = weighted_mean(ab, w, n, out);
    gy_free(ab);
    return st;
}

enum gy_status gy_metric_r2(const double *y, const double *pred, const double *w, size_t n,
                            double *out)
{
    enum gy_status st;
    struct ksum num = {0, 0}, den = {0, 0};
    double mean;

    if ((st = check_regression(y, pred, w, n)))
        return st;
    if (n < 2)
        return gy_error_set(GY_E_INVALID, "R^2 is not defined for fewer than 2 rows");
    if ((st = weighted_mean(y, w, n, &mean)))
        return st;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        double d = y[i] - pred[i], e = y[i] - mean;
        ks_add(&num, wi * (d * d));
        ks_add(&den, wi * (e * e));
    }
    if (ks_get(&den) != 0)
        *out = ks_get(&num) != 0 ? 1 - ks_get(&num) / ks_get(&den) : 1.0;
    else
        *out = ks_get(&num) != 0 ? 0.0 : 1.0;
    return GY_OK;
}

/* ------------------------------------------------------------------ all metrics */

void gy_metrics_free(struct gy_metrics *m)
{
    if (!m)
        return;
    gy_free(m->confusion);
    memset(m, 0, sizeof(*m));
}

/* Runs a metric whose "not defined" outcome (GY_E_INVALID) becomes NaN. */
static enum gy_status soft(enum gy_status st, double *v)
{
    if (st == GY_E_INVALID) {
        *v = NAN;
        gy_error_clear();
        return GY_OK;
    }
    return st;
}

enum gy_status gy_metrics_compute(enum gy_train_task task, int n_classes, const float *y,
                                  const double *pred, const float *w, size_t n,
                                  struct gy_metrics *out)
{
    double *wd = NULL, *yd = NULL;
    int32_t *yi = NULL, *pi = NULL;
    enum gy_status st = GY_OK;
    int k = task == GY_TRAIN_BINARY ? 2 : n_classes;

    memset(out, 0, sizeof(*out));
    out->task = task;
    out->n = n;
    out->auc = out->logloss = out->accuracy = out->precision = out->recall = out->f1 = NAN;
    out->rmse = out->mae = out->r2 = NAN;
    if (n == 0)
        return gy_error_set(GY_E_INVALID, "no rows to evaluate");
    if (task == GY_TRAIN_MULTICLASS && (k < 2 || k > 1000000))
        return gy_error_set(GY_E_INVALID, "multiclass metrics need 2 or more classes, not %d", k);
    if (task != GY_TRAIN_BINARY && task != GY_TRAIN_MULTICLASS && task != GY_TRAIN_REGRESSION)
        return gy_error_set(GY_E_INVALID, "unknown task %d", (int)task);
    if (w) {
        if ((st = gy_train_f32_to_f64(w, n, &wd)))
            goto out;
        if ((st = check_w(wd, n)))
            goto out;
    }
    if (task == GY_TRAIN_REGRESSION) {
        if ((st = gy_train_f32_to_f64(y, n, &yd)))
            goto out;
        if ((st = check_regression(yd, pred, wd, n)))
            goto out;
        if ((st = gy_metric_rmse(yd, pred, wd, n, &out->rmse)) ||
            (st = gy_metric_mae(yd, pred, wd, n, &out->mae)) ||
            (st = soft(gy_metric_r2(yd, pred, wd, n, &out->r2), &out->r2)))
            goto out;
        goto out;
    }
    out->n_classes = k;
    yi = gy_malloc(n * sizeof(int32_t));
    pi = gy_malloc(n * sizeof(int32_t));
    out->confusion = gy_malloc((size_t)k * (size_t)k * sizeof(double));
    if (!yi || !pi || !out->confusion) {
        st = gy_error_set(GY_E_NOMEM, "out of memory for metrics");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(y[i] >= 0 && y[i] < (float)k && y[i] == floorf(y[i]))) {
            st = gy_error_set(GY_E_INVALID, "label of row %zu is %g, not a class in [0, %d)", i,
                              (double)y[i], k);
            goto out;
        }
        yi[i] = (int32_t)y[i];
    }
    if ((st = check_finite(pred, n * (size_t)(k == 2 ? 1 : k), "prediction")))
        goto out;
    gy_metric_classes(pred, n, k, pi);
    if (task == GY_TRAIN_BINARY)
        st = soft(gy_metric_auc(yi, pred, wd, n, &out->auc), &out->auc);
    else
        st = soft(gy_metric_auc_ovr(yi, pred, wd, n, k, &out->auc), &out->auc);
    if (st != GY_OK)
        goto out;
    if ((st = soft(gy_metric_logloss(yi, pred, wd, n, k, 0, &out->logloss), &out->logloss)) ||
        (st = soft(gy_metric_accuracy(yi, pi, wd, n, &out->accuracy), &out->accuracy)) ||
        (st = gy_metric_prf(yi, pi, wd, n, k,
                            task == GY_TRAIN_BINARY ? GY_METRIC_BINARY : GY_METRIC_MACRO,
                            &out->precision, &out->recall, &out->f1)) ||
        (st = gy_metric_confusion(yi, pi, wd, n, k, out->confusion)))
        goto out;
out:
    gy_free(wd);
    gy_free(yd);
    gy_free(yi);
    gy_free(pi);
    if (st != GY_OK)
        gy_metrics_free(out);
    return st;
}

size_t gy_metrics_list(const struct gy_metrics *m, const char **names, double *values, size_t cap)
{
    const char *nm[] = {"auc", "logloss", "accuracy", "precision", "recall",
                        "f1",  "rmse",    "mae",      "r2"};
    double v[] = {m->auc, m->logloss, m->accuracy, m->precision, m->recall,
                  m->f1,  m->rmse,    m->mae,      m->r2};
    size_t count = 0;
    for (size_t i = 0; i < GY_ARRAY_LEN(nm); i++) {
        if (isnan(v[i]))
            continue;
        if (count < cap) {
            names[count] = nm[i];
            values[count] = v[i];
        }
        count++;
    }
    return count;
}
