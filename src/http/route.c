/* SPDX-License-Identifier: MIT */
/*
 * route.c - the router: validates route tables when they are added (method, pattern syntax,
 * duplicates), and matches a request's method and raw path against them. Patterns are split
 * into literal, "{name}" and trailing "{*rest}" segments once; matching %-decodes the path's
 * segments, picks the most specific pattern, and tells 404 (no pattern) from 405 (a pattern,
 * but not for this method, with the Allow list). HEAD is served by GET routes.
 */
#include "http/http_int.h"

#include <string.h>

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int method_ok(const char *m)
{
    if (!m || !*m || strlen(m) > 16)
        return 0;
    for (; *m; m++)
        if (*m < 'A' || *m > 'Z')
            return 0;
    return 1;
}

static void segs_free(struct gy__http_seg *segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gy_free(segs[i].text);
    gy_free(segs);
}

/* Splits and validates one pattern. *out new (segs_free). */
static enum gy_status pattern_parse(const char *pattern, struct gy__http_seg **out, size_t *nout)
{
    struct gy__http_seg *segs = NULL;
    size_t n = 1, k = 0;
    const char *p;
    enum gy_status rc = GY_OK;

    *out = NULL;
    *nout = 0;
    if (!pattern || pattern[0] != '/')
        return gy_error_set(GY_E_INVALID, "pattern must start with '/'");
    for (p = pattern + 1; *p; p++)
        n += *p == '/';
    segs = gy_calloc(n, sizeof *segs);
    if (!segs)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    p = pattern + 1;
    for (k = 0; k < n; k++) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            int rest = p[1] == '*';
            const char *nm = p + 1 + rest;
            size_t nlen = len - 2 - (size_t)rest;
            if (!name_ok(nm, nlen)) {
                rc = gy_error_set(GY_E_INVALID, "bad capture name \"%.*s\"", (int)len, p);
                goto out;
            }
            if (rest && k != n - 1) {
                rc = gy_error_set(GY_E_INVALID, "\"%.*s\" must be the last segment", (int)len, p);
                goto out;
            }
            for (size_t j = 0; j < k; j++) {
                if (segs[j].kind != GY__SEG_LIT && strlen(segs[j].text) == nlen &&
                    memcmp(segs[j].text, nm, nlen) == 0) {
                    rc =
                        gy_error_set(GY_E_INVALID, "capture \"%.*s\" appears twice", (int)nlen, nm);
                    goto out;
                }
            }
            segs[k].kind = rest ? GY__SEG_REST : GY__SEG_CAP;
            segs[k].text = gy_strndup(nm, nlen);
            segs[k].len = nlen;
        } else {
            if (strcspn(p, "{}%?#") < len) {
                rc = gy_error_set(GY_E_INVALID, "bad literal segment \"%.*s\"", (int)len, p);
                goto out;
            }
            segs[k].kind = GY__SEG_LIT;
            segs[k].text = gy_strndup(p, len);
            segs[k].len = len;
        }
        if (!segs[k].text) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        p = end ? end + 1 : p + len;
    }
out:
    if (rc) {
        segs_free(segs, n);
        return rc;
    }
    *out = segs;
    *nout = n;
    return GY_OK;
}

/* Same method and the same shape (kinds and literals; capture names do not matter). */
static int same_route(const struct gy__http_rt *a, const struct gy_http_route *route,
                      const struct gy__http_seg *segs, size_t nsegs)
{
    if (strcmp(a->route->method, route->method) != 0 || a->nsegs != nsegs)
        return 0;
    for (size_t i = 0; i < nsegs; i++) {
        if (a->segs[i].kind != segs[i].kind)
            return 0;
        if (segs[i].kind == GY__SEG_LIT && strcmp(a->segs[i].text, segs[i].text) != 0)
            return 0;
    }
    return 1;
}

