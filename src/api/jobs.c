/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - training jobs over the native API, for what MLflow's API lacks.
 *
 *   POST /api/v1/train           {"dataset": "tx@2", "target": "is_fraud", ...}  -> 202
 *   GET  /api/v1/train/{run_id}  the job: its run (status, params, metrics), model version
 *
 * A job is a tracked run created here (status SCHEDULED), then trained by a `gyre train
 * --run-id RUN` child process of this server's own binary, with the data home of the server.
 * The request is validated field by field and turned into a fixed argument vector: nothing
 * from the request reaches a shell or names a program. Running the trainer in its own
 * process keeps a long or failing training away from the request threads; a watcher thread
 * reaps the child, keeps its output as the run's artifact "train.log", and marks the run
 * FAILED if the child died without finishing it.
 */
#include "api/api.h"
#include "lake/lake.h"
#include "tracking/tracking.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define ARG_MAX_LEN 1024
#define MAX_ARGS 160

struct argv_builder {
    char *v[MAX_ARGS + 1];
    size_t n;
};

static enum gy_status arg_add(struct argv_builder *a, const char *s)
{
    if (a->n >= MAX_ARGS)
        return gy_error_set(GY_E_TOO_LARGE, "too many training options");
    if (!(a->v[a->n] = gy_strdup(s)))
        return GY_E_NOMEM;
    a->n++;
    a->v[a->n] = NULL;
    return GY_OK;
}

static void args_free(struct argv_builder *a)
{
    for (size_t i = 0; i < a->n; i++)
        gy_free(a->v[i]);
    a->n = 0;
}

/* A string field: bounded, no NUL inside, not starting with '-' (it is an option value). */
static enum gy_status str_field(const json_t *body, const char *key, int required, const char **out)
{
    const json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return gy_error_set(GY_E_INVALID, "\"%s\" (a string) is required", key);
        return GY_OK;
    }
    if (!json_is_string(v))
        return gy_error_set(GY_E_INVALID, "\"%s\" must be a string", key);
    if (json_string_length(v) == 0 || json_string_length(v) > ARG_MAX_LEN ||
        strlen(json_string_value(v)) != json_string_length(v))
        return gy_error_set(GY_E_INVALID, "\"%s\" must be 1 to %d bytes with no NUL", key,
                            ARG_MAX_LEN);
    if (json_string_value(v)[0] == '-')
        return gy_error_set(GY_E_INVALID, "\"%s\" must not start with '-'", key);
    *out = json_string_value(v);
    return GY_OK;
}

static enum gy_status num_field(const json_t *body, const char *key, double lo, double hi,
                                int integer, char *out, size_t cap)
{
    const json_t *v = json_object_get(body, key);
    double d;
    out[0] = '\0';
    if (!v || json_is_null(v))
        return GY_OK;
    if (integer ? !json_is_integer(v) : !json_is_number(v))
        return gy_error_set(GY_E_INVALID, "\"%s\" must be %s", key,
                            integer ? "an integer" : "a number");
    d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return gy_error_set(GY_E_INVALID, "\"%s\" must be in [%g, %g]", key, lo, hi);
    if (integer)
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, cap, "%.17g", d);
    return GY_OK;
}

/* Builds `gyre train ...` from the request body. */
static enum gy_status build_args(const json_t *body, const char *exe, const char *run_id,
                                 struct argv_builder *a)
{
    static const struct {
        const char *key, *flag;
        int required;
    } strs[] = {
        {"dataset", "--dataset", 1},   {"target", "--target", 1}, {"trainer", "--trainer", 0},
        {"task", "--task", 0},         {"split", "--split", 0},   {"features", "--features", 0},
        {"register", "--register", 0}, {"alias", "--alias", 0},
    };
    static const struct {
        const char *key, *flag;
        double lo, hi;
        int integer;
    } nums[] = {
        {"rounds", "--rounds", 1, 100000, 1},
        {"early_stopping", "--early-stopping", 0, 100000, 1},
        {"seed", "--seed", 0, 9007199254740991.0, 1},
        {"valid", "--valid", 0, 1, 0},
        {"test", "--test", 0, 1, 0},
        {"nthread", "--nthread", 0, 1024, 1},
    };
    const json_t *params;
    enum gy_status rc;
    char num[64];

