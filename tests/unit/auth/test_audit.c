/* SPDX-License-Identifier: MIT */
/*
 * test_audit.c - the hash-chained audit log (src/auth/audit.c) on both backends: appending,
 * canonical details, truncation of free text, transactions shared with the caller, the CLI
 * helper, filters, and tamper detection through raw SQL (edited, deleted, reordered, inserted
 * records, a truncated tail caught by an anchor), plus concurrent writers that must not fork
 * the chain, and the time parser of the filters.
 */
#include "../store_fixture.h"

#include <sys/wait.h>

#include "auth/auth.h"

#define NWRITERS 4
#define PER_WRITER 20

static void rec(struct gy_db *db, const char *actor, const char *action, const char *resource,
                const char *detail, const char *result, int64_t t)
{
    struct gy_audit_entry e = {.actor = actor,
                               .role = "admin",
                               .action = action,
                               .resource = resource,
                               .detail = detail,
                               .result = result,
                               .time_us = t};
    OK(gy_audit_record(db, &e));
}

/* Six records at times 1000..6000 s. */
static void six(struct gy_db *db)
{
    rec(db, "cli:alice", "token.create", "tokens/ci", "{\"role\":\"viewer\"}", "ok", 1000000000LL);
    rec(db, "ci", "ingest", "datasets/sales", "{\"rows\":10}", "ok", 2000000000LL);
    rec(db, "ci", "train", "runs/abc", NULL, "error: out of memory", 3000000000LL);
    rec(db, "deployer", "deploy.update", "deployments/fraud", "{\"revision\":2}", "ok",
        4000000000LL);
    rec(db, "deployer", "deploy.rollback", "deployments/fraud", NULL, "denied: token expired",
        5000000000LL);
    rec(db, "cli:alice", "token.revoke", "tokens/ci", NULL, "ok", 6000000000LL);
}

static void expect_intact(struct gy_db *db, int64_t records)
{
    struct gy_audit_verify_result v;
    OK(gy_audit_verify(db, 0, NULL, &v));
    cr_assert_eq(v.records, records);
    cr_assert_eq(v.head_seq, records);
    cr_assert_eq(v.bad_seq, 0);
    cr_assert_eq(strlen(v.head_hash), records ? 64 : 0);
}

static void expect_bad(struct gy_db *db, int64_t bad_seq, const char *why)
{
    struct gy_audit_verify_result v;
    enum gy_status rc = gy_audit_verify(db, 0, NULL, &v);
    cr_assert_eq(rc, GY_E_CORRUPT, "verify passed a tampered log");
    cr_assert_eq(v.bad_seq, bad_seq, "first bad record %lld, wanted %lld (%s)",
                 (long long)v.bad_seq, (long long)bad_seq, gy_error_msg());
    cr_assert(strstr(gy_error_msg(), why), "\"%s\" lacks \"%s\"", gy_error_msg(), why);
    cr_assert_eq(v.head_seq, bad_seq - 1, "head is the last good record");
}

static void sql(struct gy_db *db, const char *q)
{
    OK(gy_db_exec(db, q, NULL, 0, NULL));
}

DB_TEST(audit_chain_appends_and_verifies)
{
    struct gy_db_rows *r = NULL;
    expect_intact(f->db, 0);
    six(f->db);
    expect_intact(f->db, 6);
    OK(gy_db_query(f->db, "SELECT seq, prev_hash, hash, detail FROM audit_log ORDER BY seq", NULL,
                   0, &r));
    cr_assert_eq(gy_db_rows_count(r), 6);
    cr_assert_str_eq(gy_db_rows_text(r, 0, 1),
                     "0000000000000000000000000000000000000000000000000000000000000000");
    for (size_t i = 1; i < 6; i++)
        cr_assert_str_eq(gy_db_rows_text(r, i, 1), gy_db_rows_text(r, i - 1, 2));
    cr_assert_str_eq(gy_db_rows_text(r, 2, 3), "{}");
    gy_db_rows_free(r);
}

