/* SPDX-License-Identifier: MIT */
/*
 * test_db.c - the metadata store through its public interface, on both backends: opening a
 * data home and its migrations, statements with every parameter type, RETURNING and
 * ON CONFLICT, error mapping, transactions (commit, rollback, aborted transactions), and
 * opening from the environment. Each test runs as sqlite/<name> and postgres/<name>.
 */
#include "fixture.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void make_table(struct gy_db *db)
{
    OK(gy_db_exec(db,
                  "CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT)",
                  NULL, 0, NULL));
}

/* ------------------------------------------------------------------ open and migrations */

DB_TEST(open_creates_home_and_migrates)
{
    char home[512], path[600];
    struct gy_db *db = NULL;
    int64_t v = 0;

    /* A home whose parents do not exist yet: created like mkdir -p. */
    snprintf(home, sizeof home, "%s/a/b/home", f->home);
    OK(gy_db_open(home, f->pg ? f->url : NULL, &db));
    cr_assert_str_eq(gy_db_home(db), home);
    cr_assert_eq(gy_db_kind(db), f->pg ? GY_DB_POSTGRES : GY_DB_SQLITE);
    snprintf(path, sizeof path, "%s/objects", home);
    cr_assert(is_dir(path), "%s missing", path);
    snprintf(path, sizeof path, "%s/tmp", home);
    cr_assert(is_dir(path), "%s missing", path);
    snprintf(path, sizeof path, "%s/gyre.db", home);
    cr_assert_eq(access(path, F_OK) == 0, !f->pg, "gyre.db presence");

    OK(gy_db_schema_version(db, &v));
    cr_assert_geq(v, 1);
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM gy_schema_version"), v);
    /* Migration 1 made the lake tables. */
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM datasets"), 0);
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM dataset_versions"), 0);
    gy_db_free(db);
}

DB_TEST(second_open_is_a_noop)
{
    struct gy_db *db = NULL;
    int64_t v1 = 0, v2 = 0, applied1, applied2;
    OK(gy_db_schema_version(f->db, &v1));
    applied1 = fx_int(f->db, "SELECT MAX(applied_us) FROM gy_schema_version");
    OK(gy_db_exec(f->db, "INSERT INTO datasets (name, created_us) VALUES ('kept', 1)", NULL, 0,
                  NULL));
    gy_db_free(f->db);
    f->db = NULL;

    OK(fx_open(f, &db));
    OK(gy_db_schema_version(db, &v2));
    applied2 = fx_int(db, "SELECT MAX(applied_us) FROM gy_schema_version");
    cr_assert_eq(v1, v2);
    cr_assert_eq(applied1, applied2, "a migration ran again");
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM gy_schema_version"), v2);
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM datasets"), 1);
    gy_db_free(db);
}

DB_TEST(newer_schema_is_refused)
{
    struct gy_db *db = NULL;
    OK(gy_db_exec(f->db,
                  "INSERT INTO gy_schema_version (version, applied_us, description) "
                  "VALUES (999999, 1, 'from the future')",
                  NULL, 0, NULL));
    cr_assert_eq(fx_open(f, &db), GY_E_UNSUPPORTED);
    cr_assert_null(db);
    cr_assert(strstr(gy_error_msg(), "999999"), "message: %s", gy_error_msg());
}

DB_TEST(open_env_reads_gyre_home_and_gyre_db)
{
    struct gy_db *db = NULL;
    char home[512];
    snprintf(home, sizeof home, "%s/envhome", f->home);
    setenv("GYRE_HOME", home, 1);
    if (f->pg)
        setenv("GYRE_DB", f->url, 1);
    else
        unsetenv("GYRE_DB");
    OK(gy_db_open_env(&db));
    cr_assert_str_eq(gy_db_home(db), home);
    cr_assert_eq(gy_db_kind(db), f->pg ? GY_DB_POSTGRES : GY_DB_SQLITE);
    cr_assert(is_dir(home));
    gy_db_free(db);
}

