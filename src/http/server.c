/* SPDX-License-Identifier: MIT */
/*
 * server.c - the HTTP server on libmicrohttpd: the only file in gyre that includes
 * microhttpd.h. It runs libmicrohttpd with an internal polling thread pool (epoll where
 * available), creates each request's arena in the URI-log callback (the first callback
 * libmicrohttpd makes for a request) and frees it in the request-completed callback, parses
 * the request target and headers, enforces the limits (414, 431, 413 before and while reading
 * the body), buffers or spools the body, calls the route's handler, sends what it prepared,
 * writes the access log line, and drains in-flight requests on a graceful shutdown.
 *
 * It also parks deferred responses (MHD_suspend_connection until another thread finishes
 * them, then MHD_resume_connection, after which libmicrohttpd calls the access handler again
 * and the prepared response is queued there), and cuts off slow clients: a reaper thread
 * shuts down connections whose request headers are not complete within cfg.timeout_s, and
 * the body reader closes connections whose body falls behind MIN_BODY_RATE after that time.
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
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
/*
 * The first block of a request's arena: the request itself (about 1 KiB), its headers,
 * captures, a small body and a small response fit, so a typical request makes one allocation
 * for all of them.
 */
#define ARENA_BLOCK ((size_t)8 * 1024)
/*
 * Once a body has taken cfg.timeout_s seconds, it must keep arriving at this average rate
 * (bytes per second, counted from the end of the headers), as Apache's mod_reqtimeout
 * MinRate: a large upload on a slow link passes, a client trickling a byte at a time does not.
 */
#define MIN_BODY_RATE 1024
/* One header field's value at most (431 beyond), as nginx's large_client_header_buffers. */
#define MAX_HEADER_VALUE ((size_t)8 * 1024)
/* The path part of the request target at most (414 beyond); the whole target has cfg.max_url. */
#define MAX_PATH ((size_t)2 * 1024)

struct error_writer {
    char *prefix;
    gy_http_error_writer fn;
    void *ctx;
};

/*
 * One client connection: libmicrohttpd's socket context. The reaper thread reads it under
 * conn_mu; the connection's worker thread writes the atomics.
 */
struct conn {
    struct conn *prev, *next;
    int fd;
    atomic_int waiting;    /* 1 while the connection has no complete request headers */
    atomic_llong since_ns; /* when that wait began: accept, or the end of the last response */
    atomic_int cut;        /* the reaper shut it down */
    atomic_llong body_ns;  /* while a request body is being read: when its headers were
                              complete; 0 otherwise */
    atomic_llong body_len; /* bytes of that body received so far */
    char remote[64];       /* "ip:port" */
    /* the TLS client certificate, checked by the first request that asks (only that
     * connection's requests touch these, one at a time) */
    int peer_checked;
    enum gy_status peer_rc; /* GY_OK, GY_NOT_FOUND or the refusal */
    char peer_cn[128];      /* on GY_OK */
    char peer_err[256];     /* on a refusal */
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
    /* connections, for the reaper (conn_mu) */
    pthread_mutex_t conn_mu;
    pthread_cond_t reaper_cv;
    struct conn *conns;
    pthread_t reaper;
    int reaper_on, reaper_stop;
    /* parked deferred requests (defer_mu) */
    struct gy_http_deferred *parked;
    int defer_stopped;
    atomic_int resuming; /* finishers between leaving defer_mu and MHD_resume_connection */
    /* authentication hooks (gy_http_server_set_auth) */
    gy_http_auth_fn auth_fn;
    gy_http_done_fn done_fn;
    void *auth_ctx;
    /* TLS (gy_http_server_set_tls): PEM texts, NULL when plain HTTP */
    char *tls_cert, *tls_key;
    char *tls_ca; /* gy_http_server_set_tls_client_ca: PEM text, NULL when not asked for */
};

/*
 * Guards every state change of deferred responses, of every server. It is process-wide on
 * purpose: gy_http_deferred_finish may come after the server was freed (its request was
 * cancelled by the shutdown), so the lock it takes cannot live in the server. It is held for
 * a few instructions (and MHD_suspend_connection when a connection is parked); resuming, a
 * system call, happens outside it.
 */
