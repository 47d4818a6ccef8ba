/* SPDX-License-Identifier: MIT */
/*
 * spec.c - pipeline specs: the YAML reader (libyaml events, with line numbers from the event
 * marks), the canonical JSON form in both directions, and the field-by-field validation both
 * forms share, plus durations ("14d") and gate operators.
 *
 * Both inputs are first turned into the same small tree of nodes (mapping, sequence, scalar
 * with a resolved type and the line it came from; JSON nodes have line 0), so one validator
 * reads either and every error reads "line L: path.to.field: what is wrong" (YAML) or
 * "path.to.field: what is wrong" (JSON). The tree lives in a scratch arena; the spec and all
 * its strings live in a second arena that gy_pipeline_spec_free releases at once.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pipeline/pipeline.h"
#include "registry/registry.h"
#include "features/features.h"
#include "train/train.h"

#define MAX_ITEMS 10000 /* entries of one mapping or sequence */
#define MAX_DURATION_US (3650LL * 86400 * 1000000)
#define MAX_COLUMN 256
#define MAX_EXPERIMENT 500
#define PATH_MAX_LEN 256

/* The spec and the arena that owns it and all its strings. */
struct holder {
    struct gy_pipeline_spec spec; /* first: gy_pipeline_spec_free casts back */
    struct gy_arena *arena;
};

/* ------------------------------------------------------------------ node tree */

enum nkind { N_SCALAR, N_MAP, N_SEQ };
enum stype { S_STR, S_NULL, S_BOOL, S_INT, S_REAL };

struct node {
    enum nkind kind;
    enum stype stype;   /* scalars */
    int bval;           /* S_BOOL */
    const char *text;   /* scalars: NUL-terminated text */
    long line;          /* 1-based YAML line (of the key for mapping values); 0 for JSON */
    const json_t *json; /* the JSON value this node came from, or NULL */
    const char **keys;  /* N_MAP */
    long *key_lines;    /* N_MAP */
    struct node **vals; /* N_MAP and N_SEQ */
    size_t n, cap;
};

static enum gy_status nomem(void)
{
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

static enum gy_status node_add(struct gy_arena *a, struct node *p, const char *key, long key_line,
                               struct node *v)
{
    if (p->n == MAX_ITEMS)
        return GY_E_TOO_LARGE;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct node **vals = gy_arena_alloc(a, cap * sizeof(*vals));
        const char **keys = gy_arena_alloc(a, cap * sizeof(*keys));
        long *lines = gy_arena_alloc(a, cap * sizeof(*lines));
        if (!vals || !keys || !lines)
            return GY_E_NOMEM;
        if (p->n) {
            memcpy(vals, p->vals, p->n * sizeof(*vals));
            memcpy(keys, p->keys, p->n * sizeof(*keys));
            memcpy(lines, p->key_lines, p->n * sizeof(*lines));
        }
        p->vals = vals;
        p->keys = keys;
        p->key_lines = lines;
        p->cap = cap;
    }
    p->vals[p->n] = v;
    p->keys[p->n] = key;
    p->key_lines[p->n] = key_line;
    p->n++;
    return GY_OK;
}

/* A decimal number: [-+]? (digits [. digits?] | . digits) ([eE] [-+]? digits)? */
static int is_decimal(const char *s, int *is_int)
{
    const char *p = s;
    int digits = 0, frac = 0, exp = 0;
    if (*p == '-' || *p == '+')
        p++;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        frac = 1;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    }
    if (!digits)
        return 0;
    if (*p == 'e' || *p == 'E') {
        int ed = 0;
        p++;
        exp = 1;
        if (*p == '-' || *p == '+')
            p++;
        while (isdigit((unsigned char)*p))
            p++, ed++;
        if (!ed)
            return 0;
    }
    *is_int = !frac && !exp;
    return *p == '\0';
}

/* YAML 1.2 core schema for plain scalars, with yes/no as booleans; quoted scalars are
 * strings. */
static void resolve_plain(struct node *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES"};
    static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO"};
    int is_int;
    for (size_t i = 0; i < GY_ARRAY_LEN(nulls); i++)
        if (strcmp(n->text, nulls[i]) == 0) {
            n->stype = S_NULL;
            return;
        }
    for (size_t i = 0; i < GY_ARRAY_LEN(trues); i++) {
        if (strcmp(n->text, trues[i]) == 0) {
            n->stype = S_BOOL;
            n->bval = 1;
            return;
        }
        if (strcmp(n->text, falses[i]) == 0) {
            n->stype = S_BOOL;
            n->bval = 0;
            return;
        }
    }
    if (is_decimal(n->text, &is_int))
        n->stype = is_int ? S_INT : S_REAL;
    else
        n->stype = S_STR;
}

/* Writes @p v with the fewest significant digits that read back to the same double. */
static void fmt_double(double v, char out[40])
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* ------------------------------------------------------------------ YAML -> tree */

static enum gy_status yaml_err(long line, const char *what)
{
    return gy_error_set(GY_E_INVALID, "line %ld: %s", line, what);
}

