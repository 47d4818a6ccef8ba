/* SPDX-License-Identifier: MIT */
/*
 * fuzz_token.c - libFuzzer target for the text parsers of src/auth: the token parser
 * (gy_auth_token_parse), the Authorization header parser (gy_auth_bearer_parse), token scopes,
 * lifetimes and the audit filters' times. The input is used as raw bytes (token parser) and as
 * a NUL-terminated string (the others).
 *
 * Besides the sanitizers, the target aborts when a parser breaks a promise: an accepted token
 * that is not 54 characters of "gyre_" + base62 whose last 6 characters are the base62 CRC32
 * (recomputed here independently) of the 43 before them, or whose public id is not its first 8
 * characters after the prefix; a bearer token outside the header value, empty, or holding a
 * space; an accepted scope without a '/' or with a '*' before its end; a lifetime that is
 * negative or over ten years.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint32_t crc32_slow(const char *s, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static void check_token(const char *p, size_t n)
{
    char id[GY_AUTH_ID_LEN + 1], sum[6];
    uint32_t v;
    if (gy_auth_token_parse(p, n, id) != GY_OK) {
        if (strncmp(gy_error_msg(), "malformed token: ", 17) != 0)
            abort();
        return;
    }
    if (n != GY_AUTH_TOKEN_LEN || memcmp(p, "gyre_", 5) != 0)
        abort();
    for (size_t i = 5; i < n; i++)
        if (!strchr(b62, p[i]) || p[i] == '\0')
            abort();
    v = crc32_slow(p + 5, 43);
    for (int i = 5; i >= 0; i--) {
        sum[i] = b62[v % 62];
        v /= 62;
    }
    if (memcmp(sum, p + 48, 6) != 0)
        abort();
    if (strlen(id) != GY_AUTH_ID_LEN || memcmp(id, p + 5, GY_AUTH_ID_LEN) != 0)
        abort();
}

static void check_bearer(const char *s)
{
    const char *tok = NULL;
    size_t n = 0;
    if (gy_auth_bearer_parse(s, &tok, &n) != GY_OK) {
        if (tok || n)
            abort();
        return;
    }
    if (!tok || n == 0 || tok < s || tok + n > s + strlen(s))
        abort();
    for (size_t i = 0; i < n; i++)
        if (tok[i] == ' ' || tok[i] == '\t' || tok[i] == ',' || tok[i] == '\0')
            abort();
    /* Whatever came out goes to the token parser next, as the HTTP layer does. */
    check_token(tok, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    int64_t v;
    if (size > 4096)
        return 0;
    check_token((const char *)data, size);
    s = gy_malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_bearer(s);
    if (gy_auth_scope_valid(s) == GY_OK) {
        const char *slash = strchr(s, '/');
        const char *star = strchr(s, '*');
        if (!slash || slash[1] == '\0' || (star && star[1] != '\0'))
            abort();
    }
    if (gy_auth_duration_parse(s, &v) == GY_OK && (v < 0 || v > (int64_t)3650 * 86400000000))
        abort();
    (void)gy_audit_time_parse(s, &v);
    gy_free(s);
    return 0;
}