static pthread_mutex_t defer_mu = PTHREAD_MUTEX_INITIALIZER;

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
    cfg->max_headers = 64;
    cfg->conn_memory = 16 * 1024;
    cfg->access_log = GY_HTTP_LOG_TEXT;
    cfg->spool_dir = NULL;
}

enum gy_status gy_http_server_create(const struct gy_http_config *cfg, struct gy_http_server **out)
{
    struct gy_http_server *srv;
    pthread_condattr_t ca;
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
    pthread_mutex_init(&srv->conn_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->reaper_cv, &ca);
    pthread_condattr_destroy(&ca);
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

enum gy_status gy_http_server_set_auth(struct gy_http_server *srv, gy_http_auth_fn fn,
                                       gy_http_done_fn done, void *ctx)
{
    if (srv->d || srv->shut)
        return gy_error_set(GY_E_INVALID, "auth hooks must be set before the server starts");
    srv->auth_fn = fn;
    srv->done_fn = done;
    srv->auth_ctx = ctx;
    return GY_OK;
}

enum gy_status gy_http_server_set_tls(struct gy_http_server *srv, const char *cert_pem,
                                      const char *key_pem)
{
    char *c = NULL, *k = NULL;
    if (srv->d || srv->shut)
        return gy_error_set(GY_E_INVALID, "TLS must be set before the server starts");
    if (!cert_pem || !key_pem || !*cert_pem || !*key_pem)
        return gy_error_set(GY_E_INVALID, "TLS needs a certificate and a private key");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return gy_error_set(GY_E_UNSUPPORTED, "this libmicrohttpd was built without TLS support");
    c = gy_strdup(cert_pem);
    k = gy_strdup(key_pem);
    if (!c || !k) {
        gy_free(c);
        gy_free(k);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    gy_free(srv->tls_cert);
    gy_free(srv->tls_key);
    srv->tls_cert = c;
    srv->tls_key = k;
    return GY_OK;
}

enum gy_status gy_http_server_set_tls_client_ca(struct gy_http_server *srv, const char *ca_pem)
{
    enum gy_status rc;
    char *c;
    if (srv->d || srv->shut)
        return gy_error_set(GY_E_INVALID, "TLS must be set before the server starts");
    if ((rc = gy__http_tls_ca_check(ca_pem)))
        return rc;
    if (!(c = gy_strdup(ca_pem)))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    gy_free(srv->tls_ca);
    srv->tls_ca = c;
    return GY_OK;
}

static struct conn *conn_of(struct MHD_Connection *c);

/* Verifies the client certificate of @p c (no cache). */
static enum gy_status peer_verify(struct MHD_Connection *c, char *cn, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return gy__http_tls_peer_verify(ci ? ci->tls_session : NULL, cn, cap);
}

enum gy_status gy_http_req_tls_client(struct gy_http_req *req, char *cn, size_t cap)
{
    struct conn *k;
    if (!req->srv || !req->srv->tls_ca || !req->conn)
        return gy_error_set(GY_NOT_FOUND, "no TLS client CA configured");
    k = conn_of(req->conn);
    if (!k) /* not tracked (out of memory at accept): verify every time */
        return peer_verify(req->conn, cn, cap);
    if (!k->peer_checked) {
        k->peer_rc = peer_verify(req->conn, k->peer_cn, sizeof k->peer_cn);
        if (k->peer_rc != GY_OK)
            snprintf(k->peer_err, sizeof k->peer_err, "%s", gy_error_msg());
        k->peer_checked = 1;
    }
    if (k->peer_rc != GY_OK)
        return gy_error_set(k->peer_rc, "%s", k->peer_err);
    if (strlen(k->peer_cn) >= cap)
        return gy_error_set(GY_E_PERM, "client certificate's common name is too long");
    memcpy(cn, k->peer_cn, strlen(k->peer_cn) + 1);
    return GY_OK;
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

/* Answers a request the auth hook refused, before any body is read. */
static enum MHD_Result send_denied(struct gy_http_req *req, int http_status, const char *msg)
{
    enum gy_status code = http_status == 401 || http_status == 403 ? GY_E_PERM
                          : http_status == 503                     ? GY_E_BUSY
                          : http_status >= 500                     ? GY_E_INTERNAL
                                                                   : GY_E_INVALID;
    if (http_status < 400 || http_status > 599)
        http_status = 500;
    fill_error(req, http_status, code, *msg ? msg : gy_http_reason(http_status));
    if (http_status == 401)
        gy_http_resp_header(&req->resp, "WWW-Authenticate", "Bearer realm=\"gyre\"");
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

/* ------------------------------------------------------------------ connections, slow clients */

static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Writes the client's address as "ip:port" ("[::1]:5000"); "" when unknown. */
static void format_remote(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    out[0] = '\0';
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip))
            snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip))
            snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    }
}

