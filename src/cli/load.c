/* SPDX-License-Identifier: MIT */
/*
 * load.c - `gyre load DEPLOYMENT --url URL --from DATASET[@V]`: a built-in V2 load client.
 * It reads rows of a lake dataset, turns each row into one V2 JSON infer request (one tensor
 * per model input, named and typed as GET /v2/models/DEPLOYMENT says, "id": PREFIX + row
 * number), and sends them from C threads, each over its own keep-alive HTTP/1.1 connection
 * (plain sockets, http:// only). It counts the answers per variant (the x-gyre-variant
 * response header), the errors (HTTP and I/O), and the latency percentiles of the answered
 * requests; with --feedback it then posts the label column of the answered rows as feedback
 * (POST /api/v1/feedback, at most 10000 items a call). A server that closes a connection is
 * reconnected to: a request that found a kept-alive connection closed before any answer
 * byte is sent once more on a fresh one (counted as a reconnect); any other failure counts
 * as an error and the next request reconnects.
 */
#include "cli/cli.h"
#include "lake/lake.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define LOAD_URL_MAX 2048
#define LOAD_MAX_CONCURRENCY 256
#define LOAD_MAX_ROWS 10000000ULL
#define LOAD_MAX_BODIES ((size_t)1 << 30) /* bytes of request bodies held in memory */
#define LOAD_MAX_RESPONSE ((size_t)16 << 20)
#define LOAD_MAX_INPUTS 4096
#define LOAD_MAX_VARIANTS 32
#define LOAD_VARIANT_LEN 128
#define LOAD_PREFIX_MAX 128
#define LOAD_FEEDBACK_BATCH 10000
#define LOAD_TIMEOUT_MS 30000
#define LOAD_STICKY_USERS 1000

/* ------------------------------------------------------------------ URL */

struct load_url {
    char host[256];
    char port[8];
    char prefix[LOAD_URL_MAX]; /* path prefix without a trailing '/', may be "" */
};

