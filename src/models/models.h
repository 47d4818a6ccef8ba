/* SPDX-License-Identifier: MIT */
/**
 * models.h - the model bundle: one immutable, checksummed file per model version holding the
 * metadata (name, trainer, objective, params, metrics, lineage, input and output signatures),
 * the fitted preprocessing (src/features), the estimator (a tree ensemble or a linear model)
 * and the reference profile (training data statistics and the model's score distribution).
 *
 * This header also holds the in-memory estimators, an importer for XGBoost 1.7 JSON models,
 * and the reference evaluator: a plain, exact implementation of XGBoost's prediction rules
 * (float32 inputs and thresholds, strict x < t, NaN follows default_left, float32 sums in tree
 * order from the float32 base margin, glibc expf). The fast serving engine must agree with it
 * bit for bit. The byte layout is in docs/internals/models.md.
 *
 * Loading never executes anything from the file and validates every field and bound.
 * Thread-safety: a loaded bundle and the estimators are immutable after load or build; any
 * number of threads may predict with them at once. A builder is used by one thread.
 */
#ifndef GY_MODELS_H
#define GY_MODELS_H

#include "base/base.h"
#include "features/features.h"

/** Bounds enforced by validation (load, import and build). */
#define GY_MODEL_MAX_TREES 100000
#define GY_MODEL_MAX_NODES (1u << 24)    /* nodes in all trees together */
#define GY_MODEL_MAX_GROUPS 10000        /* output groups (classes) */
#define GY_MODEL_MAX_FEATURES (1u << 20) /* estimator inputs */
#define GY_MODEL_MAX_WEIGHTS (1u << 26)  /* linear: outputs x features */
#define GY_MODEL_MAX_JSON_DEPTH 32       /* nesting of each JSON section */
#define GY_MODEL_GYRE_VERSION "0.1.0"    /* written when the caller gives none */

/* ------------------------------------------------------------------ objectives */

/** How margins become outputs. */
enum gy_link {
    GY_LINK_IDENTITY = 1, /* out = m */
    GY_LINK_LOGISTIC = 2, /* out = 1 / (1 + exp(-m)) per group */
    GY_LINK_EXP = 3,      /* out = exp(m) (count:poisson, reg:gamma, reg:tweedie, survival) */
    GY_LINK_HINGE = 4,    /* out = m > 0 ? 1 : 0 (binary:hinge) */
    GY_LINK_SOFTMAX = 5,  /* out = softmax over the groups (multi:softprob) */
    GY_LINK_ARGMAX = 6,   /* out = index of the largest margin, one value (multi:softmax) */
};

/** "identity", "logistic", ... (static); "?" for an unknown value. */
const char *gy_model_link_name(enum gy_link link);

/** How an XGBoost base_score (stored in output space) becomes the base margin. */
enum gy_base_rule {
    GY_BASE_IDENTITY = 1, /* margin = b */
    GY_BASE_LOGIT = 2,    /* margin = -logf(1.0f / b - 1.0f) */
    GY_BASE_LOG = 3,      /* margin = logf(b) */
};

/**
 * Looks up an XGBoost objective name ("binary:logistic", "multi:softprob",
 * "reg:squarederror", ...): its link and base-score rule. GY_E_UNSUPPORTED for a name this
 * evaluator does not know (the error text lists the known ones).
 */
enum gy_status gy_model_objective_lookup(const char *objective, enum gy_link *link,
                                         enum gy_base_rule *base);

/** Number of output values per row for @p link over @p n_groups margins (ARGMAX: 1). */
size_t gy_model_link_n_outputs(enum gy_link link, size_t n_groups);

/* ------------------------------------------------------------------ tree ensembles */

/** One node. A leaf has left == right == -1. */
struct gy_tree_node {
    int32_t left;         /* child when x < value (or missing and default_left); -1: leaf */
    int32_t right;        /* child otherwise; -1: leaf */
    uint32_t feature;     /* split feature index (0 for leaves) */
    uint8_t default_left; /* 1: a missing value goes left */
    float value;          /* split threshold (internal node) or leaf value (leaf) */
};