DB_TEST(audit_details_are_canonical_and_text_is_cut)
{
    char big[3000], result[1200];
    struct gy_db_rows *r = NULL;
    struct gy_audit_entry e = {.actor = "a", .action = "x.y", .result = "ok"};

    rec(f->db, "a", "x.y", "r", "{ \"b\": 1, \"a\": [true, null] }", "ok", 0);
    /* "é" is two bytes: a cut must not split it. */
    snprintf(result, sizeof result, "error: ");
    for (size_t i = strlen(result); i + 2 < sizeof result; i += 2)
        memcpy(result + i, "\xc3\xa9", 3);
    memset(big, 'r', sizeof big);
    big[sizeof big - 1] = '\0';
    rec(f->db, "a", "x.y", big, NULL, result, 0);
    OK(gy_db_query(f->db, "SELECT detail, resource, result, time_us FROM audit_log ORDER BY seq",
                   NULL, 0, &r));
    cr_assert_str_eq(gy_db_rows_text(r, 0, 0), "{\"a\":[true,null],\"b\":1}");
    cr_assert_eq(strlen(gy_db_rows_text(r, 1, 1)), 1024);
    cr_assert_leq(strlen(gy_db_rows_text(r, 1, 2)), 1024);
    cr_assert_eq((strlen(gy_db_rows_text(r, 1, 2)) - 7) % 2, 0, "a UTF-8 sequence was split");
    cr_assert_gt(gy_db_rows_int(r, 0, 3), 1600000000000000LL, "time defaults to now");
    gy_db_rows_free(r);
    expect_intact(f->db, 2);

    /* Refused entries change nothing. */
    e.detail = "[1]";
    cr_assert_eq(gy_audit_record(f->db, &e), GY_E_INVALID);
    e.detail = "{bad";
    cr_assert_eq(gy_audit_record(f->db, &e), GY_E_INVALID);
    e.detail = NULL;
    e.action = "Deploy Update";
    cr_assert_eq(gy_audit_record(f->db, &e), GY_E_INVALID);
    e.action = "x.y";
    e.actor = "";
    cr_assert_eq(gy_audit_record(f->db, &e), GY_E_INVALID);
    e.actor = "a";
    e.result = NULL;
    cr_assert_eq(gy_audit_record(f->db, &e), GY_E_INVALID);
    cr_assert_eq(gy_audit_record(f->db, NULL), GY_E_INVALID);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM audit_log"), 2);
}

DB_TEST(audit_record_shares_the_callers_transaction)
{
    struct gy_audit_entry e = {.actor = "a", .action = "deploy.update", .result = "ok"};
    OK(gy_db_begin(f->db));
    OK(gy_audit_record_tx(f->db, &e));
    gy_db_rollback(f->db);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM audit_log"), 0);
    OK(gy_db_begin(f->db));
    OK(gy_audit_record_tx(f->db, &e));
    OK(gy_audit_record_tx(f->db, &e));
    OK(gy_db_commit(f->db));
    expect_intact(f->db, 2);
}

DB_TEST(audit_cli_helper_keeps_the_error_text)
{
    json_t *l = NULL;
    setenv("USER", "carol", 1);
    gy_error_set(GY_E_INVALID, "dataset.csv:3: bad number");
    OK(gy_audit_cli(f->db, "ingest", GY_E_INVALID, "{\"file\":\"dataset.csv\"}", "datasets/%s",
                    "sales"));
    cr_assert_str_eq(gy_error_msg(), "dataset.csv:3: bad number");
    OK(gy_audit_cli(f->db, "ingest", GY_OK, NULL, "datasets/%s", "sales"));
    OK(gy_audit_list(f->db, NULL, &l));
    cr_assert_eq(json_array_size(l), 2);
    cr_assert_str_eq(gy_json_str(json_array_get(l, 1), "actor", ""), "cli:carol");
    cr_assert_str_eq(gy_json_str(json_array_get(l, 1), "role", ""), "admin");
    cr_assert_str_eq(gy_json_str(json_array_get(l, 1), "resource", ""), "datasets/sales");
    cr_assert_str_eq(gy_json_str(json_array_get(l, 1), "result", ""),
                     "error: dataset.csv:3: bad number");
    cr_assert_str_eq(gy_json_str(json_array_get(l, 0), "result", ""), "ok");
    cr_assert_str_eq(gy_json_str(json_object_get(json_array_get(l, 1), "detail"), "file", ""),
                     "dataset.csv");
    json_decref(l);
}

