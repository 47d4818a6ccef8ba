/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jsonl.c - libFuzzer target for the JSON Lines reader (src/lake/reader.c) and the field
 * parsers (src/lake/parse.c). Each input is written to a memfd and read to the end with the
 * columns taken from the first object and with a fixed column list, each with a small and a
 * large max_line, going on after every bad record as --skip-bad-rows does. Every field is fed
 * through every parser.
 *
 * Besides the sanitizers, the target aborts when the reader breaks a promise: a record
 * with the wrong field count, a field that is not valid UTF-8, a BOOL field that is not
 * "true"/"false", an error text without the "source:" prefix, no progress, not ending
 * exactly at the end of the input; or when gy__parse_f64 rejects a JSON number or disagrees
 * with strtod on it.
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

/* A JSON number literal (kind TEXT) always parses as float64, exactly as strtod reads it. */
static void check_number(const char *p, size_t len)
{
    char s[512], *end;
    double got, want;
    if (len >= sizeof(s))
        return;
    memcpy(s, p, len);
    s[len] = '\0';
    want = strtod(s, &end);
    if (end != s + len)
        abort();
    if (gy__parse_f64(p, len, &got) != GY_OK) {
        if (!isinf(want)) /* only overflow is rejected */
            abort();
        return;
    }
    if (memcmp(&got, &want, sizeof(got)) != 0)
        abort();
}

static void feed_field(const struct gy_field *f)
{
    static const enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64, GY_TYPE_BOOL,
                                         GY_TYPE_STRING, GY_TYPE_TIMESTAMP};
    double d;
    int64_t i;
    uint8_t b;

    switch (f->kind) {
    case GY_FIELD_NULL:
        if (f->len != 0)
            abort();
        break;
    case GY_FIELD_BOOL:
        if (!(f->len == 4 && memcmp(f->p, "true", 4) == 0) &&
            !(f->len == 5 && memcmp(f->p, "false", 5) == 0))
            abort();
        break;
    case GY_FIELD_TEXT:
        check_number(f->p, f->len);
        break;
    case GY_FIELD_QUOTED:
        if (!gy__utf8_valid(f->p, f->len))
            abort();
        break;
    default:
        abort();
    }
    for (size_t k = 0; k < GY_ARRAY_LEN(types); k++)
        (void)gy__is_null_token(f->p, f->len, types[k]);
    (void)gy__parse_f64(f->p, f->len, &d);
    (void)gy__parse_i64(f->p, f->len, &i);
    (void)gy__parse_bool(f->p, f->len, &b);
    (void)gy__parse_timestamp(f->p, f->len, &i);
}

static void read_all(size_t size, size_t max_line, const char *const *cols, size_t ncols_in)
{
    struct gy_ingest_opts o;
    struct gy_reader *r = NULL;
    const char *const *names;
    size_t ncols, results = 0;
    enum gy_status st;

    if (lseek(input_fd, 0, SEEK_SET) != 0)
        abort();
    memset(&o, 0, sizeof(o));
    o.format = GY_FORMAT_JSONL;
    o.source = "fuzz";
    o.max_line = max_line;
    st = gy__reader_create(input_fd, &o, cols, ncols_in, &r);
    if (st != GY_OK) {
        if (cols != NULL || st != GY_E_INVALID || r != NULL ||
            strncmp(gy_error_msg(), "fuzz:", 5) != 0)
            abort();
        return;
    }
    gy__reader_columns(r, &names, &ncols);
    if (ncols == 0 || (cols != NULL && ncols != ncols_in))
        abort();
    for (size_t c = 0; c < ncols; c++)
        if (!gy__utf8_valid(names[c], strlen(names[c])))
            abort();
    for (;;) {
        const struct gy_record *rec;
        st = gy__reader_next(r, &rec);
        if (st == GY_NOT_FOUND)
            break;
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
    static const char *const cols[] = {"a", "b", "c"};
    if (input_fd < 0) {
        input_fd = memfd_create("fuzz_jsonl", 0);
        if (input_fd < 0)
            abort();
    }
    if (ftruncate(input_fd, 0) != 0 || pwrite(input_fd, data, size, 0) != (ssize_t)size)
        abort();
    read_all(size, 32, NULL, 0);
    read_all(size, 4000, NULL, 0);
    read_all(size, 32, cols, 3);
    read_all(size, 4000, cols, 3);
    return 0;
}
