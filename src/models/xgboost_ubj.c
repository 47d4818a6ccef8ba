/* SPDX-License-Identifier: MIT */
/*
 * xgboost_ubj.c - the XGBoost 1.7 UBJSON model reader (`save_model("m.ubj")`,
 * XGBoosterSaveModelToBuffer with {"format": "ubj"}). UBJSON (ubjson.org, draft 12, as
 * XGBoost writes it): big-endian numbers with one-byte markers (i U I l L integers, d D
 * floats, S strings, T F Z, C char, N no-op), objects '{' key value ... '}' whose keys are a
 * length and bytes, arrays '[' ... ']', and the optimized containers '[#' count (no ']') and
 * '[$' type '#' count followed by raw big-endian elements, which XGBoost uses for every
 * per-node array. The reader turns the document into the same jansson tree the JSON text
 * would give and hands it to the shared walker in xgboost_json.c, so both formats follow
 * exactly the same rules.
 *
 * Input is hostile until checked: every count is compared with the bytes left before
 * anything is allocated (a typed element has its size; any other element takes at least one
 * byte), nesting is limited, strings and keys must be UTF-8, and every error names the byte
 * offset of the value at fault.
 */
#include "models/xgboost_int.h"

#include <math.h>
#include <string.h>

struct ubj {
    const uint8_t *p;
    size_t len, pos;
    int depth;
    int skip_stats;
};

static enum gy_status fail(const struct ubj *u, size_t at, const char *what)
{
    (void)u;
    return gy_error_set(GY_E_INVALID, "XGBoost UBJSON model: byte %zu: %s", at, what);
}

static int have(const struct ubj *u, size_t n)
{
    return u->len - u->pos >= n;
}

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Payload size of a numeric marker, 0 for anything else. */
static size_t num_size(uint8_t m)
{
    switch (m) {
    case 'i':
    case 'U':
        return 1;
    case 'I':
        return 2;
    case 'l':
    case 'd':
        return 4;
    case 'L':
    case 'D':
        return 8;
    default:
        return 0;
    }
}

/* Decodes a numeric payload at @p q: integer into *iv (is_int 1) or float into *dv. */
static void num_decode(uint8_t m, const uint8_t *q, int64_t *iv, double *dv, int *is_int)
{
    *is_int = 1;
    switch (m) {
    case 'i':
        *iv = (int8_t)q[0];
        break;
    case 'U':
        *iv = q[0];
        break;
    case 'I':
        *iv = (int16_t)(uint16_t)be(q, 2);
        break;
    case 'l':
        *iv = (int32_t)(uint32_t)be(q, 4);
        break;
    case 'L':
        *iv = (int64_t)be(q, 8);
        break;
    case 'd': {
        uint32_t b = (uint32_t)be(q, 4);
        float f;
        memcpy(&f, &b, 4);
        *dv = f;
        *is_int = 0;
        break;
    }
    default: { /* 'D' */
        uint64_t b = be(q, 8);
        memcpy(dv, &b, 8);
        *is_int = 0;
        break;
    }
    }
}

/* A JSON value for a decoded number; non-finite floats become null. NULL on OOM. */
static json_t *num_json(int64_t iv, double dv, int is_int)
{
    if (is_int)
        return json_integer((json_int_t)iv);
    return isfinite(dv) ? json_real(dv) : json_null();
}

/* Reads a count or length: an integer value (any integer marker), >= 0. */
static enum gy_status read_count(struct ubj *u, uint64_t *out)
{
    size_t at = u->pos, n;
    uint8_t m;
    int64_t iv = 0;
    double dv;
    int is_int;
    if (!have(u, 1))
        return fail(u, at, "input ends where a length was expected");
    m = u->p[u->pos];
    n = num_size(m);
    if (n == 0 || m == 'd' || m == 'D')
        return fail(u, at, "a length must be an integer (marker i, U, I, l or L)");
    if (!have(u, 1 + n))
        return fail(u, at, "input ends inside a length");
    num_decode(m, u->p + u->pos + 1, &iv, &dv, &is_int);
    if (iv < 0)
        return fail(u, at, "negative length");
    u->pos += 1 + n;
    *out = (uint64_t)iv;
    return GY_OK;
}

static enum gy_status value(struct ubj *u, json_t **out);

/* Reads a key or string body (length then bytes) into *s / *n (borrowed from the input). */
static enum gy_status read_str(struct ubj *u, const char **s, size_t *n)
{
    size_t at = u->pos;
    uint64_t len;
    enum gy_status rc = read_count(u, &len);
    if (rc)
        return rc;
    if (len > u->len - u->pos)
        return fail(u, at, "string length runs past the end of the input");
    *s = (const char *)u->p + u->pos;
    *n = (size_t)len;
    u->pos += (size_t)len;
    return GY_OK;
}

