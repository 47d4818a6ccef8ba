/* SPDX-License-Identifier: MIT */
/*
 * test_route.c - unit tests for the router of src/http: table validation (methods, pattern
 * syntax, duplicates), exact paths, "{name}" and "{*rest}" captures (decoded and raw),
 * specificity between overlapping patterns, 404 against 405 with the Allow list, HEAD served
 * by GET routes, and bad escapes in the path.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http/http_int.h"

static enum gy_status h_a(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(resp);
    GY_UNUSED(ctx);
    return GY_OK;
}

static enum gy_status h_b(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    GY_UNUSED(req);
    GY_UNUSED(resp);
    GY_UNUSED(ctx);
    return GY_E_INVALID;
}

static const struct gy_http_route routes[] = {
    {"GET", "/api/v1/health", h_a, 0, NULL, "health", 0},
    {"GET", "/api/v1/datasets", h_a, 0, "datasets:read", "list", 0},
    {"POST", "/api/v1/datasets", h_b, 0, "datasets:write", "create", 0},
    {"GET", "/api/v1/datasets/{name}", h_a, 0, "datasets:read", "show", 0},
    {"GET", "/api/v1/datasets/search", h_b, 0, NULL, "literal beats capture", 0},
    {"GET", "/api/v1/datasets/{name}/versions/{version}", h_a, 0, NULL, "version", 0},
    {"DELETE", "/api/v1/datasets/{name}", h_b, 0, NULL, "delete", 0},
    {"GET", "/v2/models/{model}/versions/{version}/infer", h_a, 0, NULL, "infer", 0},
    {"PUT", "/api/2.0/mlflow-artifacts/artifacts/{*path}", h_a, 0, NULL, "upload", 0},
    {"GET", "/api/2.0/mlflow-artifacts/artifacts/{*path}", h_b, 0, NULL, "download", 0},
    {"GET", "/", h_a, 0, NULL, "root", 0},
};

struct fixture {
    struct gy__http_router r;
    struct gy_arena *a;
    struct gy__http_match m;
};

static void setup(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->a = gy_arena_create(4096);
    cr_assert_not_null(f->a);
    cr_assert_eq(gy__http_router_add(&f->r, routes, GY_ARRAY_LEN(routes), (void *)0x1234), GY_OK,
                 "%s", gy_error_msg());
}

static void teardown(struct fixture *f)
{
    gy__http_router_free(&f->r);
    gy_arena_free(f->a);
}

static enum gy_status match(struct fixture *f, const char *method, const char *path)
{
    return gy__http_router_match(&f->r, f->a, method, path, &f->m);
}

static const char *cap(struct fixture *f, const char *name)
{
    return gy__http_kv_find(&f->m.caps, name, 0);
}

static const char *cap_raw(struct fixture *f, const char *name)
{
    return gy__http_kv_find(&f->m.caps_raw, name, 0);
}

Test(route, exact_paths_and_ctx)
{
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "GET", "/api/v1/health"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[0]);
    cr_assert_eq(f.m.rt->ctx, (void *)0x1234);
    cr_assert_eq(f.m.caps.n, 0);
    cr_assert_eq(match(&f, "GET", "/"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[10]);
    cr_assert_eq(match(&f, "POST", "/api/v1/datasets"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[2]);
    cr_assert_str_eq(f.m.rt->route->perm, "datasets:write");
    /* A trailing slash, a missing segment, double slashes and case differences do not match. */
    cr_assert_eq(match(&f, "GET", "/api/v1/health/"), GY_NOT_FOUND);
    cr_assert_eq(match(&f, "GET", "/api/v1"), GY_NOT_FOUND);
    cr_assert_eq(match(&f, "GET", "/api//v1/health"), GY_NOT_FOUND);
    cr_assert_eq(match(&f, "GET", "/API/v1/health"), GY_NOT_FOUND);
    teardown(&f);
}

Test(route, captures_are_decoded_and_raw_kept)
{
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "GET", "/v2/models/fraud%20v2/versions/3/infer"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[7]);
    cr_assert_str_eq(cap(&f, "model"), "fraud v2");
    cr_assert_str_eq(cap_raw(&f, "model"), "fraud%20v2");
    cr_assert_str_eq(cap(&f, "version"), "3");
    cr_assert_null(cap(&f, "nope"));
    /* '+' is not a space in a path, and an encoded slash stays inside its segment. */
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets/a+b%2Fc"), GY_OK);
    cr_assert_str_eq(cap(&f, "name"), "a+b/c");
    cr_assert_str_eq(cap_raw(&f, "name"), "a+b%2Fc");
    /* An empty segment does not satisfy a capture. */
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets//versions/1"), GY_NOT_FOUND);
    teardown(&f);
}

Test(route, rest_capture)
{
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "PUT", "/api/2.0/mlflow-artifacts/artifacts/1/abc/model%2Fx.bin"),
                 GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[8]);
    cr_assert_str_eq(cap(&f, "path"), "1/abc/model/x.bin");
    cr_assert_str_eq(cap_raw(&f, "path"), "1/abc/model%2Fx.bin");
    /* Encoded dots are decoded for the handler to judge; the raw form shows the trick. */
    cr_assert_eq(match(&f, "GET", "/api/2.0/mlflow-artifacts/artifacts/%2e%2e/etc"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[9]);
    cr_assert_str_eq(cap(&f, "path"), "../etc");
    cr_assert_str_eq(cap_raw(&f, "path"), "%2e%2e/etc");
    /* Empty rest after the slash matches; no slash does not. */
    cr_assert_eq(match(&f, "GET", "/api/2.0/mlflow-artifacts/artifacts/"), GY_OK);
    cr_assert_str_eq(cap(&f, "path"), "");
    cr_assert_eq(match(&f, "GET", "/api/2.0/mlflow-artifacts/artifacts"), GY_NOT_FOUND);
    teardown(&f);
}

