/* SPDX-License-Identifier: MIT */
/*
 * kernels.c - the inner loops of the logistic solvers: objective and gradient over a block of
 * rows (binary and multinomial) and the binary Hessian. They read float32 rows, work in
 * double precision, and use GCC/Clang vector extensions (4 doubles per operation) so one
 * source serves every x86-64 CPU. Each kernel is compiled twice, for baseline x86-64 (SSE2)
 * and for AVX2, and the AVX2 copy is chosen at run time when the CPU has it. Both copies
 * perform the same IEEE operations in the same order (ISO C mode does not contract a * b + c
 * into an FMA), so the choice changes speed, not results.
 *
 * Rows are processed in small batches: margins first, then the loss, then the gradient as
 * X_batch^T r, which keeps the gradient in registers instead of updating it row by row. The
 * Hessian is accumulated in 4 x 4 tiles of X^T D X.
 */
#include "train/train_int.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define KERNELS_X86 1
#endif

typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

#define INLINE static inline __attribute__((always_inline))

/* Unaligned loads and stores through memcpy: one instruction each once inlined. */
#define LOAD4F(dst, ptr)                                                                           \
    do {                                                                                           \
        v4f t_;                                                                                    \
        memcpy(&t_, (ptr), sizeof(t_));                                                            \
        (dst) = __builtin_convertvector(t_, v4d);                                                  \
    } while (0)
#define LOAD4D(dst, ptr) memcpy(&(dst), (ptr), sizeof(v4d))
#define STORE4D(ptr, src) memcpy((ptr), &(src), sizeof(v4d))
#define SPLAT(a) ((v4d){(a), (a), (a), (a)})

#define FG_BATCH 16
#define H_BATCH 32
#define H_MAX_PARAMS 128

INLINE double dot_impl(const float *x, const double *w, size_t d)
{
    v4d a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0}, xv, wv;
    size_t j = 0;
    double z;

    for (; j + 8 <= d; j += 8) {
        LOAD4F(xv, x + j);
        LOAD4D(wv, w + j);
        a0 += xv * wv;
        LOAD4F(xv, x + j + 4);
        LOAD4D(wv, w + j + 4);
        a1 += xv * wv;
    }
    if (j + 4 <= d) {
        LOAD4F(xv, x + j);
        LOAD4D(wv, w + j);
        a0 += xv * wv;
        j += 4;
    }
    a0 += a1;
    z = (a0[0] + a0[1]) + (a0[2] + a0[3]);
    for (; j < d; j++)
        z += (double)x[j] * w[j];
    return z;
}

/* g[0..d) += sum over the batch of r[t] * x_t. */
INLINE void gemv_t_impl(const float *xb, size_t d, const double *r, size_t nb, double *g)
{
    size_t d4 = d & ~(size_t)3;
    for (size_t j = 0; j < d4; j += 4) {
        v4d acc = {0, 0, 0, 0}, xv, gv;
        for (size_t t = 0; t < nb; t++) {
            LOAD4F(xv, xb + t * d + j);
            acc += SPLAT(r[t]) * xv;
        }
        LOAD4D(gv, g + j);
        gv += acc;
        STORE4D(g + j, gv);
    }
    for (size_t j = d4; j < d; j++) {
        double acc = 0;
        for (size_t t = 0; t < nb; t++)
            acc += r[t] * (double)xb[t * d + j];
        g[j] += acc;
    }
}

/*
 * log(1 + e^z) - y z and sigmoid(z) - y without overflow. log(1 + e) with e = e^-|z| <= 1
 * is within one rounding of log1p(e) in absolute terms, the precision the loss has anyway.
 */
INLINE double binomial_impl(double z, double y, double *dz)
{
    double e = exp(-fabs(z));
    double q = 1.0 / (1.0 + e);
    *dz = (z >= 0 ? q : e * q) - y;
    return (z > 0 ? z : 0.0) + log(1.0 + e) - y * z;
}

INLINE void fg_binary_impl(const struct gy__lin_pass *p, size_t r0, size_t r1, double *fo,
                           double *g)
{
    size_t d = p->d;
    const double *w = p->theta;
    double bias = p->fi ? w[d] : 0.0, f = 0, gb = 0, r[FG_BATCH];

    memset(g, 0, p->P * sizeof(double));
    for (size_t i0 = r0; i0 < r1; i0 += FG_BATCH) {
        size_t nb = r1 - i0 < FG_BATCH ? r1 - i0 : FG_BATCH;
        const float *xb = p->x + i0 * d;
        for (size_t t = 0; t < nb; t++) {
            double s = p->s ? p->s[i0 + t] : 1.0, dz;
            double z = dot_impl(xb + t * d, w, d) + bias;
            f += s * binomial_impl(z, p->y[i0 + t], &dz);
            r[t] = s * dz;
            gb += r[t];
        }
        gemv_t_impl(xb, d, r, nb, g);
    }
    if (p->fi)
        g[d] = gb;
    *fo = f;
}

INLINE void fg_multi_impl(const struct gy__lin_pass *p, size_t r0, size_t r1, double *fo, double *g,
                          double *z)
{
    size_t d = p->d, K = p->K;
    const double *w = p->theta, *bias = p->fi ? p->theta + K * d : NULL;
    double f = 0;

    memset(g, 0, p->P * sizeof(double));
    for (size_t i = r0; i < r1; i++) {
        const float *xi = p->x + i * d;
        double s = p->s ? p->s[i] : 1.0, zmax = -INFINITY, sum = 0;
        size_t yi = (size_t)p->y[i];
        for (size_t k = 0; k < K; k++) {
            z[k] = dot_impl(xi, w + k * d, d) + (bias ? bias[k] : 0.0);
            if (z[k] > zmax)
                zmax = z[k];
        }
        double zy = z[yi];
        for (size_t k = 0; k < K; k++) {
            z[k] = exp(z[k] - zmax); /* z now holds unnormalized probabilities */
            sum += z[k];
        }
        /* loss = logsumexp(z) - z_y */
        f += s * (zmax + log(sum) - zy);
        for (size_t k = 0; k < K; k++) {
            double rk = s * (z[k] / sum - (k == yi ? 1.0 : 0.0));
            gemv_t_impl(xi, d, &rk, 1, g + k * d);
            if (bias)
                g[K * d + k] += rk;
        }
    }
    *fo = f;
}

