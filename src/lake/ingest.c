/* SPDX-License-Identifier: MIT */
/*
 * ingest.c - turns a stream of CSV or JSON Lines records into a new dataset version.
 *
 * The calling thread reads and converts records into chunks of CHUNK_ROWS rows (one column
 * vector per schema column). The columns are split into NGROUPS fixed groups (column k in
 * group k % NGROUPS), each served by its own single-thread pool: a group's worker takes the
 * finished chunks in order, adds its columns to the profile, encodes each as a zstd segment
 * and stores it as an object. Every column is thus profiled by one thread in row order (the
 * profile is deterministic), parsing and the column work spread over the cores, and memory
 * stays bounded by a few chunks whatever the input size. Nothing is visible until the final
 * metadata transaction, which re-reads the latest version, appends the new chunks to its
 * chunk list, merges the new rows' profile into its profile and inserts the version row: a
 * crash before the commit leaves only unreferenced objects, and two concurrent ingests both
 * land, one after the other.
 */
#include "lake/lake_int.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK_ROWS 65536
#define NSLOTS 3
#define SEGMENT_MAX (256u << 20)
#define NGROUPS 2 /* column groups, one worker thread each */

struct chunk {
    size_t nrows;
    struct gy_colvec *cols;
    char (*hex)[GY_SHA256_HEX_LEN + 1];
    enum gy_status rc;
    char err[512];
    int busy; /* groups that have not finished this chunk yet */
};

