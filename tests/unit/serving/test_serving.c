/* SPDX-License-Identifier: MIT */
/*
 * test_serving.c - the live serving state end to end in one process, on both backends:
 * models registered in the registry, served through deployments and registry references,
 * hot swaps on alias changes, deploy updates and rollbacks (seen within a second), in-flight
 * requests finishing on their snapshot, a corrupt version refused while the old one serves,
 * deleted deployments, unload/load and the index, shadows written to the log, dynamic
 * batching grouping concurrent requests with results identical to unbatched ones, a full
 * batch queue, concurrent first use loading once, and the statistics.
 */
#include "fixture.h"

#include <pthread.h>

static struct gy_deploy_spec *spec1(const char *name, const char *route)
{
    struct gy_deploy_spec *s = gy_calloc(1, sizeof *s);
    s->name = gy_strdup(name);
    s->routes = gy_calloc(1, sizeof *s->routes);
    s->n_routes = 1;
    OK(gy_deploy_route_parse(route, &s->routes[0]));
    return s;
}

static void deploy(struct gy_db *db, const char *name, const char *route)
{
    struct gy_deploy_spec *s = spec1(name, route);
    OK(gy_deploy_create(db, s, NULL, NULL));
    gy_deploy_spec_free(s);
}

static void redeploy(struct gy_db *db, const char *name, const char *route)
{
    struct gy_deploy_spec *s = spec1(name, route);
    OK(gy_deploy_update(db, s, NULL, NULL));
    gy_deploy_spec_free(s);
}

static const float X4[12] = {0.1f, 0, 0, 1, -2, 5, 1, 0.5f, NAN, NAN, NAN, 2.9f};

static void check_outputs(struct gy_serving *s, const char *name, float shift, int64_t version)
{
    float out[4], want[4];
    int64_t v = 0;
    OK(sx_infer(s, name, X4, 4, out, &v));
    cr_assert_eq(v, version, "%s answered with version %lld", name, (long long)v);
    sx_expect(shift, X4, 4, want);
    cr_assert(memcmp(out, want, sizeof out) == 0, "%s: outputs differ from the reference", name);
}

/* ------------------------------------------------------------------ names and swaps */

