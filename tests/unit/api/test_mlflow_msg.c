/* SPDX-License-Identifier: MIT */
/*
 * test_mlflow_msg.c - unit tests for the pure request handling of the MLflow API
 * (src/api/mlflow_msg.c): reading bodies (empty, double-encoded, not an object), the typed
 * accessors over JSON bodies and query parameters (required fields, wrong types, ids as
 * numbers, int64 and double spellings, booleans, repeated fields, key/value lists), the
 * message parsers (searches, runs/create, runs/update, log-metric, log-batch limits,
 * log-inputs, model-versions/create), the artifact proxy path check against each traversal
 * trick, and the gyre-status to MLflow error-code table.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "api/mlflow_int.h"

static struct gy_arena *arena;
static json_t *owned;

static void setup(void)
{
    arena = gy_arena_create(4096);
    owned = NULL;
}

static void teardown(void)
{
    json_decref(owned);
    gy_arena_free(arena);
}

TestSuite(mlflow_msg, .init = setup, .fini = teardown);
TestSuite(mlflow_parse, .init = setup, .fini = teardown);
TestSuite(mlflow_proxy_path);
TestSuite(mlflow_errors);

/* A message from a JSON body text (asserted to parse). */
static struct gy__mlflow_msg body(const char *text)
{
    struct gy__mlflow_msg m = {.arena = arena};
    json_decref(owned);
    owned = NULL;
    cr_assert_eq(gy__mlflow_msg_body(&m, text, strlen(text), &owned), GY_OK, "%s: %s", text,
                 gy_error_msg());
    return m;
}

/* A message of query parameters only (keys and values NULL-terminated arrays). */
static struct gy__mlflow_msg query(const char *const *k, const char *const *v)
{
    struct gy__mlflow_msg m = {.arena = arena, .qkey = k, .qval = v};
    while (k[m.nq])
        m.nq++;
    return m;
}

static void assert_invalid(enum gy_status rc, const char *needle)
{
    cr_assert_eq(rc, GY_E_INVALID, "want GY_E_INVALID, got %d (%s)", rc, gy_error_msg());
    cr_assert(strstr(gy_error_msg(), needle), "message \"%s\" lacks \"%s\"", gy_error_msg(),
              needle);
}

/* ------------------------------------------------------------------ bodies */

Test(mlflow_msg, body_forms)
{
    struct gy__mlflow_msg m = {.arena = arena};
    const char *s;
    json_t *j = NULL;

    cr_assert_eq(gy__mlflow_msg_body(&m, "", 0, &j), GY_OK);
    cr_assert_null(m.body);
    cr_assert_null(j);
    cr_assert_eq(gy__mlflow_msg_body(&m, " \n\t", 3, &j), GY_OK);
    cr_assert_null(m.body);

    m = body("\"{\\\"name\\\": \\\"x\\\"}\""); /* double-encoded, as old clients send */
    cr_assert_eq(gy__mlflow_str(&m, "name", GY__MLFLOW_REQUIRED, &s), GY_OK);
    cr_assert_str_eq(s, "x");

    assert_invalid(gy__mlflow_msg_body(&m, "[1]", 3, &j), "JSON object");
    json_decref(j);
    j = NULL;
    assert_invalid(gy__mlflow_msg_body(&m, "\"[1]\"", 5, &j), "JSON object");
    json_decref(j);
    j = NULL;
    assert_invalid(gy__mlflow_msg_body(&m, "{\"a\": ", 6, &j), "line 1");
    cr_assert_null(j);
    assert_invalid(gy__mlflow_msg_body(&m, "\"{bad\"", 6, &j), "JSON string holding JSON");
    cr_assert_null(j);
}

/* ------------------------------------------------------------------ accessors */

