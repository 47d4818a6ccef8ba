/* SPDX-License-Identifier: MIT */
/*
 * sqlite.c - the SQLite backend of the metadata store (the default: home/gyre.db). The only
 * file that includes sqlite3.h, and the one place where SQLite result codes become
 * enum gy_status.
 *
 * The database runs in WAL mode with synchronous=FULL, so an acknowledged commit survives
 * kill -9 and power loss; foreign keys are on; writers wait up to the busy timeout for the
 * write lock. Statements use $1, $2, ... placeholders, which SQLite treats as named
 * parameters: each one the statement uses is bound by its number, and a statement that uses
 * a parameter that was not given (or leaves given ones unused) is refused, as PostgreSQL
 * does. Results are materialized as text: integers in decimal, reals in their shortest exact
 * form.
 */
#include "db/db_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static sqlite3 *conn_of(struct gy_db *db)
{
    return db->impl;
}

/* Translates a SQLite result code (extended codes are on) into a gy_status plus text. */
static enum gy_status sq_error(struct gy_db *db, int rc, const char *what)
{
    sqlite3 *c = conn_of(db);
    const char *msg = c ? sqlite3_errmsg(c) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return gy__db_error(db, GY_E_BUSY, GY_DB_BUSY_TEXT);
    case SQLITE_NOMEM:
        return gy__db_error(db, GY_E_NOMEM, "sqlite: out of memory");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return gy__db_error(db, GY_E_CORRUPT, "sqlite: %s%s%s (code %d)", what ? what : "",
                            what ? ": " : "", msg, rc);
    default:
        break;
    }
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return gy__db_error(db, GY_E_EXISTS, "%s", msg);
    return gy__db_error(db, GY_E_DB, "sqlite: %s%s%s (code %d)", what ? what : "", what ? ": " : "",
                        msg, rc);
}

