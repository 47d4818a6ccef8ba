/* SPDX-License-Identifier: MIT */
/*
 * parse.c - field parsers for ingest and schema inference: null tokens, float64 (bit-exact
 * with strtod, with a Clinger fast path), int64, bool, timestamps (RFC 3339 or epoch
 * seconds, computed with days-from-civil arithmetic, no libc time zone or locale), and
 * UTF-8 validation with an 8-bytes-at-a-time ASCII fast path.
 *
 * Every function takes a pointer and a length (fields are not NUL-terminated) and consumes
 * the whole input or fails with GY_E_INVALID without setting error text: callers know the
 * field and location and write the message. All functions are thread-safe.
 */
#include "lake/lake_int.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ null tokens */

int gy__is_null_token(const char *p, size_t len, enum gy_type t)
{
    switch (len) {
    case 0:
        return 1;
    case 2:
        return memcmp(p, "NA", 2) == 0;
    case 3:
        return memcmp(p, "N/A", 3) == 0 || (t == GY_TYPE_FLOAT64 && memcmp(p, "NaN", 3) == 0);
    case 4:
        return memcmp(p, "null", 4) == 0 || memcmp(p, "NULL", 4) == 0;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ float64 */

/* Powers of ten that are exact in binary64 (10^22 < 2^53 * 2^22 fits: 5^22 < 2^53). */
static const double exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of p/len with the lowercase word w. */
static int word_ieq(const char *p, size_t len, const char *w)
{
    size_t wl = strlen(w);
    if (len != wl)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (ascii_lower((unsigned char)p[i]) != w[i])
            return 0;
    return 1;
}

/*
 * The slow path: strtod in the "C" locale on a NUL-terminated copy. The caller has already
 * checked the decimal grammar, so strtod sees only digits, sign, '.', and an exponent.
 */
static enum gy_status f64_slow(const char *p, size_t len, double *out)
{
    char stack[512];
    char *s = stack;
    char *end = NULL;
    double v;

    if (len >= sizeof(stack)) {
        s = gy_malloc(len + 1);
        if (s == NULL)
            return GY_E_NOMEM;
    }
    memcpy(s, p, len);
    s[len] = '\0';
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale != (locale_t)0)
        v = strtod_l(s, &end, c_locale);
    else
        v = strtod(s, &end);
    if (s != stack)
        gy_free(s);
    if (end != s + len)
        return GY_E_INVALID; /* cannot happen after the grammar check; kept defensive */
    /* Overflow to infinity is rejected: only the literals "inf"/"infinity" mean infinity. */
    if (isinf(v))
        return GY_E_INVALID;
    *out = v;
    return GY_OK;
}

#if defined(__SIZEOF_INT128__)
#define EL_MIN_EXP10 (-348)
#define EL_MAX_EXP10 347
/* 128-bit truncated mantissas of 10^k, k = -348 .. 347 ({low, high}); at the end of the file. */
static const uint64_t el_pow10[EL_MAX_EXP10 - EL_MIN_EXP10 + 1][2];

/* floor(x / 65536) for any sign (no reliance on arithmetic right shifts). */
static long floor_div65536(long x)
{
    return x >= 0 ? x / 65536 : -((-x + 65535) / 65536);
}

/*
 * The Eisel-Lemire algorithm (Lemire, "Number Parsing at a Gigabyte per Second", 2021; as in
 * Go's strconv and Rust's core): the double nearest to m * 10^q for a non-zero m < 2^64,
 * from one (rarely two) 64x128-bit products with a truncated power of ten. Returns 0 when
 * the truncation leaves the rounding undecided, the result would be subnormal, zero or
 * infinite, or q is out of the table; the caller then falls back to strtod. When it returns
 * 1 the result is the correctly rounded one (proved in the paper; tested here against
 * strtod).
 */
static int eisel_lemire(uint64_t m, long q, int neg, double *out)
{
    const uint64_t *pw;
    unsigned __int128 x;
    uint64_t xhi, xlo, mant, exp2, bits;
    int clz;

    if (m == 0 || q < EL_MIN_EXP10 || q > EL_MAX_EXP10)
        return 0;
    pw = el_pow10[q - EL_MIN_EXP10];
    clz = __builtin_clzll(m);
    m <<= clz;
    /* 217706 / 65536 ~ log2(10): the binary exponent of 10^q, biased. */
    exp2 = (uint64_t)(floor_div65536(217706L * q) + 64 + 1023) - (uint64_t)clz;
    x = (unsigned __int128)m * pw[1];
    xhi = (uint64_t)(x >> 64);
    xlo = (uint64_t)x;
    if ((xhi & 0x1FF) == 0x1FF && xlo + m < m) {
        /* The low bits are all ones: widen the approximation with the next 64 bits. */
        unsigned __int128 y = (unsigned __int128)m * pw[0];
        uint64_t yhi = (uint64_t)(y >> 64), ylo = (uint64_t)y;
        uint64_t mhi = xhi, mlo = xlo + yhi;
        if (mlo < xlo)
            mhi++;
        if ((mhi & 0x1FF) == 0x1FF && mlo + 1 == 0 && ylo + m < m)
            return 0;
        xhi = mhi;
        xlo = mlo;
    }
    /* Keep 54 bits, then round to 53 (ties to even, unless exactly halfway is unclear). */
    {
        uint64_t msb = xhi >> 63;
        mant = xhi >> (msb + 9);
        exp2 -= 1 ^ msb;
    }
    if (xlo == 0 && (xhi & 0x1FF) == 0 && (mant & 3) == 1)
        return 0;
    mant += mant & 1;
    mant >>= 1;
    if (mant >> 53) {
        mant >>= 1;
        exp2++;
    }
    if (exp2 - 1 >= 0x7FF - 1)
        return 0; /* subnormal, zero or infinite: leave it to strtod */
    bits = exp2 << 52 | (mant & UINT64_C(0x000FFFFFFFFFFFFF));
    if (neg)
        bits |= UINT64_C(1) << 63;
    memcpy(out, &bits, sizeof(bits));
    return 1;
}
#endif

static const uint64_t pow10_u64[9] = {1,      10,      100,      1000,     10000,
                                      100000, 1000000, 10000000, 100000000};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/*
 * Up to 8 bytes at s as a little-endian word (s[0] lowest), never reading outside the
 * input [p, e): bytes past e read as 0, which is not a digit.
 */
static inline uint64_t load8(const char *s, const char *e, const char *p)
{
    uint64_t w = 0;
    size_t r = (size_t)(e - s);
    if (r >= 8) {
        memcpy(&w, s, 8);
    } else if (r > 0) {
        GY_ASSERT(e - p >= 8); /* digit_run takes shorter inputs byte by byte */
        memcpy(&w, e - 8, 8);
        w >>= 8 * (8 - r);
    }
    return w;
}

/*
 * The number of leading ASCII digits in w (0..8), and their value in *val. SWAR: a byte is a
 * digit when (byte ^ '0') <= 9; the digits are then combined pairwise with two multiplies
 * (the method of fast_float's parse_eight_digits_unrolled), after shifting out the rest.
 */
static inline unsigned swar_digits(uint64_t w, uint64_t *val)
{
    uint64_t a = w ^ UINT64_C(0x3030303030303030);
    uint64_t nd = (((a & UINT64_C(0x7F7F7F7F7F7F7F7F)) + UINT64_C(0x7676767676767676)) | a) &
                  UINT64_C(0x8080808080808080);
    unsigned n = nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
    if (n == 0) {
        *val = 0;
        return 0;
    }
    a <<= 8 * (8 - n); /* the n digits to the top, zeros (digit 0) below */
    a = a * 10 + (a >> 8);
    a = ((a & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x000F424000000064) +
         ((a >> 16) & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x0000271000000001)) >>
        32;
    *val = (uint32_t)a;
    return n;
}

/* A run of digits from s: appends them to *m (wrapping past 19 digits) and counts them. */
static inline const char *digit_run(const char *s, const char *e, const char *p, uint64_t *m,
                                    long *count)
{
    if (e - p < 8) {
        for (; s < e && is_digit(*s); s++) {
            *m = *m * 10 + (uint64_t)(*s - '0');
            (*count)++;
        }
        return s;
    }
    for (;;) {
        uint64_t v;
        unsigned n = swar_digits(load8(s, e, p), &v);
        *m = *m * pow10_u64[n] + v;
        *count += n;
        s += n;
        if (n < 8)
            return s;
    }
}
#else
static inline const char *digit_run(const char *s, const char *e, const char *p, uint64_t *m,
                                    long *count)
{
    (void)p;
    for (; s < e && is_digit(*s); s++) {
        *m = *m * 10 + (uint64_t)(*s - '0');
        (*count)++;
    }
    return s;
}
#endif

enum gy_status gy__parse_f64(const char *p, size_t len, double *out)
{
    const char *s = p, *e = p + len;
    int neg = 0;
    uint64_t m = 0; /* the digits; wraps when there are more than 19 (then unused) */
    long nd = 0;    /* digits, leading zeros included */
    long nint, k;
    long ex = 0; /* explicit exponent, saturated */

    if (s == e)
        return GY_E_INVALID;
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    if (s == e)
        return GY_E_INVALID;
    if (!is_digit(*s) && *s != '.') {
        if (word_ieq(s, (size_t)(e - s), "inf") || word_ieq(s, (size_t)(e - s), "infinity")) {
            *out = neg ? -HUGE_VAL : HUGE_VAL;
            return GY_OK;
        }
        return GY_E_INVALID;
    }
    s = digit_run(s, e, p, &m, &nd);
    nint = nd;
    if (s < e && *s == '.')
        s = digit_run(s + 1, e, p, &m, &nd);
    if (nd == 0)
        return GY_E_INVALID;
    if (s < e && (*s == 'e' || *s == 'E')) {
        int eneg = 0;
        s++;
        if (s < e && (*s == '+' || *s == '-')) {
            eneg = *s == '-';
            s++;
        }
        if (s == e || !is_digit(*s))
            return GY_E_INVALID;
        for (; s < e && is_digit(*s); s++)
            if (ex < 100000)
                ex = ex * 10 + (*s - '0');
        if (eneg)
            ex = -ex;
    }
    if (s != e)
        return GY_E_INVALID;
    if (nd > 19)
        return f64_slow(p, len, out); /* m wrapped; strtod has the digits */
    if (m == 0) {
        /* Every digit was zero: the value is zero whatever the exponent (as strtod). */
        *out = neg ? -0.0 : 0.0;
        return GY_OK;
    }
    k = ex - (nd - nint); /* the value is exactly m * 10^k */
#if FLT_EVAL_METHOD == 0
    /*
     * Clinger's fast path: m <= 2^53 and 10^|k| (|k| <= 22) are exact doubles, so one IEEE
     * multiplication or division gives the correctly rounded result. When k > 22 but
     * m * 10^(k - 22) is still an exact integer <= 2^53, fold the excess in first.
     */
    if (m <= ((uint64_t)1 << 53) && k >= -22 && k <= 22 + 15) {
        double v;
        for (; k > 22; k--) {
            if (m > ((uint64_t)1 << 53) / 10)
                return f64_slow(p, len, out);
            m *= 10;
        }
        v = (double)m;
        v = k < 0 ? v / exact_pow10[-k] : v * exact_pow10[k];
        *out = neg ? -v : v;
        return GY_OK;
    }
#endif
#if defined(__SIZEOF_INT128__)
    if (eisel_lemire(m, k, neg, out))
        return GY_OK;
#endif
    return f64_slow(p, len, out);
}

/*
 * The short-decimal fast path of gy__parse_f64_padded: [-]D{1,7}[.D{0,8}] with nothing else,
 * read with two unaligned 8-byte loads (the caller guarantees the bytes past the field are
 * readable; they are masked off, never interpreted). The value is m / 10^f with m < 10^15 <
 * 2^53 and f <= 8, both exact doubles, so the one IEEE division is correctly rounded: the
 * same double strtod gives (Clinger's fast path). Returns 0 when the text has another shape.
 */
#if FLT_EVAL_METHOD == 0 && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline uint64_t load8_masked(const char *s, size_t rem)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return rem >= 8 ? w : w & ((UINT64_C(1) << (8 * rem)) - 1);
}

