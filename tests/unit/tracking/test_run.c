/* SPDX-License-Identifier: MIT */
/*
 * test_run.c - runs on both backends: create (ids, names, tags, user), get (MLflow's Run
 * JSON), update, delete and restore, write-once params, metrics with the latest-value tuple
 * rule including NaN and infinities, metric history and its paging, tags, log-batch limits
 * and atomicity, and dataset inputs.
 */
#include "../store_fixture.h"

#include <float.h>
#include <math.h>

static void mkrun(struct gy_db *db, int64_t exp, const char *name, char id[33])
{
    struct gy_tracking_run_create c = {0};
    c.experiment_id = exp;
    c.run_name = name;
    OK(gy_tracking_run_create(db, &c, id));
}

DB_TEST(run_create_get)
{
    struct gy_tracking_tag tags[] = {{"mlflow.user", "ana"}, {"mlflow.source.name", "train.py"}};
    struct gy_tracking_run_create c = {0};
    char id[33], id2[33];
    json_t *r = NULL;
    c.experiment_id = 0;
    c.run_name = "first";
    c.user_id = "ana";
    c.start_time_ms = 1700000000123LL;
    c.tags = tags;
    c.ntags = 2;
    OK(gy_tracking_run_create(f->db, &c, id));
    cr_assert(gy_tracking_run_id_valid(id), "%s", id);
    cr_assert_eq(id[12], '4', "a version-4 UUID in hex, like MLflow's");
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_str_eq(jstr(r, "info.run_id"), id);
    cr_assert_str_eq(jstr(r, "info.run_uuid"), id);
    cr_assert_str_eq(jstr(r, "info.run_name"), "first");
    cr_assert_str_eq(jstr(r, "info.experiment_id"), "0");
    cr_assert_str_eq(jstr(r, "info.user_id"), "ana");
    cr_assert_str_eq(jstr(r, "info.status"), "RUNNING");
    cr_assert_eq(jint(r, "info.start_time"), 1700000000123LL);
    cr_assert_null(jpath(r, "info.end_time"), "unset end_time is omitted");
    cr_assert_str_eq(jstr(r, "info.lifecycle_stage"), "active");
    {
        char uri[128];
        snprintf(uri, sizeof uri, "mlflow-artifacts:/0/%s/artifacts", id);
        cr_assert_str_eq(jstr(r, "info.artifact_uri"), uri);
    }
    cr_assert_eq(jlen(r, "data.tags"), 3);
    cr_assert_str_eq(json_string_value(jkv(r, "data.tags", "mlflow.runName")), "first");
    cr_assert_null(jpath(r, "data.metrics"));
    cr_assert_null(jpath(r, "data.params"));
    cr_assert(json_is_object(jpath(r, "inputs")) && json_object_size(jpath(r, "inputs")) == 0,
              "inputs is {} when there are none");
    json_decref(r);

    /* The name comes from the mlflow.runName tag, or is generated. */
    c.run_name = NULL;
    tags[0].key = "mlflow.runName";
    tags[0].value = "from-tag";
    OK(gy_tracking_run_create(f->db, &c, id2));
    OK(gy_tracking_run_get(f->db, id2, &r));
    cr_assert_str_eq(jstr(r, "info.run_name"), "from-tag");
    json_decref(r);
    c.run_name = "other";
    cr_assert_eq(gy_tracking_run_create(f->db, &c, id2), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "Both 'run_name' argument and 'mlflow.runName' tag"));
    c.run_name = NULL;
    c.ntags = 0;
    c.start_time_ms = 0;
    c.user_id = NULL;
    OK(gy_tracking_run_create(f->db, &c, id2));
    OK(gy_tracking_run_get(f->db, id2, &r));
    cr_assert(strchr(jstr(r, "info.run_name"), '-'), "generated: %s", jstr(r, "info.run_name"));
    cr_assert_str_eq(json_string_value(jkv(r, "data.tags", "mlflow.runName")),
                     jstr(r, "info.run_name"));
    cr_assert_gt(jint(r, "info.start_time"), 1600000000000LL, "start time defaults to now");
    cr_assert_null(jpath(r, "info.user_id"));
    json_decref(r);
    cr_assert_str_neq(id, id2);

    c.experiment_id = 42;
    cr_assert_eq(gy_tracking_run_create(f->db, &c, id2), GY_NOT_FOUND);
    cr_assert_eq(gy_tracking_run_get(f->db, "0123456789abcdef0123456789abcdef", &r), GY_NOT_FOUND);
    cr_assert_null(r);
    cr_assert_eq(gy_tracking_run_get(f->db, "../../etc/passwd", &r), GY_NOT_FOUND);
    cr_assert_eq(gy_tracking_run_get(f->db, NULL, &r), GY_NOT_FOUND);
    {
        int64_t exp = -1;
        char *uri = NULL;
        OK(gy_tracking_run_experiment(f->db, id, &exp, &uri));
        cr_assert_eq(exp, 0);
        cr_assert(strstr(uri, id));
        gy_free(uri);
    }
}

