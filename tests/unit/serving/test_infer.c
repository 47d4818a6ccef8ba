/* SPDX-License-Identifier: MIT */
/*
 * test_infer.c - input mapping and preprocessing at serving (src/serving/infer.c): one
 * [N, n_inputs] tensor or one tensor per column, every numeric datatype, unaligned data, NaN as
 * missing, Inf refused (or passed as missing with allow_inf), a model with a string column
 * through its fitted preprocessing (equal to gy_model_predict_row), and each malformed request
 * refused with GY_E_INVALID and a message naming the tensor, element or column.
 */
#include "fixture.h"

static void setup(void)
{
    fx_setup(&F, 0, 1);
}

/* Runs @p n_in tensors on endpoint @p name; outputs copied to @p out (may be NULL). */
static enum gy_status run(struct gy_serving *s, const char *name, const struct gy_tensor *in,
                          size_t n_in, float *out, uint64_t *nrows)
{
    struct gy_serving_target *t = NULL;
    struct gy_arena *a = gy_arena_create(4096);
    struct gy_serving_call call;
    enum gy_status rc = gy_serving_acquire(s, name, NULL, &t);
    if (rc == GY_OK) {
        memset(&call, 0, sizeof call);
        call.inputs = in;
        call.n_inputs = n_in;
        call.arena = a;
        rc = gy_serving_infer(t, &call);
        if (rc == GY_OK && out)
            memcpy(out, call.outputs, call.nrows * sizeof(float));
        if (rc == GY_OK && nrows)
            *nrows = call.nrows;
        gy_serving_release(t);
    }
    gy_arena_free(a);
    return rc;
}

static struct gy_tensor tensor(const char *name, enum gy_dtype dt, const void *data, int ndim,
                               uint64_t d0, uint64_t d1)
{
    struct gy_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = dt;
    t.ndim = ndim;
    t.shape[0] = d0;
    t.shape[1] = d1;
    t.n_elems = ndim == 1 ? d0 : d0 * d1;
    t.data = data;
    return t;
}

static void refused(struct gy_serving *s, const char *name, const struct gy_tensor *in, size_t n_in,
                    const char *needle)
{
    enum gy_status rc = run(s, name, in, n_in, NULL, NULL);
    cr_assert_eq(rc, GY_E_INVALID, "accepted (%s), wanted an error with '%s'", gy_status_str(rc),
                 needle);
    cr_assert(strstr(gy_error_msg(), needle), "error '%s' lacks '%s'", gy_error_msg(), needle);
}

struct mstat {
    uint64_t fail, other, success;
};

static void count_fails(const struct gy_model_stats *m, void *ctx)
{
    struct mstat *ms = ctx;
    ms->fail += m->fail.count;
    ms->other += m->fail_by_reason[GY_FAIL_OTHER];
    ms->success += m->success.count;
}

static const float X[12] = {0.1f, 0, 0, 1, -2, 5, 1, 0.5f, NAN, NAN, NAN, 2.9f};

