/* SPDX-License-Identifier: MIT */
/*
 * log.c - the prediction log: a sample (the deployment's log_sample) of the requests a
 * deployment answers is copied into a record on a bounded in-memory queue; one flusher thread
 * appends the queued records to the lake dataset "predlog-<deployment>" (one row per inferred
 * row) every flush_records records or flush_ms milliseconds, whichever comes first, and at
 * gy_serving_free. A full queue drops the record (counted) and never blocks the request.
 *
 * Dataset schema: request_id string, time timestamp, deployment string, variant string,
 * model_version int64, latency_us float64, one column per model input (the raw request value,
 * typed as the model's input column), then output_0 .. output_{k-1} float64. It is fixed when
 * the dataset is created by the first flush: the union of the inputs of the models in that
 * flush (a variant without a column writes null; a column a later model adds is not logged).
 * Each flush writes a JSON Lines batch to $GYRE_HOME/tmp and ingests it through gy_lake_ingest:
 * a new dataset version that shares the earlier versions' segments.
 */
#include "serving/serving_int.h"

#include "features/features.h"
#include "lake/lake.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DS_PREFIX "predlog-"
#define N_FIXED 6

struct rec {
    struct rec *next;
    struct gy_serving_target *snap; /* reference: keeps the names and the model alive */
    const struct gy__sroute *route;
    char *request_id;
    int64_t time_us;
    double latency_us;
    uint64_t nrows;
    float *x;                      /* identity model: nrows x n_in raw values */
    struct gy_feature_value *vals; /* otherwise: nrows x n_in */
    char *blob;                    /* strings of vals */
    float *out;                    /* nrows x n_out */
};

/* A dataset the flusher knows the schema of. */
struct dset {
    struct dset *next;
    char *deployment;
    struct gy_schema *schema;
};

struct gy__predlog {
    char *home, *db_url;
    size_t max, flush_records;
    int64_t flush_ns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rec *head, *tail;
    size_t count;
    int stopping, running;
    pthread_t thread;
    _Atomic uint64_t records, dropped, rows;
    /* flusher-only */
    struct gy_db *db;
    struct dset *dsets;
    uint64_t seq;
};

static void rec_free(struct rec *r)
{
    if (!r)
        return;
    gy__snap_unref(r->snap);
    gy_free(r->request_id);
    gy_free(r->x);
    gy_free(r->vals);
    gy_free(r->blob);
    gy_free(r->out);
    gy_free(r);
}