/* http://HOST[:PORT][/PREFIX]; IPv6 hosts in brackets. */
static enum gy_status load_url_parse(const char *u, struct load_url *out)
{
    const char *h, *he, *slash, *p;
    size_t hl;
    memset(out, 0, sizeof(*out));
    if (!u || !*u || strlen(u) >= LOAD_URL_MAX)
        return gy_error_set(GY_E_INVALID, "--url is empty or longer than %d bytes",
                            LOAD_URL_MAX - 1);
    if (strncmp(u, "https://", 8) == 0)
        return gy_error_set(GY_E_UNSUPPORTED, "--url: https is not supported by gyre load "
                                              "(use http:// on loopback or a TLS proxy)");
    if (strncmp(u, "http://", 7) != 0)
        return gy_error_set(GY_E_INVALID, "--url must start with http://: \"%s\"", u);
    h = u + 7;
    slash = strchr(h, '/');
    he = slash ? slash : h + strlen(h);
    if (memchr(h, '@', (size_t)(he - h)))
        return gy_error_set(GY_E_INVALID, "--url must not hold credentials (use GYRE_TOKEN)");
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(he - h));
        if (!rb || rb == h + 1 || (size_t)(rb - h - 1) >= sizeof(out->host))
            return gy_error_set(GY_E_INVALID, "--url: bad IPv6 host in \"%s\"", u);
        hl = (size_t)(rb - h - 1);
        memcpy(out->host, h + 1, hl);
        p = rb + 1;
    } else {
        const char *colon = memchr(h, ':', (size_t)(he - h));
        p = colon ? colon : he;
        hl = (size_t)(p - h);
        if (hl == 0 || hl >= sizeof(out->host))
            return gy_error_set(GY_E_INVALID, "--url: bad host in \"%s\"", u);
        memcpy(out->host, h, hl);
    }
    for (size_t i = 0; out->host[i]; i++)
        if ((unsigned char)out->host[i] <= ' ' || out->host[i] == '/' || out->host[i] == '?')
            return gy_error_set(GY_E_INVALID, "--url: bad host in \"%s\"", u);
    if (p < he && *p == ':') {
        size_t pl = (size_t)(he - p - 1);
        int64_t port;
        if (pl == 0 || pl >= sizeof(out->port))
            return gy_error_set(GY_E_INVALID, "--url: bad port in \"%s\"", u);
        memcpy(out->port, p + 1, pl);
        if (gy_parse_int64(out->port, &port) || port < 1 || port > 65535)
            return gy_error_set(GY_E_INVALID, "--url: bad port in \"%s\"", u);
    } else if (p != he) {
        return gy_error_set(GY_E_INVALID, "--url: bad host in \"%s\"", u);
    } else {
        memcpy(out->port, "80", 3);
    }
    if (slash) {
        size_t l = strlen(slash);
        while (l > 0 && slash[l - 1] == '/')
            l--;
        for (size_t i = 0; i < l; i++)
            if ((unsigned char)slash[i] <= ' ' || slash[i] == '?' || slash[i] == '#' ||
                (unsigned char)slash[i] >= 0x7f)
                return gy_error_set(GY_E_INVALID, "--url: bad path in \"%s\"", u);
        memcpy(out->prefix, slash, l);
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ HTTP responses */

struct load_resp {
    int status;
    int close;                      /* the server will close the connection */
    char variant[LOAD_VARIANT_LEN]; /* x-gyre-variant, "" when absent */
    struct gy_buf body;             /* the (de-chunked) body */
};

/* Case-insensitive header name match of line [p, colon). */
static int hdr_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* Trims spaces and tabs around [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
    while (*n && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

/*
 * Parses the status line and headers of a response head (up to and including the blank
 * line, @p n bytes). *clen: Content-Length, or -1 when absent; *chunked: Transfer-Encoding
 * chunked. GY_E_INVALID on a malformed head.
 */
static enum gy_status load_head_parse(const char *p, size_t n, struct load_resp *r, int64_t *clen,
                                      int *chunked)
{
    const char *end = p + n, *eol;
    int maj = 0, min = 0, code = 0, consumed = 0;
    r->status = 0;
    r->close = 0;
    r->variant[0] = '\0';
    *clen = -1;
    *chunked = 0;
    eol = memchr(p, '\n', n);
    if (!eol || sscanf(p, "HTTP/%1d.%1d %3d%n", &maj, &min, &code, &consumed) != 3 ||
        consumed > eol - p || code < 100 || code > 599 ||
        (p[consumed] != ' ' && p[consumed] != '\r' && p[consumed] != '\n'))
        return gy_error_set(GY_E_INVALID, "the server answered no HTTP status line");
    r->status = code;
    if (maj == 1 && min == 0)
        r->close = 1; /* HTTP/1.0: close unless keep-alive is said */
    for (p = eol + 1; p < end; p = eol + 1) {
        const char *colon, *v;
        size_t ln, vn;
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        ln = (size_t)(eol - p);
        if (ln && p[ln - 1] == '\r')
            ln--;
        if (!ln)
            break;
        colon = memchr(p, ':', ln);
        if (!colon)
            return gy_error_set(GY_E_INVALID, "the server sent a header line without ':'");
        v = colon + 1;
        vn = ln - (size_t)(v - p);
        trim(&v, &vn);
        if (hdr_is(p, (size_t)(colon - p), "content-length")) {
            char num[24];
            int64_t x;
            if (vn == 0 || vn >= sizeof num)
                return gy_error_set(GY_E_INVALID, "bad Content-Length from the server");
            memcpy(num, v, vn);
            num[vn] = '\0';
            if (gy_parse_int64(num, &x) || x < 0)
                return gy_error_set(GY_E_INVALID, "bad Content-Length from the server");
            *clen = x;
        } else if (hdr_is(p, (size_t)(colon - p), "transfer-encoding")) {
            *chunked = vn >= 7 && strncasecmp(v + vn - 7, "chunked", 7) == 0;
        } else if (hdr_is(p, (size_t)(colon - p), "connection")) {
            if (vn == 5 && strncasecmp(v, "close", 5) == 0)
                r->close = 1;
            else if (vn == 10 && strncasecmp(v, "keep-alive", 10) == 0)
                r->close = 0;
        } else if (hdr_is(p, (size_t)(colon - p), "x-gyre-variant")) {
            size_t k = GY_MIN(vn, sizeof(r->variant) - 1);
            memcpy(r->variant, v, k);
            r->variant[k] = '\0';
        }
    }
    return GY_OK;
}

/*
 * Decodes a chunked body from @p p/n into @p out. GY_OK with *used = bytes consumed when the
 * last chunk (and its trailers) is complete; GY_AGAIN when more bytes are needed (out is
 * reset); GY_E_INVALID on bad framing.
 */
static enum gy_status load_chunked_decode(const char *p, size_t n, struct gy_buf *out, size_t *used)
{
    size_t i = 0;
    gy_buf_reset(out);
    for (;;) {
        const char *eol = i < n ? memchr(p + i, '\n', n - i) : NULL;
        uint64_t size = 0;
        size_t k = i, digits = 0;
        if (!eol)
            return GY_AGAIN;
        while (k < (size_t)(eol - p)) {
            char c = p[k];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                break;
            if (++digits > 15)
                return gy_error_set(GY_E_INVALID, "chunk size too large");
            size = size * 16 + (uint64_t)d;
            k++;
        }
        if (!digits || (p[k] != ';' && p[k] != '\r' && p[k] != '\n'))
            return gy_error_set(GY_E_INVALID, "bad chunk size line");
        i = (size_t)(eol - p) + 1;
        if (size == 0) {
            /* trailers until an empty line */
            for (;;) {
                const char *e = i < n ? memchr(p + i, '\n', n - i) : NULL;
                size_t ln;
                if (!e)
                    return GY_AGAIN;
                ln = (size_t)(e - (p + i));
                i = (size_t)(e - p) + 1;
                if (ln == 0 || (ln == 1 && p[i - 2] == '\r')) {
                    *used = i;
                    return GY_OK;
                }
            }
        }
        if (size > LOAD_MAX_RESPONSE)
            return gy_error_set(GY_E_TOO_LARGE, "a chunk of %llu bytes", (unsigned long long)size);
        if (n - i < size + 2)
            return GY_AGAIN;
        if (gy_buf_append(out, p + i, (size_t)size))
            return gy_error_set(GY_E_TOO_LARGE, "response body too large");
        i += (size_t)size;
        if (p[i] == '\r' && p[i + 1] == '\n')
            i += 2;
        else if (p[i] == '\n')
            i += 1;
        else
            return gy_error_set(GY_E_INVALID, "chunk not followed by CRLF");
    }
}

/* ------------------------------------------------------------------ connections */

struct load_conn {
    const struct load_url *url;
    const struct addrinfo *addrs;
    const char *auth; /* "Authorization: Bearer ...\r\n" or "" */
    int timeout_ms;
    int fd;
    int reused;       /* the connection has answered a request before */
    struct gy_buf in; /* received bytes not consumed yet */
    struct gy_buf req;
    uint64_t reconnects;
};

static void conn_init(struct load_conn *c, const struct load_url *u, const struct addrinfo *ai,
                      const char *auth, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->url = u;
    c->addrs = ai;
    c->auth = auth;
    c->timeout_ms = timeout_ms;
    c->fd = -1;
    gy_buf_init(&c->in, LOAD_MAX_RESPONSE + 65536);
    gy_buf_init(&c->req, LOAD_MAX_BODIES);
}

static void conn_close(struct load_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->reused = 0;
    gy_buf_reset(&c->in);
}

static void conn_free(struct load_conn *c)
{
    conn_close(c);
    gy_buf_free(&c->in);
    gy_buf_free(&c->req);
}

static enum gy_status wait_fd(int fd, short ev, int64_t deadline_ns)
{
    for (;;) {
        struct pollfd pf = {fd, ev, 0};
        int64_t left = (deadline_ns - gy_time_mono_ns()) / 1000000;
        int n;
        if (left <= 0)
            return gy_error_set(GY_E_IO, "timed out");
        n = poll(&pf, 1, (int)GY_MIN(left, 60000));
        if (n > 0)
            return GY_OK;
        if (n < 0 && errno != EINTR)
            return gy_error_set(GY_E_IO, "poll: %s", strerror(errno));
    }
}

static enum gy_status conn_open(struct load_conn *c, int64_t deadline)
{
    const struct addrinfo *ai;
    int one = 1;
    gy_error_set(GY_E_IO, "no address for %s", c->url->host);
    for (ai = c->addrs; ai; ai = ai->ai_next) {
        int err = 0, fd;
        socklen_t len = sizeof(err);
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == GY_OK &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            c->fd = fd;
            c->reused = 0;
            gy_buf_reset(&c->in);
            return GY_OK;
        }
        gy_error_set(GY_E_IO, "cannot connect to %s:%s: %s", c->url->host, c->url->port,
                     strerror(err     ? err
                              : errno ? errno
                                      : ETIMEDOUT));
        close(fd);
    }
    return GY_E_IO;
}

static enum gy_status send_all(struct load_conn *c, const char *p, size_t n, int64_t deadline)
{
    size_t sent = 0;
    while (sent < n) {
        ssize_t k = send(c->fd, p + sent, n - sent, MSG_NOSIGNAL);
        if (k > 0) {
            sent += (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            enum gy_status rc = wait_fd(c->fd, POLLOUT, deadline);
            if (rc)
                return rc;
        } else {
            return gy_error_set(GY_E_IO, "send: %s", strerror(errno));
        }
    }
    return GY_OK;
}

/* Receives more bytes into c->in. GY_NOT_FOUND at EOF. */
static enum gy_status recv_some(struct load_conn *c, int64_t deadline)
{
    for (;;) {
        ssize_t k;
        if (gy_buf_reserve(&c->in, 16384))
            return gy_error_set(GY_E_TOO_LARGE, "the response is larger than %zu bytes",
                                LOAD_MAX_RESPONSE);
        k = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1, 0);
        if (k > 0) {
            c->in.len += (size_t)k;
            c->in.data[c->in.len] = '\0';
            return GY_OK;
        }
        if (k == 0)
            return GY_NOT_FOUND;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            enum gy_status rc = wait_fd(c->fd, POLLIN, deadline);
            if (rc)
                return rc;
            continue;
        }
        return gy_error_set(GY_E_IO, "recv: %s", strerror(errno));
    }
}

/* Drops the first @p n bytes of c->in. */
static void consume(struct load_conn *c, size_t n)
{
    memmove(c->in.data, c->in.data + n, c->in.len - n);
    c->in.len -= n;
    c->in.data[c->in.len] = '\0';
}

/* Reads one response on c->fd into @p r. *got_any: some byte of it arrived. */
static enum gy_status read_response(struct load_conn *c, struct load_resp *r, int64_t deadline,
                                    int *got_any)
{
    char *hend;
    size_t head;
    int64_t clen;
    int chunked;
    enum gy_status rc;
    *got_any = c->in.len > 0;
    while (!(hend = c->in.len ? strstr(c->in.data, "\r\n\r\n") : NULL)) {
        if (c->in.len > 65536)
            return gy_error_set(GY_E_TOO_LARGE, "response headers larger than 64 KiB");
        rc = recv_some(c, deadline);
        if (rc == GY_NOT_FOUND)
            return gy_error_set(GY_E_IO, "the server closed the connection%s",
                                c->in.len ? " in the middle of a response" : "");
        if (rc)
            return rc;
        *got_any = 1;
    }
    head = (size_t)(hend - c->in.data) + 4;
    if ((rc = load_head_parse(c->in.data, head, r, &clen, &chunked)))
        return rc;
    consume(c, head);
    gy_buf_reset(&r->body);
    if (chunked) {
        size_t used = 0;
        while ((rc = load_chunked_decode(c->in.data, c->in.len, &r->body, &used)) == GY_AGAIN) {
            rc = recv_some(c, deadline);
            if (rc == GY_NOT_FOUND)
                return gy_error_set(GY_E_IO, "the server closed the connection in a chunked body");
            if (rc)
                return rc;
        }
        if (rc)
            return rc;
        consume(c, used);
    } else if (clen >= 0) {
        if ((uint64_t)clen > LOAD_MAX_RESPONSE)
            return gy_error_set(GY_E_TOO_LARGE, "a response body of %lld bytes", (long long)clen);
        while (c->in.len < (size_t)clen) {
            rc = recv_some(c, deadline);
            if (rc == GY_NOT_FOUND)
                return gy_error_set(GY_E_IO, "the server closed the connection in a body");
            if (rc)
                return rc;
        }
        if (gy_buf_append(&r->body, c->in.data, (size_t)clen))
            return gy_error_set(GY_E_NOMEM, "out of memory");
        consume(c, (size_t)clen);
    } else if (r->status >= 200 && r->status != 204 && r->status != 304) {
        /* no length: the body runs until the server closes */
        r->close = 1;
        while ((rc = recv_some(c, deadline)) == GY_OK)
            ;
        if (rc != GY_NOT_FOUND)
            return rc;
        if (gy_buf_append(&r->body, c->in.data, c->in.len))
            return gy_error_set(GY_E_NOMEM, "out of memory");
        consume(c, c->in.len);
    }
    return GY_OK;
}

/*
 * Sends one request and reads its answer. A kept-alive connection found closed before any
 * byte of the answer is reopened and the request sent once more. On an I/O error the
 * connection is closed (the next request reconnects). @p extra: more header lines, each
 * ending in CRLF (may be "").
 */
static enum gy_status conn_request(struct load_conn *c, const char *method, const char *path,
                                   const char *extra, const char *body, size_t len,
                                   struct load_resp *r)
{
    int64_t deadline = gy_time_mono_ns() + (int64_t)c->timeout_ms * 1000000;
    enum gy_status rc;
    int v6 = strchr(c->url->host, ':') != NULL;
    gy_buf_reset(&c->req);
    rc = gy_buf_printf(&c->req,
                       "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: gyre-load\r\n%s%s",
                       method, c->url->prefix, path, v6 ? "[" : "", c->url->host, v6 ? "]" : "",
                       c->url->port, c->auth, extra);
    if (rc == GY_OK && body)
        rc = gy_buf_printf(&c->req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                           len);
    if (rc == GY_OK)
        rc = gy_buf_puts(&c->req, "\r\n");
    if (rc == GY_OK && body)
        rc = gy_buf_append(&c->req, body, len);
    if (rc)
        return gy_error_set(rc, "the request is too large");
    for (int attempt = 0;; attempt++) {
        int reused, got_any = 0;
        if (c->fd < 0 && (rc = conn_open(c, deadline)))
            return rc;
        reused = c->reused;
        rc = send_all(c, c->req.data, c->req.len, deadline);
        if (rc == GY_OK)
            rc = read_response(c, r, deadline, &got_any);
        if (rc == GY_OK) {
            c->reused = 1;
            if (r->close)
                conn_close(c);
            return GY_OK;
        }
        conn_close(c);
        if (!(reused && !got_any && attempt == 0 && gy_time_mono_ns() < deadline))
            return rc;
        c->reconnects++;
    }
}

/* ------------------------------------------------------------------ the plan */

/* How one model input is filled from a dataset column. */
struct load_input {
    char *name;     /* the input name (JSON-escaped when written) */
    char *datatype; /* V2 datatype */
    size_t col;     /* index in the scan */
};

struct load_plan {
    struct gy_buf bodies; /* every request body, back to back */
    size_t *off;          /* body i is bodies[off[i] .. off[i + 1]) */
    uint64_t *row;        /* the dataset row number of request i */
    double *label;        /* the label of request i (NAN when null) */
    size_t n;
};

static void plan_free(struct load_plan *p)
{
    gy_buf_free(&p->bodies);
    gy_free(p->off);
    gy_free(p->row);
    gy_free(p->label);
    memset(p, 0, sizeof(*p));
}

/* Appends @p s as JSON string contents (without quotes). */
static enum gy_status put_json_str(struct gy_buf *b, const char *s, size_t n)
{
    enum gy_status rc = GY_OK;
    for (size_t i = 0; i < n && rc == GY_OK; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            rc = gy_buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            rc = gy_buf_printf(b, "\\u%04x", ch);
        else
            rc = gy_buf_putc(b, (char)ch);
    }
    return rc;
}

static int dtype_is(const char *dt, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(dt, *list) == 0)
            return 1;
    return 0;
}

