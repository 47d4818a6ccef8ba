/* SPDX-License-Identifier: MIT */
/*
 * experiment.c - experiments: create (names unique also against deleted experiments), get by
 * id or name, search with MLflow's experiment filter and order_by, rename, soft delete and
 * restore (which carry the experiment's runs along), and experiment tags. Each write is one
 * transaction that checks before it writes, because a failed statement aborts a transaction.
 */
#include "tracking/tracking_int.h"

#include <string.h>

#define EXP_COLS                                                                                   \
    "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, "                            \
    "e.creation_ms, e.last_update_ms"

enum gy_status gy_tracking_experiment_id_parse(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (!s || !*s || s[0] == '+' || s[0] == '-' || gy_parse_int64(s, &v) != GY_OK || v < 0)
        return gy_error_set(GY_E_INVALID, "Invalid experiment id \"%.64s\": expected a number",
                            s ? s : "");
    *out = v;
    return GY_OK;
}

static enum gy_status exp_tag_check(const struct gy_tracking_tag *t)
{
    enum gy_status rc = gy_tracking_key_check("tag", t->key);
    if (rc == GY_OK)
        rc = gy__tracking_value_check("Tag", t->key, t->value, GY_TRACKING_EXP_TAG_VALUE_MAX);
    return rc;
}

/* Experiment JSON for every row of @p rows (EXP_COLS), with tags, appended to @p arr. */
static enum gy_status exps_json(struct gy_db *db, const struct gy_db_rows *rows, size_t n,
                                json_t *arr)
{
    struct gy_db_sql b;
    struct gy_db_rows *tags = NULL;
    enum gy_status rc = GY_OK;
    if (n == 0)
        return GY_OK;
    /* Result pages are at most GY_TRACKING_SEARCH_MAX; chunk the tag lookup by 500. */
    for (size_t at = 0; at < n && rc == GY_OK; at += 500) {
        size_t m = GY_MIN((size_t)500, n - at);
        gy_db_sql_init(&b);
        gy_db_sql_printf(&b, "SELECT experiment_id, key, value FROM experiment_tags WHERE "
                             "experiment_id IN (");
        for (size_t i = 0; i < m; i++) {
            if (i)
                gy_db_sql_printf(&b, ",");
            /* internal integer keys from the store: literals (see RUNS_CHUNK in tracking.c) */
            gy_db_sql_printf(&b, "%lld", (long long)gy_db_rows_int(rows, at + i, 0));
        }
        gy_db_sql_printf(&b, ") ORDER BY experiment_id, key%s", gy__tracking_coll(db));
        rc = b.rc;
        if (rc == GY_OK)
            rc = gy_db_query(db, b.sql.data, b.p, b.np, &tags);
        gy_db_sql_free(&b);
        for (size_t i = 0; rc == GY_OK && i < m; i++) {
            size_t row = at + i;
            int64_t id = gy_db_rows_int(rows, row, 0);
            char ids[32];
            json_t *e = json_object(), *ta = json_array();
            int bad = 0;
            if (!e || !ta) {
                json_decref(e);
                json_decref(ta);
                rc = gy_error_set(GY_E_NOMEM, "out of memory building JSON");
                break;
            }
            snprintf(ids, sizeof ids, "%lld", (long long)id);
            for (size_t t = 0; t < gy_db_rows_count(tags) && !bad; t++)
                if (gy_db_rows_int(tags, t, 0) == id)
                    bad = gy__tracking_jtag(ta, gy_db_rows_text(tags, t, 1),
                                            gy_db_rows_text(tags, t, 2)) != GY_OK;
            bad |= gy__tracking_jset_str(e, "experiment_id", ids) != GY_OK;
            bad |= gy__tracking_jset_str(e, "name", gy_db_rows_text(rows, row, 1)) != GY_OK;
            bad |= gy__tracking_jset_str(e, "artifact_location", gy_db_rows_text(rows, row, 2)) !=
                   GY_OK;
            bad |=
                gy__tracking_jset_str(e, "lifecycle_stage", gy_db_rows_text(rows, row, 3)) != GY_OK;
            bad |= gy_json_set(e, "last_update_time",
                               gy__tracking_jint(gy_db_rows_int(rows, row, 5))) != GY_OK;
            bad |= gy_json_set(e, "creation_time",
                               gy__tracking_jint(gy_db_rows_int(rows, row, 4))) != GY_OK;
            bad |= gy__tracking_jset_list(e, "tags", ta) != GY_OK;
            if (bad) {
                json_decref(e);
                rc = gy_error_set(GY_E_NOMEM, "out of memory building JSON");
            } else if (json_array_append_new(arr, e)) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory building JSON");
            }
        }
        gy_db_rows_free(tags);
        tags = NULL;
    }
    return rc;
}

