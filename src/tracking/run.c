/* SPDX-License-Identifier: MIT */
/*
 * run.c - runs and what is logged to them: create (random 32-hex ids, generated names),
 * get, update, soft delete and restore; write-once params; append-only metric history with
 * the latest value per key chosen by MLflow's (step, timestamp, value) rule; tags; log-batch
 * (validated first, then one transaction of multi-row statements); metric history; and dataset
 * inputs.
 *
 * Metric values follow MLflow's SQL store: NaN is stored as 0 with is_nan = 1, +-Inf are
 * clamped to +-DBL_MAX (SQL has no infinities), and identical points are stored once.
 */
#include "tracking/tracking_int.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define RUN_NAME_TAG "mlflow.runName"

/* Limits of MLflow's dataset tables. */
#define DS_NAME_MAX 500
#define DS_DIGEST_MAX 36
#define DS_SOURCE_TYPE_MAX 36
#define DS_SOURCE_MAX 65535
#define DS_SCHEMA_MAX 1048575
#define DS_PROFILE_MAX 16384
#define INPUT_TAG_KEY_MAX 255
#define INPUT_TAG_VALUE_MAX 500

/* ------------------------------------------------------------------ ids and names */

static enum gy_status random_bytes(void *p, size_t n)
{
    unsigned char *b = p;
    while (n > 0) {
        ssize_t got = getrandom(b, n, 0);
        if (got < 0)
            return gy_error_set(GY_E_IO, "getrandom failed");
        b += got;
        n -= (size_t)got;
    }
    return GY_OK;
}

static enum gy_status new_run_id(char out[GY_TRACKING_RUN_ID_LEN + 1])
{
    uint8_t raw[GY_TRACKING_RUN_ID_LEN / 2];
    enum gy_status rc = random_bytes(raw, sizeof raw);
    if (rc)
        return rc;
    raw[6] = (uint8_t)((raw[6] & 0x0f) | 0x40); /* a version-4 UUID, as MLflow's uuid4().hex */
    raw[8] = (uint8_t)((raw[8] & 0x3f) | 0x80);
    gy_hex_encode(raw, sizeof raw, out);
    return GY_OK;
}

static const char *const adjectives[] = {
    "able",   "amber",  "bold",   "brave",  "bright", "calm",  "clever", "crisp", "daring",
    "eager",  "fair",   "fleet",  "gentle", "glad",   "grand", "keen",   "kind",  "lively",
    "lucid",  "merry",  "nimble", "noble",  "placid", "quick", "quiet",  "rare",  "silent",
    "smooth", "steady", "sunny",  "swift",  "tidy",   "vivid", "warm",   "wise",  "zesty",
};
static const char *const nouns[] = {
    "badger", "bison", "crane", "falcon", "ferret", "finch", "fox",   "gecko",  "heron",
    "ibis",   "jay",   "koala", "lark",   "lemur",  "lynx",  "mink",  "moose",  "newt",
    "otter",  "owl",   "panda", "pike",   "quail",  "raven", "robin", "salmon", "seal",
    "shrew",  "skink", "sloth", "stork",  "tern",   "toad",  "trout", "vole",   "wren",
};

static enum gy_status new_run_name(char *out, size_t cap)
{
    uint32_t r[3];
    enum gy_status rc = random_bytes(r, sizeof r);
    if (rc)
        return rc;
    return gy_snprintf(out, cap, "%s-%s-%u", adjectives[r[0] % GY_ARRAY_LEN(adjectives)],
                       nouns[r[1] % GY_ARRAY_LEN(nouns)], (unsigned)(r[2] % 1000));
}

/* ------------------------------------------------------------------ validation */

static enum gy_status tag_check(const struct gy_tracking_tag *t)
{
    enum gy_status rc = gy_tracking_key_check("tag", t->key);
    if (rc == GY_OK)
        rc = gy__tracking_value_check("Tag", t->key, t->value, GY_TRACKING_TAG_VALUE_MAX);
    return rc;
}

static enum gy_status param_check(const struct gy_tracking_tag *t)
{
    enum gy_status rc = gy_tracking_key_check("param", t->key);
    if (rc == GY_OK)
        rc = gy__tracking_value_check("Param", t->key, t->value, GY_TRACKING_PARAM_VALUE_MAX);
    return rc;
}

static enum gy_status metric_check(const struct gy_tracking_metric *m)
{
    return gy_tracking_key_check("metric", m->key);
}

/* MLflow's SQL-store sanitation of a metric value. */
static double metric_store_value(double v, int *is_nan)
{
    *is_nan = isnan(v) != 0;
    if (*is_nan)
        return 0.0;
    if (isinf(v))
        return v > 0 ? DBL_MAX : -DBL_MAX;
    return v;
}

/* ------------------------------------------------------------------ writes */

