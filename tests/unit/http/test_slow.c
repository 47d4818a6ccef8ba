/* SPDX-License-Identifier: MIT */
/*
 * test_slow.c - slow clients against a server with a 1 s connection timeout: half a request
 * and then silence, headers trickled a byte at a time (which an idle timeout never catches),
 * and a body trickled below the minimum rate are all cut off, while requests on other
 * connections keep being answered; a body that is slow but steady is still accepted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <time.h>

#include "http/http.h"

#include "client.h"

static enum gy_status h_ok(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    size_t len;
    char b[64];
    GY_UNUSED(ctx);
    gy_http_req_body(req, &len);
    snprintf(b, sizeof b, "got %zu", len);
    return gy_http_resp_bytes(resp, 200, "text/plain", b, strlen(b), GY_HTTP_COPY);
}

static const struct gy_http_route routes[] = {
    {"GET", "/s/ok", h_ok, 0, NULL, "quick", 0},
    {"POST", "/s/ok", h_ok, 0, NULL, "quick, with a body", 0},
};

static struct gy_http_server *start(void)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv;
    gy_http_config_init(&cfg);
    cfg.port = 0;
    cfg.threads = 1; /* one worker: a slow client must not hold it */
    cfg.timeout_s = 1;
    cfg.access_log = GY_HTTP_LOG_OFF;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_add_routes(srv, routes, GY_ARRAY_LEN(routes), NULL), GY_OK);
    cr_assert_eq(gy_http_server_start(srv), GY_OK, "%s", gy_error_msg());
    return srv;
}

static double now_s(void)
{
    return (double)gy_time_mono_ns() / 1e9;
}

/* A quick request on its own connection must be answered at once. */
static void quick_request_works(struct gy_http_server *srv)
{
    struct cl_resp *r = gy_malloc(sizeof *r);
    int fd = cl_connect(gy_http_server_port(srv));
    cr_assert_geq(fd, 0);
    cr_assert_eq(cl_sends(fd, "GET /s/ok HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    cr_assert_eq(cl_read(fd, r), 0, "another client is served meanwhile");
    cr_assert_eq(r->status, 200);
    close(fd);
    gy_free(r);
}

/* Sends @p s one byte every @p gap_ms until the server closes; returns the bytes sent. */
static size_t trickle(int fd, const char *s, int gap_ms)
{
    size_t i;
    for (i = 0; s[i]; i++) {
        if (send(fd, s + i, 1, MSG_NOSIGNAL) != 1)
            break;
        usleep((useconds_t)gap_ms * 1000);
    }
    return i;
}

Test(slow, half_a_request_then_silence_is_cut)
{
    struct gy_http_server *srv = start();
    int fd = cl_connect(gy_http_server_port(srv));
    double t0 = now_s();
    cr_assert_eq(cl_sends(fd, "POST /s/ok HTTP/1.1\r\nHost: t\r\nContent-Le"), 0);
    for (int i = 0; i < 3; i++)
        quick_request_works(srv);
    cr_assert(cl_closed(fd), "the half request was cut off");
    cr_assert_lt(now_s() - t0, 5.0, "within a few timeouts");
    quick_request_works(srv);
    close(fd);
    gy_http_server_free(srv);
}

Test(slow, half_a_body_then_silence_is_cut)
{
    struct gy_http_server *srv = start();
    int fd = cl_connect(gy_http_server_port(srv));
    cr_assert_eq(cl_sends(fd, "POST /s/ok HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
                              "only part of it"),
                 0);
    quick_request_works(srv);
    cr_assert(cl_closed(fd), "the half body was cut off");
    quick_request_works(srv);
    close(fd);
    gy_http_server_free(srv);
}

Test(slow, trickled_headers_are_cut)
{
    struct gy_http_server *srv = start();
    char head[512];
    int fd = cl_connect(gy_http_server_port(srv));
    double t0;
    size_t sent;
    /* 150 ms between bytes never trips a 1 s idle timeout; 60 bytes would take 9 s. */
    memset(head, 'a', sizeof head);
    memcpy(head, "GET /s/ok HTTP/1.1\r\nX-Slow: ", 28);
    head[60] = '\0';
    t0 = now_s();
    sent = trickle(fd, head, 150);
    cr_assert_lt(sent, 60, "the server closed before the headers were complete");
    cr_assert_lt(now_s() - t0, 5.0, "cut after about the 1 s timeout, took %.1f s", now_s() - t0);
    quick_request_works(srv);
    close(fd);
    gy_http_server_free(srv);
}

Test(slow, trickled_body_is_cut)
{
    struct gy_http_server *srv = start();
    char body[301];
    int fd = cl_connect(gy_http_server_port(srv));
    double t0;
    size_t sent;
    cr_assert_eq(cl_sends(fd, "POST /s/ok HTTP/1.1\r\nHost: t\r\nContent-Length: 300\r\n\r\n"), 0);
    memset(body, 'b', 300);
    body[60] = '\0'; /* 60 of the 300 bytes, one every 150 ms: far below the minimum rate */
    t0 = now_s();
    sent = trickle(fd, body, 150);
    cr_assert_lt(sent, 60, "the server closed before the body was complete");
    cr_assert_lt(now_s() - t0, 5.0, "cut after about the 1 s timeout, took %.1f s", now_s() - t0);
    quick_request_works(srv);
    close(fd);
    gy_http_server_free(srv);
}

Test(slow, slow_but_steady_body_is_accepted)
{
    struct gy_http_server *srv = start();
    struct cl_resp *r = gy_malloc(sizeof *r);
    static char chunk[4096];
    int fd = cl_connect(gy_http_server_port(srv));
    memset(chunk, 'c', sizeof chunk);
    cr_assert_eq(cl_sends(fd, "POST /s/ok HTTP/1.1\r\nHost: t\r\nContent-Length: 16384\r\n\r\n"),
                 0);
    /* 16 KiB over 1.5 s: longer than the timeout, but well above the minimum rate. */
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(cl_send(fd, chunk, sizeof chunk), 0);
        usleep(500 * 1000);
    }
    cr_assert_eq(cl_read(fd, r), 0);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "got 16384");
    close(fd);
    gy_http_server_free(srv);
    gy_free(r);
}
