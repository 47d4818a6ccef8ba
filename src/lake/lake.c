/* SPDX-License-Identifier: MIT */
/*
 * lake.c - reading the lake: dataset and version listings, manifests, and scans that decode
 * a version chunk by chunk, reading only the selected columns' segments.
 */
#include "lake/lake_int.h"

#include <string.h>

enum gy_status gy_lake_dataset_list(struct gy_db *db, json_t **out)
{
    struct gy_db_rows *r = NULL;
    json_t *a;
    enum gy_status rc =
        gy_db_query(db,
                    "SELECT d.name, d.description, d.created_us, "
                    "(SELECT MAX(v.version) FROM dataset_versions v WHERE v.dataset_id = d.id), "
                    "(SELECT v.rows FROM dataset_versions v WHERE v.dataset_id = d.id "
                    " ORDER BY v.version DESC LIMIT 1) "
                    "FROM datasets d ORDER BY d.name",
                    NULL, 0, &r);
    *out = NULL;
    if (rc)
        return rc;
    a = json_array();
    for (size_t i = 0; a && i < gy_db_rows_count(r); i++) {
        char ts[32];
        json_t *o;
        gy_time_format(gy_db_rows_int(r, i, 2), ts);
        o = json_pack("{s:s, s:s?, s:s, s:I, s:I}", "name", gy_db_rows_text(r, i, 0), "description",
                      gy_db_rows_text(r, i, 1), "created", ts, "latest_version",
                      (json_int_t)gy_db_rows_int(r, i, 3), "rows",
                      (json_int_t)gy_db_rows_int(r, i, 4));
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            a = NULL;
        }
    }
    gy_db_rows_free(r);
    if (!a)
        return GY_E_NOMEM;
    *out = a;
    return GY_OK;
}

static enum gy_status dataset_id(struct gy_db *db, const char *name, int64_t *id)
{
    struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
    enum gy_status rc = gy_db_query_int(db, "SELECT id FROM datasets WHERE name = $1", p, 1, id);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "no dataset named \"%s\"", name);
    return rc;
}

enum gy_status gy_lake_version_list(struct gy_db *db, const char *name, json_t **out)
{
    struct gy_db_rows *r = NULL;
    int64_t id;
    json_t *a;
    enum gy_status rc = dataset_id(db, name, &id);
    *out = NULL;
    if (rc)
        return rc;
    {
        struct gy_db_param p[] = {GY_DB_P_INT(id)};
        rc = gy_db_query(db,
                         "SELECT version, created_us, rows, manifest, source, parent_version "
                         "FROM dataset_versions WHERE dataset_id = $1 ORDER BY version",
                         p, 1, &r);
    }
    if (rc)
        return rc;
    a = json_array();
    for (size_t i = 0; a && i < gy_db_rows_count(r); i++) {
        char ts[32];
        json_t *o;
        gy_time_format(gy_db_rows_int(r, i, 1), ts);
        o = json_pack("{s:I, s:s, s:I, s:s, s:s?, s:I}", "version",
                      (json_int_t)gy_db_rows_int(r, i, 0), "created", ts, "rows",
                      (json_int_t)gy_db_rows_int(r, i, 2), "manifest", gy_db_rows_text(r, i, 3),
                      "source", gy_db_rows_text(r, i, 4), "parent",
                      (json_int_t)gy_db_rows_int(r, i, 5));
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            a = NULL;
        }
    }
    gy_db_rows_free(r);
    if (!a)
        return GY_E_NOMEM;
    *out = a;
    return GY_OK;
}

