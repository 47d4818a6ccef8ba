/* SPDX-License-Identifier: MIT */
/*
 * test_token.c - API tokens (src/auth/token.c): the documented format checked against an
 * independent CRC32/base62 computation, the parser's refusals, Authorization header parsing,
 * the server secret file, create/verify/revoke/list/touch against both backends (the token
 * never stored, revocation and expiry, wrong secrets, name reuse), and lifetimes.
 */
#include "../store_fixture.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

#include "auth/auth.h"

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Reference CRC-32 (zlib's polynomial), written the slow table-building way. */
static uint32_t ref_crc32(const char *s, size_t n)
{
    uint32_t table[256];
    uint32_t c = 0xffffffffu;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = i;
        for (int k = 0; k < 8; k++)
            v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
        table[i] = v;
    }
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ (unsigned char)s[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static void ref_checksum(const char *token, char out[7])
{
    uint32_t v = ref_crc32(token + 5, 43);
    for (int i = 5; i >= 0; i--) {
        out[i] = b62[v % 62];
        v /= 62;
    }
    out[6] = '\0';
}

/* A syntactically valid token with the given 43-character body. */
static void make_token(const char *body, char out[55])
{
    char sum[7];
    snprintf(out, 55, "gyre_%s", body);
    ref_checksum(out, sum);
    memcpy(out + 48, sum, 7);
}

static void load_secret(struct fx *f, uint8_t secret[32])
{
    OK(gy_auth_secret_load(gy_db_home(f->db), secret));
}

static enum gy_status create(struct fx *f, const uint8_t *secret, const char *name,
                             enum gy_auth_role role, const char *const *scopes, size_t n,
                             int64_t expires, char token[55], char id[9])
{
    struct gy_auth_token_spec s = {.name = name,
                                   .role = role,
                                   .scopes = scopes,
                                   .nscopes = n,
                                   .expires_us = expires,
                                   .created_by = "cli:test"};
    return gy_auth_token_create(f->db, secret, &s, token, id);
}

Test(token, reference_crc32)
{
    cr_assert_eq(ref_crc32("123456789", 9), 0xcbf43926u);
}

Test(token, parse_accepts_only_the_documented_format)
{
    char t[55], id[9], bad[80];
    make_token("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg", t);
    cr_assert_eq(gy_auth_token_parse(t, 54, id), GY_OK, "%s", gy_error_msg());
    cr_assert_str_eq(id, "01234567");
    cr_assert_eq(gy_auth_token_parse(t, 54, NULL), GY_OK);

    cr_assert_eq(gy_auth_token_parse(t, 53, id), GY_E_INVALID);
    cr_assert_str_eq(id, "");
    cr_assert(strstr(gy_error_msg(), "malformed token: 53 characters"), "%s", gy_error_msg());
    cr_assert_eq(gy_auth_token_parse("", 0, id), GY_E_INVALID);
    cr_assert_eq(gy_auth_token_parse(NULL, 0, id), GY_E_INVALID);
    cr_assert_eq(gy_auth_token_parse("gyre", 4, id), GY_E_INVALID);

    snprintf(bad, sizeof bad, "%s", t);
    bad[0] = 'G';
    cr_assert_eq(gy_auth_token_parse(bad, 54, id), GY_E_INVALID);
    cr_assert_str_eq(gy_error_msg(), "malformed token: expected the prefix \"gyre_\"");

    for (size_t i = 5; i < 54; i++) {
        snprintf(bad, sizeof bad, "%s", t);
        bad[i] = bad[i] == 'a' ? 'b' : 'a';
        cr_assert_eq(gy_auth_token_parse(bad, 54, id), GY_E_INVALID, "changed char %zu", i);
        cr_assert_str_eq(gy_error_msg(), "malformed token: bad checksum");
        bad[i] = '-';
        cr_assert_eq(gy_auth_token_parse(bad, 54, id), GY_E_INVALID);
        cr_assert(strstr(gy_error_msg(), "is not a letter or digit"), "%s", gy_error_msg());
    }
    snprintf(bad, sizeof bad, "%s\n", t);
    cr_assert_eq(gy_auth_token_parse(bad, 55, id), GY_E_INVALID);
}

Test(token, bearer_header)
{
    const char *tok;
    size_t n;
    cr_assert_eq(gy_auth_bearer_parse("Bearer abc", &tok, &n), GY_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(strncmp(tok, "abc", 3), 0);
    cr_assert_eq(gy_auth_bearer_parse("bearer   xyz  ", &tok, &n), GY_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(strncmp(tok, "xyz", 3), 0);
    cr_assert_eq(gy_auth_bearer_parse("BEARER\tq", &tok, &n), GY_OK);
    cr_assert_eq(n, 1);
    static const char *const bad[] = {"",           "Bearer",     "Bearer ",    "Basic dXNlcjpw",
                                      "Bearerabc",  "Bearer a b", "Bearer a,b", "Token abc",
                                      " Bearer abc"};
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++) {
        cr_assert_eq(gy_auth_bearer_parse(bad[i], &tok, &n), GY_E_INVALID, "\"%s\"", bad[i]);
        cr_assert_null(tok);
        cr_assert_eq(n, 0);
    }
    cr_assert_eq(gy_auth_bearer_parse(NULL, &tok, &n), GY_E_INVALID);
}

DB_TEST(token_secret_file)
{
    uint8_t a[32], b[32];
    char path[512];
    struct stat st;
    int fd;
    snprintf(path, sizeof path, "%s/secret.key", f->home);
    cr_assert_neq(access(path, F_OK), 0);
    OK(gy_auth_secret_load(f->home, a));
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(st.st_size, 32);
    OK(gy_auth_secret_load(f->home, b));
    cr_assert_eq(memcmp(a, b, 32), 0, "the secret is created once");

    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_eq(gy_auth_secret_load(f->home, b), GY_E_PERM);
    cr_assert(strstr(gy_error_msg(), "chmod 600"), "%s", gy_error_msg());
    cr_assert_eq(chmod(path, 0600), 0);
    fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_eq(write(fd, "x", 1), 1);
    close(fd);
    cr_assert_eq(gy_auth_secret_load(f->home, b), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "33 bytes"), "%s", gy_error_msg());
}

DB_TEST(token_create_and_verify)
{
    static const char *const scopes[] = {"models/fraud", "deployments/*"};
    uint8_t secret[32];
    char token[55], id[9], sum[7];
    struct gy_auth_principal p;

    load_secret(f, secret);
    OK(create(f, secret, "ci", GY_AUTH_ROLE_DATA_SCIENTIST, scopes, 2, 0, token, id));
    cr_assert_eq(strlen(token), 54);
    cr_assert_eq(strncmp(token, "gyre_", 5), 0);
    cr_assert_eq(strncmp(token + 5, id, 8), 0, "the public id is embedded");
    ref_checksum(token, sum);
    cr_assert_str_eq(token + 48, sum, "checksum is base62 CRC32 of the 43 random characters");

    OK(gy_auth_verify(f->db, secret, token, &p));
    cr_assert_gt(p.token_id, 0);
    cr_assert_str_eq(p.id, id);
    cr_assert_str_eq(p.name, "ci");
    cr_assert_eq(p.role, GY_AUTH_ROLE_DATA_SCIENTIST);
    cr_assert_eq(p.expires_us, 0);
    cr_assert_eq(p.nscopes, 2);
    cr_assert_str_eq(p.scopes[0], "models/fraud");
    cr_assert_str_eq(p.scopes[1], "deployments/*");
    cr_assert(gy_auth_allowed(&p, "models:write", "fraud"));
    cr_assert_not(gy_auth_allowed(&p, "models:write", "churn"));

    /* Stored only as a keyed hash: no column holds the token or its random part. */
    {
        struct gy_db_rows *r = NULL;
        OK(gy_db_query(f->db, "SELECT * FROM auth_tokens", NULL, 0, &r));
        cr_assert_eq(gy_db_rows_count(r), 1);
        for (size_t c = 0; c < gy_db_rows_cols(r); c++) {
            const char *v = gy_db_rows_text(r, 0, c);
            cr_assert(!v || !strstr(v, token + 5 + 8), "column %s holds the token",
                      gy_db_rows_name(r, c));
        }
        gy_db_rows_free(r);
    }

    /* Another server secret verifies nothing. */
    {
        uint8_t other[32];
        memcpy(other, secret, 32);
        other[0] ^= 1;
        cr_assert_eq(gy_auth_verify(f->db, other, token, &p), GY_E_PERM);
        cr_assert_str_eq(gy_error_msg(), "unknown token");
        cr_assert_eq(p.role, GY_AUTH_ROLE_NONE);
    }
}

DB_TEST(token_refusals)
{
    uint8_t secret[32];
    char token[55], id[9], forged[55], body[44];
    struct gy_auth_principal p;

    load_secret(f, secret);
    OK(create(f, secret, NULL, GY_AUTH_ROLE_VIEWER, NULL, 0, 0, token, id));

    /* Syntax: rejected before the database. */
    snprintf(forged, sizeof forged, "%s", token);
    forged[20] = forged[20] == 'x' ? 'y' : 'x';
    cr_assert_eq(gy_auth_verify(f->db, secret, forged, &p), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "malformed token: bad checksum");
    cr_assert_eq(gy_auth_verify(f->db, secret, "gyre_short", &p), GY_E_PERM);
    cr_assert(strstr(gy_error_msg(), "malformed token"), "%s", gy_error_msg());
    cr_assert_eq(gy_auth_verify(f->db, secret, NULL, &p), GY_E_PERM);

    /* Well formed, same public id, other secret part: unknown. */
    memcpy(body, token + 5, 43);
    body[43] = '\0';
    body[30] = body[30] == 'Q' ? 'R' : 'Q';
    make_token(body, forged);
    cr_assert_eq(gy_auth_verify(f->db, secret, forged, &p), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "unknown token");
    /* Well formed, never issued. */
    make_token("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", forged);
    cr_assert_eq(gy_auth_verify(f->db, secret, forged, &p), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "unknown token");

    /* Expired. */
    {
        struct gy_db_param q[2] = {GY_DB_P_INT(gy_time_wall_us() - 1000), GY_DB_P_TEXT(id)};
        OK(gy_auth_verify(f->db, secret, token, &p));
        OK(gy_db_exec(f->db, "UPDATE auth_tokens SET expires_us = $1 WHERE public_id = $2", q, 2,
                      NULL));
        cr_assert_eq(gy_auth_verify(f->db, secret, token, &p), GY_E_PERM);
        cr_assert_str_eq(gy_error_msg(), "token expired");
        q[0] = GY_DB_P_INT(gy_time_wall_us() + 3600000000LL);
        OK(gy_db_exec(f->db, "UPDATE auth_tokens SET expires_us = $1 WHERE public_id = $2", q, 2,
                      NULL));
        OK(gy_auth_verify(f->db, secret, token, &p));
        cr_assert_gt(p.expires_us, gy_time_wall_us());
    }
    /* Revoked (by public id). */
    OK(gy_auth_token_revoke(f->db, id, NULL));
    cr_assert_eq(gy_auth_verify(f->db, secret, token, &p), GY_E_PERM);
    cr_assert_str_eq(gy_error_msg(), "token revoked");
    cr_assert_str_eq(p.name, "");
}

DB_TEST(token_names_scopes_and_expiry_are_validated)
{
    static const char *const bad_scope[] = {"widgets/x"};
    uint8_t secret[32];
    char token[55], id[9], id2[9];
    json_t *info = NULL;

    load_secret(f, secret);
    cr_assert_eq(create(f, secret, "bad name", GY_AUTH_ROLE_VIEWER, NULL, 0, 0, token, id),
                 GY_E_INVALID);
    cr_assert_str_eq(token, "");
    cr_assert_eq(create(f, secret, "cli:me", GY_AUTH_ROLE_VIEWER, NULL, 0, 0, token, id),
                 GY_E_INVALID);
    cr_assert_eq(create(f, secret, "x", GY_AUTH_ROLE_NONE, NULL, 0, 0, token, id), GY_E_INVALID);
    cr_assert_eq(create(f, secret, "x", GY_AUTH_ROLE_VIEWER, bad_scope, 1, 0, token, id),
                 GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "unknown resource"), "%s", gy_error_msg());
    cr_assert_eq(
        create(f, secret, "x", GY_AUTH_ROLE_VIEWER, NULL, 0, gy_time_wall_us() - 1, token, id),
        GY_E_INVALID);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM auth_tokens"), 0);

    /* Names are unique among active tokens; a revoked token's name may be reused. */
    OK(create(f, secret, "deployer", GY_AUTH_ROLE_MAINTAINER, NULL, 0, 0, token, id));
    cr_assert_eq(create(f, secret, "deployer", GY_AUTH_ROLE_VIEWER, NULL, 0, 0, token, id2),
                 GY_E_EXISTS);
    cr_assert(strstr(gy_error_msg(), "already exists"), "%s", gy_error_msg());
    OK(gy_auth_token_revoke(f->db, "deployer", &info));
    cr_assert_str_eq(json_string_value(json_object_get(info, "state")), "revoked");
    cr_assert_str_eq(json_string_value(json_object_get(info, "id")), id);
    json_decref(info);
    OK(create(f, secret, "deployer", GY_AUTH_ROLE_VIEWER, NULL, 0, 0, token, id2));
    cr_assert_str_neq(id, id2);
    /* Revoking by name finds the active one; revoking again by id is a no-op. */
    OK(gy_auth_token_revoke(f->db, "deployer", NULL));
    OK(gy_auth_token_revoke(f->db, id2, NULL));
    cr_assert_eq(gy_auth_token_revoke(f->db, "deployer", NULL), GY_NOT_FOUND);
    cr_assert_eq(gy_auth_token_revoke(f->db, "nobody", NULL), GY_NOT_FOUND);
    cr_assert_eq(gy_auth_token_revoke(f->db, "", NULL), GY_E_INVALID);

    /* No name: token-<public id>. */
    {
        struct gy_auth_principal p;
        OK(create(f, secret, NULL, GY_AUTH_ROLE_PREDICTOR, NULL, 0, 0, token, id));
        OK(gy_auth_verify(f->db, secret, token, &p));
        cr_assert_eq(strncmp(p.name, "token-", 6), 0);
        cr_assert_str_eq(p.name + 6, id);
    }
}

DB_TEST(token_list_never_shows_secrets)
{
    static const char *const scopes[] = {"models/fraud"};
    uint8_t secret[32];
    char t1[55], t2[55], t3[55], id1[9], id2[9], id3[9];
    json_t *all = NULL, *active = NULL, *o;
    struct gy_buf dump;
    size_t i;

    load_secret(f, secret);
    OK(create(f, secret, "one", GY_AUTH_ROLE_ADMIN, NULL, 0, 0, t1, id1));
    OK(create(f, secret, "two", GY_AUTH_ROLE_PREDICTOR, scopes, 1,
              gy_time_wall_us() + 86400000000LL, t2, id2));
    OK(create(f, secret, "three", GY_AUTH_ROLE_VIEWER, NULL, 0, 0, t3, id3));
    OK(gy_auth_token_revoke(f->db, "three", NULL));

    OK(gy_auth_token_list(f->db, 1, &all));
    OK(gy_auth_token_list(f->db, 0, &active));
    cr_assert_eq(json_array_size(all), 3);
    cr_assert_eq(json_array_size(active), 2);
    /* Newest first. */
    cr_assert_str_eq(gy_json_str(json_array_get(all, 0), "name", ""), "three");
    cr_assert_str_eq(gy_json_str(json_array_get(all, 0), "state", ""), "revoked");
    json_array_foreach(all, i, o)
    {
        cr_assert(json_is_string(json_object_get(o, "created")));
        cr_assert_str_eq(gy_json_str(o, "created_by", ""), "cli:test");
    }
    o = json_array_get(active, 0);
    cr_assert_str_eq(gy_json_str(o, "name", ""), "two");
    cr_assert_str_eq(gy_json_str(o, "role", ""), "predictor");
    cr_assert_str_eq(gy_json_str(o, "state", ""), "active");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "scopes"), 0)),
                     "models/fraud");
    cr_assert(json_is_string(json_object_get(o, "expires")));
    cr_assert(json_is_null(json_object_get(o, "last_used")));
    cr_assert(json_is_null(json_object_get(o, "revoked")));
    cr_assert_null(json_object_get(o, "hash"));

    gy_buf_init(&dump, 1 << 20);
    OK(gy_json_dump(all, &dump));
    cr_assert_null(strstr(dump.data, t1 + 13));
    cr_assert_null(strstr(dump.data, t2 + 13));
    cr_assert_null(strstr(dump.data, t3 + 13));
    cr_assert_null(strstr(dump.data, "gyre_"));
    gy_buf_free(&dump);
    json_decref(all);
    json_decref(active);

    /* An expired token is listed only with all. */
    OK(gy_db_exec(f->db, "UPDATE auth_tokens SET expires_us = 1 WHERE name = 'two'", NULL, 0,
                  NULL));
    OK(gy_auth_token_list(f->db, 0, &active));
    cr_assert_eq(json_array_size(active), 1);
    json_decref(active);
    OK(gy_auth_token_list(f->db, 1, &all));
    cr_assert_str_eq(gy_json_str(json_array_get(all, 1), "state", ""), "expired");
    json_decref(all);
}

