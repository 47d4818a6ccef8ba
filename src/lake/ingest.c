/* SPDX-License-Identifier: MIT */
/*
 * ingest.c - turns a stream of CSV or JSON Lines records into a new dataset version.
 *
 * Rows are cut into chunks of CHUNK_ROWS; chunk k is profiled into profile k % NPROF (the two
 * are merged at the end, so the profile is a deterministic function of the chunks), and each
 * of its columns is encoded as a segment and stored as an object. Two ways to get there:
 *
 * - CSV without --skip-bad-rows (the common case, ingest_blocks): the calling thread only
 *   reads. It cuts the input into blocks of CHUNK_ROWS / NHALF records, tracking quotes so
 *   that a line feed inside a quoted field is never taken for a record end, and hands the
 *   blocks of chunk k to worker k % NBLOCKW, which parses and converts their records with a
 *   text reader, then profiles, encodes and stores the chunk. Parsing thus runs on every
 *   core. The first error in input order wins, with the message and position a sequential
 *   read gives.
 * - Otherwise (JSON Lines, --skip-bad-rows, one-column CSV, line limits over 128 MiB;
 *   ingest_records): the calling thread reads and converts records into chunks, and NGROUPS
 *   column-group workers (column c in group c % NGROUPS, each a single thread taking the
 *   chunks in order) profile, encode and store them; three chunk slots rotate.
 *
 * Either way memory stays bounded by a few chunks whatever the input size. Nothing is visible
 * until the final metadata transaction, which re-reads the latest version, appends the new
 * chunks to its chunk list, merges the new rows' profile into its profile and inserts the
 * version row: a crash before the commit leaves only unreferenced objects, and two concurrent
 * ingests both land, one after the other.
 */
#include "lake/lake_int.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define CHUNK_ROWS 65536
#define NSLOTS 3
#define SEGMENT_MAX (256u << 20)
#define NGROUPS 2 /* column groups of ingest_records, one worker thread each */
#define NPROF 2   /* chunk k is profiled into profile k % NPROF */
#define NBLOCKW 2 /* block workers of ingest_blocks (worker w profiles into profile w) */
#define NBLOCKS 3 /* text blocks: one being read, one per worker */
#define NHALF 2   /* a chunk's rows come in NHALF text blocks (less text held at once) */
#define BLOCK_READ ((size_t)1 << 20)  /* read() size of ingest_blocks */
#define BLOCK_MAX ((size_t)256 << 20) /* most text one block may hold */
_Static_assert(NBLOCKW == NPROF && NGROUPS == NBLOCKW, "one pool and one profile per worker");

struct chunk {
    size_t nrows;
    struct gy_colvec *cols;
    char (*hex)[GY_SHA256_HEX_LEN + 1];
    enum gy_status rc;
    char err[512];
    int busy; /* groups that have not finished this chunk yet */
};

/* ingest_blocks: one block of CSV text (whole records) and what became of it. */
struct block {
    char *text; /* cap + GY_READER_PAD bytes */
    size_t cap, len;
    uint64_t line; /* line number of text[0] */
    size_t index;  /* block number: chunk index * NHALF + part */
    int final;     /* the input ends with this block */
    int busy;      /* with a worker */
};

/* ingest_blocks: what one worker keeps between blocks. */
struct bworker {
    struct gy_reader *rd; /* text reader */
    struct chunk chunk;
    struct gy_buf seg;
};

