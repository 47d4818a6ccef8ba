/* SPDX-License-Identifier: MIT */
/**
 * tracking.h - experiment tracking over the metadata store: experiments, runs, params
 * (write-once), metrics (full history plus the latest value per key), tags, artifacts
 * (content-addressed objects mapped by run and path), dataset inputs, and run search with
 * MLflow's filter grammar and order_by.
 *
 * Semantics follow MLflow's SQL tracking store so that src/api/mlflow.c stays thin: the
 * getters and searches return jansson objects shaped exactly like MLflow's REST JSON
 * (Experiment, Run, Metric, FileInfo; ids as strings, int64 values as JSON numbers, empty
 * repeated fields omitted), and the status codes map onto MLflow's error codes:
 *
 *   GY_NOT_FOUND   -> RESOURCE_DOES_NOT_EXIST (404)
 *   GY_E_EXISTS    -> RESOURCE_ALREADY_EXISTS (400)
 *   GY_E_INVALID   -> INVALID_PARAMETER_VALUE (400): bad names, values, filters, changed
 *                     params, writes to a deleted run or experiment
 *   GY_E_TOO_LARGE -> INVALID_PARAMETER_VALUE (400): batch and size limits
 *   GY_E_BUSY      -> the store is locked past the busy timeout; retry (503)
 *   GY_E_DB, GY_E_NOMEM, GY_E_IO -> INTERNAL_ERROR (500)
 *
 * Every function reports detail text with gy_error_set (read it with gy_error_msg()); the
 * texts match MLflow's where clients are known to look at them ("Changing param values is not
 * allowed...").
 *
 * Ids: experiment ids are int64 (the default experiment "Default" is 0), run ids are 32
 * lowercase hex digits. Times given to and returned by this module are milliseconds since
 * the epoch, as on MLflow's wire.
 *
 * Thread-safety: functions are as thread-safe as the struct gy_db they are given (one handle
 * per thread). Writes take the store's write lock (gy_db_begin) and are atomic: a failed call
 * changes nothing.
 */
#ifndef GY_TRACKING_H
#define GY_TRACKING_H

#include "base/base.h"
#include "db/db.h"

/* ------------------------------------------------------------------ limits */

#define GY_TRACKING_RUN_ID_LEN 32           /* hex digits of a run id */
#define GY_TRACKING_NAME_MAX 500            /* experiment and run names, bytes */
#define GY_TRACKING_KEY_MAX 250             /* param, metric and tag keys, bytes */
#define GY_TRACKING_PARAM_VALUE_MAX 6000    /* param values, bytes */
#define GY_TRACKING_TAG_VALUE_MAX 8000      /* run tag values, bytes */
#define GY_TRACKING_EXP_TAG_VALUE_MAX 20000 /* experiment tag values, bytes */
#define GY_TRACKING_BATCH_METRICS_MAX 1000
#define GY_TRACKING_BATCH_PARAMS_MAX 100
#define GY_TRACKING_BATCH_TAGS_MAX 100
#define GY_TRACKING_BATCH_TOTAL_MAX 1000
#define GY_TRACKING_SEARCH_DEFAULT 1000 /* max_results when 0 is given */
#define GY_TRACKING_SEARCH_MAX 50000    /* largest max_results accepted */
#define GY_TRACKING_ARTIFACT_PATH_MAX 1024
#define GY_TRACKING_FILTER_MAX 65536 /* filter text, bytes */

/** The default experiment, created by the schema migration. */
#define GY_TRACKING_DEFAULT_EXPERIMENT_ID 0
#define GY_TRACKING_DEFAULT_EXPERIMENT_NAME "Default"

/* ------------------------------------------------------------------ enums */

/** Which lifecycle stages a search returns (MLflow ViewType). 0 means ACTIVE_ONLY. */
enum gy_tracking_view {
    GY_TRACKING_VIEW_ACTIVE_ONLY = 1,
    GY_TRACKING_VIEW_DELETED_ONLY = 2,
    GY_TRACKING_VIEW_ALL = 3,
};

