/* SPDX-License-Identifier: MIT */
/*
 * store.c - pipelines and pipeline runs in the metadata store (migration 8).
 *
 * A pipeline is stored in its canonical JSON form, one row per version in pipeline_versions
 * and the current one in pipelines, with the trigger state the controller keeps (a coalesced
 * pending trigger, the last schedule time, drift report and row count acted on). A run is one
 * row of pipeline_runs; "active" is 1 until the run is final, so the unique key
 * (pipeline, active) makes "one unfinished run per pipeline" a property of the store that no
 * race between two controllers can break.
 */
#include "pipeline/pipeline_int.h"

#include "lake/lake.h"
#include "serving/serving.h"

#include <string.h>

static const char *const state_names[] = {"pending",  "training", "evaluating",  "canary",
                                          "promoted", "rejected", "rolled_back", "failed"};

const char *gy_pipeline_state_name(enum gy_pipeline_state s)
{
    return (unsigned)s < GY_ARRAY_LEN(state_names) ? state_names[s] : "unknown";
}

enum gy_status gy_pipeline_state_parse(const char *s, enum gy_pipeline_state *out)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(state_names); i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum gy_pipeline_state)i;
            return GY_OK;
        }
    return gy_error_set(GY_E_CORRUPT, "pipeline run: unknown state \"%s\"", s);
}

int gy_pipeline_state_final(enum gy_pipeline_state s)
{
    return s >= GY_PRUN_PROMOTED;
}

/* ------------------------------------------------------------------ specs */

enum gy_status gy_pipeline_apply(struct gy_db *db, const struct gy_pipeline_spec *spec,
                                 int64_t *version, int *changed)
{
    json_t *j = NULL;
    char *text = NULL;
    struct gy_db_rows *r = NULL;
    int64_t now = gy_time_wall_us(), v = 1;
    enum gy_status rc;
    *changed = 0;
    *version = 0;
    if ((rc = gy_pipeline_spec_to_json(spec, &j)) != GY_OK)
        return rc;
    if (!(text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
        json_decref(j);
        return GY_E_NOMEM;
    }
    json_decref(j);
    if ((rc = gy_db_begin(db)) != GY_OK)
        goto out;
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(spec->name)};
        if ((rc = gy_db_query(db, "SELECT version, spec FROM pipelines WHERE name = $1", p, 1,
                              &r)) != GY_OK)
            goto rollback;
    }
    if (gy_db_rows_count(r) == 1) {
        v = gy_db_rows_int(r, 0, 0);
        if (strcmp(gy_db_rows_text(r, 0, 1), text) == 0) {
            *version = v;
            gy_db_rollback(db);
            goto out;
        }
        v++;
        struct gy_db_param p[] = {GY_DB_P_INT(v), GY_DB_P_TEXT(text), GY_DB_P_INT(now),
                                  GY_DB_P_TEXT(spec->name)};
        rc = gy_db_exec(db,
                        "UPDATE pipelines SET version = $1, spec = $2, updated_us = $3 WHERE name "
                        "= $4",
                        p, 4, NULL);
    } else {
        /* A new pipeline starts its trigger state now: no schedule backlog, drift reports and
         * rows from before it was applied do not count. */
        int64_t last_drift = 0;
        struct gy_db_param p[] = {GY_DB_P_TEXT(spec->name), GY_DB_P_TEXT(text), GY_DB_P_INT(now),
                                  GY_DB_P_INT(0), GY_DB_P_INT(0)};
        rc = gy_db_query_int(db, "SELECT MAX(id) FROM drift_reports", NULL, 0, &last_drift);
        if (rc == GY_NOT_FOUND)
            rc = GY_OK;
        p[3] = GY_DB_P_INT(last_drift);
        if (rc == GY_OK)
            rc = gy__pipeline_dataset_rows(db, spec->data.dataset, &p[4].i);
        if (rc == GY_OK)
            rc = gy_db_exec(db,
                            "INSERT INTO pipelines (name, version, spec, created_us, updated_us, "
                            "last_schedule_us, last_drift_id, last_rows) "
                            "VALUES ($1, 1, $2, $3, $3, $3, $4, $5)",
                            p, 5, NULL);
    }
    if (rc == GY_OK) {
        struct gy_db_param p[] = {GY_DB_P_TEXT(spec->name), GY_DB_P_INT(v), GY_DB_P_TEXT(text),
                                  GY_DB_P_INT(now)};
        rc = gy_db_exec(db,
                        "INSERT INTO pipeline_versions (name, version, spec, created_us) "
                        "VALUES ($1, $2, $3, $4)",
                        p, 4, NULL);
    }
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc == GY_OK) {
        *version = v;
        *changed = 1;
        goto out;
    }
