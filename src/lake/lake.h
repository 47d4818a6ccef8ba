/* SPDX-License-Identifier: MIT */
/**
 * lake.h - versioned datasets: schemas, ingest from CSV/JSON Lines, immutable versions made
 * of zstd-compressed, content-addressed column segments, per-version profiles, and a scan API
 * that reads a version column by column in batches.
 *
 * A dataset version is a manifest object (JSON) listing chunks (each chunk holds one segment
 * per column), the schema, the row count and the profile. Ingest writes every segment and
 * the manifest as objects first, then commits the version row in one metadata transaction:
 * a crash at any point leaves the previous version as the latest.
 */
#ifndef GY_LAKE_H
#define GY_LAKE_H

#include "base/base.h"
#include "db/db.h"

enum gy_type {
    GY_TYPE_FLOAT64 = 1,
    GY_TYPE_INT64 = 2,
    GY_TYPE_BOOL = 3,
    GY_TYPE_STRING = 4,    /* categorical text */
    GY_TYPE_TIMESTAMP = 5, /* microseconds since the Unix epoch, UTC */
};

/** "float64", "int64", "bool", "string", "timestamp" (static). */
const char *gy_type_name(enum gy_type t);
/** Parses a type name (also accepts "float", "double", "int", "integer", "str", "category"). */
enum gy_status gy_type_parse(const char *s, enum gy_type *out);

#define GY_LAKE_MAX_COLUMNS 4096
#define GY_LAKE_MAX_NAME 256

struct gy_column_def {
    char *name;
    enum gy_type type;
};

struct gy_schema {
    size_t ncols;
    struct gy_column_def *cols;
};

/** new schema with @p ncols zeroed columns (names NULL). */
struct gy_schema *gy_schema_create(size_t ncols);
void gy_schema_free(struct gy_schema *s);
struct gy_schema *gy_schema_copy(const struct gy_schema *s);
/** Index of a column by name, or -1. */
long gy_schema_find(const struct gy_schema *s, const char *name);
/** [{"name": ..., "type": ...}, ...] (new). */
json_t *gy_schema_to_json(const struct gy_schema *s);
/**
 * Reads a schema from JSON: an array of {"name","type"} objects, or an object
 * {"columns": [...]}. Validates names (non-empty, unique, <= 256 bytes, valid UTF-8) and types.
 */
enum gy_status gy_schema_from_json(const json_t *j, struct gy_schema **out);
/** Two schemas are equal (same names, types and order). */
int gy_schema_equal(const struct gy_schema *a, const struct gy_schema *b);

/**
 * One column of a batch. valid[i] is 1 when row i has a value. For STRING, row i is
 * data[off[i] .. off[i+1]) (not NUL-terminated). Timestamps use i64.
 */
struct gy_colvec {
    enum gy_type type;
    size_t n;
    uint8_t *valid;
    double *f64;
    int64_t *i64;
    uint8_t *b;
    uint32_t *off;
    char *data;
    size_t data_len;
};

/** Input formats for ingest. */
enum gy_format { GY_FORMAT_AUTO = 0, GY_FORMAT_CSV = 1, GY_FORMAT_JSONL = 2 };

struct gy_ingest_opts {
    enum gy_format format;
    /** Label used in error messages ("data.csv", "<stdin>"). */
    const char *source;
    /** Maximum bytes in one line/record (default 1 MiB). */
    size_t max_line;
    /** Bad rows tolerated (each reported); more fails the ingest. Default 0. */
    size_t skip_bad_rows;
    /** Where to report skipped rows (may be NULL: not reported). */
    FILE *report;
    /** Progress callback (may be NULL), called about every chunk. */
    void (*progress)(void *arg, uint64_t rows, uint64_t bytes);
    void *progress_arg;
};

struct gy_ingest_result {
    int64_t version;
    uint64_t rows;       /* rows added by this ingest */
    uint64_t total_rows; /* rows in the new version */
    uint64_t bytes_in;
    uint64_t skipped;
    char manifest[GY_SHA256_HEX_LEN + 1];
};

/**
 * Creates dataset @p name. @p schema may be NULL: the first ingest infers it.
 * GY_E_EXISTS when the name is taken; GY_E_INVALID for a bad name.
 */
