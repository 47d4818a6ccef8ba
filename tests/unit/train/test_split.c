/* SPDX-License-Identifier: MIT */
/*
 * test_split.c - unit tests for src/train/split.c and the data helpers of src/train/data.c:
 * a split is a partition into sorted parts of the stated sizes, the same seed gives the same
 * split (pinned against golden indices, so a change to the generator or the shuffle is
 * caught), stratified parts keep label proportions, time splits order the parts and keep
 * equal timestamps together, and bad arguments are refused. Also row gathering and
 * key=value parameter checks.
 */
#include "oracle.h"

/* Every index 0..n-1 is in exactly one part and each part is ascending. */
static void check_partition(const struct gy_split *s, size_t n)
{
    unsigned char *seen = gy_calloc(n, 1);
    const size_t *parts[3] = {s->train, s->valid, s->test};
    size_t sizes[3] = {s->n_train, s->n_valid, s->n_test};

    cr_assert_eq(s->n_train + s->n_valid + s->n_test, n);
    for (int p = 0; p < 3; p++) {
        for (size_t i = 0; i < sizes[p]; i++) {
            size_t r = parts[p][i];
            cr_assert_lt(r, n);
            cr_assert_eq(seen[r], 0, "row %zu in two parts", r);
            seen[r] = 1;
            if (i > 0)
                cr_assert_lt(parts[p][i - 1], r, "part %d not ascending", p);
        }
    }
    gy_free(seen);
}

Test(split, random_partition_and_sizes)
{
    struct gy_split_config cfg = {GY_SPLIT_RANDOM, 0.2, 0.1, 42};
    struct gy_split s;

    cr_assert_eq(gy_train_split(&cfg, 1001, NULL, NULL, &s), GY_OK, "%s", gy_error_msg());
    check_partition(&s, 1001);
    cr_assert_eq(s.n_valid, 200); /* round(200.2) */
    cr_assert_eq(s.n_test, 100);
    cr_assert_eq(s.n_train, 701);
    gy_train_split_free(&s);
    cr_assert_null(s.train);
    gy_train_split_free(&s); /* twice is fine */
    gy_train_split_free(NULL);

    /* Tiny sets still get one validation row. */
    cfg.test_fraction = 0;
    cfg.valid_fraction = 0.01;
    cr_assert_eq(gy_train_split(&cfg, 5, NULL, NULL, &s), GY_OK);
    cr_assert_eq(s.n_valid, 1);
    cr_assert_eq(s.n_test, 0);
    cr_assert_eq(s.n_train, 4);
    gy_train_split_free(&s);
}

