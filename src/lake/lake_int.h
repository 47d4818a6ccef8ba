/* SPDX-License-Identifier: MIT */
/**
 * lake_int.h - private interfaces between the files of src/lake: the streaming record
 * readers (csv.c, jsonl.c, reader.c), field parsers (parse.c), the profile sketches
 * (profile.c) and segment encoding (segment.c). Not for other modules.
 */
#ifndef GY_LAKE_INT_H
#define GY_LAKE_INT_H

#include "lake/lake.h"

/* ------------------------------------------------------------------ schema */

/** Validates a column name (non-empty, <= 256 bytes, UTF-8, no control characters). */
enum gy_status gy__schema_check_name(const char *name, size_t index);

/* ------------------------------------------------------------------ reader */

/** What a field looked like in the input. */
enum gy_field_kind {
    GY_FIELD_NULL = 0,   /* empty unquoted CSV field, JSON null, or a missing JSON key */
    GY_FIELD_TEXT = 1,   /* unquoted CSV text, or a JSON number (its literal text) */
    GY_FIELD_QUOTED = 2, /* quoted CSV field, or a JSON string (unescaped) */
    GY_FIELD_BOOL = 3,   /* JSON true/false: p is "true" or "false" */
};

/** One field of a record: p/len are borrowed until the next gy__reader_next call. */
struct gy_field {
    const char *p;
    size_t len;
    enum gy_field_kind kind;
    uint32_t column; /* 1-based byte column where the field starts, for messages */
};

/** One record: fields are in the reader's column order (see gy__reader_columns). */
struct gy_record {
    uint64_t line; /* 1-based line where the record starts */
    size_t nfields;
    struct gy_field *fields;
};

struct gy_reader;

/**
 * Creates a streaming reader over @p fd (not closed by the reader). For CSV the header row
 * names the columns. For JSON Lines, @p columns (may be NULL) names the columns to extract;
 * when NULL the keys of the first object, in order, are the columns. Format AUTO sniffs the
 * first non-blank byte ('{' means JSON Lines). *out new.
 */
enum gy_status gy__reader_create(int fd, const struct gy_ingest_opts *opts,
                                 const char *const *columns, size_t ncolumns,
                                 struct gy_reader **out);

/** The column names in record order (borrowed, valid while the reader lives). */
enum gy_status gy__reader_columns(struct gy_reader *r, const char *const **names, size_t *n);

/**
 * Reads the next record into *rec (borrowed until the next call). GY_NOT_FOUND at end of
 * input. GY_E_INVALID for a malformed record with "source:line:column: reason" as error text;
 * after such an error the reader has skipped to the next line and may be called again
 * (used by --skip-bad-rows). Checks UTF-8 validity and the line length limit.
 * CSV: a record whose field count differs from the header is an error.
 * JSON Lines: each line one object; keys not in the column list are an error; missing keys
 * are NULL fields; nested arrays/objects are an error naming the key.
 */
enum gy_status gy__reader_next(struct gy_reader *r, const struct gy_record **rec);

/** Bytes consumed so far. */
uint64_t gy__reader_bytes(const struct gy_reader *r);

/** The resolved format (CSV or JSONL). */
enum gy_format gy__reader_format(const struct gy_reader *r);

void gy__reader_free(struct gy_reader *r);

/* ------------------------------------------------------------------ field parsing */

/**
 * Text that means "no value" for a typed column: "", "NA", "N/A", "null", "NULL", "NaN"
 * (NaN only for float64). Returns 1 when @p p/len is such a token for type @p t.
 */
int gy__is_null_token(const char *p, size_t len, enum gy_type t);

/**
 * Parses a decimal floating-point number exactly as strtod would (correctly rounded),
 * with a fast path for up to 19 significant digits and small exponents. Accepts
 * leading sign, digits, '.', exponent, "inf"/"infinity" (any case). No spaces. The whole
 * input must be consumed. Returns GY_E_INVALID (no error text set) otherwise.
 */
