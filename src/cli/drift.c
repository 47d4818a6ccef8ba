/* SPDX-License-Identifier: MIT */
/*
 * drift.c - `gyre drift check`: compares two dataset versions feature by feature (read-only,
 * through the lake's scan API), prints a summary table and writes the JSON and HTML reports.
 * `gyre drift report DEPLOYMENT` does the same for a deployment's logged traffic (all of it, a
 * sliding window of rows or time, or the next full tumbling window) against its model's
 * training data and stores the report, firing or resolving the Alertmanager and webhook alerts;
 * `gyre drift history` lists stored reports.
 * Exit status: 0 when the check ran (whatever it found), 4 with --fail-on-drift when the
 * dataset drifted, 1 on failure, 2 on a usage error, 3 when a dataset, version or feature
 * does not exist.
 */
#include "cli/cli.h"
#include "lake/lake.h"
#include "monitor/monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define GY_EXIT_DRIFT 4 /* --fail-on-drift and the dataset drifted */
#define MAX_LIST 4096

/* Splits a copy of @p s at @p sep into at most @p max non-empty items (pointers into *copy). */
static int split_list(const char *s, char sep, char **copy, char **items, size_t max, size_t *n,
                      const char *what)
{
    char *p;
    *n = 0;
    *copy = gy_strdup(s);
    if (!*copy) {
        fprintf(stderr, "gyre: out of memory\n");
        return GY_EXIT_FAIL;
    }
    p = *copy;
    for (;;) {
        char *e = strchr(p, sep);
        if (e)
            *e = '\0';
        if (*p == '\0') {
            fprintf(stderr, "gyre: %s: empty item in \"%s\"\n", what, s);
            return GY_EXIT_USAGE;
        }
        if (*n == max) {
            fprintf(stderr, "gyre: %s: more than %zu items\n", what, max);
            return GY_EXIT_USAGE;
        }
        items[(*n)++] = p;
        if (!e)
            break;
        p = e + 1;
    }
    return GY_EXIT_OK;
}

static int parse_double(const char *s, double *out, const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !isfinite(v)) {
        fprintf(stderr, "gyre: %s needs a number, not \"%s\"\n", what, s);
        return GY_EXIT_USAGE;
    }
    *out = v;
    return GY_EXIT_OK;
}

static int parse_count(const char *s, size_t *out, int64_t lo, int64_t hi, const char *what)
{
    int64_t v;
    if (gy_parse_int64(s, &v) || v < lo || v > hi) {
        fprintf(stderr, "gyre: %s needs a whole number from %lld to %lld, not \"%s\"\n", what,
                (long long)lo, (long long)hi, s);
        return GY_EXIT_USAGE;
    }
    *out = (size_t)v;
    return GY_EXIT_OK;
}

static const char *stat_name(const char *s)
{
    if (strcmp(s, "psi") == 0)
        return "psi";
    if (strcmp(s, "wasserstein_norm") == 0 || strcmp(s, "wasserstein") == 0)
        return "wasserstein_norm";
    if (strcmp(s, "jensenshannon") == 0 || strcmp(s, "js") == 0)
        return "jensenshannon";
    if (strcmp(s, "alpha") == 0)
        return "alpha";
    return NULL;
}

/*
 * --threshold [FEATURE:]STAT=VALUE,...: STAT without a feature sets the default; with one it
 * overrides that feature only.
 */