Test(infer, identity_datatypes, .init = setup, .fini = fx_fini)
{
    int64_t before = gy_alloc_bytes();
    struct gy_serving *s;
    float want[4], out[4];
    double x64[12];
    int64_t i64[6] = {0, -3, 4, 1, 1, 2};
    int32_t i32[6] = {0, -3, 4, 1, 1, 2};
    uint8_t u8[3] = {1, 0, 7}, b8[3] = {1, 0, 1};
    uint16_t h[3] = {0x3c00, 0xc000, 0x4200}; /* 1, -2, 3 */
    float xi[6] = {0, -3, 4, 1, 1, 2}, unal_buf[13];
    struct gy_tensor t;
    uint64_t n = 0;
    sx_register_shift(F.db, "m", 0, NULL);
    s = sx_serving(&F, 1000);
    sx_expect(0, X, 4, want);

    t = tensor("input", GY_DT_FP32, X, 2, 4, 3);
    OK(run(s, "m", &t, 1, out, &n));
    cr_assert_eq(n, 4);
    cr_assert(memcmp(out, want, sizeof want) == 0, "FP32");

    for (int i = 0; i < 12; i++)
        x64[i] = X[i];
    t = tensor("whatever", GY_DT_FP64, x64, 2, 4, 3);
    OK(run(s, "m", &t, 1, out, NULL));
    cr_assert(memcmp(out, want, sizeof want) == 0, "FP64");

    /* Unaligned FP32 data is copied, with the same result. */
    memcpy((char *)unal_buf + 2, X, sizeof X);
    t = tensor("input", GY_DT_FP32, (char *)unal_buf + 2, 2, 4, 3);
    OK(run(s, "m", &t, 1, out, NULL));
    cr_assert(memcmp(out, want, sizeof want) == 0, "unaligned");

    sx_expect(0, xi, 2, want);
    t = tensor("input", GY_DT_INT64, i64, 2, 2, 3);
    OK(run(s, "m", &t, 1, out, NULL));
    cr_assert(memcmp(out, want, 2 * sizeof(float)) == 0, "INT64");
    t = tensor("input", GY_DT_INT32, i32, 2, 2, 3);
    OK(run(s, "m", &t, 1, out, NULL));
    cr_assert(memcmp(out, want, 2 * sizeof(float)) == 0, "INT32");

    /* [1, n_inputs] is one row; [n_inputs] has the wrong rank for an [N, n_inputs] input
     * (as Triton refuses it). */
    {
        float xu[3] = {1, 0, 7}, xb[3] = {1, 0, 1}, xh[3] = {1, -2, 3};
        sx_expect(0, xu, 1, want);
        t = tensor("input", GY_DT_UINT8, u8, 2, 1, 3);
        OK(run(s, "m", &t, 1, out, &n));
        cr_assert_eq(n, 1);
        cr_assert_eq(out[0], want[0], "UINT8");
        t = tensor("input", GY_DT_UINT8, u8, 1, 3, 0);
        cr_assert_eq(run(s, "m", &t, 1, out, &n), GY_E_INVALID, "rank 1 for [N, 3]");
        cr_assert(strstr(gy_error_msg(), "takes [N, 3]"), "%s", gy_error_msg());
        sx_expect(0, xb, 1, want);
        t = tensor("input", GY_DT_BOOL, b8, 2, 1, 3);
        OK(run(s, "m", &t, 1, out, NULL));
        cr_assert_eq(out[0], want[0], "BOOL");
        sx_expect(0, xh, 1, want);
        t = tensor("input", GY_DT_FP16, h, 2, 1, 3);
        OK(run(s, "m", &t, 1, out, NULL));
        cr_assert_eq(out[0], want[0], "FP16");
    }
    gy_serving_free(s);
    cr_assert_eq(gy_alloc_bytes(), before, "leaked %lld", (long long)(gy_alloc_bytes() - before));
}

Test(infer, identity_per_column, .init = setup, .fini = fx_fini)
{
    struct gy_serving *s;
    float want[4], out[4];
    double c0[4], c1[4];
    float c2[4];
    struct gy_tensor in[3];
    sx_register_shift(F.db, "m", 0, NULL);
    s = sx_serving(&F, 1000);
    sx_expect(0, X, 4, want);
    for (int r = 0; r < 4; r++) {
        c0[r] = X[r * 3];
        c1[r] = X[r * 3 + 1];
        c2[r] = X[r * 3 + 2];
    }
    /* Any order; [N] or [N, 1]; datatypes may differ per column. */
    in[0] = tensor("x2", GY_DT_FP32, c2, 2, 4, 1);
    in[1] = tensor("x0", GY_DT_FP64, c0, 1, 4, 0);
    in[2] = tensor("x1", GY_DT_FP64, c1, 1, 4, 0);
    OK(run(s, "m", in, 3, out, NULL));
    cr_assert(memcmp(out, want, sizeof want) == 0);

    in[2] = tensor("x1", GY_DT_FP64, c1, 1, 3, 0);
    refused(s, "m", in, 3, "has 3 rows but");
    in[2] = tensor("x9", GY_DT_FP64, c1, 1, 4, 0);
    refused(s, "m", in, 3, "unknown input 'x9'");
    in[2] = tensor("x0", GY_DT_FP64, c1, 1, 4, 0);
    refused(s, "m", in, 3, "given twice");
    refused(s, "m", in, 2, "missing input 'x1'");
    in[2] = tensor(NULL, GY_DT_FP64, c1, 1, 4, 0);
    refused(s, "m", in, 3, "no name");
    in[2] = tensor("x1", GY_DT_FP64, c1, 2, 2, 2);
    refused(s, "m", in, 3, "[N] or [N, 1]");
    in[2] = tensor("x1", GY_DT_BYTES, c1, 1, 4, 0);
    refused(s, "m", in, 3, "BYTES given");
    c1[2] = -INFINITY;
    in[2] = tensor("x1", GY_DT_FP64, c1, 1, 4, 0);
    refused(s, "m", in, 3, "input 'x1' row 2 is infinite");
    gy_serving_free(s);
}

