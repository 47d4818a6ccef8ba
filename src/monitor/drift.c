/* SPDX-License-Identifier: MIT */
/*
 * drift.c - comparing features and deciding. A numeric feature is compared with the
 * two-sample KS test, PSI on the reference deciles plus out-of-range and missing bins
 * (additive smoothing 0.5 on the bins in use), and Wasserstein-1 divided by the reference's
 * standard deviation; a categorical one with the chi-square test of homogeneity and the
 * Jensen-Shannon distance (base 2) over the top reference categories, "other" and "unseen"; a
 * binary one with the two-proportion z-test and the Jensen-Shannon distance. The decision
 * rule is "material and significant": a feature drifts when its effect size reaches its
 * threshold and its Benjamini-Hochberg adjusted p-value is below alpha; the dataset drifts
 * when at least drift_share of the compared features drift or any of the top_important most
 * important ones does. The offline check reads two dataset versions through the lake's scan
 * API, one column at a time, so memory stays bounded by the exact limit per feature.
 */
#include "monitor/monitor_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BINS 30

void gy_monitor_config_init(struct gy_monitor_config *c)
{
    memset(c, 0, sizeof(*c));
    c->alpha = 0.05;
    c->psi = 0.1;
    c->wasserstein_norm = 0.1;
    c->jensenshannon = 0.1;
    c->numeric_effect = "wasserstein_norm";
    c->drift_share = 0.5;
    c->top_important = 5;
    c->top_categories = 20;
    c->small_window = 500;
    c->quality_missing = 0.05;
    c->quality_range = 0.05;
    c->quality_unseen = 0.05;
}

static int known_stat(const char *s)
{
    return strcmp(s, "psi") == 0 || strcmp(s, "wasserstein_norm") == 0 ||
           strcmp(s, "jensenshannon") == 0 || strcmp(s, "alpha") == 0;
}

enum gy_status gy_monitor_config_check(const struct gy_monitor_config *c)
{
    if (!(c->alpha > 0 && c->alpha < 1))
        return gy_error_set(GY_E_INVALID, "alpha must be between 0 and 1 (exclusive): %g",
                            c->alpha);
    if (!(c->psi >= 0) || !(c->wasserstein_norm >= 0) || !(c->jensenshannon >= 0) ||
        !isfinite(c->psi) || !isfinite(c->wasserstein_norm) || !isfinite(c->jensenshannon))
        return gy_error_set(GY_E_INVALID, "thresholds must be finite numbers >= 0");
    if (!(c->drift_share > 0 && c->drift_share <= 1))
        return gy_error_set(GY_E_INVALID, "drift share must be in (0, 1]: %g", c->drift_share);
    if (!c->numeric_effect || (strcmp(c->numeric_effect, "wasserstein_norm") != 0 &&
                               strcmp(c->numeric_effect, "psi") != 0))
        return gy_error_set(GY_E_INVALID,
                            "the numeric effect size must be wasserstein_norm or psi, not \"%s\"",
                            c->numeric_effect ? c->numeric_effect : "(null)");
    if (c->top_categories < 1 || c->top_categories > 10000)
        return gy_error_set(GY_E_INVALID, "top categories must be from 1 to 10000: %zu",
                            c->top_categories);
    for (size_t i = 0; i < c->noverrides; i++) {
        const struct gy_monitor_threshold *o = &c->overrides[i];
        if (!o->statistic || !known_stat(o->statistic))
            return gy_error_set(GY_E_INVALID,
                                "unknown threshold \"%s\" (psi, wasserstein_norm, "
                                "jensenshannon or alpha)",
                                o->statistic ? o->statistic : "");
        if (!(o->value >= 0) || !isfinite(o->value) ||
            (strcmp(o->statistic, "alpha") == 0 && !(o->value > 0 && o->value < 1)))
            return gy_error_set(GY_E_INVALID, "threshold %s%s%s = %g is out of range",
                                o->feature ? o->feature : "", o->feature ? ":" : "", o->statistic,
                                o->value);
    }
    return GY_OK;
}

/* The threshold of @p stat for @p feature: a feature override, a global override, the
 * config's value. */
static double threshold(const struct gy_monitor_config *c, const char *feature, const char *stat)
{
    double v;
    int found = 0;
    if (strcmp(stat, "psi") == 0)
        v = c->psi;
    else if (strcmp(stat, "wasserstein_norm") == 0)
        v = c->wasserstein_norm;
    else if (strcmp(stat, "jensenshannon") == 0)
        v = c->jensenshannon;
    else
        v = c->alpha;
    for (size_t i = 0; i < c->noverrides; i++) {
        const struct gy_monitor_threshold *o = &c->overrides[i];
        if (strcmp(o->statistic, stat) != 0)
            continue;
        if (o->feature && strcmp(o->feature, feature) == 0) {
            v = o->value;
            found = 2;
        } else if (!o->feature && found < 2) {
            v = o->value;
            found = 1;
        }
    }
    return v;
}