DB_TEST(serving_resolution)
{
    struct gy_serving *s;
    struct gy_serving_target *t = NULL;
    size_t n;
    const int64_t *vs;
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    sx_register_shift(f->db, "fraud", 1.0f, NULL);
    OK(gy_registry_alias_set(f->db, "fraud", "champion", 2));
    deploy(f->db, "live", "fraud@1");
    s = sx_serving(f, 50);

    check_outputs(s, "live", 0, 1);
    check_outputs(s, "fraud", 0.5f, 2); /* the champion */
    check_outputs(s, "fraud@champion", 0.5f, 2);
    check_outputs(s, "fraud@3", 1.0f, 3);
    check_outputs(s, "fraud/latest", 1.0f, 3);

    OK(gy_serving_acquire(s, "live", NULL, &t));
    cr_assert_str_eq(gy_serving_target_name(t), "live");
    cr_assert(gy_serving_target_is_deployment(t));
    cr_assert_eq(gy_served_model_version(gy_serving_target_primary(t)), 1);
    cr_assert_str_eq(gy_served_model_name(gy_serving_target_primary(t)), "fraud");
    cr_assert_not_null(gy_served_model_engine(gy_serving_target_primary(t)));
    cr_assert_not_null(gy_served_model_bundle(gy_serving_target_primary(t)));
    vs = gy_serving_target_versions(t, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(vs[0], 1);
    cr_assert_null(gy_serving_target_sticky_header(t));
    gy_serving_release(t);
    OK(gy_serving_acquire(s, "fraud", NULL, &t));
    cr_assert_not(gy_serving_target_is_deployment(t));
    gy_serving_release(t);

    /* A version given separately pins it, for a deployment of its first route's model. */
    OK(gy_serving_acquire(s, "live", "3", &t));
    cr_assert_eq(gy_served_model_version(gy_serving_target_primary(t)), 3);
    cr_assert(gy_serving_target_is_deployment(t));
    gy_serving_release(t);
    OK(gy_serving_acquire(s, "fraud@champion", "1", &t));
    cr_assert_eq(gy_served_model_version(gy_serving_target_primary(t)), 1);
    gy_serving_release(t);

    cr_assert_eq(gy_serving_acquire(s, "nosuch", NULL, &t), GY_NOT_FOUND);
    cr_assert(strstr(gy_error_msg(), "nosuch"), "%s", gy_error_msg());
    cr_assert_null(t);
    cr_assert_eq(gy_serving_acquire(s, "nosuch", NULL, &t), GY_NOT_FOUND, "remembered");
    cr_assert_eq(gy_serving_acquire(s, "fraud@nope", NULL, &t), GY_NOT_FOUND);
    cr_assert(strstr(gy_error_msg(), "nope"), "%s", gy_error_msg());
    cr_assert_eq(gy_serving_acquire(s, "fraud", "9", &t), GY_NOT_FOUND);
    cr_assert_eq(gy_serving_acquire(s, "fraud", "x1", &t), GY_E_INVALID);
    cr_assert_eq(gy_serving_acquire(s, "fraud", "0", &t), GY_E_INVALID);
    cr_assert_eq(gy_serving_acquire(s, "", NULL, &t), GY_E_INVALID);
    cr_assert_eq(gy_serving_acquire(s, "a\nb", NULL, &t), GY_E_INVALID);

    /* An unknown name is remembered briefly, not forever: registering it makes it servable. */
    cr_assert_eq(gy_serving_acquire(s, "late", NULL, &t), GY_NOT_FOUND);
    sx_register_shift(f->db, "late", 0.25f, NULL);
    cr_assert_eq(sx_wait_version(s, "late", 1, 2000), 1);
    gy_serving_free(s);
}

DB_TEST(serving_hot_swap)
{
    struct gy_serving *s;
    struct gy_serving_target *old = NULL;
    struct gy_serving_totals tot;
    struct gy_arena *a = gy_arena_create(4096);
    struct gy_tensor in = sx_tensor("input", X4, 4, 3);
    struct gy_serving_call call;
    float want[4];
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    OK(gy_registry_alias_set(f->db, "fraud", "champion", 1));
    deploy(f->db, "live", "fraud@champion");
    s = sx_serving(f, 50);
    check_outputs(s, "live", 0, 1);
    check_outputs(s, "fraud", 0, 1);
    check_outputs(s, "fraud@1", 0, 1); /* keeps version 1 resident */
    OK(gy_serving_acquire(s, "live", NULL, &old));

    /* The alias moves: the deployment and the implicit endpoint follow within a second. */
    OK(gy_registry_alias_set(f->db, "fraud", "champion", 2));
    cr_assert_eq(sx_wait_version(s, "live", 2, 2000), 2, "the swap was not seen in 2 s");
    cr_assert_eq(sx_wait_version(s, "fraud", 2, 2000), 2);
    check_outputs(s, "live", 0.5f, 2);

    /* A request that holds the old snapshot still gets the old version, entirely. */
    memset(&call, 0, sizeof call);
    call.inputs = &in;
    call.n_inputs = 1;
    call.arena = a;
    OK(gy_serving_infer(old, &call));
    cr_assert_eq(gy_served_model_version(call.model), 1);
    cr_assert_str_eq(call.variant, "fraud@champion");
    sx_expect(0, X4, 4, want);
    cr_assert(memcmp(call.outputs, want, sizeof want) == 0);
    gy_serving_release(old);

    /* A deploy update, then its rollback. */
    redeploy(f->db, "live", "fraud@1");
    cr_assert_eq(sx_wait_version(s, "live", 1, 2000), 1);
    OK(gy_deploy_rollback(f->db, "live", 0, NULL, NULL));
    cr_assert_eq(sx_wait_version(s, "live", 2, 2000), 2);
    gy_serving_totals(s, &tot);
    cr_assert_geq(tot.swaps, 4, "swaps: %llu", (unsigned long long)tot.swaps);
    cr_assert_eq(tot.load_failures, 0);
    cr_assert_eq(tot.loads, 2, "each version loaded once: %llu", (unsigned long long)tot.loads);

    /* Deleting the deployment removes the endpoint. */
    OK(gy_deploy_delete(f->db, "live"));
    for (int i = 0; i < 200; i++) {
        struct gy_serving_target *t = NULL;
        enum gy_status rc = gy_serving_acquire(s, "live", NULL, &t);
        gy_serving_release(t);
        if (rc == GY_NOT_FOUND)
            break;
        usleep(10000);
    }
    cr_assert_eq(gy_serving_acquire(s, "live", NULL, &old), GY_NOT_FOUND);
    gy_arena_free(a);
    gy_serving_free(s);
}

DB_TEST(serving_new_deployment_and_takeover)
{
    struct gy_serving *s;
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    s = sx_serving(f, 50);
    check_outputs(s, "fraud", 0.5f, 2); /* no champion: the latest */
    /* A deployment created while serving; one named like the model takes its name over. */
    deploy(f->db, "fraud", "fraud@1");
    cr_assert_eq(sx_wait_version(s, "fraud", 1, 2000), 1);
    deploy(f->db, "other", "fraud@2");
    cr_assert_eq(sx_wait_version(s, "other", 2, 2000), 2);
    OK(gy_deploy_delete(f->db, "fraud"));
    cr_assert_eq(sx_wait_version(s, "fraud", 2, 2000), 2, "back to the model itself");

    /* A route whose alias disappears is refused: the deployment keeps its last version. */
    OK(gy_registry_alias_set(f->db, "fraud", "challenger", 2));
    deploy(f->db, "canary", "fraud@challenger");
    cr_assert_eq(sx_wait_version(s, "canary", 2, 2000), 2);
    OK(gy_registry_alias_delete(f->db, "fraud", "challenger"));
    usleep(300000);
    check_outputs(s, "canary", 0.5f, 2);
    {
        /* The index says it serves, and why it did not change. */
        json_t *idx = NULL, *e;
        size_t i;
        int saw = 0;
        OK(gy_serving_index(s, 0, &idx));
        json_array_foreach(idx, i, e)
        {
            if (strcmp(jstr(e, "name"), "canary") != 0)
                continue;
            cr_assert_str_eq(jstr(e, "state"), "READY");
            cr_assert(strstr(jstr(e, "reason"), "challenger"), "%s", jstr(e, "reason"));
            saw = 1;
        }
        cr_assert(saw);
        json_decref(idx);
    }
    gy_serving_free(s);
}

/* ------------------------------------------------------------------ refusals */

DB_TEST(serving_corrupt_version_refused)
{
    struct gy_serving *s;
    struct gy_serving_target *t = NULL;
    struct gy_serving_totals tot;
    char hex2[GY_SHA256_HEX_LEN + 1];
    json_t *idx = NULL, *e;
    size_t i;
    int saw = 0;
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, hex2);
    sx_register_shift(f->db, "fraud", 1.0f, NULL);
    sx_corrupt(f->db, hex2);
    OK(gy_registry_alias_set(f->db, "fraud", "champion", 1));
    deploy(f->db, "live", "fraud@champion");
    s = sx_serving(f, 50);
    check_outputs(s, "live", 0, 1);

    OK(gy_registry_alias_set(f->db, "fraud", "champion", 2));
    usleep(1200000);
    check_outputs(s, "live", 0, 1); /* the old version keeps serving */
    gy_serving_totals(s, &tot);
    cr_assert_geq(tot.load_failures, 1);
    cr_assert_leq(tot.load_failures, 4, "retried with backoff, not every poll: %llu",
                  (unsigned long long)tot.load_failures);
    /* Asked for directly, the corrupt version is unavailable, with the reason. */
    cr_assert_eq(gy_serving_acquire(s, "fraud@2", NULL, &t), GY_E_UNAVAILABLE);
    cr_assert(strstr(gy_error_msg(), "version 2"), "%s", gy_error_msg());
    cr_assert_null(t);
    OK(gy_serving_index(s, 0, &idx));
    json_array_foreach(idx, i, e)
    {
        if (strcmp(jstr(e, "name"), "fraud") == 0 && strcmp(jstr(e, "version"), "2") == 0) {
            cr_assert_str_eq(jstr(e, "state"), "UNAVAILABLE");
            cr_assert(strlen(jstr(e, "reason")) > 0);
            saw++;
        }
        if (strcmp(jstr(e, "name"), "live") == 0) {
            cr_assert_str_eq(jstr(e, "state"), "READY");
            cr_assert_str_eq(jstr(e, "version"), "1");
            saw++;
        }
    }
    cr_assert_eq(saw, 2);
    json_decref(idx);

    /* Pointing the alias at a good version swaps at once. */
    OK(gy_registry_alias_set(f->db, "fraud", "champion", 3));
    cr_assert_eq(sx_wait_version(s, "live", 3, 2000), 3);
    gy_serving_free(s);
}

