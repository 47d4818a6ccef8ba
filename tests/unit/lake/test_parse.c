/* SPDX-License-Identifier: MIT */
/*
 * test_parse.c - unit tests for the field parsers (src/lake/parse.c): null tokens; float64
 * bit-exact agreement with strtod on boundary cases and on large randomized sets (digit
 * strings, printed doubles, random bit patterns), and the inputs it must reject; int64
 * limits; bools; RFC 3339 and epoch timestamps against known values (epoch values computed
 * with Python's datetime), invalid dates and times; and UTF-8 validation against a
 * straightforward reference decoder.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

/* A deterministic generator (splitmix64) so failures reproduce. */
static uint64_t rng_state = 0x1234567887654321ULL;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned rndn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* ------------------------------------------------------------------ null tokens */

Test(parse, null_tokens)
{
    static const char *const nulls[] = {"", "NA", "N/A", "null", "NULL"};
    static const char *const values[] = {"na", "Null", "nan", "NAN", "None", " ", "0", "N/A "};
    for (size_t i = 0; i < GY_ARRAY_LEN(nulls); i++) {
        cr_assert(gy__is_null_token(nulls[i], strlen(nulls[i]), GY_TYPE_INT64), "%s", nulls[i]);
        cr_assert(gy__is_null_token(nulls[i], strlen(nulls[i]), GY_TYPE_STRING));
        cr_assert(gy__is_null_token(nulls[i], strlen(nulls[i]), GY_TYPE_FLOAT64));
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(values); i++)
        cr_assert(!gy__is_null_token(values[i], strlen(values[i]), GY_TYPE_FLOAT64), "%s",
                  values[i]);
    cr_assert(gy__is_null_token("NaN", 3, GY_TYPE_FLOAT64));
    cr_assert(!gy__is_null_token("NaN", 3, GY_TYPE_INT64));
    cr_assert(!gy__is_null_token("NaN", 3, GY_TYPE_STRING));
    /* Length-delimited: "NA" inside a longer buffer. */
    cr_assert(gy__is_null_token("NAB", 2, GY_TYPE_INT64));
    cr_assert(!gy__is_null_token("NAB", 3, GY_TYPE_INT64));
}

/* ------------------------------------------------------------------ float64 */

/*
 * Checks gy__parse_f64 against strtod for one string: where strtod consumes the whole
 * string and gives a finite value, the result must be bit-identical; where strtod overflows
 * to infinity, gy__parse_f64 must reject the input.
 */
static void agree(const char *s)
{
    char *end;
    double want, got = 0;
    enum gy_status st;

    errno = 0;
    want = strtod(s, &end);
    cr_assert_eq(*end, '\0', "oracle did not consume \"%s\"", s);
    st = gy__parse_f64(s, strlen(s), &got);
    if (isinf(want)) {
        cr_assert_eq(st, GY_E_INVALID, "\"%s\" overflows and must be rejected", s);
        return;
    }
    cr_assert_eq(st, GY_OK, "\"%s\" rejected", s);
    cr_assert(memcmp(&got, &want, sizeof(double)) == 0, "\"%s\": got %.17g want %.17g", s, got,
              want);
}

Test(parse, f64_boundaries)
{
    static const char *const cases[] = {
        "0",
        "-0",
        "+0",
        "0.0",
        "-0.0",
        "0e0",
        "0e999999",
        "-0e-999999",
        "1",
        "-1",
        "+1",
        "1.5",
        ".5",
        "5.",
        "-.5",
        "1e0",
        "1E5",
        "1e+5",
        "1e-5",
        "9007199254740992",
        "9007199254740993",
        "9007199254740994",
        "9007199254740995",
        "18014398509481985",
        "1e22",
        "1e23",
        "9e22",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "2.2250738585072014e-308",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "4.9e-324",
        "5e-324",
        "2e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1e-400",
        "-1e-400",
        "1e400",
        "-1e400",
        "1e309",
        "0.1",
        "0.2",
        "0.3",
        "0.30000000000000004",
        "123456789012345678",
        "1234567890123456789",
        "12345678901234567890",
        "123456789012345678901234567890",
        "0.000000000000000000000000000000000000001",
        "3.14159265358979323846264338327950288",
        "9999999999999999999",
        "99999999999999999999e-20",
        "8.98846567431158e307",
        "4503599627370496.5",
        "4503599627370497.5",
        "2.5e-23",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "7.2057594037927933e16",
        "1e-22",
        "1e-23",
        "123e-22",
        "9007199254740993e-22",
        "9007199254740992e15",
        "900719925474099e23",
        "1e37",
        "1e38",
        "0.000001",
        "100000000000000000000000",
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(cases); i++)
        agree(cases[i]);
}