enum gy_status gy__tracking_tag_upsert(struct gy_db *db, int64_t rid, const char *key,
                                       const char *value)
{
    struct gy_db_param p[3] = {GY_DB_P_INT(rid), GY_DB_P_TEXT(key), GY_DB_P_TEXT(value)};
    enum gy_status rc = gy_db_exec(db,
                                   "INSERT INTO run_tags (run, key, value) VALUES ($1, $2, $3) "
                                   "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value",
                                   p, 3, NULL);
    if (rc == GY_OK && strcmp(key, RUN_NAME_TAG) == 0) {
        struct gy_db_param q[2] = {GY_DB_P_TEXT(value), GY_DB_P_INT(rid)};
        rc = gy_db_exec(db, "UPDATE runs SET name = $1 WHERE id = $2", q, 2, NULL);
    }
    return rc;
}

/* The index of the last tag with key @p key in @p tags, or -1. */
static long find_tag(const struct gy_tracking_tag *tags, size_t n, const char *key)
{
    for (size_t i = n; i-- > 0;)
        if (tags[i].key && strcmp(tags[i].key, key) == 0)
            return (long)i;
    return -1;
}

enum gy_status gy_tracking_run_create(struct gy_db *db, const struct gy_tracking_run_create *c,
                                      char run_id[GY_TRACKING_RUN_ID_LEN + 1])
{
    char id[GY_TRACKING_RUN_ID_LEN + 1], gen[64];
    const char *name = c->run_name && *c->run_name ? c->run_name : NULL;
    long name_tag = find_tag(c->tags, c->ntags, RUN_NAME_TAG);
    struct gy_db_rows *exp = NULL;
    struct gy_db_param p[8];
    char *uri = NULL;
    int64_t rid = 0;
    enum gy_status rc;

    for (size_t i = 0; i < c->ntags; i++)
        if ((rc = tag_check(&c->tags[i])))
            return rc;
    if (name && name_tag >= 0 && strcmp(name, c->tags[name_tag].value) != 0)
        return gy_error_set(GY_E_INVALID,
                            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but "
                            "with different values (run_name='%s', mlflow.runName='%s').",
                            name, c->tags[name_tag].value);
    if (!name && name_tag >= 0 && *c->tags[name_tag].value)
        name = c->tags[name_tag].value;
    if (!name) {
        if ((rc = new_run_name(gen, sizeof gen)))
            return rc;
        name = gen;
    }
    if ((rc = gy__tracking_name_check("Run", name)))
        return rc;
    if (c->user_id &&
        (rc = gy__tracking_value_check("user_id", "user_id", c->user_id, GY_TRACKING_NAME_MAX)))
        return rc;
    if ((rc = new_run_id(id)))
        return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    p[0] = GY_DB_P_INT(c->experiment_id);
    rc = gy_db_query(db,
                     "SELECT lifecycle_stage, artifact_location FROM experiments "
                     "WHERE experiment_id = $1",
                     p, 1, &exp);
    if (rc)
        goto out;
    if (gy_db_rows_count(exp) == 0) {
        rc = gy_error_set(GY_NOT_FOUND, "No Experiment with id=%lld exists",
                          (long long)c->experiment_id);
        goto out;
    }
    if (strcmp(gy_db_rows_text(exp, 0, 0), "active") != 0) {
        rc = gy_error_set(GY_E_INVALID,
                          "The experiment %lld must be in the 'active' state. Current state is "
                          "deleted.",
                          (long long)c->experiment_id);
        goto out;
    }
    {
        struct gy_buf b;
        gy_buf_init(&b, 8192);
        if ((rc = gy_buf_printf(&b, "%s/%s/artifacts", gy_db_rows_text(exp, 0, 1), id))) {
            gy_buf_free(&b);
            goto out;
        }
        uri = gy_buf_detach(&b, NULL);
        if (!uri) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    p[0] = GY_DB_P_TEXT(id);
    p[1] = GY_DB_P_INT(c->experiment_id);
    p[2] = GY_DB_P_TEXT(name);
    p[3] = GY_DB_P_TEXT(c->user_id);
    p[4] = GY_DB_P_TEXT(gy_tracking_run_status_str(GY_RUN_RUNNING));
    p[5] = GY_DB_P_INT(c->start_time_ms > 0 ? c->start_time_ms : gy__tracking_now_ms());
    p[6] = GY_DB_P_TEXT(uri);
    rc = gy_db_query_int(db,
                         "INSERT INTO runs (run_id, experiment_id, name, user_id, status, "
                         "start_ms, lifecycle_stage, artifact_uri) "
                         "VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) RETURNING id",
                         p, 7, &rid);
    for (size_t i = 0; rc == GY_OK && i < c->ntags; i++)
        if (strcmp(c->tags[i].key, RUN_NAME_TAG) != 0)
            rc = gy__tracking_tag_upsert(db, rid, c->tags[i].key, c->tags[i].value);
    if (rc == GY_OK)
        rc = gy__tracking_tag_upsert(db, rid, RUN_NAME_TAG, name);
out:
    gy_db_rows_free(exp);
    gy_free(uri);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    if ((rc = gy_db_commit(db)))
        return rc;
    memcpy(run_id, id, sizeof id);
    return GY_OK;
}

enum gy_status gy_tracking_run_get(struct gy_db *db, const char *run_id, json_t **out)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p = GY_DB_P_TEXT(run_id);
    json_t *arr = NULL;
    enum gy_status rc;
    *out = NULL;
    if (!gy_tracking_run_id_valid(run_id))
        return gy_error_set(GY_NOT_FOUND, "Run with id=%.64s not found", run_id ? run_id : "");
    rc = gy_db_query(db, "SELECT " GY__RUN_INFO_COLS " FROM runs r WHERE r.run_id = $1", &p, 1,
                     &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return gy_error_set(GY_NOT_FOUND, "Run with id=%s not found", run_id);
    }
    arr = json_array();
    rc = arr ? gy__tracking_runs_json(db, rows, 1, arr) : gy_error_set(GY_E_NOMEM, "out of memory");
    gy_db_rows_free(rows);
    if (rc == GY_OK)
        *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}

