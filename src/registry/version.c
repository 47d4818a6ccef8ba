/* SPDX-License-Identifier: MIT */
/*
 * version.c - model versions: create (numbers from the model's version_seq counter, so a
 * deleted version's number is never reused), register from a tracked run (model created when
 * missing, one transaction), get, description, delete, stage transitions (with
 * archive_existing_versions), tags, search and the download URI.
 */
#include "registry/registry_int.h"
#include "tracking/tracking.h"

#include <string.h>

enum gy_status gy__registry_version_check(const struct gy_registry_version_create *c)
{
    enum gy_status rc;
    if ((rc = gy_registry_name_check(c->name)) || (rc = gy_registry_source_check(c->source)) ||
        (rc = gy__registry_text_check("run_id", c->run_id, GY_REGISTRY_NAME_MAX)) ||
        (rc = gy__registry_text_check("run_link", c->run_link, GY_REGISTRY_SOURCE_MAX)) ||
        (rc =
             gy__registry_text_check("description", c->description, GY_REGISTRY_DESCRIPTION_MAX)) ||
        (rc = gy__registry_text_check("user_id", c->user_id, GY_REGISTRY_NAME_MAX)) ||
        (rc = gy__registry_text_check("dataset", c->dataset, GY_REGISTRY_NAME_MAX)) ||
        (rc = gy__registry_tags_check(c->tags, c->ntags)))
        return rc;
    if (c->bundle_hash && !gy_is_sha256_hex(c->bundle_hash))
        return gy_error_set(GY_E_INVALID, "bundle_hash must be 64 lowercase hex digits");
    if (c->dataset_version < 0)
        return gy_error_set(GY_E_INVALID, "dataset_version must not be negative");
    return GY_OK;
}

enum gy_status gy__registry_version_insert(struct gy_db *db, int64_t model_id,
                                           const struct gy_registry_version_create *c,
                                           int64_t *version)
{
    struct gy_db_param p[14];
    int64_t now = gy__registry_now_ms(), v = 0, vid = 0;
    enum gy_status rc;
    p[0] = GY_DB_P_INT(model_id);
    p[1] = GY_DB_P_INT(now);
    rc = gy_db_query_int(db,
                         "UPDATE registered_models SET version_seq = version_seq + 1, "
                         "last_updated_ms = $2 WHERE id = $1 RETURNING version_seq",
                         p, 2, &v);
    if (rc)
        return rc;
    p[2] = GY_DB_P_INT(v);
    p[3] = GY_DB_P_TEXT(c->user_id);
    p[4] = GY_DB_P_TEXT(c->description);
    p[5] = GY_DB_P_TEXT(c->source);
    p[6] = GY_DB_P_TEXT(c->run_id && *c->run_id ? c->run_id : NULL);
    p[7] = GY_DB_P_TEXT(c->run_link && *c->run_link ? c->run_link : NULL);
    p[8] = GY_DB_P_TEXT(gy_registry_stage_str(GY_STAGE_NONE));
    p[9] = GY_DB_P_TEXT("READY");
    p[10] = GY_DB_P_TEXT(c->dataset && *c->dataset ? c->dataset : NULL);
    p[11] = c->dataset && *c->dataset && c->dataset_version > 0 ? GY_DB_P_INT(c->dataset_version)
                                                                : GY_DB_P_NULL;
    p[12] = GY_DB_P_TEXT(c->bundle_hash);
    rc = gy_db_query_int(db,
                         "INSERT INTO model_versions (model_id, creation_ms, last_updated_ms, "
                         "version, user_id, description, source, run_id, run_link, stage, status, "
                         "dataset, dataset_version, bundle_hash) VALUES ($1, $2, $2, $3, $4, $5, "
                         "$6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                         p, 13, &vid);
    for (size_t i = 0; rc == GY_OK && i < c->ntags; i++) {
        struct gy_db_param t[3] = {GY_DB_P_INT(vid), GY_DB_P_TEXT(c->tags[i].key),
                                   GY_DB_P_TEXT(c->tags[i].value)};
        rc = gy_db_exec(db,
                        "INSERT INTO model_version_tags (version_id, key, value) VALUES ($1, $2, "
                        "$3) ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value",
                        t, 3, NULL);
    }
    if (rc == GY_OK)
        *version = v;
    return rc;
}

enum gy_status gy_registry_version_create(struct gy_db *db,
                                          const struct gy_registry_version_create *c,
                                          int64_t *version)
{
    int64_t mid = 0, v = 0;
    enum gy_status rc = gy__registry_version_check(c);
    if (rc)
        return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    rc = gy__registry_model_id(db, c->name, &mid);
    if (rc == GY_OK)
        rc = gy__registry_version_insert(db, mid, c, &v);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    if ((rc = gy_db_commit(db)))
        return rc;
    *version = v;
    return GY_OK;
}

enum gy_status gy_registry_register(struct gy_db *db, const char *model, const char *run_id,
                                    const char *source, const char *bundle_hash,
                                    const char *dataset, int64_t dataset_version, int64_t *version)
{
    struct gy_registry_version_create c = {0};
    char src[GY_TRACKING_RUN_ID_LEN + 32];
    struct gy_db_param p[2];
    int64_t mid = 0, v = 0, now = gy__registry_now_ms();
    enum gy_status rc;
    if (!gy_tracking_run_id_valid(run_id))
        return gy_error_set(GY_NOT_FOUND, "Run with id=%.64s not found", run_id ? run_id : "");
    if (!source) {
        snprintf(src, sizeof src, "runs:/%s/model", run_id);
        source = src;
    }
    c.name = model;
    c.source = source;
    c.run_id = run_id;
    c.bundle_hash = bundle_hash;
    c.dataset = dataset;
    c.dataset_version = dataset_version;
    if ((rc = gy__registry_version_check(&c)))
        return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    rc = gy_tracking_run_experiment(db, run_id, NULL, NULL);
    if (rc == GY_OK) {
        p[0] = GY_DB_P_TEXT(model);
        p[1] = GY_DB_P_INT(now);
        rc = gy_db_exec(db,
                        "INSERT INTO registered_models (name, creation_ms, last_updated_ms, "
                        "version_seq) VALUES ($1, $2, $2, 0) ON CONFLICT (name) DO NOTHING",
                        p, 2, NULL);
    }
    if (rc == GY_OK)
        rc = gy__registry_model_id(db, model, &mid);
    if (rc == GY_OK)
        rc = gy__registry_version_insert(db, mid, &c, &v);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    if ((rc = gy_db_commit(db)))
        return rc;
    *version = v;
    return GY_OK;
}

enum gy_status gy_registry_version_get(struct gy_db *db, const char *name, int64_t version,
                                       json_t **out)
{
    struct gy_db_param p[2] = {GY_DB_P_TEXT(name), GY_DB_P_INT(version)};
    enum gy_status rc;
    *out = NULL;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "Registered model name cannot be empty.");
    rc = gy__registry_version_json_where(db, "m.name = $1 AND v.version = $2", p, 2, out);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "Model Version (name=%s, version=%lld) not found", name,
                            (long long)version);
    return rc;
}

