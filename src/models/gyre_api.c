/* SPDX-License-Identifier: MIT */
/*
 * gyre_api.c - the public embedding API (include/gyre.h) over the internal modules: a
 * gyre_model is a loaded, validated bundle (src/models/bundle.c) plus the serving engine
 * compiled from it (gy_engine_create), its input signature mapped to public types, and its
 * metadata rendered once as compact JSON.
 *
 * Prediction on float rows turns each row into the bundle's preprocessed row with the same
 * per-value code the server and the trainer use (gy_features_apply_row), then runs the engine
 * on blocks of up to 256 rows, so memory stays bounded for any batch. When the preprocessing
 * is the identity over float64 inputs (imported models, numeric-only data) rows go to the
 * engine as given, copied only when a block holds an infinity or a non-canonical NaN (the
 * preprocessing turns both into the canonical NaN). One row uses stack buffers only (about
 * 36 KiB) when the model has up to 64 inputs, 256 features and its engine needs at most 32 KiB
 * of scratch for one row (the tree engine stages 2F+1 slots of 256 bytes: about 60 features).
 *
 * Errors: internal gy_status codes map to gyre_status and the thread-local detail text
 * (gy_error_msg) is copied into the caller's buffer. The model is immutable after open; no
 * global state is written, nothing is printed.
 */
#include "gyre.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "features/features.h"
#include "models/models.h"

#define API_BLOCK_ROWS 256       /* rows per engine call in a batch */
#define API_STACK_INPUTS 64      /* raw inputs one row keeps on the stack */
#define API_STACK_FEATURES 256   /* preprocessed features one row keeps on the stack */
#define API_STACK_SCRATCH 32768  /* engine scratch bytes one row keeps on the stack */
#define API_META_MAX (64u << 20) /* bytes of metadata JSON */

#define API_STR2(x) #x
#define API_STR(x) API_STR2(x)

struct gyre_model {
    struct gy_model_bundle *bundle;
    struct gy_engine *engine;
    const struct gy_features *features; /* borrowed from bundle */
    size_t n_inputs, n_features, n_margins, n_outputs;
    gyre_type *types;      /* n_inputs */
    long first_string;     /* index of the first GYRE_TYPE_STRING input, or -1 */
    int identity;          /* preprocessing is the identity over float64 inputs */
    const char *name;      /* borrowed from the metadata */
    const char *objective; /* borrowed from the metadata */
    char *meta_json;       /* compact JSON of the metadata */
};

/* ------------------------------------------------------------------ errors */

