/* SPDX-License-Identifier: MIT */
/*
 * service.c - the drift monitor inside `gyre server`: a background thread with its own store
 * connection that, every configured period, runs the deployment report (src/monitor/
 * deployment.c) over the configured window for every deployment that logs its requests
 * (log_sample above 0), stores the report in the history (which is what the pipelines' drift
 * trigger and the Prometheus gauges read) and brings the Alertmanager and webhook alerts in line
 * with it. With tumbling windows a round reports every full new window, oldest first (at most
 * MAX_WINDOWS_PER_ROUND per deployment), and nothing when none has accumulated; with a sliding
 * window it reports the window as it is now. A deployment without a log, without logged rows in
 * the window or without a lineage dataset is skipped (debug log); other failures are logged as
 * warnings and retried next round.
 *
 * With the serving state (opts->serving) each round also checks data quality at the API: per
 * deployment, the share of V2 infer requests refused for their input since the previous round
 * (the refused-input counters of src/serving, against the requests its routes answered) fires
 * GyreDataQuality over opts->quality_error_rate and resolves it under, through the same
 * Alertmanager and webhook targets (gy_monitor_alert_named_sync, its own state per alert name).
 * The previous round's counters are kept in memory; the counters start with the server, and so
 * does the service.
 */
#include "monitor/monitor.h"
#include "serving/serving.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_WINDOWS_PER_ROUND 16

struct gy_monitor_service {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    struct gy_db *db;
    struct gy_monitor_service_opts o;
    char *alertmanager, *webhook;
    struct qset *prev; /* data quality: the counters at the end of the previous round */
};

/* ------------------------------------------------------------------ data quality */

_Static_assert(GY_MONITOR_QUALITY_KINDS == GY_INPUT_ERR_N, "one refused count per input kind");

/* One deployment's cumulative counters. */
struct qcount {
    char *name;
    uint64_t answered;
    uint64_t refused[GY_MONITOR_QUALITY_KINDS];
};

struct qset {
    struct qcount *v;
    size_t n, cap;
    enum gy_status rc;
};

static void qset_free(struct qset *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        gy_free(q->v[i].name);
    gy_free(q->v);
    gy_free(q);
}

static struct qcount *qset_find(struct qset *q, const char *name)
{
    for (size_t i = 0; q && i < q->n; i++)
        if (strcmp(q->v[i].name, name) == 0)
            return &q->v[i];
    return NULL;
}

static void q_input_errors(const struct gy_input_error_stats *st, void *arg)
{
    struct qset *q = arg;
    struct qcount *c;
    if (!st->deployment || q->rc)
        return;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct qcount *v = gy_realloc(q->v, cap * sizeof *v);
        if (!v) {
            q->rc = GY_E_NOMEM;
            return;
        }
        q->v = v;
        q->cap = cap;
    }
    c = &q->v[q->n];
    memset(c, 0, sizeof *c);
    if (!(c->name = gy_strdup(st->endpoint))) {
        q->rc = GY_E_NOMEM;
        return;
    }
    memcpy(c->refused, st->count, sizeof c->refused);
    q->n++;
}

static void q_variant(const struct gy_variant_stats *v, void *arg)
{
    struct qcount *c;
    if (v->shadow)
        return; /* mirrored requests were answered to nobody */
    if ((c = qset_find(arg, v->deployment)))
        c->answered += v->routed;
}

/* @p cur - @p prev, or @p cur when the counter went back (an endpoint made anew). */
static uint64_t delta(uint64_t cur, uint64_t prev)
{
    return cur >= prev ? cur - prev : cur;
}

