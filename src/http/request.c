/* SPDX-License-Identifier: MIT */
/*
 * request.c - the handler-facing side of a request and its response: accessors for the parsed
 * request (method, path, captures, query, headers, body, JSON body, arena, id) and the
 * response helpers (JSON, bytes, file, errors, headers). Everything lives in the request's
 * arena or is released by its cleanup hooks; nothing here talks to libmicrohttpd, which only
 * server.c does when it sends what these helpers prepared.
 */
#include "http/http_int.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

void gy__http_req_init(struct gy_http_req *req, struct gy_arena *arena)
{
    memset(req, 0, sizeof *req);
    req->arena = arena;
    req->body_fd = -1;
    req->method = "";
    req->target = "";
    req->path = "";
    req->query_string = "";
    req->id = "";
    gy_buf_init(&req->body, 0);
    gy__http_resp_init(&req->resp, arena);
}

void gy__http_resp_init(struct gy_http_resp *resp, struct gy_arena *arena)
{
    memset(resp, 0, sizeof *resp);
    resp->arena = arena;
    resp->fd = -1;
}

/* ------------------------------------------------------------------ request accessors */

const char *gy_http_req_method(const struct gy_http_req *req)
{
    return req->method;
}

const char *gy_http_req_path(const struct gy_http_req *req)
{
    return req->path;
}

const char *gy_http_req_query_string(const struct gy_http_req *req)
{
    return req->query_string;
}

const struct gy_http_route *gy_http_req_route(const struct gy_http_req *req)
{
    return req->rt ? req->rt->route : NULL;
}

void gy_http_req_set_auth_data(struct gy_http_req *req, void *data)
{
    req->auth_data = data;
}

void *gy_http_req_auth_data(const struct gy_http_req *req)
{
    return req->auth_data;
}

const char *gy_http_req_capture(const struct gy_http_req *req, const char *name)
{
    return gy__http_kv_find(&req->match.caps, name, 0);
}

const char *gy_http_req_capture_raw(const struct gy_http_req *req, const char *name)
{
    return gy__http_kv_find(&req->match.caps_raw, name, 0);
}

const char *gy_http_req_query(const struct gy_http_req *req, const char *name)
{
    return gy__http_kv_find(&req->query, name, 0);
}

enum gy_status gy_http_req_query_list(struct gy_http_req *req, const char *name,
                                      const char *const **vals, size_t *n)
{
    size_t count = 0, k = 0;
    const char **v;
    *vals = NULL;
    *n = 0;
    for (size_t i = 0; i < req->query.n; i++)
        count += strcmp(req->query.v[i].key, name) == 0;
    if (count == 0)
        return GY_OK;
    v = gy_arena_alloc(req->arena, count * sizeof *v);
    if (!v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < req->query.n; i++)
        if (strcmp(req->query.v[i].key, name) == 0)
            v[k++] = req->query.v[i].val;
    *vals = v;
    *n = count;
    return GY_OK;
}

size_t gy_http_req_query_count(const struct gy_http_req *req)
{
    return req->query.n;
}

void gy_http_req_query_at(const struct gy_http_req *req, size_t i, const char **key,
                          const char **val)
{
    if (i >= req->query.n) {
        *key = NULL;
        *val = NULL;
        return;
    }
    *key = req->query.v[i].key;
    *val = req->query.v[i].val;
}

const char *gy_http_req_header(const struct gy_http_req *req, const char *name)
{
    return gy__http_kv_find(&req->headers, name, 1);
}

const char *gy_http_req_body(const struct gy_http_req *req, size_t *len)
{
    if (!req->body.data) {
        *len = 0;
        return "";
    }
    *len = req->body.len;
    return req->body.data;
}

enum gy_status gy_http_req_body_fd(const struct gy_http_req *req, int *fd, uint64_t *len)
{
    if (req->body_fd < 0) {
        *fd = -1;
        *len = 0;
        return GY_NOT_FOUND;
    }
    *fd = req->body_fd;
    *len = req->body_len;
    return GY_OK;
}

static void json_release(void *p)
{
    json_decref((json_t *)p);
}

enum gy_status gy_http_req_json(struct gy_http_req *req, json_t **out)
{
    size_t len;
    const char *body;
    json_t *j = NULL;
    enum gy_status rc;

