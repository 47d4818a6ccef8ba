/* SPDX-License-Identifier: MIT */
/*
 * v2_codec.c - the V2 inference request parser and response writer (see v2_int.h): pure
 * functions over byte ranges, no HTTP, used by src/api/v2.c and fuzzed by tests/fuzz/fuzz_v2.c.
 *
 * Parsing uses a hand-written scanner over the JSON text, no JSON tree. A fast attempt reads
 * the request in one pass: FP32/FP64 data that follows its datatype and shape is converted
 * while it is scanned, straight into the tensor's array in the arena. Where that cannot be
 * done (members in another order, other datatypes), the data is skipped, which validates its
 * syntax and depth, and converted once the datatype and shape are known. If the fast attempt
 * fails at all, the exact way runs from the start: "inputs" is counted first, every data
 * value is skipped, and no memory is taken for data before the element count has been
 * checked against the limit. So errors keep their text and precedence (gy__v2_request_parse).
 * Numbers are read as the correctly rounded double (a fast exact path for up to 19 digits
 * and small exponents, Eisel-Lemire or strtod otherwise) and then narrowed, which
 * is what a client that parsed the same JSON into float64 and cast to float32 gets. As
 * extensions, the data of FP32/FP64 inputs may hold null and NaN (missing) and Infinity and
 * -Infinity (as Python's json module writes them); whether an infinity is accepted is the
 * serving layer's policy.
 *
 * Writing appends to a capped struct gy_buf with hand-written JSON: floats are printed as the
 * shortest decimal that reads back to the same float32 (candidates from a 9-digit rounding,
 * each checked with strtof, so the text always reads back exactly).
 */
#include "api/v2_int.h"
#include "lake/lake.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Binary tensor data is little-endian; it is used in place, so the host must be too. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the V2 binary tensor extension needs a little-endian host"
#endif

/* ------------------------------------------------------------------ datatypes */

static const struct {
    const char *name;
    enum gy_dtype t;
    size_t size;
} dtypes[] = {
    {"BOOL", GY_DT_BOOL, 1},     {"UINT8", GY_DT_UINT8, 1},   {"UINT16", GY_DT_UINT16, 2},
    {"UINT32", GY_DT_UINT32, 4}, {"UINT64", GY_DT_UINT64, 8}, {"INT8", GY_DT_INT8, 1},
    {"INT16", GY_DT_INT16, 2},   {"INT32", GY_DT_INT32, 4},   {"INT64", GY_DT_INT64, 8},
    {"FP16", GY_DT_FP16, 2},     {"BF16", GY_DT_BF16, 2},     {"FP32", GY_DT_FP32, 4},
    {"FP64", GY_DT_FP64, 8},     {"BYTES", GY_DT_BYTES, 0},
};

const char *gy__v2_dtype_name(enum gy_dtype t)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(dtypes); i++)
        if (dtypes[i].t == t)
            return dtypes[i].name;
    return NULL;
}

size_t gy__v2_dtype_size(enum gy_dtype t)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(dtypes); i++)
        if (dtypes[i].t == t)
            return dtypes[i].size;
    return 0;
}

static int dtype_parse(const char *s, enum gy_dtype *out)
{
    for (size_t i = 0; i < GY_ARRAY_LEN(dtypes); i++)
        if (strcmp(dtypes[i].name, s) == 0) {
            *out = dtypes[i].t;
            return 0;
        }
    return -1;
}

/* ------------------------------------------------------------------ scanner */

struct parser {
    const char *s; /* the JSON text */
    size_t len;
    size_t pos;
    struct gy_arena *arena;
    int fast; /* the one-pass attempt (see gy__v2_request_parse) */
};