/* The single experiment selected by @p where ($1 bound to @p p). */
static enum gy_status exp_get_where(struct gy_db *db, const char *where, struct gy_db_param p,
                                    json_t **out)
{
    char sql[512];
    struct gy_db_rows *rows = NULL;
    json_t *arr = NULL;
    enum gy_status rc;
    *out = NULL;
    snprintf(sql, sizeof sql, "SELECT " EXP_COLS " FROM experiments e WHERE %s", where);
    rc = gy_db_query(db, sql, &p, 1, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return GY_NOT_FOUND;
    }
    arr = json_array();
    rc = arr ? exps_json(db, rows, 1, arr) : gy_error_set(GY_E_NOMEM, "out of memory");
    gy_db_rows_free(rows);
    if (rc == GY_OK) {
        *out = json_incref(json_array_get(arr, 0));
        if (!*out)
            rc = gy_error_set(GY_E_INTERNAL, "experiment row vanished");
    }
    json_decref(arr);
    return rc;
}

enum gy_status gy_tracking_experiment_get(struct gy_db *db, int64_t id, json_t **out)
{
    enum gy_status rc = exp_get_where(db, "e.experiment_id = $1", GY_DB_P_INT(id), out);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "No Experiment with id=%lld exists", (long long)id);
    return rc;
}

enum gy_status gy_tracking_experiment_get_by_name(struct gy_db *db, const char *name, json_t **out)
{
    enum gy_status rc;
    *out = NULL;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter "
                                          "'experiment_name'");
    rc = exp_get_where(db, "e.name = $1", GY_DB_P_TEXT(name), out);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "Could not find experiment with name '%s'", name);
    return rc;
}

enum gy_status gy_tracking_experiment_id_by_name(struct gy_db *db, const char *name, int64_t *id,
                                                 int *active)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p = GY_DB_P_TEXT(name);
    enum gy_status rc;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "experiment name must be a non-empty string");
    rc = gy_db_query(db, "SELECT experiment_id, lifecycle_stage FROM experiments WHERE name = $1",
                     &p, 1, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return gy_error_set(GY_NOT_FOUND, "Could not find experiment with name '%s'", name);
    }
    *id = gy_db_rows_int(rows, 0, 0);
    if (active)
        *active = strcmp(gy_db_rows_text(rows, 0, 1), "active") == 0;
    gy_db_rows_free(rows);
    return GY_OK;
}

/* Upserts an experiment tag inside an open transaction. */
static enum gy_status exp_tag_upsert(struct gy_db *db, int64_t id, const char *key,
                                     const char *value)
{
    struct gy_db_param p[3] = {GY_DB_P_INT(id), GY_DB_P_TEXT(key), GY_DB_P_TEXT(value)};
    return gy_db_exec(db,
                      "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) "
                      "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                      p, 3, NULL);
}

enum gy_status gy_tracking_experiment_create(struct gy_db *db, const char *name,
                                             const char *artifact_location,
                                             const struct gy_tracking_tag *tags, size_t ntags,
                                             int64_t *id)
{
    struct gy_db_param p[4];
    char loc[64];
    int64_t now = gy__tracking_now_ms(), n = 0, newid = 0;
    enum gy_status rc = gy__tracking_name_check("Experiment", name);
    if (rc)
        return rc;
    if (artifact_location && *artifact_location)
        return gy_error_set(GY_E_INVALID,
                            "artifact_location is not supported: gyre stores artifacts in its "
                            "data home (mlflow-artifacts:/<experiment_id>)");
    for (size_t i = 0; i < ntags; i++)
        if ((rc = exp_tag_check(&tags[i])))
            return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    p[0] = GY_DB_P_TEXT(name);
    rc = gy_db_query_int(db, "SELECT COUNT(*) FROM experiments WHERE name = $1", p, 1, &n);
    if (rc == GY_OK && n > 0)
        rc = gy_error_set(GY_E_EXISTS, "Experiment(name=%s) already exists.", name);
    if (rc == GY_OK) {
        p[1] = GY_DB_P_TEXT("");
        p[2] = GY_DB_P_INT(now);
        rc = gy_db_query_int(db,
                             "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                             "creation_ms, last_update_ms) VALUES ($1, $2, 'active', $3, $3) "
                             "RETURNING experiment_id",
                             p, 3, &newid);
    }
    if (rc == GY_OK) {
        snprintf(loc, sizeof loc, "mlflow-artifacts:/%lld", (long long)newid);
        p[0] = GY_DB_P_TEXT(loc);
        p[1] = GY_DB_P_INT(newid);
        rc =
            gy_db_exec(db, "UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2",
                       p, 2, NULL);
    }
    for (size_t i = 0; rc == GY_OK && i < ntags; i++)
        rc = exp_tag_upsert(db, newid, tags[i].key, tags[i].value);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    if ((rc = gy_db_commit(db)))
        return rc;
    *id = newid;
    return GY_OK;
}