DB_TEST(audit_list_filters)
{
    struct gy_audit_filter flt = {0};
    json_t *l = NULL;
    six(f->db);

    OK(gy_audit_list(f->db, &flt, &l));
    cr_assert_eq(json_array_size(l), 6);
    cr_assert_eq(gy_json_int(json_array_get(l, 0), "seq", 0), 6, "newest first");
    cr_assert_str_eq(gy_json_str(json_array_get(l, 5), "time", ""), "1970-01-01T00:16:40.000000Z");
    cr_assert_eq(strlen(gy_json_str(json_array_get(l, 0), "hash", "")), 64);
    json_decref(l);

    flt.actor = "deployer";
    OK(gy_audit_list(f->db, &flt, &l));
    cr_assert_eq(json_array_size(l), 2);
    json_decref(l);

    flt.actor = NULL;
    flt.action_prefix = "token.";
    OK(gy_audit_list(f->db, &flt, &l));
    cr_assert_eq(json_array_size(l), 2);
    cr_assert_str_eq(gy_json_str(json_array_get(l, 0), "action", ""), "token.revoke");
    json_decref(l);

    flt.action_prefix = "deploy";
    flt.resource = "deployments/fraud";
    OK(gy_audit_list(f->db, &flt, &l));
    cr_assert_eq(json_array_size(l), 2);
    json_decref(l);

    flt.action_prefix = NULL;
    flt.resource = NULL;
    flt.since_us = 2000000000LL;
    flt.until_us = 5000000000LL;
    OK(gy_audit_list(f->db, &flt, &l));
    cr_assert_eq(json_array_size(l), 3);
    cr_assert_eq(gy_json_int(json_array_get(l, 0), "seq", 0), 4);
    cr_assert_eq(gy_json_int(json_array_get(l, 2), "seq", 0), 2);
    json_decref(l);

    flt.since_us = flt.until_us = 0;
    flt.limit = 2;
    OK(gy_audit_list(f->db, &flt, &l));
    cr_assert_eq(json_array_size(l), 2);
    json_decref(l);

    flt.limit = 10001;
    cr_assert_eq(gy_audit_list(f->db, &flt, &l), GY_E_INVALID);
    flt.limit = 0;
    flt.action_prefix = "x'; DROP TABLE audit_log; --";
    cr_assert_eq(gy_audit_list(f->db, &flt, &l), GY_E_INVALID);
    cr_assert_null(l);
}

DB_TEST(audit_detects_edits)
{
    six(f->db);
    sql(f->db, "UPDATE audit_log SET result = 'ok' WHERE seq = 3");
    expect_bad(f->db, 3, "record 3: content does not match its hash");
}

DB_TEST(audit_detects_edit_of_each_field)
{
    static const char *const edits[] = {
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
        "UPDATE audit_log SET role = 'viewer' WHERE seq = 2",
        "UPDATE audit_log SET action = 'ingest.x' WHERE seq = 2",
        "UPDATE audit_log SET resource = 'datasets/other' WHERE seq = 2",
        "UPDATE audit_log SET detail = '{\"rows\":11}' WHERE seq = 2",
        "UPDATE audit_log SET time_us = time_us + 1 WHERE seq = 2",
        ("UPDATE audit_log SET hash = '000000000000000000000000000000000000000000000000000000000000"
         "0001' WHERE seq = 2"),
    };
    six(f->db);
    for (size_t i = 0; i < GY_ARRAY_LEN(edits); i++) {
        OK(gy_db_begin(f->db));
        sql(f->db, edits[i]);
        expect_bad(f->db, 2, "record 2");
        gy_db_rollback(f->db);
        expect_intact(f->db, 6);
    }
}

DB_TEST(audit_detects_deletions)
{
    six(f->db);
    OK(gy_db_begin(f->db));
    sql(f->db, "DELETE FROM audit_log WHERE seq = 1");
    expect_bad(f->db, 1, "record 1 is missing (deleted)");
    gy_db_rollback(f->db);
    OK(gy_db_begin(f->db));
    sql(f->db, "DELETE FROM audit_log WHERE seq IN (3, 4)");
    expect_bad(f->db, 3, "record 3 is missing (deleted), and the records up to 4 with it");
    gy_db_rollback(f->db);
    /* Renumbering the rest to hide a deletion breaks the hashes. */
    OK(gy_db_begin(f->db));
    sql(f->db, "DELETE FROM audit_log WHERE seq = 3");
    sql(f->db, "UPDATE audit_log SET seq = seq - 1 WHERE seq > 3");
    expect_bad(f->db, 3, "record 3");
    gy_db_rollback(f->db);
    expect_intact(f->db, 6);
}

DB_TEST(audit_detects_reordering_and_insertion)
{
    struct gy_audit_verify_result v;
    six(f->db);
    OK(gy_db_begin(f->db));
    sql(f->db, "UPDATE audit_log SET seq = 100 WHERE seq = 2");
    sql(f->db, "UPDATE audit_log SET seq = 2 WHERE seq = 4");
    sql(f->db, "UPDATE audit_log SET seq = 4 WHERE seq = 100");
    expect_bad(f->db, 2, "record 2");
    gy_db_rollback(f->db);

    /* An inserted record after the head with a made-up hash. */
    OK(gy_db_begin(f->db));
    sql(f->db, "INSERT INTO audit_log (seq, time_us, actor, role, action, resource, detail, result,"
               " prev_hash, hash) SELECT 7, time_us, actor, role, action, resource, detail,"
               " result, hash, prev_hash FROM audit_log WHERE seq = 6");
    expect_bad(f->db, 7, "record 7: content does not match");
    gy_db_rollback(f->db);
    /* One squeezed in between with the old numbers shifted up. */
    OK(gy_db_begin(f->db));
    sql(f->db, "UPDATE audit_log SET seq = seq + 10 WHERE seq >= 4");
    sql(f->db, "UPDATE audit_log SET seq = seq - 9 WHERE seq >= 14");
    sql(f->db, "INSERT INTO audit_log (seq, time_us, actor, role, action, resource, detail, result,"
               " prev_hash, hash) SELECT 4, time_us, 'mallory', role, action, resource, detail,"
               " result, hash, hash FROM audit_log WHERE seq = 3");
    cr_assert_eq(gy_audit_verify(f->db, 0, NULL, &v), GY_E_CORRUPT);
    cr_assert_eq(v.bad_seq, 4, "%s", gy_error_msg());
    gy_db_rollback(f->db);
    expect_intact(f->db, 6);
}

