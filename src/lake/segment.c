/* SPDX-License-Identifier: MIT */
/*
 * segment.c - column vectors and their on-disk form. A segment is one column of one chunk:
 *
 *   "GYSG" | u8 format (1) | u8 type | u8 flags (bit 0: has nulls) | u8 codec (1: zstd)
 *   | u32 rows | u64 raw length | zstd frame of the raw payload
 *
 * The raw payload is the validity bitmap (only when some row is null, LSB first), then the
 * values: 8-byte little-endian doubles or integers, one byte per bool, or for strings
 * u32 offsets[rows + 1] followed by the bytes. Segments are stored as content-addressed
 * objects, so the object store's SHA-256 is their checksum; decoding still validates every
 * length, type and offset, because a segment is outside input as far as this code knows.
 *
 * Codec 2 (packed, numbers only, no zstd) stores the raw length then the bitmap (when some
 * row is null) and a frame-of-reference bit-packing of integers: int64 and timestamp values
 * as themselves, float64 columns whose every value is exactly m / 10^s for integers m
 * (|m| < 2^51, s <= 15; what "%.6f"-style text parses to) as those m. Decoding divides m by
 * 10^s - one correctly rounded IEEE division, the very operation the encoder checked each
 * value against bit for bit - so the round trip is lossless. It is chosen when it applies
 * and the values are not few and wide (which zstd squeezes better): it costs a few ns per
 * value where zstd costs about 15, and halves the bytes hashed and written for such floats.
 *
 * Encoding keeps one zstd compression context per thread (freed when the thread exits), and
 * compresses fixed-width values without nulls straight from the column vector.
 */
#include "lake/lake_int.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <zstd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SEG_HDR 20
#define SEG_MAX_RAW ((uint64_t)1 << 31)
#define STR_MAX_BYTES (UINT32_MAX - 1)
#define CODEC_ZSTD 1
#define CODEC_PACKED 2
#define PACK_HDR 12      /* u8 kind, u8 scale, u8 width, u8 reserved, i64 base */
#define PACK_INT 0       /* kind: value = base + u */
#define PACK_DEC 1       /* kind: value = (double)(base + u) / 10^scale */
#define DEC_SCALE_MAX 15 /* 10^15 < 2^53: every power used is an exact double */
#define DEC_M_MAX 0x1p51 /* |m| < 2^51: rounding by adding 1.5 * 2^52 is exact */

static size_t value_width(enum gy_type t)
{
    switch (t) {
    case GY_TYPE_FLOAT64:
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        return 8;
    case GY_TYPE_BOOL:
        return 1;
    default:
        return 0;
    }
}

enum gy_status gy__colvec_init(struct gy_colvec *v, enum gy_type type, size_t cap)
{
    memset(v, 0, sizeof *v);
    v->type = type;
    if (cap == 0)
        cap = 1;
    v->valid = gy_malloc(cap);
    if (!v->valid)
        goto oom;
    switch (type) {
    case GY_TYPE_FLOAT64:
        v->f64 = gy_malloc(cap * sizeof *v->f64);
        if (!v->f64)
            goto oom;
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        v->i64 = gy_malloc(cap * sizeof *v->i64);
        if (!v->i64)
            goto oom;
        break;
    case GY_TYPE_BOOL:
        v->b = gy_malloc(cap);
        if (!v->b)
            goto oom;
        break;
    case GY_TYPE_STRING:
        v->off = gy_malloc((cap + 1) * sizeof *v->off);
        if (!v->off)
            goto oom;
        v->off[0] = 0;
        break;
    default:
        gy__colvec_clear(v);
        return gy_error_set(GY_E_INVALID, "unknown column type %d", (int)type);
    }
    return GY_OK;
oom:
    gy__colvec_clear(v);
    return gy_error_set(GY_E_NOMEM, "out of memory for a column of %zu rows", cap);
}

enum gy_status gy__colvec_push_str(struct gy_colvec *v, size_t cap_rows, const char *p, size_t len,
                                   int valid)
{
    size_t used = v->off[v->n];
    GY_ASSERT(v->n < cap_rows);
    if (len > STR_MAX_BYTES - used)
        return gy_error_set(GY_E_TOO_LARGE, "string data of one chunk exceeds 4 GiB");
    if (used + len > v->data_len) {
        size_t cap = v->data_len ? v->data_len : 4096;
        char *d;
        while (cap < used + len)
            cap *= 2;
        d = gy_realloc(v->data, cap);
        if (!d)
            return gy_error_set(GY_E_NOMEM, "out of memory for string data");
        v->data = d;
        v->data_len = cap;
    }
    if (len)
        memcpy(v->data + used, p, len);
    v->valid[v->n] = (uint8_t)(valid != 0);
    v->off[v->n + 1] = (uint32_t)(used + len);
    v->n++;
    return GY_OK;
}

