/* SPDX-License-Identifier: MIT */
/*
 * alert.c - drift alerts through Alertmanager's v2 API and a generic webhook. A report that finds
 * drift fires the alert GyreDataDrift{deployment, severity} (POST /api/v2/alerts with startsAt); a
 * later report without drift resolves it (the same labels with endsAt = now). Whether the alert is
 * firing is kept per deployment in the metadata store (drift_alerts), so an alert is only sent
 * when the state changes, and a failed send is retried by the next report. The webhook gets
 * {"status": "firing"|"resolved", "alert", "deployment", "report_id", "drifted_features",
 * "reason", "time"} on the same changes, with its own state (drift_webhooks), so that one
 * target being down does not hold back the other.
 *
 * Other alerts of the in-server monitor (GyreDataQuality: the share of V2 infer requests refused
 * for their input) go through gy_monitor_alert_named_sync, the same fire-on-change machinery
 * with the state kept per alert name, target and deployment (monitor_alerts).
 *
 * gyre has no HTTP client library: a minimal HTTP/1.1 POST over a plain TCP socket, http://
 * only, with connect and I/O timeouts, that checks for a 2xx status. The URL comes from the
 * operator's configuration only (never from a request).
 */
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define URL_MAX 2048
#define RESP_MAX 65536
#define FIRING_TTL_US ((int64_t)365 * 24 * 3600 * 1000000) /* endsAt of a firing alert */

struct url {
    char host[256];
    char port[8];
    char prefix[URL_MAX];
};

/* http://HOST[:PORT][/PREFIX] (IPv6 hosts in brackets). */
static enum gy_status parse_url(const char *u, struct url *out)
{
    const char *p, *h, *he, *slash;
    size_t hl;
    memset(out, 0, sizeof(*out));
    if (!u || strlen(u) >= URL_MAX)
        return gy_error_set(GY_E_INVALID, "the URL is missing or too long");
    if (strncmp(u, "http://", 7) != 0)
        return gy_error_set(GY_E_INVALID,
                            "the URL must start with http:// (https is not supported): "
                            "\"%s\"",
                            u);
    h = u + 7;
    slash = strchr(h, '/');
    he = slash ? slash : h + strlen(h);
    if (memchr(h, '@', (size_t)(he - h)))
        return gy_error_set(GY_E_INVALID, "the URL must not hold credentials");
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(he - h));
        if (!rb)
            return gy_error_set(GY_E_INVALID, "bad IPv6 host in \"%s\"", u);
        hl = (size_t)(rb - h - 1);
        if (hl == 0 || hl >= sizeof(out->host))
            return gy_error_set(GY_E_INVALID, "bad host in \"%s\"", u);
        memcpy(out->host, h + 1, hl);
        p = rb + 1;
    } else {
        const char *colon = memchr(h, ':', (size_t)(he - h));
        p = colon ? colon : he;
        hl = (size_t)(p - h);
        if (hl == 0 || hl >= sizeof(out->host))
            return gy_error_set(GY_E_INVALID, "bad host in \"%s\"", u);
        memcpy(out->host, h, hl);
    }
    if (p < he && *p == ':') {
        size_t pl = (size_t)(he - p - 1);
        int64_t port;
        if (pl == 0 || pl >= sizeof(out->port))
            return gy_error_set(GY_E_INVALID, "bad port in \"%s\"", u);
        memcpy(out->port, p + 1, pl);
        if (gy_parse_int64(out->port, &port) || port < 1 || port > 65535)
            return gy_error_set(GY_E_INVALID, "bad port in \"%s\"", u);
    } else if (p != he) {
        return gy_error_set(GY_E_INVALID, "bad host in \"%s\"", u);
    } else {
        memcpy(out->port, "80", 3);
    }
    if (slash) {
        size_t l = strlen(slash);
        while (l > 0 && slash[l - 1] == '/')
            l--;
        for (size_t i = 0; i < l; i++)
            if ((unsigned char)slash[i] <= ' ' || slash[i] == '?' || slash[i] == '#')
                return gy_error_set(GY_E_INVALID, "bad path in \"%s\"", u);
        memcpy(out->prefix, slash, l);
    }
    return GY_OK;
}

enum gy_status gy_monitor_alert_url_check(const char *url)
{
    struct url u;
    enum gy_status rc = parse_url(url, &u);
    return rc ? gy_error_wrap(rc, "Alertmanager") : GY_OK;
}

/* Waits for @p ev on @p fd until @p deadline_ns (monotonic). */
static enum gy_status wait_fd(int fd, short ev, int64_t deadline_ns, const char *what)
{
    for (;;) {
        struct pollfd pf = {fd, ev, 0};
        int64_t left = (deadline_ns - gy_time_mono_ns()) / 1000000;
        int n;
        if (left <= 0)
            return gy_error_set(GY_E_IO, "HTTP POST: timed out %s", what);
        n = poll(&pf, 1, (int)GY_MIN(left, 60000));
        if (n > 0)
            return GY_OK;
        if (n < 0 && errno != EINTR)
            return gy_error_set(GY_E_IO, "HTTP POST: poll: %s", strerror(errno));
    }
}

