/* SPDX-License-Identifier: MIT */
/*
 * test_engine.c - the fast engine (src/models/engine.c, engine_kernels.c) against the
 * reference evaluator, bit for bit: random ensembles of random shapes (lone leaves, chains
 * deeper than the fixed walk, full trees), thresholds shared with the inputs so that values
 * land exactly on splits, NaN both ways, +-Inf, -0, every link, several groups (also more
 * than the reference's 64-margin local buffer), DART weights, batch sizes around the block
 * boundaries, either output alone, the wide-model path, threads; linear models with every
 * link; and the compiled layout itself (sibling pairs, leaf self-loops, alignment).
 */
#include "fixture.h"

#include "models/engine_int.h"

struct rng {
    uint64_t s;
};

static uint64_t rnext(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double runif(struct rng *r)
{
    return (double)(rnext(r) >> 11) * 0x1p-53;
}

static uint32_t rint_(struct rng *r, uint32_t n)
{
    return (uint32_t)(rnext(r) % n);
}

/* Thresholds shared by the trees and the inputs, so that many inputs sit exactly on splits. */
#define NTHR 48
static float thr_pool[NTHR];

static void thr_pool_init(struct rng *r)
{
    for (int i = 0; i < NTHR; i++)
        thr_pool[i] = i < 8 ? (float)(i - 4) * 0.5f : (float)((runif(r) - 0.5) * 8.0);
    thr_pool[8] = 0.0f;
    thr_pool[9] = -0.0f;
    thr_pool[10] = 1e30f;
    thr_pool[11] = -1e30f;
}

/* A tree shape: left/right arrays (node 0 root, -1 for a leaf). */
struct shape {
    uint32_t n, cap;
    int32_t *left, *right;
    uint32_t *depth;
};

static void shape_alloc(struct shape *sh, uint32_t cap)
{
    sh->cap = cap;
    sh->left = gy_malloc(cap * sizeof(int32_t));
    sh->right = gy_malloc(cap * sizeof(int32_t));
    sh->depth = gy_malloc(cap * sizeof(uint32_t));
    cr_assert(sh->left && sh->right && sh->depth);
}

static void shape_free(struct shape *sh)
{
    gy_free(sh->left);
    gy_free(sh->right);
    gy_free(sh->depth);
}

/* Random splits, breadth first, up to sh->cap nodes and depth maxd; p: chance to split. */
static void shape_random(struct rng *r, struct shape *sh, uint32_t maxd, double p)
{
    sh->n = 1;
    sh->depth[0] = 0;
    for (uint32_t i = 0; i < sh->n; i++) {
        sh->left[i] = sh->right[i] = -1;
        if (sh->depth[i] < maxd && sh->n + 2 <= sh->cap && runif(r) < p) {
            sh->left[i] = (int32_t)sh->n;
            sh->right[i] = (int32_t)sh->n + 1;
            sh->depth[sh->n] = sh->depth[sh->n + 1] = sh->depth[i] + 1;
            sh->n += 2;
        }
    }
}

/* A chain of @p depth splits: each split has a leaf on one side (alternating). */
static void shape_chain(struct shape *sh, uint32_t depth)
{
    uint32_t cur = 0;
    cr_assert(2 * depth + 1 <= sh->cap);
    sh->n = 1;
    sh->left[0] = sh->right[0] = -1;
    for (uint32_t d = 0; d < depth; d++) {
        uint32_t a = sh->n, b = sh->n + 1;
        sh->left[cur] = (int32_t)a;
        sh->right[cur] = (int32_t)b;
        sh->left[a] = sh->right[a] = sh->left[b] = sh->right[b] = -1;
        sh->n += 2;
        cur = d % 2 ? a : b;
    }
}

/* Copies a shape into tree @p tr with ids permuted (root stays 0), random splits and leaves. */
static void tree_fill(struct rng *r, struct gy_tree *tr, const struct shape *sh, uint32_t nf,
                      double leaf_scale)
{
    uint32_t *perm = gy_malloc(sh->n * sizeof(uint32_t));
    cr_assert_not_null(perm);
    perm[0] = 0;
    for (uint32_t i = 1; i < sh->n; i++)
        perm[i] = i;
    for (uint32_t i = sh->n - 1; i > 1; i--) {
        uint32_t j = 1 + rint_(r, i);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t i = 0; i < sh->n; i++) {
        struct gy_tree_node *nd = &tr->nodes[perm[i]];
        if (sh->left[i] < 0) {
            *nd = (struct gy_tree_node){-1, -1, 0, 0,
                                        (float)((runif(r) - 0.5) * leaf_scale * (1 + rint_(r, 8)))};
            continue;
        }
        nd->left = (int32_t)perm[sh->left[i]];
        nd->right = (int32_t)perm[sh->right[i]];
        nd->feature = rint_(r, nf);
        nd->default_left = (uint8_t)rint_(r, 2);
        nd->value = runif(r) < 0.8 ? thr_pool[rint_(r, NTHR)] : (float)((runif(r) - 0.5) * 10.0);
    }
    gy_free(perm);
}

struct ens_opts {
    const char *objective;
    uint32_t nf, ng, n_trees, maxd, cap;
    int dart, lone;
    uint32_t chain; /* depth of the chain trees (every 7th tree), 0: none */
};

/* A random ensemble (validated) from @p seed. */
static struct gy_trees *ens_make(uint64_t seed, const struct ens_opts *o)
{
    struct rng r = {seed};
    struct shape *sh = gy_calloc(o->n_trees ? o->n_trees : 1, sizeof(*sh));
    uint32_t *nn = gy_calloc(o->n_trees ? o->n_trees : 1, sizeof(uint32_t));
    struct gy_trees *t;
    enum gy_link link;
    enum gy_base_rule rule;
    float base;
    cr_assert(sh && nn);
    cr_assert_eq(gy_model_objective_lookup(o->objective, &link, &rule), GY_OK);
    base = rule == GY_BASE_LOGIT ? 0.3f : rule == GY_BASE_LOG ? 1.7f : (float)(runif(&r) * 2 - 1);
    thr_pool_init(&r);
    for (uint32_t i = 0; i < o->n_trees; i++) {
        shape_alloc(&sh[i], GY_MAX(o->cap, 2 * o->chain + 1));
        if (o->lone && i % 5 == 1)
            shape_random(&r, &sh[i], 0, 0);
        else if (o->chain && i % 7 == 3)
            shape_chain(&sh[i], o->chain);
        else
            shape_random(&r, &sh[i], o->maxd, 0.5 + 0.5 * runif(&r));
        nn[i] = sh[i].n;
    }
    cr_assert_eq(gy_model_trees_create(o->objective, o->nf, o->ng, base, o->n_trees, nn, &t), GY_OK,
                 "%s", gy_error_msg());
    for (uint32_t i = 0; i < o->n_trees; i++) {
        tree_fill(&r, &t->trees[i], &sh[i], o->nf, i % 3 ? 1.0 : 0.01);
        t->trees[i].group = (i * 7 + i / 3) % o->ng;
        if (o->dart) {
            t->trees[i].weight = (float)(0.05 + runif(&r));
            t->has_weights = 1;
        }
        shape_free(&sh[i]);
    }
    gy_free(sh);
    gy_free(nn);
    cr_assert_eq(gy_model_trees_validate(t), GY_OK, "%s", gy_error_msg());
    return t;
}

/* Rows: NaN, exact thresholds, +-Inf, +-0 and plain numbers. */
static float *rows_make(uint64_t seed, size_t n, uint32_t nf)
{
    struct rng r = {seed ^ 0x5555};
    float *x = gy_malloc(n * nf * sizeof(float));
    cr_assert_not_null(x);
    for (size_t i = 0; i < n * nf; i++) {
        double u = runif(&r);
        if (u < 0.15)
            x[i] = NAN;
        else if (u < 0.55)
            x[i] = thr_pool[rint_(&r, NTHR)];
        else if (u < 0.58)
            x[i] = INFINITY;
        else if (u < 0.61)
            x[i] = -INFINITY;
        else if (u < 0.63)
            x[i] = -0.0f;
        else if (u < 0.65)
            x[i] = nextafterf(thr_pool[rint_(&r, NTHR)], u < 0.64 ? INFINITY : -INFINITY);
        else
            x[i] = (float)((runif(&r) - 0.5) * 10.0);
    }
    return x;
}

static void *scratch_new(const struct gy_engine *e, size_t nrows, void **raw)
{
    size_t n = gy_engine_scratch_size(e, nrows);
    *raw = gy_malloc(n + 64);
    cr_assert_not_null(*raw);
    /* Poison it: the kernels must not read scratch they did not write. */
    memset(*raw, 0x7f, n + 64);
    return (void *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
}

/* Compares the engine with the reference on @p n rows: margins+outputs, each alone. */
static void check_rows(const struct gy_engine *e, const struct gy_trees *t,
                       const struct gy_linear *l, const float *x, size_t n, const char *what)
{
    size_t nm = gy_engine_n_margins(e), no = gy_engine_n_outputs(e);
    float *rm = gy_malloc(n * nm * 4 + 4), *ro = gy_malloc(n * no * 4 + 4);
    float *em = gy_malloc(n * nm * 4 + 4), *eo = gy_malloc(n * no * 4 + 4);
    void *raw, *s = scratch_new(e, n, &raw);

    cr_assert(rm && ro && em && eo);
    if (t)
        gy_model_trees_predict(t, x, n, rm, ro);
    else
        gy_model_linear_predict(l, x, n, rm, ro);
    for (int mode = 0; mode < 3; mode++) {
        memset(em, 0xa5, n * nm * 4);
        memset(eo, 0xa5, n * no * 4);
        gy_engine_predict(e, x, n, s, mode == 2 ? NULL : em, mode == 1 ? NULL : eo);
        for (size_t i = 0; mode != 2 && i < n * nm; i++)
            cr_assert(memcmp(&em[i], &rm[i], 4) == 0,
                      "%s: %zu rows, mode %d: margin %zu (row %zu): engine %.9g, reference %.9g",
                      what, n, mode, i, i / nm, (double)em[i], (double)rm[i]);
        for (size_t i = 0; mode != 1 && i < n * no; i++)
            cr_assert(memcmp(&eo[i], &ro[i], 4) == 0,
                      "%s: %zu rows, mode %d: output %zu (row %zu): engine %.9g, reference %.9g",
                      what, n, mode, i, i / no, (double)eo[i], (double)ro[i]);
    }
    gy_free(raw);
    gy_free(rm);
    gy_free(ro);
    gy_free(em);
    gy_free(eo);
}

static const size_t batch_sizes[] = {1,  2,  3,  4,  5,  7,   8,   9,   15,
                                     16, 17, 63, 64, 65, 127, 128, 129, 300};

/* Counts of trees with and without a dense copy (the batch kernel's two walks). */
static uint32_t dense_trees, sparse_trees;

static void check_ensemble(uint64_t seed, const struct ens_opts *o)
{
    struct gy_trees *t = ens_make(seed, o);
    struct gy_engine *e;
    float *x = rows_make(seed, 300, o->nf);
    char what[160];

    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK, "%s", gy_error_msg());
    for (uint32_t i = 0; i < t->n_trees; i++) {
        if (e->dbase[i] == UINT32_MAX)
            sparse_trees++;
        else
            dense_trees++;
    }
    cr_assert_eq(gy_engine_n_features(e), o->nf);
    cr_assert_eq(gy_engine_n_margins(e), o->ng);
    cr_assert_eq(gy_engine_n_outputs(e), gy_model_link_n_outputs(t->link, o->ng));
    snprintf(what, sizeof what, "%s seed %llu (%u trees, %u groups, depth <= %u%s%s)", o->objective,
             (unsigned long long)seed, o->n_trees, o->ng, o->maxd, o->dart ? ", dart" : "",
             o->chain ? ", chains" : "");
    for (size_t i = 0; i < GY_ARRAY_LEN(batch_sizes); i++)
        check_rows(e, t, NULL, x, batch_sizes[i], what);
    /* A batch that starts mid-way through the rows (unaligned input). */
    check_rows(e, t, NULL, x + 3 * o->nf, 101, what);
    gy_engine_free(e);
    gy_model_trees_free(t);
    gy_free(x);
}

Test(engine, every_link_matches_reference)
{
    static const struct {
        const char *objective;
        uint32_t ng;
    } objs[] = {
        {"binary:logistic", 1},  {"reg:squarederror", 1}, {"count:poisson", 1},
        {"binary:hinge", 1},     {"multi:softprob", 3},   {"multi:softmax", 4},
        {"reg:squarederror", 3}, {"reg:gamma", 1},        {"binary:logitraw", 1},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(objs); i++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            struct ens_opts o = {objs[i].objective,
                                 1 + (uint32_t)(seed * 5 % 13),
                                 objs[i].ng,
                                 (uint32_t)(seed * 17 % 45) + 1,
                                 (uint32_t)(seed * 3 + 1),
                                 400,
                                 0,
                                 (int)seed % 2,
                                 0};
            check_ensemble(seed * 100 + i, &o);
        }
    }
    cr_assert(dense_trees > 100 && sparse_trees > 50, "both walks ran: %u dense, %u not",
              dense_trees, sparse_trees);
}

