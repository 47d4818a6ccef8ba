/* SPDX-License-Identifier: MIT */
/*
 * test_bundle.c - unit tests for the model bundle (src/models/bundle.c, inspect.c, linear.c):
 * build -> serialize -> load round trips for trees and linear models with a fitted
 * preprocessing, the profile section, inspect JSON, predict_row against hand computation, the
 * builder's consistency checks, and the loader rejecting every corruption class without a
 * crash: truncation at every length, every flipped byte, and well-sealed bundles with bad
 * headers, section tables, child indices, cycles, huge counts and bad JSON. The seed bundles
 * of the fuzz corpus must keep loading.
 */
#include <dirent.h>
#include <stdlib.h>

#include "fixture.h"

static struct gy_model_bundle *load_ok(const struct gy_buf *b)
{
    struct gy_model_bundle *m = NULL;
    cr_assert_eq(gy_model_bundle_load(b->data, b->len, &m), GY_OK, "%s", gy_error_msg());
    cr_assert_not_null(m);
    return m;
}

/* ------------------------------------------------------------------ round trips */

Test(bundle, trees_round_trip)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f = fx_identity(3);
    const float scores[] = {0.1f, 0.9f, 0.5f, 0.55f, NAN};
    struct gy_buf b;
    struct gy_model_bundle *m;
    const struct gy_trees *lt;
    const json_t *meta, *prof, *sc;

    fx_bundle(t, NULL, f, scores, 5, &b);
    cr_assert_eq(memcmp(b.data, "GYMB", 4), 0);
    m = load_ok(&b);
    cr_assert_eq(gy_model_bundle_kind(m), GY_MODEL_TREES);
    cr_assert_null(gy_model_bundle_linear(m));
    lt = gy_model_bundle_trees(m);
    cr_assert_eq(lt->n_trees, t->n_trees);
    cr_assert_str_eq(lt->objective, "binary:logistic");
    cr_assert_eq(lt->base_margin, t->base_margin);
    for (uint32_t i = 0; i < t->n_trees; i++) {
        cr_assert_eq(lt->trees[i].n_nodes, t->trees[i].n_nodes);
        cr_assert_eq(lt->trees[i].group, t->trees[i].group);
        cr_assert(memcmp(lt->trees[i].nodes, t->trees[i].nodes,
                         t->trees[i].n_nodes * sizeof(struct gy_tree_node)) == 0,
                  "tree %u nodes", i);
    }
    meta = gy_model_bundle_meta(m);
    cr_assert_str_eq(gy_json_str(meta, "name", ""), "fraud");
    cr_assert_str_eq(gy_json_str(meta, "created", ""), "2023-11-14T22:13:20.000000Z");
    cr_assert_str_eq(gy_json_str(meta, "gyre_version", ""), GY_MODEL_GYRE_VERSION);
    cr_assert_str_eq(gy_json_str(meta, "run_id", ""), "run-1");
    cr_assert_str_eq(gy_json_str(meta, "dataset", ""), "tx@3");
    cr_assert_eq(json_real_value(json_object_get(json_object_get(meta, "metrics"), "auc")), 0.75);
    cr_assert_str_eq(gy_json_str(json_object_get(meta, "output_signature"), "name", ""),
                     "probability");
    cr_assert_eq(json_array_size(json_object_get(meta, "feature_names")), 3);
    cr_assert_eq(json_array_size(json_object_get(meta, "classes")), 2);
    cr_assert_eq(gy_model_bundle_n_features(m), 3);
    cr_assert_eq(gy_model_bundle_n_margins(m), 1);
    cr_assert_eq(gy_model_bundle_n_outputs(m), 1);
    /* The profile keeps only input columns and summarizes the finite scores. */
    prof = gy_model_bundle_profile(m);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(prof, "dataset"), "columns")), 1);
    sc = json_array_get(json_object_get(prof, "scores"), 0);
    cr_assert_eq(json_integer_value(json_object_get(sc, "count")), 4);
    cr_assert_eq(json_integer_value(json_object_get(sc, "nonfinite")), 1);
    cr_assert_float_eq(json_real_value(json_array_get(json_object_get(sc, "deciles"), 5)), 0.525,
                       1e-7);
    cr_assert_float_eq(json_real_value(json_array_get(json_object_get(sc, "deciles"), 10)), 0.9,
                       1e-7);
    {
        const json_t *cnt = json_object_get(json_object_get(sc, "histogram"), "counts");
        static const int want_bins[20] = {[2] = 1, [10] = 1, [11] = 1, [17] = 1};
        for (size_t k = 0; k < 20; k++)
            cr_assert_eq(json_integer_value(json_array_get(cnt, k)), want_bins[k], "bin %zu", k);
    }
    {
        float x[3] = {1, NAN, 0}, m1, p1, m2, p2;
        struct gy_feature_value v[3] = {
            {.kind = GY_FV_NUM, .num = 1}, {.kind = GY_FV_NULL}, {.kind = GY_FV_NUM, .num = 0}};
        gy_model_trees_predict(t, x, 1, &m1, &p1);
        cr_assert_eq(gy_model_predict_row(m, v, &m2, &p2), GY_OK);
        cr_assert_eq(m1, 0.875f);
        cr_assert(m1 == m2 && p1 == p2);
    }
    gy_model_bundle_free(m);
    gy_buf_free(&b);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(bundle, deterministic_bytes)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f = fx_identity(3);
    struct gy_buf a, b;
    fx_bundle(t, NULL, f, NULL, 0, &a);
    fx_bundle(t, NULL, f, NULL, 0, &b);
    cr_assert_eq(a.len, b.len);
    cr_assert(memcmp(a.data, b.data, a.len) == 0);
    cr_assert_eq(a.len % 8, 0);
    gy_buf_free(&a);
    gy_buf_free(&b);
    gy_features_free(f);
    gy_model_trees_free(t);
}

