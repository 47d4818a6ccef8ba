/* SPDX-License-Identifier: MIT */
/*
 * runs.c - tracking commands: `gyre runs list|show|compare` and `gyre experiments
 * list|create`. Tables for people, --json for scripts (the same JSON the MLflow API returns).
 */
#include "cli/cli.h"
#include "tracking/tracking.h"

#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

/* Milliseconds since the epoch as RFC 3339 (seconds precision) into out[32]; "-" for 0. */
static const char *fmt_ms(int64_t ms, char out[32])
{
    if (ms <= 0) {
        snprintf(out, 32, "-");
        return out;
    }
    gy_time_format(ms * 1000, out);
    if (strlen(out) > 19) {
        out[19] = 'Z';
        out[20] = '\0';
    }
    return out;
}

/* A JSON value as display text into out (numbers in %.6g, "NaN" kept). */
static const char *fmt_value(const json_t *v, char *out, size_t cap)
{
    if (json_is_string(v))
        snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        snprintf(out, cap, "%.6g", json_number_value(v));
    else
        snprintf(out, cap, "-");
    return out;
}

/* Collects every value of a repeatable option from argv (--name X or --name=X). */
static size_t repeated(int argc, char **argv, const char *name, const char **out, size_t cap)
{
    size_t n = 0, len = strlen(name);
    for (int i = 0; i < argc && n < cap; i++) {
        if (strcmp(argv[i], name) == 0 && i + 1 < argc)
            out[n++] = argv[++i];
        else if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
            out[n++] = argv[i] + len + 1;
    }
    return n;
}

static int usage(const char *u)
{
    fprintf(stderr, "usage: gyre %s\n", u);
    return GY_EXIT_USAGE;
}

/* ------------------------------------------------------------------ runs list */