struct ingest {
    struct gy_db *db;
    const struct gy_schema *schema;
    const size_t *map; /* schema column k is reader field map[k] */
    const char *source;
    struct gy_profile *prof[NPROF];
    struct chunk slots[NSLOTS];
    /* Finished chunks, in order: rows and segment hashes. */
    struct done_chunk {
        size_t rows;
        char (*hex)[GY_SHA256_HEX_LEN + 1];
    } * done;
    size_t ndone, cap_done;
    struct gy_pool *pool[NGROUPS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum gy_status worker_rc;
    char worker_err[512];
    /* ingest_blocks */
    struct block blocks[NBLOCKS];
    struct bworker bw[NBLOCKW];
    size_t err_index; /* chunk index of the first failed block, SIZE_MAX while none */
    uint64_t rows_done;
};

struct job {
    struct ingest *in;
    struct chunk *c;
    size_t index;
    size_t group;
};

/* Worker: profile, encode and store one group's columns of one chunk. Each group runs on its
 * own single-thread pool, so a group sees the chunks in order. The last group to finish a
 * chunk records it. */
static void chunk_job(void *arg)
{
    struct job *j = arg;
    struct ingest *in = j->in;
    struct chunk *c = j->c;
    struct gy_buf seg;
    enum gy_status rc = GY_OK;

    gy_buf_init(&seg, SEGMENT_MAX);
    for (size_t k = j->group; k < in->schema->ncols && rc == GY_OK; k += NGROUPS) {
        rc = gy__profile_add(in->prof[j->index % NPROF], k, &c->cols[k]);
        if (rc == GY_OK) {
            gy_buf_reset(&seg);
            rc = gy__segment_encode(&c->cols[k], &seg);
        }
        if (rc == GY_OK)
            rc = gy_db_object_put(in->db, seg.data, seg.len, c->hex[k]);
    }
    gy_buf_free(&seg);
    pthread_mutex_lock(&in->lock);
    if (rc && c->rc == GY_OK) {
        c->rc = rc;
        snprintf(c->err, sizeof c->err, "%s", gy_error_msg());
    }
    rc = c->rc;
    if (--c->busy > 0) {
        pthread_mutex_unlock(&in->lock);
        gy_free(j);
        return;
    }
    if (rc == GY_OK && in->worker_rc == GY_OK) {
        struct done_chunk *d = &in->done[j->index];
        d->rows = c->nrows;
        d->hex = gy_malloc(in->schema->ncols * sizeof *d->hex);
        if (d->hex)
            memcpy(d->hex, c->hex, in->schema->ncols * sizeof *d->hex);
        else
            rc = c->rc = GY_E_NOMEM;
    }
    if (rc && in->worker_rc == GY_OK) {
        in->worker_rc = rc;
        snprintf(in->worker_err, sizeof in->worker_err, "%s",
                 c->rc == GY_E_NOMEM ? "out of memory" : c->err);
    }
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    gy_free(j);
}

static void slot_free(struct chunk *c, size_t ncols)
{
    if (c->cols)
        for (size_t k = 0; k < ncols; k++)
            gy__colvec_clear(&c->cols[k]);
    gy_free(c->cols);
    gy_free(c->hex);
    memset(c, 0, sizeof *c);
}

static enum gy_status slot_init(struct chunk *c, const struct gy_schema *s)
{
    c->cols = gy_calloc(s->ncols, sizeof *c->cols);
    c->hex = gy_calloc(s->ncols, sizeof *c->hex);
    if (!c->cols || !c->hex)
        return GY_E_NOMEM;
    for (size_t k = 0; k < s->ncols; k++) {
        enum gy_status rc = gy__colvec_init(&c->cols[k], s->cols[k].type, CHUNK_ROWS);
        if (rc)
            return rc;
    }
    return GY_OK;
}

static void slot_reset(struct chunk *c, size_t ncols)
{
    c->nrows = 0;
    c->rc = GY_OK;
    for (size_t k = 0; k < ncols; k++) {
        c->cols[k].n = 0;
        if (c->cols[k].off)
            c->cols[k].off[0] = 0;
    }
}

/* Submits the filled chunk to the workers, one job per column group. */
/* Makes room for one more finished chunk (called by the reading thread only). */
static enum gy_status done_reserve(struct ingest *in)
{
    if (in->ndone == in->cap_done) {
        size_t cap = in->cap_done ? in->cap_done * 2 : 64;
        struct done_chunk *d;
        pthread_mutex_lock(&in->lock);
        d = gy_realloc(in->done, cap * sizeof *d);
        if (d) {
            memset(d + in->cap_done, 0, (cap - in->cap_done) * sizeof *d);
            in->done = d;
            in->cap_done = cap;
        }
        pthread_mutex_unlock(&in->lock);
        if (!d)
            return GY_E_NOMEM;
    }
    return GY_OK;
}

static enum gy_status submit(struct ingest *in, struct chunk *c)
{
    struct job *j[NGROUPS];
    size_t index, ng = GY_MIN((size_t)NGROUPS, in->schema->ncols);
    enum gy_status rc = done_reserve(in);
    if (rc)
        return rc;
    for (size_t g = 0; g < ng; g++) {
        j[g] = gy_malloc(sizeof *j[g]);
        if (!j[g]) {
            while (g > 0)
                gy_free(j[--g]);
            return GY_E_NOMEM;
        }
    }
    index = in->ndone++;
    for (size_t k = 0; k < in->schema->ncols; k++)
        c->cols[k].n = c->nrows;
    c->rc = GY_OK;
    pthread_mutex_lock(&in->lock);
    c->busy = (int)ng;
    pthread_mutex_unlock(&in->lock);
    for (size_t g = 0; g < ng; g++) {
        j[g]->in = in;
        j[g]->c = c;
        j[g]->index = index;
        j[g]->group = g;
        if (rc == GY_OK)
            rc = gy_pool_submit(in->pool[g], chunk_job, j[g]);
        if (rc) {
            /* Not queued: this group will never finish the chunk. */
            pthread_mutex_lock(&in->lock);
            c->busy--;
            if (in->worker_rc == GY_OK) {
                in->worker_rc = rc;
                snprintf(in->worker_err, sizeof in->worker_err, "%s", gy_error_msg());
            }
            pthread_cond_broadcast(&in->cond);
            pthread_mutex_unlock(&in->lock);
            gy_free(j[g]);
        }
    }
    return rc;
}

/* Waits until slot c is free again; returns the worker's first error. */
static enum gy_status wait_slot(struct ingest *in, struct chunk *c)
{
    enum gy_status rc;
    pthread_mutex_lock(&in->lock);
    while (c->busy)
        pthread_cond_wait(&in->cond, &in->lock);
    rc = in->worker_rc;
    pthread_mutex_unlock(&in->lock);
    if (rc)
        gy_error_set(rc, "%s", in->worker_err);
    return rc;
}

/* ------------------------------------------------------------------ conversion */

static const char *kind_word(enum gy_field_kind k)
{
    return k == GY_FIELD_BOOL ? "a boolean" : "text";
}

/* Converts one field into row `row` of column vector v. Returns GY_E_INVALID with a message
 * (without location) on a value that does not fit the column type. */
static enum gy_status convert(struct gy_colvec *v, size_t row, const struct gy_field *f)
{
    const char *p = f->p;
    size_t len = f->len;
    enum gy_field_kind k = f->kind;

    if (v->type == GY_TYPE_FLOAT64 && (k == GY_FIELD_TEXT || k == GY_FIELD_QUOTED) && len > 4 &&
        gy__parse_f64_padded(p, len, &v->f64[row]) == GY_OK) {
        v->valid[row] = 1; /* no null token is longer than 4 bytes */
        return GY_OK;
    }
    if (v->type == GY_TYPE_STRING) {
        v->n = row;
        if (k == GY_FIELD_NULL || (k == GY_FIELD_TEXT && gy__is_null_token(p, len, v->type)))
            return gy__colvec_push_str(v, CHUNK_ROWS, NULL, 0, 0);
        return gy__colvec_push_str(v, CHUNK_ROWS, p, len, 1);
    }
    if (k == GY_FIELD_NULL || (k != GY_FIELD_BOOL && gy__is_null_token(p, len, v->type))) {
        v->valid[row] = 0;
        switch (v->type) {
        case GY_TYPE_FLOAT64:
            v->f64[row] = 0;
            break;
        case GY_TYPE_BOOL:
            v->b[row] = 0;
            break;
        default:
            v->i64[row] = 0;
        }
        return GY_OK;
    }
    v->valid[row] = 1;
    switch (v->type) {
    case GY_TYPE_FLOAT64:
        if (k != GY_FIELD_BOOL && gy__parse_f64_padded(p, len, &v->f64[row]) == GY_OK)
            return GY_OK;
        break;
    case GY_TYPE_INT64:
        if (k != GY_FIELD_BOOL && gy__parse_i64(p, len, &v->i64[row]) == GY_OK)
            return GY_OK;
        break;
    case GY_TYPE_BOOL:
        if (gy__parse_bool(p, len, &v->b[row]) == GY_OK)
            return GY_OK;
        break;
    case GY_TYPE_TIMESTAMP:
        if (k != GY_FIELD_BOOL && gy__parse_timestamp(p, len, &v->i64[row]) == GY_OK)
            return GY_OK;
        break;
    default:
        break;
    }
    if (k == GY_FIELD_BOOL)
        return gy_error_set(GY_E_INVALID, "expected %s, found %s", gy_type_name(v->type),
                            kind_word(k));
    return gy_error_set(GY_E_INVALID, "expected %s, found \"%.*s\"", gy_type_name(v->type),
                        (int)GY_MIN(len, 40), p);
}

/*
 * Converts record @p rec into row @p row of chunk c. On a bad value: GY_E_INVALID with
 * "source:line:col: column "x": ..." and the partial row undone (string columns had already
 * advanced their count).
 */
static enum gy_status convert_record(const struct ingest *in, struct chunk *c, size_t row,
                                     const struct gy_record *rec)
{
    const struct gy_schema *schema = in->schema;
    size_t k;
    for (k = 0; k < schema->ncols; k++)
        if (convert(&c->cols[k], row, &rec->fields[in->map[k]]) != GY_OK)
            break;
    if (k == schema->ncols)
        return GY_OK;
    const struct gy_field *f = &rec->fields[in->map[k]];
    enum gy_status rc = gy_error_set(GY_E_INVALID, "%s:%llu:%u: column \"%s\": %s", in->source,
                                     (unsigned long long)rec->line, f->column, schema->cols[k].name,
                                     gy_error_msg());
    for (size_t j = 0; j < schema->ncols; j++)
        c->cols[j].n = row;
    return rc;
}

/* ------------------------------------------------------------------ parallel CSV blocks */

/*
 * Finding block ends: the reading thread looks at the text 64 bytes at a time (bit i of a
 * mask = byte i of the window) and follows the quote state across windows. A line feed
 * outside quotes ends a record; a record is blank when it is empty (a line feed right after
 * the previous record end, or a CR LF pair there), and blank records are not rows (nor may
 * a block end after one: a blank line is an error unless only blank lines follow it to the
 * end of the input, which only the last block can see).
 */
struct cut {
    size_t pos;       /* bytes scanned (a multiple of 64 until the input ends) */
    uint64_t inq;     /* all ones while inside quotes at pos */
    uint64_t prev_e;  /* the record-end mask of the previous window (bit 63 = pos - 1) */
    uint64_t prev_cr; /* bit 63: pos - 1 is a carriage return */
    size_t records;   /* non-blank records ending before pos */
    uint64_t lines;   /* line feeds before pos */
    size_t last_end;  /* just past the last non-blank record end, 0 when none */
};

static void cut_start(struct cut *st)
{
    memset(st, 0, sizeof *st);
    st->prev_e = UINT64_C(1) << 63; /* the text starts after a record end */
}

/* Set bits of a sparse mask (a record is longer than a few bytes; portable builds have no
 * popcount instruction, and the libgcc call costs more than this). */
static inline size_t bits_set(uint64_t m)
{
    size_t n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

/* The masks of the 64 bytes at p (fewer when @p avail < 64; the rest read as 0). */
static void cut_masks(const char *p, size_t avail, uint64_t *q, uint64_t *lf, uint64_t *cr)
{
    uint64_t mq = 0, ml = 0, mc = 0;
#if defined(__SSE2__)
    const __m128i vq = _mm_set1_epi8('"'), vl = _mm_set1_epi8('\n'), vc = _mm_set1_epi8('\r');
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        mq |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vq)) << (16 * k);
        ml |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vl)) << (16 * k);
        mc |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vc)) << (16 * k);
    }
