/* SPDX-License-Identifier: MIT */
/**
 * features.h - preprocessing: a feature spec says how each raw column of a dataset becomes
 * model inputs (impute, clip, standardize, one-hot, ordinal codes, drop); fitting it on the
 * training rows gives a fitted preprocessing (means, medians, stds, vocabularies) that turns
 * column batches into a dense row-major float32 matrix for a trainer, and one request's typed
 * values into one float32 row at serving time. Both paths share the same per-value code, so a
 * row transformed at serving equals the same row transformed at training bit for bit.
 *
 * The fitted preprocessing is saved as JSON inside a model bundle and loaded back with full
 * validation. docs/internals/features.md describes the spec grammar and the JSON forms.
 *
 * Thread-safety: a spec or fitter is used by one thread at a time. A fitted struct gy_features
 * is immutable: any number of threads may apply it at once.
 */
#ifndef GY_FEATURES_H
#define GY_FEATURES_H

#include "base/base.h"
#include "lake/lake.h"

/** Bounds checked when parsing a spec or loading a fitted preprocessing. */
#define GY_FEATURES_MAX_INPUTS 4096       /* raw input columns */
#define GY_FEATURES_MAX_OUTPUTS (1 << 20) /* output features after encoding */
#define GY_FEATURES_MAX_TOP 100000        /* top=K for one categorical column */
#define GY_FEATURES_MAX_VOCAB 100000      /* seen-but-not-top categories kept per column */
#define GY_FEATURES_MAX_CATEGORY 4096     /* bytes in one category value */

/**
 * Which defaults fill what a spec leaves unsaid. The trainer picks: tree ensembles handle
 * NaN and unscaled inputs natively; linear models need imputed, standardized inputs.
 *
 *   column type   tree                        linear
 *   numeric       passthrough, NaN kept       impute=mean, standardize
 *   bool          0/1, NaN kept               0/1, impute=mean
 *   string        ordinal top=100             onehot top=20
 *   timestamp     drop                        drop
 */
enum gy_features_mode {
    GY_FEATURES_TREE = 0,
    GY_FEATURES_LINEAR = 1,
};

/** How a column is encoded. */
enum gy_feature_encode {
    GY_ENCODE_DEFAULT = 0,     /* not stated: the mode's default for the column type */
    GY_ENCODE_DROP = 1,        /* not an input */
    GY_ENCODE_PASSTHROUGH = 2, /* numeric/bool: the value (after impute and clip) */
    GY_ENCODE_STANDARDIZE = 3, /* numeric/bool: (v - mean) / std after impute and clip */
    GY_ENCODE_ONEHOT = 4,      /* string: top-k indicators + <other> + <unseen> */
    GY_ENCODE_ORDINAL = 5,     /* string: code 0..k-1 by frequency, k = other, k+1 = unseen */
    GY_ENCODE_PARTS = 6,       /* timestamp: NAME.hour (0-23, UTC) and NAME.dow (0=Monday) */
};

/** How a missing value is replaced. */
enum gy_feature_impute {
    GY_IMPUTE_DEFAULT = 0,  /* not stated: the mode's default */
    GY_IMPUTE_NONE = 1,     /* numeric: NaN; onehot: all zeros; ordinal: NaN */
    GY_IMPUTE_MEAN = 2,     /* numeric: mean of the training values (after clip) */
    GY_IMPUTE_MEDIAN = 3,   /* numeric: exact median of the training values (after clip) */
    GY_IMPUTE_CONSTANT = 4, /* numeric: a given value */
    GY_IMPUTE_MODE = 5,     /* string: the most frequent training category */
};

/** The encoding's name ("onehot", ...) or "default" (static). */
const char *gy_feature_encode_name(enum gy_feature_encode e);
/** The imputation's name ("median", ...) or "default" (static). */
const char *gy_feature_impute_name(enum gy_feature_impute i);

/* ------------------------------------------------------------------ spec */

/**
 * A feature spec: one rule per named column plus a rule for the columns it does not name
 * ("auto": the mode's defaults, or "drop": only named columns are inputs).
 */
struct gy_feature_spec;