static struct gy_features *fit_small(enum gy_features_mode mode, const char *flags)
{
    static const char *names[] = {"amount", "merchant", "label"};
    struct gy_schema *s = gy_schema_create(3);
    struct gy_colvec c[3];
    double amount[6] = {10, 20, 0, 40, 50, 60};
    uint8_t valid[6] = {1, 1, 0, 1, 1, 1}, all[6] = {1, 1, 1, 1, 1, 1};
    uint32_t off[7] = {0, 1, 2, 3, 4, 5, 6};
    char data[] = "abacab";
    int64_t y[6] = {0, 1, 0, 1, 0, 1};
    struct gy_feature_spec *sp;
    struct gy_features *f;
    for (int i = 0; i < 3; i++)
        s->cols[i].name = gy_strdup(names[i]);
    s->cols[0].type = GY_TYPE_FLOAT64;
    s->cols[1].type = GY_TYPE_STRING;
    s->cols[2].type = GY_TYPE_INT64;
    memset(c, 0, sizeof(c));
    c[0] = (struct gy_colvec){.type = GY_TYPE_FLOAT64, .n = 6, .valid = valid, .f64 = amount};
    c[1] = (struct gy_colvec){
        .type = GY_TYPE_STRING, .n = 6, .valid = all, .off = off, .data = data, .data_len = 6};
    c[2] = (struct gy_colvec){.type = GY_TYPE_INT64, .n = 6, .valid = all, .i64 = y};
    cr_assert_eq(gy_features_spec_create(&sp), GY_OK);
    cr_assert_eq(gy_features_spec_add_flags(sp, flags), GY_OK);
    cr_assert_eq(gy_features_fit(sp, s, "label", mode, c, 6, NULL, &f), GY_OK, "%s",
                 gy_error_msg());
    gy_features_spec_free(sp);
    gy_schema_free(s);
    return f;
}

Test(bundle, linear_round_trip_and_hand_prediction)
{
    struct gy_features *f = fit_small(GY_FEATURES_LINEAR, "merchant:onehot,top=2");
    struct gy_linear *l;
    struct gy_buf b;
    struct gy_model_bundle *m;
    struct gy_feature_value v[2];
    float x[5], mg, p;
    double mean, sd, z, s;
    json_t *ins, *w;

    /* amount standardized, merchant=a, merchant=b, <other>, <unseen>. */
    cr_assert_eq(gy_features_n_outputs(f), 5);
    cr_assert_eq(gy_model_linear_create("binary:logistic", GY_LINK_LOGISTIC, 5, 1, &l), GY_OK);
    l->intercepts[0] = -0.25;
    for (int j = 0; j < 5; j++)
        l->weights[j] = 0.5 * (j + 1) * (j % 2 ? -1 : 1);
    fx_bundle(NULL, l, f, NULL, 0, &b);
    m = load_ok(&b);
    cr_assert_eq(gy_model_bundle_kind(m), GY_MODEL_LINEAR);
    cr_assert(memcmp(gy_model_bundle_linear(m)->weights, l->weights, 5 * sizeof(double)) == 0);

    /* amount = 45 and merchant "c" (seen, not top-2 -> <other>). */
    v[0] = (struct gy_feature_value){.kind = GY_FV_NUM, .num = 45};
    v[1] = (struct gy_feature_value){.kind = GY_FV_STR, .str = "c", .len = 1};
    cr_assert_eq(gy_model_predict_row(m, v, &mg, &p), GY_OK);
    /* The mean-imputed row joins the stats: values 10, 20, 36, 40, 50, 60. */
    {
        json_t *fj, *a0;
        cr_assert_eq(gy_features_to_json(gy_model_bundle_features(m), &fj), GY_OK);
        a0 = json_array_get(json_object_get(fj, "inputs"), 0);
        mean = json_number_value(json_object_get(a0, "mean"));
        sd = json_number_value(json_object_get(a0, "std"));
        cr_assert_float_eq(mean, 36.0, 1e-12);
        cr_assert_float_eq(sd, sqrt(1720.0 / 6), 1e-12);
        json_decref(fj);
    }
    z = (double)(float)((45 - mean) / sd);
    s = -0.25 + 0.5 * z + -1.0 * 0 + 1.5 * 0 + -2.0 * 1 + 2.5 * 0;
    (void)x;
    cr_assert_float_eq((double)mg, s, 1e-6);
    cr_assert_eq(mg, (float)s, "margin computed in double, rounded once");
    cr_assert_eq(p, (float)(1.0 / (1.0 + exp(-s))));

    /* inspect shows weights by feature name. */
    cr_assert_eq(gy_model_bundle_to_json(m, &ins), GY_OK);
    w = json_array_get(json_object_get(json_object_get(ins, "estimator"), "weights"), 0);
    cr_assert_eq(json_real_value(json_object_get(w, "merchant=<other>")), -2.0);
    cr_assert_eq(json_real_value(json_object_get(w, "amount")), 0.5);
    json_decref(ins);
    gy_model_bundle_free(m);
    gy_buf_free(&b);
    gy_model_linear_free(l);
    gy_features_free(f);
}