/* libmicrohttpd's connection notifications: keeps the list the reaper walks. */
static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    struct gy_http_server *srv = cls;
    struct conn *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k = gy_calloc(1, sizeof *k);
        if (!k)
            return; /* not watched: only libmicrohttpd's idle timeout applies to it */
        k->fd = fi ? fi->connect_fd : -1;
        format_remote(c, k->remote, sizeof k->remote);
        atomic_store(&k->since_ns, gy_time_mono_ns());
        atomic_store(&k->waiting, 1);
        pthread_mutex_lock(&srv->conn_mu);
        k->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = k;
        srv->conns = k;
        pthread_mutex_unlock(&srv->conn_mu);
        *socket_context = k;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && k) {
        /* Unlinked before libmicrohttpd closes the socket: the reaper never touches a
         * descriptor number that may have been reused. */
        pthread_mutex_lock(&srv->conn_mu);
        if (k->prev)
            k->prev->next = k->next;
        else
            srv->conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        pthread_mutex_unlock(&srv->conn_mu);
        *socket_context = NULL;
        gy_free(k);
    }
}

/*
 * The reaper: a connection that has waited longer than cfg.timeout_s for complete request
 * headers (trickled or not sent at all) is shut down, and so is one whose request body, after
 * that time, has averaged less than MIN_BODY_RATE (a slow POST: checked here as well as when
 * a piece arrives, because a client that stops sending makes no piece arrive). libmicrohttpd then
 * sees the socket fail and closes the connection on its own thread; requests on other connections
 * go on. libmicrohttpd's own timeout is an idle timeout, which a client sending a byte now and then
 * never reaches.
 */
static void *reaper_main(void *p)
{
    struct gy_http_server *srv = p;
    int64_t limit = (int64_t)srv->cfg.timeout_s * 1000000000;
    int64_t period = GY_MIN(GY_MAX(limit / 10, (int64_t)50000000), (int64_t)1000000000);
    pthread_mutex_lock(&srv->conn_mu);
    while (!srv->reaper_stop) {
        int64_t now = gy_time_mono_ns(), wake = now + period;
        struct timespec ts = {(time_t)(wake / 1000000000), (long)(wake % 1000000000)};
        for (struct conn *k = srv->conns; k; k = k->next) {
            int64_t body_ns = atomic_load(&k->body_ns), el = now - body_ns;
            if (k->fd < 0 || atomic_load(&k->cut))
                continue;
            if (atomic_load(&k->waiting) && now - atomic_load(&k->since_ns) > limit) {
                gy_log(GY_LOG_DEBUG, "closing connection %s: no complete request within %u s",
                       k->remote, srv->cfg.timeout_s);
            } else if (body_ns && el > limit &&
                       (double)el / 1e9 > (double)srv->cfg.timeout_s +
                                              (double)atomic_load(&k->body_len) / MIN_BODY_RATE) {
                gy_log(GY_LOG_DEBUG, "closing connection %s: request body slower than %d bytes/s",
                       k->remote, MIN_BODY_RATE);
            } else {
                continue;
            }
            atomic_store(&k->cut, 1);
            shutdown(k->fd, SHUT_RDWR);
        }
        pthread_cond_timedwait(&srv->reaper_cv, &srv->conn_mu, &ts);
    }
    pthread_mutex_unlock(&srv->conn_mu);
    return NULL;
}

