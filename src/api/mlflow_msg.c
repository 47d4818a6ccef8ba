/* SPDX-License-Identifier: MIT */
/*
 * mlflow_msg.c - request messages of the MLflow REST API: typed field accessors that follow
 * MLflow's reading of proto JSON and query strings (ids as strings or numbers, int64 as
 * numbers or decimal strings, doubles with "NaN"/"Infinity", booleans from "true"/"false",
 * repeated query keys for repeated fields, unknown keys ignored), the parsers of the larger
 * messages (searches, runs/create, log-metric, log-batch, log-inputs, model-versions/create),
 * the artifact proxy path check and the error-code mapping. Nothing here touches the store
 * or the network: the handlers in mlflow.c and mlflow_registry.c call these, and so do the
 * unit tests and tests/fuzz/fuzz_mlflow.c.
 */
#include "api/mlflow_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* MLflow ends every validation message with this sentence. */
#define API_DOCS " See the API docs for more information about request parameters."

/* ------------------------------------------------------------------ lookup */

/* A field's value: a JSON value from the body, or the query value(s). */
struct field {
    const json_t *j; /* from the body (never JSON null) */
    const char *q;   /* else the first query value */
};

static void lookup(const struct gy__mlflow_msg *m, const char *key, struct field *f)
{
    f->j = NULL;
    f->q = NULL;
    if (m->body) {
        const json_t *j = json_object_get(m->body, key);
        if (j && !json_is_null(j)) {
            f->j = j;
            return;
        }
    }
    for (size_t i = 0; i < m->nq; i++) {
        if (strcmp(m->qkey[i], key) == 0) {
            f->q = m->qval[i];
            return;
        }
    }
}

/* Python's name of a JSON value's type, as MLflow's hints print it. */
static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "dict";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
        return "NoneType";
    }
    return "unknown";
}

static enum gy_status missing(const char *key)
{
    return gy_error_set(GY_E_INVALID, "Missing value for required parameter '%s'." API_DOCS, key);
}

/* "Invalid value X for parameter 'key' supplied. Hint: ..." with X the JSON text (cut short). */
static enum gy_status invalid_json(const char *key, const json_t *j, const char *expected)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    enum gy_status rc = gy_error_set(
        GY_E_INVALID,
        "Invalid value %.100s%s for parameter '%s' supplied. Hint: Value was of type '%s', "
        "expected %s." API_DOCS,
        text ? text : "?", text && strlen(text) > 100 ? "..." : "", key, type_name(j), expected);
    gy_free(text); /* jansson allocates through gy_malloc */
    return rc;
}

static enum gy_status invalid_text(const char *key, const char *s, const char *expected)
{
    return gy_error_set(
        GY_E_INVALID, "Invalid value '%.100s'%s for parameter '%s' supplied: expected %s." API_DOCS,
        s, strlen(s) > 100 ? "..." : "", key, expected);
}

/* ------------------------------------------------------------------ body */

enum gy_status gy__mlflow_msg_body(struct gy__mlflow_msg *m, const char *body, size_t len,
                                   json_t **json)
{
    json_t *j = NULL;
    enum gy_status rc;
    size_t i;

    *json = NULL;
    m->body = NULL;
    for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
        ;
    if (i == len)
        return GY_OK;
    if ((rc = gy_json_parse(body, len, GY_JSON_MAX_DEPTH, "request body", &j)))
        return rc;
    if (json_is_string(j)) {
        /* Old clients post their JSON double-encoded as a string; MLflow decodes it again. */
        json_t *inner = NULL;
        rc = gy_json_parse(json_string_value(j), json_string_length(j), GY_JSON_MAX_DEPTH,
                           "request body (a JSON string holding JSON)", &inner);
        json_decref(j);
        if (rc)
            return rc;
        j = inner;
    }
    *json = j;
    if (!json_is_object(j))
        return gy_error_set(GY_E_INVALID, "the request body must be a JSON object, not a JSON %s",
                            type_name(j));
    m->body = j;
    return GY_OK;
}

/* ------------------------------------------------------------------ scalar accessors */