/* Runs @p fn(db, model_id, version_id, arg) in a transaction on an existing version. */
static enum gy_status
version_write(struct gy_db *db, const char *name, int64_t version,
              enum gy_status (*fn)(struct gy_db *, int64_t, int64_t, const void *), const void *arg)
{
    int64_t mid = 0, vid = 0;
    enum gy_status rc = gy_db_begin(db);
    if (rc)
        return rc;
    rc = gy__registry_version_id(db, name, version, &mid, &vid);
    if (rc == GY_OK)
        rc = fn(db, mid, vid, arg);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

static enum gy_status do_describe(struct gy_db *db, int64_t mid, int64_t vid, const void *arg)
{
    struct gy_db_param p[3] = {GY_DB_P_TEXT((const char *)arg), GY_DB_P_INT(vid),
                               GY_DB_P_INT(gy__registry_now_ms())};
    GY_UNUSED(mid);
    return gy_db_exec(
        db, "UPDATE model_versions SET description = $1, last_updated_ms = $3 WHERE id = $2", p, 3,
        NULL);
}

enum gy_status gy_registry_version_update(struct gy_db *db, const char *name, int64_t version,
                                          const char *description)
{
    enum gy_status rc;
    if (!description)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'description'");
    if ((rc = gy__registry_text_check("description", description, GY_REGISTRY_DESCRIPTION_MAX)))
        return rc;
    return version_write(db, name, version, do_describe, description);
}

static enum gy_status do_delete(struct gy_db *db, int64_t mid, int64_t vid, const void *arg)
{
    const int64_t *version = arg;
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p = GY_DB_P_INT(vid);
    enum gy_status rc =
        gy_db_query(db, "SELECT alias FROM model_aliases WHERE version_id = $1", &p, 1, &rows);
    /* The aliases on this version disappear with it (ON DELETE CASCADE): record that. */
    for (size_t i = 0; rc == GY_OK && i < gy_db_rows_count(rows); i++)
        rc = gy__registry_alias_event(db, mid, gy_db_rows_text(rows, i, 0), *version, "delete");
    gy_db_rows_free(rows);
    if (rc == GY_OK)
        rc = gy_db_exec(db, "DELETE FROM model_versions WHERE id = $1", &p, 1, NULL);
    return rc;
}

enum gy_status gy_registry_version_delete(struct gy_db *db, const char *name, int64_t version)
{
    return version_write(db, name, version, do_delete, &version);
}

struct stage_arg {
    enum gy_registry_stage stage;
    int archive;
};

static enum gy_status do_stage(struct gy_db *db, int64_t mid, int64_t vid, const void *arg)
{
    const struct stage_arg *a = arg;
    int64_t now = gy__registry_now_ms();
    struct gy_db_param p[4] = {GY_DB_P_TEXT(gy_registry_stage_str(a->stage)), GY_DB_P_INT(vid),
                               GY_DB_P_INT(now), GY_DB_P_INT(mid)};
    enum gy_status rc = gy_db_exec(
        db, "UPDATE model_versions SET stage = $1, last_updated_ms = $3 WHERE id = $2", p, 3, NULL);
    if (rc == GY_OK && a->archive &&
        (a->stage == GY_STAGE_STAGING || a->stage == GY_STAGE_PRODUCTION))
        rc = gy_db_exec(db,
                        "UPDATE model_versions SET stage = 'Archived', last_updated_ms = $3 "
                        "WHERE model_id = $4 AND stage = $1 AND id <> $2",
                        p, 4, NULL);
    return rc;
}

enum gy_status gy_registry_version_stage(struct gy_db *db, const char *name, int64_t version,
                                         enum gy_registry_stage stage, int archive_existing,
                                         json_t **out)
{
    struct stage_arg a = {stage, archive_existing};
    enum gy_status rc;
    if (out)
        *out = NULL;
    if (!*gy_registry_stage_str(stage))
        return gy_error_set(GY_E_INVALID, "Invalid Model Version stage %d", (int)stage);
    if ((rc = version_write(db, name, version, do_stage, &a)))
        return rc;
    return out ? gy_registry_version_get(db, name, version, out) : GY_OK;
}

static enum gy_status do_tag_set(struct gy_db *db, int64_t mid, int64_t vid, const void *arg)
{
    const struct gy_registry_tag *t = arg;
    struct gy_db_param p[3] = {GY_DB_P_INT(vid), GY_DB_P_TEXT(t->key), GY_DB_P_TEXT(t->value)};
    GY_UNUSED(mid);
    return gy_db_exec(db,
                      "INSERT INTO model_version_tags (version_id, key, value) VALUES ($1, $2, $3) "
                      "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value",
                      p, 3, NULL);
}

enum gy_status gy_registry_version_tag_set(struct gy_db *db, const char *name, int64_t version,
                                           const char *key, const char *value)
{
    struct gy_registry_tag t = {key, value};
    enum gy_status rc = gy__registry_tags_check(&t, 1);
    if (rc)
        return rc;
    return version_write(db, name, version, do_tag_set, &t);
}

static enum gy_status do_tag_delete(struct gy_db *db, int64_t mid, int64_t vid, const void *arg)
{
    const char *key = arg;
    struct gy_db_param p[2] = {GY_DB_P_INT(vid), GY_DB_P_TEXT(key)};
    int64_t changes = 0;
    enum gy_status rc = gy_db_exec(
        db, "DELETE FROM model_version_tags WHERE version_id = $1 AND key = $2", p, 2, &changes);
    GY_UNUSED(mid);
    if (rc == GY_OK && changes == 0)
        rc = gy_error_set(GY_NOT_FOUND, "No tag with key '%s' on this model version", key);
    return rc;
}

enum gy_status gy_registry_version_tag_delete(struct gy_db *db, const char *name, int64_t version,
                                              const char *key)
{
    if (!key || !*key)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'key'");
    return version_write(db, name, version, do_tag_delete, key);
}

enum gy_status gy_registry_version_download_uri(struct gy_db *db, const char *name, int64_t version,
                                                char **uri)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p[2] = {GY_DB_P_TEXT(name), GY_DB_P_INT(version)};
    const char *src;
    enum gy_status rc;
    *uri = NULL;
    rc = gy_db_query(db,
                     "SELECT v.source FROM model_versions v JOIN registered_models m ON m.id = "
                     "v.model_id WHERE m.name = $1 AND v.version = $2",
                     p, 2, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return gy_error_set(GY_NOT_FOUND, "Model Version (name=%s, version=%lld) not found",
                            name ? name : "", (long long)version);
    }
    src = gy_db_rows_text(rows, 0, 0);
    if (strncmp(src, "runs:/", 6) == 0 && strlen(src) > 6 + GY_TRACKING_RUN_ID_LEN &&
        src[6 + GY_TRACKING_RUN_ID_LEN] == '/') {
        char run_id[GY_TRACKING_RUN_ID_LEN + 1];
        char *art = NULL;
        memcpy(run_id, src + 6, GY_TRACKING_RUN_ID_LEN);
        run_id[GY_TRACKING_RUN_ID_LEN] = '\0';
        if (gy_tracking_run_experiment(db, run_id, NULL, &art) == GY_OK) {
            struct gy_buf b;
            gy_buf_init(&b, GY_REGISTRY_SOURCE_MAX * 2);
            if (gy_buf_printf(&b, "%s/%s", art, src + 7 + GY_TRACKING_RUN_ID_LEN) == GY_OK)
                *uri = gy_buf_detach(&b, NULL);
            else
                gy_buf_free(&b);
            gy_free(art);
            if (!*uri)
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
            gy_db_rows_free(rows);
            return rc;
        }
        gy_error_clear();
    }
    *uri = gy_strdup(src);
    gy_db_rows_free(rows);
    return *uri ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
}