Test(engine, dart_weights_lone_leaves_and_groups)
{
    struct ens_opts o = {"multi:softprob", 7, 5, 61, 8, 300, 1, 1, 0};
    check_ensemble(42, &o);
    o.objective = "binary:logistic";
    o.ng = 1;
    check_ensemble(43, &o);
    o.objective = "multi:softmax";
    o.ng = 3;
    o.dart = 0;
    check_ensemble(44, &o);
}

Test(engine, many_groups_beyond_the_reference_buffer)
{
    struct ens_opts o = {"multi:softmax", 5, 70, 140, 3, 20, 0, 1, 0};
    check_ensemble(7, &o);
    o.objective = "multi:softprob";
    check_ensemble(8, &o);
}

Test(engine, deep_and_lopsided_trees)
{
    /* Chains deeper than the fixed walk, mixed with ordinary trees in the same blocks. */
    struct ens_opts o = {"reg:squarederror", 9, 1, 30, 12, 400, 0, 1, 200};
    check_ensemble(11, &o);
    o.chain = 64; /* exactly the fixed-walk limit */
    o.ng = 2;
    check_ensemble(12, &o);
    /* Full trees of depth 10. */
    o.chain = 0;
    o.maxd = 10;
    o.cap = 4095;
    o.lone = 0;
    o.n_trees = 9;
    check_ensemble(13, &o);
    cr_assert_gt(sparse_trees, 8, "the chains have no dense copy");
}

