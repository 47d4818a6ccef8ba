/* SPDX-License-Identifier: MIT */
/*
 * pipelines.c - the pipelines API (src/pipeline): apply a spec, read it, trigger a run, read
 * runs. A spec arrives as YAML (JSON is YAML too) and goes through the same parser and checks
 * as `gyre pipeline apply`. A triggered run is carried out by this server's controller.
 *
 *   GET  /api/v1/pipelines                         every pipeline with its last run
 *   POST /api/v1/pipelines                         apply a spec (body: YAML or JSON)
 *   GET  /api/v1/pipelines/{name}                  the current spec
 *   POST /api/v1/pipelines/{name}/runs             trigger a run ("api")
 *   GET  /api/v1/pipelines/{name}/runs[?limit=N]   the runs, newest first
 *   GET  /api/v1/pipelines/{name}/runs/{id}        one run
 */
#include "api/api.h"
#include "pipeline/pipeline.h"

#include <string.h>

static enum gy_status h_list(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_db *db;
    json_t *a = NULL;
    enum gy_status rc;
    (void)req;
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_pipeline_list(db, &a)))
        return rc;
    return gy_http_resp_json(resp, 200, json_pack("{s:o}", "pipelines", a));
}

static enum gy_status h_apply(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_db *db;
    struct gy_pipeline_spec *s = NULL;
    size_t len = 0;
    const char *body = gy_http_req_body(req, &len);
    int64_t version = 0;
    int changed = 0;
    enum gy_status rc;
    if (!body || !len)
        return gy_error_set(GY_E_INVALID, "the request body must be a pipeline spec (YAML)");
    if (len > GY_PIPELINE_MAX_SPEC)
        return gy_error_set(GY_E_TOO_LARGE, "a pipeline spec is at most %u bytes",
                            GY_PIPELINE_MAX_SPEC);
    if ((rc = gy_pipeline_spec_parse_yaml(body, len, &s)))
        return rc;
    if ((rc = gy_api_db(ctx, &db)) == GY_OK && (rc = gy_pipeline_check_refs(db, s)) == GY_OK)
        rc = gy_pipeline_apply(db, s, &version, &changed);
    if (rc == GY_OK)
        rc = gy_http_resp_json(resp, changed ? 201 : 200,
                               json_pack("{s:s, s:I, s:b}", "name", s->name, "version",
                                         (json_int_t)version, "changed", changed));
    gy_pipeline_spec_free(s);
    return rc;
}

static enum gy_status h_get(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name");
    struct gy_db *db;
    struct gy_pipeline_spec *s = NULL;
    json_t *j = NULL;
    int64_t version = 0;
    enum gy_status rc;
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_pipeline_get(db, name, 0, &s, &version)))
        return rc;
    rc = gy_pipeline_spec_to_json(s, &j);
    gy_pipeline_spec_free(s);
    if (rc)
        return rc;
    return gy_http_resp_json(
        resp, 200,
        json_pack("{s:s, s:I, s:o}", "name", name, "version", (json_int_t)version, "spec", j));
}

static enum gy_status h_trigger(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name");
    struct gy_db *db;
    int64_t run = 0;
    int coalesced = 0;
    enum gy_status rc;
    if ((rc = gy_api_db(ctx, &db)) ||
        (rc = gy_pipeline_trigger(db, name, "api", NULL, &run, &coalesced)))
        return rc;
    if (coalesced)
        return gy_http_resp_json(
            resp, 202,
            json_pack("{s:s, s:b, s:s}", "pipeline", name, "coalesced", 1, "message",
                      "a run is in progress; this trigger starts the next one when it ends"));
    {
        char loc[GY_PIPELINE_MAX_NAME * 3 + 64];
        json_t *j = NULL;
        snprintf(loc, sizeof loc, "/api/v1/pipelines/%s/runs/%lld",
                 gy_http_req_capture_raw(req, "name"), (long long)run);
        gy_http_resp_header(resp, "Location", loc);
        if ((rc = gy_pipeline_run_get(db, run, &j)))
            return rc;
        return gy_http_resp_json(resp, 201, j);
    }
}

static enum gy_status h_runs(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name"), *l = gy_http_req_query(req, "limit");
    struct gy_db *db;
    struct gy_pipeline_spec *s = NULL;
    json_t *runs = NULL;
    int64_t limit = 100;
    enum gy_status rc;
    if (l && (gy_parse_int64(l, &limit) || limit < 1 || limit > 1000))
        return gy_error_set(GY_E_INVALID, "limit must be 1 to 1000, not \"%s\"", l);
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_pipeline_get(db, name, 0, &s, NULL)))
        return rc;
    gy_pipeline_spec_free(s);
    if ((rc = gy_pipeline_runs(db, name, limit, &runs)))
        return rc;
    return gy_http_resp_json(resp, 200, json_pack("{s:s, s:o}", "pipeline", name, "runs", runs));
}

static enum gy_status h_run(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name"), *id = gy_http_req_capture(req, "id");
    struct gy_db *db;
    json_t *j = NULL;
    int64_t n = 0;
    enum gy_status rc;
    if (gy_parse_int64(id, &n) || n < 1)
        return gy_error_set(GY_NOT_FOUND, "no run %s of pipeline %s", id, name);
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_pipeline_run_get(db, n, &j)))
        return rc;
    if (strcmp(gy_json_str(j, "pipeline", ""), name) != 0) {
        json_decref(j);
        return gy_error_set(GY_NOT_FOUND, "no run %s of pipeline %s", id, name);
    }
    return gy_http_resp_json(resp, 200, j);
}

const struct gy_http_route gy_api_pipelines_routes[] = {
    {"GET", "/api/v1/pipelines", h_list, GY_HTTP_ROUTE_NO_BODY, "pipelines:read",
     "Every pipeline with its last run", 0},
    {"POST", "/api/v1/pipelines", h_apply, 0, "pipelines:write",
     "Apply a pipeline spec (YAML or JSON body): a new version when it changed", 0},
    {"GET", "/api/v1/pipelines/{name}", h_get, GY_HTTP_ROUTE_NO_BODY, "pipelines:read",
     "A pipeline's current spec", 0},
    {"POST", "/api/v1/pipelines/{name}/runs", h_trigger, GY_HTTP_ROUTE_NO_BODY, "pipelines:write",
     "Trigger a run (coalesced with a run in progress)", 0},
    {"GET", "/api/v1/pipelines/{name}/runs", h_runs, GY_HTTP_ROUTE_NO_BODY, "pipelines:read",
     "A pipeline's runs, newest first, with their reasons", 0},
    {"GET", "/api/v1/pipelines/{name}/runs/{id}", h_run, GY_HTTP_ROUTE_NO_BODY, "pipelines:read",
     "One pipeline run: state, lineage, gate and canary results", 0},
};
const size_t gy_api_pipelines_routes_len = GY_ARRAY_LEN(gy_api_pipelines_routes);
