/* SPDX-License-Identifier: MIT */
/*
 * registry.c - shared pieces of the registry: the SQL builder, stage names, validation of
 * model names, aliases, tags and version sources (the CVE-2023-1177 family: only runs:/,
 * mlflow-artifacts:/ and models:/ URIs with clean relative paths), model and version lookups,
 * and the ModelVersion JSON builder (tags and aliases of many versions fetched with chunked
 * queries).
 */
#include "registry/registry_int.h"
#include "tracking/tracking.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ filters */

enum gy_status gy__registry_bad_cond(const struct gy_tracking_cond *c, const char *what)
{
    return gy_error_set(GY_E_INVALID, "filter: at column %zu: %s", c->pos + 1, what);
}

void gy__registry_str_pred(struct gy_db *db, struct gy_db_sql *b, const char *expr,
                           const struct gy_tracking_cond *c)
{
    gy_db_sql_printf(b, " AND ");
    if (c->op == GY_TRACKING_OP_LIKE || c->op == GY_TRACKING_OP_ILIKE) {
        char *bound = NULL;
        if (b->rc == GY_OK)
            b->rc = gy_tracking_sql_like(gy_db_kind(db), expr, c->op, c->str, gy_db_sql_next(b),
                                         &b->sql, &bound);
        if (b->rc)
            gy_free(bound);
        else
            gy_db_sql_bind_own(b, bound);
        return;
    }
    if (c->op == GY_TRACKING_OP_IN || c->op == GY_TRACKING_OP_NOT_IN) {
        gy_db_sql_printf(b, "%s %s (", expr, c->op == GY_TRACKING_OP_IN ? "IN" : "NOT IN");
        for (size_t i = 0; i < c->nlist; i++) {
            if (i)
                gy_db_sql_printf(b, ",");
            gy_db_sql_param(b, GY_DB_P_TEXT(c->list[i]));
        }
        gy_db_sql_printf(b, ")");
        return;
    }
    gy_db_sql_printf(b, "%s %s ", expr, c->op == GY_TRACKING_OP_EQ ? "=" : "<>");
    gy_db_sql_param(b, GY_DB_P_TEXT(c->str));
}

/* ------------------------------------------------------------------ helpers */

int64_t gy__registry_now_ms(void)
{
    return gy_time_wall_us() / 1000;
}

const char *gy__registry_coll(const struct gy_db *db)
{
    return gy_db_kind(db) == GY_DB_POSTGRES ? " COLLATE \"C\"" : "";
}

/* True when @p s is valid UTF-8 (no NUL) of @p n bytes. */
static int utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], cp;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            return 0;
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += len;
    }
    return 1;
}

enum gy_status gy__registry_text_check(const char *what, const char *s, size_t max)
{
    size_t n;
    if (!s)
        return GY_OK;
    n = strlen(s);
    if (n > max)
        return gy_error_set(GY_E_INVALID, "%s is longer than %zu bytes", what, max);
    if (!utf8_ok(s, n))
        return gy_error_set(GY_E_INVALID, "%s is not valid UTF-8", what);
    return GY_OK;
}

