/* SPDX-License-Identifier: MIT */
/**
 * db.h - the data home: the metadata store behind one interface (SQLite by default,
 * PostgreSQL through libpq) and the content-addressed object store under
 * $GYRE_HOME/objects/.
 *
 * SQL passed to gy_db_exec/gy_db_query is written once for both backends: placeholders are
 * $1, $2, ... (the SQLite backend binds them by name), types are BIGINT, DOUBLE PRECISION and
 * TEXT, and RETURNING and ON CONFLICT are used as both engines accept them. Schema changes
 * live in the migration table of src/db/schema.c and are applied on open.
 *
 * A struct gy_db is not thread-safe: use one per thread (they may share a data home).
 */
#ifndef GY_DB_H
#define GY_DB_H

#include "base/base.h"

struct gy_db;
struct gy_db_rows;

enum gy_db_kind { GY_DB_SQLITE = 1, GY_DB_POSTGRES = 2 };

enum gy_db_type { GY_DB_NULL = 0, GY_DB_INT = 1, GY_DB_REAL = 2, GY_DB_TEXT = 3 };

/** One bound parameter. Text is borrowed for the duration of the call. */
struct gy_db_param {
    enum gy_db_type type;
    int64_t i;
    double d;
    const char *s;
};

#define GY_DB_P_NULL ((struct gy_db_param){.type = GY_DB_NULL})
#define GY_DB_P_INT(v) ((struct gy_db_param){.type = GY_DB_INT, .i = (int64_t)(v)})
#define GY_DB_P_REAL(v) ((struct gy_db_param){.type = GY_DB_REAL, .d = (double)(v)})
/** A text parameter; NULL binds SQL NULL. */
static inline struct gy_db_param gy_db_p_text(const char *v)
{
    struct gy_db_param p = {.type = v ? GY_DB_TEXT : GY_DB_NULL, .s = v};
    return p;
}
#define GY_DB_P_TEXT(v) gy_db_p_text(v)

/**
 * Opens the data home at @p home (created if missing, with objects/ and tmp/ inside) and its
 * metadata store: @p url NULL or "" means SQLite at home/gyre.db (WAL, busy timeout, foreign
 * keys on); "postgresql://..." or "postgres://..." means PostgreSQL. Pending migrations are
 * applied. *out is new (gy_db_free); NULL on failure with the reason in gy_error_msg().
 */
enum gy_status gy_db_open(const char *home, const char *url, struct gy_db **out);

/**
 * Opens from the environment: GYRE_HOME (default ./gyre-home) and GYRE_DB (default SQLite in
 * the home). Same contract as gy_db_open.
 */
enum gy_status gy_db_open_env(struct gy_db **out);

/** Closes the store. NULL is a no-op. An open transaction is rolled back. */
void gy_db_free(struct gy_db *db);

enum gy_db_kind gy_db_kind(const struct gy_db *db);
/** The data home directory (borrowed, valid while db is open). */
const char *gy_db_home(const struct gy_db *db);
/** Last error text on this handle (borrowed until the next call on db). */
const char *gy_db_errmsg(const struct gy_db *db);

/**
 * Begins a write transaction (BEGIN IMMEDIATE on SQLite, so writers serialize at the start).
 * GY_E_BUSY when another writer holds the store past the busy timeout: retry.
 */
enum gy_status gy_db_begin(struct gy_db *db);
enum gy_status gy_db_commit(struct gy_db *db);
/** Rolls back; safe to call when no transaction is open. */
void gy_db_rollback(struct gy_db *db);

/**
 * Runs one statement. @p changes (may be NULL) gets the number of rows changed.
 * GY_E_EXISTS on a unique-constraint violation, GY_E_BUSY on lock timeouts or serialization
 * failures, GY_E_DB otherwise; detail in gy_db_errmsg() and gy_error_msg().
 */
enum gy_status gy_db_exec(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                          size_t nparams, int64_t *changes);

/** Runs a query and materializes all rows. *out is new (gy_db_rows_free). */
enum gy_status gy_db_query(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                           size_t nparams, struct gy_db_rows **out);

/**
 * Runs a query expected to return at most one row with one integer column.
 * GY_NOT_FOUND when there is no row or the value is NULL.
 */
enum gy_status gy_db_query_int(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                               size_t nparams, int64_t *out);