static inline int f64_short(const char *p, size_t len, double *out)
{
    const char *s = p;
    size_t rem = len;
    uint64_t ip, fr;
    unsigned n1, n2;
    int neg = 0;
    double v;

    if (rem > 0 && *s == '-') {
        neg = 1;
        s++;
        rem--;
    }
    n1 = swar_digits(load8_masked(s, rem), &ip);
    if (n1 == 0 || n1 == 8)
        return 0;
    s += n1;
    rem -= n1;
    if (rem == 0) {
        fr = 0;
        n2 = 0;
    } else {
        if (*s != '.')
            return 0;
        s++;
        rem--;
        if (rem > 8)
            return 0;
        n2 = swar_digits(load8_masked(s, rem), &fr);
        if (n2 != rem)
            return 0;
    }
    v = (double)(int64_t)(ip * pow10_u64[n2] + fr) / exact_pow10[n2]; /* < 10^15 */
    *out = neg ? -v : v;
    return 1;
}
#endif

enum gy_status gy__parse_f64_padded(const char *p, size_t len, double *out)
{
#if FLT_EVAL_METHOD == 0 && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (f64_short(p, len, out))
        return GY_OK;
#endif
    return gy__parse_f64(p, len, out);
}

/* ------------------------------------------------------------------ int64, bool */

enum gy_status gy__parse_i64(const char *p, size_t len, int64_t *out)
{
    const char *s = p, *e = p + len;
    int neg = 0;
    uint64_t acc = 0, limit;

    if (s < e && (*s == '+' || *s == '-')) {
        neg = *s == '-';
        s++;
    }
    if (s == e)
        return GY_E_INVALID;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    /* Up to 18 digits cannot overflow (< 10^18 < 2^63); checked arithmetic after that. */
    for (size_t i = 0; s < e; s++, i++) {
        unsigned d;
        if (!is_digit(*s))
            return GY_E_INVALID;
        d = (unsigned)(*s - '0');
        if (i >= 18 && (acc > (limit - d) / 10))
            return GY_E_INVALID;
        acc = acc * 10 + d;
    }
    if (neg)
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return GY_OK;
}

enum gy_status gy__parse_bool(const char *p, size_t len, uint8_t *out)
{
    static const char *const yes[] = {"true", "1", "yes", "t"};
    static const char *const no[] = {"false", "0", "no", "f"};
    for (size_t i = 0; i < GY_ARRAY_LEN(yes); i++) {
        if (word_ieq(p, len, yes[i])) {
            *out = 1;
            return GY_OK;
        }
        if (word_ieq(p, len, no[i])) {
            *out = 0;
            return GY_OK;
        }
    }
    return GY_E_INVALID;
}

/* ------------------------------------------------------------------ timestamps */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly n digits at p into *v; 0 when any is not a digit. */
static int digits(const char *p, int n, unsigned *v)
{
    unsigned acc = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return 0;
        acc = acc * 10 + (unsigned)(p[i] - '0');
    }
    *v = acc;
    return 1;
}

enum gy_status gy__parse_timestamp(const char *p, size_t len, int64_t *out)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    int64_t us = 0, secs;
    int osign = 0;
    size_t i;

    if (len == 0)
        return GY_E_INVALID;
    /* Integer epoch seconds: an optional sign and digits only. */
    i = (p[0] == '+' || p[0] == '-') ? 1 : 0;
    if (i < len && is_digit(p[i])) {
        size_t j = i;
        while (j < len && is_digit(p[j]))
            j++;
        if (j == len) {
            int64_t s;
            if (gy__parse_i64(p, len, &s) != GY_OK)
                return GY_E_INVALID;
            if (s > INT64_MAX / 1000000 || s < INT64_MIN / 1000000)
                return GY_E_INVALID;
            *out = s * 1000000;
            return GY_OK;
        }
    }
    /* YYYY-MM-DD */
    if (len < 10 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
        !digits(p + 8, 2, &d))
        return GY_E_INVALID;
    if (mo < 1 || mo > 12 || d < 1)
        return GY_E_INVALID;
    if (d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
        return GY_E_INVALID;
    i = 10;
    if (i < len) {
        /* [T t ' ']HH:MM:SS[.fraction][Z z | +HH:MM | -HH:MM] */
        if (p[i] != 'T' && p[i] != 't' && p[i] != ' ')
            return GY_E_INVALID;
        if (len < 19 || !digits(p + 11, 2, &h) || p[13] != ':' || !digits(p + 14, 2, &mi) ||
            p[16] != ':' || !digits(p + 17, 2, &sec))
            return GY_E_INVALID;
        if (h > 23 || mi > 59 || sec > 59)
            return GY_E_INVALID;
        i = 19;
        if (i < len && p[i] == '.') {
            size_t nfrac = 0;
            i++;
            while (i < len && is_digit(p[i])) {
                if (nfrac < 6)
                    us = us * 10 + (p[i] - '0');
                nfrac++;
                i++;
            }
            if (nfrac == 0 || nfrac > 9)
                return GY_E_INVALID;
            for (size_t k = nfrac; k < 6; k++)
                us *= 10;
        }
        if (i < len) {
            if (p[i] == 'Z' || p[i] == 'z') {
                i++;
            } else if (p[i] == '+' || p[i] == '-') {
                osign = p[i] == '-' ? -1 : 1;
                if (len - i < 6 || !digits(p + i + 1, 2, &oh) || p[i + 3] != ':' ||
                    !digits(p + i + 4, 2, &om))
                    return GY_E_INVALID;
                if (oh > 23 || om > 59)
                    return GY_E_INVALID;
                i += 6;
            } else {
                return GY_E_INVALID;
            }
            if (i != len)
                return GY_E_INVALID;
        }
    }
    secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    secs -= osign * ((int64_t)oh * 3600 + (int64_t)om * 60);
    *out = secs * 1000000 + us;
    return GY_OK;
}

/* ------------------------------------------------------------------ UTF-8 */

/*
 * Length of the well-formed UTF-8 sequence starting at s (s[0] >= 0x80), or 0 when it is
 * ill-formed or cut short by e. Follows the Unicode table of well-formed byte sequences:
 * no overlongs (C0, C1, E0 80..9F, F0 80..8F), no surrogates (ED A0..BF), nothing past
 * U+10FFFF (F4 90.., F5..FF).
 */
static size_t utf8_seq(const unsigned char *s, const unsigned char *e)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;

    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(e - s) < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return n;
}

int gy__utf8_valid(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p, *e = s + len;

    while (s < e) {
        while ((size_t)(e - s) >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            s += 8;
        }
        while (s < e && *s < 0x80)
            s++;
        if (s < e) {
            size_t n = utf8_seq(s, e);
            if (n == 0)
                return 0;
            s += n;
        }
    }
    return 1;
}

#if defined(__SIZEOF_INT128__)
/* ------------------------------------------------------------------ powers of ten */

/*
 * el_pow10[k + 348] = {low, high} 64-bit halves of floor(10^k * 2^s), s chosen so that the
 * value has exactly 128 bits (the top bit set). Generated with Python's exact integers:
 *
 *   for e in range(-348, 348):
 *       if e >= 0: v = 10**e; b = v.bit_length(); m = v >> (b-128) if b > 128 else v << (128-b)
 *       else: d = 10**-e; b = 127 + d.bit_length(); m = (1 << b) // d
 *             (then adjust b by one until m.bit_length() == 128)
 *
 * and checked against the table in Go's strconv/eisel_lemire.go (same definition).
 */
