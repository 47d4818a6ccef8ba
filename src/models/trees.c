/* SPDX-License-Identifier: MIT */
/*
 * trees.c - tree ensembles: the objective table (link and base-score rule per XGBoost
 * objective), allocation, the structural validation every loaded or imported ensemble passes,
 * size statistics, and the reference evaluator. The evaluator follows XGBoost 1.7's CPU
 * predictor exactly (docs/internals/models.md, "Evaluator semantics"): float32 inputs and
 * thresholds, strict x < t goes left, NaN follows default_left, float32 sums per group in tree
 * order from the float32 base margin, and the output transforms with glibc expf.
 */
#include "models/models_int.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ objectives */

static const struct {
    const char *name;
    enum gy_link link;
    enum gy_base_rule base;
} objectives[] = {
    {"binary:logistic", GY_LINK_LOGISTIC, GY_BASE_LOGIT},
    {"reg:logistic", GY_LINK_LOGISTIC, GY_BASE_LOGIT},
    /* XGBoost 1.7.4 keeps base_score as the margin for logitraw (checked against libxgboost;
     * the reference note's table says logit). */
    {"binary:logitraw", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"binary:hinge", GY_LINK_HINGE, GY_BASE_IDENTITY},
    {"reg:squarederror", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"reg:linear", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"reg:squaredlogerror", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"reg:pseudohubererror", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"reg:absoluteerror", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"count:poisson", GY_LINK_EXP, GY_BASE_LOG},
    {"reg:gamma", GY_LINK_EXP, GY_BASE_LOG},
    {"reg:tweedie", GY_LINK_EXP, GY_BASE_LOG},
    {"survival:cox", GY_LINK_EXP, GY_BASE_LOG},
    {"survival:aft", GY_LINK_EXP, GY_BASE_LOG},
    {"multi:softprob", GY_LINK_SOFTMAX, GY_BASE_IDENTITY},
    {"multi:softmax", GY_LINK_ARGMAX, GY_BASE_IDENTITY},
    {"rank:pairwise", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"rank:ndcg", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
    {"rank:map", GY_LINK_IDENTITY, GY_BASE_IDENTITY},
};

enum gy_status gy_model_objective_lookup(const char *objective, enum gy_link *link,
                                         enum gy_base_rule *base)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(objectives); i++) {
        if (strcmp(objectives[i].name, objective) == 0) {
            *link = objectives[i].link;
            *base = objectives[i].base;
            return GY_OK;
        }
    }
    return gy_error_set(GY_E_UNSUPPORTED,
                        "objective '%.64s' is not supported (known: binary:logistic, "
                        "reg:logistic, binary:logitraw, binary:hinge, reg:squarederror, "
                        "reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, "
                        "count:poisson, reg:gamma, reg:tweedie, survival:cox, survival:aft, "
                        "multi:softprob, multi:softmax, rank:pairwise, rank:ndcg, rank:map)",
                        objective);
}

const char *gy_model_link_name(enum gy_link link)
{
    switch (link) {
    case GY_LINK_IDENTITY:
        return "identity";
    case GY_LINK_LOGISTIC:
        return "logistic";
    case GY_LINK_EXP:
        return "exp";
    case GY_LINK_HINGE:
        return "hinge";
    case GY_LINK_SOFTMAX:
        return "softmax";
    case GY_LINK_ARGMAX:
        return "argmax";
    }
    return "?";
}

size_t gy_model_link_n_outputs(enum gy_link link, size_t n_groups)
{
    return link == GY_LINK_ARGMAX ? 1 : n_groups;
}

float gy__model_base_margin(enum gy_base_rule rule, float b)
{
    switch (rule) {
    case GY_BASE_LOGIT:
        return -logf(1.0f / b - 1.0f);
    case GY_BASE_LOG:
        return logf(b);
    default:
        return b;
    }
}

/* ------------------------------------------------------------------ allocation */

enum gy_status gy_model_trees_create(const char *objective, uint32_t n_features, uint32_t n_groups,
                                     float base_score, uint32_t n_trees, const uint32_t *n_nodes,
                                     struct gy_trees **out)
{
    struct gy_trees *t = NULL;
    enum gy_link link;
    enum gy_base_rule rule;
    enum gy_status rc;
    uint64_t total = 0;

