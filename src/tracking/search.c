/* SPDX-License-Identifier: MIT */
/*
 * search.c - runs/search: a parsed filter and order_by list become ONE SQL query over runs
 * joined with run_latest_metrics, run_params and run_tags (one join per condition or order
 * key, each on its primary key (run, key), so no row is duplicated) plus EXISTS subqueries
 * for dataset inputs. Every user value is a bound parameter; only identifiers chosen from
 * fixed tables here reach the SQL text. A page is fetched with LIMIT n+1 so that a next page
 * token is returned only when more runs follow; the page's metrics, params, tags and inputs
 * are then loaded by gy__tracking_runs_json.
 */
#include "tracking/tracking_int.h"

#include <string.h>

enum attr_kind { ATTR_STR = 1, ATTR_NUM = 2 };

static const struct {
    const char *name, *col;
    enum attr_kind kind;
    int filterable;
    int nullable;
} run_attrs[] = {
    {"run_id", "r.run_id", ATTR_STR, 1, 0},
    {"run_name", "r.name", ATTR_STR, 1, 0},
    {"status", "r.status", ATTR_STR, 1, 0},
    {"artifact_uri", "r.artifact_uri", ATTR_STR, 1, 0},
    {"user_id", "r.user_id", ATTR_STR, 1, 1},
    {"start_time", "r.start_ms", ATTR_NUM, 1, 0},
    {"end_time", "r.end_ms", ATTR_NUM, 1, 1},
    {"experiment_id", "r.experiment_id", ATTR_NUM, 0, 0},
    {"lifecycle_stage", "r.lifecycle_stage", ATTR_STR, 0, 0},
};

static int find_attr(const char *key)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(run_attrs); i++)
        if (strcmp(key, run_attrs[i].name) == 0)
            return (int)i;
    return -1;
}

static enum gy_status bad(const struct gy_tracking_cond *c, const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    return gy_error_set(GY_E_INVALID, "filter: at column %zu: %s", c->pos + 1, msg);
}

static int is_numeric_op(enum gy_tracking_op op)
{
    return op >= GY_TRACKING_OP_EQ && op <= GY_TRACKING_OP_GE;
}

static int is_string_op(enum gy_tracking_op op)
{
    return op == GY_TRACKING_OP_EQ || op == GY_TRACKING_OP_NE || op == GY_TRACKING_OP_LIKE ||
           op == GY_TRACKING_OP_ILIKE;
}

/* Appends "<expr> <op> <value>" for a string comparison (incl. LIKE, IN lists). */
static void str_pred(struct gy_db *db, struct gy_db_sql *b, const char *expr,
                     const struct gy_tracking_cond *c)
{
    switch (c->op) {
    case GY_TRACKING_OP_LIKE:
    case GY_TRACKING_OP_ILIKE: {
        char *bound = NULL;
        if (b->rc == GY_OK)
            b->rc = gy_tracking_sql_like(gy_db_kind(db), expr, c->op, c->str, gy_db_sql_next(b),
                                         &b->sql, &bound);
        if (b->rc)
            gy_free(bound);
        else
            gy_db_sql_bind_own(b, bound);
        return;
    }
    case GY_TRACKING_OP_IN:
    case GY_TRACKING_OP_NOT_IN:
        gy_db_sql_printf(b, "%s %s (", expr, c->op == GY_TRACKING_OP_IN ? "IN" : "NOT IN");
        for (size_t i = 0; i < c->nlist; i++) {
            if (i)
                gy_db_sql_printf(b, ",");
            gy_db_sql_param(b, GY_DB_P_TEXT(c->list[i]));
        }
        gy_db_sql_printf(b, ")");
        return;
    default:
        gy_db_sql_printf(b, "%s %s ", expr, c->op == GY_TRACKING_OP_EQ ? "=" : "<>");
        gy_db_sql_param(b, GY_DB_P_TEXT(c->str));
        return;
    }
}