DB_TEST(run_update_delete)
{
    struct gy_tracking_run_update u = {0};
    char id[33];
    json_t *ri = NULL, *r = NULL;
    mkrun(f->db, 0, "r", id);
    u.status = GY_RUN_FINISHED;
    u.set_end_time = 1;
    u.end_time_ms = 1700000009999LL;
    u.run_name = "renamed";
    OK(gy_tracking_run_update(f->db, id, &u, &ri));
    cr_assert_str_eq(jstr(ri, "status"), "FINISHED");
    cr_assert_eq(jint(ri, "end_time"), 1700000009999LL);
    cr_assert_str_eq(jstr(ri, "run_name"), "renamed");
    json_decref(ri);
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_str_eq(json_string_value(jkv(r, "data.tags", "mlflow.runName")), "renamed");
    json_decref(r);
    memset(&u, 0, sizeof u);
    u.status = GY_RUN_KILLED;
    OK(gy_tracking_run_update(f->db, id, &u, NULL));
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_str_eq(jstr(r, "info.status"), "KILLED");
    cr_assert_eq(jint(r, "info.end_time"), 1700000009999LL, "unchanged fields stay");
    cr_assert_str_eq(jstr(r, "info.run_name"), "renamed");
    json_decref(r);
    u.status = (enum gy_tracking_run_status)9;
    cr_assert_eq(gy_tracking_run_update(f->db, id, &u, NULL), GY_E_INVALID);

    OK(gy_tracking_run_delete(f->db, id));
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_str_eq(jstr(r, "info.lifecycle_stage"), "deleted", "get works on deleted runs");
    json_decref(r);
    u.status = GY_RUN_FINISHED;
    cr_assert_eq(gy_tracking_run_update(f->db, id, &u, NULL), GY_E_INVALID);
    cr_assert_eq(gy_tracking_param_log(f->db, id, "a", "1"), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "must be in the 'active' state"));
    OK(gy_tracking_run_restore(f->db, id));
    OK(gy_tracking_param_log(f->db, id, "a", "1"));
    cr_assert_eq(gy_tracking_run_delete(f->db, "ffffffffffffffffffffffffffffffff"), GY_NOT_FOUND);
}

DB_TEST(params_are_write_once)
{
    char id[33];
    json_t *r = NULL;
    char big[GY_TRACKING_PARAM_VALUE_MAX + 2];
    mkrun(f->db, 0, "p", id);
    OK(gy_tracking_param_log(f->db, id, "lr", "0.1"));
    OK(gy_tracking_param_log(f->db, id, "lr", "0.1"));
    cr_assert_eq(gy_tracking_param_log(f->db, id, "lr", "0.2"), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "Changing param values is not allowed. Param with key='lr' "
                                     "was already logged with value='0.1'"),
              "%s", gy_error_msg());
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(gy_tracking_param_log(f->db, id, "big", big), GY_E_INVALID);
    big[GY_TRACKING_PARAM_VALUE_MAX] = '\0';
    OK(gy_tracking_param_log(f->db, id, "big", big));
    cr_assert_eq(gy_tracking_param_log(f->db, id, "bad key!", "x"), GY_E_INVALID);
    cr_assert_eq(gy_tracking_param_log(f->db, id, "k", NULL), GY_E_INVALID);
    cr_assert_eq(gy_tracking_param_log(f->db, id, "k", "\xff"), GY_E_INVALID);
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_eq(jlen(r, "data.params"), 2);
    cr_assert_str_eq(json_string_value(jkv(r, "data.params", "lr")), "0.1");
    json_decref(r);
}

