/* SPDX-License-Identifier: MIT */
/*
 * buf.c - growable byte buffers with a hard cap (curl's dynbuf idea): anything fed by outside
 * input grows through one of these, so a hostile size becomes GY_E_TOO_LARGE, not an OOM.
 */
#include "base/base.h"

#include <string.h>

void gy_buf_init(struct gy_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

enum gy_status gy_buf_reserve(struct gy_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;
    if (extra > b->max || b->len > b->max - extra)
        return gy_error_set(GY_E_TOO_LARGE, "buffer limit of %zu bytes exceeded", b->max);
    need = b->len + extra + 1;
    if (need <= b->cap)
        return GY_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = gy_realloc(b->data, cap);
    if (!p)
        return gy_error_set(GY_E_NOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
    return GY_OK;
}

enum gy_status gy_buf_append(struct gy_buf *b, const void *p, size_t n)
{
    enum gy_status rc = gy_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return GY_OK;
}

enum gy_status gy_buf_puts(struct gy_buf *b, const char *s)
{
    return gy_buf_append(b, s, strlen(s));
}

enum gy_status gy_buf_putc(struct gy_buf *b, char c)
{
    return gy_buf_append(b, &c, 1);
}

enum gy_status gy_buf_vprintf(struct gy_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    enum gy_status rc;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return gy_error_set(GY_E_INVALID, "bad format string");
    rc = gy_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return GY_OK;
}

enum gy_status gy_buf_printf(struct gy_buf *b, const char *fmt, ...)
{
    va_list ap;
    enum gy_status rc;
    va_start(ap, fmt);
    rc = gy_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void gy_buf_reset(struct gy_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void gy_buf_free(struct gy_buf *b)
{
    gy_free(b->data);
    gy_buf_init(b, b->max);
}

char *gy_buf_detach(struct gy_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    if (!p) {
        p = gy_malloc(1);
        if (p)
            p[0] = '\0';
    }
    gy_buf_init(b, b->max);
    return p;
}
