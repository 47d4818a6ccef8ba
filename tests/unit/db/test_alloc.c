/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.c - memory discipline of the db module: every byte allocated through the gy_
 * wrappers is returned, and an allocation failure at any point of open, query and object I/O
 * gives an error (GY_E_NOMEM) and leaks nothing, on both backends.
 */
#include "fixture.h"

/* One round of work on an open store; returns the first failure. */
static enum gy_status work(struct gy_db *db)
{
    struct gy_db_param p[] = {GY_DB_P_TEXT("name"), GY_DB_P_INT(1), GY_DB_P_REAL(0.25)};
    struct gy_db_rows *rows = NULL;
    char hex[GY_SHA256_HEX_LEN + 1];
    struct gy_buf b;
    int64_t v;
    enum gy_status rc;

    rc = gy_db_exec(db,
                    "INSERT INTO datasets (name, created_us) VALUES ($1, $2) "
                    "ON CONFLICT (name) DO NOTHING",
                    p, 2, NULL);
    if (rc)
        return rc;
    rc = gy_db_query(db, "SELECT id, name, created_us, $1 AS r FROM datasets", p + 2, 1, &rows);
    gy_db_rows_free(rows);
    if (rc)
        return rc;
    rc = gy_db_query_int(db, "SELECT COUNT(*) FROM datasets", NULL, 0, &v);
    if (rc)
        return rc;
    rc = gy_db_object_put(db, "blob", 4, hex);
    if (rc)
        return rc;
    gy_buf_init(&b, 1024);
    rc = gy_db_object_get(db, hex, &b);
    gy_buf_free(&b);
    return rc;
}

DB_TEST(no_bytes_leak_through_the_wrappers)
{
    struct gy_db *db = NULL;
    int64_t before = gy_alloc_bytes();
    OK(fx_open(f, &db));
    OK(work(db));
    OK(gy_db_begin(db));
    OK(work(db));
    gy_db_rollback(db);
    gy_db_free(db);
    cr_assert_eq(gy_alloc_bytes(), before, "%lld bytes leaked",
                 (long long)(gy_alloc_bytes() - before));
}

DB_TEST_FRESH(allocation_failures_are_reported_not_leaked)
{
    int64_t before = gy_alloc_bytes();
    int succeeded = 0, n;
    for (n = 1; n < 2000 && !succeeded; n++) {
        struct gy_db *db = NULL;
        enum gy_status rc;
        /* Every other round starts from a fresh store, so migrations fail part-way too. */
        if (n % 2 && !f->pg) {
            char sql[64];
            snprintf(sql, sizeof sql, "%s/gyre.db", f->home);
            unlink(sql);
            snprintf(sql, sizeof sql, "%s/gyre.db-wal", f->home);
            unlink(sql);
            snprintf(sql, sizeof sql, "%s/gyre.db-shm", f->home);
            unlink(sql);
        }
        gy_alloc_fail_after(n);
        rc = fx_open(f, &db);
        if (rc == GY_OK) {
            rc = work(db);
            gy_db_free(db);
            succeeded = rc == GY_OK;
        }
        gy_alloc_fail_after(0);
        if (!succeeded)
            cr_assert_eq(rc, GY_E_NOMEM, "allocation %d: %s: %s", n, gy_status_str(rc),
                         gy_error_msg());
        cr_assert_eq(gy_alloc_bytes(), before, "allocation %d: %lld bytes leaked (%s)", n,
                     (long long)(gy_alloc_bytes() - before), gy_error_msg());
    }
    cr_assert(succeeded, "never got through");
    /* Open alone allocates more than a handful of times: the loop must have failed often. */
    cr_assert_gt(n, 20, "only %d rounds", n);
    cr_log_info("%d allocation failure points survived", n - 2);
}