/** Creates an empty spec (every column gets the mode's defaults). *out new; GY_E_NOMEM. */
enum gy_status gy_features_spec_create(struct gy_feature_spec **out);
void gy_features_spec_free(struct gy_feature_spec *s);

/**
 * Adds the rules of a flag string to @p s (a later rule for the same column replaces the
 * earlier one). Grammar (whitespace around tokens is ignored):
 *
 *   spec   := rule (';' rule)*
 *   rule   := COLUMN ':' option (',' option)*      COLUMN ends at the first ':'
 *   option := 'drop' | 'passthrough' | 'standardize' | 'onehot' | 'ordinal' | 'parts'
 *           | 'impute=' ('mean' | 'median' | 'mode' | 'none' | NUMBER)
 *           | 'clip=' [NUMBER] ':' [NUMBER]          e.g. clip=0:1000, clip=:5
 *           | 'top=' INTEGER                          1 .. GY_FEATURES_MAX_TOP
 *
 * COLUMN "*" sets the rule for unnamed columns and accepts only "drop" or "auto".
 * Example: "amount:standardize,impute=median;merchant:onehot,top=20;tx_id:drop".
 * GY_E_INVALID with the offending rule and option in the error text; @p s is unchanged then.
 */
enum gy_status gy_features_spec_add_flags(struct gy_feature_spec *s, const char *flags);

/**
 * Parses the JSON form of a spec (see gy_features_spec_from_json). GY_E_INVALID with
 * "line L, column C" or the offending key in the error text. *out new.
 */
enum gy_status gy_features_spec_parse_json(const char *text, size_t len,
                                           struct gy_feature_spec **out);

/**
 * Reads a spec from parsed JSON:
 *   {"default": "auto"|"drop",
 *    "columns": [{"name": "amount", "encode": "standardize", "impute": "median"|NUMBER,
 *                 "clip": [LO|null, HI|null], "top": 20}, ...]}
 * "columns" may also be an object keyed by column name. Unknown keys are errors. *out new.
 */
enum gy_status gy_features_spec_from_json(const json_t *j, struct gy_feature_spec **out);

/**
 * Loads a spec file: JSON, or YAML (same structure) when the file does not start with '{'.
 * The error text names the file and the line. *out new.
 */
enum gy_status gy_features_spec_load_file(const char *path, struct gy_feature_spec **out);

/** The spec in its JSON form (new), e.g. to log as a run parameter. */
enum gy_status gy_features_spec_to_json(const struct gy_feature_spec *s, json_t **out);

/* ------------------------------------------------------------------ fitting */

/** A fitted preprocessing (immutable once made). */
struct gy_features;

/** A fit in progress: batches of training rows are added, then it is finished. */
struct gy_features_fitter;

/**
 * Starts fitting @p spec (borrowed for the call only) for a dataset with @p schema
 * (borrowed for the call only). @p target (may be NULL) is never an input. Checks the spec
 * against the schema: unknown columns, an encoding that does not fit a column's type, the
 * target named as an input are GY_E_INVALID naming the column. *out new.
 */
enum gy_status gy_features_fit_begin(const struct gy_feature_spec *spec,
                                     const struct gy_schema *schema, const char *target,
                                     enum gy_features_mode mode, struct gy_features_fitter **out);

/**
 * Adds one batch: @p cols holds one vector per column of the schema given to fit_begin, in
 * schema order, each with @p nrows rows. Only rows with mask[i] != 0 are used (@p mask NULL:
 * every row). GY_E_SCHEMA when a vector's type or length does not match; GY_E_TOO_LARGE when
 * a column holds more than 2^24 distinct categories (drop it).
 */
enum gy_status gy_features_fit_add(struct gy_features_fitter *f, const struct gy_colvec *cols,
                                   size_t nrows, const uint8_t *mask);

/**
 * Finishes the fit: computes statistics, picks vocabularies, lays out the outputs. The fitter
 * is left unusable (free it). GY_E_INVALID when no column is left as an input. *out new.
 */
enum gy_status gy_features_fit_finish(struct gy_features_fitter *f, struct gy_features **out);

void gy_features_fitter_free(struct gy_features_fitter *f);

