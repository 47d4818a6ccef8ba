/* SPDX-License-Identifier: MIT */
/*
 * test_reader.c - unit tests for the streaming CSV and JSON Lines readers (src/lake/reader.c):
 * records, field kinds and columns, quoting, CRLF, BOM, blank lines, every error class with
 * its exact "source:line:column" message, resuming after errors, records that span buffer
 * refills and buffer growth, pipes that deliver input in small pieces, and format sniffing.
 *
 * Most tests render everything a reader returns as text with dump() and compare it whole:
 * "[a,b]" is the column list, then one line per record "LINE: f1|f2|..." where ~ is NULL,
 * bare text is TEXT, "..." is QUOTED and #x is BOOL, or "!message" for an error.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lake/lake_int.h"

static int mkfd(const char *data, size_t len)
{
    int fd = memfd_create("reader-test", 0);
    cr_assert(fd >= 0);
    cr_assert_eq(gy_fd_write_all(fd, data, len), GY_OK);
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void put_field(struct gy_buf *b, const struct gy_field *f)
{
    if (f->kind == GY_FIELD_NULL) {
        cr_assert_eq(f->len, 0);
        gy_buf_putc(b, '~');
        return;
    }
    if (f->kind == GY_FIELD_BOOL)
        gy_buf_putc(b, '#');
    if (f->kind == GY_FIELD_QUOTED)
        gy_buf_putc(b, '"');
    for (size_t i = 0; i < f->len; i++) {
        if (f->p[i] == '\n')
            gy_buf_puts(b, "\\n");
        else if (f->p[i] == '\r')
            gy_buf_puts(b, "\\r");
        else
            gy_buf_putc(b, f->p[i]);
    }
    if (f->kind == GY_FIELD_QUOTED)
        gy_buf_putc(b, '"');
}

/* Renders everything a reader returns for @p text (see the file comment). new. */
static char *dump_fd(int fd, enum gy_format fmt, size_t max_line, const char *const *cols,
                     size_t ncols)
{
    struct gy_ingest_opts o;
    struct gy_reader *r = NULL;
    struct gy_buf b;
    const char *const *names;
    size_t n;
    enum gy_status st;

    memset(&o, 0, sizeof(o));
    o.format = fmt;
    o.source = "t";
    o.max_line = max_line;
    gy_buf_init(&b, (size_t)1 << 26);
    st = gy__reader_create(fd, &o, cols, ncols, &r);
    if (st != GY_OK) {
        cr_assert_null(r);
        gy_buf_printf(&b, "!%s", gy_error_msg());
        return gy_buf_detach(&b, NULL);
    }
    cr_assert_eq(gy__reader_columns(r, &names, &n), GY_OK);
    gy_buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++)
        gy_buf_printf(&b, "%s%s", i ? "," : "", names[i]);
    gy_buf_puts(&b, "]\n");
    for (int iter = 0; iter < 10000; iter++) {
        const struct gy_record *rec;
        st = gy__reader_next(r, &rec);
        if (st == GY_NOT_FOUND) {
            /* The end is sticky. */
            cr_assert_eq(gy__reader_next(r, &rec), GY_NOT_FOUND);
            break;
        }
        if (st != GY_OK) {
            cr_assert_eq(st, GY_E_INVALID, "status %d: %s", st, gy_error_msg());
            cr_assert_null(rec);
            gy_buf_printf(&b, "!%s\n", gy_error_msg());
            continue;
        }
        cr_assert_eq(rec->nfields, n);
        gy_buf_printf(&b, "%llu: ", (unsigned long long)rec->line);
        for (size_t i = 0; i < rec->nfields; i++) {
            if (i)
                gy_buf_putc(&b, '|');
            put_field(&b, &rec->fields[i]);
        }
        gy_buf_putc(&b, '\n');
    }
    gy__reader_free(r);
    return gy_buf_detach(&b, NULL);
}

static char *dump(const char *text, enum gy_format fmt, size_t max_line)
{
    int fd = mkfd(text, strlen(text));
    char *s = dump_fd(fd, fmt, max_line, NULL, 0);
    close(fd);
    return s;
}

static void check(const char *text, enum gy_format fmt, size_t max_line, const char *want)
{
    char *got = dump(text, fmt, max_line);
    cr_assert_str_eq(got, want, "input:\n%s\ngot:\n%s\nwant:\n%s", text, got, want);
    gy_free(got);
}

static void check_csv(const char *text, const char *want)
{
    check(text, GY_FORMAT_CSV, 0, want);
}

static void check_jsonl(const char *text, const char *want)
{
    check(text, GY_FORMAT_JSONL, 0, want);
}

static void check_jsonl_cols(const char *text, const char *const *cols, size_t n, const char *want)
{
    int fd = mkfd(text, strlen(text));
    char *got = dump_fd(fd, GY_FORMAT_JSONL, 0, cols, n);
    close(fd);
    cr_assert_str_eq(got, want, "input:\n%s\ngot:\n%s\nwant:\n%s", text, got, want);
    gy_free(got);
}

/* ------------------------------------------------------------------ CSV */

Test(reader, csv_basic_records_and_kinds)
{
    check_csv("a,b,c\n1,x,\n,\"\",\"q\"\n", "[a,b,c]\n2: 1|x|~\n3: ~|\"\"|\"q\"\n");
    /* A final line without a newline. */
    check_csv("a,b\n1,2\n3,4", "[a,b]\n2: 1|2\n3: 3|4\n");
    /* A header alone. */
    check_csv("a,b\n", "[a,b]\n");
    check_csv("a,b", "[a,b]\n");
    /* Spaces are data. */
    check_csv("a,b\n 1 , x\n", "[a,b]\n2:  1 | x\n");
}

