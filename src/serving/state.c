/* SPDX-License-Identifier: MIT */
/*
 * state.c - the live serving state: the endpoint table (a hash table under one short mutex),
 * routing snapshots and their publication, first-use loading of implicit endpoints (one loader
 * per endpoint, others wait), and the watcher thread that re-reads deployments and re-resolves
 * every resident endpoint each poll interval, loading new versions before swapping them in.
 *
 * A request's only shared-state work is gy_serving_acquire: a hash lookup and an atomic
 * increment under serving->mu. Everything that touches the database runs on the watcher's own
 * handle or on the loader handle (first use, repository load, index), never per request.
 *
 * Lock order: loader_mu -> endpoint refresh_mu -> mu -> models_mu. Snapshots and endpoints are
 * released outside mu (their last release may take models_mu).
 */
#include "serving/serving_int.h"
#include "registry/registry.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define ENDPOINT_NAME_MAX 600
#define ABSENT_NS INT64_C(500000000)       /* unknown names are remembered this long */
#define ABSENT_MAX 10000                   /* ... up to this many of them */
#define BACKOFF_MIN_NS INT64_C(1000000000) /* first retry of a refused version */
#define BACKOFF_MAX_NS INT64_C(30000000000)

void gy_serving_config_init(struct gy_serving_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->poll_ms = 250;
    cfg->batch_threads = 1;
    cfg->shadow_queue = 1024;
}

static enum gy_status nomem(void)
{
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

/* An absolute CLOCK_MONOTONIC time @p ns from now, for timed condition waits. */
static struct timespec deadline_in(int64_t ns)
{
    struct timespec ts;
    int64_t t = gy_time_mono_ns() + ns;
    ts.tv_sec = (time_t)(t / 1000000000);
    ts.tv_nsec = (long)(t % 1000000000);
    return ts;
}

/* ------------------------------------------------------------------ endpoints */

static uint64_t ep_hash(const char *name, const char *pin)
{
    uint64_t h = gy_hash64(name, strlen(name), 0x5e41);
    if (pin)
        h ^= gy_mix64(gy_hash64(pin, strlen(pin), 7) + 1);
    return h;
}

static struct gy__endpoint *ep_find(struct gy_serving *s, const char *name, const char *pin,
                                    uint64_t h)
{
    for (struct gy__endpoint *ep = s->buckets[h & (s->nbuckets - 1)]; ep; ep = ep->hnext) {
        if (ep->hash == h && strcmp(ep->name, name) == 0 &&
            (pin ? ep->pin && strcmp(ep->pin, pin) == 0 : !ep->pin))
            return ep;
    }
    return NULL;
}

/* Inserts @p ep (the table takes the reference it was created with). Under mu. */
static void ep_insert(struct gy_serving *s, struct gy__endpoint *ep)
{
    if (s->n_endpoints >= s->nbuckets * 2) {
        size_t nb = s->nbuckets * 2;
        struct gy__endpoint **b = gy_calloc(nb, sizeof *b);
        if (b) { /* on failure the table just gets longer chains */
            for (size_t i = 0; i < s->nbuckets; i++) {
                while (s->buckets[i]) {
                    struct gy__endpoint *e = s->buckets[i];
                    s->buckets[i] = e->hnext;
                    e->hnext = b[e->hash & (nb - 1)];
                    b[e->hash & (nb - 1)] = e;
                }
            }
            gy_free(s->buckets);
            s->buckets = b;
            s->nbuckets = nb;
        }
    }
    ep->hnext = s->buckets[ep->hash & (s->nbuckets - 1)];
    s->buckets[ep->hash & (s->nbuckets - 1)] = ep;
    ep->linked = 1;
    s->n_endpoints++;
}

static void ep_free(struct gy__endpoint *ep)
{
    for (size_t i = 0; i < ep->n_vars; i++) {
        gy_free(ep->vars[i]->label);
        gy_free(ep->vars[i]);
    }
    gy_free(ep->vars);
    gy_free(ep->name);
    gy_free(ep->pin);
    gy_free(ep->reason);
    gy_free(ep->key);
    gy_free(ep->failed_key);
    gy_free(ep->failed_model);
    gy_deploy_spec_free(ep->spec);
    pthread_mutex_destroy(&ep->refresh_mu);
    gy_free(ep);
}

void gy__endpoint_unref(struct gy__endpoint *ep)
{
    if (ep && atomic_fetch_sub(&ep->refs, 1) == 1)
        ep_free(ep);
}

static struct gy__endpoint *ep_new(struct gy_serving *s, const char *name, const char *pin,
                                   uint64_t h)
{
    struct gy__endpoint *ep = gy_calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    ep->name = gy_strdup(name);
    ep->pin = pin ? gy_strdup(pin) : NULL;
    if (!ep->name || (pin && !ep->pin)) {
        gy_free(ep->name);
        gy_free(ep->pin);
        gy_free(ep);
        return NULL;
    }
    atomic_init(&ep->refs, 1);
    ep->s = s;
    ep->hash = h;
    ep->kind = pin ? GY__EP_PINNED : GY__EP_REF;
    ep->state = GY__EP_LOADING;
    pthread_mutex_init(&ep->refresh_mu, NULL);
    return ep;
}

static void set_reason(struct gy__endpoint *ep, const char *msg)
{
    gy_free(ep->reason);
    ep->reason = msg ? gy_strdup(msg) : NULL;
}

/*
 * Takes @p ep out of the table (under mu), dropping its snapshot and the table's reference.
 * In-flight requests keep their snapshots. Called without mu.
 */
static void ep_remove(struct gy_serving *s, struct gy__endpoint *ep)
{
    struct gy_serving_target *old = NULL;
    int had = 0;
    pthread_mutex_lock(&s->mu);
    if (ep->linked) {
        struct gy__endpoint **pp = &s->buckets[ep->hash & (s->nbuckets - 1)];
        while (*pp && *pp != ep)
            pp = &(*pp)->hnext;
        if (*pp)
            *pp = ep->hnext;
        ep->linked = 0;
        s->n_endpoints--;
        if (ep->state == GY__EP_ABSENT)
            s->n_absent--;
        old = ep->current;
        ep->current = NULL;
        had = 1;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    gy__snap_unref(old);
    if (had)
        gy__endpoint_unref(ep);
}

/* The variant statistics of @p label on @p ep, created when new. Under mu. */
static struct gy__variant *ep_variant(struct gy__endpoint *ep, const char *label, int shadow)
{
    struct gy__variant *v, **vars;
    for (size_t i = 0; i < ep->n_vars; i++)
        if (ep->vars[i]->shadow == shadow && strcmp(ep->vars[i]->label, label) == 0)
            return ep->vars[i];
    vars = gy_realloc(ep->vars, (ep->n_vars + 1) * sizeof *vars);
    if (!vars)
        return NULL;
    ep->vars = vars;
    v = gy_calloc(1, sizeof *v);
    if (!v || !(v->label = gy_strdup(label))) {
        gy_free(v);
        return NULL;
    }
    v->shadow = shadow;
    ep->vars[ep->n_vars++] = v;
    return v;
}

/* ------------------------------------------------------------------ snapshots */

static void snap_free(struct gy_serving_target *t)
{
    for (size_t i = 0; i < t->n_routes; i++) {
        gy__served_model_unref(t->routes[i].m);
        gy_free(t->routes[i].label);
    }
    for (size_t i = 0; i < t->n_shadows; i++) {
        gy__served_model_unref(t->shadows[i].m);
        gy_free(t->shadows[i].label);
    }
    gy_free(t->routes);
    gy_free(t->shadows);
    gy_free(t->sticky_header);
    gy_free(t->versions);
    gy__endpoint_unref(t->ep);
    gy_free(t);
}

void gy__snap_unref(struct gy_serving_target *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        snap_free(t);
}

void gy_serving_release(struct gy_serving_target *t)
{
    gy__snap_unref(t);
}

/* ------------------------------------------------------------------ what an endpoint wants */

/* The resolution of an endpoint now: its spec, and per route then shadow the version. */
struct want {
    const struct gy_deploy_spec *spec; /* borrowed (ep->spec) or own_spec */
    struct gy_deploy_spec *own_spec;
    int64_t revision;
    int deployment;
    size_t n;
    char **labels, **models, **hashes;
    int64_t *versions;
    char *key;
};

static void want_clear(struct want *w)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->labels)
            gy_free(w->labels[i]);
        if (w->models)
            gy_free(w->models[i]);
        if (w->hashes)
            gy_free(w->hashes[i]);
    }
    gy_free(w->labels);
    gy_free(w->models);
    gy_free(w->hashes);
    gy_free(w->versions);
    gy_free(w->key);
    gy_deploy_spec_free(w->own_spec);
    memset(w, 0, sizeof *w);
}

