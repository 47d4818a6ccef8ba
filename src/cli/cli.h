/* SPDX-License-Identifier: MIT */
/*
 * cli.h - shared pieces of the gyre command line: the command table entry, option parsing,
 * and error reporting with exit codes.
 */
#ifndef GY_CLI_H
#define GY_CLI_H

#include "base/base.h"
#include "db/db.h"

/** Exit codes: 0 ok, 1 failure, 2 usage error, 75 busy (retry), 3 not found. */
enum {
    GY_EXIT_OK = 0,
    GY_EXIT_FAIL = 1,
    GY_EXIT_USAGE = 2,
    GY_EXIT_NOT_FOUND = 3,
    GY_EXIT_BUSY = 75
};

struct gy_cli_cmd {
    const char *name; /* "dataset create" */
    const char *args; /* usage line after the name */
    const char *help; /* one sentence */
    int (*run)(int argc, char **argv);
};

/** The command tables of each file, terminated by a NULL name. */
extern const struct gy_cli_cmd gy_cli_dataset_cmds[];
extern const struct gy_cli_cmd gy_cli_generate_cmds[];
extern const struct gy_cli_cmd gy_cli_server_cmds[];   /* server.c */
extern const struct gy_cli_cmd gy_cli_tracking_cmds[]; /* runs.c: gyre runs ... */
extern const struct gy_cli_cmd gy_cli_registry_cmds[]; /* models.c: gyre models ... */
extern const struct gy_cli_cmd gy_cli_model_cmds[];    /* model.c: gyre model inspect ... */
extern const struct gy_cli_cmd gy_cli_train_cmds[];    /* train.c: gyre train */
extern const struct gy_cli_cmd gy_cli_deploy_cmds[];   /* deploy.c: gyre deploy ... */
extern const struct gy_cli_cmd gy_cli_token_cmds[];    /* token.c: gyre token ... */
extern const struct gy_cli_cmd gy_cli_audit_cmds[];    /* audit.c: gyre audit ... */
extern const struct gy_cli_cmd gy_cli_admin_cmds[];    /* admin.c: gyre admin ... */
extern const struct gy_cli_cmd gy_cli_drift_cmds[];    /* drift.c: gyre drift check */
extern const struct gy_cli_cmd gy_cli_feedback_cmds[]; /* feedback.c: gyre feedback ... */
extern const struct gy_cli_cmd gy_cli_pipeline_cmds[]; /* pipeline.c: gyre pipeline ... */
extern const struct gy_cli_cmd gy_cli_load_cmds[];     /* load.c: gyre load */

/**
 * A tiny option parser over argv: positional arguments are collected in order, "--name value",
 * "--name=value" and flags. Options must be declared; unknown ones are a usage error.
 */
struct gy_cli_opt {
    const char *name;  /* "--format" */
    const char *alias; /* "-n" or NULL */
    int has_value;
    const char *value; /* set by the parser; "1" for flags */
    int repeat;        /* number of times seen */
};

/** Parses argv[0..argc) into opts and positionals (array of argc pointers). Prints errors. */
int gy_cli_parse(int argc, char **argv, struct gy_cli_opt *opts, size_t nopts, char **pos,
                 size_t *npos);
/** Value of an option or NULL. */
const char *gy_cli_get(const struct gy_cli_opt *opts, size_t nopts, const char *name);

/** Prints "gyre: <msg>" for a failed status and returns the matching exit code. */
int gy_cli_fail(enum gy_status rc, const char *what);

/** Opens the data home from the environment or prints why not. */
int gy_cli_open_db(struct gy_db **db);

/** A time for tables: "2026-11-28T01:55:00Z" (to the second), "-" for 0 or less. */
const char *gy_cli_time(int64_t us, char out[32]);

/** Prints JSON to stdout, indented, with a newline. */
void gy_cli_print_json(const json_t *j);

#endif /* GY_CLI_H */
