/* SPDX-License-Identifier: MIT */
/*
 * token.c - API tokens. A token is "gyre_" + 43 base62 characters (32 random bytes) + a
 * 6-character base62 CRC32 of those 43 characters, 54 characters in all, following GitHub's
 * 2021 design: the prefix lets secret scanners find leaked tokens and the checksum rejects
 * typos and random strings before any database access. The first 8 characters after the
 * prefix are the token's public id, the indexed lookup key. The token itself is never stored:
 * the table keeps a BLAKE2b-256 hash keyed with the server secret ($GYRE_HOME/secret.key), so
 * a copy of the database alone verifies nothing. Verification is one indexed query plus a
 * constant-time comparison (sodium_memcmp).
 */
#include "auth/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Longest lifetime a token may be given: ten years. */
#define DURATION_MAX_US ((int64_t)3650 * 86400 * 1000000)
/* last_used is written at most this often per token. */
#define TOUCH_INTERVAL_US ((int64_t)60 * 1000000)

#define SECRET_FILE "secret.key"

static int is_b62(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32). */
static uint32_t crc32_ieee(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= s[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

/* Writes @p v as exactly 6 base62 digits, most significant first (62^6 > 2^32). */
static void checksum_b62(uint32_t v, char out[GY_AUTH_TOKEN_CHECK_LEN])
{
    for (int i = GY_AUTH_TOKEN_CHECK_LEN - 1; i >= 0; i--) {
        out[i] = b62[v % 62];
        v /= 62;
    }
}

/* Writes 32 bytes (a big-endian number) as exactly 43 base62 digits (62^43 > 2^256). */
static void random_b62(const uint8_t in[32], char out[GY_AUTH_TOKEN_RANDOM_LEN])
{
    uint8_t n[32];
    memcpy(n, in, sizeof n);
    for (int d = GY_AUTH_TOKEN_RANDOM_LEN - 1; d >= 0; d--) {
        unsigned rem = 0;
        for (size_t i = 0; i < sizeof n; i++) {
            unsigned cur = rem * 256 + n[i];
            n[i] = (uint8_t)(cur / 62);
            rem = cur % 62;
        }
        out[d] = b62[rem];
    }
    sodium_memzero(n, sizeof n);
}

enum gy_status gy_auth_token_parse(const char *text, size_t len, char id[GY_AUTH_ID_LEN + 1])
{
    const char *rnd = text + GY_AUTH_TOKEN_PREFIX_LEN;
    char want[GY_AUTH_TOKEN_CHECK_LEN];
    if (id)
        id[0] = '\0';
    if (!text || len < GY_AUTH_TOKEN_PREFIX_LEN ||
        memcmp(text, GY_AUTH_TOKEN_PREFIX, GY_AUTH_TOKEN_PREFIX_LEN) != 0)
        return gy_error_set(GY_E_INVALID, "malformed token: expected the prefix \"gyre_\"");
    if (len != GY_AUTH_TOKEN_LEN)
        return gy_error_set(GY_E_INVALID, "malformed token: %zu characters where %d are expected",
                            len, GY_AUTH_TOKEN_LEN);
    for (size_t i = GY_AUTH_TOKEN_PREFIX_LEN; i < len; i++)
        if (!is_b62((unsigned char)text[i]))
            return gy_error_set(GY_E_INVALID,
                                "malformed token: character %zu is not a letter or digit", i + 1);
    checksum_b62(crc32_ieee(rnd, GY_AUTH_TOKEN_RANDOM_LEN), want);
    if (memcmp(want, rnd + GY_AUTH_TOKEN_RANDOM_LEN, GY_AUTH_TOKEN_CHECK_LEN) != 0)
        return gy_error_set(GY_E_INVALID, "malformed token: bad checksum");
    if (id) {
        memcpy(id, rnd, GY_AUTH_ID_LEN);
        id[GY_AUTH_ID_LEN] = '\0';
    }
    return GY_OK;
}

enum gy_status gy_auth_bearer_parse(const char *value, const char **token, size_t *len)
{
    const char *p = value, *t;
    *token = NULL;
    *len = 0;
    if (!value || !*value)
        return gy_error_set(GY_E_INVALID, "no credentials: send \"Authorization: Bearer <token>\"");
    if (strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return gy_error_set(GY_E_INVALID,
                            "unsupported authorization scheme: send \"Authorization: Bearer "
                            "<token>\"");
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    t = p;
    while (*p && *p != ' ' && *p != '\t' && *p != ',')
        p++;
    if (p == t)
        return gy_error_set(GY_E_INVALID, "empty bearer token");
    *len = (size_t)(p - t);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) {
        *len = 0;
        return gy_error_set(GY_E_INVALID, "unexpected text after the bearer token");
    }
    *token = t;
    return GY_OK;
}

/* ------------------------------------------------------------------ server secret */

/* Reads a secret file open on @p fd, checking its mode and size. */
static enum gy_status secret_read(int fd, const char *path, uint8_t secret[GY_AUTH_SECRET_LEN])
{
    struct stat st;
    size_t got = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return gy_error_set(GY_E_INVALID, "server secret %s is not a regular file", path);
    if (st.st_mode & 0006)
        return gy_error_set(GY_E_PERM,
                            "server secret %s is accessible to other users (mode %04o); refusing "
                            "to use it: run chmod 600 %s",
                            path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_size != GY_AUTH_SECRET_LEN)
        return gy_error_set(GY_E_CORRUPT, "server secret %s has %lld bytes where %d are expected",
                            path, (long long)st.st_size, GY_AUTH_SECRET_LEN);
    while (got < GY_AUTH_SECRET_LEN) {
        ssize_t r = read(fd, secret + got, GY_AUTH_SECRET_LEN - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return gy_error_set(GY_E_IO, "reading server secret %s: %s", path,
                                r < 0 ? strerror(errno) : "short file");
        got += (size_t)r;
    }
    return GY_OK;
}

/* Creates @p path with fresh random bytes unless it exists; a concurrent creator may win. */
static enum gy_status secret_create(const char *home, const char *path)
{
    uint8_t fresh[GY_AUTH_SECRET_LEN];
    char tmp[4096];
    enum gy_status rc = GY_OK;
    int fd;

    if (gy_snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lld", path, (long)getpid(),
                    (long long)gy_time_mono_ns()))
        return gy_error_set(GY_E_TOO_LARGE, "path too long: %s", path);
    randombytes_buf(fresh, sizeof fresh);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sodium_memzero(fresh, sizeof fresh);
        return gy_error_set(GY_E_IO, "creating server secret %s: %s", tmp, strerror(errno));
    }
    rc = gy_fd_write_all(fd, fresh, sizeof fresh);
    sodium_memzero(fresh, sizeof fresh);
    if (rc == GY_OK && fsync(fd) != 0)
        rc = gy_error_set(GY_E_IO, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == GY_OK)
        rc = gy_error_set(GY_E_IO, "close %s: %s", tmp, strerror(errno));
    /* link() fails with EEXIST when another process created it first: theirs is used. */
    if (rc == GY_OK && link(tmp, path) != 0 && errno != EEXIST)
        rc = gy_error_set(GY_E_IO, "creating server secret %s: %s", path, strerror(errno));
    unlink(tmp);
    if (rc == GY_OK)
        rc = gy_fsync_dir(home);
    return rc;
}

enum gy_status gy_auth_secret_load(const char *home, uint8_t secret[GY_AUTH_SECRET_LEN])
{
    char path[4096];
    enum gy_status rc;
    int fd;

    if (sodium_init() < 0)
        return gy_error_set(GY_E_INTERNAL, "libsodium could not be initialized");
    if (!home || gy_snprintf(path, sizeof path, "%s/%s", home, SECRET_FILE))
        return gy_error_set(GY_E_INVALID, "no data home for the server secret");
    for (int attempt = 0; attempt < 2; attempt++) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            rc = secret_read(fd, path, secret);
            close(fd);
            if (rc)
                sodium_memzero(secret, GY_AUTH_SECRET_LEN);
            return rc;
        }
        if (errno != ENOENT)
            return gy_error_set(errno == EACCES ? GY_E_PERM : GY_E_IO, "server secret %s: %s", path,
                                strerror(errno));
        if ((rc = gy_mkdir_p(home)) || (rc = secret_create(home, path)))
            return rc;
    }
    return gy_error_set(GY_E_IO, "server secret %s vanished while being created", path);
}