static int parse_thresholds(const char *s, struct gy_monitor_config *cfg, char **copy,
                            struct gy_monitor_threshold **ov)
{
    char *items[MAX_LIST];
    size_t n;
    int ex = split_list(s, ',', copy, items, MAX_LIST, &n, "--threshold");
    if (ex)
        return ex;
    *ov = gy_calloc(n, sizeof(**ov));
    if (!*ov) {
        fprintf(stderr, "gyre: out of memory\n");
        return GY_EXIT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        char *eq = strrchr(items[i], '='), *colon;
        const char *st;
        if (!eq) {
            fprintf(stderr, "gyre: --threshold: \"%s\" is not [FEATURE:]STAT=VALUE\n", items[i]);
            return GY_EXIT_USAGE;
        }
        *eq = '\0';
        colon = strrchr(items[i], ':');
        if (colon)
            *colon = '\0';
        st = stat_name(colon ? colon + 1 : items[i]);
        if (!st) {
            fprintf(stderr,
                    "gyre: --threshold: unknown statistic \"%s\" (psi, wasserstein_norm, "
                    "jensenshannon, alpha)\n",
                    colon ? colon + 1 : items[i]);
            return GY_EXIT_USAGE;
        }
        if ((ex = parse_double(eq + 1, &(*ov)[i].value, "--threshold")))
            return ex;
        (*ov)[i].feature = colon ? items[i] : NULL;
        (*ov)[i].statistic = st;
        if (!colon) {
            /* A global value sets the default directly. */
            if (strcmp(st, "psi") == 0)
                cfg->psi = (*ov)[i].value;
            else if (strcmp(st, "wasserstein_norm") == 0)
                cfg->wasserstein_norm = (*ov)[i].value;
            else if (strcmp(st, "jensenshannon") == 0)
                cfg->jensenshannon = (*ov)[i].value;
            else
                cfg->alpha = (*ov)[i].value;
        }
    }
    cfg->overrides = *ov;
    cfg->noverrides = n;
    return GY_EXIT_OK;
}

static int parse_ref(const char *opt, const char *v, char name[GY_LAKE_MAX_NAME + 1],
                     int64_t *version)
{
    if (!v) {
        fprintf(stderr, "gyre: %s DATASET[@VERSION] is required\n", opt);
        return GY_EXIT_USAGE;
    }
    if (gy_lake_parse_ref(v, name, version) != GY_OK) {
        fprintf(stderr, "gyre: %s: %s\n", opt, gy_error_msg());
        return GY_EXIT_USAGE;
    }
    return GY_EXIT_OK;
}

static void print_num(double v, const char *f)
{
    if (isfinite(v))
        printf(f, v);
    else
        printf("%*s", 9, "-");
}

static void print_summary(const struct gy_monitor_report *r)
{
    size_t w = 7;
    for (size_t i = 0; i < r->nfeatures; i++)
        w = GY_MAX(w, strlen(r->features[i].name));
    w = GY_MIN(w, 40);
    printf("drift check: %s (%llu rows) vs %s (%llu rows)\n\n", r->reference,
           (unsigned long long)r->rows_ref, r->current, (unsigned long long)r->rows_cur);
    printf("%-*s  %-11s  %-5s  %-16s  %9s  %9s  %-4s  %9s  %9s  %s\n", (int)w, "FEATURE", "TYPE",
           "DRIFT", "EFFECT", "VALUE", "THRESHOLD", "TEST", "P_ADJ", "MISSING", "NOTE");
    for (size_t i = 0; i < r->nfeatures; i++) {
        const struct gy_monitor_feature *f = &r->features[i];
        printf("%-*.*s  %-11s  ", (int)w, (int)w, f->name, gy_monitor_kind_name(f->kind));
        if (f->status != GY_MONITOR_OK) {
            printf("%-5s  %s\n", "-", f->message ? f->message : "");
            continue;
        }
        printf("%-5s  %-16s  ", f->drift ? "yes" : "no", f->effect_name);
        print_num(f->effect, "%9.4g");
        printf("  ");
        print_num(f->effect_threshold, "%9.4g");
        printf("  %-4s  ", f->test_name);
        print_num(f->p_adjusted, f->p_adjusted < 1e-4 ? "%9.2e" : "%9.4g");
        printf("  ");
        print_num(f->missing_cur, "%9.4g");
        printf("  %s\n", f->quality_alert && f->quality_message ? f->quality_message : "");
    }
    printf("\ndataset drift: %s - %s\n", r->drift ? "YES" : "no", r->reason ? r->reason : "");
    if (r->prediction_checked)
        printf("prediction drift: %s - %zu of %zu model outputs drifted against the model's "
               "scores on its training data\n",
               r->prediction_drift ? "YES" : "no", r->prediction_drifted, r->prediction_checked);
}