/** One-shot fit over a single batch: begin, add, finish. *out new. */
enum gy_status gy_features_fit(const struct gy_feature_spec *spec, const struct gy_schema *schema,
                               const char *target, enum gy_features_mode mode,
                               const struct gy_colvec *cols, size_t nrows, const uint8_t *mask,
                               struct gy_features **out);

/**
 * A preprocessing that passes @p n float64 inputs through unchanged (no imputation): for
 * models whose inputs are already numeric features (imported models). *out new.
 */
enum gy_status gy_features_identity(const char *const *names, size_t n, struct gy_features **out);

void gy_features_free(struct gy_features *f);

/* ------------------------------------------------------------------ shape */

/** Number of raw inputs (columns a request must provide). */
size_t gy_features_n_inputs(const struct gy_features *f);
/** Name of input @p i (borrowed, valid while @p f lives). */
const char *gy_features_input_name(const struct gy_features *f, size_t i);
/** Lake type of input @p i. */
enum gy_type gy_features_input_type(const struct gy_features *f, size_t i);
/** Index of an input by name, or -1. */
long gy_features_input_find(const struct gy_features *f, const char *name);
/** Number of output features (width of a transformed row). */
size_t gy_features_n_outputs(const struct gy_features *f);
/** Name of output @p j ("amount", "merchant=grocery", "merchant=<other>"); borrowed. */
const char *gy_features_output_name(const struct gy_features *f, size_t j);

/* ------------------------------------------------------------------ apply */

/**
 * Transforms a batch into @p out, row-major, gy_features_n_outputs() floats per row, NaN for
 * a missing value that is not imputed. @p schema and @p cols describe the batch (any column
 * order; extra columns are ignored; every input must be present with its fitted type, else
 * GY_E_SCHEMA). Only rows with mask[i] != 0 are written, in order (@p mask NULL: all rows);
 * @p out must hold (selected rows) x n_outputs floats. *rows_out gets the rows written.
 */
enum gy_status gy_features_apply_cols(const struct gy_features *f, const struct gy_schema *schema,
                                      const struct gy_colvec *cols, size_t nrows,
                                      const uint8_t *mask, float *out, size_t *rows_out);

/** Kind of a typed input value at serving time. */
enum gy_feature_value_kind {
    GY_FV_NULL = 0, /* missing */
    GY_FV_NUM = 1,  /* num */
    GY_FV_STR = 2,  /* str/len, not NUL-terminated, borrowed */
    GY_FV_BOOL = 3, /* num is 0 or 1 */
};

/** One raw input value of a request. */
struct gy_feature_value {
    enum gy_feature_value_kind kind;
    double num;
    const char *str;
    size_t len;
};

/**
 * Transforms one row: @p in holds gy_features_n_inputs() values in input order; @p out gets
 * gy_features_n_outputs() floats. Allocation-free and thread-safe. Identical (bit for bit) to
 * gy_features_apply_cols on the same values.
 *
 * Accepted kinds per input type: numeric (float64/int64) takes NUM or BOOL (an int64 input
 * truncates NUM to an integer, as ingest would have); bool takes BOOL or NUM (nonzero is
 * true); string takes STR, NUM (as the shortest decimal that reads back, so 12 gives "12") or
 * BOOL ("true"/"false"); timestamp takes NUM (microseconds since the epoch). NULL and
 * non-finite NUM are missing. Any other kind is GY_E_INVALID naming the input (out is then
 * unspecified).
 */
enum gy_status gy_features_apply_row(const struct gy_features *f, const struct gy_feature_value *in,
                                     float *out);

/* ------------------------------------------------------------------ persistence */

/**
 * The fitted state as JSON (new): {"version": 1, "mode", "inputs": [{"name", "type",
 * "encode", ...fitted fields}], "outputs": [names]}. See docs/internals/features.md.
 */
enum gy_status gy_features_to_json(const struct gy_features *f, json_t **out);

/**
 * Loads a fitted state saved by gy_features_to_json, validating every field (types, finite
 * numbers, positive stds, vocabulary sizes and uniqueness, output names and count). Malformed
 * input is GY_E_CORRUPT with the path of the offending field. *out new.
 */
enum gy_status gy_features_from_json(const json_t *j, struct gy_features **out);

#endif /* GY_FEATURES_H */
