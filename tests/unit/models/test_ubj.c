/* SPDX-License-Identifier: MIT */
/*
 * test_ubj.c - the XGBoost UBJSON importer (src/models/xgboost_ubj.c): models trained here
 * with libxgboost and saved in both formats import to identical ensembles with the same
 * feature names; every UBJSON value type decodes to the JSON it stands for; hand-made models
 * encoded to UBJSON follow the JSON importer's rules (categorical splits refused); and
 * malformed input - truncated at every length, huge or negative counts, wrong markers, deep
 * nesting, bad UTF-8, trailing bytes - fails with GY_E_INVALID naming the byte offset. Also
 * writes (GY_WRITE_FUZZ_SEEDS=1) and checks the fuzz_ubj seed corpus.
 */
#include <dirent.h>
#include <stdlib.h>
#include <xgboost/c_api.h>

#include "fixture.h"

#include "models/engine_int.h"
#include "models/xgboost_int.h"

#define XGB(call) cr_assert_eq((call), 0, "%s: %s", #call, XGBGetLastError())
#define CORPUS "tests/fuzz/corpus/fuzz_ubj"

/* ------------------------------------------------------------------ a UBJSON encoder */

static void put_be(struct gy_buf *b, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        cr_assert_eq(gy_buf_putc(b, (char)(uint8_t)(v >> (8 * i))), GY_OK);
}

static void put_len(struct gy_buf *b, size_t n)
{
    gy_buf_putc(b, 'L');
    put_be(b, n, 8);
}

/* Encodes @p j as XGBoost 1.7 does: typed arrays for numbers, counted generic arrays. */
static void ubj_encode(const json_t *j, struct gy_buf *b)
{
    size_t i;
    const char *k;
    json_t *v;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        gy_buf_putc(b, '{');
        json_object_foreach((json_t *)j, k, v)
        {
            put_len(b, strlen(k));
            gy_buf_append(b, k, strlen(k));
            ubj_encode(v, b);
        }
        gy_buf_putc(b, '}');
        break;
    case JSON_ARRAY: {
        int ints = json_array_size(j) > 0, reals = json_array_size(j) > 0;
        json_array_foreach(j, i, v)
        {
            ints &= json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
                    json_integer_value(v) <= INT32_MAX;
            reals &= json_is_real(v);
        }
        if (ints || reals) {
            gy_buf_append(b, ints ? "[$l#" : "[$d#", 4);
            put_len(b, json_array_size(j));
            json_array_foreach(j, i, v)
            {
                if (ints) {
                    put_be(b, (uint32_t)(int32_t)json_integer_value(v), 4);
                } else {
                    float f = (float)json_real_value(v);
                    uint32_t u;
                    memcpy(&u, &f, 4);
                    put_be(b, u, 4);
                }
            }
        } else {
            gy_buf_append(b, "[#", 2);
            put_len(b, json_array_size(j));
            json_array_foreach(j, i, v) ubj_encode(v, b);
        }
        break;
    }
    case JSON_STRING:
        gy_buf_putc(b, 'S');
        put_len(b, json_string_length(j));
        gy_buf_append(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        gy_buf_putc(b, 'L');
        put_be(b, (uint64_t)json_integer_value(j), 8);
        break;
    case JSON_REAL: {
        double d = json_real_value(j);
        uint64_t u;
        memcpy(&u, &d, 8);
        gy_buf_putc(b, 'D');
        put_be(b, u, 8);
        break;
    }
    case JSON_TRUE:
        gy_buf_putc(b, 'T');
        break;
    case JSON_FALSE:
        gy_buf_putc(b, 'F');
        break;
    default:
        gy_buf_putc(b, 'Z');
    }
}

static void encode_text(const char *text, struct gy_buf *b)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    gy_buf_init(b, 1 << 24);
    ubj_encode(j, b);
    json_decref(j);
}

/* ------------------------------------------------------------------ comparing ensembles */