    if ((rc = arg_add(a, exe)) || (rc = arg_add(a, "train")) || (rc = arg_add(a, "--run-id")) ||
        (rc = arg_add(a, run_id)) || (rc = arg_add(a, "--quiet")))
        return rc;
    for (size_t i = 0; i < GY_ARRAY_LEN(strs); i++) {
        const char *s;
        if ((rc = str_field(body, strs[i].key, strs[i].required, &s)))
            return rc;
        if (s && ((rc = arg_add(a, strs[i].flag)) || (rc = arg_add(a, s))))
            return rc;
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(nums); i++) {
        if ((rc = num_field(body, nums[i].key, nums[i].lo, nums[i].hi, nums[i].integer, num,
                            sizeof num)))
            return rc;
        if (num[0] && ((rc = arg_add(a, nums[i].flag)) || (rc = arg_add(a, num))))
            return rc;
    }
    params = json_object_get(body, "params");
    if (params && !json_is_null(params)) {
        const char *k;
        json_t *v;
        if (!json_is_object(params))
            return gy_error_set(GY_E_INVALID, "\"params\" must be an object of key: value");
        json_object_foreach((json_t *)params, k, v)
        {
            char kv[ARG_MAX_LEN * 2 + 2];
            if (!*k || strlen(k) > 128 || strchr(k, '='))
                return gy_error_set(GY_E_INVALID, "params: bad key \"%.64s\"", k);
            if (json_is_string(v) && json_string_length(v) <= ARG_MAX_LEN &&
                strlen(json_string_value(v)) == json_string_length(v))
                snprintf(kv, sizeof kv, "%s=%s", k, json_string_value(v));
            else if (json_is_integer(v))
                snprintf(kv, sizeof kv, "%s=%lld", k, (long long)json_integer_value(v));
            else if (json_is_real(v))
                snprintf(kv, sizeof kv, "%s=%.17g", k, json_real_value(v));
            else if (json_is_boolean(v))
                snprintf(kv, sizeof kv, "%s=%s", k, json_is_true(v) ? "true" : "false");
            else
                return gy_error_set(GY_E_INVALID, "params.%s must be a string, number or boolean",
                                    k);
            if ((rc = arg_add(a, "--param")) || (rc = arg_add(a, kv)))
                return rc;
        }
    }
    return GY_OK;
}

/* The server's environment with GYRE_HOME and GYRE_DB set to this api's store, so the child
 * trains against exactly the data home the job was created in. */
static enum gy_status child_env(struct gy_api *api, struct argv_builder *e)
{
    enum gy_status rc;
    struct gy_buf b;
    for (char **p = environ; *p; p++) {
        if (strncmp(*p, "GYRE_HOME=", 10) == 0 || strncmp(*p, "GYRE_DB=", 8) == 0)
            continue;
        if (e->n + 3 >= MAX_ARGS)
            break;
        if ((rc = arg_add(e, *p)))
            return rc;
    }
    gy_buf_init(&b, 8192);
    rc = gy_buf_printf(&b, "GYRE_HOME=%s", gy_api_home(api));
    if (rc == GY_OK)
        rc = arg_add(e, b.data);
    gy_buf_reset(&b);
    if (rc == GY_OK && gy_api_db_url(api)[0]) {
        rc = gy_buf_printf(&b, "GYRE_DB=%s", gy_api_db_url(api));
        if (rc == GY_OK)
            rc = arg_add(e, b.data);
    }
    gy_buf_free(&b);
    return rc;
}

struct watch {
    pid_t pid;
    char *home, *db_url, *log_path;
    char run_id[GY_TRACKING_RUN_ID_LEN + 1];
};

