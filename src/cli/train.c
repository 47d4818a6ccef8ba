/* SPDX-License-Identifier: MIT */
/*
 * train.c - `gyre train`: the path from a dataset version to a tracked, registered model.
 *
 *   lake scan (target, time) -> labels and split -> features fitted on the training rows ->
 *   float32 matrix -> trainer (XGBoost, logistic, linear) -> metrics on train/valid/test ->
 *   model bundle (preprocessing + estimator + reference profile) -> object store ->
 *   tracking run (params, per-round metrics with steps, artifacts, dataset lineage) ->
 *   registry (optional) with an alias.
 *
 * The bundle's own evaluator is run on the validation rows and compared with the trainer's
 * predictions, so a bundle that would serve different numbers than it was evaluated with is
 * never written.
 */
#include "auth/auth.h"
#include "cli/cli.h"
#include "features/features.h"
#include "lake/lake.h"
#include "models/models.h"
#include "registry/registry.h"
#include "tracking/tracking.h"
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define MAX_PARAMS 64
#define MAX_CLASSES GY_LINEAR_MAX_CLASSES

enum trainer { T_XGBOOST, T_LOGISTIC, T_LINEAR };

struct job {
    struct gy_db *db;
    char dataset[GY_LAKE_MAX_NAME + 1];
    int64_t version;
    const char *target, *time_col;
    enum trainer trainer;
    enum gy_train_task task;
    int task_given;
    int n_classes;
    char *classes[MAX_CLASSES]; /* string targets: class labels in id order */
    int quiet, tty;
    struct gy_train_param params[MAX_PARAMS];
    size_t nparams;
    /* data */
    json_t *manifest;
    struct gy_schema *schema;
    size_t nrows;   /* rows in the version */
    size_t nkept;   /* rows with a target value */
    uint8_t *keep;  /* nrows: 1 when the row has a target */
    float *labels;  /* nkept */
    int64_t *times; /* nkept, or NULL */
    struct gy_split split;
    struct gy_features *features;
    struct gy_matrix x; /* nkept x n_features */
    /* per-round metrics collected from the trainer's callback */
    struct gy_tracking_metric *points;
    char **point_keys;
    size_t npoints, cap_points;
    int64_t t0_ms;
};

/* ------------------------------------------------------------------ labels */

static int class_id(struct job *j, const char *p, size_t len)
{
    for (int i = 0; i < j->n_classes; i++)
        if (strlen(j->classes[i]) == len && memcmp(j->classes[i], p, len) == 0)
            return i;
    if (j->n_classes >= MAX_CLASSES)
        return -1;
    j->classes[j->n_classes] = gy_strndup(p, len);
    if (!j->classes[j->n_classes])
        return -1;
    return j->n_classes++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pass 1: reads the target (and time) column into labels, decides the task. */
static enum gy_status load_labels(struct job *j)
{
    const char *cols[2] = {j->target, j->time_col};
    struct gy_lake_scan *s = NULL;
    enum gy_status rc;
    enum gy_type tt;
    size_t at = 0;
    int all01 = 1;
    int32_t *raw_ids = NULL;

    rc = gy_lake_scan_open(j->db, j->dataset, j->version, cols, j->time_col ? 2 : 1, &s);
    if (rc)
        return rc;
    j->nrows = (size_t)gy_lake_scan_rows(s);
    tt = gy_lake_scan_schema(s)->cols[0].type;
    if (j->time_col && gy_lake_scan_schema(s)->cols[1].type != GY_TYPE_TIMESTAMP &&
        gy_lake_scan_schema(s)->cols[1].type != GY_TYPE_INT64) {
        rc = gy_error_set(GY_E_INVALID, "--split time:%s needs a timestamp or int64 column",
                          j->time_col);
        goto out;
    }
    j->keep = gy_calloc(j->nrows ? j->nrows : 1, 1);
    j->labels = gy_malloc((j->nrows ? j->nrows : 1) * sizeof *j->labels);
    raw_ids = gy_malloc((j->nrows ? j->nrows : 1) * sizeof *raw_ids);
    if (j->time_col)
        j->times = gy_malloc((j->nrows ? j->nrows : 1) * sizeof *j->times);
    if (!j->keep || !j->labels || !raw_ids || (j->time_col && !j->times)) {
        rc = GY_E_NOMEM;
        goto out;
    }
    for (;;) {
        const struct gy_colvec *c;
        size_t n;
        if ((rc = gy_lake_scan_next(s, &c, &n)) != GY_OK)
            goto out;
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++, at++) {
            float y = NAN;
            if (!c[0].valid[i] || (j->time_col && !c[1].valid[i]))
                continue;
            switch (tt) {
            case GY_TYPE_BOOL:
                y = c[0].b[i];
                break;
            case GY_TYPE_INT64:
            case GY_TYPE_TIMESTAMP:
                y = (float)c[0].i64[i];
                break;
            case GY_TYPE_FLOAT64:
                y = (float)c[0].f64[i];
                break;
            case GY_TYPE_STRING: {
                int id = class_id(j, c[0].data + c[0].off[i], c[0].off[i + 1] - c[0].off[i]);
                if (id < 0) {
                    rc = gy_error_set(GY_E_TOO_LARGE, "target \"%s\" has more than %d classes",
                                      j->target, MAX_CLASSES);
                    goto out;
                }
                raw_ids[j->nkept] = id;
                y = (float)id;
                break;
            }
            }
            if (!isfinite(y))
                continue;
            if (y != 0.0f && y != 1.0f)
                all01 = 0;
            j->keep[at] = 1;
            if (j->time_col)
                j->times[j->nkept] = c[1].i64[i];
            j->labels[j->nkept++] = y;
        }
    }
    if (j->nkept < 10) {
        rc = gy_error_set(GY_E_INVALID, "%s@%lld has %zu rows with a target value; need >= 10",
                          j->dataset, (long long)j->version, j->nkept);
        goto out;
    }
    if (tt == GY_TYPE_STRING) {
        /* Class ids follow the sorted labels, so they do not depend on row order. */
        char *sorted[MAX_CLASSES];
        int remap[MAX_CLASSES];
        memcpy(sorted, j->classes, (size_t)j->n_classes * sizeof *sorted);
        qsort(sorted, (size_t)j->n_classes, sizeof *sorted, cmp_str);
        for (int a = 0; a < j->n_classes; a++)
            for (int b = 0; b < j->n_classes; b++)
                if (j->classes[a] == sorted[b])
                    remap[a] = b;
        memcpy(j->classes, sorted, (size_t)j->n_classes * sizeof *sorted);
        for (size_t i = 0; i < j->nkept; i++)
            j->labels[i] = (float)remap[raw_ids[i]];
    }
    if (!j->task_given) {
        if (tt == GY_TYPE_STRING)
            j->task = j->n_classes > 2 ? GY_TRAIN_MULTICLASS : GY_TRAIN_BINARY;
        else if (tt == GY_TYPE_BOOL || all01)
            j->task = GY_TRAIN_BINARY;
        else
            j->task = GY_TRAIN_REGRESSION;
        if (j->trainer == T_LINEAR)
            j->task = GY_TRAIN_REGRESSION;
    }
    if (j->task != GY_TRAIN_REGRESSION) {
        float mx = 0;
        for (size_t i = 0; i < j->nkept; i++) {
            if (j->labels[i] < 0 || j->labels[i] != floorf(j->labels[i])) {
                rc = gy_error_set(GY_E_INVALID,
                                  "target \"%s\": class labels must be integers >= 0 (row "
                                  "value %g); use --task regression for a numeric target",
                                  j->target, (double)j->labels[i]);
                goto out;
            }
            mx = j->labels[i] > mx ? j->labels[i] : mx;
        }
        if (tt != GY_TYPE_STRING)
            j->n_classes = (int)mx + 1;
        if (j->task == GY_TRAIN_BINARY && j->n_classes > 2) {
            rc = gy_error_set(GY_E_INVALID, "target \"%s\" has %d classes; use --task multiclass",
                              j->target, j->n_classes);
            goto out;
        }
        if (j->n_classes < 2)
            j->n_classes = 2;
    }
out:
    gy_free(raw_ids);
    gy_lake_scan_free(s);
    return rc;
}