/** Parses "ACTIVE_ONLY", "DELETED_ONLY", "ALL" (case-insensitive); GY_E_INVALID otherwise. */
enum gy_status gy_tracking_view_parse(const char *s, enum gy_tracking_view *out);

/** MLflow RunStatus. 0 means "unchanged" in struct gy_tracking_run_update. */
enum gy_tracking_run_status {
    GY_RUN_RUNNING = 1,
    GY_RUN_SCHEDULED = 2,
    GY_RUN_FINISHED = 3,
    GY_RUN_FAILED = 4,
    GY_RUN_KILLED = 5,
};

/** "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED" (static); "" for anything else. */
const char *gy_tracking_run_status_str(enum gy_tracking_run_status s);
/** Parses a status name (exact, upper case as on the wire); GY_E_INVALID otherwise. */
enum gy_status gy_tracking_run_status_parse(const char *s, enum gy_tracking_run_status *out);

/* ------------------------------------------------------------------ common types */

/** A key/value pair (tags, params). Borrowed by every function that takes it. */
struct gy_tracking_tag {
    const char *key;
    const char *value;
};

/** One metric point. Borrowed. NaN is stored as such; +-Inf are clamped to +-DBL_MAX. */
struct gy_tracking_metric {
    const char *key;
    double value;
    int64_t timestamp_ms;
    int64_t step;
};

/**
 * Options of the experiment and run searches (MLflow SearchExperiments / SearchRuns).
 * Everything borrowed; zero-initialize and set what you need.
 */
struct gy_tracking_search {
    /** Run search only: experiments to search; 0 ids means every experiment (MLflow
     * answers an empty list with no runs: the REST handler should do that itself). */
    const int64_t *experiment_ids;
    size_t nexperiment_ids;
    const char *filter; /* NULL or "": no filter */
    const char *const *order_by;
    size_t norder_by;
    enum gy_tracking_view view; /* 0: ACTIVE_ONLY */
    /** 0: GY_TRACKING_SEARCH_DEFAULT; negative or above GY_TRACKING_SEARCH_MAX: GY_E_INVALID. */
    int64_t max_results;
    const char *page_token; /* NULL or "": the first page; else a next_page_token returned */
};

/* ------------------------------------------------------------------ experiments */

/** Parses an experiment id from the wire (a decimal string >= 0); GY_E_INVALID otherwise. */
enum gy_status gy_tracking_experiment_id_parse(const char *s, int64_t *out);

/**
 * Creates an experiment. @p name: non-empty, at most GY_TRACKING_NAME_MAX bytes, unique
 * among all experiments including deleted ones (GY_E_EXISTS otherwise, with MLflow's text
 * "Experiment(name=X) already exists."). @p artifact_location: NULL or "" for the default
 * "mlflow-artifacts:/<id>"; artifacts always live in the data home, so any other value is
 * GY_E_INVALID (a client never chooses a server location). @p tags (may be NULL when
 * @p ntags is 0) are validated like gy_tracking_experiment_tag_set. *id gets the new id.
 */
enum gy_status gy_tracking_experiment_create(struct gy_db *db, const char *name,
                                             const char *artifact_location,
                                             const struct gy_tracking_tag *tags, size_t ntags,
                                             int64_t *id);

/**
 * The id of the experiment named @p name, preferring an active one. GY_NOT_FOUND when
 * none. When @p active is not NULL it gets 1 for an active experiment, 0 for a deleted one.
 */
enum gy_status gy_tracking_experiment_id_by_name(struct gy_db *db, const char *name, int64_t *id,
                                                 int *active);

/**
 * The id of the active experiment @p name, creating it when missing (safe against a
 * concurrent creator). GY_E_INVALID when the experiment exists but is deleted.
 */
