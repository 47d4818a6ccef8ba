/* SPDX-License-Identifier: MIT */
/*
 * fuzz_query.c - libFuzzer target for the text side of the HTTP layer (src/http/query.c):
 * %-decoding (gy__http_pct_decode, with and without '+' as space), query-string parsing
 * (gy__http_query_parse, what every handler's query parameters come from), key lookup, and
 * the request-id and header-token checks. The input is used as raw bytes (the decoder) and as
 * a NUL-terminated string (the rest).
 *
 * Besides the sanitizers, the target aborts when a promise breaks: a failure without error
 * text or with a status other than GY_E_INVALID/GY_E_NOMEM; a decoded text that holds a NUL,
 * is longer than its input or differs from an independent decoder written here; a parse
 * whose pairs differ from that decoder applied piece by piece ('&'-separated, empty pieces
 * skipped, split at the first '='); a lookup that does not find the first pair's key; an
 * accepted request id that is empty, over 128 characters or has a character outside
 * [A-Za-z0-9._:-].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QS_MAX 8192

static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The oracle: decodes s[0..n) into out (n + 1 bytes); 0 on success, -1 when refused. */
static int oracle(const char *s, size_t n, int plus, char *out, size_t *outlen)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            if (hexv((unsigned char)s[i + 1]) < 0 || hexv((unsigned char)s[i + 2]) < 0)
                return -1;
            c = (unsigned char)(hexv((unsigned char)s[i + 1]) * 16 + hexv((unsigned char)s[i + 2]));
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0)
            return -1;
        out[j++] = (char)c;
    }
    out[j] = '\0';
    *outlen = j;
    return 0;
}

static void check_rc(enum gy_status rc)
{
    if (rc != GY_OK && (!*gy_error_msg() || (rc != GY_E_INVALID && rc != GY_E_NOMEM)))
        abort();
}

static void try_decode(struct gy_arena *a, const char *s, size_t n, int plus)
{
    char *got = NULL, *want = gy_malloc(n + 1);
    size_t glen = 0, wlen = 0;
    enum gy_status rc;
    int orc;
    if (!want)
        abort();
    gy_error_clear();
    rc = gy__http_pct_decode(a, s, n, plus, &got, &glen);
    check_rc(rc);
    orc = oracle(s, n, plus, want, &wlen);
    if ((rc == GY_OK) != (orc == 0) && rc != GY_E_NOMEM)
        abort();
    if (rc == GY_OK) {
        if (!got || glen > n || strlen(got) != glen || glen != wlen || memcmp(got, want, glen))
            abort();
    }
    gy_free(want);
}

/* Compares a successful parse with the oracle applied piece by piece. */
static void check_pairs(const char *qs, const struct gy__http_kvlist *l)
{
    const char *p = qs;
    size_t k = 0;
    char *kb = gy_malloc(strlen(qs) + 1), *vb = gy_malloc(strlen(qs) + 1);
    if (!kb || !vb)
        abort();
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len, kl, vl = 0;
        if (len > 0) {
            if (oracle(p, klen, 1, kb, &kl) != 0)
                abort();
            vb[0] = '\0';
            if (eq && oracle(eq + 1, len - klen - 1, 1, vb, &vl) != 0)
                abort();
            if (k >= l->n || strcmp(l->v[k].key, kb) != 0 || strcmp(l->v[k].val, vb) != 0)
                abort();
            k++;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    if (k != l->n)
        abort();
    if (l->n > 0 && gy__http_kv_find(l, l->v[0].key, 0) != l->v[0].val)
        abort();
    gy_free(kb);
    gy_free(vb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gy_arena *a;
    struct gy__http_kvlist l = {0};
    enum gy_status rc;
    char *qs;

    if (size > QS_MAX)
        return 0;
    a = gy_arena_create(4096);
    if (!a)
        abort();
    try_decode(a, (const char *)data, size, 0);
    try_decode(a, (const char *)data, size, 1);
    if (!memchr(data, 0, size)) {
        qs = gy_arena_strndup(a, (const char *)data, size);
        if (!qs)
            abort();
        gy_error_clear();
        rc = gy__http_query_parse(a, qs, &l);
        check_rc(rc);
        if (rc == GY_OK)
            check_pairs(qs, &l);
        if (gy__http_request_id_ok(qs)) {
            if (size == 0 || size > 128)
                abort();
            for (size_t i = 0; i < size; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
                            qs[i]))
                    abort();
        }
        (void)gy__http_token_ok(qs);
    }
    gy_arena_free(a);
    return 0;
}
