/* SPDX-License-Identifier: MIT */
/*
 * model.c - registered models: create, get (with latest versions per stage, tags and
 * aliases), rename, description, hard delete (versions, tags and aliases go with it through
 * ON DELETE CASCADE), search with MLflow's registered-model filter and order_by, tags, and
 * get-latest-versions.
 */
#include "registry/registry_int.h"
#include "tracking/tracking.h"

#include <string.h>

#define MODEL_COLS "m.id, m.name, m.creation_ms, m.last_updated_ms, m.user_id, m.description"

/* Runs @p fn inside a write transaction on the model @p name (its id passed on). */
static enum gy_status model_write(struct gy_db *db, const char *name,
                                  enum gy_status (*fn)(struct gy_db *, int64_t, const void *),
                                  const void *arg)
{
    int64_t id = 0;
    enum gy_status rc = gy_db_begin(db);
    if (rc)
        return rc;
    rc = gy__registry_model_id(db, name, &id);
    if (rc == GY_OK)
        rc = fn(db, id, arg);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

static enum gy_status touch(struct gy_db *db, int64_t id)
{
    struct gy_db_param p[2] = {GY_DB_P_INT(gy__registry_now_ms()), GY_DB_P_INT(id)};
    return gy_db_exec(db, "UPDATE registered_models SET last_updated_ms = $1 WHERE id = $2", p, 2,
                      NULL);
}

static enum gy_status tag_upsert(struct gy_db *db, int64_t id, const char *key, const char *value)
{
    struct gy_db_param p[3] = {GY_DB_P_INT(id), GY_DB_P_TEXT(key), GY_DB_P_TEXT(value)};
    return gy_db_exec(
        db,
        "INSERT INTO registered_model_tags (model_id, key, value) VALUES ($1, $2, $3) "
        "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
        p, 3, NULL);
}

enum gy_status gy_registry_model_create(struct gy_db *db, const char *name, const char *description,
                                        const char *user_id, const struct gy_registry_tag *tags,
                                        size_t ntags)
{
    struct gy_db_param p[5];
    int64_t n = 0, id = 0, now = gy__registry_now_ms();
    enum gy_status rc;
    if ((rc = gy_registry_name_check(name)) ||
        (rc = gy__registry_text_check("description", description, GY_REGISTRY_DESCRIPTION_MAX)) ||
        (rc = gy__registry_text_check("user_id", user_id, GY_REGISTRY_NAME_MAX)) ||
        (rc = gy__registry_tags_check(tags, ntags)))
        return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    p[0] = GY_DB_P_TEXT(name);
    rc = gy_db_query_int(db, "SELECT COUNT(*) FROM registered_models WHERE name = $1", p, 1, &n);
    if (rc == GY_OK && n)
        rc = gy_error_set(GY_E_EXISTS, "Registered Model (name=%s) already exists.", name);
    if (rc == GY_OK) {
        p[1] = GY_DB_P_TEXT(description);
        p[2] = GY_DB_P_TEXT(user_id);
        p[3] = GY_DB_P_INT(now);
        rc = gy_db_query_int(db,
                             "INSERT INTO registered_models (name, description, user_id, "
                             "creation_ms, last_updated_ms, version_seq) "
                             "VALUES ($1, $2, $3, $4, $4, 0) RETURNING id",
                             p, 4, &id);
    }
    for (size_t i = 0; rc == GY_OK && i < ntags; i++)
        rc = tag_upsert(db, id, tags[i].key, tags[i].value);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

/* Sets t's key and value; nonzero on failure. */
static int jstr_pair(json_t *t, const char *k, const char *v)
{
    return gy_json_set(t, "key", json_string(k)) != GY_OK ||
           gy_json_set(t, "value", json_string(v ? v : "")) != GY_OK;
}

/* The stage order of latest_versions. */
static int stage_rank(const char *s)
{
    enum gy_registry_stage st = GY_STAGE_NONE;
    if (gy_registry_stage_parse(s, &st) != GY_OK) {
        gy_error_clear();
        return 9;
    }
    return (int)st;
}

/*
 * Appends RegisteredModel JSON for the first @p n rows of @p rows (MODEL_COLS): tags, aliases
 * and the latest version of each stage come from three chunked queries.
 */
static enum gy_status models_json(struct gy_db *db, const struct gy_db_rows *rows, size_t n,
                                  json_t *arr)
{
    const char *coll = gy__registry_coll(db);
    enum gy_status rc = GY_OK;
    for (size_t at = 0; at < n && rc == GY_OK; at += 500) {
        size_t m = GY_MIN((size_t)500, n - at);
        struct gy_db_rows *tags = NULL, *aliases = NULL, *latest = NULL;
        json_t *versions = json_array();
        struct gy_db_sql b[3];
        static const char *const heads[3] = {
            "SELECT model_id, key, value FROM registered_model_tags WHERE model_id IN (",
            "SELECT a.model_id, a.alias, v.version FROM model_aliases a JOIN model_versions v "
            "ON v.id = a.version_id WHERE a.model_id IN (",
            "SELECT " GY__VERSION_COLS ", v.model_id FROM model_versions v JOIN "
            "registered_models m ON m.id = v.model_id WHERE v.version = (SELECT MAX(x.version) "
            "FROM model_versions x WHERE x.model_id = v.model_id AND x.stage = v.stage) AND "
            "v.model_id IN (",
        };
        struct gy_db_rows **outs[3] = {&tags, &aliases, &latest};
        if (!versions)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        for (int q = 0; q < 3; q++) {
            gy_db_sql_init(&b[q]);
            gy_db_sql_printf(&b[q], "%s", heads[q]);
            for (size_t i = 0; i < m; i++) {
                if (i)
                    gy_db_sql_printf(&b[q], ",");
                gy_db_sql_printf(&b[q], "%lld", (long long)gy_db_rows_int(rows, at + i, 0));
            }
            gy_db_sql_printf(&b[q],
                             q == 0   ? ") ORDER BY model_id, key%s"
                             : q == 1 ? ") ORDER BY a.model_id, a.alias%s"
                                      : ") ORDER BY v.model_id, v.version%s",
                             q == 2 ? "" : coll);
            if (rc == GY_OK && (rc = b[q].rc) == GY_OK)
                rc = gy_db_query(db, b[q].sql.data, b[q].p, b[q].np, outs[q]);
            gy_db_sql_free(&b[q]);
        }
        if (rc == GY_OK)
            rc = gy__registry_versions_json(db, latest, gy_db_rows_count(latest), versions);
        for (size_t i = 0; rc == GY_OK && i < m; i++) {
            size_t r = at + i;
            int64_t id = gy_db_rows_int(rows, r, 0);
            json_t *o = json_object(), *lv = json_array(), *ta = json_array(), *al = json_array();
            int bad = !o || !lv || !ta || !al;
            for (int st = 0; !bad && st <= 9; st++)
                for (size_t k = 0; !bad && k < gy_db_rows_count(latest); k++)
                    if (gy_db_rows_int(latest, k, 15) == id &&
                        stage_rank(gy_db_rows_text(latest, k, 6)) == st)
                        bad = json_array_append(lv, json_array_get(versions, k)) != 0;
            for (size_t k = 0; !bad && k < gy_db_rows_count(tags); k++) {
                json_t *t;
                if (gy_db_rows_int(tags, k, 0) != id)
                    continue;
                t = json_object();
                bad = !t || jstr_pair(t, gy_db_rows_text(tags, k, 1), gy_db_rows_text(tags, k, 2));
                if (!bad)
                    bad = json_array_append_new(ta, t) != 0;
                else
                    json_decref(t);
            }
            for (size_t k = 0; !bad && k < gy_db_rows_count(aliases); k++) {
                json_t *a;
                if (gy_db_rows_int(aliases, k, 0) != id)
                    continue;
                a = json_object();
                bad = !a || gy_json_set(a, "alias", json_string(gy_db_rows_text(aliases, k, 1))) ||
                      gy_json_set(a, "version", json_string(gy_db_rows_text(aliases, k, 2)));
                if (!bad)
                    bad = json_array_append_new(al, a) != 0;
                else
                    json_decref(a);
            }
            if (!bad) {
                bad |= gy_json_set(o, "name", json_string(gy_db_rows_text(rows, r, 1))) != GY_OK;
                bad |= gy_json_set(o, "creation_timestamp",
                                   json_integer(gy_db_rows_int(rows, r, 2))) != GY_OK;
                bad |= gy_json_set(o, "last_updated_timestamp",
                                   json_integer(gy_db_rows_int(rows, r, 3))) != GY_OK;
                if (gy_db_rows_text(rows, r, 4))
                    bad |= gy_json_set(o, "user_id", json_string(gy_db_rows_text(rows, r, 4))) !=
                           GY_OK;
                if (gy_db_rows_text(rows, r, 5))
                    bad |= gy_json_set(o, "description",
                                       json_string(gy_db_rows_text(rows, r, 5))) != GY_OK;
            }
            if (!bad && json_array_size(lv)) {
                bad = gy_json_set(o, "latest_versions", lv) != GY_OK;
                lv = NULL;
            }
            if (!bad && json_array_size(ta)) {
                bad = gy_json_set(o, "tags", ta) != GY_OK;
                ta = NULL;
            }
            if (!bad && json_array_size(al)) {
                bad = gy_json_set(o, "aliases", al) != GY_OK;
                al = NULL;
            }
            json_decref(lv);
            json_decref(ta);
            json_decref(al);
            if (bad) {
                json_decref(o);
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
            } else if (json_array_append_new(arr, o)) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
            }
        }
        json_decref(versions);
        gy_db_rows_free(tags);
        gy_db_rows_free(aliases);
        gy_db_rows_free(latest);
    }
    return rc;
}

/* The single model selected by name. */
enum gy_status gy_registry_model_get(struct gy_db *db, const char *name, json_t **out)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p = GY_DB_P_TEXT(name);
    json_t *arr = NULL;
    enum gy_status rc;
    *out = NULL;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "Registered model name cannot be empty.");
    rc = gy_db_query(db, "SELECT " MODEL_COLS " FROM registered_models m WHERE m.name = $1", &p, 1,
                     &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return gy_error_set(GY_NOT_FOUND, "Registered Model with name=%s not found", name);
    }
    arr = json_array();
    rc = arr ? models_json(db, rows, 1, arr) : gy_error_set(GY_E_NOMEM, "out of memory");
    gy_db_rows_free(rows);
    if (rc == GY_OK)
        *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}

