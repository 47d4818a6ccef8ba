/* SPDX-License-Identifier: MIT */
/*
 * spec.c - feature specs: the per-column rules a user gives (flag strings such as
 * "amount:standardize,impute=median;merchant:onehot,top=20", a JSON document, or the same
 * document in YAML read with libyaml), their validation, and their JSON form. Fitting them to
 * a dataset is fit.c's job.
 */
#include "features/features_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define SPEC_MAX_RULES GY_FEATURES_MAX_INPUTS
#define SPEC_FILE_MAX ((size_t)16 << 20)

static const char *const encode_names[] = {
    [GY_ENCODE_DEFAULT] = "default",
    [GY_ENCODE_DROP] = "drop",
    [GY_ENCODE_PASSTHROUGH] = "passthrough",
    [GY_ENCODE_STANDARDIZE] = "standardize",
    [GY_ENCODE_ONEHOT] = "onehot",
    [GY_ENCODE_ORDINAL] = "ordinal",
    [GY_ENCODE_PARTS] = "parts",
};

static const char *const impute_names[] = {
    [GY_IMPUTE_DEFAULT] = "default", [GY_IMPUTE_NONE] = "none",         [GY_IMPUTE_MEAN] = "mean",
    [GY_IMPUTE_MEDIAN] = "median",   [GY_IMPUTE_CONSTANT] = "constant", [GY_IMPUTE_MODE] = "mode",
};

const char *gy_feature_encode_name(enum gy_feature_encode e)
{
    if ((size_t)e < GY_ARRAY_LEN(encode_names) && encode_names[e])
        return encode_names[e];
    return "default";
}

const char *gy_feature_impute_name(enum gy_feature_impute i)
{
    if ((size_t)i < GY_ARRAY_LEN(impute_names) && impute_names[i])
        return impute_names[i];
    return "default";
}

/* Parses an encoding name (not "default"); -1 when unknown. */
static int encode_parse(const char *s, size_t n)
{
    for (size_t i = 1; i < GY_ARRAY_LEN(encode_names); i++)
        if (strlen(encode_names[i]) == n && memcmp(encode_names[i], s, n) == 0)
            return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ spec object */

enum gy_status gy_features_spec_create(struct gy_feature_spec **out)
{
    *out = gy_calloc(1, sizeof(**out));
    return *out ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
}

static void rules_free(struct gy_feature_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gy_free(r[i].name);
    gy_free(r);
}

void gy_features_spec_free(struct gy_feature_spec *s)
{
    if (!s)
        return;
    rules_free(s->rules, s->n);
    gy_free(s);
}

const struct gy_feature_rule *gy__features_spec_find(const struct gy_feature_spec *s,
                                                     const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->rules[i].name, name) == 0)
            return &s->rules[i];
    return NULL;
}

/* Adds or replaces @p r in @p s, taking r->name. */
static enum gy_status spec_put(struct gy_feature_spec *s, struct gy_feature_rule *r)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->rules[i].name, r->name) == 0) {
            gy_free(s->rules[i].name);
            s->rules[i] = *r;
            r->name = NULL;
            return GY_OK;
        }
    }
    if (s->n == SPEC_MAX_RULES)
        return gy_error_set(GY_E_TOO_LARGE, "feature spec: more than %d column rules",
                            SPEC_MAX_RULES);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct gy_feature_rule *nr = gy_realloc(s->rules, cap * sizeof(*nr));
        if (!nr)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        s->rules = nr;
        s->cap = cap;
    }
    s->rules[s->n++] = *r;
    r->name = NULL;
    return GY_OK;
}

/* Moves every rule of @p src into @p dst (dst's same-named rules are replaced). */
static enum gy_status spec_merge(struct gy_feature_spec *dst, struct gy_feature_spec *src)
{
    enum gy_status rc;
    /* Reserve first so that the merge itself cannot fail half-way. */
    size_t need = dst->n + src->n;
    if (need > SPEC_MAX_RULES)
        return gy_error_set(GY_E_TOO_LARGE, "feature spec: more than %d column rules",
                            SPEC_MAX_RULES);
    if (need > dst->cap) {
        struct gy_feature_rule *nr = gy_realloc(dst->rules, need * sizeof(*nr));
        if (!nr)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        dst->rules = nr;
        dst->cap = need;
    }
    for (size_t i = 0; i < src->n; i++) {
        rc = spec_put(dst, &src->rules[i]);
        if (GY_NEVER(rc != GY_OK))
            return rc;
    }
    src->n = 0;
    if (src->drop_unnamed >= 0)
        dst->drop_unnamed = src->drop_unnamed;
    return GY_OK;
}

