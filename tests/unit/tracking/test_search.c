/* SPDX-License-Identifier: MIT */
/*
 * test_search.c - runs/search on both backends against a fixed set of runs: every identifier
 * type and comparator, LIKE case-sensitive and ILIKE not, IN lists, dataset filters, view
 * types, experiment restriction, ordering (NaN and missing metrics last in both directions,
 * ties by start_time DESC then run_id), paging tokens, and the errors for misuse.
 */
#include "../store_fixture.h"

#include <math.h>

/* Run names r1..r6; their ids are kept to check IN lists. */
static char ids[7][33];
static int64_t exp_b;

static void mk(struct gy_db *db, int n, int64_t exp, int64_t start, const char *user)
{
    struct gy_tracking_run_create c = {0};
    char name[8];
    snprintf(name, sizeof name, "r%d", n);
    c.experiment_id = exp;
    c.run_name = name;
    c.start_time_ms = start;
    c.user_id = user;
    OK(gy_tracking_run_create(db, &c, ids[n]));
}

static void metric(struct gy_db *db, int n, const char *key, double v)
{
    struct gy_tracking_metric m = {key, v, 1, 0};
    OK(gy_tracking_metric_log(db, ids[n], &m));
}

/*
 * r1: rmse 0.5, model=LogisticRegression, tag team=Fraud, FINISHED, user ana
 * r2: rmse 0.2, model=xgboost, tag team=fraud, dataset iris/training
 * r3: rmse NaN, model=Logistic, tag user-name=Tomas
 * r4: no rmse, model=xgb
 * r5: rmse 0.9 in experiment B
 * r6: rmse 0.1, deleted
 */
static void seed(struct gy_db *db)
{
    struct gy_tracking_run_update u = {0};
    struct gy_tracking_tag ctx = {"mlflow.data.context", "training"};
    struct gy_tracking_dataset_input in = {"iris", "d1", "local", "iris.csv", NULL, NULL, &ctx, 1};
    OK(gy_tracking_experiment_create(db, "B", NULL, NULL, 0, &exp_b));
    mk(db, 1, 0, 1000, "ana");
    mk(db, 2, 0, 2000, "bo");
    mk(db, 3, 0, 3000, NULL);
    mk(db, 4, 0, 4000, NULL);
    mk(db, 5, exp_b, 5000, NULL);
    mk(db, 6, 0, 6000, NULL);
    metric(db, 1, "rmse", 0.5);
    metric(db, 2, "rmse", 0.2);
    metric(db, 3, "rmse", NAN);
    metric(db, 5, "rmse", 0.9);
    metric(db, 6, "rmse", 0.1);
    metric(db, 1, "acc", 0.7);
    OK(gy_tracking_param_log(db, ids[1], "model", "LogisticRegression"));
    OK(gy_tracking_param_log(db, ids[2], "model", "xgboost"));
    OK(gy_tracking_param_log(db, ids[3], "model", "Logistic"));
    OK(gy_tracking_param_log(db, ids[4], "model", "xgb"));
    OK(gy_tracking_run_tag_set(db, ids[1], "team", "Fraud"));
    OK(gy_tracking_run_tag_set(db, ids[2], "team", "fraud"));
    OK(gy_tracking_run_tag_set(db, ids[3], "user-name", "Tomas"));
    OK(gy_tracking_log_inputs(db, ids[2], &in, 1));
    u.status = GY_RUN_FINISHED;
    u.set_end_time = 1;
    u.end_time_ms = 1500;
    OK(gy_tracking_run_update(db, ids[1], &u, NULL));
    OK(gy_tracking_run_delete(db, ids[6]));
}

struct q {
    const char *filter;
    const char *order[3];
    enum gy_tracking_view view;
    int64_t max;
    const char *token;
    int all_experiments;
};

