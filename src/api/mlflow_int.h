/* SPDX-License-Identifier: MIT */
/**
 * mlflow_int.h - private interface of the MLflow REST API module (src/api/mlflow*.c): the
 * request message (a JSON body and/or query parameters, read through typed accessors that
 * speak MLflow's proto-JSON rules), the parsers of the larger request messages, the artifact
 * proxy path check, the error mapping, and the handler plumbing shared by mlflow.c (tracking,
 * artifacts, the route table) and mlflow_registry.c (registered models and versions).
 *
 * The parsers and checks here are pure: they touch no database and no HTTP connection, so
 * tests/unit/api and tests/fuzz/fuzz_mlflow.c drive them directly.
 */
#ifndef GY_API_MLFLOW_INT_H
#define GY_API_MLFLOW_INT_H

#include "api/api.h"
#include "registry/registry.h"
#include "tracking/tracking.h"

/* ------------------------------------------------------------------ request messages */

/**
 * One request message. Fields are looked up in the JSON body first (POST, PATCH, DELETE)
 * and then in the query parameters (GET, DELETE), so a DELETE may use either. Everything is
 * borrowed from the request (or, in tests, from the caller) and from @c arena.
 */
struct gy__mlflow_msg {
    const json_t *body;      /**< a JSON object, or NULL for none */
    const char *const *qkey; /**< decoded query keys, in request order */
    const char *const *qval; /**< ... and their values */
    size_t nq;
    struct gy_arena *arena; /**< arrays built by the parsers live here */
};

/** Accessor flag: the field must be present and non-empty (MLflow's _assert_required). */
#define GY__MLFLOW_REQUIRED 1u

/**
 * Parses a request body into *json (new; the caller json_decrefs it, also on error) and sets
 * m->body. An empty or all-blank body leaves m->body NULL (an empty message, as MLflow reads
 * it). A body that is a JSON string holding JSON is decoded a second time, as MLflow does for
 * old clients. Anything but an object is GY_E_INVALID.
 */
enum gy_status gy__mlflow_msg_body(struct gy__mlflow_msg *m, const char *body, size_t len,
                                   json_t **json);

/**
 * A string field. *out is NULL when the field is absent (or JSON null). A non-string value is
 * GY_E_INVALID "Invalid value ... for parameter 'key' supplied"; a missing or empty required
 * one is GY_E_INVALID "Missing value for required parameter 'key'".
 */
enum gy_status gy__mlflow_str(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                              const char **out);

/** An id field (experiment_id, run_id, version): a string, or a JSON integer (as text). */
enum gy_status gy__mlflow_id(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                             const char **out);

/** The run id of a run message: run_id, else the deprecated run_uuid; required. */
enum gy_status gy__mlflow_run_id(const struct gy__mlflow_msg *m, const char **out);

/**
 * An int64 field: a JSON integer, an integral JSON real, or a decimal string (proto JSON and
 * query strings). *set is 1 when present; *out is left alone when absent.
 */
enum gy_status gy__mlflow_int64(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                                int64_t *out, int *set);

/** A double field: a JSON number, or a string "NaN", "Infinity", "-Infinity" or a decimal. */
enum gy_status gy__mlflow_double(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                                 double *out, int *set);

/** A bool field: JSON true/false, or "true"/"false" in any case (query strings). */
enum gy_status gy__mlflow_bool(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                               int *out, int *set);

/**
 * A repeated string field: a JSON array of strings (integers accepted as ids), a single
 * string, or every value of a repeated query key. *out (arena) is NULL when *n is 0.
 * More than @p max entries is GY_E_INVALID.
 */
enum gy_status gy__mlflow_strs(const struct gy__mlflow_msg *m, const char *key, size_t max,
                               const char *const **out, size_t *n);

/**
 * A repeated key/value field (tags, params) of the body: a JSON array of objects {"key",
 * "value"}; key required, value a string (absent: ""). More than @p max entries is
 * GY_E_INVALID. *out (arena) is NULL when *n is 0.
 */
enum gy_status gy__mlflow_tags(const struct gy__mlflow_msg *m, const char *key, size_t max,
                               struct gy_tracking_tag **out, size_t *n);

/* ------------------------------------------------------------------ message parsers */

/**
 * experiments/search and the legacy experiments/list: filter, order_by, max_results,
 * page_token, view_type (a name or its number).
 */