void gy_monitor_feature_clear(struct gy_monitor_feature *f)
{
    if (!f)
        return;
    gy_free(f->name);
    gy_free(f->message);
    gy_free(f->warning);
    gy_free(f->quality_message);
    gy_free(f->hist.edges);
    if (f->hist.labels)
        for (size_t i = 0; i < f->hist.nbins; i++)
            gy_free(f->hist.labels[i]);
    gy_free(f->hist.labels);
    gy_free(f->hist.ref);
    gy_free(f->hist.cur);
    memset(f, 0, sizeof(*f));
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    struct gy_buf b;
    va_list ap;
    gy_buf_init(&b, 1 << 16);
    va_start(ap, f);
    if (gy_buf_vprintf(&b, f, ap) != GY_OK) {
        va_end(ap);
        gy_buf_free(&b);
        return NULL;
    }
    va_end(ap);
    return gy_buf_detach(&b, NULL);
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : NAN;
}

/* ------------------------------------------------------------------ numeric */

static enum gy_status side_view(struct gy_monitor_acc *a, double **v, uint64_t **w,
                                struct gy__monitor_view *out)
{
    *v = NULL;
    *w = NULL;
    if (a->sk)
        return gy__monitor_sketch_view(a->sk, v, w, out);
    out->v = a->vals;
    out->w = NULL;
    out->len = a->nvals;
    out->total = a->nvals;
    out->rank_error = 0;
    return GY_OK;
}

/* Items < x in a view. */
static uint64_t below(const struct gy__monitor_view *v, double x)
{
    return gy__monitor_view_rank(v, nextafter(x, -INFINITY));
}

/* The current window's counts in the reference's 12 bins. *estimated when they come from a
 * sketch's ranks. */
static void cur_bins(const struct gy_monitor_acc *ref, const struct gy_monitor_acc *cur,
                     const struct gy__monitor_view *cv, uint64_t out[12], int *estimated)
{
    double cuts[GY_MONITOR_PSI_DECILES + 2];
    *estimated = 0;
    memset(out, 0, 12 * sizeof(uint64_t));
    cuts[0] = ref->bin_lo;
    memcpy(cuts + 1, ref->cuts, sizeof(ref->cuts));
    cuts[GY_MONITOR_PSI_DECILES + 1] = nextafter(ref->bin_hi, INFINITY);
    if (cur->has_bins && memcmp(cur->cuts, ref->cuts, sizeof(ref->cuts)) == 0 &&
        cur->bin_lo == ref->bin_lo && cur->bin_hi == ref->bin_hi) {
        memcpy(out, cur->bins, 12 * sizeof(uint64_t));
        return;
    }
    if (!cur->sk) {
        gy_monitor_bin_count(cuts, GY_MONITOR_PSI_DECILES + 2, cur->vals, cur->nvals, out);
        return;
    }
    *estimated = 1;
    {
        uint64_t prev = 0;
        for (int c = 0; c < GY_MONITOR_PSI_DECILES + 2; c++) {
            uint64_t r = below(cv, cuts[c]);
            r = GY_MAX(r, prev);
            out[c] = r - prev;
            prev = r;
        }
        out[11] = cv->total - GY_MIN(prev, cv->total);
    }
}

static enum gy_status numeric_hist(const struct gy__monitor_view *rv,
                                   const struct gy__monitor_view *cv, struct gy_monitor_hist *h)
{
    double lo = GY_MIN(gy__monitor_view_quantile(rv, 0.005), gy__monitor_view_quantile(cv, 0.005));
    double hi = GY_MAX(gy__monitor_view_quantile(rv, 0.995), gy__monitor_view_quantile(cv, 0.995));
    size_t nb = HIST_BINS;
    uint64_t pr = 0, pc = 0;
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.05 : 0.5;
        lo -= d;
        hi += d;
        nb = 1;
    }
    h->nbins = nb;
    h->edges = gy_malloc((nb + 1) * sizeof(double));
    h->ref = gy_malloc(nb * sizeof(double));
    h->cur = gy_malloc(nb * sizeof(double));
    if (!h->edges || !h->ref || !h->cur)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i <= nb; i++)
        h->edges[i] = i == nb ? hi : lo + (hi - lo) * (double)i / (double)nb;
    /* Bin i is [e_i, e_i+1); the first and last bins take everything beyond. */
    for (size_t i = 0; i < nb; i++) {
        uint64_t r = i + 1 == nb ? rv->total : below(rv, h->edges[i + 1]);
        uint64_t c = i + 1 == nb ? cv->total : below(cv, h->edges[i + 1]);
        r = GY_MAX(r, pr);
        c = GY_MAX(c, pc);
        h->ref[i] = (double)(r - pr) / (double)rv->total;
        h->cur[i] = (double)(c - pc) / (double)cv->total;
        pr = r;
        pc = c;
    }
    return GY_OK;
}

static void side_moments(const struct gy_monitor_acc *a, double *mean, double *std)
{
    if (a->sk) {
        *mean = a->mean;
        *std = a->nfinite ? sqrt(a->m2 / (double)a->nfinite) : NAN;
    } else {
        *mean = a->ex_mean;
        *std = a->ex_std;
    }
}

static enum gy_status compare_numeric(struct gy_monitor_acc *ref, struct gy_monitor_acc *cur,
                                      const struct gy_monitor_config *cfg,
                                      struct gy_monitor_feature *f)
{
    struct gy__monitor_view rv, cv;
    double *rvv = NULL, *cvv = NULL, p[13], q[13];
    uint64_t *rvw = NULL, *cvw = NULL, cb[12], rc12[12];
    int estimated = 0;
    size_t B = 0;
    enum gy_status rc;
    double nref, ncur;

