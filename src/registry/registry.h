/* SPDX-License-Identifier: MIT */
/**
 * registry.h - the model registry over the metadata store: registered models, versions
 * (numbered per model from 1, never reused), MLflow stages (None, Staging, Production,
 * Archived), aliases (one version per alias at a time), tags, descriptions, and gyre lineage
 * (the run, the dataset version trained on, the bundle object).
 *
 * Getters and searches return jansson objects shaped like MLflow's REST JSON
 * (RegisteredModel, ModelVersion) so that src/api/mlflow.c stays thin. gyre's own fields of a
 * version are in one extra member, "gyre": {"dataset", "dataset_version", "bundle_hash"}
 * (present only when set; MLflow clients ignore unknown keys). Status codes map to MLflow's
 * error codes as in tracking.h (GY_NOT_FOUND 404, GY_E_EXISTS 400 RESOURCE_ALREADY_EXISTS,
 * GY_E_INVALID 400, GY_E_BUSY retry).
 *
 * References: everywhere a model is named, "MODEL" (the version holding alias "champion",
 * else the latest version), "MODEL@alias", "MODEL@3", "MODEL/3", "MODEL@latest" and
 * "MODEL/latest" are accepted by gy_registry_resolve.
 *
 * Thread-safety: as the struct gy_db given (one handle per thread). Writes take the store's
 * write lock and are atomic.
 */
#ifndef GY_REGISTRY_H
#define GY_REGISTRY_H

#include "base/base.h"
#include "db/db.h"

#define GY_REGISTRY_NAME_MAX 256       /* model names, bytes */
#define GY_REGISTRY_ALIAS_MAX 256      /* alias names, bytes */
#define GY_REGISTRY_KEY_MAX 250        /* tag keys */
#define GY_REGISTRY_TAG_VALUE_MAX 5000 /* tag values */
#define GY_REGISTRY_DESCRIPTION_MAX 65536
#define GY_REGISTRY_SOURCE_MAX 4096
#define GY_REGISTRY_MODELS_DEFAULT 100      /* registered-model search: default max_results */
#define GY_REGISTRY_MODELS_MAX 1000         /* ... and the largest accepted */
#define GY_REGISTRY_VERSIONS_DEFAULT 200000 /* model-version search: default and largest */
#define GY_REGISTRY_DEFAULT_ALIAS "champion"

/** MLflow model stages. */
enum gy_registry_stage {
    GY_STAGE_NONE = 0,
    GY_STAGE_STAGING = 1,
    GY_STAGE_PRODUCTION = 2,
    GY_STAGE_ARCHIVED = 3,
};

/** "None", "Staging", "Production", "Archived" (static); "" for anything else. */
const char *gy_registry_stage_str(enum gy_registry_stage s);
/** Parses a stage name case-insensitively (as MLflow does); GY_E_INVALID otherwise. */
enum gy_status gy_registry_stage_parse(const char *s, enum gy_registry_stage *out);

/** A key/value tag. Borrowed. */
struct gy_registry_tag {
    const char *key;
    const char *value;
};

/** Search options (MLflow SearchRegisteredModels / SearchModelVersions). Borrowed. */
struct gy_registry_search {
    const char *filter; /* NULL or "": none */
    const char *const *order_by;
    size_t norder_by;
    int64_t max_results; /* 0: the default; negative or above the maximum: GY_E_INVALID */
    const char *page_token;
};

/** Parses a version number from the wire ("3"); GY_E_INVALID unless a decimal >= 1. */
enum gy_status gy_registry_version_parse(const char *s, int64_t *out);

/** Checks a model name: non-empty, <= GY_REGISTRY_NAME_MAX bytes, no '/', '@' or control
 * characters, valid UTF-8. GY_E_INVALID otherwise. */
enum gy_status gy_registry_name_check(const char *name);

/**
 * Checks an alias: non-empty, <= GY_REGISTRY_ALIAS_MAX bytes, letters, digits, '_', '-',
 * '.', not all digits, not "latest" and not "v<digits>" in any case (reserved by MLflow for
 * versions). GY_E_INVALID otherwise.
 */
enum gy_status gy_registry_alias_check(const char *alias);

/**
 * Checks a model version source URI (the CVE-2023-1177 family): only "runs:/<run_id>/<path>",
 * "mlflow-artifacts:/<path>" and "models:/<path>" are accepted, and the path part must pass
 * gy_tracking_artifact_path_check (no "..", '\\', ';', '#', '?', '%', NUL, absolute path).
 * file:, plain paths and every other scheme are GY_E_INVALID.
 */
enum gy_status gy_registry_source_check(const char *source);

/* ------------------------------------------------------------------ registered models */