/* A syntax error at byte @p at: "request body: line L, column C: what". */
static enum gy_status __attribute__((format(printf, 3, 4)))
syntax_error(const struct parser *p, size_t at, const char *fmt, ...)
{
    char msg[256];
    size_t line = 1, col = 1;
    va_list ap;
    if (at > p->len)
        at = p->len;
    for (size_t i = 0; i < at; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)p->s[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gy_error_set(GY_E_INVALID, "request body: line %zu, column %zu: %s", line, col, msg);
}

static enum gy_status nomem(void)
{
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/* Peeks at the next non-space byte; 0 at the end. */
static char peek(struct parser *p)
{
    skip_ws(p);
    return p->pos < p->len ? p->s[p->pos] : 0;
}

static enum gy_status expect(struct parser *p, char c, const char *what)
{
    if (peek(p) != c) {
        if (p->pos >= p->len)
            return syntax_error(p, p->pos, "unexpected end of JSON, expected %s", what);
        return syntax_error(p, p->pos, "expected %s", what);
    }
    p->pos++;
    return GY_OK;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
            return 0; /* overlong, or a UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/*
 * Scans the string starting at the '"' at p->pos: validates escapes and UTF-8 and leaves
 * p->pos after the closing quote. *start and *rawlen give the bytes between the quotes; *esc is
 * set when some escape must be decoded.
 */
static enum gy_status scan_string(struct parser *p, size_t *start, size_t *rawlen, int *esc)
{
    size_t i = p->pos + 1;
    *esc = 0;
    *start = i;
    while (i < p->len) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == '"') {
            *rawlen = i - *start;
            p->pos = i + 1;
            return GY_OK;
        }
        if (c == '\\') {
            *esc = 1;
            if (i + 1 >= p->len)
                break;
            switch (p->s[i + 1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                i += 2;
                break;
            case 'u': {
                unsigned u, lo;
                if (i + 6 > p->len || hex4(p->s + i + 2, &u))
                    return syntax_error(p, i, "invalid \\u escape");
                i += 6;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (i + 6 > p->len || p->s[i] != '\\' || p->s[i + 1] != 'u' ||
                        hex4(p->s + i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return syntax_error(p, i, "unpaired UTF-16 surrogate in \\u escape");
                    i += 6;
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                    return syntax_error(p, i - 6, "unpaired UTF-16 surrogate in \\u escape");
                }
                break;
            }
            default:
                return syntax_error(p, i, "invalid escape in string");
            }
            continue;
        }
        if (c < 0x20)
            return syntax_error(p, i, "control character in string (escape it)");
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_len((const unsigned char *)p->s + i, p->len - i);
        if (!n)
            return syntax_error(p, i, "invalid UTF-8 in string");
        i += n;
    }
    return syntax_error(p, p->pos, "unterminated string");
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * The decoded value of a scanned string (validated by scan_string). Without escapes and
 * without @p nul the result points into the text; else it is copied into the arena and
 * NUL-terminated.
 */
static enum gy_status decode_string(struct parser *p, size_t start, size_t rawlen, int esc, int nul,
                                    const char **out, size_t *outlen)
{
    const char *s = p->s + start;
    char *o;
    size_t n = 0;
    if (!esc && !nul) {
        *out = s;
        *outlen = rawlen;
        return GY_OK;
    }
    if (!(o = gy_arena_alloc(p->arena, rawlen + 1)))
        return nomem();
    if (!esc) {
        memcpy(o, s, rawlen);
        n = rawlen;
    } else {
        for (size_t i = 0; i < rawlen;) {
            if (s[i] != '\\') {
                o[n++] = s[i++];
                continue;
            }
            switch (s[i + 1]) {
            case 'b':
                o[n++] = '\b';
                break;
            case 'f':
                o[n++] = '\f';
                break;
            case 'n':
                o[n++] = '\n';
                break;
            case 'r':
                o[n++] = '\r';
                break;
            case 't':
                o[n++] = '\t';
                break;
            case 'u': {
                unsigned u = 0, lo = 0;
                hex4(s + i + 2, &u);
                if (u >= 0xD800 && u <= 0xDBFF) {
                    hex4(s + i + 8, &lo);
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
                n += put_utf8(o + n, u);
                i += 6;
                continue;
            }
            default: /* '"', '\\', '/' */
                o[n++] = s[i + 1];
                break;
            }
            i += 2;
        }
    }
    o[n] = '\0';
    *out = o;
    *outlen = n;
    return GY_OK;
}

/* Reads a string value into a NUL-terminated string (arena) of at most GY_V2_MAX_NAME bytes. */
static enum gy_status read_cstr(struct parser *p, const char *what, const char **out)
{
    size_t start, rawlen, n, at;
    int esc;
    enum gy_status rc;
    if (peek(p) != '"')
        return syntax_error(p, p->pos, "%s must be a string", what);
    at = p->pos;
    if ((rc = scan_string(p, &start, &rawlen, &esc)))
        return rc;
    if (rawlen > GY_V2_MAX_NAME * 6)
        return syntax_error(p, at, "%s is longer than %d bytes", what, GY_V2_MAX_NAME);
    if ((rc = decode_string(p, start, rawlen, esc, 1, out, &n)))
        return rc;
    if (n > GY_V2_MAX_NAME)
        return syntax_error(p, at, "%s is longer than %d bytes", what, GY_V2_MAX_NAME);
    if (memchr(*out, '\0', n))
        return syntax_error(p, at, "%s holds a NUL character", what);
    return GY_OK;
}

/*
 * Scans a number token at p->pos (JSON grammar), leaving p->pos after it. *is_int when it
 * has no fraction and no exponent.
 */
static enum gy_status scan_number(struct parser *p, size_t *start, size_t *len, int *is_int)
{
    size_t i = p->pos;
    const char *s = p->s;
    *start = i;
    *is_int = 1;
    if (i < p->len && s[i] == '-')
        i++;
    if (i >= p->len || s[i] < '0' || s[i] > '9')
        return syntax_error(p, *start, "invalid number");
    if (s[i] == '0') {
        i++;
    } else {
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->len && s[i] == '.') {
        *is_int = 0;
        i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9')
            return syntax_error(p, *start, "invalid number: a digit must follow '.'");
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        *is_int = 0;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9')
            return syntax_error(p, *start, "invalid number: a digit must follow the exponent");
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    *len = i - *start;
    p->pos = i;
    return GY_OK;
}

/* Matches a literal word at p->pos (true, false, null, NaN, Infinity, -Infinity). */
static int match_word(struct parser *p, const char *w)
{
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0)
        return 0;
    /* The word must end there: "nullx" is not null. */
    if (p->pos + n < p->len) {
        char c = p->s[p->pos + n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return 0;
    }
    p->pos += n;
    return 1;
}

/* Skips any JSON value, validating it; @p depth is the depth of the value's container. */
static enum gy_status skip_value(struct parser *p, int depth)
{
    size_t start, len;
    int esc, is_int;
    enum gy_status rc;
    char c = peek(p);
    switch (c) {
    case '{':
    case '[': {
        char close = c == '{' ? '}' : ']';
        if (depth + 1 > GY_V2_MAX_DEPTH)
            return syntax_error(p, p->pos, "JSON nested deeper than %d levels", GY_V2_MAX_DEPTH);
        p->pos++;
        if (peek(p) == close) {
            p->pos++;
            return GY_OK;
        }
        for (;;) {
            if (c == '{') {
                if (peek(p) != '"')
                    return syntax_error(p, p->pos, "expected a string key");
                if ((rc = scan_string(p, &start, &len, &esc)) || (rc = expect(p, ':', "':'")))
                    return rc;
            }
            if ((rc = skip_value(p, depth + 1)))
                return rc;
            c = peek(p);
            if (c == ',') {
                p->pos++;
                c = close == '}' ? '{' : '[';
                continue;
            }
            if (c == close) {
                p->pos++;
                return GY_OK;
            }
            return syntax_error(p, p->pos, "expected ',' or '%c'", close);
        }
    }
    case '"':
        return scan_string(p, &start, &len, &esc);
    case 0:
        return syntax_error(p, p->pos, "unexpected end of JSON, expected a value");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            if (match_word(p, "-Infinity"))
                return GY_OK;
            return scan_number(p, &start, &len, &is_int);
        }
        if (match_word(p, "true") || match_word(p, "false") || match_word(p, "null") ||
            match_word(p, "NaN") || match_word(p, "Infinity"))
            return GY_OK;
        return syntax_error(p, p->pos, "expected a JSON value");
    }
}

/*
 * Iterates the members of an object at p->pos: *key and *klen get the next decoded key (arena
 * when escaped), and p->pos is at its value. Returns 1 for a member, 0 at the end, -1 on
 * error (*rc set). Call with *first = 1 the first time.
 */
static int next_member(struct parser *p, int *first, const char **key, size_t *klen,
                       enum gy_status *rc)
{
    size_t start, rawlen;
    int esc;
    char c = peek(p);
    if (*first) {
        *first = 0;
        if (c == '}') {
            p->pos++;
            return 0;
        }
    } else {
        if (c == '}') {
            p->pos++;
            return 0;
        }
        if (c != ',') {
            *rc = syntax_error(p, p->pos, "expected ',' or '}'");
            return -1;
        }
        p->pos++;
        c = peek(p);
    }
    if (c != '"') {
        *rc = syntax_error(p, p->pos, "expected a string key");
        return -1;
    }
    if ((*rc = scan_string(p, &start, &rawlen, &esc)) ||
        (*rc = decode_string(p, start, rawlen, esc, 0, key, klen)) ||
        (*rc = expect(p, ':', "':' after the key")))
        return -1;
    return 1;
}

static int key_is(const char *key, size_t klen, const char *want)
{
    size_t n = strlen(want);
    return klen == n && memcmp(key, want, n) == 0;
}

/* ------------------------------------------------------------------ numbers */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The correctly rounded double of a scanned number token. Exact fast path when the digits fit
 * 2^53 and the decimal exponent is within 10^22 (one rounding, like strtod); strtod otherwise.
 */
static double token_to_double(const char *s, size_t len)
{
    uint64_t mant = 0;
    int digits = 0, exp10 = 0, neg = 0, ok = 1;
    size_t i = 0;
    char buf[64];
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (mant == 0 && s[i] == '0')
            continue;
        if (digits >= 19) {
            ok = 0;
            break;
        }
        mant = mant * 10 + (uint64_t)(s[i] - '0');
        digits++;
    }
    if (ok && i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (mant == 0 && s[i] == '0') {
                exp10--;
                continue;
            }
            if (digits >= 19) {
                ok = 0;
                break;
            }
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits++;
            exp10--;
        }
    }
    if (ok && i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, e = 0;
        i++;
        if (s[i] == '+' || s[i] == '-')
            eneg = s[i++] == '-';
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        }
        exp10 += eneg ? -e : e;
    }
    if (ok && mant <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)mant;
        d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
        return neg ? -d : d;
    }
    if (ok && mant == 0)
        return neg ? -0.0 : 0.0;
    {
        /* Long mantissas (Python's 17-digit float reprs): Eisel-Lemire instead of strtod's
         * multi-precision path, with the same correctly rounded result. */
        double d;
        if (gy_lake_parse_double(s, len, &d) == GY_OK)
            return d;
    }
    if (len < sizeof buf) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        return strtod(buf, NULL);
    } else {
        /* A very long token: strtod on an arena-free heap copy. */
        char *t = gy_malloc(len + 1);
        double d;
        if (!t)
            return NAN;
        memcpy(t, s, len);
        t[len] = '\0';
        d = strtod(t, NULL);
        gy_free(t);
        return d;
    }
}

