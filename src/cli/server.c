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
 *
 * With --auth (or GYRE_AUTH=1) it also installs the HTTP layer's authentication hooks: bearer
 * tokens verified through src/auth with a short-lived cache of verified principals, the
 * route's permission checked against the role and scopes, refusals (401/403) recorded in the
 * audit log (rate-limited), and mutating requests recorded after their response. Secure
 * defaults: 127.0.0.1, no non-loopback address without --auth (unless --insecure-no-auth),
 * no CORS headers. --tls-cert/--tls-key serve HTTPS; --tls-client-ca/--tls-client-role let
 * clients authenticate with a certificate from that CA instead of a token (principal
 * "cert:<CN>" with that role). docs/security.md is the guide.
 *
 * With --drift-every DURATION it also runs the drift monitor (src/monitor/service.c): a
 * background thread with its own store connection that reports drift over every logging
 * deployment's served traffic, stores the reports and fires/resolves the Alertmanager and
 * webhook alerts (docs/drift.md), and checks data quality at the API: the share of infer
 * requests each deployment refused for their input fires GyreDataQuality over
 * --quality-error-rate (docs/monitoring.md).
 */
#include "api/api.h"
#include "auth/auth.h"
#include "cli/cli.h"
#include "monitor/monitor.h"
#include "pipeline/pipeline.h"
#include "http/http.h"
#include "serving/serving.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
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

/* ------------------------------------------------------------------ authentication */

#define AUTH_CACHE_SLOTS 256      /* verified principals kept (direct-mapped by key) */
#define AUTH_CACHE_TTL_US 2000000 /* 2 s: a revocation takes effect within this */
#define AUTH_DENIED_PER_S 10      /* refusals recorded in the audit log per second */
#define AUTH_RESOURCE_MAX 300     /* bytes of the path kept in a refusal's resource */

struct auth_cache_entry {
    uint8_t key[crypto_generichash_BYTES]; /* keyed BLAKE2b of the token text */
    int64_t until_us;                      /* 0: empty slot */
    struct gy_auth_principal p;
};

struct auth_state {
    struct gy_api *api;
    uint8_t secret[GY_AUTH_SECRET_LEN];
    pthread_mutex_t mu; /* guards cache and the rate limit below */
    struct auth_cache_entry *cache;
    int64_t denied_sec;        /* the second the count below belongs to */
    int denied_n;              /* refusals recorded in that second */
    int64_t denied_suppressed; /* refusals not recorded since the last recorded one */
    /* TLS client certificates (--tls-client-ca) */
    int cert_on;                 /* a verified client certificate authenticates */
    int cert_required;           /* --tls-client-required: no certificate is 401 */
    enum gy_auth_role cert_role; /* --tls-client-role */
};

/* Bytes of a certificate CN kept: the principal is "cert:<CN>" in GY_AUTH_ACTOR_MAX. */
#define CERT_CN_MAX (GY_AUTH_ACTOR_MAX - 5)

/* What the post-request hook needs about a mutating request (request arena). */
struct auth_tag {
    char actor[GY_AUTH_ACTOR_MAX + 1];
    enum gy_auth_role role;
};

/* True for permissions whose use is recorded: writes and administrative actions. */
static int perm_audited(const char *perm)
{
    const char *c = strchr(perm, ':');
    return c && (strcmp(c, ":write") == 0 || strcmp(c, ":admin") == 0);
}

/* "models/fraud" for perm "models:write" and capture {name} "fraud"; "models" without. */
static void resource_of(struct gy_http_req *req, const char *perm, char *out, size_t cap)
{
    const char *name = gy_http_req_capture(req, "name");
    int n = (int)strcspn(perm, ":");
    if (name)
        snprintf(out, cap, "%.*s/%.200s", n, perm, name);
    else
        snprintf(out, cap, "%.*s", n, perm);
}

/*
 * Records a refusal (action auth.denied), at most AUTH_DENIED_PER_S a second so that a
 * flood of bad requests cannot fill the disk; the next recorded refusal counts the ones
 * left out ("suppressed" in its detail).
 */