Test(mlflow_msg, strings_required_and_types)
{
    struct gy__mlflow_msg m = body("{\"name\": \"exp\", \"n\": 5, \"e\": \"\", \"z\": null, "
                                   "\"extra\": {\"deep\": [1]}}");
    const char *s;
    cr_assert_eq(gy__mlflow_str(&m, "name", GY__MLFLOW_REQUIRED, &s), GY_OK);
    cr_assert_str_eq(s, "exp");
    cr_assert_eq(gy__mlflow_str(&m, "absent", 0, &s), GY_OK);
    cr_assert_null(s);
    cr_assert_eq(gy__mlflow_str(&m, "z", 0, &s), GY_OK, "JSON null is absent");
    cr_assert_null(s);
    cr_assert_eq(gy__mlflow_str(&m, "e", 0, &s), GY_OK);
    cr_assert_str_eq(s, "");
    assert_invalid(gy__mlflow_str(&m, "absent", GY__MLFLOW_REQUIRED, &s),
                   "Missing value for required parameter 'absent'");
    assert_invalid(gy__mlflow_str(&m, "e", GY__MLFLOW_REQUIRED, &s), "parameter 'e'");
    assert_invalid(gy__mlflow_str(&m, "n", 0, &s), "Invalid value 5 for parameter 'n' supplied. "
                                                   "Hint: Value was of type 'int'");
    assert_invalid(gy__mlflow_str(&m, "extra", 0, &s), "of type 'dict'");
}

Test(mlflow_msg, ids_and_run_ids)
{
    struct gy__mlflow_msg m = body("{\"experiment_id\": 7, \"run_uuid\": \"abc\", \"b\": true}");
    const char *s;
    cr_assert_eq(gy__mlflow_id(&m, "experiment_id", GY__MLFLOW_REQUIRED, &s), GY_OK);
    cr_assert_str_eq(s, "7");
    assert_invalid(gy__mlflow_id(&m, "b", 0, &s), "'b'");
    cr_assert_eq(gy__mlflow_run_id(&m, &s), GY_OK);
    cr_assert_str_eq(s, "abc", "run_uuid stands in for run_id");
    m = body("{\"run_id\": \"r1\", \"run_uuid\": \"r2\"}");
    cr_assert_eq(gy__mlflow_run_id(&m, &s), GY_OK);
    cr_assert_str_eq(s, "r1");
    m = body("{}");
    assert_invalid(gy__mlflow_run_id(&m, &s), "'run_id'");
}

Test(mlflow_msg, body_before_query)
{
    const char *k[] = {"name", "only_q", NULL}, *v[] = {"from-query", "q", NULL};
    struct gy__mlflow_msg m = body("{\"name\": \"from-body\"}");
    const char *s;
    m.qkey = k;
    m.qval = v;
    m.nq = 2;
    cr_assert_eq(gy__mlflow_str(&m, "name", 0, &s), GY_OK);
    cr_assert_str_eq(s, "from-body");
    cr_assert_eq(gy__mlflow_str(&m, "only_q", 0, &s), GY_OK);
    cr_assert_str_eq(s, "q");
}

Test(mlflow_msg, int64_spellings)
{
    struct gy__mlflow_msg m =
        body("{\"a\": 12, \"b\": \"-34\", \"c\": 5.0, \"d\": 5.5, \"e\": "
             "\"1x\", \"f\": 1e30, \"g\": [1], \"h\": \"+8\", \"i\": \" 9\"}");
    const char *k[] = {"q", "bad", NULL}, *v[] = {"-7", "seven", NULL};
    struct gy__mlflow_msg q = query(k, v);
    int64_t x = 99;
    int set = 0;
    cr_assert_eq(gy__mlflow_int64(&m, "a", 0, &x, &set), GY_OK);
    cr_assert_eq(x, 12);
    cr_assert_eq(set, 1);
    cr_assert_eq(gy__mlflow_int64(&m, "b", 0, &x, NULL), GY_OK);
    cr_assert_eq(x, -34);
    cr_assert_eq(gy__mlflow_int64(&m, "c", 0, &x, NULL), GY_OK);
    cr_assert_eq(x, 5);
    cr_assert_eq(gy__mlflow_int64(&m, "h", 0, &x, NULL), GY_OK);
    cr_assert_eq(x, 8);
    assert_invalid(gy__mlflow_int64(&m, "d", 0, &x, NULL), "'d'");
    assert_invalid(gy__mlflow_int64(&m, "e", 0, &x, NULL), "'e'");
    assert_invalid(gy__mlflow_int64(&m, "f", 0, &x, NULL), "'f'");
    assert_invalid(gy__mlflow_int64(&m, "g", 0, &x, NULL), "'list'");
    assert_invalid(gy__mlflow_int64(&m, "i", 0, &x, NULL), "'i'");
    x = 99;
    cr_assert_eq(gy__mlflow_int64(&m, "absent", 0, &x, &set), GY_OK);
    cr_assert_eq(x, 99, "absent leaves the value alone");
    cr_assert_eq(set, 0);
    assert_invalid(gy__mlflow_int64(&m, "absent", GY__MLFLOW_REQUIRED, &x, &set), "'absent'");
    cr_assert_eq(gy__mlflow_int64(&q, "q", 0, &x, NULL), GY_OK);
    cr_assert_eq(x, -7);
    assert_invalid(gy__mlflow_int64(&q, "bad", 0, &x, NULL), "'seven'");
}