DB_TEST(serving_unload_load_index)
{
    struct gy_serving *s;
    struct gy_serving_target *t = NULL;
    json_t *idx = NULL;
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    deploy(f->db, "live", "fraud@1");
    s = sx_serving(f, 50);
    OK(gy_serving_index(s, 1, &idx));
    /* Ready only: version 1 (loaded for live) and the deployment. */
    cr_assert_eq(json_array_size(idx), 2, "%s", json_dumps(idx, 0));
    json_decref(idx);
    OK(gy_serving_unload(s, "live"));
    cr_assert_eq(gy_serving_acquire(s, "live", NULL, &t), GY_E_UNAVAILABLE);
    cr_assert(strstr(gy_error_msg(), "unloaded"), "%s", gy_error_msg());
    usleep(200000); /* the watcher must not bring it back */
    cr_assert_eq(gy_serving_acquire(s, "live", NULL, &t), GY_E_UNAVAILABLE);
    OK(gy_serving_index(s, 0, &idx));
    cr_assert_eq(json_array_size(idx), 3);
    json_decref(idx);
    OK(gy_serving_load(s, "live"));
    check_outputs(s, "live", 0, 1);
    OK(gy_serving_load(s, "fraud@2"));
    OK(gy_serving_index(s, 1, &idx));
    cr_assert_eq(json_array_size(idx), 3, "both versions and the deployment are ready");
    json_decref(idx);
    cr_assert_eq(gy_serving_load(s, "nosuch"), GY_NOT_FOUND);
    gy_serving_free(s);
}