/* Keys whose values inference never reads (the per-node training statistics). */
static int is_stat_key(const char *k, size_t n)
{
    static const char *const keys[] = {"loss_changes", "sum_hessian", "base_weights", "parents"};
    for (size_t i = 0; i < GY_ARRAY_LEN(keys); i++)
        if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0)
            return 1;
    return 0;
}

/*
 * Reads the optional "$type" and "#count" of an optimized container just after its opening
 * marker. *type 0 when untyped; *counted 0 when there is no count (then the container ends
 * with its closing marker).
 */
static enum gy_status container_head(struct ubj *u, uint8_t *type, int *counted, uint64_t *count)
{
    *type = 0;
    *counted = 0;
    *count = 0;
    if (have(u, 1) && u->p[u->pos] == '$') {
        size_t at = u->pos;
        if (!have(u, 2))
            return fail(u, at, "input ends inside a container type");
        *type = u->p[u->pos + 1];
        if (num_size(*type) == 0)
            return fail(u, at + 1,
                        "only numeric element types (i, U, I, l, L, d, D) are supported in a "
                        "typed container");
        u->pos += 2;
        if (!have(u, 1) || u->p[u->pos] != '#')
            return fail(u, u->pos, "a typed container needs a count ('#')");
    }
    if (have(u, 1) && u->p[u->pos] == '#') {
        u->pos++;
        *counted = 1;
        return read_count(u, count);
    }
    return GY_OK;
}

