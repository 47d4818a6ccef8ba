/* SPDX-License-Identifier: MIT */
/*
 * test_gyre.c - unit tests for the public embedding API (include/gyre.h, src/models/gyre_api.c):
 * bundles built here (trees and linear estimators; identity and fitted preprocessings with
 * int, bool and categorical columns) are written to temporary files, opened with
 * gyre_model_open / gyre_model_open_buffer, and checked: signature accessors, metadata JSON,
 * single-row and batch predictions (blocks of 256 and wide models on the heap path) equal to
 * the reference evaluator bit for bit (gy_model_predict_row, which applies the preprocessing),
 * margins, gyre_predict_values with unknown categories and missing values, every error path
 * with its message and truncation, no allocation for one row, and four threads predicting on
 * one model at once.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gyre.h"

#include "base/base.h"
#include "features/features.h"
#include "lake/lake.h"
#include "models/models.h"
#include "../models/fixture.h"

/* ------------------------------------------------------------------ fixtures */

/* A bundle file under /tmp and its bytes. */
struct fx {
    char path[64];
    struct gy_buf bytes;
    struct gy_model_bundle *ref; /* the same bytes loaded by the internal API: the reference */
};

static struct gy_trees *trees_two(void)
{
    return fx_trees(); /* the models tests' hand-made ensemble (tests/unit/models/fixture.h) */
}

/* A 3-group ensemble over @p nf features: one stump per group on feature g * 7 % nf. */
static struct gy_trees *trees_multi(const char *objective, uint32_t nf)
{
    const uint32_t nn[6] = {3, 3, 3, 3, 3, 3};
    struct gy_trees *t;
    cr_assert_eq(gy_model_trees_create(objective, nf, 3, 0.5f, 6, nn, &t), GY_OK, "%s",
                 gy_error_msg());
    for (uint32_t i = 0; i < 6; i++) {
        struct gy_tree_node *n = t->trees[i].nodes;
        t->trees[i].group = i % 3;
        n[0] = (struct gy_tree_node){1, 2, (i * 7) % nf, (uint8_t)(i & 1), 0.1f * (float)i - 0.2f};
        n[1] = (struct gy_tree_node){-1, -1, 0, 0, 0.3f - 0.07f * (float)i};
        n[2] = (struct gy_tree_node){-1, -1, 0, 0, -0.2f + 0.11f * (float)i};
    }
    cr_assert_eq(gy_model_trees_validate(t), GY_OK, "%s", gy_error_msg());
    return t;
}

static struct gy_features *identity(size_t n)
{
    char names[300][8];
    const char *ptrs[300];
    struct gy_features *f;
    cr_assert(n <= 300);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "x%zu", i);
        ptrs[i] = names[i];
    }
    cr_assert_eq(gy_features_identity(ptrs, n, &f), GY_OK, "%s", gy_error_msg());
    return f;
}

/*
 * A fitted preprocessing over amount (float64, one missing), merchant (string: a a b a c b),
 * count (int64) and flag (bool), target label. @p flags is the spec.
 */
static struct gy_features *fitted(enum gy_features_mode mode, const char *flags)
{
    static const char *names[] = {"amount", "merchant", "count", "flag", "label"};
    struct gy_schema *s = gy_schema_create(5);
    struct gy_colvec c[5];
    double amount[6] = {10, 20, 0, 40, 50, 60};
    uint8_t valid[6] = {1, 1, 0, 1, 1, 1}, all[6] = {1, 1, 1, 1, 1, 1};
    uint8_t flag[6] = {1, 0, 0, 1, 1, 0};
    uint32_t off[7] = {0, 1, 2, 3, 4, 5, 6};
    char data[] = "aabacb";
    int64_t count[6] = {3, 1, 4, 1, 5, 9}, y[6] = {0, 1, 0, 1, 0, 1};
    struct gy_feature_spec *sp;
    struct gy_features *f;
    static const enum gy_type types[5] = {GY_TYPE_FLOAT64, GY_TYPE_STRING, GY_TYPE_INT64,
                                          GY_TYPE_BOOL, GY_TYPE_INT64};
    for (int i = 0; i < 5; i++) {
        s->cols[i].name = gy_strdup(names[i]);
        s->cols[i].type = types[i];
    }
    memset(c, 0, sizeof(c));
    c[0] = (struct gy_colvec){.type = GY_TYPE_FLOAT64, .n = 6, .valid = valid, .f64 = amount};
    c[1] = (struct gy_colvec){
        .type = GY_TYPE_STRING, .n = 6, .valid = all, .off = off, .data = data, .data_len = 6};
    c[2] = (struct gy_colvec){.type = GY_TYPE_INT64, .n = 6, .valid = all, .i64 = count};
    c[3] = (struct gy_colvec){.type = GY_TYPE_BOOL, .n = 6, .valid = all, .b = flag};
    c[4] = (struct gy_colvec){.type = GY_TYPE_INT64, .n = 6, .valid = all, .i64 = y};
    cr_assert_eq(gy_features_spec_create(&sp), GY_OK);
    cr_assert_eq(gy_features_spec_add_flags(sp, flags), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_features_fit(sp, s, "label", mode, c, 6, NULL, &f), GY_OK, "%s",
                 gy_error_msg());
    gy_features_spec_free(sp);
    gy_schema_free(s);
    return f;
}

