/* SPDX-License-Identifier: MIT */
/*
 * test_auth.c - the HTTP layer's authentication hooks (gy_http_server_set_auth): the auth
 * hook sees every routed request with its route and captures before the body is read and
 * before the handler; a refusal is answered with its status and message in the path's error
 * format, a 401 with WWW-Authenticate: Bearer, and the handler never runs; the post-request
 * hook runs once per completed request that was tagged with auth data, with the status sent,
 * and never for untagged ones; the hooks cannot be set after start.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http/http.h"

static atomic_int handled;
static atomic_int done_calls;
static atomic_int done_status;
static char seen_perm[64];
static char seen_name[64];

static enum gy_status h_ok(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    atomic_fetch_add(&handled, 1);
    return gy_http_resp_json(resp, 201, json_pack("{s:b}", "ok", 1));
}

static const struct gy_http_route routes[] = {
    {"GET", "/pub", h_ok, 0, NULL, "public", 0},
    {"POST", "/things/{name}", h_ok, 0, "models:write", "write", 0},
    {"GET", "/m/things/{name}", h_ok, 0, "models:read", "module read", 0},
};

static void m_errors(struct gy_http_req *req, struct gy_http_resp *resp, int http_status,
                     enum gy_status code, const char *msg, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    gy_http_resp_json(resp, http_status,
                      json_pack("{s:s, s:s}", "error_code",
                                code == GY_E_PERM ? "PERMISSION_DENIED" : "OTHER", "message", msg));
}

/* Allows "Bearer good", refuses "Bearer weak" with 403, anything else with 401. */
static int hook(struct gy_http_req *req, const struct gy_http_route *route, char *msg, size_t cap,
                void *ctx)
{
    const char *a = gy_http_req_header(req, "Authorization");
    const char *name = gy_http_req_capture(req, "name");
    cr_assert_str_eq(ctx, "auth-ctx");
    snprintf(seen_perm, sizeof seen_perm, "%s", route->perm ? route->perm : "(public)");
    snprintf(seen_name, sizeof seen_name, "%s", name ? name : "(none)");
    if (!route->perm)
        return 0;
    if (a && strcmp(a, "Bearer good") == 0) {
        gy_http_req_set_auth_data(req, (void *)"tagged");
        return 0;
    }
    if (a && strcmp(a, "Bearer weak") == 0) {
        snprintf(msg, cap, "weak lacks %s", route->perm);
        return 403;
    }
    snprintf(msg, cap, "who are you?");
    return 401;
}

static void done(struct gy_http_req *req, int status, void *ctx)
{
    cr_assert_str_eq(ctx, "auth-ctx");
    cr_assert_str_eq(gy_http_req_auth_data(req), "tagged");
    atomic_store(&done_status, status);
    atomic_fetch_add(&done_calls, 1);
}

static struct gy_http_server *start(void)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv;
    gy_http_config_init(&cfg);
    cfg.port = 0;
    cfg.threads = 2;
    cfg.access_log = GY_HTTP_LOG_OFF;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_add_routes(srv, routes, GY_ARRAY_LEN(routes), NULL), GY_OK);
    cr_assert_eq(gy_http_server_set_error_writer(srv, "/m/", m_errors, NULL), GY_OK);
    cr_assert_eq(gy_http_server_set_auth(srv, hook, done, (void *)"auth-ctx"), GY_OK);
    cr_assert_eq(gy_http_server_start(srv), GY_OK, "%s", gy_error_msg());
    atomic_store(&handled, 0);
    atomic_store(&done_calls, 0);
    atomic_store(&done_status, -1);
    return srv;
}

/* Sends @p text and reads until the server closes or 5 s pass (static buffer). */
static const char *send_req(struct gy_http_server *srv, const char *text)
{
    static char resp[16384];
    struct sockaddr_in sa = {0};
    struct timeval tv = {5, 0};
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(gy_http_server_port(srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    while (got < sizeof resp - 1 && (n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)n;
    resp[got] = '\0';
    close(fd);
    return resp;
}

/* Waits (up to 5 s) for the post-request hook to have run @p n times. */
static void wait_done(int n)
{
    for (int i = 0; i < 500 && atomic_load(&done_calls) < n; i++)
        usleep(10000);
}

#define HAS(resp, s) cr_assert(strstr((resp), (s)), "response lacks %s:\n%s", (s), (resp))
#define LACKS(resp, s) cr_assert(!strstr((resp), (s)), "response has %s:\n%s", (s), (resp))

Test(auth, public_route_passes_and_is_not_tagged)
{
    struct gy_http_server *srv = start();
    const char *r = send_req(srv, "GET /pub HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 201");
    cr_assert_str_eq(seen_perm, "(public)");
    cr_assert_eq(atomic_load(&handled), 1);
    gy_http_server_free(srv);
    cr_assert_eq(atomic_load(&done_calls), 0, "untagged requests get no post-request call");
}

Test(auth, refusal_401_skips_handler_and_body)
{
    struct gy_http_server *srv = start();
    /* A body is announced but never sent: the answer must come without it. */
    const char *r = send_req(srv, "POST /things/fraud HTTP/1.1\r\nHost: t\r\n"
                                  "Content-Length: 100\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 401");
    HAS(r, "WWW-Authenticate: Bearer realm=\"gyre\"");
    HAS(r, "{\"error\":\"who are you?\"}");
    cr_assert_str_eq(seen_perm, "models:write");
    cr_assert_str_eq(seen_name, "fraud");
    cr_assert_eq(atomic_load(&handled), 0);
    gy_http_server_free(srv);
}

Test(auth, refusal_403_in_the_paths_error_format)
{
    struct gy_http_server *srv = start();
    const char *r = send_req(srv, "GET /m/things/x HTTP/1.1\r\nHost: t\r\n"
                                  "Authorization: Bearer weak\r\nConnection: close\r\n\r\n");
    HAS(r, "HTTP/1.1 403");
    HAS(r, "\"error_code\":\"PERMISSION_DENIED\"");
    HAS(r, "\"message\":\"weak lacks models:read\"");
    LACKS(r, "WWW-Authenticate");
    cr_assert_eq(atomic_load(&handled), 0);
    gy_http_server_free(srv);
}

Test(auth, allowed_and_tagged_request_gets_post_hook_with_status)
{
    struct gy_http_server *srv = start();
    const char *r = send_req(srv, "POST /things/a HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                                  "good\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    HAS(r, "HTTP/1.1 201");
    cr_assert_eq(atomic_load(&handled), 1);
    wait_done(1);
    cr_assert_eq(atomic_load(&done_calls), 1);
    cr_assert_eq(atomic_load(&done_status), 201);
    gy_http_server_free(srv);
    cr_assert_eq(atomic_load(&done_calls), 1, "exactly once");
}

Test(auth, hooks_cannot_change_after_start)
{
    struct gy_http_server *srv = start();
    cr_assert_eq(gy_http_server_set_auth(srv, NULL, NULL, NULL), GY_E_INVALID);
    gy_http_server_free(srv);
}
