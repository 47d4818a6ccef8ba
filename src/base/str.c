/* SPDX-License-Identifier: MIT */
/*
 * str.c - small string helpers that replace the banned C library calls (atoi, sprintf).
 */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>

enum gy_status gy_parse_int64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!s || !*s || *s == ' ' || *s == '\t' || *s == '+')
        return gy_error_set(GY_E_INVALID, "not an integer: \"%s\"", s ? s : "");
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return gy_error_set(GY_E_INVALID, "not an integer: \"%s\"", s);
    *out = v;
    return GY_OK;
}

enum gy_status gy_snprintf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return GY_E_TOO_LARGE;
    return GY_OK;
}