struct ingest {
    struct gy_db *db;
    const struct gy_schema *schema;
    struct gy_profile *prof;
    struct chunk slots[NSLOTS];
    /* Finished chunks, in order: rows and segment hashes. */
    struct done_chunk {
        size_t rows;
        char (*hex)[GY_SHA256_HEX_LEN + 1];
    } * done;
    size_t ndone, cap_done;
    struct gy_pool *pool[NGROUPS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum gy_status worker_rc;
    char worker_err[512];
};

struct job {
    struct ingest *in;
    struct chunk *c;
    size_t index;
    size_t group;
};

/* Worker: profile, encode and store one group's columns of one chunk. Each group runs on its
 * own single-thread pool, so a group sees the chunks in order. The last group to finish a
 * chunk records it. */
static void chunk_job(void *arg)
{
    struct job *j = arg;
    struct ingest *in = j->in;
    struct chunk *c = j->c;
    struct gy_buf seg;
    enum gy_status rc = GY_OK;

    gy_buf_init(&seg, SEGMENT_MAX);
    for (size_t k = j->group; k < in->schema->ncols && rc == GY_OK; k += NGROUPS) {
        rc = gy__profile_add(in->prof, k, &c->cols[k]);
        if (rc == GY_OK) {
            gy_buf_reset(&seg);
            rc = gy__segment_encode(&c->cols[k], &seg);
        }
        if (rc == GY_OK)
            rc = gy_db_object_put(in->db, seg.data, seg.len, c->hex[k]);
    }
    gy_buf_free(&seg);
    pthread_mutex_lock(&in->lock);
    if (rc && c->rc == GY_OK) {
        c->rc = rc;
        snprintf(c->err, sizeof c->err, "%s", gy_error_msg());
    }
    rc = c->rc;
    if (--c->busy > 0) {
        pthread_mutex_unlock(&in->lock);
        gy_free(j);
        return;
    }
    if (rc == GY_OK && in->worker_rc == GY_OK) {
        struct done_chunk *d = &in->done[j->index];
        d->rows = c->nrows;
        d->hex = gy_malloc(in->schema->ncols * sizeof *d->hex);
        if (d->hex)
            memcpy(d->hex, c->hex, in->schema->ncols * sizeof *d->hex);
        else
            rc = c->rc = GY_E_NOMEM;
    }
    if (rc && in->worker_rc == GY_OK) {
        in->worker_rc = rc;
        snprintf(in->worker_err, sizeof in->worker_err, "%s",
                 c->rc == GY_E_NOMEM ? "out of memory" : c->err);
    }
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    gy_free(j);
}

static void slot_free(struct chunk *c, size_t ncols)
{
    if (c->cols)
        for (size_t k = 0; k < ncols; k++)
            gy__colvec_clear(&c->cols[k]);
    gy_free(c->cols);
    gy_free(c->hex);
    memset(c, 0, sizeof *c);
}

static enum gy_status slot_init(struct chunk *c, const struct gy_schema *s)
{
    c->cols = gy_calloc(s->ncols, sizeof *c->cols);
    c->hex = gy_calloc(s->ncols, sizeof *c->hex);
    if (!c->cols || !c->hex)
        return GY_E_NOMEM;
    for (size_t k = 0; k < s->ncols; k++) {
        enum gy_status rc = gy__colvec_init(&c->cols[k], s->cols[k].type, CHUNK_ROWS);
        if (rc)
            return rc;
    }
    return GY_OK;
}

static void slot_reset(struct chunk *c, size_t ncols)
{
    c->nrows = 0;
    c->rc = GY_OK;
    for (size_t k = 0; k < ncols; k++) {
        c->cols[k].n = 0;
        if (c->cols[k].off)
            c->cols[k].off[0] = 0;
    }
}

/* Submits the filled chunk to the workers, one job per column group. */
static enum gy_status submit(struct ingest *in, struct chunk *c)
{
    struct job *j[NGROUPS];
    size_t index, ng = GY_MIN((size_t)NGROUPS, in->schema->ncols);
    enum gy_status rc = GY_OK;
    if (in->ndone == in->cap_done) {
        size_t cap = in->cap_done ? in->cap_done * 2 : 64;
        struct done_chunk *d;
        pthread_mutex_lock(&in->lock);
        d = gy_realloc(in->done, cap * sizeof *d);
        if (d) {
            memset(d + in->cap_done, 0, (cap - in->cap_done) * sizeof *d);
            in->done = d;
            in->cap_done = cap;
        }
        pthread_mutex_unlock(&in->lock);
        if (!d)
            return GY_E_NOMEM;
    }
    for (size_t g = 0; g < ng; g++) {
        j[g] = gy_malloc(sizeof *j[g]);
        if (!j[g]) {
            while (g > 0)
                gy_free(j[--g]);
            return GY_E_NOMEM;
        }
    }
    index = in->ndone++;
    for (size_t k = 0; k < in->schema->ncols; k++)
        c->cols[k].n = c->nrows;
    c->rc = GY_OK;
    pthread_mutex_lock(&in->lock);
    c->busy = (int)ng;
    pthread_mutex_unlock(&in->lock);
    for (size_t g = 0; g < ng; g++) {
        j[g]->in = in;
        j[g]->c = c;
        j[g]->index = index;
        j[g]->group = g;
        if (rc == GY_OK)
            rc = gy_pool_submit(in->pool[g], chunk_job, j[g]);
        if (rc) {
            /* Not queued: this group will never finish the chunk. */
            pthread_mutex_lock(&in->lock);
            c->busy--;
            if (in->worker_rc == GY_OK) {
                in->worker_rc = rc;
                snprintf(in->worker_err, sizeof in->worker_err, "%s", gy_error_msg());
            }
            pthread_cond_broadcast(&in->cond);
            pthread_mutex_unlock(&in->lock);
            gy_free(j[g]);
        }
    }
    return rc;
}

/* Waits until slot c is free again; returns the worker's first error. */
static enum gy_status wait_slot(struct ingest *in, struct chunk *c)
{
    enum gy_status rc;
    pthread_mutex_lock(&in->lock);
    while (c->busy)
        pthread_cond_wait(&in->cond, &in->lock);
    rc = in->worker_rc;
    pthread_mutex_unlock(&in->lock);
    if (rc)
        gy_error_set(rc, "%s", in->worker_err);
    return rc;
}

/* ------------------------------------------------------------------ conversion */

static const char *kind_word(enum gy_field_kind k)
{
    return k == GY_FIELD_BOOL ? "a boolean" : "text";
}

/* Converts one field into row `row` of column vector v. Returns GY_E_INVALID with a message
 * (without location) on a value that does not fit the column type. */
static enum gy_status convert(struct gy_colvec *v, size_t row, const struct gy_field *f)
{
    const char *p = f->p;
    size_t len = f->len;
    enum gy_field_kind k = f->kind;

