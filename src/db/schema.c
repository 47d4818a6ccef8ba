/* SPDX-License-Identifier: MIT */
/*
 * schema.c - the metadata schema and its migrations. The table below is the whole history
 * of the schema; gy_db_open applies whatever a store lacks, in order, one write transaction
 * per migration, recording each in gy_schema_version(version, applied_us, description).
 *
 * Concurrent openers of a fresh store are safe: each migration transaction first takes the
 * write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: gyre's writer and migration advisory
 * locks), then re-reads the version and skips what another process already applied.
 */
#include "db/db_int.h"

struct gy_db_migration {
    int64_t version; /* 1, 2, 3, ... without gaps */
    const char *description;
    const char *sql_sqlite;
    const char *sql_postgres;
};

/*
 * APPEND-ONLY. Never edit or reorder a migration that has shipped: stores in the field have
 * already applied it. To change the schema, add an entry with the next version and SQL for
 * both backends (several statements separated by ';' are fine). Keep the two dialects
 * equivalent: the same tables, columns, constraints and indexes, so that the same SQL runs
 * on both. Integer keys: "INTEGER PRIMARY KEY AUTOINCREMENT" on SQLite, "BIGSERIAL PRIMARY
 * KEY" on PostgreSQL; other columns BIGINT, DOUBLE PRECISION or TEXT; times are
 * microseconds since the epoch in BIGINT columns named *_us.
 */
