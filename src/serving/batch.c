/* SPDX-License-Identifier: MIT */
/*
 * batch.c - dynamic batching (Triton's max_batch_size and max_queue_delay_microseconds): a
 * deployment that batches queues its mapped requests; batcher threads take whole requests of
 * one model version from the head of a queue, up to max_batch_size rows, once the queue holds
 * that many rows or its oldest request has waited max_queue_delay_us, run one engine call on
 * the concatenated rows, and hand each request its slice of the outputs.
 *
 * A request larger than max_batch_size runs alone. A full queue (max_queue_size requests)
 * refuses new requests with GY_E_BUSY. Items live in the request's arena; the queue holds a
 * reference to the request's snapshot, so its model cannot go away while it waits.
 */
#include "serving/serving_int.h"

#include <errno.h>
#include <string.h>
#include <time.h>

struct gy__batcher {
    struct gy_serving *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct gy__endpoint *list; /* endpoints with queued requests */
    int stopping;
    int n;
    pthread_t *threads;
};

/* Per batcher thread: the concatenated rows and results. */
struct work {
    float *x, *out, *marg;
    size_t xcap, outcap, margcap;
    unsigned char *scratch;
    size_t scratchcap;
};

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

static uint64_t item_rows(const struct gy__bitem *it)
{
    return it->call->nrows;
}

/* Unlinks @p ep from the list of non-empty queues. Under mu. */
static void unlist(struct gy__batcher *b, struct gy__endpoint *ep)
{
    struct gy__endpoint **pp = &b->list;
    while (*pp && *pp != ep)
        pp = &(*pp)->bq.lnext;
    if (*pp)
        *pp = ep->bq.lnext;
    ep->bq.lnext = NULL;
    ep->bq.listed = 0;
}

/*
 * Takes a batch from @p ep's queue: the head and the following requests for the same model
 * while they fit in max_batch_size rows (requests for another version stay queued, in order).
 * Returns the items linked through ->next. Under mu.
 */
static struct gy__bitem *take(struct gy__batcher *b, struct gy__endpoint *ep, size_t *count)
{
    struct gy__bqueue *q = &ep->bq;
    struct gy__bitem *head = q->head, *batch = NULL, **tail = &batch, **pp = &q->head, *prev = NULL;
    struct gy_served_model *m = head->route->m;
    uint64_t max = head->snap->max_batch, rows = 0;
    *count = 0;
    while (*pp) {
        struct gy__bitem *it = *pp;
        if (it->route->m != m) {
            prev = it;
            pp = &it->next;
            continue;
        }
        if (rows > 0 && rows + item_rows(it) > max)
            break;
        rows += item_rows(it);
        *pp = it->next;
        if (q->tail == it)
            q->tail = prev;
        it->next = NULL;
        *tail = it;
        tail = &it->next;
        q->count--;
        q->rows -= item_rows(it);
        (*count)++;
        if (rows >= max)
            break;
    }
    if (!q->head) {
        q->tail = NULL;
        unlist(b, ep);
    }
    return batch;
}

/* Runs one batch and completes its requests. */
static void run(struct gy__batcher *b, struct work *w, struct gy__bitem *batch, size_t count)
{
    struct gy_serving *s = b->s;
    struct gy_served_model *m = batch->route->m;
    uint64_t rows = 0, off;
    int margins = 0;
    const float *x;
    int64_t t_start, t_end, t_out;
    enum gy_status rc = GY_OK;
    size_t scratch_n;
    unsigned char *scratch;
    for (struct gy__bitem *it = batch; it; it = it->next) {
        rows += item_rows(it);
        margins |= it->call->want_margins;
    }
    scratch_n = gy_engine_scratch_size(m->engine, rows) + 64;
    if (grow((void **)&w->out, &w->outcap, rows * m->n_out * sizeof(float)) ||
        (margins && grow((void **)&w->marg, &w->margcap, rows * m->n_marg * sizeof(float))) ||
        grow((void **)&w->scratch, &w->scratchcap, scratch_n) ||
        (count > 1 && grow((void **)&w->x, &w->xcap, rows * m->n_feat * sizeof(float))))
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
    t_start = gy_time_mono_ns();
    if (rc == GY_OK) {
        if (count == 1) {
            x = batch->x;
        } else {
            off = 0;
            for (struct gy__bitem *it = batch; it; it = it->next) {
                memcpy(w->x + off * m->n_feat, it->x, item_rows(it) * m->n_feat * sizeof(float));
                off += item_rows(it);
            }
            x = w->x;
        }
        scratch = w->scratch + ((64 - ((uintptr_t)w->scratch & 63)) & 63);
        gy_engine_predict(m->engine, x, rows, scratch, margins ? w->marg : NULL, w->out);
    }
    t_end = gy_time_mono_ns();
    if (rc == GY_OK) {
        off = 0;
        for (struct gy__bitem *it = batch; it; it = it->next) {
            struct gy_serving_call *c = it->call;
            memcpy(c->outputs, w->out + off * m->n_out, item_rows(it) * m->n_out * sizeof(float));
            if (c->want_margins)
                memcpy(c->margins, w->marg + off * m->n_marg,
                       item_rows(it) * m->n_marg * sizeof(float));
            off += item_rows(it);
        }
        gy__add(&m->execution_count, 1);
        gy__add(&m->inference_count, rows);
        gy__add(&s->batches, 1);
        gy__add(&s->batched_requests, count);
    }
    t_out = gy_time_mono_ns();
    while (batch) {
        struct gy__bitem *it = batch;
        struct gy_serving_target *snap = it->snap;
        struct gy_serving_call *c = it->call;
        batch = it->next;
        c->queue_ns = (uint64_t)(t_start - it->enq_ns);
        c->compute_ns = (uint64_t)(t_end - t_start);
        if (rc == GY_OK) {
            gy__dur_add(&m->queue, c->queue_ns);
            gy__dur_add(&m->cin, (uint64_t)it->cin_ns);
            gy__dur_add(&m->cinfer, c->compute_ns);
            gy__dur_add(&m->cout, (uint64_t)(t_out - t_end));
        } else {
            gy_error_set(rc, "out of memory");
        }
        /* The item lives in the call's arena: nothing of it is read after done. */
        gy__infer_finish(s, snap, it->route, c, it->x, rc, it->t0_ns, t_out, it->done, it->ctx);
        gy__snap_unref(snap);
    }
}

