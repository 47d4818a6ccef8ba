/* SPDX-License-Identifier: MIT */
/*
 * test_fit.c - unit tests for fitting and applying a preprocessing (src/features/fit.c,
 * apply.c, persist.c): means, exact medians, stds after imputation and clipping checked by
 * hand, category vocabularies with the top-k / other / unseen layout, missing values, tree
 * and linear defaults, spec errors against a schema, row-level apply equal to matrix apply
 * bit for bit, the JSON round trip, and the loader rejecting every kind of damaged state.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/features.h"

/* ------------------------------------------------------------------ helpers */

static struct gy_schema *mk_schema(size_t n, const char *const *names, const enum gy_type *types)
{
    struct gy_schema *s = gy_schema_create(n);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++) {
        s->cols[i].name = gy_strdup(names[i]);
        s->cols[i].type = types[i];
    }
    return s;
}

/* Float column; NaN marks a missing cell. */
static struct gy_colvec fvec(const double *v, size_t n)
{
    struct gy_colvec c = {.type = GY_TYPE_FLOAT64, .n = n};
    c.valid = gy_calloc(n + 1, 1);
    c.f64 = gy_calloc(n + 1, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        c.valid[i] = !isnan(v[i]);
        c.f64[i] = isnan(v[i]) ? 0 : v[i];
    }
    return c;
}

/* Int64, bool or timestamp column; INT64_MIN marks a missing cell. */
static struct gy_colvec ivec(enum gy_type t, const int64_t *v, size_t n)
{
    struct gy_colvec c = {.type = t, .n = n};
    c.valid = gy_calloc(n + 1, 1);
    c.i64 = gy_calloc(n + 1, sizeof(int64_t));
    c.b = gy_calloc(n + 1, 1);
    for (size_t i = 0; i < n; i++) {
        c.valid[i] = v[i] != INT64_MIN;
        c.i64[i] = c.valid[i] ? v[i] : 0;
        c.b[i] = c.valid[i] && v[i] != 0;
    }
    if (t == GY_TYPE_BOOL) {
        gy_free(c.i64);
        c.i64 = NULL;
    } else {
        gy_free(c.b);
        c.b = NULL;
    }
    return c;
}

/* String column; NULL marks a missing cell. */
static struct gy_colvec svec(const char *const *v, size_t n)
{
    struct gy_colvec c = {.type = GY_TYPE_STRING, .n = n};
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i] ? strlen(v[i]) : 0;
    c.valid = gy_calloc(n + 1, 1);
    c.off = gy_calloc(n + 1, sizeof(uint32_t));
    c.data = gy_calloc(total + 1, 1);
    c.data_len = total;
    total = 0;
    for (size_t i = 0; i < n; i++) {
        c.valid[i] = v[i] != NULL;
        c.off[i] = (uint32_t)total;
        if (v[i]) {
            memcpy(c.data + total, v[i], strlen(v[i]));
            total += strlen(v[i]);
        }
    }
    c.off[n] = (uint32_t)total;
    return c;
}

static void vec_free(struct gy_colvec *c)
{
    gy_free(c->valid);
    gy_free(c->f64);
    gy_free(c->i64);
    gy_free(c->b);
    gy_free(c->off);
    gy_free(c->data);
}

static struct gy_feature_spec *spec_of(const char *flags)
{
    struct gy_feature_spec *s;
    cr_assert_eq(gy_features_spec_create(&s), GY_OK);
    if (flags)
        cr_assert_eq(gy_features_spec_add_flags(s, flags), GY_OK, "%s", gy_error_msg());
    return s;
}

/* The fitted JSON entry of input @p name. */
static json_t *fitted(const struct gy_features *f, const char *name)
{
    json_t *j, *r = NULL, *v;
    size_t i;
    cr_assert_eq(gy_features_to_json(f, &j), GY_OK);
    json_array_foreach(json_object_get(j, "inputs"), i, v)
    {
        if (strcmp(gy_json_str(v, "name", ""), name) == 0)
            r = json_incref(v);
    }
    json_decref(j);
    cr_assert_not_null(r, "no input %s", name);
    return r;
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

/* ------------------------------------------------------------------ numeric */

Test(fit, numeric_mean_median_std)
{
    const char *names[] = {"x", "y"};
    const enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_FLOAT64};
    /* Row 5 is outside the training mask. */
    const double x[] = {1, 2, NAN, 4, 10, 1000};
    const double y[] = {3, NAN, NAN, 1, 2, 7};
    const uint8_t mask[] = {1, 1, 1, 1, 1, 0};
    struct gy_schema *sc = mk_schema(2, names, types);
    struct gy_colvec c[2] = {fvec(x, 6), fvec(y, 6)};
    struct gy_feature_spec *sp = spec_of("x:standardize,impute=mean;y:standardize,impute=median");
    struct gy_features *f;
    json_t *jx, *jy;
    double mean_obs = (1 + 2 + 4 + 10) / 4.0, var, m, v;
    float out[12];
    size_t rows;

    cr_assert_eq(gy_features_fit(sp, sc, NULL, GY_FEATURES_TREE, c, 6, mask, &f), GY_OK, "%s",
                 gy_error_msg());
    jx = fitted(f, "x");
    cr_assert_float_eq(json_number_value(json_object_get(jx, "fill")), mean_obs, 1e-15);
    /* Imputed with the mean: the std of 1, 2, 4.25, 4, 10 (population). */
    var = (pow(1 - mean_obs, 2) + pow(2 - mean_obs, 2) + 0 + pow(4 - mean_obs, 2) +
           pow(10 - mean_obs, 2)) /
          5;
    cr_assert_float_eq(json_number_value(json_object_get(jx, "mean")), mean_obs, 1e-12);
    cr_assert_float_eq(json_number_value(json_object_get(jx, "std")), sqrt(var), 1e-12);
    cr_assert_eq(json_integer_value(json_object_get(jx, "count")), 4);
    cr_assert_eq(json_integer_value(json_object_get(jx, "missing")), 1);

    /* y: observed 3, 1, 2 -> median 2; imputed rows join as 2, 2: values 3,2,2,1,2. */
    jy = fitted(f, "y");
    cr_assert_eq(json_number_value(json_object_get(jy, "fill")), 2.0);
    m = (3 + 2 + 2 + 1 + 2) / 5.0;
    v = (pow(3 - m, 2) + 3 * pow(2 - m, 2) + pow(1 - m, 2)) / 5;
    cr_assert_float_eq(json_number_value(json_object_get(jy, "mean")), m, 1e-12);
    cr_assert_float_eq(json_number_value(json_object_get(jy, "std")), sqrt(v), 1e-12);

    /* Apply: row 2 (both missing) takes the fills, then is standardized. */
    cr_assert_eq(gy_features_apply_cols(f, sc, c, 6, NULL, out, &rows), GY_OK);
    cr_assert_eq(rows, 6);
    cr_assert_eq(out[2 * 2 + 0], (float)((mean_obs - mean_obs) / sqrt(var)));
    cr_assert_eq(out[2 * 2 + 1], (float)((2.0 - m) / sqrt(v)));
    cr_assert_eq(out[5 * 2 + 0], (float)((1000 - mean_obs) / sqrt(var)), "untrained rows apply");
    json_decref(jx);
    json_decref(jy);
    gy_features_free(f);
    gy_features_spec_free(sp);
    vec_free(&c[0]);
    vec_free(&c[1]);
    gy_schema_free(sc);
}

