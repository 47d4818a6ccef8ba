/* SPDX-License-Identifier: MIT */
/*
 * deployment.c - drift of served traffic. The deployment's prediction log
 * (predlog-DEPLOYMENT, latest version) is read once for its model_version, variant and time
 * columns to pick the rows of one model version in a window: all of them, a sliding window (the
 * last N rows, or the rows logged in the last D) or the next full tumbling window (N rows, or an
 * epoch-aligned period D) after the end of the last reported one, kept in the store
 * (drift_windows). The model inputs of those rows are compared with the training data recorded
 * in that model version's lineage (dataset@version), through the same per-feature comparison
 * and decision as the offline dataset check; the logged outputs (output_k) are compared with
 * the model's own score distribution on its training rows, which its bundle's reference
 * profile holds (a 20-bin histogram per output), as extra "prediction" records with their own
 * verdict.
 */
#include "models/models.h"
#include "monitor/monitor_int.h"
#include "registry/registry.h"

#include <math.h>
#include <string.h>

#define MAX_MODELS 1024                  /* distinct model names told apart in one log */
#define TIME_GRACE_US ((int64_t)3000000) /* a time window is complete this long after its end */
#define MAX_WINDOW_ROWS ((uint64_t)1000000000)
#define DURATION_MAX_US ((int64_t)3650 * 86400 * 1000000)
#define PRED_BINS 20 /* the bundle profile's score histogram */

/* The log's own columns, never compared as inputs. */
static int log_column(const char *name)
{
    static const char *const fixed[] = {"request_id", "time",          "deployment",
                                        "variant",    "model_version", "latency_us"};
    for (size_t i = 0; i < GY_ARRAY_LEN(fixed); i++)
        if (strcmp(name, fixed[i]) == 0)
            return 1;
    return strncmp(name, "output_", 7) == 0;
}

enum gy_status gy_monitor_duration_parse(const char *s, int64_t *us)
{
    int64_t n = 0, unit = 0;
    size_t i = 0;
    *us = 0;
    if (!s)
        return gy_error_set(GY_E_INVALID, "a duration is required");
    for (; i < 12 && s[i] >= '0' && s[i] <= '9'; i++)
        n = n * 10 + (s[i] - '0');
    if (i > 0) {
        const char *u = s + i;
        if (strcmp(u, "ms") == 0)
            unit = 1000;
        else if (strcmp(u, "s") == 0)
            unit = 1000000;
        else if (strcmp(u, "m") == 0)
            unit = (int64_t)60 * 1000000;
        else if (strcmp(u, "h") == 0)
            unit = (int64_t)3600 * 1000000;
        else if (strcmp(u, "d") == 0)
            unit = (int64_t)86400 * 1000000;
        else if (strcmp(u, "w") == 0)
            unit = (int64_t)7 * 86400 * 1000000;
    }
    if (!unit)
        return gy_error_set(GY_E_INVALID,
                            "bad duration \"%.32s\": expected a whole number with a unit ms, s, "
                            "m, h, d or w (e.g. 90s, 1h)",
                            s);
    if (n == 0 || n > DURATION_MAX_US / unit)
        return gy_error_set(GY_E_INVALID, "duration \"%.32s\" must be above 0 and at most 10 years",
                            s);
    *us = n * unit;
    return GY_OK;
}

enum gy_status gy_monitor_window_parse(const char *s, uint64_t *rows, int64_t *us)
{
    int64_t n;
    *rows = 0;
    *us = 0;
    if (s && strncmp(s, "rows:", 5) == 0) {
        if (gy_parse_int64(s + 5, &n) || n < 1 || (uint64_t)n > MAX_WINDOW_ROWS)
            return gy_error_set(GY_E_INVALID,
                                "window \"%.40s\": rows:N needs N from 1 to 1000000000", s);
        *rows = (uint64_t)n;
        return GY_OK;
    }
    if (s && strncmp(s, "time:", 5) == 0) {
        enum gy_status rc = gy_monitor_duration_parse(s + 5, us);
        return rc ? gy_error_wrap(rc, "window \"%.40s\"", s) : GY_OK;
    }
    return gy_error_set(GY_E_INVALID, "window \"%.40s\" must be rows:N or time:DURATION",
                        s ? s : "");
}

