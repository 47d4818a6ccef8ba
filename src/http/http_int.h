/* SPDX-License-Identifier: MIT */
/*
 * http_int.h - private pieces of src/http shared by its files: the request and response
 * structures, the router (route.c) and the pure text helpers (query.c: %-decoding, query
 * strings, key/value lists, request ids, status tables). Nothing here depends on
 * libmicrohttpd, so unit tests exercise it directly; server.c is the only file that talks to
 * libmicrohttpd.
 */
#ifndef GY_HTTP_INT_H
#define GY_HTTP_INT_H

#include "http/http.h"

#include <stdatomic.h>

/* ------------------------------------------------------------------ key/value lists */

/** A key/value pair; both strings live in the request arena (or are static). */
struct gy__http_kv {
    const char *key;
    const char *val;
};

/** A growable list of pairs backed by an arena (never freed one by one). */
struct gy__http_kvlist {
    struct gy__http_kv *v;
    size_t n, cap;
};

/** Appends a pair (strings not copied). GY_E_NOMEM. */
enum gy_status gy__http_kv_add(struct gy_arena *a, struct gy__http_kvlist *l, const char *key,
                               const char *val);

/** First value for @p key (ASCII case-insensitive when @p nocase), or NULL. */
const char *gy__http_kv_find(const struct gy__http_kvlist *l, const char *key, int nocase);

/* ------------------------------------------------------------------ text helpers */

/**
 * %-decodes @p n bytes of @p s into a new NUL-terminated arena string; with @p plus_space a
 * '+' becomes a space (query strings). GY_E_INVALID for a '%' not followed by two hex digits
 * or for an escape that decodes to NUL, with the reason in gy_error_msg(); GY_E_NOMEM.
 */
enum gy_status gy__http_pct_decode(struct gy_arena *a, const char *s, size_t n, int plus_space,
                                   char **out, size_t *outlen);

/**
 * Parses a raw query string ("a=1&b=x+y&a=%32") into decoded pairs appended to @p out, in
 * order. Empty pieces ("a=1&&b") are skipped; "k" without '=' has the value "".
 * GY_E_INVALID on a bad escape (message names the parameter), GY_E_NOMEM.
 */
enum gy_status gy__http_query_parse(struct gy_arena *a, const char *qs,
                                    struct gy__http_kvlist *out);

/** True when @p s is a usable request id: 1-128 characters of [A-Za-z0-9._:-]. */
int gy__http_request_id_ok(const char *s);

/** Writes a fresh random request id (32 lowercase hex digits) and a NUL into @p out. */
void gy__http_request_id_new(char out[33]);

/** True when @p s is a valid header field name (an RFC 9110 token). */
int gy__http_token_ok(const char *s);

/* ------------------------------------------------------------------ router */

enum gy__http_seg_kind { GY__SEG_LIT = 0, GY__SEG_CAP = 1, GY__SEG_REST = 2 };

struct gy__http_seg {
    enum gy__http_seg_kind kind;
    char *text; /* the literal, or the capture's name */
    size_t len; /* strlen(text) */
};

/** One registered route, its parsed pattern and its table's ctx. */
struct gy__http_rt {
    const struct gy_http_route *route;
    void *ctx;
    struct gy__http_seg *segs;
    size_t nsegs;
    int rest; /* the last segment is {name...}: matches any number of segments from there */
};

/** All routes of a server, in registration order. */
struct gy__http_router {
    struct gy__http_rt *v;
    size_t n, cap;
};

/** Adds a table (validated; GY_E_INVALID names the bad route, GY_E_EXISTS for a duplicate). */
enum gy_status gy__http_router_add(struct gy__http_router *r, const struct gy_http_route *routes,
                                   size_t n, void *ctx);

/** Frees what the router allocated. Leaves it empty and reusable. */
void gy__http_router_free(struct gy__http_router *r);

/** The outcome of matching one request. */
struct gy__http_match {
    const struct gy__http_rt *rt;    /* the chosen route on GY_OK */
    struct gy__http_kvlist caps;     /* decoded captures */
    struct gy__http_kvlist caps_raw; /* captures as sent */
    char allow[96];                  /* on GY_DECLINED: "GET, HEAD, POST" */
};

/**
 * Matches @p method and the raw, not yet decoded @p path (without the query) against the
 * routes. GY_OK: m->rt and the captures are set. GY_NOT_FOUND: no pattern matches (404).
 * GY_DECLINED: patterns match but none with this method; m->allow lists those that do (405).
 * GY_E_INVALID: the path is not absolute, has a bad %-escape or an escaped NUL (400).
 * GY_E_NOMEM. Thread-safe (the router is read-only once the server runs).
 */
enum gy_status gy__http_router_match(const struct gy__http_router *r, struct gy_arena *a,
                                     const char *method, const char *path,
                                     struct gy__http_match *m);

