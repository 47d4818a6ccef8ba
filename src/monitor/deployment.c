/* SPDX-License-Identifier: MIT */
/*
 * deployment.c - drift of served traffic. The deployment's prediction log
 * (predlog-DEPLOYMENT, latest version) is read once for its model_version and variant
 * columns to pick the rows of one model version (optionally only the last N of them); the
 * model inputs of those rows are compared with the training data recorded in that model
 * version's lineage (dataset@version), through the same per-feature comparison and decision
 * as the offline dataset check.
 */
#include "monitor/monitor_int.h"
#include "registry/registry.h"

#include <string.h>

#define MAX_MODELS 1024 /* distinct model names told apart in one log */

/* The log's own columns, never compared. */
static int log_column(const char *name)
{
    static const char *const fixed[] = {"request_id", "time",          "deployment",
                                        "variant",    "model_version", "latency_us"};
    for (size_t i = 0; i < GY_ARRAY_LEN(fixed); i++)
        if (strcmp(name, fixed[i]) == 0)
            return 1;
    return strncmp(name, "output_", 7) == 0;
}

struct logrows {
    uint64_t n;
    int64_t *mv;  /* model_version per row; 0 when null */
    int32_t *mi;  /* index into names per row; -1 when null */
    char **names; /* distinct model names (before '@' in variant) */
    size_t nnames;
};

static void logrows_clear(struct logrows *l)
{
    for (size_t i = 0; i < l->nnames; i++)
        gy_free(l->names[i]);
    gy_free(l->names);
    gy_free(l->mv);
    gy_free(l->mi);
}

static enum gy_status intern(struct logrows *l, const char *s, size_t len, int32_t *out)
{
    for (size_t i = 0; i < l->nnames; i++)
        if (strlen(l->names[i]) == len && memcmp(l->names[i], s, len) == 0) {
            *out = (int32_t)i;
            return GY_OK;
        }
    if (l->nnames >= MAX_MODELS)
        return gy_error_set(GY_E_INVALID, "the prediction log names more than %d models",
                            MAX_MODELS);
    if (!(l->names[l->nnames] = gy_malloc(len + 1)))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    memcpy(l->names[l->nnames], s, len);
    l->names[l->nnames][len] = '\0';
    *out = (int32_t)l->nnames++;
    return GY_OK;
}

/* Reads model_version and the model name of variant for every row of NAME@VERSION. */
static enum gy_status read_log(struct gy_db *db, const char *name, int64_t version,
                               struct logrows *l)
{
    const char *cols[2] = {"model_version", "variant"};
    struct gy_lake_scan *s = NULL;
    uint64_t at = 0;
    enum gy_status rc;
    memset(l, 0, sizeof(*l));
    if ((rc = gy_lake_scan_open(db, name, version, cols, 2, &s)))
        return rc;
    l->n = gy_lake_scan_rows(s);
    l->mv = gy_calloc(GY_MAX(l->n, 1), sizeof(*l->mv));
    l->mi = gy_calloc(GY_MAX(l->n, 1), sizeof(*l->mi));
    l->names = gy_calloc(MAX_MODELS, sizeof(*l->names));
    if (!l->mv || !l->mi || !l->names) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        const struct gy_colvec *cv;
        size_t nrows;
        if ((rc = gy_lake_scan_next(s, &cv, &nrows)) || nrows == 0)
            break;
        if (at + nrows > l->n || cv[0].type != GY_TYPE_INT64 || cv[1].type != GY_TYPE_STRING) {
            rc = gy_error_set(GY_E_SCHEMA,
                              "%s is not a prediction log (model_version int64, "
                              "variant string)",
                              name);
            break;
        }
        for (size_t i = 0; i < nrows && rc == GY_OK; i++, at++) {
            l->mv[at] = cv[0].valid[i] ? cv[0].i64[i] : 0;
            l->mi[at] = -1;
            if (cv[1].valid[i]) {
                const char *v = cv[1].data + cv[1].off[i];
                size_t len = cv[1].off[i + 1] - cv[1].off[i];
                const char *at_sign = memchr(v, '@', len);
                rc = intern(l, v, at_sign ? (size_t)(at_sign - v) : len, &l->mi[at]);
            }
        }
        if (rc)
            break;
    }
out:
    gy_lake_scan_free(s);
    if (rc)
        gy_error_wrap(rc, "%s", name);
    return rc;
}

/* Column names of NAME@V. *out new. */
static enum gy_status schema_of(struct gy_db *db, const char *name, int64_t version,
                                struct gy_schema **out)
{
    struct gy_lake_scan *s = NULL;
    enum gy_status rc = gy_lake_scan_open(db, name, version, NULL, 0, &s);
    if (rc)
        return rc;
    *out = gy_schema_copy(gy_lake_scan_schema(s));
    gy_lake_scan_free(s);
    return *out ? GY_OK : gy_error_set(GY_E_NOMEM, "out of memory");
}

