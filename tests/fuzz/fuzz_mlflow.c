/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mlflow.c - libFuzzer target for the request handling of the MLflow API
 * (src/api/mlflow_msg.c), without a server. Each input is read three ways: as a request body
 * (gy__mlflow_msg_body, then every accessor on the field names MLflow uses and every message
 * parser), as a query string ("k=v&k=v", what GET and DELETE handlers see), and as an
 * artifact proxy path (gy__mlflow_proxy_path, both as sent and as decoded text).
 *
 * Besides the sanitizers, the target aborts when a promise breaks: a failure without error
 * text or not GY_E_INVALID/GY_E_NOMEM; a parsed log-batch past the batch limits or with a
 * NULL key; a run search with experiment ids but no array; or a proxy path that is accepted
 * although it holds a "..", "." or empty segment, a backslash, ';', '#', '?', '%', a control
 * character, or yields a run id that is not 32 hex digits or a relative path that
 * gy_tracking_artifact_path_check refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/mlflow_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
    "name",           "run_id",      "run_uuid",    "experiment_id",
    "experiment_ids", "key",         "value",       "timestamp",
    "step",           "version",     "stage",       "archive_existing_versions",
    "metrics",        "params",      "tags",        "order_by",
    "filter",         "max_results", "view_type",   "run_view_type",
    "page_token",     "status",      "end_time",    "start_time",
    "datasets",       "source",      "description", "new_name",
    "alias",          "path",        "stages",
};

/* A failed call must say why, and only with these codes. */
static void check_rc(enum gy_status rc)
{
    if (rc == GY_OK)
        return;
    if (rc != GY_E_INVALID && rc != GY_E_NOMEM)
        abort();
    if (!*gy_error_msg())
        abort();
}

static void exercise(const struct gy__mlflow_msg *m)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *s;
        const char *const *list;
        struct gy_tracking_tag *tags;
        int64_t v;
        double d;
        int b, set;
        size_t n;
        for (unsigned flags = 0; flags <= GY__MLFLOW_REQUIRED; flags++) {
            check_rc(gy__mlflow_str(m, keys[i], flags, &s));
            check_rc(gy__mlflow_id(m, keys[i], flags, &s));
            check_rc(gy__mlflow_int64(m, keys[i], flags, &v, &set));
            check_rc(gy__mlflow_double(m, keys[i], flags, &d, &set));
            check_rc(gy__mlflow_bool(m, keys[i], flags, &b, &set));
        }
        check_rc(gy__mlflow_strs(m, keys[i], 100, &list, &n));
        if (n && !list)
            abort();
        for (size_t k = 0; k < n; k++)
            if (!list[k])
                abort();
        if (gy__mlflow_tags(m, keys[i], 1000, &tags, &n) == GY_OK) {
            for (size_t k = 0; k < n; k++)
                if (!tags[k].key || !*tags[k].key || !tags[k].value)
                    abort();
        }
    }
    {
        const char *s;
        check_rc(gy__mlflow_run_id(m, &s));
    }
    {
        struct gy_tracking_search s;
        enum gy_status rc = gy__mlflow_parse_run_search(m, &s);
        check_rc(rc);
        if (rc == GY_OK && s.nexperiment_ids && !s.experiment_ids)
            abort();
        check_rc(gy__mlflow_parse_experiment_search(m, &s));
    }
    {
        struct gy_registry_search s;
        check_rc(gy__mlflow_parse_registry_search(m, &s));
    }
    {
        struct gy_tracking_run_create c;
        struct gy_tracking_run_update u;
        struct gy_tracking_metric x;
        check_rc(gy__mlflow_parse_run_create(m, &c));
        check_rc(gy__mlflow_parse_run_update(m, &u));
        check_rc(gy__mlflow_parse_metric(m, &x));
    }
    {
        struct gy__mlflow_batch b;
        enum gy_status rc = gy__mlflow_parse_log_batch(m, &b);
        check_rc(rc);
        if (rc == GY_OK) {
            if (b.nmetrics > GY_TRACKING_BATCH_METRICS_MAX ||
                b.nparams > GY_TRACKING_BATCH_PARAMS_MAX || b.ntags > GY_TRACKING_BATCH_TAGS_MAX ||
                b.nmetrics + b.nparams + b.ntags > GY_TRACKING_BATCH_TOTAL_MAX)
                abort();
            for (size_t i = 0; i < b.nmetrics; i++)
                if (!b.metrics[i].key)
                    abort();
        }
    }
    {
        struct gy_tracking_dataset_input *in;
        size_t n;
        enum gy_status rc = gy__mlflow_parse_log_inputs(m, &in, &n);
        check_rc(rc);
        if (rc == GY_OK)
            for (size_t i = 0; i < n; i++)
                if (!in[i].name || !in[i].digest || !in[i].source_type || !in[i].source)
                    abort();
    }
    {
        struct gy_registry_version_create vc;
        enum gy_status rc = gy__mlflow_parse_version_create(m, &vc);
        check_rc(rc);
        if (rc == GY_OK && (!vc.name || !vc.source))
            abort();
    }
}