static void reaper_stop(struct gy_http_server *srv)
{
    if (!srv->reaper_on)
        return;
    pthread_mutex_lock(&srv->conn_mu);
    srv->reaper_stop = 1;
    pthread_cond_signal(&srv->reaper_cv);
    pthread_mutex_unlock(&srv->conn_mu);
    pthread_join(srv->reaper, NULL);
    srv->reaper_on = 0;
}

/* ------------------------------------------------------------------ request setup */

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct gy_http_server *srv = cls;
    struct gy_arena *a = gy_arena_create(ARENA_BLOCK);
    struct gy_http_req *req = a ? gy_arena_alloc(a, sizeof *req) : NULL;
    struct conn *k = conn_of(c);
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
    if (k)
        memcpy(req->remote, k->remote, sizeof req->remote);
    else
        format_remote(c, req->remote, sizeof req->remote);
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

/*
 * True when a header value has a control character other than HTAB, or a NUL inside its
 * @p n bytes (libmicrohttpd keeps bare CRs and cuts at a NUL; RFC 9110 5.5 allows neither).
 */
static int header_value_bad(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 1;
    }
    return 0;
}

static enum MHD_Result header_it(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size)
{
    struct gy_http_req *req = cls;
    char *k, *v;
    GY_UNUSED(kind);
    if (req->headers.n >= req->srv->cfg.max_headers) {
        set_err(req, 431, GY_E_TOO_LARGE, "too many header fields (the limit is %u)",
                req->srv->cfg.max_headers);
        return MHD_NO;
    }
    if (!key || key_size != strlen(key) || !gy__http_token_ok(key)) {
        set_err(req, 400, GY_E_INVALID,
                "malformed header field name (not an RFC 9110 token; no spaces before ':')");
        return MHD_NO;
    }
    if (value_size > MAX_HEADER_VALUE) {
        set_err(req, 431, GY_E_TOO_LARGE,
                "header field %.64s is %zu bytes long; the limit is %zu bytes", key, value_size,
                MAX_HEADER_VALUE);
        return MHD_NO;
    }
    if (value && (value_size != strlen(value) || header_value_bad(value, value_size))) {
        set_err(req, 400, GY_E_INVALID, "header field %.64s has a control character in its value",
                key);
        return MHD_NO;
    }
    /* Copied: a deferred request may outlive its connection's buffers (see defer_cancel_all). */
    k = gy_arena_strdup(req->arena, key ? key : "");
    v = gy_arena_strdup(req->arena, value ? value : "");
    if (!k || !v || gy__http_kv_add(req->arena, &req->headers, k, v)) {
        set_err(req, 500, GY_E_NOMEM, "out of memory");
        return MHD_NO;
    }
    return MHD_YES;
}

/* Counts the header fields named @p name (case-insensitive); *first: the first value. */
static size_t header_count(const struct gy_http_req *req, const char *name, const char **first)
{
    size_t n = 0;
    *first = NULL;
    for (size_t i = 0; i < req->headers.n; i++) {
        if (strcasecmp(req->headers.v[i].key, name) == 0) {
            if (!n)
                *first = req->headers.v[i].val;
            n++;
        }
    }
    return n;
}

/*
 * Framing rules libmicrohttpd 0.9.75 does not enforce (RFC 9112): an HTTP/1.1 request has
 * exactly one Host; a body is framed by Content-Length or by chunked Transfer-Encoding, never
 * both, and several Content-Lengths must agree; an Expect other than 100-continue cannot be
 * met. Authorization and Content-Type must not be repeated either (which one would count?).
 * Records the error (400, 501 or 417) for first_call to answer.
 */
