/* SPDX-License-Identifier: MIT */
/**
 * train.h - gyre's trainers, on dense float32 matrices: XGBoost 1.7 through its C API,
 * L2-regularized logistic regression (binary and multinomial) and linear/ridge regression,
 * train/validation/test splits, and evaluation metrics equal to scikit-learn's.
 *
 * The interface is matrix in, model out: the features module turns dataset columns into a
 * struct gy_matrix, these functions train on it, and the models module turns the result
 * (XGBoost JSON, or linear weights) into a bundle. Nothing here touches the lake, the
 * database or the file system.
 *
 * Labels are float (as XGBoost takes them): class ids 0..K-1 for classification, any finite
 * value for regression. Sample weights are optional (NULL means all 1), finite and >= 0.
 *
 * Out-of-memory policy: every function returns GY_E_NOMEM and leaves its outputs empty.
 * Every function is thread-safe on distinct arguments; error text is thread-local
 * (gy_error_msg()). Results are deterministic: the same inputs and configuration give the
 * same bits on every run, whatever the thread count (XGBoost's own training aside, which is
 * deterministic for a fixed nthread and seed).
 */
#ifndef GY_TRAIN_H
#define GY_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ------------------------------------------------------------------ data */

/**
 * A dense float32 matrix, row-major: cell (i, j) is x[i * cols + j]. NaN marks a missing
 * value (XGBoost handles it; the linear trainers reject it). Whoever fills the struct owns x;
 * gy_train_matrix_create/_take allocate it and gy_train_matrix_free frees it.
 */
struct gy_matrix {
    size_t rows;
    size_t cols;
    float *x;
};

/** Allocates a zero-filled rows x cols matrix into @p out (new: gy_train_matrix_free). */
enum gy_status gy_train_matrix_create(size_t rows, size_t cols, struct gy_matrix *out);

/** Frees m->x and zeroes the struct. NULL, or a zeroed struct, is a no-op. */
void gy_train_matrix_free(struct gy_matrix *m);

/**
 * Copies rows idx[0..n) of @p m, in that order, into a new matrix @p out (new). An index
 * >= m->rows is GY_E_INVALID.
 */
enum gy_status gy_train_matrix_take(const struct gy_matrix *m, const size_t *idx, size_t n,
                                    struct gy_matrix *out);

/**
 * Gathers v[idx[i]] for i < n into a new array *out (new: gy_free). @p v may be NULL (an
 * absent weight vector): *out is then NULL too. The caller guarantees idx[i] is in range
 * (indices come from gy_train_split).
 */
enum gy_status gy_train_gather(const float *v, const size_t *idx, size_t n, float **out);

/** Widens n floats to doubles into a new array *out (new: gy_free); for metrics. */
enum gy_status gy_train_f32_to_f64(const float *v, size_t n, double **out);

/** What a model predicts. */
enum gy_train_task {
    GY_TRAIN_BINARY = 0,     /* labels 0/1; the prediction is P(label = 1) */
    GY_TRAIN_MULTICLASS = 1, /* labels 0..K-1; the prediction is K probabilities per row */
    GY_TRAIN_REGRESSION = 2, /* any finite label; the prediction is a value */
};

/** "binary", "multiclass", "regression" (static). */
const char *gy_train_task_name(enum gy_train_task t);

/* ------------------------------------------------------------------ splits */

enum gy_split_method {
    GY_SPLIT_RANDOM = 0,     /* a seeded shuffle */
    GY_SPLIT_STRATIFIED = 1, /* a seeded shuffle within each distinct label value */
    GY_SPLIT_TIME = 2,       /* by timestamp: train on the past, validate on the future */
};

struct gy_split_config {
    enum gy_split_method method;
    /** Share of rows for validation, in (0, 1). */
    double valid_fraction;
    /** Share of rows held out for a final test, in [0, 1); 0 means no test part. */
    double test_fraction;
    /** Seed of the shuffle (random and stratified). The same seed gives the same split on
     * every machine: the generator is splitmix64 with integer-only bounded draws. */
    uint64_t seed;
};