Test(open, bad_arguments)
{
    struct gy_db *db = (struct gy_db *)&db;
    cr_assert_eq(gy_db_open(NULL, NULL, &db), GY_E_INVALID);
    cr_assert_null(db);
    cr_assert_eq(gy_db_open("", NULL, &db), GY_E_INVALID);
    cr_assert_eq(gy_db_open("/tmp/x", "mysql://u:hunter2@h/db", &db), GY_E_INVALID);
    cr_assert_null(strstr(gy_error_msg(), "hunter2"), "password leaked: %s", gy_error_msg());
    cr_assert_eq(gy_db_open("/tmp/x", "hunter2", &db), GY_E_INVALID);
    cr_assert_null(strstr(gy_error_msg(), "hunter2"), "password leaked: %s", gy_error_msg());
}

Test(open, home_that_is_a_file)
{
    char dir[] = "/tmp/gyre-dbtest-XXXXXX", file[64];
    struct gy_db *db = NULL;
    FILE *fp;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/file", dir);
    fp = fopen(file, "w");
    cr_assert_not_null(fp);
    fclose(fp);
    cr_assert_neq(gy_db_open(file, NULL, &db), GY_OK);
    cr_assert_null(db);
    cr_assert(strlen(gy_error_msg()) > 0);
    fx_rm_rf(dir);
}

Test(open, bad_busy_timeout_env)
{
    char dir[] = "/tmp/gyre-dbtest-XXXXXX";
    struct gy_db *db = NULL;
    cr_assert_not_null(mkdtemp(dir));
    setenv("GYRE_DB_BUSY_TIMEOUT_MS", "soon", 1);
    cr_assert_eq(gy_db_open(dir, NULL, &db), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "GYRE_DB_BUSY_TIMEOUT_MS"), "%s", gy_error_msg());
    setenv("GYRE_DB_BUSY_TIMEOUT_MS", "250", 1);
    OK(gy_db_open(dir, NULL, &db));
    gy_db_free(db);
    fx_rm_rf(dir);
}

/* Needs no server: nothing listens on port 1, so the connection is refused at once. */
Test(open, postgres_failure_hides_the_password)
{
    char dir[] = "/tmp/gyre-dbtest-XXXXXX";
    const char *urls[] = {
        "postgresql://gyre:S3cretPw@127.0.0.1:1/gyre?connect_timeout=2",
        "postgres://127.0.0.1:1/gyre?user=gyre&password=S3cretPw&connect_timeout=2",
    };
    cr_assert_not_null(mkdtemp(dir));
    for (size_t i = 0; i < 2; i++) {
        struct gy_db *db = NULL;
        cr_assert_eq(gy_db_open(dir, urls[i], &db), GY_E_DB);
        cr_assert_null(db);
        cr_assert(strstr(gy_error_msg(), "cannot connect"), "%s", gy_error_msg());
        cr_assert(strstr(gy_error_msg(), "127.0.0.1"), "%s", gy_error_msg());
        cr_assert_null(strstr(gy_error_msg(), "S3cretPw"), "password leaked: %s", gy_error_msg());
    }
    fx_rm_rf(dir);
}

/* ------------------------------------------------------------------ statements */

