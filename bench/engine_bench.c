/* SPDX-License-Identifier: MIT */
/*
 * engine_bench.c - gyre's inference engine against XGBoost's C API, side by side in one run,
 * one thread each: single-row latency (one call per row: XGBoosterPredictFromDense with an
 * array interface, nthread=1, against gy_engine_predict on one row) and batches of 16, 1000
 * and 100,000 rows. Before timing, every row's output and margin is compared bit for bit with
 * XGBoost's; any difference fails the run (exit 1).
 *
 * Usage: engine_bench MODEL.json|MODEL.ubj ROWS.f32 [SECONDS_PER_ROUND]
 *   ROWS.f32: row-major little-endian float32, num_feature columns (bench/engine_data.py).
 * Prints a table and one JSON line per measurement (prefix "json ").
 *
 * The XGBoost calls follow ../shared/bench/peers/kernels/xgb_c_predict.c; the in-place
 * predict config must carry "cache_id" and "missing" in 1.7 (the reference note's gotcha).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "models/models.h"

#define XGB(call)                                                                                  \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, XGBGetLastError());                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static BoosterHandle booster;
static struct gy_engine *engine;
static const float *X;
static size_t NROWS, NF;
static void *scratch, *scratch_mem;
static float *out_buf;
static double sample_s = 0.5;

static const char *cfg_out = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                             "\"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, "
                             "\"cache_id\": 0}";
static const char *cfg_margin = "{\"type\": 1, \"training\": false, \"iteration_begin\": 0, "
                                "\"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, "
                                "\"cache_id\": 0}";

static const float *xgb_predict(size_t r0, size_t rows, const char *cfg)
{
    char ai[256];
    bst_ulong const *shape;
    bst_ulong dim;
    const float *out;
    snprintf(ai, sizeof ai,
             "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long long)(uintptr_t)(X + r0 * NF), rows, NF);
    XGB(XGBoosterPredictFromDense(booster, ai, cfg, NULL, &shape, &dim, &out));
    return out;
}

/* One timed unit: predict `batch` rows starting at a rotating offset. */
typedef void (*bench_fn)(size_t r0, size_t batch);

static void run_xgb(size_t r0, size_t batch)
{
    xgb_predict(r0, batch, cfg_out);
}

static void run_gyre(size_t r0, size_t batch)
{
    gy_engine_predict(engine, X + r0 * NF, batch, scratch, NULL, out_buf);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Loops of @p fn that last about @p secs. */
static long calibrate(bench_fn fn, size_t batch, double secs)
{
    long loops = 1;
    for (;;) {
        int64_t t0 = gy_time_mono_ns();
        for (long i = 0; i < loops; i++)
            fn((size_t)i * batch % (NROWS - batch + 1), batch);
        double dt = (double)(gy_time_mono_ns() - t0) / 1e9;
        if (dt >= secs || loops >= 100000000)
            return loops;
        loops = GY_MAX(loops * 2, (long)(loops * secs / (dt > 1e-9 ? dt : 1e-9)) + 1);
    }
}

/* ns per row of one sample of @p loops calls. */
static double sample(bench_fn fn, size_t batch, long loops, size_t *r0)
{
    size_t span = NROWS - batch + 1;
    int64_t t0 = gy_time_mono_ns();
    for (long i = 0; i < loops; i++) {
        fn(*r0, batch);
        *r0 = (*r0 + batch) % span;
    }
    return (double)(gy_time_mono_ns() - t0) / (double)loops / (double)batch;
}

#define ROUNDS 15

/*
 * XGBoost and gyre alternate in ROUNDS short samples (sample_s / 5 each), so that load from
 * other processes on a shared machine hits both alike; the minimum is the figure least
 * disturbed by it, the median is printed too. ns per row.
 */
static void measure(size_t batch, double *xmin, double *xmed, double *gmin, double *gmed)
{
    double xs[ROUNDS], gs[ROUNDS];
    size_t xr = 0, gr = 0;
    long xl = calibrate(run_xgb, batch, sample_s / 5),
         gl = calibrate(run_gyre, batch, sample_s / 5);
    for (int k = 0; k < ROUNDS; k++) {
        xs[k] = sample(run_xgb, batch, xl, &xr);
        gs[k] = sample(run_gyre, batch, gl, &gr);
    }
    qsort(xs, ROUNDS, sizeof(double), cmpd);
    qsort(gs, ROUNDS, sizeof(double), cmpd);
    *xmin = xs[0];
    *xmed = xs[ROUNDS / 2];
    *gmin = gs[0];
    *gmed = gs[ROUNDS / 2];
}

/* Bit-for-bit check of every row: outputs and margins, single-row and batch kernels. */
static long check(size_t nm, size_t no)
{
    float *bo = gy_malloc(NROWS * no * sizeof(float)), *bm = gy_malloc(NROWS * nm * sizeof(float));
    float *ro = gy_malloc(no * sizeof(float)), *rm = gy_malloc(nm * sizeof(float));
    const float *xo, *xm;
    long bad = 0;
    if (!bo || !bm || !ro || !rm)
        exit(1);
    gy_engine_predict(engine, X, NROWS, scratch, bm, bo);
    xo = xgb_predict(0, NROWS, cfg_out);
    for (size_t i = 0; i < NROWS * no; i++)
        bad += memcmp(&xo[i], &bo[i], 4) != 0;
    xm = xgb_predict(0, NROWS, cfg_margin);
    for (size_t i = 0; i < NROWS * nm; i++)
        bad += memcmp(&xm[i], &bm[i], 4) != 0;
    for (size_t r = 0; r < NROWS; r++) {
        gy_engine_predict(engine, X + r * NF, 1, scratch, rm, ro);
        bad += memcmp(ro, bo + r * no, no * 4) != 0;
        bad += memcmp(rm, bm + r * nm, nm * 4) != 0;
    }
    gy_free(bo);
    gy_free(bm);
    gy_free(ro);
    gy_free(rm);
    return bad;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        exit(1);
    }
    p = gy_malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: short read\n", path);
        exit(1);
    }
    fclose(f);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