/* ------------------------------------------------------------------ store */

/* The keyed hash of a token, as 64 hex digits. */
static void token_hash(const uint8_t secret[GY_AUTH_SECRET_LEN], const char *token, size_t len,
                       uint8_t out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)token, len, secret, GY_AUTH_SECRET_LEN);
}

static enum gy_status name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > GY_AUTH_NAME_MAX)
        return gy_error_set(GY_E_INVALID, "token name must have 1 to %d characters",
                            GY_AUTH_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!is_b62((unsigned char)c) && c != '.' && c != '_' && c != '-')
            return gy_error_set(GY_E_INVALID,
                                "token name \"%s\": character %zu is not a letter, digit, '.', "
                                "'_' or '-'",
                                name, i + 1);
    }
    if (strncmp(name, "cli:", 4) == 0)
        return gy_error_set(GY_E_INVALID, "token name must not start with \"cli:\"");
    return GY_OK;
}

static enum gy_status name_taken(struct gy_db *db, const char *name, int *taken)
{
    struct gy_db_param p = GY_DB_P_TEXT(name);
    int64_t n = 0;
    enum gy_status rc = gy_db_query_int(
        db, "SELECT COUNT(*) FROM auth_tokens WHERE name = $1 AND revoked_us IS NULL", &p, 1, &n);
    *taken = n > 0;
    return rc;
}

