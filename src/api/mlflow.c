/* SPDX-License-Identifier: MIT */
/*
 * mlflow.c - the MLflow REST API 2.0 under /api/2.0/mlflow/ (experiments, runs, metric
 * history) and the one route table of the MLflow module, which also lists the registry
 * handlers of mlflow_registry.c and the artifact handlers of mlflow_artifacts.c; plus the
 * handler plumbing (gy__mlflow_serve: message building, MLflow's Content-Type rule, {} for
 * empty answers, MLflow's {"error_code", "message"} errors) and gy_api_mlflow_error_writer,
 * which gives the server's own errors under /api/2.0/mlflow the same shape. The handlers are
 * thin: src/tracking and src/registry already answer in MLflow's JSON shapes. Users' guide:
 * docs/mlflow.md.
 */
#include "api/mlflow_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ plumbing */

static void json_release(void *p)
{
    json_decref(p);
}

/* The query parameters as the message's key and value arrays. */
static enum gy_status msg_query(struct gy__mlflow_call *c)
{
    size_t n = gy_http_req_query_count(c->req);
    const char **k, **v;
    if (n == 0)
        return GY_OK;
    k = gy_arena_alloc(c->msg.arena, n * sizeof *k);
    v = gy_arena_alloc(c->msg.arena, n * sizeof *v);
    if (!k || !v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        gy_http_req_query_at(c->req, i, &k[i], &v[i]);
    c->msg.qkey = k;
    c->msg.qval = v;
    c->msg.nq = n;
    return GY_OK;
}

/*
 * MLflow's _validate_content_type: a POST must say Content-Type: application/json (a
 * cross-site form cannot, so this also keeps browsers from posting to a local server).
 */
static enum gy_status check_content_type(struct gy__mlflow_call *c)
{
    const char *ct = gy_http_req_header(c->req, "Content-Type");
    size_t n;
    if (!ct)
        return gy_error_set(GY_E_INVALID, "Bad Request. Content-Type header is missing.");
    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n != 16 || strncasecmp(ct, "application/json", 16) != 0)
        return gy_error_set(GY_E_INVALID,
                            "Bad Request. Content-Type must be one of ['application/json'], not "
                            "'%.100s'.",
                            ct);
    return GY_OK;
}

static enum gy_status msg_build(struct gy__mlflow_call *c, unsigned flags)
{
    const char *method = gy_http_req_method(c->req);
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int del = strcmp(method, "DELETE") == 0;
    enum gy_status rc;