/* Runs the search and writes the run names in result order ("r2,r1") and the next token. */
static enum gy_status run_q(struct gy_db *db, const struct q *q, char *names, size_t cap,
                            char *token, size_t tcap)
{
    struct gy_tracking_search s = {0};
    int64_t exps[1] = {0};
    size_t norder = 0;
    json_t *res = NULL, *r;
    size_t i;
    enum gy_status rc;
    while (norder < 3 && q->order[norder])
        norder++;
    if (!q->all_experiments) {
        s.experiment_ids = exps;
        s.nexperiment_ids = 1;
    }
    s.filter = q->filter;
    s.order_by = q->order;
    s.norder_by = norder;
    s.view = q->view;
    s.max_results = q->max;
    s.page_token = q->token;
    rc = gy_tracking_run_search(db, &s, &res);
    names[0] = '\0';
    if (rc)
        return rc;
    json_array_foreach(json_object_get(res, "runs"), i, r)
    {
        if (i)
            strncat(names, ",", cap - strlen(names) - 1);
        strncat(names, jstr(r, "info.run_name"), cap - strlen(names) - 1);
    }
    if (token)
        snprintf(token, tcap, "%s", jstr(res, "next_page_token"));
    json_decref(res);
    return GY_OK;
}

static void expect(struct gy_db *db, const struct q *q, const char *want)
{
    char names[256];
    OK(run_q(db, q, names, sizeof names, NULL, 0));
    cr_assert_str_eq(names, want, "filter \"%s\" order \"%s\": got \"%s\", want \"%s\"",
                     q->filter ? q->filter : "", q->order[0] ? q->order[0] : "", names, want);
}

static void expect_bad(struct gy_db *db, const struct q *q, const char *needle)
{
    char names[256];
    enum gy_status rc = run_q(db, q, names, sizeof names, NULL, 0);
    cr_assert_eq(rc, GY_E_INVALID, "\"%s\" should be refused", q->filter ? q->filter : "");
    cr_assert(strstr(gy_error_msg(), needle), "\"%s\" lacks \"%s\"", gy_error_msg(), needle);
}

DB_TEST(search_filters)
{
    seed(f->db);
    /* Default order: start_time DESC; deleted r6 and r5 (other experiment) are left out. */
    expect(f->db, &(struct q){.max = 0}, "r4,r3,r2,r1");
    expect(f->db, &(struct q){.all_experiments = 1}, "r5,r4,r3,r2,r1");
    expect(f->db, &(struct q){.view = GY_TRACKING_VIEW_ALL}, "r6,r4,r3,r2,r1");
    expect(f->db, &(struct q){.view = GY_TRACKING_VIEW_DELETED_ONLY}, "r6");

    /* Metrics compare the latest value; NaN matches nothing, missing metrics never match. */
    expect(f->db, &(struct q){.filter = "metrics.rmse < 1"}, "r2,r1");
    expect(f->db, &(struct q){.filter = "metrics.rmse >= 0.5"}, "r1");
    expect(f->db, &(struct q){.filter = "metrics.rmse = 0.2"}, "r2");
    expect(f->db, &(struct q){.filter = "metrics.rmse != 0.2"}, "r1");
    expect(f->db, &(struct q){.filter = "metric.rmse > 0.1 and metrics.acc > 0.5"}, "r1");
    expect(f->db, &(struct q){.filter = "metrics.rmse <= -1"}, "");

    /* Params and tags: = and != are exact; LIKE is case-sensitive, ILIKE is not. */
    expect(f->db, &(struct q){.filter = "params.model = 'xgboost'"}, "r2");
    expect(f->db, &(struct q){.filter = "params.model != 'xgboost'"}, "r4,r3,r1");
    expect(f->db, &(struct q){.filter = "params.model LIKE 'Logistic%'"}, "r3,r1");
    expect(f->db, &(struct q){.filter = "params.model LIKE 'logistic%'"}, "");
    expect(f->db, &(struct q){.filter = "params.model ILIKE 'logistic%'"}, "r3,r1");
    expect(f->db, &(struct q){.filter = "params.model LIKE 'xg_'"}, "r4");
    expect(f->db, &(struct q){.filter = "params.model LIKE '%Regr%'"}, "r1");
    expect(f->db, &(struct q){.filter = "params.model = 'XGBOOST'"}, "");
    expect(f->db, &(struct q){.filter = "tags.team = 'fraud'"}, "r2");
    expect(f->db, &(struct q){.filter = "tags.team LIKE 'F%'"}, "r1");
    expect(f->db, &(struct q){.filter = "tags.team ILIKE 'F%'"}, "r2,r1");
    expect(f->db, &(struct q){.filter = "tags.\"user-name\" = 'Tomas'"}, "r3");
    expect(f->db, &(struct q){.filter = "tags.`user-name` ILIKE 'tom%'"}, "r3");
    expect(f->db, &(struct q){.filter = "tags.mlflow.runName = 'r2'"}, "r2");

    /* Attributes. */
    expect(f->db, &(struct q){.filter = "attributes.status = 'FINISHED'"}, "r1");
    expect(f->db, &(struct q){.filter = "status != 'FINISHED'"}, "r4,r3,r2");
    expect(f->db, &(struct q){.filter = "run_name LIKE 'r%' AND run_name != 'r3'"}, "r4,r2,r1");
    expect(f->db, &(struct q){.filter = "`Run name` = 'r3'"}, "r3");
    expect(f->db, &(struct q){.filter = "attributes.run_name ILIKE 'R1'"}, "r1");
    expect(f->db, &(struct q){.filter = "start_time > 1500 AND start_time <= 3000"}, "r3,r2");
    expect(f->db, &(struct q){.filter = "created < 2000"}, "r1");
    expect(f->db, &(struct q){.filter = "end_time = 1500"}, "r1");
    expect(f->db, &(struct q){.filter = "user_id = 'ana'"}, "r1");
    {
        char filter[200];
        snprintf(filter, sizeof filter, "run_id IN ('%s', '%s', 'nope')", ids[1], ids[3]);
        expect(f->db, &(struct q){.filter = filter}, "r3,r1");
        snprintf(filter, sizeof filter, "attributes.run_id NOT IN ('%s')", ids[1]);
        expect(f->db, &(struct q){.filter = filter}, "r4,r3,r2");
        snprintf(filter, sizeof filter, "run_id = '%s'", ids[4]);
        expect(f->db, &(struct q){.filter = filter}, "r4");
    }
    expect(f->db, &(struct q){.filter = "artifact_uri LIKE 'mlflow-artifacts:/0/%'"},
           "r4,r3,r2,r1");

    /* Dataset inputs. */
    expect(f->db, &(struct q){.filter = "datasets.name = 'iris'"}, "r2");
    expect(f->db, &(struct q){.filter = "datasets.context = 'training'"}, "r2");
    expect(f->db, &(struct q){.filter = "datasets.digest IN ('d1', 'd2')"}, "r2");
    expect(f->db, &(struct q){.filter = "datasets.name LIKE 'IRIS'"}, "");
    expect(f->db, &(struct q){.filter = "datasets.name ILIKE 'IRIS'"}, "r2");
}