enum gy_status gy__mlflow_str(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                              const char **out)
{
    struct field f;
    *out = NULL;
    lookup(m, key, &f);
    if (f.j) {
        if (!json_is_string(f.j))
            return invalid_json(key, f.j, "a string");
        *out = json_string_value(f.j);
    } else {
        *out = f.q;
    }
    if ((flags & GY__MLFLOW_REQUIRED) && (!*out || !**out)) {
        *out = NULL;
        return missing(key);
    }
    return GY_OK;
}

/* The text of a JSON integer, in the arena. */
static enum gy_status int_text(struct gy_arena *a, json_int_t v, const char **out)
{
    char buf[32];
    char *s;
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    s = gy_arena_strdup(a, buf);
    if (!s)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    *out = s;
    return GY_OK;
}

enum gy_status gy__mlflow_id(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                             const char **out)
{
    struct field f;
    enum gy_status rc;
    *out = NULL;
    lookup(m, key, &f);
    if (f.j && json_is_integer(f.j)) {
        if ((rc = int_text(m->arena, json_integer_value(f.j), out)))
            return rc;
    } else if (f.j && !json_is_string(f.j)) {
        return invalid_json(key, f.j, "a string");
    } else {
        *out = f.j ? json_string_value(f.j) : f.q;
    }
    if ((flags & GY__MLFLOW_REQUIRED) && (!*out || !**out)) {
        *out = NULL;
        return missing(key);
    }
    return GY_OK;
}

enum gy_status gy__mlflow_run_id(const struct gy__mlflow_msg *m, const char **out)
{
    enum gy_status rc = gy__mlflow_id(m, "run_id", 0, out);
    if (rc == GY_OK && (!*out || !**out))
        rc = gy__mlflow_id(m, "run_uuid", 0, out);
    if (rc == GY_OK && (!*out || !**out)) {
        *out = NULL;
        return missing("run_id");
    }
    return rc;
}

/* Parses a whole decimal integer with one optional sign ("+5", "-5", "5"; not " 5"). */
static int parse_int_text(const char *s, int64_t *out)
{
    const char *d = *s == '+' || *s == '-' ? s + 1 : s;
    if (!isdigit((unsigned char)*d))
        return 0;
    return gy_parse_int64(*s == '+' ? d : s, out) == GY_OK;
}

enum gy_status gy__mlflow_int64(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                                int64_t *out, int *set)
{
    struct field f;
    int64_t v;
    if (set)
        *set = 0;
    lookup(m, key, &f);
    if (f.j) {
        if (json_is_integer(f.j)) {
            v = json_integer_value(f.j);
        } else if (json_is_real(f.j)) {
            double d = json_real_value(f.j);
            /* proto JSON takes 5.0 for an int64, not 5.5; 2^63 itself is out of range. */
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
                return invalid_json(key, f.j, "an integer");
            v = (int64_t)d;
        } else if (json_is_string(f.j)) {
            if (!parse_int_text(json_string_value(f.j), &v))
                return invalid_json(key, f.j, "an integer");
        } else {
            return invalid_json(key, f.j, "an integer");
        }
    } else if (f.q) {
        if (!*f.q && (flags & GY__MLFLOW_REQUIRED))
            return missing(key);
        if (!parse_int_text(f.q, &v))
            return invalid_text(key, f.q, "an integer");
    } else {
        return (flags & GY__MLFLOW_REQUIRED) ? missing(key) : GY_OK;
    }
    *out = v;
    if (set)
        *set = 1;
    return GY_OK;
}