/* Parses an integer token (no fraction or exponent) into *neg and magnitude *mag. */
static int token_to_int(const char *s, size_t len, int *neg, uint64_t *mag)
{
    uint64_t v = 0;
    size_t i = 0;
    *neg = 0;
    if (s[0] == '-') {
        *neg = 1;
        i = 1;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

/* ------------------------------------------------------------------ request: tensors */

/* Where an input's members were found, filled while scanning its object. */
struct input_scan {
    struct gy_tensor *t;
    size_t data_pos;     /* offset of the "data" value; 0 when absent (never 0: inside an object) */
    int64_t binary_size; /* parameters.binary_data_size; -1 when absent */
    int has_shape;
    int converted; /* the data was converted while it was scanned (t->data, t->n_elems set) */
};

/* State of converting one input's data. */
struct conv {
    struct parser *p;
    struct gy_tensor *t;
    void *out;      /* n_elems elements of t->dtype */
    uint64_t k;     /* elements written so far */
    const char *in; /* input name for messages */
};

static enum gy_status elem_error(struct conv *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum gy_status elem_error(struct conv *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gy_error_set(GY_E_INVALID, "input '%s': data element %llu: %s", c->in,
                        (unsigned long long)c->k, msg);
}

/* Range of each integer datatype. */
static int int_range(enum gy_dtype t, int64_t *lo, uint64_t *hi)
{
    switch (t) {
    case GY_DT_UINT8:
        *lo = 0, *hi = UINT8_MAX;
        return 1;
    case GY_DT_UINT16:
        *lo = 0, *hi = UINT16_MAX;
        return 1;
    case GY_DT_UINT32:
        *lo = 0, *hi = UINT32_MAX;
        return 1;
    case GY_DT_UINT64:
        *lo = 0, *hi = UINT64_MAX;
        return 1;
    case GY_DT_INT8:
        *lo = INT8_MIN, *hi = INT8_MAX;
        return 1;
    case GY_DT_INT16:
        *lo = INT16_MIN, *hi = INT16_MAX;
        return 1;
    case GY_DT_INT32:
        *lo = INT32_MIN, *hi = INT32_MAX;
        return 1;
    case GY_DT_INT64:
        *lo = INT64_MIN, *hi = INT64_MAX;
        return 1;
    default:
        return 0;
    }
}

static void store_int(void *out, uint64_t k, enum gy_dtype t, int neg, uint64_t mag)
{
    int64_t sv = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    switch (t) {
    case GY_DT_UINT8:
        ((uint8_t *)out)[k] = (uint8_t)mag;
        break;
    case GY_DT_UINT16:
        ((uint16_t *)out)[k] = (uint16_t)mag;
        break;
    case GY_DT_UINT32:
        ((uint32_t *)out)[k] = (uint32_t)mag;
        break;
    case GY_DT_UINT64:
        ((uint64_t *)out)[k] = mag;
        break;
    case GY_DT_INT8:
        ((int8_t *)out)[k] = (int8_t)sv;
        break;
    case GY_DT_INT16:
        ((int16_t *)out)[k] = (int16_t)sv;
        break;
    case GY_DT_INT32:
        ((int32_t *)out)[k] = (int32_t)sv;
        break;
    case GY_DT_INT64:
        ((int64_t *)out)[k] = sv;
        break;
    default:
        break;
    }
}

/* Converts one scalar at p->pos into element c->k. */
static enum gy_status conv_scalar(struct conv *c)
{
    struct parser *p = c->p;
    enum gy_dtype t = c->t->dtype;
    size_t start, len;
    int is_int, esc;
    enum gy_status rc;
    char ch = peek(p);

    if (c->k >= c->t->n_elems)
        return gy_error_set(GY_E_INVALID,
                            "input '%s': data has more elements than its shape's %llu (shape "
                            "does not match the data)",
                            c->in, (unsigned long long)c->t->n_elems);
    if (t == GY_DT_BYTES) {
        struct gy_bytes *b = (struct gy_bytes *)c->out + c->k;
        const char *s;
        size_t n;
        if (ch != '"')
            return elem_error(c, "BYTES elements must be JSON strings");
        if ((rc = scan_string(p, &start, &len, &esc)) ||
            (rc = decode_string(p, start, len, esc, 0, &s, &n)))
            return rc;
        if (n > UINT32_MAX)
            return elem_error(c, "a BYTES element is longer than 4 GiB");
        b->data = s;
        b->len = (uint32_t)n;
        c->k++;
        return GY_OK;
    }
    if (t == GY_DT_BOOL) {
        if (match_word(p, "true"))
            ((uint8_t *)c->out)[c->k] = 1;
        else if (match_word(p, "false"))
            ((uint8_t *)c->out)[c->k] = 0;
        else
            return elem_error(c, "BOOL elements must be true or false");
        c->k++;
        return GY_OK;
    }
    if (t == GY_DT_FP32 || t == GY_DT_FP64) {
        double d;
        if (ch == 'n' && match_word(p, "null"))
            d = NAN;
        else if (ch == 'N' && match_word(p, "NaN"))
            d = NAN;
        else if (ch == 'I' && match_word(p, "Infinity"))
            d = INFINITY;
        else if (ch == '-' && match_word(p, "-Infinity"))
            d = -INFINITY;
        else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            if ((rc = scan_number(p, &start, &len, &is_int)))
                return rc;
            d = token_to_double(p->s + start, len);
            if (isinf(d))
                return elem_error(c, "%.*s is out of range for %s", (int)GY_MIN(len, 40),
                                  p->s + start, t == GY_DT_FP32 ? "FP32" : "FP64");
        } else {
            return elem_error(c, "expected a number (or null/NaN for a missing value)");
        }
        if (t == GY_DT_FP32) {
            float f = (float)d;
            if (isinf(f) && !isinf(d))
                return elem_error(c, "%.17g is out of range for FP32", d);
            ((float *)c->out)[c->k] = f;
        } else {
            ((double *)c->out)[c->k] = d;
        }
        c->k++;
        return GY_OK;
    }
    /* Integer datatypes: integers only, range-checked (Triton narrows silently; we refuse). */
    {
        int64_t lo;
        uint64_t hi, mag;
        int neg;
        if (!int_range(t, &lo, &hi))
            return elem_error(c, "datatype %s cannot be sent as JSON", gy__v2_dtype_name(t));
        if (!(ch == '-' || (ch >= '0' && ch <= '9')))
            return elem_error(c, "expected an integer for %s", gy__v2_dtype_name(t));
        if ((rc = scan_number(p, &start, &len, &is_int)))
            return rc;
        if (!is_int)
            return elem_error(c, "%.*s is not an integer (datatype %s)", (int)GY_MIN(len, 40),
                              p->s + start, gy__v2_dtype_name(t));
        if (token_to_int(p->s + start, len, &neg, &mag) ||
            (neg && mag != 0 &&
             (lo == 0 || mag > (uint64_t)INT64_MAX + 1 || mag > (uint64_t)(-(lo + 1)) + 1)) ||
            (!neg && mag > hi))
            return elem_error(c, "%.*s is out of range for %s", (int)GY_MIN(len, 40), p->s + start,
                              gy__v2_dtype_name(t));
        store_int(c->out, c->k, t, neg, mag);
        c->k++;
        return GY_OK;
    }
}

/* Converts a data value (nested arrays or a scalar), depth already validated by skip_value. */
static enum gy_status conv_value(struct conv *c)
{
    struct parser *p = c->p;
    enum gy_status rc;
    if (peek(p) != '[')
        return conv_scalar(c);
    p->pos++;
    if (peek(p) == ']') {
        p->pos++;
        return GY_OK;
    }
    for (;;) {
        if ((rc = conv_value(c)))
            return rc;
        char ch = peek(p);
        p->pos++;
        if (ch == ']')
            return GY_OK;
        /* skip_value has checked the syntax: it is a ','. */
    }
}

/*
 * The one-pass path (see gy__v2_request_parse): FP32/FP64 data whose datatype and shape came
 * before it is converted while it is scanned, straight into the tensor's array. These
 * functions accept exactly what skip_value and conv_value accept and produce the same
 * values, but they set no error: they return -1 at anything they do not handle (any error,
 * too deep, too many or too few elements), and the caller falls back to the two passes,
 * which report it.
 */

/*
 * The value of the 8 ASCII digits at @p s, or -1 when they are not all digits (one word
 * at a time: the host is little-endian, see the top of the file).
 */
static int64_t eight_digits(const char *s)
{
    uint64_t x;
    memcpy(&x, s, 8);
    if (((x & UINT64_C(0xF0F0F0F0F0F0F0F0)) |
         (((x + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4)) !=
        UINT64_C(0x3333333333333333))
        return -1;
    x -= UINT64_C(0x3030303030303030);
    x = (x * 10) + (x >> 8);
    x = (((x & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32))) +
         (((x >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32)))) >>
        32;
    return (int64_t)x;
}

/*
 * Reads the number token at p->pos as scan_number and token_to_double do together: the same
 * grammar, and the correctly rounded double (token_to_double's exact fast path inline, then
 * what it does for long mantissas and large exponents). With @p f32, *out may instead be a
 * double that narrows to the same float32 as the correctly rounded one (see below).
 */
static int fused_number(struct parser *p, int f32, double *out)
{
    const char *s = p->s;
    size_t i = p->pos, n = p->len, start = i;
    uint64_t mant = 0;
    int digits = 0, exp10 = 0, neg = 0, ok = 1;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= n || s[i] < '0' || s[i] > '9')
        return -1;
    if (s[i] == '0') {
        i++;
    } else {
        int64_t v;
        /* Eight digits at a time while they fit the 19 token_to_double keeps. */
        while (digits + 8 <= 19 && n - i >= 8 && (v = eight_digits(s + i)) >= 0) {
            mant = mant * 100000000 + (uint64_t)v;
            digits += 8;
            i += 8;
        }
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (digits >= 19)
                ok = 0;
            if (!ok)
                continue;
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits++;
        }
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return -1;
        if (ok && mant == 0)
            for (; i < n && s[i] == '0'; i++)
                exp10--;
        if (ok) {
            int64_t v;
            while (digits + 8 <= 19 && n - i >= 8 && (v = eight_digits(s + i)) >= 0) {
                mant = mant * 100000000 + (uint64_t)v;
                digits += 8;
                exp10 -= 8;
                i += 8;
            }
        }
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (!ok)
                continue;
            if (mant == 0 && s[i] == '0') {
                exp10--;
                continue;
            }
            if (digits >= 19) {
                ok = 0;
                continue;
            }
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits++;
            exp10--;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || s[i] < '0' || s[i] > '9')
            return -1;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        exp10 += eneg ? -e : e;
    }
    p->pos = i;
    if (ok && mant <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)mant;
        d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
        *out = neg ? -d : d;
        return 0;
    }
    if (f32 && ok && mant != 0 && exp10 >= -22 && exp10 <= 22) {
        /*
         * Only the float32 of the value is wanted. Two roundings give a double within 4.5
         * units in the last place of the correctly rounded one; float32 keeps 23 of its 52
         * fraction bits and rounds at the halfway point of the 29 it drops. Away from that
         * point (and inside float32's normal range) both doubles narrow to the same float,
         * so the exact path is needed only for the few values within 16 units of it.
         */
        double d = (double)mant;
        uint64_t bits, low;
        int e2;
        d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
        memcpy(&bits, &d, 8);
        low = bits & ((UINT64_C(1) << 29) - 1);
        e2 = (int)((bits >> 52) & 0x7ff) - 1023;
        if (e2 >= -125 && e2 <= 126 &&
            (low > (UINT64_C(1) << 28) + 16 || low < (UINT64_C(1) << 28) - 16)) {
            *out = neg ? -d : d;
            return 0;
        }
    }
    /* What token_to_double does next, without reading the digits a second time. */
    if (ok && mant == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (gy_lake_parse_double(s + start, i - start, out) != GY_OK)
        *out = token_to_double(s + start, i - start);
    return 0;
}