INLINE void hess_binary_impl(const struct gy__lin_pass *p, size_t r0, size_t r1, double *H,
                             size_t pp)
{
    size_t d = p->d;
    const double *w = p->theta;
    double bias = p->fi ? w[d] : 0.0;
    double A[H_BATCH * H_MAX_PARAMS], DA[H_BATCH * H_MAX_PARAMS];

    memset(H, 0, pp * pp * sizeof(double));
    for (size_t i0 = r0; i0 < r1; i0 += H_BATCH) {
        size_t nb = r1 - i0 < H_BATCH ? r1 - i0 : H_BATCH;
        for (size_t t = 0; t < nb; t++) {
            const float *xi = p->x + (i0 + t) * d;
            double s = p->s ? p->s[i0 + t] : 1.0;
            double z = dot_impl(xi, w, d) + bias;
            double e = exp(-fabs(z));
            double D = s * e / ((1.0 + e) * (1.0 + e)); /* s p (1 - p) */
            double *a = A + t * pp, *da = DA + t * pp;
            size_t j = 0;
            v4d v, dv = SPLAT(D);
            for (; j + 4 <= d; j += 4) {
                LOAD4F(v, xi + j);
                STORE4D(a + j, v);
                v *= dv;
                STORE4D(da + j, v);
            }
            for (; j < d; j++) {
                a[j] = xi[j];
                da[j] = D * a[j];
            }
            if (p->fi) {
                a[j] = 1.0;
                da[j++] = D;
            }
            for (; j < pp; j++)
                a[j] = da[j] = 0.0;
        }
        for (size_t jb = 0; jb < pp; jb += 4) {
            for (size_t kb = 0; kb <= jb; kb += 4) {
                double *h = H + jb * pp + kb;
                v4d c0, c1, c2, c3, a;
                LOAD4D(c0, h);
                LOAD4D(c1, h + pp);
                LOAD4D(c2, h + 2 * pp);
                LOAD4D(c3, h + 3 * pp);
                for (size_t t = 0; t < nb; t++) {
                    const double *da = DA + t * pp + jb;
                    LOAD4D(a, A + t * pp + kb);
                    c0 += SPLAT(da[0]) * a;
                    c1 += SPLAT(da[1]) * a;
                    c2 += SPLAT(da[2]) * a;
                    c3 += SPLAT(da[3]) * a;
                }
                STORE4D(h, c0);
                STORE4D(h + pp, c1);
                STORE4D(h + 2 * pp, c2);
                STORE4D(h + 3 * pp, c3);
            }
        }
    }
}

/* ------------------------------------------------------------------ dispatch */

static void fg_binary_base(const struct gy__lin_pass *p, size_t r0, size_t r1, double *f, double *g)
{
    fg_binary_impl(p, r0, r1, f, g);
}

static void fg_multi_base(const struct gy__lin_pass *p, size_t r0, size_t r1, double *f, double *g,
                          double *z)
{
    fg_multi_impl(p, r0, r1, f, g, z);
}

static void hess_binary_base(const struct gy__lin_pass *p, size_t r0, size_t r1, double *H,
                             size_t pp)
{
    hess_binary_impl(p, r0, r1, H, pp);
}

#ifdef KERNELS_X86
__attribute__((target("avx2"))) static void fg_binary_avx2(const struct gy__lin_pass *p, size_t r0,
                                                           size_t r1, double *f, double *g)
{
    fg_binary_impl(p, r0, r1, f, g);
}

__attribute__((target("avx2"))) static void
fg_multi_avx2(const struct gy__lin_pass *p, size_t r0, size_t r1, double *f, double *g, double *z)
{
    fg_multi_impl(p, r0, r1, f, g, z);
}

__attribute__((target("avx2"))) static void
hess_binary_avx2(const struct gy__lin_pass *p, size_t r0, size_t r1, double *H, size_t pp)
{
    hess_binary_impl(p, r0, r1, H, pp);
}

static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

void gy__lin_fg_binary(const struct gy__lin_pass *p, size_t r0, size_t r1, double *f, double *g)
{
#ifdef KERNELS_X86
    if (have_avx2()) {
        fg_binary_avx2(p, r0, r1, f, g);
        return;
    }
#endif
    fg_binary_base(p, r0, r1, f, g);
}

void gy__lin_fg_multi(const struct gy__lin_pass *p, size_t r0, size_t r1, double *f, double *g,
                      double *z)
{
#ifdef KERNELS_X86
    if (have_avx2()) {
        fg_multi_avx2(p, r0, r1, f, g, z);
        return;
    }
#endif
    fg_multi_base(p, r0, r1, f, g, z);
}

void gy__lin_hess_binary(const struct gy__lin_pass *p, size_t r0, size_t r1, double *H, size_t pp)
{
    GY_ASSERT(pp % 4 == 0 && pp <= H_MAX_PARAMS);
#ifdef KERNELS_X86
    if (have_avx2()) {
        hess_binary_avx2(p, r0, r1, H, pp);
        return;
    }
#endif
    hess_binary_base(p, r0, r1, H, pp);
}

double gy__lin_dot(const float *x, const double *w, size_t d)
{
    return dot_impl(x, w, d);
}