/**
 * The result of a split: three disjoint sets of row indices whose union is 0..n-1, each in
 * ascending order. Part sizes are round(fraction * n) (at least one row for a part whose
 * fraction is > 0); the training part gets the rest and is never empty. new:
 * gy_train_split_free.
 */
struct gy_split {
    size_t *train, *valid, *test;
    size_t n_train, n_valid, n_test;
};

/**
 * Splits n rows.
 * - GY_SPLIT_RANDOM: Fisher-Yates shuffle of 0..n-1; the first n_valid go to validation,
 *   the next n_test to test.
 * - GY_SPLIT_STRATIFIED: @p labels (n values, required) are grouped by distinct value; each
 *   group is shuffled and contributes round-by-largest-remainder shares, so every part keeps
 *   the label proportions of the whole (to within one row per label).
 * - GY_SPLIT_TIME: @p times (n values, required) order the rows (ties by row index);
 *   training gets the earliest rows, validation the next, test the latest. Rows with equal
 *   timestamps always land in the same part: each cut moves to the nearest boundary between
 *   distinct timestamps (GY_E_INVALID when that leaves a part empty).
 * Inputs not needed by the method may be NULL. Errors: GY_E_INVALID for fractions out of
 * range, n < 2, NaN labels; GY_E_NOMEM. On error *out is zeroed.
 */
enum gy_status gy_train_split(const struct gy_split_config *cfg, size_t n, const float *labels,
                              const int64_t *times, struct gy_split *out);

/** Frees the index arrays and zeroes the struct. NULL is a no-op. */
void gy_train_split_free(struct gy_split *s);

/* ------------------------------------------------------------------ progress */

/** One evaluation result: the data set ("train" or "valid"), the metric and its value. */
struct gy_train_eval {
    const char *set;
    const char *metric;
    double value;
};

/** What a trainer reports after each iteration (borrowed: valid during the callback). */
struct gy_train_progress {
    int iteration;      /* 0-based boosting round or solver iteration */
    int rounds;         /* planned rounds (XGBoost) or the iteration limit (linear) */
    int best_iteration; /* early stopping's best round so far; -1 when not tracked */
    double elapsed_s;   /* since training started */
    const struct gy_train_eval *evals;
    size_t n_evals;
};

/**
 * A progress callback: called once per iteration on the training thread. Returning anything
 * but GY_OK stops training; the trainer frees its work and returns that status (the callback
 * sets the error text).
 */
struct gy_train_callback {
    enum gy_status (*fn)(void *arg, const struct gy_train_progress *p);
    void *arg;
};

/* ------------------------------------------------------------------ parameters */

/** A key=value training parameter (strings borrowed from the caller). */
struct gy_train_param {
    const char *key;
    const char *value;
};

/**
 * Splits "key=value" at the first '=' into @p out, with both strings allocated from @p a.
 * Validates as gy_train_param_check. GY_E_INVALID with a message naming @p arg otherwise.
 */
enum gy_status gy_train_param_parse(const char *arg, struct gy_arena *a,
                                    struct gy_train_param *out);

/**
 * Checks that a parameter is sane before it reaches a trainer: the key is 1..64 characters
 * of [A-Za-z0-9_.:-], the value 1..1024 printable characters without control characters.
 */
enum gy_status gy_train_param_check(const char *key, const char *value);

/* ------------------------------------------------------------------ XGBoost */

/**
 * XGBoost training configuration. A zeroed struct is valid: XGBoost's defaults, 100
 * rounds, no early stopping, as many threads as CPUs.
 */
