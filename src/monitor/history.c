/* SPDX-License-Identifier: MIT */
/*
 * history.c - stored drift reports. Each `gyre drift report` of a deployment (and each round of
 * the in-server monitor) is kept in the metadata store's drift_reports table (schema migration
 * 7) with its verdict and its JSON report, which gives a queryable history per deployment and
 * the latest state that the Prometheus gauges read. A report of a tumbling window also records
 * the window's end in drift_windows (migration 9) in the same transaction, so that the next
 * report starts after it.
 */
#include "monitor/monitor.h"

#include <string.h>

#define MAX_REPORT_BYTES ((size_t)64 << 20)

/* Stores the report and, when @p tw is not NULL, the end of its tumbling window: one
 * transaction. */
static enum gy_status add(struct gy_db *db, const char *deployment, int drift,
                          const char *report_json, const struct gy_monitor_tumble *tw, int64_t *id)
{
    struct gy_db_param p[4], w[5];
    int64_t now = gy_time_wall_us(), got = 0;
    enum gy_status rc;
    if (!deployment || !*deployment || !report_json)
        return gy_error_set(GY_E_INVALID, "a report needs a deployment and its JSON");
    if (strlen(report_json) > MAX_REPORT_BYTES)
        return gy_error_set(GY_E_INVALID, "the report is larger than %zu bytes", MAX_REPORT_BYTES);
    p[0] = GY_DB_P_TEXT(deployment);
    p[1] = GY_DB_P_INT(now);
    p[2] = GY_DB_P_INT(drift ? 1 : 0);
    p[3] = GY_DB_P_TEXT(report_json);
    if ((rc = gy_db_begin(db)))
        return rc;
    rc = gy_db_exec(db,
                    "INSERT INTO drift_reports (deployment, created_us, drift, report) "
                    "VALUES ($1, $2, $3, $4)",
                    p, 4, NULL);
    if (rc == GY_OK)
        rc = gy_db_query_int(db, "SELECT MAX(id) FROM drift_reports WHERE deployment = $1", p, 1,
                             &got);
    if (rc == GY_OK && tw) {
        w[0] = GY_DB_P_TEXT(deployment);
        w[1] = GY_DB_P_TEXT(tw->spec);
        w[2] = GY_DB_P_INT(tw->end);
        w[3] = GY_DB_P_INT(got);
        w[4] = GY_DB_P_INT(now);
        rc = gy_db_exec(db, "DELETE FROM drift_windows WHERE deployment = $1 AND spec = $2", w, 2,
                        NULL);
        if (rc == GY_OK)
            rc = gy_db_exec(db,
                            "INSERT INTO drift_windows (deployment, spec, window_end, report_id, "
                            "updated_us) VALUES ($1, $2, $3, $4, $5)",
                            w, 5, NULL);
    }
    if (rc) {
        gy_db_rollback(db);
        return gy_error_wrap(rc, "storing the drift report of %s", deployment);
    }
    if ((rc = gy_db_commit(db)))
        return rc;
    if (id)
        *id = got;
    return GY_OK;
}

enum gy_status gy_monitor_history_add(struct gy_db *db, const char *deployment, int drift,
                                      const char *report_json, int64_t *id)
{
    return add(db, deployment, drift, report_json, NULL, id);
}

enum gy_status gy_monitor_history_add_window(struct gy_db *db, const char *deployment, int drift,
                                             const char *report_json,
                                             const struct gy_monitor_tumble *tw, int64_t *id)
{
    if (!tw || !tw->spec[0])
        return gy_error_set(GY_E_INVALID, "a tumbling window needs its spec");
    return add(db, deployment, drift, report_json, tw, id);
}

/* Rows (deployment, id, created_us, drift, report) as a JSON array. */
static enum gy_status rows_json(const struct gy_db_rows *r, int with_deployment, json_t **out)
{
    json_t *arr = json_array();
    if (!arr)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < gy_db_rows_count(r); i++) {
        const char *text = gy_db_rows_text(r, i, 4);
        json_t *o = json_object(), *rep = NULL;
        if (!o) {
            json_decref(arr);
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
        if (text && gy_json_parse(text, strlen(text), GY_JSON_MAX_DEPTH, "drift report", &rep))
            rep = NULL; /* an unreadable report shows as null */
        if (with_deployment)
            json_object_set_new(o, "deployment", json_string(gy_db_rows_text(r, i, 0)));
        json_object_set_new(o, "id", json_integer(gy_db_rows_int(r, i, 1)));
        json_object_set_new(o, "created_us", json_integer(gy_db_rows_int(r, i, 2)));
        json_object_set_new(o, "drift", json_boolean(gy_db_rows_int(r, i, 3) != 0));
        json_object_set_new(o, "report", rep ? rep : json_null());
        if (json_array_append_new(arr, o)) {
            json_decref(arr);
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
    }
    *out = arr;
    return GY_OK;
}

enum gy_status gy_monitor_history_list(struct gy_db *db, const char *deployment, size_t limit,
                                       json_t **out)
{
    struct gy_db_rows *r = NULL;
    struct gy_db_param p[2];
    enum gy_status rc;
    *out = NULL;
    if (limit < 1 || limit > 10000)
        return gy_error_set(GY_E_INVALID, "limit must be 1..10000");
    p[0] = GY_DB_P_TEXT(deployment);
    p[1] = GY_DB_P_INT((int64_t)limit);
    rc = gy_db_query(db,
                     "SELECT deployment, id, created_us, drift, report FROM drift_reports "
                     "WHERE deployment = $1 ORDER BY id DESC LIMIT $2",
                     p, 2, &r);
    if (rc)
        return rc;
    rc = rows_json(r, 0, out);
    gy_db_rows_free(r);
    return rc;
}

enum gy_status gy_monitor_history_latest(struct gy_db *db, json_t **out)
{
    struct gy_db_rows *r = NULL;
    enum gy_status rc;
    *out = NULL;
    rc = gy_db_query(db,
                     "SELECT d.deployment, d.id, d.created_us, d.drift, d.report FROM "
                     "drift_reports d JOIN (SELECT deployment, MAX(id) AS id FROM drift_reports "
                     "GROUP BY deployment) m ON d.id = m.id ORDER BY d.deployment",
                     NULL, 0, &r);
    if (rc)
        return rc;
    rc = rows_json(r, 1, out);
    gy_db_rows_free(r);
    return rc;
}
