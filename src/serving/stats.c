/* SPDX-License-Identifier: MIT */
/*
 * stats.c - serving statistics: per loaded model version (Triton's counters and durations,
 * kept as relaxed atomics in the served model), per deployment variant (routed, errors,
 * dropped shadows, a latency histogram kept in the endpoint so it survives swaps), and the
 * totals of loads, swaps and batches, and per endpoint the V2 requests refused for their input
 * by kind (shape, type, missing, malformed, too_large; counted by the protocol layer on failure
 * only, classified here against the model's signature). Readers copy each counter atomically
 * under the list locks, so a scrape never blocks a request.
 */
#include "serving/serving_int.h"

#include <stdlib.h>
#include <string.h>

const double gy_serving_buckets[GY_SERVING_N_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10,
};

/* Bucket bounds in nanoseconds, for recording without floating point. */
static const uint64_t bucket_ns[GY_SERVING_N_BUCKETS] = {
    50000,    100000,   250000,   500000,    1000000,   2500000,    5000000,
    10000000, 25000000, 50000000, 100000000, 250000000, 1000000000, 10000000000,
};

void gy__variant_record(struct gy__variant *v, uint64_t ns, int ok)
{
    size_t b = 0;
    if (!v)
        return;
    gy__add(ok ? &v->routed : &v->errors, 1);
    while (b < GY_SERVING_N_BUCKETS && ns > bucket_ns[b])
        b++;
    if (b < GY_SERVING_N_BUCKETS)
        gy__add(&v->bucket[b], 1);
    gy__add(&v->count, 1);
    gy__add(&v->sum_ns, ns);
}

static void dur(struct gy_stat_duration *d, struct gy__dur *s)
{
    d->count = gy__get(&s->count);
    d->ns = gy__get(&s->ns);
}

