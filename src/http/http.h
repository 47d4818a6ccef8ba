/* SPDX-License-Identifier: MIT */
/**
 * http.h - gyre's HTTP layer: a server on libmicrohttpd driven by static route tables, with
 * request limits, per-request arenas, a JSON error convention and a structured access log.
 *
 * This is the only interface to HTTP in gyre; src/http is the only place that includes
 * microhttpd.h. Modules that serve HTTP (src/api/native.c, mlflow.c, v2.c, ...) each export
 * one static table of struct gy_http_route and never see libmicrohttpd.
 *
 * Lifecycle of a server:
 *
 *     struct gy_http_config cfg;
 *     gy_http_config_init(&cfg);            defaults, then override fields
 *     gy_http_server_create(&cfg, &srv);
 *     gy_http_server_add_routes(srv, table, n, ctx);   once per module, before start
 *     gy_http_server_start(srv);            binds and starts the worker threads
 *     ... gy_http_server_port(srv) ...
 *     gy_http_server_shutdown(srv, 10000);  stop accepting, drain, stop
 *     gy_http_server_free(srv);
 *
 * Lifecycle of a request: the server parses the request target, matches it against the
 * routes (404 when no pattern matches, 405 with an Allow header when a pattern matches but
 * not with this method; HEAD is served by GET routes), checks limits (414, 413, 431), reads
 * the body under its cap, then calls the handler once with the complete request. Everything
 * the request allocates comes from its arena (gy_http_req_arena), which is freed when
 * libmicrohttpd reports the request complete; cleanup hooks on that arena release files,
 * database results and model references. Strings returned by gy_http_req_* are borrowed
 * until the request ends.
 *
 * Handlers run on the server's worker threads (a pool of cfg.threads, default one per CPU),
 * several at a time: a handler must only touch shared state that is thread-safe, and reaches
 * per-thread resources (such as a database handle, see src/api/api.h) through its context.
 */
#ifndef GY_HTTP_H
#define GY_HTTP_H

#include "base/base.h"

struct gy_http_server;
struct gy_http_req;
struct gy_http_resp;

/* ------------------------------------------------------------------ routes */

/**
 * A request handler. It reads @p req, fills @p resp with one of the gy_http_resp_* calls, and
 * returns GY_OK. A handler that returns another status without filling @p resp gets the
 * default error response: the HTTP status from gy_http_status_from() and the body
 * {"error": "<gy_error_msg()>"} (the status name when no text was set); GY_E_BUSY and GY_AGAIN
 * also get "Retry-After: 1". A handler that fills @p resp and returns an error status has its
 * own response sent as is (the status only decides how the access log reports it).
 * @p ctx is the pointer given to gy_http_server_add_routes with the route's table.
 * Called on a worker thread; may block (database, disk) but should not sleep for long.
 */
typedef enum gy_status (*gy_http_handler)(struct gy_http_req *req, struct gy_http_resp *resp,
                                          void *ctx);

/** Route flags. */
enum {
    /**
     * Spool the body to an unlinked temporary file in cfg.spool_dir instead of memory; the
     * handler reads it with gy_http_req_body_fd(). For large uploads (datasets, artifacts).
     */
    GY_HTTP_ROUTE_SPOOL = 1u << 0,
    /** Refuse any request body (413 when one is sent). */
    GY_HTTP_ROUTE_NO_BODY = 1u << 1,
};

/**
 * One route. Tables of routes are static const arrays, one per module (STYLE rule 5), e.g.
 *
 *     static const struct gy_http_route routes[] = {
 *         {"GET", "/api/v1/datasets/{name}", h_show, 0, "datasets:read", "Show a dataset", 0},
 *     };
 *
 * @c pattern is a path of '/'-separated segments. A segment is a literal ("datasets"),
 * a capture "{name}" that matches one non-empty segment, or, as the last segment only, a rest
 * capture "{*name}" that matches everything after the preceding '/' (possibly empty, '/'
 * included). Literal segments are compared with the request's %-decoded segments; captured
 * values are %-decoded ('+' stays '+'); a bad escape or a %00 in a captured segment is a 400.
 * When several patterns match, the most specific wins: at the first segment where they
 * differ, a literal beats a capture, which beats a rest capture.
 */
