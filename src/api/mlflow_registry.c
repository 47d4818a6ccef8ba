/* SPDX-License-Identifier: MIT */
/*
 * mlflow_registry.c - the model registry half of the MLflow REST API 2.0: registered models
 * (create, get, rename, update, delete, search, tags, get-latest-versions), aliases (set,
 * delete, get-by-alias on /registered-models/alias) and model versions (create, get, update,
 * delete, search, transition-stage, tags, get-download-uri). Each handler reads its message
 * with the accessors of mlflow_msg.c and calls src/registry, whose JSON is already MLflow's
 * RegisteredModel and ModelVersion; the route table is in mlflow.c.
 */
#include "api/mlflow_int.h"

#include <string.h>

static enum gy_status db_of(struct gy__mlflow_call *c, struct gy_db **db)
{
    return gy_api_db(c->api, db);
}

/* The required "name" and "version" fields of a version message. */
static enum gy_status name_version(struct gy__mlflow_call *c, const char **name, int64_t *version)
{
    const char *v;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, name)) ||
        (rc = gy__mlflow_id(&c->msg, "version", GY__MLFLOW_REQUIRED, &v)))
        return rc;
    if (gy_registry_version_parse(v, version))
        return gy_error_set(GY_E_INVALID,
                            "Invalid value '%.64s' for parameter 'version' supplied: a version is "
                            "a positive integer.",
                            v);
    return GY_OK;
}

/* Sends {"registered_model": ...} for model @p name. */
static enum gy_status send_model(struct gy__mlflow_call *c, struct gy_db *db, const char *name)
{
    json_t *m;
    enum gy_status rc = gy_registry_model_get(db, name, &m);
    if (rc)
        return rc;
    return gy__mlflow_send(c, "registered_model", m);
}

/* Sends {"model_version": ...} for version @p version of @p name. */
static enum gy_status send_version(struct gy__mlflow_call *c, struct gy_db *db, const char *name,
                                   int64_t version)
{
    json_t *v;
    enum gy_status rc = gy_registry_version_get(db, name, version, &v);
    if (rc)
        return rc;
    return gy__mlflow_send(c, "model_version", v);
}

/* ------------------------------------------------------------------ registered models */

GY__MLFLOW_HANDLER(, gy__mlflow_model_create, 0)
{
    const char *name, *desc;
    struct gy_tracking_tag *tags;
    struct gy_registry_tag *rt = NULL;
    size_t ntags;
    struct gy_db *db;
    enum gy_status rc;

    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "description", 0, &desc)) ||
        (rc = gy__mlflow_tags(&c->msg, "tags", 1000, &tags, &ntags)))
        return rc;
    if (ntags) {
        rt = gy_arena_alloc(c->msg.arena, ntags * sizeof *rt);
        if (!rt)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        for (size_t i = 0; i < ntags; i++) {
            rt[i].key = tags[i].key;
            rt[i].value = tags[i].value;
        }
    }
    if ((rc = db_of(c, &db)) || (rc = gy_registry_model_create(db, name, desc, NULL, rt, ntags)))
        return rc;
    return send_model(c, db, name);
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_get, 0)
{
    const char *name;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) || (rc = db_of(c, &db)))
        return rc;
    return send_model(c, db, name);
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_rename, 0)
{
    const char *name, *new_name;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "new_name", GY__MLFLOW_REQUIRED, &new_name)) ||
        (rc = db_of(c, &db)) || (rc = gy_registry_model_rename(db, name, new_name)))
        return rc;
    return send_model(c, db, new_name);
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_update, 0)
{
    const char *name, *desc;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "description", 0, &desc)) || (rc = db_of(c, &db)) ||
        (rc = gy_registry_model_update(db, name, desc ? desc : "")))
        return rc;
    return send_model(c, db, name);
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_delete, 0)
{
    const char *name;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) || (rc = db_of(c, &db)))
        return rc;
    return gy_registry_model_delete(db, name);
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_search, 0)
{
    struct gy_registry_search s;
    struct gy_db *db;
    json_t *out;
    enum gy_status rc;
    if ((rc = gy__mlflow_parse_registry_search(&c->msg, &s)) || (rc = db_of(c, &db)) ||
        (rc = gy_registry_model_search(db, &s, &out)))
        return rc;
    return gy_http_resp_json(c->resp, 200, out);
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_latest, 0)
{
    const char *name;
    const char *const *stages;
    size_t nstages;
    struct gy_db *db;
    json_t *arr;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_strs(&c->msg, "stages", 16, &stages, &nstages)) || (rc = db_of(c, &db)) ||
        (rc = gy_registry_latest_versions(db, name, stages, nstages, &arr)))
        return rc;
    if (json_array_size(arr) == 0) { /* empty repeated fields are omitted */
        json_decref(arr);
        return GY_OK;
    }
    return gy__mlflow_send(c, "model_versions", arr);
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_tag_set, 0)
{
    const char *name, *key, *value;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) ||
        (rc = gy__mlflow_str(&c->msg, "value", 0, &value)) || (rc = db_of(c, &db)))
        return rc;
    return gy_registry_model_tag_set(db, name, key, value ? value : "");
}

GY__MLFLOW_HANDLER(, gy__mlflow_model_tag_delete, 0)
{
    const char *name, *key;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) || (rc = db_of(c, &db)))
        return rc;
    return gy_registry_model_tag_delete(db, name, key);
}

