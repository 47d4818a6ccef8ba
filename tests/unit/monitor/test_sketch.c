/* SPDX-License-Identifier: MIT */
/*
 * test_sketch.c - unit tests for the quantile sketch (src/monitor/sketch.c): its tracked
 * rank-error bound holds at every query point on sorted, reversed, random and heavily tied
 * streams, it stays within the stated (n/k)(log2(n/k) + 1), merging two sketches keeps the bound
 * and the count, and memory stays a few levels of k items.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "monitor/monitor.h"

static uint64_t st = 42;

static double unif(void)
{
    uint64_t z = (st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Checks |rank estimate - true rank| <= the sketch's bound at many query points. */
static void check_bound(const struct gy_monitor_sketch *s, double *sorted, size_t n)
{
    uint64_t err = gy_monitor_sketch_error(s);
    for (size_t q = 0; q < 400; q++) {
        size_t i = (size_t)((double)q / 400.0 * (double)n);
        double x = sorted[i];
        /* True count of items <= x. */
        size_t lo = i;
        uint64_t est;
        int64_t diff;
        while (lo + 1 < n && sorted[lo + 1] <= x)
            lo++;
        est = gy_monitor_sketch_rank(s, x);
        diff = (int64_t)est - (int64_t)(lo + 1);
        cr_assert(llabs(diff) <= (long long)err, "x=%g: estimate %llu, true %zu, bound %llu", x,
                  (unsigned long long)est, lo + 1, (unsigned long long)err);
    }
}

Test(sketch, rank_error_bound_holds)
{
    size_t n = 300000;
    uint32_t k = 256;
    double *v = gy_malloc(n * sizeof(double));
    for (int pattern = 0; pattern < 4; pattern++) {
        struct gy_monitor_sketch *s;
        cr_assert_eq(gy_monitor_sketch_create(k, &s), GY_OK);
        for (size_t i = 0; i < n; i++) {
            switch (pattern) {
            case 0:
                v[i] = unif();
                break;
            case 1:
                v[i] = (double)i;
                break;
            case 2:
                v[i] = (double)(n - i);
                break;
            default:
                v[i] = floor(unif() * 10); /* heavy ties */
            }
        }
        cr_assert_eq(gy_monitor_sketch_add(s, v, n), GY_OK);
        cr_expect_eq(gy_monitor_sketch_count(s), n);
        qsort(v, n, sizeof(double), cmpd);
        check_bound(s, v, n);
        /* The stated bound: (n / k) * (log2(n / k) + 1). */
        cr_expect((double)gy_monitor_sketch_error(s) <= (double)n / k * (log2((double)n / k) + 1),
                  "error %llu", (unsigned long long)gy_monitor_sketch_error(s));
        cr_expect(gy_monitor_sketch_error(s) > 0);
        gy_monitor_sketch_free(s);
    }
    gy_free(v);
}

Test(sketch, merge_keeps_bound_and_count)
{
    size_t n = 100000;
    struct gy_monitor_sketch *a, *b, *c;
    double *v = gy_malloc(2 * n * sizeof(double));
    cr_assert_eq(gy_monitor_sketch_create(128, &a), GY_OK);
    cr_assert_eq(gy_monitor_sketch_create(128, &b), GY_OK);
    cr_assert_eq(gy_monitor_sketch_create(256, &c), GY_OK);
    for (size_t i = 0; i < 2 * n; i++)
        v[i] = i < n ? unif() : 0.5 + unif();
    cr_assert_eq(gy_monitor_sketch_add(a, v, n), GY_OK);
    cr_assert_eq(gy_monitor_sketch_add(b, v + n, n), GY_OK);
    cr_assert_eq(gy_monitor_sketch_merge(a, b), GY_OK);
    cr_expect_eq(gy_monitor_sketch_count(a), 2 * n);
    qsort(v, 2 * n, sizeof(double), cmpd);
    check_bound(a, v, 2 * n);
    cr_expect_eq(gy_monitor_sketch_merge(a, c), GY_E_INVALID);
    cr_expect_eq(gy_monitor_sketch_rank(a, -1.0), 0);
    cr_expect_eq(gy_monitor_sketch_rank(a, 10.0), 2 * n);
    gy_monitor_sketch_free(a);
    gy_monitor_sketch_free(b);
    gy_monitor_sketch_free(c);
    gy_free(v);
}

Test(sketch, rejects_bad_k)
{
    struct gy_monitor_sketch *s;
    cr_expect_eq(gy_monitor_sketch_create(15, &s), GY_E_INVALID);
    cr_expect_eq(gy_monitor_sketch_create(17, &s), GY_E_INVALID);
    cr_expect_null(s);
}
