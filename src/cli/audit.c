/* SPDX-License-Identifier: MIT */
/*
 * audit.c - audit log commands: `gyre audit list` (filters by actor, action prefix, resource
 * and time; newest first) and `gyre audit verify` (recomputes the hash chain and names the
 * first record that was edited, deleted, inserted or reordered; --anchor SEQ:HASH also checks
 * a head recorded earlier, which catches a truncated tail or a recomputed chain).
 */
#include "auth/auth.h"
#include "cli/cli.h"

#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

static int usage(const char *u)
{
    fprintf(stderr, "usage: gyre %s\n", u);
    return GY_EXIT_USAGE;
}

#define LIST_USAGE                                                                                 \
    "audit list [--actor A] [--action PREFIX] [--resource R] [--since T] [--until T] "             \
    "[--limit N] [--json]"

static int cmd_list(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--actor", NULL, 1, NULL, 0},    {"--action", NULL, 1, NULL, 0},
                             {"--resource", NULL, 1, NULL, 0}, {"--since", NULL, 1, NULL, 0},
                             {"--until", NULL, 1, NULL, 0},    {"--limit", "-n", 1, NULL, 0},
                             {"--json", NULL, 0, NULL, 0}};
    struct gy_audit_filter flt = {0};
    char *pos[16];
    size_t npos, i;
    struct gy_db *db = NULL;
    json_t *a = NULL, *r;
    enum gy_status rc;
    int ex;

    if (argc > 16 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage(LIST_USAGE);
    flt.actor = o[0].value;
    flt.action_prefix = o[1].value;
    flt.resource = o[2].value;
    if ((o[3].value && (rc = gy_audit_time_parse(o[3].value, &flt.since_us))) ||
        (o[4].value && (rc = gy_audit_time_parse(o[4].value, &flt.until_us)))) {
        gy_cli_fail(rc, NULL);
        return GY_EXIT_USAGE;
    }
    if (o[5].value && (gy_parse_int64(o[5].value, &flt.limit) || flt.limit < 1)) {
        fprintf(stderr, "gyre: --limit must be a positive number\n");
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_audit_list(db, &flt, &a);
    if (rc == GY_OK && o[6].value) {
        gy_cli_print_json(a);
    } else if (rc == GY_OK) {
        printf("%6s  %-20s  %-20s  %-14s  %-18s  %-32s  %s\n", "SEQ", "TIME", "ACTOR", "ROLE",
               "ACTION", "RESOURCE", "RESULT");
        json_array_foreach(a, i, r)
        {
            printf("%6lld  %.19sZ  %-20s  %-14s  %-18s  %-32s  %s\n",
                   (long long)gy_json_int(r, "seq", 0), gy_json_str(r, "time", ""),
                   gy_json_str(r, "actor", ""), gy_json_str(r, "role", "-"),
                   gy_json_str(r, "action", ""), gy_json_str(r, "resource", ""),
                   gy_json_str(r, "result", ""));
        }
    }
    json_decref(a);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, "audit list") : GY_EXIT_OK;
}

static int cmd_verify(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--anchor", NULL, 1, NULL, 0}, {"--json", NULL, 0, NULL, 0}};
    struct gy_audit_verify_result v;
    char *pos[8], anchor_hash[GY_SHA256_HEX_LEN + 1] = "";
    int64_t anchor_seq = 0;
    size_t npos;
    struct gy_db *db = NULL;
    enum gy_status rc;
    int ex;

    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("audit verify [--anchor SEQ:HASH] [--json]");
    if (o[0].value) {
        const char *colon = strchr(o[0].value, ':');
        char seq[24];
        size_t n = colon ? (size_t)(colon - o[0].value) : 0;
        if (!colon || n == 0 || n >= sizeof seq || !gy_is_sha256_hex(colon + 1)) {
            fprintf(stderr, "gyre: --anchor must be SEQ:HASH as `gyre audit verify` prints it\n");
            return GY_EXIT_USAGE;
        }
        memcpy(seq, o[0].value, n);
        seq[n] = '\0';
        if (gy_parse_int64(seq, &anchor_seq) || anchor_seq < 1) {
            fprintf(stderr, "gyre: --anchor: \"%s\" is not a sequence number\n", seq);
            return GY_EXIT_USAGE;
        }
        memcpy(anchor_hash, colon + 1, sizeof anchor_hash);
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_audit_verify(db, anchor_seq, anchor_hash, &v);
    if (o[1].value) {
        json_t *j = json_pack("{s:b, s:I, s:I, s:s, s:I, s:s}", "ok", rc == GY_OK, "records",
                              (json_int_t)v.records, "head_seq", (json_int_t)v.head_seq,
                              "head_hash", v.head_hash, "bad_seq", (json_int_t)v.bad_seq, "error",
                              rc ? gy_error_msg() : "");
        if (j)
            gy_cli_print_json(j);
        json_decref(j);
    }
    if (rc == GY_E_CORRUPT) {
        fprintf(stderr, "gyre: audit log is NOT intact: %s\n", gy_error_msg());
        if (v.head_seq)
            fprintf(stderr, "gyre: records 1..%lld verify; the last good one has hash %s\n",
                    (long long)v.head_seq, v.head_hash);
        gy_db_free(db);
        return GY_EXIT_FAIL;
    }
    if (rc) {
        ex = gy_cli_fail(rc, "audit verify");
        gy_db_free(db);
        return ex;
    }
    gy_db_free(db);
    if (!o[1].value) {
        printf("audit log intact: %lld records\n", (long long)v.records);
        if (v.head_seq)
            printf("head: %lld:%s\n", (long long)v.head_seq, v.head_hash);
    }
    return GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_audit_cmds[] = {
    {"audit list",
     "[--actor A] [--action PREFIX] [--resource R] [--since T] [--until T] [--limit N] [--json]",
     "list audit records, newest first (T: 2025-01-31, 2025-01-31T12:00:00Z, or 2h/7d ago)",
     cmd_list},
    {"audit verify", "[--anchor SEQ:HASH] [--json]",
     "recompute the audit log's hash chain; exit 1 naming the first tampered record", cmd_verify},
    {NULL, NULL, NULL, NULL},
};
