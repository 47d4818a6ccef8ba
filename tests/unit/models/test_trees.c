/* SPDX-License-Identifier: MIT */
/*
 * test_trees.c - unit tests for tree ensembles (src/models/trees.c): the evaluator's rules on
 * a hand-made ensemble (strict x < t, missing values follow default_left, float32 sums in tree
 * order, the base margin, every output transform), the objective table, statistics, and
 * validation rejecting each kind of malformed tree with a message naming tree and node.
 */
#include "fixture.h"

Test(trees, evaluator_rules)
{
    struct gy_trees *t = fx_trees();
    const float x[][3] = {
        {0.4f, 0, 0},         /* t0: left -> 0.25; t1: 0 < 3 left -> 0.125 */
        {0.5f, 0, 3.0f},      /* on both thresholds: right, right: 0.75 - 0.375 */
        {NAN, NAN, NAN},      /* t0 missing left; t1 missing left */
        {1, NAN, 2.9999998f}, /* t0 right then x1 missing right -> 0.75; t1 left */
        {1, -1.0f, 100},      /* x1 == -1 is not < -1: right */
        {1, -1.0000001f, -INFINITY},
    };
    const float want[] = {0.375f, 0.375f, 0.375f, 0.875f, 0.375f, -0.375f};
    float m[6], p[6];
    gy_model_trees_predict(t, &x[0][0], 6, m, p);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(m[i], want[i], "row %d: %g", i, (double)m[i]);
        cr_assert_eq(p[i], 1.0f / (1.0f + expf(-want[i])));
    }
    /* Outputs without margins, margins without outputs. */
    memset(p, 0, sizeof(p));
    gy_model_trees_predict(t, &x[0][0], 6, NULL, p);
    cr_assert_eq(p[3], 1.0f / (1.0f + expf(-0.875f)));
    gy_model_trees_free(t);
}

Test(trees, float32_sum_in_tree_order)
{
    const uint32_t nn[3] = {1, 1, 1};
    struct gy_trees *t;
    float x = 0, m;
    cr_assert_eq(gy_model_trees_create("reg:squarederror", 1, 1, 0.5f, 3, nn, &t), GY_OK);
    t->trees[0].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 1e8f};
    t->trees[1].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, 5.0f};
    t->trees[2].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, -1e8f};
    cr_assert_eq(gy_model_trees_validate(t), GY_OK);
    gy_model_trees_predict(t, &x, 1, &m, NULL);
    /* ((0.5 + 1e8) + 5) - 1e8 in float32 is 8 (1e8 has an ulp of 8); in double, 5.5. */
    cr_assert_eq(m, ((0.5f + 1e8f) + 5.0f) - 1e8f);
    cr_assert_eq(m, 8.0f);
    gy_model_trees_free(t);
}

