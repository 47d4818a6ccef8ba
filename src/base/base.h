/* SPDX-License-Identifier: MIT */
/**
 * base.h - gyre's foundation: status codes and error text, logging, allocation with byte
 * accounting, arenas, capped growable buffers, JSON helpers over jansson, hashing (SHA-256
 * via libsodium, a fast 64-bit hash), atomic file writes, time and a small thread pool.
 *
 * Nothing here knows about ML. Every other module includes this header. Functions are
 * thread-safe unless stated otherwise; error text is thread-local.
 */
#ifndef GY_BASE_H
#define GY_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* ------------------------------------------------------------------ status */

/**
 * Project-wide status codes. Append-only; never renumber. GY_AGAIN, GY_DECLINED and
 * GY_NOT_FOUND are outcomes, not failures, and must not be logged as errors.
 */
enum gy_status {
    GY_OK = 0,             /* 0 */
    GY_AGAIN = 1,          /* 1: try again later (busy, would block) */
    GY_DECLINED = 2,       /* 2: a handler chose not to act */
    GY_NOT_FOUND = 3,      /* 3: the named thing does not exist */
    GY_E_NOMEM = 4,        /* 4: out of memory */
    GY_E_INVALID = 5,      /* 5: bad input (argument, file content, request) */
    GY_E_TOO_LARGE = 6,    /* 6: a size or count limit was exceeded */
    GY_E_IO = 7,           /* 7: an operating-system I/O call failed */
    GY_E_CORRUPT = 8,      /* 8: stored data failed an integrity check */
    GY_E_BUSY = 9,         /* 9: the store is locked by another writer; retry */
    GY_E_EXISTS = 10,      /* 10: the thing already exists */
    GY_E_SCHEMA = 11,      /* 11: data does not match the expected schema */
    GY_E_DB = 12,          /* 12: the metadata database reported an error */
    GY_E_UNSUPPORTED = 13, /* 13: valid but not supported by this build or format */
    GY_E_INTERNAL = 14,    /* 14: an internal invariant failed */
    GY_E_PERM = 15,        /* 15: permission denied */
    GY_E_CONFLICT = 16,    /* 16: a concurrent change conflicted with this one */
};

/** Returns a static, never-freed description of @p s ("ok", "not found", ...). */
const char *gy_status_str(enum gy_status s);

/**
 * Records detail text for the calling thread and returns @p s, so callers can write
 * `return gy_error_set(GY_E_INVALID, "%s:%zu: bad number", path, line);`.
 */