Test(split, random_is_deterministic_and_pinned)
{
    struct gy_split_config cfg = {GY_SPLIT_RANDOM, 0.25, 0, 42};
    struct gy_split a, b, c;
    /* Golden indices: splitmix64 seeded with 42, Fisher-Yates from the end, integer-only
     * rejection sampling (checked against a Python re-implementation). Any machine must
     * produce exactly these. */
    static const size_t golden[5] = {3, 8, 11, 16, 17};

    cr_assert_eq(gy_train_split(&cfg, 20, NULL, NULL, &a), GY_OK);
    cr_assert_eq(gy_train_split(&cfg, 20, NULL, NULL, &b), GY_OK);
    cr_assert_eq(a.n_valid, 5);
    cr_assert_eq(memcmp(a.valid, b.valid, 5 * sizeof(size_t)), 0);
    cr_assert_eq(memcmp(a.train, b.train, 15 * sizeof(size_t)), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(a.valid[i], golden[i], "valid[%d] = %zu, golden %zu", i, a.valid[i],
                     golden[i]);
    cfg.seed = 43;
    cr_assert_eq(gy_train_split(&cfg, 20, NULL, NULL, &c), GY_OK);
    cr_assert_neq(memcmp(a.valid, c.valid, 5 * sizeof(size_t)), 0, "seed ignored");
    gy_train_split_free(&a);
    gy_train_split_free(&b);
    gy_train_split_free(&c);
}

Test(split, random_is_uniform_enough)
{
    /* Each row lands in validation in about valid_fraction of the seeds. */
    size_t n = 50, hits[50] = {0};
    struct gy_split s;
    for (uint64_t seed = 0; seed < 400; seed++) {
        struct gy_split_config cfg = {GY_SPLIT_RANDOM, 0.2, 0, seed};
        cr_assert_eq(gy_train_split(&cfg, n, NULL, NULL, &s), GY_OK);
        for (size_t i = 0; i < s.n_valid; i++)
            hits[s.valid[i]]++;
        gy_train_split_free(&s);
    }
    for (size_t i = 0; i < n; i++)
        cr_assert(hits[i] > 40 && hits[i] < 125, "row %zu chosen %zu times of 400 (expect 80)", i,
                  hits[i]);
}

Test(split, stratified_keeps_proportions)
{
    size_t n = 10007;
    float *y = gy_calloc(n, sizeof(float));
    struct gy_split_config cfg = {GY_SPLIT_STRATIFIED, 0.2, 0.1, 7};
    struct gy_split s;
    size_t count[3] = {0}, cv[3] = {0}, ct[3] = {0};
    struct trng r = {3};

    for (size_t i = 0; i < n; i++) {
        double u = trng_unif(&r);
        y[i] = u < 0.05 ? 2.0f : u < 0.35 ? 1.0f : 0.0f; /* 5% / 30% / 65% */
        count[(int)y[i]]++;
    }
    cr_assert_eq(gy_train_split(&cfg, n, y, NULL, &s), GY_OK, "%s", gy_error_msg());
    check_partition(&s, n);
    cr_assert_eq(s.n_valid, 2001);
    cr_assert_eq(s.n_test, 1001);
    for (size_t i = 0; i < s.n_valid; i++)
        cv[(int)y[s.valid[i]]]++;
    for (size_t i = 0; i < s.n_test; i++)
        ct[(int)y[s.test[i]]]++;
    for (int k = 0; k < 3; k++) {
        double ev = 0.2 * (double)count[k], et = 0.1 * (double)count[k];
        cr_assert(fabs((double)cv[k] - ev) <= 1.0, "class %d: %zu valid rows, expected %.1f", k,
                  cv[k], ev);
        cr_assert(fabs((double)ct[k] - et) <= 1.0, "class %d: %zu test rows, expected %.1f", k,
                  ct[k], et);
    }
    gy_train_split_free(&s);

    /* A rare class of 3 rows still gets a validation row. */
    for (size_t i = 0; i < n; i++)
        y[i] = i < 3 ? 1.0f : 0.0f;
    cfg.test_fraction = 0;
    cfg.valid_fraction = 0.34;
    cr_assert_eq(gy_train_split(&cfg, n, y, NULL, &s), GY_OK);
    memset(cv, 0, sizeof(cv));
    for (size_t i = 0; i < s.n_valid; i++)
        cv[(int)y[s.valid[i]]]++;
    cr_assert_eq(cv[1], 1);
    gy_train_split_free(&s);

    /* Labels are required, NaN refused. */
    cr_assert_eq(gy_train_split(&cfg, n, NULL, NULL, &s), GY_E_INVALID);
    y[5] = NAN;
    cr_assert_eq(gy_train_split(&cfg, n, y, NULL, &s), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "row 5") != NULL, "%s", gy_error_msg());
    gy_free(y);
}

Test(split, time_orders_parts_and_keeps_ties)
{
    size_t n = 1000;
    int64_t *t = gy_calloc(n, sizeof(int64_t));
    struct gy_split_config cfg = {GY_SPLIT_TIME, 0.2, 0.1, 0};
    struct gy_split s;
    struct trng r = {11};

    /* Shuffled timestamps with many ties: 100 distinct days. */
    for (size_t i = 0; i < n; i++)
        t[i] = 1700000000000000LL + (int64_t)(trng_next(&r) % 100) * 86400000000LL;
    cr_assert_eq(gy_train_split(&cfg, n, NULL, t, &s), GY_OK, "%s", gy_error_msg());
    check_partition(&s, n);
    {
        int64_t max_train = INT64_MIN, min_valid = INT64_MAX, max_valid = INT64_MIN,
                min_test = INT64_MAX;
        for (size_t i = 0; i < s.n_train; i++)
            max_train = GY_MAX(max_train, t[s.train[i]]);
        for (size_t i = 0; i < s.n_valid; i++) {
            min_valid = GY_MIN(min_valid, t[s.valid[i]]);
            max_valid = GY_MAX(max_valid, t[s.valid[i]]);
        }
        for (size_t i = 0; i < s.n_test; i++)
            min_test = GY_MIN(min_test, t[s.test[i]]);
        /* Strict: equal timestamps never straddle a cut. */
        cr_assert_lt(max_train, min_valid);
        cr_assert_lt(max_valid, min_test);
    }
    /* Sizes move to the nearest tie boundary: within one day's rows (~10) of the target. */
    cr_assert(s.n_valid > 170 && s.n_valid < 230, "%zu validation rows", s.n_valid);
    cr_assert(s.n_test > 70 && s.n_test < 130, "%zu test rows", s.n_test);
    gy_train_split_free(&s);

    /* Distinct times: exact sizes, and the latest rows are the test part. */
    for (size_t i = 0; i < n; i++)
        t[i] = (int64_t)(n - i); /* row 0 is the latest */
    cr_assert_eq(gy_train_split(&cfg, n, NULL, t, &s), GY_OK);
    cr_assert_eq(s.n_valid, 200);
    cr_assert_eq(s.n_test, 100);
    for (size_t i = 0; i < s.n_test; i++)
        cr_assert_eq(s.test[i], i);
    gy_train_split_free(&s);

    /* Two timestamps: the cut falls between them whatever the fractions say. */
    for (size_t i = 0; i < n; i++)
        t[i] = i < 900 ? 5 : 6;
    cfg.test_fraction = 0;
    cr_assert_eq(gy_train_split(&cfg, n, NULL, t, &s), GY_OK);
    cr_assert_eq(s.n_train, 900);
    cr_assert_eq(s.n_valid, 100);
    gy_train_split_free(&s);

    /* One timestamp: no split keeps ties together. */
    for (size_t i = 0; i < n; i++)
        t[i] = 5;
    cr_assert_eq(gy_train_split(&cfg, n, NULL, t, &s), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "timestamp") != NULL, "%s", gy_error_msg());
    cr_assert_null(s.train);
    cr_assert_eq(gy_train_split(&cfg, n, NULL, NULL, &s), GY_E_INVALID);
    gy_free(t);
}

