/* SPDX-License-Identifier: MIT */
/*
 * reader.c - the streaming record readers behind ingest and schema inference: RFC 4180 CSV
 * (header row, quoted fields with commas, quotes and newlines, CRLF or LF) and JSON Lines
 * (one flat object per line, parsed by a small dedicated parser).
 *
 * The reader reads its fd with large read() calls into one buffer and parses records in
 * place: a field points into the buffer unless it needed unescaping ("" in CSV, backslash
 * escapes in JSON), in which case it points into a per-record scratch buffer. A record that
 * runs past the end of the buffer is moved to the front before the next read, and the
 * buffer grows up to what opts->max_line needs. Structural characters are found 16 bytes at
 * a time with SSE2 where available. Every record is checked for UTF-8 validity and length
 * while it is parsed, and errors carry "source:line:column" (1-based, byte columns).
 *
 * Parsing a record is a pure function of the buffer: it either completes, asks for more
 * input (the record is then parsed again from its start once more bytes are in), or fails
 * at a position. Only gy__reader_next moves the read position, so a failed record can be
 * skipped by resuming at the start of the next line. See docs/internals/lake-readers.md.
 */
#include "lake/lake_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define RD_DEFAULT_MAX_LINE ((size_t)1 << 20)
#define RD_MAX_MAX_LINE ((size_t)1 << 30)
#define RD_BUF_INIT_MAX ((size_t)4 << 20)
#define RD_BUF_INIT_MIN ((size_t)256)
#define RD_PAD GY_READER_PAD /* readable bytes past the end of the data, for 16-byte loads */
_Static_assert(RD_PAD >= GY_FIELD_PAD, "fields in the buffer keep GY_FIELD_PAD readable bytes");
#define RD_MSG 320

struct gy_reader {
    int fd;
    enum gy_format format;
    char *source;
    size_t max_line;

    char *buf;      /* cap + RD_PAD bytes; borrowed (not freed) by a text reader */
    int borrowed;   /* a text reader (gy__reader_create_text): no fd, buf is the caller's */
    size_t cap;     /* data capacity */
    size_t start;   /* first unconsumed byte */
    size_t end;     /* end of the data read so far */
    int eof;        /* read() returned 0 */
    uint64_t nread; /* bytes read from fd */
    uint64_t line;  /* line number of buf[start] */
    int skipping;   /* after an error: 1 = drop up to the next line feed; 2 = drop up to
                       the next line feed outside quotes (the rest of a CSV record) */
    int skip_inq;   /* skipping == 2: inside a quoted field */

    /* Columns and a hash index over their names (slot value = index + 1, 0 = empty). */
    char **names;
    size_t *name_lens;
    size_t ncols;
    size_t names_cap;
    uint32_t *slots;
    size_t nslots;

    struct gy_field *fields;
    size_t fields_cap;
    struct gy_record rec;

    /* JSON Lines: duplicate detection by generation, and the column expected next. */
    uint32_t *seen;
    uint32_t gen;
    size_t expect;

    /* Unescaped field text of the current record. */
    char *scratch;
    size_t scratch_cap;
    size_t scratch_len;

    /* CSV: blank lines seen but not yet known to be trailing (ignored) or not (reported). */
    uint64_t pending_blank;
    uint64_t pending_line;
    uint64_t trailing_blank; /* line of the first blank line the end of input made ignored */
};

enum rd_res { RD_OK, RD_MORE, RD_BLANK, RD_ERR };

enum rd_resume {
    RD_RESUME_SKIP = 0, /* drop input from rpos as rskip says (see gy_reader.skipping) */
    RD_RESUME_NEXT,     /* after the record (its extent is known) */
    RD_RESUME_EOF,      /* nothing left to read */
};

/* The outcome of parsing one record. */
struct rd_out {
    const char *next;    /* first byte after the record */
    uint64_t nl;         /* line feeds inside the record, terminator included */
    size_t nf;           /* fields found (CSV; may exceed fields_cap) */
    const char *rec_end; /* where the record's content ends (its terminator) */
    const char *extra;   /* CSV: start of the first field past the header's count */
    enum gy_status st;   /* error status when RD_ERR (GY_E_INVALID or GY_E_NOMEM) */
    const char *epos;    /* error position */
    enum rd_resume resume;
    const char *rpos; /* RD_RESUME_SKIP: where skipping starts */
    int rskip;        /* RD_RESUME_SKIP: skip mode (1 or 2) */
    int rinq;         /* RD_RESUME_SKIP, mode 2: rpos is inside a quoted field */
    char msg[RD_MSG];
};

/* ------------------------------------------------------------------ scanning */

#if !defined(__SSE2__)
static int csv_plain_special(unsigned char c)
{
    return c == ',' || c == '\n' || c == '\r' || c == '"' || c >= 0x80;
}
#endif

/* First byte in [p, lim) that is ',', '\n', '\r', '"' or >= 0x80, or lim. */
static inline const char *scan_csv_plain(const char *p, const char *lim)
{
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), qt = _mm_set1_epi8('"');
    while (p < lim) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, lf)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, qt)));
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(m, v));
        if (bits) {
            p += __builtin_ctz(bits);
            return p < lim ? p : lim;
        }
        p += 16;
    }
    return lim;
#else
    while (p < lim && !csv_plain_special((unsigned char)*p))
        p++;
    return p;
#endif
}

/* First byte in [p, lim) that is '"', '\n' or >= 0x80, or lim. */
static inline const char *scan_csv_quoted(const char *p, const char *lim)
{
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n'), qt = _mm_set1_epi8('"');
    while (p < lim) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, qt));
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(m, v));
        if (bits) {
            p += __builtin_ctz(bits);
            return p < lim ? p : lim;
        }
        p += 16;
    }
    return lim;
#else
    while (p < lim && *p != '"' && *p != '\n' && (unsigned char)*p < 0x80)
        p++;
    return p;
#endif
}

/* First byte in [p, lim) that is '"', '\\', a control character or >= 0x80, or lim. */
static inline const char *scan_json_str(const char *p, const char *lim)
{
#if defined(__SSE2__)
    const __m128i qt = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    const __m128i sp = _mm_set1_epi8(0x20);
    while (p < lim) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, qt), _mm_cmpeq_epi8(v, bs)),
                                 _mm_cmplt_epi8(v, sp));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits) {
            p += __builtin_ctz(bits);
            return p < lim ? p : lim;
        }
        p += 16;
    }
    return lim;
