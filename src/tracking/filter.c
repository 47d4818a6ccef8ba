/* SPDX-License-Identifier: MIT */
/*
 * filter.c - the hand-written parser of MLflow's search filter and order_by syntax, and the
 * LIKE translation shared by every search.
 *
 * Grammar (keywords case-insensitive):
 *
 *   filter     := cond ( AND cond )*
 *   cond       := identifier comparator value
 *   identifier := [ prefix "." ] key | quoted
 *   prefix     := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run
 *                 | dataset(s)
 *   key        := quoted | [A-Za-z0-9_.:/-]+ (and non-ASCII bytes)
 *   quoted     := "..." | `...`
 *   comparator := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
 *   value      := string | number | "(" string ( "," string )* ")"
 *   string     := '...' | "..."    (a doubled quote stands for one quote)
 *   number     := [+-] digits [ "." digits ] [ (e|E) [+-] digits ]   (or "." digits)
 *
 * Errors name the 1-based column and what was expected. Which identifiers, comparators and
 * value types are allowed is checked by each search, which knows its entities.
 */
#include "tracking/tracking_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct lex {
    const char *text;
    const char *p;
    const char *what; /* "filter" or "order_by" */
};

static size_t col_of(const struct lex *lx, const char *at)
{
    return (size_t)(at - lx->text) + 1;
}

/* GY_E_INVALID "<what>: at column N: expected X, found 'Y'". */
static enum gy_status expected(const struct lex *lx, const char *at, const char *what)
{
    size_t n = 0;
    while (at[n] && n < 24)
        n++;
    if (!*at)
        return gy_error_set(GY_E_INVALID, "%s: at column %zu: expected %s, found end of input",
                            lx->what, col_of(lx, at), what);
    return gy_error_set(GY_E_INVALID, "%s: at column %zu: expected %s, found '%.*s%s'", lx->what,
                        col_of(lx, at), what, (int)n, at, at[n] ? "..." : "");
}

static void skip_ws(struct lex *lx)
{
    while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r')
        lx->p++;
}

static int word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static int key_char(char c)
{
    return word_char(c) || c == '.' || c == '-' || c == ':' || c == '/' || (unsigned char)c >= 0x80;
}

/* True when the text at p is keyword @p kw (case-insensitive) not followed by a word char. */
static int at_keyword(const char *p, const char *kw)
{
    size_t n = strlen(kw);
    return strncasecmp(p, kw, n) == 0 && !word_char(p[n]);
}

/*
 * Reads a quoted token starting at lx->p (quote char q): a doubled quote stands for one.
 * *out new. GY_E_INVALID for an unterminated quote.
 */
static enum gy_status read_quoted(struct lex *lx, char **out)
{
    char q = *lx->p;
    const char *start = lx->p;
    struct gy_buf b;
    gy_buf_init(&b, GY_TRACKING_FILTER_MAX);
    lx->p++;
    for (;;) {
        if (!*lx->p) {
            gy_buf_free(&b);
            return gy_error_set(GY_E_INVALID, "%s: at column %zu: unterminated quote %c", lx->what,
                                col_of(lx, start), q);
        }
        if (*lx->p == q) {
            if (lx->p[1] == q) {
                lx->p += 2;
                if (gy_buf_putc(&b, q))
                    goto nomem;
                continue;
            }
            lx->p++;
            break;
        }
        if (gy_buf_putc(&b, *lx->p++))
            goto nomem;
    }
    /* An empty append NUL-terminates even a buffer that never grew (reserve alone does not). */
    if (gy_buf_append(&b, "", 0))
        goto nomem;
    *out = gy_buf_detach(&b, NULL);
    return *out ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
nomem:
    gy_buf_free(&b);
    return gy_error_set(GY_E_NOMEM, "out of memory parsing the %s", lx->what);
}