/* ------------------------------------------------------------------ request, response */

enum gy__http_body_kind { GY__BODY_NONE = 0, GY__BODY_MEM = 1, GY__BODY_FD = 2 };

/* States of a deferred response (server.c); moves only forward, under server.c's lock. */
enum gy__http_defer_state {
    GY__DEFER_NONE = 0,      /* not deferred */
    GY__DEFER_PENDING = 1,   /* gy_http_resp_defer called; the connection is not parked yet */
    GY__DEFER_PARKED = 2,    /* the connection is suspended, waiting for finish */
    GY__DEFER_FINISHED = 3,  /* finish called: the response is ready to send */
    GY__DEFER_CANCELLED = 4, /* the server stopped first; finish only drops its reference */
};

/*
 * A deferred response, embedded in its request. Two references keep the request (and its
 * arena) alive: libmicrohttpd's, dropped when the request completes, and the finisher's,
 * dropped by gy_http_deferred_finish; the last one frees the arena.
 */
struct gy_http_deferred {
    struct gy_http_req *req;
    atomic_int state; /* enum gy__http_defer_state */
    atomic_int refs;
    struct gy_http_deferred *prev, *next; /* the server's list of parked requests */
};

struct gy_http_resp {
    int set; /* a body helper was called */
    int status;
    const char *content_type;
    enum gy__http_body_kind kind;
    const char *data; /* GY__BODY_MEM: arena, static or TAKE'n memory valid until the end */
    size_t len;
    int fd; /* GY__BODY_FD: owned; -1 once handed to the HTTP library */
    uint64_t offset, flen;
    struct gy__http_kvlist headers;
    struct gy_arena *arena;
    struct gy_http_req *req; /* the request it answers when the server made it (for defer) */
};

struct gy_http_req {
    struct gy_arena *arena;
    struct gy_http_server *srv;
    void *conn;  /* struct MHD_Connection *, opaque outside server.c */
    int started; /* the access handler has seen this request */
    const char *method;
    const char *target; /* raw request target: path?query */
    const char *path;   /* raw path (arena copy, no query) */
    const char *query_string;
    const char *id;
    char remote[64];
    int64_t start_ns, start_wall_us;
    struct gy__http_kvlist headers;
    struct gy__http_kvlist query;
    struct gy__http_match match;
    const struct gy__http_rt *rt;
    size_t max_body;
    /* the body */
    struct gy_buf body;    /* with body_fixed: data is arena memory of cap bytes, no gy_buf calls */
    int body_fixed;        /* the body has a Content-Length and was preallocated in the arena */
    int64_t body_start_ns; /* when the headers were complete (slow-body check) */
    int timed_out;         /* cut off as a slow client (access log: end=timeout) */
    int body_fd;           /* spooled body, -1 when none */
    uint64_t body_len;     /* bytes received */
    json_t *json;          /* parsed body, released at the end */
    /* an error decided before the handler runs (http status, gy status, message) */
    int err_status;
    enum gy_status err_code;
    char *err_msg;
    /* what was sent, for the access log */
    int sent_status;
    uint64_t sent_bytes;
    enum gy_status handler_rc;
    struct gy_http_resp resp;
    struct gy_http_deferred defer;
    void *auth_data; /* set by the auth hook: the post-request hook runs for this request */
};

/**
 * Initializes @p req (zeroed storage) for tests and for the server: arena, no body, ids unset.
 * The caller owns @p arena.
 */
void gy__http_req_init(struct gy_http_req *req, struct gy_arena *arena);

/** Resets @p resp and ties it to @p arena. */
void gy__http_resp_init(struct gy_http_resp *resp, struct gy_arena *arena);

/**
 * Fills @p resp with the default error body for a server-made or handler error:
 * {"error": msg} with @p http_status, plus Retry-After for 503. Used by server.c and
 * gy_http_resp_status.
 */
enum gy_status gy__http_resp_default_error(struct gy_http_resp *resp, int http_status,
                                           const char *msg);

/* ------------------------------------------------------------------ TLS client certificates
 * (tls_client.c, GnuTLS) */

/** Checks that @p ca_pem is a PEM list of 1..64 certificates; GY_E_INVALID otherwise. */
enum gy_status gy__http_tls_ca_check(const char *ca_pem);

/**
 * Verifies the client certificate of the GnuTLS session @p session (gnutls_session_t)
 * against the server's trusted CAs (loaded by libmicrohttpd) for TLS client use and copies
 * its subject CN to @p cn (at most @p cap bytes with the NUL). GY_OK; GY_NOT_FOUND when
 * the client sent no certificate (or @p session is NULL); GY_E_PERM with the reason when
 * it sent one that does not verify, or has no acceptable CN.
 */
enum gy_status gy__http_tls_peer_verify(void *session, char *cn, size_t cap);

#endif /* GY_HTTP_INT_H */
