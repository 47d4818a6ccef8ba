/* SPDX-License-Identifier: MIT */
/*
 * server.c - the HTTP server on libmicrohttpd: the only file in gyre that includes
 * microhttpd.h. It runs libmicrohttpd with an internal polling thread pool (epoll where
 * available), creates each request's arena in the URI-log callback (the first callback
 * libmicrohttpd makes for a request) and frees it in the request-completed callback, parses
 * the request target and headers, enforces the limits (414, 431, 413 before and while reading
 * the body), buffers or spools the body, calls the route's handler, sends what it prepared,
 * writes the access log line, and drains in-flight requests on a graceful shutdown.
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define DEFAULT_MAX_BODY ((size_t)16 << 20)
/*
 * After a chunked body passes its cap mid-stream libmicrohttpd 0.9.75 cannot send a
 * response until the request has been read, so the rest is read and dropped; a client that
 * keeps sending more than this past the cap is disconnected instead.
 */
#define DISCARD_MAX ((uint64_t)64 << 20)

struct error_writer {
    char *prefix;
    gy_http_error_writer fn;
    void *ctx;
};

struct gy_http_server {
    struct gy_http_config cfg;
    char *host;
    char *spool_dir;
    struct gy__http_router router;
    struct error_writer *ew;
    size_t n_ew;
    struct MHD_Daemon *d;
    uint16_t port;
    int ipv6;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    atomic_size_t inflight;
    atomic_int closing;
    int shut;
};

/* The last message libmicrohttpd logged on this thread (for start-up errors). */
static _Thread_local char mhd_last[256];

/* ------------------------------------------------------------------ configuration */

void gy_http_config_init(struct gy_http_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->threads = 0;
    cfg->max_body = DEFAULT_MAX_BODY;
    cfg->max_upload = (size_t)1 << 30;
    cfg->timeout_s = 30;
    cfg->max_connections = 1024;
    cfg->max_per_ip = 0;
    cfg->max_url = 8192;
    cfg->max_headers = 100;
    cfg->conn_memory = 64 * 1024;
    cfg->access_log = GY_HTTP_LOG_TEXT;
    cfg->spool_dir = NULL;
}

enum gy_status gy_http_server_create(const struct gy_http_config *cfg, struct gy_http_server **out)
{
    struct gy_http_server *srv;
    const char *spool;
    *out = NULL;
    if (!cfg->host || !*cfg->host)
        return gy_error_set(GY_E_INVALID, "no host to bind");
    if (cfg->threads < 0 || cfg->threads > 1024)
        return gy_error_set(GY_E_INVALID, "threads must be 0 (one per CPU) to 1024, not %d",
                            cfg->threads);
    if (cfg->max_body == 0 || cfg->max_upload == 0)
        return gy_error_set(GY_E_INVALID, "body size limits must be positive");
    if (cfg->max_connections == 0 || cfg->max_headers == 0 || cfg->max_url < 16)
        return gy_error_set(GY_E_INVALID, "connection, header and URL limits must be positive");
    if (cfg->conn_memory < 4096)
        return gy_error_set(GY_E_INVALID, "conn_memory must be at least 4096 bytes");
    srv = gy_calloc(1, sizeof *srv);
    if (!srv)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    srv->cfg = *cfg;
    spool = cfg->spool_dir;
    if (!spool || !*spool)
        spool = getenv("TMPDIR");
    if (!spool || !*spool)
        spool = "/tmp";
    srv->host = gy_strdup(cfg->host);
    srv->spool_dir = gy_strdup(spool);
    if (!srv->host || !srv->spool_dir) {
        gy_http_server_free(srv);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    srv->cfg.host = srv->host;
    srv->cfg.spool_dir = srv->spool_dir;
    if (srv->cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv->cfg.threads = n < 1 ? 1 : n > 256 ? 256 : (int)n;
    }
    if (inet_pton(AF_INET, cfg->host, &srv->sin.sin_addr) == 1) {
        srv->sin.sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, cfg->host, &srv->sin6.sin6_addr) == 1) {
        srv->sin6.sin6_family = AF_INET6;
        srv->ipv6 = 1;
    } else {
        gy_http_server_free(srv);
        return gy_error_set(GY_E_INVALID,
                            "host \"%s\" is not an IPv4 or IPv6 address (names are not resolved)",
                            cfg->host);
    }
    *out = srv;
    return GY_OK;
}

