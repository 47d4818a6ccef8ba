/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the fast serving engine: compiles a tree ensemble into one 64-byte-aligned pool
 * of 16-byte nodes (siblings adjacent, child pairs laid out in depth-first order, thresholds
 * as order-preserving integer keys, leaves as self-loops on a zero slot, DART weights folded
 * into the leaf values) plus dense complete-tree copies of the shallow trees for the batch
 * kernel, groups the trees in blocks of eight for the single-row kernel, copies linear
 * weights, and dispatches calls to the kernels in engine_kernels.c, on one thread or split
 * over a gy_pool. The layout and the reasons for it are in docs/internals/engine.md.
 */
#include "models/engine_int.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* ------------------------------------------------------------------ compilation */

/*
 * Lays tree @p tr out at pool[*next ..]: the root first, then the two children of each split
 * as an adjacent pair, pairs allocated in depth-first order (left subtree before right).
 * @p stack has room for 2 * n_nodes entries. Records the tree's depth.
 */
static void tree_emit(struct gy_engine *e, const struct gy_tree *tr, float weight, int weighted,
                      uint32_t *next, uint32_t *stack, uint32_t *depth_out)
{
    uint32_t sp = 0, maxd = 0, leaf_off = 2 * (uint32_t)e->n_features * e->slot_bytes;
    uint32_t root = (*next)++;

    /* The stack holds (source node, pool position, depth) triples. */
    stack[sp++] = 0;
    stack[sp++] = root;
    stack[sp++] = 0;
    while (sp) {
        uint32_t d = stack[--sp], pos = stack[--sp], src = stack[--sp];
        const struct gy_tree_node *nd = &tr->nodes[src];
        struct gy__engine_node *out = &e->pool[pos];
        if (d > maxd)
            maxd = d;
        if (nd->left < 0) {
            out->thr = gy__engine_key(INFINITY);
            out->off = leaf_off;
            out->left = pos;
            /* Exactly the reference's leaf * weight, done once here. */
            out->leaf = weighted ? nd->value * weight : nd->value;
            continue;
        }
        out->thr = gy__engine_key(nd->value);
        out->off = (2 * nd->feature + (nd->default_left ? 1u : 0u)) * e->slot_bytes;
        out->left = *next;
        out->leaf = 0.0f;
        *next += 2;
        /* Right pushed first so that the left subtree is laid out first. */
        stack[sp++] = (uint32_t)nd->right;
        stack[sp++] = out->left + 1;
        stack[sp++] = d + 1;
        stack[sp++] = (uint32_t)nd->left;
        stack[sp++] = out->left;
        stack[sp++] = d + 1;
    }
    *depth_out = maxd;
}

/*
 * Builds the dense copies (engine_int.h) of the trees that qualify, from the pool. @p map is
 * scratch for 2^(GY__ENGINE_DENSE_DEPTH + 1) entries.
 */
static enum gy_status dense_build(struct gy_engine *e, uint32_t *map)
{
    size_t nd = 0, nl = 0;

    for (uint32_t i = 0; i < e->n_trees; i++) {
        uint32_t d = e->depth[i];
        uint32_t end = i + 1 < e->n_trees ? e->root[i + 1] : (uint32_t)e->n_pool;
        size_t full;
        e->dbase[i] = UINT32_MAX;
        if (d > GY__ENGINE_DENSE_DEPTH)
            continue;
        full = ((size_t)2 << d) - 1;
        if (full > GY__ENGINE_DENSE_BLOWUP * (size_t)(end - e->root[i]))
            continue;
        e->dbase[i] = (uint32_t)nd;
        e->dlbase[i] = (uint32_t)nl;
        nd += full;
        nl += (size_t)1 << d;
    }
    e->n_dense = nd;
    e->n_dleaf = nl;
    e->dense_mem = gy_malloc((nd ? nd : 1) * sizeof(struct gy__engine_dnode) + 63);
    e->dleaf = gy_malloc((nl ? nl : 1) * sizeof(float));
    if (!e->dense_mem || !e->dleaf)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    e->dense = (struct gy__engine_dnode *)(((uintptr_t)e->dense_mem + 63) & ~(uintptr_t)63);
    for (uint32_t i = 0; i < e->n_trees; i++) {
        uint32_t d = e->depth[i];
        size_t inner; /* positions above the last level */
        struct gy__engine_dnode *dn;
        float *lf;
        if (e->dbase[i] == UINT32_MAX)
            continue;
        inner = ((size_t)1 << d) - 1;
        dn = e->dense + e->dbase[i];
        lf = e->dleaf + e->dlbase[i];
        /* map[p]: the pool node at dense position p (a leaf repeats down its subtree). */
        map[0] = e->root[i];
        for (size_t p = 0; p < inner + ((size_t)1 << d); p++) {
            const struct gy__engine_node *q = &e->pool[map[p]];
            int leaf = q->left == map[p];
            if (p >= inner) {
                lf[p - inner] = q->leaf;
                continue;
            }
            dn[p].thr = q->thr; /* for a leaf: key(+inf) on the zero slot, always left */
            dn[p].off = q->off;
            map[2 * p + 1] = q->left;
            map[2 * p + 2] = leaf ? q->left : q->left + 1;
        }
    }
    return GY_OK;
}