/* Checks one condition against what runs/search allows. */
static enum gy_status check_cond(const struct gy_tracking_cond *c)
{
    int a;
    switch (c->entity) {
    case GY_TRACKING_ENT_METRIC:
        if (!c->is_num)
            return bad(c, "metric '%s' must be compared with a number", c->key);
        if (!is_numeric_op(c->op))
            return bad(c, "metric '%s' takes =, !=, <, <=, > or >=", c->key);
        return GY_OK;
    case GY_TRACKING_ENT_PARAM:
    case GY_TRACKING_ENT_TAG:
        if (c->is_num)
            return bad(c,
                       "the value compared with '%s' must be a quoted string (params and tags "
                       "are strings)",
                       c->key);
        if (!is_string_op(c->op))
            return bad(c, "'%s' takes =, !=, LIKE or ILIKE", c->key);
        return GY_OK;
    case GY_TRACKING_ENT_DATASET:
        if (strcmp(c->key, "name") != 0 && strcmp(c->key, "digest") != 0 &&
            strcmp(c->key, "context") != 0)
            return bad(c, "invalid dataset field '%s' (expected name, digest or context)", c->key);
        if (c->is_num)
            return bad(c, "datasets.%s must be compared with a quoted string", c->key);
        return GY_OK;
    case GY_TRACKING_ENT_ATTRIBUTE:
        a = find_attr(c->key);
        if (a < 0 || !run_attrs[a].filterable)
            return bad(c,
                       "invalid attribute '%s' (expected run_id, run_name, status, "
                       "artifact_uri, user_id, start_time or end_time)",
                       c->key);
        if (run_attrs[a].kind == ATTR_NUM) {
            if (!c->is_num || !is_numeric_op(c->op))
                return bad(c, "attribute '%s' is compared with =, !=, <, <=, >, >= to a number",
                           c->key);
            return GY_OK;
        }
        if (c->is_num)
            return bad(c, "attribute '%s' must be compared with a quoted string", c->key);
        if ((c->op == GY_TRACKING_OP_IN || c->op == GY_TRACKING_OP_NOT_IN) &&
            strcmp(c->key, "run_id") != 0)
            return bad(c, "IN and NOT IN are supported for run_id only, not '%s'", c->key);
        if (!is_string_op(c->op) && c->op != GY_TRACKING_OP_IN && c->op != GY_TRACKING_OP_NOT_IN)
            return bad(c, "attribute '%s' takes =, !=, LIKE or ILIKE", c->key);
        return GY_OK;
    }
    return bad(c, "invalid identifier '%s'", c->key);
}

/*
 * One join per distinct (entity, key) over metrics, params and tags, shared by the filter
 * conditions and the order_by entries that name it. A join used by a condition is INNER (the
 * condition needs the row); one used only for ordering is LEFT.
 */
struct join {
    enum gy_tracking_entity entity;
    const char *key;
    int inner;
};

static size_t join_of(struct join *joins, size_t *n, enum gy_tracking_entity e, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (joins[i].entity == e && strcmp(joins[i].key, key) == 0)
            return i;
    joins[*n] = (struct join){e, key, 0};
    return (*n)++;
}

static const char *order_table(enum gy_tracking_entity e)
{
    return e == GY_TRACKING_ENT_METRIC  ? "run_latest_metrics"
           : e == GY_TRACKING_ENT_PARAM ? "run_params"
                                        : "run_tags";
}

