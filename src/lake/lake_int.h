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

/**
 * Bytes that stay readable past the end of every TEXT or QUOTED field the reader returns
 * (the read buffer and the unescape scratch carry this much slack), so a parser may load
 * whole words and mask off what lies beyond the field (gy__parse_f64_padded).
 */
#define GY_FIELD_PAD 16

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

/** Zeroed bytes that follow the data of every reader buffer, and that a text reader needs. */
#define GY_READER_PAD 64

/**
 * The input a reader has read but not parsed yet: *p and *len (borrowed until the next call on
 * @p r), the line number *p starts on, and whether the input had ended. After the header of a
 * CSV reader this is where the records start; the rest of the input is still in the fd.
 */
void gy__reader_buffered(const struct gy_reader *r, const char **p, size_t *len, uint64_t *line,
                         int *eof);

/**
 * A CSV record reader over text in memory, for the columns of the CSV reader @p like (its
 * column count, source label and line limit). Each gy__reader_reset_text gives it complete
 * records to read as if the input ended there; gy__reader_next then behaves as on a file
 * holding that text, with lines numbered from @p line. The text is borrowed, must stay
 * unchanged while it is read and must be followed by GY_READER_PAD zero bytes.
 */
enum gy_status gy__reader_create_text(const struct gy_reader *like, struct gy_reader **out);
void gy__reader_reset_text(struct gy_reader *r, const char *p, size_t len, uint64_t line);

/**
 * After gy__reader_next returned GY_NOT_FOUND: the line of the first of the blank lines that
 * ended the input (and were therefore ignored), 0 when it did not end in blank lines.
 */
uint64_t gy__reader_trailing_blank(const struct gy_reader *r);

/** The line limit in effect (opts->max_line, defaulted and clamped). */
size_t gy__reader_max_line(const struct gy_reader *r);

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
/**
 * gy__parse_f64 for text followed by at least GY_FIELD_PAD readable bytes (a reader field):
 * the same results, with a faster path for short plain decimals such as "-50.847516".
 */
enum gy_status gy__parse_f64_padded(const char *p, size_t len, double *out);
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