static void check_framing(struct gy_http_req *req, const char *version)
{
    const char *host, *te, *cl, *exp;
    size_t nhost = header_count(req, "Host", &host);
    size_t nte = header_count(req, "Transfer-Encoding", &te);
    size_t ncl = header_count(req, "Content-Length", &cl);
    size_t nexp;

    if (nhost > 1)
        set_err(req, 400, GY_E_INVALID, "more than one Host header field");
    else if (nhost == 0 && version && strcmp(version, "HTTP/1.1") == 0)
        set_err(req, 400, GY_E_INVALID, "an HTTP/1.1 request needs a Host header field");
    if (header_count(req, "Authorization", &exp) > 1)
        set_err(req, 400, GY_E_INVALID, "more than one Authorization header field");
    if (header_count(req, "Content-Type", &exp) > 1)
        set_err(req, 400, GY_E_INVALID, "more than one Content-Type header field");
    if (nte && ncl)
        set_err(req, 400, GY_E_INVALID,
                "both Content-Length and Transfer-Encoding: send one of them");
    else if (nte > 1 || (nte && strcasecmp(te, "chunked") != 0))
        set_err(req, 501, GY_E_UNSUPPORTED,
                "Transfer-Encoding \"%.64s\" is not supported: send chunked or a Content-Length",
                te);
    for (size_t i = 0; ncl > 1 && i < req->headers.n; i++)
        if (strcasecmp(req->headers.v[i].key, "Content-Length") == 0 &&
            strcmp(req->headers.v[i].val, cl) != 0) {
            set_err(req, 400, GY_E_INVALID, "Content-Length header fields that disagree");
            break;
        }
    nexp = header_count(req, "Expect", &exp);
    if (nexp > 1 || (nexp && strcasecmp(exp, "100-continue") != 0))
        set_err(req, 417, GY_E_INVALID, "only \"Expect: 100-continue\" is supported");
}

/*
 * The first access-handler call for a request: everything up to the body. Errors found here
 * are answered at once, before any body is read (libmicrohttpd then closes the connection
 * if a body was announced).
 */
static enum MHD_Result first_call(struct gy_http_req *req, const char *method, const char *version)
{
    struct gy_http_server *srv = req->srv;
    struct gy_arena *a = req->arena;
    struct conn *k = conn_of(req->conn);
    const char *q, *xid, *cl;
    enum gy_status rc;
    int64_t clen = -1;

    if (k)
        atomic_store_explicit(&k->waiting, 0, memory_order_relaxed);
    req->started = 1;
    req->body_start_ns = gy_time_mono_ns();
    req->method = gy_arena_strdup(a, method ? method : "");
    q = strchr(req->target, '?');
    req->path = q ? gy_arena_strndup(a, req->target, (size_t)(q - req->target)) : req->target;
    req->query_string = q ? q + 1 : "";
    if (!req->method || !req->path)
        return MHD_NO;
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, header_it, req);
    if (!req->err_status)
        check_framing(req, version);
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
    if (strlen(req->path) > MAX_PATH) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request path is %zu bytes; the limit is %zu bytes",
                 strlen(req->path), MAX_PATH);
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
    if (srv->auth_fn) {
        char msg[512];
        int st;
        msg[0] = '\0';
        st = srv->auth_fn(req, req->rt->route, msg, sizeof msg, srv->auth_ctx);
        if (st)
            return send_denied(req, st, msg);
    }

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
    } else if (clen > 0) {
        /* The length is known and within the cap: one arena block, no copy on growth. */
        req->body.data = gy_arena_alloc(a, (size_t)clen + 1);
        if (!req->body.data)
            return send_error(req, 500, GY_E_NOMEM, "out of memory for the request body");
        req->body.data[0] = '\0';
        req->body.len = 0;
        req->body.cap = (size_t)clen;
        req->body.max = (size_t)clen;
        req->body_fixed = 1;
    } else {
        gy_buf_init(&req->body, req->max_body);
    }
    if (k && (clen > 0 || gy__http_kv_find(&req->headers, "Transfer-Encoding", 1))) {
        atomic_store(&k->body_len, 0);
        atomic_store(&k->body_ns, req->body_start_ns);
    }
    return MHD_YES;
}

/* True when a body has fallen behind: past cfg.timeout_s and slower than MIN_BODY_RATE. */
static int body_too_slow(const struct gy_http_req *req)
{
    unsigned t = req->srv->cfg.timeout_s;
    int64_t elapsed = gy_time_mono_ns() - req->body_start_ns;
    if (t == 0 || elapsed <= (int64_t)t * 1000000000)
        return 0;
    return (double)elapsed / 1e9 > (double)t + (double)req->body_len / MIN_BODY_RATE;
}

