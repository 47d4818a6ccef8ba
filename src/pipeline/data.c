/* SPDX-License-Identifier: MIT */
/*
 * data.c - the training data of a pipeline run.
 *
 * "select: latest" without feedback trains on DATASET@V, the latest version pinned when the
 * run starts. Any other selection is written out as a dataset of its own,
 * "pipeline-<name>-<run id>" version 1, with the source's schema: the last N rows, or the rows
 * whose time column lies within the window before the version's latest time, plus, with
 * feedback_from, the rows of that deployment's prediction log that have a feedback label,
 * the label as the target. Prediction-log rows carry the model's inputs by name; a source
 * column the log lacks is null, except that a timestamp column gets the log's "time", so
 * time splits and windows see the logged traffic where it happened. The run records the
 * dataset version it trained on, so the lineage of every candidate is one lake version.
 */
#include "pipeline/pipeline_int.h"

#include "lake/lake.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define SCAN_MAX_CHUNK (1u << 20)

enum gy_status gy__pipeline_dataset_rows(struct gy_db *db, const char *dataset, int64_t *rows)
{
    json_t *m = NULL;
    enum gy_status rc = gy_lake_version_get(db, dataset, 0, &m);
    *rows = 0;
    if (rc == GY_NOT_FOUND) {
        gy_error_clear();
        return GY_OK;
    }
    if (rc)
        return rc;
    *rows = gy_json_int(m, "rows", 0);
    json_decref(m);
    return GY_OK;
}

/* One value of a scanned column as JSON (NULL for a null). */
static json_t *value_json(const struct gy_colvec *c, size_t i)
{
    if (c->valid && !c->valid[i])
        return NULL;
    switch (c->type) {
    case GY_TYPE_FLOAT64:
        return isfinite(c->f64[i]) ? json_real(c->f64[i]) : NULL;
    case GY_TYPE_INT64:
        return json_integer(c->i64[i]);
    case GY_TYPE_BOOL:
        return json_boolean(c->b[i]);
    case GY_TYPE_STRING:
        return json_stringn(c->data + c->off[i], c->off[i + 1] - c->off[i]);
    case GY_TYPE_TIMESTAMP: {
        char ts[32];
        gy_time_format(c->i64[i], ts);
        return json_string(ts);
    }
    }
    return NULL;
}

/* A feedback label as a value of the target's type. */
static json_t *label_json(enum gy_type t, double label)
{
    switch (t) {
    case GY_TYPE_BOOL:
        return json_boolean(label != 0);
    case GY_TYPE_INT64:
        return json_integer((json_int_t)label);
    case GY_TYPE_STRING: {
        char b[32];
        snprintf(b, sizeof b, "%.17g", label);
        return json_string(b);
    }
    default:
        return json_real(label);
    }
}

static enum gy_status emit(struct gy_buf *out, json_t *row)
{
    char *t = json_dumps(row, JSON_COMPACT);
    enum gy_status rc;
    if (!t)
        return GY_E_NOMEM;
    rc = gy_buf_append(out, t, strlen(t));
    if (rc == GY_OK)
        rc = gy_buf_putc(out, '\n');
    gy_free(t);
    return rc;
}

/* The latest time of @p col in NAME@V (as microseconds or the integer value). */
static enum gy_status max_time(struct gy_db *db, const char *name, int64_t v, const char *col,
                               int64_t *out)
{
    struct gy_lake_scan *s = NULL;
    const char *cols[1] = {col};
    enum gy_status rc;
    int any = 0;
    *out = INT64_MIN;
    if ((rc = gy_lake_scan_open(db, name, v, cols, 1, &s)))
        return rc;
    if (gy_lake_scan_schema(s)->cols[0].type != GY_TYPE_TIMESTAMP &&
        gy_lake_scan_schema(s)->cols[0].type != GY_TYPE_INT64) {
        gy_lake_scan_free(s);
        return gy_error_set(GY_E_INVALID, "data.window.column: %s is %s, not a timestamp", col,
                            gy_type_name(gy_lake_scan_schema(s)->cols[0].type));
    }
    for (;;) {
        const struct gy_colvec *c;
        size_t n;
        if ((rc = gy_lake_scan_next(s, &c, &n)) || !n)
            break;
        for (size_t i = 0; i < n; i++)
            if ((!c[0].valid || c[0].valid[i]) && c[0].i64[i] > *out) {
                *out = c[0].i64[i];
                any = 1;
            }
    }
    gy_lake_scan_free(s);
    if (rc == GY_OK && !any)
        rc =
            gy_error_set(GY_E_INVALID, "%s@%lld: column %s has no values", name, (long long)v, col);
    return rc;
}

