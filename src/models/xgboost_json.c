/* SPDX-License-Identifier: MIT */
/*
 * xgboost_json.c - the XGBoost 1.7 JSON model importer: learner_model_param (base_score,
 * num_class, num_feature, all strings), the objective name, gbtree or dart boosters, tree_info
 * and each tree's structure of arrays. Thresholds and leaf values become the exact float32
 * values XGBoost holds (JSON text printed from a float, read back through a double, with the one
 * double-rounding case resolved). Nodes unreachable from the root (deleted by pruning) are
 * dropped and the rest renumbered in their original order. Categorical splits and gblinear
 * are refused for now. Nothing is trusted: every count, index and value is checked. The
 * document walker (gy__model_xgboost_import) also serves the UBJSON reader (xgboost_ubj.c),
 * and the feature names of either format are read here.
 */
#include "models/xgboost_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum gy_status bad(const char *fmt, const char *what)
{
    return gy_error_set(GY_E_INVALID, "XGBoost model: %s %s", what, fmt);
}

/* The shortest "%.*g" form of @p f that reads back as f, parsed as a double. */
static double shortest_as_double(float f)
{
    char s[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(s, sizeof(s), "%.*g", p, (double)f);
        if (strtof(s, NULL) == f)
            return strtod(s, NULL);
    }
    return (double)f;
}

/*
 * The float32 that XGBoost printed as a decimal that jansson then read as the double @p d.
 * Rounding d to float is right unless d sits exactly halfway between two floats (the decimal
 * was just above or below); then the float whose shortest decimal reads back as d wins.
 */
static float f32_of(double d)
{
    float f = (float)d, g;
    if ((double)f == d || !isfinite(f))
        return f;
    g = (double)f < d ? nextafterf(f, INFINITY) : nextafterf(f, -INFINITY);
    if (((double)f + (double)g) / 2 != d)
        return f;
    if (shortest_as_double(g) == d)
        return g;
    return f;
}

/* A JSON number (or numeric string) as a finite float32. */
static int get_f32(const json_t *v, float *out)
{
    if (json_is_real(v))
        *out = f32_of(json_real_value(v));
    else if (json_is_integer(v))
        *out = (float)json_integer_value(v);
    else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        *out = strtof(s, &end);
        if (end == s || *end || errno == ERANGE)
            return 0;
    } else
        return 0;
    return isfinite(*out);
}

/* An integer given as a JSON integer or a decimal string (XGBoost writes params as strings). */
static int get_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_string(v))
        return gy_parse_int64(json_string_value(v), out) == GY_OK;
    return 0;
}

static const json_t *path(const json_t *j, const char *a, const char *b, const char *c)
{
    j = json_object_get(j, a);
    if (j && b)
        j = json_object_get(j, b);
    if (j && c)
        j = json_object_get(j, c);
    return j;
}

/* One tree's arrays; *count gets the reachable nodes written to @p dst (when not NULL). */
struct xtree {
    int64_t n;
    const json_t *left, *right, *feat, *cond, *dl;
};

static enum gy_status tree_read(const json_t *tj, size_t ti, uint32_t n_features, struct xtree *x)
{
    char what[64];
    const json_t *st = json_object_get(tj, "split_type");
    const json_t *cn = json_object_get(tj, "categories_nodes");
    int64_t n = -1;