enum gy_status gy_tracking_run_experiment(struct gy_db *db, const char *run_id,
                                          int64_t *experiment_id, char **artifact_uri)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p = GY_DB_P_TEXT(run_id);
    enum gy_status rc;
    if (artifact_uri)
        *artifact_uri = NULL;
    if (!gy_tracking_run_id_valid(run_id))
        return gy_error_set(GY_NOT_FOUND, "Run with id=%.64s not found", run_id ? run_id : "");
    rc = gy_db_query(db, "SELECT experiment_id, artifact_uri FROM runs WHERE run_id = $1", &p, 1,
                     &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0) {
        gy_db_rows_free(rows);
        return gy_error_set(GY_NOT_FOUND, "Run with id=%s not found", run_id);
    }
    if (experiment_id)
        *experiment_id = gy_db_rows_int(rows, 0, 0);
    if (artifact_uri && !(*artifact_uri = gy_strdup(gy_db_rows_text(rows, 0, 1))))
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    gy_db_rows_free(rows);
    return rc;
}

/* Runs @p fn(db, rid, arg) in a write transaction on an active run. */
static enum gy_status run_write(struct gy_db *db, const char *run_id, int need_active,
                                enum gy_status (*fn)(struct gy_db *, int64_t, const void *),
                                const void *arg)
{
    int64_t rid = 0;
    enum gy_status rc = gy_db_begin(db);
    if (rc)
        return rc;
    rc = need_active ? gy__tracking_run_active(db, run_id, &rid)
                     : gy__tracking_run_find(db, run_id, &rid, NULL);
    if (rc == GY_OK)
        rc = fn(db, rid, arg);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

static enum gy_status do_update(struct gy_db *db, int64_t rid, const void *arg)
{
    const struct gy_tracking_run_update *u = arg;
    struct gy_db_sql b;
    enum gy_status rc;
    gy_db_sql_init(&b);
    gy_db_sql_printf(&b, "UPDATE runs SET id = id");
    if (u->status) {
        gy_db_sql_printf(&b, ", status = ");
        gy_db_sql_param(&b, GY_DB_P_TEXT(gy_tracking_run_status_str(u->status)));
    }
    if (u->set_end_time) {
        gy_db_sql_printf(&b, ", end_ms = ");
        gy_db_sql_param(&b, GY_DB_P_INT(u->end_time_ms));
    }
    gy_db_sql_printf(&b, " WHERE id = ");
    gy_db_sql_param(&b, GY_DB_P_INT(rid));
    rc = b.rc;
    if (rc == GY_OK)
        rc = gy_db_exec(db, b.sql.data, b.p, b.np, NULL);
    gy_db_sql_free(&b);
    if (rc == GY_OK && u->run_name && *u->run_name)
        rc = gy__tracking_tag_upsert(db, rid, RUN_NAME_TAG, u->run_name);
    return rc;
}

enum gy_status gy_tracking_run_update(struct gy_db *db, const char *run_id,
                                      const struct gy_tracking_run_update *u, json_t **run_info)
{
    enum gy_status rc;
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p;
    if (run_info)
        *run_info = NULL;
    if (u->status && !*gy_tracking_run_status_str(u->status))
        return gy_error_set(GY_E_INVALID, "Invalid run status %d", (int)u->status);
    if (u->run_name && *u->run_name && (rc = gy__tracking_name_check("Run", u->run_name)))
        return rc;
    if ((rc = run_write(db, run_id, 1, do_update, u)))
        return rc;
    if (!run_info)
        return GY_OK;
    p = GY_DB_P_TEXT(run_id);
    rc = gy_db_query(db, "SELECT " GY__RUN_INFO_COLS " FROM runs r WHERE r.run_id = $1", &p, 1,
                     &rows);
    if (rc == GY_OK && gy_db_rows_count(rows) == 1 &&
        !(*run_info = gy__tracking_run_info_json(rows, 0)))
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    else if (rc == GY_OK && gy_db_rows_count(rows) != 1)
        rc = gy_error_set(GY_NOT_FOUND, "Run with id=%s not found", run_id);
    gy_db_rows_free(rows);
    return rc;
}

static enum gy_status do_lifecycle(struct gy_db *db, int64_t rid, const void *arg)
{
    int del = *(const int *)arg;
    struct gy_db_param p[2] = {GY_DB_P_INT(gy__tracking_now_ms()), GY_DB_P_INT(rid)};
    if (del)
        return gy_db_exec(db,
                          "UPDATE runs SET lifecycle_stage = 'deleted', deleted_ms = $1 "
                          "WHERE id = $2",
                          p, 2, NULL);
    return gy_db_exec(db,
                      "UPDATE runs SET lifecycle_stage = 'active', deleted_ms = NULL WHERE id = $1",
                      p + 1, 1, NULL);
}

enum gy_status gy_tracking_run_delete(struct gy_db *db, const char *run_id)
{
    static const int del = 1;
    return run_write(db, run_id, 0, do_lifecycle, &del);
}

enum gy_status gy_tracking_run_restore(struct gy_db *db, const char *run_id)
{
    static const int del = 0;
    return run_write(db, run_id, 0, do_lifecycle, &del);
}

/* ------------------------------------------------------------------ params */

static enum gy_status param_changed(const char *run_id, const char *key, const char *old,
                                    const char *new_value)
{
    return gy_error_set(GY_E_INVALID,
                        "Changing param values is not allowed. Param with key='%s' was already "
                        "logged with value='%s' for run ID='%s'. Attempted logging new value "
                        "'%s'.",
                        key, old, run_id, new_value);
}

/*
 * Inside a transaction: inserts params (already validated, keys unique) after checking that
 * none was logged before with another value.
 */
static enum gy_status write_params(struct gy_db *db, const char *run_id, int64_t rid,
                                   const struct gy_tracking_tag *params, size_t n)
{
    struct gy_db_sql b;
    struct gy_db_rows *rows = NULL;
    enum gy_status rc;
    if (n == 0)
        return GY_OK;
    gy_db_sql_init(&b);
    gy_db_sql_printf(&b, "SELECT key, value FROM run_params WHERE run = ");
    gy_db_sql_param(&b, GY_DB_P_INT(rid));
    gy_db_sql_printf(&b, " AND key IN (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            gy_db_sql_printf(&b, ",");
        gy_db_sql_param(&b, GY_DB_P_TEXT(params[i].key));
    }
    gy_db_sql_printf(&b, ")");
    rc = b.rc;
    if (rc == GY_OK)
        rc = gy_db_query(db, b.sql.data, b.p, b.np, &rows);
    gy_db_sql_free(&b);
    for (size_t r = 0; rc == GY_OK && r < gy_db_rows_count(rows); r++) {
        long i = find_tag(params, n, gy_db_rows_text(rows, r, 0));
        if (i >= 0 && strcmp(params[i].value, gy_db_rows_text(rows, r, 1)) != 0)
            rc = param_changed(run_id, params[i].key, gy_db_rows_text(rows, r, 1), params[i].value);
    }
    gy_db_rows_free(rows);
    if (rc)
        return rc;
    gy_db_sql_init(&b);
    gy_db_sql_printf(&b, "INSERT INTO run_params (run, key, value) VALUES (");
    gy_db_sql_param(&b, GY_DB_P_INT(rid));
    for (size_t i = 0; i < n; i++) {
        gy_db_sql_printf(&b, i ? ",($1," : ",");
        gy_db_sql_param(&b, GY_DB_P_TEXT(params[i].key));
        gy_db_sql_printf(&b, ",");
        gy_db_sql_param(&b, GY_DB_P_TEXT(params[i].value));
        gy_db_sql_printf(&b, ")");
    }
    gy_db_sql_printf(&b, " ON CONFLICT (run, key) DO NOTHING");
    rc = b.rc;
    if (rc == GY_OK)
        rc = gy_db_exec(db, b.sql.data, b.p, b.np, NULL);
    gy_db_sql_free(&b);
    return rc;
}

struct param_arg {
    const char *run_id;
    const struct gy_tracking_tag *t;
};

static enum gy_status do_param(struct gy_db *db, int64_t rid, const void *arg)
{
    const struct param_arg *a = arg;
    return write_params(db, a->run_id, rid, a->t, 1);
}

enum gy_status gy_tracking_param_log(struct gy_db *db, const char *run_id, const char *key,
                                     const char *value)
{
    struct gy_tracking_tag t = {key, value};
    struct param_arg a = {run_id, &t};
    enum gy_status rc = param_check(&t);
    if (rc)
        return rc;
    return run_write(db, run_id, 1, do_param, &a);
}

/* ------------------------------------------------------------------ metrics */

struct mpoint {
    const char *key;
    double value; /* sanitized */
    int is_nan;
    int64_t ts, step;
};

static int cmp_tuple(const struct mpoint *a, const struct mpoint *b)
{
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return 0;
}

static int cmp_points(const void *x, const void *y)
{
    const struct mpoint *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    return c ? c : cmp_tuple(a, b);
}

/*
 * Rows per multi-row statement. SQLite looks named parameters ($N) up linearly while parsing
 * and binding, so a statement's cost grows with the square of its parameter count: a
 * thousand rows in one INSERT spent 90% of their time there. So rows bind only what needs
 * binding: the key (once per chunk) and the value (a double, bound to keep every bit); the
 * run, is_nan, timestamp and step are integers written as literals (no text from outside
 * ever reaches the SQL). Chunks of 64 rows keep the lookups cheap on SQLite; PostgreSQL has
 * no such cost but pays a round trip per statement, so it gets larger chunks.
 */
#define METRIC_CHUNK_SQLITE 64
#define METRIC_CHUNK 500 /* PostgreSQL, and the size of per-chunk arrays */

/*
 * Appends "($1,$k,$v,is_nan,ts,step)" rows for pts[0..n) to @p b, binding each distinct key
 * of the chunk once and each value. $1 must already be the run.
 */
static void metric_rows(struct gy_db_sql *b, const struct mpoint *pts, size_t n)
{
    int keyparam[METRIC_CHUNK];
    for (size_t i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < i; k++)
            if (pts[k].key == pts[i].key || strcmp(pts[k].key, pts[i].key) == 0)
                break;
        gy_db_sql_printf(b, i ? ",($1," : "($1,");
        if (k < i) {
            keyparam[i] = keyparam[k];
            gy_db_sql_printf(b, "$%d,", keyparam[i]);
        } else {
            keyparam[i] = gy_db_sql_next(b);
            gy_db_sql_param(b, GY_DB_P_TEXT(pts[i].key));
            gy_db_sql_printf(b, ",");
        }
        gy_db_sql_param(b, GY_DB_P_REAL(pts[i].value));
        /* Integers, not text: written as literals (see METRIC_CHUNK). */
        gy_db_sql_printf(b, ",%d,%lld,%lld)", pts[i].is_nan, (long long)pts[i].ts,
                         (long long)pts[i].step);
    }
}

