/* SPDX-License-Identifier: MIT */
/**
 * tracking_int.h - private interfaces between the files of src/tracking: a small SQL builder
 * that numbers placeholders and owns the strings it binds, run lookups, validation helpers
 * and the JSON builders shared by the getters and the searches. Not for other modules.
 */
#ifndef GY_TRACKING_INT_H
#define GY_TRACKING_INT_H

#include "tracking/tracking.h"

/* ------------------------------------------------------------------ helpers */

/** Wall clock in milliseconds. */
int64_t gy__tracking_now_ms(void);

/** True when @p s (of @p n bytes) is valid UTF-8 without NUL. */
int gy__tracking_utf8_valid(const char *s, size_t n);

/**
 * Checks a value: not NULL, valid UTF-8, at most @p max bytes. GY_E_INVALID or GY_E_TOO_LARGE
 * naming @p what.
 */
enum gy_status gy__tracking_value_check(const char *what, const char *key, const char *value,
                                        size_t max);

/** Checks an experiment or run name (non-empty, <= GY_TRACKING_NAME_MAX, UTF-8). */
enum gy_status gy__tracking_name_check(const char *what, const char *name);

/** Parses a page token (decimal offset) into *offset; NULL or "" is 0. */
enum gy_status gy__tracking_page_token(const char *token, int64_t *offset);

/** Validates max_results against a default and a maximum. */
enum gy_status gy__tracking_max_results(int64_t given, int64_t def, int64_t max, int64_t *out);

/** Formats an offset as a page token into obj["next_page_token"]. */
enum gy_status gy__tracking_set_token(json_t *obj, int64_t offset);

/** A JSON integer (new), NULL on OOM. */
json_t *gy__tracking_jint(int64_t v);

/** A metric value: the number, or the string "NaN" when @p is_nan (new). */
json_t *gy__tracking_jmetric_value(double v, int is_nan);

/** Sets obj[key] = json_string(s) when s is not NULL. */
enum gy_status gy__tracking_jset_str(json_t *obj, const char *key, const char *s);

/** Appends {"key","value"} to @p arr. */
enum gy_status gy__tracking_jtag(json_t *arr, const char *key, const char *value);

/** Sets obj[key] = arr when arr is non-empty; always consumes arr. */
enum gy_status gy__tracking_jset_list(json_t *obj, const char *key, json_t *arr);

/** The text ` COLLATE "C"` on PostgreSQL (byte order like SQLite's BINARY), else "". */
const char *gy__tracking_coll(const struct gy_db *db);

/**
 * Looks up a run by id: *rid gets its internal key, *active whether its lifecycle stage is
 * active (either may be NULL). GY_NOT_FOUND "Run with id=X not found" for unknown or
 * malformed ids.
 */
enum gy_status gy__tracking_run_find(struct gy_db *db, const char *run_id, int64_t *rid,
                                     int *active);

/**
 * Like gy__tracking_run_find but GY_E_INVALID "The run X must be in the 'active' state.
 * Current state is deleted." for a deleted run. Use inside write transactions.
 */
enum gy_status gy__tracking_run_active(struct gy_db *db, const char *run_id, int64_t *rid);

/**
 * Builds Run JSON objects for the first @p n runs whose RunInfo rows are in @p info (columns, in
 * order: id, run_id, name, experiment_id, user_id, status, start_ms, end_ms, artifact_uri,
 * lifecycle_stage), fetching their latest metrics, params, tags and dataset inputs with a few
 * chunked queries. Appends the runs to @p arr in row order.
 */
enum gy_status gy__tracking_runs_json(struct gy_db *db, const struct gy_db_rows *info, size_t n,
                                      json_t *arr);

/** The RunInfo JSON of row @p row of a rows set laid out as above (new, NULL on OOM). */
json_t *gy__tracking_run_info_json(const struct gy_db_rows *info, size_t row);

/** The select list matching gy__tracking_runs_json, for a runs table aliased r. */
#define GY__RUN_INFO_COLS                                                                          \
    "r.id, r.run_id, r.name, r.experiment_id, r.user_id, r.status, r.start_ms, r.end_ms, "         \
    "r.artifact_uri, r.lifecycle_stage"

/** Sets one run tag inside an open transaction (mlflow.runName renames the run too). */
enum gy_status gy__tracking_tag_upsert(struct gy_db *db, int64_t rid, const char *key,
                                       const char *value);

#endif /* GY_TRACKING_INT_H */