/* conv_scalar for FP32/FP64 data, without errors. */
static int fused_scalar(struct conv *c)
{
    struct parser *p = c->p;
    double d;
    char ch = peek(p);
    if (c->k >= c->t->n_elems)
        return -1;
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        if (ch == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] == 'I') {
            if (!match_word(p, "-Infinity"))
                return -1;
            d = -INFINITY;
        } else if (fused_number(p, c->t->dtype == GY_DT_FP32, &d) || isinf(d)) {
            return -1;
        }
    } else if (ch == 'n' && match_word(p, "null")) {
        d = NAN;
    } else if (ch == 'N' && match_word(p, "NaN")) {
        d = NAN;
    } else if (ch == 'I' && match_word(p, "Infinity")) {
        d = INFINITY;
    } else {
        return -1;
    }
    if (c->t->dtype == GY_DT_FP32) {
        float f = (float)d;
        if (isinf(f) && !isinf(d))
            return -1;
        ((float *)c->out)[c->k] = f;
    } else {
        ((double *)c->out)[c->k] = d;
    }
    c->k++;
    return 0;
}

/* skip_value and conv_value in one, without errors; @p depth as skip_value's. */
static int fused_value(struct conv *c, int depth)
{
    struct parser *p = c->p;
    if (peek(p) != '[')
        return fused_scalar(c);
    if (depth + 1 > GY_V2_MAX_DEPTH)
        return -1;
    p->pos++;
    if (peek(p) == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        char ch;
        if (fused_value(c, depth + 1))
            return -1;
        ch = peek(p);
        p->pos++;
        if (ch == ']')
            return 0;
        if (ch != ',')
            return -1;
    }
}

/*
 * Converts input @p in's data at p->pos (datatype text @p dtype and the shape already read)
 * in one pass. 0 on success (t->data, t->n_elems and t->dtype set, p->pos after the value);
 * -1 when the two passes must do it (nothing set but memory taken from the arena, bounded
 * by the bytes left in the text).
 */
static int fused_data(struct parser *p, struct input_scan *in, const char *dtype, int depth)
{
    struct gy_tensor *t = in->t;
    struct conv c = {.p = p, .t = t, .in = ""};
    enum gy_dtype dt;
    uint64_t n = 1;
    if (dtype_parse(dtype, &dt) || (dt != GY_DT_FP32 && dt != GY_DT_FP64))
        return -1;
    for (int i = 0; i < t->ndim; i++) {
        uint64_t d = t->shape[i];
        if (d != 0 && n > UINT64_MAX / d)
            return -1;
        n *= d;
    }
    /* Every element takes at least one byte of the text: a larger shape cannot match. */
    if (n == 0 || n > p->len - p->pos)
        return -1;
    if (!(c.out = gy_arena_alloc(p->arena, (size_t)n * gy__v2_dtype_size(dt))))
        return -1;
    t->dtype = dt;
    t->n_elems = n;
    if (fused_value(&c, depth) || c.k != n) {
        t->n_elems = 0;
        return -1;
    }
    t->data = c.out;
    return 0;
}

/* Parses "shape": an array of non-negative integers. */
static enum gy_status parse_shape(struct parser *p, struct gy_tensor *t)
{
    size_t start, len;
    int is_int, neg;
    uint64_t mag;
    enum gy_status rc;
    if ((rc = expect(p, '[', "an array for \"shape\"")))
        return rc;
    t->ndim = 0;
    if (peek(p) == ']') {
        p->pos++;
        return GY_OK;
    }
    for (;;) {
        char ch = peek(p);
        if (!(ch == '-' || (ch >= '0' && ch <= '9')))
            return syntax_error(p, p->pos, "shape dimensions must be integers");
        size_t at = p->pos;
        if ((rc = scan_number(p, &start, &len, &is_int)))
            return rc;
        if (!is_int || token_to_int(p->s + start, len, &neg, &mag) || (neg && mag))
            return syntax_error(p, at, "shape dimensions must be non-negative integers");
        if (t->ndim >= GY_TENSOR_MAX_DIMS)
            return syntax_error(p, at, "shape has more than %d dimensions", GY_TENSOR_MAX_DIMS);
        t->shape[t->ndim++] = mag;
        ch = peek(p);
        if (ch == ']') {
            p->pos++;
            return GY_OK;
        }
        if (ch != ',')
            return syntax_error(p, p->pos, "expected ',' or ']' in shape");
        p->pos++;
    }
}

/* Checks that a parameters value is a string, number or boolean and skips it. */
static enum gy_status param_scalar(struct parser *p, const char *key, size_t klen)
{
    char ch = peek(p);
    if (ch == '"' || ch == '-' || (ch >= '0' && ch <= '9') || ch == 't' || ch == 'f') {
        size_t at = p->pos;
        enum gy_status rc = skip_value(p, 2);
        if (rc == GY_OK &&
            (p->s[at] == 'N' || p->s[at] == 'I' || (p->s[at] == '-' && p->s[at + 1] == 'I')))
            rc = GY_E_INVALID;
        if (rc == GY_OK)
            return GY_OK;
        if (rc != GY_E_INVALID)
            return rc;
    }
    return syntax_error(p, p->pos, "parameter '%.*s' must be a string, number or boolean",
                        (int)GY_MIN(klen, 100), key);
}

static enum gy_status param_bool(struct parser *p, const char *key, int *out)
{
    skip_ws(p);
    if (match_word(p, "true"))
        *out = 1;
    else if (match_word(p, "false"))
        *out = 0;
    else
        return syntax_error(p, p->pos, "parameter '%s' must be true or false", key);
    return GY_OK;
}

static enum gy_status unsupported_param(const char *key, size_t klen, const char *what)
{
    return gy_error_set(GY_E_UNSUPPORTED, "parameter '%.*s' is not supported: %s",
                        (int)GY_MIN(klen, 100), key, what);
}

/* The parameters of an input: binary_data_size; shared memory is refused. */
static enum gy_status parse_input_params(struct parser *p, struct input_scan *in)
{
    const char *key;
    size_t klen;
    int first = 1, r;
    enum gy_status rc = GY_OK;
    if ((rc = expect(p, '{', "an object for \"parameters\"")))
        return rc;
    while ((r = next_member(p, &first, &key, &klen, &rc)) == 1) {
        if (key_is(key, klen, "binary_data_size")) {
            size_t start, len, at = p->pos;
            int is_int, neg;
            uint64_t mag;
            char ch = peek(p);
            if (!(ch == '-' || (ch >= '0' && ch <= '9')) ||
                (rc = scan_number(p, &start, &len, &is_int)) || !is_int ||
                token_to_int(p->s + start, len, &neg, &mag) || (neg && mag) || mag > INT64_MAX)
                return syntax_error(p, at, "binary_data_size must be a non-negative integer");
            in->binary_size = (int64_t)mag;
        } else if (klen > 14 && memcmp(key, "shared_memory_", 14) == 0) {
            return unsupported_param(key, klen, "gyre has no shared-memory extension");
        } else if ((rc = param_scalar(p, key, klen))) {
            return rc;
        }
    }
    return r < 0 ? rc : GY_OK;
}