    f->values_ref = ref->nfinite;
    f->values_cur = cur->nfinite;
    if (ref->nfinite == 0 || cur->nfinite == 0)
        return GY_OK; /* the caller reports "not enough data" */
    if ((rc = gy__monitor_acc_finish(ref)) || (rc = gy__monitor_acc_finish(cur)))
        return rc;
    if (!ref->has_bins && (rc = gy_monitor_acc_freeze_bins(ref)))
        return rc;
    if ((rc = side_view(ref, &rvv, &rvw, &rv)) || (rc = side_view(cur, &cvv, &cvw, &cv)))
        goto out;
    side_moments(ref, &f->ref_mean, &f->ref_std);
    side_moments(cur, &f->cur_mean, &f->cur_std);
    f->ref_min = ref->vmin;
    f->ref_max = ref->vmax;

    /* KS: exact samples as ks_2samp; a sketch gives D within +-(eps_ref + eps_cur) and the
     * p-value of the smallest D compatible with it (conservative). */
    if (!ref->sk && !cur->sk) {
        gy_monitor_ks_sorted(rv.v, rv.len, cv.v, cv.len, &f->ks);
        f->wasserstein = gy_monitor_wasserstein_sorted(rv.v, rv.len, cv.v, cv.len);
    } else {
        double d = gy__monitor_ks_views(&rv, &cv), dd;
        double eps =
            (double)rv.rank_error / (double)rv.total + (double)cv.rank_error / (double)cv.total;
        f->ks_approximate = 1;
        f->ks_rank_error = eps;
        f->ks.p_value = gy_monitor_ks_pvalue(rv.total, cv.total, d - eps > 0 ? d - eps : 0, 1,
                                             &f->ks.method, &dd);
        f->ks.statistic = d;
        f->wasserstein = gy__monitor_wasserstein_views(&rv, &cv);
    }
    f->wasserstein_norm = f->wasserstein / GY_MAX(f->ref_std, 0.001);

    /* PSI: 12 bins (below the reference min, the 10 deciles, above the max) and missing;
     * bins empty on both sides are left out; p_b = (c_b + 0.5) / (N + 0.5 B). */
    cur_bins(ref, cur, &cv, cb, &estimated);
    memcpy(rc12, ref->bins, sizeof(rc12));
    nref = (double)ref->rows;
    ncur = (double)cur->rows;
    for (int b = 0; b < 13; b++) {
        uint64_t r = b < 12 ? rc12[b] : ref->missing, c = b < 12 ? cb[b] : cur->missing;
        if (r + c == 0)
            continue;
        p[B] = (double)r;
        q[B] = (double)c;
        B++;
    }
    for (size_t b = 0; b < B; b++) {
        p[b] = (p[b] + 0.5) / (nref + 0.5 * (double)B);
        q[b] = (q[b] + 0.5) / (ncur + 0.5 * (double)B);
    }
    f->psi = gy_monitor_psi(p, q, B);
    f->out_of_range = (double)(cb[0] + cb[11]) / (double)cur->nfinite;

    f->effect_name = strcmp(cfg->numeric_effect, "psi") == 0 ? "psi" : "wasserstein_norm";
    f->effect = f->effect_name[0] == 'p' ? f->psi : f->wasserstein_norm;
    f->test_name = "ks";
    f->p_value = f->ks.p_value;
    if (f->ks_approximate || estimated || ref->sk)
        f->warning =
            fmt("values past the exact limit (%zu) were sketched: KS statistic within "
                "+-%.4g, p-value asymptotic at the low end%s",
                ref->opts.exact_limit, f->ks_rank_error, estimated ? ", PSI bins estimated" : "");
    rc = numeric_hist(&rv, &cv, &f->hist);
out:
    gy_free(rvv);
    gy_free(rvw);
    gy_free(cvv);
    gy_free(cvw);
    return rc;
}

/* ------------------------------------------------------------------ categorical, binary */

struct catref {
    const struct gy__monitor_cat *c;
    size_t slot;
};

static int cmp_catref(const void *a, const void *b)
{
    const struct gy__monitor_cat *x = ((const struct catref *)a)->c,
                                 *y = ((const struct catref *)b)->c;
    int m;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    m = memcmp(x->name, y->name, GY_MIN(x->len, y->len));
    if (m)
        return m;
    return (x->len > y->len) - (x->len < y->len);
}

/* Fills the histogram with the non-empty columns of (r, c) and their labels; returns the
 * column count kept in *k (r and c compacted in place). */
static enum gy_status compact_columns(double *r, double *c, char **labels, size_t n, size_t *k,
                                      double nr, double nc, struct gy_monitor_hist *h)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i] + c[i] > 0) {
            r[m] = r[i];
            c[m] = c[i];
            labels[m] = labels[i];
            if (m != i)
                labels[i] = NULL;
            m++;
        } else {
            gy_free(labels[i]);
            labels[i] = NULL;
        }
    }
    *k = m;
    h->nbins = m;
    h->labels = labels;
    h->ref = gy_malloc(GY_MAX(m, 1) * sizeof(double));
    h->cur = gy_malloc(GY_MAX(m, 1) * sizeof(double));
    if (!h->ref || !h->cur)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < m; i++) {
        h->ref[i] = r[i] / nr;
        h->cur[i] = c[i] / nc;
    }
    return GY_OK;
}