enum gy_status gy_lake_version_get(struct gy_db *db, const char *name, int64_t version,
                                   json_t **out)
{
    struct gy_db_rows *r = NULL;
    struct gy_buf b;
    int64_t id;
    enum gy_status rc = dataset_id(db, name, &id);
    *out = NULL;
    if (rc)
        return rc;
    {
        struct gy_db_param p[] = {GY_DB_P_INT(id), GY_DB_P_INT(version)};
        rc = gy_db_query(db,
                         version ? "SELECT manifest FROM dataset_versions WHERE dataset_id = $1 "
                                   "AND version = $2"
                                 : "SELECT manifest FROM dataset_versions WHERE dataset_id = $1 "
                                   "AND $2 = 0 ORDER BY version DESC LIMIT 1",
                         p, 2, &r);
    }
    if (rc)
        return rc;
    if (gy_db_rows_count(r) == 0) {
        gy_db_rows_free(r);
        if (version)
            return gy_error_set(GY_NOT_FOUND, "dataset \"%s\" has no version %lld", name,
                                (long long)version);
        return gy_error_set(GY_NOT_FOUND, "dataset \"%s\" has no versions yet", name);
    }
    gy_buf_init(&b, (size_t)1 << 30);
    rc = gy_db_object_get(db, gy_db_rows_text(r, 0, 0), &b);
    if (rc == GY_NOT_FOUND)
        rc = gy_error_set(GY_E_CORRUPT, "manifest object %s of %s is missing",
                          gy_db_rows_text(r, 0, 0), name);
    if (rc == GY_OK) {
        rc = gy_json_parse(b.data, b.len, 16, "manifest", out);
        if (rc)
            rc = GY_E_CORRUPT;
    }
    gy_buf_free(&b);
    gy_db_rows_free(r);
    return rc;
}

/* ------------------------------------------------------------------ scans */

struct gy_lake_scan {
    struct gy_db *db;
    json_t *manifest;
    const json_t *chunks;
    struct gy_schema *schema; /* selected columns */
    size_t *index;            /* selected column -> manifest column */
    size_t next_chunk;
    uint64_t rows;
    struct gy_colvec *cols;
    struct gy_buf seg;
};

static void scan_clear_cols(struct gy_lake_scan *s)
{
    if (!s->cols)
        return;
    for (size_t k = 0; k < s->schema->ncols; k++)
        gy__colvec_clear(&s->cols[k]);
}

enum gy_status gy_lake_scan_open(struct gy_db *db, const char *name, int64_t version,
                                 const char *const *cols, size_t ncols, struct gy_lake_scan **out)
{
    struct gy_lake_scan *s;
    struct gy_schema *full = NULL;
    enum gy_status rc;
    *out = NULL;
    s = gy_calloc(1, sizeof *s);
    if (!s)
        return GY_E_NOMEM;
    s->db = db;
    gy_buf_init(&s->seg, (size_t)1 << 31);
    if ((rc = gy_lake_version_get(db, name, version, &s->manifest)) != GY_OK)
        goto fail;
    if ((rc = gy_schema_from_json(json_object_get(s->manifest, "schema"), &full)) != GY_OK) {
        rc = gy_error_wrap(GY_E_CORRUPT, "manifest of %s", name);
        goto fail;
    }
    s->chunks = json_object_get(s->manifest, "chunks");
    if (!json_is_array(s->chunks)) {
        rc = gy_error_set(GY_E_CORRUPT, "manifest of %s has no chunks", name);
        goto fail;
    }
    s->rows = (uint64_t)gy_json_int(s->manifest, "rows", 0);
    if (!cols)
        ncols = full->ncols;
    s->schema = gy_schema_create(ncols);
    s->index = gy_calloc(ncols ? ncols : 1, sizeof *s->index);
    s->cols = gy_calloc(ncols ? ncols : 1, sizeof *s->cols);
    if (!s->schema || !s->index || !s->cols) {
        rc = GY_E_NOMEM;
        goto fail;
    }
    for (size_t k = 0; k < ncols; k++) {
        long i = cols ? gy_schema_find(full, cols[k]) : (long)k;
        if (i < 0) {
            rc = gy_error_set(GY_NOT_FOUND, "dataset \"%s\" has no column \"%s\"", name, cols[k]);
            goto fail;
        }
        s->index[k] = (size_t)i;
        s->schema->cols[k].type = full->cols[i].type;
        if (!(s->schema->cols[k].name = gy_strdup(full->cols[i].name))) {
            rc = GY_E_NOMEM;
            goto fail;
        }
    }
    gy_schema_free(full);
    *out = s;
    return GY_OK;
fail:
    gy_schema_free(full);
    gy_lake_scan_free(s);
    return rc;
}

