/* SPDX-License-Identifier: MIT */
/*
 * test_drift.c - unit tests for accumulators, per-feature comparison, the decision rule and
 * the reports (src/monitor/acc.c, drift.c, report.c): missing values, all-missing and empty
 * windows give "not enough data" (never NaN in the JSON), a window past the exact limit is
 * sketched with KS inside its stated error, a conservative p-value and an exact PSI on
 * frozen bins, merged windows equal one window, categorical top-k/other/unseen columns, the
 * binary z-test, Benjamini-Hochberg and the dataset rule (share or an important feature), the
 * JSON shape, HTML escaping, and the offline check on a temporary data home with the lake's
 * ingest and scan. The accumulator and report tests also check that every byte comes back.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lake/lake.h"
#include "monitor/monitor.h"

static uint64_t st = 7;

static double unif(void)
{
    uint64_t z = (st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
    double u = unif(), v = unif();
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static struct gy_monitor_acc *numeric(size_t limit)
{
    struct gy_monitor_acc_opts o = {limit, 64, 0};
    struct gy_monitor_acc *a;
    cr_assert_eq(gy_monitor_acc_create(GY_MONITOR_NUMERIC, &o, &a), GY_OK);
    return a;
}

static void fill_gauss(struct gy_monitor_acc *a, size_t n, double shift)
{
    for (size_t i = 0; i < n; i++) {
        double v = gauss() + shift;
        cr_assert_eq(gy_monitor_acc_add_f64(a, &v, 1), GY_OK);
    }
}

/* The report of one feature, decided with the default config. */
static struct gy_monitor_report *one(struct gy_monitor_feature *f)
{
    struct gy_monitor_report *r = gy_calloc(1, sizeof(*r));
    struct gy_monitor_config cfg;
    gy_monitor_config_init(&cfg);
    r->features = f;
    r->nfeatures = 1;
    r->reference = gy_strdup("ref");
    r->current = gy_strdup("cur");
    r->cfg = cfg;
    cr_assert_eq(gy_monitor_decide(r, &cfg), GY_OK);
    return r;
}

static char *dump(const struct gy_monitor_report *r)
{
    json_t *j;
    struct gy_buf b;
    cr_assert_eq(gy_monitor_report_json(r, &j), GY_OK);
    gy_buf_init(&b, 1 << 26);
    cr_assert_eq(gy_json_dump(j, &b), GY_OK);
    json_decref(j);
    return gy_buf_detach(&b, NULL);
}

Test(drift, all_missing_and_empty_windows_are_not_enough_data)
{
    int64_t before = gy_alloc_bytes();
    struct gy_monitor_config cfg;
    struct gy_monitor_acc *ref = numeric(0), *cur = numeric(0), *empty = numeric(0);
    struct gy_monitor_feature *f = gy_calloc(1, sizeof(*f)), g;
    struct gy_monitor_report *r;
    double nan = NAN, inf = INFINITY;
    char *js;

    gy_monitor_config_init(&cfg);
    fill_gauss(ref, 1000, 0);
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(gy_monitor_acc_add_f64(cur, i % 2 ? &nan : &inf, 1), GY_OK);
    }
    cr_assert_eq(gy_monitor_acc_add_missing(cur, 10), GY_OK);
    cr_assert_eq(gy_monitor_compare("amount", ref, cur, &cfg, f), GY_OK);
    cr_expect_eq(f->status, GY_MONITOR_NOT_ENOUGH_DATA);
    cr_expect_eq(f->rows_cur, 60);
    cr_expect_eq(f->missing_cur, 1.0);
    cr_expect(strstr(f->message, "not enough data") != NULL, "%s", f->message);
    r = one(f);
    cr_expect_eq(r->checked, 0);
    cr_expect_eq(r->drift, 0);
    cr_expect(f->quality_alert, "an all-missing window raises a quality alert");
    js = dump(r);
    cr_expect(strstr(js, "nan") == NULL && strstr(js, "NaN") == NULL, "%s", js);
    cr_expect(strstr(js, "\"status\":\"not_enough_data\"") != NULL, "%s", js);
    cr_expect(strstr(js, "\"drift\":null") != NULL, "%s", js);
    gy_free(js);
    gy_monitor_report_free(r);

    cr_assert_eq(gy_monitor_compare("amount", ref, empty, &cfg, &g), GY_OK);
    cr_expect_eq(g.status, GY_MONITOR_NOT_ENOUGH_DATA);
    cr_expect(isnan(g.missing_cur), "no rows, no missing rate");
    cr_expect(strstr(g.message, "(0 rows)") != NULL, "%s", g.message);
    gy_monitor_feature_clear(&g);
    gy_monitor_acc_free(ref);
    gy_monitor_acc_free(cur);
    gy_monitor_acc_free(empty);
    cr_expect_eq(gy_alloc_bytes(), before);
}