/* A double from text: decimal notation, or NaN/Infinity in any case with an optional sign. */
static int parse_double_text(const char *s, double *out)
{
    const char *p = s;
    char *end;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (strcasecmp(p, "nan") == 0) {
        *out = NAN;
        return 1;
    }
    if (strcasecmp(p, "infinity") == 0 || strcasecmp(p, "inf") == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    /* Only plain decimal notation: strtod alone would also take hex floats and "infinite". */
    if (!*p || strspn(p, "0123456789.eE+-") != strlen(p))
        return 0;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && end != s && errno != ERANGE;
}

enum gy_status gy__mlflow_double(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                                 double *out, int *set)
{
    struct field f;
    double v;
    if (set)
        *set = 0;
    lookup(m, key, &f);
    if (f.j) {
        if (json_is_number(f.j))
            v = json_number_value(f.j);
        else if (!json_is_string(f.j) || !parse_double_text(json_string_value(f.j), &v))
            return invalid_json(key, f.j, "a number");
    } else if (f.q) {
        if (!*f.q && (flags & GY__MLFLOW_REQUIRED))
            return missing(key);
        if (!parse_double_text(f.q, &v))
            return invalid_text(key, f.q, "a number");
    } else {
        return (flags & GY__MLFLOW_REQUIRED) ? missing(key) : GY_OK;
    }
    *out = v;
    if (set)
        *set = 1;
    return GY_OK;
}

enum gy_status gy__mlflow_bool(const struct gy__mlflow_msg *m, const char *key, unsigned flags,
                               int *out, int *set)
{
    struct field f;
    const char *s = NULL;
    int v;
    if (set)
        *set = 0;
    lookup(m, key, &f);
    if (f.j) {
        if (json_is_boolean(f.j)) {
            *out = json_is_true(f.j);
            if (set)
                *set = 1;
            return GY_OK;
        }
        if (!json_is_string(f.j))
            return invalid_json(key, f.j, "a boolean");
        s = json_string_value(f.j);
    } else {
        s = f.q;
    }
    if (!s)
        return (flags & GY__MLFLOW_REQUIRED) ? missing(key) : GY_OK;
    if (strcasecmp(s, "true") == 0)
        v = 1;
    else if (strcasecmp(s, "false") == 0)
        v = 0;
    else
        return gy_error_set(GY_E_INVALID,
                            "Invalid boolean value: %.100s, must be 'true' or 'false' (parameter "
                            "'%s').",
                            s, key);
    *out = v;
    if (set)
        *set = 1;
    return GY_OK;
}

/* ------------------------------------------------------------------ repeated fields */

enum gy_status gy__mlflow_strs(const struct gy__mlflow_msg *m, const char *key, size_t max,
                               const char *const **out, size_t *n)
{
    struct field f;
    const char **v;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    lookup(m, key, &f);
    if (f.j && json_is_string(f.j)) {
        count = 1;
    } else if (f.j) {
        if (!json_is_array(f.j))
            return invalid_json(key, f.j, "a list of strings");
        count = json_array_size(f.j);
    } else {
        for (size_t i = 0; i < m->nq; i++)
            count += strcmp(m->qkey[i], key) == 0;
    }
    if (count == 0)
        return GY_OK;
    if (count > max)
        return gy_error_set(GY_E_INVALID,
                            "Invalid value for parameter '%s': at most %zu entries are accepted, "
                            "got %zu." API_DOCS,
                            key, max, count);
    v = gy_arena_alloc(m->arena, count * sizeof *v);
    if (!v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if (f.j && json_is_string(f.j)) {
        v[0] = json_string_value(f.j);
    } else if (f.j) {
        for (size_t i = 0; i < count; i++) {
            const json_t *e = json_array_get(f.j, i);
            enum gy_status rc;
            if (json_is_string(e))
                v[i] = json_string_value(e);
            else if (json_is_integer(e) && (rc = int_text(m->arena, json_integer_value(e), &v[i])))
                return rc;
            else if (!json_is_integer(e))
                return invalid_json(key, f.j, "a list of strings");
        }
    } else {
        size_t k = 0;
        for (size_t i = 0; i < m->nq; i++)
            if (strcmp(m->qkey[i], key) == 0)
                v[k++] = m->qval[i];
    }
    *out = v;
    *n = count;
    return GY_OK;
}

/* Reads entry @p i of a key/value array into @p t; @p what names the array in messages. */
static enum gy_status kv_entry(const char *what, size_t i, const json_t *e,
                               struct gy_tracking_tag *t)
{
    const json_t *k, *v;
    char name[96];
    snprintf(name, sizeof name, "%s[%zu]", what, i);
    if (!json_is_object(e))
        return invalid_json(name, e, "an object with \"key\" and \"value\"");
    k = json_object_get(e, "key");
    v = json_object_get(e, "value");
    snprintf(name, sizeof name, "%s[%zu].key", what, i);
    if (!k || json_is_null(k) || (json_is_string(k) && !*json_string_value(k)))
        return missing(name);
    if (!json_is_string(k))
        return invalid_json(name, k, "a string");
    t->key = json_string_value(k);
    t->value = "";
    if (v && !json_is_null(v)) {
        snprintf(name, sizeof name, "%s[%zu].value", what, i);
        if (!json_is_string(v))
            return invalid_json(name, v, "a string");
        t->value = json_string_value(v);
    }
    return GY_OK;
}

/* The JSON array under @p key of the body; NULL when absent; GY_E_INVALID when not an array. */
static enum gy_status body_array(const struct gy__mlflow_msg *m, const char *key,
                                 const json_t **out)
{
    const json_t *a = m->body ? json_object_get(m->body, key) : NULL;
    *out = NULL;
    if (!a || json_is_null(a))
        return GY_OK;
    if (!json_is_array(a))
        return invalid_json(key, a, "a list");
    *out = a;
    return GY_OK;
}

enum gy_status gy__mlflow_tags(const struct gy__mlflow_msg *m, const char *key, size_t max,
                               struct gy_tracking_tag **out, size_t *n)
{
    const json_t *a;
    struct gy_tracking_tag *t;
    size_t count;
    enum gy_status rc;

    *out = NULL;
    *n = 0;
    if ((rc = body_array(m, key, &a)) || !a || (count = json_array_size(a)) == 0)
        return rc;
    if (count > max)
        return gy_error_set(GY_E_INVALID,
                            "Invalid value for parameter '%s': at most %zu entries are accepted, "
                            "got %zu." API_DOCS,
                            key, max, count);
    t = gy_arena_alloc(m->arena, count * sizeof *t);
    if (!t)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        if ((rc = kv_entry(key, i, json_array_get(a, i), &t[i])))
            return rc;
    *out = t;
    *n = count;
    return GY_OK;
}

/* ------------------------------------------------------------------ searches */

/* A ViewType: its name ("ACTIVE_ONLY") or its proto number (1-3). */
static enum gy_status view_field(const struct gy__mlflow_msg *m, const char *key,
                                 enum gy_tracking_view *out)
{
    struct field f;
    lookup(m, key, &f);
    *out = GY_TRACKING_VIEW_ACTIVE_ONLY;
    if (f.j && json_is_integer(f.j)) {
        json_int_t v = json_integer_value(f.j);
        if (v < GY_TRACKING_VIEW_ACTIVE_ONLY || v > GY_TRACKING_VIEW_ALL)
            return invalid_json(key, f.j, "ACTIVE_ONLY, DELETED_ONLY or ALL");
        *out = (enum gy_tracking_view)v;
        return GY_OK;
    }
    if (f.j && !json_is_string(f.j))
        return invalid_json(key, f.j, "ACTIVE_ONLY, DELETED_ONLY or ALL");
    {
        const char *s = f.j ? json_string_value(f.j) : f.q;
        int64_t v;
        if (!s || !*s)
            return GY_OK;
        if (parse_int_text(s, &v) && v >= GY_TRACKING_VIEW_ACTIVE_ONLY &&
            v <= GY_TRACKING_VIEW_ALL) {
            *out = (enum gy_tracking_view)v;
            return GY_OK;
        }
        if (gy_tracking_view_parse(s, out) != GY_OK)
            return invalid_text(key, s, "ACTIVE_ONLY, DELETED_ONLY or ALL");
    }
    return GY_OK;
}

/* The common fields of every search: filter, order_by, max_results, page_token. */
static enum gy_status search_common(const struct gy__mlflow_msg *m, const char **filter,
                                    const char *const **order_by, size_t *norder_by,
                                    int64_t *max_results, const char **page_token)
{
    enum gy_status rc;
    int set = 0;
    *max_results = 0;
    if ((rc = gy__mlflow_str(m, "filter", 0, filter)) ||
        (rc = gy__mlflow_strs(m, "order_by", 100, order_by, norder_by)) ||
        (rc = gy__mlflow_int64(m, "max_results", 0, max_results, &set)) ||
        (rc = gy__mlflow_str(m, "page_token", 0, page_token)))
        return rc;
    if (set && *max_results <= 0)
        return gy_error_set(GY_E_INVALID,
                            "Invalid value %lld for parameter 'max_results' supplied: it must be "
                            "a positive number." API_DOCS,
                            (long long)*max_results);
    return GY_OK;
}

enum gy_status gy__mlflow_parse_experiment_search(const struct gy__mlflow_msg *m,
                                                  struct gy_tracking_search *out)
{
    enum gy_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = search_common(m, &out->filter, &out->order_by, &out->norder_by, &out->max_results,
                            &out->page_token)))
        return rc;
    return view_field(m, "view_type", &out->view);
}