struct logrows {
    uint64_t n;
    int64_t *mv;  /* model_version per row; 0 when null */
    int32_t *mi;  /* index into names per row; -1 when null */
    int64_t *t;   /* time per row (us); INT64_MIN when null */
    char **names; /* distinct model names (before '@' in variant) */
    size_t nnames;
};

static void logrows_clear(struct logrows *l)
{
    for (size_t i = 0; i < l->nnames; i++)
        gy_free(l->names[i]);
    gy_free(l->names);
    gy_free(l->mv);
    gy_free(l->mi);
    gy_free(l->t);
}

static enum gy_status intern(struct logrows *l, const char *s, size_t len, int32_t *out)
{
    for (size_t i = 0; i < l->nnames; i++)
        if (strlen(l->names[i]) == len && memcmp(l->names[i], s, len) == 0) {
            *out = (int32_t)i;
            return GY_OK;
        }
    if (l->nnames >= MAX_MODELS)
        return gy_error_set(GY_E_INVALID, "the prediction log names more than %d models",
                            MAX_MODELS);
    if (!(l->names[l->nnames] = gy_malloc(len + 1)))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    memcpy(l->names[l->nnames], s, len);
    l->names[l->nnames][len] = '\0';
    *out = (int32_t)l->nnames++;
    return GY_OK;
}

/* Reads model_version, the model name of variant and time for every row of NAME@VERSION. */
static enum gy_status read_log(struct gy_db *db, const char *name, int64_t version,
                               struct logrows *l)
{
    const char *cols[3] = {"model_version", "variant", "time"};
    struct gy_lake_scan *s = NULL;
    uint64_t at = 0;
    enum gy_status rc;
    memset(l, 0, sizeof(*l));
    if ((rc = gy_lake_scan_open(db, name, version, cols, 3, &s)))
        return rc;
    l->n = gy_lake_scan_rows(s);
    l->mv = gy_calloc(GY_MAX(l->n, 1), sizeof(*l->mv));
    l->mi = gy_calloc(GY_MAX(l->n, 1), sizeof(*l->mi));
    l->t = gy_calloc(GY_MAX(l->n, 1), sizeof(*l->t));
    l->names = gy_calloc(MAX_MODELS, sizeof(*l->names));
    if (!l->mv || !l->mi || !l->t || !l->names) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        const struct gy_colvec *cv;
        size_t nrows;
        if ((rc = gy_lake_scan_next(s, &cv, &nrows)) || nrows == 0)
            break;
        if (at + nrows > l->n || cv[0].type != GY_TYPE_INT64 || cv[1].type != GY_TYPE_STRING ||
            cv[2].type != GY_TYPE_TIMESTAMP) {
            rc = gy_error_set(GY_E_SCHEMA,
                              "%s is not a prediction log (model_version int64, "
                              "variant string, time timestamp)",
                              name);
            break;
        }
        for (size_t i = 0; i < nrows && rc == GY_OK; i++, at++) {
            l->mv[at] = cv[0].valid[i] ? cv[0].i64[i] : 0;
            l->t[at] = cv[2].valid[i] ? cv[2].i64[i] : INT64_MIN;
            l->mi[at] = -1;
            if (cv[1].valid[i]) {
                const char *v = cv[1].data + cv[1].off[i];
                size_t len = cv[1].off[i + 1] - cv[1].off[i];
                const char *at_sign = memchr(v, '@', len);
                rc = intern(l, v, at_sign ? (size_t)(at_sign - v) : len, &l->mi[at]);
            }
        }
        if (rc)
            break;
    }
out:
    gy_lake_scan_free(s);
    if (rc)
        gy_error_wrap(rc, "%s", name);
    return rc;
}