static enum gy_status yaml_tree(const char *text, size_t len, struct gy_arena *a, struct node **out)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct node *stack[GY_PIPELINE_MAX_DEPTH];
    const char *pkey[GY_PIPELINE_MAX_DEPTH];
    long pkey_line[GY_PIPELINE_MAX_DEPTH];
    struct node *root = NULL;
    int depth = 0, docs = 0, have_ev = 0, done = 0;
    enum gy_status rc = GY_OK;

    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return nomem();
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        struct node *n = NULL;
        long line;
        int opens = 0;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = nomem();
                goto out;
            }
            size_t eline = parser.problem_mark.line + 1;
            if (parser.error == YAML_READER_ERROR) {
                /* reader errors (bad UTF-8, control characters) carry a byte offset only */
                eline = 1;
                for (size_t i = 0; i < parser.problem_offset && i < len; i++)
                    eline += text[i] == '\n';
            }
            rc = gy_error_set(GY_E_INVALID, "line %zu: YAML syntax error: %s%s%s", eline,
                              parser.problem ? parser.problem : "cannot parse",
                              parser.context ? " " : "", parser.context ? parser.context : "");
            goto out;
        }
        have_ev = 1;
        line = (long)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (docs++) {
                rc = yaml_err(line, "only one YAML document is allowed");
                goto out;
            }
            if (ev.data.document_start.tag_directives.start !=
                ev.data.document_start.tag_directives.end) {
                rc = yaml_err(line, "YAML tags are not supported");
                goto out;
            }
            break;
        case YAML_ALIAS_EVENT:
            rc = yaml_err(line, "YAML aliases are not supported");
            goto out;
        case YAML_SCALAR_EVENT:
            if (ev.data.scalar.anchor) {
                rc = yaml_err(line, "YAML anchors are not supported");
                goto out;
            }
            if (ev.data.scalar.tag) {
                rc = yaml_err(line, "YAML tags are not supported");
                goto out;
            }
            if (strlen((const char *)ev.data.scalar.value) != ev.data.scalar.length) {
                rc = yaml_err(line, "a string contains a NUL byte");
                goto out;
            }
            if (!(n = gy_arena_alloc(a, sizeof(*n)))) {
                rc = nomem();
                goto out;
            }
            memset(n, 0, sizeof(*n));
            if (!(n->text = gy_arena_strndup(a, (const char *)ev.data.scalar.value,
                                             ev.data.scalar.length))) {
                rc = nomem();
                goto out;
            }
            n->kind = N_SCALAR;
            if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                resolve_plain(n);
            else
                n->stype = S_STR;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            int seq = ev.type == YAML_SEQUENCE_START_EVENT;
            if (seq ? ev.data.sequence_start.anchor != NULL
                    : ev.data.mapping_start.anchor != NULL) {
                rc = yaml_err(line, "YAML anchors are not supported");
                goto out;
            }
            if (seq ? ev.data.sequence_start.tag != NULL : ev.data.mapping_start.tag != NULL) {
                rc = yaml_err(line, "YAML tags are not supported");
                goto out;
            }
            if (depth == GY_PIPELINE_MAX_DEPTH) {
                rc = gy_error_set(GY_E_INVALID, "line %ld: nesting deeper than %d levels", line,
                                  GY_PIPELINE_MAX_DEPTH);
                goto out;
            }
            if (depth > 0 && stack[depth - 1]->kind == N_MAP && !pkey[depth - 1]) {
                rc = yaml_err(line, "mapping keys must be strings");
                goto out;
            }
            if (!(n = gy_arena_alloc(a, sizeof(*n)))) {
                rc = nomem();
                goto out;
            }
            memset(n, 0, sizeof(*n));
            n->kind = seq ? N_SEQ : N_MAP;
            opens = 1;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--; /* the collection was attached to its parent when it opened */
            break;
        default:
            break;
        }
        if (n) {
            n->line = line;
            if (depth == 0) {
                root = n;
            } else {
                struct node *p = stack[depth - 1];
                if (p->kind == N_MAP && !pkey[depth - 1]) {
                    /* a key: remember it until its value arrives */
                    for (size_t i = 0; i < p->n; i++)
                        if (strcmp(p->keys[i], n->text) == 0) {
                            rc = gy_error_set(GY_E_INVALID, "line %ld: duplicate key \"%.64s\"",
                                              line, n->text);
                            goto out;
                        }
                    pkey[depth - 1] = n->text;
                    pkey_line[depth - 1] = line;
                    n = NULL;
                } else {
                    const char *k = NULL;
                    if (p->kind == N_MAP) {
                        k = pkey[depth - 1];
                        n->line = pkey_line[depth - 1];
                        pkey[depth - 1] = NULL;
                    }
                    rc = node_add(a, p, k, n->line, n);
                    if (rc == GY_E_TOO_LARGE) {
                        rc = gy_error_set(rc, "line %ld: more than %d entries in one collection",
                                          line, MAX_ITEMS);
                        goto out;
                    }
                    if (rc) {
                        rc = nomem();
                        goto out;
                    }
                }
            }
            if (n && opens) {
                stack[depth] = n;
                pkey[depth] = NULL;
                pkey_line[depth] = 0;
                depth++;
            }
        }
        yaml_event_delete(&ev);
        have_ev = 0;
    }
    if (!root) {
        rc = gy_error_set(GY_E_INVALID, "line 1: the spec is empty");
        goto out;
    }
    *out = root;
out:
    if (have_ev)
        yaml_event_delete(&ev);
    yaml_parser_delete(&parser);
    return rc;
}

/* ------------------------------------------------------------------ JSON -> tree */

static enum gy_status json_tree(const json_t *j, int depth, struct gy_arena *a, struct node **out)
{
    struct node *n = gy_arena_alloc(a, sizeof(*n));
    char num[40];
    enum gy_status rc;
    if (!n)
        return nomem();
    memset(n, 0, sizeof(*n));
    n->json = j;
    n->kind = N_SCALAR;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (depth >= GY_PIPELINE_MAX_DEPTH)
            return gy_error_set(GY_E_INVALID, "spec: nesting deeper than %d levels",
                                GY_PIPELINE_MAX_DEPTH);
        n->kind = json_is_object(j) ? N_MAP : N_SEQ;
        if (json_is_object(j)) {
            const char *k;
            json_t *v;
            json_object_foreach((json_t *)j, k, v)
            {
                struct node *c;
                if ((rc = json_tree(v, depth + 1, a, &c)))
                    return rc;
                if ((rc = node_add(a, n, k, 0, c)))
                    return rc == GY_E_TOO_LARGE
                               ? gy_error_set(rc, "spec: more than %d entries in one object",
                                              MAX_ITEMS)
                               : nomem();
            }
        } else {
            size_t i;
            json_t *v;
            json_array_foreach(j, i, v)
            {
                struct node *c;
                if ((rc = json_tree(v, depth + 1, a, &c)))
                    return rc;
                if ((rc = node_add(a, n, NULL, 0, c)))
                    return rc == GY_E_TOO_LARGE
                               ? gy_error_set(rc, "spec: more than %d entries in one array",
                                              MAX_ITEMS)
                               : nomem();
            }
        }
        break;
    case JSON_STRING:
        if (strlen(json_string_value(j)) != json_string_length(j))
            return gy_error_set(GY_E_INVALID, "spec: a string contains a NUL byte");
        n->stype = S_STR;
        n->text = json_string_value(j);
        break;
    case JSON_INTEGER:
        n->stype = S_INT;
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        break;
    case JSON_REAL:
        n->stype = S_REAL;
        fmt_double(json_real_value(j), num);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        n->stype = S_BOOL;
        n->bval = json_is_true(j);
        n->text = n->bval ? "true" : "false";
        break;
    case JSON_NULL:
        n->stype = S_NULL;
        n->text = "null";
        break;
    }
    if (n->kind == N_SCALAR && !n->text && !(n->text = gy_arena_strdup(a, num)))
        return nomem();
    *out = n;
    return GY_OK;
}