enum gy_status gy_tracking_experiment_ensure(struct gy_db *db, const char *name, int64_t *id);

/**
 * MLflow Experiment JSON: {"experiment_id": "1", "name", "artifact_location",
 * "lifecycle_stage": "active"|"deleted", "last_update_time", "creation_time",
 * "tags": [{"key","value"}]} (tags omitted when none). Works on deleted experiments.
 * *out new (json_decref); GY_NOT_FOUND with "No Experiment with id=X exists".
 */
enum gy_status gy_tracking_experiment_get(struct gy_db *db, int64_t id, json_t **out);

/** The same by name (an active one preferred over deleted ones). GY_NOT_FOUND when none. */
enum gy_status gy_tracking_experiment_get_by_name(struct gy_db *db, const char *name, json_t **out);

/**
 * Searches experiments: filter over attributes name (=, !=, LIKE, ILIKE), creation_time and
 * last_update_time (numeric comparators), and tags.<key> (=, !=, LIKE, ILIKE); order_by
 * "name", "experiment_id", "creation_time", "last_update_time" each with ASC (default) or
 * DESC; default order creation_time DESC, experiment_id ASC; experiment_id DESC breaks ties.
 * *out new: {"experiments": [...], "next_page_token": "..."} (each key omitted when empty;
 * the token only when more results may follow). experiment_ids in @p s is ignored.
 */
enum gy_status gy_tracking_experiment_search(struct gy_db *db, const struct gy_tracking_search *s,
                                             json_t **out);

/** Renames an experiment (MLflow experiments/update). GY_E_EXISTS when the name is taken. */
enum gy_status gy_tracking_experiment_rename(struct gy_db *db, int64_t id, const char *new_name);

/**
 * Soft delete: lifecycle_stage becomes "deleted" (the name stays reserved) and so do the
 * experiment's active runs. GY_NOT_FOUND for an unknown id; deleting a deleted experiment is
 * GY_E_INVALID like MLflow.
 */
enum gy_status gy_tracking_experiment_delete(struct gy_db *db, int64_t id);

/** Restores a deleted experiment and the runs its deletion deleted. */
enum gy_status gy_tracking_experiment_restore(struct gy_db *db, int64_t id);

/** Sets (overwrites) an experiment tag. The experiment must be active. */
enum gy_status gy_tracking_experiment_tag_set(struct gy_db *db, int64_t id, const char *key,
                                              const char *value);

/** Deletes an experiment tag. GY_NOT_FOUND when the tag does not exist. */
enum gy_status gy_tracking_experiment_tag_delete(struct gy_db *db, int64_t id, const char *key);

/* ------------------------------------------------------------------ runs */

/** Arguments of gy_tracking_run_create. Borrowed; zero-initialize and set what you need. */
struct gy_tracking_run_create {
    int64_t experiment_id; /* must be active */
    /**
     * NULL or "": taken from the tag mlflow.runName when given, else generated
     * ("bold-heron-417"). When both are given they must agree. The run always carries the
     * tag mlflow.runName equal to its name, as MLflow does.
     */
    const char *run_name;
    const char *user_id;   /* may be NULL */
    int64_t start_time_ms; /* <= 0: now */
    const struct gy_tracking_tag *tags;
    size_t ntags;
};

/**
 * Creates a run with status RUNNING in an active experiment. @p run_id gets its id (32 hex
 * digits and a NUL). GY_NOT_FOUND for an unknown experiment, GY_E_INVALID for a deleted one
 * or bad tags.
 */
enum gy_status gy_tracking_run_create(struct gy_db *db, const struct gy_tracking_run_create *c,
                                      char run_id[GY_TRACKING_RUN_ID_LEN + 1]);

/** True when @p s is a well-formed run id (32 lowercase hex digits). */
int gy_tracking_run_id_valid(const char *s);

