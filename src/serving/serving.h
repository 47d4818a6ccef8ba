/* SPDX-License-Identifier: MIT */
/**
 * serving.h - live model serving: deployments (persisted, revisioned routing specs), served
 * models (bundle + compiled engine, reference counted), the router (weighted A/B/n, canary,
 * sticky by header, shadow mirroring), the watcher that applies registry and deployment
 * changes by load-then-swap, dynamic batching, and per-model and per-variant statistics.
 *
 * Protocol-free: src/api/v2.c turns HTTP requests into struct gy_tensor inputs and calls
 * gy_serving_infer; src/api/metrics.c reads the statistics. See docs/internals/serving.md.
 *
 * Names. A client asks for an endpoint NAME (optionally with a version):
 *   - NAME is a deployment: its routes decide which model version answers;
 *   - else NAME is a registry reference ("fraud" = its champion, else its latest version;
 *     "fraud@challenger"; "fraud@3"), served as an implicit deployment with one route;
 *   - a version given separately (V2 /versions/{v}) pins that version of the endpoint's model
 *     (for a deployment: of its first route's model) and bypasses routing.
 * Endpoints are loaded on first use (or by gy_serving_load) and stay resident until
 * gy_serving_unload.
 *
 * Hot swap. A watcher thread re-reads deployments and re-resolves every route of every
 * resident endpoint each poll interval (default 250 ms). When a resolved version changes it
 * loads and compiles the new version first, then swaps the endpoint's routing snapshot in
 * one pointer store. Requests hold a reference to the snapshot they started with, so a
 * request is answered entirely by one version and no request fails during a swap. A version
 * that fails to load (corrupt object, invalid bundle) is refused: the old snapshot keeps
 * serving, the failure is counted and logged, and the load is retried with backoff.
 *
 * Thread-safety: every function here may be called from any thread unless it says otherwise.
 */
#ifndef GY_SERVING_H
#define GY_SERVING_H

#include "base/base.h"
#include "db/db.h"
#include "models/models.h"

/*
 * "Known but not loadable" (a refused model version, an unloaded endpoint). base.h has no
 * such code yet, so it is an alias of GY_E_BUSY (both mean "503: not now") until one is added
 * there; the error text always says which case it is.
 */
#ifndef GY_E_UNAVAILABLE
#define GY_E_UNAVAILABLE GY_E_BUSY
#endif

/* ------------------------------------------------------------------ tensors */

/** V2 datatypes. */
enum gy_dtype {
    GY_DT_BOOL = 1,
    GY_DT_UINT8,
    GY_DT_UINT16,
    GY_DT_UINT32,
    GY_DT_UINT64,
    GY_DT_INT8,
    GY_DT_INT16,
    GY_DT_INT32,
    GY_DT_INT64,
    GY_DT_FP16,
    GY_DT_BF16,
    GY_DT_FP32,
    GY_DT_FP64,
    GY_DT_BYTES,
};

/** "FP32", ... (static); NULL for an unknown value. */
const char *gy_dtype_name(enum gy_dtype t);
/** Parses a V2 datatype name (case-sensitive). GY_E_INVALID for an unknown one. */
enum gy_status gy_dtype_parse(const char *s, enum gy_dtype *out);
/** Bytes per element; 0 for BYTES (variable). */
size_t gy_dtype_size(enum gy_dtype t);

#define GY_TENSOR_MAX_DIMS 8

/** One BYTES element. */
struct gy_bytes {
    const char *data;
    uint32_t len;
};

/**
 * A tensor: @c data holds n_elems elements of @c dtype, row-major, native little-endian
 * layout (for GY_DT_BYTES: n_elems struct gy_bytes). Memory is borrowed (request arena or
 * request body).
 */
struct gy_tensor {
    const char *name;
    enum gy_dtype dtype;
    int ndim;
    uint64_t shape[GY_TENSOR_MAX_DIMS];
    uint64_t n_elems;
    const void *data;
};

/* ------------------------------------------------------------------ deployments */

/** One route: a registry reference and its share of traffic. */
struct gy_deploy_route {
    char *model;     /* registered model name */
    char *ref;       /* alias ("champion") or version number as text ("3") */
    uint32_t weight; /* 0..1000000; shares are weight / sum of weights (shadows: ignored) */
};

