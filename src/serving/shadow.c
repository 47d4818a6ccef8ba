/* SPDX-License-Identifier: MIT */
/*
 * shadow.c - shadow mirroring: after a deployment's primary answer is computed, the request's
 * inputs (as the primary model read them) and outputs are copied into a job on a bounded queue;
 * one worker thread predicts with every shadow model of the snapshot and appends one JSON line
 * per shadow to $GYRE_HOME/logs/shadow/<deployment>.jsonl:
 *
 *   {"time_us","request_id","deployment","variant","version","outputs":[[...]],
 *    "primary_version","primary_outputs":[[...]]}
 *
 * A shadow model reads the inputs by column name through its own preprocessing, so a
 * challenger with different fitted statistics or columns sees the same raw request. A full
 * queue drops the mirror (counted per shadow variant) and never blocks the request. Logs are
 * buffered and written at least once a second and when the worker stops.
 */
#include "serving/serving_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_NS INT64_C(1000000000)
#define FLUSH_BYTES (64 * 1024)
#define LOG_LINE_MAX ((size_t)64 << 20)

struct job {
    struct job *next;
    struct gy_serving_target *snap; /* reference */
    const struct gy__sroute *primary;
    char *request_id;
    int64_t time_us;
    uint64_t nrows;
    float *x;                      /* identity primary: nrows x n_in raw values */
    struct gy_feature_value *vals; /* otherwise: nrows x n_in */
    char *blob;                    /* strings of vals */
    float *pout;                   /* primary outputs, nrows x n_out */
};

struct logfile {
    char *deployment;
    int fd;
    struct gy_buf buf;
};

struct gy__shadower {
    struct gy_serving *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    size_t count, max;
    int stopping, running;
    pthread_t thread;
    /* worker-only */
    struct logfile *files;
    size_t nfiles;
    int64_t last_flush_ns;
    float *xbuf, *obuf;
    size_t xcap, ocap;
    unsigned char *scratch;
    size_t scap;
    struct gy_feature_value *row;
    size_t rowcap;
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    gy__snap_unref(j->snap);
    gy_free(j->request_id);
    gy_free(j->x);
    gy_free(j->vals);
    gy_free(j->blob);
    gy_free(j->pout);
    gy_free(j);
}

static void drop(const struct gy_serving_target *t)
{
    for (size_t i = 0; i < t->n_shadows; i++)
        if (t->shadows[i].var)
            gy__add(&t->shadows[i].var->dropped, 1);
}

void gy__shadower_submit(struct gy__shadower *w, struct gy_serving_target *t,
                         const struct gy__sroute *primary, const struct gy_serving_call *call,
                         const float *x)
{
    const struct gy_served_model *m = primary->m;
    struct job *j;
    int full;
    pthread_mutex_lock(&w->mu);
    full = w->count >= w->max || w->stopping;
    pthread_mutex_unlock(&w->mu);
    if (full) {
        drop(t);
        return;
    }
    j = gy_calloc(1, sizeof *j);
    if (!j) {
        drop(t);
        return;
    }
    j->nrows = call->nrows;
    j->time_us = gy_time_wall_us();
    j->primary = primary;
    if (call->request_id && !(j->request_id = gy_strdup(call->request_id)))
        goto fail;
    if (!(j->pout = gy_malloc(call->nrows * m->n_out * sizeof(float))))
        goto fail;
    memcpy(j->pout, call->outputs, call->nrows * m->n_out * sizeof(float));
    if (m->identity) {
        if (!(j->x = gy_malloc(call->nrows * m->n_in * sizeof(float))))
            goto fail;
        memcpy(j->x, x, call->nrows * m->n_in * sizeof(float));
    } else if (gy__infer_raw_values(m->s, m, call, &j->vals, &j->blob)) {
        goto fail;
    }
    atomic_fetch_add(&t->refs, 1);
    j->snap = t;
    pthread_mutex_lock(&w->mu);
    if (w->count >= w->max || w->stopping) {
        pthread_mutex_unlock(&w->mu);
        drop(t);
        job_free(j);
        return;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->count++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return;
fail:
    drop(t);
    job_free(j);
}

/* ------------------------------------------------------------------ the log */

static void file_flush(struct logfile *f)
{
    if (f->fd >= 0 && f->buf.len) {
        if (gy_fd_write_all(f->fd, f->buf.data, f->buf.len))
            gy_log(GY_LOG_ERROR, "serving: shadow log of %s: %s", f->deployment, gy_error_msg());
    }
    gy_buf_reset(&f->buf);
}

static void flush_all(struct gy__shadower *w)
{
    for (size_t i = 0; i < w->nfiles; i++)
        file_flush(&w->files[i]);
    w->last_flush_ns = gy_time_mono_ns();
}

static struct logfile *file_get(struct gy__shadower *w, const char *deployment)
{
    struct logfile *f;
    char dir[4096], path[4400];
    for (size_t i = 0; i < w->nfiles; i++)
        if (strcmp(w->files[i].deployment, deployment) == 0)
            return &w->files[i];
    f = gy_realloc(w->files, (w->nfiles + 1) * sizeof *f);
    if (!f)
        return NULL;
    w->files = f;
    f = &w->files[w->nfiles];
    memset(f, 0, sizeof *f);
    f->fd = -1;
    gy_buf_init(&f->buf, LOG_LINE_MAX);
    if (!(f->deployment = gy_strdup(deployment)))
        return NULL;
    w->nfiles++;
    snprintf(dir, sizeof dir, "%s/logs/shadow", w->s->home);
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, deployment);
    if (gy_mkdir_p(dir) == GY_OK)
        f->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f->fd < 0)
        gy_log(GY_LOG_ERROR, "serving: cannot open the shadow log %s: %s", path, strerror(errno));
    return f;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return gy_buf_append(data, buf, size) == GY_OK ? 0 : -1;
}