Test(engine, only_lone_leaves_and_no_trees)
{
    const uint32_t nn[3] = {1, 1, 1};
    struct gy_trees *t;
    struct gy_engine *e;
    float x[4 * 2] = {1, NAN, 2, 3, -INFINITY, 0, 5, 6};
    cr_assert_eq(gy_model_trees_create("binary:logistic", 2, 1, 0.25f, 3, nn, &t), GY_OK);
    t->trees[0].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 0.5f};
    t->trees[1].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, -0.25f};
    t->trees[2].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 1e-8f};
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK, "%s", gy_error_msg());
    check_rows(e, t, NULL, x, 4, "lone leaves");
    check_rows(e, t, NULL, x, 1, "lone leaves");
    gy_engine_free(e);
    gy_model_trees_free(t);
    /* No trees at all: the margin is the base margin. */
    cr_assert_eq(gy_model_trees_create("count:poisson", 2, 1, 2.5f, 0, nn, &t), GY_OK);
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK, "%s", gy_error_msg());
    check_rows(e, t, NULL, x, 4, "no trees");
    {
        float m, o;
        void *raw, *s = scratch_new(e, 1, &raw);
        gy_engine_predict(e, x, 1, s, &m, &o);
        cr_assert_eq(m, logf(2.5f));
        cr_assert_eq(o, expf(logf(2.5f)));
        gy_free(raw);
    }
    gy_engine_free(e);
    gy_model_trees_free(t);
}

