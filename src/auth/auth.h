/* SPDX-License-Identifier: MIT */
/**
 * auth.h - who may do what, and the record of what was done: API tokens (token.c), roles and
 * permissions over resources with token scopes (role.c), and the hash-chained audit log
 * (audit.c). Encryption at rest of the object store lives in src/db (db.h).
 *
 * The HTTP layer authenticates a request with gy_auth_bearer_parse + gy_auth_verify, then
 * authorizes it with gy_auth_check(principal, route->perm, resource name); handlers and the
 * CLI record every mutating action with gy_audit_record. docs/internals/auth.md walks
 * through the hooks; docs/security.md is the operator's guide.
 *
 * Thread-safety: every function here is thread-safe given its own struct gy_db (a gy_db is
 * not thread-safe: one per thread). Principals are plain values (no pointers): copy them
 * freely, e.g. into a cache.
 */
#ifndef GY_AUTH_H
#define GY_AUTH_H

#include "base/base.h"
#include "db/db.h"

/* ------------------------------------------------------------------ roles and permissions */

/**
 * Roles, from most to least privileged. The names ("admin", "maintainer", "data-scientist",
 * "viewer", "predictor") are what tokens store and users type.
 */
enum gy_auth_role {
    GY_AUTH_ROLE_NONE = 0,
    GY_AUTH_ROLE_ADMIN = 1,          /**< everything, tokens and audit included */
    GY_AUTH_ROLE_MAINTAINER = 2,     /**< everything but tokens; reads the audit log */
    GY_AUTH_ROLE_DATA_SCIENTIST = 3, /**< reads and writes data, runs, models, pipelines */
    GY_AUTH_ROLE_VIEWER = 4,         /**< reads everything but tokens and audit */
    GY_AUTH_ROLE_PREDICTOR = 5,      /**< inference only */
};
#define GY_AUTH_ROLE_COUNT 5

/** The role's name ("data-scientist"); "none" for GY_AUTH_ROLE_NONE. Static. */
const char *gy_auth_role_name(enum gy_auth_role role);

/** Parses a role name; GY_E_INVALID naming the known roles otherwise. */
enum gy_status gy_auth_role_parse(const char *name, enum gy_auth_role *out);

/**
 * The @p i-th permission gyre knows (static), NULL past the last: "<resource>:<action>" such
 * as "models:write", in a fixed order. Resources: datasets, experiments, runs, models,
 * deployments, pipelines, tokens, audit, metrics; actions: read, write, admin (delete and
 * other destructive changes), infer. A route's perm must be one of these (gy_auth_perm_known).
 */
const char *gy_auth_perm_at(size_t i);

/** True when @p perm is one of gy_auth_perms. */
int gy_auth_perm_known(const char *perm);

/** True when @p role grants @p perm (unknown permissions are granted to nobody). */
int gy_auth_role_allows(enum gy_auth_role role, const char *perm);

/**
 * True when every permission of @p role is also granted to @p granter: a token may only be
 * created by a principal whose role covers the new token's role (no escalation).
 */
int gy_auth_role_covers(enum gy_auth_role granter, enum gy_auth_role role);

/* ------------------------------------------------------------------ principals */

#define GY_AUTH_ID_LEN 8      /**< public id: the first 8 characters after "gyre_" */
#define GY_AUTH_NAME_MAX 64   /**< bytes of a token name */
#define GY_AUTH_SCOPES_MAX 16 /**< scopes per token */
#define GY_AUTH_SCOPE_MAX 128 /**< bytes of one scope */
#define GY_AUTH_ACTOR_MAX 80  /**< bytes of an actor name ("cli:" + user, or a token name) */

/**
 * Who is acting: a verified token, or the local CLI user. A plain value (no pointers).
 * Scopes, when present, restrict the token to named resources: "models/fraud",
 * "datasets/sales-*" (a trailing '*' matches any suffix; a lone '*' after the slash matches
 * every name of that resource type and collection operations too).
 */
struct gy_auth_principal {
    int64_t token_id;                 /**< row id of the token; 0 for the local CLI user */
    char id[GY_AUTH_ID_LEN + 1];      /**< public id of the token; "" for the CLI user */
    char name[GY_AUTH_ACTOR_MAX + 1]; /**< token name, or "cli:<user>" */
    enum gy_auth_role role;
    int64_t expires_us; /**< 0: never; a cache must not outlive it */
    size_t nscopes;     /**< 0: not restricted */
    char scopes[GY_AUTH_SCOPES_MAX][GY_AUTH_SCOPE_MAX + 1];
};

/**
 * The principal of the local command line: "cli:$USER" (or "cli:uid<N>"), role admin (whoever
 * can open the data home's files already has every right to them).
 */
void gy_auth_principal_local(struct gy_auth_principal *out);

