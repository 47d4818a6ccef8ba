/* SPDX-License-Identifier: MIT */
/**
 * api.h - the application context shared by gyre's HTTP handlers (struct gy_api) and the
 * route tables of the API modules: native.c (datasets, health, version) and, in their own
 * files, the MLflow-compatible tracking and registry API and the others to come.
 *
 * Every handler of every API module is registered with a struct gy_api * as its ctx:
 *
 *     static enum gy_status h_get(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
 *     {
 *         struct gy_api *api = ctx;
 *         struct gy_db *db;
 *         enum gy_status rc = gy_api_db(api, &db);   this worker thread's own handle
 *         if (rc)
 *             return rc;                             500/503 with the reason
 *         ...
 *     }
 *
 * Handlers run on the HTTP worker threads, several at a time. struct gy_db is not thread-safe,
 * so gy_api_db gives each thread its own handle, opened on first use and closed by
 * gy_api_free. Never keep a handle beyond the handler call or pass it to another thread.
 */
#ifndef GY_API_H
#define GY_API_H

#include "base/base.h"
#include "db/db.h"
#include "http/http.h"

struct gy_api;

struct gy_serving;

/** What the API needs to know about its installation. */
struct gy_api_config {
    const char *home;   /**< data home directory (required) */
    const char *db_url; /**< NULL/"": SQLite in home; or a postgresql:// URL */
    /**
     * The live serving state behind the V2 inference routes and /metrics (borrowed: it must
     * outlive the API context; freed by the caller after the HTTP server stops). NULL: those
     * routes answer 503.
     */
    struct gy_serving *serving;
    /** V2: most tensor elements in one request (all inputs); 0: 1 << 24. */
    uint64_t v2_max_elements;
    /** V2: status of a "not ready" answer (server or model): 503 (0 = default) or 400. */
    int v2_not_ready_status;
};

/**
 * Creates the context. Opens the store once on the calling thread to create the home, apply
 * migrations and fail early on a bad URL (that handle is kept as the calling thread's).
 * Strings are copied. *out new (gy_api_free); NULL on error with the reason in gy_error_msg().
 */
enum gy_status gy_api_create(const struct gy_api_config *cfg, struct gy_api **out);

/**
 * Closes every per-thread database handle and frees the context. Call after the HTTP server
 * has been shut down (no handler may be running). NULL is a no-op.
 */
void gy_api_free(struct gy_api *api);

/** The data home (borrowed, valid until gy_api_free). */
const char *gy_api_home(const struct gy_api *api);

/** The metadata store URL ("" for SQLite in the home; borrowed, valid until gy_api_free). */
const char *gy_api_db_url(const struct gy_api *api);

/** The data home's scratch directory, home/tmp (borrowed), for temporary files. */
const char *gy_api_tmp_dir(const struct gy_api *api);

/**
 * The calling thread's database handle, opened on the first call from this thread. *db is
 * borrowed: use it only on this thread and only until gy_api_free. Thread-safe.
 * GY_E_DB/GY_E_IO/GY_E_BUSY when the store cannot be opened (the next call retries).
 */
enum gy_status gy_api_db(struct gy_api *api, struct gy_db **db);

/**
 * Drops the calling thread's handle (closes it) so that the next gy_api_db opens a fresh one.
 * For a handler that saw its connection break (PostgreSQL restarted). Thread-safe.
 */
void gy_api_db_reset(struct gy_api *api);

/** The serving state given in the config (borrowed), or NULL. */
struct gy_serving *gy_api_serving(const struct gy_api *api);

/** The V2 element limit (the config's, or 1 << 24). */
uint64_t gy_api_v2_max_elements(const struct gy_api *api);

/** The V2 "not ready" status: 503 or 400. */
int gy_api_v2_not_ready_status(const struct gy_api *api);

/** Number of database handles currently open (one per thread that has used one). */
size_t gy_api_db_count(struct gy_api *api);

/**
 * Registers every API module's route table on @p srv with @p api as ctx, and their error
 * writers. The list of tables is in native.c (gy_api_register); new modules add one line
 * there. Call before gy_http_server_start.
 */
enum gy_status gy_api_register(struct gy_api *api, struct gy_http_server *srv);

/** gyre's version string ("0.1.0"). */
#define GY_API_VERSION "0.1.0"

/* ------------------------------------------------------------------ route tables */

/** native.c: /api/v1/health, /api/v1/version, /api/v1/datasets... */
extern const struct gy_http_route gy_api_native_routes[];
extern const size_t gy_api_native_routes_len;

/**
 * mlflow.c: the MLflow REST API 2.0 under /api/2.0/mlflow/ and the artifact proxy under
 * /api/2.0/mlflow-artifacts/. Its error writer formats server-made errors (404, 405, 413,
 * bad JSON) in MLflow's {"error_code", "message"} shape for those prefixes.
 */
extern const struct gy_http_route gy_api_mlflow_routes[];
extern const size_t gy_api_mlflow_routes_len;
void gy_api_mlflow_error_writer(struct gy_http_req *req, struct gy_http_resp *resp, int http_status,
                                enum gy_status code, const char *msg, void *ctx);

/**
 * jobs.c: training jobs, POST /api/v1/train and GET /api/v1/train/{run_id}. A job is a
 * tracked run trained by a `gyre train` child process of the server.
 */
extern const struct gy_http_route gy_api_jobs_routes[];
extern const size_t gy_api_jobs_routes_len;

/**
 * v2.c: the KServe/Triton V2 inference protocol under /v2 (health, metadata, infer with the
 * binary tensor extension, repository index/load/unload, statistics). See docs/v2.md.
 */
extern const struct gy_http_route gy_api_v2_routes[];
extern const size_t gy_api_v2_routes_len;

/** metrics.c: GET /metrics, Prometheus text exposition. See docs/metrics.md. */
extern const struct gy_http_route gy_api_metrics_routes[];
extern const size_t gy_api_metrics_routes_len;

/** feedback.c: POST /api/v1/feedback and GET /api/v1/deployments/{name}/metrics. */
extern const struct gy_http_route gy_api_feedback_routes[];
extern const size_t gy_api_feedback_routes_len;

/** pipelines.c: /api/v1/pipelines (apply, read, trigger, runs). See docs/pipelines.md. */
extern const struct gy_http_route gy_api_pipelines_routes[];
extern const size_t gy_api_pipelines_routes_len;

/** admin.c: /api/v1/tokens and /api/v1/audit (docs/security.md). */
extern const struct gy_http_route gy_api_admin_routes[];
extern const size_t gy_api_admin_routes_len;

#endif /* GY_API_H */