static void trees_equal(const struct gy_trees *a, const struct gy_trees *b, const char *what)
{
    cr_assert_str_eq(a->objective, b->objective, "%s", what);
    cr_assert_eq(a->n_features, b->n_features, "%s", what);
    cr_assert_eq(a->n_groups, b->n_groups, "%s", what);
    cr_assert_eq(a->num_parallel_tree, b->num_parallel_tree, "%s", what);
    cr_assert_eq(a->has_weights, b->has_weights, "%s", what);
    cr_assert(memcmp(&a->base_score, &b->base_score, 4) == 0, "%s", what);
    cr_assert(memcmp(&a->base_margin, &b->base_margin, 4) == 0, "%s", what);
    cr_assert_eq(a->n_trees, b->n_trees, "%s", what);
    cr_assert_eq(a->n_pool, b->n_pool, "%s", what);
    for (uint32_t i = 0; i < a->n_trees; i++) {
        cr_assert_eq(a->trees[i].group, b->trees[i].group, "%s", what);
        cr_assert(memcmp(&a->trees[i].weight, &b->trees[i].weight, 4) == 0, "%s", what);
        cr_assert_eq(a->trees[i].n_nodes, b->trees[i].n_nodes, "%s", what);
    }
    for (size_t k = 0; k < a->n_pool; k++) {
        const struct gy_tree_node *x = &a->pool[k], *y = &b->pool[k];
        cr_assert(x->left == y->left && x->right == y->right && x->feature == y->feature &&
                      x->default_left == y->default_left && memcmp(&x->value, &y->value, 4) == 0,
                  "%s: node %zu differs", what, k);
    }
}

/* ------------------------------------------------------------------ models from libxgboost */

struct rng {
    uint64_t s;
};

static float runif(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (float)((double)((z ^ (z >> 31)) >> 11) * 0x1p-53);
}

enum { NF = 5, NROWS = 400 };

/* Trains a small booster and returns it (free with XGBoosterFree). */
static BoosterHandle train(const char *const (*params)[2], int rounds, int classes)
{
    struct rng r = {42};
    static float x[NROWS * NF], y[NROWS];
    static const char *names[NF] = {"amount", "age", "score", "dist km", "n_tx"};
    DMatrixHandle d;
    BoosterHandle h;
    for (int i = 0; i < NROWS; i++) {
        float s = 0;
        for (int j = 0; j < NF; j++) {
            float v = (runif(&r) - 0.5f) * 4;
            x[i * NF + j] = runif(&r) < 0.1f ? NAN : v;
            s += (j % 2 ? -1.0f : 1.0f) * (isnan(x[i * NF + j]) ? 0 : v);
        }
        y[i] = classes ? (float)((int)(fabsf(s) * 2) % classes) : (s > 0 ? 1.0f : 0.0f);
    }
    XGB(XGDMatrixCreateFromMat(x, NROWS, NF, NAN, &d));
    XGB(XGDMatrixSetFloatInfo(d, "label", y, NROWS));
    XGB(XGBoosterCreate(&d, 1, &h));
    XGB(XGBoosterSetParam(h, "nthread", "1"));
    XGB(XGBoosterSetParam(h, "verbosity", "0"));
    XGB(XGBoosterSetParam(h, "seed", "3"));
    for (int i = 0; params[i][0]; i++)
        XGB(XGBoosterSetParam(h, params[i][0], params[i][1]));
    for (int it = 0; it < rounds; it++)
        XGB(XGBoosterUpdateOneIter(h, it, d));
    XGB(XGBoosterSetStrFeatureInfo(h, "feature_name", names, NF));
    XGB(XGDMatrixFree(d));
    return h;
}

static const char *const p_binary[][2] = {
    {"objective", "binary:logistic"}, {"max_depth", "3"}, {"base_score", "0.3"}, {NULL, NULL}};
static const char *const p_multi[][2] = {
    {"objective", "multi:softprob"}, {"num_class", "3"}, {"max_depth", "2"}, {NULL, NULL}};
static const char *const p_dart[][2] = {{"booster", "dart"},
                                        {"objective", "reg:squarederror"},
                                        {"rate_drop", "0.5"},
                                        {"max_depth", "2"},
                                        {NULL, NULL}};