enum gy_status gy_auth_token_create(struct gy_db *db, const uint8_t secret[GY_AUTH_SECRET_LEN],
                                    const struct gy_auth_token_spec *spec,
                                    char token[GY_AUTH_TOKEN_LEN + 1], char id[GY_AUTH_ID_LEN + 1])
{
    uint8_t rnd[32], hash[32];
    char hash_hex[65], name[GY_AUTH_NAME_MAX + 1];
    struct gy_db_param p[8];
    struct gy_buf scopes;
    json_t *arr = NULL;
    enum gy_status rc = GY_OK;
    int taken = 0;

    token[0] = '\0';
    id[0] = '\0';
    gy_buf_init(&scopes, 8192);
    if (sodium_init() < 0)
        return gy_error_set(GY_E_INTERNAL, "libsodium could not be initialized");
    if (spec->role <= GY_AUTH_ROLE_NONE || spec->role > GY_AUTH_ROLE_COUNT)
        return gy_error_set(GY_E_INVALID, "a token needs a role");
    if (spec->name && *spec->name && (rc = name_valid(spec->name)))
        return rc;
    if (spec->nscopes > GY_AUTH_SCOPES_MAX)
        return gy_error_set(GY_E_INVALID, "at most %d scopes per token", GY_AUTH_SCOPES_MAX);
    if (spec->expires_us < 0 || (spec->expires_us && spec->expires_us <= gy_time_wall_us()))
        return gy_error_set(GY_E_INVALID, "the expiry time is in the past");
    arr = json_array();
    if (!arr)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < spec->nscopes; i++) {
        if ((rc = gy_auth_scope_valid(spec->scopes[i])))
            goto out;
        if (json_array_append_new(arr, json_string(spec->scopes[i]))) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if ((rc = gy_json_dump(arr, &scopes)))
        goto out;
    if (spec->name && *spec->name) {
        if ((rc = name_taken(db, spec->name, &taken)))
            goto out;
        if (taken) {
            rc = gy_error_set(GY_E_EXISTS,
                              "a token named \"%s\" already exists (revoke it or pick another "
                              "name)",
                              spec->name);
            goto out;
        }
    }
    /* A public id collision (47 bits) is retried with fresh randomness. */
    for (int attempt = 0; attempt < 4; attempt++) {
        randombytes_buf(rnd, sizeof rnd);
        memcpy(token, GY_AUTH_TOKEN_PREFIX, GY_AUTH_TOKEN_PREFIX_LEN);
        random_b62(rnd, token + GY_AUTH_TOKEN_PREFIX_LEN);
        checksum_b62(crc32_ieee(token + GY_AUTH_TOKEN_PREFIX_LEN, GY_AUTH_TOKEN_RANDOM_LEN),
                     token + GY_AUTH_TOKEN_PREFIX_LEN + GY_AUTH_TOKEN_RANDOM_LEN);
        token[GY_AUTH_TOKEN_LEN] = '\0';
        memcpy(id, token + GY_AUTH_TOKEN_PREFIX_LEN, GY_AUTH_ID_LEN);
        id[GY_AUTH_ID_LEN] = '\0';
        token_hash(secret, token, GY_AUTH_TOKEN_LEN, hash);
        gy_hex_encode(hash, sizeof hash, hash_hex);
        if (spec->name && *spec->name)
            snprintf(name, sizeof name, "%s", spec->name);
        else
            snprintf(name, sizeof name, "token-%s", id);
        p[0] = GY_DB_P_TEXT(id);
        p[1] = GY_DB_P_TEXT(name);
        p[2] = GY_DB_P_TEXT(gy_auth_role_name(spec->role));
        p[3] = GY_DB_P_TEXT(scopes.data);
        p[4] = GY_DB_P_TEXT(hash_hex);
        p[5] = GY_DB_P_INT(gy_time_wall_us());
        p[6] = GY_DB_P_TEXT(spec->created_by);
        p[7] = spec->expires_us ? GY_DB_P_INT(spec->expires_us) : GY_DB_P_NULL;
        /* Never inside a failed statement: the name was checked, ids collide only by chance. */
        rc = gy_db_exec(db,
                        "INSERT INTO auth_tokens (public_id, name, role, scopes, hash, created_us,"
                        " created_by, expires_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        p, 8, NULL);
        if (rc != GY_E_EXISTS)
            break;
        if ((rc = name_taken(db, name, &taken)) == GY_OK && taken) {
            rc = gy_error_set(GY_E_EXISTS, "a token named \"%s\" already exists", name);
            break;
        }
        rc = GY_E_EXISTS;
    }
out:
    sodium_memzero(rnd, sizeof rnd);
    json_decref(arr);
    gy_buf_free(&scopes);
    if (rc) {
        sodium_memzero(token, GY_AUTH_TOKEN_LEN + 1);
        id[0] = '\0';
    }
    return rc;
}

/* Fills p->scopes from the stored JSON array. */
static enum gy_status scopes_load(const char *text, struct gy_auth_principal *p)
{
    json_t *arr = NULL, *v;
    size_t i;
    enum gy_status rc =
        gy_json_parse(text ? text : "[]", text ? strlen(text) : 2, 4, "scopes", &arr);
    if (rc)
        return GY_E_CORRUPT;
    if (!json_is_array(arr) || json_array_size(arr) > GY_AUTH_SCOPES_MAX) {
        json_decref(arr);
        return GY_E_CORRUPT;
    }
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || strlen(s) > GY_AUTH_SCOPE_MAX) {
            json_decref(arr);
            return GY_E_CORRUPT;
        }
        snprintf(p->scopes[i], sizeof p->scopes[i], "%s", s);
    }
    p->nscopes = json_array_size(arr);
    json_decref(arr);
    return GY_OK;
}