void gy_monitor_quality_decide(const struct gy_monitor_quality_round *r, double max_rate,
                               uint64_t min_requests, const char *const *kind_names, int *verdict,
                               double *rate, char *desc, size_t desc_cap)
{
    uint64_t refused = 0, total;
    size_t n;
    for (int k = 0; k < GY_MONITOR_QUALITY_KINDS; k++)
        refused += r->refused[k];
    total = refused + r->answered;
    *rate = total ? (double)refused / (double)total : 0.0;
    *verdict = total < min_requests || total == 0 ? -1 : *rate > max_rate;
    if (!desc || desc_cap == 0)
        return;
    n = (size_t)snprintf(desc, desc_cap,
                         "%llu of %llu infer requests (%.1f%%) refused for their "
                         "input",
                         (unsigned long long)refused, (unsigned long long)total, *rate * 100.0);
    for (int k = 0, first = 1; k < GY_MONITOR_QUALITY_KINDS && n < desc_cap; k++) {
        if (!r->refused[k])
            continue;
        n += (size_t)snprintf(desc + n, desc_cap - n, "%s%s %llu", first ? ": " : ", ",
                              kind_names ? kind_names[k] : "?", (unsigned long long)r->refused[k]);
        first = 0;
    }
    if (n < desc_cap)
        snprintf(desc + n, desc_cap - n, " (threshold %.1f%%)", max_rate * 100.0);
}

/* Fires or resolves GyreDataQuality of @p dep on every configured target. */
static void quality_alert(struct gy_monitor_service *s, const char *dep, int firing,
                          const struct gy_monitor_quality_round *r, double rate, const char *desc)
{
    struct gy_monitor_alert a = {"GyreDataQuality",
                                 dep,
                                 firing,
                                 "V2 infer requests of a deployment refused for their input "
                                 "(shape, type, missing inputs, malformed, too large)",
                                 desc,
                                 NULL};
    json_t *details = NULL, *kinds = json_object();
    uint64_t refused = 0;
    double max_rate = s->o.quality_error_rate;
    const char *url[2] = {s->alertmanager, s->webhook};
    const char *what[2] = {"Alertmanager", "webhook"};
    for (int k = 0; kinds && k < GY_MONITOR_QUALITY_KINDS; k++) {
        refused += r->refused[k];
        json_object_set_new(kinds, gy_input_error_name((enum gy_input_error)k),
                            json_integer((json_int_t)r->refused[k]));
    }
    if (kinds)
        details = json_pack("{s:f, s:f, s:I, s:I, s:O}", "error_rate", rate, "threshold", max_rate,
                            "requests", (json_int_t)(refused + r->answered), "refused",
                            (json_int_t)refused, "kinds", kinds);
    a.details = details;
    for (int t = 0; t < 2; t++) {
        int sent = 0;
        if (!url[t])
            continue;
        if (gy_monitor_alert_named_sync(s->db, (enum gy_monitor_target)t, url[t], &a, &sent))
            gy_log(GY_LOG_WARN, "quality monitor: %s: %s alert not sent (retried next round): %s",
                   dep, what[t], gy_error_msg());
        else if (sent)
            gy_log(GY_LOG_INFO, "quality monitor: %s: %s alert GyreDataQuality %s: %s", dep,
                   what[t], sent > 0 ? "fired" : "resolved", desc);
    }
    json_decref(kinds);
    json_decref(details);
}

/* One round of the data-quality check over every deployment the serving state knows. */
static void quality_round(struct gy_monitor_service *s)
{
    const char *kind_names[GY_MONITOR_QUALITY_KINDS];
    struct qset *cur = gy_calloc(1, sizeof *cur);
    if (!cur) {
        gy_log(GY_LOG_WARN, "quality monitor: out of memory");
        return;
    }
    for (int k = 0; k < GY_MONITOR_QUALITY_KINDS; k++)
        kind_names[k] = gy_input_error_name((enum gy_input_error)k);
    gy_serving_input_errors(s->o.serving, q_input_errors, cur);
    if (cur->rc == GY_OK)
        gy_serving_stats(s->o.serving, NULL, q_variant, cur);
    if (cur->rc) {
        gy_log(GY_LOG_WARN, "quality monitor: out of memory");
        qset_free(cur);
        return;
    }
    for (size_t i = 0; i < cur->n; i++) {
        const struct qcount *c = &cur->v[i], *p = qset_find(s->prev, c->name);
        struct gy_monitor_quality_round r;
        char desc[512];
        double rate;
        int verdict;
        memset(&r, 0, sizeof r);
        r.answered = delta(c->answered, p ? p->answered : 0);
        for (int k = 0; k < GY_MONITOR_QUALITY_KINDS; k++)
            r.refused[k] = delta(c->refused[k], p ? p->refused[k] : 0);
        gy_monitor_quality_decide(&r, s->o.quality_error_rate, s->o.quality_min_requests,
                                  kind_names, &verdict, &rate, desc, sizeof desc);
        gy_log(GY_LOG_DEBUG, "quality monitor: %s: %s", c->name, desc);
        if (verdict >= 0)
            quality_alert(s, c->name, verdict, &r, rate, desc);
    }
    qset_free(s->prev);
    s->prev = cur;
}