static const char *const p_forest[][2] = {{"objective", "count:poisson"},
                                          {"num_parallel_tree", "3"},
                                          {"subsample", "0.8"},
                                          {"max_depth", "4"},
                                          {NULL, NULL}};

static const struct {
    const char *name;
    const char *const (*params)[2];
    int rounds, classes;
} cases[] = {{"binary", p_binary, 3, 0},
             {"multi", p_multi, 2, 3},
             {"dart", p_dart, 4, 0},
             {"forest", p_forest, 2, 0}};

static void save(BoosterHandle h, const char *fmt, const char **data, bst_ulong *len)
{
    char cfg[64];
    snprintf(cfg, sizeof cfg, "{\"format\": \"%s\"}", fmt);
    XGB(XGBoosterSaveModelToBuffer(h, cfg, len, data));
}

Test(ubj, xgboost_formats_import_alike)
{
    for (size_t c = 0; c < GY_ARRAY_LEN(cases); c++) {
        BoosterHandle h = train(cases[c].params, cases[c].rounds, cases[c].classes);
        const char *js, *ub;
        bst_ulong jl, ul;
        char *jcopy;
        struct gy_trees *a, *b, *auto_;
        json_t *na, *nb;
        save(h, "json", &js, &jl);
        jcopy = gy_malloc(jl);
        memcpy(jcopy, js, jl);
        save(h, "ubj", &ub, &ul);
        cr_assert(gy__model_xgboost_is_ubj(ub, ul), "%s: ubj detected", cases[c].name);
        cr_assert(!gy__model_xgboost_is_ubj(jcopy, jl), "%s: json detected", cases[c].name);
        cr_assert_eq(gy_model_trees_from_xgboost_json(jcopy, jl, &a), GY_OK, "%s: %s",
                     cases[c].name, gy_error_msg());
        cr_assert_eq(gy_model_trees_from_xgboost_ubj(ub, ul, &b), GY_OK, "%s: %s", cases[c].name,
                     gy_error_msg());
        cr_assert_eq(gy_model_trees_from_xgboost(ub, ul, &auto_), GY_OK, "%s", gy_error_msg());
        trees_equal(a, b, cases[c].name);
        trees_equal(a, auto_, cases[c].name);
        if (strcmp(cases[c].name, "dart") == 0)
            cr_assert(b->has_weights, "dart weights read from UBJ");
        if (strcmp(cases[c].name, "forest") == 0)
            cr_assert_eq(b->num_parallel_tree, 3);
        cr_assert_eq(gy_model_xgboost_feature_names(jcopy, jl, &na), GY_OK, "%s", gy_error_msg());
        cr_assert_eq(gy_model_xgboost_feature_names(ub, ul, &nb), GY_OK, "%s", gy_error_msg());
        cr_assert(json_equal(na, nb), "%s: feature names", cases[c].name);
        cr_assert_eq(json_array_size(na), NF);
        cr_assert_str_eq(json_string_value(json_array_get(nb, 3)), "dist km");
        json_decref(na);
        json_decref(nb);
        gy_model_trees_free(a);
        gy_model_trees_free(b);
        gy_model_trees_free(auto_);
        gy_free(jcopy);
        XGBoosterFree(h);
    }
}

Test(ubj, no_feature_names_is_an_empty_list)
{
    static const char doc[] = "{\"learner\": {\"feature_names\": []}}";
    struct gy_buf b;
    json_t *n;
    encode_text(doc, &b);
    cr_assert_eq(gy_model_xgboost_feature_names(b.data, b.len, &n), GY_OK, "%s", gy_error_msg());
    cr_assert(json_is_array(n) && json_array_size(n) == 0);
    json_decref(n);
    gy_buf_free(&b);
    cr_assert_eq(gy_model_xgboost_feature_names("{\"learner\": {}}", 15, &n), GY_OK);
    cr_assert_eq(json_array_size(n), 0);
    json_decref(n);
    {
        static const char bad_names[] = "{\"learner\": {\"feature_names\": [3]}}";
        cr_assert_eq(gy_model_xgboost_feature_names(bad_names, strlen(bad_names), &n),
                     GY_E_INVALID);
    }
}