void gy__colvec_clear(struct gy_colvec *v)
{
    gy_free(v->valid);
    gy_free(v->f64);
    gy_free(v->i64);
    gy_free(v->b);
    gy_free(v->off);
    gy_free(v->data);
    memset(v, 0, sizeof *v);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Everything here assumes a little-endian host for the value arrays (checked at build). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "gyre segments assume little-endian");

static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;
static int cctx_key_ok;

static void cctx_destroy(void *p)
{
    ZSTD_freeCCtx(p);
}

static void cctx_key_init(void)
{
    cctx_key_ok = pthread_key_create(&cctx_key, cctx_destroy) == 0;
}

/* The calling thread's compression context (created on first use); NULL when none can be
 * made, and then the caller compresses with a one-off context. */
static ZSTD_CCtx *thread_cctx(void)
{
    ZSTD_CCtx *c;
    pthread_once(&cctx_once, cctx_key_init);
    if (!cctx_key_ok)
        return NULL;
    c = pthread_getspecific(cctx_key);
    if (!c) {
        c = ZSTD_createCCtx();
        if (c && pthread_setspecific(cctx_key, c) != 0) {
            ZSTD_freeCCtx(c);
            c = NULL;
        }
    }
    return c;
}

/* ------------------------------------------------------------------ packed codec */

static const double dec_pow10[DEC_SCALE_MAX + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static inline uint64_t dbits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* Bits needed for values 0..span. */
static unsigned width_of(uint64_t span)
{
    return span ? 64u - (unsigned)__builtin_clzll(span) : 0u;
}

#if FLT_EVAL_METHOD == 0
/*
 * m = x * 10^s rounded to an integer, returned as an exact double (adding and subtracting
 * 1.5 * 2^52 rounds to the nearest integer below 2^51). dec_m also sets bits in *bad unless
 * |x * 10^s| < 2^51 and m / 10^s gives back x bit for bit, which rules out -0.0, the
 * infinities and NaN too.
 */
static inline double dec_round(double x, double pw)
{
    return (x * pw + 0x1.8p52) - 0x1.8p52;
}

static inline double dec_m(double x, double pw, uint64_t *bad)
{
    double y = x * pw;
    double m = (y + 0x1.8p52) - 0x1.8p52;
    *bad |= (dbits(m / pw) ^ dbits(x)) | (uint64_t) !(fabs(y) < DEC_M_MAX);
    return m;
}

/* The smallest scale at which x is m / 10^s exactly, or -1. */
static int dec_scale(double x)
{
    for (int sc = 0; sc <= DEC_SCALE_MAX; sc++) {
        uint64_t bad = 0;
        (void)dec_m(x, dec_pow10[sc], &bad);
        if (!bad)
            return sc;
    }
    return -1;
}
#endif

/* Distinct values among the first (up to) 64: few of them means zstd will do better. */
static size_t sample_distinct(const uint64_t *u, size_t n)
{
    uint64_t seen[64];
    size_t k = 0;
    n = GY_MIN(n, (size_t)64);
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && seen[j] != u[i])
            j++;
        if (j == k)
            seen[k++] = u[i];
    }
    return k;
}

/*
 * Plans the packed codec for v: kind, scale, base and width, or returns 0 when it does not
 * apply (strings, bools, non-decimal floats) or would not pay (fewer than 64 rows, or a few
 * distinct values spread wide: zstd stores those in a byte or two).
 */