static const uint64_t el_pow10[EL_MAX_EXP10 - EL_MIN_EXP10 + 1][2] = {
    {0x1732C869CD60E453ULL, 0xFA8FD5A0081C0288ULL}, /* 1e-348 */
    {0x0E7FBD42205C8EB4ULL, 0x9C99E58405118195ULL}, /* 1e-347 */
    {0x521FAC92A873B261ULL, 0xC3C05EE50655E1FAULL}, /* 1e-346 */
    {0xE6A797B752909EF9ULL, 0xF4B0769E47EB5A78ULL}, /* 1e-345 */
    {0x9028BED2939A635CULL, 0x98EE4A22ECF3188BULL}, /* 1e-344 */
    {0x7432EE873880FC33ULL, 0xBF29DCABA82FDEAEULL}, /* 1e-343 */
    {0x113FAA2906A13B3FULL, 0xEEF453D6923BD65AULL}, /* 1e-342 */
    {0x4AC7CA59A424C507ULL, 0x9558B4661B6565F8ULL}, /* 1e-341 */
    {0x5D79BCF00D2DF649ULL, 0xBAAEE17FA23EBF76ULL}, /* 1e-340 */
    {0xF4D82C2C107973DCULL, 0xE95A99DF8ACE6F53ULL}, /* 1e-339 */
    {0x79071B9B8A4BE869ULL, 0x91D8A02BB6C10594ULL}, /* 1e-338 */
    {0x9748E2826CDEE284ULL, 0xB64EC836A47146F9ULL}, /* 1e-337 */
    {0xFD1B1B2308169B25ULL, 0xE3E27A444D8D98B7ULL}, /* 1e-336 */
    {0xFE30F0F5E50E20F7ULL, 0x8E6D8C6AB0787F72ULL}, /* 1e-335 */
    {0xBDBD2D335E51A935ULL, 0xB208EF855C969F4FULL}, /* 1e-334 */
    {0xAD2C788035E61382ULL, 0xDE8B2B66B3BC4723ULL}, /* 1e-333 */
    {0x4C3BCB5021AFCC31ULL, 0x8B16FB203055AC76ULL}, /* 1e-332 */
    {0xDF4ABE242A1BBF3DULL, 0xADDCB9E83C6B1793ULL}, /* 1e-331 */
    {0xD71D6DAD34A2AF0DULL, 0xD953E8624B85DD78ULL}, /* 1e-330 */
    {0x8672648C40E5AD68ULL, 0x87D4713D6F33AA6BULL}, /* 1e-329 */
    {0x680EFDAF511F18C2ULL, 0xA9C98D8CCB009506ULL}, /* 1e-328 */
    {0x0212BD1B2566DEF2ULL, 0xD43BF0EFFDC0BA48ULL}, /* 1e-327 */
    {0x014BB630F7604B57ULL, 0x84A57695FE98746DULL}, /* 1e-326 */
    {0x419EA3BD35385E2DULL, 0xA5CED43B7E3E9188ULL}, /* 1e-325 */
    {0x52064CAC828675B9ULL, 0xCF42894A5DCE35EAULL}, /* 1e-324 */
    {0x7343EFEBD1940993ULL, 0x818995CE7AA0E1B2ULL}, /* 1e-323 */
    {0x1014EBE6C5F90BF8ULL, 0xA1EBFB4219491A1FULL}, /* 1e-322 */
    {0xD41A26E077774EF6ULL, 0xCA66FA129F9B60A6ULL}, /* 1e-321 */
    {0x8920B098955522B4ULL, 0xFD00B897478238D0ULL}, /* 1e-320 */
    {0x55B46E5F5D5535B0ULL, 0x9E20735E8CB16382ULL}, /* 1e-319 */
    {0xEB2189F734AA831DULL, 0xC5A890362FDDBC62ULL}, /* 1e-318 */
    {0xA5E9EC7501D523E4ULL, 0xF712B443BBD52B7BULL}, /* 1e-317 */
    {0x47B233C92125366EULL, 0x9A6BB0AA55653B2DULL}, /* 1e-316 */
    {0x999EC0BB696E840AULL, 0xC1069CD4EABE89F8ULL}, /* 1e-315 */
    {0xC00670EA43CA250DULL, 0xF148440A256E2C76ULL}, /* 1e-314 */
    {0x380406926A5E5728ULL, 0x96CD2A865764DBCAULL}, /* 1e-313 */
    {0xC605083704F5ECF2ULL, 0xBC807527ED3E12BCULL}, /* 1e-312 */
    {0xF7864A44C633682EULL, 0xEBA09271E88D976BULL}, /* 1e-311 */
    {0x7AB3EE6AFBE0211DULL, 0x93445B8731587EA3ULL}, /* 1e-310 */
    {0x5960EA05BAD82964ULL, 0xB8157268FDAE9E4CULL}, /* 1e-309 */
    {0x6FB92487298E33BDULL, 0xE61ACF033D1A45DFULL}, /* 1e-308 */
    {0xA5D3B6D479F8E056ULL, 0x8FD0C16206306BABULL}, /* 1e-307 */
    {0x8F48A4899877186CULL, 0xB3C4F1BA87BC8696ULL}, /* 1e-306 */
    {0x331ACDABFE94DE87ULL, 0xE0B62E2929ABA83CULL}, /* 1e-305 */
    {0x9FF0C08B7F1D0B14ULL, 0x8C71DCD9BA0B4925ULL}, /* 1e-304 */
    {0x07ECF0AE5EE44DD9ULL, 0xAF8E5410288E1B6FULL}, /* 1e-303 */
    {0xC9E82CD9F69D6150ULL, 0xDB71E91432B1A24AULL}, /* 1e-302 */
    {0xBE311C083A225CD2ULL, 0x892731AC9FAF056EULL}, /* 1e-301 */
    {0x6DBD630A48AAF406ULL, 0xAB70FE17C79AC6CAULL}, /* 1e-300 */
    {0x092CBBCCDAD5B108ULL, 0xD64D3D9DB981787DULL}, /* 1e-299 */
    {0x25BBF56008C58EA5ULL, 0x85F0468293F0EB4EULL}, /* 1e-298 */
    {0xAF2AF2B80AF6F24EULL, 0xA76C582338ED2621ULL}, /* 1e-297 */
    {0x1AF5AF660DB4AEE1ULL, 0xD1476E2C07286FAAULL}, /* 1e-296 */
    {0x50D98D9FC890ED4DULL, 0x82CCA4DB847945CAULL}, /* 1e-295 */
    {0xE50FF107BAB528A0ULL, 0xA37FCE126597973CULL}, /* 1e-294 */
    {0x1E53ED49A96272C8ULL, 0xCC5FC196FEFD7D0CULL}, /* 1e-293 */
    {0x25E8E89C13BB0F7AULL, 0xFF77B1FCBEBCDC4FULL}, /* 1e-292 */
    {0x77B191618C54E9ACULL, 0x9FAACF3DF73609B1ULL}, /* 1e-291 */
    {0xD59DF5B9EF6A2417ULL, 0xC795830D75038C1DULL}, /* 1e-290 */
    {0x4B0573286B44AD1DULL, 0xF97AE3D0D2446F25ULL}, /* 1e-289 */
    {0x4EE367F9430AEC32ULL, 0x9BECCE62836AC577ULL}, /* 1e-288 */
    {0x229C41F793CDA73FULL, 0xC2E801FB244576D5ULL}, /* 1e-287 */
    {0x6B43527578C1110FULL, 0xF3A20279ED56D48AULL}, /* 1e-286 */
    {0x830A13896B78AAA9ULL, 0x9845418C345644D6ULL}, /* 1e-285 */
    {0x23CC986BC656D553ULL, 0xBE5691EF416BD60CULL}, /* 1e-284 */
    {0x2CBFBE86B7EC8AA8ULL, 0xEDEC366B11C6CB8FULL}, /* 1e-283 */
    {0x7BF7D71432F3D6A9ULL, 0x94B3A202EB1C3F39ULL}, /* 1e-282 */
    {0xDAF5CCD93FB0CC53ULL, 0xB9E08A83A5E34F07ULL}, /* 1e-281 */
    {0xD1B3400F8F9CFF68ULL, 0xE858AD248F5C22C9ULL}, /* 1e-280 */
    {0x23100809B9C21FA1ULL, 0x91376C36D99995BEULL}, /* 1e-279 */
    {0xABD40A0C2832A78AULL, 0xB58547448FFFFB2DULL}, /* 1e-278 */
    {0x16C90C8F323F516CULL, 0xE2E69915B3FFF9F9ULL}, /* 1e-277 */
    {0xAE3DA7D97F6792E3ULL, 0x8DD01FAD907FFC3BULL}, /* 1e-276 */
    {0x99CD11CFDF41779CULL, 0xB1442798F49FFB4AULL}, /* 1e-275 */
    {0x40405643D711D583ULL, 0xDD95317F31C7FA1DULL}, /* 1e-274 */
    {0x482835EA666B2572ULL, 0x8A7D3EEF7F1CFC52ULL}, /* 1e-273 */
    {0xDA3243650005EECFULL, 0xAD1C8EAB5EE43B66ULL}, /* 1e-272 */
    {0x90BED43E40076A82ULL, 0xD863B256369D4A40ULL}, /* 1e-271 */
    {0x5A7744A6E804A291ULL, 0x873E4F75E2224E68ULL}, /* 1e-270 */
    {0x711515D0A205CB36ULL, 0xA90DE3535AAAE202ULL}, /* 1e-269 */
    {0x0D5A5B44CA873E03ULL, 0xD3515C2831559A83ULL}, /* 1e-268 */
    {0xE858790AFE9486C2ULL, 0x8412D9991ED58091ULL}, /* 1e-267 */
    {0x626E974DBE39A872ULL, 0xA5178FFF668AE0B6ULL}, /* 1e-266 */
    {0xFB0A3D212DC8128FULL, 0xCE5D73FF402D98E3ULL}, /* 1e-265 */
    {0x7CE66634BC9D0B99ULL, 0x80FA687F881C7F8EULL}, /* 1e-264 */
    {0x1C1FFFC1EBC44E80ULL, 0xA139029F6A239F72ULL}, /* 1e-263 */
    {0xA327FFB266B56220ULL, 0xC987434744AC874EULL}, /* 1e-262 */
    {0x4BF1FF9F0062BAA8ULL, 0xFBE9141915D7A922ULL}, /* 1e-261 */
    {0x6F773FC3603DB4A9ULL, 0x9D71AC8FADA6C9B5ULL}, /* 1e-260 */
    {0xCB550FB4384D21D3ULL, 0xC4CE17B399107C22ULL}, /* 1e-259 */
    {0x7E2A53A146606A48ULL, 0xF6019DA07F549B2BULL}, /* 1e-258 */
    {0x2EDA7444CBFC426DULL, 0x99C102844F94E0FBULL}, /* 1e-257 */
    {0xFA911155FEFB5308ULL, 0xC0314325637A1939ULL}, /* 1e-256 */
    {0x793555AB7EBA27CAULL, 0xF03D93EEBC589F88ULL}, /* 1e-255 */
    {0x4BC1558B2F3458DEULL, 0x96267C7535B763B5ULL}, /* 1e-254 */
    {0x9EB1AAEDFB016F16ULL, 0xBBB01B9283253CA2ULL}, /* 1e-253 */
    {0x465E15A979C1CADCULL, 0xEA9C227723EE8BCBULL}, /* 1e-252 */
    {0x0BFACD89EC191EC9ULL, 0x92A1958A7675175FULL}, /* 1e-251 */
    {0xCEF980EC671F667BULL, 0xB749FAED14125D36ULL}, /* 1e-250 */
    {0x82B7E12780E7401AULL, 0xE51C79A85916F484ULL}, /* 1e-249 */
    {0xD1B2ECB8B0908810ULL, 0x8F31CC0937AE58D2ULL}, /* 1e-248 */
    {0x861FA7E6DCB4AA15ULL, 0xB2FE3F0B8599EF07ULL}, /* 1e-247 */
    {0x67A791E093E1D49AULL, 0xDFBDCECE67006AC9ULL}, /* 1e-246 */
    {0xE0C8BB2C5C6D24E0ULL, 0x8BD6A141006042BDULL}, /* 1e-245 */
    {0x58FAE9F773886E18ULL, 0xAECC49914078536DULL}, /* 1e-244 */
    {0xAF39A475506A899EULL, 0xDA7F5BF590966848ULL}, /* 1e-243 */
    {0x6D8406C952429603ULL, 0x888F99797A5E012DULL}, /* 1e-242 */
    {0xC8E5087BA6D33B83ULL, 0xAAB37FD7D8F58178ULL}, /* 1e-241 */
    {0xFB1E4A9A90880A64ULL, 0xD5605FCDCF32E1D6ULL}, /* 1e-240 */
    {0x5CF2EEA09A55067FULL, 0x855C3BE0A17FCD26ULL}, /* 1e-239 */
    {0xF42FAA48C0EA481EULL, 0xA6B34AD8C9DFC06FULL}, /* 1e-238 */
    {0xF13B94DAF124DA26ULL, 0xD0601D8EFC57B08BULL}, /* 1e-237 */
    {0x76C53D08D6B70858ULL, 0x823C12795DB6CE57ULL}, /* 1e-236 */
    {0x54768C4B0C64CA6EULL, 0xA2CB1717B52481EDULL}, /* 1e-235 */
    {0xA9942F5DCF7DFD09ULL, 0xCB7DDCDDA26DA268ULL}, /* 1e-234 */
    {0xD3F93B35435D7C4CULL, 0xFE5D54150B090B02ULL}, /* 1e-233 */
    {0xC47BC5014A1A6DAFULL, 0x9EFA548D26E5A6E1ULL}, /* 1e-232 */
    {0x359AB6419CA1091BULL, 0xC6B8E9B0709F109AULL}, /* 1e-231 */
    {0xC30163D203C94B62ULL, 0xF867241C8CC6D4C0ULL}, /* 1e-230 */
    {0x79E0DE63425DCF1DULL, 0x9B407691D7FC44F8ULL}, /* 1e-229 */
    {0x985915FC12F542E4ULL, 0xC21094364DFB5636ULL}, /* 1e-228 */
    {0x3E6F5B7B17B2939DULL, 0xF294B943E17A2BC4ULL}, /* 1e-227 */
    {0xA705992CEECF9C42ULL, 0x979CF3CA6CEC5B5AULL}, /* 1e-226 */
    {0x50C6FF782A838353ULL, 0xBD8430BD08277231ULL}, /* 1e-225 */
    {0xA4F8BF5635246428ULL, 0xECE53CEC4A314EBDULL}, /* 1e-224 */
    {0x871B7795E136BE99ULL, 0x940F4613AE5ED136ULL}, /* 1e-223 */
    {0x28E2557B59846E3FULL, 0xB913179899F68584ULL}, /* 1e-222 */
    {0x331AEADA2FE589CFULL, 0xE757DD7EC07426E5ULL}, /* 1e-221 */
    {0x3FF0D2C85DEF7621ULL, 0x9096EA6F3848984FULL}, /* 1e-220 */
    {0x0FED077A756B53A9ULL, 0xB4BCA50B065ABE63ULL}, /* 1e-219 */
    {0xD3E8495912C62894ULL, 0xE1EBCE4DC7F16DFBULL}, /* 1e-218 */
    {0x64712DD7ABBBD95CULL, 0x8D3360F09CF6E4BDULL}, /* 1e-217 */
    {0xBD8D794D96AACFB3ULL, 0xB080392CC4349DECULL}, /* 1e-216 */
    {0xECF0D7A0FC5583A0ULL, 0xDCA04777F541C567ULL}, /* 1e-215 */
    {0xF41686C49DB57244ULL, 0x89E42CAAF9491B60ULL}, /* 1e-214 */
    {0x311C2875C522CED5ULL, 0xAC5D37D5B79B6239ULL}, /* 1e-213 */
    {0x7D633293366B828BULL, 0xD77485CB25823AC7ULL}, /* 1e-212 */
    {0xAE5DFF9C02033197ULL, 0x86A8D39EF77164BCULL}, /* 1e-211 */
    {0xD9F57F830283FDFCULL, 0xA8530886B54DBDEBULL}, /* 1e-210 */
    {0xD072DF63C324FD7BULL, 0xD267CAA862A12D66ULL}, /* 1e-209 */
    {0x4247CB9E59F71E6DULL, 0x8380DEA93DA4BC60ULL}, /* 1e-208 */
    {0x52D9BE85F074E608ULL, 0xA46116538D0DEB78ULL}, /* 1e-207 */
    {0x67902E276C921F8BULL, 0xCD795BE870516656ULL}, /* 1e-206 */
    {0x00BA1CD8A3DB53B6ULL, 0x806BD9714632DFF6ULL}, /* 1e-205 */
    {0x80E8A40ECCD228A4ULL, 0xA086CFCD97BF97F3ULL}, /* 1e-204 */
    {0x6122CD128006B2CDULL, 0xC8A883C0FDAF7DF0ULL}, /* 1e-203 */
    {0x796B805720085F81ULL, 0xFAD2A4B13D1B5D6CULL}, /* 1e-202 */
    {0xCBE3303674053BB0ULL, 0x9CC3A6EEC6311A63ULL}, /* 1e-201 */
    {0xBEDBFC4411068A9CULL, 0xC3F490AA77BD60FCULL}, /* 1e-200 */
    {0xEE92FB5515482D44ULL, 0xF4F1B4D515ACB93BULL}, /* 1e-199 */
    {0x751BDD152D4D1C4AULL, 0x991711052D8BF3C5ULL}, /* 1e-198 */
    {0xD262D45A78A0635DULL, 0xBF5CD54678EEF0B6ULL}, /* 1e-197 */
    {0x86FB897116C87C34ULL, 0xEF340A98172AACE4ULL}, /* 1e-196 */
    {0xD45D35E6AE3D4DA0ULL, 0x9580869F0E7AAC0EULL}, /* 1e-195 */
    {0x8974836059CCA109ULL, 0xBAE0A846D2195712ULL}, /* 1e-194 */
    {0x2BD1A438703FC94BULL, 0xE998D258869FACD7ULL}, /* 1e-193 */
    {0x7B6306A34627DDCFULL, 0x91FF83775423CC06ULL}, /* 1e-192 */
    {0x1A3BC84C17B1D542ULL, 0xB67F6455292CBF08ULL}, /* 1e-191 */
    {0x20CABA5F1D9E4A93ULL, 0xE41F3D6A7377EECAULL}, /* 1e-190 */
    {0x547EB47B7282EE9CULL, 0x8E938662882AF53EULL}, /* 1e-189 */
    {0xE99E619A4F23AA43ULL, 0xB23867FB2A35B28DULL}, /* 1e-188 */
    {0x6405FA00E2EC94D4ULL, 0xDEC681F9F4C31F31ULL}, /* 1e-187 */
    {0xDE83BC408DD3DD04ULL, 0x8B3C113C38F9F37EULL}, /* 1e-186 */
    {0x9624AB50B148D445ULL, 0xAE0B158B4738705EULL}, /* 1e-185 */
    {0x3BADD624DD9B0957ULL, 0xD98DDAEE19068C76ULL}, /* 1e-184 */
    {0xE54CA5D70A80E5D6ULL, 0x87F8A8D4CFA417C9ULL}, /* 1e-183 */
    {0x5E9FCF4CCD211F4CULL, 0xA9F6D30A038D1DBCULL}, /* 1e-182 */
    {0x7647C3200069671FULL, 0xD47487CC8470652BULL}, /* 1e-181 */
    {0x29ECD9F40041E073ULL, 0x84C8D4DFD2C63F3BULL}, /* 1e-180 */
    {0xF468107100525890ULL, 0xA5FB0A17C777CF09ULL}, /* 1e-179 */
    {0x7182148D4066EEB4ULL, 0xCF79CC9DB955C2CCULL}, /* 1e-178 */
    {0xC6F14CD848405530ULL, 0x81AC1FE293D599BFULL}, /* 1e-177 */
    {0xB8ADA00E5A506A7CULL, 0xA21727DB38CB002FULL}, /* 1e-176 */
    {0xA6D90811F0E4851CULL, 0xCA9CF1D206FDC03BULL}, /* 1e-175 */
    {0x908F4A166D1DA663ULL, 0xFD442E4688BD304AULL}, /* 1e-174 */
    {0x9A598E4E043287FEULL, 0x9E4A9CEC15763E2EULL}, /* 1e-173 */
    {0x40EFF1E1853F29FDULL, 0xC5DD44271AD3CDBAULL}, /* 1e-172 */
    {0xD12BEE59E68EF47CULL, 0xF7549530E188C128ULL}, /* 1e-171 */
    {0x82BB74F8301958CEULL, 0x9A94DD3E8CF578B9ULL}, /* 1e-170 */
    {0xE36A52363C1FAF01ULL, 0xC13A148E3032D6E7ULL}, /* 1e-169 */
    {0xDC44E6C3CB279AC1ULL, 0xF18899B1BC3F8CA1ULL}, /* 1e-168 */
    {0x29AB103A5EF8C0B9ULL, 0x96F5600F15A7B7E5ULL}, /* 1e-167 */
    {0x7415D448F6B6F0E7ULL, 0xBCB2B812DB11A5DEULL}, /* 1e-166 */
    {0x111B495B3464AD21ULL, 0xEBDF661791D60F56ULL}, /* 1e-165 */
    {0xCAB10DD900BEEC34ULL, 0x936B9FCEBB25C995ULL}, /* 1e-164 */
    {0x3D5D514F40EEA742ULL, 0xB84687C269EF3BFBULL}, /* 1e-163 */
    {0x0CB4A5A3112A5112ULL, 0xE65829B3046B0AFAULL}, /* 1e-162 */
    {0x47F0E785EABA72ABULL, 0x8FF71A0FE2C2E6DCULL}, /* 1e-161 */
    {0x59ED216765690F56ULL, 0xB3F4E093DB73A093ULL}, /* 1e-160 */
    {0x306869C13EC3532CULL, 0xE0F218B8D25088B8ULL}, /* 1e-159 */
    {0x1E414218C73A13FBULL, 0x8C974F7383725573ULL}, /* 1e-158 */
    {0xE5D1929EF90898FAULL, 0xAFBD2350644EEACFULL}, /* 1e-157 */
    {0xDF45F746B74ABF39ULL, 0xDBAC6C247D62A583ULL}, /* 1e-156 */
    {0x6B8BBA8C328EB783ULL, 0x894BC396CE5DA772ULL}, /* 1e-155 */
    {0x066EA92F3F326564ULL, 0xAB9EB47C81F5114FULL}, /* 1e-154 */
    {0xC80A537B0EFEFEBDULL, 0xD686619BA27255A2ULL}, /* 1e-153 */
    {0xBD06742CE95F5F36ULL, 0x8613FD0145877585ULL}, /* 1e-152 */
    {0x2C48113823B73704ULL, 0xA798FC4196E952E7ULL}, /* 1e-151 */
    {0xF75A15862CA504C5ULL, 0xD17F3B51FCA3A7A0ULL}, /* 1e-150 */
    {0x9A984D73DBE722FBULL, 0x82EF85133DE648C4ULL}, /* 1e-149 */
    {0xC13E60D0D2E0EBBAULL, 0xA3AB66580D5FDAF5ULL}, /* 1e-148 */
    {0x318DF905079926A8ULL, 0xCC963FEE10B7D1B3ULL}, /* 1e-147 */
    {0xFDF17746497F7052ULL, 0xFFBBCFE994E5C61FULL}, /* 1e-146 */
    {0xFEB6EA8BEDEFA633ULL, 0x9FD561F1FD0F9BD3ULL}, /* 1e-145 */
    {0xFE64A52EE96B8FC0ULL, 0xC7CABA6E7C5382C8ULL}, /* 1e-144 */
    {0x3DFDCE7AA3C673B0ULL, 0xF9BD690A1B68637BULL}, /* 1e-143 */
    {0x06BEA10CA65C084EULL, 0x9C1661A651213E2DULL}, /* 1e-142 */
    {0x486E494FCFF30A62ULL, 0xC31BFA0FE5698DB8ULL}, /* 1e-141 */
    {0x5A89DBA3C3EFCCFAULL, 0xF3E2F893DEC3F126ULL}, /* 1e-140 */
    {0xF89629465A75E01CULL, 0x986DDB5C6B3A76B7ULL}, /* 1e-139 */
    {0xF6BBB397F1135823ULL, 0xBE89523386091465ULL}, /* 1e-138 */
    {0x746AA07DED582E2CULL, 0xEE2BA6C0678B597FULL}, /* 1e-137 */
    {0xA8C2A44EB4571CDCULL, 0x94DB483840B717EFULL}, /* 1e-136 */
    {0x92F34D62616CE413ULL, 0xBA121A4650E4DDEBULL}, /* 1e-135 */
    {0x77B020BAF9C81D17ULL, 0xE896A0D7E51E1566ULL}, /* 1e-134 */
    {0x0ACE1474DC1D122EULL, 0x915E2486EF32CD60ULL}, /* 1e-133 */
    {0x0D819992132456BAULL, 0xB5B5ADA8AAFF80B8ULL}, /* 1e-132 */
    {0x10E1FFF697ED6C69ULL, 0xE3231912D5BF60E6ULL}, /* 1e-131 */
    {0xCA8D3FFA1EF463C1ULL, 0x8DF5EFABC5979C8FULL}, /* 1e-130 */
    {0xBD308FF8A6B17CB2ULL, 0xB1736B96B6FD83B3ULL}, /* 1e-129 */
    {0xAC7CB3F6D05DDBDEULL, 0xDDD0467C64BCE4A0ULL}, /* 1e-128 */
    {0x6BCDF07A423AA96BULL, 0x8AA22C0DBEF60EE4ULL}, /* 1e-127 */
    {0x86C16C98D2C953C6ULL, 0xAD4AB7112EB3929DULL}, /* 1e-126 */
    {0xE871C7BF077BA8B7ULL, 0xD89D64D57A607744ULL}, /* 1e-125 */
    {0x11471CD764AD4972ULL, 0x87625F056C7C4A8BULL}, /* 1e-124 */
    {0xD598E40D3DD89BCFULL, 0xA93AF6C6C79B5D2DULL}, /* 1e-123 */
    {0x4AFF1D108D4EC2C3ULL, 0xD389B47879823479ULL}, /* 1e-122 */
    {0xCEDF722A585139BAULL, 0x843610CB4BF160CBULL}, /* 1e-121 */
    {0xC2974EB4EE658828ULL, 0xA54394FE1EEDB8FEULL}, /* 1e-120 */
    {0x733D226229FEEA32ULL, 0xCE947A3DA6A9273EULL}, /* 1e-119 */
    {0x0806357D5A3F525FULL, 0x811CCC668829B887ULL}, /* 1e-118 */
    {0xCA07C2DCB0CF26F7ULL, 0xA163FF802A3426A8ULL}, /* 1e-117 */
    {0xFC89B393DD02F0B5ULL, 0xC9BCFF6034C13052ULL}, /* 1e-116 */
    {0xBBAC2078D443ACE2ULL, 0xFC2C3F3841F17C67ULL}, /* 1e-115 */
    {0xD54B944B84AA4C0DULL, 0x9D9BA7832936EDC0ULL}, /* 1e-114 */
    {0x0A9E795E65D4DF11ULL, 0xC5029163F384A931ULL}, /* 1e-113 */
    {0x4D4617B5FF4A16D5ULL, 0xF64335BCF065D37DULL}, /* 1e-112 */
    {0x504BCED1BF8E4E45ULL, 0x99EA0196163FA42EULL}, /* 1e-111 */
    {0xE45EC2862F71E1D6ULL, 0xC06481FB9BCF8D39ULL}, /* 1e-110 */
    {0x5D767327BB4E5A4CULL, 0xF07DA27A82C37088ULL}, /* 1e-109 */
    {0x3A6A07F8D510F86FULL, 0x964E858C91BA2655ULL}, /* 1e-108 */
    {0x890489F70A55368BULL, 0xBBE226EFB628AFEAULL}, /* 1e-107 */
    {0x2B45AC74CCEA842EULL, 0xEADAB0ABA3B2DBE5ULL}, /* 1e-106 */
    {0x3B0B8BC90012929DULL, 0x92C8AE6B464FC96FULL}, /* 1e-105 */
    {0x09CE6EBB40173744ULL, 0xB77ADA0617E3BBCBULL}, /* 1e-104 */
    {0xCC420A6A101D0515ULL, 0xE55990879DDCAABDULL}, /* 1e-103 */
    {0x9FA946824A12232DULL, 0x8F57FA54C2A9EAB6ULL}, /* 1e-102 */
    {0x47939822DC96ABF9ULL, 0xB32DF8E9F3546564ULL}, /* 1e-101 */
    {0x59787E2B93BC56F7ULL, 0xDFF9772470297EBDULL}, /* 1e-100 */
    {0x57EB4EDB3C55B65AULL, 0x8BFBEA76C619EF36ULL}, /* 1e-99 */
    {0xEDE622920B6B23F1ULL, 0xAEFAE51477A06B03ULL}, /* 1e-98 */
    {0xE95FAB368E45ECEDULL, 0xDAB99E59958885C4ULL}, /* 1e-97 */
    {0x11DBCB0218EBB414ULL, 0x88B402F7FD75539BULL}, /* 1e-96 */
    {0xD652BDC29F26A119ULL, 0xAAE103B5FCD2A881ULL}, /* 1e-95 */
    {0x4BE76D3346F0495FULL, 0xD59944A37C0752A2ULL}, /* 1e-94 */
    {0x6F70A4400C562DDBULL, 0x857FCAE62D8493A5ULL}, /* 1e-93 */
    {0xCB4CCD500F6BB952ULL, 0xA6DFBD9FB8E5B88EULL}, /* 1e-92 */
    {0x7E2000A41346A7A7ULL, 0xD097AD07A71F26B2ULL}, /* 1e-91 */
    {0x8ED400668C0C28C8ULL, 0x825ECC24C873782FULL}, /* 1e-90 */
    {0x728900802F0F32FAULL, 0xA2F67F2DFA90563BULL}, /* 1e-89 */
    {0x4F2B40A03AD2FFB9ULL, 0xCBB41EF979346BCAULL}, /* 1e-88 */
    {0xE2F610C84987BFA8ULL, 0xFEA126B7D78186BCULL}, /* 1e-87 */
    {0x0DD9CA7D2DF4D7C9ULL, 0x9F24B832E6B0F436ULL}, /* 1e-86 */
    {0x91503D1C79720DBBULL, 0xC6EDE63FA05D3143ULL}, /* 1e-85 */
    {0x75A44C6397CE912AULL, 0xF8A95FCF88747D94ULL}, /* 1e-84 */
    {0xC986AFBE3EE11ABAULL, 0x9B69DBE1B548CE7CULL}, /* 1e-83 */
    {0xFBE85BADCE996168ULL, 0xC24452DA229B021BULL}, /* 1e-82 */
    {0xFAE27299423FB9C3ULL, 0xF2D56790AB41C2A2ULL}, /* 1e-81 */
    {0xDCCD879FC967D41AULL, 0x97C560BA6B0919A5ULL}, /* 1e-80 */
    {0x5400E987BBC1C920ULL, 0xBDB6B8E905CB600FULL}, /* 1e-79 */
    {0x290123E9AAB23B68ULL, 0xED246723473E3813ULL}, /* 1e-78 */
    {0xF9A0B6720AAF6521ULL, 0x9436C0760C86E30BULL}, /* 1e-77 */
    {0xF808E40E8D5B3E69ULL, 0xB94470938FA89BCEULL}, /* 1e-76 */
    {0xB60B1D1230B20E04ULL, 0xE7958CB87392C2C2ULL}, /* 1e-75 */
    {0xB1C6F22B5E6F48C2ULL, 0x90BD77F3483BB9B9ULL}, /* 1e-74 */
    {0x1E38AEB6360B1AF3ULL, 0xB4ECD5F01A4AA828ULL}, /* 1e-73 */
    {0x25C6DA63C38DE1B0ULL, 0xE2280B6C20DD5232ULL}, /* 1e-72 */
    {0x579C487E5A38AD0EULL, 0x8D590723948A535FULL}, /* 1e-71 */
    {0x2D835A9DF0C6D851ULL, 0xB0AF48EC79ACE837ULL}, /* 1e-70 */
    {0xF8E431456CF88E65ULL, 0xDCDB1B2798182244ULL}, /* 1e-69 */
    {0x1B8E9ECB641B58FFULL, 0x8A08F0F8BF0F156BULL}, /* 1e-68 */
    {0xE272467E3D222F3FULL, 0xAC8B2D36EED2DAC5ULL}, /* 1e-67 */
    {0x5B0ED81DCC6ABB0FULL, 0xD7ADF884AA879177ULL}, /* 1e-66 */
    {0x98E947129FC2B4E9ULL, 0x86CCBB52EA94BAEAULL}, /* 1e-65 */
    {0x3F2398D747B36224ULL, 0xA87FEA27A539E9A5ULL}, /* 1e-64 */
    {0x8EEC7F0D19A03AADULL, 0xD29FE4B18E88640EULL}, /* 1e-63 */
    {0x1953CF68300424ACULL, 0x83A3EEEEF9153E89ULL}, /* 1e-62 */
    {0x5FA8C3423C052DD7ULL, 0xA48CEAAAB75A8E2BULL}, /* 1e-61 */
    {0x3792F412CB06794DULL, 0xCDB02555653131B6ULL}, /* 1e-60 */
    {0xE2BBD88BBEE40BD0ULL, 0x808E17555F3EBF11ULL}, /* 1e-59 */
    {0x5B6ACEAEAE9D0EC4ULL, 0xA0B19D2AB70E6ED6ULL}, /* 1e-58 */
    {0xF245825A5A445275ULL, 0xC8DE047564D20A8BULL}, /* 1e-57 */
    {0xEED6E2F0F0D56712ULL, 0xFB158592BE068D2EULL}, /* 1e-56 */
    {0x55464DD69685606BULL, 0x9CED737BB6C4183DULL}, /* 1e-55 */
    {0xAA97E14C3C26B886ULL, 0xC428D05AA4751E4CULL}, /* 1e-54 */
    {0xD53DD99F4B3066A8ULL, 0xF53304714D9265DFULL}, /* 1e-53 */
    {0xE546A8038EFE4029ULL, 0x993FE2C6D07B7FABULL}, /* 1e-52 */
    {0xDE98520472BDD033ULL, 0xBF8FDB78849A5F96ULL}, /* 1e-51 */
    {0x963E66858F6D4440ULL, 0xEF73D256A5C0F77CULL}, /* 1e-50 */
    {0xDDE7001379A44AA8ULL, 0x95A8637627989AADULL}, /* 1e-49 */
    {0x5560C018580D5D52ULL, 0xBB127C53B17EC159ULL}, /* 1e-48 */
    {0xAAB8F01E6E10B4A6ULL, 0xE9D71B689DDE71AFULL}, /* 1e-47 */
    {0xCAB3961304CA70E8ULL, 0x9226712162AB070DULL}, /* 1e-46 */
    {0x3D607B97C5FD0D22ULL, 0xB6B00D69BB55C8D1ULL}, /* 1e-45 */
    {0x8CB89A7DB77C506AULL, 0xE45C10C42A2B3B05ULL}, /* 1e-44 */
    {0x77F3608E92ADB242ULL, 0x8EB98A7A9A5B04E3ULL}, /* 1e-43 */
    {0x55F038B237591ED3ULL, 0xB267ED1940F1C61CULL}, /* 1e-42 */
    {0x6B6C46DEC52F6688ULL, 0xDF01E85F912E37A3ULL}, /* 1e-41 */
    {0x2323AC4B3B3DA015ULL, 0x8B61313BBABCE2C6ULL}, /* 1e-40 */
    {0xABEC975E0A0D081AULL, 0xAE397D8AA96C1B77ULL}, /* 1e-39 */
    {0x96E7BD358C904A21ULL, 0xD9C7DCED53C72255ULL}, /* 1e-38 */
    {0x7E50D64177DA2E54ULL, 0x881CEA14545C7575ULL}, /* 1e-37 */
    {0xDDE50BD1D5D0B9E9ULL, 0xAA242499697392D2ULL}, /* 1e-36 */
    {0x955E4EC64B44E864ULL, 0xD4AD2DBFC3D07787ULL}, /* 1e-35 */
    {0xBD5AF13BEF0B113EULL, 0x84EC3C97DA624AB4ULL}, /* 1e-34 */
    {0xECB1AD8AEACDD58EULL, 0xA6274BBDD0FADD61ULL}, /* 1e-33 */
    {0x67DE18EDA5814AF2ULL, 0xCFB11EAD453994BAULL}, /* 1e-32 */
    {0x80EACF948770CED7ULL, 0x81CEB32C4B43FCF4ULL}, /* 1e-31 */
    {0xA1258379A94D028DULL, 0xA2425FF75E14FC31ULL}, /* 1e-30 */
    {0x096EE45813A04330ULL, 0xCAD2F7F5359A3B3EULL}, /* 1e-29 */
    {0x8BCA9D6E188853FCULL, 0xFD87B5F28300CA0DULL}, /* 1e-28 */
    {0x775EA264CF55347DULL, 0x9E74D1B791E07E48ULL}, /* 1e-27 */
    {0x95364AFE032A819DULL, 0xC612062576589DDAULL}, /* 1e-26 */
    {0x3A83DDBD83F52204ULL, 0xF79687AED3EEC551ULL}, /* 1e-25 */
    {0xC4926A9672793542ULL, 0x9ABE14CD44753B52ULL}, /* 1e-24 */
    {0x75B7053C0F178293ULL, 0xC16D9A0095928A27ULL}, /* 1e-23 */
    {0x5324C68B12DD6338ULL, 0xF1C90080BAF72CB1ULL}, /* 1e-22 */
    {0xD3F6FC16EBCA5E03ULL, 0x971DA05074DA7BEEULL}, /* 1e-21 */
    {0x88F4BB1CA6BCF584ULL, 0xBCE5086492111AEAULL}, /* 1e-20 */
    {0x2B31E9E3D06C32E5ULL, 0xEC1E4A7DB69561A5ULL}, /* 1e-19 */
    {0x3AFF322E62439FCFULL, 0x9392EE8E921D5D07ULL}, /* 1e-18 */
    {0x09BEFEB9FAD487C2ULL, 0xB877AA3236A4B449ULL}, /* 1e-17 */
    {0x4C2EBE687989A9B3ULL, 0xE69594BEC44DE15BULL}, /* 1e-16 */
    {0x0F9D37014BF60A10ULL, 0x901D7CF73AB0ACD9ULL}, /* 1e-15 */
    {0x538484C19EF38C94ULL, 0xB424DC35095CD80FULL}, /* 1e-14 */
    {0x2865A5F206B06FB9ULL, 0xE12E13424BB40E13ULL}, /* 1e-13 */
    {0xF93F87B7442E45D3ULL, 0x8CBCCC096F5088CBULL}, /* 1e-12 */
    {0xF78F69A51539D748ULL, 0xAFEBFF0BCB24AAFEULL}, /* 1e-11 */
    {0xB573440E5A884D1BULL, 0xDBE6FECEBDEDD5BEULL}, /* 1e-10 */
    {0x31680A88F8953030ULL, 0x89705F4136B4A597ULL}, /* 1e-9 */
    {0xFDC20D2B36BA7C3DULL, 0xABCC77118461CEFCULL}, /* 1e-8 */
    {0x3D32907604691B4CULL, 0xD6BF94D5E57A42BCULL}, /* 1e-7 */
    {0xA63F9A49C2C1B10FULL, 0x8637BD05AF6C69B5ULL}, /* 1e-6 */
    {0x0FCF80DC33721D53ULL, 0xA7C5AC471B478423ULL}, /* 1e-5 */
    {0xD3C36113404EA4A8ULL, 0xD1B71758E219652BULL}, /* 1e-4 */
    {0x645A1CAC083126E9ULL, 0x83126E978D4FDF3BULL}, /* 1e-3 */
    {0x3D70A3D70A3D70A3ULL, 0xA3D70A3D70A3D70AULL}, /* 1e-2 */
    {0xCCCCCCCCCCCCCCCCULL, 0xCCCCCCCCCCCCCCCCULL}, /* 1e-1 */
    {0x0000000000000000ULL, 0x8000000000000000ULL}, /* 1e0 */
    {0x0000000000000000ULL, 0xA000000000000000ULL}, /* 1e1 */
    {0x0000000000000000ULL, 0xC800000000000000ULL}, /* 1e2 */
    {0x0000000000000000ULL, 0xFA00000000000000ULL}, /* 1e3 */
    {0x0000000000000000ULL, 0x9C40000000000000ULL}, /* 1e4 */
    {0x0000000000000000ULL, 0xC350000000000000ULL}, /* 1e5 */
    {0x0000000000000000ULL, 0xF424000000000000ULL}, /* 1e6 */
    {0x0000000000000000ULL, 0x9896800000000000ULL}, /* 1e7 */
    {0x0000000000000000ULL, 0xBEBC200000000000ULL}, /* 1e8 */
    {0x0000000000000000ULL, 0xEE6B280000000000ULL}, /* 1e9 */
    {0x0000000000000000ULL, 0x9502F90000000000ULL}, /* 1e10 */
    {0x0000000000000000ULL, 0xBA43B74000000000ULL}, /* 1e11 */
    {0x0000000000000000ULL, 0xE8D4A51000000000ULL}, /* 1e12 */
    {0x0000000000000000ULL, 0x9184E72A00000000ULL}, /* 1e13 */
    {0x0000000000000000ULL, 0xB5E620F480000000ULL}, /* 1e14 */
    {0x0000000000000000ULL, 0xE35FA931A0000000ULL}, /* 1e15 */
    {0x0000000000000000ULL, 0x8E1BC9BF04000000ULL}, /* 1e16 */
    {0x0000000000000000ULL, 0xB1A2BC2EC5000000ULL}, /* 1e17 */
    {0x0000000000000000ULL, 0xDE0B6B3A76400000ULL}, /* 1e18 */
    {0x0000000000000000ULL, 0x8AC7230489E80000ULL}, /* 1e19 */
    {0x0000000000000000ULL, 0xAD78EBC5AC620000ULL}, /* 1e20 */
    {0x0000000000000000ULL, 0xD8D726B7177A8000ULL}, /* 1e21 */
    {0x0000000000000000ULL, 0x878678326EAC9000ULL}, /* 1e22 */
    {0x0000000000000000ULL, 0xA968163F0A57B400ULL}, /* 1e23 */
    {0x0000000000000000ULL, 0xD3C21BCECCEDA100ULL}, /* 1e24 */
    {0x0000000000000000ULL, 0x84595161401484A0ULL}, /* 1e25 */
    {0x0000000000000000ULL, 0xA56FA5B99019A5C8ULL}, /* 1e26 */
    {0x0000000000000000ULL, 0xCECB8F27F4200F3AULL}, /* 1e27 */
    {0x4000000000000000ULL, 0x813F3978F8940984ULL}, /* 1e28 */
    {0x5000000000000000ULL, 0xA18F07D736B90BE5ULL}, /* 1e29 */
    {0xA400000000000000ULL, 0xC9F2C9CD04674EDEULL}, /* 1e30 */
    {0x4D00000000000000ULL, 0xFC6F7C4045812296ULL}, /* 1e31 */
    {0xF020000000000000ULL, 0x9DC5ADA82B70B59DULL}, /* 1e32 */
    {0x6C28000000000000ULL, 0xC5371912364CE305ULL}, /* 1e33 */
    {0xC732000000000000ULL, 0xF684DF56C3E01BC6ULL}, /* 1e34 */
    {0x3C7F400000000000ULL, 0x9A130B963A6C115CULL}, /* 1e35 */
    {0x4B9F100000000000ULL, 0xC097CE7BC90715B3ULL}, /* 1e36 */
    {0x1E86D40000000000ULL, 0xF0BDC21ABB48DB20ULL}, /* 1e37 */
    {0x1314448000000000ULL, 0x96769950B50D88F4ULL}, /* 1e38 */
    {0x17D955A000000000ULL, 0xBC143FA4E250EB31ULL}, /* 1e39 */
    {0x5DCFAB0800000000ULL, 0xEB194F8E1AE525FDULL}, /* 1e40 */
    {0x5AA1CAE500000000ULL, 0x92EFD1B8D0CF37BEULL}, /* 1e41 */
    {0xF14A3D9E40000000ULL, 0xB7ABC627050305ADULL}, /* 1e42 */
    {0x6D9CCD05D0000000ULL, 0xE596B7B0C643C719ULL}, /* 1e43 */
    {0xE4820023A2000000ULL, 0x8F7E32CE7BEA5C6FULL}, /* 1e44 */
    {0xDDA2802C8A800000ULL, 0xB35DBF821AE4F38BULL}, /* 1e45 */
    {0xD50B2037AD200000ULL, 0xE0352F62A19E306EULL}, /* 1e46 */
    {0x4526F422CC340000ULL, 0x8C213D9DA502DE45ULL}, /* 1e47 */
    {0x9670B12B7F410000ULL, 0xAF298D050E4395D6ULL}, /* 1e48 */
    {0x3C0CDD765F114000ULL, 0xDAF3F04651D47B4CULL}, /* 1e49 */
    {0xA5880A69FB6AC800ULL, 0x88D8762BF324CD0FULL}, /* 1e50 */
    {0x8EEA0D047A457A00ULL, 0xAB0E93B6EFEE0053ULL}, /* 1e51 */
    {0x72A4904598D6D880ULL, 0xD5D238A4ABE98068ULL}, /* 1e52 */
    {0x47A6DA2B7F864750ULL, 0x85A36366EB71F041ULL}, /* 1e53 */
    {0x999090B65F67D924ULL, 0xA70C3C40A64E6C51ULL}, /* 1e54 */
    {0xFFF4B4E3F741CF6DULL, 0xD0CF4B50CFE20765ULL}, /* 1e55 */
    {0xBFF8F10E7A8921A4ULL, 0x82818F1281ED449FULL}, /* 1e56 */
    {0xAFF72D52192B6A0DULL, 0xA321F2D7226895C7ULL}, /* 1e57 */
    {0x9BF4F8A69F764490ULL, 0xCBEA6F8CEB02BB39ULL}, /* 1e58 */
    {0x02F236D04753D5B4ULL, 0xFEE50B7025C36A08ULL}, /* 1e59 */
    {0x01D762422C946590ULL, 0x9F4F2726179A2245ULL}, /* 1e60 */
    {0x424D3AD2B7B97EF5ULL, 0xC722F0EF9D80AAD6ULL}, /* 1e61 */
    {0xD2E0898765A7DEB2ULL, 0xF8EBAD2B84E0D58BULL}, /* 1e62 */
    {0x63CC55F49F88EB2FULL, 0x9B934C3B330C8577ULL}, /* 1e63 */
    {0x3CBF6B71C76B25FBULL, 0xC2781F49FFCFA6D5ULL}, /* 1e64 */
    {0x8BEF464E3945EF7AULL, 0xF316271C7FC3908AULL}, /* 1e65 */
    {0x97758BF0E3CBB5ACULL, 0x97EDD871CFDA3A56ULL}, /* 1e66 */
    {0x3D52EEED1CBEA317ULL, 0xBDE94E8E43D0C8ECULL}, /* 1e67 */
    {0x4CA7AAA863EE4BDDULL, 0xED63A231D4C4FB27ULL}, /* 1e68 */
    {0x8FE8CAA93E74EF6AULL, 0x945E455F24FB1CF8ULL}, /* 1e69 */
    {0xB3E2FD538E122B44ULL, 0xB975D6B6EE39E436ULL}, /* 1e70 */
    {0x60DBBCA87196B616ULL, 0xE7D34C64A9C85D44ULL}, /* 1e71 */
    {0xBC8955E946FE31CDULL, 0x90E40FBEEA1D3A4AULL}, /* 1e72 */
    {0x6BABAB6398BDBE41ULL, 0xB51D13AEA4A488DDULL}, /* 1e73 */
    {0xC696963C7EED2DD1ULL, 0xE264589A4DCDAB14ULL}, /* 1e74 */
    {0xFC1E1DE5CF543CA2ULL, 0x8D7EB76070A08AECULL}, /* 1e75 */
    {0x3B25A55F43294BCBULL, 0xB0DE65388CC8ADA8ULL}, /* 1e76 */
    {0x49EF0EB713F39EBEULL, 0xDD15FE86AFFAD912ULL}, /* 1e77 */
    {0x6E3569326C784337ULL, 0x8A2DBF142DFCC7ABULL}, /* 1e78 */
    {0x49C2C37F07965404ULL, 0xACB92ED9397BF996ULL}, /* 1e79 */
    {0xDC33745EC97BE906ULL, 0xD7E77A8F87DAF7FBULL}, /* 1e80 */
    {0x69A028BB3DED71A3ULL, 0x86F0AC99B4E8DAFDULL}, /* 1e81 */
    {0xC40832EA0D68CE0CULL, 0xA8ACD7C0222311BCULL}, /* 1e82 */
    {0xF50A3FA490C30190ULL, 0xD2D80DB02AABD62BULL}, /* 1e83 */
    {0x792667C6DA79E0FAULL, 0x83C7088E1AAB65DBULL}, /* 1e84 */
    {0x577001B891185938ULL, 0xA4B8CAB1A1563F52ULL}, /* 1e85 */
    {0xED4C0226B55E6F86ULL, 0xCDE6FD5E09ABCF26ULL}, /* 1e86 */
    {0x544F8158315B05B4ULL, 0x80B05E5AC60B6178ULL}, /* 1e87 */
    {0x696361AE3DB1C721ULL, 0xA0DC75F1778E39D6ULL}, /* 1e88 */
    {0x03BC3A19CD1E38E9ULL, 0xC913936DD571C84CULL}, /* 1e89 */
    {0x04AB48A04065C723ULL, 0xFB5878494ACE3A5FULL}, /* 1e90 */
    {0x62EB0D64283F9C76ULL, 0x9D174B2DCEC0E47BULL}, /* 1e91 */
    {0x3BA5D0BD324F8394ULL, 0xC45D1DF942711D9AULL}, /* 1e92 */
    {0xCA8F44EC7EE36479ULL, 0xF5746577930D6500ULL}, /* 1e93 */
    {0x7E998B13CF4E1ECBULL, 0x9968BF6ABBE85F20ULL}, /* 1e94 */
    {0x9E3FEDD8C321A67EULL, 0xBFC2EF456AE276E8ULL}, /* 1e95 */
    {0xC5CFE94EF3EA101EULL, 0xEFB3AB16C59B14A2ULL}, /* 1e96 */
    {0xBBA1F1D158724A12ULL, 0x95D04AEE3B80ECE5ULL}, /* 1e97 */
    {0x2A8A6E45AE8EDC97ULL, 0xBB445DA9CA61281FULL}, /* 1e98 */
    {0xF52D09D71A3293BDULL, 0xEA1575143CF97226ULL}, /* 1e99 */
    {0x593C2626705F9C56ULL, 0x924D692CA61BE758ULL}, /* 1e100 */
    {0x6F8B2FB00C77836CULL, 0xB6E0C377CFA2E12EULL}, /* 1e101 */
    {0x0B6DFB9C0F956447ULL, 0xE498F455C38B997AULL}, /* 1e102 */
    {0x4724BD4189BD5EACULL, 0x8EDF98B59A373FECULL}, /* 1e103 */
    {0x58EDEC91EC2CB657ULL, 0xB2977EE300C50FE7ULL}, /* 1e104 */
    {0x2F2967B66737E3EDULL, 0xDF3D5E9BC0F653E1ULL}, /* 1e105 */
    {0xBD79E0D20082EE74ULL, 0x8B865B215899F46CULL}, /* 1e106 */
    {0xECD8590680A3AA11ULL, 0xAE67F1E9AEC07187ULL}, /* 1e107 */
    {0xE80E6F4820CC9495ULL, 0xDA01EE641A708DE9ULL}, /* 1e108 */
    {0x3109058D147FDCDDULL, 0x884134FE908658B2ULL}, /* 1e109 */
    {0xBD4B46F0599FD415ULL, 0xAA51823E34A7EEDEULL}, /* 1e110 */
    {0x6C9E18AC7007C91AULL, 0xD4E5E2CDC1D1EA96ULL}, /* 1e111 */
    {0x03E2CF6BC604DDB0ULL, 0x850FADC09923329EULL}, /* 1e112 */
    {0x84DB8346B786151CULL, 0xA6539930BF6BFF45ULL}, /* 1e113 */
    {0xE612641865679A63ULL, 0xCFE87F7CEF46FF16ULL}, /* 1e114 */
    {0x4FCB7E8F3F60C07EULL, 0x81F14FAE158C5F6EULL}, /* 1e115 */
    {0xE3BE5E330F38F09DULL, 0xA26DA3999AEF7749ULL}, /* 1e116 */
    {0x5CADF5BFD3072CC5ULL, 0xCB090C8001AB551CULL}, /* 1e117 */
    {0x73D9732FC7C8F7F6ULL, 0xFDCB4FA002162A63ULL}, /* 1e118 */
    {0x2867E7FDDCDD9AFAULL, 0x9E9F11C4014DDA7EULL}, /* 1e119 */
    {0xB281E1FD541501B8ULL, 0xC646D63501A1511DULL}, /* 1e120 */
    {0x1F225A7CA91A4226ULL, 0xF7D88BC24209A565ULL}, /* 1e121 */
    {0x3375788DE9B06958ULL, 0x9AE757596946075FULL}, /* 1e122 */
    {0x0052D6B1641C83AEULL, 0xC1A12D2FC3978937ULL}, /* 1e123 */
    {0xC0678C5DBD23A49AULL, 0xF209787BB47D6B84ULL}, /* 1e124 */
    {0xF840B7BA963646E0ULL, 0x9745EB4D50CE6332ULL}, /* 1e125 */
    {0xB650E5A93BC3D898ULL, 0xBD176620A501FBFFULL}, /* 1e126 */
    {0xA3E51F138AB4CEBEULL, 0xEC5D3FA8CE427AFFULL}, /* 1e127 */
    {0xC66F336C36B10137ULL, 0x93BA47C980E98CDFULL}, /* 1e128 */
    {0xB80B0047445D4184ULL, 0xB8A8D9BBE123F017ULL}, /* 1e129 */
    {0xA60DC059157491E5ULL, 0xE6D3102AD96CEC1DULL}, /* 1e130 */
    {0x87C89837AD68DB2FULL, 0x9043EA1AC7E41392ULL}, /* 1e131 */
    {0x29BABE4598C311FBULL, 0xB454E4A179DD1877ULL}, /* 1e132 */
    {0xF4296DD6FEF3D67AULL, 0xE16A1DC9D8545E94ULL}, /* 1e133 */
    {0x1899E4A65F58660CULL, 0x8CE2529E2734BB1DULL}, /* 1e134 */
    {0x5EC05DCFF72E7F8FULL, 0xB01AE745B101E9E4ULL}, /* 1e135 */
    {0x76707543F4FA1F73ULL, 0xDC21A1171D42645DULL}, /* 1e136 */
    {0x6A06494A791C53A8ULL, 0x899504AE72497EBAULL}, /* 1e137 */
    {0x0487DB9D17636892ULL, 0xABFA45DA0EDBDE69ULL}, /* 1e138 */
    {0x45A9D2845D3C42B6ULL, 0xD6F8D7509292D603ULL}, /* 1e139 */
    {0x0B8A2392BA45A9B2ULL, 0x865B86925B9BC5C2ULL}, /* 1e140 */
    {0x8E6CAC7768D7141EULL, 0xA7F26836F282B732ULL}, /* 1e141 */
    {0x3207D795430CD926ULL, 0xD1EF0244AF2364FFULL}, /* 1e142 */
    {0x7F44E6BD49E807B8ULL, 0x8335616AED761F1FULL}, /* 1e143 */
    {0x5F16206C9C6209A6ULL, 0xA402B9C5A8D3A6E7ULL}, /* 1e144 */
    {0x36DBA887C37A8C0FULL, 0xCD036837130890A1ULL}, /* 1e145 */
    {0xC2494954DA2C9789ULL, 0x802221226BE55A64ULL}, /* 1e146 */
    {0xF2DB9BAA10B7BD6CULL, 0xA02AA96B06DEB0FDULL}, /* 1e147 */
    {0x6F92829494E5ACC7ULL, 0xC83553C5C8965D3DULL}, /* 1e148 */
    {0xCB772339BA1F17F9ULL, 0xFA42A8B73ABBF48CULL}, /* 1e149 */
    {0xFF2A760414536EFBULL, 0x9C69A97284B578D7ULL}, /* 1e150 */
    {0xFEF5138519684ABAULL, 0xC38413CF25E2D70DULL}, /* 1e151 */
    {0x7EB258665FC25D69ULL, 0xF46518C2EF5B8CD1ULL}, /* 1e152 */
    {0xEF2F773FFBD97A61ULL, 0x98BF2F79D5993802ULL}, /* 1e153 */
    {0xAAFB550FFACFD8FAULL, 0xBEEEFB584AFF8603ULL}, /* 1e154 */
    {0x95BA2A53F983CF38ULL, 0xEEAABA2E5DBF6784ULL}, /* 1e155 */
    {0xDD945A747BF26183ULL, 0x952AB45CFA97A0B2ULL}, /* 1e156 */
    {0x94F971119AEEF9E4ULL, 0xBA756174393D88DFULL}, /* 1e157 */
    {0x7A37CD5601AAB85DULL, 0xE912B9D1478CEB17ULL}, /* 1e158 */
    {0xAC62E055C10AB33AULL, 0x91ABB422CCB812EEULL}, /* 1e159 */
    {0x577B986B314D6009ULL, 0xB616A12B7FE617AAULL}, /* 1e160 */
    {0xED5A7E85FDA0B80BULL, 0xE39C49765FDF9D94ULL}, /* 1e161 */
    {0x14588F13BE847307ULL, 0x8E41ADE9FBEBC27DULL}, /* 1e162 */
    {0x596EB2D8AE258FC8ULL, 0xB1D219647AE6B31CULL}, /* 1e163 */
    {0x6FCA5F8ED9AEF3BBULL, 0xDE469FBD99A05FE3ULL}, /* 1e164 */
    {0x25DE7BB9480D5854ULL, 0x8AEC23D680043BEEULL}, /* 1e165 */
    {0xAF561AA79A10AE6AULL, 0xADA72CCC20054AE9ULL}, /* 1e166 */
    {0x1B2BA1518094DA04ULL, 0xD910F7FF28069DA4ULL}, /* 1e167 */
    {0x90FB44D2F05D0842ULL, 0x87AA9AFF79042286ULL}, /* 1e168 */
    {0x353A1607AC744A53ULL, 0xA99541BF57452B28ULL}, /* 1e169 */
    {0x42889B8997915CE8ULL, 0xD3FA922F2D1675F2ULL}, /* 1e170 */
    {0x69956135FEBADA11ULL, 0x847C9B5D7C2E09B7ULL}, /* 1e171 */
    {0x43FAB9837E699095ULL, 0xA59BC234DB398C25ULL}, /* 1e172 */
    {0x94F967E45E03F4BBULL, 0xCF02B2C21207EF2EULL}, /* 1e173 */
    {0x1D1BE0EEBAC278F5ULL, 0x8161AFB94B44F57DULL}, /* 1e174 */
    {0x6462D92A69731732ULL, 0xA1BA1BA79E1632DCULL}, /* 1e175 */
    {0x7D7B8F7503CFDCFEULL, 0xCA28A291859BBF93ULL}, /* 1e176 */
    {0x5CDA735244C3D43EULL, 0xFCB2CB35E702AF78ULL}, /* 1e177 */
    {0x3A0888136AFA64A7ULL, 0x9DEFBF01B061ADABULL}, /* 1e178 */
    {0x088AAA1845B8FDD0ULL, 0xC56BAEC21C7A1916ULL}, /* 1e179 */
    {0x8AAD549E57273D45ULL, 0xF6C69A72A3989F5BULL}, /* 1e180 */
    {0x36AC54E2F678864BULL, 0x9A3C2087A63F6399ULL}, /* 1e181 */
    {0x84576A1BB416A7DDULL, 0xC0CB28A98FCF3C7FULL}, /* 1e182 */
    {0x656D44A2A11C51D5ULL, 0xF0FDF2D3F3C30B9FULL}, /* 1e183 */
    {0x9F644AE5A4B1B325ULL, 0x969EB7C47859E743ULL}, /* 1e184 */
    {0x873D5D9F0DDE1FEEULL, 0xBC4665B596706114ULL}, /* 1e185 */
    {0xA90CB506D155A7EAULL, 0xEB57FF22FC0C7959ULL}, /* 1e186 */
    {0x09A7F12442D588F2ULL, 0x9316FF75DD87CBD8ULL}, /* 1e187 */
    {0x0C11ED6D538AEB2FULL, 0xB7DCBF5354E9BECEULL}, /* 1e188 */
    {0x8F1668C8A86DA5FAULL, 0xE5D3EF282A242E81ULL}, /* 1e189 */
    {0xF96E017D694487BCULL, 0x8FA475791A569D10ULL}, /* 1e190 */
    {0x37C981DCC395A9ACULL, 0xB38D92D760EC4455ULL}, /* 1e191 */
    {0x85BBE253F47B1417ULL, 0xE070F78D3927556AULL}, /* 1e192 */
    {0x93956D7478CCEC8EULL, 0x8C469AB843B89562ULL}, /* 1e193 */
    {0x387AC8D1970027B2ULL, 0xAF58416654A6BABBULL}, /* 1e194 */
    {0x06997B05FCC0319EULL, 0xDB2E51BFE9D0696AULL}, /* 1e195 */
    {0x441FECE3BDF81F03ULL, 0x88FCF317F22241E2ULL}, /* 1e196 */
    {0xD527E81CAD7626C3ULL, 0xAB3C2FDDEEAAD25AULL}, /* 1e197 */
    {0x8A71E223D8D3B074ULL, 0xD60B3BD56A5586F1ULL}, /* 1e198 */
    {0xF6872D5667844E49ULL, 0x85C7056562757456ULL}, /* 1e199 */
    {0xB428F8AC016561DBULL, 0xA738C6BEBB12D16CULL}, /* 1e200 */
    {0xE13336D701BEBA52ULL, 0xD106F86E69D785C7ULL}, /* 1e201 */
    {0xECC0024661173473ULL, 0x82A45B450226B39CULL}, /* 1e202 */
    {0x27F002D7F95D0190ULL, 0xA34D721642B06084ULL}, /* 1e203 */
    {0x31EC038DF7B441F4ULL, 0xCC20CE9BD35C78A5ULL}, /* 1e204 */
    {0x7E67047175A15271ULL, 0xFF290242C83396CEULL}, /* 1e205 */
    {0x0F0062C6E984D386ULL, 0x9F79A169BD203E41ULL}, /* 1e206 */
    {0x52C07B78A3E60868ULL, 0xC75809C42C684DD1ULL}, /* 1e207 */
    {0xA7709A56CCDF8A82ULL, 0xF92E0C3537826145ULL}, /* 1e208 */
    {0x88A66076400BB691ULL, 0x9BBCC7A142B17CCBULL}, /* 1e209 */
    {0x6ACFF893D00EA435ULL, 0xC2ABF989935DDBFEULL}, /* 1e210 */
    {0x0583F6B8C4124D43ULL, 0xF356F7EBF83552FEULL}, /* 1e211 */
    {0xC3727A337A8B704AULL, 0x98165AF37B2153DEULL}, /* 1e212 */
    {0x744F18C0592E4C5CULL, 0xBE1BF1B059E9A8D6ULL}, /* 1e213 */
    {0x1162DEF06F79DF73ULL, 0xEDA2EE1C7064130CULL}, /* 1e214 */
    {0x8ADDCB5645AC2BA8ULL, 0x9485D4D1C63E8BE7ULL}, /* 1e215 */
    {0x6D953E2BD7173692ULL, 0xB9A74A0637CE2EE1ULL}, /* 1e216 */
    {0xC8FA8DB6CCDD0437ULL, 0xE8111C87C5C1BA99ULL}, /* 1e217 */
    {0x1D9C9892400A22A2ULL, 0x910AB1D4DB9914A0ULL}, /* 1e218 */
    {0x2503BEB6D00CAB4BULL, 0xB54D5E4A127F59C8ULL}, /* 1e219 */
    {0x2E44AE64840FD61DULL, 0xE2A0B5DC971F303AULL}, /* 1e220 */
    {0x5CEAECFED289E5D2ULL, 0x8DA471A9DE737E24ULL}, /* 1e221 */
    {0x7425A83E872C5F47ULL, 0xB10D8E1456105DADULL}, /* 1e222 */
    {0xD12F124E28F77719ULL, 0xDD50F1996B947518ULL}, /* 1e223 */
    {0x82BD6B70D99AAA6FULL, 0x8A5296FFE33CC92FULL}, /* 1e224 */
    {0x636CC64D1001550BULL, 0xACE73CBFDC0BFB7BULL}, /* 1e225 */
    {0x3C47F7E05401AA4EULL, 0xD8210BEFD30EFA5AULL}, /* 1e226 */
    {0x65ACFAEC34810A71ULL, 0x8714A775E3E95C78ULL}, /* 1e227 */
    {0x7F1839A741A14D0DULL, 0xA8D9D1535CE3B396ULL}, /* 1e228 */
    {0x1EDE48111209A050ULL, 0xD31045A8341CA07CULL}, /* 1e229 */
    {0x934AED0AAB460432ULL, 0x83EA2B892091E44DULL}, /* 1e230 */
    {0xF81DA84D5617853FULL, 0xA4E4B66B68B65D60ULL}, /* 1e231 */
    {0x36251260AB9D668EULL, 0xCE1DE40642E3F4B9ULL}, /* 1e232 */
    {0xC1D72B7C6B426019ULL, 0x80D2AE83E9CE78F3ULL}, /* 1e233 */
    {0xB24CF65B8612F81FULL, 0xA1075A24E4421730ULL}, /* 1e234 */
    {0xDEE033F26797B627ULL, 0xC94930AE1D529CFCULL}, /* 1e235 */
    {0x169840EF017DA3B1ULL, 0xFB9B7CD9A4A7443CULL}, /* 1e236 */
    {0x8E1F289560EE864EULL, 0x9D412E0806E88AA5ULL}, /* 1e237 */
    {0xF1A6F2BAB92A27E2ULL, 0xC491798A08A2AD4EULL}, /* 1e238 */
    {0xAE10AF696774B1DBULL, 0xF5B5D7EC8ACB58A2ULL}, /* 1e239 */
    {0xACCA6DA1E0A8EF29ULL, 0x9991A6F3D6BF1765ULL}, /* 1e240 */
    {0x17FD090A58D32AF3ULL, 0xBFF610B0CC6EDD3FULL}, /* 1e241 */
    {0xDDFC4B4CEF07F5B0ULL, 0xEFF394DCFF8A948EULL}, /* 1e242 */
    {0x4ABDAF101564F98EULL, 0x95F83D0A1FB69CD9ULL}, /* 1e243 */
    {0x9D6D1AD41ABE37F1ULL, 0xBB764C4CA7A4440FULL}, /* 1e244 */
    {0x84C86189216DC5EDULL, 0xEA53DF5FD18D5513ULL}, /* 1e245 */
    {0x32FD3CF5B4E49BB4ULL, 0x92746B9BE2F8552CULL}, /* 1e246 */
    {0x3FBC8C33221DC2A1ULL, 0xB7118682DBB66A77ULL}, /* 1e247 */
    {0x0FABAF3FEAA5334AULL, 0xE4D5E82392A40515ULL}, /* 1e248 */
    {0x29CB4D87F2A7400EULL, 0x8F05B1163BA6832DULL}, /* 1e249 */
    {0x743E20E9EF511012ULL, 0xB2C71D5BCA9023F8ULL}, /* 1e250 */
    {0x914DA9246B255416ULL, 0xDF78E4B2BD342CF6ULL}, /* 1e251 */
    {0x1AD089B6C2F7548EULL, 0x8BAB8EEFB6409C1AULL}, /* 1e252 */
    {0xA184AC2473B529B1ULL, 0xAE9672ABA3D0C320ULL}, /* 1e253 */
    {0xC9E5D72D90A2741EULL, 0xDA3C0F568CC4F3E8ULL}, /* 1e254 */
    {0x7E2FA67C7A658892ULL, 0x8865899617FB1871ULL}, /* 1e255 */
    {0xDDBB901B98FEEAB7ULL, 0xAA7EEBFB9DF9DE8DULL}, /* 1e256 */
    {0x552A74227F3EA565ULL, 0xD51EA6FA85785631ULL}, /* 1e257 */
    {0xD53A88958F87275FULL, 0x8533285C936B35DEULL}, /* 1e258 */
    {0x8A892ABAF368F137ULL, 0xA67FF273B8460356ULL}, /* 1e259 */
    {0x2D2B7569B0432D85ULL, 0xD01FEF10A657842CULL}, /* 1e260 */
    {0x9C3B29620E29FC73ULL, 0x8213F56A67F6B29BULL}, /* 1e261 */
    {0x8349F3BA91B47B8FULL, 0xA298F2C501F45F42ULL}, /* 1e262 */
    {0x241C70A936219A73ULL, 0xCB3F2F7642717713ULL}, /* 1e263 */
    {0xED238CD383AA0110ULL, 0xFE0EFB53D30DD4D7ULL}, /* 1e264 */
    {0xF4363804324A40AAULL, 0x9EC95D1463E8A506ULL}, /* 1e265 */
    {0xB143C6053EDCD0D5ULL, 0xC67BB4597CE2CE48ULL}, /* 1e266 */
    {0xDD94B7868E94050AULL, 0xF81AA16FDC1B81DAULL}, /* 1e267 */
    {0xCA7CF2B4191C8326ULL, 0x9B10A4E5E9913128ULL}, /* 1e268 */
    {0xFD1C2F611F63A3F0ULL, 0xC1D4CE1F63F57D72ULL}, /* 1e269 */
    {0xBC633B39673C8CECULL, 0xF24A01A73CF2DCCFULL}, /* 1e270 */
    {0xD5BE0503E085D813ULL, 0x976E41088617CA01ULL}, /* 1e271 */
    {0x4B2D8644D8A74E18ULL, 0xBD49D14AA79DBC82ULL}, /* 1e272 */
    {0xDDF8E7D60ED1219EULL, 0xEC9C459D51852BA2ULL}, /* 1e273 */
    {0xCABB90E5C942B503ULL, 0x93E1AB8252F33B45ULL}, /* 1e274 */
    {0x3D6A751F3B936243ULL, 0xB8DA1662E7B00A17ULL}, /* 1e275 */
    {0x0CC512670A783AD4ULL, 0xE7109BFBA19C0C9DULL}, /* 1e276 */
    {0x27FB2B80668B24C5ULL, 0x906A617D450187E2ULL}, /* 1e277 */
    {0xB1F9F660802DEDF6ULL, 0xB484F9DC9641E9DAULL}, /* 1e278 */
    {0x5E7873F8A0396973ULL, 0xE1A63853BBD26451ULL}, /* 1e279 */
    {0xDB0B487B6423E1E8ULL, 0x8D07E33455637EB2ULL}, /* 1e280 */
    {0x91CE1A9A3D2CDA62ULL, 0xB049DC016ABC5E5FULL}, /* 1e281 */
    {0x7641A140CC7810FBULL, 0xDC5C5301C56B75F7ULL}, /* 1e282 */
    {0xA9E904C87FCB0A9DULL, 0x89B9B3E11B6329BAULL}, /* 1e283 */
    {0x546345FA9FBDCD44ULL, 0xAC2820D9623BF429ULL}, /* 1e284 */
    {0xA97C177947AD4095ULL, 0xD732290FBACAF133ULL}, /* 1e285 */
    {0x49ED8EABCCCC485DULL, 0x867F59A9D4BED6C0ULL}, /* 1e286 */
    {0x5C68F256BFFF5A74ULL, 0xA81F301449EE8C70ULL}, /* 1e287 */
    {0x73832EEC6FFF3111ULL, 0xD226FC195C6A2F8CULL}, /* 1e288 */
    {0xC831FD53C5FF7EABULL, 0x83585D8FD9C25DB7ULL}, /* 1e289 */
    {0xBA3E7CA8B77F5E55ULL, 0xA42E74F3D032F525ULL}, /* 1e290 */
    {0x28CE1BD2E55F35EBULL, 0xCD3A1230C43FB26FULL}, /* 1e291 */
    {0x7980D163CF5B81B3ULL, 0x80444B5E7AA7CF85ULL}, /* 1e292 */
    {0xD7E105BCC332621FULL, 0xA0555E361951C366ULL}, /* 1e293 */
    {0x8DD9472BF3FEFAA7ULL, 0xC86AB5C39FA63440ULL}, /* 1e294 */
    {0xB14F98F6F0FEB951ULL, 0xFA856334878FC150ULL}, /* 1e295 */
    {0x6ED1BF9A569F33D3ULL, 0x9C935E00D4B9D8D2ULL}, /* 1e296 */
    {0x0A862F80EC4700C8ULL, 0xC3B8358109E84F07ULL}, /* 1e297 */
    {0xCD27BB612758C0FAULL, 0xF4A642E14C6262C8ULL}, /* 1e298 */
    {0x8038D51CB897789CULL, 0x98E7E9CCCFBD7DBDULL}, /* 1e299 */
    {0xE0470A63E6BD56C3ULL, 0xBF21E44003ACDD2CULL}, /* 1e300 */
    {0x1858CCFCE06CAC74ULL, 0xEEEA5D5004981478ULL}, /* 1e301 */
    {0x0F37801E0C43EBC8ULL, 0x95527A5202DF0CCBULL}, /* 1e302 */
    {0xD30560258F54E6BAULL, 0xBAA718E68396CFFDULL}, /* 1e303 */
    {0x47C6B82EF32A2069ULL, 0xE950DF20247C83FDULL}, /* 1e304 */
    {0x4CDC331D57FA5441ULL, 0x91D28B7416CDD27EULL}, /* 1e305 */
    {0xE0133FE4ADF8E952ULL, 0xB6472E511C81471DULL}, /* 1e306 */
    {0x58180FDDD97723A6ULL, 0xE3D8F9E563A198E5ULL}, /* 1e307 */
    {0x570F09EAA7EA7648ULL, 0x8E679C2F5E44FF8FULL}, /* 1e308 */
    {0x2CD2CC6551E513DAULL, 0xB201833B35D63F73ULL}, /* 1e309 */
    {0xF8077F7EA65E58D1ULL, 0xDE81E40A034BCF4FULL}, /* 1e310 */
    {0xFB04AFAF27FAF782ULL, 0x8B112E86420F6191ULL}, /* 1e311 */
    {0x79C5DB9AF1F9B563ULL, 0xADD57A27D29339F6ULL}, /* 1e312 */
    {0x18375281AE7822BCULL, 0xD94AD8B1C7380874ULL}, /* 1e313 */
    {0x8F2293910D0B15B5ULL, 0x87CEC76F1C830548ULL}, /* 1e314 */
    {0xB2EB3875504DDB22ULL, 0xA9C2794AE3A3C69AULL}, /* 1e315 */
    {0x5FA60692A46151EBULL, 0xD433179D9C8CB841ULL}, /* 1e316 */
    {0xDBC7C41BA6BCD333ULL, 0x849FEEC281D7F328ULL}, /* 1e317 */
    {0x12B9B522906C0800ULL, 0xA5C7EA73224DEFF3ULL}, /* 1e318 */
    {0xD768226B34870A00ULL, 0xCF39E50FEAE16BEFULL}, /* 1e319 */
    {0xE6A1158300D46640ULL, 0x81842F29F2CCE375ULL}, /* 1e320 */
    {0x60495AE3C1097FD0ULL, 0xA1E53AF46F801C53ULL}, /* 1e321 */
    {0x385BB19CB14BDFC4ULL, 0xCA5E89B18B602368ULL}, /* 1e322 */
    {0x46729E03DD9ED7B5ULL, 0xFCF62C1DEE382C42ULL}, /* 1e323 */
    {0x6C07A2C26A8346D1ULL, 0x9E19DB92B4E31BA9ULL}, /* 1e324 */
    {0xC7098B7305241885ULL, 0xC5A05277621BE293ULL}, /* 1e325 */
    {0xB8CBEE4FC66D1EA7ULL, 0xF70867153AA2DB38ULL}, /* 1e326 */
    {0x737F74F1DC043328ULL, 0x9A65406D44A5C903ULL}, /* 1e327 */
    {0x505F522E53053FF2ULL, 0xC0FE908895CF3B44ULL}, /* 1e328 */
    {0x647726B9E7C68FEFULL, 0xF13E34AABB430A15ULL}, /* 1e329 */
    {0x5ECA783430DC19F5ULL, 0x96C6E0EAB509E64DULL}, /* 1e330 */
    {0xB67D16413D132072ULL, 0xBC789925624C5FE0ULL}, /* 1e331 */
    {0xE41C5BD18C57E88FULL, 0xEB96BF6EBADF77D8ULL}, /* 1e332 */
    {0x8E91B962F7B6F159ULL, 0x933E37A534CBAAE7ULL}, /* 1e333 */
    {0x723627BBB5A4ADB0ULL, 0xB80DC58E81FE95A1ULL}, /* 1e334 */
    {0xCEC3B1AAA30DD91CULL, 0xE61136F2227E3B09ULL}, /* 1e335 */
    {0x213A4F0AA5E8A7B1ULL, 0x8FCAC257558EE4E6ULL}, /* 1e336 */
    {0xA988E2CD4F62D19DULL, 0xB3BD72ED2AF29E1FULL}, /* 1e337 */
    {0x93EB1B80A33B8605ULL, 0xE0ACCFA875AF45A7ULL}, /* 1e338 */
    {0xBC72F130660533C3ULL, 0x8C6C01C9498D8B88ULL}, /* 1e339 */
    {0xEB8FAD7C7F8680B4ULL, 0xAF87023B9BF0EE6AULL}, /* 1e340 */
    {0xA67398DB9F6820E1ULL, 0xDB68C2CA82ED2A05ULL}, /* 1e341 */
    {0x88083F8943A1148CULL, 0x892179BE91D43A43ULL}, /* 1e342 */
    {0x6A0A4F6B948959B0ULL, 0xAB69D82E364948D4ULL}, /* 1e343 */
    {0x848CE34679ABB01CULL, 0xD6444E39C3DB9B09ULL}, /* 1e344 */
    {0xF2D80E0C0C0B4E11ULL, 0x85EAB0E41A6940E5ULL}, /* 1e345 */
    {0x6F8E118F0F0E2195ULL, 0xA7655D1D2103911FULL}, /* 1e346 */
    {0x4B7195F2D2D1A9FBULL, 0xD13EB46469447567ULL}, /* 1e347 */
};
#endif

enum gy_status gy_lake_parse_double(const char *p, size_t len, double *out)
{
    return gy__parse_f64(p, len, out);
}