/* ------------------------------------------------------------------ features and matrix */

/* Pass 2 fits the preprocessing on the training rows; pass 3 builds the matrix of every kept
 * row. Masks are per batch: train rows (pass 2) or kept rows (pass 3). */
static enum gy_status build_matrix(struct job *j, const struct gy_feature_spec *spec)
{
    struct gy_features_fitter *fit = NULL;
    struct gy_lake_scan *s = NULL;
    uint8_t *is_train = NULL, *mask = NULL;
    size_t base, kept;
    enum gy_status rc;
    enum gy_features_mode mode = j->trainer == T_XGBOOST ? GY_FEATURES_TREE : GY_FEATURES_LINEAR;

    is_train = gy_calloc(j->nkept, 1);
    mask = gy_malloc(65536 * 4);
    if (!is_train || !mask) {
        rc = GY_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < j->split.n_train; i++)
        is_train[j->split.train[i]] = 1;
    if ((rc = gy_features_fit_begin(spec, j->schema, j->target, mode, &fit)) != GY_OK)
        goto out;
    for (int pass = 0; pass < 2; pass++) {
        if ((rc = gy_lake_scan_open(j->db, j->dataset, j->version, NULL, 0, &s)) != GY_OK)
            goto out;
        base = 0;
        kept = 0;
        for (;;) {
            const struct gy_colvec *c;
            size_t n, rows_out = 0;
            if ((rc = gy_lake_scan_next(s, &c, &n)) != GY_OK)
                goto out;
            if (n == 0)
                break;
            if (n > 65536 * 4) {
                rc = gy_error_set(GY_E_CORRUPT, "chunk of %zu rows", n);
                goto out;
            }
            for (size_t i = 0; i < n; i++) {
                mask[i] = j->keep[base + i];
                if (mask[i]) {
                    if (pass == 0)
                        mask[i] = is_train[kept];
                    kept++;
                }
            }
            if (pass == 0) {
                rc = gy_features_fit_add(fit, c, n, mask);
            } else {
                size_t before = kept;
                for (size_t i = 0; i < n; i++)
                    before -= mask[i] ? 1 : 0;
                rc = gy_features_apply_cols(j->features, j->schema, c, n, mask,
                                            j->x.x + before * j->x.cols, &rows_out);
            }
            if (rc)
                goto out;
            base += n;
        }
        gy_lake_scan_free(s);
        s = NULL;
        if (pass == 0) {
            rc = gy_features_fit_finish(fit, &j->features);
            gy_features_fitter_free(fit);
            fit = NULL;
            if (rc)
                goto out;
            rc = gy_train_matrix_create(j->nkept, gy_features_n_outputs(j->features), &j->x);
            if (rc)
                goto out;
        }
    }
out:
    gy_features_fitter_free(fit);
    gy_lake_scan_free(s);
    gy_free(is_train);
    gy_free(mask);
    return rc;
}

/* ------------------------------------------------------------------ progress and metrics */

static enum gy_status add_point(struct job *j, const char *key, double v, int64_t step)
{
    if (j->npoints == j->cap_points) {
        size_t cap = j->cap_points ? j->cap_points * 2 : 256;
        struct gy_tracking_metric *p = gy_realloc(j->points, cap * sizeof *p);
        char **k;
        if (!p)
            return GY_E_NOMEM;
        j->points = p;
        k = gy_realloc(j->point_keys, cap * sizeof *k);
        if (!k)
            return GY_E_NOMEM;
        j->point_keys = k;
        j->cap_points = cap;
    }
    j->point_keys[j->npoints] = gy_strdup(key);
    if (!j->point_keys[j->npoints])
        return GY_E_NOMEM;
    j->points[j->npoints].key = j->point_keys[j->npoints];
    j->points[j->npoints].value = v;
    j->points[j->npoints].timestamp_ms = gy_time_wall_us() / 1000;
    j->points[j->npoints].step = step;
    j->npoints++;
    return GY_OK;
}

static enum gy_status on_progress(void *arg, const struct gy_train_progress *p)
{
    struct job *j = arg;
    char key[128];
    for (size_t i = 0; i < p->n_evals; i++) {
        enum gy_status rc;
        /* Per-round series are named as XGBoost prints them ("valid-logloss"); the final
         * metrics computed by gyre use "valid_logloss". */
        snprintf(key, sizeof key, "%s-%s", p->evals[i].set, p->evals[i].metric);
        if ((rc = add_point(j, key, p->evals[i].value, p->iteration)) != GY_OK)
            return rc;
    }
    if (!j->quiet) {
        fprintf(stderr, "%s  round %d/%d", j->tty ? "\r" : "", p->iteration + 1, p->rounds);
        for (size_t i = 0; i < p->n_evals; i++)
            fprintf(stderr, "  %s-%s %.5f", p->evals[i].set, p->evals[i].metric, p->evals[i].value);
        fprintf(stderr, "  (%.1f s)%s", p->elapsed_s, j->tty ? "\033[K" : "\n");
    }
    return GY_OK;
}

