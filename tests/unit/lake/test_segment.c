/* SPDX-License-Identifier: MIT */
/*
 * test_segment.c - unit tests for segment encoding (src/lake/segment.c): every column type
 * round-trips bit for bit through both codecs; the packed codec is chosen for decimal floats
 * and integers and not for values it cannot hold exactly (-0.0, NaN, infinities, too many
 * decimals) or that zstd stores better (few distinct wide values); decoding rejects damaged
 * packed headers and payloads.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "lake/lake_int.h"

static uint64_t rng_state = 0x5eed5eed5eedULL;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void vec(struct gy_colvec *v, enum gy_type t, size_t n)
{
    cr_assert_eq(gy__colvec_init(v, t, n), GY_OK);
    v->n = n;
    memset(v->valid, 1, n);
}

/* Encodes v, checks the codec byte, decodes, and compares everything bit for bit. */
static void round_trip(const struct gy_colvec *v, int codec)
{
    struct gy_buf b;
    struct gy_colvec d;
    size_t w = v->type == GY_TYPE_BOOL ? 1 : 8;
    gy_buf_init(&b, (size_t)1 << 30);
    cr_assert_eq(gy__segment_encode(v, &b), GY_OK, "%s", gy_error_msg());
    cr_assert_eq((unsigned char)b.data[7], codec, "codec %u, expected %d", (unsigned char)b.data[7],
                 codec);
    cr_assert_eq(gy__segment_decode(b.data, b.len, v->type, v->n, &d), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(d.n, v->n);
    cr_assert(memcmp(d.valid, v->valid, v->n) == 0, "validity differs");
    const void *a = v->type == GY_TYPE_FLOAT64 ? (const void *)v->f64
                    : v->type == GY_TYPE_BOOL  ? (const void *)v->b
                                               : (const void *)v->i64;
    const void *c = v->type == GY_TYPE_FLOAT64 ? (const void *)d.f64
                    : v->type == GY_TYPE_BOOL  ? (const void *)d.b
                                               : (const void *)d.i64;
    for (size_t i = 0; i < v->n; i++)
        cr_assert(memcmp((const char *)a + i * w, (const char *)c + i * w, w) == 0,
                  "row %zu differs", i);
    gy__colvec_clear(&d);
    gy_buf_free(&b);
}

Test(segment, decimal_floats_pack)
{
    struct gy_colvec v;
    static const double scales[] = {1, 10, 1e6, 1e9, 1e15};
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        vec(&v, GY_TYPE_FLOAT64, 65536);
        for (size_t i = 0; i < v.n; i++) /* what "%.Nf" text parses to */
            v.f64[i] = (double)((int64_t)(rnd() % 200000001) - 100000000) / scales[s];
        round_trip(&v, 2);
        v.valid[7] = 0, v.f64[7] = 0; /* a null row (ingest stores 0) */
        round_trip(&v, 2);
        gy__colvec_clear(&v);
    }
    /* constant (0 bits a value) and the largest magnitudes the codec takes */
    vec(&v, GY_TYPE_FLOAT64, 1000);
    for (size_t i = 0; i < v.n; i++)
        v.f64[i] = 42.125;
    round_trip(&v, 2);
    for (size_t i = 0; i < v.n; i++)
        v.f64[i] = i % 2 ? 0x1p51 - 1 - (double)i : -(0x1p51 - 1) + (double)i;
    round_trip(&v, 2);
    for (size_t i = 0; i < v.n; i++) /* two values far apart: zstd does better */
        v.f64[i] = i % 2 ? 0x1p51 - 1 : -(0x1p51 - 1);
    round_trip(&v, 1);
    gy__colvec_clear(&v);
}

Test(segment, floats_the_packed_codec_cannot_hold)
{
    struct gy_colvec v;
    const double odd[] = {-0.0, NAN, INFINITY, -INFINITY, 0x1p51, 0.1 + 0.2, 1e-300, 5e-324};
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        vec(&v, GY_TYPE_FLOAT64, 5000);
        for (size_t i = 0; i < v.n; i++)
            v.f64[i] = (double)(int64_t)(rnd() % 1000) / 100;
        v.f64[rnd() % v.n] = odd[k];
        round_trip(&v, 1);
        gy__colvec_clear(&v);
    }
    vec(&v, GY_TYPE_FLOAT64, 5000);
    for (size_t i = 0; i < v.n; i++) { /* random bit patterns (NaN payloads included) */
        uint64_t u = rnd();
        memcpy(&v.f64[i], &u, 8);
    }
    round_trip(&v, 1);
    gy__colvec_clear(&v);
    vec(&v, GY_TYPE_FLOAT64, 63); /* too short to bother */
    for (size_t i = 0; i < v.n; i++)
        v.f64[i] = (double)i / 4;
    round_trip(&v, 1);
    gy__colvec_clear(&v);
}

