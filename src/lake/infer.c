/* SPDX-License-Identifier: MIT */
/*
 * infer.c - schema inference for ingest: reads the first records of an input with the
 * streaming reader and gives each column the narrowest type that all its non-null values
 * parse as, in the order bool, int64, float64, timestamp, string. The optional report says
 * per column what was seen and why a column fell back to a wider type.
 *
 * Rules (see docs/internals/lake-readers.md): null tokens do not constrain a column; bool
 * takes only true/false/yes/no/t/f in any case (never 0/1) or JSON true/false; quoted CSV
 * fields and JSON strings that look like numbers count as numbers; timestamp takes only RFC
 * 3339 text, never integers; a column with no values at all is a string column.
 */
#include "lake/lake_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define INFER_DEFAULT_ROWS 10000
#define INFER_SAMPLE 40 /* bytes of a value quoted in the report */

enum {
    CAN_BOOL = 1,
    CAN_INT = 2,
    CAN_FLOAT = 4,
    CAN_TS = 8,
};

struct infer_col {
    unsigned can;    /* CAN_* types every value so far parses as */
    uint64_t values; /* non-null values */
    uint64_t nulls;
    /* The value that ruled out the last numeric type, for the report. */
    char why[INFER_SAMPLE + 8];
    uint64_t why_line;
};

static int bool_word(const char *p, size_t len)
{
    static const char *const words[] = {"true", "false", "yes", "no", "t", "f"};
    for (size_t i = 0; i < GY_ARRAY_LEN(words); i++) {
        size_t wl = strlen(words[i]);
        if (len != wl)
            continue;
        size_t k = 0;
        while (k < len) {
            char c = p[k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != words[i][k])
                break;
            k++;
        }
        if (k == len)
            return 1;
    }
    return 0;
}

/* RFC 3339 text (a date, optionally a time): never a bare integer. */
static int rfc3339(const char *p, size_t len)
{
    int64_t us;
    if (len < 10 || p[4] != '-')
        return 0;
    return gy__parse_timestamp(p, len, &us) == GY_OK;
}

/* Keeps a short printable copy of a value for the report. */
static void keep_sample(struct infer_col *c, const char *p, size_t len, uint64_t line)
{
    size_t n = len > INFER_SAMPLE ? INFER_SAMPLE : len, o = 0;
    while (n < len && n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        c->why[o++] = (ch < 0x20 || ch == 0x7F || ch == '"') ? '?' : (char)ch;
    }
    if (n < len) {
        memcpy(c->why + o, "...", 3);
        o += 3;
    }
    c->why[o] = '\0';
    c->why_line = line;
}

static void infer_field(struct infer_col *c, const struct gy_field *f, uint64_t line)
{
    unsigned can = c->can, before;

    if (f->kind == GY_FIELD_NULL || gy__is_null_token(f->p, f->len, GY_TYPE_STRING)) {
        c->nulls++;
        return;
    }
    c->values++;
    if (can == 0)
        return;
    before = can;
    if (f->kind == GY_FIELD_BOOL) {
        can &= CAN_BOOL;
    } else {
        if ((can & CAN_BOOL) && !bool_word(f->p, f->len))
            can &= ~(unsigned)CAN_BOOL;
        if (can & CAN_INT) {
            int64_t v;
            if (gy__parse_i64(f->p, f->len, &v) != GY_OK)
                can &= ~(unsigned)CAN_INT;
        }
        if (can & CAN_FLOAT) {
            double v;
            /* "NaN" is a float64 null. */
            if (!gy__is_null_token(f->p, f->len, GY_TYPE_FLOAT64) &&
                gy__parse_f64_padded(f->p, f->len, &v) != GY_OK) /* a reader's TEXT field */
                can &= ~(unsigned)CAN_FLOAT;
        }
        if ((can & CAN_TS) && !rfc3339(f->p, f->len))
            can &= ~(unsigned)CAN_TS;
    }
    /* Remember the value that made the column a string, or int64 a float64. */
    if (can != before &&
        (can == 0 || ((before & CAN_INT) && !(can & CAN_INT) && (can & CAN_FLOAT))))
        keep_sample(c, f->p, f->len, line);
    c->can = can;
}