static int pack_plan(const struct gy_colvec *v, int *kind, int *scale, int64_t *base,
                     unsigned *width)
{
    size_t n = v->n;
    if (n < 64)
        return 0;
    if (v->type == GY_TYPE_INT64 || v->type == GY_TYPE_TIMESTAMP) {
        const int64_t *d = v->i64;
        int64_t lo = d[0], hi = d[0];
        for (size_t i = 1; i < n; i++) {
            lo = d[i] < lo ? d[i] : lo;
            hi = d[i] > hi ? d[i] : hi;
        }
        *kind = PACK_INT;
        *scale = 0;
        *base = lo;
        *width = width_of((uint64_t)hi - (uint64_t)lo);
        return *width <= 56 && (*width <= 16 || sample_distinct((const uint64_t *)d, n) > 16);
    }
#if FLT_EVAL_METHOD == 0
    if (v->type == GY_TYPE_FLOAT64) {
        const double *d = v->f64;
        int sc = 0;
        /* The scale the first values need; a later value needing more makes the check fail. */
        for (size_t i = 0; i < 16; i++) {
            int t = dec_scale(d[i * (n / 16)]);
            if (t < 0)
                return 0;
            sc = GY_MAX(sc, t);
        }
        const double pw = dec_pow10[sc];
        uint64_t bad = 0;
        double lo = dec_round(d[0], pw), hi = lo;
        size_t i = 0;
#if defined(__SSE2__)
        {
            const __m128d vp = _mm_set1_pd(pw), vc = _mm_set1_pd(0x1.8p52);
            const __m128d vmax = _mm_set1_pd(DEC_M_MAX),
                          vabs = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));
            __m128d vlo = _mm_set1_pd(lo), vhi = vlo;
            __m128i vbad = _mm_setzero_si128();
            for (; i + 2 <= n; i += 2) {
                __m128d x = _mm_loadu_pd(d + i), y = _mm_mul_pd(x, vp);
                __m128d m = _mm_sub_pd(_mm_add_pd(y, vc), vc);
                __m128i diff =
                    _mm_xor_si128(_mm_castpd_si128(_mm_div_pd(m, vp)), _mm_castpd_si128(x));
                __m128d big = _mm_cmpnlt_pd(_mm_and_pd(y, vabs), vmax); /* also NaN */
                vbad = _mm_or_si128(vbad, _mm_or_si128(diff, _mm_castpd_si128(big)));
                vlo = _mm_min_pd(vlo, m);
                vhi = _mm_max_pd(vhi, m);
            }
            double l2[2], h2[2];
            uint64_t b2[2];
            _mm_storeu_pd(l2, vlo);
            _mm_storeu_pd(h2, vhi);
            _mm_storeu_si128((__m128i *)(void *)b2, vbad);
            lo = GY_MIN(l2[0], l2[1]);
            hi = GY_MAX(h2[0], h2[1]);
            bad = b2[0] | b2[1];
        }
#endif
        for (; i < n; i++) {
            double m = dec_m(d[i], pw, &bad);
            lo = m < lo ? m : lo;
            hi = m > hi ? m : hi;
        }
        if (bad)
            return 0;
        *kind = PACK_DEC;
        *scale = sc;
        *base = (int64_t)lo;
        *width = width_of((uint64_t)((int64_t)hi - (int64_t)lo));
        return *width <= 16 || sample_distinct((const uint64_t *)(const void *)d, n) > 16;
    }
#endif
    return 0;
}

/* Writes the n values u_i = value_i - base, @p w bits each, LSB first, as LE 64-bit words. */
static void pack_bits(const struct gy_colvec *v, int kind, int scale, int64_t base, unsigned w,
                      unsigned char *dst)
{
    size_t n = v->n, o = 0;
    uint64_t cur = 0;
    unsigned bit = 0;
    if (w == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        if (kind == PACK_INT) {
            u = (uint64_t)v->i64[i] - (uint64_t)base;
        } else {
#if FLT_EVAL_METHOD == 0
            u = (uint64_t)(int64_t)dec_round(v->f64[i], dec_pow10[scale]) - (uint64_t)base;
#else
            u = 0;
            (void)scale;
#endif
        }
        cur |= u << bit;
        if (bit + w >= 64) {
            memcpy(dst + 8 * o++, &cur, 8);
            cur = bit ? u >> (64 - bit) : 0;
            bit = bit + w - 64;
        } else {
            bit += w;
        }
    }
    if (bit)
        memcpy(dst + 8 * o, &cur, 8);
}

/* Bytes of n packed values of w bits: whole 64-bit words. */
static uint64_t packed_len(size_t n, unsigned w)
{
    return ((uint64_t)n * w + 63) / 64 * 8;
}

