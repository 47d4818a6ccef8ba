/* SPDX-License-Identifier: MIT */
/*
 * models.c - registry commands: `gyre models list|show|register|alias|versions|stage`.
 * Models are named everywhere by a reference: MODEL, MODEL@alias, MODEL@N, MODEL/N. Tables
 * for people, --json for scripts (the MLflow JSON of the registry).
 */
#include "auth/auth.h"
#include "cli/cli.h"
#include "registry/registry.h"
#include "tracking/tracking.h"

#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))

static int usage(const char *u)
{
    fprintf(stderr, "usage: gyre %s\n", u);
    return GY_EXIT_USAGE;
}

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

/* "a,b" of a version's aliases (JSON array of strings) into out. */
static const char *alias_list(json_t *arr, char *out, size_t cap)
{
    json_t *a;
    size_t i;
    out[0] = '\0';
    json_array_foreach(arr, i, a)
    {
        if (i)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, json_string_value(a), cap - strlen(out) - 1);
    }
    if (!out[0])
        snprintf(out, cap, "-");
    return out;
}

/* "dataset@version" of a version's lineage into out, "-" when none. */
static const char *lineage(json_t *v, char *out, size_t cap)
{
    json_t *g = json_object_get(v, "gyre");
    const char *ds = gy_json_str(g, "dataset", NULL);
    if (!ds)
        snprintf(out, cap, "-");
    else if (json_object_get(g, "dataset_version"))
        snprintf(out, cap, "%s@%lld", ds, (long long)gy_json_int(g, "dataset_version", 0));
    else
        snprintf(out, cap, "%s", ds);
    return out;
}

/* A filter "name = '<model>'" with quotes doubled (new). */
static char *name_filter(const char *model)
{
    struct gy_buf b;
    gy_buf_init(&b, 4096);
    if (gy_buf_puts(&b, "name = '"))
        goto fail;
    for (const char *p = model; *p; p++)
        if ((*p == '\'' && gy_buf_putc(&b, '\'')) || gy_buf_putc(&b, *p))
            goto fail;
    if (gy_buf_putc(&b, '\''))
        goto fail;
    return gy_buf_detach(&b, NULL);
fail:
    gy_buf_free(&b);
    return NULL;
}

/* All versions of @p model, newest first (new JSON: {"model_versions": [...]}). */
static enum gy_status versions_of(struct gy_db *db, const char *model, json_t **out)
{
    const char *order[] = {"version_number DESC"};
    struct gy_registry_search s = {0};
    char *filter = name_filter(model);
    enum gy_status rc;
    if (!filter)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    s.filter = filter;
    s.order_by = order;
    s.norder_by = 1;
    rc = gy_registry_version_search(db, &s, out);
    gy_free(filter);
    return rc;
}

static void print_versions(json_t *versions)
{
    json_t *v;
    size_t i;
    char when[32], al[256], ds[300];
    printf("%7s  %-10s  %-20s  %-32s  %-24s  %s\n", "VERSION", "STAGE", "ALIASES", "RUN", "DATASET",
           "CREATED");
    json_array_foreach(versions, i, v)
    {
        printf("%7s  %-10s  %-20.20s  %-32s  %-24.24s  %s\n", gy_json_str(v, "version", ""),
               gy_json_str(v, "current_stage", ""),
               alias_list(json_object_get(v, "aliases"), al, sizeof al),
               gy_json_str(v, "run_id", "-"), lineage(v, ds, sizeof ds),
               fmt_ms(gy_json_int(v, "creation_timestamp", 0), when));
    }
}

/* ------------------------------------------------------------------ list */