static const struct gy_db_migration migrations[] = {
    {
        1,
        "lake: datasets and dataset versions",
        "CREATE TABLE datasets ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL UNIQUE,"
        " description TEXT,"
        " schema_json TEXT,"
        " created_us BIGINT NOT NULL);"
        "CREATE TABLE dataset_versions ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " dataset_id BIGINT NOT NULL REFERENCES datasets(id),"
        " version BIGINT NOT NULL,"
        " parent_version BIGINT,"
        " created_us BIGINT NOT NULL,"
        " rows BIGINT NOT NULL,"
        " manifest TEXT NOT NULL,"
        " source TEXT,"
        " UNIQUE (dataset_id, version));",
        "CREATE TABLE datasets ("
        " id BIGSERIAL PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " description TEXT,"
        " schema_json TEXT,"
        " created_us BIGINT NOT NULL);"
        "CREATE TABLE dataset_versions ("
        " id BIGSERIAL PRIMARY KEY,"
        " dataset_id BIGINT NOT NULL REFERENCES datasets(id),"
        " version BIGINT NOT NULL,"
        " parent_version BIGINT,"
        " created_us BIGINT NOT NULL,"
        " rows BIGINT NOT NULL,"
        " manifest TEXT NOT NULL,"
        " source TEXT,"
        " UNIQUE (dataset_id, version));",
    },
    /*
     * Tracking and registry keep MLflow's times, milliseconds since the epoch (clients send
     * them on the wire), in BIGINT columns named *_ms. Tables whose key is the whole lookup
     * path are WITHOUT ROWID on SQLite (a storage detail; same columns and keys on both).
     */
    {
        2,
        "tracking: experiments, runs, params, metrics, tags, artifacts, dataset inputs",
        "CREATE TABLE experiments ("
        " experiment_id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL UNIQUE,"
        " artifact_location TEXT NOT NULL,"
        " lifecycle_stage TEXT NOT NULL,"
        " creation_ms BIGINT NOT NULL,"
        " last_update_ms BIGINT NOT NULL);"
        "CREATE TABLE experiment_tags ("
        " experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (experiment_id, key)) WITHOUT ROWID;"
        "CREATE TABLE runs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " run_id TEXT NOT NULL UNIQUE,"
        " experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),"
        " name TEXT NOT NULL,"
        " user_id TEXT,"
        " status TEXT NOT NULL,"
        " start_ms BIGINT NOT NULL,"
        " end_ms BIGINT,"
        " lifecycle_stage TEXT NOT NULL,"
        " artifact_uri TEXT NOT NULL,"
        " deleted_ms BIGINT);"
        "CREATE INDEX runs_experiment_start ON runs (experiment_id, start_ms);"
        "CREATE TABLE run_params ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (run, key)) WITHOUT ROWID;"
        "CREATE TABLE run_tags ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (run, key)) WITHOUT ROWID;"
        "CREATE TABLE run_metrics ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value DOUBLE PRECISION NOT NULL,"
        " is_nan BIGINT NOT NULL,"
        " timestamp_ms BIGINT NOT NULL,"
        " step BIGINT NOT NULL,"
        " PRIMARY KEY (run, key, step, timestamp_ms, value, is_nan)) WITHOUT ROWID;"
        "CREATE TABLE run_latest_metrics ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value DOUBLE PRECISION NOT NULL,"
        " is_nan BIGINT NOT NULL,"
        " timestamp_ms BIGINT NOT NULL,"
        " step BIGINT NOT NULL,"
        " PRIMARY KEY (run, key)) WITHOUT ROWID;"
        "CREATE INDEX run_latest_metrics_key_value ON run_latest_metrics (key, is_nan, value);"
        "CREATE TABLE run_artifacts ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " path TEXT NOT NULL,"
        " object TEXT NOT NULL,"
        " size BIGINT NOT NULL,"
        " created_ms BIGINT NOT NULL,"
        " PRIMARY KEY (run, path)) WITHOUT ROWID;"
        "CREATE TABLE tracking_datasets ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),"
        " name TEXT NOT NULL,"
        " digest TEXT NOT NULL,"
        " source_type TEXT NOT NULL,"
        " source TEXT NOT NULL,"
        " schema_json TEXT,"
        " profile TEXT,"
        " UNIQUE (experiment_id, name, digest));"
        "CREATE TABLE run_inputs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " dataset_id BIGINT NOT NULL REFERENCES tracking_datasets(id),"
        " UNIQUE (run, dataset_id));"
        "CREATE TABLE run_input_tags ("
        " input_id BIGINT NOT NULL REFERENCES run_inputs(id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (input_id, key)) WITHOUT ROWID;"
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
        " creation_ms, last_update_ms) VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active',"
        " CAST(strftime('%s', 'now') AS BIGINT) * 1000,"
        " CAST(strftime('%s', 'now') AS BIGINT) * 1000);",
        "CREATE TABLE experiments ("
        " experiment_id BIGSERIAL PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " artifact_location TEXT NOT NULL,"
        " lifecycle_stage TEXT NOT NULL,"
        " creation_ms BIGINT NOT NULL,"
        " last_update_ms BIGINT NOT NULL);"
        "CREATE TABLE experiment_tags ("
        " experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (experiment_id, key));"
        "CREATE TABLE runs ("
        " id BIGSERIAL PRIMARY KEY,"
        " run_id TEXT NOT NULL UNIQUE,"
        " experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),"
        " name TEXT NOT NULL,"
        " user_id TEXT,"
        " status TEXT NOT NULL,"
        " start_ms BIGINT NOT NULL,"
        " end_ms BIGINT,"
        " lifecycle_stage TEXT NOT NULL,"
        " artifact_uri TEXT NOT NULL,"
        " deleted_ms BIGINT);"
        "CREATE INDEX runs_experiment_start ON runs (experiment_id, start_ms);"
        "CREATE TABLE run_params ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (run, key));"
        "CREATE TABLE run_tags ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (run, key));"
        "CREATE TABLE run_metrics ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value DOUBLE PRECISION NOT NULL,"
        " is_nan BIGINT NOT NULL,"
        " timestamp_ms BIGINT NOT NULL,"
        " step BIGINT NOT NULL,"
        " PRIMARY KEY (run, key, step, timestamp_ms, value, is_nan));"
        "CREATE TABLE run_latest_metrics ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " key TEXT NOT NULL,"
        " value DOUBLE PRECISION NOT NULL,"
        " is_nan BIGINT NOT NULL,"
        " timestamp_ms BIGINT NOT NULL,"
        " step BIGINT NOT NULL,"
        " PRIMARY KEY (run, key));"
        "CREATE INDEX run_latest_metrics_key_value ON run_latest_metrics (key, is_nan, value);"
        "CREATE TABLE run_artifacts ("
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " path TEXT NOT NULL,"
        " object TEXT NOT NULL,"
        " size BIGINT NOT NULL,"
        " created_ms BIGINT NOT NULL,"
        " PRIMARY KEY (run, path));"
        "CREATE TABLE tracking_datasets ("
        " id BIGSERIAL PRIMARY KEY,"
        " experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),"
        " name TEXT NOT NULL,"
        " digest TEXT NOT NULL,"
        " source_type TEXT NOT NULL,"
        " source TEXT NOT NULL,"
        " schema_json TEXT,"
        " profile TEXT,"
        " UNIQUE (experiment_id, name, digest));"
        "CREATE TABLE run_inputs ("
        " id BIGSERIAL PRIMARY KEY,"
        " run BIGINT NOT NULL REFERENCES runs(id),"
        " dataset_id BIGINT NOT NULL REFERENCES tracking_datasets(id),"
        " UNIQUE (run, dataset_id));"
        "CREATE TABLE run_input_tags ("
        " input_id BIGINT NOT NULL REFERENCES run_inputs(id),"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (input_id, key));"
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
        " creation_ms, last_update_ms) VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active',"
        " CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT),"
        " CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT));",
    },
    {
        3,
        "registry: registered models, versions, tags, aliases and their history",
        "CREATE TABLE registered_models ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL UNIQUE,"
        " description TEXT,"
        " user_id TEXT,"
        " creation_ms BIGINT NOT NULL,"
        " last_updated_ms BIGINT NOT NULL,"
        " version_seq BIGINT NOT NULL);"
        "CREATE TABLE registered_model_tags ("
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (model_id, key)) WITHOUT ROWID;"
        "CREATE TABLE model_versions ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " version BIGINT NOT NULL,"
        " creation_ms BIGINT NOT NULL,"
        " last_updated_ms BIGINT NOT NULL,"
        " user_id TEXT,"
        " description TEXT,"
        " source TEXT NOT NULL,"
        " run_id TEXT,"
        " run_link TEXT,"
        " stage TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " dataset TEXT,"
        " dataset_version BIGINT,"
        " bundle_hash TEXT,"
        " UNIQUE (model_id, version));"
        "CREATE INDEX model_versions_run ON model_versions (run_id);"
        "CREATE TABLE model_version_tags ("
        " version_id BIGINT NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (version_id, key)) WITHOUT ROWID;"
        "CREATE TABLE model_aliases ("
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " alias TEXT NOT NULL,"
        " version_id BIGINT NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,"
        " set_ms BIGINT NOT NULL,"
        " PRIMARY KEY (model_id, alias)) WITHOUT ROWID;"
        "CREATE INDEX model_aliases_version ON model_aliases (version_id);"
        "CREATE TABLE model_alias_history ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " alias TEXT NOT NULL,"
        " version BIGINT,"
        " action TEXT NOT NULL,"
        " at_ms BIGINT NOT NULL);"
        "CREATE INDEX model_alias_history_model ON model_alias_history (model_id, id);",
        "CREATE TABLE registered_models ("
        " id BIGSERIAL PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " description TEXT,"
        " user_id TEXT,"
        " creation_ms BIGINT NOT NULL,"
        " last_updated_ms BIGINT NOT NULL,"
        " version_seq BIGINT NOT NULL);"
        "CREATE TABLE registered_model_tags ("
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (model_id, key));"
        "CREATE TABLE model_versions ("
        " id BIGSERIAL PRIMARY KEY,"
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " version BIGINT NOT NULL,"
        " creation_ms BIGINT NOT NULL,"
        " last_updated_ms BIGINT NOT NULL,"
        " user_id TEXT,"
        " description TEXT,"
        " source TEXT NOT NULL,"
        " run_id TEXT,"
        " run_link TEXT,"
        " stage TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " dataset TEXT,"
        " dataset_version BIGINT,"
        " bundle_hash TEXT,"
        " UNIQUE (model_id, version));"
        "CREATE INDEX model_versions_run ON model_versions (run_id);"
        "CREATE TABLE model_version_tags ("
        " version_id BIGINT NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY (version_id, key));"
        "CREATE TABLE model_aliases ("
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " alias TEXT NOT NULL,"
        " version_id BIGINT NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,"
        " set_ms BIGINT NOT NULL,"
        " PRIMARY KEY (model_id, alias));"
        "CREATE INDEX model_aliases_version ON model_aliases (version_id);"
        "CREATE TABLE model_alias_history ("
        " id BIGSERIAL PRIMARY KEY,"
        " model_id BIGINT NOT NULL REFERENCES registered_models(id) ON DELETE CASCADE,"
        " alias TEXT NOT NULL,"
        " version BIGINT,"
        " action TEXT NOT NULL,"
        " at_ms BIGINT NOT NULL);"
        "CREATE INDEX model_alias_history_model ON model_alias_history (model_id, id);",
    },
    /*
     * A deployment's current routing spec (JSON, src/serving) and every revision of it; a
     * rollback is a new revision that copies an old spec.
     */
    {
        4,
        "serving: deployments and their revisions",
        "CREATE TABLE deployments ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL UNIQUE,"
        " revision BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL);"
        "CREATE TABLE deployment_revisions ("
        " deployment BIGINT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,"
        " revision BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " reason TEXT,"
        " PRIMARY KEY (deployment, revision)) WITHOUT ROWID;",
        "CREATE TABLE deployments ("
        " id BIGSERIAL PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " revision BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL);"
        "CREATE TABLE deployment_revisions ("
        " deployment BIGINT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,"
        " revision BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " reason TEXT,"
        " PRIMARY KEY (deployment, revision));",
    },
    /*
     * API tokens (src/auth/token.c) are kept only as a keyed BLAKE2b hash; public_id is the
     * lookup key embedded in the token. Names are unique among tokens not revoked. The audit
     * log (src/auth/audit.c) is hash-chained: hash = SHA-256(prev_hash || the record's fields),
     * seq counts from 1 without gaps; records are only ever inserted.
     */
    {
        5,
        "auth: API tokens and the hash-chained audit log",
        "CREATE TABLE auth_tokens ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " public_id TEXT NOT NULL UNIQUE,"
        " name TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " scopes TEXT NOT NULL,"
        " hash TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " created_by TEXT,"
        " expires_us BIGINT,"
        " last_used_us BIGINT,"
        " revoked_us BIGINT);"
        "CREATE UNIQUE INDEX auth_tokens_active_name ON auth_tokens (name)"
        " WHERE revoked_us IS NULL;"
        "CREATE TABLE audit_log ("
        " seq BIGINT PRIMARY KEY,"
        " time_us BIGINT NOT NULL,"
        " actor TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " resource TEXT NOT NULL,"
        " detail TEXT NOT NULL,"
        " result TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL,"
        " hash TEXT NOT NULL);"
        "CREATE INDEX audit_log_time ON audit_log (time_us);"
        "CREATE INDEX audit_log_actor ON audit_log (actor, seq);",
        "CREATE TABLE auth_tokens ("
        " id BIGSERIAL PRIMARY KEY,"
        " public_id TEXT NOT NULL UNIQUE,"
        " name TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " scopes TEXT NOT NULL,"
        " hash TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " created_by TEXT,"
        " expires_us BIGINT,"
        " last_used_us BIGINT,"
        " revoked_us BIGINT);"
        "CREATE UNIQUE INDEX auth_tokens_active_name ON auth_tokens (name)"
        " WHERE revoked_us IS NULL;"
        "CREATE TABLE audit_log ("
        " seq BIGINT PRIMARY KEY,"
        " time_us BIGINT NOT NULL,"
        " actor TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " resource TEXT NOT NULL,"
        " detail TEXT NOT NULL,"
        " result TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL,"
        " hash TEXT NOT NULL);"
        "CREATE INDEX audit_log_time ON audit_log (time_us);"
        "CREATE INDEX audit_log_actor ON audit_log (actor, seq);",
    },
    /*
     * Feedback on logged predictions (src/serving/feedback.c): the ground truth (label) and/or
     * business outcome (value) of one request of a deployment, joined to the prediction log
     * dataset predlog-<deployment> by request id. A second report for the same request
     * replaces the first.
     */
    {
        6,
        "serving: feedback on logged predictions",
        "CREATE TABLE feedback ("
        " deployment TEXT NOT NULL,"
        " request_id TEXT NOT NULL,"
        " label DOUBLE PRECISION,"
        " value DOUBLE PRECISION,"
        " created_us BIGINT NOT NULL,"
        " PRIMARY KEY (deployment, request_id));"
        "CREATE INDEX feedback_time ON feedback (deployment, created_us);",
        "CREATE TABLE feedback ("
        " deployment TEXT NOT NULL,"
        " request_id TEXT NOT NULL,"
        " label DOUBLE PRECISION,"
        " value DOUBLE PRECISION,"
        " created_us BIGINT NOT NULL,"
        " PRIMARY KEY (deployment, request_id));"
        "CREATE INDEX feedback_time ON feedback (deployment, created_us);",
    },
    /*
     * Drift reports of deployments (src/monitor/history.c): each `gyre drift report` stores its
     * verdict and JSON report; the newest one per deployment feeds the Prometheus gauges.
     * drift_alerts keeps, per deployment, whether its GyreDataDrift alert is firing in
     * Alertmanager (src/monitor/alert.c), so that alerts are only sent on a change.
     */
    {
        7,
        "monitor: drift report history and alert state",
        "CREATE TABLE drift_reports ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " deployment TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " drift BIGINT NOT NULL,"
        " report TEXT NOT NULL);"
        "CREATE INDEX drift_reports_deployment ON drift_reports (deployment, id);"
        "CREATE TABLE drift_alerts ("
        " deployment TEXT PRIMARY KEY,"
        " firing BIGINT NOT NULL,"
        " starts_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL);",
        "CREATE TABLE drift_reports ("
        " id BIGSERIAL PRIMARY KEY,"
        " deployment TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " drift BIGINT NOT NULL,"
        " report TEXT NOT NULL);"
        "CREATE INDEX drift_reports_deployment ON drift_reports (deployment, id);"
        "CREATE TABLE drift_alerts ("
        " deployment TEXT PRIMARY KEY,"
        " firing BIGINT NOT NULL,"
        " starts_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL);",
    },
    /*
     * Continuous training (src/pipeline): pipeline specs, one version per change, and their
     * runs, each a persisted state machine. active is 1 while a run is not finished and NULL
     * after, so UNIQUE (pipeline, active) allows one unfinished run per pipeline. owner and
     * lease_us say which controller steps the run (a lease a dead owner loses).
     */
    {
        8,
        "pipeline: specs, versions and runs",
        "CREATE TABLE pipelines ("
        " name TEXT PRIMARY KEY,"
        " version BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " pending_trigger TEXT,"
        " pending_us BIGINT,"
        " last_schedule_us BIGINT NOT NULL,"
        " last_drift_id BIGINT NOT NULL,"
        " last_rows BIGINT NOT NULL);"
        "CREATE TABLE pipeline_versions ("
        " name TEXT NOT NULL,"
        " version BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " PRIMARY KEY (name, version));"
        "CREATE TABLE pipeline_runs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " pipeline TEXT NOT NULL,"
        " spec_version BIGINT NOT NULL,"
        " state TEXT NOT NULL,"
        " active BIGINT,"
        " trigger_kind TEXT NOT NULL,"
        " trigger_detail TEXT,"
        " reason TEXT,"
        " created_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " finished_us BIGINT,"
        " data_ref TEXT,"
        " data_rows BIGINT,"
        " tracking_run TEXT,"
        " train_run TEXT,"
        " attempts BIGINT NOT NULL,"
        " champion_version BIGINT,"
        " candidate_version BIGINT,"
        " canary_started_us BIGINT,"
        " details TEXT NOT NULL,"
        " owner TEXT,"
        " lease_us BIGINT,"
        " UNIQUE (pipeline, active));"
        "CREATE INDEX pipeline_runs_pipeline ON pipeline_runs (pipeline, id);",
        "CREATE TABLE pipelines ("
        " name TEXT PRIMARY KEY,"
        " version BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " pending_trigger TEXT,"
        " pending_us BIGINT,"
        " last_schedule_us BIGINT NOT NULL,"
        " last_drift_id BIGINT NOT NULL,"
        " last_rows BIGINT NOT NULL);"
        "CREATE TABLE pipeline_versions ("
        " name TEXT NOT NULL,"
        " version BIGINT NOT NULL,"
        " spec TEXT NOT NULL,"
        " created_us BIGINT NOT NULL,"
        " PRIMARY KEY (name, version));"
        "CREATE TABLE pipeline_runs ("
        " id BIGSERIAL PRIMARY KEY,"
        " pipeline TEXT NOT NULL,"
        " spec_version BIGINT NOT NULL,"
        " state TEXT NOT NULL,"
        " active BIGINT,"
        " trigger_kind TEXT NOT NULL,"
        " trigger_detail TEXT,"
        " reason TEXT,"
        " created_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " finished_us BIGINT,"
        " data_ref TEXT,"
        " data_rows BIGINT,"
        " tracking_run TEXT,"
        " train_run TEXT,"
        " attempts BIGINT NOT NULL,"
        " champion_version BIGINT,"
        " candidate_version BIGINT,"
        " canary_started_us BIGINT,"
        " details TEXT NOT NULL,"
        " owner TEXT,"
        " lease_us BIGINT,"
        " UNIQUE (pipeline, active));"
        "CREATE INDEX pipeline_runs_pipeline ON pipeline_runs (pipeline, id);",
    },
    /*
     * Drift monitoring of served traffic (src/monitor): drift_windows keeps, per deployment and
     * tumbling window spec, the end of the last window reported (a log row position or a time),
     * so that the next report covers the next full window; drift_webhooks keeps whether the
     * webhook was told that a deployment's GyreDataDrift alert is firing (sent only on a change,
     * like drift_alerts for Alertmanager).
     */
    {
        9,
        "monitor: tumbling window state and webhook alert state",
        "CREATE TABLE drift_windows ("
        " deployment TEXT NOT NULL,"
        " spec TEXT NOT NULL,"
        " window_end BIGINT NOT NULL,"
        " report_id BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " PRIMARY KEY (deployment, spec));"
        "CREATE TABLE drift_webhooks ("
        " deployment TEXT PRIMARY KEY,"
        " firing BIGINT NOT NULL,"
        " starts_us BIGINT NOT NULL,"
        " report_id BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL);",
        "CREATE TABLE drift_windows ("
        " deployment TEXT NOT NULL,"
        " spec TEXT NOT NULL,"
        " window_end BIGINT NOT NULL,"
        " report_id BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " PRIMARY KEY (deployment, spec));"
        "CREATE TABLE drift_webhooks ("
        " deployment TEXT PRIMARY KEY,"
        " firing BIGINT NOT NULL,"
        " starts_us BIGINT NOT NULL,"
        " report_id BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL);",
    },
    /*
     * Alerts of the in-server monitor other than GyreDataDrift (src/monitor/alert.c,
     * gy_monitor_alert_named_sync; today GyreDataQuality): whether each alert is firing, kept
     * per alert name, target ("alertmanager" or "webhook") and deployment, so that an alert is
     * only sent on a change and alerts of different names never share a state.
     */
    {
        10,
        "monitor: state of named alerts (data quality) per target",
        "CREATE TABLE monitor_alerts ("
        " alert TEXT NOT NULL,"
        " target TEXT NOT NULL,"
        " deployment TEXT NOT NULL,"
        " firing BIGINT NOT NULL,"
        " starts_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " PRIMARY KEY (alert, target, deployment));",
        "CREATE TABLE monitor_alerts ("
        " alert TEXT NOT NULL,"
        " target TEXT NOT NULL,"
        " deployment TEXT NOT NULL,"
        " firing BIGINT NOT NULL,"
        " starts_us BIGINT NOT NULL,"
        " updated_us BIGINT NOT NULL,"
        " PRIMARY KEY (alert, target, deployment));",
    },
};