size_t gy_db_rows_count(const struct gy_db_rows *r);
size_t gy_db_rows_cols(const struct gy_db_rows *r);
/** Column name (borrowed). */
const char *gy_db_rows_name(const struct gy_db_rows *r, size_t col);
int gy_db_rows_isnull(const struct gy_db_rows *r, size_t row, size_t col);
/** Integer value; text is converted, NULL gives 0. */
int64_t gy_db_rows_int(const struct gy_db_rows *r, size_t row, size_t col);
double gy_db_rows_real(const struct gy_db_rows *r, size_t row, size_t col);
/** Text value (borrowed until gy_db_rows_free); NULL for SQL NULL. */
const char *gy_db_rows_text(const struct gy_db_rows *r, size_t row, size_t col);
void gy_db_rows_free(struct gy_db_rows *r);

/* ------------------------------------------------------------------ SQL builder */

/**
 * Dynamic SQL for both backends: text plus its parameters. gy_db_sql_param appends "$N" and
 * records the parameter; text given to the *_own calls is owned (freed) by the builder.
 * Errors are sticky: the first failure is kept in rc and later calls do nothing, so a caller
 * builds the whole statement and checks rc once. Only fixed SQL text goes through
 * gy_db_sql_printf; every value from outside is a parameter.
 */
struct gy_db_sql {
    struct gy_buf sql;
    struct gy_db_param *p;
    size_t np, pcap;
    char **own;
    size_t nown, owncap;
    enum gy_status rc;
};