static enum gy_type infer_pick(const struct infer_col *c)
{
    if (c->values == 0)
        return GY_TYPE_STRING;
    if (c->can & CAN_BOOL)
        return GY_TYPE_BOOL;
    if (c->can & CAN_INT)
        return GY_TYPE_INT64;
    if (c->can & CAN_FLOAT)
        return GY_TYPE_FLOAT64;
    if (c->can & CAN_TS)
        return GY_TYPE_TIMESTAMP;
    return GY_TYPE_STRING;
}

static enum gy_status infer_report(struct gy_buf *b, const char *name, enum gy_type t,
                                   const struct infer_col *c)
{
    enum gy_status st = gy_buf_printf(b, "%s: %s (%llu value%s, %llu null%s", name, gy_type_name(t),
                                      (unsigned long long)c->values, c->values == 1 ? "" : "s",
                                      (unsigned long long)c->nulls, c->nulls == 1 ? "" : "s");
    if (st != GY_OK)
        return st;
    if (c->values == 0)
        st = gy_buf_puts(b, ", no values: string");
    else if (t == GY_TYPE_STRING && c->why_line)
        st = gy_buf_printf(b, ", \"%s\" at line %llu is not a bool, number or timestamp", c->why,
                           (unsigned long long)c->why_line);
    else if (t == GY_TYPE_FLOAT64 && c->why_line)
        st = gy_buf_printf(b, ", \"%s\" at line %llu is not an integer", c->why,
                           (unsigned long long)c->why_line);
    if (st != GY_OK)
        return st;
    return gy_buf_puts(b, ")\n");
}

/*
 * JSON Lines objects need not all carry every key: a key first seen on line 40 is a column
 * too. For a seekable input, collects the union of top-level keys (in order of first
 * appearance) over the lines inference will sample, so the reader extracts all of them.
 * Lines that do not parse are skipped here; the reader reports them with their location.
 * Leaves the file offset at 0. *names (new, NULL-terminated array of new strings) is NULL
 * when the input is not seekable.
 */
static enum gy_status jsonl_key_union(int fd, size_t sample_rows, char ***names, size_t *n)
{
    struct gy_buf b;
    char **v = NULL;
    size_t nv = 0, cap = 0, lines = 0, at = 0;
    enum gy_status st;
    *names = NULL;
    *n = 0;
    if (lseek(fd, 0, SEEK_SET) != 0)
        return GY_OK;
    gy_buf_init(&b, (size_t)64 << 20);
    st = gy_fd_read_all(fd, &b);
    if (st == GY_E_TOO_LARGE)
        st = GY_OK; /* the first 64 MiB are a large enough sample */
    if (st != GY_OK)
        goto out;
    if (b.len >= 3 && memcmp(b.data, "\xEF\xBB\xBF", 3) == 0)
        at = 3;
    while (at < b.len && lines < sample_rows) {
        char *nl = memchr(b.data + at, '\n', b.len - at);
        size_t end = nl ? (size_t)(nl - b.data) : b.len;
        json_t *o = NULL;
        const char *k;
        json_t *val;
        if (!nl && st == GY_OK && b.len == b.max)
            break; /* a line cut by the sample limit */
        if (end > at && gy_json_parse(b.data + at, end - at, 64, "line", &o) == GY_OK &&
            json_is_object(o)) {
            lines++;
            json_object_foreach(o, k, val)
            {
                size_t i;
                for (i = 0; i < nv && strcmp(v[i], k) != 0; i++)
                    ;
                if (i < nv)
                    continue;
                if (nv + 2 > cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    char **t = gy_realloc(v, nc * sizeof *v);
                    if (!t) {
                        json_decref(o);
                        st = gy_error_set(GY_E_NOMEM, "out of memory");
                        goto out;
                    }
                    v = t;
                    cap = nc;
                }
                if (!(v[nv] = gy_strdup(k))) {
                    json_decref(o);
                    st = gy_error_set(GY_E_NOMEM, "out of memory");
                    goto out;
                }
                v[++nv] = NULL;
                if (nv > GY_LAKE_MAX_COLUMNS) {
                    json_decref(o);
                    st = gy_error_set(GY_E_TOO_LARGE, "more than %d distinct keys",
                                      GY_LAKE_MAX_COLUMNS);
                    goto out;
                }
            }
        }
        json_decref(o);
        at = end + 1;
    }
    gy_error_clear();
    if (lseek(fd, 0, SEEK_SET) != 0)
        st = gy_error_set(GY_E_IO, "cannot rewind the input: %s", strerror(errno));
out:
    gy_buf_free(&b);
    if (st != GY_OK || nv == 0) {
        for (size_t i = 0; i < nv; i++)
            gy_free(v[i]);
        gy_free(v);
        return st;
    }
    *names = v;
    *n = nv;
    return GY_OK;
}

