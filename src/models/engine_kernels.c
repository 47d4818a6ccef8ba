/* SPDX-License-Identifier: MIT */
/*
 * engine_kernels.c - the fast engine's kernels over the pool compiled by engine.c.
 *
 * Single row: the row is staged into 2F+1 key slots (NaN resolved per default direction, see
 * engine_int.h), then blocks of eight trees are walked together for a fixed number of steps,
 * each step `n = pool[n].left + (key at pool[n].off >= pool[n].thr)`, with no branch: eight
 * independent load chains in flight. The leaves are then added in tree order to the float32
 * margins started at the base margin - exactly the reference evaluator's sums.
 *
 * Batch: rows are staged GY__ENGINE_BLOCK at a time, feature-major (slot s of row r at
 * s * BLOCK + r), and each tree is walked by eight rows at once, in its dense copy when it has
 * one (`p = 2p + 2 - (key < thr)`), else in the pool; per row the leaves are still added in
 * tree order. Trees deeper than GY__ENGINE_FIXED_DEPTH are walked until their leaf's
 * self-loop instead of a fixed number of steps. Links are the reference's own
 * gy__model_link_apply.
 *
 * Linear: margins in double exactly as gy_model_linear_predict (intercept, then w_j * x_j in
 * index order, no contraction), four rows at a time so the dependent adds overlap.
 */
#include "models/engine_int.h"

#include <math.h>
#include <string.h>

/* The staged key a node reads, from the staging base @p s (a row, or a lane of a block). */
#define SLOT(s, nd) (*(const uint32_t *)((const char *)(s) + (nd).off))
/* One branch-free step of a walk. */
#define STEP(n, s) n = P[n].left + (SLOT(s, P[n]) >= P[n].thr)

#define KEY_PINF 0xff800000u /* gy__engine_key(+inf) */
#define KEY_NINF 0x007fffffu /* gy__engine_key(-inf) */
#define KEY_ZERO 0x80000000u /* gy__engine_key(0) */

/* Stages one row into key slots @p stride apart (see engine_int.h). */
static inline void stage_row(const float *x, size_t nf, size_t stride, uint32_t *s)
{
    for (size_t f = 0; f < nf; f++) {
        float v = x[f];
        int miss = isnan(v);
        uint32_t k = gy__engine_key(v);
        s[2 * f * stride] = miss ? KEY_PINF : k;
        s[(2 * f + 1) * stride] = miss ? KEY_NINF : k;
    }
    s[2 * nf * stride] = KEY_ZERO;
}

/* The leaf one row reaches in a tree too deep for the fixed walk: stop at the self-loop. */
static inline uint32_t walk_loop(const struct gy__engine_node *P, const uint32_t *s, uint32_t n)
{
    for (;;) {
        uint32_t next = P[n].left + (SLOT(s, P[n]) >= P[n].thr);
        if (next == n)
            return n;
        n = next;
    }
}

/* One tree, one row, @p d fixed steps. */
static inline uint32_t walk_fixed(const struct gy__engine_node *P, const uint32_t *s, uint32_t n,
                                  uint32_t d)
{
    for (uint32_t k = 0; k < d; k++)
        STEP(n, s);
    return n;
}

static inline uint32_t walk(const struct gy_engine *e, const uint32_t *s, uint32_t t)
{
    return e->depth[t] <= GY__ENGINE_FIXED_DEPTH ? walk_fixed(e->pool, s, e->root[t], e->depth[t])
                                                 : walk_loop(e->pool, s, e->root[t]);
}

/* Margins of one staged row into m[0 .. n_margins). */
static void row_margins(const struct gy_engine *e, const uint32_t *s, float *m)
{
    const struct gy__engine_node *P = e->pool;
    size_t ng = e->n_margins;
    float acc = e->base_margin;

    for (size_t g = 0; g < ng; g++)
        m[g] = e->base_margin;
    for (uint32_t b = 0; b < e->n_blocks; b++) {
        const struct gy__engine_block *bl = &e->blocks[b];
        uint32_t lv[GY__ENGINE_LANES];
        if (bl->depth <= GY__ENGINE_FIXED_DEPTH) {
            uint32_t n0 = bl->root[0], n1 = bl->root[1], n2 = bl->root[2], n3 = bl->root[3];
            uint32_t n4 = bl->root[4], n5 = bl->root[5], n6 = bl->root[6], n7 = bl->root[7];
            for (uint32_t k = 0; k < bl->depth; k++) {
                STEP(n0, s);
                STEP(n1, s);
                STEP(n2, s);
                STEP(n3, s);
                STEP(n4, s);
                STEP(n5, s);
                STEP(n6, s);
                STEP(n7, s);
            }
            lv[0] = n0;
            lv[1] = n1;
            lv[2] = n2;
            lv[3] = n3;
            lv[4] = n4;
            lv[5] = n5;
            lv[6] = n6;
            lv[7] = n7;
        } else {
            for (uint32_t k = 0; k < bl->n; k++)
                lv[k] = walk(e, s, bl->first + k);
        }
        /* The leaves in tree order: the reference's float32 sums exactly. */
        if (ng == 1) {
            for (uint32_t k = 0; k < bl->n; k++)
                acc += P[lv[k]].leaf;
        } else {
            for (uint32_t k = 0; k < bl->n; k++)
                m[e->group[bl->first + k]] += P[lv[k]].leaf;
        }
    }
    if (ng == 1)
        m[0] = acc;
}