struct gy_xgb_config {
    /** "binary:logistic", "multi:softprob", "reg:squarederror", or any XGBoost objective;
     * NULL leaves XGBoost's default (reg:squarederror). */
    const char *objective;
    /** Number of classes for multi:* objectives (>= 2); 0 otherwise. */
    int num_class;
    /** Boosting rounds, 1..100000; 0 means 100. */
    int rounds;
    /** Stop when the validation metric has not improved for this many rounds and keep the
     * best round (as xgb.train(early_stopping_rounds=N)); 0 is off. Needs a validation set.
     * The metric is the last eval_metric (XGBoost's default for the objective when none). */
    int early_stopping_rounds;
    /** 1: the early-stopping metric is better when larger, -1: smaller; 0: decided from its
     * name as XGBoost's Python package does (auc, aucpr, map, ndcg, pre: larger). */
    int maximize;
    /** OpenMP threads for XGBoost; 0 means the number of CPUs. */
    int nthread;
    /** Set to 1 to evaluate only the validation set each round (faster; the callback then
     * gets no "train" entries). */
    int skip_train_eval;
    /** Set to 1 to skip the result's pred_train / pred_valid. */
    int skip_pred_train;
    int skip_pred_valid;
    /** Any XGBoost parameters, applied in order after the fields above (a later value for
     * the same key wins; eval_metric may repeat to add metrics). A parameter XGBoost does not
     * use is an error (XGBoost's validate_parameters), so typos do not pass silently. */
    const struct gy_train_param *params;
    size_t n_params;
    /** Called after every round. Rounds are evaluated (EvalOneIter) only when a callback
     * is set or early stopping is on. */
    struct gy_train_callback progress;
};

/** The outcome of gy_train_xgboost. new: gy_xgb_result_free. */
struct gy_xgb_result {
    /** The model as XGBoost JSON (XGBoosterSaveModelToBuffer, format json), holding rounds
     * 0..best_iteration only; NUL-terminated, len excludes the NUL. */
    char *model_json;
    size_t model_json_len;
    /** XGBoost's full training configuration (XGBoosterSaveJsonConfig), for the record. */
    char *config_json;
    size_t config_json_len;
    /** Rounds actually run (fewer than configured when early stopping fired). */
    int rounds_run;
    /** The last round kept in the model, 0-based (rounds_run - 1 without early stopping). */
    int best_iteration;
    /** Evaluations at best_iteration: "train" then "valid", each metric in XGBoost's order.
     * Strings owned by the result. Without a callback or early stopping they are computed
     * once at the end, for the training set unless skip_train_eval and for the validation
     * set unless skip_pred_valid. */
    struct gy_train_eval *evals;
    size_t n_evals;
    /** The early-stopping metric's name and its validation value at best_iteration
     * (NULL / NaN when early stopping was off). */
    char *stop_metric;
    double best_score;
    /** The kept model's predictions (transformed: probabilities for logistic objectives),
     * rows x pred_cols, float32 as XGBoost computes them; NULL when skipped or absent. */
    float *pred_train;
    float *pred_valid;
    size_t pred_cols;
    /** XGBoost's warnings during training, one per line; NULL when none. */
    char *warnings;
    /** Seconds spent building the DMatrix objects and in the boosting loop (the rounds with
     * their evaluations, as xgb.train times it). */
    double dmatrix_s;
    double boost_s;
    /** Private: storage for the strings of evals. */
    char *evals_text;
};

/**
 * Trains an XGBoost booster on @p train (labels @p y_train, weights @p w_train or NULL),
 * evaluating on @p valid (may be NULL; then y_valid and w_valid are ignored).
 *
 * Creates both DMatrix objects with XGDMatrixCreateFromMat_omp (NaN = missing), sets
 * verbosity 1 and validate_parameters, then the config fields, then cfg->params. Runs
 * XGBoosterUpdateOneIter per round; with early stopping it evaluates each round, keeps the
 * best round exactly as XGBoost's Python EarlyStopping callback does (strict improvement of
 * the value XGBoost prints), and slices the booster to rounds 0..best_iteration.
 *
 * Errors: GY_E_INVALID for a bad configuration or data (XGBoost's own message, first lines,
 * without its stack trace), GY_E_NOMEM, or the status a progress callback returned. Every
 * XGBoost handle is freed on every path; on error *out is zeroed.
 * Thread-safety: concurrent calls on distinct data are safe.
 */
enum gy_status gy_train_xgboost(const struct gy_xgb_config *cfg, const struct gy_matrix *train,
                                const float *y_train, const float *w_train,
                                const struct gy_matrix *valid, const float *y_valid,
                                const float *w_valid, struct gy_xgb_result *out);

