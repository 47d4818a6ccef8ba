/* SPDX-License-Identifier: MIT */
/*
 * http_bench.c - a gy_http server with nothing behind it, to measure gyre's HTTP layer alone
 * against nginx returning a fixed body (the physical limit of HTTP on the machine). It serves
 *
 *   POST /v2/models/m/infer   parses the JSON body (gy_http_req_json), checks that
 *                             inputs[0].data holds numbers and sums them, and answers a fixed
 *                             V2 response (the same bytes nginx returns in
 *                             ../shared/bench/peers/serving/nginx.conf.tmpl);
 *   GET  /health              {"status":"ok"} built with jansson (gy_http_resp_json).
 *
 * --no-parse answers without parsing the body, to see the HTTP layer alone.
 * With --defer inline the POST handler defers its response and finishes it before returning;
 * with --defer thread it hands the request to a finisher thread that answers every deferred
 * request queued so far in one batch (as a dynamic batcher would). These measure the
 * deferred-response path (MHD_suspend_connection / MHD_resume_connection).
 *
 * Usage:
 *   build/bench/http_bench [--port N] [--threads N] [--defer none|inline|thread]
 *                          [--access-log off|text|json] [--conn-memory BYTES] [--no-parse]
 *                          [--write-wrk DIR]
 * --write-wrk DIR writes DIR/body.json (a V2 request with 28 FP32 values written as
 * Python writes float32 values converted to double, 600 bytes) and
 * DIR/post.lua (a wrk script posting it) and exits. The server runs until SIGINT or SIGTERM.
 *
 *   build/bench/http_bench --write-wrk /tmp/hb
 *   build/bench/http_bench --port 18680 &
 *   wrk -t1 -c32 -d10s -s /tmp/hb/post.lua http://127.0.0.1:18680/v2/models/m/infer
 *   wrk -t1 -c1  -d10s -s /tmp/hb/post.lua http://127.0.0.1:18680/v2/models/m/infer
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "http/http.h"

static const char reply[] =
    "{\"model_name\":\"m\",\"outputs\":[{\"name\":\"output-0\",\"shape\":[1],"
    "\"datatype\":\"FP32\",\"data\":[0.7310585975646973]}]}";

enum defer_mode { DEFER_NONE = 0, DEFER_INLINE = 1, DEFER_THREAD = 2 };

static enum defer_mode defer_mode;
static int no_parse; /* --no-parse: answer without looking at the body */

/* The finisher thread's queue (--defer thread). */
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static struct gy_http_deferred **q_v;
static size_t q_n, q_cap;
static int q_stop;

static enum gy_status infer_check(struct gy_http_req *req, double *sum)
{
    json_t *body, *inputs, *data, *v;
    enum gy_status rc;
    size_t i;
    if ((rc = gy_http_req_json(req, &body)))
        return rc;
    inputs = json_object_get(body, "inputs");
    data = json_object_get(json_array_get(inputs, 0), "data");
    if (!json_is_array(data))
        return gy_error_set(GY_E_INVALID, "inputs[0].data must be an array");
    *sum = 0;
    json_array_foreach(data, i, v)
    {
        if (!json_is_number(v))
            return gy_error_set(GY_E_INVALID, "inputs[0].data[%zu] is not a number", i);
        *sum += json_number_value(v);
    }
    return GY_OK;
}

static enum gy_status h_infer(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_http_deferred *d;
    double sum;
    enum gy_status rc;
    GY_UNUSED(ctx);
    if (!no_parse && (rc = infer_check(req, &sum)))
        return rc;
    if (defer_mode == DEFER_NONE)
        return gy_http_resp_bytes(resp, 200, "application/json", reply, sizeof reply - 1,
                                  GY_HTTP_STATIC);
    if ((rc = gy_http_resp_defer(resp, &d)))
        return rc;
    if (defer_mode == DEFER_INLINE) {
        gy_http_resp_bytes(gy_http_deferred_resp(d), 200, "application/json", reply,
                           sizeof reply - 1, GY_HTTP_STATIC);
        gy_http_deferred_finish(d);
        return GY_OK;
    }
    pthread_mutex_lock(&q_mu);
    if (q_n == q_cap) {
        size_t cap = q_cap ? q_cap * 2 : 64;
        struct gy_http_deferred **v = gy_realloc(q_v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&q_mu);
            gy_http_deferred_finish(d); /* a 500 */
            return GY_OK;
        }
        q_v = v;
        q_cap = cap;
    }
    q_v[q_n++] = d;
    pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_mu);
    return GY_OK;
}

static void *finisher(void *p)
{
    struct gy_http_deferred **batch = NULL;
    size_t cap = 0;
    GY_UNUSED(p);
    for (;;) {
        size_t n;
        pthread_mutex_lock(&q_mu);
        while (!q_n && !q_stop)
            pthread_cond_wait(&q_cv, &q_mu);
        if (!q_n && q_stop) {
            pthread_mutex_unlock(&q_mu);
            break;
        }
        if (cap < q_n) {
            struct gy_http_deferred **v = gy_realloc(batch, q_n * sizeof *v);
            if (!v) {
                pthread_mutex_unlock(&q_mu);
                continue;
            }
            batch = v;
            cap = q_n;
        }
        n = q_n;
        memcpy(batch, q_v, n * sizeof *batch);
        q_n = 0;
        pthread_mutex_unlock(&q_mu);
        for (size_t i = 0; i < n; i++) {
            gy_http_resp_bytes(gy_http_deferred_resp(batch[i]), 200, "application/json", reply,
                               sizeof reply - 1, GY_HTTP_STATIC);
            gy_http_deferred_finish(batch[i]);
        }
    }
    gy_free(batch);
    return NULL;
}