/** A deployment's routing spec, as persisted. Every string is owned. */
struct gy_deploy_spec {
    char *name;
    struct gy_deploy_route *routes; /* >= 1 */
    size_t n_routes;
    struct gy_deploy_route *shadows; /* mirrored, results logged, never returned */
    size_t n_shadows;
    char *sticky_header;         /* NULL: each request routed at random by weight */
    uint32_t max_batch_size;     /* 0: dynamic batching off (default) */
    uint64_t max_queue_delay_us; /* batching: longest wait for a fuller batch */
    uint32_t max_queue_size;     /* batching: queued requests beyond this get 503 */
    double log_sample;           /* share of requests written to the prediction log, 0..1 */
};

void gy_deploy_spec_free(struct gy_deploy_spec *s);

/**
 * Parses "MODEL@REF=WEIGHT" (weight optional: 100; REF optional: "champion") into @p r
 * (strings new). GY_E_INVALID naming what is wrong.
 */
enum gy_status gy_deploy_route_parse(const char *text, struct gy_deploy_route *r);

/** Spec <-> JSON ({"name", "routes": [{"model","ref","weight"}], "shadows", ...}). */
enum gy_status gy_deploy_spec_to_json(const struct gy_deploy_spec *s, json_t **out);
/** Validates every field (names, weights not all 0, limits); GY_E_INVALID with the field. */
enum gy_status gy_deploy_spec_from_json(const json_t *j, struct gy_deploy_spec **out);

/**
 * Stores a new deployment (revision 1). Routes must name existing models and resolvable
 * references (GY_NOT_FOUND otherwise); GY_E_EXISTS for a taken name. *out (may be NULL) new:
 * the stored record as gy_deploy_get returns it.
 */
enum gy_status gy_deploy_create(struct gy_db *db, const struct gy_deploy_spec *spec,
                                const char *reason, json_t **out);
/** Replaces the spec of an existing deployment: a new revision. */
enum gy_status gy_deploy_update(struct gy_db *db, const struct gy_deploy_spec *spec,
                                const char *reason, json_t **out);
/**
 * Makes the spec of an earlier revision current again, as a new revision: @p to_revision,
 * or 0 for the one before the current. GY_NOT_FOUND when there is none.
 */
enum gy_status gy_deploy_rollback(struct gy_db *db, const char *name, int64_t to_revision,
                                  const char *reason, json_t **out);
/**
 * {"name", "revision", "spec": {...}, "created_us", "updated_us", "reason"} plus "resolved":
 * [{"model","ref","version","weight"}] for the routes and shadows resolved now.
 */
enum gy_status gy_deploy_get(struct gy_db *db, const char *name, json_t **out);
/** The spec of the current revision (new). */
enum gy_status gy_deploy_get_spec(struct gy_db *db, const char *name, struct gy_deploy_spec **out,
                                  int64_t *revision);
/** [{"name","revision","routes":"...","updated_us"}] ordered by name. */
enum gy_status gy_deploy_list(struct gy_db *db, json_t **out);
/** Every revision, newest first: [{"revision","spec","created_us","reason"}]. */
enum gy_status gy_deploy_history(struct gy_db *db, const char *name, json_t **out);
enum gy_status gy_deploy_delete(struct gy_db *db, const char *name);

/* ------------------------------------------------------------------ the live state */

struct gy_serving;
struct gy_served_model;   /* one loaded model version (refcounted) */
struct gy_serving_target; /* an acquired endpoint snapshot (refcounted) */

struct gy_serving_config {
    const char *home;    /* data home (required) */
    const char *db_url;  /* NULL/"": SQLite in home */
    unsigned poll_ms;    /* watcher interval, default 250 */
    int batch_threads;   /* threads running batches, default 1 */
    size_t shadow_queue; /* shadow requests waiting at most, default 1024 (then dropped) */
    int allow_inf;       /* 0 (default): an Inf input is refused; 1: passed to the model */
    /* prediction log (0: defaults 262144, 65536, 2000 ms) */
    size_t predlog_queue;         /* records waiting at most; more are dropped (counted) */
    size_t predlog_flush_records; /* a flush starts when this many records wait */
    unsigned predlog_flush_ms;    /* ... or this long after the last flush */
};
void gy_serving_config_init(struct gy_serving_config *cfg);

/** Creates the state (nothing loaded yet). *out new. */
enum gy_status gy_serving_create(const struct gy_serving_config *cfg, struct gy_serving **out);
/**
 * Loads every deployment (models they route to are loaded and compiled) and starts the
 * watcher. Failures to load one deployment are logged and leave it not ready; they do not
 * fail the start. After this returns, gy_serving_ready is true.
 */