/* Serializes a bundle, writes it to a temporary file and loads the reference copy. */
static void fx_make(struct fx *x, const struct gy_trees *t, const struct gy_linear *l,
                    const struct gy_features *f)
{
    struct gy_model_builder *b;
    json_t *metrics = json_pack("{s:f}", "auc", 0.75);
    struct gy_model_info info = {
        .name = "fraud",
        .trainer = t ? "xgboost" : "logistic",
        .objective = t ? t->objective : l->objective,
        .run_id = "run-1",
        .dataset = "tx@3",
        .target = "label",
        .created_us = INT64_C(1700000000000000),
        .metrics = metrics,
    };
    FILE *fp;
    int fd;
    cr_assert_eq(gy_model_builder_create(&b), GY_OK);
    cr_assert_eq(gy_model_builder_set_info(b, &info), GY_OK, "%s", gy_error_msg());
    gy_model_builder_set_features(b, f);
    if (t)
        gy_model_builder_set_trees(b, t);
    else
        gy_model_builder_set_linear(b, l);
    gy_buf_init(&x->bytes, (size_t)1 << 30);
    cr_assert_eq(gy_model_builder_serialize(b, &x->bytes), GY_OK, "%s", gy_error_msg());
    gy_model_builder_free(b);
    json_decref(metrics);
    snprintf(x->path, sizeof x->path, "/tmp/gyre-api-test.XXXXXX");
    fd = mkstemp(x->path);
    cr_assert(fd >= 0);
    fp = fdopen(fd, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(x->bytes.data, 1, x->bytes.len, fp), x->bytes.len);
    cr_assert_eq(fclose(fp), 0);
    cr_assert_eq(gy_model_bundle_load(x->bytes.data, x->bytes.len, &x->ref), GY_OK, "%s",
                 gy_error_msg());
}

static void fx_free(struct fx *x)
{
    unlink(x->path);
    gy_buf_free(&x->bytes);
    gy_model_bundle_free(x->ref);
}

static gyre_model *open_ok(const char *path)
{
    gyre_model *m = NULL;
    char err[256] = "stale";
    gyre_status st = gyre_model_open(path, &m, err, sizeof err);
    cr_assert_eq(st, GYRE_OK, "%s", err);
    cr_assert_not_null(m);
    cr_assert_str_eq(err, "", "success clears err");
    return m;
}

/* Reference outputs (or margins) of float rows: every value as a number, NaN as missing. */
static void reference(const struct gy_model_bundle *b, const float *x, size_t nrows, float *out,
                      int margins)
{
    const struct gy_features *f = gy_model_bundle_features(b);
    size_t ni = gy_features_n_inputs(f);
    size_t no = margins ? gy_model_bundle_n_margins(b) : gy_model_bundle_n_outputs(b);
    struct gy_feature_value v[300];
    cr_assert(ni <= 300);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t i = 0; i < ni; i++) {
            float xi = x[r * ni + i];
            if (isnan(xi))
                v[i] = (struct gy_feature_value){.kind = GY_FV_NULL};
            else if (gy_features_input_type(f, i) == GY_TYPE_BOOL)
                v[i] = (struct gy_feature_value){.kind = GY_FV_BOOL, .num = xi};
            else
                v[i] = (struct gy_feature_value){.kind = GY_FV_NUM, .num = xi};
        }
        cr_assert_eq(gy_model_predict_row(b, v, margins ? out + r * no : NULL,
                                          margins ? NULL : out + r * no),
                     GY_OK, "%s", gy_error_msg());
    }
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random values around the thresholds, exactly on them, missing, +-inf and negative NaN. */
static float rand_value(void)
{
    static const float special[] = {0.5f, -1.0f, 3.0f, 0.0f, INFINITY, -INFINITY};
    uint64_t r = rng() % 20;
    if (r < 6)
        return special[r];
    if (r == 6)
        return NAN;
    if (r == 7)
        return -NAN;
    return (float)((double)(rng() % 20001) / 2000.0 - 5.0);
}

static void assert_bits_eq(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t ua, ub;
        memcpy(&ua, &a[i], 4);
        memcpy(&ub, &b[i], 4);
        cr_assert_eq(ua, ub, "%s: value %zu: %.9g (0x%08x) != reference %.9g (0x%08x)", what, i,
                     (double)a[i], ua, (double)b[i], ub);
    }
}

/* ------------------------------------------------------------------ signature */

Test(gyre, version_and_status_names)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", GYRE_VERSION_MAJOR, GYRE_VERSION_MINOR,
             GYRE_VERSION_PATCH);
    cr_assert_str_eq(gyre_version(), want);
    cr_assert_str_eq(gyre_status_str(GYRE_OK), "ok");
    cr_assert_str_eq(gyre_status_str(GYRE_ERR_CORRUPT), "corrupt bundle");
    cr_assert_str_eq(gyre_status_str((gyre_status)99), "unknown status");
}