enum gy_status gy_tracking_experiment_ensure(struct gy_db *db, const char *name, int64_t *id)
{
    int active = 0;
    enum gy_status rc = gy_tracking_experiment_id_by_name(db, name, id, &active);
    if (rc == GY_NOT_FOUND) {
        rc = gy_tracking_experiment_create(db, name, NULL, NULL, 0, id);
        if (rc != GY_E_EXISTS)
            return rc;
        rc = gy_tracking_experiment_id_by_name(db, name, id, &active);
    }
    if (rc)
        return rc;
    if (!active)
        return gy_error_set(GY_E_INVALID,
                            "Experiment '%s' is deleted: restore it or choose another name", name);
    return GY_OK;
}

/*
 * Inside a transaction: checks that experiment @p id exists (GY_NOT_FOUND) and, when @p want
 * is not NULL, that its stage is @p want (GY_E_INVALID otherwise).
 */
static enum gy_status exp_check(struct gy_db *db, int64_t id, const char *want)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p = GY_DB_P_INT(id);
    enum gy_status rc = gy_db_query(
        db, "SELECT lifecycle_stage FROM experiments WHERE experiment_id = $1", &p, 1, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0)
        rc = gy_error_set(GY_NOT_FOUND, "No Experiment with id=%lld exists", (long long)id);
    else if (want && strcmp(gy_db_rows_text(rows, 0, 0), want) != 0)
        rc = gy_error_set(GY_E_INVALID,
                          "The experiment %lld must be in the '%s' state. Current state is %s.",
                          (long long)id, want, gy_db_rows_text(rows, 0, 0));
    gy_db_rows_free(rows);
    return rc;
}