enum gy_status gy__mlflow_parse_experiment_search(const struct gy__mlflow_msg *m,
                                                  struct gy_tracking_search *out);

/**
 * runs/search: experiment_ids, filter, run_view_type, max_results, order_by, page_token.
 * experiment_ids are parsed into an arena array of int64.
 */
enum gy_status gy__mlflow_parse_run_search(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_search *out);

/** registered-models/search and model-versions/search: filter, max_results, order_by, token. */
enum gy_status gy__mlflow_parse_registry_search(const struct gy__mlflow_msg *m,
                                                struct gy_registry_search *out);

/** runs/create: experiment_id (absent: the Default experiment), user_id, run_name,
 * start_time, tags. */
enum gy_status gy__mlflow_parse_run_create(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_run_create *out);

/** runs/update: status (a name or its number), end_time, run_name. */
enum gy_status gy__mlflow_parse_run_update(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_run_update *out);

/** runs/log-metric: key, value, timestamp (all required), step (default 0). */
enum gy_status gy__mlflow_parse_metric(const struct gy__mlflow_msg *m,
                                       struct gy_tracking_metric *out);

/** A parsed runs/log-batch message (arrays in the message's arena). */
struct gy__mlflow_batch {
    struct gy_tracking_metric *metrics;
    size_t nmetrics;
    struct gy_tracking_tag *params;
    size_t nparams;
    struct gy_tracking_tag *tags;
    size_t ntags;
};

/**
 * runs/log-batch: metrics [{key, value, timestamp, step}], params and tags [{key, value}].
 * Counts past the GY_TRACKING_BATCH_* limits are refused before anything is allocated.
 */
enum gy_status gy__mlflow_parse_log_batch(const struct gy__mlflow_msg *m,
                                          struct gy__mlflow_batch *out);

/** Most dataset inputs accepted in one runs/log-inputs request. */
#define GY__MLFLOW_INPUTS_MAX 1000

/** runs/log-inputs: datasets [{tags [...], dataset {name, digest, source_type, source,
 * schema, profile}}]. */
enum gy_status gy__mlflow_parse_log_inputs(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_dataset_input **out, size_t *n);

/** model-versions/create: name, source (required), run_id, run_link, description, tags. */
enum gy_status gy__mlflow_parse_version_create(const struct gy__mlflow_msg *m,
                                               struct gy_registry_version_create *out);

/* ------------------------------------------------------------------ artifact paths */

/**
 * Checks a path of the artifact proxy, "<experiment_id>/<run_id>/artifacts[/<relpath>]",
 * before anything reaches the store. @p raw is the text as sent (NULL when it came from a
 * query parameter, which the HTTP layer decoded once); @p decoded is the %-decoded text.
 * In @p raw: "%25" (double encoding), an encoded '/' or '\\', a '\\', ';' or '#' are refused;
 * in @p decoded: everything gy_tracking_artifact_path_check refuses (.., ., empty segments,
 * absolute paths, drive letters, '\\', ';', '#', '?', leftover '%', control characters, NUL,
 * bad UTF-8), then the shape. On success *experiment_id, @p run_id and *rel (a pointer into
 * @p decoded, "" for the run's artifact root) are set. GY_E_INVALID otherwise.
 */
enum gy_status gy__mlflow_proxy_path(const char *raw, const char *decoded, int64_t *experiment_id,
                                     char run_id[GY_TRACKING_RUN_ID_LEN + 1], const char **rel);

/* ------------------------------------------------------------------ errors */

/**
 * MLflow's error code and HTTP status for a gyre status: GY_NOT_FOUND
 * RESOURCE_DOES_NOT_EXIST 404, GY_E_EXISTS RESOURCE_ALREADY_EXISTS 400, GY_E_INVALID,
 * GY_E_TOO_LARGE, GY_E_SCHEMA, GY_E_UNSUPPORTED INVALID_PARAMETER_VALUE 400, GY_E_CONFLICT
 * RESOURCE_CONFLICT 409, GY_E_PERM PERMISSION_DENIED 403, GY_E_BUSY and GY_AGAIN
 * TEMPORARILY_UNAVAILABLE 503, anything else INTERNAL_ERROR 500. Returns a static string.
 */
const char *gy__mlflow_error_code(enum gy_status s, int *http_status);

/**
 * Fills @p resp with MLflow's error body {"error_code", "message"} (bytes of @p msg that are
 * not valid UTF-8 become '?'), plus Retry-After for 503. Returns the status of the fill.
 */
