/* SPDX-License-Identifier: MIT */
/*
 * test_role.c - the permission policy (src/auth/role.c): every role against every permission
 * checked against the matrix written out below, unknown permissions denied to everyone, every
 * route of every API table declaring a known permission, escalation (role_covers), token
 * scopes (exact names, prefixes, wildcards, collection operations, the infer crossover), scope
 * validation, the reasons gy_auth_check gives, and the local CLI principal.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "http/http.h"

static const enum gy_auth_role roles[GY_AUTH_ROLE_COUNT] = {
    GY_AUTH_ROLE_ADMIN, GY_AUTH_ROLE_MAINTAINER, GY_AUTH_ROLE_DATA_SCIENTIST, GY_AUTH_ROLE_VIEWER,
    GY_AUTH_ROLE_PREDICTOR};

/*
 * The expected policy, one column per role: admin, maintainer, data-scientist, viewer,
 * predictor. 'Y' allowed, '.' denied. Written independently of src/auth/role.c on purpose.
 */
static const struct {
    const char *perm;
    const char *allow;
} matrix[] = {
    /*                       A M D V P */
    {"datasets:read", /*   */ "YYYY."},  {"datasets:write", /*  */ "YYY.."},
    {"datasets:admin", /*  */ "YY..."},  {"experiments:read", /**/ "YYYY."},
    {"experiments:write", /**/ "YYY.."}, {"experiments:admin", /**/ "YY..."},
    {"runs:read", /*       */ "YYYY."},  {"runs:write", /*      */ "YYY.."},
    {"runs:admin", /*      */ "YY..."},  {"models:read", /*     */ "YYYY."},
    {"models:write", /*    */ "YYY.."},  {"models:admin", /*    */ "YY..."},
    {"models:infer", /*    */ "YYY.Y"},  {"models:meta", /*     */ "YYYYY"},
    {"deployments:read", /**/ "YYYY."},  {"deployments:write", /**/ "YY..."},
    {"deployments:admin", /**/ "YY..."}, {"deployments:infer", /**/ "YYY.Y"},
    {"pipelines:read", /*  */ "YYYY."},  {"pipelines:write", /* */ "YYY.."},
    {"pipelines:admin", /* */ "YY..."},  {"tokens:read", /*     */ "Y...."},
    {"tokens:write", /*    */ "Y...."},  {"audit:read", /*      */ "YY..."},
    {"metrics:read", /*    */ "YYYY."},
};

static struct gy_auth_principal principal(enum gy_auth_role role, int nscopes, ...)
{
    struct gy_auth_principal p;
    va_list ap;
    memset(&p, 0, sizeof p);
    p.token_id = 7;
    snprintf(p.id, sizeof p.id, "abcdEFGH");
    snprintf(p.name, sizeof p.name, "ci");
    p.role = role;
    va_start(ap, nscopes);
    for (int i = 0; i < nscopes; i++)
        snprintf(p.scopes[i], sizeof p.scopes[i], "%s", va_arg(ap, const char *));
    va_end(ap);
    p.nscopes = (size_t)nscopes;
    return p;
}

