/* SPDX-License-Identifier: MIT */
/*
 * test_alias.c - aliases on both backends: set, move, delete, get, history, aliases in the
 * model and version JSON, removal with a deleted version, reference resolution (MODEL,
 * MODEL@alias, MODEL@N, MODEL/N, latest, stages, models:/), and concurrent alias moves by
 * forked processes while another process checks that exactly one version holds the alias at
 * every moment. Children open their own handles, report through exit codes and leave with
 * _exit (no Criterion asserts in children).
 */
#include "../store_fixture.h"

#include <sys/wait.h>

static void mkmodel(struct gy_db *db, const char *name, int nversions)
{
    OK(gy_registry_model_create(db, name, NULL, NULL, NULL, 0));
    for (int i = 0; i < nversions; i++) {
        struct gy_registry_version_create c = {0};
        int64_t v = 0;
        c.name = name;
        c.source = "models:/x";
        OK(gy_registry_version_create(db, &c, &v));
    }
}

DB_TEST(alias_set_move_delete)
{
    json_t *v = NULL, *m = NULL, *h = NULL;
    mkmodel(f->db, "m", 3);
    OK(gy_registry_alias_set(f->db, "m", "champion", 1));
    OK(gy_registry_alias_set(f->db, "m", "challenger", 2));
    OK(gy_registry_alias_get(f->db, "m", "champion", &v));
    cr_assert_str_eq(jstr(v, "version"), "1");
    cr_assert_str_eq(jstr(v, "aliases.0"), "champion");
    json_decref(v);
    OK(gy_registry_alias_set(f->db, "m", "champion", 3)); /* moves */
    OK(gy_registry_alias_get(f->db, "m", "champion", &v));
    cr_assert_str_eq(jstr(v, "version"), "3");
    json_decref(v);
    OK(gy_registry_version_get(f->db, "m", 1, &v));
    cr_assert_null(jpath(v, "aliases"), "version 1 no longer holds it");
    json_decref(v);
    OK(gy_registry_alias_set(f->db, "m", "prod", 3));
    OK(gy_registry_version_get(f->db, "m", 3, &v));
    cr_assert_eq(jlen(v, "aliases"), 2);
    cr_assert_str_eq(jstr(v, "aliases.0"), "champion");
    cr_assert_str_eq(jstr(v, "aliases.1"), "prod");
    json_decref(v);
    OK(gy_registry_model_get(f->db, "m", &m));
    cr_assert_eq(jlen(m, "aliases"), 3);
    cr_assert_str_eq(jstr(m, "aliases.0.alias"), "challenger");
    cr_assert_str_eq(jstr(m, "aliases.0.version"), "2");
    cr_assert_str_eq(jstr(m, "aliases.1.alias"), "champion");
    cr_assert_str_eq(jstr(m, "aliases.1.version"), "3");
    json_decref(m);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM model_aliases WHERE alias = 'champion'"), 1);

    cr_assert_eq(gy_registry_alias_set(f->db, "m", "champion", 9), GY_NOT_FOUND);
    cr_assert_eq(gy_registry_alias_set(f->db, "nope", "champion", 1), GY_NOT_FOUND);
    cr_assert_eq(gy_registry_alias_set(f->db, "m", "latest", 1), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_set(f->db, "m", "v2", 1), GY_E_INVALID);
    OK(gy_registry_alias_delete(f->db, "m", "prod"));
    cr_assert_eq(gy_registry_alias_delete(f->db, "m", "prod"), GY_NOT_FOUND);
    cr_assert_eq(gy_registry_alias_get(f->db, "m", "prod", &v), GY_NOT_FOUND);
    cr_assert_null(v);

    /* Deleting a version removes its aliases, and the history says so. */
    OK(gy_registry_version_delete(f->db, "m", 3));
    cr_assert_eq(gy_registry_alias_get(f->db, "m", "champion", &v), GY_NOT_FOUND);
    OK(gy_registry_alias_history(f->db, "m", 0, &h));
    cr_assert_eq(json_array_size(h), 6);
    cr_assert_str_eq(jstr(h, "0.alias"), "champion");
    cr_assert_str_eq(jstr(h, "0.action"), "delete");
    cr_assert_str_eq(jstr(h, "0.version"), "3");
    cr_assert_str_eq(jstr(h, "1.alias"), "prod");
    cr_assert_str_eq(jstr(h, "1.action"), "delete");
    cr_assert_null(jpath(h, "1.version"));
    cr_assert_str_eq(jstr(h, "5.alias"), "champion");
    cr_assert_str_eq(jstr(h, "5.version"), "1");
    cr_assert_str_eq(jstr(h, "5.action"), "set");
    json_decref(h);
    OK(gy_registry_alias_history(f->db, "m", 2, &h));
    cr_assert_eq(json_array_size(h), 2);
    json_decref(h);
    cr_assert_eq(gy_registry_alias_history(f->db, "nope", 0, &h), GY_NOT_FOUND);
}

