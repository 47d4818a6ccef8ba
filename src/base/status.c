/* SPDX-License-Identifier: MIT */
/*
 * status.c - status code names and the thread-local error text that carries detail about the
 * last failure (file, line, column, field) from where it happened to whoever reports it.
 */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local char err_text[1024];

static const char *const status_names[] = {
    [GY_OK] = "ok",
    [GY_AGAIN] = "try again",
    [GY_DECLINED] = "declined",
    [GY_NOT_FOUND] = "not found",
    [GY_E_NOMEM] = "out of memory",
    [GY_E_INVALID] = "invalid input",
    [GY_E_TOO_LARGE] = "too large",
    [GY_E_IO] = "I/O error",
    [GY_E_CORRUPT] = "integrity check failed",
    [GY_E_BUSY] = "busy, retry",
    [GY_E_EXISTS] = "already exists",
    [GY_E_SCHEMA] = "schema mismatch",
    [GY_E_DB] = "database error",
    [GY_E_UNSUPPORTED] = "unsupported",
    [GY_E_INTERNAL] = "internal error",
    [GY_E_PERM] = "permission denied",
    [GY_E_CONFLICT] = "conflict",
};

const char *gy_status_str(enum gy_status s)
{
    if ((unsigned)s < GY_ARRAY_LEN(status_names) && status_names[s])
        return status_names[s];
    return "unknown status";
}

enum gy_status gy_error_set(enum gy_status s, const char *fmt, ...)
{
    char tmp[sizeof err_text];
    va_list ap;
    /* Format into a copy: callers may pass gy_error_msg() itself as an argument. */
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(err_text, tmp, sizeof tmp);
    return s;
}

enum gy_status gy_error_wrap(enum gy_status s, const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof err_text];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_text, sizeof old);
    if (old[0])
        snprintf(err_text, sizeof err_text, "%s: %s", prefix, old);
    else
        snprintf(err_text, sizeof err_text, "%s: %s", prefix, gy_status_str(s));
    return s;
}

const char *gy_error_msg(void)
{
    return err_text;
}

void gy_error_clear(void)
{
    err_text[0] = '\0';
}

void gy__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "gyre: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