#else
    for (unsigned i = 0; i < 64; i++) {
        mq |= (uint64_t)(p[i] == '"') << i;
        ml |= (uint64_t)(p[i] == '\n') << i;
        mc |= (uint64_t)(p[i] == '\r') << i;
    }
#endif
    if (avail < 64) {
        uint64_t keep = (UINT64_C(1) << avail) - 1;
        mq &= keep;
        ml &= keep;
        mc &= keep;
    }
    *q = mq;
    *lf = ml;
    *cr = mc;
}

/*
 * Scans t[st->pos, len) for the end of the @p want-th non-blank record (counting from the
 * start of the text). Returns 1 with *cut just past it, or 0 when it is not there yet (a
 * partial last window is scanned only when @p eof). @p t has 64 readable bytes past len.
 */
static int cut_scan(struct cut *st, const char *t, size_t len, int eof, size_t want, size_t *cut)
{
    while (st->pos < len && (eof || len - st->pos >= 64)) {
        size_t avail = GY_MIN(len - st->pos, (size_t)64);
        uint64_t q, lf, cr, x, e, blank, ends;
        cut_masks(t + st->pos, avail, &q, &lf, &cr);
        x = q; /* x: inside quotes (prefix xor of the quotes) */
        x ^= x << 1;
        x ^= x << 2;
        x ^= x << 4;
        x ^= x << 8;
        x ^= x << 16;
        x ^= x << 32;
        x ^= st->inq;
        e = lf & ~x;
        blank = e & ((e << 1 | st->prev_e >> 63) |
                     ((cr << 1 | st->prev_cr >> 63) & (e << 2 | st->prev_e >> 62)));
        ends = e & ~blank;
        size_t n = bits_set(ends);
        if (st->records + n >= want) {
            for (size_t k = want - st->records; k > 1; k--)
                ends &= ends - 1;
            unsigned b = (unsigned)__builtin_ctzll(ends);
            uint64_t upto = b == 63 ? UINT64_MAX : (UINT64_C(1) << (b + 1)) - 1;
            st->lines += bits_set(lf & upto);
            st->records = want;
            *cut = st->pos + b + 1;
            st->last_end = *cut;
            return 1;
        }
        if (ends)
            st->last_end = st->pos + 64 - (size_t)__builtin_clzll(ends);
        st->records += n;
        st->lines += bits_set(lf);
        st->inq = (uint64_t)0 - (x >> 63);
        st->prev_e = e;
        st->prev_cr = cr;
        st->pos += avail;
    }
    return 0;
}

