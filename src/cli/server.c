/* SPDX-License-Identifier: MIT */
/*
 * server.c - `gyre server`: parses the flags, creates the serving state (src/serving: loads
 * every deployment and starts the watcher that applies alias and deployment changes), opens
 * the data home (struct gy_api), starts the HTTP server with every API route table (native,
 * MLflow, V2 inference, /metrics), reports where it listens (stderr and --ready-file), then
 * waits in sigwait for SIGTERM or SIGINT and shuts down gracefully: no new connections,
 * in-flight requests finish (bounded), the serving state stops (queued batches finish),
 * per-thread database handles are closed, exit 0.
 * No work happens in a signal handler: the signals are blocked in every thread and taken
 * synchronously by the main thread.
 */
#include "api/api.h"
#include "cli/cli.h"
#include "http/http.h"
#include "serving/serving.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define SHUTDOWN_GRACE_MS 10000

/* Parses "123", "16K", "16M", "1G" (powers of 1024) into bytes. */
static int parse_size(const char *s, size_t *out)
{
    char num[32];
    size_t n = strlen(s), mult = 1;
    int64_t v;
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n + 1);
    switch (num[n - 1]) {
    case 'k':
    case 'K':
        mult = (size_t)1 << 10;
        break;
    case 'm':
    case 'M':
        mult = (size_t)1 << 20;
        break;
    case 'g':
    case 'G':
        mult = (size_t)1 << 30;
        break;
    default:
        break;
    }
    if (mult > 1)
        num[n - 1] = '\0';
    if (gy_parse_int64(num, &v) || v <= 0 || (uint64_t)v > (((uint64_t)1 << 40) / mult))
        return -1;
    *out = (size_t)v * mult;
    return 0;
}

static int parse_uint(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    return gy_parse_int64(s, out) || *out < lo || *out > hi ? -1 : 0;
}

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return 0;
}

static enum gy_http_access_log access_log_mode(int quiet)
{
    const char *v = getenv("GYRE_ACCESS_LOG");
    const char *lv = getenv("GYRE_LOG_LEVEL");
    const char *fmt = getenv("GYRE_LOG_FORMAT");
    if (quiet || (v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "false") == 0)))
        return GY_HTTP_LOG_OFF;
    if (fmt && strcmp(fmt, "json") == 0) {
        /* Text lines go through gy_log, which filters by level; JSON lines are written here. */
        if (lv && (strcmp(lv, "warn") == 0 || strcmp(lv, "error") == 0))
            return GY_HTTP_LOG_OFF;
        return GY_HTTP_LOG_JSON;
    }
    return GY_HTTP_LOG_TEXT;
}