DB_TEST(params_round_trip)
{
    static const double reals[] = {0.1,
                                   1e-300,
                                   -0.0,
                                   1.7976931348623157e308,
                                   4.9406564584124654e-324,
                                   -2.5,
                                   1.0 / 3.0,
                                   123456789012345680.0};
    static const int64_t ints[] = {0, -1, 42, INT64_MAX, INT64_MIN};
    static const char *texts[] = {"it's \"quoted\" \\ back; DROP TABLE t; --",
                                  ("h\xc3\xa9llo \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac "
                                   "\xf0\x9f\x8e\x89"),
                                  "", "$1 ?1 :x"};
    struct gy_db_rows *rows = NULL;
    int64_t id = 0;

    make_table(f->db);
    for (size_t k = 0; k < GY_ARRAY_LEN(reals); k++) {
        struct gy_db_param p[] = {GY_DB_P_INT(++id), GY_DB_P_REAL(reals[k])};
        OK(gy_db_exec(f->db, "INSERT INTO t (id, d) VALUES ($1, $2)", p, 2, NULL));
    }
    for (size_t k = 0; k < GY_ARRAY_LEN(ints); k++) {
        struct gy_db_param p[] = {GY_DB_P_INT(++id), GY_DB_P_INT(ints[k])};
        OK(gy_db_exec(f->db, "INSERT INTO t (id, i) VALUES ($1, $2)", p, 2, NULL));
    }
    for (size_t k = 0; k < GY_ARRAY_LEN(texts); k++) {
        struct gy_db_param p[] = {GY_DB_P_INT(++id), GY_DB_P_TEXT(texts[k])};
        OK(gy_db_exec(f->db, "INSERT INTO t (id, s) VALUES ($1, $2)", p, 2, NULL));
    }
    {
        struct gy_db_param p[] = {GY_DB_P_INT(++id), GY_DB_P_NULL, GY_DB_P_TEXT(NULL),
                                  GY_DB_P_NULL};
        OK(gy_db_exec(f->db, "INSERT INTO t (id, i, s, d) VALUES ($1, $2, $3, $4)", p, 4, NULL));
    }

    OK(gy_db_query(f->db, "SELECT id, i, d, s FROM t ORDER BY id", NULL, 0, &rows));
    cr_assert_eq(gy_db_rows_count(rows), (size_t)id);
    cr_assert_eq(gy_db_rows_cols(rows), 4);
    cr_assert_str_eq(gy_db_rows_name(rows, 0), "id");
    cr_assert_str_eq(gy_db_rows_name(rows, 3), "s");
    cr_assert_null(gy_db_rows_name(rows, 4));
    size_t r = 0;
    for (size_t k = 0; k < GY_ARRAY_LEN(reals); k++, r++) {
        double got = gy_db_rows_real(rows, r, 2);
        /* -0.0 is stored as +0.0 on both backends (SQLite cannot keep the sign). */
        double want = reals[k] == 0.0 ? 0.0 : reals[k];
        cr_assert_eq(memcmp(&got, &want, sizeof got), 0, "real %zu: %.17g came back as %s", k,
                     reals[k], gy_db_rows_text(rows, r, 2));
        cr_assert(gy_db_rows_isnull(rows, r, 1));
    }
    /* The text form is the shortest exact one on both backends. */
    cr_assert_str_eq(gy_db_rows_text(rows, 0, 2), "0.1");
    cr_assert_str_eq(gy_db_rows_text(rows, 2, 2), "0");
    cr_assert_str_eq(gy_db_rows_text(rows, 1, 2), "1e-300");
    for (size_t k = 0; k < GY_ARRAY_LEN(ints); k++, r++) {
        cr_assert_eq(gy_db_rows_int(rows, r, 1), ints[k], "int %zu: %s", k,
                     gy_db_rows_text(rows, r, 1));
        cr_assert_eq(gy_db_rows_real(rows, r, 1), (double)ints[k]);
    }
    for (size_t k = 0; k < GY_ARRAY_LEN(texts); k++, r++) {
        cr_assert_not(gy_db_rows_isnull(rows, r, 3), "text %zu is NULL", k);
        cr_assert_str_eq(gy_db_rows_text(rows, r, 3), texts[k]);
    }
    cr_assert(gy_db_rows_isnull(rows, r, 1));
    cr_assert(gy_db_rows_isnull(rows, r, 2));
    cr_assert(gy_db_rows_isnull(rows, r, 3));
    cr_assert_null(gy_db_rows_text(rows, r, 3));
    cr_assert_eq(gy_db_rows_int(rows, r, 1), 0);
    cr_assert_eq(gy_db_rows_real(rows, r, 2), 0.0);
    /* Out of range reads are NULL, not crashes. */
    cr_assert(gy_db_rows_isnull(rows, r + 1, 0));
    cr_assert(gy_db_rows_isnull(rows, 0, 9));
    gy_db_rows_free(rows);

    /* Parameters in WHERE clauses compare by value. */
    {
        struct gy_db_param p[] = {GY_DB_P_INT(INT64_MIN)};
        cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM t WHERE i IS NOT NULL"), 5);
        int64_t n = 0;
        OK(gy_db_query_int(f->db, "SELECT COUNT(*) FROM t WHERE i = $1", p, 1, &n));
        cr_assert_eq(n, 1);
    }
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(texts[1])};
        int64_t n = 0;
        OK(gy_db_query_int(f->db, "SELECT id FROM t WHERE s = $1", p, 1, &n));
        cr_assert_eq(n, 15);
    }
}