/* Line feeds in t[from, to). */
static uint64_t count_lf(const char *t, size_t from, size_t to)
{
    uint64_t n = 0;
    for (const char *p = t + from, *e = t + to; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        n++;
    return n;
}

/* Grows block b to hold @p need bytes of text (keeping its content). */
static enum gy_status block_reserve(struct block *b, size_t need)
{
    if (need <= b->cap)
        return GY_OK;
    size_t cap = b->cap ? b->cap : BLOCK_READ * 16;
    while (cap < need)
        cap *= 2;
    char *t = gy_realloc(b->text, cap + GY_READER_PAD);
    if (!t)
        return gy_error_set(GY_E_NOMEM, "out of memory for %zu bytes of input", cap);
    b->text = t;
    b->cap = cap;
    return GY_OK;
}

/*
 * Records the outcome of text block @p bi and releases it (unless @p b is NULL: released
 * already). When @p finished, chunk bi / NHALF is complete with @p rows rows (or failed).
 * Called with in->lock held.
 */
static void block_done(struct ingest *in, size_t bi, struct block *b, struct chunk *c, size_t rows,
                       int finished, enum gy_status rc, const char *err)
{
    if (rc == GY_OK && finished && rows) {
        struct done_chunk *d = &in->done[bi / NHALF];
        d->rows = rows;
        d->hex = gy_malloc(in->schema->ncols * sizeof *d->hex);
        if (d->hex) {
            memcpy(d->hex, c->hex, in->schema->ncols * sizeof *d->hex);
        } else {
            rc = GY_E_NOMEM;
            err = "out of memory";
        }
    }
    if (rc && bi < in->err_index) {
        in->err_index = bi;
        in->worker_rc = rc;
        snprintf(in->worker_err, sizeof in->worker_err, "%s", err);
    }
    if (rc == GY_OK && finished)
        in->rows_done += rows;
    if (b)
        b->busy = 0;
    pthread_cond_broadcast(&in->cond);
}

struct bjob {
    struct ingest *in;
    struct block *b;
    size_t w;
};

/*
 * Worker: parses text block bi into its chunk (chunk bi / NHALF, whose rows come in NHALF
 * blocks, all given to this worker in order); after the last of them it profiles, encodes and
 * stores the chunk.
 */
static void block_job(void *arg)
{
    struct bjob *j = arg;
    struct ingest *in = j->in;
    struct block *b = j->b;
    const size_t wi = j->w, ncols = in->schema->ncols, bi = b->index;
    const int finish = bi % NHALF == NHALF - 1 || b->final;
    struct bworker *w = &in->bw[wi];
    struct chunk *c = &w->chunk;
    enum gy_status rc = GY_OK;
    size_t rows;
    int skip;

    gy_free(j);
    pthread_mutex_lock(&in->lock);
    skip = in->err_index < bi; /* an earlier block failed: this one no longer matters */
    pthread_mutex_unlock(&in->lock);
    if (bi % NHALF == 0)
        slot_reset(c, ncols);
    rows = c->nrows;
    if (!skip) {
        gy__reader_reset_text(w->rd, b->text, b->len, b->line);
        for (;;) {
            const struct gy_record *rec;
            rc = gy__reader_next(w->rd, &rec);
            if (rc == GY_NOT_FOUND) {
                rc = GY_OK;
                break;
            }
            if (rc)
                break;
            if (GY_NEVER(rows == CHUNK_ROWS)) {
                rc = gy_error_set(GY_E_INTERNAL, "%s: chunk of more than %d records", in->source,
                                  CHUNK_ROWS);
                break;
            }
            if ((rc = convert_record(in, c, rows, rec)) != GY_OK)
                break;
            rows++;
        }
        /* A block ends after a record, so blank lines at its end are followed by more. */
        if (rc == GY_OK && !b->final && gy__reader_trailing_blank(w->rd) > 0)
            rc = gy_error_set(GY_E_INVALID, "%s:%llu:1: empty line", in->source,
                              (unsigned long long)gy__reader_trailing_blank(w->rd));
        c->nrows = rows;
        if (rc == GY_OK && finish) { /* the text is no longer needed: let the reader refill it */
            pthread_mutex_lock(&in->lock);
            b->busy = 0;
            pthread_cond_broadcast(&in->cond);
            pthread_mutex_unlock(&in->lock);
            b = NULL;
        }
        for (size_t k = 0; k < ncols && rc == GY_OK && finish && rows; k++) {
            c->cols[k].n = rows;
            rc = gy__profile_add(in->prof[wi % NPROF], k, &c->cols[k]);
            if (rc == GY_OK) {
                gy_buf_reset(&w->seg);
                rc = gy__segment_encode(&c->cols[k], &w->seg);
            }
            if (rc == GY_OK)
                rc = gy_db_object_put(in->db, w->seg.data, w->seg.len, c->hex[k]);
        }
    }
    pthread_mutex_lock(&in->lock);
    block_done(in, bi, b, c, rows, finish && !skip, rc, rc ? gy_error_msg() : "");
    pthread_mutex_unlock(&in->lock);
}

/* Waits for a block buffer no worker holds. */
static struct block *block_free(struct ingest *in)
{
    pthread_mutex_lock(&in->lock);
    for (;;) {
        for (size_t i = 0; i < NBLOCKS; i++) {
            if (!in->blocks[i].busy) {
                in->blocks[i].busy = 1;
                pthread_mutex_unlock(&in->lock);
                return &in->blocks[i];
            }
        }
        pthread_cond_wait(&in->cond, &in->lock);
    }
}

/* Reads more input into b (at most BLOCK_READ bytes); *eof when there is none. */
static enum gy_status block_read(struct ingest *in, struct block *b, int fd, int *eof)
{
    enum gy_status rc = block_reserve(b, b->len + BLOCK_READ);
    if (rc)
        return rc;
    for (;;) {
        ssize_t n = read(fd, b->text + b->len, BLOCK_READ);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return gy_error_set(GY_E_IO, "%s: read: %s", in->source, strerror(errno));
        b->len += (size_t)n;
        *eof = n == 0;
        memset(b->text + b->len, 0, GY_READER_PAD);
        return GY_OK;
    }
}

/* Gives a block buffer back without submitting it. */
static void block_release(struct ingest *in, struct block *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&in->lock);
    b->busy = 0;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
}

static int blocks_failed(struct ingest *in)
{
    pthread_mutex_lock(&in->lock);
    int failed = in->err_index != SIZE_MAX;
    pthread_mutex_unlock(&in->lock);
    return failed;
}

/*
 * The parallel CSV path. @p rd has read the header; the records start in its buffer and
 * continue in @p fd. Blocks of CHUNK_ROWS records go to the workers in turn.
 */
static enum gy_status ingest_blocks(struct ingest *in, struct gy_reader **rdp, int fd,
                                    const struct gy_ingest_opts *opts, struct gy_ingest_result *res)
{
    struct gy_reader *rd = *rdp;
    const char *p0;
    size_t n0, index = 0;
    uint64_t line, bytes;
    int eof;
    enum gy_status rc = GY_OK;
    struct block *b = block_free(in), *next = NULL;
    struct cut st;

    gy__reader_buffered(rd, &p0, &n0, &line, &eof);
    bytes = gy__reader_bytes(rd) + n0;
    if ((rc = block_reserve(b, n0 + BLOCK_READ)) != GY_OK)
        goto out;
    memcpy(b->text, p0, n0);
    b->len = n0;
    memset(b->text + n0, 0, GY_READER_PAD);
    gy__reader_free(rd); /* its buffer is copied; the rest is read here */
    *rdp = NULL;
    cut_start(&st);
    for (;;) {
        size_t cut;
        uint64_t nl;
        if (cut_scan(&st, b->text, b->len, eof, CHUNK_ROWS / NHALF, &cut)) {
            nl = st.lines;
            b->final = eof && cut == b->len;
        } else if (!eof && b->len + BLOCK_READ <= BLOCK_MAX) {
            size_t before = b->len;
            if ((rc = block_read(in, b, fd, &eof)) != GY_OK)
                goto out;
            bytes += b->len - before;
            continue;
        } else {
            /* The end of the input, or too much text for CHUNK_ROWS records: end the block
             * after its last record, or where it is when it has none (its reader then
             * reports the overlong line). */
            cut = eof || !st.last_end ? b->len : st.last_end;
            nl = cut >= st.pos ? st.lines + count_lf(b->text, st.pos, cut)
                               : st.lines - count_lf(b->text, cut, st.pos);
            b->final = eof;
        }
        if (!b->final) {
            size_t tail = b->len - cut;
            next = block_free(in);
            if ((rc = block_reserve(next, tail + BLOCK_READ)) != GY_OK)
                goto out;
            memcpy(next->text, b->text + cut, tail);
            next->len = tail;
            memset(next->text + tail, 0, GY_READER_PAD);
        }
        b->len = cut;
        memset(b->text + cut, 0, GY_READER_PAD);
        b->line = line;
        b->index = index;
        line += nl;
        {
            struct bjob *j = gy_malloc(sizeof *j);
            if ((rc = j ? index % NHALF ? GY_OK : done_reserve(in) : GY_E_NOMEM) != GY_OK) {
                gy_free(j);
                goto out;
            }
            in->ndone = index / NHALF + 1;
            j->in = in;
            j->b = b;
            j->w = index / NHALF % NBLOCKW;
            if ((rc = gy_pool_submit(in->pool[j->w], block_job, j)) != GY_OK) {
                gy_free(j);
                goto out;
            }
            b = NULL; /* the worker releases it */
            index++;
        }
        if (opts->progress) {
            pthread_mutex_lock(&in->lock);
            uint64_t done = in->rows_done;
            pthread_mutex_unlock(&in->lock);
            opts->progress(opts->progress_arg, done, bytes);
        }
        if (!next || blocks_failed(in))
            break;
        b = next;
        next = NULL;
        cut_start(&st);
    }
out:
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gy_error_msg());
        block_release(in, b);
        block_release(in, next);
        for (size_t g = 0; g < NBLOCKW; g++)
            gy_pool_wait(in->pool[g]);
        return gy_error_set(rc, "%s", msg);
    }
    block_release(in, next);
    for (size_t g = 0; g < NBLOCKW; g++)
        gy_pool_wait(in->pool[g]);
    res->bytes_in = bytes;
    res->rows = in->rows_done;
    if (in->err_index != SIZE_MAX)
        return gy_error_set(in->worker_rc, "%s", in->worker_err);
    return GY_OK;
}