static int cmd_server(int argc, char **argv)
{
    struct gy_cli_opt o[] = {
        {"--host", NULL, 1, NULL, 0},
        {"--port", "-p", 1, NULL, 0},
        {"--threads", NULL, 1, NULL, 0},
        {"--max-body", NULL, 1, NULL, 0},
        {"--timeout", NULL, 1, NULL, 0},
        {"--ready-file", NULL, 1, NULL, 0},
        {"--insecure-no-auth", NULL, 0, NULL, 0},
        {"--quiet-access-log", NULL, 0, NULL, 0},
        {"--max-connections", NULL, 1, NULL, 0},
        {"--max-upload", NULL, 1, NULL, 0},
        {"--poll-ms", NULL, 1, NULL, 0},
        {"--allow-inf", NULL, 0, NULL, 0},
        {"--max-elements", NULL, 1, NULL, 0},
        {"--not-ready-status", NULL, 1, NULL, 0},
    };
    char *pos[64];
    size_t npos;
    struct gy_http_config cfg;
    struct gy_api_config acfg = {0};
    struct gy_serving_config scfg;
    struct gy_serving *serving = NULL;
    struct gy_api *api = NULL;
    struct gy_http_server *srv = NULL;
    const char *v, *ready, *host;
    sigset_t set, old;
    int ex = GY_EXIT_OK, sig = 0, insecure, masked = 0;
    int64_t n;
    enum gy_status rc;

    if (argc > 64 || gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos))
        return GY_EXIT_USAGE;
    if (npos) {
        fprintf(stderr, "gyre: server takes no arguments (unexpected \"%s\")\n", pos[0]);
        return GY_EXIT_USAGE;
    }
    gy_http_config_init(&cfg);
    host = gy_cli_get(o, NOPTS(o), "--host");
    if (host && strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (host)
        cfg.host = host;
    if ((v = gy_cli_get(o, NOPTS(o), "--port"))) {
        if (parse_uint(v, 0, 65535, &n)) {
            fprintf(stderr, "gyre: --port must be 0 to 65535, not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
        cfg.port = (uint16_t)n;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--threads"))) {
        if (parse_uint(v, 0, 1024, &n)) {
            fprintf(stderr, "gyre: --threads must be 0 (one per CPU) to 1024, not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
        cfg.threads = (int)n;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--max-body")) && parse_size(v, &cfg.max_body)) {
        fprintf(stderr, "gyre: --max-body must be a size like 16777216, 16M or 1G, not \"%s\"\n",
                v);
        return GY_EXIT_USAGE;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--max-upload")) && parse_size(v, &cfg.max_upload)) {
        fprintf(stderr, "gyre: --max-upload must be a size like 1073741824 or 1G, not \"%s\"\n", v);
        return GY_EXIT_USAGE;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--timeout"))) {
        if (parse_uint(v, 1, 86400, &n)) {
            fprintf(stderr, "gyre: --timeout must be 1 to 86400 seconds, not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
        cfg.timeout_s = (unsigned)n;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--max-connections"))) {
        if (parse_uint(v, 1, 1000000, &n)) {
            fprintf(stderr, "gyre: --max-connections must be 1 to 1000000, not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
        cfg.max_connections = (unsigned)n;
    }
    gy_serving_config_init(&scfg);
    if ((v = gy_cli_get(o, NOPTS(o), "--poll-ms"))) {
        if (parse_uint(v, 10, 3600000, &n)) {
            fprintf(stderr, "gyre: --poll-ms must be 10 to 3600000 milliseconds, not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
        scfg.poll_ms = (unsigned)n;
    }
    scfg.allow_inf = gy_cli_get(o, NOPTS(o), "--allow-inf") != NULL;
    if ((v = gy_cli_get(o, NOPTS(o), "--max-elements"))) {
        if (parse_uint(v, 1, (int64_t)1 << 32, &n)) {
            fprintf(stderr, "gyre: --max-elements must be 1 to 4294967296, not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
        acfg.v2_max_elements = (uint64_t)n;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--not-ready-status"))) {
        if (strcmp(v, "503") != 0 && strcmp(v, "400") != 0) {
            fprintf(stderr, "gyre: --not-ready-status must be 503 or 400 (Triton), not \"%s\"\n",
                    v);
            return GY_EXIT_USAGE;
        }
        acfg.v2_not_ready_status = v[0] == '4' ? 400 : 503;
    }
    insecure = gy_cli_get(o, NOPTS(o), "--insecure-no-auth") != NULL;
    ready = gy_cli_get(o, NOPTS(o), "--ready-file");
    cfg.access_log = access_log_mode(gy_cli_get(o, NOPTS(o), "--quiet-access-log") != NULL);

    {
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton(AF_INET, cfg.host, &a4) != 1 && inet_pton(AF_INET6, cfg.host, &a6) != 1) {
            fprintf(stderr,
                    "gyre: --host must be an IPv4 or IPv6 address (such as 127.0.0.1 or ::1), "
                    "not \"%s\"\n",
                    cfg.host);
            return GY_EXIT_USAGE;
        }
    }
    if (!is_loopback(cfg.host)) {
        if (!insecure) {
            fprintf(stderr,
                    "gyre: refusing to listen on %s: it is not a loopback address and this "
                    "server has no authentication; pass --insecure-no-auth to expose it "
                    "anyway\n",
                    cfg.host);
            return GY_EXIT_USAGE;
        }
        gy_log(GY_LOG_WARN,
               "listening on non-loopback address %s WITHOUT authentication "
               "(--insecure-no-auth): anyone who can reach it can read and change all data",
               cfg.host);
    }

    acfg.home = getenv("GYRE_HOME");
    if (!acfg.home || !*acfg.home)
        acfg.home = "./gyre-home";
    acfg.db_url = getenv("GYRE_DB");
    /*
     * Block the shutdown signals before any thread exists (the serving state starts its
     * batcher, shadow and watcher threads), so that every thread inherits the mask and only
     * sigwait below ever takes them.
     */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    masked = 1;
    signal(SIGPIPE, SIG_IGN);
    scfg.home = acfg.home;
    scfg.db_url = acfg.db_url;
    if ((rc = gy_serving_create(&scfg, &serving))) {
        ex = gy_cli_fail(rc, "cannot open the data home");
        goto out;
    }
    acfg.serving = serving;
    if ((rc = gy_api_create(&acfg, &api))) {
        ex = gy_cli_fail(rc, "cannot open the data home");
        goto out;
    }
    cfg.spool_dir = gy_api_tmp_dir(api);

    if ((rc = gy_http_server_create(&cfg, &srv)) || (rc = gy_api_register(api, srv))) {
        ex = gy_cli_fail(rc, "cannot set up the server");
        goto out;
    }
    /* Deployments are loaded before the first request is accepted. */
    if ((rc = gy_serving_start(serving))) {
        ex = gy_cli_fail(rc, "cannot start model serving");
        goto out;
    }
    if ((rc = gy_http_server_start(srv))) {
        ex = gy_cli_fail(rc, NULL);
        goto out;
    }
    if (strchr(cfg.host, ':'))
        fprintf(stderr, "gyre server listening on http://[%s]:%u\n", cfg.host,
                (unsigned)gy_http_server_port(srv));
    else
        fprintf(stderr, "gyre server listening on http://%s:%u\n", cfg.host,
                (unsigned)gy_http_server_port(srv));
    if (ready) {
        char buf[16];
        int len = snprintf(buf, sizeof buf, "%u\n", (unsigned)gy_http_server_port(srv));
        if ((rc = gy_file_write_atomic(ready, buf, (size_t)len))) {
            ex = gy_cli_fail(rc, "cannot write the ready file");
            gy_http_server_shutdown(srv, 0);
            goto out;
        }
    }
    while (sigwait(&set, &sig) != 0) {
    }
    gy_log(GY_LOG_INFO, "%s received: shutting down (waiting up to %d s for %zu request(s))",
           sig == SIGTERM ? "SIGTERM" : "SIGINT", SHUTDOWN_GRACE_MS / 1000,
           gy_http_server_inflight(srv));
    if (gy_http_server_shutdown(srv, SHUTDOWN_GRACE_MS) == GY_OK)
        gy_log(GY_LOG_INFO, "server stopped");
out:
    gy_http_server_free(srv);
    gy_serving_free(serving);
    gy_api_free(api);
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ex;
}

const struct gy_cli_cmd gy_cli_server_cmds[] = {
    {"server",
     "[--host H] [--port P] [--threads N] [--max-body BYTES] [--max-upload BYTES] "
     "[--timeout S] [--ready-file F] [--max-connections N] [--quiet-access-log] "
     "[--insecure-no-auth] [--poll-ms MS] [--allow-inf] [--max-elements N] "
     "[--not-ready-status 503|400]",
     "run the HTTP API server (native, MLflow-compatible, V2 inference, /metrics) until "
     "SIGTERM",
     cmd_server},
    {NULL, NULL, NULL, NULL},
};