/* Stores @p r (with its window when @p tw) and syncs the alerts. */
static enum gy_status publish(struct gy_monitor_service *s, const char *dep,
                              const struct gy_monitor_report *r, const struct gy_monitor_tumble *tw)
{
    json_t *j = NULL;
    struct gy_buf b;
    int64_t id = 0;
    int sent = 0;
    enum gy_status rc;

    gy_buf_init(&b, (size_t)1 << 30);
    rc = gy_monitor_report_json(r, &j);
    if (rc == GY_OK)
        rc = gy_json_dump(j, &b);
    if (rc == GY_OK)
        rc = gy_buf_putc(&b, '\0');
    json_decref(j);
    if (rc == GY_OK)
        rc = tw ? gy_monitor_history_add_window(s->db, dep, r->drift, b.data, tw, &id)
                : gy_monitor_history_add(s->db, dep, r->drift, b.data, &id);
    gy_buf_free(&b);
    if (rc)
        return rc;
    gy_log(GY_LOG_INFO, "drift monitor: %s: report %lld: %s (%s)", dep, (long long)id,
           r->drift ? "DRIFT" : "no drift", r->reason ? r->reason : "");
    if (s->alertmanager) {
        if (gy_monitor_alert_sync(s->db, s->alertmanager, dep, r, &sent) != GY_OK)
            gy_log(GY_LOG_WARN, "drift monitor: %s: alert not sent (retried next round): %s", dep,
                   gy_error_msg());
        else if (sent)
            gy_log(GY_LOG_INFO, "drift monitor: %s: Alertmanager alert %s", dep,
                   sent > 0 ? "fired" : "resolved");
    }
    if (s->webhook) {
        if (gy_monitor_webhook_sync(s->db, s->webhook, dep, r, id, &sent) != GY_OK)
            gy_log(GY_LOG_WARN, "drift monitor: %s: webhook not sent (retried next round): %s", dep,
                   gy_error_msg());
        else if (sent)
            gy_log(GY_LOG_INFO, "drift monitor: %s: webhook alert %s", dep,
                   sent > 0 ? "fired" : "resolved");
    }
    return GY_OK;
}

static void skip_or_warn(const char *dep, enum gy_status rc)
{
    if (rc == GY_NOT_FOUND)
        gy_log(GY_LOG_DEBUG, "drift monitor: %s skipped: %s", dep, gy_error_msg());
    else
        gy_log(GY_LOG_WARN, "drift monitor: %s: %s", dep, gy_error_msg());
}

static void monitor_one(struct gy_monitor_service *s, const char *dep)
{
    struct gy_monitor_config cfg;
    struct gy_monitor_report *r = NULL;
    enum gy_status rc;

    gy_monitor_config_init(&cfg);
    if (s->o.drift_share > 0)
        cfg.drift_share = s->o.drift_share;
    if (!s->o.tumbling) {
        if ((rc = gy_monitor_check_deployment(s->db, dep, &s->o.win, &cfg, &r)) ||
            (rc = publish(s, dep, r, NULL)))
            skip_or_warn(dep, rc);
        gy_monitor_report_free(r);
        return;
    }
    for (int k = 0; k < MAX_WINDOWS_PER_ROUND; k++) {
        struct gy_monitor_tumble tw;
        int stop;
        r = NULL;
        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return;
        rc = gy_monitor_check_tumbling(s->db, dep, &s->o.win, &cfg, &tw, &r);
        if (rc == GY_OK && !r) {
            gy_log(GY_LOG_DEBUG, "drift monitor: %s: %s", dep, tw.reason);
            return;
        }
        if (rc == GY_OK)
            rc = publish(s, dep, r, &tw);
        gy_monitor_report_free(r);
        if (rc) {
            skip_or_warn(dep, rc);
            return;
        }
    }
}