static enum gy_status compare_categorical(struct gy_monitor_acc *ref, struct gy_monitor_acc *cur,
                                          const struct gy_monitor_config *cfg,
                                          struct gy_monitor_feature *f)
{
    struct catref *cr = NULL;
    long *col_of = NULL;
    double *r = NULL, *c = NULL, unseen = 0;
    char **labels = NULL;
    size_t ntop, ncol, k = 0, n = 0;
    enum gy_status rc = GY_OK;
    double top_sum = 0;

    f->values_ref = ref->rows - ref->missing;
    f->values_cur = cur->rows - cur->missing;
    if (f->values_ref == 0 || f->values_cur == 0)
        return GY_OK;
    cr = gy_malloc(GY_MAX(ref->ncats, 1) * sizeof(*cr));
    col_of = gy_malloc(GY_MAX(ref->catcap, 1) * sizeof(long));
    if (!cr || !col_of) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ref->catcap; i++) {
        col_of[i] = -1;
        if (ref->cats[i].name) {
            cr[n].c = &ref->cats[i];
            cr[n++].slot = i;
        }
    }
    qsort(cr, n, sizeof(*cr), cmp_catref);
    ntop = GY_MIN(n, cfg->top_categories);
    ncol = ntop + 2; /* + other, unseen */
    r = gy_calloc(ncol, sizeof(double));
    c = gy_calloc(ncol, sizeof(double));
    labels = gy_calloc(ncol, sizeof(char *));
    if (!r || !c || !labels) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ntop; i++) {
        col_of[cr[i].slot] = (long)i;
        r[i] = (double)cr[i].c->count;
        top_sum += r[i];
        labels[i] = gy_strndup(cr[i].c->name, cr[i].c->len);
    }
    labels[ntop] = gy_strdup("(other)");
    labels[ntop + 1] = gy_strdup("(unseen)");
    for (size_t i = 0; i < ncol; i++)
        if (!labels[i]) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    r[ntop] = (double)f->values_ref - top_sum;
    for (size_t i = 0; i < cur->catcap; i++) {
        const struct gy__monitor_cat *cc = &cur->cats[i], *hit;
        if (!cc->name)
            continue;
        hit = gy__monitor_cat_lookup(ref, cc->name, cc->len, cc->hash);
        if (hit && col_of[hit - ref->cats] >= 0)
            c[col_of[hit - ref->cats]] += (double)cc->count;
        else if (hit || ref->cat_overflow)
            c[ntop] += (double)cc->count;
        else
            unseen += (double)cc->count;
    }
    c[ntop] += (double)cur->cat_overflow;
    c[ntop + 1] = unseen;
    f->unseen = unseen / (double)f->values_cur;
    rc = compact_columns(r, c, labels, ncol, &k, (double)f->values_ref, (double)f->values_cur,
                         &f->hist);
    labels = NULL;
    if (rc)
        goto out;
    if ((rc = gy_monitor_chi2_contingency(r, c, k, &f->chi2)))
        goto out;
    f->jensenshannon = gy_monitor_jensenshannon(r, c, k, 2.0);
    f->effect_name = "jensenshannon";
    f->effect = f->jensenshannon;
    f->test_name = "chi2";
    f->p_value = f->chi2.p_value;
    if (ref->cat_overflow || cur->cat_overflow)
        f->warning = fmt("more than %zu distinct values: the rest were counted as \"other\"",
                         ref->opts.max_categories);
out:
    if (labels)
        for (size_t i = 0; i < ncol; i++)
            gy_free(labels[i]);
    gy_free(labels);
    gy_free(cr);
    gy_free(col_of);
    gy_free(r);
    gy_free(c);
    return rc;
}

static enum gy_status compare_binary(struct gy_monitor_acc *ref, struct gy_monitor_acc *cur,
                                     struct gy_monitor_feature *f)
{
    double r[2], c[2];
    char **labels;
    size_t k;
    enum gy_status rc;