/* '[' already consumed at @p at. *out NULL when skipping (out == NULL). */
static enum gy_status array(struct ubj *u, size_t at, json_t **out)
{
    uint8_t type;
    int counted;
    uint64_t count;
    json_t *a = NULL;
    enum gy_status rc = container_head(u, &type, &counted, &count);
    if (rc)
        return rc;
    if (out) {
        a = json_array();
        if (!a)
            return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if (type) {
        size_t sz = num_size(type);
        if (count > (u->len - u->pos) / sz) {
            json_decref(a);
            return fail(u, at, "typed array count runs past the end of the input");
        }
        for (uint64_t i = 0; a && i < count; i++) {
            int64_t iv = 0;
            double dv = 0;
            int is_int;
            json_t *v;
            num_decode(type, u->p + u->pos + i * sz, &iv, &dv, &is_int);
            v = num_json(iv, dv, is_int);
            if (!v || json_array_append_new(a, v)) {
                json_decref(a);
                return gy_error_set(GY_E_NOMEM, "out of memory");
            }
        }
        u->pos += (size_t)count * sz;
        if (out)
            *out = a;
        return GY_OK;
    }
    if (counted && count > u->len - u->pos) {
        json_decref(a);
        return fail(u, at, "array count runs past the end of the input");
    }
    for (uint64_t i = 0;; i++) {
        json_t *v = NULL;
        if (counted && i == count)
            break;
        if (!counted) {
            while (have(u, 1) && u->p[u->pos] == 'N')
                u->pos++;
            if (!have(u, 1)) {
                json_decref(a);
                return fail(u, at, "array is not closed before the end of the input");
            }
            if (u->p[u->pos] == ']') {
                u->pos++;
                break;
            }
        }
        rc = value(u, out ? &v : NULL);
        if (rc) {
            json_decref(a);
            return rc;
        }
        if (a && json_array_append_new(a, v)) {
            json_decref(a);
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
    }
    if (out)
        *out = a;
    return GY_OK;
}

/* '{' already consumed at @p at. */
static enum gy_status object(struct ubj *u, size_t at, json_t **out)
{
    uint8_t type;
    int counted;
    uint64_t count;
    json_t *o = NULL;
    enum gy_status rc = container_head(u, &type, &counted, &count);
    if (rc)
        return rc;
    if (type)
        return fail(u, at, "typed objects are not supported");
    /* Each member takes at least a length (2 bytes) and a value marker. */
    if (counted && count > (u->len - u->pos) / 3)
        return fail(u, at, "object count runs past the end of the input");
    if (out) {
        o = json_object();
        if (!o)
            return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    for (uint64_t i = 0;; i++) {
        const char *k;
        size_t kn, kat;
        json_t *v = NULL;
        if (counted && i == count)
            break;
        if (!counted) {
            while (have(u, 1) && u->p[u->pos] == 'N')
                u->pos++;
            if (!have(u, 1)) {
                json_decref(o);
                return fail(u, at, "object is not closed before the end of the input");
            }
            if (u->p[u->pos] == '}') {
                u->pos++;
                break;
            }
        }
        kat = u->pos;
        rc = read_str(u, &k, &kn);
        if (rc) {
            json_decref(o);
            return rc;
        }
        if (kn == 0 || memchr(k, '\0', kn)) {
            json_decref(o);
            return fail(u, kat, "object key is empty or holds a NUL byte");
        }
        rc = value(u, o && !(u->skip_stats && is_stat_key(k, kn)) ? &v : NULL);
        if (rc) {
            json_decref(o);
            return rc;
        }
        if (o && v && json_object_setn_new(o, k, kn, v)) {
            json_decref(o);
            return fail(u, kat, "object key is not UTF-8");
        }
    }
    if (out)
        *out = o;
    return GY_OK;
}

/*
 * Reads one value at u->pos. With @p out NULL the value is checked and skipped; otherwise
 * *out gets a new JSON value.
 */
static enum gy_status value(struct ubj *u, json_t **out)
{
    size_t at = u->pos, n;
    uint8_t m;
    json_t *v = NULL;
    enum gy_status rc = GY_OK;

    while (have(u, 1) && u->p[u->pos] == 'N')
        u->pos++;
    at = u->pos;
    if (!have(u, 1))
        return fail(u, at, "input ends where a value was expected");
    m = u->p[u->pos++];
    if ((n = num_size(m)) != 0) {
        int64_t iv = 0;
        double dv = 0;
        int is_int;
        if (!have(u, n))
            return fail(u, at, "input ends inside a number");
        num_decode(m, u->p + u->pos, &iv, &dv, &is_int);
        u->pos += n;
        if (out && !(v = num_json(iv, dv, is_int)))
            return gy_error_set(GY_E_NOMEM, "out of memory");
    } else {
        switch (m) {
        case 'T':
        case 'F':
            if (out && !(v = json_boolean(m == 'T')))
                return gy_error_set(GY_E_NOMEM, "out of memory");
            break;
        case 'Z':
            if (out && !(v = json_null()))
                return gy_error_set(GY_E_NOMEM, "out of memory");
            break;
        case 'C':
        case 'S': {
            const char *s = (const char *)u->p + u->pos;
            size_t sn = 1;
            if (m == 'C') {
                if (!have(u, 1))
                    return fail(u, at, "input ends inside a char");
                u->pos++;
            } else if ((rc = read_str(u, &s, &sn)) != GY_OK) {
                return rc;
            }
            if (out && !(v = json_stringn(s, sn)))
                return fail(u, at, "string is not UTF-8");
            break;
        }
        case '[':
        case '{':
            if (u->depth >= GY_XGB_MAX_DEPTH)
                return fail(u, at, "nested deeper than 32 levels");
            u->depth++;
            rc = m == '[' ? array(u, at, out ? &v : NULL) : object(u, at, out ? &v : NULL);
            u->depth--;
            if (rc)
                return rc;
            break;
        case 'H':
            return fail(u, at, "high-precision numbers ('H') are not supported");
        default:
            return fail(u, at, "unknown value marker");
        }
    }
    if (out)
        *out = v;
    return GY_OK;
}

enum gy_status gy__model_ubj_parse(const void *data, size_t len, int skip_stats, json_t **out)
{
    struct ubj u = {data, len, 0, 0, skip_stats};
    json_t *v = NULL;
    enum gy_status rc;

    *out = NULL;
    rc = value(&u, &v);
    if (rc)
        return rc;
    while (have(&u, 1) && u.p[u.pos] == 'N')
        u.pos++;
    if (u.pos != u.len) {
        json_decref(v);
        return fail(&u, u.pos, "trailing data after the document");
    }
    *out = v;
    return GY_OK;
}

int gy__model_xgboost_is_ubj(const void *data, size_t len)
{
    const uint8_t *p = data;
    return len >= 2 && p[0] == '{' && strchr("iUIlL$#", p[1]) != NULL && p[1] != '\0';
}

enum gy_status gy_model_trees_from_xgboost_ubj(const void *data, size_t len, struct gy_trees **out)
{
    json_t *root = NULL;
    enum gy_status rc;

    *out = NULL;
    rc = gy__model_ubj_parse(data, len, 1, &root);
    if (rc)
        return rc;
    rc = gy__model_xgboost_import(root, out);
    json_decref(root);
    return rc;
}