/* ------------------------------------------------------------------ metadata */

static enum gy_status check_dataset_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128)
        return gy_error_set(GY_E_INVALID, "dataset name must be 1 to 128 characters");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '_' || c == '-' || c == '.'));
        if (!ok)
            return gy_error_set(GY_E_INVALID,
                                "dataset name \"%s\": use letters, digits, '_', '-' and '.', "
                                "starting with a letter or digit",
                                name);
    }
    return GY_OK;
}

enum gy_status gy_lake_parse_ref(const char *ref, char *name_out, int64_t *version)
{
    const char *at = strchr(ref, '@');
    size_t n = at ? (size_t)(at - ref) : strlen(ref);
    *version = 0;
    if (n == 0 || n > GY_LAKE_MAX_NAME)
        return gy_error_set(GY_E_INVALID, "bad dataset reference \"%s\"", ref);
    memcpy(name_out, ref, n);
    name_out[n] = '\0';
    if (at) {
        int64_t v;
        if (strcmp(at + 1, "latest") == 0)
            return GY_OK;
        if (gy_parse_int64(at + 1, &v) != GY_OK || v < 1)
            return gy_error_set(GY_E_INVALID,
                                "bad version in \"%s\" (expected NAME@N with N >= 1, or "
                                "NAME@latest)",
                                ref);
        *version = v;
    }
    return GY_OK;
}

/* Looks up a dataset: id and schema (new, NULL when the dataset has none yet). */
static enum gy_status dataset_lookup(struct gy_db *db, const char *name, int64_t *id,
                                     struct gy_schema **schema)
{
    struct gy_db_param p[] = {GY_DB_P_TEXT(name)};
    struct gy_db_rows *r = NULL;
    enum gy_status rc;
    *schema = NULL;
    rc = gy_db_query(db, "SELECT id, schema_json FROM datasets WHERE name = $1", p, 1, &r);
    if (rc)
        return rc;
    if (gy_db_rows_count(r) == 0) {
        gy_db_rows_free(r);
        return gy_error_set(GY_NOT_FOUND, "no dataset named \"%s\"", name);
    }
    *id = gy_db_rows_int(r, 0, 0);
    if (!gy_db_rows_isnull(r, 0, 1)) {
        const char *txt = gy_db_rows_text(r, 0, 1);
        json_t *j = NULL;
        rc = gy_json_parse(txt, strlen(txt), 8, "stored schema", &j);
        if (rc == GY_OK) {
            rc = gy_schema_from_json(j, schema);
            json_decref(j);
        }
        if (rc)
            rc = gy_error_wrap(GY_E_CORRUPT, "dataset \"%s\"", name);
    }
    gy_db_rows_free(r);
    return rc;
}

enum gy_status gy_lake_dataset_create(struct gy_db *db, const char *name,
                                      const struct gy_schema *schema, const char *description)
{
    struct gy_buf sj;
    enum gy_status rc;
    gy_buf_init(&sj, 1 << 24);
    if ((rc = check_dataset_name(name)) != GY_OK)
        return rc;
    if (schema) {
        json_t *j = gy_schema_to_json(schema);
        if (!j)
            return GY_E_NOMEM;
        rc = gy_json_dump(j, &sj);
        json_decref(j);
        if (rc)
            goto out;
    }
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT(name), GY_DB_P_TEXT(description),
                                  GY_DB_P_TEXT(schema ? sj.data : NULL),
                                  GY_DB_P_INT(gy_time_wall_us())};
        rc = gy_db_exec(db,
                        "INSERT INTO datasets (name, description, schema_json, created_us) "
                        "VALUES ($1, $2, $3, $4)",
                        p, 4, NULL);
        if (rc == GY_E_EXISTS)
            rc = gy_error_set(GY_E_EXISTS, "dataset \"%s\" already exists", name);
    }
out:
    gy_buf_free(&sj);
    return rc;
}

/* Reads and parses the manifest object of a version row. */
static enum gy_status manifest_load(struct gy_db *db, const char *hex, json_t **out)
{
    struct gy_buf b;
    enum gy_status rc;
    gy_buf_init(&b, (size_t)1 << 30);
    rc = gy_db_object_get(db, hex, &b);
    if (rc == GY_OK)
        rc = gy_json_parse(b.data, b.len, 16, "manifest", out);
    if (rc == GY_NOT_FOUND)
        rc = gy_error_set(GY_E_CORRUPT, "manifest object %s is missing", hex);
    else if (rc == GY_E_INVALID)
        rc = GY_E_CORRUPT;
    gy_buf_free(&b);
    return rc;
}