enum gy_status gy__http_router_add(struct gy__http_router *r, const struct gy_http_route *routes,
                                   size_t n, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const struct gy_http_route *rt = &routes[i];
        struct gy__http_seg *segs;
        size_t nsegs;
        enum gy_status rc;
        if (!method_ok(rt->method))
            return gy_error_set(GY_E_INVALID, "route %zu (%s): bad method \"%s\"", i,
                                rt->pattern ? rt->pattern : "?", rt->method ? rt->method : "");
        if (!rt->fn)
            return gy_error_set(GY_E_INVALID, "route %s %s: no handler", rt->method,
                                rt->pattern ? rt->pattern : "?");
        if ((rc = pattern_parse(rt->pattern, &segs, &nsegs)))
            return gy_error_wrap(rc, "route %s %s", rt->method, rt->pattern ? rt->pattern : "?");
        for (size_t j = 0; j < r->n; j++) {
            if (same_route(&r->v[j], rt, segs, nsegs)) {
                segs_free(segs, nsegs);
                return gy_error_set(GY_E_EXISTS, "route %s %s is registered twice (as %s)",
                                    rt->method, rt->pattern, r->v[j].route->pattern);
            }
        }
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 32;
            struct gy__http_rt *v = gy_realloc(r->v, cap * sizeof *v);
            if (!v) {
                segs_free(segs, nsegs);
                return gy_error_set(GY_E_NOMEM, "out of memory");
            }
            r->v = v;
            r->cap = cap;
        }
        r->v[r->n].route = rt;
        r->v[r->n].ctx = ctx;
        r->v[r->n].segs = segs;
        r->v[r->n].nsegs = nsegs;
        r->v[r->n].rest = nsegs && segs[nsegs - 1].kind == GY__SEG_REST;
        r->n++;
    }
    return GY_OK;
}

void gy__http_router_free(struct gy__http_router *r)
{
    for (size_t i = 0; i < r->n; i++)
        segs_free(r->v[i].segs, r->v[i].nsegs);
    gy_free(r->v);
    memset(r, 0, sizeof *r);
}

/*
 * The request path split at '/': raw pieces and their decoded forms. A segment without '%'
 * decodes to itself, so dec[i] then points into the path (not NUL-terminated: use declen);
 * only segments with escapes are decoded into the arena. Paths of up to PATH_SEGS segments
 * use the arrays on the stack.
 */
#define PATH_SEGS 16
struct path_segs {
    size_t n;
    const char **raw; /* start of each raw segment inside the path */
    size_t *rawlen;
    const char **dec;
    size_t *declen;
};

static int rt_matches(const struct gy__http_rt *rt, const struct path_segs *ps)
{
    /* Most routes differ from the path in their segment count: no byte compared then. */
    if (rt->rest ? ps->n < rt->nsegs : ps->n != rt->nsegs)
        return 0;
    for (size_t i = 0; i < rt->nsegs; i++) {
        const struct gy__http_seg *s = &rt->segs[i];
        if (i >= ps->n)
            return 0;
        if (s->kind == GY__SEG_REST)
            return 1;
        if (s->kind == GY__SEG_CAP) {
            if (ps->declen[i] == 0)
                return 0;
        } else if (s->len != ps->declen[i] || memcmp(s->text, ps->dec[i], s->len) != 0) {
            return 0;
        }
    }
    return rt->nsegs == ps->n;
}

/* < 0 when a is more specific than b. */
static int specificity_cmp(const struct gy__http_rt *a, const struct gy__http_rt *b)
{
    size_t n = GY_MIN(a->nsegs, b->nsegs);
    for (size_t i = 0; i < n; i++)
        if (a->segs[i].kind != b->segs[i].kind)
            return (int)a->segs[i].kind - (int)b->segs[i].kind;
    return 0;
}

static void allow_add(char *allow, size_t cap, const char *m)
{
    size_t len = strlen(allow), mlen = strlen(m);
    const char *p = allow;
    while ((p = strstr(p, m)) != NULL) {
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return; /* already listed */
        p += mlen;
    }
    if (len + mlen + 3 > cap)
        return;
    if (len) {
        memcpy(allow + len, ", ", 2);
        len += 2;
    }
    memcpy(allow + len, m, mlen + 1);
}