static int write_text(const char *path, const char *data, size_t len)
{
    enum gy_status rc;
    if (strcmp(path, "-") == 0) {
        fwrite(data, 1, len, stdout);
        return GY_EXIT_OK;
    }
    rc = gy_file_write_atomic(path, data, len);
    if (rc)
        return gy_cli_fail(rc, path);
    return GY_EXIT_OK;
}

/*
 * Writes the JSON report to @p json_path and the HTML page to @p html_path (either may be
 * NULL; "-" is stdout). *json_text (may be NULL) receives the JSON report text (new).
 */
static int emit_reports(const struct gy_monitor_report *rep, const char *json_path,
                        const char *html_path, char **json_text)
{
    enum gy_status rc;
    int ex = GY_EXIT_OK;
    if (json_path || json_text) {
        json_t *j = NULL;
        struct gy_buf b;
        gy_buf_init(&b, (size_t)1 << 30);
        rc = gy_monitor_report_json(rep, &j);
        if (rc == GY_OK)
            rc = gy_json_dump_pretty(j, &b);
        if (rc == GY_OK)
            rc = gy_buf_putc(&b, '\n');
        json_decref(j);
        if (rc) {
            gy_buf_free(&b);
            return gy_cli_fail(rc, "JSON report");
        }
        if (json_path)
            ex = write_text(json_path, b.data, b.len);
        if (ex == GY_EXIT_OK && json_text) {
            if (gy_buf_putc(&b, '\0') != GY_OK) {
                gy_buf_free(&b);
                return gy_cli_fail(GY_E_NOMEM, "JSON report");
            }
            *json_text = gy_buf_detach(&b, NULL);
        }
        gy_buf_free(&b);
        if (ex)
            return ex;
    }
    if (html_path) {
        struct gy_buf b;
        gy_buf_init(&b, (size_t)1 << 30);
        rc = gy_monitor_report_html(rep, &b);
        if (rc) {
            gy_buf_free(&b);
            return gy_cli_fail(rc, "HTML report");
        }
        ex = write_text(html_path, b.data, b.len);
        gy_buf_free(&b);
    }
    return ex;
}