enum gy_status gy_auth_verify(struct gy_db *db, const uint8_t secret[GY_AUTH_SECRET_LEN],
                              const char *token, struct gy_auth_principal *out)
{
    char id[GY_AUTH_ID_LEN + 1];
    uint8_t want[32], have[32];
    struct gy_db_rows *r = NULL;
    struct gy_db_param p;
    size_t len = token ? strnlen(token, GY_AUTH_TOKEN_LEN + 1) : 0;
    const char *stored;
    enum gy_status rc;

    memset(out, 0, sizeof *out);
    if (gy_auth_token_parse(token, len, id))
        return gy_error_set(GY_E_PERM, "%s", gy_error_msg());
    p = GY_DB_P_TEXT(id);
    rc = gy_db_query(db,
                     "SELECT id, name, role, scopes, hash, expires_us, revoked_us"
                     " FROM auth_tokens WHERE public_id = $1",
                     &p, 1, &r);
    if (rc)
        return rc;
    if (gy_db_rows_count(r) != 1) {
        rc = gy_error_set(GY_E_PERM, "unknown token");
        goto out;
    }
    token_hash(secret, token, len, have);
    stored = gy_db_rows_text(r, 0, 4);
    if (!stored || strlen(stored) != 64 ||
        sodium_hex2bin(want, sizeof want, stored, 64, NULL, NULL, NULL) != 0 ||
        sodium_memcmp(want, have, sizeof want) != 0) {
        rc = gy_error_set(GY_E_PERM, "unknown token");
        goto out;
    }
    if (!gy_db_rows_isnull(r, 0, 6)) {
        rc = gy_error_set(GY_E_PERM, "token revoked");
        goto out;
    }
    out->expires_us = gy_db_rows_int(r, 0, 5);
    if (!gy_db_rows_isnull(r, 0, 5) && out->expires_us <= gy_time_wall_us()) {
        rc = gy_error_set(GY_E_PERM, "token expired");
        goto out;
    }
    if (gy_auth_role_parse(gy_db_rows_text(r, 0, 2), &out->role) ||
        scopes_load(gy_db_rows_text(r, 0, 3), out)) {
        rc = gy_error_set(GY_E_PERM, "token %s has a damaged record (role or scopes)", id);
        goto out;
    }
    out->token_id = gy_db_rows_int(r, 0, 0);
    memcpy(out->id, id, sizeof out->id);
    snprintf(out->name, sizeof out->name, "%s", gy_db_rows_text(r, 0, 1));
out:
    if (rc)
        memset(out, 0, sizeof *out);
    sodium_memzero(have, sizeof have);
    gy_db_rows_free(r);
    return rc;
}