Test(gyre, signature_of_an_identity_tree_model)
{
    struct gy_trees *t = trees_two();
    struct gy_features *f = identity(3);
    struct fx x;
    gyre_model *m;
    json_t *meta;
    json_error_t je;
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);
    cr_assert_str_eq(gyre_model_name(m), "fraud");
    cr_assert_str_eq(gyre_model_objective(m), "binary:logistic");
    cr_assert_eq(gyre_model_n_inputs(m), 3);
    cr_assert_str_eq(gyre_model_input_name(m, 0), "x0");
    cr_assert_str_eq(gyre_model_input_name(m, 2), "x2");
    cr_assert_null(gyre_model_input_name(m, 3));
    cr_assert_eq(gyre_model_input_type(m, 1), GYRE_TYPE_FLOAT);
    cr_assert_eq(gyre_model_input_type(m, 3), (gyre_type)0);
    cr_assert_eq(gyre_model_input_index(m, "x1"), 1);
    cr_assert_eq(gyre_model_input_index(m, "X1"), -1);
    cr_assert_eq(gyre_model_input_index(m, NULL), -1);
    cr_assert_eq(gyre_model_n_outputs(m), 1);
    cr_assert_eq(gyre_model_n_margins(m), 1);
    /* Metadata: compact JSON of the bundle's metadata object. */
    cr_assert_null(strchr(gyre_model_metadata_json(m), '\n'));
    meta = json_loads(gyre_model_metadata_json(m), 0, &je);
    cr_assert_not_null(meta, "%s", je.text);
    cr_assert(json_equal(meta, (json_t *)gy_model_bundle_meta(x.ref)));
    cr_assert_str_eq(gy_json_str(meta, "run_id", ""), "run-1");
    cr_assert_str_eq(gy_json_str(meta, "dataset", ""), "tx@3");
    json_decref(meta);
    gyre_model_close(m);
    /* NULL is accepted everywhere a model is read. */
    gyre_model_close(NULL);
    cr_assert_eq(gyre_model_n_inputs(NULL), 0);
    cr_assert_null(gyre_model_input_name(NULL, 0));
    cr_assert_null(gyre_model_metadata_json(NULL));
    cr_assert_eq(gyre_model_input_index(NULL, "x0"), -1);
    fx_free(&x);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(gyre, signature_of_a_fitted_model_maps_types)
{
    struct gy_features *f = fitted(GY_FEATURES_TREE, "merchant:ordinal,top=2");
    const uint32_t nn[1] = {1};
    struct gy_trees *t;
    struct fx x;
    gyre_model *m;
    cr_assert_eq(gy_features_n_outputs(f), 4);
    cr_assert_eq(gy_model_trees_create("reg:squarederror", 4, 1, 0.5f, 1, nn, &t), GY_OK);
    t->trees[0].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 1.0f};
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);
    cr_assert_eq(gyre_model_n_inputs(m), 4);
    cr_assert_str_eq(gyre_model_input_name(m, 0), "amount");
    cr_assert_eq(gyre_model_input_type(m, 0), GYRE_TYPE_FLOAT);
    cr_assert_eq(gyre_model_input_type(m, 1), GYRE_TYPE_STRING);
    cr_assert_eq(gyre_model_input_type(m, 2), GYRE_TYPE_INT);
    cr_assert_eq(gyre_model_input_type(m, 3), GYRE_TYPE_BOOL);
    cr_assert_eq(gyre_model_input_index(m, "flag"), 3);
    cr_assert_eq(gyre_model_input_index(m, "label"), -1, "the target is not an input");
    cr_assert_str_eq(gyre_model_objective(m), "reg:squarederror");
    gyre_model_close(m);
    fx_free(&x);
    gy_model_trees_free(t);
    gy_features_free(f);
}

/* ------------------------------------------------------------------ predictions */

/* Rows through gyre_predict and gyre_predict_margins equal the reference, bit for bit. */
static void check_batches(const struct fx *x, gyre_model *m)
{
    static const size_t sizes[] = {1, 2, 7, 255, 256, 257, 1000};
    size_t ni = gyre_model_n_inputs(m), no = gyre_model_n_outputs(m);
    size_t ng = gyre_model_n_margins(m);
    for (size_t s = 0; s < GY_ARRAY_LEN(sizes); s++) {
        size_t n = sizes[s];
        float *in = gy_malloc(n * ni * sizeof(float));
        float *got = gy_malloc(n * GY_MAX(no, ng) * sizeof(float));
        float *want = gy_malloc(n * GY_MAX(no, ng) * sizeof(float));
        char err[256];
        for (size_t k = 0; k < n * ni; k++)
            in[k] = rand_value();
        reference(x->ref, in, n, want, 0);
        cr_assert_eq(gyre_predict(m, in, n, got, err, sizeof err), GYRE_OK, "%s", err);
        assert_bits_eq(got, want, n * no, "outputs");
        reference(x->ref, in, n, want, 1);
        cr_assert_eq(gyre_predict_margins(m, in, n, got, err, sizeof err), GYRE_OK, "%s", err);
        assert_bits_eq(got, want, n * ng, "margins");
        gy_free(in);
        gy_free(got);
        gy_free(want);
    }
}