enum gy_status gy_serving_start(struct gy_serving *s);
/** Stops the watcher and batchers (waiting for queued work), then frees. NULL is a no-op. */
void gy_serving_free(struct gy_serving *s);

int gy_serving_ready(const struct gy_serving *s);

/**
 * Acquires endpoint @p name (see the top of this file), @p version NULL or a version number
 * as text. Loads it on first use. GY_NOT_FOUND (unknown deployment, model, alias or
 * version: the text says which), GY_E_INVALID (malformed name or version), GY_E_UNAVAILABLE
 * (known but its model failed to load: the text has the reason). *out must be released.
 */
enum gy_status gy_serving_acquire(struct gy_serving *s, const char *name, const char *version,
                                  struct gy_serving_target **out);
void gy_serving_release(struct gy_serving_target *t);

/** The endpoint's name as asked, and whether it is a deployment. */
const char *gy_serving_target_name(const struct gy_serving_target *t);
int gy_serving_target_is_deployment(const struct gy_serving_target *t);
/**
 * The model that describes the endpoint's signature: the pinned version, else the first
 * route's current version (borrowed while @p t is held).
 */
const struct gy_served_model *gy_serving_target_primary(const struct gy_serving_target *t);
/** Versions the endpoint can answer with now (ascending, deduplicated), *n of them. */
const int64_t *gy_serving_target_versions(const struct gy_serving_target *t, size_t *n);
/**
 * The request header whose value routes stickily (the deployment's sticky_header; borrowed
 * while @p t is held), or NULL: the protocol layer passes that header's value as
 * gy_serving_call.sticky.
 */
const char *gy_serving_target_sticky_header(const struct gy_serving_target *t);
/**
 * The deployment's log_sample (0 for an implicit endpoint): the share of requests written to
 * the prediction log, the lake dataset "predlog-DEPLOYMENT" (see docs/monitoring.md).
 */
double gy_serving_target_log_sample(const struct gy_serving_target *t);

/** What a served model exposes (all borrowed while the model is held). */
const char *gy_served_model_name(const struct gy_served_model *m);
int64_t gy_served_model_version(const struct gy_served_model *m);
const struct gy_model_bundle *gy_served_model_bundle(const struct gy_served_model *m);
const struct gy_engine *gy_served_model_engine(const struct gy_served_model *m);

/**
 * One inference. The caller fills the inputs; gy_serving_infer routes (unless pinned),
 * maps the input tensors onto the chosen model's input columns, applies the preprocessing,
 * runs the engine (directly, or through the deployment's batcher), mirrors to shadows, and
 * fills the outputs.
 *
 * Input mapping, checked against the chosen model's signature:
 *   - one tensor of shape [N, n_inputs] (any name) with a numeric or BOOL datatype, columns in
 *     signature order; allowed when no input is a string column; or [n_inputs] for one row;
 *   - or one tensor per input column, named as the column, shape [N] or [N, 1], all with the
 *     same N; BYTES for string columns, numeric or BOOL datatypes for the others.
 * NaN is missing; Inf is refused unless cfg.allow_inf. Errors: GY_E_INVALID with a message
 * naming the tensor, element or column.
 */
struct gy_serving_call {
    /* in */
    const struct gy_tensor *inputs;
    size_t n_inputs;
    const char *sticky;     /* value of the deployment's sticky header, or NULL */
    const char *request_id; /* for the prediction log */
    int want_margins;       /* 1: also compute margins */
    struct gy_arena *arena; /* outputs and scratch are allocated here */
    /* out (valid while the target is held) */
    const struct gy_served_model *model; /* the version that answered */
    const char *variant;                 /* "MODEL@REF" of the route that answered */
    uint64_t nrows;
    size_t n_outputs;              /* per row */
    float *outputs;                /* nrows x n_outputs */
    size_t n_margins;              /* per row */
    float *margins;                /* nrows x n_margins, when want_margins */
    uint64_t queue_ns, compute_ns; /* time spent waiting for a batch, and computing */
    int input_error;               /* enum gy_input_error when the inputs were refused, else -1 */
};

/**
 * Runs @p call on endpoint @p t synchronously (blocks while a batch forms when the
 * deployment batches). Records statistics. GY_OK or an error as described above;
 * GY_E_BUSY when the batch queue is full.
 */
enum gy_status gy_serving_infer(struct gy_serving_target *t, struct gy_serving_call *call);