DB_TEST(search_order_and_paging)
{
    char names[256], token[32];
    seed(f->db);
    /* Values first, then NaN, then runs without the metric, in both directions. */
    expect(f->db, &(struct q){.order = {"metrics.rmse"}}, "r2,r1,r3,r4");
    expect(f->db, &(struct q){.order = {"metrics.rmse DESC"}}, "r1,r2,r3,r4");
    expect(f->db, &(struct q){.filter = "metrics.rmse < 1", .order = {"metrics.rmse DESC"}},
           "r1,r2");
    expect(f->db,
           &(struct q){.filter = "metrics.rmse > 0", .order = {"metrics.rmse", "metrics.acc"}},
           "r2,r1");
    expect(f->db, &(struct q){.filter = "params.model LIKE '%o%'", .order = {"params.model DESC"}},
           "r2,r1,r3");
    expect(f->db, &(struct q){.filter = "metrics.acc > 0", .order = {"metrics.rmse DESC"}}, "r1");
    /* Params: missing last; text in byte order (upper case before lower case). */
    expect(f->db, &(struct q){.order = {"params.model"}}, "r3,r1,r4,r2");
    expect(f->db, &(struct q){.order = {"params.model DESC"}}, "r2,r4,r1,r3");
    expect(f->db, &(struct q){.order = {"tags.team", "run_name DESC"}}, "r1,r2,r4,r3");
    expect(f->db, &(struct q){.order = {"attributes.run_name"}}, "r1,r2,r3,r4");
    expect(f->db, &(struct q){.order = {"start_time ASC"}}, "r1,r2,r3,r4");
    expect(f->db, &(struct q){.order = {"end_time"}}, "r1,r4,r3,r2");
    expect(f->db, &(struct q){.order = {"status", "run_name"}}, "r1,r2,r3,r4");
    expect(f->db, &(struct q){.order = {"user_id DESC"}}, "r2,r1,r4,r3");

    /* Paging: 3 + 1; the token only while more runs follow. */
    OK(run_q(f->db, &(struct q){.order = {"run_name"}, .max = 3}, names, sizeof names, token,
             sizeof token));
    cr_assert_str_eq(names, "r1,r2,r3");
    cr_assert_str_eq(token, "3");
    OK(run_q(f->db, &(struct q){.order = {"run_name"}, .max = 3, .token = token}, names,
             sizeof names, token, sizeof token));
    cr_assert_str_eq(names, "r4");
    cr_assert_str_eq(token, "");
    OK(run_q(f->db, &(struct q){.order = {"run_name"}, .max = 4}, names, sizeof names, token,
             sizeof token));
    cr_assert_str_eq(token, "", "an exactly full last page has no token");
    OK(run_q(f->db, &(struct q){.token = "100"}, names, sizeof names, token, sizeof token));
    cr_assert_str_eq(names, "");
}