/* ------------------------------------------------------------------ hand-made models */

/* A two-tree model (the second a lone leaf); %s is replaced by extra tree-0 members. */
#define MODEL_FMT                                                                                  \
    "{\"learner\": {\"learner_model_param\": {\"base_score\": \"5E-1\", \"num_class\": \"0\", "    \
    "\"num_feature\": \"3\", \"num_target\": \"1\"}, \"objective\": {\"name\": "                   \
    "\"binary:logistic\"}, \"feature_names\": [\"a\", \"b\", \"c\"], \"gradient_booster\": "       \
    "{\"name\": \"gbtree\", \"model\": {\"gbtree_model_param\": {\"num_trees\": \"2\", "           \
    "\"num_parallel_tree\": \"1\"}, \"tree_info\": [0, 0], \"trees\": [{\"tree_param\": "          \
    "{\"num_nodes\": \"3\"}, \"left_children\": [1, -1, -1], \"right_children\": [2, -1, -1], "    \
    "\"split_indices\": [2, 0, 0], \"split_conditions\": [0.25, -0.5, 0.75], \"default_left\": "   \
    "[1, 0, 0], \"loss_changes\": [1.5, 0.0, 0.0], \"sum_hessian\": [10.0, 4.0, 6.0] %s}, "        \
    "{\"tree_param\": {\"num_nodes\": \"1\"}, \"left_children\": [-1], \"right_children\": "       \
    "[-1], \"split_indices\": [0], \"split_conditions\": [0.125], \"default_left\": [0]}]}}}, "    \
    "\"version\": [1, 7, 4]}"

Test(ubj, hand_made_model_follows_the_json_rules)
{
    char text[4096];
    struct gy_buf b;
    struct gy_trees *tj, *tu;
    snprintf(text, sizeof text, MODEL_FMT, ", \"split_type\": [0, 0, 0]");
    encode_text(text, &b);
    cr_assert_eq(gy_model_trees_from_xgboost_json(text, strlen(text), &tj), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(gy_model_trees_from_xgboost_ubj(b.data, b.len, &tu), GY_OK, "%s", gy_error_msg());
    trees_equal(tj, tu, "hand-made");
    cr_assert_eq(tu->trees[0].nodes[0].feature, 2);
    cr_assert_eq(tu->trees[0].nodes[0].default_left, 1);
    cr_assert_eq(tu->trees[0].nodes[2].value, 0.75f);
    cr_assert_eq(tu->trees[1].nodes[0].value, 0.125f);
    gy_model_trees_free(tj);
    gy_model_trees_free(tu);
    gy_buf_free(&b);
}

Test(ubj, categorical_splits_are_refused)
{
    char text[4096];
    struct gy_buf b;
    struct gy_trees *t = (struct gy_trees *)1;
    snprintf(text, sizeof text, MODEL_FMT,
             ", \"split_type\": [1, 0, 0], \"categories_nodes\": [0], \"categories\": [1, 3], "
             "\"categories_segments\": [0], \"categories_sizes\": [2]");
    encode_text(text, &b);
    cr_assert_eq(gy_model_trees_from_xgboost_ubj(b.data, b.len, &t), GY_E_UNSUPPORTED);
    cr_assert_null(t);
    cr_assert(strstr(gy_error_msg(), "categorical") != NULL, "%s", gy_error_msg());
    gy_buf_free(&b);
}

Test(ubj, statistics_are_skipped_not_needed)
{
    /* Malformed statistics arrays would be rejected by nobody: they are skipped entirely. */
    char text[4096];
    struct gy_buf b;
    json_t *j;
    snprintf(text, sizeof text, MODEL_FMT, ", \"parents\": [2147483647, 0, 0]");
    encode_text(text, &b);
    cr_assert_eq(gy__model_ubj_parse(b.data, b.len, 1, &j), GY_OK, "%s", gy_error_msg());
    {
        json_t *tree = json_array_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                                "model"),
                "trees"),
            0);
        cr_assert_not_null(json_object_get(tree, "left_children"));
        cr_assert_null(json_object_get(tree, "loss_changes"));
        cr_assert_null(json_object_get(tree, "sum_hessian"));
        cr_assert_null(json_object_get(tree, "parents"));
    }
    json_decref(j);
    cr_assert_eq(gy__model_ubj_parse(b.data, b.len, 0, &j), GY_OK);
    {
        char *dump = json_dumps(j, 0);
        cr_assert_not_null(strstr(dump, "sum_hessian"));
        gy_free(dump);
    }
    json_decref(j);
    gy_buf_free(&b);
}

