/* SPDX-License-Identifier: MIT */
/*
 * alias.c - aliases and model references. An alias lives in model_aliases with PRIMARY KEY
 * (model_id, alias), so moving it is one upsert of one row: no reader or writer can ever see
 * two versions holding it, whatever the interleaving. Every set and delete is also appended
 * to model_alias_history (the audit trail MLflow lacks). References "MODEL", "MODEL@alias",
 * "MODEL@3", "MODEL/3", "MODEL@latest", "MODEL/latest" and "MODEL/<Stage>" resolve to one
 * version.
 */
#include "registry/registry_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum gy_status gy__registry_alias_event(struct gy_db *db, int64_t model_id, const char *alias,
                                        int64_t version, const char *action)
{
    struct gy_db_param p[5] = {GY_DB_P_INT(model_id), GY_DB_P_TEXT(alias),
                               version > 0 ? GY_DB_P_INT(version) : GY_DB_P_NULL,
                               GY_DB_P_TEXT(action), GY_DB_P_INT(gy__registry_now_ms())};
    return gy_db_exec(db,
                      "INSERT INTO model_alias_history (model_id, alias, version, action, at_ms) "
                      "VALUES ($1, $2, $3, $4, $5)",
                      p, 5, NULL);
}

enum gy_status gy_registry_alias_set(struct gy_db *db, const char *name, const char *alias,
                                     int64_t version)
{
    int64_t mid = 0, vid = 0;
    struct gy_db_param p[4];
    enum gy_status rc = gy_registry_alias_check(alias);
    if (rc)
        return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    rc = gy__registry_version_id(db, name, version, &mid, &vid);
    if (rc == GY_OK) {
        p[0] = GY_DB_P_INT(mid);
        p[1] = GY_DB_P_TEXT(alias);
        p[2] = GY_DB_P_INT(vid);
        p[3] = GY_DB_P_INT(gy__registry_now_ms());
        rc = gy_db_exec(db,
                        "INSERT INTO model_aliases (model_id, alias, version_id, set_ms) "
                        "VALUES ($1, $2, $3, $4) ON CONFLICT (model_id, alias) DO UPDATE SET "
                        "version_id = excluded.version_id, set_ms = excluded.set_ms",
                        p, 4, NULL);
    }
    if (rc == GY_OK)
        rc = gy__registry_alias_event(db, mid, alias, version, "set");
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

enum gy_status gy_registry_alias_delete(struct gy_db *db, const char *name, const char *alias)
{
    int64_t mid = 0, changes = 0;
    struct gy_db_param p[2];
    enum gy_status rc;
    if (!alias || !*alias)
        return gy_error_set(GY_E_INVALID, "Registered model alias name cannot be empty.");
    if ((rc = gy_db_begin(db)))
        return rc;
    rc = gy__registry_model_id(db, name, &mid);
    if (rc == GY_OK) {
        p[0] = GY_DB_P_INT(mid);
        p[1] = GY_DB_P_TEXT(alias);
        rc = gy_db_exec(db, "DELETE FROM model_aliases WHERE model_id = $1 AND alias = $2", p, 2,
                        &changes);
    }
    if (rc == GY_OK && changes == 0)
        rc = gy_error_set(GY_NOT_FOUND, "Registered model alias %s not found on model %s", alias,
                          name);
    if (rc == GY_OK)
        rc = gy__registry_alias_event(db, mid, alias, 0, "delete");
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

enum gy_status gy_registry_alias_get(struct gy_db *db, const char *name, const char *alias,
                                     json_t **out)
{
    struct gy_db_param p[2] = {GY_DB_P_TEXT(name), GY_DB_P_TEXT(alias)};
    enum gy_status rc;
    *out = NULL;
    if (!name || !*name || !alias || !*alias)
        return gy_error_set(GY_E_INVALID, "model name and alias must be non-empty");
    rc = gy__registry_version_json_where(
        db,
        "m.name = $1 AND v.id = (SELECT a.version_id FROM model_aliases a WHERE a.model_id = "
        "m.id AND a.alias = $2)",
        p, 2, out);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "Registered model alias %s not found.", alias);
    return rc;
}

enum gy_status gy_registry_alias_history(struct gy_db *db, const char *name, int64_t limit,
                                         json_t **out)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p[2];
    int64_t mid = 0;
    json_t *arr = NULL;
    enum gy_status rc;
    *out = NULL;
    if ((rc = gy__registry_model_id(db, name, &mid)))
        return rc;
    p[0] = GY_DB_P_INT(mid);
    p[1] = GY_DB_P_INT(limit > 0 ? limit : 100);
    rc = gy_db_query(db,
                     "SELECT alias, version, action, at_ms FROM model_alias_history "
                     "WHERE model_id = $1 ORDER BY id DESC LIMIT $2",
                     p, 2, &rows);
    if (rc)
        return rc;
    arr = json_array();
    if (!arr)
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == GY_OK && i < gy_db_rows_count(rows); i++) {
        json_t *e = json_object();
        int bad = !e;
        if (!bad) {
            bad |= gy_json_set(e, "alias", json_string(gy_db_rows_text(rows, i, 0))) != GY_OK;
            if (!gy_db_rows_isnull(rows, i, 1))
                bad |= gy_json_set(e, "version", json_string(gy_db_rows_text(rows, i, 1))) != GY_OK;
            bad |= gy_json_set(e, "action", json_string(gy_db_rows_text(rows, i, 2))) != GY_OK;
            bad |= gy_json_set(e, "timestamp", json_integer(gy_db_rows_int(rows, i, 3))) != GY_OK;
        }
        if (bad) {
            json_decref(e);
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
        } else if (json_array_append_new(arr, e)) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
        }
    }
    gy_db_rows_free(rows);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return GY_OK;
}