enum gy_status gy_http_server_add_routes(struct gy_http_server *srv,
                                         const struct gy_http_route *routes, size_t n, void *ctx)
{
    if (srv->d)
        return gy_error_set(GY_E_INVALID, "routes must be added before the server starts");
    return gy__http_router_add(&srv->router, routes, n, ctx);
}

enum gy_status gy_http_server_set_error_writer(struct gy_http_server *srv, const char *prefix,
                                               gy_http_error_writer fn, void *ctx)
{
    struct error_writer *v;
    char *p;
    if (srv->d)
        return gy_error_set(GY_E_INVALID, "error writers must be set before the server starts");
    if (!prefix || prefix[0] != '/' || !fn)
        return gy_error_set(GY_E_INVALID, "an error writer needs a prefix starting with '/'");
    v = gy_realloc(srv->ew, (srv->n_ew + 1) * sizeof *v);
    if (!v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    srv->ew = v;
    p = gy_strdup(prefix);
    if (!p)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    v[srv->n_ew].prefix = p;
    v[srv->n_ew].fn = fn;
    v[srv->n_ew].ctx = ctx;
    srv->n_ew++;
    return GY_OK;
}

uint16_t gy_http_server_port(const struct gy_http_server *srv)
{
    return srv->port;
}

size_t gy_http_server_inflight(const struct gy_http_server *srv)
{
    return atomic_load(&((struct gy_http_server *)srv)->inflight);
}

/* ------------------------------------------------------------------ sending */

/* Hands the prepared response to libmicrohttpd. */
static enum MHD_Result send_resp(struct gy_http_req *req)
{
    struct MHD_Connection *c = req->conn;
    struct gy_http_resp *resp = &req->resp;
    struct gy_http_server *srv = req->srv;
    struct MHD_Response *r = NULL;
    enum MHD_Result ok;
    uint64_t bytes = 0;

    if (resp->kind == GY__BODY_FD) {
        r = MHD_create_response_from_fd_at_offset64(resp->flen, resp->fd, resp->offset);
        if (r)
            resp->fd = -1; /* libmicrohttpd closes it with the response */
        bytes = resp->flen;
    } else if (resp->kind == GY__BODY_MEM) {
        /* The body lives until the arena goes, which is after the response is done. */
        r = MHD_create_response_from_buffer(resp->len, (void *)resp->data, MHD_RESPMEM_PERSISTENT);
        bytes = resp->len;
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    if (resp->content_type)
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    if (req->id && *req->id)
        MHD_add_response_header(r, "X-Request-Id", req->id);
    for (size_t i = 0; i < resp->headers.n; i++)
        MHD_add_response_header(r, resp->headers.v[i].key, resp->headers.v[i].val);
    if (atomic_load(&srv->closing))
        MHD_add_response_header(r, "Connection", "close");
    ok = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        req->sent_status = resp->status;
        req->sent_bytes = bytes;
    }
    return ok;
}

static const struct error_writer *find_error_writer(const struct gy_http_server *srv,
                                                    const char *path)
{
    const struct error_writer *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < srv->n_ew; i++) {
        size_t n = strlen(srv->ew[i].prefix);
        if (n >= best_len && strncmp(path, srv->ew[i].prefix, n) == 0) {
            best = &srv->ew[i];
            best_len = n;
        }
    }
    return best;
}

/*
 * Fills the response for an error status: through the error writer registered for the
 * path's prefix when there is one, else {"error": msg}.
 */
static void fill_error(struct gy_http_req *req, int http_status, enum gy_status code,
                       const char *msg)
{
    const struct error_writer *ew = find_error_writer(req->srv, req->path);
    gy__http_resp_init(&req->resp, req->arena);
    if (ew)
        ew->fn(req, &req->resp, http_status, code, msg, ew->ctx);
    if (!req->resp.set)
        gy__http_resp_default_error(&req->resp, http_status, msg);
    if (!req->resp.set) /* out of memory even for that */
        gy_http_resp_bytes(&req->resp, 500, "text/plain", "out of memory\n", 14, GY_HTTP_STATIC);
    if (http_status == 503 && !gy__http_kv_find(&req->resp.headers, "Retry-After", 1))
        gy_http_resp_header(&req->resp, "Retry-After", "1");
}