Test(parse, f64_infinity_literals_and_rejects)
{
    static const char *const infs[] = {"inf",      "INF",       "Inf",     "+inf",
                                       "infinity", "-Infinity", "INFINITY"};
    static const char *const bad[] = {
        "",    " ",     " 1",  "1 ",   "+",     "-",   ".",     "+.",   "e5",    "1e",    "1e+",
        "1e-", "1.5.2", "1,5", "0x10", "0x1p3", "nan", "NaN",   "-nan", "infin", "infx",  "in",
        "1f",  "1d",    "--1", "+-1",  "1e5.5", "١",   "1_000", "1\n",  "\t1",   "1e400", "-1e999",
    };
    double v;
    for (size_t i = 0; i < GY_ARRAY_LEN(infs); i++) {
        cr_assert_eq(gy__parse_f64(infs[i], strlen(infs[i]), &v), GY_OK, "%s", infs[i]);
        cr_assert(isinf(v));
        cr_assert_eq(v < 0, infs[i][0] == '-');
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy__parse_f64(bad[i], strlen(bad[i]), &v), GY_E_INVALID, "\"%s\"", bad[i]);
    /* Length-delimited: the bytes after len do not count. */
    cr_assert_eq(gy__parse_f64("12.5xyz", 4, &v), GY_OK);
    cr_assert(v == 12.5);
    /* A NUL inside the given length is not accepted. */
    cr_assert_eq(gy__parse_f64("1\0", 2, &v), GY_E_INVALID);
}

Test(parse, f64_long_inputs)
{
    /* Longer than the slow path's stack buffer. */
    char s[2000];
    size_t n = 0;
    s[n++] = '0';
    s[n++] = '.';
    for (int i = 0; i < 1500; i++)
        s[n++] = '0';
    memcpy(s + n, "123e1400", 9);
    agree(s);
    memset(s, '9', 1000);
    s[1000] = '\0';
    agree(s); /* 1e1000 - 1 overflows: rejected */
    memset(s, '1', 300);
    s[300] = '\0';
    agree(s);
}

/* Random decimal strings: digits, fraction, exponent, with many near-boundary shapes. */
Test(parse, f64_random_digit_strings)
{
    char s[128];
    for (int it = 0; it < 300000; it++) {
        size_t n = 0;
        unsigned idig = rndn(22), fdig = rndn(22);
        if (rndn(4) == 0)
            s[n++] = rndn(2) ? '-' : '+';
        if (idig == 0 && fdig == 0)
            idig = 1;
        for (unsigned i = 0; i < idig; i++)
            s[n++] = (char)('0' + (i == 0 && rndn(3) == 0 ? 0 : rndn(10)));
        if (fdig > 0 || rndn(8) == 0) {
            s[n++] = '.';
            for (unsigned i = 0; i < fdig; i++)
                s[n++] = (char)('0' + rndn(10));
        }
        if (rndn(2)) {
            int e;
            switch (rndn(4)) {
            case 0:
                e = (int)rndn(45) - 22;
                break;
            case 1:
                e = (int)rndn(80) - 40;
                break;
            default:
                e = (int)rndn(700) - 350;
            }
            n += (size_t)snprintf(s + n, sizeof(s) - n, "%c%s%d", rndn(2) ? 'e' : 'E',
                                  e >= 0 && rndn(2) ? "+" : "", e);
        }
        s[n] = '\0';
        agree(s);
    }
}

/* Random doubles printed the ways programs print them, then read back. */
Test(parse, f64_random_printed_doubles)
{
    char s[64];
    static const char *const fmts[] = {"%.17g", "%.16g", "%.15g", "%.6g",
                                       "%.17e", "%.3f",  "%.10e", "%.1f"};
    for (int it = 0; it < 200000; it++) {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            continue;
        if (rndn(2)) {
            /* A friendlier magnitude: most data lives here. */
            d = (double)(rnd() >> 11) / (double)(1ULL << 53) * pow(10.0, (int)rndn(40) - 20);
            if (rndn(2))
                d = -d;
        }
        snprintf(s, sizeof(s), fmts[rndn(GY_ARRAY_LEN(fmts))], d);
        if (strlen(s) > 60)
            continue;
        agree(s);
    }
    /* %.17g round-trips: the parsed value is the printed double itself. */
    for (int it = 0; it < 100000; it++) {
        uint64_t bits = rnd();
        double d, got;
        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            continue;
        snprintf(s, sizeof(s), "%.17g", d);
        cr_assert_eq(gy__parse_f64(s, strlen(s), &got), GY_OK, "%s", s);
        cr_assert(memcmp(&got, &d, sizeof(d)) == 0, "%s", s);
    }
}