struct gy_http_route {
    const char *method;  /**< "GET", "POST", "PUT", "DELETE", "PATCH" (upper case) */
    const char *pattern; /**< "/api/v1/datasets/{name}/versions/{version}" */
    gy_http_handler fn;
    unsigned flags;      /**< GY_HTTP_ROUTE_* */
    const char *perm;    /**< permission the auth layer will require ("runs:write"); NULL: public */
    const char *summary; /**< one line for docs and listings */
    size_t max_body;     /**< body cap in bytes for this route; 0: the server's cfg.max_body
                              (cfg.max_upload for GY_HTTP_ROUTE_SPOOL routes) */
};

/* ------------------------------------------------------------------ server */

/** Access log output. */
enum gy_http_access_log {
    GY_HTTP_LOG_OFF = 0,
    GY_HTTP_LOG_TEXT = 1, /**< one gy_log info line: "access method=GET path=/x status=200 ..." */
    GY_HTTP_LOG_JSON = 2, /**< one JSON object per line on stderr */
};

/** Server configuration. Fill with gy_http_config_init, then override fields. */
struct gy_http_config {
    const char *host;         /**< IPv4 or IPv6 literal to bind; default "127.0.0.1" */
    uint16_t port;            /**< default 8080; 0 picks a free port (gy_http_server_port) */
    int threads;              /**< worker threads; default 0 = number of CPUs */
    size_t max_body;          /**< body cap of in-memory routes, default 16 MiB */
    size_t max_upload;        /**< body cap of GY_HTTP_ROUTE_SPOOL routes, default 1 GiB */
    unsigned timeout_s;       /**< default 30 s: idle timeout of a connection, and the time a
                                   connection gets to deliver complete request headers (then
                                   a body must keep up 1 KiB/s on average); slow clients are
                                   disconnected. 0: no timeouts */
    unsigned max_connections; /**< default 1024 */
    unsigned max_per_ip;      /**< connections per client address; default 0 = no limit */
    size_t max_url;           /**< request-target bytes (path + query), default 8 KiB: 414
                                   (and a path over 2 KiB: 414) */
    unsigned max_headers;     /**< header fields per request, default 64: 431 (and one
                                   field's value over 8 KiB: 431) */
    size_t conn_memory;       /**< per-connection buffer for the request line and headers,
                                   default 16 KiB; headers larger than this get a 431 from
                                   libmicrohttpd itself */
    enum gy_http_access_log access_log; /**< default GY_HTTP_LOG_TEXT */
    const char *spool_dir; /**< for GY_HTTP_ROUTE_SPOOL bodies; default $TMPDIR or /tmp */
};

/** Fills @p cfg with the defaults listed on each field. */
void gy_http_config_init(struct gy_http_config *cfg);

/**
 * Creates a server (not yet listening). The strings in @p cfg are copied. Validates the
 * host literal and limits: GY_E_INVALID with the reason. *out new (gy_http_server_free).
 */
enum gy_status gy_http_server_create(const struct gy_http_config *cfg, struct gy_http_server **out);

/**
 * Adds a route table. @p routes is borrowed for the server's lifetime (use a static const
 * array); @p ctx is passed to each of its handlers. Tables may be added until
 * gy_http_server_start. Patterns and methods are validated: GY_E_INVALID names the bad
 * route; GY_E_EXISTS when the same method and pattern is already registered.
 * Not thread-safe (call from the thread that owns the server).
 */
enum gy_status gy_http_server_add_routes(struct gy_http_server *srv,
                                         const struct gy_http_route *routes, size_t n, void *ctx);

/**
 * Writes the body of an error that the server itself produces (404, 405, 413, 414, 431, 400
 * for a bad request target) for paths under a prefix, in a module's own error format.
 * @p http_status is the chosen status and @p code the matching gy_status; @p msg says what was
 * wrong. It fills @p resp (typically with gy_http_resp_json); if it fills nothing, the
 * default {"error": msg} is used.
 */
typedef void (*gy_http_error_writer)(struct gy_http_req *req, struct gy_http_resp *resp,
                                     int http_status, enum gy_status code, const char *msg,
                                     void *ctx);

/**
 * Uses @p fn for server-made errors on paths starting with @p prefix (copied), e.g.
 * "/api/2.0/mlflow/". The longest matching prefix wins. Before gy_http_server_start only.
 */
enum gy_status gy_http_server_set_error_writer(struct gy_http_server *srv, const char *prefix,
                                               gy_http_error_writer fn, void *ctx);

