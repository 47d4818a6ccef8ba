/* SPDX-License-Identifier: MIT */
/*
 * report.c - drift reports: the JSON document that scripts read (one record per feature with
 * its statistics, decision and data quality, plus the dataset-level verdict; the format is
 * documented in docs/drift.md) and a self-contained HTML page for people: the verdict, a
 * summary table, per-feature reference-versus-current histograms drawn as inline SVG, the
 * statistics next to their thresholds and a data-quality table. The page loads nothing from
 * outside; a few lines of inline script only mark the body with what was rendered, which
 * the headless-browser test reads.
 */
#include "monitor/monitor_int.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ JSON */

static const char *status_name(enum gy_monitor_status s)
{
    switch (s) {
    case GY_MONITOR_OK:
        return "ok";
    case GY_MONITOR_NOT_ENOUGH_DATA:
        return "not_enough_data";
    default:
        return "skipped";
    }
}

/* Adds key: value (stealing value); records OOM in *rc. */
static void put(json_t *o, const char *key, json_t *v, enum gy_status *rc)
{
    if (*rc == GY_OK && (!v || json_object_set_new(o, key, v) != 0))
        *rc = GY_E_NOMEM;
    else if (*rc != GY_OK)
        json_decref(v);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *hist_json(const struct gy_monitor_hist *h, enum gy_status *rc)
{
    json_t *o = json_object(), *a, *b, *c;
    if (!o) {
        *rc = GY_E_NOMEM;
        return NULL;
    }
    a = json_array();
    b = json_array();
    c = json_array();
    if (!a || !b || !c) {
        json_decref(a);
        json_decref(b);
        json_decref(c);
        *rc = GY_E_NOMEM;
        return o;
    }
    if (h->edges)
        for (size_t i = 0; i <= h->nbins; i++)
            json_array_append_new(a, gy_json_real(h->edges[i]));
    else
        for (size_t i = 0; i < h->nbins; i++)
            json_array_append_new(a, json_string(h->labels[i]));
    for (size_t i = 0; i < h->nbins; i++) {
        json_array_append_new(b, gy_json_real(h->ref[i]));
        json_array_append_new(c, gy_json_real(h->cur[i]));
    }
    put(o, h->edges ? "edges" : "categories", a, rc);
    put(o, "reference", b, rc);
    put(o, "current", c, rc);
    return o;
}

static json_t *feature_json(const struct gy_monitor_feature *f, enum gy_status *rc)
{
    json_t *o = json_object(), *st, *q, *d, *x;
    if (!o) {
        *rc = GY_E_NOMEM;
        return NULL;
    }
    put(o, "feature", json_string(f->name), rc);
    put(o, "type", json_string(gy_monitor_kind_name(f->kind)), rc);
    put(o, "role", json_string(f->prediction ? "prediction" : "input"), rc);
    put(o, "status", json_string(status_name(f->status)), rc);
    put(o, "drift", f->status == GY_MONITOR_OK ? json_boolean(f->drift) : json_null(), rc);
    put(o, "message", str_or_null(f->message), rc);
    put(o, "warning", str_or_null(f->warning), rc);
    put(o, "rows",
        json_pack("{s:I, s:I}", "reference", (json_int_t)f->rows_ref, "current",
                  (json_int_t)f->rows_cur),
        rc);
    put(o, "values",
        json_pack("{s:I, s:I}", "reference", (json_int_t)f->values_ref, "current",
                  (json_int_t)f->values_cur),
        rc);
    st = json_object();
    if (f->status == GY_MONITOR_OK && st) {
        if (f->prediction) {
            /* Against the score histogram of the model's training rows (bundle profile). */
            x = json_object();
            put(x, "statistic", gy_json_real(f->chi2.statistic), rc);
            put(x, "p_value", gy_json_real(f->chi2.p_value), rc);
            put(x, "dof", json_integer(f->chi2.dof), rc);
            put(st, "chi2", x, rc);
            put(st, "psi", gy_json_real(f->psi), rc);
            put(st, "jensenshannon", gy_json_real(f->jensenshannon), rc);
            x = json_object();
            put(x, "mean", gy_json_real(f->ref_mean), rc);
            put(x, "min", gy_json_real(f->ref_min), rc);
            put(x, "max", gy_json_real(f->ref_max), rc);
            put(st, "reference", x, rc);
            x = json_object();
            put(x, "mean", gy_json_real(f->cur_mean), rc);
            put(x, "std", gy_json_real(f->cur_std), rc);
            put(st, "current", x, rc);
        } else if (f->kind == GY_MONITOR_NUMERIC) {
            x = json_object();
            put(x, "statistic", gy_json_real(f->ks.statistic), rc);
            put(x, "p_value", gy_json_real(f->ks.p_value), rc);
            put(x, "method",
                json_string(f->ks.method == GY_MONITOR_KS_EXACT ? "exact" : "asymptotic"), rc);
            put(x, "approximate", json_boolean(f->ks_approximate), rc);
            if (f->ks_approximate)
                put(x, "rank_error", gy_json_real(f->ks_rank_error), rc);
            put(st, "ks", x, rc);
            put(st, "psi", gy_json_real(f->psi), rc);
            put(st, "wasserstein", gy_json_real(f->wasserstein), rc);
            put(st, "wasserstein_norm", gy_json_real(f->wasserstein_norm), rc);
            x = json_object();
            put(x, "mean", gy_json_real(f->ref_mean), rc);
            put(x, "std", gy_json_real(f->ref_std), rc);
            put(x, "min", gy_json_real(f->ref_min), rc);
            put(x, "max", gy_json_real(f->ref_max), rc);
            put(st, "reference", x, rc);
            x = json_object();
            put(x, "mean", gy_json_real(f->cur_mean), rc);
            put(x, "std", gy_json_real(f->cur_std), rc);
            put(st, "current", x, rc);
        } else if (f->kind == GY_MONITOR_CATEGORICAL) {
            x = json_object();
            put(x, "statistic", gy_json_real(f->chi2.statistic), rc);
            put(x, "p_value", gy_json_real(f->chi2.p_value), rc);
            put(x, "dof", json_integer(f->chi2.dof), rc);
            put(st, "chi2", x, rc);
            put(st, "jensenshannon", gy_json_real(f->jensenshannon), rc);
        } else {
            x = json_object();
            put(x, "statistic", gy_json_real(f->z), rc);
            put(x, "p_value", gy_json_real(f->z_p_value), rc);
            put(st, "z", x, rc);
            put(st, "jensenshannon", gy_json_real(f->jensenshannon), rc);
            put(st, "proportion_reference", gy_json_real(f->prop_ref), rc);
            put(st, "proportion_current", gy_json_real(f->prop_cur), rc);
        }
    }
    put(o, "statistics", st, rc);
    if (f->status == GY_MONITOR_OK) {
        d = json_object();
        put(d, "effect", json_string(f->effect_name), rc);
        put(d, "value", gy_json_real(f->effect), rc);
        put(d, "threshold", gy_json_real(f->effect_threshold), rc);
        put(d, "test", json_string(f->test_name), rc);
        put(d, "p_value", gy_json_real(f->p_value), rc);
        put(d, "p_value_adjusted", gy_json_real(f->p_adjusted), rc);
        put(d, "alpha", gy_json_real(f->alpha), rc);
        put(d, "importance_rank",
            f->importance_rank ? json_integer(f->importance_rank) : json_null(), rc);
        put(o, "decision", d, rc);
    } else {
        put(o, "decision", json_null(), rc);
    }
    q = json_object();
    put(q, "missing_rate_reference", gy_json_real(f->missing_ref), rc);
    put(q, "missing_rate_current", gy_json_real(f->missing_cur), rc);
    if (f->kind == GY_MONITOR_NUMERIC)
        put(q, "out_of_range_share", gy_json_real(f->out_of_range), rc);
    if (f->kind == GY_MONITOR_CATEGORICAL)
        put(q, "unseen_share", gy_json_real(f->unseen), rc);
    put(q, "alert", json_boolean(f->quality_alert), rc);
    put(q, "message", str_or_null(f->quality_message), rc);
    put(o, "quality", q, rc);
    put(o, "histogram", f->hist.nbins ? hist_json(&f->hist, rc) : json_null(), rc);
    return o;
}

enum gy_status gy_monitor_report_json(const struct gy_monitor_report *r, json_t **out)
{
    enum gy_status rc = GY_OK;
    json_t *o = json_object(), *feats = json_array(), *cfg, *ds;
    size_t ninputs = 0;
    char ts[32];

    *out = NULL;
    if (!o || !feats) {
        json_decref(o);
        json_decref(feats);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->nfeatures; i++)
        ninputs += !r->features[i].prediction;
    gy_time_format(r->created_us, ts);
    put(o, "reference",
        json_pack("{s:s, s:I}", "dataset", r->reference ? r->reference : "", "rows",
                  (json_int_t)r->rows_ref),
        &rc);
    put(o, "current",
        json_pack("{s:s, s:I}", "dataset", r->current ? r->current : "", "rows",
                  (json_int_t)r->rows_cur),
        &rc);
    put(o, "created", json_string(ts), &rc);
    put(o, "drift", json_boolean(r->drift), &rc);
    ds = json_object();
    put(ds, "drift", json_boolean(r->drift), &rc);
    put(ds, "features", json_integer((json_int_t)ninputs), &rc);
    put(ds, "checked", json_integer((json_int_t)r->checked), &rc);
    put(ds, "drifted", json_integer((json_int_t)r->drifted), &rc);
    put(ds, "share", gy_json_real(r->share), &rc);
    put(ds, "drift_share", gy_json_real(r->cfg.drift_share), &rc);
    put(ds, "reason", str_or_null(r->reason), &rc);
    put(o, "dataset", ds, &rc);
    /* Prediction drift: a separate verdict over the outputs (null without prediction records). */
    put(o, "prediction_drift",
        ninputs < r->nfeatures ? json_boolean(r->prediction_drift) : json_null(), &rc);
    if (ninputs < r->nfeatures)
        put(o, "prediction",
            json_pack("{s:b, s:I, s:I, s:I}", "drift", r->prediction_drift, "outputs",
                      (json_int_t)(r->nfeatures - ninputs), "checked",
                      (json_int_t)r->prediction_checked, "drifted",
                      (json_int_t)r->prediction_drifted),
            &rc);
    if (r->window_kind) {
        json_t *w = json_object();
        put(w, "kind", json_string(r->window_kind), &rc);
        put(w, "unit", r->window_unit ? json_string(r->window_unit) : json_null(), &rc);
        if (r->window_unit && strcmp(r->window_unit, "rows") == 0)
            put(w, "rows", json_integer((json_int_t)r->window_size), &rc);
        else if (r->window_unit)
            put(w, "duration_us", json_integer((json_int_t)r->window_size), &rc);
        if (strcmp(r->window_kind, "tumbling") == 0) {
            put(w, "start", json_integer((json_int_t)r->window_start), &rc);
            put(w, "end", json_integer((json_int_t)r->window_end), &rc);
        }
        put(o, "window", w, &rc);
    }
    cfg = json_object();
    put(cfg, "alpha", gy_json_real(r->cfg.alpha), &rc);
    put(cfg, "correction", json_string("benjamini-hochberg"), &rc);
    put(cfg, "numeric_effect", json_string(r->cfg.numeric_effect), &rc);
    put(cfg, "thresholds",
        json_pack("{s:o, s:o, s:o}", "psi", gy_json_real(r->cfg.psi), "wasserstein_norm",
                  gy_json_real(r->cfg.wasserstein_norm), "jensenshannon",
                  gy_json_real(r->cfg.jensenshannon)),
        &rc);
    put(cfg, "drift_share", gy_json_real(r->cfg.drift_share), &rc);
    put(cfg, "top_important", json_integer((json_int_t)r->cfg.top_important), &rc);
    put(cfg, "top_categories", json_integer((json_int_t)r->cfg.top_categories), &rc);
    put(cfg, "exact_limit",
        json_integer((json_int_t)(r->cfg.acc.exact_limit ? r->cfg.acc.exact_limit
                                                         : GY_MONITOR_DEFAULT_EXACT_LIMIT)),
        &rc);
    put(o, "config", cfg, &rc);
    for (size_t i = 0; i < r->nfeatures && rc == GY_OK; i++) {
        json_t *f = feature_json(&r->features[i], &rc);
        if (!f || json_array_append_new(feats, f) != 0)
            rc = GY_E_NOMEM;
    }
    put(o, "features", feats, &rc);
    if (rc) {
        json_decref(o);
        return gy_error_set(rc, "out of memory building the drift report");
    }
    *out = o;
    return GY_OK;
}

/* ------------------------------------------------------------------ HTML */

static void esc(struct gy_buf *b, const char *s, enum gy_status *rc)
{
    for (; s && *s && *rc == GY_OK; s++) {
        switch (*s) {
        case '&':
            *rc = gy_buf_puts(b, "&amp;");
            break;
        case '<':
            *rc = gy_buf_puts(b, "&lt;");
            break;
        case '>':
            *rc = gy_buf_puts(b, "&gt;");
            break;
        case '"':
            *rc = gy_buf_puts(b, "&quot;");
            break;
        case '\'':
            *rc = gy_buf_puts(b, "&#39;");
            break;
        default:
            *rc = gy_buf_putc(b, *s);
        }
    }
}

static void out(struct gy_buf *b, enum gy_status *rc, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static void out(struct gy_buf *b, enum gy_status *rc, const char *f, ...)
{
    va_list ap;
    if (*rc != GY_OK)
        return;
    va_start(ap, f);
    *rc = gy_buf_vprintf(b, f, ap);
    va_end(ap);
}

/* A number for people: %.4g, or an em dash when there is none. */
static void num(struct gy_buf *b, enum gy_status *rc, double v)
{
    if (isfinite(v))
        out(b, rc, "%.4g", v);
    else
        out(b, rc, "&mdash;");
}

static void pval(struct gy_buf *b, enum gy_status *rc, double v)
{
    if (isfinite(v) && v < 1e-4)
        out(b, rc, "%.2e", v);
    else
        num(b, rc, v);
}

static const char *css =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em auto;"
    "max-width:1100px;color:#1d2330;padding:0 1em}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em}"
    "h3{font-size:1.05em;margin:1.5em 0 .4em}"
    ".sub{color:#5b6476;margin:0 0 1em}"
    ".verdict{padding:.8em 1em;border-radius:6px;font-weight:600;margin:1em 0}"
    ".verdict.bad{background:#fde8e8;color:#9b1c1c;border:1px solid #f5b5b5}"
    ".verdict.good{background:#e6f6ec;color:#1e6b3a;border:1px solid #a8dcb9}"
    "table{border-collapse:collapse;width:100%;font-size:.9em;margin:.5em 0}"
    "th,td{border-bottom:1px solid #e3e6ec;padding:.35em .6em;text-align:left}"
    "th{background:#f4f6f9;font-weight:600}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}"
    "tr.drift td:first-child{border-left:4px solid #d64545}"
    ".tag{display:inline-block;border-radius:3px;padding:0 .4em;font-size:.85em}"
    ".tag.d{background:#d64545;color:#fff}.tag.ok{background:#3c9d5d;color:#fff}"
    ".tag.na{background:#8a93a3;color:#fff}.tag.q{background:#e0a100;color:#fff}"
    ".feature{border:1px solid #e3e6ec;border-radius:6px;padding:.2em 1em 1em;margin:1em 0}"
    ".flex{display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-start}"
    ".note{color:#5b6476;font-size:.85em}"
    "svg text{font-size:10px;fill:#5b6476}"
    ".legend span{display:inline-block;width:.9em;height:.9em;vertical-align:middle;"
    "margin:0 .3em 0 .8em}";

static void svg_hist(struct gy_buf *b, enum gy_status *rc, const struct gy_monitor_feature *f)
{
    const struct gy_monitor_hist *h = &f->hist;
    const double W = 520, H = 190, L = 36, T = 10, PW = 470, PH = 130;
    double mx = 0, bw;
    if (!h->nbins)
        return;
    for (size_t i = 0; i < h->nbins; i++)
        mx = GY_MAX(mx, GY_MAX(h->ref[i], h->cur[i]));
    if (!(mx > 0))
        mx = 1;
    bw = PW / (double)h->nbins;
    out(b, rc,
        "<svg class=\"hist\" data-feature=\"%zu\" width=\"%.0f\" height=\"%.0f\" "
        "viewBox=\"0 0 %.0f %.0f\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">",
        h->nbins, W, H, W, H);
    out(b, rc, "<title>");
    esc(b, f->name, rc);
    out(b, rc, ": reference vs current</title>");
    /* Axes and the y scale (share of values). */
    out(b, rc,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa3b2\"/>"
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa3b2\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>",
        L, T + PH, L + PW, T + PH, L, T, L, T + PH, L - 4, T + 8, 100 * mx, L - 4, T + PH);
    for (size_t i = 0; i < h->nbins; i++) {
        double x = L + bw * (double)i, hr = PH * h->ref[i] / mx, hc = PH * h->cur[i] / mx;
        out(b, rc,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#4c78a8\" "
            "fill-opacity=\"0.45\"><title>reference %.4g%%</title></rect>",
            x + 0.5, T + PH - hr, GY_MAX(bw - 1, 0.5), hr, 100 * h->ref[i]);
        out(b, rc,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#f58518\" "
            "fill-opacity=\"0.35\" stroke=\"#f58518\" stroke-width=\"1\"><title>current "
            "%.4g%%</title></rect>",
            x + 0.5, T + PH - hc, GY_MAX(bw - 1, 0.5), hc, 100 * h->cur[i]);
    }
    if (h->edges) {
        out(b, rc, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\">%.4g</text>", L, T + PH + 14,
            h->edges[0]);
        out(b, rc, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.4g</text>", L + PW / 2,
            T + PH + 14, (h->edges[0] + h->edges[h->nbins]) / 2);
        out(b, rc, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>", L + PW,
            T + PH + 14, h->edges[h->nbins]);
    } else {
        for (size_t i = 0; i < h->nbins && h->nbins <= 40; i++) {
            char lab[16];
            size_t n = strlen(h->labels[i]);
            snprintf(lab, sizeof lab, "%.*s%s", (int)GY_MIN(n, 12), h->labels[i],
                     n > 12 ? "\xe2\x80\xa6" : "");
            /* Do not cut a UTF-8 sequence in half. */
            if (n > 12) {
                size_t k = 12;
                while (k > 0 && ((unsigned char)h->labels[i][k] & 0xC0) == 0x80)
                    k--;
                snprintf(lab, sizeof lab, "%.*s\xe2\x80\xa6", (int)k, h->labels[i]);
            }
            out(b, rc,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                "transform=\"rotate(-35 %.1f %.1f)\">",
                L + bw * ((double)i + 0.5), T + PH + 12, L + bw * ((double)i + 0.5), T + PH + 12);
            esc(b, lab, rc);
            out(b, rc, "</text>");
        }
    }
    out(b, rc, "</svg>");
}

static void feature_html(struct gy_buf *b, enum gy_status *rc, const struct gy_monitor_feature *f,
                         size_t idx)
{
    out(b, rc, "<div class=\"feature\" id=\"f%zu\"><h3>", idx);
    esc(b, f->name, rc);
    out(b, rc, " <span class=\"note\">%s</span> ",
        f->prediction ? "prediction" : gy_monitor_kind_name(f->kind));
    if (f->status != GY_MONITOR_OK)
        out(b, rc, "<span class=\"tag na\">%s</span>",
            f->status == GY_MONITOR_SKIPPED ? "skipped" : "not enough data");
    else
        out(b, rc, "<span class=\"tag %s\">%s</span>", f->drift ? "d" : "ok",
            f->drift ? "drift" : "no drift");
    out(b, rc, "</h3>");
    if (f->message) {
        out(b, rc, "<p class=\"note\">");
        esc(b, f->message, rc);
        out(b, rc, "</p>");
    }
    if (f->warning) {
        out(b, rc, "<p class=\"note\">&#9888; ");
        esc(b, f->warning, rc);
        out(b, rc, "</p>");
    }
    if (f->status != GY_MONITOR_OK) {
        out(b, rc, "</div>");
        return;
    }
    out(b, rc, "<div class=\"flex\"><div>");
    svg_hist(b, rc, f);
    out(b, rc,
        "<div class=\"legend note\"><span style=\"background:#4c78a8;opacity:.6\"></span>"
        "reference (%llu values)<span style=\"background:#f58518;opacity:.6\"></span>current "
        "(%llu values)</div></div>",
        (unsigned long long)f->values_ref, (unsigned long long)f->values_cur);
    out(b, rc,
        "<table style=\"width:auto\"><tr><th>statistic</th><th>value</th>"
        "<th>threshold</th></tr>");
#define ROW(name, v, thr, isp)                                                                     \
    do {                                                                                           \
        out(b, rc, "<tr><td>%s</td><td class=\"n\">", name);                                       \
        if (isp)                                                                                   \
            pval(b, rc, v);                                                                        \
        else                                                                                       \
            num(b, rc, v);                                                                         \
        out(b, rc, "</td><td class=\"n\">");                                                       \
        num(b, rc, thr);                                                                           \
        out(b, rc, "</td></tr>");                                                                  \
    } while (0)
    if (f->prediction) {
        ROW("PSI (score histogram)", f->psi, f->effect_threshold, 0);
        ROW("chi-square", f->chi2.statistic, NAN, 0);
        ROW("chi-square p-value", f->chi2.p_value, NAN, 1);
        ROW("Jensen-Shannon (base 2)", f->jensenshannon, NAN, 0);
        ROW("mean (training scores)", f->ref_mean, NAN, 0);
        ROW("mean (current)", f->cur_mean, NAN, 0);
    } else if (f->kind == GY_MONITOR_NUMERIC) {
        int we = strcmp(f->effect_name, "wasserstein_norm") == 0;
        ROW("Wasserstein / ref std", f->wasserstein_norm, we ? f->effect_threshold : NAN, 0);
        ROW("PSI", f->psi, we ? NAN : f->effect_threshold, 0);
        ROW("KS statistic", f->ks.statistic, NAN, 0);
        ROW("KS p-value", f->ks.p_value, NAN, 1);
        ROW("Wasserstein", f->wasserstein, NAN, 0);
        ROW("mean (reference)", f->ref_mean, NAN, 0);
        ROW("mean (current)", f->cur_mean, NAN, 0);
        ROW("std (reference)", f->ref_std, NAN, 0);
        ROW("std (current)", f->cur_std, NAN, 0);
    } else if (f->kind == GY_MONITOR_CATEGORICAL) {
        ROW("Jensen-Shannon (base 2)", f->jensenshannon, f->effect_threshold, 0);
        ROW("chi-square", f->chi2.statistic, NAN, 0);
        ROW("chi-square p-value", f->chi2.p_value, NAN, 1);
    } else {
        ROW("Jensen-Shannon (base 2)", f->jensenshannon, f->effect_threshold, 0);
        ROW("z", f->z, NAN, 0);
        ROW("z-test p-value", f->z_p_value, NAN, 1);
        ROW("share true (ref)", f->prop_ref, NAN, 0);
        ROW("share true (cur)", f->prop_cur, NAN, 0);
    }
    ROW("adjusted p-value (BH)", f->p_adjusted, f->alpha, 1);
#undef ROW
    out(b, rc, "</table></div></div>");
}

enum gy_status gy_monitor_report_html(const struct gy_monitor_report *r, struct gy_buf *b)
{
    enum gy_status rc = GY_OK;
    char ts[32];

    gy_time_format(r->created_us, ts);
    out(b, &rc,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>Drift report: ");
    esc(b, r->reference, &rc);
    out(b, &rc, " vs ");
    esc(b, r->current, &rc);
    out(b, &rc, "</title><style>%s</style></head>\n<body data-rendered=\"0\">", css);
    out(b, &rc, "<h1>Drift report</h1><p class=\"sub\">reference <b>");
    esc(b, r->reference, &rc);
    out(b, &rc, "</b> (%llu rows) &nbsp;vs&nbsp; current <b>", (unsigned long long)r->rows_ref);
    esc(b, r->current, &rc);
    out(b, &rc, "</b> (%llu rows) &middot; %s</p>", (unsigned long long)r->rows_cur, ts);
    out(b, &rc, "<div class=\"verdict %s\" id=\"verdict\">%s: ", r->drift ? "bad" : "good",
        r->drift ? "Drift detected" : "No dataset drift");
    esc(b, r->reason, &rc);
    out(b, &rc, "</div>");
    if (r->prediction_checked)
        out(b, &rc,
            "<div class=\"verdict %s\" id=\"prediction-verdict\">%s: %zu of %zu model "
            "outputs drifted against the model's scores on its training data</div>",
            r->prediction_drift ? "bad" : "good",
            r->prediction_drift ? "Prediction drift" : "No prediction drift", r->prediction_drifted,
            r->prediction_checked);

    /* Summary. */
    out(b, &rc,
        "<h2>Summary</h2><table id=\"summary\"><tr><th>feature</th><th>type</th><th>drift</th>"
        "<th>effect size</th><th class=\"n\">value</th><th class=\"n\">threshold</th>"
        "<th>test</th><th class=\"n\">p (BH-adjusted)</th><th class=\"n\">importance</th></tr>");
    for (size_t i = 0; i < r->nfeatures; i++) {
        const struct gy_monitor_feature *f = &r->features[i];
        out(b, &rc, "<tr class=\"%s\" data-feature=\"", f->drift ? "drift" : "");
        esc(b, f->name, &rc);
        out(b, &rc, "\"><td><a href=\"#f%zu\">", i);
        esc(b, f->name, &rc);
        out(b, &rc, "</a></td><td>%s</td><td>",
            f->prediction ? "prediction" : gy_monitor_kind_name(f->kind));
        if (f->status != GY_MONITOR_OK) {
            out(b, &rc, "<span class=\"tag na\">%s</span></td><td colspan=\"6\" class=\"note\">",
                f->status == GY_MONITOR_SKIPPED ? "skipped" : "not enough data");
            esc(b, f->message, &rc);
            out(b, &rc, "</td></tr>");
            continue;
        }
        out(b, &rc, "<span class=\"tag %s\">%s</span></td><td>%s</td><td class=\"n\">",
            f->drift ? "d" : "ok", f->drift ? "drift" : "no", f->effect_name);
        num(b, &rc, f->effect);
        out(b, &rc, "</td><td class=\"n\">");
        num(b, &rc, f->effect_threshold);
        out(b, &rc, "</td><td>%s</td><td class=\"n\">", f->test_name);
        pval(b, &rc, f->p_adjusted);
        out(b, &rc, "</td><td class=\"n\">");
        if (f->importance_rank)
            out(b, &rc, "%d", f->importance_rank);
        out(b, &rc, "</td></tr>");
    }
    out(b, &rc, "</table>");

    /* Data quality. */
    out(b, &rc,
        "<h2>Data quality</h2><table id=\"quality\"><tr><th>feature</th>"
        "<th class=\"n\">missing (ref)</th><th class=\"n\">missing (cur)</th>"
        "<th class=\"n\">out of reference range</th><th class=\"n\">unseen categories</th>"
        "<th>alert</th></tr>");
    for (size_t i = 0; i < r->nfeatures; i++) {
        const struct gy_monitor_feature *f = &r->features[i];
        out(b, &rc, "<tr><td>");
        esc(b, f->name, &rc);
        out(b, &rc, "</td><td class=\"n\">");
        num(b, &rc, f->missing_ref);
        out(b, &rc, "</td><td class=\"n\">");
        num(b, &rc, f->missing_cur);
        out(b, &rc, "</td><td class=\"n\">");
        num(b, &rc, f->out_of_range);
        out(b, &rc, "</td><td class=\"n\">");
        num(b, &rc, f->unseen);
        out(b, &rc, "</td><td>");
        if (f->quality_alert) {
            out(b, &rc, "<span class=\"tag q\">alert</span> ");
            esc(b, f->quality_message, &rc);
        }
        out(b, &rc, "</td></tr>");
    }
    out(b, &rc, "</table>");

    /* Features. */
    out(b, &rc, "<h2>Features</h2>");
    for (size_t i = 0; i < r->nfeatures; i++)
        feature_html(b, &rc, &r->features[i], i);

    out(b, &rc,
        "<h2>Decision rule</h2><p class=\"note\">A feature drifts when its effect size reaches "
        "its threshold <em>and</em> its test's p-value, adjusted across features by "
        "Benjamini-Hochberg, is below &alpha; = %.4g. Numeric effect size: %s (PSI threshold "
        "%.4g, Wasserstein/std threshold %.4g); categorical and binary: Jensen-Shannon distance "
        "(base 2, threshold %.4g). The dataset drifts when at least %.4g%% of the compared "
        "features drift, or any of the %zu most important ones does.</p>",
        r->cfg.alpha, r->cfg.numeric_effect, r->cfg.psi, r->cfg.wasserstein_norm,
        r->cfg.jensenshannon, 100 * r->cfg.drift_share, r->cfg.top_important);
    out(b, &rc,
        "<script>(function(){var b=document.body;"
        "window.addEventListener('error',function(e){b.setAttribute('data-error',"
        "String(e.message));});"
        "b.setAttribute('data-rendered',String(document.querySelectorAll('svg.hist').length));"
        "b.setAttribute('data-drifted',String(document.querySelectorAll('#summary tr.drift')"
        ".length));})();</script>\n</body></html>\n");
    if (rc)
        return gy_error_set(rc, "the HTML report does not fit in %zu bytes", b->max);
    return GY_OK;
}