static int cmd_list(int argc, char **argv)
{
    static const char u[] =
        "runs list [--experiment NAME] [--filter F] [--order-by X]... [-n N] [--all] [--json]";
    struct gy_cli_opt o[] = {
        {"--experiment", "-e", 1, NULL, 0}, {"--filter", "-f", 1, NULL, 0},
        {"--order-by", NULL, 1, NULL, 0},   {"-n", NULL, 1, NULL, 0},
        {"--all", NULL, 0, NULL, 0},        {"--json", NULL, 0, NULL, 0},
    };
    const char *order[32];
    char **pos = NULL;
    size_t npos = 0;
    struct gy_tracking_search s = {0};
    struct gy_db *db = NULL;
    int64_t exp = 0, n = 100;
    json_t *res = NULL;
    enum gy_status rc = GY_OK;
    int ex;
    pos = gy_calloc((size_t)argc + 1, sizeof *pos);
    if (!pos)
        return gy_cli_fail(GY_E_NOMEM, NULL);
    if ((ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos) {
        gy_free(pos);
        return ex ? ex : usage(u);
    }
    gy_free(pos);
    if (gy_cli_get(o, NOPTS(o), "-n") && (gy_parse_int64(gy_cli_get(o, NOPTS(o), "-n"), &n) ||
                                          n < 1 || n > GY_TRACKING_SEARCH_MAX)) {
        fprintf(stderr, "gyre: -n must be a number from 1 to %d\n", GY_TRACKING_SEARCH_MAX);
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    if (gy_cli_get(o, NOPTS(o), "--experiment")) {
        rc = gy_tracking_experiment_id_by_name(db, gy_cli_get(o, NOPTS(o), "--experiment"), &exp,
                                               NULL);
        s.experiment_ids = &exp;
        s.nexperiment_ids = 1;
    }
    s.filter = gy_cli_get(o, NOPTS(o), "--filter");
    s.norder_by = repeated(argc, argv, "--order-by", order, GY_ARRAY_LEN(order));
    s.order_by = order;
    s.max_results = n;
    s.view = gy_cli_get(o, NOPTS(o), "--all") ? GY_TRACKING_VIEW_ALL : GY_TRACKING_VIEW_ACTIVE_ONLY;
    if (rc == GY_OK)
        rc = gy_tracking_run_search(db, &s, &res);
    if (rc == GY_OK && gy_cli_get(o, NOPTS(o), "--json")) {
        gy_cli_print_json(res);
    } else if (rc == GY_OK) {
        json_t *r;
        size_t i;
        printf("%-32s  %-5s  %-24s  %-9s  %-20s  %s\n", "RUN_ID", "EXP", "NAME", "STATUS",
               "STARTED", "METRICS");
        json_array_foreach(json_object_get(res, "runs"), i, r)
        {
            json_t *info = json_object_get(r, "info"), *m;
            char when[32], val[64];
            size_t k;
            printf("%-32s  %-5s  %-24.24s  %-9s  %-20s ", gy_json_str(info, "run_id", ""),
                   gy_json_str(info, "experiment_id", ""), gy_json_str(info, "run_name", ""),
                   gy_json_str(info, "status", ""),
                   fmt_ms(gy_json_int(info, "start_time", 0), when));
            json_array_foreach(json_object_get(json_object_get(r, "data"), "metrics"), k, m)
            {
                if (k == 4) {
                    printf(" ...");
                    break;
                }
                printf(" %s=%s", gy_json_str(m, "key", ""),
                       fmt_value(json_object_get(m, "value"), val, sizeof val));
            }
            printf("%s\n", strcmp(gy_json_str(info, "lifecycle_stage", ""), "deleted") == 0
                               ? " (deleted)"
                               : "");
        }
        if (json_object_get(res, "next_page_token"))
            printf("(more runs: raise -n)\n");
    }
    json_decref(res);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ runs show */

/* Prints the artifacts under @p path, recursively, indented by depth. */
static enum gy_status print_artifacts(struct gy_db *db, const char *run_id, const char *path,
                                      int depth, json_t *collect)
{
    json_t *l = NULL, *e;
    size_t i;
    enum gy_status rc = gy_tracking_artifact_list(db, run_id, path, &l);
    if (rc)
        return rc;
    json_array_foreach(json_object_get(l, "files"), i, e)
    {
        const char *p = gy_json_str(e, "path", "");
        if (collect) {
            if (json_array_append(collect, e)) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                break;
            }
        } else {
            const char *base = strrchr(p, '/');
            if (json_is_true(json_object_get(e, "is_dir")))
                printf("  %*s%s/\n", depth * 2, "", base ? base + 1 : p);
            else
                printf("  %*s%-*s %12lld bytes\n", depth * 2, "", 40 - depth * 2,
                       base ? base + 1 : p, (long long)gy_json_int(e, "file_size", 0));
        }
        if (json_is_true(json_object_get(e, "is_dir")) && depth < 16 &&
            (rc = print_artifacts(db, run_id, p, depth + 1, collect)))
            break;
    }
    json_decref(l);
    return rc;
}

static void print_kv(const char *title, json_t *arr, const char *skip_prefix)
{
    json_t *e;
    size_t i;
    char val[64];
    if (!json_array_size(arr))
        return;
    printf("%s:\n", title);
    json_array_foreach(arr, i, e)
    {
        const char *k = gy_json_str(e, "key", "");
        if (skip_prefix && strncmp(k, skip_prefix, strlen(skip_prefix)) == 0)
            continue;
        printf("  %-30s %s", k, fmt_value(json_object_get(e, "value"), val, sizeof val));
        if (json_object_get(e, "step"))
            printf("  (step %lld)", (long long)gy_json_int(e, "step", 0));
        printf("\n");
    }
}

static int cmd_show(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *run = NULL, *arts = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("runs show RUN_ID [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_tracking_run_get(db, pos[0], &run);
    if (rc == GY_OK && gy_cli_get(o, NOPTS(o), "--json")) {
        arts = json_array();
        rc = arts ? print_artifacts(db, pos[0], "", 0, arts)
                  : gy_error_set(GY_E_NOMEM, "out of memory");
        if (rc == GY_OK) {
            rc = gy_json_set(run, "artifacts", arts); /* takes arts, even on failure */
            arts = NULL;
        }
        if (rc == GY_OK)
            gy_cli_print_json(run);
    } else if (rc == GY_OK) {
        json_t *info = json_object_get(run, "info"), *data = json_object_get(run, "data"), *in;
        char t1[32], t2[32];
        size_t i;
        printf("run         %s\n", gy_json_str(info, "run_id", ""));
        printf("name        %s\n", gy_json_str(info, "run_name", ""));
        printf("experiment  %s\n", gy_json_str(info, "experiment_id", ""));
        printf("status      %s (%s)\n", gy_json_str(info, "status", ""),
               gy_json_str(info, "lifecycle_stage", ""));
        printf("user        %s\n", gy_json_str(info, "user_id", "-"));
        printf("started     %s\n", fmt_ms(gy_json_int(info, "start_time", 0), t1));
        printf("ended       %s\n", fmt_ms(gy_json_int(info, "end_time", 0), t2));
        printf("artifacts   %s\n", gy_json_str(info, "artifact_uri", ""));
        print_kv("params", json_object_get(data, "params"), NULL);
        print_kv("metrics (latest)", json_object_get(data, "metrics"), NULL);
        print_kv("tags", json_object_get(data, "tags"), NULL);
        if (json_array_size(json_object_get(json_object_get(run, "inputs"), "dataset_inputs")))
            printf("dataset inputs:\n");
        json_array_foreach(json_object_get(json_object_get(run, "inputs"), "dataset_inputs"), i, in)
        {
            json_t *ds = json_object_get(in, "dataset"), *t;
            size_t k;
            printf("  %s (digest %s, %s: %s)", gy_json_str(ds, "name", ""),
                   gy_json_str(ds, "digest", ""), gy_json_str(ds, "source_type", ""),
                   gy_json_str(ds, "source", ""));
            json_array_foreach(json_object_get(in, "tags"), k, t)
            {
                if (strcmp(gy_json_str(t, "key", ""), "mlflow.data.context") == 0)
                    printf(" [%s]", gy_json_str(t, "value", ""));
            }
            printf("\n");
        }
        printf("artifact files:\n");
        rc = print_artifacts(db, pos[0], "", 0, NULL);
    }
    json_decref(arts);
    json_decref(run);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ runs compare */

/* Adds each key of array @p arr (objects with "key") to the sorted unique set @p keys. */
static enum gy_status add_keys(json_t *keys, json_t *arr)
{
    json_t *e;
    size_t i;
    json_array_foreach(arr, i, e)
    {
        const char *k = gy_json_str(e, "key", "");
        size_t at = 0, n = json_array_size(keys);
        while (at < n && strcmp(json_string_value(json_array_get(keys, at)), k) < 0)
            at++;
        if (at < n && strcmp(json_string_value(json_array_get(keys, at)), k) == 0)
            continue;
        if (json_array_insert_new(keys, at, json_string(k)))
            return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    return GY_OK;
}

static json_t *value_of(json_t *arr, const char *key)
{
    json_t *e;
    size_t i;
    json_array_foreach(arr, i, e)
    {
        if (strcmp(gy_json_str(e, "key", ""), key) == 0)
            return json_object_get(e, "value");
    }
    return NULL;
}

/* Prints one section ("params" or "metrics") of the comparison. */
static void compare_section(json_t *runs, const char *what, json_t *keys)
{
    json_t *k;
    size_t i, n = json_array_size(runs);
    if (!json_array_size(keys))
        return;
    printf("%s:\n", what);
    json_array_foreach(keys, i, k)
    {
        const char *key = json_string_value(k);
        char first[64], val[64];
        int differ = 0;
        for (size_t r = 0; r < n; r++) {
            json_t *arr = json_object_get(json_object_get(json_array_get(runs, r), "data"), what);
            fmt_value(value_of(arr, key), val, sizeof val);
            if (r == 0)
                snprintf(first, sizeof first, "%s", val);
            else if (strcmp(first, val) != 0)
                differ = 1;
        }
        printf("%c %-28.28s", differ ? '*' : ' ', key);
        for (size_t r = 0; r < n; r++) {
            json_t *arr = json_object_get(json_object_get(json_array_get(runs, r), "data"), what);
            printf("  %-16.16s", fmt_value(value_of(arr, key), val, sizeof val));
        }
        printf("\n");
    }
}

static int cmd_compare(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char **pos = NULL;
    size_t npos = 0;
    struct gy_db *db = NULL;
    json_t *runs = NULL, *pkeys = NULL, *mkeys = NULL;
    enum gy_status rc = GY_OK;
    int ex;
    pos = gy_calloc((size_t)argc + 1, sizeof *pos);
    if (!pos)
        return gy_cli_fail(GY_E_NOMEM, NULL);
    if ((ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos < 2) {
        gy_free(pos);
        return ex ? ex : usage("runs compare RUN_ID RUN_ID... [--json]");
    }
    if ((ex = gy_cli_open_db(&db))) {
        gy_free(pos);
        return ex;
    }
    runs = json_array();
    pkeys = json_array();
    mkeys = json_array();
    if (!runs || !pkeys || !mkeys)
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == GY_OK && i < npos; i++) {
        json_t *r = NULL;
        if ((rc = gy_tracking_run_get(db, pos[i], &r)))
            break;
        if (json_array_append_new(runs, r)) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            break;
        }
        if ((rc = add_keys(pkeys, json_object_get(json_object_get(r, "data"), "params"))) ||
            (rc = add_keys(mkeys, json_object_get(json_object_get(r, "data"), "metrics"))))
            break;
    }
    if (rc == GY_OK && gy_cli_get(o, NOPTS(o), "--json")) {
        gy_cli_print_json(runs);
    } else if (rc == GY_OK) {
        printf("  %-28s", "RUN");
        for (size_t i = 0; i < npos; i++)
            printf("  %-16.16s", pos[i]);
        printf("\n  %-28s", "NAME");
        for (size_t i = 0; i < npos; i++)
            printf("  %-16.16s",
                   gy_json_str(json_object_get(json_array_get(runs, i), "info"), "run_name", ""));
        printf("\n");
        compare_section(runs, "params", pkeys);
        compare_section(runs, "metrics", mkeys);
        printf("(* marks values that differ; metrics are the latest values)\n");
    }
    json_decref(runs);
    json_decref(pkeys);
    json_decref(mkeys);
    gy_free(pos);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ experiments */

static int cmd_exp_list(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--all", NULL, 0, NULL, 0}, {"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    const char *order[] = {"experiment_id"};
    struct gy_tracking_search s = {0};
    struct gy_db *db = NULL;
    json_t *res = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("experiments list [--all] [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    s.order_by = order;
    s.norder_by = 1;
    s.max_results = GY_TRACKING_SEARCH_MAX;
    s.view = gy_cli_get(o, NOPTS(o), "--all") ? GY_TRACKING_VIEW_ALL : GY_TRACKING_VIEW_ACTIVE_ONLY;
    rc = gy_tracking_experiment_search(db, &s, &res);
    if (rc == GY_OK && gy_cli_get(o, NOPTS(o), "--json")) {
        gy_cli_print_json(res);
    } else if (rc == GY_OK) {
        json_t *e;
        size_t i;
        char when[32];
        printf("%-6s  %-32s  %-8s  %-20s  %s\n", "ID", "NAME", "STAGE", "CREATED",
               "ARTIFACT_LOCATION");
        json_array_foreach(json_object_get(res, "experiments"), i, e)
        {
            printf("%-6s  %-32.32s  %-8s  %-20s  %s\n", gy_json_str(e, "experiment_id", ""),
                   gy_json_str(e, "name", ""), gy_json_str(e, "lifecycle_stage", ""),
                   fmt_ms(gy_json_int(e, "creation_time", 0), when),
                   gy_json_str(e, "artifact_location", ""));
        }
    }
    json_decref(res);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

static int cmd_exp_create(int argc, char **argv)
{
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    int64_t id = 0;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, NULL, 0, pos, &npos)) || npos != 1)
        return usage("experiments create NAME");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_tracking_experiment_create(db, pos[0], NULL, NULL, 0, &id);
    if (rc == GY_OK)
        printf("created experiment %s (id %lld)\n", pos[0], (long long)id);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_tracking_cmds[] = {
    {"runs list", "[--experiment NAME] [--filter F] [--order-by X]... [-n N] [--all] [--json]",
     "search runs with MLflow's filter syntax (metrics.rmse < 1 AND params.x = 'a')", cmd_list},
    {"runs show", "RUN_ID [--json]",
     "a run's params, latest metrics, tags, dataset inputs and artifacts", cmd_show},
    {"runs compare", "RUN_ID RUN_ID... [--json]",
     "params and latest metrics side by side, differences marked", cmd_compare},
    {"experiments list", "[--all] [--json]", "list experiments (--all: deleted ones too)",
     cmd_exp_list},
    {"experiments create", "NAME", "create an experiment", cmd_exp_create},
    {NULL, NULL, NULL, NULL},
};