Test(trees, base_margin_and_links)
{
    const uint32_t nn[3] = {1, 1, 1};
    struct gy_trees *t;
    enum gy_link link;
    enum gy_base_rule rule;
    float x = 0, m[3], p[3];
    cr_assert_eq(gy_model_trees_create("binary:logistic", 1, 1, 0.3f, 0, nn, &t), GY_OK);
    cr_assert_eq(t->base_margin, -logf(1.0f / 0.3f - 1.0f));
    cr_assert_eq(t->base_margin, -0.84729785f);
    gy_model_trees_free(t);
    cr_assert_eq(gy_model_trees_create("count:poisson", 1, 1, 0.5f, 0, nn, &t), GY_OK);
    cr_assert_eq(t->base_margin, logf(0.5f));
    gy_model_trees_predict(t, &x, 1, m, p);
    cr_assert_eq(p[0], expf(logf(0.5f)));
    gy_model_trees_free(t);

    /* multi:softprob: softmax with a double sum; multi:softmax: the argmax. */
    cr_assert_eq(gy_model_trees_create("multi:softprob", 1, 3, 0.5f, 3, nn, &t), GY_OK);
    for (int g = 0; g < 3; g++) {
        t->trees[g].group = (uint32_t)g;
        t->trees[g].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, (float)g * 0.7f - 0.2f};
    }
    cr_assert_eq(gy_model_trees_validate(t), GY_OK);
    gy_model_trees_predict(t, &x, 1, m, p);
    {
        float mx = fmaxf(fmaxf(m[0], m[1]), m[2]);
        double sum = 0;
        float e[3];
        for (int g = 0; g < 3; g++) {
            e[g] = expf(m[g] - mx);
            sum += e[g];
        }
        for (int g = 0; g < 3; g++)
            cr_assert_eq(p[g], e[g] / (float)sum);
    }
    gy_model_trees_free(t);
    cr_assert_eq(gy_model_trees_create("multi:softmax", 1, 3, 0.5f, 3, nn, &t), GY_OK);
    for (int g = 0; g < 3; g++) {
        t->trees[g].group = (uint32_t)g;
        t->trees[g].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, g == 1 ? 2.0f : 1.0f};
    }
    gy_model_trees_predict(t, &x, 1, NULL, p);
    cr_assert_eq(p[0], 1.0f);
    gy_model_trees_free(t);
    cr_assert_eq(gy_model_trees_create("binary:hinge", 1, 1, 0.5f, 0, nn, &t), GY_OK);
    gy_model_trees_predict(t, &x, 1, NULL, p);
    cr_assert_eq(p[0], 1.0f);
    gy_model_trees_free(t);

    cr_assert_eq(gy_model_objective_lookup("reg:squarederror", &link, &rule), GY_OK);
    cr_assert_eq(link, GY_LINK_IDENTITY);
    cr_assert_eq(gy_model_objective_lookup("binary:logitraw", &link, &rule), GY_OK);
    cr_assert(link == GY_LINK_IDENTITY && rule == GY_BASE_IDENTITY, "as XGBoost 1.7.4 does");
    cr_assert_eq(gy_model_objective_lookup("rank:lambdamart", &link, &rule), GY_E_UNSUPPORTED);
    cr_assert(strstr(gy_error_msg(), "rank:lambdamart"));
    cr_assert_eq(gy_model_trees_create("weird", 1, 1, 0.5f, 0, nn, &t), GY_E_UNSUPPORTED);
}

Test(trees, many_groups_without_margin_buffer)
{
    enum { G = 100 };
    uint32_t nn[G];
    struct gy_trees *t;
    float x = 0, p[G], m[G], p2[G];
    for (int g = 0; g < G; g++)
        nn[g] = 1;
    cr_assert_eq(gy_model_trees_create("multi:softmax", 1, G, 0.5f, G, nn, &t), GY_OK);
    for (int g = 0; g < G; g++) {
        t->trees[g].group = (uint32_t)g;
        t->trees[g].nodes[0] = (struct gy_tree_node){-1, -1, 0, 0, g == 77 ? 1.0f : 0.0f};
    }
    gy_model_trees_predict(t, &x, 1, NULL, p);
    cr_assert_eq(p[0], 77.0f);
    memcpy(t->objective, "multi:softprob", 15);
    t->link = GY_LINK_SOFTMAX;
    gy_model_trees_predict(t, &x, 1, NULL, p);
    gy_model_trees_predict(t, &x, 1, m, p2);
    cr_assert(memcmp(p, p2, sizeof(p)) == 0);
    gy_model_trees_free(t);
}

Test(trees, stats)
{
    struct gy_trees *t = fx_trees();
    struct gy_model_trees_stats st;
    gy_model_trees_stats(t, &st);
    cr_assert_eq(st.n_nodes, 8);
    cr_assert_eq(st.n_leaves, 5);
    cr_assert_eq(st.depth_min, 1);
    cr_assert_eq(st.depth_max, 2);
    cr_assert_eq(st.depth_mean, 1.5);
    gy_model_trees_free(t);
}

struct bad_node {
    int tree, node;
    struct gy_tree_node v;
    const char *msg;
};