/* Latest version number and manifest hash of dataset id; version 0 when none. */
static enum gy_status latest_version(struct gy_db *db, int64_t id, int64_t *version,
                                     char hex[GY_SHA256_HEX_LEN + 1])
{
    struct gy_db_param p[] = {GY_DB_P_INT(id)};
    struct gy_db_rows *r = NULL;
    enum gy_status rc = gy_db_query(db,
                                    "SELECT version, manifest FROM dataset_versions WHERE "
                                    "dataset_id = $1 ORDER BY version DESC LIMIT 1",
                                    p, 1, &r);
    if (rc)
        return rc;
    *version = 0;
    hex[0] = '\0';
    if (gy_db_rows_count(r)) {
        *version = gy_db_rows_int(r, 0, 0);
        snprintf(hex, GY_SHA256_HEX_LEN + 1, "%s", gy_db_rows_text(r, 0, 1));
    }
    gy_db_rows_free(r);
    return GY_OK;
}

/* Loads the profile state referenced by a manifest. */
static enum gy_status profile_from_manifest(struct gy_db *db, const json_t *m,
                                            const struct gy_schema *s, struct gy_profile **out)
{
    const char *hex = gy_json_str(m, "profile_state", NULL);
    struct gy_buf b;
    void *raw = NULL;
    unsigned long long n;
    enum gy_status rc;
    *out = NULL;
    if (!hex)
        return gy_error_set(GY_E_CORRUPT, "manifest has no profile_state");
    gy_buf_init(&b, (size_t)1 << 30);
    if ((rc = gy_db_object_get(db, hex, &b)) != GY_OK)
        goto out;
    n = ZSTD_getFrameContentSize(b.data, b.len);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (1ull << 30)) {
        rc = gy_error_set(GY_E_CORRUPT, "profile state %s: bad frame", hex);
        goto out;
    }
    raw = gy_malloc(n ? n : 1);
    if (!raw) {
        rc = GY_E_NOMEM;
        goto out;
    }
    if (ZSTD_decompress(raw, n, b.data, b.len) != n) {
        rc = gy_error_set(GY_E_CORRUPT, "profile state %s: bad payload", hex);
        goto out;
    }
    rc = gy__profile_load(raw, n, s, out);
out:
    gy_free(raw);
    gy_buf_free(&b);
    return rc;
}

static enum gy_status put_compressed(struct gy_db *db, const struct gy_buf *raw,
                                     char hex[GY_SHA256_HEX_LEN + 1])
{
    size_t bound = ZSTD_compressBound(raw->len), z;
    void *dst = gy_malloc(bound);
    enum gy_status rc;
    if (!dst)
        return GY_E_NOMEM;
    z = ZSTD_compress(dst, bound, raw->data, raw->len,
                      1); /* fast: the state is mostly sketch keys */
    if (ZSTD_isError(z))
        rc = gy_error_set(GY_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(z));
    else
        rc = gy_db_object_put(db, dst, z, hex);
    gy_free(dst);
    return rc;
}

/* Inside the write transaction: builds and stores the manifest of the next version and
 * inserts its row. */
static enum gy_status commit_version(struct ingest *in, const char *name, int64_t id,
                                     const struct gy_ingest_opts *opts,
                                     struct gy_ingest_result *res)
{
    struct gy_db *db = in->db;
    const struct gy_schema *s = in->schema;
    char parent_hex[GY_SHA256_HEX_LEN + 1], state_hex[GY_SHA256_HEX_LEN + 1];
    int64_t parent = 0, version;
    json_t *parent_m = NULL, *m = NULL, *chunks = NULL, *summary = NULL;
    struct gy_profile *prof = NULL;
    struct gy_buf b;
    uint64_t total = 0;
    enum gy_status rc;

    gy_buf_init(&b, (size_t)1 << 30);
    if ((rc = latest_version(db, id, &parent, parent_hex)) != GY_OK)
        goto out;
    if (parent) {
        if ((rc = manifest_load(db, parent_hex, &parent_m)) != GY_OK)
            goto out;
        if ((rc = profile_from_manifest(db, parent_m, s, &prof)) != GY_OK)
            goto out;
        if ((rc = gy__profile_merge(prof, in->prof[0])) != GY_OK)
            goto out;
        chunks = json_deep_copy(json_object_get(parent_m, "chunks"));
        total = (uint64_t)gy_json_int(parent_m, "rows", 0);
    } else {
        chunks = json_array();
    }
    if (!chunks || !json_is_array(chunks)) {
        rc = gy_error_set(GY_E_CORRUPT, "manifest of version %lld has no chunk list",
                          (long long)parent);
        goto out;
    }
    for (size_t i = 0; i < in->ndone; i++) {
        json_t *segs, *c;
        if (in->done[i].rows == 0)
            continue; /* an empty last block */
        segs = json_array();
        for (size_t k = 0; k < s->ncols && segs; k++)
            if (json_array_append_new(segs, json_string(in->done[i].hex[k])))
                break;
        c = json_pack("{s:I, s:o}", "rows", (json_int_t)in->done[i].rows, "segments", segs);
        if (!c || json_array_append_new(chunks, c)) {
            rc = GY_E_NOMEM;
            goto out;
        }
        total += in->done[i].rows;
    }
    if ((rc = gy__profile_save(prof ? prof : in->prof[0], &b)) != GY_OK)
        goto out;
    if ((rc = put_compressed(db, &b, state_hex)) != GY_OK)
        goto out;
    if ((rc = gy__profile_summary(prof ? prof : in->prof[0], &summary)) != GY_OK)
        goto out;
    version = parent + 1;
    {
        char ts[32];
        gy_time_format(gy_time_wall_us(), ts);
        m = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:o, s:I, s:o, s:o, s:s}", "format",
                      "gyre.dataset/1", "dataset", name, "version", (json_int_t)version, "parent",
                      (json_int_t)parent, "rows", (json_int_t)total, "created", ts, "source",
                      opts->source ? opts->source : "", "schema", gy_schema_to_json(s),
                      "chunk_rows", (json_int_t)CHUNK_ROWS, "chunks", chunks, "profile", summary,
                      "profile_state", state_hex);
        summary = NULL; /* json_pack took both references, also on failure */
        chunks = NULL;
    }
    if (!m) {
        rc = GY_E_NOMEM;
        goto out;
    }
    gy_buf_reset(&b);
    if ((rc = gy_json_dump(m, &b)) != GY_OK)
        goto out;
    if ((rc = gy_db_object_put(db, b.data, b.len, res->manifest)) != GY_OK)
        goto out;
    {
        struct gy_db_param p[] = {GY_DB_P_INT(id),
                                  GY_DB_P_INT(version),
                                  parent ? GY_DB_P_INT(parent) : GY_DB_P_NULL,
                                  GY_DB_P_INT(gy_time_wall_us()),
                                  GY_DB_P_INT(total),
                                  GY_DB_P_TEXT(res->manifest),
                                  GY_DB_P_TEXT(opts->source)};
        rc = gy_db_exec(db,
                        "INSERT INTO dataset_versions (dataset_id, version, parent_version, "
                        "created_us, rows, manifest, source) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        p, GY_ARRAY_LEN(p), NULL);
        if (rc == GY_E_EXISTS)
            rc = gy_error_set(GY_E_BUSY, "another ingest created version %lld first; retry",
                              (long long)version);
    }
    res->version = version;
    res->total_rows = total;
out:
    json_decref(parent_m);
    json_decref(m);
    json_decref(summary);
    json_decref(chunks);
    gy__profile_free(prof);
    gy_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ ingest */

/* Maps reader columns to schema columns: map[k] = reader field index of schema column k. */
static enum gy_status map_columns(struct gy_reader *r, const struct gy_schema *s,
                                  const char *source, size_t *map)
{
    const char *const *names;
    size_t n;
    struct gy_buf msg;
    enum gy_status rc = gy__reader_columns(r, &names, &n);
    if (rc)
        return rc;
    gy_buf_init(&msg, 1 << 16);
    for (size_t k = 0; k < s->ncols; k++) {
        map[k] = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
            if (strcmp(names[i], s->cols[k].name) == 0)
                map[k] = i;
        if (map[k] == SIZE_MAX)
            gy_buf_printf(&msg, "%smissing column \"%s\" (%s)", msg.len ? "; " : "",
                          s->cols[k].name, gy_type_name(s->cols[k].type));
    }
    for (size_t i = 0; i < n; i++)
        if (gy_schema_find(s, names[i]) < 0)
            gy_buf_printf(&msg, "%sunexpected column \"%s\"", msg.len ? "; " : "", names[i]);
    if (msg.len) {
        struct gy_buf want;
        gy_buf_init(&want, 1 << 16);
        for (size_t k = 0; k < s->ncols; k++)
            gy_buf_printf(&want, "%s%s:%s", k ? ", " : "", s->cols[k].name,
                          gy_type_name(s->cols[k].type));
        rc = gy_error_set(GY_E_SCHEMA,
                          "%s: columns do not match the dataset schema: %s "
                          "(the dataset has: %s)",
                          source, msg.data, want.data ? want.data : "");
        gy_buf_free(&want);
    }
    gy_buf_free(&msg);
    return rc;
}

/* Spools a non-seekable input (a pipe) to a temporary file so that the schema can be
 * inferred and the data then read again. Returns the new fd. */
static enum gy_status spool(struct gy_db *db, int fd, int *out)
{
    char path[4096];
    char buf[1 << 16];
    int t;
    if (gy_snprintf(path, sizeof path, "%s/tmp/ingest.XXXXXX", gy_db_home(db)))
        return gy_error_set(GY_E_TOO_LARGE, "home path too long");
    t = mkstemp(path);
    if (t < 0)
        return gy_error_set(GY_E_IO, "%s: %s", path, strerror(errno));
    unlink(path);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        enum gy_status rc;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(t);
            return gy_error_set(GY_E_IO, "read: %s", strerror(errno));
        }
        if (n == 0)
            break;
        if ((rc = gy_fd_write_all(t, buf, (size_t)n)) != GY_OK) {
            close(t);
            return rc;
        }
    }
    if (lseek(t, 0, SEEK_SET) != 0) {
        close(t);
        return gy_error_set(GY_E_IO, "lseek: %s", strerror(errno));
    }
    *out = t;
    return GY_OK;
}

