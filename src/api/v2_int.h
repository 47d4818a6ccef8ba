/* SPDX-License-Identifier: MIT */
/**
 * v2_int.h - the pure part of the V2 (KServe/Triton Open Inference Protocol) endpoint, shared
 * by src/api/v2.c, src/api/metrics.c, the unit tests and the fuzz target: the request parser
 * (a JSON body, optionally followed by binary tensor data, becomes struct gy_tensor inputs,
 * the requested outputs, the id and the parameters) and the response writer (outputs become
 * the JSON or binary response bytes). No HTTP here: both sides work on byte ranges.
 *
 * The parser is hand-written for the request's fixed shape: tensor data goes straight from
 * the JSON text into typed arrays in the request arena (no JSON tree; FP32/FP64 data in one
 * pass when its datatype and shape come first, with an exact two-pass fallback that keeps
 * every error the same), and binary tensor data is used in place when it is aligned. Every
 * limit (JSON nesting, element count, dimensions, inputs) is checked before memory is taken
 * for it, except that the one-pass conversion may take up to 8 bytes per byte of body text
 * before the element limit is checked. The writer prints each float32 as the shortest
 * decimal that reads back to the same float. See docs/v2.md for the protocol as gyre speaks
 * it.
 */
#ifndef GY_API_V2_INT_H
#define GY_API_V2_INT_H

#include "base/base.h"
#include "serving/serving.h"

/** Default cap on the elements of all input tensors of one request together. */
#define GY_V2_MAX_ELEMENTS_DEFAULT ((uint64_t)1 << 24)
/** Deepest JSON nesting a request may use (the root object is depth 1). */
#define GY_V2_MAX_DEPTH 32
/** Most input tensors and requested outputs in one request. */
#define GY_V2_MAX_INPUTS 4096
#define GY_V2_MAX_OUTPUTS 64
/** Longest id, tensor name or datatype string, in bytes. */
#define GY_V2_MAX_NAME 1024

/** What the parser enforces. */
struct gy_v2_limits {
    uint64_t max_elements; /**< elements of all inputs together; 0: GY_V2_MAX_ELEMENTS_DEFAULT */
};

/** One requested output. */
struct gy_v2_output_req {
    const char *name;
    int binary; /**< parameters.binary_data: 1 or 0; -1 when not given */
};

/** A parsed inference request. Everything points into the body or the arena given. */
struct gy_v2_request {
    const char *id; /**< NULL when the request has none */
    struct gy_tensor *inputs;
    size_t n_inputs;
    struct gy_v2_output_req *outputs; /**< NULL when "outputs" was absent (all defaults) */
    size_t n_outputs;
    int binary_output; /**< parameters.binary_data_output: 1 or 0; -1 when not given */
    int raw;           /**< 1: a raw binary request (Inference-Header-Content-Length: 0) */
};

/**
 * Reads the Inference-Header-Content-Length header value @p hdr (NULL when absent) against a
 * body of @p body_len bytes: *json_len gets the length of the JSON part (body_len when the
 * header is absent). GY_E_INVALID when the value is not a decimal integer or is larger than
 * the body.
 */
enum gy_status gy__v2_header_length(const char *hdr, size_t body_len, size_t *json_len);

/**
 * Parses an inference request: the first @p json_len bytes of @p body are the JSON object,
 * the rest (body_len - json_len bytes) the binary data of the inputs that carry
 * parameters.binary_data_size, in the order they are listed. @p body must stay valid while
 * @p out is used (tensor data and BYTES elements may point into it). Memory comes from
 * @p arena. Fills *out (zeroed first).
 *
 * Errors, with the text naming what is wrong ("request body: line L, column C: ..." for
 * malformed JSON, "input 'x': ..." for a tensor): GY_E_INVALID (bad JSON, missing or
 * mistyped field, unknown datatype, FP16/BF16 data in JSON, an element of the wrong kind or
 * out of range, element count not equal to the shape's, binary size mismatch, data left
 * over, too deep), GY_E_TOO_LARGE (more elements than @p lim allows), GY_E_UNSUPPORTED
 * (shared memory, the classification extension), GY_E_NOMEM.
 */
