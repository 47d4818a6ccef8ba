/* SPDX-License-Identifier: MIT */
/*
 * test_input_errors.c - the refused-input counters of src/serving/stats.c: every way the
 * serving layer refuses a request's tensors (infer.c) is classified as the kind its error is
 * about (shape, type, missing; too_large for GY_E_TOO_LARGE; nothing for a failure that is not
 * about the input), and the per-endpoint counters sum a name's pinned versions, flag
 * deployments, and leave out names that do not exist.
 */
#include "fixture.h"

static void setup(void)
{
    fx_setup(&F, 0, 1);
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

/*
 * Runs @p n_in tensors on endpoint @p name, which must refuse them with @p want_rc, and checks
 * that the refusal is classified as @p kind (-1: not an input error).
 */
static void refused_as(struct gy_serving *s, const char *name, const struct gy_tensor *in,
                       size_t n_in, enum gy_status want_rc, int kind)
{
    struct gy_serving_target *t = NULL;
    struct gy_arena *a = gy_arena_create(4096);
    struct gy_serving_call call;
    enum gy_status rc;
    char msg[512];
    OK(gy_serving_acquire(s, name, NULL, &t));
    memset(&call, 0, sizeof call);
    call.inputs = in;
    call.n_inputs = n_in;
    call.arena = a;
    rc = gy_serving_infer(t, &call);
    gy_snprintf(msg, sizeof msg, "%s", gy_error_msg());
    cr_assert_eq(rc, want_rc, "got %s (%s), wanted %s", gy_status_str(rc), msg,
                 gy_status_str(want_rc));
    cr_assert_not_null(call.model, "the serving layer names the model it mapped onto");
    cr_assert_eq(
        gy_serving_input_error_classify(&call, rc), kind, "'%s' classified as %s, wanted %s", msg,
        gy_input_error_name((enum gy_input_error)gy_serving_input_error_classify(&call, rc)),
        gy_input_error_name((enum gy_input_error)kind));
    gy_serving_release(t);
    gy_arena_free(a);
}

static const float X[12] = {0.1f, 0, 0, 1, -2, 5, 1, 0.5f, NAN, NAN, NAN, 2.9f};

Test(input_errors, kind_names)
{
    cr_assert_str_eq(gy_input_error_name(GY_INPUT_ERR_SHAPE), "shape");
    cr_assert_str_eq(gy_input_error_name(GY_INPUT_ERR_TYPE), "type");
    cr_assert_str_eq(gy_input_error_name(GY_INPUT_ERR_MISSING), "missing");
    cr_assert_str_eq(gy_input_error_name(GY_INPUT_ERR_MALFORMED), "malformed");
    cr_assert_str_eq(gy_input_error_name(GY_INPUT_ERR_TOO_LARGE), "too_large");
    cr_assert_str_eq(gy_input_error_name(GY_INPUT_ERR_N), "?");
    cr_assert_str_eq(gy_input_error_name((enum gy_input_error) - 1), "?");
}

Test(input_errors, status_without_a_model)
{
    struct gy_serving_call call;
    memset(&call, 0, sizeof call);
    cr_assert_eq(gy_serving_input_error_classify(&call, GY_E_TOO_LARGE), GY_INPUT_ERR_TOO_LARGE);
    cr_assert_eq(gy_serving_input_error_classify(&call, GY_E_INVALID), GY_INPUT_ERR_MALFORMED);
    cr_assert_eq(gy_serving_input_error_classify(&call, GY_E_BUSY), -1);
    cr_assert_eq(gy_serving_input_error_classify(&call, GY_E_NOMEM), -1);
    cr_assert_eq(gy_serving_input_error_classify(&call, GY_OK), -1);
    cr_assert_eq(gy_serving_input_error_classify(NULL, GY_E_INVALID), -1);
}

Test(input_errors, numeric_model_refusals_by_kind, .init = setup, .fini = fx_fini)
{
    struct gy_serving *s;
    float bad[6] = {1, 2, 3, 4, INFINITY, 6};
    struct gy_tensor t, cols[3];
    sx_register_shift(F.db, "m", 0, NULL);
    s = sx_serving(&F, 1000);
    t = tensor("input", GY_DT_FP32, X, 2, 3, 4);
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_SHAPE); /* [3, 4] for [N, 3] */
    t = tensor("input", GY_DT_FP32, X, 1, 12, 0);
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_SHAPE); /* rank 1 */
    t = tensor("input", GY_DT_FP32, X, 2, 4, 3);
    t.n_elems = 11;
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_SHAPE); /* element count */
    t = tensor("input", GY_DT_FP32, X, 2, 0, 3);
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_SHAPE); /* no rows */
    t = tensor("input", GY_DT_FP32, X, 2, 4, 3);
    t.ndim = 9;
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_SHAPE); /* too many dimensions */
    t = tensor("input", GY_DT_BYTES, X, 2, 4, 3);
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_TYPE); /* BYTES for numeric */
    t = tensor("input", (enum gy_dtype)77, X, 2, 4, 3);
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_TYPE); /* unknown datatype */
    t = tensor("input", GY_DT_FP32, bad, 2, 2, 3);
    refused_as(s, "m", &t, 1, GY_E_INVALID, GY_INPUT_ERR_TYPE);      /* an Inf value */
    refused_as(s, "m", NULL, 0, GY_E_INVALID, GY_INPUT_ERR_MISSING); /* no tensors */
    /* One tensor per column: an unknown name, an absent column, a column given twice. */
    cols[0] = tensor("x0", GY_DT_FP32, X, 1, 2, 0);
    cols[1] = tensor("x1", GY_DT_FP32, X, 1, 2, 0);
    cols[2] = tensor("zz", GY_DT_FP32, X, 1, 2, 0);
    refused_as(s, "m", cols, 3, GY_E_INVALID, GY_INPUT_ERR_MISSING);
    refused_as(s, "m", cols, 2, GY_E_INVALID, GY_INPUT_ERR_MISSING);
    cols[2] = tensor("x0", GY_DT_FP32, X, 1, 2, 0);
    refused_as(s, "m", cols, 3, GY_E_INVALID, GY_INPUT_ERR_SHAPE);
    /* Columns of different lengths, and a column of the wrong rank. */
    cols[2] = tensor("x2", GY_DT_FP32, X, 1, 3, 0);
    refused_as(s, "m", cols, 3, GY_E_INVALID, GY_INPUT_ERR_SHAPE);
    cols[2] = tensor("x2", GY_DT_FP32, X, 2, 1, 2);
    refused_as(s, "m", cols, 3, GY_E_INVALID, GY_INPUT_ERR_SHAPE);
    /* A BYTES column for a numeric input. */
    cols[2] = tensor("x2", GY_DT_BYTES, X, 1, 2, 0);
    refused_as(s, "m", cols, 3, GY_E_INVALID, GY_INPUT_ERR_TYPE);
    gy_serving_free(s);
}