    *out = NULL;
    rc = gy_model_objective_lookup(objective, &link, &rule);
    if (rc)
        return rc;
    if (strlen(objective) >= sizeof(t->objective))
        return gy_error_set(GY_E_INVALID, "objective name too long");
    if (n_features == 0 || n_features > GY_MODEL_MAX_FEATURES)
        return gy_error_set(GY_E_TOO_LARGE, "trees: %u features (1 to %u allowed)", n_features,
                            GY_MODEL_MAX_FEATURES);
    if (n_groups == 0 || n_groups > GY_MODEL_MAX_GROUPS)
        return gy_error_set(GY_E_TOO_LARGE, "trees: %u groups (1 to %u allowed)", n_groups,
                            GY_MODEL_MAX_GROUPS);
    if (n_trees > GY_MODEL_MAX_TREES)
        return gy_error_set(GY_E_TOO_LARGE, "trees: %u trees (at most %u allowed)", n_trees,
                            GY_MODEL_MAX_TREES);
    for (uint32_t i = 0; i < n_trees; i++) {
        if (n_nodes[i] == 0)
            return gy_error_set(GY_E_INVALID, "trees: tree %u has no nodes", i);
        total += n_nodes[i];
        if (total > GY_MODEL_MAX_NODES)
            return gy_error_set(GY_E_TOO_LARGE, "trees: more than %u nodes in all",
                                GY_MODEL_MAX_NODES);
    }
    t = gy_calloc(1, sizeof(*t));
    if (!t)
        goto nomem;
    t->trees = gy_calloc(n_trees ? n_trees : 1, sizeof(*t->trees));
    t->pool = gy_calloc(total ? total : 1, sizeof(*t->pool));
    if (!t->trees || !t->pool)
        goto nomem;
    memcpy(t->objective, objective, strlen(objective) + 1);
    t->link = link;
    t->base_rule = rule;
    t->n_features = n_features;
    t->n_groups = n_groups;
    t->num_parallel_tree = 1;
    t->base_score = base_score;
    t->base_margin = gy__model_base_margin(rule, base_score);
    t->n_trees = n_trees;
    t->n_pool = (size_t)total;
    total = 0;
    for (uint32_t i = 0; i < n_trees; i++) {
        t->trees[i].n_nodes = n_nodes[i];
        t->trees[i].weight = 1.0f;
        t->trees[i].nodes = t->pool + total;
        total += n_nodes[i];
    }
    *out = t;
    return GY_OK;
nomem:
    gy_model_trees_free(t);
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

void gy_model_trees_free(struct gy_trees *t)
{
    if (!t)
        return;
    gy_free(t->trees);
    gy_free(t->pool);
    gy_free(t);
}

/* ------------------------------------------------------------------ validation */

/*
 * Checks that tree @p ti is a binary tree rooted at node 0 and records its depth. @p seen and
 * @p stack are scratch arrays of at least n_nodes entries.
 */
static enum gy_status tree_check(const struct gy_trees *t, uint32_t ti, uint8_t *seen,
                                 uint32_t *stack, uint32_t *depth_out)
{
    const struct gy_tree *tr = &t->trees[ti];
    uint32_t n = tr->n_nodes, sp = 0, visited = 0, maxd = 0;
    uint32_t *depth = stack + n; /* second half of the scratch: depth per node */

    if (n == 0)
        return gy_error_set(GY_E_CORRUPT, "tree %u: no nodes", ti);
    if (tr->group >= t->n_groups)
        return gy_error_set(GY_E_CORRUPT, "tree %u: group %u is not below %u groups", ti, tr->group,
                            t->n_groups);
    if (!isfinite(tr->weight))
        return gy_error_set(GY_E_CORRUPT, "tree %u: weight is not finite", ti);
    memset(seen, 0, n);
    for (uint32_t i = 0; i < n; i++) {
        const struct gy_tree_node *nd = &tr->nodes[i];
        if (nd->default_left > 1)
            return gy_error_set(GY_E_CORRUPT, "tree %u node %u: default_left is %u", ti, i,
                                nd->default_left);
        if (!isfinite(nd->value))
            return gy_error_set(GY_E_CORRUPT, "tree %u node %u: %s is not finite", ti, i,
                                nd->left < 0 ? "leaf value" : "threshold");
        if (nd->left < 0 || nd->right < 0) {
            if (nd->left != -1 || nd->right != -1)
                return gy_error_set(GY_E_CORRUPT,
                                    "tree %u node %u: children %d and %d (a leaf has -1 and -1)",
                                    ti, i, nd->left, nd->right);
            if (nd->feature != 0 || nd->default_left != 0)
                return gy_error_set(GY_E_CORRUPT,
                                    "tree %u node %u: a leaf must have feature 0 and default_left "
                                    "0",
                                    ti, i);
            continue;
        }
        if ((uint32_t)nd->left >= n || (uint32_t)nd->right >= n)
            return gy_error_set(GY_E_CORRUPT,
                                "tree %u node %u: child index out of range (%d, %d "
                                "of %u nodes)",
                                ti, i, nd->left, nd->right, n);
        if (nd->left == nd->right || nd->left == 0 || nd->right == 0)
            return gy_error_set(GY_E_CORRUPT, "tree %u node %u: bad children %d and %d", ti, i,
                                nd->left, nd->right);
        if (nd->feature >= t->n_features)
            return gy_error_set(GY_E_CORRUPT, "tree %u node %u: feature %u is not below %u", ti, i,
                                nd->feature, t->n_features);
    }
    /* Walk from the root: every node must be reached exactly once. */
    stack[sp++] = 0;
    depth[0] = 0;
    seen[0] = 1;
    while (sp) {
        uint32_t i = stack[--sp];
        const struct gy_tree_node *nd = &tr->nodes[i];
        visited++;
        if (depth[i] > maxd)
            maxd = depth[i];
        if (nd->left < 0)
            continue;
        for (int k = 0; k < 2; k++) {
            uint32_t c = (uint32_t)(k ? nd->right : nd->left);
            if (seen[c])
                return gy_error_set(GY_E_CORRUPT,
                                    "tree %u node %u: child %u is reached twice (a cycle or a "
                                    "shared node)",
                                    ti, i, c);
            seen[c] = 1;
            depth[c] = depth[i] + 1;
            stack[sp++] = c;
        }
    }
    if (visited != n)
        return gy_error_set(GY_E_CORRUPT, "tree %u: %u of %u nodes are not reachable from the root",
                            ti, n - visited, n);
    if (depth_out)
        *depth_out = maxd;
    return GY_OK;
}

enum gy_status gy__model_trees_walk(const struct gy_trees *t, uint32_t *depths)
{
    uint32_t maxn = 0;
    uint8_t *seen = NULL;
    uint32_t *stack = NULL;
    enum gy_status rc = GY_OK;