static const struct {
    const char *name;
    enum gy_tracking_entity entity;
} prefixes[] = {
    {"metric", GY_TRACKING_ENT_METRIC},
    {"metrics", GY_TRACKING_ENT_METRIC},
    {"param", GY_TRACKING_ENT_PARAM},
    {"params", GY_TRACKING_ENT_PARAM},
    {"parameter", GY_TRACKING_ENT_PARAM},
    {"parameters", GY_TRACKING_ENT_PARAM},
    {"tag", GY_TRACKING_ENT_TAG},
    {"tags", GY_TRACKING_ENT_TAG},
    {"attribute", GY_TRACKING_ENT_ATTRIBUTE},
    {"attributes", GY_TRACKING_ENT_ATTRIBUTE},
    {"attr", GY_TRACKING_ENT_ATTRIBUTE},
    {"run", GY_TRACKING_ENT_ATTRIBUTE},
    {"dataset", GY_TRACKING_ENT_DATASET},
    {"datasets", GY_TRACKING_ENT_DATASET},
};

/* Attribute spellings MLflow accepts for the same column. */
static enum gy_status normalize_attr(char **key)
{
    const char *to = NULL;
    if (strcmp(*key, "run name") == 0 || strcmp(*key, "Run name") == 0 ||
        strcmp(*key, "Run Name") == 0)
        to = "run_name";
    else if (strcmp(*key, "created") == 0 || strcmp(*key, "Created") == 0)
        to = "start_time";
    if (to) {
        char *n = gy_strdup(to);
        if (!n)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        gy_free(*key);
        *key = n;
    }
    return GY_OK;
}