/* ------------------------------------------------------------------ value decoding */

static void decodes_to(const void *bytes, size_t n, const char *want_json)
{
    json_t *j = NULL, *want = json_loads(want_json, JSON_DECODE_ANY, NULL);
    char *got;
    cr_assert_not_null(want);
    cr_assert_eq(gy__model_ubj_parse(bytes, n, 0, &j), GY_OK, "%s: %s", want_json, gy_error_msg());
    got = json_dumps(j, JSON_ENCODE_ANY);
    cr_assert(json_equal(j, want), "got %s, want %s", got, want_json);
    gy_free(got);
    json_decref(j);
    json_decref(want);
}

#define DECODES(lit, want) decodes_to(lit, sizeof(lit) - 1, want)

Test(ubj, every_value_type)
{
    DECODES("i\xff", "-1");
    DECODES("U\xff", "255");
    DECODES("I\x80\x00", "-32768");
    DECODES("l\x7f\xff\xff\xff", "2147483647");
    DECODES("L\xff\xff\xff\xff\xff\xff\xff\xfe", "-2");
    DECODES("d\x3f\xc0\x00\x00", "1.5");
    DECODES("D\xbf\xf8\x00\x00\x00\x00\x00\x00", "-1.5");
    DECODES("d\x7f\xc0\x00\x00", "null"); /* NaN */
    DECODES("d\x7f\x80\x00\x00", "null"); /* +inf */
    DECODES("T", "true");
    DECODES("F", "false");
    DECODES("Z", "null");
    DECODES("Ca", "\"a\"");
    DECODES("SU\x03h\xc3\xa9", "\"h\\u00e9\"");
    DECODES("NNSi\x00", "\"\"");
    DECODES("[U\x01SU\x01x[]]", "[1, \"x\", []]");
    DECODES("[#U\x02i\x01Z", "[1, null]");
    DECODES("[$U#i\x03\x01\x02\x03", "[1, 2, 3]");
    DECODES("[$I#i\x02\xff\xff\x00\x10", "[-1, 16]");
    DECODES("[$d#i\x01\xc0\x00\x00\x00", "[-2.0]");
    DECODES("[$D#i\x00", "[]");
    DECODES("{i\x01kU\x05U\x02k2{}}", "{\"k\": 5, \"k2\": {}}");
    DECODES("{#U\x01U\x01zT", "{\"z\": true}");
    DECODES("{}N", "{}");
}

struct bad {
    const char *bytes;
    size_t n;
    const char *why; /* a substring of the message */
};

#define BAD(lit, why)                                                                              \
    {                                                                                              \
        lit, sizeof(lit) - 1, why                                                                  \
    }

