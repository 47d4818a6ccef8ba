/* SPDX-License-Identifier: MIT */
/*
 * test_xgboost.c - the reference evaluator against XGBoost 1.7 itself (libxgboost's C API):
 * small boosters of every supported kind are trained here, saved as JSON, imported with
 * gy_model_trees_from_xgboost_json, and their margins and outputs compared bit for bit with
 * XGBoost's own predictions (DMatrix and in-place) on rows with 15% NaN and cells set exactly
 * to split thresholds. Also the importer's refusals: categorical splits, gblinear, and every
 * malformed field.
 */
#include <stdlib.h>
#include <xgboost/c_api.h>

#include "fixture.h"

#define XGB(call) cr_assert_eq((call), 0, "%s: %s", #call, XGBGetLastError())

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

static float runif(struct rng *r)
{
    return (float)((double)(rnext(r) >> 11) * 0x1p-53);
}

enum { NF = 6, NTRAIN = 600, NTEST = 1500 };

/* Random features (15% NaN) and a label of the requested kind. */
static void make_data(struct rng *r, float *x, float *y, size_t n, const char *kind)
{
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int j = 0; j < NF; j++) {
            float v = (runif(r) - 0.5f) * 4.0f;
            if (j == 5)
                v = (float)(rnext(r) % 7); /* a low-cardinality column */
            x[i * NF + j] = runif(r) < 0.15f ? NAN : v;
            if (!isnan(x[i * NF + j]))
                s += v * (float)(j % 3 + 1) * (j % 2 ? -1.0f : 1.0f);
        }
        s += (runif(r) - 0.5f) * 2.0f;
        if (strcmp(kind, "binary") == 0)
            y[i] = s > 0.3f ? 1.0f : 0.0f;
        else if (strcmp(kind, "multi") == 0)
            y[i] = s < -1.0f ? 0.0f : s < 1.0f ? 1.0f : 2.0f;
        else if (strcmp(kind, "count") == 0)
            y[i] = floorf(expf(s * 0.3f));
        else
            y[i] = s;
    }
}

/* Overwrites about 15% of the test cells with a split threshold of their feature. */
static void plant_thresholds(struct rng *r, const struct gy_trees *t, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < NF; j++) {
            const struct gy_tree *tr;
            const struct gy_tree_node *nd;
            if (runif(r) >= 0.15f || t->n_trees == 0)
                continue;
            tr = &t->trees[rnext(r) % t->n_trees];
            nd = &tr->nodes[rnext(r) % tr->n_nodes];
            if (nd->left >= 0)
                x[i * NF + nd->feature] = nd->value;
        }
    }
}

static size_t count_on_threshold(const struct gy_trees *t, const float *x, size_t n)
{
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < t->n_trees; k++)
            for (uint32_t m = 0; m < t->trees[k].n_nodes; m++) {
                const struct gy_tree_node *nd = &t->trees[k].nodes[m];
                if (nd->left >= 0 && x[i * NF + nd->feature] == nd->value)
                    hits++;
            }
    return hits;
}

struct model_case {
    const char *name;
    const char *kind;
    int rounds;
    const char *params[12][2];
};

static void predict_dmatrix(BoosterHandle h, DMatrixHandle d, int type, const float **out,
                            bst_ulong *len)
{
    char cfg[160];
    const bst_ulong *shape;
    bst_ulong dim;
    snprintf(cfg, sizeof cfg,
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false}",
             type);
    XGB(XGBoosterPredictFromDMatrix(h, d, cfg, &shape, &dim, out));
    *len = 1;
    for (bst_ulong i = 0; i < dim; i++)
        *len *= shape[i];
}

static void predict_inplace(BoosterHandle h, const float *x, size_t n, int type, const float **out,
                            bst_ulong *len)
{
    char arr[200], cfg[200];
    const bst_ulong *shape;
    bst_ulong dim;
    snprintf(arr, sizeof arr,
             "{\"data\": [%llu, true], \"shape\": [%zu, %d], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long long)(uintptr_t)x, n, NF);
    snprintf(cfg, sizeof cfg,
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}",
             type);
    XGB(XGBoosterPredictFromDense(h, arr, cfg, NULL, &shape, &dim, out));
    *len = 1;
    for (bst_ulong i = 0; i < dim; i++)
        *len *= shape[i];
}

