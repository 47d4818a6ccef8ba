/* SPDX-License-Identifier: MIT */
/**
 * gyre.h - gyre's embedding API: open a model bundle, read its signature, predict.
 *
 * This is the stable C interface to the inference engine that `gyre server` uses, for
 * programs that want predictions in-process (no HTTP, no database). The header depends on
 * nothing but the C library. gyre ships a static library (libgyre.a) whose own dependencies
 * are listed in gyre.pc's Libs.private, so link with
 * `cc prog.c $(pkg-config --cflags --libs --static gyre)`. docs/embedding.md has the guide,
 * examples/predict.c a complete program.
 *
 *     gyre_model *m;
 *     char err[256];
 *     if (gyre_model_open("model.gyb", &m, err, sizeof err) != GYRE_OK) {
 *         fprintf(stderr, "%s\n", err);
 *         return 1;
 *     }
 *     float x[28] = {...}, p[1];
 *     gyre_predict(m, x, 1, p, err, sizeof err);     // raw inputs in, model outputs out
 *     gyre_model_close(m);
 *
 * Inputs are the model's raw input columns in signature order (gyre_model_input_name), as
 * they were in the training data: the bundle's fitted preprocessing (imputation, scaling,
 * one-hot encoding) is applied for you, by the same code that ran at training. NaN means
 * missing (so is +-infinity, as at training). Columns of type GYRE_TYPE_STRING (categories)
 * cannot be passed as floats: use gyre_predict_values for models that have them.
 *
 * Outputs per row are gyre_model_n_outputs() floats: the probability of the positive class
 * for binary classifiers, one probability per class for multi-class, the value for
 * regressors; exactly what XGBoost 1.7.4 would return for the same model and row (bit for
 * bit). Margins (before the link function) are available from gyre_predict_margins.
 *
 * Thread-safety: a gyre_model is immutable once opened. Any number of threads may call the
 * predict functions on the same model at once. Close it once, after every call returned.
 * Errors: every function that can fail returns a gyre_status and, when @p err is not NULL and
 * errlen > 0, writes a NUL-terminated message of at most errlen bytes (including the NUL)
 * naming what was wrong; a longer message is cut at a UTF-8 character boundary. On success
 * err is set to "". The library never prints and never exits.
 */
#ifndef GYRE_H
#define GYRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GYRE_VERSION_MAJOR 0
#define GYRE_VERSION_MINOR 1
#define GYRE_VERSION_PATCH 0

/** Result codes. */
typedef enum gyre_status {
    GYRE_OK = 0,
    GYRE_ERR_INVALID = 1,     /**< bad argument or input value */
    GYRE_ERR_IO = 2,          /**< the file cannot be read */
    GYRE_ERR_CORRUPT = 3,     /**< the bundle fails validation (checksum, bounds, fields) */
    GYRE_ERR_UNSUPPORTED = 4, /**< a newer bundle format, an unknown objective, or a model
                                   beyond this build's limits */
    GYRE_ERR_NOMEM = 5,       /**< out of memory */
} gyre_status;

/** Type of an input column. */
typedef enum gyre_type {
    GYRE_TYPE_FLOAT = 1,     /**< floating-point numbers */
    GYRE_TYPE_INT = 2,       /**< integers (passed as double/float; truncated toward zero) */
    GYRE_TYPE_BOOL = 3,      /**< 0 or 1 */
    GYRE_TYPE_STRING = 4,    /**< categories */
    GYRE_TYPE_TIMESTAMP = 5, /**< microseconds since the Unix epoch, UTC, as a number; a float
                                  holds it only to about 2 minutes: prefer gyre_predict_values */
} gyre_type;

/** An open model (opaque). */
typedef struct gyre_model gyre_model;

/** The library version as "MAJOR.MINOR.PATCH" (static string). */
const char *gyre_version(void);

/** A short English name for a status ("invalid argument", ...; static string). */
const char *gyre_status_str(gyre_status s);

/**
 * Opens the bundle file at @p path (a `.gyb` file written by `gyre train`, `gyre model
 * import` or `gyre model export`). The whole file is read and validated; nothing in it is
 * executed. *out is new (gyre_model_close) or NULL on error.
 */
gyre_status gyre_model_open(const char *path, gyre_model **out, char *err, size_t errlen);

/** Opens a bundle held in memory (@p data is only read during the call). */
gyre_status gyre_model_open_buffer(const void *data, size_t len, gyre_model **out, char *err,
                                   size_t errlen);

/** Frees the model. NULL is a no-op. */
void gyre_model_close(gyre_model *m);

/** The model's name as registered at training ("fraud"); borrowed until close. */
const char *gyre_model_name(const gyre_model *m);

/** The objective ("binary:logistic", "multi:softprob", "reg:squarederror", ...); borrowed. */
const char *gyre_model_objective(const gyre_model *m);

/**
 * Number of input columns, and the name and type of the i-th. For i >= n_inputs the name is
 * NULL and the type 0.
 */
size_t gyre_model_n_inputs(const gyre_model *m);
const char *gyre_model_input_name(const gyre_model *m, size_t i);
gyre_type gyre_model_input_type(const gyre_model *m, size_t i);

/** Index of the input column named @p name (exact, case-sensitive), or -1. */
long gyre_model_input_index(const gyre_model *m, const char *name);

/** Output values per row; margins per row (the same except for multi:softmax). */
size_t gyre_model_n_outputs(const gyre_model *m);
size_t gyre_model_n_margins(const gyre_model *m);

/**
 * The model's metadata (run id, dataset version, metrics, ...) as a JSON text; borrowed until
 * close.
 */
const char *gyre_model_metadata_json(const gyre_model *m);

/**
 * Predicts @p nrows rows. @p x holds nrows x n_inputs floats, row-major, inputs in signature
 * order, NaN for missing. @p out gets nrows x n_outputs floats. Rows are evaluated on the
 * calling thread, in blocks of 256, so memory use stays bounded for any nrows. One row
 * allocates nothing for models of up to 64 inputs and about 60 preprocessed features (it uses
 * about 36 KiB of stack); batches and wider models allocate one block per call. nrows == 0
 * is a no-op. GYRE_ERR_INVALID when the model has a GYRE_TYPE_STRING input, when a pointer
 * is NULL with nrows > 0, or when a value is not acceptable for its column (not 0, 1 or NaN
 * for a boolean column; the message names the row and column); @p out is then unspecified.
 */
gyre_status gyre_predict(const gyre_model *m, const float *x, size_t nrows, float *out, char *err,
                         size_t errlen);

/** The same, writing nrows x n_margins margins (before the link function) to @p out. */
gyre_status gyre_predict_margins(const gyre_model *m, const float *x, size_t nrows, float *out,
                                 char *err, size_t errlen);

/** One input value of any type, for gyre_predict_values. */
typedef struct gyre_value {
    const char *str; /**< a category (GYRE_TYPE_STRING); NULL for a missing value */
    double num;      /**< a number (other types) when str is NULL; NaN for missing */
} gyre_value;

/**
 * Predicts one row given as n_inputs values in signature order (categories as strings).
 * Unknown categories and missing values follow the model's fitted preprocessing. @p out gets
 * n_outputs floats. A string for a numeric column, or a number other than 0, 1 or NaN for a
 * boolean column, is GYRE_ERR_INVALID naming the column; for a GYRE_TYPE_STRING column a
 * NULL str is missing (num is ignored).
 */
gyre_status gyre_predict_values(const gyre_model *m, const gyre_value *row, float *out, char *err,
                                size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* GYRE_H */