static enum gy_status encode_packed(const struct gy_colvec *v, int has_nulls, int kind, int scale,
                                    int64_t base, unsigned w, struct gy_buf *out)
{
    size_t n = v->n, bitmap = has_nulls ? (n + 7) / 8 : 0;
    uint64_t body = bitmap + PACK_HDR + packed_len(n, w);
    enum gy_status rc = gy_buf_reserve(out, SEG_HDR + body);
    unsigned char *h, *p;
    if (rc)
        return rc;
    h = (unsigned char *)out->data + out->len;
    memcpy(h, "GYSG", 4);
    h[4] = 1;
    h[5] = (unsigned char)v->type;
    h[6] = (unsigned char)has_nulls;
    h[7] = CODEC_PACKED;
    put_u32(h + 8, (uint32_t)n);
    put_u64(h + 12, body);
    p = h + SEG_HDR;
    memset(p, 0, (size_t)body);
    for (size_t i = 0; has_nulls && i < n; i++)
        if (v->valid[i])
            p[i >> 3] |= (unsigned char)(1u << (i & 7));
    p += bitmap;
    p[0] = (unsigned char)kind;
    p[1] = (unsigned char)scale;
    p[2] = (unsigned char)w;
    p[3] = 0;
    put_u64(p + 4, (uint64_t)base);
    pack_bits(v, kind, scale, base, w, p + PACK_HDR);
    out->len += SEG_HDR + (size_t)body;
    out->data[out->len] = '\0';
    return GY_OK;
}

/* Reads the packed values (after the bitmap, @p len bytes) into v's value array. */
static enum gy_status decode_packed(const unsigned char *p, uint64_t len, size_t n,
                                    struct gy_colvec *v)
{
    int kind, scale;
    unsigned w;
    int64_t base;
    uint64_t mask;
    if (len < PACK_HDR)
        return gy_error_set(GY_E_CORRUPT, "segment: short packed payload");
    kind = p[0];
    scale = p[1];
    w = p[2];
    base = (int64_t)get_u64(p + 4);
    if (p[3] != 0 || w > 64 || len != PACK_HDR + packed_len(n, w))
        return gy_error_set(GY_E_CORRUPT, "segment: bad packed header");
    if (kind == PACK_INT ? (v->type != GY_TYPE_INT64 && v->type != GY_TYPE_TIMESTAMP) || scale
                         : kind != PACK_DEC || v->type != GY_TYPE_FLOAT64 || scale > DEC_SCALE_MAX)
        return gy_error_set(GY_E_CORRUPT, "segment: bad packed kind %d for %s", kind,
                            gy_type_name(v->type));
    mask = w == 64 ? UINT64_MAX : (UINT64_C(1) << w) - 1;
    /* Decimals: |base| < 2^51 and w <= 52 keep every m = base + u below 2^53, an exact
     * double (the encoder's m are all below 2^51). */
    if (kind == PACK_DEC && (w > 52 || !(fabs((double)base) < DEC_M_MAX)))
        return gy_error_set(GY_E_CORRUPT, "segment: packed decimals out of range");
#if FLT_EVAL_METHOD != 0
    /* Extended-precision arithmetic could round m / 10^s differently from the encoder. */
    if (kind == PACK_DEC)
        return gy_error_set(GY_E_UNSUPPORTED, "segment: packed decimals need double arithmetic");
#endif
    p += PACK_HDR;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        if (w) {
            uint64_t bitpos = (uint64_t)i * w, lo;
            unsigned off = (unsigned)(bitpos & 63);
            memcpy(&lo, p + 8 * (bitpos >> 6), 8);
            u = lo >> off;
            if (off + w > 64) {
                uint64_t hi;
                memcpy(&hi, p + 8 * (bitpos >> 6) + 8, 8);
                u |= hi << (64 - off);
            }
            u &= mask;
        }
        if (kind == PACK_INT)
            v->i64[i] = (int64_t)((uint64_t)base + u);
        else
            v->f64[i] = (double)(int64_t)((uint64_t)base + u) / dec_pow10[scale];
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ encode / decode */

enum gy_status gy__segment_encode(const struct gy_colvec *v, struct gy_buf *out)
{
    size_t n = v->n, w = value_width(v->type), bitmap = 0, raw_len, bound, at;
    int has_nulls = 0;
    unsigned char *raw = NULL, *hdr;
    const void *src = NULL;
    enum gy_status rc;