static void audit_denied(struct auth_state *st, struct gy_http_req *req, const char *actor,
                         const char *role, const char *reason)
{
    int64_t now = gy_time_wall_us(), sec = now / 1000000, suppressed;
    char resource[AUTH_RESOURCE_MAX + 16], result[600];
    struct gy_db *db;
    json_t *d;
    char *dtext = NULL;

    pthread_mutex_lock(&st->mu);
    if (sec != st->denied_sec) {
        st->denied_sec = sec;
        st->denied_n = 0;
    }
    if (st->denied_n >= AUTH_DENIED_PER_S) {
        st->denied_suppressed++;
        pthread_mutex_unlock(&st->mu);
        return;
    }
    st->denied_n++;
    suppressed = st->denied_suppressed;
    st->denied_suppressed = 0;
    pthread_mutex_unlock(&st->mu);

    snprintf(resource, sizeof resource, "%s %.300s", gy_http_req_method(req),
             gy_http_req_path(req));
    snprintf(result, sizeof result, "denied: %.500s", reason);
    d = json_pack("{s:s, s:s, s:I}", "remote", gy_http_req_remote(req), "request_id",
                  gy_http_req_id(req), "suppressed", (json_int_t)suppressed);
    dtext = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (gy_api_db(st->api, &db) ||
        gy_audit_record(db, &(struct gy_audit_entry){.actor = actor,
                                                     .role = role,
                                                     .action = "auth.denied",
                                                     .resource = resource,
                                                     .detail = dtext,
                                                     .result = result}))
        gy_log(GY_LOG_WARN, "cannot record a refused request in the audit log: %s", gy_error_msg());
    gy_free(dtext);
}

/* Looks the token up in the cache; 1 with *out filled when a fresh entry is there. */
static int cache_get(struct auth_state *st, const uint8_t *key, int64_t now,
                     struct gy_auth_principal *out)
{
    struct auth_cache_entry *e = &st->cache[key[0] % AUTH_CACHE_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&st->mu);
    if (e->until_us > now && sodium_memcmp(e->key, key, sizeof e->key) == 0) {
        *out = e->p;
        hit = 1;
    }
    pthread_mutex_unlock(&st->mu);
    return hit;
}

static void cache_put(struct auth_state *st, const uint8_t *key, int64_t now,
                      const struct gy_auth_principal *p)
{
    struct auth_cache_entry *e = &st->cache[key[0] % AUTH_CACHE_SLOTS];
    int64_t until = now + AUTH_CACHE_TTL_US;
    if (p->expires_us && p->expires_us < until)
        until = p->expires_us; /* never past the token's expiry */
    pthread_mutex_lock(&st->mu);
    memcpy(e->key, key, sizeof e->key);
    e->p = *p;
    e->until_us = until;
    pthread_mutex_unlock(&st->mu);
}

/* The authentication hook (gy_http_auth_fn): docs/internals/http.md, "Authentication hooks and
 * TLS". */
