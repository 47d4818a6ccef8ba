/* SPDX-License-Identifier: MIT */
/*
 * native.c - gyre's native JSON API under /api/v1 (health, version, datasets: list, show,
 * versions, ingest over HTTP) and gy_api_register, the one list of every API module's route
 * table that `gyre server` serves. Handlers reach the store through gy_api_db (one handle per
 * worker thread) and answer errors with the default mapping of src/http ({"error": "..."}).
 * The endpoints are documented for users in docs/api.md.
 */
#include "api/api.h"
#include "lake/lake.h"

#include <string.h>
#include <strings.h>

static enum gy_status h_health(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    return gy_http_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static enum gy_status h_version(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_api *api = ctx;
    struct gy_db *db;
    int64_t schema = 0;
    enum gy_status rc;
    GY_UNUSED(req);
    if ((rc = gy_api_db(api, &db)) || (rc = gy_db_schema_version(db, &schema)))
        return rc;
    return gy_http_resp_json(resp, 200,
                             json_pack("{s:s, s:s, s:s, s:I}", "name", "gyre", "version",
                                       GY_API_VERSION, "store",
                                       gy_db_kind(db) == GY_DB_POSTGRES ? "postgresql" : "sqlite",
                                       "schema_version", (json_int_t)schema));
}

static enum gy_status h_datasets(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_db *db;
    json_t *list = NULL;
    enum gy_status rc;
    GY_UNUSED(req);
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_lake_dataset_list(db, &list)))
        return rc;
    return gy_http_resp_json(resp, 200, json_pack("{s:o}", "datasets", list));
}

/* The summary of one version's manifest: what `gyre dataset show --json` prints. */
static enum gy_status send_version(struct gy_http_req *req, struct gy_http_resp *resp,
                                   struct gy_api *api, int64_t version)
{
    const char *name = gy_http_req_capture(req, "name");
    struct gy_db *db;
    json_t *m = NULL, *out;
    enum gy_status rc;
    if ((rc = gy_api_db(api, &db)) || (rc = gy_lake_version_get(db, name, version, &m)))
        return rc;
    out = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:I}", "dataset",
                    json_object_get(m, "dataset"), "version", json_object_get(m, "version"), "rows",
                    json_object_get(m, "rows"), "created", json_object_get(m, "created"), "source",
                    json_object_get(m, "source"), "schema", json_object_get(m, "schema"), "profile",
                    json_object_get(m, "profile"), "chunks",
                    (json_int_t)json_array_size(json_object_get(m, "chunks")));
    json_decref(m);
    return gy_http_resp_json(resp, 200, out);
}

static enum gy_status h_dataset(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    return send_version(req, resp, ctx, 0);
}

static enum gy_status h_version_get(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *v = gy_http_req_capture(req, "version");
    int64_t version;
    if (gy_parse_int64(v, &version) || version < 1)
        return gy_error_set(GY_E_INVALID, "version must be a positive integer, not \"%s\"", v);
    return send_version(req, resp, ctx, version);
}

static enum gy_status h_versions(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name");
    struct gy_db *db;
    json_t *list = NULL;
    enum gy_status rc;
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_lake_version_list(db, name, &list)))
        return rc;
    return gy_http_resp_json(resp, 200, json_pack("{s:s, s:o}", "dataset", name, "versions", list));
}

/* POST /api/v1/datasets {"name": ..., "schema": [...] (optional), "description": ...} */
static enum gy_status h_create(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    json_t *body, *js;
    struct gy_schema *schema = NULL;
    struct gy_db *db;
    const char *name, *desc;
    enum gy_status rc;

    if ((rc = gy_http_req_json(req, &body)))
        return rc;
    if (!json_is_object(body))
        return gy_error_set(GY_E_INVALID, "the request body must be a JSON object");
    name = gy_json_str(body, "name", NULL);
    if (!name)
        return gy_error_set(GY_E_INVALID, "\"name\" (a string) is required");
    desc = gy_json_str(body, "description", NULL);
    js = json_object_get(body, "schema");
    if (js && !json_is_null(js) && (rc = gy_schema_from_json(js, &schema)))
        return gy_error_wrap(rc, "schema");
    if ((rc = gy_api_db(ctx, &db)) == GY_OK)
        rc = gy_lake_dataset_create(db, name, schema, desc);
    gy_schema_free(schema);
    if (rc)
        return rc;
    return gy_http_resp_json(resp, 201, json_pack("{s:s}", "dataset", name));
}

/* ?format= or, failing that, the Content-Type; "auto" sniffs the data. */
static enum gy_status ingest_format(struct gy_http_req *req, enum gy_format *f)
{
    const char *s = gy_http_req_query(req, "format");
    const char *ct = gy_http_req_header(req, "Content-Type");
    *f = GY_FORMAT_AUTO;
    if (!s && ct) {
        if (strncasecmp(ct, "text/csv", 8) == 0)
            *f = GY_FORMAT_CSV;
        else if (strncasecmp(ct, "application/x-ndjson", 20) == 0 ||
                 strncasecmp(ct, "application/jsonl", 17) == 0)
            *f = GY_FORMAT_JSONL;
        return GY_OK;
    }
    if (!s || strcmp(s, "auto") == 0)
        return GY_OK;
    if (strcmp(s, "csv") == 0)
        *f = GY_FORMAT_CSV;
    else if (strcmp(s, "jsonl") == 0 || strcmp(s, "ndjson") == 0 || strcmp(s, "json") == 0)
        *f = GY_FORMAT_JSONL;
    else
        return gy_error_set(GY_E_INVALID, "format must be csv or jsonl, not \"%s\"", s);
    return GY_OK;
}

