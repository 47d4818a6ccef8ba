/* SPDX-License-Identifier: MIT */
/*
 * test_defer.c - deferred responses (gy_http_resp_defer / gy_http_deferred_finish): a
 * response finished later by another thread while the worker thread serves other requests;
 * a response finished before its handler returns; 200 deferred requests over 32 keep-alive
 * connections finished in batches by a background thread; a graceful shutdown that waits
 * for a deferred request; a shutdown that gives up on one (503) and a finish that comes after
 * the server is gone; and the misuse cases (defer twice, defer a set response, finish empty).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "http/http.h"
#include "http/http_int.h"

#include "client.h"

/* Checks on server and finisher threads, where Criterion's asserts must not be used. */
#define MUST(x) ((x) ? (void)0 : (fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x), abort()))

/* ------------------------------------------------------------------ a queue of deferrals */

struct job {
    struct gy_http_deferred *d;
    long n; /* the number the request sent */
};

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job q_v[1024];
static size_t q_n;
static atomic_int q_total;  /* deferrals queued so far */
static atomic_int cleanups; /* request arenas freed (cleanup hook) */
static atomic_int finisher_stop;

static void count_cleanup(void *p)
{
    GY_UNUSED(p);
    atomic_fetch_add(&cleanups, 1);
}

static void q_push(struct gy_http_deferred *d, long n)
{
    pthread_mutex_lock(&q_mu);
    MUST(q_n < GY_ARRAY_LEN(q_v));
    q_v[q_n].d = d;
    q_v[q_n].n = n;
    q_n++;
    pthread_mutex_unlock(&q_mu);
    atomic_fetch_add(&q_total, 1);
}

/* Takes everything queued; returns how many. */
static size_t q_take(struct job *out)
{
    size_t n;
    pthread_mutex_lock(&q_mu);
    n = q_n;
    memcpy(out, q_v, n * sizeof *out);
    q_n = 0;
    pthread_mutex_unlock(&q_mu);
    return n;
}

/* Answers {"n": n, "twice": 2n} with a header naming the finishing thread's batch. */
static void answer(struct job *j, int batch)
{
    struct gy_http_resp *resp = gy_http_deferred_resp(j->d);
    char b[32];
    snprintf(b, sizeof b, "%d", batch);
    MUST(gy_http_resp_json(resp, 200,
                           json_pack("{s:I, s:I}", "n", (json_int_t)j->n, "twice",
                                     (json_int_t)(2 * j->n))) == GY_OK);
    MUST(gy_http_resp_header(resp, "X-Batch", b) == GY_OK);
    gy_http_deferred_finish(j->d);
}

/* Background finisher: every 2 ms answers all queued deferrals as one batch. */
static void *finisher(void *p)
{
    static struct job batch[1024];
    int nb = 0;
    GY_UNUSED(p);
    while (!atomic_load(&finisher_stop)) {
        size_t n = q_take(batch);
        for (size_t i = 0; i < n; i++)
            answer(&batch[i], nb);
        nb += n > 0;
        usleep(2000);
    }
    return NULL;
}

/* ------------------------------------------------------------------ handlers */

/* Defers; the number in the body ("n=123") goes to the queue. */
static enum gy_status h_queue(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_http_deferred *d;
    size_t len;
    const char *body = gy_http_req_body(req, &len);
    long n = len > 2 && strncmp(body, "n=", 2) == 0 ? strtol(body + 2, NULL, 10) : -1;
    enum gy_status rc;
    GY_UNUSED(ctx);
    gy_arena_cleanup_add(gy_http_req_arena(req), count_cleanup, NULL);
    if ((rc = gy_http_resp_defer(resp, &d)))
        return rc;
    q_push(d, n); /* after this the handler touches nothing of the request */
    return GY_OK;
}