static void logm(struct gy_db *db, const char *id, const char *key, double v, int64_t ts,
                 int64_t step)
{
    struct gy_tracking_metric m = {key, v, ts, step};
    OK(gy_tracking_metric_log(db, id, &m));
}

/* The latest metric @p key of the run as JSON (borrowed from *hold, which the caller frees). */
static json_t *latest(struct gy_db *db, const char *id, const char *key, json_t **hold)
{
    json_t *arr, *m;
    size_t i;
    json_decref(*hold);
    *hold = NULL;
    OK(gy_tracking_run_get(db, id, hold));
    arr = jpath(*hold, "data.metrics");
    json_array_foreach(arr, i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "key")), key) == 0)
            return m;
    }
    return NULL;
}

DB_TEST(latest_metric_tuple_rule)
{
    char id[33];
    json_t *hold = NULL, *m;
    mkrun(f->db, 0, "m", id);
    logm(f->db, id, "loss", 0.5, 1000, 1);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_float_eq(json_real_value(json_object_get(m, "value")), 0.5, 0);
    /* A later timestamp at a lower step does not replace it: step decides first. */
    logm(f->db, id, "loss", 0.9, 5000, 0);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_float_eq(json_real_value(json_object_get(m, "value")), 0.5, 0);
    /* Same step, later timestamp wins. */
    logm(f->db, id, "loss", 0.4, 2000, 1);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_float_eq(json_real_value(json_object_get(m, "value")), 0.4, 0);
    cr_assert_eq(jint(m, "timestamp"), 2000);
    cr_assert_eq(jint(m, "step"), 1);
    /* Same step and timestamp: the larger value wins. */
    logm(f->db, id, "loss", 0.3, 2000, 1);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_float_eq(json_real_value(json_object_get(m, "value")), 0.4, 0);
    logm(f->db, id, "loss", 0.45, 2000, 1);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_float_eq(json_real_value(json_object_get(m, "value")), 0.45, 0);
    /* NaN counts as 0 in the tuple (MLflow's store): it loses to 0.45 at the same place... */
    logm(f->db, id, "loss", NAN, 2000, 1);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_float_eq(json_real_value(json_object_get(m, "value")), 0.45, 0);
    /* ...but wins at a higher step and is reported as "NaN". */
    logm(f->db, id, "loss", NAN, 2000, 2);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_str_eq(json_string_value(json_object_get(m, "value")), "NaN");
    /* A negative value beats NaN (0) only by a later tuple; -1 at the same place loses. */
    logm(f->db, id, "loss", -1.0, 2000, 2);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_str_eq(json_string_value(json_object_get(m, "value")), "NaN");
    logm(f->db, id, "loss", 1.0, 2000, 2);
    m = latest(f->db, id, "loss", &hold);
    cr_assert_float_eq(json_real_value(json_object_get(m, "value")), 1.0, 0);

    /* Infinities are clamped to +-DBL_MAX, as SQL has none. */
    logm(f->db, id, "inf", INFINITY, 1, 0);
    m = latest(f->db, id, "inf", &hold);
    cr_assert_eq(json_real_value(json_object_get(m, "value")), DBL_MAX);
    logm(f->db, id, "ninf", -INFINITY, 1, 0);
    m = latest(f->db, id, "ninf", &hold);
    cr_assert_eq(json_real_value(json_object_get(m, "value")), -DBL_MAX);
    logm(f->db, id, "neg", -2.5e-300, 1, -3);
    m = latest(f->db, id, "neg", &hold);
    cr_assert_eq(json_real_value(json_object_get(m, "value")), -2.5e-300, "exact round trip");
    cr_assert_eq(jint(m, "step"), -3);
    cr_assert_eq(jlen(hold, "data.metrics"), 4);
    logm(f->db, id, "edge", 1, INT64_MIN, INT64_MAX);
    m = latest(f->db, id, "edge", &hold);
    cr_assert_eq(jint(m, "timestamp"), (long long)INT64_MIN, "int64 extremes round-trip");
    cr_assert_eq(jint(m, "step"), (long long)INT64_MAX);
    json_decref(hold);
    {
        struct gy_tracking_metric bad = {"", 1, 1, 1};
        cr_assert_eq(gy_tracking_metric_log(f->db, id, &bad), GY_E_INVALID);
        bad.key = "ok";
        cr_assert_eq(gy_tracking_metric_log(f->db, "nope", &bad), GY_NOT_FOUND);
    }
}