    c->msg.arena = gy_http_req_arena(c->req);
    if ((get || del) && (rc = msg_query(c)))
        return rc;
    if (get || (flags & GY__MLFLOW_RAW_BODY))
        return GY_OK;
    if (strcmp(method, "POST") == 0 && (rc = check_content_type(c)))
        return rc;
    {
        size_t len;
        const char *body = gy_http_req_body(c->req, &len);
        json_t *json = NULL;
        rc = gy__mlflow_msg_body(&c->msg, body, len, &json);
        if (json && gy_arena_cleanup_add(c->msg.arena, json_release, json)) {
            json_decref(json);
            c->msg.body = NULL;
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
    }
    return rc;
}

enum gy_status gy__mlflow_serve(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx,
                                gy__mlflow_fn fn, unsigned flags)
{
    struct gy__mlflow_call c;
    enum gy_status rc;

    memset(&c, 0, sizeof c);
    c.req = req;
    c.resp = resp;
    c.api = ctx;
    rc = msg_build(&c, flags);
    if (rc == GY_OK)
        rc = fn(&c);
    if (rc != GY_OK) {
        /* The handle may be broken (a PostgreSQL restart): the next request opens a new one. */
        if (rc == GY_E_DB)
            gy_api_db_reset(c.api);
        if (!gy_http_resp_is_set(resp)) {
            int status;
            const char *code = gy__mlflow_error_code(rc, &status);
            const char *msg = gy_error_msg();
            gy__mlflow_resp_error(resp, status, code, *msg ? msg : gy_status_str(rc));
        }
        return rc;
    }
    if (!gy_http_resp_is_set(resp))
        return gy_http_resp_json(resp, 200, json_object());
    return GY_OK;
}

enum gy_status gy__mlflow_send(struct gy__mlflow_call *c, const char *key, json_t *obj)
{
    json_t *o;
    if (!obj)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    o = json_object();
    if (!o || json_object_set_new(o, key, obj)) {
        json_decref(o);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    return gy_http_resp_json(c->resp, 200, o);
}

void gy_api_mlflow_error_writer(struct gy_http_req *req, struct gy_http_resp *resp, int http_status,
                                enum gy_status code, const char *msg, void *ctx)
{
    const char *ec;
    int ignored;
    GY_UNUSED(ctx);
    if (!gy_http_req_route(req) && (http_status == 404 || http_status == 405))
        ec = "ENDPOINT_NOT_FOUND"; /* no route for this path, or not with this method */
    else if (http_status == 401)
        ec = "UNAUTHENTICATED"; /* no valid credentials (403 stays PERMISSION_DENIED) */
    else if (http_status == 503)
        ec = "TEMPORARILY_UNAVAILABLE";
    else if (http_status >= 500)
        ec = "INTERNAL_ERROR";
    else if (http_status == 404)
        ec = "RESOURCE_DOES_NOT_EXIST";
    else if (http_status == 400 || http_status == 413 || http_status == 414 || http_status == 431)
        ec = "INVALID_PARAMETER_VALUE";
    else
        ec = gy__mlflow_error_code(code, &ignored);
    gy__mlflow_resp_error(resp, http_status, ec, msg);
}

/* ------------------------------------------------------------------ helpers */

static enum gy_status db_of(struct gy__mlflow_call *c, struct gy_db **db)
{
    return gy_api_db(c->api, db);
}

/* A required experiment id field (@p key) parsed to a number. */
static enum gy_status exp_id(struct gy__mlflow_call *c, const char *key, int64_t *id)
{
    const char *s;
    enum gy_status rc = gy__mlflow_id(&c->msg, key, GY__MLFLOW_REQUIRED, &s);
    if (rc)
        return rc;
    if (gy_tracking_experiment_id_parse(s, id))
        return gy_error_set(GY_E_INVALID,
                            "Invalid value '%.64s' for parameter '%s' supplied: an experiment id "
                            "is a decimal number.",
                            s, key);
    return GY_OK;
}

/* ------------------------------------------------------------------ experiments */

GY__MLFLOW_HANDLER(static, h_exp_create, 0)
{
    const char *name, *loc;
    struct gy_tracking_tag *tags;
    size_t ntags;
    struct gy_db *db;
    int64_t id;
    char buf[32];
    enum gy_status rc;

    if ((rc = gy__mlflow_str(&c->msg, "name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = gy__mlflow_str(&c->msg, "artifact_location", 0, &loc)) ||
        (rc = gy__mlflow_tags(&c->msg, "tags", 1000, &tags, &ntags)) || (rc = db_of(c, &db)) ||
        (rc = gy_tracking_experiment_create(db, name, loc, tags, ntags, &id)))
        return rc;
    snprintf(buf, sizeof buf, "%lld", (long long)id);
    return gy__mlflow_send(c, "experiment_id", json_string(buf));
}

GY__MLFLOW_HANDLER(static, h_exp_get, 0)
{
    struct gy_db *db;
    int64_t id;
    json_t *e;
    enum gy_status rc;
    if ((rc = exp_id(c, "experiment_id", &id)) || (rc = db_of(c, &db)) ||
        (rc = gy_tracking_experiment_get(db, id, &e)))
        return rc;
    return gy__mlflow_send(c, "experiment", e);
}

GY__MLFLOW_HANDLER(static, h_exp_get_by_name, 0)
{
    struct gy_db *db;
    const char *name;
    json_t *e;
    enum gy_status rc;
    if ((rc = gy__mlflow_str(&c->msg, "experiment_name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = db_of(c, &db)))
        return rc;
    rc = gy_tracking_experiment_get_by_name(db, name, &e);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(rc, "Could not find experiment with name '%s'", name);
    if (rc)
        return rc;
    return gy__mlflow_send(c, "experiment", e);
}

GY__MLFLOW_HANDLER(static, h_exp_search, 0)
{
    struct gy_tracking_search s;
    struct gy_db *db;
    json_t *out;
    enum gy_status rc;
    if ((rc = gy__mlflow_parse_experiment_search(&c->msg, &s)) || (rc = db_of(c, &db)) ||
        (rc = gy_tracking_experiment_search(db, &s, &out)))
        return rc;
    return gy_http_resp_json(c->resp, 200, out);
}

/* The legacy experiments/list (removed in MLflow 2.0, still called by the npm client). */
GY__MLFLOW_HANDLER(static, h_exp_list, 0)
{
    struct gy_tracking_search s;
    struct gy_db *db;
    json_t *out;
    enum gy_status rc;
    if ((rc = gy__mlflow_parse_experiment_search(&c->msg, &s)))
        return rc;
    s.filter = NULL;
    s.norder_by = 0;
    if (s.max_results == 0)
        s.max_results = GY_TRACKING_SEARCH_MAX; /* list returned everything */
    if ((rc = db_of(c, &db)) || (rc = gy_tracking_experiment_search(db, &s, &out)))
        return rc;
    return gy_http_resp_json(c->resp, 200, out);
}

GY__MLFLOW_HANDLER(static, h_exp_update, 0)
{
    struct gy_db *db;
    const char *name;
    int64_t id;
    enum gy_status rc;
    if ((rc = exp_id(c, "experiment_id", &id)) ||
        (rc = gy__mlflow_str(&c->msg, "new_name", GY__MLFLOW_REQUIRED, &name)) ||
        (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_experiment_rename(db, id, name);
}

GY__MLFLOW_HANDLER(static, h_exp_delete, 0)
{
    struct gy_db *db;
    int64_t id;
    enum gy_status rc;
    if ((rc = exp_id(c, "experiment_id", &id)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_experiment_delete(db, id);
}

GY__MLFLOW_HANDLER(static, h_exp_restore, 0)
{
    struct gy_db *db;
    int64_t id;
    enum gy_status rc;
    if ((rc = exp_id(c, "experiment_id", &id)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_experiment_restore(db, id);
}

GY__MLFLOW_HANDLER(static, h_exp_tag_set, 0)
{
    struct gy_db *db;
    const char *key, *value;
    int64_t id;
    enum gy_status rc;
    if ((rc = exp_id(c, "experiment_id", &id)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) ||
        (rc = gy__mlflow_str(&c->msg, "value", 0, &value)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_experiment_tag_set(db, id, key, value ? value : "");
}

GY__MLFLOW_HANDLER(static, h_exp_tag_delete, 0)
{
    struct gy_db *db;
    const char *key;
    int64_t id;
    enum gy_status rc;
    if ((rc = exp_id(c, "experiment_id", &id)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_experiment_tag_delete(db, id, key);
}

/* ------------------------------------------------------------------ runs */

GY__MLFLOW_HANDLER(static, h_run_create, 0)
{
    struct gy_tracking_run_create rc_args;
    char id[GY_TRACKING_RUN_ID_LEN + 1];
    struct gy_db *db;
    json_t *run;
    enum gy_status rc;
    if ((rc = gy__mlflow_parse_run_create(&c->msg, &rc_args)) || (rc = db_of(c, &db)) ||
        (rc = gy_tracking_run_create(db, &rc_args, id)) || (rc = gy_tracking_run_get(db, id, &run)))
        return rc;
    return gy__mlflow_send(c, "run", run);
}

GY__MLFLOW_HANDLER(static, h_run_update, 0)
{
    struct gy_tracking_run_update u;
    struct gy_db *db;
    const char *id;
    json_t *info = NULL;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) || (rc = gy__mlflow_parse_run_update(&c->msg, &u)) ||
        (rc = db_of(c, &db)) || (rc = gy_tracking_run_update(db, id, &u, &info)))
        return rc;
    return gy__mlflow_send(c, "run_info", info);
}

GY__MLFLOW_HANDLER(static, h_run_delete, 0)
{
    struct gy_db *db;
    const char *id;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_run_delete(db, id);
}

GY__MLFLOW_HANDLER(static, h_run_restore, 0)
{
    struct gy_db *db;
    const char *id;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_run_restore(db, id);
}

GY__MLFLOW_HANDLER(static, h_run_get, 0)
{
    struct gy_db *db;
    const char *id;
    json_t *run;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) || (rc = db_of(c, &db)) ||
        (rc = gy_tracking_run_get(db, id, &run)))
        return rc;
    return gy__mlflow_send(c, "run", run);
}

GY__MLFLOW_HANDLER(static, h_run_search, 0)
{
    struct gy_tracking_search s;
    struct gy_db *db;
    json_t *out;
    enum gy_status rc;
    if ((rc = gy__mlflow_parse_run_search(&c->msg, &s)))
        return rc;
    if (s.nexperiment_ids == 0)
        return GY_OK; /* MLflow: no experiments, no runs ({}) */
    if ((rc = db_of(c, &db)) || (rc = gy_tracking_run_search(db, &s, &out)))
        return rc;
    return gy_http_resp_json(c->resp, 200, out);
}

GY__MLFLOW_HANDLER(static, h_log_metric, 0)
{
    struct gy_tracking_metric m;
    struct gy_db *db;
    const char *id;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) || (rc = gy__mlflow_parse_metric(&c->msg, &m)) ||
        (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_metric_log(db, id, &m);
}

GY__MLFLOW_HANDLER(static, h_log_param, 0)
{
    struct gy_db *db;
    const char *id, *key, *value;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) ||
        (rc = gy__mlflow_str(&c->msg, "value", 0, &value)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_param_log(db, id, key, value ? value : "");
}

GY__MLFLOW_HANDLER(static, h_tag_set, 0)
{
    struct gy_db *db;
    const char *id, *key, *value;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) ||
        (rc = gy__mlflow_str(&c->msg, "value", 0, &value)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_run_tag_set(db, id, key, value ? value : "");
}

GY__MLFLOW_HANDLER(static, h_tag_delete, 0)
{
    struct gy_db *db;
    const char *id, *key;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) ||
        (rc = gy__mlflow_str(&c->msg, "key", GY__MLFLOW_REQUIRED, &key)) || (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_run_tag_delete(db, id, key);
}

GY__MLFLOW_HANDLER(static, h_log_batch, 0)
{
    struct gy__mlflow_batch b;
    struct gy_db *db;
    const char *id;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) || (rc = gy__mlflow_parse_log_batch(&c->msg, &b)) ||
        (rc = db_of(c, &db)))
        return rc;
    return gy_tracking_log_batch(db, id, b.metrics, b.nmetrics, b.params, b.nparams, b.tags,
                                 b.ntags);
}

GY__MLFLOW_HANDLER(static, h_log_inputs, 0)
{
    struct gy_tracking_dataset_input *in;
    struct gy_db *db;
    const char *id;
    size_t n;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) ||
        (rc = gy__mlflow_parse_log_inputs(&c->msg, &in, &n)) || (rc = db_of(c, &db)))
        return rc;
    if (n == 0) /* nothing to record; still say so for an unknown run */
        return gy_tracking_run_experiment(db, id, NULL, NULL);
    return gy_tracking_log_inputs(db, id, in, n);
}

GY__MLFLOW_HANDLER(static, h_metric_history, 0)
{
    struct gy_db *db;
    const char *id, *key, *token;
    int64_t max = 0;
    int set = 0;
    json_t *out;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) ||
        (rc = gy__mlflow_str(&c->msg, "metric_key", GY__MLFLOW_REQUIRED, &key)) ||
        (rc = gy__mlflow_int64(&c->msg, "max_results", 0, &max, &set)) ||
        (rc = gy__mlflow_str(&c->msg, "page_token", 0, &token)))
        return rc;
    if (set && max <= 0)
        return gy_error_set(GY_E_INVALID,
                            "Invalid value %lld for parameter 'max_results' supplied: it must be "
                            "a positive number.",
                            (long long)max);
    if ((rc = db_of(c, &db)) || (rc = gy_tracking_metric_history(db, id, key, max, token, &out)))
        return rc;
    return gy_http_resp_json(c->resp, 200, out);
}

/* ------------------------------------------------------------------ the route table */

#define P "/api/2.0/mlflow/"
#define A "/api/2.0/mlflow-artifacts/"

/* clang-format off */
const struct gy_http_route gy_api_mlflow_routes[] = {
    /* experiments */
    {"POST", P "experiments/create", h_exp_create, 0, "experiments:write", "Create an experiment", 0},
    {"GET", P "experiments/get", h_exp_get, 0, "experiments:read", "Get an experiment by id", 0},
    {"GET", P "experiments/get-by-name", h_exp_get_by_name, 0, "experiments:read",
     "Get an experiment by name", 0},
    {"POST", P "experiments/search", h_exp_search, 0, "experiments:read", "Search experiments", 0},
    {"GET", P "experiments/search", h_exp_search, 0, "experiments:read", "Search experiments", 0},
    {"GET", P "experiments/list", h_exp_list, 0, "experiments:read",
     "List experiments (legacy, removed in MLflow 2.0)", 0},
    {"POST", P "experiments/update", h_exp_update, 0, "experiments:write", "Rename an experiment", 0},
    {"POST", P "experiments/delete", h_exp_delete, 0, "experiments:write",
     "Soft-delete an experiment", 0},
    {"POST", P "experiments/restore", h_exp_restore, 0, "experiments:write",
     "Restore a deleted experiment", 0},
    {"POST", P "experiments/set-experiment-tag", h_exp_tag_set, 0, "experiments:write",
     "Set an experiment tag", 0},
    {"POST", P "experiments/delete-experiment-tag", h_exp_tag_delete, 0, "experiments:write",
     "Delete an experiment tag", 0},
    /* runs */
    {"POST", P "runs/create", h_run_create, 0, "runs:write", "Create a run", 0},
    {"POST", P "runs/update", h_run_update, 0, "runs:write", "Update a run's status, end, name", 0},
    {"POST", P "runs/delete", h_run_delete, 0, "runs:write", "Soft-delete a run", 0},
    {"POST", P "runs/restore", h_run_restore, 0, "runs:write", "Restore a deleted run", 0},
    {"GET", P "runs/get", h_run_get, 0, "runs:read", "Get a run", 0},
    {"POST", P "runs/search", h_run_search, 0, "runs:read", "Search runs", 0},
    {"GET", P "runs/search", h_run_search, 0, "runs:read", "Search runs", 0},
    {"POST", P "runs/log-metric", h_log_metric, 0, "runs:write", "Log a metric point", 0},
    {"POST", P "runs/log-parameter", h_log_param, 0, "runs:write", "Log a param", 0},
    {"POST", P "runs/set-tag", h_tag_set, 0, "runs:write", "Set a run tag", 0},
    {"POST", P "runs/delete-tag", h_tag_delete, 0, "runs:write", "Delete a run tag", 0},
    {"POST", P "runs/log-batch", h_log_batch, 0, "runs:write",
     "Log metrics, params and tags in one request", 0},
    {"POST", P "runs/log-inputs", h_log_inputs, 0, "runs:write", "Log dataset inputs of a run", 0},
    {"GET", P "metrics/get-history", h_metric_history, 0, "runs:read",
     "All points of one metric of a run", 0},
    {"GET", P "artifacts/list", gy__mlflow_artifacts_list, 0, "runs:read",
     "List a run's artifacts", 0},
    /* registered models */
    {"POST", P "registered-models/create", gy__mlflow_model_create, 0, "models:write",
     "Create a registered model", 0},
    {"GET", P "registered-models/get", gy__mlflow_model_get, 0, "models:read",
     "Get a registered model", 0},
    {"POST", P "registered-models/rename", gy__mlflow_model_rename, 0, "models:write",
     "Rename a registered model", 0},
    {"PATCH", P "registered-models/update", gy__mlflow_model_update, 0, "models:write",
     "Update a registered model's description", 0},
    {"DELETE", P "registered-models/delete", gy__mlflow_model_delete, 0, "models:write",
     "Delete a registered model and its versions", 0},
    {"GET", P "registered-models/search", gy__mlflow_model_search, 0, "models:read",
     "Search registered models", 0},
    {"GET", P "registered-models/get-latest-versions", gy__mlflow_model_latest, 0, "models:read",
     "Latest version per stage", 0},
    {"POST", P "registered-models/get-latest-versions", gy__mlflow_model_latest, 0, "models:read",
     "Latest version per stage", 0},
    {"POST", P "registered-models/set-tag", gy__mlflow_model_tag_set, 0, "models:write",
     "Set a registered model tag", 0},
    {"DELETE", P "registered-models/delete-tag", gy__mlflow_model_tag_delete, 0, "models:write",
     "Delete a registered model tag", 0},
    {"POST", P "registered-models/alias", gy__mlflow_alias_set, 0, "models:write",
     "Point an alias at a version", 0},
    {"DELETE", P "registered-models/alias", gy__mlflow_alias_delete, 0, "models:write",
     "Delete an alias", 0},
    {"GET", P "registered-models/alias", gy__mlflow_alias_get, 0, "models:read",
     "The version holding an alias", 0},
    /* model versions */
    {"POST", P "model-versions/create", gy__mlflow_version_create, 0, "models:write",
     "Create a model version", 0},
    {"GET", P "model-versions/get", gy__mlflow_version_get, 0, "models:read",
     "Get a model version", 0},
    {"PATCH", P "model-versions/update", gy__mlflow_version_update, 0, "models:write",
     "Update a model version's description", 0},
    {"DELETE", P "model-versions/delete", gy__mlflow_version_delete, 0, "models:write",
     "Delete a model version", 0},
    {"GET", P "model-versions/search", gy__mlflow_version_search, 0, "models:read",
     "Search model versions", 0},
    {"POST", P "model-versions/transition-stage", gy__mlflow_version_stage, 0, "models:write",
     "Move a version to a stage", 0},
    {"POST", P "model-versions/set-tag", gy__mlflow_version_tag_set, 0, "models:write",
     "Set a model version tag", 0},
    {"DELETE", P "model-versions/delete-tag", gy__mlflow_version_tag_delete, 0, "models:write",
     "Delete a model version tag", 0},
    {"GET", P "model-versions/get-download-uri", gy__mlflow_version_download_uri, 0, "models:read",
     "Where a version's files can be downloaded from", 0},
    /* the artifact proxy: <experiment_id>/<run_id>/artifacts/<path> */
    {"GET", A "artifacts", gy__mlflow_proxy_list, 0, "runs:read",
     "List artifacts under ?path=", 0},
    {"GET", A "artifacts/{*path}", gy__mlflow_proxy_download, 0, "runs:read",
     "Download an artifact", 0},
    {"PUT", A "artifacts/{*path}", gy__mlflow_proxy_upload, GY_HTTP_ROUTE_SPOOL, "runs:write",
     "Upload an artifact", 0},
    {"DELETE", A "artifacts/{*path}", gy__mlflow_proxy_delete, 0, "runs:write",
     "Delete an artifact or a directory of artifacts", 0},
};
/* clang-format on */
const size_t gy_api_mlflow_routes_len = GY_ARRAY_LEN(gy_api_mlflow_routes);