/* One piece of the body. Never fails the connection unless a client keeps sending past any
 * reasonable point after an error, or sends too slowly. */
static enum MHD_Result body_piece(struct gy_http_req *req, const char *data, size_t n)
{
    uint64_t total = req->body_len + n;
    struct conn *k = conn_of(req->conn);
    if (k) /* for the reaper's rate check, also while an over-cap body is dropped */
        atomic_store_explicit(&k->body_len, (long long)total, memory_order_relaxed);
    if (body_too_slow(req)) {
        /* libmicrohttpd 0.9.75 cannot answer in the middle of a body: close. */
        req->timed_out = 1;
        gy_log(GY_LOG_DEBUG, "closing connection %s: request body slower than %d bytes/s",
               req->remote, MIN_BODY_RATE);
        return MHD_NO;
    }
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
    } else if (req->body_fixed) {
        if (n > req->body.cap - req->body.len) {
            set_err(req, 400, GY_E_INVALID, "more body bytes than the Content-Length");
        } else {
            memcpy(req->body.data + req->body.len, data, n);
            req->body.len += n;
            req->body.data[req->body.len] = '\0';
        }
    } else {
        if (!req->body.data && gy_arena_cleanup_add(req->arena, body_buf_release, &req->body)) {
            set_err(req, 500, GY_E_NOMEM, "out of memory for the request body");
            return MHD_YES;
        }
        if (gy_buf_append(&req->body, data, n))
            set_err(req, 500, GY_E_NOMEM, "out of memory for the request body");
    }
    return MHD_YES;
}

/* ------------------------------------------------------------------ deferred responses */

/* Drops one reference of a deferred request; the last one frees the request. */
static void defer_unref(struct gy_http_req *req)
{
    if (atomic_fetch_sub(&req->defer.refs, 1) == 1)
        gy_arena_free(req->arena);
}

/*
 * The 503 for a deferred request the server gave up on at shutdown. It touches neither the
 * arena nor the response: the finisher may still be filling them on its own thread.
 */
static enum MHD_Result send_cancelled(struct gy_http_req *req)
{
    static const char body[] = "{\"error\":\"the server is shutting down\"}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok;
    req->handler_rc = GY_AGAIN;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (req->id && *req->id)
        MHD_add_response_header(r, "X-Request-Id", req->id);
    MHD_add_response_header(r, "Retry-After", "1");
    MHD_add_response_header(r, "Connection", "close");
    ok = MHD_queue_response(req->conn, 503, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        req->sent_status = 503;
        req->sent_bytes = sizeof body - 1;
    }
    return ok;
}

enum gy_status gy_http_resp_defer(struct gy_http_resp *resp, struct gy_http_deferred **out)
{
    struct gy_http_req *req = resp->req;
    *out = NULL;
    if (!req || resp != &req->resp)
        return gy_error_set(GY_E_INVALID, "only a handler's own response can be deferred");
    if (resp->set)
        return gy_error_set(GY_E_INVALID, "the response is already set");
    if (atomic_load(&req->defer.state) != GY__DEFER_NONE)
        return gy_error_set(GY_E_INVALID, "the response is already deferred");
    req->defer.req = req;
    atomic_store(&req->defer.refs, 2); /* libmicrohttpd's and the finisher's */
    atomic_store(&req->defer.state, GY__DEFER_PENDING);
    *out = &req->defer;
    return GY_OK;
}

struct gy_http_resp *gy_http_deferred_resp(struct gy_http_deferred *d)
{
    return &d->req->resp;
}

/*
 * After a handler deferred its response: parks the connection, or sends at once when the
 * response was finished before the handler returned (or the server is stopping).
 */