static int cmd_check(int argc, char **argv)
{
    struct gy_cli_opt o[] = {
        {"--reference", "-r", 1, NULL, 0},      {"--current", "-c", 1, NULL, 0},
        {"--json", NULL, 1, NULL, 0},           {"--html", NULL, 1, NULL, 0},
        {"--features", NULL, 1, NULL, 0},       {"--threshold", NULL, 1, NULL, 0},
        {"--alpha", NULL, 1, NULL, 0},          {"--drift-share", NULL, 1, NULL, 0},
        {"--importance", NULL, 1, NULL, 0},     {"--top-important", NULL, 1, NULL, 0},
        {"--numeric-effect", NULL, 1, NULL, 0}, {"--top-categories", NULL, 1, NULL, 0},
        {"--exact-limit", NULL, 1, NULL, 0},    {"--fail-on-drift", NULL, 0, NULL, 0},
        {"--quiet", "-q", 0, NULL, 0}};
    char *pos[64], *feat_copy = NULL, *imp_copy = NULL, *thr_copy = NULL;
    char **feats = NULL, **imps = NULL;
    char rname[GY_LAKE_MAX_NAME + 1], cname[GY_LAKE_MAX_NAME + 1];
    size_t npos, nfeat = 0, nimp = 0;
    int64_t rver, cver;
    struct gy_monitor_config cfg;
    struct gy_monitor_threshold *ov = NULL;
    struct gy_monitor_report *rep = NULL;
    struct gy_db *db = NULL;
    const char *v, *json_path, *html_path;
    enum gy_status rc;
    int ex;

    if (argc > 64 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)))
        return GY_EXIT_USAGE;
    if (npos != 0) {
        fprintf(stderr, "usage: gyre drift check --reference DATASET[@V] --current DATASET[@V] "
                        "[--json FILE] [--html FILE] [--features a,b] [--threshold ...]\n");
        return GY_EXIT_USAGE;
    }
    gy_monitor_config_init(&cfg);
    if ((ex = parse_ref("--reference", gy_cli_get(o, NOPTS(o), "--reference"), rname, &rver)) ||
        (ex = parse_ref("--current", gy_cli_get(o, NOPTS(o), "--current"), cname, &cver)))
        return ex;
    feats = gy_calloc(MAX_LIST, sizeof(char *));
    imps = gy_calloc(MAX_LIST, sizeof(char *));
    if (!feats || !imps) {
        ex = GY_EXIT_FAIL;
        goto out;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--features")) &&
        (ex = split_list(v, ',', &feat_copy, feats, MAX_LIST, &nfeat, "--features")))
        goto out;
    if ((v = gy_cli_get(o, NOPTS(o), "--importance"))) {
        if ((ex = split_list(v, ',', &imp_copy, imps, MAX_LIST, &nimp, "--importance")))
            goto out;
        cfg.importance = (const char *const *)imps;
        cfg.nimportance = nimp;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--alpha")) && (ex = parse_double(v, &cfg.alpha, "--alpha")))
        goto out;
    if ((v = gy_cli_get(o, NOPTS(o), "--drift-share")) &&
        (ex = parse_double(v, &cfg.drift_share, "--drift-share")))
        goto out;
    if ((v = gy_cli_get(o, NOPTS(o), "--top-important")) &&
        (ex = parse_count(v, &cfg.top_important, 0, 1000000, "--top-important")))
        goto out;
    if ((v = gy_cli_get(o, NOPTS(o), "--top-categories")) &&
        (ex = parse_count(v, &cfg.top_categories, 1, 10000, "--top-categories")))
        goto out;
    if ((v = gy_cli_get(o, NOPTS(o), "--exact-limit")) &&
        (ex = parse_count(v, &cfg.acc.exact_limit, 1, (int64_t)1 << 30, "--exact-limit")))
        goto out;
    if ((v = gy_cli_get(o, NOPTS(o), "--numeric-effect"))) {
        const char *s = stat_name(v);
        if (!s || (strcmp(s, "psi") != 0 && strcmp(s, "wasserstein_norm") != 0)) {
            fprintf(stderr, "gyre: --numeric-effect must be wasserstein_norm or psi\n");
            ex = GY_EXIT_USAGE;
            goto out;
        }
        cfg.numeric_effect = s;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--threshold")) &&
        (ex = parse_thresholds(v, &cfg, &thr_copy, &ov)))
        goto out;
    if ((rc = gy_monitor_config_check(&cfg))) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        ex = GY_EXIT_USAGE;
        goto out;
    }
    json_path = gy_cli_get(o, NOPTS(o), "--json");
    html_path = gy_cli_get(o, NOPTS(o), "--html");
    if ((ex = gy_cli_open_db(&db)))
        goto out;
    rc = gy_monitor_check_datasets(db, rname, rver, cname, cver,
                                   nfeat ? (const char *const *)feats : NULL, nfeat, &cfg, &rep);
    if (rc) {
        ex = gy_cli_fail(rc, "drift check");
        goto out;
    }
    if ((ex = emit_reports(rep, json_path, html_path, NULL)))
        goto out;
    if (!gy_cli_get(o, NOPTS(o), "--quiet") && !(json_path && strcmp(json_path, "-") == 0) &&
        !(html_path && strcmp(html_path, "-") == 0))
        print_summary(rep);
    ex = (rep->drift && gy_cli_get(o, NOPTS(o), "--fail-on-drift")) ? GY_EXIT_DRIFT : GY_EXIT_OK;