static enum gy_status do_rename(struct gy_db *db, int64_t id, const void *arg)
{
    const char *new_name = arg;
    struct gy_db_param p[3] = {GY_DB_P_TEXT(new_name), GY_DB_P_INT(id),
                               GY_DB_P_INT(gy__registry_now_ms())};
    int64_t n = 0;
    enum gy_status rc = gy_db_query_int(
        db, "SELECT COUNT(*) FROM registered_models WHERE name = $1 AND id <> $2", p, 2, &n);
    if (rc == GY_OK && n)
        return gy_error_set(GY_E_EXISTS, "Registered Model (name=%s) already exists.", new_name);
    if (rc == GY_OK)
        rc = gy_db_exec(
            db, "UPDATE registered_models SET name = $1, last_updated_ms = $3 WHERE id = $2", p, 3,
            NULL);
    return rc;
}

enum gy_status gy_registry_model_rename(struct gy_db *db, const char *name, const char *new_name)
{
    enum gy_status rc = gy_registry_name_check(new_name);
    if (rc)
        return rc;
    return model_write(db, name, do_rename, new_name);
}

static enum gy_status do_update(struct gy_db *db, int64_t id, const void *arg)
{
    struct gy_db_param p[3] = {GY_DB_P_TEXT((const char *)arg), GY_DB_P_INT(id),
                               GY_DB_P_INT(gy__registry_now_ms())};
    return gy_db_exec(
        db, "UPDATE registered_models SET description = $1, last_updated_ms = $3 WHERE id = $2", p,
        3, NULL);
}