enum gy_status gy_lake_dataset_create(struct gy_db *db, const char *name,
                                      const struct gy_schema *schema, const char *description);

/**
 * Ingests the records read from @p fd into a new version of dataset @p name (created when
 * missing, with the schema inferred from the input when the dataset has none).
 * The new version holds the previous version's rows followed by the new rows. Nothing is
 * committed on any error: the error text names source:line:column and what was wrong.
 * GY_E_BUSY when another writer keeps the store locked (retry).
 */
enum gy_status gy_lake_ingest(struct gy_db *db, const char *name, int fd,
                              const struct gy_ingest_opts *opts, struct gy_ingest_result *out);

/**
 * Infers a schema from the first @p sample_rows records of @p fd. @p report (may be NULL)
 * receives a human-readable explanation per column. *out new.
 */
enum gy_status gy_lake_infer_schema(int fd, const struct gy_ingest_opts *opts, size_t sample_rows,
                                    struct gy_schema **out, struct gy_buf *report);

/**
 * Splits "NAME" or "NAME@VERSION" (version 0 = latest). @p name_out has room for
 * GY_LAKE_MAX_NAME + 1 bytes.
 */
enum gy_status gy_lake_parse_ref(const char *ref, char *name_out, int64_t *version);

/** Lists datasets: [{"name","description","created","latest_version","rows"}] (new). */
enum gy_status gy_lake_dataset_list(struct gy_db *db, json_t **out);

/** Lists versions of a dataset: [{"version","created","rows","manifest","source"}] (new). */
enum gy_status gy_lake_version_list(struct gy_db *db, const char *name, json_t **out);

/**
 * Loads the manifest of NAME@VERSION (0 = latest) as JSON (new): schema, chunks, rows and
 * profile. GY_NOT_FOUND for an unknown dataset or version, or a dataset with no versions.
 */
enum gy_status gy_lake_version_get(struct gy_db *db, const char *name, int64_t version,
                                   json_t **out);

/* ------------------------------------------------------------------ scans */

struct gy_lake_scan;

/**
 * Opens a scan over NAME@VERSION (0 = latest) returning the columns named in @p cols (NULL:
 * all columns, in schema order). Segments are read and verified lazily, one chunk at a time.
 */
enum gy_status gy_lake_scan_open(struct gy_db *db, const char *name, int64_t version,
                                 const char *const *cols, size_t ncols, struct gy_lake_scan **out);

/** The scan's schema (only the selected columns, in selection order). Borrowed. */
const struct gy_schema *gy_lake_scan_schema(const struct gy_lake_scan *s);

/** Total rows in the scanned version. */
uint64_t gy_lake_scan_rows(const struct gy_lake_scan *s);

/**
 * Reads the next batch. On GY_OK, *cols points to ncols column vectors of *nrows rows,
 * borrowed until the next call or gy_lake_scan_free; *nrows == 0 means the end.
 * GY_E_CORRUPT when a segment fails its checksum.
 */
enum gy_status gy_lake_scan_next(struct gy_lake_scan *s, const struct gy_colvec **cols,
                                 size_t *nrows);

void gy_lake_scan_free(struct gy_lake_scan *s);

/**
 * Verifies NAME@VERSION (0 = latest) end to end: the manifest parses, every segment of every
 * column exists, matches its SHA-256 and decodes to the row count its chunk states, the
 * chunks add up to the version's row count, and the profile state loads. *rows gets the rows
 * counted. GY_E_CORRUPT with the first problem found.
 */
enum gy_status gy_lake_version_verify(struct gy_db *db, const char *name, int64_t version,
                                      uint64_t *rows);

/* ------------------------------------------------------------------ text numbers */

/**
 * The lake's decimal parser for other readers of text numbers (the V2 JSON codec): the whole
 * of @p p/len as a double, correctly rounded exactly as strtod would (Clinger's fast path,
 * Eisel-Lemire, then a slow exact path). Leading sign, digits, '.', exponent, "inf" and
 * "infinity" in any case; no spaces. GY_E_INVALID (no error text set) when it is not a number.
 */
enum gy_status gy_lake_parse_double(const char *p, size_t len, double *out);

#endif /* GY_LAKE_H */
