/* SPDX-License-Identifier: MIT */
/*
 * admin.c - tokens and the audit log over HTTP, for operators who manage a server remotely
 * (the same operations as `gyre token` and `gyre audit`; docs/security.md).
 *
 *   GET    /api/v1/tokens[?all=true]        list (never a token or its hash)       tokens:read
 *   POST   /api/v1/tokens                   create; the token is in this answer only tokens:write
 *   DELETE /api/v1/tokens/{name}            revoke by public id or name            tokens:write
 *   GET    /api/v1/audit?actor=&action=&resource=&since=&until=&limit=            audit:read
 *   GET    /api/v1/audit/verify             recompute the hash chain               audit:read
 *
 * The routes' permissions make them admin-only (tokens) and admin or maintainer (audit).
 * Creating and revoking are mutating requests, so the server's audit hook records who did it.
 */
#include "api/api.h"
#include "auth/auth.h"

#include <sodium.h>
#include <string.h>

#define DEFAULT_EXPIRES "90d"

static enum gy_status h_tokens(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    const char *all = gy_http_req_query(req, "all");
    struct gy_db *db;
    json_t *a = NULL;
    enum gy_status rc;
    if (all && strcmp(all, "true") != 0 && strcmp(all, "false") != 0 && strcmp(all, "1") != 0 &&
        strcmp(all, "0") != 0)
        return gy_error_set(GY_E_INVALID, "all must be true or false, not \"%s\"", all);
    if ((rc = gy_api_db(ctx, &db)) ||
        (rc = gy_auth_token_list(db, all && (all[0] == 't' || all[0] == '1'), &a)))
        return rc;
    return gy_http_resp_json(resp, 200, json_pack("{s:o}", "tokens", a));
}

static enum gy_status h_token_create(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_api *api = ctx;
    json_t *body = NULL, *sc, *v;
    const char *scopes[GY_AUTH_SCOPES_MAX], *role, *expires, *key;
    struct gy_auth_token_spec spec = {0};
    uint8_t secret[GY_AUTH_SECRET_LEN];
    char token[GY_AUTH_TOKEN_LEN + 1], id[GY_AUTH_ID_LEN + 1];
    struct gy_db *db;
    int64_t ttl = 0;
    size_t i, n = 0;
    enum gy_status rc;
    if ((rc = gy_http_req_json(req, &body)))
        return rc;
    if (!json_is_object(body)) {
        rc = gy_error_set(GY_E_INVALID, "the request body must be a JSON object");
        goto out;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "role") && strcmp(key, "name") && strcmp(key, "scopes") &&
            strcmp(key, "expires")) {
            rc = gy_error_set(GY_E_INVALID,
                              "unknown field \"%.64s\" (known: role, name, scopes, expires)", key);
            goto out;
        }
    }
    role = gy_json_str(body, "role", NULL);
    if (!role) {
        rc = gy_error_set(GY_E_INVALID, "\"role\" (a string) is required");
        goto out;
    }
    if ((rc = gy_auth_role_parse(role, &spec.role)))
        goto out;
    v = json_object_get(body, "name");
    if (v && !json_is_string(v)) {
        rc = gy_error_set(GY_E_INVALID, "\"name\" must be a string");
        goto out;
    }
    spec.name = v ? json_string_value(v) : NULL;
    sc = json_object_get(body, "scopes");
    if (sc && !json_is_array(sc)) {
        rc = gy_error_set(GY_E_INVALID, "\"scopes\" must be an array of strings");
        goto out;
    }
    json_array_foreach(sc, i, v)
    {
        if (!json_is_string(v)) {
            rc = gy_error_set(GY_E_INVALID, "scopes[%zu] must be a string", i);
            goto out;
        }
        if (n == GY_AUTH_SCOPES_MAX) {
            rc = gy_error_set(GY_E_TOO_LARGE, "at most %d scopes per token", GY_AUTH_SCOPES_MAX);
            goto out;
        }
        if ((rc = gy_auth_scope_valid(json_string_value(v))))
            goto out;
        scopes[n++] = json_string_value(v);
    }
    spec.scopes = scopes;
    spec.nscopes = n;
    v = json_object_get(body, "expires");
    if (v && !json_is_string(v)) {
        rc =
            gy_error_set(GY_E_INVALID, "\"expires\" must be a string such as \"30d\" or \"never\"");
        goto out;
    }
    expires = v ? json_string_value(v) : DEFAULT_EXPIRES;
    if ((rc = gy_auth_duration_parse(expires, &ttl)))
        goto out;
    spec.expires_us = ttl ? gy_time_wall_us() + ttl : 0;
    spec.created_by = "api";
    if ((rc = gy_api_db(api, &db)) || (rc = gy_auth_secret_load(gy_api_home(api), secret)))
        goto out;
    rc = gy_auth_token_create(db, secret, &spec, token, id);
    sodium_memzero(secret, sizeof secret);
    if (rc == GY_OK) {
        gy_http_resp_header(resp, "Cache-Control", "no-store");
        rc = gy_http_resp_json(
            resp, 201,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", token, "id", id, "role",
                      gy_auth_role_name(spec.role), "expires", expires, "note",
                      "the token is shown only in this answer: keep it in a secret store"));
        sodium_memzero(token, sizeof token);
    }