enum gy_status gy_auth_token_touch(struct gy_db *db, int64_t token_id, int64_t now_us)
{
    struct gy_db_param p[3] = {GY_DB_P_INT(token_id), GY_DB_P_INT(now_us),
                               GY_DB_P_INT(now_us - TOUCH_INTERVAL_US)};
    return gy_db_exec(db,
                      "UPDATE auth_tokens SET last_used_us = $2 WHERE id = $1 AND"
                      " (last_used_us IS NULL OR last_used_us < $3)",
                      p, 3, NULL);
}

/* ------------------------------------------------------------------ list and revoke */

#define TOKEN_COLUMNS                                                                              \
    "id, public_id, name, role, scopes, created_us, created_by, expires_us, last_used_us,"         \
    " revoked_us"

static json_t *time_or_null(const struct gy_db_rows *r, size_t row, size_t col)
{
    char t[32];
    if (gy_db_rows_isnull(r, row, col))
        return json_null();
    gy_time_format(gy_db_rows_int(r, row, col), t);
    return json_string(t);
}

/* One token row (TOKEN_COLUMNS) as JSON (new; NULL on OOM). */
static json_t *token_json(const struct gy_db_rows *r, size_t i, int64_t now)
{
    json_t *o, *scopes = NULL;
    const char *state = "active";
    if (!gy_db_rows_isnull(r, i, 9))
        state = "revoked";
    else if (!gy_db_rows_isnull(r, i, 7) && gy_db_rows_int(r, i, 7) <= now)
        state = "expired";
    if (gy_json_parse(gy_db_rows_text(r, i, 4), strlen(gy_db_rows_text(r, i, 4)), 4, "scopes",
                      &scopes) ||
        !json_is_array(scopes)) {
        json_decref(scopes);
        scopes = json_array();
    }
    o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s?, s:o, s:o, s:o, s:s}", "id",
                  gy_db_rows_text(r, i, 1), "name", gy_db_rows_text(r, i, 2), "role",
                  gy_db_rows_text(r, i, 3), "scopes", scopes, "created", time_or_null(r, i, 5),
                  "created_by", gy_db_rows_text(r, i, 6), "expires", time_or_null(r, i, 7),
                  "last_used", time_or_null(r, i, 8), "revoked", time_or_null(r, i, 9), "state",
                  state);
    return o;
}

enum gy_status gy_auth_token_list(struct gy_db *db, int all, json_t **out)
{
    struct gy_db_rows *r = NULL;
    struct gy_db_param p = GY_DB_P_INT(gy_time_wall_us());
    json_t *arr;
    enum gy_status rc;