/* The deployments that log requests: log_sample above 0 (absent means 1). *out new. */
static enum gy_status logged_deployments(struct gy_db *db, json_t **out)
{
    struct gy_db_rows *rows = NULL;
    json_t *arr = json_array();
    enum gy_status rc;
    *out = NULL;
    if (!arr)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if ((rc =
             gy_db_query(db, "SELECT name, spec FROM deployments ORDER BY name", NULL, 0, &rows))) {
        json_decref(arr);
        return rc;
    }
    for (size_t i = 0; i < gy_db_rows_count(rows); i++) {
        const char *name = gy_db_rows_text(rows, i, 0), *spec = gy_db_rows_text(rows, i, 1);
        json_t *j = NULL;
        double sample = 1.0;
        if (!name)
            continue;
        if (spec &&
            gy_json_parse(spec, strlen(spec), GY_JSON_MAX_DEPTH, "deployment spec", &j) == GY_OK)
            sample = gy_json_num(j, "log_sample", 1.0);
        json_decref(j);
        if (sample > 0)
            json_array_append_new(arr, json_string(name));
    }
    gy_db_rows_free(rows);
    *out = arr;
    return GY_OK;
}

static void round_all(struct gy_monitor_service *s)
{
    json_t *deps = NULL, *d;
    size_t i;
    if (s->o.serving)
        quality_round(s);
    if (logged_deployments(s->db, &deps) != GY_OK) {
        gy_log(GY_LOG_WARN, "drift monitor: cannot list deployments: %s", gy_error_msg());
        return;
    }
    json_array_foreach(deps, i, d)
    {
        int stop;
        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        monitor_one(s, json_string_value(d));
    }
    json_decref(deps);
}

static void *service_main(void *arg)
{
    struct gy_monitor_service *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(s->o.every_us / 1000000);
        ts.tv_nsec += (long)(s->o.every_us % 1000000) * 1000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
            ;
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->mu);
        round_all(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void service_free(struct gy_monitor_service *s)
{
    gy_db_free(s->db);
    gy_free(s->alertmanager);
    gy_free(s->webhook);
    qset_free(s->prev);
    gy_free(s);
}

enum gy_status gy_monitor_service_start(const char *home, const char *db_url,
                                        const struct gy_monitor_service_opts *opts,
                                        struct gy_monitor_service **out)
{
    struct gy_monitor_service *s;
    enum gy_status rc;
    *out = NULL;
    if (!opts || opts->every_us <= 0)
        return gy_error_set(GY_E_INVALID, "the drift monitor needs a period above 0");
    if (opts->drift_share < 0 || opts->drift_share > 1)
        return gy_error_set(GY_E_INVALID, "the drift share must be in [0, 1]");
    if (!(opts->quality_error_rate >= 0 && opts->quality_error_rate < 1))
        return gy_error_set(GY_E_INVALID, "the quality error rate must be in [0, 1)");
    if (opts->tumbling && !opts->win.tumbling_rows == !opts->win.tumbling_us)
        return gy_error_set(GY_E_INVALID, "a tumbling window needs a row count or a duration");
    if ((opts->alertmanager && (rc = gy_monitor_alert_url_check(opts->alertmanager))) ||
        (opts->webhook && (rc = gy_monitor_webhook_url_check(opts->webhook))))
        return rc;
    if (!(s = gy_calloc(1, sizeof *s)))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    s->o = *opts;
    if (s->o.quality_error_rate <= 0)
        s->o.quality_error_rate = GY_MONITOR_QUALITY_ERROR_RATE;
    if (s->o.quality_min_requests == 0)
        s->o.quality_min_requests = GY_MONITOR_QUALITY_MIN_REQUESTS;
    if ((opts->alertmanager && !(s->alertmanager = gy_strdup(opts->alertmanager))) ||
        (opts->webhook && !(s->webhook = gy_strdup(opts->webhook)))) {
        service_free(s);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    s->o.alertmanager = s->alertmanager;
    s->o.webhook = s->webhook;
    if ((rc = gy_db_open(home, db_url && *db_url ? db_url : NULL, &s->db))) {
        service_free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, service_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        service_free(s);
        return gy_error_set(GY_E_INTERNAL, "cannot start the drift monitor");
    }
    *out = s;
    return GY_OK;
}

void gy_monitor_service_stop(struct gy_monitor_service *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    service_free(s);
}
