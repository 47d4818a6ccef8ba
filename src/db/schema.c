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