Test(trees, validation_rejects)
{
    static const struct bad_node cases[] = {
        {0, 0, {1, 5, 0, 1, 0.5f}, "tree 0 node 0: child index out of range"},
        {0, 0, {1, 1, 0, 1, 0.5f}, "tree 0 node 0: bad children 1 and 1"},
        {0, 2, {0, 4, 1, 0, -1.0f}, "tree 0 node 2: bad children 0 and 4"},
        {0, 2, {1, 4, 1, 0, -1.0f}, "reached twice"},
        {0, 2, {3, 2, 1, 0, -1.0f}, "reached twice"},
        {0, 0, {1, 2, 3, 1, 0.5f}, "tree 0 node 0: feature 3 is not below 3"},
        {0, 0, {1, 2, 0, 2, 0.5f}, "default_left is 2"},
        {0, 0, {1, 2, 0, 1, NAN}, "threshold is not finite"},
        {0, 0, {1, 2, 0, 1, INFINITY}, "threshold is not finite"},
        {0, 1, {-1, -1, 0, 0, NAN}, "tree 0 node 1: leaf value is not finite"},
        {0, 1, {-1, 3, 0, 0, 1}, "a leaf has -1 and -1"},
        {0, 1, {-1, -1, 2, 0, 1}, "a leaf must have feature 0"},
        {1, 0, {-1, -1, 0, 0, 1}, "tree 1: 2 of 3 nodes are not reachable"},
        {1, 2, {-2, -1, 0, 0, 1}, "a leaf has -1 and -1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gy_trees *t = fx_trees();
        t->trees[cases[i].tree].nodes[cases[i].node] = cases[i].v;
        cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT, "case %zu", i);
        cr_assert(strstr(gy_error_msg(), cases[i].msg), "case %zu: got '%s'", i, gy_error_msg());
        gy_model_trees_free(t);
    }
}

Test(trees, validation_rejects_header_fields)
{
    struct gy_trees *t = fx_trees();
    t->trees[1].group = 1;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "tree 1: group 1 is not below 1"));
    t->trees[1].group = 0;
    t->trees[1].weight = 0.5f;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "tree weights without has_weights"));
    t->has_weights = 1;
    cr_assert_eq(gy_model_trees_validate(t), GY_OK, "%s", gy_error_msg());
    t->trees[1].weight = NAN;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT);
    t->trees[1].weight = 1;
    t->base_score = 1.0f;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "no finite margin"), "%s", gy_error_msg());
    t->base_score = 0.5f;
    cr_assert(t->base_margin == 0.0f && signbit(t->base_margin), "-logf(1) is -0");
    t->base_margin = 0.1f;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "base_margin does not match"));
    t->base_margin = 0.0f;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT, "+0 is not the -0 that logf gives");
    t->base_margin = -0.0f;
    t->link = GY_LINK_IDENTITY;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT);
    t->link = GY_LINK_LOGISTIC;
    t->n_groups = 0;
    cr_assert_eq(gy_model_trees_validate(t), GY_E_CORRUPT);
    t->n_groups = 1;
    cr_assert_eq(gy_model_trees_validate(t), GY_OK);
    gy_model_trees_free(t);
}

Test(trees, create_bounds)
{
    uint32_t nn[2] = {GY_MODEL_MAX_NODES, 1};
    struct gy_trees *t;
    cr_assert_eq(gy_model_trees_create("binary:logistic", 3, 1, 0.5f, 2, nn, &t), GY_E_TOO_LARGE);
    nn[0] = 0;
    cr_assert_eq(gy_model_trees_create("binary:logistic", 3, 1, 0.5f, 2, nn, &t), GY_E_INVALID);
    cr_assert_eq(gy_model_trees_create("binary:logistic", 0, 1, 0.5f, 0, nn, &t), GY_E_TOO_LARGE);
    cr_assert_eq(
        gy_model_trees_create("binary:logistic", 3, 1, 0.5f, GY_MODEL_MAX_TREES + 1, nn, &t),
        GY_E_TOO_LARGE);
}
