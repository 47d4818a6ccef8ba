/* SPDX-License-Identifier: MIT */
/**
 * db_int.h - private interfaces between the files of src/db: the handle layout, the backend
 * vtable that sqlite.c and postgres.c implement, the materialized row set both backends fill,
 * error helpers and the migration runner (schema.c). Not for other modules.
 *
 * Division of work: db.c is the common front (argument checks, transaction bookkeeping, the
 * object store); a backend only talks to its library and translates that library's codes to
 * enum gy_status. No file other than sqlite.c includes sqlite3.h and no file other than
 * postgres.c includes libpq-fe.h.
 */
#ifndef GY_DB_INT_H
#define GY_DB_INT_H

#include "db/db.h"

/*
 * Dialect rules both backends enforce so that they behave alike:
 * - REAL parameters equal to zero are bound as +0.0: SQLite stores an integral double in a
 *   REAL column as an integer, which loses the sign of -0.0, so PostgreSQL gets +0.0 too.
 * - One statement per gy_db_exec/gy_db_query call; every $N used must be given.
 * - After a failed statement inside a transaction, only rollback is possible (db.c).
 */

/** Default time a writer waits for the store's write lock (GYRE_DB_BUSY_TIMEOUT_MS overrides). */
#define GY_DB_BUSY_TIMEOUT_MS 5000

/** Size of the per-handle error text buffer. */
#define GY_DB_ERRMSG_CAP 1024

/** The text every backend uses for a lock that could not be taken in time. */
#define GY_DB_BUSY_TEXT "database is busy (another writer holds the lock); retry"

/**
 * One backend. Every function receives the handle; the backend keeps its connection in
 * db->impl. Functions returning gy_status report failures through gy__db_error, so that
 * both the handle's text and the thread's gy_error_msg() are set.
 */
struct gy_db_backend {
    const char *name;
    /** Connects to @p target (a file path for SQLite, a URL for PostgreSQL); sets db->impl. */
    enum gy_status (*open)(struct gy_db *db, const char *target);
    /** Disconnects and frees db->impl. Must accept a half-opened handle. */
    void (*close)(struct gy_db *db);
    /** Starts a write transaction that serializes against other writers. */
    enum gy_status (*begin)(struct gy_db *db);
    enum gy_status (*commit)(struct gy_db *db);
    /** Rolls back; ignores "no transaction" and connection errors. */
    void (*rollback)(struct gy_db *db);
    /** One statement with parameters $1..$n; *changes gets rows changed (may be NULL). */
    enum gy_status (*exec)(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                           size_t nparams, int64_t *changes);
    /** One statement; all rows are materialized into *out (new). */
    enum gy_status (*query)(struct gy_db *db, const char *sql, const struct gy_db_param *params,
                            size_t nparams, struct gy_db_rows **out);
    /** Several ';'-separated statements without parameters (migrations). */
    enum gy_status (*exec_script)(struct gy_db *db, const char *sql);
    /**
     * Inside a transaction from begin: waits for the exclusive right to migrate (up to the
     * busy timeout), so that concurrent openers apply each migration once.
     */
    enum gy_status (*migrate_lock)(struct gy_db *db);
};

extern const struct gy_db_backend gy__db_sqlite_backend;
extern const struct gy_db_backend gy__db_postgres_backend;

/** The most object keys a handle holds for reading (the write key included). */
#define GY_DB_READ_KEYS_MAX 4

/** Length of an object key's id (the first bytes of BLAKE2b-256 of the key). */
#define GY_DB_KEY_ID_LEN 8

/** An object key (encryption at rest, objects.c) and its id. Zeroed when dropped. */
struct gy_db_key {
    uint8_t key[GY_DB_KEY_LEN];
    uint8_t id[GY_DB_KEY_ID_LEN];
};

struct gy_db {
    const struct gy_db_backend *be;
    enum gy_db_kind kind;
    char *home;        /* the data home (new) */
    char *objects_dir; /* home/objects (new) */
    char *tmp_dir;     /* home/tmp (new) */
    int defer_sync;    /* gy_db_objects_defer_sync: puts skip fsync until gy_db_objects_sync */
    void *impl;        /* the backend's connection state */
    int busy_timeout_ms;
    int in_tx;     /* a transaction started by gy_db_begin is open */
    int tx_failed; /* a statement failed inside it: only rollback is possible */
    char errmsg[GY_DB_ERRMSG_CAP];
    /* Encryption at rest (objects.c): new objects are encrypted with write_key when
     * has_write_key; reads accept any of read_keys (write_key first, then old keys). */
    int has_write_key;
    struct gy_db_key write_key;
    size_t nread_keys;
    struct gy_db_key read_keys[GY_DB_READ_KEYS_MAX];
};

/**
 * A materialized result: every cell is stored as NUL-terminated text (integers in decimal,
 * doubles in the shortest form that reads back to the same bits) or NULL for SQL NULL.
 */
struct gy_db_rows {
    size_t ncols;
    size_t nrows;
    size_t cap;   /* rows allocated in cells */
    char **names; /* ncols column names */
    char **cells; /* nrows * ncols, row-major */
};

/**
 * Formats the detail text into db->errmsg, records it with gy_error_set as well, and returns
 * @p s.
 */
enum gy_status gy__db_error(struct gy_db *db, enum gy_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Creates an empty row set with @p ncols columns (names unset). *out new. */
enum gy_status gy__db_rows_create(size_t ncols, struct gy_db_rows **out);

/** Sets the name of column @p col (copied). */
enum gy_status gy__db_rows_set_name(struct gy_db_rows *r, size_t col, const char *name);

/**
 * Appends a row of NULL cells and points *cells at its ncols slots, which the caller fills
 * with gy_malloc'd strings (the row set then owns them).
 */
enum gy_status gy__db_rows_add(struct gy_db_rows *r, char ***cells);

/**
 * Writes @p d in the shortest "%.*g" form (15 to 17 digits) that strtod reads back to the
 * same value. @p out has room for 32 bytes.
 */
void gy__db_format_real(double d, char out[32]);

/**
 * Brings the schema up to date (schema.c). Each pending migration runs in its own write
 * transaction; concurrent openers serialize and re-check, so each migration applies once.
 * GY_E_UNSUPPORTED when the store is newer than this build.
 */
enum gy_status gy__db_migrate(struct gy_db *db);

/** The highest migration version this build knows (schema.c). */
int64_t gy__db_schema_latest(void);

/**
 * Loads the object keys named by GYRE_KEY_FILE (the write key) and GYRE_OLD_KEY_FILE (an
 * extra read key for rotations) into @p db (objects.c). Unset variables leave the store plain.
 */
enum gy_status gy__db_keys_from_env(struct gy_db *db);

/** Zeroes and forgets every object key of @p db (objects.c). */
void gy__db_keys_clear(struct gy_db *db);

/** Runs a multi-statement script through the front (transaction bookkeeping included). */
enum gy_status gy__db_exec_script(struct gy_db *db, const char *sql);

#endif /* GY_DB_INT_H */
