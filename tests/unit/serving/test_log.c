/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - the prediction log (src/serving/log.c) through a live serving state: every
 * request of a deployment with log_sample 1 lands in the lake dataset "predlog-<deployment>"
 * with its id, variant, version, inputs and outputs (one row per inferred row); a full queue
 * drops and counts records and loses none below its bound; gy_serving_free writes what is
 * queued; the record-count and timer triggers flush while serving; log_sample 0 logs nothing.
 */
#include "fixture.h"

#include "lake/lake.h"

static void deploy_sampled(struct gy_db *db, const char *name, const char *route, double sample)
{
    struct gy_deploy_spec *s = gy_calloc(1, sizeof *s);
    s->name = gy_strdup(name);
    s->routes = gy_calloc(1, sizeof *s->routes);
    s->n_routes = 1;
    s->log_sample = sample;
    OK(gy_deploy_route_parse(route, &s->routes[0]));
    OK(gy_deploy_create(db, s, NULL, NULL));
    gy_deploy_spec_free(s);
}

static struct gy_serving *serving_log(const struct fx *f, size_t queue, size_t flush_records,
                                      unsigned flush_ms)
{
    struct gy_serving_config cfg;
    struct gy_serving *s = NULL;
    gy_log_set_level(GY_LOG_WARN);
    gy_serving_config_init(&cfg);
    cfg.home = f->home;
    cfg.db_url = f->pg ? f->url : NULL;
    cfg.predlog_queue = queue;
    cfg.predlog_flush_records = flush_records;
    cfg.predlog_flush_ms = flush_ms;
    OK(gy_serving_create(&cfg, &s));
    OK(gy_serving_start(s));
    return s;
}

/* One request of @p n rows of 3 floats with id @p id; outputs to @p out. */
static void infer_id(struct gy_serving *s, const char *name, const char *id, const float *x,
                     uint64_t n, float *out)
{
    struct gy_serving_target *t = NULL;
    struct gy_arena *a = gy_arena_create(4096);
    struct gy_tensor in = sx_tensor("input", x, n, 3);
    struct gy_serving_call call;
    OK(gy_serving_acquire(s, name, NULL, &t));
    memset(&call, 0, sizeof call);
    call.inputs = &in;
    call.n_inputs = 1;
    call.arena = a;
    call.request_id = id;
    OK(gy_serving_infer(t, &call));
    memcpy(out, call.outputs, n * sizeof(float));
    gy_serving_release(t);
    gy_arena_free(a);
}

/* The rows of the latest version of @p ds (0 when there is none). */
static uint64_t ds_rows(struct gy_db *db, const char *ds)
{
    json_t *m = NULL;
    uint64_t n;
    enum gy_status rc = gy_lake_version_get(db, ds, 0, &m);
    if (rc == GY_NOT_FOUND)
        return 0;
    OK(rc);
    n = (uint64_t)gy_json_int(m, "rows", -1);
    json_decref(m);
    return n;
}

static const float XS[3 * 30] = {
    0.1f, 0,  0, 1,    -2, 5,    1,    0.5f,  2.9f, 0.3f, -1.5f, 2,    0.7f, 1,  4,
    0.2f, -3, 1, 0.9f, 0,  3.5f, 0.4f, -0.5f, 1,    0.6f, 2,     2.5f, 0.8f, -2, 3,
    0.1f, 0,  0, 1,    -2, 5,    1,    0.5f,  2.9f, 0.3f, -1.5f, 2,    0.7f, 1,  4,
    0.2f, -3, 1, 0.9f, 0,  3.5f, 0.4f, -0.5f, 1,    0.6f, 2,     2.5f, 0.8f, -2, 3,
    0.1f, 0,  0, 1,    -2, 5,    1,    0.5f,  2.9f, 0.3f, -1.5f, 2,    0.7f, 1,  4,
    0.2f, -3, 1, 0.9f, 0,  3.5f, 0.4f, -0.5f, 1,    0.6f, 2,     2.5f, 0.8f, -2, 3,
};