static const char version_table_sql[] = "CREATE TABLE IF NOT EXISTS gy_schema_version ("
                                        " version BIGINT PRIMARY KEY,"
                                        " applied_us BIGINT NOT NULL,"
                                        " description TEXT)";

int64_t gy__db_schema_latest(void)
{
    return migrations[GY_ARRAY_LEN(migrations) - 1].version;
}

/* The store's version: 0 when gy_schema_version does not exist yet. */
static enum gy_status read_version(struct gy_db *db, int64_t *out)
{
    const char *exists_sql =
        db->kind == GY_DB_SQLITE
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
              "name = 'gy_schema_version'"
            : "SELECT COUNT(*) FROM (SELECT to_regclass('gy_schema_version') AS t) x "
              "WHERE t IS NOT NULL";
    int64_t n = 0;
    enum gy_status rc = gy_db_query_int(db, exists_sql, NULL, 0, &n);
    if (rc)
        return rc;
    if (n == 0) {
        *out = 0;
        return GY_OK;
    }
    return gy_db_schema_version(db, out);
}

static enum gy_status too_new(struct gy_db *db, int64_t have)
{
    return gy__db_error(db, GY_E_UNSUPPORTED,
                        "the metadata store is at schema version %lld but this gyre knows only "
                        "up to %lld: upgrade gyre",
                        (long long)have, (long long)gy__db_schema_latest());
}

