/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.c - allocation-failure injection: every allocation of a representative set of
 * tracking calls (run get, log-batch, search, artifacts, experiment search) is failed in turn;
 * each call must then fail cleanly (no crash, no leak) or succeed, and the store must stay
 * consistent: a failed log-batch wrote nothing. SQLite only (the code paths above the store
 * are the same for both backends).
 */
#include "../store_fixture.h"

#include <math.h>

/* Calls @p fn with the Nth allocation failing, for N = 1, 2, ... until a call succeeds. */
static void torture(const char *what, enum gy_status (*fn)(struct gy_db *, const char *),
                    struct gy_db *db, const char *run)
{
    int ok = 0, fails = 0;
    for (int64_t n = 1; n < 20000 && !ok; n++) {
        int64_t before = gy_alloc_bytes();
        enum gy_status rc;
        gy_alloc_fail_after(n);
        rc = fn(db, run);
        gy_alloc_fail_after(0);
        cr_assert(rc == GY_OK || rc == GY_E_NOMEM || rc == GY_E_DB,
                  "%s with allocation %lld failing: %s (%s)", what, (long long)n, gy_status_str(rc),
                  gy_error_msg());
        cr_assert_eq(gy_alloc_bytes(), before, "%s leaked with allocation %lld failing", what,
                     (long long)n);
        ok = rc == GY_OK;
        fails += !ok;
    }
    cr_assert(ok, "%s never succeeded", what);
    cr_assert_gt(fails, 3, "%s: the injection did not reach it", what);
    cr_log_info("%s: survived %d failing allocations", what, fails);
}

static enum gy_status do_get(struct gy_db *db, const char *run)
{
    json_t *r = NULL;
    enum gy_status rc = gy_tracking_run_get(db, run, &r);
    json_decref(r);
    return rc;
}

static enum gy_status do_batch(struct gy_db *db, const char *run)
{
    struct gy_tracking_metric m[3] = {{"a", 1, 1, 1}, {"b", NAN, 1, 1}, {"a", 2, 2, 2}};
    struct gy_tracking_tag p[1] = {{"p", "v"}}, t[2] = {{"t", "1"}, {"t", "2"}};
    return gy_tracking_log_batch(db, run, m, 3, p, 1, t, 2);
}

static enum gy_status do_search(struct gy_db *db, const char *run)
{
    const char *order[] = {"metrics.a DESC", "params.p"};
    struct gy_tracking_search s = {0};
    json_t *r = NULL;
    enum gy_status rc;
    GY_UNUSED(run);
    s.filter = "metrics.a > 0 AND params.p LIKE 'v%' AND tags.t ILIKE '2'";
    s.order_by = order;
    s.norder_by = 2;
    rc = gy_tracking_run_search(db, &s, &r);
    json_decref(r);
    return rc;
}

static enum gy_status do_artifacts(struct gy_db *db, const char *run)
{
    json_t *l = NULL;
    enum gy_status rc = gy_tracking_artifact_put(db, run, "dir/file.txt", "abc", 3);
    if (rc == GY_OK)
        rc = gy_tracking_artifact_list(db, run, "", &l);
    json_decref(l);
    return rc;
}

static enum gy_status do_exp_search(struct gy_db *db, const char *run)
{
    struct gy_tracking_search s = {0};
    json_t *r = NULL;
    enum gy_status rc;
    GY_UNUSED(run);
    s.filter = "name LIKE 'D%' AND tags.x != 'y'";
    rc = gy_tracking_experiment_search(db, &s, &r);
    json_decref(r);
    return rc;
}

static enum gy_status do_history(struct gy_db *db, const char *run)
{
    json_t *h = NULL;
    enum gy_status rc = gy_tracking_metric_history(db, run, "a", 1, NULL, &h);
    json_decref(h);
    return rc;
}

Test(alloc, tracking_calls_fail_cleanly, .init = fx_init_sqlite, .fini = fx_fini)
{
    struct gy_tracking_run_create c = {0};
    char run[33];
    json_t *r = NULL;
    OK(gy_tracking_experiment_tag_set(F.db, 0, "x", "z"));
    OK(gy_tracking_run_create(F.db, &c, run));
    torture("log_batch", do_batch, F.db, run);
    OK(gy_tracking_run_get(F.db, run, &r));
    cr_assert_eq(jlen(r, "data.metrics"), 2, "exactly one successful batch was written");
    cr_assert_eq(jlen(r, "data.params"), 1);
    json_decref(r);
    cr_assert_eq(fx_int(F.db, "SELECT COUNT(*) FROM run_metrics"), 3);
    torture("run_get", do_get, F.db, run);
    torture("run_search", do_search, F.db, run);
    torture("artifacts", do_artifacts, F.db, run);
    torture("experiment_search", do_exp_search, F.db, run);
    torture("metric_history", do_history, F.db, run);
}
