/* SPDX-License-Identifier: MIT */
/*
 * pipeline.h - continuous training: pipeline specs (YAML), their store, triggers, and the
 * controller that runs each pipeline run as a persisted state machine
 *
 *   pending -> training -> evaluating -> canary -> promoted | rejected | rolled_back | failed
 *
 * A spec is parsed from YAML (libyaml) at `gyre pipeline apply` time, validated field by field
 * (an error names the YAML line and the field), and stored in its canonical JSON form, one
 * version per change. The controller reads the JSON form back; both forms go through the same
 * validation. See docs/pipelines.md for the spec reference.
 */
#ifndef GY_PIPELINE_H
#define GY_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"

#define GY_PIPELINE_MAX_NAME 128
#define GY_PIPELINE_MAX_SPEC (1u << 20) /* bytes of YAML or JSON */
#define GY_PIPELINE_MAX_DEPTH 16        /* nesting of YAML/JSON mappings and sequences */
#define GY_PIPELINE_MAX_PARAMS 64
#define GY_PIPELINE_MAX_GATES 16

/* ------------------------------------------------------------------ spec */

enum gy_pipeline_select {
    GY_SELECT_LATEST = 0, /* every row of the dataset's latest version */
    GY_SELECT_LAST_ROWS,  /* the last N rows of the latest version (ingest order) */
    GY_SELECT_WINDOW,     /* rows whose time column is within the last window of the latest
                             version's maximum time (not the wall clock: replays are stable) */
};

/** A comparison of a gate or an online criterion. */
enum gy_pipeline_op {
    GY_OP_GE = 0, /* >= */
    GY_OP_GT,     /* >  */
    GY_OP_LE,     /* <= */
    GY_OP_LT,     /* <  */
};

/** An absolute gate: the candidate's validation metric `metric op value`, e.g. auc >= 0.8. */
struct gy_pipeline_gate {
    const char *metric; /* a metric `gyre train` logs for the validation set: "auc", "logloss",
                           "accuracy", "f1", "rmse", "mae", "r2", ... (without "valid_") */
    enum gy_pipeline_op op;
    double value;
};

struct gy_pipeline_spec {
    const char *name;        /* [A-Za-z0-9_.-]{1,128}, starts with a letter or digit */
    const char *description; /* optional; NULL when absent */

    /* data: what the candidate trains on */
    struct {
        const char *dataset; /* a lake dataset name */
        enum gy_pipeline_select select;
        uint64_t last_rows;        /* GY_SELECT_LAST_ROWS: 1 .. 1e9 */
        const char *window_column; /* GY_SELECT_WINDOW: a timestamp or integer column */
        int64_t window_us;         /* GY_SELECT_WINDOW: > 0 ("14d", "12h", "30m", "90s") */
        const char *feedback_from; /* optional deployment: its prediction log rows joined to
                                      their feedback labels are added to the data (the label
                                      becomes the target column); NULL: none */
    } data;

    /* train: the same options `gyre train` takes */
    struct {
        const char *target;
        const char *trainer;    /* "xgboost" (default), "logistic", "linear" */
        const char *task;       /* NULL (inferred), "binary", "multiclass", "regression" */
        const char *features;   /* NULL, or the flag form of a feature spec; the YAML may
                                   give a mapping (the JSON form), which is stored here as
                                   JSON text starting with '{' */
        const char *split;      /* "random", "stratified" (default for classification),
                                   or "time:COLUMN" */
        double valid_fraction;  /* (0, 1); default 0.2 */
        uint64_t seed;          /* default 42 */
        int rounds;             /* xgboost: 1..100000; 0: trainer default */
        int early_stopping;     /* xgboost: rounds; 0: off */
        const char *experiment; /* tracking experiment; default "pipeline-NAME" */
        struct {
            const char *key, *value; /* passed as --param key=value (checked by
                                        gy_train_param_check at apply time) */
        } params[GY_PIPELINE_MAX_PARAMS];
        size_t n_params;
    } train;

    /* gates: every absolute gate must hold; with champion_metric set, the candidate must also
     * beat the champion, evaluated on the same validation rows, by champion_margin (in the
     * metric's better direction: higher for auc/accuracy/f1/precision/recall/r2, lower for
     * logloss/rmse/mae). No champion yet: the champion gate passes. */
    struct {
        struct gy_pipeline_gate min[GY_PIPELINE_MAX_GATES];
        size_t n_min;
        const char *champion_metric; /* NULL: no champion gate */
        double champion_margin;      /* >= 0; default 0 */
    } gates;

    /* register: where a candidate that passed the gates goes */
    struct {
        const char *model; /* registered model name */
        const char *alias; /* alias the candidate gets; default "challenger" */
    } register_;