const struct gy_schema *gy_lake_scan_schema(const struct gy_lake_scan *s)
{
    return s->schema;
}

uint64_t gy_lake_scan_rows(const struct gy_lake_scan *s)
{
    return s->rows;
}

enum gy_status gy_lake_scan_next(struct gy_lake_scan *s, const struct gy_colvec **cols,
                                 size_t *nrows)
{
    const json_t *c, *segs;
    json_int_t rows;
    scan_clear_cols(s);
    *cols = s->cols;
    *nrows = 0;
    if (s->next_chunk >= json_array_size(s->chunks))
        return GY_OK;
    c = json_array_get(s->chunks, s->next_chunk);
    segs = json_object_get(c, "segments");
    rows = gy_json_int(c, "rows", -1);
    if (rows <= 0 || rows > UINT32_MAX || !json_is_array(segs))
        return gy_error_set(GY_E_CORRUPT, "manifest chunk %zu is malformed", s->next_chunk);
    for (size_t k = 0; k < s->schema->ncols; k++) {
        const char *hex = json_string_value(json_array_get(segs, s->index[k]));
        enum gy_status rc;
        if (!hex)
            return gy_error_set(GY_E_CORRUPT, "manifest chunk %zu lacks column %zu", s->next_chunk,
                                s->index[k]);
        gy_buf_reset(&s->seg);
        rc = gy_db_object_get(s->db, hex, &s->seg);
        if (rc == GY_NOT_FOUND)
            rc = gy_error_set(GY_E_CORRUPT, "segment %s is missing", hex);
        if (rc == GY_OK)
            rc = gy__segment_decode(s->seg.data, s->seg.len, s->schema->cols[k].type, (size_t)rows,
                                    &s->cols[k]);
        if (rc) {
            scan_clear_cols(s);
            return gy_error_wrap(rc, "column \"%s\", chunk %zu", s->schema->cols[k].name,
                                 s->next_chunk);
        }
    }
    s->next_chunk++;
    *nrows = (size_t)rows;
    return GY_OK;
}

void gy_lake_scan_free(struct gy_lake_scan *s)
{
    if (!s)
        return;
    scan_clear_cols(s);
    gy_free(s->cols);
    gy_free(s->index);
    gy_schema_free(s->schema);
    json_decref(s->manifest);
    gy_buf_free(&s->seg);
    gy_free(s);
}

enum gy_status gy_lake_version_verify(struct gy_db *db, const char *name, int64_t version,
                                      uint64_t *rows)
{
    struct gy_lake_scan *s = NULL;
    enum gy_status rc = gy_lake_scan_open(db, name, version, NULL, 0, &s);
    uint64_t seen = 0;
    *rows = 0;
    if (rc)
        return rc;
    for (;;) {
        const struct gy_colvec *cols;
        size_t n;
        if ((rc = gy_lake_scan_next(s, &cols, &n)) != GY_OK)
            goto out;
        if (n == 0)
            break;
        seen += n;
    }
    if (seen != s->rows) {
        rc = gy_error_set(GY_E_CORRUPT, "%s: chunks hold %llu rows, the manifest says %llu", name,
                          (unsigned long long)seen, (unsigned long long)s->rows);
        goto out;
    }
    {
        const char *hex = gy_json_str(s->manifest, "profile_state", NULL);
        struct gy_buf b;
        gy_buf_init(&b, (size_t)1 << 30);
        rc = hex ? gy_db_object_get(db, hex, &b)
                 : gy_error_set(GY_E_CORRUPT, "%s: manifest has no profile state", name);
        if (rc == GY_NOT_FOUND)
            rc = gy_error_set(GY_E_CORRUPT, "%s: profile state object is missing", name);
        gy_buf_free(&b);
    }
    *rows = seen;
out:
    gy_lake_scan_free(s);
    return rc;
}