/** Frees everything in @p r and zeroes it. NULL is a no-op. */
void gy_xgb_result_free(struct gy_xgb_result *r);

/** The linked XGBoost's version, "1.7.4" (static). */
const char *gy_train_xgboost_version(void);

/* ------------------------------------------------------------------ linear models */

enum gy_linear_kind {
    /** L2-regularized logistic regression: binary (one weight vector) for 2 classes,
     * multinomial softmax (one vector per class) for more. Minimizes, as scikit-learn 1.2's
     * LogisticRegression(solver="lbfgs"):
     *   sum_i s_i * loss_i + ||W||^2 / (2 C),  s_i = sample weight * class weight,
     * loss_i = -log P(y_i | x_i); intercepts are not penalized. */
    GY_LINEAR_LOGISTIC = 0,
    /** Least squares with an optional L2 penalty, as scikit-learn's Ridge(alpha) (or
     * LinearRegression when alpha = 0):
     *   sum_i s_i (y_i - x_i.w - b)^2 + alpha ||w||^2,  intercept b not penalized.
     * Solved exactly (normal equations on centered data, Cholesky; a rank-deficient system
     * falls back to the minimum-norm solution, as a least-squares solver gives). */
    GY_LINEAR_REGRESSION = 1,
};

enum gy_linear_solver {
    GY_LINEAR_SOLVER_AUTO = 0,   /* L-BFGS; on a binary problem with <= 128 parameters that
                                    it has not solved in 50 iterations, Newton finishes */
    GY_LINEAR_SOLVER_NEWTON = 1, /* exact Hessian, Cholesky, line search */
    GY_LINEAR_SOLVER_LBFGS = 2,  /* limited-memory BFGS, m = 10, line search */
};

/** The most explicit class weights a configuration holds. */
#define GY_LINEAR_MAX_CLASSES 256

/**
 * Linear trainer configuration. Start from gy_linear_config_init and change fields or apply
 * key=value parameters with gy_linear_config_set.
 */
struct gy_linear_config {
    enum gy_linear_kind kind;
    /** Logistic: inverse L2 strength, > 0 (scikit-learn's C; default 1.0; INFINITY: none). */
    double C;
    /** Regression: L2 strength, >= 0 (scikit-learn Ridge's alpha; default 0: plain least
     * squares). */
    double alpha;
    /** 1 (default): fit an unpenalized intercept; 0: none. */
    int fit_intercept;
    /** Logistic: number of classes, labels 0..n_classes-1; 0 (default): max label + 1.
     * Every class must occur in the training labels. */
    int n_classes;
    /** Logistic: 1 weights classes by n / (K * count_k), as class_weight="balanced". */
    int class_weight_balanced;
    /** Logistic: explicit per-class weights (class k's rows weigh class_weight[k]); used when
     * n_class_weight > 0 and must then cover every class. */
    double class_weight[GY_LINEAR_MAX_CLASSES];
    size_t n_class_weight;
    /** Logistic: iteration limit (default 100 Newton steps or 1000 L-BFGS steps). */
    int max_iter;
    /** Logistic: converged when max |gradient| <= tol * sum(s_i) (default 1e-10). */
    double tol;
    enum gy_linear_solver solver;
    /** Threads for the gradient and Hessian passes; 0 (default): number of CPUs. */
    int nthread;
    /** Called after each solver iteration with the objective as a "train" "objective" eval. */
    struct gy_train_callback progress;
};

/** Fills @p cfg with the defaults above for @p kind. */
void gy_linear_config_init(struct gy_linear_config *cfg, enum gy_linear_kind kind);

/**
 * Applies one key=value parameter: C, alpha, fit_intercept (true/false/1/0), n_classes,
 * class_weight ("balanced" or comma-separated weights for classes 0, 1, ...), max_iter,
 * tol, solver (auto/newton/lbfgs), nthread. GY_E_INVALID names an unknown key or a bad value.
 */