Test(fit, median_even_count_clip_and_constant)
{
    const char *names[] = {"a", "b", "k"};
    const enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_FLOAT64, GY_TYPE_INT64};
    const double a[] = {4, 1, 3, 2};
    const double b[] = {-3, 2, 9, NAN};
    const int64_t k[] = {5, INT64_MIN, 7, 9};
    struct gy_schema *sc = mk_schema(3, names, types);
    struct gy_colvec c[3] = {fvec(a, 4), fvec(b, 4), ivec(GY_TYPE_INT64, k, 4)};
    struct gy_feature_spec *sp =
        spec_of("a:impute=median,passthrough;b:clip=0:5,impute=mean;k:impute=-1");
    struct gy_features *f;
    json_t *j;
    float out[12];
    size_t rows;

    cr_assert_eq(gy_features_fit(sp, sc, NULL, GY_FEATURES_TREE, c, 4, NULL, &f), GY_OK, "%s",
                 gy_error_msg());
    j = fitted(f, "a");
    cr_assert_eq(json_number_value(json_object_get(j, "fill")), 2.5);
    cr_assert_null(json_object_get(j, "std"), "passthrough keeps no std");
    json_decref(j);
    j = fitted(f, "b");
    cr_assert_float_eq(json_number_value(json_object_get(j, "fill")), 7.0 / 3, 1e-15,
                       "the mean of clipped values 0, 2, 5");
    json_decref(j);
    cr_assert_eq(gy_features_apply_cols(f, sc, c, 4, NULL, out, &rows), GY_OK);
    cr_assert_eq(out[0 * 3 + 1], 0.0f, "clipped up");
    cr_assert_eq(out[2 * 3 + 1], 5.0f, "clipped down");
    cr_assert_eq(out[3 * 3 + 1], (float)(7.0 / 3), "imputed");
    cr_assert_eq(out[1 * 3 + 2], -1.0f, "constant imputation");
    cr_assert_eq(out[3 * 3 + 2], 9.0f);
    gy_features_free(f);
    gy_features_spec_free(sp);
    for (int i = 0; i < 3; i++)
        vec_free(&c[i]);
    gy_schema_free(sc);
}

Test(fit, passthrough_keeps_nan_and_constant_column_std_one)
{
    const char *names[] = {"a", "z"};
    const enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_FLOAT64};
    const double a[] = {1.5, NAN, -2};
    const double z[] = {3, 3, 3};
    struct gy_schema *sc = mk_schema(2, names, types);
    struct gy_colvec c[2] = {fvec(a, 3), fvec(z, 3)};
    struct gy_feature_spec *sp = spec_of("z:standardize");
    struct gy_features *f;
    json_t *j;
    float out[6];
    size_t rows;
    cr_assert_eq(gy_features_fit(sp, sc, NULL, GY_FEATURES_TREE, c, 3, NULL, &f), GY_OK);
    cr_assert_eq(gy_features_apply_cols(f, sc, c, 3, NULL, out, &rows), GY_OK);
    cr_assert_eq(out[0], 1.5f);
    cr_assert(isnan(out[2]), "tree default: missing stays NaN");
    cr_assert_eq(out[4], -2.0f);
    j = fitted(f, "z");
    cr_assert_eq(json_number_value(json_object_get(j, "std")), 1.0, "zero variance -> std 1");
    cr_assert_eq(out[1], 0.0f);
    json_decref(j);
    gy_features_free(f);
    gy_features_spec_free(sp);
    vec_free(&c[0]);
    vec_free(&c[1]);
    gy_schema_free(sc);
}

/* ------------------------------------------------------------------ categorical */