/* Column names of NAME@V. *out new. */
static enum gy_status schema_of(struct gy_db *db, const char *name, int64_t version,
                                struct gy_schema **out)
{
    struct gy_lake_scan *s = NULL;
    enum gy_status rc = gy_lake_scan_open(db, name, version, NULL, 0, &s);
    if (rc)
        return rc;
    *out = gy_schema_copy(gy_lake_scan_schema(s));
    gy_lake_scan_free(s);
    return *out ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
}

static char *dupf(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *f, ...)
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

/* ------------------------------------------------------------------ windows */

/* The stored end of the last reported tumbling window (*have 0: none). */
static enum gy_status window_state(struct gy_db *db, const char *deployment, const char *spec,
                                   int64_t *end, int *have)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p[2] = {GY_DB_P_TEXT(deployment), GY_DB_P_TEXT(spec)};
    enum gy_status rc =
        gy_db_query(db, "SELECT window_end FROM drift_windows WHERE deployment = $1 AND spec = $2",
                    p, 2, &rows);
    *have = 0;
    *end = 0;
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) > 0) {
        *have = 1;
        *end = gy_db_rows_int(rows, 0, 0);
    }
    gy_db_rows_free(rows);
    return GY_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void fmt_duration(int64_t us, char out[32])
{
    static const struct {
        int64_t us;
        const char *u;
    } units[] = {{(int64_t)7 * 86400 * 1000000, "w"},
                 {(int64_t)86400 * 1000000, "d"},
                 {(int64_t)3600 * 1000000, "h"},
                 {(int64_t)60 * 1000000, "m"},
                 {1000000, "s"},
                 {1000, "ms"}};
    for (size_t i = 0; i < GY_ARRAY_LEN(units); i++)
        if (us % units[i].us == 0) {
            snprintf(out, 32, "%lld%s", (long long)(us / units[i].us), units[i].u);
            return;
        }
    snprintf(out, 32, "%lldus", (long long)us);
}

struct pick {
    int64_t mv;
    int32_t model;
};

static int match(const struct logrows *l, const struct pick *pk, uint64_t i)
{
    return l->mv[i] == pk->mv && l->mi[i] == pk->model;
}

/*
 * Marks the rows of the window in @p mask (*keep rows) and describes it in @p r-to-be fields
 * of @p tw; *none = 1 (tw->reason) when a tumbling window is not full yet.
 */