Test(bundle, linear_softmax_by_hand)
{
    struct gy_linear *l;
    float x[2] = {1.5f, -2}, m[3], p[3];
    double s[3], mx, sum = 0;
    cr_assert_eq(gy_model_linear_create("multi:softprob", GY_LINK_SOFTMAX, 2, 3, &l), GY_OK);
    for (int k = 0; k < 3; k++) {
        l->intercepts[k] = 0.1 * k;
        l->weights[k * 2] = 0.3 * (k + 1);
        l->weights[k * 2 + 1] = -0.2 * k;
        s[k] = 0.1 * k + 0.3 * (k + 1) * 1.5 + (-0.2 * k) * -2.0;
    }
    gy_model_linear_predict(l, x, 1, m, p);
    mx = fmax(fmax(s[0], s[1]), s[2]);
    for (int k = 0; k < 3; k++)
        sum += exp(s[k] - mx);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(m[k], (float)s[k]);
        cr_assert_eq(p[k], (float)(exp(s[k] - mx) / sum));
    }
    l->weights[3] = NAN;
    cr_assert_eq(gy_model_linear_validate(l), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "weight [1][1] is not finite"));
    gy_model_linear_free(l);
    cr_assert_eq(gy_model_linear_create("x", GY_LINK_SOFTMAX, 2, 1, &l), GY_E_INVALID);
    cr_assert_eq(gy_model_linear_create("x", GY_LINK_EXP, 2, 1, &l), GY_E_INVALID);
    cr_assert_eq(gy_model_linear_create("x", GY_LINK_IDENTITY, 1 << 21, 1, &l), GY_E_INVALID);
}

Test(bundle, fitted_preprocessing_and_multiclass)
{
    struct gy_features *f = fit_small(GY_FEATURES_TREE, "merchant:ordinal,top=2");
    const uint32_t nn[3] = {3, 1, 1};
    struct gy_trees *t;
    struct gy_buf b;
    struct gy_model_bundle *m;
    struct gy_feature_value v[2] = {{.kind = GY_FV_STR, .str = "zz", .len = 2},
                                    {.kind = GY_FV_STR, .str = "a", .len = 1}};
    float mg[3], p[3];
    json_t *ins;
    /* Trees mode: amount passthrough, merchant ordinal. */
    cr_assert_eq(gy_features_n_outputs(f), 2);
    cr_assert_eq(gy_model_trees_create("multi:softprob", 2, 3, 0.5f, 3, nn, &t), GY_OK);
    t->trees[0].nodes[0] = (struct gy_tree_node){1, 2, 1, 0, 0.5f}; /* merchant code < 0.5 */
    t->trees[0].nodes[1] = (struct gy_tree_node){-1, -1, 0, 0, 1.0f};
    t->trees[0].nodes[2] = (struct gy_tree_node){-1, -1, 0, 0, -1.0f};
    t->trees[1].group = 1;
    t->trees[1].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 0.25f};
    t->trees[2].group = 2;
    t->trees[2].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 0.0f};
    fx_bundle(t, NULL, f, NULL, 0, &b);
    m = load_ok(&b);
    cr_assert_eq(gy_model_bundle_n_outputs(m), 3);
    /* amount given as a string: refused with the input named. */
    cr_assert_eq(gy_model_predict_row(m, v, mg, p), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "input 'amount'"));
    v[0] = (struct gy_feature_value){.kind = GY_FV_NULL};
    cr_assert_eq(gy_model_predict_row(m, v, mg, p), GY_OK);
    cr_assert_eq(mg[0], 1.5f, "a is code 0: left");
    cr_assert_eq(mg[1], 0.75f);
    cr_assert_float_eq(p[0] + p[1] + p[2], 1.0f, 1e-6);
    cr_assert_eq(gy_model_bundle_to_json(m, &ins), GY_OK);
    cr_assert_str_eq(
        gy_json_str(json_object_get(json_object_get(ins, "signature"), "outputs"), "name", ""),
        "probabilities");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(ins, "estimator"), "n_trees")),
                 3);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(ins, "signature"), "inputs")), 2);
    cr_assert_str_eq(gy_json_str(json_object_get(ins, "format"), "magic", ""), "GYMB");
    json_decref(ins);
    gy_model_bundle_free(m);
    gy_buf_free(&b);
    gy_model_trees_free(t);
    gy_features_free(f);
}