static const char *const DT_FLOAT[] = {"FP64", "FP32", "FP16", "BF16", NULL};
static const char *const DT_INT[] = {"INT64",  "INT32",  "INT16", "INT8", "UINT64",
                                     "UINT32", "UINT16", "UINT8", NULL};

/* Checks that column type @p t can feed an input of datatype @p dt. */
static enum gy_status input_check(const struct load_input *in, enum gy_type t, const char *ds)
{
    int ok;
    if (strcmp(in->datatype, "BYTES") == 0)
        ok = t == GY_TYPE_STRING;
    else if (strcmp(in->datatype, "BOOL") == 0)
        ok = t == GY_TYPE_BOOL;
    else if (dtype_is(in->datatype, DT_FLOAT))
        ok = t == GY_TYPE_FLOAT64 || t == GY_TYPE_INT64 || t == GY_TYPE_BOOL;
    else if (dtype_is(in->datatype, DT_INT))
        ok = t == GY_TYPE_INT64 || t == GY_TYPE_BOOL || t == GY_TYPE_TIMESTAMP;
    else
        return gy_error_set(GY_E_UNSUPPORTED,
                            "input '%s' has datatype %s, which gyre load "
                            "cannot fill",
                            in->name, in->datatype);
    if (!ok)
        return gy_error_set(GY_E_SCHEMA, "input '%s' is %s but column '%s' of %s is %s", in->name,
                            in->datatype, in->name, ds, gy_type_name(t));
    return GY_OK;
}