/* ------------------------------------------------------------------ search */

/* Appends the WHERE conditions of a version filter. */
static enum gy_status version_where(struct gy_db *db, struct gy_db_sql *b,
                                    const struct gy_tracking_filter *f)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct gy_tracking_cond *c = &f->conds[i];
        int sop = c->op == GY_TRACKING_OP_EQ || c->op == GY_TRACKING_OP_NE ||
                  c->op == GY_TRACKING_OP_LIKE || c->op == GY_TRACKING_OP_ILIKE;
        char expr[32];
        if (c->entity == GY_TRACKING_ENT_TAG) {
            if (c->is_num || !sop)
                return gy__registry_bad_cond(
                    c, "tags are compared with =, !=, LIKE or ILIKE to a string");
            snprintf(expr, sizeof expr, "t%zu.value", i);
            gy__registry_str_pred(db, b, expr, c);
            continue;
        }
        if (c->entity != GY_TRACKING_ENT_ATTRIBUTE)
            return gy__registry_bad_cond(
                c, "model versions are filtered by name, run_id, source_path, "
                   "version_number or tags.<key>");
        if (strcmp(c->key, "version_number") == 0) {
            if (!c->is_num || c->op > GY_TRACKING_OP_GE)
                return gy__registry_bad_cond(
                    c, "version_number is compared with =, !=, <, <=, >, >= to a "
                       "number");
            gy_db_sql_printf(b, " AND v.version %s ",
                             c->op == GY_TRACKING_OP_NE ? "<>" : gy_tracking_op_str(c->op));
            gy_db_sql_param(b, GY_DB_P_REAL(c->num));
            continue;
        }
        if (c->is_num)
            return gy__registry_bad_cond(c, "this attribute is compared with a quoted string");
        if (strcmp(c->key, "name") == 0 && sop)
            gy__registry_str_pred(db, b, "m.name", c);
        else if (strcmp(c->key, "source_path") == 0 && sop)
            gy__registry_str_pred(db, b, "v.source", c);
        else if (strcmp(c->key, "run_id") == 0 &&
                 (c->op == GY_TRACKING_OP_EQ || c->op == GY_TRACKING_OP_NE ||
                  c->op == GY_TRACKING_OP_IN || c->op == GY_TRACKING_OP_NOT_IN))
            gy__registry_str_pred(db, b, "v.run_id", c);
        else
            return gy__registry_bad_cond(
                c, "invalid model version condition (name: =, !=, LIKE, ILIKE; "
                   "run_id: =, !=, IN, NOT IN; source_path: =, !=, LIKE, ILIKE)");
    }
    return b->rc;
}

