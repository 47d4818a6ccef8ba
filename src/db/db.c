/* SPDX-License-Identifier: MIT */
/*
 * db.c - the common front of the metadata store: opening a data home (directories, backend
 * choice, migrations), argument checks, transaction bookkeeping and the materialized row
 * sets that both backends fill. The SQL itself runs in a backend (sqlite.c, postgres.c)
 * through struct gy_db_backend; the object store lives in objects.c.
 *
 * Environment read at open:
 *   GYRE_HOME, GYRE_DB          by gy_db_open_env only (see db.h).
 *   GYRE_DB_BUSY_TIMEOUT_MS     how long a writer waits for the write lock before GY_E_BUSY
 *                               (default 5000; 0..3600000). SQLite: the busy timeout;
 *                               PostgreSQL: lock_timeout. Tests set it low to stay fast.
 *   GYRE_KEY_FILE               the key objects are encrypted with (objects.c; see db.h).
 *   GYRE_OLD_KEY_FILE           an older key objects may still be read with (rotation).
 *
 * Transactions behave the same on both backends: after a statement fails inside a
 * transaction, further statements fail with GY_E_DB and gy_db_commit rolls back and fails, as
 * PostgreSQL does natively. Callers that expect a conflict write ON CONFLICT instead of
 * catching GY_E_EXISTS mid-transaction.
 */
#include "db/db_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MAX_MS 3600000

/* ------------------------------------------------------------------ errors */

enum gy_status gy__db_error(struct gy_db *db, enum gy_status s, const char *fmt, ...)
{
    va_list ap;
    char tmp[GY_DB_ERRMSG_CAP];
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (db)
        memcpy(db->errmsg, tmp, sizeof tmp);
    return gy_error_set(s, "%s", tmp);
}

/* ------------------------------------------------------------------ rows */

enum gy_status gy__db_rows_create(size_t ncols, struct gy_db_rows **out)
{
    struct gy_db_rows *r = gy_calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return gy_error_set(GY_E_NOMEM, "out of memory for a result set");
    r->ncols = ncols;
    if (ncols) {
        r->names = gy_calloc(ncols, sizeof *r->names);
        if (!r->names) {
            gy_free(r);
            return gy_error_set(GY_E_NOMEM, "out of memory for a result set");
        }
    }
    *out = r;
    return GY_OK;
}

enum gy_status gy__db_rows_set_name(struct gy_db_rows *r, size_t col, const char *name)
{
    if (GY_NEVER(col >= r->ncols))
        return gy_error_set(GY_E_INTERNAL, "column %zu out of range", col);
    gy_free(r->names[col]);
    r->names[col] = gy_strdup(name ? name : "");
    if (!r->names[col])
        return gy_error_set(GY_E_NOMEM, "out of memory for a column name");
    return GY_OK;
}

enum gy_status gy__db_rows_add(struct gy_db_rows *r, char ***cells)
{
    size_t ncols = r->ncols ? r->ncols : 1;
    if (r->nrows == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        char **p;
        if (cap > SIZE_MAX / sizeof(char *) / ncols)
            return gy_error_set(GY_E_TOO_LARGE, "result set too large");
        p = gy_realloc(r->cells, cap * ncols * sizeof(char *));
        if (!p)
            return gy_error_set(GY_E_NOMEM, "out of memory for a result set");
        r->cells = p;
        r->cap = cap;
    }
    *cells = r->cells + r->nrows * r->ncols;
    for (size_t i = 0; i < r->ncols; i++)
        (*cells)[i] = NULL;
    r->nrows++;
    return GY_OK;
}

void gy_db_rows_free(struct gy_db_rows *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        gy_free(r->cells[i]);
    for (size_t i = 0; i < r->ncols; i++)
        gy_free(r->names[i]);
    gy_free(r->cells);
    gy_free(r->names);
    gy_free(r);
}

size_t gy_db_rows_count(const struct gy_db_rows *r)
{
    return r ? r->nrows : 0;
}

size_t gy_db_rows_cols(const struct gy_db_rows *r)
{
    return r ? r->ncols : 0;
}