    f->values_ref = ref->ntrue + ref->nfalse;
    f->values_cur = cur->ntrue + cur->nfalse;
    if (f->values_ref == 0 || f->values_cur == 0)
        return GY_OK;
    gy_monitor_ztest_2prop(ref->ntrue, f->values_ref, cur->ntrue, f->values_cur, &f->z,
                           &f->z_p_value);
    f->prop_ref = (double)ref->ntrue / (double)f->values_ref;
    f->prop_cur = (double)cur->ntrue / (double)f->values_cur;
    r[0] = (double)ref->nfalse;
    r[1] = (double)ref->ntrue;
    c[0] = (double)cur->nfalse;
    c[1] = (double)cur->ntrue;
    labels = gy_calloc(2, sizeof(char *));
    if (!labels)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    labels[0] = gy_strdup("false");
    labels[1] = gy_strdup("true");
    if (!labels[0] || !labels[1]) {
        gy_free(labels[0]);
        gy_free(labels[1]);
        gy_free(labels);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if ((rc = compact_columns(r, c, labels, 2, &k, (double)f->values_ref, (double)f->values_cur,
                              &f->hist)))
        return rc;
    f->jensenshannon = gy_monitor_jensenshannon(r, c, k, 2.0);
    f->effect_name = "jensenshannon";
    f->effect = f->jensenshannon;
    f->test_name = "z";
    f->p_value = f->z_p_value;
    return GY_OK;
}

enum gy_status gy_monitor_compare(const char *name, struct gy_monitor_acc *ref,
                                  struct gy_monitor_acc *cur, const struct gy_monitor_config *cfg,
                                  struct gy_monitor_feature *f)
{
    enum gy_status rc;
    memset(f, 0, sizeof(*f));
    f->name = gy_strdup(name);
    if (!f->name)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    f->kind = ref->kind;
    if (ref->kind != cur->kind) {
        rc = gy_error_set(GY_E_INVALID, "feature \"%s\": %s reference against a %s window", name,
                          gy_monitor_kind_name(ref->kind), gy_monitor_kind_name(cur->kind));
        goto fail;
    }
    f->rows_ref = ref->rows;
    f->rows_cur = cur->rows;
    f->missing_ref = ratio(ref->missing, ref->rows);
    f->missing_cur = ratio(cur->missing, cur->rows);
    f->out_of_range = NAN;
    f->unseen = NAN;
    f->ks.statistic = f->ks.p_value = NAN;
    f->psi = f->wasserstein = f->wasserstein_norm = NAN;
    f->chi2.statistic = f->chi2.p_value = NAN;
    f->jensenshannon = f->z = f->z_p_value = NAN;
    f->effect = f->p_value = f->p_adjusted = NAN;
    f->ref_mean = f->ref_std = f->cur_mean = f->cur_std = f->ref_min = f->ref_max = NAN;
    f->prop_ref = f->prop_cur = NAN;
    switch (ref->kind) {
    case GY_MONITOR_NUMERIC:
        rc = compare_numeric(ref, cur, cfg, f);
        break;
    case GY_MONITOR_CATEGORICAL:
        rc = compare_categorical(ref, cur, cfg, f);
        break;
    default:
        rc = compare_binary(ref, cur, f);
        break;
    }
    if (rc)
        goto fail;
    if (f->values_ref == 0 || f->values_cur == 0) {
        int r0 = f->values_ref == 0;
        uint64_t rows = r0 ? f->rows_ref : f->rows_cur;
        f->status = GY_MONITOR_NOT_ENOUGH_DATA;
        f->message = fmt("not enough data: the %s has no values (%llu rows%s)",
                         r0 ? "reference" : "current window", (unsigned long long)rows,
                         rows ? ", all missing" : "");
        if (!f->message) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto fail;
        }
        return GY_OK;
    }
    if (!f->warning && (f->values_ref < cfg->small_window || f->values_cur < cfg->small_window))
        f->warning = fmt("small sample (%llu reference and %llu current values, under %zu): fixed "
                         "thresholds on distances are unreliable",
                         (unsigned long long)f->values_ref, (unsigned long long)f->values_cur,
                         cfg->small_window);
    return GY_OK;
fail:
    gy_monitor_feature_clear(f);
    return rc;
}

/* ------------------------------------------------------------------ decision */

enum gy_status gy_monitor_decide(struct gy_monitor_report *r, const struct gy_monitor_config *cfg)
{
    double *p = NULL, *adj = NULL;
    size_t m = 0, rank = 0;
    const char *important = NULL;
    int important_rank = 0;
    enum gy_status rc;

    p = gy_malloc(GY_MAX(r->nfeatures, 1) * sizeof(double));
    adj = gy_malloc(GY_MAX(r->nfeatures, 1) * sizeof(double));
    if (!p || !adj) {
        gy_free(p);
        gy_free(adj);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->nfeatures; i++)
        if (r->features[i].status == GY_MONITOR_OK && !r->features[i].prediction)
            p[m++] = r->features[i].p_value;
    if ((rc = gy_monitor_bh_adjust(p, m, adj))) {
        gy_free(p);
        gy_free(adj);
        return rc;
    }
    for (size_t i = 0; i < r->nfeatures; i++)
        r->features[i].importance_rank = 0;
    for (size_t k = 0; k < cfg->nimportance; k++)
        for (size_t i = 0; i < r->nfeatures; i++)
            if (!r->features[i].prediction &&
                strcmp(r->features[i].name, cfg->importance[k]) == 0 &&
                !r->features[i].importance_rank) {
                r->features[i].importance_rank = (int)++rank;
                break;
            }
    r->checked = r->drifted = 0;
    m = 0;
    for (size_t i = 0; i < r->nfeatures; i++) {
        struct gy_monitor_feature *f = &r->features[i];
        double miss_up = f->missing_cur - (f->rows_ref ? f->missing_ref : 0.0);
        gy_free(f->quality_message);
        f->quality_message = NULL;
        f->quality_alert = 0;
        if (f->rows_cur > 0 && miss_up > cfg->quality_missing) {
            f->quality_alert = 1;
            f->quality_message =
                fmt("missing rate %.4g (reference %.4g)", f->missing_cur, f->missing_ref);
        } else if (f->out_of_range > cfg->quality_range) {
            f->quality_alert = 1;
            f->quality_message = fmt("%.4g of the values are outside the reference range "
                                     "[%.6g, %.6g]",
                                     f->out_of_range, f->ref_min, f->ref_max);
        } else if (f->unseen > cfg->quality_unseen) {
            f->quality_alert = 1;
            f->quality_message =
                fmt("%.4g of the values are categories never seen in the reference", f->unseen);
        }
        if (f->status != GY_MONITOR_OK || f->prediction) {
            f->drift = 0;
            continue;
        }
        f->p_adjusted = adj[m++];
        f->alpha = threshold(cfg, f->name, "alpha");
        f->effect_threshold = threshold(cfg, f->name, f->effect_name);
        f->drift = f->effect >= f->effect_threshold && f->p_adjusted < f->alpha;
        r->checked++;
        if (f->drift) {
            r->drifted++;
            if (f->importance_rank > 0 && (size_t)f->importance_rank <= cfg->top_important &&
                (!important || f->importance_rank < important_rank)) {
                important = f->name;
                important_rank = f->importance_rank;
            }
        }
    }
    /* Prediction records: their own Benjamini-Hochberg family and verdict (any output). */
    m = 0;
    for (size_t i = 0; i < r->nfeatures; i++)
        if (r->features[i].status == GY_MONITOR_OK && r->features[i].prediction)
            p[m++] = r->features[i].p_value;
    if ((rc = gy_monitor_bh_adjust(p, m, adj))) {
        gy_free(p);
        gy_free(adj);
        return rc;
    }
    r->prediction_checked = r->prediction_drifted = 0;
    m = 0;
    for (size_t i = 0; i < r->nfeatures; i++) {
        struct gy_monitor_feature *f = &r->features[i];
        if (f->status != GY_MONITOR_OK || !f->prediction)
            continue;
        f->p_adjusted = adj[m++];
        f->alpha = threshold(cfg, f->name, "alpha");
        f->effect_threshold = threshold(cfg, f->name, f->effect_name);
        f->drift = f->effect >= f->effect_threshold && f->p_adjusted < f->alpha;
        r->prediction_checked++;
        r->prediction_drifted += f->drift != 0;
    }
    r->prediction_drift = r->prediction_drifted > 0;
    gy_free(p);
    gy_free(adj);
    r->share = r->checked ? (double)r->drifted / (double)r->checked : 0.0;
    r->drift = (r->checked > 0 && r->share >= cfg->drift_share) || important != NULL;
    gy_free(r->reason);
    if (r->checked == 0)
        r->reason = fmt("no feature could be compared");
    else if (r->checked > 0 && r->share >= cfg->drift_share)
        r->reason = fmt("%zu of %zu features drifted (%.0f%%, at least %.0f%%)", r->drifted,
                        r->checked, 100 * r->share, 100 * cfg->drift_share);
    else if (important)
        r->reason = fmt("important feature \"%s\" (rank %d of the top %zu) drifted; %zu of %zu "
                        "features drifted",
                        important, important_rank, cfg->top_important, r->drifted, r->checked);
    else
        r->reason =
            fmt("%zu of %zu features drifted (%.0f%%, under %.0f%%), none of the top "
                "%zu most important",
                r->drifted, r->checked, 100 * r->share, 100 * cfg->drift_share, cfg->top_important);
    if (!r->reason)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    return GY_OK;
}

