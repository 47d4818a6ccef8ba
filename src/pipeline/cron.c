/* SPDX-License-Identifier: MIT */
/*
 * cron.c - 5-field cron expressions (minute hour day-of-month month day-of-week) for pipeline
 * schedules, in UTC: the parser (lists, ranges, steps, month and weekday names, the @daily
 * style macros) and the search for the next matching minute.
 *
 * Day matching follows Vixie cron: when both day fields are restricted (neither starts with
 * '*'), a day matches if either field matches; otherwise both must. Calendar arithmetic is
 * done on days since the epoch (Howard Hinnant's civil-from-days), so no time zone or libc
 * state is involved.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "pipeline/pipeline.h"

#define MINUTE_US (60LL * 1000000)
#define DAY_US (86400LL * 1000000)
#define SEARCH_DAYS (5 * 366 + 1)
#define MAX_US (200000LL * 366 * DAY_US)

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value lo + i, or NULL */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL},           {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},     {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, wday_names},
};

/* A number or a name of field @p f at *p; advances *p. */
static enum gy_status value(const struct field *f, const char **p, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        while (isdigit((unsigned char)*s)) {
            if (v > 1000)
                return gy_error_set(GY_E_INVALID, "cron %s field: number out of range %d-%d",
                                    f->name, f->lo, f->hi);
            v = v * 10 + (*s++ - '0');
        }
        if (v < f->lo || v > f->hi)
            return gy_error_set(GY_E_INVALID, "cron %s field: %d is out of range %d-%d", f->name, v,
                                f->lo, f->hi);
        *out = v;
        *p = s;
        return GY_OK;
    }
    if (f->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
        isalpha((unsigned char)s[2]) && !isalpha((unsigned char)s[3])) {
        for (int i = 0; i <= f->hi - f->lo; i++)
            if (strncasecmp(s, f->names[i], 3) == 0) {
                *out = f->lo + i;
                *p = s + 3;
                return GY_OK;
            }
    }
    return gy_error_set(GY_E_INVALID, "cron %s field: expected a number%s at \"%.16s\"", f->name,
                        f->names ? " or a name" : "", s);
}

/* Parses one field (text of length @p n) into a bit set; *star: it starts with '*'. */
static enum gy_status parse_field(const struct field *f, const char *text, size_t n, uint64_t *bits,
                                  int *star)
{
    char buf[128];
    const char *p;
    enum gy_status rc;
    if (n >= sizeof buf)
        return gy_error_set(GY_E_INVALID, "cron %s field is too long", f->name);
    memcpy(buf, text, n);
    buf[n] = '\0';
    *bits = 0;
    *star = buf[0] == '*';
    p = buf;
    for (;;) {
        int lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi;
            p++;
        } else {
            if ((rc = value(f, &p, &lo)))
                return rc;
            hi = lo;
            if (*p == '-') {
                p++;
                if ((rc = value(f, &p, &hi)))
                    return rc;
                if (hi < lo)
                    return gy_error_set(GY_E_INVALID, "cron %s field: range %d-%d is backwards",
                                        f->name, lo, hi);
            } else if (*p == '/') {
                hi = f->hi; /* "5/15" means 5-max/15 */
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p))
                return gy_error_set(GY_E_INVALID, "cron %s field: '/' needs a step", f->name);
            step = 0;
            while (isdigit((unsigned char)*p)) {
                step = step * 10 + (*p++ - '0');
                if (step > f->hi + 1)
                    break;
            }
            if (step < 1 || step > f->hi - f->lo + 1 || isdigit((unsigned char)*p))
                return gy_error_set(GY_E_INVALID, "cron %s field: step must be 1-%d", f->name,
                                    f->hi - f->lo + 1);
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ull << v;
        if (*p == '\0')
            break;
        if (*p != ',')
            return gy_error_set(GY_E_INVALID, "cron %s field: unexpected \"%.16s\"", f->name, p);
        p++;
    }
    return GY_OK;
}