static void *batch_main(void *arg)
{
    struct gy__batcher *b = arg;
    struct work w;
    memset(&w, 0, sizeof w);
    pthread_mutex_lock(&b->mu);
    for (;;) {
        int64_t now = gy_time_mono_ns(), wait_until = INT64_MAX, best_deadline = INT64_MAX;
        struct gy__endpoint *best = NULL;
        for (struct gy__endpoint *ep = b->list; ep; ep = ep->bq.lnext) {
            struct gy__bitem *h = ep->bq.head;
            int64_t deadline = h->enq_ns + (int64_t)h->snap->delay_ns;
            int ready = b->stopping || ep->bq.rows >= h->snap->max_batch || now >= deadline;
            if (ready && deadline < best_deadline) {
                best = ep;
                best_deadline = deadline;
            } else if (!ready && deadline < wait_until) {
                wait_until = deadline;
            }
        }
        if (best) {
            size_t count = 0;
            struct gy__bitem *batch = take(b, best, &count);
            pthread_mutex_unlock(&b->mu);
            run(b, &w, batch, count);
            pthread_mutex_lock(&b->mu);
            continue;
        }
        if (b->stopping && !b->list)
            break;
        if (wait_until == INT64_MAX) {
            pthread_cond_wait(&b->cv, &b->mu);
        } else {
            struct timespec ts;
            ts.tv_sec = (time_t)(wait_until / 1000000000);
            ts.tv_nsec = (long)(wait_until % 1000000000);
            pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        }
    }
    pthread_mutex_unlock(&b->mu);
    gy_free(w.x);
    gy_free(w.out);
    gy_free(w.marg);
    gy_free(w.scratch);
    return NULL;
}

enum gy_status gy__batcher_create(struct gy_serving *s, int nthreads, struct gy__batcher **out)
{
    struct gy__batcher *b = gy_calloc(1, sizeof *b);
    pthread_condattr_t a;
    *out = NULL;
    if (!b || !(b->threads = gy_calloc((size_t)nthreads, sizeof *b->threads))) {
        gy_free(b);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    b->s = s;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &a);
    pthread_condattr_destroy(&a);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&b->threads[i], NULL, batch_main, b) != 0) {
            gy__batcher_free(b);
            return gy_error_set(GY_E_INTERNAL, "serving: cannot start a batcher thread: %s",
                                strerror(errno));
        }
        b->n++;
    }
    *out = b;
    return GY_OK;
}

void gy__batcher_free(struct gy__batcher *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->n; i++)
        pthread_join(b->threads[i], NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    gy_free(b->threads);
    gy_free(b);
}

enum gy_status gy__batcher_submit(struct gy__batcher *b, struct gy_serving_target *t,
                                  struct gy__sroute *r, struct gy_serving_call *call,
                                  const float *x, int64_t t0_ns, int64_t cin_ns,
                                  gy_serving_done_fn done, void *ctx)
{
    struct gy__endpoint *ep = t->ep;
    struct gy__bqueue *q = &ep->bq;
    struct gy__bitem *it = gy_arena_alloc(call->arena, sizeof *it);
    int wake;
    if (!it)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    memset(it, 0, sizeof *it);
    it->call = call;
    it->snap = t;
    it->route = r;
    it->x = x;
    it->t0_ns = t0_ns;
    it->cin_ns = cin_ns;
    it->done = done;
    it->ctx = ctx;
    pthread_mutex_lock(&b->mu);
    if (b->stopping) {
        pthread_mutex_unlock(&b->mu);
        return gy_error_set(GY_E_UNAVAILABLE, "the server is shutting down");
    }
    if (q->count >= t->max_queue) {
        pthread_mutex_unlock(&b->mu);
        return gy_error_set(GY_E_BUSY,
                            "deployment %s: the batch queue is full (%u requests waiting)",
                            ep->name, t->max_queue);
    }
    atomic_fetch_add(&t->refs, 1);
    it->enq_ns = gy_time_mono_ns();
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->count++;
    q->rows += call->nrows;
    if (!q->listed) {
        q->listed = 1;
        q->lnext = b->list;
        b->list = ep;
    }
    /* A new deadline (first request) or a full batch: a thread should look now. */
    wake = q->count == 1 || q->rows >= t->max_batch;
    if (wake)
        pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return GY_OK;
}