Test(role, matrix_every_role_every_permission)
{
    size_t known = 0;
    while (gy_auth_perm_at(known))
        known++;
    cr_assert_eq(known, GY_ARRAY_LEN(matrix), "the policy has %zu permissions, the matrix %zu",
                 known, GY_ARRAY_LEN(matrix));
    for (size_t i = 0; i < known; i++) {
        int found = 0;
        for (size_t k = 0; k < GY_ARRAY_LEN(matrix); k++)
            found |= strcmp(matrix[k].perm, gy_auth_perm_at(i)) == 0;
        cr_assert(found, "permission %s is not in the expected matrix", gy_auth_perm_at(i));
    }
    for (size_t k = 0; k < GY_ARRAY_LEN(matrix); k++) {
        cr_assert(gy_auth_perm_known(matrix[k].perm), "%s unknown", matrix[k].perm);
        for (int r = 0; r < GY_AUTH_ROLE_COUNT; r++) {
            int want = matrix[k].allow[r] == 'Y';
            struct gy_auth_principal p = principal(roles[r], 0);
            cr_assert_eq(gy_auth_role_allows(roles[r], matrix[k].perm), want, "%s x %s: wanted %s",
                         gy_auth_role_name(roles[r]), matrix[k].perm, want ? "allow" : "deny");
            cr_assert_eq(gy_auth_allowed(&p, matrix[k].perm, "anything"), want, "%s x %s",
                         gy_auth_role_name(roles[r]), matrix[k].perm);
            cr_assert_eq(gy_auth_allowed(&p, matrix[k].perm, NULL), want, "%s x %s (collection)",
                         gy_auth_role_name(roles[r]), matrix[k].perm);
            cr_assert_eq(gy_auth_check(&p, matrix[k].perm, "x") == GY_OK, want);
        }
        cr_assert_not(gy_auth_role_allows(GY_AUTH_ROLE_NONE, matrix[k].perm));
        cr_assert_not(gy_auth_role_allows((enum gy_auth_role)99, matrix[k].perm));
    }
}

Test(role, unknown_permissions_are_denied_to_everyone)
{
    static const char *const bad[] = {"metrics:write", "models:delete", "models",       "",
                                      "models:read ",  "MODELS:READ",   "tokens:admin", "*",
                                      "audit:write",   "models:*"};
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++) {
        cr_assert_not(gy_auth_perm_known(bad[i]), "%s", bad[i]);
        for (int r = 0; r < GY_AUTH_ROLE_COUNT; r++) {
            struct gy_auth_principal p = principal(roles[r], 0);
            cr_assert_not(gy_auth_allowed(&p, bad[i], NULL), "%s x %s", gy_auth_role_name(roles[r]),
                          bad[i]);
            cr_assert_eq(gy_auth_check(&p, bad[i], NULL), GY_E_PERM);
            cr_assert(strstr(gy_error_msg(), "unknown permission"), "%s", gy_error_msg());
        }
    }
    cr_assert_not(gy_auth_perm_known(NULL));
    cr_assert_not(gy_auth_allowed(NULL, "models:read", NULL));
    {
        struct gy_auth_principal p = principal(GY_AUTH_ROLE_ADMIN, 0);
        cr_assert_not(gy_auth_allowed(&p, NULL, NULL));
    }
}

/* Every route in every API table names a permission the policy knows, or none (public). */
Test(role, every_route_permission_is_known)
{
    static const struct {
        const struct gy_http_route *routes;
        const size_t *n;
    } tables[] = {
        {gy_api_native_routes, &gy_api_native_routes_len},
        {gy_api_mlflow_routes, &gy_api_mlflow_routes_len},
        {gy_api_jobs_routes, &gy_api_jobs_routes_len},
        {gy_api_v2_routes, &gy_api_v2_routes_len},
        {gy_api_metrics_routes, &gy_api_metrics_routes_len},
        {gy_api_feedback_routes, &gy_api_feedback_routes_len},
        {gy_api_pipelines_routes, &gy_api_pipelines_routes_len},
        {gy_api_admin_routes, &gy_api_admin_routes_len},
    };
    size_t routes = 0, public = 0;
    for (size_t t = 0; t < GY_ARRAY_LEN(tables); t++) {
        for (size_t i = 0; i < *tables[t].n; i++) {
            const struct gy_http_route *r = &tables[t].routes[i];
            routes++;
            if (!r->perm) {
                public++;
                /* Public routes are health, readiness and version probes only. */
                cr_assert(strstr(r->pattern, "health") || strstr(r->pattern, "ready") ||
                              strcmp(r->pattern, "/v2") == 0 ||
                              strcmp(r->pattern, "/api/v1/version") == 0,
                          "%s %s has no permission", r->method, r->pattern);
                continue;
            }
            cr_assert(gy_auth_perm_known(r->perm), "%s %s needs unknown permission %s", r->method,
                      r->pattern, r->perm);
            /* Admins may use every route; a GET never needs a write permission. */
            cr_assert(gy_auth_role_allows(GY_AUTH_ROLE_ADMIN, r->perm));
            if (strcmp(r->method, "GET") == 0)
                cr_assert_null(strstr(r->perm, ":write"), "GET %s needs %s", r->pattern, r->perm);
        }
    }
    cr_assert_gt(routes, 40);
    cr_assert_lt(public, routes / 4);
}