static void check_model(const struct model_case *mc, uint64_t seed)
{
    struct rng r = {seed};
    float *xtr = gy_malloc(NTRAIN * NF * sizeof(float)), *ytr = gy_malloc(NTRAIN * sizeof(float));
    float *xte = gy_malloc(NTEST * NF * sizeof(float)), *yte = gy_malloc(NTEST * sizeof(float));
    DMatrixHandle dtr, dte;
    BoosterHandle h;
    bst_ulong jlen, n;
    const char *json;
    const float *pred;
    struct gy_trees *t;
    float *m, *o;
    size_t ng, no;

    make_data(&r, xtr, ytr, NTRAIN, mc->kind);
    make_data(&r, xte, yte, NTEST, mc->kind);
    XGB(XGDMatrixCreateFromMat(xtr, NTRAIN, NF, NAN, &dtr));
    XGB(XGDMatrixSetFloatInfo(dtr, "label", ytr, NTRAIN));
    XGB(XGBoosterCreate(&dtr, 1, &h));
    XGB(XGBoosterSetParam(h, "nthread", "1"));
    XGB(XGBoosterSetParam(h, "verbosity", "0"));
    XGB(XGBoosterSetParam(h, "seed", "7"));
    for (int i = 0; i < 12 && mc->params[i][0]; i++)
        XGB(XGBoosterSetParam(h, mc->params[i][0], mc->params[i][1]));
    for (int it = 0; it < mc->rounds; it++)
        XGB(XGBoosterUpdateOneIter(h, it, dtr));
    XGB(XGBoosterSaveModelToBuffer(h, "{\"format\": \"json\"}", &jlen, &json));
    cr_assert_eq(gy_model_trees_from_xgboost_json(json, jlen, &t), GY_OK, "%s: %s", mc->name,
                 gy_error_msg());
    cr_assert_gt(t->n_trees, 0);
    cr_assert_eq(t->n_features, NF);
    if (strstr(mc->name, "pruned")) {
        /* XGBoost keeps pruned nodes in its arrays; the importer drops them. */
        size_t in_json = 0;
        for (const char *q = json; (q = strstr(q, "\"num_nodes\":\"")) != NULL;)
            in_json += strtoul(q += 13, NULL, 10);
        cr_assert_lt(t->n_pool, in_json, "%s: expected deleted nodes to be dropped", mc->name);
    }

    plant_thresholds(&r, t, xte, NTEST);
    cr_assert_gt(count_on_threshold(t, xte, NTEST), NTEST / 10, "%s: thresholds planted", mc->name);
    XGB(XGDMatrixCreateFromMat(xte, NTEST, NF, NAN, &dte));
    ng = t->n_groups;
    no = gy_model_link_n_outputs(t->link, ng);
    m = gy_malloc(NTEST * ng * sizeof(float));
    o = gy_malloc(NTEST * no * sizeof(float));
    gy_model_trees_predict(t, xte, NTEST, m, o);

    predict_dmatrix(h, dte, 1, &pred, &n);
    cr_assert_eq(n, NTEST * ng, "%s", mc->name);
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(&pred[i], &m[i], 4) == 0, "%s: margin %zu: xgboost %.9g, gyre %.9g",
                  mc->name, i, (double)pred[i], (double)m[i]);
    predict_dmatrix(h, dte, 0, &pred, &n);
    cr_assert_eq(n, NTEST * no, "%s", mc->name);
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(&pred[i], &o[i], 4) == 0, "%s: output %zu: xgboost %.9g, gyre %.9g",
                  mc->name, i, (double)pred[i], (double)o[i]);
    if (!t->has_weights || t->base_margin == 0.0f) {
        /* In-place prediction (the serving path's reference); DART with a nonzero base margin
         * subtracts the base score per tree there, which XGBoost's DMatrix path does not. */
        predict_inplace(h, xte, NTEST, 0, &pred, &n);
        cr_assert_eq(n, NTEST * no);
        for (size_t i = 0; i < n; i++)
            cr_assert(memcmp(&pred[i], &o[i], 4) == 0, "%s: in-place %zu: %.9g vs %.9g", mc->name,
                      i, (double)pred[i], (double)o[i]);
    }
    gy_free(m);
    gy_free(o);
    gy_model_trees_free(t);
    XGB(XGBoosterFree(h));
    XGB(XGDMatrixFree(dtr));
    XGB(XGDMatrixFree(dte));
    gy_free(xtr);
    gy_free(ytr);
    gy_free(xte);
    gy_free(yte);
}