enum gy_status gy_engine_create_trees(const struct gy_trees *t, struct gy_engine **out)
{
    struct gy_engine *e = NULL;
    uint32_t *stack = NULL, maxn = 1, next = 0;
    enum gy_status rc;

    *out = NULL;
    /* The layout relies on validated trees (reachable binary trees, finite thresholds). */
    rc = gy_model_trees_validate(t);
    if (rc)
        return rc == GY_E_NOMEM ? rc : gy_error_wrap(GY_E_INVALID, "engine");
    e = gy_calloc(1, sizeof(*e));
    if (!e)
        goto nomem;
    e->kind = GY_MODEL_TREES;
    e->link = t->link;
    e->n_features = t->n_features;
    e->n_margins = t->n_groups;
    e->n_outputs = gy_model_link_n_outputs(t->link, t->n_groups);
    e->n_slots = 2 * t->n_features + 1;
    e->base_margin = t->base_margin;
    e->n_trees = t->n_trees;
    e->n_pool = t->n_pool;
    e->batch_ok = t->n_features <= GY__ENGINE_BATCH_MAX_FEATURES;
    e->slot_bytes = e->batch_ok ? GY__ENGINE_BLOCK * sizeof(float) : sizeof(float);
    e->n_blocks = (t->n_trees + GY__ENGINE_LANES - 1) / GY__ENGINE_LANES;
    e->pool_mem = gy_malloc((e->n_pool ? e->n_pool : 1) * sizeof(struct gy__engine_node) + 63);
    e->root = gy_calloc(t->n_trees ? t->n_trees : 1, sizeof(uint32_t));
    e->depth = gy_calloc(t->n_trees ? t->n_trees : 1, sizeof(uint32_t));
    e->group = gy_calloc(t->n_trees ? t->n_trees : 1, sizeof(uint32_t));
    e->blocks = gy_calloc(e->n_blocks ? e->n_blocks : 1, sizeof(*e->blocks));
    e->dbase = gy_calloc(t->n_trees ? t->n_trees : 1, sizeof(uint32_t));
    e->dlbase = gy_calloc(t->n_trees ? t->n_trees : 1, sizeof(uint32_t));
    for (uint32_t i = 0; i < t->n_trees; i++)
        maxn = GY_MAX(maxn, t->trees[i].n_nodes);
    /* The stack holds 3 entries per node; dense_build's map 2^(DENSE_DEPTH + 1). */
    maxn = GY_MAX(maxn, (2u << GY__ENGINE_DENSE_DEPTH) / 3 + 1);
    stack = gy_malloc(3 * (size_t)maxn * sizeof(uint32_t));
    if (!e->pool_mem || !e->root || !e->depth || !e->group || !e->blocks || !e->dbase ||
        !e->dlbase || !stack)
        goto nomem;
    e->pool = (struct gy__engine_node *)(((uintptr_t)e->pool_mem + 63) & ~(uintptr_t)63);
    for (uint32_t i = 0; i < t->n_trees; i++) {
        const struct gy_tree *tr = &t->trees[i];
        e->root[i] = next;
        e->group[i] = tr->group;
        tree_emit(e, tr, tr->weight, t->has_weights, &next, stack, &e->depth[i]);
    }
    if (GY_NEVER(next != e->n_pool)) {
        rc = gy_error_set(GY_E_INTERNAL, "engine: laid out %u of %zu nodes", next, e->n_pool);
        goto fail;
    }
    if ((rc = dense_build(e, stack)) != GY_OK)
        goto fail;
    for (uint32_t b = 0; b < e->n_blocks; b++) {
        struct gy__engine_block *bl = &e->blocks[b];
        bl->first = b * GY__ENGINE_LANES;
        bl->n = GY_MIN(GY__ENGINE_LANES, t->n_trees - bl->first);
        for (uint32_t k = 0; k < GY__ENGINE_LANES; k++) {
            /* Missing lanes of a short last block walk the first tree and are not added. */
            uint32_t ti = bl->first + (k < bl->n ? k : 0);
            bl->root[k] = e->root[ti];
            if (k < bl->n)
                bl->depth = GY_MAX(bl->depth, e->depth[ti]);
        }
    }
    gy_free(stack);
    *out = e;
    return GY_OK;
nomem:
    rc = gy_error_set(GY_E_NOMEM, "out of memory");
fail:
    gy_free(stack);
    gy_engine_free(e);
    return rc;
}