Test(infer, malformed_requests, .init = setup, .fini = fx_fini)
{
    struct gy_serving *s;
    float bad[6] = {1, 2, 3, 4, INFINITY, 6}, out[2];
    struct gy_tensor t;
    struct mstat ms = {0, 0, 0};
    sx_register_shift(F.db, "m", 0, NULL);
    s = sx_serving(&F, 1000);
    t = tensor("input", GY_DT_FP32, X, 2, 3, 4);
    refused(s, "m", &t, 1, "has shape [3, 4] but model m version 1 takes [N, 3] (x0, x1, x2)");
    t = tensor("input", GY_DT_FP32, X, 1, 12, 0);
    refused(s, "m", &t, 1, "has shape [12]");
    t = tensor("input", GY_DT_FP32, X, 2, 4, 3);
    t.n_elems = 11;
    refused(s, "m", &t, 1, "holds 12 elements but 11 were given");
    t = tensor("input", GY_DT_FP32, X, 2, 0, 3);
    refused(s, "m", &t, 1, "no rows");
    t = tensor("input", GY_DT_FP32, NULL, 2, 4, 3);
    refused(s, "m", &t, 1, "no data");
    t = tensor("input", GY_DT_BYTES, X, 2, 4, 3);
    refused(s, "m", &t, 1, "BYTES is not accepted");
    t = tensor("input", (enum gy_dtype)77, X, 2, 4, 3);
    refused(s, "m", &t, 1, "unknown datatype");
    t = tensor("input", GY_DT_FP32, X, 2, 4, 3);
    t.ndim = 9;
    refused(s, "m", &t, 1, "dimensions");
    refused(s, "m", NULL, 0, "no input tensors");
    t = tensor("input", GY_DT_FP32, bad, 2, 2, 3);
    refused(s, "m", &t, 1, "element 4 (row 1, column 'x1') is infinite");
    /* NaN is missing, not an error. */
    bad[4] = NAN;
    OK(run(s, "m", &t, 1, out, NULL));
    gy_serving_stats(s, count_fails, NULL, &ms);
    cr_assert_eq(ms.fail, 10, "every refused request counted: %llu", (unsigned long long)ms.fail);
    cr_assert_eq(ms.other, 10);
    cr_assert_eq(ms.success, 1);
    gy_serving_free(s);
}

Test(infer, allow_inf_passes_inf_as_missing, .init = setup, .fini = fx_fini)
{
    struct gy_serving *s;
    float x[6] = {1, INFINITY, 3, -INFINITY, 2, 6}, xn[6] = {1, NAN, 3, NAN, 2, 6}, out[2], want[2];
    struct gy_tensor t;
    sx_register_shift(F.db, "m", 0, NULL);
    s = sx_serving_cfg(&F, 1000, 1);
    sx_expect(0, xn, 2, want);
    t = tensor("input", GY_DT_FP32, x, 2, 2, 3);
    OK(run(s, "m", &t, 1, out, NULL));
    cr_assert(memcmp(out, want, sizeof want) == 0);
    gy_serving_free(s);
}

/* ------------------------------------------------------------------ a string column */

