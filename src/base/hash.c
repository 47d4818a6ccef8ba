/* SPDX-License-Identifier: MIT */
/*
 * hash.c - SHA-256 through libsodium (content addresses and checksums) and a fast
 * non-cryptographic 64-bit hash for hash tables and sketches.
 */
#include "base/base.h"

#include <sodium.h>
#include <string.h>

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((struct gy_sha256 *)0)->state),
               "gy_sha256 state too small");

void gy_sha256_init(struct gy_sha256 *h)
{
    crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)h->state);
}

void gy_sha256_update(struct gy_sha256 *h, const void *p, size_t n)
{
    crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)h->state, p, n);
}

void gy_sha256_final(struct gy_sha256 *h, uint8_t out[GY_SHA256_LEN])
{
    crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)h->state, out);
}

void gy_hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void gy_sha256_hex(const void *p, size_t n, char out[GY_SHA256_HEX_LEN + 1])
{
    uint8_t d[GY_SHA256_LEN];
    crypto_hash_sha256(d, p, n);
    gy_hex_encode(d, sizeof d, out);
}

int gy_is_sha256_hex(const char *s)
{
    size_t i;
    if (!s)
        return 0;
    for (i = 0; i < GY_SHA256_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[i] == '\0';
}

uint64_t gy_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Reads 8 bytes little-endian without alignment assumptions. */
static uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

uint64_t gy_hash64(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (n + 1));
    while (n >= 8) {
        h = gy_mix64(h ^ rd64(p)) * 0x9e3779b97f4a7c15ULL;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t t = 0;
        memcpy(&t, p, n);
        h = gy_mix64(h ^ t ^ ((uint64_t)n << 56)) * 0x9e3779b97f4a7c15ULL;
    }
    return gy_mix64(h);
}