enum gy_status gy__mlflow_resp_error(struct gy_http_resp *resp, int http_status, const char *code,
                                     const char *msg);

/* ------------------------------------------------------------------ handlers */

/** What every handler gets: the request, its response, the app and the parsed message. */
struct gy__mlflow_call {
    struct gy_http_req *req;
    struct gy_http_resp *resp;
    struct gy_api *api;
    struct gy__mlflow_msg msg;
};

typedef enum gy_status (*gy__mlflow_fn)(struct gy__mlflow_call *c);

/** Flags of gy__mlflow_serve. */
enum {
    GY__MLFLOW_RAW_BODY = 1u << 0, /**< the body is not a JSON message (artifact uploads) */
};

/**
 * Runs one MLflow handler: builds the message (JSON body with MLflow's Content-Type rule,
 * query parameters for GET and DELETE), calls @p fn, and answers {} when @p fn sent nothing,
 * or MLflow's error body when it failed without sending a response.
 */
enum gy_status gy__mlflow_serve(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx,
                                gy__mlflow_fn fn, unsigned flags);

/** Sends {"<key>": obj} with status 200 (takes @p obj). */
enum gy_status gy__mlflow_send(struct gy__mlflow_call *c, const char *key, json_t *obj);

/**
 * Defines an HTTP handler @p name that runs the static function name_impl through
 * gy__mlflow_serve; the body of the macro's use is that function's body:
 *
 *     GY__MLFLOW_HANDLER(static, h_get, 0)
 *     {
 *         ... c->msg, c->resp ...
 *     }
 */
#define GY__MLFLOW_HANDLER(linkage, name, flags)                                                   \
    static enum gy_status name##_impl(struct gy__mlflow_call *c);                                  \
    linkage enum gy_status name(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)     \
    {                                                                                              \
        return gy__mlflow_serve(req, resp, ctx, name##_impl, flags);                               \
    }                                                                                              \
    static enum gy_status name##_impl(struct gy__mlflow_call *c)

/* Registry handlers (mlflow_registry.c), listed in the route table of mlflow.c. */
#define GY__MLFLOW_DECLARE(name)                                                                   \
    enum gy_status name(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
GY__MLFLOW_DECLARE(gy__mlflow_model_create);
GY__MLFLOW_DECLARE(gy__mlflow_model_get);
GY__MLFLOW_DECLARE(gy__mlflow_model_rename);
GY__MLFLOW_DECLARE(gy__mlflow_model_update);
GY__MLFLOW_DECLARE(gy__mlflow_model_delete);
GY__MLFLOW_DECLARE(gy__mlflow_model_search);
GY__MLFLOW_DECLARE(gy__mlflow_model_latest);
GY__MLFLOW_DECLARE(gy__mlflow_model_tag_set);
GY__MLFLOW_DECLARE(gy__mlflow_model_tag_delete);
GY__MLFLOW_DECLARE(gy__mlflow_alias_set);
GY__MLFLOW_DECLARE(gy__mlflow_alias_delete);
GY__MLFLOW_DECLARE(gy__mlflow_alias_get);
GY__MLFLOW_DECLARE(gy__mlflow_version_create);
GY__MLFLOW_DECLARE(gy__mlflow_version_get);
GY__MLFLOW_DECLARE(gy__mlflow_version_update);
GY__MLFLOW_DECLARE(gy__mlflow_version_delete);
GY__MLFLOW_DECLARE(gy__mlflow_version_search);
GY__MLFLOW_DECLARE(gy__mlflow_version_stage);
GY__MLFLOW_DECLARE(gy__mlflow_version_tag_set);
GY__MLFLOW_DECLARE(gy__mlflow_version_tag_delete);
GY__MLFLOW_DECLARE(gy__mlflow_version_download_uri);

/* Artifact handlers (mlflow_artifacts.c): artifacts/list and the mlflow-artifacts proxy. */
GY__MLFLOW_DECLARE(gy__mlflow_artifacts_list);
GY__MLFLOW_DECLARE(gy__mlflow_proxy_list);
GY__MLFLOW_DECLARE(gy__mlflow_proxy_download);
GY__MLFLOW_DECLARE(gy__mlflow_proxy_upload);
GY__MLFLOW_DECLARE(gy__mlflow_proxy_delete);

#endif /* GY_API_MLFLOW_INT_H */