/**
 * MLflow Run JSON: {"info": {"run_id", "run_uuid", "run_name", "experiment_id", "user_id",
 * "status", "start_time", "end_time", "artifact_uri", "lifecycle_stage"}, "data": {"metrics":
 * [{"key","value","timestamp","step"}] (latest per key), "params": [{"key","value"}],
 * "tags": [...]}, "inputs": {"dataset_inputs": [...]}}. Unset fields and empty lists are
 * omitted; NaN values are the string "NaN" (protobuf JSON). Works on deleted runs.
 * *out new; GY_NOT_FOUND with "Run with id=X not found" (also for a malformed id).
 */
enum gy_status gy_tracking_run_get(struct gy_db *db, const char *run_id, json_t **out);

/** Changes to apply with gy_tracking_run_update. Zero-initialize; set what changes. */
struct gy_tracking_run_update {
    enum gy_tracking_run_status status; /* 0: unchanged */
    int set_end_time;                   /* nonzero: set end_time_ms */
    int64_t end_time_ms;
    const char *run_name; /* NULL or "": unchanged; else also sets tag mlflow.runName */
};

/**
 * Updates a run (MLflow runs/update). The run must be active. When @p run_info is not NULL
 * it gets the updated RunInfo JSON (new).
 */
enum gy_status gy_tracking_run_update(struct gy_db *db, const char *run_id,
                                      const struct gy_tracking_run_update *u, json_t **run_info);

/** Soft-deletes a run (lifecycle_stage "deleted", deleted time recorded). */
enum gy_status gy_tracking_run_delete(struct gy_db *db, const char *run_id);

/** Restores a soft-deleted run. */
enum gy_status gy_tracking_run_restore(struct gy_db *db, const char *run_id);

/**
 * The run's experiment id and artifact URI (artifact_uri may be NULL; when not, *artifact_uri
 * is new, gy_free). GY_NOT_FOUND for an unknown run. Cheap: for handlers and the CLI.
 */
enum gy_status gy_tracking_run_experiment(struct gy_db *db, const char *run_id,
                                          int64_t *experiment_id, char **artifact_uri);

/**
 * Logs one param. Params are write-once: logging the same value again is fine; a different
 * value is GY_E_INVALID with MLflow's text "Changing param values is not allowed. Param with
 * key='k' was already logged with value='a' for run ID='r'. Attempted logging new value
 * 'b'.". Key: see gy_tracking_key_check; value at most GY_TRACKING_PARAM_VALUE_MAX bytes.
 * The run must be active.
 */
enum gy_status gy_tracking_param_log(struct gy_db *db, const char *run_id, const char *key,
                                     const char *value);

/**
 * Appends one metric point (an identical point, same key, value, timestamp and step, is
 * stored once, as MLflow does) and updates the run's latest value for the key when the new
 * point's (step, timestamp, value) tuple is larger (NaN compares as 0, as in MLflow's store).
 */
enum gy_status gy_tracking_metric_log(struct gy_db *db, const char *run_id,
                                      const struct gy_tracking_metric *m);

/**
 * Sets (overwrites) a run tag; value at most GY_TRACKING_TAG_VALUE_MAX bytes. Setting
 * "mlflow.runName" renames the run, as in MLflow. The run must be active.
 */
enum gy_status gy_tracking_run_tag_set(struct gy_db *db, const char *run_id, const char *key,
                                       const char *value);

/** Deletes a run tag. GY_NOT_FOUND when the run has no such tag. */
enum gy_status gy_tracking_run_tag_delete(struct gy_db *db, const char *run_id, const char *key);

/**
 * MLflow log-batch, all or nothing: validates everything first (counts against the
 * GY_TRACKING_BATCH_* limits -> GY_E_TOO_LARGE; keys and values -> GY_E_INVALID; a param
 * already logged with another value, or given twice with different values -> GY_E_INVALID),
 * then writes params, tags (duplicates: the last wins) and metrics in one transaction with
 * multi-row statements. Any of the arrays may be NULL when its count is 0.
 */