/* Runs @p fn inside a transaction after checking the experiment's stage. */
static enum gy_status exp_write(struct gy_db *db, int64_t id, const char *want,
                                enum gy_status (*fn)(struct gy_db *, int64_t, const void *),
                                const void *arg)
{
    enum gy_status rc = gy_db_begin(db);
    if (rc)
        return rc;
    rc = exp_check(db, id, want);
    if (rc == GY_OK)
        rc = fn(db, id, arg);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

static enum gy_status touch(struct gy_db *db, int64_t id, int64_t now)
{
    struct gy_db_param p[2] = {GY_DB_P_INT(now), GY_DB_P_INT(id)};
    return gy_db_exec(db, "UPDATE experiments SET last_update_ms = $1 WHERE experiment_id = $2", p,
                      2, NULL);
}

static enum gy_status do_rename(struct gy_db *db, int64_t id, const void *arg)
{
    const char *name = arg;
    struct gy_db_param p[3];
    int64_t n = 0;
    enum gy_status rc;
    p[0] = GY_DB_P_TEXT(name);
    p[1] = GY_DB_P_INT(id);
    rc = gy_db_query_int(
        db, "SELECT COUNT(*) FROM experiments WHERE name = $1 AND experiment_id <> $2", p, 2, &n);
    if (rc == GY_OK && n > 0)
        return gy_error_set(GY_E_EXISTS, "Experiment(name=%s) already exists.", name);
    if (rc == GY_OK) {
        p[2] = GY_DB_P_INT(gy__tracking_now_ms());
        rc = gy_db_exec(db,
                        "UPDATE experiments SET name = $1, last_update_ms = $3 "
                        "WHERE experiment_id = $2",
                        p, 3, NULL);
    }
    return rc;
}

enum gy_status gy_tracking_experiment_rename(struct gy_db *db, int64_t id, const char *new_name)
{
    enum gy_status rc = gy__tracking_name_check("Experiment", new_name);
    if (rc)
        return rc;
    return exp_write(db, id, "active", do_rename, new_name);
}

static enum gy_status do_delete(struct gy_db *db, int64_t id, const void *arg)
{
    int64_t now = gy__tracking_now_ms();
    struct gy_db_param p[2] = {GY_DB_P_INT(now), GY_DB_P_INT(id)};
    enum gy_status rc;
    GY_UNUSED(arg);
    rc = gy_db_exec(db,
                    "UPDATE experiments SET lifecycle_stage = 'deleted', last_update_ms = $1 "
                    "WHERE experiment_id = $2",
                    p, 2, NULL);
    if (rc == GY_OK)
        rc = gy_db_exec(db,
                        "UPDATE runs SET lifecycle_stage = 'deleted', deleted_ms = $1 "
                        "WHERE experiment_id = $2 AND lifecycle_stage = 'active'",
                        p, 2, NULL);
    return rc;
}

enum gy_status gy_tracking_experiment_delete(struct gy_db *db, int64_t id)
{
    return exp_write(db, id, "active", do_delete, NULL);
}

/* Runs deleted at or after the experiment's deletion (its last update) come back with it. */
static enum gy_status do_restore(struct gy_db *db, int64_t id, const void *arg)
{
    struct gy_db_param p[2] = {GY_DB_P_INT(gy__tracking_now_ms()), GY_DB_P_INT(id)};
    enum gy_status rc;
    GY_UNUSED(arg);
    rc = gy_db_exec(db,
                    "UPDATE runs SET lifecycle_stage = 'active', deleted_ms = NULL "
                    "WHERE experiment_id = $1 AND lifecycle_stage = 'deleted' AND deleted_ms >= "
                    "(SELECT last_update_ms FROM experiments WHERE experiment_id = $1)",
                    p + 1, 1, NULL);
    if (rc == GY_OK)
        rc = gy_db_exec(db,
                        "UPDATE experiments SET lifecycle_stage = 'active', last_update_ms = $1 "
                        "WHERE experiment_id = $2",
                        p, 2, NULL);
    return rc;
}

enum gy_status gy_tracking_experiment_restore(struct gy_db *db, int64_t id)
{
    return exp_write(db, id, "deleted", do_restore, NULL);
}

static enum gy_status do_tag_set(struct gy_db *db, int64_t id, const void *arg)
{
    const struct gy_tracking_tag *t = arg;
    enum gy_status rc = exp_tag_upsert(db, id, t->key, t->value);
    if (rc == GY_OK)
        rc = touch(db, id, gy__tracking_now_ms());
    return rc;
}

enum gy_status gy_tracking_experiment_tag_set(struct gy_db *db, int64_t id, const char *key,
                                              const char *value)
{
    struct gy_tracking_tag t = {key, value};
    enum gy_status rc = exp_tag_check(&t);
    if (rc)
        return rc;
    return exp_write(db, id, "active", do_tag_set, &t);
}

static enum gy_status do_tag_delete(struct gy_db *db, int64_t id, const void *arg)
{
    const char *key = arg;
    struct gy_db_param p[2] = {GY_DB_P_INT(id), GY_DB_P_TEXT(key)};
    int64_t changes = 0;
    enum gy_status rc = gy_db_exec(
        db, "DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2", p, 2, &changes);
    if (rc == GY_OK && changes == 0)
        return gy_error_set(GY_NOT_FOUND, "No tag with name: %s in experiment %lld", key,
                            (long long)id);
    if (rc == GY_OK)
        rc = touch(db, id, gy__tracking_now_ms());
    return rc;
}

enum gy_status gy_tracking_experiment_tag_delete(struct gy_db *db, int64_t id, const char *key)
{
    enum gy_status rc = gy_tracking_key_check("tag", key);
    if (rc)
        return rc;
    return exp_write(db, id, "active", do_tag_delete, key);
}

/* ------------------------------------------------------------------ search */

/* The column of an experiment attribute usable in filters and order_by, or NULL. */
static const char *exp_attr(const char *key, int *numeric)
{
    static const struct {
        const char *name, *col;
        int numeric;
    } attrs[] = {
        {"name", "e.name", 0},
        {"experiment_id", "e.experiment_id", 1},
        {"creation_time", "e.creation_ms", 1},
        {"last_update_time", "e.last_update_ms", 1},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(attrs); i++)
        if (strcmp(key, attrs[i].name) == 0) {
            *numeric = attrs[i].numeric;
            return attrs[i].col;
        }
    return NULL;
}

static enum gy_status bad_cond(const struct gy_tracking_cond *c, const char *what)
{
    return gy_error_set(GY_E_INVALID, "filter: at column %zu: %s", c->pos + 1, what);
}

/* Appends "AND <predicate>" for a string comparison of @p expr. */
static void str_cmp(struct gy_db *db, struct gy_db_sql *b, const char *expr,
                    const struct gy_tracking_cond *c)
{
    if (c->op == GY_TRACKING_OP_LIKE || c->op == GY_TRACKING_OP_ILIKE) {
        char *bound = NULL;
        gy_db_sql_printf(b, " AND ");
        if (b->rc == GY_OK)
            b->rc = gy_tracking_sql_like(gy_db_kind(db), expr, c->op, c->str, gy_db_sql_next(b),
                                         &b->sql, &bound);
        if (b->rc)
            gy_free(bound);
        else
            gy_db_sql_bind_own(b, bound);
        return;
    }
    gy_db_sql_printf(b, " AND %s %s ", expr, c->op == GY_TRACKING_OP_EQ ? "=" : "<>");
    gy_db_sql_param(b, GY_DB_P_TEXT(c->str));
}

enum gy_status gy_tracking_experiment_search(struct gy_db *db, const struct gy_tracking_search *s,
                                             json_t **out)
{
    struct gy_tracking_filter *f = NULL;
    struct gy_db_sql b;
    struct gy_db_rows *rows = NULL;
    struct gy_tracking_order *ord = NULL;
    int64_t limit = 0, offset = 0;
    enum gy_tracking_view view = s->view ? s->view : GY_TRACKING_VIEW_ACTIVE_ONLY;
    json_t *res = NULL, *arr = NULL;
    int have_id_order = 0;
    enum gy_status rc;

    *out = NULL;
    gy_db_sql_init(&b);
    if ((rc = gy__tracking_max_results(s->max_results, GY_TRACKING_SEARCH_DEFAULT,
                                       GY_TRACKING_SEARCH_MAX, &limit)) ||
        (rc = gy__tracking_page_token(s->page_token, &offset)) ||
        (rc = gy_tracking_filter_parse(s->filter, &f)))
        goto out;
    if (s->norder_by) {
        ord = gy_calloc(s->norder_by, sizeof *ord);
        if (!ord) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    gy_db_sql_printf(&b, "SELECT " EXP_COLS " FROM experiments e");
    for (size_t i = 0; i < f->n; i++) {
        const struct gy_tracking_cond *c = &f->conds[i];
        if (c->entity == GY_TRACKING_ENT_TAG) {
            gy_db_sql_printf(&b,
                             " JOIN experiment_tags t%zu ON t%zu.experiment_id = e.experiment_id "
                             "AND t%zu.key = ",
                             i, i, i);
            gy_db_sql_param(&b, GY_DB_P_TEXT(c->key));
        }
    }
    gy_db_sql_printf(&b, " WHERE 1 = 1");
    if (view == GY_TRACKING_VIEW_ACTIVE_ONLY)
        gy_db_sql_printf(&b, " AND e.lifecycle_stage = 'active'");
    else if (view == GY_TRACKING_VIEW_DELETED_ONLY)
        gy_db_sql_printf(&b, " AND e.lifecycle_stage = 'deleted'");
    for (size_t i = 0; i < f->n && rc == GY_OK; i++) {
        const struct gy_tracking_cond *c = &f->conds[i];
        int numeric = 0;
        const char *col;
        char expr[32];
        if (c->entity == GY_TRACKING_ENT_TAG) {
            if (c->is_num || c->list || (c->op > GY_TRACKING_OP_NE && c->op < GY_TRACKING_OP_LIKE))
                rc = bad_cond(c, "tags are compared with =, !=, LIKE or ILIKE to a quoted string");
            else if (c->op == GY_TRACKING_OP_IN || c->op == GY_TRACKING_OP_NOT_IN)
                rc = bad_cond(c, "IN is not supported for experiment tags");
            else {
                snprintf(expr, sizeof expr, "t%zu.value", i);
                str_cmp(db, &b, expr, c);
            }
            continue;
        }
        if (c->entity != GY_TRACKING_ENT_ATTRIBUTE || !(col = exp_attr(c->key, &numeric)) ||
            strcmp(c->key, "experiment_id") == 0) {
            rc = bad_cond(c, "experiments are filtered by name, creation_time, last_update_time "
                             "or tags.<key>");
            continue;
        }
        if (numeric) {
            if (!c->is_num || c->op > GY_TRACKING_OP_GE)
                rc = bad_cond(c, "times are compared with =, !=, <, <=, >, >= to a number");
            else {
                gy_db_sql_printf(&b, " AND %s %s ", col, gy_tracking_op_str(c->op));
                gy_db_sql_param(&b, GY_DB_P_REAL(c->num));
            }
        } else if (c->is_num || c->list ||
                   (c->op != GY_TRACKING_OP_EQ && c->op != GY_TRACKING_OP_NE &&
                    c->op != GY_TRACKING_OP_LIKE && c->op != GY_TRACKING_OP_ILIKE)) {
            rc = bad_cond(c, "name is compared with =, !=, LIKE or ILIKE to a quoted string");
        } else {
            str_cmp(db, &b, col, c);
        }
    }
    if (rc)
        goto out;
    gy_db_sql_printf(&b, " ORDER BY ");
    for (size_t i = 0; i < s->norder_by; i++) {
        int numeric = 0;
        const char *col;
        if ((rc = gy_tracking_order_parse(s->order_by[i], &ord[i])))
            goto out;
        if (ord[i].entity != GY_TRACKING_ENT_ATTRIBUTE || !(col = exp_attr(ord[i].key, &numeric))) {
            rc = gy_error_set(GY_E_INVALID,
                              "order_by: invalid key \"%s\": experiments are ordered by name, "
                              "experiment_id, creation_time or last_update_time",
                              s->order_by[i]);
            goto out;
        }
        if (strcmp(ord[i].key, "experiment_id") == 0)
            have_id_order = 1;
        gy_db_sql_printf(&b, "%s%s%s, ", col, numeric ? "" : gy__tracking_coll(db),
                         ord[i].desc ? " DESC" : "");
    }
    if (s->norder_by == 0) {
        gy_db_sql_printf(&b, "e.creation_ms DESC, e.experiment_id ASC");
    } else if (!have_id_order) {
        gy_db_sql_printf(&b, "e.experiment_id DESC");
    } else {
        gy_db_sql_trim_comma(&b);
    }
    gy_db_sql_page(&b, limit, offset);
    if ((rc = b.rc) || (rc = gy_db_query(db, b.sql.data, b.p, b.np, &rows)))
        goto out;
    res = json_object();
    arr = json_array();
    if (!res || !arr) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    /* One row more than a page was asked for: when it came, more follow. */
    rc = exps_json(db, rows, GY_MIN(gy_db_rows_count(rows), (size_t)limit), arr);
    if (rc == GY_OK)
        rc = gy__tracking_jset_list(res, "experiments", json_incref(arr));
    if (rc == GY_OK && gy_db_rows_count(rows) > (size_t)limit)
        rc = gy__tracking_set_token(res, offset + limit);
    if (rc == GY_OK) {
        *out = res;
        res = NULL;
    }
out:
    gy_db_rows_free(rows);
    if (ord)
        for (size_t i = 0; i < s->norder_by; i++)
            gy_free(ord[i].key);
    gy_free(ord);
    gy_tracking_filter_free(f);
    gy_db_sql_free(&b);
    json_decref(arr);
    json_decref(res);
    return rc;
}
