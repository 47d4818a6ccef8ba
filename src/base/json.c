/* SPDX-License-Identifier: MIT */
/*
 * json.c - JSON helpers over jansson: a parser front that enforces a nesting limit before
 * jansson sees the text (so hostile input cannot recurse deeply), reports line and column,
 * and typed getters with defaults.
 */
#include "base/base.h"

#include <math.h>
#include <string.h>

/* Returns the depth reached by brackets outside strings, stopping early past max. */
static int scan_depth(const char *s, size_t n, int max, size_t *where)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                *where = i;
                return depth;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return depth < 0 ? 0 : depth;
}

enum gy_status gy_json_parse(const char *text, size_t len, int max_depth, const char *what,
                             json_t **out)
{
    json_error_t err;
    size_t where = 0;
    json_t *j;
    *out = NULL;
    if (max_depth <= 0)
        max_depth = GY_JSON_MAX_DEPTH;
    if (scan_depth(text, len, max_depth, &where) > max_depth) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < where; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return gy_error_set(GY_E_INVALID, "%s: line %zu, column %zu: nesting deeper than %d levels",
                            what, line, col, max_depth);
    }
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!j)
        return gy_error_set(GY_E_INVALID, "%s: line %d, column %d: %s", what, err.line, err.column,
                            err.text);
    *out = j;
    return GY_OK;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return gy_buf_append(data, buffer, size) == GY_OK ? 0 : -1;
}

enum gy_status gy_json_dump(const json_t *j, struct gy_buf *b)
{
    if (json_dump_callback(j, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)))
        return gy_error_set(GY_E_TOO_LARGE, "JSON output does not fit its buffer");
    return GY_OK;
}

enum gy_status gy_json_dump_pretty(const json_t *j, struct gy_buf *b)
{
    if (json_dump_callback(j, dump_cb, b,
                           JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)))
        return gy_error_set(GY_E_TOO_LARGE, "JSON output does not fit its buffer");
    return GY_OK;
}

const char *gy_json_str(const json_t *obj, const char *key, const char *def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

int64_t gy_json_int(const json_t *obj, const char *key, int64_t def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

double gy_json_num(const json_t *obj, const char *key, double def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

enum gy_status gy_json_set(json_t *obj, const char *key, json_t *val)
{
    if (!val || json_object_set_new(obj, key, val))
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    return GY_OK;
}

json_t *gy_json_real(double v)
{
    if (!isfinite(v))
        return json_null();
    return json_real(v);
}
