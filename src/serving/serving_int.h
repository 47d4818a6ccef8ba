/* SPDX-License-Identifier: MIT */
/*
 * serving_int.h - private structures shared by the files of src/serving: served models
 * (model.c), endpoints and their routing snapshots (state.c), the router (router.c), input
 * mapping and the engine call (infer.c), the dynamic batcher (batch.c), the shadow worker
 * (shadow.c) and the statistics (stats.c). Not for other modules.
 *
 * Ownership in one picture:
 *
 *   gy_serving ── table ──► endpoint ── current ──► snapshot (= gy_serving_target)
 *        │                     ▲  │                    │ routes/shadows
 *        │                     │  └─ variants (stats)  ▼
 *        └── models list ──────┼──────────────► served model (bundle + engine + stats)
 *                              └──── each snapshot holds a reference to its endpoint
 *
 * Requests hold a snapshot reference (atomic); a snapshot holds references to its endpoint and
 * to its served models. Swapping a snapshot never frees anything in use.
 */
#ifndef GY_SERVING_INT_H
#define GY_SERVING_INT_H

#include "serving/serving.h"

#include <pthread.h>
#include <stdatomic.h>

#define GY_DEPLOY_NAME_MAX 128
#define GY_DEPLOY_MAX_ROUTES 32
#define GY_DEPLOY_MAX_SHADOWS 8
#define GY_DEPLOY_MAX_WEIGHT 1000000u
#define GY_DEPLOY_MAX_BATCH 65536u
#define GY_DEPLOY_MAX_DELAY_US 10000000u /* 10 s */
#define GY_DEPLOY_MAX_QUEUE 1000000u
#define GY_DEPLOY_DEFAULT_QUEUE 1024u
#define GY_DEPLOY_DEFAULT_WEIGHT 100u
#define GY_DEPLOY_HEADER_MAX 128
#define GY_DEPLOY_REASON_MAX 4096

/* ------------------------------------------------------------------ tensors (tensor.c) */

/** Element @p i of a numeric or BOOL tensor widened to double. */
double gy__tensor_get(const struct gy_tensor *t, uint64_t i);
/** True for FP16, BF16, FP32 and FP64. */
int gy__dtype_is_float(enum gy_dtype t);
/** IEEE half and bfloat16 to float (exact). */
float gy__half_to_float(uint16_t h);
float gy__bf16_to_float(uint16_t h);

/* ------------------------------------------------------------------ deployments (deploy.c) */

/** Checks a deployment name: 1..GY_DEPLOY_NAME_MAX bytes of [A-Za-z0-9_.-], no leading '.'. */
enum gy_status gy__deploy_name_check(const char *name);
/** "MODEL@REF" of a route (new). */
char *gy__deploy_route_label(const struct gy_deploy_route *r);
/** Deep copy of a spec (new). */
enum gy_status gy__deploy_spec_copy(const struct gy_deploy_spec *s, struct gy_deploy_spec **out);
/** "m@r=90,m@c=10" (new). */
char *gy__deploy_routes_text(const struct gy_deploy_spec *s);

/* ------------------------------------------------------------------ statistics (stats.c) */

struct gy__dur {
    _Atomic uint64_t count, ns;
};

static inline void gy__dur_add(struct gy__dur *d, uint64_t ns)
{
    atomic_fetch_add_explicit(&d->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&d->ns, ns, memory_order_relaxed);
}

static inline void gy__add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t gy__get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/** The statistics of one variant of one deployment; owned by the endpoint. */
struct gy__variant {
    char *label; /* "MODEL@REF" */
    int shadow;
    _Atomic int64_t version;
    _Atomic uint64_t routed, errors, dropped;
    _Atomic uint64_t bucket[GY_SERVING_N_BUCKETS]; /* non-cumulative here; summed on read */
    _Atomic uint64_t count, sum_ns;
};

/** Records one request of @p ns nanoseconds on @p v (ok: routed, else errors). */
void gy__variant_record(struct gy__variant *v, uint64_t ns, int ok);

/* ------------------------------------------------------------------ served models (model.c) */