Test(reader, csv_crlf)
{
    check_csv("a,b\r\n1,2\r\n3,\"x\"\r\n", "[a,b]\n2: 1|2\n3: 3|\"x\"\n");
    check_csv("a,b\r\n1,2\r", "[a,b]\n2: 1|2\n");
    /* A lone carriage return is an error; reading goes on at the next line. */
    check_csv("a,b\n1,2\r3\n4,5\n",
              "[a,b]\n!t:2:4: carriage return not followed by a line feed\n3: 4|5\n");
}

Test(reader, csv_quoted_commas_quotes_newlines)
{
    check_csv("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"line1\nline2\",z\n\"\"\"\",\"a\r\nb\"\nlast,1\n",
              "[a,b]\n2: \"x,y\"|\"say \"hi\"\"\n3: \"line1\\nline2\"|z\n"
              "5: \"\"\"|\"a\\r\\nb\"\n7: last|1\n");
    /* Quoted fields next to empty ones, and a quoted field at the end of the input. */
    check_csv("a,b,c\n,\"\",\n\"1\",,\"2\"", "[a,b,c]\n2: ~|\"\"|~\n3: \"1\"|~|\"2\"\n");
}

Test(reader, csv_field_columns)
{
    const char *text = "id,name\n12,\"x\"\"y\"\n\"a\nbc\",d\n";
    struct gy_ingest_opts o;
    struct gy_reader *r;
    const struct gy_record *rec;
    int fd = mkfd(text, strlen(text));

    memset(&o, 0, sizeof(o));
    cr_assert_eq(gy__reader_create(fd, &o, NULL, 0, &r), GY_OK);
    cr_assert_eq(gy__reader_format(r), GY_FORMAT_CSV);
    cr_assert_eq(gy__reader_next(r, &rec), GY_OK);
    cr_assert_eq(rec->line, 2);
    cr_assert_eq(rec->fields[0].column, 1);
    cr_assert_eq(rec->fields[1].column, 4);
    cr_assert_eq(rec->fields[1].len, 3);
    cr_assert_eq(memcmp(rec->fields[1].p, "x\"y", 3), 0);
    cr_assert_eq(gy__reader_next(r, &rec), GY_OK);
    cr_assert_eq(rec->line, 3);
    /* The second field starts on the record's second line. */
    cr_assert_eq(rec->fields[1].column, 5);
    cr_assert_eq(gy__reader_bytes(r), strlen(text));
    cr_assert_eq(gy__reader_next(r, &rec), GY_NOT_FOUND);
    gy__reader_free(r);
    close(fd);
}

Test(reader, csv_bom_and_leading_blank_lines)
{
    check_csv("\xEF\xBB\xBF"
              "a,b\n1,2\n",
              "[a,b]\n2: 1|2\n");
    check_csv("\xEF\xBB\xBF"
              "a,b\n1,2,3\n",
              "[a,b]\n!t:2:5: expected 2 fields, found 3\n");
    check_csv("\n \r\na,b\n1,2\n", "[a,b]\n4: 1|2\n");
    check("\xEF\xBB\xBF\n{\"k\":1}\n", GY_FORMAT_AUTO, 0, "[k]\n2: 1\n");
}

Test(reader, csv_header_errors)
{
    check_csv("", "!t: empty input (no header row)");
    check_csv("\n\r\n  \n", "!t: empty input (no header row)");
    check_csv("a,,c\n", "!t:1:3: empty column name (column 2)");
    check_csv("a,b,a\n", "!t:1:5: duplicate column name \"a\" (column 3)");
    check_csv("a,\"b\"\"c\",\"b\"\"c\"\n", "!t:1:10: duplicate column name \"b\\\"c\" (column 3)");
    check_csv("a,b\xff\n", "!t:1:4: invalid UTF-8");
    check_csv("a,\"b\nc\"\n", "!t:1:3: column name \"b\\x0ac\" contains a control character");
    check_csv("a,\"b\n", "!t:1:3: unterminated quoted field");
}

Test(reader, csv_header_many_columns)
{
    struct gy_buf b;
    char *got;
    gy_buf_init(&b, 1 << 20);
    for (int i = 0; i < 300; i++)
        gy_buf_printf(&b, "%sc%d", i ? "," : "", i);
    gy_buf_puts(&b, "\n");
    for (int i = 0; i < 300; i++)
        gy_buf_printf(&b, "%s%d", i ? "," : "", i);
    gy_buf_puts(&b, "\n");
    got = dump(b.data, GY_FORMAT_CSV, 0);
    cr_assert(strncmp(got, "[c0,c1,c2,", 10) == 0);
    cr_assert_not_null(strstr(got, ",c299]\n2: 0|1|2|"));
    cr_assert_not_null(strstr(got, "|298|299\n"));
    gy_free(got);
    gy_buf_free(&b);

    gy_buf_init(&b, 1 << 20);
    for (int i = 0; i <= GY_LAKE_MAX_COLUMNS; i++)
        gy_buf_printf(&b, "%sc%d", i ? "," : "", i);
    got = dump(b.data, GY_FORMAT_CSV, 0);
    cr_assert_str_eq(got, "!t:1:1: more than 4096 columns");
    gy_free(got);
    gy_buf_free(&b);
}

