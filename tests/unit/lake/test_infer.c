/* SPDX-License-Identifier: MIT */
/*
 * test_infer.c - unit tests for schema inference (src/lake/infer.c): the type chosen for
 * mixed CSV and JSON Lines columns, the per-column report, null tokens, quoted numbers,
 * bool words versus 0/1, timestamps versus integers, all-null columns, the sample size,
 * tolerated bad rows and reader errors propagated with their location.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lake/lake_int.h"

static int mkfd(const char *data)
{
    int fd = memfd_create("infer-test", 0);
    cr_assert(fd >= 0);
    cr_assert_eq(gy_fd_write_all(fd, data, strlen(data)), GY_OK);
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/*
 * Infers a schema for @p text and returns "name:type,..." followed by a newline and the
 * report, or "!" and the error text. new.
 */
static char *infer(const char *text, size_t sample, size_t skip_bad)
{
    struct gy_ingest_opts o;
    struct gy_schema *s = NULL;
    struct gy_buf rep, out;
    int fd = mkfd(text);
    enum gy_status st;

    memset(&o, 0, sizeof(o));
    o.source = "in.csv";
    o.skip_bad_rows = skip_bad;
    gy_buf_init(&rep, 1 << 20);
    gy_buf_init(&out, 1 << 20);
    st = gy_lake_infer_schema(fd, &o, sample, &s, &rep);
    close(fd);
    if (st != GY_OK) {
        cr_assert_null(s);
        gy_buf_printf(&out, "!%s", gy_error_msg());
    } else {
        for (size_t i = 0; i < s->ncols; i++)
            gy_buf_printf(&out, "%s%s:%s", i ? "," : "", s->cols[i].name,
                          gy_type_name(s->cols[i].type));
        gy_buf_printf(&out, "\n%s", rep.data ? rep.data : "");
        gy_schema_free(s);
    }
    gy_buf_free(&rep);
    return gy_buf_detach(&out, NULL);
}

static void check(const char *text, size_t sample, size_t skip_bad, const char *want)
{
    char *got = infer(text, sample, skip_bad);
    cr_assert_str_eq(got, want, "got:\n%s\nwant:\n%s", got, want);
    gy_free(got);
}

Test(infer, csv_mixed_columns)
{
    check("b,i,f,ts,s,n,mix,q,zo\n"
          "true,1,1.5,2024-01-01T00:00:00Z,x,,1,\"7\",0\n"
          "no,-2,2,2024-01-02,y,NA,2.5,\"8\",1\n"
          "T,,NaN,2024-01-03 10:00:00,z,,abc,\"9\",1\n",
          0, 0,
          "b:bool,i:int64,f:float64,ts:timestamp,s:string,n:string,mix:string,q:int64,"
          "zo:int64\n"
          "b: bool (3 values, 0 nulls)\n"
          "i: int64 (2 values, 1 null)\n"
          "f: float64 (3 values, 0 nulls, \"1.5\" at line 2 is not an integer)\n"
          "ts: timestamp (3 values, 0 nulls)\n"
          "s: string (3 values, 0 nulls, \"x\" at line 2 is not a bool, number or timestamp)\n"
          "n: string (0 values, 3 nulls, no values: string)\n"
          "mix: string (3 values, 0 nulls, \"abc\" at line 4 is not a bool, number or "
          "timestamp)\n"
          "q: int64 (3 values, 0 nulls)\n"
          "zo: int64 (3 values, 0 nulls)\n");
}

Test(infer, narrowest_type_order)
{
    /* int64 values then a float: float64; a timestamp among integers: string. */
    check("a,b,c,d\n1,2024-01-01,inf,1e3\n2.5,5,-inf,7\n", 0, 0,
          "a:float64,b:string,c:float64,d:float64\n"
          "a: float64 (2 values, 0 nulls, \"2.5\" at line 3 is not an integer)\n"
          "b: string (2 values, 0 nulls, \"5\" at line 3 is not a bool, number or timestamp)\n"
          "c: float64 (2 values, 0 nulls, \"inf\" at line 2 is not an integer)\n"
          "d: float64 (2 values, 0 nulls, \"1e3\" at line 2 is not an integer)\n");
    /* Bool words in any case; 0/1 mixed with words is not bool. */
    check("a,b\nYes,yes\nF,1\n", 0, 0,
          "a:bool,b:string\na: bool (2 values, 0 nulls)\n"
          "b: string (2 values, 0 nulls, \"1\" at line 3 is not a bool, number or timestamp)\n");
    /* Integers that overflow int64 are float64. */
    check("a\n9223372036854775807\n9223372036854775808\n", 0, 0,
          "a:float64\na: float64 (2 values, 0 nulls, \"9223372036854775808\" at line 3 is not "
          "an integer)\n");
}

