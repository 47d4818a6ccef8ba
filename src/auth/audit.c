/* SPDX-License-Identifier: MIT */
/*
 * audit.c - the tamper-evident audit log. Each record (seq, time, actor, role, action,
 * resource, detail, result) carries prev_hash, the hash of the record before it, and
 * hash = SHA-256(prev_hash || canonical serialization of its own fields), the first record's
 * prev_hash being 32 zero bytes. A record is appended inside a write transaction that takes
 * the store's writer lock (BEGIN IMMEDIATE on SQLite, gyre's advisory lock on PostgreSQL)
 * before reading the head, and seq is the primary key, so two writers can never fork the
 * chain. Verification walks the log in seq order and names the first record that was edited,
 * deleted, inserted or reordered. Anyone able to rewrite the database can recompute a whole
 * chain or drop its tail; an anchor (seq and hash) kept elsewhere catches both.
 */
#include "auth/auth.h"

#include <string.h>
#include <time.h>

#define ACTOR_MAX 256
#define ROLE_MAX 64
#define ACTION_MAX 128
#define RESOURCE_MAX 1024
#define RESULT_MAX 1024
#define DETAIL_MAX (64 * 1024)
#define LIST_DEFAULT 100
#define LIST_MAX 10000
#define VERIFY_PAGE 1000

static const char zero_hash[GY_SHA256_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Length of @p s cut to at most @p max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

static void hash_field(struct gy_sha256 *h, const char *s, size_t n)
{
    char len[24];
    int k = snprintf(len, sizeof len, "%zu:", n);
    gy_sha256_update(h, len, (size_t)k);
    gy_sha256_update(h, s, n);
    gy_sha256_update(h, ";", 1);
}

/*
 * The record hash: SHA-256 over the 32 bytes of @p prev_hex, the tag "gyre-audit-v1\n", then
 * seq and time in decimal and the six text fields, each written "<byte length>:<bytes>;".
 */
static void record_hash(const char *prev_hex, int64_t seq, int64_t time_us, const char *const f[6],
                        char out[GY_SHA256_HEX_LEN + 1])
{
    struct gy_sha256 h;
    uint8_t prev[GY_SHA256_LEN] = {0}, digest[GY_SHA256_LEN];
    char num[24];
    for (size_t i = 0; i < GY_SHA256_LEN && prev_hex && strlen(prev_hex) == 64; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = prev_hex[2 * i + (size_t)k];
            v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
        }
        prev[i] = (uint8_t)v;
    }
    gy_sha256_init(&h);
    gy_sha256_update(&h, prev, sizeof prev);
    gy_sha256_update(&h, "gyre-audit-v1\n", 14);
    snprintf(num, sizeof num, "%lld", (long long)seq);
    hash_field(&h, num, strlen(num));
    snprintf(num, sizeof num, "%lld", (long long)time_us);
    hash_field(&h, num, strlen(num));
    for (int i = 0; i < 6; i++)
        hash_field(&h, f[i] ? f[i] : "", f[i] ? strlen(f[i]) : 0);
    gy_sha256_final(&h, digest);
    gy_hex_encode(digest, sizeof digest, out);
}

static int action_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static enum gy_status action_valid(const char *a, const char *what)
{
    size_t n = a ? strlen(a) : 0;
    if (n == 0 || n > ACTION_MAX)
        return gy_error_set(GY_E_INVALID, "%s must have 1 to %d characters", what, ACTION_MAX);
    for (size_t i = 0; i < n; i++)
        if (!action_char(a[i]))
            return gy_error_set(GY_E_INVALID,
                                "%s \"%.128s\": character %zu is not one of a-z 0-9 . _ -", what, a,
                                i + 1);
    return GY_OK;
}

/* The detail as canonical JSON (keys sorted, compact) into @p out. */
static enum gy_status detail_canonical(const char *detail, struct gy_buf *out)
{
    json_t *j = NULL;
    enum gy_status rc;
    size_t n = detail ? strlen(detail) : 0;
    if (!detail || n == 0)
        return gy_buf_puts(out, "{}");
    if (n > DETAIL_MAX)
        return gy_buf_printf(out, "{\"truncated\":true,\"bytes\":%zu}", n);
    rc = gy_json_parse(detail, n, 32, "audit detail", &j);
    if (rc)
        return rc;
    if (!json_is_object(j)) {
        json_decref(j);
        return gy_error_set(GY_E_INVALID, "audit detail must be a JSON object");
    }
    {
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        rc = text ? gy_buf_puts(out, text) : gy_error_set(GY_E_NOMEM, "out of memory");
        gy_free(text);
    }
    json_decref(j);
    if (rc == GY_OK && out->len > DETAIL_MAX) {
        gy_buf_reset(out);
        rc = gy_buf_printf(out, "{\"truncated\":true,\"bytes\":%zu}", n);
    }
    return rc;
}