Test(infer, string_column_through_preprocessing, .init = setup, .fini = fx_fini)
{
    int64_t before = gy_alloc_bytes();
    struct gy_features *fe = sx_mixed_features();
    struct gy_trees *tr = sx_trees(0);
    struct gy_model_bundle *mb = NULL;
    struct gy_serving *s;
    struct gy_buf b;
    float amount[3] = {10, 300, NAN}, out[3];
    struct gy_bytes merch[3] = {{"grocery", 7}, {"zzz-unseen", 10}, {"online", 6}};
    uint8_t card[3] = {1, 0, 1};
    int32_t card32[3] = {1, 0, 1};
    struct gy_tensor in[3];
    sx_serialize(tr, fe, &b);
    OK(gy_model_bundle_load(b.data, b.len, &mb));
    sx_register(F.db, "mixed", &b, NULL);
    gy_buf_free(&b);
    s = sx_serving(&F, 1000);

    in[0] = tensor("amount", GY_DT_FP32, amount, 1, 3, 0);
    in[1] = tensor("merchant", GY_DT_BYTES, merch, 1, 3, 0);
    in[2] = tensor("card", GY_DT_BOOL, card, 1, 3, 0);
    OK(run(s, "mixed", in, 3, out, NULL));
    for (int r = 0; r < 3; r++) {
        struct gy_feature_value v[3] = {
            {isnan(amount[r]) ? GY_FV_NULL : GY_FV_NUM, amount[r], NULL, 0},
            {GY_FV_STR, 0, merch[r].data, merch[r].len},
            {GY_FV_BOOL, card[r], NULL, 0},
        };
        float want;
        OK(gy_model_predict_row(mb, v, NULL, &want));
        cr_assert_eq(out[r], want, "row %d: %g != %g", r, out[r], want);
    }
    /* A numeric datatype for the bool column works too. */
    in[2] = tensor("card", GY_DT_INT32, card32, 1, 3, 0);
    OK(run(s, "mixed", in, 3, NULL, NULL));

    in[1] = tensor("merchant", GY_DT_FP32, amount, 1, 3, 0);
    refused(s, "mixed", in, 3, "input 'merchant' is a string column: send BYTES, not FP32");
    in[1] = tensor("merchant", GY_DT_BYTES, merch, 1, 3, 0);
    in[0] = tensor("amount", GY_DT_BYTES, merch, 1, 3, 0);
    refused(s, "mixed", in, 3, "input 'amount' is a float64 column: BYTES given");
    in[0] = tensor("input", GY_DT_FP32, amount, 2, 1, 3);
    refused(s, "mixed", in, 1, "has string inputs: send one tensor per input");
    amount[0] = INFINITY;
    in[0] = tensor("amount", GY_DT_FP32, amount, 1, 3, 0);
    refused(s, "mixed", in, 3, "input 'amount' row 0 is infinite");
    gy_serving_free(s);
    gy_model_bundle_free(mb);
    gy_model_trees_free(tr);
    gy_features_free(fe);
    cr_assert_eq(gy_alloc_bytes(), before, "leaked %lld", (long long)(gy_alloc_bytes() - before));
}

/* ------------------------------------------------------------------ numeric passthrough */

/* Tree-mode preprocessing over (a float64, k int64, c bool), fitted on four rows. */
static struct gy_features *numeric_features(enum gy_features_mode mode)
{
    struct gy_schema *sc = gy_schema_create(3);
    struct gy_colvec c[3];
    struct gy_feature_spec *sp;
    struct gy_features *f;
    const char *names[3] = {"a", "k", "c"};
    const enum gy_type types[3] = {GY_TYPE_FLOAT64, GY_TYPE_INT64, GY_TYPE_BOOL};
    memset(c, 0, sizeof c);
    for (int i = 0; i < 3; i++) {
        sc->cols[i].name = gy_strdup(names[i]);
        sc->cols[i].type = types[i];
        c[i].type = types[i];
        c[i].n = 4;
        c[i].valid = gy_calloc(5, 1);
        memset(c[i].valid, 1, 4);
    }
    c[0].f64 = gy_calloc(4, sizeof(double));
    c[1].i64 = gy_calloc(4, sizeof(int64_t));
    c[2].b = gy_calloc(4, 1);
    for (int r = 0; r < 4; r++) {
        c[0].f64[r] = r * 1.5;
        c[1].i64[r] = r - 1;
        c[2].b[r] = (uint8_t)(r & 1);
    }
    OK(gy_features_spec_create(&sp));
    OK(gy_features_fit(sp, sc, NULL, mode, c, 4, NULL, &f));
    gy_features_spec_free(sp);
    for (int i = 0; i < 3; i++) {
        gy_free(c[i].valid);
        gy_free(c[i].f64);
        gy_free(c[i].i64);
        gy_free(c[i].b);
    }
    gy_schema_free(sc);
    return f;
}