    if (v->type == GY_TYPE_STRING) {
        v->n = row;
        if (k == GY_FIELD_NULL || (k == GY_FIELD_TEXT && gy__is_null_token(p, len, v->type)))
            return gy__colvec_push_str(v, CHUNK_ROWS, NULL, 0, 0);
        return gy__colvec_push_str(v, CHUNK_ROWS, p, len, 1);
    }
    if (k == GY_FIELD_NULL || (k != GY_FIELD_BOOL && gy__is_null_token(p, len, v->type))) {
        v->valid[row] = 0;
        switch (v->type) {
        case GY_TYPE_FLOAT64:
            v->f64[row] = 0;
            break;
        case GY_TYPE_BOOL:
            v->b[row] = 0;
            break;
        default:
            v->i64[row] = 0;
        }
        return GY_OK;
    }
    v->valid[row] = 1;
    switch (v->type) {
    case GY_TYPE_FLOAT64:
        if (k != GY_FIELD_BOOL && gy__parse_f64(p, len, &v->f64[row]) == GY_OK)
            return GY_OK;
        break;
    case GY_TYPE_INT64:
        if (k != GY_FIELD_BOOL && gy__parse_i64(p, len, &v->i64[row]) == GY_OK)
            return GY_OK;
        break;
    case GY_TYPE_BOOL:
        if (gy__parse_bool(p, len, &v->b[row]) == GY_OK)
            return GY_OK;
        break;
    case GY_TYPE_TIMESTAMP:
        if (k != GY_FIELD_BOOL && gy__parse_timestamp(p, len, &v->i64[row]) == GY_OK)
            return GY_OK;
        break;
    default:
        break;
    }
    if (k == GY_FIELD_BOOL)
        return gy_error_set(GY_E_INVALID, "expected %s, found %s", gy_type_name(v->type),
                            kind_word(k));
    return gy_error_set(GY_E_INVALID, "expected %s, found \"%.*s\"", gy_type_name(v->type),
                        (int)GY_MIN(len, 40), p);
}

/* ------------------------------------------------------------------ metadata */

static enum gy_status check_dataset_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128)
        return gy_error_set(GY_E_INVALID, "dataset name must be 1 to 128 characters");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '_' || c == '-' || c == '.'));
        if (!ok)
            return gy_error_set(GY_E_INVALID,
                                "dataset name \"%s\": use letters, digits, '_', '-' and '.', "
                                "starting with a letter or digit",
                                name);
    }
    return GY_OK;
}

enum gy_status gy_lake_parse_ref(const char *ref, char *name_out, int64_t *version)
{
    const char *at = strchr(ref, '@');
    size_t n = at ? (size_t)(at - ref) : strlen(ref);
    *version = 0;
    if (n == 0 || n > GY_LAKE_MAX_NAME)
        return gy_error_set(GY_E_INVALID, "bad dataset reference \"%s\"", ref);
    memcpy(name_out, ref, n);
    name_out[n] = '\0';
    if (at) {
        int64_t v;
        if (strcmp(at + 1, "latest") == 0)
            return GY_OK;
        if (gy_parse_int64(at + 1, &v) != GY_OK || v < 1)
            return gy_error_set(GY_E_INVALID,
                                "bad version in \"%s\" (expected NAME@N with N >= 1, or "
                                "NAME@latest)",
                                ref);
        *version = v;
    }
    return GY_OK;
}

/* Looks up a dataset: id and schema (new, NULL when the dataset has none yet). */
static enum gy_status dataset_lookup(struct gy_db *db, const char *name, int64_t *id,
                                     struct gy_schema **schema)
{
    struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
    struct gy_db_rows *r = NULL;
    enum gy_status rc;
    *schema = NULL;
    rc = gy_db_query(db, "SELECT id, schema_json FROM datasets WHERE name = $1", p, 1, &r);
    if (rc)
        return rc;
    if (gy_db_rows_count(r) == 0) {
        gy_db_rows_free(r);
        return gy_error_set(GY_NOT_FOUND, "no dataset named \"%s\"", name);
    }
    *id = gy_db_rows_int(r, 0, 0);
    if (!gy_db_rows_isnull(r, 0, 1)) {
        const char *txt = gy_db_rows_text(r, 0, 1);
        json_t *j = NULL;
        rc = gy_json_parse(txt, strlen(txt), 8, "stored schema", &j);
        if (rc == GY_OK) {
            rc = gy_schema_from_json(j, schema);
            json_decref(j);
        }
        if (rc)
            rc = gy_error_wrap(GY_E_CORRUPT, "dataset \"%s\"", name);
    }
    gy_db_rows_free(r);
    return rc;
}