/* One object of "inputs". */
static enum gy_status parse_input(struct parser *p, struct input_scan *in, int depth)
{
    const char *key, *dtype = NULL;
    size_t klen;
    int first = 1, r, seen_params = 0;
    enum gy_status rc = GY_OK;
    struct gy_tensor *t = in->t;
    size_t obj_at = p->pos;

    if ((rc = expect(p, '{', "an object in \"inputs\"")))
        return rc;
    while ((r = next_member(p, &first, &key, &klen, &rc)) == 1) {
        if (key_is(key, klen, "name")) {
            if (t->name)
                return syntax_error(p, p->pos, "duplicate key \"name\"");
            if ((rc = read_cstr(p, "an input's \"name\"", &t->name)))
                return rc;
        } else if (key_is(key, klen, "datatype")) {
            if (dtype)
                return syntax_error(p, p->pos, "duplicate key \"datatype\"");
            if ((rc = read_cstr(p, "\"datatype\"", &dtype)))
                return rc;
        } else if (key_is(key, klen, "shape")) {
            if (in->has_shape)
                return syntax_error(p, p->pos, "duplicate key \"shape\"");
            in->has_shape = 1;
            if ((rc = parse_shape(p, t)))
                return rc;
        } else if (key_is(key, klen, "data")) {
            if (in->data_pos)
                return syntax_error(p, p->pos, "duplicate key \"data\"");
            skip_ws(p);
            in->data_pos = p->pos;
            if (p->fast && dtype && in->has_shape && fused_data(p, in, dtype, depth) == 0) {
                in->converted = 1;
            } else {
                p->pos = in->data_pos;
                if ((rc = skip_value(p, depth)))
                    return rc;
            }
        } else if (key_is(key, klen, "parameters")) {
            if (seen_params++)
                return syntax_error(p, p->pos, "duplicate key \"parameters\"");
            if ((rc = parse_input_params(p, in)))
                return rc;
        } else if ((rc = skip_value(p, depth))) {
            return rc;
        }
    }
    if (r < 0)
        return rc;
    if (!t->name)
        return syntax_error(p, obj_at, "an input has no \"name\"");
    if (!dtype)
        return gy_error_set(GY_E_INVALID, "input '%s' has no \"datatype\"", t->name);
    if (dtype_parse(dtype, &t->dtype))
        return gy_error_set(GY_E_INVALID,
                            "input '%s': unknown datatype \"%s\" (BOOL, UINT8..UINT64, "
                            "INT8..INT64, FP16, BF16, FP32, FP64 or BYTES)",
                            t->name, dtype);
    if (!in->has_shape)
        return gy_error_set(GY_E_INVALID, "input '%s' has no \"shape\"", t->name);
    if (in->data_pos && in->binary_size >= 0)
        return gy_error_set(
            GY_E_INVALID, "input '%s' has both \"data\" and parameters.binary_data_size", t->name);
    if (!in->data_pos && in->binary_size < 0)
        return gy_error_set(GY_E_INVALID,
                            "input '%s' has neither \"data\" nor parameters.binary_data_size",
                            t->name);
    if (in->data_pos && (t->dtype == GY_DT_FP16 || t->dtype == GY_DT_BF16))
        return gy_error_set(GY_E_INVALID,
                            "input '%s': receiving %s data via JSON is not supported: send it "
                            "as binary tensor data",
                            t->name, gy__v2_dtype_name(t->dtype));
    return GY_OK;
}

/* Element count of a shape, checked against overflow and the remaining budget. */
static enum gy_status count_elems(struct gy_tensor *t, uint64_t *budget)
{
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        uint64_t d = t->shape[i];
        if (d != 0 && n > UINT64_MAX / d)
            return gy_error_set(GY_E_TOO_LARGE, "input '%s': the shape's element count overflows",
                                t->name);
        n *= d;
    }
    if (n > *budget)
        return gy_error_set(GY_E_TOO_LARGE,
                            "input '%s': %llu elements is more than this server accepts in one "
                            "request (%llu left of the limit)",
                            t->name, (unsigned long long)n, (unsigned long long)*budget);
    *budget -= n;
    t->n_elems = n;
    return GY_OK;
}

/* Converts the JSON data of input @p in (datatype and shape known). */
static enum gy_status convert_json_data(struct parser *p, struct input_scan *in)
{
    struct gy_tensor *t = in->t;
    size_t esize = t->dtype == GY_DT_BYTES ? sizeof(struct gy_bytes) : gy__v2_dtype_size(t->dtype);
    struct conv c = {.p = p, .t = t, .in = t->name};
    enum gy_status rc;
    c.out = gy_arena_alloc(p->arena, t->n_elems ? (size_t)t->n_elems * esize : 1);
    if (!c.out)
        return nomem();
    p->pos = in->data_pos;
    if ((rc = conv_value(&c)))
        return rc;
    if (c.k != t->n_elems)
        return gy_error_set(GY_E_INVALID,
                            "input '%s': data has %llu elements but its shape says %llu (shape "
                            "does not match the data)",
                            t->name, (unsigned long long)c.k, (unsigned long long)t->n_elems);
    t->data = c.out;
    return GY_OK;
}

/* Takes input @p in's binary data from *bin (advancing it). */
static enum gy_status take_binary(struct parser *p, struct input_scan *in, const char **bin,
                                  size_t *left)
{
    struct gy_tensor *t = in->t;
    uint64_t size = (uint64_t)in->binary_size;
    if (size > *left)
        return gy_error_set(GY_E_INVALID,
                            "input '%s': binary_data_size is %llu bytes but only %zu bytes of "
                            "binary data are left in the request",
                            t->name, (unsigned long long)size, *left);
    if (t->dtype == GY_DT_BYTES) {
        struct gy_bytes *b = gy_arena_alloc(p->arena, t->n_elems ? t->n_elems * sizeof *b : 1);
        uint64_t off = 0, k = 0;
        if (!b)
            return nomem();
        while (off < size) {
            uint32_t n;
            if (size - off < 4)
                return gy_error_set(GY_E_INVALID,
                                    "input '%s': BYTES element %llu: truncated 4-byte length",
                                    t->name, (unsigned long long)k);
            memcpy(&n, *bin + off, 4);
            off += 4;
            if (n > size - off)
                return gy_error_set(GY_E_INVALID,
                                    "input '%s': BYTES element %llu: length %u runs past the "
                                    "input's binary_data_size",
                                    t->name, (unsigned long long)k, n);
            if (k >= t->n_elems)
                return gy_error_set(GY_E_INVALID,
                                    "input '%s': binary data has more BYTES elements than its "
                                    "shape's %llu",
                                    t->name, (unsigned long long)t->n_elems);
            b[k].data = *bin + off;
            b[k].len = n;
            k++;
            off += n;
        }
        if (k != t->n_elems)
            return gy_error_set(GY_E_INVALID,
                                "input '%s': binary data has %llu BYTES elements but its shape "
                                "says %llu",
                                t->name, (unsigned long long)k, (unsigned long long)t->n_elems);
        t->data = b;
    } else {
        size_t esize = gy__v2_dtype_size(t->dtype);
        uint64_t want = t->n_elems * esize;
        if (size != want)
            return gy_error_set(GY_E_INVALID,
                                "unexpected size for input '%s', expecting %llu bytes (%llu "
                                "elements of %s) but binary_data_size is %llu",
                                t->name, (unsigned long long)want, (unsigned long long)t->n_elems,
                                gy__v2_dtype_name(t->dtype), (unsigned long long)size);
        if (((uintptr_t)*bin & (esize - 1)) == 0) {
            t->data = size ? *bin : (const void *)"";
        } else {
            /* Unaligned in the body: copy so the consumer can read the elements directly. */
            void *copy = gy_arena_alloc(p->arena, size ? (size_t)size : 1);
            if (!copy)
                return nomem();
            memcpy(copy, *bin, (size_t)size);
            t->data = copy;
        }
    }
    *bin += size;
    *left -= (size_t)size;
    return GY_OK;
}

/* ------------------------------------------------------------------ request: top level */

static enum gy_status parse_req_params(struct parser *p, struct gy_v2_request *out)
{
    const char *key;
    size_t klen;
    int first = 1, r;
    enum gy_status rc = GY_OK;
    if ((rc = expect(p, '{', "an object for \"parameters\"")))
        return rc;
    while ((r = next_member(p, &first, &key, &klen, &rc)) == 1) {
        if (key_is(key, klen, "binary_data_output")) {
            if ((rc = param_bool(p, "binary_data_output", &out->binary_output)))
                return rc;
        } else if ((rc = param_scalar(p, key, klen))) {
            return rc;
        }
    }
    return r < 0 ? rc : GY_OK;
}