static enum gy_status begin_retry(struct gy_db *db)
{
    enum gy_status rc = GY_OK;
    for (int i = 0; i < 3; i++) {
        rc = gy_db_begin(db);
        if (rc != GY_E_BUSY)
            break;
    }
    return rc;
}

/* The sequential path: reads and converts records here, the column groups do the rest. */
static enum gy_status ingest_records(struct ingest *in, struct gy_reader *rd,
                                     const struct gy_ingest_opts *opts,
                                     struct gy_ingest_result *res)
{
    const struct gy_schema *schema = in->schema;
    size_t cur = 0;
    enum gy_status rc;

    for (size_t i = 0; i < NSLOTS; i++)
        if ((rc = slot_init(&in->slots[i], schema)) != GY_OK)
            return rc;
    for (;;) {
        const struct gy_record *rec;
        struct chunk *c = &in->slots[cur];
        size_t row = c->nrows;
        rc = gy__reader_next(rd, &rec);
        if (rc == GY_NOT_FOUND) {
            rc = GY_OK;
            break;
        }
        if (rc == GY_OK)
            rc = convert_record(in, c, row, rec);
        if (rc == GY_E_INVALID && res->skipped < opts->skip_bad_rows) {
            res->skipped++;
            if (opts->report)
                fprintf(opts->report, "skipped: %s\n", gy_error_msg());
            continue;
        }
        if (rc)
            return rc;
        c->nrows = row + 1;
        res->rows++;
        if (c->nrows == CHUNK_ROWS) {
            if ((rc = submit(in, c)) != GY_OK)
                return rc;
            cur = (cur + 1) % NSLOTS;
            if ((rc = wait_slot(in, &in->slots[cur])) != GY_OK)
                return rc;
            slot_reset(&in->slots[cur], schema->ncols);
            if (opts->progress)
                opts->progress(opts->progress_arg, res->rows, gy__reader_bytes(rd));
        }
    }
    if (in->slots[cur].nrows && (rc = submit(in, &in->slots[cur])) != GY_OK)
        return rc;
    for (size_t g = 0; g < NGROUPS; g++)
        gy_pool_wait(in->pool[g]);
    if ((rc = in->worker_rc) != GY_OK)
        return gy_error_set(rc, "%s", in->worker_err);
    res->bytes_in = gy__reader_bytes(rd);
    return GY_OK;
}