    for (uint32_t i = 0; i < t->n_trees; i++)
        maxn = GY_MAX(maxn, t->trees[i].n_nodes);
    seen = gy_malloc(maxn ? maxn : 1);
    stack = gy_malloc(2 * (size_t)(maxn ? maxn : 1) * sizeof(uint32_t));
    if (!seen || !stack) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < t->n_trees && rc == GY_OK; i++)
        rc = tree_check(t, i, seen, stack, depths ? &depths[i] : NULL);
out:
    gy_free(seen);
    gy_free(stack);
    return rc;
}

enum gy_status gy_model_trees_validate(const struct gy_trees *t)
{
    enum gy_link link;
    enum gy_base_rule rule;
    uint64_t total = 0;
    int weighted = 0;

    if (memchr(t->objective, '\0', sizeof(t->objective)) == NULL)
        return gy_error_set(GY_E_CORRUPT, "trees: objective is not terminated");
    if (gy_model_objective_lookup(t->objective, &link, &rule) != GY_OK)
        return gy_error_set(GY_E_CORRUPT, "trees: unknown objective '%s'", t->objective);
    if (link != t->link || rule != t->base_rule)
        return gy_error_set(GY_E_CORRUPT, "trees: link or base rule does not match objective '%s'",
                            t->objective);
    if (t->n_features == 0 || t->n_features > GY_MODEL_MAX_FEATURES)
        return gy_error_set(GY_E_CORRUPT, "trees: %u features (1 to %u allowed)", t->n_features,
                            GY_MODEL_MAX_FEATURES);
    if (t->n_groups == 0 || t->n_groups > GY_MODEL_MAX_GROUPS)
        return gy_error_set(GY_E_CORRUPT, "trees: %u groups (1 to %u allowed)", t->n_groups,
                            GY_MODEL_MAX_GROUPS);
    if ((link == GY_LINK_SOFTMAX || link == GY_LINK_ARGMAX) && t->n_groups < 2)
        return gy_error_set(GY_E_CORRUPT, "trees: objective '%s' needs at least 2 groups",
                            t->objective);
    if (t->n_trees > GY_MODEL_MAX_TREES)
        return gy_error_set(GY_E_CORRUPT, "trees: %u trees (at most %u allowed)", t->n_trees,
                            GY_MODEL_MAX_TREES);
    if (t->num_parallel_tree == 0 || t->num_parallel_tree > GY_MODEL_MAX_TREES)
        return gy_error_set(GY_E_CORRUPT, "trees: num_parallel_tree %u", t->num_parallel_tree);
    if (t->has_weights > 1)
        return gy_error_set(GY_E_CORRUPT, "trees: has_weights is %u", t->has_weights);
    if (!isfinite(t->base_score))
        return gy_error_set(GY_E_CORRUPT, "trees: base_score is not finite");
    {
        float m = gy__model_base_margin(rule, t->base_score);
        if (!isfinite(m))
            return gy_error_set(GY_E_CORRUPT,
                                "trees: base_score %g gives no finite margin for objective '%s'",
                                (double)t->base_score, t->objective);
        if (memcmp(&m, &t->base_margin, sizeof(m)) != 0)
            return gy_error_set(GY_E_CORRUPT, "trees: base_margin does not match base_score");
    }
    for (uint32_t i = 0; i < t->n_trees; i++) {
        total += t->trees[i].n_nodes;
        if (total > GY_MODEL_MAX_NODES)
            return gy_error_set(GY_E_CORRUPT, "trees: more than %u nodes in all",
                                GY_MODEL_MAX_NODES);
        if (t->trees[i].weight != 1.0f)
            weighted = 1;
    }
    if (weighted && !t->has_weights)
        return gy_error_set(GY_E_CORRUPT, "trees: tree weights without has_weights");
    return gy__model_trees_walk(t, NULL);
}