const char *gy_db_rows_name(const struct gy_db_rows *r, size_t col)
{
    if (!r || col >= r->ncols)
        return NULL;
    return r->names[col];
}

/* The cell at (row, col), or NULL for SQL NULL and out-of-range positions. */
static const char *cell(const struct gy_db_rows *r, size_t row, size_t col)
{
    if (!r || row >= r->nrows || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}

int gy_db_rows_isnull(const struct gy_db_rows *r, size_t row, size_t col)
{
    return cell(r, row, col) == NULL;
}

const char *gy_db_rows_text(const struct gy_db_rows *r, size_t row, size_t col)
{
    return cell(r, row, col);
}

/*
 * Converts cell text to an integer: decimal integers exactly, integral reals ("3", "3.0",
 * "1e3") by value. Returns 0 when the text is not an integer in range.
 */
static int text_to_int(const char *s, int64_t *out)
{
    char *end;
    long long v;
    double d;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (!errno && *end == '\0') {
        *out = v;
        return 1;
    }
    errno = 0;
    d = strtod(s, &end);
    if (*end != '\0' || !isfinite(d) || d != floor(d) || d < -9223372036854775808.0 ||
        d >= 9223372036854775808.0)
        return 0;
    *out = (int64_t)d;
    return 1;
}

int64_t gy_db_rows_int(const struct gy_db_rows *r, size_t row, size_t col)
{
    const char *s = cell(r, row, col);
    int64_t v = 0;
    char *end;
    double d;
    if (!s)
        return 0;
    if (text_to_int(s, &v))
        return v;
    /* Not an exact integer: truncate a number toward zero, saturating; other text gives 0. */
    d = strtod(s, &end);
    if (end == s || isnan(d))
        return 0;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    if (d >= 9223372036854775808.0)
        return INT64_MAX;
    return (int64_t)d;
}

double gy_db_rows_real(const struct gy_db_rows *r, size_t row, size_t col)
{
    const char *s = cell(r, row, col);
    char *end;
    double d;
    if (!s)
        return 0.0;
    d = strtod(s, &end);
    return end == s ? 0.0 : d;
}

void gy__db_format_real(double d, char out[32])
{
    if (isnan(d)) {
        snprintf(out, 32, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(out, 32, "%s", d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return; /* -0.0 == 0.0, but "%g" keeps the sign: "-0" */
    }
}

/* ------------------------------------------------------------------ checks */

/* True when s is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* Validates a statement and its parameters before any backend sees them. */
static enum gy_status check_call(struct gy_db *db, const char *sql,
                                 const struct gy_db_param *params, size_t nparams)
{
    if (!sql || !*sql)
        return gy__db_error(db, GY_E_INVALID, "no SQL statement given");
    if (nparams && !params)
        return gy__db_error(db, GY_E_INVALID, "%zu parameters announced but none given", nparams);
    for (size_t i = 0; i < nparams; i++) {
        switch (params[i].type) {
        case GY_DB_NULL:
        case GY_DB_INT:
        case GY_DB_REAL:
            break;
        case GY_DB_TEXT:
            if (params[i].s && !utf8_valid(params[i].s))
                return gy__db_error(db, GY_E_INVALID, "parameter $%zu is not valid UTF-8", i + 1);
            break;
        default:
            return gy__db_error(db, GY_E_INVALID, "parameter $%zu has unknown type %d", i + 1,
                                (int)params[i].type);
        }
    }
    if (db->in_tx && db->tx_failed)
        return gy__db_error(db, GY_E_DB,
                            "current transaction is aborted by an earlier error; roll it back");
    return GY_OK;
}

/* Records that a statement failed inside a transaction (see the file comment). */
static enum gy_status after_call(struct gy_db *db, enum gy_status rc)
{
    if (rc != GY_OK && db->in_tx)
        db->tx_failed = 1;
    return rc;
}

/* ------------------------------------------------------------------ open */

/* "a/b" from a and b, not doubling a trailing slash of a. new; NULL on OOM. */
static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] == '/';
    char *p = gy_malloc(la + lb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    if (!slash)
        p[la++] = '/';
    memcpy(p + la, b, lb + 1);
    return p;
}

static enum gy_status read_busy_timeout(int *out)
{
    const char *s = getenv("GYRE_DB_BUSY_TIMEOUT_MS");
    int64_t v;
    *out = GY_DB_BUSY_TIMEOUT_MS;
    if (!s || !*s)
        return GY_OK;
    if (gy_parse_int64(s, &v) != GY_OK || v < 0 || v > BUSY_TIMEOUT_MAX_MS)
        return gy_error_set(GY_E_INVALID,
                            "GYRE_DB_BUSY_TIMEOUT_MS: \"%s\" is not a number of milliseconds "
                            "between 0 and %d",
                            s, BUSY_TIMEOUT_MAX_MS);
    *out = (int)v;
    return GY_OK;
}

/* Picks the backend for @p url; never echoes more than the scheme (URLs hold passwords). */
static enum gy_status pick_backend(const char *url, const struct gy_db_backend **be,
                                   enum gy_db_kind *kind)
{
    const char *sep;
    if (!url || !*url) {
        *be = &gy__db_sqlite_backend;
        *kind = GY_DB_SQLITE;
        return GY_OK;
    }
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        *be = &gy__db_postgres_backend;
        *kind = GY_DB_POSTGRES;
        return GY_OK;
    }
    sep = strstr(url, "://");
    if (sep && sep - url <= 32)
        return gy_error_set(GY_E_INVALID,
                            "unsupported database URL scheme \"%.*s\" (expected postgresql:// or "
                            "none for SQLite in the data home)",
                            (int)(sep - url), url);
    return gy_error_set(GY_E_INVALID, "database URL is not of the form postgresql://...");
}

enum gy_status gy_db_open(const char *home, const char *url, struct gy_db **out)
{
    struct gy_db *db = NULL;
    char *dbpath = NULL;
    const struct gy_db_backend *be = NULL;
    enum gy_db_kind kind = GY_DB_SQLITE;
    enum gy_status rc;
    int new_home;

    if (!out)
        return gy_error_set(GY_E_INVALID, "gy_db_open: no out pointer");
    *out = NULL;
    if (!home || !*home)
        return gy_error_set(GY_E_INVALID, "no data home directory given");
    rc = pick_backend(url, &be, &kind);
    if (rc)
        return rc;

    db = gy_calloc(1, sizeof *db);
    if (!db)
        return gy_error_set(GY_E_NOMEM, "out of memory opening the data home");
    db->kind = kind;
    db->home = gy_strdup(home);
    db->objects_dir = path_join(home, "objects");
    db->tmp_dir = path_join(home, "tmp");
    if (kind == GY_DB_SQLITE)
        dbpath = path_join(home, "gyre.db");
    if (!db->home || !db->objects_dir || !db->tmp_dir || (kind == GY_DB_SQLITE && !dbpath)) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory opening the data home");
        goto out;
    }
    rc = read_busy_timeout(&db->busy_timeout_ms);
    if (rc == GY_OK)
        rc = gy__db_keys_from_env(db);
    if (rc)
        goto out;
    new_home = access(db->objects_dir, F_OK) != 0;
    if ((rc = gy_mkdir_p(home)) || (rc = gy_mkdir_p(db->objects_dir)) ||
        (rc = gy_mkdir_p(db->tmp_dir)) || (new_home && (rc = gy_fsync_dir(home)))) {
        rc = gy_error_wrap(rc, "data home %s", home);
        goto out;
    }
    /* The backend is set only now, so gy_db_free never closes a connection never opened. */
    db->be = be;
    rc = be->open(db, kind == GY_DB_SQLITE ? dbpath : url);
    if (rc)
        goto out;
    rc = gy__db_migrate(db);
    if (rc)
        rc = gy_error_wrap(rc, "migrating the metadata store of %s", home);

out:
    gy_free(dbpath);
    if (rc) {
        gy_db_free(db);
        return rc;
    }
    *out = db;
    return GY_OK;
}