static const struct model_case cases[] = {
    {"binary:logistic hist depth 5",
     "binary",
     25,
     {{"objective", "binary:logistic"}, {"tree_method", "hist"}, {"max_depth", "5"}}},
    {"binary:logistic base_score 0.3",
     "binary",
     20,
     {{"objective", "binary:logistic"}, {"base_score", "0.3"}, {"eta", "0.4"}}},
    {"reg:squarederror approx depth 7",
     "reg",
     20,
     {{"objective", "reg:squarederror"}, {"tree_method", "approx"}, {"max_depth", "7"}}},
    {"reg:squarederror exact pruned",
     "reg",
     15,
     {{"objective", "reg:squarederror"},
      {"tree_method", "exact"},
      {"gamma", "0.5"},
      {"max_depth", "6"}}},
    {"count:poisson", "count", 20, {{"objective", "count:poisson"}, {"max_depth", "4"}}},
    {"multi:softprob 3 classes",
     "multi",
     15,
     {{"objective", "multi:softprob"}, {"num_class", "3"}, {"max_depth", "4"}}},
    {"multi:softmax 3 classes", "multi", 10, {{"objective", "multi:softmax"}, {"num_class", "3"}}},
    {"dart binary:logistic",
     "binary",
     15,
     {{"objective", "binary:logistic"},
      {"booster", "dart"},
      {"rate_drop", "0.3"},
      {"skip_drop", "0"},
      {"max_depth", "4"}}},
    {"dart reg base_score 0.7",
     "reg",
     12,
     {{"objective", "reg:squarederror"},
      {"booster", "dart"},
      {"rate_drop", "0.2"},
      {"base_score", "0.7"}}},
    {"num_parallel_tree 3",
     "binary",
     10,
     {{"objective", "binary:logistic"},
      {"num_parallel_tree", "3"},
      {"subsample", "0.7"},
      {"colsample_bynode", "0.6"}}},
    {"reg:logistic", "binary", 10, {{"objective", "reg:logistic"}}},
    {"binary:logitraw", "binary", 10, {{"objective", "binary:logitraw"}}},
};

Test(xgboost, bit_exact_binary)
{
    check_model(&cases[0], 1);
    check_model(&cases[1], 2);
}

Test(xgboost, bit_exact_regression)
{
    check_model(&cases[2], 3);
    check_model(&cases[3], 4);
    check_model(&cases[4], 5);
}

Test(xgboost, bit_exact_multiclass)
{
    check_model(&cases[5], 6);
    check_model(&cases[6], 7);
}

Test(xgboost, bit_exact_dart_and_forests)
{
    check_model(&cases[7], 8);
    check_model(&cases[8], 9);
    check_model(&cases[9], 10);
}

Test(xgboost, bit_exact_other_objectives)
{
    check_model(&cases[10], 11);
    check_model(&cases[11], 12);
}

/* ------------------------------------------------------------------ importer refusals */

/* A minimal valid model: one tree (split on f1 at 0.5, leaves 0.1 / -0.2). */
static const char *base_model =
    "{\"version\":[1,7,4],\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
    "\"learner_model_param\":{\"base_score\":\"5E-1\",\"num_class\":\"0\",\"num_feature\":\"2\","
    "\"num_target\":\"1\"},\"objective\":{\"name\":\"binary:logistic\"},"
    "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"gbtree_model_param\":{\"num_trees\":"
    "\"1\",\"num_parallel_tree\":\"1\",\"size_leaf_vector\":\"0\"},\"tree_info\":[0],\"trees\":[{"
    "\"tree_param\":{\"num_nodes\":\"3\",\"num_deleted\":\"0\",\"num_feature\":\"2\"},"
    "\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],\"split_indices\":[1,0,0],"
    "\"split_conditions\":[5E-1,1E-1,-2E-1],\"default_left\":[1,0,0],\"split_type\":[0,0,0],"
    "\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[],\"categories\":[],"
    "\"base_weights\":[0,0.1,-0.2],\"id\":0}]}}}}";