/* Copies @p msg into err, cut at a UTF-8 boundary to fit errlen bytes with the NUL. */
static void err_put(char *err, size_t errlen, const char *msg)
{
    size_t n;
    if (!err || errlen == 0)
        return;
    n = strlen(msg);
    if (n >= errlen) {
        n = errlen - 1;
        /* Back off continuation bytes so a multi-byte character is not split. */
        while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(err, msg, n);
    err[n] = '\0';
}

static gyre_status err_set(char *err, size_t errlen, gyre_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static gyre_status err_set(char *err, size_t errlen, gyre_status s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_put(err, errlen, msg);
    return s;
}

static gyre_status status_map(enum gy_status rc)
{
    switch (rc) {
    case GY_OK:
        return GYRE_OK;
    case GY_E_NOMEM:
        return GYRE_ERR_NOMEM;
    case GY_NOT_FOUND:
    case GY_E_IO:
    case GY_E_PERM:
    case GY_E_BUSY:
    case GY_AGAIN:
        return GYRE_ERR_IO;
    case GY_E_CORRUPT:
        return GYRE_ERR_CORRUPT;
    case GY_E_UNSUPPORTED:
    case GY_E_TOO_LARGE:
        return GYRE_ERR_UNSUPPORTED;
    default:
        return GYRE_ERR_INVALID;
    }
}

/* Maps an internal failure and copies its detail text (or the status name) into err. */
static gyre_status err_from(char *err, size_t errlen, enum gy_status rc)
{
    const char *msg = gy_error_msg();
    err_put(err, errlen, msg[0] ? msg : gy_status_str(rc));
    return status_map(rc);
}

static gyre_status ok(char *err, size_t errlen)
{
    err_put(err, errlen, "");
    return GYRE_OK;
}

/* ------------------------------------------------------------------ version, status */

const char *gyre_version(void)
{
    return API_STR(GYRE_VERSION_MAJOR) "." API_STR(GYRE_VERSION_MINOR) "." API_STR(
        GYRE_VERSION_PATCH);
}

const char *gyre_status_str(gyre_status s)
{
    switch (s) {
    case GYRE_OK:
        return "ok";
    case GYRE_ERR_INVALID:
        return "invalid argument";
    case GYRE_ERR_IO:
        return "I/O error";
    case GYRE_ERR_CORRUPT:
        return "corrupt bundle";
    case GYRE_ERR_UNSUPPORTED:
        return "unsupported";
    case GYRE_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown status";
}

/* ------------------------------------------------------------------ open, close */

static gyre_type type_map(enum gy_type t)
{
    switch (t) {
    case GY_TYPE_FLOAT64:
        return GYRE_TYPE_FLOAT;
    case GY_TYPE_INT64:
        return GYRE_TYPE_INT;
    case GY_TYPE_BOOL:
        return GYRE_TYPE_BOOL;
    case GY_TYPE_STRING:
        return GYRE_TYPE_STRING;
    case GY_TYPE_TIMESTAMP:
        return GYRE_TYPE_TIMESTAMP;
    }
    return GYRE_TYPE_FLOAT;
}

/*
 * True when applying @p f to float inputs changes nothing but non-finite values (which become
 * the canonical NaN): every input float64, passed through without imputation or clipping, and
 * output j is input j. Read from the fitted state's JSON form, the only public view of it.
 */
static enum gy_status detect_identity(const struct gy_features *f, int *identity)
{
    size_t n = gy_features_n_inputs(f);
    json_t *j = NULL, *inputs;
    enum gy_status rc;
    *identity = 0;
    if (gy_features_n_outputs(f) != n)
        return GY_OK;
    if ((rc = gy_features_to_json(f, &j)) != GY_OK)
        return rc;
    inputs = json_object_get(j, "inputs");
    if (json_array_size(inputs) != n)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const json_t *in = json_array_get(inputs, i);
        if (gy_features_input_type(f, i) != GY_TYPE_FLOAT64 ||
            strcmp(gy_json_str(in, "encode", ""), "passthrough") != 0 ||
            strcmp(gy_json_str(in, "impute", ""), "none") != 0 || json_object_get(in, "clip") ||
            json_object_get(in, "mean") || json_object_get(in, "std") ||
            strcmp(gy_features_output_name(f, i), gy_features_input_name(f, i)) != 0)
            goto out;
    }
    *identity = 1;
out:
    json_decref(j);
    return GY_OK;
}

/* Builds the public model around @p b (taken over, freed on error). */
static gyre_status model_make(struct gy_model_bundle *b, gyre_model **out, char *err, size_t errlen)
{
    struct gyre_model *m = gy_calloc(1, sizeof(*m));
    const json_t *meta;
    struct gy_buf js;
    enum gy_status rc;
    gyre_status st;

    gy_buf_init(&js, API_META_MAX);
    if (!m) {
        gy_model_bundle_free(b);
        return err_set(err, errlen, GYRE_ERR_NOMEM, "out of memory");
    }
    m->bundle = b;
    m->features = gy_model_bundle_features(b);
    m->n_inputs = gy_features_n_inputs(m->features);
    m->first_string = -1;
    if ((rc = gy_engine_create(b, &m->engine)) != GY_OK) {
        gy_error_wrap(rc, "compiling the model");
        goto fail;
    }
    m->n_features = gy_engine_n_features(m->engine);
    m->n_margins = gy_engine_n_margins(m->engine);
    m->n_outputs = gy_engine_n_outputs(m->engine);
    if (m->n_features != gy_features_n_outputs(m->features) || m->n_inputs == 0) {
        rc = gy_error_set(GY_E_CORRUPT,
                          "the engine takes %zu features, the preprocessing "
                          "gives %zu",
                          m->n_features, gy_features_n_outputs(m->features));
        goto fail;
    }
    m->types = gy_calloc(m->n_inputs, sizeof(*m->types));
    if (!m->types) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->n_inputs; i++) {
        m->types[i] = type_map(gy_features_input_type(m->features, i));
        if (m->types[i] == GYRE_TYPE_STRING && m->first_string < 0)
            m->first_string = (long)i;
    }
    if ((rc = detect_identity(m->features, &m->identity)) != GY_OK)
        goto fail;
    meta = gy_model_bundle_meta(b);
    m->name = gy_json_str(meta, "name", "");
    m->objective = gy_json_str(meta, "objective", "");
    if ((rc = gy_json_dump(meta, &js)) != GY_OK)
        goto fail;
    m->meta_json = gy_buf_detach(&js, NULL);
    if (!m->meta_json) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto fail;
    }
    *out = m;
    return ok(err, errlen);
fail:
    st = err_from(err, errlen, rc);
    gy_buf_free(&js);
    gyre_model_close(m);
    return st;
}

