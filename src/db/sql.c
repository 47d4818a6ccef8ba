/* SPDX-License-Identifier: MIT */
/*
 * sql.c - the dynamic SQL builder shared by the modules that build queries from filters and
 * option lists (tracking's run search, the registry's searches): portable "$N" placeholders,
 * owned parameter strings and sticky errors.
 */
#include "db/db.h"

#include <string.h>

void gy_db_sql_init(struct gy_db_sql *b)
{
    memset(b, 0, sizeof *b);
    gy_buf_init(&b->sql, (size_t)64 << 20);
}

void gy_db_sql_free(struct gy_db_sql *b)
{
    for (size_t i = 0; i < b->nown; i++)
        gy_free(b->own[i]);
    gy_free(b->own);
    gy_free(b->p);
    gy_buf_free(&b->sql);
    memset(b, 0, sizeof *b);
}

void gy_db_sql_printf(struct gy_db_sql *b, const char *fmt, ...)
{
    va_list ap;
    if (b->rc)
        return;
    va_start(ap, fmt);
    b->rc = gy_buf_vprintf(&b->sql, fmt, ap);
    va_end(ap);
}

int gy_db_sql_next(const struct gy_db_sql *b)
{
    return (int)b->np + 1;
}

/* Records a parameter without writing its placeholder. */
static void bind_only(struct gy_db_sql *b, struct gy_db_param p)
{
    if (b->rc)
        return;
    if (b->np == b->pcap) {
        size_t ncap = b->pcap ? b->pcap * 2 : 16;
        struct gy_db_param *np = gy_realloc(b->p, ncap * sizeof *np);
        if (!np) {
            b->rc = gy_error_set(GY_E_NOMEM, "out of memory building a query");
            return;
        }
        b->p = np;
        b->pcap = ncap;
    }
    b->p[b->np++] = p;
}

void gy_db_sql_param(struct gy_db_sql *b, struct gy_db_param p)
{
    bind_only(b, p);
    if (b->rc == GY_OK)
        b->rc = gy_buf_printf(&b->sql, "$%zu", b->np);
}

/* Takes @p s into the builder's owned strings; frees it and records OOM on failure. */
static int own(struct gy_db_sql *b, char *s)
{
    if (!b->rc && b->nown == b->owncap) {
        size_t ncap = b->owncap ? b->owncap * 2 : 8;
        char **n = gy_realloc(b->own, ncap * sizeof *n);
        if (!n) {
            b->rc = gy_error_set(GY_E_NOMEM, "out of memory building a query");
        } else {
            b->own = n;
            b->owncap = ncap;
        }
    }
    if (b->rc || !s) {
        if (!b->rc)
            b->rc = gy_error_set(GY_E_NOMEM, "out of memory building a query");
        gy_free(s);
        return 0;
    }
    b->own[b->nown++] = s;
    return 1;
}

void gy_db_sql_text_own(struct gy_db_sql *b, char *s)
{
    if (own(b, s))
        gy_db_sql_param(b, GY_DB_P_TEXT(s));
}

void gy_db_sql_bind_own(struct gy_db_sql *b, char *s)
{
    if (own(b, s))
        bind_only(b, GY_DB_P_TEXT(s));
}

void gy_db_sql_trim_comma(struct gy_db_sql *b)
{
    if (b->rc == GY_OK && b->sql.len >= 2 && b->sql.data[b->sql.len - 2] == ',') {
        b->sql.len -= 2;
        b->sql.data[b->sql.len] = '\0';
    }
}

void gy_db_sql_page(struct gy_db_sql *b, int64_t limit, int64_t offset)
{
    gy_db_sql_printf(b, " LIMIT ");
    gy_db_sql_param(b, GY_DB_P_INT(limit + 1));
    gy_db_sql_printf(b, " OFFSET ");
    gy_db_sql_param(b, GY_DB_P_INT(offset));
}
