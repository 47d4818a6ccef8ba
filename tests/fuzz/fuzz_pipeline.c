/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pipeline.c - libFuzzer target for the pipeline spec reader (src/pipeline/spec.c) and
 * cron parser (src/pipeline/cron.c). Each input is parsed as a YAML spec; when it parses,
 * its canonical JSON form is built, dumped to text, loaded back, read with
 * gy_pipeline_spec_from_json and turned into canonical JSON again, which must be the same
 * text. The input is also read as a cron expression (first line only), and a parsed one
 * must give a next time strictly after its start, on a minute boundary, or -1.
 *
 * Besides the sanitizers, the target aborts when a rejected input gets a status other than
 * GY_E_INVALID, GY_E_TOO_LARGE or GY_E_NOMEM, has no error text, or a YAML error does not
 * start with "line "; when an accepted spec fails to convert or does not round-trip.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rc(enum gy_status rc, int yaml)
{
    if (rc == GY_OK || rc == GY_E_NOMEM)
        return;
    if (rc != GY_E_INVALID && rc != GY_E_TOO_LARGE)
        abort();
    if (!*gy_error_msg())
        abort();
    if (yaml && rc == GY_E_INVALID && strncmp(gy_error_msg(), "line ", 5) != 0)
        abort();
}

static char *canon(const struct gy_pipeline_spec *s)
{
    json_t *j = NULL;
    char *text;
    if (gy_pipeline_spec_to_json(s, &j) != GY_OK)
        abort();
    text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(j);
    if (!text)
        abort();
    return text;
}

static void round_trip(const struct gy_pipeline_spec *s)
{
    struct gy_pipeline_spec *s2 = NULL;
    char *c1 = canon(s), *c2;
    json_error_t jerr;
    json_t *back = json_loads(c1, 0, &jerr);
    enum gy_status rc;
    if (!back)
        abort();
    rc = gy_pipeline_spec_from_json(back, &s2);
    if (rc != GY_OK)
        abort();
    c2 = canon(s2);
    if (strcmp(c1, c2) != 0)
        abort();
    gy_free(c1);
    gy_free(c2);
    json_decref(back);
    gy_pipeline_spec_free(s2);
}

static void cron(const uint8_t *data, size_t size)
{
    char expr[128];
    size_t n = 0;
    struct gy_cron c;
    enum gy_status rc;
    while (n < size && n < sizeof expr - 1 && data[n] != '\n' && data[n] != '\0') {
        expr[n] = (char)data[n];
        n++;
    }
    expr[n] = '\0';
    rc = gy_cron_parse(expr, &c);
    check_rc(rc, 0);
    if (rc == GY_OK) {
        int64_t start = 1780000000LL * 1000000 + (int64_t)size * 7777777;
        int64_t next = gy_cron_next(&c, start);
        if (next != -1 && (next <= start || next % (60LL * 1000000) != 0 ||
                           next > start + 5LL * 367 * 86400 * 1000000))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_pipeline_spec *s = NULL;
    char *copy;
    enum gy_status rc;

    /* The parser needs no NUL, so give it an exact-size copy: ASan catches any overread. */
    copy = gy_malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    rc = gy_pipeline_spec_parse_yaml(copy, size, &s);
    check_rc(rc, 1);
    if (rc == GY_OK) {
        if (!s || !s->name || !s->data.dataset || !s->train.target || !s->register_.model)
            abort();
        round_trip(s);
    } else if (s) {
        abort();
    }
    gy_pipeline_spec_free(s);
    gy_free(copy);
    cron(data, size);
    return 0;
}
