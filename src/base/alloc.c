/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - the only file that calls the C library allocator. Each block carries a 16-byte
 * header with its size so that live bytes can be counted (exported as a metric later) and a
 * failure can be injected at the Nth allocation for out-of-memory tests.
 */
#include "base/base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16

static atomic_llong live_bytes;
static atomic_llong fail_countdown;

static int should_fail(void)
{
    long long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n <= 0)
        return 0;
    return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void *gy_malloc(size_t n)
{
    unsigned char *p;
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    atomic_fetch_add_explicit(&live_bytes, (long long)n, memory_order_relaxed);
    return p + HDR;
}

void *gy_calloc(size_t count, size_t size)
{
    void *p;
    if (size && count > SIZE_MAX / size)
        return NULL;
    p = gy_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *gy_realloc(void *ptr, size_t n)
{
    unsigned char *base, *q;
    size_t old;
    if (!ptr)
        return gy_malloc(n);
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    base = (unsigned char *)ptr - HDR;
    memcpy(&old, base, sizeof old);
    q = realloc(base, n + HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    atomic_fetch_add_explicit(&live_bytes, (long long)n - (long long)old, memory_order_relaxed);
    return q + HDR;
}

void gy_free(void *ptr)
{
    unsigned char *base;
    size_t old;
    if (!ptr)
        return;
    base = (unsigned char *)ptr - HDR;
    memcpy(&old, base, sizeof old);
    atomic_fetch_sub_explicit(&live_bytes, (long long)old, memory_order_relaxed);
    free(base);
}

char *gy_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = gy_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *gy_strdup(const char *s)
{
    return gy_strndup(s, SIZE_MAX - HDR - 1);
}

int64_t gy_alloc_bytes(void)
{
    return atomic_load(&live_bytes);
}

void gy_alloc_fail_after(int64_t n)
{
    atomic_store(&fail_countdown, n);
}

/* jansson allocates through the wrappers too, so JSON memory is counted and strings it
 * returns (json_dumps) are released with gy_free. */
__attribute__((constructor)) static void alloc_init(void)
{
    json_set_alloc_funcs(gy_malloc, gy_free);
}