#else
    while (p < lim) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            break;
        p++;
    }
    return p;
#endif
}

/*
 * Length of the well-formed UTF-8 sequence at s (s[0] >= 0x80); 0 when it is ill-formed;
 * -1 when the bytes up to lim are a valid prefix but the sequence is cut short by lim.
 */
static int utf8_seq(const char *sp, const char *limp)
{
    const unsigned char *s = (const unsigned char *)sp, *lim = (const unsigned char *)limp;
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    int n;

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
    for (int k = 1; k < n; k++) {
        if (s + k >= lim)
            return -1;
        if (k == 1 ? (s[1] < lo || s[1] > hi) : (s[k] & 0xC0) != 0x80)
            return 0;
    }
    return n;
}

/* ------------------------------------------------------------------ messages */

static enum rd_res rd_fail(struct rd_out *o, const char *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Records an invalid-input error at pos and returns RD_ERR. The reader resumes at the
 * start of the line after pos unless the caller changes o->resume.
 */
static enum rd_res rd_fail(struct rd_out *o, const char *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
    va_end(ap);
    o->st = GY_E_INVALID;
    o->epos = pos;
    o->resume = RD_RESUME_SKIP;
    o->rpos = pos;
    o->rskip = 1;
    o->rinq = 0;
    return RD_ERR;
}

/*
 * A record longer than max_line that starts at b, whose end was not seen: skipping goes on
 * from rpos (mode 1: to the next line feed; mode 2: to the end of the CSV record, inq
 * saying whether rpos is inside quotes).
 */
static enum rd_res rd_too_long(struct gy_reader *r, struct rd_out *o, const char *b,
                               const char *rpos, int mode, int inq)
{
    rd_fail(o, b, "line longer than %zu bytes", r->max_line);
    o->rpos = rpos;
    o->rskip = mode;
    o->rinq = inq;
    return RD_ERR;
}

/* Invalid UTF-8 at q in a CSV field: the rest of the record is skipped. */
static enum rd_res rd_bad_utf8(struct rd_out *o, const char *q, int inq)
{
    rd_fail(o, q, "invalid UTF-8");
    o->rpos = q + 1;
    o->rskip = 2;
    o->rinq = inq;
    return RD_ERR;
}

/*
 * Writes a field or column name for a message: at most 64 bytes (cut at a character
 * boundary), with quotes, backslashes and control characters escaped.
 */
static void fmt_name(char *dst, size_t cap, const char *p, size_t len)
{
    size_t o = 0, i = 0, lim = len > 64 ? 64 : len;

    while (lim < len && lim > 0 && ((unsigned char)p[lim] & 0xC0) == 0x80)
        lim--;
    for (; i < lim && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            static const char hex[] = "0123456789abcdef";
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    if (i < len && o + 4 < cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Line and byte column of pos, a position inside the record that starts at buf[start]. */
static void rd_locate(const struct gy_reader *r, const char *pos, uint64_t *line, size_t *col)
{
    const char *b = r->buf + r->start, *ls = b, *q = b;
    uint64_t l = r->line;

    while (q < pos) {
        const char *lf = memchr(q, '\n', (size_t)(pos - q));
        if (lf == NULL)
            break;
        l++;
        ls = q = lf + 1;
    }
    *line = l;
    *col = (size_t)(pos - ls) + 1;
}

/* ------------------------------------------------------------------ buffer */

/* Reads more input after moving the unconsumed tail to the front (growing when full). */
static enum gy_status rd_fill(struct gy_reader *r)
{
    ssize_t n;

    if (r->eof)
        return GY_OK;
    if (r->start > 0) {
        size_t keep = r->end - r->start;
        memmove(r->buf, r->buf + r->start, keep);
        r->start = 0;
        r->end = keep;
    }
    if (r->end == r->cap) {
        size_t want = r->max_line + 2, ncap;
        char *nb;
        /* A record that fills max_line + 2 bytes is reported as too long before this. */
        if (GY_NEVER(r->cap >= want))
            return gy_error_set(GY_E_INTERNAL, "%s: reader buffer full", r->source);
        ncap = r->cap * 2 < want ? r->cap * 2 : want;
        nb = gy_realloc(r->buf, ncap + RD_PAD);
        if (nb == NULL)
            return gy_error_set(GY_E_NOMEM, "%s: out of memory growing the read buffer", r->source);
        r->buf = nb;
        r->cap = ncap;
    }
    for (;;) {
        n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n >= 0)
            break;
        if (errno != EINTR)
            return gy_error_set(GY_E_IO, "%s: read: %s", r->source, strerror(errno));
    }
    if (n == 0)
        r->eof = 1;
    r->end += (size_t)n;
    r->nread += (uint64_t)n;
    memset(r->buf + r->end, 0, RD_PAD);
    return GY_OK;
}

/* Makes sure the scratch buffer holds @p need bytes; only called while it is unused. */
static enum gy_status rd_scratch(struct gy_reader *r, size_t need)
{
    char *p;
    if (r->scratch_cap >= need)
        return GY_OK;
    if (need < 4096)
        need = 4096;
    p = gy_realloc(r->scratch, need + GY_FIELD_PAD); /* see GY_FIELD_PAD */
    if (p == NULL)
        return GY_E_NOMEM;
    r->scratch = p;
    r->scratch_cap = need;
    return GY_OK;
}

/* ------------------------------------------------------------------ column names */

static long names_find(const struct gy_reader *r, const char *p, size_t len)
{
    size_t mask = r->nslots - 1, i;
    if (r->nslots == 0)
        return -1;
    i = (size_t)gy_hash64(p, len, 0) & mask;
    while (r->slots[i] != 0) {
        size_t k = r->slots[i] - 1;
        if (r->name_lens[k] == len && memcmp(r->names[k], p, len) == 0)
            return (long)k;
        i = (i + 1) & mask;
    }
    return -1;
}

static void names_insert_slot(struct gy_reader *r, size_t k)
{
    size_t mask = r->nslots - 1;
    size_t i = (size_t)gy_hash64(r->names[k], r->name_lens[k], 0) & mask;
    while (r->slots[i] != 0)
        i = (i + 1) & mask;
    r->slots[i] = (uint32_t)(k + 1);
}

/* Appends a column name (the caller has checked it is new). */
static enum gy_status names_add(struct gy_reader *r, const char *p, size_t len)
{
    if (r->ncols == r->names_cap) {
        size_t ncap = r->names_cap ? r->names_cap * 2 : 16;
        char **nn = gy_realloc(r->names, ncap * sizeof(*nn));
        size_t *nl;
        if (nn == NULL)
            return GY_E_NOMEM;
        r->names = nn;
        nl = gy_realloc(r->name_lens, ncap * sizeof(*nl));
        if (nl == NULL)
            return GY_E_NOMEM;
        r->name_lens = nl;
        r->names_cap = ncap;
    }
    if ((r->ncols + 1) * 2 > r->nslots) {
        size_t ns = r->nslots ? r->nslots * 2 : 32;
        uint32_t *sl = gy_calloc(ns, sizeof(*sl));
        if (sl == NULL)
            return GY_E_NOMEM;
        gy_free(r->slots);
        r->slots = sl;
        r->nslots = ns;
        for (size_t k = 0; k < r->ncols; k++)
            names_insert_slot(r, k);
    }
    r->names[r->ncols] = gy_strndup(p, len);
    if (r->names[r->ncols] == NULL)
        return GY_E_NOMEM;
    r->name_lens[r->ncols] = len;
    names_insert_slot(r, r->ncols);
    r->ncols++;
    return GY_OK;
}

/*
 * Checks a column name and adds it; on a bad name fills @p o with the error. @p idx is the
 * 0-based column number for messages.
 */
static enum rd_res name_check_add(struct gy_reader *r, struct rd_out *o, const char *pos,
                                  const char *p, size_t len, size_t idx)
{
    char nm[128];
    if (len == 0)
        return rd_fail(o, pos, "empty column name (column %zu)", idx + 1);
    fmt_name(nm, sizeof(nm), p, len);
    if (len > GY_LAKE_MAX_NAME)
        return rd_fail(o, pos, "column name \"%s\" longer than %d bytes", nm, GY_LAKE_MAX_NAME);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7F)
            return rd_fail(o, pos, "column name \"%s\" contains a control character", nm);
    if (names_find(r, p, len) >= 0)
        return rd_fail(o, pos, "duplicate column name \"%s\" (column %zu)", nm, idx + 1);
    if (r->ncols >= GY_LAKE_MAX_COLUMNS)
        return rd_fail(o, pos, "more than %d columns", GY_LAKE_MAX_COLUMNS);
    if (names_add(r, p, len) != GY_OK) {
        o->st = GY_E_NOMEM;
        o->epos = pos;
        return RD_ERR;
    }
    return RD_OK;
}

/* ------------------------------------------------------------------ CSV */

/* Unescapes the quoted field text [p, e) ("" -> ") into the scratch buffer. */
static const char *csv_unescape(struct gy_reader *r, const char *p, const char *e, size_t room,
                                size_t *len)
{
    char *dst;
    size_t o;
    if (r->scratch_len == 0 && rd_scratch(r, room) != GY_OK)
        return NULL;
    dst = r->scratch + r->scratch_len;
    o = 0;
    while (p < e) {
        const char *q = memchr(p, '"', (size_t)(e - p));
        if (q == NULL)
            q = e;
        memcpy(dst + o, p, (size_t)(q - p));
        o += (size_t)(q - p);
        if (q < e) {
            dst[o++] = '"';
            q += 2; /* the doubled quote */
        }
        p = q;
    }
    r->scratch_len += o;
    *len = o;
    return dst;
}

#if defined(__SSE2__)
/* For the 64 bytes at p: *commas has bit i set when p[i] is ',', *other when it is '\n',
 * '\r', '"' or >= 0x80. */
static inline void csv_block_masks(const char *p, uint64_t *commas, uint64_t *other)
{
    const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), qt = _mm_set1_epi8('"');
    uint64_t mc = 0, mo = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i x = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)),
                                 _mm_cmpeq_epi8(v, qt));
        mc |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma)) << (16 * k);
        mo |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(x, v)) << (16 * k);
    }
    *commas = mc;
    *other = mo;
}