Test(split, bad_arguments)
{
    struct gy_split s;
    struct gy_split_config cfg = {GY_SPLIT_RANDOM, 0, 0, 1};

    cr_assert_eq(gy_train_split(&cfg, 100, NULL, NULL, &s), GY_E_INVALID);
    cfg.valid_fraction = 1.0;
    cr_assert_eq(gy_train_split(&cfg, 100, NULL, NULL, &s), GY_E_INVALID);
    cfg.valid_fraction = NAN;
    cr_assert_eq(gy_train_split(&cfg, 100, NULL, NULL, &s), GY_E_INVALID);
    cfg.valid_fraction = 0.5;
    cfg.test_fraction = 0.5;
    cr_assert_eq(gy_train_split(&cfg, 100, NULL, NULL, &s), GY_E_INVALID);
    cfg.test_fraction = 0;
    cr_assert_eq(gy_train_split(&cfg, 1, NULL, NULL, &s), GY_E_INVALID);
    cfg.method = (enum gy_split_method)9;
    cr_assert_eq(gy_train_split(&cfg, 100, NULL, NULL, &s), GY_E_INVALID);
}

Test(data, take_gather_and_params)
{
    struct gy_matrix m, t;
    size_t idx[3] = {2, 0, 2};
    float v[3] = {10, 11, 12}, *g;
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_train_param p;

    cr_assert_eq(gy_train_matrix_create(3, 2, &m), GY_OK);
    for (int i = 0; i < 6; i++)
        m.x[i] = (float)i;
    cr_assert_eq(gy_train_matrix_take(&m, idx, 3, &t), GY_OK);
    cr_assert_eq(t.rows, 3);
    cr_assert_eq(t.x[0], 4.0f);
    cr_assert_eq(t.x[3], 1.0f);
    cr_assert_eq(t.x[5], 5.0f);
    gy_train_matrix_free(&t);
    idx[1] = 3;
    cr_assert_eq(gy_train_matrix_take(&m, idx, 3, &t), GY_E_INVALID);
    cr_assert_null(t.x);
    idx[1] = 1;
    cr_assert_eq(gy_train_gather(v, idx, 3, &g), GY_OK);
    cr_assert(g[0] == 12 && g[1] == 11 && g[2] == 12);
    gy_free(g);
    cr_assert_eq(gy_train_gather(NULL, idx, 3, &g), GY_OK);
    cr_assert_null(g);
    gy_train_matrix_free(&m);
    gy_train_matrix_free(NULL);

    cr_assert_eq(gy_train_param_parse("max_depth=6", a, &p), GY_OK);
    cr_assert_str_eq(p.key, "max_depth");
    cr_assert_str_eq(p.value, "6");
    cr_assert_eq(gy_train_param_parse("eval_metric=error@0.7", a, &p), GY_OK);
    cr_assert_str_eq(p.value, "error@0.7");
    cr_assert_eq(gy_train_param_parse("a=b=c", a, &p), GY_OK);
    cr_assert_str_eq(p.value, "b=c");
    cr_assert_eq(gy_train_param_parse("noequals", a, &p), GY_E_INVALID);
    cr_assert_eq(gy_train_param_parse("=5", a, &p), GY_E_INVALID);
    cr_assert_eq(gy_train_param_parse("eta=", a, &p), GY_E_INVALID);
    cr_assert_eq(gy_train_param_parse("bad key=1", a, &p), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "bad key") != NULL, "%s", gy_error_msg());
    cr_assert_eq(gy_train_param_check("k", "a\nb"), GY_E_INVALID);
    cr_assert_eq(gy_train_param_check("k", NULL), GY_E_INVALID);
    cr_assert_eq(
        gy_train_param_check(
            "a_very_long_parameter_name_that_goes_on_and_on_past_sixty_four_characters", "1"),
        GY_E_INVALID);
    gy_arena_free(a);
    cr_assert_str_eq(gy_train_task_name(GY_TRAIN_MULTICLASS), "multiclass");
}