Test(engine, negative_zero_sums_keep_their_sign)
{
    /* base_score 0 with reg:squarederror and leaves of -0: -0 + -0 = -0 must stay -0, and a
     * leaf of +0 turns it into +0 (an engine padding with zeros would get this wrong). */
    const uint32_t nn[2] = {1, 3};
    struct gy_trees *t;
    struct gy_engine *e;
    float x[2] = {-1, 1}, m[2];
    void *raw, *s;
    cr_assert_eq(gy_model_trees_create("reg:squarederror", 1, 1, -0.0f, 2, nn, &t), GY_OK);
    t->trees[0].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, -0.0f};
    t->trees[1].nodes[0] = (struct gy_tree_node){1, 2, 0, 0, 0.0f};
    t->trees[1].nodes[1] = (struct gy_tree_node){-1, -1, 0, 0, -0.0f};
    t->trees[1].nodes[2] = (struct gy_tree_node){-1, -1, 0, 0, 0.0f};
    cr_assert_eq(gy_model_trees_validate(t), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK);
    s = scratch_new(e, 2, &raw);
    gy_engine_predict(e, x, 1, s, m, NULL);
    gy_engine_predict(e, x + 1, 1, s, m + 1, NULL);
    cr_assert(signbit(m[0]) && m[0] == 0, "x < 0: -0 + -0 + -0 is -0");
    cr_assert(!signbit(m[1]) && m[1] == 0, "x >= 0: ... + 0 is +0");
    check_rows(e, t, NULL, x, 2, "signed zeros");
    gy_free(raw);
    gy_engine_free(e);
    gy_model_trees_free(t);
}

