/* SPDX-License-Identifier: MIT */
/*
 * controller.c - the pipeline controller: triggers, and each run as a persisted state machine
 *
 *   pending -> training -> evaluating -> canary -> promoted | rejected | rolled_back | failed
 *
 * Every step first writes what it is about to do, then does it in a way that is safe to
 * repeat, then writes the next state; so a controller killed at any point resumes the run
 * from the store and finishes it correctly:
 *   - pending: the data is pinned (DATASET@V, or a dataset written for the run) and the
 *     champion version noted; a parent tracked run records the lineage.
 *   - training: a tracked run is created first (its id stored), then `gyre train --run-id`
 *     runs as a child process; its pid is stored. After a restart a still-living trainer is
 *     waited for, a finished one is used, and only a dead, unfinished one is retried (at most
 *     MAX_ATTEMPTS trainings per run): a run never trains twice to completion.
 *   - evaluating: gates on the training run's validation metrics, the champion scored on the
 *     same validation rows by the trainer (--baseline). A candidate that passes is registered
 *     (found again by its run id after a restart, never registered twice) and gets the
 *     challenger alias; then either promoted at once (no rollout) or put on canary: the
 *     deployment's spec before the canary is stored, then the canary spec is applied.
 *   - canary: judged on this server's per-variant counters (requests, errors, latency) and
 *     on feedback (an A/B test through gy_deploy_compare). The decision is stored before it
 *     is carried out; promotion moves the champion alias (one atomic update) and restores the
 *     deployment's routes; rollback restores the routes and drops the challenger alias. Both
 *     are idempotent ("make it so"), so a crash half-way is finished by the next controller.
 *
 * A run is stepped by one controller at a time: the one holding its lease (owner, lease_us),
 * renewed every tick; a lease expires after LEASE_US, or at once when its owner is a dead
 * process on this host.
 */
#include "pipeline/pipeline_int.h"

#include "auth/auth.h"
#include "lake/lake.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "serving/serving.h"
#include "tracking/tracking.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define LEASE_US (30 * 1000000LL)
#define MAX_ATTEMPTS 3
#define MAX_KIDS 32
#define MAX_BASES 32
#define MAX_ARGS (2 * GY_PIPELINE_MAX_PARAMS + 64)

struct kid {
    int64_t run;
    pid_t pid;
};

/* A canary's counters when this controller first looked at it: the judgement uses deltas. */
struct base {
    int64_t run;
    uint64_t routed[2], errors[2], count[2];
    uint64_t bucket[2][GY_SERVING_N_BUCKETS];
};

struct gy_pipeline_ctl {
    struct gy_db *db;
    char exe[4096];
    struct gy_serving *serving;
    int auto_triggers;
    char only[GY_PIPELINE_MAX_NAME + 1];
    char actor[128];
    char owner[192];
    struct kid kids[MAX_KIDS];
    size_t nkids;
    struct base bases[MAX_BASES];
    size_t nbases;
};

/* What one step works on: the run's row and its spec. */
struct run {
    int64_t id;
    json_t *j;       /* gy_pipeline_run_get */
    json_t *details; /* borrowed from j */
    struct gy_pipeline_spec *spec;
    enum gy_pipeline_state state;
};

/* ------------------------------------------------------------------ small helpers */

static int higher_is_better(const char *metric)
{
    return !(strcmp(metric, "logloss") == 0 || strcmp(metric, "rmse") == 0 ||
             strcmp(metric, "mae") == 0 || strcmp(metric, "mse") == 0);
}

static void audit(struct gy_pipeline_ctl *c, const char *action, const char *pipeline,
                  const char *result, json_t *detail)
{
    char res[256], *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    struct gy_audit_entry e = {c->actor, "admin", action, res, text, result, 0};
    snprintf(res, sizeof res, "pipelines/%s", pipeline);
    if (gy_audit_record(c->db, &e) != GY_OK)
        gy_log(GY_LOG_WARN, "pipeline %s: audit record %s: %s", pipeline, action, gy_error_msg());
    gy_free(text);
}

/* Writes state, reason and details (and, for a final state, ends the run). The update only
 * applies while this controller holds the run's lease. */
static enum gy_status save(struct gy_pipeline_ctl *c, struct run *r, enum gy_pipeline_state st,
                           const char *reason)
{
    char *details = json_dumps(r->details, JSON_COMPACT | JSON_SORT_KEYS);
    int64_t now = gy_time_wall_us(), changes = 0;
    enum gy_status rc;
    int fin = gy_pipeline_state_final(st);
    struct gy_db_param p[] = {GY_DB_P_TEXT(gy_pipeline_state_name(st)),
                              GY_DB_P_TEXT(reason),
                              GY_DB_P_TEXT(details),
                              GY_DB_P_INT(now),
                              fin ? GY_DB_P_INT(now) : GY_DB_P_NULL,
                              GY_DB_P_INT(r->id),
                              GY_DB_P_TEXT(c->owner)};
    if (!details)
        return GY_E_NOMEM;
    rc = gy_db_exec(c->db,
                    fin ? "UPDATE pipeline_runs SET state = $1, reason = COALESCE($2, reason), "
                          "details = $3, updated_us = $4, finished_us = $5, active = NULL, "
                          "owner = NULL, lease_us = NULL WHERE id = $6 AND owner = $7"
                        : "UPDATE pipeline_runs SET state = $1, reason = COALESCE($2, reason), "
                          "details = $3, updated_us = $4, finished_us = $5 "
                          "WHERE id = $6 AND owner = $7",
                    p, 7, &changes);
    gy_free(details);
    if (rc == GY_OK && changes != 1)
        rc = gy_error_set(GY_E_BUSY, "pipeline run %lld: lease lost", (long long)r->id);
    if (rc == GY_OK)
        r->state = st;
    return rc;
}

/* Sets one column of the run (a fixed column name from this file, never input). */
static enum gy_status set_col(struct gy_pipeline_ctl *c, struct run *r, const char *col,
                              struct gy_db_param v)
{
    char sql[160];
    struct gy_db_param p[] = {v, GY_DB_P_INT(r->id), GY_DB_P_TEXT(c->owner)};
    int64_t changes = 0;
    enum gy_status rc;
    snprintf(sql, sizeof sql, "UPDATE pipeline_runs SET %s = $1 WHERE id = $2 AND owner = $3", col);
    rc = gy_db_exec(c->db, sql, p, 3, &changes);
    if (rc == GY_OK && changes != 1)
        rc = gy_error_set(GY_E_BUSY, "pipeline run %lld: lease lost", (long long)r->id);
    if (rc == GY_OK) {
        json_t *jv = v.type == GY_DB_INT    ? json_integer(v.i)
                     : v.type == GY_DB_TEXT ? json_string(v.s)
                                            : json_null();
        json_object_set_new(r->j, strcmp(col, "data_ref") == 0 ? "data" : col, jv);
    }
    return rc;
}

static const char *rstr(const struct run *r, const char *key)
{
    return gy_json_str(r->j, key, NULL);
}

static int64_t rint_(const struct run *r, const char *key)
{
    return gy_json_int(r->j, key, 0);
}

/*
 * Fault injection for the kill-at-every-step test (tests/e2e/test_pipeline_crash.sh):
 * with GYRE_PIPELINE_CRASH_AT=POINT the process ends at once, as kill -9 would, when the
 * controller reaches POINT. The points sit between a step's writes and its side effects.
 */
static void crash_point(const char *point)
{
    const char *at = getenv("GYRE_PIPELINE_CRASH_AT");
    if (at && strcmp(at, point) == 0) {
        gy_log(GY_LOG_WARN, "pipeline controller: crash point %s reached: exiting", point);
        _exit(137);
    }
}

/* A tag on the parent tracked run (best effort: lineage, not control). */
static void parent_tag(struct gy_pipeline_ctl *c, const struct run *r, const char *k, const char *v)
{
    const char *p = rstr(r, "tracking_run");
    if (p && gy_tracking_run_tag_set(c->db, p, k, v) != GY_OK)
        gy_log(GY_LOG_WARN, "pipeline run %lld: tag %s: %s", (long long)r->id, k, gy_error_msg());
}

static void parent_finish(struct gy_pipeline_ctl *c, const struct run *r, int ok)
{
    const char *p = rstr(r, "tracking_run");
    struct gy_tracking_run_update u = {ok ? GY_RUN_FINISHED : GY_RUN_FAILED, 1,
                                       gy_time_wall_us() / 1000, NULL};
    static const char *const keep[] = {"gates", "canary", "online"};
    for (size_t i = 0; i < GY_ARRAY_LEN(keep); i++) {
        /* The results behind the outcome, with the lineage the run already carries. */
        json_t *v = json_object_get(r->details, keep[i]);
        char key[48], *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        snprintf(key, sizeof key, "gyre.pipeline.%s", keep[i]);
        if (text && strlen(text) <= GY_TRACKING_TAG_VALUE_MAX)
            parent_tag(c, r, key, text);
        gy_free(text);
    }
    parent_tag(c, r, "gyre.pipeline.state", gy_pipeline_state_name(r->state));
    if (rstr(r, "reason"))
        parent_tag(c, r, "gyre.pipeline.reason", rstr(r, "reason"));
    if (p)
        gy_tracking_run_update(c->db, p, &u, NULL);
}