enum gy_status gy_lake_dataset_create(struct gy_db *db, const char *name,
                                      const struct gy_schema *schema, const char *description)
{
    struct gy_buf sj;
    enum gy_status rc;
    gy_buf_init(&sj, 1 << 24);
    if ((rc = check_dataset_name(name)) != GY_OK)
        return rc;
    if (schema) {
        json_t *j = gy_schema_to_json(schema);
        if (!j)
            return GY_E_NOMEM;
        rc = gy_json_dump(j, &sj);
        json_decref(j);
        if (rc)
            goto out;
    }
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(name), GY_DB_P_TEXT(description),
                                  GY_DB_P_TEXT(schema ? sj.data : NULL),
                                  GY_DB_P_INT(gy_time_wall_us())};
        rc = gy_db_exec(db,
                        "INSERT INTO datasets (name, description, schema_json, created_us) "
                        "VALUES ($1, $2, $3, $4)",
                        p, 4, NULL);
        if (rc == GY_E_EXISTS)
            rc = gy_error_set(GY_E_EXISTS, "dataset \"%s\" already exists", name);
    }
out:
    gy_buf_free(&sj);
    return rc;
}

/* Reads and parses the manifest object of a version row. */
static enum gy_status manifest_load(struct gy_db *db, const char *hex, json_t **out)
{
    struct gy_buf b;
    enum gy_status rc;
    gy_buf_init(&b, (size_t)1 << 30);
    rc = gy_db_object_get(db, hex, &b);
    if (rc == GY_OK)
        rc = gy_json_parse(b.data, b.len, 16, "manifest", out);
    if (rc == GY_NOT_FOUND)
        rc = gy_error_set(GY_E_CORRUPT, "manifest object %s is missing", hex);
    else if (rc == GY_E_INVALID)
        rc = GY_E_CORRUPT;
    gy_buf_free(&b);
    return rc;
}

/* Latest version number and manifest hash of dataset id; version 0 when none. */
static enum gy_status latest_version(struct gy_db *db, int64_t id, int64_t *version,
                                     char hex[GY_SHA256_HEX_LEN + 1])
{
    struct gy_db_param p[] = {GY_DB_P_INT(id)};
    struct gy_db_rows *r = NULL;
    enum gy_status rc = gy_db_query(db,
                                    "SELECT version, manifest FROM dataset_versions WHERE "
                                    "dataset_id = $1 ORDER BY version DESC LIMIT 1",
                                    p, 1, &r);
    if (rc)
        return rc;
    *version = 0;
    hex[0] = '\0';
    if (gy_db_rows_count(r)) {
        *version = gy_db_rows_int(r, 0, 0);
        snprintf(hex, GY_SHA256_HEX_LEN + 1, "%s", gy_db_rows_text(r, 0, 1));
    }
    gy_db_rows_free(r);
    return GY_OK;
}

/* Loads the profile state referenced by a manifest. */
static enum gy_status profile_from_manifest(struct gy_db *db, const json_t *m,
                                            const struct gy_schema *s, struct gy_profile **out)
{
    const char *hex = gy_json_str(m, "profile_state", NULL);
    struct gy_buf b;
    void *raw = NULL;
    unsigned long long n;
    enum gy_status rc;
    *out = NULL;
    if (!hex)
        return gy_error_set(GY_E_CORRUPT, "manifest has no profile_state");
    gy_buf_init(&b, (size_t)1 << 30);
    if ((rc = gy_db_object_get(db, hex, &b)) != GY_OK)
        goto out;
    n = ZSTD_getFrameContentSize(b.data, b.len);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (1ull << 30)) {
        rc = gy_error_set(GY_E_CORRUPT, "profile state %s: bad frame", hex);
        goto out;
    }
    raw = gy_malloc(n ? n : 1);
    if (!raw) {
        rc = GY_E_NOMEM;
        goto out;
    }
    if (ZSTD_decompress(raw, n, b.data, b.len) != n) {
        rc = gy_error_set(GY_E_CORRUPT, "profile state %s: bad payload", hex);
        goto out;
    }
    rc = gy__profile_load(raw, n, s, out);