static enum gy_status h_ingest(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name");
    const char *skip = gy_http_req_query(req, "skip_bad_rows");
    struct gy_ingest_opts opts = {0};
    struct gy_ingest_result res = {0};
    struct gy_db *db;
    uint64_t len;
    int fd;
    enum gy_status rc;

    if ((rc = ingest_format(req, &opts.format)))
        return rc;
    if (skip) {
        int64_t n;
        if (gy_parse_int64(skip, &n) || n < 0)
            return gy_error_set(GY_E_INVALID, "skip_bad_rows must be a count, not \"%s\"", skip);
        opts.skip_bad_rows = (size_t)n;
    }
    if ((rc = gy_http_req_body_fd(req, &fd, &len)))
        return gy_error_set(GY_E_INTERNAL, "the ingest route must spool its body");
    if (len == 0)
        return gy_error_set(GY_E_INVALID, "the request body is empty: send the data to ingest");
    opts.source = "body";
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_lake_ingest(db, name, fd, &opts, &res)))
        return rc;
    return gy_http_resp_json(
        resp, 201,
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "dataset", name, "version",
                  (json_int_t)res.version, "rows", (json_int_t)res.rows, "total_rows",
                  (json_int_t)res.total_rows, "bytes", (json_int_t)res.bytes_in, "skipped",
                  (json_int_t)res.skipped, "manifest", res.manifest));
}

const struct gy_http_route gy_api_native_routes[] = {
    {"GET", "/api/v1/health", h_health, GY_HTTP_ROUTE_NO_BODY, NULL, "Liveness check", 0},
    {"GET", "/api/v1/version", h_version, GY_HTTP_ROUTE_NO_BODY, NULL, "Server version and store",
     0},
    {"GET", "/api/v1/datasets", h_datasets, GY_HTTP_ROUTE_NO_BODY, "datasets:read", "List datasets",
     0},
    {"POST", "/api/v1/datasets", h_create, 0, "datasets:write",
     "Create a dataset (optionally with a schema)", 0},
    {"GET", "/api/v1/datasets/{name}", h_dataset, GY_HTTP_ROUTE_NO_BODY, "datasets:read",
     "Latest version of a dataset: rows, schema, profile", 0},
    {"GET", "/api/v1/datasets/{name}/versions", h_versions, GY_HTTP_ROUTE_NO_BODY, "datasets:read",
     "List the versions of a dataset", 0},
    {"GET", "/api/v1/datasets/{name}/versions/{version}", h_version_get, GY_HTTP_ROUTE_NO_BODY,
     "datasets:read", "One version of a dataset", 0},
    {"POST", "/api/v1/datasets/{name}/ingest", h_ingest, GY_HTTP_ROUTE_SPOOL, "datasets:write",
     "Ingest CSV or JSON Lines from the body into a new version", 0},
};
const size_t gy_api_native_routes_len = GY_ARRAY_LEN(gy_api_native_routes);

/*
 * Every API module's route table, registered in this order with the struct gy_api as ctx.
 * A module adds one line here (and declares its table in api.h). error_prefix/error_writer
 * (both may be NULL) give the module's own body for errors the server makes under a prefix.
 */
static const struct {
    const char *name;
    const struct gy_http_route *routes;
    const size_t *n;
    const char *error_prefix;
    gy_http_error_writer error_writer;
} api_tables[] = {
    {"native", gy_api_native_routes, &gy_api_native_routes_len, NULL, NULL},
    {"mlflow", gy_api_mlflow_routes, &gy_api_mlflow_routes_len, "/api/2.0/mlflow",
     gy_api_mlflow_error_writer},
    {"jobs", gy_api_jobs_routes, &gy_api_jobs_routes_len, NULL, NULL},
    {"v2", gy_api_v2_routes, &gy_api_v2_routes_len, NULL, NULL},
    {"metrics", gy_api_metrics_routes, &gy_api_metrics_routes_len, NULL, NULL},
    {"feedback", gy_api_feedback_routes, &gy_api_feedback_routes_len, NULL, NULL},
    {"pipelines", gy_api_pipelines_routes, &gy_api_pipelines_routes_len, NULL, NULL},
    {"admin", gy_api_admin_routes, &gy_api_admin_routes_len, NULL, NULL},
    /* ("/api/2.0/mlflow" covers /api/2.0/mlflow/ and /api/2.0/mlflow-artifacts/.)
     * ADD MORE TABLES HERE. */
};

enum gy_status gy_api_register(struct gy_api *api, struct gy_http_server *srv)
{
    enum gy_status rc;
    for (size_t i = 0; i < GY_ARRAY_LEN(api_tables); i++) {
        if ((rc = gy_http_server_add_routes(srv, api_tables[i].routes, *api_tables[i].n, api)))
            return gy_error_wrap(rc, "%s routes", api_tables[i].name);
        if (api_tables[i].error_writer &&
            (rc = gy_http_server_set_error_writer(srv, api_tables[i].error_prefix,
                                                  api_tables[i].error_writer, api)))
            return gy_error_wrap(rc, "%s error writer", api_tables[i].name);
    }
    return GY_OK;
}