/*
 * Integers with up to 20 digits and exponents around the Clinger fast path's edges and over
 * the whole Eisel-Lemire table (10^-348 .. 10^347) and past it.
 */
Test(parse, f64_fast_path_edges)
{
    char s[64];
    for (int it = 0; it < 200000; it++) {
        uint64_t m = rnd() >> rndn(64);
        int e = rndn(2) ? (int)rndn(80) - 40 : (int)rndn(720) - 360;
        if (rndn(4) == 0)
            m = (1ULL << 53) + rndn(5) - 2;
        snprintf(s, sizeof(s), "%llue%d", (unsigned long long)m, e);
        agree(s);
    }
}

/*
 * gy__parse_f64_padded (the short-decimal path ingest uses) against gy__parse_f64 on the
 * same text, followed in the buffer by bytes that would change the value if they were read
 * as part of it: digits, '.', 'e', '-'. Same status, same bits.
 */
static void agree_padded(const char *txt, size_t len)
{
    static const char tails[] = "0123456789.e-+";
    char buf[128];
    double a = 0, b = 0;
    cr_assert(len + GY_FIELD_PAD <= sizeof buf);
    memcpy(buf, txt, len);
    for (size_t i = len; i < sizeof buf; i++)
        buf[i] = tails[rndn(sizeof tails - 1)];
    enum gy_status sa = gy__parse_f64(txt, len, &a), sb = gy__parse_f64_padded(buf, len, &b);
    cr_assert_eq(sa, sb, "\"%.*s\": status %d vs %d", (int)len, txt, sa, sb);
    if (sa == GY_OK)
        cr_assert(memcmp(&a, &b, sizeof a) == 0, "\"%.*s\": %.17g vs %.17g", (int)len, txt, a, b);
}

Test(parse, f64_padded_agrees)
{
    static const char *const fixed[] = {"0",
                                        "-0",
                                        "0.0",
                                        "-0.000000",
                                        "1.",
                                        "-1.",
                                        ".5",
                                        "-.5",
                                        ".",
                                        "-",
                                        "+1.5",
                                        "1..2",
                                        "1.2.3",
                                        "12345678.5",
                                        "1234567.12345678",
                                        "1234567.123456789",
                                        "-9999999.99999999",
                                        "00000000.1",
                                        "1e5",
                                        "1.5e-3",
                                        "7",
                                        "123456789012345",
                                        "1234567890123456",
                                        "1.5 ",
                                        " 1.5",
                                        "1,5",
                                        "NaN",
                                        "inf",
                                        "-50.847516",
                                        "101.156345",
                                        "9007199254740993",
                                        "0.30000000000000004",
                                        "-0.1234567",
                                        "99999999",
                                        "9999999",
                                        "1.-2",
                                        "--1.0"};
    char s[64];
    for (size_t i = 0; i < GY_ARRAY_LEN(fixed); i++)
        agree_padded(fixed[i], strlen(fixed[i]));
    for (int it = 0; it < 300000; it++) {
        /* [-]I.F with random digit counts (zero included), sometimes a stray character */
        int ni = (int)rndn(10), nf = (int)rndn(11), n = 0;
        if (rndn(2))
            s[n++] = '-';
        for (int k = 0; k < ni; k++)
            s[n++] = (char)('0' + rndn(10));
        if (rndn(8))
            s[n++] = '.';
        for (int k = 0; k < nf; k++)
            s[n++] = (char)('0' + rndn(10));
        if (rndn(16) == 0 && n > 0)
            s[rndn((unsigned)n)] = "x.-e+ "[rndn(6)];
        agree_padded(s, (size_t)n);
        /* and what %.Nf prints */
        n = snprintf(s, sizeof s, "%.*f", (int)rndn(9),
                     ldexp((double)(int64_t)rnd(), -(int)rndn(64)));
        agree_padded(s, (size_t)n);
    }
}

/* ------------------------------------------------------------------ int64, bool */