enum gy_status gy_tracking_run_search(struct gy_db *db, const struct gy_tracking_search *s,
                                      json_t **out)
{
    struct gy_tracking_filter *f = NULL;
    struct gy_tracking_order *ord = NULL;
    struct gy_db_sql b;
    struct gy_db_rows *rows = NULL;
    int64_t limit = 0, offset = 0;
    enum gy_tracking_view view = s->view ? s->view : GY_TRACKING_VIEW_ACTIVE_ONLY;
    const char *coll = gy__tracking_coll(db);
    int have_start = 0, have_run_id = 0;
    struct join *joins = NULL;
    size_t njoins = 0, *cjoin = NULL, *ojoin = NULL;
    json_t *res = NULL, *arr = NULL;
    enum gy_status rc;

    *out = NULL;
    gy_db_sql_init(&b);
    if ((rc = gy__tracking_max_results(s->max_results, GY_TRACKING_SEARCH_DEFAULT,
                                       GY_TRACKING_SEARCH_MAX, &limit)) ||
        (rc = gy__tracking_page_token(s->page_token, &offset)) ||
        (rc = gy_tracking_filter_parse(s->filter, &f)))
        goto out;
    for (size_t i = 0; i < f->n; i++)
        if ((rc = check_cond(&f->conds[i])))
            goto out;
    if (s->norder_by && !(ord = gy_calloc(s->norder_by, sizeof *ord))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->norder_by; i++) {
        if ((rc = gy_tracking_order_parse(s->order_by[i], &ord[i]))) {
            gy_error_wrap(rc, "order_by \"%s\"", s->order_by[i]);
            goto out;
        }
        if (ord[i].entity == GY_TRACKING_ENT_DATASET ||
            (ord[i].entity == GY_TRACKING_ENT_ATTRIBUTE && find_attr(ord[i].key) < 0)) {
            rc = gy_error_set(GY_E_INVALID,
                              "order_by \"%s\": invalid order_by key (expected metrics.<key>, "
                              "params.<key>, tags.<key> or an attribute: run_id, run_name, "
                              "status, artifact_uri, user_id, start_time, end_time, "
                              "experiment_id)",
                              s->order_by[i]);
            goto out;
        }
    }

    if (f->n + s->norder_by && !(joins = gy_calloc(f->n + s->norder_by, sizeof *joins))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if (f->n && !(cjoin = gy_calloc(f->n, sizeof *cjoin))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if (s->norder_by && !(ojoin = gy_calloc(s->norder_by, sizeof *ojoin))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < f->n; i++) {
        const struct gy_tracking_cond *c = &f->conds[i];
        if (c->entity != GY_TRACKING_ENT_METRIC && c->entity != GY_TRACKING_ENT_PARAM &&
            c->entity != GY_TRACKING_ENT_TAG)
            continue;
        cjoin[i] = join_of(joins, &njoins, c->entity, c->key);
        joins[cjoin[i]].inner = 1;
    }
    for (size_t i = 0; i < s->norder_by; i++)
        if (ord[i].entity != GY_TRACKING_ENT_ATTRIBUTE)
            ojoin[i] = join_of(joins, &njoins, ord[i].entity, ord[i].key);

    gy_db_sql_printf(&b, "SELECT " GY__RUN_INFO_COLS " FROM runs r");
    /* Inner joins first: the planner may reorder them, but not the LEFT joins. */
    for (int pass = 1; pass >= 0; pass--) {
        for (size_t j = 0; j < njoins; j++) {
            if (joins[j].inner != pass)
                continue;
            gy_db_sql_printf(&b, " %sJOIN %s j%zu ON j%zu.run = r.id AND j%zu.key = ",
                             pass ? "" : "LEFT ", order_table(joins[j].entity), j, j, j);
            gy_db_sql_param(&b, GY_DB_P_TEXT(joins[j].key));
        }
    }
    gy_db_sql_printf(&b, " WHERE 1 = 1");
    if (s->nexperiment_ids) {
        gy_db_sql_printf(&b, " AND r.experiment_id IN (");
        for (size_t i = 0; i < s->nexperiment_ids; i++) {
            if (i)
                gy_db_sql_printf(&b, ",");
            gy_db_sql_param(&b, GY_DB_P_INT(s->experiment_ids[i]));
        }
        gy_db_sql_printf(&b, ")");
    }
    if (view == GY_TRACKING_VIEW_ACTIVE_ONLY)
        gy_db_sql_printf(&b, " AND r.lifecycle_stage = 'active'");
    else if (view == GY_TRACKING_VIEW_DELETED_ONLY)
        gy_db_sql_printf(&b, " AND r.lifecycle_stage = 'deleted'");
    for (size_t i = 0; i < f->n; i++) {
        const struct gy_tracking_cond *c = &f->conds[i];
        char expr[64];
        gy_db_sql_printf(&b, " AND ");
        switch (c->entity) {
        case GY_TRACKING_ENT_METRIC:
            /* A NaN is not less than, greater than or equal to anything. */
            gy_db_sql_printf(&b, "j%zu.is_nan = 0 AND j%zu.value %s ", cjoin[i], cjoin[i],
                             c->op == GY_TRACKING_OP_NE ? "<>" : gy_tracking_op_str(c->op));
            gy_db_sql_param(&b, GY_DB_P_REAL(c->num));
            break;
        case GY_TRACKING_ENT_PARAM:
        case GY_TRACKING_ENT_TAG:
            snprintf(expr, sizeof expr, "j%zu.value", cjoin[i]);
            str_pred(db, &b, expr, c);
            break;
        case GY_TRACKING_ENT_ATTRIBUTE: {
            int a = find_attr(c->key);
            if (run_attrs[a].kind == ATTR_NUM) {
                gy_db_sql_printf(&b, "%s %s ", run_attrs[a].col,
                                 c->op == GY_TRACKING_OP_NE ? "<>" : gy_tracking_op_str(c->op));
                gy_db_sql_param(&b, GY_DB_P_REAL(c->num));
            } else {
                str_pred(db, &b, run_attrs[a].col, c);
            }
            break;
        }
        case GY_TRACKING_ENT_DATASET:
            gy_db_sql_printf(&b,
                             "EXISTS (SELECT 1 FROM run_inputs i%zu JOIN tracking_datasets d%zu ON "
                             "d%zu.id = i%zu.dataset_id",
                             i, i, i, i);
            if (strcmp(c->key, "context") == 0) {
                gy_db_sql_printf(&b,
                                 " JOIN run_input_tags g%zu ON g%zu.input_id = i%zu.id AND "
                                 "g%zu.key = 'mlflow.data.context'",
                                 i, i, i, i);
                snprintf(expr, sizeof expr, "g%zu.value", i);
            } else {
                snprintf(expr, sizeof expr, "d%zu.%s", i,
                         strcmp(c->key, "name") == 0 ? "name" : "digest");
            }
            gy_db_sql_printf(&b, " WHERE i%zu.run = r.id AND ", i);
            str_pred(db, &b, expr, c);
            gy_db_sql_printf(&b, ")");
            break;
        }
    }
    gy_db_sql_printf(&b, " ORDER BY ");
    for (size_t i = 0; i < s->norder_by; i++) {
        const char *dir = ord[i].desc ? " DESC" : "";
        if (ord[i].entity == GY_TRACKING_ENT_ATTRIBUTE) {
            int a = find_attr(ord[i].key);
            if (strcmp(ord[i].key, "start_time") == 0)
                have_start = 1;
            if (strcmp(ord[i].key, "run_id") == 0)
                have_run_id = 1;
            if (run_attrs[a].nullable)
                gy_db_sql_printf(&b, "CASE WHEN %s IS NULL THEN 1 ELSE 0 END, ", run_attrs[a].col);
            gy_db_sql_printf(&b, "%s%s%s, ", run_attrs[a].col,
                             run_attrs[a].kind == ATTR_STR ? coll : "", dir);
        } else {
            size_t j = ojoin[i];
            /*
             * Values first, then NaN (metrics), then runs without the key, in either
             * direction. A key a condition already requires (inner join; a metric condition
             * also excludes NaN) needs no CASE: then an index on (key, is_nan, value) can
             * deliver the rows in order and LIMIT stops the scan early.
             */
            if (!joins[j].inner && ord[i].entity == GY_TRACKING_ENT_METRIC)
                gy_db_sql_printf(
                    &b,
                    "CASE WHEN j%zu.run IS NULL THEN 2 WHEN j%zu.is_nan = 1 THEN 1 ELSE "
                    "0 END, ",
                    j, j);
            else if (!joins[j].inner)
                gy_db_sql_printf(&b, "CASE WHEN j%zu.run IS NULL THEN 1 ELSE 0 END, ", j);
            gy_db_sql_printf(&b, "j%zu.value%s%s, ", j,
                             ord[i].entity == GY_TRACKING_ENT_METRIC ? "" : coll, dir);
        }
    }
    if (!have_start)
        gy_db_sql_printf(&b, "r.start_ms DESC, ");
    if (!have_run_id)
        gy_db_sql_printf(&b, "r.run_id%s, ", coll);
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
    rc = gy__tracking_runs_json(db, rows, GY_MIN(gy_db_rows_count(rows), (size_t)limit), arr);
    if (rc == GY_OK) {
        rc = gy__tracking_jset_list(res, "runs", arr);
        arr = NULL;
    }
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
    gy_free(joins);
    gy_free(cjoin);
    gy_free(ojoin);
    gy_tracking_filter_free(f);
    gy_db_sql_free(&b);
    json_decref(arr);
    json_decref(res);
    return rc;
}