static enum gy_status parse_output(struct parser *p, struct gy_v2_output_req *o, int depth)
{
    const char *key;
    size_t klen;
    int first = 1, r, r2, first2;
    enum gy_status rc = GY_OK;
    size_t obj_at = p->pos;
    o->binary = -1;
    if ((rc = expect(p, '{', "an object in \"outputs\"")))
        return rc;
    while ((r = next_member(p, &first, &key, &klen, &rc)) == 1) {
        if (key_is(key, klen, "name")) {
            if (o->name)
                return syntax_error(p, p->pos, "duplicate key \"name\"");
            if ((rc = read_cstr(p, "an output's \"name\"", &o->name)))
                return rc;
        } else if (key_is(key, klen, "parameters")) {
            const char *k2;
            size_t kl2;
            if ((rc = expect(p, '{', "an object for \"parameters\"")))
                return rc;
            first2 = 1;
            while ((r2 = next_member(p, &first2, &k2, &kl2, &rc)) == 1) {
                if (key_is(k2, kl2, "binary_data")) {
                    if ((rc = param_bool(p, "binary_data", &o->binary)))
                        return rc;
                } else if (key_is(k2, kl2, "classification")) {
                    return unsupported_param(k2, kl2, "gyre has no classification extension");
                } else if (kl2 > 14 && memcmp(k2, "shared_memory_", 14) == 0) {
                    return unsupported_param(k2, kl2, "gyre has no shared-memory extension");
                } else if ((rc = param_scalar(p, k2, kl2))) {
                    return rc;
                }
            }
            if (r2 < 0)
                return rc;
        } else if ((rc = skip_value(p, depth))) {
            return rc;
        }
    }
    if (r < 0)
        return rc;
    if (!o->name)
        return syntax_error(p, obj_at, "an output has no \"name\"");
    return GY_OK;
}

/* Counts the elements of an array at p->pos without consuming it (syntax checked later). */
static size_t array_len_hint(struct parser *p, size_t cap)
{
    struct parser q = *p;
    size_t n = 0;
    if (peek(&q) != '[')
        return 0;
    q.pos++;
    if (peek(&q) == ']')
        return 0;
    for (;;) {
        if (skip_value(&q, 2) != GY_OK)
            return GY_MIN(n + 1, cap); /* the parse proper reports the error at n */
        n++;
        if (n >= cap)
            return cap;
        char ch = peek(&q);
        if (ch != ',')
            return n;
        q.pos++;
    }
}

/*
 * The fast attempt grows the input arrays as it goes (instead of counting "inputs" with
 * array_len_hint first): doubles *cap, re-pointing each scan at its tensor. Any error makes
 * the caller start again the exact way, so the message here is never seen.
 */
static enum gy_status grow_inputs(struct parser *p, struct input_scan **scans,
                                  struct gy_tensor **inputs, size_t n, size_t *cap)
{
    size_t nc = *cap ? *cap * 2 : 4;
    struct input_scan *ns;
    struct gy_tensor *nt;
    if (n >= GY_V2_MAX_INPUTS)
        return gy_error_set(GY_E_INVALID, "more than %d inputs", GY_V2_MAX_INPUTS);
    if (nc > GY_V2_MAX_INPUTS)
        nc = GY_V2_MAX_INPUTS;
    ns = gy_arena_alloc(p->arena, nc * sizeof *ns);
    nt = gy_arena_alloc(p->arena, nc * sizeof *nt);
    if (!ns || !nt)
        return nomem();
    memset(nt, 0, nc * sizeof *nt);
    if (n) {
        memcpy(ns, *scans, n * sizeof *ns);
        memcpy(nt, *inputs, n * sizeof *nt);
    }
    for (size_t i = 0; i < n; i++)
        ns[i].t = &nt[i];
    *scans = ns;
    *inputs = nt;
    *cap = nc;
    return GY_OK;
}

/* One parse of the request: @p fast selects the one-pass attempt (see below). */
static enum gy_status request_parse(const char *body, size_t body_len, size_t json_len,
                                    const struct gy_v2_limits *lim, struct gy_arena *arena,
                                    struct gy_v2_request *out, int fast)
{
    struct parser p = {.s = body, .len = json_len, .pos = 0, .arena = arena, .fast = fast};
    struct input_scan *scans = NULL;
    size_t n_scans = 0, cap_scans = 0, cap_out = 0;
    uint64_t budget = lim && lim->max_elements ? lim->max_elements : GY_V2_MAX_ELEMENTS_DEFAULT;
    const char *key;
    size_t klen;
    int first = 1, r, seen_inputs = 0, seen_outputs = 0, seen_params = 0, seen_id = 0;
    char unknown[65] = "";
    enum gy_status rc = GY_OK;

    memset(out, 0, sizeof *out);
    out->binary_output = -1;
    if (json_len > body_len)
        return gy_error_set(GY_E_INVALID, "the JSON header is longer than the body");
    if (peek(&p) == 0)
        return gy_error_set(GY_E_INVALID, "request body is empty: expected a JSON object");
    if (peek(&p) != '{')
        return syntax_error(&p, p.pos, "the request must be a JSON object");
    p.pos++;
    while ((r = next_member(&p, &first, &key, &klen, &rc)) == 1) {
        if (key_is(key, klen, "id")) {
            if (seen_id++)
                return syntax_error(&p, p.pos, "duplicate key \"id\"");
            if ((rc = read_cstr(&p, "\"id\"", &out->id)))
                return rc;
        } else if (key_is(key, klen, "parameters")) {
            if (seen_params++)
                return syntax_error(&p, p.pos, "duplicate key \"parameters\"");
            if ((rc = parse_req_params(&p, out)))
                return rc;
        } else if (key_is(key, klen, "inputs")) {
            if (seen_inputs++)
                return syntax_error(&p, p.pos, "duplicate key \"inputs\"");
            if ((rc = expect(&p, '[', "an array for \"inputs\"")))
                return rc;
            p.pos--;
            cap_scans = fast ? 0 : array_len_hint(&p, GY_V2_MAX_INPUTS + 1);
            if (cap_scans > GY_V2_MAX_INPUTS)
                return syntax_error(&p, p.pos, "more than %d inputs", GY_V2_MAX_INPUTS);
            p.pos++;
            if (cap_scans) {
                scans = gy_arena_alloc(arena, cap_scans * sizeof *scans);
                out->inputs = gy_arena_alloc(arena, cap_scans * sizeof *out->inputs);
                if (!scans || !out->inputs)
                    return nomem();
                memset(out->inputs, 0, cap_scans * sizeof *out->inputs);
            }
            if (peek(&p) == ']') {
                p.pos++;
                continue;
            }
            for (;;) {
                if (n_scans >= cap_scans && !fast)
                    return syntax_error(&p, p.pos, "malformed \"inputs\" array");
                if (n_scans >= cap_scans &&
                    (rc = grow_inputs(&p, &scans, &out->inputs, n_scans, &cap_scans)))
                    return rc;
                struct input_scan *in = &scans[n_scans];
                memset(in, 0, sizeof *in);
                in->t = &out->inputs[n_scans];
                in->binary_size = -1;
                n_scans++;
                if ((rc = parse_input(&p, in, 3)))
                    return rc;
                char ch = peek(&p);
                if (ch == ']') {
                    p.pos++;
                    break;
                }
                if (ch != ',')
                    return syntax_error(&p, p.pos, "expected ',' or ']' in \"inputs\"");
                p.pos++;
            }
        } else if (key_is(key, klen, "outputs")) {
            if (seen_outputs++)
                return syntax_error(&p, p.pos, "duplicate key \"outputs\"");
            if ((rc = expect(&p, '[', "an array for \"outputs\"")))
                return rc;
            p.pos--;
            cap_out = array_len_hint(&p, GY_V2_MAX_OUTPUTS + 1);
            if (cap_out > GY_V2_MAX_OUTPUTS)
                return syntax_error(&p, p.pos, "more than %d requested outputs", GY_V2_MAX_OUTPUTS);
            p.pos++;
            out->outputs = gy_arena_alloc(arena, (cap_out ? cap_out : 1) * sizeof *out->outputs);
            if (!out->outputs)
                return nomem();
            memset(out->outputs, 0, (cap_out ? cap_out : 1) * sizeof *out->outputs);
            if (peek(&p) == ']') {
                p.pos++;
                continue;
            }
            for (;;) {
                if (out->n_outputs >= cap_out)
                    return syntax_error(&p, p.pos, "malformed \"outputs\" array");
                struct gy_v2_output_req *o = &out->outputs[out->n_outputs];
                if ((rc = parse_output(&p, o, 3)))
                    return rc;
                for (size_t j = 0; j < out->n_outputs; j++)
                    if (strcmp(out->outputs[j].name, o->name) == 0)
                        return gy_error_set(GY_E_INVALID, "output '%s' is requested twice",
                                            o->name);
                out->n_outputs++;
                char ch = peek(&p);
                if (ch == ']') {
                    p.pos++;
                    break;
                }
                if (ch != ',')
                    return syntax_error(&p, p.pos, "expected ',' or ']' in \"outputs\"");
                p.pos++;
            }
        } else {
            /* A typo ("inptus") must not pass silently; reported once the whole body is known
             * to be well-formed JSON, so syntax errors keep their precedence. */
            if (!unknown[0]) {
                size_t n = GY_MIN(klen, sizeof unknown - 1);
                for (size_t i = 0; i < n; i++)
                    unknown[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
                unknown[n] = '\0';
                if (!n)
                    memcpy(unknown, "(empty)", 8);
            }
            if ((rc = skip_value(&p, 1)))
                return rc;
        }
    }
    if (r < 0)
        return rc;
    if (peek(&p) != 0)
        return syntax_error(&p, p.pos, "unexpected data after the JSON object");
    if (unknown[0])
        return gy_error_set(GY_E_INVALID,
                            "unknown key \"%s\" in the request (known: id, parameters, inputs, "
                            "outputs)",
                            unknown);
    if (!seen_inputs)
        return gy_error_set(GY_E_INVALID, "the request has no \"inputs\"");
    if (n_scans == 0)
        return gy_error_set(GY_E_INVALID, "\"inputs\" is empty");
    out->n_inputs = n_scans;

    /* Names are unique; element counts within the limit; then the data. */
    for (size_t i = 0; i < n_scans; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(scans[i].t->name, scans[j].t->name) == 0)
                return gy_error_set(GY_E_INVALID, "input '%s' is given twice", scans[i].t->name);
        if ((rc = count_elems(scans[i].t, &budget)))
            return rc;
    }
    {
        const char *bin = body + json_len;
        size_t left = body_len - json_len;
        for (size_t i = 0; i < n_scans; i++) {
            if (scans[i].converted)
                rc = GY_OK;
            else if (scans[i].data_pos)
                rc = convert_json_data(&p, &scans[i]);
            else
                rc = take_binary(&p, &scans[i], &bin, &left);
            if (rc)
                return rc;
        }
        if (left)
            return gy_error_set(GY_E_INVALID,
                                "unexpected additional input data: %zu bytes after the last "
                                "binary input",
                                left);
    }
    return GY_OK;
}