/* Appends the value of row @p i of @p v as a JSON value (null when missing). */
static enum gy_status put_value(struct gy_buf *b, const struct gy_colvec *v, size_t i)
{
    if (v->valid && !v->valid[i])
        return gy_buf_puts(b, "null");
    switch (v->type) {
    case GY_TYPE_FLOAT64:
        if (!isfinite(v->f64[i]))
            return gy_buf_puts(b, "null");
        return gy_buf_printf(b, "%.17g", v->f64[i]);
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        return gy_buf_printf(b, "%lld", (long long)v->i64[i]);
    case GY_TYPE_BOOL:
        return gy_buf_puts(b, v->b[i] ? "true" : "false");
    case GY_TYPE_STRING: {
        enum gy_status rc = gy_buf_putc(b, '"');
        if (rc == GY_OK)
            rc = put_json_str(b, v->data + v->off[i], v->off[i + 1] - v->off[i]);
        if (rc == GY_OK)
            rc = gy_buf_putc(b, '"');
        return rc;
    }
    }
    return gy_error_set(GY_E_INTERNAL, "unknown column type");
}

/* A bool input fed from a numeric datatype is written as 0/1. */
static enum gy_status put_input_value(struct gy_buf *b, const struct load_input *in,
                                      const struct gy_colvec *v, size_t i)
{
    if (v->type == GY_TYPE_BOOL && strcmp(in->datatype, "BOOL") != 0 && !(v->valid && !v->valid[i]))
        return gy_buf_puts(b, v->b[i] ? "1" : "0");
    return put_value(b, v, i);
}

/* Appends the V2 request body of one row. */
static enum gy_status body_build(struct gy_buf *b, const char *prefix, uint64_t row,
                                 const struct load_input *in, size_t nin,
                                 const struct gy_colvec *cols, size_t i)
{
    enum gy_status rc = gy_buf_puts(b, "{\"id\":\"");
    if (rc == GY_OK)
        rc = put_json_str(b, prefix, strlen(prefix));
    if (rc == GY_OK)
        rc = gy_buf_printf(b, "%llu\",\"inputs\":[", (unsigned long long)row);
    for (size_t k = 0; k < nin && rc == GY_OK; k++) {
        rc = gy_buf_puts(b, k ? ",{\"name\":\"" : "{\"name\":\"");
        if (rc == GY_OK)
            rc = put_json_str(b, in[k].name, strlen(in[k].name));
        if (rc == GY_OK)
            rc =
                gy_buf_printf(b, "\",\"datatype\":\"%s\",\"shape\":[1],\"data\":[", in[k].datatype);
        if (rc == GY_OK)
            rc = put_input_value(b, &in[k], &cols[in[k].col], i);
        if (rc == GY_OK)
            rc = gy_buf_puts(b, "]}");
    }
    if (rc == GY_OK)
        rc = gy_buf_puts(b, "]}");
    return rc;
}

static double label_value(const struct gy_colvec *v, size_t i)
{
    if (v->valid && !v->valid[i])
        return NAN;
    switch (v->type) {
    case GY_TYPE_FLOAT64:
        return v->f64[i];
    case GY_TYPE_INT64:
        return (double)v->i64[i];
    case GY_TYPE_BOOL:
        return v->b[i] ? 1.0 : 0.0;
    default:
        return NAN;
    }
}

/* ------------------------------------------------------------------ options */

struct load_opts {
    const char *deployment;
    const char *url;
    const char *from;
    uint64_t offset;
    uint64_t rows; /* 0: to the end */
    int concurrency;
    const char *id_prefix;
    const char *sticky;
    const char *label;
    int feedback;
    int json;
    int timeout_ms;
};

