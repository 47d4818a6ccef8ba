/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - GET /metrics (route table gy_api_metrics_routes): the Prometheus text exposition
 * format 0.0.4 with HELP and TYPE lines, read from the serving statistics
 * (gy_serving_stats/gy_serving_totals), the V2 response counters of v2.c and /proc/self.
 *
 * Metric names follow Triton's (nv_inference_*, labels model and version) so that dashboards
 * made for Triton work, plus gyre's own (gyre_*: per-deployment-variant latency histograms,
 * routing, shadowing, model loads, swaps, batches, inputs refused per endpoint and kind, drift
 * from the stored drift reports) and the
 * standard process_* metrics. The
 * output passes `promtool check metrics`: Triton's counters, whose names lack the _total
 * suffix, are exposed untyped, and Triton's microsecond latency counters, whose unit suffix
 * promtool refuses, are only added with ?compat=triton (as counters, exactly as Triton
 * writes them); by default the same sums are in gyre_inference_*_duration_seconds_total.
 * Every metric is listed in docs/metrics.md.
 */
#include "api/api.h"
#include "api/v2_int.h"
#include "monitor/monitor.h"
#include "serving/serving.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ------------------------------------------------------------------ writing */

struct out {
    struct gy_buf b;
    enum gy_status rc;
};

static void put(struct out *o, const char *s)
{
    if (!o->rc)
        o->rc = gy_buf_puts(&o->b, s);
}

static void __attribute__((format(printf, 2, 3))) putf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    if (o->rc)
        return;
    va_start(ap, fmt);
    o->rc = gy_buf_vprintf(&o->b, fmt, ap);
    va_end(ap);
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    putf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format wants: backslash, double quote and newline. */
static void label_value(struct out *o, const char *v)
{
    char esc[2] = {'\\', 0};
    const char *p = v;
    if (o->rc)
        return;
    put(o, "\"");
    while (*p) {
        size_t n = strcspn(p, "\\\"\n");
        if (n && !o->rc)
            o->rc = gy_buf_append(&o->b, p, n);
        p += n;
        if (!*p)
            break;
        esc[1] = *p == '\n' ? 'n' : *p;
        if (!o->rc)
            o->rc = gy_buf_append(&o->b, esc, 2);
        p++;
    }
    put(o, "\"");
}