DB_TEST(typed_params_in_expressions)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p[] = {GY_DB_P_INT(5000000000LL), GY_DB_P_INT(2), GY_DB_P_TEXT("hi"),
                              GY_DB_P_REAL(0.5)};
    OK(gy_db_query(f->db, "SELECT $1 + $2 AS sum, $3 AS txt, $4 * 2 AS dbl", p, 4, &rows));
    cr_assert_eq(gy_db_rows_count(rows), 1);
    cr_assert_eq(gy_db_rows_int(rows, 0, 0), 5000000002LL);
    cr_assert_str_eq(gy_db_rows_text(rows, 0, 1), "hi");
    cr_assert_eq(gy_db_rows_real(rows, 0, 2), 1.0);
    cr_assert_str_eq(gy_db_rows_name(rows, 0), "sum");
    gy_db_rows_free(rows);
}

DB_TEST(invalid_utf8_is_refused)
{
    struct gy_db_param p[] = {GY_DB_P_INT(1), GY_DB_P_TEXT("bad \xc3\x28 byte")};
    make_table(f->db);
    cr_assert_eq(gy_db_exec(f->db, "INSERT INTO t (id, s) VALUES ($1, $2)", p, 2, NULL),
                 GY_E_INVALID);
    cr_assert(strstr(gy_db_errmsg(f->db), "$2"), "%s", gy_db_errmsg(f->db));
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM t"), 0);
}

DB_TEST(returning_id)
{
    struct gy_db_rows *rows = NULL;
    int64_t first = 0, second = 0;
    struct gy_db_param p[] = {GY_DB_P_TEXT("one"), GY_DB_P_INT(7)};
    OK(gy_db_query(f->db, "INSERT INTO datasets (name, created_us) VALUES ($1, $2) RETURNING id", p,
                   2, &rows));
    cr_assert_eq(gy_db_rows_count(rows), 1);
    first = gy_db_rows_int(rows, 0, 0);
    cr_assert_geq(first, 1);
    gy_db_rows_free(rows);
    p[0] = GY_DB_P_TEXT("two");
    OK(gy_db_query_int(f->db,
                       "INSERT INTO datasets (name, created_us) VALUES ($1, $2) RETURNING id", p, 2,
                       &second));
    cr_assert_gt(second, first);
    p[0] = GY_DB_P_TEXT("two");
    int64_t got = 0;
    OK(gy_db_query_int(f->db, "SELECT id FROM datasets WHERE name = $1", p, 1, &got));
    cr_assert_eq(got, second);
}

DB_TEST(unique_violation_is_exists)
{
    struct gy_db_param p[] = {GY_DB_P_TEXT("dup"), GY_DB_P_INT(1)};
    OK(gy_db_exec(f->db, "INSERT INTO datasets (name, created_us) VALUES ($1, $2)", p, 2, NULL));
    gy_error_clear();
    cr_assert_eq(
        gy_db_exec(f->db, "INSERT INTO datasets (name, created_us) VALUES ($1, $2)", p, 2, NULL),
        GY_E_EXISTS);
    cr_assert(strlen(gy_db_errmsg(f->db)) > 0);
    cr_assert_str_eq(gy_error_msg(), gy_db_errmsg(f->db));
    /* Primary keys too. */
    make_table(f->db);
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (1)", NULL, 0, NULL));
    cr_assert_eq(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (1)", NULL, 0, NULL), GY_E_EXISTS);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM datasets"), 1);
}