Test(mlflow_msg, doubles_and_booleans)
{
    struct gy__mlflow_msg m = body("{\"n\": \"NaN\", \"i\": \"-Infinity\", \"x\": 2, \"s\": "
                                   "\"1e3\", \"h\": \"0x10\", \"t\": true, \"f\": \"FALSE\", "
                                   "\"y\": \"yes\", \"o\": 1}");
    const char *k[] = {"q", "b", NULL}, *v[] = {"0.25", "True", NULL};
    struct gy__mlflow_msg q = query(k, v);
    double d = 0;
    int b = -1, set = 0;
    cr_assert_eq(gy__mlflow_double(&m, "n", 0, &d, NULL), GY_OK);
    cr_assert(isnan(d));
    cr_assert_eq(gy__mlflow_double(&m, "i", 0, &d, NULL), GY_OK);
    cr_assert(isinf(d) && d < 0);
    cr_assert_eq(gy__mlflow_double(&m, "x", 0, &d, NULL), GY_OK);
    cr_assert_eq(d, 2.0);
    cr_assert_eq(gy__mlflow_double(&m, "s", 0, &d, NULL), GY_OK);
    cr_assert_eq(d, 1000.0);
    assert_invalid(gy__mlflow_double(&m, "h", 0, &d, NULL), "'h'");
    assert_invalid(gy__mlflow_double(&m, "t", 0, &d, NULL), "'bool'");
    assert_invalid(gy__mlflow_double(&m, "absent", GY__MLFLOW_REQUIRED, &d, NULL), "'absent'");
    cr_assert_eq(gy__mlflow_double(&q, "q", 0, &d, &set), GY_OK);
    cr_assert_eq(d, 0.25);
    cr_assert_eq(set, 1);

    cr_assert_eq(gy__mlflow_bool(&m, "t", 0, &b, NULL), GY_OK);
    cr_assert_eq(b, 1);
    cr_assert_eq(gy__mlflow_bool(&m, "f", 0, &b, NULL), GY_OK);
    cr_assert_eq(b, 0);
    cr_assert_eq(gy__mlflow_bool(&q, "b", 0, &b, NULL), GY_OK);
    cr_assert_eq(b, 1);
    assert_invalid(gy__mlflow_bool(&m, "y", 0, &b, NULL), "must be 'true' or 'false'");
    assert_invalid(gy__mlflow_bool(&m, "o", 0, &b, NULL), "'o'");
    assert_invalid(gy__mlflow_bool(&m, "absent", GY__MLFLOW_REQUIRED, &b, NULL), "'absent'");
}