Test(fit, onehot_top_other_unseen_missing)
{
    const char *names[] = {"m"};
    const enum gy_type types[] = {GY_TYPE_STRING};
    const char *m[] = {"b", "a", "b", "c", "a", "b", NULL, "d", "a", "zz"};
    const uint8_t mask[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0}; /* "zz" is not training data */
    struct gy_schema *sc = mk_schema(1, names, types);
    struct gy_colvec c = svec(m, 10);
    struct gy_feature_spec *sp = spec_of("m:onehot,top=2");
    struct gy_features *f;
    json_t *j;
    float out[40];
    size_t rows;

    cr_assert_eq(gy_features_fit(sp, sc, NULL, GY_FEATURES_TREE, &c, 10, mask, &f), GY_OK);
    cr_assert_eq(gy_features_n_outputs(f), 4);
    /* a and b both have 3: ties break by value. */
    cr_assert_str_eq(gy_features_output_name(f, 0), "m=a");
    cr_assert_str_eq(gy_features_output_name(f, 1), "m=b");
    cr_assert_str_eq(gy_features_output_name(f, 2), "m=<other>");
    cr_assert_str_eq(gy_features_output_name(f, 3), "m=<unseen>");
    j = fitted(f, "m");
    cr_assert_eq(json_array_size(json_object_get(j, "categories")), 2);
    cr_assert_eq(json_integer_value(
                     json_object_get(json_array_get(json_object_get(j, "categories"), 0), "count")),
                 3);
    cr_assert_eq(json_array_size(json_object_get(j, "other")), 2, "c and d are seen");
    cr_assert_eq(json_integer_value(json_object_get(j, "other_count")), 2);
    cr_assert_eq(json_integer_value(json_object_get(j, "missing")), 1);
    cr_assert(json_is_true(json_object_get(j, "other_complete")));
    json_decref(j);

    cr_assert_eq(gy_features_apply_cols(f, sc, &c, 10, NULL, out, &rows), GY_OK);
    {
        static const float want[10][4] = {
            {0, 1, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {1, 0, 0, 0},
            {0, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {1, 0, 0, 0}, {0, 0, 0, 1},
        };
        for (int r = 0; r < 10; r++)
            for (int k = 0; k < 4; k++)
                cr_assert_eq(out[r * 4 + k], want[r][k], "row %d col %d", r, k);
    }
    gy_features_free(f);
    gy_features_spec_free(sp);
    vec_free(&c);
    gy_schema_free(sc);
}

Test(fit, ordinal_codes_and_mode_imputation)
{
    const char *names[] = {"m", "n"};
    const enum gy_type types[] = {GY_TYPE_STRING, GY_TYPE_STRING};
    const char *m[] = {"x", "y", "x", NULL, "z", "x", "y"};
    const char *n[] = {"p", "q", "q", NULL, "r", "q", NULL};
    struct gy_schema *sc = mk_schema(2, names, types);
    struct gy_colvec c[2] = {svec(m, 7), svec(n, 7)};
    struct gy_feature_spec *sp = spec_of("m:ordinal,top=2;n:onehot,top=1,impute=mode");
    struct gy_features *f;
    float out[7 * 4];
    size_t rows;
    struct gy_feature_value row[2];
    float r1[4];

    cr_assert_eq(gy_features_fit(sp, sc, NULL, GY_FEATURES_LINEAR, c, 7, NULL, &f), GY_OK);
    cr_assert_eq(gy_features_n_outputs(f), 1 + 3);
    cr_assert_str_eq(gy_features_output_name(f, 0), "m");
    cr_assert_str_eq(gy_features_output_name(f, 1), "n=q");
    cr_assert_eq(gy_features_apply_cols(f, sc, c, 7, NULL, out, &rows), GY_OK);
    cr_assert_eq(out[0 * 4], 0.0f, "x is code 0");
    cr_assert_eq(out[1 * 4], 1.0f, "y is code 1");
    cr_assert_eq(out[4 * 4], 2.0f, "z is other (code k)");
    cr_assert(isnan(out[3 * 4]), "missing ordinal is NaN");
    /* n: missing takes the mode q. */
    cr_assert_eq(out[3 * 4 + 1], 1.0f);
    cr_assert_eq(out[6 * 4 + 1], 1.0f);
    cr_assert_eq(out[0 * 4 + 2], 1.0f, "p is other");
    /* Unseen at serving: ordinal code k+1, onehot <unseen>. */
    row[0] = (struct gy_feature_value){.kind = GY_FV_STR, .str = "never", .len = 5};
    row[1] = (struct gy_feature_value){.kind = GY_FV_STR, .str = "nope", .len = 4};
    cr_assert_eq(gy_features_apply_row(f, row, r1), GY_OK);
    cr_assert_eq(r1[0], 3.0f);
    cr_assert_eq(r1[1], 0.0f);
    cr_assert_eq(r1[2], 0.0f);
    cr_assert_eq(r1[3], 1.0f);
    gy_features_free(f);
    gy_features_spec_free(sp);
    vec_free(&c[0]);
    vec_free(&c[1]);
    gy_schema_free(sc);
}

/* ------------------------------------------------------------------ defaults and errors */

static const char *const all_names[] = {"f", "i", "b", "s", "t", "label"};
static const enum gy_type all_types[] = {GY_TYPE_FLOAT64, GY_TYPE_INT64,     GY_TYPE_BOOL,
                                         GY_TYPE_STRING,  GY_TYPE_TIMESTAMP, GY_TYPE_INT64};

static void all_cols(struct gy_colvec c[6])
{
    const double f[] = {1, NAN, 3, 4};
    const int64_t i[] = {10, 20, INT64_MIN, 40};
    const int64_t b[] = {1, 0, INT64_MIN, 1};
    const char *s[] = {"u", "v", "u", NULL};
    /* 2024-01-01T13:30:00Z is a Monday. */
    const int64_t t[] = {INT64_C(1704115800000000), INT64_MIN,
                         INT64_C(1704115800000000) + 86400000000 * 6 - 3600000000 * 14, -1};
    const int64_t y[] = {0, 1, 0, 1};
    c[0] = fvec(f, 4);
    c[1] = ivec(GY_TYPE_INT64, i, 4);
    c[2] = ivec(GY_TYPE_BOOL, b, 4);
    c[3] = svec(s, 4);
    c[4] = ivec(GY_TYPE_TIMESTAMP, t, 4);
    c[5] = ivec(GY_TYPE_INT64, y, 4);
}

Test(fit, tree_and_linear_defaults)
{
    struct gy_schema *sc = mk_schema(6, all_names, all_types);
    struct gy_colvec c[6];
    struct gy_features *ft, *fl;
    json_t *j;
    all_cols(c);
    cr_assert_eq(gy_features_fit(NULL, sc, "label", GY_FEATURES_TREE, c, 4, NULL, &ft), GY_OK, "%s",
                 gy_error_msg());
    /* Trees: numeric passthrough, bool 0/1, string ordinal, timestamp dropped, no target. */
    cr_assert_eq(gy_features_n_inputs(ft), 4);
    cr_assert_eq(gy_features_n_outputs(ft), 4);
    cr_assert_eq(gy_features_input_find(ft, "label"), -1);
    cr_assert_eq(gy_features_input_find(ft, "t"), -1);
    j = fitted(ft, "s");
    cr_assert_str_eq(gy_json_str(j, "encode", ""), "ordinal");
    cr_assert_eq(gy_json_int(j, "top", 0), 100);
    json_decref(j);
    j = fitted(ft, "f");
    cr_assert_str_eq(gy_json_str(j, "impute", ""), "none");
    json_decref(j);

    cr_assert_eq(gy_features_fit(NULL, sc, "label", GY_FEATURES_LINEAR, c, 4, NULL, &fl), GY_OK);
    /* Linear: f, i standardized with mean imputation, b imputed, s onehot (u, v + 2). */
    cr_assert_eq(gy_features_n_outputs(fl), 1 + 1 + 1 + 4);
    j = fitted(fl, "i");
    cr_assert_str_eq(gy_json_str(j, "encode", ""), "standardize");
    cr_assert_str_eq(gy_json_str(j, "impute", ""), "mean");
    cr_assert_float_eq(json_number_value(json_object_get(j, "fill")), 70.0 / 3, 1e-12);
    json_decref(j);
    j = fitted(fl, "b");
    cr_assert_str_eq(gy_json_str(j, "encode", ""), "passthrough");
    cr_assert_float_eq(json_number_value(json_object_get(j, "fill")), 2.0 / 3, 1e-15);
    json_decref(j);
    j = fitted(fl, "s");
    cr_assert_str_eq(gy_json_str(j, "encode", ""), "onehot");
    cr_assert_eq(gy_json_int(j, "top", 0), 20);
    json_decref(j);
    gy_features_free(ft);
    gy_features_free(fl);
    for (int k = 0; k < 6; k++)
        vec_free(&c[k]);
    gy_schema_free(sc);
}

Test(fit, timestamp_parts)
{
    struct gy_schema *sc = mk_schema(6, all_names, all_types);
    struct gy_colvec c[6];
    struct gy_feature_spec *sp = spec_of("*:drop;t:parts");
    struct gy_features *f;
    float out[8];
    size_t rows;
    all_cols(c);
    cr_assert_eq(gy_features_fit(sp, sc, "label", GY_FEATURES_TREE, c, 4, NULL, &f), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(gy_features_n_outputs(f), 2);
    cr_assert_str_eq(gy_features_output_name(f, 0), "t.hour");
    cr_assert_str_eq(gy_features_output_name(f, 1), "t.dow");
    cr_assert_eq(gy_features_apply_cols(f, sc, c, 4, NULL, out, &rows), GY_OK);
    cr_assert_eq(out[0], 13.0f);
    cr_assert_eq(out[1], 0.0f, "Monday");
    cr_assert(isnan(out[2]) && isnan(out[3]), "missing timestamp");
    cr_assert_eq(out[4], 23.0f);
    cr_assert_eq(out[5], 5.0f, "Saturday");
    cr_assert_eq(out[6], 23.0f, "one microsecond before the epoch");
    cr_assert_eq(out[7], 2.0f, "1969-12-31 was a Wednesday");
    gy_features_free(f);
    gy_features_spec_free(sp);
    for (int k = 0; k < 6; k++)
        vec_free(&c[k]);
    gy_schema_free(sc);
}

Test(fit, spec_errors_against_schema)
{
    static const struct {
        const char *flags;
        const char *msg;
    } cases[] = {
        {"nosuch:drop", "names column 'nosuch'"},
        {"f:onehot", "column 'f' (float64) cannot be encoded as onehot"},
        {"s:standardize", "column 's' (string) cannot be encoded as standardize"},
        {"t:standardize", "cannot be encoded as standardize"},
        {"s:impute=mean", "string columns take impute=mode"},
        {"f:impute=mode", "impute=mode applies to string columns"},
        {"b:top=3", "top= applies to string columns"},
        {"s:clip=0:1", "clip= applies to numeric columns"},
        {"label:passthrough", "is the target"},
        {"*:drop", "no input columns"},
    };
    struct gy_schema *sc = mk_schema(6, all_names, all_types);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gy_feature_spec *sp = spec_of(cases[i].flags);
        struct gy_features_fitter *ft = (void *)1;
        cr_assert_eq(gy_features_fit_begin(sp, sc, "label", GY_FEATURES_TREE, &ft), GY_E_INVALID,
                     "%s", cases[i].flags);
        cr_assert_null(ft);
        cr_assert(strstr(gy_error_msg(), cases[i].msg), "%s: got '%s'", cases[i].flags,
                  gy_error_msg());
        gy_features_spec_free(sp);
    }
    {
        struct gy_features_fitter *ft;
        cr_assert_eq(gy_features_fit_begin(NULL, sc, "nolabel", GY_FEATURES_TREE, &ft),
                     GY_E_INVALID);
        cr_assert(strstr(gy_error_msg(), "target column 'nolabel'"));
    }
    gy_schema_free(sc);
}

Test(fit, batch_type_mismatch_and_incremental_fit)
{
    struct gy_schema *sc = mk_schema(6, all_names, all_types);
    struct gy_colvec c[6], bad;
    struct gy_features_fitter *ft;
    struct gy_features *f1, *f2;
    json_t *j1, *j2;
    const double d[] = {1, 2, 3, 4};
    all_cols(c);
    /* Two batches of the same rows give the statistics of the doubled data. */
    cr_assert_eq(gy_features_fit_begin(NULL, sc, "label", GY_FEATURES_LINEAR, &ft), GY_OK);
    cr_assert_eq(gy_features_fit_add(ft, c, 4, NULL), GY_OK);
    cr_assert_eq(gy_features_fit_add(ft, c, 4, NULL), GY_OK);
    bad = c[1];
    c[1] = fvec(d, 4);
    cr_assert_eq(gy_features_fit_add(ft, c, 4, NULL), GY_E_SCHEMA);
    cr_assert(strstr(gy_error_msg(), "column 'i' is float64 in the batch, int64 expected"));
    vec_free(&c[1]);
    c[1] = bad;
    cr_assert_eq(gy_features_fit_add(ft, c, 3, NULL), GY_E_SCHEMA, "row count differs");
    cr_assert_eq(gy_features_fit_finish(ft, &f1), GY_OK, "a rejected batch changes nothing");
    gy_features_fitter_free(ft);
    cr_assert_eq(gy_features_fit(NULL, sc, "label", GY_FEATURES_LINEAR, c, 4, NULL, &f2), GY_OK);
    j1 = fitted(f1, "i");
    j2 = fitted(f2, "i");
    cr_assert_float_eq(json_number_value(json_object_get(j1, "mean")),
                       json_number_value(json_object_get(j2, "mean")), 1e-12);
    cr_assert_float_eq(json_number_value(json_object_get(j1, "std")),
                       json_number_value(json_object_get(j2, "std")), 1e-12);
    cr_assert_eq(json_integer_value(json_object_get(j1, "count")), 6);
    json_decref(j1);
    json_decref(j2);
    j1 = fitted(f1, "s");
    cr_assert_eq(json_integer_value(json_object_get(
                     json_array_get(json_object_get(j1, "categories"), 0), "count")),
                 4);
    json_decref(j1);
    gy_features_free(f1);
    gy_features_free(f2);
    for (int k = 0; k < 6; k++)
        vec_free(&c[k]);
    gy_schema_free(sc);
}

/* ------------------------------------------------------------------ row apply */

struct rng {
    uint64_t s;
};

static uint64_t rnext(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double runif(struct rng *r)
{
    return (double)(rnext(r) >> 11) * 0x1p-53;
}

#define NR 400

/* Random data of every type with missing cells; the last 50 rows hold unseen categories. */
static void random_cols(struct gy_colvec c[6], struct rng *r)
{
    static const char *cats[] = {"alpha", "beta", "gamma", "delta",  "eps", "zeta", "eta",
                                 "theta", "iota", "kappa", "lambda", "mu",  "nu",   "xi"};
    double f[NR];
    int64_t i[NR], b[NR], t[NR], y[NR];
    const char *s[NR];
    char unseen[50][16];
    for (int k = 0; k < NR; k++) {
        f[k] = runif(r) < 0.15 ? NAN : (runif(r) - 0.5) * 1e4;
        i[k] = runif(r) < 0.1 ? INT64_MIN : (int64_t)(rnext(r) % 2000) - 1000;
        b[k] = runif(r) < 0.1 ? INT64_MIN : (int64_t)(rnext(r) & 1);
        t[k] = runif(r) < 0.1 ? INT64_MIN
                              : (int64_t)(rnext(r) % 4000000000000000ULL) - 1000000000000000LL;
        y[k] = (int64_t)(rnext(r) & 1);
        if (k >= NR - 50) {
            snprintf(unseen[k - (NR - 50)], 16, "new%d", k);
            s[k] = unseen[k - (NR - 50)];
        } else {
            double u = runif(r);
            s[k] = u < 0.1 ? NULL : cats[(size_t)(u * u * 14) % 14];
        }
    }
    c[0] = fvec(f, NR);
    c[1] = ivec(GY_TYPE_INT64, i, NR);
    c[2] = ivec(GY_TYPE_BOOL, b, NR);
    c[3] = svec(s, NR);
    c[4] = ivec(GY_TYPE_TIMESTAMP, t, NR);
    c[5] = ivec(GY_TYPE_INT64, y, NR);
}

/* The typed request values of row @p r in input order. */
static void row_values(const struct gy_features *f, const struct gy_schema *sc,
                       const struct gy_colvec *c, size_t r, struct gy_feature_value *v)
{
    for (size_t k = 0; k < gy_features_n_inputs(f); k++) {
        const struct gy_colvec *col = &c[gy_schema_find(sc, gy_features_input_name(f, k))];
        memset(&v[k], 0, sizeof(v[k]));
        if (!col->valid[r])
            continue;
        switch (col->type) {
        case GY_TYPE_FLOAT64:
            v[k].kind = GY_FV_NUM;
            v[k].num = col->f64[r];
            break;
        case GY_TYPE_INT64:
        case GY_TYPE_TIMESTAMP:
            v[k].kind = GY_FV_NUM;
            v[k].num = (double)col->i64[r];
            break;
        case GY_TYPE_BOOL:
            v[k].kind = GY_FV_BOOL;
            v[k].num = col->b[r];
            break;
        case GY_TYPE_STRING:
            v[k].kind = GY_FV_STR;
            v[k].str = col->data + col->off[r];
            v[k].len = col->off[r + 1] - col->off[r];
            break;
        }
    }
}

static void check_row_equals_matrix(enum gy_features_mode mode, const char *flags)
{
    struct gy_schema *sc = mk_schema(6, all_names, all_types);
    struct gy_colvec c[6];
    struct rng r = {42};
    uint8_t mask[NR];
    struct gy_feature_spec *sp = spec_of(flags);
    struct gy_features *f;
    float *mat, *row;
    size_t n, rows;
    struct gy_feature_value v[8];

    random_cols(c, &r);
    for (int k = 0; k < NR; k++)
        mask[k] = k < NR - 50 && (k % 5) != 0;
    cr_assert_eq(gy_features_fit(sp, sc, "label", mode, c, NR, mask, &f), GY_OK, "%s",
                 gy_error_msg());
    n = gy_features_n_outputs(f);
    mat = gy_malloc(NR * n * sizeof(float));
    row = gy_malloc(n * sizeof(float));
    cr_assert_eq(gy_features_apply_cols(f, sc, c, NR, NULL, mat, &rows), GY_OK);
    cr_assert_eq(rows, NR);
    for (size_t k = 0; k < NR; k++) {
        row_values(f, sc, c, k, v);
        cr_assert_eq(gy_features_apply_row(f, v, row), GY_OK, "%s", gy_error_msg());
        cr_assert(same_bits(row, mat + k * n, n), "row %zu differs", k);
    }
    /* A masked apply writes the selected rows in order. */
    {
        float *sel = gy_malloc(NR * n * sizeof(float));
        size_t j = 0;
        cr_assert_eq(gy_features_apply_cols(f, sc, c, NR, mask, sel, &rows), GY_OK);
        for (size_t k = 0; k < NR; k++)
            if (mask[k])
                cr_assert(same_bits(sel + j++ * n, mat + k * n, n));
        cr_assert_eq(rows, j);
        gy_free(sel);
    }
    gy_free(mat);
    gy_free(row);
    gy_features_free(f);
    gy_features_spec_free(sp);
    for (int k = 0; k < 6; k++)
        vec_free(&c[k]);
    gy_schema_free(sc);
}

Test(apply, row_equals_matrix_tree)
{
    check_row_equals_matrix(GY_FEATURES_TREE, "t:parts;s:ordinal,top=5");
}

Test(apply, row_equals_matrix_linear)
{
    check_row_equals_matrix(GY_FEATURES_LINEAR,
                            "t:parts,impute=median;s:onehot,top=6,impute=mode;f:clip=-100:2000,"
                            "impute=median;i:impute=3");
}

Test(apply, row_kinds)
{
    const char *names[] = {"x", "s", "b"};
    const enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_STRING, GY_TYPE_BOOL};
    const double x[] = {1, 2};
    const char *s[] = {"12", "true"};
    const int64_t b[] = {1, 0};
    struct gy_schema *sc = mk_schema(3, names, types);
    struct gy_colvec c[3] = {fvec(x, 2), svec(s, 2), ivec(GY_TYPE_BOOL, b, 2)};
    struct gy_feature_spec *sp = spec_of("s:onehot");
    struct gy_features *f;
    struct gy_feature_value v[3];
    float out[8];

    cr_assert_eq(gy_features_fit(sp, sc, NULL, GY_FEATURES_TREE, c, 2, NULL, &f), GY_OK);
    /* A number for a string input is matched as its shortest decimal: 12 -> "12". */
    v[0] = (struct gy_feature_value){.kind = GY_FV_NUM, .num = INFINITY};
    v[1] = (struct gy_feature_value){.kind = GY_FV_NUM, .num = 12};
    v[2] = (struct gy_feature_value){.kind = GY_FV_NUM, .num = 5};
    cr_assert_eq(gy_features_apply_row(f, v, out), GY_OK);
    cr_assert(isnan(out[0]), "infinity is missing");
    cr_assert_eq(out[1], 1.0f, "\"12\" is a top category: %s", gy_features_output_name(f, 1));
    cr_assert_eq(out[5], 1.0f, "nonzero is true");
    v[1] = (struct gy_feature_value){.kind = GY_FV_BOOL, .num = 1};
    cr_assert_eq(gy_features_apply_row(f, v, out), GY_OK);
    cr_assert_eq(out[2], 1.0f, "true -> \"true\"");
    v[0] = (struct gy_feature_value){.kind = GY_FV_STR, .str = "1", .len = 1};
    cr_assert_eq(gy_features_apply_row(f, v, out), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "input 'x' (float64) cannot take a string value"), "%s",
              gy_error_msg());
    v[0] = (struct gy_feature_value){.kind = (enum gy_feature_value_kind)9};
    cr_assert_eq(gy_features_apply_row(f, v, out), GY_E_INVALID);
    /* Long and non-UTF-8 values never crash; they land in <other>. */
    {
        char *big = gy_malloc(10000);
        memset(big, 'q', 10000);
        v[0] = (struct gy_feature_value){.kind = GY_FV_NULL};
        v[1] = (struct gy_feature_value){.kind = GY_FV_STR, .str = big, .len = 10000};
        cr_assert_eq(gy_features_apply_row(f, v, out), GY_OK);
        cr_assert_eq(out[3], 1.0f);
        v[1] = (struct gy_feature_value){.kind = GY_FV_STR, .str = "\xff\xfe", .len = 2};
        cr_assert_eq(gy_features_apply_row(f, v, out), GY_OK);
        cr_assert_eq(out[3], 1.0f);
        gy_free(big);
    }
    gy_features_free(f);
    gy_features_spec_free(sp);
    for (int k = 0; k < 3; k++)
        vec_free(&c[k]);
    gy_schema_free(sc);
}

Test(apply, missing_input_column)
{
    const char *names[] = {"x", "y"};
    const enum gy_type types[] = {GY_TYPE_FLOAT64, GY_TYPE_FLOAT64};
    const double x[] = {1, 2};
    struct gy_schema *sc = mk_schema(2, names, types), *s1 = mk_schema(1, names + 1, types);
    struct gy_colvec c[2] = {fvec(x, 2), fvec(x, 2)};
    struct gy_features *f;
    float out[4];
    size_t rows;
    cr_assert_eq(gy_features_fit(NULL, sc, NULL, GY_FEATURES_TREE, c, 2, NULL, &f), GY_OK);
    cr_assert_eq(gy_features_apply_cols(f, s1, c, 2, NULL, out, &rows), GY_E_SCHEMA);
    cr_assert(strstr(gy_error_msg(), "input column 'x' is missing"));
    gy_features_free(f);
    vec_free(&c[0]);
    vec_free(&c[1]);
    gy_schema_free(sc);
    gy_schema_free(s1);
}

/* ------------------------------------------------------------------ persistence */

static struct gy_features *fit_random(enum gy_features_mode mode, const char *flags,
                                      struct gy_schema **sc, struct gy_colvec c[6])
{
    struct rng r = {7};
    struct gy_feature_spec *sp = spec_of(flags);
    struct gy_features *f;
    uint8_t mask[NR];
    *sc = mk_schema(6, all_names, all_types);
    random_cols(c, &r);
    for (int k = 0; k < NR; k++)
        mask[k] = k < NR - 50;
    cr_assert_eq(gy_features_fit(sp, *sc, "label", mode, c, NR, mask, &f), GY_OK, "%s",
                 gy_error_msg());
    gy_features_spec_free(sp);
    return f;
}

Test(persist, round_trip_is_bit_exact)
{
    struct gy_schema *sc;
    struct gy_colvec c[6];
    struct gy_features *f = fit_random(GY_FEATURES_LINEAR, "t:parts;i:impute=median", &sc, c), *g;
    json_t *j, *j2, *p;
    struct gy_buf b;
    float *m1, *m2;
    size_t n = gy_features_n_outputs(f), rows;

    cr_assert_eq(gy_features_to_json(f, &j), GY_OK);
    gy_buf_init(&b, 1 << 24);
    cr_assert_eq(gy_json_dump(j, &b), GY_OK);
    cr_assert_eq(gy_json_parse(b.data, b.len, 32, "test", &p), GY_OK);
    cr_assert_eq(gy_features_from_json(p, &g), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_features_to_json(g, &j2), GY_OK);
    cr_assert(json_equal(j, j2));
    cr_assert_eq(gy_features_n_outputs(g), n);
    m1 = gy_malloc(NR * n * sizeof(float));
    m2 = gy_malloc(NR * n * sizeof(float));
    cr_assert_eq(gy_features_apply_cols(f, sc, c, NR, NULL, m1, &rows), GY_OK);
    cr_assert_eq(gy_features_apply_cols(g, sc, c, NR, NULL, m2, &rows), GY_OK);
    cr_assert(same_bits(m1, m2, NR * n), "a loaded preprocessing transforms identically");
    gy_free(m1);
    gy_free(m2);
    gy_buf_free(&b);
    json_decref(j);
    json_decref(j2);
    json_decref(p);
    gy_features_free(f);
    gy_features_free(g);
    for (int k = 0; k < 6; k++)
        vec_free(&c[k]);
    gy_schema_free(sc);
}

/* Sets (or, with @p val NULL, removes) the element at "a/b/0/c" in a copy of the saved state;
 * loading it must fail with @p want and a message holding @p msg. */
static void expect_reject(const json_t *good, const char *path, json_t *val, enum gy_status want,
                          const char *msg)
{
    json_t *j = json_deep_copy(good), *o = j;
    char buf[128], *toks[8], *save = NULL;
    size_t nt = 0;
    const char *key;
    struct gy_features *f = (void *)1;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *t = strtok_r(buf, "/", &save); t && nt < 8; t = strtok_r(NULL, "/", &save))
        toks[nt++] = t;
    for (size_t i = 0; i + 1 < nt; i++)
        o = json_is_array(o) ? json_array_get(o, (size_t)strtol(toks[i], NULL, 10))
                             : json_object_get(o, toks[i]);
    cr_assert_not_null(o, "%s", path);
    key = toks[nt - 1];
    if (json_is_array(o)) {
        if (val)
            json_array_set_new(o, (size_t)strtol(key, NULL, 10), val);
        else
            json_array_remove(o, (size_t)strtol(key, NULL, 10));
    } else if (val) {
        json_object_set_new(o, key, val);
    } else {
        json_object_del(o, key);
    }
    cr_assert_eq(gy_features_from_json(j, &f), want, "%s: %s", path, gy_error_msg());
    cr_assert_null(f);
    cr_assert(strstr(gy_error_msg(), msg), "%s: got '%s'", path, gy_error_msg());
    json_decref(j);
}