enum gy_status gy_monitor_check_deployment(struct gy_db *db, const char *deployment,
                                           const struct gy_monitor_window *win,
                                           const struct gy_monitor_config *cfg,
                                           struct gy_monitor_report **out)
{
    char logname[GY_LAKE_MAX_NAME + 1], ref[GY_REGISTRY_NAME_MAX + 32];
    char label[GY_LAKE_MAX_NAME + GY_REGISTRY_NAME_MAX + 128];
    struct logrows l;
    struct gy_registry_version_info *vi = NULL;
    struct gy_schema *ls = NULL, *ts = NULL;
    const char **feats = NULL;
    uint8_t *mask = NULL;
    size_t nfeat = 0;
    uint64_t keep = 0;
    int64_t mv = win ? win->model_version : 0, logver = 0;
    int32_t model = -1;
    json_t *man = NULL;
    enum gy_status rc;

    *out = NULL;
    memset(&l, 0, sizeof(l));
    if (!deployment || !*deployment ||
        (size_t)snprintf(logname, sizeof logname, "predlog-%s", deployment) >= sizeof logname)
        return gy_error_set(GY_E_INVALID, "deployment name is empty or too long");
    if ((rc = gy_lake_version_get(db, logname, 0, &man))) {
        if (rc == GY_NOT_FOUND)
            gy_error_set(rc, "deployment \"%s\" has no prediction log (%s)", deployment, logname);
        return rc;
    }
    logver = gy_json_int(man, "version", 0);
    json_decref(man);
    if ((rc = read_log(db, logname, logver, &l)))
        goto out;
    /* The model that answered: the latest logged row of the version asked for. */
    for (uint64_t i = l.n; i-- > 0;)
        if (l.mv[i] > 0 && l.mi[i] >= 0 && (mv == 0 || l.mv[i] == mv)) {
            mv = l.mv[i];
            model = l.mi[i];
            break;
        }
    if (model < 0) {
        rc = win && win->model_version
                 ? gy_error_set(GY_NOT_FOUND, "%s has no row answered by model version %lld",
                                logname, (long long)win->model_version)
                 : gy_error_set(GY_NOT_FOUND, "%s has no logged row", logname);
        goto out;
    }
    if (!(mask = gy_calloc(GY_MAX(l.n, 1), 1))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint64_t i = l.n; i-- > 0;)
        if (l.mv[i] == mv && l.mi[i] == model &&
            (!win || !win->last_rows || keep < win->last_rows)) {
            mask[i] = 1;
            keep++;
        }
    snprintf(ref, sizeof ref, "%s/%lld", l.names[model], (long long)mv);
    if ((rc = gy_registry_resolve(db, ref, &vi))) {
        gy_error_wrap(rc, "the model version that answered (%s)", ref);
        goto out;
    }
    if (!vi->dataset) {
        rc = gy_error_set(GY_NOT_FOUND,
                          "model %s has no training dataset in its lineage: nothing to compare "
                          "with",
                          ref);
        goto out;
    }
    if ((rc = schema_of(db, logname, logver, &ls)) ||
        (rc = schema_of(db, vi->dataset, vi->dataset_version, &ts)))
        goto out;
    if (!(feats = gy_calloc(GY_MAX(ls->ncols, 1), sizeof(*feats)))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ls->ncols; i++)
        if (!log_column(ls->cols[i].name) && gy_schema_find(ts, ls->cols[i].name) >= 0)
            feats[nfeat++] = ls->cols[i].name;
    if (nfeat == 0) {
        rc = gy_error_set(GY_NOT_FOUND, "no logged input of %s is a column of %s@%lld", logname,
                          vi->dataset, (long long)vi->dataset_version);
        goto out;
    }
    if (win && win->last_rows)
        snprintf(label, sizeof label, "%s@%lld (model %s, last %llu rows)", logname,
                 (long long)logver, ref, (unsigned long long)win->last_rows);
    else
        snprintf(label, sizeof label, "%s@%lld (model %s)", logname, (long long)logver, ref);
    rc = gy__monitor_check_masked(db, vi->dataset, vi->dataset_version, logname, logver, mask, l.n,
                                  label, feats, nfeat, cfg, out);
out:
    logrows_clear(&l);
    gy_registry_version_info_free(vi);
    gy_schema_free(ls);
    gy_schema_free(ts);
    gy_free(feats);
    gy_free(mask);
    return rc;
}