DB_TEST(token_touch_records_last_use_once_a_minute)
{
    uint8_t secret[32];
    char token[55], id[9];
    struct gy_auth_principal p;
    int64_t now = gy_time_wall_us();

    load_secret(f, secret);
    OK(create(f, secret, "svc", GY_AUTH_ROLE_PREDICTOR, NULL, 0, 0, token, id));
    OK(gy_auth_verify(f->db, secret, token, &p));
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM auth_tokens WHERE last_used_us IS NULL"), 1,
                 "verify writes nothing");
    OK(gy_auth_token_touch(f->db, p.token_id, now));
    cr_assert_eq(fx_int(f->db, "SELECT last_used_us FROM auth_tokens"), now);
    OK(gy_auth_token_touch(f->db, p.token_id, now + 30000000));
    cr_assert_eq(fx_int(f->db, "SELECT last_used_us FROM auth_tokens"), now);
    OK(gy_auth_token_touch(f->db, p.token_id, now + 61000000));
    cr_assert_eq(fx_int(f->db, "SELECT last_used_us FROM auth_tokens"), now + 61000000);
}

Test(token, durations)
{
    static const struct {
        const char *s;
        int64_t us;
    } good[] = {{"never", 0},
                {"1s", 1000000},
                {"5m", 300000000},
                {"12h", 43200000000LL},
                {"30d", 2592000000000LL},
                {"2w", 1209600000000LL},
                {"3650d", 315360000000000LL}};
    static const char *const bad[] = {
        "", "0d", "30", "d", "30x", "-1d", "1.5h", "3651d", "30 d", "Never", "99999999999999d"};
    int64_t us;
    for (size_t i = 0; i < GY_ARRAY_LEN(good); i++) {
        cr_assert_eq(gy_auth_duration_parse(good[i].s, &us), GY_OK, "%s", good[i].s);
        cr_assert_eq(us, good[i].us, "%s", good[i].s);
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy_auth_duration_parse(bad[i], &us), GY_E_INVALID, "%s", bad[i]);
    cr_assert_eq(gy_auth_duration_parse(NULL, &us), GY_E_INVALID);
}