Test(drift, constant_columns)
{
    int64_t before = gy_alloc_bytes();
    struct gy_monitor_config cfg;
    struct gy_monitor_acc *ref = numeric(0), *cur = numeric(0), *cur2 = numeric(0);
    struct gy_monitor_feature f, g;
    double five = 5.0, six = 6.0;
    gy_monitor_config_init(&cfg);
    for (int i = 0; i < 800; i++) {
        gy_monitor_acc_add_f64(ref, &five, 1);
        gy_monitor_acc_add_f64(cur, &five, 1);
        gy_monitor_acc_add_f64(cur2, &six, 1);
    }
    cr_assert_eq(gy_monitor_compare("c", ref, cur, &cfg, &f), GY_OK);
    cr_expect_eq(f.status, GY_MONITOR_OK);
    cr_expect_eq(f.ks.statistic, 0.0);
    cr_expect_eq(f.ks.p_value, 1.0);
    cr_expect_eq(f.wasserstein_norm, 0.0);
    cr_expect_eq(f.psi, 0.0);
    cr_expect_eq(f.ref_std, 0.0);
    /* Moved constant: W1 = 1, normalized by the 0.001 floor on the reference std. */
    cr_assert_eq(gy_monitor_compare("c", ref, cur2, &cfg, &g), GY_OK);
    cr_expect_eq(g.ks.statistic, 1.0);
    cr_expect(fabs(g.wasserstein_norm - 1000.0) < 1e-9);
    cr_expect_eq(g.out_of_range, 1.0);
    cr_expect(g.psi > 1.0);
    gy_monitor_feature_clear(&f);
    gy_monitor_feature_clear(&g);
    gy_monitor_acc_free(ref);
    gy_monitor_acc_free(cur);
    gy_monitor_acc_free(cur2);
    cr_expect_eq(gy_alloc_bytes(), before);
}

Test(drift, sketched_window_within_bounds)
{
    int64_t before = gy_alloc_bytes();
    struct gy_monitor_config cfg;
    struct gy_monitor_acc *ref = numeric(0), *exact = numeric(0), *sk = numeric(5000);
    struct gy_monitor_feature fe, fs;
    gy_monitor_config_init(&cfg);
    fill_gauss(ref, 30000, 0);
    cr_assert_eq(gy_monitor_acc_freeze_bins(ref), GY_OK);
    cr_assert_eq(gy_monitor_acc_use_bins(sk, ref), GY_OK);
    st = 99;
    fill_gauss(exact, 40000, 0.05);
    st = 99;
    fill_gauss(sk, 40000, 0.05);
    cr_assert_eq(gy_monitor_compare("x", ref, exact, &cfg, &fe), GY_OK);
    cr_assert_eq(gy_monitor_compare("x", ref, sk, &cfg, &fs), GY_OK);
    cr_expect_eq(fe.ks_approximate, 0);
    cr_expect_eq(fs.ks_approximate, 1);
    cr_expect(fs.ks_rank_error > 0 && fs.ks_rank_error < 0.2, "eps %g", fs.ks_rank_error);
    cr_expect(fabs(fs.ks.statistic - fe.ks.statistic) <= fs.ks_rank_error, "D %g vs %g (eps %g)",
              fs.ks.statistic, fe.ks.statistic, fs.ks_rank_error);
    cr_expect(fs.ks.p_value >= fe.ks.p_value, "conservative: %g >= %g", fs.ks.p_value,
              fe.ks.p_value);
    /* Frozen bins count every value exactly: PSI identical. */
    cr_expect_eq(fs.psi, fe.psi);
    cr_expect_eq(fs.out_of_range, fe.out_of_range);
    cr_expect(fs.warning != NULL);
    cr_expect(fabs(fs.cur_mean - fe.cur_mean) < 1e-9);
    cr_expect(fabs(fs.cur_std - fe.cur_std) < 1e-9);
    gy_monitor_feature_clear(&fe);
    gy_monitor_feature_clear(&fs);
    gy_monitor_acc_free(ref);
    gy_monitor_acc_free(exact);
    gy_monitor_acc_free(sk);
    cr_expect_eq(gy_alloc_bytes(), before);
}