/* Reads an identifier into *entity and *key (new). */
static enum gy_status read_ident(struct lex *lx, enum gy_tracking_entity *entity, char **key)
{
    const char *start = lx->p;
    enum gy_status rc;
    *key = NULL;
    if (*lx->p == '"' || *lx->p == '`') {
        *entity = GY_TRACKING_ENT_ATTRIBUTE;
        rc = read_quoted(lx, key);
        return rc ? rc : normalize_attr(key);
    }
    if (!word_char(*lx->p))
        return expected(lx, lx->p,
                        "an identifier (metrics.<key>, params.<key>, tags.<key>, an attribute "
                        "or datasets.<field>)");
    while (word_char(*lx->p))
        lx->p++;
    if (*lx->p != '.') {
        /* An unprefixed name is an attribute. */
        *entity = GY_TRACKING_ENT_ATTRIBUTE;
        *key = gy_strndup(start, (size_t)(lx->p - start));
        if (!*key)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        return normalize_attr(key);
    }
    {
        size_t n = (size_t)(lx->p - start), i;
        for (i = 0; i < GY_ARRAY_LEN(prefixes); i++)
            if (strlen(prefixes[i].name) == n && strncasecmp(start, prefixes[i].name, n) == 0)
                break;
        if (i == GY_ARRAY_LEN(prefixes))
            return gy_error_set(GY_E_INVALID,
                                "%s: at column %zu: invalid identifier type '%.*s' (expected "
                                "metrics, params, tags, attributes or datasets)",
                                lx->what, col_of(lx, start), (int)GY_MIN(n, (size_t)40), start);
        *entity = prefixes[i].entity;
    }
    lx->p++; /* the '.' */
    if (*lx->p == '"' || *lx->p == '`') {
        rc = read_quoted(lx, key);
    } else {
        const char *k = lx->p;
        while (key_char(*lx->p))
            lx->p++;
        if (lx->p == k)
            return expected(lx, lx->p, "a key after the '.' (quote it with \"...\" or `...`)");
        *key = gy_strndup(k, (size_t)(lx->p - k));
        rc = *key ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if (rc == GY_OK && !**key) {
        gy_free(*key);
        *key = NULL;
        return gy_error_set(GY_E_INVALID, "%s: at column %zu: empty key", lx->what,
                            col_of(lx, start));
    }
    if (rc == GY_OK && *entity == GY_TRACKING_ENT_ATTRIBUTE)
        rc = normalize_attr(key);
    return rc;
}

static enum gy_status read_op(struct lex *lx, enum gy_tracking_op *op)
{
    const char *p = lx->p;
    if (p[0] == '!' && p[1] == '=') {
        *op = GY_TRACKING_OP_NE;
        lx->p += 2;
    } else if (p[0] == '<' && p[1] == '=') {
        *op = GY_TRACKING_OP_LE;
        lx->p += 2;
    } else if (p[0] == '>' && p[1] == '=') {
        *op = GY_TRACKING_OP_GE;
        lx->p += 2;
    } else if (p[0] == '=') {
        *op = GY_TRACKING_OP_EQ;
        lx->p += 1;
    } else if (p[0] == '<') {
        *op = GY_TRACKING_OP_LT;
        lx->p += 1;
    } else if (p[0] == '>') {
        *op = GY_TRACKING_OP_GT;
        lx->p += 1;
    } else if (at_keyword(p, "LIKE")) {
        *op = GY_TRACKING_OP_LIKE;
        lx->p += 4;
    } else if (at_keyword(p, "ILIKE")) {
        *op = GY_TRACKING_OP_ILIKE;
        lx->p += 5;
    } else if (at_keyword(p, "IN")) {
        *op = GY_TRACKING_OP_IN;
        lx->p += 2;
    } else if (at_keyword(p, "NOT")) {
        lx->p += 3;
        skip_ws(lx);
        if (!at_keyword(lx->p, "IN"))
            return expected(lx, lx->p, "IN after NOT");
        *op = GY_TRACKING_OP_NOT_IN;
        lx->p += 2;
    } else {
        return expected(lx, p, "a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)");
    }
    return GY_OK;
}

/* Reads a numeric literal into *out; GY_DECLINED when the text is not one. */
static enum gy_status read_number(struct lex *lx, double *out)
{
    const char *p = lx->p, *start = lx->p;
    char buf[128];
    char *end = NULL;
    int digits = 0;
    if (*p == '+' || *p == '-')
        p++;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
    }
    if (!digits)
        return GY_DECLINED;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '+' || *q == '-')
            q++;
        if (!isdigit((unsigned char)*q))
            return expected(lx, q, "digits of the exponent");
        while (isdigit((unsigned char)*q))
            q++;
        p = q;
    }
    if (word_char(*p) || *p == '.')
        return expected(lx, p, "the end of the number");
    if ((size_t)(p - start) >= sizeof buf)
        return gy_error_set(GY_E_INVALID, "%s: at column %zu: number too long", lx->what,
                            col_of(lx, start));
    memcpy(buf, start, (size_t)(p - start));
    buf[p - start] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    if (*end || !isfinite(*out))
        return gy_error_set(GY_E_INVALID, "%s: at column %zu: number out of range", lx->what,
                            col_of(lx, start));
    lx->p = p;
    return GY_OK;
}

static void cond_clear(struct gy_tracking_cond *c)
{
    gy_free(c->key);
    gy_free(c->str);
    for (size_t i = 0; i < c->nlist; i++)
        gy_free(c->list[i]);
    gy_free(c->list);
    memset(c, 0, sizeof *c);
}

static enum gy_status read_list(struct lex *lx, struct gy_tracking_cond *c)
{
    size_t cap = 0;
    if (*lx->p != '(')
        return expected(lx, lx->p, "'(' starting a list of quoted strings");
    lx->p++;
    for (;;) {
        char *v = NULL;
        enum gy_status rc;
        skip_ws(lx);
        if (*lx->p != '\'' && *lx->p != '"')
            return expected(lx, lx->p, "a quoted string in the list");
        if ((rc = read_quoted(lx, &v)))
            return rc;
        if (c->nlist == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            char **nl = gy_realloc(c->list, ncap * sizeof *nl);
            if (!nl) {
                gy_free(v);
                return gy_error_set(GY_E_NOMEM, "out of memory");
            }
            c->list = nl;
            cap = ncap;
        }
        c->list[c->nlist++] = v;
        skip_ws(lx);
        if (*lx->p == ',') {
            lx->p++;
            continue;
        }
        if (*lx->p == ')') {
            lx->p++;
            return GY_OK;
        }
        return expected(lx, lx->p, "',' or ')' in the list");
    }
}