Test(gyre, identity_trees_predict_like_the_reference)
{
    struct gy_trees *t = trees_two();
    struct gy_features *f = identity(3);
    struct fx x;
    gyre_model *m;
    /* Hand-checked rows: thresholds are strict (x < t), NaN follows default_left. */
    const float rows[4][3] = {{0.5f, -1.0f, 3.0f}, {NAN, NAN, NAN}, {1, -2, 2}, {0.49f, 0, 5}};
    const float margin[4] = {0.75f - 0.375f, 0.25f + 0.125f, -0.5f + 0.125f, 0.25f - 0.375f};
    float p[4];
    char err[64];
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);
    cr_assert_eq(gyre_predict_margins(m, &rows[0][0], 4, p, err, sizeof err), GYRE_OK, "%s", err);
    for (int r = 0; r < 4; r++)
        cr_assert_eq(p[r], margin[r], "row %d: %.9g", r, (double)p[r]);
    cr_assert_eq(gyre_predict(m, &rows[0][0], 4, p, err, sizeof err), GYRE_OK, "%s", err);
    for (int r = 0; r < 4; r++)
        cr_assert_eq(p[r], 1.0f / (1.0f + expf(-margin[r])), "row %d", r);
    /* Infinity is missing, as in training: +inf in x0 goes left like NaN. */
    {
        const float a[3] = {INFINITY, 5, 5}, b[3] = {NAN, 5, 5};
        float pa, pb;
        cr_assert_eq(gyre_predict_margins(m, a, 1, &pa, err, sizeof err), GYRE_OK);
        cr_assert_eq(gyre_predict_margins(m, b, 1, &pb, err, sizeof err), GYRE_OK);
        cr_assert_eq(pa, pb);
        cr_assert_eq(pa, 0.25f - 0.375f);
    }
    check_batches(&x, m);
    gyre_model_close(m);
    fx_free(&x);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(gyre, multiclass_softprob_and_softmax)
{
    static const char *const objectives[] = {"multi:softprob", "multi:softmax"};
    for (size_t o = 0; o < 2; o++) {
        struct gy_trees *t = trees_multi(objectives[o], 5);
        struct gy_features *f = identity(5);
        struct fx x;
        gyre_model *m;
        fx_make(&x, t, NULL, f);
        m = open_ok(x.path);
        cr_assert_eq(gyre_model_n_margins(m), 3);
        cr_assert_eq(gyre_model_n_outputs(m), o == 0 ? 3 : 1);
        check_batches(&x, m);
        gyre_model_close(m);
        fx_free(&x);
        gy_features_free(f);
        gy_model_trees_free(t);
    }
}

Test(gyre, wide_model_uses_the_heap_for_one_row)
{
    /* 300 inputs: more than one row keeps on the stack. */
    struct gy_trees *t = trees_multi("multi:softprob", 300);
    struct gy_features *f = identity(300);
    struct fx x;
    gyre_model *m;
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);
    cr_assert_eq(gyre_model_n_inputs(m), 300);
    check_batches(&x, m);
    gyre_model_close(m);
    fx_free(&x);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(gyre, fitted_numeric_preprocessing_with_int_and_bool)
{
    /* merchant dropped: inputs amount (float64), count (int64), flag (bool). */
    struct gy_features *f =
        fitted(GY_FEATURES_TREE, "merchant:drop;amount:impute=median,clip=15:55");
    const uint32_t nn[1] = {7};
    struct gy_trees *t;
    struct fx x;
    gyre_model *m;
    float in[4][3] = {{12, 2.7f, 1}, {NAN, 4, 0}, {30, NAN, NAN}, {70, 9.9f, 2}}, got[4], want[4];
    char err[256];
    cr_assert_eq(gy_features_n_inputs(f), 3);
    cr_assert_eq(gy_model_trees_create("reg:squarederror", 3, 1, 0.5f, 1, nn, &t), GY_OK);
    t->trees[0].nodes[0] = (struct gy_tree_node){1, 2, 0, 1, 30.0f};
    t->trees[0].nodes[1] = (struct gy_tree_node){3, 4, 1, 0, 3.0f};
    t->trees[0].nodes[2] = (struct gy_tree_node){5, 6, 2, 1, 0.5f};
    t->trees[0].nodes[3] = (struct gy_tree_node){-1, -1, 0, 0, 1.0f};
    t->trees[0].nodes[4] = (struct gy_tree_node){-1, -1, 0, 0, 2.0f};
    t->trees[0].nodes[5] = (struct gy_tree_node){-1, -1, 0, 0, 4.0f};
    t->trees[0].nodes[6] = (struct gy_tree_node){-1, -1, 0, 0, 8.0f};
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);
    cr_assert_eq(gyre_model_input_type(m, 1), GYRE_TYPE_INT);
    cr_assert_eq(gyre_model_input_type(m, 2), GYRE_TYPE_BOOL);
    reference(x.ref, &in[0][0], 3, want, 0);
    cr_assert_eq(gyre_predict(m, &in[0][0], 3, got, err, sizeof err), GYRE_OK, "%s", err);
    assert_bits_eq(got, want, 3, "fitted rows");
    /* Row 0: amount 12 clipped to 15 (< 30), count 2.7 truncated to 2 (< 3): leaf 1.0. */
    cr_assert_eq(got[0], 0.5f + 1.0f);
    /* Row 1: amount missing -> median 40 (>= 30), flag 0 (< 0.5): leaf 4.0. */
    cr_assert_eq(got[1], 0.5f + 4.0f);
    /* A bool column takes 0, 1 or NaN only; the error names the row and the column. */
    cr_assert_eq(gyre_predict(m, &in[0][0], 4, got, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "row 3") && strstr(err, "'flag'"), "%s", err);
    gyre_model_close(m);
    fx_free(&x);
    gy_model_trees_free(t);
    gy_features_free(f);
}