static int cmd_list(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--filter", "-f", 1, NULL, 0}, {"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_registry_search s = {0};
    struct gy_db *db = NULL;
    json_t *all = NULL, *page = NULL;
    char token[32] = "";
    enum gy_status rc = GY_OK;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos)
        return usage("models list [--filter F] [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    all = json_array();
    if (!all)
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    s.filter = gy_cli_get(o, NOPTS(o), "--filter");
    s.max_results = GY_REGISTRY_MODELS_MAX;
    /* Page through: the registry caps a page at 1000 models. */
    while (rc == GY_OK) {
        s.page_token = token[0] ? token : NULL;
        if ((rc = gy_registry_model_search(db, &s, &page)))
            break;
        if (json_array_extend(all, json_object_get(page, "registered_models")) &&
            json_object_get(page, "registered_models"))
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
        snprintf(token, sizeof token, "%s", gy_json_str(page, "next_page_token", ""));
        json_decref(page);
        page = NULL;
        if (!token[0])
            break;
    }
    if (rc == GY_OK && gy_cli_get(o, NOPTS(o), "--json")) {
        gy_cli_print_json(all);
    } else if (rc == GY_OK) {
        json_t *m;
        size_t i;
        char when[32];
        printf("%-32s  %7s  %-32s  %s\n", "NAME", "LATEST", "ALIASES", "UPDATED");
        json_array_foreach(all, i, m)
        {
            json_t *v, *a;
            size_t k;
            int64_t latest = 0;
            char al[256] = "";
            json_array_foreach(json_object_get(m, "latest_versions"), k, v)
            {
                int64_t n = 0;
                if (gy_parse_int64(gy_json_str(v, "version", "0"), &n) == GY_OK && n > latest)
                    latest = n;
            }
            json_array_foreach(json_object_get(m, "aliases"), k, a)
            {
                char one[96];
                snprintf(one, sizeof one, "%s%s@%s", k ? "," : "", gy_json_str(a, "alias", ""),
                         gy_json_str(a, "version", ""));
                strncat(al, one, sizeof al - strlen(al) - 1);
            }
            printf("%-32.32s  %7lld  %-32.32s  %s\n", gy_json_str(m, "name", ""), (long long)latest,
                   al[0] ? al : "-", fmt_ms(gy_json_int(m, "last_updated_timestamp", 0), when));
        }
    }
    json_decref(all);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ show */

static void print_version(json_t *v)
{
    json_t *t;
    size_t i;
    char when[32], al[256], ds[300];
    printf("model        %s\n", gy_json_str(v, "name", ""));
    printf("version      %s\n", gy_json_str(v, "version", ""));
    printf("stage        %s\n", gy_json_str(v, "current_stage", ""));
    printf("status       %s\n", gy_json_str(v, "status", ""));
    printf("aliases      %s\n", alias_list(json_object_get(v, "aliases"), al, sizeof al));
    printf("created      %s\n", fmt_ms(gy_json_int(v, "creation_timestamp", 0), when));
    printf("description  %s\n", gy_json_str(v, "description", "-"));
    printf("lineage:\n");
    printf("  run        %s\n", gy_json_str(v, "run_id", "-"));
    printf("  dataset    %s\n", lineage(v, ds, sizeof ds));
    printf("  source     %s\n", gy_json_str(v, "source", ""));
    printf("  bundle     %s\n", gy_json_str(json_object_get(v, "gyre"), "bundle_hash", "-"));
    if (json_array_size(json_object_get(v, "tags")))
        printf("tags:\n");
    json_array_foreach(json_object_get(v, "tags"), i, t)
    {
        printf("  %-24s %s\n", gy_json_str(t, "key", ""), gy_json_str(t, "value", ""));
    }
}

static int cmd_show(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *out = NULL, *versions = NULL, *history = NULL;
    enum gy_status rc;
    int ex, json = 0;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("models show MODEL[@alias|@N|/N] [--json]");
    json = gy_cli_get(o, NOPTS(o), "--json") != NULL;
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    if (strpbrk(pos[0], "@/")) {
        /* One version, named by alias or number. */
        struct gy_registry_version_info *info = NULL;
        rc = gy_registry_resolve(db, pos[0], &info);
        if (rc == GY_OK)
            rc = gy_registry_version_get(db, info->name, info->version, &out);
        gy_registry_version_info_free(info);
        if (rc == GY_OK) {
            if (json)
                gy_cli_print_json(out);
            else
                print_version(out);
        }
    } else {
        rc = gy_registry_model_get(db, pos[0], &out);
        if (rc == GY_OK)
            rc = versions_of(db, pos[0], &versions);
        if (rc == GY_OK)
            rc = gy_registry_alias_history(db, pos[0], 10, &history);
        if (rc == GY_OK && json) {
            json_t *list = json_object_get(versions, "model_versions");
            rc = gy_json_set(out, "versions", list ? json_incref(list) : json_array());
            if (rc == GY_OK)
                rc = gy_json_set(out, "alias_history", json_incref(history));
            if (rc == GY_OK)
                gy_cli_print_json(out);
        } else if (rc == GY_OK) {
            json_t *a, *t;
            size_t i;
            char when[32];
            printf("model        %s\n", gy_json_str(out, "name", ""));
            printf("description  %s\n", gy_json_str(out, "description", "-"));
            printf("created      %s\n", fmt_ms(gy_json_int(out, "creation_timestamp", 0), when));
            printf("updated      %s\n",
                   fmt_ms(gy_json_int(out, "last_updated_timestamp", 0), when));
            printf("aliases     ");
            json_array_foreach(json_object_get(out, "aliases"), i, a)
            {
                printf(" %s -> %s", gy_json_str(a, "alias", ""), gy_json_str(a, "version", ""));
            }
            printf("%s\n", json_array_size(json_object_get(out, "aliases")) ? "" : " -");
            json_array_foreach(json_object_get(out, "tags"), i, t)
            {
                printf("%s  %-24s %s\n", i ? "" : "tags:\n", gy_json_str(t, "key", ""),
                       gy_json_str(t, "value", ""));
            }
            printf("versions:\n");
            print_versions(json_object_get(versions, "model_versions"));
            if (json_array_size(history))
                printf("recent alias changes:\n");
            json_array_foreach(history, i, a)
            {
                printf("  %s  %-7s %s%s%s\n", fmt_ms(gy_json_int(a, "timestamp", 0), when),
                       gy_json_str(a, "action", ""), gy_json_str(a, "alias", ""),
                       json_object_get(a, "version") ? " -> " : "", gy_json_str(a, "version", ""));
            }
        }
    }
    json_decref(out);
    json_decref(versions);
    json_decref(history);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ versions */

static int cmd_versions(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--json", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    json_t *res = NULL, *m = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1)
        return usage("models versions MODEL [--json]");
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_registry_model_get(db, pos[0], &m); /* a clear "not found" for unknown models */
    if (rc == GY_OK)
        rc = versions_of(db, pos[0], &res);
    if (rc == GY_OK && gy_cli_get(o, NOPTS(o), "--json"))
        gy_cli_print_json(res);
    else if (rc == GY_OK)
        print_versions(json_object_get(res, "model_versions"));
    json_decref(m);
    json_decref(res);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ register */

static int cmd_register(int argc, char **argv)
{
    static const char u[] =
        "models register MODEL --run RUN_ID [--source URI] [--bundle HASH] [--dataset NAME@V]";
    struct gy_cli_opt o[] = {
        {"--run", NULL, 1, NULL, 0},
        {"--source", NULL, 1, NULL, 0},
        {"--bundle", NULL, 1, NULL, 0},
        {"--dataset", NULL, 1, NULL, 0},
    };
    char *pos[12];
    size_t npos;
    char dsname[300];
    const char *ds;
    int64_t dsver = 0, version = 0;
    struct gy_db *db = NULL;
    enum gy_status rc;
    int ex;
    if (argc > 12 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 1 ||
        !gy_cli_get(o, NOPTS(o), "--run"))
        return usage(u);
    ds = gy_cli_get(o, NOPTS(o), "--dataset");
    if (ds) {
        const char *at = strrchr(ds, '@');
        if (!at || at == ds || (size_t)(at - ds) >= sizeof dsname ||
            gy_parse_int64(at + 1, &dsver) || dsver < 1) {
            fprintf(stderr, "gyre: --dataset must be NAME@VERSION\n");
            return GY_EXIT_USAGE;
        }
        memcpy(dsname, ds, (size_t)(at - ds));
        dsname[at - ds] = '\0';
        ds = dsname;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_registry_register(db, pos[0], gy_cli_get(o, NOPTS(o), "--run"),
                              gy_cli_get(o, NOPTS(o), "--source"),
                              gy_cli_get(o, NOPTS(o), "--bundle"), ds, dsver, &version);
    gy_audit_cli(db, "model.register", rc, NULL, "models/%s@%lld", pos[0], (long long)version);
    if (rc == GY_OK)
        printf("registered %s version %lld\n", pos[0], (long long)version);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ alias */

static int cmd_alias(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--delete", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    int64_t version = 0;
    int del;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)))
        return usage("models alias MODEL ALIAS VERSION | models alias MODEL ALIAS --delete");
    del = gy_cli_get(o, NOPTS(o), "--delete") != NULL;
    if (npos != (del ? 2u : 3u))
        return usage("models alias MODEL ALIAS VERSION | models alias MODEL ALIAS --delete");
    if (!del && gy_registry_version_parse(pos[2], &version)) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = del ? gy_registry_alias_delete(db, pos[0], pos[1])
             : gy_registry_alias_set(db, pos[0], pos[1], version);
    gy_audit_cli(db, del ? "model.alias.delete" : "model.alias.set", rc, NULL, "models/%s@%s",
                 pos[0], pos[1]);
    if (rc == GY_OK && del)
        printf("removed alias %s of %s\n", pos[1], pos[0]);
    else if (rc == GY_OK)
        printf("%s@%s -> version %lld\n", pos[0], pos[1], (long long)version);
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

/* ------------------------------------------------------------------ stage */

static int cmd_stage(int argc, char **argv)
{
    struct gy_cli_opt o[] = {{"--archive-existing", NULL, 0, NULL, 0}};
    char *pos[8];
    size_t npos;
    struct gy_db *db = NULL;
    enum gy_registry_stage stage = GY_STAGE_NONE;
    int64_t version = 0;
    enum gy_status rc;
    int ex;
    if (argc > 8 || (ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos != 3)
        return usage("models stage MODEL VERSION None|Staging|Production|Archived "
                     "[--archive-existing]");
    if (gy_registry_version_parse(pos[1], &version) || gy_registry_stage_parse(pos[2], &stage)) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    if ((ex = gy_cli_open_db(&db)))
        return ex;
    rc = gy_registry_version_stage(db, pos[0], version, stage,
                                   gy_cli_get(o, NOPTS(o), "--archive-existing") != NULL, NULL);
    gy_audit_cli(db, "model.stage", rc, NULL, "models/%s@%lld", pos[0], (long long)version);
    if (rc == GY_OK)
        printf("%s version %lld is now in stage %s\n", pos[0], (long long)version,
               gy_registry_stage_str(stage));
    gy_db_free(db);
    return rc ? gy_cli_fail(rc, NULL) : GY_EXIT_OK;
}

const struct gy_cli_cmd gy_cli_registry_cmds[] = {
    {"models list", "[--filter F] [--json]", "list registered models with their aliases", cmd_list},
    {"models show", "MODEL[@alias|@N|/N] [--json]",
     "a model's versions, aliases and lineage, or one version", cmd_show},
    {"models register", "MODEL --run RUN_ID [--source URI] [--bundle HASH] [--dataset NAME@V]",
     "register a run's model as the next version (creates the model)", cmd_register},
    {"models alias", "MODEL ALIAS VERSION | MODEL ALIAS --delete",
     "point an alias (champion, challenger, ...) at a version, or remove it", cmd_alias},
    {"models versions", "MODEL [--json]", "list a model's versions", cmd_versions},
    {"models stage", "MODEL VERSION STAGE [--archive-existing]",
     "move a version to None, Staging, Production or Archived", cmd_stage},
    {NULL, NULL, NULL, NULL},
};
