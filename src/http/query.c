/* SPDX-License-Identifier: MIT */
/*
 * query.c - the pure text side of HTTP: %-decoding of paths and query strings, query-string
 * parsing into ordered key/value lists, case-insensitive header lookup, request ids, header
 * token checks, and the one table that maps gyre statuses to HTTP statuses (STYLE rule 8)
 * with the reason phrases. No libmicrohttpd here: everything is unit-tested directly.
 */
#include "http/http_int.h"

#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* ------------------------------------------------------------------ key/value lists */

enum gy_status gy__http_kv_add(struct gy_arena *a, struct gy__http_kvlist *l, const char *key,
                               const char *val)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct gy__http_kv *v = gy_arena_alloc(a, cap * sizeof *v);
        if (!v)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v; /* the old array stays in the arena until the request ends */
        l->cap = cap;
    }
    l->v[l->n].key = key;
    l->v[l->n].val = val;
    l->n++;
    return GY_OK;
}

const char *gy__http_kv_find(const struct gy__http_kvlist *l, const char *key, int nocase)
{
    for (size_t i = 0; i < l->n; i++)
        if ((nocase ? strcasecmp(l->v[i].key, key) : strcmp(l->v[i].key, key)) == 0)
            return l->v[i].val;
    return NULL;
}

/* ------------------------------------------------------------------ decoding */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum gy_status gy__http_pct_decode(struct gy_arena *a, const char *s, size_t n, int plus_space,
                                   char **out, size_t *outlen)
{
    char *d = gy_arena_alloc(a, n + 1);
    size_t j = 0;
    *out = NULL;
    if (!d)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return gy_error_set(GY_E_INVALID,
                                    "bad %%-escape \"%.*s\" (a '%%' must be followed by two hex "
                                    "digits)",
                                    (int)GY_MIN(n - i, (size_t)3), s + i);
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return gy_error_set(GY_E_INVALID, "escaped NUL (%%00) is not allowed");
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == '\0') {
            return gy_error_set(GY_E_INVALID, "NUL byte is not allowed");
        }
        d[j++] = c;
    }
    d[j] = '\0';
    *out = d;
    if (outlen)
        *outlen = j;
    return GY_OK;
}

enum gy_status gy__http_query_parse(struct gy_arena *a, const char *qs, struct gy__http_kvlist *out)
{
    const char *p = qs;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *k, *v;
        enum gy_status rc;
        if (len > 0) {
            rc = gy__http_pct_decode(a, p, klen, 1, &k, NULL);
            if (rc)
                return gy_error_wrap(rc, "query parameter \"%.*s\"", (int)GY_MIN(klen, 64u), p);
            if (eq) {
                rc = gy__http_pct_decode(a, eq + 1, len - klen - 1, 1, &v, NULL);
                if (rc)
                    return gy_error_wrap(rc, "query parameter \"%s\"", k);
            } else {
                v = gy_arena_strdup(a, "");
                if (!v)
                    return gy_error_set(GY_E_NOMEM, "out of memory");
            }
            if ((rc = gy__http_kv_add(a, out, k, v)))
                return rc;
        }
        p = amp ? amp + 1 : NULL;
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ ids and tokens */

int gy__http_request_id_ok(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= 128)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return n > 0;
}

/*
 * Request ids are unique, not secret: each thread draws a 128-bit seed once (getrandom) and
 * then numbers its requests. splitmix64's finalizer is a bijection, so within a thread two
 * counters never give the same id, and threads differ by their seeds. No system call per
 * request (a getrandom per request was 3% of a small request's CPU time).
 */
void gy__http_request_id_new(char out[33])
{
    static _Thread_local uint64_t seed[2];
    static _Thread_local uint64_t counter;
    static _Thread_local int seeded;
    uint64_t c, a, b;
    uint8_t r[16];
    if (!seeded) {
        if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
            /* No entropy yet (early boot): mix the clocks and a process-wide counter. */
            static atomic_ullong threads;
            seed[0] = gy_mix64((uint64_t)gy_time_wall_us());
            seed[1] = gy_mix64((uint64_t)gy_time_mono_ns() ^
                               ((uint64_t)atomic_fetch_add(&threads, 1) << 1));
        }
        seeded = 1;
    }
    c = ++counter;
    a = gy_mix64(seed[0] + c);
    b = gy_mix64(seed[1] ^ (c * 0x9E3779B97F4A7C15ull));
    memcpy(r, &a, 8);
    memcpy(r + 8, &b, 8);
    gy_hex_encode(r, sizeof r, out);
}

int gy__http_token_ok(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr(extra, c))))
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ status tables */

/* The one place where a gyre status becomes an HTTP status: one entry per status. */
static const struct {
    enum gy_status s;
    int http;
} status_map[] = {
    {GY_OK, 200},         {GY_AGAIN, 503},         {GY_DECLINED, 404},    {GY_NOT_FOUND, 404},
    {GY_E_NOMEM, 500},    {GY_E_INVALID, 400},     {GY_E_TOO_LARGE, 413}, {GY_E_IO, 500},
    {GY_E_CORRUPT, 500},  {GY_E_BUSY, 503},        {GY_E_EXISTS, 409},    {GY_E_SCHEMA, 400},
    {GY_E_DB, 500},       {GY_E_UNSUPPORTED, 400}, {GY_E_INTERNAL, 500},  {GY_E_PERM, 403},
    {GY_E_CONFLICT, 409},
};

int gy_http_status_from(enum gy_status s)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(status_map); i++)
        if (status_map[i].s == s)
            return status_map[i].http;
    return 500;
}

static const struct {
    int code;
    const char *reason;
} reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *gy_http_reason(int http_status)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(reasons); i++)
        if (reasons[i].code == http_status)
            return reasons[i].reason;
    return "Unknown";
}