rollback:
    gy_db_rollback(db);
out:
    gy_db_rows_free(r);
    gy_free(text);
    return rc;
}

enum gy_status gy_pipeline_get(struct gy_db *db, const char *name, int64_t version,
                               struct gy_pipeline_spec **out, int64_t *version_out)
{
    struct gy_db_rows *r = NULL;
    json_t *j;
    json_error_t err;
    enum gy_status rc;
    *out = NULL;
    if (version > 0) {
        struct gy_db_param p[] = {GY_DB_P_TEXT(name), GY_DB_P_INT(version)};
        rc = gy_db_query(db,
                         "SELECT version, spec FROM pipeline_versions WHERE name = $1 AND "
                         "version = $2",
                         p, 2, &r);
    } else {
        struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
        rc = gy_db_query(db, "SELECT version, spec FROM pipelines WHERE name = $1", p, 1, &r);
    }
    if (rc)
        return rc;
    if (gy_db_rows_count(r) == 0) {
        gy_db_rows_free(r);
        if (version > 0)
            return gy_error_set(GY_NOT_FOUND, "pipeline %s has no version %lld", name,
                                (long long)version);
        return gy_error_set(GY_NOT_FOUND, "no pipeline named \"%s\"", name);
    }
    if (version_out)
        *version_out = gy_db_rows_int(r, 0, 0);
    j = json_loads(gy_db_rows_text(r, 0, 1), 0, &err);
    gy_db_rows_free(r);
    if (!j)
        return gy_error_set(GY_E_CORRUPT, "pipeline %s: stored spec: %s", name, err.text);
    rc = gy_pipeline_spec_from_json(j, out);
    json_decref(j);
    return rc;
}

/* Checks what a spec names that must exist before a run can start. */
enum gy_status gy_pipeline_check_refs(struct gy_db *db, const struct gy_pipeline_spec *s)
{
    json_t *m = NULL;
    enum gy_status rc = gy_lake_version_get(db, s->data.dataset, 0, &m);
    if (rc == GY_OK) {
        struct gy_schema *sc = NULL;
        rc = gy_schema_from_json(json_object_get(m, "schema"), &sc);
        if (rc == GY_OK && gy_schema_find(sc, s->train.target) < 0)
            rc = gy_error_set(GY_E_INVALID, "train.target: dataset %s has no column \"%s\"",
                              s->data.dataset, s->train.target);
        gy_schema_free(sc);
    } else if (rc == GY_NOT_FOUND) {
        rc = gy_error_set(GY_E_INVALID, "data.dataset: no dataset named \"%s\"", s->data.dataset);
    }
    json_decref(m);
    if (rc == GY_OK && s->rollout.deployment) {
        struct gy_deploy_spec *d = NULL;
        int64_t rev;
        rc = gy_deploy_get_spec(db, s->rollout.deployment, &d, &rev);
        if (rc == GY_NOT_FOUND)
            rc = gy_error_set(GY_E_INVALID, "rollout.deployment: no deployment named \"%s\"",
                              s->rollout.deployment);
        gy_deploy_spec_free(d);
    }
    return rc;
}

/* ------------------------------------------------------------------ runs */

#define RUN_COLS                                                                                   \
    "id, pipeline, spec_version, state, trigger_kind, trigger_detail, reason, created_us, "        \
    "updated_us, finished_us, data_ref, data_rows, tracking_run, train_run, attempts, "            \
    "champion_version, candidate_version, canary_started_us, details, owner, lease_us"

static json_t *int_or_null(const struct gy_db_rows *r, size_t i, size_t c)
{
    return gy_db_rows_isnull(r, i, c) ? json_null() : json_integer(gy_db_rows_int(r, i, c));
}

static json_t *text_or_null(const struct gy_db_rows *r, size_t i, size_t c)
{
    const char *t = gy_db_rows_text(r, i, c);
    return t ? json_string(t) : json_null();
}