static int auth_hook(struct gy_http_req *req, const struct gy_http_route *route, char *msg,
                     size_t cap, void *ctx)
{
    struct auth_state *st = ctx;
    const char *hdr, *tok;
    char buf[GY_AUTH_TOKEN_LEN + 1], id[GY_AUTH_ID_LEN + 1];
    uint8_t key[crypto_generichash_BYTES];
    struct gy_auth_principal p;
    int64_t now;
    size_t n = 0;
    enum gy_status rc;

    if (!route->perm)
        return 0; /* public: health, version, readiness */
    if (st->cert_on) {
        /* A verified client certificate wins over a token; a refused one is never retried
         * as a token; without one the token path below runs (unless it is required). */
        char cn[CERT_CN_MAX + 1];
        rc = gy_http_req_tls_client(req, cn, sizeof cn);
        if (rc == GY_OK) {
            memset(&p, 0, sizeof p);
            snprintf(p.name, sizeof p.name, "cert:%s", cn);
            p.role = st->cert_role;
            goto check;
        }
        if (rc != GY_NOT_FOUND || st->cert_required) {
            snprintf(msg, cap, "%s",
                     rc == GY_NOT_FOUND ? "authentication required: this server requires a TLS "
                                          "client certificate"
                                        : gy_error_msg());
            audit_denied(st, req, "anonymous", "", msg);
            return 401;
        }
    }
    hdr = gy_http_req_header(req, "Authorization");
    if (!hdr) {
        snprintf(msg, cap, "authentication required: send \"Authorization: Bearer <token>\"");
        audit_denied(st, req, "anonymous", "", "no credentials");
        return 401;
    }
    if (gy_auth_bearer_parse(hdr, &tok, &n) || n > GY_AUTH_TOKEN_LEN) {
        if (n > GY_AUTH_TOKEN_LEN && !gy_auth_bearer_parse(hdr, &tok, &n))
            gy_error_set(GY_E_INVALID, "malformed token: wrong length");
        snprintf(msg, cap, "%s", gy_error_msg());
        audit_denied(st, req, "anonymous", "", msg);
        return 401;
    }
    memcpy(buf, tok, n);
    buf[n] = '\0';
    now = gy_time_wall_us();
    crypto_generichash(key, sizeof key, (const unsigned char *)buf, n, st->secret,
                       sizeof st->secret);
    if (!cache_get(st, key, now, &p)) {
        struct gy_db *db;
        rc = gy_api_db(st->api, &db);
        if (!rc)
            rc = gy_auth_verify(db, st->secret, buf, &p);
        if (rc == GY_E_PERM) {
            char actor[32];
            snprintf(msg, cap, "%s", gy_error_msg());
            if (gy_auth_token_parse(buf, n, id) == GY_OK)
                snprintf(actor, sizeof actor, "token:%s", id);
            else
                snprintf(actor, sizeof actor, "anonymous");
            sodium_memzero(buf, sizeof buf);
            audit_denied(st, req, actor, "", msg);
            return 401;
        }
        if (rc) {
            sodium_memzero(buf, sizeof buf);
            snprintf(msg, cap, "cannot verify the token now: %s", gy_error_msg());
            return 503;
        }
        cache_put(st, key, now, &p);
        gy_auth_token_touch(db, p.token_id, now); /* at most one write a minute */
    }
    sodium_memzero(buf, sizeof buf);
check:
    if (gy_auth_check(&p, route->perm, gy_http_req_capture(req, "name"))) {
        snprintf(msg, cap, "%s", gy_error_msg());
        audit_denied(st, req, p.name, gy_auth_role_name(p.role), msg);
        return 403;
    }
    if (perm_audited(route->perm)) {
        const char *m = gy_http_req_method(req);
        if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
            struct auth_tag *t = gy_arena_alloc(gy_http_req_arena(req), sizeof *t);
            if (!t) {
                snprintf(msg, cap, "out of memory");
                return 503;
            }
            snprintf(t->actor, sizeof t->actor, "%s", p.name);
            t->role = p.role;
            gy_http_req_set_auth_data(req, t);
        }
    }
    return 0;
}

/*
 * The post-request hook (gy_http_done_fn): records a completed mutating request, after its
 * response was sent: action http.<method>, resource from the route's perm and {name}, the
 * route and status in the detail, result ok for 1xx-3xx.
 */