static enum gy_status select_rows(struct gy_db *db, const char *deployment, const struct logrows *l,
                                  const struct pick *pk, const struct gy_monitor_window *win,
                                  int tumbling, struct gy_monitor_tumble *tw, uint8_t *mask,
                                  uint64_t *keep, int *none)
{
    int64_t now = gy_time_wall_us(), end = 0;
    int have = 0;
    enum gy_status rc;
    char d[32];

    *keep = 0;
    *none = 0;
    if (!tumbling) {
        for (uint64_t i = l->n; i-- > 0;) {
            if (!match(l, pk, i))
                continue;
            if (win && win->last_us && (l->t[i] == INT64_MIN || l->t[i] < now - win->last_us))
                continue;
            if (win && win->last_rows && *keep >= win->last_rows)
                break;
            mask[i] = 1;
            (*keep)++;
        }
        return GY_OK;
    }
    if (win->tumbling_rows)
        snprintf(tw->spec, sizeof tw->spec, "rows:%llu", (unsigned long long)win->tumbling_rows);
    else
        snprintf(tw->spec, sizeof tw->spec, "time:%lldus", (long long)win->tumbling_us);
    if (win->model_version)
        snprintf(tw->spec + strlen(tw->spec), sizeof tw->spec - strlen(tw->spec), "/v%lld",
                 (long long)win->model_version);
    if ((rc = window_state(db, deployment, tw->spec, &end, &have)))
        return rc;
    if (win->tumbling_rows) {
        uint64_t from = have && end > 0 ? (uint64_t)end : 0, c = 0, last = from;
        for (uint64_t i = from; i < l->n && c < win->tumbling_rows; i++)
            if (match(l, pk, i)) {
                c++;
                last = i;
            }
        if (c < win->tumbling_rows) {
            snprintf(tw->reason, sizeof tw->reason,
                     "no full new window: %llu of %llu rows logged since log row %llu",
                     (unsigned long long)c, (unsigned long long)win->tumbling_rows,
                     (unsigned long long)from);
            *none = 1;
            return GY_OK;
        }
        for (uint64_t i = from; i <= last; i++)
            if (match(l, pk, i)) {
                mask[i] = 1;
                (*keep)++;
            }
        tw->start = (int64_t)from;
        tw->end = (int64_t)last + 1;
        return GY_OK;
    } else {
        int64_t D = win->tumbling_us, t0 = INT64_MAX, ws, we;
        char a[32], b[32];
        for (uint64_t i = 0; i < l->n; i++)
            if (match(l, pk, i) && l->t[i] != INT64_MIN && (!have || l->t[i] >= end) &&
                l->t[i] < t0)
                t0 = l->t[i];
        fmt_duration(D, d);
        if (t0 == INT64_MAX) {
            if (have)
                gy_time_format(end, a);
            snprintf(tw->reason, sizeof tw->reason, "no full new window of %s: no row logged%s%s",
                     d, have ? " since " : "", have ? a : "");
            *none = 1;
            return GY_OK;
        }
        ws = floor_div(t0, D) * D;
        we = ws + D;
        if (now < we + TIME_GRACE_US) {
            gy_time_format(ws, a);
            gy_time_format(we, b);
            snprintf(tw->reason, sizeof tw->reason,
                     "no full new window of %s: the next one, %s to %s, is not over yet", d, a, b);
            *none = 1;
            return GY_OK;
        }
        for (uint64_t i = 0; i < l->n; i++)
            if (match(l, pk, i) && l->t[i] != INT64_MIN && l->t[i] >= ws && l->t[i] < we) {
                mask[i] = 1;
                (*keep)++;
            }
        tw->start = ws;
        tw->end = we;
        return GY_OK;
    }
}

/* ------------------------------------------------------------------ prediction drift */

/* Reads float64 column @p col of the masked rows: finite values into *v (new), the others
 * counted in *missing. */
static enum gy_status read_output(struct gy_db *db, const char *name, int64_t version,
                                  const char *col, const uint8_t *mask, uint64_t nmask, double **v,
                                  size_t *nv, uint64_t *missing)
{
    struct gy_lake_scan *s = NULL;
    const char *cols[1] = {col};
    uint64_t base = 0, want = 0;
    enum gy_status rc;
    *v = NULL;
    *nv = 0;
    *missing = 0;
    for (uint64_t i = 0; i < nmask; i++)
        want += mask[i] != 0;
    if (!(*v = gy_malloc(GY_MAX(want, 1) * sizeof(double))))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if ((rc = gy_lake_scan_open(db, name, version, cols, 1, &s)))
        return rc;
    for (;;) {
        const struct gy_colvec *cv;
        size_t nrows;
        if ((rc = gy_lake_scan_next(s, &cv, &nrows)) || nrows == 0)
            break;
        if (cv[0].type != GY_TYPE_FLOAT64 || base + nrows > nmask) {
            rc = gy_error_set(GY_E_SCHEMA, "%s: column %s is not float64 or has too many rows",
                              name, col);
            break;
        }
        for (size_t i = 0; i < nrows; i++) {
            if (!mask[base + i])
                continue;
            if (cv[0].valid[i] && isfinite(cv[0].f64[i]) && *nv < want)
                (*v)[(*nv)++] = cv[0].f64[i];
            else
                (*missing)++;
        }
        base += nrows;
    }
    gy_lake_scan_free(s);
    return rc;
}

/*
 * One prediction record: the served values of output k (@p v, @p nv finite, @p missing not)
 * against the score summary @p sc of the bundle's profile. PSI over the histogram's 20 bins
 * plus below/above/missing bins (smoothed as the numeric PSI), chi-square homogeneity and
 * Jensen-Shannon distance over the finite bins.
 */