/* ------------------------------------------------------------------ concurrency */

struct first_use {
    struct gy_serving *s;
    enum gy_status rc;
    int64_t version;
};

static void *first_use_main(void *arg)
{
    struct first_use *u = arg;
    float out[4];
    u->rc = sx_infer(u->s, "fraud@1", X4, 4, out, &u->version);
    return NULL;
}

DB_TEST(serving_first_use_loads_once)
{
    struct gy_serving *s;
    struct gy_serving_totals tot;
    struct first_use u[6];
    pthread_t th[6];
    sx_register_shift(f->db, "fraud", 0, NULL);
    s = sx_serving(f, 50);
    for (int i = 0; i < 6; i++) {
        u[i].s = s;
        pthread_create(&th[i], NULL, first_use_main, &u[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(u[i].rc, GY_OK);
        cr_assert_eq(u[i].version, 1);
    }
    gy_serving_totals(s, &tot);
    cr_assert_eq(tot.loads, 1, "loaded %llu times", (unsigned long long)tot.loads);
    gy_serving_free(s);
}

/* ------------------------------------------------------------------ shadows */

struct vcollect {
    uint64_t routed[2], shadowed, errors;
    int64_t shadow_version;
};

static void vcollect_fn(const struct gy_variant_stats *v, void *ctx)
{
    struct vcollect *c = ctx;
    if (strcmp(v->deployment, "live") != 0)
        return;
    if (v->shadow) {
        c->shadowed += v->routed;
        c->shadow_version = v->version;
    } else if (v->version == 1) {
        c->routed[0] += v->routed;
    } else {
        c->routed[1] += v->routed;
    }
    c->errors += v->errors;
    cr_assert_eq(v->bucket[GY_SERVING_N_BUCKETS - 1] <= v->count, 1);
}

DB_TEST(serving_shadows_logged)
{
    struct gy_deploy_spec *sp = spec1("live", "fraud@1");
    struct gy_serving *s;
    struct vcollect vc;
    char path[512];
    struct gy_buf log;
    float want2[4];
    int lines = 0;
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    sp->shadows = gy_calloc(1, sizeof *sp->shadows);
    sp->n_shadows = 1;
    OK(gy_deploy_route_parse("fraud@2", &sp->shadows[0]));
    OK(gy_deploy_create(f->db, sp, NULL, NULL));
    gy_deploy_spec_free(sp);
    s = sx_serving(f, 50);
    for (int i = 0; i < 5; i++) {
        struct gy_serving_target *t = NULL;
        struct gy_arena *a = gy_arena_create(4096);
        struct gy_tensor in = sx_tensor("input", X4, 4, 3);
        struct gy_serving_call call;
        char rid[16];
        snprintf(rid, sizeof rid, "req-%d", i);
        memset(&call, 0, sizeof call);
        call.inputs = &in;
        call.n_inputs = 1;
        call.arena = a;
        call.request_id = rid;
        OK(gy_serving_acquire(s, "live", NULL, &t));
        OK(gy_serving_infer(t, &call));
        cr_assert_eq(gy_served_model_version(call.model), 1, "shadows never answer");
        gy_serving_release(t);
        gy_arena_free(a);
    }
    for (int i = 0; i < 200; i++) {
        memset(&vc, 0, sizeof vc);
        gy_serving_stats(s, NULL, vcollect_fn, &vc);
        if (vc.shadowed == 5)
            break;
        usleep(10000);
    }
    cr_assert_eq(vc.shadowed, 5);
    cr_assert_eq(vc.routed[0], 5);
    cr_assert_eq(vc.shadow_version, 2);
    cr_assert_eq(vc.errors, 0);
    gy_serving_free(s); /* flushes the log */

    sx_expect(0.5f, X4, 4, want2);
    snprintf(path, sizeof path, "%s/logs/shadow/live.jsonl", f->home);
    gy_buf_init(&log, 1 << 20);
    OK(gy_file_read(path, &log));
    for (char *line = log.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        json_t *j = NULL;
        nl = strchr(line, '\n');
        cr_assert_not_null(nl, "every line ends");
        OK(gy_json_parse(line, (size_t)(nl - line), 8, "shadow log", &j));
        cr_assert_str_eq(jstr(j, "deployment"), "live");
        cr_assert_str_eq(jstr(j, "variant"), "fraud@2");
        cr_assert_eq(jint(j, "version"), 2);
        cr_assert_eq(jint(j, "primary_version"), 1);
        cr_assert(strncmp(jstr(j, "request_id"), "req-", 4) == 0);
        cr_assert_eq(jlen(j, "outputs"), 4);
        for (int r = 0; r < 4; r++) {
            char p[32];
            snprintf(p, sizeof p, "outputs.%d.0", r);
            cr_assert_eq((float)json_number_value(jpath(j, p)), want2[r], "row %d", r);
        }
        cr_assert_eq(jlen(j, "primary_outputs"), 4);
        cr_assert(jint(j, "time_us") > 0);
        json_decref(j);
        lines++;
    }
    cr_assert_eq(lines, 5);
    gy_buf_free(&log);
}

/* A shadow whose inputs differ in order reads them by name through its own preprocessing. */
DB_TEST(serving_shadow_other_signature)
{
    static const char *const names[] = {"x2", "x1", "x0"};
    struct gy_deploy_spec *sp = spec1("live", "fraud@1");
    struct gy_serving *s;
    struct gy_features *fe;
    struct gy_trees *tr = sx_trees(0.25f);
    struct gy_buf b;
    struct vcollect vc;
    float out[4];
    sx_register_shift(f->db, "fraud", 0, NULL);
    OK(gy_features_identity(names, 3, &fe));
    sx_serialize(tr, fe, &b);
    sx_register(f->db, "rev", &b, NULL);
    gy_buf_free(&b);
    gy_features_free(fe);
    gy_model_trees_free(tr);
    sp->shadows = gy_calloc(1, sizeof *sp->shadows);
    sp->n_shadows = 1;
    OK(gy_deploy_route_parse("rev@1", &sp->shadows[0]));
    OK(gy_deploy_create(f->db, sp, NULL, NULL));
    gy_deploy_spec_free(sp);
    s = sx_serving(f, 50);
    OK(sx_infer(s, "live", X4, 4, out, NULL));
    for (int i = 0; i < 200; i++) {
        memset(&vc, 0, sizeof vc);
        gy_serving_stats(s, NULL, vcollect_fn, &vc);
        if (vc.shadowed == 1)
            break;
        usleep(10000);
    }
    cr_assert_eq(vc.shadowed, 1);
    gy_serving_free(s);
    {
        char path[512];
        struct gy_buf log;
        json_t *j = NULL;
        float x_rev[12], want[4];
        /* The shadow saw x reversed into its own column order. */
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 3; c++)
                x_rev[r * 3 + c] = X4[r * 3 + (2 - c)];
        sx_expect(0.25f, x_rev, 4, want);
        snprintf(path, sizeof path, "%s/logs/shadow/live.jsonl", f->home);
        gy_buf_init(&log, 1 << 20);
        OK(gy_file_read(path, &log));
        OK(gy_json_parse(log.data, log.len - 1, 8, "shadow log", &j));
        for (int r = 0; r < 4; r++) {
            char p[32];
            snprintf(p, sizeof p, "outputs.%d.0", r);
            cr_assert_eq((float)json_number_value(jpath(j, p)), want[r], "row %d", r);
        }
        json_decref(j);
        gy_buf_free(&log);
    }
}

/* ------------------------------------------------------------------ batching */

struct batch_worker {
    struct gy_serving *s;
    int id, failures, mismatches;
};

static void row_of(int id, int k, float x[3])
{
    x[0] = (float)((id * 50 + k) % 7) / 7.0f;
    x[1] = (float)((id + k) % 5) - 2.5f;
    x[2] = (float)(k % 6);
}

static void *batch_main(void *arg)
{
    struct batch_worker *w = arg;
    for (int k = 0; k < 50; k++) {
        float x[3], out[1], want[1];
        int64_t v = 0;
        row_of(w->id, k, x);
        if (sx_infer(w->s, "live", x, 1, out, &v) != GY_OK) {
            w->failures++;
            continue;
        }
        sx_expect(0, x, 1, want);
        if (memcmp(out, want, sizeof out) != 0 || v != 1)
            w->mismatches++;
    }
    return NULL;
}

struct mcollect {
    uint64_t inference, execution, success, queue_count;
};

static void mcollect_fn(const struct gy_model_stats *m, void *ctx)
{
    struct mcollect *c = ctx;
    if (strcmp(m->name, "fraud") != 0 || m->version != 1)
        return;
    c->inference = m->inference_count;
    c->execution = m->execution_count;
    c->success = m->success.count;
    c->queue_count = m->queue.count;
    cr_assert_eq(m->pending, 0);
    cr_assert(m->memory_bytes > 0);
    cr_assert(m->load_ns > 0);
}

DB_TEST(serving_batching_groups_requests)
{
    struct gy_deploy_spec *sp = spec1("live", "fraud@1");
    struct gy_serving *s;
    struct gy_serving_totals tot;
    struct batch_worker w[4];
    struct mcollect mc;
    pthread_t th[4];
    sx_register_shift(f->db, "fraud", 0, NULL);
    sp->max_batch_size = 8;
    sp->max_queue_delay_us = 2000;
    OK(gy_deploy_create(f->db, sp, NULL, NULL));
    gy_deploy_spec_free(sp);
    s = sx_serving(f, 50);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct batch_worker){.s = s, .id = i};
        pthread_create(&th[i], NULL, batch_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].failures, 0);
        cr_assert_eq(w[i].mismatches, 0, "batched results equal unbatched ones");
    }
    gy_serving_totals(s, &tot);
    cr_assert_eq(tot.batched_requests, 200);
    cr_assert_lt(tot.batches, 200, "concurrent requests were grouped (%llu batches)",
                 (unsigned long long)tot.batches);
    memset(&mc, 0, sizeof mc);
    gy_serving_stats(s, mcollect_fn, NULL, &mc);
    cr_assert_eq(mc.inference, 200);
    cr_assert_eq(mc.execution, tot.batches);
    cr_assert_eq(mc.success, 200);
    cr_assert_eq(mc.queue_count, 200);
    gy_serving_free(s);
}