enum gy_status gy_audit_record_tx(struct gy_db *db, const struct gy_audit_entry *e)
{
    char *actor = NULL, *role = NULL, *resource = NULL, *result = NULL;
    char hash[GY_SHA256_HEX_LEN + 1], prev[GY_SHA256_HEX_LEN + 1];
    struct gy_db_rows *r = NULL;
    struct gy_db_param p[10];
    struct gy_buf detail;
    int64_t seq = 1, when;
    enum gy_status rc;

    gy_buf_init(&detail, 2 * DETAIL_MAX);
    if (!e || !e->actor || !*e->actor || !e->result || !*e->result)
        return gy_error_set(GY_E_INVALID, "an audit record needs an actor and a result");
    if ((rc = action_valid(e->action, "audit action")))
        return rc;
    if ((rc = detail_canonical(e->detail, &detail)))
        goto out;
    actor = gy_strndup(e->actor, utf8_cut(e->actor, ACTOR_MAX));
    role = gy_strndup(e->role ? e->role : "", utf8_cut(e->role ? e->role : "", ROLE_MAX));
    resource = gy_strndup(e->resource ? e->resource : "",
                          utf8_cut(e->resource ? e->resource : "", RESOURCE_MAX));
    result = gy_strndup(e->result, utf8_cut(e->result, RESULT_MAX));
    if (!actor || !role || !resource || !result) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    rc = gy_db_query(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", NULL, 0, &r);
    if (rc)
        goto out;
    memcpy(prev, zero_hash, sizeof prev);
    if (gy_db_rows_count(r) == 1) {
        const char *h = gy_db_rows_text(r, 0, 1);
        seq = gy_db_rows_int(r, 0, 0) + 1;
        snprintf(prev, sizeof prev, "%s", h ? h : zero_hash);
    }
    when = e->time_us ? e->time_us : gy_time_wall_us();
    {
        const char *const f[6] = {actor, role, e->action, resource, detail.data, result};
        record_hash(prev, seq, when, f, hash);
    }
    p[0] = GY_DB_P_INT(seq);
    p[1] = GY_DB_P_INT(when);
    p[2] = GY_DB_P_TEXT(actor);
    p[3] = GY_DB_P_TEXT(role);
    p[4] = GY_DB_P_TEXT(e->action);
    p[5] = GY_DB_P_TEXT(resource);
    p[6] = GY_DB_P_TEXT(detail.data);
    p[7] = GY_DB_P_TEXT(result);
    p[8] = GY_DB_P_TEXT(prev);
    p[9] = GY_DB_P_TEXT(hash);
    rc = gy_db_exec(db,
                    "INSERT INTO audit_log (seq, time_us, actor, role, action, resource, detail,"
                    " result, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    p, 10, NULL);
out:
    gy_db_rows_free(r);
    gy_buf_free(&detail);
    gy_free(actor);
    gy_free(role);
    gy_free(resource);
    gy_free(result);
    return rc;
}

enum gy_status gy_audit_record(struct gy_db *db, const struct gy_audit_entry *e)
{
    enum gy_status rc = gy_db_begin(db);
    if (rc)
        return gy_error_wrap(rc, "audit log");
    rc = gy_audit_record_tx(db, e);
    if (rc) {
        gy_db_rollback(db);
        return gy_error_wrap(rc, "audit log");
    }
    rc = gy_db_commit(db);
    return rc ? gy_error_wrap(rc, "audit log") : GY_OK;
}

enum gy_status gy_audit_cli(struct gy_db *db, const char *action, enum gy_status rc,
                            const char *detail, const char *resource_fmt, ...)
{
    struct gy_auth_principal me;
    struct gy_audit_entry e = {0};
    char saved[1024], result[1100], resource[RESOURCE_MAX + 1];
    enum gy_status arc;
    va_list ap;

    snprintf(saved, sizeof saved, "%s", gy_error_msg());
    resource[0] = '\0';
    if (resource_fmt) {
        va_start(ap, resource_fmt);
        vsnprintf(resource, sizeof resource, resource_fmt, ap);
        va_end(ap);
    }
    gy_auth_principal_local(&me);
    if (rc == GY_OK)
        snprintf(result, sizeof result, "ok");
    else
        snprintf(result, sizeof result, "error: %s", saved[0] ? saved : gy_status_str(rc));
    e.actor = me.name;
    e.role = gy_auth_role_name(me.role);
    e.action = action;
    e.resource = resource;
    e.detail = detail;
    e.result = result;
    arc = db ? gy_audit_record(db, &e) : gy_error_set(GY_E_INVALID, "no data home");
    if (arc)
        gy_log(GY_LOG_WARN, "audit: could not record %s %s: %s", action ? action : "?", resource,
               gy_error_msg());
    gy_error_set(rc, "%s", saved);
    return arc;
}

/* ------------------------------------------------------------------ verify */

enum gy_status gy_audit_verify(struct gy_db *db, int64_t anchor_seq, const char *anchor_hash,
                               struct gy_audit_verify_result *res)
{
    char prev[GY_SHA256_HEX_LEN + 1], hash[GY_SHA256_HEX_LEN + 1];
    int64_t expect = 1, anchor_found = 0;
    enum gy_status rc = GY_OK;

    memset(res, 0, sizeof *res);
    memcpy(prev, zero_hash, sizeof prev);
    for (;;) {
        struct gy_db_rows *r = NULL;
        struct gy_db_param p[2] = {GY_DB_P_INT(expect - 1), GY_DB_P_INT(VERIFY_PAGE)};
        size_t n;
        rc = gy_db_query(db,
                         "SELECT seq, time_us, actor, role, action, resource, detail, result,"
                         " prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                         p, 2, &r);
        if (rc)
            return rc;
        n = gy_db_rows_count(r);
        for (size_t i = 0; i < n; i++) {
            int64_t seq = gy_db_rows_int(r, i, 0);
            const char *stored_prev = gy_db_rows_text(r, i, 8);
            const char *stored = gy_db_rows_text(r, i, 9);
            const char *const f[6] = {gy_db_rows_text(r, i, 2), gy_db_rows_text(r, i, 3),
                                      gy_db_rows_text(r, i, 4), gy_db_rows_text(r, i, 5),
                                      gy_db_rows_text(r, i, 6), gy_db_rows_text(r, i, 7)};
            if (seq != expect) {
                res->bad_seq = expect;
                if (seq > expect + 1)
                    rc = gy_error_set(GY_E_CORRUPT,
                                      "record %lld is missing (deleted), and the records up to "
                                      "%lld with it",
                                      (long long)expect, (long long)(seq - 1));
                else
                    rc = gy_error_set(GY_E_CORRUPT, "record %lld is missing (deleted)",
                                      (long long)expect);
                break;
            }
            if (!stored_prev || strcmp(stored_prev, prev) != 0) {
                res->bad_seq = seq;
                rc = gy_error_set(GY_E_CORRUPT,
                                  "record %lld: prev_hash does not match record %lld (inserted, "
                                  "deleted or reordered)",
                                  (long long)seq, (long long)(seq - 1));
                break;
            }
            record_hash(prev, seq, gy_db_rows_int(r, i, 1), f, hash);
            if (!stored || strcmp(stored, hash) != 0) {
                res->bad_seq = seq;
                rc = gy_error_set(GY_E_CORRUPT,
                                  "record %lld: content does not match its hash (edited or "
                                  "reordered)",
                                  (long long)seq);
                break;
            }
            if (anchor_seq == seq) {
                if (!anchor_hash || strcmp(anchor_hash, hash) != 0) {
                    res->bad_seq = seq;
                    rc = gy_error_set(GY_E_CORRUPT,
                                      "record %lld does not match the anchor's hash (the chain "
                                      "was rewritten)",
                                      (long long)seq);
                    break;
                }
                anchor_found = 1;
            }
            memcpy(prev, hash, sizeof prev);
            res->records++;
            res->head_seq = seq;
            memcpy(res->head_hash, hash, sizeof hash);
            expect++;
        }
        gy_db_rows_free(r);
        if (rc || n < VERIFY_PAGE)
            break;
    }
    if (rc == GY_OK && anchor_seq > 0 && !anchor_found) {
        res->bad_seq = anchor_seq;
        rc = gy_error_set(GY_E_CORRUPT,
                          "record %lld of the anchor is missing: the log ends at record %lld "
                          "(truncated)",
                          (long long)anchor_seq, (long long)res->head_seq);
    }
    return rc;
}

/* ------------------------------------------------------------------ list */

enum gy_status gy_audit_list(struct gy_db *db, const struct gy_audit_filter *f, json_t **out)
{
    struct gy_db_sql q;
    struct gy_db_rows *r = NULL;
    json_t *arr = NULL;
    int64_t limit = f && f->limit > 0 ? f->limit : LIST_DEFAULT;
    enum gy_status rc;

    *out = NULL;
    if (limit > LIST_MAX)
        return gy_error_set(GY_E_INVALID, "limit must be at most %d", LIST_MAX);
    if (f && f->action_prefix && *f->action_prefix &&
        (rc = action_valid(f->action_prefix, "action prefix")))
        return rc;
    gy_db_sql_init(&q);
    gy_db_sql_printf(&q, "SELECT seq, time_us, actor, role, action, resource, detail, result, hash"
                         " FROM audit_log WHERE 1 = 1");
    if (f && f->actor) {
        gy_db_sql_printf(&q, " AND actor = ");
        gy_db_sql_param(&q, GY_DB_P_TEXT(f->actor));
    }
    if (f && f->action_prefix && *f->action_prefix) {
        gy_db_sql_printf(&q, " AND substr(action, 1, CAST(");
        gy_db_sql_param(&q, GY_DB_P_INT(strlen(f->action_prefix)));
        gy_db_sql_printf(&q, " AS INTEGER)) = ");
        gy_db_sql_param(&q, GY_DB_P_TEXT(f->action_prefix));
    }
    if (f && f->resource) {
        gy_db_sql_printf(&q, " AND resource = ");
        gy_db_sql_param(&q, GY_DB_P_TEXT(f->resource));
    }
    if (f && f->since_us) {
        gy_db_sql_printf(&q, " AND time_us >= ");
        gy_db_sql_param(&q, GY_DB_P_INT(f->since_us));
    }
    if (f && f->until_us) {
        gy_db_sql_printf(&q, " AND time_us < ");
        gy_db_sql_param(&q, GY_DB_P_INT(f->until_us));
    }
    gy_db_sql_printf(&q, " ORDER BY seq DESC LIMIT ");
    gy_db_sql_param(&q, GY_DB_P_INT(limit));
    rc = q.rc;
    if (rc == GY_OK)
        rc = gy_db_query(db, q.sql.data, q.p, q.np, &r);
    gy_db_sql_free(&q);
    if (rc)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr && i < gy_db_rows_count(r); i++) {
        json_t *detail = NULL, *o;
        const char *d = gy_db_rows_text(r, i, 6);
        char t[32];
        gy_time_format(gy_db_rows_int(r, i, 1), t);
        if (!d || gy_json_parse(d, strlen(d), 32, "detail", &detail))
            detail = json_string(d ? d : "");
        o = json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:s?, s:s?}", "seq",
                      (json_int_t)gy_db_rows_int(r, i, 0), "time", t, "actor",
                      gy_db_rows_text(r, i, 2), "role", gy_db_rows_text(r, i, 3), "action",
                      gy_db_rows_text(r, i, 4), "resource", gy_db_rows_text(r, i, 5), "detail",
                      detail, "result", gy_db_rows_text(r, i, 7), "hash", gy_db_rows_text(r, i, 8));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    gy_db_rows_free(r);
    if (!arr)
        return gy_error_set(GY_E_NOMEM, "out of memory listing the audit log");
    *out = arr;
    return GY_OK;
}

/* ------------------------------------------------------------------ times */

/* Reads exactly @p n digits at *p into *v, advancing *p. */
static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return 0;
        *v = *v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return 1;
}

