/* SPDX-License-Identifier: MIT */
/*
 * train_int.h - private helpers shared by the files of src/train: the deterministic random
 * generator used by splits, label and weight validation, and a fixed-order parallel loop over
 * row blocks for the linear solvers.
 */
#ifndef GY_TRAIN_INT_H
#define GY_TRAIN_INT_H

#include "train/train.h"

/** splitmix64: a 64-bit state advanced by a constant; integer-only, the same everywhere. */
struct gy__rng {
    uint64_t s;
};

void gy__rng_seed(struct gy__rng *r, uint64_t seed);
uint64_t gy__rng_next(struct gy__rng *r);
/** Uniform integer in [0, bound), bound >= 1, without modulo bias (rejection). */
uint64_t gy__rng_below(struct gy__rng *r, uint64_t bound);

/**
 * Checks sample weights: finite and >= 0 (NULL is fine). @p what names the vector in the
 * error text ("training weights").
 */
enum gy_status gy__check_weights(const float *w, size_t n, const char *what);

/**
 * Runs fn(arg, block) for block = 0..nblocks-1 on up to @p nthread threads (the calling
 * thread included). Blocks are claimed dynamically, so fn must write only per-block output;
 * callers reduce those in block order, which makes results independent of the thread count.
 * @p pool may be NULL (everything runs on the calling thread).
 */
void gy__parallel_blocks(struct gy_pool *pool, size_t nblocks, void (*fn)(void *, size_t),
                         void *arg);

/*
 * The row kernels of the logistic solvers (kernels.c). Parameters are K weight rows of d
 * values, then K intercepts when fi: P = K * d + K * fi. Row i weighs s[i] (1 when s is
 * NULL). Each kernel covers rows [r0, r1) and overwrites its outputs. They are compiled
 * twice, for baseline x86-64 and for AVX2, and pick one at run time; both compute the same
 * operations in the same order (no FMA contraction under -std=c11), so results do not depend
 * on the CPU either, up to the C library's exp and log.
 */
struct gy__lin_pass {
    const float *x;
    size_t d;
    const float *y;
    const double *s;
    size_t K;
    int fi;
    size_t P;
    const double *theta;
};

/** Binary: *f = sum s_i loss_i, g (P values) = its gradient. */
void gy__lin_fg_binary(const struct gy__lin_pass *p, size_t r0, size_t r1, double *f, double *g);
/** Multinomial: as above; @p z is scratch of K doubles. */
void gy__lin_fg_multi(const struct gy__lin_pass *p, size_t r0, size_t r1, double *f, double *g,
                      double *z);
/** Binary: the Hessian sum s_i p_i (1 - p_i) x_i x_i^T (x_i with a trailing 1 when fi) into
 * @p H, row-major pp x pp with pp = P rounded up to a multiple of 4; entries (j, k) with
 * k <= j are valid (the rest is scratch). */
void gy__lin_hess_binary(const struct gy__lin_pass *p, size_t r0, size_t r1, double *H, size_t pp);
/** x . w for a float row and double weights (the kernels' dot product). */
double gy__lin_dot(const float *x, const double *w, size_t d);

#endif /* GY_TRAIN_INT_H */