    gy_snprintf(what, sizeof(what), "trees[%zu]:", ti);
    if (!json_is_object(tj))
        return bad("is not an object", what);
    if (!get_int(path(tj, "tree_param", "num_nodes", NULL), &n) || n < 1 ||
        n > (int64_t)GY_MODEL_MAX_NODES)
        return bad("tree_param.num_nodes is missing or out of range", what);
    x->n = n;
    x->left = json_object_get(tj, "left_children");
    x->right = json_object_get(tj, "right_children");
    x->feat = json_object_get(tj, "split_indices");
    x->cond = json_object_get(tj, "split_conditions");
    x->dl = json_object_get(tj, "default_left");
    if (!json_is_array(x->left) || !json_is_array(x->right) || !json_is_array(x->feat) ||
        !json_is_array(x->cond) || !json_is_array(x->dl))
        return bad("needs arrays left_children, right_children, split_indices, split_conditions "
                   "and default_left",
                   what);
    if ((int64_t)json_array_size(x->left) != n || (int64_t)json_array_size(x->right) != n ||
        (int64_t)json_array_size(x->feat) != n || (int64_t)json_array_size(x->cond) != n ||
        (int64_t)json_array_size(x->dl) != n)
        return bad("has arrays whose length differs from num_nodes", what);
    if (st) {
        size_t i;
        const json_t *v;
        if (!json_is_array(st))
            return bad("split_type is not an array", what);
        json_array_foreach(st, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) != 0)
                return gy_error_set(GY_E_UNSUPPORTED,
                                    "XGBoost model: trees[%zu] node %zu is a categorical split; "
                                    "categorical splits are not supported yet",
                                    ti, i);
        }
    }
    if (cn && (!json_is_array(cn) || json_array_size(cn) > 0))
        return gy_error_set(GY_E_UNSUPPORTED,
                            "XGBoost model: trees[%zu] has categorical splits; they are not "
                            "supported yet",
                            ti);
    for (int64_t i = 0; i < n; i++) {
        int64_t l, r, f;
        const json_t *d = json_array_get(x->dl, (size_t)i);
        float v;
        if (!get_int(json_array_get(x->left, (size_t)i), &l) ||
            !get_int(json_array_get(x->right, (size_t)i), &r) ||
            !get_int(json_array_get(x->feat, (size_t)i), &f))
            return gy_error_set(GY_E_INVALID,
                                "XGBoost model: trees[%zu] node %lld: children and "
                                "split index must be integers",
                                ti, (long long)i);
        if (!get_f32(json_array_get(x->cond, (size_t)i), &v))
            return gy_error_set(GY_E_INVALID,
                                "XGBoost model: trees[%zu] node %lld: split_conditions is not a "
                                "finite float32",
                                ti, (long long)i);
        if (!(json_is_boolean(d) ||
              (json_is_integer(d) && (json_integer_value(d) == 0 || json_integer_value(d) == 1))))
            return gy_error_set(GY_E_INVALID,
                                "XGBoost model: trees[%zu] node %lld: default_left must be 0 or 1",
                                ti, (long long)i);
        if (l == -1) {
            if (r != -1)
                return gy_error_set(GY_E_INVALID,
                                    "XGBoost model: trees[%zu] node %lld: left child -1 but right "
                                    "child %lld",
                                    ti, (long long)i, (long long)r);
            continue;
        }
        if (l <= 0 || l >= n || r <= 0 || r >= n || l == r)
            return gy_error_set(
                GY_E_INVALID,
                "XGBoost model: trees[%zu] node %lld: children %lld and %lld out of "
                "range for %lld nodes",
                ti, (long long)i, (long long)l, (long long)r, (long long)n);
        if (f < 0 || f >= n_features)
            return gy_error_set(GY_E_INVALID,
                                "XGBoost model: trees[%zu] node %lld: split index %lld is not "
                                "below num_feature %u",
                                ti, (long long)i, (long long)f, n_features);
    }
    return GY_OK;
}

static int64_t arr_int(const json_t *a, int64_t i)
{
    int64_t v = 0;
    get_int(json_array_get(a, (size_t)i), &v);
    return v;
}

/*
 * Marks the nodes reachable from the root in @p keep and counts them; a node reached twice is
 * an error. @p stack has room for n entries.
 */
static enum gy_status tree_reach(const struct xtree *x, size_t ti, uint8_t *keep, uint32_t *stack,
                                 uint32_t *count)
{
    uint32_t sp = 0, c = 0;
    memset(keep, 0, (size_t)x->n);
    keep[0] = 1;
    stack[sp++] = 0;
    while (sp) {
        uint32_t i = stack[--sp];
        int64_t l = arr_int(x->left, i);
        c++;
        if (l == -1)
            continue;
        for (int k = 0; k < 2; k++) {
            int64_t ch = k ? arr_int(x->right, i) : l;
            if (keep[ch])
                return gy_error_set(GY_E_INVALID,
                                    "XGBoost model: trees[%zu]: node %lld is reached twice (a "
                                    "cycle or a shared node)",
                                    ti, (long long)ch);
            keep[ch] = 1;
            stack[sp++] = (uint32_t)ch;
        }
    }
    *count = c;
    return GY_OK;
}