static void resolves(struct gy_db *db, const char *ref, int64_t want)
{
    struct gy_registry_version_info *v = NULL;
    enum gy_status rc = gy_registry_resolve(db, ref, &v);
    cr_assert_eq(rc, GY_OK, "%s: %s", ref, gy_error_msg());
    cr_assert_eq(v->version, want, "%s resolved to %lld, want %lld", ref, (long long)v->version,
                 (long long)want);
    gy_registry_version_info_free(v);
}

static void refuses(struct gy_db *db, const char *ref, enum gy_status want)
{
    struct gy_registry_version_info *v = (void *)1;
    cr_assert_eq(gy_registry_resolve(db, ref, &v), want, "%s", ref);
    cr_assert_null(v);
}

DB_TEST(resolve_references)
{
    struct gy_registry_version_info *v = NULL;
    char run[33], hash[65];
    int64_t n = 0;
    struct gy_tracking_run_create rc = {0};
    memset(hash, 'c', 64);
    hash[64] = '\0';
    OK(gy_tracking_run_create(f->db, &rc, run));
    mkmodel(f->db, "fraud", 2);
    resolves(f->db, "fraud", 2); /* no champion: the latest */
    OK(gy_registry_register(f->db, "fraud", run, NULL, hash, "tx", 5, &n));
    cr_assert_eq(n, 3);
    OK(gy_registry_alias_set(f->db, "fraud", "champion", 1));
    OK(gy_registry_alias_set(f->db, "fraud", "challenger", 3));
    OK(gy_registry_version_stage(f->db, "fraud", 2, GY_STAGE_STAGING, 0, NULL));
    resolves(f->db, "fraud", 1);
    resolves(f->db, "fraud@champion", 1);
    resolves(f->db, "fraud@challenger", 3);
    resolves(f->db, "fraud@2", 2);
    resolves(f->db, "fraud/2", 2);
    resolves(f->db, "fraud@latest", 3);
    resolves(f->db, "fraud/latest", 3);
    resolves(f->db, "fraud/Staging", 2);
    resolves(f->db, "fraud/staging", 2);
    resolves(f->db, "models:/fraud@challenger", 3);
    resolves(f->db, "models:/fraud/1", 1);
    OK(gy_registry_resolve(f->db, "fraud@challenger", &v));
    cr_assert_str_eq(v->name, "fraud");
    cr_assert_str_eq(v->run_id, run);
    cr_assert_str_eq(v->dataset, "tx");
    cr_assert_eq(v->dataset_version, 5);
    cr_assert_str_eq(v->bundle_hash, hash);
    cr_assert_eq(v->stage, GY_STAGE_NONE);
    cr_assert(strncmp(v->source, "runs:/", 6) == 0);
    cr_assert_gt(v->creation_ms, 0);
    gy_registry_version_info_free(v);
    gy_registry_version_info_free(NULL);

    refuses(f->db, "fraud@nobody", GY_NOT_FOUND);
    refuses(f->db, "fraud@9", GY_NOT_FOUND);
    refuses(f->db, "fraud/Production", GY_NOT_FOUND);
    refuses(f->db, "ghost", GY_NOT_FOUND);
    refuses(f->db, "ghost@champion", GY_NOT_FOUND);
    refuses(f->db, "", GY_E_INVALID);
    refuses(f->db, "fraud@", GY_E_INVALID);
    refuses(f->db, "fraud/", GY_E_INVALID);
    refuses(f->db, "fraud/banana", GY_E_INVALID);
    refuses(f->db, "fraud@bad alias", GY_E_INVALID);
    refuses(f->db, "@champion", GY_E_INVALID);
    mkmodel(f->db, "empty", 0);
    refuses(f->db, "empty", GY_NOT_FOUND);
    refuses(f->db, "empty@latest", GY_NOT_FOUND);
}