/* Ends @p r in final state @p st with @p reason, audited. */
static enum gy_status finish(struct gy_pipeline_ctl *c, struct run *r, enum gy_pipeline_state st,
                             const char *reason)
{
    enum gy_status rc = save(c, r, st, reason);
    json_t *d;
    if (rc)
        return rc;
    json_object_set_new(r->j, "reason", reason ? json_string(reason) : json_null());
    parent_finish(c, r, st != GY_PRUN_FAILED);
    d = json_pack("{s:I, s:s, s:s?}", "run", (json_int_t)r->id, "state", gy_pipeline_state_name(st),
                  "reason", reason);
    audit(c,
          st == GY_PRUN_PROMOTED      ? "pipeline.promote"
          : st == GY_PRUN_ROLLED_BACK ? "pipeline.rollback"
          : st == GY_PRUN_REJECTED    ? "pipeline.reject"
                                      : "pipeline.fail",
          r->spec->name, st == GY_PRUN_FAILED ? "error: run failed" : "ok", d);
    json_decref(d);
    gy_log(st == GY_PRUN_FAILED ? GY_LOG_WARN : GY_LOG_INFO, "pipeline %s run %lld: %s",
           r->spec->name, (long long)r->id, reason ? reason : gy_pipeline_state_name(st));
    return GY_OK;
}

/* ------------------------------------------------------------------ pending */

static enum gy_status step_pending(struct gy_pipeline_ctl *c, struct run *r)
{
    char ref[GY_LAKE_MAX_NAME + 32], name[160], champion_ref[GY_REGISTRY_NAME_MAX + 16];
    int64_t rows = 0, exp_id = 0, champion = 0;
    struct gy_registry_version_info *vi = NULL;
    enum gy_status rc;
    const char *exp = r->spec->train.experiment;
    char exp_buf[GY_PIPELINE_MAX_NAME + 16];

    if ((rc = gy__pipeline_data(c->db, r->spec, r->id, ref, sizeof ref, &rows)))
        return rc;
    snprintf(champion_ref, sizeof champion_ref, "%s@champion", r->spec->register_.model);
    rc = gy_registry_resolve(c->db, champion_ref, &vi);
    if (rc == GY_OK)
        champion = vi->version;
    else if (rc == GY_NOT_FOUND)
        gy_error_clear();
    else
        return rc;
    gy_registry_version_info_free(vi);
    if (!exp) {
        snprintf(exp_buf, sizeof exp_buf, "pipeline-%s", r->spec->name);
        exp = exp_buf;
    }
    if (!rstr(r, "tracking_run")) {
        char id[GY_TRACKING_RUN_ID_LEN + 1], rid[32], sv[32];
        struct gy_tracking_tag tags[] = {
            {"mlflow.source.name", "gyre pipeline"}, {"mlflow.source.type", "PIPELINE"},
            {"gyre.pipeline", r->spec->name},        {"gyre.pipeline.run", rid},
            {"gyre.pipeline.spec_version", sv},      {"gyre.pipeline.trigger", rstr(r, "trigger")}};
        struct gy_tracking_run_create rcfg;
        snprintf(rid, sizeof rid, "%lld", (long long)r->id);
        snprintf(sv, sizeof sv, "%lld", (long long)rint_(r, "spec_version"));
        snprintf(name, sizeof name, "%s #%lld", r->spec->name, (long long)r->id);
        if ((rc = gy_tracking_experiment_ensure(c->db, exp, &exp_id)))
            return rc;
        memset(&rcfg, 0, sizeof rcfg);
        rcfg.experiment_id = exp_id;
        rcfg.run_name = name;
        rcfg.user_id = c->actor;
        rcfg.tags = tags;
        rcfg.ntags = GY_ARRAY_LEN(tags);
        if ((rc = gy_tracking_run_create(c->db, &rcfg, id)) ||
            (rc = set_col(c, r, "tracking_run", GY_DB_P_TEXT(id))))
            return rc;
        gy_tracking_param_log(c->db, id, "data", ref);
        if (champion) {
            char cv[GY_REGISTRY_NAME_MAX + 32];
            snprintf(cv, sizeof cv, "%s@%lld", r->spec->register_.model, (long long)champion);
            gy_tracking_param_log(c->db, id, "parent_champion", cv);
        }
    }
    if ((rc = set_col(c, r, "data_ref", GY_DB_P_TEXT(ref))) ||
        (rc = set_col(c, r, "data_rows", GY_DB_P_INT(rows))) ||
        (rc = set_col(c, r, "champion_version", champion ? GY_DB_P_INT(champion) : GY_DB_P_NULL)))
        return rc;
    {
        struct gy_db_param p[] = {GY_DB_P_INT(rows), GY_DB_P_TEXT(r->spec->name)};
        gy_db_exec(c->db, "UPDATE pipelines SET last_rows = $1 WHERE name = $2", p, 2, NULL);
    }
    {
        json_t *d = json_pack("{s:I, s:s, s:s, s:I}", "run", (json_int_t)r->id, "trigger",
                              rstr(r, "trigger"), "data", ref, "champion", (json_int_t)champion);
        audit(c, "pipeline.run", r->spec->name, "ok", d);
        json_decref(d);
    }
    gy_log(GY_LOG_INFO, "pipeline %s run %lld: training on %s (%lld rows)", r->spec->name,
           (long long)r->id, ref, (long long)rows);
    crash_point("pending.data");
    return save(c, r, GY_PRUN_TRAINING, NULL);
}

/* ------------------------------------------------------------------ training */

struct argv {
    char *v[MAX_ARGS + 1];
    size_t n;
};

static enum gy_status arg(struct argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum gy_status arg(struct argv *a, const char *fmt, ...)
{
    va_list ap;
    char buf[4096];
    int n;
    if (a->n >= MAX_ARGS)
        return gy_error_set(GY_E_TOO_LARGE, "too many training arguments");
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return gy_error_set(GY_E_TOO_LARGE, "training argument too long");
    if (!(a->v[a->n] = gy_strdup(buf)))
        return GY_E_NOMEM;
    a->v[++a->n] = NULL;
    return GY_OK;
}

static void argv_free(struct argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        gy_free(a->v[i]);
    a->n = 0;
}

static void log_path(struct gy_pipeline_ctl *c, const char *train_run, char *out, size_t cap)
{
    snprintf(out, cap, "%s/tmp/pipeline-train-%s.log", gy_db_home(c->db), train_run);
}

static enum gy_status train_args(struct gy_pipeline_ctl *c, struct run *r, const char *train_run,
                                 struct argv *a)
{
    const struct gy_pipeline_spec *s = r->spec;
    enum gy_status rc;
    if ((rc = arg(a, "%s", c->exe)) || (rc = arg(a, "train")) || (rc = arg(a, "--run-id")) ||
        (rc = arg(a, "%s", train_run)) || (rc = arg(a, "--dataset")) ||
        (rc = arg(a, "%s", rstr(r, "data"))) || (rc = arg(a, "--target")) ||
        (rc = arg(a, "%s", s->train.target)) || (rc = arg(a, "--trainer")) ||
        (rc = arg(a, "%s", s->train.trainer)) || (rc = arg(a, "--valid")) ||
        (rc = arg(a, "%.17g", s->train.valid_fraction)) || (rc = arg(a, "--seed")) ||
        (rc = arg(a, "%llu", (unsigned long long)s->train.seed)))
        return rc;
    if (s->train.task && ((rc = arg(a, "--task")) || (rc = arg(a, "%s", s->train.task))))
        return rc;
    if (s->train.split && ((rc = arg(a, "--split")) || (rc = arg(a, "%s", s->train.split))))
        return rc;
    if (s->train.rounds && ((rc = arg(a, "--rounds")) || (rc = arg(a, "%d", s->train.rounds))))
        return rc;
    if (s->train.early_stopping &&
        ((rc = arg(a, "--early-stopping")) || (rc = arg(a, "%d", s->train.early_stopping))))
        return rc;
    if (s->train.features) {
        if (s->train.features[0] == '{') {
            char path[4096];
            snprintf(path, sizeof path, "%s/tmp/pipeline-features-%s.json", gy_db_home(c->db),
                     train_run);
            if ((rc = gy_file_write_atomic(path, s->train.features, strlen(s->train.features))))
                return rc;
            if ((rc = arg(a, "--features-file")) || (rc = arg(a, "%s", path)))
                return rc;
        } else if ((rc = arg(a, "--features")) || (rc = arg(a, "%s", s->train.features))) {
            return rc;
        }
    }
    for (size_t i = 0; i < s->train.n_params; i++)
        if ((rc = arg(a, "--param")) ||
            (rc = arg(a, "%s=%s", s->train.params[i].key, s->train.params[i].value)))
            return rc;
    if (rint_(r, "champion_version") > 0 &&
        ((rc = arg(a, "--baseline")) ||
         (rc = arg(a, "%s@%lld", s->register_.model, (long long)rint_(r, "champion_version")))))
        return rc;
    return arg(a, "--quiet");
}

static enum gy_status spawn_trainer(struct gy_pipeline_ctl *c, struct run *r, const char *train_run,
                                    pid_t *pid)
{
    struct argv a = {{0}, 0}, env = {{0}, 0};
    posix_spawn_file_actions_t fa;
    char lp[4096];
    enum gy_status rc;
    int err;
    log_path(c, train_run, lp, sizeof lp);
    if ((rc = train_args(c, r, train_run, &a)))
        goto out;
    for (char **p = environ; *p && env.n + 2 < MAX_ARGS; p++)
        if (strncmp(*p, "GYRE_HOME=", 10) != 0 && (rc = arg(&env, "%s", *p)))
            goto out;
    if ((rc = arg(&env, "GYRE_HOME=%s", gy_db_home(c->db))))
        goto out;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = GY_E_NOMEM;
        goto out;
    }
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, lp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    err = posix_spawn(pid, c->exe, &fa, NULL, a.v, env.v);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        rc = gy_error_set(GY_E_INTERNAL, "cannot start the trainer %s: %s", c->exe, strerror(err));
out:
    argv_free(&a);
    argv_free(&env);
    return rc;
}