enum gy_status gy__model_xgboost_import(const json_t *root, struct gy_trees **out)
{
    const json_t *learner, *mp, *gb, *model, *trees, *info, *wdrop = NULL;
    const char *objective, *gbname;
    int64_t num_feature, num_class = 0, num_target = 1, num_trees, npt = 1;
    float base_score;
    uint32_t n_groups, nt, *counts = NULL, *map = NULL, *stack = NULL;
    uint8_t *keep = NULL;
    struct xtree *xs = NULL;
    struct gy_trees *t = NULL;
    enum gy_status rc;
    size_t maxn = 1;

    *out = NULL;
    learner = json_object_get(root, "learner");
    if (!json_is_object(learner)) {
        rc = bad("has no \"learner\" object", "document");
        goto out;
    }
    mp = json_object_get(learner, "learner_model_param");
    if (!json_is_object(mp) || !get_f32(json_object_get(mp, "base_score"), &base_score)) {
        rc = bad("is missing or not a finite float", "learner_model_param.base_score");
        goto out;
    }
    if (!get_int(json_object_get(mp, "num_feature"), &num_feature) || num_feature < 1 ||
        num_feature > (int64_t)GY_MODEL_MAX_FEATURES) {
        rc = bad("is missing or out of range", "learner_model_param.num_feature");
        goto out;
    }
    if (json_object_get(mp, "num_class") &&
        (!get_int(json_object_get(mp, "num_class"), &num_class) || num_class < 0 ||
         num_class > GY_MODEL_MAX_GROUPS)) {
        rc = bad("is out of range", "learner_model_param.num_class");
        goto out;
    }
    if (json_object_get(mp, "num_target") &&
        (!get_int(json_object_get(mp, "num_target"), &num_target) || num_target < 1 ||
         num_target > GY_MODEL_MAX_GROUPS)) {
        rc = bad("is out of range", "learner_model_param.num_target");
        goto out;
    }
    n_groups = (uint32_t)(num_class > 0 ? num_class : num_target);
    objective = json_string_value(path(learner, "objective", "name", NULL));
    if (!objective) {
        rc = bad("is missing", "learner.objective.name");
        goto out;
    }
    gb = json_object_get(learner, "gradient_booster");
    gbname = json_string_value(json_object_get(gb, "name"));
    if (!gbname) {
        rc = bad("is missing", "gradient_booster.name");
        goto out;
    }
    if (strcmp(gbname, "gbtree") == 0) {
        model = json_object_get(gb, "model");
    } else if (strcmp(gbname, "dart") == 0) {
        model = path(gb, "gbtree", "model", NULL);
        wdrop = json_object_get(gb, "weight_drop");
        if (!json_is_array(wdrop)) {
            rc = bad("is missing", "dart weight_drop");
            goto out;
        }
    } else {
        rc = gy_error_set(GY_E_UNSUPPORTED,
                          "XGBoost model: booster '%.32s' is not supported (gbtree or dart)",
                          gbname);
        goto out;
    }
    trees = json_object_get(model, "trees");
    info = json_object_get(model, "tree_info");
    if (!json_is_array(trees) || !json_is_array(info)) {
        rc = bad("needs \"trees\" and \"tree_info\" arrays", "gradient_booster model");
        goto out;
    }
    nt = (uint32_t)GY_MIN(json_array_size(trees), (size_t)UINT32_MAX);
    if (json_array_size(trees) > GY_MODEL_MAX_TREES) {
        rc = gy_error_set(GY_E_TOO_LARGE, "XGBoost model: %zu trees (at most %u)",
                          json_array_size(trees), GY_MODEL_MAX_TREES);
        goto out;
    }
    if (json_array_size(info) != nt || (wdrop && json_array_size(wdrop) != nt)) {
        rc = bad("lengths differ from the number of trees", "tree_info or weight_drop");
        goto out;
    }
    if (!get_int(path(model, "gbtree_model_param", "num_trees", NULL), &num_trees) ||
        num_trees != (int64_t)nt) {
        rc = bad("does not match the number of trees", "gbtree_model_param.num_trees");
        goto out;
    }
    if (path(model, "gbtree_model_param", "num_parallel_tree", NULL) &&
        (!get_int(path(model, "gbtree_model_param", "num_parallel_tree", NULL), &npt) || npt < 1 ||
         npt > GY_MODEL_MAX_TREES)) {
        rc = bad("is out of range", "gbtree_model_param.num_parallel_tree");
        goto out;
    }
    xs = gy_calloc(nt ? nt : 1, sizeof(*xs));
    counts = gy_calloc(nt ? nt : 1, sizeof(*counts));
    if (!xs || !counts) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    {
        uint64_t total = 0;
        for (uint32_t i = 0; i < nt; i++) {
            rc = tree_read(json_array_get(trees, i), i, (uint32_t)num_feature, &xs[i]);
            if (rc)
                goto out;
            total += (uint64_t)xs[i].n;
            if (total > GY_MODEL_MAX_NODES) {
                rc = gy_error_set(GY_E_TOO_LARGE, "XGBoost model: more than %u nodes",
                                  GY_MODEL_MAX_NODES);
                goto out;
            }
            maxn = GY_MAX(maxn, (size_t)xs[i].n);
        }
    }
    keep = gy_malloc(maxn);
    map = gy_malloc(maxn * sizeof(*map));
    stack = gy_malloc(maxn * sizeof(*stack));
    if (!keep || !map || !stack) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < nt; i++) {
        rc = tree_reach(&xs[i], i, keep, stack, &counts[i]);
        if (rc)
            goto out;
    }
    rc = gy_model_trees_create(objective, (uint32_t)num_feature, n_groups, base_score, nt, counts,
                               &t);
    if (rc) {
        gy_error_wrap(rc, "XGBoost model");
        if (rc != GY_E_UNSUPPORTED && rc != GY_E_NOMEM)
            rc = GY_E_INVALID;
        goto out;
    }
    t->num_parallel_tree = (uint32_t)npt;
    for (uint32_t i = 0; i < nt; i++) {
        const struct xtree *x = &xs[i];
        struct gy_tree *tr = &t->trees[i];
        uint32_t k = 0;
        int64_t g;
        if (!get_int(json_array_get(info, i), &g) || g < 0 || g >= n_groups) {
            rc = gy_error_set(GY_E_INVALID, "XGBoost model: tree_info[%u] is not a group below %u",
                              i, n_groups);
            goto out;
        }
        tr->group = (uint32_t)g;
        if (wdrop) {
            if (!get_f32(json_array_get(wdrop, i), &tr->weight)) {
                rc = gy_error_set(GY_E_INVALID, "XGBoost model: weight_drop[%u] is not finite", i);
                goto out;
            }
            if (tr->weight != 1.0f)
                t->has_weights = 1;
        }
        /* Renumber the reachable nodes in their original order (root stays 0). */
        tree_reach(x, i, keep, stack, &k);
        k = 0;
        for (int64_t j = 0; j < x->n; j++)
            map[j] = keep[j] ? k++ : UINT32_MAX;
        for (int64_t j = 0; j < x->n; j++) {
            struct gy_tree_node *nd;
            int64_t l;
            const json_t *d;
            if (!keep[j])
                continue;
            nd = &tr->nodes[map[j]];
            l = arr_int(x->left, j);
            get_f32(json_array_get(x->cond, (size_t)j), &nd->value);
            if (l == -1) {
                nd->left = nd->right = -1;
                nd->feature = 0;
                nd->default_left = 0;
                continue;
            }
            d = json_array_get(x->dl, (size_t)j);
            nd->left = (int32_t)map[l];
            nd->right = (int32_t)map[arr_int(x->right, j)];
            nd->feature = (uint32_t)arr_int(x->feat, j);
            nd->default_left = json_is_true(d) || (json_is_integer(d) && json_integer_value(d));
        }
    }
    rc = gy_model_trees_validate(t);
    if (rc) {
        gy_error_wrap(GY_E_INVALID, "XGBoost model");
        rc = rc == GY_E_NOMEM ? rc : GY_E_INVALID;
        goto out;
    }
    *out = t;
    t = NULL;