static void audit_done(struct gy_http_req *req, int status, void *ctx)
{
    struct auth_state *st = ctx;
    const struct auth_tag *t = gy_http_req_auth_data(req);
    const struct gy_http_route *route = gy_http_req_route(req);
    char action[32], resource[256], result[64], rt[512];
    const char *m = gy_http_req_method(req);
    struct gy_db *db;
    json_t *d;
    char *dtext = NULL;
    size_t i;

    if (!t || !route)
        return;
    snprintf(action, sizeof action, "http.");
    for (i = 0; m[i] && i < 16; i++)
        action[5 + i] = (char)(m[i] >= 'A' && m[i] <= 'Z' ? m[i] - 'A' + 'a' : m[i]);
    action[5 + i] = '\0';
    resource_of(req, route->perm, resource, sizeof resource);
    if (status >= 100 && status < 400)
        snprintf(result, sizeof result, "ok");
    else if (status)
        snprintf(result, sizeof result, "error: HTTP %d", status);
    else
        snprintf(result, sizeof result, "error: no response sent");
    snprintf(rt, sizeof rt, "%s %s", route->method, route->pattern);
    d = json_pack("{s:s, s:i, s:s}", "route", rt, "status", status, "request_id",
                  gy_http_req_id(req));
    dtext = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (gy_api_db(st->api, &db) ||
        gy_audit_record(db, &(struct gy_audit_entry){.actor = t->actor,
                                                     .role = gy_auth_role_name(t->role),
                                                     .action = action,
                                                     .resource = resource,
                                                     .detail = dtext,
                                                     .result = result}))
        gy_log(GY_LOG_WARN, "cannot record %s %s in the audit log: %s", m, gy_http_req_path(req),
               gy_error_msg());
    gy_free(dtext);
}

static void auth_state_free(struct auth_state *st)
{
    if (!st)
        return;
    sodium_memzero(st->secret, sizeof st->secret);
    if (st->cache)
        sodium_memzero(st->cache, AUTH_CACHE_SLOTS * sizeof *st->cache);
    gy_free(st->cache);
    pthread_mutex_destroy(&st->mu);
    gy_free(st);
}