/*
 * The fast path for the common record: ASCII, no quotes, ending in LF or CRLF inside the
 * window. Finds the separators of a 64-byte block at once: the commas before the block's
 * first other special byte are field ends, and that byte ends the record (a line feed, or a
 * carriage return before one) or sends the record to the general parser. Returns -1 when the
 * record needs the general parser (which then starts over from the record's start), else what
 * csv_parse would return.
 */
static int csv_fast(struct gy_reader *r, struct rd_out *o, const char *b, const char *lim)
{
    const char *blk = b, *fs = b, *q;
    size_t nf = 0, cap = r->fields_cap, ncols = r->ncols;
    struct gy_field *fields = r->fields;

    o->extra = NULL;
    for (; blk < lim; blk += 64) {
        uint64_t mc, mo;
        size_t avail = (size_t)(lim - blk);
        csv_block_masks(blk, &mc, &mo);
        if (avail < 64) {
            mc &= ((uint64_t)1 << avail) - 1;
            mo &= ((uint64_t)1 << avail) - 1;
        }
        if (mo) /* the commas before the first other special byte */
            mc &= (mo & (0 - mo)) - 1;
        while (mc) {
            q = blk + __builtin_ctzll(mc);
            mc &= mc - 1;
            if (nf < cap) {
                fields[nf].p = fs;
                fields[nf].len = (size_t)(q - fs);
                fields[nf].kind = q > fs ? GY_FIELD_TEXT : GY_FIELD_NULL;
                fields[nf].column = (uint32_t)(fs - b) + 1;
            } else if (nf == ncols && ncols > 0) {
                o->extra = fs;
            }
            nf++;
            fs = q + 1;
        }
        if (!mo)
            continue;
        q = blk + __builtin_ctzll(mo);
        if (*q != '\n' && !(*q == '\r' && q + 1 < lim && q[1] == '\n'))
            return -1;
        if (nf < cap) {
            fields[nf].p = fs;
            fields[nf].len = (size_t)(q - fs);
            fields[nf].kind = q > fs ? GY_FIELD_TEXT : GY_FIELD_NULL;
            fields[nf].column = (uint32_t)(fs - b) + 1;
        } else if (nf == ncols && ncols > 0) {
            o->extra = fs;
        }
        nf++;
        o->nf = nf;
        o->rec_end = q;
        o->next = q + (*q == '\r' ? 2 : 1);
        o->nl = 1;
        if ((size_t)(q - b) > r->max_line) {
            rd_fail(o, b, "line longer than %zu bytes", r->max_line);
            o->resume = RD_RESUME_NEXT;
            return RD_ERR;
        }
        return nf == 1 && q == b ? RD_BLANK : RD_OK;
    }
    return -1;
}
#endif

