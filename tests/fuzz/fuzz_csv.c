/* SPDX-License-Identifier: MIT */
/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (src/lake/reader.c) and the field parsers
 * (src/lake/parse.c). Each input is written to a memfd and read to the end twice, with a
 * small max_line (so records straddle buffer refills and hit the length limit) and a large
 * one, going on after every bad record as --skip-bad-rows does. Every field is fed through
 * every parser.
 *
 * Besides the sanitizers, the target aborts when the reader breaks a promise: a record
 * with the wrong field count, a field that is not valid UTF-8, an error text without the
 * "source:" prefix, no progress (more results than input bytes), not ending exactly at the
 * end of the input; or when gy__parse_f64 disagrees with strtod, or a parsed timestamp does
 * not survive a format/parse round trip.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lake/lake_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int input_fd = -1;

/* gy__parse_f64 must agree with strtod (C locale) wherever both accept the text. */
static void check_f64(const char *p, size_t len)
{
    char s[512], *end;
    double got, want;
    int ours;
    size_t i;

    if (len >= sizeof(s))
        return;
    memcpy(s, p, len);
    s[len] = '\0';
    ours = gy__parse_f64(p, len, &got) == GY_OK;
    want = strtod(s, &end);
    if (ours) {
        if (end != s + len)
            abort();
        if (isinf(got) ? !isinf(want) || (got < 0) != (want < 0)
                       : memcmp(&got, &want, sizeof(got)) != 0)
            abort();
        return;
    }
    /* Rejected: strtod must also reject it, fail with overflow, or be reading an extension
     * we do not accept (hex, nan, leading space, an embedded NUL). */
    if (end != s + len || len == 0 || isinf(want) || strlen(s) != len)
        return;
    for (i = 0; i < len; i++)
        if (strchr("xXnNiI \t\n\v\f\r", s[i]) != NULL)
            return;
    abort();
}

static void check_timestamp(const char *p, size_t len)
{
    int64_t us, again;
    char s[32];
    if (gy__parse_timestamp(p, len, &us) != GY_OK)
        return;
    /* Years 0001 .. 9999 print as RFC 3339 and read back to the same instant. */
    if (us < INT64_C(-62135596800000000) || us > INT64_C(253402300799999999))
        return;
    gy_time_format(us, s);
    if (gy__parse_timestamp(s, strlen(s), &again) != GY_OK || again != us)
        abort();
}

static void feed_field(const struct gy_field *f)
{
    static const enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64, GY_TYPE_BOOL,
                                         GY_TYPE_STRING, GY_TYPE_TIMESTAMP};
    int64_t i;
    uint8_t b;

    if (f->kind == GY_FIELD_NULL && f->len != 0)
        abort();
    if (!gy__utf8_valid(f->p, f->len))
        abort();
    for (size_t k = 0; k < GY_ARRAY_LEN(types); k++)
        (void)gy__is_null_token(f->p, f->len, types[k]);
    check_f64(f->p, f->len);
    (void)gy__parse_i64(f->p, f->len, &i);
    (void)gy__parse_bool(f->p, f->len, &b);
    check_timestamp(f->p, f->len);
}

static void read_all(size_t size, enum gy_format fmt, size_t max_line)
{
    struct gy_ingest_opts o;
    struct gy_reader *r = NULL;
    const char *const *names;
    size_t ncols, results = 0;
    enum gy_status st;

    if (lseek(input_fd, 0, SEEK_SET) != 0)
        abort();
    memset(&o, 0, sizeof(o));
    o.format = fmt;
    o.source = "fuzz";
    o.max_line = max_line;
    st = gy__reader_create(input_fd, &o, NULL, 0, &r);
    if (st != GY_OK) {
        if (st != GY_E_INVALID || r != NULL || strncmp(gy_error_msg(), "fuzz:", 5) != 0)
            abort();
        return;
    }
    gy__reader_columns(r, &names, &ncols);
    if (ncols == 0 || ncols > GY_LAKE_MAX_COLUMNS)
        abort();
    for (size_t c = 0; c < ncols; c++)
        if (names[c][0] == '\0' || !gy__utf8_valid(names[c], strlen(names[c])))
            abort();
    for (;;) {
        const struct gy_record *rec;
        st = gy__reader_next(r, &rec);
        if (st == GY_NOT_FOUND)
            break;
        /* Every result consumes input: more results than bytes means no progress. */
        if (++results > size + 2)
            abort();
        if (st == GY_E_INVALID) {
            if (rec != NULL || strncmp(gy_error_msg(), "fuzz:", 5) != 0)
                abort();
            continue;
        }
        if (st != GY_OK || rec->nfields != ncols || rec->line == 0)
            abort();
        for (size_t k = 0; k < rec->nfields; k++)
            feed_field(&rec->fields[k]);
    }
    if (gy__reader_bytes(r) != size)
        abort();
    gy__reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (input_fd < 0) {
        input_fd = memfd_create("fuzz_csv", 0);
        if (input_fd < 0)
            abort();
    }
    if (ftruncate(input_fd, 0) != 0 || pwrite(input_fd, data, size, 0) != (ssize_t)size)
        abort();
    read_all(size, GY_FORMAT_CSV, 24);
    read_all(size, GY_FORMAT_CSV, 1000);
    read_all(size, GY_FORMAT_AUTO, 64);
    return 0;
}