enum gy_status gy_error_set(enum gy_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Prefixes the calling thread's error text with "prefix: " and returns @p s. */
enum gy_status gy_error_wrap(enum gy_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * The calling thread's last error text (borrowed: valid until the next gy_error_* call on
 * this thread). Never NULL; "" when none was set.
 */
const char *gy_error_msg(void);

/** Clears the calling thread's error text. */
void gy_error_clear(void);

/* ------------------------------------------------------------------ asserts */

void gy__assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/** Internal invariant; on in debug and CI builds (compiled out with NDEBUG). */
#ifdef NDEBUG
#define GY_ASSERT(x) ((void)0)
#define GY_ALWAYS(x) (x)
#define GY_NEVER(x) (x)
#else
#define GY_ASSERT(x) ((x) ? (void)0 : gy__assert_fail(#x, __FILE__, __LINE__))
/** Defensive check that must hold: asserts in debug, evaluates to x in release. */
#define GY_ALWAYS(x) ((x) ? 1 : (gy__assert_fail(#x, __FILE__, __LINE__), 0))
/** Defensive check that must not hold: asserts in debug, evaluates to x in release. */
#define GY_NEVER(x) ((x) ? (gy__assert_fail(#x, __FILE__, __LINE__), 1) : 0)
#endif

#define GY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GY_UNUSED(x) ((void)(x))
#define GY_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GY_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ------------------------------------------------------------------ logging */

enum gy_log_level { GY_LOG_DEBUG = 0, GY_LOG_INFO = 1, GY_LOG_WARN = 2, GY_LOG_ERROR = 3 };

/**
 * Configures logging from GYRE_LOG_LEVEL (debug|info|warn|error, default info) and
 * GYRE_LOG_FORMAT (text|json, default text). Invalid values are reported and ignored.
 */
void gy_log_init_from_env(void);
void gy_log_set_level(enum gy_log_level level);
void gy_log_set_json(int on);
/** Writes one log line to stderr (text, or one JSON object per line). Thread-safe. */
void gy_log(enum gy_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ allocation */

/**
 * Allocation wrappers. Every allocation in gyre goes through these: they keep a count of
 * live bytes (gy_alloc_bytes) and support failure injection for tests. They return NULL on
 * failure like the C library; library modules turn that into GY_E_NOMEM.
 */
void *gy_malloc(size_t n);
void *gy_calloc(size_t count, size_t size);
void *gy_realloc(void *p, size_t n);
void gy_free(void *p);
char *gy_strdup(const char *s);
char *gy_strndup(const char *s, size_t n);
/** Bytes currently allocated through the wrappers. */
int64_t gy_alloc_bytes(void);
/** Makes the Nth allocation from now fail (N >= 1), 0 disables. For tests. */
void gy_alloc_fail_after(int64_t n);

/* ------------------------------------------------------------------ arena */

struct gy_arena;

/** Creates an arena whose blocks are at least @p block_size bytes. new; NULL on OOM. */
struct gy_arena *gy_arena_create(size_t block_size);
/** 16-byte aligned memory valid until the arena is freed; NULL on OOM. */
void *gy_arena_alloc(struct gy_arena *a, size_t n);
char *gy_arena_strdup(struct gy_arena *a, const char *s);
char *gy_arena_strndup(struct gy_arena *a, const char *s, size_t n);
/** Registers fn(arg) to run (last added first) when the arena is freed. */
enum gy_status gy_arena_cleanup_add(struct gy_arena *a, void (*fn)(void *), void *arg);
/** Runs cleanups and frees every block. NULL is a no-op. */
void gy_arena_free(struct gy_arena *a);

/* ------------------------------------------------------------------ buffer */

/**
 * A growable byte buffer with a hard cap. Always NUL-terminated after any successful call
 * (the terminator is not counted in len). Pass by pointer.
 */
struct gy_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

/** Initializes an empty buffer that refuses to grow past @p max bytes. No allocation. */
void gy_buf_init(struct gy_buf *b, size_t max);
/** Ensures room for @p extra more bytes; GY_E_TOO_LARGE past max, GY_E_NOMEM. */
enum gy_status gy_buf_reserve(struct gy_buf *b, size_t extra);
enum gy_status gy_buf_append(struct gy_buf *b, const void *p, size_t n);
enum gy_status gy_buf_puts(struct gy_buf *b, const char *s);
enum gy_status gy_buf_putc(struct gy_buf *b, char c);
enum gy_status gy_buf_printf(struct gy_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum gy_status gy_buf_vprintf(struct gy_buf *b, const char *fmt, va_list ap);
/** Sets len to 0, keeping the memory. */
void gy_buf_reset(struct gy_buf *b);
/** Frees the memory and re-initializes with the same max. */
void gy_buf_free(struct gy_buf *b);
/** Returns the data (new: caller frees with gy_free) and leaves the buffer empty. */
char *gy_buf_detach(struct gy_buf *b, size_t *len);

/* ------------------------------------------------------------------ json */

/** Maximum nesting depth accepted by gy_json_parse unless told otherwise. */
#define GY_JSON_MAX_DEPTH 64

/**
 * Parses @p len bytes of JSON text. Rejects nesting deeper than @p max_depth before
 * parsing (so hostile input cannot exhaust the stack), invalid UTF-8, and trailing data.
 * On error returns GY_E_INVALID with "line L, column C: reason" as error text.
 * @p what names the input in messages ("request body", a file name).
 * *out is new (json_decref) on success, NULL on error.
 */
enum gy_status gy_json_parse(const char *text, size_t len, int max_depth, const char *what,
                             json_t **out);
/** Appends compact JSON (keys in insertion order) to @p b. */
enum gy_status gy_json_dump(const json_t *j, struct gy_buf *b);
/** Appends indented JSON to @p b. */
enum gy_status gy_json_dump_pretty(const json_t *j, struct gy_buf *b);
/** Borrowed string member or @p def when missing or not a string. */
const char *gy_json_str(const json_t *obj, const char *key, const char *def);
/** Integer member or @p def when missing or not an integer. */
int64_t gy_json_int(const json_t *obj, const char *key, int64_t def);
/** Number member (integer or real) or @p def. */
double gy_json_num(const json_t *obj, const char *key, double def);
/** Sets obj[key] to a new reference to val (steals val); returns GY_E_NOMEM on failure. */
enum gy_status gy_json_set(json_t *obj, const char *key, json_t *val);
/** A JSON number for a double: integer form is not used; NaN/Inf become null. new. */
json_t *gy_json_real(double v);

/* ------------------------------------------------------------------ hashing */

#define GY_SHA256_LEN 32
#define GY_SHA256_HEX_LEN 64

/** Incremental SHA-256 (libsodium). The state is opaque storage. */
struct gy_sha256 {
    _Alignas(16) unsigned char state[128];
};
void gy_sha256_init(struct gy_sha256 *h);
void gy_sha256_update(struct gy_sha256 *h, const void *p, size_t n);
void gy_sha256_final(struct gy_sha256 *h, uint8_t out[GY_SHA256_LEN]);
/** One-shot SHA-256 of @p n bytes written as 64 lowercase hex digits plus NUL. */
void gy_sha256_hex(const void *p, size_t n, char out[GY_SHA256_HEX_LEN + 1]);
/** Writes 2n lowercase hex digits plus NUL. */
void gy_hex_encode(const uint8_t *p, size_t n, char *out);
/** True when @p s is exactly 64 lowercase hex digits. */
int gy_is_sha256_hex(const char *s);
/** A fast, well-mixed, non-cryptographic 64-bit hash (for hash tables and sketches). */
uint64_t gy_hash64(const void *p, size_t n, uint64_t seed);
/** Mixes a 64-bit value (finalizer of splitmix64). */
uint64_t gy_mix64(uint64_t x);

/* ------------------------------------------------------------------ files */

/**
 * Writes @p len bytes to @p path atomically and durably: a temporary file in the same
 * directory, fsync, rename over @p path, fsync of the directory. Readers see the old file or
 * the new one, never a part. On failure nothing at @p path changes. An existing path that is
 * not a regular file (/dev/null, /dev/stdout, a FIFO) is written in place instead, so the
 * device stays a device; a directory is GY_E_INVALID.
 */
enum gy_status gy_file_write_atomic(const char *path, const void *data, size_t len);
/**
 * Like gy_file_write_atomic, but with @p durable 0 skips both fsyncs: the file appears
 * atomically but may be lost in a crash until the caller flushes the file system
 * (gy_fs_sync). For writing many files that are published together.
 */
enum gy_status gy_file_write_atomic_ex(const char *path, const void *data, size_t len, int durable);
/** Flushes the whole file system holding @p path (syncfs) so earlier writes are durable. */
enum gy_status gy_fs_sync(const char *path);
/** Reads a whole file into @p out (appending); GY_E_TOO_LARGE past out->max. */
enum gy_status gy_file_read(const char *path, struct gy_buf *out);
/** Creates a directory and its parents (mode 0755); an existing directory is fine. */
enum gy_status gy_mkdir_p(const char *path);
/** fsyncs a directory so that renames and creations inside it are durable. */
enum gy_status gy_fsync_dir(const char *path);
/** Reads all of fd into out (appending) until EOF. */
enum gy_status gy_fd_read_all(int fd, struct gy_buf *out);
/** Writes all n bytes to fd, retrying short writes and EINTR. */
enum gy_status gy_fd_write_all(int fd, const void *p, size_t n);

/* ------------------------------------------------------------------ time */

/** Monotonic clock in nanoseconds. */
int64_t gy_time_mono_ns(void);
/** Wall clock in microseconds since the Unix epoch (UTC). */
int64_t gy_time_wall_us(void);
/** Formats microseconds since the epoch as RFC 3339 UTC with microseconds into out[32]. */
void gy_time_format(int64_t us, char out[32]);

/* ------------------------------------------------------------------ thread pool */

struct gy_pool;

/** Creates a pool of @p nthreads workers (0: number of CPUs). *out new. */
enum gy_status gy_pool_create(int nthreads, struct gy_pool **out);
/** Queues fn(arg). Jobs run in FIFO order on any worker. */
enum gy_status gy_pool_submit(struct gy_pool *p, void (*fn)(void *), void *arg);
/** Blocks until every submitted job has finished. */
void gy_pool_wait(struct gy_pool *p);
/** Number of worker threads. */
int gy_pool_size(const struct gy_pool *p);
/** Waits for queued jobs, joins the workers and frees the pool. NULL is a no-op. */
void gy_pool_free(struct gy_pool *p);

/* ------------------------------------------------------------------ strings */

/** Parses a whole decimal int64 string (no trailing junk); GY_E_INVALID otherwise. */
enum gy_status gy_parse_int64(const char *s, int64_t *out);
/** snprintf into a fixed buffer; truncation is reported as GY_E_TOO_LARGE. */
enum gy_status gy_snprintf(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* GY_BASE_H */