static enum MHD_Result send_error(struct gy_http_req *req, int http_status, enum gy_status code,
                                  const char *msg)
{
    fill_error(req, http_status, code, msg);
    if (http_status == 405 && req->match.allow[0])
        gy_http_resp_header(&req->resp, "Allow", req->match.allow);
    req->handler_rc = code;
    return send_resp(req);
}

/* Records an error to answer with (the first one wins). */
static void set_err(struct gy_http_req *req, int http_status, enum gy_status code, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
static void set_err(struct gy_http_req *req, int http_status, enum gy_status code, const char *fmt,
                    ...)
{
    char msg[1024];
    va_list ap;
    if (req->err_status)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    req->err_status = http_status;
    req->err_code = code;
    req->err_msg = gy_arena_strdup(req->arena, msg);
}

/* ------------------------------------------------------------------ request setup */

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct gy_http_server *srv = cls;
    struct gy_arena *a = gy_arena_create(16 * 1024);
    struct gy_http_req *req = a ? gy_arena_alloc(a, sizeof *req) : NULL;
    if (!req) {
        gy_arena_free(a);
        return NULL;
    }
    gy__http_req_init(req, a);
    req->srv = srv;
    req->conn = c;
    req->start_ns = gy_time_mono_ns();
    req->start_wall_us = gy_time_wall_us();
    req->target = gy_arena_strdup(a, uri ? uri : "");
    if (!req->target) {
        gy_arena_free(a);
        return NULL;
    }
    atomic_fetch_add(&srv->inflight, 1);
    return req;
}

static void body_buf_release(void *p)
{
    gy_buf_free((struct gy_buf *)p);
}

static void spool_close(void *p)
{
    struct gy_http_req *req = p;
    if (req->body_fd >= 0)
        close(req->body_fd);
    req->body_fd = -1;
}

static enum gy_status spool_open(struct gy_http_req *req)
{
    const char *dir = req->srv->spool_dir;
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        char tmpl[4096];
        if (gy_snprintf(tmpl, sizeof tmpl, "%s/gyre-body-XXXXXX", dir))
            return gy_error_set(GY_E_INVALID, "spool directory path is too long");
        fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
            return gy_error_set(GY_E_IO, "cannot create a spool file in %s: %s", dir,
                                strerror(errno));
        unlink(tmpl);
    }
    req->body_fd = fd;
    if (gy_arena_cleanup_add(req->arena, spool_close, req)) {
        close(fd);
        req->body_fd = -1;
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    return GY_OK;
}

static enum MHD_Result header_it(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct gy_http_req *req = cls;
    char *k, *v;
    GY_UNUSED(kind);
    if (req->headers.n >= req->srv->cfg.max_headers) {
        set_err(req, 431, GY_E_TOO_LARGE, "too many header fields (the limit is %u)",
                req->srv->cfg.max_headers);
        return MHD_NO;
    }
    k = gy_arena_strdup(req->arena, key ? key : "");
    v = gy_arena_strdup(req->arena, value ? value : "");
    if (!k || !v || gy__http_kv_add(req->arena, &req->headers, k, v)) {
        set_err(req, 500, GY_E_NOMEM, "out of memory");
        return MHD_NO;
    }
    return MHD_YES;
}

static void format_remote(struct gy_http_req *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip))
            snprintf(req->remote, sizeof req->remote, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip))
            snprintf(req->remote, sizeof req->remote, "[%s]:%u", ip, ntohs(s6->sin6_port));
    }
}

/*
 * The first access-handler call for a request: everything up to the body. Errors found here
 * are answered at once, before any body is read (libmicrohttpd then closes the connection
 * if a body was announced).
 */
static enum MHD_Result first_call(struct gy_http_req *req, const char *method)
{
    struct gy_http_server *srv = req->srv;
    struct gy_arena *a = req->arena;
    const char *q, *xid, *cl;
    enum gy_status rc;
    int64_t clen = -1;