DB_TEST(on_conflict)
{
    int64_t changes = -1;
    struct gy_db_param p[] = {GY_DB_P_TEXT("x"), GY_DB_P_TEXT("first")};
    const char *ins = "INSERT INTO datasets (name, description, created_us) VALUES ($1, $2, 1) "
                      "ON CONFLICT (name) DO NOTHING";
    const char *ups = "INSERT INTO datasets (name, description, created_us) VALUES ($1, $2, 1) "
                      "ON CONFLICT (name) DO UPDATE SET description = excluded.description";
    struct gy_db_rows *rows = NULL;
    OK(gy_db_exec(f->db, ins, p, 2, &changes));
    cr_assert_eq(changes, 1);
    p[1] = GY_DB_P_TEXT("second");
    OK(gy_db_exec(f->db, ins, p, 2, &changes));
    cr_assert_eq(changes, 0);
    OK(gy_db_exec(f->db, ups, p, 2, &changes));
    cr_assert_eq(changes, 1);
    OK(gy_db_query(f->db, "SELECT description FROM datasets", NULL, 0, &rows));
    cr_assert_eq(gy_db_rows_count(rows), 1);
    cr_assert_str_eq(gy_db_rows_text(rows, 0, 0), "second");
    gy_db_rows_free(rows);
}

DB_TEST(changes_count)
{
    int64_t changes = -1;
    make_table(f->db);
    OK(gy_db_exec(f->db, "CREATE TABLE u (a BIGINT)", NULL, 0, &changes));
    cr_assert_eq(changes, 0);
    OK(gy_db_exec(f->db, "INSERT INTO t (id, i) VALUES (1, 1), (2, 1), (3, 2)", NULL, 0, &changes));
    cr_assert_eq(changes, 3);
    OK(gy_db_exec(f->db, "UPDATE t SET s = 'y' WHERE i = 1", NULL, 0, &changes));
    cr_assert_eq(changes, 2);
    OK(gy_db_exec(f->db, "DELETE FROM t WHERE i = 99", NULL, 0, &changes));
    cr_assert_eq(changes, 0);
    /* A query through exec reports the rows it returned, as PostgreSQL's tag does. */
    OK(gy_db_exec(f->db, "SELECT id FROM t WHERE i = 1", NULL, 0, &changes));
    cr_assert_eq(changes, 2);
    OK(gy_db_exec(f->db, "DELETE FROM t", NULL, 0, &changes));
    cr_assert_eq(changes, 3);
    OK(gy_db_exec(f->db, "DROP TABLE u", NULL, 0, &changes));
    cr_assert_eq(changes, 0);
}

DB_TEST(query_int_outcomes)
{
    int64_t v = 77;
    make_table(f->db);
    cr_assert_eq(gy_db_query_int(f->db, "SELECT i FROM t", NULL, 0, &v), GY_NOT_FOUND);
    cr_assert_eq(v, 77, "out changed on NOT_FOUND");
    OK(gy_db_exec(f->db, "INSERT INTO t (id, i, s, d) VALUES (1, NULL, 'abc', 3.0)", NULL, 0,
                  NULL));
    cr_assert_eq(gy_db_query_int(f->db, "SELECT i FROM t", NULL, 0, &v), GY_NOT_FOUND);
    OK(gy_db_query_int(f->db, "SELECT id FROM t", NULL, 0, &v));
    cr_assert_eq(v, 1);
    OK(gy_db_query_int(f->db, "SELECT d FROM t", NULL, 0, &v));
    cr_assert_eq(v, 3);
    cr_assert_eq(gy_db_query_int(f->db, "SELECT s FROM t", NULL, 0, &v), GY_E_DB);
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (2)", NULL, 0, NULL));
    cr_assert_eq(gy_db_query_int(f->db, "SELECT id FROM t", NULL, 0, &v), GY_E_DB);
}