out:
    gy_free(raw);
    gy_buf_free(&b);
    return rc;
}

static enum gy_status put_compressed(struct gy_db *db, const struct gy_buf *raw,
                                     char hex[GY_SHA256_HEX_LEN + 1])
{
    size_t bound = ZSTD_compressBound(raw->len), z;
    void *dst = gy_malloc(bound);
    enum gy_status rc;
    if (!dst)
        return GY_E_NOMEM;
    z = ZSTD_compress(dst, bound, raw->data, raw->len, 3);
    if (ZSTD_isError(z))
        rc = gy_error_set(GY_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(z));
    else
        rc = gy_db_object_put(db, dst, z, hex);
    gy_free(dst);
    return rc;
}

/* Inside the write transaction: builds and stores the manifest of the next version and
 * inserts its row. */
static enum gy_status commit_version(struct ingest *in, const char *name, int64_t id,
                                     const struct gy_ingest_opts *opts,
                                     struct gy_ingest_result *res)
{
    struct gy_db *db = in->db;
    const struct gy_schema *s = in->schema;
    char parent_hex[GY_SHA256_HEX_LEN + 1], state_hex[GY_SHA256_HEX_LEN + 1];
    int64_t parent = 0, version;
    json_t *parent_m = NULL, *m = NULL, *chunks = NULL, *summary = NULL;
    struct gy_profile *prof = NULL;
    struct gy_buf b;
    uint64_t total = 0;
    enum gy_status rc;