enum gy_status gy_lake_ingest(struct gy_db *db, const char *name, int fd,
                              const struct gy_ingest_opts *user_opts, struct gy_ingest_result *res)
{
    struct gy_ingest_opts opts = *user_opts;
    struct gy_schema *schema = NULL;
    struct gy_reader *rd = NULL;
    struct ingest in;
    size_t *map = NULL;
    int64_t id = 0;
    int spool_fd = -1, in_tx = 0;
    enum gy_status rc;
    struct stat st;

    const int64_t t0 = gy_time_mono_ns();
    memset(&in, 0, sizeof in);
    in.err_index = SIZE_MAX;
    memset(res, 0, sizeof *res);
    pthread_mutex_init(&in.lock, NULL);
    pthread_cond_init(&in.cond, NULL);
    if (!opts.source)
        opts.source = "<input>";
    if ((rc = check_dataset_name(name)) != GY_OK)
        goto out;

    rc = dataset_lookup(db, name, &id, &schema);
    if (rc == GY_NOT_FOUND) {
        rc = gy_lake_dataset_create(db, name, NULL, NULL);
        if (rc == GY_OK || rc == GY_E_EXISTS)
            rc = dataset_lookup(db, name, &id, &schema);
    }
    if (rc)
        goto out;
    if (!schema) {
        /* Infer from the input itself; pipes are spooled first so they can be read twice. */
        struct gy_buf report;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if ((rc = spool(db, fd, &spool_fd)) != GY_OK)
                goto out;
            fd = spool_fd;
        }
        gy_buf_init(&report, 1 << 20);
        rc = gy_lake_infer_schema(fd, &opts, 0, &schema, &report);
        if (rc == GY_OK && opts.report && report.len)
            fprintf(opts.report, "inferred schema:\n%s", report.data);
        gy_buf_free(&report);
        if (rc)
            goto out;
        if (lseek(fd, 0, SEEK_SET) != 0) {
            rc = gy_error_set(GY_E_IO, "%s: cannot rewind after inference", opts.source);
            goto out;
        }
    }
    gy_log(GY_LOG_DEBUG, "ingest: schema ready at %.3f s", (double)(gy_time_mono_ns() - t0) / 1e9);
    in.db = db;
    in.schema = schema;
    in.source = opts.source;
    {
        const char **cols = gy_calloc(schema->ncols, sizeof *cols);
        if (!cols) {
            rc = GY_E_NOMEM;
            goto out;
        }
        for (size_t k = 0; k < schema->ncols; k++)
            cols[k] = schema->cols[k].name;
        rc = gy__reader_create(fd, &opts, cols, schema->ncols, &rd);
        gy_free(cols);
        if (rc)
            goto out;
    }
    map = gy_calloc(schema->ncols, sizeof *map);
    if (!map) {
        rc = GY_E_NOMEM;
        goto out;
    }
    if ((rc = map_columns(rd, schema, opts.source, map)) != GY_OK)
        goto out;
    in.map = map;
    for (size_t i = 0; i < NPROF; i++)
        if ((rc = gy__profile_create(schema, &in.prof[i])) != GY_OK)
            goto out;
    for (size_t g = 0; g < NGROUPS; g++)
        if ((rc = gy_pool_create(1, &in.pool[g])) != GY_OK)
            goto out;
    /* Segments are flushed once, before the commit, instead of fsync pairs per segment. */
    gy_db_objects_defer_sync(db, 1);
    if (gy__reader_format(rd) == GY_FORMAT_CSV && opts.skip_bad_rows == 0 && schema->ncols > 1 &&
        gy__reader_max_line(rd) + 2 <= BLOCK_MAX / 2) {
        for (size_t w = 0; w < NBLOCKW; w++) {
            if ((rc = slot_init(&in.bw[w].chunk, schema)) != GY_OK ||
                (rc = gy__reader_create_text(rd, &in.bw[w].rd)) != GY_OK)
                goto out;
            gy_buf_init(&in.bw[w].seg, SEGMENT_MAX);
        }
        if ((rc = ingest_blocks(&in, &rd, fd, &opts, res)) != GY_OK)
            goto out;
    } else {
        if ((rc = ingest_records(&in, rd, &opts, res)) != GY_OK)
            goto out;
    }
    gy_log(GY_LOG_DEBUG, "ingest: %llu rows read and stored at %.3f s",
           (unsigned long long)res->rows, (double)(gy_time_mono_ns() - t0) / 1e9);
    /* The profile of the new rows: the chunks of both profiles, merged in a fixed order. */
    for (size_t i = 1; i < NPROF; i++)
        if ((rc = gy__profile_merge(in.prof[0], in.prof[i])) != GY_OK)
            goto out;
    gy_db_objects_defer_sync(db, 0);
    if ((rc = gy_db_objects_sync(db)) != GY_OK)
        goto out;
    gy_log(GY_LOG_DEBUG, "ingest: profiles merged, objects synced at %.3f s",
           (double)(gy_time_mono_ns() - t0) / 1e9);
    if (res->rows == 0 && res->skipped == 0 && opts.report)
        fprintf(opts.report, "%s: no rows\n", opts.source);

    /* Publish: one transaction sets the schema (first ingest) and inserts the version. */
    if ((rc = begin_retry(db)) != GY_OK)
        goto out;
    in_tx = 1;
    {
        json_t *sj = gy_schema_to_json(schema);
        struct gy_buf b;
        int64_t changes = 0;
        gy_buf_init(&b, 1 << 24);
        rc = sj ? gy_json_dump(sj, &b) : GY_E_NOMEM;
        json_decref(sj);
        if (rc == GY_OK) {
            struct gy_db_param p[] = {GY_DB_P_TEXT(b.data), GY_DB_P_INT(id)};
            rc = gy_db_exec(db,
                            "UPDATE datasets SET schema_json = $1 WHERE id = $2 AND "
                            "schema_json IS NULL",
                            p, 2, &changes);
        }
        gy_buf_free(&b);
        if (rc == GY_OK && changes == 0) {
            struct gy_schema *now = NULL;
            int64_t id2;
            rc = dataset_lookup(db, name, &id2, &now);
            if (rc == GY_OK && (!now || !gy_schema_equal(now, schema)))
                rc = gy_error_set(GY_E_SCHEMA,
                                  "dataset \"%s\" got a different schema from a concurrent "
                                  "ingest",
                                  name);
            gy_schema_free(now);
        }
    }
    if (rc == GY_OK)
        rc = commit_version(&in, name, id, &opts, res);
    if (rc == GY_OK)
        rc = gy_db_commit(db);
    if (rc == GY_OK) {
        in_tx = 0;
        gy_log(GY_LOG_DEBUG, "ingest: version %lld committed at %.3f s", (long long)res->version,
               (double)(gy_time_mono_ns() - t0) / 1e9);
    }
out:
    gy_db_objects_defer_sync(db, 0);
    if (in_tx)
        gy_db_rollback(db);
    for (size_t g = 0; g < NGROUPS; g++) {
        if (in.pool[g]) {
            gy_pool_wait(in.pool[g]);
            gy_pool_free(in.pool[g]);
        }
    }
    for (size_t i = 0; i < NSLOTS; i++)
        slot_free(&in.slots[i], schema ? schema->ncols : 0);
    for (size_t i = 0; i < in.ndone; i++)
        gy_free(in.done[i].hex);
    gy_free(in.done);
    for (size_t i = 0; i < NPROF; i++)
        gy__profile_free(in.prof[i]);
    for (size_t w = 0; w < NBLOCKW; w++) {
        slot_free(&in.bw[w].chunk, schema ? schema->ncols : 0);
        gy__reader_free(in.bw[w].rd);
        gy_buf_free(&in.bw[w].seg);
    }
    for (size_t i = 0; i < NBLOCKS; i++)
        gy_free(in.blocks[i].text);
    gy__reader_free(rd);
    gy_free(map);
    gy_schema_free(schema);
    if (spool_fd >= 0)
        close(spool_fd);
    pthread_mutex_destroy(&in.lock);
    pthread_cond_destroy(&in.cond);
    return rc;
}