/* One float64 input that looks like the identity but is not: clipped, imputed or scaled. */
Test(gyre, float_passthrough_with_clip_or_impute_is_applied)
{
    static const char *const specs[] = {
        "merchant:drop;count:drop;flag:drop;amount:clip=35:55",
        "merchant:drop;count:drop;flag:drop;amount:impute=-7",
        "merchant:drop;count:drop;flag:drop;amount:standardize",
        "merchant:drop;count:drop;flag:drop",
    };
    const float in[5] = {0, 100, NAN, INFINITY, 30},
                want_leaf[4][5] = {
                    {35, 55, NAN, NAN, 35}, {0, 100, -7, -7, 30}, {0}, {0, 100, NAN, NAN, 30}};
    for (size_t k = 0; k < GY_ARRAY_LEN(specs); k++) {
        struct gy_features *f = fitted(GY_FEATURES_TREE, specs[k]);
        const uint32_t nn[3] = {3};
        struct gy_trees *t;
        struct fx x;
        gyre_model *m;
        float got[5], want[5];
        char err[128];
        cr_assert_eq(gy_features_n_inputs(f), 1);
        /* amount < 29 (missing: right) ? 1 : 2. */
        cr_assert_eq(gy_model_trees_create("reg:squarederror", 1, 1, 0.0f, 1, nn, &t), GY_OK);
        t->trees[0].nodes[0] = (struct gy_tree_node){1, 2, 0, 0, 29.0f};
        t->trees[0].nodes[1] = (struct gy_tree_node){-1, -1, 0, 0, 1.0f};
        t->trees[0].nodes[2] = (struct gy_tree_node){-1, -1, 0, 0, 2.0f};
        fx_make(&x, t, NULL, f);
        m = open_ok(x.path);
        reference(x.ref, in, 5, want, 0);
        cr_assert_eq(gyre_predict(m, in, 5, got, err, sizeof err), GYRE_OK, "%s", err);
        assert_bits_eq(got, want, 5, specs[k]);
        if (k != 2) {
            for (int r = 0; r < 5; r++) {
                float v = want_leaf[k][r];
                cr_assert_eq(got[r], !isnan(v) && v < 29.0f ? 1.0f : 2.0f, "%s row %d", specs[k],
                             r);
            }
        }
        gyre_model_close(m);
        fx_free(&x);
        gy_model_trees_free(t);
        gy_features_free(f);
    }
}

/* gyre_predict_values on @p row equals gy_model_predict_row on @p ref_row. */
static void check_values(gyre_model *m, const struct fx *x, const gyre_value *row,
                         const struct gy_feature_value *ref_row)
{
    float got[8], want[8];
    char err[256];
    size_t no = gyre_model_n_outputs(m);
    cr_assert(no <= 8);
    cr_assert_eq(gyre_predict_values(m, row, got, err, sizeof err), GYRE_OK, "%s", err);
    cr_assert_eq(gy_model_predict_row(x->ref, ref_row, NULL, want), GY_OK, "%s", gy_error_msg());
    assert_bits_eq(got, want, no, "predict_values");
}

