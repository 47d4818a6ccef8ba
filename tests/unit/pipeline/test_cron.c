/* SPDX-License-Identifier: MIT */
/*
 * test_cron.c - unit tests for cron schedules (src/pipeline/cron.c): gy_cron_next against
 * hand-checked UTC times (every 15 minutes, weekdays at 09:30, Feb 29 in leap years only,
 * both day fields restricted matching either, month and weekday names, the macros, steps on
 * ranges, year and month rollover, times before the epoch), no match within 5 years, and
 * parse errors that name the field.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pipeline/pipeline.h"

/* Unix microseconds of a UTC civil time (days_from_civil, independent of the code). */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60 * 1000000;
}

static struct gy_cron parse(const char *expr)
{
    struct gy_cron c;
    cr_assert_eq(gy_cron_parse(expr, &c), GY_OK, "%s: %s", expr, gy_error_msg());
    return c;
}

static void next_is(const char *expr, int64_t after, int64_t want)
{
    struct gy_cron c = parse(expr);
    int64_t got = gy_cron_next(&c, after);
    char g[32], w[32];
    gy_time_format(got, g);
    gy_time_format(want, w);
    cr_assert_eq(got, want, "%s: got %s, want %s", expr, got < 0 ? "-1" : g, w);
}

static void parse_err(const char *expr, const char *want)
{
    struct gy_cron c;
    cr_assert_eq(gy_cron_parse(expr, &c), GY_E_INVALID, "%s parsed", expr);
    cr_assert(strstr(gy_error_msg(), want), "%s: error \"%s\" lacks \"%s\"", expr, gy_error_msg(),
              want);
}

Test(cron, utc_helper_is_right)
{
    cr_assert_eq(utc(1970, 1, 1, 0, 0), 0);
    cr_assert_eq(utc(2000, 3, 1, 0, 0), 951868800LL * 1000000);
}

Test(cron, every_15_minutes)
{
    next_is("*/15 * * * *", utc(2026, 5, 4, 10, 7), utc(2026, 5, 4, 10, 15));
    /* strictly after: exactly on a match moves to the next one */
    next_is("*/15 * * * *", utc(2026, 5, 4, 10, 15), utc(2026, 5, 4, 10, 30));
    /* seconds inside the minute still move on */
    next_is("*/15 * * * *", utc(2026, 5, 4, 10, 15) + 59999999, utc(2026, 5, 4, 10, 30));
    next_is("*/15 * * * *", utc(2026, 12, 31, 23, 50), utc(2027, 1, 1, 0, 0));
}

Test(cron, weekdays_at_0930)
{
    /* 2026-05-01 is a Friday */
    next_is("30 9 * * 1-5", utc(2026, 5, 1, 9, 0), utc(2026, 5, 1, 9, 30));
    next_is("30 9 * * 1-5", utc(2026, 5, 1, 9, 30), utc(2026, 5, 4, 9, 30)); /* Monday */
    next_is("30 9 * * mon-fri", utc(2026, 5, 2, 12, 0), utc(2026, 5, 4, 9, 30));
}

Test(cron, feb_29_only_in_leap_years)
{
    next_is("0 0 29 2 *", utc(2025, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0));
    next_is("0 0 29 2 *", utc(2028, 2, 29, 0, 0), utc(2032, 2, 29, 0, 0));
    /* 2100 is not a leap year: from 2097 the next is 2104, beyond 5 years */
    {
        struct gy_cron c = parse("0 0 29 2 *");
        cr_assert_eq(gy_cron_next(&c, utc(2097, 3, 1, 0, 0)), -1);
    }
}

Test(cron, both_day_fields_restricted_match_either)
{
    /* the 13th or any Friday: from Mon 2026-05-04, Fri 05-08 comes first, then the 13th */
    next_is("0 12 13 * 5", utc(2026, 5, 4, 0, 0), utc(2026, 5, 8, 12, 0));
    next_is("0 12 13 * 5", utc(2026, 5, 8, 12, 0), utc(2026, 5, 13, 12, 0));
    /* day-of-week "*": only the 13th */
    next_is("0 12 13 * *", utc(2026, 5, 4, 0, 0), utc(2026, 5, 13, 12, 0));
    /* day-of-month "*": only Fridays */
    next_is("0 12 * * fri", utc(2026, 5, 9, 0, 0), utc(2026, 5, 15, 12, 0));
}