enum gy_status gy_registry_model_update(struct gy_db *db, const char *name, const char *description)
{
    enum gy_status rc;
    if (!description)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'description'");
    if ((rc = gy__registry_text_check("description", description, GY_REGISTRY_DESCRIPTION_MAX)))
        return rc;
    return model_write(db, name, do_update, description);
}

static enum gy_status do_delete(struct gy_db *db, int64_t id, const void *arg)
{
    struct gy_db_param p = GY_DB_P_INT(id);
    GY_UNUSED(arg);
    /* Versions, tags, aliases and the alias history follow through ON DELETE CASCADE. */
    return gy_db_exec(db, "DELETE FROM registered_models WHERE id = $1", &p, 1, NULL);
}

enum gy_status gy_registry_model_delete(struct gy_db *db, const char *name)
{
    return model_write(db, name, do_delete, NULL);
}

static enum gy_status do_tag_set(struct gy_db *db, int64_t id, const void *arg)
{
    const struct gy_registry_tag *t = arg;
    enum gy_status rc = tag_upsert(db, id, t->key, t->value);
    return rc ? rc : touch(db, id);
}

enum gy_status gy_registry_model_tag_set(struct gy_db *db, const char *name, const char *key,
                                         const char *value)
{
    struct gy_registry_tag t = {key, value};
    enum gy_status rc = gy__registry_tags_check(&t, 1);
    if (rc)
        return rc;
    return model_write(db, name, do_tag_set, &t);
}

