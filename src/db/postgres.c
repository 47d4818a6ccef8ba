/* SPDX-License-Identifier: MIT */
/*
 * postgres.c - the PostgreSQL backend of the metadata store, over libpq. The only file that
 * includes libpq-fe.h, and the one place where libpq statuses and SQLSTATEs become
 * enum gy_status.
 *
 * Parameters travel as text: integers in decimal (typed int8), reals in their shortest exact
 * form (typed float8), text and NULL untyped so the server infers the type from the column.
 * Results are read as text, as the SQLite backend materializes them; extra_float_digits is
 * raised so doubles come back exactly.
 *
 * gy_db_begin must make writers serialize as BEGIN IMMEDIATE does on SQLite, so that the
 * read-then-write transactions of upper layers behave the same on both backends: it runs
 * BEGIN and then takes a transaction-scoped advisory lock keyed by the current schema, with
 * lock_timeout set to the busy timeout (a wait past it is GY_E_BUSY). Statements outside
 * gy_db_begin do not take that lock.
 *
 * Connection errors never echo the password: the URL is shown with it masked, and the
 * password is scrubbed from libpq's message should it appear there.
 */
#include "db/db_int.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across server versions. */
#define PG_OID_INT8 20
#define PG_OID_FLOAT8 701

/* First key of gyre's advisory locks ("gy" in the high bytes); the second is per schema. */
#define PG_LOCK_WRITER 0x67790001
#define PG_LOCK_MIGRATE 0x67790002

struct pg {
    PGconn *conn;
    int32_t schema_key; /* second advisory-lock key: a hash of current_schema() */
    char *password;     /* for scrubbing messages; new, may be NULL */
};

static struct pg *pg_of(struct gy_db *db)
{
    return db->impl;
}