/* xorshift64* per thread, for sampling. */
static double rand01(void)
{
    static _Thread_local uint64_t x;
    if (x == 0) {
        x = gy_mix64((uint64_t)gy_time_mono_ns() ^ (uint64_t)(uintptr_t)&x);
        if (x == 0)
            x = 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return (double)((x * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53;
}

void gy__predlog_submit(struct gy__predlog *p, struct gy_serving_target *t,
                        const struct gy__sroute *r, const struct gy_serving_call *call,
                        const float *x, uint64_t latency_ns)
{
    const struct gy_served_model *m = r->m;
    struct rec *j;
    int full;
    if (!p || !t->deployment || !(t->log_sample > 0) || !call->nrows)
        return;
    if (t->log_sample < 1 && rand01() >= t->log_sample)
        return;
    pthread_mutex_lock(&p->mu);
    full = p->count >= p->max || p->stopping;
    pthread_mutex_unlock(&p->mu);
    if (full) {
        gy__add(&p->dropped, 1);
        return;
    }
    if (!(j = gy_calloc(1, sizeof *j)))
        goto fail;
    j->nrows = call->nrows;
    j->time_us = gy_time_wall_us();
    j->latency_us = (double)latency_ns / 1000.0;
    j->route = r;
    if (call->request_id && !(j->request_id = gy_strdup(call->request_id)))
        goto fail;
    if (!(j->out = gy_malloc(call->nrows * m->n_out * sizeof(float))))
        goto fail;
    memcpy(j->out, call->outputs, call->nrows * m->n_out * sizeof(float));
    if (m->identity && x) {
        if (!(j->x = gy_malloc(call->nrows * m->n_in * sizeof(float))))
            goto fail;
        memcpy(j->x, x, call->nrows * m->n_in * sizeof(float));
    } else if (gy__infer_raw_values(m->s, m, call, &j->vals, &j->blob)) {
        goto fail;
    }
    atomic_fetch_add(&t->refs, 1);
    j->snap = t;
    pthread_mutex_lock(&p->mu);
    if (p->count >= p->max || p->stopping) {
        pthread_mutex_unlock(&p->mu);
        goto fail;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    if (++p->count >= p->flush_records)
        pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    gy__add(&p->records, 1);
    return;
fail:
    gy__add(&p->dropped, 1);
    rec_free(j);
}

void gy__predlog_counts(struct gy__predlog *p, uint64_t *records, uint64_t *dropped)
{
    *records = p ? gy__get(&p->records) : 0;
    *dropped = p ? gy__get(&p->dropped) : 0;
}

/* ------------------------------------------------------------------ writing */

static const char *rec_deployment(const struct rec *r)
{
    return r->snap->ep->name;
}

static void put_str(struct gy_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    gy_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            gy_buf_putc(b, '\\');
            gy_buf_putc(b, (char)c);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            gy_buf_append(b, e, sizeof e);
        } else {
            gy_buf_putc(b, (char)c);
        }
    }
    gy_buf_putc(b, '"');
}

static void put_time(struct gy_buf *b, int64_t us)
{
    time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    int64_t frac = us - (int64_t)secs * 1000000;
    struct tm tm;
    char text[64];
    gmtime_r(&secs, &tm);
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    gy_buf_printf(b, "\"%s.%06lldZ\"", text, (long long)frac);
}

static void put_num(struct gy_buf *b, enum gy_type type, double v)
{
    if (!isfinite(v)) {
        gy_buf_puts(b, "null");
        return;
    }
    switch (type) {
    case GY_TYPE_INT64:
        gy_buf_printf(b, "%lld", (long long)gy__i64_trunc(v));
        break;
    case GY_TYPE_BOOL:
        gy_buf_puts(b, v != 0 ? "true" : "false");
        break;
    case GY_TYPE_TIMESTAMP:
        put_time(b, (int64_t)v);
        break;
    case GY_TYPE_STRING: {
        char t[32];
        int n = snprintf(t, sizeof t, "%.17g", v);
        put_str(b, t, (size_t)n);
        break;
    }
    default:
        gy_buf_printf(b, "%.17g", v);
    }
}

/* Input value @p i of row @p row of @p r in the column type @p type. */
static void put_input(struct gy_buf *b, const struct rec *r, uint64_t row, long i,
                      enum gy_type type)
{
    const struct gy_served_model *m = r->route->m;
    const struct gy_feature_value *v;
    if (i < 0) {
        gy_buf_puts(b, "null");
        return;
    }
    if (r->x) {
        put_num(b, type, r->x[row * m->n_in + (size_t)i]);
        return;
    }
    v = &r->vals[row * m->n_in + (size_t)i];
    if (v->kind == GY_FV_NUM || v->kind == GY_FV_BOOL)
        put_num(b, type, v->num);
    else if (v->kind == GY_FV_STR && type == GY_TYPE_STRING)
        put_str(b, v->str, v->len);
    else
        gy_buf_puts(b, "null");
}

/* True when @p m is in seen[0..*n); otherwise adds it (while there is room). */
static int seen_model(const void **seen, size_t *n, size_t cap, const void *m)
{
    for (size_t i = 0; i < *n; i++)
        if (seen[i] == m)
            return 1;
    if (*n < cap)
        seen[(*n)++] = m;
    return 0;
}

/* The log schema for the records of one deployment (the union of their inputs). New. */
static struct gy_schema *schema_for(struct rec *recs)
{
    static const char *const fixed[N_FIXED] = {"request_id", "time",          "deployment",
                                               "variant",    "model_version", "latency_us"};
    static const enum gy_type ftypes[N_FIXED] = {GY_TYPE_STRING, GY_TYPE_TIMESTAMP,
                                                 GY_TYPE_STRING, GY_TYPE_STRING,
                                                 GY_TYPE_INT64,  GY_TYPE_FLOAT64};
    size_t n_in = 0, n_out = 0, k = 0;
    struct gy_schema *s;
    const void *seen[64];
    size_t nseen = 0;
    /* Count the inputs of each distinct model once: a flush holds many records per model. */
    for (struct rec *r = recs; r; r = r->next) {
        if (seen_model(seen, &nseen, GY_ARRAY_LEN(seen), r->route->m))
            continue;
        n_in += r->route->m->n_in;
        if (r->route->m->n_out > n_out)
            n_out = r->route->m->n_out;
    }
    if (N_FIXED + n_in + n_out > GY_LAKE_MAX_COLUMNS ||
        !(s = gy_schema_create(N_FIXED + n_in + n_out)))
        return NULL;
    for (; k < N_FIXED; k++) {
        s->cols[k].name = gy_strdup(fixed[k]);
        s->cols[k].type = ftypes[k];
    }
    nseen = 0;
    for (struct rec *r = recs; r; r = r->next) {
        const struct gy_features *f = r->route->m->features;
        if (seen_model(seen, &nseen, GY_ARRAY_LEN(seen), r->route->m))
            continue;
        for (size_t i = 0; i < r->route->m->n_in; i++) {
            const char *name = gy_features_input_name(f, i);
            int have = 0;
            for (size_t c = 0; c < k && !have; c++)
                have = s->cols[c].name && strcmp(s->cols[c].name, name) == 0;
            if (have)
                continue;
            s->cols[k].name = gy_strdup(name);
            s->cols[k].type = gy_features_input_type(f, i);
            k++;
        }
    }
    for (size_t o = 0; o < n_out; o++) {
        char name[32];
        snprintf(name, sizeof name, "output_%zu", o);
        s->cols[k].name = gy_strdup(name);
        s->cols[k].type = GY_TYPE_FLOAT64;
        k++;
    }
    s->ncols = k;
    for (size_t c = 0; c < k; c++)
        if (!s->cols[c].name) {
            gy_schema_free(s);
            return NULL;
        }
    return s;
}

/* The schema of the deployment's log dataset, creating the dataset when missing. Borrowed. */
static enum gy_status dataset_schema(struct gy__predlog *p, const char *dep, const char *ds,
                                     struct rec *recs, const struct gy_schema **out)
{
    struct dset *d;
    json_t *man = NULL;
    struct gy_schema *s = NULL;
    enum gy_status rc;
    for (d = p->dsets; d; d = d->next)
        if (strcmp(d->deployment, dep) == 0) {
            *out = d->schema;
            return GY_OK;
        }
    rc = gy_lake_version_get(p->db, ds, 0, &man);
    if (rc == GY_OK) {
        rc = gy_schema_from_json(json_object_get(man, "schema"), &s);
        json_decref(man);
        if (rc)
            return rc;
    } else if (rc == GY_NOT_FOUND) {
        char desc[GY_DEPLOY_NAME_MAX + 64];
        if (!(s = schema_for(recs)))
            return gy_error_set(GY_E_NOMEM, "prediction log: cannot build the schema of %s", ds);
        snprintf(desc, sizeof desc, "prediction log of deployment %s", dep);
        rc = gy_lake_dataset_create(p->db, ds, s, desc);
        if (rc && rc != GY_E_EXISTS) {
            gy_schema_free(s);
            return rc;
        }
    } else {
        return rc;
    }
    if (!(d = gy_calloc(1, sizeof *d)) || !(d->deployment = gy_strdup(dep))) {
        gy_free(d);
        gy_schema_free(s);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    d->schema = s;
    d->next = p->dsets;
    p->dsets = d;
    *out = s;
    return GY_OK;
}

/* Writes one JSON line per row of every record in @p recs for schema @p s. */
static enum gy_status write_rows(const struct gy_schema *s, struct rec *recs, struct gy_buf *b,
                                 long *idx, uint64_t *rows)
{
    *rows = 0;
    for (struct rec *r = recs; r; r = r->next) {
        const struct gy_served_model *m = r->route->m;
        for (size_t c = N_FIXED; c < s->ncols; c++) {
            const char *name = s->cols[c].name;
            unsigned long o;
            char *end;
            idx[c] = gy_features_input_find(m->features, name);
            if (idx[c] < 0 && strncmp(name, "output_", 7) == 0 && name[7] >= '0' &&
                name[7] <= '9') {
                o = strtoul(name + 7, &end, 10);
                if (!*end && o < m->n_out)
                    idx[c] = -2 - (long)o; /* output o */
            }
        }
        for (uint64_t row = 0; row < r->nrows; row++) {
            gy_buf_puts(b, "{\"request_id\":");
            if (!r->request_id) {
                gy_buf_puts(b, "null");
            } else if (r->nrows == 1) {
                put_str(b, r->request_id, strlen(r->request_id));
            } else {
                char *id = NULL;
                size_t n = strlen(r->request_id) + 24;
                if (!(id = gy_malloc(n)))
                    return gy_error_set(GY_E_NOMEM, "out of memory");
                snprintf(id, n, "%s#%llu", r->request_id, (unsigned long long)row);
                put_str(b, id, strlen(id));
                gy_free(id);
            }
            gy_buf_puts(b, ",\"time\":");
            put_time(b, r->time_us);
            gy_buf_puts(b, ",\"deployment\":");
            put_str(b, rec_deployment(r), strlen(rec_deployment(r)));
            gy_buf_puts(b, ",\"variant\":");
            put_str(b, r->route->label, strlen(r->route->label));
            gy_buf_printf(b, ",\"model_version\":%lld,\"latency_us\":%.3f", (long long)m->version,
                          r->latency_us);
            for (size_t c = N_FIXED; c < s->ncols; c++) {
                gy_buf_putc(b, ',');
                put_str(b, s->cols[c].name, strlen(s->cols[c].name));
                gy_buf_putc(b, ':');
                if (idx[c] <= -2)
                    put_num(b, s->cols[c].type, r->out[row * m->n_out + (size_t)(-2 - idx[c])]);
                else
                    put_input(b, r, row, idx[c], s->cols[c].type);
            }
            if (gy_buf_puts(b, "}\n"))
                return gy_error_set(GY_E_NOMEM, "prediction log: batch too large");
            (*rows)++;
        }
    }
    return GY_OK;
}

/* Appends @p recs (all of deployment @p dep) to its dataset. */
static enum gy_status flush_deployment(struct gy__predlog *p, const char *dep, struct rec *recs,
                                       uint64_t *rows_out)
{
    char ds[GY_LAKE_MAX_NAME + 1], path[4096];
    const struct gy_schema *s = NULL;
    struct gy_buf b;
    long *idx = NULL;
    int fd = -1;
    uint64_t rows = 0;
    enum gy_status rc;
    struct gy_ingest_opts opts = {.format = GY_FORMAT_JSONL, .source = ds};
    struct gy_ingest_result res;
    gy_buf_init(&b, (size_t)1 << 34);
    path[0] = 0;
    *rows_out = 0;
    snprintf(ds, sizeof ds, DS_PREFIX "%s", dep);
    if ((rc = dataset_schema(p, dep, ds, recs, &s)))
        goto out;
    if (!(idx = gy_calloc(s->ncols, sizeof *idx))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = write_rows(s, recs, &b, idx, &rows)))
        goto out;
    snprintf(path, sizeof path, "%s/tmp/predlog-%ld-%llu.jsonl", gy_db_home(p->db), (long)getpid(),
             (unsigned long long)++p->seq);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = gy_error_set(GY_E_IO, "prediction log: cannot create %s: %s", path, strerror(errno));
        path[0] = 0;
        goto out;
    }
    if ((rc = gy_fd_write_all(fd, b.data, b.len)))
        goto out;
    for (int attempt = 0; attempt < 50; attempt++) {
        if (lseek(fd, 0, SEEK_SET) < 0) {
            rc = gy_error_set(GY_E_IO, "prediction log: %s: %s", path, strerror(errno));
            goto out;
        }
        memset(&res, 0, sizeof res);
        rc = gy_lake_ingest(p->db, ds, fd, &opts, &res);
        if (rc != GY_E_BUSY)
            break;
        usleep(100000);
    }
    if (rc == GY_OK)
        *rows_out = rows;
out:
    if (fd >= 0)
        close(fd);
    if (path[0])
        unlink(path);
    gy_free(idx);
    gy_buf_free(&b);
    return rc;
}

/* Writes every record of @p list (any deployments) and frees them. */
static void flush_list(struct gy__predlog *p, struct rec *list)
{
    while (list) {
        const char *dep = rec_deployment(list);
        struct rec *mine = NULL, **mt = &mine, *rest = NULL, **rt = &rest;
        size_t n = 0;
        uint64_t rows = 0;
        enum gy_status rc;
        for (struct rec *r = list, *next; r; r = next) {
            next = r->next;
            r->next = NULL;
            if (strcmp(rec_deployment(r), dep) == 0) {
                *mt = r;
                mt = &r->next;
                n++;
            } else {
                *rt = r;
                rt = &r->next;
            }
        }
        if (!p->db)
            rc = gy_db_open(p->home, *p->db_url ? p->db_url : NULL, &p->db);
        else
            rc = GY_OK;
        if (rc == GY_OK)
            rc = flush_deployment(p, dep, mine, &rows);
        if (rc) {
            gy_log(GY_LOG_ERROR, "serving: prediction log of %s: %zu records lost: %s", dep, n,
                   gy_error_msg());
            gy__add(&p->dropped, n);
        } else {
            gy__add(&p->rows, rows);
        }
        while (mine) {
            struct rec *r = mine;
            mine = r->next;
            rec_free(r);
        }
        list = rest;
    }
}

static void *flusher_main(void *arg)
{
    struct gy__predlog *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct rec *list;
        if (!p->stopping && p->count < p->flush_records) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)(p->flush_ns / 1000000000);
            ts.tv_nsec += (long)(p->flush_ns % 1000000000);
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            while (!p->stopping && p->count < p->flush_records &&
                   pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
                ;
        }
        list = p->head;
        p->head = p->tail = NULL;
        p->count = 0;
        if (!list && p->stopping)
            break;
        pthread_mutex_unlock(&p->mu);
        flush_list(p, list);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

enum gy_status gy__predlog_create(struct gy_serving *s, size_t max, size_t flush_records,
                                  unsigned flush_ms, struct gy__predlog **out)
{
    struct gy__predlog *p = gy_calloc(1, sizeof *p);
    *out = NULL;
    if (!p || !(p->home = gy_strdup(s->home)) || !(p->db_url = gy_strdup(s->db_url))) {
        if (p) {
            gy_free(p->home);
            gy_free(p);
        }
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    p->max = max ? max : GY_PREDLOG_DEFAULT_QUEUE;
    p->flush_records = flush_records ? flush_records : GY_PREDLOG_DEFAULT_FLUSH;
    p->flush_ns = (int64_t)(flush_ms ? flush_ms : GY_PREDLOG_DEFAULT_FLUSH_MS) * 1000000;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, flusher_main, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        gy_free(p->home);
        gy_free(p->db_url);
        gy_free(p);
        return gy_error_set(GY_E_INTERNAL, "serving: cannot start the prediction log flusher: %s",
                            strerror(errno));
    }
    p->running = 1;
    *out = p;
    return GY_OK;
}

void gy__predlog_free(struct gy__predlog *p)
{
    if (!p)
        return;
    if (p->running) {
        pthread_mutex_lock(&p->mu);
        p->stopping = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    while (p->dsets) {
        struct dset *d = p->dsets;
        p->dsets = d->next;
        gy_free(d->deployment);
        gy_schema_free(d->schema);
        gy_free(d);
    }
    gy_db_free(p->db);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    gy_free(p->home);
    gy_free(p->db_url);
    gy_free(p);
}