DB_TEST(history_and_paging)
{
    char id[33];
    json_t *h = NULL;
    mkrun(f->db, 0, "h", id);
    logm(f->db, id, "acc", 0.3, 300, 3);
    logm(f->db, id, "acc", 0.1, 100, 1);
    logm(f->db, id, "acc", 0.2, 200, 2);
    logm(f->db, id, "acc", 0.2, 200, 2); /* an identical point is stored once */
    logm(f->db, id, "acc", NAN, 150, 2);
    logm(f->db, id, "other", 9, 1, 1);
    OK(gy_tracking_metric_history(f->db, id, "acc", 0, NULL, &h));
    cr_assert_eq(jlen(h, "metrics"), 4);
    cr_assert_eq(jint(h, "metrics.0.step"), 1);
    cr_assert_eq(jint(h, "metrics.1.timestamp"), 150);
    cr_assert_str_eq(jstr(h, "metrics.1.value"), "NaN");
    cr_assert_eq(jint(h, "metrics.2.timestamp"), 200);
    cr_assert_eq(jint(h, "metrics.3.step"), 3);
    cr_assert_str_eq(jstr(h, "metrics.0.key"), "acc");
    cr_assert_null(jpath(h, "next_page_token"));
    json_decref(h);
    OK(gy_tracking_metric_history(f->db, id, "acc", 3, NULL, &h));
    cr_assert_eq(jlen(h, "metrics"), 3);
    cr_assert_str_eq(jstr(h, "next_page_token"), "3");
    json_decref(h);
    OK(gy_tracking_metric_history(f->db, id, "acc", 3, "3", &h));
    cr_assert_eq(jlen(h, "metrics"), 1);
    cr_assert_eq(jint(h, "metrics.0.step"), 3);
    cr_assert_null(jpath(h, "next_page_token"));
    json_decref(h);
    OK(gy_tracking_metric_history(f->db, id, "nothing", 0, NULL, &h));
    cr_assert_eq(json_object_size(h), 0, "unknown key: {}");
    json_decref(h);
    cr_assert_eq(gy_tracking_metric_history(f->db, id, "acc", 0, "x", &h), GY_E_INVALID);
    cr_assert_eq(gy_tracking_metric_history(f->db, id, "", 0, NULL, &h), GY_E_INVALID);
    cr_assert_eq(
        gy_tracking_metric_history(f->db, "00000000000000000000000000000000", "acc", 0, NULL, &h),
        GY_NOT_FOUND);
    cr_assert_null(h);
}