/* Copies @p msg into @p out without newlines at the end or inside (joined with "; "). */
static void clean_message(const char *msg, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    for (const char *p = msg ? msg : ""; *p && o + 1 < cap; p++) {
        if (*p == '\n' || *p == '\r') {
            const char *q = p;
            while (*q == '\n' || *q == '\r' || *q == ' ' || *q == '\t')
                q++;
            if (!*q)
                break;
            if (o + 3 >= cap)
                break;
            out[o++] = ';';
            out[o++] = ' ';
            p = q - 1;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
}

/* Replaces every occurrence of @p secret in @p s (in place, within @p cap) with "***". */
static void scrub(char *s, size_t cap, const char *secret)
{
    size_t n, len;
    char *from = s, *hit;
    if (!secret || !*secret)
        return;
    n = strlen(secret);
    len = strlen(s);
    while ((hit = strstr(from, secret)) != NULL) {
        size_t rest = strlen(hit + n);
        if (n < 3 && len + 3 - n >= cap) {
            memset(hit, '*', n); /* no room to grow: mask in place */
            from = hit + n;
            continue;
        }
        memmove(hit + 3, hit + n, rest + 1);
        memcpy(hit, "***", 3);
        len = len + 3 - n;
        from = hit + 3;
    }
}

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

/* Percent-decodes @p n bytes of @p s. new; NULL on OOM. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = gy_malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Appends @p n bytes of @p p to the NUL-terminated @p out of capacity @p cap, truncating. */
static void put(char *out, size_t cap, const char *p, size_t n)
{
    size_t len = strlen(out);
    if (len + 1 >= cap)
        return;
    if (n > cap - len - 1)
        n = cap - len - 1;
    memcpy(out + len, p, n);
    out[len + n] = '\0';
}

/*
 * Writes @p url with its password masked into @p out (truncated to @p cap), and sets
 * *password to the password (new, percent-decoded; NULL when there is none) for scrubbing
 * messages. Covers the user:password@ form and a password=... query parameter.
 */
static enum gy_status redact_url(const char *url, char *out, size_t cap, char **password)
{
    const char *auth = strstr(url, "://");
    const char *query, *at = NULL, *colon = NULL;

    *password = NULL;
    out[0] = '\0';
    if (!auth) {
        put(out, cap, "(unparsable URL)", 16);
        return GY_OK;
    }
    auth += 3;
    query = strchr(auth, '?');
    if (!query)
        query = auth + strlen(auth);
    for (const char *p = auth; p < query; p++)
        if (*p == '@')
            at = p;
    if (at)
        colon = memchr(auth, ':', (size_t)(at - auth));
    put(out, cap, url, (size_t)(auth - url));
    if (colon) {
        *password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        if (!*password)
            return GY_E_NOMEM;
        put(out, cap, auth, (size_t)(colon - auth));
        put(out, cap, ":***", 4);
        put(out, cap, at, (size_t)(query - at));
    } else {
        put(out, cap, auth, (size_t)(query - auth));
    }
    /* Query parameters: key=value pairs after '?', separated by '&'. */
    for (const char *p = query; *p;) {
        const char *end = strchr(p + 1, '&');
        const char *eq;
        if (!end)
            end = p + strlen(p);
        eq = memchr(p + 1, '=', (size_t)(end - p - 1));
        if (eq && eq - (p + 1) == 8 && !strncmp(p + 1, "password", 8)) {
            put(out, cap, p, (size_t)(eq - p + 1));
            put(out, cap, "***", 3);
            if (!*password) {
                *password = pct_decode(eq + 1, (size_t)(end - eq - 1));
                if (!*password)
                    return GY_E_NOMEM;
            }
        } else {
            put(out, cap, p, (size_t)(end - p));
        }
        p = end;
    }
    return GY_OK;
}

/* The connection-level error text, cleaned and scrubbed. */
static void conn_message(struct gy_db *db, char *out, size_t cap)
{
    struct pg *pg = pg_of(db);
    clean_message(pg && pg->conn ? PQerrorMessage(pg->conn) : "out of memory", out, cap);
    if (pg)
        scrub(out, cap, pg->password);
}

/*
 * Translates a failed result (or a NULL one: the connection failed or memory ran out) into a
 * gy_status with detail text. Does not PQclear @p res.
 */
static enum gy_status pg_error(struct gy_db *db, const PGresult *res)
{
    struct pg *pg = pg_of(db);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[GY_DB_ERRMSG_CAP - 64];

    if (primary)
        clean_message(primary, msg, sizeof msg);
    else
        conn_message(db, msg, sizeof msg);
    if (pg && pg->password)
        scrub(msg, sizeof msg, pg->password);
    if (!state) {
        if (pg && pg->conn && PQstatus(pg->conn) == CONNECTION_BAD)
            return gy__db_error(db, GY_E_DB, "postgres: connection lost: %s", msg);
        return gy__db_error(db, GY_E_DB, "postgres: %s", msg);
    }
    if (!strcmp(state, "23505"))
        return gy__db_error(db, GY_E_EXISTS, "%s", msg);
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        return gy__db_error(db, GY_E_BUSY, "database is busy (%s); retry", msg);
    if (!strcmp(state, "53200"))
        return gy__db_error(db, GY_E_NOMEM, "postgres: %s", msg);
    return gy__db_error(db, GY_E_DB, "postgres: %s (SQLSTATE %s)", msg, state);
}

/* Notices ("relation already exists, skipping") are not errors: keep them off stderr. */
static void pg_notice(void *arg, const char *message)
{
    GY_UNUSED(arg);
    gy_log(GY_LOG_DEBUG, "postgres notice: %s", message);
}

static enum gy_status pg_session_setup(struct gy_db *db);

/*
 * Makes sure the connection is usable before a statement: a connection found broken outside
 * a transaction is reset once (a server restart then costs no error); inside one it is an
 * error, since the transaction is gone.
 */
static enum gy_status pg_ready(struct gy_db *db)
{
    struct pg *pg = pg_of(db);
    if (PQstatus(pg->conn) == CONNECTION_OK)
        return GY_OK;
    if (!db->in_tx) {
        PQreset(pg->conn);
        /* A new session: the settings made at open are gone with the old one. */
        if (PQstatus(pg->conn) == CONNECTION_OK)
            return pg_session_setup(db);
    }
    return pg_error(db, NULL);
}

/*
 * Runs @p sql with @p params as text. On success returns the result (caller PQclears);
 * on failure NULL with the error recorded in *status.
 */
static PGresult *pg_run(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                        size_t nparams, enum gy_status *status)
{
    struct pg *pg = pg_of(db);
    const char **values = NULL;
    Oid *types = NULL;
    char(*nums)[32] = NULL;
    PGresult *res = NULL;
    ExecStatusType est;

    *status = pg_ready(db);
    if (*status)
        return NULL;
    if (nparams > 65535) {
        *status = gy__db_error(db, GY_E_TOO_LARGE, "postgres: too many parameters (%zu)", nparams);
        return NULL;
    }
    if (nparams) {
        values = gy_calloc(nparams, sizeof *values);
        types = gy_calloc(nparams, sizeof *types);
        nums = gy_calloc(nparams, sizeof *nums);
        if (!values || !types || !nums) {
            *status = gy__db_error(db, GY_E_NOMEM, "out of memory binding parameters");
            goto out;
        }
    }
    for (size_t i = 0; i < nparams; i++) {
        switch (params[i].type) {
        case GY_DB_INT:
            snprintf(nums[i], sizeof nums[i], "%lld", (long long)params[i].i);
            values[i] = nums[i];
            types[i] = PG_OID_INT8;
            break;
        case GY_DB_REAL:
            /* -0.0 goes in as 0, as on SQLite (see db_int.h). */
            gy__db_format_real(params[i].d == 0.0 ? 0.0 : params[i].d, nums[i]);
            values[i] = nums[i];
            types[i] = PG_OID_FLOAT8;
            break;
        case GY_DB_TEXT:
            values[i] = params[i].s;
            types[i] = 0;
            break;
        default:
            values[i] = NULL;
            types[i] = 0;
            break;
        }
    }
    res = PQexecParams(pg->conn, sql, (int)nparams, types, values, NULL, NULL, 0);
    est = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (est == PGRES_COMMAND_OK || est == PGRES_TUPLES_OK) {
        *status = GY_OK;
    } else if (est == PGRES_EMPTY_QUERY) {
        *status = gy__db_error(db, GY_E_DB, "postgres: empty statement");
        PQclear(res);
        res = NULL;
    } else if (res && (est == PGRES_COPY_IN || est == PGRES_COPY_OUT || est == PGRES_COPY_BOTH)) {
        *status = gy__db_error(db, GY_E_DB, "postgres: COPY is not supported through gy_db");
        PQclear(res);
        res = NULL;
        /* Leave copy mode so the connection stays usable. */
        while ((res = PQgetResult(pg->conn)) != NULL)
            PQclear(res);
    } else {
        *status = pg_error(db, res);
        PQclear(res);
        res = NULL;
    }
out:
    gy_free(values);
    gy_free(types);
    gy_free(nums);
    return res;
}

/* Runs a parameterless command (or script) and checks it succeeded. */
static enum gy_status pg_simple(struct gy_db *db, const char *sql)
{
    struct pg *pg = pg_of(db);
    enum gy_status st = pg_ready(db);
    PGresult *res;
    ExecStatusType est;
    if (st)
        return st;
    res = PQexec(pg->conn, sql);
    est = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    st = (est == PGRES_COMMAND_OK || est == PGRES_TUPLES_OK) ? GY_OK : pg_error(db, res);
    PQclear(res);
    return st;
}

static enum gy_status pg_open(struct gy_db *db, const char *url)
{
    struct pg *pg = gy_calloc(1, sizeof *pg);
    char shown[512], msg[GY_DB_ERRMSG_CAP - 600];
    /* Earlier entries are defaults the URL may override; client_encoding comes after it. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                          "client_encoding", NULL};
    const char *vals[] = {"10", "gyre", url, "UTF8", NULL};

    if (!pg)
        return gy__db_error(db, GY_E_NOMEM, "out of memory connecting to PostgreSQL");
    db->impl = pg;
    if (redact_url(url, shown, sizeof shown, &pg->password) != GY_OK)
        return gy__db_error(db, GY_E_NOMEM, "out of memory connecting to PostgreSQL");
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (!pg->conn)
        return gy__db_error(db, GY_E_NOMEM, "out of memory connecting to PostgreSQL");
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        conn_message(db, msg, sizeof msg);
        return gy__db_error(db, GY_E_DB, "cannot connect to PostgreSQL at %s: %s", shown, msg);
    }
    PQsetNoticeProcessor(pg->conn, pg_notice, NULL);
    if (PQserverVersion(pg->conn) < 100000)
        return gy__db_error(
            db, GY_E_UNSUPPORTED, "PostgreSQL %d.%d is too old: gyre needs 10 or newer",
            PQserverVersion(pg->conn) / 10000, PQserverVersion(pg->conn) / 100 % 100);
    return pg_session_setup(db);
}

/*
 * Session settings, made after connecting and again after a reset: exact doubles, the busy
 * timeout as lock_timeout, and the advisory-lock key of the current schema (stores in
 * different schemas do not contend).
 */
static enum gy_status pg_session_setup(struct gy_db *db)
{
    struct pg *pg = pg_of(db);
    char set[64];
    PGresult *res;
    enum gy_status st;
    snprintf(set, sizeof set, "SET lock_timeout = %d", db->busy_timeout_ms);
    if ((st = pg_simple(db, "SET extra_float_digits = 3")) || (st = pg_simple(db, set)))
        return st;
    res = pg_run(db, "SELECT current_schema()", NULL, 0, &st);
    if (!res)
        return st;
    pg->schema_key = 0;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        const char *s = PQgetvalue(res, 0, 0);
        pg->schema_key = (int32_t)(uint32_t)gy_hash64(s, strlen(s), 0x67797265);
    }
    PQclear(res);
    return GY_OK;
}

static void pg_close(struct gy_db *db)
{
    struct pg *pg = pg_of(db);
    if (!pg)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    if (pg->password) {
        memset(pg->password, 0, strlen(pg->password));
        gy_free(pg->password);
    }
    gy_free(pg);
    db->impl = NULL;
}

static void pg_rollback(struct gy_db *db)
{
    struct pg *pg = pg_of(db);
    PGresult *res;
    if (!pg || !pg->conn || PQstatus(pg->conn) != CONNECTION_OK ||
        PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
        return;
    res = PQexec(pg->conn, "ROLLBACK");
    PQclear(res);
}

/* Takes gyre's transaction-scoped advisory lock @p key1 for this schema. */
static enum gy_status pg_xact_lock(struct gy_db *db, int32_t key1)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%ld, %ld)", (long)key1,
             (long)pg_of(db)->schema_key);
    return pg_simple(db, sql);
}

