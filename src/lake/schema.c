/* SPDX-License-Identifier: MIT */
/*
 * schema.c - column types and dataset schemas: names, parsing, JSON form and validation
 * (non-empty unique UTF-8 names within limits, known types).
 */
#include "lake/lake_int.h"

#include <string.h>

static const struct {
    const char *name;
    enum gy_type type;
} type_names[] = {
    {"float64", GY_TYPE_FLOAT64},    {"int64", GY_TYPE_INT64},         {"bool", GY_TYPE_BOOL},
    {"string", GY_TYPE_STRING},      {"timestamp", GY_TYPE_TIMESTAMP}, {"float", GY_TYPE_FLOAT64},
    {"double", GY_TYPE_FLOAT64},     {"int", GY_TYPE_INT64},           {"integer", GY_TYPE_INT64},
    {"boolean", GY_TYPE_BOOL},       {"str", GY_TYPE_STRING},          {"category", GY_TYPE_STRING},
    {"categorical", GY_TYPE_STRING}, {"datetime", GY_TYPE_TIMESTAMP},
};

const char *gy_type_name(enum gy_type t)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(type_names); i++)
        if (type_names[i].type == t)
            return type_names[i].name;
    return "unknown";
}

enum gy_status gy_type_parse(const char *s, enum gy_type *out)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(type_names); i++) {
        if (strcmp(s, type_names[i].name) == 0) {
            *out = type_names[i].type;
            return GY_OK;
        }
    }
    return gy_error_set(GY_E_INVALID,
                        "unknown type \"%s\" (expected float64, int64, bool, string or timestamp)",
                        s);
}

struct gy_schema *gy_schema_create(size_t ncols)
{
    struct gy_schema *s = gy_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cols = gy_calloc(ncols ? ncols : 1, sizeof *s->cols);
    if (!s->cols) {
        gy_free(s);
        return NULL;
    }
    s->ncols = ncols;
    return s;
}

void gy_schema_free(struct gy_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncols; i++)
        gy_free(s->cols[i].name);
    gy_free(s->cols);
    gy_free(s);
}

struct gy_schema *gy_schema_copy(const struct gy_schema *s)
{
    struct gy_schema *c = gy_schema_create(s->ncols);
    if (!c)
        return NULL;
    for (size_t i = 0; i < s->ncols; i++) {
        c->cols[i].type = s->cols[i].type;
        c->cols[i].name = gy_strdup(s->cols[i].name ? s->cols[i].name : "");
        if (!c->cols[i].name) {
            gy_schema_free(c);
            return NULL;
        }
    }
    return c;
}

long gy_schema_find(const struct gy_schema *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (s->cols[i].name && strcmp(s->cols[i].name, name) == 0)
            return (long)i;
    return -1;
}

json_t *gy_schema_to_json(const struct gy_schema *s)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < s->ncols; i++) {
        json_t *c =
            json_pack("{s:s, s:s}", "name", s->cols[i].name, "type", gy_type_name(s->cols[i].type));
        if (!c || json_array_append_new(a, c)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

enum gy_status gy__schema_check_name(const char *name, size_t index)
{
    size_t len = strlen(name);
    if (len == 0)
        return gy_error_set(GY_E_INVALID, "column %zu has an empty name", index + 1);
    if (len > GY_LAKE_MAX_NAME)
        return gy_error_set(GY_E_INVALID, "column %zu: name longer than %d bytes", index + 1,
                            GY_LAKE_MAX_NAME);
    if (!gy__utf8_valid(name, len))
        return gy_error_set(GY_E_INVALID, "column %zu: name is not valid UTF-8", index + 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20)
            return gy_error_set(GY_E_INVALID, "column %zu: name contains a control character",
                                index + 1);
    return GY_OK;
}

enum gy_status gy_schema_from_json(const json_t *j, struct gy_schema **out)
{
    const json_t *cols = json_is_object(j) ? json_object_get(j, "columns") : j;
    struct gy_schema *s = NULL;
    enum gy_status rc = GY_OK;
    size_t n;
    *out = NULL;
    if (!json_is_array(cols))
        return gy_error_set(GY_E_INVALID, "schema must be an array of {\"name\", \"type\"} objects "
                                          "or {\"columns\": [...]}");
    n = json_array_size(cols);
    if (n == 0)
        return gy_error_set(GY_E_INVALID, "schema has no columns");
    if (n > GY_LAKE_MAX_COLUMNS)
        return gy_error_set(GY_E_TOO_LARGE, "schema has %zu columns (limit %d)", n,
                            GY_LAKE_MAX_COLUMNS);
    s = gy_schema_create(n);
    if (!s)
        return GY_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(cols, i);
        const char *name = gy_json_str(c, "name", NULL);
        const char *type = gy_json_str(c, "type", NULL);
        if (!json_is_object(c) || !name || !type) {
            rc = gy_error_set(GY_E_INVALID,
                              "schema column %zu: expected {\"name\": string, \"type\": string}",
                              i + 1);
            goto out;
        }
        if ((rc = gy__schema_check_name(name, i)) != GY_OK)
            goto out;
        if ((rc = gy_type_parse(type, &s->cols[i].type)) != GY_OK) {
            gy_error_wrap(rc, "schema column \"%s\"", name);
            goto out;
        }
        if (gy_schema_find(s, name) >= 0) {
            rc = gy_error_set(GY_E_INVALID, "schema: duplicate column name \"%s\"", name);
            goto out;
        }
        if (!(s->cols[i].name = gy_strdup(name))) {
            rc = GY_E_NOMEM;
            goto out;
        }
    }
out:
    if (rc) {
        gy_schema_free(s);
        return rc;
    }
    *out = s;
    return GY_OK;
}

int gy_schema_equal(const struct gy_schema *a, const struct gy_schema *b)
{
    if (a->ncols != b->ncols)
        return 0;
    for (size_t i = 0; i < a->ncols; i++)
        if (a->cols[i].type != b->cols[i].type || strcmp(a->cols[i].name, b->cols[i].name))
            return 0;
    return 1;
}