enum gy_status gy_tracking_log_batch(struct gy_db *db, const char *run_id,
                                     const struct gy_tracking_metric *metrics, size_t nmetrics,
                                     const struct gy_tracking_tag *params, size_t nparams,
                                     const struct gy_tracking_tag *tags, size_t ntags);

/**
 * Metric history (MLflow metrics/get-history): every point of @p key for the run, ordered
 * by step, then timestamp, then value. @p max_results 0: all points; otherwise a page of that
 * many, continued with @p page_token (NULL or "" for the first page). *out new:
 * {"metrics": [{"key","value","timestamp","step"}], "next_page_token"?}. An unknown key gives
 * an empty object; an unknown run GY_NOT_FOUND.
 */
enum gy_status gy_tracking_metric_history(struct gy_db *db, const char *run_id, const char *key,
                                          int64_t max_results, const char *page_token,
                                          json_t **out);

/**
 * Checks a param, metric or tag key like MLflow: non-empty, at most GY_TRACKING_KEY_MAX bytes,
 * only letters, digits, '_', '-', '.', ' ', '/', ':' (and non-ASCII UTF-8 letters), and no
 * empty, "." or ".." path segment. GY_E_INVALID naming @p what ("param", "metric", "tag").
 */
enum gy_status gy_tracking_key_check(const char *what, const char *key);

/* ------------------------------------------------------------------ run search */

/**
 * Searches runs (MLflow runs/search). Filter grammar: `cond (AND cond)*`, cond = identifier
 * comparator value; identifiers metrics.<k>, params.<k>, tags.<k>, attributes.<name>,
 * datasets.<name|digest|context> with MLflow's spellings and quoting ("..." or backticks);
 * see docs/internals/tracking.md. LIKE is case-sensitive and ILIKE case-insensitive on both
 * backends. order_by: "<identifier> [ASC|DESC]" entries; default start_time DESC; ties are
 * broken by start_time DESC then run_id. Metrics order non-NaN values first, then NaN, then
 * runs lacking the metric, in either direction (as MLflow does).
 * *out new: {"runs": [Run...], "next_page_token"?}. A bad filter or order_by is
 * GY_E_INVALID with "filter: at column N: ..." (1-based) in the error text.
 */
enum gy_status gy_tracking_run_search(struct gy_db *db, const struct gy_tracking_search *s,
                                      json_t **out);

/** Where an identifier in a filter or order_by points. */
enum gy_tracking_entity {
    GY_TRACKING_ENT_ATTRIBUTE = 1,
    GY_TRACKING_ENT_METRIC = 2,
    GY_TRACKING_ENT_PARAM = 3,
    GY_TRACKING_ENT_TAG = 4,
    GY_TRACKING_ENT_DATASET = 5,
};

enum gy_tracking_op {
    GY_TRACKING_OP_EQ = 1,
    GY_TRACKING_OP_NE = 2,
    GY_TRACKING_OP_LT = 3,
    GY_TRACKING_OP_LE = 4,
    GY_TRACKING_OP_GT = 5,
    GY_TRACKING_OP_GE = 6,
    GY_TRACKING_OP_LIKE = 7,
    GY_TRACKING_OP_ILIKE = 8,
    GY_TRACKING_OP_IN = 9,
    GY_TRACKING_OP_NOT_IN = 10,
};

/** The SQL spelling of an operator ("=", "!=", "LIKE", "NOT IN", ...) (static). */
const char *gy_tracking_op_str(enum gy_tracking_op op);

/** One condition of a parsed filter. All strings belong to the filter. */
struct gy_tracking_cond {
    enum gy_tracking_entity entity;
    char *key; /* the identifier after the prefix, unquoted ("rmse", "user-name", "run_name") */
    enum gy_tracking_op op;
    int is_num; /* the value is a numeric literal (num), else a string (str) or a list */
    double num;
    char *str;   /* string value (NULL for numbers and lists) */
    char **list; /* IN / NOT IN values */
    size_t nlist;
    size_t pos; /* byte offset of the condition in the filter text */
};