static enum gy_status want_alloc(struct want *w, size_t n)
{
    w->n = n;
    w->labels = gy_calloc(n, sizeof *w->labels);
    w->models = gy_calloc(n, sizeof *w->models);
    w->hashes = gy_calloc(n, sizeof *w->hashes);
    w->versions = gy_calloc(n, sizeof *w->versions);
    if (!w->labels || !w->models || !w->hashes || !w->versions)
        return nomem();
    return GY_OK;
}

/* Resolves entry @p i of @p w by its label ("MODEL@REF" or the endpoint name). */
static enum gy_status want_resolve(struct gy_db *db, struct want *w, size_t i)
{
    struct gy_registry_version_info *info = NULL;
    enum gy_status rc = gy_registry_resolve(db, w->labels[i], &info);
    if (rc)
        return rc;
    w->models[i] = gy_strdup(info->name);
    w->hashes[i] = info->bundle_hash ? gy_strdup(info->bundle_hash) : NULL;
    w->versions[i] = info->version;
    rc = !w->models[i] || (info->bundle_hash && !w->hashes[i]) ? nomem() : GY_OK;
    gy_registry_version_info_free(info);
    return rc;
}

/* A one-route spec for an implicit endpoint. */
static enum gy_status implicit_spec(const char *model, struct gy_deploy_spec **out)
{
    struct gy_deploy_spec *s = gy_calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->routes = gy_calloc(1, sizeof *s->routes))) {
        gy_free(s);
        return nomem();
    }
    s->n_routes = 1;
    s->routes[0].model = gy_strdup(model);
    s->routes[0].ref = gy_strdup("");
    s->routes[0].weight = 1;
    if (!s->routes[0].model || !s->routes[0].ref) {
        gy_deploy_spec_free(s);
        return nomem();
    }
    *out = s;
    return GY_OK;
}

/* The model name part of a registry reference ("models:/fraud@champion" -> "fraud"). */
static char *ref_model(const char *ref)
{
    if (strncmp(ref, "models:/", 8) == 0)
        ref += 8;
    return gy_strndup(ref, strcspn(ref, "@/"));
}

/*
 * Computes what @p ep should serve now. *gone is set when the endpoint's subject no longer
 * exists (deployment deleted; model, alias or version gone for an implicit endpoint). Under
 * ep->refresh_mu.
 */