    /* rollout: optional (deployment NULL: a gated candidate is promoted at once) */
    struct {
        const char *deployment;    /* an existing deployment serving register_.model */
        uint32_t canary_percent;   /* 1..99, share of traffic to the candidate; default 10 */
        uint64_t min_requests;     /* requests the candidate must answer; default 100 */
        int64_t min_duration_us;   /* minimum canary time; default 60 s */
        int64_t max_duration_us;   /* give up (roll back) after this; default 1 h */
        double max_error_rate;     /* candidate's failed/total; default 0.01; <0: not checked */
        double max_p99_ratio;      /* candidate p99 latency / champion p99; default 0 (off) */
        const char *online_metric; /* NULL (off), "accuracy", "auc", "logloss", "rmse", "mae",
                                      "value_mean": from feedback, candidate vs champion */
        double max_online_drop;    /* the candidate may be worse than the champion by at most
                                      this on online_metric; default 0.02 */
        uint64_t min_feedback;     /* labeled (or valued) requests per variant before the
                                      online criterion is judged; default 50 */
        int require_significance;  /* promote only when the A/B test says the candidate is
                                      not worse at alpha (one-sided); default 0 */
        double alpha;              /* default 0.05 */
    } rollout;

    /* triggers: any number; "manual" runs are always allowed */
    struct {
        const char *drift_deployment; /* run when a drift alert fires on this deployment */
        const char *schedule;         /* 5-field cron expression, UTC */
        uint64_t new_rows;            /* run when the dataset has grown by this many rows since
                                         the data of the last run; 0: off */
    } triggers;
};

/**
 * Parses and validates a YAML pipeline spec. On error: GY_E_INVALID (or GY_E_TOO_LARGE) with
 * "line L: FIELD: what is wrong" in the error text, e.g. "line 12: gates.min.auc: expected a
 * number, got \"high\"". Unknown keys are errors (typos never pass silently). Limits: text
 * GY_PIPELINE_MAX_SPEC bytes, nesting GY_PIPELINE_MAX_DEPTH, no YAML aliases/anchors,
 * no tags, one document. *out new (gy_pipeline_spec_free): all strings belong to it.
 */
enum gy_status gy_pipeline_spec_parse_yaml(const char *text, size_t len,
                                           struct gy_pipeline_spec **out);

/** Same validation from the canonical JSON form (errors name the field path). *out new. */
enum gy_status gy_pipeline_spec_from_json(const json_t *j, struct gy_pipeline_spec **out);

/** The canonical JSON form: every field with its default filled in (new). */
enum gy_status gy_pipeline_spec_to_json(const struct gy_pipeline_spec *s, json_t **out);

void gy_pipeline_spec_free(struct gy_pipeline_spec *s);

/** ">=", ">", "<=" or "<" (static). */
const char *gy_pipeline_op_name(enum gy_pipeline_op op);

/**
 * Parses a duration: a positive integer followed by a unit "ms", "s", "m", "h", "d" or "w"
 * ("90s", "14d"). *us: microseconds. GY_E_INVALID otherwise (bounded to 10 years).
 */
enum gy_status gy_pipeline_duration_parse(const char *s, int64_t *us);

/* ------------------------------------------------------------------ cron */

/** A parsed 5-field cron expression (minute hour day-of-month month day-of-week), UTC. */
struct gy_cron {
    uint64_t minute;  /* bit m: minute m (0..59) */
    uint32_t hour;    /* bit h (0..23) */
    uint32_t mday;    /* bit d (1..31) */
    uint16_t month;   /* bit m (1..12) */
    uint8_t wday;     /* bit d (0..6, Sunday = 0; 7 is accepted as Sunday) */
    uint8_t mday_any; /* day-of-month was "*" */
    uint8_t wday_any; /* day-of-week was "*" */
};

/**
 * Parses "*", lists "1,5", ranges "1-5", steps "*\/15" and "1-30/5", month and weekday names
 * ("jan", "mon"), and the macros @hourly, @daily, @weekly, @monthly, @yearly. As in Vixie
 * cron, when both day fields are restricted a day matches if either matches.
 * GY_E_INVALID naming the field.
 */
enum gy_status gy_cron_parse(const char *expr, struct gy_cron *out);

/** The first matching minute strictly after @p after_us (Unix microseconds, UTC), or -1 when
 * none within 5 years (e.g. "0 0 31 2 *"). */
int64_t gy_cron_next(const struct gy_cron *c, int64_t after_us);

/* ------------------------------------------------------------------ store (store.c) */

/** The states of a pipeline run; the last four are final. */
enum gy_pipeline_state {
    GY_PRUN_PENDING = 0, /* triggered; the data is not chosen yet */
    GY_PRUN_TRAINING,    /* a `gyre train` child trains the candidate */
    GY_PRUN_EVALUATING,  /* gates; then registration (and the canary route, or promotion) */
    GY_PRUN_CANARY,      /* the candidate serves canary_percent of the deployment's traffic */
    GY_PRUN_PROMOTED,    /* the champion alias moved to the candidate */
    GY_PRUN_REJECTED,    /* a gate failed; nothing was registered */
    GY_PRUN_ROLLED_BACK, /* the canary failed an online criterion; the deployment is restored */
    GY_PRUN_FAILED,      /* an error (the reason says which); nothing half-done is left */
};