/* ------------------------------------------------------------------ statistics */

void gy_model_trees_stats(const struct gy_trees *t, struct gy_model_trees_stats *out)
{
    uint64_t dsum = 0;
    memset(out, 0, sizeof(*out));
    out->depth_min = t->n_trees ? UINT32_MAX : 0;
    for (uint32_t i = 0; i < t->n_trees; i++) {
        const struct gy_tree *tr = &t->trees[i];
        uint32_t d = gy__model_tree_depth(tr);
        out->n_nodes += tr->n_nodes;
        for (uint32_t k = 0; k < tr->n_nodes; k++)
            out->n_leaves += tr->nodes[k].left < 0;
        out->depth_min = GY_MIN(out->depth_min, d);
        out->depth_max = GY_MAX(out->depth_max, d);
        dsum += d;
    }
    out->depth_mean = t->n_trees ? (double)dsum / t->n_trees : 0;
}

uint32_t gy__model_tree_depth(const struct gy_tree *tr)
{
    /* Depth by leaf: walk up is not possible without parents, so take the longest root path
     * with an explicit stack of (node, depth); trees are validated, so this terminates. */
    uint32_t maxd = 0;
    uint32_t local[128];
    uint32_t *stack = local;
    size_t cap = GY_ARRAY_LEN(local) / 2, sp = 0;
    if (tr->n_nodes > cap) {
        stack = gy_malloc(2 * (size_t)tr->n_nodes * sizeof(uint32_t));
        if (!stack)
            return 0;
        cap = tr->n_nodes;
    }
    stack[0] = 0;
    stack[1] = 0;
    sp = 1;
    while (sp) {
        uint32_t i = stack[2 * (sp - 1)], d = stack[2 * (sp - 1) + 1];
        const struct gy_tree_node *nd = &tr->nodes[i];
        sp--;
        if (d > maxd)
            maxd = d;
        if (nd->left < 0 || sp + 2 > cap)
            continue;
        stack[2 * sp] = (uint32_t)nd->left;
        stack[2 * sp + 1] = d + 1;
        sp++;
        stack[2 * sp] = (uint32_t)nd->right;
        stack[2 * sp + 1] = d + 1;
        sp++;
    }
    if (stack != local)
        gy_free(stack);
    return maxd;
}