/* The source rows of the selection, as JSON Lines. */
static enum gy_status source_rows(struct gy_db *db, const struct gy_pipeline_spec *sp, int64_t v,
                                  uint64_t total, struct gy_buf *out, uint64_t *rows)
{
    struct gy_lake_scan *s = NULL;
    const struct gy_schema *sc;
    uint64_t skip = 0, at = 0;
    int64_t since = INT64_MIN;
    long tcol = -1;
    enum gy_status rc;
    if (sp->data.select == GY_SELECT_LAST_ROWS && total > sp->data.last_rows)
        skip = total - sp->data.last_rows;
    if (sp->data.select == GY_SELECT_WINDOW) {
        int64_t hi;
        if ((rc = max_time(db, sp->data.dataset, v, sp->data.window_column, &hi)))
            return rc;
        since = hi - sp->data.window_us;
    }
    if ((rc = gy_lake_scan_open(db, sp->data.dataset, v, NULL, 0, &s)))
        return rc;
    sc = gy_lake_scan_schema(s);
    if (sp->data.select == GY_SELECT_WINDOW)
        tcol = gy_schema_find(sc, sp->data.window_column);
    for (;;) {
        const struct gy_colvec *c;
        size_t n;
        if ((rc = gy_lake_scan_next(s, &c, &n)) || !n)
            break;
        for (size_t i = 0; i < n && rc == GY_OK; i++, at++) {
            json_t *row;
            if (at < skip)
                continue;
            if (tcol >= 0 && (!(!c[tcol].valid || c[tcol].valid[i]) || c[tcol].i64[i] <= since))
                continue;
            if (!(row = json_object())) {
                rc = GY_E_NOMEM;
                break;
            }
            for (size_t k = 0; k < sc->ncols; k++) {
                json_t *val = value_json(&c[k], i);
                if (val)
                    json_object_set_new(row, sc->cols[k].name, val);
            }
            rc = emit(out, row);
            json_decref(row);
            (*rows)++;
        }
        if (rc)
            break;
    }
    gy_lake_scan_free(s);
    return rc;
}

/* The labelled prediction-log rows of deployment @p dep (see the file comment). */
static enum gy_status feedback_rows(struct gy_db *db, const struct gy_pipeline_spec *sp,
                                    const struct gy_schema *src, struct gy_buf *out, uint64_t *rows)
{
    char ds[GY_LAKE_MAX_NAME + 1];
    struct gy_db_rows *fb = NULL;
    struct gy_lake_scan *s = NULL;
    const struct gy_schema *lg;
    json_t *labels = NULL;
    long *map = NULL, idcol, timecol;
    long target = gy_schema_find(src, sp->train.target);
    enum gy_status rc;
    snprintf(ds, sizeof ds, "predlog-%s", sp->data.feedback_from);
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(sp->data.feedback_from)};
        if ((rc = gy_db_query(db,
                              "SELECT request_id, label FROM feedback WHERE deployment = $1 AND "
                              "label IS NOT NULL",
                              p, 1, &fb)))
            return rc;
    }
    if (gy_db_rows_count(fb) == 0 || target < 0)
        goto out;
    if (!(labels = json_object())) {
        rc = GY_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < gy_db_rows_count(fb); i++)
        json_object_set_new(labels, gy_db_rows_text(fb, i, 0),
                            json_real(gy_db_rows_real(fb, i, 1)));
    rc = gy_lake_scan_open(db, ds, 0, NULL, 0, &s);
    if (rc == GY_NOT_FOUND) {
        gy_error_clear();
        rc = GY_OK;
        goto out;
    }
    if (rc)
        goto out;
    lg = gy_lake_scan_schema(s);
    idcol = gy_schema_find(lg, "request_id");
    timecol = gy_schema_find(lg, "time");
    if (idcol < 0 || lg->cols[idcol].type != GY_TYPE_STRING) {
        rc = gy_error_set(GY_E_CORRUPT, "%s has no request_id column", ds);
        goto out;
    }
    if (!(map = gy_calloc(src->ncols, sizeof *map))) {
        rc = GY_E_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < src->ncols; k++) {
        long j = gy_schema_find(lg, src->cols[k].name);
        if ((long)k == target || j < 0 || lg->cols[j].type != src->cols[k].type)
            j = -1;
        if (j < 0 && src->cols[k].type == GY_TYPE_TIMESTAMP && timecol >= 0)
            j = timecol;
        map[k] = j;
    }
    for (;;) {
        const struct gy_colvec *c;
        size_t n;
        if ((rc = gy_lake_scan_next(s, &c, &n)) || !n)
            break;
        for (size_t i = 0; i < n && rc == GY_OK; i++) {
            char id[512];
            size_t len = c[idcol].off[i + 1] - c[idcol].off[i];
            json_t *lab, *row;
            if (len >= sizeof id)
                continue;
            memcpy(id, c[idcol].data + c[idcol].off[i], len);
            id[len] = '\0';
            if (!(lab = json_object_get(labels, id)))
                continue;
            if (!(row = json_object())) {
                rc = GY_E_NOMEM;
                break;
            }
            for (size_t k = 0; k < src->ncols; k++) {
                json_t *val = (long)k == target
                                  ? label_json(src->cols[k].type, json_real_value(lab))
                              : map[k] >= 0 ? value_json(&c[map[k]], i)
                                            : NULL;
                if (val)
                    json_object_set_new(row, src->cols[k].name, val);
            }
            rc = emit(out, row);
            json_decref(row);
            (*rows)++;
        }
        if (rc)
            break;
    }