/* ------------------------------------------------------------------ references */

void gy_registry_version_info_free(struct gy_registry_version_info *v)
{
    if (!v)
        return;
    gy_free(v->name);
    gy_free(v->source);
    gy_free(v->run_id);
    gy_free(v->dataset);
    gy_free(v->bundle_hash);
    gy_free(v->description);
    gy_free(v);
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d;
    if (!s)
        return NULL;
    d = gy_strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

/* Loads the version selected by @p where (parameters @p p) into a new info. */
static enum gy_status load_info(struct gy_db *db, const char *where, const struct gy_db_param *p,
                                size_t np, struct gy_registry_version_info **out)
{
    struct gy_buf sql;
    struct gy_db_rows *rows = NULL;
    struct gy_registry_version_info *v = NULL;
    int oom = 0;
    enum gy_status rc;
    gy_buf_init(&sql, 4096);
    rc = gy_buf_printf(&sql,
                       "SELECT m.name, v.version, v.stage, v.source, v.run_id, v.dataset, "
                       "v.dataset_version, v.bundle_hash, v.description, v.creation_ms "
                       "FROM model_versions v JOIN registered_models m ON m.id = v.model_id "
                       "WHERE %s",
                       where);
    if (rc == GY_OK)
        rc = gy_db_query(db, sql.data, p, np, &rows);
    gy_buf_free(&sql);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return GY_NOT_FOUND;
    }
    v = gy_calloc(1, sizeof *v);
    if (!v) {
        gy_db_rows_free(rows);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    v->name = dup_or_null(gy_db_rows_text(rows, 0, 0), &oom);
    v->version = gy_db_rows_int(rows, 0, 1);
    if (gy_registry_stage_parse(gy_db_rows_text(rows, 0, 2), &v->stage) != GY_OK)
        v->stage = GY_STAGE_NONE;
    v->source = dup_or_null(gy_db_rows_text(rows, 0, 3), &oom);
    v->run_id = dup_or_null(gy_db_rows_text(rows, 0, 4), &oom);
    v->dataset = dup_or_null(gy_db_rows_text(rows, 0, 5), &oom);
    v->dataset_version = gy_db_rows_int(rows, 0, 6);
    v->bundle_hash = dup_or_null(gy_db_rows_text(rows, 0, 7), &oom);
    v->description = dup_or_null(gy_db_rows_text(rows, 0, 8), &oom);
    v->creation_ms = gy_db_rows_int(rows, 0, 9);
    gy_db_rows_free(rows);
    if (oom) {
        gy_registry_version_info_free(v);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    *out = v;
    return GY_OK;
}

#define LATEST_WHERE                                                                               \
    "m.name = $1 AND v.version = (SELECT MAX(x.version) FROM model_versions x WHERE "              \
    "x.model_id = m.id)"
#define ALIAS_WHERE                                                                                \
    "m.name = $1 AND v.id = (SELECT a.version_id FROM model_aliases a WHERE a.model_id = m.id "    \
    "AND a.alias = $2)"

enum gy_status gy_registry_resolve(struct gy_db *db, const char *ref,
                                   struct gy_registry_version_info **out)
{
    char name[GY_REGISTRY_NAME_MAX + 1];
    const char *sep, *rest = NULL;
    int64_t version = 0, mid = 0;
    enum gy_registry_stage stage = GY_STAGE_NONE;
    struct gy_db_param p[2];
    enum gy_status rc;
    enum { BY_DEFAULT, BY_LATEST, BY_VERSION, BY_ALIAS, BY_STAGE } how = BY_DEFAULT;
    char sepc = 0;

    *out = NULL;
    if (!ref || !*ref)
        return gy_error_set(GY_E_INVALID, "empty model reference");
    if (strncmp(ref, "models:/", 8) == 0)
        ref += 8;
    sep = strpbrk(ref, "@/");
    if (sep) {
        sepc = *sep;
        rest = sep + 1;
        if ((size_t)(sep - ref) > GY_REGISTRY_NAME_MAX || !*rest)
            return gy_error_set(GY_E_INVALID,
                                "invalid model reference '%s' (expected MODEL, MODEL@alias, "
                                "MODEL@N or MODEL/N)",
                                ref);
        memcpy(name, ref, (size_t)(sep - ref));
        name[sep - ref] = '\0';
        if (strcasecmp(rest, "latest") == 0)
            how = BY_LATEST;
        else if (all_digits(rest)) {
            how = BY_VERSION;
            if ((rc = gy_registry_version_parse(rest, &version)))
                return rc;
        } else if (sepc == '@') {
            how = BY_ALIAS;
            if ((rc = gy_registry_alias_check(rest)))
                return rc;
        } else if (gy_registry_stage_parse(rest, &stage) == GY_OK) {
            how = BY_STAGE;
        } else {
            return gy_error_set(GY_E_INVALID,
                                "invalid model reference '%s': after '/' comes a version number, "
                                "'latest' or a stage",
                                ref);
        }
    } else {
        if (strlen(ref) > GY_REGISTRY_NAME_MAX)
            return gy_error_set(GY_E_INVALID, "model name too long");
        memcpy(name, ref, strlen(ref) + 1);
    }
    if ((rc = gy_registry_name_check(name)) || (rc = gy__registry_model_id(db, name, &mid)))
        return rc;
    p[0] = GY_DB_P_TEXT(name);
    switch (how) {
    case BY_DEFAULT:
        p[1] = GY_DB_P_TEXT(GY_REGISTRY_DEFAULT_ALIAS);
        rc = load_info(db, ALIAS_WHERE, p, 2, out);
        if (rc == GY_NOT_FOUND)
            rc = load_info(db, LATEST_WHERE, p, 1, out);
        if (rc == GY_NOT_FOUND)
            return gy_error_set(GY_NOT_FOUND, "Registered model %s has no versions", name);
        return rc;
    case BY_LATEST:
        rc = load_info(db, LATEST_WHERE, p, 1, out);
        if (rc == GY_NOT_FOUND)
            return gy_error_set(GY_NOT_FOUND, "Registered model %s has no versions", name);
        return rc;
    case BY_VERSION:
        p[1] = GY_DB_P_INT(version);
        rc = load_info(db, "m.name = $1 AND v.version = $2", p, 2, out);
        if (rc == GY_NOT_FOUND)
            return gy_error_set(GY_NOT_FOUND, "Model Version (name=%s, version=%lld) not found",
                                name, (long long)version);
        return rc;
    case BY_ALIAS:
        p[1] = GY_DB_P_TEXT(rest);
        rc = load_info(db, ALIAS_WHERE, p, 2, out);
        if (rc == GY_NOT_FOUND)
            return gy_error_set(GY_NOT_FOUND, "Registered model alias %s not found on model %s",
                                rest, name);
        return rc;
    case BY_STAGE:
        p[1] = GY_DB_P_TEXT(gy_registry_stage_str(stage));
        rc = load_info(db,
                       "m.name = $1 AND v.version = (SELECT MAX(x.version) FROM model_versions x "
                       "WHERE x.model_id = m.id AND x.stage = $2)",
                       p, 2, out);
        if (rc == GY_NOT_FOUND)
            return gy_error_set(GY_NOT_FOUND, "Registered model %s has no version in stage %s",
                                name, gy_registry_stage_str(stage));
        return rc;
    }
    return gy_error_set(GY_E_INTERNAL, "unreachable");
}