Test(reader, csv_field_count)
{
    check_csv("a,b,c\n1,2\n1,2,3,4,5\n7,8,9\n", "[a,b,c]\n!t:2:4: expected 3 fields, found 2\n"
                                                "!t:3:7: expected 3 fields, found 5\n4: 7|8|9\n");
    /* Counted on a record that spans lines; the reader goes on after the whole record. */
    check_csv("a,b\n\"x\ny\"\n1,2\n", "[a,b]\n!t:3:3: expected 2 fields, found 1\n4: 1|2\n");
    check_csv("a\n1,2\n3\n", "[a]\n!t:2:3: expected 1 field, found 2\n3: 3\n");
}

Test(reader, csv_unterminated_quote)
{
    /* Reported where the quote opened; there is no next line to go on with. */
    check_csv("a,b\n1,2\n3,\"abc\n4,5\n6,7\n",
              "[a,b]\n2: 1|2\n!t:3:3: unterminated quoted field\n");
    check_csv("a,b\n1,\"", "[a,b]\n!t:2:3: unterminated quoted field\n");
}

Test(reader, csv_quote_errors)
{
    check_csv("a,b\n1,x\"y\n2,3\n", "[a,b]\n!t:2:4: quote inside an unquoted field\n3: 2|3\n");
    check_csv("a,b\n\"x\"y,1\n\"a\" ,b\n2,3\n",
              "[a,b]\n!t:2:4: unexpected character after a closing quote\n"
              "!t:3:4: unexpected character after a closing quote\n4: 2|3\n");
}

Test(reader, csv_bad_utf8)
{
    /* Column of the first bad byte; the rest of the record is skipped. */
    check_csv("a,b\n1,ab\xc3\x28\n2,3\n", "[a,b]\n!t:2:5: invalid UTF-8\n3: 2|3\n");
    /* Inside a quoted field that goes on over more lines: the whole record is dropped. */
    check_csv("a,b\n1,\"x\xff\ny\nz\"\n2,3\n", "[a,b]\n!t:2:5: invalid UTF-8\n5: 2|3\n");
    /* Overlong, surrogate, above U+10FFFF, truncated at the end of the input. */
    check_csv("a\n\xc0\xaf\n\xed\xa0\x80\n\xf4\x90\x80\x80\nok\n\xe2\x82",
              "[a]\n!t:2:1: invalid UTF-8\n!t:3:1: invalid UTF-8\n!t:4:1: invalid UTF-8\n"
              "5: ok\n!t:6:1: invalid UTF-8\n");
    /* Valid multi-byte text. */
    check_csv("a,b\n\xc3\xa9t\xc3\xa9,\"\xf0\x9f\x98\x80\"\n",
              "[a,b]\n2: \xc3\xa9t\xc3\xa9|\"\xf0\x9f\x98\x80\"\n");
}

Test(reader, csv_blank_lines)
{
    /* Blank lines at the end are ignored (also with CRLF). */
    check_csv("a,b\n1,2\n\n\r\n\n", "[a,b]\n2: 1|2\n");
    /* In the middle they are errors, one per line, before the next record. */
    check_csv("a,b\n1,2\n\n\n3,4\n\n",
              "[a,b]\n2: 1|2\n!t:3:1: empty line\n!t:4:1: empty line\n5: 3|4\n");
    /* A single column: a blank line in the middle is a NULL field. */
    check_csv("a\n1\n\n2\n\n", "[a]\n2: 1\n3: ~\n4: 2\n");
    check_csv("a\n\"\"\n", "[a]\n2: \"\"\n");
    /* A blank line followed by a bad record: the blank line is reported first. */
    check_csv("a,b\n\n1\n", "[a,b]\n!t:2:1: empty line\n!t:3:2: expected 2 fields, found 1\n");
}

Test(reader, csv_line_too_long)
{
    /* max_line counts content bytes, not the line terminator. */
    check("a,b\n1234567,9\n12345678,9\r\n123456789,9\n1,2\n", GY_FORMAT_CSV, 10,
          "[a,b]\n2: 1234567|9\n3: 12345678|9\n!t:4:1: line longer than 10 bytes\n5: 1|2\n");
    /* Much longer than the limit: dropped up to the end of the line. */
    check("a,b\n1,2\n3,4444444444444444444444444444444444444444444\n5,6\n", GY_FORMAT_CSV, 10,
          "[a,b]\n2: 1|2\n!t:3:1: line longer than 10 bytes\n4: 5|6\n");
    /* A long quoted field with newlines: the whole record is dropped. */
    check("a,b\n1,\"x\nyyyyyyyyyyyyyyyyyyyyyyy\"\"\nzzzzzzzzzzzzzz\nw\"\n5,6\n", GY_FORMAT_CSV, 10,
          "[a,b]\n!t:2:1: line longer than 10 bytes\n6: 5|6\n");
    /* The header too. */
    check("aaaaaaaaaaaaaaaaa,b\n1,2\n", GY_FORMAT_CSV, 10, "!t:1:1: line longer than 10 bytes");
}

Test(reader, csv_skip_and_continue)
{
    check_csv("a,b,c\n"
              "1,2,3\n"
              "4,5\n"
              "6,\"7\"x,8\n"
              "9,10,11\n"
              "12,1\xff,13\n"
              "14,\"15\n16\",17\n"
              "x\"y,1,2\n"
              "18,19,20",
              "[a,b,c]\n2: 1|2|3\n"
              "!t:3:4: expected 3 fields, found 2\n"
              "!t:4:6: unexpected character after a closing quote\n"
              "5: 9|10|11\n"
              "!t:6:5: invalid UTF-8\n"
              "7: 14|\"15\\n16\"|17\n"
              "!t:9:2: quote inside an unquoted field\n"
              "10: 18|19|20\n");
}