struct tag_del {
    const char *name, *key;
};

static enum gy_status do_tag_delete(struct gy_db *db, int64_t id, const void *arg)
{
    const struct tag_del *t = arg;
    struct gy_db_param p[2] = {GY_DB_P_INT(id), GY_DB_P_TEXT(t->key)};
    int64_t changes = 0;
    enum gy_status rc = gy_db_exec(
        db, "DELETE FROM registered_model_tags WHERE model_id = $1 AND key = $2", p, 2, &changes);
    if (rc == GY_OK && changes == 0)
        return gy_error_set(GY_NOT_FOUND, "No tag with key '%s' on registered model %s", t->key,
                            t->name);
    return rc ? rc : touch(db, id);
}

enum gy_status gy_registry_model_tag_delete(struct gy_db *db, const char *name, const char *key)
{
    struct tag_del t = {name, key};
    if (!key || !*key)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'key'");
    return model_write(db, name, do_tag_delete, &t);
}

enum gy_status gy_registry_latest_versions(struct gy_db *db, const char *name,
                                           const char *const *stages, size_t nstages, json_t **out)
{
    enum gy_registry_stage want[4];
    size_t nwant = 0;
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p;
    int64_t id = 0;
    json_t *all = NULL, *res = NULL;
    enum gy_status rc;
    *out = NULL;
    for (size_t i = 0; i < nstages; i++) {
        enum gy_registry_stage st;
        int dup = 0;
        if ((rc = gy_registry_stage_parse(stages[i], &st)))
            return rc;
        for (size_t k = 0; k < nwant; k++)
            dup |= want[k] == st;
        if (!dup)
            want[nwant++] = st;
    }
    if (nwant == 0)
        for (int st = 0; st < 4; st++)
            want[nwant++] = (enum gy_registry_stage)st;
    if ((rc = gy__registry_model_id(db, name, &id)))
        return rc;
    p = GY_DB_P_INT(id);
    rc = gy_db_query(db,
                     "SELECT " GY__VERSION_COLS " FROM model_versions v JOIN registered_models m "
                     "ON m.id = v.model_id WHERE v.model_id = $1 AND v.version = (SELECT "
                     "MAX(x.version) FROM model_versions x WHERE x.model_id = v.model_id AND "
                     "x.stage = v.stage)",
                     &p, 1, &rows);
    if (rc)
        return rc;
    all = json_array();
    res = json_array();
    if (!all || !res)
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    if (rc == GY_OK)
        rc = gy__registry_versions_json(db, rows, gy_db_rows_count(rows), all);
    for (size_t k = 0; rc == GY_OK && k < nwant; k++)
        for (size_t r = 0; rc == GY_OK && r < gy_db_rows_count(rows); r++)
            if (strcmp(gy_db_rows_text(rows, r, 6), gy_registry_stage_str(want[k])) == 0 &&
                json_array_append(res, json_array_get(all, r)))
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
    gy_db_rows_free(rows);
    json_decref(all);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return GY_OK;
}

/* ------------------------------------------------------------------ search */

static int string_op(enum gy_tracking_op op)
{
    return op == GY_TRACKING_OP_EQ || op == GY_TRACKING_OP_NE || op == GY_TRACKING_OP_LIKE ||
           op == GY_TRACKING_OP_ILIKE;
}