Test(cron, names_macros_lists_and_steps)
{
    next_is("0 6 1 JAN,jul *", utc(2026, 2, 10, 0, 0), utc(2026, 7, 1, 6, 0));
    next_is("@daily", utc(2026, 5, 4, 10, 7), utc(2026, 5, 5, 0, 0));
    next_is("@midnight", utc(2026, 5, 4, 10, 7), utc(2026, 5, 5, 0, 0));
    next_is("@hourly", utc(2026, 5, 4, 10, 7), utc(2026, 5, 4, 11, 0));
    next_is("@weekly", utc(2026, 5, 4, 10, 7), utc(2026, 5, 10, 0, 0)); /* Sunday */
    next_is("@monthly", utc(2026, 5, 4, 10, 7), utc(2026, 6, 1, 0, 0));
    next_is("@yearly", utc(2026, 5, 4, 10, 7), utc(2027, 1, 1, 0, 0));
    next_is("  @Daily  ", utc(2026, 5, 4, 10, 7), utc(2026, 5, 5, 0, 0));
    next_is("10-40/10 * * * *", utc(2026, 5, 4, 10, 41), utc(2026, 5, 4, 11, 10));
    next_is("5/20 * * * *", utc(2026, 5, 4, 10, 26), utc(2026, 5, 4, 10, 45));
    next_is("0 0 * * 7", utc(2026, 5, 4, 0, 0), utc(2026, 5, 10, 0, 0)); /* 7 is Sunday */
    next_is("0 22 * * 1,3", utc(2026, 5, 4, 23, 0), utc(2026, 5, 6, 22, 0));
    next_is("0 0 31 * *", utc(2026, 4, 1, 0, 0), utc(2026, 5, 31, 0, 0)); /* April has 30 */
}

Test(cron, parsed_bits)
{
    struct gy_cron c = parse("0,30 8-10 * 1-3 sun");
    cr_assert_eq(c.minute, (1ull << 0) | (1ull << 30));
    cr_assert_eq(c.hour, (1u << 8) | (1u << 9) | (1u << 10));
    cr_assert_eq(c.month, (1u << 1) | (1u << 2) | (1u << 3));
    cr_assert_eq(c.wday, 1u);
    cr_assert(c.mday_any);
    cr_assert(!c.wday_any);
}

Test(cron, before_the_epoch)
{
    next_is("0 0 * * *", utc(1969, 12, 31, 12, 0), utc(1970, 1, 1, 0, 0));
    next_is("30 * * * *", utc(1969, 12, 31, 23, 30) - 1, utc(1969, 12, 31, 23, 30));
}

Test(cron, never)
{
    struct gy_cron c = parse("0 0 31 2 *");
    cr_assert_eq(gy_cron_next(&c, utc(2026, 1, 1, 0, 0)), -1);
    c = parse("0 0 30 2 *");
    cr_assert_eq(gy_cron_next(&c, utc(2026, 1, 1, 0, 0)), -1);
    c = parse("* * * * *");
    cr_assert_eq(gy_cron_next(&c, INT64_MAX), -1);
    cr_assert_eq(gy_cron_next(&c, INT64_MIN), -1);
}

Test(cron, errors_name_the_field)
{
    parse_err("60 * * * *", "cron minute field: 60 is out of range 0-59");
    parse_err("* 24 * * *", "cron hour field: 24 is out of range 0-23");
    parse_err("* * 0 * *", "cron day-of-month field: 0 is out of range 1-31");
    parse_err("* * * 13 *", "cron month field: 13 is out of range 1-12");
    parse_err("* * * * 8", "cron day-of-week field: 8 is out of range 0-7");
    parse_err("* * * foo *", "cron month field: expected a number or a name");
    parse_err("* * * * funday", "cron day-of-week field");
    parse_err("5-1 * * * *", "cron minute field: range 5-1 is backwards");
    parse_err("*/0 * * * *", "cron minute field: step must be 1-60");
    parse_err("*/ * * * *", "cron minute field: '/' needs a step");
    parse_err("1,,2 * * * *", "cron minute field");
    parse_err("* * * *", "expected 5 fields");
    parse_err("* * * * * *", "expected 5 fields");
    parse_err("", "expected 5 fields");
    parse_err("@fortnightly", "unknown macro");
    parse_err("mon * * * *", "cron minute field: expected a number at \"mon\"");
}