Test(bundle, builder_checks)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f2 = fx_identity(2), *f3 = fx_identity(3);
    struct gy_model_builder *b;
    struct gy_buf out;
    json_t *bad_classes = json_pack("[s]", "one");
    struct gy_model_info info = {.name = "m", .trainer = "xgboost", .objective = "binary:logistic"};
    gy_buf_init(&out, 1 << 20);
    cr_assert_eq(gy_model_builder_create(&b), GY_OK);
    cr_assert_eq(gy_model_builder_serialize(b, &out), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "info, features and an estimator are required"));
    info.name = "";
    cr_assert_eq(gy_model_builder_set_info(b, &info), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "\"name\" is required"));
    info.name = "m";
    cr_assert_eq(gy_model_builder_set_info(b, &info), GY_OK);
    gy_model_builder_set_trees(b, t);
    gy_model_builder_set_features(b, f2);
    cr_assert_eq(gy_model_builder_serialize(b, &out), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "takes 3 features, the preprocessing gives 2"));
    gy_model_builder_set_features(b, f3);
    info.classes = bad_classes;
    cr_assert_eq(gy_model_builder_set_info(b, &info), GY_OK);
    cr_assert_eq(gy_model_builder_serialize(b, &out), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "1 classes for a model with 2"), "%s", gy_error_msg());
    info.classes = NULL;
    info.objective = "reg:squarederror";
    cr_assert_eq(gy_model_builder_set_info(b, &info), GY_OK);
    cr_assert_eq(gy_model_builder_serialize(b, &out), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "differs from the trees'"));
    info.objective = "binary:logistic";
    cr_assert_eq(gy_model_builder_set_info(b, &info), GY_OK);
    cr_assert_eq(gy_model_builder_set_profile(b, NULL, (const float[]){0.5f, 0.5f}, 1, 2), GY_OK);
    cr_assert_eq(gy_model_builder_serialize(b, &out), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "scores have 2 columns"));
    cr_assert_eq(gy_model_builder_set_profile(b, NULL, NULL, 0, 0), GY_OK);
    t->trees[0].nodes[0].feature = 7;
    cr_assert_eq(gy_model_builder_serialize(b, &out), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "feature 7"));
    t->trees[0].nodes[0].feature = 0;
    cr_assert_eq(gy_model_builder_serialize(b, &out), GY_OK, "%s", gy_error_msg());
    gy_model_builder_free(b);
    gy_buf_free(&out);
    json_decref(bad_classes);
    gy_features_free(f2);
    gy_features_free(f3);
    gy_model_trees_free(t);
}

/* ------------------------------------------------------------------ corruption */

Test(corrupt, truncation_at_every_length)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f = fx_identity(3);
    struct gy_buf b;
    fx_bundle(t, NULL, f, (const float[]){0.2f, 0.7f}, 2, &b);
    for (size_t n = 0; n < b.len; n++) {
        struct gy_model_bundle *m = (void *)1;
        char *copy = gy_malloc(n ? n : 1);
        memcpy(copy, b.data, n);
        cr_assert_eq(gy_model_bundle_load(copy, n, &m), GY_E_CORRUPT, "length %zu", n);
        cr_assert_null(m);
        cr_assert_neq(gy_error_msg()[0], '\0');
        gy_free(copy);
    }
    gy_buf_free(&b);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(corrupt, every_flipped_byte)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f = fx_identity(3);
    struct gy_buf b;
    size_t accepted = 0;
    fx_bundle(t, NULL, f, NULL, 0, &b);
    for (size_t i = 0; i < b.len; i++) {
        struct gy_model_bundle *m = NULL;
        uint8_t *p = (uint8_t *)b.data;
        p[i] ^= 0x41;
        /* Unsealed: the checksum (or an earlier header check) catches it. */
        cr_assert_neq(gy_model_bundle_load(p, b.len, &m), GY_OK, "byte %zu", i);
        /* Resealed: the structural checks run; a load that passes must be usable. */
        gy__model_bundle_reseal(p, b.len);
        if (gy_model_bundle_load(p, b.len, &m) == GY_OK) {
            float x[3] = {NAN, NAN, NAN}, o[4];
            json_t *j;
            accepted++;
            gy_model_predict_matrix(m, x, 1, NULL, o);
            cr_assert_eq(gy_model_bundle_to_json(m, &j), GY_OK);
            json_decref(j);
            gy_model_bundle_free(m);
        } else {
            cr_assert_null(m);
        }
        p[i] ^= 0x41;
        gy__model_bundle_reseal(p, b.len);
    }
    /* Leaf values and a few text bytes can change without breaking a rule; most cannot. */
    cr_assert_lt(accepted, b.len / 2, "accepted %zu of %zu", accepted, b.len);
    gy_buf_free(&b);
    gy_features_free(f);
    gy_model_trees_free(t);
}

/* Pieces of a valid bundle to re-assemble with damage. */
struct parts {
    struct gy_buf meta, pre, est, prof;
};

static void split_parts(const struct gy_buf *b, struct parts *p)
{
    const uint8_t *d = (const uint8_t *)b->data;
    uint32_t n = gy__model_get_u32(d + 8);
    struct gy_buf *dst[6] = {NULL, &p->meta, &p->pre, &p->est, &p->est, &p->prof};
    gy_buf_init(&p->meta, 1 << 24);
    gy_buf_init(&p->pre, 1 << 24);
    gy_buf_init(&p->est, 1 << 24);
    gy_buf_init(&p->prof, 1 << 24);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = d + 32 + 24 * i;
        uint32_t id = gy__model_get_u32(e);
        cr_assert(gy_buf_append(dst[id], d + gy__model_get_u64(e + 8), gy__model_get_u64(e + 16)) ==
                  GY_OK);
    }
}

static void free_parts(struct parts *p)
{
    gy_buf_free(&p->meta);
    gy_buf_free(&p->pre);
    gy_buf_free(&p->est);
    gy_buf_free(&p->prof);
}

/* Assembles ids/sections and expects the load to fail with @p want and @p msg. */
static void expect_load(const uint32_t *ids, const struct gy_buf *const *secs, size_t n,
                        enum gy_status want, const char *msg)
{
    const void *sp[8];
    size_t lens[8];
    struct gy_buf out;
    struct gy_model_bundle *m = (void *)1;
    for (size_t i = 0; i < n; i++) {
        sp[i] = secs[i]->data ? secs[i]->data : "";
        lens[i] = secs[i]->len;
    }
    gy_buf_init(&out, 1 << 26);
    cr_assert_eq(gy__model_bundle_assemble(ids, sp, lens, n, &out), GY_OK);
    cr_assert_eq(gy_model_bundle_load(out.data, out.len, &m), want, "%s: %s", msg, gy_error_msg());
    if (want != GY_OK) {
        cr_assert_null(m);
        cr_assert(strstr(gy_error_msg(), msg), "want '%s', got '%s'", msg, gy_error_msg());
    } else {
        gy_model_bundle_free(m);
    }
    gy_buf_free(&out);
}