Test(role, names_parse_and_print)
{
    enum gy_auth_role r;
    for (int i = 0; i < GY_AUTH_ROLE_COUNT; i++) {
        cr_assert_eq(gy_auth_role_parse(gy_auth_role_name(roles[i]), &r), GY_OK);
        cr_assert_eq(r, roles[i]);
    }
    cr_assert_str_eq(gy_auth_role_name(GY_AUTH_ROLE_DATA_SCIENTIST), "data-scientist");
    cr_assert_str_eq(gy_auth_role_name(GY_AUTH_ROLE_PREDICTOR), "predictor");
    cr_assert_str_eq(gy_auth_role_name((enum gy_auth_role)42), "none");
    cr_assert_eq(gy_auth_role_parse("root", &r), GY_E_INVALID);
    cr_assert_eq(r, GY_AUTH_ROLE_NONE);
    cr_assert(strstr(gy_error_msg(), "data-scientist"), "%s", gy_error_msg());
    cr_assert_eq(gy_auth_role_parse("none", &r), GY_E_INVALID);
    cr_assert_eq(gy_auth_role_parse(NULL, &r), GY_E_INVALID);
    cr_assert_eq(gy_auth_role_parse("Admin", &r), GY_E_INVALID);
}

Test(role, covers_forbids_escalation)
{
    /* Roles in order of privilege; predictor is disjoint from viewer. */
    static const char *const expect[GY_AUTH_ROLE_COUNT] = {
        /* granter admin can grant: */ "YYYYY",
        /* maintainer */ ".YYYY",
        /* data-scientist */ "..YYY",
        /* viewer */ "...Y.",
        /* predictor */ "....Y",
    };
    for (int g = 0; g < GY_AUTH_ROLE_COUNT; g++)
        for (int r = 0; r < GY_AUTH_ROLE_COUNT; r++)
            cr_assert_eq(gy_auth_role_covers(roles[g], roles[r]), expect[g][r] == 'Y',
                         "%s granting %s", gy_auth_role_name(roles[g]),
                         gy_auth_role_name(roles[r]));
    cr_assert_not(gy_auth_role_covers(GY_AUTH_ROLE_ADMIN, GY_AUTH_ROLE_NONE));
}

Test(role, scopes_restrict_to_named_resources)
{
    struct gy_auth_principal p =
        principal(GY_AUTH_ROLE_DATA_SCIENTIST, 3, "models/fraud", "datasets/sales-*", "runs/*");

    cr_assert(gy_auth_allowed(&p, "models:read", "fraud"));
    cr_assert(gy_auth_allowed(&p, "models:write", "fraud"));
    cr_assert_not(gy_auth_allowed(&p, "models:read", "fraud2"));
    cr_assert_not(gy_auth_allowed(&p, "models:read", "frau"));
    cr_assert_not(gy_auth_allowed(&p, "models:read", NULL), "listing needs models/*");
    cr_assert(gy_auth_allowed(&p, "datasets:read", "sales-2024"));
    cr_assert(gy_auth_allowed(&p, "datasets:write", "sales-"));
    cr_assert_not(gy_auth_allowed(&p, "datasets:read", "sales"));
    cr_assert_not(gy_auth_allowed(&p, "datasets:read", NULL));
    cr_assert(gy_auth_allowed(&p, "runs:read", "abc"));
    cr_assert(gy_auth_allowed(&p, "runs:read", NULL), "a wildcard covers collections");
    cr_assert_not(gy_auth_allowed(&p, "experiments:read", "x"), "no scope for experiments");
    cr_assert_not(gy_auth_allowed(&p, "metrics:read", NULL));
    /* A scope never adds what the role lacks. */
    cr_assert_not(gy_auth_allowed(&p, "models:admin", "fraud"));
    /* Scope text is matched per resource type, not as a bare prefix. */
    {
        struct gy_auth_principal q = principal(GY_AUTH_ROLE_ADMIN, 1, "model/fraud");
        cr_assert_not(gy_auth_allowed(&q, "models:read", "fraud"));
    }
}