enum gy_status gy__http_router_match(const struct gy__http_router *r, struct gy_arena *a,
                                     const char *method, const char *path, struct gy__http_match *m)
{
    const char *raw_s[PATH_SEGS], *dec_s[PATH_SEGS];
    size_t rawlen_s[PATH_SEGS], declen_s[PATH_SEGS];
    struct path_segs ps = {0, raw_s, rawlen_s, dec_s, declen_s};
    const struct gy__http_rt *best = NULL;
    int any = 0, head = strcmp(method, "HEAD") == 0;
    const char *p;
    enum gy_status rc;

    memset(m, 0, sizeof *m);
    if (!path || path[0] != '/')
        return gy_error_set(GY_E_INVALID, "the request path must start with '/'");
    ps.n = 1;
    for (p = path + 1; *p; p++)
        ps.n += *p == '/';
    if (ps.n > PATH_SEGS) {
        ps.raw = gy_arena_alloc(a, ps.n * sizeof *ps.raw);
        ps.rawlen = gy_arena_alloc(a, ps.n * sizeof *ps.rawlen);
        ps.dec = gy_arena_alloc(a, ps.n * sizeof *ps.dec);
        ps.declen = gy_arena_alloc(a, ps.n * sizeof *ps.declen);
        if (!ps.raw || !ps.rawlen || !ps.dec || !ps.declen)
            return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    p = path + 1;
    for (size_t i = 0; i < ps.n; i++) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        ps.raw[i] = p;
        ps.rawlen[i] = len;
        if (memchr(p, '%', len)) {
            char *d;
            if ((rc = gy__http_pct_decode(a, p, len, 0, &d, &ps.declen[i])))
                return gy_error_wrap(rc, "request path");
            ps.dec[i] = d;
        } else {
            ps.dec[i] = p;
            ps.declen[i] = len;
        }
        p = end ? end + 1 : p + len;
    }

    for (size_t i = 0; i < r->n; i++) {
        const struct gy__http_rt *rt = &r->v[i];
        int mok;
        if (!rt_matches(rt, &ps))
            continue;
        any = 1;
        allow_add(m->allow, sizeof m->allow, rt->route->method);
        if (strcmp(rt->route->method, "GET") == 0)
            allow_add(m->allow, sizeof m->allow, "HEAD");
        mok = strcmp(rt->route->method, method) == 0 ||
              (head && strcmp(rt->route->method, "GET") == 0);
        if (!mok)
            continue;
        if (!best) {
            best = rt;
        } else {
            int c = specificity_cmp(rt, best);
            /* On a tie an explicit HEAD route beats a GET route serving HEAD. */
            if (c < 0 || (c == 0 && head && strcmp(rt->route->method, "HEAD") == 0 &&
                          strcmp(best->route->method, "HEAD") != 0))
                best = rt;
        }
    }
    if (!best) {
        if (any)
            return GY_DECLINED;
        return GY_NOT_FOUND;
    }
    m->allow[0] = '\0';
    m->rt = best;
    for (size_t i = 0; i < best->nsegs; i++) {
        const struct gy__http_seg *s = &best->segs[i];
        char *raw, *dec = NULL;
        if (s->kind == GY__SEG_LIT)
            continue;
        if (s->kind == GY__SEG_CAP) {
            raw = gy_arena_strndup(a, ps.raw[i], ps.rawlen[i]);
            /* A decoded segment is an arena string already; an undecoded one is raw. */
            dec = ps.dec[i] == ps.raw[i] ? raw : (char *)ps.dec[i];
        } else {
            raw = gy_arena_strdup(a, ps.raw[i]);
            if (raw && (rc = gy__http_pct_decode(a, raw, strlen(raw), 0, &dec, NULL)))
                return gy_error_wrap(rc, "request path");
        }
        if (!raw)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        if ((rc = gy__http_kv_add(a, &m->caps, s->text, dec)) ||
            (rc = gy__http_kv_add(a, &m->caps_raw, s->text, raw)))
            return rc;
    }
    return GY_OK;
}