/**
 * An authentication hook: called once per routed request, after the route matched and the
 * headers and query were read, before the body is read and before the handler runs, with
 * the matched @p route (route->perm: the permission it requires; NULL: public). Returns 0
 * to let the request through, or the HTTP status to answer with (401, 403, 503, ...) and a
 * message in @p msg (at most @p cap bytes). The server writes that error in the path's
 * format (the error writer registered for its prefix, code GY_E_PERM for 401/403, GY_E_BUSY
 * for 503) and adds "WWW-Authenticate: Bearer realm=\"gyre\"" to a 401. Runs on a worker
 * thread, several at a time.
 */
typedef int (*gy_http_auth_fn)(struct gy_http_req *req, const struct gy_http_route *route,
                               char *msg, size_t cap, void *ctx);

/**
 * A post-request hook: called once a request that the auth hook tagged with
 * gy_http_req_set_auth_data is complete (the response was sent, or the client went away),
 * with the status sent (0 when none was). For audit records: it runs after the response,
 * on the worker thread, so it adds nothing to the client's latency.
 */
typedef void (*gy_http_done_fn)(struct gy_http_req *req, int status, void *ctx);

/**
 * Installs the authentication hook @p fn and the post-request hook @p done (either may be
 * NULL) with their @p ctx. Before gy_http_server_start only. Without a hook a request costs
 * one branch more than before.
 */
enum gy_status gy_http_server_set_auth(struct gy_http_server *srv, gy_http_auth_fn fn,
                                       gy_http_done_fn done, void *ctx);

/**
 * TLS: serve HTTPS (only; plain HTTP to the port fails the handshake) with the PEM
 * certificate chain @p cert_pem and private key @p key_pem (both copied; NUL-terminated).
 * Before gy_http_server_start only. GY_E_UNSUPPORTED when libmicrohttpd lacks TLS support.
 * The key material is checked when the server starts (GY_E_IO naming libmicrohttpd's reason).
 */
enum gy_status gy_http_server_set_tls(struct gy_http_server *srv, const char *cert_pem,
                                      const char *key_pem);

/**
 * TLS client certificates: the handshake asks clients for a certificate, and
 * gy_http_req_tls_client checks the one sent against the CA certificates in @p ca_pem (PEM,
 * 1 to 64 certificates; copied). libmicrohttpd does not refuse a certificate in the handshake,
 * so an untrusted certificate or none still connects: the auth hook decides (401). Needs
 * gy_http_server_set_tls; before gy_http_server_start only. GY_E_INVALID for a text that is
 * not a PEM certificate list.
 */
enum gy_status gy_http_server_set_tls_client_ca(struct gy_http_server *srv, const char *ca_pem);

/**
 * Binds cfg.host:cfg.port and starts the worker threads. GY_E_IO when the address cannot be
 * bound (in use, not local), with the reason in gy_error_msg().
 */
enum gy_status gy_http_server_start(struct gy_http_server *srv);

/** The bound port (the chosen one when cfg.port was 0); 0 before start. */
uint16_t gy_http_server_port(const struct gy_http_server *srv);

/** Requests that have started and not completed yet. Thread-safe. */
size_t gy_http_server_inflight(const struct gy_http_server *srv);

/**
 * Graceful stop: closes the listening socket so no new connection is accepted, lets the
 * requests in flight finish for up to @p grace_ms milliseconds (responses sent meanwhile
 * carry "Connection: close"), then stops the worker threads, closing what is left.
 * Returns GY_OK when everything drained in time, GY_AGAIN when requests were cut off.
 * Call from the owning thread, not from a handler. Idempotent.
 */
enum gy_status gy_http_server_shutdown(struct gy_http_server *srv, int grace_ms);

/** Stops (without a grace period, if still running) and frees. NULL is a no-op. */
void gy_http_server_free(struct gy_http_server *srv);

/* ------------------------------------------------------------------ requests */

/** The request method, upper case as sent ("GET", "HEAD", "POST", ...). */
const char *gy_http_req_method(const struct gy_http_req *req);

/** The raw path as sent, without the query, not %-decoded ("/api/v1/datasets/a%20b"). */
const char *gy_http_req_path(const struct gy_http_req *req);

/** The raw query string after '?', not decoded; "" when there is none. */
const char *gy_http_req_query_string(const struct gy_http_req *req);

/** The matched route (borrowed from its table). For auth: route->perm. */
const struct gy_http_route *gy_http_req_route(const struct gy_http_req *req);

/** A capture of the route pattern by name ("name" for "{name}"), %-decoded; NULL if none. */
const char *gy_http_req_capture(const struct gy_http_req *req, const char *name);