DB_TEST(sql_errors)
{
    struct gy_db_rows *rows = (struct gy_db_rows *)&rows;
    struct gy_db_param one[] = {GY_DB_P_INT(1)};
    cr_assert_eq(gy_db_query(f->db, "SELECT * FROM no_such_table", NULL, 0, &rows), GY_E_DB);
    cr_assert_null(rows);
    cr_assert(strstr(gy_db_errmsg(f->db), "no_such_table"), "%s", gy_db_errmsg(f->db));
    cr_assert_eq(gy_db_exec(f->db, "SELEC 1", NULL, 0, NULL), GY_E_DB);
    /* A parameter the statement uses but nobody gave. */
    cr_assert_eq(gy_db_exec(f->db, "SELECT $1, $2", one, 1, NULL), GY_E_DB);
    /* One statement per call. */
    make_table(f->db);
    cr_assert_eq(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (1); INSERT INTO t (id) VALUES (2)",
                            NULL, 0, NULL),
                 GY_E_DB);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM t"), 0);
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (3);  ", NULL, 0, NULL));
    /* NOT NULL and foreign keys are enforced (foreign_keys=ON on SQLite). */
    cr_assert_eq(gy_db_exec(f->db, "INSERT INTO datasets (name) VALUES ('x')", NULL, 0, NULL),
                 GY_E_DB);
    cr_assert_eq(gy_db_exec(f->db,
                            "INSERT INTO dataset_versions (dataset_id, version, created_us, rows, "
                            "manifest) VALUES (999, 1, 1, 0, 'm')",
                            NULL, 0, NULL),
                 GY_E_DB);
    cr_assert_eq(gy_db_exec(f->db, NULL, NULL, 0, NULL), GY_E_INVALID);
    cr_assert_eq(gy_db_exec(f->db, "SELECT 1", NULL, 1, NULL), GY_E_INVALID);
}

Test(sqlite, surplus_parameters_are_refused, .init = fx_init_sqlite, .fini = fx_fini)
{
    struct gy_db_param two[] = {GY_DB_P_INT(1), GY_DB_P_INT(2)};
    cr_assert_eq(gy_db_exec(F.db, "SELECT $1", two, 2, NULL), GY_E_DB);
    cr_assert_eq(gy_db_exec(F.db, "SELECT ?", two, 1, NULL), GY_E_DB);
    cr_assert_eq(gy_db_exec(F.db, "SELECT :a", two, 1, NULL), GY_E_DB);
    OK(gy_db_exec(F.db, "SELECT $2, $1, $2", two, 2, NULL));
}

/* ------------------------------------------------------------------ transactions */

DB_TEST(rollback_discards)
{
    make_table(f->db);
    OK(gy_db_begin(f->db));
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (1)", NULL, 0, NULL));
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM t"), 1);
    gy_db_rollback(f->db);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM t"), 0);
    /* Rolling back with nothing open is harmless. */
    gy_db_rollback(f->db);
    gy_db_rollback(NULL);
}

DB_TEST(commit_persists_across_reopen)
{
    struct gy_db *db = NULL;
    make_table(f->db);
    OK(gy_db_begin(f->db));
    OK(gy_db_exec(f->db, "INSERT INTO t (id, s) VALUES (1, 'kept')", NULL, 0, NULL));
    OK(gy_db_commit(f->db));
    gy_db_free(f->db);
    f->db = NULL;
    OK(fx_open(f, &db));
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM t WHERE s = 'kept'"), 1);
    gy_db_free(db);
}

DB_TEST(free_rolls_back_open_transaction)
{
    struct gy_db *db = NULL;
    make_table(f->db);
    OK(gy_db_begin(f->db));
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (1)", NULL, 0, NULL));
    gy_db_free(f->db);
    f->db = NULL;
    OK(fx_open(f, &db));
    cr_assert_eq(fx_int(db, "SELECT COUNT(*) FROM t"), 0);
    /* And the write lock went with it. */
    OK(gy_db_begin(db));
    gy_db_rollback(db);
    gy_db_free(db);
}

