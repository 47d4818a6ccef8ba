/* SPDX-License-Identifier: MIT */
/**
 * store_fixture.h - the fixture shared by the tracking and registry unit tests (an extension
 * of tests/unit/db/fixture.h with a leak check and JSON helpers): every
 * test written with DB_TEST runs twice, as sqlite/<name> on a fresh temporary data home and as
 * postgres/<name> on a fresh schema of the database named by GY_TEST_PG_DSN (skipped when that
 * is unset). The tests reach the store through f->db, or open more handles on the same store
 * with fx_open. Each body must give back every byte it allocated through gy_malloc (jansson
 * included): the wrapper compares gy_alloc_bytes() before and after the body.
 *
 * PostgreSQL isolation: each test creates schema gyt_<pid>_<n> through a maintenance handle
 * on the DSN itself, then connects with search_path set to it, so its tables are its own.
 */
#ifndef GY_TEST_STORE_FIXTURE_H
#define GY_TEST_STORE_FIXTURE_H

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "registry/registry.h"
#include "tracking/tracking.h"

struct fx {
    int ready;      /* set up (0: skipped) */
    int pg;         /* the PostgreSQL variant */
    char home[256]; /* a fresh temporary directory: the data home */
    char schema[64];
    char url[1024]; /* "" for SQLite */
    struct gy_db *db;
};

static struct fx F;

static inline const char *fx_pg_dsn(void)
{
    const char *s = getenv("GY_TEST_PG_DSN");
    return s && *s ? s : NULL;
}

/* Opens another handle on the fixture's store (usable in forked children: no asserts). */
static inline enum gy_status fx_open(const struct fx *f, struct gy_db **out)
{
    return gy_db_open(f->home, f->pg ? f->url : NULL, out);
}