struct gy_served_model {
    long refs; /* guarded by serving->models_mu */
    struct gy_serving *s;
    struct gy_served_model *next; /* serving->models list */
    char *name;
    int64_t version;
    char *bundle_hash;
    struct gy_model_bundle *bundle;
    const struct gy_features *features; /* borrowed from bundle */
    struct gy_engine *engine;
    size_t n_in, n_feat, n_marg, n_out;
    enum gy_type *types; /* n_in input types */
    /*
     * Numeric fast path (decided at load): every input is a float64, int64 or bool column
     * passed through unchanged (no imputation, clipping or scaling), outputs in input order.
     * Then a row is converted value by value without gy_feature_value (ops[i] says how);
     * identity: all of them float64, so a row of floats is the preprocessed row itself.
     */
    int numeric_fast;
    int identity;
    uint8_t *ops;    /* GY__OP_* per input when numeric_fast */
    int has_strings; /* some input is a string column */
    uint64_t bundle_bytes, load_ns;
    /* statistics (Triton's per model version) */
    _Atomic uint64_t last_ms, inference_count, execution_count, pending;
    struct gy__dur success, fail, queue, cin, cinfer, cout;
    _Atomic uint64_t fail_reason[4];
};

enum { GY__OP_F64 = 1, GY__OP_I64 = 2, GY__OP_BOOL = 3 };

/** What an int64 column makes of a number: truncated to an integer when in range. */
static inline double gy__i64_trunc(double d)
{
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        return (double)(int64_t)d;
    return d;
}

/**
 * The served model for (@p name, @p version, @p bundle_hash): the loaded one when there is one,
 * else loaded now through @p db (object store, bundle, engine). Counts loads and failures.
 * *out holds a new reference (gy__served_model_unref). Error text says why a load failed.
 */
enum gy_status gy__served_model_get(struct gy_serving *s, struct gy_db *db, const char *name,
                                    int64_t version, const char *bundle_hash,
                                    struct gy_served_model **out);
/** Adds a reference to a model the caller already holds. */
void gy__served_model_ref(struct gy_served_model *m);
/** Drops a reference; the last one frees the model. NULL is a no-op. */
void gy__served_model_unref(struct gy_served_model *m);
/** Frees a model (no list, no counting). */
void gy__served_model_destroy(struct gy_served_model *m);

/* ------------------------------------------------------------------ snapshots and endpoints */

struct gy__sroute {
    struct gy_served_model *m; /* reference */
    struct gy__variant *var;   /* owned by the endpoint; NULL for implicit endpoints */
    char *label;               /* "MODEL@REF" */
    uint64_t cum;              /* cumulative weight up to and including this route */
};

/** A routing snapshot: immutable once published; what a request holds. */
struct gy_serving_target {
    _Atomic long refs;
    struct gy__endpoint *ep; /* reference */
    int64_t revision;        /* deployment revision (0 for implicit endpoints) */
    int deployment;          /* answers for a deployment (pinned ones included) */
    size_t n_routes, n_shadows;
    struct gy__sroute *routes, *shadows;
    uint64_t total_weight;
    char *sticky_header;
    uint32_t max_batch;
    uint64_t delay_ns;
    uint32_t max_queue;
    double log_sample;
    int64_t *versions;
    size_t n_versions;
};

enum gy__ep_kind { GY__EP_DEPLOYMENT = 1, GY__EP_REF = 2, GY__EP_PINNED = 3 };

enum gy__ep_state {
    GY__EP_LOADING = 1,     /* first load in progress */
    GY__EP_READY = 2,       /* current snapshot serves */
    GY__EP_UNAVAILABLE = 3, /* known, but never loaded successfully (reason, err) */
    GY__EP_ABSENT = 4,      /* negative cache: unknown name until absent_until_ns */
    GY__EP_UNLOADED = 5,    /* dropped by gy_serving_unload; load brings it back */
};