/* Runs one multi-row statement: @p head, the rows of pts[0..n), then @p tail. */
static enum gy_status metric_stmt(struct gy_db *db, int64_t rid, const char *head,
                                  const struct mpoint *pts, size_t n, const char *tail)
{
    struct gy_db_sql b;
    enum gy_status rc;
    gy_db_sql_init(&b);
    gy_db_sql_printf(&b, "%s", head);
    /* Bind the run as $1 without emitting it: metric_rows writes "$1" in every row. */
    gy_db_sql_param(&b, GY_DB_P_INT(rid));
    if (b.rc == GY_OK) {
        b.sql.len -= 2; /* the "$1" just written */
        b.sql.data[b.sql.len] = '\0';
    }
    metric_rows(&b, pts, n);
    gy_db_sql_printf(&b, "%s", tail);
    rc = b.rc;
    if (rc == GY_OK)
        rc = gy_db_exec(db, b.sql.data, b.p, b.np, NULL);
    gy_db_sql_free(&b);
    return rc;
}

/*
 * Inside a transaction: appends @p n points (validated) to the history with multi-row
 * INSERTs and raises the latest value of each key with multi-row upserts whose WHERE keeps
 * the larger (step, timestamp, value) tuple.
 */
static enum gy_status write_metrics(struct gy_db *db, int64_t rid,
                                    const struct gy_tracking_metric *m, size_t n)
{
    struct mpoint *pts = NULL;
    enum gy_status rc = GY_OK;
    size_t nlatest = 0;
    size_t chunk = gy_db_kind(db) == GY_DB_SQLITE ? METRIC_CHUNK_SQLITE : METRIC_CHUNK;
    if (n == 0)
        return GY_OK;
    pts = gy_calloc(n, sizeof *pts);
    if (!pts)
        return gy_error_set(GY_E_NOMEM, "out of memory logging metrics");
    for (size_t i = 0; i < n; i++) {
        pts[i].key = m[i].key;
        pts[i].value = metric_store_value(m[i].value, &pts[i].is_nan);
        pts[i].ts = m[i].timestamp_ms;
        pts[i].step = m[i].step;
    }
    for (size_t at = 0; at < n && rc == GY_OK; at += chunk)
        rc = metric_stmt(db, rid,
                         "INSERT INTO run_metrics (run, key, value, is_nan, timestamp_ms, step) "
                         "VALUES ",
                         pts + at, GY_MIN(chunk, n - at), " ON CONFLICT DO NOTHING");
    if (rc)
        goto out;
    /* The largest tuple per key: sort by key, then tuple, and keep the last of each key. */
    qsort(pts, n, sizeof *pts, cmp_points);
    for (size_t i = 0; i < n; i++)
        if (i + 1 == n || strcmp(pts[i].key, pts[i + 1].key) != 0)
            pts[nlatest++] = pts[i];
    for (size_t at = 0; at < nlatest && rc == GY_OK; at += chunk)
        rc = metric_stmt(db, rid,
                         "INSERT INTO run_latest_metrics (run, key, value, is_nan, timestamp_ms, "
                         "step) VALUES ",
                         pts + at, GY_MIN(chunk, nlatest - at),
                         " ON CONFLICT (run, key) DO UPDATE SET value = excluded.value, "
                         "is_nan = excluded.is_nan, timestamp_ms = excluded.timestamp_ms, "
                         "step = excluded.step WHERE (excluded.step, excluded.timestamp_ms, "
                         "excluded.value) > (run_latest_metrics.step, "
                         "run_latest_metrics.timestamp_ms, run_latest_metrics.value)");
out:
    gy_free(pts);
    return rc;
}