/*
 * Two ways to parse, one result. The fast attempt reads the request in one pass: "inputs"
 * is not counted ahead, and FP32/FP64 data that follows its datatype and shape (as every
 * client writes it) is converted while it is scanned. It succeeds exactly when the exact
 * way does, with the same result; on any failure the exact way runs from the start (count
 * the inputs, skip each data value to validate it, convert once everything is known), so
 * every error keeps its text and precedence: a syntax error anywhere comes before a
 * bad element, more than GY_V2_MAX_INPUTS inputs before anything inside them.
 */
enum gy_status gy__v2_request_parse(const char *body, size_t body_len, size_t json_len,
                                    const struct gy_v2_limits *lim, struct gy_arena *arena,
                                    struct gy_v2_request *out)
{
    if (request_parse(body, body_len, json_len, lim, arena, out, 1) == GY_OK)
        return GY_OK;
    return request_parse(body, body_len, json_len, lim, arena, out, 0);
}

enum gy_status gy__v2_request_raw(const char *body, size_t body_len, size_t n_cols,
                                  const struct gy_v2_limits *lim, struct gy_arena *arena,
                                  struct gy_v2_request *out)
{
    uint64_t max = lim && lim->max_elements ? lim->max_elements : GY_V2_MAX_ELEMENTS_DEFAULT;
    size_t row = n_cols * 4;
    struct gy_tensor *t;
    memset(out, 0, sizeof *out);
    out->binary_output = 1;
    out->raw = 1;
    if (n_cols == 0)
        return gy_error_set(GY_E_INVALID, "a raw binary request needs a model with inputs");
    if (body_len == 0 || body_len % row)
        return gy_error_set(GY_E_INVALID,
                            "a raw binary request (Inference-Header-Content-Length: 0) must hold "
                            "whole rows of %zu FP32 values (%zu bytes each); got %zu bytes",
                            n_cols, row, body_len);
    if (body_len / 4 > max)
        return gy_error_set(GY_E_TOO_LARGE,
                            "%zu elements is more than this server accepts in one request (%llu)",
                            body_len / 4, (unsigned long long)max);
    if (!(t = gy_arena_alloc(arena, sizeof *t)))
        return nomem();
    memset(t, 0, sizeof *t);
    t->name = "input-0";
    t->dtype = GY_DT_FP32;
    t->ndim = 2;
    t->shape[0] = body_len / row;
    t->shape[1] = n_cols;
    t->n_elems = body_len / 4;
    if (((uintptr_t)body & 3) == 0) {
        t->data = body;
    } else {
        void *copy = gy_arena_alloc(arena, body_len);
        if (!copy)
            return nomem();
        memcpy(copy, body, body_len);
        t->data = copy;
    }
    out->inputs = t;
    out->n_inputs = 1;
    return GY_OK;
}