enum gy_status gy__mlflow_parse_run_search(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_search *out)
{
    const char *const *ids;
    int64_t *v;
    size_t n;
    enum gy_status rc;

    memset(out, 0, sizeof *out);
    if ((rc = search_common(m, &out->filter, &out->order_by, &out->norder_by, &out->max_results,
                            &out->page_token)) ||
        (rc = view_field(m, "run_view_type", &out->view)) ||
        (rc = gy__mlflow_strs(m, "experiment_ids", 10000, &ids, &n)))
        return rc;
    if (n == 0)
        return GY_OK;
    v = gy_arena_alloc(m->arena, n * sizeof *v);
    if (!v)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (gy_tracking_experiment_id_parse(ids[i], &v[i]))
            return invalid_text("experiment_ids", ids[i], "experiment ids (decimal strings)");
    out->experiment_ids = v;
    out->nexperiment_ids = n;
    return GY_OK;
}

enum gy_status gy__mlflow_parse_registry_search(const struct gy__mlflow_msg *m,
                                                struct gy_registry_search *out)
{
    memset(out, 0, sizeof *out);
    return search_common(m, &out->filter, &out->order_by, &out->norder_by, &out->max_results,
                         &out->page_token);
}

/* ------------------------------------------------------------------ runs */

enum gy_status gy__mlflow_parse_run_create(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_run_create *out)
{
    const char *exp = NULL;
    struct gy_tracking_tag *tags;
    size_t ntags;
    enum gy_status rc;