out:
    gy_model_trees_free(t);
    gy_free(xs);
    gy_free(counts);
    gy_free(keep);
    gy_free(map);
    gy_free(stack);
    return rc;
}

/*
 * XGBoost writes non-finite floats as the bare tokens NaN, Infinity and -Infinity (a
 * categorical split's split_conditions is NaN), which JSON does not have. When the text holds
 * any outside a string, *copy (new) gets the text with each replaced by null - the UBJSON
 * reader's reading of a non-finite float too - so the walker can say what is really wrong.
 */
static enum gy_status nonfinite_to_null(const char *text, size_t len, char **copy, size_t *clen)
{
    static const char *const toks[] = {"-Infinity", "Infinity", "NaN"};
    struct gy_buf b;
    size_t i = 0, from = 0;
    int in_str = 0, found = 0;

    *copy = NULL;
    gy_buf_init(&b, len + len / 2 + 16);
    for (i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            continue;
        }
        for (size_t k = 0; k < GY_ARRAY_LEN(toks); k++) {
            size_t n = strlen(toks[k]);
            if (len - i >= n && memcmp(text + i, toks[k], n) == 0) {
                if (gy_buf_append(&b, text + from, i - from) || gy_buf_puts(&b, "null")) {
                    gy_buf_free(&b);
                    return gy_error_set(GY_E_NOMEM, "out of memory");
                }
                found = 1;
                i += n - 1;
                from = i + 1;
                break;
            }
        }
    }
    if (!found) {
        gy_buf_free(&b);
        return GY_OK;
    }
    if (gy_buf_append(&b, text + from, len - from)) {
        gy_buf_free(&b);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    *copy = gy_buf_detach(&b, clen);
    return GY_OK;
}