/* The last non-empty line of the trainer's log (its error), into @p out. */
static void log_tail(const char *path, char *out, size_t cap)
{
    struct gy_buf b;
    out[0] = '\0';
    gy_buf_init(&b, 16 << 20);
    if (gy_file_read(path, &b) == GY_OK && b.len) {
        size_t end = b.len;
        while (end && (b.data[end - 1] == '\n' || b.data[end - 1] == '\r'))
            end--;
        size_t start = end;
        while (start && b.data[start - 1] != '\n')
            start--;
        snprintf(out, cap, "%.*s", (int)(end - start), b.data + start);
    }
    gy_buf_free(&b);
}

/* Files the trainer's log with its run; marks the run FAILED unless it finished. */
static void trainer_done(struct gy_pipeline_ctl *c, const char *train_run, int status)
{
    char lp[4096];
    struct gy_buf log;
    json_t *tr = NULL;
    log_path(c, train_run, lp, sizeof lp);
    gy_buf_init(&log, 16 << 20);
    if (gy_file_read(lp, &log) == GY_OK)
        gy_tracking_artifact_put(c->db, train_run, "train.log", log.data ? log.data : "", log.len);
    gy_buf_free(&log);
    if (gy_tracking_run_get(c->db, train_run, &tr) == GY_OK) {
        const char *st = gy_json_str(json_object_get(tr, "info"), "status", "");
        if (strcmp(st, "RUNNING") == 0 || strcmp(st, "SCHEDULED") == 0) {
            struct gy_tracking_run_update u = {GY_RUN_FAILED, 1, gy_time_wall_us() / 1000, NULL};
            char why[600], tail[512];
            log_tail(lp, tail, sizeof tail);
            if (status >= 0)
                snprintf(why, sizeof why, "trainer %s %d%s%s",
                         WIFSIGNALED(status) ? "killed by signal" : "exited with",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                         tail[0] ? ": " : "", tail);
            else
                snprintf(why, sizeof why, "trainer stopped with the controller that ran it");
            gy_tracking_run_tag_set(c->db, train_run, "gyre.error", why);
            gy_tracking_run_update(c->db, train_run, &u, NULL);
        }
        json_decref(tr);
    }
}

static const char *tag_of(const json_t *run, const char *key)
{
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(run, "data"), "tags"), i, t)
    {
        if (strcmp(gy_json_str(t, "key", ""), key) == 0)
            return gy_json_str(t, "value", NULL);
    }
    return NULL;
}

static struct kid *kid_find(struct gy_pipeline_ctl *c, int64_t run)
{
    for (size_t i = 0; i < c->nkids; i++)
        if (c->kids[i].run == run)
            return &c->kids[i];
    return NULL;
}

static void kid_drop(struct gy_pipeline_ctl *c, struct kid *k)
{
    *k = c->kids[--c->nkids];
}

/*
 * Is the trainer of @p train_run (its run @p tr) still at work? It tags its run with
 * "gyre.trainer" = "HOST:PID" before it loads any data: a process of this host with that pid
 * whose command line names the run is alive. A trainer that has not tagged yet was started a
 * moment ago, or never started: it gets START_GRACE_US from the run's creation.
 */