DB_TEST(predlog_every_request_logged)
{
    static const char *const want_cols[] = {
        "request_id", "time", "deployment", "variant", "model_version",
        "latency_us", "x0",   "x1",         "x2",      "output_0"};
    struct gy_serving *s;
    struct gy_serving_totals tot;
    struct gy_lake_scan *sc = NULL;
    const struct gy_schema *sch;
    const struct gy_colvec *cv;
    float out[22];
    size_t nrows, seen = 0;
    int64_t t0 = gy_time_wall_us();
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    deploy_sampled(f->db, "dep", "fraud@2", 1.0);
    s = serving_log(f, 1000, 100000, 3600000);
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        infer_id(s, "dep", id, XS + 3 * i, 1, out + i);
    }
    infer_id(s, "dep", "multi", XS + 60, 2, out + 20);
    gy_serving_totals(s, &tot);
    cr_assert_eq(tot.predlog_records, 21);
    cr_assert_eq(tot.predlog_dropped, 0);
    cr_assert_eq(ds_rows(f->db, "predlog-dep"), 0, "nothing is written before a flush");
    gy_serving_free(s);

    OK(gy_lake_scan_open(f->db, "predlog-dep", 0, NULL, 0, &sc));
    sch = gy_lake_scan_schema(sc);
    cr_assert_eq(sch->ncols, 10);
    for (size_t c = 0; c < 10; c++)
        cr_assert_str_eq(sch->cols[c].name, want_cols[c]);
    cr_assert_eq(sch->cols[1].type, GY_TYPE_TIMESTAMP);
    cr_assert_eq(sch->cols[4].type, GY_TYPE_INT64);
    cr_assert_eq(sch->cols[6].type, GY_TYPE_FLOAT64);
    cr_assert_eq(gy_lake_scan_rows(sc), 22);
    for (;;) {
        OK(gy_lake_scan_next(sc, &cv, &nrows));
        if (!nrows)
            break;
        for (size_t r = 0; r < nrows; r++, seen++) {
            char want[16];
            const char *id = cv[0].data + cv[0].off[r];
            size_t idlen = cv[0].off[r + 1] - cv[0].off[r];
            if (seen < 20)
                snprintf(want, sizeof want, "r%zu", seen);
            else
                snprintf(want, sizeof want, "multi#%zu", seen - 20);
            cr_assert(idlen == strlen(want) && memcmp(id, want, idlen) == 0, "row %zu: id %.*s",
                      seen, (int)idlen, id);
            cr_assert(cv[1].i64[r] >= t0 && cv[1].i64[r] <= gy_time_wall_us());
            cr_assert_eq(cv[2].off[r + 1] - cv[2].off[r], 3);
            cr_assert(memcmp(cv[2].data + cv[2].off[r], "dep", 3) == 0);
            cr_assert(memcmp(cv[3].data + cv[3].off[r], "fraud@2", 7) == 0);
            cr_assert_eq(cv[4].i64[r], 2);
            cr_assert(cv[5].valid[r] && cv[5].f64[r] > 0);
            for (int k = 0; k < 3; k++)
                cr_assert_eq(cv[6 + k].f64[r], (double)XS[3 * seen + (size_t)k], "row %zu x%d",
                             seen, k);
            cr_assert_eq(cv[9].f64[r], (double)out[seen], "row %zu output", seen);
        }
    }
    cr_assert_eq(seen, 22);
    gy_lake_scan_free(sc);
}

DB_TEST(predlog_full_queue_drops_and_counts)
{
    struct gy_serving *s;
    struct gy_serving_totals tot;
    float out[1];
    sx_register_shift(f->db, "fraud", 0, NULL);
    deploy_sampled(f->db, "dep", "fraud@1", 1.0);
    s = serving_log(f, 10, 100000, 3600000);
    for (int i = 0; i < 25; i++)
        infer_id(s, "dep", "r", XS + 3 * i, 1, out);
    gy_serving_totals(s, &tot);
    cr_assert_eq(tot.predlog_records, 10);
    cr_assert_eq(tot.predlog_dropped, 15);
    gy_serving_free(s);
    cr_assert_eq(ds_rows(f->db, "predlog-dep"), 10, "every record below the bound is written");
}