static json_t *rows_json(const float *v, uint64_t nrows, size_t width)
{
    json_t *a = json_array();
    for (uint64_t r = 0; a && r < nrows; r++) {
        json_t *row = json_array();
        if (!row || json_array_append_new(a, row)) {
            json_decref(a);
            return NULL;
        }
        for (size_t k = 0; k < width; k++) {
            float f = v[r * width + k];
            if (json_array_append_new(row, isfinite(f) ? json_real((double)f) : json_null())) {
                json_decref(a);
                return NULL;
            }
        }
    }
    return a;
}

static void log_line(struct gy__shadower *w, const struct job *j, const struct gy__sroute *sr,
                     const float *out)
{
    const struct gy_served_model *pm = j->primary->m, *sm = sr->m;
    struct logfile *f = file_get(w, j->snap->ep->name);
    json_t *o;
    if (!f)
        return;
    o = json_pack("{s:I,s:o,s:s,s:s,s:I,s:o,s:I,s:o}", "time_us", (json_int_t)j->time_us,
                  "request_id", j->request_id ? json_string(j->request_id) : json_null(),
                  "deployment", j->snap->ep->name, "variant", sr->label, "version",
                  (json_int_t)sm->version, "outputs", rows_json(out, j->nrows, sm->n_out),
                  "primary_version", (json_int_t)pm->version, "primary_outputs",
                  rows_json(j->pout, j->nrows, pm->n_out));
    if (!o)
        return;
    if (json_dump_callback(o, dump_cb, &f->buf, JSON_COMPACT | JSON_REAL_PRECISION(9)) == 0)
        gy_buf_putc(&f->buf, '\n');
    json_decref(o);
    if (f->buf.len >= FLUSH_BYTES)
        file_flush(f);
}

/* ------------------------------------------------------------------ the worker */