/* Predictions (probabilities or values) of the trained estimator as doubles, n x k. */
static enum gy_status eval_set(struct job *j, const char *set, const size_t *idx, size_t n,
                               const double *pred, json_t *metrics_json)
{
    struct gy_metrics m;
    float *y = NULL;
    const char *names[32];
    double values[32];
    size_t nm;
    enum gy_status rc;
    if (n == 0)
        return GY_OK;
    if ((rc = gy_train_gather(j->labels, idx, n, &y)) != GY_OK)
        return rc;
    rc = gy_metrics_compute(j->task, j->n_classes, y, pred, NULL, n, &m);
    gy_free(y);
    if (rc) {
        /* Undefined metrics (one class in a small split) are reported, not fatal. */
        if (!j->quiet)
            fprintf(stderr, "  %s metrics: %s\n", set, gy_error_msg());
        return GY_OK;
    }
    nm = gy_metrics_list(&m, names, values, GY_ARRAY_LEN(names));
    for (size_t i = 0; i < nm && rc == GY_OK; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s_%s", set, names[i]);
        if (isfinite(values[i])) {
            rc = add_point(j, key, values[i], 0);
            if (rc == GY_OK)
                rc = gy_json_set(metrics_json, key, json_real(values[i]));
        }
    }
    gy_metrics_free(&m);
    return rc;
}

/*
 * --baseline REF: the registered model REF (e.g. the champion) evaluated on this training's
 * validation rows with its own bundle (its fitted preprocessing and estimator), logged as
 * "baseline_valid_<metric>" next to the candidate's "valid_<metric>", with the tag
 * gyre.baseline = "MODEL@VERSION". This is how a pipeline gate compares a candidate with the
 * champion on the same holdout. A baseline that cannot be evaluated on this data (its inputs
 * are missing, a different number of outputs) is not an error of the training: the reason is
 * logged as the tag gyre.baseline.error and the gate that needs it fails with that reason.
 */
static enum gy_status baseline_eval(struct job *j, const char *run_id, const char *ref, size_t k,
                                    json_t *metrics_json)
{
    struct gy_registry_version_info *vi = NULL;
    struct gy_model_bundle *bundle = NULL;
    struct gy_lake_scan *s = NULL;
    struct gy_matrix all, xv;
    struct gy_buf b;
    const struct gy_features *f;
    const struct gy_trees *trees;
    const struct gy_linear *lin;
    float *marg = NULL, *outp = NULL;
    double *pred = NULL;
    size_t nout, base = 0, done = 0, ng, n = j->split.n_valid;
    char tag[GY_REGISTRY_NAME_MAX + 32];
    enum gy_status rc;

    memset(&all, 0, sizeof all);
    memset(&xv, 0, sizeof xv);
    gy_buf_init(&b, (size_t)1 << 31);
    if ((rc = gy_registry_resolve(j->db, ref, &vi)) != GY_OK)
        goto out;
    if (!vi->bundle_hash) {
        rc = gy_error_set(GY_E_INVALID, "%s version %lld has no gyre bundle", vi->name,
                          (long long)vi->version);
        goto out;
    }
    snprintf(tag, sizeof tag, "%s@%lld", vi->name, (long long)vi->version);
    if ((rc = gy_db_object_get(j->db, vi->bundle_hash, &b)) != GY_OK ||
        (rc = gy_model_bundle_load(b.data, b.len, &bundle)) != GY_OK)
        goto out;
    f = gy_model_bundle_features(bundle);
    trees = gy_model_bundle_trees(bundle);
    lin = gy_model_bundle_linear(bundle);
    nout = trees ? gy_model_link_n_outputs(trees->link, trees->n_groups)
                 : (lin->link == GY_LINK_SOFTMAX ? lin->n_outputs : 1);
    if (nout != k) {
        rc = gy_error_set(GY_E_INVALID, "%s gives %zu outputs per row, this model %zu", tag, nout,
                          k);
        goto out;
    }
    if ((rc = gy_train_matrix_create(j->nkept, gy_features_n_outputs(f), &all)) != GY_OK)
        goto out;
    if ((rc = gy_lake_scan_open(j->db, j->dataset, j->version, NULL, 0, &s)) != GY_OK)
        goto out;
    for (;;) {
        const struct gy_colvec *c;
        size_t rows, got = 0;
        if ((rc = gy_lake_scan_next(s, &c, &rows)) != GY_OK)
            goto out;
        if (rows == 0)
            break;
        if ((rc = gy_features_apply_cols(f, j->schema, c, rows, j->keep + base,
                                         all.x + done * all.cols, &got)) != GY_OK)
            goto out;
        base += rows;
        done += got;
    }
    if (done != j->nkept) {
        rc = gy_error_set(GY_E_INTERNAL, "baseline: %zu rows transformed of %zu", done, j->nkept);
        goto out;
    }
    if ((rc = gy_train_matrix_take(&all, j->split.valid, n, &xv)) != GY_OK)
        goto out;
    ng = trees ? GY_MAX((size_t)trees->n_groups, k) : GY_MAX((size_t)lin->n_outputs, k);
    marg = gy_malloc((n ? n : 1) * ng * sizeof(float));
    outp = gy_malloc((n ? n : 1) * k * sizeof(float));
    pred = gy_malloc((n ? n : 1) * k * sizeof(double));
    if (!marg || !outp || !pred) {
        rc = GY_E_NOMEM;
        goto out;
    }
    if (trees)
        gy_model_trees_predict(trees, xv.x, n, marg, outp);
    else
        gy_model_linear_predict(lin, xv.x, n, marg, outp);
    for (size_t i = 0; i < n * k; i++)
        pred[i] = outp[i];
    if ((rc = gy_tracking_run_tag_set(j->db, run_id, "gyre.baseline", tag)) != GY_OK)
        goto out;
    rc = eval_set(j, "baseline_valid", j->split.valid, n, pred, metrics_json);
    if (rc == GY_OK && !j->quiet)
        fprintf(stderr, "  baseline %s evaluated on the same %zu validation rows\n", tag, n);
out:
    if (rc != GY_OK && rc != GY_E_NOMEM && rc != GY_E_BUSY) {
        /* Not comparable: say why on the run, and go on. */
        char why[512];
        snprintf(why, sizeof why, "%s: %s", ref, gy_error_msg());
        if (!j->quiet)
            fprintf(stderr, "  baseline %s\n", why);
        rc = gy_tracking_run_tag_set(j->db, run_id, "gyre.baseline.error", why);
    }
    gy_lake_scan_free(s);
    gy_free(marg);
    gy_free(outp);
    gy_free(pred);
    gy_train_matrix_free(&xv);
    gy_train_matrix_free(&all);
    gy_model_bundle_free(bundle);
    gy_buf_free(&b);
    gy_registry_version_info_free(vi);
    return rc;
}

/* ------------------------------------------------------------------ the command */