struct async_done {
    pthread_mutex_t mu;
    int calls;
    enum gy_status rc;
};

static void on_done(struct gy_serving_call *call, enum gy_status rc, void *ctx)
{
    struct async_done *d = ctx;
    (void)call;
    pthread_mutex_lock(&d->mu);
    d->calls++;
    d->rc = rc;
    pthread_mutex_unlock(&d->mu);
}

DB_TEST(serving_batch_queue_full_and_async)
{
    struct gy_deploy_spec *sp = spec1("live", "fraud@1");
    struct gy_serving *s;
    struct gy_serving_target *t = NULL;
    struct gy_arena *a = gy_arena_create(4096), *b = gy_arena_create(4096);
    struct gy_tensor in = sx_tensor("input", X4, 4, 3);
    struct gy_serving_call c1, c2;
    struct async_done d1 = {PTHREAD_MUTEX_INITIALIZER, 0, GY_OK},
                      d2 = {PTHREAD_MUTEX_INITIALIZER, 0, GY_OK};
    float want[4];
    sx_register_shift(f->db, "fraud", 0, NULL);
    sp->max_batch_size = 64;
    sp->max_queue_delay_us = 300000;
    sp->max_queue_size = 1;
    OK(gy_deploy_create(f->db, sp, NULL, NULL));
    gy_deploy_spec_free(sp);
    s = sx_serving(f, 50);
    OK(gy_serving_acquire(s, "live", NULL, &t));
    memset(&c1, 0, sizeof c1);
    c1.inputs = &in;
    c1.n_inputs = 1;
    c1.arena = a;
    c1.want_margins = 1;
    c2 = c1;
    c2.arena = b;
    gy_serving_infer_async(t, &c1, on_done, &d1);
    gy_serving_infer_async(t, &c2, on_done, &d2);
    /* The second finds the queue full: refused at once, through its callback. */
    cr_assert_eq(d2.calls, 1);
    cr_assert_eq(d2.rc, GY_E_BUSY);
    gy_serving_release(t); /* the queued request holds its own reference */
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&d1.mu);
        if (d1.calls) {
            pthread_mutex_unlock(&d1.mu);
            break;
        }
        pthread_mutex_unlock(&d1.mu);
        usleep(10000);
    }
    cr_assert_eq(d1.calls, 1);
    cr_assert_eq(d1.rc, GY_OK);
    cr_assert_eq(c1.nrows, 4);
    cr_assert(c1.queue_ns > 0);
    sx_expect(0, X4, 4, want);
    cr_assert(memcmp(c1.outputs, want, sizeof want) == 0);
    cr_assert_eq(c1.n_margins, 1);
    cr_assert_not_null(c1.margins);
    {
        struct gy_trees *tr = sx_trees(0);
        float m[4];
        gy_model_trees_predict(tr, X4, 4, m, NULL);
        cr_assert(memcmp(c1.margins, m, sizeof m) == 0);
        gy_model_trees_free(tr);
    }
    gy_serving_free(s);
    gy_arena_free(a);
    gy_arena_free(b);
}