static enum gy_status auth_state_new(struct gy_api *api, const char *home, struct auth_state **out)
{
    struct auth_state *st = gy_calloc(1, sizeof *st);
    enum gy_status rc;
    if (!st)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    pthread_mutex_init(&st->mu, NULL);
    st->api = api;
    st->cache = gy_calloc(AUTH_CACHE_SLOTS, sizeof *st->cache);
    if (!st->cache) {
        auth_state_free(st);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    if ((rc = gy_auth_secret_load(home, st->secret))) {
        auth_state_free(st);
        return rc;
    }
    *out = st;
    return GY_OK;
}

/* ------------------------------------------------------------------ TLS files */

/* Reads a PEM file that must hold a block whose label contains @p label. */
static enum gy_status read_pem(const char *flag, const char *path, const char *label,
                               struct gy_buf *out)
{
    enum gy_status rc;
    gy_buf_init(out, (size_t)1 << 20);
    if ((rc = gy_file_read(path, out)))
        return gy_error_set(rc, "%s: %s", flag, gy_error_msg());
    if ((rc = gy_buf_reserve(out, 1)))
        return rc;
    out->data[out->len] = '\0';
    if (strlen(out->data) != out->len || !strstr(out->data, "-----BEGIN ") ||
        !strstr(out->data, label))
        return gy_error_set(GY_E_INVALID, "%s %s: not a PEM file with a %s", flag, path, label);
    return GY_OK;
}

/*
 * The drift monitor's flags: --drift-every DURATION (off without it), --drift-window
 * rows:N|time:DURATION (default rows:5000), --drift-tumbling, --drift-share S,
 * --quality-error-rate R (the refused share of infer requests that fires GyreDataQuality,
 * default 0.05), and the alert
 * targets
 * --alertmanager / GYRE_ALERTMANAGER_URL and --alert-webhook / GYRE_ALERT_WEBHOOK_URL (from
 * the operator only, never from a request).
 */
static int drift_options(const struct gy_cli_opt *o, size_t n, struct gy_monitor_service_opts *d)
{
    const char *v, *w = gy_cli_get(o, n, "--drift-window");
    uint64_t rows = 5000;
    int64_t us = 0;
    memset(d, 0, sizeof *d);
    if ((v = gy_cli_get(o, n, "--drift-every")) && gy_monitor_duration_parse(v, &d->every_us)) {
        fprintf(stderr, "gyre: --drift-every: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    if (!v && (w || gy_cli_get(o, n, "--drift-tumbling") || gy_cli_get(o, n, "--drift-share") ||
               gy_cli_get(o, n, "--quality-error-rate"))) {
        fprintf(stderr, "gyre: --drift-window, --drift-tumbling, --drift-share and "
                        "--quality-error-rate need --drift-every\n");
        return GY_EXIT_USAGE;
    }
    if ((v = gy_cli_get(o, n, "--quality-error-rate"))) {
        char *end;
        d->quality_error_rate = strtod(v, &end);
        if (*v == '\0' || *end != '\0' ||
            !(d->quality_error_rate > 0 && d->quality_error_rate < 1)) {
            fprintf(stderr, "gyre: --quality-error-rate must be a number in (0, 1), not \"%s\"\n",
                    v);
            return GY_EXIT_USAGE;
        }
    }
    if ((v = gy_cli_get(o, n, "--drift-share"))) {
        char *end;
        d->drift_share = strtod(v, &end);
        if (*v == '\0' || *end != '\0' || !(d->drift_share > 0 && d->drift_share <= 1)) {
            fprintf(stderr, "gyre: --drift-share must be a number in (0, 1], not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
    }
    if (w && gy_monitor_window_parse(w, &rows, &us)) {
        fprintf(stderr, "gyre: --drift-window: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    d->tumbling = gy_cli_get(o, n, "--drift-tumbling") != NULL;
    if (d->tumbling) {
        d->win.tumbling_rows = rows;
        d->win.tumbling_us = us;
    } else {
        d->win.last_rows = rows;
        d->win.last_us = us;
    }
    d->alertmanager = gy_cli_get(o, n, "--alertmanager");
    if (!d->alertmanager || !*d->alertmanager)
        d->alertmanager = getenv("GYRE_ALERTMANAGER_URL");
    if (d->alertmanager && !*d->alertmanager)
        d->alertmanager = NULL;
    d->webhook = gy_cli_get(o, n, "--alert-webhook");
    if (!d->webhook || !*d->webhook)
        d->webhook = getenv("GYRE_ALERT_WEBHOOK_URL");
    if (d->webhook && !*d->webhook)
        d->webhook = NULL;
    if ((d->alertmanager && gy_monitor_alert_url_check(d->alertmanager)) ||
        (d->webhook && gy_monitor_webhook_url_check(d->webhook))) {
        fprintf(stderr, "gyre: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
    return GY_EXIT_OK;
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
        {"--auth", NULL, 0, NULL, 0},
        {"--tls-cert", NULL, 1, NULL, 0},
        {"--tls-key", NULL, 1, NULL, 0},
        {"--tls-client-ca", NULL, 1, NULL, 0},
        {"--tls-client-role", NULL, 1, NULL, 0},
        {"--tls-client-required", NULL, 0, NULL, 0},
        {"--no-pipelines", NULL, 0, NULL, 0},
        {"--pipeline-tick-ms", NULL, 1, NULL, 0},
        {"--drift-every", NULL, 1, NULL, 0},
        {"--drift-window", NULL, 1, NULL, 0},
        {"--drift-tumbling", NULL, 0, NULL, 0},
        {"--drift-share", NULL, 1, NULL, 0},
        {"--quality-error-rate", NULL, 1, NULL, 0},
        {"--alertmanager", NULL, 1, NULL, 0},
        {"--alert-webhook", NULL, 1, NULL, 0},
    };
    char *pos[64];
    size_t npos;
    struct gy_http_config cfg;
    struct gy_api_config acfg = {0};
    struct gy_serving_config scfg;
    struct gy_serving *serving = NULL;
    struct gy_api *api = NULL;
    struct gy_http_server *srv = NULL;
    struct auth_state *auth = NULL;
    struct gy_pipeline_service *pipelines = NULL;
    unsigned pipeline_tick_ms = 1000;
    struct gy_monitor_service *drift_mon = NULL;
    struct gy_monitor_service_opts dopts;
    struct gy_buf cert = {0}, key = {0}, ca = {0};
    const char *v, *ready, *host, *cert_path, *key_path, *ca_path, *ca_role;
    enum gy_auth_role cert_role = GY_AUTH_ROLE_NONE;
    sigset_t set, old;
    int ex = GY_EXIT_OK, sig = 0, insecure, masked = 0, use_auth;
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
    if ((v = gy_cli_get(o, NOPTS(o), "--pipeline-tick-ms"))) {
        if (parse_uint(v, 10, 3600000, &n)) {
            fprintf(stderr,
                    "gyre: --pipeline-tick-ms must be 10 to 3600000 milliseconds, not \"%s\"\n", v);
            return GY_EXIT_USAGE;
        }
        pipeline_tick_ms = (unsigned)n;
    }
    if ((ex = drift_options(o, NOPTS(o), &dopts)))
        return ex;
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
    v = getenv("GYRE_AUTH");
    use_auth = gy_cli_get(o, NOPTS(o), "--auth") != NULL ||
               (v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0));
    if (use_auth && insecure) {
        fprintf(stderr, "gyre: --auth and --insecure-no-auth contradict each other\n");
        return GY_EXIT_USAGE;
    }
    cert_path = gy_cli_get(o, NOPTS(o), "--tls-cert");
    key_path = gy_cli_get(o, NOPTS(o), "--tls-key");
    if (!cert_path != !key_path) {
        fprintf(stderr, "gyre: --tls-cert and --tls-key go together (give both or neither)\n");
        return GY_EXIT_USAGE;
    }
    ca_path = gy_cli_get(o, NOPTS(o), "--tls-client-ca");
    ca_role = gy_cli_get(o, NOPTS(o), "--tls-client-role");
    if (!ca_path && (ca_role || gy_cli_get(o, NOPTS(o), "--tls-client-required"))) {
        fprintf(stderr, "gyre: --tls-client-role and --tls-client-required need --tls-client-ca\n");
        return GY_EXIT_USAGE;
    }
    if (ca_path && (!cert_path || !use_auth || !ca_role)) {
        fprintf(stderr, "gyre: --tls-client-ca needs --tls-cert/--tls-key, --auth and "
                        "--tls-client-role ROLE\n");
        return GY_EXIT_USAGE;
    }
    if (ca_role && gy_auth_role_parse(ca_role, &cert_role)) {
        fprintf(stderr, "gyre: --tls-client-role: %s\n", gy_error_msg());
        return GY_EXIT_USAGE;
    }
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
    if (!is_loopback(cfg.host) && !use_auth) {
        if (!insecure) {
            fprintf(stderr,
                    "gyre: refusing to listen on %s: it is not a loopback address and this "
                    "server has no authentication; pass --auth (API tokens) or "
                    "--insecure-no-auth to expose it anyway\n",
                    cfg.host);
            return GY_EXIT_USAGE;
        }
        gy_log(GY_LOG_WARN,
               "listening on non-loopback address %s WITHOUT authentication "
               "(--insecure-no-auth): anyone who can reach it can read and change all data",
               cfg.host);
    }

    if (cert_path) {
        if ((rc = read_pem("--tls-cert", cert_path, "CERTIFICATE", &cert)) ||
            (rc = read_pem("--tls-key", key_path, "PRIVATE KEY", &key)) ||
            (ca_path && (rc = read_pem("--tls-client-ca", ca_path, "CERTIFICATE", &ca)))) {
            ex = gy_cli_fail(rc, NULL);
            goto out;
        }
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
    if (use_auth) {
        if ((rc = auth_state_new(api, acfg.home, &auth)) ||
            (rc = gy_http_server_set_auth(srv, auth_hook, audit_done, auth))) {
            ex = gy_cli_fail(rc, "cannot set up authentication");
            goto out;
        }
        auth->cert_on = ca_path != NULL;
        auth->cert_required = gy_cli_get(o, NOPTS(o), "--tls-client-required") != NULL;
        auth->cert_role = cert_role;
    } else {
        gy_log(GY_LOG_INFO,
               "authentication is off: every client that can reach %s has full "
               "access (start with --auth to require API tokens)",
               cfg.host);
    }
    if (cert_path && (rc = gy_http_server_set_tls(srv, cert.data, key.data))) {
        ex = gy_cli_fail(rc, "cannot set up TLS");
        goto out;
    }
    if (ca_path && (rc = gy_http_server_set_tls_client_ca(srv, ca.data))) {
        gy_error_set(rc, "--tls-client-ca %s: %s", ca_path, gy_error_msg());
        ex = gy_cli_fail(rc, "cannot set up TLS");
        goto out;
    }
    /* Deployments are loaded before the first request is accepted. */
    if ((rc = gy_serving_start(serving))) {
        ex = gy_cli_fail(rc, "cannot start model serving");
        goto out;
    }
    if (!gy_cli_get(o, NOPTS(o), "--no-pipelines")) {
        /* The pipeline controller: triggers, training children, canaries judged on this
         * server's own per-variant counters. */
        struct gy_pipeline_ctl_opts po = {NULL, serving, 1, NULL, "controller"};
        if ((rc = gy_pipeline_service_start(acfg.home, acfg.db_url, &po, pipeline_tick_ms,
                                            &pipelines))) {
            ex = gy_cli_fail(rc, "cannot start the pipeline controller");
            goto out;
        }
    }
    if (dopts.every_us > 0) {
        /* The drift monitor: reports over served traffic, alerts, the pipelines' drift
         * trigger, all without a CLI call. */
        dopts.serving = serving; /* data quality at the API: stopped before serving is freed */
        if ((rc = gy_monitor_service_start(acfg.home, acfg.db_url, &dopts, &drift_mon))) {
            ex = gy_cli_fail(rc, "cannot start the drift monitor");
            goto out;
        }
    }
    if ((rc = gy_http_server_start(srv))) {
        ex = gy_cli_fail(rc, cert_path ? "cannot start (check that --tls-key matches --tls-cert)"
                                       : NULL);
        goto out;
    }
    if (strchr(cfg.host, ':'))
        fprintf(stderr, "gyre server listening on %s://[%s]:%u%s\n", cert_path ? "https" : "http",
                cfg.host, (unsigned)gy_http_server_port(srv), use_auth ? " (auth on)" : "");
    else
        fprintf(stderr, "gyre server listening on %s://%s:%u%s\n", cert_path ? "https" : "http",
                cfg.host, (unsigned)gy_http_server_port(srv), use_auth ? " (auth on)" : "");
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
    gy_monitor_service_stop(drift_mon);
    gy_pipeline_service_stop(pipelines);
    gy_http_server_free(srv);
    auth_state_free(auth);
    gy_serving_free(serving);
    gy_api_free(api);
    if (key.data)
        sodium_memzero(key.data, key.cap);
    gy_buf_free(&key);
    gy_buf_free(&cert);
    gy_buf_free(&ca);
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ex;
}

const struct gy_cli_cmd gy_cli_server_cmds[] = {
    {"server",
     "[--host H] [--port P] [--threads N] [--max-body BYTES] [--max-upload BYTES] "
     "[--timeout S] [--ready-file F] [--max-connections N] [--quiet-access-log] "
     "[--insecure-no-auth] [--poll-ms MS] [--allow-inf] [--max-elements N] "
     "[--not-ready-status 503|400] [--auth] [--tls-cert FILE --tls-key FILE] "
     "[--tls-client-ca FILE --tls-client-role ROLE [--tls-client-required]] "
     "[--no-pipelines] [--pipeline-tick-ms MS] [--drift-every DURATION "
     "[--drift-window rows:N|time:DURATION] [--drift-tumbling] [--drift-share S] "
     "[--quality-error-rate R]] "
     "[--alertmanager URL] "
     "[--alert-webhook URL]",
     "run the HTTP API server (native, MLflow-compatible, V2 inference, /metrics) until "
     "SIGTERM",
     cmd_server},
    {NULL, NULL, NULL, NULL},
};