/* Parses XGBoost's JSON text (with its non-finite tokens) into *root (new). */
static enum gy_status xgb_json_parse(const char *text, size_t len, json_t **root)
{
    char *copy = NULL;
    size_t clen = 0;
    enum gy_status rc = nonfinite_to_null(text, len, &copy, &clen);
    if (rc)
        return rc;
    rc = gy_json_parse(copy ? copy : text, copy ? clen : len, GY_XGB_MAX_DEPTH, "XGBoost model",
                       root);
    gy_free(copy);
    return rc;
}

enum gy_status gy_model_trees_from_xgboost_json(const char *text, size_t len, struct gy_trees **out)
{
    json_t *root = NULL;
    enum gy_status rc;

    *out = NULL;
    rc = xgb_json_parse(text, len, &root);
    if (rc)
        return rc;
    rc = gy__model_xgboost_import(root, out);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ feature names */

enum gy_status gy__model_xgboost_names(const json_t *root, json_t **names)
{
    const json_t *fn = json_object_get(json_object_get(root, "learner"), "feature_names");
    const json_t *v;
    size_t i;

    *names = NULL;
    if (fn && !json_is_array(fn))
        return bad("is not an array", "learner.feature_names");
    json_array_foreach(fn, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0)
            return gy_error_set(GY_E_INVALID,
                                "XGBoost model: learner.feature_names[%zu] is not a non-empty "
                                "string",
                                i);
    }
    *names = fn ? json_deep_copy(fn) : json_array();
    if (!*names)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    return GY_OK;
}

enum gy_status gy_model_xgboost_feature_names(const void *data, size_t len, json_t **names)
{
    json_t *root = NULL;
    enum gy_status rc;

    *names = NULL;
    if (gy__model_xgboost_is_ubj(data, len))
        rc = gy__model_ubj_parse(data, len, 1, &root);
    else
        rc = xgb_json_parse(data, len, &root);
    if (rc)
        return rc;
    rc = gy__model_xgboost_names(root, names);
    json_decref(root);
    return rc;
}

enum gy_status gy_model_trees_from_xgboost(const void *data, size_t len, struct gy_trees **out)
{
    if (gy__model_xgboost_is_ubj(data, len))
        return gy_model_trees_from_xgboost_ubj(data, len, out);
    return gy_model_trees_from_xgboost_json(data, len, out);
}