enum gy_status gy_linear_config_set(struct gy_linear_config *cfg, const char *key,
                                    const char *value);

/** A trained linear model. new: gy_linear_model_free. */
struct gy_linear_model {
    enum gy_linear_kind kind;
    size_t n_features;
    /** 1 (binary logistic, regression) or n_classes (multinomial). */
    size_t n_outputs;
    /** Logistic: number of classes (2 or more); 0 for regression. */
    int n_classes;
    /** n_outputs x n_features, row-major: output k's weights start at coef[k * n_features]. */
    double *coef;
    /** n_outputs intercepts (zeros without an intercept). Multinomial intercepts are
     * centered to sum to zero (the softmax is unchanged by a common shift). */
    double *intercept;
    /* Training statistics. */
    /** "lbfgs", "newton", "lbfgs+newton", or "cholesky" / "eigen" (regression); static. */
    const char *solver;
    int iterations;
    int converged;
    /** The objective above at the solution, and max |gradient| there. */
    double objective;
    double grad_max;
};

/**
 * Trains a linear model on @p x with labels @p y and sample weights @p w (NULL: all 1).
 * Logistic labels must be class ids 0..K-1; regression labels finite numbers. Every cell of
 * @p x must be finite (impute first). Row blocks are spread over cfg->nthread threads and
 * reduced in a fixed order, so the result does not depend on the thread count.
 * Not converging within max_iter is not an error: out->converged is 0.
 * Errors: GY_E_INVALID (bad labels, weights, cells or configuration; the message says which
 * row), GY_E_NOMEM, or a callback's status. On error *out is zeroed.
 */
enum gy_status gy_train_linear(const struct gy_linear_config *cfg, const struct gy_matrix *x,
                               const float *y, const float *w, struct gy_linear_model *out);

/** Frees the arrays and zeroes @p m. NULL is a no-op. */
void gy_linear_model_free(struct gy_linear_model *m);

/**
 * Predicts x->rows rows into @p out (caller-allocated): regression values, P(class 1) for
 * binary logistic, or rows x n_classes probabilities (softmax) for multinomial. A NaN cell
 * gives NaN. GY_E_INVALID when x->cols differs from m->n_features.
 */
enum gy_status gy_linear_predict(const struct gy_linear_model *m, const struct gy_matrix *x,
                                 double *out);

/* ------------------------------------------------------------------ metrics */

/*
 * Each metric equals scikit-learn 1.2's function on float64 arrays to within 1e-9, including
 * its sample weights and its defined edge cases; where scikit-learn raises, these return
 * GY_E_INVALID with a message. Class labels are int32 in [0, k); a label out of range is
 * GY_E_INVALID. Weights (NULL: all 1) must be finite; a weighted average whose weights sum
 * to 0 is GY_E_INVALID. n = 0 is GY_E_INVALID everywhere.
 */

/** ROC AUC of @p score for labels 0/1: roc_auc_score(y, score, sample_weight=w). One class
 * only is GY_E_INVALID. Ties in score are handled as scikit-learn does (one ROC point per
 * distinct score, trapezoids between). */
enum gy_status gy_metric_auc(const int32_t *y, const double *score, const double *w, size_t n,
                             double *out);

/** One-vs-rest macro ROC AUC of n x k probabilities (rows summing to 1 within numpy's
 * allclose): roc_auc_score(y, prob, multi_class="ovr", labels=range(k)). Every class must
 * occur in y. */
enum gy_status gy_metric_auc_ovr(const int32_t *y, const double *prob, const double *w, size_t n,
                                 int k, double *out);

/** Mean log loss, log_loss(y, prob, eps=eps, sample_weight=w, labels=range(k)). For k = 2
 * @p prob holds n values P(class 1); for k > 2 it is n x k. Probabilities are clipped to
 * [eps, 1 - eps] and rows renormalized, as scikit-learn does; eps = 0 means DBL_EPSILON
 * (scikit-learn's "auto" for float64; pass FLT_EPSILON to mimic float32 input). */
enum gy_status gy_metric_logloss(const int32_t *y, const double *prob, const double *w, size_t n,
                                 int k, double eps, double *out);