    memset(out, 0, sizeof *out);
    out->experiment_id = GY_TRACKING_DEFAULT_EXPERIMENT_ID;
    if ((rc = gy__mlflow_id(m, "experiment_id", 0, &exp)) ||
        (rc = gy__mlflow_str(m, "user_id", 0, &out->user_id)) ||
        (rc = gy__mlflow_str(m, "run_name", 0, &out->run_name)) ||
        (rc = gy__mlflow_int64(m, "start_time", 0, &out->start_time_ms, NULL)) ||
        (rc = gy__mlflow_tags(m, "tags", 1000, &tags, &ntags)))
        return rc;
    if (exp && *exp && gy_tracking_experiment_id_parse(exp, &out->experiment_id))
        return invalid_text("experiment_id", exp, "an experiment id (a decimal string)");
    out->tags = tags;
    out->ntags = ntags;
    return GY_OK;
}

enum gy_status gy__mlflow_parse_run_update(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_run_update *out)
{
    struct field f;
    enum gy_status rc;

    memset(out, 0, sizeof *out);
    if ((rc = gy__mlflow_int64(m, "end_time", 0, &out->end_time_ms, &out->set_end_time)) ||
        (rc = gy__mlflow_str(m, "run_name", 0, &out->run_name)))
        return rc;
    lookup(m, "status", &f);
    if (f.j && json_is_integer(f.j)) {
        json_int_t v = json_integer_value(f.j);
        if (v < GY_RUN_RUNNING || v > GY_RUN_KILLED)
            return invalid_json("status", f.j, "RUNNING, SCHEDULED, FINISHED, FAILED or KILLED");
        out->status = (enum gy_tracking_run_status)v;
    } else if (f.j || f.q) {
        const char *s;
        if ((rc = gy__mlflow_str(m, "status", 0, &s)))
            return rc;
        if (*s && gy_tracking_run_status_parse(s, &out->status))
            return invalid_text("status", s, "RUNNING, SCHEDULED, FINISHED, FAILED or KILLED");
    }
    return GY_OK;
}

/* A metric object (log-metric's message, or one entry of log-batch's metrics). */
static enum gy_status metric_from(const struct gy__mlflow_msg *m, struct gy_tracking_metric *out)
{
    enum gy_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = gy__mlflow_str(m, "key", GY__MLFLOW_REQUIRED, &out->key)) ||
        (rc = gy__mlflow_double(m, "value", GY__MLFLOW_REQUIRED, &out->value, NULL)) ||
        (rc = gy__mlflow_int64(m, "timestamp", GY__MLFLOW_REQUIRED, &out->timestamp_ms, NULL)) ||
        (rc = gy__mlflow_int64(m, "step", 0, &out->step, NULL)))
        return rc;
    return GY_OK;
}