/** One queued request of a batching endpoint (batch.c). */
struct gy__bitem {
    struct gy__bitem *next;
    struct gy_serving_call *call;
    struct gy_serving_target *snap; /* reference */
    struct gy__sroute *route;
    const float *x; /* preprocessed rows (call arena) */
    int64_t t0_ns, enq_ns, cin_ns;
    gy_serving_done_fn done;
    void *ctx;
};

/** A deployment's batch queue; guarded by the batcher's mutex. */
struct gy__bqueue {
    struct gy__bitem *head, *tail;
    size_t count;
    uint64_t rows;
    int listed;                 /* on the batcher's list of non-empty queues */
    struct gy__endpoint *lnext; /* next on that list */
};

struct gy__endpoint {
    _Atomic long refs; /* the table's, plus one per snapshot */
    struct gy_serving *s;
    struct gy__endpoint *hnext;
    uint64_t hash;
    char *name; /* as asked */
    char *pin;  /* version text for a pinned endpoint, else NULL */
    enum gy__ep_kind kind;
    /* guarded by serving->mu */
    struct gy_serving_target *current;
    enum gy__ep_state state;
    enum gy_status err;
    char *reason;
    int64_t absent_until_ns;
    int linked; /* in the table */
    struct gy__variant **vars;
    size_t n_vars;
    /* guarded by refresh_mu (one refresh at a time) */
    pthread_mutex_t refresh_mu;
    struct gy_deploy_spec *spec; /* deployments: the spec of spec_rev */
    int64_t spec_rev;
    char *key;        /* what the current snapshot serves (compared with what is wanted) */
    char *failed_key; /* what the last refused load wanted */
    int64_t retry_at_ns, backoff_ns;
    /* guarded by serving->mu: the last refused model version, for the index */
    char *failed_model;
    int64_t failed_version;
    /* batch.c */
    struct gy__bqueue bq;
    /* stats.c: V2 requests refused for their input, per enum gy_input_error */
    _Atomic uint64_t input_errors[GY_INPUT_ERR_N];
};

/** Drops a snapshot reference (the last frees it). NULL is a no-op. */
void gy__snap_unref(struct gy_serving_target *t);
/** Drops an endpoint reference. */
void gy__endpoint_unref(struct gy__endpoint *ep);

/* ------------------------------------------------------------------ the state (state.c) */

struct gy__batcher;
struct gy__shadower;
struct gy__predlog;

struct gy_serving {
    char *home;
    char *db_url;
    unsigned poll_ms;
    int batch_threads;
    size_t shadow_queue;
    int allow_inf;

    /* endpoints */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* endpoint state changes (first loads) */
    struct gy__endpoint **buckets;
    size_t nbuckets, n_endpoints, n_absent;

    /* loaded model versions */
    pthread_mutex_t models_mu;
    struct gy_served_model *models;

    /* the request-side loader's database handle */
    pthread_mutex_t loader_mu;
    struct gy_db *loader_db;

    /* the watcher */
    pthread_t watcher;
    int watcher_running;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    int stopping;
    struct gy_db *watch_db;
    _Atomic int ready;
    int64_t wall_minus_mono_ns; /* wall clock = monotonic + this (for last_inference_ms) */

    struct gy__batcher *batcher;
    struct gy__shadower *shadower;
    struct gy__predlog *predlog;

    _Atomic uint64_t loads, load_failures, swaps, batches, batched_requests;
};

/* ------------------------------------------------------------------ router (router.c) */

/** FNV-1a 64 of a string. */
uint64_t gy__fnv1a64(const char *s, size_t n);
/** Picks the route for a request (sticky value may be NULL). */
struct gy__sroute *gy__route_pick(const struct gy_serving_target *t, const char *sticky);

/* ------------------------------------------------------------------ inference (infer.c) */

/**
 * Maps @p call's inputs onto @p m's inputs and preprocesses them into a new nrows x n_feat
 * matrix (*x, from the call's arena; may point into the input tensor when no copy is needed).
 * GY_E_INVALID naming the tensor, element or column.
 */
enum gy_status gy__infer_map(const struct gy_serving *s, const struct gy_served_model *m,
                             struct gy_serving_call *call, const float **x, uint64_t *nrows);