static void good_parts(struct parts *p)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f = fx_identity(3);
    struct gy_buf b;
    fx_bundle(t, NULL, f, (const float[]){0.3f}, 1, &b);
    split_parts(&b, p);
    gy_buf_free(&b);
    gy_features_free(f);
    gy_model_trees_free(t);
}

Test(corrupt, section_table)
{
    struct parts p;
    const uint32_t ok[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, GY_SEC_PROFILE};
    const uint32_t dup[] = {GY_SEC_META, GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES};
    const uint32_t noest[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_PROFILE};
    const uint32_t two[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, GY_SEC_LINEAR};
    const uint32_t unk[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, 9};
    const uint32_t noprof[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES};
    good_parts(&p);
    {
        const struct gy_buf *s[] = {&p.meta, &p.pre, &p.est, &p.prof};
        expect_load(ok, s, 4, GY_OK, "");
        expect_load(noprof, s, 3, GY_OK, "");
        expect_load(dup, s, 4, GY_E_CORRUPT, "metadata appears twice");
        expect_load(noest, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.prof}, 3,
                    GY_E_CORRUPT, "exactly one estimator");
        expect_load(two, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &p.est}, 4,
                    GY_E_CORRUPT, "exactly one estimator");
        expect_load(unk, s, 4, GY_E_CORRUPT, "unknown id 9");
        expect_load(ok, (const struct gy_buf *const[]){&p.pre, &p.meta, &p.est, &p.prof}, 4,
                    GY_E_CORRUPT, "preprocessing");
    }
    free_parts(&p);
}

/* Edits of a sealed image's header and table, each resealed. */
Test(corrupt, header_fields)
{
    struct parts p;
    struct gy_buf b;
    const uint32_t ids[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, GY_SEC_PROFILE};
    static const struct {
        size_t off;
        uint8_t val;
        enum gy_status want;
        const char *msg;
    } edits[] = {
        {0, 'X', GY_E_CORRUPT, "bad magic"},
        {4, 2, GY_E_UNSUPPORTED, "format version 2"},
        {4, 0, GY_E_CORRUPT, "format version 0"},
        {6, 40, GY_E_CORRUPT, "header length 40"},
        {8, 0, GY_E_CORRUPT, "0 sections"},
        {8, 17, GY_E_CORRUPT, "17 sections"},
        {12, 1, GY_E_CORRUPT, "reserved"},
        {24, 1, GY_E_CORRUPT, "reserved"},
        {32 + 4, 1, GY_E_CORRUPT, "section 0: reserved"},
        {32 + 8, 1, GY_E_CORRUPT, "out of place"},     /* misaligned offset */
        {32 + 8, 0x20, GY_E_CORRUPT, "out of place"},  /* overlaps the table */
        {32 + 15, 0x80, GY_E_CORRUPT, "out of place"}, /* huge offset */
        {32 + 23, 0x80, GY_E_CORRUPT, "out of place"}, /* huge length */
    };
    const struct gy_buf *s[4];
    good_parts(&p);
    s[0] = &p.meta;
    s[1] = &p.pre;
    s[2] = &p.est;
    s[3] = &p.prof;
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        const void *sp[4] = {p.meta.data, p.pre.data, p.est.data, p.prof.data};
        size_t lens[4] = {p.meta.len, p.pre.len, p.est.len, p.prof.len};
        struct gy_model_bundle *m = (void *)1;
        uint8_t *d;
        gy_buf_init(&b, 1 << 24);
        cr_assert_eq(gy__model_bundle_assemble(ids, sp, lens, 4, &b), GY_OK);
        d = (uint8_t *)b.data;
        d[edits[i].off] = edits[i].val;
        gy__model_bundle_reseal(d, b.len);
        cr_assert_eq(gy_model_bundle_load(d, b.len, &m), edits[i].want, "edit %zu: %s", i,
                     gy_error_msg());
        cr_assert_null(m);
        cr_assert(strstr(gy_error_msg(), edits[i].msg), "edit %zu: want '%s', got '%s'", i,
                  edits[i].msg, gy_error_msg());
        gy_buf_free(&b);
    }
    (void)s;
    /* A non-zero byte in the padding after the first section that has some. */
    {
        const void *sp[4] = {p.meta.data, p.pre.data, p.est.data, p.prof.data};
        size_t lens[4] = {p.meta.len, p.pre.len, p.est.len, p.prof.len};
        struct gy_model_bundle *m;
        uint8_t *d;
        int done = 0;
        gy_buf_init(&b, 1 << 24);
        cr_assert_eq(gy__model_bundle_assemble(ids, sp, lens, 4, &b), GY_OK);
        d = (uint8_t *)b.data;
        for (int i = 0; i < 4 && !done; i++) {
            uint64_t end =
                gy__model_get_u64(d + 32 + 24 * i + 8) + gy__model_get_u64(d + 32 + 24 * i + 16);
            if (end % 8) {
                d[end] = 1;
                done = 1;
            }
        }
        cr_assert(done, "some section needs padding");
        gy__model_bundle_reseal(d, b.len);
        cr_assert_eq(gy_model_bundle_load(d, b.len, &m), GY_E_CORRUPT);
        cr_assert(strstr(gy_error_msg(), "padding is not zero"), "%s", gy_error_msg());
        gy_buf_free(&b);
    }
    /* The total length field must match, and a wrong checksum is named as such. */
    {
        struct gy_trees *t = fx_trees();
        struct gy_features *f = fx_identity(3);
        struct gy_model_bundle *m;
        fx_bundle(t, NULL, f, NULL, 0, &b);
        cr_assert_eq(gy_buf_append(&b, "\0\0\0\0\0\0\0\0", 8), GY_OK);
        cr_assert_eq(gy_model_bundle_load(b.data, b.len, &m), GY_E_CORRUPT);
        cr_assert(strstr(gy_error_msg(), "extra bytes"));
        b.len -= 8;
        b.data[b.len - 1] ^= 1;
        cr_assert_eq(gy_model_bundle_load(b.data, b.len, &m), GY_E_CORRUPT);
        cr_assert(strstr(gy_error_msg(), "checksum mismatch"));
        gy_buf_free(&b);
        gy_features_free(f);
        gy_model_trees_free(t);
    }
    free_parts(&p);
}