/* Defers and finishes before returning. */
static enum gy_status h_inline(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_http_deferred *d;
    enum gy_status rc;
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    if ((rc = gy_http_resp_defer(resp, &d)))
        return rc;
    gy_http_resp_bytes(gy_http_deferred_resp(d), 201, "text/plain", "inline", 6, GY_HTTP_STATIC);
    gy_http_deferred_finish(d);
    return GY_OK;
}

/* Another thread finishes at once, and the handler returns only after it has finished. */
struct race {
    struct gy_http_deferred *d;
    atomic_int done;
};

static void *race_finish(void *p)
{
    struct race *r = p;
    gy_http_resp_bytes(gy_http_deferred_resp(r->d), 200, "text/plain", "raced", 5, GY_HTTP_STATIC);
    gy_http_deferred_finish(r->d);
    atomic_store(&r->done, 1);
    return NULL;
}

static enum gy_status h_race(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct race r;
    pthread_t t;
    enum gy_status rc;
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    atomic_store(&r.done, 0);
    if ((rc = gy_http_resp_defer(resp, &r.d)))
        return rc;
    MUST(pthread_create(&t, NULL, race_finish, &r) == 0);
    pthread_join(t, NULL);
    MUST(atomic_load(&r.done));
    return GY_OK;
}

/* The misuse cases, answered by the handler itself with what it saw. */
static enum gy_status h_misuse(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_http_deferred *d, *d2;
    enum gy_status twice, first;
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    first = gy_http_resp_defer(resp, &d);
    twice = gy_http_resp_defer(resp, &d2);
    MUST(first == GY_OK);
    MUST(twice == GY_E_INVALID);
    MUST(d2 == NULL);
    gy_http_deferred_finish(d); /* nothing filled: a 500 */
    return GY_OK;
}

static enum gy_status h_set_then_defer(struct gy_http_req *req, struct gy_http_resp *resp,
                                       void *ctx)
{
    struct gy_http_deferred *d;
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    gy_http_resp_bytes(resp, 200, "text/plain", "set", 3, GY_HTTP_STATIC);
    MUST(gy_http_resp_defer(resp, &d) == GY_E_INVALID);
    MUST(d == NULL);
    return GY_OK;
}

static enum gy_status h_plain(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    return gy_http_resp_bytes(resp, 200, "text/plain", "plain", 5, GY_HTTP_STATIC);
}

static const struct gy_http_route routes[] = {
    {"POST", "/d/queue", h_queue, 0, NULL, "deferred, finished by the test", 0},
    {"GET", "/d/inline", h_inline, 0, NULL, "finished before returning", 0},
    {"GET", "/d/race", h_race, 0, NULL, "finished by a thread before returning", 0},
    {"GET", "/d/misuse", h_misuse, 0, NULL, "defer twice, finish empty", 0},
    {"GET", "/d/set", h_set_then_defer, 0, NULL, "defer after set", 0},
    {"GET", "/d/plain", h_plain, 0, NULL, "not deferred", 0},
};

static struct gy_http_server *start(int threads)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv;
    gy_http_config_init(&cfg);
    cfg.port = 0;
    cfg.threads = threads;
    cfg.access_log = GY_HTTP_LOG_OFF;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_add_routes(srv, routes, GY_ARRAY_LEN(routes), NULL), GY_OK);
    cr_assert_eq(gy_http_server_start(srv), GY_OK, "%s", gy_error_msg());
    return srv;
}

static void post_n(int fd, long n, int close_it)
{
    char req[256], body[32];
    int bl = snprintf(body, sizeof body, "n=%ld", n);
    snprintf(req, sizeof req, "POST /d/queue HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n%s\r\n%s",
             bl, close_it ? "Connection: close\r\n" : "", body);
    MUST(cl_sends(fd, req) == 0);
}

static void wait_queued(int n)
{
    for (int i = 0; i < 5000 && atomic_load(&q_total) < n; i++)
        usleep(1000);
    cr_assert_geq(atomic_load(&q_total), n, "the handler deferred");
}

/* ------------------------------------------------------------------ tests */