enum gy_status gy__parse_f64(const char *p, size_t len, double *out);
/** Whole-string base-10 int64 with optional sign; overflow is GY_E_INVALID. */
enum gy_status gy__parse_i64(const char *p, size_t len, int64_t *out);
/** true/false/1/0/yes/no/t/f (any case). */
enum gy_status gy__parse_bool(const char *p, size_t len, uint8_t *out);
/**
 * RFC 3339 timestamp ("2024-05-01T12:00:00Z", with fraction and offset; a space instead of
 * 'T' and a date alone are accepted) or integer epoch seconds; result in microseconds UTC.
 */
enum gy_status gy__parse_timestamp(const char *p, size_t len, int64_t *out);
/** 1 when @p p/len is valid UTF-8 (no overlongs, no surrogates). */
int gy__utf8_valid(const char *p, size_t len);

/* ------------------------------------------------------------------ profile */

/**
 * Profile of a dataset version, one accumulator per column. Mergeable: the profile of an
 * appended version is merge(parent's profile, new rows' profile), so the persisted state
 * (not just the summary) is kept with each version. Deterministic: the same rows in the
 * same order give byte-identical state and summary.
 *
 * Per column: count, nulls, min, max, mean and std (Welford/Chan), quantiles from a KLL-style
 * sketch (stated rank error, exact when the column has few values), a histogram with exact
 * counts on power-of-two-wide bins that widen as the range grows, top-k values with counts
 * (Misra-Gries; exact when distinct values <= capacity), and a HyperLogLog distinct estimate.
 */
struct gy_profile;

enum gy_status gy__profile_create(const struct gy_schema *schema, struct gy_profile **out);
void gy__profile_free(struct gy_profile *p);

/** Adds a column batch (type must match the schema's column @p col). */
enum gy_status gy__profile_add(struct gy_profile *p, size_t col, const struct gy_colvec *v);

/** Folds @p src into @p dst (same schema). */
enum gy_status gy__profile_merge(struct gy_profile *dst, const struct gy_profile *src);

/** Serializes the full state (binary, versioned, little-endian) by appending to @p out. */
enum gy_status gy__profile_save(const struct gy_profile *p, struct gy_buf *out);

/**
 * Loads state saved by gy__profile_save, validating every field and bound against
 * @p schema. GY_E_CORRUPT on malformed input. *out new.
 */
enum gy_status gy__profile_load(const void *data, size_t len, const struct gy_schema *schema,
                                struct gy_profile **out);

/**
 * The summary as JSON (new): {"columns": [{"name", "type", "count", "nulls", "min", "max",
 * "mean", "std", "quantiles": {"p0": .., "p10": .., ..., "p100": .., "p1", "p5", "p25",
 * "p75", "p95", "p99"}, "quantile_rank_error": .., "histogram": {"edges": [..],
 * "counts": [..]}, "top": [{"value", "count"}], "top_exact": bool, "distinct": ..,
 * "true": .. (bool only)}]}. Fields that do not apply to a type are omitted; numbers for an
 * empty or all-null column are omitted rather than NaN.
 */
enum gy_status gy__profile_summary(const struct gy_profile *p, json_t **out);

/* ------------------------------------------------------------------ segments */

/** Encodes a column vector as a segment object body (header + zstd payload). */
enum gy_status gy__segment_encode(const struct gy_colvec *v, struct gy_buf *out);
/**
 * Decodes a segment body into @p v (memory owned by @p v, freed by gy__colvec_clear),
 * checking type, row count and every length. GY_E_CORRUPT on malformed input.
 */
enum gy_status gy__segment_decode(const void *data, size_t len, enum gy_type type, size_t nrows,
                                  struct gy_colvec *v);

/** Allocates room for @p cap rows of @p type in @p v (n = 0). */
enum gy_status gy__colvec_init(struct gy_colvec *v, enum gy_type type, size_t cap);
/** Appends string bytes for the next row of a STRING vector. */
enum gy_status gy__colvec_push_str(struct gy_colvec *v, size_t cap_rows, const char *p, size_t len,
                                   int valid);
void gy__colvec_clear(struct gy_colvec *v);

#endif /* GY_LAKE_INT_H */