/* Column names are UTF-8 (the lake refuses anything else, and to_json could not write it). */
static int name_ok(const char *s, size_t n)
{
    return n > 0 && n <= GY_LAKE_MAX_NAME && memchr(s, '\0', n) == NULL &&
           gy__features_utf8_valid(s, n);
}

/* Checks the combination of stated fields of a rule that do not depend on the column type. */
static enum gy_status rule_check(const struct gy_feature_rule *r, const char *where)
{
    if (r->has_lo && r->has_hi && r->lo > r->hi)
        return gy_error_set(GY_E_INVALID, "%s: clip lower bound %g is above upper bound %g", where,
                            r->lo, r->hi);
    if (r->encode == GY_ENCODE_DROP &&
        (r->impute != GY_IMPUTE_DEFAULT || r->has_lo || r->has_hi || r->top))
        return gy_error_set(GY_E_INVALID, "%s: a dropped column takes no other option", where);
    if (r->top && r->encode != GY_ENCODE_DEFAULT && r->encode != GY_ENCODE_ONEHOT &&
        r->encode != GY_ENCODE_ORDINAL)
        return gy_error_set(GY_E_INVALID, "%s: top= applies to onehot or ordinal columns", where);
    if ((r->has_lo || r->has_hi) &&
        (r->encode == GY_ENCODE_ONEHOT || r->encode == GY_ENCODE_ORDINAL ||
         r->encode == GY_ENCODE_PARTS))
        return gy_error_set(GY_E_INVALID, "%s: clip= applies to numeric columns", where);
    if (r->impute == GY_IMPUTE_MODE && r->encode != GY_ENCODE_DEFAULT &&
        r->encode != GY_ENCODE_ONEHOT && r->encode != GY_ENCODE_ORDINAL)
        return gy_error_set(GY_E_INVALID, "%s: impute=mode applies to string columns", where);
    if ((r->impute == GY_IMPUTE_MEAN || r->impute == GY_IMPUTE_MEDIAN ||
         r->impute == GY_IMPUTE_CONSTANT) &&
        (r->encode == GY_ENCODE_ONEHOT || r->encode == GY_ENCODE_ORDINAL))
        return gy_error_set(GY_E_INVALID,
                            "%s: impute=%s applies to numeric columns (use impute=mode)", where,
                            gy_feature_impute_name(r->impute));
    return GY_OK;
}

/* Parses a whole finite number. */
static int parse_num(const char *s, size_t n, double *out)
{
    char tmp[64];
    char *end;
    if (n == 0 || n >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    *out = strtod(tmp, &end);
    return end == tmp + n && errno == 0 && isfinite(*out);
}

static void trim(const char **p, size_t *n)
{
    while (*n && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')) {
        (*p)++;
        (*n)--;
    }
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\n' ||
                  (*p)[*n - 1] == '\r'))
        (*n)--;
}

/* ------------------------------------------------------------------ flag strings */