enum gy_status gy__mlflow_parse_metric(const struct gy__mlflow_msg *m,
                                       struct gy_tracking_metric *out)
{
    return metric_from(m, out);
}

enum gy_status gy__mlflow_parse_log_batch(const struct gy__mlflow_msg *m,
                                          struct gy__mlflow_batch *out)
{
    const json_t *metrics, *params, *tags;
    size_t nm, np, nt;
    enum gy_status rc;

    memset(out, 0, sizeof *out);
    /* The counts first, with MLflow's texts, so that nothing is allocated for a huge batch. */
    if ((rc = body_array(m, "metrics", &metrics)) || (rc = body_array(m, "params", &params)) ||
        (rc = body_array(m, "tags", &tags)))
        return rc;
    nm = json_array_size(metrics); /* 0 for NULL */
    np = json_array_size(params);
    nt = json_array_size(tags);
    if (nm > GY_TRACKING_BATCH_METRICS_MAX)
        return gy_error_set(GY_E_INVALID,
                            "A batch logging request can contain at most %d metrics. Got %zu "
                            "metrics. Please split up metrics across multiple requests and try "
                            "again.",
                            GY_TRACKING_BATCH_METRICS_MAX, nm);
    if (np > GY_TRACKING_BATCH_PARAMS_MAX)
        return gy_error_set(GY_E_INVALID,
                            "A batch logging request can contain at most %d params. Got %zu "
                            "params. Please split up params across multiple requests and try "
                            "again.",
                            GY_TRACKING_BATCH_PARAMS_MAX, np);
    if (nt > GY_TRACKING_BATCH_TAGS_MAX)
        return gy_error_set(GY_E_INVALID,
                            "A batch logging request can contain at most %d tags. Got %zu tags. "
                            "Please split up tags across multiple requests and try again.",
                            GY_TRACKING_BATCH_TAGS_MAX, nt);
    if (nm + np + nt > GY_TRACKING_BATCH_TOTAL_MAX)
        return gy_error_set(GY_E_INVALID,
                            "A batch logging request can contain at most %d total entities "
                            "(metrics, params and tags). Got %zu. Please split up the entities "
                            "across multiple requests and try again.",
                            GY_TRACKING_BATCH_TOTAL_MAX, nm + np + nt);
    if ((rc = gy__mlflow_tags(m, "params", GY_TRACKING_BATCH_PARAMS_MAX, &out->params,
                              &out->nparams)) ||
        (rc = gy__mlflow_tags(m, "tags", GY_TRACKING_BATCH_TAGS_MAX, &out->tags, &out->ntags)))
        return rc;
    if (metrics && json_array_size(metrics) > 0) {
        size_t n = json_array_size(metrics);
        out->metrics = gy_arena_alloc(m->arena, n * sizeof *out->metrics);
        if (!out->metrics)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(metrics, i);
            struct gy__mlflow_msg sub = {.body = e, .arena = m->arena};
            char name[48];
            if (!json_is_object(e)) {
                snprintf(name, sizeof name, "metrics[%zu]", i);
                return invalid_json(name, e, "a metric object");
            }
            if ((rc = metric_from(&sub, &out->metrics[i])))
                return gy_error_wrap(rc, "metrics[%zu]", i);
        }
        out->nmetrics = n;
    }
    return GY_OK;
}

/* One DatasetInput: {"tags": [...], "dataset": {...}}. */
static enum gy_status dataset_input(struct gy_arena *a, size_t i, const json_t *e,
                                    struct gy_tracking_dataset_input *d)
{
    struct gy__mlflow_msg in = {.body = e, .arena = a}, ds = {.arena = a};
    struct gy_tracking_tag *tags;
    const json_t *dj;
    enum gy_status rc;
    char name[48];