DB_TEST(error_aborts_the_transaction)
{
    make_table(f->db);
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (1)", NULL, 0, NULL));
    OK(gy_db_begin(f->db));
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (2)", NULL, 0, NULL));
    cr_assert_eq(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (1)", NULL, 0, NULL), GY_E_EXISTS);
    /* The same on both backends: nothing more runs, and commit rolls back. */
    cr_assert_eq(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (3)", NULL, 0, NULL), GY_E_DB);
    cr_assert(strstr(gy_db_errmsg(f->db), "aborted"), "%s", gy_db_errmsg(f->db));
    cr_assert_eq(gy_db_commit(f->db), GY_E_DB);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM t"), 1);
    /* The handle is usable again afterwards. */
    OK(gy_db_begin(f->db));
    OK(gy_db_exec(f->db, "INSERT INTO t (id) VALUES (4)", NULL, 0, NULL));
    OK(gy_db_commit(f->db));
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM t"), 2);
}

DB_TEST(transaction_misuse)
{
    cr_assert_eq(gy_db_commit(f->db), GY_E_INVALID);
    OK(gy_db_begin(f->db));
    cr_assert_eq(gy_db_begin(f->db), GY_E_INVALID);
    /* The open transaction is untouched by the refused begin. */
    OK(gy_db_exec(f->db, "INSERT INTO datasets (name, created_us) VALUES ('a', 1)", NULL, 0, NULL));
    OK(gy_db_commit(f->db));
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM datasets"), 1);
}

/* PostgreSQL only: a connection the server dropped is re-established, settings included. */
Test(postgres, reconnects_after_the_server_drops_the_connection, .init = fx_init_pg,
     .fini = fx_fini)
{
    struct gy_db *admin = NULL;
    struct gy_db_rows *rows = NULL;
    int64_t pid = 0, killed = 0, v = 0;
    if (!F.ready)
        cr_skip_test("GY_TEST_PG_DSN is not set");
    OK(fx_open(&F, &admin));
    OK(gy_db_query_int(F.db, "SELECT pg_backend_pid()", NULL, 0, &pid));
    struct gy_db_param p[] = {GY_DB_P_INT(pid)};
    OK(gy_db_query_int(admin, "SELECT CASE WHEN pg_terminate_backend($1::int) THEN 1 ELSE 0 END", p,
                       1, &killed));
    cr_assert_eq(killed, 1);
    gy_db_free(admin);

    /* The statement that finds the connection gone fails; the next one reconnects. */
    cr_assert_eq(gy_db_query_int(F.db, "SELECT 1", NULL, 0, &v), GY_E_DB);
    cr_assert(strstr(gy_db_errmsg(F.db), "connection"), "%s", gy_db_errmsg(F.db));
    OK(gy_db_query_int(F.db, "SELECT pg_backend_pid()", NULL, 0, &v));
    cr_assert_neq(v, pid);
    OK(gy_db_query(F.db, "SELECT current_setting('lock_timeout')", NULL, 0, &rows));
    /* lock_timeout is session state: "0" would mean the busy timeout was lost. */
    cr_assert_str_neq(gy_db_rows_text(rows, 0, 0), "0");
    gy_db_rows_free(rows);
    /* Still in its own schema. */
    cr_assert_eq(fx_int(F.db, "SELECT COUNT(*) FROM datasets"), 0);
}

DB_TEST(empty_statement_is_an_error)
{
    cr_assert_eq(gy_db_exec(f->db, "   ", NULL, 0, NULL), GY_E_DB);
    cr_assert_eq(gy_db_exec(f->db, "-- nothing", NULL, 0, NULL), GY_E_DB);
    cr_assert_eq(gy_db_exec(f->db, "", NULL, 0, NULL), GY_E_INVALID);
}