out:
    return rc;
}

static enum gy_status h_token_revoke(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_db *db;
    json_t *info = NULL;
    enum gy_status rc;
    if ((rc = gy_api_db(ctx, &db)) ||
        (rc = gy_auth_token_revoke(db, gy_http_req_capture(req, "name"), &info)))
        return rc;
    return gy_http_resp_json(resp, 200, info);
}

static enum gy_status h_audit(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_audit_filter f = {0};
    const char *since = gy_http_req_query(req, "since"), *until = gy_http_req_query(req, "until");
    const char *limit = gy_http_req_query(req, "limit");
    struct gy_db *db;
    json_t *a = NULL;
    enum gy_status rc;
    f.actor = gy_http_req_query(req, "actor");
    f.action_prefix = gy_http_req_query(req, "action");
    f.resource = gy_http_req_query(req, "resource");
    if (since && (rc = gy_audit_time_parse(since, &f.since_us)))
        return gy_error_set(rc, "since: %s", gy_error_msg());
    if (until && (rc = gy_audit_time_parse(until, &f.until_us)))
        return gy_error_set(rc, "until: %s", gy_error_msg());
    if (limit && (gy_parse_int64(limit, &f.limit) || f.limit < 1 || f.limit > 10000))
        return gy_error_set(GY_E_INVALID, "limit must be 1 to 10000, not \"%s\"", limit);
    if ((rc = gy_api_db(ctx, &db)) || (rc = gy_audit_list(db, &f, &a)))
        return rc;
    return gy_http_resp_json(resp, 200, json_pack("{s:o}", "records", a));
}

static enum gy_status h_audit_verify(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    struct gy_audit_verify_result r;
    struct gy_db *db;
    enum gy_status rc;
    (void)req;
    memset(&r, 0, sizeof r);
    if ((rc = gy_api_db(ctx, &db)))
        return rc;
    rc = gy_audit_verify(db, 0, NULL, &r);
    if (rc != GY_OK && rc != GY_E_CORRUPT)
        return rc;
    return gy_http_resp_json(resp, 200,
                             json_pack("{s:b, s:I, s:I, s:s, s:o, s:o}", "intact", rc == GY_OK,
                                       "records", (json_int_t)r.records, "head_seq",
                                       (json_int_t)r.head_seq, "head_hash", r.head_hash, "bad_seq",
                                       r.bad_seq ? json_integer(r.bad_seq) : json_null(), "reason",
                                       rc == GY_OK ? json_null() : json_string(gy_error_msg())));
}

const struct gy_http_route gy_api_admin_routes[] = {
    {"GET", "/api/v1/tokens", h_tokens, GY_HTTP_ROUTE_NO_BODY, "tokens:read",
     "List API tokens (never a token or its hash)", 0},
    {"POST", "/api/v1/tokens", h_token_create, 0, "tokens:write",
     "Create an API token; the token is in this answer only", 0},
    {"DELETE", "/api/v1/tokens/{name}", h_token_revoke, GY_HTTP_ROUTE_NO_BODY, "tokens:write",
     "Revoke a token by public id or name", 0},
    {"GET", "/api/v1/audit", h_audit, GY_HTTP_ROUTE_NO_BODY, "audit:read",
     "The audit log, filtered by actor, action prefix, resource and time", 0},
    {"GET", "/api/v1/audit/verify", h_audit_verify, GY_HTTP_ROUTE_NO_BODY, "audit:read",
     "Recompute the audit log's hash chain", 0},
};
const size_t gy_api_admin_routes_len = GY_ARRAY_LEN(gy_api_admin_routes);