    if (n > UINT32_MAX)
        return gy_error_set(GY_E_TOO_LARGE, "segment of %zu rows", n);
    has_nulls = n > 0 && memchr(v->valid, 0, n) != NULL;
    {
        int kind, scale;
        int64_t base;
        unsigned pw;
        if (pack_plan(v, &kind, &scale, &base, &pw))
            return encode_packed(v, has_nulls, kind, scale, base, pw, out);
    }
    if (has_nulls)
        bitmap = (n + 7) / 8;
    if (v->type == GY_TYPE_STRING)
        raw_len = bitmap + (n + 1) * 4 + v->off[n];
    else
        raw_len = bitmap + n * w;
    if (!has_nulls && v->type != GY_TYPE_STRING && value_width(v->type) > 0) {
        /* The payload is the value array itself. */
        src = v->type == GY_TYPE_FLOAT64 ? (const void *)v->f64
              : v->type == GY_TYPE_BOOL  ? (const void *)v->b
                                         : (const void *)v->i64;
        if (!src && raw_len == 0)
            src = "";
        if (src)
            goto compress;
    }
    raw = gy_malloc(raw_len ? raw_len : 1);
    if (!raw)
        return gy_error_set(GY_E_NOMEM, "out of memory encoding a segment");
    at = 0;
    if (has_nulls) {
        memset(raw, 0, bitmap);
        for (size_t i = 0; i < n; i++)
            if (v->valid[i])
                raw[i >> 3] |= (unsigned char)(1u << (i & 7));
        at = bitmap;
    }
    switch (v->type) {
    case GY_TYPE_FLOAT64:
        memcpy(raw + at, v->f64, n * 8);
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        memcpy(raw + at, v->i64, n * 8);
        break;
    case GY_TYPE_BOOL:
        memcpy(raw + at, v->b, n);
        break;
    case GY_TYPE_STRING:
        memcpy(raw + at, v->off, (n + 1) * 4);
        if (v->off[n])
            memcpy(raw + at + (n + 1) * 4, v->data, v->off[n]);
        break;
    default:
        gy_free(raw);
        return gy_error_set(GY_E_INVALID, "unknown column type %d", (int)v->type);
    }
    src = raw;
compress:
    bound = ZSTD_compressBound(raw_len);
    rc = gy_buf_reserve(out, SEG_HDR + bound);
    if (rc)
        goto out;
    hdr = (unsigned char *)out->data + out->len;
    memcpy(hdr, "GYSG", 4);
    hdr[4] = 1;
    hdr[5] = (unsigned char)v->type;
    hdr[6] = (unsigned char)has_nulls;
    hdr[7] = CODEC_ZSTD;
    put_u32(hdr + 8, (uint32_t)n);
    put_u64(hdr + 12, raw_len);
    {
        ZSTD_CCtx *cc = thread_cctx();
        size_t z = cc ? ZSTD_compressCCtx(cc, hdr + SEG_HDR, bound, src, raw_len, 1)
                      : ZSTD_compress(hdr + SEG_HDR, bound, src, raw_len, 1);
        if (ZSTD_isError(z)) {
            rc = gy_error_set(GY_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(z));
            goto out;
        }
        out->len += SEG_HDR + z;
        out->data[out->len] = '\0';
    }
out:
    gy_free(raw);
    return rc;
}

enum gy_status gy__segment_decode(const void *data, size_t len, enum gy_type type, size_t nrows,
                                  struct gy_colvec *v)
{
    const unsigned char *p = data;
    unsigned char *raw = NULL;
    uint64_t raw_len, expect;
    size_t bitmap, at, z;
    int has_nulls;
    enum gy_status rc;