Test(engine, the_fixture_by_hand)
{
    /* fx_trees: tree 0 x0 < 0.5 (NaN left) ? 0.25 : (x1 < -1 (NaN right) ? -0.5 : 0.75);
     * tree 1: x2 < 3 (NaN left) ? 0.125 : -0.375; base margin 0. */
    struct gy_trees *t = fx_trees();
    struct gy_engine *e;
    float x[5 * 3] = {0.5f, -1.0f, 3.0f, 0.4999f,   0,        2.999f,   NAN,     NAN,
                      NAN,  1.0f,  NAN,  -INFINITY, INFINITY, -1.0001f, INFINITY};
    const float want[5] = {0.75f - 0.375f, 0.25f + 0.125f, 0.25f + 0.125f, 0.75f + 0.125f,
                           -0.5f - 0.375f};
    float m[5];
    void *raw, *s;
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK);
    s = scratch_new(e, 5, &raw);
    gy_engine_predict(e, x, 5, s, m, NULL);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(m[i], want[i], "row %d: %g, want %g", i, (double)m[i], (double)want[i]);
    gy_engine_predict(e, x + 6, 1, s, m, NULL);
    cr_assert_eq(m[0], want[2]);
    gy_free(raw);
    gy_engine_free(e);
    gy_model_trees_free(t);
}