static enum gy_status prediction_feature(const char *col, const json_t *sc, const double *v,
                                         size_t nv, uint64_t missing,
                                         const struct gy_monitor_config *cfg,
                                         struct gy_monitor_feature *f)
{
    enum { NB = PRED_BINS + 3 }; /* below, 20 bins, above, missing */
    const json_t *h = json_object_get(sc, "histogram");
    const json_t *edges = json_object_get(h, "edges"), *counts = json_object_get(h, "counts");
    double e[PRED_BINS + 1], r[NB] = {0}, c[NB] = {0}, p[NB], q[NB], r2[NB], c2[NB];
    uint64_t cnt = (uint64_t)gy_json_int(sc, "count", 0),
             nf = (uint64_t)gy_json_int(sc, "nonfinite", 0);
    double sum = 0, ss = 0, mean;
    size_t k = 0, kf = 0;

    memset(f, 0, sizeof(*f));
    f->prediction = 1;
    f->kind = GY_MONITOR_NUMERIC;
    f->name = dupf("prediction:%s", col);
    f->rows_ref = cnt + nf;
    f->values_ref = cnt;
    f->rows_cur = nv + missing;
    f->values_cur = nv;
    f->ks.statistic = f->ks.p_value = NAN;
    f->wasserstein = f->wasserstein_norm = f->ref_std = NAN;
    f->z = f->z_p_value = f->prop_ref = f->prop_cur = NAN;
    f->chi2.statistic = f->chi2.p_value = NAN;
    f->psi = f->jensenshannon = NAN;
    f->p_value = f->p_adjusted = f->effect = f->effect_threshold = f->alpha = NAN;
    f->unseen = NAN;
    f->missing_ref = f->rows_ref ? (double)nf / (double)f->rows_ref : NAN;
    f->missing_cur = f->rows_cur ? (double)missing / (double)f->rows_cur : NAN;
    f->out_of_range = NAN;
    f->ref_mean = gy_json_num(sc, "mean", NAN);
    f->ref_min = gy_json_num(sc, "min", NAN);
    f->ref_max = gy_json_num(sc, "max", NAN);
    f->cur_mean = f->cur_std = NAN;
    f->effect_name = "psi";
    f->test_name = "chi2";
    if (!f->name)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if (!json_is_array(edges) || json_array_size(edges) != PRED_BINS + 1 ||
        !json_is_array(counts) || json_array_size(counts) != PRED_BINS) {
        f->status = GY_MONITOR_SKIPPED;
        f->message = dupf("the model's reference profile has no score histogram for %s", col);
        return f->message ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i <= PRED_BINS; i++)
        e[i] = json_number_value(json_array_get(edges, i));
    for (size_t i = 0; i < PRED_BINS; i++)
        r[1 + i] = (double)json_integer_value(json_array_get(counts, i));
    r[NB - 1] = (double)nf;
    c[NB - 1] = (double)missing;
    if (cnt == 0 || nv == 0) {
        f->status = GY_MONITOR_NOT_ENOUGH_DATA;
        f->message = dupf(cnt == 0 ? "not enough data: the model's training scores have no "
                                     "finite value"
                                   : "not enough data: the window has no finite %s (%llu rows)",
                          col, (unsigned long long)f->rows_cur);
        return f->message ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nv; i++) {
        double x = v[i], t;
        int b;
        sum += x;
        if (x < e[0]) {
            c[0]++;
            continue;
        }
        if (x > e[PRED_BINS]) {
            c[PRED_BINS + 1]++;
            continue;
        }
        /* The bundle's own binning of the training scores (bundle.c score_summary). */
        t = (x - e[0]) / (e[PRED_BINS] - e[0]) * PRED_BINS;
        b = t < 0 ? 0 : t >= PRED_BINS ? PRED_BINS - 1 : (int)t;
        c[1 + b]++;
    }
    mean = sum / (double)nv;
    for (size_t i = 0; i < nv; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    f->cur_mean = mean;
    f->cur_std = sqrt(ss / (double)nv);
    f->out_of_range = (c[0] + c[PRED_BINS + 1]) / (double)nv;
    /* PSI over the bins that are not empty on both sides, smoothed. */
    for (size_t i = 0; i < NB; i++)
        if (r[i] > 0 || c[i] > 0) {
            r2[k] = r[i];
            c2[k] = c[i];
            k++;
        }
    for (size_t i = 0; i < k; i++) {
        p[i] = (r2[i] + 0.5) / ((double)f->rows_ref + 0.5 * (double)k);
        q[i] = (c2[i] + 0.5) / ((double)f->rows_cur + 0.5 * (double)k);
    }
    f->psi = gy_monitor_psi(p, q, k);
    /* chi-square and Jensen-Shannon on the finite bins. */
    for (size_t i = 0; i + 1 < NB; i++)
        if (r[i] > 0 || c[i] > 0) {
            r2[kf] = r[i];
            c2[kf] = c[i];
            kf++;
        }
    if (gy_monitor_chi2_contingency(r2, c2, kf, &f->chi2) != GY_OK) {
        f->chi2.statistic = 0;
        f->chi2.p_value = 1;
        f->chi2.dof = 0;
    }
    f->jensenshannon = gy_monitor_jensenshannon(r2, c2, kf, 2);
    f->effect = f->psi;
    f->p_value = f->chi2.p_value;
    f->status = GY_MONITOR_OK;
    if (nv < cfg->small_window || cnt < cfg->small_window)
        f->warning = dupf("small window: fewer than %zu values on a side", cfg->small_window);
    /* The histogram for the report: the reference's 20 bins, both sides as proportions of
     * their values inside the bins' range. */
    f->hist.nbins = PRED_BINS;
    f->hist.edges = gy_malloc((PRED_BINS + 1) * sizeof(double));
    f->hist.ref = gy_malloc(PRED_BINS * sizeof(double));
    f->hist.cur = gy_malloc(PRED_BINS * sizeof(double));
    if (!f->hist.edges || !f->hist.ref || !f->hist.cur)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    {
        double in = (double)nv - c[0] - c[PRED_BINS + 1];
        memcpy(f->hist.edges, e, sizeof e);
        for (size_t i = 0; i < PRED_BINS; i++) {
            f->hist.ref[i] = r[1 + i] / (double)cnt;
            f->hist.cur[i] = in > 0 ? c[1 + i] / in : 0;
        }
    }
    return GY_OK;
}

/*
 * Appends a prediction record per output_k of the log that the model's bundle profile has a
 * score summary for. A model without a bundle or without scores in its profile adds none.
 */
static enum gy_status add_predictions(struct gy_db *db, const struct gy_registry_version_info *vi,
                                      const char *logname, int64_t logver,
                                      const struct gy_schema *ls, const uint8_t *mask,
                                      uint64_t nmask, const struct gy_monitor_config *cfg,
                                      struct gy_monitor_report *r)
{
    struct gy_buf data;
    struct gy_model_bundle *b = NULL;
    const json_t *scores;
    enum gy_status rc;
    size_t n;