static json_t *run_json(const struct gy_db_rows *r, size_t i)
{
    json_t *j = json_object(), *details;
    if (!j)
        return NULL;
    details = json_loads(gy_db_rows_text(r, i, 18) ? gy_db_rows_text(r, i, 18) : "{}", 0, NULL);
    json_object_set_new(j, "id", json_integer(gy_db_rows_int(r, i, 0)));
    json_object_set_new(j, "pipeline", text_or_null(r, i, 1));
    json_object_set_new(j, "spec_version", json_integer(gy_db_rows_int(r, i, 2)));
    json_object_set_new(j, "state", text_or_null(r, i, 3));
    json_object_set_new(j, "trigger", text_or_null(r, i, 4));
    json_object_set_new(j, "trigger_detail", text_or_null(r, i, 5));
    json_object_set_new(j, "reason", text_or_null(r, i, 6));
    json_object_set_new(j, "created_us", int_or_null(r, i, 7));
    json_object_set_new(j, "updated_us", int_or_null(r, i, 8));
    json_object_set_new(j, "finished_us", int_or_null(r, i, 9));
    json_object_set_new(j, "data", text_or_null(r, i, 10));
    json_object_set_new(j, "data_rows", int_or_null(r, i, 11));
    json_object_set_new(j, "tracking_run", text_or_null(r, i, 12));
    json_object_set_new(j, "train_run", text_or_null(r, i, 13));
    json_object_set_new(j, "attempts", json_integer(gy_db_rows_int(r, i, 14)));
    json_object_set_new(j, "champion_version", int_or_null(r, i, 15));
    json_object_set_new(j, "candidate_version", int_or_null(r, i, 16));
    json_object_set_new(j, "canary_started_us", int_or_null(r, i, 17));
    json_object_set_new(j, "details", details ? details : json_object());
    json_object_set_new(j, "owner", text_or_null(r, i, 19));
    return j;
}

enum gy_status gy_pipeline_run_get(struct gy_db *db, int64_t id, json_t **out)
{
    struct gy_db_rows *r = NULL;
    struct gy_db_param p[] = {GY_DB_P_INT(id)};
    enum gy_status rc;
    *out = NULL;
    if ((rc = gy_db_query(db, "SELECT " RUN_COLS " FROM pipeline_runs WHERE id = $1", p, 1, &r)))
        return rc;
    if (gy_db_rows_count(r) == 0)
        rc = gy_error_set(GY_NOT_FOUND, "no pipeline run %lld", (long long)id);
    else if (!(*out = run_json(r, 0)))
        rc = GY_E_NOMEM;
    gy_db_rows_free(r);
    return rc;
}

enum gy_status gy_pipeline_runs(struct gy_db *db, const char *name, int64_t limit, json_t **out)
{
    struct gy_db_rows *r = NULL;
    struct gy_db_param p[] = {GY_DB_P_TEXT(name), GY_DB_P_INT(limit > 0 ? limit : 100)};
    enum gy_status rc;
    json_t *a;
    *out = NULL;
    if ((rc = gy_db_query(db,
                          "SELECT " RUN_COLS " FROM pipeline_runs WHERE pipeline = $1 "
                          "ORDER BY id DESC LIMIT $2",
                          p, 2, &r)))
        return rc;
    if (!(a = json_array())) {
        gy_db_rows_free(r);
        return GY_E_NOMEM;
    }
    for (size_t i = 0; i < gy_db_rows_count(r); i++)
        json_array_append_new(a, run_json(r, i));
    gy_db_rows_free(r);
    *out = a;
    return GY_OK;
}

enum gy_status gy_pipeline_list(struct gy_db *db, json_t **out)
{
    struct gy_db_rows *r = NULL;
    enum gy_status rc;
    json_t *a;
    *out = NULL;
    if ((rc = gy_db_query(db,
                          "SELECT name, version, updated_us, pending_trigger FROM pipelines "
                          "ORDER BY name",
                          NULL, 0, &r)))
        return rc;
    if (!(a = json_array())) {
        gy_db_rows_free(r);
        return GY_E_NOMEM;
    }
    for (size_t i = 0; i < gy_db_rows_count(r) && rc == GY_OK; i++) {
        json_t *runs = NULL, *o;
        rc = gy_pipeline_runs(db, gy_db_rows_text(r, i, 0), 1, &runs);
        if (rc)
            break;
        o = json_pack("{s:s, s:I, s:I, s:o, s:O}", "name", gy_db_rows_text(r, i, 0), "version",
                      (json_int_t)gy_db_rows_int(r, i, 1), "updated_us",
                      (json_int_t)gy_db_rows_int(r, i, 2), "pending_trigger", text_or_null(r, i, 3),
                      "last_run", json_array_size(runs) ? json_array_get(runs, 0) : json_null());
        json_decref(runs);
        if (!o)
            rc = GY_E_NOMEM;
        else
            json_array_append_new(a, o);
    }
    gy_db_rows_free(r);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return GY_OK;
}