    *out = NULL;
    if (req->json) {
        *out = req->json;
        return GY_OK;
    }
    if (req->body_fd >= 0)
        return gy_error_set(GY_E_UNSUPPORTED, "this route spools its body; it is not JSON");
    body = gy_http_req_body(req, &len);
    if (len == 0)
        return gy_error_set(GY_E_INVALID, "request body is empty (expected JSON)");
    rc = gy_json_parse(body, len, GY_JSON_MAX_DEPTH, "request body", &j);
    if (rc)
        return rc;
    if (gy_arena_cleanup_add(req->arena, json_release, j)) {
        json_decref(j);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    req->json = j;
    *out = j;
    return GY_OK;
}

struct gy_arena *gy_http_req_arena(struct gy_http_req *req)
{
    return req->arena;
}

const char *gy_http_req_id(const struct gy_http_req *req)
{
    return req->id;
}

int64_t gy_http_req_start_ns(const struct gy_http_req *req)
{
    return req->start_ns;
}

int64_t gy_http_req_start_wall_us(const struct gy_http_req *req)
{
    return req->start_wall_us;
}

const char *gy_http_req_remote(const struct gy_http_req *req)
{
    return req->remote;
}

/* ------------------------------------------------------------------ responses */

static void resp_fd_close(void *p)
{
    struct gy_http_resp *resp = p;
    if (resp->fd >= 0)
        close(resp->fd);
    resp->fd = -1;
}

/* Forgets a previous body; a file taken earlier is closed now. */
static void resp_clear_body(struct gy_http_resp *resp)
{
    if (resp->kind == GY__BODY_FD)
        resp_fd_close(resp);
    resp->kind = GY__BODY_NONE;
    resp->data = NULL;
    resp->len = 0;
}

static enum gy_status check_status(int status)
{
    if (status < 100 || status > 599)
        return gy_error_set(GY_E_INVALID, "HTTP status %d is out of range", status);
    return GY_OK;
}

enum gy_status gy_http_resp_bytes(struct gy_http_resp *resp, int status, const char *content_type,
                                  const void *data, size_t len, enum gy_http_mem mem)
{
    const char *ct = content_type ? content_type : "application/octet-stream";
    const char *body = data;
    enum gy_status rc;

    if ((rc = check_status(status)) || (!data && len)) {
        if (mem == GY_HTTP_TAKE)
            gy_free((void *)data);
        return rc ? rc : gy_error_set(GY_E_INVALID, "NULL body with a length");
    }
    if (!data)
        body = "";
    if (strpbrk(ct, "\r\n")) {
        if (mem == GY_HTTP_TAKE)
            gy_free((void *)data);
        return gy_error_set(GY_E_INVALID, "bad content type");
    }
    switch (mem) {
    case GY_HTTP_COPY: {
        char *c = gy_arena_alloc(resp->arena, len + 1);
        if (!c)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        if (len)
            memcpy(c, data, len);
        c[len] = '\0';
        body = c;
        break;
    }
    case GY_HTTP_TAKE:
        if (data && gy_arena_cleanup_add(resp->arena, gy_free, (void *)data)) {
            gy_free((void *)data);
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
        break;
    case GY_HTTP_STATIC:
    case GY_HTTP_ARENA:
        break;
    default:
        return gy_error_set(GY_E_INVALID, "bad memory mode %d", (int)mem);
    }
    ct = gy_arena_strdup(resp->arena, ct);
    if (!ct)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    resp_clear_body(resp);
    resp->kind = GY__BODY_MEM;
    resp->status = status;
    resp->content_type = ct;
    resp->data = body;
    resp->len = len;
    resp->set = 1;
    return GY_OK;
}

enum gy_status gy_http_resp_json(struct gy_http_resp *resp, int status, json_t *body)
{
    struct gy_buf b;
    enum gy_status rc;
    char *data;
    size_t len;

    if (!body)
        return gy_error_set(GY_E_NOMEM, "out of memory building the response");
    if ((rc = check_status(status))) {
        json_decref(body);
        return rc;
    }
    gy_buf_init(&b, (size_t)1 << 31);
    rc = gy_json_dump(body, &b);
    json_decref(body);
    if (rc) {
        gy_buf_free(&b);
        return rc;
    }
    data = gy_buf_detach(&b, &len);
    if (!data)
        return gy_http_resp_bytes(resp, status, "application/json", "{}", 2, GY_HTTP_STATIC);
    return gy_http_resp_bytes(resp, status, "application/json", data, len, GY_HTTP_TAKE);
}

enum gy_status gy_http_resp_file(struct gy_http_resp *resp, int status, const char *content_type,
                                 int fd, uint64_t offset, uint64_t len)
{
    const char *ct = content_type ? content_type : "application/octet-stream";
    enum gy_status rc;
    if (fd < 0)
        return gy_error_set(GY_E_INVALID, "bad file descriptor");
    if ((rc = check_status(status)) || strpbrk(ct, "\r\n")) {
        close(fd);
        return rc ? rc : gy_error_set(GY_E_INVALID, "bad content type");
    }
    ct = gy_arena_strdup(resp->arena, ct);
    if (!ct || gy_arena_cleanup_add(resp->arena, resp_fd_close, resp)) {
        close(fd);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    /* Several cleanups may point at resp; each closes only what is open when it runs. */
    resp_clear_body(resp);
    resp->kind = GY__BODY_FD;
    resp->status = status;
    resp->content_type = ct;
    resp->fd = fd;
    resp->offset = offset;
    resp->flen = len;
    resp->set = 1;
    return GY_OK;
}

/*
 * Copies @p msg into @p out (cap bytes) replacing bytes that are not valid UTF-8 with '?', so
 * that any message (it may quote client input) makes a valid JSON string.
 */
static void utf8_sanitize(const char *msg, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)msg;
    size_t j = 0;
    while (*s && j + 5 < cap) {
        size_t n = 0;
        if (*s < 0x80)
            n = 1;
        else if ((*s & 0xE0) == 0xC0 && *s >= 0xC2)
            n = 2;
        else if ((*s & 0xF0) == 0xE0)
            n = 3;
        else if ((*s & 0xF8) == 0xF0 && *s <= 0xF4)
            n = 4;
        for (size_t k = 1; k < n; k++)
            if ((s[k] & 0xC0) != 0x80)
                n = 0;
        /* Overlong 3-byte forms, surrogates and code points past U+10FFFF. */
        if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
            n = 0;
        if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
            n = 0;
        if (n == 0) {
            out[j++] = '?';
            s++;
            continue;
        }
        memcpy(out + j, s, n);
        j += n;
        s += n;
    }
    out[j] = '\0';
}

enum gy_status gy__http_resp_default_error(struct gy_http_resp *resp, int http_status,
                                           const char *msg)
{
    /* At most ~800 bytes of text, so that an error body stays under 1 KiB (R11). */
    char clean[800];
    enum gy_status rc;
    utf8_sanitize(msg && *msg ? msg : gy_http_reason(http_status), clean, sizeof clean);
    rc = gy_http_resp_json(resp, http_status, json_pack("{s:s}", "error", clean));
    /* One Retry-After, also when the caller set its own before the body. */
    if (rc == GY_OK && http_status == 503 && !gy__http_kv_find(&resp->headers, "Retry-After", 1))
        rc = gy_http_resp_header(resp, "Retry-After", "1");
    return rc;
}

enum gy_status gy_http_resp_error(struct gy_http_resp *resp, int status, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gy__http_resp_default_error(resp, status, msg);
}

enum gy_status gy_http_resp_status(struct gy_http_resp *resp, enum gy_status s)
{
    const char *msg = gy_error_msg();
    char copy[2048];
    /* Building the response may itself set error text; keep the handler's. */
    gy_snprintf(copy, sizeof copy, "%s", *msg ? msg : gy_status_str(s));
    gy__http_resp_default_error(resp, gy_http_status_from(s), copy);
    return s;
}

enum gy_status gy_http_resp_header(struct gy_http_resp *resp, const char *name, const char *value)
{
    char *k, *v;
    if (!gy__http_token_ok(name))
        return gy_error_set(GY_E_INVALID, "bad header name \"%s\"", name ? name : "");
    if (!value || strpbrk(value, "\r\n"))
        return gy_error_set(GY_E_INVALID, "bad value for header %s", name);
    if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0)
        return gy_error_set(GY_E_INVALID, "%s is set by the server", name);
    k = gy_arena_strdup(resp->arena, name);
    v = gy_arena_strdup(resp->arena, value);
    if (!k || !v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    return gy__http_kv_add(resp->arena, &resp->headers, k, v);
}

int gy_http_resp_is_set(const struct gy_http_resp *resp)
{
    return resp->set;
}