Test(drift, merged_windows_equal_one_window)
{
    int64_t before = gy_alloc_bytes();
    struct gy_monitor_config cfg;
    struct gy_monitor_acc *ref = numeric(0), *all = numeric(0), *w1 = numeric(0), *w2 = numeric(0);
    struct gy_monitor_feature a, m;
    double v[2000];
    gy_monitor_config_init(&cfg);
    fill_gauss(ref, 5000, 0);
    for (int i = 0; i < 2000; i++)
        v[i] = gauss() * 2;
    gy_monitor_acc_add_f64(all, v, 2000);
    gy_monitor_acc_add_f64(w1, v, 700);
    gy_monitor_acc_add_f64(w2, v + 700, 1300);
    cr_assert_eq(gy_monitor_acc_merge(w1, w2), GY_OK);
    cr_assert_eq(gy_monitor_compare("x", ref, all, &cfg, &a), GY_OK);
    cr_assert_eq(gy_monitor_compare("x", ref, w1, &cfg, &m), GY_OK);
    cr_expect_eq(a.ks.statistic, m.ks.statistic);
    cr_expect_eq(a.ks.p_value, m.ks.p_value);
    cr_expect_eq(a.psi, m.psi);
    cr_expect_eq(a.wasserstein, m.wasserstein);
    cr_expect(a.ks.p_value < 1e-6, "std 2 vs 1 is detected: p %g", a.ks.p_value);
    gy_monitor_feature_clear(&a);
    gy_monitor_feature_clear(&m);
    gy_monitor_acc_free(ref);
    gy_monitor_acc_free(all);
    gy_monitor_acc_free(w1);
    gy_monitor_acc_free(w2);
    cr_expect_eq(gy_alloc_bytes(), before);
}

static void add_n(struct gy_monitor_acc *a, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(gy_monitor_acc_add_str(a, s, strlen(s)), GY_OK);
}

Test(drift, categorical_top_other_unseen)
{
    int64_t before = gy_alloc_bytes();
    struct gy_monitor_config cfg;
    struct gy_monitor_acc *ref, *cur;
    struct gy_monitor_feature f;
    gy_monitor_config_init(&cfg);
    cfg.top_categories = 2;
    cr_assert_eq(gy_monitor_acc_create(GY_MONITOR_CATEGORICAL, NULL, &ref), GY_OK);
    cr_assert_eq(gy_monitor_acc_create(GY_MONITOR_CATEGORICAL, NULL, &cur), GY_OK);
    add_n(ref, "a", 50);
    add_n(ref, "b", 30);
    add_n(ref, "c", 15);
    add_n(ref, "d", 5);
    add_n(cur, "a", 40);
    add_n(cur, "b", 30);
    add_n(cur, "d", 10);
    add_n(cur, "new", 20);
    gy_monitor_acc_add_missing(cur, 25);
    cr_assert_eq(gy_monitor_compare("m", ref, cur, &cfg, &f), GY_OK);
    cr_expect_eq(f.status, GY_MONITOR_OK);
    /* Columns: a, b, (other) = c + d, (unseen). */
    cr_assert_eq(f.hist.nbins, 4);
    cr_expect_str_eq(f.hist.labels[0], "a");
    cr_expect_str_eq(f.hist.labels[1], "b");
    cr_expect_str_eq(f.hist.labels[2], "(other)");
    cr_expect_str_eq(f.hist.labels[3], "(unseen)");
    cr_expect(fabs(f.hist.ref[2] - 0.20) < 1e-12);
    cr_expect(fabs(f.hist.cur[3] - 0.20) < 1e-12);
    cr_expect(fabs(f.unseen - 0.2) < 1e-12);
    cr_expect(fabs(f.missing_cur - 0.2) < 1e-12);
    cr_expect_eq(f.chi2.dof, 3);
    /* scipy.stats.chi2_contingency([[50,30,20,0],[40,30,10,20]]) statistic and
     * jensenshannon(base=2) of the same rows. */
    cr_expect(fabs(f.chi2.statistic - 24.444444444444443) < 1e-9, "%.17g", f.chi2.statistic);
    cr_expect(fabs(f.jensenshannon - 0.3409859204785831) < 1e-9, "%.17g", f.jensenshannon);
    gy_monitor_feature_clear(&f);
    gy_monitor_acc_free(ref);
    gy_monitor_acc_free(cur);
    cr_expect_eq(gy_alloc_bytes(), before);
}

