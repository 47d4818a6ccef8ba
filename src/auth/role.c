/* SPDX-License-Identifier: MIT */
/*
 * role.c - roles, permissions and scopes: the one table that says which role grants which
 * "<resource>:<action>" permission, the check a request goes through before its handler
 * (role, then the token's scopes), and the local CLI principal. The table is the whole
 * policy; docs/security.md prints it and tests/unit/auth/test_role.c checks every cell.
 */
#include "auth/auth.h"

#include <string.h>
#include <unistd.h>

#define R_ADMIN (1u << GY_AUTH_ROLE_ADMIN)
#define R_MAINT (1u << GY_AUTH_ROLE_MAINTAINER)
#define R_DS (1u << GY_AUTH_ROLE_DATA_SCIENTIST)
#define R_VIEW (1u << GY_AUTH_ROLE_VIEWER)
#define R_PRED (1u << GY_AUTH_ROLE_PREDICTOR)

/*
 * The policy. Actions: read (see), write (create and change), admin (delete and other
 * destructive or privileged changes), infer (predictions). Tokens and the audit log belong
 * to admins (maintainers may read the log); metrics are for every human role.
 */
static const struct {
    const char *perm;
    unsigned roles;
} policy[] = {
    {"datasets:read", R_ADMIN | R_MAINT | R_DS | R_VIEW},
    {"datasets:write", R_ADMIN | R_MAINT | R_DS},
    {"datasets:admin", R_ADMIN | R_MAINT},
    {"experiments:read", R_ADMIN | R_MAINT | R_DS | R_VIEW},
    {"experiments:write", R_ADMIN | R_MAINT | R_DS},
    {"experiments:admin", R_ADMIN | R_MAINT},
    {"runs:read", R_ADMIN | R_MAINT | R_DS | R_VIEW},
    {"runs:write", R_ADMIN | R_MAINT | R_DS},
    {"runs:admin", R_ADMIN | R_MAINT},
    {"models:read", R_ADMIN | R_MAINT | R_DS | R_VIEW},
    {"models:write", R_ADMIN | R_MAINT | R_DS},
    {"models:admin", R_ADMIN | R_MAINT},
    {"models:infer", R_ADMIN | R_MAINT | R_DS | R_PRED},
    /* V2 model metadata: what a client reads to build its requests, so inference too. */
    {"models:meta", R_ADMIN | R_MAINT | R_DS | R_VIEW | R_PRED},
    {"deployments:read", R_ADMIN | R_MAINT | R_DS | R_VIEW},
    {"deployments:write", R_ADMIN | R_MAINT},
    {"deployments:admin", R_ADMIN | R_MAINT},
    {"deployments:infer", R_ADMIN | R_MAINT | R_DS | R_PRED},
    {"pipelines:read", R_ADMIN | R_MAINT | R_DS | R_VIEW},
    {"pipelines:write", R_ADMIN | R_MAINT | R_DS},
    {"pipelines:admin", R_ADMIN | R_MAINT},
    {"tokens:read", R_ADMIN},
    {"tokens:write", R_ADMIN},
    {"audit:read", R_ADMIN | R_MAINT},
    {"metrics:read", R_ADMIN | R_MAINT | R_DS | R_VIEW},
};

/* Resource types a scope may name. */
static const char *const resources[] = {
    "datasets",  "experiments", "runs",  "models",  "deployments",
    "pipelines", "tokens",      "audit", "metrics",
};

static const char *const role_names[] = {
    [GY_AUTH_ROLE_NONE] = "none",
    [GY_AUTH_ROLE_ADMIN] = "admin",
    [GY_AUTH_ROLE_MAINTAINER] = "maintainer",
    [GY_AUTH_ROLE_DATA_SCIENTIST] = "data-scientist",
    [GY_AUTH_ROLE_VIEWER] = "viewer",
    [GY_AUTH_ROLE_PREDICTOR] = "predictor",
};

const char *gy_auth_role_name(enum gy_auth_role role)
{
    if ((unsigned)role >= GY_ARRAY_LEN(role_names))
        return "none";
    return role_names[role];
}

enum gy_status gy_auth_role_parse(const char *name, enum gy_auth_role *out)
{
    *out = GY_AUTH_ROLE_NONE;
    for (int r = 1; r <= GY_AUTH_ROLE_COUNT; r++) {
        if (name && strcmp(name, role_names[r]) == 0) {
            *out = (enum gy_auth_role)r;
            return GY_OK;
        }
    }
    return gy_error_set(GY_E_INVALID,
                        "unknown role \"%.64s\" (roles: admin, maintainer, data-scientist, "
                        "viewer, predictor)",
                        name ? name : "");
}

/* The policy row of @p perm, or -1. */
static int policy_index(const char *perm)
{
    if (!perm)
        return -1;
    for (size_t i = 0; i < GY_ARRAY_LEN(policy); i++)
        if (strcmp(policy[i].perm, perm) == 0)
            return (int)i;
    return -1;
}

const char *gy_auth_perm_at(size_t i)
{
    return i < GY_ARRAY_LEN(policy) ? policy[i].perm : NULL;
}

int gy_auth_perm_known(const char *perm)
{
    return policy_index(perm) >= 0;
}

int gy_auth_role_allows(enum gy_auth_role role, const char *perm)
{
    int i = policy_index(perm);
    if (i < 0 || role <= GY_AUTH_ROLE_NONE || role > GY_AUTH_ROLE_COUNT)
        return 0;
    return (policy[i].roles & (1u << role)) != 0;
}