static enum gy_status do_metric(struct gy_db *db, int64_t rid, const void *arg)
{
    return write_metrics(db, rid, arg, 1);
}

enum gy_status gy_tracking_metric_log(struct gy_db *db, const char *run_id,
                                      const struct gy_tracking_metric *m)
{
    enum gy_status rc = metric_check(m);
    if (rc)
        return rc;
    return run_write(db, run_id, 1, do_metric, m);
}

/* ------------------------------------------------------------------ tags */

static enum gy_status do_tag_set(struct gy_db *db, int64_t rid, const void *arg)
{
    const struct gy_tracking_tag *t = arg;
    return gy__tracking_tag_upsert(db, rid, t->key, t->value);
}

enum gy_status gy_tracking_run_tag_set(struct gy_db *db, const char *run_id, const char *key,
                                       const char *value)
{
    struct gy_tracking_tag t = {key, value};
    enum gy_status rc = tag_check(&t);
    if (rc)
        return rc;
    if (strcmp(key, RUN_NAME_TAG) == 0 && (rc = gy__tracking_name_check("Run", value)))
        return rc;
    return run_write(db, run_id, 1, do_tag_set, &t);
}

struct tag_del_arg {
    const char *run_id, *key;
};

static enum gy_status do_tag_delete(struct gy_db *db, int64_t rid, const void *arg)
{
    const struct tag_del_arg *a = arg;
    struct gy_db_param p[2] = {GY_DB_P_INT(rid), GY_DB_P_TEXT(a->key)};
    int64_t changes = 0;
    enum gy_status rc =
        gy_db_exec(db, "DELETE FROM run_tags WHERE run = $1 AND key = $2", p, 2, &changes);
    if (rc == GY_OK && changes == 0)
        rc =
            gy_error_set(GY_NOT_FOUND, "No tag with name: %s in run with id %s", a->key, a->run_id);
    return rc;
}