void gy__engine_trees_rows(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                           float *margins, float *outputs)
{
    size_t nf = e->n_features, ng = e->n_margins, no = e->n_outputs;
    size_t stride = e->slot_bytes / sizeof(uint32_t);
    uint32_t *s = scratch;
    float *m = (float *)((char *)scratch + gy__engine_align64((size_t)e->n_slots * e->slot_bytes));

    for (size_t r = 0; r < nrows; r++) {
        stage_row(x + r * nf, nf, stride, s);
        row_margins(e, s, m);
        if (margins)
            memcpy(margins + r * ng, m, ng * sizeof(float));
        if (outputs)
            gy__model_link_apply(e->link, m, ng, outputs + r * no);
    }
}

/* ------------------------------------------------------------------ batch */

/* Stages rows [0, nr) of @p x feature-major; rows nr .. nr8 are zeros (walked, not used). */
static void stage_block(const float *x, size_t nf, size_t nr, size_t nr8, uint32_t *s)
{
    const size_t B = GY__ENGINE_BLOCK;
    for (size_t r = 0; r < nr; r++) {
        const float *row = x + r * nf;
        for (size_t f = 0; f < nf; f++) {
            float v = row[f];
            int miss = isnan(v);
            uint32_t k = gy__engine_key(v);
            s[(2 * f) * B + r] = miss ? KEY_PINF : k;
            s[(2 * f + 1) * B + r] = miss ? KEY_NINF : k;
        }
    }
    for (size_t k = 0; k <= 2 * nf; k++)
        for (size_t r = k == 2 * nf ? 0 : nr; r < nr8; r++)
            s[k * B + r] = KEY_ZERO;
}

/* One step in a dense copy (engine_int.h): left child 2p+1, right 2p+2. */
#define DSTEP(p, s) p = 2 * p + 2 - (SLOT(s, D[p]) < D[p].thr)

/* tree_block for a tree with a dense copy; @p mg points at the tree's group in row 0. */
static void tree_block_dense(const struct gy_engine *e, uint32_t t, const uint32_t *s, size_t nr,
                             size_t nr8, float *mg, size_t ng)
{
    const struct gy__engine_dnode *D = e->dense + e->dbase[t];
    uint32_t d = e->depth[t];
    const float *lf = e->dleaf + e->dlbase[t];
    size_t inner = ((size_t)1 << d) - 1; /* positions above the leaf level */

    for (size_t r = 0; r < nr8; r += 8) {
        /* size_t positions: no zero-extension between steps. */
        size_t p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0;
        const uint32_t *sr = s + r;
        for (uint32_t k = 0; k < d; k++) {
            DSTEP(p0, sr + 0);
            DSTEP(p1, sr + 1);
            DSTEP(p2, sr + 2);
            DSTEP(p3, sr + 3);
            DSTEP(p4, sr + 4);
            DSTEP(p5, sr + 5);
            DSTEP(p6, sr + 6);
            DSTEP(p7, sr + 7);
        }
        if (r + 8 <= nr) {
            float *mr = mg + r * ng;
            mr[0] += lf[p0 - inner];
            mr[ng] += lf[p1 - inner];
            mr[2 * ng] += lf[p2 - inner];
            mr[3 * ng] += lf[p3 - inner];
            mr[4 * ng] += lf[p4 - inner];
            mr[5 * ng] += lf[p5 - inner];
            mr[6 * ng] += lf[p6 - inner];
            mr[7 * ng] += lf[p7 - inner];
        } else {
            size_t lv[8] = {p0, p1, p2, p3, p4, p5, p6, p7};
            for (size_t i = 0; r + i < nr; i++)
                mg[(r + i) * ng] += lf[lv[i] - inner];
        }
    }
}

/*
 * Walks tree @p t for the rows [0, nr8) of the staged block, eight rows at a time, and adds
 * each row's leaf to its margin m[r * ng + g] (rows >= nr are padding and not added).
 */