/* ------------------------------------------------------------------ aliases */

GY__MLFLOW_HANDLER(, gy__mlflow_alias_set, 0)
{
    const char *name, *alias;
    int64_t version;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "alias", GY__MLFLOW_REQUIRED, &alias)) ||
        (rc = name_version(c, &name, &version)) || (rc = db_of(c, &db)))
        return rc;
    return gy_registry_alias_set(db, name, alias, version);
}

GY__MLFLOW_HANDLER(, gy__mlflow_alias_delete, 0)
{
    const char *name, *alias;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "alias", GY__MLFLOW_REQUIRED, &alias)) ||
        (rc = db_of(c, &db)))
        return rc;
    return gy_registry_alias_delete(db, name, alias);
}

GY__MLFLOW_HANDLER(, gy__mlflow_alias_get, 0)
{
    const char *name, *alias;
    struct gy_db *db;
    json_t *v;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "alias", GY__MLFLOW_REQUIRED, &alias)) ||
        (rc = db_of(c, &db)) || (rc = gy_registry_alias_get(db, name, alias, &v)))
        return rc;
    return gy__mlflow_send(c, "model_version", v);
}

/* ------------------------------------------------------------------ model versions */

GY__MLFLOW_HANDLER(, gy__mlflow_version_create, 0)
{
    struct gy_registry_version_create vc;
    struct gy_db *db;
    int64_t version;
    enum gy_status rc;
    if ((rc = gy__mlflow_parse_version_create(&c->msg, &vc)) || (rc = db_of(c, &db)))
        return rc;
    /* MLflow checks that the run exists before registering a version of it. */
    if (vc.run_id && (rc = gy_tracking_run_experiment(db, vc.run_id, NULL, NULL)))
        return rc;
    if ((rc = gy_registry_version_create(db, &vc, &version)))
        return rc;
    return send_version(c, db, vc.name, version);
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_get, 0)
{
    const char *name;
    int64_t version;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = name_version(c, &name, &version)) || (rc = db_of(c, &db)))
        return rc;
    return send_version(c, db, name, version);
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_update, 0)
{
    const char *name, *desc;
    int64_t version;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = name_version(c, &name, &version)) ||
        (rc = gy__mlflow_str(&c->msg, "description", 0, &desc)) || (rc = db_of(c, &db)) ||
        (rc = gy_registry_version_update(db, name, version, desc ? desc : "")))
        return rc;
    return send_version(c, db, name, version);
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_delete, 0)
{
    const char *name;
    int64_t version;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = name_version(c, &name, &version)) || (rc = db_of(c, &db)))
        return rc;
    return gy_registry_version_delete(db, name, version);
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_search, 0)
{
    struct gy_registry_search s;
    struct gy_db *db;
    json_t *out;
    enum gy_status rc;
    if ((rc = gy__mlflow_parse_registry_search(&c->msg, &s)) || (rc = db_of(c, &db)) ||
        (rc = gy_registry_version_search(db, &s, &out)))
        return rc;
    return gy_http_resp_json(c->resp, 200, out);
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_stage, 0)
{
    const char *name, *stage_name;
    enum gy_registry_stage stage;
    int64_t version;
    int archive = 0;
    struct gy_db *db;
    json_t *v = NULL;
    enum gy_status rc;
    if ((rc = name_version(c, &name, &version)) ||
        (rc = gy__mlflow_str(&c->msg, "stage", GY__MLFLOW_REQUIRED, &stage_name)) ||
        (rc = gy__mlflow_bool(&c->msg, "archive_existing_versions", GY__MLFLOW_REQUIRED, &archive,
                              NULL)))
        return rc;
    if (gy_registry_stage_parse(stage_name, &stage))
        return gy_error_set(GY_E_INVALID,
                            "Invalid Model Version stage: %.100s. Value must be one of None, "
                            "Staging, Production, Archived.",
                            stage_name);
    if ((rc = db_of(c, &db)) ||
        (rc = gy_registry_version_stage(db, name, version, stage, archive, &v)))
        return rc;
    return gy__mlflow_send(c, "model_version", v);
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_tag_set, 0)
{
    const char *name, *key, *value;
    int64_t version;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = name_version(c, &name, &version)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) ||
        (rc = gy__mlflow_str(&c->msg, "value", 0, &value)) || (rc = db_of(c, &db)))
        return rc;
    return gy_registry_version_tag_set(db, name, version, key, value ? value : "");
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_tag_delete, 0)
{
    const char *name, *key;
    int64_t version;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = name_version(c, &name, &version)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) || (rc = db_of(c, &db)))
        return rc;
    return gy_registry_version_tag_delete(db, name, version, key);
}

GY__MLFLOW_HANDLER(, gy__mlflow_version_download_uri, 0)
{
    const char *name;
    int64_t version;
    struct gy_db *db;
    char *uri = NULL;
    json_t *s;
    enum gy_status rc;
    if ((rc = name_version(c, &name, &version)) || (rc = db_of(c, &db)) ||
        (rc = gy_registry_version_download_uri(db, name, version, &uri)))
        return rc;
    s = json_string(uri);
    gy_free(uri);
    return gy__mlflow_send(c, "artifact_uri", s);
}