enum gy_status gy_tracking_run_tag_delete(struct gy_db *db, const char *run_id, const char *key)
{
    struct tag_del_arg a = {run_id, key};
    enum gy_status rc = gy_tracking_key_check("tag", key);
    if (rc)
        return rc;
    return run_write(db, run_id, 1, do_tag_delete, &a);
}

/* ------------------------------------------------------------------ batch */

struct batch_arg {
    const char *run_id;
    const struct gy_tracking_metric *m;
    size_t nm;
    const struct gy_tracking_tag *p; /* unique keys */
    size_t np;
    const struct gy_tracking_tag *t; /* last occurrence of each key, in order */
    size_t nt;
};

static enum gy_status do_batch(struct gy_db *db, int64_t rid, const void *arg)
{
    const struct batch_arg *a = arg;
    enum gy_status rc = write_params(db, a->run_id, rid, a->p, a->np);
    for (size_t i = 0; rc == GY_OK && i < a->nt; i++)
        rc = gy__tracking_tag_upsert(db, rid, a->t[i].key, a->t[i].value);
    if (rc == GY_OK)
        rc = write_metrics(db, rid, a->m, a->nm);
    return rc;
}

enum gy_status gy_tracking_log_batch(struct gy_db *db, const char *run_id,
                                     const struct gy_tracking_metric *metrics, size_t nmetrics,
                                     const struct gy_tracking_tag *params, size_t nparams,
                                     const struct gy_tracking_tag *tags, size_t ntags)
{
    struct gy_tracking_tag *up = NULL, *ut = NULL;
    size_t nup = 0, nut = 0;
    struct batch_arg a;
    enum gy_status rc = GY_OK;

    if (nmetrics > GY_TRACKING_BATCH_METRICS_MAX)
        return gy_error_set(GY_E_TOO_LARGE,
                            "A batch logging request can contain at most %d metrics. Got %zu "
                            "metrics. Please split up metrics across multiple requests and try "
                            "again.",
                            GY_TRACKING_BATCH_METRICS_MAX, nmetrics);
    if (nparams > GY_TRACKING_BATCH_PARAMS_MAX)
        return gy_error_set(GY_E_TOO_LARGE,
                            "A batch logging request can contain at most %d params. Got %zu "
                            "params. Please split up params across multiple requests and try "
                            "again.",
                            GY_TRACKING_BATCH_PARAMS_MAX, nparams);
    if (ntags > GY_TRACKING_BATCH_TAGS_MAX)
        return gy_error_set(GY_E_TOO_LARGE,
                            "A batch logging request can contain at most %d tags. Got %zu tags. "
                            "Please split up tags across multiple requests and try again.",
                            GY_TRACKING_BATCH_TAGS_MAX, ntags);
    if (nmetrics + nparams + ntags > GY_TRACKING_BATCH_TOTAL_MAX)
        return gy_error_set(GY_E_TOO_LARGE,
                            "A batch logging request can contain at most %d total entities "
                            "(metrics, params and tags). Got %zu. Please split up the entities "
                            "across multiple requests and try again.",
                            GY_TRACKING_BATCH_TOTAL_MAX, nmetrics + nparams + ntags);
    for (size_t i = 0; i < nmetrics; i++)
        if ((rc = metric_check(&metrics[i])))
            return rc;
    for (size_t i = 0; i < nparams; i++)
        if ((rc = param_check(&params[i])))
            return rc;
    for (size_t i = 0; i < ntags; i++) {
        if ((rc = tag_check(&tags[i])))
            return rc;
        if (strcmp(tags[i].key, RUN_NAME_TAG) == 0 &&
            (rc = gy__tracking_name_check("Run", tags[i].value)))
            return rc;
    }
    if (nparams && !(up = gy_calloc(nparams, sizeof *up)))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if (ntags && !(ut = gy_calloc(ntags, sizeof *ut))) {
        gy_free(up);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    /* Params: the same key twice must carry the same value (then it is logged once). */
    for (size_t i = 0; i < nparams && rc == GY_OK; i++) {
        long j = find_tag(up, nup, params[i].key);
        if (j < 0)
            up[nup++] = params[i];
        else if (strcmp(up[j].value, params[i].value) != 0)
            rc = gy_error_set(GY_E_INVALID,
                              "Duplicate parameter keys have been submitted: ['%s']. Please "
                              "ensure the request contains only one param value per param key.",
                              params[i].key);
    }
    /* Tags: the last occurrence of a key wins. */
    for (size_t i = 0; i < ntags; i++)
        if (find_tag(tags + i + 1, ntags - i - 1, tags[i].key) < 0)
            ut[nut++] = tags[i];
    if (rc == GY_OK) {
        a = (struct batch_arg){run_id, metrics, nmetrics, up, nup, ut, nut};
        rc = run_write(db, run_id, 1, do_batch, &a);
    }
    gy_free(up);
    gy_free(ut);
    return rc;
}

/* ------------------------------------------------------------------ history */

enum gy_status gy_tracking_metric_history(struct gy_db *db, const char *run_id, const char *key,
                                          int64_t max_results, const char *page_token, json_t **out)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p[4];
    int64_t rid = 0, offset = 0;
    size_t n, take;
    json_t *res = NULL, *arr = NULL;
    enum gy_status rc;
    *out = NULL;
    if (!key || !*key)
        return gy_error_set(GY_E_INVALID, "Missing value for required parameter 'metric_key'");
    if (max_results < 0 || max_results > INT64_MAX / 2)
        return gy_error_set(GY_E_INVALID, "max_results must be a positive integer");
    if ((rc = gy__tracking_page_token(page_token, &offset)) ||
        (rc = gy__tracking_run_find(db, run_id, &rid, NULL)))
        return rc;
    p[0] = GY_DB_P_INT(rid);
    p[1] = GY_DB_P_TEXT(key);
    p[2] = GY_DB_P_INT(max_results ? max_results + 1 : INT64_MAX);
    p[3] = GY_DB_P_INT(offset);
    rc = gy_db_query(db,
                     "SELECT value, is_nan, timestamp_ms, step FROM run_metrics WHERE run = $1 "
                     "AND key = $2 ORDER BY step, timestamp_ms, value LIMIT $3 OFFSET $4",
                     p, 4, &rows);
    if (rc)
        return rc;
    n = gy_db_rows_count(rows);
    take = max_results && n > (size_t)max_results ? (size_t)max_results : n;
    res = json_object();
    arr = json_array();
    if (!res || !arr)
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == GY_OK && i < take; i++) {
        json_t *m = json_object();
        if (!m) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            break;
        }
        if (gy__tracking_jset_str(m, "key", key) ||
            gy_json_set(m, "value",
                        gy__tracking_jmetric_value(gy_db_rows_real(rows, i, 0),
                                                   (int)gy_db_rows_int(rows, i, 1))) ||
            gy_json_set(m, "timestamp", gy__tracking_jint(gy_db_rows_int(rows, i, 2))) ||
            gy_json_set(m, "step", gy__tracking_jint(gy_db_rows_int(rows, i, 3)))) {
            json_decref(m);
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            break;
        }
        if (json_array_append_new(arr, m))
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
    }
    gy_db_rows_free(rows);
    if (rc == GY_OK) {
        rc = gy__tracking_jset_list(res, "metrics", arr);
        arr = NULL;
    }
    if (rc == GY_OK && take < n)
        rc = gy__tracking_set_token(res, offset + (int64_t)take);
    json_decref(arr);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return GY_OK;
}

