#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# abtest_oracle.py - prints the SciPy reference tables of tests/unit/monitor/test_abtest.c:
# Student's t survival function and its inverse, the normal quantile, the regularized
# incomplete beta function, Welch's t-test (scipy.stats.ttest_ind(b, a, equal_var=False) on
# seeded random samples, and from summary statistics for very large samples), the
# two-proportion z-test (pooled z, unpooled Wald interval) and the Hanley-McNeil AUC z-test.
#
# Usage: /usr/bin/python3 tests/unit/monitor/abtest_oracle.py   (Debian python3-scipy 1.10.1)
#
# SciPy 1.10's t.ppf/t.isf (cdflib's stdtrit) is only accurate to about 1e-9 relative, so its
# quantiles are polished here by Newton steps on stdtr (cdflib's bratio, accurate to a few
# ulps) before use; everything else is SciPy's value as it comes.
import warnings

import numpy as np
import scipy.special as sp
import scipy.stats as st


def r(x):
    return repr(float(x))


def t_isf(q, df):
    x = st.t.isf(q, df)
    for _ in range(4):
        f = sp.stdtr(df, -x) - q
        x = x + f / st.t.pdf(x, df)
    return x


def welch_from(ma, va, na, mb, vb, nb, alpha, t, p):
    sa, sb = va / na, vb / nb
    df = (sa + sb) ** 2 / (sa ** 2 / (na - 1) + sb ** 2 / (nb - 1))
    se = np.sqrt(sa + sb)
    q = t_isf(alpha / 2, df)
    eff = mb - ma
    return "    {%s, %s, %d, %s, %s, %d, %s, %s, %s, %s, %s, %s}," % (
        r(ma), r(va), na, r(mb), r(vb), nb, r(alpha), r(t), r(df), r(p), r(eff - q * se),
        r(eff + q * se))