    memset(v, 0, sizeof *v);
    if (len < SEG_HDR || memcmp(p, "GYSG", 4) != 0)
        return gy_error_set(GY_E_CORRUPT, "segment: bad header");
    if (p[4] != 1 || (p[7] != CODEC_ZSTD && p[7] != CODEC_PACKED))
        return gy_error_set(GY_E_CORRUPT, "segment: unknown format %u or codec %u", p[4], p[7]);
    if (p[5] != (unsigned char)type)
        return gy_error_set(GY_E_CORRUPT, "segment: type %u where %s was expected", p[5],
                            gy_type_name(type));
    if (p[6] > 1)
        return gy_error_set(GY_E_CORRUPT, "segment: bad flags");
    has_nulls = p[6];
    if (get_u32(p + 8) != nrows)
        return gy_error_set(GY_E_CORRUPT, "segment: %u rows where the manifest says %zu",
                            get_u32(p + 8), nrows);
    raw_len = get_u64(p + 12);
    bitmap = has_nulls ? (nrows + 7) / 8 : 0;
    if (p[7] == CODEC_PACKED) {
        if (raw_len != len - SEG_HDR || raw_len < bitmap)
            return gy_error_set(GY_E_CORRUPT, "segment: bad payload length %llu",
                                (unsigned long long)raw_len);
        if ((rc = gy__colvec_init(v, type, nrows)) != GY_OK)
            return rc;
        if (has_nulls) {
            for (size_t i = 0; i < nrows; i++)
                v->valid[i] = (p[SEG_HDR + (i >> 3)] >> (i & 7)) & 1;
        } else {
            memset(v->valid, 1, nrows);
        }
        rc = value_width(type) == 8
                 ? decode_packed(p + SEG_HDR + bitmap, raw_len - bitmap, nrows, v)
                 : gy_error_set(GY_E_CORRUPT, "segment: packed %s column", gy_type_name(type));
        if (rc)
            goto fail;
        v->n = nrows;
        return GY_OK;
    }
    if (type == GY_TYPE_STRING)
        expect = bitmap + ((uint64_t)nrows + 1) * 4;
    else
        expect = bitmap + (uint64_t)nrows * value_width(type);
    if (raw_len > SEG_MAX_RAW || raw_len < expect || (type != GY_TYPE_STRING && raw_len != expect))
        return gy_error_set(GY_E_CORRUPT, "segment: bad payload length %llu",
                            (unsigned long long)raw_len);
    {
        unsigned long long fc = ZSTD_getFrameContentSize(p + SEG_HDR, len - SEG_HDR);
        if (fc != raw_len)
            return gy_error_set(GY_E_CORRUPT, "segment: compressed frame size mismatch");
    }
    raw = gy_malloc(raw_len ? raw_len : 1);
    if (!raw)
        return gy_error_set(GY_E_NOMEM, "out of memory decoding a segment");
    z = ZSTD_decompress(raw, raw_len, p + SEG_HDR, len - SEG_HDR);
    if (ZSTD_isError(z) || z != raw_len) {
        rc = gy_error_set(GY_E_CORRUPT, "segment: %s",
                          ZSTD_isError(z) ? ZSTD_getErrorName(z) : "short payload");
        goto fail;
    }
    if ((rc = gy__colvec_init(v, type, nrows)) != GY_OK)
        goto fail;
    if (has_nulls) {
        for (size_t i = 0; i < nrows; i++)
            v->valid[i] = (raw[i >> 3] >> (i & 7)) & 1;
    } else {
        memset(v->valid, 1, nrows);
    }
    at = bitmap;
    switch (type) {
    case GY_TYPE_FLOAT64:
        memcpy(v->f64, raw + at, nrows * 8);
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        memcpy(v->i64, raw + at, nrows * 8);
        break;
    case GY_TYPE_BOOL:
        memcpy(v->b, raw + at, nrows);
        for (size_t i = 0; i < nrows; i++) {
            if (v->b[i] > 1) {
                rc = gy_error_set(GY_E_CORRUPT, "segment: bad bool value");
                goto fail;
            }
        }
        break;
    case GY_TYPE_STRING: {
        size_t dl;
        memcpy(v->off, raw + at, (nrows + 1) * 4);
        dl = raw_len - expect;
        if (v->off[0] != 0 || v->off[nrows] != dl) {
            rc = gy_error_set(GY_E_CORRUPT, "segment: bad string offsets");
            goto fail;
        }
        for (size_t i = 0; i < nrows; i++) {
            if (v->off[i] > v->off[i + 1]) {
                rc = gy_error_set(GY_E_CORRUPT, "segment: bad string offsets");
                goto fail;
            }
        }
        v->data = gy_malloc(dl ? dl : 1);
        if (!v->data) {
            rc = GY_E_NOMEM;
            goto fail;
        }
        memcpy(v->data, raw + expect, dl);
        v->data_len = dl;
        break;
    }
    default:
        rc = gy_error_set(GY_E_CORRUPT, "segment: unknown type");
        goto fail;
    }
    v->n = nrows;
    gy_free(raw);
    return GY_OK;
fail:
    gy_free(raw);
    gy__colvec_clear(v);
    return rc;
}
