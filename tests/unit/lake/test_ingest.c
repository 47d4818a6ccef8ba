/* SPDX-License-Identifier: MIT */
/*
 * test_ingest.c - ingest on temporary data homes, comparing the parallel CSV path (the input
 * cut into blocks of records that the workers parse) with the sequential path (which
 * --skip-bad-rows selects): on generated files of several chunks, with quoted line breaks,
 * CRLF and nulls, both store the same chunks, segments and profile; on files with one bad
 * row anywhere (block boundaries included) both report the same first error at the same
 * line and column, and the parallel path commits nothing.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "lake/lake_int.h"

/* ------------------------------------------------------------------ helpers */

struct home {
    char dir[64];
    struct gy_db *db;
};

static void home_open(struct home *h)
{
    snprintf(h->dir, sizeof h->dir, "/tmp/gyre-ingest-XXXXXX");
    cr_assert_not_null(mkdtemp(h->dir));
    cr_assert_eq(gy_db_open(h->dir, NULL, &h->db), GY_OK, "%s", gy_error_msg());
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void home_close(struct home *h)
{
    gy_db_free(h->db);
    nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static const char *schema_json = "{\"columns\": [{\"name\": \"x\", \"type\": \"float64\"}, "
                                 "{\"name\": \"n\", \"type\": \"int64\"}, "
                                 "{\"name\": \"s\", \"type\": \"string\"}, "
                                 "{\"name\": \"b\", \"type\": \"bool\"}]}";

static void dataset_with_schema(struct gy_db *db, const char *name)
{
    json_t *j = NULL;
    struct gy_schema *s = NULL;
    cr_assert_eq(gy_json_parse(schema_json, strlen(schema_json), 8, "schema", &j), GY_OK);
    cr_assert_eq(gy_schema_from_json(j, &s), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_lake_dataset_create(db, name, s, NULL), GY_OK, "%s", gy_error_msg());
    json_decref(j);
    gy_schema_free(s);
}

/* One generated row (no line ending): float, int, string (quoted with commas, doubled quotes
 * and line breaks now and then), bool; empty fields are nulls. */
static void row_text(struct gy_buf *b, struct rng *r, size_t i, const char *eol)
{
    uint64_t u = rng_next(r);
    switch (u % 11) {
    case 0:
        break; /* null */
    case 1:
        gy_buf_printf(b, "%.17g", (double)(int64_t)(u >> 20) * 1e-7);
        break;
    case 2:
        gy_buf_printf(b, "%de%d", (int)(u % 2000) - 1000, (int)((u >> 12) % 40) - 20);
        break;
    default:
        gy_buf_printf(b, "%.6f", (double)(int64_t)(u >> 24) / 3e5 - 7e3);
    }
    gy_buf_printf(b, ",%lld,", (long long)(int64_t)(rng_next(r) % 2000001) - 1000000);
    u = rng_next(r);
    if (u % 17 == 0)
        gy_buf_printf(b, "\"line %zu,%s\"\"quoted\"\"%snext\"", i, eol, eol);
    else if (u % 5)
        gy_buf_printf(b, "w%llu", (unsigned long long)(u % 977));
    gy_buf_printf(b, ",%s", u % 3 == 0 ? "" : u % 3 == 1 ? "true" : "f");
}

/* A CSV of @p rows generated rows; row @p bad (if < rows) replaced by @p bad_text. Returns
 * the line number row @p bad starts on. */
static size_t make_csv(struct gy_buf *b, size_t rows, uint64_t seed, const char *eol, size_t bad,
                       const char *bad_text)
{
    struct rng r = {seed};
    size_t line = 0;
    gy_buf_init(b, (size_t)1 << 31);
    gy_buf_printf(b, "x,n,s,b%s", eol);
    for (size_t i = 0; i < rows; i++) {
        if (i == bad) {
            line = 1;
            for (size_t k = 0; k < b->len; k++)
                line += b->data[k] == '\n';
            gy_buf_printf(b, "%s", bad_text);
        } else {
            row_text(b, &r, i, eol);
        }
        gy_buf_printf(b, "%s", eol);
    }
    return line;
}

static char *write_file(const struct home *h, const char *name, const struct gy_buf *b)
{
    char *path = gy_malloc(256);
    snprintf(path, 256, "%s/%s", h->dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
    return path;
}

/* Ingests @p path; *msg gets the error text, or with @p skip > 0 the first skipped row's. */
static enum gy_status ingest(struct gy_db *db, const char *name, const char *path, size_t skip,
                             struct gy_ingest_result *res, char *msg, size_t cap)
{
    struct gy_ingest_opts o;
    char rep[4096];
    FILE *report = tmpfile();
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0 && report);
    memset(&o, 0, sizeof o);
    o.source = "data.csv";
    o.skip_bad_rows = skip;
    o.report = report;
    enum gy_status rc = gy_lake_ingest(db, name, fd, &o, res);
    snprintf(msg, cap, "%s", rc ? gy_error_msg() : "");
    rewind(report);
    rep[fread(rep, 1, sizeof rep - 1, report)] = '\0';
    fclose(report);
    close(fd);
    if (rc == GY_OK) {
        const char *k = strstr(rep, "skipped: ");
        if (k) {
            size_t n = strcspn(k + 9, "\n");
            snprintf(msg, cap, "%.*s", (int)n, k + 9);
        }
    }
    return rc;
}

static json_t *latest(struct gy_db *db, const char *name)
{
    json_t *m = NULL;
    cr_assert_eq(gy_lake_version_get(db, name, 0, &m), GY_OK, "%s", gy_error_msg());
    return m;
}

/* ------------------------------------------------------------------ tests */

/* 150,000 rows: five text blocks of 32,768 rows, three chunks of 65,536 (the last short). */
static void check_paths_agree(const char *eol, uint64_t seed)
{
    struct home par, seq;
    struct gy_buf csv;
    struct gy_ingest_result rp, rs;
    char msg[1024];
    home_open(&par);
    home_open(&seq);
    make_csv(&csv, 150000, seed, eol, SIZE_MAX, NULL);
    char *pp = write_file(&par, "a.csv", &csv), *ps = write_file(&seq, "a.csv", &csv);
    cr_assert_eq(ingest(par.db, "t", pp, 0, &rp, msg, sizeof msg), GY_OK, "%s", msg);
    cr_assert_eq(ingest(seq.db, "t", ps, 1, &rs, msg, sizeof msg), GY_OK, "%s", msg);
    cr_assert_eq(rs.skipped, 0, "%s", msg);
    cr_assert_eq(rp.rows, 150000);
    cr_assert_eq(rs.rows, 150000);
    cr_assert_eq(rp.bytes_in, csv.len);
    cr_assert_eq(rs.bytes_in, csv.len);
    json_t *a = latest(par.db, "t"), *b = latest(seq.db, "t");
    const char *keys[] = {"rows", "schema", "chunks", "profile"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert(json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])),
                  "\"%s\" differs between the parallel and the sequential path", keys[i]);
    cr_assert_eq(json_array_size(json_object_get(a, "chunks")), 3);
    uint64_t rows = 0;
    cr_assert_eq(gy_lake_version_verify(par.db, "t", 0, &rows), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(rows, 150000);
    /* An append takes the same path and lands after the first version. */
    cr_assert_eq(ingest(par.db, "t", pp, 0, &rp, msg, sizeof msg), GY_OK, "%s", msg);
    cr_assert_eq(rp.version, 2);
    cr_assert_eq(rp.total_rows, 300000);
    json_decref(a);
    json_decref(b);
    gy_free(pp);
    gy_free(ps);
    gy_buf_free(&csv);
    home_close(&par);
    home_close(&seq);
}

Test(ingest, parallel_path_equals_sequential_lf)
{
    check_paths_agree("\n", 1);
}

Test(ingest, parallel_path_equals_sequential_crlf)
{
    check_paths_agree("\r\n", 2);
}

Test(ingest, values_read_back)
{
    struct home h;
    struct gy_buf csv;
    struct gy_ingest_result r;
    char msg[1024];
    home_open(&h);
    gy_buf_init(&csv, 1 << 30);
    gy_buf_printf(&csv, "x,n,s,b\n");
    for (size_t i = 0; i < 70000; i++)
        gy_buf_printf(&csv, "%.6f,%zu,\"a\nb%zu\",%s\n", (double)i / 8 - 100, i, i % 5,
                      i % 2 ? "true" : "false");
    char *p = write_file(&h, "v.csv", &csv);
    cr_assert_eq(ingest(h.db, "v", p, 0, &r, msg, sizeof msg), GY_OK, "%s", msg);
    struct gy_lake_scan *s = NULL;
    cr_assert_eq(gy_lake_scan_open(h.db, "v", 0, NULL, 0, &s), GY_OK, "%s", gy_error_msg());
    size_t row = 0;
    for (;;) {
        const struct gy_colvec *cols;
        size_t n;
        cr_assert_eq(gy_lake_scan_next(s, &cols, &n), GY_OK, "%s", gy_error_msg());
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++, row++) {
            char want[32];
            cr_assert_eq(cols[0].f64[i], (double)row / 8 - 100, "row %zu", row);
            cr_assert_eq(cols[1].i64[i], (int64_t)row);
            snprintf(want, sizeof want, "a\nb%zu", row % 5);
            cr_assert_eq(cols[2].off[i + 1] - cols[2].off[i], strlen(want));
            cr_assert(memcmp(cols[2].data + cols[2].off[i], want, strlen(want)) == 0);
            cr_assert_eq(cols[3].b[i], row % 2);
        }
    }
    cr_assert_eq(row, 70000);
    gy_lake_scan_free(s);
    gy_free(p);
    gy_buf_free(&csv);
    home_close(&h);
}