/* Reaps the trainer, files its log with the run, fails the run if the trainer did not. */
static void *watch_job(void *arg)
{
    struct watch *w = arg;
    struct gy_db *db = NULL;
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (gy_db_open(w->home, w->db_url[0] ? w->db_url : NULL, &db) == GY_OK) {
        struct gy_buf log;
        json_t *run = NULL;
        gy_buf_init(&log, 16 << 20);
        if (gy_file_read(w->log_path, &log) == GY_OK)
            gy_tracking_artifact_put(db, w->run_id, "train.log", log.data ? log.data : "", log.len);
        gy_buf_free(&log);
        if (gy_tracking_run_get(db, w->run_id, &run) == GY_OK) {
            const char *st = gy_json_str(json_object_get(run, "info"), "status", "");
            if (strcmp(st, "RUNNING") == 0 || strcmp(st, "SCHEDULED") == 0) {
                struct gy_tracking_run_update u = {GY_RUN_FAILED, 1, gy_time_wall_us() / 1000,
                                                   NULL};
                gy_tracking_run_update(db, w->run_id, &u, NULL);
                gy_log(GY_LOG_WARN, "training job %s ended without finishing its run (%s %d)",
                       w->run_id, WIFSIGNALED(status) ? "signal" : "exit",
                       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            }
            json_decref(run);
        }
        gy_db_free(db);
    }
    unlink(w->log_path);
    gy_free(w->home);
    gy_free(w->db_url);
    gy_free(w->log_path);
    gy_free(w);
    return NULL;
}

static enum gy_status h_train(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_api *api = ctx;
    struct gy_db *db;
    json_t *body = NULL;
    struct argv_builder args = {{0}, 0}, env = {{0}, 0};
    struct watch *w = NULL;
    char exe[4096], run_id[GY_TRACKING_RUN_ID_LEN + 1], name[GY_LAKE_MAX_NAME + 1];
    const char *ref, *experiment;
    int64_t version, exp_id = 0;
    enum gy_status rc;
    posix_spawn_file_actions_t fa;
    pthread_t th;
    ssize_t n;
    int fa_ok = 0;

    if ((rc = gy_http_req_json(req, &body)))
        return rc;
    if (!json_is_object(body)) {
        rc = gy_error_set(GY_E_INVALID, "the request body must be a JSON object");
        goto out;
    }
    if ((rc = str_field(body, "dataset", 1, &ref)) || (rc = gy_lake_parse_ref(ref, name, &version)))
        goto out;
    if ((rc = str_field(body, "experiment", 0, &experiment)))
        goto out;
    if ((rc = gy_api_db(api, &db)))
        goto out;
    {
        /* Refuse an unknown dataset or target now, not in the child. */
        json_t *m = NULL;
        struct gy_schema *s = NULL;
        const char *target = gy_json_str(body, "target", NULL);
        rc = gy_lake_version_get(db, name, version, &m);
        if (rc == GY_OK)
            rc = gy_schema_from_json(json_object_get(m, "schema"), &s);
        if (rc == GY_OK && (!target || gy_schema_find(s, target) < 0))
            rc = gy_error_set(GY_E_INVALID, "%s has no column \"%s\"", ref,
                              target ? target : "(target missing)");
        gy_schema_free(s);
        json_decref(m);
        if (rc)
            goto out;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        rc = gy_error_set(GY_E_INTERNAL, "cannot find the gyre binary: %s", strerror(errno));
        goto out;
    }
    exe[n] = '\0';
    if (experiment && (rc = gy_tracking_experiment_ensure(db, experiment, &exp_id)))
        goto out;
    {
        struct gy_tracking_tag tags[] = {{"mlflow.source.name", "gyre api /api/v1/train"},
                                         {"mlflow.source.type", "JOB"}};
        struct gy_tracking_run_create rcfg;
        struct gy_tracking_run_update u = {GY_RUN_SCHEDULED, 0, 0, NULL};
        memset(&rcfg, 0, sizeof rcfg);
        rcfg.experiment_id = exp_id;
        rcfg.run_name = gy_json_str(body, "run_name", NULL);
        rcfg.tags = tags;
        rcfg.ntags = GY_ARRAY_LEN(tags);
        if ((rc = gy_tracking_run_create(db, &rcfg, run_id)) ||
            (rc = gy_tracking_run_update(db, run_id, &u, NULL)))
            goto out;
    }
    if ((rc = build_args(body, exe, run_id, &args)))
        goto fail_run;
    w = gy_calloc(1, sizeof *w);
    if (!w) {
        rc = GY_E_NOMEM;
        goto fail_run;
    }
    snprintf(w->run_id, sizeof w->run_id, "%s", run_id);
    w->home = gy_strdup(gy_api_home(api));
    w->db_url = gy_strdup(gy_api_db_url(api));
    w->log_path = gy_malloc(strlen(gy_api_tmp_dir(api)) + 64);
    if (!w->home || !w->db_url || !w->log_path) {
        rc = GY_E_NOMEM;
        goto fail_run;
    }
    snprintf(w->log_path, strlen(gy_api_tmp_dir(api)) + 64, "%s/train-%s.log", gy_api_tmp_dir(api),
             run_id);
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = GY_E_NOMEM;
        goto fail_run;
    }
    fa_ok = 1;
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, w->log_path, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    if ((rc = child_env(api, &env)))
        goto fail_run;
    if (posix_spawn(&w->pid, exe, &fa, NULL, args.v, env.v) != 0) {
        rc = gy_error_set(GY_E_INTERNAL, "cannot start the trainer: %s", strerror(errno));
        goto fail_run;
    }
    if (pthread_create(&th, NULL, watch_job, w) != 0) {
        /* Without a watcher, reap synchronously rather than leave a zombie. */
        watch_job(w);
    } else {
        pthread_detach(th);
    }
    w = NULL;
    gy_log(GY_LOG_INFO, "training job %s started", run_id);
    {
        char loc[128];
        snprintf(loc, sizeof loc, "/api/v1/train/%s", run_id);
        gy_http_resp_header(resp, "Location", loc);
        rc = gy_http_resp_json(
            resp, 202,
            json_pack("{s:s, s:s, s:s}", "run_id", run_id, "status", "SCHEDULED", "location", loc));
    }
    goto out;
fail_run : {
    enum gy_status keep = rc;
    char msg[1024];
    struct gy_tracking_run_update u = {GY_RUN_FAILED, 1, gy_time_wall_us() / 1000, NULL};
    snprintf(msg, sizeof msg, "%s", gy_error_msg());
    gy_tracking_run_update(db, run_id, &u, NULL);
    rc = gy_error_set(keep, "%s", msg);
}
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (w) {
        gy_free(w->home);
        gy_free(w->db_url);
        gy_free(w->log_path);
        gy_free(w);
    }
    args_free(&args);
    args_free(&env);
    return rc;
}

static enum gy_status h_job(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_db *db;
    const char *run_id = gy_http_req_capture(req, "run_id");
    json_t *run = NULL, *out;
    enum gy_status rc;
    if (!run_id || !gy_tracking_run_id_valid(run_id))
        return gy_error_set(GY_NOT_FOUND, "no training job %s", run_id ? run_id : "");
    if ((rc = gy_api_db(ctx, &db)))
        return rc;
    if ((rc = gy_tracking_run_get(db, run_id, &run)))
        return rc;
    out = json_pack("{s:s, s:s, s:o}", "run_id", run_id, "status",
                    gy_json_str(json_object_get(run, "info"), "status", ""), "run", run);
    return gy_http_resp_json(resp, 200, out);
}

const struct gy_http_route gy_api_jobs_routes[] = {
    {"POST", "/api/v1/train", h_train, 0, "runs:write",
     "Start a training job: a tracked run trained by gyre train, optionally registered", 0},
    {"GET", "/api/v1/train/{run_id}", h_job, GY_HTTP_ROUTE_NO_BODY, "runs:read",
     "A training job: its run's status, params and metrics", 0},
};
const size_t gy_api_jobs_routes_len = GY_ARRAY_LEN(gy_api_jobs_routes);