/* A YAML subtree as JSON (new), for the JSON form of a feature spec. */
static json_t *node_to_json(const struct node *n)
{
    json_t *j = NULL;
    if (n->json)
        return json_incref((json_t *)n->json);
    switch (n->kind) {
    case N_MAP:
        if (!(j = json_object()))
            return NULL;
        for (size_t i = 0; i < n->n; i++) {
            json_t *v = node_to_json(n->vals[i]);
            if (!v || json_object_set_new(j, n->keys[i], v)) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case N_SEQ:
        if (!(j = json_array()))
            return NULL;
        for (size_t i = 0; i < n->n; i++) {
            json_t *v = node_to_json(n->vals[i]);
            if (!v || json_array_append_new(j, v)) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case N_SCALAR:
        break;
    }
    switch (n->stype) {
    case S_NULL:
        return json_null();
    case S_BOOL:
        return json_boolean(n->bval);
    case S_INT: {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(n->text, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
        return json_real(strtod(n->text, NULL));
    }
    case S_REAL:
        return json_real(strtod(n->text, NULL));
    case S_STR:
        break;
    }
    return json_string(n->text);
}

/* ------------------------------------------------------------------ validation helpers */

struct vctx {
    struct gy_arena *a; /* the spec's arena */
};

/* "prefix.key" into buf. */
static const char *path_join(char buf[PATH_MAX_LEN], const char *prefix, const char *key)
{
    if (prefix && *prefix)
        snprintf(buf, PATH_MAX_LEN, "%s.%.64s", prefix, key);
    else
        snprintf(buf, PATH_MAX_LEN, "%.64s", key);
    return buf;
}

static enum gy_status verr(long line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum gy_status verr(long line, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        return gy_error_set(GY_E_INVALID, "line %ld: %s: %s", line, path, msg);
    return gy_error_set(GY_E_INVALID, "%s: %s", path, msg);
}

/* A short printable rendering of a node for messages ("\"high\"", "a mapping", "null"). */
static const char *describe(const struct node *n, char out[96])
{
    size_t len, j = 0;
    if (n->kind == N_MAP)
        return "a mapping";
    if (n->kind == N_SEQ)
        return "a list";
    if (n->stype == S_NULL)
        return "nothing";
    if (n->stype != S_STR) {
        snprintf(out, 96, "%.60s", n->text);
        return out;
    }
    len = strlen(n->text);
    out[j++] = '"';
    for (size_t i = 0; i < len && j < 88; i++) {
        unsigned char c = (unsigned char)n->text[i];
        if (i == 60) {
            /* back off to a UTF-8 character boundary */
            while (j > 1 && ((unsigned char)out[j - 1] & 0xC0) == 0x80)
                j--;
            if (j > 1 && ((unsigned char)out[j - 1] & 0xC0) == 0xC0)
                j--;
            memcpy(out + j, "...", 3);
            j += 3;
            break;
        }
        out[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[j++] = '"';
    out[j] = '\0';
    return out;
}

static int present(const struct node *n)
{
    return n && !(n->kind == N_SCALAR && n->stype == S_NULL);
}

static long line_of(const struct node *n)
{
    return n ? n->line : 0;
}

/* The value of @p key in mapping @p m, or NULL. */
static const struct node *get(const struct node *m, const char *key)
{
    if (!m || m->kind != N_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    return NULL;
}

static const char *find_name(const char *const *names, const char *s)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return names[i];
    return NULL;
}

static void list_names(const char *const *names, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; names[i] && used < cap; i++) {
        snprintf(out + used, cap - used, "%s%s", i ? ", " : "", names[i]);
        used = strlen(out);
    }
}

/* Checks that @p n is a mapping whose keys are all in @p allowed (NULL-terminated). */
static enum gy_status check_map(const struct node *n, const char *path, const char *const *allowed)
{
    char d[96], p[PATH_MAX_LEN];
    if (n->kind != N_MAP)
        return verr(n->line, path, "expected a mapping, got %s", describe(n, d));
    if (!allowed)
        return GY_OK;
    for (size_t i = 0; i < n->n; i++) {
        char list[400];
        if (find_name(allowed, n->keys[i]))
            continue;
        list_names(allowed, list, sizeof list);
        return verr(n->key_lines[i], path_join(p, path, n->keys[i]),
                    "unknown key (expected one of: %s)", list);
    }
    return GY_OK;
}

/* Looks up @p key of mapping @p m as a string. Absent or null: *out unchanged (an error when
 * @p required). Numbers are taken as their text. The string is copied into the spec. */
static enum gy_status get_str(struct vctx *v, const struct node *m, const char *prefix,
                              const char *key, int required, const char **out)
{
    const struct node *n = get(m, key);
    char p[PATH_MAX_LEN], d[96];
    path_join(p, prefix, key);
    if (!present(n)) {
        if (required)
            return verr(line_of(n) ? line_of(n) : line_of(m), p, "required");
        return GY_OK;
    }
    if (n->kind != N_SCALAR || n->stype == S_BOOL)
        return verr(n->line, p, "expected a string, got %s", describe(n, d));
    if (!*n->text)
        return verr(n->line, p, "must not be empty");
    if (!(*out = gy_arena_strdup(v->a, n->text)))
        return nomem();
    return GY_OK;
}

/* YAML's and C's spellings of infinity and NaN. */
static int non_finite_text(const char *t)
{
    if (*t == '-' || *t == '+')
        t++;
    return strcasecmp(t, ".inf") == 0 || strcasecmp(t, ".nan") == 0 || strcasecmp(t, "inf") == 0 ||
           strcasecmp(t, "nan") == 0 || strcasecmp(t, "infinity") == 0;
}

/* Parses a scalar as a finite number. */
static enum gy_status node_number(const struct node *n, const char *p, double *out)
{
    char d[96];
    char *end;
    double x;
    int is_int;
    if (n->kind != N_SCALAR || (n->stype != S_INT && n->stype != S_REAL)) {
        if (n->kind == N_SCALAR && n->stype == S_STR && non_finite_text(n->text))
            return verr(n->line, p, "must be a finite number, got %s", describe(n, d));
        return verr(n->line, p, "expected a number, got %s", describe(n, d));
    }
    if (!is_decimal(n->text, &is_int))
        return verr(n->line, p, "expected a number, got %s", describe(n, d));
    errno = 0;
    x = strtod(n->text, &end);
    if (!isfinite(x))
        return verr(n->line, p, "%s is out of range", describe(n, d));
    *out = x;
    return GY_OK;
}

static enum gy_status get_num(const struct node *m, const char *prefix, const char *key, double lo,
                              double hi, int lo_open, int hi_open, double *out)
{
    const struct node *n = get(m, key);
    char p[PATH_MAX_LEN];
    double x;
    enum gy_status rc;
    path_join(p, prefix, key);
    if (!present(n))
        return GY_OK;
    if ((rc = node_number(n, p, &x)))
        return rc;
    if ((lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi))
        return verr(n->line, p, "must be %s %g and %s %g, got %s", lo_open ? ">" : ">=", lo,
                    hi_open ? "<" : "<=", hi, n->text);
    *out = x;
    return GY_OK;
}

static enum gy_status get_uint(const struct node *m, const char *prefix, const char *key,
                               uint64_t lo, uint64_t hi, uint64_t *out)
{
    const struct node *n = get(m, key);
    char p[PATH_MAX_LEN], d[96];
    const char *t;
    uint64_t x = 0;
    int over = 0, neg = 0;
    path_join(p, prefix, key);
    if (!present(n))
        return GY_OK;
    if (n->kind != N_SCALAR || n->stype != S_INT)
        return verr(n->line, p, "expected a whole number, got %s", describe(n, d));
    t = n->text;
    if (*t == '-' || *t == '+')
        neg = *t++ == '-';
    for (; *t; t++) {
        unsigned dg = (unsigned)(*t - '0');
        if (x > (UINT64_MAX - dg) / 10)
            over = 1;
        else
            x = x * 10 + dg;
    }
    if (neg && x != 0)
        over = 1;
    if (over || x < lo || x > hi)
        return verr(n->line, p, "must be between %llu and %llu, got %.40s", (unsigned long long)lo,
                    (unsigned long long)hi, n->text);
    *out = x;
    return GY_OK;
}

static enum gy_status get_bool(const struct node *m, const char *prefix, const char *key, int *out)
{
    const struct node *n = get(m, key);
    char p[PATH_MAX_LEN], d[96];
    path_join(p, prefix, key);
    if (!present(n))
        return GY_OK;
    if (n->kind != N_SCALAR || n->stype != S_BOOL)
        return verr(n->line, p, "expected true or false, got %s", describe(n, d));
    *out = n->bval;
    return GY_OK;
}

static enum gy_status get_duration(const struct node *m, const char *prefix, const char *key,
                                   int64_t *out)
{
    const struct node *n = get(m, key);
    char p[PATH_MAX_LEN], d[96];
    path_join(p, prefix, key);
    if (!present(n))
        return GY_OK;
    if (n->kind != N_SCALAR || n->stype == S_NULL || n->stype == S_BOOL ||
        gy_pipeline_duration_parse(n->text, out) != GY_OK)
        return verr(n->line, p,
                    "expected a duration like \"90s\", \"30m\", \"12h\" or \"14d\" "
                    "(at most 3650d), got %s",
                    describe(n, d));
    return GY_OK;
}

/* One of @p names (NULL-terminated); *out is its index. */
static enum gy_status get_enum(const struct node *m, const char *prefix, const char *key,
                               const char *const *names, int *out)
{
    const struct node *n = get(m, key);
    char p[PATH_MAX_LEN], d[96], list[200];
    size_t used = 0;
    path_join(p, prefix, key);
    if (!present(n))
        return GY_OK;
    list[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (n->kind == N_SCALAR && n->stype == S_STR && strcmp(n->text, names[i]) == 0) {
            *out = i;
            return GY_OK;
        }
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        used = strlen(list);
    }
    return verr(n->line, p, "must be one of %s, got %s", list, describe(n, d));
}

/* ------------------------------------------------------------------ name checks */

/* [A-Za-z0-9_.-]{1,128}, starting with a letter or digit: pipelines and datasets. */
static int simple_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GY_PIPELINE_MAX_NAME || !isalnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* A deployment name as serving checks it: 1..128 of [A-Za-z0-9_.-], no leading '.'. */
static int deploy_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* A column name: 1..256 bytes without control characters. */
static int column_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_COLUMN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static enum gy_status check_simple(const struct node *m, const char *prefix, const char *key,
                                   const char *v, const char *what)
{
    char p[PATH_MAX_LEN];
    if (!v || simple_name_ok(v))
        return GY_OK;
    return verr(line_of(get(m, key)), path_join(p, prefix, key),
                "\"%.64s\" is not a valid %s name (1 to %d letters, digits, '_', '-' or '.', "
                "starting with a letter or digit)",
                v, what, GY_PIPELINE_MAX_NAME);
}

static enum gy_status check_deploy(const struct node *m, const char *prefix, const char *key,
                                   const char *v)
{
    char p[PATH_MAX_LEN];
    if (!v || deploy_name_ok(v))
        return GY_OK;
    return verr(line_of(get(m, key)), path_join(p, prefix, key),
                "\"%.64s\" is not a valid deployment name (1 to 128 letters, digits, '_', '-' "
                "or '.', not starting with '.')",
                v);
}

static enum gy_status check_column(const struct node *m, const char *prefix, const char *key,
                                   const char *v)
{
    char p[PATH_MAX_LEN];
    if (!v || column_ok(v))
        return GY_OK;
    return verr(line_of(get(m, key)), path_join(p, prefix, key),
                "not a valid column name (1 to %d bytes, no control characters)", MAX_COLUMN);
}

/* ------------------------------------------------------------------ metrics */

static const char *const gate_metrics[] = {"auc", "logloss", "accuracy", "precision", "recall",
                                           "f1",  "rmse",    "mae",      "r2",        NULL};
static const char *const online_metrics[] = {"accuracy", "auc",        "logloss", "rmse",
                                             "mae",      "value_mean", NULL};

static int lower_is_better(const char *metric)
{
    return strcmp(metric, "logloss") == 0 || strcmp(metric, "rmse") == 0 ||
           strcmp(metric, "mae") == 0 || strcmp(metric, "mse") == 0;
}

/* ------------------------------------------------------------------ sections */

static enum gy_status v_data(struct vctx *v, const struct node *root, struct gy_pipeline_spec *s)
{
    static const char *const keys[] = {"dataset", "select",        "last_rows",
                                       "window",  "feedback_from", NULL};
    static const char *const wkeys[] = {"column", "last", NULL};
    static const char *const selects[] = {"latest", "last_rows", "window", NULL};
    const struct node *m = get(root, "data"), *w;
    int sel = GY_SELECT_LATEST;
    enum gy_status rc;
    if (!present(m))
        return verr(line_of(m) ? line_of(m) : root->line, "data", "required");
    if ((rc = check_map(m, "data", keys)) ||
        (rc = get_str(v, m, "data", "dataset", 1, &s->data.dataset)) ||
        (rc = check_simple(m, "data", "dataset", s->data.dataset, "dataset")) ||
        (rc = get_enum(m, "data", "select", selects, &sel)))
        return rc;
    s->data.select = (enum gy_pipeline_select)sel;
    if (present(get(m, "last_rows")) && sel != GY_SELECT_LAST_ROWS)
        return verr(get(m, "last_rows")->line, "data.last_rows",
                    "only allowed with select: last_rows");
    if (present(get(m, "window")) && sel != GY_SELECT_WINDOW)
        return verr(get(m, "window")->line, "data.window", "only allowed with select: window");
    if (sel == GY_SELECT_LAST_ROWS) {
        if (!present(get(m, "last_rows")))
            return verr(m->line, "data.last_rows", "required with select: last_rows");
        if ((rc = get_uint(m, "data", "last_rows", 1, 1000000000ull, &s->data.last_rows)))
            return rc;
    }
    if (sel == GY_SELECT_WINDOW) {
        w = get(m, "window");
        if (!present(w))
            return verr(m->line, "data.window", "required with select: window");
        if ((rc = check_map(w, "data.window", wkeys)) ||
            (rc = get_str(v, w, "data.window", "column", 1, &s->data.window_column)) ||
            (rc = check_column(w, "data.window", "column", s->data.window_column)))
            return rc;
        if (!present(get(w, "last")))
            return verr(w->line, "data.window.last", "required");
        if ((rc = get_duration(w, "data.window", "last", &s->data.window_us)))
            return rc;
    }
    if ((rc = get_str(v, m, "data", "feedback_from", 0, &s->data.feedback_from)) ||
        (rc = check_deploy(m, "data", "feedback_from", s->data.feedback_from)))
        return rc;
    return GY_OK;
}

static enum gy_status v_features(struct vctx *v, const struct node *n, struct gy_pipeline_spec *s)
{
    struct gy_feature_spec *fs = NULL;
    json_t *j = NULL;
    char d[96];
    char *text = NULL;
    enum gy_status rc = GY_OK;
    if (n->kind == N_SCALAR && n->stype == S_STR) {
        const char *t = n->text;
        while (isspace((unsigned char)*t))
            t++;
        if (!*t)
            return verr(n->line, "train.features", "must not be empty");
        if (*t == '{')
            return verr(n->line, "train.features",
                        "the flag form must not start with '{' (give a mapping for the JSON form)");
        if ((rc = gy_features_spec_create(&fs)))
            return rc;
        if ((rc = gy_features_spec_add_flags(fs, n->text)))
            rc = verr(n->line, "train.features", "%s", gy_error_msg());
        else if (!(s->train.features = gy_arena_strdup(v->a, n->text)))
            rc = nomem();
        goto out;
    }
    if (n->kind != N_MAP)
        return verr(n->line, "train.features",
                    "expected a flag string or a mapping (the JSON form), got %s", describe(n, d));
    if (!(j = node_to_json(n))) {
        rc = nomem();
        goto out;
    }
    if ((rc = gy_features_spec_from_json(j, &fs))) {
        rc = verr(n->line, "train.features", "%s", gy_error_msg());
        goto out;
    }
    if (!(text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))) ||
        !(s->train.features = gy_arena_strdup(v->a, text)))
        rc = nomem();
out:
    gy_free(text); /* jansson allocates through gy_malloc */
    json_decref(j);
    gy_features_spec_free(fs);
    return rc;
}

static enum gy_status v_train(struct vctx *v, const struct node *root, struct gy_pipeline_spec *s)
{
    static const char *const keys[] = {"target",         "trainer",    "task",   "features",
                                       "split",          "valid",      "seed",   "rounds",
                                       "early_stopping", "experiment", "params", NULL};
    static const char *const trainers[] = {"xgboost", "logistic", "linear", NULL};
    static const char *const tasks[] = {"binary", "multiclass", "regression", NULL};
    const struct node *m = get(root, "train"), *n;
    int tr = 0, task = -1;
    uint64_t u;
    char p[PATH_MAX_LEN], d[96];
    enum gy_status rc;
    if (!present(m))
        return verr(line_of(m) ? line_of(m) : root->line, "train", "required");
    if ((rc = check_map(m, "train", keys)) ||
        (rc = get_str(v, m, "train", "target", 1, &s->train.target)) ||
        (rc = check_column(m, "train", "target", s->train.target)) ||
        (rc = get_enum(m, "train", "trainer", trainers, &tr)) ||
        (rc = get_enum(m, "train", "task", tasks, &task)))
        return rc;
    s->train.trainer = trainers[tr];
    s->train.task = task >= 0 ? tasks[task] : NULL;
    if (task == 2 && tr == 1)
        return verr(get(m, "task")->line, "train.task",
                    "the logistic trainer cannot do regression");
    if (tr == 2 && task >= 0 && task != 2)
        return verr(get(m, "task")->line, "train.task", "the linear trainer does regression only");
    if (present(n = get(m, "features")) && (rc = v_features(v, n, s)))
        return rc;
    if ((rc = get_str(v, m, "train", "split", 0, &s->train.split)))
        return rc;
    if (strcmp(s->train.split, "random") != 0 && strcmp(s->train.split, "stratified") != 0) {
        if (strncmp(s->train.split, "time:", 5) != 0 || !column_ok(s->train.split + 5))
            return verr(get(m, "split")->line, "train.split",
                        "must be random, stratified or time:COLUMN, got \"%.64s\"", s->train.split);
    }
    if ((rc = get_num(m, "train", "valid", 0, 1, 1, 1, &s->train.valid_fraction)) ||
        (rc = get_uint(m, "train", "seed", 0, (uint64_t)INT64_MAX, &s->train.seed)))
        return rc;
    u = (uint64_t)s->train.rounds;
    if ((rc = get_uint(m, "train", "rounds", 0, 100000, &u)))
        return rc;
    s->train.rounds = (int)u;
    u = (uint64_t)s->train.early_stopping;
    if ((rc = get_uint(m, "train", "early_stopping", 0, 100000, &u)))
        return rc;
    s->train.early_stopping = (int)u;
    if ((rc = get_str(v, m, "train", "experiment", 0, &s->train.experiment)))
        return rc;
    if (s->train.experiment == NULL) {
        char e[GY_PIPELINE_MAX_NAME + 16];
        snprintf(e, sizeof e, "pipeline-%s", s->name);
        if (!(s->train.experiment = gy_arena_strdup(v->a, e)))
            return nomem();
    } else if (strlen(s->train.experiment) > MAX_EXPERIMENT) {
        return verr(get(m, "experiment")->line, "train.experiment", "longer than %d bytes",
                    MAX_EXPERIMENT);
    }
    n = get(m, "params");
    if (present(n)) {
        if ((rc = check_map(n, "train.params", NULL)))
            return rc;
        if (n->n > GY_PIPELINE_MAX_PARAMS)
            return verr(n->line, "train.params", "more than %d parameters", GY_PIPELINE_MAX_PARAMS);
        for (size_t i = 0; i < n->n; i++) {
            const struct node *pv = n->vals[i];
            const char *val = pv->text;
            char num[40];
            path_join(p, "train.params", n->keys[i]);
            if (pv->kind != N_SCALAR || pv->stype == S_NULL)
                return verr(pv->line, p, "expected a value, got %s", describe(pv, d));
            if (pv->json && pv->stype == S_REAL) {
                fmt_double(json_real_value(pv->json), num);
                val = num;
            }
            if (gy_train_param_check(n->keys[i], val) != GY_OK)
                return verr(pv->line, p, "%s", gy_error_msg());
            if (!(s->train.params[i].key = gy_arena_strdup(v->a, n->keys[i])) ||
                !(s->train.params[i].value = gy_arena_strdup(v->a, val)))
                return nomem();
        }
        s->train.n_params = n->n;
    }
    return GY_OK;
}

/* "OP NUMBER" with OP one of >=, >, <=, <. */
static int parse_op(const char *t, enum gy_pipeline_op *op, const char **rest)
{
    if (strncmp(t, ">=", 2) == 0)
        *op = GY_OP_GE, *rest = t + 2;
    else if (strncmp(t, "<=", 2) == 0)
        *op = GY_OP_LE, *rest = t + 2;
    else if (*t == '>')
        *op = GY_OP_GT, *rest = t + 1;
    else if (*t == '<')
        *op = GY_OP_LT, *rest = t + 1;
    else
        return 0;
    while (**rest == ' ')
        (*rest)++;
    return 1;
}

static enum gy_status v_gates(struct vctx *v, const struct node *root, struct gy_pipeline_spec *s)
{
    static const char *const keys[] = {"min", "champion", NULL};
    static const char *const ckeys[] = {"metric", "margin", NULL};
    const struct node *m = get(root, "gates"), *mn, *c;
    char p[PATH_MAX_LEN], d[96], list[200];
    enum gy_status rc;
    list_names(gate_metrics, list, sizeof list);
    if (!present(m))
        return GY_OK;
    if ((rc = check_map(m, "gates", keys)))
        return rc;
    mn = get(m, "min");
    if (present(mn)) {
        if ((rc = check_map(mn, "gates.min", NULL)))
            return rc;
        if (mn->n > GY_PIPELINE_MAX_GATES)
            return verr(mn->line, "gates.min", "more than %d gates", GY_PIPELINE_MAX_GATES);
        for (size_t i = 0; i < mn->n; i++) {
            const struct node *g = mn->vals[i];
            struct gy_pipeline_gate *gate = &s->gates.min[i];
            path_join(p, "gates.min", mn->keys[i]);
            if (!(gate->metric = find_name(gate_metrics, mn->keys[i])))
                return verr(mn->key_lines[i], p, "unknown metric (expected one of: %s)", list);
            gate->op = lower_is_better(gate->metric) ? GY_OP_LE : GY_OP_GE;
            if (g->kind == N_SCALAR && g->stype == S_STR) {
                const char *rest;
                struct node tmp = *g;
                if (!parse_op(g->text, &gate->op, &rest) && non_finite_text(g->text))
                    return node_number(g, p, &gate->value);
                if (!parse_op(g->text, &gate->op, &rest))
                    return verr(g->line, p,
                                "expected a number or \"OP NUMBER\" with OP one of >=, >, <=, "
                                "<, got %s",
                                describe(g, d));
                tmp.text = rest;
                tmp.stype = S_REAL;
                if ((rc = node_number(&tmp, p, &gate->value)))
                    return rc;
            } else if ((rc = node_number(g, p, &gate->value))) {
                return rc;
            }
        }
        s->gates.n_min = mn->n;
    }
    c = get(m, "champion");
    if (present(c)) {
        const char *metric = NULL;
        if ((rc = check_map(c, "gates.champion", ckeys)) ||
            (rc = get_str(v, c, "gates.champion", "metric", 1, &metric)))
            return rc;
        if (!(s->gates.champion_metric = find_name(gate_metrics, metric)))
            return verr(get(c, "metric")->line, "gates.champion.metric",
                        "unknown metric \"%.64s\" (expected one of: %s)", metric, list);
        if ((rc =
                 get_num(c, "gates.champion", "margin", 0, 1e300, 0, 0, &s->gates.champion_margin)))
            return rc;
    }
    return GY_OK;
}

static enum gy_status v_register(struct vctx *v, const struct node *root,
                                 struct gy_pipeline_spec *s)
{
    static const char *const keys[] = {"model", "alias", NULL};
    const struct node *m = get(root, "register");
    enum gy_status rc;
    if (!present(m))
        return verr(line_of(m) ? line_of(m) : root->line, "register", "required");
    if ((rc = check_map(m, "register", keys)) ||
        (rc = get_str(v, m, "register", "model", 1, &s->register_.model)))
        return rc;
    if (gy_registry_name_check(s->register_.model) != GY_OK)
        return verr(get(m, "model")->line, "register.model", "%s", gy_error_msg());
    if ((rc = get_str(v, m, "register", "alias", 0, &s->register_.alias)))
        return rc;
    if (strcasecmp(s->register_.alias, "champion") == 0)
        return verr(get(m, "alias")->line, "register.alias",
                    "must not be \"champion\" (a candidate becomes champion only by promotion)");
    if (gy_registry_alias_check(s->register_.alias) != GY_OK)
        return verr(get(m, "alias")->line, "register.alias", "%s", gy_error_msg());
    return GY_OK;
}

static enum gy_status v_rollout(struct vctx *v, const struct node *root, struct gy_pipeline_spec *s)
{
    static const char *const keys[] = {"deployment",    "canary_percent", "min_requests",
                                       "min_duration",  "max_duration",   "max_error_rate",
                                       "max_p99_ratio", "online",         NULL};
    static const char *const okeys[] = {
        "metric", "max_drop", "min_feedback", "require_significance", "alpha", NULL};
    const struct node *m = get(root, "rollout"), *o;
    char list[200];
    const char *metric = NULL;
    uint64_t u;
    enum gy_status rc;
    if (!present(m))
        return GY_OK;
    if ((rc = check_map(m, "rollout", keys)) ||
        (rc = get_str(v, m, "rollout", "deployment", 1, &s->rollout.deployment)) ||
        (rc = check_deploy(m, "rollout", "deployment", s->rollout.deployment)))
        return rc;
    u = s->rollout.canary_percent;
    if ((rc = get_uint(m, "rollout", "canary_percent", 1, 99, &u)))
        return rc;
    s->rollout.canary_percent = (uint32_t)u;
    if ((rc = get_uint(m, "rollout", "min_requests", 0, 1000000000ull, &s->rollout.min_requests)) ||
        (rc = get_duration(m, "rollout", "min_duration", &s->rollout.min_duration_us)) ||
        (rc = get_duration(m, "rollout", "max_duration", &s->rollout.max_duration_us)))
        return rc;
    if (s->rollout.max_duration_us < s->rollout.min_duration_us)
        return verr(line_of(get(m, "max_duration")) ? line_of(get(m, "max_duration")) : m->line,
                    "rollout.max_duration", "must not be shorter than min_duration");
    if ((rc = get_num(m, "rollout", "max_error_rate", -1, 1, 0, 0, &s->rollout.max_error_rate)) ||
        (rc = get_num(m, "rollout", "max_p99_ratio", 0, 1000, 0, 0, &s->rollout.max_p99_ratio)))
        return rc;
    o = get(m, "online");
    if (!present(o))
        return GY_OK;
    if ((rc = check_map(o, "rollout.online", okeys)) ||
        (rc = get_str(v, o, "rollout.online", "metric", 1, &metric)))
        return rc;
    if (!(s->rollout.online_metric = find_name(online_metrics, metric))) {
        list_names(online_metrics, list, sizeof list);
        return verr(get(o, "metric")->line, "rollout.online.metric",
                    "unknown metric \"%.64s\" (expected one of: %s)", metric, list);
    }
    if ((rc = get_num(o, "rollout.online", "max_drop", 0, 1e300, 0, 0,
                      &s->rollout.max_online_drop)) ||
        (rc = get_uint(o, "rollout.online", "min_feedback", 1, 1000000000ull,
                       &s->rollout.min_feedback)) ||
        (rc = get_bool(o, "rollout.online", "require_significance",
                       &s->rollout.require_significance)) ||
        (rc = get_num(o, "rollout.online", "alpha", 0, 0.5, 1, 0, &s->rollout.alpha)))
        return rc;
    return GY_OK;
}

static enum gy_status v_triggers(struct vctx *v, const struct node *root,
                                 struct gy_pipeline_spec *s)
{
    static const char *const keys[] = {"drift", "schedule", "new_rows", NULL};
    static const char *const dkeys[] = {"deployment", NULL};
    const struct node *m = get(root, "triggers"), *d;
    struct gy_cron cron;
    enum gy_status rc;
    if (!present(m))
        return GY_OK;
    if ((rc = check_map(m, "triggers", keys)))
        return rc;
    d = get(m, "drift");
    if (present(d) &&
        ((rc = check_map(d, "triggers.drift", dkeys)) ||
         (rc = get_str(v, d, "triggers.drift", "deployment", 1, &s->triggers.drift_deployment)) ||
         (rc = check_deploy(d, "triggers.drift", "deployment", s->triggers.drift_deployment))))
        return rc;
    if ((rc = get_str(v, m, "triggers", "schedule", 0, &s->triggers.schedule)))
        return rc;
    if (s->triggers.schedule && gy_cron_parse(s->triggers.schedule, &cron) != GY_OK)
        return verr(get(m, "schedule")->line, "triggers.schedule", "%s", gy_error_msg());
    return get_uint(m, "triggers", "new_rows", 0, 1000000000000ull, &s->triggers.new_rows);
}

static void set_defaults(struct gy_pipeline_spec *s)
{
    s->data.select = GY_SELECT_LATEST;
    s->train.trainer = "xgboost";
    s->train.split = "stratified";
    s->train.valid_fraction = 0.2;
    s->train.seed = 42;
    s->register_.alias = "challenger";
    s->rollout.canary_percent = 10;
    s->rollout.min_requests = 100;
    s->rollout.min_duration_us = 60LL * 1000000;
    s->rollout.max_duration_us = 3600LL * 1000000;
    s->rollout.max_error_rate = 0.01;
    s->rollout.max_p99_ratio = 0;
    s->rollout.max_online_drop = 0.02;
    s->rollout.min_feedback = 50;
    s->rollout.alpha = 0.05;
}

static enum gy_status validate(struct vctx *v, const struct node *root, struct gy_pipeline_spec *s)
{
    static const char *const keys[] = {"name",     "description", "data",     "train", "gates",
                                       "register", "rollout",     "triggers", NULL};
    char d[96];
    enum gy_status rc;
    if (root->kind != N_MAP)
        return root->line
                   ? gy_error_set(GY_E_INVALID, "line %ld: the spec must be a mapping, got %s",
                                  root->line, describe(root, d))
                   : gy_error_set(GY_E_INVALID, "the spec must be an object, got %s",
                                  describe(root, d));
    set_defaults(s);
    if ((rc = check_map(root, "", keys)) || (rc = get_str(v, root, "", "name", 1, &s->name)) ||
        (rc = check_simple(root, "", "name", s->name, "pipeline")) ||
        (rc = get_str(v, root, "", "description", 0, &s->description)) ||
        (rc = v_data(v, root, s)) || (rc = v_train(v, root, s)) || (rc = v_gates(v, root, s)) ||
        (rc = v_register(v, root, s)) || (rc = v_rollout(v, root, s)) ||
        (rc = v_triggers(v, root, s)))
        return rc;
    if (s->description && strlen(s->description) > 4096)
        return verr(line_of(get(root, "description")), "description", "longer than 4096 bytes");
    return GY_OK;
}

/* ------------------------------------------------------------------ entry points */

static enum gy_status spec_new(struct holder **out)
{
    struct gy_arena *a = gy_arena_create(8192);
    struct holder *h;
    *out = NULL;
    if (!a)
        return nomem();
    if (!(h = gy_arena_alloc(a, sizeof(*h)))) {
        gy_arena_free(a);
        return nomem();
    }
    memset(h, 0, sizeof(*h));
    h->arena = a;
    *out = h;
    return GY_OK;
}

void gy_pipeline_spec_free(struct gy_pipeline_spec *s)
{
    if (s)
        gy_arena_free(((struct holder *)s)->arena);
}

static enum gy_status finish(struct gy_arena *scratch, struct holder *h, enum gy_status rc,
                             struct gy_pipeline_spec **out)
{
    gy_arena_free(scratch);
    if (rc) {
        if (h)
            gy_arena_free(h->arena);
        return rc;
    }
    *out = &h->spec;
    return GY_OK;
}

enum gy_status gy_pipeline_spec_parse_yaml(const char *text, size_t len,
                                           struct gy_pipeline_spec **out)
{
    struct gy_arena *scratch = NULL;
    struct holder *h = NULL;
    struct node *root = NULL;
    const char *nul;
    struct vctx v;
    enum gy_status rc;

    *out = NULL;
    if (!text && len)
        return gy_error_set(GY_E_INVALID, "no spec text");
    if (len > GY_PIPELINE_MAX_SPEC)
        return gy_error_set(GY_E_TOO_LARGE, "the spec is %zu bytes; the limit is %u", len,
                            GY_PIPELINE_MAX_SPEC);
    if (len && (nul = memchr(text, '\0', len)) != NULL) {
        long line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        return gy_error_set(GY_E_INVALID, "line %ld: the spec contains a NUL byte", line);
    }
    if (!(scratch = gy_arena_create(16384)))
        return nomem();
    if ((rc = spec_new(&h)) || (rc = yaml_tree(len ? text : "", len, scratch, &root)))
        return finish(scratch, h, rc, out);
    v.a = h->arena;
    rc = validate(&v, root, &h->spec);
    return finish(scratch, h, rc, out);
}

enum gy_status gy_pipeline_spec_from_json(const json_t *j, struct gy_pipeline_spec **out)
{
    struct gy_arena *scratch = NULL;
    struct holder *h = NULL;
    struct node *root = NULL;
    struct vctx v;
    enum gy_status rc;

    *out = NULL;
    if (!j)
        return gy_error_set(GY_E_INVALID, "no spec");
    if (!(scratch = gy_arena_create(16384)))
        return nomem();
    if ((rc = spec_new(&h)) || (rc = json_tree(j, 0, scratch, &root)))
        return finish(scratch, h, rc, out);
    v.a = h->arena;
    rc = validate(&v, root, &h->spec);
    return finish(scratch, h, rc, out);
}

/* The largest unit up to days that divides @p us exactly ("90s", "1h", "14d", "1500ms"). */
static void fmt_duration(int64_t us, char out[32])
{
    static const struct {
        const char *unit;
        int64_t us;
    } units[] = {{"d", 86400LL * 1000000},
                 {"h", 3600LL * 1000000},
                 {"m", 60LL * 1000000},
                 {"s", 1000000},
                 {"ms", 1000}};
    for (size_t i = 0; i < GY_ARRAY_LEN(units); i++)
        if (us > 0 && us % units[i].us == 0) {
            snprintf(out, 32, "%lld%s", (long long)(us / units[i].us), units[i].unit);
            return;
        }
    /* not representable in the spec's units: microseconds rounded up to milliseconds */
    snprintf(out, 32, "%lldms", (long long)(us > 0 ? (us + 999) / 1000 : 1));
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *jdur(int64_t us)
{
    char b[32];
    fmt_duration(us, b);
    return json_string(b);
}

static const char *const select_names[] = {"latest", "last_rows", "window"};

enum gy_status gy_pipeline_spec_to_json(const struct gy_pipeline_spec *s, json_t **out)
{
    json_t *root = NULL, *data, *train, *params, *gates, *mins, *reg, *roll, *trig, *feat;
    enum gy_status rc = GY_OK;

    *out = NULL;
    if (!s || (unsigned)s->data.select > GY_SELECT_WINDOW ||
        s->train.n_params > GY_PIPELINE_MAX_PARAMS || s->gates.n_min > GY_PIPELINE_MAX_GATES)
        return gy_error_set(GY_E_INVALID, "not a valid pipeline spec");
    if (s->train.features && s->train.features[0] == '{') {
        feat = json_loads(s->train.features, 0, NULL);
        if (!feat)
            return gy_error_set(GY_E_INVALID, "train.features: stored JSON does not parse");
    } else {
        feat = jstr(s->train.features);
    }
    params = json_object();
    for (size_t i = 0; params && i < s->train.n_params; i++)
        if (json_object_set_new(params, s->train.params[i].key,
                                json_string(s->train.params[i].value))) {
            json_decref(params);
            params = NULL;
        }
    mins = json_object();
    for (size_t i = 0; mins && i < s->gates.n_min; i++) {
        char num[40], g[48];
        fmt_double(s->gates.min[i].value, num);
        snprintf(g, sizeof g, "%s %s", gy_pipeline_op_name(s->gates.min[i].op), num);
        if (!s->gates.min[i].metric ||
            json_object_set_new(mins, s->gates.min[i].metric, json_string(g))) {
            json_decref(mins);
            mins = NULL;
        }
    }
    data = json_pack("{s:o, s:s, s:o, s:o, s:o}", "dataset", jstr(s->data.dataset), "select",
                     select_names[s->data.select], "last_rows",
                     s->data.select == GY_SELECT_LAST_ROWS
                         ? json_integer((json_int_t)s->data.last_rows)
                         : json_null(),
                     "window",
                     s->data.select == GY_SELECT_WINDOW
                         ? json_pack("{s:o, s:o}", "column", jstr(s->data.window_column), "last",
                                     jdur(s->data.window_us))
                         : json_null(),
                     "feedback_from", jstr(s->data.feedback_from));
    train = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o}", "target",
                      jstr(s->train.target), "trainer", jstr(s->train.trainer), "task",
                      jstr(s->train.task), "features", feat, "split", jstr(s->train.split), "valid",
                      gy_json_real(s->train.valid_fraction), "seed", (json_int_t)s->train.seed,
                      "rounds", (json_int_t)s->train.rounds, "early_stopping",
                      (json_int_t)s->train.early_stopping, "experiment", jstr(s->train.experiment),
                      "params", params);
    gates = json_pack("{s:o, s:o}", "min", mins, "champion",
                      s->gates.champion_metric
                          ? json_pack("{s:s, s:o}", "metric", s->gates.champion_metric, "margin",
                                      gy_json_real(s->gates.champion_margin))
                          : json_null());
    reg = json_pack("{s:o, s:o}", "model", jstr(s->register_.model), "alias",
                    jstr(s->register_.alias));
    if (s->rollout.deployment) {
        json_t *online =
            s->rollout.online_metric
                ? json_pack("{s:s, s:o, s:I, s:b, s:o}", "metric", s->rollout.online_metric,
                            "max_drop", gy_json_real(s->rollout.max_online_drop), "min_feedback",
                            (json_int_t)s->rollout.min_feedback, "require_significance",
                            s->rollout.require_significance ? 1 : 0, "alpha",
                            gy_json_real(s->rollout.alpha))
                : json_null();
        roll = json_pack(
            "{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "deployment", s->rollout.deployment,
            "canary_percent", (json_int_t)s->rollout.canary_percent, "min_requests",
            (json_int_t)s->rollout.min_requests, "min_duration", jdur(s->rollout.min_duration_us),
            "max_duration", jdur(s->rollout.max_duration_us), "max_error_rate",
            gy_json_real(s->rollout.max_error_rate), "max_p99_ratio",
            gy_json_real(s->rollout.max_p99_ratio), "online", online);
    } else {
        roll = json_null();
    }
    trig = json_pack("{s:o, s:o, s:I}", "drift",
                     s->triggers.drift_deployment
                         ? json_pack("{s:s}", "deployment", s->triggers.drift_deployment)
                         : json_null(),
                     "schedule", jstr(s->triggers.schedule), "new_rows",
                     (json_int_t)s->triggers.new_rows);
    root = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", jstr(s->name),
                     "description", jstr(s->description), "data", data, "train", train, "gates",
                     gates, "register", reg, "rollout", roll, "triggers", trig);
    if (!root)
        rc = nomem();
    *out = root;
    return rc;
}

const char *gy_pipeline_op_name(enum gy_pipeline_op op)
{
    switch (op) {
    case GY_OP_GE:
        return ">=";
    case GY_OP_GT:
        return ">";
    case GY_OP_LE:
        return "<=";
    case GY_OP_LT:
        return "<";
    }
    return "?";
}

enum gy_status gy_pipeline_duration_parse(const char *s, int64_t *us)
{
    static const struct {
        const char *unit;
        int64_t us;
    } units[] = {{"ms", 1000},
                 {"s", 1000000},
                 {"m", 60LL * 1000000},
                 {"h", 3600LL * 1000000},
                 {"d", 86400LL * 1000000},
                 {"w", 7LL * 86400 * 1000000}};
    const char *p = s;
    int64_t n = 0;
    if (!s || !isdigit((unsigned char)*p))
        return gy_error_set(GY_E_INVALID,
                            "duration \"%.32s\": expected a positive whole number and a unit "
                            "(ms, s, m, h, d, w), e.g. \"90s\"",
                            s ? s : "");
    for (; isdigit((unsigned char)*p); p++) {
        if (n > MAX_DURATION_US)
            break;
        n = n * 10 + (*p - '0');
    }
    while (isdigit((unsigned char)*p))
        p++;
    for (size_t i = 0; i < GY_ARRAY_LEN(units); i++) {
        if (strcmp(p, units[i].unit) != 0)
            continue;
        if (n <= 0)
            return gy_error_set(GY_E_INVALID, "duration \"%.32s\" must be positive", s);
        if (n > MAX_DURATION_US / units[i].us)
            return gy_error_set(GY_E_INVALID, "duration \"%.32s\" is longer than 10 years (3650d)",
                                s);
        *us = n * units[i].us;
        return GY_OK;
    }
    return gy_error_set(GY_E_INVALID,
                        "duration \"%.32s\": unknown unit (use ms, s, m, h, d or w), e.g. \"90s\"",
                        s);
}