Test(gyre, categorical_tree_model_predict_values)
{
    struct gy_features *f = fitted(GY_FEATURES_TREE, "merchant:ordinal,top=1");
    const uint32_t nn[1] = {5};
    struct gy_trees *t;
    struct fx x;
    gyre_model *m;
    float xs[4] = {1, 2, 3, 1}, p[4];
    char err[256];
    gyre_value row[4];
    struct gy_feature_value ref[4];
    /* Codes: a = 0 (top 1), b/c = 1 (<other>), unseen = 2, missing = NaN (goes right). */
    cr_assert_eq(gy_model_trees_create("binary:logistic", 4, 1, 0.5f, 1, nn, &t), GY_OK);
    t->trees[0].nodes[0] = (struct gy_tree_node){1, 2, 1, 0, 0.5f};
    t->trees[0].nodes[1] = (struct gy_tree_node){-1, -1, 0, 0, 1.0f};
    t->trees[0].nodes[2] = (struct gy_tree_node){3, 4, 1, 0, 1.5f};
    t->trees[0].nodes[3] = (struct gy_tree_node){-1, -1, 0, 0, -1.0f};
    t->trees[0].nodes[4] = (struct gy_tree_node){-1, -1, 0, 0, 2.0f};
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);

    /* Floats cannot carry a category. */
    cr_assert_eq(gyre_predict(m, xs, 1, p, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "'merchant'") && strstr(err, "gyre_predict_values"), "%s", err);

    row[0] = (gyre_value){.num = 25};
    row[2] = (gyre_value){.num = 4};
    row[3] = (gyre_value){.num = 1};
    ref[0] = (struct gy_feature_value){.kind = GY_FV_NUM, .num = 25};
    ref[2] = (struct gy_feature_value){.kind = GY_FV_NUM, .num = 4};
    ref[3] = (struct gy_feature_value){.kind = GY_FV_BOOL, .num = 1};
    {
        static const char *const cats[] = {"a", "b", "c", "never-seen"};
        static const float leaf[] = {1.0f, -1.0f, -1.0f, 2.0f};
        for (int k = 0; k < 4; k++) {
            row[1] = (gyre_value){.str = cats[k]};
            ref[1] = (struct gy_feature_value){
                .kind = GY_FV_STR, .str = cats[k], .len = strlen(cats[k])};
            check_values(m, &x, row, ref);
            cr_assert_eq(gyre_predict_values(m, row, p, err, sizeof err), GYRE_OK);
            cr_assert_eq(p[0], 1.0f / (1.0f + expf(-leaf[k])), "category %s", cats[k]);
        }
    }
    /* Missing category (NULL str, num ignored), missing numbers (NaN). */
    row[1] = (gyre_value){.str = NULL, .num = 0};
    ref[1] = (struct gy_feature_value){.kind = GY_FV_NULL};
    row[0] = (gyre_value){.num = NAN};
    ref[0] = (struct gy_feature_value){.kind = GY_FV_NULL};
    row[3] = (gyre_value){.num = NAN};
    ref[3] = (struct gy_feature_value){.kind = GY_FV_NULL};
    check_values(m, &x, row, ref);
    cr_assert_eq(gyre_predict_values(m, row, p, err, sizeof err), GYRE_OK);
    cr_assert_eq(p[0], 1.0f / (1.0f + expf(-2.0f)), "a missing code is NaN: goes right");

    /* A string for a number, a bool that is not 0/1: refused, naming the column. */
    row[1] = (gyre_value){.str = "a"};
    row[0] = (gyre_value){.str = "12"};
    cr_assert_eq(gyre_predict_values(m, row, p, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "'amount'"), "%s", err);
    row[0] = (gyre_value){.num = 1};
    row[3] = (gyre_value){.num = 0.5};
    cr_assert_eq(gyre_predict_values(m, row, p, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "'flag'") && !strstr(err, "row"), "%s", err);
    cr_assert_eq(gyre_predict_values(m, NULL, p, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert_eq(gyre_predict_values(m, row, NULL, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert_eq(gyre_predict_values(NULL, row, p, err, sizeof err), GYRE_ERR_INVALID);
    gyre_model_close(m);
    fx_free(&x);
    gy_model_trees_free(t);
    gy_features_free(f);
}

Test(gyre, linear_model_with_onehot_and_imputation)
{
    struct gy_features *f = fitted(GY_FEATURES_LINEAR, "merchant:onehot,top=2");
    struct gy_linear *l;
    struct fx x;
    gyre_model *m;
    size_t nf = gy_features_n_outputs(f);
    static const char *const cats[] = {"a", "b", "c", "zzz", NULL};
    gyre_value row[4];
    struct gy_feature_value ref[4];
    cr_assert_eq(gy_model_linear_create("binary:logistic", GY_LINK_LOGISTIC, (uint32_t)nf, 1, &l),
                 GY_OK);
    l->intercepts[0] = -0.25;
    for (size_t j = 0; j < nf; j++)
        l->weights[j] = 0.37 * (double)(j + 1) * (j % 2 ? -1 : 1);
    fx_make(&x, NULL, l, f);
    m = open_ok(x.path);
    cr_assert_eq(gyre_model_n_outputs(m), 1);
    cr_assert_str_eq(gyre_model_objective(m), "binary:logistic");
    for (int k = 0; k < 5; k++) {
        for (int miss = 0; miss < 2; miss++) {
            row[0] = (gyre_value){.num = miss ? NAN : 33.3};
            ref[0] = miss ? (struct gy_feature_value){.kind = GY_FV_NULL}
                          : (struct gy_feature_value){.kind = GY_FV_NUM, .num = 33.3};
            row[1] = (gyre_value){.str = cats[k]};
            ref[1] = cats[k] ? (struct gy_feature_value){.kind = GY_FV_STR,
                                                         .str = cats[k],
                                                         .len = strlen(cats[k])}
                             : (struct gy_feature_value){.kind = GY_FV_NULL};
            row[2] = (gyre_value){.num = miss ? NAN : 7};
            ref[2] = miss ? (struct gy_feature_value){.kind = GY_FV_NULL}
                          : (struct gy_feature_value){.kind = GY_FV_NUM, .num = 7};
            row[3] = (gyre_value){.num = miss ? NAN : 0};
            ref[3] = miss ? (struct gy_feature_value){.kind = GY_FV_NULL}
                          : (struct gy_feature_value){.kind = GY_FV_BOOL, .num = 0};
            check_values(m, &x, row, ref);
        }
    }
    /* An unknown category and a known one give different scores (the <unseen> weight). */
    {
        float pa, pz;
        char err[128];
        row[0] = (gyre_value){.num = 33.3};
        row[2] = (gyre_value){.num = 7};
        row[3] = (gyre_value){.num = 1};
        row[1] = (gyre_value){.str = "a"};
        cr_assert_eq(gyre_predict_values(m, row, &pa, err, sizeof err), GYRE_OK, "%s", err);
        row[1] = (gyre_value){.str = "zzz"};
        cr_assert_eq(gyre_predict_values(m, row, &pz, err, sizeof err), GYRE_OK, "%s", err);
        cr_assert_neq(pa, pz);
        cr_assert(pa > 0 && pa < 1 && pz > 0 && pz < 1);
    }
    gyre_model_close(m);
    fx_free(&x);
    gy_model_linear_free(l);
    gy_features_free(f);
}

Test(gyre, open_buffer_equals_open_file)
{
    struct gy_trees *t = trees_multi("multi:softprob", 4);
    struct gy_features *f = identity(4);
    struct fx x;
    gyre_model *a, *b = NULL;
    char err[128];
    float in[40], pa[30], pb[30];
    fx_make(&x, t, NULL, f);
    a = open_ok(x.path);
    cr_assert_eq(gyre_model_open_buffer(x.bytes.data, x.bytes.len, &b, err, sizeof err), GYRE_OK,
                 "%s", err);
    cr_assert_str_eq(gyre_model_metadata_json(a), gyre_model_metadata_json(b));
    for (int k = 0; k < 40; k++)
        in[k] = rand_value();
    cr_assert_eq(gyre_predict(a, in, 10, pa, err, sizeof err), GYRE_OK);
    cr_assert_eq(gyre_predict(b, in, 10, pb, err, sizeof err), GYRE_OK);
    assert_bits_eq(pa, pb, 30, "buffer vs file");
    gyre_model_close(a);
    gyre_model_close(b);
    fx_free(&x);
    gy_features_free(f);
    gy_model_trees_free(t);
}

/* ------------------------------------------------------------------ allocation */

Test(gyre, one_row_allocates_nothing_and_batches_report_nomem)
{
    struct gy_features *f = fitted(GY_FEATURES_TREE, "merchant:drop");
    struct gy_trees *t3;
    const uint32_t nn[1] = {1};
    struct fx x;
    gyre_model *m;
    float in[300 * 3], out[300];
    char err[128];
    gyre_value row[3] = {{.num = 1}, {.num = 2}, {.num = 1}};
    cr_assert_eq(gy_model_trees_create("reg:squarederror", 3, 1, 0.5f, 1, nn, &t3), GY_OK);
    t3->trees[0].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 1.0f};
    fx_make(&x, t3, NULL, f);
    m = open_ok(x.path);
    for (int k = 0; k < 900; k++)
        in[k] = (float)(k % 2);
    /* The next allocation would fail: one row and one value row must not need any. */
    gy_alloc_fail_after(1);
    cr_assert_eq(gyre_predict(m, in, 1, out, err, sizeof err), GYRE_OK, "%s", err);
    cr_assert_eq(gyre_predict_values(m, row, out, err, sizeof err), GYRE_OK, "%s", err);
    gy_alloc_fail_after(1);
    cr_assert_eq(gyre_predict(m, in, 300, out, err, sizeof err), GYRE_ERR_NOMEM);
    cr_assert(strstr(err, "out of memory"), "%s", err);
    gy_alloc_fail_after(0);
    cr_assert_eq(gyre_predict(m, in, 300, out, err, sizeof err), GYRE_OK, "%s", err);
    gyre_model_close(m);
    fx_free(&x);
    gy_model_trees_free(t3);
    gy_features_free(f);
}

Test(gyre, one_row_of_common_shapes_allocates_nothing)
{
    /* 28 float inputs (the benchmark width) into trees, and a 200-feature linear model. */
    struct gy_trees *t = trees_multi("multi:softprob", 28);
    struct gy_features *f28 = identity(28), *f200 = identity(200);
    struct gy_linear *l;
    struct fx a, b;
    gyre_model *ma, *mb;
    float in[200], out[3];
    char err[128];
    cr_assert_eq(gy_model_linear_create("reg:squarederror", GY_LINK_IDENTITY, 200, 1, &l), GY_OK);
    for (int j = 0; j < 200; j++)
        l->weights[j] = 0.01 * j;
    fx_make(&a, t, NULL, f28);
    fx_make(&b, NULL, l, f200);
    ma = open_ok(a.path);
    mb = open_ok(b.path);
    for (int k = 0; k < 200; k++)
        in[k] = (float)k / 7.0f;
    gy_alloc_fail_after(1);
    cr_assert_eq(gyre_predict(ma, in, 1, out, err, sizeof err), GYRE_OK, "%s", err);
    cr_assert_eq(gyre_predict_margins(ma, in, 1, out, err, sizeof err), GYRE_OK, "%s", err);
    cr_assert_eq(gyre_predict(mb, in, 1, out, err, sizeof err), GYRE_OK, "%s", err);
    gy_alloc_fail_after(0);
    gyre_model_close(ma);
    gyre_model_close(mb);
    fx_free(&a);
    fx_free(&b);
    gy_model_linear_free(l);
    gy_model_trees_free(t);
    gy_features_free(f28);
    gy_features_free(f200);
}

/* ------------------------------------------------------------------ errors */

Test(gyre, open_errors)
{
    struct gy_trees *t = trees_two();
    struct gy_features *f = identity(3);
    struct fx x;
    gyre_model *m = (gyre_model *)&x;
    char err[256];
    fx_make(&x, t, NULL, f);

    cr_assert_eq(gyre_model_open("/nonexistent/dir/model.gyb", &m, err, sizeof err), GYRE_ERR_IO);
    cr_assert_null(m, "*out is NULL on error");
    cr_assert(strstr(err, "/nonexistent/dir/model.gyb"), "%s", err);

    /* A flipped byte in the middle fails the checksum: corrupt, with a message. */
    {
        char *bad = gy_malloc(x.bytes.len);
        memcpy(bad, x.bytes.data, x.bytes.len);
        bad[x.bytes.len / 2] ^= 0x10;
        cr_assert_eq(gyre_model_open_buffer(bad, x.bytes.len, &m, err, sizeof err),
                     GYRE_ERR_CORRUPT);
        cr_assert_null(m);
        cr_assert_gt(strlen(err), 10, "%s", err);
        /* The same through a file. */
        {
            FILE *fp = fopen(x.path, "wb");
            cr_assert_not_null(fp);
            cr_assert_eq(fwrite(bad, 1, x.bytes.len, fp), x.bytes.len);
            cr_assert_eq(fclose(fp), 0);
        }
        cr_assert_eq(gyre_model_open(x.path, &m, err, sizeof err), GYRE_ERR_CORRUPT);
        cr_assert(strstr(err, x.path), "the message names the file: %s", err);
        /* Truncated. */
        cr_assert_eq(gyre_model_open_buffer(x.bytes.data, x.bytes.len - 9, &m, err, sizeof err),
                     GYRE_ERR_CORRUPT, "%s", err);
        cr_assert_eq(gyre_model_open_buffer("garbage!", 8, &m, err, sizeof err), GYRE_ERR_CORRUPT,
                     "%s", err);
        cr_assert_eq(gyre_model_open_buffer("", 0, &m, err, sizeof err), GYRE_ERR_CORRUPT, "%s",
                     err);
        gy_free(bad);
    }

    /* NULL arguments. */
    cr_assert_eq(gyre_model_open(NULL, &m, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "path"), "%s", err);
    cr_assert_eq(gyre_model_open(x.path, NULL, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert_eq(gyre_model_open("", &m, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert_eq(gyre_model_open_buffer(NULL, 10, &m, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert_eq(gyre_model_open_buffer(x.bytes.data, x.bytes.len, NULL, NULL, 0),
                 GYRE_ERR_INVALID);
    /* err may be NULL. */
    cr_assert_eq(gyre_model_open("/nonexistent", &m, NULL, 0), GYRE_ERR_IO);
    fx_free(&x);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(gyre, predict_argument_errors)
{
    struct gy_trees *t = trees_two();
    struct gy_features *f = identity(3);
    struct fx x;
    gyre_model *m;
    float in[3] = {1, 2, 3}, out[1] = {42};
    char err[128];
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);
    cr_assert_eq(gyre_predict(NULL, in, 1, out, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "model"), "%s", err);
    cr_assert_eq(gyre_predict(m, NULL, 1, out, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "input"), "%s", err);
    cr_assert_eq(gyre_predict_margins(m, in, 1, NULL, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "output"), "%s", err);
    cr_assert_eq(gyre_predict(m, NULL, 0, NULL, err, sizeof err), GYRE_OK, "zero rows: no-op");
    cr_assert_eq(out[0], 42);
    cr_assert_eq(gyre_predict(m, in, SIZE_MAX / 2, out, err, sizeof err), GYRE_ERR_INVALID);
    cr_assert(strstr(err, "too many"), "%s", err);
    gyre_model_close(m);
    fx_free(&x);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(gyre, error_text_truncation)
{
    /* "é" is two bytes: the cut never splits it, and the text is always NUL-terminated. */
    const char *path = "/nonexistent/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9.gyb";
    gyre_model *m;
    char full[256], small[32];
    size_t n;
    cr_assert_eq(gyre_model_open(path, &m, full, sizeof full), GYRE_ERR_IO);
    n = strlen(full);
    cr_assert_gt(n, 20, "%s", full);
    for (size_t len = 1; len <= 20; len++) {
        memset(small, 'X', sizeof small);
        cr_assert_eq(gyre_model_open(path, &m, small, len), GYRE_ERR_IO);
        cr_assert_lt(strlen(small), len, "errlen %zu", len);
        cr_assert_eq(strncmp(small, full, strlen(small)), 0, "a prefix of the full text");
        cr_assert(strlen(small) + 1 >= len - 1, "cut at most one byte early (errlen %zu)", len);
        cr_assert_neq((unsigned char)small[strlen(small) ? strlen(small) - 1 : 0], 0xc3,
                      "no lead byte left alone (errlen %zu)", len);
        cr_assert_eq(small[len], 'X', "nothing written past errlen");
    }
    /* errlen 0: the buffer is not touched. */
    small[0] = 'X';
    cr_assert_eq(gyre_model_open(path, &m, small, 0), GYRE_ERR_IO);
    cr_assert_eq(small[0], 'X');
}

/* ------------------------------------------------------------------ threads */

#define THREAD_ROWS 3000

struct thread_arg {
    const gyre_model *m;
    const float *in;
    const float *want;
    size_t ni, no;
    int mismatches;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    float out[THREAD_ROWS * 3];
    char err[128];
    for (int rep = 0; rep < 5; rep++) {
        /* Alternate one-row calls and a whole batch. */
        if (rep % 2) {
            if (gyre_predict(a->m, a->in, THREAD_ROWS, out, err, sizeof err) != GYRE_OK)
                a->mismatches++;
        } else {
            for (size_t r = 0; r < THREAD_ROWS; r++)
                if (gyre_predict(a->m, a->in + r * a->ni, 1, out + r * a->no, err, sizeof err) !=
                    GYRE_OK)
                    a->mismatches++;
        }
        if (memcmp(out, a->want, THREAD_ROWS * a->no * sizeof(float)) != 0)
            a->mismatches++;
    }
    return NULL;
}

Test(gyre, four_threads_on_one_model)
{
    struct gy_trees *t = trees_multi("multi:softprob", 6);
    struct gy_features *f = identity(6);
    struct fx x;
    gyre_model *m;
    float *in = gy_malloc(THREAD_ROWS * 6 * sizeof(float));
    float *want = gy_malloc(THREAD_ROWS * 3 * sizeof(float));
    pthread_t th[4];
    struct thread_arg args[4];
    fx_make(&x, t, NULL, f);
    m = open_ok(x.path);
    for (size_t k = 0; k < THREAD_ROWS * 6; k++)
        in[k] = rand_value();
    reference(x.ref, in, THREAD_ROWS, want, 0);
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){.m = m, .in = in, .want = want, .ni = 6, .no = 3};
        cr_assert_eq(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_assert_eq(args[i].mismatches, 0, "thread %d", i);
    }
    gyre_model_close(m);
    gy_free(in);
    gy_free(want);
    fx_free(&x);
    gy_features_free(f);
    gy_model_trees_free(t);
}