/* ------------------------------------------------------------------ dataset inputs */

static enum gy_status input_check(const struct gy_tracking_dataset_input *in)
{
    enum gy_status rc;
    if (!in->name || !*in->name || !in->digest || !*in->digest || !in->source_type ||
        !*in->source_type || !in->source)
        return gy_error_set(GY_E_INVALID,
                            "A dataset input needs name, digest, source_type and source");
    if ((rc = gy__tracking_value_check("Dataset name", in->name, in->name, DS_NAME_MAX)) ||
        (rc = gy__tracking_value_check("Dataset digest", in->name, in->digest, DS_DIGEST_MAX)) ||
        (rc = gy__tracking_value_check("Dataset source_type", in->name, in->source_type,
                                       DS_SOURCE_TYPE_MAX)) ||
        (rc = gy__tracking_value_check("Dataset source", in->name, in->source, DS_SOURCE_MAX)) ||
        (in->schema &&
         (rc = gy__tracking_value_check("Dataset schema", in->name, in->schema, DS_SCHEMA_MAX))) ||
        (in->profile &&
         (rc = gy__tracking_value_check("Dataset profile", in->name, in->profile, DS_PROFILE_MAX))))
        return rc;
    for (size_t i = 0; i < in->ntags; i++) {
        const struct gy_tracking_tag *t = &in->tags[i];
        if (!t->key || !*t->key)
            return gy_error_set(GY_E_INVALID, "Input tag keys must be non-empty");
        if ((rc = gy__tracking_value_check("Input tag key", t->key, t->key, INPUT_TAG_KEY_MAX)) ||
            (rc = gy__tracking_value_check("Input tag", t->key, t->value, INPUT_TAG_VALUE_MAX)))
            return rc;
    }
    return GY_OK;
}