/* The bad rows of check_first_error, each with what makes it bad. */
static const char *const bad_rows[] = {
    "abc,1,w,true",                    /* not a float */
    "1.5,2.5,w,true",                  /* not an integer */
    "1.5,2,w,maybe",                   /* not a bool */
    "1.5,2,w",                         /* too few fields */
    "1.5,2,w,true,extra",              /* too many fields */
    "1.5,2,w\"x,true",                 /* a quote inside an unquoted field */
    "1.5,2,\"w\"x,true",               /* a character after a closing quote */
    "1.5,2,w\xff,true",                /* invalid UTF-8 */
    "1.5,2,w\r,true",                  /* a carriage return without a line feed */
    "",                                /* an empty line followed by more rows */
    "1e400,2,w,true",                  /* a float that overflows */
    "1.5,99999999999999999999,w,true", /* an integer that overflows */
};

/* Rows where text blocks (32,768 rows) and chunks (65,536) begin and end, the first and
 * (nearly) the last of the ERR_ROWS. */
#define ERR_ROWS 100000
static const size_t bad_at[] = {0, 32767, 32768, 65535, 65536, ERR_ROWS - 2};

static void check_first_error(size_t which, size_t at) /* at: a row, not the last */
{
    struct home par, seq;
    struct gy_buf csv;
    struct gy_ingest_result rp, rs;
    char mp[1024], ms[1024];
    home_open(&par);
    home_open(&seq);
    dataset_with_schema(par.db, "t");
    dataset_with_schema(seq.db, "t");
    size_t line = make_csv(&csv, ERR_ROWS, 7 + at, "\n", at, bad_rows[which]);
    char *pp = write_file(&par, "e.csv", &csv), *ps = write_file(&seq, "e.csv", &csv);
    enum gy_status rc = ingest(par.db, "t", pp, 0, &rp, mp, sizeof mp);
    cr_assert_eq(rc, GY_E_INVALID, "bad row %zu at %zu: %d %s", which, at, rc, mp);
    cr_assert_eq(ingest(seq.db, "t", ps, 1, &rs, ms, sizeof ms), GY_OK, "%s", ms);
    cr_assert_eq(rs.skipped, 1, "bad row %zu at %zu: the sequential path skipped %llu", which, at,
                 (unsigned long long)rs.skipped);
    cr_assert_str_eq(mp, ms, "bad row %zu at %zu", which, at);
    char where[32];
    snprintf(where, sizeof where, "data.csv:%zu:", line);
    cr_assert(strncmp(mp, where, strlen(where)) == 0, "bad row %zu at %zu: %s", which, at, mp);
    json_t *m = NULL;
    cr_assert_eq(gy_lake_version_get(par.db, "t", 0, &m), GY_NOT_FOUND, "nothing committed");
    gy_free(pp);
    gy_free(ps);
    gy_buf_free(&csv);
    home_close(&par);
    home_close(&seq);
}