/* Deployment (or MODEL@REF endpoint) names go into the URL path unescaped: keep them plain. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 256)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '@' || c == ':'))
            return 0;
    }
    return 1;
}

static int header_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int prefix_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > LOAD_PREFIX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
            s[i] == '\\' || s[i] == ',')
            return 0;
    return 1;
}

static int parse_u64(const char *v, const char *what, uint64_t lo, uint64_t hi, uint64_t *out)
{
    int64_t x;
    if (gy_parse_int64(v, &x) || x < 0 || (uint64_t)x < lo || (uint64_t)x > hi) {
        fprintf(stderr, "gyre: %s must be an integer from %llu to %llu, got \"%s\"\n", what,
                (unsigned long long)lo, (unsigned long long)hi, v);
        return GY_EXIT_USAGE;
    }
    *out = (uint64_t)x;
    return GY_EXIT_OK;
}

static const char LOAD_USAGE[] =
    "usage: gyre load DEPLOYMENT --url URL --from DATASET[@V] [--offset K] [--rows N] "
    "[--concurrency C] [--id-prefix P] [--sticky-header NAME] [--label COLUMN [--feedback]] "
    "[--timeout-ms MS] [--json]\n";

/* Parses and validates argv into @p lo. */
static int load_opts_parse(int argc, char **argv, struct load_opts *lo)
{
    struct gy_cli_opt o[] = {
        {"--url", NULL, 1, NULL, 0},           {"--from", NULL, 1, NULL, 0},
        {"--offset", NULL, 1, NULL, 0},        {"--rows", "-n", 1, NULL, 0},
        {"--concurrency", "-c", 1, NULL, 0},   {"--id-prefix", NULL, 1, NULL, 0},
        {"--sticky-header", NULL, 1, NULL, 0}, {"--label", NULL, 1, NULL, 0},
        {"--feedback", NULL, 0, NULL, 0},      {"--json", NULL, 0, NULL, 0},
        {"--timeout-ms", NULL, 1, NULL, 0}};
    char *pos[8];
    size_t npos;
    uint64_t x;
    const char *v;
    int ex;
    memset(lo, 0, sizeof(*lo));
    lo->concurrency = 4;
    lo->id_prefix = "load-";
    lo->timeout_ms = LOAD_TIMEOUT_MS;
    if (argc > 64) {
        fputs(LOAD_USAGE, stderr);
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)))
        return ex;
    for (size_t k = 0; k < NOPTS(o); k++)
        if (o[k].repeat > 1) {
            fprintf(stderr, "gyre: %s given twice\n", o[k].name);
            return GY_EXIT_USAGE;
        }
    if (npos != 1 || !gy_cli_get(o, NOPTS(o), "--url") || !gy_cli_get(o, NOPTS(o), "--from")) {
        fputs(LOAD_USAGE, stderr);
        return GY_EXIT_USAGE;
    }
    lo->deployment = pos[0];
    lo->url = gy_cli_get(o, NOPTS(o), "--url");
    lo->from = gy_cli_get(o, NOPTS(o), "--from");
    if (!name_ok(lo->deployment)) {
        fprintf(stderr, "gyre: bad deployment name \"%s\" (letters, digits, _ - . @ :)\n",
                lo->deployment);
        return GY_EXIT_USAGE;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--offset")) &&
        (ex = parse_u64(v, "--offset", 0, (uint64_t)INT64_MAX, &lo->offset)))
        return ex;
    if ((v = gy_cli_get(o, NOPTS(o), "--rows")) &&
        (ex = parse_u64(v, "--rows", 1, LOAD_MAX_ROWS, &lo->rows)))
        return ex;
    if ((v = gy_cli_get(o, NOPTS(o), "--concurrency"))) {
        if ((ex = parse_u64(v, "--concurrency", 1, LOAD_MAX_CONCURRENCY, &x)))
            return ex;
        lo->concurrency = (int)x;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--timeout-ms"))) {
        if ((ex = parse_u64(v, "--timeout-ms", 1, 600000, &x)))
            return ex;
        lo->timeout_ms = (int)x;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--id-prefix"))) {
        if (!prefix_ok(v)) {
            fprintf(stderr,
                    "gyre: --id-prefix must be at most %d printable characters without "
                    "spaces, quotes, backslashes or commas\n",
                    LOAD_PREFIX_MAX);
            return GY_EXIT_USAGE;
        }
        lo->id_prefix = v;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--sticky-header"))) {
        if (!header_name_ok(v)) {
            fprintf(stderr, "gyre: --sticky-header must be a header name (letters, digits, - "
                            "and _, at most 64)\n");
            return GY_EXIT_USAGE;
        }
        lo->sticky = v;
    }
    lo->label = gy_cli_get(o, NOPTS(o), "--label");
    if (lo->label && !*lo->label) {
        fprintf(stderr, "gyre: --label needs a column name\n");
        return GY_EXIT_USAGE;
    }
    lo->feedback = gy_cli_get(o, NOPTS(o), "--feedback") != NULL;
    if (lo->feedback && !lo->label) {
        fprintf(stderr, "gyre: --feedback needs --label COLUMN (the column to post as labels)\n");
        return GY_EXIT_USAGE;
    }
    lo->json = gy_cli_get(o, NOPTS(o), "--json") != NULL;
    return GY_EXIT_OK;
}

/* ------------------------------------------------------------------ metadata and rows */

static void inputs_free(struct load_input *in, size_t n)
{
    for (size_t i = 0; in && i < n; i++) {
        gy_free(in[i].name);
        gy_free(in[i].datatype);
    }
    gy_free(in);
}