    if (!vi->bundle_hash)
        return GY_OK;
    gy_buf_init(&data, (size_t)2 << 30);
    rc = gy_db_object_get(db, vi->bundle_hash, &data);
    if (rc == GY_OK)
        rc = gy_model_bundle_load(data.data, data.len, &b);
    gy_buf_free(&data);
    if (rc)
        return gy_error_wrap(rc, "the bundle of model %s version %lld", vi->name,
                             (long long)vi->version);
    scores = json_object_get(gy_model_bundle_profile(b), "scores");
    n = json_is_array(scores) ? json_array_size(scores) : 0;
    for (size_t k = 0; k < n && rc == GY_OK; k++) {
        char col[32];
        long ci;
        double *v = NULL;
        size_t nv = 0;
        uint64_t missing = 0;
        struct gy_monitor_feature *nf;
        snprintf(col, sizeof col, "output_%zu", k);
        ci = gy_schema_find(ls, col);
        if (ci < 0 || ls->cols[ci].type != GY_TYPE_FLOAT64)
            continue;
        if (!(nf = gy_realloc(r->features, (r->nfeatures + 1) * sizeof(*nf)))) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            break;
        }
        r->features = nf;
        rc = read_output(db, logname, logver, col, mask, nmask, &v, &nv, &missing);
        if (rc == GY_OK) {
            rc = prediction_feature(col, json_array_get(scores, k), v, nv, missing, cfg,
                                    &r->features[r->nfeatures]);
            r->nfeatures++; /* cleared with the report, even on error */
        }
        gy_free(v);
    }
    gy_model_bundle_free(b);
    if (rc == GY_OK)
        rc = gy_monitor_decide(r, cfg);
    return rc;
}