/** The same capture as sent, not decoded (to check for encoded tricks); NULL if none. */
const char *gy_http_req_capture_raw(const struct gy_http_req *req, const char *name);

/**
 * The first value of query parameter @p name, decoded ('+' is a space, %XX a byte); "" for a
 * key given without '='; NULL when absent. Keys are compared exactly (case-sensitive) after
 * decoding. Requests whose query has a bad %-escape or a %00 never reach a handler (400).
 */
const char *gy_http_req_query(const struct gy_http_req *req, const char *name);

/**
 * All values of query parameter @p name in request order: *vals is an array of *n strings
 * (borrowed, from the request arena; NULL when *n is 0). GY_E_NOMEM only.
 */
enum gy_status gy_http_req_query_list(struct gy_http_req *req, const char *name,
                                      const char *const **vals, size_t *n);

/** Number of query parameters, and the i-th (decoded) key and value, for iteration. */
size_t gy_http_req_query_count(const struct gy_http_req *req);
void gy_http_req_query_at(const struct gy_http_req *req, size_t i, const char **key,
                          const char **val);

/**
 * A request header by name, case-insensitive; the first one when repeated; NULL if absent.
 */
const char *gy_http_req_header(const struct gy_http_req *req, const char *name);

/**
 * The request body held in memory: *len bytes exactly as sent (binary bodies with NULs
 * included), followed by a NUL that is not counted (so a text body can be used as a C string
 * once you know it has no NUL inside). Returns "" with *len 0 when there is no body or the
 * route spools its body (see gy_http_req_body_fd).
 */
const char *gy_http_req_body(const struct gy_http_req *req, size_t *len);

/**
 * The spooled body of a GY_HTTP_ROUTE_SPOOL route: *fd is an unlinked temporary file
 * positioned at offset 0, holding *len bytes; it is borrowed (closed when the request ends).
 * GY_NOT_FOUND when the route does not spool (then use gy_http_req_body).
 */
enum gy_status gy_http_req_body_fd(const struct gy_http_req *req, int *fd, uint64_t *len);

/**
 * Parses the body as JSON with gy_json_parse at depth GY_JSON_MAX_DEPTH (64). *out is
 * borrowed: the request releases it when it ends (json_incref to keep it longer). An empty
 * body gives GY_E_INVALID "request body is empty"; bad JSON gives GY_E_INVALID with the
 * parser's "request body: line L, column C: reason" in gy_error_msg(). A handler that just
 * returns that status gets a 400 with that message.
 */
enum gy_status gy_http_req_json(struct gy_http_req *req, json_t **out);

/** The request's arena (allocations and cleanup hooks live until the request ends). */
struct gy_arena *gy_http_req_arena(struct gy_http_req *req);

/**
 * The request id: the client's X-Request-Id when it is 1-128 characters of [A-Za-z0-9._:-],
 * else a generated one (32 hex digits). Echoed in the X-Request-Id response header and the
 * access log.
 */
const char *gy_http_req_id(const struct gy_http_req *req);

/** When the request started: monotonic ns (gy_time_mono_ns) and wall-clock µs. */
int64_t gy_http_req_start_ns(const struct gy_http_req *req);
int64_t gy_http_req_start_wall_us(const struct gy_http_req *req);

/**
 * Attaches @p data (from the request arena, or static) to the request for the post-request
 * hook; a request with data attached gets the hook called when it completes.
 */
void gy_http_req_set_auth_data(struct gy_http_req *req, void *data);

/** What gy_http_req_set_auth_data attached; NULL when nothing. */
void *gy_http_req_auth_data(const struct gy_http_req *req);

/** The client's address as "ip:port" ("[::1]:5000" for IPv6); "" when unknown. */
const char *gy_http_req_remote(const struct gy_http_req *req);

/**
 * The verified TLS client certificate of @p req's connection (gy_http_server_set_tls_client_ca):
 * GY_OK with its subject common name (CN) in @p cn (at most @p cap bytes with the NUL);
 * GY_NOT_FOUND when the client sent no certificate, or the server has no client CA;
 * GY_E_PERM with the reason in gy_error_msg() when it sent one that does not verify against
 * the CA (other issuer, expired, not for client use) or whose CN is missing, too long or
 * not printable ASCII. Checked once per connection (the result is kept for its later requests).
 */
enum gy_status gy_http_req_tls_client(struct gy_http_req *req, char *cn, size_t cap);

/* ------------------------------------------------------------------ responses */