/* ------------------------------------------------------------------ evaluation */

/* The leaf a row reaches in a tree. The step guard only matters for unvalidated trees. */
static float tree_leaf(const struct gy_tree *tr, const float *x)
{
    const struct gy_tree_node *nodes = tr->nodes;
    uint32_t i = 0, steps = 0;
    while (nodes[i].left >= 0 && steps++ < tr->n_nodes) {
        const struct gy_tree_node *nd = &nodes[i];
        float v = x[nd->feature];
        if (isnan(v))
            i = (uint32_t)(nd->default_left ? nd->left : nd->right);
        else
            i = (uint32_t)(v < nd->value ? nd->left : nd->right);
    }
    return nodes[i].value;
}

void gy__model_link_apply(enum gy_link link, const float *m, size_t n_groups, float *out)
{
    switch (link) {
    case GY_LINK_LOGISTIC:
        for (size_t g = 0; g < n_groups; g++)
            out[g] = 1.0f / (1.0f + expf(-m[g]));
        break;
    case GY_LINK_EXP:
        for (size_t g = 0; g < n_groups; g++)
            out[g] = expf(m[g]);
        break;
    case GY_LINK_HINGE:
        for (size_t g = 0; g < n_groups; g++)
            out[g] = m[g] > 0.0f ? 1.0f : 0.0f;
        break;
    case GY_LINK_SOFTMAX: {
        float mx = m[0];
        double sum = 0.0;
        for (size_t g = 1; g < n_groups; g++)
            mx = fmaxf(m[g], mx);
        for (size_t g = 0; g < n_groups; g++) {
            out[g] = expf(m[g] - mx);
            sum += out[g];
        }
        for (size_t g = 0; g < n_groups; g++)
            out[g] /= (float)sum;
        break;
    }
    case GY_LINK_ARGMAX: {
        size_t best = 0;
        for (size_t g = 1; g < n_groups; g++)
            if (m[g] > m[best])
                best = g;
        out[0] = (float)best;
        break;
    }
    default:
        for (size_t g = 0; g < n_groups; g++)
            out[g] = m[g];
    }
}

/* Sums the trees of one row into m[0..n_groups) (float32, tree order). */
static void row_margins(const struct gy_trees *t, const float *row, float *m)
{
    for (uint32_t g = 0; g < t->n_groups; g++)
        m[g] = t->base_margin;
    for (uint32_t i = 0; i < t->n_trees; i++) {
        const struct gy_tree *tr = &t->trees[i];
        float leaf = tree_leaf(tr, row);
        if (t->has_weights)
            leaf = leaf * tr->weight;
        m[tr->group] += leaf;
    }
}

void gy_model_trees_predict(const struct gy_trees *t, const float *x, size_t nrows, float *margins,
                            float *outputs)
{
    size_t ng = t->n_groups, no = gy_model_link_n_outputs(t->link, ng);
    float local[64];
    if (!margins && !outputs)
        return;
    for (size_t r = 0; r < nrows; r++) {
        const float *row = x + r * (size_t)t->n_features;
        float *m;
        if (margins)
            m = margins + r * ng;
        else if (ng <= GY_ARRAY_LEN(local))
            m = local;
        else if (no == ng)
            m = outputs + r * no; /* element-wise links transform in place */
        else {
            /* ARGMAX over many groups without a margin buffer: one group at a time. */
            float best = 0;
            size_t besti = 0;
            for (uint32_t g = 0; g < ng; g++) {
                float s = t->base_margin;
                for (uint32_t i = 0; i < t->n_trees; i++) {
                    const struct gy_tree *tr = &t->trees[i];
                    if (tr->group == g) {
                        float leaf = tree_leaf(tr, row);
                        if (t->has_weights)
                            leaf = leaf * tr->weight;
                        s += leaf;
                    }
                }
                if (g == 0 || s > best) {
                    best = s;
                    besti = g;
                }
            }
            outputs[r] = (float)besti;
            continue;
        }
        row_margins(t, row, m);
        if (outputs)
            gy__model_link_apply(t->link, m, ng, outputs + r * no);
    }
}