static enum gy_status connect_to(const struct url *u, int64_t deadline_ns, int *out)
{
    struct addrinfo hints, *res = NULL, *ai;
    enum gy_status rc = GY_E_IO;
    int fd = -1, e;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((e = getaddrinfo(u->host, u->port, &hints, &res)) != 0)
        return gy_error_set(GY_E_IO, "HTTP POST: cannot resolve %s: %s", u->host, gai_strerror(e));
    gy_error_set(GY_E_IO, "HTTP POST: no address for %s", u->host);
    for (ai = res; ai; ai = ai->ai_next) {
        int err = 0;
        socklen_t len = sizeof(err);
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline_ns, "connecting") == GY_OK &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)) {
            rc = GY_OK;
            break;
        }
        gy_error_set(GY_E_IO, "HTTP POST: cannot connect to %s:%s: %s", u->host, u->port,
                     strerror(err ? err : errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    *out = fd;
    return rc;
}

enum gy_status gy_monitor_http_post(const char *url, const char *path, const char *body, size_t len,
                                    int timeout_ms, int *status)
{
    struct url u;
    struct gy_buf req;
    char resp[RESP_MAX + 1];
    size_t got = 0, sent = 0;
    int64_t deadline;
    int fd = -1, maj = 0, min = 0, code = 0;
    enum gy_status rc;

    *status = 0;
    if (timeout_ms <= 0)
        timeout_ms = 5000;
    deadline = gy_time_mono_ns() + (int64_t)timeout_ms * 1000000;
    if ((rc = parse_url(url, &u)))
        return rc;
    gy_buf_init(&req, (size_t)1 << 30);
    rc = gy_buf_printf(&req,
                       "POST %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: gyre\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n",
                       u.prefix, *u.prefix || *path ? path : "/", strchr(u.host, ':') ? "[" : "",
                       u.host, strchr(u.host, ':') ? "]" : "", u.port, len);
    if (rc == GY_OK)
        rc = gy_buf_append(&req, body, len);
    if (rc)
        goto out;
    if ((rc = connect_to(&u, deadline, &fd)))
        goto out;
    while (sent < req.len) {
        ssize_t n = send(fd, req.data + sent, req.len - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if ((rc = wait_fd(fd, POLLOUT, deadline, "sending")))
                goto out;
        } else {
            rc = gy_error_set(GY_E_IO, "HTTP POST: send: %s", strerror(errno));
            goto out;
        }
    }
    /* Read until the peer closes (Connection: close) or the buffer is full. */
    while (got < RESP_MAX) {
        ssize_t n = recv(fd, resp + got, RESP_MAX - got, 0);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) {
            break;
        } else if (errno == EAGAIN || errno == EINTR) {
            if ((rc = wait_fd(fd, POLLIN, deadline, "waiting for the answer")))
                goto out;
        } else {
            rc = gy_error_set(GY_E_IO, "HTTP POST: recv: %s", strerror(errno));
            goto out;
        }
    }
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/%d.%d %3d", &maj, &min, &code) != 3 || code < 100 || code > 599) {
        rc = gy_error_set(GY_E_IO, "%s answered no HTTP status line", url);
        goto out;
    }
    *status = code;
    if (code < 200 || code > 299) {
        const char *b = strstr(resp, "\r\n\r\n");
        rc = gy_error_set(GY_E_IO, "%s answered HTTP %d: %.200s", url, code, b ? b + 4 : "");
    }
out:
    if (fd >= 0)
        close(fd);
    gy_buf_free(&req);
    return rc;
}

/* The alert as Alertmanager's v2 API wants it (a one-element array). */
static json_t *alert_json(const char *deployment, const char *severity,
                          const struct gy_monitor_report *r, int64_t starts_us, int64_t ends_us)
{
    char s[32], e[32];
    struct gy_buf feats, outs;
    json_t *a;
    gy_buf_init(&feats, 1 << 20);
    gy_buf_init(&outs, 1 << 20);
    for (size_t i = 0; r && i < r->nfeatures; i++) {
        struct gy_buf *to = r->features[i].prediction ? &outs : &feats;
        if (r->features[i].drift)
            gy_buf_printf(to, "%s%s", to->len ? ", " : "", r->features[i].name);
    }
    gy_time_format(starts_us, s);
    gy_time_format(ends_us, e);
    a = json_pack("[{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:s, s:s}]", "labels", "alertname",
                  "GyreDataDrift", "deployment", deployment, "severity", severity, "annotations",
                  "summary", "data drift in the inputs of a deployment", "drifted_features",
                  feats.len ? feats.data : "", "drifted_outputs", outs.len ? outs.data : "",
                  "description", r && r->reason ? r->reason : "", "startsAt", s, "endsAt", e);
    gy_buf_free(&feats);
    gy_buf_free(&outs);
    return a;
}