    req->started = 1;
    req->method = gy_arena_strdup(a, method ? method : "");
    q = strchr(req->target, '?');
    req->path = q ? gy_arena_strndup(a, req->target, (size_t)(q - req->target)) : req->target;
    req->query_string = q ? q + 1 : "";
    if (!req->method || !req->path)
        return MHD_NO;
    format_remote(req);
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_it, req);
    xid = gy__http_kv_find(&req->headers, "X-Request-Id", 1);
    if (gy__http_request_id_ok(xid)) {
        req->id = xid;
    } else {
        char *id = gy_arena_alloc(a, 33);
        if (!id)
            return MHD_NO;
        gy__http_request_id_new(id);
        req->id = id;
    }
    if (req->err_status)
        return send_error(req, req->err_status, req->err_code, req->err_msg);
    if (strlen(req->target) > srv->cfg.max_url) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request target is %zu bytes; the limit is %zu bytes",
                 strlen(req->target), srv->cfg.max_url);
        return send_error(req, 414, GY_E_TOO_LARGE, msg);
    }

    rc = gy__http_router_match(&srv->router, a, req->method, req->path, &req->match);
    if (rc == GY_NOT_FOUND) {
        char msg[512];
        snprintf(msg, sizeof msg, "no such endpoint: %s %.300s", req->method, req->path);
        return send_error(req, 404, GY_NOT_FOUND, msg);
    }
    if (rc == GY_DECLINED) {
        char msg[512];
        snprintf(msg, sizeof msg, "method %s is not allowed on %.300s (allowed: %s)", req->method,
                 req->path, req->match.allow);
        return send_error(req, 405, GY_E_INVALID, msg);
    }
    if (rc)
        return send_error(req, gy_http_status_from(rc), rc, gy_error_msg());
    req->rt = req->match.rt;
    if ((rc = gy__http_query_parse(a, req->query_string, &req->query)))
        return send_error(req, gy_http_status_from(rc), rc, gy_error_msg());

    req->max_body = req->rt->route->max_body                        ? req->rt->route->max_body
                    : (req->rt->route->flags & GY_HTTP_ROUTE_SPOOL) ? srv->cfg.max_upload
                                                                    : srv->cfg.max_body;
    if (req->rt->route->flags & GY_HTTP_ROUTE_NO_BODY)
        req->max_body = 0;
    cl = gy__http_kv_find(&req->headers, "Content-Length", 1);
    if (cl && (gy_parse_int64(cl, &clen) || clen < 0))
        return send_error(req, 400, GY_E_INVALID, "bad Content-Length");
    if (clen > 0 && (uint64_t)clen > req->max_body) {
        char msg[256];
        if (req->max_body == 0)
            snprintf(msg, sizeof msg, "%s %s takes no request body", req->method,
                     req->rt->route->pattern);
        else
            snprintf(msg, sizeof msg, "request body too large: %lld bytes; the limit is %zu bytes",
                     (long long)clen, req->max_body);
        return send_error(req, 413, GY_E_TOO_LARGE, msg);
    }
    if (req->rt->route->flags & GY_HTTP_ROUTE_SPOOL) {
        if ((rc = spool_open(req)))
            return send_error(req, gy_http_status_from(rc), rc, gy_error_msg());
    } else {
        gy_buf_init(&req->body, req->max_body);
        if (gy_arena_cleanup_add(a, body_buf_release, &req->body))
            return MHD_NO;
        if (clen > 0 && gy_buf_reserve(&req->body, (size_t)clen))
            return send_error(req, 500, GY_E_NOMEM, "out of memory for the request body");
    }
    return MHD_YES;
}

/* One piece of the body. Never fails the connection unless a client keeps sending past any
 * reasonable point after an error. */