/* ------------------------------------------------------------------ section codec */

#define TREES_HEAD 96
#define TREE_ENTRY 12
#define NODE_LEN 16

enum gy_status gy__model_trees_encode(const struct gy_trees *t, struct gy_buf *out)
{
    size_t len = TREES_HEAD + (size_t)t->n_trees * TREE_ENTRY + t->n_pool * NODE_LEN;
    uint8_t *p;
    enum gy_status rc = gy_buf_reserve(out, len);
    if (rc)
        return rc;
    p = (uint8_t *)out->data + out->len;
    memset(p, 0, TREES_HEAD);
    gy__model_put_u32(p, GY_TREES_SECTION_VERSION);
    gy__model_put_u32(p + 4, t->n_features);
    gy__model_put_u32(p + 8, t->n_groups);
    gy__model_put_u32(p + 12, t->n_trees);
    gy__model_put_u32(p + 16, t->num_parallel_tree);
    gy__model_put_u32(p + 20, t->has_weights ? 1u : 0u);
    gy__model_put_f32(p + 24, t->base_score);
    gy__model_put_f32(p + 28, t->base_margin);
    memcpy(p + 32, t->objective, strnlen(t->objective, 63));
    p += TREES_HEAD;
    for (uint32_t i = 0; i < t->n_trees; i++, p += TREE_ENTRY) {
        gy__model_put_u32(p, t->trees[i].n_nodes);
        gy__model_put_u32(p + 4, t->trees[i].group);
        gy__model_put_f32(p + 8, t->trees[i].weight);
    }
    for (uint32_t i = 0; i < t->n_trees; i++) {
        for (uint32_t k = 0; k < t->trees[i].n_nodes; k++, p += NODE_LEN) {
            const struct gy_tree_node *nd = &t->trees[i].nodes[k];
            gy__model_put_u32(p, (uint32_t)nd->left);
            gy__model_put_u32(p + 4, (uint32_t)nd->right);
            gy__model_put_u32(p + 8, nd->feature | (nd->default_left ? 0x80000000u : 0));
            gy__model_put_f32(p + 12, nd->value);
        }
    }
    out->len += len;
    out->data[out->len] = '\0';
    return GY_OK;
}

enum gy_status gy__model_trees_decode(const uint8_t *p, size_t n, struct gy_trees **out)
{
    struct gy_trees *t = NULL;
    uint32_t n_trees, *counts = NULL;
    uint64_t total = 0;
    char objective[64];
    enum gy_status rc;
    const uint8_t *q;

