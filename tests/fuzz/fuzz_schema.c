/* SPDX-License-Identifier: MIT */
/*
 * fuzz_schema.c - libFuzzer target for dataset schemas read from outside
 * (gy_schema_from_json in src/lake/schema.c): the "schema" of POST /api/v1/datasets and the
 * file of `gyre dataset create --schema`, read through gy_json_parse as they are, and the
 * type names of gy_type_parse.
 *
 * Besides the sanitizers, the target aborts when a promise breaks: a refusal without error
 * text, with a status other than GY_E_INVALID/GY_E_SCHEMA/GY_E_TOO_LARGE/GY_E_NOMEM, or that
 * still hands back a schema; an accepted schema with no column or over GY_LAKE_MAX_COLUMNS, a
 * column name that is empty, over 256 bytes, not valid UTF-8 or repeated, or a type outside
 * the enum; a schema that does not come back equal through gy_schema_to_json and
 * gy_schema_from_json, or whose copy is not equal; a type name accepted by gy_type_parse whose
 * canonical name does not parse back to the same type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rc(enum gy_status rc)
{
    if (rc == GY_OK)
        return;
    if (!*gy_error_msg() ||
        (rc != GY_E_INVALID && rc != GY_E_SCHEMA && rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM))
        abort();
}

/* A strict UTF-8 check written here, independent of the lake's. */
static int utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, cp = c & 0x07;
        else
            return 0;
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static void check_schema(const struct gy_schema *s)
{
    struct gy_schema *s2 = NULL, *c;
    json_t *j;
    if (s->ncols == 0 || s->ncols > GY_LAKE_MAX_COLUMNS || !s->cols)
        abort();
    for (size_t i = 0; i < s->ncols; i++) {
        const char *nm = s->cols[i].name;
        size_t n = nm ? strlen(nm) : 0;
        if (n == 0 || n > 256 || !utf8_ok((const unsigned char *)nm, n))
            abort();
        if (s->cols[i].type < GY_TYPE_FLOAT64 || s->cols[i].type > GY_TYPE_TIMESTAMP)
            abort();
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->cols[k].name, nm) == 0)
                abort();
    }
    j = gy_schema_to_json(s);
    if (!j)
        abort();
    if (gy_schema_from_json(j, &s2) != GY_OK || !gy_schema_equal(s, s2))
        abort();
    c = gy_schema_copy(s);
    if (!c || !gy_schema_equal(s, c))
        abort();
    gy_schema_free(c);
    gy_schema_free(s2);
    json_decref(j);
}

static void try_type(const uint8_t *data, size_t size)
{
    char name[64];
    enum gy_type t, t2;
    if (size >= sizeof(name) || memchr(data, 0, size))
        return;
    memcpy(name, data, size);
    name[size] = '\0';
    gy_error_clear();
    if (gy_type_parse(name, &t) != GY_OK) {
        if (!*gy_error_msg())
            abort();
        return;
    }
    if (!gy_type_name(t) || gy_type_parse(gy_type_name(t), &t2) != GY_OK || t != t2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_schema *s = NULL;
    json_t *j = NULL;
    enum gy_status rc;

    gy_error_clear();
    rc = gy_json_parse((const char *)data, size, 8, "schema", &j);
    check_rc(rc);
    if (rc == GY_OK) {
        gy_error_clear();
        rc = gy_schema_from_json(j, &s);
        check_rc(rc);
        if (rc == GY_OK) {
            if (!s)
                abort();
            check_schema(s);
            gy_schema_free(s);
        } else if (s) {
            abort();
        }
        json_decref(j);
    }
    try_type(data, size);
    return 0;
}