static enum gy_status read_cond(struct lex *lx, struct gy_tracking_cond *c)
{
    enum gy_status rc;
    c->pos = (size_t)(lx->p - lx->text);
    if (*lx->p == '(')
        return gy_error_set(GY_E_INVALID,
                            "filter: at column %zu: parentheses are not supported (conditions "
                            "are joined with AND only)",
                            col_of(lx, lx->p));
    if ((rc = read_ident(lx, &c->entity, &c->key)))
        return rc;
    skip_ws(lx);
    if ((rc = read_op(lx, &c->op)))
        return rc;
    skip_ws(lx);
    if (c->op == GY_TRACKING_OP_IN || c->op == GY_TRACKING_OP_NOT_IN)
        return read_list(lx, c);
    if (*lx->p == '\'' || *lx->p == '"')
        return read_quoted(lx, &c->str);
    rc = read_number(lx, &c->num);
    if (rc == GY_DECLINED)
        return expected(lx, lx->p, "a quoted string or a number");
    if (rc == GY_OK)
        c->is_num = 1;
    return rc;
}

enum gy_status gy_tracking_filter_parse(const char *text, struct gy_tracking_filter **out)
{
    struct lex lx = {text ? text : "", text ? text : "", "filter"};
    struct gy_tracking_filter *f;
    size_t cap = 0;
    enum gy_status rc = GY_OK;
    *out = NULL;
    if (text && strlen(text) > GY_TRACKING_FILTER_MAX)
        return gy_error_set(GY_E_TOO_LARGE, "filter: longer than %d bytes", GY_TRACKING_FILTER_MAX);
    f = gy_calloc(1, sizeof *f);
    if (!f)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    skip_ws(&lx);
    while (*lx.p) {
        if (f->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct gy_tracking_cond *nc = gy_realloc(f->conds, ncap * sizeof *nc);
            if (!nc) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                break;
            }
            f->conds = nc;
            cap = ncap;
        }
        memset(&f->conds[f->n], 0, sizeof f->conds[f->n]);
        f->n++;
        if ((rc = read_cond(&lx, &f->conds[f->n - 1])))
            break;
        skip_ws(&lx);
        if (!*lx.p)
            break;
        if (at_keyword(lx.p, "OR")) {
            rc = gy_error_set(GY_E_INVALID,
                              "filter: at column %zu: OR is not supported (conditions are joined "
                              "with AND only)",
                              col_of(&lx, lx.p));
            break;
        }
        if (!at_keyword(lx.p, "AND")) {
            rc = expected(&lx, lx.p, "AND or the end of the filter");
            break;
        }
        lx.p += 3;
        skip_ws(&lx);
        if (!*lx.p) {
            rc = expected(&lx, lx.p, "a condition after AND");
            break;
        }
    }
    if (rc) {
        gy_tracking_filter_free(f);
        return rc;
    }
    *out = f;
    return GY_OK;
}

void gy_tracking_filter_free(struct gy_tracking_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        cond_clear(&f->conds[i]);
    gy_free(f->conds);
    gy_free(f);
}

enum gy_status gy_tracking_order_parse(const char *text, struct gy_tracking_order *out)
{
    struct lex lx = {text ? text : "", text ? text : "", "order_by"};
    enum gy_status rc;
    memset(out, 0, sizeof *out);
    skip_ws(&lx);
    if ((rc = read_ident(&lx, &out->entity, &out->key)))
        goto fail;
    skip_ws(&lx);
    if (at_keyword(lx.p, "ASC")) {
        lx.p += 3;
    } else if (at_keyword(lx.p, "DESC")) {
        out->desc = 1;
        lx.p += 4;
    }
    skip_ws(&lx);
    if (*lx.p) {
        rc = expected(&lx, lx.p, "ASC, DESC or the end of the order_by entry");
        goto fail;
    }
    return GY_OK;
fail:
    gy_free(out->key);
    memset(out, 0, sizeof *out);
    return rc;
}