/* Inside the caller's transaction: a new pending run of @p name. */
static enum gy_status run_insert(struct gy_db *db, const char *name, int64_t spec_version,
                                 const char *kind, const char *detail, int64_t *id)
{
    int64_t now = gy_time_wall_us();
    struct gy_db_param p[] = {GY_DB_P_TEXT(name), GY_DB_P_INT(spec_version), GY_DB_P_TEXT(kind),
                              GY_DB_P_TEXT(detail), GY_DB_P_INT(now)};
    enum gy_status rc =
        gy_db_exec(db,
                   "INSERT INTO pipeline_runs (pipeline, spec_version, state, active, "
                   "trigger_kind, trigger_detail, created_us, updated_us, attempts, details) "
                   "VALUES ($1, $2, 'pending', 1, $3, $4, $5, $5, 0, '{}')",
                   p, 5, NULL);
    if (rc)
        return rc;
    {
        struct gy_db_param q[] = {GY_DB_P_TEXT(name)};
        return gy_db_query_int(
            db, "SELECT id FROM pipeline_runs WHERE pipeline = $1 AND active = 1", q, 1, id);
    }
}

enum gy_status gy_pipeline_trigger(struct gy_db *db, const char *name, const char *kind,
                                   const char *detail, int64_t *run_id, int *coalesced)
{
    int64_t version = 0, active = 0;
    enum gy_status rc;
    *run_id = 0;
    *coalesced = 0;
    if ((rc = gy_db_begin(db)) != GY_OK)
        return rc;
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
        rc = gy_db_query_int(db, "SELECT version FROM pipelines WHERE name = $1", p, 1, &version);
        if (rc == GY_NOT_FOUND)
            rc = gy_error_set(GY_NOT_FOUND, "no pipeline named \"%s\"", name);
        if (rc == GY_OK) {
            rc = gy_db_query_int(db,
                                 "SELECT id FROM pipeline_runs WHERE pipeline = $1 AND active = 1",
                                 p, 1, &active);
            if (rc == GY_NOT_FOUND) {
                active = 0;
                rc = GY_OK;
            }
        }
    }
    if (rc == GY_OK && active) {
        /* Coalesce: the first waiting trigger is kept; later ones add nothing. */
        char both[256];
        struct gy_db_param p[] = {GY_DB_P_TEXT(both), GY_DB_P_INT(gy_time_wall_us()),
                                  GY_DB_P_TEXT(name)};
        snprintf(both, sizeof both, "%s%s%s", kind, detail ? ": " : "", detail ? detail : "");
        rc = gy_db_exec(db,
                        "UPDATE pipelines SET pending_trigger = $1, pending_us = $2 "
                        "WHERE name = $3 AND pending_trigger IS NULL",
                        p, 3, NULL);
        *coalesced = 1;
    } else if (rc == GY_OK) {
        rc = run_insert(db, name, version, kind, detail, run_id);
    }
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc) {
        gy_db_rollback(db);
        *run_id = 0;
        *coalesced = 0;
    }
    return rc;
}

enum gy_status gy__pipeline_start_pending(struct gy_db *db, const char *name, int64_t *run_id)
{
    struct gy_db_rows *r = NULL;
    enum gy_status rc;
    *run_id = 0;
    if ((rc = gy_db_begin(db)) != GY_OK)
        return rc;
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
        rc = gy_db_query(db,
                         "SELECT version, pending_trigger FROM pipelines WHERE name = $1 AND "
                         "pending_trigger IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                         "pipeline_runs WHERE pipeline = $1 AND active = 1)",
                         p, 1, &r);
    }
    if (rc == GY_OK && gy_db_rows_count(r) == 1) {
        char kind[64];
        const char *t = gy_db_rows_text(r, 0, 1), *colon = strchr(t, ':');
        size_t n = colon ? (size_t)(colon - t) : strlen(t);
        snprintf(kind, sizeof kind, "%.*s", (int)GY_MIN(n, sizeof kind - 1), t);
        rc = run_insert(db, name, gy_db_rows_int(r, 0, 0), kind, colon ? colon + 2 : NULL, run_id);
        if (rc == GY_OK) {
            struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
            rc = gy_db_exec(db,
                            "UPDATE pipelines SET pending_trigger = NULL, pending_us = NULL "
                            "WHERE name = $1",
                            p, 1, NULL);
        }
    }
    gy_db_rows_free(r);
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc) {
        gy_db_rollback(db);
        *run_id = 0;
    }
    return rc;
}
