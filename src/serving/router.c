/* SPDX-License-Identifier: MIT */
/*
 * router.c - picks the route of a request from a routing snapshot: weighted at random (a
 * per-thread xorshift generator, no lock, no shared state), or sticky: FNV-1a 64 of the sticky
 * header's value modulo the total weight, so one user keeps seeing one variant for as long as
 * the weights stay the same, across restarts and replicas.
 */
#include "serving/serving_int.h"

#include <string.h>

uint64_t gy__fnv1a64(const char *s, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* xorshift64* seeded once per thread from the clock and the thread's own address. */
static uint64_t rand64(void)
{
    static _Thread_local uint64_t x;
    if (x == 0) {
        x = gy_mix64((uint64_t)gy_time_mono_ns() ^ (uint64_t)(uintptr_t)&x);
        if (x == 0)
            x = 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return x * UINT64_C(2685821657736338717);
}

struct gy__sroute *gy__route_pick(const struct gy_serving_target *t, const char *sticky)
{
    uint64_t r;
    size_t lo, hi;
    if (t->n_routes == 1)
        return &t->routes[0];
    if (sticky && t->sticky_header) {
        /* The full 64-bit hash, then a fixed mix so short keys spread over every weight. */
        r = gy_mix64(gy__fnv1a64(sticky, strlen(sticky))) % t->total_weight;
    } else {
        r = rand64() % t->total_weight;
    }
    /* The first route whose cumulative weight exceeds r (binary search; routes are few). */
    lo = 0;
    hi = t->n_routes - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->routes[mid].cum > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return &t->routes[lo];
}