gyre_status gyre_model_open(const char *path, gyre_model **out, char *err, size_t errlen)
{
    struct gy_model_bundle *b = NULL;
    enum gy_status rc;
    if (out)
        *out = NULL;
    if (!out || !path)
        return err_set(err, errlen, GYRE_ERR_INVALID, "gyre_model_open: %s is NULL",
                       !out ? "out" : "path");
    if (!path[0])
        return err_set(err, errlen, GYRE_ERR_INVALID, "gyre_model_open: the path is empty");
    gy_error_clear();
    if ((rc = gy_model_bundle_load_file(path, &b)) != GY_OK)
        return err_from(err, errlen, rc);
    return model_make(b, out, err, errlen);
}

gyre_status gyre_model_open_buffer(const void *data, size_t len, gyre_model **out, char *err,
                                   size_t errlen)
{
    struct gy_model_bundle *b = NULL;
    enum gy_status rc;
    if (out)
        *out = NULL;
    if (!out || (!data && len > 0))
        return err_set(err, errlen, GYRE_ERR_INVALID, "gyre_model_open_buffer: %s is NULL",
                       !out ? "out" : "data");
    gy_error_clear();
    if ((rc = gy_model_bundle_load(data ? data : "", len, &b)) != GY_OK) {
        gy_error_wrap(rc, "model bundle");
        return err_from(err, errlen, rc);
    }
    return model_make(b, out, err, errlen);
}

void gyre_model_close(gyre_model *m)
{
    if (!m)
        return;
    gy_engine_free(m->engine);
    gy_model_bundle_free(m->bundle);
    gy_free(m->types);
    gy_free(m->meta_json);
    gy_free(m);
}

/* ------------------------------------------------------------------ signature */

const char *gyre_model_name(const gyre_model *m)
{
    return m ? m->name : NULL;
}

const char *gyre_model_objective(const gyre_model *m)
{
    return m ? m->objective : NULL;
}

size_t gyre_model_n_inputs(const gyre_model *m)
{
    return m ? m->n_inputs : 0;
}

const char *gyre_model_input_name(const gyre_model *m, size_t i)
{
    return m && i < m->n_inputs ? gy_features_input_name(m->features, i) : NULL;
}

gyre_type gyre_model_input_type(const gyre_model *m, size_t i)
{
    return m && i < m->n_inputs ? m->types[i] : (gyre_type)0;
}

long gyre_model_input_index(const gyre_model *m, const char *name)
{
    return m && name ? gy_features_input_find(m->features, name) : -1;
}

size_t gyre_model_n_outputs(const gyre_model *m)
{
    return m ? m->n_outputs : 0;
}

size_t gyre_model_n_margins(const gyre_model *m)
{
    return m ? m->n_margins : 0;
}

const char *gyre_model_metadata_json(const gyre_model *m)
{
    return m ? m->meta_json : NULL;
}

/* ------------------------------------------------------------------ prediction */

/* Per-call buffers: on the stack for one small row, else one allocation. */
struct work {
    struct gy_feature_value *vals; /* n_inputs */
    float *x;                      /* block_rows x n_features, or NULL when not needed */
    void *scratch;                 /* 64-byte aligned */
    void *heap;
};

/*
 * A bool column takes 0, 1 or NaN; the other numeric ones any number (non-finite = missing).
 * @p row names the row in the error text (SIZE_MAX: a single row, not named).
 */