struct gy_tree {
    uint32_t group;             /* the output group (class) this tree adds to */
    float weight;               /* DART weight: the leaf is multiplied by it; 1 for gbtree */
    uint32_t n_nodes;           /* >= 1; node 0 is the root */
    struct gy_tree_node *nodes; /* points into the ensemble's node pool */
};

/** A tree ensemble in XGBoost's semantics. */
struct gy_trees {
    char objective[64];          /* XGBoost objective name, NUL-terminated */
    enum gy_link link;           /* from the objective */
    enum gy_base_rule base_rule; /* from the objective */
    uint32_t n_features;         /* width of an input row */
    uint32_t n_groups;           /* margins per row (classes for multi:*, else usually 1) */
    uint32_t num_parallel_tree;  /* informational: trees per group per round */
    uint8_t has_weights;         /* 1 when some tree weight is not 1 (DART) */
    float base_score;            /* as stored by XGBoost (output space) */
    float base_margin;           /* base_score turned into a margin by base_rule */
    uint32_t n_trees;
    struct gy_tree *trees;
    struct gy_tree_node *pool; /* all nodes, tree after tree */
    size_t n_pool;
};

/**
 * Allocates an ensemble of @p n_trees trees with n_nodes[i] nodes each (zeroed nodes, weight
 * 1, group 0), objective @p objective (looked up: link, base rule), @p n_features, @p n_groups
 * and @p base_score (base_margin is computed). Counts are bounded as in validation.
 * *out new (gy_model_trees_free). GY_E_UNSUPPORTED for an unknown objective, GY_E_TOO_LARGE.
 */
enum gy_status gy_model_trees_create(const char *objective, uint32_t n_features, uint32_t n_groups,
                                     float base_score, uint32_t n_trees, const uint32_t *n_nodes,
                                     struct gy_trees **out);
void gy_model_trees_free(struct gy_trees *t);

/**
 * Checks every rule a loaded ensemble must satisfy: counts within bounds, objective known and
 * consistent with link, base rule and base margin (finite), every tree shaped as a binary tree
 * rooted at node 0 (children in range, each node reached exactly once, no cycle), feature
 * indices < n_features, finite thresholds, leaf values and weights, default_left 0 or 1, groups
 * < n_groups. GY_E_CORRUPT naming the tree, node and field.
 */
enum gy_status gy_model_trees_validate(const struct gy_trees *t);

/**
 * Parses an XGBoost 1.7 JSON model (XGBoosterSaveModelToBuffer with {"format":"json"}) into
 * an ensemble: gbtree and dart boosters, numeric splits. Thresholds and leaf values are the
 * exact float32 values XGBoost holds; nodes unreachable from a root (deleted by pruning) are
 * dropped. GY_E_UNSUPPORTED for categorical splits, gblinear or an unknown objective;
 * GY_E_INVALID for malformed JSON or any failed check, naming the field. *out new.
 */
enum gy_status gy_model_trees_from_xgboost_json(const char *json, size_t len,
                                                struct gy_trees **out);

/** Depth and size statistics of an ensemble. */
struct gy_model_trees_stats {
    uint64_t n_nodes, n_leaves;
    uint32_t depth_min, depth_max; /* depth of a lone leaf is 0 */
    double depth_mean;
};
void gy_model_trees_stats(const struct gy_trees *t, struct gy_model_trees_stats *out);

/**
 * Reference evaluator. @p x is nrows x n_features float32, row-major, NaN = missing.
 * @p margins gets nrows x n_groups (may be NULL), @p outputs nrows x gy_model_link_n_outputs()
 * (may be NULL). Exact XGBoost 1.7 semantics; allocation-free. Thread-safe.
 */
void gy_model_trees_predict(const struct gy_trees *t, const float *x, size_t nrows, float *margins,
                            float *outputs);

/* ------------------------------------------------------------------ linear models */