/**
 * Creates a registered model. GY_E_EXISTS with "Registered Model (name=X) already exists."
 * @p description and @p user_id may be NULL; @p tags may be NULL when @p ntags is 0.
 */
enum gy_status gy_registry_model_create(struct gy_db *db, const char *name, const char *description,
                                        const char *user_id, const struct gy_registry_tag *tags,
                                        size_t ntags);

/**
 * MLflow RegisteredModel JSON: {"name", "creation_timestamp", "last_updated_timestamp",
 * "user_id"?, "description"?, "latest_versions": [ModelVersion, the latest per stage],
 * "tags": [{"key","value"}], "aliases": [{"alias","version"}]} (empty lists omitted).
 * *out new; GY_NOT_FOUND with "Registered Model with name=X not found".
 */
enum gy_status gy_registry_model_get(struct gy_db *db, const char *name, json_t **out);

/** Renames a model (its versions, tags and aliases follow). GY_E_EXISTS when taken. */
enum gy_status gy_registry_model_rename(struct gy_db *db, const char *name, const char *new_name);

/** Sets a model's description ("" clears it to empty; NULL is GY_E_INVALID). */
enum gy_status gy_registry_model_update(struct gy_db *db, const char *name,
                                        const char *description);

/** Deletes a model with its versions, tags and aliases (hard delete, as MLflow). */
enum gy_status gy_registry_model_delete(struct gy_db *db, const char *name);

/**
 * Searches models: filter `name = 'x'`, `name != 'x'`, `name LIKE 'x%'`, `name ILIKE ...`,
 * `tags.<k> = 'v'` (and LIKE/ILIKE/!=), joined with AND; order_by "name", "timestamp",
 * "last_updated_timestamp" ASC|DESC (default name ASC; ties by name ASC). *out new:
 * {"registered_models": [...], "next_page_token"?}.
 */
enum gy_status gy_registry_model_search(struct gy_db *db, const struct gy_registry_search *s,
                                        json_t **out);

/** Sets (overwrites) a model tag. */
enum gy_status gy_registry_model_tag_set(struct gy_db *db, const char *name, const char *key,
                                         const char *value);

/** Deletes a model tag; GY_NOT_FOUND when absent. */
enum gy_status gy_registry_model_tag_delete(struct gy_db *db, const char *name, const char *key);

/**
 * The latest version (highest number) in each stage: of @p stages when @p nstages > 0 (names
 * parsed like gy_registry_stage_parse), else of every stage. *out new: a JSON array of
 * ModelVersion, ordered by stage as requested (MLflow get-latest-versions returns
 * {"model_versions": this}).
 */
enum gy_status gy_registry_latest_versions(struct gy_db *db, const char *name,
                                           const char *const *stages, size_t nstages, json_t **out);

/* ------------------------------------------------------------------ versions */

/** Arguments of gy_registry_version_create. Borrowed; zero-initialize. */
struct gy_registry_version_create {
    const char *name;   /* the model; must exist */
    const char *source; /* required; see gy_registry_source_check */
    const char *run_id; /* may be NULL; not checked against the tracking store */
    const char *run_link;
    const char *description;
    const char *user_id;
    const struct gy_registry_tag *tags;
    size_t ntags;
    /* gyre lineage (all optional) */
    const char *dataset;     /* the lake dataset trained on */
    int64_t dataset_version; /* its version (0: unknown) */
    const char *bundle_hash; /* the model bundle object (64 hex digits) */
};

/**
 * Creates the next version of a model (1, 2, ...; numbers of deleted versions are never
 * reused), stage None, status READY. *version gets the number.
 */
enum gy_status gy_registry_version_create(struct gy_db *db,
                                          const struct gy_registry_version_create *c,
                                          int64_t *version);

/**
 * Registers a model from a tracked run: creates model @p model when missing, checks that run
 * @p run_id exists, and creates a version with @p source (NULL: "runs:/<run_id>/model"),
 * @p bundle_hash (may be NULL), @p dataset / @p dataset_version (may be NULL / 0), all in one
 * transaction. *version gets the new number.
 */
enum gy_status gy_registry_register(struct gy_db *db, const char *model, const char *run_id,
                                    const char *source, const char *bundle_hash,
                                    const char *dataset, int64_t dataset_version, int64_t *version);

/**
 * MLflow ModelVersion JSON: {"name", "version": "3", "creation_timestamp",
 * "last_updated_timestamp", "user_id"?, "current_stage", "description"?, "source", "run_id"?,
 * "run_link"?, "status": "READY", "tags"?, "aliases"?: ["champion"], "gyre"?: {...}}.
 * *out new; GY_NOT_FOUND "Model Version (name=X, version=N) not found".
 */