    *out = NULL;
    if (n < TREES_HEAD)
        return gy_error_set(GY_E_CORRUPT, "trees section: %zu bytes, shorter than its header", n);
    if (gy__model_get_u32(p) != GY_TREES_SECTION_VERSION)
        return gy_error_set(GY_E_UNSUPPORTED, "trees section: layout version %u is not supported",
                            gy__model_get_u32(p));
    n_trees = gy__model_get_u32(p + 12);
    if (n_trees > GY_MODEL_MAX_TREES)
        return gy_error_set(GY_E_CORRUPT, "trees section: %u trees (at most %u)", n_trees,
                            GY_MODEL_MAX_TREES);
    if ((n - TREES_HEAD) / TREE_ENTRY < n_trees)
        return gy_error_set(GY_E_CORRUPT, "trees section: truncated tree table");
    if (gy__model_get_u32(p + 20) > 1)
        return gy_error_set(GY_E_CORRUPT, "trees section: unknown flags 0x%x",
                            gy__model_get_u32(p + 20));
    memcpy(objective, p + 32, 64);
    {
        const char *nul = memchr(objective, '\0', sizeof(objective));
        if (!nul)
            return gy_error_set(GY_E_CORRUPT, "trees section: objective is not terminated");
        for (const char *c = nul; c < objective + sizeof(objective); c++)
            if (*c)
                return gy_error_set(GY_E_CORRUPT, "trees section: objective padding is not zero");
    }
    counts = gy_malloc((n_trees ? n_trees : 1) * sizeof(uint32_t));
    if (!counts)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    q = p + TREES_HEAD;
    for (uint32_t i = 0; i < n_trees; i++, q += TREE_ENTRY) {
        counts[i] = gy__model_get_u32(q);
        if (counts[i] == 0) {
            rc = gy_error_set(GY_E_CORRUPT, "trees section: tree %u has no nodes", i);
            goto out;
        }
        total += counts[i];
        if (total > GY_MODEL_MAX_NODES) {
            rc =
                gy_error_set(GY_E_CORRUPT, "trees section: more than %u nodes", GY_MODEL_MAX_NODES);
            goto out;
        }
    }
    if ((uint64_t)n != TREES_HEAD + (uint64_t)n_trees * TREE_ENTRY + total * NODE_LEN) {
        rc = gy_error_set(
            GY_E_CORRUPT, "trees section: %zu bytes, %llu expected for %llu nodes", n,
            (unsigned long long)(TREES_HEAD + (uint64_t)n_trees * TREE_ENTRY + total * NODE_LEN),
            (unsigned long long)total);
        goto out;
    }
    rc = gy_model_trees_create(objective, gy__model_get_u32(p + 4), gy__model_get_u32(p + 8),
                               gy__model_get_f32(p + 24), n_trees, counts, &t);
    if (rc) {
        if (rc != GY_E_NOMEM)
            rc = gy_error_wrap(GY_E_CORRUPT, "trees section");
        goto out;
    }
    t->num_parallel_tree = gy__model_get_u32(p + 16);
    t->has_weights = (uint8_t)gy__model_get_u32(p + 20);
    t->base_margin = gy__model_get_f32(p + 28);
    q = p + TREES_HEAD;
    for (uint32_t i = 0; i < n_trees; i++, q += TREE_ENTRY) {
        t->trees[i].group = gy__model_get_u32(q + 4);
        t->trees[i].weight = gy__model_get_f32(q + 8);
    }
    for (size_t k = 0; k < t->n_pool; k++, q += NODE_LEN) {
        struct gy_tree_node *nd = &t->pool[k];
        uint32_t f = gy__model_get_u32(q + 8);
        nd->left = (int32_t)gy__model_get_u32(q);
        nd->right = (int32_t)gy__model_get_u32(q + 4);
        nd->feature = f & 0x7fffffffu;
        nd->default_left = (uint8_t)(f >> 31);
        nd->value = gy__model_get_f32(q + 12);
    }
    rc = gy_model_trees_validate(t);
    if (rc) {
        if (rc != GY_E_NOMEM)
            rc = gy_error_wrap(GY_E_CORRUPT, "trees section");
        goto out;
    }
    *out = t;
    t = NULL;
out:
    gy_free(counts);
    gy_model_trees_free(t);
    return rc;
}

enum gy_status gy__model_trees_summary(const struct gy_trees *t, json_t **out)
{
    struct gy_model_trees_stats st;
    json_t *o = json_object();
    gy_model_trees_stats(t, &st);
    *out = NULL;
    if (!o)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    if (json_object_set_new(o, "kind", json_string("trees")) ||
        json_object_set_new(o, "objective", json_string(t->objective)) ||
        json_object_set_new(o, "link", json_string(gy_model_link_name(t->link))) ||
        json_object_set_new(o, "n_features", json_integer(t->n_features)) ||
        json_object_set_new(o, "n_groups", json_integer(t->n_groups)) ||
        json_object_set_new(o, "n_trees", json_integer(t->n_trees)) ||
        json_object_set_new(o, "num_parallel_tree", json_integer(t->num_parallel_tree)) ||
        json_object_set_new(o, "dart_weights", json_boolean(t->has_weights)) ||
        json_object_set_new(o, "n_nodes", json_integer((json_int_t)st.n_nodes)) ||
        json_object_set_new(o, "n_leaves", json_integer((json_int_t)st.n_leaves)) ||
        json_object_set_new(o, "depth",
                            json_pack("{s:I,s:I,s:f}", "min", (json_int_t)st.depth_min, "max",
                                      (json_int_t)st.depth_max, "mean", st.depth_mean)) ||
        json_object_set_new(o, "base_score", json_real(t->base_score)) ||
        json_object_set_new(o, "base_margin", json_real(t->base_margin))) {
        json_decref(o);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    *out = o;
    return GY_OK;
}