enum gy_status gy_engine_create_linear(const struct gy_linear *l, struct gy_engine **out)
{
    struct gy_engine *e;
    enum gy_status rc;
    size_t nw;

    *out = NULL;
    rc = gy_model_linear_validate(l);
    if (rc)
        return rc == GY_E_NOMEM ? rc : gy_error_wrap(GY_E_INVALID, "engine");
    nw = (size_t)l->n_outputs * l->n_features;
    e = gy_calloc(1, sizeof(*e));
    if (!e)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    e->kind = GY_MODEL_LINEAR;
    e->link = l->link;
    e->n_features = l->n_features;
    e->n_margins = l->n_outputs;
    e->n_outputs = gy_model_link_n_outputs(l->link, l->n_outputs);
    e->weights = gy_malloc(nw * sizeof(double));
    e->intercepts = gy_malloc((size_t)l->n_outputs * sizeof(double));
    if (!e->weights || !e->intercepts) {
        gy_engine_free(e);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    memcpy(e->weights, l->weights, nw * sizeof(double));
    memcpy(e->intercepts, l->intercepts, (size_t)l->n_outputs * sizeof(double));
    *out = e;
    return GY_OK;
}

enum gy_status gy_engine_create(const struct gy_model_bundle *b, struct gy_engine **out)
{
    if (gy_model_bundle_kind(b) == GY_MODEL_TREES)
        return gy_engine_create_trees(gy_model_bundle_trees(b), out);
    return gy_engine_create_linear(gy_model_bundle_linear(b), out);
}

void gy_engine_free(struct gy_engine *e)
{
    if (!e)
        return;
    gy_free(e->pool_mem);
    gy_free(e->root);
    gy_free(e->depth);
    gy_free(e->group);
    gy_free(e->blocks);
    gy_free(e->dense_mem);
    gy_free(e->dleaf);
    gy_free(e->dbase);
    gy_free(e->dlbase);
    gy_free(e->weights);
    gy_free(e->intercepts);
    gy_free(e);
}

/* ------------------------------------------------------------------ shape */

size_t gy_engine_n_features(const struct gy_engine *e)
{
    return e->n_features;
}

size_t gy_engine_n_margins(const struct gy_engine *e)
{
    return e->n_margins;
}

size_t gy_engine_n_outputs(const struct gy_engine *e)
{
    return e->n_outputs;
}

size_t gy_engine_memory(const struct gy_engine *e)
{
    size_t n = sizeof(*e);
    if (e->kind == GY_MODEL_TREES) {
        n += e->n_pool * sizeof(struct gy__engine_node) + 63;
        n += 5 * (size_t)e->n_trees * sizeof(uint32_t);
        n += e->n_dense * sizeof(struct gy__engine_dnode) + 63 + e->n_dleaf * sizeof(float);
        n += e->n_blocks * sizeof(struct gy__engine_block);
    } else {
        n += (e->n_margins * e->n_features + e->n_margins) * sizeof(double);
    }
    return n;
}

/* Whether a call of @p nrows rows runs the batch kernel. */
static int use_batch(const struct gy_engine *e, size_t nrows)
{
    return e->kind == GY_MODEL_TREES && e->batch_ok && nrows >= GY__ENGINE_BATCH_MIN_ROWS;
}

size_t gy_engine_scratch_size(const struct gy_engine *e, size_t nrows)
{
    if (e->kind == GY_MODEL_LINEAR)
        return gy__engine_align64(4 * e->n_margins * sizeof(double));
    if (use_batch(e, nrows))
        return gy__engine_align64((size_t)e->n_slots * GY__ENGINE_BLOCK * sizeof(float)) +
               gy__engine_align64(GY__ENGINE_BLOCK * e->n_margins * sizeof(float));
    return gy__engine_align64((size_t)e->n_slots * e->slot_bytes) +
           gy__engine_align64(e->n_margins * sizeof(float));
}

/* ------------------------------------------------------------------ prediction */

void gy_engine_predict(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                       float *margins, float *outputs)
{
    if (nrows == 0 || (!margins && !outputs))
        return;
    if (e->kind == GY_MODEL_LINEAR)
        gy__engine_linear(e, x, nrows, scratch, margins, outputs);
    else if (use_batch(e, nrows))
        gy__engine_trees_batch(e, x, nrows, scratch, margins, outputs);
    else
        gy__engine_trees_rows(e, x, nrows, scratch, margins, outputs);
}

/* Rows per part below which a call is not split over threads. */
#define PARALLEL_MIN_ROWS 128

/* A count of unfinished parts that the calling thread waits on (not the whole pool). */
struct latch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int left;
};