static enum MHD_Result body_piece(struct gy_http_req *req, const char *data, size_t n)
{
    uint64_t total = req->body_len + n;
    if (req->err_status) {
        req->body_len = total;
        return total - req->max_body > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (total > req->max_body || total < req->body_len) {
        req->body_len = total;
        set_err(req, 413, GY_E_TOO_LARGE, "request body too large: more than %zu bytes (the limit)",
                req->max_body);
        return MHD_YES;
    }
    req->body_len = total;
    if (req->body_fd >= 0) {
        if (gy_fd_write_all(req->body_fd, data, n))
            set_err(req, 500, GY_E_IO, "cannot spool the request body: %s", gy_error_msg());
    } else if (gy_buf_append(&req->body, data, n)) {
        set_err(req, 500, GY_E_NOMEM, "out of memory for the request body");
    }
    return MHD_YES;
}

/* The whole request is in: run the handler and send its response. */
static enum MHD_Result dispatch(struct gy_http_req *req)
{
    const struct gy__http_rt *rt = req->rt;
    enum gy_status rc;

    if (req->err_status)
        return send_error(req, req->err_status, req->err_code, req->err_msg);
    if (req->body_fd >= 0 && lseek(req->body_fd, 0, SEEK_SET) < 0)
        return send_error(req, 500, GY_E_IO, "cannot rewind the spooled body");
    gy_error_clear();
    gy__http_resp_init(&req->resp, req->arena);
    rc = rt->route->fn(req, &req->resp, rt->ctx);
    req->handler_rc = rc;
    if (!req->resp.set) {
        if (rc == GY_OK) {
            req->resp.status = 204;
            req->resp.set = 1;
        } else {
            char msg[2048];
            const char *e = gy_error_msg();
            snprintf(msg, sizeof msg, "%s", *e ? e : gy_status_str(rc));
            fill_error(req, gy_http_status_from(rc), rc, msg);
            req->handler_rc = rc;
        }
    }
    return send_resp(req);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct gy_http_req *req = *con_cls;
    GY_UNUSED(cls);
    GY_UNUSED(url);
    GY_UNUSED(version);
    if (!req)
        return MHD_NO;
    req->conn = c;
    if (!req->started)
        return first_call(req, method);
    if (req->sent_status)
        return MHD_YES; /* answered early; libmicrohttpd drops the rest */
    if (*upload_data_size) {
        enum MHD_Result r = body_piece(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r;
    }
    return dispatch(req);
}

/* ------------------------------------------------------------------ completion, access log */

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    }
    return "unknown";
}

static void access_log(struct gy_http_req *req, enum MHD_RequestTerminationCode toe)
{
    const struct gy_http_server *srv = req->srv;
    long long us = (long long)((gy_time_mono_ns() - req->start_ns) / 1000);
    const char *method = req->started ? req->method : "-";
    const char *path = req->started ? req->path : req->target;
    const char *end = termination_name(toe);

    if (srv->cfg.access_log == GY_HTTP_LOG_TEXT) {
        gy_log(GY_LOG_INFO,
               "access method=%s path=%.1024s status=%d bytes=%llu us=%lld id=%s remote=%s%s%s",
               method, path, req->sent_status, (unsigned long long)req->sent_bytes, us,
               *req->id ? req->id : "-", *req->remote ? req->remote : "-",
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " end=",
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : end);
    } else if (srv->cfg.access_log == GY_HTTP_LOG_JSON) {
        char ts[32], clean[1100];
        json_t *o;
        char *line;
        size_t i;
        gy_time_format(gy_time_wall_us(), ts);
        /* The raw path is ASCII from the request line; keep the JSON valid whatever it is. */
        for (i = 0; path[i] && i + 1 < sizeof clean; i++)
            clean[i] =
                (unsigned char)path[i] < 0x20 || (unsigned char)path[i] > 0x7e ? '?' : path[i];
        clean[i] = '\0';
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s}", "ts", ts, "level",
                      "info", "msg", "access", "method", method, "path", clean, "status",
                      req->sent_status, "bytes", (json_int_t)req->sent_bytes, "duration_us",
                      (json_int_t)us, "request_id", req->id, "remote", req->remote, "end", end);
        line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line)
            fprintf(stderr, "%s\n", line);
        gy_free(line); /* jansson allocates through gy_malloc */
        json_decref(o);
    }
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct gy_http_server *srv = cls;
    struct gy_http_req *req = *con_cls;
    GY_UNUSED(c);
    if (!req)
        return;
    *con_cls = NULL;
    access_log(req, toe);
    gy_arena_free(req->arena);
    atomic_fetch_sub(&srv->inflight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    size_t n;
    GY_UNUSED(cls);
    vsnprintf(mhd_last, sizeof mhd_last, fmt, ap);
    n = strlen(mhd_last);
    while (n && (mhd_last[n - 1] == '\n' || mhd_last[n - 1] == '\r'))
        mhd_last[--n] = '\0';
    gy_log(GY_LOG_DEBUG, "libmicrohttpd: %s", mhd_last);
}