static enum gy_status log_params(struct job *j, const char *run_id, const char *trainer, int rounds,
                                 const char *split_desc, uint64_t seed, const char *features_desc)
{
    struct gy_tracking_tag p[MAX_PARAMS + 12];
    char rounds_s[32], seed_s[32], version_s[64], classes_s[32];
    size_t n = 0;
    snprintf(rounds_s, sizeof rounds_s, "%d", rounds);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    snprintf(version_s, sizeof version_s, "%s@%lld", j->dataset, (long long)j->version);
    snprintf(classes_s, sizeof classes_s, "%d", j->n_classes);
    p[n++] = (struct gy_tracking_tag){"trainer", trainer};
    p[n++] = (struct gy_tracking_tag){"dataset", version_s};
    p[n++] = (struct gy_tracking_tag){"target", j->target};
    p[n++] = (struct gy_tracking_tag){"task", gy_train_task_name(j->task)};
    p[n++] = (struct gy_tracking_tag){"split", split_desc};
    p[n++] = (struct gy_tracking_tag){"seed", seed_s};
    p[n++] = (struct gy_tracking_tag){"features", features_desc};
    if (j->trainer == T_XGBOOST)
        p[n++] = (struct gy_tracking_tag){"rounds", rounds_s};
    if (j->task == GY_TRAIN_MULTICLASS)
        p[n++] = (struct gy_tracking_tag){"num_class", classes_s};
    for (size_t i = 0; i < j->nparams; i++) {
        size_t k;
        /* a later --param for the same key wins, as in the trainer */
        for (k = 0; k < n; k++)
            if (strcmp(p[k].key, j->params[i].key) == 0)
                break;
        p[k] = (struct gy_tracking_tag){j->params[i].key, j->params[i].value};
        if (k == n)
            n++;
    }
    return gy_tracking_log_batch(j->db, run_id, NULL, 0, p, n, NULL, 0);
}

static void job_free(struct job *j)
{
    for (int i = 0; i < j->n_classes && i < MAX_CLASSES; i++)
        gy_free(j->classes[i]);
    json_decref(j->manifest);
    gy_schema_free(j->schema);
    gy_free(j->keep);
    gy_free(j->labels);
    gy_free(j->times);
    gy_train_split_free(&j->split);
    gy_features_free(j->features);
    gy_train_matrix_free(&j->x);
    for (size_t i = 0; i < j->npoints; i++)
        gy_free(j->point_keys[i]);
    gy_free(j->point_keys);
    gy_free(j->points);
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: gyre train --dataset NAME[@V] --target COL [--trainer xgboost|logistic|linear]\n"
        "         [--features SPEC | --features-file FILE] [--param k=v]... [--rounds N]\n"
        "         [--early-stopping N] [--task binary|multiclass|regression]\n"
        "         [--split random|stratified|time:COL] [--valid F] [--test F] [--seed S]\n"
        "         [--experiment NAME] [--run-name NAME] [--register MODEL] [--alias A]\n"
        "         [--baseline MODEL[@ALIAS|@V]]\n"
        "         [--json] [--quiet]\n");
    return GY_EXIT_USAGE;
}