Test(defer, finished_later_by_another_thread_worker_stays_free)
{
    /* One worker thread: while the deferred request waits, it serves another connection. */
    struct gy_http_server *srv = start(1);
    struct cl_resp *r = gy_malloc(sizeof *r);
    struct job j;
    char h[64];
    int a = cl_connect(gy_http_server_port(srv)), b;
    cr_assert_geq(a, 0);
    post_n(a, 21, 0);
    wait_queued(1);
    cr_assert_eq(gy_http_server_inflight(srv), 1, "a deferred request is in flight");

    b = cl_connect(gy_http_server_port(srv));
    cr_assert_eq(cl_sends(b, "GET /d/plain HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    cr_assert_eq(cl_read(b, r), 0, "the worker answered another request meanwhile");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "plain");

    usleep(50 * 1000);
    cr_assert_eq(q_take(&j), 1);
    cr_assert_eq(j.n, 21);
    answer(&j, 7);
    cr_assert_eq(cl_read(a, r), 0);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "{\"n\":21,\"twice\":42}");
    cr_assert_str_eq(cl_header(r, "X-Batch", h, sizeof h), "7");
    cr_assert(cl_header(r, "X-Request-Id", h, sizeof h), "the request id is sent");

    /* The connection is usable again (keep-alive) after a deferred response. */
    post_n(a, 5, 1);
    wait_queued(2);
    cr_assert_eq(q_take(&j), 1);
    answer(&j, 8);
    cr_assert_eq(cl_read(a, r), 0);
    cr_assert_str_eq(r->body, "{\"n\":5,\"twice\":10}");
    close(a);
    close(b);
    gy_http_server_free(srv);
    cr_assert_eq(atomic_load(&cleanups), 2, "both requests were freed once");
    gy_free(r);
}

Test(defer, finished_before_the_handler_returns)
{
    struct gy_http_server *srv = start(2);
    struct cl_resp *r = gy_malloc(sizeof *r);
    int fd = cl_connect(gy_http_server_port(srv));
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(cl_sends(fd, "GET /d/inline HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
        cr_assert_eq(cl_read(fd, r), 0);
        cr_assert_eq(r->status, 201);
        cr_assert_str_eq(r->body, "inline");
        cr_assert_eq(cl_sends(fd, "GET /d/race HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
        cr_assert_eq(cl_read(fd, r), 0);
        cr_assert_eq(r->status, 200);
        cr_assert_str_eq(r->body, "raced");
    }
    close(fd);
    gy_http_server_free(srv);
    gy_free(r);
}

struct conn_client {
    uint16_t port;
    int first, count; /* request numbers first .. first+count-1 */
    int ok;
};

static void *conn_client_main(void *p)
{
    struct conn_client *c = p;
    struct cl_resp *r = gy_malloc(sizeof *r);
    int fd = cl_connect(c->port);
    c->ok = 0;
    for (int i = 0; fd >= 0 && i < c->count; i++) {
        char want[64];
        long n = c->first + i;
        post_n(fd, n, 0);
        if (cl_read(fd, r) || r->status != 200)
            break;
        snprintf(want, sizeof want, "{\"n\":%ld,\"twice\":%ld}", n, 2 * n);
        if (strcmp(r->body, want) != 0)
            break;
        c->ok++;
    }
    if (fd >= 0)
        close(fd);
    gy_free(r);
    return NULL;
}

Test(defer, many_deferred_requests_over_32_connections)
{
    struct gy_http_server *srv = start(2);
    struct conn_client c[32];
    pthread_t t[32], fin;
    int total = 0;
    atomic_store(&finisher_stop, 0);
    cr_assert_eq(pthread_create(&fin, NULL, finisher, NULL), 0);
    for (int i = 0; i < 32; i++) {
        /* 200 requests: 8 connections send 7, 24 send 6. */
        c[i].port = gy_http_server_port(srv);
        c[i].count = i < 8 ? 7 : 6;
        c[i].first = total;
        total += c[i].count;
        cr_assert_eq(pthread_create(&t[i], NULL, conn_client_main, &c[i]), 0);
    }
    cr_assert_eq(total, 200);
    for (int i = 0; i < 32; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(c[i].ok, c[i].count, "connection %d: %d of %d answered right", i, c[i].ok,
                     c[i].count);
    }
    atomic_store(&finisher_stop, 1);
    pthread_join(fin, NULL);
    cr_assert_eq(atomic_load(&q_total), 200);
    cr_assert_eq(gy_http_server_inflight(srv), 0);
    gy_http_server_free(srv);
    cr_assert_eq(atomic_load(&cleanups), 200);
}

static void *finish_after_200ms(void *p)
{
    struct job j;
    GY_UNUSED(p);
    usleep(200 * 1000);
    MUST(q_take(&j) == 1);
    answer(&j, 1);
    return NULL;
}

Test(defer, shutdown_waits_for_a_deferred_request)
{
    struct gy_http_server *srv = start(2);
    struct cl_resp *r = gy_malloc(sizeof *r);
    char h[64];
    pthread_t t;
    int fd = cl_connect(gy_http_server_port(srv));
    post_n(fd, 3, 0);
    wait_queued(1);
    cr_assert_eq(pthread_create(&t, NULL, finish_after_200ms, NULL), 0);
    cr_assert_eq(gy_http_server_shutdown(srv, 10000), GY_OK, "drained in time");
    pthread_join(t, NULL);
    cr_assert_eq(cl_read(fd, r), 0);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "{\"n\":3,\"twice\":6}");
    cr_assert_str_eq(cl_header(r, "Connection", h, sizeof h), "close");
    close(fd);
    gy_http_server_free(srv);
    cr_assert_eq(atomic_load(&cleanups), 1);
    gy_free(r);
}

Test(defer, shutdown_gives_up_and_a_late_finish_is_harmless)
{
    struct gy_http_server *srv = start(2);
    struct cl_resp *r = gy_malloc(sizeof *r);
    struct job j;
    int fd = cl_connect(gy_http_server_port(srv));
    post_n(fd, 4, 0);
    wait_queued(1);
    cr_assert_eq(gy_http_server_shutdown(srv, 100), GY_AGAIN, "cut off after the grace period");
    cr_assert_eq(cl_read(fd, r), 0, "the client is told");
    cr_assert_eq(r->status, 503);
    cr_assert(strstr(r->body, "shutting down"), "%s", r->body);
    cr_assert_eq(atomic_load(&cleanups), 0, "the finisher still holds the request");
    gy_http_server_free(srv);
    /* The finisher comes back after the server is gone: it may still fill the response. */
    cr_assert_eq(q_take(&j), 1);
    answer(&j, 2);
    cr_assert_eq(atomic_load(&cleanups), 1, "the last reference freed the request");
    close(fd);
    gy_free(r);
}

Test(defer, misuse)
{
    struct gy_http_server *srv = start(1);
    struct cl_resp *r = gy_malloc(sizeof *r);
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_resp *lone = gy_arena_alloc(a, sizeof *lone);
    struct gy_http_deferred *d;
    int fd = cl_connect(gy_http_server_port(srv));
    cr_assert_eq(cl_sends(fd, "GET /d/misuse HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    cr_assert_eq(cl_read(fd, r), 0);
    cr_assert_eq(r->status, 500, "finished without a response");
    cr_assert(strstr(r->body, "finished empty"), "%s", r->body);
    cr_assert_eq(cl_sends(fd, "GET /d/set HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    cr_assert_eq(cl_read(fd, r), 0);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "set");
    /* A response that no server made cannot be deferred. */
    gy__http_resp_init(lone, a);
    cr_assert_eq(gy_http_resp_defer(lone, &d), GY_E_INVALID);
    cr_assert_null(d);
    gy_arena_free(a);
    close(fd);
    gy_http_server_free(srv);
    gy_free(r);
}