/* Applies one "option" of a flag rule to @p r. */
static enum gy_status flag_option(struct gy_feature_rule *r, int *is_star, const char *o, size_t n,
                                  const char *col)
{
    const char *eq = memchr(o, '=', n);
    int e;
    if (!eq) {
        if (*is_star) {
            if (n == 4 && memcmp(o, "drop", 4) == 0)
                *is_star = 2;
            else if (n == 4 && memcmp(o, "auto", 4) == 0)
                *is_star = 1;
            else
                return gy_error_set(GY_E_INVALID,
                                    "feature spec: rule '*': option '%.*s' (only drop or auto)",
                                    (int)n, o);
            return GY_OK;
        }
        e = encode_parse(o, n);
        if (e < 0)
            return gy_error_set(GY_E_INVALID,
                                "feature spec: column '%s': unknown option '%.*s' (expected "
                                "drop, passthrough, standardize, onehot, ordinal, parts, "
                                "impute=, clip= or top=)",
                                col, (int)n, o);
        if (r->encode != GY_ENCODE_DEFAULT && r->encode != (enum gy_feature_encode)e)
            return gy_error_set(GY_E_INVALID,
                                "feature spec: column '%s': conflicting encodings %s and %.*s", col,
                                gy_feature_encode_name(r->encode), (int)n, o);
        r->encode = (enum gy_feature_encode)e;
        return GY_OK;
    }
    {
        const char *k = o, *v = eq + 1;
        size_t kn = (size_t)(eq - o), vn = n - kn - 1;
        trim(&k, &kn);
        trim(&v, &vn);
        if (*is_star)
            return gy_error_set(GY_E_INVALID,
                                "feature spec: rule '*': option '%.*s' (only drop or auto)", (int)n,
                                o);
        if (kn == 6 && memcmp(k, "impute", 6) == 0) {
            double d;
            if (r->impute != GY_IMPUTE_DEFAULT)
                return gy_error_set(GY_E_INVALID, "feature spec: column '%s': impute given twice",
                                    col);
            if (vn == 4 && memcmp(v, "mean", 4) == 0)
                r->impute = GY_IMPUTE_MEAN;
            else if (vn == 6 && memcmp(v, "median", 6) == 0)
                r->impute = GY_IMPUTE_MEDIAN;
            else if (vn == 4 && memcmp(v, "mode", 4) == 0)
                r->impute = GY_IMPUTE_MODE;
            else if (vn == 4 && memcmp(v, "none", 4) == 0)
                r->impute = GY_IMPUTE_NONE;
            else if (parse_num(v, vn, &d)) {
                r->impute = GY_IMPUTE_CONSTANT;
                r->impute_value = d;
            } else
                return gy_error_set(GY_E_INVALID,
                                    "feature spec: column '%s': impute=%.*s (expected mean, "
                                    "median, mode, none or a number)",
                                    col, (int)vn, v);
            return GY_OK;
        }
        if (kn == 4 && memcmp(k, "clip", 4) == 0) {
            const char *c = memchr(v, ':', vn);
            const char *a, *b;
            size_t an, bn;
            if (r->has_lo || r->has_hi)
                return gy_error_set(GY_E_INVALID, "feature spec: column '%s': clip given twice",
                                    col);
            if (!c)
                return gy_error_set(GY_E_INVALID,
                                    "feature spec: column '%s': clip=%.*s (expected LO:HI)", col,
                                    (int)vn, v);
            a = v;
            an = (size_t)(c - v);
            b = c + 1;
            bn = vn - an - 1;
            trim(&a, &an);
            trim(&b, &bn);
            if ((an && !parse_num(a, an, &r->lo)) || (bn && !parse_num(b, bn, &r->hi)) ||
                (!an && !bn))
                return gy_error_set(GY_E_INVALID,
                                    "feature spec: column '%s': clip=%.*s (expected LO:HI with "
                                    "finite numbers, one side may be empty)",
                                    col, (int)vn, v);
            r->has_lo = an > 0;
            r->has_hi = bn > 0;
            return GY_OK;
        }
        if (kn == 3 && memcmp(k, "top", 3) == 0) {
            char tmp[24];
            int64_t t;
            if (r->top)
                return gy_error_set(GY_E_INVALID, "feature spec: column '%s': top given twice",
                                    col);
            if (vn == 0 || vn >= sizeof(tmp))
                t = -1;
            else {
                memcpy(tmp, v, vn);
                tmp[vn] = '\0';
                if (gy_parse_int64(tmp, &t) != GY_OK)
                    t = -1;
            }
            if (t < 1 || t > GY_FEATURES_MAX_TOP)
                return gy_error_set(GY_E_INVALID,
                                    "feature spec: column '%s': top=%.*s (expected an integer "
                                    "from 1 to %d)",
                                    col, (int)vn, v, GY_FEATURES_MAX_TOP);
            r->top = (uint32_t)t;
            return GY_OK;
        }
        return gy_error_set(GY_E_INVALID, "feature spec: column '%s': unknown option '%.*s'", col,
                            (int)kn, k);
    }
}

enum gy_status gy_features_spec_add_flags(struct gy_feature_spec *s, const char *flags)
{
    struct gy_feature_spec tmp = {.drop_unnamed = -1};
    enum gy_status rc = GY_OK;
    const char *p = flags;
    struct gy_feature_rule r;