struct part {
    const struct gy_engine *e;
    const float *x;
    size_t nrows;
    void *scratch;
    float *margins, *outputs;
    struct latch *latch;
};

static void part_run(void *arg)
{
    struct part *p = arg;
    gy_engine_predict(p->e, p->x, p->nrows, p->scratch, p->margins, p->outputs);
    if (p->latch) {
        pthread_mutex_lock(&p->latch->mu);
        if (--p->latch->left == 0)
            pthread_cond_signal(&p->latch->cv);
        pthread_mutex_unlock(&p->latch->mu);
    }
}

enum gy_status gy_engine_predict_parallel(const struct gy_engine *e, struct gy_pool *pool,
                                          const float *x, size_t nrows, float *margins,
                                          float *outputs)
{
    struct part parts[64];
    struct latch latch;
    size_t nparts = 1, per, sz, done = 0, nf = e->n_features;
    size_t nm = e->n_margins, no = e->n_outputs;
    void *mem;
    char *base;
    enum gy_status rc = GY_OK;

    if (nrows == 0 || (!margins && !outputs))
        return GY_OK;
    if (pool) {
        nparts = (size_t)gy_pool_size(pool) + 1; /* the caller works too */
        nparts = GY_MIN(nparts, nrows / PARALLEL_MIN_ROWS);
        nparts = GY_MIN(nparts, GY_ARRAY_LEN(parts));
        if (nparts < 1)
            nparts = 1;
    }
    per = (nrows + nparts - 1) / nparts;
    sz = gy__engine_align64(gy_engine_scratch_size(e, per));
    mem = gy_malloc(nparts * sz + 63);
    if (!mem)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    base = (char *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    for (size_t i = 0; i < nparts; i++) {
        size_t r0 = done, n = GY_MIN(per, nrows - done);
        parts[i] = (struct part){e,
                                 x + r0 * nf,
                                 n,
                                 base + i * sz,
                                 margins ? margins + r0 * nm : NULL,
                                 outputs ? outputs + r0 * no : NULL,
                                 NULL};
        done += n;
    }
    nparts = GY_MIN(nparts, (nrows + per - 1) / per);
    if (nparts == 1) {
        part_run(&parts[0]);
        gy_free(mem);
        return GY_OK;
    }
    pthread_mutex_init(&latch.mu, NULL);
    pthread_cond_init(&latch.cv, NULL);
    latch.left = 0;
    for (size_t i = 1; i < nparts; i++) {
        parts[i].latch = &latch;
        pthread_mutex_lock(&latch.mu);
        latch.left++;
        pthread_mutex_unlock(&latch.mu);
        if (gy_pool_submit(pool, part_run, &parts[i]) != GY_OK) {
            /* Could not queue it: run it here instead. */
            parts[i].latch = NULL;
            pthread_mutex_lock(&latch.mu);
            latch.left--;
            pthread_mutex_unlock(&latch.mu);
            part_run(&parts[i]);
        }
    }
    part_run(&parts[0]);
    pthread_mutex_lock(&latch.mu);
    while (latch.left > 0)
        pthread_cond_wait(&latch.cv, &latch.mu);
    pthread_mutex_unlock(&latch.mu);
    pthread_cond_destroy(&latch.cv);
    pthread_mutex_destroy(&latch.mu);
    gy_free(mem);
    return rc;
}