static gyre_status value_from_float(const gyre_model *m, size_t i, double v,
                                    struct gy_feature_value *fv, size_t row, char *err,
                                    size_t errlen)
{
    if (isnan(v)) {
        *fv = (struct gy_feature_value){.kind = GY_FV_NULL};
    } else if (m->types[i] == GYRE_TYPE_BOOL) {
        if (v != 0 && v != 1) {
            char where[48] = "";
            if (row != SIZE_MAX)
                snprintf(where, sizeof where, "row %zu, ", row);
            return err_set(err, errlen, GYRE_ERR_INVALID, "%sinput '%s' (bool): %.9g is not 0 or 1",
                           where, gy_features_input_name(m->features, i), v);
        }
        *fv = (struct gy_feature_value){.kind = GY_FV_BOOL, .num = v};
    } else {
        *fv = (struct gy_feature_value){.kind = GY_FV_NUM, .num = v};
    }
    return GYRE_OK;
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* True when every value is finite or the canonical NaN (what the preprocessing writes). */
static int block_clean(const float *x, size_t n)
{
    const uint32_t canon = float_bits(NAN);
    for (size_t i = 0; i < n; i++) {
        uint32_t u = float_bits(x[i]);
        if ((u & 0x7f800000u) == 0x7f800000u && u != canon)
            return 0;
    }
    return 1;
}

static gyre_status predict_floats(const gyre_model *m, const float *x, size_t nrows, float *out,
                                  int margins, char *err, size_t errlen)
{
    _Alignas(64) unsigned char stack_scratch[API_STACK_SCRATCH];
    float stack_x[API_STACK_FEATURES];
    struct gy_feature_value stack_vals[API_STACK_INPUTS];
    struct work w = {0};
    size_t block, n_per_row, scratch_len, need = 0;
    gyre_status st = GYRE_OK;

    if (!m)
        return err_set(err, errlen, GYRE_ERR_INVALID, "the model is NULL");
    if (nrows == 0)
        return ok(err, errlen);
    if (!x || !out)
        return err_set(err, errlen, GYRE_ERR_INVALID, "%s is NULL with %zu rows",
                       !x ? "the input" : "the output", nrows);
    if (m->first_string >= 0)
        return err_set(err, errlen, GYRE_ERR_INVALID,
                       "input '%s' is a string (category) column: use gyre_predict_values",
                       gy_features_input_name(m->features, (size_t)m->first_string));
    n_per_row = margins ? m->n_margins : m->n_outputs;
    if (nrows > SIZE_MAX / sizeof(float) / m->n_inputs ||
        nrows > SIZE_MAX / sizeof(float) / n_per_row)
        return err_set(err, errlen, GYRE_ERR_INVALID, "%zu rows is too many", nrows);

    block = GY_MIN(nrows, (size_t)API_BLOCK_ROWS);
    scratch_len = gy_engine_scratch_size(m->engine, block);
    if (nrows % block) /* the last block is shorter: its kernel may differ */
        scratch_len = GY_MAX(scratch_len, gy_engine_scratch_size(m->engine, nrows % block));
    /* One row of a small model: everything on the stack (the identity path needs no values). */
    if (block == 1 && (m->identity || m->n_inputs <= API_STACK_INPUTS) &&
        m->n_features <= API_STACK_FEATURES && scratch_len <= sizeof stack_scratch) {
        w.vals = stack_vals;
        w.x = stack_x;
        w.scratch = stack_scratch;
    } else {
        size_t xb = (block * m->n_features * sizeof(float) + 63) & ~(size_t)63;
        size_t vb = (m->n_inputs * sizeof(struct gy_feature_value) + 63) & ~(size_t)63;
        unsigned char *p;
        need = xb + vb + scratch_len + 64;
        w.heap = gy_malloc(need);
        if (!w.heap)
            return err_set(err, errlen, GYRE_ERR_NOMEM, "out of memory (%zu bytes)", need);
        p = (unsigned char *)(((uintptr_t)w.heap + 63) & ~(uintptr_t)63);
        w.x = (float *)p;
        w.vals = (struct gy_feature_value *)(p + xb);
        w.scratch = p + xb + vb;
    }

    for (size_t r0 = 0; r0 < nrows; r0 += block) {
        size_t nr = GY_MIN(block, nrows - r0);
        const float *xin = x + r0 * m->n_inputs;
        const float *rows = w.x;
        float *o = out + r0 * n_per_row;
        if (m->identity) {
            if (block_clean(xin, nr * m->n_inputs)) {
                rows = xin;
            } else {
                for (size_t k = 0; k < nr * m->n_inputs; k++)
                    w.x[k] = isfinite(xin[k]) ? xin[k] : NAN;
            }
        } else {
            for (size_t r = 0; r < nr; r++) {
                const float *row = xin + r * m->n_inputs;
                enum gy_status rc;
                for (size_t i = 0; i < m->n_inputs; i++) {
                    st = value_from_float(m, i, row[i], &w.vals[i], r0 + r, err, errlen);
                    if (st != GYRE_OK)
                        goto out;
                }
                rc = gy_features_apply_row(m->features, w.vals, w.x + r * m->n_features);
                if (rc != GY_OK) {
                    st = err_from(err, errlen, rc);
                    goto out;
                }
            }
        }
        gy_engine_predict(m->engine, rows, nr, w.scratch, margins ? o : NULL, margins ? NULL : o);
    }
    st = ok(err, errlen);
out:
    gy_free(w.heap);
    return st;
}

gyre_status gyre_predict(const gyre_model *m, const float *x, size_t nrows, float *out, char *err,
                         size_t errlen)
{
    return predict_floats(m, x, nrows, out, 0, err, errlen);
}

gyre_status gyre_predict_margins(const gyre_model *m, const float *x, size_t nrows, float *out,
                                 char *err, size_t errlen)
{
    return predict_floats(m, x, nrows, out, 1, err, errlen);
}

gyre_status gyre_predict_values(const gyre_model *m, const gyre_value *row, float *out, char *err,
                                size_t errlen)
{
    _Alignas(64) unsigned char stack_scratch[API_STACK_SCRATCH];
    float stack_x[API_STACK_FEATURES];
    struct gy_feature_value stack_vals[API_STACK_INPUTS];
    struct work w = {0};
    size_t scratch_len;
    enum gy_status rc;
    gyre_status st;

    if (!m || !row || !out)
        return err_set(err, errlen, GYRE_ERR_INVALID, "%s is NULL",
                       !m     ? "the model"
                       : !row ? "the row"
                              : "the output");
    scratch_len = gy_engine_scratch_size(m->engine, 1);
    if (m->n_inputs <= API_STACK_INPUTS && m->n_features <= API_STACK_FEATURES &&
        scratch_len <= sizeof stack_scratch) {
        w.vals = stack_vals;
        w.x = stack_x;
        w.scratch = stack_scratch;
    } else {
        size_t xb = (m->n_features * sizeof(float) + 63) & ~(size_t)63;
        size_t vb = (m->n_inputs * sizeof(struct gy_feature_value) + 63) & ~(size_t)63;
        size_t need = xb + vb + scratch_len + 64;
        unsigned char *p;
        w.heap = gy_malloc(need);
        if (!w.heap)
            return err_set(err, errlen, GYRE_ERR_NOMEM, "out of memory (%zu bytes)", need);
        p = (unsigned char *)(((uintptr_t)w.heap + 63) & ~(uintptr_t)63);
        w.x = (float *)p;
        w.vals = (struct gy_feature_value *)(p + xb);
        w.scratch = p + xb + vb;
    }
    for (size_t i = 0; i < m->n_inputs; i++) {
        const gyre_value *v = &row[i];
        if (m->types[i] == GYRE_TYPE_STRING) {
            w.vals[i] = v->str ? (struct gy_feature_value){.kind = GY_FV_STR,
                                                           .str = v->str,
                                                           .len = strlen(v->str)}
                               : (struct gy_feature_value){.kind = GY_FV_NULL};
        } else if (v->str) {
            st = err_set(err, errlen, GYRE_ERR_INVALID,
                         "input '%s' (%s) takes a number, not the string \"%.40s\"",
                         gy_features_input_name(m->features, i),
                         gy_type_name(gy_features_input_type(m->features, i)), v->str);
            goto out;
        } else if ((st = value_from_float(m, i, v->num, &w.vals[i], SIZE_MAX, err, errlen)) !=
                   GYRE_OK) {
            goto out;
        }
    }
    if ((rc = gy_features_apply_row(m->features, w.vals, w.x)) != GY_OK) {
        st = err_from(err, errlen, rc);
        goto out;
    }
    gy_engine_predict(m->engine, w.x, 1, w.scratch, NULL, out);
    st = ok(err, errlen);
out:
    gy_free(w.heap);
    return st;
}