    gy_buf_init(&b, (size_t)1 << 30);
    if ((rc = latest_version(db, id, &parent, parent_hex)) != GY_OK)
        goto out;
    if (parent) {
        if ((rc = manifest_load(db, parent_hex, &parent_m)) != GY_OK)
            goto out;
        if ((rc = profile_from_manifest(db, parent_m, s, &prof)) != GY_OK)
            goto out;
        if ((rc = gy__profile_merge(prof, in->prof)) != GY_OK)
            goto out;
        chunks = json_deep_copy(json_object_get(parent_m, "chunks"));
        total = (uint64_t)gy_json_int(parent_m, "rows", 0);
    } else {
        chunks = json_array();
    }
    if (!chunks || !json_is_array(chunks)) {
        rc = gy_error_set(GY_E_CORRUPT, "manifest of version %lld has no chunk list",
                          (long long)parent);
        goto out;
    }
    for (size_t i = 0; i < in->ndone; i++) {
        json_t *segs = json_array(), *c;
        for (size_t k = 0; k < s->ncols && segs; k++)
            if (json_array_append_new(segs, json_string(in->done[i].hex[k])))
                break;
        c = json_pack("{s:I, s:o}", "rows", (json_int_t)in->done[i].rows, "segments", segs);
        if (!c || json_array_append_new(chunks, c)) {
            rc = GY_E_NOMEM;
            goto out;
        }
        total += in->done[i].rows;
    }
    if ((rc = gy__profile_save(prof ? prof : in->prof, &b)) != GY_OK)
        goto out;
    if ((rc = put_compressed(db, &b, state_hex)) != GY_OK)
        goto out;
    if ((rc = gy__profile_summary(prof ? prof : in->prof, &summary)) != GY_OK)
        goto out;
    version = parent + 1;
    {
        char ts[32];
        gy_time_format(gy_time_wall_us(), ts);
        m = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:o, s:I, s:o, s:o, s:s}", "format",
                      "gyre.dataset/1", "dataset", name, "version", (json_int_t)version, "parent",
                      (json_int_t)parent, "rows", (json_int_t)total, "created", ts, "source",
                      opts->source ? opts->source : "", "schema", gy_schema_to_json(s),
                      "chunk_rows", (json_int_t)CHUNK_ROWS, "chunks", chunks, "profile", summary,
                      "profile_state", state_hex);
        summary = NULL; /* json_pack took both references, also on failure */
        chunks = NULL;
    }
    if (!m) {
        rc = GY_E_NOMEM;
        goto out;
    }
    gy_buf_reset(&b);
    if ((rc = gy_json_dump(m, &b)) != GY_OK)
        goto out;
    if ((rc = gy_db_object_put(db, b.data, b.len, res->manifest)) != GY_OK)
        goto out;
    {
        struct gy_db_param p[] = {GY_DB_P_INT(id),
                                  GY_DB_P_INT(version),
                                  parent ? GY_DB_P_INT(parent) : GY_DB_P_NULL,
                                  GY_DB_P_INT(gy_time_wall_us()),
                                  GY_DB_P_INT(total),
                                  GY_DB_P_TEXT(res->manifest),
                                  GY_DB_P_TEXT(opts->source)};
        rc = gy_db_exec(db,
                        "INSERT INTO dataset_versions (dataset_id, version, parent_version, "
                        "created_us, rows, manifest, source) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        p, GY_ARRAY_LEN(p), NULL);
        if (rc == GY_E_EXISTS)
            rc = gy_error_set(GY_E_BUSY, "another ingest created version %lld first; retry",
                              (long long)version);
    }
    res->version = version;
    res->total_rows = total;
out:
    json_decref(parent_m);
    json_decref(m);
    json_decref(summary);
    json_decref(chunks);
    gy__profile_free(prof);
    gy_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ ingest */

/* Maps reader columns to schema columns: map[k] = reader field index of schema column k. */
static enum gy_status map_columns(struct gy_reader *r, const struct gy_schema *s,
                                  const char *source, size_t *map)
{
    const char *const *names;
    size_t n;
    struct gy_buf msg;
    enum gy_status rc = gy__reader_columns(r, &names, &n);
    if (rc)
        return rc;
    gy_buf_init(&msg, 1 << 16);
    for (size_t k = 0; k < s->ncols; k++) {
        map[k] = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
            if (strcmp(names[i], s->cols[k].name) == 0)
                map[k] = i;
        if (map[k] == SIZE_MAX)
            gy_buf_printf(&msg, "%smissing column \"%s\" (%s)", msg.len ? "; " : "",
                          s->cols[k].name, gy_type_name(s->cols[k].type));
    }
    for (size_t i = 0; i < n; i++)
        if (gy_schema_find(s, names[i]) < 0)
            gy_buf_printf(&msg, "%sunexpected column \"%s\"", msg.len ? "; " : "", names[i]);
    if (msg.len) {
        struct gy_buf want;
        gy_buf_init(&want, 1 << 16);
        for (size_t k = 0; k < s->ncols; k++)
            gy_buf_printf(&want, "%s%s:%s", k ? ", " : "", s->cols[k].name,
                          gy_type_name(s->cols[k].type));
        rc = gy_error_set(GY_E_SCHEMA,
                          "%s: columns do not match the dataset schema: %s "
                          "(the dataset has: %s)",
                          source, msg.data, want.data ? want.data : "");
        gy_buf_free(&want);
    }
    gy_buf_free(&msg);
    return rc;
}

/* Spools a non-seekable input (a pipe) to a temporary file so that the schema can be
 * inferred and the data then read again. Returns the new fd. */
static enum gy_status spool(struct gy_db *db, int fd, int *out)
{
    char path[4096];
    char buf[1 << 16];
    int t;
    if (gy_snprintf(path, sizeof path, "%s/tmp/ingest.XXXXXX", gy_db_home(db)))
        return gy_error_set(GY_E_TOO_LARGE, "home path too long");
    t = mkstemp(path);
    if (t < 0)
        return gy_error_set(GY_E_IO, "%s: %s", path, strerror(errno));
    unlink(path);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        enum gy_status rc;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(t);
            return gy_error_set(GY_E_IO, "read: %s", strerror(errno));
        }
        if (n == 0)
            break;
        if ((rc = gy_fd_write_all(t, buf, (size_t)n)) != GY_OK) {
            close(t);
            return rc;
        }
    }
    if (lseek(t, 0, SEEK_SET) != 0) {
        close(t);
        return gy_error_set(GY_E_IO, "lseek: %s", strerror(errno));
    }
    *out = t;
    return GY_OK;
}