out:
    gy_lake_scan_free(s);
    gy_free(map);
    json_decref(labels);
    gy_db_rows_free(fb);
    return rc;
}

enum gy_status gy__pipeline_data(struct gy_db *db, const struct gy_pipeline_spec *sp,
                                 int64_t run_id, char *ref, size_t ref_cap, int64_t *rows_out)
{
    json_t *m = NULL;
    struct gy_schema *schema = NULL;
    struct gy_buf b;
    char name[GY_LAKE_MAX_NAME + 1], path[4096];
    int64_t v;
    uint64_t total, rows = 0, fb_rows = 0;
    int fd = -1;
    enum gy_status rc;

    gy_buf_init(&b, (size_t)1 << 34);
    path[0] = '\0';
    if ((rc = gy_lake_version_get(db, sp->data.dataset, 0, &m)))
        goto out;
    v = gy_json_int(m, "version", 0);
    total = (uint64_t)gy_json_int(m, "rows", 0);
    if (sp->data.select == GY_SELECT_LATEST && !sp->data.feedback_from) {
        snprintf(ref, ref_cap, "%s@%lld", sp->data.dataset, (long long)v);
        *rows_out = (int64_t)total;
        goto out;
    }
    if ((rc = gy_schema_from_json(json_object_get(m, "schema"), &schema)))
        goto out;
    if ((rc = source_rows(db, sp, v, total, &b, &rows)))
        goto out;
    if (sp->data.feedback_from && (rc = feedback_rows(db, sp, schema, &b, &fb_rows)))
        goto out;
    if (rows + fb_rows == 0) {
        rc = gy_error_set(GY_E_INVALID, "the data selection of %s@%lld is empty", sp->data.dataset,
                          (long long)v);
        goto out;
    }
    snprintf(name, sizeof name, "pipeline-%s-%lld", sp->name, (long long)run_id);
    rc = gy_lake_dataset_create(db, name, schema, "training data of a pipeline run");
    if (rc == GY_E_EXISTS) {
        /* A restarted run: the data of its first attempt is kept if it was written whole. */
        json_t *have = NULL;
        gy_error_clear();
        if (gy_lake_version_get(db, name, 0, &have) == GY_OK) {
            snprintf(ref, ref_cap, "%s@%lld", name, (long long)gy_json_int(have, "version", 1));
            *rows_out = gy_json_int(have, "rows", 0);
            json_decref(have);
            goto out;
        }
        rc = GY_OK;
    }
    if (rc)
        goto out;
    snprintf(path, sizeof path, "%s/tmp/pipeline-%lld-%ld.jsonl", gy_db_home(db), (long long)run_id,
             (long)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = gy_error_set(GY_E_IO, "pipeline data: cannot create %s: %s", path, strerror(errno));
        path[0] = '\0';
        goto out;
    }
    if ((rc = gy_fd_write_all(fd, b.data, b.len)))
        goto out;
    if (lseek(fd, 0, SEEK_SET) < 0) {
        rc = gy_error_set(GY_E_IO, "pipeline data: %s: %s", path, strerror(errno));
        goto out;
    }
    {
        struct gy_ingest_opts o = {.format = GY_FORMAT_JSONL, .source = name};
        struct gy_ingest_result res;
        memset(&res, 0, sizeof res);
        if ((rc = gy_lake_ingest(db, name, fd, &o, &res)))
            goto out;
        snprintf(ref, ref_cap, "%s@%lld", name, (long long)res.version);
        *rows_out = (int64_t)res.total_rows;
    }
out:
    if (fd >= 0)
        close(fd);
    if (path[0])
        unlink(path);
    gy_buf_free(&b);
    gy_schema_free(schema);
    json_decref(m);
    return rc;
}
