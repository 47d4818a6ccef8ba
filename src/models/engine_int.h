/* SPDX-License-Identifier: MIT */
/*
 * engine_int.h - private layout of the fast engine, shared by engine.c (compilation, the
 * dispatcher, threads) and engine_kernels.c (the tree and linear kernels). Not for other
 * modules; tests include it to check the compiled layout. docs/internals/engine.md explains
 * every field.
 */
#ifndef GY_ENGINE_INT_H
#define GY_ENGINE_INT_H

#include "models/models_int.h"

/** Trees walked together by the single-row kernel. */
#define GY__ENGINE_LANES 8
/** Rows in one block of the batch kernel (a power of two: staging is feature-major). */
#define GY__ENGINE_BLOCK_SHIFT 6
#define GY__ENGINE_BLOCK (1u << GY__ENGINE_BLOCK_SHIFT)
/**
 * Trees deeper than this are walked with a loop that stops at the leaf instead of a fixed
 * number of steps (a lopsided tree would otherwise cost its depth on every walk).
 */
#define GY__ENGINE_FIXED_DEPTH 64
/** Widest model the batch kernel stages in blocks (slots x block rows x 4 bytes = 512 KiB). */
#define GY__ENGINE_BATCH_MAX_FEATURES 1023
/** Smallest call that uses the batch kernel; fewer rows run the single-row kernel per row. */
#define GY__ENGINE_BATCH_MIN_ROWS 6
/**
 * The batch kernel walks a tree in its dense (complete binary tree) copy when its depth is at
 * most this and the copy has at most GY__ENGINE_DENSE_BLOWUP times as many nodes as the tree.
 */
#define GY__ENGINE_DENSE_DEPTH 12
#define GY__ENGINE_DENSE_BLOWUP 4

/*
 * One node of the compiled pool, 16 bytes, four to a cache line.
 *
 * Comparisons are done on integer keys: gy__engine_key maps a float to a uint32 whose
 * unsigned order is the float order (-0 is first made +0, which compares equal to it), so
 * a step is integer loads, one integer compare and an add - shorter latency than a float
 * compare, whose result must cross from the FP unit to the flags.
 *
 * A row is staged into 2F+1 key "slots": slot 2f holds feature f with NaN replaced by +inf,
 * slot 2f+1 the same with NaN replaced by -inf, slot 2F holds the key of 0. A split on
 * feature f with default direction dl reads slot 2f+dl and goes right iff key >= thr: for a
 * number that is exactly !(x < t); a missing value reads +inf (goes right) or -inf (goes left,
 * dl = 1), since thresholds are finite. A leaf reads the zero slot with thr = key(+inf), so it
 * always "goes left" to itself: every walk can run a fixed number of steps.
 *
 * Slots are slot_bytes apart: GY__ENGINE_BLOCK keys, so that the batch kernel stages a block
 * of rows feature-major (slot s of row r at s * BLOCK + r) and a node holds the ready byte
 * offset of its slot for both kernels (the single-row kernel stages row 0 only); for models
 * wider than GY__ENGINE_BATCH_MAX_FEATURES slots are 4 bytes apart and only the single-row
 * kernel runs.
 */
struct gy__engine_node {
    uint32_t thr;  /* key of the split threshold; key of +inf for a leaf */
    uint32_t off;  /* byte offset of the slot read: (2 * feature + default_left) * slot_bytes,
                      2F * slot_bytes for a leaf */
    uint32_t left; /* pool index of the left child (right = left + 1); itself for a leaf */
    float leaf;    /* leaf value times the tree's DART weight; 0 for a split */
};

/** The order-preserving key of a non-NaN float: unsigned order of keys = float order. */
static inline uint32_t gy__engine_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if (u == 0x80000000u) /* -0 equals +0 */
        u = 0;
    return u ^ ((uint32_t) - (int32_t)(u >> 31) | 0x80000000u);
}

/*
 * A node of a tree's dense copy, for the batch kernel: the tree as a complete binary tree of
 * its depth d, node p's children at 2p+1 (left) and 2p+2 (right), so a node needs no child
 * index and a step is `p = 2p + 2 - (key < thr)`. A leaf above the last level becomes splits
 * that always go left (thr = key(+inf) on the zero slot) down to level d, where the leaf
 * values sit in a separate array indexed by p - (2^d - 1).
 */
struct gy__engine_dnode {
    uint32_t thr; /* key of the threshold, as in gy__engine_node */
    uint32_t off; /* byte offset of the slot read */
};

/* Up to GY__ENGINE_LANES consecutive trees walked together for one row. */
struct gy__engine_block {
    uint32_t root[GY__ENGINE_LANES];
    uint32_t first; /* index of the first tree */
    uint32_t n;     /* trees in this block, 1 .. GY__ENGINE_LANES */
    uint32_t depth; /* deepest of them (steps of the fixed walk) */
};

struct gy_engine {
    enum gy_model_kind kind;
    enum gy_link link;
    size_t n_features, n_margins, n_outputs;

    /* trees */
    void *pool_mem;               /* allocation holding the pool (unaligned) */
    struct gy__engine_node *pool; /* 64-byte aligned, n_pool nodes, tree after tree */
    size_t n_pool;
    uint32_t n_trees;
    uint32_t *root, *depth, *group; /* per tree */
    void *dense_mem;                /* allocation holding the dense copies (unaligned) */
    struct gy__engine_dnode *dense; /* 64-byte aligned: dense copies, tree after tree */
    float *dleaf;                   /* leaf values of the dense copies */
    size_t n_dense, n_dleaf;
    uint32_t *dbase;  /* per tree: its dense copy's first node, UINT32_MAX for none */
    uint32_t *dlbase; /* per tree: its first leaf in dleaf */
    struct gy__engine_block *blocks;
    uint32_t n_blocks;
    uint32_t n_slots;    /* 2F + 1 */
    uint32_t slot_bytes; /* distance between slots in staging: BLOCK floats, or 4 when wide */
    float base_margin;
    int batch_ok; /* the batch kernel is used for calls of >= GY__ENGINE_BATCH_MIN_ROWS rows */

    /* linear */
    double *weights;    /* n_margins x n_features */
    double *intercepts; /* n_margins */
};

/** Rounds @p n up to a multiple of 64. */
static inline size_t gy__engine_align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/** Single-row kernel on @p nrows rows, one after another. @p scratch as gy_engine_predict. */
void gy__engine_trees_rows(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                           float *margins, float *outputs);

/** Batch kernel: rows in blocks of GY__ENGINE_BLOCK walked tree by tree. */
void gy__engine_trees_batch(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                            float *margins, float *outputs);

/** Linear models: margins in double as gy_model_linear_predict, rows interleaved. */
void gy__engine_linear(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                       float *margins, float *outputs);

#endif /* GY_ENGINE_INT_H */
