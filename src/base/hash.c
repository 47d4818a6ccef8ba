/* SPDX-License-Identifier: MIT */
/*
 * hash.c - SHA-256 through libsodium (content addresses and checksums) and a fast
 * non-cryptographic 64-bit hash for hash tables and sketches.
 */
#include "base/base.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/*
 * SHA-256. Where the CPU has the SHA extensions (x86 SHA-NI) the blocks are hashed with them,
 * about six times faster than libsodium's portable code; everywhere else libsodium does it.
 * Content addresses are computed over every stored byte, so this is on the ingest hot path.
 */
struct sha_state {
    int ni; /* 1: the SHA-NI path below; 0: libsodium */
    union {
        crypto_hash_sha256_state sodium;
        struct {
            uint32_t h[8];
            uint64_t bytes;
            uint8_t buf[64];
        } ni;
    } u;
};

_Static_assert(sizeof(struct sha_state) <= sizeof(((struct gy_sha256 *)0)->state),
               "gy_sha256 state too small");

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* Hashes n 64-byte blocks into h with the SHA-NI round and message-schedule instructions. */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha_ni_blocks(uint32_t h[8],
                                                                      const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i t = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);
    __m128i s0;
    t = _mm_shuffle_epi32(t, 0xB1);    /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);  /* EFGH */
    s0 = _mm_alignr_epi8(t, s1, 8);    /* ABEF */
    s1 = _mm_blend_epi16(s1, t, 0xF0); /* CDGH */
    for (; n; n--, p += 64) {
        __m128i save0 = s0, save1 = s1, m[4];
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            __m128i w, k;
            if (g < 4) {
                w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)),
                                     bswap);
            } else {
                __m128i a = m[g & 3], b = m[(g + 1) & 3], c = m[(g + 2) & 3], d = m[(g + 3) & 3];
                /* a = W(g-4), b = W(g-3), c = W(g-2), d = W(g-1) */
                w = _mm_sha256msg1_epu32(a, b);
                w = _mm_add_epi32(w, _mm_alignr_epi8(d, c, 4));
                w = _mm_sha256msg2_epu32(w, d);
            }
            m[g & 3] = w;
            k = _mm_loadu_si128((const __m128i *)(const void *)&sha_k[4 * g]);
            w = _mm_add_epi32(w, k);
            s1 = _mm_sha256rnds2_epu32(s1, s0, w);
            w = _mm_shuffle_epi32(w, 0x0E);
            s0 = _mm_sha256rnds2_epu32(s0, s1, w);
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }
    t = _mm_shuffle_epi32(s0, 0x1B);   /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);  /* DCHG */
    s0 = _mm_blend_epi16(t, s1, 0xF0); /* DCBA */
    s1 = _mm_alignr_epi8(s1, t, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)(void *)&h[0], s0);
    _mm_storeu_si128((__m128i *)(void *)&h[4], s1);
}

static int have_sha_ni(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *off = getenv("GYRE_NO_SHA_NI");
        unsigned a, b, c, d;
        int sse41 = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1);
        int sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
        cached = (!off || !*off) && sse41 && sha;
    }
    return cached;
}
#else
#define HAVE_SHA_NI 0
static void sha_ni_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
    (void)h, (void)p, (void)n;
}
static int have_sha_ni(void)
{
    return 0;
}
#endif

void gy_sha256_init(struct gy_sha256 *hs)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    struct sha_state *s = (struct sha_state *)(void *)hs->state;
    s->ni = have_sha_ni();
    if (s->ni) {
        memcpy(s->u.ni.h, iv, sizeof iv);
        s->u.ni.bytes = 0;
    } else {
        crypto_hash_sha256_init(&s->u.sodium);
    }
}

void gy_sha256_update(struct gy_sha256 *hs, const void *data, size_t n)
{
    struct sha_state *s = (struct sha_state *)(void *)hs->state;
    const uint8_t *p = data;
    size_t used;
    if (!s->ni) {
        crypto_hash_sha256_update(&s->u.sodium, p, n);
        return;
    }
    used = (size_t)(s->u.ni.bytes & 63);
    s->u.ni.bytes += n;
    if (used) {
        size_t take = 64 - used < n ? 64 - used : n;
        memcpy(s->u.ni.buf + used, p, take);
        p += take;
        n -= take;
        if (used + take < 64)
            return;
        sha_ni_blocks(s->u.ni.h, s->u.ni.buf, 1);
    }
    if (n >= 64) {
        sha_ni_blocks(s->u.ni.h, p, n / 64);
        p += n & ~(size_t)63;
        n &= 63;
    }
    if (n)
        memcpy(s->u.ni.buf, p, n);
}

void gy_sha256_final(struct gy_sha256 *hs, uint8_t out[GY_SHA256_LEN])
{
    struct sha_state *s = (struct sha_state *)(void *)hs->state;
    uint8_t pad[72];
    uint64_t bits;
    size_t used, padlen;
    if (!s->ni) {
        crypto_hash_sha256_final(&s->u.sodium, out);
        return;
    }
    bits = s->u.ni.bytes * 8;
    used = (size_t)(s->u.ni.bytes & 63);
    padlen = (used < 56 ? 56 : 120) - used;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    gy_sha256_update(hs, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        uint32_t v = s->u.ni.h[i];
        out[4 * i] = (uint8_t)(v >> 24);
        out[4 * i + 1] = (uint8_t)(v >> 16);
        out[4 * i + 2] = (uint8_t)(v >> 8);
        out[4 * i + 3] = (uint8_t)v;
    }
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
    struct gy_sha256 h;
    gy_sha256_init(&h);
    gy_sha256_update(&h, p, n);
    gy_sha256_final(&h, d);
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
