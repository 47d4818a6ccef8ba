/* SPDX-License-Identifier: MIT */
/*
 * test_router.c - the router (src/serving/router.c): weighted picks land within statistical
 * bounds that cannot flake (20000 picks of a 90/10 split within 2.5 points: more than 10
 * standard deviations), sticky routing is deterministic per key and spreads keys by weight,
 * FNV-1a 64 matches its published test vectors (so sticky assignment survives restarts),
 * zero-weight routes are never picked, and one route needs no randomness at all.
 */
#include "fixture.h"

/* A snapshot with routes of the given weights (no models: the router reads weights only). */
static struct gy_serving_target *fake(const uint32_t *w, size_t n, const char *sticky)
{
    struct gy_serving_target *t = gy_calloc(1, sizeof *t);
    t->routes = gy_calloc(n, sizeof *t->routes);
    t->n_routes = n;
    for (size_t i = 0; i < n; i++) {
        t->total_weight += w[i];
        t->routes[i].cum = t->total_weight;
    }
    t->sticky_header = sticky ? gy_strdup(sticky) : NULL;
    return t;
}

static void fake_free(struct gy_serving_target *t)
{
    gy_free(t->routes);
    gy_free(t->sticky_header);
    gy_free(t);
}

static size_t idx(const struct gy_serving_target *t, const struct gy__sroute *r)
{
    return (size_t)(r - t->routes);
}

Test(router, fnv1a64_vectors)
{
    cr_assert_eq(gy__fnv1a64("", 0), UINT64_C(0xcbf29ce484222325));
    cr_assert_eq(gy__fnv1a64("a", 1), UINT64_C(0xaf63dc4c8601ec8c));
    cr_assert_eq(gy__fnv1a64("foobar", 6), UINT64_C(0x85944171f73967e8));
}

Test(router, weighted_90_10)
{
    const uint32_t w[] = {90, 10};
    struct gy_serving_target *t = fake(w, 2, NULL);
    size_t count[2] = {0, 0};
    for (int i = 0; i < 20000; i++)
        count[idx(t, gy__route_pick(t, NULL))]++;
    cr_assert(count[0] >= 17500 && count[0] <= 18500, "90%% route got %zu of 20000", count[0]);
    cr_assert_eq(count[0] + count[1], 20000);
    fake_free(t);
}

Test(router, weighted_three_ways_and_zero_weight)
{
    const uint32_t w[] = {50, 0, 30, 20};
    struct gy_serving_target *t = fake(w, 4, NULL);
    size_t count[4] = {0, 0, 0, 0};
    for (int i = 0; i < 20000; i++)
        count[idx(t, gy__route_pick(t, NULL))]++;
    cr_assert_eq(count[1], 0, "a zero-weight route is never picked");
    cr_assert(count[0] >= 9500 && count[0] <= 10500, "50%%: %zu", count[0]);
    cr_assert(count[2] >= 5500 && count[2] <= 6500, "30%%: %zu", count[2]);
    cr_assert(count[3] >= 3500 && count[3] <= 4500, "20%%: %zu", count[3]);
    fake_free(t);
}

Test(router, sticky_is_deterministic_and_weighted)
{
    const uint32_t w[] = {90, 10};
    struct gy_serving_target *t = fake(w, 2, "X-User");
    size_t count[2] = {0, 0};
    char key[32];
    for (int i = 0; i < 20000; i++) {
        size_t first;
        snprintf(key, sizeof key, "user-%d", i);
        first = idx(t, gy__route_pick(t, key));
        count[first]++;
        if (i % 100 == 0)
            for (int k = 0; k < 5; k++)
                cr_assert_eq(idx(t, gy__route_pick(t, key)), first, "user %d moved", i);
    }
    cr_assert(count[0] >= 17500 && count[0] <= 18500, "90%% route got %zu of 20000 users",
              count[0]);
    /* Same weights, new snapshot (a restart or another replica): same assignment. */
    {
        struct gy_serving_target *t2 = fake(w, 2, "X-User");
        for (int i = 0; i < 1000; i++) {
            snprintf(key, sizeof key, "user-%d", i);
            cr_assert_eq(idx(t, gy__route_pick(t, key)), idx(t2, gy__route_pick(t2, key)));
        }
        fake_free(t2);
    }
    fake_free(t);
}

Test(router, sticky_value_ignored_without_sticky_header)
{
    const uint32_t w[] = {50, 50};
    struct gy_serving_target *t = fake(w, 2, NULL);
    size_t count[2] = {0, 0};
    for (int i = 0; i < 2000; i++)
        count[idx(t, gy__route_pick(t, "same-user"))]++;
    cr_assert(count[0] > 700 && count[1] > 700, "random, not sticky: %zu/%zu", count[0], count[1]);
    fake_free(t);
}

Test(router, one_route)
{
    const uint32_t w[] = {1};
    struct gy_serving_target *t = fake(w, 1, "X-User");
    for (int i = 0; i < 100; i++)
        cr_assert_eq(idx(t, gy__route_pick(t, i % 2 ? "a" : NULL)), 0);
    fake_free(t);
}