/**
 * Completes one request that started at @p t0_ns and ended at @p t_end_ns (monotonic; 0: now):
 * statistics, shadows, then the callback.
 */
void gy__infer_finish(struct gy_serving *s, struct gy_serving_target *t, struct gy__sroute *r,
                      struct gy_serving_call *call, const float *x, enum gy_status rc,
                      int64_t t0_ns, int64_t t_end_ns, gy_serving_done_fn done, void *ctx);

/** Counts a failure of @p reason on @p m (and on the variant). */
void gy__infer_fail_stats(struct gy_served_model *m, struct gy__variant *v, int reason,
                          uint64_t ns);

/* ------------------------------------------------------------------ batching (batch.c) */

enum gy_status gy__batcher_create(struct gy_serving *s, int nthreads, struct gy__batcher **out);
/** Runs what is queued, stops the threads and frees. NULL is a no-op. */
void gy__batcher_free(struct gy__batcher *b);
/**
 * Queues a mapped request; GY_E_BUSY when the endpoint's queue is full (nothing queued then).
 * Takes a new snapshot reference on success.
 */
enum gy_status gy__batcher_submit(struct gy__batcher *b, struct gy_serving_target *t,
                                  struct gy__sroute *r, struct gy_serving_call *call,
                                  const float *x, int64_t t0_ns, int64_t cin_ns,
                                  gy_serving_done_fn done, void *ctx);

/* ------------------------------------------------------------------ shadows (shadow.c) */

enum gy_status gy__shadower_create(struct gy_serving *s, size_t max_queue,
                                   struct gy__shadower **out);
/** Runs what is queued, flushes the logs, stops the worker and frees. NULL is a no-op. */
void gy__shadower_free(struct gy__shadower *w);
/**
 * Mirrors a finished request to the snapshot's shadows: copies what the shadows need from
 * @p call (inputs, primary outputs) and queues it; drops (counting) when the queue is full.
 * Never blocks on the worker.
 */
void gy__shadower_submit(struct gy__shadower *w, struct gy_serving_target *t,
                         const struct gy__sroute *primary, const struct gy_serving_call *call,
                         const float *x);

/**
 * The raw values of @p call's rows as the primary model @p m sees them (nrows x m->n_in
 * gy_feature_value; strings copied into *blob). For the shadow worker. New arrays.
 */
enum gy_status gy__infer_raw_values(const struct gy_serving *s, const struct gy_served_model *m,
                                    const struct gy_serving_call *call,
                                    struct gy_feature_value **vals, char **blob);

/* ------------------------------------------------------------------ prediction log (log.c) */

#define GY_PREDLOG_DEFAULT_QUEUE 262144u  /* records waiting at most, then dropped */
#define GY_PREDLOG_DEFAULT_FLUSH 65536u   /* records that trigger a flush */
#define GY_PREDLOG_DEFAULT_FLUSH_MS 2000u /* longest time between flushes */

/**
 * Starts the flusher of the prediction log (0 for a parameter: its default above). The flusher
 * opens its own store handle on the serving state's home and URL when it first writes.
 */
enum gy_status gy__predlog_create(struct gy_serving *s, size_t max, size_t flush_records,
                                  unsigned flush_ms, struct gy__predlog **out);
/** Writes everything queued, stops the flusher and frees. NULL is a no-op. */
void gy__predlog_free(struct gy__predlog *p);
/**
 * Logs a finished request of a deployment snapshot @p t (sampled by t->log_sample): copies the
 * inputs (as @p r's model read them), outputs and latency into a record and queues it; counts a
 * drop when the queue is full. Never blocks on the flusher. NULL @p p is a no-op.
 */
void gy__predlog_submit(struct gy__predlog *p, struct gy_serving_target *t,
                        const struct gy__sroute *r, const struct gy_serving_call *call,
                        const float *x, uint64_t latency_ns);
/** Records queued so far and records dropped (queue full, copy or write failure). */
void gy__predlog_counts(struct gy__predlog *p, uint64_t *records, uint64_t *dropped);

#endif /* GY_SERVING_INT_H */