void gy_monitor_report_free(struct gy_monitor_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfeatures; i++)
        gy_monitor_feature_clear(&r->features[i]);
    gy_free(r->features);
    gy_free(r->reference);
    gy_free(r->current);
    gy_free(r->reason);
    gy_free(r);
}

/* ------------------------------------------------------------------ datasets */

static int kind_of(enum gy_type t, enum gy_monitor_kind *k)
{
    switch (t) {
    case GY_TYPE_FLOAT64:
    case GY_TYPE_INT64:
        *k = GY_MONITOR_NUMERIC;
        return 1;
    case GY_TYPE_STRING:
        *k = GY_MONITOR_CATEGORICAL;
        return 1;
    case GY_TYPE_BOOL:
        *k = GY_MONITOR_BINARY;
        return 1;
    default:
        return 0;
    }
}

/*
 * Copies the rows of @p c whose byte in @p mask is set into @p out (arrays new, free with
 * sel_free). Keeps the column's type.
 */
static enum gy_status sel_copy(const struct gy_colvec *c, const uint8_t *mask,
                               struct gy_colvec *out)
{
    size_t k = 0, bytes = 0;
    memset(out, 0, sizeof(*out));
    out->type = c->type;
    for (size_t i = 0; i < c->n; i++)
        if (mask[i]) {
            k++;
            if (c->type == GY_TYPE_STRING && c->valid[i])
                bytes += c->off[i + 1] - c->off[i];
        }
    out->valid = gy_calloc(GY_MAX(k, 1), 1);
    if (!out->valid)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    switch (c->type) {
    case GY_TYPE_FLOAT64:
        out->f64 = gy_calloc(GY_MAX(k, 1), sizeof(double));
        break;
    case GY_TYPE_BOOL:
        out->b = gy_calloc(GY_MAX(k, 1), 1);
        break;
    case GY_TYPE_STRING:
        out->off = gy_calloc(k + 1, sizeof(uint32_t));
        out->data = gy_malloc(GY_MAX(bytes, 1));
        break;
    default:
        out->i64 = gy_calloc(GY_MAX(k, 1), sizeof(int64_t));
        break;
    }
    if (!out->f64 && !out->b && !out->i64 && !(out->off && out->data))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        size_t j = out->n;
        if (!mask[i])
            continue;
        out->valid[j] = c->valid[i];
        switch (c->type) {
        case GY_TYPE_FLOAT64:
            out->f64[j] = c->f64[i];
            break;
        case GY_TYPE_BOOL:
            out->b[j] = c->b[i];
            break;
        case GY_TYPE_STRING: {
            uint32_t len = c->valid[i] ? c->off[i + 1] - c->off[i] : 0;
            if (len)
                memcpy(out->data + out->data_len, c->data + c->off[i], len);
            out->data_len += len;
            out->off[j + 1] = (uint32_t)out->data_len;
            break;
        }
        default:
            out->i64[j] = c->i64[i];
            break;
        }
        out->n++;
    }
    return GY_OK;
}