/* Trees section offsets (see docs/internals/models.md). */
#define T_HEAD 96
#define T_NODE(tree_nodes_before, ntrees, k)                                                       \
    (T_HEAD + 12 * (ntrees) + 16 * ((tree_nodes_before) + (k)))

static void expect_trees_edit(const struct parts *p, void (*edit)(uint8_t *d, size_t *len),
                              const char *msg)
{
    const uint32_t ids[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, GY_SEC_PROFILE};
    struct gy_buf est;
    size_t len = p->est.len;
    gy_buf_init(&est, 1 << 26);
    cr_assert_eq(gy_buf_append(&est, p->est.data, p->est.len), GY_OK);
    cr_assert_eq(gy_buf_reserve(&est, 64), GY_OK);
    edit((uint8_t *)est.data, &len);
    est.len = len;
    expect_load(ids, (const struct gy_buf *const[]){&p->meta, &p->pre, &est, &p->prof}, 4,
                GY_E_CORRUPT, msg);
    gy_buf_free(&est);
}

static void e_child_range(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_NODE(0, 2, 0), 99);
}
static void e_cycle(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_NODE(0, 2, 2) + 4, 2); /* node 2's right child is itself */
}
static void e_back_to_root(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_NODE(0, 2, 2), 0);
}
static void e_shared(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_NODE(0, 2, 2), 1);
}
static void e_feature(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_NODE(5, 2, 0) + 8, 3);
}
static void e_nan(uint8_t *d, size_t *n)
{
    gy__model_put_f32(d + T_NODE(0, 2, 4) + 12, NAN);
}
static void e_huge_trees(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + 12, 0xffffffffu);
}
static void e_many_trees(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + 12, 3); /* a third tree the table does not hold */
}
static void e_table(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + 12, 100000);
}
static void e_huge_nodes(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_HEAD, 0x7fffffffu);
}
static void e_zero_nodes(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_HEAD + 12, 0);
}
static void e_groups(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + 8, 0);
}
static void e_features(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + 4, 4); /* 4 features: the preprocessing gives 3 */
}
static void e_objective(uint8_t *d, size_t *n)
{
    memcpy(d + 32, "binary:logistik", 15);
}
static void e_objective_pad(uint8_t *d, size_t *n)
{
    d[32 + 60] = 'x';
}
static void e_base(uint8_t *d, size_t *n)
{
    gy__model_put_f32(d + 24, 1.5f);
}
static void e_flags(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + 20, 4);
}
static void e_short(uint8_t *d, size_t *n)
{
    *n -= 16;
}
static void e_long(uint8_t *d, size_t *n)
{
    memset(d + *n, 0, 16);
    *n += 16;
}
static void e_group(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_HEAD + 12 + 4, 5);
}
static void e_leaf_children(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d + T_NODE(0, 2, 1) + 4, 3);
}
static void e_version(uint8_t *d, size_t *n)
{
    gy__model_put_u32(d, 7);
}

Test(corrupt, trees_section)
{
    struct parts p;
    good_parts(&p);
    expect_trees_edit(&p, e_child_range, "child index out of range");
    expect_trees_edit(&p, e_cycle, "reached twice");
    expect_trees_edit(&p, e_back_to_root, "bad children 0");
    expect_trees_edit(&p, e_shared, "reached twice");
    expect_trees_edit(&p, e_feature, "feature 3 is not below 3");
    expect_trees_edit(&p, e_nan, "leaf value is not finite");
    expect_trees_edit(&p, e_huge_trees, "4294967295 trees");
    expect_trees_edit(&p, e_many_trees, "bytes,");
    expect_trees_edit(&p, e_table, "truncated tree table");
    expect_trees_edit(&p, e_huge_nodes, "nodes");
    expect_trees_edit(&p, e_zero_nodes, "tree 1 has no nodes");
    expect_trees_edit(&p, e_groups, "0 groups");
    expect_trees_edit(&p, e_features, "the preprocessing gives 3 features, the estimator takes 4");
    expect_trees_edit(&p, e_objective, "binary:logistik");
    expect_trees_edit(&p, e_objective_pad, "objective padding is not zero");
    expect_trees_edit(&p, e_base, "no finite margin");
    expect_trees_edit(&p, e_flags, "unknown flags");
    expect_trees_edit(&p, e_short, "bytes,");
    expect_trees_edit(&p, e_long, "bytes,");
    expect_trees_edit(&p, e_group, "group 5 is not below 1");
    expect_trees_edit(&p, e_leaf_children, "a leaf has -1 and -1");
    {
        const uint32_t ids[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, GY_SEC_PROFILE};
        struct gy_buf est;
        size_t len = p.est.len;
        gy_buf_init(&est, 1 << 20);
        cr_assert_eq(gy_buf_append(&est, p.est.data, p.est.len), GY_OK);
        e_version((uint8_t *)est.data, &len);
        expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &est, &p.prof}, 4,
                    GY_E_UNSUPPORTED, "layout version 7");
        gy_buf_free(&est);
    }
    free_parts(&p);
}