Test(persist, rejects_damaged_state)
{
    struct gy_schema *sc;
    struct gy_colvec c[6];
    struct gy_features *f = fit_random(GY_FEATURES_LINEAR, "t:parts;s:onehot,top=3", &sc, c);
    json_t *j;
    long fi, si, ti;
    char p[64];
    cr_assert_eq(gy_features_to_json(f, &j), GY_OK);
    fi = gy_features_input_find(f, "f");
    si = gy_features_input_find(f, "s");
    ti = gy_features_input_find(f, "t");

    expect_reject(j, "version", json_integer(2), GY_E_UNSUPPORTED, "version 2");
    expect_reject(j, "version", json_string("1"), GY_E_CORRUPT, "\"version\" must be an integer");
    expect_reject(j, "mode", json_string("forest"), GY_E_CORRUPT,
                  "\"mode\" must be tree or linear");
    expect_reject(j, "extra", json_true(), GY_E_CORRUPT, "unknown key \"extra\"");
    expect_reject(j, "inputs", json_array(), GY_E_CORRUPT, "\"inputs\" must be an array of 1");
    expect_reject(j, "outputs/0", json_string("wrong"), GY_E_CORRUPT, "outputs[0]");
    expect_reject(j, "outputs/0", NULL, GY_E_CORRUPT, "count does not match");
    snprintf(p, sizeof p, "inputs/%ld/std", fi);
    expect_reject(j, p, json_real(0), GY_E_CORRUPT, "\"std\" must be positive");
    expect_reject(j, p, json_string("1"), GY_E_CORRUPT, "\"std\" must be a finite number");
    snprintf(p, sizeof p, "inputs/%ld/mean", fi);
    expect_reject(j, p, NULL, GY_E_CORRUPT, "\"mean\" must be a finite number");
    snprintf(p, sizeof p, "inputs/%ld/count", fi);
    expect_reject(j, p, json_integer(-1), GY_E_CORRUPT, "\"count\" must be a non-negative integer");
    snprintf(p, sizeof p, "inputs/%ld/clip", fi);
    expect_reject(j, p, json_pack("[ii]", 5, 1), GY_E_CORRUPT, "lower bound is above");
    expect_reject(j, p, json_pack("[nn]"), GY_E_CORRUPT, "\"clip\" must be [LO, HI]");
    snprintf(p, sizeof p, "inputs/%ld/fill", fi);
    expect_reject(j, p, NULL, GY_E_CORRUPT, "\"fill\" must be a finite number");
    snprintf(p, sizeof p, "inputs/%ld/type", fi);
    expect_reject(j, p, json_string("double"), GY_E_CORRUPT, "\"type\" must be a column type");
    expect_reject(j, p, json_string("string"), GY_E_CORRUPT,
                  "\"encode\" must be onehot or ordinal");
    snprintf(p, sizeof p, "inputs/%ld/encode", fi);
    expect_reject(j, p, json_string("onehot"), GY_E_CORRUPT, "must be passthrough or standardize");
    snprintf(p, sizeof p, "inputs/%ld/name", fi);
    expect_reject(j, p, json_string("s"), GY_E_CORRUPT, "duplicate input name");
    expect_reject(j, p, json_string(""), GY_E_CORRUPT, "\"name\" must be a column name");
    snprintf(p, sizeof p, "inputs/%ld/top", si);
    expect_reject(j, p, json_integer(2), GY_E_CORRUPT, "more \"categories\" than \"top\"");
    expect_reject(j, p, json_integer(0), GY_E_CORRUPT, "\"top\" must be an integer from 1");
    snprintf(p, sizeof p, "inputs/%ld/categories/1/value", si);
    expect_reject(j, p, json_string("alpha"), GY_E_CORRUPT, "appears twice");
    expect_reject(j, p, json_integer(3), GY_E_CORRUPT, "must be a string");
    snprintf(p, sizeof p, "inputs/%ld/other/0", si);
    expect_reject(j, p, json_string("alpha"), GY_E_CORRUPT, "appears twice");
    snprintf(p, sizeof p, "inputs/%ld/other_complete", si);
    expect_reject(j, p, json_false(), GY_E_CORRUPT,
                  "\"other\" values with \"other_complete\" false");
    snprintf(p, sizeof p, "inputs/%ld/impute", si);
    expect_reject(j, p, json_string("mean"), GY_E_CORRUPT, "\"impute\" must be none or mode");
    snprintf(p, sizeof p, "inputs/%ld/parts/1/impute", ti);
    expect_reject(j, p, json_string("often"), GY_E_CORRUPT, "parts[1]");
    snprintf(p, sizeof p, "inputs/%ld/parts/1", ti);
    expect_reject(j, p, NULL, GY_E_CORRUPT, "\"parts\" must be an array of two objects");
    json_decref(j);
    gy_features_free(f);
    for (int k = 0; k < 6; k++)
        vec_free(&c[k]);
    gy_schema_free(sc);
}

Test(persist, identity)
{
    const char *names[] = {"f0", "f1", "f2"};
    const char *dup[] = {"a", "a"};
    struct gy_features *f;
    struct gy_feature_value v[3] = {
        {.kind = GY_FV_NUM, .num = 1.25}, {.kind = GY_FV_NULL}, {.kind = GY_FV_NUM, .num = -3}};
    float out[3];
    cr_assert_eq(gy_features_identity(names, 3, &f), GY_OK);
    cr_assert_eq(gy_features_n_outputs(f), 3);
    cr_assert_str_eq(gy_features_output_name(f, 2), "f2");
    cr_assert_eq(gy_features_apply_row(f, v, out), GY_OK);
    cr_assert_eq(out[0], 1.25f);
    cr_assert(isnan(out[1]));
    cr_assert_eq(out[2], -3.0f);
    gy_features_free(f);
    cr_assert_eq(gy_features_identity(dup, 2, &f), GY_E_INVALID);
    cr_assert_null(f);
}
