/* SPDX-License-Identifier: MIT */
/*
 * test_deploy.c - deployments as data (src/serving/deploy.c): route parsing, the spec's JSON
 * round trip and every validation rule, and persistence on both backends: create, get with
 * resolved versions, list, update, rollback (to the previous and to a given revision),
 * history, delete, and their errors. Also the V2 datatype helpers (tensor.c).
 */
#include "fixture.h"

/* ------------------------------------------------------------------ routes */

static void route_ok(const char *text, const char *model, const char *ref, uint32_t weight)
{
    struct gy_deploy_route r;
    OK(gy_deploy_route_parse(text, &r));
    cr_assert_str_eq(r.model, model, "%s", text);
    cr_assert_str_eq(r.ref, ref, "%s", text);
    cr_assert_eq(r.weight, weight, "%s: weight %u", text, r.weight);
    gy_free(r.model);
    gy_free(r.ref);
}

static void route_bad(const char *text, const char *needle)
{
    struct gy_deploy_route r;
    cr_assert_eq(gy_deploy_route_parse(text, &r), GY_E_INVALID, "%s was accepted", text);
    cr_assert_null(r.model);
    cr_assert(strstr(gy_error_msg(), needle), "%s: error '%s' lacks '%s'", text, gy_error_msg(),
              needle);
}

Test(deploy, route_parse)
{
    int64_t before = gy_alloc_bytes();
    route_ok("fraud@champion=90", "fraud", "champion", 90);
    route_ok("fraud", "fraud", "champion", 100);
    route_ok("fraud=7", "fraud", "champion", 7);
    route_ok("fraud@3", "fraud", "3", 100);
    route_ok("fraud/3=0", "fraud", "3", 0);
    route_ok("fraud@latest=1000000", "fraud", "latest", 1000000);
    route_ok("a=b@challenger=5", "a=b", "challenger", 5);
    route_bad("", "empty route");
    route_bad("fraud@champion=", "without a weight");
    route_bad("fraud@champion=-1", "weight");
    route_bad("fraud@champion=1000001", "weight must be 0 to 1000000");
    route_bad("fraud@champion=1x", "weight");
    route_bad("@champion", "empty");
    route_bad("fraud@", "alias");
    route_bad("fraud@v2", "reserved");
    route_bad("fraud@0", "version");
    route_bad("fr\x01ud", "control character");
    cr_assert_eq(gy_alloc_bytes(), before);
}

/* ------------------------------------------------------------------ spec JSON */

static json_t *spec_json(const char *text)
{
    json_t *j = NULL;
    OK(gy_json_parse(text, strlen(text), 16, "test", &j));
    return j;
}

static void spec_bad(const char *text, const char *needle)
{
    json_t *j = spec_json(text);
    struct gy_deploy_spec *s = (struct gy_deploy_spec *)1;
    cr_assert_eq(gy_deploy_spec_from_json(j, &s), GY_E_INVALID, "accepted: %s", text);
    cr_assert_null(s);
    cr_assert(strstr(gy_error_msg(), needle), "%s: error '%s' lacks '%s'", text, gy_error_msg(),
              needle);
    json_decref(j);
}

Test(deploy, spec_round_trip)
{
    int64_t before = gy_alloc_bytes();
    json_t *j =
        spec_json("{\"name\":\"live\",\"routes\":[{\"model\":\"fraud\",\"ref\":\"champion\","
                  "\"weight\":90},{\"model\":\"fraud\",\"ref\":\"challenger\",\"weight\":10}],"
                  "\"shadows\":[{\"model\":\"fraud\",\"ref\":\"3\"}],"
                  "\"sticky_header\":\"X-User\",\"max_batch_size\":8,"
                  "\"max_queue_delay_us\":2000,\"log_sample\":0.25}");
    struct gy_deploy_spec *s = NULL, *s2 = NULL;
    json_t *back = NULL, *back2 = NULL;
    OK(gy_deploy_spec_from_json(j, &s));
    cr_assert_str_eq(s->name, "live");
    cr_assert_eq(s->n_routes, 2);
    cr_assert_eq(s->routes[1].weight, 10);
    cr_assert_eq(s->n_shadows, 1);
    cr_assert_str_eq(s->shadows[0].ref, "3");
    cr_assert_str_eq(s->sticky_header, "X-User");
    cr_assert_eq(s->max_batch_size, 8);
    cr_assert_eq(s->max_queue_delay_us, 2000);
    cr_assert_eq(s->max_queue_size, 1024, "batching gets the default queue size");
    cr_assert_eq(s->log_sample, 0.25);
    OK(gy_deploy_spec_to_json(s, &back));
    OK(gy_deploy_spec_from_json(back, &s2));
    OK(gy_deploy_spec_to_json(s2, &back2));
    cr_assert(json_equal(back, back2), "the JSON form is stable");
    cr_assert_eq(jint(back, "max_queue_size"), 1024);
    cr_assert_str_eq(jstr(back, "routes.0.ref"), "champion");
    /* Defaults: ref champion, weight 100, no shadows, no batching. */
    json_decref(j);
    gy_deploy_spec_free(s);
    j = spec_json("{\"name\":\"a.b-c_1\",\"routes\":[{\"model\":\"m\"}]}");
    OK(gy_deploy_spec_from_json(j, &s));
    cr_assert_str_eq(s->routes[0].ref, "champion");
    cr_assert_eq(s->routes[0].weight, 100);
    cr_assert_eq(s->n_shadows, 0);
    cr_assert_null(s->sticky_header);
    cr_assert_eq(s->max_batch_size, 0);
    cr_assert_eq(s->max_queue_size, 0);
    json_decref(j);
    json_decref(back);
    json_decref(back2);
    gy_deploy_spec_free(s);
    gy_deploy_spec_free(s2);
    cr_assert_eq(gy_alloc_bytes(), before);
}