enum gy_status gy_registry_version_get(struct gy_db *db, const char *name, int64_t version,
                                       json_t **out);

/** Sets a version's description. */
enum gy_status gy_registry_version_update(struct gy_db *db, const char *name, int64_t version,
                                          const char *description);

/** Deletes a version, its tags and the aliases pointing at it. */
enum gy_status gy_registry_version_delete(struct gy_db *db, const char *name, int64_t version);

/**
 * Moves a version to @p stage. With @p archive_existing and a target of Staging or
 * Production, the other versions in that stage move to Archived in the same transaction.
 * When @p out is not NULL it gets the updated ModelVersion JSON (new).
 */
enum gy_status gy_registry_version_stage(struct gy_db *db, const char *name, int64_t version,
                                         enum gy_registry_stage stage, int archive_existing,
                                         json_t **out);

/** Sets (overwrites) a version tag. */
enum gy_status gy_registry_version_tag_set(struct gy_db *db, const char *name, int64_t version,
                                           const char *key, const char *value);

/** Deletes a version tag; GY_NOT_FOUND when absent. */
enum gy_status gy_registry_version_tag_delete(struct gy_db *db, const char *name, int64_t version,
                                              const char *key);

/**
 * Searches versions: filter conditions joined with AND over name (=, !=, LIKE, ILIKE),
 * run_id (=, !=, IN), source_path (=, !=, LIKE, ILIKE), version_number (numeric comparators)
 * and tags.<k>; order_by name, version_number, creation_timestamp, last_updated_timestamp
 * (alias timestamp) ASC|DESC; default last_updated_timestamp DESC, name ASC, version_number
 * DESC. *out new: {"model_versions": [...], "next_page_token"?}.
 */
enum gy_status gy_registry_version_search(struct gy_db *db, const struct gy_registry_search *s,
                                          json_t **out);

/**
 * The URI to download a version's files from (MLflow get-download-uri): a "runs:/<run>/<p>"
 * source becomes the run's artifact URI + "/<p>" when the run is known; any other source is
 * returned as is. *uri new (gy_free).
 */
enum gy_status gy_registry_version_download_uri(struct gy_db *db, const char *name, int64_t version,
                                                char **uri);

/* ------------------------------------------------------------------ aliases */

/**
 * Points @p alias of model @p name at @p version (one upsert on UNIQUE(model, alias): the
 * alias moves atomically; at no moment do two versions hold it). Also recorded in the alias
 * history. GY_NOT_FOUND for an unknown model or version.
 */
enum gy_status gy_registry_alias_set(struct gy_db *db, const char *name, const char *alias,
                                     int64_t version);

/** Removes an alias. GY_NOT_FOUND when the model has no such alias. */
enum gy_status gy_registry_alias_delete(struct gy_db *db, const char *name, const char *alias);

/** The ModelVersion JSON of the version holding @p alias (new). GY_NOT_FOUND when none. */
enum gy_status gy_registry_alias_get(struct gy_db *db, const char *name, const char *alias,
                                     json_t **out);

/**
 * The alias history of a model, newest first: JSON array of {"alias", "version" (string; absent
 * for a deletion), "action": "set"|"delete", "timestamp"} (new). At most @p limit entries
 * (0: 100).
 */
enum gy_status gy_registry_alias_history(struct gy_db *db, const char *name, int64_t limit,
                                         json_t **out);

/* ------------------------------------------------------------------ references */

/** A resolved version: what serving and pipelines need. Every string is new. */
struct gy_registry_version_info {
    char *name;
    int64_t version;
    enum gy_registry_stage stage;
    char *source;
    char *run_id;  /* NULL when none */
    char *dataset; /* NULL when none */
    int64_t dataset_version;
    char *bundle_hash; /* NULL when none */
    char *description; /* NULL when none */
    int64_t creation_ms;
};

/**
 * Resolves a reference ("MODEL", "MODEL@alias", "MODEL@3", "MODEL/3", "MODEL@latest",
 * "MODEL/latest"; "models:/" in front is accepted too) to a version. "MODEL" means the
 * version holding alias "champion", else the latest version. *out new
 * (gy_registry_version_info_free). GY_NOT_FOUND when the model, alias or version does not
 * exist (the text says which); GY_E_INVALID for a malformed reference.
 */
enum gy_status gy_registry_resolve(struct gy_db *db, const char *ref,
                                   struct gy_registry_version_info **out);

/** Frees resolved version info. NULL is a no-op. */
void gy_registry_version_info_free(struct gy_registry_version_info *v);

#endif /* GY_REGISTRY_H */