static void sel_free(struct gy_colvec *c)
{
    gy_free(c->valid);
    gy_free(c->f64);
    gy_free(c->b);
    gy_free(c->i64);
    gy_free(c->off);
    gy_free(c->data);
    memset(c, 0, sizeof(*c));
}

/* One side of a comparison: NAME@VERSION, optionally only the rows whose mask byte is set. */
struct side {
    const char *name;
    int64_t version;
    const uint8_t *mask; /* one byte per row of the version, or NULL: every row */
    uint64_t nmask;      /* bytes in mask */
    uint64_t selected;   /* rows set in mask */
};

/* Reads column @p col of the side into @p acc. */
static enum gy_status fill(struct gy_db *db, const struct side *sd, const char *col,
                           struct gy_monitor_acc *acc)
{
    struct gy_lake_scan *s = NULL;
    const char *cols[1] = {col};
    uint64_t base = 0;
    enum gy_status rc;
    if ((rc = gy_lake_scan_open(db, sd->name, sd->version, cols, 1, &s)))
        return rc;
    for (;;) {
        const struct gy_colvec *cv;
        struct gy_colvec sel;
        size_t nrows;
        if ((rc = gy_lake_scan_next(s, &cv, &nrows)) || nrows == 0)
            break;
        if (!sd->mask) {
            rc = gy_monitor_acc_add_colvec(acc, &cv[0]);
        } else if (base + nrows > sd->nmask) {
            rc = gy_error_set(GY_E_CORRUPT, "more rows than the version holds");
        } else {
            rc = sel_copy(&cv[0], sd->mask + base, &sel);
            if (rc == GY_OK && sel.n)
                rc = gy_monitor_acc_add_colvec(acc, &sel);
            sel_free(&sel);
        }
        base += nrows;
        if (rc)
            break;
    }
    gy_lake_scan_free(s);
    if (rc)
        gy_error_wrap(rc, "%s@%lld, column \"%s\"", sd->name, (long long)sd->version, col);
    return rc;
}

/* Rows and non-null values of column @p col of the side. */
static enum gy_status count_values(struct gy_db *db, const struct side *sd, const char *col,
                                   uint64_t *rows, uint64_t *valid)
{
    struct gy_lake_scan *s = NULL;
    const char *cols[1] = {col};
    uint64_t base = 0;
    enum gy_status rc;
    *rows = *valid = 0;
    if ((rc = gy_lake_scan_open(db, sd->name, sd->version, cols, 1, &s)))
        return rc;
    for (;;) {
        const struct gy_colvec *cv;
        size_t nrows;
        if ((rc = gy_lake_scan_next(s, &cv, &nrows)) || nrows == 0)
            break;
        for (size_t i = 0; i < nrows; i++) {
            if (sd->mask && (base + i >= sd->nmask || !sd->mask[base + i]))
                continue;
            *rows += 1;
            *valid += cv[0].valid[i] != 0;
        }
        base += nrows;
    }
    gy_lake_scan_free(s);
    return rc;
}

/* The schema, rows and resolved version of NAME@V. */
static enum gy_status describe(struct gy_db *db, const char *name, int64_t version,
                               struct gy_schema **schema, uint64_t *rows, char **label)
{
    struct gy_lake_scan *s = NULL;
    json_t *man = NULL;
    enum gy_status rc;
    *schema = NULL;
    *label = NULL;
    if ((rc = gy_lake_version_get(db, name, version, &man)))
        return rc;
    *label = fmt("%s@%lld", name, (long long)gy_json_int(man, "version", version));
    json_decref(man);
    if (!*label)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if ((rc = gy_lake_scan_open(db, name, version, NULL, 0, &s)))
        return rc;
    *rows = gy_lake_scan_rows(s);
    *schema = gy_schema_copy(gy_lake_scan_schema(s));
    gy_lake_scan_free(s);
    if (!*schema)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    return GY_OK;
}

/*
 * Compares the sides @p rsd and @p csd; @p features as in gy_monitor_check_datasets;
 * @p cur_label (may be NULL) replaces the current side's "NAME@V" label.
 */
static enum gy_status check_sides(struct gy_db *db, const struct side *rsd, const struct side *csd,
                                  const char *cur_label, const char *const *features,
                                  size_t nfeatures, const struct gy_monitor_config *cfg,
                                  struct gy_monitor_report **out)
{
    struct gy_schema *rs = NULL, *cs = NULL;
    struct gy_monitor_report *r = NULL;
    struct gy_monitor_acc *ra = NULL, *ca = NULL;
    enum gy_status rc;
    size_t n;

