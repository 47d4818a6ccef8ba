/* SPDX-License-Identifier: MIT */
/*
 * drift_bench.c - gyre's drift statistics, timed for bench/drift_peer.py, which times SciPy
 * and NumPy on the same arrays in the same run and compares the values.
 *
 * Usage: drift_bench check REF.f64 CUR.f64
 *          prints one JSON line: KS statistic, p-value and method (as ks_2samp(method='auto')),
 *          and the PSI of ../shared/bench/peers/04_drift.py (10 reference-decile bins from
 *          numpy.quantile, searchsorted side='right', proportions clipped at 1e-6).
 *        drift_bench time REF.f64 CUR.f64 [SECONDS]
 *          times, each for about SECONDS (default 1), printing one JSON line per operation:
 *          "ks": gy_monitor_ks_2samp on the unsorted arrays (bucket counts, exact merge of
 *                the candidate buckets, p-value), the input ks_2samp takes;
 *          "ks_sort": the other route, copy both arrays, radix-sort both, merge, p-value;
 *          "psi_window": the current window's proportions in 10 fixed decile bins (edges
 *                precomputed), as the peer's psi_props(cur, edges);
 *          "psi_full": reference deciles (copy + sort), both proportions, clip, PSI, as the
 *                peer's psi(ref, cur).
 *        REF.f64 / CUR.f64: raw little-endian float64 (bench/drift_peer.py writes them).
 * Single-threaded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor.h"

static double *load(const char *path, size_t *n)
{
    struct gy_buf b;
    double *v;
    gy_buf_init(&b, (size_t)1 << 33);
    if (gy_file_read(path, &b) != GY_OK || b.len % 8) {
        fprintf(stderr, "drift_bench: %s: %s\n", path, gy_error_msg());
        exit(1);
    }
    *n = b.len / 8;
    v = gy_malloc(GY_MAX(b.len, 8));
    if (!v)
        exit(1);
    memcpy(v, b.data, b.len);
    gy_buf_free(&b);
    return v;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The peer's psi(): cuts from numpy.quantile of the reference, proportions clipped at 1e-6. */
static double psi_peer(const double *ref, size_t n, const double *cur, size_t m, double *scratch,
                       double *tmp)
{
    double cuts[9], e[10], a[10];
    uint64_t ce[10] = {0}, ca[10] = {0};
    memcpy(scratch, ref, n * sizeof(double));
    gy_monitor_sort(scratch, n, tmp);
    for (int i = 0; i < 9; i++)
        cuts[i] = gy_monitor_quantile_sorted(scratch, n, (double)(i + 1) * 0.1);
    gy_monitor_bin_count(cuts, 9, ref, n, ce);
    gy_monitor_bin_count(cuts, 9, cur, m, ca);
    for (int i = 0; i < 10; i++) {
        e[i] = GY_MAX((double)ce[i] / (double)n, 1e-6);
        a[i] = GY_MAX((double)ca[i] / (double)m, 1e-6);
    }
    /* sum((a - e) * ln(a / e)) in NumPy's order. */
    {
        double t[10];
        for (int i = 0; i < 10; i++)
            t[i] = (a[i] - e[i]) * log(a[i] / e[i]);
        return gy_monitor_sum(t, 10);
    }
}

static void ks(const double *ref, size_t n, const double *cur, size_t m, double *x, double *y,
               double *tmp, struct gy_monitor_ks *out)
{
    memcpy(x, ref, n * sizeof(double));
    memcpy(y, cur, m * sizeof(double));
    gy_monitor_sort(x, n, tmp);
    gy_monitor_sort(y, m, tmp);
    gy_monitor_ks_sorted(x, n, y, m, out);
}