out:
    gy_monitor_report_free(rep);
    gy_db_free(db);
    gy_free(feat_copy);
    gy_free(imp_copy);
    gy_free(thr_copy);
    gy_free(feats);
    gy_free(imps);
    gy_free(ov);
    return ex;
}

/* Common decision options of report: --threshold, --alpha, --drift-share. */
static int parse_decision(const struct gy_cli_opt *o, size_t n, struct gy_monitor_config *cfg,
                          char **thr_copy, struct gy_monitor_threshold **ov)
{
    const char *v;
    int ex;
    if ((v = gy_cli_get(o, n, "--alpha")) && (ex = parse_double(v, &cfg->alpha, "--alpha")))
        return ex;
    if ((v = gy_cli_get(o, n, "--drift-share")) &&
        (ex = parse_double(v, &cfg->drift_share, "--drift-share")))
        return ex;
    if ((v = gy_cli_get(o, n, "--threshold")) && (ex = parse_thresholds(v, cfg, thr_copy, ov)))
        return ex;
    if (gy_monitor_config_check(cfg)) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    return GY_EXIT_OK;
}

static int cmd_report(int argc, char **argv)
{
    struct gy_cli_opt o[] = {
        {"--model-version", NULL, 1, NULL, 0}, {"--last-rows", NULL, 1, NULL, 0},
        {"--json", NULL, 1, NULL, 0},          {"--html", NULL, 1, NULL, 0},
        {"--threshold", NULL, 1, NULL, 0},     {"--alpha", NULL, 1, NULL, 0},
        {"--drift-share", NULL, 1, NULL, 0},   {"--fail-on-drift", NULL, 0, NULL, 0},
        {"--no-store", NULL, 0, NULL, 0},      {"--quiet", "-q", 0, NULL, 0},
        {"--alertmanager", NULL, 1, NULL, 0},  {"--window", NULL, 1, NULL, 0},
        {"--tumbling", NULL, 1, NULL, 0},      {"--alert-webhook", NULL, 1, NULL, 0}};
    char *pos[8], *thr_copy = NULL, *json_text = NULL;
    size_t npos, mv = 0, last = 0;
    struct gy_monitor_config cfg;
    struct gy_monitor_window win;
    struct gy_monitor_tumble tw;
    struct gy_monitor_threshold *ov = NULL;
    struct gy_monitor_report *rep = NULL;
    struct gy_db *db = NULL;
    const char *v, *json_path, *html_path, *am, *wh, *tumbling;
    int64_t id = 0;
    enum gy_status rc;
    int ex, sent = 0, wsent = 0;

    if (argc > 64 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)))
        return GY_EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "usage: gyre drift report DEPLOYMENT [--model-version N] [--last-rows N | "
                        "--window DURATION | --tumbling rows:N|time:DURATION] [--json FILE] "
                        "[--html FILE] [--fail-on-drift]\n");
        return GY_EXIT_USAGE;
    }
    gy_monitor_config_init(&cfg);
    memset(&win, 0, sizeof win);
    memset(&tw, 0, sizeof tw);
    if ((v = gy_cli_get(o, NOPTS(o), "--model-version")) &&
        (ex = parse_count(v, &mv, 1, INT64_MAX, "--model-version")))
        return ex;
    if ((v = gy_cli_get(o, NOPTS(o), "--last-rows")) &&
        (ex = parse_count(v, &last, 1, INT64_MAX, "--last-rows")))
        return ex;
    if ((v = gy_cli_get(o, NOPTS(o), "--window")) && gy_monitor_duration_parse(v, &win.last_us)) {
        fprintf(stderr, "gyre: --window: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    tumbling = gy_cli_get(o, NOPTS(o), "--tumbling");
    if (tumbling && gy_monitor_window_parse(tumbling, &win.tumbling_rows, &win.tumbling_us)) {
        fprintf(stderr, "gyre: --tumbling: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    if (!!last + !!win.last_us + !!tumbling > 1) {
        fprintf(stderr, "gyre: --last-rows, --window and --tumbling exclude each other\n");
        return GY_EXIT_USAGE;
    }
    if (tumbling && gy_cli_get(o, NOPTS(o), "--no-store")) {
        fprintf(stderr, "gyre: --tumbling reports each window once and needs to store it: it "
                        "cannot go with --no-store\n");
        return GY_EXIT_USAGE;
    }
    if ((ex = parse_decision(o, NOPTS(o), &cfg, &thr_copy, &ov)))
        goto out;
    wh = gy_cli_get(o, NOPTS(o), "--alert-webhook");
    if (!wh || !*wh)
        wh = getenv("GYRE_ALERT_WEBHOOK_URL");
    if (wh && *wh && gy_monitor_webhook_url_check(wh)) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        ex = GY_EXIT_USAGE;
        goto out;
    }
    am = gy_cli_get(o, NOPTS(o), "--alertmanager");
    if (!am || !*am)
        am = getenv("GYRE_ALERTMANAGER_URL");
    if (am && *am && gy_monitor_alert_url_check(am)) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        ex = GY_EXIT_USAGE;
        goto out;
    }
    win.model_version = (int64_t)mv;
    win.last_rows = last;
    json_path = gy_cli_get(o, NOPTS(o), "--json");
    html_path = gy_cli_get(o, NOPTS(o), "--html");
    if ((ex = gy_cli_open_db(&db)))
        goto out;
    rc = tumbling ? gy_monitor_check_tumbling(db, pos[0], &win, &cfg, &tw, &rep)
                  : gy_monitor_check_deployment(db, pos[0], &win, &cfg, &rep);
    if (rc) {
        ex = gy_cli_fail(rc, "drift report");
        goto out;
    }
    if (!rep) {
        /* Tumbling: no full new window since the last report; nothing is stored. */
        if (!gy_cli_get(o, NOPTS(o), "--quiet"))
            printf("drift report %s: %s; nothing stored\n", pos[0], tw.reason);
        ex = GY_EXIT_OK;
        goto out;
    }
    if ((ex = emit_reports(rep, json_path, html_path, &json_text)))
        goto out;
    if (tumbling)
        rc = gy_monitor_history_add_window(db, pos[0], rep->drift, json_text, &tw, &id);
    else if (!gy_cli_get(o, NOPTS(o), "--no-store"))
        rc = gy_monitor_history_add(db, pos[0], rep->drift, json_text, &id);
    if (rc) {
        ex = gy_cli_fail(rc, "drift report");
        goto out;
    }
    if (am && *am && (rc = gy_monitor_alert_sync(db, am, pos[0], rep, &sent))) {
        ex = gy_cli_fail(rc, "drift alert (the report was stored; the next report retries)");
        goto out;
    }
    if (wh && *wh && (rc = gy_monitor_webhook_sync(db, wh, pos[0], rep, id, &wsent))) {
        ex = gy_cli_fail(rc, "drift webhook (the report was stored; the next report retries)");
        goto out;
    }
    if (!gy_cli_get(o, NOPTS(o), "--quiet") && !(json_path && strcmp(json_path, "-") == 0) &&
        !(html_path && strcmp(html_path, "-") == 0)) {
        print_summary(rep);
        if (id)
            printf("stored as report %lld of %s\n", (long long)id, pos[0]);
        if (sent)
            printf("alert GyreDataDrift for %s %s\n", pos[0], sent > 0 ? "fired" : "resolved");
        if (wsent)
            printf("webhook: GyreDataDrift for %s %s\n", pos[0], wsent > 0 ? "fired" : "resolved");
    }
    ex = (rep->drift && gy_cli_get(o, NOPTS(o), "--fail-on-drift")) ? GY_EXIT_DRIFT : GY_EXIT_OK;
out:
    gy_monitor_report_free(rep);
    gy_db_free(db);
    gy_free(json_text);
    gy_free(thr_copy);
    gy_free(ov);
    return ex;
}