/* ------------------------------------------------------------------ routing and statistics */

DB_TEST(serving_weighted_routes_and_sticky)
{
    struct gy_deploy_spec *sp = spec1("live", "fraud@1=70");
    struct gy_serving *s;
    struct gy_serving_target *t = NULL;
    struct vcollect vc;
    int count[3] = {0, 0, 0};
    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    sp->routes = gy_realloc(sp->routes, 2 * sizeof *sp->routes);
    sp->n_routes = 2;
    OK(gy_deploy_route_parse("fraud@2=30", &sp->routes[1]));
    sp->sticky_header = gy_strdup("X-User");
    OK(gy_deploy_create(f->db, sp, NULL, NULL));
    gy_deploy_spec_free(sp);
    s = sx_serving(f, 50);
    OK(gy_serving_acquire(s, "live", NULL, &t));
    cr_assert_str_eq(gy_serving_target_sticky_header(t), "X-User");
    {
        size_t n;
        const int64_t *vs = gy_serving_target_versions(t, &n);
        cr_assert_eq(n, 2);
        cr_assert_eq(vs[0], 1);
        cr_assert_eq(vs[1], 2);
    }
    for (int i = 0; i < 400; i++) {
        struct gy_arena *a = gy_arena_create(4096);
        struct gy_tensor in = sx_tensor("input", X4, 1, 3);
        struct gy_serving_call call;
        char user[16];
        int64_t first = 0;
        snprintf(user, sizeof user, "u%d", i % 40);
        for (int k = 0; k < 2; k++) {
            memset(&call, 0, sizeof call);
            call.inputs = &in;
            call.n_inputs = 1;
            call.arena = a;
            call.sticky = user;
            OK(gy_serving_infer(t, &call));
            if (k == 0)
                first = gy_served_model_version(call.model);
            else
                cr_assert_eq(gy_served_model_version(call.model), first, "%s moved", user);
            cr_assert_str_eq(call.variant, first == 1 ? "fraud@1" : "fraud@2");
        }
        count[first]++;
        gy_arena_free(a);
    }
    cr_assert(count[1] > 0 && count[2] > 0, "both variants answered: %d/%d", count[1], count[2]);
    gy_serving_release(t);
    memset(&vc, 0, sizeof vc);
    gy_serving_stats(s, NULL, vcollect_fn, &vc);
    cr_assert_eq(vc.routed[0] + vc.routed[1], 800);
    cr_assert_eq(vc.routed[0], (uint64_t)count[1] * 2);
    gy_serving_free(s);
}
