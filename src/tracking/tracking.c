/* SPDX-License-Identifier: MIT */
/*
 * tracking.c - the shared pieces of the tracking module: the SQL builder, validation of names,
 * keys and values, page tokens, enum names, run lookups, and the builder of MLflow Run JSON
 * used by runs/get and runs/search (latest metrics, params, tags and dataset inputs of many
 * runs fetched with a few chunked queries instead of one query per run).
 */
#include "tracking/tracking_int.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ helpers */

int64_t gy__tracking_now_ms(void)
{
    return gy_time_wall_us() / 1000;
}

int gy__tracking_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
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

enum gy_status gy__tracking_value_check(const char *what, const char *key, const char *value,
                                        size_t max)
{
    size_t n;
    if (!value)
        return gy_error_set(GY_E_INVALID, "Missing value for %s '%s'", what, key ? key : "");
    n = strlen(value);
    if (n > max)
        return gy_error_set(GY_E_INVALID,
                            "%s '%s' had length %zu, which exceeded length limit of %zu", what,
                            key ? key : "", n, max);
    if (!gy__tracking_utf8_valid(value, n))
        return gy_error_set(GY_E_INVALID, "%s '%s': the value is not valid UTF-8", what,
                            key ? key : "");
    return GY_OK;
}

enum gy_status gy__tracking_name_check(const char *what, const char *name)
{
    size_t n;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "%s name must be a non-empty string", what);
    n = strlen(name);
    if (n > GY_TRACKING_NAME_MAX)
        return gy_error_set(GY_E_INVALID, "%s name exceeds the maximum length of %d bytes", what,
                            GY_TRACKING_NAME_MAX);
    if (!gy__tracking_utf8_valid(name, n))
        return gy_error_set(GY_E_INVALID, "%s name is not valid UTF-8", what);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return gy_error_set(GY_E_INVALID, "%s name contains a control character", what);
    return GY_OK;
}

enum gy_status gy_tracking_key_check(const char *what, const char *key)
{
    size_t n;
    const char *seg;
    if (!key || !*key)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'key' (%s)", what);
    n = strlen(key);
    if (n > GY_TRACKING_KEY_MAX)
        return gy_error_set(GY_E_INVALID,
                            "%s name '%.40s...' had length %zu, which exceeded length limit of %d",
                            what, key, n, GY_TRACKING_KEY_MAX);
    if (!gy__tracking_utf8_valid(key, n))
        return gy_error_set(GY_E_INVALID, "Invalid %s name: not valid UTF-8", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == ' ' || c == '/' ||
            c == ':')
            continue;
        return gy_error_set(GY_E_INVALID,
                            "Invalid %s name: '%s'. Names may only contain alphanumerics, "
                            "underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and "
                            "slashes (/).",
                            what, key);
    }
    /* Names may be used as file names: no segment may be empty, "." or "..". */
    seg = key;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return gy_error_set(GY_E_INVALID,
                                "Invalid %s name: '%s'. Names may be treated as files in certain "
                                "cases, and must not resolve to other names when treated as such.",
                                what, key);
        if (!end)
            break;
        seg = end + 1;
    }
    return GY_OK;
}

enum gy_status gy__tracking_page_token(const char *token, int64_t *offset)
{
    *offset = 0;
    if (!token || !*token)
        return GY_OK;
    if (gy_parse_int64(token, offset) != GY_OK || *offset < 0 || token[0] == '+' || token[0] == '-')
        return gy_error_set(GY_E_INVALID, "Invalid page token, could not base64-decode");
    return GY_OK;
}

enum gy_status gy__tracking_max_results(int64_t given, int64_t def, int64_t max, int64_t *out)
{
    if (given < 0)
        return gy_error_set(GY_E_INVALID,
                            "Invalid value %lld for parameter 'max_results' supplied. It must be "
                            "a positive integer",
                            (long long)given);
    if (given > max)
        return gy_error_set(GY_E_INVALID,
                            "Invalid value %lld for parameter 'max_results' supplied. It must be "
                            "at most %lld",
                            (long long)given, (long long)max);
    *out = given == 0 ? def : given;
    return GY_OK;
}