static void tree_block(const struct gy_engine *e, uint32_t t, const uint32_t *s, size_t nr,
                       size_t nr8, float *m, size_t ng)
{
    const struct gy__engine_node *P = e->pool;
    uint32_t root = e->root[t], d = e->depth[t];
    float *mg = m + e->group[t];

    if (e->dbase[t] != UINT32_MAX) {
        tree_block_dense(e, t, s, nr, nr8, mg, ng);
        return;
    }
    if (d > GY__ENGINE_FIXED_DEPTH) {
        for (size_t r = 0; r < nr; r++)
            mg[r * ng] += P[walk_loop(P, s + r, root)].leaf;
        return;
    }
    for (size_t r = 0; r < nr8; r += 8) {
        uint32_t n0 = root, n1 = root, n2 = root, n3 = root;
        uint32_t n4 = root, n5 = root, n6 = root, n7 = root;
        const uint32_t *sr = s + r;
        for (uint32_t k = 0; k < d; k++) {
            STEP(n0, sr + 0);
            STEP(n1, sr + 1);
            STEP(n2, sr + 2);
            STEP(n3, sr + 3);
            STEP(n4, sr + 4);
            STEP(n5, sr + 5);
            STEP(n6, sr + 6);
            STEP(n7, sr + 7);
        }
        if (r + 8 <= nr) {
            float *mr = mg + r * ng;
            mr[0] += P[n0].leaf;
            mr[ng] += P[n1].leaf;
            mr[2 * ng] += P[n2].leaf;
            mr[3 * ng] += P[n3].leaf;
            mr[4 * ng] += P[n4].leaf;
            mr[5 * ng] += P[n5].leaf;
            mr[6 * ng] += P[n6].leaf;
            mr[7 * ng] += P[n7].leaf;
        } else {
            uint32_t lv[8] = {n0, n1, n2, n3, n4, n5, n6, n7};
            for (size_t i = 0; r + i < nr; i++)
                mg[(r + i) * ng] += P[lv[i]].leaf;
        }
    }
}

void gy__engine_trees_batch(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                            float *margins, float *outputs)
{
    const size_t B = GY__ENGINE_BLOCK;
    size_t nf = e->n_features, ng = e->n_margins, no = e->n_outputs;
    uint32_t *s = scratch;
    float *m =
        (float *)((char *)scratch + gy__engine_align64((size_t)e->n_slots * B * sizeof(uint32_t)));

    for (size_t r0 = 0; r0 < nrows; r0 += B) {
        size_t nr = GY_MIN(B, nrows - r0), nr8 = (nr + 7) & ~(size_t)7;
        stage_block(x + r0 * nf, nf, nr, nr8, s);
        for (size_t i = 0; i < nr * ng; i++)
            m[i] = e->base_margin;
        for (uint32_t t = 0; t < e->n_trees; t++)
            tree_block(e, t, s, nr, nr8, m, ng);
        if (margins)
            memcpy(margins + r0 * ng, m, nr * ng * sizeof(float));
        if (outputs)
            for (size_t r = 0; r < nr; r++)
                gy__model_link_apply(e->link, m + r * ng, ng, outputs + (r0 + r) * no);
    }
}

/* ------------------------------------------------------------------ linear */

/* Outputs of one row from its double margins @p s (the reference's transforms). */
static void linear_out(enum gy_link link, const double *s, size_t no, float *out)
{
    if (link == GY_LINK_LOGISTIC) {
        for (size_t k = 0; k < no; k++)
            out[k] = (float)(1.0 / (1.0 + exp(-s[k])));
    } else if (link == GY_LINK_SOFTMAX) {
        double mx = -INFINITY, sum = 0;
        for (size_t k = 0; k < no; k++)
            if (s[k] > mx)
                mx = s[k];
        for (size_t k = 0; k < no; k++)
            sum += exp(s[k] - mx);
        for (size_t k = 0; k < no; k++)
            out[k] = (float)(exp(s[k] - mx) / sum);
    } else {
        for (size_t k = 0; k < no; k++)
            out[k] = (float)s[k];
    }
}

void gy__engine_linear(const struct gy_engine *e, const float *x, size_t nrows, void *scratch,
                       float *margins, float *outputs)
{
    size_t nf = e->n_features, no = e->n_margins;
    double *m = scratch; /* 4 rows x no margins */
    size_t r = 0;

    for (; r + 4 <= nrows; r += 4) {
        const float *x0 = x + r * nf, *x1 = x0 + nf, *x2 = x1 + nf, *x3 = x2 + nf;
        for (size_t k = 0; k < no; k++) {
            const double *w = e->weights + k * nf;
            double s0 = e->intercepts[k], s1 = s0, s2 = s0, s3 = s0;
            for (size_t j = 0; j < nf; j++) {
                double wj = w[j];
                s0 += wj * (double)x0[j];
                s1 += wj * (double)x1[j];
                s2 += wj * (double)x2[j];
                s3 += wj * (double)x3[j];
            }
            m[k] = s0;
            m[no + k] = s1;
            m[2 * no + k] = s2;
            m[3 * no + k] = s3;
        }
        for (size_t i = 0; i < 4; i++) {
            if (margins)
                for (size_t k = 0; k < no; k++)
                    margins[(r + i) * no + k] = (float)m[i * no + k];
            if (outputs)
                linear_out(e->link, m + i * no, no, outputs + (r + i) * no);
        }
    }
    for (; r < nrows; r++) {
        const float *row = x + r * nf;
        for (size_t k = 0; k < no; k++) {
            const double *w = e->weights + k * nf;
            double s = e->intercepts[k];
            for (size_t j = 0; j < nf; j++)
                s += w[j] * (double)row[j];
            m[k] = s;
        }
        if (margins)
            for (size_t k = 0; k < no; k++)
                margins[r * no + k] = (float)m[k];
        if (outputs)
            linear_out(e->link, m, no, outputs + r * no);
    }
}