/* GET /v2/models/DEPLOYMENT: the inputs a request must carry. */
static enum gy_status fetch_inputs(struct load_conn *c, const char *dep, struct load_input **out,
                                   size_t *nout)
{
    char path[512];
    struct load_resp r;
    json_t *meta = NULL, *ins, *it;
    struct load_input *in = NULL;
    size_t n = 0, i;
    enum gy_status rc;
    memset(&r, 0, sizeof(r));
    gy_buf_init(&r.body, LOAD_MAX_RESPONSE);
    *out = NULL;
    *nout = 0;
    snprintf(path, sizeof path, "/v2/models/%s", dep);
    if ((rc = conn_request(c, "GET", path, "", NULL, 0, &r))) {
        rc = gy_error_wrap(rc, "GET %s", path);
        goto out;
    }
    if (r.status != 200) {
        rc = gy_error_set(r.status == 404 ? GY_NOT_FOUND : GY_E_IO,
                          "GET %s answered HTTP %d: %.300s", path, r.status,
                          r.body.data ? r.body.data : "");
        goto out;
    }
    if ((rc = gy_json_parse(r.body.data ? r.body.data : "", r.body.len, GY_JSON_MAX_DEPTH,
                            "model metadata", &meta)))
        goto out;
    ins = json_object_get(meta, "inputs");
    if (!json_is_array(ins) || json_array_size(ins) == 0 ||
        json_array_size(ins) > LOAD_MAX_INPUTS) {
        rc = gy_error_set(GY_E_INVALID, "GET %s: no \"inputs\" list of 1 to %d inputs", path,
                          LOAD_MAX_INPUTS);
        goto out;
    }
    if (!(in = gy_calloc(json_array_size(ins), sizeof(*in)))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(ins, i, it)
    {
        const char *name = gy_json_str(it, "name", NULL), *dt = gy_json_str(it, "datatype", NULL);
        if (!name || !*name || !dt || strlen(dt) > 16) {
            rc =
                gy_error_set(GY_E_INVALID, "GET %s: inputs[%zu] lacks a name or datatype", path, i);
            goto out;
        }
        in[n].name = gy_strdup(name);
        in[n].datatype = gy_strdup(dt);
        n++;
        if (!in[n - 1].name || !in[n - 1].datatype) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = in;
    *nout = n;
    in = NULL;
out:
    inputs_free(in, n);
    json_decref(meta);
    gy_buf_free(&r.body);
    return rc;
}

/* Reads the rows [offset, offset + rows) of the dataset into request bodies. */
static enum gy_status plan_build(const struct load_opts *lo, struct load_input *in, size_t nin,
                                 struct load_plan *p)
{
    char name[GY_LAKE_MAX_NAME + 1];
    int64_t version = 0;
    struct gy_db *db = NULL;
    struct gy_lake_scan *scan = NULL;
    const struct gy_schema *sch;
    const struct gy_colvec *cols;
    uint64_t total, end, row = 0;
    long label_col = -1;
    size_t nrows;
    enum gy_status rc;

    memset(p, 0, sizeof(*p));
    gy_buf_init(&p->bodies, LOAD_MAX_BODIES);
    if ((rc = gy_lake_parse_ref(lo->from, name, &version)))
        return gy_error_wrap(rc, "--from");
    if ((rc = gy_db_open_env(&db)))
        return gy_error_wrap(rc, "cannot open the data home");
    if ((rc = gy_lake_scan_open(db, name, version, NULL, 0, &scan))) {
        rc = gy_error_wrap(rc, "--from %s", lo->from);
        goto out;
    }
    sch = gy_lake_scan_schema(scan);
    for (size_t k = 0; k < nin; k++) {
        long c = gy_schema_find(sch, in[k].name);
        if (c < 0) {
            rc = gy_error_set(GY_E_SCHEMA, "input '%s' of %s is not a column of %s", in[k].name,
                              lo->deployment, lo->from);
            goto out;
        }
        in[k].col = (size_t)c;
        if ((rc = input_check(&in[k], sch->cols[c].type, lo->from)))
            goto out;
    }
    if (lo->label) {
        label_col = gy_schema_find(sch, lo->label);
        if (label_col < 0) {
            rc = gy_error_set(GY_E_SCHEMA, "--label: %s has no column '%s'", lo->from, lo->label);
            goto out;
        }
        if (sch->cols[label_col].type != GY_TYPE_BOOL &&
            sch->cols[label_col].type != GY_TYPE_INT64 &&
            sch->cols[label_col].type != GY_TYPE_FLOAT64) {
            rc = gy_error_set(GY_E_SCHEMA,
                              "--label: column '%s' is %s; labels must be bool, "
                              "int64 or float64",
                              lo->label, gy_type_name(sch->cols[label_col].type));
            goto out;
        }
    }
    total = gy_lake_scan_rows(scan);
    if (lo->offset >= total) {
        rc = gy_error_set(GY_E_INVALID, "--offset %llu is past the end of %s (%llu rows)",
                          (unsigned long long)lo->offset, lo->from, (unsigned long long)total);
        goto out;
    }
    end = lo->rows ? lo->offset + lo->rows : total;
    if (end > total) {
        rc = gy_error_set(GY_E_INVALID,
                          "--offset %llu --rows %llu runs past the end of %s "
                          "(%llu rows)",
                          (unsigned long long)lo->offset, (unsigned long long)lo->rows, lo->from,
                          (unsigned long long)total);
        goto out;
    }
    if (end - lo->offset > LOAD_MAX_ROWS) {
        rc = gy_error_set(GY_E_TOO_LARGE,
                          "%llu rows: gyre load sends at most %llu at a time "
                          "(use --offset and --rows)",
                          (unsigned long long)(end - lo->offset), LOAD_MAX_ROWS);
        goto out;
    }
    p->n = (size_t)(end - lo->offset);
    p->off = gy_calloc(p->n + 1, sizeof(*p->off));
    p->row = gy_calloc(p->n, sizeof(*p->row));
    p->label = gy_calloc(p->n, sizeof(*p->label));
    if (!p->off || !p->row || !p->label) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    while (row < end && (rc = gy_lake_scan_next(scan, &cols, &nrows)) == GY_OK && nrows) {
        for (size_t i = 0; i < nrows && row < end; i++, row++) {
            size_t k;
            if (row < lo->offset)
                continue;
            k = (size_t)(row - lo->offset);
            p->off[k] = p->bodies.len;
            p->row[k] = row;
            p->label[k] = label_col >= 0 ? label_value(&cols[label_col], i) : NAN;
            if ((rc = body_build(&p->bodies, lo->id_prefix, row, in, nin, cols, i))) {
                if (rc == GY_E_TOO_LARGE)
                    rc = gy_error_set(rc,
                                      "the request bodies exceed %zu bytes: send fewer "
                                      "--rows at a time",
                                      LOAD_MAX_BODIES);
                goto out;
            }
        }
    }
    if (rc)
        goto out;
    if (row < end) {
        rc = gy_error_set(GY_E_CORRUPT, "%s ended at row %llu before its stated %llu rows",
                          lo->from, (unsigned long long)row, (unsigned long long)total);
        goto out;
    }
    p->off[p->n] = p->bodies.len;
out:
    gy_lake_scan_free(scan);
    gy_db_free(db);
    if (rc)
        plan_free(p);
    return rc;
}

/* ------------------------------------------------------------------ workers */

struct load_variant {
    char name[LOAD_VARIANT_LEN];
    uint64_t n;
};

struct load_run {
    const struct load_opts *lo;
    const struct load_plan *plan;
    const struct load_url *url;
    const struct addrinfo *addrs;
    const char *auth;
    char path[512];
    atomic_size_t next;
    int64_t *lat_ns; /* per request; -1: not answered with 2xx */
};

struct load_worker {
    pthread_t tid;
    struct load_run *run;
    uint64_t ok, err_http, err_io, reconnects;
    struct load_variant variants[LOAD_MAX_VARIANTS];
    size_t nvariants;
    uint64_t other_variants;
    char first_error[320];
};

static void count_variant(struct load_worker *w, const char *name)
{
    const char *v = *name ? name : "(none)";
    for (size_t i = 0; i < w->nvariants; i++)
        if (strcmp(w->variants[i].name, v) == 0) {
            w->variants[i].n++;
            return;
        }
    if (w->nvariants == LOAD_MAX_VARIANTS) {
        w->other_variants++;
        return;
    }
    snprintf(w->variants[w->nvariants].name, LOAD_VARIANT_LEN, "%s", v);
    w->variants[w->nvariants++].n = 1;
}

static void *worker_main(void *arg)
{
    struct load_worker *w = arg;
    struct load_run *run = w->run;
    struct load_conn c;
    struct load_resp r;
    char extra[128];
    conn_init(&c, run->url, run->addrs, run->auth, run->lo->timeout_ms);
    memset(&r, 0, sizeof(r));
    gy_buf_init(&r.body, LOAD_MAX_RESPONSE);
    for (;;) {
        size_t i = atomic_fetch_add(&run->next, 1);
        const struct load_plan *p = run->plan;
        int64_t t0;
        enum gy_status rc;
        if (i >= p->n)
            break;
        extra[0] = '\0';
        if (run->lo->sticky)
            snprintf(extra, sizeof extra, "%s: user-%llu\r\n", run->lo->sticky,
                     (unsigned long long)(p->row[i] % LOAD_STICKY_USERS));
        t0 = gy_time_mono_ns();
        rc = conn_request(&c, "POST", run->path, extra, p->bodies.data + p->off[i],
                          p->off[i + 1] - p->off[i], &r);
        if (rc) {
            w->err_io++;
            if (!w->first_error[0])
                snprintf(w->first_error, sizeof w->first_error, "request %zu: %s", i,
                         gy_error_msg());
            continue;
        }
        if (r.status < 200 || r.status > 299) {
            w->err_http++;
            if (!w->first_error[0])
                snprintf(w->first_error, sizeof w->first_error, "request %zu: HTTP %d: %.250s", i,
                         r.status, r.body.data ? r.body.data : "");
            continue;
        }
        run->lat_ns[i] = gy_time_mono_ns() - t0;
        w->ok++;
        count_variant(w, r.variant);
    }
    w->reconnects = c.reconnects;
    gy_buf_free(&r.body);
    conn_free(&c);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array (q in (0, 1]); 0 when empty. */
static int64_t load_percentile(const int64_t *sorted, size_t n, double q)
{
    size_t k;
    if (!n)
        return 0;
    k = (size_t)ceil(q * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

/* ------------------------------------------------------------------ feedback */

/* Posts the labels of the answered requests. *posted: items stored; *batches: calls made. */
static enum gy_status post_feedback(struct load_conn *c, const struct load_opts *lo,
                                    const struct load_plan *p, const int64_t *lat_ns,
                                    uint64_t *posted, uint64_t *batches)
{
    struct gy_buf b;
    struct load_resp r;
    enum gy_status rc = GY_OK;
    size_t i = 0;
    *posted = 0;
    *batches = 0;
    memset(&r, 0, sizeof(r));
    gy_buf_init(&r.body, LOAD_MAX_RESPONSE);
    gy_buf_init(&b, (size_t)256 << 20);
    while (i < p->n && rc == GY_OK) {
        size_t items = 0;
        gy_buf_reset(&b);
        rc = gy_buf_puts(&b, "{\"deployment\":\"");
        if (rc == GY_OK)
            rc = put_json_str(&b, lo->deployment, strlen(lo->deployment));
        if (rc == GY_OK)
            rc = gy_buf_puts(&b, "\",\"items\":[");
        for (; i < p->n && items < LOAD_FEEDBACK_BATCH && rc == GY_OK; i++) {
            if (lat_ns[i] < 0 || !isfinite(p->label[i]))
                continue;
            rc = gy_buf_printf(&b, "%s{\"request_id\":\"", items ? "," : "");
            if (rc == GY_OK)
                rc = put_json_str(&b, lo->id_prefix, strlen(lo->id_prefix));
            if (rc == GY_OK)
                rc = gy_buf_printf(&b, "%llu\",\"label\":%.17g}", (unsigned long long)p->row[i],
                                   p->label[i]);
            items++;
        }
        if (rc == GY_OK)
            rc = gy_buf_puts(&b, "]}");
        if (rc) {
            rc = gy_error_set(rc, "out of memory building the feedback");
            break;
        }
        if (!items)
            break;
        if ((rc = conn_request(c, "POST", "/api/v1/feedback", "", b.data, b.len, &r))) {
            rc = gy_error_wrap(rc, "POST /api/v1/feedback");
            break;
        }
        if (r.status < 200 || r.status > 299) {
            rc = gy_error_set(GY_E_IO, "POST /api/v1/feedback answered HTTP %d: %.300s", r.status,
                              r.body.data ? r.body.data : "");
            break;
        }
        *posted += items;
        (*batches)++;
    }
    gy_buf_free(&b);
    gy_buf_free(&r.body);
    return rc;
}

/* ------------------------------------------------------------------ the command */

struct load_result {
    uint64_t requests, ok, err_http, err_io, reconnects, fb_posted, fb_batches;
    double seconds;
    int64_t p50, p90, p99, max, mean;
    struct load_variant variants[LOAD_MAX_VARIANTS];
    size_t nvariants;
    uint64_t other_variants;
    char first_error[320];
};

static void merge_worker(struct load_result *res, const struct load_worker *w)
{
    res->ok += w->ok;
    res->err_http += w->err_http;
    res->err_io += w->err_io;
    res->reconnects += w->reconnects;
    res->other_variants += w->other_variants;
    if (!res->first_error[0] && w->first_error[0])
        memcpy(res->first_error, w->first_error, sizeof res->first_error);
    for (size_t k = 0; k < w->nvariants; k++) {
        size_t j;
        for (j = 0; j < res->nvariants; j++)
            if (strcmp(res->variants[j].name, w->variants[k].name) == 0)
                break;
        if (j == res->nvariants) {
            if (res->nvariants == LOAD_MAX_VARIANTS) {
                res->other_variants += w->variants[k].n;
                continue;
            }
            res->variants[res->nvariants++] = w->variants[k];
        } else {
            res->variants[j].n += w->variants[k].n;
        }
    }
}

static int cmp_variant(const void *a, const void *b)
{
    const struct load_variant *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

static void print_result(const struct load_opts *lo, const struct load_result *res)
{
    if (lo->json) {
        json_t *j = json_object(), *v = json_object(), *e, *l, *f;
        for (size_t k = 0; v && k < res->nvariants; k++)
            json_object_set_new(v, res->variants[k].name,
                                json_integer((json_int_t)res->variants[k].n));
        if (v && res->other_variants)
            json_object_set_new(v, "(other)", json_integer((json_int_t)res->other_variants));
        e = json_pack("{s:I, s:I, s:I}", "total", (json_int_t)(res->err_http + res->err_io), "http",
                      (json_int_t)res->err_http, "io", (json_int_t)res->err_io);
        l = json_pack("{s:f, s:f, s:f, s:f, s:f}", "p50", (double)res->p50 / 1e6, "p90",
                      (double)res->p90 / 1e6, "p99", (double)res->p99 / 1e6, "max",
                      (double)res->max / 1e6, "mean", (double)res->mean / 1e6);
        f = lo->feedback ? json_pack("{s:I, s:I}", "posted", (json_int_t)res->fb_posted, "batches",
                                     (json_int_t)res->fb_batches)
                         : json_null();
        if (j && v && e && l && f) {
            json_object_set_new(j, "deployment", json_string(lo->deployment));
            json_object_set_new(j, "from", json_string(lo->from));
            json_object_set_new(j, "requests", json_integer((json_int_t)res->requests));
            json_object_set_new(j, "ok", json_integer((json_int_t)res->ok));
            json_object_set_new(j, "errors", e);
            json_object_set_new(j, "reconnects", json_integer((json_int_t)res->reconnects));
            json_object_set_new(j, "concurrency", json_integer(lo->concurrency));
            json_object_set_new(j, "seconds", gy_json_real(res->seconds));
            json_object_set_new(
                j, "requests_per_second",
                gy_json_real(res->seconds > 0 ? (double)res->requests / res->seconds : 0));
            json_object_set_new(j, "variants", v);
            json_object_set_new(j, "latency_ms", l);
            json_object_set_new(j, "feedback", f);
            if (res->first_error[0])
                json_object_set_new(j, "first_error", json_string(res->first_error));
            gy_cli_print_json(j);
            json_decref(j);
        } else {
            json_decref(j);
            json_decref(v);
            json_decref(e);
            json_decref(l);
            json_decref(f);
            fprintf(stderr, "gyre: out of memory\n");
        }
        return;
    }
    printf("%s: %llu requests in %.2f s (%.0f/s, %d connections): %llu ok, %llu errors "
           "(%llu HTTP, %llu I/O), %llu reconnects\n",
           lo->deployment, (unsigned long long)res->requests, res->seconds,
           res->seconds > 0 ? (double)res->requests / res->seconds : 0.0, lo->concurrency,
           (unsigned long long)res->ok, (unsigned long long)(res->err_http + res->err_io),
           (unsigned long long)res->err_http, (unsigned long long)res->err_io,
           (unsigned long long)res->reconnects);
    printf("  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", (double)res->p50 / 1e6,
           (double)res->p90 / 1e6, (double)res->p99 / 1e6, (double)res->max / 1e6);
    printf("  variants:  ");
    for (size_t k = 0; k < res->nvariants; k++)
        printf(" %s %llu (%.1f%%)", res->variants[k].name, (unsigned long long)res->variants[k].n,
               res->ok ? 100.0 * (double)res->variants[k].n / (double)res->ok : 0.0);
    if (res->other_variants)
        printf(" (other) %llu", (unsigned long long)res->other_variants);
    printf("%s\n", res->nvariants || res->other_variants ? "" : " -");
    if (lo->feedback)
        printf("  feedback:   %llu labels from column %s posted in %llu call%s\n",
               (unsigned long long)res->fb_posted, lo->label, (unsigned long long)res->fb_batches,
               res->fb_batches == 1 ? "" : "s");
    if (res->first_error[0])
        printf("  first error: %s\n", res->first_error);
}

static int cmd_load(int argc, char **argv)
{
    struct load_opts lo;
    struct load_url url;
    struct load_plan plan;
    struct load_input *in = NULL;
    struct load_worker *w = NULL;
    struct load_result res;
    struct load_run run;
    struct load_conn ctl;
    struct addrinfo hints, *addrs = NULL;
    int64_t *sorted = NULL, t0;
    char auth[1024] = "";
    const char *token = getenv("GYRE_TOKEN");
    size_t nin = 0, nsorted = 0;
    int ex, started = 0, e;
    enum gy_status rc;

    memset(&plan, 0, sizeof(plan));
    memset(&res, 0, sizeof(res));
    memset(&run, 0, sizeof(run));
    memset(&ctl, 0, sizeof(ctl));
    ctl.fd = -1;
    if ((ex = load_opts_parse(argc, argv, &lo)))
        return ex;
    if ((rc = load_url_parse(lo.url, &url))) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    if (token && *token) {
        if (strlen(token) > 512 || strpbrk(token, "\r\n")) {
            fprintf(stderr, "gyre: GYRE_TOKEN is longer than 512 bytes or holds a line break\n");
            return GY_EXIT_USAGE;
        }
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((e = getaddrinfo(url.host, url.port, &hints, &addrs)) != 0) {
        fprintf(stderr, "gyre: cannot resolve %s: %s\n", url.host, gai_strerror(e));
        return GY_EXIT_FAIL;
    }
    conn_init(&ctl, &url, addrs, auth, lo.timeout_ms);
    if ((rc = fetch_inputs(&ctl, lo.deployment, &in, &nin))) {
        ex = gy_cli_fail(rc, "model metadata");
        goto out;
    }
    if ((rc = plan_build(&lo, in, nin, &plan))) {
        ex = gy_cli_fail(rc, NULL);
        goto out;
    }
    run.lo = &lo;
    run.plan = &plan;
    run.url = &url;
    run.addrs = addrs;
    run.auth = auth;
    snprintf(run.path, sizeof run.path, "/v2/models/%s/infer", lo.deployment);
    atomic_init(&run.next, 0);
    if (!(run.lat_ns = gy_malloc(plan.n * sizeof(*run.lat_ns))) ||
        !(w = gy_calloc((size_t)lo.concurrency, sizeof(*w)))) {
        ex = gy_cli_fail(GY_E_NOMEM, NULL);
        goto out;
    }
    for (size_t i = 0; i < plan.n; i++)
        run.lat_ns[i] = -1;
    t0 = gy_time_mono_ns();
    for (; started < lo.concurrency; started++) {
        w[started].run = &run;
        if (pthread_create(&w[started].tid, NULL, worker_main, &w[started]) != 0)
            break;
    }
    if (started == 0) {
        fprintf(stderr, "gyre: cannot start a thread: %s\n", strerror(errno));
        ex = GY_EXIT_FAIL;
        goto out;
    }
    for (int k = 0; k < started; k++) {
        pthread_join(w[k].tid, NULL);
        merge_worker(&res, &w[k]);
    }
    res.seconds = (double)(gy_time_mono_ns() - t0) / 1e9;
    res.requests = plan.n;
    qsort(res.variants, res.nvariants, sizeof(res.variants[0]), cmp_variant);
    if (!(sorted = gy_malloc((plan.n ? plan.n : 1) * sizeof(*sorted)))) {
        ex = gy_cli_fail(GY_E_NOMEM, NULL);
        goto out;
    }
    for (size_t i = 0; i < plan.n; i++)
        if (run.lat_ns[i] >= 0)
            sorted[nsorted++] = run.lat_ns[i];
    qsort(sorted, nsorted, sizeof(*sorted), cmp_i64);
    if (nsorted) {
        double sum = 0;
        for (size_t i = 0; i < nsorted; i++)
            sum += (double)sorted[i];
        res.mean = (int64_t)(sum / (double)nsorted);
        res.p50 = load_percentile(sorted, nsorted, 0.50);
        res.p90 = load_percentile(sorted, nsorted, 0.90);
        res.p99 = load_percentile(sorted, nsorted, 0.99);
        res.max = sorted[nsorted - 1];
    }
    ex = res.ok ? GY_EXIT_OK : GY_EXIT_FAIL;
    if (lo.feedback && res.ok &&
        (rc = post_feedback(&ctl, &lo, &plan, run.lat_ns, &res.fb_posted, &res.fb_batches))) {
        print_result(&lo, &res);
        ex = gy_cli_fail(rc, "feedback");
        goto out;
    }
    print_result(&lo, &res);
    if (!res.ok)
        fprintf(stderr, "gyre: no request was answered%s%s\n", res.first_error[0] ? ": " : "",
                res.first_error);
out:
    conn_free(&ctl);
    if (addrs)
        freeaddrinfo(addrs);
    inputs_free(in, nin);
    plan_free(&plan);
    gy_free(run.lat_ns);
    gy_free(w);
    gy_free(sorted);
    return ex;
}

const struct gy_cli_cmd gy_cli_load_cmds[] = {
    {"load",
     "DEPLOYMENT --url URL --from DATASET[@V] [--offset K] [--rows N] [--concurrency C] "
     "[--id-prefix P] [--sticky-header NAME] [--label COLUMN [--feedback]] [--timeout-ms MS] "
     "[--json]",
     "send the rows of a dataset to a deployment as V2 infer requests over keep-alive "
     "connections; report variants, errors and latency percentiles; post the label column as "
     "feedback",
     cmd_load},
    {NULL, NULL, NULL, NULL},
};