enum gy_status gy_registry_model_search(struct gy_db *db, const struct gy_registry_search *s,
                                        json_t **out)
{
    struct gy_tracking_filter *f = NULL;
    struct gy_db_sql b;
    struct gy_db_rows *rows = NULL;
    int64_t limit = s->max_results ? s->max_results : GY_REGISTRY_MODELS_DEFAULT, offset = 0;
    const char *coll = gy__registry_coll(db);
    json_t *res = NULL, *arr = NULL;
    int have_name = 0;
    enum gy_status rc = GY_OK;

    *out = NULL;
    gy_db_sql_init(&b);
    if (s->max_results < 0 || s->max_results > GY_REGISTRY_MODELS_MAX) {
        rc = gy_error_set(GY_E_INVALID,
                          "Invalid value for max_results: it must be at most %d and positive",
                          GY_REGISTRY_MODELS_MAX);
        goto out;
    }
    if (s->page_token && *s->page_token &&
        (gy_parse_int64(s->page_token, &offset) != GY_OK || offset < 0)) {
        rc = gy_error_set(GY_E_INVALID, "Invalid page token");
        goto out;
    }
    if ((rc = gy_tracking_filter_parse(s->filter, &f)))
        goto out;
    gy_db_sql_printf(&b, "SELECT " MODEL_COLS " FROM registered_models m");
    for (size_t i = 0; i < f->n; i++) {
        if (f->conds[i].entity != GY_TRACKING_ENT_TAG)
            continue;
        gy_db_sql_printf(
            &b, " JOIN registered_model_tags t%zu ON t%zu.model_id = m.id AND t%zu.key = ", i, i,
            i);
        gy_db_sql_param(&b, GY_DB_P_TEXT(f->conds[i].key));
    }
    gy_db_sql_printf(&b, " WHERE 1 = 1");
    for (size_t i = 0; i < f->n && rc == GY_OK; i++) {
        const struct gy_tracking_cond *c = &f->conds[i];
        char expr[32];
        if (c->is_num || !string_op(c->op))
            rc = gy__registry_bad_cond(
                c, "registered models are filtered with =, !=, LIKE or ILIKE and a "
                   "quoted string");
        else if (c->entity == GY_TRACKING_ENT_TAG) {
            snprintf(expr, sizeof expr, "t%zu.value", i);
            gy__registry_str_pred(db, &b, expr, c);
        } else if (c->entity == GY_TRACKING_ENT_ATTRIBUTE && strcmp(c->key, "name") == 0)
            gy__registry_str_pred(db, &b, "m.name", c);
        else
            rc = gy__registry_bad_cond(c, "registered models are filtered by name or tags.<key>");
    }
    if (rc)
        goto out;
    gy_db_sql_printf(&b, " ORDER BY ");
    for (size_t i = 0; i < s->norder_by; i++) {
        struct gy_tracking_order o;
        if ((rc = gy_tracking_order_parse(s->order_by[i], &o)))
            goto out;
        if (o.entity == GY_TRACKING_ENT_ATTRIBUTE && strcmp(o.key, "name") == 0) {
            have_name = 1;
            gy_db_sql_printf(&b, "m.name%s%s, ", coll, o.desc ? " DESC" : "");
        } else if (o.entity == GY_TRACKING_ENT_ATTRIBUTE &&
                   (strcmp(o.key, "timestamp") == 0 ||
                    strcmp(o.key, "last_updated_timestamp") == 0)) {
            gy_db_sql_printf(&b, "m.last_updated_ms%s, ", o.desc ? " DESC" : "");
        } else {
            rc = gy_error_set(GY_E_INVALID,
                              "Invalid order_by clause '%s': registered models are ordered by "
                              "name, timestamp or last_updated_timestamp",
                              s->order_by[i]);
        }
        gy_free(o.key);
        if (rc)
            goto out;
    }
    if (!have_name)
        gy_db_sql_printf(&b, "m.name%s, ", coll);
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
    rc = models_json(db, rows, GY_MIN(gy_db_rows_count(rows), (size_t)limit), arr);
    if (rc == GY_OK && json_array_size(arr))
        rc = gy_json_set(res, "registered_models", json_incref(arr));
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