/* Applies @p m unless another process did first; one transaction. */
static enum gy_status apply(struct gy_db *db, const struct gy_db_migration *m)
{
    struct gy_db_param p[3];
    int64_t now = 0;
    enum gy_status rc = gy_db_begin(db);
    if (rc)
        return rc;
    if ((rc = db->be->migrate_lock(db)) || (rc = gy__db_exec_script(db, version_table_sql)) ||
        (rc = gy_db_schema_version(db, &now)))
        goto out;
    if (now > gy__db_schema_latest()) {
        rc = too_new(db, now);
        goto out;
    }
    if (now >= m->version)
        goto out; /* applied meanwhile by another opener */
    if (now != m->version - 1) {
        rc = gy__db_error(db, GY_E_CORRUPT, "schema version %lld is followed by a gap",
                          (long long)now);
        goto out;
    }
    rc = gy__db_exec_script(db, db->kind == GY_DB_SQLITE ? m->sql_sqlite : m->sql_postgres);
    if (rc)
        goto out;
    p[0] = GY_DB_P_INT(m->version);
    p[1] = GY_DB_P_INT(gy_time_wall_us());
    p[2] = GY_DB_P_TEXT(m->description);
    rc = gy_db_exec(db,
                    "INSERT INTO gy_schema_version (version, applied_us, description) "
                    "VALUES ($1, $2, $3)",
                    p, 3, NULL);
out:
    if (rc) {
        gy_db_rollback(db);
        return gy_error_wrap(rc, "schema migration %lld (%s)", (long long)m->version,
                             m->description);
    }
    rc = gy_db_commit(db);
    if (rc)
        return gy_error_wrap(rc, "schema migration %lld (%s)", (long long)m->version,
                             m->description);
    gy_log(GY_LOG_DEBUG, "db: schema at version %lld (%s)", (long long)m->version, m->description);
    return GY_OK;
}

enum gy_status gy__db_migrate(struct gy_db *db)
{
    int64_t have = 0;
    enum gy_status rc = read_version(db, &have);
    if (rc)
        return rc;
    if (have > gy__db_schema_latest())
        return too_new(db, have);
    for (size_t i = 0; i < GY_ARRAY_LEN(migrations); i++) {
        GY_ASSERT(migrations[i].version == (int64_t)i + 1);
        if (migrations[i].version <= have)
            continue;
        rc = apply(db, &migrations[i]);
        if (rc)
            return rc;
    }
    return GY_OK;
}