    memset(&r, 0, sizeof(r));
    while (*p) {
        const char *end = strchr(p, ';');
        const char *colon, *name, *opts;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t nn, on;
        int is_star;
        char where[GY_LAKE_MAX_NAME + 32];

        name = p;
        p += len + (end ? 1 : 0);
        trim(&name, &len);
        if (len == 0)
            continue;
        colon = memchr(name, ':', len);
        if (!colon) {
            rc = gy_error_set(GY_E_INVALID,
                              "feature spec: rule '%.*s' has no ':' (expected COLUMN:OPTION,...)",
                              (int)GY_MIN(len, 300), name);
            goto out;
        }
        nn = (size_t)(colon - name);
        opts = colon + 1;
        on = len - nn - 1;
        trim(&name, &nn);
        if (!name_ok(name, nn)) {
            rc = gy_error_set(GY_E_INVALID, "feature spec: rule '%.*s': bad column name",
                              (int)GY_MIN(len, 300), name);
            goto out;
        }
        is_star = nn == 1 && name[0] == '*';
        memset(&r, 0, sizeof(r));
        r.name = gy_strndup(name, nn);
        if (!r.name) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        trim(&opts, &on);
        if (on == 0) {
            rc = gy_error_set(GY_E_INVALID, "feature spec: column '%s': no options", r.name);
            goto out;
        }
        while (on > 0) {
            const char *comma = memchr(opts, ',', on);
            const char *o = opts;
            size_t olen = comma ? (size_t)(comma - opts) : on;
            opts += olen + (comma ? 1 : 0);
            on -= olen + (comma ? 1 : 0);
            trim(&o, &olen);
            if (olen == 0) {
                rc = gy_error_set(GY_E_INVALID, "feature spec: column '%s': empty option", r.name);
                goto out;
            }
            rc = flag_option(&r, &is_star, o, olen, r.name);
            if (rc)
                goto out;
        }
        if (is_star) {
            tmp.drop_unnamed = is_star == 2;
            gy_free(r.name);
            r.name = NULL;
            continue;
        }
        gy_snprintf(where, sizeof(where), "feature spec: column '%s'", r.name);
        rc = rule_check(&r, where);
        if (rc)
            goto out;
        rc = spec_put(&tmp, &r);
        if (rc)
            goto out;
    }
    rc = spec_merge(s, &tmp);
out:
    gy_free(r.name);
    rules_free(tmp.rules, tmp.n);
    return rc;
}

/* ------------------------------------------------------------------ JSON */

/* Reads one column object into @p r (r->name already set when @p keyed). */
static enum gy_status json_rule(const json_t *o, struct gy_feature_rule *r, const char *where)
{
    const char *key;
    json_t *v;
    if (!json_is_object(o))
        return gy_error_set(GY_E_INVALID, "%s: expected an object", where);
    json_object_foreach((json_t *)o, key, v)
    {
        if (strcmp(key, "name") == 0) {
            if (r->name)
                continue; /* keyed form: checked by the caller */
            if (!json_is_string(v) || !name_ok(json_string_value(v), json_string_length(v)) ||
                strcmp(json_string_value(v), "*") == 0)
                return gy_error_set(GY_E_INVALID, "%s: \"name\" must be a column name", where);
            r->name = gy_strdup(json_string_value(v));
            if (!r->name)
                return gy_error_set(GY_E_NOMEM, "out of memory");
        } else if (strcmp(key, "encode") == 0) {
            int e =
                json_is_string(v) ? encode_parse(json_string_value(v), json_string_length(v)) : -1;
            if (e < 0)
                return gy_error_set(GY_E_INVALID,
                                    "%s: \"encode\" must be one of drop, passthrough, "
                                    "standardize, onehot, ordinal, parts",
                                    where);
            r->encode = (enum gy_feature_encode)e;
        } else if (strcmp(key, "impute") == 0) {
            const char *s = json_string_value(v);
            if (json_is_number(v) && isfinite(json_number_value(v))) {
                r->impute = GY_IMPUTE_CONSTANT;
                r->impute_value = json_number_value(v);
            } else if (s && strcmp(s, "mean") == 0) {
                r->impute = GY_IMPUTE_MEAN;
            } else if (s && strcmp(s, "median") == 0) {
                r->impute = GY_IMPUTE_MEDIAN;
            } else if (s && strcmp(s, "mode") == 0) {
                r->impute = GY_IMPUTE_MODE;
            } else if (s && strcmp(s, "none") == 0) {
                r->impute = GY_IMPUTE_NONE;
            } else {
                return gy_error_set(GY_E_INVALID,
                                    "%s: \"impute\" must be mean, median, mode, none or a number",
                                    where);
            }
        } else if (strcmp(key, "clip") == 0) {
            json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);
            if (!json_is_array(v) || json_array_size(v) != 2 ||
                !(json_is_null(lo) || json_is_number(lo)) ||
                !(json_is_null(hi) || json_is_number(hi)) || (json_is_null(lo) && json_is_null(hi)))
                return gy_error_set(GY_E_INVALID,
                                    "%s: \"clip\" must be [LO, HI] (numbers, one may be null)",
                                    where);
            r->has_lo = json_is_number(lo);
            r->has_hi = json_is_number(hi);
            r->lo = r->has_lo ? json_number_value(lo) : 0;
            r->hi = r->has_hi ? json_number_value(hi) : 0;
            if (!isfinite(r->lo) || !isfinite(r->hi))
                return gy_error_set(GY_E_INVALID, "%s: \"clip\" bounds must be finite", where);
        } else if (strcmp(key, "top") == 0) {
            json_int_t t = json_is_integer(v) ? json_integer_value(v) : -1;
            if (t < 1 || t > GY_FEATURES_MAX_TOP)
                return gy_error_set(GY_E_INVALID, "%s: \"top\" must be an integer from 1 to %d",
                                    where, GY_FEATURES_MAX_TOP);
            r->top = (uint32_t)t;
        } else {
            return gy_error_set(GY_E_INVALID,
                                "%s: unknown key \"%s\" (expected name, encode, impute, clip, "
                                "top)",
                                where, key);
        }
    }
    if (!r->name)
        return gy_error_set(GY_E_INVALID, "%s: missing \"name\"", where);
    return rule_check(r, where);
}