/* Replaces one key of a JSON section and expects the load to fail. */
static void expect_json_edit(const struct parts *p, int which, const char *key, json_t *val,
                             const char *msg)
{
    const uint32_t ids[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, GY_SEC_PROFILE};
    const struct gy_buf *src = which == 0 ? &p->meta : which == 1 ? &p->pre : &p->prof;
    json_t *j;
    struct gy_buf nb;
    cr_assert_eq(gy_json_parse(src->data, src->len, 64, "t", &j), GY_OK);
    if (val)
        json_object_set_new(j, key, val);
    else
        json_object_del(j, key);
    gy_buf_init(&nb, 1 << 24);
    cr_assert_eq(gy_json_dump(j, &nb), GY_OK);
    expect_load(ids,
                (const struct gy_buf *const[]){which == 0 ? &nb : &p->meta,
                                               which == 1 ? &nb : &p->pre, &p->est,
                                               which == 2 ? &nb : &p->prof},
                4, GY_E_CORRUPT, msg);
    gy_buf_free(&nb);
    json_decref(j);
}

Test(corrupt, json_sections)
{
    struct parts p;
    const uint32_t ids[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_TREES, GY_SEC_PROFILE};
    struct gy_buf deep, notobj, bad;
    good_parts(&p);
    expect_json_edit(&p, 0, "name", NULL, "\"name\" must be a non-empty string");
    expect_json_edit(&p, 0, "trainer", json_integer(3), "\"trainer\" must be a non-empty string");
    expect_json_edit(&p, 0, "run_id", json_integer(3), "\"run_id\" must be a string or null");
    expect_json_edit(&p, 0, "params", json_array(), "\"params\" and \"metrics\" must be objects");
    expect_json_edit(&p, 0, "objective", json_string("reg:squarederror"), "objective differs");
    expect_json_edit(&p, 0, "input_signature",
                     json_pack("[{s:s,s:s}]", "name", "x0", "type", "float64"),
                     "\"input_signature\" must list the 3 inputs");
    expect_json_edit(&p, 0, "input_signature",
                     json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "x0", "type", "float64",
                               "name", "x1", "type", "string", "name", "x2", "type", "float64"),
                     "input_signature[1] does not match");
    expect_json_edit(&p, 0, "feature_names", json_pack("[sss]", "x0", "x1", "x9"),
                     "feature_names[2] does not match");
    expect_json_edit(&p, 0, "output_signature",
                     json_pack("{s:s,s:s,s:[i],s:s}", "name", "probability", "datatype", "FP32",
                               "shape", 2, "link", "logistic"),
                     "\"output_signature\" must be");
    expect_json_edit(&p, 0, "classes", json_pack("[sss]", "a", "b", "c"),
                     "3 classes for a model with 2");
    expect_json_edit(&p, 0, "classes", json_pack("[o,s]", json_object(), "b"),
                     "classes[0] must be");
    expect_json_edit(&p, 0, "classes", NULL, "\"classes\" is missing");
    expect_json_edit(&p, 1, "mode", json_string("forest"), "\"mode\" must be tree or linear");
    expect_json_edit(&p, 1, "outputs", json_pack("[sss]", "x0", "x1", "y"), "outputs[2]");
    expect_json_edit(&p, 2, "extra", json_null(), "expected exactly");
    expect_json_edit(&p, 2, "scores",
                     json_pack("[{s:s,s:i,s:i,s:[],s:{s:[],s:[]}}]", "output", "p", "count", 1,
                               "nonfinite", 0, "deciles", "histogram", "edges", "counts"),
                     "deciles must hold 11 values");
    expect_json_edit(&p, 2, "scores", json_pack("[]"), "one entry per output");
    /* A nesting bomb, text that is not an object, and text that is not JSON. */
    gy_buf_init(&deep, 1 << 20);
    gy_buf_init(&notobj, 64);
    gy_buf_init(&bad, 64);
    for (int i = 0; i < 5000; i++)
        gy_buf_putc(&deep, '[');
    gy_buf_puts(&notobj, "[1, 2]");
    gy_buf_puts(&bad, "{\"name\": ");
    expect_load(ids, (const struct gy_buf *const[]){&deep, &p.pre, &p.est, &p.prof}, 4,
                GY_E_CORRUPT, "nesting deeper than 32");
    expect_load(ids, (const struct gy_buf *const[]){&notobj, &p.pre, &p.est, &p.prof}, 4,
                GY_E_CORRUPT, "metadata section: not a JSON object");
    expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &bad}, 4, GY_E_CORRUPT,
                "profile section");
    gy_buf_free(&deep);
    gy_buf_free(&notobj);
    gy_buf_free(&bad);
    free_parts(&p);
}