/**
 * The same without blocking: @p done is called exactly once with the result, either before
 * this returns (no batching, or an immediate error) or later on a batcher thread (where
 * gy_error_msg() holds the error text during the callback). @p call and its arena must stay
 * valid until then. A queued request holds its own reference to @p t, but call->model and
 * call->variant are valid after @p done returns only while the caller still holds @p t.
 */
typedef void (*gy_serving_done_fn)(struct gy_serving_call *call, enum gy_status rc, void *ctx);
void gy_serving_infer_async(struct gy_serving_target *t, struct gy_serving_call *call,
                            gy_serving_done_fn done, void *ctx);

/* ------------------------------------------------------------------ repository */

/**
 * Makes endpoint @p name resident (loading its models now, ignoring any retry backoff) or drops
 * it; V2 repository load/unload. Unloading lets in-flight requests finish on the old snapshot;
 * afterwards the name (every pinned version of it too) answers GY_E_UNAVAILABLE "unloaded"
 * until it is loaded again, and the watcher does not bring an unloaded deployment back.
 */
enum gy_status gy_serving_load(struct gy_serving *s, const char *name);
enum gy_status gy_serving_unload(struct gy_serving *s, const char *name);

/**
 * The repository index: every registered model version and deployment with its state
 * ([{"name", "version", "state": "READY"|"UNAVAILABLE"|"LOADING", "reason"}]), new.
 * @p ready_only keeps the READY ones.
 */
enum gy_status gy_serving_index(struct gy_serving *s, int ready_only, json_t **out);

/* ------------------------------------------------------------------ statistics */

/** A duration statistic as Triton reports it: count and total nanoseconds. */
struct gy_stat_duration {
    uint64_t count, ns;
};

/** Per loaded model version, cumulative since the server started. */
struct gy_model_stats {
    const char *name;
    int64_t version;
    uint64_t last_inference_ms; /* wall clock of the last request; 0 if none */
    uint64_t inference_count;   /* rows inferred */
    uint64_t execution_count;   /* engine runs (a batch is one) */
    uint64_t pending;           /* requests in flight now */
    struct gy_stat_duration success, fail, queue, compute_input, compute_infer, compute_output;
    uint64_t fail_by_reason[4]; /* GY_FAIL_* below */
    uint64_t memory_bytes;      /* engine + bundle */
    uint64_t load_ns;           /* how long loading took */
};
enum { GY_FAIL_REJECTED = 0, GY_FAIL_BACKEND = 1, GY_FAIL_CANCELED = 2, GY_FAIL_OTHER = 3 };

/** Latency histogram buckets (seconds) shared by the per-variant histograms. */
#define GY_SERVING_N_BUCKETS 14
extern const double gy_serving_buckets[GY_SERVING_N_BUCKETS];

/** Per deployment variant (route or shadow). */
struct gy_variant_stats {
    const char *deployment;
    const char *variant; /* "MODEL@REF" */
    int64_t version;     /* resolved version now */
    int shadow;          /* 1 for a shadow */
    uint64_t routed;     /* requests answered (shadows: mirrored) */
    uint64_t errors;
    uint64_t dropped;                      /* shadows: dropped because the queue was full */
    uint64_t bucket[GY_SERVING_N_BUCKETS]; /* cumulative counts of latency <= bucket */
    uint64_t count;
    double sum_s;
};

/** Per endpoint and overall, for gyre's own metrics. */
struct gy_serving_totals {
    uint64_t loads, load_failures; /* model version loads attempted and failed */
    uint64_t swaps;                /* routing snapshots replaced */
    uint64_t batches, batched_requests;
    uint64_t predlog_records, predlog_dropped; /* prediction log: queued, and dropped */
};

/**
 * Calls @p fn for every loaded model version, then @p vfn for every variant (either may be
 * NULL), with a consistent-enough snapshot (each counter read atomically). Strings are valid
 * during the callback only. The callbacks run under the serving state's list locks: they must
 * not call back into serving. Implicit endpoints (registry references) have no variants.
 */
void gy_serving_stats(struct gy_serving *s, void (*fn)(const struct gy_model_stats *, void *),
                      void (*vfn)(const struct gy_variant_stats *, void *), void *ctx);
void gy_serving_totals(struct gy_serving *s, struct gy_serving_totals *out);

/* ------------------------------------------------------------------ refused inputs */

/**
 * Why a V2 infer request was refused for its input (see docs/monitoring.md, "Data quality"):
 * the protocol layer counts each refusal on the endpoint it named, and the drift monitor turns
 * the share of refusals per deployment into the GyreDataQuality alert.
 */