enum gy_status gy__registry_tags_check(const struct gy_registry_tag *tags, size_t n)
{
    enum gy_status rc;
    for (size_t i = 0; i < n; i++) {
        if (!tags[i].key || !*tags[i].key)
            return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'key'");
        if (!tags[i].value)
            return gy_error_set(GY_E_INVALID, "Missing value for tag '%s'", tags[i].key);
        if ((rc = gy__registry_text_check("tag key", tags[i].key, GY_REGISTRY_KEY_MAX)) ||
            (rc = gy__registry_text_check("tag value", tags[i].value, GY_REGISTRY_TAG_VALUE_MAX)))
            return rc;
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ names */

static const char *const stage_names[] = {"None", "Staging", "Production", "Archived"};

const char *gy_registry_stage_str(enum gy_registry_stage s)
{
    if ((int)s < 0 || (size_t)s >= GY_ARRAY_LEN(stage_names))
        return "";
    return stage_names[s];
}

enum gy_status gy_registry_stage_parse(const char *s, enum gy_registry_stage *out)
{
    for (size_t i = 0; s && i < GY_ARRAY_LEN(stage_names); i++)
        if (strcasecmp(s, stage_names[i]) == 0) {
            *out = (enum gy_registry_stage)i;
            return GY_OK;
        }
    return gy_error_set(GY_E_INVALID,
                        "Invalid Model Version stage: %s. Value must be one of None, Staging, "
                        "Production, Archived.",
                        s ? s : "");
}

enum gy_status gy_registry_version_parse(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (!s || !isdigit((unsigned char)s[0]) || gy_parse_int64(s, &v) != GY_OK || v < 1)
        return gy_error_set(GY_E_INVALID,
                            "Parameter 'version' must be an integer >= 1, got '%.64s'", s ? s : "");
    *out = v;
    return GY_OK;
}

enum gy_status gy_registry_name_check(const char *name)
{
    size_t n;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "Registered model name cannot be empty.");
    n = strlen(name);
    if (n > GY_REGISTRY_NAME_MAX)
        return gy_error_set(GY_E_INVALID, "Registered model name is longer than %d bytes",
                            GY_REGISTRY_NAME_MAX);
    if (!utf8_ok(name, n))
        return gy_error_set(GY_E_INVALID, "Registered model name is not valid UTF-8");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return gy_error_set(GY_E_INVALID, "Registered model name contains a control character");
        if (c == '/' || c == '@')
            return gy_error_set(GY_E_INVALID,
                                "Registered model name '%s' must not contain '/' or '@' (they "
                                "separate versions and aliases in model references)",
                                name);
    }
    return GY_OK;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

enum gy_status gy_registry_alias_check(const char *alias)
{
    size_t n;
    if (!alias || !*alias)
        return gy_error_set(GY_E_INVALID, "Registered model alias name cannot be empty.");
    n = strlen(alias);
    if (n > GY_REGISTRY_ALIAS_MAX)
        return gy_error_set(GY_E_INVALID,
                            "Registered model alias name '%.40s...' exceeds the maximum length "
                            "of %d characters.",
                            alias, GY_REGISTRY_ALIAS_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)alias[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
            return gy_error_set(GY_E_INVALID,
                                "Invalid alias name '%s': aliases may contain only letters, "
                                "digits, '_', '-' and '.'",
                                alias);
    }
    if (strcasecmp(alias, "latest") == 0)
        return gy_error_set(GY_E_INVALID,
                            "'%s' is a reserved alias name (it means the latest version)", alias);
    if (all_digits(alias) || ((alias[0] == 'v' || alias[0] == 'V') && all_digits(alias + 1)))
        return gy_error_set(GY_E_INVALID,
                            "Alias name '%s' is reserved: aliases may not be version numbers "
                            "nor have the form 'v<number>'",
                            alias);
    return GY_OK;
}

enum gy_status gy_registry_source_check(const char *source)
{
    static const char *const schemes[] = {"runs:/", "mlflow-artifacts:/", "models:/"};
    const char *rest = NULL;
    enum gy_status rc;
    if (!source || !*source)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'source'");
    if (strlen(source) > GY_REGISTRY_SOURCE_MAX)
        return gy_error_set(GY_E_INVALID, "source is longer than %d bytes", GY_REGISTRY_SOURCE_MAX);
    for (size_t i = 0; i < GY_ARRAY_LEN(schemes); i++)
        if (strncmp(source, schemes[i], strlen(schemes[i])) == 0)
            rest = source + strlen(schemes[i]);
    if (!rest)
        return gy_error_set(GY_E_INVALID,
                            "Invalid model version source '%s': only runs:/, mlflow-artifacts:/ "
                            "and models:/ URIs are accepted (artifacts live in gyre's store)",
                            source);
    rc = gy_tracking_artifact_path_check(rest, 0);
    if (rc)
        return gy_error_wrap(rc, "Invalid model version source '%s'", source);
    return GY_OK;
}

/* ------------------------------------------------------------------ lookups */

enum gy_status gy__registry_model_id(struct gy_db *db, const char *name, int64_t *id)
{
    struct gy_db_param p = GY_DB_P_TEXT(name);
    enum gy_status rc;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "Registered model name cannot be empty.");
    rc = gy_db_query_int(db, "SELECT id FROM registered_models WHERE name = $1", &p, 1, id);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "Registered Model with name=%s not found", name);
    return rc;
}