Test(ubj, malformed_input_names_the_byte)
{
    static const struct bad bads[] = {
        BAD("", "byte 0: input ends where a value was expected"),
        BAD("X", "byte 0: unknown value marker"),
        BAD("{i\x01kU", "byte 4: input ends inside a number"),
        BAD("{i\x01k", "byte 4: input ends where a value was expected"),
        BAD("{d\x01kU\x01}", "byte 1: a length must be an integer"),
        BAD("{i\xffkU\x01}", "byte 1: negative length"),
        BAD("{i\x05kU\x01}", "byte 1: string length runs past the end"),
        BAD("{i\x00U\x01}", "byte 1: object key is empty"),
        BAD("{i\x01\x00U\x01}", "byte 1: object key is empty or holds a NUL byte"),
        BAD("{i\x01\xffU\x01}", "byte 1: object key is not UTF-8"),
        BAD("SU\x02\xc3\x28", "byte 0: string is not UTF-8"),
        BAD("[$d#L\x00\x00\x01\x00\x00\x00\x00\x00", "byte 0: typed array count runs past"),
        BAD("[$d#L\x80\x00\x00\x00\x00\x00\x00\x00", "byte 4: negative length"),
        BAD("[#L\x00\x00\x00\x00\xff\xff\xff\xff", "byte 0: array count runs past"),
        BAD("{#L\x00\x00\x00\x00\x00\x00\x10\x00", "byte 0: object count runs past"),
        BAD("[$S#U\x01SU\x01x", "byte 2: only numeric element types"),
        BAD("[$U\x01", "byte 3: a typed container needs a count"),
        BAD("{$U#U\x01", "byte 0: typed objects are not supported"),
        BAD("[U\x01", "byte 0: array is not closed"),
        BAD("{i\x01kU\x01", "byte 0: object is not closed"),
        BAD("HU\x011", "byte 0: high-precision numbers"),
        BAD("ZZ", "byte 1: trailing data"),
        BAD("[#", "byte 2: input ends where a length was expected"),
        BAD("[#I\x01", "byte 2: input ends inside a length"),
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(bads); i++) {
        json_t *j = (json_t *)1;
        enum gy_status rc = gy__model_ubj_parse(bads[i].bytes, bads[i].n, 0, &j);
        cr_assert_eq(rc, GY_E_INVALID, "case %zu (%s): status %d", i, bads[i].why, rc);
        cr_assert_null(j);
        cr_assert(strstr(gy_error_msg(), bads[i].why) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  gy_error_msg(), bads[i].why);
    }
}

Test(ubj, nesting_is_limited)
{
    char deep[80];
    json_t *j;
    memset(deep, '[', 40);
    memset(deep + 40, ']', 40);
    cr_assert_eq(gy__model_ubj_parse(deep, 80, 0, &j), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "byte 32: nested deeper than 32 levels") != NULL, "%s",
              gy_error_msg());
    cr_assert_eq(gy__model_ubj_parse(deep + 8, 64, 0, &j), GY_OK, "32 levels are fine: %s",
                 gy_error_msg());
    json_decref(j);
}

Test(ubj, every_truncation_of_a_model_fails_cleanly)
{
    BoosterHandle h = train(p_multi, 2, 3);
    const char *ub;
    bst_ulong ul;
    int64_t before = gy_alloc_bytes();
    save(h, "ubj", &ub, &ul);
    for (bst_ulong n = 0; n < ul; n++) {
        struct gy_trees *t = (struct gy_trees *)1;
        enum gy_status rc = gy_model_trees_from_xgboost_ubj(ub, n, &t);
        cr_assert_eq(rc, GY_E_INVALID, "%llu of %llu bytes: status %d", (unsigned long long)n,
                     (unsigned long long)ul, rc);
        cr_assert_null(t);
        cr_assert(strstr(gy_error_msg(), "byte ") != NULL, "%s", gy_error_msg());
    }
    cr_assert_eq(gy_alloc_bytes(), before, "nothing leaks on the error paths");
    XGBoosterFree(h);
}

Test(ubj, wrong_types_in_a_model)
{
    /* Well-formed UBJSON, wrong model: the walker's errors name the field. */
    char text[4096];
    struct gy_buf b;
    struct gy_trees *t;
    snprintf(text, sizeof text, MODEL_FMT, "");
    {
        char *p = strstr(text, "\"split_indices\": [2, 0, 0]");
        memcpy(p, "\"split_indices\": \"2,0,0\"", 24);
        memmove(p + 24, p + 26, strlen(p + 26) + 1);
    }
    encode_text(text, &b);
    cr_assert_eq(gy_model_trees_from_xgboost_ubj(b.data, b.len, &t), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "trees[0]") != NULL, "%s", gy_error_msg());
    gy_buf_free(&b);
    encode_text("[1, 2]", &b);
    cr_assert_eq(gy_model_trees_from_xgboost_ubj(b.data, b.len, &t), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "learner") != NULL, "%s", gy_error_msg());
    gy_buf_free(&b);
}

