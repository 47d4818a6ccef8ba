/* SPDX-License-Identifier: MIT */
/*
 * tracking_bench.c - the tracking benchmarks of issue 3 on SQLite (the default store, WAL,
 * synchronous=FULL as shipped):
 *
 *   log_batch: 100,000 metric points into one run through 100 gy_tracking_log_batch calls of
 *              1,000 points each (10 keys x 100 steps per batch), one transaction per batch.
 *              Target: <= 2 s.
 *   search:    gy_tracking_run_search over 10,000 runs (each with metrics rmse and acc, two
 *              params and a tag) with filter "metrics.rmse < 0.5" and order_by
 *              "metrics.rmse DESC", timed with max_results 100 and the default 1000, the
 *              result JSON (info, latest metrics, params, tags) included. Target: <= 50 ms.
 *
 * The 10,000 runs are created with synchronous=OFF on the benchmark's own connection to keep
 * the setup short; the timed parts run with the shipped settings. Prints one JSON object per
 * measurement on stdout.
 *
 * Build (after `make build/libgyre.a`):
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Isrc -Iinclude bench/tracking_bench.c build/libgyre.a \
 *      $(pkg-config --libs jansson libzstd libsodium sqlite3 libpq libmicrohttpd yaml-0.1) \
 *      -lxgboost -lm -pthread -o build/tracking_bench
 * Usage: build/tracking_bench [HOME_DIR]   (default: a fresh directory under /tmp, removed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "db/db.h"
#include "tracking/tracking.h"

#define NRUNS 10000
#define NREPS 7

static int fail(const char *what, enum gy_status rc)
{
    fprintf(stderr, "tracking_bench: %s: %s: %s\n", what, gy_status_str(rc), gy_error_msg());
    return 1;
}

static double ms_since(int64_t t0)
{
    return (double)(gy_time_mono_ns() - t0) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_log_batch(struct gy_db *db)
{
    static const char *const keys[10] = {"loss",    "val_loss", "acc",       "val_acc", "auc",
                                         "logloss", "lr",       "grad_norm", "f1",      "recall"};
    struct gy_tracking_metric *m = gy_calloc(1000, sizeof *m);
    struct gy_tracking_run_create c = {0};
    char run[GY_TRACKING_RUN_ID_LEN + 1];
    enum gy_status rc;
    int64_t t0;
    double ms;
    json_t *h = NULL;
    if (!m)
        return fail("alloc", GY_E_NOMEM);
    c.run_name = "log-batch-bench";
    if ((rc = gy_tracking_run_create(db, &c, run)))
        return fail("run create", rc);
    t0 = gy_time_mono_ns();
    for (int b = 0; b < 100; b++) {
        for (int i = 0; i < 1000; i++) {
            int step = b * 100 + i / 10;
            m[i].key = keys[i % 10];
            m[i].value = 1.0 / (1 + step) + (i % 10) * 0.01;
            m[i].timestamp_ms = 1700000000000LL + step;
            m[i].step = step;
        }
        if ((rc = gy_tracking_log_batch(db, run, m, 1000, NULL, 0, NULL, 0)))
            return fail("log_batch", rc);
    }
    ms = ms_since(t0);
    if ((rc = gy_tracking_metric_history(db, run, "loss", 0, NULL, &h)))
        return fail("history", rc);
    printf("{\"bench\": \"tracking_log_batch\", \"points\": 100000, \"batches\": 100, "
           "\"seconds\": %.3f, \"points_per_second\": %.0f, \"history_loss_points\": %zu, "
           "\"target_seconds\": 2}\n",
           ms / 1e3, 100000 / (ms / 1e3), json_array_size(json_object_get(h, "metrics")));
    json_decref(h);
    gy_free(m);
    return 0;
}

static int seed_runs(struct gy_db *db)
{
    static const char *const models[4] = {"xgboost", "logistic", "linear", "LogisticRegression"};
    enum gy_status rc;
    int64_t t0 = gy_time_mono_ns();
    if ((rc = gy_db_exec(db, "PRAGMA synchronous=OFF", NULL, 0, NULL)))
        return fail("pragma", rc);
    for (int i = 0; i < NRUNS; i++) {
        struct gy_tracking_run_create c = {0};
        char run[GY_TRACKING_RUN_ID_LEN + 1], name[32], lr[32];
        uint64_t h = gy_mix64((uint64_t)i + 1);
        struct gy_tracking_metric m[2] = {
            {"rmse", (double)(h % 100000) / 100000.0, 1700000000000LL + i, 10},
            {"acc", (double)((h >> 20) % 1000) / 1000.0, 1700000000000LL + i, 10},
        };
        struct gy_tracking_tag p[2] = {{"model", models[h % 4]}, {"lr", lr}};
        struct gy_tracking_tag t[1] = {{"team", (h >> 40) % 2 ? "fraud" : "risk"}};
        snprintf(name, sizeof name, "run-%05d", i);
        snprintf(lr, sizeof lr, "%g", 0.001 * (double)(1 + h % 9));
        c.run_name = name;
        c.start_time_ms = 1700000000000LL + i * 1000LL;
        if ((rc = gy_tracking_run_create(db, &c, run)))
            return fail("seed run", rc);
        if ((rc = gy_tracking_log_batch(db, run, m, 2, p, 2, t, 1)))
            return fail("seed batch", rc);
    }
    if ((rc = gy_db_exec(db, "PRAGMA synchronous=FULL", NULL, 0, NULL)))
        return fail("pragma", rc);
    fprintf(stderr, "tracking_bench: seeded %d runs in %.1f s\n", NRUNS, ms_since(t0) / 1e3);
    return 0;
}

static int bench_search(struct gy_db *db, int64_t max_results)
{
    const char *order[] = {"metrics.rmse DESC"};
    struct gy_tracking_search s = {0};
    int64_t exps[1] = {0};
    double t[NREPS];
    size_t nruns = 0;
    enum gy_status rc;
    s.experiment_ids = exps;
    s.nexperiment_ids = 1;
    s.filter = "metrics.rmse < 0.5";
    s.order_by = order;
    s.norder_by = 1;
    s.max_results = max_results;
    for (int r = 0; r < NREPS; r++) {
        json_t *res = NULL;
        int64_t t0 = gy_time_mono_ns();
        if ((rc = gy_tracking_run_search(db, &s, &res)))
            return fail("search", rc);
        t[r] = ms_since(t0);
        nruns = json_array_size(json_object_get(res, "runs"));
        json_decref(res);
    }
    qsort(t, NREPS, sizeof t[0], cmp_double);
    printf("{\"bench\": \"tracking_search\", \"runs_in_store\": %d, \"filter\": \"%s\", "
           "\"order_by\": \"%s\", \"max_results\": %lld, \"returned\": %zu, \"median_ms\": %.2f, "
           "\"min_ms\": %.2f, \"max_ms\": %.2f, \"target_ms\": 50}\n",
           NRUNS, s.filter, order[0], (long long)max_results, nruns, t[NREPS / 2], t[0],
           t[NREPS - 1]);
    return 0;
}

int main(int argc, char **argv)
{
    char home[256];
    struct gy_db *db = NULL;
    enum gy_status rc;
    int tmp = argc < 2, ret;
    if (tmp) {
        snprintf(home, sizeof home, "/tmp/gyre-tracking-bench-XXXXXX");
        if (!mkdtemp(home)) {
            perror("mkdtemp");
            return 1;
        }
    } else {
        snprintf(home, sizeof home, "%s", argv[1]);
    }
    if ((rc = gy_db_open(home, NULL, &db)))
        return fail("open", rc);
    ret = bench_log_batch(db);
    if (!ret)
        ret = seed_runs(db);
    if (!ret)
        ret = bench_search(db, 100);
    if (!ret)
        ret = bench_search(db, 0);
    gy_db_free(db);
    if (tmp) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
        if (system(cmd) != 0)
            fprintf(stderr, "tracking_bench: could not remove %s\n", home);
    }
    return ret;
}