/*
 * Parses the CSV record at buf[start]. Fields go to r->fields (up to fields_cap; o->nf
 * counts them all). The record may use at most max_line content bytes; parsing looks at no
 * more than max_line + 2 bytes, so the outcome never depends on how much was read.
 */
static enum rd_res csv_parse(struct gy_reader *r, struct rd_out *o)
{
    const char *b = r->buf + r->start, *e = r->buf + r->end;
    size_t room = (size_t)(e - b);
    int bylen = room >= r->max_line + 2;
    const char *lim = bylen ? b + r->max_line + 2 : e;
    const char *p = b, *ls = b, *rec_end, *next;
    uint64_t nl = 0;
    size_t nf = 0;
    int eof = r->eof;

    r->scratch_len = 0;
#if defined(__SSE2__)
    {
        int res = csv_fast(r, o, b, lim);
        if (res >= 0)
            return (enum rd_res)res;
    }
#endif
    o->extra = NULL;
    for (;;) {
        const char *fs = p, *q, *fp;
        uint32_t col = (uint32_t)(fs - ls) + 1;
        size_t flen;
        enum gy_field_kind kind;

        if (nf == r->ncols && r->ncols > 0 && o->extra == NULL)
            o->extra = fs;
        if (p < lim && *p == '"') {
            int esc = 0;
            q = p + 1;
            for (;;) {
                int n;
                q = scan_csv_quoted(q, lim);
                if (q >= lim) {
                    if (bylen)
                        return rd_too_long(r, o, b, lim, 2, 1);
                    if (!eof)
                        return RD_MORE;
                    rd_fail(o, fs, "unterminated quoted field");
                    o->resume = RD_RESUME_EOF;
                    return RD_ERR;
                }
                if (*q == '"') {
                    if (q + 1 >= lim) {
                        if (bylen)
                            return rd_too_long(r, o, b, q, 2, 1);
                        if (!eof)
                            return RD_MORE;
                        break;
                    }
                    if (q[1] == '"') {
                        esc = 1;
                        q += 2;
                        continue;
                    }
                    break;
                }
                if (*q == '\n') {
                    nl++;
                    ls = ++q;
                    continue;
                }
                n = utf8_seq(q, lim);
                if (n > 0) {
                    q += n;
                    continue;
                }
                if (n < 0 && bylen)
                    return rd_too_long(r, o, b, q, 2, 1);
                if (n < 0 && !eof)
                    return RD_MORE;
                return rd_bad_utf8(o, q, 1);
            }
            kind = GY_FIELD_QUOTED;
            fp = p + 1;
            flen = (size_t)(q - fp);
            if (esc && nf < r->fields_cap) {
                fp = csv_unescape(r, fp, q, (size_t)(lim - b), &flen);
                if (fp == NULL) {
                    o->st = GY_E_NOMEM;
                    o->epos = fs;
                    return RD_ERR;
                }
            }
            p = q + 1;
        } else {
            q = p;
            for (;;) {
                int n;
                q = scan_csv_plain(q, lim);
                if (q >= lim)
                    break;
                if (*q == ',' || *q == '\n' || *q == '\r')
                    break;
                if (*q == '"')
                    return rd_fail(o, q, "quote inside an unquoted field");
                n = utf8_seq(q, lim);
                if (n > 0) {
                    q += n;
                    continue;
                }
                if (n < 0 && bylen)
                    return rd_too_long(r, o, b, q, 2, 0);
                if (n < 0 && !eof)
                    return RD_MORE;
                return rd_bad_utf8(o, q, 0);
            }
            if (q >= lim) {
                if (bylen)
                    return rd_too_long(r, o, b, lim, 2, 0);
                if (!eof)
                    return RD_MORE;
            }
            fp = p;
            flen = (size_t)(q - p);
            kind = flen ? GY_FIELD_TEXT : GY_FIELD_NULL;
            p = q;
        }
        if (nf < r->fields_cap) {
            struct gy_field *f = &r->fields[nf];
            f->p = fp;
            f->len = flen;
            f->kind = kind;
            f->column = col;
        }
        nf++;
        /* The separator after the field. */
        if (p >= lim) {
            if (bylen)
                return rd_too_long(r, o, b, lim, 2, 0);
            if (!eof)
                return RD_MORE;
            rec_end = next = p;
            break;
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\n') {
            rec_end = p;
            next = p + 1;
            nl++;
            break;
        }
        if (*p == '\r') {
            if (p + 1 >= lim) {
                if (bylen)
                    return rd_too_long(r, o, b, p, 2, 0);
                if (!eof)
                    return RD_MORE;
                rec_end = p;
                next = p + 1;
                break;
            }
            if (p[1] == '\n') {
                rec_end = p;
                next = p + 2;
                nl++;
                break;
            }
            return rd_fail(o, p, "carriage return not followed by a line feed");
        }
        return rd_fail(o, p, "unexpected character after a closing quote");
    }
    o->nf = nf;
    o->next = next;
    o->nl = nl;
    o->rec_end = rec_end;
    if ((size_t)(rec_end - b) > r->max_line) {
        rd_fail(o, b, "line longer than %zu bytes", r->max_line);
        o->resume = RD_RESUME_NEXT;
        return RD_ERR;
    }
    if (nf == 1 && rec_end == b)
        return RD_BLANK;
    return RD_OK;
}

/* Parses the header row into the column names. */
static enum rd_res csv_header(struct gy_reader *r, struct rd_out *o)
{
    enum rd_res res;
    for (;;) {
        res = csv_parse(r, o);
        if (res != RD_OK)
            return res;
        if (o->nf <= r->fields_cap)
            break;
        if (o->nf > GY_LAKE_MAX_COLUMNS)
            return rd_fail(o, r->buf + r->start, "more than %d columns", GY_LAKE_MAX_COLUMNS);
        /* More columns than room for fields: grow and parse the header again. */
        struct gy_field *nfl = gy_realloc(r->fields, (o->nf + 1) * sizeof(*nfl));
        if (nfl == NULL) {
            o->st = GY_E_NOMEM;
            o->epos = r->buf + r->start;
            return RD_ERR;
        }
        r->fields = nfl;
        r->fields_cap = o->nf;
    }
    for (size_t i = 0; i < o->nf; i++) {
        const struct gy_field *f = &r->fields[i];
        /* Locate by column on the header's first line (names hold no line feeds). */
        res = name_check_add(r, o, r->buf + r->start + f->column - 1, f->p, f->len, i);
        if (res != RD_OK)
            return res;
    }
    return RD_OK;
}