static int cmd_train(int argc, char **argv)
{
    struct gy_cli_opt o[] = {
        {"--dataset", NULL, 1, NULL, 0},       {"--target", NULL, 1, NULL, 0},
        {"--trainer", NULL, 1, NULL, 0},       {"--features", NULL, 1, NULL, 0},
        {"--features-file", NULL, 1, NULL, 0}, {"--param", "-p", 1, NULL, 0},
        {"--rounds", NULL, 1, NULL, 0},        {"--early-stopping", NULL, 1, NULL, 0},
        {"--task", NULL, 1, NULL, 0},          {"--split", NULL, 1, NULL, 0},
        {"--valid", NULL, 1, NULL, 0},         {"--test", NULL, 1, NULL, 0},
        {"--seed", NULL, 1, NULL, 0},          {"--experiment", NULL, 1, NULL, 0},
        {"--run-name", NULL, 1, NULL, 0},      {"--register", NULL, 1, NULL, 0},
        {"--alias", NULL, 1, NULL, 0},         {"--json", NULL, 0, NULL, 0},
        {"--quiet", "-q", 0, NULL, 0},         {"--nthread", NULL, 1, NULL, 0},
        {"--run-id", NULL, 1, NULL, 0},        {"--eval-train", NULL, 0, NULL, 0},
        {"--baseline", NULL, 1, NULL, 0},
    };
    struct job j;
    struct gy_arena *arena = NULL;
    struct gy_feature_spec *spec = NULL;
    struct gy_split_config sc = {GY_SPLIT_STRATIFIED, 0.2, 0.0, 42};
    struct gy_xgb_result xr;
    struct gy_linear_model lm;
    struct gy_trees *trees = NULL;
    struct gy_linear *lin = NULL;
    struct gy_model_builder *mb = NULL;
    struct gy_model_bundle *bundle = NULL;
    struct gy_buf bundle_buf;
    json_t *metrics_json = NULL, *params_json = NULL, *classes_json = NULL, *features_json = NULL;
    char *pos[8], run_id[GY_TRACKING_RUN_ID_LEN + 1] = "", bundle_hex[GY_SHA256_HEX_LEN + 1];
    char split_desc[GY_LAKE_MAX_NAME + 32], objective[96] = "";
    const char *v, *trainer_name = "xgboost", *features_desc = "default";
    double *pred_valid = NULL, *pred_train = NULL, *pred_test = NULL;
    float *scores_train = NULL;
    size_t npos, k = 1;
    int64_t model_version = 0;
    int rounds = 100, early = 0, nthread = 0, run_open = 0, ex;
    enum gy_status rc = GY_OK;
    int64_t t0 = gy_time_mono_ns();

    memset(&j, 0, sizeof j);
    memset(&xr, 0, sizeof xr);
    memset(&lm, 0, sizeof lm);
    gy_buf_init(&bundle_buf, (size_t)1 << 31);
    if (argc > 200)
        return usage();
    arena = gy_arena_create(4096);
    if (!arena)
        return gy_cli_fail(GY_E_NOMEM, NULL);
    /* --param may repeat: collect every occurrence before the generic parser keeps the last. */
    for (int i = 0; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--param") == 0 || strcmp(argv[i], "-p") == 0) {
            if (j.nparams == MAX_PARAMS) {
                fprintf(stderr, "gyre: at most %d --param\n", MAX_PARAMS);
                gy_arena_free(arena);
                return GY_EXIT_USAGE;
            }
            if ((rc = gy_train_param_parse(argv[i + 1], arena, &j.params[j.nparams])) != GY_OK) {
                gy_arena_free(arena);
                return gy_cli_fail(rc, "--param");
            }
            j.nparams++;
        }
    }
    if ((ex = gy_cli_parse(argc, argv, o, NOPTS(o), pos, &npos)) || npos) {
        gy_arena_free(arena);
        return usage();
    }
    if (!gy_cli_get(o, NOPTS(o), "--dataset") || !gy_cli_get(o, NOPTS(o), "--target")) {
        gy_arena_free(arena);
        return usage();
    }
    j.quiet = gy_cli_get(o, NOPTS(o), "--quiet") != NULL;
    j.tty = isatty(STDERR_FILENO);
    j.target = gy_cli_get(o, NOPTS(o), "--target");
    if ((rc = gy_lake_parse_ref(gy_cli_get(o, NOPTS(o), "--dataset"), j.dataset, &j.version)))
        goto fail;
    /* gyre's XGBoost default is the histogram method (XGBoost 2's default too): on 1.7 "auto"
     * picks the exact method, about ten times slower on a few hundred thousand rows. It goes
     * first, so a --param tree_method=... given by the user wins. */
    {
        int has_tm = 0;
        for (size_t i = 0; i < j.nparams; i++)
            has_tm |= strcmp(j.params[i].key, "tree_method") == 0;
        v = gy_cli_get(o, NOPTS(o), "--trainer");
        if (!has_tm && (!v || strcmp(v, "xgboost") == 0) && j.nparams < MAX_PARAMS) {
            memmove(j.params + 1, j.params, j.nparams * sizeof j.params[0]);
            j.params[0] = (struct gy_train_param){"tree_method", "hist"};
            j.nparams++;
        }
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--trainer"))) {
        trainer_name = v;
        if (strcmp(v, "xgboost") == 0)
            j.trainer = T_XGBOOST;
        else if (strcmp(v, "logistic") == 0)
            j.trainer = T_LOGISTIC;
        else if (strcmp(v, "linear") == 0 || strcmp(v, "ridge") == 0)
            j.trainer = T_LINEAR;
        else {
            fprintf(stderr, "gyre: --trainer must be xgboost, logistic or linear\n");
            gy_arena_free(arena);
            return GY_EXIT_USAGE;
        }
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--task"))) {
        j.task_given = 1;
        if (strcmp(v, "binary") == 0)
            j.task = GY_TRAIN_BINARY;
        else if (strcmp(v, "multiclass") == 0)
            j.task = GY_TRAIN_MULTICLASS;
        else if (strcmp(v, "regression") == 0)
            j.task = GY_TRAIN_REGRESSION;
        else {
            fprintf(stderr, "gyre: --task must be binary, multiclass or regression\n");
            gy_arena_free(arena);
            return GY_EXIT_USAGE;
        }
    }
    {
        int64_t n;
        double f;
        char *end;
        if ((v = gy_cli_get(o, NOPTS(o), "--rounds")) &&
            (gy_parse_int64(v, &n) || n < 1 || n > 100000)) {
            fprintf(stderr, "gyre: --rounds takes 1..100000\n");
            gy_arena_free(arena);
            return GY_EXIT_USAGE;
        } else if (v) {
            rounds = (int)n;
        }
        if ((v = gy_cli_get(o, NOPTS(o), "--early-stopping")) &&
            (gy_parse_int64(v, &n) || n < 0 || n > 100000)) {
            fprintf(stderr, "gyre: --early-stopping takes a round count\n");
            gy_arena_free(arena);
            return GY_EXIT_USAGE;
        } else if (v) {
            early = (int)n;
        }
        if ((v = gy_cli_get(o, NOPTS(o), "--nthread")) &&
            (gy_parse_int64(v, &n) || n < 0 || n > 1024)) {
            fprintf(stderr, "gyre: --nthread takes 0..1024\n");
            gy_arena_free(arena);
            return GY_EXIT_USAGE;
        } else if (v) {
            nthread = (int)n;
        }
        if ((v = gy_cli_get(o, NOPTS(o), "--seed"))) {
            if (gy_parse_int64(v, &n) || n < 0) {
                fprintf(stderr, "gyre: --seed takes an integer >= 0\n");
                gy_arena_free(arena);
                return GY_EXIT_USAGE;
            }
            sc.seed = (uint64_t)n;
        }
        if ((v = gy_cli_get(o, NOPTS(o), "--valid"))) {
            f = strtod(v, &end);
            if (*end || !(f > 0 && f < 1)) {
                fprintf(stderr, "gyre: --valid takes a fraction in (0, 1)\n");
                gy_arena_free(arena);
                return GY_EXIT_USAGE;
            }
            sc.valid_fraction = f;
        }
        if ((v = gy_cli_get(o, NOPTS(o), "--test"))) {
            f = strtod(v, &end);
            if (*end || !(f >= 0 && f < 1)) {
                fprintf(stderr, "gyre: --test takes a fraction in [0, 1)\n");
                gy_arena_free(arena);
                return GY_EXIT_USAGE;
            }
            sc.test_fraction = f;
        }
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--split"))) {
        if (strcmp(v, "random") == 0)
            sc.method = GY_SPLIT_RANDOM;
        else if (strcmp(v, "stratified") == 0)
            sc.method = GY_SPLIT_STRATIFIED;
        else if (strncmp(v, "time:", 5) == 0 && v[5]) {
            sc.method = GY_SPLIT_TIME;
            j.time_col = v + 5;
        } else {
            fprintf(stderr, "gyre: --split must be random, stratified or time:COLUMN\n");
            gy_arena_free(arena);
            return GY_EXIT_USAGE;
        }
    }
    /* Feature spec: flags or a file (JSON or YAML). */
    if ((v = gy_cli_get(o, NOPTS(o), "--features-file"))) {
        rc = gy_features_spec_load_file(v, &spec);
        features_desc = v;
    } else {
        rc = gy_features_spec_create(&spec);
        if (rc == GY_OK && (v = gy_cli_get(o, NOPTS(o), "--features"))) {
            rc = gy_features_spec_add_flags(spec, v);
            features_desc = v;
        }
    }
    if (rc)
        goto fail;
    if ((ex = gy_cli_open_db(&j.db))) {
        gy_features_spec_free(spec);
        gy_arena_free(arena);
        return ex;
    }
    if (gy_cli_get(o, NOPTS(o), "--run-id")) {
        /* Who trains this run, before anything slow: a controller that restarts while this
         * process loads the data finds it alive here and waits instead of training again. */
        char who[300], host[256] = "";
        gethostname(host, sizeof host - 1);
        snprintf(who, sizeof who, "%s:%ld", host, (long)getpid());
        if ((rc = gy_tracking_run_tag_set(j.db, gy_cli_get(o, NOPTS(o), "--run-id"), "gyre.trainer",
                                          who)) != GY_OK)
            goto fail;
    }

    /* The dataset version, pinned: "latest" becomes a number recorded everywhere. */
    if ((rc = gy_lake_version_get(j.db, j.dataset, j.version, &j.manifest)) != GY_OK)
        goto fail;
    j.version = gy_json_int(j.manifest, "version", 0);
    if ((rc = gy_schema_from_json(json_object_get(j.manifest, "schema"), &j.schema)) != GY_OK)
        goto fail;
    if (gy_schema_find(j.schema, j.target) < 0) {
        rc = gy_error_set(GY_E_INVALID, "%s@%lld has no column \"%s\"", j.dataset,
                          (long long)j.version, j.target);
        goto fail;
    }
    if (!j.quiet)
        fprintf(stderr, "gyre train: %s@%lld, %lld rows, target %s, trainer %s\n", j.dataset,
                (long long)j.version, (long long)gy_json_int(j.manifest, "rows", 0), j.target,
                trainer_name);
    if ((rc = load_labels(&j)) != GY_OK)
        goto fail;
    if (j.task == GY_TRAIN_REGRESSION && sc.method == GY_SPLIT_STRATIFIED)
        sc.method = GY_SPLIT_RANDOM;
    if ((rc = gy_train_split(&sc, j.nkept, j.labels, j.times, &j.split)) != GY_OK)
        goto fail;
    snprintf(split_desc, sizeof split_desc, "%s valid=%g test=%g",
             sc.method == GY_SPLIT_RANDOM       ? "random"
             : sc.method == GY_SPLIT_STRATIFIED ? "stratified"
                                                : "time",
             sc.valid_fraction, sc.test_fraction);
    if (j.time_col) {
        size_t l = strlen(split_desc);
        snprintf(split_desc + l, sizeof split_desc - l, " by %s", j.time_col);
    }
    if (!j.quiet)
        fprintf(stderr, "  task %s%s, split %s: %zu train, %zu valid, %zu test rows\n",
                gy_train_task_name(j.task), j.task == GY_TRAIN_MULTICLASS ? "" : "", split_desc,
                j.split.n_train, j.split.n_valid, j.split.n_test);
    if ((rc = build_matrix(&j, spec)) != GY_OK)
        goto fail;
    if (!j.quiet)
        fprintf(stderr, "  features: %zu inputs -> %zu model features (%.1f s)\n",
                gy_features_n_inputs(j.features), gy_features_n_outputs(j.features),
                (double)(gy_time_mono_ns() - t0) / 1e9);

    /* The tracked run. */
    {
        const char *exp_name = gy_cli_get(o, NOPTS(o), "--experiment");
        const char *user = getenv("USER");
        char src[128];
        int64_t exp_id = 0;
        struct gy_tracking_tag tags[3];
        struct gy_tracking_run_create rcfg;
        const char *given = gy_cli_get(o, NOPTS(o), "--run-id");
        if (given) {
            /* A run created for us (a training job of the server): train into it. */
            json_t *run = NULL;
            const char *st;
            struct gy_tracking_run_update u = {GY_RUN_RUNNING, 0, 0, NULL};
            if ((rc = gy_tracking_run_get(j.db, given, &run)) != GY_OK)
                goto fail;
            st = gy_json_str(json_object_get(run, "info"), "status", "");
            if (strcmp(st, "SCHEDULED") != 0 && strcmp(st, "RUNNING") != 0) {
                rc = gy_error_set(GY_E_INVALID, "run %s is %s, not SCHEDULED", given, st);
                json_decref(run);
                goto fail;
            }
            json_decref(run);
            snprintf(run_id, sizeof run_id, "%s", given);
            if ((rc = gy_tracking_run_update(j.db, run_id, &u, NULL)) != GY_OK)
                goto fail;
            run_open = 1;
        }
        if (!given && exp_name &&
            (rc = gy_tracking_experiment_ensure(j.db, exp_name, &exp_id)) != GY_OK)
            goto fail;
        snprintf(src, sizeof src, "gyre train %s", trainer_name);
        tags[0] = (struct gy_tracking_tag){"mlflow.source.name", src};
        tags[1] = (struct gy_tracking_tag){"mlflow.source.type", "LOCAL"};
        tags[2] = (struct gy_tracking_tag){"mlflow.user", user ? user : "gyre"};
        memset(&rcfg, 0, sizeof rcfg);
        rcfg.experiment_id = exp_id;
        rcfg.run_name = gy_cli_get(o, NOPTS(o), "--run-name");
        rcfg.user_id = user ? user : "gyre";
        rcfg.tags = tags;
        rcfg.ntags = 3;
        if (!given && (rc = gy_tracking_run_create(j.db, &rcfg, run_id)) != GY_OK)
            goto fail;
        run_open = 1;
        if ((rc = log_params(&j, run_id, trainer_name, rounds, split_desc, sc.seed,
                             features_desc)) != GY_OK)
            goto fail;
        {
            /* The digest names the exact data: a hash of the version's segment list. */
            struct gy_buf cb;
            char digest[GY_SHA256_HEX_LEN + 1];
            gy_buf_init(&cb, (size_t)1 << 30);
            rc = gy_json_dump(json_object_get(j.manifest, "chunks"), &cb);
            if (rc == GY_OK) {
                gy_sha256_hex(cb.data, cb.len, digest);
                digest[32] = '\0';
                rc =
                    gy_tracking_log_dataset(j.db, run_id, j.dataset, j.version, digest, "training");
            }
            gy_buf_free(&cb);
            if (rc)
                goto fail;
        }
    }

    {
        struct gy_matrix xt, xv, xs;
        float *yt = NULL, *yv = NULL;
        memset(&xt, 0, sizeof xt);
        memset(&xv, 0, sizeof xv);
        memset(&xs, 0, sizeof xs);
        rc = gy_train_matrix_take(&j.x, j.split.train, j.split.n_train, &xt);
        if (rc == GY_OK)
            rc = gy_train_matrix_take(&j.x, j.split.valid, j.split.n_valid, &xv);
        if (rc == GY_OK)
            rc = gy_train_matrix_take(&j.x, j.split.test, j.split.n_test, &xs);
        if (rc == GY_OK)
            rc = gy_train_gather(j.labels, j.split.train, j.split.n_train, &yt);
        if (rc == GY_OK)
            rc = gy_train_gather(j.labels, j.split.valid, j.split.n_valid, &yv);
        if (rc == GY_OK && j.trainer == T_XGBOOST) {
            struct gy_xgb_config xc;
            memset(&xc, 0, sizeof xc);
            xc.objective = j.task == GY_TRAIN_BINARY       ? "binary:logistic"
                           : j.task == GY_TRAIN_MULTICLASS ? "multi:softprob"
                                                           : "reg:squarederror";
            for (size_t i = 0; i < j.nparams; i++)
                if (strcmp(j.params[i].key, "objective") == 0)
                    xc.objective = j.params[i].value;
            snprintf(objective, sizeof objective, "%s", xc.objective);
            xc.num_class = j.task == GY_TRAIN_MULTICLASS ? j.n_classes : 0;
            xc.rounds = rounds;
            xc.early_stopping_rounds = early;
            xc.nthread = nthread;
            xc.params = j.params;
            xc.n_params = j.nparams;
            xc.progress.fn = on_progress;
            xc.progress.arg = &j;
            /* Per-round metrics on the validation rows; the training rows' series costs a
             * full evaluation every round and is opt-in. */
            xc.skip_train_eval = gy_cli_get(o, NOPTS(o), "--eval-train") == NULL;
            rc = gy_train_xgboost(&xc, &xt, yt, NULL, &xv, yv, NULL, &xr);
            if (rc == GY_OK)
                rc = gy_model_trees_from_xgboost_json(xr.model_json, xr.model_json_len, &trees);
            if (rc == GY_OK)
                k = gy_model_link_n_outputs(trees->link, trees->n_groups);
        } else if (rc == GY_OK) {
            struct gy_linear_config lc;
            gy_linear_config_init(&lc, j.trainer == T_LINEAR || j.task == GY_TRAIN_REGRESSION
                                           ? GY_LINEAR_REGRESSION
                                           : GY_LINEAR_LOGISTIC);
            if (lc.kind == GY_LINEAR_LOGISTIC)
                lc.n_classes = j.n_classes;
            lc.nthread = nthread;
            lc.progress.fn = on_progress;
            lc.progress.arg = &j;
            for (size_t i = 0; i < j.nparams && rc == GY_OK; i++)
                rc = gy_linear_config_set(&lc, j.params[i].key, j.params[i].value);
            if (rc == GY_OK)
                rc = gy_train_linear(&lc, &xt, yt, NULL, &lm);
            if (rc == GY_OK) {
                int logistic = lc.kind == GY_LINEAR_LOGISTIC;
                snprintf(objective, sizeof objective, "%s",
                         !logistic                             ? "reg:squarederror"
                         : lm.n_outputs > 1 && j.n_classes > 2 ? "multi:softprob"
                                                               : "binary:logistic");
                rc = gy_model_linear_create(objective,
                                            !logistic         ? GY_LINK_IDENTITY
                                            : j.n_classes > 2 ? GY_LINK_SOFTMAX
                                                              : GY_LINK_LOGISTIC,
                                            (uint32_t)lm.n_features, (uint32_t)lm.n_outputs, &lin);
                if (rc == GY_OK) {
                    memcpy(lin->weights, lm.coef, lm.n_outputs * lm.n_features * sizeof(double));
                    memcpy(lin->intercepts, lm.intercept, lm.n_outputs * sizeof(double));
                    k = j.n_classes > 2 && logistic ? (size_t)j.n_classes : 1;
                }
            }
        }
        if (j.tty && !j.quiet)
            fprintf(stderr, "\n");
        gy_free(yt);
        gy_free(yv);
        gy_log(GY_LOG_DEBUG, "train: trained at %.2f s", (double)(gy_time_mono_ns() - t0) / 1e9);
        /* Predictions from the bundle's own evaluator: what serving will compute. */
        if (rc == GY_OK) {
            size_t nsets[3] = {j.split.n_train, j.split.n_valid, j.split.n_test};
            struct gy_matrix *ms[3] = {&xt, &xv, &xs};
            double **outs[3] = {&pred_train, &pred_valid, &pred_test};
            scores_train = gy_malloc((j.split.n_train ? j.split.n_train : 1) * k * sizeof(float));
            if (!scores_train)
                rc = GY_E_NOMEM;
            for (int s = 0; s < 3 && rc == GY_OK; s++) {
                size_t n = nsets[s];
                size_t ng =
                    trees ? GY_MAX((size_t)trees->n_groups, k) : GY_MAX((size_t)lin->n_outputs, k);
                float *marg = gy_malloc((n ? n : 1) * ng * sizeof(float));
                float *outp = gy_malloc((n ? n : 1) * k * sizeof(float));
                double *d = gy_malloc((n ? n : 1) * k * sizeof(double));
                if (!marg || !outp || !d) {
                    gy_free(marg);
                    gy_free(outp);
                    gy_free(d);
                    rc = GY_E_NOMEM;
                    break;
                }
                if (s == 0 && trees && xr.pred_train && xr.pred_cols == k)
                    /* XGBoost's own (cached, multi-threaded) training predictions: the
                     * validation check below proves the evaluator gives the same bits. */
                    memcpy(outp, xr.pred_train, n * k * sizeof(float));
                else if (trees)
                    gy_model_trees_predict(trees, ms[s]->x, n, marg, outp);
                else
                    gy_model_linear_predict(lin, ms[s]->x, n, marg, outp);
                for (size_t i = 0; i < n * k; i++)
                    d[i] = outp[i];
                if (s == 0)
                    memcpy(scores_train, outp, n * k * sizeof(float));
                /* The bundle must reproduce XGBoost's own predictions bit for bit. */
                if (s == 1 && trees && xr.pred_valid && xr.pred_cols == k) {
                    size_t bad = 0;
                    for (size_t i = 0; i < n * k; i++)
                        if (memcmp(&xr.pred_valid[i], &outp[i], sizeof(float)) != 0)
                            bad++;
                    if (bad)
                        rc = gy_error_set(GY_E_INTERNAL,
                                          "the converted model disagrees with XGBoost on %zu of "
                                          "%zu validation predictions",
                                          bad, n * k);
                    else if (!j.quiet)
                        fprintf(stderr,
                                "  bundle check: %zu validation predictions "
                                "bit-identical to XGBoost's\n",
                                n * k);
                }
                gy_free(marg);
                gy_free(outp);
                *outs[s] = d;
            }
        }
        gy_train_matrix_free(&xt);
        gy_train_matrix_free(&xv);
        gy_train_matrix_free(&xs);
    }
    if (rc)
        goto fail;

    gy_log(GY_LOG_DEBUG, "train: predictions checked at %.2f s",
           (double)(gy_time_mono_ns() - t0) / 1e9);
    metrics_json = json_object();
    if (!metrics_json) {
        rc = GY_E_NOMEM;
        goto fail;
    }
    if ((rc = eval_set(&j, "train", j.split.train, j.split.n_train, pred_train, metrics_json)) ||
        (rc = eval_set(&j, "valid", j.split.valid, j.split.n_valid, pred_valid, metrics_json)) ||
        (rc = eval_set(&j, "test", j.split.test, j.split.n_test, pred_test, metrics_json)))
        goto fail;
    if (gy_cli_get(o, NOPTS(o), "--baseline") &&
        (rc = baseline_eval(&j, run_id, gy_cli_get(o, NOPTS(o), "--baseline"), k, metrics_json)))
        goto fail;
    if (trees && early) {
        add_point(&j, "best_iteration", xr.best_iteration, 0);
        gy_json_set(metrics_json, "best_iteration", json_integer(xr.best_iteration));
    }
    /* Metrics go in batches of at most 1000 points (MLflow's log-batch limit). */
    for (size_t at = 0; at < j.npoints; at += 1000) {
        size_t n = GY_MIN(1000, j.npoints - at);
        if ((rc = gy_tracking_log_batch(j.db, run_id, j.points + at, n, NULL, 0, NULL, 0)))
            goto fail;
    }

    gy_log(GY_LOG_DEBUG, "train: metrics logged at %.2f s", (double)(gy_time_mono_ns() - t0) / 1e9);
    /* The bundle. */
    params_json = json_object();
    for (size_t i = 0; params_json && i < j.nparams; i++)
        json_object_set_new(params_json, j.params[i].key, json_string(j.params[i].value));
    if (j.n_classes > 0 && j.task != GY_TRAIN_REGRESSION && j.classes[0]) {
        classes_json = json_array();
        for (int i = 0; classes_json && i < j.n_classes; i++)
            json_array_append_new(classes_json, json_string(j.classes[i]));
        if (classes_json && j.task == GY_TRAIN_BINARY && j.n_classes != 2) {
            json_decref(classes_json);
            classes_json = NULL;
        }
    }
    {
        char ds[GY_LAKE_MAX_NAME + 32];
        const char *mname = gy_cli_get(o, NOPTS(o), "--register");
        struct gy_model_info info;
        snprintf(ds, sizeof ds, "%s@%lld", j.dataset, (long long)j.version);
        memset(&info, 0, sizeof info);
        info.name = mname ? mname : j.target;
        info.trainer = trainer_name;
        info.objective = objective;
        info.run_id = run_id;
        info.dataset = ds;
        info.target = j.target;
        info.params = params_json;
        info.metrics = metrics_json;
        info.classes = classes_json;
        if ((rc = gy_model_builder_create(&mb)) != GY_OK)
            goto fail;
        if ((rc = gy_model_builder_set_info(mb, &info)) != GY_OK)
            goto fail;
        gy_model_builder_set_features(mb, j.features);
        if (trees)
            gy_model_builder_set_trees(mb, trees);
        else
            gy_model_builder_set_linear(mb, lin);
        if ((rc = gy_model_builder_set_profile(mb, json_object_get(j.manifest, "profile"),
                                               scores_train, j.split.n_train, k)) != GY_OK)
            goto fail;
        if ((rc = gy_model_builder_serialize(mb, &bundle_buf)) != GY_OK)
            goto fail;
        if ((rc = gy_db_object_put(j.db, bundle_buf.data, bundle_buf.len, bundle_hex)) != GY_OK)
            goto fail;
        if ((rc = gy_tracking_artifact_put_object(j.db, run_id, "model/model.gyre", bundle_hex)) !=
            GY_OK)
            goto fail;
        if (trees && (rc = gy_tracking_artifact_put(j.db, run_id, "model/xgboost.json",
                                                    xr.model_json, xr.model_json_len)) != GY_OK)
            goto fail;
        if ((rc = gy_features_to_json(j.features, &features_json)) != GY_OK)
            goto fail;
    }
    {
        gy_log(GY_LOG_DEBUG, "train: bundle stored at %.2f s",
               (double)(gy_time_mono_ns() - t0) / 1e9);
        struct gy_tracking_run_update u = {GY_RUN_FINISHED, 1, gy_time_wall_us() / 1000, NULL};
        if ((rc = gy_tracking_run_update(j.db, run_id, &u, NULL)) != GY_OK)
            goto fail;
        run_open = 0;
    }
    if ((v = gy_cli_get(o, NOPTS(o), "--register"))) {
        char source[GY_TRACKING_RUN_ID_LEN + 32];
        snprintf(source, sizeof source, "runs:/%s/model", run_id);
        if ((rc = gy_registry_register(j.db, v, run_id, source, bundle_hex, j.dataset, j.version,
                                       &model_version)) != GY_OK)
            goto fail;
        if (gy_cli_get(o, NOPTS(o), "--alias") &&
            (rc = gy_registry_alias_set(j.db, v, gy_cli_get(o, NOPTS(o), "--alias"),
                                        model_version)) != GY_OK)
            goto fail;
    }

    if (gy_cli_get(o, NOPTS(o), "--json")) {
        json_t *out =
            json_pack("{s:s, s:s, s:I, s:s, s:s, s:O, s:s, s:f}", "run_id", run_id, "dataset",
                      j.dataset, "dataset_version", (json_int_t)j.version, "trainer", trainer_name,
                      "task", gy_train_task_name(j.task), "metrics", metrics_json, "bundle",
                      bundle_hex, "seconds", (double)(gy_time_mono_ns() - t0) / 1e9);
        if (out && model_version) {
            json_object_set_new(out, "model", json_string(gy_cli_get(o, NOPTS(o), "--register")));
            json_object_set_new(out, "model_version", json_integer(model_version));
        }
        if (out)
            gy_cli_print_json(out);
        json_decref(out);
    } else {
        const char *key;
        json_t *val;
        printf("run %s finished in %.1f s\n", run_id, (double)(gy_time_mono_ns() - t0) / 1e9);
        json_object_foreach(metrics_json, key, val)
        {
            if (strncmp(key, "valid_", 6) == 0 || strncmp(key, "test_", 5) == 0)
                printf("  %-22s %.6f\n", key, json_number_value(val));
        }
        printf("  bundle %s (%zu bytes)\n", bundle_hex, bundle_buf.len);
        if (model_version)
            printf("registered %s version %lld%s%s\n", gy_cli_get(o, NOPTS(o), "--register"),
                   (long long)model_version, gy_cli_get(o, NOPTS(o), "--alias") ? " as @" : "",
                   gy_cli_get(o, NOPTS(o), "--alias") ? gy_cli_get(o, NOPTS(o), "--alias") : "");
    }
    goto done;