/** A linear model: margin_k = intercept_k + sum_j weights[k * n_features + j] * x_j. */
struct gy_linear {
    char objective[64]; /* informational, e.g. "binary:logistic", "reg:squarederror" */
    enum gy_link link;  /* IDENTITY, LOGISTIC or SOFTMAX */
    uint32_t n_features;
    uint32_t n_outputs; /* margins per row: 1, or classes for SOFTMAX (>= 2) */
    double *intercepts; /* n_outputs */
    double *weights;    /* n_outputs x n_features, row-major */
};

/** Allocates a zeroed linear model. GY_E_INVALID/GY_E_TOO_LARGE for bad shapes. *out new. */
enum gy_status gy_model_linear_create(const char *objective, enum gy_link link, uint32_t n_features,
                                      uint32_t n_outputs, struct gy_linear **out);
void gy_model_linear_free(struct gy_linear *l);

/** Checks shape bounds, link, and that every weight and intercept is finite. GY_E_CORRUPT. */
enum gy_status gy_model_linear_validate(const struct gy_linear *l);

/**
 * Reference evaluator: margins computed in double (x widened from float32, features summed in
 * index order starting from the intercept), outputs transformed in double (logistic:
 * 1 / (1 + exp(-m)); softmax with the max subtracted), both rounded to float32 at the end.
 * Either output pointer may be NULL. NaN inputs give NaN outputs (impute for linear models).
 */
void gy_model_linear_predict(const struct gy_linear *l, const float *x, size_t nrows,
                             float *margins, float *outputs);

/* ------------------------------------------------------------------ bundle: building */

/** Metadata given by the trainer; strings and JSON are copied by set_info. */
struct gy_model_info {
    const char *name;         /* model name (required) */
    const char *trainer;      /* "xgboost", "logistic", "linear" (required) */
    const char *objective;    /* "binary:logistic", ... (required) */
    const char *run_id;       /* tracking run id, or NULL */
    const char *dataset;      /* training data as "NAME@VERSION", or NULL */
    const char *target;       /* target column, or NULL */
    const char *gyre_version; /* NULL: GY_MODEL_GYRE_VERSION */
    int64_t created_us;       /* 0: now */
    const json_t *params;     /* object or NULL */
    const json_t *metrics;    /* object or NULL (name -> number, or any JSON) */
    const json_t *classes;    /* array of class labels (in margin order) or NULL */
};

struct gy_model_builder;

enum gy_status gy_model_builder_create(struct gy_model_builder **out);
void gy_model_builder_free(struct gy_model_builder *b);

/** Copies the metadata. GY_E_INVALID when a required field is missing or JSON has a bad type. */
enum gy_status gy_model_builder_set_info(struct gy_model_builder *b,
                                         const struct gy_model_info *info);

/** The fitted preprocessing (borrowed until the builder is freed). */
void gy_model_builder_set_features(struct gy_model_builder *b, const struct gy_features *f);

/** The estimator: trees or linear, the last call wins (borrowed until the builder is freed). */
void gy_model_builder_set_trees(struct gy_model_builder *b, const struct gy_trees *t);
void gy_model_builder_set_linear(struct gy_model_builder *b, const struct gy_linear *l);

/**
 * The reference profile. @p lake_profile (may be NULL) is the "profile" object of the training
 * dataset version's manifest (gy_lake_version_get): only the entries of the model's input
 * columns are kept. @p scores (may be NULL) holds the model's transformed outputs on the
 * training rows, nrows x n_outputs row-major; per output the builder keeps count, mean, min,
 * max, exact deciles and a 20-bin histogram ([0, 1] for probabilities, [min, max] otherwise).
 * Non-finite scores are counted and skipped. Both are copied.
 */
enum gy_status gy_model_builder_set_profile(struct gy_model_builder *b, const json_t *lake_profile,
                                            const float *scores, size_t nrows, size_t n_outputs);

/**
 * Validates the parts against each other (estimator width = preprocessing outputs, classes
 * count = groups, estimator valid), appends the bundle bytes to @p out and loads them back once
 * as a check. GY_E_INVALID when info, features or the estimator is missing or inconsistent;
 * GY_E_INTERNAL (out unchanged) if the result would not load.
 */
enum gy_status gy_model_builder_serialize(struct gy_model_builder *b, struct gy_buf *out);