Test(deploy, spec_validation)
{
    int64_t before = gy_alloc_bytes();
    spec_bad("[]", "must be a JSON object");
    spec_bad("{\"routes\":[{\"model\":\"m\"}]}", "name");
    spec_bad("{\"name\":\"\",\"routes\":[{\"model\":\"m\"}]}", "empty");
    spec_bad("{\"name\":\"a/b\",\"routes\":[{\"model\":\"m\"}]}", "may contain only");
    spec_bad("{\"name\":\".hidden\",\"routes\":[{\"model\":\"m\"}]}", "must not start");
    spec_bad("{\"name\":\"d\"}", "at least one route");
    spec_bad("{\"name\":\"d\",\"routes\":[]}", "at least one route");
    spec_bad("{\"name\":\"d\",\"routes\":{}}", "must be an array");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}],\"color\":1}",
             "unknown key \"color\"");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\",\"wieght\":1}]}", "unknown key");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\",\"weight\":0}]}", "must not all be 0");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\",\"weight\":1000001}]}", "weight");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\",\"weight\":-1}]}", "weight");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\",\"weight\":1.5}]}", "weight");
    spec_bad(
        "{\"name\":\"d\",\"routes\":[{\"model\":\"m\"},{\"model\":\"m\",\"ref\":\"champion\"}]}",
        "appears twice");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"a@b\"}]}", "must not contain");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\",\"ref\":\"no way\"}]}", "alias");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}],\"sticky_header\":\"X User\"}",
             "sticky_header");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}],\"sticky_header\":5}",
             "sticky_header");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}],\"log_sample\":1.5}", "log_sample");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}],\"max_batch_size\":70000}",
             "max_batch_size");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}],\"max_queue_delay_us\":-5}",
             "max_queue_delay_us");
    spec_bad("{\"name\":\"d\",\"routes\":[{\"model\":\"m\"}],\"max_queue_size\":\"9\"}",
             "max_queue_size");
    {
        /* 33 routes: one too many. */
        struct gy_buf b;
        gy_buf_init(&b, 1 << 20);
        gy_buf_puts(&b, "{\"name\":\"d\",\"routes\":[");
        for (int i = 0; i < 33; i++)
            gy_buf_printf(&b, "%s{\"model\":\"m%d\"}", i ? "," : "", i);
        gy_buf_puts(&b, "]}");
        spec_bad(b.data, "at most 32");
        gy_buf_free(&b);
    }
    cr_assert_eq(gy_alloc_bytes(), before);
}

/* ------------------------------------------------------------------ persistence */

/* A spec routing to @p n routes given as "MODEL@REF=W" texts. */
static struct gy_deploy_spec *mkspec(const char *name, const char *const *routes, size_t n)
{
    struct gy_deploy_spec *s = gy_calloc(1, sizeof *s);
    s->name = gy_strdup(name);
    s->routes = gy_calloc(n, sizeof *s->routes);
    s->n_routes = n;
    for (size_t i = 0; i < n; i++)
        OK(gy_deploy_route_parse(routes[i], &s->routes[i]));
    return s;
}