DB_TEST(audit_anchor_catches_truncation_and_rewrites)
{
    struct gy_audit_verify_result v, head;
    six(f->db);
    OK(gy_audit_verify(f->db, 0, NULL, &head));
    OK(gy_audit_verify(f->db, 6, head.head_hash, &v));
    /* Dropping the tail is invisible to the chain itself, not to an anchor. */
    sql(f->db, "DELETE FROM audit_log WHERE seq >= 5");
    OK(gy_audit_verify(f->db, 0, NULL, &v));
    cr_assert_eq(v.records, 4);
    cr_assert_eq(gy_audit_verify(f->db, 6, head.head_hash, &v), GY_E_CORRUPT);
    cr_assert_eq(v.bad_seq, 6);
    cr_assert(strstr(gy_error_msg(), "truncated"), "%s", gy_error_msg());
    cr_assert_eq(gy_audit_verify(f->db, 4, head.head_hash, &v), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "does not match the anchor"), "%s", gy_error_msg());
}

/* A child: appends PER_WRITER records through its own handle, retrying when busy. */
static int writer(const struct fx *f, int id)
{
    struct gy_db *db = NULL;
    char actor[32];
    if (fx_open(f, &db))
        return 10;
    snprintf(actor, sizeof actor, "writer-%d", id);
    for (int i = 0; i < PER_WRITER; i++) {
        struct gy_audit_entry e = {.actor = actor, .action = "test.write", .result = "ok"};
        enum gy_status rc;
        int tries = 0;
        while ((rc = gy_audit_record(db, &e)) == GY_E_BUSY && tries++ < 50)
            usleep(10000);
        if (rc) {
            gy_db_free(db);
            return 20;
        }
    }
    gy_db_free(db);
    return 0;
}

DB_TEST(audit_concurrent_writers_do_not_fork_the_chain)
{
    pid_t pids[NWRITERS];
    gy_db_free(f->db);
    f->db = NULL;
    fflush(NULL);
    for (int i = 0; i < NWRITERS; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0, "fork");
        if (pids[i] == 0)
            _exit(writer(f, i));
    }
    for (int i = 0; i < NWRITERS; i++) {
        int status = 0;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed (%d)", i,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    OK(fx_open(f, &f->db));
    expect_intact(f->db, NWRITERS * PER_WRITER);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(DISTINCT prev_hash) FROM audit_log"),
                 NWRITERS * PER_WRITER);
}

Test(audit, time_parse)
{
    static const struct {
        const char *s;
        int64_t us;
    } good[] = {
        {"1970-01-01", 0},
        {"2025-01-31", 1738281600000000LL},
        {"2025-01-31T12:00:00Z", 1738324800000000LL},
        {"2025-01-31T12:00Z", 1738324800000000LL},
        {"2025-01-31 12:00:00.5Z", 1738324800500000LL},
        {"2025-01-31T14:00:00+02:00", 1738324800000000LL},
        {"2025-01-31T11:30:00.000001-00:30", 1738324800000001LL},
    };
    static const char *const bad[] = {"",
                                      "2025-1-31",
                                      "2025-01-31T",
                                      "2025/01/31",
                                      "2025-13-01",
                                      "2025-01-31T25:00Z",
                                      "yesterday",
                                      "2025-01-31T12:00:00X",
                                      "2025-01-31T12:00+2"};
    int64_t us, now = gy_time_wall_us();
    for (size_t i = 0; i < GY_ARRAY_LEN(good); i++) {
        cr_assert_eq(gy_audit_time_parse(good[i].s, &us), GY_OK, "%s: %s", good[i].s,
                     gy_error_msg());
        cr_assert_eq(us, good[i].us, "%s: %lld", good[i].s, (long long)us);
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy_audit_time_parse(bad[i], &us), GY_E_INVALID, "%s", bad[i]);
    OK(gy_audit_time_parse("2h", &us));
    cr_assert(us <= now - 7200000000LL + 60000000 && us >= now - 7200000000LL - 60000000);
    OK(gy_audit_time_parse("now", &us));
    cr_assert_geq(us, now);
}