enum gy_status gy_features_spec_from_json(const json_t *j, struct gy_feature_spec **out)
{
    struct gy_feature_spec *s = NULL;
    struct gy_feature_rule r;
    enum gy_status rc;
    const char *key;
    json_t *v, *cols = NULL;
    char where[GY_LAKE_MAX_NAME + 64];

    *out = NULL;
    memset(&r, 0, sizeof(r));
    if (!json_is_object(j))
        return gy_error_set(GY_E_INVALID, "feature spec: expected an object");
    rc = gy_features_spec_create(&s);
    if (rc)
        return rc;
    json_object_foreach((json_t *)j, key, v)
    {
        if (strcmp(key, "default") == 0) {
            const char *d = json_string_value(v);
            if (d && strcmp(d, "drop") == 0)
                s->drop_unnamed = 1;
            else if (d && strcmp(d, "auto") == 0)
                s->drop_unnamed = 0;
            else {
                rc = gy_error_set(GY_E_INVALID, "feature spec: \"default\" must be auto or drop");
                goto out;
            }
        } else if (strcmp(key, "columns") == 0) {
            cols = v;
        } else {
            rc = gy_error_set(GY_E_INVALID,
                              "feature spec: unknown key \"%s\" (expected default, columns)", key);
            goto out;
        }
    }
    if (json_is_array(cols)) {
        size_t i;
        json_array_foreach(cols, i, v)
        {
            memset(&r, 0, sizeof(r));
            gy_snprintf(where, sizeof(where), "feature spec: columns[%zu]", i);
            rc = json_rule(v, &r, where);
            if (rc)
                goto out;
            if (gy__features_spec_find(s, r.name)) {
                rc = gy_error_set(GY_E_INVALID, "feature spec: column '%s' appears twice", r.name);
                goto out;
            }
            rc = spec_put(s, &r);
            if (rc)
                goto out;
        }
    } else if (json_is_object(cols)) {
        json_object_foreach(cols, key, v)
        {
            const char *nm;
            memset(&r, 0, sizeof(r));
            gy_snprintf(where, sizeof(where), "feature spec: column '%.256s'", key);
            if (!name_ok(key, strlen(key)) || strcmp(key, "*") == 0) {
                rc = gy_error_set(GY_E_INVALID, "%s: bad column name", where);
                goto out;
            }
            nm = json_is_object(v) ? gy_json_str(v, "name", NULL) : NULL;
            if (nm && strcmp(nm, key) != 0) {
                rc = gy_error_set(GY_E_INVALID, "%s: \"name\" differs from the key", where);
                goto out;
            }
            r.name = gy_strdup(key);
            if (!r.name) {
                rc = gy_error_set(GY_E_NOMEM, "out of memory");
                goto out;
            }
            rc = json_rule(v, &r, where);
            if (rc)
                goto out;
            rc = spec_put(s, &r);
            if (rc)
                goto out;
        }
    } else if (cols) {
        rc = gy_error_set(GY_E_INVALID, "feature spec: \"columns\" must be an array or an object");
        goto out;
    }
    *out = s;
    s = NULL;
    rc = GY_OK;
out:
    gy_free(r.name);
    gy_features_spec_free(s);
    return rc;
}