Test(role, infer_scopes_cross_models_and_deployments)
{
    struct gy_auth_principal p = principal(GY_AUTH_ROLE_PREDICTOR, 1, "deployments/fraud");
    struct gy_auth_principal q = principal(GY_AUTH_ROLE_PREDICTOR, 1, "models/churn");
    cr_assert(gy_auth_allowed(&p, "models:infer", "fraud"), "V2 names deployments as models");
    cr_assert(gy_auth_allowed(&p, "deployments:infer", "fraud"));
    cr_assert_not(gy_auth_allowed(&p, "models:infer", "churn"));
    cr_assert(gy_auth_allowed(&q, "deployments:infer", "churn"));
    cr_assert_not(gy_auth_allowed(&q, "models:read", "churn"), "predictors only infer");
    /* The crossover is for infer only. */
    {
        struct gy_auth_principal d = principal(GY_AUTH_ROLE_ADMIN, 1, "deployments/fraud");
        cr_assert_not(gy_auth_allowed(&d, "models:read", "fraud"));
    }
}

Test(role, check_gives_reasons)
{
    struct gy_auth_principal v = principal(GY_AUTH_ROLE_VIEWER, 0);
    struct gy_auth_principal s = principal(GY_AUTH_ROLE_ADMIN, 1, "models/fraud");
    struct gy_auth_principal me;
    cr_assert_eq(gy_auth_check(&v, "models:write", "fraud"), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "token 'ci' (role viewer) lacks models:write");
    cr_assert_eq(gy_auth_check(&s, "models:read", "churn"), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "token 'ci' has no scope for models/churn");
    cr_assert_eq(gy_auth_check(&s, "models:read", NULL), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "token 'ci' has no scope for models/*");
    cr_assert_eq(gy_auth_check(NULL, "models:read", NULL), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "not authenticated");
    cr_assert_eq(gy_auth_check(&s, "models:read", "fraud"), GY_OK);
    gy_auth_principal_local(&me);
    cr_assert_eq(me.token_id, 0);
    cr_assert_eq(me.role, GY_AUTH_ROLE_ADMIN);
    cr_assert_eq(gy_auth_check(&me, "tokens:write", NULL), GY_OK);
}

Test(role, scope_validation)
{
    static const char *const good[] = {"models/fraud",  "deployments/*",  "datasets/sales-*",
                                       "runs/0123abcd", "models/a.b_c-d", "metrics/*"};
    static const char *const bad[] = {
        "models",     "models/",   "widgets/x",    "/x",       "models/a b",
        "models/a,b", "models/*x", "models/a\x01", "Models/x", ""};
    char longer[200];
    for (size_t i = 0; i < GY_ARRAY_LEN(good); i++)
        cr_assert_eq(gy_auth_scope_valid(good[i]), GY_OK, "%s: %s", good[i], gy_error_msg());
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy_auth_scope_valid(bad[i]), GY_E_INVALID, "%s", bad[i]);
    cr_assert_eq(gy_auth_scope_valid(NULL), GY_E_INVALID);
    memset(longer, 'a', sizeof longer);
    memcpy(longer, "models/", 7);
    longer[sizeof longer - 1] = '\0';
    cr_assert_eq(gy_auth_scope_valid(longer), GY_E_INVALID);
}

Test(role, local_principal_names_the_user)
{
    struct gy_auth_principal me;
    setenv("USER", "alice", 1);
    gy_auth_principal_local(&me);
    cr_assert_str_eq(me.name, "cli:alice");
    setenv("USER", "bob; rm -rf /", 1);
    gy_auth_principal_local(&me);
    cr_assert_eq(strncmp(me.name, "cli:uid", 7), 0, "%s", me.name);
    unsetenv("USER");
    gy_auth_principal_local(&me);
    cr_assert_eq(strncmp(me.name, "cli:uid", 7), 0, "%s", me.name);
}