DB_TEST(predlog_flushes_by_count_and_by_time_while_serving)
{
    struct gy_serving *s;
    float out[1];
    int waited = 0;
    sx_register_shift(f->db, "fraud", 0, NULL);
    deploy_sampled(f->db, "bycount", "fraud@1", 1.0);
    deploy_sampled(f->db, "bytime", "fraud@1", 1.0);
    /* Count trigger: 4 records; the timer (1 h) never fires during the test. */
    s = serving_log(f, 100, 4, 3600000);
    /* Two rounds of exactly 4: the second round starts only once the first has landed, so no
     * flush can take a record of the next round and leave fewer than 4 waiting for the timer. */
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < 4; i++)
            infer_id(s, "bycount", "r", XS + 3 * (4 * (round - 1) + i), 1, out);
        waited = 0;
        while (ds_rows(f->db, "predlog-bycount") < (uint64_t)(4 * round) &&
               waited++ < 6000) /* up to 60 s: a flush is a lake ingest, slow under ASan */
            usleep(10000);
        cr_assert_eq(ds_rows(f->db, "predlog-bycount"), (uint64_t)(4 * round),
                     "round %d flushed while serving", round);
    }
    gy_serving_free(s);
    cr_assert_eq(ds_rows(f->db, "predlog-bycount"), 8);
    /* Timer trigger: 50 ms; the count (1000) is never reached. */
    s = serving_log(f, 100, 1000, 50);
    for (int i = 0; i < 3; i++)
        infer_id(s, "bytime", "r", XS + 3 * i, 1, out);
    waited = 0;
    while (ds_rows(f->db, "predlog-bytime") < 3 &&
           waited++ < 6000) /* up to 60 s: a flush is a lake ingest, slow under ASan */
        usleep(10000);
    cr_assert_eq(ds_rows(f->db, "predlog-bytime"), 3, "flushed by the timer while serving");
    infer_id(s, "bytime", "r", XS, 1, out);
    gy_serving_free(s);
    cr_assert_eq(ds_rows(f->db, "predlog-bytime"), 4, "appended as a new version");
}

DB_TEST(predlog_sample_zero_logs_nothing)
{
    struct gy_serving *s;
    struct gy_serving_totals tot;
    float out[1];
    json_t *m = NULL;
    sx_register_shift(f->db, "fraud", 0, NULL);
    deploy_sampled(f->db, "quiet", "fraud@1", 0);
    s = serving_log(f, 100, 1, 10);
    for (int i = 0; i < 5; i++)
        infer_id(s, "quiet", "r", XS + 3 * i, 1, out);
    infer_id(s, "fraud", "r", XS, 1, out); /* implicit endpoints are not logged */
    gy_serving_totals(s, &tot);
    cr_assert_eq(tot.predlog_records, 0);
    gy_serving_free(s);
    cr_assert_eq(gy_lake_version_get(f->db, "predlog-quiet", 0, &m), GY_NOT_FOUND);
    cr_assert_eq(gy_lake_version_get(f->db, "predlog-fraud", 0, &m), GY_NOT_FOUND);
}

Test(predlog, spec_defaults_to_logging_every_request)
{
    json_t *j = json_loads("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}]}", 0, NULL);
    struct gy_deploy_spec *s = NULL;
    cr_assert_not_null(j);
    OK(gy_deploy_spec_from_json(j, &s));
    cr_assert_eq(s->log_sample, 1.0);
    gy_deploy_spec_free(s);
    json_decref(j);
}

/* ------------------------------------------------------------------ feedback */

static json_t *items_of(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    return j;
}

static void put_bad(struct gy_db *db, const char *dep, const char *items, const char *needle)
{
    json_t *j = items_of(items);
    size_t n = 99;
    cr_assert_eq(gy_feedback_put(db, dep, j, &n), GY_E_INVALID, "%s accepted", items);
    cr_assert_eq(n, 0);
    cr_assert(strstr(gy_error_msg(), needle), "\"%s\" lacks \"%s\"", gy_error_msg(), needle);
    json_decref(j);
}

struct gauge_seen {
    int auc;
    double auc_v;
};

static void gauge_fn(const char *dep, int64_t version, const char *metric, double v, void *ctx)
{
    struct gauge_seen *g = ctx;
    if (strcmp(dep, "fbk") == 0 && version == 1 && strcmp(metric, "auc") == 0) {
        g->auc++;
        g->auc_v = v;
    }
}