static enum MHD_Result defer_park(struct gy_http_req *req)
{
    struct gy_http_server *srv = req->srv;
    struct gy_http_deferred *d = &req->defer;
    int st;
    pthread_mutex_lock(&defer_mu);
    st = atomic_load(&d->state);
    if (st == GY__DEFER_PENDING && !srv->defer_stopped) {
        MHD_suspend_connection(req->conn);
        atomic_store(&d->state, GY__DEFER_PARKED);
        d->prev = NULL;
        d->next = srv->parked;
        if (srv->parked)
            srv->parked->prev = d;
        srv->parked = d;
        pthread_mutex_unlock(&defer_mu);
        return MHD_YES;
    }
    if (st == GY__DEFER_PENDING) {
        st = GY__DEFER_CANCELLED;
        atomic_store(&d->state, st);
    }
    pthread_mutex_unlock(&defer_mu);
    return st == GY__DEFER_FINISHED ? send_resp(req) : send_cancelled(req);
}

static void parked_unlink(struct gy_http_server *srv, struct gy_http_deferred *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        srv->parked = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
}

void gy_http_deferred_finish(struct gy_http_deferred *d)
{
    struct gy_http_req *req = d->req;
    struct gy_http_server *srv = NULL;
    int st;
    pthread_mutex_lock(&defer_mu);
    st = atomic_load(&d->state);
    if (st == GY__DEFER_PENDING || st == GY__DEFER_PARKED) {
        if (!req->resp.set)
            fill_error(req, 500, GY_E_INTERNAL, "the deferred response was finished empty");
        atomic_store(&d->state, GY__DEFER_FINISHED);
        if (st == GY__DEFER_PARKED) {
            /*
             * Counted under the lock: the shutdown waits for the count to drop before it
             * stops libmicrohttpd, so the server and the connection (suspended until the
             * resume) outlive the call below.
             */
            srv = req->srv;
            parked_unlink(srv, d);
            atomic_fetch_add(&srv->resuming, 1);
        }
    }
    pthread_mutex_unlock(&defer_mu);
    if (srv) {
        MHD_resume_connection(req->conn);
        atomic_fetch_sub(&srv->resuming, 1); /* the last touch of srv */
    }
    if (st == GY__DEFER_FINISHED || st == GY__DEFER_NONE) {
        gy_log(GY_LOG_ERROR, "gy_http_deferred_finish called twice for one request");
        return;
    }
    defer_unref(req);
}

/* The access handler after a parked connection was resumed. */
static enum MHD_Result defer_resumed(struct gy_http_req *req)
{
    int st = atomic_load(&req->defer.state);
    if (st == GY__DEFER_FINISHED)
        return send_resp(req);
    if (st == GY__DEFER_CANCELLED)
        return send_cancelled(req);
    return MHD_YES; /* not finished yet (a spurious call) */
}

/*
 * At shutdown: resumes every parked request as cancelled (they get a 503), so that
 * libmicrohttpd can stop; a later gy_http_deferred_finish only drops its reference.
 */
static size_t defer_cancel_all(struct gy_http_server *srv)
{
    struct gy_http_deferred *d;
    size_t n = 0;
    pthread_mutex_lock(&defer_mu);
    srv->defer_stopped = 1;
    while ((d = srv->parked) != NULL) {
        parked_unlink(srv, d);
        atomic_store(&d->state, GY__DEFER_CANCELLED);
        MHD_resume_connection(d->req->conn);
        n++;
    }
    pthread_mutex_unlock(&defer_mu);
    return n;
}

/* ------------------------------------------------------------------ dispatch */

/* The whole request is in: run the handler and send its response. */
static enum MHD_Result dispatch(struct gy_http_req *req)
{
    const struct gy__http_rt *rt = req->rt;
    struct conn *k = conn_of(req->conn);
    enum gy_status rc;