enum gy_status gy__v2_header_length(const char *hdr, size_t body_len, size_t *json_len)
{
    int64_t v;
    *json_len = body_len;
    if (!hdr)
        return GY_OK;
    while (*hdr == ' ' || *hdr == '\t')
        hdr++;
    {
        char buf[32];
        size_t n = strlen(hdr);
        while (n && (hdr[n - 1] == ' ' || hdr[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= sizeof buf)
            return gy_error_set(GY_E_INVALID,
                                "Inference-Header-Content-Length must be a byte count");
        memcpy(buf, hdr, n);
        buf[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (buf[i] < '0' || buf[i] > '9')
                return gy_error_set(GY_E_INVALID,
                                    "Inference-Header-Content-Length must be a byte count, not "
                                    "\"%s\"",
                                    buf);
        if (gy_parse_int64(buf, &v) || v < 0)
            return gy_error_set(GY_E_INVALID,
                                "Inference-Header-Content-Length must be a byte count, not "
                                "\"%s\"",
                                buf);
    }
    if ((uint64_t)v > body_len)
        return gy_error_set(GY_E_INVALID,
                            "Inference-Header-Content-Length (%lld) is larger than the body "
                            "(%zu bytes)",
                            (long long)v, body_len);
    *json_len = (size_t)v;
    return GY_OK;
}

/* ------------------------------------------------------------------ response */

static const char hexd[] = "0123456789abcdef";

enum gy_status gy__v2_json_str(struct gy_buf *b, const char *s, size_t len)
{
    enum gy_status rc;
    char *o;
    /* Worst case: every byte becomes \u00XX. */
    if (len > (SIZE_MAX - 2) / 6)
        return gy_error_set(GY_E_TOO_LARGE, "string too long");
    if ((rc = gy_buf_reserve(b, len * 6 + 2)))
        return rc;
    o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
            break;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return GY_OK;
}

static size_t fmt_u64(uint64_t v, char *out)
{
    char tmp[24];
    size_t n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

static const uint64_t pow10_u64[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};

/* strtof of "d.ddde<e10>", the p-digit integer @p m scaled: the slow, sure check. */
static float read_back(uint64_t m, int p, int e10)
{
    char buf[40];
    char digits[24];
    size_t n = 0;
    unsigned ue;
    fmt_u64(m, digits);
    buf[n++] = digits[0];
    if (p > 1) {
        buf[n++] = '.';
        memcpy(buf + n, digits + 1, (size_t)p - 1);
        n += (size_t)p - 1;
    }
    buf[n++] = 'e';
    if (e10 < 0)
        buf[n++] = '-';
    ue = (unsigned)(e10 < 0 ? -e10 : e10);
    n += fmt_u64(ue, buf + n);
    buf[n] = '\0';
    return strtof(buf, NULL);
}

/*
 * Does the decimal m * 10^(e10 - p + 1) read back as the float whose rounding interval is
 * (lo, hi)? The candidate is computed as a correctly rounded double (exact powers of ten up to
 * 10^22, one rounding), and rounding is monotone, so a result strictly inside or outside the
 * interval decides exactly; only a tie with a bound (or a far exponent) asks strtof.
 */
static int reads_back(uint64_t m, int p, int e10, double lo, double hi, float want)
{
    int q = e10 - (p - 1);
    if (q >= -22 && q <= 22) {
        double c = q >= 0 ? (double)m * pow10_exact[q] : (double)m / pow10_exact[-q];
        if (c > lo && c < hi)
            return 1;
        if (c < lo || c > hi)
            return 0;
    }
    return read_back(m, p, e10) == want;
}

size_t gy__v2_fmt_f32(float f, char out[32])
{
    double d = f;
    int neg = signbit(f) ? 1 : 0;
    uint64_t m9 = 0, best_m = 0;
    int e10, e, best_p = 0, best_e, plo, phi, nd;
    double lo, hi;
    char digits[16];
    size_t n = 0;

    if (!isfinite(f)) {
        memcpy(out, "null", 5);
        return 4;
    }
    if (f == 0.0f) {
        if (neg) {
            memcpy(out, "-0", 3);
            return 2;
        }
        memcpy(out, "0", 2);
        return 1;
    }
    if (neg)
        d = -d;
    {
        /* The rounding interval of |f|: half an ulp each side (a quarter below a power of two,
         * where the float below is twice as close). Exact in double. */
        int ex;
        float fr = frexpf((float)d, &ex);
        double ulp = ex - 24 < -149 ? ldexp(1.0, -149) : ldexp(1.0, ex - 24);
        lo = d - ulp / 2;
        hi = d + ulp / 2;
        if (fr == 0.5f && ex - 1 > -126)
            lo = d - ulp / 4;
    }
    /* Nine significant digits: m9 in [1e8, 1e9) with d ~ m9 * 10^(e10 - 8). */
    e10 = (int)floor(log10(d));
    for (int tries = 0; tries < 3; tries++) {
        int k = 8 - e10;
        double scaled = k >= 0 ? (k <= 22 ? d * pow10_exact[k] : d * 1e22 * pow(10, k - 22))
                               : (-k <= 22 ? d / pow10_exact[-k] : d / 1e22 / pow(10, -k - 22));
        double r = nearbyint(scaled);
        if (r >= 1e9) {
            e10++;
            continue;
        }
        if (r < 1e8) {
            e10--;
            continue;
        }
        m9 = (uint64_t)r;
        break;
    }
    if (m9 == 0 || !reads_back(m9, 9, e10, lo, hi, (float)d)) {
        /* Should not happen (9 digits always read back); print it the slow, sure way. */
        int len = snprintf(out, 32, "%.9g", (double)f);
        return (size_t)len;
    }
    best_m = m9;
    best_p = 9;
    best_e = e10;
    /* The shortest candidate that reads back: binary search over the digit count. */
    plo = 1;
    phi = 8;
    while (plo <= phi) {
        int p = (plo + phi) / 2, ok = 0;
        uint64_t div = pow10_u64[9 - p], down = m9 / div, rem = m9 % div;
        /* Both neighbours at p digits, the nearer first: m9 is itself rounded, so the other
         * one may be the one inside the interval. */
        for (int k = 0; k < 2 && !ok; k++) {
            uint64_t m = (rem >= div / 2) == (k == 0) ? down + 1 : down;
            int ce = e10;
            if (m == 0)
                continue;
            if (m >= pow10_u64[p]) { /* carried into a new digit: 9.99 -> 10.0 */
                m /= 10;
                ce++;
            }
            if (reads_back(m, p, ce, lo, hi, (float)d)) {
                best_m = m;
                best_p = p;
                best_e = ce;
                ok = 1;
            }
        }
        if (ok)
            phi = p - 1;
        else
            plo = p + 1;
    }
    /* best_m has best_p digits; its first digit has decimal exponent best_e. */
    fmt_u64(best_m, digits);
    nd = best_p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    e = best_e;
    if (neg)
        out[n++] = '-';
    if (e >= -6 && e < 16) { /* integers stay below int64 range for parsers like jansson */
        if (e < 0) {
            out[n++] = '0';
            out[n++] = '.';
            for (int i = 0; i < -e - 1; i++)
                out[n++] = '0';
            memcpy(out + n, digits, (size_t)nd);
            n += (size_t)nd;
        } else if (nd <= e + 1) {
            memcpy(out + n, digits, (size_t)nd);
            n += (size_t)nd;
            for (int i = 0; i < e + 1 - nd; i++)
                out[n++] = '0';
        } else {
            memcpy(out + n, digits, (size_t)e + 1);
            n += (size_t)e + 1;
            out[n++] = '.';
            memcpy(out + n, digits + e + 1, (size_t)(nd - e - 1));
            n += (size_t)(nd - e - 1);
        }
    } else {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, (size_t)nd - 1);
            n += (size_t)nd - 1;
        }
        n += (size_t)snprintf(out + n, 32 - n, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    out[n] = '\0';
    return n;
}

/* Appends a literal. */
static enum gy_status put(struct gy_buf *b, const char *s)
{
    return gy_buf_append(b, s, strlen(s));
}

static enum gy_status put_u64(struct gy_buf *b, uint64_t v)
{
    char tmp[24];
    size_t n = fmt_u64(v, tmp);
    return gy_buf_append(b, tmp, n);
}

/* The "data" array of a JSON output: rows*cols floats, flat. */
static enum gy_status put_floats(struct gy_buf *b, const float *v, uint64_t n)
{
    enum gy_status rc;
    if (n > (SIZE_MAX - 2) / 32)
        return gy_error_set(GY_E_TOO_LARGE, "response too large");
    /* Each value takes at most 15 bytes plus a comma ("-1.2345678e-38,"). */
    if ((rc = gy_buf_reserve(b, (size_t)n * 16 + 2)))
        return rc;
    char *o = b->data + b->len;
    *o++ = '[';
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        o += gy__v2_fmt_f32(v[i], o);
    }
    *o++ = ']';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return GY_OK;
}

enum gy_status gy__v2_response_write(const struct gy_v2_response *r, struct gy_buf *out,
                                     size_t *json_len)
{
    size_t start = out->len;
    enum gy_status rc = GY_OK;
    int any_binary = 0;

    *json_len = 0;
#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)))                                                                            \
            goto fail;                                                                             \
    } while (0)
    TRY(put(out, "{\"model_name\":"));
    TRY(gy__v2_json_str(out, r->model_name, strlen(r->model_name)));
    if (r->model_version > 0) {
        TRY(put(out, ",\"model_version\":\""));
        TRY(put_u64(out, (uint64_t)r->model_version));
        TRY(gy_buf_putc(out, '"'));
    }
    if (r->id) {
        TRY(put(out, ",\"id\":"));
        TRY(gy__v2_json_str(out, r->id, strlen(r->id)));
    }
    if (r->variant) {
        TRY(put(out, ",\"parameters\":{\"gyre_variant\":"));
        TRY(gy__v2_json_str(out, r->variant, strlen(r->variant)));
        TRY(gy_buf_putc(out, '}'));
    }
    TRY(put(out, ",\"outputs\":["));
    for (size_t i = 0; i < r->n_outputs; i++) {
        const struct gy_v2_out_tensor *o = &r->outputs[i];
        uint64_t n = o->rows * o->cols;
        if (i)
            TRY(gy_buf_putc(out, ','));
        TRY(put(out, "{\"name\":"));
        TRY(gy__v2_json_str(out, o->name, strlen(o->name)));
        TRY(put(out, ",\"datatype\":\"FP32\",\"shape\":["));
        TRY(put_u64(out, o->rows));
        if (o->ndim == 2) {
            TRY(gy_buf_putc(out, ','));
            TRY(put_u64(out, o->cols));
        }
        TRY(gy_buf_putc(out, ']'));
        if (o->binary) {
            any_binary = 1;
            TRY(put(out, ",\"parameters\":{\"binary_data_size\":"));
            TRY(put_u64(out, n * 4));
            TRY(put(out, "}}"));
        } else {
            TRY(put(out, ",\"data\":"));
            TRY(put_floats(out, o->data, n));
            TRY(gy_buf_putc(out, '}'));
        }
    }
    TRY(put(out, "]}"));
    *json_len = out->len - start;
    if (any_binary) {
        for (size_t i = 0; i < r->n_outputs; i++) {
            const struct gy_v2_out_tensor *o = &r->outputs[i];
            uint64_t n = o->rows * o->cols;
            if (!o->binary)
                continue;
            if (n > SIZE_MAX / 4)
                TRY(gy_error_set(GY_E_TOO_LARGE, "response too large"));
            /* float32 is stored little-endian on every platform gyre builds for. */
            TRY(gy_buf_append(out, o->data, (size_t)n * 4));
        }
    }
#undef TRY
    return GY_OK;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    if (rc == GY_E_TOO_LARGE)
        return gy_error_set(rc, "the response is larger than %zu bytes", out->max);
    return rc;
}