static inline int fx_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static inline void fx_rm_rf(const char *path)
{
    if (path && *path)
        nftw(path, fx_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs one statement on the DSN's own database (creating or dropping test schemas). */
static inline enum gy_status fx_admin(const struct fx *f, const char *sql)
{
    struct gy_db *admin = NULL;
    char home[300];
    enum gy_status rc;
    snprintf(home, sizeof home, "%s/.admin", f->home);
    rc = gy_db_open(home, fx_pg_dsn(), &admin);
    if (rc == GY_OK)
        rc = gy_db_exec(admin, sql, NULL, 0, NULL);
    if (rc)
        cr_log_error("admin statement \"%s\": %s", sql, gy_error_msg());
    gy_db_free(admin);
    return rc;
}

/* Prepares a store; @p open_main: also open f->db (which applies the migrations). */
static inline void fx_setup(struct fx *f, int pg, int open_main)
{
    static int seq;
    char sql[128];
    memset(f, 0, sizeof *f);
    f->pg = pg;
    snprintf(f->home, sizeof f->home, "/tmp/gyre-storetest-XXXXXX");
    cr_assert_not_null(mkdtemp(f->home), "mkdtemp");
    if (pg) {
        const char *dsn = fx_pg_dsn();
        snprintf(f->schema, sizeof f->schema, "gyt_%ld_%d_%lld", (long)getpid(), ++seq,
                 (long long)(gy_time_mono_ns() % 1000000000));
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->schema);
        cr_assert_eq(fx_admin(f, sql), GY_OK, "create schema: %s", gy_error_msg());
        snprintf(f->url, sizeof f->url, "%s%soptions=-csearch_path%%3D%s", dsn,
                 strchr(dsn, '?') ? "&" : "?", f->schema);
    }
    f->ready = 1;
    if (open_main)
        cr_assert_eq(fx_open(f, &f->db), GY_OK, "open: %s", gy_error_msg());
}

static inline void fx_teardown(struct fx *f)
{
    char sql[128];
    if (!f->ready)
        return;
    gy_db_free(f->db);
    f->db = NULL;
    if (f->pg) {
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", f->schema);
        fx_admin(f, sql);
    }
    fx_rm_rf(f->home);
    f->ready = 0;
}

static inline void fx_init_sqlite(void)
{
    fx_setup(&F, 0, 1);
}

static inline void fx_init_pg(void)
{
    if (fx_pg_dsn())
        fx_setup(&F, 1, 1);
}

static inline void fx_init_sqlite_fresh(void)
{
    fx_setup(&F, 0, 0);
}

static inline void fx_init_pg_fresh(void)
{
    if (fx_pg_dsn())
        fx_setup(&F, 1, 0);
}

static inline void fx_fini(void)
{
    fx_teardown(&F);
}

/*
 * Defines test NAME for both backends; the body sees `struct fx *f` with f->db open.
 * DB_TEST_FRESH: the same, but nothing is opened (f->db is NULL) before the body runs.
 */
#define DB_TEST_WITH(name, init_sq, init_pg)                                                       \
    static void name##_body(struct fx *f);                                                         \
    Test(sqlite, name, .init = init_sq, .fini = fx_fini)                                           \
    {                                                                                              \
        int64_t fx_before_ = gy_alloc_bytes();                                                     \
        name##_body(&F);                                                                           \
        cr_assert_eq(gy_alloc_bytes(), fx_before_, "the test leaked %lld bytes",                   \
                     (long long)(gy_alloc_bytes() - fx_before_));                                  \
    }                                                                                              \
    Test(postgres, name, .init = init_pg, .fini = fx_fini)                                         \
    {                                                                                              \
        int64_t fx_before_;                                                                        \
        if (!F.ready)                                                                              \
            cr_skip_test("GY_TEST_PG_DSN is not set");                                             \
        fx_before_ = gy_alloc_bytes();                                                             \
        name##_body(&F);                                                                           \
        cr_assert_eq(gy_alloc_bytes(), fx_before_, "the test leaked %lld bytes",                   \
                     (long long)(gy_alloc_bytes() - fx_before_));                                  \
    }                                                                                              \
    static void name##_body(struct fx *f)

#define DB_TEST(name) DB_TEST_WITH(name, fx_init_sqlite, fx_init_pg)
#define DB_TEST_FRESH(name) DB_TEST_WITH(name, fx_init_sqlite_fresh, fx_init_pg_fresh)

/* Asserts that @p expr returns GY_OK, showing the error text otherwise. */
#define OK(expr)                                                                                   \
    do {                                                                                           \
        enum gy_status ok_rc_ = (expr);                                                            \
        cr_assert_eq(ok_rc_, GY_OK, "%s: %s: %s", #expr, gy_status_str(ok_rc_), gy_error_msg());   \
    } while (0)

/* The single integer @p sql returns (asserting success). */
static inline int64_t fx_int(struct gy_db *db, const char *sql)
{
    int64_t v = -12345;
    OK(gy_db_query_int(db, sql, NULL, 0, &v));
    return v;
}

/* ------------------------------------------------------------------ JSON helpers */

/*
 * The value at a dotted path ("info.status", "data.metrics.0.value"; digits index arrays) or
 * NULL. Borrowed from @p j.
 */
static inline json_t *jpath(json_t *j, const char *path)
{
    char part[128];
    while (j && *path) {
        size_t n = strcspn(path, ".");
        char *end = NULL;
        long idx;
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        idx = strtol(part, &end, 10);
        if (json_is_array(j) && end && *end == '\0' && n > 0)
            j = json_array_get(j, (size_t)idx);
        else
            j = json_object_get(j, part);
        path += n;
        if (*path == '.')
            path++;
    }
    return j;
}

/* The string at @p path, or "" when absent or not a string. */
static inline const char *jstr(json_t *j, const char *path)
{
    json_t *v = jpath(j, path);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The integer at @p path, or -999999 when absent. */
static inline long long jint(json_t *j, const char *path)
{
    json_t *v = jpath(j, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -999999;
}

/* The size of the array at @p path (0 when absent). */
static inline size_t jlen(json_t *j, const char *path)
{
    return json_array_size(jpath(j, path));
}

/* The value of {"key","value"} entry @p key in the array at @p path, or NULL. */
static inline json_t *jkv(json_t *j, const char *path, const char *key)
{
    json_t *arr = jpath(j, path), *e;
    size_t i;
    json_array_foreach(arr, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "key")), key) == 0)
            return json_object_get(e, "value");
    }
    return NULL;
}

#endif /* GY_TEST_STORE_FIXTURE_H */
