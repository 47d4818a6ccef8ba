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
 * Encoding keeps one zstd compression context per thread (freed when the thread exits), and
 * compresses fixed-width values without nulls straight from the column vector.
 */
#include "lake/lake_int.h"

#include <pthread.h>
#include <string.h>
#include <zstd.h>

#define SEG_HDR 20
#define SEG_MAX_RAW ((uint64_t)1 << 31)
#define STR_MAX_BYTES (UINT32_MAX - 1)

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

enum gy_status gy__segment_encode(const struct gy_colvec *v, struct gy_buf *out)
{
    size_t n = v->n, w = value_width(v->type), bitmap = 0, raw_len, bound, at;
    int has_nulls = 0;
    unsigned char *raw = NULL, *hdr;
    const void *src = NULL;
    enum gy_status rc;

    if (n > UINT32_MAX)
        return gy_error_set(GY_E_TOO_LARGE, "segment of %zu rows", n);
    for (size_t i = 0; i < n; i++) {
        if (!v->valid[i]) {
            has_nulls = 1;
            break;
        }
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
    hdr[7] = 1;
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
    if (p[4] != 1 || p[7] != 1)
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