static int cmd_history(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--limit", NULL, 1, NULL, 0}, {"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos, limit = 20, i;
    struct gy_db *db = NULL;
    json_t *arr = NULL, *e;
    const char *v;
    enum gy_status rc;
    int ex;

    if (argc > 16 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)))
        return GY_EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "usage: gyre drift history DEPLOYMENT [--limit N] [--json]\n");
        return GY_EXIT_USAGE;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--limit")) &&
        (ex = parse_count(v, &limit, 1, 10000, "--limit")))
        return ex;
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    if ((rc = gy_monitor_history_list(db, pos[0], limit, &arr))) {
        ex = gy_cli_fail(rc, "drift history");
        goto out;
    }
    if (gy_cli_get(o, NOPTS(o), "--json")) {
        struct gy_buf b;
        gy_buf_init(&b, (size_t)1 << 30);
        rc = gy_json_dump_pretty(arr, &b);
        if (rc == GY_OK)
            rc = gy_buf_putc(&b, '\n');
        if (rc == GY_OK)
            fwrite(b.data, 1, b.len, stdout);
        gy_buf_free(&b);
        if (rc)
            ex = gy_cli_fail(rc, "drift history");
        goto out;
    }
    printf("%-6s  %-27s  %-5s  %-8s  %s\n", "ID", "CREATED", "DRIFT", "FEATURES", "CURRENT");
    json_array_foreach(arr, i, e)
    {
        char ts[32];
        const json_t *rep = json_object_get(e, "report");
        const json_t *ds = json_object_get(rep, "dataset");
        const json_t *cur = json_object_get(rep, "current");
        gy_time_format(gy_json_int(e, "created_us", 0), ts);
        printf("%-6lld  %-27s  %-5s  %3lld/%-4lld  %s\n", (long long)gy_json_int(e, "id", 0), ts,
               json_is_true(json_object_get(e, "drift")) ? "yes" : "no",
               (long long)gy_json_int(ds, "drifted", 0), (long long)gy_json_int(ds, "checked", 0),
               gy_json_str(cur, "dataset", "-"));
    }
    ex = GY_EXIT_OK;