static enum gy_status want_compute(struct gy_db *db, struct gy__endpoint *ep, int64_t known_rev,
                                   struct want *w, int *gone)
{
    struct gy_buf key;
    enum gy_status rc = GY_OK;
    *gone = 0;
    memset(w, 0, sizeof *w);
    gy_buf_init(&key, 1 << 20);
    if (ep->kind == GY__EP_DEPLOYMENT) {
        if (!(known_rev > 0 && ep->spec && ep->spec_rev == known_rev)) {
            struct gy_deploy_spec *spec = NULL;
            int64_t rev = 0;
            if ((rc = gy_deploy_get_spec(db, ep->name, &spec, &rev))) {
                *gone = rc == GY_NOT_FOUND;
                goto out;
            }
            gy_deploy_spec_free(ep->spec);
            ep->spec = spec;
            ep->spec_rev = rev;
        }
        w->spec = ep->spec;
        w->revision = ep->spec_rev;
        w->deployment = 1;
        if ((rc = want_alloc(w, ep->spec->n_routes + ep->spec->n_shadows)))
            goto out;
        for (size_t i = 0; i < w->n; i++) {
            const struct gy_deploy_route *r = i < ep->spec->n_routes
                                                  ? &ep->spec->routes[i]
                                                  : &ep->spec->shadows[i - ep->spec->n_routes];
            if (!(w->labels[i] = gy__deploy_route_label(r))) {
                rc = nomem();
                goto out;
            }
            if ((rc = want_resolve(db, w, i))) {
                gy_error_wrap(rc, "deployment %s: %s %s", ep->name,
                              i < ep->spec->n_routes ? "route" : "shadow", w->labels[i]);
                goto out;
            }
        }
    } else if (ep->kind == GY__EP_REF) {
        if ((rc = want_alloc(w, 1)) || !(w->labels[0] = gy_strdup(ep->name))) {
            rc = rc ? rc : nomem();
            goto out;
        }
        if ((rc = want_resolve(db, w, 0))) {
            *gone = rc == GY_NOT_FOUND || rc == GY_E_INVALID;
            goto out;
        }
        if ((rc = implicit_spec(w->models[0], &w->own_spec)))
            goto out;
        w->spec = w->own_spec;
    } else {
        /* Pinned: a version of the deployment's first route's model, or of the model named. */
        struct gy_deploy_spec *dspec = NULL;
        char *model = NULL;
        double log_sample = 0;
        size_t len;
        if (gy__deploy_name_check(ep->name) == GY_OK) {
            rc = gy_deploy_get_spec(db, ep->name, &dspec, NULL);
            if (rc && rc != GY_NOT_FOUND)
                goto out;
        }
        rc = GY_OK;
        if (dspec) {
            model = gy_strdup(dspec->routes[0].model);
            log_sample = dspec->log_sample;
            w->deployment = 1;
        } else {
            model = ref_model(ep->name);
        }
        gy_deploy_spec_free(dspec);
        if (!model || (rc = want_alloc(w, 1))) {
            gy_free(model);
            rc = rc ? rc : nomem();
            goto out;
        }
        len = strlen(model) + strlen(ep->pin) + 2;
        if (!(w->labels[0] = gy_malloc(len))) {
            gy_free(model);
            rc = nomem();
            goto out;
        }
        snprintf(w->labels[0], len, "%s@%s", model, ep->pin);
        rc = implicit_spec(model, &w->own_spec);
        gy_free(model);
        if (rc)
            goto out;
        w->own_spec->log_sample = log_sample;
        w->spec = w->own_spec;
        if ((rc = want_resolve(db, w, 0))) {
            *gone = rc == GY_NOT_FOUND || rc == GY_E_INVALID;
            goto out;
        }
    }
    /* The key: revision and every resolved version; control characters cannot be in names. */
    gy_buf_printf(&key, "%lld", (long long)w->revision);
    for (size_t i = 0; i < w->n; i++)
        gy_buf_printf(&key, "\x1f%s\x1e%lld", w->models[i], (long long)w->versions[i]);
    if (gy_buf_reserve(&key, 1) || !(w->key = gy_buf_detach(&key, NULL)))
        rc = nomem();
out:
    gy_buf_free(&key);
    return rc;
}

/* ------------------------------------------------------------------ refresh: load then swap */

/* Builds a snapshot from @p w and its loaded models (references taken over). */
static enum gy_status snap_build(struct gy__endpoint *ep, struct want *w,
                                 struct gy_served_model **ms, struct gy_serving_target **out)
{
    const struct gy_deploy_spec *sp = w->spec;
    struct gy_serving_target *t = gy_calloc(1, sizeof *t);
    size_t nr = sp->n_routes, ns = w->n - nr;
    *out = NULL;
    if (!t)
        return nomem();
    atomic_init(&t->refs, 1);
    t->routes = gy_calloc(nr, sizeof *t->routes);
    t->shadows = ns ? gy_calloc(ns, sizeof *t->shadows) : NULL;
    t->versions = gy_calloc(nr, sizeof *t->versions);
    if (!t->routes || (ns && !t->shadows) || !t->versions) {
        gy_free(t->routes);
        gy_free(t->shadows);
        gy_free(t->versions);
        gy_free(t);
        return nomem();
    }
    t->ep = ep;
    atomic_fetch_add(&ep->refs, 1);
    t->revision = w->revision;
    t->deployment = w->deployment;
    for (size_t i = 0; i < w->n; i++) {
        struct gy__sroute *r = i < nr ? &t->routes[i] : &t->shadows[i - nr];
        r->m = ms[i];
        ms[i] = NULL;
        r->label = w->labels[i];
        w->labels[i] = NULL;
        if (i < nr) {
            t->n_routes++;
            t->total_weight += sp->routes[i].weight;
            r->cum = t->total_weight;
        } else {
            t->n_shadows++;
        }
    }
    if (sp->sticky_header && !(t->sticky_header = gy_strdup(sp->sticky_header))) {
        snap_free(t);
        return nomem();
    }
    t->max_batch = sp->max_batch_size;
    t->delay_ns = sp->max_queue_delay_us * 1000;
    t->max_queue = sp->max_queue_size ? sp->max_queue_size : GY_DEPLOY_DEFAULT_QUEUE;
    t->log_sample = sp->log_sample;
    /* Versions answering now: ascending, deduplicated. */
    for (size_t i = 0; i < nr; i++) {
        int64_t v = t->routes[i].m->version;
        size_t k = 0;
        while (k < t->n_versions && t->versions[k] < v)
            k++;
        if (k < t->n_versions && t->versions[k] == v)
            continue;
        memmove(&t->versions[k + 1], &t->versions[k], (t->n_versions - k) * sizeof(int64_t));
        t->versions[k] = v;
        t->n_versions++;
    }
    *out = t;
    return GY_OK;
}