enum gy_status gy__tracking_set_token(json_t *obj, int64_t offset)
{
    char tok[32];
    snprintf(tok, sizeof tok, "%lld", (long long)offset);
    return gy_json_set(obj, "next_page_token", json_string(tok));
}

json_t *gy__tracking_jint(int64_t v)
{
    return json_integer((json_int_t)v);
}

json_t *gy__tracking_jmetric_value(double v, int is_nan)
{
    if (is_nan || isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

enum gy_status gy__tracking_jset_str(json_t *obj, const char *key, const char *s)
{
    if (!s)
        return GY_OK;
    return gy_json_set(obj, key, json_string(s));
}

enum gy_status gy__tracking_jtag(json_t *arr, const char *key, const char *value)
{
    json_t *t = json_object();
    if (!t)
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    if (gy__tracking_jset_str(t, "key", key) ||
        gy__tracking_jset_str(t, "value", value ? value : "")) {
        json_decref(t);
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    }
    if (json_array_append_new(arr, t))
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    return GY_OK;
}

enum gy_status gy__tracking_jset_list(json_t *obj, const char *key, json_t *arr)
{
    if (!arr)
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return GY_OK;
    }
    return gy_json_set(obj, key, arr);
}

const char *gy__tracking_coll(const struct gy_db *db)
{
    return gy_db_kind(db) == GY_DB_POSTGRES ? " COLLATE \"C\"" : "";
}

/* ------------------------------------------------------------------ enums */

static const char *const status_names[] = {"",         "RUNNING", "SCHEDULED",
                                           "FINISHED", "FAILED",  "KILLED"};

const char *gy_tracking_run_status_str(enum gy_tracking_run_status s)
{
    if ((int)s < 1 || (size_t)s >= GY_ARRAY_LEN(status_names))
        return "";
    return status_names[s];
}

enum gy_status gy_tracking_run_status_parse(const char *s, enum gy_tracking_run_status *out)
{
    for (size_t i = 1; s && i < GY_ARRAY_LEN(status_names); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum gy_tracking_run_status)i;
            return GY_OK;
        }
    }
    return gy_error_set(GY_E_INVALID,
                        "Invalid value \"%s\" for parameter 'status': expected one of RUNNING, "
                        "SCHEDULED, FINISHED, FAILED, KILLED",
                        s ? s : "");
}

enum gy_status gy_tracking_view_parse(const char *s, enum gy_tracking_view *out)
{
    if (s && strcasecmp(s, "ACTIVE_ONLY") == 0)
        *out = GY_TRACKING_VIEW_ACTIVE_ONLY;
    else if (s && strcasecmp(s, "DELETED_ONLY") == 0)
        *out = GY_TRACKING_VIEW_DELETED_ONLY;
    else if (s && strcasecmp(s, "ALL") == 0)
        *out = GY_TRACKING_VIEW_ALL;
    else
        return gy_error_set(GY_E_INVALID,
                            "Invalid view type \"%s\": expected ACTIVE_ONLY, DELETED_ONLY or ALL",
                            s ? s : "");
    return GY_OK;
}