Test(drift, binary_ztest)
{
    struct gy_monitor_config cfg;
    struct gy_monitor_acc *ref, *cur;
    struct gy_monitor_feature f;
    gy_monitor_config_init(&cfg);
    cr_assert_eq(gy_monitor_acc_create(GY_MONITOR_BINARY, NULL, &ref), GY_OK);
    cr_assert_eq(gy_monitor_acc_create(GY_MONITOR_BINARY, NULL, &cur), GY_OK);
    for (int i = 0; i < 100; i++) {
        gy_monitor_acc_add_bool(ref, i < 30);
        gy_monitor_acc_add_bool(cur, i < 45);
    }
    cr_expect_eq(gy_monitor_acc_add_str(ref, "x", 1), GY_E_INVALID);
    cr_assert_eq(gy_monitor_compare("b", ref, cur, &cfg, &f), GY_OK);
    cr_expect(fabs(f.z - -2.1908902300206647) < 1e-12, "z %.17g", f.z);
    cr_expect_str_eq(f.test_name, "z");
    cr_expect(fabs(f.prop_cur - 0.45) < 1e-15);
    gy_monitor_feature_clear(&f);
    gy_monitor_acc_free(ref);
    gy_monitor_acc_free(cur);
}

Test(drift, decision_rule_share_and_importance)
{
    int64_t before = gy_alloc_bytes();
    struct gy_monitor_config cfg;
    struct gy_monitor_report *r = gy_calloc(1, sizeof(*r));
    const char *imp[] = {"nope", "b", "a"};
    double shift[4] = {0.0, 0.5, 0.0, 0.0};
    gy_monitor_config_init(&cfg);
    r->features = gy_calloc(4, sizeof(*r->features));
    for (int i = 0; i < 4; i++) {
        struct gy_monitor_acc *ref = numeric(0), *cur = numeric(0);
        char name[2] = {(char)('a' + i), 0};
        fill_gauss(ref, 3000, 0);
        fill_gauss(cur, 3000, shift[i]);
        cr_assert_eq(gy_monitor_compare(name, ref, cur, &cfg, &r->features[i]), GY_OK);
        r->nfeatures++;
        gy_monitor_acc_free(ref);
        gy_monitor_acc_free(cur);
    }
    /* One of four drifts (b): under the 50% share, so no dataset drift... */
    cr_assert_eq(gy_monitor_decide(r, &cfg), GY_OK);
    cr_expect_eq(r->checked, 4);
    cr_expect_eq(r->drifted, 1);
    cr_expect(r->features[1].drift);
    cr_expect(!r->features[0].drift && !r->features[2].drift && !r->features[3].drift);
    cr_expect(r->features[1].p_adjusted >= r->features[1].p_value);
    cr_expect_eq(r->drift, 0, "%s", r->reason);
    /* ...unless b is among the most important features. */
    cfg.importance = imp;
    cfg.nimportance = 3;
    cr_assert_eq(gy_monitor_decide(r, &cfg), GY_OK);
    cr_expect_eq(r->features[1].importance_rank, 1);
    cr_expect_eq(r->features[0].importance_rank, 2);
    cr_expect_eq(r->drift, 1);
    cr_expect(strstr(r->reason, "important feature \"b\"") != NULL, "%s", r->reason);
    /* A raised threshold for b alone removes the drift. */
    {
        struct gy_monitor_threshold ov = {"b", "wasserstein_norm", 5.0};
        cfg.overrides = &ov;
        cfg.noverrides = 1;
        cr_assert_eq(gy_monitor_decide(r, &cfg), GY_OK);
        cr_expect_eq(r->features[1].effect_threshold, 5.0);
        cr_expect_eq(r->features[0].effect_threshold, 0.1);
        cr_expect_eq(r->drift, 0);
        cfg.overrides = NULL;
        cfg.noverrides = 0;
    }
    /* drift_share 0.25: one of four is enough. */
    cfg.importance = NULL;
    cfg.nimportance = 0;
    cfg.drift_share = 0.25;
    cr_assert_eq(gy_monitor_decide(r, &cfg), GY_OK);
    cr_expect_eq(r->drift, 1);
    gy_monitor_report_free(r);
    cr_expect_eq(gy_alloc_bytes(), before);
}