DB_TEST(search_results_carry_data)
{
    struct gy_tracking_search s = {0};
    json_t *res = NULL;
    char filter[64];
    seed(f->db);
    snprintf(filter, sizeof filter, "run_id = '%s'", ids[1]);
    s.filter = filter;
    OK(gy_tracking_run_search(f->db, &s, &res));
    cr_assert_eq(jlen(res, "runs"), 1);
    cr_assert_eq(jlen(res, "runs.0.data.metrics"), 2);
    cr_assert_str_eq(jstr(res, "runs.0.data.metrics.0.key"), "acc");
    cr_assert_str_eq(json_string_value(jkv(res, "runs.0.data.params", "model")),
                     "LogisticRegression");
    cr_assert_str_eq(json_string_value(jkv(res, "runs.0.data.tags", "team")), "Fraud");
    cr_assert_str_eq(jstr(res, "runs.0.info.status"), "FINISHED");
    cr_assert_null(jpath(res, "next_page_token"));
    json_decref(res);
    s.filter = "metrics.rmse > 100";
    OK(gy_tracking_run_search(f->db, &s, &res));
    cr_assert_eq(json_object_size(res), 0, "no runs: {}");
    json_decref(res);
}

DB_TEST(search_errors)
{
    seed(f->db);
    expect_bad(f->db, &(struct q){.filter = "metrics.rmse = 'a'"},
               "column 1: metric 'rmse' must be");
    expect_bad(f->db, &(struct q){.filter = "metrics.rmse LIKE 1"}, "takes =, !=");
    expect_bad(f->db, &(struct q){.filter = "params.x = 1"}, "must be a quoted string");
    expect_bad(f->db, &(struct q){.filter = "params.x > 'a'"}, "takes =, !=, LIKE or ILIKE");
    expect_bad(f->db, &(struct q){.filter = "tags.x IN ('a')"}, "takes =, !=, LIKE or ILIKE");
    expect_bad(f->db, &(struct q){.filter = "run_name IN ('a')"}, "run_id only");
    expect_bad(f->db, &(struct q){.filter = "params.a = 'b' AND foo = 'x'"},
               "column 20: invalid attribute");
    expect_bad(f->db, &(struct q){.filter = "start_time > 'x'"}, "compared with");
    expect_bad(f->db, &(struct q){.filter = "status = 1"}, "quoted string");
    expect_bad(f->db, &(struct q){.filter = "datasets.size = 'x'"}, "invalid dataset field");
    expect_bad(f->db, &(struct q){.filter = "datasets.name = 1"}, "quoted string");
    expect_bad(f->db, &(struct q){.filter = "experiment_id = 1"}, "invalid attribute");
    expect_bad(f->db, &(struct q){.filter = "metrics.rmse <"}, "column 15: expected");
    expect_bad(f->db, &(struct q){.order = {"bogus"}}, "invalid order_by key");
    expect_bad(f->db, &(struct q){.order = {"datasets.name"}}, "invalid order_by key");
    expect_bad(f->db, &(struct q){.order = {"metrics.rmse sideways"}}, "expected ASC, DESC");
    expect_bad(f->db, &(struct q){.max = GY_TRACKING_SEARCH_MAX + 1}, "at most 50000");
    expect_bad(f->db, &(struct q){.token = "-1"}, "page token");
    /* Values are bound, never spliced: quotes and SQL in values are just text. */
    expect(f->db, &(struct q){.filter = "params.model = 'x'' OR 1=1 --'"}, "");
    expect(f->db, &(struct q){.filter = "tags.\"a'; DROP TABLE runs; --\" = 'x'"}, "");
    expect(f->db, &(struct q){.max = 0}, "r4,r3,r2,r1");
}