#define START_GRACE_US (60 * 1000000LL)
static int trainer_alive(const json_t *tr, const char *train_run)
{
    const char *who = tag_of(tr, "gyre.trainer");
    char path[64], buf[8192], host[256] = "";
    const char *colon;
    long pid = 0;
    ssize_t n;
    int fd;
    if (!who) {
        int64_t start_ms = gy_json_int(json_object_get(tr, "info"), "start_time", 0);
        return gy_time_wall_us() - start_ms * 1000 < START_GRACE_US;
    }
    gethostname(host, sizeof host - 1);
    colon = strrchr(who, ':');
    if (!colon || (size_t)(colon - who) != strlen(host) || strncmp(who, host, strlen(host)) != 0)
        return 1; /* another host's trainer: its lease holder judges it */
    if (sscanf(colon + 1, "%ld", &pid) != 1 || pid <= 0 ||
        (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    for (ssize_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    buf[n] = '\0';
    return strstr(buf, train_run) != NULL;
}

static enum gy_status new_train_run(struct gy_pipeline_ctl *c, struct run *r,
                                    char id[GY_TRACKING_RUN_ID_LEN + 1])
{
    int64_t exp_id = 0;
    char *uri = NULL, name[160];
    struct gy_tracking_tag tags[] = {{"mlflow.source.name", "gyre pipeline"},
                                     {"mlflow.source.type", "PIPELINE"},
                                     {"mlflow.parentRunId", rstr(r, "tracking_run")},
                                     {"gyre.pipeline", r->spec->name}};
    struct gy_tracking_run_create rcfg;
    struct gy_tracking_run_update u = {GY_RUN_SCHEDULED, 0, 0, NULL};
    enum gy_status rc;
    if ((rc = gy_tracking_run_experiment(c->db, rstr(r, "tracking_run"), &exp_id, &uri)))
        return rc;
    gy_free(uri);
    snprintf(name, sizeof name, "%s #%lld train %lld", r->spec->name, (long long)r->id,
             (long long)rint_(r, "attempts") + 1);
    memset(&rcfg, 0, sizeof rcfg);
    rcfg.experiment_id = exp_id;
    rcfg.run_name = name;
    rcfg.user_id = c->actor;
    rcfg.tags = tags;
    rcfg.ntags = GY_ARRAY_LEN(tags);
    if ((rc = gy_tracking_run_create(c->db, &rcfg, id)) ||
        (rc = gy_tracking_run_update(c->db, id, &u, NULL)))
        return rc;
    return GY_OK;
}

/* GY_OK with *wait 1 while the trainer runs. */
static enum gy_status step_training(struct gy_pipeline_ctl *c, struct run *r, int *wait)
{
    const char *tr = rstr(r, "train_run");
    json_t *run = NULL;
    const char *st = "";
    enum gy_status rc;
    struct kid *k;
    *wait = 0;
    if (tr) {
        if ((rc = gy_tracking_run_get(c->db, tr, &run)))
            return rc;
        st = gy_json_str(json_object_get(run, "info"), "status", "");
        if (strcmp(st, "FINISHED") == 0) {
            json_decref(run);
            if ((k = kid_find(c, r->id))) {
                int status;
                if (waitpid(k->pid, &status, WNOHANG) == 0) {
                    *wait = 1; /* finished its run; still filing its log */
                    return GY_OK;
                }
                trainer_done(c, tr, status);
                kid_drop(c, k);
            }
            crash_point("training.finished");
            return save(c, r, GY_PRUN_EVALUATING, NULL);
        }
        if (strcmp(st, "RUNNING") == 0 || strcmp(st, "SCHEDULED") == 0) {
            int alive = trainer_alive(run, tr);
            json_decref(run);
            if ((k = kid_find(c, r->id))) {
                int status;
                pid_t w = waitpid(k->pid, &status, WNOHANG);
                if (w == 0) {
                    *wait = 1;
                    return GY_OK;
                }
                trainer_done(c, tr, w == k->pid ? status : -1);
                kid_drop(c, k);
            } else if (alive) {
                *wait = 1; /* an earlier controller's trainer: let it finish */
                return GY_OK;
            } else {
                trainer_done(c, tr, -1);
            }
            return GY_OK; /* the next round sees FAILED and retries */
        }
        json_decref(run);
        /* FAILED or KILLED: retry with a new training run, up to MAX_ATTEMPTS. */
        if (rint_(r, "attempts") >= MAX_ATTEMPTS) {
            char why[700];
            json_t *t = NULL;
            const char *err = NULL;
            if (gy_tracking_run_get(c->db, tr, &t) == GY_OK) {
                json_t *tag;
                size_t i;
                json_array_foreach(json_object_get(json_object_get(t, "data"), "tags"), i, tag)
                {
                    if (strcmp(gy_json_str(tag, "key", ""), "gyre.error") == 0)
                        err = gy_json_str(tag, "value", NULL);
                }
            }
            snprintf(why, sizeof why, "failed: training failed %d times%s%s", MAX_ATTEMPTS,
                     err ? ": " : "", err ? err : "");
            json_decref(t);
            return finish(c, r, GY_PRUN_FAILED, why);
        }
    }
    {
        char id[GY_TRACKING_RUN_ID_LEN + 1];
        pid_t pid;
        if (c->nkids == MAX_KIDS) {
            *wait = 1;
            return GY_OK;
        }
        if ((rc = new_train_run(c, r, id)) ||
            (rc = set_col(c, r, "attempts", GY_DB_P_INT(rint_(r, "attempts") + 1))) ||
            (rc = set_col(c, r, "train_run", GY_DB_P_TEXT(id))))
            return rc;
        if ((rc = spawn_trainer(c, r, id, &pid))) {
            char why[600];
            struct gy_tracking_run_update u = {GY_RUN_FAILED, 1, gy_time_wall_us() / 1000, NULL};
            snprintf(why, sizeof why, "%s", gy_error_msg());
            gy_tracking_run_tag_set(c->db, id, "gyre.error", why);
            gy_tracking_run_update(c->db, id, &u, NULL);
            return GY_OK;
        }
        c->kids[c->nkids++] = (struct kid){r->id, pid};
        crash_point("training.spawned");
        gy_log(GY_LOG_INFO, "pipeline %s run %lld: trainer %ld started (run %s, attempt %lld)",
               r->spec->name, (long long)r->id, (long)pid, id, (long long)rint_(r, "attempts"));
        *wait = 1;
        return save(c, r, GY_PRUN_TRAINING, NULL);
    }
}

/* ------------------------------------------------------------------ evaluating */

static int metric_of(const json_t *run, const char *key, double *v)
{
    json_t *m;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(run, "data"), "metrics"), i, m)
    {
        if (strcmp(gy_json_str(m, "key", ""), key) == 0) {
            json_t *val = json_object_get(m, "value");
            if (!json_is_number(val))
                return 0;
            *v = json_number_value(val);
            return 1;
        }
    }
    return 0;
}

static int op_holds(enum gy_pipeline_op op, double v, double t)
{
    switch (op) {
    case GY_OP_GE:
        return v >= t;
    case GY_OP_GT:
        return v > t;
    case GY_OP_LE:
        return v <= t;
    case GY_OP_LT:
        return v < t;
    }
    return 0;
}

static const char *op_negated(enum gy_pipeline_op op)
{
    switch (op) {
    case GY_OP_GE:
        return "<";
    case GY_OP_GT:
        return "<=";
    case GY_OP_LE:
        return ">";
    case GY_OP_LT:
        return ">=";
    }
    return "?";
}

/* The gates: *why gets the first failure ("" when all pass); results go to details.gates. */
static enum gy_status gates(struct gy_pipeline_ctl *c, struct run *r, const json_t *tr, char *why,
                            size_t cap)
{
    const struct gy_pipeline_spec *s = r->spec;
    json_t *res = json_array();
    why[0] = '\0';
    if (!res)
        return GY_E_NOMEM;
    for (size_t i = 0; i < s->gates.n_min; i++) {
        const struct gy_pipeline_gate *g = &s->gates.min[i];
        char key[96];
        double v = NAN;
        int have, pass;
        snprintf(key, sizeof key, "valid_%s", g->metric);
        have = metric_of(tr, key, &v);
        pass = have && op_holds(g->op, v, g->value);
        json_array_append_new(res,
                              json_pack("{s:s, s:s, s:f, s:o, s:b}", "gate", g->metric, "op",
                                        gy_pipeline_op_name(g->op), "threshold", g->value, "value",
                                        have ? json_real(v) : json_null(), "pass", pass));
        if (!pass && !why[0]) {
            if (have)
                snprintf(why, cap, "%s %.4g %s %.4g", g->metric, v, op_negated(g->op), g->value);
            else
                snprintf(why, cap, "the training logged no validation %s", g->metric);
        }
    }
    if (s->gates.champion_metric && rint_(r, "champion_version") > 0) {
        const char *m = s->gates.champion_metric, *err = tag_of(tr, "gyre.baseline.error");
        char key[96], bkey[112];
        double v = NAN, b = NAN, margin = s->gates.champion_margin;
        int hv, hb, pass = 0, hi = higher_is_better(m);
        snprintf(key, sizeof key, "valid_%s", m);
        snprintf(bkey, sizeof bkey, "baseline_valid_%s", m);
        hv = metric_of(tr, key, &v);
        hb = metric_of(tr, bkey, &b);
        if (hv && hb)
            pass = hi ? v >= b + margin : v <= b - margin;
        json_array_append_new(
            res, json_pack("{s:s, s:s, s:f, s:o, s:o, s:I, s:b}", "gate", "champion", "metric", m,
                           "margin", margin, "value", hv ? json_real(v) : json_null(), "champion",
                           hb ? json_real(b) : json_null(), "champion_version",
                           (json_int_t)rint_(r, "champion_version"), "pass", pass));
        if (!pass && !why[0]) {
            if (hv && hb)
                snprintf(why, cap, "%s %.4f %s champion %.4f %s %.4g", m, v, hi ? "<" : ">", b,
                         hi ? "+" : "-", margin);
            else if (err)
                snprintf(why, cap, "the champion could not be scored on the holdout: %s", err);
            else
                snprintf(why, cap, "no %s for the candidate or the champion on the holdout", m);
        }
    }
    json_object_set_new(r->details, "gates", res);
    (void)c;
    return GY_OK;
}

/* The candidate's registered version: found by its training run, else registered now. */
static enum gy_status register_candidate(struct gy_pipeline_ctl *c, struct run *r, int64_t *version)
{
    const char *tr = rstr(r, "train_run"), *model = r->spec->register_.model;
    char filter[128], hex[GY_SHA256_HEX_LEN + 1], ds[GY_LAKE_MAX_NAME + 1];
    struct gy_registry_search q;
    json_t *found = NULL, *mv;
    int64_t dsv = 0;
    size_t i;
    enum gy_status rc;
    *version = 0;
    snprintf(filter, sizeof filter, "run_id = '%s'", tr);
    memset(&q, 0, sizeof q);
    q.filter = filter;
    q.max_results = 1000;
    if ((rc = gy_registry_version_search(c->db, &q, &found)))
        return rc;
    json_array_foreach(json_object_get(found, "model_versions"), i, mv)
    {
        if (strcmp(gy_json_str(mv, "name", ""), model) == 0)
            gy_registry_version_parse(gy_json_str(mv, "version", ""), version);
    }
    json_decref(found);
    if (*version)
        return GY_OK;
    if ((rc = gy_tracking_artifact_stat(c->db, tr, "model/model.gyre", hex, NULL)))
        return rc;
    if ((rc = gy_lake_parse_ref(rstr(r, "data"), ds, &dsv)))
        return rc;
    return gy_registry_register(c->db, model, tr, NULL, hex, ds, dsv, version);
}

/* The deployment spec as canonical JSON text (new). */
static char *spec_text(const struct gy_deploy_spec *s)
{
    json_t *j = NULL;
    char *t;
    if (gy_deploy_spec_to_json(s, &j) != GY_OK)
        return NULL;
    t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return t;
}

/* Makes deployment @p name's spec equal @p want (JSON); a no-op when it already is. */
static enum gy_status deploy_make(struct gy_pipeline_ctl *c, const char *name, json_t *want,
                                  const char *reason)
{
    struct gy_deploy_spec *cur = NULL, *ws = NULL;
    char *a = NULL, *b = NULL;
    int64_t rev = 0;
    enum gy_status rc;
    json_t *out = NULL;
    if ((rc = gy_deploy_get_spec(c->db, name, &cur, &rev)) ||
        (rc = gy_deploy_spec_from_json(want, &ws)))
        goto out;
    a = spec_text(cur);
    b = spec_text(ws);
    if (!a || !b) {
        rc = GY_E_NOMEM;
        goto out;
    }
    if (strcmp(a, b) != 0)
        rc = gy_deploy_update(c->db, ws, reason, &out);
out:
    json_decref(out);
    gy_free(a);
    gy_free(b);
    gy_deploy_spec_free(cur);
    gy_deploy_spec_free(ws);
    return rc;
}

/* The canary spec: the deployment before the canary, its routes replaced by the champion
 * (100 - p %) and the challenger (p %). */
static enum gy_status canary_spec(const struct run *r, const json_t *before, json_t **out)
{
    json_t *j = json_deep_copy(before), *routes;
    const struct gy_pipeline_spec *s = r->spec;
    if (!j)
        return GY_E_NOMEM;
    routes = json_pack("[{s:s, s:s, s:I}, {s:s, s:s, s:I}]", "model", s->register_.model, "ref",
                       "champion", "weight", (json_int_t)(100 - s->rollout.canary_percent), "model",
                       s->register_.model, "ref", s->register_.alias, "weight",
                       (json_int_t)s->rollout.canary_percent);
    if (!routes) {
        json_decref(j);
        return GY_E_NOMEM;
    }
    json_object_set_new(j, "routes", routes);
    *out = j;
    return GY_OK;
}

static enum gy_status promote(struct gy_pipeline_ctl *c, struct run *r, const char *why);

static enum gy_status step_evaluating(struct gy_pipeline_ctl *c, struct run *r)
{
    const struct gy_pipeline_spec *s = r->spec;
    json_t *tr = NULL;
    char why[700], reason[760];
    int64_t version = 0;
    enum gy_status rc;
    if (!json_object_get(r->details, "decision")) {
        if ((rc = gy_tracking_run_get(c->db, rstr(r, "train_run"), &tr)))
            return rc;
        rc = gates(c, r, tr, why, sizeof why);
        json_decref(tr);
        if (rc)
            return rc;
        json_object_set_new(r->details, "decision", json_string(why[0] ? "reject" : "accept"));
        if ((rc = save(c, r, GY_PRUN_EVALUATING, NULL)))
            return rc;
        {
            json_t *d = json_pack("{s:I, s:O}", "run", (json_int_t)r->id, "gates",
                                  json_object_get(r->details, "gates"));
            audit(c, "pipeline.gate", s->name, why[0] ? "denied: gate failed" : "ok", d);
            json_decref(d);
        }
    }
    if (strcmp(gy_json_str(r->details, "decision", ""), "reject") == 0) {
        json_t *g;
        size_t i;
        why[0] = '\0';
        json_array_foreach(json_object_get(r->details, "gates"), i, g)
        {
            if (!json_is_true(json_object_get(g, "pass")) && !why[0]) {
                /* Rebuild the first failure's text from the stored results. */
                const char *m = gy_json_str(g, "gate", "");
                json_t *v = json_object_get(g, "value");
                if (strcmp(m, "champion") == 0) {
                    const char *cm = gy_json_str(g, "metric", "");
                    json_t *b = json_object_get(g, "champion");
                    int hi = higher_is_better(cm);
                    if (json_is_number(v) && json_is_number(b))
                        snprintf(why, sizeof why, "%s %.4f %s champion %.4f %s %.4g", cm,
                                 json_number_value(v), hi ? "<" : ">", json_number_value(b),
                                 hi ? "+" : "-", json_number_value(json_object_get(g, "margin")));
                    else
                        snprintf(why, sizeof why,
                                 "the champion could not be scored on the same holdout");
                } else if (json_is_number(v)) {
                    enum gy_pipeline_op op = GY_OP_GE;
                    const char *ops = gy_json_str(g, "op", ">=");
                    op = strcmp(ops, ">") == 0    ? GY_OP_GT
                         : strcmp(ops, "<=") == 0 ? GY_OP_LE
                         : strcmp(ops, "<") == 0  ? GY_OP_LT
                                                  : GY_OP_GE;
                    snprintf(why, sizeof why, "%s %.4g %s %.4g", m, json_number_value(v),
                             op_negated(op), json_number_value(json_object_get(g, "threshold")));
                } else {
                    snprintf(why, sizeof why, "the training logged no validation %s", m);
                }
            }
        }
        snprintf(reason, sizeof reason, "rejected: %s", why);
        return finish(c, r, GY_PRUN_REJECTED, reason);
    }
    /* Accepted: register (once), alias, then canary or promote. */
    crash_point("evaluating.decided");
    if ((rc = register_candidate(c, r, &version)))
        return rc;
    crash_point("evaluating.registered");
    if (rint_(r, "candidate_version") != version &&
        (rc = set_col(c, r, "candidate_version", GY_DB_P_INT(version))))
        return rc;
    if ((rc = gy_registry_alias_set(c->db, s->register_.model, s->register_.alias, version)))
        return rc;
    parent_tag(c, r, "gyre.pipeline.candidate", s->register_.model);
    {
        char cv[32];
        snprintf(cv, sizeof cv, "%lld", (long long)version);
        parent_tag(c, r, "gyre.pipeline.candidate_version", cv);
    }
    if (!s->rollout.deployment || rint_(r, "champion_version") == 0) {
        /* No rollout, or nothing to compare with: the gates decide. */
        return promote(c, r,
                       !s->rollout.deployment ? "gates passed (no rollout configured)"
                                              : "gates passed; first version (no champion)");
    }
    if (!json_object_get(r->details, "deployment_before")) {
        struct gy_deploy_spec *cur = NULL;
        json_t *j = NULL;
        int64_t rev = 0;
        if ((rc = gy_deploy_get_spec(c->db, s->rollout.deployment, &cur, &rev)))
            return rc;
        rc = gy_deploy_spec_to_json(cur, &j);
        gy_deploy_spec_free(cur);
        if (rc)
            return rc;
        json_object_set_new(r->details, "deployment_before", j);
        json_object_set_new(r->details, "deployment_revision_before", json_integer(rev));
        if ((rc = save(c, r, GY_PRUN_EVALUATING, NULL)))
            return rc;
    }
    {
        json_t *want = NULL;
        char rs[200];
        snprintf(rs, sizeof rs, "pipeline %s run %lld: canary %u%% to %s@%lld", s->name,
                 (long long)r->id, s->rollout.canary_percent, s->register_.model,
                 (long long)version);
        if ((rc = canary_spec(r, json_object_get(r->details, "deployment_before"), &want)))
            return rc;
        rc = deploy_make(c, s->rollout.deployment, want, rs);
        json_decref(want);
        if (rc)
            return rc;
        crash_point("evaluating.canary");
    }
    if ((rc = set_col(c, r, "canary_started_us", GY_DB_P_INT(gy_time_wall_us()))))
        return rc;
    json_object_del(r->details, "decision");
    {
        json_t *d = json_pack("{s:I, s:s, s:I, s:I}", "run", (json_int_t)r->id, "deployment",
                              s->rollout.deployment, "candidate", (json_int_t)version, "percent",
                              (json_int_t)s->rollout.canary_percent);
        audit(c, "pipeline.canary", s->name, "ok", d);
        json_decref(d);
    }
    gy_log(GY_LOG_INFO, "pipeline %s run %lld: canary of %s@%lld at %u%% on %s", s->name,
           (long long)r->id, s->register_.model, (long long)version, s->rollout.canary_percent,
           s->rollout.deployment);
    return save(c, r, GY_PRUN_CANARY, NULL);
}

/* ------------------------------------------------------------------ promote / roll back */

/* The challenger alias goes once the run has an outcome, only if it still names this run's
 * candidate (a later run may have moved it). */
static enum gy_status drop_challenger(struct gy_pipeline_ctl *c, struct run *r)
{
    const struct gy_pipeline_spec *s = r->spec;
    struct gy_registry_version_info *vi = NULL;
    char ref[GY_REGISTRY_NAME_MAX + GY_REGISTRY_ALIAS_MAX + 2];
    enum gy_status rc;
    snprintf(ref, sizeof ref, "%s@%s", s->register_.model, s->register_.alias);
    rc = gy_registry_resolve(c->db, ref, &vi);
    if (rc == GY_OK && vi->version == rint_(r, "candidate_version"))
        rc = gy_registry_alias_delete(c->db, s->register_.model, s->register_.alias);
    if (rc == GY_NOT_FOUND) {
        gy_error_clear();
        rc = GY_OK;
    }
    gy_registry_version_info_free(vi);
    return rc;
}

/* Idempotent: the champion alias on the candidate, the deployment as before the canary. */
static enum gy_status promote(struct gy_pipeline_ctl *c, struct run *r, const char *why)
{
    const struct gy_pipeline_spec *s = r->spec;
    char reason[800];
    enum gy_status rc;
    json_t *before = json_object_get(r->details, "deployment_before");
    if (!json_object_get(r->details, "outcome")) {
        json_object_set_new(r->details, "outcome", json_string("promote"));
        json_object_set_new(r->details, "outcome_reason", json_string(why));
        if ((rc = save(c, r, r->state, NULL)))
            return rc;
    }
    crash_point("canary.decided");
    if ((rc = gy_registry_alias_set(c->db, s->register_.model, "champion",
                                    rint_(r, "candidate_version"))))
        return rc;
    crash_point("canary.promoted");
    if (before && s->rollout.deployment) {
        char rs[200];
        snprintf(rs, sizeof rs, "pipeline %s run %lld: promoted %s@%lld", s->name, (long long)r->id,
                 s->register_.model, (long long)rint_(r, "candidate_version"));
        if ((rc = deploy_make(c, s->rollout.deployment, before, rs)))
            return rc;
    }
    if ((rc = drop_challenger(c, r)))
        return rc;
    snprintf(reason, sizeof reason, "promoted %s@%lld: %s", s->register_.model,
             (long long)rint_(r, "candidate_version"),
             gy_json_str(r->details, "outcome_reason", why));
    return finish(c, r, GY_PRUN_PROMOTED, reason);
}

static enum gy_status roll_back(struct gy_pipeline_ctl *c, struct run *r, const char *why)
{
    const struct gy_pipeline_spec *s = r->spec;
    char reason[800];
    enum gy_status rc;
    json_t *before = json_object_get(r->details, "deployment_before");
    if (!json_object_get(r->details, "outcome")) {
        json_object_set_new(r->details, "outcome", json_string("roll_back"));
        json_object_set_new(r->details, "outcome_reason", json_string(why));
        if ((rc = save(c, r, r->state, NULL)))
            return rc;
    }
    if (before) {
        char rs[200];
        snprintf(rs, sizeof rs, "pipeline %s run %lld: rolled back %s@%lld", s->name,
                 (long long)r->id, s->register_.model, (long long)rint_(r, "candidate_version"));
        crash_point("canary.decided");
        if ((rc = deploy_make(c, s->rollout.deployment, before, rs)))
            return rc;
        crash_point("canary.restored");
    }
    if ((rc = drop_challenger(c, r)))
        return rc;
    snprintf(reason, sizeof reason, "rolled back %s@%lld: %s", s->register_.model,
             (long long)rint_(r, "candidate_version"),
             gy_json_str(r->details, "outcome_reason", why));
    return finish(c, r, GY_PRUN_ROLLED_BACK, reason);
}

/* ------------------------------------------------------------------ canary */

struct vstats {
    const char *dep, *champ_variant, *cand_variant;
    int found[2];
    uint64_t routed[2], errors[2], count[2], bucket[2][GY_SERVING_N_BUCKETS];
};

static void on_variant(const struct gy_variant_stats *v, void *ctx)
{
    struct vstats *s = ctx;
    int i = -1;
    if (v->shadow || strcmp(v->deployment, s->dep) != 0)
        return;
    if (strcmp(v->variant, s->champ_variant) == 0)
        i = 0;
    else if (strcmp(v->variant, s->cand_variant) == 0)
        i = 1;
    if (i < 0)
        return;
    s->found[i] = 1;
    s->routed[i] = v->routed;
    s->errors[i] = v->errors;
    s->count[i] = v->count;
    memcpy(s->bucket[i], v->bucket, sizeof s->bucket[i]);
}

/* The latency bound (a bucket's, in seconds) under which 99 % of the requests counted
 * since the base finished; NAN without requests, INFINITY above the last bucket. */
static double p99(const uint64_t *now, const uint64_t *base, uint64_t total)
{
    if (!total)
        return NAN;
    for (size_t b = 0; b < GY_SERVING_N_BUCKETS; b++)
        if ((double)(now[b] - base[b]) >= 0.99 * (double)total)
            return gy_serving_buckets[b];
    return INFINITY;
}

static struct base *base_of(struct gy_pipeline_ctl *c, int64_t run, const struct vstats *v)
{
    for (size_t i = 0; i < c->nbases; i++)
        if (c->bases[i].run == run)
            return &c->bases[i];
    if (c->nbases == MAX_BASES)
        c->nbases = 0; /* forget the oldest: a restart of the count, never a wrong count */
    struct base *b = &c->bases[c->nbases++];
    b->run = run;
    memcpy(b->routed, v->routed, sizeof b->routed);
    memcpy(b->errors, v->errors, sizeof b->errors);
    memcpy(b->count, v->count, sizeof b->count);
    memcpy(b->bucket, v->bucket, sizeof b->bucket);
    return b;
}

static enum gy_status step_canary(struct gy_pipeline_ctl *c, struct run *r, int *wait)
{
    const struct gy_pipeline_spec *s = r->spec;
    const char *outcome = gy_json_str(r->details, "outcome", NULL);
    char champ[GY_REGISTRY_NAME_MAX + 16], cand[GY_REGISTRY_NAME_MAX + GY_REGISTRY_ALIAS_MAX + 2];
    char why[600];
    struct vstats v;
    struct base *b;
    uint64_t req, err, creq;
    int64_t now = gy_time_wall_us(), since = rint_(r, "canary_started_us");
    int timed_out = now - since > s->rollout.max_duration_us;
    json_t *online = NULL;
    *wait = 0;
    if (outcome && strcmp(outcome, "promote") == 0)
        return promote(c, r, gy_json_str(r->details, "outcome_reason", ""));
    if (outcome)
        return roll_back(c, r, gy_json_str(r->details, "outcome_reason", ""));
    if (!c->serving) {
        *wait = 1; /* judged by the server's controller, which sees the traffic */
        return GY_OK;
    }
    snprintf(champ, sizeof champ, "%s@champion", s->register_.model);
    snprintf(cand, sizeof cand, "%s@%s", s->register_.model, s->register_.alias);
    memset(&v, 0, sizeof v);
    v.dep = s->rollout.deployment;
    v.champ_variant = champ;
    v.cand_variant = cand;
    gy_serving_stats(c->serving, NULL, on_variant, &v);
    b = base_of(c, r->id, &v);
    req = v.routed[1] - b->routed[1];
    err = v.errors[1] - b->errors[1];
    creq = v.routed[0] - b->routed[0];
    {
        json_t *cj =
            json_pack("{s:I, s:I, s:I, s:I}", "candidate_requests", (json_int_t)req,
                      "candidate_errors", (json_int_t)err, "champion_requests", (json_int_t)creq,
                      "champion_errors", (json_int_t)(v.errors[0] - b->errors[0]));
        json_object_set_new(r->details, "canary", cj);
    }
    if (now - since < s->rollout.min_duration_us || req < s->rollout.min_requests) {
        if (timed_out) {
            snprintf(why, sizeof why,
                     "canary timed out: %llu requests to the candidate, %llu needed",
                     (unsigned long long)req, (unsigned long long)s->rollout.min_requests);
            return roll_back(c, r, why);
        }
        *wait = 1;
        return GY_OK;
    }
    if (s->rollout.max_error_rate >= 0 && req &&
        (double)err / (double)req > s->rollout.max_error_rate) {
        snprintf(why, sizeof why, "error rate %.4f > %.4f (%llu of %llu requests)",
                 (double)err / (double)req, s->rollout.max_error_rate, (unsigned long long)err,
                 (unsigned long long)req);
        return roll_back(c, r, why);
    }
    if (s->rollout.max_p99_ratio > 0) {
        double pc = p99(v.bucket[1], b->bucket[1], v.count[1] - b->count[1]);
        double ph = p99(v.bucket[0], b->bucket[0], v.count[0] - b->count[0]);
        json_object_set_new(json_object_get(r->details, "canary"), "candidate_p99_s",
                            isfinite(pc) ? json_real(pc) : json_null());
        json_object_set_new(json_object_get(r->details, "canary"), "champion_p99_s",
                            isfinite(ph) ? json_real(ph) : json_null());
        if (isfinite(pc) && isfinite(ph) && ph > 0 && pc > s->rollout.max_p99_ratio * ph) {
            snprintf(why, sizeof why, "latency p99 %.3g ms > %.3g x champion's %.3g ms", pc * 1e3,
                     s->rollout.max_p99_ratio, ph * 1e3);
            return roll_back(c, r, why);
        }
    }
    if (s->rollout.online_metric) {
        enum gy_status rc =
            gy_deploy_compare(c->db, s->rollout.deployment, s->rollout.online_metric,
                              rint_(r, "champion_version"), since, s->rollout.alpha, &online);
        json_t *ctl = NULL, *var = NULL, *x;
        size_t i;
        uint64_t na = 0, nb = 0;
        if (rc == GY_OK) {
            ctl = json_object_get(online, "control");
            json_array_foreach(json_object_get(online, "variants"), i, x)
            {
                if (gy_json_int(x, "version", 0) == rint_(r, "candidate_version"))
                    var = x;
            }
            na = (uint64_t)gy_json_int(ctl, "n", 0);
            nb = var ? (uint64_t)gy_json_int(var, "n", 0) : 0;
        } else if (rc == GY_E_INVALID || rc == GY_NOT_FOUND) {
            gy_error_clear(); /* not enough feedback yet */
            rc = GY_OK;
        }
        if (rc)
            return rc;
        if (!var || na < s->rollout.min_feedback || nb < s->rollout.min_feedback) {
            json_decref(online);
            if (timed_out) {
                snprintf(why, sizeof why,
                         "canary timed out waiting for feedback: %llu and %llu labeled "
                         "requests, %llu needed per variant",
                         (unsigned long long)na, (unsigned long long)nb,
                         (unsigned long long)s->rollout.min_feedback);
                return roll_back(c, r, why);
            }
            *wait = 1;
            return GY_OK;
        }
        json_object_set(r->details, "online", var);
        {
            const char *m = s->rollout.online_metric;
            double a = json_number_value(json_object_get(ctl, "value"));
            double bv = json_number_value(json_object_get(var, "value"));
            double p = json_number_value(json_object_get(var, "p_value"));
            int hi = json_is_true(json_object_get(online, "higher_is_better"));
            double drop = hi ? a - bv : bv - a;
            json_t *better = json_object_get(var, "better");
            if (drop > s->rollout.max_online_drop) {
                snprintf(why, sizeof why,
                         "online %s %.4f vs champion %.4f: worse by %.4f > %.4g (p = %.3g)", m, bv,
                         a, drop, s->rollout.max_online_drop, p);
                json_decref(online);
                return roll_back(c, r, why);
            }
            if (s->rollout.require_significance && !json_is_true(better)) {
                json_decref(online);
                if (timed_out) {
                    snprintf(why, sizeof why,
                             "canary timed out: online %s %.4f vs champion %.4f is not "
                             "significantly better (p = %.3g)",
                             m, bv, a, p);
                    return roll_back(c, r, why);
                }
                *wait = 1;
                return save(c, r, GY_PRUN_CANARY, NULL);
            }
            snprintf(why, sizeof why,
                     "%llu canary requests, error rate %.4f; online %s %.4f vs champion %.4f "
                     "(effect %+.4f, p = %.3g)",
                     (unsigned long long)req, req ? (double)err / (double)req : 0.0, m, bv, a,
                     bv - a, p);
            json_decref(online);
            return promote(c, r, why);
        }
    }
    snprintf(why, sizeof why, "%llu canary requests, error rate %.4f", (unsigned long long)req,
             req ? (double)err / (double)req : 0.0);
    return promote(c, r, why);
}

/* ------------------------------------------------------------------ leases and the tick */

/* Takes or renews the lease of run @p id; *got 0 when another living controller holds it. */
static enum gy_status claim(struct gy_pipeline_ctl *c, int64_t id, int *got)
{
    int64_t now = gy_time_wall_us(), changes = 0;
    struct gy_db_param p[] = {GY_DB_P_TEXT(c->owner), GY_DB_P_INT(now + LEASE_US), GY_DB_P_INT(id),
                              GY_DB_P_INT(now)};
    enum gy_status rc;
    struct gy_db_rows *rows = NULL;
    *got = 0;
    rc = gy_db_exec(c->db,
                    "UPDATE pipeline_runs SET owner = $1, lease_us = $2 WHERE id = $3 AND "
                    "active = 1 AND (owner IS NULL OR owner = $1 OR lease_us < $4)",
                    p, 4, &changes);
    if (rc || changes == 1) {
        *got = changes == 1;
        return rc;
    }
    /* Held: take it over from a dead process of this host. */
    {
        struct gy_db_param q[] = {GY_DB_P_INT(id)};
        if ((rc = gy_db_query(c->db, "SELECT owner FROM pipeline_runs WHERE id = $1", q, 1, &rows)))
            return rc;
    }
    if (gy_db_rows_count(rows) == 1 && gy_db_rows_text(rows, 0, 0)) {
        const char *o = gy_db_rows_text(rows, 0, 0);
        char host[128] = "";
        long pid = 0;
        gethostname(host, sizeof host - 1);
        size_t hl = strlen(host);
        if (strncmp(o, host, hl) == 0 && o[hl] == ':' && sscanf(o + hl + 1, "%ld", &pid) == 1 &&
            pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            struct gy_db_param u[] = {GY_DB_P_TEXT(c->owner), GY_DB_P_INT(now + LEASE_US),
                                      GY_DB_P_INT(id), GY_DB_P_TEXT(o)};
            rc = gy_db_exec(c->db,
                            "UPDATE pipeline_runs SET owner = $1, lease_us = $2 WHERE id = $3 "
                            "AND owner = $4",
                            u, 4, &changes);
            if (rc == GY_OK && changes == 1) {
                gy_log(GY_LOG_INFO, "pipeline run %lld: taken over from %s (no longer running)",
                       (long long)id, o);
                *got = 1;
            }
        }
    }
    gy_db_rows_free(rows);
    return rc;
}

static void run_free(struct run *r)
{
    json_decref(r->j);
    gy_pipeline_spec_free(r->spec);
    memset(r, 0, sizeof *r);
}

static enum gy_status run_load(struct gy_pipeline_ctl *c, int64_t id, struct run *r)
{
    enum gy_status rc;
    memset(r, 0, sizeof *r);
    r->id = id;
    if ((rc = gy_pipeline_run_get(c->db, id, &r->j)))
        return rc;
    r->details = json_object_get(r->j, "details");
    if (!json_is_object(r->details)) {
        r->details = json_object();
        json_object_set_new(r->j, "details", r->details);
    }
    if ((rc = gy_pipeline_state_parse(rstr(r, "state"), &r->state)) ||
        (rc = gy_pipeline_get(c->db, rstr(r, "pipeline"), rint_(r, "spec_version"), &r->spec,
                              NULL))) {
        run_free(r);
        return rc;
    }
    return GY_OK;
}

/* Advances run @p id as far as it goes now. */
static enum gy_status advance(struct gy_pipeline_ctl *c, int64_t id, int *busy)
{
    struct run r;
    enum gy_status rc;
    int got = 0;
    if ((rc = claim(c, id, &got)) || !got)
        return rc;
    *busy = 1;
    if ((rc = run_load(c, id, &r)))
        return rc;
    for (int guard = 0; guard < 16 && !gy_pipeline_state_final(r.state); guard++) {
        enum gy_pipeline_state before = r.state;
        int wait = 0;
        switch (r.state) {
        case GY_PRUN_PENDING:
            rc = step_pending(c, &r);
            break;
        case GY_PRUN_TRAINING:
            rc = step_training(c, &r, &wait);
            break;
        case GY_PRUN_EVALUATING:
            rc = step_evaluating(c, &r);
            break;
        case GY_PRUN_CANARY:
            rc = step_canary(c, &r, &wait);
            break;
        default:
            break;
        }
        if (rc || wait || (r.state == before && r.state != GY_PRUN_TRAINING))
            break;
    }
    if (rc == GY_E_INVALID || rc == GY_NOT_FOUND || rc == GY_E_SCHEMA || rc == GY_E_CORRUPT) {
        /* Not transient (a dataset or deployment gone, bad data): the run fails, and a
         * canary it had started is undone first. */
        char why[700];
        snprintf(why, sizeof why, "failed while %s: %s", gy_pipeline_state_name(r.state),
                 gy_error_msg());
        if (r.state == GY_PRUN_CANARY && json_object_get(r.details, "deployment_before"))
            rc = roll_back(&*c, &r, why);
        else
            rc = finish(c, &r, GY_PRUN_FAILED, why);
    }
    if (gy_pipeline_state_final(r.state)) {
        /* A trigger that came during the run starts the next one. */
        int64_t next = 0;
        gy__pipeline_start_pending(c->db, r.spec->name, &next);
    }
    run_free(&r);
    return rc;
}

/* Fires the due triggers of pipeline @p name (auto_triggers). */
static enum gy_status fire_triggers(struct gy_pipeline_ctl *c, const char *name)
{
    struct gy_pipeline_spec *s = NULL;
    struct gy_db_rows *rows = NULL;
    int64_t now = gy_time_wall_us(), run = 0;
    int co = 0;
    char detail[160];
    enum gy_status rc;
    if ((rc = gy_pipeline_get(c->db, name, 0, &s, NULL)))
        return rc;
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
        if ((rc = gy_db_query(c->db,
                              "SELECT last_schedule_us, last_drift_id, last_rows FROM pipelines "
                              "WHERE name = $1",
                              p, 1, &rows)) ||
            gy_db_rows_count(rows) != 1)
            goto out;
    }
    if (s->triggers.schedule) {
        struct gy_cron cr;
        int64_t last = gy_db_rows_int(rows, 0, 0), next;
        if (gy_cron_parse(s->triggers.schedule, &cr) == GY_OK &&
            (next = gy_cron_next(&cr, last)) > 0 && next <= now) {
            struct gy_db_param p[] = {GY_DB_P_INT(now), GY_DB_P_TEXT(name)};
            if ((rc =
                     gy_db_exec(c->db, "UPDATE pipelines SET last_schedule_us = $1 WHERE name = $2",
                                p, 2, NULL)))
                goto out;
            snprintf(detail, sizeof detail, "%s", s->triggers.schedule);
            if ((rc = gy_pipeline_trigger(c->db, name, "schedule", detail, &run, &co)))
                goto out;
        }
    }
    if (s->triggers.drift_deployment) {
        int64_t id = 0;
        struct gy_db_param p[] = {GY_DB_P_TEXT(s->triggers.drift_deployment),
                                  GY_DB_P_INT(gy_db_rows_int(rows, 0, 1))};
        rc = gy_db_query_int(c->db,
                             "SELECT MAX(id) FROM drift_reports WHERE deployment = $1 AND "
                             "drift = 1 AND id > $2",
                             p, 2, &id);
        if (rc == GY_NOT_FOUND) {
            gy_error_clear();
            rc = GY_OK;
        } else if (rc == GY_OK) {
            struct gy_db_param u[] = {GY_DB_P_INT(id), GY_DB_P_TEXT(name)};
            if ((rc = gy_db_exec(c->db, "UPDATE pipelines SET last_drift_id = $1 WHERE name = $2",
                                 u, 2, NULL)))
                goto out;
            snprintf(detail, sizeof detail, "drift report %lld on %s", (long long)id,
                     s->triggers.drift_deployment);
            if ((rc = gy_pipeline_trigger(c->db, name, "drift", detail, &run, &co)))
                goto out;
        }
        if (rc)
            goto out;
    }
    if (s->triggers.new_rows) {
        int64_t have = 0, last = gy_db_rows_int(rows, 0, 2);
        if ((rc = gy__pipeline_dataset_rows(c->db, s->data.dataset, &have)))
            goto out;
        if (have - last >= (int64_t)s->triggers.new_rows) {
            struct gy_db_param u[] = {GY_DB_P_INT(have), GY_DB_P_TEXT(name)};
            if ((rc = gy_db_exec(c->db, "UPDATE pipelines SET last_rows = $1 WHERE name = $2", u, 2,
                                 NULL)))
                goto out;
            snprintf(detail, sizeof detail, "%lld new rows in %s", (long long)(have - last),
                     s->data.dataset);
            if ((rc = gy_pipeline_trigger(c->db, name, "new_rows", detail, &run, &co)))
                goto out;
        }
    }
out:
    if (run)
        gy_log(GY_LOG_INFO, "pipeline %s: run %lld triggered (%s)", name, (long long)run, detail);
    gy_db_rows_free(rows);
    gy_pipeline_spec_free(s);
    return rc;
}