enum gy_input_error {
    GY_INPUT_ERR_SHAPE = 0,     /* element count, shape, rank or row count mismatch */
    GY_INPUT_ERR_TYPE = 1,      /* wrong datatype, BYTES for numeric, a value of the wrong kind */
    GY_INPUT_ERR_MISSING = 2,   /* a required input absent, or an unknown input name */
    GY_INPUT_ERR_MALFORMED = 3, /* JSON or binary framing errors (the codec's 400s) */
    GY_INPUT_ERR_TOO_LARGE = 4, /* over a size limit (413) */
    GY_INPUT_ERR_N = 5
};

/** "shape", "type", "missing", "malformed", "too_large" (static); "?" out of range. */
const char *gy_input_error_name(enum gy_input_error k);

/**
 * Classifies the failure @p rc of gy_serving_infer / gy_serving_infer_async on @p call: the
 * kind the input mapping recorded in call->input_error where it refused the request (shape,
 * type, missing; a value error such as an Inf, with every tensor matching the signature, is
 * "type"), GY_INPUT_ERR_TOO_LARGE for GY_E_TOO_LARGE, "malformed" when no model was mapped.
 * Returns -1 for a failure that is not about the input (busy, out of memory, internal).
 */
int gy_serving_input_error_classify(const struct gy_serving_call *call, enum gy_status rc);

/**
 * Counts one request refused for @p kind on the endpoint of @p t (held by the caller). One
 * relaxed atomic add; lock-free. An out-of-range kind is ignored.
 */
void gy_serving_input_error_count(struct gy_serving_target *t, enum gy_input_error k);

/** The refused-input counters of one endpoint name (its pinned versions summed in). */
struct gy_input_error_stats {
    const char *endpoint; /* the name as asked: a deployment or a registry reference */
    int deployment;       /* 1 when the name is a deployment */
    uint64_t count[GY_INPUT_ERR_N];
};

/**
 * Calls @p fn once per endpoint name the serving state knows (unknown names, the negative
 * cache, are left out, so the set is bounded by what exists), with the cumulative counts since
 * the server started. Runs under the serving state's lock: @p fn must not call back into
 * serving; strings are valid during the call only.
 */
void gy_serving_input_errors(struct gy_serving *s,
                             void (*fn)(const struct gy_input_error_stats *, void *), void *ctx);

/* ------------------------------------------------------------------ feedback */

/**
 * Stores feedback on logged predictions of deployment @p deployment: @p items is a JSON array
 * (1 to 100000) of {"request_id": "...", "label": number|bool, "value": number} with a label
 * (ground truth), a value (business outcome) or both. A request already reported is replaced.
 * All or nothing: GY_E_INVALID naming the first bad item stores none. *stored: items stored.
 */
enum gy_status gy_feedback_put(struct gy_db *db, const char *deployment, const json_t *items,
                               size_t *stored);

/**
 * Online metrics of @p deployment: its feedback (reported at or after @p since_us; 0: all)
 * joined by request id to its prediction log dataset "predlog-DEPLOYMENT" as flushed so far.
 * *out new: {"deployment", "since_us", "feedback", "matched", "unmatched", "logged",
 * "versions": [{"version", "labeled", "valued", "rmse", "mae", "accuracy", "auc", "logloss",
 * "value_sum", "value_mean"}]} (a metric is absent when it does not apply; see
 * docs/monitoring.md). Each version also holds the sufficient statistics of the A/B tests:
 * "mse", "se_var", "ae_var", "logloss_var", "value_var" (sample variances, ddof 1, of the
 * per-row squared error, absolute error, log loss and value; present from 2 rows), and for a
 * binary classifier "correct", "positives", "negatives" and "auc_se" (Hanley-McNeil).
 * A result over all feedback (since_us 0) also updates the gauges.
 */
enum gy_status gy_feedback_metrics(struct gy_db *db, const char *deployment, int64_t since_us,
                                   json_t **out);

/**
 * Calls @p fn for every metric of the last gy_feedback_metrics result over all feedback of
 * each deployment in this process (for the gyre_online_metric gauges). Must not call back.
 */
void gy_feedback_gauges(void (*fn)(const char *deployment, int64_t version, const char *metric,
                                   double v, void *ctx),
                        void *ctx);
/** Forgets every result kept for the gauges. */
void gy_feedback_gauges_reset(void);

#endif /* GY_SERVING_H */