enum gy_status gy_audit_time_parse(const char *s, int64_t *out_us)
{
    const char *p = s;
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, oh, om;
    int64_t frac = 0, scale = 100000, off = 0, dur;
    time_t t;

    *out_us = 0;
    if (!s || !*s)
        goto bad;
    if (strcmp(s, "now") == 0) {
        *out_us = gy_time_wall_us();
        return GY_OK;
    }
    if (strlen(s) < 10) {
        if (gy_auth_duration_parse(s, &dur) || dur == 0)
            goto bad;
        *out_us = gy_time_wall_us() - dur;
        return GY_OK;
    }
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        goto bad;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            goto bad;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &sec))
                goto bad;
            if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                    goto bad;
                for (; *p >= '0' && *p <= '9'; p++) {
                    frac += scale * (*p - '0');
                    scale /= 10;
                }
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
                goto bad;
            off = sign * ((int64_t)oh * 3600 + om * 60);
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        goto bad;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *out_us = ((int64_t)t - off) * 1000000 + frac;
    return GY_OK;
bad:
    return gy_error_set(GY_E_INVALID,
                        "bad time \"%.40s\": expected RFC 3339 (2025-01-31 or "
                        "2025-01-31T12:00:00Z), a duration ago (2h, 7d) or \"now\"",
                        s ? s : "");
}