DB_TEST(deploy_persistence)
{
    const char *r1[] = {"fraud@champion=90", "fraud@challenger=10"};
    const char *r2[] = {"fraud@2"};
    struct gy_deploy_spec *s = mkspec("live", r1, 2), *got = NULL;
    json_t *d = NULL, *list = NULL, *hist = NULL;
    int64_t rev = 0;

    sx_register_shift(f->db, "fraud", 0, NULL);
    sx_register_shift(f->db, "fraud", 0.5f, NULL);
    OK(gy_registry_alias_set(f->db, "fraud", "champion", 1));

    /* A route whose alias does not exist yet is refused, naming it. */
    cr_assert_eq(gy_deploy_create(f->db, s, NULL, &d), GY_NOT_FOUND);
    cr_assert(strstr(gy_error_msg(), "fraud@challenger"), "%s", gy_error_msg());
    cr_assert_null(d);
    OK(gy_registry_alias_set(f->db, "fraud", "challenger", 2));

    OK(gy_deploy_create(f->db, s, "first", &d));
    cr_assert_str_eq(jstr(d, "name"), "live");
    cr_assert_eq(jint(d, "revision"), 1);
    cr_assert_str_eq(jstr(d, "reason"), "first");
    cr_assert_eq(jint(d, "resolved.0.version"), 1);
    cr_assert_eq(jint(d, "resolved.1.version"), 2);
    cr_assert_eq(jint(d, "resolved.1.weight"), 10);
    cr_assert_eq(jint(d, "spec.routes.0.weight"), 90);
    json_decref(d);
    d = NULL;
    cr_assert_eq(gy_deploy_create(f->db, s, NULL, NULL), GY_E_EXISTS);
    cr_assert(strstr(gy_error_msg(), "already exists"), "%s", gy_error_msg());

    /* Update: a new revision. */
    gy_deploy_spec_free(s);
    s = mkspec("live", r2, 1);
    OK(gy_deploy_update(f->db, s, NULL, &d));
    cr_assert_eq(jint(d, "revision"), 2);
    cr_assert_str_eq(jstr(d, "reason"), "updated");
    cr_assert_eq(jlen(d, "resolved"), 1);
    json_decref(d);
    d = NULL;
    OK(gy_deploy_get_spec(f->db, "live", &got, &rev));
    cr_assert_eq(rev, 2);
    cr_assert_eq(got->n_routes, 1);
    cr_assert_str_eq(got->routes[0].ref, "2");
    gy_deploy_spec_free(got);

    /* Rollback to the previous revision: revision 3 with revision 1's spec. */
    OK(gy_deploy_rollback(f->db, "live", 0, NULL, &d));
    cr_assert_eq(jint(d, "revision"), 3);
    cr_assert_eq(jlen(d, "spec.routes"), 2);
    cr_assert_str_eq(jstr(d, "reason"), "rollback to revision 1");
    json_decref(d);
    d = NULL;
    /* To a given revision. */
    OK(gy_deploy_rollback(f->db, "live", 2, "back to v2", &d));
    cr_assert_eq(jint(d, "revision"), 4);
    cr_assert_eq(jlen(d, "spec.routes"), 1);
    json_decref(d);
    d = NULL;
    cr_assert_eq(gy_deploy_rollback(f->db, "live", 4, NULL, NULL), GY_E_INVALID, "current");
    cr_assert_eq(gy_deploy_rollback(f->db, "live", 9, NULL, NULL), GY_NOT_FOUND);
    cr_assert_eq(gy_deploy_rollback(f->db, "nosuch", 0, NULL, NULL), GY_NOT_FOUND);

    OK(gy_deploy_history(f->db, "live", &hist));
    cr_assert_eq(json_array_size(hist), 4);
    cr_assert_eq(jint(hist, "0.revision"), 4, "newest first");
    cr_assert_str_eq(jstr(hist, "0.reason"), "back to v2");
    cr_assert_eq(jint(hist, "3.revision"), 1);
    cr_assert_str_eq(jstr(hist, "3.spec.routes.1.ref"), "challenger");
    json_decref(hist);

    /* A second deployment; the list is ordered by name. */
    gy_deploy_spec_free(s);
    s = mkspec("a-first", r2, 1);
    OK(gy_deploy_create(f->db, s, NULL, NULL));
    OK(gy_deploy_list(f->db, &list));
    cr_assert_eq(json_array_size(list), 2);
    cr_assert_str_eq(jstr(list, "0.name"), "a-first");
    cr_assert_str_eq(jstr(list, "1.name"), "live");
    cr_assert_eq(jint(list, "1.revision"), 4);
    cr_assert_str_eq(jstr(list, "1.routes"), "fraud@2=100");
    json_decref(list);

    /* A rollback on a deployment with one revision has nothing to go back to. */
    cr_assert_eq(gy_deploy_rollback(f->db, "a-first", 0, NULL, NULL), GY_NOT_FOUND);

    /* An alias that disappears shows as unresolved, without failing get. */
    OK(gy_registry_alias_delete(f->db, "fraud", "challenger"));
    OK(gy_deploy_rollback(f->db, "live", 2, NULL, NULL));
    cr_assert_eq(gy_deploy_rollback(f->db, "live", 1, NULL, NULL), GY_NOT_FOUND,
                 "revision 1 routes to a missing alias");

    OK(gy_deploy_delete(f->db, "live"));
    cr_assert_eq(gy_deploy_get(f->db, "live", &d), GY_NOT_FOUND);
    cr_assert_eq(gy_deploy_history(f->db, "live", &hist), GY_NOT_FOUND);
    cr_assert_eq(gy_deploy_delete(f->db, "live"), GY_NOT_FOUND);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM deployment_revisions"), 1,
                 "the history went with it");
    /* The name can be used again, from revision 1. */
    gy_deploy_spec_free(s);
    s = mkspec("live", r2, 1);
    OK(gy_deploy_create(f->db, s, NULL, &d));
    cr_assert_eq(jint(d, "revision"), 1);
    json_decref(d);
    gy_deploy_spec_free(s);
}