/* Runs a statement that needs no parameters and whose rows are not needed. */
static enum gy_status sq_simple(struct gy_db *db, const char *sql)
{
    int rc = sqlite3_exec(conn_of(db), sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? GY_OK : sq_error(db, rc, NULL);
}

/* Runs a one-row, one-column pragma and checks its text result (case-insensitive). */
static enum gy_status sq_pragma_expect(struct gy_db *db, const char *sql, const char *want)
{
    sqlite3_stmt *st = NULL;
    enum gy_status ret = GY_OK;
    int rc = sqlite3_prepare_v2(conn_of(db), sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(db, rc, sql);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *got = (const char *)sqlite3_column_text(st, 0);
        if (!got || strcasecmp(got, want) != 0)
            ret = gy__db_error(db, GY_E_DB, "sqlite: %s gave \"%s\", expected \"%s\"", sql,
                               got ? got : "", want);
    } else if (rc != SQLITE_DONE) {
        ret = sq_error(db, rc, sql);
    }
    sqlite3_finalize(st);
    return ret;
}

/*
 * Switches the file to WAL. A fresh file opened by several processes at once can answer
 * SQLITE_BUSY here without consulting the busy handler (the journal-mode change needs an
 * exclusive lock, and SQLite refuses to wait for one while others hold shared locks, to
 * avoid deadlock), so this retries itself until the busy timeout has passed.
 */
static enum gy_status sq_set_wal(struct gy_db *db)
{
    int64_t deadline = gy_time_mono_ns() + (int64_t)db->busy_timeout_ms * 1000000;
    for (;;) {
        enum gy_status ret = sq_pragma_expect(db, "PRAGMA journal_mode=WAL", "wal");
        struct timespec ts = {0, 2000000};
        if (ret != GY_E_BUSY || gy_time_mono_ns() >= deadline)
            return ret;
        nanosleep(&ts, NULL);
    }
}

static enum gy_status sq_open(struct gy_db *db, const char *path)
{
    sqlite3 *c = NULL;
    enum gy_status ret;
    int rc = sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    db->impl = c;
    if (rc != SQLITE_OK) {
        if (!c)
            return gy__db_error(db, GY_E_NOMEM, "sqlite: out of memory opening %s", path);
        return sq_error(db, rc, path);
    }
    sqlite3_extended_result_codes(c, 1);
    sqlite3_busy_timeout(c, db->busy_timeout_ms);
    if ((ret = sq_set_wal(db)) || (ret = sq_simple(db, "PRAGMA synchronous=FULL")) ||
        (ret = sq_simple(db, "PRAGMA foreign_keys=ON")) ||
        (ret = sq_pragma_expect(db, "PRAGMA foreign_keys", "1")))
        return gy_error_wrap(ret, "%s", path);
    return GY_OK;
}

static void sq_close(struct gy_db *db)
{
    /* sqlite3_close_v2 also finalizes lazily should a statement have leaked. */
    if (db->impl)
        sqlite3_close_v2(conn_of(db));
    db->impl = NULL;
}

static enum gy_status sq_begin(struct gy_db *db)
{
    return sq_simple(db, "BEGIN IMMEDIATE");
}

static enum gy_status sq_commit(struct gy_db *db)
{
    return sq_simple(db, "COMMIT");
}

static void sq_rollback(struct gy_db *db)
{
    if (db->impl && !sqlite3_get_autocommit(conn_of(db)))
        sqlite3_exec(conn_of(db), "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Rewrites the portable "$N" placeholders to SQLite's numbered "?N" form, outside string
 * literals, quoted identifiers and comments. SQLite resolves "$N" as a *named* parameter
 * with a linear lookup per occurrence (quadratic in the parameter count of a multi-row
 * INSERT); "?N" is positional. *out is new (gy_free).
 */
static enum gy_status sq_rewrite(struct gy_db *db, const char *sql, char **out)
{
    size_t n = strlen(sql);
    char *r = gy_malloc(n + 1), q = 0;
    if (!r)
        return gy__db_error(db, GY_E_NOMEM, "out of memory preparing a statement");
    for (size_t i = 0; i <= n; i++) {
        char c = sql[i];
        r[i] = c;
        if (q) {
            if (q == '-' && c == '\n')
                q = 0;
            else if (q == '*' && c == '*' && sql[i + 1] == '/') {
                r[++i] = '/';
                q = 0;
            } else if (c == q && q != '-' && q != '*')
                q = 0; /* a doubled quote re-enters the literal on the next character */
        } else if (c == '\'' || c == '"' || c == '`') {
            q = c;
        } else if (c == '[') {
            q = ']';
        } else if (c == '-' && sql[i + 1] == '-') {
            q = '-';
        } else if (c == '/' && sql[i + 1] == '*') {
            q = '*';
        } else if (c == '$' && isdigit((unsigned char)sql[i + 1])) {
            r[i] = '?';
        }
    }
    *out = r;
    return GY_OK;
}

/*
 * Binds params to every parameter @p st uses (positional ?N after sq_rewrite). The highest N
 * must be nparams: PostgreSQL refuses surplus parameters too.
 */
static enum gy_status sq_bind(struct gy_db *db, sqlite3_stmt *st, const struct gy_db_param *params,
                              size_t nparams)
{
    int count = sqlite3_bind_parameter_count(st);
    if ((size_t)count > nparams)
        return gy__db_error(db, GY_E_DB, "sqlite: statement uses parameter $%d but %zu were given",
                            count, nparams);
    if ((size_t)count != nparams)
        return gy__db_error(db, GY_E_DB, "sqlite: %zu parameters given but the statement uses %d",
                            nparams, count);
    for (int i = 1; i <= count; i++) {
        const struct gy_db_param *p = &params[i - 1];
        const char *name = sqlite3_bind_parameter_name(st, i);
        int rc;
        /* Every parameter must be a portable $N (now ?N); a gap in the numbers has no name. */
        if (!name || name[0] != '?')
            return gy__db_error(db, GY_E_DB, "sqlite: parameter %d is not of the form $N", i);
        switch (p->type) {
        case GY_DB_INT:
            rc = sqlite3_bind_int64(st, i, p->i);
            break;
        case GY_DB_REAL:
            /* -0.0 is stored as 0 (see db_int.h); SQLite would do so on disk anyway. */
            rc = sqlite3_bind_double(st, i, p->d == 0.0 ? 0.0 : p->d);
            break;
        case GY_DB_TEXT:
            rc =
                p->s ? sqlite3_bind_text(st, i, p->s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
            break;
        default:
            rc = sqlite3_bind_null(st, i);
            break;
        }
        if (rc != SQLITE_OK)
            return sq_error(db, rc, "binding parameters");
    }
    return GY_OK;
}

/* Refuses a second statement after the first one (comments and semicolons are fine). */
static enum gy_status sq_check_tail(struct gy_db *db, const char *tail)
{
    sqlite3_stmt *st = NULL;
    int rc;
    while (*tail && (isspace((unsigned char)*tail) || *tail == ';'))
        tail++;
    if (!*tail)
        return GY_OK;
    rc = sqlite3_prepare_v2(conn_of(db), tail, -1, &st, NULL);
    if (rc == SQLITE_OK && !st)
        return GY_OK;
    sqlite3_finalize(st);
    return gy__db_error(db, GY_E_DB, "sqlite: only one statement per call is allowed");
}

/* Copies the current row of @p st into a new row of @p rows. */
static enum gy_status sq_copy_row(struct gy_db *db, sqlite3_stmt *st, struct gy_db_rows *rows)
{
    char **cells;
    enum gy_status rc = gy__db_rows_add(rows, &cells);
    if (rc)
        return gy__db_error(db, rc, "%s", gy_error_msg());
    for (size_t c = 0; c < rows->ncols; c++) {
        int col = (int)c;
        char num[32];
        switch (sqlite3_column_type(st, col)) {
        case SQLITE_NULL:
            continue;
        case SQLITE_INTEGER:
            snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, col));
            cells[c] = gy_strdup(num);
            break;
        case SQLITE_FLOAT:
            gy__db_format_real(sqlite3_column_double(st, col), num);
            cells[c] = gy_strdup(num);
            break;
        default: {
            const unsigned char *t = sqlite3_column_text(st, col);
            int n = sqlite3_column_bytes(st, col);
            cells[c] = t ? gy_strndup((const char *)t, (size_t)n) : gy_strdup("");
            break;
        }
        }
        if (!cells[c])
            return gy__db_error(db, GY_E_NOMEM, "out of memory reading a result row");
    }
    return GY_OK;
}

/*
 * Prepares, binds and steps one statement to completion. Rows go to *out when @p out is
 * given; *changes gets the rows changed (rows returned for a read-only statement, as
 * PostgreSQL's command tag reports).
 */
static enum gy_status sq_run(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                             size_t nparams, int64_t *changes, struct gy_db_rows **out)
{
    sqlite3 *c = conn_of(db);
    sqlite3_stmt *st = NULL;
    struct gy_db_rows *rows = NULL;
    const char *tail = NULL;
    char *text = NULL;
    sqlite3_int64 total0;
    int64_t nrows = 0;
    enum gy_status ret;
    int rc;

    if (out)
        *out = NULL;
    if ((ret = sq_rewrite(db, sql, &text)) != GY_OK)
        return ret;
    rc = sqlite3_prepare_v2(c, text, -1, &st, &tail);
    if (rc != SQLITE_OK) {
        ret = sq_error(db, rc, NULL);
        goto out;
    }
    if (!st) {
        ret = gy__db_error(db, GY_E_DB, "sqlite: empty statement");
        goto out;
    }
    if ((ret = sq_check_tail(db, tail)) || (ret = sq_bind(db, st, params, nparams)))
        goto out;
    if (out) {
        int ncols = sqlite3_column_count(st);
        if ((ret = gy__db_rows_create((size_t)ncols, &rows))) {
            ret = gy__db_error(db, ret, "%s", gy_error_msg());
            goto out;
        }
        for (int i = 0; i < ncols; i++)
            if ((ret = gy__db_rows_set_name(rows, (size_t)i, sqlite3_column_name(st, i)))) {
                ret = gy__db_error(db, ret, "%s", gy_error_msg());
                goto out;
            }
    }
    total0 = sqlite3_total_changes64(c);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        nrows++;
        if (rows && (ret = sq_copy_row(db, st, rows)))
            goto out;
    }
    if (rc != SQLITE_DONE) {
        ret = sq_error(db, rc, NULL);
        goto out;
    }
    if (changes) {
        if (sqlite3_stmt_readonly(st))
            *changes = nrows;
        else
            *changes = sqlite3_total_changes64(c) != total0 ? sqlite3_changes64(c) : 0;
    }
    ret = GY_OK;
out:
    gy_free(text);
    sqlite3_finalize(st);
    if (ret)
        gy_db_rows_free(rows);
    else if (out)
        *out = rows;
    return ret;
}

static enum gy_status sq_exec(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                              size_t nparams, int64_t *changes)
{
    return sq_run(db, sql, params, nparams, changes, NULL);
}

static enum gy_status sq_query(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                               size_t nparams, struct gy_db_rows **out)
{
    return sq_run(db, sql, params, nparams, NULL, out);
}

static enum gy_status sq_exec_script(struct gy_db *db, const char *sql)
{
    return sq_simple(db, sql);
}

/* BEGIN IMMEDIATE already excludes every other writer, migrations included. */
static enum gy_status sq_migrate_lock(struct gy_db *db)
{
    GY_UNUSED(db);
    return GY_OK;
}

const struct gy_db_backend gy__db_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .query = sq_query,
    .exec_script = sq_exec_script,
    .migrate_lock = sq_migrate_lock,
};