    *out = NULL;
    rc = all ? gy_db_query(db, "SELECT " TOKEN_COLUMNS " FROM auth_tokens ORDER BY id DESC", NULL,
                           0, &r)
             : gy_db_query(db,
                           "SELECT " TOKEN_COLUMNS " FROM auth_tokens WHERE revoked_us IS NULL"
                           " AND (expires_us IS NULL OR expires_us > $1) ORDER BY id DESC",
                           &p, 1, &r);
    if (rc)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr && i < gy_db_rows_count(r); i++) {
        json_t *o = token_json(r, i, p.i);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    gy_db_rows_free(r);
    if (!arr)
        return gy_error_set(GY_E_NOMEM, "out of memory listing tokens");
    *out = arr;
    return GY_OK;
}

enum gy_status gy_auth_token_revoke(struct gy_db *db, const char *id_or_name, json_t **info_out)
{
    struct gy_db_rows *r = NULL;
    struct gy_db_param p[2];
    int64_t now = gy_time_wall_us();
    enum gy_status rc;

    if (info_out)
        *info_out = NULL;
    if (!id_or_name || !*id_or_name)
        return gy_error_set(GY_E_INVALID, "no token id or name given");
    p[0] = GY_DB_P_TEXT(id_or_name);
    rc =
        gy_db_query(db, "SELECT " TOKEN_COLUMNS " FROM auth_tokens WHERE public_id = $1", p, 1, &r);
    if (rc == GY_OK && gy_db_rows_count(r) == 0) {
        gy_db_rows_free(r);
        r = NULL;
        rc = gy_db_query(db,
                         "SELECT " TOKEN_COLUMNS " FROM auth_tokens WHERE name = $1 AND"
                         " revoked_us IS NULL",
                         p, 1, &r);
    }
    if (rc)
        goto out;
    if (gy_db_rows_count(r) == 0) {
        rc = gy_error_set(GY_NOT_FOUND, "no active token with id or name \"%.80s\"", id_or_name);
        goto out;
    }
    if (gy_db_rows_isnull(r, 0, 9)) {
        p[0] = GY_DB_P_INT(gy_db_rows_int(r, 0, 0));
        p[1] = GY_DB_P_INT(now);
        rc = gy_db_exec(db,
                        "UPDATE auth_tokens SET revoked_us = $2 WHERE id = $1 AND"
                        " revoked_us IS NULL",
                        p, 2, NULL);
        if (rc)
            goto out;
        gy_db_rows_free(r);
        r = NULL;
        rc = gy_db_query(db, "SELECT " TOKEN_COLUMNS " FROM auth_tokens WHERE id = $1", p, 1, &r);
        if (rc)
            goto out;
    }
    if (info_out && gy_db_rows_count(r) == 1) {
        *info_out = token_json(r, 0, now);
        if (!*info_out)
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
    }
out:
    gy_db_rows_free(r);
    return rc;
}

enum gy_status gy_auth_duration_parse(const char *s, int64_t *out_us)
{
    int64_t n = 0, unit;
    size_t len = s ? strlen(s) : 0, i;
    *out_us = 0;
    if (s && strcmp(s, "never") == 0)
        return GY_OK;
    for (i = 0; i < len && i < 12 && s[i] >= '0' && s[i] <= '9'; i++)
        n = n * 10 + (s[i] - '0');
    if (i == 0 || i + 1 != len)
        goto bad;
    switch (s[i]) {
    case 's':
        unit = 1000000;
        break;
    case 'm':
        unit = (int64_t)60 * 1000000;
        break;
    case 'h':
        unit = (int64_t)3600 * 1000000;
        break;
    case 'd':
        unit = (int64_t)86400 * 1000000;
        break;
    case 'w':
        unit = (int64_t)7 * 86400 * 1000000;
        break;
    default:
        goto bad;
    }
    if (n == 0 || n > DURATION_MAX_US / unit)
        return gy_error_set(GY_E_INVALID, "duration \"%s\" must be above 0 and at most 10 years",
                            s);
    *out_us = n * unit;
    return GY_OK;
bad:
    return gy_error_set(GY_E_INVALID,
                        "bad duration \"%.32s\": expected a number with a unit s, m, h, d or w "
                        "(e.g. 30d, 12h) or \"never\"",
                        s ? s : "");
}
