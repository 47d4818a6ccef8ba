/* SPDX-License-Identifier: MIT */
/*
 * fuzz_features.c - libFuzzer target for the feature spec parsers of src/features/spec.c: the
 * JSON form (gy_features_spec_parse_json), the spec file loader with its YAML reader
 * (gy_features_spec_load_file, fed through a memfd as /proc/self/fd/N) and the --features
 * flag grammar (gy_features_spec_add_flags). The input is read by all three.
 *
 * Besides the sanitizers, the target aborts when a promise breaks: a failure without error
 * text, with a status other than GY_E_INVALID/GY_E_TOO_LARGE/GY_E_NOMEM, or that still hands
 * back a spec; an accepted spec whose gy_features_spec_to_json text does not parse back to the
 * same JSON; the file loader and the JSON parser disagreeing on a text that starts with '{';
 * flags that are refused but change the spec they were added to.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "features/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLAGS_MAX 4096

static void check_rc(enum gy_status rc, const struct gy_feature_spec *s)
{
    if (rc == GY_OK) {
        if (!s)
            abort();
        return;
    }
    if (s || !*gy_error_msg())
        abort();
    if (rc != GY_E_INVALID && rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM)
        abort();
}

static json_t *to_json(const struct gy_feature_spec *s)
{
    json_t *j = NULL;
    if (gy_features_spec_to_json(s, &j) != GY_OK || !j)
        abort();
    return j;
}

/* to_json -> text -> parse -> to_json gives the same JSON. Returns the first JSON (new). */
static json_t *round_trip(const struct gy_feature_spec *s)
{
    struct gy_feature_spec *s2 = NULL;
    struct gy_buf b;
    json_t *j = to_json(s), *j2;
    gy_buf_init(&b, 1 << 24);
    if (gy_json_dump(j, &b) != GY_OK)
        abort();
    if (gy_features_spec_parse_json(b.data, b.len, &s2) != GY_OK)
        abort();
    j2 = to_json(s2);
    if (!json_equal(j, j2))
        abort();
    json_decref(j2);
    gy_features_spec_free(s2);
    gy_buf_free(&b);
    return j;
}

/*
 * The input as a spec file. For a text that starts with '{' (JSON to the loader) the verdict
 * must match the JSON parser's and an accepted spec must be the same (@p from_text).
 */
static void try_file(const uint8_t *data, size_t size, int is_json, const json_t *from_text)
{
    struct gy_feature_spec *s = NULL;
    enum gy_status rc;
    char path[64];
    json_t *j;
    int fd = memfd_create("fuzz_features", 0);
    if (fd < 0)
        return;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    gy_error_clear();
    rc = gy_features_spec_load_file(path, &s);
    close(fd);
    check_rc(rc, s);
    if (is_json && (rc == GY_OK) != (from_text != NULL))
        abort();
    if (rc == GY_OK) {
        j = round_trip(s);
        if (from_text && !json_equal(j, from_text))
            abort();
        json_decref(j);
        gy_features_spec_free(s);
    }
}

static void try_flags(const uint8_t *data, size_t size)
{
    struct gy_feature_spec *s = NULL;
    char *flags;
    json_t *before, *after;
    enum gy_status rc;
    if (size > FLAGS_MAX || memchr(data, 0, size))
        return;
    flags = gy_malloc(size + 1);
    if (!flags)
        abort();
    memcpy(flags, data, size);
    flags[size] = '\0';
    if (gy_features_spec_create(&s) != GY_OK)
        abort();
    /* A first, valid set of rules, so that a refused string has something to leave alone. */
    if (gy_features_spec_add_flags(s, "amount:standardize,impute=median;m:onehot,top=3") != GY_OK)
        abort();
    before = to_json(s);
    gy_error_clear();
    rc = gy_features_spec_add_flags(s, flags);
    if (rc != GY_OK) {
        if (!*gy_error_msg() || (rc != GY_E_INVALID && rc != GY_E_NOMEM))
            abort();
        after = to_json(s);
        if (!json_equal(before, after))
            abort();
    } else {
        after = round_trip(s);
    }
    json_decref(before);
    json_decref(after);
    gy_features_spec_free(s);
    gy_free(flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_feature_spec *s = NULL;
    json_t *j = NULL;
    size_t i = 0;
    enum gy_status rc;

    gy_error_clear();
    rc = gy_features_spec_parse_json((const char *)data, size, &s);
    check_rc(rc, s);
    if (rc == GY_OK) {
        j = round_trip(s);
        gy_features_spec_free(s);
    }
    while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
        i++;
    try_file(data, size, i < size && data[i] == '{', j);
    json_decref(j);
    try_flags(data, size);
    return 0;
}