enum gy_status gy_features_spec_parse_json(const char *text, size_t len,
                                           struct gy_feature_spec **out)
{
    json_t *j = NULL;
    enum gy_status rc;
    *out = NULL;
    rc = gy_json_parse(text, len, 16, "feature spec", &j);
    if (rc)
        return rc;
    rc = gy_features_spec_from_json(j, out);
    json_decref(j);
    return rc;
}

enum gy_status gy_features_spec_to_json(const struct gy_feature_spec *s, json_t **out)
{
    json_t *root = json_object(), *cols = json_array();
    enum gy_status rc = GY_E_NOMEM;
    *out = NULL;
    if (!root || !cols)
        goto out;
    if (json_object_set_new(root, "default", json_string(s->drop_unnamed > 0 ? "drop" : "auto")))
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        const struct gy_feature_rule *r = &s->rules[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(cols, o) ||
            json_object_set_new(o, "name", json_string(r->name)))
            goto out;
        if (r->encode != GY_ENCODE_DEFAULT &&
            json_object_set_new(o, "encode", json_string(gy_feature_encode_name(r->encode))))
            goto out;
        if (r->impute == GY_IMPUTE_CONSTANT) {
            if (json_object_set_new(o, "impute", json_real(r->impute_value)))
                goto out;
        } else if (r->impute != GY_IMPUTE_DEFAULT &&
                   json_object_set_new(o, "impute", json_string(gy_feature_impute_name(r->impute))))
            goto out;
        if (r->has_lo || r->has_hi) {
            json_t *c = json_pack("[oo]", r->has_lo ? json_real(r->lo) : json_null(),
                                  r->has_hi ? json_real(r->hi) : json_null());
            if (!c || json_object_set_new(o, "clip", c))
                goto out;
        }
        if (r->top && json_object_set_new(o, "top", json_integer(r->top)))
            goto out;
    }
    if (json_object_set(root, "columns", cols))
        goto out;
    *out = root;
    root = NULL;
    rc = GY_OK;
out:
    json_decref(cols);
    json_decref(root);
    return rc == GY_OK ? rc : gy_error_set(rc, "out of memory");
}

/* ------------------------------------------------------------------ YAML */

/* A YAML plain scalar resolved like YAML 1.2's core schema; quoted scalars stay strings. */
static json_t *yaml_scalar(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    double d;
    int64_t i;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, n);
    if (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0)
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    if (gy_parse_int64(s, &i) == GY_OK)
        return json_integer(i);
    if (parse_num(s, n, &d))
        return json_real(d);
    return json_stringn(s, n);
}

#define YAML_MAX_DEPTH 16

