/* SPDX-License-Identifier: MIT */
/*
 * v2.c - the KServe/Triton V2 Open Inference Protocol over HTTP (route table gy_api_v2_routes):
 * health, server and model metadata, model ready, inference (JSON and the binary tensor
 * extension), the repository extension (index, load, unload) and the statistics extension.
 *
 * Handlers turn HTTP into calls on the serving state (src/serving/serving.h): a request names
 * an endpoint (a deployment, or a registry reference such as "fraud", "fraud@challenger"),
 * optionally pinned to a version. Inference parses the body with the pure codec of
 * v2_codec.c, runs gy_serving_infer_async and writes the response bytes with the same codec.
 * When the serving call completes before gy_serving_infer_async returns (no batching, or an
 * error) the response is written inline; when a deployment batches, the response is deferred
 * (gy_http_resp_defer) and finished by the batcher thread, so no HTTP worker waits for a
 * batch. A small atomic handshake decides which side writes the response.
 *
 * Errors are {"error": "..."} with Triton's status codes: 400 for bad requests, 404 for an
 * unknown model or version, 413 over a size limit, 503 when a model is known but not
 * loadable (and for "not ready", or 400 as Triton does when the server is so configured).
 * The protocol as gyre speaks it is in docs/v2.md.
 *
 * An infer request refused for its input, once its endpoint is known, is counted on that
 * endpoint by kind (gy_serving_input_error_count; /metrics gyre_input_errors_total): the
 * codec's 400s are "malformed" and its 413s "too_large"; a refusal by the serving layer is
 * classified against the model's signature (gy_serving_input_error_classify). Only failures
 * count, with one atomic add; unknown endpoints (404) are not counted.
 */
#include "api/api.h"
#include "api/v2_int.h"
#include "models/models.h"
#include "serving/serving.h"

#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------ response counters */

static _Atomic uint64_t http_counts[GY_V2_N_EPS][GY_V2_N_CLASSES];

static const char *const ep_names[GY_V2_N_EPS] = {"infer", "health", "metadata", "repository",
                                                  "statistics"};

uint64_t gy__v2_http_count(int ep, int cls)
{
    if (ep < 0 || ep >= GY_V2_N_EPS || cls < 0 || cls >= GY_V2_N_CLASSES)
        return 0;
    return atomic_load_explicit(&http_counts[ep][cls], memory_order_relaxed);
}

const char *gy__v2_ep_name(int ep)
{
    return ep >= 0 && ep < GY_V2_N_EPS ? ep_names[ep] : "?";
}