enum gy_status gy_pipeline_ctl_tick(struct gy_pipeline_ctl *c, int *busy)
{
    struct gy_db_rows *rows = NULL;
    enum gy_status rc, first = GY_OK;
    int b = 0;
    if (busy)
        *busy = 0;
    if ((rc = gy_db_query(c->db, "SELECT name FROM pipelines ORDER BY name", NULL, 0, &rows)))
        return rc;
    for (size_t i = 0; i < gy_db_rows_count(rows); i++) {
        const char *name = gy_db_rows_text(rows, i, 0);
        int64_t run = 0;
        if (c->only[0] && strcmp(name, c->only) != 0)
            continue;
        if (c->auto_triggers && (rc = fire_triggers(c, name)) && !first)
            first = rc;
        if ((rc = gy__pipeline_start_pending(c->db, name, &run)) && !first)
            first = rc;
    }
    gy_db_rows_free(rows);
    rows = NULL;
    if (c->only[0]) {
        struct gy_db_param p[] = {GY_DB_P_TEXT(c->only)};
        rc = gy_db_query(c->db,
                         "SELECT id FROM pipeline_runs WHERE active = 1 AND pipeline = $1 "
                         "ORDER BY id",
                         p, 1, &rows);
    } else {
        rc = gy_db_query(c->db, "SELECT id FROM pipeline_runs WHERE active = 1 ORDER BY id", NULL,
                         0, &rows);
    }
    if (rc)
        return rc;
    for (size_t i = 0; i < gy_db_rows_count(rows); i++) {
        int64_t id = gy_db_rows_int(rows, i, 0);
        if ((rc = advance(c, id, &b))) {
            gy_log(GY_LOG_WARN, "pipeline run %lld: %s (retrying)", (long long)id, gy_error_msg());
            if (!first)
                first = rc;
        }
    }
    gy_db_rows_free(rows);
    if (busy)
        *busy = b;
    return first;
}