/* Builds a CSV of @p rows rows "i,i*3,name_i" after a header. */
static void build_csv(struct gy_buf *b, long rows)
{
    gy_buf_puts(b, "id,x,name\n");
    for (long i = 0; i < rows; i++)
        gy_buf_printf(b, "%ld,%ld,\"n,%ld\"\n", i, i * 3, i);
}

/* Reads every record, checking each against build_csv's pattern; returns the row count. */
static long read_checked(int fd, size_t max_line)
{
    struct gy_ingest_opts o;
    struct gy_reader *r;
    const struct gy_record *rec;
    long i = 0;
    enum gy_status st;

    memset(&o, 0, sizeof(o));
    o.max_line = max_line;
    cr_assert_eq(gy__reader_create(fd, &o, NULL, 0, &r), GY_OK);
    while ((st = gy__reader_next(r, &rec)) == GY_OK) {
        int64_t a, x;
        char want[64];
        cr_assert_eq(rec->line, (uint64_t)i + 2);
        cr_assert_eq(gy__parse_i64(rec->fields[0].p, rec->fields[0].len, &a), GY_OK);
        cr_assert_eq(gy__parse_i64(rec->fields[1].p, rec->fields[1].len, &x), GY_OK);
        cr_assert_eq(a, i);
        cr_assert_eq(x, i * 3);
        snprintf(want, sizeof(want), "n,%ld", i);
        cr_assert_eq(rec->fields[2].kind, GY_FIELD_QUOTED);
        cr_assert_eq(rec->fields[2].len, strlen(want));
        cr_assert_eq(memcmp(rec->fields[2].p, want, strlen(want)), 0);
        i++;
    }
    cr_assert_eq(st, GY_NOT_FOUND, "%s", gy_error_msg());
    gy__reader_free(r);
    return i;
}

Test(reader, csv_large_file_spans_refills)
{
    struct gy_buf b;
    int fd;
    long rows = 400000;

    gy_buf_init(&b, (size_t)64 << 20);
    build_csv(&b, rows);
    cr_assert_gt(b.len, (size_t)9 << 20); /* more than two 4 MiB buffers */
    fd = mkfd(b.data, b.len);
    cr_assert_eq(read_checked(fd, 0), rows);
    close(fd);
    gy_buf_free(&b);
}

Test(reader, csv_small_buffer_refills)
{
    /* max_line 20 gives a buffer of a few hundred bytes: records straddle every refill. */
    struct gy_buf b;
    int fd;
    gy_buf_init(&b, 1 << 20);
    build_csv(&b, 3000);
    fd = mkfd(b.data, b.len);
    cr_assert_eq(read_checked(fd, 20), 3000);
    close(fd);
    gy_buf_free(&b);
}