Test(ingest, first_error_matches_sequential_read)
{
    /* every kind at a block start and near the end; two kinds everywhere */
    for (size_t w = 0; w < sizeof bad_rows / sizeof bad_rows[0]; w++)
        for (size_t a = 0; a < sizeof bad_at / sizeof bad_at[0]; a++)
            if (w < 2 || bad_at[a] == 32768 || bad_at[a] == ERR_ROWS - 2)
                check_first_error(w, bad_at[a]);
}

Test(ingest, trailing_blank_lines_and_unterminated_quote)
{
    struct home h;
    struct gy_buf csv;
    struct gy_ingest_result r;
    char msg[1024];
    home_open(&h);
    make_csv(&csv, 70000, 3, "\n", SIZE_MAX, NULL);
    gy_buf_printf(&csv, "\n\r\n\n");
    char *p = write_file(&h, "t.csv", &csv);
    cr_assert_eq(ingest(h.db, "t", p, 0, &r, msg, sizeof msg), GY_OK, "%s", msg);
    cr_assert_eq(r.rows, 70000);
    gy_free(p);
    /* An unterminated quote in the last row runs to the end of the input. */
    csv.len -= 4;
    size_t line = 1;
    for (size_t k = 0; k < csv.len; k++)
        line += csv.data[k] == '\n';
    gy_buf_printf(&csv, "1,2,\"open,true\n");
    p = write_file(&h, "u.csv", &csv);
    cr_assert_eq(ingest(h.db, "t", p, 0, &r, msg, sizeof msg), GY_E_INVALID);
    char want[64];
    snprintf(want, sizeof want, "data.csv:%zu:5: unterminated quoted field", line);
    cr_assert_str_eq(msg, want);
    gy_free(p);
    gy_buf_free(&csv);
    home_close(&h);
}