enum gy_status gy_registry_version_search(struct gy_db *db, const struct gy_registry_search *s,
                                          json_t **out)
{
    struct gy_tracking_filter *f = NULL;
    struct gy_db_sql b;
    struct gy_db_rows *rows = NULL;
    int64_t limit = s->max_results ? s->max_results : GY_REGISTRY_VERSIONS_DEFAULT, offset = 0;
    const char *coll = gy__registry_coll(db);
    int have_ts = 0, have_name = 0, have_version = 0;
    json_t *res = NULL, *arr = NULL;
    enum gy_status rc = GY_OK;

    *out = NULL;
    gy_db_sql_init(&b);
    if (s->max_results < 0 || s->max_results > GY_REGISTRY_VERSIONS_DEFAULT) {
        rc = gy_error_set(GY_E_INVALID,
                          "Invalid value for max_results: it must be at most %d and positive",
                          GY_REGISTRY_VERSIONS_DEFAULT);
        goto out;
    }
    if (s->page_token && *s->page_token &&
        (gy_parse_int64(s->page_token, &offset) != GY_OK || offset < 0)) {
        rc = gy_error_set(GY_E_INVALID, "Invalid page token");
        goto out;
    }
    if ((rc = gy_tracking_filter_parse(s->filter, &f)))
        goto out;
    gy_db_sql_printf(&b, "SELECT " GY__VERSION_COLS
                         " FROM model_versions v JOIN registered_models m ON m.id = v.model_id");
    for (size_t i = 0; i < f->n; i++) {
        if (f->conds[i].entity != GY_TRACKING_ENT_TAG)
            continue;
        gy_db_sql_printf(
            &b, " JOIN model_version_tags t%zu ON t%zu.version_id = v.id AND t%zu.key = ", i, i, i);
        gy_db_sql_param(&b, GY_DB_P_TEXT(f->conds[i].key));
    }
    gy_db_sql_printf(&b, " WHERE 1 = 1");
    if ((rc = version_where(db, &b, f)))
        goto out;
    gy_db_sql_printf(&b, " ORDER BY ");
    for (size_t i = 0; i < s->norder_by; i++) {
        struct gy_tracking_order o;
        const char *dir;
        if ((rc = gy_tracking_order_parse(s->order_by[i], &o)))
            goto out;
        dir = o.desc ? " DESC" : "";
        if (o.entity == GY_TRACKING_ENT_ATTRIBUTE && strcmp(o.key, "name") == 0) {
            have_name = 1;
            gy_db_sql_printf(&b, "m.name%s%s, ", coll, dir);
        } else if (o.entity == GY_TRACKING_ENT_ATTRIBUTE && strcmp(o.key, "version_number") == 0) {
            have_version = 1;
            gy_db_sql_printf(&b, "v.version%s, ", dir);
        } else if (o.entity == GY_TRACKING_ENT_ATTRIBUTE &&
                   strcmp(o.key, "creation_timestamp") == 0) {
            gy_db_sql_printf(&b, "v.creation_ms%s, ", dir);
        } else if (o.entity == GY_TRACKING_ENT_ATTRIBUTE &&
                   (strcmp(o.key, "timestamp") == 0 ||
                    strcmp(o.key, "last_updated_timestamp") == 0)) {
            have_ts = 1;
            gy_db_sql_printf(&b, "v.last_updated_ms%s, ", dir);
        } else {
            rc = gy_error_set(GY_E_INVALID,
                              "Invalid order_by clause '%s': model versions are ordered by name, "
                              "version_number, creation_timestamp or last_updated_timestamp",
                              s->order_by[i]);
        }
        gy_free(o.key);
        if (rc)
            goto out;
    }
    if (!have_ts)
        gy_db_sql_printf(&b, "v.last_updated_ms DESC, ");
    if (!have_name)
        gy_db_sql_printf(&b, "m.name%s, ", coll);
    if (!have_version)
        gy_db_sql_printf(&b, "v.version DESC, ");
    gy_db_sql_trim_comma(&b);
    gy_db_sql_page(&b, limit, offset);
    if ((rc = b.rc) || (rc = gy_db_query(db, b.sql.data, b.p, b.np, &rows)))
        goto out;
    res = json_object();
    arr = json_array();
    if (!res || !arr) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    rc = gy__registry_versions_json(db, rows, GY_MIN(gy_db_rows_count(rows), (size_t)limit), arr);
    if (rc == GY_OK && json_array_size(arr))
        rc = gy_json_set(res, "model_versions", json_incref(arr));
    if (rc == GY_OK && gy_db_rows_count(rows) > (size_t)limit) {
        char tok[32];
        snprintf(tok, sizeof tok, "%lld", (long long)(offset + limit));
        rc = gy_json_set(res, "next_page_token", json_string(tok));
    }
    if (rc == GY_OK) {
        *out = res;
        res = NULL;
    }
out:
    gy_db_rows_free(rows);
    gy_tracking_filter_free(f);
    gy_db_sql_free(&b);
    json_decref(arr);
    json_decref(res);
    return rc;
}