Test(engine, compiled_layout)
{
    struct ens_opts o = {"binary:logistic", 6, 1, 20, 7, 200, 1, 1, 0};
    struct gy_trees *t = ens_make(5, &o);
    struct gy_engine *e;
    size_t leaves = 0;
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK);
    cr_assert_eq((uintptr_t)e->pool % 64, 0, "the pool is 64-byte aligned");
    cr_assert_eq(sizeof(struct gy__engine_node), 16);
    cr_assert_eq(e->n_pool, t->n_pool);
    cr_assert_eq(e->root[0], 0);
    for (uint32_t i = 0; i < t->n_trees; i++) {
        uint32_t end = i + 1 < t->n_trees ? e->root[i + 1] : (uint32_t)e->n_pool;
        cr_assert_eq(end - e->root[i], t->trees[i].n_nodes, "tree %u is contiguous", i);
        cr_assert_eq(e->depth[i], gy__model_tree_depth(&t->trees[i]));
        for (uint32_t n = e->root[i]; n < end; n++) {
            const struct gy__engine_node *nd = &e->pool[n];
            if (nd->left == n) {
                leaves++;
                cr_assert_eq(nd->thr, gy__engine_key(INFINITY), "leaf threshold +inf");
                cr_assert_eq(nd->off, 2 * o.nf * e->slot_bytes, "leaf reads the zero slot");
            } else {
                cr_assert(nd->left > n && nd->left + 1 < end, "children follow, inside the tree");
                cr_assert(nd->off < 2 * o.nf * e->slot_bytes && nd->off % e->slot_bytes == 0);
            }
        }
    }
    {
        struct gy_model_trees_stats st;
        gy_model_trees_stats(t, &st);
        cr_assert_eq(leaves, st.n_leaves);
    }
    cr_assert_gt(gy_engine_memory(e), e->n_pool * 16);
    cr_assert_eq((uintptr_t)e->dense % 64, 0, "the dense copies are 64-byte aligned");
    cr_assert_geq(gy_engine_scratch_size(e, 1000), gy_engine_scratch_size(e, 1));
    gy_engine_free(e);
    gy_model_trees_free(t);
}

Test(engine, wide_model_uses_the_row_kernel)
{
    struct ens_opts o = {"multi:softprob", 1500, 3, 24, 6, 100, 0, 1, 0};
    struct gy_trees *t = ens_make(77, &o);
    struct gy_engine *e;
    float *x = rows_make(77, 70, o.nf);
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK);
    cr_assert_eq(e->batch_ok, 0);
    check_rows(e, t, NULL, x, 70, "1500 features");
    check_rows(e, t, NULL, x, 1, "1500 features");
    gy_engine_free(e);
    gy_model_trees_free(t);
    gy_free(x);
}

Test(engine, predict_parallel_matches)
{
    struct ens_opts o = {"multi:softprob", 10, 3, 90, 6, 200, 1, 1, 0};
    struct gy_trees *t = ens_make(21, &o);
    struct gy_engine *e;
    struct gy_pool *pool;
    size_t n = 1537;
    float *x = rows_make(21, n, o.nf);
    float *rm = gy_malloc(n * 3 * 4), *ro = gy_malloc(n * 3 * 4);
    float *pm = gy_malloc(n * 3 * 4), *po = gy_malloc(n * 3 * 4);
    cr_assert(rm && ro && pm && po);
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_OK);
    cr_assert_eq(gy_pool_create(3, &pool), GY_OK);
    gy_model_trees_predict(t, x, n, rm, ro);
    for (size_t k = 0; k < 4; k++) {
        size_t rows = k == 0 ? n : k == 1 ? 1 : k == 2 ? 200 : 513;
        memset(pm, 0, n * 12);
        memset(po, 0, n * 12);
        cr_assert_eq(gy_engine_predict_parallel(e, pool, x, rows, pm, po), GY_OK);
        cr_assert(memcmp(pm, rm, rows * 12) == 0, "%zu rows: margins", rows);
        cr_assert(memcmp(po, ro, rows * 12) == 0, "%zu rows: outputs", rows);
    }
    memset(po, 0, n * 12);
    cr_assert_eq(gy_engine_predict_parallel(e, NULL, x, n, NULL, po), GY_OK);
    cr_assert(memcmp(po, ro, n * 12) == 0, "no pool");
    gy_pool_free(pool);
    gy_engine_free(e);
    gy_model_trees_free(t);
    gy_free(x);
    gy_free(rm);
    gy_free(ro);
    gy_free(pm);
    gy_free(po);
}