fail:
    ex = gy_cli_fail(rc, "train failed");
    if (run_open) {
        struct gy_tracking_run_update u = {GY_RUN_FAILED, 1, gy_time_wall_us() / 1000, NULL};
        gy_tracking_run_update(j.db, run_id, &u, NULL);
        fprintf(stderr, "gyre: run %s marked FAILED\n", run_id);
    }
    goto cleanup;
done:
    ex = GY_EXIT_OK;
cleanup:
    if (j.db)
        gy_audit_cli(j.db, "train", ex ? (rc ? rc : GY_E_INVALID) : GY_OK, NULL, "runs/%s", run_id);
    gy_model_bundle_free(bundle);
    gy_model_builder_free(mb);
    gy_model_trees_free(trees);
    gy_model_linear_free(lin);
    gy_linear_model_free(&lm);
    gy_xgb_result_free(&xr);
    json_decref(metrics_json);
    json_decref(params_json);
    json_decref(classes_json);
    json_decref(features_json);
    gy_free(pred_train);
    gy_free(pred_valid);
    gy_free(pred_test);
    gy_free(scores_train);
    gy_buf_free(&bundle_buf);
    gy_features_spec_free(spec);
    gy_db_free(j.db);
    job_free(&j);
    gy_arena_free(arena);
    return ex;
}

const struct gy_cli_cmd gy_cli_train_cmds[] = {
    {"train",
     "--dataset NAME[@V] --target COL [--trainer xgboost|logistic|linear] [--register MODEL]",
     "train a model on a dataset version: a tracked run, a bundle, optionally registered",
     cmd_train},
    {NULL, NULL, NULL, NULL},
};
