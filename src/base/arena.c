/* SPDX-License-Identifier: MIT */
/*
 * arena.c - a bump allocator for request- and job-scoped memory: allocations are never freed
 * one by one; the whole arena goes at once, running registered cleanups (last first) for the
 * resources that are not memory (file descriptors, database results, model references).
 */
#include "base/base.h"

#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char mem[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *);
    void *arg;
};

struct gy_arena {
    struct arena_block *head;
    struct arena_cleanup *cleanups;
    size_t block_size;
};

struct gy_arena *gy_arena_create(size_t block_size)
{
    struct gy_arena *a = gy_calloc(1, sizeof *a);
    if (a)
        a->block_size = block_size < 256 ? 256 : block_size;
    return a;
}

void *gy_arena_alloc(struct gy_arena *a, size_t n)
{
    struct arena_block *b = a->head;
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    if (!b || b->size - b->used < need) {
        size_t size = need > a->block_size ? need : a->block_size;
        b = gy_malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        /* A block made for one large allocation goes behind the current one so the
         * current block's free space stays usable. */
        if (a->head && need > a->block_size) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    b->used += need;
    return b->mem + b->used - need;
}

char *gy_arena_strndup(struct gy_arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = gy_arena_alloc(a, len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *gy_arena_strdup(struct gy_arena *a, const char *s)
{
    return gy_arena_strndup(a, s, strlen(s));
}

enum gy_status gy_arena_cleanup_add(struct gy_arena *a, void (*fn)(void *), void *arg)
{
    struct arena_cleanup *c = gy_arena_alloc(a, sizeof *c);
    if (!c)
        return GY_E_NOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return GY_OK;
}

void gy_arena_free(struct gy_arena *a)
{
    struct arena_cleanup *c;
    struct arena_block *b, *next;
    if (!a)
        return;
    for (c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    for (b = a->head; b; b = next) {
        next = b->next;
        gy_free(b);
    }
    gy_free(a);
}