/** accuracy_score(y, pred, sample_weight=w). */
enum gy_status gy_metric_accuracy(const int32_t *y, const int32_t *pred, const double *w, size_t n,
                                  double *out);

/** How precision, recall and F1 are averaged. */
enum gy_metric_average {
    GY_METRIC_BINARY = 0, /* average="binary", pos_label=1 (k must be 2) */
    GY_METRIC_MACRO = 1,  /* average="macro" over the labels present in y or pred */
};

/** precision_score, recall_score, f1_score(y, pred, average=..., sample_weight=w) with
 * scikit-learn's zero_division default (an undefined ratio counts as 0). Any of the outputs
 * may be NULL. */
enum gy_status gy_metric_prf(const int32_t *y, const int32_t *pred, const double *w, size_t n,
                             int k, enum gy_metric_average avg, double *precision, double *recall,
                             double *f1);

/** confusion_matrix(y, pred, labels=range(k), sample_weight=w) into @p cm (k x k, row = true
 * class, column = predicted class; caller-allocated). */
enum gy_status gy_metric_confusion(const int32_t *y, const int32_t *pred, const double *w, size_t n,
                                   int k, double *cm);

/** sqrt(mean_squared_error(y, pred, sample_weight=w)). */
enum gy_status gy_metric_rmse(const double *y, const double *pred, const double *w, size_t n,
                              double *out);
/** mean_absolute_error(y, pred, sample_weight=w). */
enum gy_status gy_metric_mae(const double *y, const double *pred, const double *w, size_t n,
                             double *out);
/** r2_score(y, pred, sample_weight=w) with force_finite: a constant y gives 1.0 for a
 * perfect prediction and 0.0 otherwise. Fewer than 2 rows is GY_E_INVALID (scikit-learn
 * returns NaN with a warning). */
enum gy_status gy_metric_r2(const double *y, const double *pred, const double *w, size_t n,
                            double *out);

/** The predicted class of each row: p > 0.5 for k = 2 (prob holds P(class 1)), else the
 * first column of the largest probability (numpy argmax). */
void gy_metric_classes(const double *prob, size_t n, int k, int32_t *out);

/**
 * Every metric that applies to a task, for reports and run tracking. Undefined values (AUC
 * with one class present, R^2 of one row) are NaN rather than errors.
 * - binary: auc, logloss, accuracy, precision, recall, f1 (positive class 1), confusion 2x2
 * - multiclass: auc (one-vs-rest macro), logloss, accuracy, precision/recall/f1 (macro),
 *   confusion k x k
 * - regression: rmse, mae, r2
 */
struct gy_metrics {
    enum gy_train_task task;
    int n_classes;
    size_t n;
    double auc, logloss, accuracy, precision, recall, f1;
    double rmse, mae, r2;
    /** Classification: n_classes x n_classes (row = true class); NULL for regression. */
    double *confusion;
};

/**
 * Computes the metrics of @p task for labels @p y (float, as trained) and predictions
 * @p pred (n values, or n x n_classes probabilities for multiclass), weights @p w or NULL.
 * Classes are predicted as gy_metric_classes does. GY_E_INVALID for bad labels, weights or
 * sizes; GY_E_NOMEM. new: gy_metrics_free.
 */
enum gy_status gy_metrics_compute(enum gy_train_task task, int n_classes, const float *y,
                                  const double *pred, const float *w, size_t n,
                                  struct gy_metrics *out);

/** Frees the confusion matrix and zeroes @p m. NULL is a no-op. */
void gy_metrics_free(struct gy_metrics *m);

/**
 * Lists the defined (non-NaN) scalar metrics of @p m in a fixed order into names/values (up
 * to @p cap entries; names are static: "auc", "logloss", "accuracy", "precision", "recall",
 * "f1", "rmse", "mae", "r2"). Returns how many there are, which may exceed @p cap.
 */
size_t gy_metrics_list(const struct gy_metrics *m, const char **names, double *values, size_t cap);

#endif /* GY_TRAIN_H */