/*
 * The stored state of one alert (a row of drift_alerts, drift_webhooks or monitor_alerts,
 * selected by @p sql): *firing and *starts, left as they are when there is no row.
 */
static enum gy_status state_read(struct gy_db *db, const char *sql, const struct gy_db_param *p,
                                 size_t n, int *firing, int64_t *starts)
{
    struct gy_db_rows *rows = NULL;
    enum gy_status rc = gy_db_query(db, sql, p, n, &rows);
    if (rc == GY_OK && gy_db_rows_count(rows) > 0) {
        *firing = gy_db_rows_int(rows, 0, 0) != 0;
        *starts = gy_db_rows_int(rows, 0, 1);
    }
    gy_db_rows_free(rows);
    return rc;
}

/* Replaces the state row in one transaction: @p del (its first @p ndel parameters), then
 * @p ins (all @p nins). */
static enum gy_status state_write(struct gy_db *db, const char *del, size_t ndel, const char *ins,
                                  const struct gy_db_param *p, size_t nins)
{
    enum gy_status rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    rc = gy_db_exec(db, del, p, ndel, NULL);
    if (rc == GY_OK)
        rc = gy_db_exec(db, ins, p, nins, NULL);
    if (rc)
        gy_db_rollback(db);
    else
        rc = gy_db_commit(db);
    return rc;
}

enum gy_status gy_monitor_alert_sync(struct gy_db *db, const char *url, const char *deployment,
                                     const struct gy_monitor_report *r, int *sent)
{
    struct gy_db_param p[4];
    int64_t now = gy_time_wall_us(), starts = now;
    int firing = 0, status = 0;
    json_t *a = NULL;
    struct gy_buf b;
    enum gy_status rc;

    *sent = 0;
    gy_buf_init(&b, (size_t)16 << 20);
    p[0] = GY_DB_P_TEXT(deployment);
    if ((rc = state_read(db, "SELECT firing, starts_us FROM drift_alerts WHERE deployment = $1", p,
                         1, &firing, &starts)))
        goto out;
    if (!!r->drift == firing)
        goto out; /* no change: nothing to send */
    if (r->drift)
        a = alert_json(deployment, "warning", r, now, now + FIRING_TTL_US);
    else
        a = alert_json(deployment, "warning", r, starts, now);
    if (!a) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = gy_json_dump(a, &b)))
        goto out;
    if ((rc = gy_monitor_http_post(url, "/api/v2/alerts", b.data, b.len, 5000, &status))) {
        gy_error_wrap(rc, "Alertmanager");
        goto out;
    }
    *sent = r->drift ? 1 : -1;
    p[1] = GY_DB_P_INT(r->drift ? 1 : 0);
    p[2] = GY_DB_P_INT(r->drift ? now : starts);
    p[3] = GY_DB_P_INT(now);
    rc = state_write(db, "DELETE FROM drift_alerts WHERE deployment = $1", 1,
                     "INSERT INTO drift_alerts (deployment, firing, starts_us, updated_us) "
                     "VALUES ($1, $2, $3, $4)",
                     p, 4);
out:
    json_decref(a);
    gy_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ webhook */

enum gy_status gy_monitor_webhook_url_check(const char *url)
{
    struct url u;
    enum gy_status rc = parse_url(url, &u);
    return rc ? gy_error_wrap(rc, "webhook") : GY_OK;
}