Test(infer, numeric_passthrough_fast_path, .init = setup, .fini = fx_fini)
{
    int64_t before = gy_alloc_bytes();
    struct gy_features *fe = numeric_features(GY_FEATURES_TREE);
    struct gy_trees *tr = sx_trees(0);
    struct gy_model_bundle *mb = NULL;
    struct gy_serving *s;
    struct gy_serving_target *t = NULL;
    const struct gy_served_model *m;
    struct gy_buf b;
    /* k = 2.7 truncates to 2; c = 5 is true; NaN is missing in each column. */
    float x[12] = {0.4f, 2.7f, 5, NAN, -1.2f, 0, 3, NAN, 1, 0.7f, 3.9f, NAN}, out[4];
    struct gy_tensor in;
    sx_serialize(tr, fe, &b);
    OK(gy_model_bundle_load(b.data, b.len, &mb));
    sx_register(F.db, "num", &b, NULL);
    gy_buf_free(&b);
    s = sx_serving(&F, 1000);
    OK(gy_serving_acquire(s, "num", NULL, &t));
    m = gy_serving_target_primary(t);
    cr_assert(m->numeric_fast, "tree-mode numeric columns take the fast path");
    cr_assert_not(m->identity, "int64 and bool columns are not the identity");
    gy_serving_release(t);
    in = tensor("input", GY_DT_FP32, x, 2, 4, 3);
    OK(run(s, "num", &in, 1, out, NULL));
    for (int r = 0; r < 4; r++) {
        struct gy_feature_value v[3];
        float want;
        for (int k = 0; k < 3; k++) {
            v[k].kind = isnan(x[r * 3 + k]) ? GY_FV_NULL : GY_FV_NUM;
            v[k].num = x[r * 3 + k];
            v[k].str = NULL;
            v[k].len = 0;
        }
        OK(gy_model_predict_row(mb, v, NULL, &want));
        cr_assert_eq(out[r], want, "row %d: %g != %g", r, out[r], want);
    }
    gy_serving_free(s);
    gy_model_bundle_free(mb);
    gy_model_trees_free(tr);
    gy_features_free(fe);
    cr_assert_eq(gy_alloc_bytes(), before, "leaked %lld", (long long)(gy_alloc_bytes() - before));
}

Test(infer, scaled_inputs_take_the_general_path, .init = setup, .fini = fx_fini)
{
    struct gy_features *fe = numeric_features(GY_FEATURES_LINEAR);
    struct gy_trees *tr = sx_trees(0);
    struct gy_model_bundle *mb = NULL;
    struct gy_serving *s;
    struct gy_serving_target *t = NULL;
    struct gy_buf b;
    float x[6] = {0.4f, 2.7f, 5, NAN, -1.2f, 0}, out[2];
    struct gy_tensor in;
    sx_serialize(tr, fe, &b);
    OK(gy_model_bundle_load(b.data, b.len, &mb));
    sx_register(F.db, "lin", &b, NULL);
    gy_buf_free(&b);
    s = sx_serving(&F, 1000);
    OK(gy_serving_acquire(s, "lin", NULL, &t));
    cr_assert_not(gy_serving_target_primary(t)->numeric_fast, "standardized inputs");
    gy_serving_release(t);
    in = tensor("input", GY_DT_FP32, x, 2, 2, 3);
    OK(run(s, "lin", &in, 1, out, NULL));
    for (int r = 0; r < 2; r++) {
        struct gy_feature_value v[3];
        float want;
        for (int k = 0; k < 3; k++) {
            v[k].kind = isnan(x[r * 3 + k]) ? GY_FV_NULL : GY_FV_NUM;
            v[k].num = x[r * 3 + k];
            v[k].str = NULL;
            v[k].len = 0;
        }
        OK(gy_model_predict_row(mb, v, NULL, &want));
        cr_assert_eq(out[r], want, "row %d", r);
    }
    gy_serving_free(s);
    gy_model_bundle_free(mb);
    gy_model_trees_free(tr);
    gy_features_free(fe);
}