enum gy_status gy__registry_version_id(struct gy_db *db, const char *name, int64_t version,
                                       int64_t *model_id, int64_t *version_id)
{
    int64_t mid = 0;
    struct gy_db_param p[2];
    enum gy_status rc = gy__registry_model_id(db, name, &mid);
    if (rc)
        return rc;
    p[0] = GY_DB_P_INT(mid);
    p[1] = GY_DB_P_INT(version);
    rc = gy_db_query_int(db, "SELECT id FROM model_versions WHERE model_id = $1 AND version = $2",
                         p, 2, version_id);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "Model Version (name=%s, version=%lld) not found", name,
                            (long long)version);
    if (rc == GY_OK && model_id)
        *model_id = mid;
    return rc;
}

/* ------------------------------------------------------------------ ModelVersion JSON */

static enum gy_status jstr(json_t *o, const char *k, const char *v)
{
    return v ? gy_json_set(o, k, json_string(v)) : GY_OK;
}

/* One version's JSON from row @p r (GY__VERSION_COLS), tags and aliases attached later. */
static json_t *version_json(const struct gy_db_rows *rows, size_t r)
{
    json_t *o = json_object(), *g = NULL;
    char num[32];
    int bad = 0;
    if (!o)
        return NULL;
    snprintf(num, sizeof num, "%lld", (long long)gy_db_rows_int(rows, r, 2));
    bad |= jstr(o, "name", gy_db_rows_text(rows, r, 1)) != GY_OK;
    bad |= jstr(o, "version", num) != GY_OK;
    bad |= gy_json_set(o, "creation_timestamp", json_integer(gy_db_rows_int(rows, r, 3))) != GY_OK;
    bad |=
        gy_json_set(o, "last_updated_timestamp", json_integer(gy_db_rows_int(rows, r, 4))) != GY_OK;
    bad |= jstr(o, "user_id", gy_db_rows_text(rows, r, 5)) != GY_OK;
    bad |= jstr(o, "current_stage", gy_db_rows_text(rows, r, 6)) != GY_OK;
    bad |= jstr(o, "description", gy_db_rows_text(rows, r, 7)) != GY_OK;
    bad |= jstr(o, "source", gy_db_rows_text(rows, r, 8)) != GY_OK;
    bad |= jstr(o, "run_id", gy_db_rows_text(rows, r, 9)) != GY_OK;
    bad |= jstr(o, "run_link", gy_db_rows_text(rows, r, 10)) != GY_OK;
    bad |= jstr(o, "status", gy_db_rows_text(rows, r, 11)) != GY_OK;
    if (!gy_db_rows_isnull(rows, r, 12) || !gy_db_rows_isnull(rows, r, 14)) {
        g = json_object();
        if (!g)
            bad = 1;
        else {
            bad |= jstr(g, "dataset", gy_db_rows_text(rows, r, 12)) != GY_OK;
            if (!gy_db_rows_isnull(rows, r, 13))
                bad |= gy_json_set(g, "dataset_version",
                                   json_integer(gy_db_rows_int(rows, r, 13))) != GY_OK;
            bad |= jstr(g, "bundle_hash", gy_db_rows_text(rows, r, 14)) != GY_OK;
            bad |= gy_json_set(o, "gyre", g) != GY_OK;
        }
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Adds the tag/alias rows of one chunk (version id, key, value) to the versions' JSON. */
static enum gy_status attach(json_t *arr, size_t first, size_t m, const struct gy_db_rows *ids,
                             const struct gy_db_rows *rows, int aliases)
{
    for (size_t r = 0; r < gy_db_rows_count(rows); r++) {
        int64_t vid = gy_db_rows_int(rows, r, 0);
        for (size_t i = 0; i < m; i++) {
            json_t *v, *list, *item;
            if (gy_db_rows_int(ids, first + i, 0) != vid)
                continue;
            v = json_array_get(arr, json_array_size(arr) - m + i);
            list = json_object_get(v, aliases ? "aliases" : "tags");
            if (!list) {
                if (gy_json_set(v, aliases ? "aliases" : "tags", json_array()))
                    return GY_E_NOMEM;
                list = json_object_get(v, aliases ? "aliases" : "tags");
            }
            if (aliases) {
                item = json_string(gy_db_rows_text(rows, r, 1));
            } else {
                item = json_object();
                if (item && (jstr(item, "key", gy_db_rows_text(rows, r, 1)) ||
                             jstr(item, "value", gy_db_rows_text(rows, r, 2)))) {
                    json_decref(item);
                    item = NULL;
                }
            }
            if (!item || json_array_append_new(list, item))
                return gy_error_set(GY_E_NOMEM, "out of memory");
        }
    }
    return GY_OK;
}

enum gy_status gy__registry_versions_json(struct gy_db *db, const struct gy_db_rows *rows, size_t n,
                                          json_t *arr)
{
    const char *coll = gy__registry_coll(db);
    enum gy_status rc = GY_OK;
    for (size_t at = 0; at < n && rc == GY_OK; at += 500) {
        size_t m = GY_MIN((size_t)500, n - at);
        for (int pass = 0; pass < 2 && rc == GY_OK; pass++) {
            struct gy_db_sql b;
            struct gy_db_rows *extra = NULL;
            if (pass == 0) {
                for (size_t i = 0; i < m && rc == GY_OK; i++) {
                    json_t *v = version_json(rows, at + i);
                    if (!v || json_array_append_new(arr, v))
                        rc = gy_error_set(GY_E_NOMEM, "out of memory");
                }
                if (rc)
                    break;
            }
            gy_db_sql_init(&b);
            gy_db_sql_printf(&b, pass == 0
                                     ? "SELECT version_id, key, value FROM model_version_tags "
                                       "WHERE version_id IN ("
                                     : "SELECT version_id, alias FROM model_aliases "
                                       "WHERE version_id IN (");
            for (size_t i = 0; i < m; i++) {
                if (i)
                    gy_db_sql_printf(&b, ",");
                /* internal integer keys from the store, as literals: binding hundreds of
                 * $N makes SQLite's parameter lookup quadratic */
                gy_db_sql_printf(&b, "%lld", (long long)gy_db_rows_int(rows, at + i, 0));
            }
            gy_db_sql_printf(&b, ") ORDER BY version_id, %s%s", pass == 0 ? "key" : "alias", coll);
            rc = b.rc;
            if (rc == GY_OK)
                rc = gy_db_query(db, b.sql.data, b.p, b.np, &extra);
            if (rc == GY_OK)
                rc = attach(arr, at, m, rows, extra, pass == 1);
            gy_db_rows_free(extra);
            gy_db_sql_free(&b);
        }
    }
    return rc;
}

enum gy_status gy__registry_version_json_where(struct gy_db *db, const char *where,
                                               const struct gy_db_param *p, size_t np, json_t **out)
{
    struct gy_buf sql;
    struct gy_db_rows *rows = NULL;
    json_t *arr = NULL;
    enum gy_status rc;
    *out = NULL;
    gy_buf_init(&sql, 4096);
    rc = gy_buf_printf(&sql,
                       "SELECT " GY__VERSION_COLS " FROM model_versions v JOIN registered_models m "
                       "ON m.id = v.model_id WHERE %s",
                       where);
    if (rc == GY_OK)
        rc = gy_db_query(db, sql.data, p, np, &rows);
    gy_buf_free(&sql);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return GY_NOT_FOUND;
    }
    arr = json_array();
    rc = arr ? gy__registry_versions_json(db, rows, 1, arr)
             : gy_error_set(GY_E_NOMEM, "out of memory");
    gy_db_rows_free(rows);
    if (rc == GY_OK)
        *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}