out:
    json_decref(arr);
    gy_db_free(db);
    return ex;
}

const struct gy_cli_cmd gy_cli_drift_cmds[] = {
    {"drift check",
     "--reference DATASET[@V] --current DATASET[@V] [--json FILE|-] [--html FILE] "
     "[--features a,b] [--threshold [FEATURE:]STAT=VALUE,...] [--alpha A] [--drift-share S] "
     "[--importance a,b,...] [--top-important N] [--numeric-effect wasserstein_norm|psi] "
     "[--top-categories N] [--exact-limit N] [--fail-on-drift] [--quiet]",
     "compare two dataset versions feature by feature (KS, PSI, Wasserstein, chi-square, "
     "Jensen-Shannon, z-test); exit 4 with --fail-on-drift when the dataset drifted",
     cmd_check},
    {"drift report",
     "DEPLOYMENT [--model-version N] [--last-rows N | --window DURATION | --tumbling "
     "rows:N|time:DURATION] [--json FILE|-] [--html FILE] "
     "[--threshold [FEATURE:]STAT=VALUE,...] [--alpha A] [--drift-share S] [--fail-on-drift] "
     "[--no-store] [--alertmanager URL] [--alert-webhook URL] [--quiet]",
     "compare a deployment's logged inputs (and outputs, against the model's training scores) "
     "with the training data of the model version that answered, over all rows, a sliding "
     "window or the next full tumbling window; store the report in the history; fire or "
     "resolve the GyreDataDrift alert in Alertmanager (--alertmanager or "
     "GYRE_ALERTMANAGER_URL) and a webhook (--alert-webhook or GYRE_ALERT_WEBHOOK_URL); exit 4 "
     "with --fail-on-drift on drift",
     cmd_report},
    {"drift history", "DEPLOYMENT [--limit N] [--json]",
     "list the stored drift reports of a deployment, newest first", cmd_history},
    {NULL, NULL, NULL, NULL},
};