Test(parse, i64_limits)
{
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"+5", 5},
        {"00012", 12},
        {"-42", -42},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"-9223372036854775807", -INT64_MAX},
        {"1000000000000000000", 1000000000000000000LL},
    };
    static const char *const bad[] = {
        "",
        "-",
        "+",
        " 1",
        "1 ",
        "1.0",
        "1e3",
        "0x1",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
        "18446744073709551616",
        "--1",
        "1-",
        "١",
    };
    int64_t v;
    for (size_t i = 0; i < GY_ARRAY_LEN(ok); i++) {
        cr_assert_eq(gy__parse_i64(ok[i].s, strlen(ok[i].s), &v), GY_OK, "%s", ok[i].s);
        cr_assert_eq(v, ok[i].v, "%s", ok[i].s);
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy__parse_i64(bad[i], strlen(bad[i]), &v), GY_E_INVALID, "\"%s\"", bad[i]);
    /* Random values round-trip. */
    for (int it = 0; it < 100000; it++) {
        char s[32];
        int64_t x = (int64_t)(rnd() >> rndn(64));
        if (rndn(2))
            x = -x;
        snprintf(s, sizeof(s), "%lld", (long long)x);
        cr_assert_eq(gy__parse_i64(s, strlen(s), &v), GY_OK);
        cr_assert_eq(v, x);
    }
}

Test(parse, bools)
{
    static const char *const yes[] = {"true", "TRUE", "True", "1", "yes", "YES", "t", "T"};
    static const char *const no[] = {"false", "FALSE", "0", "no", "No", "f", "F"};
    static const char *const bad[] = {"",   "y",   "n",     "2",  "tru", "truee",
                                      "on", "off", " true", "-1", "01"};
    uint8_t b;
    for (size_t i = 0; i < GY_ARRAY_LEN(yes); i++) {
        b = 7;
        cr_assert_eq(gy__parse_bool(yes[i], strlen(yes[i]), &b), GY_OK, "%s", yes[i]);
        cr_assert_eq(b, 1);
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(no); i++) {
        b = 7;
        cr_assert_eq(gy__parse_bool(no[i], strlen(no[i]), &b), GY_OK, "%s", no[i]);
        cr_assert_eq(b, 0);
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy__parse_bool(bad[i], strlen(bad[i]), &b), GY_E_INVALID, "\"%s\"", bad[i]);
}

/* ------------------------------------------------------------------ timestamps */

Test(parse, timestamps_known_values)
{
    /* Expected values from Python's datetime (see the file comment). */
    static const struct {
        const char *s;
        int64_t us;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01", 0},
        {"1970-01-01 00:00:01", 1000000},
        {"1970-01-01t00:00:00z", 0},
        {"2000-02-29T12:34:56.789Z", 951827696789000LL},
        {"2024-05-01T12:00:00+02:00", 1714557600000000LL},
        {"2024-05-01 12:00:00.123456789-05:30", 1714584600123456LL},
        {"2024-05-01T12:00:00.1234564-05:30", 1714584600123456LL},
        {"1969-12-31T23:59:59.5Z", -500000},
        {"0001-01-01T00:00:00Z", -62135596800000000LL},
        {"9999-12-31T23:59:59.999999Z", 253402300799999999LL},
        {"2024-02-29", 1709164800000000LL},
        {"1900-03-01", -2203891200000000LL},
        {"2000-01-01T00:00:00+00:00", 946684800000000LL},
        {"2000-01-01T00:00:00-00:00", 946684800000000LL},
        {"1700000000", 1700000000000000LL},
        {"-1", -1000000},
        {"+0", 0},
    };
    static const char *const bad[] = {
        "",
        "2023-02-29",
        "2100-02-29",
        "1900-02-29",
        "2023-13-01",
        "2023-00-10",
        "2023-01-00",
        "2023-01-32",
        "2023-04-31",
        "2023-06-31",
        "2023-01-01T24:00:00Z",
        "2023-01-01T23:60:00Z",
        "2023-01-01T23:59:60Z",
        "2023-01-01T23:59Z",
        "2023-01-01T23:59:59.Z",
        "2023-01-01T23:59:59.1234567890Z",
        "2023-01-01T00:00:00+24:00",
        "2023-01-01T00:00:00+01:60",
        "2023-01-01T00:00:00+0100",
        "2023-01-01T00:00:00+01",
        "2023-1-01",
        "2023-01-1",
        "2023-01-01x",
        "2023-01-01T00:00:00ZZ",
        "2023-01-01T00:00:00Z ",
        " 2023-01-01",
        "2023/01/01",
        "2023-01-01X00:00:00Z",
        "2023-01-01T",
        "1e5",
        "1.5",
        "99999999999999999",
        "2023-01-01T00:00:00 Z",
        "-2023-01-01",
    };
    int64_t v;
    for (size_t i = 0; i < GY_ARRAY_LEN(ok); i++) {
        cr_assert_eq(gy__parse_timestamp(ok[i].s, strlen(ok[i].s), &v), GY_OK, "%s", ok[i].s);
        cr_assert_eq(v, ok[i].us, "%s: got %lld", ok[i].s, (long long)v);
    }
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy__parse_timestamp(bad[i], strlen(bad[i]), &v), GY_E_INVALID, "\"%s\"",
                     bad[i]);
    /* "20230101" is a valid integer of epoch seconds, not a date. */
    cr_assert_eq(gy__parse_timestamp("20230101", 8, &v), GY_OK);
    cr_assert_eq(v, 20230101LL * 1000000);
}