enum gy_status gy_monitor_webhook_sync(struct gy_db *db, const char *url, const char *deployment,
                                       const struct gy_monitor_report *r, int64_t report_id,
                                       int *sent)
{
    struct gy_db_param p[5];
    int64_t now = gy_time_wall_us(), starts = now;
    int firing = 0, status = 0;
    json_t *a = NULL, *feats = NULL;
    struct gy_buf b;
    char ts[32];
    enum gy_status rc;

    *sent = 0;
    gy_buf_init(&b, (size_t)16 << 20);
    p[0] = GY_DB_P_TEXT(deployment);
    if ((rc = state_read(db, "SELECT firing, starts_us FROM drift_webhooks WHERE deployment = $1",
                         p, 1, &firing, &starts)))
        goto out;
    if (!!r->drift == firing)
        goto out; /* no change: nothing to send */
    if (!(feats = json_array())) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->nfeatures; i++)
        if (r->features[i].drift && !r->features[i].prediction &&
            json_array_append_new(feats, json_string(r->features[i].name))) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    gy_time_format(now, ts);
    a = json_pack("{s:s, s:s, s:s, s:I, s:O, s:s, s:s}", "status", r->drift ? "firing" : "resolved",
                  "alert", "GyreDataDrift", "deployment", deployment, "report_id",
                  (json_int_t)report_id, "drifted_features", feats, "reason",
                  r->reason ? r->reason : "", "time", ts);
    if (!a) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = gy_json_dump(a, &b)))
        goto out;
    if ((rc = gy_monitor_http_post(url, "", b.data, b.len, 5000, &status))) {
        gy_error_wrap(rc, "webhook");
        goto out;
    }
    *sent = r->drift ? 1 : -1;
    p[1] = GY_DB_P_INT(r->drift ? 1 : 0);
    p[2] = GY_DB_P_INT(r->drift ? now : starts);
    p[3] = GY_DB_P_INT(report_id);
    p[4] = GY_DB_P_INT(now);
    rc = state_write(db, "DELETE FROM drift_webhooks WHERE deployment = $1", 1,
                     "INSERT INTO drift_webhooks (deployment, firing, starts_us, report_id, "
                     "updated_us) VALUES ($1, $2, $3, $4, $5)",
                     p, 5);
out:
    json_decref(a);
    json_decref(feats);
    gy_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ named alerts */

static const char *const target_names[] = {"alertmanager", "webhook"};

/* The request body of @p a for @p target (new), or NULL when out of memory. */
static json_t *named_body(enum gy_monitor_target target, const struct gy_monitor_alert *a,
                          int64_t starts_us, int64_t now)
{
    char s[32], e[32];
    json_t *j;
    if (target == GY_MONITOR_TARGET_ALERTMANAGER) {
        gy_time_format(starts_us, s);
        gy_time_format(a->firing ? now + FIRING_TTL_US : now, e);
        return json_pack("[{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:s, s:s}]", "labels", "alertname",
                         a->name, "deployment", a->deployment, "severity", "warning", "annotations",
                         "summary", a->summary ? a->summary : "", "description",
                         a->description ? a->description : "", "startsAt", s, "endsAt", e);
    }
    gy_time_format(now, s);
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "status", a->firing ? "firing" : "resolved",
                  "alert", a->name, "deployment", a->deployment, "summary",
                  a->summary ? a->summary : "", "description", a->description ? a->description : "",
                  "time", s);
    if (j && a->details && json_is_object(a->details) &&
        json_object_update_missing(j, (json_t *)a->details) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

enum gy_status gy_monitor_alert_named_sync(struct gy_db *db, enum gy_monitor_target target,
                                           const char *url, const struct gy_monitor_alert *a,
                                           int *sent)
{
    struct gy_db_param p[6];
    int64_t now = gy_time_wall_us(), starts = now;
    int firing = 0, status = 0;
    json_t *body = NULL;
    struct gy_buf b;
    enum gy_status rc;

    *sent = 0;
    if ((int)target < 0 || target > GY_MONITOR_TARGET_WEBHOOK || !a || !a->name || !a->deployment)
        return gy_error_set(GY_E_INVALID, "alert: bad target or alert");
    gy_buf_init(&b, (size_t)16 << 20);
    p[0] = GY_DB_P_TEXT(a->name);
    p[1] = GY_DB_P_TEXT(target_names[target]);
    p[2] = GY_DB_P_TEXT(a->deployment);
    if ((rc = state_read(db,
                         "SELECT firing, starts_us FROM monitor_alerts WHERE alert = $1 AND "
                         "target = $2 AND deployment = $3",
                         p, 3, &firing, &starts)))
        goto out;
    if (!!a->firing == firing)
        goto out; /* no change: nothing to send */
    if (a->firing)
        starts = now;
    if (!(body = named_body(target, a, starts, now))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = gy_json_dump(body, &b)))
        goto out;
    rc = gy_monitor_http_post(url, target == GY_MONITOR_TARGET_ALERTMANAGER ? "/api/v2/alerts" : "",
                              b.data, b.len, 5000, &status);
    if (rc) {
        gy_error_wrap(rc, target == GY_MONITOR_TARGET_ALERTMANAGER ? "Alertmanager" : "webhook");
        goto out;
    }
    *sent = a->firing ? 1 : -1;
    p[3] = GY_DB_P_INT(a->firing ? 1 : 0);
    p[4] = GY_DB_P_INT(starts);
    p[5] = GY_DB_P_INT(now);
    rc = state_write(db,
                     "DELETE FROM monitor_alerts WHERE alert = $1 AND target = $2 AND "
                     "deployment = $3",
                     3,
                     "INSERT INTO monitor_alerts (alert, target, deployment, firing, starts_us, "
                     "updated_us) VALUES ($1, $2, $3, $4, $5, $6)",
                     p, 6);
out:
    json_decref(body);
    gy_buf_free(&b);
    return rc;
}