static enum gy_status begin_retry(struct gy_db *db)
{
    enum gy_status rc = GY_OK;
    for (int i = 0; i < 3; i++) {
        rc = gy_db_begin(db);
        if (rc != GY_E_BUSY)
            break;
    }
    return rc;
}

enum gy_status gy_lake_ingest(struct gy_db *db, const char *name, int fd,
                              const struct gy_ingest_opts *user_opts, struct gy_ingest_result *res)
{
    struct gy_ingest_opts opts = *user_opts;
    struct gy_schema *schema = NULL;
    struct gy_reader *rd = NULL;
    struct ingest in;
    size_t *map = NULL, cur = 0;
    int64_t id = 0;
    int spool_fd = -1, in_tx = 0;
    enum gy_status rc;
    struct stat st;

    memset(&in, 0, sizeof in);
    memset(res, 0, sizeof *res);
    pthread_mutex_init(&in.lock, NULL);
    pthread_cond_init(&in.cond, NULL);
    if (!opts.source)
        opts.source = "<input>";
    if ((rc = check_dataset_name(name)) != GY_OK)
        goto out;

    rc = dataset_lookup(db, name, &id, &schema);
    if (rc == GY_NOT_FOUND) {
        rc = gy_lake_dataset_create(db, name, NULL, NULL);
        if (rc == GY_OK || rc == GY_E_EXISTS)
            rc = dataset_lookup(db, name, &id, &schema);
    }
    if (rc)
        goto out;
    if (!schema) {
        /* Infer from the input itself; pipes are spooled first so they can be read twice. */
        struct gy_buf report;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if ((rc = spool(db, fd, &spool_fd)) != GY_OK)
                goto out;
            fd = spool_fd;
        }
        gy_buf_init(&report, 1 << 20);
        rc = gy_lake_infer_schema(fd, &opts, 0, &schema, &report);
        if (rc == GY_OK && opts.report && report.len)
            fprintf(opts.report, "inferred schema:\n%s", report.data);
        gy_buf_free(&report);
        if (rc)
            goto out;
        if (lseek(fd, 0, SEEK_SET) != 0) {
            rc = gy_error_set(GY_E_IO, "%s: cannot rewind after inference", opts.source);
            goto out;
        }
    }
    in.db = db;
    in.schema = schema;
    {
        const char **cols = gy_calloc(schema->ncols, sizeof *cols);
        if (!cols) {
            rc = GY_E_NOMEM;
            goto out;
        }
        for (size_t k = 0; k < schema->ncols; k++)
            cols[k] = schema->cols[k].name;
        rc = gy__reader_create(fd, &opts, cols, schema->ncols, &rd);
        gy_free(cols);
        if (rc)
            goto out;
    }
    map = gy_calloc(schema->ncols, sizeof *map);
    if (!map) {
        rc = GY_E_NOMEM;
        goto out;
    }
    if ((rc = map_columns(rd, schema, opts.source, map)) != GY_OK)
        goto out;
    if ((rc = gy__profile_create(schema, &in.prof)) != GY_OK)
        goto out;
    for (size_t g = 0; g < NGROUPS; g++)
        if ((rc = gy_pool_create(1, &in.pool[g])) != GY_OK)
            goto out;
    /* Segments are flushed once, before the commit, instead of fsync pairs per segment. */
    gy_db_objects_defer_sync(db, 1);
    for (size_t i = 0; i < NSLOTS; i++)
        if ((rc = slot_init(&in.slots[i], schema)) != GY_OK)
            goto out;

    for (;;) {
        const struct gy_record *rec;
        struct chunk *c = &in.slots[cur];
        size_t row = c->nrows, k;
        rc = gy__reader_next(rd, &rec);
        if (rc == GY_NOT_FOUND) {
            rc = GY_OK;
            break;
        }
        if (rc == GY_E_INVALID && res->skipped < opts.skip_bad_rows) {
            res->skipped++;
            if (opts.report)
                fprintf(opts.report, "skipped: %s\n", gy_error_msg());
            continue;
        }
        if (rc)
            goto out;
        for (k = 0; k < schema->ncols; k++) {
            const struct gy_field *f = &rec->fields[map[k]];
            if (convert(&c->cols[k], row, f) != GY_OK)
                break;
        }
        if (k < schema->ncols) {
            const struct gy_field *f = &rec->fields[map[k]];
            rc = gy_error_set(GY_E_INVALID, "%s:%llu:%u: column \"%s\": %s", opts.source,
                              (unsigned long long)rec->line, f->column, schema->cols[k].name,
                              gy_error_msg());
            /* Undo the partial row: string columns already advanced their count. */
            for (size_t j = 0; j < schema->ncols; j++)
                c->cols[j].n = row;
            if (res->skipped < opts.skip_bad_rows) {
                res->skipped++;
                if (opts.report)
                    fprintf(opts.report, "skipped: %s\n", gy_error_msg());
                rc = GY_OK;
                continue;
            }
            goto out;
        }
        c->nrows = row + 1;
        res->rows++;
        if (c->nrows == CHUNK_ROWS) {
            if ((rc = submit(&in, c)) != GY_OK)
                goto out;
            cur = (cur + 1) % NSLOTS;
            if ((rc = wait_slot(&in, &in.slots[cur])) != GY_OK)
                goto out;
            slot_reset(&in.slots[cur], schema->ncols);
            if (opts.progress)
                opts.progress(opts.progress_arg, res->rows, gy__reader_bytes(rd));
        }
    }
    if (in.slots[cur].nrows && (rc = submit(&in, &in.slots[cur])) != GY_OK)
        goto out;
    for (size_t g = 0; g < NGROUPS; g++)
        gy_pool_wait(in.pool[g]);
    if ((rc = in.worker_rc) != GY_OK) {
        gy_error_set(rc, "%s", in.worker_err);
        goto out;
    }
    res->bytes_in = gy__reader_bytes(rd);
    gy_db_objects_defer_sync(db, 0);
    if ((rc = gy_db_objects_sync(db)) != GY_OK)
        goto out;
    if (res->rows == 0 && res->skipped == 0 && opts.report)
        fprintf(opts.report, "%s: no rows\n", opts.source);

    /* Publish: one transaction sets the schema (first ingest) and inserts the version. */
    if ((rc = begin_retry(db)) != GY_OK)
        goto out;
    in_tx = 1;
    {
        json_t *sj = gy_schema_to_json(schema);
        struct gy_buf b;
        int64_t changes = 0;
        gy_buf_init(&b, 1 << 24);
        rc = sj ? gy_json_dump(sj, &b) : GY_E_NOMEM;
        json_decref(sj);
        if (rc == GY_OK) {
            struct gy_db_param p[] = {GY_DB_P_TEXT(b.data), GY_DB_P_INT(id)};
            rc = gy_db_exec(db,
                            "UPDATE datasets SET schema_json = $1 WHERE id = $2 AND "
                            "schema_json IS NULL",
                            p, 2, &changes);
        }
        gy_buf_free(&b);
        if (rc == GY_OK && changes == 0) {
            struct gy_schema *now = NULL;
            int64_t id2;
            rc = dataset_lookup(db, name, &id2, &now);
            if (rc == GY_OK && (!now || !gy_schema_equal(now, schema)))
                rc = gy_error_set(GY_E_SCHEMA,
                                  "dataset \"%s\" got a different schema from a concurrent "
                                  "ingest",
                                  name);
            gy_schema_free(now);
        }
    }
    if (rc == GY_OK)
        rc = commit_version(&in, name, id, &opts, res);
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc == GY_OK)
        in_tx = 0;
out:
    gy_db_objects_defer_sync(db, 0);
    if (in_tx)
        gy_db_rollback(db);
    for (size_t g = 0; g < NGROUPS; g++) {
        if (in.pool[g]) {
            gy_pool_wait(in.pool[g]);
            gy_pool_free(in.pool[g]);
        }
    }
    for (size_t i = 0; i < NSLOTS; i++)
        slot_free(&in.slots[i], schema ? schema->ncols : 0);
    for (size_t i = 0; i < in.ndone; i++)
        gy_free(in.done[i].hex);
    gy_free(in.done);
    gy__profile_free(in.prof);
    gy__reader_free(rd);
    gy_free(map);
    gy_schema_free(schema);
    if (spool_fd >= 0)
        close(spool_fd);
    pthread_mutex_destroy(&in.lock);
    pthread_cond_destroy(&in.cond);
    return rc;
}