Test(infer, jsonl_kinds)
{
    check(
        "{\"flag\": true, \"n\": 1, \"s\": \"1.5\", \"o\": null, \"t\": \"2024-05-01T00:00:00Z\"}\n"
        "{\"flag\": false, \"n\": 2.0, \"s\": \"2\", \"t\": \"2024-05-02T00:00:00+02:00\"}\n"
        "{\"flag\": null, \"n\": 3}\n",
        0, 0,
        "flag:bool,n:float64,s:float64,o:string,t:timestamp\n"
        "flag: bool (2 values, 1 null)\n"
        "n: float64 (3 values, 0 nulls, \"2.0\" at line 2 is not an integer)\n"
        "s: float64 (2 values, 1 null, \"1.5\" at line 1 is not an integer)\n"
        "o: string (0 values, 3 nulls, no values: string)\n"
        "t: timestamp (2 values, 1 null)\n");
    /* JSON true among numbers: string. */
    check("{\"a\": 1}\n{\"a\": true}\n", 0, 0,
          "a:string\na: string (2 values, 0 nulls, \"true\" at line 2 is not a bool, number or "
          "timestamp)\n");
}

/* Keys that first appear after the first object are columns too, in order of appearance;
 * lines beyond the sample do not add columns. */
Test(infer, jsonl_union_of_keys)
{
    check("{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"c\": 2.5}\n{\"d\": true}\n", 0, 0,
          "a:int64,b:string,c:float64,d:bool\n"
          "a: int64 (2 values, 1 null)\n"
          "b: string (1 value, 2 nulls, \"x\" at line 1 is not a bool, number or timestamp)\n"
          "c: float64 (1 value, 2 nulls, \"2.5\" at line 2 is not an integer)\n"
          "d: bool (1 value, 2 nulls)\n");
    check("{\"a\": 1}\n{\"a\": 2, \"late\": 1}\n", 1, 0, "a:int64\na: int64 (1 value, 0 nulls)\n");
}

Test(infer, sample_rows_limit)
{
    check("a\n1\n2\nx\n", 2, 0, "a:int64\na: int64 (2 values, 0 nulls)\n");
    check("a\n1\n2\nx\n", 0, 0,
          "a:string\na: string (3 values, 0 nulls, \"x\" at line 4 is not a bool, number or "
          "timestamp)\n");
}

Test(infer, errors_propagate_with_location)
{
    check("a,b\n1,2\n3\n", 0, 0, "!in.csv:3:2: expected 2 fields, found 1");
    check("a,a\n1,2\n", 0, 0, "!in.csv:1:3: duplicate column name \"a\" (column 2)");
    check("", 0, 0, "!in.csv: empty input (no header row)");
    /* Tolerated bad rows are left out of the counts. */
    check("a,b\n1,2\n3\n4,5\n", 0, 1,
          "a:int64,b:int64\na: int64 (2 values, 0 nulls)\nb: int64 (2 values, 0 nulls)\n");
    check("a,b\n1,2\n3\n4\n", 0, 1, "!in.csv:4:2: expected 2 fields, found 1");
}

Test(infer, report_is_optional_and_no_leaks)
{
    int64_t before = gy_alloc_bytes();
    struct gy_schema *s = NULL;
    int fd = mkfd("x,y\n1,a\n");
    cr_assert_eq(gy_lake_infer_schema(fd, NULL, 0, &s, NULL), GY_OK);
    cr_assert_eq(s->ncols, 2);
    cr_assert_str_eq(s->cols[1].name, "y");
    cr_assert_eq(s->cols[0].type, GY_TYPE_INT64);
    cr_assert_eq(s->cols[1].type, GY_TYPE_STRING);
    gy_schema_free(s);
    close(fd);
    cr_assert_eq(gy_alloc_bytes(), before);
}