enum gy_status gy__v2_request_parse(const char *body, size_t body_len, size_t json_len,
                                    const struct gy_v2_limits *lim, struct gy_arena *arena,
                                    struct gy_v2_request *out);

/**
 * A raw binary request (Inference-Header-Content-Length: 0): the whole body is one FP32
 * tensor "input-0" of shape [N, @p n_cols] (N from the byte count). GY_E_INVALID when the
 * body is empty or not a multiple of 4 * n_cols bytes; GY_E_TOO_LARGE past the limit.
 */
enum gy_status gy__v2_request_raw(const char *body, size_t body_len, size_t n_cols,
                                  const struct gy_v2_limits *lim, struct gy_arena *arena,
                                  struct gy_v2_request *out);

/** One output tensor of a response: FP32 rows x cols, row-major. */
struct gy_v2_out_tensor {
    const char *name;
    const float *data;
    uint64_t rows;
    uint64_t cols;
    int ndim;   /**< 1: shape [rows] (cols must be 1); 2: shape [rows, cols] */
    int binary; /**< 1: sent as binary data after the JSON */
};

/** What a response says besides the outputs. */
struct gy_v2_response {
    const char *model_name;
    int64_t model_version; /**< <= 0: model_version is left out */
    const char *id;        /**< NULL: no id */
    const char *variant;   /**< NULL: no parameters; else {"gyre_variant": variant} */
    const struct gy_v2_out_tensor *outputs;
    size_t n_outputs;
};

/**
 * Appends the response to @p out: the JSON object, then the raw little-endian bytes of each
 * binary output in order. *json_len gets the length of the JSON part (for
 * Inference-Header-Content-Length; equal to the appended length when nothing is binary).
 * Non-finite floats are written as null in JSON. GY_E_TOO_LARGE past out->max, GY_E_NOMEM.
 */
enum gy_status gy__v2_response_write(const struct gy_v2_response *r, struct gy_buf *out,
                                     size_t *json_len);

/**
 * Writes @p f as the shortest decimal that strtof reads back to the same float (as a JSON
 * number: "0.1", "-0", "1e+30", "3.4028235e+38"), or "null" for NaN and infinities, plus a
 * NUL, into @p out. Returns the length.
 */
size_t gy__v2_fmt_f32(float f, char out[32]);

/** Appends @p s (@p len bytes) to @p b as a JSON string with quotes and escapes. */
enum gy_status gy__v2_json_str(struct gy_buf *b, const char *s, size_t len);

/** The V2 datatype name of @p t ("FP32"), NULL for an unknown value. */
const char *gy__v2_dtype_name(enum gy_dtype t);
/** Bytes per element of @p t, 0 for BYTES. */
size_t gy__v2_dtype_size(enum gy_dtype t);

/* Counts of V2 responses by status class (2xx, 4xx, 5xx), for /metrics. */
enum { GY_V2_CLASS_2XX = 0, GY_V2_CLASS_4XX = 1, GY_V2_CLASS_5XX = 2, GY_V2_N_CLASSES = 3 };
/** The V2 endpoint kinds counted separately (metrics label "endpoint"). */
enum {
    GY_V2_EP_INFER = 0,
    GY_V2_EP_HEALTH = 1,
    GY_V2_EP_METADATA = 2,
    GY_V2_EP_REPOSITORY = 3,
    GY_V2_EP_STATS = 4,
    GY_V2_N_EPS = 5,
};
/** Reads the counter of endpoint kind @p ep and class @p cls (thread-safe). */
uint64_t gy__v2_http_count(int ep, int cls);
/** The label value of endpoint kind @p ep ("infer", ...). */
const char *gy__v2_ep_name(int ep);

#endif /* GY_API_V2_INT_H */