/* A segment of @p s (between '/'s) that an accepted path must not have. */
static int bad_segment(const char *s)
{
    const char *seg = s;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return 1;
        if (!end)
            return 0;
        seg = end + 1;
    }
}

static void check_path(const char *raw, const char *decoded)
{
    char run[GY_TRACKING_RUN_ID_LEN + 1];
    const char *rel;
    int64_t exp;
    enum gy_status rc = gy__mlflow_proxy_path(raw, decoded, &exp, run, &rel);
    check_rc(rc);
    if (rc != GY_OK) {
        if (rel)
            abort();
        return;
    }
    if (!rel || !gy_tracking_run_id_valid(run) || exp < 0)
        abort();
    if (bad_segment(decoded) || strpbrk(decoded, "\\;#?%"))
        abort();
    for (const char *p = decoded; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
    if (raw && strpbrk(raw, "\\;#"))
        abort();
    if (gy_tracking_artifact_path_check(rel, 1) != GY_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_arena *a = gy_arena_create(4096);
    struct gy__mlflow_msg m = {.arena = a};
    json_t *j = NULL;
    enum gy_status rc;
    char *text;

    if (!a)
        return 0;
    /* 1. As a JSON body. */
    gy_error_clear();
    rc = gy__mlflow_msg_body(&m, (const char *)data, size, &j);
    check_rc(rc);
    if (rc == GY_OK && m.body)
        exercise(&m);
    json_decref(j);

    /* 2. As a query string: "k=v&k2=v2" (text up to the first NUL). */
    text = gy_arena_strndup(a, (const char *)data, size);
    if (text) {
        size_t cap = 1;
        for (const char *p = text; *p; p++)
            cap += *p == '&';
        {
            const char **k = gy_arena_alloc(a, cap * sizeof *k);
            const char **v = gy_arena_alloc(a, cap * sizeof *v);
            char *dup = gy_arena_strdup(a, text);
            size_t n = 0;
            if (k && v && dup) {
                char *p = dup;
                while (p && n < cap) {
                    char *amp = strchr(p, '&'), *eq;
                    if (amp)
                        *amp = '\0';
                    eq = strchr(p, '=');
                    if (eq)
                        *eq = '\0';
                    k[n] = p;
                    v[n] = eq ? eq + 1 : "";
                    n++;
                    p = amp ? amp + 1 : NULL;
                }
                m.body = NULL;
                m.qkey = k;
                m.qval = v;
                m.nq = n;
                exercise(&m);
            }
        }
        /* 3. As an artifact proxy path: as sent (raw) and as already decoded. */
        check_path(text, text);
        check_path(NULL, text);
    }
    gy_arena_free(a);
    return 0;
}