void gy_db_sql_init(struct gy_db_sql *b);
/** Frees the text, the parameters and the owned strings. */
void gy_db_sql_free(struct gy_db_sql *b);
/** Appends raw SQL text (never user input). */
void gy_db_sql_printf(struct gy_db_sql *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Appends "$N" bound to @p p (text borrowed: it must outlive the query). */
void gy_db_sql_param(struct gy_db_sql *b, struct gy_db_param p);
/** Appends "$N" bound to text @p s, which the builder takes (frees), even on error. */
void gy_db_sql_text_own(struct gy_db_sql *b, char *s);
/** Records text parameter @p s (taken, even on error) without writing a placeholder, for SQL
 * whose "$N" was written by someone else (numbered with gy_db_sql_next). */
void gy_db_sql_bind_own(struct gy_db_sql *b, char *s);
/** The number the next parameter will get. */
int gy_db_sql_next(const struct gy_db_sql *b);
/**
 * Appends " LIMIT $N OFFSET $M" for a page of @p limit rows after @p offset, asking for one row
 * more than the page: when it comes back, another page follows.
 */
void gy_db_sql_page(struct gy_db_sql *b, int64_t limit, int64_t offset);
/** Drops a trailing ", " from the text (for comma-separated lists built in a loop). */
void gy_db_sql_trim_comma(struct gy_db_sql *b);

/** The schema version the store is at after migrations. */
enum gy_status gy_db_schema_version(struct gy_db *db, int64_t *out);

/* ------------------------------------------------------------------ objects */

/**
 * Stores @p len bytes as an immutable object named by its SHA-256 (hex written to @p hex).
 * Written to a temporary name, fsynced, renamed, directory fsynced. Storing an object that
 * already exists is a no-op.
 */
enum gy_status gy_db_object_put(struct gy_db *db, const void *data, size_t len,
                                char hex[GY_SHA256_HEX_LEN + 1]);

/**
 * Reads object @p hex into @p out (appending), verifying its SHA-256.
 * GY_NOT_FOUND when absent, GY_E_CORRUPT when the content does not match its name.
 */
enum gy_status gy_db_object_get(struct gy_db *db, const char *hex, struct gy_buf *out);

/** True when object @p hex exists. */
int gy_db_object_exists(struct gy_db *db, const char *hex);

/**
 * Batch mode for bulk writers: while on, gy_db_object_put skips its per-object fsyncs (objects
 * still appear atomically). The caller must call gy_db_objects_sync before publishing any
 * reference to those objects (e.g. before committing a version row). Ingest of a large file
 * writes hundreds of segments; one file-system flush replaces hundreds of fsync pairs.
 */
void gy_db_objects_defer_sync(struct gy_db *db, int on);
/** Makes every object written so far durable (one syncfs of the data home's file system). */
enum gy_status gy_db_objects_sync(struct gy_db *db);

/** Writes the path of object @p hex into @p out. */
enum gy_status gy_db_object_path(struct gy_db *db, const char *hex, char *out, size_t cap);

/* ------------------------------------------------------------------ encryption at rest */

/*
 * With a key set, gy_db_object_put encrypts new objects with XChaCha20-Poly1305
 * (libsodium's crypto_secretstream, 64 KiB chunks, a final tag) behind a small header that
 * says so (magic, format version, key id, plaintext length); gy_db_object_get decrypts,
 * authenticates and then checks the SHA-256 of the plaintext, which still names the object.
 * A store may hold plain and encrypted objects side by side: each file says what it is.
 * A tampered or truncated object fails with GY_E_CORRUPT ("integrity check failed"), never
 * with wrong bytes; an encrypted object read without its key fails with GY_E_PERM.
 *
 * gy_db_open loads the keys from the environment: GYRE_KEY_FILE (the key new objects are
 * encrypted with; also read with) and GYRE_OLD_KEY_FILE (read only, for key rotation).
 * Note: gy_db_object_path names the stored file, which for an encrypted object holds
 * ciphertext; callers that read or size object files themselves use gy_db_object_stat.
 */

/** Bytes in an object key. */
#define GY_DB_KEY_LEN 32
/** Hex digits of a key id as gy_db_key_id writes it. */
#define GY_DB_KEY_ID_HEX_LEN 16

/**
 * Reads a key file: exactly 32 bytes of raw key, or 64 hex digits (whitespace around them
 * allowed). Refuses a file that is not a regular file or that other users may read or write
 * (mode & 0006), with an error that says how to fix it. The key is written to @p key; on
 * failure @p key is zeroed.
 */
enum gy_status gy_db_key_file_read(const char *path, uint8_t key[GY_DB_KEY_LEN]);

/** Writes the id of @p key (16 hex digits: the first 8 bytes of BLAKE2b-256 of the key). */
void gy_db_key_id(const uint8_t key[GY_DB_KEY_LEN], char out[GY_DB_KEY_ID_HEX_LEN + 1]);

/**
 * Sets the key that new objects are encrypted with (copied) and adds it to the keys reads may
 * use; NULL makes new objects plain again (keys already added for reading stay).
 */
enum gy_status gy_db_objects_set_key(struct gy_db *db, const uint8_t *key);

/** Adds a key reads may use (an old key during a rotation). GY_E_TOO_LARGE past 4 keys. */
enum gy_status gy_db_objects_add_read_key(struct gy_db *db, const uint8_t key[GY_DB_KEY_LEN]);

/** True when new objects are encrypted. */
int gy_db_objects_encrypted(const struct gy_db *db);

/** What an object file is, from its header alone (no decryption, no checksum). */
struct gy_db_object_info {
    int encrypted;                         /**< 1: encrypted; 0: plain bytes */
    char key_id[GY_DB_KEY_ID_HEX_LEN + 1]; /**< the key's id when encrypted, else "" */
    uint64_t size;                         /**< plaintext bytes (what gy_db_object_get gives) */
    uint64_t stored_size;                  /**< bytes of the file on disk */
};

/**
 * Describes object @p hex (see struct gy_db_object_info). GY_NOT_FOUND when absent,
 * GY_E_CORRUPT when an encrypted object's size disagrees with its header (truncated).
 */
enum gy_status gy_db_object_stat(struct gy_db *db, const char *hex, struct gy_db_object_info *out);

/**
 * Calls fn(arg, hex) for every object in the store (in no particular order) and stops at the
 * first status other than GY_OK, which it returns. Temporary files are skipped.
 */
enum gy_status gy_db_objects_walk(struct gy_db *db,
                                  enum gy_status (*fn)(void *arg, const char *hex), void *arg);

/** Counts of one gy_db_objects_rekey pass. */
struct gy_db_rekey_stats {
    uint64_t scanned;   /**< objects looked at */
    uint64_t rewritten; /**< re-encrypted under the new key in this pass */
    uint64_t already;   /**< already under the new key (skipped) */
    uint64_t failed;    /**< could not be read with any key given (left as they were) */
};

/**
 * Re-encrypts every object under @p new_key, in place and crash-safely: each object is read
 * (decrypted with any of the handle's keys or @p new_key, and checked against its name),
 * written encrypted to a temporary file next to it, fsynced and renamed over it, and the
 * directory fsynced. Objects are immutable, so a crash leaves each one readable under the
 * old key or the new one; running again resumes (objects already under @p new_key are
 * skipped). Plain objects are encrypted too. @p limit > 0 stops after rewriting that many
 * objects. Objects that cannot be read are counted in st->failed and left alone; the call
 * then returns GY_E_CORRUPT (or the first such status) with the first failure's text after
 * finishing the pass. @p st may be NULL.
 */
enum gy_status gy_db_objects_rekey(struct gy_db *db, const uint8_t new_key[GY_DB_KEY_LEN],
                                   uint64_t limit, struct gy_db_rekey_stats *st);

#endif /* GY_DB_H */