Test(corrupt, linear_section)
{
    struct gy_features *f = fx_identity(2);
    struct gy_linear *l;
    struct gy_buf b;
    struct parts p;
    const uint32_t ids[] = {GY_SEC_META, GY_SEC_PREPROC, GY_SEC_LINEAR, GY_SEC_PROFILE};
    cr_assert_eq(gy_model_linear_create("reg:squarederror", GY_LINK_IDENTITY, 2, 1, &l), GY_OK);
    fx_bundle(NULL, l, f, NULL, 0, &b);
    split_parts(&b, &p);
    {
        uint8_t *d = (uint8_t *)p.est.data;
        gy__model_put_f64(d + 80 + 8, INFINITY);
        expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &p.prof}, 4,
                    GY_E_CORRUPT, "weight [0][0] is not finite");
        gy__model_put_f64(d + 80 + 8, 0);
        gy__model_put_u32(d + 4, GY_LINK_EXP);
        expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &p.prof}, 4,
                    GY_E_CORRUPT, "link 3");
        gy__model_put_u32(d + 4, GY_LINK_IDENTITY);
        gy__model_put_u32(d + 12, 0x10000000);
        expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &p.prof}, 4,
                    GY_E_CORRUPT, "outputs");
        gy__model_put_u32(d + 12, 1);
        d[16 + 3] = 0x8c; /* "reg\x8c..." is not UTF-8 (found by fuzz_bundle) */
        expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &p.prof}, 4,
                    GY_E_CORRUPT, "objective");
        d[16 + 3] = ':';
        p.est.len -= 8;
        expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &p.prof}, 4,
                    GY_E_CORRUPT, "bytes,");
        p.est.len += 8;
        expect_load(ids, (const struct gy_buf *const[]){&p.meta, &p.pre, &p.est, &p.prof}, 4, GY_OK,
                    "");
    }
    free_parts(&p);
    gy_buf_free(&b);
    gy_model_linear_free(l);
    gy_features_free(f);
}

/* ------------------------------------------------------------------ fuzz seeds */

#define CORPUS "tests/fuzz/corpus/fuzz_bundle"

Test(corpus, seeds_load)
{
    DIR *d = opendir(CORPUS);
    struct dirent *e;
    int n = 0;
    cr_assert_not_null(d, "run from the repository root");
    while ((e = readdir(d)) != NULL) {
        char path[512];
        struct gy_model_bundle *m;
        if (strncmp(e->d_name, "seed-", 5) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", CORPUS, e->d_name);
        cr_assert_eq(gy_model_bundle_load_file(path, &m), GY_OK, "%s", gy_error_msg());
        gy_model_bundle_free(m);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 3);
}

/*
 * Regenerates the seed bundles when GY_WRITE_FUZZ_SEEDS is set (run once by hand; the seeds
 * are committed). Without it, checks that today's builder still produces the committed bytes
 * for the trees seed, so the format does not drift silently.
 */
Test(corpus, seeds_are_current)
{
    struct gy_trees *t = fx_trees();
    struct gy_features *f3 = fx_identity(3), *f2 = fx_identity(2);
    struct gy_linear *l;
    struct gy_features *ff = fit_small(GY_FEATURES_LINEAR, "merchant:onehot,top=2");
    struct gy_linear *lf;
    struct gy_buf a, b, c, have;
    cr_assert_eq(gy_model_linear_create("multi:softprob", GY_LINK_SOFTMAX, 5, 3, &lf), GY_OK);
    for (int i = 0; i < 15; i++)
        lf->weights[i] = 0.25 * (i % 4) - 0.5;
    lf->intercepts[2] = 1;
    fx_bundle(NULL, lf, ff, NULL, 0, &c);
    cr_assert_eq(gy_model_linear_create("binary:logistic", GY_LINK_LOGISTIC, 2, 1, &l), GY_OK);
    l->weights[0] = 0.5;
    l->weights[1] = -1.25;
    l->intercepts[0] = 0.125;
    fx_bundle(t, NULL, f3, (const float[]){0.25f, 0.75f, 0.5f}, 3, &a);
    fx_bundle(NULL, l, f2, NULL, 0, &b);
    if (getenv("GY_WRITE_FUZZ_SEEDS")) {
        cr_assert_eq(gy_file_write_atomic(CORPUS "/seed-trees.gymb", a.data, a.len), GY_OK);
        cr_assert_eq(gy_file_write_atomic(CORPUS "/seed-linear.gymb", b.data, b.len), GY_OK);
        cr_assert_eq(gy_file_write_atomic(CORPUS "/seed-onehot.gymb", c.data, c.len), GY_OK);
    }
    gy_buf_init(&have, 1 << 20);
    cr_assert_eq(gy_file_read(CORPUS "/seed-trees.gymb", &have), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(have.len, a.len);
    cr_assert(memcmp(have.data, a.data, a.len) == 0, "the bundle bytes changed: regenerate the "
                                                     "seeds with GY_WRITE_FUZZ_SEEDS=1 if meant");
    gy_buf_free(&have);
    gy_buf_free(&a);
    gy_buf_free(&b);
    gy_buf_free(&c);
    gy_model_linear_free(l);
    gy_model_linear_free(lf);
    gy_features_free(ff);
    gy_features_free(f2);
    gy_features_free(f3);
    gy_model_trees_free(t);
}