Test(drift, config_check)
{
    struct gy_monitor_config c;
    struct gy_monitor_threshold bad = {NULL, "pvalue", 0.1};
    gy_monitor_config_init(&c);
    cr_expect_eq(gy_monitor_config_check(&c), GY_OK);
    c.alpha = 1.5;
    cr_expect_eq(gy_monitor_config_check(&c), GY_E_INVALID);
    gy_monitor_config_init(&c);
    c.numeric_effect = "ks";
    cr_expect_eq(gy_monitor_config_check(&c), GY_E_INVALID);
    gy_monitor_config_init(&c);
    c.overrides = &bad;
    c.noverrides = 1;
    cr_expect_eq(gy_monitor_config_check(&c), GY_E_INVALID);
    cr_expect(strstr(gy_error_msg(), "pvalue") != NULL);
}

Test(drift, html_is_self_contained_and_escaped)
{
    int64_t before = gy_alloc_bytes();
    struct gy_monitor_config cfg;
    struct gy_monitor_acc *ref, *cur;
    struct gy_monitor_feature *f = gy_calloc(1, sizeof(*f));
    struct gy_monitor_report *r;
    struct gy_buf b;
    gy_monitor_config_init(&cfg);
    cr_assert_eq(gy_monitor_acc_create(GY_MONITOR_CATEGORICAL, NULL, &ref), GY_OK);
    cr_assert_eq(gy_monitor_acc_create(GY_MONITOR_CATEGORICAL, NULL, &cur), GY_OK);
    add_n(ref, "<b>x</b>", 600);
    add_n(ref, "y", 400);
    add_n(cur, "<b>x</b>", 100);
    add_n(cur, "y", 900);
    cr_assert_eq(gy_monitor_compare("<script>alert(1)</script>", ref, cur, &cfg, f), GY_OK);
    r = one(f);
    cr_expect(f->drift);
    gy_buf_init(&b, 1 << 24);
    cr_assert_eq(gy_monitor_report_html(r, &b), GY_OK);
    cr_expect(strstr(b.data, "<script>alert") == NULL, "names are escaped");
    cr_expect(strstr(b.data, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    cr_expect(strstr(b.data, "&lt;b&gt;x&lt;/b&gt;") != NULL);
    cr_expect(strstr(b.data, "<svg class=\"hist\"") != NULL);
    cr_expect(strstr(b.data, "Drift detected") != NULL);
    cr_expect(strstr(b.data, "src=") == NULL && strstr(b.data, "href=\"http") == NULL &&
                  strstr(b.data, "@import") == NULL,
              "no external resources");
    gy_buf_free(&b);
    gy_monitor_report_free(r);
    gy_monitor_acc_free(ref);
    gy_monitor_acc_free(cur);
    cr_expect_eq(gy_alloc_bytes(), before);
}

/* ------------------------------------------------------------------ datasets */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void ingest(struct gy_db *db, const char *name, const char *csv)
{
    struct gy_ingest_opts o;
    struct gy_ingest_result res;
    struct gy_schema *schema;
    json_t *j = json_loads("[{\"name\": \"x\", \"type\": \"float64\"}, "
                           "{\"name\": \"cat\", \"type\": \"string\"}, "
                           "{\"name\": \"flag\", \"type\": \"bool\"}, "
                           "{\"name\": \"blank\", \"type\": \"float64\"}, "
                           "{\"name\": \"when\", \"type\": \"timestamp\"}]",
                           0, NULL);
    int fd = memfd_create("drift-test", 0);
    cr_assert_not_null(j);
    cr_assert_eq(gy_schema_from_json(j, &schema), GY_OK);
    json_decref(j);
    cr_assert_eq(gy_lake_dataset_create(db, name, schema, NULL), GY_OK, "%s", gy_error_msg());
    gy_schema_free(schema);
    cr_assert(fd >= 0);
    cr_assert_eq(gy_fd_write_all(fd, csv, strlen(csv)), GY_OK);
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    memset(&o, 0, sizeof(o));
    o.source = name;
    cr_assert_eq(gy_lake_ingest(db, name, fd, &o, &res), GY_OK, "%s", gy_error_msg());
    close(fd);
}

Test(drift, check_datasets_through_the_lake)
{
    char dir[] = "/tmp/gyre-drift-XXXXXX";
    struct gy_db *db;
    struct gy_buf a, b;
    struct gy_monitor_config cfg;
    struct gy_monitor_report *r = NULL;
    const char *only[] = {"x", "flag"}, *unknown[] = {"nope"};
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(gy_db_open(dir, NULL, &db), GY_OK, "%s", gy_error_msg());
    gy_buf_init(&a, 1 << 24);
    gy_buf_init(&b, 1 << 24);
    gy_buf_puts(&a, "x,cat,flag,blank,when\n");
    gy_buf_puts(&b, "x,cat,flag,blank,when\n");
    for (int i = 0; i < 2000; i++) {
        gy_buf_printf(&a, "%.17g,%s,%s,,2024-01-01T00:00:00Z\n", gauss(), i % 3 ? "p" : "q",
                      i % 4 ? "false" : "true");
        gy_buf_printf(&b, "%.17g,%s,%s,,2024-02-01T00:00:00Z\n", gauss() + 1.0, i % 3 ? "p" : "q",
                      i % 4 ? "false" : "true");
    }
    ingest(db, "ref", a.data);
    ingest(db, "cur", b.data);
    gy_monitor_config_init(&cfg);
    cr_assert_eq(gy_monitor_check_datasets(db, "ref", 0, "cur", 1, NULL, 0, &cfg, &r), GY_OK, "%s",
                 gy_error_msg());
    cr_expect_str_eq(r->reference, "ref@1");
    cr_expect_eq(r->rows_ref, 2000);
    cr_assert_eq(r->nfeatures, 5);
    cr_expect_str_eq(r->features[0].name, "x");
    cr_expect(r->features[0].drift);
    cr_expect_eq(r->features[1].kind, GY_MONITOR_CATEGORICAL);
    cr_expect(!r->features[1].drift);
    cr_expect_eq(r->features[2].kind, GY_MONITOR_BINARY);
    cr_expect_eq(r->features[3].status, GY_MONITOR_NOT_ENOUGH_DATA);
    cr_expect_eq(r->features[4].status, GY_MONITOR_SKIPPED); /* timestamp */
    cr_expect_eq(r->checked, 3);
    cr_expect_eq(r->drifted, 1);
    cr_expect_eq(r->drift, 0);
    gy_monitor_report_free(r);
    r = NULL;
    cr_assert_eq(gy_monitor_check_datasets(db, "ref", 1, "cur", 0, only, 2, &cfg, &r), GY_OK);
    cr_expect_eq(r->nfeatures, 2);
    cr_expect_eq(r->drift, 1, "x is one of two");
    gy_monitor_report_free(r);
    r = NULL;
    cr_expect_eq(gy_monitor_check_datasets(db, "ref", 1, "cur", 0, unknown, 1, &cfg, &r),
                 GY_NOT_FOUND);
    cr_expect_eq(gy_monitor_check_datasets(db, "ref", 7, "cur", 0, NULL, 0, &cfg, &r),
                 GY_NOT_FOUND);
    cr_expect_null(r);
    gy_buf_free(&a);
    gy_buf_free(&b);
    gy_db_free(db);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