Test(input_errors, string_model_refusals_by_kind, .init = setup, .fini = fx_fini)
{
    struct gy_features *fe = sx_mixed_features();
    struct gy_trees *tr = sx_trees(0);
    struct gy_serving *s;
    struct gy_buf b;
    float amount[3] = {10, 300, 2};
    struct gy_bytes merch[3] = {{"grocery", 7}, {"fuel", 4}, {"online", 6}};
    uint8_t card[3] = {1, 0, 1};
    struct gy_tensor in[3];
    sx_serialize(tr, fe, &b);
    sx_register(F.db, "mixed", &b, NULL);
    gy_buf_free(&b);
    s = sx_serving(&F, 1000);
    in[0] = tensor("amount", GY_DT_FP32, amount, 1, 3, 0);
    in[1] = tensor("merchant", GY_DT_FP32, amount, 1, 3, 0);
    in[2] = tensor("card", GY_DT_BOOL, card, 1, 3, 0);
    refused_as(s, "mixed", in, 3, GY_E_INVALID, GY_INPUT_ERR_TYPE); /* numbers for a string */
    in[1] = tensor("merchant", GY_DT_BYTES, merch, 1, 3, 0);
    in[0] = tensor("amount", GY_DT_BYTES, merch, 1, 3, 0);
    refused_as(s, "mixed", in, 3, GY_E_INVALID, GY_INPUT_ERR_TYPE); /* BYTES for a number */
    in[0] = tensor("input", GY_DT_FP32, amount, 2, 1, 3);
    refused_as(s, "mixed", in, 1, GY_E_INVALID, GY_INPUT_ERR_MISSING); /* one matrix */
    amount[0] = INFINITY;
    in[0] = tensor("amount", GY_DT_FP32, amount, 1, 3, 0);
    refused_as(s, "mixed", in, 3, GY_E_INVALID, GY_INPUT_ERR_TYPE); /* an Inf value */
    gy_serving_free(s);
    gy_model_trees_free(tr);
    gy_features_free(fe);
}

