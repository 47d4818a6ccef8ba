/* SPDX-License-Identifier: MIT */
/*
 * fuzz_profile.c - libFuzzer target for the profile state loader (gy__profile_load in
 * src/lake/profile.c). Each input is loaded against a fixed schema with one column of every
 * type. When the load succeeds the state must be usable: the summary is built and dumped,
 * the state is saved (which must reproduce the input byte for byte, since load keeps every
 * field as read), merged into an empty profile and with itself, and summarized again.
 *
 * Besides the sanitizers, the target aborts when a rejected input gets a status other than
 * GY_E_CORRUPT, GY_E_SCHEMA or GY_E_UNSUPPORTED or no error text, or when an accepted one
 * does not round-trip or its summary holds a null or non-finite number.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gy_column_def cols[5] = {
    {(char *)"f", GY_TYPE_FLOAT64}, {(char *)"i", GY_TYPE_INT64},     {(char *)"b", GY_TYPE_BOOL},
    {(char *)"s", GY_TYPE_STRING},  {(char *)"t", GY_TYPE_TIMESTAMP},
};
static const struct gy_schema schema = {5, cols};

/* No null anywhere (gy_json_real turns NaN and infinities into null), every real finite. */
static void check_values(const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_null(j) || (json_is_real(j) && !isfinite(json_real_value(j))))
        abort();
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, key, v)
        {
            check_values(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            check_values(v);
        }
    }
}

static void check_summary(const struct gy_profile *p)
{
    json_t *j = NULL;
    struct gy_buf b;
    if (gy__profile_summary(p, &j) != GY_OK)
        abort();
    check_values(j);
    gy_buf_init(&b, (size_t)1 << 30);
    if (gy_json_dump(j, &b) != GY_OK)
        abort();
    gy_buf_free(&b);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_profile *p = NULL, *e = NULL;
    struct gy_buf b;
    enum gy_status rc = gy__profile_load(data, size, &schema, &p);

    if (rc != GY_OK) {
        if (p || (rc != GY_E_CORRUPT && rc != GY_E_SCHEMA && rc != GY_E_UNSUPPORTED) ||
            gy_error_msg()[0] == '\0')
            abort();
        return 0;
    }
    check_summary(p);
    gy_buf_init(&b, (size_t)1 << 30);
    if (gy__profile_save(p, &b) != GY_OK || b.len != size || memcmp(b.data, data, size) != 0)
        abort();
    gy_buf_free(&b);
    if (gy__profile_create(&schema, &e) != GY_OK)
        abort();
    if (gy__profile_merge(e, p) != GY_OK || gy__profile_merge(p, p) != GY_OK ||
        gy__profile_merge(p, e) != GY_OK)
        abort();
    check_summary(p);
    check_summary(e);
    gy__profile_free(e);
    gy__profile_free(p);
    return 0;
}