static enum gy_status h_health(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(ctx);
    return gy_http_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static const struct gy_http_route routes[] = {
    {"POST", "/v2/models/m/infer", h_infer, 0, NULL, "fixed V2 answer", 0},
    {"GET", "/health", h_health, GY_HTTP_ROUTE_NO_BODY, NULL, "liveness", 0},
};

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    if (gy_snprintf(path, sizeof path, "%s/%s", dir, name) ||
        gy_file_write_atomic_ex(path, text, strlen(text), 0)) {
        fprintf(stderr, "http_bench: cannot write %s/%s: %s\n", dir, name, gy_error_msg());
        return 1;
    }
    return 0;
}

/* Writes body.json (28 FP32 values) and post.lua into @p dir. */
static int write_wrk(const char *dir)
{
    struct gy_buf b;
    char lua[2048];
    int rc;
    if (mkdir(dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "http_bench: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    gy_buf_init(&b, 4096);
    gy_buf_puts(&b, "{\"id\":\"42\",\"inputs\":[{\"name\":\"input-0\",\"shape\":[1,28],"
                    "\"datatype\":\"FP32\",\"data\":[");
    for (int i = 0; i < 28; i++)
        gy_buf_printf(&b, "%s%.17g", i ? "," : "", (double)(float)((i * 37 % 101) / 7.3 - 6.25));
    gy_buf_puts(&b, "]}]}");
    rc = write_file(dir, "body.json", b.data);
    gy_buf_free(&b);
    snprintf(lua, sizeof lua,
             "-- wrk script written by http_bench: POST %s/body.json as JSON.\n"
             "wrk.method = \"POST\"\n"
             "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
             "local f = assert(io.open(\"%s/body.json\", \"rb\"))\n"
             "wrk.body = f:read(\"*a\")\n"
             "f:close()\n"
             "done = function(s, lat, req)\n"
             "  local e = s.errors\n"
             "  io.write(string.format(\"HTTPBENCH requests=%%d rps=%%.0f p50_us=%%d p90_us=%%d "
             "p99_us=%%d errors=%%d\\n\",\n"
             "    s.requests, s.requests / (s.duration / 1e6), lat:percentile(50),\n"
             "    lat:percentile(90),\n"
             "    lat:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))\n"
             "end\n",
             dir, dir);
    return rc || write_file(dir, "post.lua", lua);
}

static int usage(void)
{
    fprintf(stderr, "usage: http_bench [--port N] [--threads N] [--defer none|inline|thread]\n"
                    "                  [--access-log off|text|json] [--conn-memory BYTES] "
                    "[--no-parse] [--write-wrk DIR]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv = NULL;
    pthread_t fin;
    int have_fin = 0, sig, rc = 1;
    sigset_t set;

    gy_http_config_init(&cfg);
    cfg.port = 18680;
    cfg.access_log = GY_HTTP_LOG_OFF;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (strcmp(a, "--no-parse") == 0) {
            no_parse = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(a, "--port") == 0 && !gy_parse_int64(v, &n) && n >= 0 && n < 65536)
            cfg.port = (uint16_t)n;
        else if (strcmp(a, "--threads") == 0 && !gy_parse_int64(v, &n) && n >= 0 && n <= 1024)
            cfg.threads = (int)n;
        else if (strcmp(a, "--conn-memory") == 0 && !gy_parse_int64(v, &n) && n >= 4096)
            cfg.conn_memory = (size_t)n;
        else if (strcmp(a, "--defer") == 0 && strcmp(v, "none") == 0)
            defer_mode = DEFER_NONE;
        else if (strcmp(a, "--defer") == 0 && strcmp(v, "inline") == 0)
            defer_mode = DEFER_INLINE;
        else if (strcmp(a, "--defer") == 0 && strcmp(v, "thread") == 0)
            defer_mode = DEFER_THREAD;
        else if (strcmp(a, "--access-log") == 0 && strcmp(v, "off") == 0)
            cfg.access_log = GY_HTTP_LOG_OFF;
        else if (strcmp(a, "--access-log") == 0 && strcmp(v, "text") == 0)
            cfg.access_log = GY_HTTP_LOG_TEXT;
        else if (strcmp(a, "--access-log") == 0 && strcmp(v, "json") == 0)
            cfg.access_log = GY_HTTP_LOG_JSON;
        else if (strcmp(a, "--write-wrk") == 0)
            return write_wrk(v);
        else
            return usage();
    }

    /* Signals are taken by sigwait in this thread; every server thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (gy_http_server_create(&cfg, &srv) ||
        gy_http_server_add_routes(srv, routes, GY_ARRAY_LEN(routes), NULL) ||
        gy_http_server_start(srv)) {
        fprintf(stderr, "http_bench: %s\n", gy_error_msg());
        goto out;
    }
    if (defer_mode == DEFER_THREAD) {
        if (pthread_create(&fin, NULL, finisher, NULL)) {
            fprintf(stderr, "http_bench: cannot start the finisher thread\n");
            goto out;
        }
        have_fin = 1;
    }
    fprintf(stderr, "http_bench listening on http://%s:%u (threads %d, defer %s)\n", cfg.host,
            (unsigned)gy_http_server_port(srv), cfg.threads,
            defer_mode == DEFER_NONE     ? "none"
            : defer_mode == DEFER_INLINE ? "inline"
                                         : "thread");
    sigwait(&set, &sig);
    rc = 0;
out:
    if (srv)
        gy_http_server_shutdown(srv, 5000);
    if (have_fin) {
        pthread_mutex_lock(&q_mu);
        q_stop = 1;
        pthread_cond_signal(&q_cv);
        pthread_mutex_unlock(&q_mu);
        pthread_join(fin, NULL);
    }
    gy_http_server_free(srv);
    gy_free(q_v);
    return rc;
}