    *out = NULL;
    if ((rc = gy_monitor_config_check(cfg)))
        return rc;
    r = gy_calloc(1, sizeof(*r));
    if (!r)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    r->cfg = *cfg;
    r->cfg.overrides = NULL;
    r->cfg.noverrides = 0;
    r->cfg.importance = NULL;
    r->cfg.nimportance = 0;
    r->created_us = gy_time_wall_us();
    if ((rc = describe(db, rsd->name, rsd->version, &rs, &r->rows_ref, &r->reference)) ||
        (rc = describe(db, csd->name, csd->version, &cs, &r->rows_cur, &r->current)))
        goto fail;
    if (rsd->mask)
        r->rows_ref = rsd->selected;
    if (csd->mask)
        r->rows_cur = csd->selected;
    if (cur_label) {
        gy_free(r->current);
        if (!(r->current = gy_strdup(cur_label))) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    n = features ? nfeatures : rs->ncols;
    for (size_t i = 0; features && i < nfeatures; i++)
        if (gy_schema_find(rs, features[i]) < 0) {
            rc = gy_error_set(GY_NOT_FOUND, "feature \"%s\" is not a column of %s", features[i],
                              r->reference);
            goto fail;
        }
    r->features = gy_calloc(GY_MAX(n, 1), sizeof(*r->features));
    if (!r->features) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = features ? features[i] : rs->cols[i].name;
        long ri = gy_schema_find(rs, name), ci = gy_schema_find(cs, name);
        enum gy_monitor_kind kr = GY_MONITOR_NUMERIC, kc = GY_MONITOR_NUMERIC;
        struct gy_monitor_feature *f = &r->features[r->nfeatures];
        int okr = kind_of(rs->cols[ri].type, &kr);
        int okc = ci >= 0 && kind_of(cs->cols[ci].type, &kc);
        uint64_t rrows = 0, rvalid = 1, crows = 0, cvalid = 1;
        if (okr && ci >= 0 && (!okc || kr != kc)) {
            /* A column without a single value has whatever type inference gave it: compare
             * it as all missing instead of calling the types different. */
            if ((rc = count_values(db, csd, name, &crows, &cvalid)) ||
                (rc = count_values(db, rsd, name, &rrows, &rvalid)))
                goto fail;
            if (cvalid == 0) {
                okc = 1;
                kc = kr;
            } else if (rvalid == 0 && okc) {
                kr = kc;
            }
        }
        if (!okr || !okc || kr != kc) {
            memset(f, 0, sizeof(*f));
            f->name = gy_strdup(name);
            f->kind = okr ? kr : GY_MONITOR_NUMERIC;
            f->status = GY_MONITOR_SKIPPED;
            if (!okr)
                f->message = fmt("%s columns are not compared", gy_type_name(rs->cols[ri].type));
            else if (ci < 0)
                f->message = fmt("not a column of %s", r->current);
            else
                f->message =
                    fmt("type differs: %s in %s, %s in %s", gy_type_name(rs->cols[ri].type),
                        r->reference, gy_type_name(cs->cols[ci].type), r->current);
            f->missing_ref = f->missing_cur = f->out_of_range = f->unseen = NAN;
            r->nfeatures++;
            if (!f->name || !f->message) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto fail;
            }
            continue;
        }
        if ((rc = gy_monitor_acc_create(kr, &cfg->acc, &ra)) ||
            (rc = gy_monitor_acc_create(kr, &cfg->acc, &ca)))
            goto fail;
        if (rvalid == 0)
            rc = gy_monitor_acc_add_missing(ra, rrows);
        else
            rc = fill(db, rsd, name, ra);
        if (rc)
            goto fail;
        /* Frozen reference bins make the window's PSI counts exact even when it is sketched. */
        if (kr == GY_MONITOR_NUMERIC && ra->nfinite > 0 &&
            ((rc = gy_monitor_acc_freeze_bins(ra)) || (rc = gy_monitor_acc_use_bins(ca, ra))))
            goto fail;
        if (cvalid == 0)
            rc = gy_monitor_acc_add_missing(ca, crows);
        else
            rc = fill(db, csd, name, ca);
        if (rc)
            goto fail;
        if ((rc = gy_monitor_compare(name, ra, ca, cfg, f)))
            goto fail;
        r->nfeatures++;
        gy_monitor_acc_free(ra);
        gy_monitor_acc_free(ca);
        ra = ca = NULL;
    }
    if ((rc = gy_monitor_decide(r, cfg)))
        goto fail;
    gy_schema_free(rs);
    gy_schema_free(cs);
    *out = r;
    return GY_OK;
fail:
    gy_monitor_acc_free(ra);
    gy_monitor_acc_free(ca);
    gy_schema_free(rs);
    gy_schema_free(cs);
    gy_monitor_report_free(r);
    return rc;
}

enum gy_status gy_monitor_check_datasets(struct gy_db *db, const char *ref_name,
                                         int64_t ref_version, const char *cur_name,
                                         int64_t cur_version, const char *const *features,
                                         size_t nfeatures, const struct gy_monitor_config *cfg,
                                         struct gy_monitor_report **out)
{
    struct side rsd = {ref_name, ref_version, NULL, 0, 0};
    struct side csd = {cur_name, cur_version, NULL, 0, 0};
    return check_sides(db, &rsd, &csd, NULL, features, nfeatures, cfg, out);
}

enum gy_status gy__monitor_check_masked(struct gy_db *db, const char *ref_name, int64_t ref_version,
                                        const char *cur_name, int64_t cur_version,
                                        const uint8_t *cur_mask, uint64_t cur_nmask,
                                        const char *cur_label, const char *const *features,
                                        size_t nfeatures, const struct gy_monitor_config *cfg,
                                        struct gy_monitor_report **out)
{
    struct side rsd = {ref_name, ref_version, NULL, 0, 0};
    struct side csd = {cur_name, cur_version, cur_mask, cur_nmask, 0};
    for (uint64_t i = 0; cur_mask && i < cur_nmask; i++)
        csd.selected += cur_mask[i] != 0;
    return check_sides(db, &rsd, &csd, cur_label, features, nfeatures, cfg, out);
}
