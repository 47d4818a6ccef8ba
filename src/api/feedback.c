/* SPDX-License-Identifier: MIT */
/*
 * feedback.c - the feedback API: POST /api/v1/feedback stores ground-truth labels and business
 * values for logged requests of a deployment, and GET /api/v1/deployments/{name}/metrics
 * answers the online metrics computed by joining that feedback to the deployment's prediction
 * log (src/serving/feedback.c). Both refresh the gyre_online_metric gauges of /metrics.
 * Documented for users in docs/monitoring.md.
 */
#include "api/api.h"
#include "monitor/monitor.h"
#include "serving/serving.h"

#include <stdlib.h>
#include <string.h>

static enum gy_status h_feedback(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    json_t *body = NULL, *m = NULL;
    const char *dep;
    struct gy_db *db;
    size_t stored = 0;
    enum gy_status rc;
    if ((rc = gy_http_req_json(req, &body)))
        return rc;
    if (!json_is_object(body))
        return gy_error_set(GY_E_INVALID, "the request body must be a JSON object");
    dep = gy_json_str(body, "deployment", NULL);
    if (!dep)
        return gy_error_set(GY_E_INVALID, "\"deployment\" (a string) is required");
    if ((rc = gy_api_db(ctx, &db)) ||
        (rc = gy_feedback_put(db, dep, json_object_get(body, "items"), &stored)))
        return rc;
    /* Refreshes the gauges; the answer does not depend on it. */
    if (gy_feedback_metrics(db, dep, 0, &m))
        gy_log(GY_LOG_WARN, "feedback: metrics of %s: %s", dep, gy_error_msg());
    json_decref(m);
    return gy_http_resp_json(
        resp, 201, json_pack("{s:s, s:I}", "deployment", dep, "stored", (json_int_t)stored));
}

static enum gy_status h_metrics(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name");
    const char *since = gy_http_req_query(req, "since_us");
    struct gy_db *db;
    json_t *m = NULL;
    int64_t since_us = 0;
    enum gy_status rc;
    if (since && (gy_parse_int64(since, &since_us) || since_us < 0))
        return gy_error_set(GY_E_INVALID,
                            "since_us must be microseconds since the epoch, not \"%s\"", since);
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_feedback_metrics(db, name, since_us, &m)))
        return rc;
    return gy_http_resp_json(resp, 200, m);
}

/* GET /api/v1/deployments/{name}/compare?metric=M&control=V&since_us=T&alpha=A */
static enum gy_status h_compare(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *name = gy_http_req_capture(req, "name");
    const char *metric = gy_http_req_query(req, "metric"),
               *control = gy_http_req_query(req, "control");
    const char *since = gy_http_req_query(req, "since_us"),
               *alpha = gy_http_req_query(req, "alpha");
    struct gy_db *db;
    json_t *out = NULL;
    int64_t since_us = 0, control_v = 0;
    double a = 0.05;
    char *end = NULL;
    enum gy_status rc;
    if (since && (gy_parse_int64(since, &since_us) || since_us < 0))
        return gy_error_set(GY_E_INVALID,
                            "since_us must be microseconds since the epoch, not \"%s\"", since);
    if (control && (gy_parse_int64(control, &control_v) || control_v < 1))
        return gy_error_set(GY_E_INVALID, "control must be a version number, not \"%s\"", control);
    if (alpha) {
        a = strtod(alpha, &end);
        if (end == alpha || *end || !(a > 0 && a < 1))
            return gy_error_set(GY_E_INVALID, "alpha must be in (0, 1), not \"%s\"", alpha);
    }
    if ((rc = gy_api_db(ctx, &db)) ||
        (rc = gy_deploy_compare(db, name, metric ? metric : "accuracy", control_v, since_us, a,
                                &out)))
        return rc;
    return gy_http_resp_json(resp, 200, out);
}

const struct gy_http_route gy_api_feedback_routes[] = {
    {"POST", "/api/v1/feedback", h_feedback, 0, "deployments:infer",
     "Store ground-truth labels and business values for logged requests", 0},
    {"GET", "/api/v1/deployments/{name}/metrics", h_metrics, GY_HTTP_ROUTE_NO_BODY,
     "deployments:read", "Online metrics of a deployment from feedback joined to its log", 0},
    {"GET", "/api/v1/deployments/{name}/compare", h_compare, GY_HTTP_ROUTE_NO_BODY,
     "deployments:read",
     "A/B test of a deployment's model versions on an online metric from feedback", 0},
};
const size_t gy_api_feedback_routes_len = GY_ARRAY_LEN(gy_api_feedback_routes);