def main():
    warnings.simplefilter("ignore")  # "catastrophic cancellation" on the constant sample
    rng = np.random.default_rng(20261128)
    print("/* t_sf: t, df, scipy.stats.t.sf(t, df) */")
    for df in [0.5, 1.0, 2.0, 3.7, 10.0, 55.5, 1000.0, 123456.0, 1e6]:
        for t in [-50.0, -3.0, -0.1, 0.0, 0.7, 2.5, 8.0, 40.0]:
            print("    {%s, %s, %s}," % (r(t), r(df), r(st.t.sf(t, df))))
    print("/* t_isf: q, df, t (polished) */")
    for df in [1.0, 2.5, 7.3, 40.7, 1234.5, 1e5]:
        for q in [0.25, 0.05, 0.025, 0.005, 1e-6]:
            print("    {%s, %s, %s}," % (r(q), r(df), r(t_isf(q, df))))
    print("/* norm_ppf: p, scipy.stats.norm.ppf(p) */")
    for p in [1e-300, 1e-20, 1e-10, 1e-3, 0.02, 0.025, 0.3, 0.5, 0.7, 0.93, 0.975, 0.999999]:
        print("    {%s, %s}," % (r(p), r(st.norm.ppf(p))))
    print("/* betainc: a, b, x, scipy.special.betainc(a, b, x) */")
    for a, b, x in [(0.5, 0.5, 0.3), (2, 3, 0.4), (10, 0.5, 0.95), (0.5, 10, 0.01),
                    (50, 60, 0.45), (500, 0.5, 0.999), (1e5, 0.5, 0.99999),
                    (3000, 4000, 0.43), (1, 1, 0.125), (0.1, 7, 0.8)]:
        print("    {%s, %s, %s, %s}," % (r(a), r(b), r(x), r(sp.betainc(a, b, x))))

    print("/* welch: mean_a, var_a, n_a, mean_b, var_b, n_b, alpha, t, df, p, ci_lo, ci_hi */")
    specs = [(2, 2, 0.0, 0.05), (2, 3, 0.5, 0.05), (3, 50, 1.0, 0.01), (10, 10, 0.0, 0.05),
             (10, 10, 0.3, 0.2), (100, 80, 0.2, 0.05), (1000, 1200, 0.05, 0.05),
             (5, 5000, -0.4, 0.05), (400, 400, 3.0, 0.01), (30, 7, -1.5, 0.1)]
    for na, nb, shift, alpha in specs:
        a = rng.normal(10.0, 2.0, na)
        b = rng.normal(10.0 + shift, 3.0, nb)
        t, p = st.ttest_ind(b, a, equal_var=False)
        print(welch_from(np.mean(a), np.var(a, ddof=1), na, np.mean(b), np.var(b, ddof=1), nb,
                         alpha, t, p))
    # one variance zero
    a = np.array([4.0, 4.0, 4.0])
    b = rng.normal(5.0, 1.0, 6)
    t, p = st.ttest_ind(b, a, equal_var=False)
    print(welch_from(4.0, 0.0, 3, np.mean(b), np.var(b, ddof=1), 6, 0.05, t, p))
    # very large samples from summary statistics (df near 2e6)
    for ma, va, na, mb, vb, nb in [(0.25, 0.19, 1000000, 0.2504, 0.1901, 1000000),
                                   (0.25, 0.19, 1000000, 0.252, 0.1901, 1200000)]:
        t, p = st.ttest_ind_from_stats(mb, np.sqrt(vb), nb, ma, np.sqrt(va), na,
                                       equal_var=False)
        # recompute t exactly as the C code does from the variances (no sqrt round trip)
        t = (mb - ma) / np.sqrt(va / na + vb / nb)
        sa, sb = va / na, vb / nb
        df = (sa + sb) ** 2 / (sa ** 2 / (na - 1) + sb ** 2 / (nb - 1))
        p = 2 * sp.stdtr(df, -abs(t))
        print(welch_from(ma, va, na, mb, vb, nb, 0.05, t, p))

    print("/* prop: x_a, n_a, x_b, n_b, alpha, z, p, ci_lo, ci_hi */")
    for xa, na, xb, nb, alpha in [(5, 10, 7, 10, 0.05), (0, 1, 1, 1, 0.05), (0, 50, 0, 50, 0.05),
                                  (50, 50, 50, 50, 0.05), (480, 1000, 530, 1000, 0.05),
                                  (1, 3, 2, 2, 0.1), (9000, 10000, 9100, 10000, 0.01),
                                  (10, 1000000, 30, 1000000, 0.05), (0, 100, 100, 100, 0.05),
                                  (700, 1000, 640, 900, 0.05), (3, 7, 3, 7, 0.3)]:
        pa, pb = xa / na, xb / nb
        pool = (xa + xb) / (na + nb)
        se0 = np.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
        if se0 > 0:
            z = (pb - pa) / se0
            p = min(1.0, 2 * st.norm.sf(abs(z)))
        else:
            z, p = 0.0, 1.0
        se = np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
        q = st.norm.isf(alpha / 2)
        print("    {%d, %d, %d, %d, %s, %s, %s, %s, %s}," % (
            xa, na, xb, nb, r(alpha), r(z), r(p), r(pb - pa - q * se), r(pb - pa + q * se)))

    print("/* auc: auc_a, pos_a, neg_a, auc_b, pos_b, neg_b, alpha, se_a, z, p, lo, hi */")

    def hm(auc, pos, neg):
        q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
        v = (auc * (1 - auc) + (pos - 1) * (q1 - auc * auc) + (neg - 1) * (q2 - auc * auc)) / (
            pos * neg)
        return np.sqrt(max(v, 0.0))

    for aa, pa_, na_, ab, pb_, nb_, alpha in [(0.7, 30, 70, 0.8, 25, 75, 0.05),
                                             (0.9, 500, 4500, 0.91, 480, 4520, 0.05),
                                             (0.5, 1, 1, 0.75, 2, 2, 0.05),
                                             (0.65, 200, 300, 0.78, 210, 290, 0.01),
                                             (0.8, 40, 60, 0.8, 45, 55, 0.05)]:
        sea, seb = hm(aa, pa_, na_), hm(ab, pb_, nb_)
        se = np.sqrt(sea * sea + seb * seb)
        z = (ab - aa) / se
        p = min(1.0, 2 * st.norm.sf(abs(z)))
        q = st.norm.isf(alpha / 2)
        print("    {%s, %d, %d, %s, %d, %d, %s, %s, %s, %s, %s, %s}," % (
            r(aa), pa_, na_, r(ab), pb_, nb_, r(alpha), r(sea), r(z), r(p),
            r(ab - aa - q * se), r(ab - aa + q * se)))


if __name__ == "__main__":
    main()