Test(route, literal_beats_capture)
{
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets/search"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[4]);
    cr_assert_eq(f.m.caps.n, 0);
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets/searching"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[3]);
    /* Literals compare against the decoded segment. */
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets/%73earch"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[4]);
    teardown(&f);
}

Test(route, method_not_allowed_lists_allow)
{
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "PATCH", "/api/v1/datasets"), GY_DECLINED);
    cr_assert_str_eq(f.m.allow, "GET, HEAD, POST");
    cr_assert_null(f.m.rt);
    cr_assert_eq(match(&f, "POST", "/api/v1/datasets/tx"), GY_DECLINED);
    cr_assert_str_eq(f.m.allow, "GET, HEAD, DELETE");
    cr_assert_eq(match(&f, "POST", "/api/v1/health"), GY_DECLINED);
    cr_assert_str_eq(f.m.allow, "GET, HEAD");
    cr_assert_eq(match(&f, "POST", "/nothing/here"), GY_NOT_FOUND);
    /* The DELETE route is found by method even though GET is listed first. */
    cr_assert_eq(match(&f, "DELETE", "/api/v1/datasets/tx"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[6]);
    cr_assert_str_eq(f.m.allow, "");
    teardown(&f);
}

Test(route, head_uses_get_routes)
{
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "HEAD", "/api/v1/datasets/tx"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[3]);
    cr_assert_str_eq(cap(&f, "name"), "tx");
    cr_assert_eq(match(&f, "HEAD", "/api/2.0/mlflow-artifacts/artifacts/x"), GY_OK);
    cr_assert_eq(f.m.rt->route, &routes[9]);
    teardown(&f);
}

Test(route, bad_paths_are_invalid)
{
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets/%zz"), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "bad %-escape"), "%s", gy_error_msg());
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets/%4"), GY_E_INVALID);
    cr_assert_eq(match(&f, "GET", "/api/v1/datasets/a%00b"), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "NUL"), "%s", gy_error_msg());
    cr_assert_eq(match(&f, "GET", "api/v1/health"), GY_E_INVALID);
    cr_assert_eq(match(&f, "GET", "*"), GY_E_INVALID);
    teardown(&f);
}

Test(route, tables_are_validated)
{
    struct gy__http_router r = {0};
    static const struct gy_http_route bad_method[] = {{"get", "/x", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route no_slash[] = {{"GET", "x", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route rest_mid[] = {{"GET", "/a/{*r}/b", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route bad_name[] = {{"GET", "/a/{b-c}", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route empty_name[] = {{"GET", "/a/{}", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route twice[] = {{"GET", "/a/{x}/{x}", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route brace[] = {{"GET", "/a/b{x}", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route no_fn[] = {{"GET", "/a", NULL, 0, NULL, NULL, 0}};
    static const struct gy_http_route ok[] = {{"GET", "/a/{x}", h_a, 0, NULL, NULL, 0},
                                              {"POST", "/a/{x}", h_a, 0, NULL, NULL, 0}};
    static const struct gy_http_route dup[] = {{"GET", "/a/{y}", h_b, 0, NULL, NULL, 0}};

    cr_assert_eq(gy__http_router_add(&r, bad_method, 1, NULL), GY_E_INVALID);
    cr_assert_eq(gy__http_router_add(&r, no_slash, 1, NULL), GY_E_INVALID);
    cr_assert_eq(gy__http_router_add(&r, rest_mid, 1, NULL), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "last segment"), "%s", gy_error_msg());
    cr_assert_eq(gy__http_router_add(&r, bad_name, 1, NULL), GY_E_INVALID);
    cr_assert_eq(gy__http_router_add(&r, empty_name, 1, NULL), GY_E_INVALID);
    cr_assert_eq(gy__http_router_add(&r, twice, 1, NULL), GY_E_INVALID);
    cr_assert_eq(gy__http_router_add(&r, brace, 1, NULL), GY_E_INVALID);
    cr_assert_eq(gy__http_router_add(&r, no_fn, 1, NULL), GY_E_INVALID);
    cr_assert_eq(r.n, 0);
    cr_assert_eq(gy__http_router_add(&r, ok, 2, NULL), GY_OK);
    cr_assert_eq(r.n, 2);
    /* Same method and shape under another capture name is a duplicate. */
    cr_assert_eq(gy__http_router_add(&r, dup, 1, NULL), GY_E_EXISTS);
    cr_assert(strstr(gy_error_msg(), "twice"), "%s", gy_error_msg());
    gy__http_router_free(&r);
    cr_assert_eq(r.n, 0);
}

Test(route, router_frees_everything)
{
    int64_t before = gy_alloc_bytes();
    struct fixture f;
    setup(&f);
    cr_assert_eq(match(&f, "GET", "/v2/models/m/versions/1/infer"), GY_OK);
    teardown(&f);
    cr_assert_eq(gy_alloc_bytes(), before);
}