Test(segment, integers_and_timestamps)
{
    struct gy_colvec v;
    enum gy_type types[] = {GY_TYPE_INT64, GY_TYPE_TIMESTAMP};
    for (size_t t = 0; t < 2; t++) {
        for (unsigned bits = 0; bits <= 56; bits += 7) {
            vec(&v, types[t], 20000);
            int64_t base = (int64_t)rnd() >> 9;
            for (size_t i = 0; i < v.n; i++)
                v.i64[i] = base + (bits ? (int64_t)(rnd() >> (64 - bits)) : 0);
            v.valid[rnd() % v.n] = 0; /* a null row keeps its (packed) value */
            round_trip(&v, 2);
            gy__colvec_clear(&v);
        }
    }
    /* the whole int64 range (64 bits a value): zstd */
    vec(&v, GY_TYPE_INT64, 1000);
    for (size_t i = 0; i < v.n; i++)
        v.i64[i] = i % 3 == 0 ? INT64_MIN : i % 3 == 1 ? INT64_MAX : (int64_t)rnd();
    round_trip(&v, 1);
    /* a few distinct values far apart: zstd stores them in a byte or two */
    for (size_t i = 0; i < v.n; i++)
        v.i64[i] = (int64_t)(rnd() % 4) * 1000000000000000LL;
    round_trip(&v, 1);
    gy__colvec_clear(&v);
}

Test(segment, strings_and_bools_stay_zstd)
{
    struct gy_colvec v, d;
    struct gy_buf b;
    vec(&v, GY_TYPE_BOOL, 1000);
    for (size_t i = 0; i < v.n; i++)
        v.b[i] = rnd() % 2;
    round_trip(&v, 1);
    gy__colvec_clear(&v);
    cr_assert_eq(gy__colvec_init(&v, GY_TYPE_STRING, 1000), GY_OK);
    for (size_t i = 0; i < 1000; i++) {
        char t[32];
        int n = snprintf(t, sizeof t, "v%llu", (unsigned long long)(rnd() % 100));
        cr_assert_eq(gy__colvec_push_str(&v, 1000, t, (size_t)n, i % 9 != 0), GY_OK);
    }
    gy_buf_init(&b, (size_t)1 << 30);
    cr_assert_eq(gy__segment_encode(&v, &b), GY_OK);
    cr_assert_eq((unsigned char)b.data[7], 1);
    cr_assert_eq(gy__segment_decode(b.data, b.len, GY_TYPE_STRING, 1000, &d), GY_OK);
    cr_assert(memcmp(d.off, v.off, 1001 * sizeof *d.off) == 0);
    cr_assert(memcmp(d.data, v.data, v.off[1000]) == 0);
    cr_assert(memcmp(d.valid, v.valid, 1000) == 0);
    gy__colvec_clear(&d);
    gy__colvec_clear(&v);
    gy_buf_free(&b);
}

/* A packed float segment with its header bytes (after the 20-byte segment header) changed. */
static void expect_corrupt(size_t at, unsigned char byte)
{
    struct gy_colvec v, d;
    struct gy_buf b;
    vec(&v, GY_TYPE_FLOAT64, 1000);
    for (size_t i = 0; i < v.n; i++)
        v.f64[i] = (double)(int64_t)(rnd() % 100000) / 1000;
    gy_buf_init(&b, (size_t)1 << 30);
    cr_assert_eq(gy__segment_encode(&v, &b), GY_OK);
    cr_assert_eq((unsigned char)b.data[7], 2);
    b.data[at] = (char)byte;
    cr_assert_eq(gy__segment_decode(b.data, b.len, GY_TYPE_FLOAT64, v.n, &d), GY_E_CORRUPT,
                 "byte %zu = %u decoded", at, byte);
    cr_assert(strstr(gy_error_msg(), "segment"), "%s", gy_error_msg());
    /* and a truncated one */
    cr_assert_eq(gy__segment_decode(b.data, b.len - 1, GY_TYPE_FLOAT64, v.n, &d), GY_E_CORRUPT);
    gy__colvec_clear(&v);
    gy_buf_free(&b);
}

Test(segment, packed_header_damage_is_corrupt)
{
    expect_corrupt(20, 0);    /* kind: integers in a float column */
    expect_corrupt(20, 7);    /* unknown kind */
    expect_corrupt(21, 16);   /* scale beyond 10^15 */
    expect_corrupt(22, 65);   /* width beyond 64 */
    expect_corrupt(22, 3);    /* width that does not match the length */
    expect_corrupt(23, 1);    /* reserved byte */
    expect_corrupt(31, 0x7F); /* base far beyond 2^51 */
    expect_corrupt(7, 3);     /* unknown codec */
}

Test(segment, packed_integers_are_not_floats)
{
    struct gy_colvec v, d;
    struct gy_buf b;
    vec(&v, GY_TYPE_INT64, 1000);
    for (size_t i = 0; i < v.n; i++)
        v.i64[i] = (int64_t)(rnd() % 1000);
    gy_buf_init(&b, (size_t)1 << 30);
    cr_assert_eq(gy__segment_encode(&v, &b), GY_OK);
    b.data[5] = (char)GY_TYPE_FLOAT64; /* claims a float column */
    cr_assert_eq(gy__segment_decode(b.data, b.len, GY_TYPE_FLOAT64, v.n, &d), GY_E_CORRUPT);
    gy__colvec_clear(&v);
    gy_buf_free(&b);
}