/* ------------------------------------------------------------------ concurrency */

#define NMOVERS 4
#define NMOVES 40
#define NVERSIONS 5
#define NCHECKS 150

/* Moves the alias NMOVES times; GY_E_BUSY is retried, anything else fails the child. */
static int mover(int who, int start_fd)
{
    struct gy_db *db = NULL;
    char c;
    if (fx_open(&F, &db) != GY_OK)
        return 10;
    if (read(start_fd, &c, 1) < 0)
        return 11;
    for (int i = 0; i < NMOVES; i++) {
        int64_t v = (who + i) % NVERSIONS + 1;
        enum gy_status rc;
        while ((rc = gy_registry_alias_set(db, "race", "champion", v)) == GY_E_BUSY)
            ;
        if (rc != GY_OK) {
            fprintf(stderr, "mover %d: %s: %s\n", who, gy_status_str(rc), gy_error_msg());
            gy_db_free(db);
            return 12;
        }
    }
    gy_db_free(db);
    return 0;
}

/* Checks, again and again while the movers run, that exactly one version holds the alias. */
static int checker(int start_fd)
{
    struct gy_db *db = NULL;
    char c;
    if (fx_open(&F, &db) != GY_OK)
        return 20;
    if (read(start_fd, &c, 1) < 0)
        return 21;
    for (int i = 0; i < NCHECKS; i++) {
        int64_t holders = -1;
        json_t *v = NULL;
        enum gy_status rc = gy_db_query_int(
            db,
            "SELECT COUNT(*) FROM model_versions v JOIN registered_models m ON m.id = "
            "v.model_id JOIN model_aliases a ON a.version_id = v.id WHERE m.name = 'race' AND "
            "a.alias = 'champion'",
            NULL, 0, &holders);
        if (rc != GY_OK || holders != 1) {
            fprintf(stderr, "checker: %s, %lld holders\n", gy_status_str(rc), (long long)holders);
            gy_db_free(db);
            return 22;
        }
        rc = gy_registry_alias_get(db, "race", "champion", &v);
        json_decref(v);
        if (rc != GY_OK) {
            fprintf(stderr, "checker: alias_get: %s\n", gy_error_msg());
            gy_db_free(db);
            return 23;
        }
    }
    gy_db_free(db);
    return 0;
}

DB_TEST(concurrent_alias_moves)
{
    pid_t pids[NMOVERS + 1];
    int start[2];
    int64_t holders = -1, sets = -1;
    mkmodel(f->db, "race", NVERSIONS);
    OK(gy_registry_alias_set(f->db, "race", "champion", 1));
    gy_db_free(f->db); /* children open their own handles */
    f->db = NULL;
    cr_assert_eq(pipe(start), 0);
    fflush(NULL);
    for (int i = 0; i <= NMOVERS; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0, "fork");
        if (pids[i] == 0) {
            close(start[1]);
            _exit(i < NMOVERS ? mover(i, start[0]) : checker(start[0]));
        }
    }
    close(start[0]);
    close(start[1]); /* go */
    for (int i = 0; i <= NMOVERS; i++) {
        int status = 0;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status), "child %d died with signal %d", i,
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        cr_assert_eq(WEXITSTATUS(status), 0, "child %d failed with %d", i, WEXITSTATUS(status));
    }
    OK(fx_open(f, &f->db));
    OK(gy_db_query_int(f->db,
                       "SELECT COUNT(*) FROM model_aliases a JOIN registered_models m ON m.id = "
                       "a.model_id WHERE m.name = 'race' AND a.alias = 'champion'",
                       NULL, 0, &holders));
    cr_assert_eq(holders, 1);
    OK(gy_db_query_int(f->db, "SELECT COUNT(*) FROM model_alias_history WHERE action = 'set'", NULL,
                       0, &sets));
    cr_assert_eq(sets, 1 + NMOVERS * NMOVES, "every move was applied and recorded once");
}