static json_t *base_json(void)
{
    json_t *j;
    cr_assert_eq(gy_json_parse(base_model, strlen(base_model), 64, "t", &j), GY_OK);
    return j;
}

static json_t *tree0(json_t *j)
{
    return json_array_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                            "model"),
            "trees"),
        0);
}

static void expect_import(json_t *j, enum gy_status want, const char *msg)
{
    struct gy_buf b;
    struct gy_trees *t = (void *)1;
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy_json_dump(j, &b), GY_OK);
    cr_assert_eq(gy_model_trees_from_xgboost_json(b.data, b.len, &t), want, "%s: %s", msg,
                 gy_error_msg());
    if (want == GY_OK) {
        cr_assert_not_null(t);
        gy_model_trees_free(t);
    } else {
        cr_assert_null(t);
        cr_assert(strstr(gy_error_msg(), msg), "want '%s', got '%s'", msg, gy_error_msg());
    }
    gy_buf_free(&b);
    json_decref(j);
}

Test(xgboost, import_minimal)
{
    struct gy_trees *t;
    float x[2][2] = {{0, 0.4f}, {0, NAN}}, m[2];
    cr_assert_eq(gy_model_trees_from_xgboost_json(base_model, strlen(base_model), &t), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(t->n_trees, 1);
    cr_assert_eq(t->trees[0].nodes[0].feature, 1);
    cr_assert_eq(t->trees[0].nodes[0].default_left, 1);
    cr_assert_eq(t->trees[0].nodes[2].value, -0.2f);
    gy_model_trees_predict(t, &x[0][0], 2, m, NULL);
    cr_assert_eq(m[0], 0.1f);
    cr_assert_eq(m[1], 0.1f);
    gy_model_trees_free(t);
}

Test(xgboost, import_drops_unreachable_nodes)
{
    json_t *j = base_json(), *t0 = tree0(j);
    struct gy_buf b;
    struct gy_trees *t;
    /* Five nodes where 1 and 2 are orphans (deleted by a pruner): the root points at 3, 4. */
    json_object_set_new(t0, "left_children", json_pack("[i,i,i,i,i]", 3, -1, -1, -1, -1));
    json_object_set_new(t0, "right_children", json_pack("[i,i,i,i,i]", 4, -1, -1, -1, -1));
    json_object_set_new(t0, "split_indices", json_pack("[i,i,i,i,i]", 0, 0, 0, 0, 0));
    json_object_set_new(t0, "split_conditions", json_pack("[f,f,f,f,f]", 1.5, 9.0, 9.0, 0.25, 0.5));
    json_object_set_new(t0, "default_left", json_pack("[b,b,b,b,b]", 0, 0, 0, 0, 0));
    json_object_del(t0, "split_type");
    json_object_set_new(json_object_get(t0, "tree_param"), "num_nodes", json_string("5"));
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy_json_dump(j, &b), GY_OK);
    cr_assert_eq(gy_model_trees_from_xgboost_json(b.data, b.len, &t), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(t->trees[0].n_nodes, 3);
    cr_assert_eq(t->trees[0].nodes[0].left, 1);
    cr_assert_eq(t->trees[0].nodes[0].right, 2);
    cr_assert_eq(t->trees[0].nodes[1].value, 0.25f);
    cr_assert_eq(t->trees[0].nodes[2].value, 0.5f);
    gy_model_trees_free(t);
    gy_buf_free(&b);
    json_decref(j);
}

Test(xgboost, import_refusals)
{
    json_t *j;
    const char *bad = "{\"learner\": [";
    struct gy_trees *t;
    cr_assert_eq(gy_model_trees_from_xgboost_json(bad, strlen(bad), &t), GY_E_INVALID);

    j = base_json();
    json_object_set_new(tree0(j), "split_type", json_pack("[i,i,i]", 1, 0, 0));
    expect_import(j, GY_E_UNSUPPORTED, "categorical splits are not supported");
    j = base_json();
    json_object_set_new(tree0(j), "categories_nodes", json_pack("[i]", 0));
    expect_import(j, GY_E_UNSUPPORTED, "categorical");
    j = base_json();
    json_object_set_new(json_object_get(json_object_get(j, "learner"), "gradient_booster"), "name",
                        json_string("gblinear"));
    expect_import(j, GY_E_UNSUPPORTED, "booster 'gblinear' is not supported");
    j = base_json();
    json_object_set_new(json_object_get(json_object_get(j, "learner"), "objective"), "name",
                        json_string("rank:mystery"));
    expect_import(j, GY_E_UNSUPPORTED, "rank:mystery");
    j = base_json();
    json_object_set_new(json_object_get(json_object_get(j, "learner"), "learner_model_param"),
                        "base_score", json_string("half"));
    expect_import(j, GY_E_INVALID, "base_score");
    j = base_json();
    json_object_set_new(json_object_get(json_object_get(j, "learner"), "learner_model_param"),
                        "base_score", json_string("1"));
    expect_import(j, GY_E_INVALID, "no finite margin");
    j = base_json();
    json_object_set_new(json_object_get(json_object_get(j, "learner"), "learner_model_param"),
                        "num_feature", json_string("1"));
    expect_import(j, GY_E_INVALID, "split index 1 is not below num_feature 1");
    j = base_json();
    json_object_set_new(tree0(j), "right_children", json_pack("[i,i,i]", 2, -1, 0));
    expect_import(j, GY_E_INVALID, "node 2: left child -1 but right child 0");
    j = base_json();
    json_object_set_new(tree0(j), "left_children", json_pack("[i,i,i]", 3, -1, -1));
    expect_import(j, GY_E_INVALID, "out of range for 3 nodes");
    j = base_json();
    json_object_set_new(tree0(j), "left_children", json_pack("[i,i,i]", 1, 2, -1));
    json_object_set_new(tree0(j), "right_children", json_pack("[i,i,i]", 2, 2, -1));
    expect_import(j, GY_E_INVALID, "children 2 and 2");
    j = base_json();
    json_object_set_new(tree0(j), "left_children", json_pack("[i,i,i]", 1, 2, -1));
    json_object_set_new(tree0(j), "right_children", json_pack("[i,i,i]", 2, 1, -1));
    expect_import(j, GY_E_INVALID, "reached twice");
    j = base_json();
    json_object_set_new(tree0(j), "split_conditions", json_pack("[s,f,f]", "x", 0.1, 0.2));
    expect_import(j, GY_E_INVALID, "split_conditions is not a finite float32");
    j = base_json();
    json_object_set_new(tree0(j), "split_conditions", json_pack("[f,f,f]", 1e300, 0.1, 0.2));
    expect_import(j, GY_E_INVALID, "split_conditions is not a finite float32");
    j = base_json();
    json_object_set_new(tree0(j), "default_left", json_pack("[i,i,i]", 2, 0, 0));
    expect_import(j, GY_E_INVALID, "default_left must be 0 or 1");
    j = base_json();
    json_object_set_new(tree0(j), "split_indices", json_pack("[i,i]", 1, 0));
    expect_import(j, GY_E_INVALID, "length differs from num_nodes");
    j = base_json();
    json_object_set_new(json_object_get(tree0(j), "tree_param"), "num_nodes", json_string("0"));
    expect_import(j, GY_E_INVALID, "num_nodes is missing or out of range");
    j = base_json();
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                        "model"),
        "tree_info", json_pack("[i]", 1));
    expect_import(j, GY_E_INVALID, "tree_info[0] is not a group below 1");
    j = base_json();
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                        "model"),
        "tree_info", json_pack("[i,i]", 0, 0));
    expect_import(j, GY_E_INVALID, "lengths differ");
    j = base_json();
    json_object_set_new(
        json_object_get(
            json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                            "model"),
            "gbtree_model_param"),
        "num_trees", json_string("2"));
    expect_import(j, GY_E_INVALID, "num_trees");
    j = base_json();
    json_object_del(j, "learner");
    expect_import(j, GY_E_INVALID, "no \"learner\" object");
    /* The valid document itself still imports after the round trip through dump. */
    expect_import(base_json(), GY_OK, "");
}