enum gy_status gy_cron_parse(const char *expr, struct gy_cron *out)
{
    static const struct {
        const char *name, *expr;
    } macros[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                  {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                  {"@hourly", "0 * * * *"}};
    const char *start[5], *p;
    size_t len[5];
    int nf = 0;
    uint64_t bits[5];
    int star[5];
    enum gy_status rc;

    memset(out, 0, sizeof(*out));
    if (!expr)
        return gy_error_set(GY_E_INVALID, "cron expression is empty");
    while (isspace((unsigned char)*expr))
        expr++;
    if (*expr == '@') {
        size_t n = strlen(expr);
        while (n > 0 && isspace((unsigned char)expr[n - 1]))
            n--;
        for (size_t i = 0; i < GY_ARRAY_LEN(macros); i++)
            if (strlen(macros[i].name) == n && strncasecmp(expr, macros[i].name, n) == 0)
                return gy_cron_parse(macros[i].expr, out);
        return gy_error_set(GY_E_INVALID,
                            "cron: unknown macro \"%.32s\" (use @hourly, @daily, @weekly, "
                            "@monthly or @yearly)",
                            expr);
    }
    for (p = expr; *p;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (nf == 5)
            return gy_error_set(GY_E_INVALID, "cron: expected 5 fields (minute hour "
                                              "day-of-month month day-of-week), got more");
        start[nf] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        len[nf] = (size_t)(p - start[nf]);
        nf++;
    }
    if (nf != 5)
        return gy_error_set(GY_E_INVALID,
                            "cron: expected 5 fields (minute hour day-of-month month "
                            "day-of-week), got %d",
                            nf);
    for (int i = 0; i < 5; i++)
        if ((rc = parse_field(&fields[i], start[i], len[i], &bits[i], &star[i])))
            return rc;
    if (bits[4] & (1u << 7))
        bits[4] = (bits[4] | 1u) & 0x7f; /* 7 is Sunday */
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->mday = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->wday = (uint8_t)bits[4];
    out->mday_any = (uint8_t)star[2];
    out->wday_any = (uint8_t)star[4];
    return GY_OK;
}

/* ------------------------------------------------------------------ calendar */

/* Days since 1970-01-01 to year/month/day (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, yy;
    unsigned doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int day_matches(const struct gy_cron *c, int64_t day)
{
    int64_t y;
    unsigned m, d;
    int wd = (int)((day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int dom, dow;
    civil_from_days(day, &y, &m, &d);
    if (!(c->month & (1u << m)))
        return 0;
    dom = (c->mday >> d) & 1;
    dow = (c->wday >> wd) & 1;
    if (c->mday_any || c->wday_any)
        return dom && dow;
    return dom || dow;
}

int64_t gy_cron_next(const struct gy_cron *c, int64_t after_us)
{
    int64_t t, day, minute_of_day;
    /* beyond the year 200000 either way: no answer rather than an overflow */
    if (after_us > MAX_US || after_us < -MAX_US)
        return -1;
    t = (floor_div(after_us, MINUTE_US) + 1) * MINUTE_US; /* strictly after */
    day = floor_div(t, DAY_US);
    minute_of_day = (t - day * DAY_US) / MINUTE_US;
    if (!c->minute || !c->hour || !c->mday || !c->month || !c->wday)
        return -1;
    for (int64_t i = 0; i < SEARCH_DAYS; i++, day++, minute_of_day = 0) {
        if (!day_matches(c, day))
            continue;
        for (int64_t mm = minute_of_day; mm < 1440; mm++) {
            int h = (int)(mm / 60), mi = (int)(mm % 60);
            if (!(c->hour & (1u << h))) {
                mm = (int64_t)h * 60 + 59; /* skip the rest of this hour */
                continue;
            }
            if (c->minute & (1ull << mi))
                return day * DAY_US + mm * MINUTE_US;
        }
    }
    return -1;
}