const char *gy_tracking_op_str(enum gy_tracking_op op)
{
    switch (op) {
    case GY_TRACKING_OP_EQ:
        return "=";
    case GY_TRACKING_OP_NE:
        return "!=";
    case GY_TRACKING_OP_LT:
        return "<";
    case GY_TRACKING_OP_LE:
        return "<=";
    case GY_TRACKING_OP_GT:
        return ">";
    case GY_TRACKING_OP_GE:
        return ">=";
    case GY_TRACKING_OP_LIKE:
        return "LIKE";
    case GY_TRACKING_OP_ILIKE:
        return "ILIKE";
    case GY_TRACKING_OP_IN:
        return "IN";
    case GY_TRACKING_OP_NOT_IN:
        return "NOT IN";
    }
    return "";
}

enum gy_status gy_tracking_like_to_glob(const char *like, char **out)
{
    struct gy_buf b;
    enum gy_status rc = GY_OK;
    gy_buf_init(&b, (size_t)4 * GY_TRACKING_FILTER_MAX + 16);
    *out = NULL;
    rc = gy_buf_append(&b, "", 0); /* allocated and NUL-terminated even for "" */
    for (const char *p = like; rc == GY_OK && *p; p++) {
        switch (*p) {
        case '%':
            rc = gy_buf_putc(&b, '*');
            break;
        case '_':
            rc = gy_buf_putc(&b, '?');
            break;
        case '*':
            rc = gy_buf_puts(&b, "[*]");
            break;
        case '?':
            rc = gy_buf_puts(&b, "[?]");
            break;
        case '[':
            rc = gy_buf_puts(&b, "[[]");
            break;
        default:
            rc = gy_buf_putc(&b, *p);
            break;
        }
    }
    if (rc) {
        gy_buf_free(&b);
        return gy_error_set(rc, "LIKE pattern too long");
    }
    *out = gy_buf_detach(&b, NULL);
    return GY_OK;
}

enum gy_status gy_tracking_sql_like(enum gy_db_kind kind, const char *expr, enum gy_tracking_op op,
                                    const char *pattern, int param, struct gy_buf *sql,
                                    char **bound)
{
    enum gy_status rc;
    *bound = NULL;
    if (op != GY_TRACKING_OP_LIKE && op != GY_TRACKING_OP_ILIKE)
        return gy_error_set(GY_E_INTERNAL, "gy_tracking_sql_like: not a LIKE operator");
    if (kind == GY_DB_SQLITE) {
        /* SQLite's LIKE ignores ASCII case and has no escape character unless told. */
        if (op == GY_TRACKING_OP_LIKE) {
            rc = gy_tracking_like_to_glob(pattern, bound);
            if (rc == GY_OK)
                rc = gy_buf_printf(sql, "%s GLOB $%d", expr, param);
        } else {
            *bound = gy_strdup(pattern);
            rc = *bound ? gy_buf_printf(sql, "%s LIKE $%d", expr, param)
                        : gy_error_set(GY_E_NOMEM, "out of memory");
        }
    } else {
        /* PostgreSQL's LIKE is case-sensitive; ESCAPE '' matches SQLite: no escape char. */
        *bound = gy_strdup(pattern);
        rc = *bound ? gy_buf_printf(sql, "%s %s $%d ESCAPE ''", expr,
                                    op == GY_TRACKING_OP_LIKE ? "LIKE" : "ILIKE", param)
                    : gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if (rc) {
        gy_free(*bound);
        *bound = NULL;
    }
    return rc;
}