/**
 * True when @p p may use @p perm on the resource named @p resource_name (NULL for
 * operations on a collection, like listing). The role must grant @p perm; a token with
 * scopes must also hold a scope for the perm's resource type that matches the name ("*"
 * matches every name and collection operations; other patterns need a name). For the infer
 * action, scopes on models/N and deployments/N are interchangeable (the V2 path names
 * either). NULL @p p or @p perm: false.
 */
int gy_auth_allowed(const struct gy_auth_principal *p, const char *perm, const char *resource_name);

/**
 * gy_auth_allowed with a reason: GY_OK, or GY_E_PERM with text such as
 * "token 'ci' (role viewer) lacks models:write" or "token 'ci' has no scope for models/fraud".
 */
enum gy_status gy_auth_check(const struct gy_auth_principal *p, const char *perm,
                             const char *resource_name);

/** Validates a scope "<resource>/<name or pattern>"; GY_E_INVALID with the reason. */
enum gy_status gy_auth_scope_valid(const char *scope);

/* ------------------------------------------------------------------ tokens */

#define GY_AUTH_TOKEN_PREFIX "gyre_"
#define GY_AUTH_TOKEN_PREFIX_LEN 5
#define GY_AUTH_TOKEN_RANDOM_LEN 43 /**< 32 random bytes in base62 */
#define GY_AUTH_TOKEN_CHECK_LEN 6   /**< CRC32 of the random part in base62 */
#define GY_AUTH_TOKEN_LEN 54        /**< prefix + random + checksum */
#define GY_AUTH_SECRET_LEN 32       /**< the server secret that keys the token hashes */

/**
 * Checks the syntax of a token of @p len bytes: "gyre_", 43 base62 characters, and a 6-character
 * base62 CRC32 of those 43. No database access. GY_OK with the public id in @p id (may be
 * NULL); GY_E_INVALID with "malformed token: <reason>" (wrong length, bad prefix, invalid
 * character, bad checksum). Never reads past @p len; @p text need not be NUL-terminated.
 */
enum gy_status gy_auth_token_parse(const char *text, size_t len, char id[GY_AUTH_ID_LEN + 1]);

/**
 * Extracts the token from an Authorization header value: "Bearer <token>" (scheme
 * case-insensitive, one or more spaces, nothing after the token). *token points into
 * @p value (borrowed), *len its length. GY_E_INVALID with the reason otherwise (no header,
 * another scheme, empty or more than one credential). The token itself is not checked.
 */
enum gy_status gy_auth_bearer_parse(const char *value, const char **token, size_t *len);

/**
 * Loads the server secret from @p home/secret.key, creating it (32 random bytes, mode 0600,
 * written to a temporary file, fsynced and linked into place so concurrent first users agree)
 * when missing. Refuses a secret file other users can read or write, or of the wrong size.
 */
enum gy_status gy_auth_secret_load(const char *home, uint8_t secret[GY_AUTH_SECRET_LEN]);

/** What gy_auth_token_create makes. Strings are borrowed for the call. */
struct gy_auth_token_spec {
    const char *name; /**< NULL or "": "token-<public id>" */
    enum gy_auth_role role;
    const char *const *scopes; /**< nscopes scopes (validated) */
    size_t nscopes;
    int64_t expires_us;     /**< absolute time; 0: never */
    const char *created_by; /**< actor, for the record (may be NULL) */
};

/**
 * Creates a token: writes the token text (shown once, never stored) to @p token and its
 * public id to @p id. Stores the public id, name, role, scopes and the keyed BLAKE2b-256 hash
 * of the token (key: @p secret). GY_E_EXISTS when an active token has the name; GY_E_INVALID
 * for a bad name, role, scope or expiry in the past. The token is wiped from memory by the
 * caller when done (sodium_memzero).
 */
enum gy_status gy_auth_token_create(struct gy_db *db, const uint8_t secret[GY_AUTH_SECRET_LEN],
                                    const struct gy_auth_token_spec *spec,
                                    char token[GY_AUTH_TOKEN_LEN + 1], char id[GY_AUTH_ID_LEN + 1]);

/**
 * Verifies a NUL-terminated token and fills @p out with its principal. One indexed query
 * (by public id), a keyed hash and a constant-time comparison; no write. GY_E_PERM with the
 * reason as error text: "malformed token: ..." (no database access), "unknown token",
 * "token revoked", "token expired"; GY_E_DB/GY_E_BUSY when the store fails. @p out is
 * zeroed on failure. Callers may cache a principal for a few seconds (revocation then takes
 * that long) but never past out->expires_us.
 */
enum gy_status gy_auth_verify(struct gy_db *db, const uint8_t secret[GY_AUTH_SECRET_LEN],
                              const char *token, struct gy_auth_principal *out);

/**
 * Records that token @p token_id was used at @p now_us. Writes at most once a minute per
 * token (older last-used times only), so the HTTP layer may call it on every request or from
 * a background flush. GY_OK also when nothing needed writing.
 */
enum gy_status gy_auth_token_touch(struct gy_db *db, int64_t token_id, int64_t now_us);

