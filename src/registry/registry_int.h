/* SPDX-License-Identifier: MIT */
/**
 * registry_int.h - private interfaces between the files of src/registry: a small SQL builder
 * (numbered placeholders, owned bound strings), model and version lookups inside
 * transactions, validation helpers and the JSON builders of RegisteredModel and ModelVersion.
 * Not for other modules.
 */
#ifndef GY_REGISTRY_INT_H
#define GY_REGISTRY_INT_H

#include "registry/registry.h"
#include "tracking/tracking.h"

/** Wall clock in milliseconds. */
int64_t gy__registry_now_ms(void);

/** ` COLLATE "C"` on PostgreSQL, "" on SQLite. */
const char *gy__registry_coll(const struct gy_db *db);

/** Checks an optional text value (UTF-8, at most @p max bytes); NULL is fine. */
enum gy_status gy__registry_text_check(const char *what, const char *s, size_t max);

/** Checks tags: keys non-empty <= GY_REGISTRY_KEY_MAX, values <= GY_REGISTRY_TAG_VALUE_MAX. */
enum gy_status gy__registry_tags_check(const struct gy_registry_tag *tags, size_t n);

/** The internal id of model @p name; GY_NOT_FOUND "Registered Model with name=X not found". */
enum gy_status gy__registry_model_id(struct gy_db *db, const char *name, int64_t *id);

/**
 * The internal id of version @p version of model @p name (and the model's id when @p model_id
 * is not NULL). GY_NOT_FOUND for either missing.
 */
enum gy_status gy__registry_version_id(struct gy_db *db, const char *name, int64_t version,
                                       int64_t *model_id, int64_t *version_id);

/** The select list of version rows used by gy__registry_versions_json (v: model_versions,
 * m: registered_models). */
#define GY__VERSION_COLS                                                                           \
    "v.id, m.name, v.version, v.creation_ms, v.last_updated_ms, v.user_id, v.stage, "              \
    "v.description, v.source, v.run_id, v.run_link, v.status, v.dataset, v.dataset_version, "      \
    "v.bundle_hash"

/** Appends ModelVersion JSON for the first @p n rows of @p rows (GY__VERSION_COLS) to @p arr,
 * with their tags and aliases. */
enum gy_status gy__registry_versions_json(struct gy_db *db, const struct gy_db_rows *rows, size_t n,
                                          json_t *arr);

/** The single ModelVersion JSON selected by @p where over (v, m) with parameters @p p. */
enum gy_status gy__registry_version_json_where(struct gy_db *db, const char *where,
                                               const struct gy_db_param *p, size_t np,
                                               json_t **out);

/**
 * Inside a transaction: creates the next version of model @p model_id (already validated
 * arguments) and returns its number.
 */
enum gy_status gy__registry_version_insert(struct gy_db *db, int64_t model_id,
                                           const struct gy_registry_version_create *c,
                                           int64_t *version);

/** Validates the arguments of a version creation. */
enum gy_status gy__registry_version_check(const struct gy_registry_version_create *c);

/** Records an alias event in model_alias_history (inside a transaction). */
enum gy_status gy__registry_alias_event(struct gy_db *db, int64_t model_id, const char *alias,
                                        int64_t version, const char *action);

/**
 * Appends " AND <expr> <op> <value>" for a string condition of a parsed filter (=, !=, LIKE,
 * ILIKE with the shared case rules, IN, NOT IN), binding the values.
 */
void gy__registry_str_pred(struct gy_db *db, struct gy_db_sql *b, const char *expr,
                           const struct gy_tracking_cond *c);

/** GY_E_INVALID "filter: at column N: <what>". */
enum gy_status gy__registry_bad_cond(const struct gy_tracking_cond *c, const char *what);

#endif /* GY_REGISTRY_INT_H */