/** "pending", "training", ... (static); gy_pipeline_state_parse is its inverse. */
const char *gy_pipeline_state_name(enum gy_pipeline_state s);
enum gy_status gy_pipeline_state_parse(const char *s, enum gy_pipeline_state *out);
int gy_pipeline_state_final(enum gy_pipeline_state s);

/**
 * Stores @p spec as the pipeline's next version when it differs from the current one (the
 * canonical JSON is compared). *version: the version now current; *changed: 1 when a new
 * version was written. Audited as pipeline.apply by the caller.
 */
enum gy_status gy_pipeline_apply(struct gy_db *db, const struct gy_pipeline_spec *spec,
                                 int64_t *version, int *changed);

/**
 * Checks what @p s names that must exist before a run can start: the dataset with the target
 * column, and the rollout's deployment. GY_E_INVALID naming the field.
 */
enum gy_status gy_pipeline_check_refs(struct gy_db *db, const struct gy_pipeline_spec *s);

/** The spec of @p name at @p version (0: current). *out new; GY_NOT_FOUND when absent. */
enum gy_status gy_pipeline_get(struct gy_db *db, const char *name, int64_t version,
                               struct gy_pipeline_spec **out, int64_t *version_out);

/** [{"name", "version", "updated_us", "pending_trigger", "last_run": {...}|null}] by name. */
enum gy_status gy_pipeline_list(struct gy_db *db, json_t **out);

/**
 * Triggers a run of @p name: a new pending run when none is unfinished (*run_id gets its
 * id), else the trigger is kept on the pipeline and starts one run when the current one
 * finishes (coalesced: *run_id 0, *coalesced 1; several triggers during a run start one
 * run). @p kind: "manual", "api", "drift", "schedule", "new_rows"; @p detail may be NULL.
 */
enum gy_status gy_pipeline_trigger(struct gy_db *db, const char *name, const char *kind,
                                   const char *detail, int64_t *run_id, int *coalesced);

/**
 * A run as JSON: {"id", "pipeline", "spec_version", "state", "trigger", "trigger_detail",
 * "reason", "created_us", "updated_us", "finished_us", "data", "data_rows", "tracking_run",
 * "train_run", "attempts", "champion_version", "candidate_version", "canary_started_us",
 * "details": {...}}. *out new; GY_NOT_FOUND.
 */
enum gy_status gy_pipeline_run_get(struct gy_db *db, int64_t id, json_t **out);

/** The runs of @p name, newest first, at most @p limit (0: 100). *out new (a JSON array). */
enum gy_status gy_pipeline_runs(struct gy_db *db, const char *name, int64_t limit, json_t **out);

/* ------------------------------------------------------------------ controller */

struct gy_serving;
struct gy_pipeline_ctl;

struct gy_pipeline_ctl_opts {
    /** The gyre binary that trains (`gyre train --run-id ...`); NULL: /proc/self/exe. */
    const char *exe;
    /** The serving state of this process, to judge canaries from its per-variant counters;
     * NULL outside the server: a run then stops at the canary state, which the server's
     * controller judges. */
    struct gy_serving *serving;
    /** Evaluate schedule, drift and new-rows triggers (the server); 0: only run what was
     * triggered explicitly (`gyre pipeline run --once`). */
    int auto_triggers;
    /** Only this pipeline (NULL: all). */
    const char *only;
    /** The actor recorded in the audit log ("controller" when NULL). */
    const char *actor;
};

/**
 * A controller over an open store (the caller keeps @p db open and uses it from one thread
 * only: the controller's). *out new.
 */
enum gy_status gy_pipeline_ctl_create(struct gy_db *db, const struct gy_pipeline_ctl_opts *o,
                                      struct gy_pipeline_ctl **out);

/**
 * One round: fires due triggers (with auto_triggers), then advances every unfinished run
 * this controller may step (it holds or takes over its lease) as far as it can go without
 * waiting: a training child is polled, a canary is judged on the counters so far. Safe to
 * call again at any time and after a crash at any point: every step is idempotent.
 * *busy (may be NULL): 1 while some run it steps is unfinished.
 */
enum gy_status gy_pipeline_ctl_tick(struct gy_pipeline_ctl *c, int *busy);

/** Stops a training child (its run is retried by the next controller) and frees @p c. */
void gy_pipeline_ctl_free(struct gy_pipeline_ctl *c);

/**
 * A background thread that opens its own store connection (@p home, @p db_url as
 * gy_db_open) and calls gy_pipeline_ctl_tick every @p tick_ms. *out new.
 */
struct gy_pipeline_service;
enum gy_status gy_pipeline_service_start(const char *home, const char *db_url,
                                         const struct gy_pipeline_ctl_opts *o, unsigned tick_ms,
                                         struct gy_pipeline_service **out);
void gy_pipeline_service_stop(struct gy_pipeline_service *s);

#endif /* GY_PIPELINE_H */