/* ------------------------------------------------------------------ counters */

struct seen {
    int n;
    char names[8][32];
    int deployment[8];
    uint64_t count[8][GY_INPUT_ERR_N];
};

static void collect(const struct gy_input_error_stats *st, void *ctx)
{
    struct seen *sn = ctx;
    cr_assert_lt(sn->n, 8);
    gy_snprintf(sn->names[sn->n], sizeof sn->names[0], "%s", st->endpoint);
    sn->deployment[sn->n] = st->deployment;
    memcpy(sn->count[sn->n], st->count, sizeof st->count);
    sn->n++;
}

static int find(const struct seen *sn, const char *name)
{
    for (int i = 0; i < sn->n; i++)
        if (strcmp(sn->names[i], name) == 0)
            return i;
    return -1;
}

static void count_on(struct gy_serving *s, const char *name, const char *version,
                     enum gy_input_error k, int times)
{
    struct gy_serving_target *t = NULL;
    OK(gy_serving_acquire(s, name, version, &t));
    for (int i = 0; i < times; i++)
        gy_serving_input_error_count(t, k);
    gy_serving_release(t);
}

Test(input_errors, counters_per_endpoint, .init = setup, .fini = fx_fini)
{
    struct gy_deploy_spec *sp = gy_calloc(1, sizeof *sp);
    struct gy_serving_target *t = NULL;
    struct gy_serving *s;
    struct seen sn;
    int d, m;
    sx_register_shift(F.db, "m", 0, NULL);
    sp->name = gy_strdup("dep");
    sp->routes = gy_calloc(1, sizeof *sp->routes);
    sp->n_routes = 1;
    OK(gy_deploy_route_parse("m@1", &sp->routes[0]));
    OK(gy_deploy_create(F.db, sp, NULL, NULL));
    gy_deploy_spec_free(sp);
    s = sx_serving(&F, 1000);

    count_on(s, "dep", NULL, GY_INPUT_ERR_SHAPE, 3);
    count_on(s, "dep", NULL, GY_INPUT_ERR_MALFORMED, 2);
    count_on(s, "dep", "1", GY_INPUT_ERR_SHAPE, 4); /* pinned: the same name */
    count_on(s, "m", NULL, GY_INPUT_ERR_TOO_LARGE, 1);
    /* Out-of-range kinds and a NULL target are ignored. */
    OK(gy_serving_acquire(s, "dep", NULL, &t));
    gy_serving_input_error_count(t, GY_INPUT_ERR_N);
    gy_serving_input_error_count(t, (enum gy_input_error) - 1);
    gy_serving_release(t);
    gy_serving_input_error_count(NULL, GY_INPUT_ERR_SHAPE);
    /* An unknown name is not an endpoint that exists. */
    cr_assert_eq(gy_serving_acquire(s, "nosuch", NULL, &t), GY_NOT_FOUND);

    memset(&sn, 0, sizeof sn);
    gy_serving_input_errors(s, collect, &sn);
    cr_assert_eq(sn.n, 2, "one line per name: %d", sn.n);
    cr_assert_eq(find(&sn, "nosuch"), -1);
    d = find(&sn, "dep");
    m = find(&sn, "m");
    cr_assert(d >= 0 && m >= 0);
    cr_assert_eq(sn.deployment[d], 1);
    cr_assert_eq(sn.deployment[m], 0);
    cr_assert_eq(sn.count[d][GY_INPUT_ERR_SHAPE], 7, "pinned counts summed in");
    cr_assert_eq(sn.count[d][GY_INPUT_ERR_MALFORMED], 2);
    cr_assert_eq(sn.count[d][GY_INPUT_ERR_TYPE], 0);
    cr_assert_eq(sn.count[d][GY_INPUT_ERR_TOO_LARGE], 0);
    cr_assert_eq(sn.count[m][GY_INPUT_ERR_TOO_LARGE], 1);
    cr_assert_eq(sn.count[m][GY_INPUT_ERR_SHAPE], 0);
    gy_serving_free(s);
}