/* The identity: paths and queries are decoded by gyre (query.c), not by libmicrohttpd. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    GY_UNUSED(cls);
    GY_UNUSED(c);
    return strlen(s);
}

/* ------------------------------------------------------------------ start, stop */

enum gy_status gy_http_server_start(struct gy_http_server *srv)
{
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem ops[16];
    size_t k = 0;
    const union MHD_DaemonInfo *info;
    const struct sockaddr *sa;

    if (srv->d || srv->shut)
        return gy_error_set(GY_E_INVALID, "the server was already started");
    if (srv->ipv6) {
        flags |= MHD_USE_IPv6;
        srv->sin6.sin6_port = htons(srv->cfg.port);
        sa = (const struct sockaddr *)&srv->sin6;
    } else {
        srv->sin.sin_port = htons(srv->cfg.port);
        sa = (const struct sockaddr *)&srv->sin;
    }
#define OPT(o, v, p) (ops[k++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
    OPT(MHD_OPTION_SOCK_ADDR, 0, (void *)sa);
    OPT(MHD_OPTION_CONNECTION_LIMIT, srv->cfg.max_connections, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.timeout_s, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->cfg.conn_memory, NULL);
    if (srv->cfg.max_per_ip)
        OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->cfg.max_per_ip, NULL);
    if (srv->cfg.threads > 1)
        OPT(MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads, NULL);
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    mhd_last[0] = '\0';
    errno = 0;
    srv->d = MHD_start_daemon(
        flags, srv->cfg.port, NULL, NULL, access_cb, srv, MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb,
        srv, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger,
        NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL, MHD_OPTION_ARRAY, ops,
        MHD_OPTION_END);
    if (!srv->d) {
        int e = errno;
        return gy_error_set(GY_E_IO, "cannot listen on %s%s%s:%u: %s", srv->ipv6 ? "[" : "",
                            srv->host, srv->ipv6 ? "]" : "", (unsigned)srv->cfg.port,
                            mhd_last[0] ? mhd_last
                            : e         ? strerror(e)
                                        : "libmicrohttpd could not start");
    }
    info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info && info->port ? info->port : srv->cfg.port;
    return GY_OK;
}

enum gy_status gy_http_server_shutdown(struct gy_http_server *srv, int grace_ms)
{
    int64_t deadline;
    enum gy_status rc = GY_OK;
    MHD_socket lfd;
    if (!srv->d)
        return GY_OK;
    atomic_store(&srv->closing, 1);
    lfd = MHD_quiesce_daemon(srv->d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    deadline = gy_time_mono_ns() + (int64_t)(grace_ms < 0 ? 0 : grace_ms) * 1000000;
    while (atomic_load(&srv->inflight) > 0 && gy_time_mono_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&srv->inflight) > 0) {
        gy_log(GY_LOG_WARN, "shutdown: %zu request(s) still running after %d ms; closing them",
               (size_t)atomic_load(&srv->inflight), grace_ms);
        rc = GY_AGAIN;
    }
    MHD_stop_daemon(srv->d);
    srv->d = NULL;
    srv->shut = 1;
    return rc;
}

void gy_http_server_free(struct gy_http_server *srv)
{
    if (!srv)
        return;
    if (srv->d)
        gy_http_server_shutdown(srv, 0);
    gy__http_router_free(&srv->router);
    for (size_t i = 0; i < srv->n_ew; i++)
        gy_free(srv->ew[i].prefix);
    gy_free(srv->ew);
    gy_free(srv->host);
    gy_free(srv->spool_dir);
    gy_free(srv);
}