    memset(d, 0, sizeof *d);
    snprintf(name, sizeof name, "datasets[%zu]", i);
    if (!json_is_object(e))
        return invalid_json(name, e, "a DatasetInput object");
    dj = json_object_get(e, "dataset");
    snprintf(name, sizeof name, "datasets[%zu].dataset", i);
    if (!dj || json_is_null(dj))
        return missing(name);
    if (!json_is_object(dj))
        return invalid_json(name, dj, "a Dataset object");
    ds.body = dj;
    if ((rc = gy__mlflow_tags(&in, "tags", 100, &tags, &d->ntags)) ||
        (rc = gy__mlflow_str(&ds, "name", GY__MLFLOW_REQUIRED, &d->name)) ||
        (rc = gy__mlflow_str(&ds, "digest", GY__MLFLOW_REQUIRED, &d->digest)) ||
        (rc = gy__mlflow_str(&ds, "source_type", GY__MLFLOW_REQUIRED, &d->source_type)) ||
        (rc = gy__mlflow_str(&ds, "source", GY__MLFLOW_REQUIRED, &d->source)) ||
        (rc = gy__mlflow_str(&ds, "schema", 0, &d->schema)) ||
        (rc = gy__mlflow_str(&ds, "profile", 0, &d->profile)))
        return gy_error_wrap(rc, "datasets[%zu]", i);
    d->tags = tags;
    return GY_OK;
}

enum gy_status gy__mlflow_parse_log_inputs(const struct gy__mlflow_msg *m,
                                           struct gy_tracking_dataset_input **out, size_t *n)
{
    const json_t *a;
    struct gy_tracking_dataset_input *d;
    size_t count;
    enum gy_status rc;

    *out = NULL;
    *n = 0;
    if ((rc = body_array(m, "datasets", &a)) || !a || (count = json_array_size(a)) == 0)
        return rc;
    if (count > GY__MLFLOW_INPUTS_MAX)
        return gy_error_set(GY_E_INVALID,
                            "A log-inputs request can contain at most %d datasets. Got %zu.",
                            GY__MLFLOW_INPUTS_MAX, count);
    d = gy_arena_alloc(m->arena, count * sizeof *d);
    if (!d)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        if ((rc = dataset_input(m->arena, i, json_array_get(a, i), &d[i])))
            return rc;
    *out = d;
    *n = count;
    return GY_OK;
}

/* ------------------------------------------------------------------ registry */

enum gy_status gy__mlflow_parse_version_create(const struct gy__mlflow_msg *m,
                                               struct gy_registry_version_create *out)
{
    struct gy_tracking_tag *tags;
    struct gy_registry_tag *rt = NULL;
    size_t ntags;
    enum gy_status rc;

    memset(out, 0, sizeof *out);
    if ((rc = gy__mlflow_str(m, "name", GY__MLFLOW_REQUIRED, &out->name)) ||
        (rc = gy__mlflow_str(m, "source", GY__MLFLOW_REQUIRED, &out->source)) ||
        (rc = gy__mlflow_id(m, "run_id", 0, &out->run_id)) ||
        (rc = gy__mlflow_str(m, "run_link", 0, &out->run_link)) ||
        (rc = gy__mlflow_str(m, "description", 0, &out->description)) ||
        (rc = gy__mlflow_tags(m, "tags", 1000, &tags, &ntags)))
        return rc;
    if (out->run_id && !*out->run_id)
        out->run_id = NULL;
    if (ntags) {
        rt = gy_arena_alloc(m->arena, ntags * sizeof *rt);
        if (!rt)
            return gy_error_set(GY_E_NOMEM, "out of memory");
        for (size_t i = 0; i < ntags; i++) {
            rt[i].key = tags[i].key;
            rt[i].value = tags[i].value;
        }
    }
    out->tags = rt;
    out->ntags = ntags;
    return GY_OK;
}

/* ------------------------------------------------------------------ artifact proxy paths */

/* Case-insensitive search for @p needle (ASCII) in @p s. */
static int has_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    return 0;
}