int gy_tracking_run_id_valid(const char *s)
{
    if (!s || strlen(s) != GY_TRACKING_RUN_ID_LEN)
        return 0;
    for (size_t i = 0; i < GY_TRACKING_RUN_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ run lookups */

enum gy_status gy__tracking_run_find(struct gy_db *db, const char *run_id, int64_t *rid,
                                     int *active)
{
    struct gy_db_rows *r = NULL;
    struct gy_db_param p[1];
    enum gy_status rc;
    if (!gy_tracking_run_id_valid(run_id))
        return gy_error_set(GY_NOT_FOUND, "Run with id=%.64s not found", run_id ? run_id : "");
    p[0] = GY_DB_P_TEXT(run_id);
    rc = gy_db_query(db, "SELECT id, lifecycle_stage FROM runs WHERE run_id = $1", p, 1, &r);
    if (rc)
        return rc;
    if (gy_db_rows_count(r) == 0) {
        gy_db_rows_free(r);
        return gy_error_set(GY_NOT_FOUND, "Run with id=%s not found", run_id);
    }
    if (rid)
        *rid = gy_db_rows_int(r, 0, 0);
    if (active)
        *active = strcmp(gy_db_rows_text(r, 0, 1), "active") == 0;
    gy_db_rows_free(r);
    return GY_OK;
}

enum gy_status gy__tracking_run_active(struct gy_db *db, const char *run_id, int64_t *rid)
{
    int active = 0;
    enum gy_status rc = gy__tracking_run_find(db, run_id, rid, &active);
    if (rc)
        return rc;
    if (!active)
        return gy_error_set(GY_E_INVALID,
                            "The run %s must be in the 'active' state. Current state is deleted.",
                            run_id);
    return GY_OK;
}

/* ------------------------------------------------------------------ Run JSON */

json_t *gy__tracking_run_info_json(const struct gy_db_rows *info, size_t row)
{
    json_t *o = json_object();
    char exp[32];
    if (!o)
        return NULL;
    snprintf(exp, sizeof exp, "%lld", (long long)gy_db_rows_int(info, row, 3));
    if (gy__tracking_jset_str(o, "run_id", gy_db_rows_text(info, row, 1)) ||
        gy__tracking_jset_str(o, "run_uuid", gy_db_rows_text(info, row, 1)) ||
        gy__tracking_jset_str(o, "run_name", gy_db_rows_text(info, row, 2)) ||
        gy__tracking_jset_str(o, "experiment_id", exp) ||
        gy__tracking_jset_str(o, "user_id", gy_db_rows_text(info, row, 4)) ||
        gy__tracking_jset_str(o, "status", gy_db_rows_text(info, row, 5)) ||
        gy_json_set(o, "start_time", gy__tracking_jint(gy_db_rows_int(info, row, 6))) ||
        (!gy_db_rows_isnull(info, row, 7) &&
         gy_json_set(o, "end_time", gy__tracking_jint(gy_db_rows_int(info, row, 7)))) ||
        gy__tracking_jset_str(o, "artifact_uri", gy_db_rows_text(info, row, 8)) ||
        gy__tracking_jset_str(o, "lifecycle_stage", gy_db_rows_text(info, row, 9))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Per-run JSON pieces while the Run objects are assembled. */
struct run_parts {
    int64_t rid;
    json_t *metrics, *params, *tags, *inputs;
};

static int cmp_parts(const void *a, const void *b)
{
    int64_t x = ((const struct run_parts *)a)->rid, y = ((const struct run_parts *)b)->rid;
    return x < y ? -1 : x > y;
}

static struct run_parts *find_parts(struct run_parts *parts, size_t n, int64_t rid)
{
    struct run_parts key = {.rid = rid};
    return bsearch(&key, parts, n, sizeof *parts, cmp_parts);
}

/*
 * Runs per chunked IN (...) list. The list holds internal integer keys read from the store
 * itself, written as literals: binding them would make SQLite look hundreds of named
 * parameters up linearly (quadratic in the list length). No text from outside is ever
 * written into SQL.
 */
#define RUNS_CHUNK 1000

/*
 * Runs @p select (which must end with "WHERE <col> IN ") once per chunk of run keys and hands
 * each row to @p add.
 */
static enum gy_status for_chunks(struct gy_db *db, const struct run_parts *sorted, size_t n,
                                 const char *select, const char *tail,
                                 enum gy_status (*add)(struct run_parts *, size_t,
                                                       const struct gy_db_rows *, size_t),
                                 struct run_parts *parts)
{
    enum gy_status rc = GY_OK;
    for (size_t at = 0; at < n && rc == GY_OK; at += RUNS_CHUNK) {
        size_t m = GY_MIN((size_t)RUNS_CHUNK, n - at);
        struct gy_db_sql b;
        struct gy_db_rows *rows = NULL;
        gy_db_sql_init(&b);
        gy_db_sql_printf(&b, "%s(", select);
        for (size_t i = 0; i < m; i++) {
            if (i)
                gy_db_sql_printf(&b, ",");
            gy_db_sql_printf(&b, "%lld", (long long)sorted[at + i].rid);
        }
        gy_db_sql_printf(&b, ")%s", tail);
        rc = b.rc;
        if (rc == GY_OK)
            rc = gy_db_query(db, b.sql.data, b.p, b.np, &rows);
        for (size_t r = 0; rc == GY_OK && r < gy_db_rows_count(rows); r++)
            rc = add(parts, n, rows, r);
        gy_db_rows_free(rows);
        gy_db_sql_free(&b);
    }
    return rc;
}

static enum gy_status add_metric(struct run_parts *parts, size_t n, const struct gy_db_rows *r,
                                 size_t row)
{
    struct run_parts *p = find_parts(parts, n, gy_db_rows_int(r, row, 0));
    json_t *m;
    if (!p)
        return GY_OK;
    if (!p->metrics && !(p->metrics = json_array()))
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    m = json_object();
    if (!m)
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    if (gy__tracking_jset_str(m, "key", gy_db_rows_text(r, row, 1)) ||
        gy_json_set(m, "value",
                    gy__tracking_jmetric_value(gy_db_rows_real(r, row, 2),
                                               (int)gy_db_rows_int(r, row, 3))) ||
        gy_json_set(m, "timestamp", gy__tracking_jint(gy_db_rows_int(r, row, 4))) ||
        gy_json_set(m, "step", gy__tracking_jint(gy_db_rows_int(r, row, 5)))) {
        json_decref(m);
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    }
    if (json_array_append_new(p->metrics, m))
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    return GY_OK;
}

static enum gy_status add_kv(json_t **arr, const struct gy_db_rows *r, size_t row)
{
    if (!*arr && !(*arr = json_array()))
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    return gy__tracking_jtag(*arr, gy_db_rows_text(r, row, 1), gy_db_rows_text(r, row, 2));
}

static enum gy_status add_param(struct run_parts *parts, size_t n, const struct gy_db_rows *r,
                                size_t row)
{
    struct run_parts *p = find_parts(parts, n, gy_db_rows_int(r, row, 0));
    return p ? add_kv(&p->params, r, row) : GY_OK;
}

static enum gy_status add_tag(struct run_parts *parts, size_t n, const struct gy_db_rows *r,
                              size_t row)
{
    struct run_parts *p = find_parts(parts, n, gy_db_rows_int(r, row, 0));
    return p ? add_kv(&p->tags, r, row) : GY_OK;
}

/*
 * Input rows: run, input id, name, digest, source_type, source, schema, profile, tag key, tag
 * value; ordered by run, input id, tag key, so the tags of one input are adjacent.
 */
static enum gy_status add_input(struct run_parts *parts, size_t n, const struct gy_db_rows *r,
                                size_t row)
{
    struct run_parts *p = find_parts(parts, n, gy_db_rows_int(r, row, 0));
    json_t *last, *in, *ds;
    if (!p)
        return GY_OK;
    if (!p->inputs && !(p->inputs = json_array()))
        return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
    last = json_array_size(p->inputs) ? json_array_get(p->inputs, json_array_size(p->inputs) - 1)
                                      : NULL;
    if (!(row > 0 && gy_db_rows_int(r, row - 1, 0) == p->rid &&
          gy_db_rows_int(r, row - 1, 1) == gy_db_rows_int(r, row, 1) && last)) {
        ds = json_object();
        if (!ds)
            return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
        if (gy__tracking_jset_str(ds, "name", gy_db_rows_text(r, row, 2)) ||
            gy__tracking_jset_str(ds, "digest", gy_db_rows_text(r, row, 3)) ||
            gy__tracking_jset_str(ds, "source_type", gy_db_rows_text(r, row, 4)) ||
            gy__tracking_jset_str(ds, "source", gy_db_rows_text(r, row, 5)) ||
            gy__tracking_jset_str(ds, "schema", gy_db_rows_text(r, row, 6)) ||
            gy__tracking_jset_str(ds, "profile", gy_db_rows_text(r, row, 7))) {
            json_decref(ds);
            return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
        }
        in = json_object();
        if (!in) {
            json_decref(ds);
            return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
        }
        if (gy_json_set(in, "dataset", ds)) {
            json_decref(in);
            return GY_E_NOMEM;
        }
        if (json_array_append_new(p->inputs, in))
            return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
        last = in;
    }
    if (!gy_db_rows_isnull(r, row, 8)) {
        json_t *tags = json_object_get(last, "tags");
        if (!tags) {
            if (gy_json_set(last, "tags", json_array()))
                return gy_error_set(GY_E_NOMEM, "out of memory building JSON");
            tags = json_object_get(last, "tags");
        }
        return gy__tracking_jtag(tags, gy_db_rows_text(r, row, 8), gy_db_rows_text(r, row, 9));
    }
    return GY_OK;
}

static void parts_free(struct run_parts *parts, size_t n)
{
    for (size_t i = 0; parts && i < n; i++) {
        json_decref(parts[i].metrics);
        json_decref(parts[i].params);
        json_decref(parts[i].tags);
        json_decref(parts[i].inputs);
    }
    gy_free(parts);
}

enum gy_status gy__tracking_runs_json(struct gy_db *db, const struct gy_db_rows *info, size_t n,
                                      json_t *arr)
{
    struct run_parts *parts = NULL;
    const char *coll = gy__tracking_coll(db);
    char tail[96];
    enum gy_status rc = GY_OK;
    if (n == 0)
        return GY_OK;
    parts = gy_calloc(n, sizeof *parts);
    if (!parts)
        return gy_error_set(GY_E_NOMEM, "out of memory building runs");
    for (size_t i = 0; i < n; i++)
        parts[i].rid = gy_db_rows_int(info, i, 0);
    qsort(parts, n, sizeof *parts, cmp_parts);
    snprintf(tail, sizeof tail, " ORDER BY run, key%s", coll);
    rc = for_chunks(db, parts, n,
                    "SELECT run, key, value, is_nan, timestamp_ms, step FROM run_latest_metrics "
                    "WHERE run IN ",
                    tail, add_metric, parts);
    if (rc == GY_OK)
        rc = for_chunks(db, parts, n, "SELECT run, key, value FROM run_params WHERE run IN ", tail,
                        add_param, parts);
    if (rc == GY_OK)
        rc = for_chunks(db, parts, n, "SELECT run, key, value FROM run_tags WHERE run IN ", tail,
                        add_tag, parts);
    if (rc == GY_OK) {
        snprintf(tail, sizeof tail, " ORDER BY i.run, i.id, t.key%s", coll);
        rc = for_chunks(db, parts, n,
                        "SELECT i.run, i.id, d.name, d.digest, d.source_type, d.source, "
                        "d.schema_json, d.profile, t.key, t.value FROM run_inputs i "
                        "JOIN tracking_datasets d ON d.id = i.dataset_id "
                        "LEFT JOIN run_input_tags t ON t.input_id = i.id WHERE i.run IN ",
                        tail, add_input, parts);
    }
    for (size_t i = 0; rc == GY_OK && i < n; i++) {
        struct run_parts *p = find_parts(parts, n, gy_db_rows_int(info, i, 0));
        json_t *run = json_object(), *data = json_object(), *inputs = json_object();
        json_t *ri = gy__tracking_run_info_json(info, i);
        json_t *m = p->metrics ? p->metrics : json_array();
        json_t *pa = p->params ? p->params : json_array();
        json_t *t = p->tags ? p->tags : json_array();
        json_t *in = p->inputs ? p->inputs : json_array();
        int bad = 0;
        p->metrics = p->params = p->tags = p->inputs = NULL;
        if (!run || !data || !inputs) {
            json_decref(m);
            json_decref(pa);
            json_decref(t);
            json_decref(in);
            json_decref(ri);
            json_decref(run);
            json_decref(data);
            json_decref(inputs);
            rc = gy_error_set(GY_E_NOMEM, "out of memory building runs");
            break;
        }
        /* Each call below consumes its value, success or not. */
        bad |= gy__tracking_jset_list(data, "metrics", m) != GY_OK;
        bad |= gy__tracking_jset_list(data, "params", pa) != GY_OK;
        bad |= gy__tracking_jset_list(data, "tags", t) != GY_OK;
        bad |= gy__tracking_jset_list(inputs, "dataset_inputs", in) != GY_OK;
        bad |= gy_json_set(run, "info", ri) != GY_OK;
        bad |= gy_json_set(run, "data", data) != GY_OK;
        bad |= gy_json_set(run, "inputs", inputs) != GY_OK;
        if (bad) {
            json_decref(run);
            rc = gy_error_set(GY_E_NOMEM, "out of memory building runs");
            break;
        }
        if (json_array_append_new(arr, run))
            rc = gy_error_set(GY_E_NOMEM, "out of memory building runs");
    }
    parts_free(parts, n);
    return rc;
}
