/* SPDX-License-Identifier: MIT */
/*
 * test_concurrency.c - several processes on one store: concurrent writers in separate
 * transactions lose nothing, a writer holding the lock makes another's begin fail with
 * GY_E_BUSY after the busy timeout, and concurrent first opens apply each migration once.
 * Children are forked after the parent has closed its handle, open their own, report
 * through pipes and leave with _exit (no Criterion asserts in children).
 */
#include "fixture.h"

#include <sys/wait.h>

#define NWRITERS 2
#define NROWS 200
#define NOPENERS 4

/* Releases children blocked in read(start_fd) by closing the write end. */
static void fork_children(int n, pid_t *pids, int start[2], int (*child)(int idx, int start_fd))
{
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0, "fork");
        if (pids[i] == 0) {
            close(start[1]);
            _exit(child(i, start[0]));
        }
    }
    close(start[0]);
    close(start[1]);
}

static void wait_children(int n, const pid_t *pids)
{
    for (int i = 0; i < n; i++) {
        int status = 0;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status), "child %d died with signal %d", i,
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        cr_assert_eq(WEXITSTATUS(status), 0, "child %d failed with %d", i, WEXITSTATUS(status));
    }
}

/* Where children of the writer test report their busy-retry counts. */
static int report_fd = -1;

static int writer(int who, int start_fd)
{
    struct gy_db *db = NULL;
    long busy = 0;
    char c;
    if (fx_open(&F, &db) != GY_OK) {
        fprintf(stderr, "writer %d: open: %s\n", who, gy_error_msg());
        return 10;
    }
    if (read(start_fd, &c, 1) < 0)
        return 11;
    for (int i = 0; i < NROWS; i++) {
        for (;;) {
            struct gy_db_param p[] = {GY_DB_P_INT(who), GY_DB_P_INT(i)};
            enum gy_status rc = gy_db_begin(db);
            if (rc == GY_OK) {
                rc = gy_db_exec(db, "INSERT INTO w (who, n) VALUES ($1, $2)", p, 2, NULL);
                if (rc == GY_OK)
                    rc = gy_db_commit(db);
                else
                    gy_db_rollback(db);
            }
            if (rc == GY_OK)
                break;
            if (rc != GY_E_BUSY) {
                fprintf(stderr, "writer %d row %d: %s: %s\n", who, i, gy_status_str(rc),
                        gy_error_msg());
                return 12;
            }
            busy++;
        }
    }
    if (write(report_fd, &busy, sizeof busy) != (ssize_t)sizeof busy)
        return 13;
    gy_db_free(db);
    return 0;
}

DB_TEST(concurrent_writers_lose_nothing)
{
    int start[2], report[2];
    pid_t pids[NWRITERS];
    long busy_total = 0;
    struct gy_db *db = NULL;

    OK(gy_db_exec(f->db,
                  "CREATE TABLE w (who BIGINT NOT NULL, n BIGINT NOT NULL, "
                  "PRIMARY KEY (who, n))",
                  NULL, 0, NULL));
    gy_db_free(f->db);
    f->db = NULL;
    cr_assert_eq(pipe(start), 0);
    cr_assert_eq(pipe(report), 0);
    report_fd = report[1];
    fork_children(NWRITERS, pids, start, writer);
    close(report[1]);
    wait_children(NWRITERS, pids);
    for (int i = 0; i < NWRITERS; i++) {
        long busy = 0;
        cr_assert_eq(read(report[0], &busy, sizeof busy), (ssize_t)sizeof busy);
        busy_total += busy;
    }
    close(report[0]);
    cr_log_info("%s: %d writers x %d transactions, %ld GY_E_BUSY retries",
                f->pg ? "postgres" : "sqlite", NWRITERS, NROWS, busy_total);

    OK(fx_open(f, &db));
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM w"), NWRITERS * NROWS);
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM w WHERE who = 0"), NROWS);
    cr_assert_eq(fx_int(db, "SELECT COUNT(DISTINCT n) FROM w"), NROWS);
    gy_db_free(db);
}

DB_TEST(begin_is_busy_while_another_writer_holds_the_lock)
{
    struct gy_db *other = NULL;
    /* Read at open: the second handle gives up after 200 ms instead of 5 s. */
    setenv("GYRE_DB_BUSY_TIMEOUT_MS", "200", 1);
    OK(fx_open(f, &other));
    OK(gy_db_begin(f->db));
    OK(gy_db_exec(f->db, "INSERT INTO datasets (name, created_us) VALUES ('a', 1)", NULL, 0, NULL));
    gy_error_clear();
    cr_assert_eq(gy_db_begin(other), GY_E_BUSY);
    cr_assert(strstr(gy_db_errmsg(other), "busy"), "%s", gy_db_errmsg(other));
    cr_assert(strstr(gy_error_msg(), "retry"), "%s", gy_error_msg());
    /* Readers are not blocked, and see only committed data. */
    cr_assert_eq(fx_int(other, "SELECT COUNT(*) FROM datasets"), 0);
    OK(gy_db_commit(f->db));

    /* Once the lock is free the retry succeeds. */
    OK(gy_db_begin(other));
    OK(gy_db_exec(other, "INSERT INTO datasets (name, created_us) VALUES ('b', 1)", NULL, 0, NULL));
    OK(gy_db_commit(other));
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM datasets"), 2);
    gy_db_free(other);
}

Test(sqlite, autocommit_write_is_busy_while_locked, .init = fx_init_sqlite, .fini = fx_fini)
{
    struct gy_db *other = NULL;
    setenv("GYRE_DB_BUSY_TIMEOUT_MS", "100", 1);
    OK(fx_open(&F, &other));
    OK(gy_db_begin(F.db));
    cr_assert_eq(
        gy_db_exec(other, "INSERT INTO datasets (name, created_us) VALUES ('b', 1)", NULL, 0, NULL),
        GY_E_BUSY);
    cr_assert_str_eq(gy_db_errmsg(other),
                     "database is busy (another writer holds the lock); retry");
    gy_db_rollback(F.db);
    OK(gy_db_exec(other, "INSERT INTO datasets (name, created_us) VALUES ('b', 1)", NULL, 0, NULL));
    gy_db_free(other);
}

static int opener(int idx, int start_fd)
{
    struct gy_db *db = NULL;
    int64_t v = 0;
    char c;
    if (read(start_fd, &c, 1) < 0)
        return 11;
    if (fx_open(&F, &db) != GY_OK) {
        fprintf(stderr, "opener %d: %s\n", idx, gy_error_msg());
        return 10;
    }
    if (gy_db_schema_version(db, &v) != GY_OK || v < 1)
        return 12;
    gy_db_free(db);
    return 0;
}

DB_TEST_FRESH(concurrent_first_opens_migrate_once)
{
    int start[2];
    pid_t pids[NOPENERS];
    struct gy_db *db = NULL;
    int64_t v = 0;
    cr_assert_null(f->db);
    cr_assert_eq(pipe(start), 0);
    fork_children(NOPENERS, pids, start, opener);
    wait_children(NOPENERS, pids);
    OK(fx_open(f, &db));
    OK(gy_db_schema_version(db, &v));
    cr_assert_geq(v, 1);
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM gy_schema_version"), v);
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM datasets"), 0);
    gy_db_free(db);
}