/** How a response body buffer is held (STYLE rule 13). */
enum gy_http_mem {
    GY_HTTP_COPY = 0,   /**< copied now into the request arena */
    GY_HTTP_TAKE = 1,   /**< takes a gy_malloc'd buffer; gy_free'd when the request ends,
                             also on error */
    GY_HTTP_STATIC = 2, /**< borrowed forever (string literals, static tables) */
    GY_HTTP_ARENA = 3,  /**< already in this request's arena */
};

/**
 * Sends @p body (takes the reference, also on error: json_decref is done for you) as
 * compact JSON with Content-Type application/json. A NULL @p body (e.g. a failed json_pack)
 * gives GY_E_NOMEM. Status 100-599.
 */
enum gy_status gy_http_resp_json(struct gy_http_resp *resp, int status, json_t *body);

/**
 * Sends @p len bytes with @p content_type (copied; NULL: application/octet-stream), held as
 * @p mem says.
 */
enum gy_status gy_http_resp_bytes(struct gy_http_resp *resp, int status, const char *content_type,
                                  const void *data, size_t len, enum gy_http_mem mem);

/**
 * Sends @p len bytes of file descriptor @p fd from @p offset (takes @p fd: closed when the
 * response is done, also on error). For artifact downloads: the file is read as it is sent.
 */
enum gy_status gy_http_resp_file(struct gy_http_resp *resp, int status, const char *content_type,
                                 int fd, uint64_t offset, uint64_t len);

/** Sends {"error": "<text>"} with @p status; the text is formatted like printf. */
enum gy_status gy_http_resp_error(struct gy_http_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * The default error response for @p s: gy_http_status_from(s) and {"error": gy_error_msg()}
 * (or the status name), plus Retry-After for GY_E_BUSY and GY_AGAIN. Returns @p s so a
 * handler can end with `return gy_http_resp_status(resp, rc);`.
 */
enum gy_status gy_http_resp_status(struct gy_http_resp *resp, enum gy_status s);

/**
 * Adds a response header (both strings copied). Names with characters outside RFC 9110's
 * token set and values with CR, LF or NUL are refused (GY_E_INVALID). May be called before
 * or after the body is set. Content-Type and Content-Length are set by the body helpers.
 */
enum gy_status gy_http_resp_header(struct gy_http_resp *resp, const char *name, const char *value);

/** True once a body helper has been called on @p resp. */
int gy_http_resp_is_set(const struct gy_http_resp *resp);

/* ------------------------------------------------------------------ deferred responses */

struct gy_http_deferred;

/**
 * Defers the response of the current request: the handler returns GY_OK without filling
 * @p resp, and the connection waits (without holding a worker thread) until some thread calls
 * gy_http_deferred_finish(*out). Until then the request (its arena, body, headers, captures)
 * stays valid. For work finished elsewhere, e.g. a dynamic batch. Once the handler has handed
 * *out to another thread it must not touch the request, the response or the arena again (they
 * are not thread-safe): the finisher owns them; finishing before the handler returns is fine.
 * GY_E_INVALID when @p resp is already set or already deferred, or is not a handler's own
 * response.
 */
enum gy_status gy_http_resp_defer(struct gy_http_resp *resp, struct gy_http_deferred **out);

/** The response to fill before finishing (any gy_http_resp_* call; not thread-safe itself). */
struct gy_http_resp *gy_http_deferred_resp(struct gy_http_deferred *d);

/**
 * Sends the deferred response (a 500 if none was filled) and resumes the connection. Call
 * exactly once, from any thread; @p d is invalid afterwards. Server shutdown waits for
 * deferred requests like any other; when its grace period ends first, the client gets a 503
 * and a later finish only releases the request (safe even after gy_http_server_free).
 */
void gy_http_deferred_finish(struct gy_http_deferred *d);

/* ------------------------------------------------------------------ status mapping */

/**
 * The HTTP status for a gyre status, from the one mapping table of gyre (STYLE rule 8):
 * GY_OK 200, GY_E_INVALID/GY_E_SCHEMA/GY_E_UNSUPPORTED 400, GY_E_PERM 403,
 * GY_NOT_FOUND/GY_DECLINED 404, GY_E_EXISTS/GY_E_CONFLICT 409, GY_E_TOO_LARGE 413,
 * GY_E_BUSY/GY_AGAIN 503, everything else 500.
 */
int gy_http_status_from(enum gy_status s);

/** The reason phrase of an HTTP status ("Not Found"); "Unknown" for codes it does not know. */
const char *gy_http_reason(int http_status);

#endif /* GY_HTTP_H */