enum gy_status gy_db_open_env(struct gy_db **out)
{
    const char *home = getenv("GYRE_HOME");
    const char *url = getenv("GYRE_DB");
    if (!home || !*home)
        home = "./gyre-home";
    return gy_db_open(home, url, out);
}

void gy_db_free(struct gy_db *db)
{
    if (!db)
        return;
    if (db->be) {
        if (db->in_tx)
            db->be->rollback(db);
        db->be->close(db);
    }
    gy__db_keys_clear(db);
    gy_free(db->home);
    gy_free(db->objects_dir);
    gy_free(db->tmp_dir);
    gy_free(db);
}

enum gy_db_kind gy_db_kind(const struct gy_db *db)
{
    return db->kind;
}

const char *gy_db_home(const struct gy_db *db)
{
    return db->home;
}

const char *gy_db_errmsg(const struct gy_db *db)
{
    return db->errmsg;
}

/* ------------------------------------------------------------------ transactions */

enum gy_status gy_db_begin(struct gy_db *db)
{
    enum gy_status rc;
    if (db->in_tx)
        return gy__db_error(db, GY_E_INVALID, "a transaction is already open on this handle");
    rc = db->be->begin(db);
    if (rc == GY_OK) {
        db->in_tx = 1;
        db->tx_failed = 0;
    }
    return rc;
}