/* Runs fn for about @p secs and prints min/median seconds per call. */
#define TIME(label, body, extra_fmt, ...)                                                          \
    do {                                                                                           \
        double ts[4096];                                                                           \
        size_t nt = 0;                                                                             \
        int64_t start = gy_time_mono_ns();                                                         \
        body; /* warm-up */                                                                        \
        while (nt < 4096 && (nt < 5 || (double)(gy_time_mono_ns() - start) / 1e9 < secs)) {        \
            int64_t t0 = gy_time_mono_ns();                                                        \
            body;                                                                                  \
            ts[nt++] = (double)(gy_time_mono_ns() - t0) / 1e9;                                     \
        }                                                                                          \
        qsort(ts, nt, sizeof(double), cmpd);                                                       \
        printf("{\"what\": \"%s\", \"n\": %zu, \"m\": %zu, \"loops\": %zu, \"min_s\": %.9g, "      \
               "\"median_s\": %.9g" extra_fmt "}\n",                                               \
               label, n, m, nt, ts[0], ts[nt / 2], __VA_ARGS__);                                   \
        fflush(stdout);                                                                            \
    } while (0)

int main(int argc, char **argv)
{
    size_t n, m, big;
    double *ref, *cur, *x, *y, *tmp, secs = 1.0;
    struct gy_monitor_ks k;

    if (argc < 4 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "time") != 0)) {
        fprintf(stderr, "usage: drift_bench check|time REF.f64 CUR.f64 [SECONDS]\n");
        return 2;
    }
    ref = load(argv[2], &n);
    cur = load(argv[3], &m);
    if (argc > 4)
        secs = strtod(argv[4], NULL);
    big = GY_MAX(n, m);
    x = gy_malloc(big * sizeof(double));
    y = gy_malloc(big * sizeof(double));
    tmp = gy_malloc(big * sizeof(double));
    if (!x || !y || !tmp)
        return 1;
    if (strcmp(argv[1], "check") == 0) {
        struct gy_monitor_ks k2;
        ks(ref, n, cur, m, x, y, tmp, &k);
        if (gy_monitor_ks_2samp(ref, n, cur, m, &k2) != GY_OK || k2.statistic != k.statistic ||
            k2.p_value != k.p_value) {
            fprintf(stderr, "drift_bench: the two KS routes differ\n");
            return 1;
        }
        printf("{\"n\": %zu, \"m\": %zu, \"ks_statistic\": %.17g, \"ks_pvalue\": %.17g, "
               "\"ks_method\": \"%s\", \"psi_10_quantile_bins\": %.17g}\n",
               n, m, k.statistic, k.p_value, k.method == GY_MONITOR_KS_EXACT ? "exact" : "asymp",
               psi_peer(ref, n, cur, m, x, tmp));
        return 0;
    }
    {
        double cuts[9], props[10];
        uint64_t counts[10];
        volatile double sink = 0;
        memcpy(x, ref, n * sizeof(double));
        gy_monitor_sort(x, n, tmp);
        for (int i = 0; i < 9; i++)
            cuts[i] = gy_monitor_quantile_sorted(x, n, (double)(i + 1) * 0.1);
        TIME("ks", gy_monitor_ks_2samp(ref, n, cur, m, &k),
             ", \"statistic\": %.17g, \"p_value\": %.17g", k.statistic, k.p_value);
        TIME("ks_sort", ks(ref, n, cur, m, x, y, tmp, &k),
             ", \"statistic\": %.17g, \"p_value\": %.17g", k.statistic, k.p_value);
        TIME(
            "psi_window",
            {
                memset(counts, 0, sizeof(counts));
                gy_monitor_bin_count(cuts, 9, cur, m, counts);
                for (int i = 0; i < 10; i++)
                    props[i] = (double)counts[i] / (double)m;
                sink += props[0];
            },
            ", \"first_bin\": %.17g", props[0]);
        TIME("psi_full", sink += psi_peer(ref, n, cur, m, x, tmp), ", \"psi\": %.17g",
             psi_peer(ref, n, cur, m, x, tmp));
        (void)sink;
    }
    gy_free(ref);
    gy_free(cur);
    gy_free(x);
    gy_free(y);
    gy_free(tmp);
    return 0;
}