struct inputs_arg {
    const struct gy_tracking_dataset_input *in;
    size_t n;
};

static enum gy_status do_inputs(struct gy_db *db, int64_t rid, const void *arg)
{
    const struct inputs_arg *a = arg;
    struct gy_db_param p[7];
    int64_t exp = 0, ds = 0, input = 0;
    enum gy_status rc;
    p[0] = GY_DB_P_INT(rid);
    rc = gy_db_query_int(db, "SELECT experiment_id FROM runs WHERE id = $1", p, 1, &exp);
    for (size_t i = 0; rc == GY_OK && i < a->n; i++) {
        const struct gy_tracking_dataset_input *in = &a->in[i];
        p[0] = GY_DB_P_INT(exp);
        p[1] = GY_DB_P_TEXT(in->name);
        p[2] = GY_DB_P_TEXT(in->digest);
        p[3] = GY_DB_P_TEXT(in->source_type);
        p[4] = GY_DB_P_TEXT(in->source);
        p[5] = GY_DB_P_TEXT(in->schema);
        p[6] = GY_DB_P_TEXT(in->profile);
        rc = gy_db_exec(db,
                        "INSERT INTO tracking_datasets (experiment_id, name, digest, source_type, "
                        "source, schema_json, profile) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                        "ON CONFLICT (experiment_id, name, digest) DO NOTHING",
                        p, 7, NULL);
        if (rc == GY_OK)
            rc = gy_db_query_int(db,
                                 "SELECT id FROM tracking_datasets WHERE experiment_id = $1 AND "
                                 "name = $2 AND digest = $3",
                                 p, 3, &ds);
        p[0] = GY_DB_P_INT(rid);
        p[1] = GY_DB_P_INT(ds);
        if (rc == GY_OK)
            rc = gy_db_exec(db,
                            "INSERT INTO run_inputs (run, dataset_id) VALUES ($1, $2) "
                            "ON CONFLICT (run, dataset_id) DO NOTHING",
                            p, 2, NULL);
        if (rc == GY_OK)
            rc = gy_db_query_int(db, "SELECT id FROM run_inputs WHERE run = $1 AND dataset_id = $2",
                                 p, 2, &input);
        for (size_t t = 0; rc == GY_OK && t < in->ntags; t++) {
            p[0] = GY_DB_P_INT(input);
            p[1] = GY_DB_P_TEXT(in->tags[t].key);
            p[2] = GY_DB_P_TEXT(in->tags[t].value);
            rc = gy_db_exec(db,
                            "INSERT INTO run_input_tags (input_id, key, value) VALUES ($1, $2, $3) "
                            "ON CONFLICT (input_id, key) DO UPDATE SET value = excluded.value",
                            p, 3, NULL);
        }
    }
    return rc;
}

enum gy_status gy_tracking_log_inputs(struct gy_db *db, const char *run_id,
                                      const struct gy_tracking_dataset_input *inputs, size_t n)
{
    struct inputs_arg a = {inputs, n};
    enum gy_status rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = input_check(&inputs[i])))
            return rc;
    return run_write(db, run_id, 1, do_inputs, &a);
}

enum gy_status gy_tracking_log_dataset(struct gy_db *db, const char *run_id, const char *dataset,
                                       int64_t version, const char *digest, const char *context)
{
    char source[DS_NAME_MAX + 32], hex[GY_SHA256_HEX_LEN + 1];
    struct gy_tracking_tag tag = {"mlflow.data.context", context ? context : "training"};
    struct gy_tracking_dataset_input in = {0};
    enum gy_status rc;
    if (!dataset || !*dataset)
        return gy_error_set(GY_E_INVALID, "dataset name must be a non-empty string");
    if ((rc = gy_snprintf(source, sizeof source, "%s@%lld", dataset, (long long)version)))
        return gy_error_set(GY_E_INVALID, "dataset name too long");
    if (!digest) {
        gy_sha256_hex(source, strlen(source), hex);
        hex[16] = '\0';
        digest = hex;
    }
    in.name = dataset;
    in.digest = digest;
    in.source_type = "gyre";
    in.source = source;
    in.tags = &tag;
    in.ntags = 1;
    return gy_tracking_log_inputs(db, run_id, &in, 1);
}
