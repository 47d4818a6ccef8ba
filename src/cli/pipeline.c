/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c - `gyre pipeline apply|list|show|run|runs`: continuous-training pipelines.
 *
 * apply parses and validates a YAML spec (errors name the line) and stores it as the
 * pipeline's next version. run triggers a run: a running server's controller picks it up
 * within a second; with --once this process is the controller and steps the run until it is
 * final (or waits in canary, which only a server that serves the traffic can judge), which is
 * what a cron job or a Kubernetes Job runs. runs shows the history with the reasons.
 */
#include "auth/auth.h"
#include "cli/cli.h"
#include "lake/lake.h"
#include "pipeline/pipeline.h"
#include "serving/serving.h"

#include <string.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

static int usage(const char *u)
{
    fprintf(stderr, "usage: gyre %s\n", u);
    return GY_EXIT_USAGE;
}

static int cmd_apply(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[4];
    size_t npos;
    struct gy_db *db = NULL;
    struct gy_pipeline_spec *s = NULL;
    struct gy_buf b;
    int64_t version = 0;
    int changed = 0, ex;
    enum gy_status rc;
    if (argc > 4 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("pipeline apply FILE [--json]");
    gy_buf_init(&b, GY_PIPELINE_MAX_SPEC + 1);
    rc = gy_file_read(pos[0], &b);
    if (rc == GY_E_TOO_LARGE)
        rc = gy_error_set(GY_E_TOO_LARGE, "%s: over %u bytes", pos[0], GY_PIPELINE_MAX_SPEC);
    if (rc == GY_OK && (rc = gy_pipeline_spec_parse_yaml(b.data ? b.data : "", b.len, &s)))
        gy_error_set(rc, "%s: %s", pos[0], gy_error_msg());
    gy_buf_free(&b);
    if (rc)
        return gy_cli_fail(rc, NULL);
    if ((ex = gy_cli_open_db(&db))) {
        gy_pipeline_spec_free(s);
        return ex;
    }
    rc = gy_pipeline_check_refs(db, s);
    if (rc)
        gy_error_set(rc, "%s: %s", pos[0], gy_error_msg());
    if (rc == GY_OK)
        rc = gy_pipeline_apply(db, s, &version, &changed);
    if (rc == GY_OK || rc != GY_E_INVALID) {
        char d[96];
        snprintf(d, sizeof d, "{\"version\": %lld, \"changed\": %s}", (long long)version,
                 changed ? "true" : "false");
        gy_audit_cli(db, "pipeline.apply", rc, rc ? NULL : d, "pipelines/%s", s->name);
    }
    if (rc == GY_OK) {
        if (o[0].value) {
            json_t *j = json_pack("{s:s, s:I, s:b}", "name", s->name, "version",
                                  (json_int_t)version, "changed", changed);
            gy_cli_print_json(j);
            json_decref(j);
        } else if (changed) {
            printf("pipeline %s: version %lld applied\n", s->name, (long long)version);
        } else {
            printf("pipeline %s: unchanged (version %lld)\n", s->name, (long long)version);
        }
    }
    gy_pipeline_spec_free(s);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

static void print_run_line(const json_t *r)
{
    char when[32], cand[48], champ[48];
    json_t *cv = json_object_get(r, "candidate_version"),
           *hv = json_object_get(r, "champion_version");
    snprintf(cand, sizeof cand, "%s", json_is_integer(cv) ? "" : "-");
    if (json_is_integer(cv))
        snprintf(cand, sizeof cand, "v%lld", (long long)json_integer_value(cv));
    if (json_is_integer(hv))
        snprintf(champ, sizeof champ, "v%lld", (long long)json_integer_value(hv));
    else
        snprintf(champ, sizeof champ, "-");
    printf("%5lld  %-11s  %-9s  %-20s  %-9s  %-9s  %s\n", (long long)gy_json_int(r, "id", 0),
           gy_json_str(r, "state", ""), gy_json_str(r, "trigger", ""),
           gy_cli_time(gy_json_int(r, "created_us", 0), when), champ, cand,
           gy_json_str(r, "reason", ""));
}

static void print_runs_header(void)
{
    printf("%5s  %-11s  %-9s  %-20s  %-9s  %-9s  %s\n", "RUN", "STATE", "TRIGGER", "CREATED",
           "CHAMPION", "CANDIDATE", "REASON");
}

static int cmd_list(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[4];
    size_t npos, i;
    struct gy_db *db = NULL;
    json_t *a = NULL, *p;
    enum gy_status rc;
    int ex;
    if (argc > 4 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("pipeline list [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_pipeline_list(db, &a);
    if (rc == GY_OK && o[0].value) {
        gy_cli_print_json(a);
    } else if (rc == GY_OK) {
        printf("%-32s  %7s  %-11s  %s\n", "NAME", "VERSION", "LAST RUN", "WAITING TRIGGER");
        json_array_foreach(a, i, p)
        {
            json_t *lr = json_object_get(p, "last_run");
            char last[48];
            if (json_is_object(lr))
                snprintf(last, sizeof last, "#%lld %s", (long long)gy_json_int(lr, "id", 0),
                         gy_json_str(lr, "state", ""));
            else
                snprintf(last, sizeof last, "-");
            printf("%-32s  %7lld  %-11s  %s\n", gy_json_str(p, "name", ""),
                   (long long)gy_json_int(p, "version", 0), last,
                   gy_json_str(p, "pending_trigger", "-"));
        }
    }
    json_decref(a);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

static int cmd_show(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}, {"--version", NULL, 1, NULL, 0}};
    char *pos[6];
    size_t npos;
    struct gy_db *db = NULL;
    struct gy_pipeline_spec *s = NULL;
    json_t *j = NULL, *runs = NULL, *out;
    int64_t version = 0, want = 0;
    enum gy_status rc;
    int ex;
    if (argc > 6 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("pipeline show NAME [--version N] [--json]");
    if (gy_cli_get(o, NOPTS(o), "--version") &&
        gy_parse_int64(gy_cli_get(o, NOPTS(o), "--version"), &want) != GY_OK)
        return usage("pipeline show NAME [--version N] [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_pipeline_get(db, pos[0], want, &s, &version);
    if (rc == GY_OK)
        rc = gy_pipeline_spec_to_json(s, &j);
    if (rc == GY_OK)
        rc = gy_pipeline_runs(db, pos[0], 5, &runs);
    if (rc == GY_OK) {
        out = json_pack("{s:s, s:I, s:O, s:O}", "name", pos[0], "version", (json_int_t)version,
                        "spec", j, "recent_runs", runs);
        if (o[0].value) {
            gy_cli_print_json(out);
        } else {
            size_t i;
            json_t *r;
            printf("pipeline %s (version %lld)\n", pos[0], (long long)version);
            gy_cli_print_json(j);
            if (json_array_size(runs)) {
                printf("recent runs:\n");
                print_runs_header();
                json_array_foreach(runs, i, r) print_run_line(r);
            }
        }
        json_decref(out);
    }
    json_decref(j);
    json_decref(runs);
    gy_pipeline_spec_free(s);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

static int cmd_runs(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}, {"--limit", "-n", 1, NULL, 0}};
    char *pos[6];
    size_t npos, i;
    struct gy_db *db = NULL;
    json_t *runs = NULL, *r;
    int64_t limit = 20;
    enum gy_status rc;
    int ex;
    if (argc > 6 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("pipeline runs NAME [-n N] [--json]");
    if (gy_cli_get(o, NOPTS(o), "--limit") &&
        (gy_parse_int64(gy_cli_get(o, NOPTS(o), "--limit"), &limit) != GY_OK || limit < 1))
        return usage("pipeline runs NAME [-n N] [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    {
        struct gy_pipeline_spec *s = NULL;
        rc = gy_pipeline_get(db, pos[0], 0, &s, NULL);
        gy_pipeline_spec_free(s);
    }
    if (rc == GY_OK)
        rc = gy_pipeline_runs(db, pos[0], limit, &runs);
    if (rc == GY_OK && o[0].value) {
        gy_cli_print_json(runs);
    } else if (rc == GY_OK) {
        print_runs_header();
        json_array_foreach(runs, i, r) print_run_line(r);
    }
    json_decref(runs);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--once", NULL, 0, NULL, 0},
                             {"--wait", NULL, 0, NULL, 0},
                             {"--timeout", NULL, 1, NULL, 0},
                             {"--json", NULL, 0, NULL, 0}};
    const char *u = "pipeline run NAME [--once | --wait] [--timeout SECONDS] [--json]";
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    struct gy_pipeline_ctl *ctl = NULL;
    int64_t run = 0, timeout_s = 3600;
    int coalesced = 0, ex, once, waitf;
    enum gy_status rc;
    json_t *rj = NULL;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage(u);
    once = o[0].value != NULL;
    waitf = o[1].value != NULL;
    if ((once && waitf) ||
        (gy_cli_get(o, NOPTS(o), "--timeout") &&
         (gy_parse_int64(gy_cli_get(o, NOPTS(o), "--timeout"), &timeout_s) || timeout_s < 1)))
        return usage(u);
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_pipeline_trigger(db, pos[0], "manual", NULL, &run, &coalesced);
    gy_audit_cli(db, "pipeline.trigger", rc, NULL, "pipelines/%s", pos[0]);
    if (rc)
        goto out;
    if (coalesced && !once && !waitf) {
        if (!o[3].value)
            printf("pipeline %s: a run is in progress; this trigger starts the next one\n", pos[0]);
        goto out;
    }
    if (!once && !waitf) {
        if (!o[3].value)
            printf("pipeline %s: run %lld triggered (a running gyre server carries it out)\n",
                   pos[0], (long long)run);
        else if ((rc = gy_pipeline_run_get(db, run, &rj)) == GY_OK)
            gy_cli_print_json(rj);
        goto out;
    }
    if (once) {
        struct gy_pipeline_ctl_opts co = {NULL, NULL, 0, pos[0], "cli"};
        if ((rc = gy_pipeline_ctl_create(db, &co, &ctl)))
            goto out;
    }
    {
        int64_t deadline = gy_time_mono_ns() + timeout_s * 1000000000LL;
        const char *last = "";
        char last_buf[32] = "";
        int64_t after = 0;
        for (;;) {
            const char *st;
            if (ctl && (rc = gy_pipeline_ctl_tick(ctl, NULL)) && rc != GY_E_BUSY)
                goto out;
            if (!run) {
                /* Coalesced: the run in progress finishes first, then ours starts. */
                json_t *runs = NULL;
                int64_t newest;
                if ((rc = gy_pipeline_runs(db, pos[0], 1, &runs)))
                    goto out;
                newest = gy_json_int(json_array_get(runs, 0), "id", 0);
                json_decref(runs);
                if (!after) {
                    after = newest;
                    if (!o[3].value)
                        fprintf(stderr, "  run %lld is in progress; this trigger starts the next\n",
                                (long long)after);
                }
                if (newest <= after) {
                    if (gy_time_mono_ns() > deadline) {
                        rc = gy_error_set(GY_E_BUSY, "run %lld still in progress after %lld s",
                                          (long long)after, (long long)timeout_s);
                        goto out;
                    }
                    usleep(ctl ? 200000 : 500000);
                    continue;
                }
                run = newest;
            }
            json_decref(rj);
            rj = NULL;
            if ((rc = gy_pipeline_run_get(db, run, &rj)))
                goto out;
            st = gy_json_str(rj, "state", "");
            if (strcmp(st, last) != 0 && !o[3].value) {
                fprintf(stderr, "  run %lld: %s\n", (long long)run, st);
                snprintf(last_buf, sizeof last_buf, "%s", st);
                last = last_buf;
            }
            if (strcmp(st, "promoted") == 0 || strcmp(st, "rejected") == 0 ||
                strcmp(st, "rolled_back") == 0 || strcmp(st, "failed") == 0)
                break;
            if (once && strcmp(st, "canary") == 0) {
                if (!o[3].value)
                    printf("pipeline %s run %lld: canary started; the server's controller "
                           "judges it on live traffic\n",
                           pos[0], (long long)run);
                break;
            }
            if (gy_time_mono_ns() > deadline) {
                rc = gy_error_set(GY_E_BUSY, "run %lld still %s after %lld s", (long long)run, st,
                                  (long long)timeout_s);
                goto out;
            }
            usleep(ctl ? 200000 : 500000);
        }
        if (o[3].value) {
            gy_cli_print_json(rj);
        } else if (strcmp(gy_json_str(rj, "state", ""), "canary") != 0) {
            printf("pipeline %s run %lld: %s\n", pos[0], (long long)run,
                   gy_json_str(rj, "reason", gy_json_str(rj, "state", "")));
        }
        if (strcmp(gy_json_str(rj, "state", ""), "failed") == 0)
            ex = GY_EXIT_FAIL;
    }
out:
    gy_pipeline_ctl_free(ctl);
    json_decref(rj);
    gy_db_free(db);
    if (rc)
        return gy_cli_fail(rc, NULL);
    return ex;
}

const struct gy_cli_cmd gy_cli_pipeline_cmds[] = {
    {"pipeline apply", "FILE [--json]",
     "validate a YAML pipeline spec and store it as the pipeline's next version", cmd_apply},
    {"pipeline list", "[--json]", "list pipelines with their last run", cmd_list},
    {"pipeline show", "NAME [--version N] [--json]", "a pipeline's spec and recent runs", cmd_show},
    {"pipeline run", "NAME [--once | --wait] [--timeout S] [--json]",
     "trigger a run (--once: carry it out in this process, for cron and Kubernetes jobs)", cmd_run},
    {"pipeline runs", "NAME [-n N] [--json]", "the history of a pipeline's runs with their reasons",
     cmd_runs},
    {NULL, NULL, NULL, NULL},
};