static enum gy_status pg_begin(struct gy_db *db)
{
    enum gy_status st = pg_simple(db, "BEGIN");
    if (st)
        return st;
    st = pg_xact_lock(db, PG_LOCK_WRITER);
    if (st == GY_E_BUSY)
        st = gy__db_error(db, GY_E_BUSY, GY_DB_BUSY_TEXT);
    if (st)
        pg_rollback(db);
    return st;
}

static enum gy_status pg_commit(struct gy_db *db)
{
    struct pg *pg = pg_of(db);
    enum gy_status st = pg_ready(db);
    PGresult *res;
    if (st)
        return st;
    res = PQexec(pg->conn, "COMMIT");
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        st = pg_error(db, res);
    } else if (!strcmp(PQcmdStatus(res), "ROLLBACK")) {
        /* The server turns COMMIT of a failed transaction into ROLLBACK and calls it ok. */
        st = gy__db_error(db, GY_E_DB, "postgres: transaction was rolled back by the server");
    }
    PQclear(res);
    return st;
}

static enum gy_status pg_exec(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                              size_t nparams, int64_t *changes)
{
    enum gy_status st;
    PGresult *res = pg_run(db, sql, params, nparams, &st);
    if (!res)
        return st;
    if (changes) {
        const char *n = PQcmdTuples(res);
        int64_t v = 0;
        *changes = (n && *n && gy_parse_int64(n, &v) == GY_OK) ? v : 0;
    }
    PQclear(res);
    return GY_OK;
}