enum gy_status gy__mlflow_proxy_path(const char *raw, const char *decoded, int64_t *experiment_id,
                                     char run_id[GY_TRACKING_RUN_ID_LEN + 1], const char **rel)
{
    const char *p, *slash;
    char expbuf[24];
    enum gy_status rc;

    *rel = NULL;
    run_id[0] = '\0';
    if (raw) {
        const char *why = NULL;
        if (has_ci(raw, "%25"))
            why = "a percent-encoded '%' (double encoding)";
        else if (has_ci(raw, "%2f"))
            why = "a percent-encoded '/'";
        else if (has_ci(raw, "%5c") || strchr(raw, '\\'))
            why = "a backslash";
        else if (strchr(raw, ';'))
            why = "';' (path parameters)";
        else if (strchr(raw, '#'))
            why = "'#' (a URI fragment)";
        if (why)
            return gy_error_set(GY_E_INVALID, "Invalid artifact path: it contains %s", why);
    }
    if (!decoded || !*decoded)
        return gy_error_set(GY_E_INVALID,
                            "Missing artifact path: expected <experiment_id>/<run_id>/artifacts/"
                            "<path>");
    if ((rc = gy_tracking_artifact_path_check(decoded, 0)))
        return gy_error_wrap(rc, "Invalid artifact path");
    slash = strchr(decoded, '/');
    if (!slash || (size_t)(slash - decoded) >= sizeof expbuf)
        goto shape;
    memcpy(expbuf, decoded, (size_t)(slash - decoded));
    expbuf[slash - decoded] = '\0';
    if (gy_tracking_experiment_id_parse(expbuf, experiment_id) != GY_OK)
        goto shape;
    p = slash + 1;
    if (strlen(p) < GY_TRACKING_RUN_ID_LEN + 10 || p[GY_TRACKING_RUN_ID_LEN] != '/')
        goto shape;
    memcpy(run_id, p, GY_TRACKING_RUN_ID_LEN);
    run_id[GY_TRACKING_RUN_ID_LEN] = '\0';
    if (!gy_tracking_run_id_valid(run_id))
        goto shape;
    p += GY_TRACKING_RUN_ID_LEN + 1;
    if (strncmp(p, "artifacts", 9) != 0 || (p[9] != '\0' && p[9] != '/'))
        goto shape;
    p += 9;
    if (*p == '/')
        p++;
    *rel = p;
    return GY_OK;
shape:
    run_id[0] = '\0';
    return gy_error_set(GY_E_INVALID,
                        "Invalid artifact path '%s': expected <experiment_id>/<run_id>/artifacts/"
                        "<path>",
                        decoded);
}

/* ------------------------------------------------------------------ errors */

const char *gy__mlflow_error_code(enum gy_status s, int *http_status)
{
    switch (s) {
    case GY_NOT_FOUND:
        *http_status = 404;
        return "RESOURCE_DOES_NOT_EXIST";
    case GY_E_EXISTS:
        *http_status = 400;
        return "RESOURCE_ALREADY_EXISTS";
    case GY_E_INVALID:
    case GY_E_TOO_LARGE:
    case GY_E_SCHEMA:
    case GY_E_UNSUPPORTED:
        *http_status = 400;
        return "INVALID_PARAMETER_VALUE";
    case GY_E_CONFLICT:
        *http_status = 409;
        return "RESOURCE_CONFLICT";
    case GY_E_PERM:
        *http_status = 403;
        return "PERMISSION_DENIED";
    case GY_E_BUSY:
    case GY_AGAIN:
        *http_status = 503;
        return "TEMPORARILY_UNAVAILABLE";
    default:
        *http_status = 500;
        return "INTERNAL_ERROR";
    }
}

/* Length of the valid UTF-8 sequence at @p s (at most @p n bytes), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

enum gy_status gy__mlflow_resp_error(struct gy_http_resp *resp, int http_status, const char *code,
                                     const char *msg)
{
    size_t n = strlen(msg ? msg : ""), o = 0;
    char *clean = gy_malloc(n + 1);
    json_t *body;
    enum gy_status rc;

    if (!clean)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)msg + i, n - i);
        if (k == 0) {
            clean[o++] = '?';
            i++;
        } else {
            memcpy(clean + o, msg + i, k);
            o += k;
            i += k;
        }
    }
    clean[o] = '\0';
    body = json_pack("{s:s, s:s}", "error_code", code, "message", clean);
    gy_free(clean);
    if (http_status == 503)
        gy_http_resp_header(resp, "Retry-After", "1");
    rc = gy_http_resp_json(resp, http_status, body);
    return rc;
}