/* Converts the first YAML document of @p text to JSON. Aliases and anchors are refused. */
static enum gy_status yaml_to_json(const char *text, size_t len, const char *what, json_t **out)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    json_t *stack[YAML_MAX_DEPTH + 1];
    char *keys[YAML_MAX_DEPTH + 1];
    int depth = 0, done = 0, have_ev = 0;
    json_t *root = NULL;
    enum gy_status rc = GY_OK;

    *out = NULL;
    memset(keys, 0, sizeof(keys));
    if (!yaml_parser_initialize(&parser))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        json_t *node = NULL;
        int opens = 0;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = gy_error_set(GY_E_INVALID, "%s: line %zu, column %zu: %s", what,
                              parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                              parser.problem ? parser.problem : "YAML syntax error");
            goto out;
        }
        have_ev = 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            done = root != NULL || ev.type == YAML_STREAM_END_EVENT;
            break;
        case YAML_ALIAS_EVENT:
            rc = gy_error_set(GY_E_INVALID, "%s: line %zu: YAML aliases are not supported", what,
                              ev.start_mark.line + 1);
            goto out;
        case YAML_SCALAR_EVENT:
            if (ev.data.scalar.anchor) {
                rc = gy_error_set(GY_E_INVALID, "%s: line %zu: YAML anchors are not supported",
                                  what, ev.start_mark.line + 1);
                goto out;
            }
            if (depth > 0 && json_is_object(stack[depth - 1]) && !keys[depth - 1]) {
                keys[depth - 1] =
                    gy_strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
                if (!keys[depth - 1]) {
                    rc = gy_error_set(GY_E_NOMEM, "out of memory");
                    goto out;
                }
                break;
            }
            node = yaml_scalar(&ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor != NULL
                                                     : ev.data.mapping_start.anchor != NULL) {
                rc = gy_error_set(GY_E_INVALID, "%s: line %zu: YAML anchors are not supported",
                                  what, ev.start_mark.line + 1);
                goto out;
            }
            if (depth > 0 && json_is_object(stack[depth - 1]) && !keys[depth - 1]) {
                rc = gy_error_set(GY_E_INVALID, "%s: line %zu: mapping keys must be scalars", what,
                                  ev.start_mark.line + 1);
                goto out;
            }
            if (depth == YAML_MAX_DEPTH) {
                rc = gy_error_set(GY_E_INVALID, "%s: line %zu: nesting deeper than %d levels", what,
                                  ev.start_mark.line + 1, YAML_MAX_DEPTH);
                goto out;
            }
            node = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
            opens = 1;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            node = stack[depth];
            stack[depth] = NULL;
            gy_free(keys[depth]);
            keys[depth] = NULL;
            /* node is attached already; pop only */
            if (depth == 0) {
                root = node;
            }
            node = NULL;
            break;
        default:
            break;
        }
        if (node) {
            if (depth == 0) {
                if (!opens) {
                    root = node;
                } else {
                    stack[depth++] = node;
                    root = NULL;
                }
            } else {
                json_t *parent = stack[depth - 1];
                int bad;
                if (json_is_object(parent)) {
                    if (json_object_get(parent, keys[depth - 1])) {
                        rc = gy_error_set(GY_E_INVALID, "%s: line %zu: duplicate key \"%s\"", what,
                                          ev.start_mark.line + 1, keys[depth - 1]);
                        json_decref(node);
                        goto out;
                    }
                    bad = json_object_set(parent, keys[depth - 1], node);
                    gy_free(keys[depth - 1]);
                    keys[depth - 1] = NULL;
                } else {
                    bad = json_array_append(parent, node);
                }
                if (bad) {
                    json_decref(node);
                    rc = gy_error_set(GY_E_INVALID, "%s: line %zu: bad value", what,
                                      ev.start_mark.line + 1);
                    goto out;
                }
                if (opens)
                    stack[depth++] = node;
                json_decref(node);
            }
        }
        yaml_event_delete(&ev);
        have_ev = 0;
    }
    if (!root) {
        rc = gy_error_set(GY_E_INVALID, "%s: empty document", what);
        goto out;
    }
    *out = json_incref(root);
out:
    if (have_ev)
        yaml_event_delete(&ev);
    /* stack[0] (when still open) owns the tree; inner entries are borrowed. */
    if (depth > 0)
        json_decref(stack[0]);
    else if (root)
        json_decref(root);
    for (int i = 0; i <= YAML_MAX_DEPTH; i++)
        gy_free(keys[i]);
    yaml_parser_delete(&parser);
    return rc;
}

enum gy_status gy_features_spec_load_file(const char *path, struct gy_feature_spec **out)
{
    struct gy_buf b;
    json_t *j = NULL;
    enum gy_status rc;
    size_t i = 0;

    *out = NULL;
    gy_buf_init(&b, SPEC_FILE_MAX);
    rc = gy_file_read(path, &b);
    if (rc) {
        gy_error_wrap(rc, "feature spec %s", path);
        goto out;
    }
    while (i < b.len &&
           (b.data[i] == ' ' || b.data[i] == '\t' || b.data[i] == '\n' || b.data[i] == '\r'))
        i++;
    if (i < b.len && b.data[i] == '{')
        rc = gy_json_parse(b.data, b.len, 16, path, &j);
    else
        rc = yaml_to_json(b.data, b.len, path, &j);
    if (rc)
        goto out;
    rc = gy_features_spec_from_json(j, out);
    if (rc)
        gy_error_wrap(rc, "%s", path);
out:
    json_decref(j);
    gy_buf_free(&b);
    return rc;
}
