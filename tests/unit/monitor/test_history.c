/* SPDX-License-Identifier: MIT */
/*
 * test_history.c - the stored drift report history (add, list newest first, latest per
 * deployment), the Alertmanager URL check, the minimal HTTP POST client against a local
 * one-shot server, and the alert state machine (fire once, deduplicate, resolve), plus the
 * row-masked dataset comparison used for deployment windows.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lake/lake.h"
#include "monitor/monitor.h"
#include "monitor/monitor_int.h"

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct gy_db *open_tmp(char *dir)
{
    struct gy_db *db = NULL;
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(gy_db_open(dir, NULL, &db), GY_OK, "%s", gy_error_msg());
    return db;
}

Test(history, add_list_latest)
{
    char dir[] = "/tmp/gyre-hist-XXXXXX";
    struct gy_db *db = open_tmp(dir);
    json_t *arr = NULL;
    int64_t id1 = 0, id2 = 0, id3 = 0;
    cr_assert_eq(gy_monitor_history_add(db, "a", 0, "{\"n\": 1}", &id1), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(gy_monitor_history_add(db, "b", 1, "{\"n\": 2}", &id2), GY_OK);
    cr_assert_eq(gy_monitor_history_add(db, "a", 1, "{\"n\": 3}", &id3), GY_OK);
    cr_expect(id1 < id2 && id2 < id3);
    cr_assert_eq(gy_monitor_history_list(db, "a", 10, &arr), GY_OK);
    cr_assert_eq(json_array_size(arr), 2);
    cr_expect_eq(gy_json_int(json_object_get(json_array_get(arr, 0), "report"), "n", 0), 3);
    cr_expect(json_is_true(json_object_get(json_array_get(arr, 0), "drift")));
    cr_expect_eq(gy_json_int(json_array_get(arr, 1), "id", 0), id1);
    json_decref(arr);
    cr_assert_eq(gy_monitor_history_list(db, "a", 1, &arr), GY_OK);
    cr_expect_eq(json_array_size(arr), 1);
    json_decref(arr);
    cr_expect_eq(gy_monitor_history_list(db, "a", 0, &arr), GY_E_INVALID);
    cr_assert_eq(gy_monitor_history_list(db, "none", 5, &arr), GY_OK);
    cr_expect_eq(json_array_size(arr), 0);
    json_decref(arr);
    cr_assert_eq(gy_monitor_history_latest(db, &arr), GY_OK);
    cr_assert_eq(json_array_size(arr), 2);
    cr_expect_str_eq(gy_json_str(json_array_get(arr, 0), "deployment", ""), "a");
    cr_expect_eq(gy_json_int(json_array_get(arr, 0), "id", 0), id3);
    cr_expect_eq(gy_json_int(json_array_get(arr, 1), "id", 0), id2);
    json_decref(arr);
    cr_expect_eq(gy_monitor_history_add(db, "", 0, "{}", NULL), GY_E_INVALID);
    gy_db_free(db);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

Test(alert, url_check)
{
    cr_expect_eq(gy_monitor_alert_url_check("http://127.0.0.1:9093"), GY_OK);
    cr_expect_eq(gy_monitor_alert_url_check("http://am.example/prefix/"), GY_OK);
    cr_expect_eq(gy_monitor_alert_url_check("http://[::1]:9093"), GY_OK);
    cr_expect_eq(gy_monitor_alert_url_check("https://127.0.0.1:9093"), GY_E_INVALID);
    cr_expect_eq(gy_monitor_alert_url_check("http://u:p@127.0.0.1:9093"), GY_E_INVALID);
    cr_expect_eq(gy_monitor_alert_url_check("http://127.0.0.1:0"), GY_E_INVALID);
    cr_expect_eq(gy_monitor_alert_url_check("http://127.0.0.1:99999"), GY_E_INVALID);
    cr_expect_eq(gy_monitor_alert_url_check("http://:9093"), GY_E_INVALID);
    cr_expect_eq(gy_monitor_alert_url_check("http://h/a b"), GY_E_INVALID);
    cr_expect_eq(gy_monitor_alert_url_check("ftp://h"), GY_E_INVALID);
}

/* A local server answering each connection with a fixed status; it keeps the last request. */
struct fake {
    int lfd;
    int port;
    int status;
    int requests;
    char last[65536];
};