Test(reader, csv_pipe_in_small_pieces)
{
    struct gy_buf b;
    int pfd[2];
    pid_t pid;
    int status;

    gy_buf_init(&b, 1 << 22);
    build_csv(&b, 20000);
    cr_assert_eq(pipe(pfd), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        for (size_t off = 0; off < b.len; off += 777) {
            size_t n = b.len - off < 777 ? b.len - off : 777;
            if (gy_fd_write_all(pfd[1], b.data + off, n) != GY_OK)
                _exit(1);
        }
        _exit(0);
    }
    close(pfd[1]);
    cr_assert_eq(read_checked(pfd[0], 64), 20000);
    close(pfd[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    gy_buf_free(&b);
}

Test(reader, csv_record_grows_buffer)
{
    /* One 5 MiB record needs the buffer to grow past its initial 4 MiB. */
    size_t big = (size_t)5 << 20, hdr = 4;
    char *text = gy_malloc(hdr + big + 8);
    struct gy_ingest_opts o;
    struct gy_reader *r;
    const struct gy_record *rec;
    int fd;

    memcpy(text, "a,b\n", hdr);
    memset(text + hdr, 'x', big);
    memcpy(text + hdr + big, ",1\n2,3\n", 7);
    fd = mkfd(text, hdr + big + 7);
    memset(&o, 0, sizeof(o));
    o.max_line = (size_t)6 << 20;
    cr_assert_eq(gy__reader_create(fd, &o, NULL, 0, &r), GY_OK);
    cr_assert_eq(gy__reader_next(r, &rec), GY_OK);
    cr_assert_eq(rec->fields[0].len, big);
    cr_assert_eq(rec->fields[0].p[big - 1], 'x');
    cr_assert_eq(gy__reader_next(r, &rec), GY_OK);
    cr_assert_eq(rec->line, 3);
    cr_assert_eq(gy__reader_next(r, &rec), GY_NOT_FOUND);
    gy__reader_free(r);
    close(fd);

    /* The same record with the default limit of 1 MiB. */
    fd = mkfd(text, hdr + big + 7);
    {
        char *got = dump_fd(fd, GY_FORMAT_CSV, 0, NULL, 0);
        cr_assert_str_eq(got, "[a,b]\n!t:2:1: line longer than 1048576 bytes\n3: 2|3\n");
        gy_free(got);
    }
    close(fd);
    gy_free(text);
}

/* ------------------------------------------------------------------ JSON Lines */

Test(reader, jsonl_basic)
{
    check_jsonl("{\"a\": 1, \"b\": \"x\", \"c\": true}\n"
                "{\"c\":false,\"a\":-2.5e3}\n"
                "\n"
                "  {\"b\": null, \"a\": 0}  \r\n"
                "{}\n"
                "{\"a\":1}",
                "[a,b,c]\n1: 1|\"x\"|#true\n2: -2.5e3|~|#false\n4: 0|~|~\n5: ~|~|~\n6: 1|~|~\n");
    check(" \n{\"k\":\"v\"}\n", GY_FORMAT_AUTO, 0, "[k]\n2: \"v\"\n");
}

Test(reader, jsonl_given_columns)
{
    const char *cols[] = {"b", "a"};
    check_jsonl_cols("{\"a\":1,\"b\":2}\n{\"a\":3}\n{\"c\":1}\n", cols, 2,
                     "[b,a]\n1: 2|1\n2: ~|3\n!t:3:2: unknown field \"c\"\n");
    /* With columns given, an empty input is just empty. */
    check_jsonl_cols("", cols, 2, "[b,a]\n");
}

Test(reader, jsonl_escapes_and_unicode)
{
    check_jsonl("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}\n"
                "{\"s\":\"\\u00e9\\u20AC\\ud83d\\ude00x\"}\n"
                "{\"s\":\"\xc3\xa9\"}\n"
                "{\"s\":\"\\u0041\"}\n",
                "[s]\n1: \"a\"b\\c/d\b\f\\n\\r\t\"\n"
                "2: \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x\"\n"
                "3: \"\xc3\xa9\"\n4: \"A\"\n");
    /* An escaped key. */
    check_jsonl("{\"\\u0061\":1}\n{\"a\":2}\n", "[a]\n1: 1\n2: 2\n");
}

Test(reader, jsonl_string_errors)
{
    check_jsonl("{\"s\":\"x\"}\n"
                "{\"s\":\"a\\qb\"}\n"
                "{\"s\":\"\\ud83d\"}\n"
                "{\"s\":\"\\ude00\"}\n"
                "{\"s\":\"\\ud83d\\u0041\"}\n"
                "{\"s\":\"\\u12G4\"}\n"
                "{\"s\":\"a\tb\"}\n"
                "{\"s\":\"a\xff\"}\n"
                "{\"s\":\"abc}\n"
                "{\"s\":\"\\u00\"}\n"
                "{\"s\":\"ok\"}\n",
                "[s]\n1: \"x\"\n"
                "!t:2:8: invalid escape sequence\n"
                "!t:3:7: unpaired surrogate in \\u escape\n"
                "!t:4:7: unpaired surrogate in \\u escape\n"
                "!t:5:7: unpaired surrogate in \\u escape\n"
                "!t:6:7: invalid \\u escape\n"
                "!t:7:8: control character in string\n"
                "!t:8:8: invalid UTF-8\n"
                "!t:9:6: unterminated string\n"
                "!t:10:7: invalid \\u escape\n"
                "11: \"ok\"\n");
}

Test(reader, jsonl_structure_errors)
{
    check_jsonl("{\"a\":1,\"b\":2}\n"
                "{\"a\":1,\"a\":2}\n"
                "{\"a\":1,\"z\":2}\n"
                "{\"a\":{\"x\":1}}\n"
                "{\"b\":[1,2]}\n"
                "{\"a\":1} x\n"
                "{\"a\":1}{\"a\":2}\n"
                "[1,2]\n"
                "{\"a\" 1}\n"
                "{\"a\":1 \"b\":2}\n"
                "{\"a\":1,}\n"
                "{a:1}\n"
                "{\"a\":}\n"
                "{\"a\":tru}\n"
                "{\"a\":nullx}\n"
                "{\"a\":1\n"
                "{\"a\":1,\"b\":2}\n",
                "[a,b]\n1: 1|2\n"
                "!t:2:8: duplicate field \"a\"\n"
                "!t:3:8: unknown field \"z\"\n"
                "!t:4:6: field \"a\": nested values are not supported\n"
                "!t:5:6: field \"b\": nested values are not supported\n"
                "!t:6:9: unexpected data after the object\n"
                "!t:7:8: unexpected data after the object\n"
                "!t:8:1: expected a JSON object\n"
                "!t:9:6: expected ':' after a field name\n"
                "!t:10:8: expected ',' or '}'\n"
                "!t:11:8: expected a field name string\n"
                "!t:12:2: expected a field name string\n"
                "!t:13:6: field \"a\": invalid value\n"
                "!t:14:6: field \"a\": invalid value\n"
                "!t:15:6: field \"a\": invalid value\n"
                "!t:16:7: expected ',' or '}'\n"
                "17: 1|2\n");
}

Test(reader, jsonl_numbers)
{
    check_jsonl("{\"n\":0}\n{\"n\":-0.5}\n{\"n\":1E+9}\n{\"n\":12e-3}\n"
                "{\"n\":01}\n{\"n\":1.}\n{\"n\":.5}\n{\"n\":-}\n{\"n\":1e}\n{\"n\":+1}\n"
                "{\"n\":1x}\n{\"n\":0x10}\n",
                "[n]\n1: 0\n2: -0.5\n3: 1E+9\n4: 12e-3\n"
                "!t:5:6: field \"n\": invalid number\n"
                "!t:6:6: field \"n\": invalid number\n"
                "!t:7:6: field \"n\": invalid value\n"
                "!t:8:6: field \"n\": invalid number\n"
                "!t:9:6: field \"n\": invalid number\n"
                "!t:10:6: field \"n\": invalid value\n"
                "!t:11:6: field \"n\": invalid number\n"
                "!t:12:6: field \"n\": invalid number\n");
}

Test(reader, jsonl_first_object_errors)
{
    check_jsonl("", "!t: empty input (no object to take the column names from)");
    check_jsonl("{}\n", "!t:1:1: the first object has no fields to take as columns");
    check_jsonl("{\"a\":1,\"a\":2}\n", "!t:1:8: duplicate field \"a\"");
    check_jsonl("{\"a\":[1]}\n", "!t:1:6: field \"a\": nested values are not supported");
    check_jsonl("{\"\":1}\n", "!t:1:2: empty column name (column 1)");
    check_jsonl("{\"a\\nb\":1}\n", "!t:1:2: column name \"a\\x0ab\" contains a control character");
    check_jsonl("x\n", "!t:1:1: expected a JSON object");
}

Test(reader, jsonl_line_too_long)
{
    check("{\"a\":\"1234\"}\n{\"a\":\"12345\"}\n{\"a\":\"123456789012345678901234567890\"}\n"
          "{\"a\":\"z\"}\r\n",
          GY_FORMAT_JSONL, 12,
          "[a]\n1: \"1234\"\n!t:2:1: line longer than 12 bytes\n"
          "!t:3:1: line longer than 12 bytes\n4: \"z\"\n");
}

Test(reader, jsonl_long_escaped_strings_span_refills)
{
    struct gy_buf b;
    struct gy_ingest_opts o;
    struct gy_reader *r;
    const struct gy_record *rec;
    long i = 0;
    int fd;
    enum gy_status st;

    gy_buf_init(&b, (size_t)16 << 20);
    for (long k = 0; k < 3000; k++)
        gy_buf_printf(&b, "{\"id\":%ld,\"s\":\"q\\\"%ld\\u00e9\",\"f\":%s}\n", k, k,
                      k % 2 ? "true" : "null");
    fd = mkfd(b.data, b.len);
    memset(&o, 0, sizeof(o));
    o.max_line = 60;
    cr_assert_eq(gy__reader_create(fd, &o, NULL, 0, &r), GY_OK);
    cr_assert_eq(gy__reader_format(r), GY_FORMAT_JSONL);
    while ((st = gy__reader_next(r, &rec)) == GY_OK) {
        char want[64];
        int64_t id;
        int n = snprintf(want, sizeof(want), "q\"%ld\xc3\xa9", i);
        cr_assert_eq(gy__parse_i64(rec->fields[0].p, rec->fields[0].len, &id), GY_OK);
        cr_assert_eq(id, i);
        cr_assert_eq(rec->fields[1].len, (size_t)n);
        cr_assert_eq(memcmp(rec->fields[1].p, want, (size_t)n), 0);
        cr_assert_eq(rec->fields[2].kind, i % 2 ? GY_FIELD_BOOL : GY_FIELD_NULL);
        i++;
    }
    cr_assert_eq(st, GY_NOT_FOUND, "%s", gy_error_msg());
    cr_assert_eq(i, 3000);
    cr_assert_eq(gy__reader_bytes(r), b.len);
    gy__reader_free(r);
    close(fd);
    gy_buf_free(&b);
}

Test(reader, format_sniffing)
{
    check("\xEF\xBB\xBF  \n\t{\"a\":1}\n", GY_FORMAT_AUTO, 0, "[a]\n2: 1\n");
    check("a\n{x,y}\n", GY_FORMAT_AUTO, 0, "[a]\n!t:2:4: expected 1 field, found 2\n");
    /* Forced CSV on JSON text. */
    check("{\"a\":1}\n", GY_FORMAT_CSV, 0, "!t:1:2: quote inside an unquoted field");
}

Test(reader, no_leaks)
{
    int64_t before = gy_alloc_bytes();
    char *s = dump("a,b\n\"x\"\"y\",2\n3\n", GY_FORMAT_CSV, 0);
    gy_free(s);
    s = dump("{\"a\":\"\\n\"}\n{\"b\":1}\n", GY_FORMAT_JSONL, 0);
    gy_free(s);
    s = dump("a,a\n", GY_FORMAT_CSV, 0);
    gy_free(s);
    cr_assert_eq(gy_alloc_bytes(), before);
}

/* ------------------------------------------------------------------ properties */

static uint64_t prop_state = 0x9E3779B97F4A7C15ULL;

static unsigned prop_rnd(unsigned n)
{
    uint64_t z = (prop_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (unsigned)((z ^ (z >> 31)) % n);
}

static const char *const pieces[] = {
    "a", "1.5", ",", "\"", "\n", "\r\n", "\xc3\xa9", " ", "x y", "\xf0\x9f\x98\x80", "\\", "\t",
};

/* Random field text from the pieces above (may be empty). */
static void rand_text(struct gy_buf *t)
{
    unsigned n = prop_rnd(5);
    gy_buf_reset(t);
    gy_buf_puts(t, "");
    for (unsigned i = 0; i < n; i++)
        gy_buf_puts(t, pieces[prop_rnd(GY_ARRAY_LEN(pieces))]);
}

/* Renders a synthetic field the way dump() does. */
static void want_field(struct gy_buf *w, enum gy_field_kind kind, const char *p, size_t len)
{
    struct gy_field f;
    f.p = p;
    f.len = len;
    f.kind = kind;
    f.column = 1;
    put_field(w, &f);
}

Test(reader, csv_random_tables_read_back)
{
    struct gy_buf in, want, t;
    gy_buf_init(&in, 1 << 20);
    gy_buf_init(&want, 1 << 20);
    gy_buf_init(&t, 1 << 10);
    for (int it = 0; it < 400; it++) {
        unsigned ncols = 1 + prop_rnd(4), nrows = prop_rnd(30);
        uint64_t line = 2;
        size_t longest = 0;
        int fd;
        char *got;

        gy_buf_reset(&in);
        gy_buf_reset(&want);
        gy_buf_puts(&want, "[");
        for (unsigned c = 0; c < ncols; c++) {
            gy_buf_printf(&in, "%sc%u", c ? "," : "", c);
            gy_buf_printf(&want, "%sc%u", c ? "," : "", c);
        }
        gy_buf_puts(&in, prop_rnd(2) ? "\r\n" : "\n");
        gy_buf_puts(&want, "]\n");
        for (unsigned r = 0; r < nrows; r++) {
            size_t row_start = in.len;
            uint64_t lfs = 0;
            gy_buf_printf(&want, "%llu: ", (unsigned long long)line);
            for (unsigned c = 0; c < ncols; c++) {
                int must, quote;
                rand_text(&t);
                must = strpbrk(t.data, ",\"\n\r") != NULL || (ncols == 1 && t.len == 0);
                quote = must || prop_rnd(3) == 0;
                if (c)
                    gy_buf_putc(&in, ',');
                if (quote) {
                    gy_buf_putc(&in, '"');
                    for (size_t i = 0; i < t.len; i++) {
                        if (t.data[i] == '"')
                            gy_buf_putc(&in, '"');
                        if (t.data[i] == '\n')
                            lfs++;
                        gy_buf_putc(&in, t.data[i]);
                    }
                    gy_buf_putc(&in, '"');
                } else {
                    gy_buf_append(&in, t.data, t.len);
                }
                if (c)
                    gy_buf_putc(&want, '|');
                want_field(&want,
                           quote   ? GY_FIELD_QUOTED
                           : t.len ? GY_FIELD_TEXT
                                   : GY_FIELD_NULL,
                           t.data, t.len);
            }
            gy_buf_putc(&want, '\n');
            if (in.len - row_start > longest)
                longest = in.len - row_start;
            if (r + 1 < nrows || prop_rnd(2))
                gy_buf_puts(&in, prop_rnd(2) ? "\r\n" : "\n");
            line += lfs + 1;
        }
        fd = mkfd(in.data, in.len);
        got = dump_fd(fd, GY_FORMAT_CSV, prop_rnd(2) ? longest + prop_rnd(8) + 10 : 0, NULL, 0);
        close(fd);
        cr_assert_str_eq(got, want.data, "iteration %d input:\n%s\ngot:\n%s\nwant:\n%s", it,
                         in.data, got, want.data);
        gy_free(got);
    }
    gy_buf_free(&in);
    gy_buf_free(&want);
    gy_buf_free(&t);
}

/* Writes s as a JSON string with random escaping choices. */
static void json_quote(struct gy_buf *b, const char *s, size_t len)
{
    gy_buf_putc(b, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* A whole UTF-8 sequence: raw, or as \u escapes (a surrogate pair past U+FFFF). */
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            unsigned long cp = c & (n == 4 ? 0x07 : n == 3 ? 0x0F : 0x1F);
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3F);
            if (prop_rnd(2)) {
                gy_buf_append(b, s + i, n);
            } else if (cp >= 0x10000) {
                cp -= 0x10000;
                gy_buf_printf(b, "\\u%04lX\\u%04lx", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                gy_buf_printf(b, "\\u%04lx", cp);
            }
            i += n;
            continue;
        }
        if (c == '"' || c == '\\')
            gy_buf_printf(b, prop_rnd(2) ? "\\%c" : "\\u%04x", c);
        else if (c == '\n')
            gy_buf_puts(b, prop_rnd(2) ? "\\n" : "\\u000a");
        else if (c == '\r')
            gy_buf_puts(b, "\\r");
        else if (c == '\t')
            gy_buf_puts(b, prop_rnd(2) ? "\\t" : "\\u0009");
        else if (c == '/' || prop_rnd(10) == 0)
            gy_buf_printf(b, "\\u%04x", c);
        else
            gy_buf_putc(b, (char)c);
        i++;
    }
    gy_buf_putc(b, '"');
}

static void json_ws(struct gy_buf *b)
{
    static const char *const ws[] = {"", "", " ", "\t", "  "};
    gy_buf_puts(b, ws[prop_rnd(GY_ARRAY_LEN(ws))]);
}

Test(reader, jsonl_random_objects_read_back)
{
    static const char *const names[] = {"k0", "k1", "k\xc3\xa9", "k 3", "k\"4"};
    static const char *const nums[] = {"0", "-1.5e3", "12", "3.25", "-0", "1E+2"};
    struct gy_buf in, want, t;
    gy_buf_init(&in, 1 << 20);
    gy_buf_init(&want, 1 << 20);
    gy_buf_init(&t, 1 << 10);
    for (int it = 0; it < 300; it++) {
        unsigned ncols = 1 + prop_rnd(5), nrows = 1 + prop_rnd(25);
        int given = prop_rnd(2);
        uint64_t line = 1;
        size_t longest = 0;
        int fd;
        char *got;

        gy_buf_reset(&in);
        gy_buf_reset(&want);
        gy_buf_puts(&want, "[");
        for (unsigned c = 0; c < ncols; c++)
            gy_buf_printf(&want, "%s%s", c ? "," : "", names[c]);
        gy_buf_puts(&want, "]\n");
        for (unsigned r = 0; r < nrows; r++) {
            unsigned order[5];
            unsigned nkeys = 0;
            char fields[5][256];
            size_t flen[5];
            enum gy_field_kind kind[5];
            size_t row_start = in.len;

            while (prop_rnd(5) == 0) {
                gy_buf_puts(&in, prop_rnd(2) ? " \n" : "\n");
                line++;
            }
            /* The first object names every column in order unless columns are given. */
            for (unsigned c = 0; c < ncols; c++) {
                kind[c] = GY_FIELD_NULL;
                flen[c] = 0;
                if ((r == 0 && !given) || prop_rnd(4) != 0)
                    order[nkeys++] = c;
            }
            if (r > 0 || given)
                for (unsigned i = nkeys; i > 1; i--) {
                    unsigned j = prop_rnd(i), x = order[i - 1];
                    order[i - 1] = order[j];
                    order[j] = x;
                }
            json_ws(&in);
            gy_buf_putc(&in, '{');
            for (unsigned i = 0; i < nkeys; i++) {
                unsigned c = order[i];
                json_ws(&in);
                json_quote(&in, names[c], strlen(names[c]));
                json_ws(&in);
                gy_buf_putc(&in, ':');
                json_ws(&in);
                switch (prop_rnd(5)) {
                case 0:
                    gy_buf_puts(&in, "null");
                    break;
                case 1: {
                    const char *v = prop_rnd(2) ? "true" : "false";
                    gy_buf_puts(&in, v);
                    kind[c] = GY_FIELD_BOOL;
                    flen[c] = strlen(v);
                    memcpy(fields[c], v, flen[c]);
                    break;
                }
                case 2: {
                    const char *v = nums[prop_rnd(GY_ARRAY_LEN(nums))];
                    gy_buf_puts(&in, v);
                    kind[c] = GY_FIELD_TEXT;
                    flen[c] = strlen(v);
                    memcpy(fields[c], v, flen[c]);
                    break;
                }
                default:
                    rand_text(&t);
                    json_quote(&in, t.data, t.len);
                    kind[c] = GY_FIELD_QUOTED;
                    flen[c] = t.len;
                    memcpy(fields[c], t.data, t.len);
                }
                json_ws(&in);
                if (i + 1 < nkeys)
                    gy_buf_putc(&in, ',');
            }
            gy_buf_putc(&in, '}');
            json_ws(&in);
            if (in.len - row_start > longest)
                longest = in.len - row_start;
            if (r + 1 < nrows || prop_rnd(2))
                gy_buf_puts(&in, prop_rnd(2) ? "\r\n" : "\n");
            gy_buf_printf(&want, "%llu: ", (unsigned long long)line);
            for (unsigned c = 0; c < ncols; c++) {
                if (c)
                    gy_buf_putc(&want, '|');
                want_field(&want, kind[c], fields[c], flen[c]);
            }
            gy_buf_putc(&want, '\n');
            line++;
        }
        fd = mkfd(in.data, in.len);
        got = dump_fd(fd, GY_FORMAT_JSONL, prop_rnd(2) ? longest + prop_rnd(8) + 2 : 0,
                      given ? names : NULL, given ? ncols : 0);
        close(fd);
        cr_assert_str_eq(got, want.data, "iteration %d input:\n%s\ngot:\n%s\nwant:\n%s", it,
                         in.data, got, want.data);
        gy_free(got);
    }
    gy_buf_free(&in);
    gy_buf_free(&want);
    gy_buf_free(&t);
}

/* Everything read from a pipe fed in small random pieces, rendered like dump(). */
static char *dump_chunked(const char *text, size_t len, enum gy_format fmt, size_t max_line)
{
    int pfd[2], status;
    pid_t pid;
    char *got;
    uint64_t seed = prop_state;

    cr_assert_eq(pipe(pfd), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        prop_state = seed;
        for (size_t off = 0; off < len;) {
            size_t n = 1 + prop_rnd(9);
            if (n > len - off)
                n = len - off;
            if (gy_fd_write_all(pfd[1], text + off, n) != GY_OK)
                _exit(1);
            off += n;
        }
        _exit(0);
    }
    close(pfd[1]);
    got = dump_fd(pfd[0], fmt, max_line, NULL, 0);
    close(pfd[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return got;
}

Test(reader, garbage_gives_the_same_result_however_it_arrives)
{
    static const char alphabet[] = "a1,\"\n\r {}:\\\xc3\xa9\xff";
    char text[200];
    for (int it = 0; it < 150; it++) {
        size_t len = 1 + prop_rnd(sizeof(text) - 1);
        enum gy_format fmt = (enum gy_format)prop_rnd(3);
        size_t max_line = 4 + prop_rnd(40);
        int fd;
        char *a, *b;
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[prop_rnd(sizeof(alphabet) - 1)];
        if (fmt == GY_FORMAT_JSONL && prop_rnd(2))
            text[0] = '{';
        fd = mkfd(text, len);
        a = dump_fd(fd, fmt, max_line, NULL, 0);
        close(fd);
        b = dump_chunked(text, len, fmt, max_line);
        cr_assert_str_eq(a, b, "iteration %d", it);
        gy_free(a);
        gy_free(b);
    }
}

Test(reader, long_blank_prefix_is_a_record_error)
{
    /* Whitespace longer than max_line before the first record: an error of that line, which
     * can be skipped when the columns are known (found by fuzz_jsonl). */
    static const char *const cols[] = {"a"};
    char text[128];
    int fd;
    char *got;
    memset(text, '\r', sizeof(text));
    text[0] = '\n';
    memcpy(text + 100, "\n{\"a\":1}\n", 9);
    fd = mkfd(text, 109);
    got = dump_fd(fd, GY_FORMAT_JSONL, 32, cols, 1);
    cr_assert_str_eq(got, "[a]\n!t:2:1: line longer than 32 bytes\n3: 1\n");
    gy_free(got);
    close(fd);
    /* Sniffing stops there (so this is CSV) and the header is too long. */
    memset(text + 1, ' ', 99);
    fd = mkfd(text, 109);
    got = dump_fd(fd, GY_FORMAT_AUTO, 32, NULL, 0);
    cr_assert_str_eq(got, "!t:2:1: line longer than 32 bytes");
    gy_free(got);
    close(fd);
}