Test(mlflow_msg, repeated_strings)
{
    struct gy__mlflow_msg m = body("{\"a\": [\"x\", 3, \"z\"], \"one\": \"solo\", \"bad\": "
                                   "[\"x\", {}], \"num\": 4}");
    const char *k[] = {"order_by", "other", "order_by", NULL}, *v[] = {"a", "b", "c", NULL};
    struct gy__mlflow_msg q = query(k, v);
    const char *const *out;
    size_t n;
    cr_assert_eq(gy__mlflow_strs(&m, "a", 10, &out, &n), GY_OK);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(out[1], "3");
    cr_assert_str_eq(out[2], "z");
    cr_assert_eq(gy__mlflow_strs(&m, "one", 10, &out, &n), GY_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(out[0], "solo");
    cr_assert_eq(gy__mlflow_strs(&m, "absent", 10, &out, &n), GY_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(out);
    assert_invalid(gy__mlflow_strs(&m, "bad", 10, &out, &n), "'bad'");
    assert_invalid(gy__mlflow_strs(&m, "num", 10, &out, &n), "'num'");
    assert_invalid(gy__mlflow_strs(&m, "a", 2, &out, &n), "at most 2");
    cr_assert_eq(gy__mlflow_strs(&q, "order_by", 10, &out, &n), GY_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(out[0], "a");
    cr_assert_str_eq(out[1], "c");
}

Test(mlflow_msg, key_value_lists)
{
    struct gy__mlflow_msg m = body("{\"tags\": [{\"key\": \"a\", \"value\": \"1\"}, {\"key\": "
                                   "\"b\"}], \"nokey\": [{\"key\": \"a\"}, {\"value\": \"v\"}], "
                                   "\"numval\": [{\"key\": \"a\", \"value\": 1}], \"notlist\": {}, "
                                   "\"notobj\": [\"a\"]}");
    struct gy_tracking_tag *t;
    size_t n;
    cr_assert_eq(gy__mlflow_tags(&m, "tags", 10, &t, &n), GY_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(t[0].key, "a");
    cr_assert_str_eq(t[0].value, "1");
    cr_assert_str_eq(t[1].value, "", "an absent value is empty, as in proto");
    cr_assert_eq(gy__mlflow_tags(&m, "absent", 10, &t, &n), GY_OK);
    cr_assert_eq(n, 0);
    assert_invalid(gy__mlflow_tags(&m, "nokey", 10, &t, &n), "'nokey[1].key'");
    assert_invalid(gy__mlflow_tags(&m, "numval", 10, &t, &n), "'numval[0].value'");
    assert_invalid(gy__mlflow_tags(&m, "notlist", 10, &t, &n), "'notlist'");
    assert_invalid(gy__mlflow_tags(&m, "notobj", 10, &t, &n), "'notobj[0]'");
    assert_invalid(gy__mlflow_tags(&m, "tags", 1, &t, &n), "at most 1");
}

/* ------------------------------------------------------------------ parsers */

Test(mlflow_parse, run_search)
{
    struct gy__mlflow_msg m =
        body("{\"experiment_ids\": [\"1\", 2], \"filter\": \"metrics.a > 1\", "
             "\"order_by\": [\"metrics.a DESC\"], \"max_results\": \"5\", "
             "\"run_view_type\": \"ALL\", \"page_token\": \"t\"}");
    const char *k[] = {"experiment_ids", "run_view_type", NULL}, *v[] = {"3", "2", NULL};
    struct gy__mlflow_msg q = query(k, v);
    struct gy_tracking_search s;
    cr_assert_eq(gy__mlflow_parse_run_search(&m, &s), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(s.nexperiment_ids, 2);
    cr_assert_eq(s.experiment_ids[0], 1);
    cr_assert_eq(s.experiment_ids[1], 2);
    cr_assert_str_eq(s.filter, "metrics.a > 1");
    cr_assert_eq(s.norder_by, 1);
    cr_assert_str_eq(s.order_by[0], "metrics.a DESC");
    cr_assert_eq(s.max_results, 5);
    cr_assert_eq(s.view, GY_TRACKING_VIEW_ALL);
    cr_assert_str_eq(s.page_token, "t");
    cr_assert_eq(gy__mlflow_parse_run_search(&q, &s), GY_OK);
    cr_assert_eq(s.experiment_ids[0], 3);
    cr_assert_eq(s.view, GY_TRACKING_VIEW_DELETED_ONLY, "the view's proto number");
    m = body("{}");
    cr_assert_eq(gy__mlflow_parse_run_search(&m, &s), GY_OK);
    cr_assert_eq(s.nexperiment_ids, 0);
    cr_assert_eq(s.view, GY_TRACKING_VIEW_ACTIVE_ONLY);
    m = body("{\"experiment_ids\": [\"x\"]}");
    assert_invalid(gy__mlflow_parse_run_search(&m, &s), "'experiment_ids'");
    m = body("{\"run_view_type\": \"SOME\"}");
    assert_invalid(gy__mlflow_parse_run_search(&m, &s), "'run_view_type'");
    m = body("{\"run_view_type\": 9}");
    assert_invalid(gy__mlflow_parse_run_search(&m, &s), "'run_view_type'");
    m = body("{\"max_results\": 0}");
    assert_invalid(gy__mlflow_parse_run_search(&m, &s), "'max_results'");
    m = body("{\"order_by\": \"start_time\"}");
    cr_assert_eq(gy__mlflow_parse_run_search(&m, &s), GY_OK, "a single string is one entry");
    cr_assert_eq(s.norder_by, 1);
}

Test(mlflow_parse, experiment_and_registry_search)
{
    struct gy__mlflow_msg m = body("{\"view_type\": \"deleted_only\", \"max_results\": 3, "
                                   "\"filter\": \"name LIKE 'a%'\", \"experiment_ids\": [\"x\"]}");
    struct gy_tracking_search s;
    struct gy_registry_search r;
    cr_assert_eq(gy__mlflow_parse_experiment_search(&m, &s), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(s.view, GY_TRACKING_VIEW_DELETED_ONLY);
    cr_assert_eq(s.max_results, 3);
    cr_assert_eq(s.nexperiment_ids, 0, "experiment_ids means nothing to experiment search");
    cr_assert_eq(gy__mlflow_parse_registry_search(&m, &r), GY_OK);
    cr_assert_str_eq(r.filter, "name LIKE 'a%'");
    cr_assert_eq(r.max_results, 3);
    m = body("{\"max_results\": -1}");
    assert_invalid(gy__mlflow_parse_registry_search(&m, &r), "'max_results'");
}

Test(mlflow_parse, run_create_and_update)
{
    struct gy__mlflow_msg m = body("{\"start_time\": 42, \"run_name\": \"r\", \"user_id\": \"u\", "
                                   "\"tags\": [{\"key\": \"k\", \"value\": \"v\"}]}");
    struct gy_tracking_run_create c;
    struct gy_tracking_run_update u;
    cr_assert_eq(gy__mlflow_parse_run_create(&m, &c), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(c.experiment_id, GY_TRACKING_DEFAULT_EXPERIMENT_ID);
    cr_assert_eq(c.start_time_ms, 42);
    cr_assert_str_eq(c.run_name, "r");
    cr_assert_str_eq(c.user_id, "u");
    cr_assert_eq(c.ntags, 1);
    cr_assert_str_eq(c.tags[0].key, "k");
    m = body("{\"experiment_id\": \"12\"}");
    cr_assert_eq(gy__mlflow_parse_run_create(&m, &c), GY_OK);
    cr_assert_eq(c.experiment_id, 12);
    m = body("{\"experiment_id\": \"-1\"}");
    assert_invalid(gy__mlflow_parse_run_create(&m, &c), "'experiment_id'");

    m = body("{\"status\": \"KILLED\", \"end_time\": 9}");
    cr_assert_eq(gy__mlflow_parse_run_update(&m, &u), GY_OK);
    cr_assert_eq(u.status, GY_RUN_KILLED);
    cr_assert_eq(u.set_end_time, 1);
    cr_assert_eq(u.end_time_ms, 9);
    m = body("{\"status\": 3}");
    cr_assert_eq(gy__mlflow_parse_run_update(&m, &u), GY_OK);
    cr_assert_eq(u.status, GY_RUN_FINISHED);
    cr_assert_eq(u.set_end_time, 0);
    m = body("{\"status\": \"done\"}");
    assert_invalid(gy__mlflow_parse_run_update(&m, &u), "'status'");
    m = body("{\"status\": 6}");
    assert_invalid(gy__mlflow_parse_run_update(&m, &u), "'status'");
}

Test(mlflow_parse, log_metric)
{
    struct gy__mlflow_msg m = body("{\"key\": \"loss\", \"value\": 0.5, \"timestamp\": 7}");
    struct gy_tracking_metric x;
    cr_assert_eq(gy__mlflow_parse_metric(&m, &x), GY_OK);
    cr_assert_str_eq(x.key, "loss");
    cr_assert_eq(x.value, 0.5);
    cr_assert_eq(x.timestamp_ms, 7);
    cr_assert_eq(x.step, 0, "step defaults to 0");
    m = body("{\"key\": \"loss\", \"value\": 0.5}");
    assert_invalid(gy__mlflow_parse_metric(&m, &x), "'timestamp'");
    m = body("{\"key\": \"loss\", \"timestamp\": 1}");
    assert_invalid(gy__mlflow_parse_metric(&m, &x), "'value'");
    m = body("{\"value\": 1, \"timestamp\": 1}");
    assert_invalid(gy__mlflow_parse_metric(&m, &x), "'key'");
}

/* A log-batch body with @p nm metrics, @p np params and @p nt tags. */
static char *batch_text(size_t nm, size_t np, size_t nt)
{
    struct gy_buf b;
    gy_buf_init(&b, 1 << 24);
    gy_buf_puts(&b, "{\"run_id\": \"r\", \"metrics\": [");
    for (size_t i = 0; i < nm; i++)
        gy_buf_printf(&b, "%s{\"key\": \"m\", \"value\": %zu, \"timestamp\": 1, \"step\": %zu}",
                      i ? "," : "", i, i);
    gy_buf_puts(&b, "], \"params\": [");
    for (size_t i = 0; i < np; i++)
        gy_buf_printf(&b, "%s{\"key\": \"p%zu\", \"value\": \"v\"}", i ? "," : "", i);
    gy_buf_puts(&b, "], \"tags\": [");
    for (size_t i = 0; i < nt; i++)
        gy_buf_printf(&b, "%s{\"key\": \"t%zu\", \"value\": \"v\"}", i ? "," : "", i);
    gy_buf_puts(&b, "]}");
    return gy_buf_detach(&b, NULL);
}

Test(mlflow_parse, log_batch_limits)
{
    struct gy__mlflow_batch b;
    struct {
        size_t nm, np, nt;
        const char *msg;
    } cases[] = {
        {1001, 0, 0, "at most 1000 metrics. Got 1001 metrics."},
        {0, 101, 0, "at most 100 params. Got 101 params."},
        {0, 0, 101, "at most 100 tags. Got 101 tags."},
        {950, 51, 0, "at most 1000 total entities"},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(cases); i++) {
        char *text = batch_text(cases[i].nm, cases[i].np, cases[i].nt);
        struct gy__mlflow_msg m = body(text);
        assert_invalid(gy__mlflow_parse_log_batch(&m, &b), cases[i].msg);
        gy_free(text);
    }
    {
        char *text = batch_text(1000, 0, 0);
        struct gy__mlflow_msg m = body(text);
        cr_assert_eq(gy__mlflow_parse_log_batch(&m, &b), GY_OK, "%s", gy_error_msg());
        cr_assert_eq(b.nmetrics, 1000);
        cr_assert_eq(b.metrics[999].step, 999);
        cr_assert_eq(b.metrics[999].value, 999.0);
        gy_free(text);
    }
    {
        struct gy__mlflow_msg m = body("{\"params\": [{\"key\": \"a\", \"value\": \"1\"}], "
                                       "\"tags\": [{\"key\": \"t\"}]}");
        cr_assert_eq(gy__mlflow_parse_log_batch(&m, &b), GY_OK);
        cr_assert_eq(b.nmetrics, 0);
        cr_assert_eq(b.nparams, 1);
        cr_assert_eq(b.ntags, 1);
        cr_assert_str_eq(b.tags[0].value, "");
    }
    {
        struct gy__mlflow_msg m = body("{\"metrics\": [{\"key\": \"a\", \"value\": 1, "
                                       "\"timestamp\": 1}, {\"key\": \"b\", \"timestamp\": 1}]}");
        assert_invalid(gy__mlflow_parse_log_batch(&m, &b), "metrics[1]: Missing value for "
                                                           "required parameter 'value'");
    }
    {
        struct gy__mlflow_msg m = body("{\"metrics\": [5]}");
        assert_invalid(gy__mlflow_parse_log_batch(&m, &b), "'metrics[0]'");
    }
    {
        struct gy__mlflow_msg m = body("{\"metrics\": {}}");
        assert_invalid(gy__mlflow_parse_log_batch(&m, &b), "'metrics'");
    }
}

Test(mlflow_parse, log_inputs)
{
    struct gy__mlflow_msg m = body(
        "{\"datasets\": [{\"tags\": [{\"key\": \"mlflow.data.context\", \"value\": \"training\"}], "
        "\"dataset\": {\"name\": \"tx\", \"digest\": \"d1\", \"source_type\": \"gyre\", "
        "\"source\": \"tx@1\", \"schema\": \"{}\"}}], \"models\": [{\"model_id\": \"m\"}]}");
    struct gy_tracking_dataset_input *in;
    size_t n;
    cr_assert_eq(gy__mlflow_parse_log_inputs(&m, &in, &n), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(n, 1);
    cr_assert_str_eq(in[0].name, "tx");
    cr_assert_str_eq(in[0].digest, "d1");
    cr_assert_str_eq(in[0].source, "tx@1");
    cr_assert_str_eq(in[0].schema, "{}");
    cr_assert_null(in[0].profile);
    cr_assert_eq(in[0].ntags, 1);
    cr_assert_str_eq(in[0].tags[0].value, "training");
    m = body("{\"datasets\": [{\"dataset\": {\"name\": \"tx\", \"source_type\": \"s\", "
             "\"source\": \"x\"}}]}");
    assert_invalid(gy__mlflow_parse_log_inputs(&m, &in, &n), "'digest'");
    m = body("{\"datasets\": [{\"tags\": []}]}");
    assert_invalid(gy__mlflow_parse_log_inputs(&m, &in, &n), "'datasets[0].dataset'");
    m = body("{}");
    cr_assert_eq(gy__mlflow_parse_log_inputs(&m, &in, &n), GY_OK);
    cr_assert_eq(n, 0);
}

Test(mlflow_parse, version_create)
{
    struct gy__mlflow_msg m = body("{\"name\": \"fraud\", \"source\": \"runs:/abc/model\", "
                                   "\"run_id\": \"\", \"tags\": [{\"key\": \"k\", \"value\": "
                                   "\"v\"}], \"description\": \"d\"}");
    struct gy_registry_version_create vc;
    cr_assert_eq(gy__mlflow_parse_version_create(&m, &vc), GY_OK, "%s", gy_error_msg());
    cr_assert_str_eq(vc.name, "fraud");
    cr_assert_str_eq(vc.source, "runs:/abc/model");
    cr_assert_null(vc.run_id, "an empty run_id is no run");
    cr_assert_str_eq(vc.description, "d");
    cr_assert_eq(vc.ntags, 1);
    cr_assert_str_eq(vc.tags[0].key, "k");
    cr_assert_str_eq(vc.tags[0].value, "v");
    m = body("{\"name\": \"fraud\"}");
    assert_invalid(gy__mlflow_parse_version_create(&m, &vc), "'source'");
    m = body("{\"source\": \"x\"}");
    assert_invalid(gy__mlflow_parse_version_create(&m, &vc), "'name'");
}

/* ------------------------------------------------------------------ proxy paths */

#define RUN "0123456789abcdef0123456789abcdef"

Test(mlflow_proxy_path, good_paths)
{
    char run[GY_TRACKING_RUN_ID_LEN + 1];
    const char *rel;
    int64_t exp = -1;
    const char *p = "12/" RUN "/artifacts/model/w.bin";
    cr_assert_eq(gy__mlflow_proxy_path(p, p, &exp, run, &rel), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(exp, 12);
    cr_assert_str_eq(run, RUN);
    cr_assert_str_eq(rel, "model/w.bin");
    p = "0/" RUN "/artifacts";
    cr_assert_eq(gy__mlflow_proxy_path(NULL, p, &exp, run, &rel), GY_OK);
    cr_assert_str_eq(rel, "");
    cr_assert_eq(gy__mlflow_proxy_path("0/" RUN "/artifacts/a%20b", "0/" RUN "/artifacts/a b", &exp,
                                       run, &rel),
                 GY_OK, "an ordinary escape is fine");
    cr_assert_str_eq(rel, "a b");
    cr_assert_eq(
        gy__mlflow_proxy_path(NULL, "0/" RUN "/artifacts/\xc3\xa9t\xc3\xa9", &exp, run, &rel),
        GY_OK, "UTF-8 names are fine");
}

Test(mlflow_proxy_path, traversal_tricks)
{
    /* raw (as sent; NULL for a query value) and decoded, as the HTTP layer hands them over */
    static const struct {
        const char *raw, *decoded, *why;
    } bad[] = {
        {"1/" RUN "/artifacts/../../etc/passwd", "1/" RUN "/artifacts/../../etc/passwd", "'..'"},
        {"1/" RUN "/artifacts/%2e%2e/x", "1/" RUN "/artifacts/../x", "'..'"},
        {"1/" RUN "/artifacts/.%2E/x", "1/" RUN "/artifacts/../x", "'..'"},
        {"1/" RUN "/artifacts/./x", "1/" RUN "/artifacts/./x", "'.'"},
        {"1/" RUN "/artifacts/%252e%252e/x", "1/" RUN "/artifacts/%2e%2e/x", "double encoding"},
        {NULL, "1/" RUN "/artifacts/%2e%2e/x", "double encoding"},
        {"1/" RUN "/artifacts/..%2f..%2fetc", "1/" RUN "/artifacts/../../etc", "encoded '/'"},
        {NULL, "1/" RUN "/artifacts/../../etc", "'..'"},
        {"1/" RUN "/artifacts/..\\x", "1/" RUN "/artifacts/..\\x", "backslash"},
        {"1/" RUN "/artifacts/..%5Cx", "1/" RUN "/artifacts/..\\x", "backslash"},
        {NULL, "1/" RUN "/artifacts/a\\b", "backslash"},
        {"1/" RUN "/artifacts/a;x/../..", "1/" RUN "/artifacts/a;x/../..", "';'"},
        {NULL, "1/" RUN "/artifacts/a;b", "';'"},
        {"1/" RUN "/artifacts/a%23/..", "1/" RUN "/artifacts/a#/..", "'#'"},
        {NULL, "1/" RUN "/artifacts/a#b", "'#'"},
        {NULL, "1/" RUN "/artifacts/a?b", "'?'"},
        {"/etc/passwd", "/etc/passwd", "absolute"},
        {NULL, "1/" RUN "/artifacts//etc/passwd", "empty segment"},
        {NULL, "1/" RUN "/artifacts/\xc0\xae\xc0\xae/x", "UTF-8"},
        {NULL, "1/" RUN "/artifacts/a\nb", "control character"},
        {NULL, "C:/x", "drive letter"},
        {NULL, "", "Missing"},
        {NULL, NULL, "Missing"},
        /* shapes */
        {NULL, "x/" RUN "/artifacts/a", "expected <experiment_id>"},
        {NULL, "-1/" RUN "/artifacts/a", "expected <experiment_id>"},
        {NULL, "1/0123/artifacts/a", "expected <experiment_id>"},
        {NULL, "1/0123456789ABCDEF0123456789ABCDEF/artifacts/a", "expected <experiment_id>"},
        {NULL, "1/" RUN "/files/a", "expected <experiment_id>"},
        {NULL, "1/" RUN "/artifactsX/a", "expected <experiment_id>"},
        {NULL, "1/" RUN, "expected <experiment_id>"},
        {NULL, "1", "expected <experiment_id>"},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++) {
        char run[GY_TRACKING_RUN_ID_LEN + 1];
        const char *rel = "unset";
        int64_t exp = 0;
        enum gy_status rc = gy__mlflow_proxy_path(bad[i].raw, bad[i].decoded, &exp, run, &rel);
        cr_assert_eq(rc, GY_E_INVALID, "case %zu (%s) passed", i, bad[i].decoded);
        cr_assert(strstr(gy_error_msg(), bad[i].why), "case %zu: \"%s\" lacks \"%s\"", i,
                  gy_error_msg(), bad[i].why);
        cr_assert_null(rel, "case %zu: no relative path on error", i);
    }
}

/* ------------------------------------------------------------------ errors */

Test(mlflow_errors, status_table)
{
    static const struct {
        enum gy_status s;
        const char *code;
        int http;
    } t[] = {
        {GY_NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", 404},
        {GY_E_EXISTS, "RESOURCE_ALREADY_EXISTS", 400},
        {GY_E_INVALID, "INVALID_PARAMETER_VALUE", 400},
        {GY_E_TOO_LARGE, "INVALID_PARAMETER_VALUE", 400},
        {GY_E_SCHEMA, "INVALID_PARAMETER_VALUE", 400},
        {GY_E_UNSUPPORTED, "INVALID_PARAMETER_VALUE", 400},
        {GY_E_CONFLICT, "RESOURCE_CONFLICT", 409},
        {GY_E_PERM, "PERMISSION_DENIED", 403},
        {GY_E_BUSY, "TEMPORARILY_UNAVAILABLE", 503},
        {GY_AGAIN, "TEMPORARILY_UNAVAILABLE", 503},
        {GY_E_DB, "INTERNAL_ERROR", 500},
        {GY_E_IO, "INTERNAL_ERROR", 500},
        {GY_E_NOMEM, "INTERNAL_ERROR", 500},
        {GY_E_CORRUPT, "INTERNAL_ERROR", 500},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(t); i++) {
        int http = 0;
        cr_assert_str_eq(gy__mlflow_error_code(t[i].s, &http), t[i].code, "status %d", t[i].s);
        cr_assert_eq(http, t[i].http, "status %d", t[i].s);
    }
}