DB_TEST(deploy_errors)
{
    const char *r[] = {"nosuch@champion"};
    const char *ok[] = {"fraud@1"};
    struct gy_deploy_spec *s = mkspec("live", r, 1);
    json_t *d = NULL;
    char big[5000];
    cr_assert_eq(gy_deploy_create(f->db, s, NULL, NULL), GY_NOT_FOUND);
    cr_assert(strstr(gy_error_msg(), "nosuch"), "%s", gy_error_msg());
    cr_assert_eq(gy_deploy_update(f->db, s, NULL, NULL), GY_NOT_FOUND);
    gy_deploy_spec_free(s);
    sx_register_shift(f->db, "fraud", 0, NULL);
    s = mkspec("live", ok, 1);
    cr_assert_eq(gy_deploy_update(f->db, s, NULL, NULL), GY_NOT_FOUND, "no such deployment");
    memset(big, 'r', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(gy_deploy_create(f->db, s, big, NULL), GY_E_INVALID);
    s->routes[0].weight = 0;
    cr_assert_eq(gy_deploy_create(f->db, s, NULL, NULL), GY_E_INVALID);
    s->routes[0].weight = 1;
    gy_free(s->name);
    s->name = gy_strdup("bad name");
    cr_assert_eq(gy_deploy_create(f->db, s, NULL, NULL), GY_E_INVALID);
    cr_assert_eq(gy_deploy_get(f->db, "bad name", &d), GY_E_INVALID);
    cr_assert_null(d);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM deployments"), 0, "nothing was stored");
    gy_deploy_spec_free(s);
}

/* ------------------------------------------------------------------ datatypes */

Test(deploy, dtypes)
{
    enum gy_dtype t;
    uint16_t h;
    struct gy_tensor x;
    const int64_t big[1] = {INT64_C(9007199254740993)};
    cr_assert_str_eq(gy_dtype_name(GY_DT_FP32), "FP32");
    cr_assert_str_eq(gy_dtype_name(GY_DT_BYTES), "BYTES");
    cr_assert_null(gy_dtype_name((enum gy_dtype)99));
    OK(gy_dtype_parse("BF16", &t));
    cr_assert_eq(t, GY_DT_BF16);
    cr_assert_eq(gy_dtype_parse("fp32", &t), GY_E_INVALID, "case-sensitive");
    cr_assert_eq(gy_dtype_size(GY_DT_FP64), 8);
    cr_assert_eq(gy_dtype_size(GY_DT_UINT16), 2);
    cr_assert_eq(gy_dtype_size(GY_DT_BOOL), 1);
    cr_assert_eq(gy_dtype_size(GY_DT_BYTES), 0);
    cr_assert_eq(gy__half_to_float(0x3c00), 1.0f);
    cr_assert_eq(gy__half_to_float(0xc000), -2.0f);
    cr_assert_eq(gy__half_to_float(0x3555), 0.333251953125f);
    cr_assert_eq(gy__half_to_float(0x0001), ldexpf(1, -24), "subnormal");
    cr_assert(isinf(gy__half_to_float(0x7c00)));
    cr_assert(isnan(gy__half_to_float(0x7e00)));
    cr_assert_eq(gy__bf16_to_float(0x3f80), 1.0f);
    cr_assert_eq(gy__bf16_to_float(0xc0a0), -5.0f);
    memset(&x, 0, sizeof x);
    x.dtype = GY_DT_INT64;
    x.data = big;
    cr_assert_eq(gy__tensor_get(&x, 0), 9007199254740992.0, "int64 widened as a C cast does");
    h = 0x3c00;
    x.dtype = GY_DT_FP16;
    x.data = &h;
    cr_assert_eq(gy__tensor_get(&x, 0), 1.0);
}