enum gy_status gy_lake_infer_schema(int fd, const struct gy_ingest_opts *opts, size_t sample_rows,
                                    struct gy_schema **out, struct gy_buf *report)
{
    struct gy_reader *r = NULL;
    struct infer_col *cols = NULL;
    struct gy_schema *s = NULL;
    const char *const *names;
    size_t ncols, rows = 0, bad = 0;
    size_t max_bad = opts ? opts->skip_bad_rows : 0;
    enum gy_status st;

    *out = NULL;
    if (sample_rows == 0)
        sample_rows = INFER_DEFAULT_ROWS;
    st = gy__reader_create(fd, opts, NULL, 0, &r);
    if (st != GY_OK)
        goto out;
    if (gy__reader_format(r) == GY_FORMAT_JSONL) {
        char **keys = NULL;
        size_t nkeys = 0;
        st = jsonl_key_union(fd, sample_rows, &keys, &nkeys);
        if (st == GY_OK && keys) {
            gy__reader_free(r);
            r = NULL;
            st = gy__reader_create(fd, opts, (const char *const *)keys, nkeys, &r);
        }
        for (size_t i = 0; keys && i < nkeys; i++)
            gy_free(keys[i]);
        gy_free(keys);
        if (st != GY_OK)
            goto out;
    }
    gy__reader_columns(r, &names, &ncols);
    cols = gy_calloc(ncols, sizeof(*cols));
    if (cols == NULL) {
        st = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ncols; i++)
        cols[i].can = CAN_BOOL | CAN_INT | CAN_FLOAT | CAN_TS;
    while (rows < sample_rows) {
        const struct gy_record *rec;
        st = gy__reader_next(r, &rec);
        if (st == GY_NOT_FOUND)
            break;
        if (st == GY_E_INVALID && bad < max_bad) {
            /* Tolerated like ingest does; ingest reports each bad row itself. */
            bad++;
            continue;
        }
        if (st != GY_OK)
            goto out;
        for (size_t i = 0; i < rec->nfields && i < ncols; i++)
            infer_field(&cols[i], &rec->fields[i], rec->line);
        rows++;
    }
    s = gy_schema_create(ncols);
    if (s == NULL) {
        st = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ncols; i++) {
        s->cols[i].type = infer_pick(&cols[i]);
        s->cols[i].name = gy_strdup(names[i]);
        if (s->cols[i].name == NULL) {
            st = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        if (report != NULL) {
            st = infer_report(report, names[i], s->cols[i].type, &cols[i]);
            if (st != GY_OK) {
                gy_error_set(st, "schema inference report: %s", gy_status_str(st));
                goto out;
            }
        }
    }
    *out = s;
    s = NULL;
    st = GY_OK;
out:
    gy_schema_free(s);
    gy_free(cols);
    gy__reader_free(r);
    return st;
}
