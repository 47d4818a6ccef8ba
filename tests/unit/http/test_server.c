/* SPDX-License-Identifier: MIT */
/*
 * test_server.c - in-process tests of the HTTP server on a loopback ephemeral port with a raw
 * socket client: handler context, captures, query lists and headers reach the handler; JSON
 * bodies; spooled bodies; default error mapping and 204; per-route body caps (413); a
 * module's error writer for its prefix; cleanup hooks running when a request ends; and a
 * graceful shutdown that lets an in-flight request finish.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"

static atomic_int cleanups;
static atomic_int in_slow;
static atomic_int release_slow;

static void count_cleanup(void *p)
{
    GY_UNUSED(p);
    atomic_fetch_add(&cleanups, 1);
}

static enum gy_status h_echo(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *const *tags;
    size_t ntags;
    json_t *t = json_array();
    gy_arena_cleanup_add(gy_http_req_arena(req), count_cleanup, NULL);
    if (gy_http_req_query_list(req, "tag", &tags, &ntags))
        return GY_E_NOMEM;
    for (size_t i = 0; i < ntags; i++)
        json_array_append_new(t, json_string(tags[i]));
    gy_http_resp_header(resp, "X-Ctx", (const char *)ctx);
    return gy_http_resp_json(
        resp, 200,
        json_pack("{s:s, s:s, s:s?, s:o, s:s?, s:s}", "method", gy_http_req_method(req), "name",
                  gy_http_req_capture(req, "name"), "raw", gy_http_req_capture_raw(req, "name"),
                  "tags", t, "hdr", gy_http_req_header(req, "x-custom"), "id",
                  gy_http_req_id(req)));
}

static enum gy_status h_json(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    json_t *j;
    enum gy_status rc;
    GY_UNUSED(ctx);
    if ((rc = gy_http_req_json(req, &j)))
        return rc;
    return gy_http_resp_json(resp, 200, json_pack("{s:O}", "got", j));
}

static enum gy_status h_fail(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(resp);
    GY_UNUSED(ctx);
    return gy_error_set(GY_E_EXISTS, "thing \"x\" already exists");
}

static enum gy_status h_empty(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(resp);
    GY_UNUSED(ctx);
    return GY_OK;
}

static enum gy_status h_spool(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    int fd;
    uint64_t len;
    char buf[64] = {0};
    ssize_t n;
    GY_UNUSED(ctx);
    if (gy_http_req_body_fd(req, &fd, &len))
        return GY_E_INTERNAL;
    n = read(fd, buf, sizeof buf - 1);
    return gy_http_resp_json(
        resp, 200, json_pack("{s:I, s:s}", "len", (json_int_t)len, "head", n > 0 ? buf : ""));
}

static enum gy_status h_slow(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    atomic_store(&in_slow, 1);
    while (!atomic_load(&release_slow))
        usleep(1000);
    return gy_http_resp_bytes(resp, 200, "text/plain", "done", 4, GY_HTTP_STATIC);
}

static const struct gy_http_route routes[] = {
    {"GET", "/t/echo/{name}", h_echo, 0, NULL, "echo", 0},
    {"POST", "/t/json", h_json, 0, NULL, "json", 64},
    {"GET", "/t/fail", h_fail, 0, NULL, "fail", 0},
    {"DELETE", "/t/empty", h_empty, 0, NULL, "empty", 0},
    {"PUT", "/t/spool", h_spool, GY_HTTP_ROUTE_SPOOL, NULL, "spool", 0},
    {"GET", "/t/slow", h_slow, 0, NULL, "slow", 0},
    {"GET", "/m/thing", h_fail, 0, NULL, "module route", 0},
};

static void m_errors(struct gy_http_req *req, struct gy_http_resp *resp, int http_status,
                     enum gy_status code, const char *msg, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    gy_http_resp_json(resp, http_status,
                      json_pack("{s:s, s:s}", "error_code",
                                code == GY_NOT_FOUND ? "ENDPOINT_NOT_FOUND" : "OTHER", "message",
                                msg));
}

static struct gy_http_server *start(size_t max_body)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv;
    gy_http_config_init(&cfg);
    cfg.port = 0;
    cfg.threads = 2;
    cfg.max_body = max_body;
    cfg.max_upload = 1000;
    cfg.access_log = GY_HTTP_LOG_OFF;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_add_routes(srv, routes, GY_ARRAY_LEN(routes), "ctx-1"), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(gy_http_server_set_error_writer(srv, "/m/", m_errors, NULL), GY_OK);
    cr_assert_eq(gy_http_server_start(srv), GY_OK, "%s", gy_error_msg());
    cr_assert_neq(gy_http_server_port(srv), 0);
    return srv;
}

/* Sends @p req (a full HTTP/1.1 request) and returns the whole response (static buffer). */
static const char *roundtrip(struct gy_http_server *srv, const char *req, size_t len)
{
    static char resp[65536];
    struct sockaddr_in sa = {0};
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(gy_http_server_port(srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(write(fd, req, len), (ssize_t)len);
    while (got < sizeof resp - 1 && (n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)n;
    resp[got] = '\0';
    close(fd);
    return resp;
}

static const char *get(struct gy_http_server *srv, const char *text)
{
    return roundtrip(srv, text, strlen(text));
}

#define HAS(resp, s) cr_assert(strstr((resp), (s)), "response lacks %s:\n%s", (s), (resp))

Test(server, handler_sees_ctx_captures_query_headers)
{
    struct gy_http_server *srv = start(1024);
    const char *r;
    atomic_store(&cleanups, 0);
    r = get(srv, "GET /t/echo/a%20b?tag=x&tag=y+z HTTP/1.1\r\nHost: t\r\nX-Custom: hi\r\n"
                 "X-Request-Id: req-42\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 200");
    HAS(r, "X-Ctx: ctx-1");
    HAS(r, "X-Request-Id: req-42");
    HAS(r, "\"method\":\"GET\"");
    HAS(r, "\"name\":\"a b\"");
    HAS(r, "\"raw\":\"a%20b\"");
    HAS(r, "\"tags\":[\"x\",\"y z\"]");
    HAS(r, "\"hdr\":\"hi\"");
    HAS(r, "\"id\":\"req-42\"");
    gy_http_server_free(srv); /* after this every request has completed */
    cr_assert_eq(atomic_load(&cleanups), 1, "the request's cleanup hook ran once");
}

Test(server, json_bodies_and_errors)
{
    struct gy_http_server *srv = start(1024);
    const char *r;
    r = get(srv, "POST /t/json HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n"
                 "Connection: close\r\n\r\n{\"a\": 1}\n");
    HAS(r, "HTTP/1.1 200");
    HAS(r, "{\"got\":{\"a\":1}}");
    r = get(srv, "POST /t/json HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n"
                 "Connection: close\r\n\r\n{\"a\": }");
    HAS(r, "HTTP/1.1 400");
    HAS(r, "request body: line 1, column");
    /* This route caps bodies at 64 bytes: refused from Content-Length, before reading. */
    r = get(srv, "POST /t/json HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                 "Connection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 413");
    HAS(r, "the limit is 64 bytes");
    /* And while reading a chunked body. */
    {
        char big[512], chunk[41];
        int n;
        memset(chunk, '1', 40);
        chunk[0] = '[';
        chunk[39] = ']';
        chunk[40] = '\0';
        n = snprintf(big, sizeof big,
                     "POST /t/json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n28\r\n%s\r\n28\r\n%s\r\n0\r\n\r\n",
                     chunk, chunk);
        r = roundtrip(srv, big, (size_t)n);
        HAS(r, "HTTP/1.1 413");
        HAS(r, "more than 64 bytes");
    }
    gy_http_server_free(srv);
}

Test(server, default_errors_204_404_405)
{
    struct gy_http_server *srv = start(1024);
    const char *r;
    r = get(srv, "GET /t/fail HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 409");
    HAS(r, "{\"error\":\"thing \\\"x\\\" already exists\"}");
    r = get(srv, "DELETE /t/empty HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 204");
    r = get(srv, "GET /t/nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 404");
    HAS(r, "\"error\":\"no such endpoint: GET /t/nothing\"");
    r = get(srv, "PUT /t/fail HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 405");
    HAS(r, "Allow: GET, HEAD");
    r = get(srv, "GET /t/echo/x?bad=%zz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 400");
    HAS(r, "query parameter");
    r = get(srv, "HEAD /t/echo/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 200");
    cr_assert_null(strstr(r, "\"method\""), "no body for HEAD:\n%s", r);
    gy_http_server_free(srv);
}

Test(server, error_writer_for_prefix)
{
    struct gy_http_server *srv = start(1024);
    const char *r;
    r = get(srv, "GET /m/nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 404");
    HAS(r, "\"error_code\":\"ENDPOINT_NOT_FOUND\"");
    /* Handler errors under the prefix use it too. */
    r = get(srv, "GET /m/thing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 409");
    HAS(r, "\"error_code\":\"OTHER\"");
    HAS(r, "already exists");
    gy_http_server_free(srv);
}

Test(server, spooled_body_and_upload_cap)
{
    struct gy_http_server *srv = start(16);
    const char *r;
    r = get(srv, "PUT /t/spool HTTP/1.1\r\nHost: t\r\nContent-Length: 26\r\n"
                 "Connection: close\r\n\r\nabcdefghijklmnopqrstuvwxyz");
    HAS(r, "HTTP/1.1 200");
    HAS(r, "\"len\":26");
    HAS(r, "\"head\":\"abcdefghijklmnopqrstuvwxyz\"");
    /* Spooled routes are capped by max_upload (1000 here), not max_body (16). */
    r = get(srv, "PUT /t/spool HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n"
                 "Connection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 413");
    HAS(r, "the limit is 1000 bytes");
    gy_http_server_free(srv);
}

struct client {
    struct gy_http_server *srv;
    char resp[4096];
};

static void *slow_client(void *p)
{
    struct client *c = p;
    const char *r = get(c->srv, "GET /t/slow HTTP/1.1\r\nHost: t\r\n\r\n");
    snprintf(c->resp, sizeof c->resp, "%s", r);
    return NULL;
}

static void *release_later(void *p)
{
    GY_UNUSED(p);
    usleep(200 * 1000);
    atomic_store(&release_slow, 1);
    return NULL;
}

Test(server, shutdown_lets_inflight_finish)
{
    struct gy_http_server *srv = start(1024);
    struct client c = {.srv = srv};
    pthread_t t1, t2;
    atomic_store(&in_slow, 0);
    atomic_store(&release_slow, 0);
    cr_assert_eq(pthread_create(&t1, NULL, slow_client, &c), 0);
    while (!atomic_load(&in_slow))
        usleep(1000);
    cr_assert_eq(gy_http_server_inflight(srv), 1);
    cr_assert_eq(pthread_create(&t2, NULL, release_later, NULL), 0);
    cr_assert_eq(gy_http_server_shutdown(srv, 10000), GY_OK, "drained in time");
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    HAS(c.resp, "HTTP/1.1 200");
    HAS(c.resp, "Connection: close");
    HAS(c.resp, "done");
    cr_assert_eq(gy_http_server_inflight(srv), 0);
    gy_http_server_free(srv);
}

Test(server, config_is_validated)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv = NULL;
    gy_http_config_init(&cfg);
    cr_assert_str_eq(cfg.host, "127.0.0.1");
    cr_assert_eq(cfg.port, 8080);
    cr_assert_eq(cfg.max_body, (size_t)16 << 20);
    cr_assert_eq(cfg.timeout_s, 30);
    cfg.host = "localhost.example";
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_E_INVALID);
    cr_assert_null(srv);
    cfg.host = "::1";
    cfg.max_body = 0;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_E_INVALID);
    cfg.max_body = 10;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_OK);
    gy_http_server_free(srv);
}

Test(server, port_in_use_is_reported)
{
    struct gy_http_server *a = start(1024), *b = NULL;
    struct gy_http_config cfg;
    gy_http_config_init(&cfg);
    cfg.port = gy_http_server_port(a);
    cfg.threads = 1;
    cfg.access_log = GY_HTTP_LOG_OFF;
    cr_assert_eq(gy_http_server_create(&cfg, &b), GY_OK);
    cr_assert_eq(gy_http_server_start(b), GY_E_IO);
    cr_assert(strstr(gy_error_msg(), "cannot listen on 127.0.0.1:"), "%s", gy_error_msg());
    gy_http_server_free(b);
    gy_http_server_free(a);
}