Test(parse, timestamps_every_day_is_consecutive)
{
    /* Walk 1600-01-01 .. 2400-12-31: each valid date is exactly one day after the last. */
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t prev = 0, v;
    int first = 1;
    for (int y = 1600; y <= 2400; y++) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (int m = 1; m <= 12; m++) {
            int dim = mdays[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= dim + 1; d++) {
                char s[40];
                snprintf(s, sizeof(s), "%04d-%02d-%02d", y, m, d);
                if (d == dim + 1) {
                    cr_assert_eq(gy__parse_timestamp(s, 10, &v), GY_E_INVALID, "%s", s);
                    continue;
                }
                cr_assert_eq(gy__parse_timestamp(s, 10, &v), GY_OK, "%s", s);
                if (!first)
                    cr_assert_eq(v - prev, 86400LL * 1000000, "%s", s);
                first = 0;
                prev = v;
            }
        }
    }
}

/* ------------------------------------------------------------------ UTF-8 */

/* A plain reference decoder: one code point at a time, with every rule spelled out. */
static int ref_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned long cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if (i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n;
    }
    return 1;
}

Test(parse, utf8_cases)
{
    static const char *const good[] = {
        "",
        "plain ascii text that is longer than eight bytes",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf",
        "\xed\x9f\xbf",
        "\xee\x80\x80",
        "\xc2\x80",
        "\xe0\xa0\x80",
        "\xf0\x90\x80\x80",
        "abcdefg\xc3\xa9xyz",
        "\x7f",
    };
    static const char *const bad[] = {
        "\xc0\x80",
        "\xc1\xbf",
        "\xe0\x80\x80",
        "\xe0\x9f\xbf",
        "\xf0\x80\x80\x80",
        "\xf0\x8f\xbf\xbf",
        "\xed\xa0\x80",
        "\xed\xbf\xbf",
        "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80",
        "\xff",
        "\xfe",
        "\x80",
        "\xbf",
        "\xe2\x82",
        "\xf0\x9f\x98",
        "\xc3",
        "\xe2\x28\xa1",
        "\xc3\x28",
        "abcdefgh\x80",
        "abcdefghijklmno\xc3",
        "\xf8\x88\x80\x80\x80",
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(good); i++)
        cr_assert(gy__utf8_valid(good[i], strlen(good[i])), "good %zu", i);
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert(!gy__utf8_valid(bad[i], strlen(bad[i])), "bad %zu", i);
    /* NUL is a valid character; only the given length counts. */
    cr_assert(gy__utf8_valid("a\0b", 3));
    cr_assert(gy__utf8_valid("\xc3\xa9\xff", 2));
}

Test(parse, utf8_random_against_reference)
{
    static const unsigned char pieces[][4] = {
        {'a'},
        {0xC3, 0xA9},
        {0xE2, 0x82, 0xAC},
        {0xF0, 0x9F, 0x98, 0x80},
        {0xED, 0xA0, 0x80},
        {0xC0, 0x80},
        {0x80},
        {0xF4, 0x90, 0x80, 0x80},
        {0xEF, 0xBF, 0xBF},
        {0xF4, 0x8F, 0xBF, 0xBF},
    };
    static const size_t plen[] = {1, 2, 3, 4, 3, 2, 1, 4, 3, 4};
    unsigned char s[96];
    for (int it = 0; it < 200000; it++) {
        size_t n = 0;
        unsigned mode = rndn(3);
        while (n < 80) {
            if (mode == 0) {
                s[n++] = (unsigned char)rnd();
            } else {
                unsigned k = rndn(mode == 1 ? 4 : 10);
                if (rndn(4) != 0)
                    k = 0; /* mostly ASCII runs */
                memcpy(s + n, pieces[k], plen[k]);
                n += plen[k];
            }
            if (rndn(40) == 0)
                break;
        }
        if (rndn(8) == 0 && n > 0)
            n--; /* sometimes cut a sequence short */
        cr_assert_eq(gy__utf8_valid((const char *)s, n) != 0, ref_utf8_valid(s, n), "iteration %d",
                     it);
    }
}
