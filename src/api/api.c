/* SPDX-License-Identifier: MIT */
/*
 * api.c - the application context of the HTTP API (struct gy_api): the data home, the
 * metadata store URL, the serving state and V2 limits given by `gyre server`, and one
 * database handle per worker thread. struct gy_db is not thread-safe, so each thread that
 * serves requests opens its own handle on first use; the context keeps a list of them (under
 * a mutex) so that gy_api_free can close them all once the server has stopped. A thread-local
 * cache makes the common lookup lock-free.
 */
#include "api/api.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* One thread's handle. */
struct api_slot {
    struct api_slot *next;
    pthread_t tid;
    struct gy_db *db;
};

struct gy_api {
    uint64_t id; /* unique per context, so a thread-local cache never outlives its context */
    char *home;
    char *db_url;
    char *tmp_dir;
    struct gy_serving *serving;
    uint64_t v2_max_elements;
    int v2_not_ready_status;
    pthread_mutex_t mu;
    struct api_slot *slots;
    size_t nslots;
};

static atomic_ullong next_id = 1;

/* The calling thread's last lookup: valid while cache_id names a live context. */
static _Thread_local uint64_t cache_id;
static _Thread_local struct gy_db *cache_db;

enum gy_status gy_api_create(const struct gy_api_config *cfg, struct gy_api **out)
{
    struct gy_api *api;
    struct gy_db *db;
    size_t hl;
    enum gy_status rc;

    *out = NULL;
    if (!cfg || !cfg->home || !*cfg->home)
        return gy_error_set(GY_E_INVALID, "no data home given");
    api = gy_calloc(1, sizeof *api);
    if (!api)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    api->id = atomic_fetch_add(&next_id, 1);
    api->serving = cfg->serving;
    api->v2_max_elements = cfg->v2_max_elements ? cfg->v2_max_elements : (uint64_t)1 << 24;
    api->v2_not_ready_status = cfg->v2_not_ready_status == 400 ? 400 : 503;
    pthread_mutex_init(&api->mu, NULL);
    hl = strlen(cfg->home);
    api->home = gy_strdup(cfg->home);
    api->db_url = gy_strdup(cfg->db_url ? cfg->db_url : "");
    api->tmp_dir = gy_malloc(hl + 5);
    if (!api->home || !api->db_url || !api->tmp_dir) {
        gy_api_free(api);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    memcpy(api->tmp_dir, cfg->home, hl);
    memcpy(api->tmp_dir + hl, "/tmp", 5);
    /* Open once here: creates the home and tmp/, applies migrations, checks the URL. */
    if ((rc = gy_api_db(api, &db))) {
        gy_api_free(api);
        return rc;
    }
    *out = api;
    return GY_OK;
}

void gy_api_free(struct gy_api *api)
{
    struct api_slot *s, *next;
    if (!api)
        return;
    for (s = api->slots; s; s = next) {
        next = s->next;
        gy_db_free(s->db);
        gy_free(s);
    }
    if (cache_id == api->id) {
        cache_id = 0;
        cache_db = NULL;
    }
    pthread_mutex_destroy(&api->mu);
    gy_free(api->home);
    gy_free(api->db_url);
    gy_free(api->tmp_dir);
    gy_free(api);
}

const char *gy_api_db_url(const struct gy_api *api)
{
    return api->db_url;
}

const char *gy_api_home(const struct gy_api *api)
{
    return api->home;
}

struct gy_serving *gy_api_serving(const struct gy_api *api)
{
    return api->serving;
}

uint64_t gy_api_v2_max_elements(const struct gy_api *api)
{
    return api->v2_max_elements;
}

int gy_api_v2_not_ready_status(const struct gy_api *api)
{
    return api->v2_not_ready_status;
}

const char *gy_api_tmp_dir(const struct gy_api *api)
{
    return api->tmp_dir;
}

enum gy_status gy_api_db(struct gy_api *api, struct gy_db **out)
{
    pthread_t self = pthread_self();
    struct api_slot *s;
    struct gy_db *db = NULL;
    enum gy_status rc;

    if (cache_id == api->id && cache_db) {
        *out = cache_db;
        return GY_OK;
    }
    *out = NULL;
    pthread_mutex_lock(&api->mu);
    for (s = api->slots; s; s = s->next)
        if (pthread_equal(s->tid, self))
            break;
    pthread_mutex_unlock(&api->mu);
    if (s) {
        db = s->db;
    } else {
        /* Opening may take a while (PostgreSQL): do it outside the lock. */
        rc = gy_db_open(api->home, *api->db_url ? api->db_url : NULL, &db);
        if (rc)
            return rc;
        s = gy_calloc(1, sizeof *s);
        if (!s) {
            gy_db_free(db);
            return gy_error_set(GY_E_NOMEM, "out of memory");
        }
        s->tid = self;
        s->db = db;
        pthread_mutex_lock(&api->mu);
        s->next = api->slots;
        api->slots = s;
        api->nslots++;
        pthread_mutex_unlock(&api->mu);
    }
    cache_id = api->id;
    cache_db = db;
    *out = db;
    return GY_OK;
}

void gy_api_db_reset(struct gy_api *api)
{
    pthread_t self = pthread_self();
    struct api_slot **pp, *s = NULL;
    pthread_mutex_lock(&api->mu);
    for (pp = &api->slots; *pp; pp = &(*pp)->next) {
        if (pthread_equal((*pp)->tid, self)) {
            s = *pp;
            *pp = s->next;
            api->nslots--;
            break;
        }
    }
    pthread_mutex_unlock(&api->mu);
    if (cache_id == api->id) {
        cache_id = 0;
        cache_db = NULL;
    }
    if (s) {
        gy_db_free(s->db);
        gy_free(s);
    }
}

size_t gy_api_db_count(struct gy_api *api)
{
    size_t n;
    pthread_mutex_lock(&api->mu);
    n = api->nslots;
    pthread_mutex_unlock(&api->mu);
    return n;
}