static void *serve(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        size_t got = 0;
        char resp[128];
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        for (;;) {
            ssize_t n = recv(fd, f->last + got, sizeof(f->last) - 1 - got, 0);
            const char *hdr, *cl;
            if (n <= 0)
                break;
            got += (size_t)n;
            f->last[got] = '\0';
            hdr = strstr(f->last, "\r\n\r\n");
            cl = strstr(f->last, "Content-Length: ");
            if (hdr && cl && got >= (size_t)(hdr + 4 - f->last) + strtoul(cl + 16, NULL, 10))
                break;
        }
        f->requests++;
        snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nno", f->status);
        cr_assert(send(fd, resp, strlen(resp), MSG_NOSIGNAL) > 0);
        close(fd);
    }
}

static void fake_start(struct fake *f, pthread_t *t)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(f->lfd >= 0);
    cr_assert_eq(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(f->lfd, 8), 0);
    cr_assert_eq(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
    f->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(t, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f, pthread_t t)
{
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(t, NULL);
}

Test(alert, http_post)
{
    static struct fake f;
    pthread_t t;
    char url[64];
    int status = 0;
    f.status = 200;
    fake_start(&f, &t);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/am", f.port);
    cr_assert_eq(gy_monitor_http_post(url, "/api/v2/alerts", "[1]", 3, 2000, &status), GY_OK, "%s",
                 gy_error_msg());
    cr_expect_eq(status, 200);
    cr_expect(strncmp(f.last, "POST /am/api/v2/alerts HTTP/1.1\r\n", 33) == 0, "%s", f.last);
    cr_expect_not_null(strstr(f.last, "\r\n\r\n[1]"));
    f.status = 500;
    cr_expect_eq(gy_monitor_http_post(url, "/api/v2/alerts", "[]", 2, 2000, &status), GY_E_IO);
    cr_expect_eq(status, 500);
    cr_expect_not_null(strstr(gy_error_msg(), "HTTP 500"));
    fake_stop(&f, t);
    cr_expect_eq(gy_monitor_http_post(url, "/x", "[]", 2, 2000, &status), GY_E_IO);
    cr_expect_eq(status, 0);
}

Test(alert, fires_once_and_resolves)
{
    static struct fake f;
    char dir[] = "/tmp/gyre-alert-XXXXXX";
    struct gy_db *db = open_tmp(dir);
    struct gy_monitor_feature feat;
    struct gy_monitor_report r;
    pthread_t t;
    char url[64];
    int sent = 7;
    memset(&feat, 0, sizeof(feat));
    memset(&r, 0, sizeof(r));
    feat.name = "amount";
    feat.drift = 1;
    r.features = &feat;
    r.nfeatures = 1;
    r.drift = 1;
    r.reason = "1 of 1 features drifted";
    f.status = 200;
    fake_start(&f, &t);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    cr_assert_eq(gy_monitor_alert_sync(db, url, "dep", &r, &sent), GY_OK, "%s", gy_error_msg());
    cr_expect_eq(sent, 1);
    cr_expect_eq(f.requests, 1);
    cr_expect_not_null(strstr(f.last, "\"alertname\":\"GyreDataDrift\""), "%s", f.last);
    cr_expect_not_null(strstr(f.last, "\"deployment\":\"dep\""));
    cr_expect_not_null(strstr(f.last, "\"drifted_features\":\"amount\""));
    cr_assert_eq(gy_monitor_alert_sync(db, url, "dep", &r, &sent), GY_OK);
    cr_expect_eq(sent, 0, "still drifting: nothing sent");
    cr_expect_eq(f.requests, 1);
    /* A failed resolve keeps the state, so the next report retries. */
    r.drift = 0;
    feat.drift = 0;
    f.status = 503;
    cr_expect_eq(gy_monitor_alert_sync(db, url, "dep", &r, &sent), GY_E_IO);
    cr_expect_eq(f.requests, 2);
    f.status = 200;
    cr_assert_eq(gy_monitor_alert_sync(db, url, "dep", &r, &sent), GY_OK);
    cr_expect_eq(sent, -1);
    cr_expect_eq(f.requests, 3);
    cr_expect_not_null(strstr(f.last, "\"endsAt\""));
    cr_assert_eq(gy_monitor_alert_sync(db, url, "dep", &r, &sent), GY_OK);
    cr_expect_eq(sent, 0);
    cr_expect_eq(f.requests, 3);
    cr_assert_eq(gy_monitor_alert_sync(db, url, "other", &r, &sent), GY_OK);
    cr_expect_eq(sent, 0, "never fired: nothing to resolve");
    fake_stop(&f, t);
    gy_db_free(db);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void ingest(struct gy_db *db, const char *name, const char *csv)
{
    struct gy_ingest_opts o;
    struct gy_ingest_result res;
    int fd = memfd_create("hist-test", 0);
    cr_assert(fd >= 0);
    cr_assert_eq(gy_fd_write_all(fd, csv, strlen(csv)), GY_OK);
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    memset(&o, 0, sizeof(o));
    o.source = name;
    cr_assert_eq(gy_lake_ingest(db, name, fd, &o, &res), GY_OK, "%s", gy_error_msg());
    close(fd);
}

Test(history, masked_window)
{
    char dir[] = "/tmp/gyre-mask-XXXXXX";
    struct gy_db *db = open_tmp(dir);
    struct gy_buf a, b;
    struct gy_monitor_config cfg;
    struct gy_monitor_report *r = NULL;
    const char *feats[] = {"x", "c"};
    uint8_t mask[4000];
    gy_buf_init(&a, 1 << 24);
    gy_buf_init(&b, 1 << 24);
    gy_buf_puts(&a, "x,c\n");
    gy_buf_puts(&b, "x,c\n");
    /* The current set: 2000 rows like the reference, then 2000 shifted ones. */
    for (int i = 0; i < 2000; i++) {
        gy_buf_printf(&a, "%d,%s\n", i % 100, i % 2 ? "p" : "q");
        gy_buf_printf(&b, "%d,%s\n", (i * 7) % 100, i % 2 ? "p" : "q");
    }
    for (int i = 0; i < 2000; i++)
        gy_buf_printf(&b, "%d,%s\n", 50 + i % 100, i % 2 ? "p" : "q");
    ingest(db, "ref", a.data);
    ingest(db, "cur", b.data);
    gy_monitor_config_init(&cfg);
    memset(mask, 0, sizeof(mask));
    memset(mask, 1, 2000);
    cr_assert_eq(gy__monitor_check_masked(db, "ref", 0, "cur", 0, mask, 4000, "first half", feats,
                                          2, &cfg, &r),
                 GY_OK, "%s", gy_error_msg());
    cr_expect_str_eq(r->current, "first half");
    cr_expect_eq(r->rows_cur, 2000);
    cr_expect_eq(r->features[0].rows_cur, 2000);
    cr_expect_eq(r->features[1].values_cur, 2000);
    cr_expect(!r->features[0].drift);
    cr_expect_eq(r->drift, 0);
    gy_monitor_report_free(r);
    r = NULL;
    memset(mask, 0, 2000);
    memset(mask + 2000, 1, 2000);
    cr_assert_eq(
        gy__monitor_check_masked(db, "ref", 0, "cur", 0, mask, 4000, NULL, feats, 2, &cfg, &r),
        GY_OK);
    cr_expect_eq(r->rows_cur, 2000);
    cr_expect(r->features[0].drift);
    cr_expect(!r->features[1].drift);
    cr_expect_eq(r->drift, 1);
    gy_monitor_report_free(r);
    gy_buf_free(&a);
    gy_buf_free(&b);
    gy_db_free(db);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