int main(int argc, char **argv)
{
    struct gy_trees *t = NULL;
    size_t mlen, xlen;
    char *model, *rows;
    static const size_t batches[] = {1, 16, 1000, 100000};
    int major, minor, patch;
    long bad;
    enum gy_status rc;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL.json|MODEL.ubj ROWS.f32 [SECONDS_PER_ROUND]\n", argv[0]);
        return 2;
    }
    if (argc == 4)
        sample_s = strtod(argv[3], NULL);
    model = read_file(argv[1], &mlen);
    rows = read_file(argv[2], &xlen);
    rc = model[0] == '{' && mlen > 1 && (model[1] == '"' || model[1] == ' ' || model[1] == '\n')
             ? gy_model_trees_from_xgboost_json(model, mlen, &t)
             : gy_model_trees_from_xgboost_ubj(model, mlen, &t);
    if (rc) {
        fprintf(stderr, "import %s: %s\n", argv[1], gy_error_msg());
        return 1;
    }
    if (gy_engine_create_trees(t, &engine) != GY_OK) {
        fprintf(stderr, "engine: %s\n", gy_error_msg());
        return 1;
    }
    NF = t->n_features;
    X = (const float *)rows;
    NROWS = xlen / (NF * sizeof(float));
    if (NROWS < 100000) {
        fprintf(stderr, "%s: %zu rows of %zu features; 100000 needed\n", argv[2], NROWS, NF);
        return 1;
    }
    scratch_mem = gy_malloc(gy_engine_scratch_size(engine, NROWS) + 63);
    out_buf = gy_malloc(NROWS * gy_engine_n_outputs(engine) * sizeof(float));
    if (!scratch_mem || !out_buf)
        return 1;
    scratch = (void *)(((uintptr_t)scratch_mem + 63) & ~(uintptr_t)63);

    XGBoostVersion(&major, &minor, &patch);
    XGB(XGBoosterCreate(NULL, 0, &booster));
    XGB(XGBoosterLoadModelFromBuffer(booster, model, mlen));
    XGB(XGBoosterSetParam(booster, "nthread", "1"));

    bad = check(gy_engine_n_margins(engine), gy_engine_n_outputs(engine));
    printf("model %s: %u trees, %zu features, objective %s; libxgboost %d.%d.%d\n", argv[1],
           t->n_trees, NF, t->objective, major, minor, patch);
    printf("exactness: %zu rows, outputs and margins, batch and single-row kernels: %ld "
           "differing float32 values\n",
           NROWS, bad);
    printf("engine memory %zu bytes; 1 thread each\n\n", gy_engine_memory(engine));
    printf("%-8s %22s %22s %18s\n", "batch", "xgboost ns/row min/med", "gyre ns/row min/med",
           "speed-up min/med");
    for (size_t i = 0; i < GY_ARRAY_LEN(batches); i++) {
        double xmin, xmed, gmin, gmed;
        measure(batches[i], &xmin, &xmed, &gmin, &gmed);
        printf("%-8zu %10.1f / %9.1f %10.1f / %9.1f %8.2fx / %6.2fx\n", batches[i], xmin, xmed,
               gmin, gmed, xmin / gmin, xmed / gmed);
        printf("json {\"bench\": \"engine\", \"batch\": %zu, \"xgboost_ns_per_row_min\": %.1f, "
               "\"xgboost_ns_per_row_median\": %.1f, \"gyre_ns_per_row_min\": %.1f, "
               "\"gyre_ns_per_row_median\": %.1f, \"speedup_min\": %.3f, "
               "\"speedup_median\": %.3f, \"mismatches\": %ld}\n",
               batches[i], xmin, xmed, gmin, gmed, xmin / gmin, xmed / gmed, bad);
        fflush(stdout);
    }
    XGBoosterFree(booster);
    gy_engine_free(engine);
    gy_model_trees_free(t);
    gy_free(scratch_mem);
    gy_free(out_buf);
    gy_free(model);
    gy_free(rows);
    return bad ? 1 : 0;
}