static int grow(void **p, size_t *cap, size_t need)
{
    void *q;
    if (need <= *cap)
        return 0;
    q = gy_realloc(*p, need);
    if (!q)
        return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* The value shadow model input @p k reads from primary input @p pk of row @p r. */
static void value_of(const struct job *j, size_t pn, long pk, uint64_t r,
                     struct gy_feature_value *v)
{
    memset(v, 0, sizeof *v);
    if (pk < 0) {
        v->kind = GY_FV_NULL;
    } else if (j->vals) {
        *v = j->vals[r * pn + (size_t)pk];
    } else {
        float f = j->x[r * pn + (size_t)pk];
        v->kind = isnan(f) ? GY_FV_NULL : GY_FV_NUM;
        v->num = (double)f;
    }
}

static int same_inputs(const struct gy_served_model *a, const struct gy_served_model *b)
{
    if (a->n_in != b->n_in)
        return 0;
    for (size_t i = 0; i < a->n_in; i++)
        if (strcmp(gy_features_input_name(a->features, i),
                   gy_features_input_name(b->features, i)) != 0)
            return 0;
    return 1;
}

/* Predicts one job with one shadow model and logs it. */
static void shadow_one(struct gy__shadower *w, const struct job *j, const struct gy__sroute *sr)
{
    const struct gy_served_model *pm = j->primary->m, *sm = sr->m;
    int64_t t0 = gy_time_mono_ns();
    const float *x;
    uint64_t n = j->nrows;
    unsigned char *scratch;
    int ok = 1;
    if (grow((void **)&w->obuf, &w->ocap, n * sm->n_out * sizeof(float)) ||
        grow((void **)&w->scratch, &w->scap, gy_engine_scratch_size(sm->engine, n) + 64)) {
        ok = 0;
        goto out;
    }
    if (j->x && sm->identity && same_inputs(pm, sm)) {
        x = j->x;
    } else {
        long stack_map[64], *map = stack_map;
        if (grow((void **)&w->xbuf, &w->xcap, n * sm->n_feat * sizeof(float)) ||
            grow((void **)&w->row, &w->rowcap, sm->n_in * sizeof(*w->row)) ||
            (sm->n_in > 64 && !(map = gy_calloc(sm->n_in, sizeof *map)))) {
            ok = 0;
            goto out;
        }
        for (size_t k = 0; k < sm->n_in; k++)
            map[k] = gy_features_input_find(pm->features, gy_features_input_name(sm->features, k));
        for (uint64_t r = 0; ok && r < n; r++) {
            for (size_t k = 0; k < sm->n_in; k++)
                value_of(j, pm->n_in, map[k], r, &w->row[k]);
            if (gy_features_apply_row(sm->features, w->row, w->xbuf + r * sm->n_feat))
                ok = 0;
        }
        if (map != stack_map)
            gy_free(map);
        x = w->xbuf;
    }
    if (ok) {
        scratch = w->scratch + ((64 - ((uintptr_t)w->scratch & 63)) & 63);
        gy_engine_predict(sm->engine, x, n, scratch, NULL, w->obuf);
    }
out:
    gy__variant_record(sr->var, (uint64_t)(gy_time_mono_ns() - t0), ok);
    if (ok)
        log_line(w, j, sr, w->obuf);
}

static void *shadow_main(void *arg)
{
    struct gy__shadower *w = arg;
    w->last_flush_ns = gy_time_mono_ns();
    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct job *j = w->head;
        if (!j) {
            struct timespec ts;
            int64_t t;
            if (w->stopping)
                break;
            t = gy_time_mono_ns() + FLUSH_NS;
            ts.tv_sec = (time_t)(t / 1000000000);
            ts.tv_nsec = (long)(t % 1000000000);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            if (!w->head && gy_time_mono_ns() - w->last_flush_ns >= FLUSH_NS) {
                pthread_mutex_unlock(&w->mu);
                flush_all(w);
                pthread_mutex_lock(&w->mu);
            }
            continue;
        }
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->count--;
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < j->snap->n_shadows; i++)
            shadow_one(w, j, &j->snap->shadows[i]);
        job_free(j);
        if (gy_time_mono_ns() - w->last_flush_ns >= FLUSH_NS)
            flush_all(w);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    flush_all(w);
    return NULL;
}

enum gy_status gy__shadower_create(struct gy_serving *s, size_t max_queue,
                                   struct gy__shadower **out)
{
    struct gy__shadower *w = gy_calloc(1, sizeof *w);
    pthread_condattr_t a;
    *out = NULL;
    if (!w)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    w->s = s;
    w->max = max_queue;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &a);
    pthread_condattr_destroy(&a);
    if (pthread_create(&w->thread, NULL, shadow_main, w) != 0) {
        gy__shadower_free(w);
        return gy_error_set(GY_E_INTERNAL, "serving: cannot start the shadow worker: %s",
                            strerror(errno));
    }
    w->running = 1;
    *out = w;
    return GY_OK;
}

void gy__shadower_free(struct gy__shadower *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->running)
        pthread_join(w->thread, NULL);
    while (w->head) {
        struct job *j = w->head;
        w->head = j->next;
        job_free(j);
    }
    for (size_t i = 0; i < w->nfiles; i++) {
        file_flush(&w->files[i]);
        if (w->files[i].fd >= 0)
            close(w->files[i].fd);
        gy_buf_free(&w->files[i].buf);
        gy_free(w->files[i].deployment);
    }
    gy_free(w->files);
    gy_free(w->xbuf);
    gy_free(w->obuf);
    gy_free(w->scratch);
    gy_free(w->row);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    gy_free(w);
}