/* ------------------------------------------------------------------ lifecycle */

enum gy_status gy_pipeline_ctl_create(struct gy_db *db, const struct gy_pipeline_ctl_opts *o,
                                      struct gy_pipeline_ctl **out)
{
    struct gy_pipeline_ctl *c = gy_calloc(1, sizeof *c);
    char host[128] = "";
    *out = NULL;
    if (!c)
        return GY_E_NOMEM;
    c->db = db;
    c->serving = o ? o->serving : NULL;
    c->auto_triggers = o ? o->auto_triggers : 0;
    snprintf(c->only, sizeof c->only, "%s", o && o->only ? o->only : "");
    snprintf(c->actor, sizeof c->actor, "%s", o && o->actor ? o->actor : "controller");
    if (o && o->exe) {
        snprintf(c->exe, sizeof c->exe, "%s", o->exe);
    } else {
        ssize_t n = readlink("/proc/self/exe", c->exe, sizeof c->exe - 1);
        if (n <= 0) {
            gy_free(c);
            return gy_error_set(GY_E_INTERNAL, "cannot find the gyre binary: %s", strerror(errno));
        }
        c->exe[n] = '\0';
    }
    gethostname(host, sizeof host - 1);
    {
        unsigned char rnd[6];
        randombytes_buf(rnd, sizeof rnd);
        snprintf(c->owner, sizeof c->owner, "%s:%ld:%02x%02x%02x%02x%02x%02x", host, (long)getpid(),
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    }
    *out = c;
    return GY_OK;
}

void gy_pipeline_ctl_free(struct gy_pipeline_ctl *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nkids; i++) {
        struct gy_db_rows *rows = NULL;
        struct gy_db_param p[] = {GY_DB_P_INT(c->kids[i].run)};
        int status;
        kill(c->kids[i].pid, SIGTERM);
        while (waitpid(c->kids[i].pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (gy_db_query(c->db, "SELECT train_run FROM pipeline_runs WHERE id = $1", p, 1, &rows) ==
                GY_OK &&
            gy_db_rows_count(rows) == 1 && gy_db_rows_text(rows, 0, 0))
            trainer_done(c, gy_db_rows_text(rows, 0, 0), status);
        gy_db_rows_free(rows);
    }
    {
        /* Hand the leases back: the next controller need not wait for them to expire. */
        struct gy_db_param p[] = {GY_DB_P_TEXT(c->owner)};
        gy_db_exec(c->db, "UPDATE pipeline_runs SET owner = NULL, lease_us = NULL WHERE owner = $1",
                   p, 1, NULL);
    }
    gy_free(c);
}

struct gy_pipeline_service {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    unsigned tick_ms;
    struct gy_db *db;
    struct gy_pipeline_ctl *ctl;
};

static void *service_main(void *arg)
{
    struct gy_pipeline_service *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec ts;
        pthread_mutex_unlock(&s->mu);
        if (gy_pipeline_ctl_tick(s->ctl, NULL) != GY_OK)
            gy_log(GY_LOG_DEBUG, "pipeline controller: %s", gy_error_msg());
        pthread_mutex_lock(&s->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->tick_ms / 1000;
        ts.tv_nsec += (long)(s->tick_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

enum gy_status gy_pipeline_service_start(const char *home, const char *db_url,
                                         const struct gy_pipeline_ctl_opts *o, unsigned tick_ms,
                                         struct gy_pipeline_service **out)
{
    struct gy_pipeline_service *s = gy_calloc(1, sizeof *s);
    enum gy_status rc;
    *out = NULL;
    if (!s)
        return GY_E_NOMEM;
    s->tick_ms = tick_ms ? tick_ms : 1000;
    if ((rc = gy_db_open(home, db_url && *db_url ? db_url : NULL, &s->db)) ||
        (rc = gy_pipeline_ctl_create(s->db, o, &s->ctl))) {
        gy_db_free(s->db);
        gy_free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, service_main, s) != 0) {
        gy_pipeline_ctl_free(s->ctl);
        gy_db_free(s->db);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        gy_free(s);
        return gy_error_set(GY_E_INTERNAL, "cannot start the pipeline controller");
    }
    *out = s;
    return GY_OK;
}

void gy_pipeline_service_stop(struct gy_pipeline_service *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    gy_pipeline_ctl_free(s->ctl);
    gy_db_free(s->db);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    gy_free(s);
}