DB_TEST(run_tags)
{
    char id[33];
    json_t *r = NULL;
    char big[GY_TRACKING_TAG_VALUE_MAX + 2];
    mkrun(f->db, 0, "t", id);
    OK(gy_tracking_run_tag_set(f->db, id, "stage", "a"));
    OK(gy_tracking_run_tag_set(f->db, id, "stage", "b"));
    OK(gy_tracking_run_tag_set(f->db, id, "mlflow.runName", "via-tag"));
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_str_eq(json_string_value(jkv(r, "data.tags", "stage")), "b");
    cr_assert_str_eq(jstr(r, "info.run_name"), "via-tag", "setting mlflow.runName renames");
    json_decref(r);
    OK(gy_tracking_run_tag_delete(f->db, id, "stage"));
    cr_assert_eq(gy_tracking_run_tag_delete(f->db, id, "stage"), GY_NOT_FOUND);
    memset(big, 't', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(gy_tracking_run_tag_set(f->db, id, "big", big), GY_E_INVALID);
    cr_assert_eq(gy_tracking_run_tag_set(f->db, id, "mlflow.runName", ""), GY_E_INVALID);
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_null(jkv(r, "data.tags", "stage"));
    json_decref(r);
}

DB_TEST(log_batch)
{
    struct gy_tracking_metric *m = gy_calloc(1001, sizeof *m);
    struct gy_tracking_tag p[101], t[101];
    char keys[101][16];
    char id[33];
    json_t *r = NULL, *h = NULL;
    mkrun(f->db, 0, "b", id);
    for (int i = 0; i < 1001; i++)
        m[i] = (struct gy_tracking_metric){"loss", 1.0 / (i + 1), 1000 + i, i};
    for (int i = 0; i < 101; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        p[i] = (struct gy_tracking_tag){keys[i], "v"};
        t[i] = (struct gy_tracking_tag){keys[i], "tv"};
    }
    /* Limits: nothing is written by a refused batch. */
    cr_assert_eq(gy_tracking_log_batch(f->db, id, m, 1001, NULL, 0, NULL, 0), GY_E_TOO_LARGE);
    cr_assert(strstr(gy_error_msg(), "at most 1000 metrics"), "%s", gy_error_msg());
    cr_assert_eq(gy_tracking_log_batch(f->db, id, NULL, 0, p, 101, NULL, 0), GY_E_TOO_LARGE);
    cr_assert_eq(gy_tracking_log_batch(f->db, id, NULL, 0, NULL, 0, t, 101), GY_E_TOO_LARGE);
    cr_assert_eq(gy_tracking_log_batch(f->db, id, m, 901, p, 100, NULL, 0), GY_E_TOO_LARGE);
    cr_assert(strstr(gy_error_msg(), "1000 total entities"), "%s", gy_error_msg());

    /* A bad entity anywhere refuses the whole batch. */
    m[500].key = "bad//key";
    cr_assert_eq(gy_tracking_log_batch(f->db, id, m, 1000, p, 0, NULL, 0), GY_E_INVALID);
    m[500].key = "loss";
    OK(gy_tracking_param_log(f->db, id, "k3", "old"));
    cr_assert_eq(gy_tracking_log_batch(f->db, id, m, 800, p, 100, t, 100), GY_E_INVALID,
                 "k3 was logged with another value");
    OK(gy_tracking_metric_history(f->db, id, "loss", 0, NULL, &h));
    cr_assert_eq(jlen(h, "metrics"), 0, "atomic: no metric of the refused batch was written");
    json_decref(h);
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_eq(jlen(r, "data.params"), 1);
    cr_assert_null(jpath(r, "data.metrics"));
    json_decref(r);

    /* Duplicate params: same value is fine, different is refused. */
    {
        struct gy_tracking_tag dup[] = {{"x", "1"}, {"x", "2"}};
        cr_assert_eq(gy_tracking_log_batch(f->db, id, NULL, 0, dup, 2, NULL, 0), GY_E_INVALID);
        cr_assert(strstr(gy_error_msg(), "Duplicate parameter keys"));
        dup[1].value = "1";
        OK(gy_tracking_log_batch(f->db, id, NULL, 0, dup, 2, NULL, 0));
    }
    /* Tags: the last value of a key wins. */
    {
        struct gy_tracking_tag tg[] = {{"color", "red"}, {"shape", "x"}, {"color", "blue"}};
        OK(gy_tracking_log_batch(f->db, id, NULL, 0, NULL, 0, tg, 3));
    }
    p[3].value = "old";
    OK(gy_tracking_log_batch(f->db, id, m, 800, p, 100, t, 100));
    OK(gy_tracking_log_batch(f->db, id, m + 800, 200, NULL, 0, NULL, 0));
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_eq(jlen(r, "data.params"), 101, "100 from the batch and x");
    cr_assert_str_eq(json_string_value(jkv(r, "data.tags", "color")), "blue");
    cr_assert_eq(jlen(r, "data.metrics"), 1);
    cr_assert_eq(jint(r, "data.metrics.0.step"), 999);
    cr_assert_float_eq(json_real_value(jpath(r, "data.metrics.0.value")), 1.0 / 1000, 1e-15);
    json_decref(r);
    OK(gy_tracking_metric_history(f->db, id, "loss", 0, NULL, &h));
    cr_assert_eq(jlen(h, "metrics"), 1000);
    json_decref(h);
    cr_assert_eq(gy_tracking_log_batch(f->db, "nope", m, 1, NULL, 0, NULL, 0), GY_NOT_FOUND);
    OK(gy_tracking_log_batch(f->db, id, NULL, 0, NULL, 0, NULL, 0));
    gy_free(m);
}

DB_TEST(batch_many_keys_and_nan)
{
    struct gy_tracking_metric m[6] = {
        {"a", 1, 10, 0},       {"b", NAN, 10, 0}, {"a", 3, 5, 1},
        {"c", INFINITY, 1, 0}, {"a", 2, 20, 1},   {"b", 7, 9, 0},
    };
    char id[33];
    json_t *r = NULL;
    mkrun(f->db, 0, "k", id);
    OK(gy_tracking_log_batch(f->db, id, m, 6, NULL, 0, NULL, 0));
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_eq(jlen(r, "data.metrics"), 3);
    /* metrics are ordered by key */
    cr_assert_str_eq(jstr(r, "data.metrics.0.key"), "a");
    cr_assert_float_eq(json_number_value(jpath(r, "data.metrics.0.value")), 2, 0);
    cr_assert_str_eq(jstr(r, "data.metrics.1.key"), "b");
    cr_assert_str_eq(jstr(r, "data.metrics.1.value"), "NaN", "(0,10,NaN=0) beats (0,9,7)");
    cr_assert_eq(json_real_value(jpath(r, "data.metrics.2.value")), DBL_MAX);
    json_decref(r);
}

DB_TEST(dataset_inputs)
{
    struct gy_tracking_tag ctx = {"mlflow.data.context", "training"};
    struct gy_tracking_dataset_input in = {
        "iris", "abc123", "local", "/data/iris.csv", "{\"mlflow_colspec\":[]}", NULL, &ctx, 1};
    char id[33];
    json_t *r = NULL;
    mkrun(f->db, 0, "d", id);
    OK(gy_tracking_log_inputs(f->db, id, &in, 1));
    OK(gy_tracking_log_inputs(f->db, id, &in, 1)); /* the same input again: no duplicate */
    OK(gy_tracking_log_dataset(f->db, id, "fraud", 3, NULL, NULL));
    OK(gy_tracking_run_get(f->db, id, &r));
    cr_assert_eq(jlen(r, "inputs.dataset_inputs"), 2);
    cr_assert_str_eq(jstr(r, "inputs.dataset_inputs.0.dataset.name"), "iris");
    cr_assert_str_eq(jstr(r, "inputs.dataset_inputs.0.dataset.schema"), "{\"mlflow_colspec\":[]}");
    cr_assert_null(jpath(r, "inputs.dataset_inputs.0.dataset.profile"));
    cr_assert_str_eq(jstr(r, "inputs.dataset_inputs.0.tags.0.value"), "training");
    cr_assert_str_eq(jstr(r, "inputs.dataset_inputs.1.dataset.source"), "fraud@3");
    cr_assert_str_eq(jstr(r, "inputs.dataset_inputs.1.dataset.source_type"), "gyre");
    cr_assert_eq(strlen(jstr(r, "inputs.dataset_inputs.1.dataset.digest")), 16);
    json_decref(r);
    in.digest = NULL;
    cr_assert_eq(gy_tracking_log_inputs(f->db, id, &in, 1), GY_E_INVALID);
    in.digest = "0123456789012345678901234567890123456789";
    cr_assert_eq(gy_tracking_log_inputs(f->db, id, &in, 1), GY_E_INVALID, "digest too long");
    cr_assert_eq(gy_tracking_log_dataset(f->db, id, "", 1, NULL, NULL), GY_E_INVALID);
}