    if (k) /* the body is complete: the handler's time is not the client's */
        atomic_store(&k->body_ns, 0);
    if (req->err_status)
        return send_error(req, req->err_status, req->err_code, req->err_msg);
    if (req->body_fd >= 0 && lseek(req->body_fd, 0, SEEK_SET) < 0)
        return send_error(req, 500, GY_E_IO, "cannot rewind the spooled body");
    gy_error_clear();
    gy__http_resp_init(&req->resp, req->arena);
    req->resp.req = req;
    rc = rt->route->fn(req, &req->resp, rt->ctx);
    req->handler_rc = rc;
    if (atomic_load(&req->defer.state) != GY__DEFER_NONE)
        return defer_park(req);
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
    if (!req)
        return MHD_NO;
    req->conn = c;
    if (!req->started)
        return first_call(req, method, version);
    if (req->sent_status)
        return MHD_YES; /* answered early; libmicrohttpd drops the rest */
    if (atomic_load(&req->defer.state) != GY__DEFER_NONE)
        return defer_resumed(req);
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
    int ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !req->timed_out;
    const char *end = req->timed_out ? "timeout" : termination_name(toe);

    if (srv->cfg.access_log == GY_HTTP_LOG_TEXT) {
        gy_log(GY_LOG_INFO,
               "access method=%s path=%.1024s status=%d bytes=%llu us=%lld id=%s remote=%s%s%s",
               method, path, req->sent_status, (unsigned long long)req->sent_bytes, us,
               *req->id ? req->id : "-", *req->remote ? req->remote : "-",
               ok ? "" : " end=", ok ? "" : end);
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
    struct conn *k = conn_of(c);
    if (k) {
        /* The wait for the next request's headers starts now (keep-alive). */
        atomic_store_explicit(&k->since_ns, gy_time_mono_ns(), memory_order_relaxed);
        atomic_store_explicit(&k->waiting, 1, memory_order_relaxed);
        atomic_store(&k->body_ns, 0);
    }
    if (!req)
        return;
    *con_cls = NULL;
    if (k && atomic_load(&k->cut))
        req->timed_out = 1;
    if (srv->cfg.access_log != GY_HTTP_LOG_OFF)
        access_log(req, toe);
    if (req->auth_data && srv->done_fn)
        srv->done_fn(req, req->sent_status, srv->auth_ctx);
    atomic_fetch_sub(&srv->inflight, 1);
    if (atomic_load(&req->defer.state) != GY__DEFER_NONE)
        defer_unref(req);
    else
        gy_arena_free(req->arena);
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
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
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
    if (srv->tls_cert) {
        flags |= MHD_USE_TLS;
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert);
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key);
        if (srv->tls_ca)
            OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->tls_ca);
    } else if (srv->tls_ca) {
        return gy_error_set(GY_E_INVALID, "a TLS client CA needs TLS (a server certificate)");
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    mhd_last[0] = '\0';
    errno = 0;
    srv->d = MHD_start_daemon(
        flags, srv->cfg.port, NULL, NULL, access_cb, srv, MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb,
        srv, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_NOTIFY_CONNECTION,
        conn_notify, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
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
    if (srv->cfg.timeout_s > 0) {
        if (pthread_create(&srv->reaper, NULL, reaper_main, srv)) {
            MHD_stop_daemon(srv->d);
            srv->d = NULL;
            return gy_error_set(GY_E_IO, "cannot start the connection reaper thread");
        }
        srv->reaper_on = 1;
    }
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
    /*
     * libmicrohttpd must not be stopped with suspended connections: resume the parked ones as
     * cancelled, and give their worker threads a moment (at most 200 ms) to send the 503s
     * before the connections are closed.
     */
    {
        size_t before = atomic_load(&srv->inflight), n = defer_cancel_all(srv);
        int64_t until = gy_time_mono_ns() + 200 * 1000000;
        while (atomic_load(&srv->resuming) > 0) {
            struct timespec ts = {0, 100 * 1000};
            nanosleep(&ts, NULL);
        }
        while (n && atomic_load(&srv->inflight) + n > before && gy_time_mono_ns() < until) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    reaper_stop(srv);
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
    if (srv->tls_key)
        explicit_bzero(srv->tls_key, strlen(srv->tls_key));
    gy_free(srv->tls_cert);
    gy_free(srv->tls_key);
    gy_free(srv->tls_ca);
    gy_free(srv->host);
    gy_free(srv->spool_dir);
    pthread_cond_destroy(&srv->reaper_cv);
    pthread_mutex_destroy(&srv->conn_mu);
    gy_free(srv);
}