/* ------------------------------------------------------------------ linear */

static struct gy_linear *linear_random(uint64_t seed, enum gy_link link, uint32_t nf, uint32_t no)
{
    struct rng r = {seed};
    struct gy_linear *l;
    cr_assert_eq(gy_model_linear_create("test", link, nf, no, &l), GY_OK, "%s", gy_error_msg());
    for (uint32_t k = 0; k < no; k++) {
        l->intercepts[k] = (runif(&r) - 0.5) * 3;
        for (uint32_t j = 0; j < nf; j++)
            l->weights[(size_t)k * nf + j] = (runif(&r) - 0.5) * (j % 3 ? 1 : 1e-3);
    }
    return l;
}

Test(engine, linear_matches_reference)
{
    static const struct {
        enum gy_link link;
        uint32_t nf, no;
    } cases[] = {{GY_LINK_IDENTITY, 1, 1},  {GY_LINK_IDENTITY, 28, 1}, {GY_LINK_LOGISTIC, 13, 1},
                 {GY_LINK_SOFTMAX, 7, 3},   {GY_LINK_SOFTMAX, 3, 70},  {GY_LINK_LOGISTIC, 5, 2},
                 {GY_LINK_IDENTITY, 300, 4}};
    for (size_t i = 0; i < GY_ARRAY_LEN(cases); i++) {
        struct gy_linear *l = linear_random(i + 1, cases[i].link, cases[i].nf, cases[i].no);
        struct gy_engine *e;
        struct rng r = {i + 99};
        size_t n = 37;
        float *x = gy_malloc(n * cases[i].nf * 4);
        cr_assert_not_null(x);
        for (size_t k = 0; k < n * cases[i].nf; k++)
            x[k] = runif(&r) < 0.02 ? NAN : (float)((runif(&r) - 0.5) * 50);
        cr_assert_eq(gy_engine_create_linear(l, &e), GY_OK, "%s", gy_error_msg());
        cr_assert_eq(gy_engine_n_margins(e), cases[i].no);
        for (size_t b = 0; b < GY_ARRAY_LEN(batch_sizes) && batch_sizes[b] <= n; b++)
            check_rows(e, NULL, l, x, batch_sizes[b], gy_model_link_name(cases[i].link));
        check_rows(e, NULL, l, x, n, gy_model_link_name(cases[i].link));
        gy_engine_free(e);
        gy_model_linear_free(l);
        gy_free(x);
    }
}

Test(engine, from_a_bundle)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f = fx_identity(3);
    struct gy_model_bundle *b;
    struct gy_engine *e;
    struct gy_buf buf;
    float x[3] = {0.7f, NAN, 1}, m, o, rm, ro;
    void *raw, *s;
    fx_bundle(t, NULL, f, NULL, 0, &buf);
    cr_assert_eq(gy_model_bundle_load(buf.data, buf.len, &b), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_engine_create(b, &e), GY_OK);
    s = scratch_new(e, 1, &raw);
    gy_engine_predict(e, x, 1, s, &m, &o);
    gy_model_predict_matrix(b, x, 1, &rm, &ro);
    cr_assert(memcmp(&m, &rm, 4) == 0 && memcmp(&o, &ro, 4) == 0);
    gy_free(raw);
    gy_engine_free(e);
    gy_model_bundle_free(b);
    gy_buf_free(&buf);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(engine, refuses_an_invalid_ensemble)
{
    struct gy_trees *t = fx_trees();
    struct gy_engine *e = (struct gy_engine *)1;
    t->trees[0].nodes[2].feature = 7; /* not below 3 features */
    cr_assert_eq(gy_engine_create_trees(t, &e), GY_E_INVALID);
    cr_assert_null(e);
    cr_assert(strstr(gy_error_msg(), "feature 7") != NULL, "%s", gy_error_msg());
    gy_model_trees_free(t);
}
