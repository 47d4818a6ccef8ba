/* SPDX-License-Identifier: MIT */
/*
 * pool.c - a small fixed-size thread pool with a FIFO job queue and a wait-for-all barrier,
 * used by ingest (compressing segments while parsing) and later by trainers and batch jobs.
 */
#include "base/base.h"

#include <pthread.h>
#include <unistd.h>

struct pool_job {
    struct pool_job *next;
    void (*fn)(void *);
    void *arg;
};

struct gy_pool {
    pthread_mutex_t lock;
    pthread_cond_t has_work, idle;
    struct pool_job *head, *tail;
    size_t pending; /* queued + running */
    int stop, nthreads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    struct gy_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct pool_job *j;
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->has_work, &p->lock);
        if (!p->head && p->stop)
            break;
        j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        gy_free(j);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

enum gy_status gy_pool_create(int nthreads, struct gy_pool **out)
{
    struct gy_pool *p;
    *out = NULL;
    if (nthreads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (int)n : 1;
    }
    if (nthreads > 256)
        nthreads = 256;
    p = gy_calloc(1, sizeof *p);
    if (!p)
        return GY_E_NOMEM;
    p->threads = gy_calloc((size_t)nthreads, sizeof *p->threads);
    if (!p->threads) {
        gy_free(p);
        return GY_E_NOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->has_work, NULL);
    pthread_cond_init(&p->idle, NULL);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            p->nthreads = i;
            gy_pool_free(p);
            return gy_error_set(GY_E_NOMEM, "cannot start thread pool worker");
        }
    }
    p->nthreads = nthreads;
    *out = p;
    return GY_OK;
}

enum gy_status gy_pool_submit(struct gy_pool *p, void (*fn)(void *), void *arg)
{
    struct pool_job *j = gy_malloc(sizeof *j);
    if (!j)
        return GY_E_NOMEM;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->pending++;
    pthread_cond_signal(&p->has_work);
    pthread_mutex_unlock(&p->lock);
    return GY_OK;
}

void gy_pool_wait(struct gy_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->pending)
        pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

int gy_pool_size(const struct gy_pool *p)
{
    return p->nthreads;
}

void gy_pool_free(struct gy_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->has_work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->has_work);
    pthread_cond_destroy(&p->idle);
    gy_free(p->threads);
    gy_free(p);
}