/* ------------------------------------------------------------------ the check */

static enum gy_status check(struct gy_db *db, const char *deployment,
                            const struct gy_monitor_window *win,
                            const struct gy_monitor_config *cfg, int tumbling,
                            struct gy_monitor_tumble *tw, struct gy_monitor_report **out)
{
    char logname[GY_LAKE_MAX_NAME + 1], ref[GY_REGISTRY_NAME_MAX + 32];
    char label[GY_LAKE_MAX_NAME + GY_REGISTRY_NAME_MAX + 192], what[128], d[32];
    struct logrows l;
    struct gy_registry_version_info *vi = NULL;
    struct gy_schema *ls = NULL, *ts = NULL;
    const char **feats = NULL;
    uint8_t *mask = NULL;
    size_t nfeat = 0;
    uint64_t keep = 0;
    struct pick pk = {win ? win->model_version : 0, -1};
    int64_t logver = 0;
    int none = 0;
    json_t *man = NULL;
    enum gy_status rc;

    *out = NULL;
    memset(&l, 0, sizeof(l));
    if (!deployment || !*deployment ||
        (size_t)snprintf(logname, sizeof logname, "predlog-%s", deployment) >= sizeof logname)
        return gy_error_set(GY_E_INVALID, "deployment name is empty or too long");
    if (win && win->last_rows && win->last_us)
        return gy_error_set(GY_E_INVALID, "a window is by rows or by time, not both");
    if (tumbling && (!win || !win->tumbling_rows == !win->tumbling_us))
        return gy_error_set(GY_E_INVALID, "a tumbling window needs a row count or a duration");
    if ((rc = gy_lake_version_get(db, logname, 0, &man))) {
        if (rc == GY_NOT_FOUND)
            gy_error_set(rc, "deployment \"%s\" has no prediction log (%s)", deployment, logname);
        return rc;
    }
    logver = gy_json_int(man, "version", 0);
    json_decref(man);
    if ((rc = read_log(db, logname, logver, &l)))
        goto out;
    /* The model that answered: the latest logged row of the version asked for. */
    for (uint64_t i = l.n; i-- > 0;)
        if (l.mv[i] > 0 && l.mi[i] >= 0 && (pk.mv == 0 || l.mv[i] == pk.mv)) {
            pk.mv = l.mv[i];
            pk.model = l.mi[i];
            break;
        }
    if (pk.model < 0) {
        rc = win && win->model_version
                 ? gy_error_set(GY_NOT_FOUND, "%s has no row answered by model version %lld",
                                logname, (long long)win->model_version)
                 : gy_error_set(GY_NOT_FOUND, "%s has no logged row", logname);
        goto out;
    }
    if (!(mask = gy_calloc(GY_MAX(l.n, 1), 1))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = select_rows(db, deployment, &l, &pk, win, tumbling, tw, mask, &keep, &none)))
        goto out;
    if (none)
        goto out; /* GY_OK, *out NULL: no full new window */
    snprintf(ref, sizeof ref, "%s/%lld", l.names[pk.model], (long long)pk.mv);
    if (keep == 0) {
        fmt_duration(win && win->last_us ? win->last_us : 1, d);
        rc = gy_error_set(GY_NOT_FOUND, "%s has no row of model %s logged in the last %s", logname,
                          ref, d);
        goto out;
    }
    if ((rc = gy_registry_resolve(db, ref, &vi))) {
        gy_error_wrap(rc, "the model version that answered (%s)", ref);
        goto out;
    }
    if (!vi->dataset) {
        rc = gy_error_set(GY_NOT_FOUND,
                          "model %s has no training dataset in its lineage: nothing to compare "
                          "with",
                          ref);
        goto out;
    }
    if ((rc = schema_of(db, logname, logver, &ls)) ||
        (rc = schema_of(db, vi->dataset, vi->dataset_version, &ts)))
        goto out;
    if (!(feats = gy_calloc(GY_MAX(ls->ncols, 1), sizeof(*feats)))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ls->ncols; i++)
        if (!log_column(ls->cols[i].name) && gy_schema_find(ts, ls->cols[i].name) >= 0)
            feats[nfeat++] = ls->cols[i].name;
    if (nfeat == 0) {
        rc = gy_error_set(GY_NOT_FOUND, "no logged input of %s is a column of %s@%lld", logname,
                          vi->dataset, (long long)vi->dataset_version);
        goto out;
    }
    what[0] = '\0';
    if (tumbling && win->tumbling_rows) {
        snprintf(what, sizeof what, ", tumbling %llu rows: log rows %lld..%lld",
                 (unsigned long long)win->tumbling_rows, (long long)tw->start,
                 (long long)tw->end - 1);
    } else if (tumbling) {
        char a[32], b[32];
        fmt_duration(win->tumbling_us, d);
        gy_time_format(tw->start, a);
        gy_time_format(tw->end, b);
        snprintf(what, sizeof what, ", tumbling %s: %s to %s", d, a, b);
    } else if (win && win->last_us) {
        fmt_duration(win->last_us, d);
        snprintf(what, sizeof what, ", last %s", d);
    } else if (win && win->last_rows) {
        snprintf(what, sizeof what, ", last %llu rows", (unsigned long long)win->last_rows);
    }
    snprintf(label, sizeof label, "%s@%lld (model %s%s)", logname, (long long)logver, ref, what);
    rc = gy__monitor_check_masked(db, vi->dataset, vi->dataset_version, logname, logver, mask, l.n,
                                  label, feats, nfeat, cfg, out);
    if (rc == GY_OK)
        rc = add_predictions(db, vi, logname, logver, ls, mask, l.n, cfg, *out);
    if (rc == GY_OK) {
        struct gy_monitor_report *r = *out;
        r->window_kind = tumbling                                  ? "tumbling"
                         : win && (win->last_rows || win->last_us) ? "sliding"
                                                                   : "all";
        r->window_unit = tumbling                ? (win->tumbling_rows ? "rows" : "time")
                         : win && win->last_rows ? "rows"
                         : win && win->last_us   ? "time"
                                                 : NULL;
        r->window_size = tumbling
                             ? (win->tumbling_rows ? (int64_t)win->tumbling_rows : win->tumbling_us)
                         : win && win->last_rows ? (int64_t)win->last_rows
                         : win                   ? win->last_us
                                                 : 0;
        r->window_start = tumbling ? tw->start : 0;
        r->window_end = tumbling ? tw->end : 0;
    } else {
        gy_monitor_report_free(*out);
        *out = NULL;
    }
out:
    logrows_clear(&l);
    gy_registry_version_info_free(vi);
    gy_schema_free(ls);
    gy_schema_free(ts);
    gy_free(feats);
    gy_free(mask);
    return rc;
}

enum gy_status gy_monitor_check_deployment(struct gy_db *db, const char *deployment,
                                           const struct gy_monitor_window *win,
                                           const struct gy_monitor_config *cfg,
                                           struct gy_monitor_report **out)
{
    struct gy_monitor_tumble tw;
    memset(&tw, 0, sizeof tw);
    return check(db, deployment, win, cfg, 0, &tw, out);
}

enum gy_status gy_monitor_check_tumbling(struct gy_db *db, const char *deployment,
                                         const struct gy_monitor_window *win,
                                         const struct gy_monitor_config *cfg,
                                         struct gy_monitor_tumble *tw,
                                         struct gy_monitor_report **out)
{
    memset(tw, 0, sizeof *tw);
    return check(db, deployment, win, cfg, 1, tw, out);
}
