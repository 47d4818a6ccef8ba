/* SPDX-License-Identifier: MIT */
/*
 * test_windows.c - the pieces of drift monitoring over served traffic that need no served
 * model: duration and window spec parsing, the decision rule keeping prediction records out of
 * the input verdict (their own Benjamini-Hochberg family and verdict), the report JSON of a
 * prediction record and of a window, the tumbling window state stored with a report (one
 * transaction, per deployment and spec), and the webhook alert state machine (fire once,
 * deduplicate, retry after a failure, resolve) against a local HTTP server, on SQLite and
 * PostgreSQL.
 */
#include "../store_fixture.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "monitor/monitor.h"

Test(windows, duration_parse)
{
    int64_t us = 7;
    OK(gy_monitor_duration_parse("90s", &us));
    cr_expect_eq(us, 90000000);
    OK(gy_monitor_duration_parse("1h", &us));
    cr_expect_eq(us, (int64_t)3600000000);
    OK(gy_monitor_duration_parse("250ms", &us));
    cr_expect_eq(us, 250000);
    OK(gy_monitor_duration_parse("2w", &us));
    cr_expect_eq(us, (int64_t)14 * 86400 * 1000000);
    cr_expect_eq(gy_monitor_duration_parse("0s", &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_duration_parse("5", &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_duration_parse("h", &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_duration_parse("5y", &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_duration_parse("-5s", &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_duration_parse("4000d", &us), GY_E_INVALID, "over 10 years");
    cr_expect_eq(gy_monitor_duration_parse(NULL, &us), GY_E_INVALID);
}

Test(windows, window_parse)
{
    uint64_t rows = 9;
    int64_t us = 9;
    OK(gy_monitor_window_parse("rows:5000", &rows, &us));
    cr_expect_eq(rows, 5000);
    cr_expect_eq(us, 0);
    OK(gy_monitor_window_parse("time:2m", &rows, &us));
    cr_expect_eq(rows, 0);
    cr_expect_eq(us, 120000000);
    cr_expect_eq(gy_monitor_window_parse("rows:0", &rows, &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_window_parse("rows:-3", &rows, &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_window_parse("rows:2000000000", &rows, &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_window_parse("time:", &rows, &us), GY_E_INVALID);
    cr_expect_eq(gy_monitor_window_parse("5000", &rows, &us), GY_E_INVALID);
    cr_expect(strstr(gy_error_msg(), "rows:N or time:DURATION") != NULL, "%s", gy_error_msg());
}

/* A compared feature with effect @p effect against threshold 0.1 and p-value @p p. */
static void feat(struct gy_monitor_feature *f, const char *name, int prediction, double effect,
                 double p)
{
    memset(f, 0, sizeof *f);
    f->name = gy_strdup(name);
    f->kind = GY_MONITOR_NUMERIC;
    f->status = GY_MONITOR_OK;
    f->prediction = prediction;
    f->effect_name = prediction ? "psi" : "wasserstein_norm";
    f->test_name = prediction ? "chi2" : "ks";
    f->effect = effect;
    f->p_value = p;
    f->ks.statistic = f->ks.p_value = NAN;
    f->chi2.statistic = 1;
    f->chi2.p_value = p;
    f->psi = prediction ? effect : NAN;
    f->wasserstein_norm = prediction ? NAN : effect;
    f->missing_ref = f->missing_cur = 0;
    f->out_of_range = f->unseen = NAN;
}

Test(windows, decide_keeps_predictions_apart)
{
    struct gy_monitor_config cfg;
    struct gy_monitor_report *r = gy_calloc(1, sizeof *r);
    json_t *j = NULL, *fs;
    gy_monitor_config_init(&cfg);
    r->cfg = cfg;
    r->nfeatures = 4;
    r->features = gy_calloc(4, sizeof *r->features);
    /* inputs: one drifts of two (share 0.5 >= 0.5); p-values adjusted among the two inputs */
    feat(&r->features[0], "a", 0, 0.5, 0.01);
    feat(&r->features[1], "b", 0, 0.01, 0.9);
    /* predictions: output_0 drifts; output_1's effect is under the threshold */
    feat(&r->features[2], "prediction:output_0", 1, 0.3, 0.02);
    feat(&r->features[3], "prediction:output_1", 1, 0.05, 1e-9);
    OK(gy_monitor_decide(r, &cfg));
    cr_expect_eq(r->checked, 2, "prediction records are not input features");
    cr_expect_eq(r->drifted, 1);
    cr_expect(r->drift);
    /* BH within each family: inputs {0.01, 0.9} -> 0.02, 0.9; predictions {0.02, 1e-9} -> 0.02,
     * 2e-9 */
    cr_expect_float_eq(r->features[0].p_adjusted, 0.02, 1e-15);
    cr_expect_float_eq(r->features[1].p_adjusted, 0.9, 1e-15);
    cr_expect_float_eq(r->features[2].p_adjusted, 0.02, 1e-15);
    cr_expect_float_eq(r->features[3].p_adjusted, 2e-9, 1e-20);
    cr_expect_eq(r->prediction_checked, 2);
    cr_expect_eq(r->prediction_drifted, 1);
    cr_expect(r->prediction_drift);
    cr_expect(r->features[2].drift);
    cr_expect(!r->features[3].drift, "effect 0.05 is under the PSI threshold 0.1");
    cr_expect_float_eq(r->features[2].effect_threshold, 0.1, 1e-15);

    /* The JSON: roles, the separate verdict, inputs counted without predictions. */
    r->window_kind = "tumbling";
    r->window_unit = "rows";
    r->window_size = 300;
    r->window_start = 300;
    r->window_end = 600;
    OK(gy_monitor_report_json(r, &j));
    cr_expect(json_is_true(json_object_get(j, "prediction_drift")));
    cr_expect_eq(gy_json_int(json_object_get(j, "dataset"), "features", -1), 2);
    cr_expect_eq(gy_json_int(json_object_get(j, "prediction"), "outputs", -1), 2);
    cr_expect_eq(gy_json_int(json_object_get(j, "prediction"), "drifted", -1), 1);
    cr_expect_str_eq(gy_json_str(json_object_get(j, "window"), "kind", ""), "tumbling");
    cr_expect_eq(gy_json_int(json_object_get(j, "window"), "start", -1), 300);
    cr_expect_eq(gy_json_int(json_object_get(j, "window"), "end", -1), 600);
    cr_expect_eq(gy_json_int(json_object_get(j, "window"), "rows", -1), 300);
    fs = json_object_get(j, "features");
    cr_expect_str_eq(gy_json_str(json_array_get(fs, 0), "role", ""), "input");
    cr_expect_str_eq(gy_json_str(json_array_get(fs, 2), "role", ""), "prediction");
    cr_expect_float_eq(gy_json_num(json_object_get(json_array_get(fs, 2), "statistics"), "psi", -1),
                       0.3, 1e-15);
    cr_expect_null(json_object_get(json_object_get(json_array_get(fs, 2), "statistics"), "ks"));
    json_decref(j);

    /* Without prediction records the verdict is null. */
    gy_monitor_feature_clear(&r->features[2]);
    gy_monitor_feature_clear(&r->features[3]);
    r->nfeatures = 2;
    OK(gy_monitor_decide(r, &cfg));
    cr_expect(!r->prediction_drift);
    r->window_kind = NULL;
    OK(gy_monitor_report_json(r, &j));
    cr_expect(json_is_null(json_object_get(j, "prediction_drift")));
    cr_expect_null(json_object_get(j, "window"));
    json_decref(j);
    gy_monitor_report_free(r);
}

static int64_t q_int(struct gy_db *db, const char *sql, const char *dep, const char *spec)
{
    struct gy_db_param p[2] = {GY_DB_P_TEXT(dep), GY_DB_P_TEXT(spec ? spec : "")};
    int64_t v = -1;
    OK(gy_db_query_int(db, sql, p, spec ? 2 : 1, &v));
    return v;
}

DB_TEST(window_state_stored_with_the_report)
{
    struct gy_monitor_tumble tw;
    int64_t id1 = 0, id2 = 0, id3 = 0;
    const char *end_sql =
        "SELECT window_end FROM drift_windows WHERE deployment = $1 AND spec = $2";
    memset(&tw, 0, sizeof tw);
    cr_expect_eq(gy_monitor_history_add_window(f->db, "d", 0, "{}", &tw, NULL), GY_E_INVALID,
                 "a window needs its spec");
    snprintf(tw.spec, sizeof tw.spec, "rows:300");
    tw.start = 0;
    tw.end = 300;
    OK(gy_monitor_history_add_window(f->db, "d", 0, "{\"w\": 1}", &tw, &id1));
    cr_expect_eq(q_int(f->db, end_sql, "d", "rows:300"), 300);
    tw.start = 300;
    tw.end = 600;
    OK(gy_monitor_history_add_window(f->db, "d", 1, "{\"w\": 2}", &tw, &id2));
    cr_expect(id2 > id1);
    cr_expect_eq(q_int(f->db, end_sql, "d", "rows:300"), 600, "the end moves on");
    cr_expect_eq(
        q_int(f->db, "SELECT report_id FROM drift_windows WHERE deployment = $1", "d", NULL), id2);
    /* Another spec and another deployment keep their own state. */
    snprintf(tw.spec, sizeof tw.spec, "time:60000000us");
    tw.end = 120000000;
    OK(gy_monitor_history_add_window(f->db, "d", 0, "{}", &tw, &id3));
    cr_expect_eq(q_int(f->db, end_sql, "d", "rows:300"), 600);
    cr_expect_eq(q_int(f->db, end_sql, "d", "time:60000000us"), 120000000);
    cr_expect_eq(
        q_int(f->db, "SELECT COUNT(*) FROM drift_windows WHERE deployment = $1", "e", NULL), 0);
    /* Every windowed report is in the history. */
    cr_expect_eq(
        q_int(f->db, "SELECT COUNT(*) FROM drift_reports WHERE deployment = $1", "d", NULL), 3);
}

/* A local server answering each connection with a fixed status; it keeps the last request. */
struct hook {
    int lfd, port, status, requests;
    char last[65536];
};

static void *hook_serve(void *arg)
{
    struct hook *h = arg;
    for (;;) {
        size_t got = 0;
        char resp[128];
        int fd = accept(h->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        for (;;) {
            ssize_t n = recv(fd, h->last + got, sizeof(h->last) - 1 - got, 0);
            const char *hdr, *cl;
            if (n <= 0)
                break;
            got += (size_t)n;
            h->last[got] = '\0';
            hdr = strstr(h->last, "\r\n\r\n");
            cl = strstr(h->last, "Content-Length: ");
            if (hdr && cl && got >= (size_t)(hdr + 4 - h->last) + strtoul(cl + 16, NULL, 10))
                break;
        }
        h->requests++;
        snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", h->status);
        if (send(fd, resp, strlen(resp), MSG_NOSIGNAL) < 0)
            h->requests += 1000; /* shows up as a failure in the counts */
        close(fd);
    }
}

static void hook_start(struct hook *h, pthread_t *t)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(h->lfd >= 0);
    cr_assert_eq(bind(h->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(h->lfd, 8), 0);
    cr_assert_eq(getsockname(h->lfd, (struct sockaddr *)&a, &len), 0);
    h->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(t, NULL, hook_serve, h), 0);
}

static void hook_stop(struct hook *h, pthread_t t)
{
    shutdown(h->lfd, SHUT_RDWR);
    close(h->lfd);
    pthread_join(t, NULL);
}

/* The JSON body of the last request (new). */
static json_t *hook_body(const struct hook *h)
{
    const char *b = strstr(h->last, "\r\n\r\n");
    json_t *j = NULL;
    cr_assert_not_null(b);
    OK(gy_json_parse(b + 4, strlen(b + 4), 16, "webhook body", &j));
    return j;
}

DB_TEST(webhook_fires_once_and_resolves)
{
    static struct hook h;
    struct gy_monitor_feature fs[3];
    struct gy_monitor_report r;
    pthread_t t;
    char url[64];
    int sent = 7;
    json_t *b;
    memset(fs, 0, sizeof fs);
    memset(&r, 0, sizeof r);
    memset(&h, 0, sizeof h);
    fs[0].name = "amount";
    fs[0].drift = 1;
    fs[1].name = "hour";
    fs[2].name = "prediction:output_0";
    fs[2].drift = 1;
    fs[2].prediction = 1;
    r.features = fs;
    r.nfeatures = 3;
    r.drift = 1;
    r.reason = "1 of 2 features drifted";
    h.status = 200;
    hook_start(&h, &t);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", h.port);
    OK(gy_monitor_webhook_url_check(url));
    cr_expect_eq(gy_monitor_webhook_url_check("https://127.0.0.1/x"), GY_E_INVALID);
    cr_expect(strstr(gy_error_msg(), "webhook") != NULL, "%s", gy_error_msg());

    OK(gy_monitor_webhook_sync(f->db, url, "dep", &r, 41, &sent));
    cr_expect_eq(sent, 1);
    cr_expect_eq(h.requests, 1);
    cr_expect(strncmp(h.last, "POST /hook HTTP/1.1\r\n", 21) == 0, "%.40s", h.last);
    cr_expect(strstr(h.last, "Content-Type: application/json\r\n") != NULL);
    b = hook_body(&h);
    cr_expect_str_eq(gy_json_str(b, "status", ""), "firing");
    cr_expect_str_eq(gy_json_str(b, "alert", ""), "GyreDataDrift");
    cr_expect_str_eq(gy_json_str(b, "deployment", ""), "dep");
    cr_expect_eq(gy_json_int(b, "report_id", 0), 41);
    cr_expect_eq(json_array_size(json_object_get(b, "drifted_features")), 1, "inputs only");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(b, "drifted_features"), 0)),
                     "amount");
    cr_expect_str_eq(gy_json_str(b, "reason", ""), "1 of 2 features drifted");
    cr_expect(strlen(gy_json_str(b, "time", "")) > 20);
    json_decref(b);

    OK(gy_monitor_webhook_sync(f->db, url, "dep", &r, 42, &sent));
    cr_expect_eq(sent, 0, "still drifting: nothing sent");
    cr_expect_eq(h.requests, 1);

    /* A failed resolve keeps the state: the next report retries. */
    r.drift = 0;
    fs[0].drift = 0;
    h.status = 500;
    cr_expect_eq(gy_monitor_webhook_sync(f->db, url, "dep", &r, 43, &sent), GY_E_IO);
    cr_expect(strstr(gy_error_msg(), "webhook") != NULL, "%s", gy_error_msg());
    cr_expect_eq(sent, 0);
    cr_expect_eq(h.requests, 2);
    h.status = 204;
    OK(gy_monitor_webhook_sync(f->db, url, "dep", &r, 44, &sent));
    cr_expect_eq(sent, -1);
    cr_expect_eq(h.requests, 3);
    b = hook_body(&h);
    cr_expect_str_eq(gy_json_str(b, "status", ""), "resolved");
    cr_expect_eq(gy_json_int(b, "report_id", 0), 44);
    cr_expect_eq(json_array_size(json_object_get(b, "drifted_features")), 0);
    json_decref(b);
    OK(gy_monitor_webhook_sync(f->db, url, "dep", &r, 45, &sent));
    cr_expect_eq(sent, 0);
    OK(gy_monitor_webhook_sync(f->db, url, "other", &r, 46, &sent));
    cr_expect_eq(sent, 0, "never fired: nothing to resolve");
    cr_expect_eq(h.requests, 3);
    /* The webhook state is its own: the Alertmanager state is untouched. */
    cr_expect_eq(
        q_int(f->db, "SELECT COUNT(*) FROM drift_alerts WHERE deployment = $1", "dep", NULL), 0);
    hook_stop(&h, t);
    /* Unreachable: an error, nothing recorded. */
    r.drift = 1;
    cr_expect_eq(gy_monitor_webhook_sync(f->db, url, "dep", &r, 47, &sent), GY_E_IO);
    cr_expect_eq(
        q_int(f->db, "SELECT firing FROM drift_webhooks WHERE deployment = $1", "dep", NULL), 0);
}