int gy_auth_role_covers(enum gy_auth_role granter, enum gy_auth_role role)
{
    if (role <= GY_AUTH_ROLE_NONE || role > GY_AUTH_ROLE_COUNT)
        return 0;
    for (size_t i = 0; i < GY_ARRAY_LEN(policy); i++)
        if ((policy[i].roles & (1u << role)) && !(policy[i].roles & (1u << granter)))
            return 0;
    return 1;
}

void gy_auth_principal_local(struct gy_auth_principal *out)
{
    const char *user = getenv("USER");
    int ok = user && *user;
    memset(out, 0, sizeof *out);
    /* Only a plain user name; anything odd is replaced by the uid. */
    for (const char *p = user; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '.' || *p == '_' || *p == '-';
    if (ok && strlen(user) <= GY_AUTH_ACTOR_MAX - 4)
        snprintf(out->name, sizeof out->name, "cli:%s", user);
    else
        snprintf(out->name, sizeof out->name, "cli:uid%ld", (long)getuid());
    out->role = GY_AUTH_ROLE_ADMIN;
}

/* Does scope pattern @p pat (the part after "<type>/") match @p name? */
static int pattern_match(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (strcmp(pat, "*") == 0)
        return 1;
    if (!name)
        return 0;
    if (n > 0 && pat[n - 1] == '*')
        return strncmp(pat, name, n - 1) == 0;
    return strcmp(pat, name) == 0;
}

/* True when scope @p scope covers resource type @p type (of @p tlen bytes) and @p name. */
static int scope_match(const char *scope, const char *type, size_t tlen, const char *name)
{
    return strncmp(scope, type, tlen) == 0 && scope[tlen] == '/' &&
           pattern_match(scope + tlen + 1, name);
}

static int scopes_allow(const struct gy_auth_principal *p, const char *perm, const char *name)
{
    const char *colon = strchr(perm, ':');
    size_t tlen = (size_t)(colon - perm);
    int infer = strcmp(colon + 1, "infer") == 0;
    for (size_t i = 0; i < p->nscopes && i < GY_AUTH_SCOPES_MAX; i++) {
        const char *s = p->scopes[i];
        if (scope_match(s, perm, tlen, name))
            return 1;
        /* Inference: models/N and deployments/N both name what the V2 path calls a model. */
        if (infer && (scope_match(s, "models", 6, name) || scope_match(s, "deployments", 11, name)))
            return 1;
    }
    return 0;
}

int gy_auth_allowed(const struct gy_auth_principal *p, const char *perm, const char *resource_name)
{
    if (!p || !perm || !gy_auth_role_allows(p->role, perm))
        return 0;
    return p->nscopes == 0 || scopes_allow(p, perm, resource_name);
}

enum gy_status gy_auth_check(const struct gy_auth_principal *p, const char *perm,
                             const char *resource_name)
{
    if (!p)
        return gy_error_set(GY_E_PERM, "not authenticated");
    if (!gy_auth_perm_known(perm))
        return gy_error_set(GY_E_PERM, "unknown permission \"%.64s\"", perm ? perm : "");
    if (!gy_auth_role_allows(p->role, perm))
        return gy_error_set(GY_E_PERM, "%s '%s' (role %s) lacks %s", p->token_id ? "token" : "user",
                            p->name, gy_auth_role_name(p->role), perm);
    if (p->nscopes && !scopes_allow(p, perm, resource_name)) {
        const char *colon = strchr(perm, ':');
        return gy_error_set(GY_E_PERM, "token '%s' has no scope for %.*s/%.128s", p->name,
                            (int)(colon - perm), perm, resource_name ? resource_name : "*");
    }
    return GY_OK;
}

enum gy_status gy_auth_scope_valid(const char *scope)
{
    const char *slash = scope ? strchr(scope, '/') : NULL;
    size_t n = scope ? strlen(scope) : 0;
    int known = 0;
    if (!slash)
        return gy_error_set(GY_E_INVALID,
                            "scope \"%.128s\": expected <resource>/<name>, e.g. models/fraud or "
                            "deployments/*",
                            scope ? scope : "");
    if (n > GY_AUTH_SCOPE_MAX)
        return gy_error_set(GY_E_INVALID, "scope \"%.32s...\" is longer than %d bytes", scope,
                            GY_AUTH_SCOPE_MAX);
    for (size_t i = 0; i < GY_ARRAY_LEN(resources); i++)
        known |= strlen(resources[i]) == (size_t)(slash - scope) &&
                 strncmp(resources[i], scope, (size_t)(slash - scope)) == 0;
    if (!known)
        return gy_error_set(GY_E_INVALID,
                            "scope \"%s\": unknown resource \"%.*s\" (datasets, experiments, "
                            "runs, models, deployments, pipelines, tokens, audit, metrics)",
                            scope, (int)(slash - scope), scope);
    if (slash[1] == '\0')
        return gy_error_set(GY_E_INVALID, "scope \"%s\": no name after '/' (use * for all)", scope);
    for (const char *p = slash + 1; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f || c == ',' || (c == '*' && p[1] != '\0'))
            return gy_error_set(GY_E_INVALID,
                                "scope \"%s\": character %zu is not allowed (no spaces, control "
                                "characters or commas; '*' only at the end)",
                                scope, (size_t)(p - scope) + 1);
    }
    return GY_OK;
}