void gy_serving_stats(struct gy_serving *s, void (*fn)(const struct gy_model_stats *, void *),
                      void (*vfn)(const struct gy_variant_stats *, void *), void *ctx)
{
    if (fn) {
        pthread_mutex_lock(&s->models_mu);
        for (struct gy_served_model *m = s->models; m; m = m->next) {
            struct gy_model_stats st;
            memset(&st, 0, sizeof st);
            st.name = m->name;
            st.version = m->version;
            st.last_inference_ms = gy__get(&m->last_ms);
            st.inference_count = gy__get(&m->inference_count);
            st.execution_count = gy__get(&m->execution_count);
            st.pending = gy__get(&m->pending);
            dur(&st.success, &m->success);
            dur(&st.fail, &m->fail);
            dur(&st.queue, &m->queue);
            dur(&st.compute_input, &m->cin);
            dur(&st.compute_infer, &m->cinfer);
            dur(&st.compute_output, &m->cout);
            for (int r = 0; r < 4; r++)
                st.fail_by_reason[r] = gy__get(&m->fail_reason[r]);
            st.memory_bytes = m->bundle_bytes + gy_engine_memory(m->engine);
            st.load_ns = m->load_ns;
            fn(&st, ctx);
        }
        pthread_mutex_unlock(&s->models_mu);
    }
    if (vfn) {
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b < s->nbuckets; b++) {
            for (struct gy__endpoint *ep = s->buckets[b]; ep; ep = ep->hnext) {
                for (size_t i = 0; i < ep->n_vars; i++) {
                    struct gy__variant *v = ep->vars[i];
                    struct gy_variant_stats st;
                    uint64_t cum = 0;
                    memset(&st, 0, sizeof st);
                    st.deployment = ep->name;
                    st.variant = v->label;
                    st.version = atomic_load_explicit(&v->version, memory_order_relaxed);
                    st.shadow = v->shadow;
                    st.routed = gy__get(&v->routed);
                    st.errors = gy__get(&v->errors);
                    st.dropped = gy__get(&v->dropped);
                    for (int k = 0; k < GY_SERVING_N_BUCKETS; k++) {
                        cum += gy__get(&v->bucket[k]);
                        st.bucket[k] = cum;
                    }
                    st.count = gy__get(&v->count);
                    st.sum_s = (double)gy__get(&v->sum_ns) / 1e9;
                    vfn(&st, ctx);
                }
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
}

void gy_serving_totals(struct gy_serving *s, struct gy_serving_totals *out)
{
    memset(out, 0, sizeof *out);
    out->loads = gy__get(&s->loads);
    out->load_failures = gy__get(&s->load_failures);
    out->swaps = gy__get(&s->swaps);
    out->batches = gy__get(&s->batches);
    out->batched_requests = gy__get(&s->batched_requests);
    gy__predlog_counts(s->predlog, &out->predlog_records, &out->predlog_dropped);
}

/* ------------------------------------------------------------------ refused inputs */

static const char *const input_error_names[GY_INPUT_ERR_N] = {"shape", "type", "missing",
                                                              "malformed", "too_large"};

const char *gy_input_error_name(enum gy_input_error k)
{
    return (int)k >= 0 && k < GY_INPUT_ERR_N ? input_error_names[k] : "?";
}

int gy_serving_input_error_classify(const struct gy_serving_call *call, enum gy_status rc)
{
    if (rc == GY_E_TOO_LARGE)
        return GY_INPUT_ERR_TOO_LARGE;
    if (rc != GY_E_INVALID || !call)
        return -1;
    if (!call->model)
        return GY_INPUT_ERR_MALFORMED;
    /* Set by infer.c where the refusal was produced. */
    return call->input_error >= 0 ? call->input_error : GY_INPUT_ERR_TYPE;
}

void gy_serving_input_error_count(struct gy_serving_target *t, enum gy_input_error k)
{
    if (!t || !t->ep || (int)k < 0 || k >= GY_INPUT_ERR_N)
        return;
    gy__add(&t->ep->input_errors[k], 1);
}

static int ep_cmp(const void *a, const void *b)
{
    const struct gy__endpoint *x = *(const struct gy__endpoint *const *)a;
    const struct gy__endpoint *y = *(const struct gy__endpoint *const *)b;
    return strcmp(x->name, y->name);
}

void gy_serving_input_errors(struct gy_serving *s,
                             void (*fn)(const struct gy_input_error_stats *, void *), void *ctx)
{
    struct gy__endpoint **eps;
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    /* A name's pinned versions are endpoints of their own: sort by name to sum them. */
    eps = gy_calloc(s->n_endpoints ? s->n_endpoints : 1, sizeof *eps);
    for (size_t b = 0; b < s->nbuckets; b++)
        for (struct gy__endpoint *ep = s->buckets[b]; ep; ep = ep->hnext) {
            struct gy_input_error_stats st;
            if (ep->state == GY__EP_ABSENT)
                continue;
            if (eps && n < s->n_endpoints) {
                eps[n++] = ep;
                continue;
            }
            /* Out of memory (or a count out of step): one line per endpoint, unsummed. */
            memset(&st, 0, sizeof st);
            st.endpoint = ep->name;
            st.deployment = ep->kind == GY__EP_DEPLOYMENT;
            for (int k = 0; k < GY_INPUT_ERR_N; k++)
                st.count[k] = gy__get(&ep->input_errors[k]);
            fn(&st, ctx);
        }
    if (n)
        qsort(eps, n, sizeof *eps, ep_cmp);
    for (size_t i = 0; i < n;) {
        struct gy_input_error_stats st;
        memset(&st, 0, sizeof st);
        st.endpoint = eps[i]->name;
        for (; i < n && strcmp(eps[i]->name, st.endpoint) == 0; i++) {
            if (eps[i]->kind == GY__EP_DEPLOYMENT)
                st.deployment = 1;
            for (int k = 0; k < GY_INPUT_ERR_N; k++)
                st.count[k] += gy__get(&eps[i]->input_errors[k]);
        }
        fn(&st, ctx);
    }
    pthread_mutex_unlock(&s->mu);
    gy_free(eps);
}