static enum gy_status pg_query(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                               size_t nparams, struct gy_db_rows **out)
{
    enum gy_status st;
    struct gy_db_rows *rows = NULL;
    PGresult *res = pg_run(db, sql, params, nparams, &st);
    int nf, nt;
    if (!res)
        return st;
    nf = PQnfields(res);
    nt = PQntuples(res);
    st = gy__db_rows_create((size_t)nf, &rows);
    for (int c = 0; st == GY_OK && c < nf; c++)
        st = gy__db_rows_set_name(rows, (size_t)c, PQfname(res, c));
    for (int r = 0; st == GY_OK && r < nt; r++) {
        char **cells;
        st = gy__db_rows_add(rows, &cells);
        for (int c = 0; st == GY_OK && c < nf; c++) {
            if (PQgetisnull(res, r, c))
                continue;
            cells[c] = gy_strndup(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
            if (!cells[c])
                st = gy_error_set(GY_E_NOMEM, "out of memory reading a result row");
        }
    }
    PQclear(res);
    if (st) {
        gy_db_rows_free(rows);
        return gy__db_error(db, st, "%s", gy_error_msg());
    }
    *out = rows;
    return GY_OK;
}

static enum gy_status pg_exec_script(struct gy_db *db, const char *sql)
{
    return pg_simple(db, sql);
}

static enum gy_status pg_migrate_lock(struct gy_db *db)
{
    return pg_xact_lock(db, PG_LOCK_MIGRATE);
}

const struct gy_db_backend gy__db_postgres_backend = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .query = pg_query,
    .exec_script = pg_exec_script,
    .migrate_lock = pg_migrate_lock,
};