/** A parsed filter: conditions joined by AND. */
struct gy_tracking_filter {
    struct gy_tracking_cond *conds;
    size_t n;
};

/**
 * Parses MLflow filter text into conditions (syntax only: entity-specific checks of keys,
 * operators and value types happen in each search). NULL or blank text gives an empty filter.
 * On error GY_E_INVALID with "filter: at column N: expected ..., found ..." (N 1-based;
 * cond->pos is the 0-based offset) and *out NULL.
 * *out new (gy_tracking_filter_free). Attribute names are normalized: "run name" and
 * "Run name" become run_name, "created" becomes start_time; prefixes metric/metrics,
 * param/params/parameter/parameters, tag/tags, attribute/attributes/attr/run,
 * dataset/datasets are case-insensitive, as are AND, LIKE, ILIKE, IN and NOT.
 */
enum gy_status gy_tracking_filter_parse(const char *text, struct gy_tracking_filter **out);

/** Frees a parsed filter. NULL is a no-op. */
void gy_tracking_filter_free(struct gy_tracking_filter *f);

/** One parsed order_by entry. */
struct gy_tracking_order {
    enum gy_tracking_entity entity;
    char *key; /* new (gy_free) */
    int desc;  /* 1 for DESC */
};

/**
 * Parses one order_by entry ("metrics.rmse DESC", "params.x", "start_time",
 * "attributes.run_name ASC", "tags.`a b` desc"). Unprefixed names are attributes.
 * GY_E_INVALID with the position on error. out->key is new (gy_free) on success.
 */
enum gy_status gy_tracking_order_parse(const char *text, struct gy_tracking_order *out);

/**
 * Translates a LIKE pattern ('%' any run, '_' one character, no escape character) into an
 * equivalent SQLite GLOB pattern, so a case-sensitive LIKE can be run on SQLite, whose LIKE
 * ignores ASCII case. *out new (gy_free).
 */
enum gy_status gy_tracking_like_to_glob(const char *like, char **out);

/**
 * Appends to @p sql a predicate matching @p expr (a SQL expression) against parameter
 * $<param> for @p op = GY_TRACKING_OP_LIKE (case-sensitive) or GY_TRACKING_OP_ILIKE
 * (case-insensitive) on the backend @p kind, and sets *pattern to the text to bind as that
 * parameter (new, gy_free; the GLOB translation on SQLite for LIKE). Shared with the registry
 * searches so LIKE means the same everywhere.
 */
enum gy_status gy_tracking_sql_like(enum gy_db_kind kind, const char *expr, enum gy_tracking_op op,
                                    const char *pattern, int param, struct gy_buf *sql,
                                    char **bound);

/* ------------------------------------------------------------------ artifacts */

/**
 * Validates a relative artifact path (already percent-decoded once by the HTTP layer):
 * rejects empty paths, absolute paths, drive letters ("C:"), backslashes, NUL and control
 * characters, ';', '#', '?', '%' (a leftover escape means double encoding), empty, "." and
 * ".." segments, a trailing '/', invalid UTF-8 and more than GY_TRACKING_ARTIFACT_PATH_MAX
 * bytes. GY_E_INVALID naming what is wrong. @p allow_empty accepts "" (the root, for listing).
 */
enum gy_status gy_tracking_artifact_path_check(const char *path, int allow_empty);

/**
 * Stores @p len bytes as an object (gy_db_object_put) and records it as artifact @p path of
 * the run, replacing an earlier file at that path. A path that is a directory of existing
 * artifacts (or whose prefix is a file) is GY_E_INVALID. The run must exist.
 */