/*
 * Brings @p ep up to date through @p db: computes what it wants, and when that differs from what
 * it serves, loads the models and swaps the snapshot in. A refused load keeps the old snapshot
 * and backs off (1 s doubling to 30 s) unless @p force. Under ep->refresh_mu.
 */
static enum gy_status refresh(struct gy_serving *s, struct gy_db *db, struct gy__endpoint *ep,
                              int64_t known_rev, int force, int *gone)
{
    struct want w;
    struct gy_served_model **ms = NULL;
    struct gy_serving_target *snap = NULL, *old = NULL;
    int64_t now = gy_time_mono_ns();
    long failed_at = -1;
    enum gy_status rc;
    char prev[64] = "";

    rc = want_compute(db, ep, known_rev, &w, gone);
    if (rc && *gone)
        goto out;
    if (rc == GY_E_DB || rc == GY_E_BUSY) {
        gy_log(GY_LOG_WARN, "serving: endpoint %s: %s", ep->name, gy_error_msg());
        goto out;
    }
    if (rc == GY_OK && ep->key && strcmp(ep->key, w.key) == 0) {
        /* Nothing changed (an earlier refusal no longer applies). */
        if (ep->failed_key) {
            gy_free(ep->failed_key);
            ep->failed_key = NULL;
            ep->backoff_ns = 0;
            pthread_mutex_lock(&s->mu);
            set_reason(ep, NULL);
            gy_free(ep->failed_model);
            ep->failed_model = NULL;
            pthread_mutex_unlock(&s->mu);
        }
        goto out;
    }
    if (!force && now < ep->retry_at_ns &&
        ((rc == GY_OK && ep->failed_key && strcmp(ep->failed_key, w.key) == 0) ||
         (rc != GY_OK && ep->failed_key && !*ep->failed_key))) {
        rc = GY_E_UNAVAILABLE; /* refused before: wait for the backoff */
        gy_error_set(rc, "%s", ep->reason ? ep->reason : "refused");
        goto out;
    }
    if (rc == GY_OK) {
        if (!(ms = gy_calloc(w.n, sizeof *ms)))
            rc = nomem();
        for (size_t i = 0; rc == GY_OK && i < w.n; i++) {
            rc = gy__served_model_get(s, db, w.models[i], w.versions[i], w.hashes[i], &ms[i]);
            if (rc)
                failed_at = (long)i;
        }
    }
    if (rc == GY_OK)
        rc = snap_build(ep, &w, ms, &snap);
    if (rc) {
        /* Refused: the old snapshot (if any) keeps serving. */
        const char *why = gy_error_msg();
        char *fk = gy_strdup(rc == GY_OK || !w.key ? "" : w.key);
        int same = fk && ep->failed_key && strcmp(fk, ep->failed_key) == 0;
        enum gy_status code = rc;
        int serving;
        ep->backoff_ns = same ? GY_MIN(ep->backoff_ns * 2, BACKOFF_MAX_NS) : BACKOFF_MIN_NS;
        ep->retry_at_ns = now + ep->backoff_ns;
        gy_free(ep->failed_key);
        ep->failed_key = fk;
        pthread_mutex_lock(&s->mu);
        set_reason(ep, why);
        gy_free(ep->failed_model);
        ep->failed_model = NULL;
        if (failed_at >= 0) {
            ep->failed_model = gy_strdup(w.models[failed_at]);
            ep->failed_version = w.versions[failed_at];
        }
        serving = ep->current != NULL;
        if (!serving && ep->state != GY__EP_UNLOADED) {
            ep->state = GY__EP_UNAVAILABLE;
            ep->err = GY_E_UNAVAILABLE;
        }
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        gy_log(GY_LOG_ERROR, "serving: endpoint %s: refused: %s (%s; retrying in %lld s)", ep->name,
               ep->reason ? ep->reason : "",
               serving ? "the current version keeps serving" : "not serving",
               (long long)(ep->backoff_ns / 1000000000));
        gy_error_set(GY_E_UNAVAILABLE, "%s", ep->reason ? ep->reason : gy_status_str(code));
        rc = GY_E_UNAVAILABLE;
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    if (!ep->linked || ep->state == GY__EP_UNLOADED) {
        pthread_mutex_unlock(&s->mu);
        old = snap; /* dropped or unloaded meanwhile: do not publish */
        goto out;
    }
    if (w.deployment && ep->kind != GY__EP_PINNED) {
        for (size_t i = 0; i < snap->n_routes + snap->n_shadows; i++) {
            struct gy__sroute *r =
                i < snap->n_routes ? &snap->routes[i] : &snap->shadows[i - snap->n_routes];
            r->var = ep_variant(ep, r->label, i >= snap->n_routes);
            if (r->var)
                atomic_store(&r->var->version, r->m->version);
        }
    }
    old = ep->current;
    if (old)
        snprintf(prev, sizeof prev, " (was version %lld)", (long long)old->routes[0].m->version);
    ep->current = snap;
    ep->state = GY__EP_READY;
    set_reason(ep, NULL);
    gy_free(ep->failed_model);
    ep->failed_model = NULL;
    if (old)
        gy__add(&s->swaps, 1);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    gy_free(ep->key);
    ep->key = w.key;
    w.key = NULL;
    gy_free(ep->failed_key);
    ep->failed_key = NULL;
    ep->backoff_ns = 0;
    ep->retry_at_ns = 0;
    {
        /* "fraud@champion = fraud 1 (90%), fraud@challenger = fraud 2 (10%)" */
        char routes[512];
        size_t o = 0;
        routes[0] = '\0';
        for (size_t i = 0; i < snap->n_routes && o < sizeof routes; i++) {
            uint64_t w8 = snap->routes[i].cum - (i ? snap->routes[i - 1].cum : 0);
            int n = snprintf(routes + o, sizeof routes - o, "%s%s = %s %lld", i ? ", " : "",
                             snap->routes[i].label ? snap->routes[i].label : ep->name,
                             snap->routes[i].m->name, (long long)snap->routes[i].m->version);
            if (n < 0)
                break;
            o += (size_t)n;
            if (snap->n_routes > 1 && o < sizeof routes && snap->total_weight > 0) {
                n = snprintf(routes + o, sizeof routes - o, " (%.3g%%)",
                             100.0 * (double)w8 / (double)snap->total_weight);
                if (n < 0)
                    break;
                o += (size_t)n;
            }
        }
        gy_log(GY_LOG_INFO, "serving: %s %s now answers with %s%s",
               w.deployment ? "deployment" : "endpoint", ep->name, routes, prev);
    }
out:
    if (ms) {
        for (size_t i = 0; i < w.n; i++)
            gy__served_model_unref(ms[i]);
        gy_free(ms);
    }
    want_clear(&w);
    gy__snap_unref(old);
    return rc;
}

/*
 * Loads @p ep now (first use, or a repository load): decides whether its name is a deployment,
 * refreshes ignoring backoff, and leaves it READY, UNAVAILABLE, ABSENT (unknown, remembered
 * briefly) or removed (a transient database error). The caller set the state to LOADING when
 * there was no snapshot. Takes loader_mu and refresh_mu.
 */
static enum gy_status ep_load(struct gy_serving *s, struct gy__endpoint *ep)
{
    enum gy_status rc;
    int gone = 0, remove = 0;
    char msg[1024];
    pthread_mutex_lock(&s->loader_mu);
    pthread_mutex_lock(&ep->refresh_mu);
    rc = GY_OK;
    if (ep->kind != GY__EP_PINNED) {
        struct gy_deploy_spec *spec = NULL;
        int64_t rev = 0;
        enum gy__ep_kind kind = GY__EP_REF;
        if (gy__deploy_name_check(ep->name) == GY_OK) {
            rc = gy_deploy_get_spec(s->loader_db, ep->name, &spec, &rev);
            if (rc == GY_OK) {
                kind = GY__EP_DEPLOYMENT;
                gy_deploy_spec_free(ep->spec);
                ep->spec = spec;
                ep->spec_rev = rev;
            } else if (rc == GY_NOT_FOUND) {
                rc = GY_OK;
            }
        }
        if (rc == GY_OK && kind != ep->kind) {
            pthread_mutex_lock(&s->mu);
            ep->kind = kind;
            pthread_mutex_unlock(&s->mu);
            gy_free(ep->key);
            ep->key = NULL;
        }
    }
    if (rc == GY_OK)
        rc = refresh(s, s->loader_db, ep, -1, 1, &gone);
    pthread_mutex_unlock(&ep->refresh_mu);
    pthread_mutex_unlock(&s->loader_mu);
    snprintf(msg, sizeof msg, "%s", gy_error_msg());
    pthread_mutex_lock(&s->mu);
    if (rc && !ep->current && ep->linked && ep->state != GY__EP_UNLOADED) {
        if (gone && s->n_absent < ABSENT_MAX) {
            if (ep->state != GY__EP_ABSENT)
                s->n_absent++;
            ep->state = GY__EP_ABSENT;
            ep->err = rc;
            ep->absent_until_ns = gy_time_mono_ns() + ABSENT_NS;
            set_reason(ep, msg);
        } else if (gone || rc == GY_E_DB || rc == GY_E_BUSY || rc == GY_E_NOMEM) {
            remove = 1;
        } else if (ep->state == GY__EP_LOADING) {
            ep->state = GY__EP_UNAVAILABLE;
            ep->err = GY_E_UNAVAILABLE;
            set_reason(ep, msg);
        }
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (remove)
        ep_remove(s, ep);
    if (rc)
        gy_error_set(rc, "%s", msg);
    return rc;
}

/* ------------------------------------------------------------------ acquire */

/* Checks an endpoint name and version text from a request. */
static enum gy_status name_check(const char *name, const char *version)
{
    int64_t v;
    size_t n;
    if (!name || !*name)
        return gy_error_set(GY_E_INVALID, "empty model name");
    n = strlen(name);
    if (n > ENDPOINT_NAME_MAX)
        return gy_error_set(GY_E_INVALID, "model name is longer than %d bytes", ENDPOINT_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return gy_error_set(GY_E_INVALID, "model name contains a control character");
    if (version && *version && gy_registry_version_parse(version, &v))
        return gy_error_set(GY_E_INVALID, "invalid model version '%.40s' (a number from 1)",
                            version);
    return GY_OK;
}

enum gy_status gy_serving_acquire(struct gy_serving *s, const char *name, const char *version,
                                  struct gy_serving_target **out)
{
    const char *pin = version && *version ? version : NULL;
    uint64_t h;
    enum gy_status rc;
    *out = NULL;
    if ((rc = name_check(name, version)))
        return rc;
    h = ep_hash(name, pin);
    pthread_mutex_lock(&s->mu);
    if (pin) {
        /* A model unloaded through the repository API is unloaded in every version. */
        struct gy__endpoint *all = ep_find(s, name, NULL, ep_hash(name, NULL));
        if (all && all->state == GY__EP_UNLOADED) {
            pthread_mutex_unlock(&s->mu);
            return gy_error_set(GY_E_UNAVAILABLE,
                                "%s is unloaded (load it through the repository API)", name);
        }
    }
    for (;;) {
        struct gy__endpoint *ep = ep_find(s, name, pin, h);
        if (ep && ep->current) {
            struct gy_serving_target *t = ep->current;
            atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
            pthread_mutex_unlock(&s->mu);
            *out = t;
            return GY_OK;
        }
        if (ep && ep->state == GY__EP_LOADING) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        if (ep && ep->state == GY__EP_UNAVAILABLE) {
            rc = gy_error_set(GY_E_UNAVAILABLE, "%s is not available: %s", name,
                              ep->reason ? ep->reason : "its model failed to load");
            pthread_mutex_unlock(&s->mu);
            return rc;
        }
        if (ep && ep->state == GY__EP_UNLOADED) {
            pthread_mutex_unlock(&s->mu);
            return gy_error_set(GY_E_UNAVAILABLE,
                                "%s is unloaded (load it through the repository API)", name);
        }
        if (ep && ep->state == GY__EP_ABSENT && gy_time_mono_ns() < ep->absent_until_ns) {
            rc = gy_error_set(ep->err, "%s", ep->reason ? ep->reason : "not found");
            pthread_mutex_unlock(&s->mu);
            return rc;
        }
        if (ep) {
            /* Absent, but remembered long enough: look again. */
            s->n_absent--;
            ep->state = GY__EP_LOADING;
        } else {
            if (!(ep = ep_new(s, name, pin, h))) {
                pthread_mutex_unlock(&s->mu);
                return nomem();
            }
            ep_insert(s, ep);
        }
        atomic_fetch_add(&ep->refs, 1);
        pthread_mutex_unlock(&s->mu);
        rc = ep_load(s, ep);
        pthread_mutex_lock(&s->mu);
        if (rc && !ep->linked) {
            /* Dropped after a transient failure: report it rather than retry at once. */
            pthread_mutex_unlock(&s->mu);
            gy__endpoint_unref(ep);
            return rc;
        }
        pthread_mutex_unlock(&s->mu);
        gy__endpoint_unref(ep);
        pthread_mutex_lock(&s->mu);
    }
}

/* ------------------------------------------------------------------ target accessors */

const char *gy_serving_target_name(const struct gy_serving_target *t)
{
    return t->ep->name;
}

int gy_serving_target_is_deployment(const struct gy_serving_target *t)
{
    return t->deployment;
}

const struct gy_served_model *gy_serving_target_primary(const struct gy_serving_target *t)
{
    return t->routes[0].m;
}

const int64_t *gy_serving_target_versions(const struct gy_serving_target *t, size_t *n)
{
    *n = t->n_versions;
    return t->versions;
}

const char *gy_serving_target_sticky_header(const struct gy_serving_target *t)
{
    return t->sticky_header;
}

double gy_serving_target_log_sample(const struct gy_serving_target *t)
{
    return t->log_sample;
}

/* ------------------------------------------------------------------ the watcher */

struct poll_item {
    struct gy__endpoint *ep; /* reference */
    int64_t rev;             /* deployments: the revision listed now, 0 when not listed */
    int listed;
    enum gy__ep_state state;
    enum gy__ep_kind kind;
    int64_t absent_until_ns;
};

/* One pass: deployments listed, endpoints refreshed, deleted ones removed. */
static void poll_once(struct gy_serving *s, struct gy_db *db)
{
    struct gy_db_rows *rows = NULL;
    struct poll_item *items = NULL;
    size_t n = 0, cap;
    enum gy_status rc;

    rc = gy_db_query(db, "SELECT name, revision FROM deployments", NULL, 0, &rows);
    if (rc) {
        gy_log(GY_LOG_WARN, "serving: watcher: cannot list deployments: %s", gy_error_msg());
        return;
    }
    pthread_mutex_lock(&s->mu);
    /* New deployments become resident endpoints. */
    for (size_t i = 0; i < gy_db_rows_count(rows); i++) {
        const char *name = gy_db_rows_text(rows, i, 0);
        uint64_t h;
        if (!name || gy__deploy_name_check(name))
            continue;
        h = ep_hash(name, NULL);
        if (!ep_find(s, name, NULL, h)) {
            struct gy__endpoint *ep = ep_new(s, name, NULL, h);
            if (!ep)
                break;
            ep->kind = GY__EP_DEPLOYMENT;
            ep_insert(s, ep);
        }
    }
    cap = s->n_endpoints;
    items = cap ? gy_calloc(cap, sizeof *items) : NULL;
    for (size_t b = 0; items && b < s->nbuckets; b++) {
        for (struct gy__endpoint *ep = s->buckets[b]; ep && n < cap; ep = ep->hnext) {
            struct poll_item *it = &items[n++];
            it->ep = ep;
            atomic_fetch_add(&ep->refs, 1);
            it->state = ep->state;
            it->kind = ep->kind;
            it->absent_until_ns = ep->absent_until_ns;
            if (!ep->pin) {
                for (size_t i = 0; i < gy_db_rows_count(rows); i++) {
                    if (strcmp(gy_db_rows_text(rows, i, 0), ep->name) == 0) {
                        it->listed = 1;
                        it->rev = gy_db_rows_int(rows, i, 1);
                        break;
                    }
                }
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    gy_db_rows_free(rows);

    for (size_t i = 0; i < n; i++) {
        struct poll_item *it = &items[i];
        struct gy__endpoint *ep = it->ep;
        int gone = 0;
        if (it->state == GY__EP_UNLOADED) {
            if (it->kind == GY__EP_DEPLOYMENT && !it->listed)
                ep_remove(s, ep);
            continue;
        }
        if (it->state == GY__EP_ABSENT) {
            if (gy_time_mono_ns() >= it->absent_until_ns && !it->listed)
                ep_remove(s, ep);
            continue;
        }
        if (it->kind == GY__EP_DEPLOYMENT && !it->listed) {
            gy_log(GY_LOG_INFO, "serving: deployment %s was deleted", ep->name);
            ep_remove(s, ep);
            continue;
        }
        if (pthread_mutex_trylock(&ep->refresh_mu) != 0)
            continue; /* a loader is at it */
        if (it->listed && ep->kind == GY__EP_REF) {
            /* A deployment now has this model's name: it takes over. */
            pthread_mutex_lock(&s->mu);
            ep->kind = GY__EP_DEPLOYMENT;
            pthread_mutex_unlock(&s->mu);
            gy_free(ep->key);
            ep->key = NULL;
        }
        rc = refresh(s, db, ep, it->listed ? it->rev : -1, 0, &gone);
        pthread_mutex_unlock(&ep->refresh_mu);
        if (rc && gone) {
            gy_log(GY_LOG_INFO, "serving: endpoint %s is gone: %s", ep->name, gy_error_msg());
            ep_remove(s, ep);
        } else if (rc) {
            /* A first load that failed here: waiting requests get the reason. */
            pthread_mutex_lock(&s->mu);
            if (!ep->current && ep->state == GY__EP_LOADING) {
                ep->state = GY__EP_UNAVAILABLE;
                ep->err = GY_E_UNAVAILABLE;
                set_reason(ep, gy_error_msg());
            }
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
        }
    }
    for (size_t i = 0; i < n; i++)
        gy__endpoint_unref(items[i].ep);
    gy_free(items);
}

static void *watch_main(void *arg)
{
    struct gy_serving *s = arg;
    pthread_mutex_lock(&s->wmu);
    while (!s->stopping) {
        struct timespec ts = deadline_in((int64_t)s->poll_ms * 1000000);
        pthread_cond_timedwait(&s->wcv, &s->wmu, &ts);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->wmu);
        poll_once(s, s->watch_db);
        pthread_mutex_lock(&s->wmu);
    }
    pthread_mutex_unlock(&s->wmu);
    return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

enum gy_status gy_serving_create(const struct gy_serving_config *cfg, struct gy_serving **out)
{
    struct gy_serving *s;
    enum gy_status rc;
    *out = NULL;
    if (!cfg || !cfg->home || !*cfg->home)
        return gy_error_set(GY_E_INVALID, "serving: no data home given");
    s = gy_calloc(1, sizeof *s);
    if (!s)
        return nomem();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->models_mu, NULL);
    pthread_mutex_init(&s->loader_mu, NULL);
    pthread_mutex_init(&s->wmu, NULL);
    cond_init_mono(&s->wcv);
    s->home = gy_strdup(cfg->home);
    s->db_url = gy_strdup(cfg->db_url ? cfg->db_url : "");
    s->poll_ms = cfg->poll_ms ? cfg->poll_ms : 250;
    s->batch_threads = cfg->batch_threads > 0 ? cfg->batch_threads : 1;
    s->shadow_queue = cfg->shadow_queue ? cfg->shadow_queue : 1024;
    s->allow_inf = cfg->allow_inf;
    s->wall_minus_mono_ns = gy_time_wall_us() * 1000 - gy_time_mono_ns();
    s->nbuckets = 64;
    s->buckets = gy_calloc(s->nbuckets, sizeof *s->buckets);
    if (!s->home || !s->db_url || !s->buckets) {
        rc = nomem();
        goto fail;
    }
    if ((rc = gy_db_open(s->home, *s->db_url ? s->db_url : NULL, &s->loader_db)))
        goto fail;
    if ((rc = gy__batcher_create(s, s->batch_threads, &s->batcher)) ||
        (rc = gy__shadower_create(s, s->shadow_queue, &s->shadower)) ||
        (rc = gy__predlog_create(s, cfg->predlog_queue, cfg->predlog_flush_records,
                                 cfg->predlog_flush_ms, &s->predlog)))
        goto fail;
    *out = s;
    return GY_OK;
fail:
    gy_serving_free(s);
    return rc;
}

enum gy_status gy_serving_start(struct gy_serving *s)
{
    enum gy_status rc;
    if (s->watcher_running)
        return GY_OK;
    if (!s->watch_db && (rc = gy_db_open(s->home, *s->db_url ? s->db_url : NULL, &s->watch_db)))
        return gy_error_wrap(rc, "serving: the watcher's store");
    poll_once(s, s->watch_db);
    if (pthread_create(&s->watcher, NULL, watch_main, s) != 0)
        return gy_error_set(GY_E_INTERNAL, "serving: cannot start the watcher: %s",
                            strerror(errno));
    s->watcher_running = 1;
    atomic_store(&s->ready, 1);
    return GY_OK;
}

int gy_serving_ready(const struct gy_serving *s)
{
    return atomic_load(&((struct gy_serving *)s)->ready);
}

void gy_serving_free(struct gy_serving *s)
{
    if (!s)
        return;
    if (s->watcher_running) {
        pthread_mutex_lock(&s->wmu);
        s->stopping = 1;
        pthread_cond_broadcast(&s->wcv);
        pthread_mutex_unlock(&s->wmu);
        pthread_join(s->watcher, NULL);
    }
    gy__batcher_free(s->batcher);
    gy__shadower_free(s->shadower);
    gy__predlog_free(s->predlog); /* writes what is queued: before the endpoints go */
    /* Every endpoint goes; so do the snapshots nobody holds. */
    for (;;) {
        struct gy__endpoint *ep = NULL;
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; s->buckets && b < s->nbuckets && !ep; b++)
            ep = s->buckets[b];
        pthread_mutex_unlock(&s->mu);
        if (!ep)
            break;
        ep_remove(s, ep);
    }
    while (s->models) {
        struct gy_served_model *m = s->models;
        gy_log(GY_LOG_WARN, "serving: %s version %lld is still held at shutdown", m->name,
               (long long)m->version);
        s->models = m->next;
        gy__served_model_destroy(m);
    }
    gy_db_free(s->watch_db);
    gy_db_free(s->loader_db);
    gy_free(s->buckets);
    gy_free(s->home);
    gy_free(s->db_url);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->models_mu);
    pthread_mutex_destroy(&s->loader_mu);
    pthread_mutex_destroy(&s->wmu);
    pthread_cond_destroy(&s->wcv);
    gy_free(s);
}

/* ------------------------------------------------------------------ repository */

enum gy_status gy_serving_load(struct gy_serving *s, const char *name)
{
    struct gy__endpoint *ep;
    uint64_t h;
    enum gy_status rc;
    if ((rc = name_check(name, NULL)))
        return rc;
    h = ep_hash(name, NULL);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        ep = ep_find(s, name, NULL, h);
        if (ep && ep->state == GY__EP_LOADING) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        break;
    }
    if (!ep) {
        if (!(ep = ep_new(s, name, NULL, h))) {
            pthread_mutex_unlock(&s->mu);
            return nomem();
        }
        ep_insert(s, ep);
    } else if (!ep->current) {
        if (ep->state == GY__EP_ABSENT)
            s->n_absent--;
        ep->state = GY__EP_LOADING;
    }
    /* Its versions that the unload took down load again on their next request. */
    for (size_t b = 0; b < s->nbuckets; b++) {
        for (struct gy__endpoint *v = s->buckets[b]; v; v = v->hnext) {
            if (v != ep && v->state == GY__EP_UNLOADED && strcmp(v->name, name) == 0) {
                v->state = GY__EP_ABSENT;
                v->absent_until_ns = 0;
                s->n_absent++;
            }
        }
    }
    atomic_fetch_add(&ep->refs, 1);
    pthread_mutex_unlock(&s->mu);
    rc = ep_load(s, ep);
    gy__endpoint_unref(ep);
    return rc;
}

enum gy_status gy_serving_unload(struct gy_serving *s, const char *name)
{
    struct gy__endpoint **eps = NULL;
    size_t n = 0;
    uint64_t h;
    enum gy_status rc;
    if ((rc = name_check(name, NULL)))
        return rc;
    h = ep_hash(name, NULL);
    pthread_mutex_lock(&s->mu);
    if (!ep_find(s, name, NULL, h)) {
        /* Remember the unload, so the watcher does not bring a deployment back. */
        struct gy__endpoint *ep = ep_new(s, name, NULL, h);
        if (!ep) {
            pthread_mutex_unlock(&s->mu);
            return nomem();
        }
        ep->state = GY__EP_UNLOADED;
        ep_insert(s, ep);
    }
    eps = gy_calloc(s->n_endpoints, sizeof *eps);
    for (size_t b = 0; eps && b < s->nbuckets; b++) {
        for (struct gy__endpoint *ep = s->buckets[b]; ep; ep = ep->hnext) {
            if (strcmp(ep->name, name) == 0) {
                atomic_fetch_add(&ep->refs, 1);
                eps[n++] = ep;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!eps)
        return nomem();
    for (size_t i = 0; i < n; i++) {
        struct gy__endpoint *ep = eps[i];
        struct gy_serving_target *old;
        pthread_mutex_lock(&ep->refresh_mu);
        pthread_mutex_lock(&s->mu);
        old = ep->current;
        ep->current = NULL;
        if (ep->state == GY__EP_ABSENT)
            s->n_absent--;
        ep->state = GY__EP_UNLOADED;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        gy_free(ep->key);
        ep->key = NULL;
        pthread_mutex_unlock(&ep->refresh_mu);
        gy__snap_unref(old);
        gy__endpoint_unref(ep);
    }
    gy_free(eps);
    gy_log(GY_LOG_INFO, "serving: unloaded endpoint %s", name);
    return GY_OK;
}

/* {"name","version","state","reason"} appended to @p a. */
static enum gy_status index_add(json_t *a, const char *name, const char *version, const char *state,
                                const char *reason, int deployment)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "version", version, "state", state,
                          "reason", reason ? reason : "");
    if (!o || (deployment && gy_json_set(o, "deployment", json_true())) ||
        json_array_append_new(a, o)) {
        json_decref(o);
        return nomem();
    }
    return GY_OK;
}

enum gy_status gy_serving_index(struct gy_serving *s, int ready_only, json_t **out)
{
    struct gy_registry_search q = {0};
    json_t *vers = NULL, *deps = NULL, *a = NULL, *v;
    size_t i;
    enum gy_status rc;
    *out = NULL;
    pthread_mutex_lock(&s->loader_mu);
    rc = gy_registry_version_search(s->loader_db, &q, &vers);
    if (rc == GY_OK)
        rc = gy_deploy_list(s->loader_db, &deps);
    pthread_mutex_unlock(&s->loader_mu);
    if (rc == GY_OK && !(a = json_array()))
        rc = nomem();
    json_array_foreach(json_object_get(vers, "model_versions"), i, v)
    {
        const char *name = gy_json_str(v, "name", "");
        const char *vs = gy_json_str(v, "version", "0");
        int64_t ver = 0;
        int loaded = 0;
        char reason[512] = "unloaded";
        if (rc)
            break;
        gy_parse_int64(vs, &ver);
        pthread_mutex_lock(&s->models_mu);
        for (struct gy_served_model *m = s->models; m && !loaded; m = m->next)
            loaded = m->version == ver && strcmp(m->name, name) == 0;
        pthread_mutex_unlock(&s->models_mu);
        if (!loaded) {
            pthread_mutex_lock(&s->mu);
            for (size_t b = 0; b < s->nbuckets; b++)
                for (struct gy__endpoint *ep = s->buckets[b]; ep; ep = ep->hnext)
                    if (ep->failed_model && ep->failed_version == ver &&
                        strcmp(ep->failed_model, name) == 0 && ep->reason)
                        snprintf(reason, sizeof reason, "%s", ep->reason);
            pthread_mutex_unlock(&s->mu);
        }
        if (loaded)
            rc = index_add(a, name, vs, "READY", NULL, 0);
        else if (!ready_only)
            rc = index_add(a, name, vs, "UNAVAILABLE", reason, 0);
    }
    json_array_foreach(deps, i, v)
    {
        const char *name = gy_json_str(v, "name", "");
        const char *state = "UNAVAILABLE";
        char reason[512] = "not loaded", version[32] = "";
        struct gy__endpoint *ep;
        if (rc)
            break;
        pthread_mutex_lock(&s->mu);
        ep = ep_find(s, name, NULL, ep_hash(name, NULL));
        if (ep && ep->current) {
            state = "READY";
            snprintf(version, sizeof version, "%lld", (long long)ep->current->routes[0].m->version);
            snprintf(reason, sizeof reason, "%s", ep->reason ? ep->reason : "");
        } else if (ep && ep->state == GY__EP_LOADING) {
            state = "LOADING";
            reason[0] = '\0';
        } else if (ep && ep->state == GY__EP_UNLOADED) {
            snprintf(reason, sizeof reason, "unloaded");
        } else if (ep && ep->reason) {
            snprintf(reason, sizeof reason, "%s", ep->reason);
        }
        pthread_mutex_unlock(&s->mu);
        if (!ready_only || strcmp(state, "READY") == 0)
            rc = index_add(a, name, version, state, reason, 1);
    }
    json_decref(vers);
    json_decref(deps);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return GY_OK;
}