enum gy_status gy_db_commit(struct gy_db *db)
{
    enum gy_status rc;
    if (!db->in_tx)
        return gy__db_error(db, GY_E_INVALID, "commit without an open transaction");
    if (db->tx_failed) {
        db->be->rollback(db);
        rc = gy__db_error(db, GY_E_DB,
                          "transaction was aborted by an earlier error and has been rolled back");
    } else {
        rc = db->be->commit(db);
        /* A failed commit leaves nothing half-done: roll back whatever is still open. */
        if (rc)
            db->be->rollback(db);
    }
    db->in_tx = 0;
    db->tx_failed = 0;
    return rc;
}

void gy_db_rollback(struct gy_db *db)
{
    if (!db || !db->in_tx)
        return;
    db->be->rollback(db);
    db->in_tx = 0;
    db->tx_failed = 0;
}

/* ------------------------------------------------------------------ statements */

enum gy_status gy_db_exec(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                          size_t nparams, int64_t *changes)
{
    enum gy_status rc;
    if (changes)
        *changes = 0;
    rc = check_call(db, sql, params, nparams);
    if (rc)
        return rc;
    return after_call(db, db->be->exec(db, sql, params, nparams, changes));
}

enum gy_status gy_db_query(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                           size_t nparams, struct gy_db_rows **out)
{
    enum gy_status rc;
    *out = NULL;
    rc = check_call(db, sql, params, nparams);
    if (rc)
        return rc;
    return after_call(db, db->be->query(db, sql, params, nparams, out));
}

enum gy_status gy__db_exec_script(struct gy_db *db, const char *sql)
{
    enum gy_status rc = check_call(db, sql, NULL, 0);
    if (rc)
        return rc;
    return after_call(db, db->be->exec_script(db, sql));
}

enum gy_status gy_db_query_int(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                               size_t nparams, int64_t *out)
{
    struct gy_db_rows *rows = NULL;
    const char *s;
    enum gy_status rc = gy_db_query(db, sql, params, nparams, &rows);
    if (rc)
        return rc;
    if (rows->nrows > 1) {
        rc = gy__db_error(db, GY_E_DB, "query returned %zu rows where at most one was expected",
                          rows->nrows);
        goto out;
    }
    s = cell(rows, 0, 0);
    if (!s) {
        /* An outcome, not a failure: the handle's last error text stays as it was. */
        rc = gy_error_set(GY_NOT_FOUND, "no value");
        goto out;
    }
    if (!text_to_int(s, out))
        rc = gy__db_error(db, GY_E_DB, "query returned \"%.64s\" where an integer was expected", s);
out:
    gy_db_rows_free(rows);
    return rc;
}

enum gy_status gy_db_schema_version(struct gy_db *db, int64_t *out)
{
    enum gy_status rc =
        gy_db_query_int(db, "SELECT MAX(version) FROM gy_schema_version", NULL, 0, out);
    if (rc == GY_NOT_FOUND) {
        *out = 0;
        rc = GY_OK;
    }
    return rc;
}