/* A double as the shortest text that reads back ("0.005", "1e-05", "+Inf", "NaN"). */
static void put_double(struct out *o, double v)
{
    char buf[40];
    if (isnan(v)) {
        put(o, "NaN");
        return;
    }
    if (isinf(v)) {
        put(o, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    put(o, buf);
}

static void put_u64(struct out *o, uint64_t v)
{
    putf(o, "%llu", (unsigned long long)v);
}

/* name{model="m",version="v"[,extra]} value */
static void sample_mv(struct out *o, const char *name, const char *model, int64_t version,
                      const char *extra_key, const char *extra_val)
{
    put(o, name);
    put(o, "{model=");
    label_value(o, model);
    putf(o, ",version=\"%lld\"", (long long)version);
    if (extra_key) {
        putf(o, ",%s=", extra_key);
        label_value(o, extra_val);
    }
    put(o, "} ");
}

/* ------------------------------------------------------------------ snapshots */

/* The statistics copied out of the serving callbacks, so each family can be written whole. */
struct snap {
    struct gy_arena *arena;
    struct gy_model_stats *models;
    size_t n_models, cap_models;
    struct gy_variant_stats *variants;
    size_t n_variants, cap_variants;
    enum gy_status rc;
};

static void *grow(struct snap *s, void *arr, size_t *cap, size_t n, size_t size)
{
    void *p;
    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 16;
    if (!(p = gy_arena_alloc(s->arena, *cap * size)))
        return NULL;
    if (n)
        memcpy(p, arr, n * size);
    return p;
}

static void snap_model(const struct gy_model_stats *m, void *arg)
{
    struct snap *s = arg;
    struct gy_model_stats *d;
    if (s->rc)
        return;
    if (!(s->models = grow(s, s->models, &s->cap_models, s->n_models, sizeof *d))) {
        s->rc = GY_E_NOMEM;
        return;
    }
    d = &s->models[s->n_models];
    *d = *m;
    if (!(d->name = gy_arena_strdup(s->arena, m->name))) {
        s->rc = GY_E_NOMEM;
        return;
    }
    s->n_models++;
}

static void snap_variant(const struct gy_variant_stats *v, void *arg)
{
    struct snap *s = arg;
    struct gy_variant_stats *d;
    if (s->rc)
        return;
    if (!(s->variants = grow(s, s->variants, &s->cap_variants, s->n_variants, sizeof *d))) {
        s->rc = GY_E_NOMEM;
        return;
    }
    d = &s->variants[s->n_variants];
    *d = *v;
    if (!(d->deployment = gy_arena_strdup(s->arena, v->deployment)) ||
        !(d->variant = gy_arena_strdup(s->arena, v->variant))) {
        s->rc = GY_E_NOMEM;
        return;
    }
    s->n_variants++;
}

/* ------------------------------------------------------------------ families */

/* Which per-model counter a family reads. */
enum mfield {
    F_SUCCESS,
    F_INFER_COUNT,
    F_EXEC_COUNT,
    F_PENDING,
    F_SUCCESS_NS,
    F_QUEUE_NS,
    F_INPUT_NS,
    F_INFER_NS,
    F_OUTPUT_NS,
    F_MEMORY,
    F_LOAD_NS,
};

static uint64_t mvalue(const struct gy_model_stats *m, enum mfield f)
{
    switch (f) {
    case F_SUCCESS:
        return m->success.count;
    case F_INFER_COUNT:
        return m->inference_count;
    case F_EXEC_COUNT:
        return m->execution_count;
    case F_PENDING:
        return m->pending;
    case F_SUCCESS_NS:
        return m->success.ns;
    case F_QUEUE_NS:
        return m->queue.ns;
    case F_INPUT_NS:
        return m->compute_input.ns;
    case F_INFER_NS:
        return m->compute_infer.ns;
    case F_OUTPUT_NS:
        return m->compute_output.ns;
    case F_MEMORY:
        return m->memory_bytes;
    case F_LOAD_NS:
        return m->load_ns;
    }
    return 0;
}

/* One value per model version; @p div 0: integer, else value / div as a double. */
static void model_family(struct out *o, const struct snap *s, const char *name, const char *type,
                         const char *help, enum mfield f, double div)
{
    family(o, name, type, help);
    for (size_t i = 0; i < s->n_models; i++) {
        const struct gy_model_stats *m = &s->models[i];
        sample_mv(o, name, m->name, m->version, NULL, NULL);
        if (div == 0)
            put_u64(o, mvalue(m, f));
        else
            put_double(o, (double)mvalue(m, f) / div);
        put(o, "\n");
    }
}

static const char *const fail_reasons[4] = {"REJECTED", "BACKEND", "CANCELED", "OTHER"};

static void write_models(struct out *o, const struct snap *s, int triton)
{
    /* Triton's names and meanings; untyped by default (no _total suffix, see the top). */
    const char *ctype = triton ? "counter" : "untyped";
    model_family(o, s, "nv_inference_request_success", ctype,
                 "Number of successful inference requests, all batch sizes", F_SUCCESS, 0);
    family(o, "nv_inference_request_failure", ctype,
           "Number of failed inference requests, all batch sizes");
    for (size_t i = 0; i < s->n_models; i++)
        for (int r = 0; r < 4; r++) {
            sample_mv(o, "nv_inference_request_failure", s->models[i].name, s->models[i].version,
                      "reason", fail_reasons[r]);
            put_u64(o, s->models[i].fail_by_reason[r]);
            put(o, "\n");
        }
    model_family(o, s, "nv_inference_count", ctype,
                 "Number of inferences performed (rows; a batch of n counts n)", F_INFER_COUNT, 0);
    model_family(o, s, "nv_inference_exec_count", ctype,
                 "Number of model executions performed (a batch counts once)", F_EXEC_COUNT, 0);
    model_family(o, s, "nv_inference_pending_request_count", triton ? "gauge" : "untyped",
                 "Instantaneous number of pending requests awaiting execution", F_PENDING, 0);
    if (triton) {
        model_family(o, s, "nv_inference_request_duration_us", "counter",
                     "Cumulative inference request duration in microseconds", F_SUCCESS_NS, 1e3);
        model_family(o, s, "nv_inference_queue_duration_us", "counter",
                     "Cumulative inference queuing duration in microseconds", F_QUEUE_NS, 1e3);
        model_family(o, s, "nv_inference_compute_input_duration_us", "counter",
                     "Cumulative compute input duration in microseconds", F_INPUT_NS, 1e3);
        model_family(o, s, "nv_inference_compute_infer_duration_us", "counter",
                     "Cumulative compute inference duration in microseconds", F_INFER_NS, 1e3);
        model_family(o, s, "nv_inference_compute_output_duration_us", "counter",
                     "Cumulative inference compute output duration in microseconds", F_OUTPUT_NS,
                     1e3);
    }
    model_family(o, s, "gyre_inference_request_duration_seconds_total", "counter",
                 "Cumulative duration of successful inference requests in seconds", F_SUCCESS_NS,
                 1e9);
    model_family(o, s, "gyre_inference_queue_duration_seconds_total", "counter",
                 "Cumulative time requests waited for a batch in seconds", F_QUEUE_NS, 1e9);
    model_family(o, s, "gyre_inference_compute_input_duration_seconds_total", "counter",
                 "Cumulative time spent mapping and preprocessing inputs in seconds", F_INPUT_NS,
                 1e9);
    model_family(o, s, "gyre_inference_compute_infer_duration_seconds_total", "counter",
                 "Cumulative time spent in the inference engine in seconds", F_INFER_NS, 1e9);
    model_family(o, s, "gyre_inference_compute_output_duration_seconds_total", "counter",
                 "Cumulative time spent producing outputs in seconds", F_OUTPUT_NS, 1e9);
    model_family(o, s, "gyre_model_memory_bytes", "gauge",
                 "Memory held by a loaded model version (engine and bundle)", F_MEMORY, 0);
    model_family(o, s, "gyre_model_load_duration_seconds", "gauge",
                 "How long loading and compiling the model version took", F_LOAD_NS, 1e9);
}

/* name{deployment="d",variant="v"[,role="r"]} */
static void sample_dv(struct out *o, const char *name, const struct gy_variant_stats *v,
                      int with_role, const char *le)
{
    put(o, name);
    put(o, "{deployment=");
    label_value(o, v->deployment);
    put(o, ",variant=");
    label_value(o, v->variant);
    if (with_role)
        put(o, v->shadow ? ",role=\"shadow\"" : ",role=\"route\"");
    if (le) {
        put(o, ",le=\"");
        put(o, le);
        put(o, "\"");
    }
    put(o, "} ");
}

static void write_variants(struct out *o, const struct snap *s)
{
    char le[GY_SERVING_N_BUCKETS][40];
    for (int k = 0; k < GY_SERVING_N_BUCKETS; k++) {
        double b = gy_serving_buckets[k];
        for (int p = 1; p <= 17; p++) {
            snprintf(le[k], sizeof le[k], "%.*g", p, b);
            if (strtod(le[k], NULL) == b)
                break;
        }
    }
    family(o, "gyre_request_duration_seconds", "histogram",
           "Latency of inference requests per deployment variant (routes and shadows)");
    for (size_t i = 0; i < s->n_variants; i++) {
        const struct gy_variant_stats *v = &s->variants[i];
        for (int k = 0; k < GY_SERVING_N_BUCKETS; k++) {
            sample_dv(o, "gyre_request_duration_seconds_bucket", v, 1, le[k]);
            put_u64(o, v->bucket[k]);
            put(o, "\n");
        }
        sample_dv(o, "gyre_request_duration_seconds_bucket", v, 1, "+Inf");
        put_u64(o, v->count);
        put(o, "\n");
        sample_dv(o, "gyre_request_duration_seconds_sum", v, 1, NULL);
        put_double(o, v->sum_s);
        put(o, "\n");
        sample_dv(o, "gyre_request_duration_seconds_count", v, 1, NULL);
        put_u64(o, v->count);
        put(o, "\n");
    }
    family(o, "gyre_routed_requests_total", "counter",
           "Requests answered by each route of a deployment");
    for (size_t i = 0; i < s->n_variants; i++)
        if (!s->variants[i].shadow) {
            sample_dv(o, "gyre_routed_requests_total", &s->variants[i], 0, NULL);
            put_u64(o, s->variants[i].routed);
            put(o, "\n");
        }
    family(o, "gyre_shadow_requests_total", "counter",
           "Requests mirrored to each shadow of a deployment (results logged, never returned)");
    for (size_t i = 0; i < s->n_variants; i++)
        if (s->variants[i].shadow) {
            sample_dv(o, "gyre_shadow_requests_total", &s->variants[i], 0, NULL);
            put_u64(o, s->variants[i].routed);
            put(o, "\n");
        }
    family(o, "gyre_shadow_dropped_total", "counter",
           "Shadow requests dropped because the shadow queue was full");
    for (size_t i = 0; i < s->n_variants; i++)
        if (s->variants[i].shadow) {
            sample_dv(o, "gyre_shadow_dropped_total", &s->variants[i], 0, NULL);
            put_u64(o, s->variants[i].dropped);
            put(o, "\n");
        }
    family(o, "gyre_variant_errors_total", "counter",
           "Failed requests per deployment variant (routes and shadows)");
    for (size_t i = 0; i < s->n_variants; i++) {
        sample_dv(o, "gyre_variant_errors_total", &s->variants[i], 1, NULL);
        put_u64(o, s->variants[i].errors);
        put(o, "\n");
    }
    family(o, "gyre_variant_version", "gauge",
           "The model version each deployment variant resolves to now");
    for (size_t i = 0; i < s->n_variants; i++) {
        sample_dv(o, "gyre_variant_version", &s->variants[i], 1, NULL);
        putf(o, "%lld\n", (long long)s->variants[i].version);
    }
}

static void write_totals(struct out *o, struct gy_serving *sv)
{
    struct gy_serving_totals t;
    memset(&t, 0, sizeof t);
    gy_serving_totals(sv, &t);
    family(o, "gyre_model_loads_total", "counter", "Model version loads attempted");
    putf(o, "gyre_model_loads_total %llu\n", (unsigned long long)t.loads);
    family(o, "gyre_model_load_failures_total", "counter",
           "Model version loads that failed (the version was refused, the old one kept serving)");
    putf(o, "gyre_model_load_failures_total %llu\n", (unsigned long long)t.load_failures);
    family(o, "gyre_swaps_total", "counter",
           "Routing snapshots replaced (alias changes, deployment updates and rollbacks)");
    putf(o, "gyre_swaps_total %llu\n", (unsigned long long)t.swaps);
    family(o, "gyre_batches_total", "counter", "Dynamic batches executed");
    putf(o, "gyre_batches_total %llu\n", (unsigned long long)t.batches);
    family(o, "gyre_batched_requests_total", "counter", "Requests executed in dynamic batches");
    putf(o, "gyre_batched_requests_total %llu\n", (unsigned long long)t.batched_requests);
    family(o, "gyre_predlog_records_total", "counter",
           "Requests queued for the prediction log (after sampling)");
    putf(o, "gyre_predlog_records_total %llu\n", (unsigned long long)t.predlog_records);
    family(o, "gyre_predlog_dropped_total", "counter",
           "Prediction log records dropped (queue full, or a failed write)");
    putf(o, "gyre_predlog_dropped_total %llu\n", (unsigned long long)t.predlog_dropped);
}

static void online_metric(const char *dep, int64_t version, const char *metric, double v, void *ctx)
{
    struct out *o = ctx;
    put(o, "gyre_online_metric{deployment=");
    label_value(o, dep);
    putf(o, ",version=\"%lld\",metric=", (long long)version);
    label_value(o, metric);
    putf(o, "} %.17g\n", v);
}

/* The online metrics of each deployment as last computed from feedback (src/serving). */
static void write_online(struct out *o)
{
    family(o, "gyre_online_metric", "gauge",
           "Online metrics per deployment and model version from feedback joined to the "
           "prediction log, as last computed (POST /api/v1/feedback, GET .../metrics)");
    gy_feedback_gauges(online_metric, o);
}

/*
 * Drift gauges from the newest stored drift report of each deployment (src/monitor/history.c):
 * one query per scrape. A store that cannot be read leaves the families empty.
 */
static void write_drift(struct out *o, struct gy_api *api)
{
    struct gy_db *db = NULL;
    json_t *arr = NULL, *e;
    size_t i;
    if (gy_api_db(api, &db) != GY_OK || gy_monitor_history_latest(db, &arr) != GY_OK) {
        gy_log(GY_LOG_DEBUG, "metrics: drift reports not read: %s", gy_error_msg());
        arr = NULL;
    }
    family(o, "gyre_drift_detected", "gauge",
           "1 when the newest drift report of the deployment (gyre drift report) found drift");
    json_array_foreach(arr, i, e)
    {
        put(o, "gyre_drift_detected{deployment=");
        label_value(o, gy_json_str(e, "deployment", ""));
        put(o, json_is_true(json_object_get(e, "drift")) ? "} 1\n" : "} 0\n");
    }
    family(o, "gyre_drift_score", "gauge",
           "Per-feature statistics of the newest drift report of the deployment (effect sizes, "
           "test statistics, adjusted p-value)");
    json_array_foreach(arr, i, e)
    {
        const json_t *feats = json_object_get(json_object_get(e, "report"), "features"), *f;
        size_t j;
        json_array_foreach(feats, j, f)
        {
            const json_t *st = json_object_get(f, "statistics"), *v;
            const json_t *pa = json_object_get(json_object_get(f, "decision"), "p_value_adjusted");
            const char *k;
            json_object_foreach((json_t *)st, k, v)
            {
                const json_t *num = json_is_object(v) ? json_object_get(v, "statistic") : v;
                if (!json_is_number(num))
                    continue;
                put(o, "gyre_drift_score{deployment=");
                label_value(o, gy_json_str(e, "deployment", ""));
                put(o, ",feature=");
                label_value(o, gy_json_str(f, "feature", ""));
                put(o, ",statistic=");
                label_value(o, k);
                put(o, "} ");
                put_double(o, json_number_value(num));
                put(o, "\n");
            }
            if (json_is_number(pa)) {
                put(o, "gyre_drift_score{deployment=");
                label_value(o, gy_json_str(e, "deployment", ""));
                put(o, ",feature=");
                label_value(o, gy_json_str(f, "feature", ""));
                put(o, ",statistic=\"p_value_adjusted\"} ");
                put_double(o, json_number_value(pa));
                put(o, "\n");
            }
        }
    }
    json_decref(arr);
}

static void write_http(struct out *o)
{
    static const char *const cls[GY_V2_N_CLASSES] = {"2xx", "4xx", "5xx"};
    family(o, "gyre_v2_responses_total", "counter",
           "Responses of the V2 inference protocol by endpoint kind and status class");
    for (int e = 0; e < GY_V2_N_EPS; e++)
        for (int c = 0; c < GY_V2_N_CLASSES; c++)
            putf(o, "gyre_v2_responses_total{endpoint=\"%s\",code=\"%s\"} %llu\n",
                 gy__v2_ep_name(e), cls[c], (unsigned long long)gy__v2_http_count(e, c));
}

/* ------------------------------------------------------------------ process */

/* Reads a small /proc file into buf (NUL-terminated); 0 on failure. */
static size_t read_proc(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return 0;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void write_process(struct out *o)
{
    char buf[4096];
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    double btime = 0;
    struct rlimit rl;
    if (read_proc("/proc/stat", buf, sizeof buf)) {
        const char *p = strstr(buf, "\nbtime ");
        if (p)
            btime = strtod(p + 7, NULL);
    }
    if (read_proc("/proc/self/stat", buf, sizeof buf) && ticks > 0) {
        /* Fields after the command name (which may hold spaces and parentheses). */
        const char *p = strrchr(buf, ')');
        unsigned long long f[24] = {0};
        int n = 0;
        if (p) {
            p++;
            /* field 3 (state) is a letter; read fields 4.. as numbers */
            while (*p == ' ')
                p++;
            while (*p && *p != ' ')
                p++;
            for (n = 4; n < 25 && *p; n++) {
                char *end;
                f[n - 4] = strtoull(p, &end, 10);
                if (end == p)
                    break;
                p = end;
            }
        }
        if (n >= 25) {
            /* utime 14, stime 15, starttime 22, vsize 23, rss 24 */
            double cpu = (double)(f[14 - 4] + f[15 - 4]) / (double)ticks;
            family(o, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds");
            put(o, "process_cpu_seconds_total ");
            put_double(o, cpu);
            put(o, "\n");
            family(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes");
            putf(o, "process_virtual_memory_bytes %llu\n", f[23 - 4]);
            family(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
            putf(o, "process_resident_memory_bytes %llu\n", f[24 - 4] * (unsigned long long)page);
            if (btime > 0) {
                family(o, "process_start_time_seconds", "gauge",
                       "Start time of the process since unix epoch in seconds");
                put(o, "process_start_time_seconds ");
                put_double(o, btime + (double)f[22 - 4] / (double)ticks);
                put(o, "\n");
            }
        }
    }
    {
        DIR *d = opendir("/proc/self/fd");
        if (d) {
            struct dirent *e;
            long n = 0;
            while ((e = readdir(d)) != NULL)
                if (e->d_name[0] != '.')
                    n++;
            closedir(d);
            family(o, "process_open_fds", "gauge", "Number of open file descriptors");
            /* Less the one that listed the directory. */
            putf(o, "process_open_fds %ld\n", n > 0 ? n - 1 : 0);
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        family(o, "process_max_fds", "gauge", "Maximum number of open file descriptors");
        putf(o, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
    family(o, "gyre_allocated_bytes", "gauge", "Bytes allocated through gyre's allocator");
    putf(o, "gyre_allocated_bytes %lld\n", (long long)gy_alloc_bytes());
    family(o, "gyre_build_info", "gauge", "gyre's version; the value is always 1");
    put(o, "gyre_build_info{version=");
    label_value(o, GY_API_VERSION);
    put(o, "} 1\n");
}

/* ------------------------------------------------------------------ handler */

/* One endpoint's refused-input counters, one sample per kind. */
static void input_errors_one(const struct gy_input_error_stats *st, void *arg)
{
    struct out *o = arg;
    for (int k = 0; k < GY_INPUT_ERR_N; k++) {
        put(o, "gyre_input_errors_total{deployment=");
        label_value(o, st->endpoint);
        putf(o, ",kind=\"%s\"} ", gy_input_error_name((enum gy_input_error)k));
        put_u64(o, st->count[k]);
        put(o, "\n");
    }
}

static void write_input_errors(struct out *o, struct gy_serving *sv)
{
    family(o, "gyre_input_errors_total", "counter",
           "V2 infer requests refused for their input, per endpoint (deployment or model name "
           "as requested) and kind: shape, type, missing, malformed, too_large");
    gy_serving_input_errors(sv, input_errors_one, o);
}

static enum gy_status h_metrics(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_serving *sv = gy_api_serving(ctx);
    const char *compat = gy_http_req_query(req, "compat");
    struct snap s = {.arena = gy_http_req_arena(req)};
    struct out o = {.rc = GY_OK};
    char *data;
    size_t len;
    int triton = 0;

    if (compat) {
        if (strcmp(compat, "triton") != 0)
            return gy_error_set(GY_E_INVALID, "compat must be \"triton\", not \"%s\"", compat);
        triton = 1;
    }
    gy_buf_init(&o.b, (size_t)256 << 20);
    if (sv) {
        gy_serving_stats(sv, snap_model, snap_variant, &s);
        if (s.rc) {
            gy_buf_free(&o.b);
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
        write_models(&o, &s, triton);
        write_variants(&o, &s);
        write_totals(&o, sv);
        write_input_errors(&o, sv);
    }
    write_online(&o);
    write_drift(&o, ctx);
    write_http(&o);
    write_process(&o);
    if (o.rc) {
        gy_buf_free(&o.b);
        return gy_error_set(o.rc, "cannot write the metrics: %s", gy_status_str(o.rc));
    }
    data = gy_buf_detach(&o.b, &len);
    return gy_http_resp_bytes(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
                              data ? data : "", len, data ? GY_HTTP_TAKE : GY_HTTP_STATIC);
}

const struct gy_http_route gy_api_metrics_routes[] = {
    {"GET", "/metrics", h_metrics, GY_HTTP_ROUTE_NO_BODY, "metrics:read",
     "Prometheus metrics (text format 0.0.4); ?compat=triton adds Triton's _us counters", 0},
};
const size_t gy_api_metrics_routes_len = GY_ARRAY_LEN(gy_api_metrics_routes);