/* ------------------------------------------------------------------ bundle: loading */

struct gy_model_bundle;

enum gy_model_kind { GY_MODEL_TREES = 1, GY_MODEL_LINEAR = 2 };

/**
 * Loads a bundle from memory (@p data is only read during the call). Validates the container
 * (magic, version, lengths, section table, SHA-256), every JSON section (depth-limited, every
 * required key and type), the preprocessing, the estimator (gy_model_trees_validate or
 * gy_model_linear_validate) and their agreement (signatures, widths, feature names). GY_E_CORRUPT
 * or GY_E_INVALID with the section and field; GY_E_UNSUPPORTED for a newer format version. *out new
 * (gy_model_bundle_free), NULL on error.
 */
enum gy_status gy_model_bundle_load(const void *data, size_t len, struct gy_model_bundle **out);

/** Reads and loads a bundle file (at most 2 GiB). The error text names the file. *out new. */
enum gy_status gy_model_bundle_load_file(const char *path, struct gy_model_bundle **out);

void gy_model_bundle_free(struct gy_model_bundle *b);

enum gy_model_kind gy_model_bundle_kind(const struct gy_model_bundle *b);
/** The metadata object (borrowed, valid while the bundle lives). */
const json_t *gy_model_bundle_meta(const struct gy_model_bundle *b);
/** The preprocessing (borrowed). */
const struct gy_features *gy_model_bundle_features(const struct gy_model_bundle *b);
/** The estimator (borrowed); NULL when the bundle holds the other kind. */
const struct gy_trees *gy_model_bundle_trees(const struct gy_model_bundle *b);
const struct gy_linear *gy_model_bundle_linear(const struct gy_model_bundle *b);
/** The profile object (borrowed; {} when the bundle has none). */
const json_t *gy_model_bundle_profile(const struct gy_model_bundle *b);
/** Width of a preprocessed row, margins per row, outputs per row. */
size_t gy_model_bundle_n_features(const struct gy_model_bundle *b);
size_t gy_model_bundle_n_margins(const struct gy_model_bundle *b);
size_t gy_model_bundle_n_outputs(const struct gy_model_bundle *b);

/**
 * The whole bundle for `gyre model inspect` (new): {"format", "metadata", "signature",
 * "preprocessing", "estimator" (a summary: kind, objective, counts, depth statistics, base
 * score; or linear weights by feature name), "profile"}.
 */
enum gy_status gy_model_bundle_to_json(const struct gy_model_bundle *b, json_t **out);

/**
 * Reference prediction of one request: @p in holds gy_features_n_inputs() raw values in input
 * order (see gy_features_apply_row). @p margins (may be NULL) gets n_margins floats,
 * @p outputs (may be NULL) n_outputs floats. GY_E_INVALID for an input of the wrong kind;
 * GY_E_NOMEM.
 */
enum gy_status gy_model_predict_row(const struct gy_model_bundle *b,
                                    const struct gy_feature_value *in, float *margins,
                                    float *outputs);

/**
 * Reference prediction on preprocessed rows: @p x is nrows x n_features float32. Either
 * output may be NULL. Allocation-free.
 */
void gy_model_predict_matrix(const struct gy_model_bundle *b, const float *x, size_t nrows,
                             float *margins, float *outputs);

/* ------------------------------------------------------------------ fast engine */

/**
 * The serving engine: an estimator compiled at load into a layout made for speed. Trees
 * become one 64-byte-aligned pool of 16-byte nodes in DFS pre-order (right child = left + 1,
 * leaves are self-loops on a dummy feature slot so every walk runs a fixed number of steps);
 * the single-row kernel walks several trees at once, the batch kernel walks blocks of rows
 * tree by tree. Linear models keep float64 weights. Results are bit-identical to the
 * reference evaluator above (and so to XGBoost 1.7.4): same float32 sums in tree order, same
 * transforms. See docs/internals/engine.md.
 *
 * An engine is immutable after gy_engine_create: any number of threads may predict at once.
 * The kernels allocate nothing; they need a scratch area of gy_engine_scratch_size() bytes
 * from the caller (a thread-local or request-arena buffer), so the hot path has no malloc.
 */