/* ------------------------------------------------------------------ fuzz seeds */

Test(ubj, fuzz_seeds)
{
    const char *names[] = {"seed-binary.ubj", "seed-multi.ubj", "seed-dart.ubj", "seed-forest.ubj"};
    int n = 0;
    DIR *d;
    struct dirent *e;
    if (getenv("GY_WRITE_FUZZ_SEEDS")) {
        for (size_t c = 0; c < GY_ARRAY_LEN(cases); c++) {
            BoosterHandle h = train(cases[c].params, cases[c].rounds, cases[c].classes);
            const char *ub;
            bst_ulong ul;
            char path[256];
            save(h, "ubj", &ub, &ul);
            snprintf(path, sizeof path, "%s/%s", CORPUS, names[c]);
            cr_assert_eq(gy_file_write_atomic(path, ub, ul), GY_OK, "%s", gy_error_msg());
            XGBoosterFree(h);
        }
    }
    d = opendir(CORPUS);
    cr_assert_not_null(d, "run from the repository root");
    while ((e = readdir(d)) != NULL) {
        char path[512];
        struct gy_buf b;
        struct gy_trees *t;
        if (strncmp(e->d_name, "seed-", 5) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", CORPUS, e->d_name);
        gy_buf_init(&b, 1 << 24);
        cr_assert_eq(gy_file_read(path, &b), GY_OK);
        cr_assert_eq(gy_model_trees_from_xgboost_ubj(b.data, b.len, &t), GY_OK, "%s: %s", path,
                     gy_error_msg());
        gy_model_trees_free(t);
        gy_buf_free(&b);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 4);
}

/* ------------------------------------------------------------------ JSON's non-finite tokens */

/* Replaces the first @p from in @p text (of capacity @p cap) with @p to. */
static void subst(char *text, size_t cap, const char *from, const char *to)
{
    char *p = strstr(text, from);
    size_t fl = strlen(from), tl = strlen(to);
    cr_assert_not_null(p, "%s", from);
    cr_assert_lt(strlen(text) - fl + tl, cap);
    memmove(p + tl, p + fl, strlen(p + fl) + 1);
    memcpy(p, to, tl);
}

Test(ubj, json_nonfinite_tokens_read_as_null)
{
    char text[4096];
    struct gy_trees *t;
    /* XGBoost writes NaN for a categorical split's condition: the refusal must still say so. */
    snprintf(text, sizeof text, MODEL_FMT,
             ", \"split_type\": [1, 0, 0], \"categories_nodes\": [0], \"categories\": [1], "
             "\"categories_segments\": [0], \"categories_sizes\": [1]");
    subst(text, sizeof text, "[0.25,", "[NaN,");
    cr_assert_eq(gy_model_trees_from_xgboost_json(text, strlen(text), &t), GY_E_UNSUPPORTED, "%s",
                 gy_error_msg());
    cr_assert(strstr(gy_error_msg(), "categorical") != NULL, "%s", gy_error_msg());
    /* In statistics nobody reads, Infinity and -Infinity are harmless. */
    snprintf(text, sizeof text, MODEL_FMT, ", \"split_type\": [0, 0, 0]");
    subst(text, sizeof text, "[1.5, 0.0, 0.0]", "[Infinity, -Infinity, NaN]");
    cr_assert_eq(gy_model_trees_from_xgboost_json(text, strlen(text), &t), GY_OK, "%s",
                 gy_error_msg());
    gy_model_trees_free(t);
    /* In a threshold, NaN is an error naming the node; inside a string it is just text. */
    snprintf(text, sizeof text, MODEL_FMT, ", \"note\": \"NaN \\\" Infinity\"");
    subst(text, sizeof text, "[0.25,", "[NaN,");
    cr_assert_eq(gy_model_trees_from_xgboost_json(text, strlen(text), &t), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "trees[0] node 0: split_conditions") != NULL, "%s",
              gy_error_msg());
}