enum gy_status gy_tracking_artifact_put(struct gy_db *db, const char *run_id, const char *path,
                                        const void *data, size_t len);

/**
 * Records an object that is already in the object store (a model bundle written by the
 * trainer) as artifact @p path. @p hex must name an existing object; its size is read from
 * the object store.
 */
enum gy_status gy_tracking_artifact_put_object(struct gy_db *db, const char *run_id,
                                               const char *path, const char *hex);

/**
 * Looks up a file artifact: @p hex gets its object name, *size its size in bytes (@p size
 * may be NULL). Stream it with gy_db_object_path or read it with
 * gy_db_object_get. GY_NOT_FOUND when the run has no file at @p path.
 */
enum gy_status gy_tracking_artifact_stat(struct gy_db *db, const char *run_id, const char *path,
                                         char hex[GY_SHA256_HEX_LEN + 1], int64_t *size);

/** Reads a file artifact's bytes into @p out (appending; verified against its hash). */
enum gy_status gy_tracking_artifact_get(struct gy_db *db, const char *run_id, const char *path,
                                        struct gy_buf *out);

/**
 * Lists the direct children of directory @p path ("" or NULL for the root), MLflow
 * artifacts/list: *out new {"root_uri": the run's artifact_uri, "files": [{"path":
 * "dir/file", "is_dir": false, "file_size": N}, {"path": "dir/sub", "is_dir": true}]}
 * sorted by path; "files" omitted when empty (also when @p path is a file or absent).
 */
enum gy_status gy_tracking_artifact_list(struct gy_db *db, const char *run_id, const char *path,
                                         json_t **out);

/**
 * Deletes the file at @p path, or every file under it when it is a directory. GY_NOT_FOUND
 * when nothing matched. The objects themselves stay (they may be shared).
 */
enum gy_status gy_tracking_artifact_delete(struct gy_db *db, const char *run_id, const char *path);

/**
 * Splits a path of MLflow's artifact proxy ("<experiment_id>/<run_id>/artifacts/<rel>", the
 * part after /api/2.0/mlflow-artifacts/artifacts/) into the run id and the relative path,
 * checking that the run belongs to that experiment. @p rel gets a pointer into @p path
 * ("" when the path ends at "artifacts"). GY_E_INVALID for any other shape or a bad path,
 * GY_NOT_FOUND for an unknown run or experiment mismatch.
 */
enum gy_status gy_tracking_artifact_proxy_path(struct gy_db *db, const char *path,
                                               char run_id[GY_TRACKING_RUN_ID_LEN + 1],
                                               const char **rel);

/* ------------------------------------------------------------------ dataset inputs */

/** One MLflow DatasetInput. Borrowed. name, digest, source_type and source are required. */
struct gy_tracking_dataset_input {
    const char *name;
    const char *digest;
    const char *source_type;
    const char *source;
    const char *schema;                 /* may be NULL */
    const char *profile;                /* may be NULL */
    const struct gy_tracking_tag *tags; /* input tags, e.g. mlflow.data.context = training */
    size_t ntags;
};

/**
 * Records dataset inputs of a run (MLflow runs/log-inputs). A dataset is identified per
 * experiment by (name, digest); logging the same input twice is a no-op apart from tags,
 * which are set (overwritten).
 */
enum gy_status gy_tracking_log_inputs(struct gy_db *db, const char *run_id,
                                      const struct gy_tracking_dataset_input *inputs, size_t n);

/**
 * Records gyre dataset lineage: an input with name @p dataset, source_type "gyre", source
 * "NAME@VERSION", digest @p digest (NULL: the first 16 hex digits of SHA-256 of
 * "NAME@VERSION") and tag mlflow.data.context = @p context (NULL: "training").
 */
enum gy_status gy_tracking_log_dataset(struct gy_db *db, const char *run_id, const char *dataset,
                                       int64_t version, const char *digest, const char *context);

#endif /* GY_TRACKING_H */