static void count(int ep, int status)
{
    int cls = status < 400 ? GY_V2_CLASS_2XX : status < 500 ? GY_V2_CLASS_4XX : GY_V2_CLASS_5XX;
    atomic_fetch_add_explicit(&http_counts[ep][cls], 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ errors */

/* The HTTP status of a failed V2 call, Triton's mapping. */
static int v2_status(enum gy_status rc)
{
    switch (rc) {
    case GY_NOT_FOUND:
        return 404;
    case GY_E_INVALID:
    case GY_E_SCHEMA:
    case GY_E_UNSUPPORTED:
    case GY_E_EXISTS:
    case GY_E_CONFLICT:
        return 400;
    case GY_E_TOO_LARGE:
        return 413;
    case GY_E_BUSY: /* also GY_E_UNAVAILABLE: known but not loadable now, or queue full */
    case GY_AGAIN:
        return 503;
    case GY_E_PERM:
        return 403;
    default:
        return 500;
    }
}

/* Sends {"error": msg} with the status for @p rc and counts it. Returns @p rc. */
static enum gy_status fail_msg(struct gy_http_resp *resp, int ep, enum gy_status rc, int status,
                               const char *msg)
{
    if (!status)
        status = v2_status(rc);
    if (status == 503)
        gy_http_resp_header(resp, "Retry-After", "1");
    gy_http_resp_error(resp, status, "%s", *msg ? msg : gy_status_str(rc));
    count(ep, status);
    return rc;
}

static enum gy_status fail(struct gy_http_resp *resp, int ep, enum gy_status rc)
{
    return fail_msg(resp, ep, rc, 0, gy_error_msg());
}

/* Sends a JSON body (taken) with @p status and counts it. */
static enum gy_status send_json(struct gy_http_resp *resp, int ep, int status, json_t *body)
{
    enum gy_status rc = gy_http_resp_json(resp, status, body);
    count(ep, rc ? 500 : status);
    return rc;
}

/* Checks a /versions/{v} capture: digits only (Triton's routes). NULL stays NULL. */
static enum gy_status check_version(const char *v)
{
    if (!v)
        return GY_OK;
    for (const char *c = v; *c; c++)
        if (*c < '0' || *c > '9')
            return gy_error_set(GY_E_INVALID,
                                "invalid model version \"%s\": versions are positive integers", v);
    if (!*v || strlen(v) > 18)
        return gy_error_set(GY_E_INVALID,
                            "invalid model version \"%s\": versions are positive integers", v);
    return GY_OK;
}

/*
 * Acquires the endpoint of the request's {name} and {version}, released when the request ends.
 * On failure the error text is Triton's for an unknown model, followed by serving's reason.
 */
static enum gy_status acquire(struct gy_api *api, struct gy_http_req *req, const char **name,
                              const char **version, struct gy_serving_target **out)
{
    struct gy_serving *s = gy_api_serving(api);
    enum gy_status rc;
    *out = NULL;
    *name = gy_http_req_capture(req, "name");
    *version = gy_http_req_capture(req, "version");
    if (!s)
        return gy_error_set(GY_E_BUSY, "model serving is not running in this server");
    if ((rc = check_version(*version)))
        return rc;
    rc = gy_serving_acquire(s, *name, *version, out);
    if (rc == GY_NOT_FOUND) {
        char why[512];
        gy_snprintf(why, sizeof why, "%s", gy_error_msg());
        if (*version)
            return gy_error_set(rc, "Request for unknown model: '%s' version %s is not found%s%s",
                                *name, *version, *why ? ": " : "", why);
        return gy_error_set(rc, "Request for unknown model: '%s' is not found%s%s", *name,
                            *why ? ": " : "", why);
    }
    if (rc)
        return rc;
    if (gy_arena_cleanup_add(gy_http_req_arena(req), (void (*)(void *))gy_serving_release, *out)) {
        gy_serving_release(*out);
        *out = NULL;
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ health and metadata */

static enum gy_status h_live(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    return send_json(resp, GY_V2_EP_HEALTH, 200, json_pack("{s:b}", "live", 1));
}

static enum gy_status h_ready(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_api *api = ctx;
    struct gy_serving *s = gy_api_serving(api);
    GY_UNUSED(req);
    if (s && gy_serving_ready(s))
        return send_json(resp, GY_V2_EP_HEALTH, 200, json_pack("{s:b}", "ready", 1));
    return send_json(resp, GY_V2_EP_HEALTH, gy_api_v2_not_ready_status(api),
                     json_pack("{s:b, s:s}", "ready", 0, "error",
                               s ? "the server is starting: deployments are still loading"
                                 : "model serving is not running in this server"));
}

static enum gy_status h_server_meta(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    return send_json(resp, GY_V2_EP_METADATA, 200,
                     json_pack("{s:s, s:s, s:[s,s,s,s]}", "name", "gyre", "version", GY_API_VERSION,
                               "extensions", "binary_tensor_data", "model_repository", "statistics",
                               "parameters"));
}

static enum gy_status h_model_ready(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_api *api = ctx;
    struct gy_serving_target *t;
    const char *name, *version;
    enum gy_status rc = acquire(api, req, &name, &version, &t);
    if (rc == GY_OK)
        return send_json(resp, GY_V2_EP_HEALTH, 200,
                         json_pack("{s:s, s:b}", "name", name, "ready", 1));
    if (rc == GY_E_BUSY)
        return fail_msg(resp, GY_V2_EP_HEALTH, rc, gy_api_v2_not_ready_status(api), gy_error_msg());
    return fail(resp, GY_V2_EP_HEALTH, rc);
}

/* The V2 datatype a client sends for a column of lake type @p t. */
static const char *column_dtype(enum gy_type t)
{
    switch (t) {
    case GY_TYPE_FLOAT64:
        return "FP64";
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        return "INT64";
    case GY_TYPE_BOOL:
        return "BOOL";
    default:
        return "BYTES";
    }
}

static json_t *tensor_meta(const char *name, const char *dtype, size_t width)
{
    if (width == 1)
        return json_pack("{s:s, s:s, s:[i]}", "name", name, "datatype", dtype, "shape", -1);
    return json_pack("{s:s, s:s, s:[i,I]}", "name", name, "datatype", dtype, "shape", -1,
                     (json_int_t)width);
}

/* A JSON value as compact text in a JSON string (properties are a map of strings). */
static enum gy_status set_json_prop(json_t *props, const char *key, const json_t *v)
{
    struct gy_buf b;
    enum gy_status rc;
    gy_buf_init(&b, (size_t)1 << 26);
    if ((rc = gy_json_dump(v, &b)) == GY_OK)
        rc = gy_json_set(props, key, json_stringn(b.data ? b.data : "", b.len));
    gy_buf_free(&b);
    return rc;
}

static enum gy_status h_model_meta(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_serving_target *t;
    const struct gy_served_model *m;
    const struct gy_model_bundle *b;
    const struct gy_features *f;
    const json_t *meta;
    const char *name, *version;
    const int64_t *vers;
    size_t nv, nin, nout, nmar;
    int any_string = 0;
    json_t *out = NULL, *inputs, *outputs, *versions, *props, *cols, *types;
    char vbuf[24];
    enum gy_status rc;

    if ((rc = acquire(ctx, req, &name, &version, &t)))
        return fail(resp, GY_V2_EP_METADATA, rc);
    m = gy_serving_target_primary(t);
    if (!m)
        return fail_msg(resp, GY_V2_EP_METADATA, GY_E_BUSY, 0, "the model has no loaded version");
    b = gy_served_model_bundle(m);
    f = gy_model_bundle_features(b);
    meta = gy_model_bundle_meta(b);
    nin = gy_features_n_inputs(f);
    nout = gy_model_bundle_n_outputs(b);
    nmar = gy_model_bundle_n_margins(b);

    out = json_object();
    inputs = json_array();
    outputs = json_array();
    versions = json_array();
    props = json_object();
    cols = json_array();
    types = json_array();
    if (!out || !inputs || !outputs || !versions || !props || !cols || !types) {
        json_decref(inputs), json_decref(outputs), json_decref(versions);
        json_decref(props), json_decref(cols), json_decref(types);
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    vers = gy_serving_target_versions(t, &nv);
    for (size_t i = 0; i < nv; i++) {
        gy_snprintf(vbuf, sizeof vbuf, "%lld", (long long)vers[i]);
        json_array_append_new(versions, json_string(vbuf));
    }
    for (size_t i = 0; i < nin; i++) {
        enum gy_type ty = gy_features_input_type(f, i);
        if (ty == GY_TYPE_STRING)
            any_string = 1;
        json_array_append_new(cols, json_string(gy_features_input_name(f, i)));
        json_array_append_new(types, json_string(gy_type_name(ty)));
    }
    if (!any_string) {
        /* All numeric: one FP32 matrix, columns in signature order (docs/v2.md). */
        json_array_append_new(inputs, tensor_meta("input-0", "FP32", nin ? nin : 1));
    } else {
        for (size_t i = 0; i < nin; i++)
            json_array_append_new(inputs,
                                  tensor_meta(gy_features_input_name(f, i),
                                              column_dtype(gy_features_input_type(f, i)), 1));
    }
    json_array_append_new(outputs, tensor_meta("output-0", "FP32", nout));
    json_array_append_new(outputs, tensor_meta("margin-0", "FP32", nmar));

    gy_snprintf(vbuf, sizeof vbuf, "%lld", (long long)gy_served_model_version(m));
    gy_json_set(props, "model", json_string(gy_served_model_name(m)));
    gy_json_set(props, "version", json_string(vbuf));
    gy_json_set(props, "trainer", json_string(gy_json_str(meta, "trainer", "")));
    gy_json_set(props, "objective", json_string(gy_json_str(meta, "objective", "")));
    gy_json_set(props, "deployment",
                json_string(gy_serving_target_is_deployment(t) ? "true" : "false"));
    if ((rc = set_json_prop(props, "columns", cols)) ||
        (rc = set_json_prop(props, "column_types", types)))
        goto out;
    if (json_is_array(json_object_get(meta, "classes")) &&
        (rc = set_json_prop(props, "classes", json_object_get(meta, "classes"))))
        goto out;
    if (gy_serving_target_sticky_header(t))
        gy_json_set(props, "sticky_header", json_string(gy_serving_target_sticky_header(t)));

    gy_json_set(out, "name", json_string(name));
    gy_json_set(out, "versions", versions);
    versions = NULL;
    gy_json_set(
        out, "platform",
        json_string(gy_model_bundle_kind(b) == GY_MODEL_TREES ? "gyre_xgboost" : "gyre_linear"));
    gy_json_set(out, "inputs", inputs);
    inputs = NULL;
    gy_json_set(out, "outputs", outputs);
    outputs = NULL;
    gy_json_set(out, "properties", props);
    props = NULL;
    rc = GY_OK;
out:
    json_decref(cols);
    json_decref(types);
    json_decref(inputs);
    json_decref(outputs);
    json_decref(versions);
    json_decref(props);
    if (rc) {
        json_decref(out);
        return fail(resp, GY_V2_EP_METADATA, rc);
    }
    return send_json(resp, GY_V2_EP_METADATA, 200, out);
}

/* ------------------------------------------------------------------ inference */

/* One inference in flight: what the response needs, and the handshake with the callback. */
struct infer_ctx {
    struct gy_http_req *req;
    struct gy_http_resp *resp;
    struct gy_serving_target *target;
    const char *name;
    struct gy_v2_request r;
    struct gy_serving_call call;
    int want_output, want_margin;
    int bin_output, bin_margin;
    int64_t start_ns;
    /* handshake */
    _Atomic int state; /* IC_RUNNING, IC_DONE, IC_DEFERRED */
    struct gy_http_deferred *deferred;
    enum gy_status rc;
    char err[512];
};

enum { IC_RUNNING = 0, IC_DONE = 1, IC_DEFERRED = 2 };

/* Bytes reserved up front for a response: the JSON of a few rows of outputs. */
#define RESP_RESERVE 512

/* Writes the response of a finished call into @p resp (any thread that owns the request). */
static void infer_respond(struct infer_ctx *c, struct gy_http_resp *resp)
{
    struct gy_v2_out_tensor outs[2];
    struct gy_v2_response r = {0};
    struct gy_buf b;
    size_t jl, n = 0;
    char *data, num[24];
    enum gy_status rc;
    int any_binary = 0;

    if (c->rc) {
        fail_msg(resp, GY_V2_EP_INFER, c->rc, 0, c->err);
        return;
    }
    r.model_name = c->name;
    r.model_version = c->call.model ? gy_served_model_version(c->call.model) : 0;
    r.id = c->r.id;
    r.variant = c->call.variant;
    /* Outputs in the order requested; both defaults to output-0 alone. */
    if (c->r.outputs) {
        for (size_t i = 0; i < c->r.n_outputs; i++) {
            int is_margin = strcmp(c->r.outputs[i].name, "margin-0") == 0;
            struct gy_v2_out_tensor *o = &outs[n++];
            o->name = is_margin ? "margin-0" : "output-0";
            o->data = is_margin ? c->call.margins : c->call.outputs;
            o->rows = c->call.nrows;
            o->cols = is_margin ? c->call.n_margins : c->call.n_outputs;
            o->binary = is_margin ? c->bin_margin : c->bin_output;
        }
    } else {
        outs[0] = (struct gy_v2_out_tensor){.name = "output-0",
                                            .data = c->call.outputs,
                                            .rows = c->call.nrows,
                                            .cols = c->call.n_outputs,
                                            .binary = c->bin_output};
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        outs[i].ndim = outs[i].cols == 1 ? 1 : 2;
        any_binary |= outs[i].binary;
        if (!outs[i].data && outs[i].rows * outs[i].cols != 0) {
            fail_msg(resp, GY_V2_EP_INFER, GY_E_INTERNAL, 500,
                     "the serving layer returned no data for a requested output");
            return;
        }
    }
    r.outputs = outs;
    r.n_outputs = n;
    gy_buf_init(&b, (size_t)1 << 31);
    /* One allocation for the usual small response instead of growing from 64 bytes. */
    if ((rc = gy_buf_reserve(&b, RESP_RESERVE)) || (rc = gy__v2_response_write(&r, &b, &jl))) {
        gy_buf_free(&b);
        fail(resp, GY_V2_EP_INFER, rc);
        return;
    }
    data = gy_buf_detach(&b, &n);
    if (c->call.variant)
        gy_http_resp_header(resp, "X-Gyre-Variant", c->call.variant);
    if (any_binary) {
        gy_snprintf(num, sizeof num, "%zu", jl);
        gy_http_resp_header(resp, "Inference-Header-Content-Length", num);
        rc = gy_http_resp_bytes(resp, 200, "application/octet-stream", data, n, GY_HTTP_TAKE);
    } else {
        rc = gy_http_resp_bytes(resp, 200, "application/json", data, n, GY_HTTP_TAKE);
    }
    count(GY_V2_EP_INFER, rc ? 500 : 200);
}

/*
 * Counts a request refused by the codec or the output plan (before the serving call) on its
 * endpoint: 413 is "too_large", a 400 "malformed" (JSON or binary framing, parameters,
 * outputs). Anything else (no loaded version: 503) is not about the input.
 */
static void count_refused(struct gy_serving_target *t, enum gy_status rc)
{
    int st = v2_status(rc);
    if (st == 413)
        gy_serving_input_error_count(t, GY_INPUT_ERR_TOO_LARGE);
    else if (st == 400)
        gy_serving_input_error_count(t, GY_INPUT_ERR_MALFORMED);
}

/* The serving callback: inline (before gy_serving_infer_async returns) or on a batcher. */
static void infer_done(struct gy_serving_call *call, enum gy_status rc, void *arg)
{
    struct infer_ctx *c = arg;
    int expected = IC_RUNNING;
    c->rc = rc;
    if (rc) {
        int kind = gy_serving_input_error_classify(call, rc);
        if (kind >= 0)
            gy_serving_input_error_count(c->target, (enum gy_input_error)kind);
        gy_snprintf(c->err, sizeof c->err, "%s",
                    *gy_error_msg() ? gy_error_msg() : gy_status_str(rc));
    }
    /* Results first, then the state: the handler reads them after it sees IC_DONE. */
    if (atomic_compare_exchange_strong(&c->state, &expected, IC_DONE))
        return;
    /* The handler deferred and left: this thread owns the request now. */
    infer_respond(c, gy_http_deferred_resp(c->deferred));
    gy_http_deferred_finish(c->deferred);
}

/* Checks the requested outputs and works out which are binary. */
static enum gy_status plan_outputs(struct infer_ctx *c)
{
    int dflt = c->r.binary_output == 1;
    if (!c->r.outputs) {
        c->want_output = 1;
        c->bin_output = dflt;
        return GY_OK;
    }
    if (c->r.n_outputs == 0)
        return gy_error_set(GY_E_INVALID, "\"outputs\" is empty: leave it out to get output-0");
    for (size_t i = 0; i < c->r.n_outputs; i++) {
        const struct gy_v2_output_req *o = &c->r.outputs[i];
        int bin = o->binary >= 0 ? o->binary : dflt;
        if (strcmp(o->name, "output-0") == 0) {
            c->want_output = 1;
            c->bin_output = bin;
        } else if (strcmp(o->name, "margin-0") == 0) {
            c->want_margin = 1;
            c->bin_margin = bin;
        } else {
            return gy_error_set(GY_E_INVALID,
                                "unexpected inference output '%s' for model '%s' (it has "
                                "output-0 and margin-0)",
                                o->name, c->name);
        }
    }
    return GY_OK;
}

/* Parses the body (JSON, JSON + binary, or raw binary) into c->r. */
static enum gy_status parse_body(struct gy_api *api, struct infer_ctx *c)
{
    struct gy_v2_limits lim = {.max_elements = gy_api_v2_max_elements(api)};
    const char *hdr = gy_http_req_header(c->req, "Inference-Header-Content-Length");
    size_t len, json_len;
    const char *body = gy_http_req_body(c->req, &len);
    enum gy_status rc;

    if ((rc = gy__v2_header_length(hdr, len, &json_len)))
        return rc;
    if (hdr && json_len == 0) {
        /* Raw binary: one FP32 matrix for a model whose inputs are all numeric. */
        const struct gy_served_model *m = gy_serving_target_primary(c->target);
        const struct gy_features *f;
        size_t nin;
        if (!m)
            return gy_error_set(GY_E_BUSY, "the model has no loaded version");
        f = gy_model_bundle_features(gy_served_model_bundle(m));
        nin = gy_features_n_inputs(f);
        for (size_t i = 0; i < nin; i++)
            if (gy_features_input_type(f, i) == GY_TYPE_STRING)
                return gy_error_set(GY_E_INVALID,
                                    "a raw binary request (Inference-Header-Content-Length: 0) "
                                    "needs a model whose inputs are all numeric; input '%s' is "
                                    "a string: send JSON with one tensor per column",
                                    gy_features_input_name(f, i));
        return gy__v2_request_raw(body, len, nin, &lim, gy_http_req_arena(c->req), &c->r);
    }
    return gy__v2_request_parse(body, len, json_len, &lim, gy_http_req_arena(c->req), &c->r);
}

/*
 * The media type of an infer body, checked before it is parsed: JSON ("application/json"),
 * or the binary tensor extension ("application/octet-stream", Triton's
 * "application/vnd.sagemaker-triton.binary+json"), in UTF-8 when a charset is given, and not
 * compressed. A request without Content-Type is taken as JSON (or binary with
 * Inference-Header-Content-Length): Triton's own HTTP clients send none. *msg gets the
 * reason of a refusal (415).
 */
static int media_ok(struct gy_http_req *req, char *msg, size_t cap)
{
    static const char *const types[] = {"application/json", "application/octet-stream",
                                        "application/vnd.sagemaker-triton.binary+json"};
    const char *enc = gy_http_req_header(req, "Content-Encoding");
    const char *ct = gy_http_req_header(req, "Content-Type"), *p, *semi;
    size_t n;
    int known = 0;
    if (enc && *enc && strcasecmp(enc, "identity") != 0) {
        snprintf(msg, cap,
                 "Content-Encoding \"%.64s\" is not supported: send the body uncompressed", enc);
        return 0;
    }
    if (!ct)
        return 1;
    semi = strchr(ct, ';');
    n = semi ? (size_t)(semi - ct) : strlen(ct);
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < GY_ARRAY_LEN(types); i++)
        if (n == strlen(types[i]) && strncasecmp(ct, types[i], n) == 0)
            known = 1;
    if (!known) {
        snprintf(msg, cap,
                 "Content-Type \"%.*s\" is not supported: send application/json (or "
                 "application/octet-stream with Inference-Header-Content-Length)",
                 (int)GY_MIN(n, 64), ct);
        return 0;
    }
    for (p = semi; p; p = strchr(p + 1, ';')) {
        const char *a = p + 1, *eq, *end = strchr(a, ';');
        size_t alen;
        while (*a == ' ' || *a == '\t')
            a++;
        alen = end ? (size_t)(end - a) : strlen(a);
        eq = memchr(a, '=', alen);
        if (eq && (size_t)(eq - a) == 7 && strncasecmp(a, "charset", 7) == 0) {
            const char *v = eq + 1;
            size_t vlen = alen - 8;
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            if (!((vlen == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
                  (vlen == 4 && strncasecmp(v, "utf8", 4) == 0))) {
                snprintf(msg, cap, "charset \"%.*s\" is not supported: send UTF-8",
                         (int)GY_MIN(vlen, 32), v);
                return 0;
            }
        }
    }
    return 1;
}

static enum gy_status h_infer(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_api *api = ctx;
    struct gy_arena *arena = gy_http_req_arena(req);
    struct infer_ctx *c;
    const char *version, *sticky;
    enum gy_status rc;
    int expected;

    if (!(c = gy_arena_alloc(arena, sizeof *c)))
        return fail(resp, GY_V2_EP_INFER, gy_error_set(GY_E_NOMEM, "out of memory"));
    memset(c, 0, sizeof *c);
    c->req = req;
    c->resp = resp;
    atomic_init(&c->state, IC_RUNNING);
    {
        char msg[256];
        if (!media_ok(req, msg, sizeof msg))
            return fail_msg(resp, GY_V2_EP_INFER, GY_E_UNSUPPORTED, 415, msg);
    }
    if ((rc = acquire(api, req, &c->name, &version, &c->target)))
        return fail(resp, GY_V2_EP_INFER, rc);
    if ((rc = parse_body(api, c)) || (rc = plan_outputs(c))) {
        count_refused(c->target, rc);
        return fail(resp, GY_V2_EP_INFER, rc);
    }
    if (c->r.raw) {
        c->bin_output = 1;
        c->bin_margin = 1;
    }

    sticky = gy_serving_target_sticky_header(c->target);
    c->call.inputs = c->r.inputs;
    c->call.n_inputs = c->r.n_inputs;
    c->call.sticky = sticky ? gy_http_req_header(req, sticky) : NULL;
    c->call.request_id = c->r.id ? c->r.id : gy_http_req_id(req);
    c->call.want_margins = c->want_margin;
    c->call.arena = arena;
    gy_serving_infer_async(c->target, &c->call, infer_done, c);

    if (atomic_load(&c->state) == IC_DONE) {
        /* Finished inline (no batching, or refused at once): no deferral needed. */
        infer_respond(c, resp);
        return c->rc;
    }
    if (gy_http_resp_defer(resp, &c->deferred) != GY_OK) {
        /* Cannot happen for a handler's own fresh response; wait for the batch instead. */
        struct timespec ts = {0, 100000};
        while (atomic_load(&c->state) != IC_DONE)
            nanosleep(&ts, NULL);
        infer_respond(c, resp);
        return c->rc;
    }
    expected = IC_RUNNING;
    if (atomic_compare_exchange_strong(&c->state, &expected, IC_DEFERRED))
        return GY_OK; /* infer_done responds and finishes */
    /* The batch finished between the check and the deferral: respond here. */
    infer_respond(c, gy_http_deferred_resp(c->deferred));
    gy_http_deferred_finish(c->deferred);
    return GY_OK;
}

/* ------------------------------------------------------------------ repository */

/* An optional JSON object body (empty: NULL). */
static enum gy_status optional_body(struct gy_http_req *req, json_t **out)
{
    size_t len;
    enum gy_status rc;
    *out = NULL;
    gy_http_req_body(req, &len);
    if (len == 0)
        return GY_OK;
    if ((rc = gy_http_req_json(req, out)))
        return rc;
    if (!json_is_object(*out))
        return gy_error_set(GY_E_INVALID, "the request body must be a JSON object");
    return GY_OK;
}

static enum gy_status h_index(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_serving *s = gy_api_serving(ctx);
    json_t *body, *list = NULL, *ready;
    enum gy_status rc;
    int ready_only = 0;
    if (!s)
        return fail(resp, GY_V2_EP_REPOSITORY,
                    gy_error_set(GY_E_BUSY, "model serving is not running in this server"));
    if ((rc = optional_body(req, &body)))
        return fail(resp, GY_V2_EP_REPOSITORY, rc);
    if (body && (ready = json_object_get(body, "ready"))) {
        if (!json_is_boolean(ready))
            return fail(resp, GY_V2_EP_REPOSITORY,
                        gy_error_set(GY_E_INVALID, "\"ready\" must be true or false"));
        ready_only = json_is_true(ready);
    }
    if ((rc = gy_serving_index(s, ready_only, &list)))
        return fail(resp, GY_V2_EP_REPOSITORY, rc);
    return send_json(resp, GY_V2_EP_REPOSITORY, 200, list);
}

static enum gy_status h_load(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_serving *s = gy_api_serving(ctx);
    const char *name = gy_http_req_capture(req, "name");
    json_t *body, *params;
    enum gy_status rc;
    if (!s)
        return fail(resp, GY_V2_EP_REPOSITORY,
                    gy_error_set(GY_E_BUSY, "model serving is not running in this server"));
    if ((rc = optional_body(req, &body)))
        return fail(resp, GY_V2_EP_REPOSITORY, rc);
    params = body ? json_object_get(body, "parameters") : NULL;
    if (params && !json_is_object(params))
        return fail(resp, GY_V2_EP_REPOSITORY,
                    gy_error_set(GY_E_INVALID, "\"parameters\" must be an object"));
    if (params && json_object_size(params)) {
        const char *key = json_object_iter_key(json_object_iter(params));
        return fail(resp, GY_V2_EP_REPOSITORY,
                    gy_error_set(GY_E_UNSUPPORTED,
                                 "load parameter '%s' is not supported: gyre loads models from "
                                 "its registry (register a version, then load it by name)",
                                 key));
    }
    if ((rc = gy_serving_load(s, name)))
        return fail(resp, GY_V2_EP_REPOSITORY, rc);
    return send_json(resp, GY_V2_EP_REPOSITORY, 200,
                     json_pack("{s:s, s:b}", "name", name, "load", 1));
}

static enum gy_status h_unload(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_serving *s = gy_api_serving(ctx);
    const char *name = gy_http_req_capture(req, "name");
    json_t *body, *params, *v;
    enum gy_status rc;
    if (!s)
        return fail(resp, GY_V2_EP_REPOSITORY,
                    gy_error_set(GY_E_BUSY, "model serving is not running in this server"));
    if ((rc = optional_body(req, &body)))
        return fail(resp, GY_V2_EP_REPOSITORY, rc);
    params = body ? json_object_get(body, "parameters") : NULL;
    if (params && !json_is_object(params))
        return fail(resp, GY_V2_EP_REPOSITORY,
                    gy_error_set(GY_E_INVALID, "\"parameters\" must be an object"));
    if (params && (v = json_object_get(params, "unload_dependents")) && !json_is_boolean(v))
        return fail(resp, GY_V2_EP_REPOSITORY,
                    gy_error_set(GY_E_INVALID, "unload_dependents must be true or false"));
    if ((rc = gy_serving_unload(s, name)))
        return fail(resp, GY_V2_EP_REPOSITORY, rc);
    return send_json(resp, GY_V2_EP_REPOSITORY, 200,
                     json_pack("{s:s, s:b}", "name", name, "unload", 1));
}

/* ------------------------------------------------------------------ statistics */

/* Which model versions a stats request wants. */
struct stats_filter {
    const char *model;      /* NULL: all */
    int64_t version;        /* 0: all */
    const char *deployment; /* match the model versions this deployment routes to */
    json_t *list;
    size_t matched;
    /* (model, version) pairs of the deployment's variants */
    struct {
        char model[256];
        int64_t version;
    } pairs[64];
    size_t n_pairs;
    enum gy_status rc;
};

static json_t *dur(const struct gy_stat_duration *d)
{
    return json_pack("{s:I, s:I}", "count", (json_int_t)d->count, "ns", (json_int_t)d->ns);
}

static void collect_variant(const struct gy_variant_stats *v, void *arg)
{
    struct stats_filter *f = arg;
    const char *at;
    size_t n;
    if (!f->deployment || strcmp(v->deployment, f->deployment) != 0 ||
        f->n_pairs >= GY_ARRAY_LEN(f->pairs))
        return;
    at = strchr(v->variant, '@');
    n = at ? (size_t)(at - v->variant) : strlen(v->variant);
    if (n >= sizeof f->pairs[0].model)
        return;
    memcpy(f->pairs[f->n_pairs].model, v->variant, n);
    f->pairs[f->n_pairs].model[n] = '\0';
    f->pairs[f->n_pairs].version = v->version;
    f->n_pairs++;
}

static void collect_model(const struct gy_model_stats *m, void *arg)
{
    struct stats_filter *f = arg;
    json_t *o;
    char vbuf[24];
    if (f->rc)
        return;
    if (f->deployment) {
        size_t i;
        for (i = 0; i < f->n_pairs; i++)
            if (strcmp(f->pairs[i].model, m->name) == 0 && f->pairs[i].version == m->version)
                break;
        if (i == f->n_pairs)
            return;
    } else if (f->model && strcmp(f->model, m->name) != 0) {
        return;
    }
    if (f->version && m->version != f->version)
        return;
    gy_snprintf(vbuf, sizeof vbuf, "%lld", (long long)m->version);
    o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:{}, "
                  "s:[], s:[{s:s, s:i, s:I}]}",
                  "name", m->name, "version", vbuf, "last_inference",
                  (json_int_t)m->last_inference_ms, "inference_count",
                  (json_int_t)m->inference_count, "execution_count", (json_int_t)m->execution_count,
                  "inference_stats", "success", dur(&m->success), "fail", dur(&m->fail), "queue",
                  dur(&m->queue), "compute_input", dur(&m->compute_input), "compute_infer",
                  dur(&m->compute_infer), "compute_output", dur(&m->compute_output), "cache_hit",
                  json_pack("{s:i, s:i}", "count", 0, "ns", 0), "cache_miss",
                  json_pack("{s:i, s:i}", "count", 0, "ns", 0), "response_stats", "batch_stats",
                  "memory_usage", "type", "CPU", "id", 0, "byte_size", (json_int_t)m->memory_bytes);
    if (!o || json_array_append_new(f->list, o)) {
        f->rc = gy_error_set(GY_E_NOMEM, "out of memory");
        return;
    }
    f->matched++;
}

static enum gy_status h_stats(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_api *api = ctx;
    struct gy_serving *s = gy_api_serving(api);
    const char *name = gy_http_req_capture(req, "name");
    const char *version = gy_http_req_capture(req, "version");
    struct stats_filter *f;
    enum gy_status rc;

    if (!s)
        return fail(resp, GY_V2_EP_STATS,
                    gy_error_set(GY_E_BUSY, "model serving is not running in this server"));
    if ((rc = check_version(version)))
        return fail(resp, GY_V2_EP_STATS, rc);
    if (!(f = gy_arena_alloc(gy_http_req_arena(req), sizeof *f)))
        return fail(resp, GY_V2_EP_STATS, gy_error_set(GY_E_NOMEM, "out of memory"));
    memset(f, 0, sizeof *f);
    if (version)
        gy_parse_int64(version, &f->version);
    if (name) {
        /*
         * A name is resolved like any endpoint (loading it if needed, so an unknown name is a
         * 404): a registry reference selects its model, a deployment the versions its routes
         * and shadows resolve to now.
         */
        struct gy_serving_target *t;
        const char *n2, *v2;
        const struct gy_served_model *m;
        if ((rc = acquire(api, req, &n2, &v2, &t)))
            return fail(resp, GY_V2_EP_STATS, rc);
        if (gy_serving_target_is_deployment(t)) {
            f->deployment = name;
            gy_serving_stats(s, NULL, collect_variant, f);
            if (version && (m = gy_serving_target_primary(t))) {
                /* A pinned version names a version of the deployment's first model. */
                f->deployment = NULL;
                f->model = gy_arena_strdup(gy_http_req_arena(req), gy_served_model_name(m));
            }
        } else if ((m = gy_serving_target_primary(t))) {
            f->model = gy_arena_strdup(gy_http_req_arena(req), gy_served_model_name(m));
            if (!version && !strchr(name, '@')) {
                /* "fraud": every loaded version of the model. */
            } else if (!version) {
                f->version = gy_served_model_version(m);
            }
        }
    }
    if (!(f->list = json_array()))
        return fail(resp, GY_V2_EP_STATS, gy_error_set(GY_E_NOMEM, "out of memory"));
    gy_serving_stats(s, collect_model, NULL, f);
    if (f->rc) {
        json_decref(f->list);
        return fail(resp, GY_V2_EP_STATS, f->rc);
    }
    if (name && version && f->matched == 0) {
        json_decref(f->list);
        return fail(resp, GY_V2_EP_STATS,
                    gy_error_set(GY_NOT_FOUND,
                                 "Request for unknown model: '%s' version %s is not found", name,
                                 version));
    }
    return send_json(resp, GY_V2_EP_STATS, 200, json_pack("{s:o}", "model_stats", f->list));
}

/* ------------------------------------------------------------------ routes */

#define NB GY_HTTP_ROUTE_NO_BODY
const struct gy_http_route gy_api_v2_routes[] = {
    {"GET", "/v2", h_server_meta, NB, NULL, "V2 server metadata", 0},
    {"GET", "/v2/health/live", h_live, NB, NULL, "V2 liveness", 0},
    {"GET", "/v2/health/ready", h_ready, NB, NULL, "V2 readiness", 0},
    {"GET", "/v2/models/stats", h_stats, NB, "models:read", "V2 statistics of every model", 0},
    {"GET", "/v2/models/{name}", h_model_meta, NB, "models:meta", "V2 model metadata", 0},
    {"GET", "/v2/models/{name}/ready", h_model_ready, NB, NULL, "V2 model ready", 0},
    {"GET", "/v2/models/{name}/stats", h_stats, NB, "models:read", "V2 model statistics", 0},
    {"POST", "/v2/models/{name}/infer", h_infer, 0, "models:infer", "V2 inference", 0},
    {"GET", "/v2/models/{name}/versions/{version}", h_model_meta, NB, "models:meta",
     "V2 model version metadata", 0},
    {"GET", "/v2/models/{name}/versions/{version}/ready", h_model_ready, NB, NULL,
     "V2 model version ready", 0},
    {"GET", "/v2/models/{name}/versions/{version}/stats", h_stats, NB, "models:read",
     "V2 model version statistics", 0},
    {"POST", "/v2/models/{name}/versions/{version}/infer", h_infer, 0, "models:infer",
     "V2 inference on one version", 0},
    {"POST", "/v2/repository/index", h_index, 0, "models:read", "V2 repository index", 0},
    {"POST", "/v2/repository/models/{name}/load", h_load, 0, "models:write",
     "V2 load a model or deployment", 0},
    {"POST", "/v2/repository/models/{name}/unload", h_unload, 0, "models:write",
     "V2 unload a model or deployment", 0},
};
const size_t gy_api_v2_routes_len = GY_ARRAY_LEN(gy_api_v2_routes);