DB_TEST(feedback_joined_to_the_log)
{
    struct gy_serving *s;
    float out[4];
    json_t *j, *m = NULL, *v;
    size_t n = 0;
    double y[3] = {1, 0, 1}, p[3], se = 0, ae = 0, want_auc;
    int correct = 0;
    struct gauge_seen g = {0, 0};
    sx_register_shift(f->db, "fraud", 0, NULL);
    deploy_sampled(f->db, "fbk", "fraud@1", 1.0);
    s = serving_log(f, 100, 1000, 3600000);
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "r%d", i);
        infer_id(s, "fbk", id, XS + 3 * (i + 1), 1, out + i);
    }
    gy_serving_free(s);

    put_bad(f->db, "fbk", "[{\"request_id\":\"r0\",\"label\":\"x\"}]", "items[0]: \"label\"");
    put_bad(f->db, "fbk", "[{\"request_id\":\"r0\",\"label\":1},{\"request_id\":\"r1\"}]",
            "items[1]: give a \"label\"");
    put_bad(f->db, "fbk", "[{\"request_id\":\"\",\"label\":1}]", "request_id");
    put_bad(f->db, "fbk", "[{\"request_id\":\"r0\",\"label\":1,\"extra\":2}]", "unknown key");
    put_bad(f->db, "fbk", "[]", "1 to");
    put_bad(f->db, "no such/name", "[{\"request_id\":\"r0\",\"label\":1}]", "deployment");
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM feedback"), 0, "nothing stored on errors");

    j = items_of("[{\"request_id\":\"r0\",\"label\":1},{\"request_id\":\"r1\",\"label\":1},"
                 "{\"request_id\":\"r3\",\"value\":10},{\"request_id\":\"ghost\",\"label\":1}]");
    OK(gy_feedback_put(f->db, "fbk", j, &n));
    cr_assert_eq(n, 4);
    json_decref(j);
    j = items_of("[{\"request_id\":\"r1\",\"label\":false},"
                 "{\"request_id\":\"r2\",\"label\":true,\"value\":2.5}]");
    OK(gy_feedback_put(f->db, "fbk", j, &n));
    json_decref(j);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM feedback"), 5, "r1 was replaced");

    OK(gy_feedback_metrics(f->db, "fbk", 0, &m));
    cr_assert_eq(gy_json_int(m, "feedback", 0), 5);
    cr_assert_eq(gy_json_int(m, "matched", 0), 4);
    cr_assert_eq(gy_json_int(m, "unmatched", 0), 1);
    cr_assert_eq(gy_json_int(m, "logged", 0), 4);
    cr_assert_eq(json_array_size(json_object_get(m, "versions")), 1);
    v = json_array_get(json_object_get(m, "versions"), 0);
    cr_assert_eq(gy_json_int(v, "version", 0), 1);
    cr_assert_eq(gy_json_int(v, "labeled", 0), 3);
    cr_assert_eq(gy_json_int(v, "valued", 0), 2);
    for (int i = 0; i < 3; i++) {
        p[i] = out[i];
        se += (p[i] - y[i]) * (p[i] - y[i]);
        ae += fabs(p[i] - y[i]);
        correct += (p[i] >= 0.5) == (y[i] == 1);
    }
    /* positives r0, r2 against the negative r1 */
    want_auc = ((p[0] > p[1]) + 0.5 * (p[0] == p[1]) + (p[2] > p[1]) + 0.5 * (p[2] == p[1])) / 2;
    cr_assert_float_eq(gy_json_num(v, "rmse", -1), sqrt(se / 3), 1e-12);
    cr_assert_float_eq(gy_json_num(v, "mae", -1), ae / 3, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "accuracy", -1), correct / 3.0, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "auc", -1), want_auc, 1e-12);
    cr_assert(gy_json_num(v, "logloss", -1) > 0);
    cr_assert_float_eq(gy_json_num(v, "value_sum", -1), 12.5, 1e-12);
    cr_assert_float_eq(gy_json_num(v, "value_mean", -1), 6.25, 1e-12);
    json_decref(m);

    gy_feedback_gauges(gauge_fn, &g);
    cr_assert_eq(g.auc, 1, "the AUC gauge of fbk version 1");
    cr_assert_float_eq(g.auc_v, want_auc, 1e-12);
    gy_feedback_gauges_reset();
    g.auc = 0;
    gy_feedback_gauges(gauge_fn, &g);
    cr_assert_eq(g.auc, 0, "reset forgets the results");

    /* A window that starts after every report holds no feedback. */
    OK(gy_feedback_metrics(f->db, "fbk", gy_time_wall_us() + 1000000, &m));
    cr_assert_eq(gy_json_int(m, "feedback", -1), 0);
    cr_assert_eq(json_array_size(json_object_get(m, "versions")), 0);
    json_decref(m);
}

/* A flush of many records of one model: the log schema is the union of the models' inputs,
 * counted once per model, not once per record (1500 records x 3 inputs > the column limit). */
DB_TEST(predlog_large_flush_of_one_model)
{
    struct gy_serving *s;
    struct gy_serving_totals tot;
    float out[1];
    sx_register_shift(f->db, "fraud", 0, NULL);
    deploy_sampled(f->db, "dep", "fraud@1", 1.0);
    s = serving_log(f, 100000, 100000, 3600000);
    for (int i = 0; i < 1500; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        infer_id(s, "dep", id, XS, 1, out);
    }
    gy_serving_totals(s, &tot);
    cr_assert_eq(tot.predlog_records, 1500);
    gy_serving_free(s);
    cr_assert_eq(ds_rows(f->db, "predlog-dep"), 1500, "every record is written in one flush");
}