/* ------------------------------------------------------------------ JSON Lines */

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at p (p + 4 <= e checked by the caller); -1 when not hex. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_put(char *dst, unsigned long c)
{
    if (c < 0x80) {
        dst[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        dst[0] = (char)(0xC0 | (c >> 6));
        dst[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        dst[0] = (char)(0xE0 | (c >> 12));
        dst[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (c >> 18));
    dst[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/*
 * Parses the JSON string whose opening quote is at *pp, within the line [.., e). On success
 * *sp and *slen give the unescaped text (in the buffer when it has no escapes, else in
 * scratch) and *pp is past the closing quote. @p room bounds the scratch the record needs.
 */
static enum rd_res jl_string(struct gy_reader *r, struct rd_out *o, const char **pp, const char *e,
                             size_t room, const char **sp, size_t *slen)
{
    const char *open = *pp, *q = open + 1, *run;
    char *dst = NULL;
    size_t n = 0;

    for (;;) {
        q = scan_json_str(q, e);
        if (q >= e)
            return rd_fail(o, open, "unterminated string");
        if (*q == '"') {
            *sp = open + 1;
            *slen = (size_t)(q - open - 1);
            *pp = q + 1;
            return RD_OK;
        }
        if (*q == '\\')
            break;
        if ((unsigned char)*q < 0x20)
            return rd_fail(o, q, "control character in string");
        {
            int k = utf8_seq(q, e);
            if (k <= 0)
                return rd_fail(o, q, "invalid UTF-8");
            q += k;
        }
    }
    /* Escapes: copy into scratch from here on. */
    if (r->scratch_len == 0 && rd_scratch(r, room) != GY_OK) {
        o->st = GY_E_NOMEM;
        o->epos = open;
        return RD_ERR;
    }
    dst = r->scratch + r->scratch_len;
    run = open + 1;
    for (;;) {
        /* q is at a special byte; copy the plain run before it. */
        memcpy(dst + n, run, (size_t)(q - run));
        n += (size_t)(q - run);
        if (q >= e)
            return rd_fail(o, open, "unterminated string");
        if (*q == '"') {
            q++;
            break;
        }
        if (*q == '\\') {
            char c;
            if (q + 1 >= e)
                return rd_fail(o, open, "unterminated string");
            c = q[1];
            switch (c) {
            case '"':
            case '\\':
            case '/':
                dst[n++] = c;
                q += 2;
                break;
            case 'b':
                dst[n++] = '\b';
                q += 2;
                break;
            case 'f':
                dst[n++] = '\f';
                q += 2;
                break;
            case 'n':
                dst[n++] = '\n';
                q += 2;
                break;
            case 'r':
                dst[n++] = '\r';
                q += 2;
                break;
            case 't':
                dst[n++] = '\t';
                q += 2;
                break;
            case 'u': {
                long u = (e - q >= 6) ? hex4(q + 2) : -1;
                if (u < 0)
                    return rd_fail(o, q, "invalid \\u escape");
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return rd_fail(o, q, "unpaired surrogate in \\u escape");
                if (u >= 0xD800 && u <= 0xDBFF) {
                    long lo = (e - q >= 12 && q[6] == '\\' && q[7] == 'u') ? hex4(q + 8) : -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return rd_fail(o, q, "unpaired surrogate in \\u escape");
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    q += 6;
                }
                n += utf8_put(dst + n, (unsigned long)u);
                q += 6;
                break;
            }
            default:
                return rd_fail(o, q, "invalid escape sequence");
            }
        } else if ((unsigned char)*q < 0x20) {
            return rd_fail(o, q, "control character in string");
        } else {
            int k = utf8_seq(q, e);
            if (k <= 0)
                return rd_fail(o, q, "invalid UTF-8");
            memcpy(dst + n, q, (size_t)k);
            n += (size_t)k;
            q += k;
        }
        run = q;
        q = scan_json_str(q, e);
    }
    r->scratch_len += n;
    *sp = dst;
    *slen = n;
    *pp = q;
    return RD_OK;
}

/* Checks the JSON number grammar at p; returns its end, or NULL when malformed. */
static const char *jl_number(const char *p, const char *e)
{
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0')
        p++;
    else if (p < e && *p >= '1' && *p <= '9')
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

/* A value ends at whitespace, ',' or '}'. */
static int jl_delim(const char *p, const char *e)
{
    return p >= e || *p == ' ' || *p == '\t' || *p == '\r' || *p == ',' || *p == '}';
}

/* Finds the column of a key: the one after the previous key first, then the hash index. */
static long jl_column(struct gy_reader *r, const char *k, size_t klen)
{
    size_t x = r->expect;
    if (x < r->ncols && r->name_lens[x] == klen && memcmp(r->names[x], k, klen) == 0)
        return (long)x;
    return names_find(r, k, klen);
}

/*
 * Parses the JSON Lines record at buf[start]. In @p collect mode (finding the columns from
 * the first object) unknown keys become new columns and no fields are stored.
 */
static enum rd_res jsonl_parse(struct gy_reader *r, int collect, struct rd_out *o)
{
    const char *b = r->buf + r->start, *e = r->buf + r->end;
    size_t room = (size_t)(e - b);
    int bylen = room >= r->max_line + 2;
    const char *lim = bylen ? b + r->max_line + 2 : e;
    const char *lf = memchr(b, '\n', (size_t)(lim - b));
    const char *le, *p;
    size_t content, nkeys = 0;
    enum rd_res res;

    r->scratch_len = 0;
    if (lf != NULL) {
        le = lf;
        o->next = lf + 1;
        o->nl = 1;
        content = (size_t)(le - b);
        if (content > 0 && le[-1] == '\r')
            content--;
    } else {
        if (bylen)
            return rd_too_long(r, o, b, lim, 1, 0);
        if (!r->eof)
            return RD_MORE;
        le = lim;
        o->next = lim;
        o->nl = 0;
        content = (size_t)(le - b);
    }
    if (content > r->max_line) {
        rd_fail(o, b, "line longer than %zu bytes", r->max_line);
        o->resume = RD_RESUME_NEXT;
        return RD_ERR;
    }
    room = (size_t)(le - b);
    p = skip_ws(b, le);
    if (p == le)
        return RD_BLANK;
    if (*p != '{')
        return rd_fail(o, p, "expected a JSON object");
    if (!collect) {
        if (++r->gen == 0) {
            memset(r->seen, 0, r->ncols * sizeof(*r->seen));
            r->gen = 1;
        }
        for (size_t i = 0; i < r->ncols; i++) {
            r->fields[i].p = "";
            r->fields[i].len = 0;
            r->fields[i].kind = GY_FIELD_NULL;
            r->fields[i].column = (uint32_t)(p - b) + 1;
        }
        r->expect = 0;
    }
    p = skip_ws(p + 1, le);
    if (p < le && *p == '}') {
        p++;
    } else {
        for (;;) {
            const char *kpos = p, *k, *vpos, *vp, *ve;
            size_t klen, vlen;
            enum gy_field_kind kind;
            long col = -1;
            char nm[128];

            if (p >= le || *p != '"')
                return rd_fail(o, p, "expected a field name string");
            res = jl_string(r, o, &p, le, room, &k, &klen);
            if (res != RD_OK)
                return res;
            if (collect) {
                if (names_find(r, k, klen) >= 0) {
                    fmt_name(nm, sizeof(nm), k, klen);
                    return rd_fail(o, kpos, "duplicate field \"%s\"", nm);
                }
                res = name_check_add(r, o, kpos, k, klen, nkeys);
                if (res != RD_OK)
                    return res;
            } else {
                col = jl_column(r, k, klen);
                if (col < 0) {
                    fmt_name(nm, sizeof(nm), k, klen);
                    return rd_fail(o, kpos, "unknown field \"%s\"", nm);
                }
                if (r->seen[col] == r->gen) {
                    fmt_name(nm, sizeof(nm), k, klen);
                    return rd_fail(o, kpos, "duplicate field \"%s\"", nm);
                }
                r->seen[col] = r->gen;
                r->expect = (size_t)col + 1;
            }
            nkeys++;
            p = skip_ws(p, le);
            if (p >= le || *p != ':')
                return rd_fail(o, p, "expected ':' after a field name");
            p = skip_ws(p + 1, le);
            vpos = p;
            if (p < le && *p == '"') {
                res = jl_string(r, o, &p, le, room, &vp, &vlen);
                if (res != RD_OK)
                    return res;
                kind = GY_FIELD_QUOTED;
            } else if (p < le && (*p == '-' || (*p >= '0' && *p <= '9'))) {
                ve = jl_number(p, le);
                if (ve == NULL || !jl_delim(ve, le)) {
                    fmt_name(nm, sizeof(nm), k, klen);
                    return rd_fail(o, vpos, "field \"%s\": invalid number", nm);
                }
                vp = p;
                vlen = (size_t)(ve - p);
                p = ve;
                kind = GY_FIELD_TEXT;
            } else if (p < le && (*p == '{' || *p == '[')) {
                fmt_name(nm, sizeof(nm), k, klen);
                return rd_fail(o, vpos, "field \"%s\": nested values are not supported", nm);
            } else if (le - p >= 4 && memcmp(p, "true", 4) == 0 && jl_delim(p + 4, le)) {
                vp = p;
                vlen = 4;
                p += 4;
                kind = GY_FIELD_BOOL;
            } else if (le - p >= 5 && memcmp(p, "false", 5) == 0 && jl_delim(p + 5, le)) {
                vp = p;
                vlen = 5;
                p += 5;
                kind = GY_FIELD_BOOL;
            } else if (le - p >= 4 && memcmp(p, "null", 4) == 0 && jl_delim(p + 4, le)) {
                vp = "";
                vlen = 0;
                p += 4;
                kind = GY_FIELD_NULL;
            } else {
                fmt_name(nm, sizeof(nm), k, klen);
                return rd_fail(o, vpos, "field \"%s\": invalid value", nm);
            }
            if (!collect) {
                struct gy_field *f = &r->fields[col];
                f->p = vp;
                f->len = vlen;
                f->kind = kind;
                f->column = (uint32_t)(vpos - b) + 1;
            }
            p = skip_ws(p, le);
            if (p < le && *p == ',') {
                p = skip_ws(p + 1, le);
                continue;
            }
            if (p < le && *p == '}') {
                p++;
                break;
            }
            return rd_fail(o, p, "expected ',' or '}'");
        }
    }
    p = skip_ws(p, le);
    if (p != le)
        return rd_fail(o, p, "unexpected data after the object");
    if (collect && nkeys == 0)
        return rd_fail(o, b, "the first object has no fields to take as columns");
    o->nf = r->ncols;
    o->rec_end = le;
    return RD_OK;
}

/* ------------------------------------------------------------------ driving */

/* Sets the error text for a failed record and moves past it as o->resume says. */
static enum gy_status rd_error(struct gy_reader *r, struct rd_out *o)
{
    uint64_t line;
    size_t col;
    enum gy_status st;

    rd_locate(r, o->epos, &line, &col);
    if (o->st == GY_E_NOMEM)
        return gy_error_set(GY_E_NOMEM, "%s:%llu:%zu: out of memory", r->source,
                            (unsigned long long)line, col);
    st = gy_error_set(o->st, "%s:%llu:%zu: %s", r->source, (unsigned long long)line, col, o->msg);
    switch (o->resume) {
    case RD_RESUME_NEXT:
        r->start = (size_t)(o->next - r->buf);
        r->line += o->nl;
        break;
    case RD_RESUME_EOF:
        r->start = r->end;
        r->skipping = r->eof ? 0 : 1;
        break;
    case RD_RESUME_SKIP:
        rd_locate(r, o->rpos, &line, &col);
        r->start = (size_t)(o->rpos - r->buf);
        r->line = line;
        r->skipping = o->rskip;
        r->skip_inq = o->rinq;
        break;
    }
    return st;
}

/*
 * Discards input after an error: up to and including the next line feed (skipping == 1), or
 * the next line feed outside quotes (skipping == 2, toggling on every '"', which also passes
 * over doubled quotes), counting lines on the way.
 */
static enum gy_status rd_skip(struct gy_reader *r)
{
    while (r->skipping) {
        const char *p = r->buf + r->start, *e = r->buf + r->end;
        enum gy_status st;
        if (r->skipping == 1) {
            const char *lf = memchr(p, '\n', (size_t)(e - p));
            if (lf != NULL) {
                r->start = (size_t)(lf + 1 - r->buf);
                r->line++;
                r->skipping = 0;
                break;
            }
        } else {
            for (; p < e; p++) {
                if (*p == '"') {
                    r->skip_inq = !r->skip_inq;
                } else if (*p == '\n') {
                    r->line++;
                    if (!r->skip_inq) {
                        r->skipping = 0;
                        break;
                    }
                }
            }
            if (!r->skipping) {
                r->start = (size_t)(p + 1 - r->buf);
                break;
            }
        }
        r->start = r->end;
        if (r->eof) {
            r->skipping = 0;
            break;
        }
        st = rd_fill(r);
        if (st != GY_OK)
            return st;
    }
    return GY_OK;
}

/*
 * Skips a UTF-8 byte order mark and leading blank (whitespace-only) lines, and returns the
 * first other byte in *first (0 when the input holds nothing else).
 */
static enum gy_status rd_prescan(struct gy_reader *r, int *first)
{
    enum gy_status st;
    while (r->end - r->start < 3 && !r->eof)
        if ((st = rd_fill(r)) != GY_OK)
            return st;
    if (r->end - r->start >= 3 && memcmp(r->buf + r->start, "\xEF\xBB\xBF", 3) == 0)
        r->start += 3;
    for (;;) {
        const char *p = skip_ws(r->buf + r->start, r->buf + r->end);
        if (p < r->buf + r->end) {
            if (*p == '\n') {
                size_t content = (size_t)(p - (r->buf + r->start));
                if (content > 0 && p[-1] == '\r')
                    content--;
                if (content > r->max_line) {
                    *first = ' '; /* a blank line that is too long: the record reports it */
                    return GY_OK;
                }
                r->start = (size_t)(p + 1 - r->buf);
                r->line++;
                continue;
            }
            *first = (unsigned char)*p;
            return GY_OK;
        }
        if (r->eof) {
            *first = 0;
            return GY_OK;
        }
        if (r->end - r->start >= r->max_line + 2) {
            /* Whitespace past the line limit: stop sniffing; reading the record reports it. */
            *first = ' ';
            return GY_OK;
        }
        if ((st = rd_fill(r)) != GY_OK)
            return st;
    }
}

/* Runs a parser until it needs no more input. */
static enum rd_res rd_parse(struct gy_reader *r, int collect, struct rd_out *o, enum gy_status *st)
{
    for (;;) {
        enum rd_res res;
        if (r->format == GY_FORMAT_CSV)
            res = collect ? csv_header(r, o) : csv_parse(r, o);
        else
            res = jsonl_parse(r, collect, o);
        if (res != RD_MORE)
            return res;
        *st = rd_fill(r);
        if (*st != GY_OK)
            return RD_MORE;
    }
}

static enum gy_status rd_set_columns(struct gy_reader *r, const char *const *columns, size_t n)
{
    if (n > GY_LAKE_MAX_COLUMNS)
        return gy_error_set(GY_E_INVALID, "%s: more than %d columns", r->source,
                            GY_LAKE_MAX_COLUMNS);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        enum gy_status st;
        if (columns[i] == NULL)
            return gy_error_set(GY_E_INVALID, "%s: column %zu has no name", r->source, i + 1);
        len = strlen(columns[i]);
        if (names_find(r, columns[i], len) >= 0)
            return gy_error_set(GY_E_INVALID, "%s: duplicate column name \"%s\"", r->source,
                                columns[i]);
        st = names_add(r, columns[i], len);
        if (st != GY_OK)
            return gy_error_set(st, "%s: out of memory", r->source);
    }
    return GY_OK;
}

enum gy_status gy__reader_create(int fd, const struct gy_ingest_opts *opts,
                                 const char *const *columns, size_t ncolumns,
                                 struct gy_reader **out)
{
    struct gy_reader *r;
    enum gy_status st = GY_OK;
    enum gy_format fmt = opts ? opts->format : GY_FORMAT_AUTO;
    const char *src = opts && opts->source ? opts->source : "<input>";
    size_t max_line = opts && opts->max_line ? opts->max_line : RD_DEFAULT_MAX_LINE;
    int first = 0;

    *out = NULL;
    if (fmt != GY_FORMAT_AUTO && fmt != GY_FORMAT_CSV && fmt != GY_FORMAT_JSONL)
        return gy_error_set(GY_E_INVALID, "%s: unknown input format %d", src, (int)fmt);
    if (max_line > RD_MAX_MAX_LINE)
        max_line = RD_MAX_MAX_LINE;
    r = gy_calloc(1, sizeof(*r));
    if (r == NULL)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    r->fd = fd;
    r->max_line = max_line;
    r->line = 1;
    r->source = gy_strdup(src);
    /* Sixteen maximal lines per buffer, between 256 bytes and 4 MiB to start with. */
    r->cap = max_line > RD_BUF_INIT_MAX / 16 ? RD_BUF_INIT_MAX : (max_line + 2) * 16;
    if (r->cap < RD_BUF_INIT_MIN)
        r->cap = RD_BUF_INIT_MIN;
    r->buf = gy_malloc(r->cap + RD_PAD);
    if (r->source == NULL || r->buf == NULL) {
        st = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    memset(r->buf, 0, RD_PAD);

    st = rd_prescan(r, &first);
    if (st != GY_OK)
        goto out;
    if (fmt == GY_FORMAT_AUTO)
        fmt = first == '{' ? GY_FORMAT_JSONL : GY_FORMAT_CSV;
    r->format = fmt;

    if (fmt == GY_FORMAT_JSONL && columns != NULL && ncolumns > 0) {
        st = rd_set_columns(r, columns, ncolumns);
        if (st != GY_OK)
            goto out;
    } else if (first == 0) {
        st = gy_error_set(GY_E_INVALID, "%s: empty input (no %s)", r->source,
                          fmt == GY_FORMAT_CSV ? "header row"
                                               : "object to take the column names from");
        goto out;
    } else {
        struct rd_out o;
        enum rd_res res;
        if (fmt == GY_FORMAT_CSV) {
            r->fields_cap = 64;
            r->fields = gy_malloc(r->fields_cap * sizeof(*r->fields));
            if (r->fields == NULL) {
                st = gy_error_set(GY_E_NOMEM, "out of memory");
                goto out;
            }
        }
        memset(&o, 0, sizeof(o));
        res = rd_parse(r, 1, &o, &st);
        if (res == RD_MORE)
            goto out; /* read error */
        if (res == RD_ERR) {
            st = rd_error(r, &o);
            goto out;
        }
        if (GY_NEVER(res != RD_OK)) {
            st = gy_error_set(GY_E_INTERNAL, "%s: no header", r->source);
            goto out;
        }
        if (fmt == GY_FORMAT_CSV) {
            /* Consume the header row; JSON Lines re-reads its first object as a record. */
            r->start = (size_t)(o.next - r->buf);
            r->line += o.nl;
        }
    }
    /* One field per column (extra CSV fields are counted, not stored). */
    {
        struct gy_field *f = gy_realloc(r->fields, (r->ncols + 1) * sizeof(*f));
        if (f == NULL) {
            st = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        r->fields = f;
        r->fields_cap = r->ncols;
        r->seen = gy_calloc(r->ncols + 1, sizeof(*r->seen));
        if (r->seen == NULL) {
            st = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    r->rec.fields = r->fields;
    *out = r;
    r = NULL;
out:
    gy__reader_free(r);
    return st;
}

enum gy_status gy__reader_columns(struct gy_reader *r, const char *const **names, size_t *n)
{
    *names = (const char *const *)r->names;
    *n = r->ncols;
    return GY_OK;
}

enum gy_status gy__reader_next(struct gy_reader *r, const struct gy_record **rec)
{
    enum gy_status st = GY_OK;

    *rec = NULL;
    for (;;) {
        struct rd_out o;
        enum rd_res res;

        st = rd_skip(r);
        if (st != GY_OK)
            return st;
        if (r->start == r->end) {
            if (r->eof) {
                /* blank lines at the end are ignored */
                r->trailing_blank = r->pending_blank ? r->pending_line : 0;
                r->pending_blank = 0;
                return GY_NOT_FOUND;
            }
            st = rd_fill(r);
            if (st != GY_OK)
                return st;
            continue;
        }
        o.st = GY_OK;
        res = rd_parse(r, 0, &o, &st);
        if (res == RD_MORE) {
            if (st != GY_OK)
                return st;
            continue; /* the fill hit end of input with nothing left */
        }
        if (res == RD_BLANK) {
            r->start = (size_t)(o.next - r->buf);
            if (r->format == GY_FORMAT_CSV && r->pending_blank++ == 0)
                r->pending_line = r->line;
            r->line += o.nl;
            continue;
        }
        if (r->pending_blank > 0) {
            /* Blank lines followed by more input: report them before this record. */
            uint64_t line = r->pending_line++;
            r->pending_blank--;
            if (r->ncols != 1)
                return gy_error_set(GY_E_INVALID, "%s:%llu:1: empty line", r->source,
                                    (unsigned long long)line);
            r->fields[0].p = "";
            r->fields[0].len = 0;
            r->fields[0].kind = GY_FIELD_NULL;
            r->fields[0].column = 1;
            r->rec.line = line;
            r->rec.nfields = 1;
            *rec = &r->rec;
            return GY_OK;
        }
        if (res == RD_ERR)
            return rd_error(r, &o);
        if (r->format == GY_FORMAT_CSV && o.nf != r->ncols) {
            o.epos = o.nf > r->ncols ? o.extra : o.rec_end;
            o.st = GY_E_INVALID;
            o.resume = RD_RESUME_NEXT;
            snprintf(o.msg, sizeof(o.msg), "expected %zu field%s, found %zu", r->ncols,
                     r->ncols == 1 ? "" : "s", o.nf);
            return rd_error(r, &o);
        }
        r->rec.line = r->line;
        r->rec.nfields = r->ncols;
        r->start = (size_t)(o.next - r->buf);
        r->line += o.nl;
        *rec = &r->rec;
        return GY_OK;
    }
}

uint64_t gy__reader_bytes(const struct gy_reader *r)
{
    return r->nread - (r->end - r->start);
}

size_t gy__reader_max_line(const struct gy_reader *r)
{
    return r->max_line;
}

enum gy_format gy__reader_format(const struct gy_reader *r)
{
    return r->format;
}

void gy__reader_buffered(const struct gy_reader *r, const char **p, size_t *len, uint64_t *line,
                         int *eof)
{
    *p = r->buf + r->start;
    *len = r->end - r->start;
    *line = r->line;
    *eof = r->eof;
}

enum gy_status gy__reader_create_text(const struct gy_reader *like, struct gy_reader **out)
{
    struct gy_reader *r;
    *out = NULL;
    if (GY_NEVER(like->format != GY_FORMAT_CSV))
        return gy_error_set(GY_E_INTERNAL, "text readers are for CSV");
    r = gy_calloc(1, sizeof(*r));
    if (r == NULL)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    r->fd = -1;
    r->borrowed = 1;
    r->format = GY_FORMAT_CSV;
    r->max_line = like->max_line;
    r->ncols = like->ncols;
    r->fields_cap = like->ncols;
    r->source = gy_strdup(like->source);
    r->fields = gy_malloc((like->ncols + 1) * sizeof(*r->fields));
    if (r->source == NULL || r->fields == NULL) {
        gy__reader_free(r);
        return gy_error_set(GY_E_NOMEM, "out of memory");
    }
    r->rec.fields = r->fields;
    r->eof = 1;
    *out = r;
    return GY_OK;
}

void gy__reader_reset_text(struct gy_reader *r, const char *p, size_t len, uint64_t line)
{
    GY_ASSERT(r->borrowed);
    r->buf = (char *)(uintptr_t)p; /* only read: a text reader never fills or unescapes in place */
    r->cap = len;
    r->start = 0;
    r->end = len;
    r->nread = len;
    r->eof = 1;
    r->line = line;
    r->skipping = 0;
    r->skip_inq = 0;
    r->pending_blank = 0;
    r->pending_line = 0;
    r->trailing_blank = 0;
}

uint64_t gy__reader_trailing_blank(const struct gy_reader *r)
{
    return r->trailing_blank;
}

void gy__reader_free(struct gy_reader *r)
{
    if (r == NULL)
        return;
    if (r->borrowed)
        r->buf = NULL;
    for (size_t i = 0; r->names && i < r->ncols; i++) /* a text reader has no names */
        gy_free(r->names[i]);
    gy_free(r->names);
    gy_free(r->name_lens);
    gy_free(r->slots);
    gy_free(r->fields);
    gy_free(r->seen);
    gy_free(r->scratch);
    gy_free(r->buf);
    gy_free(r->source);
    gy_free(r);
}