/**
 * Revokes the token named by public id or by name (the active token of that name). Sets
 * @p info_out (may be NULL) to a new JSON object describing the token (as in the list).
 * GY_NOT_FOUND when no token matches; revoking a revoked token is GY_OK and changes nothing.
 */
enum gy_status gy_auth_token_revoke(struct gy_db *db, const char *id_or_name, json_t **info_out);

/**
 * Lists tokens, newest first, as a new JSON array of objects {id, name, role, scopes,
 * created, created_by, expires, last_used, revoked, state} (times RFC 3339 or null; state
 * "active", "expired" or "revoked"). Never includes a token or its hash. @p all: include
 * revoked and expired tokens.
 */
enum gy_status gy_auth_token_list(struct gy_db *db, int all, json_t **out);

/**
 * Parses a lifetime: "never" (0), or a positive number with a unit s, m, h, d or w ("30d",
 * "12h"), at most 10 years. *out_us gets the duration in microseconds (0 for never).
 */
enum gy_status gy_auth_duration_parse(const char *s, int64_t *out_us);

/* ------------------------------------------------------------------ audit log */

/** One audit record to append. Strings are borrowed for the call. */
struct gy_audit_entry {
    const char *actor;    /**< token name or "cli:<user>"; required */
    const char *role;     /**< the actor's role name; NULL: "" */
    const char *action;   /**< "<area>.<verb>", e.g. "deploy.update"; [a-z0-9._-], required */
    const char *resource; /**< what was acted on ("deployments/fraud"); NULL: "" */
    const char *detail;   /**< a JSON object as text; NULL: "{}" (stored canonical) */
    const char *result;   /**< "ok", "denied: <reason>" or "error: <reason>"; required */
    int64_t time_us;      /**< 0: now */
};

/**
 * Appends @p e to the audit log in its own write transaction (the store's writer lock), so
 * concurrent writers cannot fork the chain. Overlong free text (actor, resource, result) is
 * cut at a UTF-8 boundary; detail must be a JSON object (at most 64 KiB). GY_E_INVALID for a
 * bad entry; GY_E_BUSY when the store stays locked (retry).
 */
enum gy_status gy_audit_record(struct gy_db *db, const struct gy_audit_entry *e);

/**
 * As gy_audit_record, inside the caller's open write transaction (gy_db_begin), so that the
 * record commits or rolls back with the change it describes.
 */
enum gy_status gy_audit_record_tx(struct gy_db *db, const struct gy_audit_entry *e);

/**
 * Records an action of the local CLI user ("cli:<user>", role admin) on the resource named
 * by @p resource_fmt and its arguments ("deployments/%s"): result "ok" when @p rc is GY_OK,
 * else "error: <the thread's error text>". @p detail (a JSON object) may be NULL. Keeps the
 * thread's error text as it was, so the caller can still report its own failure; a failure
 * to record is logged as a warning and returned.
 */
enum gy_status gy_audit_cli(struct gy_db *db, const char *action, enum gy_status rc,
                            const char *detail, const char *resource_fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** Result of gy_audit_verify. */
struct gy_audit_verify_result {
    int64_t records;                       /**< records checked */
    int64_t head_seq;                      /**< last good sequence number (0: none) */
    char head_hash[GY_SHA256_HEX_LEN + 1]; /**< its hash ("" when none) */
    int64_t bad_seq;                       /**< first bad record (0 when intact) */
};

/**
 * Recomputes the whole chain in sequence order. GY_OK when intact; GY_E_CORRUPT with
 * res->bad_seq and a reason ("record 7: content does not match its hash (edited)", "record 5
 * is missing (deleted)", "record 9: prev_hash does not match record 8 (inserted, deleted or
 * reordered)") at the first bad record. @p anchor_seq > 0 also requires record anchor_seq to
 * exist with hash @p anchor_hash (an anchor kept elsewhere detects truncation of the tail
 * and a rewritten chain).
 */
enum gy_status gy_audit_verify(struct gy_db *db, int64_t anchor_seq, const char *anchor_hash,
                               struct gy_audit_verify_result *res);

/** Filters for gy_audit_list; NULL/0 fields do not filter. */
struct gy_audit_filter {
    const char *actor;          /**< exact */
    const char *action_prefix;  /**< "deploy." matches deploy.update, deploy.create ... */
    const char *resource;       /**< exact */
    int64_t since_us, until_us; /**< time window [since, until) */
    int64_t limit;              /**< default 100, at most 10000 */
};

/**
 * Lists matching records, newest first, as a new JSON array of {seq, time, actor, role,
 * action, resource, detail (object), result, hash}.
 */
enum gy_status gy_audit_list(struct gy_db *db, const struct gy_audit_filter *f, json_t **out);

/**
 * Parses a point in time for filters: RFC 3339 ("2025-01-31", "2025-01-31T12:00:00Z",
 * fractional seconds and +hh:mm offsets allowed), a duration ago ("2h", "7d"), or "now".
 */
enum gy_status gy_audit_time_parse(const char *s, int64_t *out_us);

#endif /* GY_AUTH_H */
