/* SPDX-License-Identifier: MIT */
/*
 * main.c - the gyre command line: finds the command in the command tables (longest match of
 * one or two words), runs it, and maps statuses to exit codes. Shared option parsing and
 * reporting helpers live here too.
 */
#include "cli/cli.h"

#include <string.h>

#define GYRE_VERSION "0.1.0"

static const struct gy_cli_cmd *const tables[] = {
    gy_cli_dataset_cmds,  gy_cli_generate_cmds, gy_cli_server_cmds, gy_cli_tracking_cmds,
    gy_cli_registry_cmds, gy_cli_model_cmds,    gy_cli_train_cmds,  gy_cli_deploy_cmds,
    gy_cli_token_cmds,    gy_cli_audit_cmds,    gy_cli_admin_cmds,  gy_cli_drift_cmds,
    gy_cli_feedback_cmds, gy_cli_pipeline_cmds, gy_cli_load_cmds,
};

int gy_cli_parse(int argc, char **argv, struct gy_cli_opt *opts, size_t nopts, char **pos,
                 size_t *npos)
{
    int only_pos = 0;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        size_t k;
        const char *eq;
        size_t nlen;
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            pos[(*npos)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        eq = strchr(a, '=');
        nlen = eq ? (size_t)(eq - a) : strlen(a);
        for (k = 0; k < nopts; k++) {
            if ((strlen(opts[k].name) == nlen && strncmp(opts[k].name, a, nlen) == 0) ||
                (opts[k].alias && strlen(opts[k].alias) == nlen &&
                 strncmp(opts[k].alias, a, nlen) == 0))
                break;
        }
        if (k == nopts) {
            fprintf(stderr, "gyre: unknown option %.*s\n", (int)nlen, a);
            return GY_EXIT_USAGE;
        }
        if (opts[k].has_value) {
            if (eq) {
                opts[k].value = eq + 1;
            } else if (i + 1 < argc) {
                opts[k].value = argv[++i];
            } else {
                fprintf(stderr, "gyre: option %s needs a value\n", opts[k].name);
                return GY_EXIT_USAGE;
            }
        } else {
            if (eq) {
                fprintf(stderr, "gyre: option %s takes no value\n", opts[k].name);
                return GY_EXIT_USAGE;
            }
            opts[k].value = "1";
        }
        opts[k].repeat++;
    }
    return GY_EXIT_OK;
}

const char *gy_cli_get(const struct gy_cli_opt *opts, size_t nopts, const char *name)
{
    for (size_t k = 0; k < nopts; k++)
        if (strcmp(opts[k].name, name) == 0)
            return opts[k].value;
    return NULL;
}

int gy_cli_fail(enum gy_status rc, const char *what)
{
    const char *msg = gy_error_msg();
    if (what && *msg)
        fprintf(stderr, "gyre: %s: %s\n", what, msg);
    else if (*msg)
        fprintf(stderr, "gyre: %s\n", msg);
    else
        fprintf(stderr, "gyre: %s: %s\n", what ? what : "error", gy_status_str(rc));
    if (rc == GY_E_BUSY || rc == GY_AGAIN)
        return GY_EXIT_BUSY;
    if (rc == GY_NOT_FOUND)
        return GY_EXIT_NOT_FOUND;
    return GY_EXIT_FAIL;
}

int gy_cli_open_db(struct gy_db **db)
{
    enum gy_status rc = gy_db_open_env(db);
    if (rc)
        return gy_cli_fail(rc, "cannot open the data home");
    return GY_EXIT_OK;
}

const char *gy_cli_time(int64_t us, char out[32])
{
    if (us <= 0) {
        snprintf(out, 32, "-");
        return out;
    }
    gy_time_format(us, out);
    if (strlen(out) > 19) {
        out[19] = 'Z';
        out[20] = '\0';
    }
    return out;
}

void gy_cli_print_json(const json_t *j)
{
    struct gy_buf b;
    gy_buf_init(&b, (size_t)1 << 30);
    if (gy_json_dump_pretty(j, &b) == GY_OK)
        printf("%s\n", b.data);
    gy_buf_free(&b);
}

static void usage(FILE *f)
{
    fprintf(f,
            "gyre %s - an MLOps platform in one binary\n\n"
            "usage: gyre <command> [args]\n\ncommands:\n",
            GYRE_VERSION);
    for (size_t t = 0; t < GY_ARRAY_LEN(tables); t++)
        for (const struct gy_cli_cmd *c = tables[t]; c->name; c++)
            fprintf(f, "  %s %s\n      %s\n", c->name, c->args, c->help);
    fprintf(f, "  version\n      print the version\n");
    fprintf(f, "\nenvironment: GYRE_HOME (data home, default ./gyre-home), GYRE_DB (a "
               "postgresql:// URL to keep metadata in PostgreSQL),\n"
               "             GYRE_LOG_LEVEL (debug|info|warn|error), GYRE_LOG_FORMAT "
               "(text|json)\n");
}

int main(int argc, char **argv)
{
    const struct gy_cli_cmd *best = NULL;
    int used = 0;
    gy_log_init_from_env();
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? GY_EXIT_USAGE : GY_EXIT_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("gyre %s\n", GYRE_VERSION);
        return GY_EXIT_OK;
    }
    for (size_t t = 0; t < GY_ARRAY_LEN(tables); t++) {
        for (const struct gy_cli_cmd *c = tables[t]; c->name; c++) {
            const char *sp = strchr(c->name, ' ');
            if (sp) {
                size_t n = (size_t)(sp - c->name);
                if (argc >= 3 && strlen(argv[1]) == n && strncmp(argv[1], c->name, n) == 0 &&
                    strcmp(argv[2], sp + 1) == 0) {
                    best = c;
                    used = 3;
                }
            } else if (!best && strcmp(argv[1], c->name) == 0) {
                best = c;
                used = 2;
            }
        }
    }
    if (!best) {
        fprintf(stderr, "gyre: unknown command \"%s%s%s\" (see gyre help)\n", argv[1],
                argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
        return GY_EXIT_USAGE;
    }
    for (int i = used; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: gyre %s %s\n\n%s\n", best->name, best->args, best->help);
            return GY_EXIT_OK;
        }
    }
    return best->run(argc - used, argv + used);
}