struct gy_engine;

/**
 * Compiles the estimator of @p b (trees or linear). The engine keeps no pointer into @p b.
 * Any validated estimator compiles (trees deeper than the fixed-step walk use a walk that
 * stops at the leaf). GY_E_NOMEM; GY_E_INVALID for an estimator that fails
 * gy_model_trees_validate / gy_model_linear_validate (only possible for a hand-built one).
 * *out new (gy_engine_free), NULL on error.
 */
enum gy_status gy_engine_create(const struct gy_model_bundle *b, struct gy_engine **out);

/** Compiles a bare ensemble or linear model (tests, benchmarks, the embedding API). *out new. */
enum gy_status gy_engine_create_trees(const struct gy_trees *t, struct gy_engine **out);
enum gy_status gy_engine_create_linear(const struct gy_linear *l, struct gy_engine **out);

void gy_engine_free(struct gy_engine *e);

/** Width of an input row (preprocessed features), margins and outputs per row. */
size_t gy_engine_n_features(const struct gy_engine *e);
size_t gy_engine_n_margins(const struct gy_engine *e);
size_t gy_engine_n_outputs(const struct gy_engine *e);

/** Bytes the engine holds (node pool, tables), for the memory_usage statistic. */
size_t gy_engine_memory(const struct gy_engine *e);

/**
 * Scratch bytes gy_engine_predict needs for a call of up to @p nrows rows (at most a few
 * hundred KiB for any nrows: the batch kernel works in blocks of 64 rows; tens of KiB for
 * 100 features). Non-decreasing in @p nrows.
 */
size_t gy_engine_scratch_size(const struct gy_engine *e, size_t nrows);

/**
 * Predicts @p nrows rows of @p x (nrows x n_features float32, row-major, NaN = missing).
 * @p margins (may be NULL) gets nrows x n_margins, @p outputs (may be NULL) nrows x n_outputs.
 * @p scratch holds at least gy_engine_scratch_size(e, nrows) bytes, 64-byte aligned.
 * Up to 5 rows run the single-row kernel row by row, more the batch kernel (blocks of 64 rows);
 * one thread, no allocation, no lock. Never fails. Thread-safe (distinct scratch per thread).
 */
void gy_engine_predict(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                       float *margins, float *outputs);

/**
 * The same on @p nthreads threads of @p pool (rows split in contiguous halves/parts; small
 * batches stay on the calling thread). @p pool may be NULL (then one thread). Allocates its
 * scratch; GY_E_NOMEM only.
 */
enum gy_status gy_engine_predict_parallel(const struct gy_engine *e, struct gy_pool *pool,
                                          const float *x, size_t nrows, float *margins,
                                          float *outputs);

/* ------------------------------------------------------------------ importers */

/**
 * Parses an XGBoost 1.7 UBJSON model (XGBoosterSaveModelToBuffer with {"format":"ubj"}, the
 * .ubj files) with the same rules and errors as gy_model_trees_from_xgboost_json. Every length
 * and count is bounded before anything is allocated; GY_E_INVALID names the byte offset of a
 * malformed value. *out new.
 */
enum gy_status gy_model_trees_from_xgboost_ubj(const void *data, size_t len, struct gy_trees **out);

/**
 * The feature names stored in an XGBoost model file (JSON or UBJSON, detected from the first
 * bytes: '{' followed by a UBJSON length marker is UBJSON), *names new (json array of strings)
 * or an empty array when the model has none. GY_E_INVALID for a malformed file or names that
 * are not non-empty strings.
 */
enum gy_status gy_model_xgboost_feature_names(const void *data, size_t len, json_t **names);

/**
 * An XGBoost model file in either format (detected as for gy_model_xgboost_feature_names):
 * gy_model_trees_from_xgboost_json or gy_model_trees_from_xgboost_ubj. *out new.
 */
enum gy_status gy_model_trees_from_xgboost(const void *data, size_t len, struct gy_trees **out);

#endif /* GY_MODELS_H */
