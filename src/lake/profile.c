/* SPDX-License-Identifier: MIT */
/*
 * profile.c - the dataset profile: one mergeable, deterministic accumulator per column.
 *
 * Numbers (float64, int64, timestamp) keep count, nulls, exact min/max, mean and M2 (two-pass
 * per block of rows, Chan's formula across blocks and profiles; int64 sums are exact in 128
 * bits), a deterministic KLL-style quantile sketch whose rank-error bound is known exactly from
 * its compaction counts, a histogram with exact counts on aligned power-of-two-wide bins,
 * Misra-Gries top values and a HyperLogLog distinct estimate. Booleans keep the true count;
 * strings keep byte-length statistics, top values and the distinct estimate. The state is
 * saved in a versioned little-endian binary format that load validates field by field (it is
 * fed hostile bytes by tests/fuzz/fuzz_profile.c), and summarized as JSON.
 *
 * Threading: calls on one profile are not synchronized, but gy__profile_add on different
 * columns of the same profile touches disjoint state and may run concurrently.
 * docs/internals/lake-profile.md states every bound, the merge rules and the format.
 */
#include "lake/lake_int.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------ parameters */

#define KLL_K 4096u    /* items a level >= 1 holds before it compacts (even) */
#define KLL_LEVELS 60u /* level h items weigh 2^h; 2^64 rows need fewer than 54 levels */
#define KLL_JUMP 6     /* a level-0 compaction promotes every 2^KLL_JUMP-th value ... */
#define KLL_STEP (1u << KLL_JUMP)
#define KLL_B0 65536u   /* ... of KLL_B0 raw values (a multiple of KLL_STEP; one chunk) */
#define KLL_B0_V1 4096u /* level-0 capacity of format 1 (which compacted it like the others) */
#define KLL_SHAPE (KLL_JUMP << 8 | 16) /* the header's record of KLL_JUMP and log2(KLL_B0) */
#define SEL_SMALL 32u                  /* selection insertion-sorts buckets up to this size */
#define SEL_BITS 15      /* 2^15 buckets for a level-0 compaction: 2 values a bucket */
#define SEL_BITS_INNER 9 /* ... and at most 2^9 in a recursive pass over one crowded bucket */
#define HIST_BINS 64
#define HIST_EMIN_F64 (-1074) /* narrowest float64 bin: 2^-1074 */
#define HIST_EMAX 1100        /* guard only: every finite range fits by 2^1020 */
#define MG_CAP 256u          /* Misra-Gries capacity: at most MG_CAP counters survive a reduction */
#define MG_MAX (4u * MG_CAP) /* counters kept between reductions */
#define MG_ENTRIES (2u * MG_MAX) /* room while two tables are merged */
#define MG_SLOTS 4096u           /* open-addressing index, a power of two > MG_ENTRIES */
#define MG_STR_MAX 256u          /* bytes of a string value kept in the table */
#define MG_OFF_MARK 0xFFFFu      /* saved table size of a float64 table that stopped */
#define HLL_P 12
#define HLL_M (1u << HLL_P)
#define HLL_RMAX (64 - HLL_P + 1) /* register values are 0..53 */
#define TOP_N 20
#define MSD_SMALL 16u /* radix buckets up to this size are insertion-sorted */
#define BLK 4096u     /* rows per inner block: bounds the scratch memory */
_Static_assert(KLL_B0 == 1u << 16, "KLL_SHAPE records log2(KLL_B0) = 16");
_Static_assert(KLL_B0 % BLK == 0 && KLL_B0 % KLL_STEP == 0, "level 0 takes whole blocks, groups");
_Static_assert(KLL_B0 - 1 <= 0xFFFF && SEL_BITS <= 16, "u16 level sizes and bucket numbers");
#define HASH_SEED 0x67797265706b6c6cULL
#define TRUNC_MARK 0x7472756e63617465ULL /* xored into the hash of a truncated string */
#define FORMAT_VERSION 2 /* 1: level 0 of KLL_B0_V1 values compacted like the others */
#define MAX_COUNT ((uint64_t)INT64_MAX)

/* ------------------------------------------------------------------ state */

struct kll_level {
    uint64_t *items; /* order-preserving keys; sorted for levels >= 1 */
    uint32_t n, cap;
    uint64_t ncompact; /* compactions of this level so far (merged ones included) */
    uint8_t toggle;    /* parity kept by the next compaction */
};

struct kll {
    uint32_t nlevels;
    uint64_t nc0_v1;   /* level-0 compactions of format 1 (bound 1 each, not 2^(KLL_JUMP-1)) */
    uint8_t f64;       /* the keys are float64 keys (not saved: the column type says it) */
    uint64_t lo0, hi0; /* a key range holding every level-0 item (not saved) */
    struct kll_level lv[KLL_LEVELS];
};

/* Bins [ (m0 + i) * 2^e, (m0 + i + 1) * 2^e ), i < nb; bin 0 holds the minimum, bin nb-1 the
 * maximum (both non-empty), so the state is a function of the values alone. */
struct hist {
    int32_t e;
    uint32_t nb;
    int64_t m0;
    uint64_t c[HIST_BINS];
};

struct mg_entry {
    uint64_t key; /* numbers: the value's bits; strings: offset of the bytes in the pool */
    uint64_t hash;
    uint64_t count;
    uint16_t len; /* strings: stored bytes */
    uint8_t trunc;
};

struct mg {
    uint32_t n;
    uint8_t off;  /* float64 only: more than MG_MAX distinct values, no longer tracked */
    uint64_t dec; /* total subtracted by reductions: every count is low by at most dec */
    struct mg_entry *e;
    uint16_t *slot; /* entry index + 1, 0 = empty */
    char *pool;     /* string bytes, in entry order */
    size_t pool_len, pool_cap;
};

struct col {
    enum gy_type type;
    uint64_t count; /* non-null values */
    uint64_t nulls;
    uint64_t nfin; /* values in the sketches: finite float64s; all values otherwise */
    uint64_t pos_inf, neg_inf;
    double fmin, fmax, mean, m2; /* mean is float64 only; ints derive it from isum */
    int64_t imin, imax;
    __int128 isum;
    uint64_t ntrue;
    uint64_t len_min, len_max, len_sum;
    struct hist hist;
    struct kll kll;
    struct mg mg;
    uint8_t *hll; /* HLL_M registers, NULL while empty */
};

struct gy_profile {
    struct gy_schema *schema;
    struct col *cols;
    int version; /* the format it was loaded from (1 or FORMAT_VERSION) ... */
    int changed; /* ... and whether rows were added or merged since: then it saves as current */
};

static const struct {
    const char *name;
    double q;
} quantile_points[] = {
    {"p0", 0.0},  {"p1", 0.01}, {"p5", 0.05},  {"p10", 0.1},  {"p20", 0.2},  {"p25", 0.25},
    {"p30", 0.3}, {"p40", 0.4}, {"p50", 0.5},  {"p60", 0.6},  {"p70", 0.7},  {"p75", 0.75},
    {"p80", 0.8}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p100", 1.0},
};

static int is_int_type(enum gy_type t)
{
    return t == GY_TYPE_INT64 || t == GY_TYPE_TIMESTAMP;
}

static int type_known(enum gy_type t)
{
    return t == GY_TYPE_FLOAT64 || t == GY_TYPE_INT64 || t == GY_TYPE_BOOL || t == GY_TYPE_STRING ||
           t == GY_TYPE_TIMESTAMP;
}

/* ------------------------------------------------------------------ small helpers */

static inline uint64_t f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double bits_f64(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Order-preserving maps to unsigned keys (no NaN reaches them). */
static inline uint64_t f64_key(double x)
{
    uint64_t u = f64_bits(x);
    return (u >> 63) ? ~u : u | (1ULL << 63);
}

static inline double key_f64(uint64_t k)
{
    return bits_f64((k >> 63) ? k & ~(1ULL << 63) : ~k);
}

static inline uint64_t i64_key(int64_t v)
{
    return (uint64_t)v ^ (1ULL << 63);
}

static inline int64_t key_i64(uint64_t k)
{
    return (int64_t)(k ^ (1ULL << 63));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/*
 * The hash of a number's 64-bit pattern: a multiply by an odd constant and the splitmix64
 * finalizer (the mixing of gy_mix64), inline because it runs once per value; gy_hash64 on
 * 8 bytes costs two out-of-line calls. Strings use gy_hash64.
 */
static inline uint64_t hash_u64(uint64_t x)
{
    x = x * 0x9e3779b97f4a7c15ULL + HASH_SEED;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* floor(v / 2^s) for any shift. */
static inline int64_t shr_floor(int64_t v, int s)
{
    if (s >= 64)
        return v < 0 ? -1 : 0;
    return v >= 0 ? v >> s : ~(~v >> s);
}

/* floor(x) for |x| < 2^62. */
static inline int64_t floor_i64(double x)
{
    int64_t t = (int64_t)x;
    return (double)t > x ? t - 1 : t;
}

/* The bin index of x at width 2^e: floor(x * 2^-e), with |x| * 2^-e < 2^52 guaranteed. */
static int64_t fbin(double x, int e)
{
    int64_t m = floor_i64(ldexp(x, -e));
    if (m == 0 && x < 0) /* the scaled value underflowed to -0 */
        m = -1;
    return m;
}

/* ------------------------------------------------------------------ sorting */

static void insertion_sort(uint64_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > x) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/*
 * One most-significant-digit radix pass: keys are spread over up to 2^11 buckets that split
 * [min, max] evenly (fewer buckets for small inputs). Afterwards every key is in its final
 * bucket; buckets of more than MSD_SMALL keys are sorted recursively (each level divides the
 * range by at least 2^4, so the recursion is at most 16 deep; equal keys end it at once) and
 * smaller ones are insertion-sorted at once, while they are in cache.
 */
static void msd_pass(uint64_t *a, uint64_t *tmp, size_t n)
{
    uint32_t c[1u << 11];
    uint64_t lo = a[0], hi = a[0];

    if (n <= MSD_SMALL) {
        insertion_sort(a, n);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        lo = a[i] < lo ? a[i] : lo;
        hi = a[i] > hi ? a[i] : hi;
    }
    if (lo == hi)
        return;
    int span = 64 - __builtin_clzll(hi - lo);     /* bits of the range */
    int bits = 63 - __builtin_clzll((uint64_t)n); /* floor(log2 n) >= 4 */
    bits = GY_MIN(bits, 11);
    bits = GY_MIN(bits, span);
    int sh = span - bits;
    uint32_t nb = (uint32_t)((hi - lo) >> sh) + 1;
    memset(c, 0, nb * sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[(a[i] - lo) >> sh]++;
    uint32_t off = 0;
    for (uint32_t v = 0; v < nb; v++) {
        uint32_t t = c[v];
        c[v] = off;
        off += t;
    }
    for (size_t i = 0; i < n; i++)
        tmp[c[(a[i] - lo) >> sh]++] = a[i];
    memcpy(a, tmp, n * sizeof *a);
    uint32_t start = 0;
    for (uint32_t v = 0; v < nb; v++) {
        uint32_t end = c[v];
        if (end - start > MSD_SMALL)
            msd_pass(a + start, tmp + start, end - start);
        else if (end - start > 1)
            insertion_sort(a + start, end - start);
        start = end;
    }
}

/* Sorts @p n keys ascending (@p tmp: room for n keys). About 2x faster than an 8-pass LSD
 * radix sort on the 4096-key buffers the quantile sketch sorts. */
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
    if (n > 0)
        msd_pass(a, tmp, n);
}

/* ------------------------------------------------------------------ scratch */

/*
 * Per-thread scratch for adding and merging (columns of one profile may be added from
 * several threads at once, so it cannot live in the profile). Allocated on first use, freed
 * when the thread exits.
 */
struct scratch {
    uint64_t *keys;  /* KLL_B0 keys of one piece of a batch */
    uint64_t *tmp;   /* KLL_B0 + 1: the gathered buckets of a level-0 compaction (+ a sink) */
    uint16_t *bk;    /* KLL_B0: the bucket of each key */
    uint32_t *pos;   /* 2^SEL_BITS + 1: bucket counts, then gather positions */
    uint64_t *out;   /* KLL_B0 / KLL_STEP promoted keys */
    struct tbucket { /* the buckets holding a target rank */
        uint32_t start, n, at; /* first rank, size, offset in tmp */
    } * tb;
    double *dense; /* BLK finite values of one block */
    uint64_t *hs;  /* BLK hashes */
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_free(void *p)
{
    struct scratch *sc = p;
    if (!sc)
        return;
    gy_free(sc->keys);
    gy_free(sc->tmp);
    gy_free(sc->bk);
    gy_free(sc->pos);
    gy_free(sc->out);
    gy_free(sc->tb);
    gy_free(sc->dense);
    gy_free(sc->hs);
    gy_free(sc);
}

static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* The calling thread's scratch, NULL (error text set) when it cannot be had. */
static struct scratch *scratch_get(void)
{
    struct scratch *sc;
    pthread_once(&scratch_once, scratch_key_init);
    if (!scratch_key_ok) {
        gy_error_set(GY_E_INTERNAL, "profile: no thread-specific key");
        return NULL;
    }
    sc = pthread_getspecific(scratch_key);
    if (sc)
        return sc;
    sc = gy_calloc(1, sizeof *sc);
    if (sc) {
        sc->keys = gy_malloc(KLL_B0 * sizeof *sc->keys);
        sc->tmp = gy_malloc((KLL_B0 + 1) * sizeof *sc->tmp);
        sc->bk = gy_malloc(KLL_B0 * sizeof *sc->bk);
        sc->pos = gy_malloc(((1u << SEL_BITS) + 1) * sizeof *sc->pos);
        sc->out = gy_malloc(KLL_B0 / KLL_STEP * sizeof *sc->out);
        sc->tb = gy_malloc(KLL_B0 / KLL_STEP * sizeof *sc->tb);
        sc->dense = gy_malloc(BLK * sizeof *sc->dense);
        sc->hs = gy_malloc(BLK * sizeof *sc->hs);
    }
    if (!sc || !sc->keys || !sc->tmp || !sc->bk || !sc->pos || !sc->out || !sc->tb || !sc->dense ||
        !sc->hs || pthread_setspecific(scratch_key, sc) != 0) {
        scratch_free(sc);
        gy_error_set(GY_E_NOMEM, "profile: out of memory");
        return NULL;
    }
    return sc;
}

/* ------------------------------------------------------------------ level-0 selection */

/* The smallest and largest of n > 0 keys. */
static void key_range(const uint64_t *a, size_t n, uint64_t *lo, uint64_t *hi)
{
    uint64_t l = a[0], h = a[0];
    for (size_t i = 1; i < n; i++) {
        l = a[i] < l ? a[i] : l;
        h = a[i] > h ? a[i] : h;
    }
    *lo = l;
    *hi = h;
}

/* Insertion sort, with the pair that makes up many small buckets done without a loop. */
static inline void sort_small(uint64_t *a, size_t n)
{
    if (n == 2) {
        uint64_t x = a[0], y = a[1];
        a[0] = x < y ? x : y;
        a[1] = x < y ? y : x;
    } else if (n > 2) {
        insertion_sort(a, n);
    }
}

/*
 * Puts, for every i in [0, n) with (base + i) % KLL_STEP == t, the i-th smallest of the n keys
 * a[0..n) (all in [lo, hi]) at a[i]; the other positions keep the right keys between those.
 * One most-significant-digit radix pass spreads the keys over up to 2^bits buckets of equal
 * key width (into tmp, then back); only a bucket that holds a target rank is ordered:
 * insertion-sorted when it has at most SEL_SMALL keys, otherwise selected recursively (its
 * keys span a range 2^bits times narrower, and a bucket of equal keys ends at once).
 */
static void select_ranks(uint64_t *a, uint64_t *tmp, size_t n, size_t base, unsigned t, uint64_t lo,
                         uint64_t hi, int bits)
{
    uint32_t c[(1u << SEL_BITS_INNER) + 1];
    if (n <= SEL_SMALL) {
        sort_small(a, n);
        return;
    }
    if (lo == hi)
        return;
    int span = 64 - __builtin_clzll(hi - lo);
    bits = GY_MIN(bits, SEL_BITS_INNER);
    bits = GY_MIN(bits, 63 - __builtin_clzll((uint64_t)n) - 1); /* about 2 keys a bucket */
    bits = GY_MIN(bits, span);
    int sh = span - bits;
    uint32_t nb = (uint32_t)((hi - lo) >> sh) + 1;
    memset(c, 0, nb * sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[(a[i] - lo) >> sh]++;
    uint32_t off = 0;
    for (uint32_t v = 0; v < nb; v++) {
        uint32_t x = c[v];
        c[v] = off;
        off += x;
    }
    for (size_t i = 0; i < n; i++)
        tmp[c[(a[i] - lo) >> sh]++] = a[i];
    memcpy(a, tmp, n * sizeof *a);                          /* c[v] is now the end of bucket v */
    size_t r = (t + KLL_STEP - base % KLL_STEP) % KLL_STEP; /* the first target */
    uint32_t v = 0, start = 0;
    while (r < n) {
        while (c[v] <= r)
            start = c[v++];
        uint32_t end = c[v];
        if (end - start > SEL_SMALL) {
            uint64_t blo, bhi;
            key_range(a + start, end - start, &blo, &bhi);
            select_ranks(a + start, tmp + start, end - start, base + start, t, blo, bhi, bits);
        } else {
            sort_small(a + start, end - start);
        }
        while (r < end)
            r += KLL_STEP;
        start = end;
        v++;
    }
}

/*
 * A level-0 compaction's selection: the keys of ranks t, t + KLL_STEP, ... of the n keys
 * a[0..n) (n a multiple of KLL_STEP, every key in [lo, hi]), ascending, into sc->out. a is
 * clobbered (it serves as scratch).
 *
 * The keys are spread over 2^SEL_BITS buckets that follow key order: of equal *value* width
 * for float64 keys whose range allows it (keys are close to logarithmic in the value, and
 * bell-shaped data would crowd a few buckets of equal key width; (x - xlo) * scale only grows
 * with x), of equal key width otherwise. Only the buckets that hold a target rank matter:
 * their keys are gathered (everything else goes to a sink slot), then each is ordered -
 * insertion-sorted when small, selected recursively when large - and its targets read off.
 */
static void select_level0(uint64_t *a, size_t n, unsigned t, uint64_t lo, uint64_t hi, int f64,
                          struct scratch *sc)
{
    const uint32_t nb = 1u << SEL_BITS;
    uint32_t *pos = sc->pos;
    uint16_t *bk = sc->bk;
    uint64_t *tmp = sc->tmp;
    size_t ntb = 0, nout = 0;
    double xlo = 0, scale = 0;
    int sh = 0;

    if (f64) {
        double w = key_f64(hi) - key_f64(lo);
        xlo = key_f64(lo);
        scale = (double)nb / w;
        f64 = lo != hi && w <= DBL_MAX && scale <= DBL_MAX;
    }
    if (!f64 && lo != hi) {
        int span = 64 - __builtin_clzll(hi - lo);
        sh = span > SEL_BITS ? span - SEL_BITS : 0;
    }
    memset(pos, 0, (nb + 1) * sizeof *pos);
    if (f64) {
        for (size_t i = 0; i < n; i++) {
            uint32_t b = (uint32_t)((key_f64(a[i]) - xlo) * scale);
            b = b < nb ? b : nb - 1;
            bk[i] = (uint16_t)b;
            pos[b]++;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t b = (uint32_t)((a[i] - lo) >> sh);
            bk[i] = (uint16_t)b;
            pos[b]++;
        }
    }
    /* The buckets holding targets get consecutive room in tmp; the others the sink. */
    {
        uint32_t start = 0, at = 0;
        size_t r = t;
        for (uint32_t v = 0; v < nb; v++) {
            uint32_t cnt = pos[v];
            if (r < (size_t)start + cnt) {
                sc->tb[ntb++] = (struct tbucket){start, cnt, at};
                pos[v] = at;
                at += cnt;
                while (r < (size_t)start + cnt)
                    r += KLL_STEP;
            } else {
                pos[v] = (uint32_t)KLL_B0; /* the sink */
            }
            start += cnt;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t o = pos[bk[i]];
        tmp[o] = a[i];
        pos[bk[i]] = o + (o < KLL_B0);
    }
    for (size_t j = 0; j < ntb; j++) {
        const struct tbucket *q = &sc->tb[j];
        uint64_t *g = tmp + q->at;
        if (q->n > SEL_SMALL) {
            uint64_t blo, bhi;
            key_range(g, q->n, &blo, &bhi);
            select_ranks(g, a, q->n, q->start, t, blo, bhi, SEL_BITS_INNER);
        } else {
            sort_small(g, q->n);
        }
        size_t r = q->start + (t + KLL_STEP - q->start % KLL_STEP) % KLL_STEP;
        for (; r < (size_t)q->start + q->n; r += KLL_STEP)
            sc->out[nout++] = g[r - q->start];
    }
    GY_ASSERT(nout == n / KLL_STEP);
}

/* ------------------------------------------------------------------ KLL quantile sketch */

/*
 * Level h >= 1 holds sorted items of weight 2^h and is compacted when it reaches KLL_K items:
 * one item left behind when the count is odd (the largest), and of the rest every other item
 * - starting at the level's toggle, which then flips - moves up with double weight. For any
 * x, that changes the weighted count of items <= x by 0 or 2^h.
 *
 * Level 0 takes raw values, KLL_B0 at a time (a whole chunk column is taken as it comes,
 * without copying; shorter batches wait in level 0). Its compaction promotes the values of
 * sorted ranks t, t + 64, t + 128, ... (t = 31 + toggle, which then flips) straight to level
 * 6 with weight 64, without sorting the rest (select_level0). For any x with r of the values
 * <= x, the promoted weight <= x is 64 * ceil((r - t) / 64) (0 when r <= t), within
 * max(t, 63 - t) = 32 of r. So the estimated rank of every value is within
 *     E = 32 * ncompact_0 + sum_{h >= 1} ncompact_h * 2^h
 * of its true rank: a deterministic bound.
 */

/* Room for @p need items. Level 0 grows up to KLL_B0; higher levels hold under KLL_K between
 * compactions plus what one compaction below promotes (more only while merging). */
static enum gy_status kll_reserve(struct kll_level *l, uint32_t h, uint32_t need)
{
    if (need <= l->cap)
        return GY_OK;
    uint32_t cap;
    if (h == 0)
        for (cap = l->cap ? l->cap : 1024; cap < need; cap *= 2)
            ;
    else
        cap = GY_MAX(need, KLL_K + KLL_B0 / KLL_STEP);
    uint64_t *p = gy_realloc(l->items, (size_t)cap * sizeof *p);
    if (!p)
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    l->items = p;
    l->cap = cap;
    return GY_OK;
}

/* Merges @p half keys src[p], src[p + 2], ... (sorted) into sorted level @p u (level h). */
static enum gy_status kll_merge_strided(struct kll_level *u, uint32_t h, const uint64_t *src,
                                        uint32_t half, uint32_t stride)
{
    enum gy_status rc = kll_reserve(u, h, u->n + half);
    if (rc)
        return rc;
    uint32_t i = u->n, j = half, out = u->n + half;
    uint64_t *it = u->items;
    while (j > 0 && i > 0) { /* branchless: the comparison is unpredictable */
        uint64_t x = src[(size_t)(j - 1) * stride], y = it[i - 1];
        uint32_t take_u = y > x;
        it[--out] = take_u ? y : x;
        i -= take_u;
        j -= take_u ^ 1;
    }
    while (j > 0)
        it[--out] = src[(size_t)(--j) * stride];
    u->n += half;
    return GY_OK;
}

static enum gy_status kll_grow_levels(struct kll *k, uint32_t h)
{
    if (GY_NEVER(h >= KLL_LEVELS))
        return gy_error_set(GY_E_INTERNAL, "profile: quantile sketch level overflow");
    if (h + 1 > k->nlevels)
        k->nlevels = h + 1;
    return GY_OK;
}

/* A level-0 compaction of the KLL_B0 keys a[] (all in [lo, hi]; a is clobbered). */
static enum gy_status kll_compact0(struct kll *k, uint64_t *a, uint64_t lo, uint64_t hi,
                                   struct scratch *sc)
{
    struct kll_level *l = &k->lv[0];
    enum gy_status rc;
    if ((rc = kll_grow_levels(k, KLL_JUMP)) != GY_OK)
        return rc;
    select_level0(a, KLL_B0, KLL_STEP / 2 - 1 + l->toggle, lo, hi, k->f64, sc);
    if ((rc = kll_merge_strided(&k->lv[KLL_JUMP], KLL_JUMP, sc->out, KLL_B0 / KLL_STEP, 1)) !=
        GY_OK)
        return rc;
    l->toggle ^= 1;
    l->ncompact++;
    return GY_OK;
}

/* Level h >= 1: every other item moves up (see above). */
static enum gy_status kll_compact(struct kll *k, uint32_t h)
{
    struct kll_level *l = &k->lv[h];
    enum gy_status rc = kll_grow_levels(k, h + 1);
    if (rc)
        return rc;
    struct kll_level *u = &k->lv[h + 1];
    uint32_t s = l->n, m = s & ~1u;
    rc = kll_merge_strided(u, h + 1, l->items + l->toggle, m / 2, 2);
    if (rc)
        return rc;
    l->toggle ^= 1;
    l->ncompact++;
    if (s & 1) {
        l->items[0] = l->items[m];
        l->n = 1;
    } else {
        l->n = 0;
    }
    return GY_OK;
}

/* Compacts every level >= max(from, 1) that is full, bottom up. */
static enum gy_status kll_settle(struct kll *k, uint32_t from)
{
    for (uint32_t h = GY_MAX(from, 1u); h < k->nlevels; h++) {
        while (k->lv[h].n >= KLL_K) {
            enum gy_status rc = kll_compact(k, h);
            if (rc)
                return rc;
        }
    }
    return GY_OK;
}

/*
 * Feeds n keys (all in [lo, hi]) to level 0, compacting every KLL_B0. When level 0 is empty,
 * whole runs of KLL_B0 keys are compacted where they are: @p keys must then be writable
 * (@p mine; the caller's scratch), else they are copied into level 0 first.
 */
static enum gy_status kll_feed(struct kll *k, uint64_t *keys, size_t n, uint64_t lo, uint64_t hi,
                               int mine, struct scratch *sc)
{
    struct kll_level *l0 = &k->lv[0];
    enum gy_status rc;
    size_t done = 0;

    if (n == 0)
        return GY_OK;
    if (k->nlevels == 0)
        k->nlevels = 1;
    while (done < n) {
        if (mine && l0->n == 0 && n - done >= KLL_B0) {
            if ((rc = kll_compact0(k, keys + done, lo, hi, sc)) != GY_OK)
                return rc;
            done += KLL_B0;
        } else {
            size_t take = GY_MIN((size_t)(KLL_B0 - l0->n), n - done);
            if ((rc = kll_reserve(l0, 0, l0->n + (uint32_t)take)) != GY_OK)
                return rc;
            memcpy(l0->items + l0->n, keys + done, take * sizeof *keys);
            /* A range holding every level-0 key (it may be wider: it only guides buckets). */
            k->lo0 = l0->n == 0 || lo < k->lo0 ? lo : k->lo0;
            k->hi0 = l0->n == 0 || hi > k->hi0 ? hi : k->hi0;
            l0->n += (uint32_t)take;
            done += take;
            if (l0->n == KLL_B0) {
                if ((rc = kll_compact0(k, l0->items, k->lo0, k->hi0, sc)) != GY_OK)
                    return rc;
                l0->n = 0;
            }
        }
        if ((rc = kll_settle(k, 1)) != GY_OK)
            return rc;
    }
    return GY_OK;
}

static void kll_clear(struct kll *k)
{
    uint8_t f64 = k->f64;
    for (uint32_t h = 0; h < KLL_LEVELS; h++)
        gy_free(k->lv[h].items);
    memset(k, 0, sizeof *k);
    k->f64 = f64;
}

static enum gy_status kll_copy(struct kll *dst, const struct kll *src)
{
    memset(dst, 0, sizeof *dst);
    dst->nlevels = src->nlevels;
    dst->nc0_v1 = src->nc0_v1;
    dst->f64 = src->f64;
    dst->lo0 = src->lo0;
    dst->hi0 = src->hi0;
    for (uint32_t h = 0; h < src->nlevels; h++) {
        const struct kll_level *s = &src->lv[h];
        struct kll_level *d = &dst->lv[h];
        d->ncompact = s->ncompact;
        d->toggle = s->toggle;
        if (s->n) {
            enum gy_status rc = kll_reserve(d, h, s->n);
            if (rc) {
                kll_clear(dst);
                return rc;
            }
            memcpy(d->items, s->items, (size_t)s->n * sizeof *d->items);
            d->n = s->n;
        }
    }
    return GY_OK;
}

/* *out = dst + src as a new sketch (dst and src unchanged). */
static enum gy_status kll_merged(const struct kll *dst, const struct kll *src, struct kll *out)
{
    struct scratch *sc = scratch_get();
    if (!sc)
        return GY_E_NOMEM;
    enum gy_status rc = kll_copy(out, dst);
    if (rc)
        return rc;
    out->nc0_v1 += src->nc0_v1;
    if (src->nlevels > 0)
        rc = kll_feed(out, src->lv[0].items, src->lv[0].n, src->lo0, src->hi0, 0, sc);
    for (uint32_t h = 0; h < src->nlevels && rc == GY_OK; h++) {
        const struct kll_level *s = &src->lv[h];
        if (h >= out->nlevels)
            out->nlevels = h + 1;
        out->lv[h].ncompact += s->ncompact;
        out->lv[h].toggle ^= s->toggle; /* merging into an empty sketch copies it exactly */
        if (h > 0 && s->n)
            rc = kll_merge_strided(&out->lv[h], h, s->items, s->n, 1);
        if (rc == GY_OK)
            rc = kll_settle(out, h);
    }
    if (rc)
        kll_clear(out);
    return rc;
}

/* Rank-error bound E (in values): see above. */
static double kll_error(const struct kll *k)
{
    double e = (double)k->nc0_v1;
    for (uint32_t h = 0; h < k->nlevels; h++)
        e += ldexp((double)k->lv[h].ncompact, h == 0 ? KLL_JUMP - 1 : (int)h);
    return e;
}

static int kll_exact(const struct kll *k)
{
    if (k->nc0_v1)
        return 0;
    for (uint32_t h = 0; h < k->nlevels; h++)
        if (k->lv[h].ncompact)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ histogram */

/* Smallest exponent the precision rule allows for float64 values up to |a|: bin indices stay
 * below 2^52 in magnitude, so they are exact in a double. */
static int hist_eprec(double lo, double hi)
{
    double a = GY_MAX(fabs(lo), fabs(hi));
    int e = a > 0 ? ilogb(a) - 51 : HIST_EMIN_F64;
    return GY_MAX(e, HIST_EMIN_F64);
}

/* Bin of a value at exponent e, for either kind (x used for float64, v for integers). */
static int64_t bin_of(int is_f, double x, int64_t v, int e)
{
    return is_f ? fbin(x, e) : shr_floor(v, e);
}

/* The exponent and origin of a histogram covering exactly the values in [lo, hi] (same for
 * every set of values with these extremes). */
static void hist_shape(int is_f, double flo, double fhi, int64_t ilo, int64_t ihi, int *e_out,
                       int64_t *m0_out, uint32_t *nb_out)
{
    int e = is_f ? hist_eprec(flo, fhi) : 0;
    for (;; e++) {
        int64_t a = bin_of(is_f, flo, ilo, e), b = bin_of(is_f, fhi, ihi, e);
        if ((uint64_t)b - (uint64_t)a < HIST_BINS || GY_NEVER(e >= HIST_EMAX)) {
            *e_out = e;
            *m0_out = a;
            *nb_out = (uint32_t)((uint64_t)b - (uint64_t)a + 1);
            return;
        }
    }
}

/* Re-bins @p h at exponent @p e >= h->e with origin @p m0 and @p nb bins. */
static void hist_rebin(struct hist *h, int e, int64_t m0, uint32_t nb)
{
    uint64_t c[HIST_BINS];
    memset(c, 0, sizeof c);
    for (uint32_t i = 0; i < h->nb; i++) {
        if (!h->c[i])
            continue;
        int64_t j = shr_floor(h->m0 + (int64_t)i, e - h->e) - m0;
        if (GY_ALWAYS(j >= 0 && j < (int64_t)nb))
            c[j] += h->c[i];
    }
    memcpy(h->c, c, sizeof c);
    h->e = e;
    h->m0 = m0;
    h->nb = nb;
}

/* Widens @p h (empty or not) until it covers the values [lo, hi] too: the narrowest width
 * that holds everything seen, the same whatever order the values came in. */
static void hist_cover(struct hist *h, enum gy_type t, double flo, double fhi, int64_t ilo,
                       int64_t ihi)
{
    int is_f = t == GY_TYPE_FLOAT64;
    if (h->nb == 0) {
        int e;
        int64_t m0;
        uint32_t nb;
        hist_shape(is_f, flo, fhi, ilo, ihi, &e, &m0, &nb);
        memset(h, 0, sizeof *h);
        h->e = e;
        h->m0 = m0;
        h->nb = nb;
        return;
    }
    int e = h->e;
    if (is_f)
        e = GY_MAX(e, hist_eprec(flo, fhi));
    for (;; e++) {
        int64_t a0 = shr_floor(h->m0, e - h->e);
        int64_t a1 = shr_floor(h->m0 + (int64_t)h->nb - 1, e - h->e);
        int64_t b0 = bin_of(is_f, flo, ilo, e), b1 = bin_of(is_f, fhi, ihi, e);
        int64_t lo = GY_MIN(a0, b0), hi = GY_MAX(a1, b1);
        if ((uint64_t)hi - (uint64_t)lo < HIST_BINS || GY_NEVER(e >= HIST_EMAX)) {
            if (e != h->e || lo != h->m0 || (uint32_t)(hi - lo + 1) != h->nb)
                hist_rebin(h, e, lo, (uint32_t)((uint64_t)hi - (uint64_t)lo + 1));
            return;
        }
    }
}

static void hist_add_f64(struct hist *h, const double *d, size_t n, double lo, double hi)
{
    hist_cover(h, GY_TYPE_FLOAT64, lo, hi, 0, 0);
    const int e = h->e;
    const int64_t m0 = h->m0;
    uint64_t *c = h->c;
    if (e >= -1022) {
        const double inv = ldexp(1.0, -e); /* exact: x * inv == ldexp(x, -e) */
        uint64_t c4[4][HIST_BINS];         /* four counter sets: a run in one bin is no chain */
        size_t i = 0;
        memset(c4, 0, sizeof c4);
        for (; i < n; i++) {
            double y = d[i] * inv;
            int64_t t = (int64_t)y;
            /* floor; a negative value whose scaled form underflowed to -0 is in bin -1 */
            t -= ((double)t > y) | ((t == 0) & (d[i] < 0));
            c4[i & 3][t - m0]++;
        }
        for (uint32_t b = 0; b < h->nb; b++)
            c[b] += c4[0][b] + c4[1][b] + c4[2][b] + c4[3][b];
    } else {
        for (size_t i = 0; i < n; i++)
            c[fbin(d[i], e) - m0]++;
    }
}

static void hist_add_i64(struct hist *h, const int64_t *d, size_t n, int64_t lo, int64_t hi)
{
    hist_cover(h, GY_TYPE_INT64, 0, 0, lo, hi);
    const int e = h->e;
    const int64_t m0 = h->m0;
    uint64_t *c = h->c;
    for (size_t i = 0; i < n; i++)
        c[shr_floor(d[i], e) - m0]++;
}

/* dst += src: both coarsened to the width that covers both, then added. */
static void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->nb == 0)
        return;
    if (dst->nb == 0) {
        *dst = *src;
        return;
    }
    int e = GY_MAX(dst->e, src->e);
    for (;; e++) {
        int64_t a0 = shr_floor(dst->m0, e - dst->e);
        int64_t a1 = shr_floor(dst->m0 + (int64_t)dst->nb - 1, e - dst->e);
        int64_t b0 = shr_floor(src->m0, e - src->e);
        int64_t b1 = shr_floor(src->m0 + (int64_t)src->nb - 1, e - src->e);
        int64_t lo = GY_MIN(a0, b0), hi = GY_MAX(a1, b1);
        if ((uint64_t)hi - (uint64_t)lo < HIST_BINS || GY_NEVER(e >= HIST_EMAX)) {
            uint32_t nb = (uint32_t)((uint64_t)hi - (uint64_t)lo + 1);
            struct hist s = *src;
            hist_rebin(dst, e, lo, nb);
            hist_rebin(&s, e, lo, nb);
            for (uint32_t i = 0; i < nb; i++)
                dst->c[i] += s.c[i];
            return;
        }
    }
}

/* ------------------------------------------------------------------ Misra-Gries top values */

/*
 * Counters for up to MG_MAX distinct values. A new value arriving at a full table, or a merge
 * that leaves more than MG_MAX counters, triggers a reduction: the (MG_CAP+1)-th largest count
 * d is subtracted from every counter and those that reach zero are dropped (at most MG_CAP
 * survive), dec += d. Every count is then low by at most dec <= n / (MG_CAP + 1). While dec is
 * 0 the table holds every distinct value with its exact count.
 */

static enum gy_status mg_init(struct mg *g)
{
    if (g->e)
        return GY_OK;
    g->e = gy_calloc(MG_ENTRIES + 1, sizeof *g->e);
    g->slot = gy_calloc(MG_SLOTS, sizeof *g->slot);
    if (!g->e || !g->slot) {
        gy_free(g->e);
        gy_free(g->slot);
        g->e = NULL;
        g->slot = NULL;
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    }
    return GY_OK;
}

static void mg_clear(struct mg *g)
{
    gy_free(g->e);
    gy_free(g->slot);
    gy_free(g->pool);
    memset(g, 0, sizeof *g);
}

/* The stored bytes of a string entry (the pool may be NULL while every string is empty). */
static const char *mg_str(const struct mg *g, const struct mg_entry *e)
{
    return e->len ? g->pool + e->key : "";
}

static void mg_reindex(struct mg *g)
{
    memset(g->slot, 0, MG_SLOTS * sizeof *g->slot);
    for (uint32_t i = 0; i < g->n; i++) {
        uint32_t s = (uint32_t)g->e[i].hash & (MG_SLOTS - 1);
        while (g->slot[s])
            s = (s + 1) & (MG_SLOTS - 1);
        g->slot[s] = (uint16_t)(i + 1);
    }
}

/* The k-th smallest of a[0..n) (0-based); reorders a. Deterministic quickselect (Hoare
 * partition around the middle element). */
static uint64_t select_kth(uint64_t *a, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (lo < hi) {
        uint64_t pivot = a[lo + (hi - lo) / 2];
        ptrdiff_t i = lo - 1, j = hi + 1;
        for (;;) {
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        /* a[lo..j] <= pivot <= a[j+1..hi] */
        if (kk <= j)
            hi = j;
        else
            lo = j + 1;
    }
    return a[k];
}

/* Subtracts the (MG_CAP+1)-th largest count (counting one extra counter of 1 when @p extra)
 * from every counter and drops those at zero, keeping order and compacting the pool. */
static void mg_reduce(struct mg *g, int is_str, int extra)
{
    uint64_t c[MG_ENTRIES + 2];
    size_t n = 0;
    for (uint32_t i = 0; i < g->n; i++)
        c[n++] = g->e[i].count;
    if (extra)
        c[n++] = 1;
    if (n <= MG_CAP)
        return;
    uint64_t d = select_kth(c, n, n - 1 - MG_CAP);
    uint32_t j = 0;
    size_t poff = 0;
    for (uint32_t i = 0; i < g->n; i++) {
        struct mg_entry x = g->e[i];
        if (x.count <= d)
            continue;
        x.count -= d;
        if (is_str) {
            if (x.len)
                memmove(g->pool + poff, g->pool + x.key, x.len);
            x.key = poff;
            poff += x.len;
        }
        g->e[j++] = x;
    }
    g->n = j;
    if (is_str)
        g->pool_len = poff;
    g->dec += d;
    mg_reindex(g);
}

static inline void mg_add_num(struct mg *g, uint64_t key, uint64_t hash, uint64_t cnt)
{
    uint32_t s = (uint32_t)hash & (MG_SLOTS - 1);
    for (;;) {
        uint16_t x = g->slot[s];
        if (!x)
            break;
        if (g->e[x - 1].key == key) {
            g->e[x - 1].count += cnt;
            return;
        }
        s = (s + 1) & (MG_SLOTS - 1);
    }
    struct mg_entry *e = &g->e[g->n];
    e->key = key;
    e->hash = hash;
    e->count = cnt;
    e->len = 0;
    e->trunc = 0;
    g->slot[s] = (uint16_t)(++g->n);
}

static long mg_find_str(const struct mg *g, const char *p, uint32_t len, int trunc, uint64_t hash,
                        uint32_t *slot)
{
    uint32_t s = (uint32_t)hash & (MG_SLOTS - 1);
    for (;;) {
        uint16_t x = g->slot[s];
        if (!x) {
            *slot = s;
            return -1;
        }
        const struct mg_entry *e = &g->e[x - 1];
        if (e->hash == hash && e->len == len && e->trunc == trunc &&
            (len == 0 || memcmp(g->pool + e->key, p, len) == 0))
            return x - 1;
        s = (s + 1) & (MG_SLOTS - 1);
    }
}

static enum gy_status mg_put_str(struct mg *g, const char *p, uint32_t len, int trunc,
                                 uint64_t hash, uint64_t cnt)
{
    uint32_t s;
    long i = mg_find_str(g, p, len, trunc, hash, &s);
    if (i >= 0) {
        g->e[i].count += cnt;
        return GY_OK;
    }
    if (g->pool_len + len > g->pool_cap) {
        size_t cap = g->pool_cap ? g->pool_cap : 4096;
        while (cap < g->pool_len + len)
            cap *= 2;
        char *np = gy_realloc(g->pool, cap);
        if (!np)
            return gy_error_set(GY_E_NOMEM, "profile: out of memory");
        g->pool = np;
        g->pool_cap = cap;
    }
    if (len)
        memcpy(g->pool + g->pool_len, p, len);
    struct mg_entry *e = &g->e[g->n];
    e->key = g->pool_len;
    e->hash = hash;
    e->count = cnt;
    e->len = (uint16_t)len;
    e->trunc = (uint8_t)trunc;
    g->pool_len += len;
    g->slot[s] = (uint16_t)(++g->n);
    return GY_OK;
}

/* The stored form of a string: at most MG_STR_MAX bytes, cut before a UTF-8 continuation. */
static uint32_t str_cut(const char *p, size_t len, int *trunc)
{
    if (len <= MG_STR_MAX) {
        *trunc = 0;
        return (uint32_t)len;
    }
    uint32_t cut = MG_STR_MAX;
    while (cut > MG_STR_MAX - 3 && ((unsigned char)p[cut] & 0xC0) == 0x80)
        cut--;
    *trunc = 1;
    return cut;
}

static uint64_t str_hash_stored(const char *p, uint32_t len, int trunc, uint64_t full_hash)
{
    if (!trunc)
        return full_hash;
    return gy_hash64(p, len, HASH_SEED) ^ TRUNC_MARK;
}

/* A float64 table that would need a reduction stops instead: float columns with more than
 * MG_MAX distinct values (measurements) have no meaningful top values, and the table work is
 * the largest part of profiling them. The state is then a function of the set of values
 * (tracked and exact, or off), whatever their order, so merges agree with streaming. */
static void mg_stop(struct mg *g)
{
    g->off = 1;
    g->n = 0;
    g->dec = 0;
    if (g->slot)
        memset(g->slot, 0, MG_SLOTS * sizeof *g->slot);
}

/* Streams float64 keys into an exact table until it overflows, then stops it. */
static void mg_stream_f64(struct mg *g, const double *d, const uint64_t *hash, size_t n)
{
    for (size_t i = 0; i < n && !g->off; i++) {
        uint64_t key = f64_bits(d[i]);
        uint32_t s = (uint32_t)hash[i] & (MG_SLOTS - 1);
        uint16_t x;
        while ((x = g->slot[s]) != 0 && g->e[x - 1].key != key)
            s = (s + 1) & (MG_SLOTS - 1);
        if (x) {
            g->e[x - 1].count++;
            continue;
        }
        if (g->n == MG_MAX) {
            mg_stop(g);
            return;
        }
        struct mg_entry *e = &g->e[g->n];
        e->key = key;
        e->hash = hash[i];
        e->count = 1;
        e->len = 0;
        e->trunc = 0;
        g->slot[s] = (uint16_t)(++g->n);
    }
}

/* One streamed value: count it, or reduce when it is new and the table is full. */
static void mg_stream_num(struct mg *g, uint64_t key, uint64_t hash)
{
    if (g->n == MG_MAX) {
        uint32_t s = (uint32_t)hash & (MG_SLOTS - 1);
        for (;;) {
            uint16_t x = g->slot[s];
            if (!x)
                break;
            if (g->e[x - 1].key == key) {
                g->e[x - 1].count++;
                return;
            }
            s = (s + 1) & (MG_SLOTS - 1);
        }
        mg_reduce(g, 0, 1); /* the new value's counter of 1 never survives */
        return;
    }
    mg_add_num(g, key, hash, 1);
}

static enum gy_status mg_stream_str(struct mg *g, const char *p, size_t len, uint64_t hash)
{
    int trunc;
    uint32_t cut = str_cut(p, len, &trunc);
    uint64_t h = str_hash_stored(p, cut, trunc, hash);
    if (g->n == MG_MAX) {
        uint32_t s;
        long i = mg_find_str(g, p, cut, trunc, h, &s);
        if (i >= 0)
            g->e[i].count++;
        else
            mg_reduce(g, 1, 1);
        return GY_OK;
    }
    return mg_put_str(g, p, cut, trunc, h, 1);
}

/* *out = dst + src (new table): counters added, then reduced when more than MG_MAX remain.
 * A float64 table (@p is_f64) stops instead of reducing, and stays stopped (mg_stop). */
static enum gy_status mg_merged(const struct mg *dst, const struct mg *src, int is_str, int is_f64,
                                struct mg *out)
{
    enum gy_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = mg_init(out)) != GY_OK)
        return rc;
    if (is_f64 && (dst->off || src->off || dst->dec || src->dec)) {
        mg_stop(out);
        return GY_OK;
    }
    out->dec = dst->dec + src->dec;
    const struct mg *parts[2] = {dst, src};
    for (int k = 0; k < 2; k++) {
        const struct mg *g = parts[k];
        for (uint32_t i = 0; i < g->n; i++) {
            const struct mg_entry *e = &g->e[i];
            if (is_str) {
                rc = mg_put_str(out, mg_str(g, e), e->len, e->trunc, e->hash, e->count);
                if (rc) {
                    mg_clear(out);
                    return rc;
                }
            } else {
                mg_add_num(out, e->key, e->hash, e->count);
            }
        }
    }
    if (out->n > MG_MAX) {
        if (is_f64)
            mg_stop(out);
        else
            mg_reduce(out, is_str, 0);
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ HyperLogLog */

static inline void hll_add(uint8_t *r, uint64_t h)
{
    uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
    /* 1 + leading zeros of the low 52 bits; the bit below them caps an all-zero run at 53 */
    uint8_t rank = (uint8_t)(__builtin_clzll(h << HLL_P | UINT64_C(1) << (HLL_P - 1)) + 1);
    r[idx] = rank > r[idx] ? rank : r[idx];
}

/* Ertl's improved raw estimator ("New cardinality estimation algorithms for HyperLogLog
 * sketches", 2017): no empirical bias tables, accurate from 0 up; linear counting is its
 * small-range limit (the sigma term). */
static double hll_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (zp != z);
    return z / 3;
}

static double hll_estimate(const uint8_t *r)
{
    uint32_t c[HLL_RMAX + 1];
    const double m = HLL_M;
    memset(c, 0, sizeof c);
    for (uint32_t j = 0; j < HLL_M; j++)
        c[r[j] <= HLL_RMAX ? r[j] : HLL_RMAX]++;
    double z = m * hll_tau((m - c[HLL_RMAX]) / m);
    for (int k = HLL_RMAX - 1; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += m * hll_sigma(c[0] / m);
    return m * m / (2 * log(2.0)) / z;
}

/* ------------------------------------------------------------------ moments */

/* Chan et al.: M2 of the union of (na, ma, m2a) and (nb, mb, m2b); also the mean. */
static void chan(uint64_t na, double ma, double m2a, uint64_t nb, double mb, double m2b,
                 double *mean, double *m2)
{
    if (na == 0) {
        *mean = mb;
        *m2 = m2b;
        return;
    }
    double n = (double)na + (double)nb;
    double wa = (double)na / n, wb = (double)nb / n;
    double delta = mb - ma;
    *mean = isfinite(delta) ? ma + delta * wb : ma * wa + mb * wb;
    double r = m2a + m2b + delta * delta * ((double)na * wb);
    *m2 = isnan(r) ? INFINITY : r;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Mean of an integer column from its exact sum (nfin is updated after isum). */
static double int_mean(const struct col *c)
{
    return c->nfin ? (double)((long double)c->isum / (long double)c->nfin) : 0.0;
}

/* ------------------------------------------------------------------ column accumulation */

static enum gy_status col_scratch(struct col *c)
{
    if (!c->hll)
        c->hll = gy_calloc(HLL_M, 1);
    if (!c->hll || mg_init(&c->mg) != GY_OK)
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    return GY_OK;
}

/* The four interleaved partial sums (s[j] adds d[i] for i % 4 == j, up to the last whole
 * group; the rest go to s[0]), the minimum and the maximum of n > 0 values. */
static void sums_f64(const double *d, size_t n, double s[4], double *mn_out, double *mx_out)
{
    double mn = d[0], mx = d[0], s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += d[i];
        s1 += d[i + 1];
        s2 += d[i + 2];
        s3 += d[i + 3];
    }
    for (; i < n; i++)
        s0 += d[i];
    for (i = 0; i < n; i++) {
        mn = d[i] < mn ? d[i] : mn;
        mx = d[i] > mx ? d[i] : mx;
    }
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    *mn_out = mn;
    *mx_out = mx;
}

/*
 * The common block: no nulls and every value finite. Copies x + 0.0 (-0.0 becomes 0.0) to
 * dense and computes what sums_f64 computes, in the same order, in one SSE2 pass. Returns 0
 * (dense unusable) when some value is NaN or infinite.
 */
static int dense_clean_f64(const double *x, size_t n, double *dense, double s[4], double *mn,
                           double *mx)
{
#if defined(__SSE2__)
    if (n < 4)
        return 0;
    const __m128d zero = _mm_setzero_pd();
    __m128d a01 = zero, a23 = zero, vmn = _mm_set1_pd(x[0] + 0.0), vmx = vmn, bad = zero;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128d u = _mm_add_pd(_mm_loadu_pd(x + i), zero);
        __m128d w = _mm_add_pd(_mm_loadu_pd(x + i + 2), zero);
        _mm_storeu_pd(dense + i, u);
        _mm_storeu_pd(dense + i + 2, w);
        a01 = _mm_add_pd(a01, u);
        a23 = _mm_add_pd(a23, w);
        vmn = _mm_min_pd(vmn, _mm_min_pd(u, w));
        vmx = _mm_max_pd(vmx, _mm_max_pd(u, w));
        /* x - x is NaN exactly for NaN and the infinities */
        bad = _mm_or_pd(bad, _mm_cmpunord_pd(_mm_sub_pd(u, u), _mm_sub_pd(w, w)));
    }
    double t01[2], t23[2], tn[2], tx[2], tb[2];
    _mm_storeu_pd(t01, a01);
    _mm_storeu_pd(t23, a23);
    _mm_storeu_pd(tn, vmn);
    _mm_storeu_pd(tx, vmx);
    _mm_storeu_pd(tb, bad);
    if (f64_bits(tb[0]) | f64_bits(tb[1]))
        return 0;
    double lo = GY_MIN(tn[0], tn[1]), hi = GY_MAX(tx[0], tx[1]);
    for (; i < n; i++) {
        double y = x[i] + 0.0;
        if (!isfinite(y))
            return 0;
        dense[i] = y;
        t01[0] += y;
        lo = y < lo ? y : lo;
        hi = y > hi ? y : hi;
    }
    s[0] = t01[0];
    s[1] = t01[1];
    s[2] = t23[0];
    s[3] = t23[1];
    *mn = lo;
    *mx = hi;
    return 1;
#else
    (void)x;
    (void)n;
    (void)dense;
    (void)s;
    (void)mn;
    (void)mx;
    return 0;
#endif
}

/* Finite, normalized (-0.0 as 0.0) float64 values of one block, with their sums_f64: all
 * but the quantile sketch, for which it writes the values' keys to @p keys. */
static void block_f64(struct col *c, const double *d, size_t n, const double ps[4], double mn,
                      double mx, uint64_t *hs, uint64_t *keys)
{
    size_t i;
    double s0 = ps[0], s1 = ps[1], s2 = ps[2], s3 = ps[3];
    double sum = (s0 + s1) + (s2 + s3), bm;
    if (isfinite(sum)) {
        bm = sum / (double)n;
    } else { /* the sum overflowed: average scaled values */
        double s = 0;
        for (i = 0; i < n; i++)
            s += d[i] * 0x1p-64;
        bm = s / (double)n * 0x1p64;
    }
    bm = clampd(bm, mn, mx);
    double a = 0, q = 0;
    i = 0;
#if defined(__SSE2__)
    {
        const __m128d vb = _mm_set1_pd(bm);
        __m128d a0 = _mm_setzero_pd(), a1 = a0, q0 = a0, q1 = a0;
        for (; i + 4 <= n; i += 4) {
            __m128d t0 = _mm_sub_pd(_mm_loadu_pd(d + i), vb);
            __m128d t1 = _mm_sub_pd(_mm_loadu_pd(d + i + 2), vb);
            a0 = _mm_add_pd(a0, t0);
            a1 = _mm_add_pd(a1, t1);
            q0 = _mm_add_pd(q0, _mm_mul_pd(t0, t0));
            q1 = _mm_add_pd(q1, _mm_mul_pd(t1, t1));
        }
        double ta[2], tq[2];
        _mm_storeu_pd(ta, _mm_add_pd(a0, a1));
        _mm_storeu_pd(tq, _mm_add_pd(q0, q1));
        a = ta[0] + ta[1];
        q = tq[0] + tq[1];
    }
#endif
    for (; i < n; i++) {
        double t = d[i] - bm;
        a += t;
        q += t * t;
    }
    double bm2 = isfinite(q) ? q - a * a / (double)n : INFINITY;
    if (!(bm2 >= 0))
        bm2 = isnan(bm2) ? INFINITY : 0;

    double lo = c->nfin ? GY_MIN(c->fmin, mn) : mn, hi = c->nfin ? GY_MAX(c->fmax, mx) : mx;
    double mean, m2;
    chan(c->nfin, c->mean, c->m2, n, bm, bm2, &mean, &m2);
    c->mean = clampd(mean, lo, hi);
    c->m2 = m2;
    c->fmin = lo;
    c->fmax = hi;
    c->nfin += n;

    hist_cover(&c->hist, GY_TYPE_FLOAT64, mn, mx, 0, 0);
    if (c->hist.e >= -1022) {
        /* One pass: histogram bin (as hist_add_f64), hash, register, sketch key. */
        const double inv = ldexp(1.0, -c->hist.e); /* exact: x * inv == ldexp(x, -e) */
        const int64_t m0 = c->hist.m0;
        uint64_t c4[4][HIST_BINS];
        memset(c4, 0, sizeof c4);
        for (i = 0; i < n; i++) {
            double x = d[i], y = x * inv;
            int64_t t = (int64_t)y;
            t -= ((double)t > y) | ((t == 0) & (x < 0));
            c4[i & 3][t - m0]++;
            hs[i] = hash_u64(f64_bits(x));
            hll_add(c->hll, hs[i]);
            keys[i] = f64_key(x);
        }
        for (uint32_t b = 0; b < c->hist.nb; b++)
            c->hist.c[b] += c4[0][b] + c4[1][b] + c4[2][b] + c4[3][b];
    } else {
        hist_add_f64(&c->hist, d, n, mn, mx);
        for (i = 0; i < n; i++) {
            hs[i] = hash_u64(f64_bits(d[i]));
            hll_add(c->hll, hs[i]);
            keys[i] = f64_key(d[i]);
        }
    }
    if (!c->mg.off)
        mg_stream_f64(&c->mg, d, hs, n);
}

static void block_i64(struct col *c, const int64_t *d, size_t n)
{
    int64_t mn = d[0], mx = d[0];
    __int128 s = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        s += d[i];
        mn = d[i] < mn ? d[i] : mn;
        mx = d[i] > mx ? d[i] : mx;
    }
    double bm = (double)((long double)s / (long double)n);
    double a = 0, q = 0;
    for (i = 0; i < n; i++) {
        double t = (double)d[i] - bm;
        a += t;
        q += t * t;
    }
    double bm2 = q - a * a / (double)n;
    if (!(bm2 >= 0))
        bm2 = 0;
    double mean, m2;
    chan(c->nfin, int_mean(c), c->m2, n, bm, bm2, &mean, &m2);
    c->m2 = m2;
    c->imin = c->nfin ? GY_MIN(c->imin, mn) : mn;
    c->imax = c->nfin ? GY_MAX(c->imax, mx) : mx;
    c->isum += s;
    c->nfin += n;

    hist_add_i64(&c->hist, d, n, mn, mx);
    for (i = 0; i < n; i++) {
        uint64_t key = (uint64_t)d[i];
        uint64_t h = hash_u64(key);
        hll_add(c->hll, h);
        mg_stream_num(&c->mg, key, h);
    }
}

/* Keys gathered for the quantile sketch: sc->keys[0..n) lie in [lo, hi]. */
struct keybuf {
    size_t n;
    uint64_t lo, hi;
};

static void keys_note(struct keybuf *kb, uint64_t lo, uint64_t hi)
{
    kb->lo = kb->n == 0 || lo < kb->lo ? lo : kb->lo;
    kb->hi = kb->n == 0 || hi > kb->hi ? hi : kb->hi;
}

/* Hands the gathered keys to the sketch once another block might not fit (KLL_B0 is a
 * multiple of BLK, so a column without nulls hands over whole chunks), or at the end. */
static enum gy_status keys_flush(struct col *c, struct keybuf *kb, struct scratch *sc, int last)
{
    enum gy_status rc = GY_OK;
    if (kb->n && (last || kb->n + BLK > KLL_B0))
        rc = kll_feed(&c->kll, sc->keys, kb->n, kb->lo, kb->hi, 1, sc);
    if (last || kb->n + BLK > KLL_B0)
        kb->n = 0;
    return rc;
}

static enum gy_status add_f64(struct col *c, const struct gy_colvec *v, struct scratch *sc)
{
    enum gy_status rc = GY_OK;
    double *dense = sc->dense;
    struct keybuf kb = {0, 0, 0};
    for (size_t base = 0; base < v->n && rc == GY_OK; base += BLK) {
        size_t end = GY_MIN(v->n, base + BLK), nd = 0;
        uint64_t nul = 0, pinf = 0, ninf = 0;
        double sums[4], mn = 0, mx = 0;
        if ((!v->valid || !memchr(v->valid + base, 0, end - base)) &&
            dense_clean_f64(v->f64 + base, end - base, dense, sums, &mn, &mx)) {
            nd = end - base;
        } else {
            for (size_t i = base; i < end; i++) {
                double x = v->f64[i];
                if ((v->valid && !v->valid[i]) || isnan(x))
                    nul++; /* NaN is never a value (ingest maps it to null) */
                else if (x == INFINITY)
                    pinf++;
                else if (x == -INFINITY)
                    ninf++;
                else
                    dense[nd++] = x + 0.0; /* -0.0 becomes 0.0 */
            }
            if (nd)
                sums_f64(dense, nd, sums, &mn, &mx);
        }
        c->nulls += nul;
        c->pos_inf += pinf;
        c->neg_inf += ninf;
        c->count += (end - base) - nul;
        if (nd == 0)
            continue;
        block_f64(c, dense, nd, sums, mn, mx, sc->hs, sc->keys + kb.n);
        keys_note(&kb, f64_key(mn), f64_key(mx));
        kb.n += nd;
        rc = keys_flush(c, &kb, sc, 0);
    }
    if (rc == GY_OK)
        rc = keys_flush(c, &kb, sc, 1);
    return rc;
}

static enum gy_status add_i64(struct col *c, const struct gy_colvec *v, struct scratch *sc)
{
    enum gy_status rc = GY_OK;
    int64_t *dense = (int64_t *)(void *)sc->dense;
    struct keybuf kb = {0, 0, 0};
    for (size_t base = 0; base < v->n && rc == GY_OK; base += BLK) {
        size_t end = GY_MIN(v->n, base + BLK), nd = 0;
        if (!v->valid) {
            memcpy(dense, v->i64 + base, (end - base) * sizeof *dense);
            nd = end - base;
        } else {
            for (size_t i = base; i < end; i++)
                if (v->valid[i])
                    dense[nd++] = v->i64[i];
        }
        c->nulls += (end - base) - nd;
        c->count += nd;
        if (nd == 0)
            continue;
        block_i64(c, dense, nd);
        int64_t mn = dense[0], mx = dense[0];
        for (size_t i = 0; i < nd; i++) {
            mn = dense[i] < mn ? dense[i] : mn;
            mx = dense[i] > mx ? dense[i] : mx;
            sc->keys[kb.n + i] = i64_key(dense[i]);
        }
        keys_note(&kb, i64_key(mn), i64_key(mx));
        kb.n += nd;
        rc = keys_flush(c, &kb, sc, 0);
    }
    if (rc == GY_OK)
        rc = keys_flush(c, &kb, sc, 1);
    return rc;
}

static void add_bool(struct col *c, const struct gy_colvec *v)
{
    uint64_t n = 0, t = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->valid && !v->valid[i])
            continue;
        n++;
        t += v->b[i] != 0;
    }
    c->count += n;
    c->nulls += v->n - n;
    c->ntrue += t;
}

static enum gy_status add_str(struct col *c, const struct gy_colvec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->valid && !v->valid[i]) {
            c->nulls++;
            continue;
        }
        size_t len = v->off[i + 1] - v->off[i];
        const char *p = len ? v->data + v->off[i] : "";
        if (c->count == 0) {
            c->len_min = c->len_max = len;
        } else {
            c->len_min = GY_MIN(c->len_min, (uint64_t)len);
            c->len_max = GY_MAX(c->len_max, (uint64_t)len);
        }
        c->len_sum += len;
        c->count++;
        c->nfin++;
        uint64_t h = gy_hash64(p, len, HASH_SEED);
        hll_add(c->hll, h);
        enum gy_status rc = mg_stream_str(&c->mg, p, len, h);
        if (rc)
            return rc;
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ create / free / add */

static void col_release(struct col *c)
{
    kll_clear(&c->kll);
    mg_clear(&c->mg);
    gy_free(c->hll);

    c->hll = NULL;
}

enum gy_status gy__profile_create(const struct gy_schema *schema, struct gy_profile **out)
{
    *out = NULL;
    if (!schema || schema->ncols > GY_LAKE_MAX_COLUMNS)
        return gy_error_set(GY_E_INVALID, "profile: bad schema");
    for (size_t i = 0; i < schema->ncols; i++)
        if (!type_known(schema->cols[i].type))
            return gy_error_set(GY_E_INVALID, "profile: column %zu has an unknown type", i + 1);
    struct gy_profile *p = gy_calloc(1, sizeof *p);
    if (!p)
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    p->schema = gy_schema_copy(schema);
    p->cols = gy_calloc(schema->ncols ? schema->ncols : 1, sizeof *p->cols);
    if (!p->schema || !p->cols) {
        gy_schema_free(p->schema);
        gy_free(p->cols);
        gy_free(p);
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    }
    for (size_t i = 0; i < schema->ncols; i++) {
        p->cols[i].type = schema->cols[i].type;
        p->cols[i].kll.f64 = schema->cols[i].type == GY_TYPE_FLOAT64;
    }
    p->version = FORMAT_VERSION;
    *out = p;
    return GY_OK;
}

void gy__profile_free(struct gy_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->schema->ncols; i++)
        col_release(&p->cols[i]);
    gy_free(p->cols);
    gy_schema_free(p->schema);
    gy_free(p);
}

/* Checks that the arrays of @p v exist and its string offsets stay inside its data. */
static enum gy_status check_colvec(const struct gy_colvec *v, const char *name)
{
    if (v->n == 0)
        return GY_OK;
    int ok;
    switch (v->type) {
    case GY_TYPE_FLOAT64:
        ok = v->f64 != NULL;
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        ok = v->i64 != NULL;
        break;
    case GY_TYPE_BOOL:
        ok = v->b != NULL;
        break;
    case GY_TYPE_STRING:
        ok = v->off != NULL && (v->data != NULL || v->data_len == 0);
        if (ok && v->off[v->n] > v->data_len)
            ok = 0;
        for (size_t i = 0; ok && i < v->n; i++)
            if (v->off[i] > v->off[i + 1])
                ok = 0;
        break;
    default:
        ok = 0;
    }
    if (!ok)
        return gy_error_set(GY_E_INVALID, "profile: column \"%s\": malformed column vector", name);
    return GY_OK;
}

enum gy_status gy__profile_add(struct gy_profile *p, size_t col, const struct gy_colvec *v)
{
    if (col >= p->schema->ncols)
        return gy_error_set(GY_E_INVALID, "profile: column %zu out of range", col);
    struct col *c = &p->cols[col];
    const char *name = p->schema->cols[col].name;
    if (v->type != c->type)
        return gy_error_set(GY_E_SCHEMA, "profile: column \"%s\" is %s, batch is %s", name,
                            gy_type_name(c->type), gy_type_name(v->type));
    enum gy_status rc = check_colvec(v, name);
    if (rc || v->n == 0)
        return rc;
    p->changed = 1;
    if (c->type == GY_TYPE_BOOL) {
        add_bool(c, v);
        return GY_OK;
    }
    if ((rc = col_scratch(c)) != GY_OK)
        return rc;
    if (c->type == GY_TYPE_STRING)
        return add_str(c, v);
    struct scratch *sc = scratch_get();
    if (!sc)
        return GY_E_NOMEM;
    if (c->type == GY_TYPE_FLOAT64)
        return add_f64(c, v, sc);
    return add_i64(c, v, sc);
}

/* ------------------------------------------------------------------ merge */

static enum gy_status check_same_schema(const struct gy_profile *a, const struct gy_profile *b)
{
    if (a->schema->ncols != b->schema->ncols)
        return gy_error_set(GY_E_SCHEMA, "profile: %zu columns, other profile has %zu",
                            a->schema->ncols, b->schema->ncols);
    for (size_t i = 0; i < a->schema->ncols; i++)
        if (a->cols[i].type != b->cols[i].type)
            return gy_error_set(GY_E_SCHEMA, "profile: column %zu is %s, other profile has %s",
                                i + 1, gy_type_name(a->cols[i].type),
                                gy_type_name(b->cols[i].type));
    return GY_OK;
}

/* Folds the moments and extremes of @p s into @p d (infallible). */
static void merge_scalars(struct col *d, const struct col *s)
{
    switch (d->type) {
    case GY_TYPE_FLOAT64:
        if (s->nfin) {
            double lo = d->nfin ? GY_MIN(d->fmin, s->fmin) : s->fmin;
            double hi = d->nfin ? GY_MAX(d->fmax, s->fmax) : s->fmax;
            double mean, m2;
            chan(d->nfin, d->mean, d->m2, s->nfin, s->mean, s->m2, &mean, &m2);
            d->mean = clampd(mean, lo, hi);
            d->m2 = m2;
            d->fmin = lo;
            d->fmax = hi;
        }
        d->pos_inf += s->pos_inf;
        d->neg_inf += s->neg_inf;
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        if (s->nfin) {
            double mean, m2;
            chan(d->nfin, int_mean(d), d->m2, s->nfin, int_mean(s), s->m2, &mean, &m2);
            d->m2 = m2;
            d->imin = d->nfin ? GY_MIN(d->imin, s->imin) : s->imin;
            d->imax = d->nfin ? GY_MAX(d->imax, s->imax) : s->imax;
            d->isum += s->isum;
        }
        break;
    case GY_TYPE_BOOL:
        d->ntrue += s->ntrue;
        break;
    case GY_TYPE_STRING:
        if (s->count) {
            d->len_min = d->count ? GY_MIN(d->len_min, s->len_min) : s->len_min;
            d->len_max = d->count ? GY_MAX(d->len_max, s->len_max) : s->len_max;
            d->len_sum += s->len_sum;
        }
        break;
    }
    d->count += s->count;
    d->nulls += s->nulls;
    d->nfin += s->nfin;
}

static enum gy_status merge_distinct(struct gy_profile *dst, const struct gy_profile *src);

enum gy_status gy__profile_merge(struct gy_profile *dst, const struct gy_profile *src)
{
    enum gy_status rc = check_same_schema(dst, src);
    if (rc)
        return rc;
    dst->changed = 1;
    if (dst != src)
        return merge_distinct(dst, src);
    /* Merging a profile with itself: merge a copy. */
    struct gy_buf b;
    struct gy_profile *copy = NULL;
    gy_buf_init(&b, SIZE_MAX / 2);
    rc = gy__profile_save(src, &b);
    if (rc == GY_OK)
        rc = gy__profile_load(b.data, b.len, src->schema, &copy);
    if (rc == GY_OK)
        rc = merge_distinct(dst, copy);
    gy__profile_free(copy);
    gy_buf_free(&b);
    return rc;
}

/* Builds every column's merged sketches first and commits only when all succeeded, so on
 * error @p dst is unchanged. */
static enum gy_status merge_distinct(struct gy_profile *dst, const struct gy_profile *src)
{
    size_t n = dst->schema->ncols;
    enum gy_status rc = GY_OK;
    struct kll *nk = gy_calloc(n ? n : 1, sizeof *nk);
    struct mg *ng = gy_calloc(n ? n : 1, sizeof *ng);
    if (!nk || !ng) {
        rc = gy_error_set(GY_E_NOMEM, "profile: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && rc == GY_OK; i++) {
        struct col *d = &dst->cols[i];
        const struct col *s = &src->cols[i];
        if (d->type == GY_TYPE_BOOL || s->nfin == 0)
            continue;
        if ((rc = col_scratch(d)) != GY_OK)
            break;
        if (d->type != GY_TYPE_STRING)
            rc = kll_merged(&d->kll, &s->kll, &nk[i]);
        if (rc == GY_OK)
            rc = mg_merged(&d->mg, &s->mg, d->type == GY_TYPE_STRING, d->type == GY_TYPE_FLOAT64,
                           &ng[i]);
    }
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct col *d = &dst->cols[i];
        const struct col *s = &src->cols[i];
        if (d->type != GY_TYPE_BOOL && s->nfin) {
            struct kll tk = d->kll;
            struct mg tg = d->mg;
            if (d->type != GY_TYPE_STRING) {
                d->kll = nk[i];
                nk[i] = tk;
                hist_merge(&d->hist, &s->hist);
            }
            d->mg = ng[i];
            ng[i] = tg;
            for (uint32_t j = 0; j < HLL_M; j++)
                d->hll[j] = GY_MAX(d->hll[j], s->hll[j]);
        }
        merge_scalars(d, s);
    }
out:
    for (size_t i = 0; i < n && nk && ng; i++) {
        kll_clear(&nk[i]);
        mg_clear(&ng[i]);
    }
    gy_free(nk);
    gy_free(ng);
    return rc;
}

/* ------------------------------------------------------------------ save */

/*
 * Little-endian, no padding. Header: "GYPF", u16 version, u16 flags (0), u32 ncols, u16 kll_k,
 * u16 mg_cap, u8 hll_p, u8 hist_bins, u16 reserved (0). Then per column: u8 type, u64 count,
 * u64 nulls and the type's section (see docs/internals/lake-profile.md).
 */

struct wr {
    struct gy_buf *b;
    enum gy_status rc;
};

static void w_bytes(struct wr *w, const void *p, size_t n)
{
    if (w->rc == GY_OK && n)
        w->rc = gy_buf_append(w->b, p, n);
}

static void w_u8(struct wr *w, uint8_t v)
{
    w_bytes(w, &v, 1);
}

static void w_u16(struct wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    w_bytes(w, b, 2);
}

static void w_u32(struct wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    w_bytes(w, b, 4);
}

static void w_u64(struct wr *w, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    w_bytes(w, b, 8);
}

static void w_f64(struct wr *w, double v)
{
    w_u64(w, f64_bits(v));
}

static void w_u64s(struct wr *w, const uint64_t *v, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w_bytes(w, v, n * sizeof *v); /* already little-endian */
    return;
#endif
    uint8_t b[512];
    while (n && w->rc == GY_OK) {
        size_t k = GY_MIN(n, sizeof b / 8);
        for (size_t i = 0; i < k; i++)
            put_le64(b + 8 * i, v[i]);
        w_bytes(w, b, 8 * k);
        v += k;
        n -= k;
    }
}

static void save_hist(struct wr *w, const struct hist *h)
{
    w_u16(w, (uint16_t)(int16_t)h->e);
    w_u64(w, (uint64_t)h->m0);
    w_u8(w, (uint8_t)h->nb);
    w_u64s(w, h->c, h->nb);
}

static void save_kll(struct wr *w, const struct kll *k, int version)
{
    w_u8(w, (uint8_t)k->nlevels);
    for (uint32_t h = 0; h < k->nlevels; h++) {
        const struct kll_level *l = &k->lv[h];
        uint64_t nc = l->ncompact;
        if (h == 0) /* format 1's level-0 compactions, rounded up to whole 2^(KLL_JUMP-1) */
            nc = version == 1 ? k->nc0_v1 : nc + (k->nc0_v1 + KLL_STEP / 2 - 1) / (KLL_STEP / 2);
        w_u64(w, nc);
        w_u8(w, l->toggle);
        w_u16(w, (uint16_t)l->n);
        w_u64s(w, l->items, l->n);
    }
}

static void save_mg(struct wr *w, const struct mg *g, int is_str)
{
    if (g->off) { /* a stopped float64 table: the mark, no error, no entries */
        w_u16(w, MG_OFF_MARK);
        w_u64(w, 0);
        return;
    }
    w_u16(w, (uint16_t)g->n);
    w_u64(w, g->dec);
    for (uint32_t i = 0; i < g->n; i++) {
        const struct mg_entry *e = &g->e[i];
        if (is_str) {
            w_u16(w, e->len);
            w_u8(w, e->trunc);
            w_bytes(w, mg_str(g, e), e->len);
        } else {
            w_u64(w, e->key);
        }
        w_u64(w, e->count);
    }
}

enum gy_status gy__profile_save(const struct gy_profile *p, struct gy_buf *out)
{
    struct wr w = {out, GY_OK};
    size_t start = out->len;
    w_bytes(&w, "GYPF", 4);
    /* A format-1 state nothing was added to saves as it was read (load keeps every field). */
    const int version = p->version == 1 && !p->changed ? 1 : FORMAT_VERSION;
    w_u16(&w, (uint16_t)version);
    w_u16(&w, 0);
    w_u32(&w, (uint32_t)p->schema->ncols);
    w_u16(&w, KLL_K);
    w_u16(&w, MG_CAP);
    w_u8(&w, HLL_P);
    w_u8(&w, HIST_BINS);
    w_u16(&w, version == 1 ? 0 : KLL_SHAPE);
    for (size_t i = 0; i < p->schema->ncols && w.rc == GY_OK; i++) {
        const struct col *c = &p->cols[i];
        w_u8(&w, (uint8_t)c->type);
        w_u64(&w, c->count);
        w_u64(&w, c->nulls);
        switch (c->type) {
        case GY_TYPE_FLOAT64:
            w_u64(&w, c->pos_inf);
            w_u64(&w, c->neg_inf);
            if (c->nfin) {
                w_f64(&w, c->fmin);
                w_f64(&w, c->fmax);
                w_f64(&w, c->mean);
                w_f64(&w, c->m2);
            }
            break;
        case GY_TYPE_INT64:
        case GY_TYPE_TIMESTAMP:
            if (c->nfin) {
                w_u64(&w, (uint64_t)c->imin);
                w_u64(&w, (uint64_t)c->imax);
                w_u64(&w, (uint64_t)(unsigned __int128)c->isum);
                w_u64(&w, (uint64_t)((unsigned __int128)c->isum >> 64));
                w_f64(&w, c->m2);
            }
            break;
        case GY_TYPE_BOOL:
            w_u64(&w, c->ntrue);
            break;
        case GY_TYPE_STRING:
            if (c->nfin) {
                w_u64(&w, c->len_min);
                w_u64(&w, c->len_max);
                w_u64(&w, c->len_sum);
            }
            break;
        }
        if (c->type == GY_TYPE_BOOL || c->nfin == 0)
            continue;
        if (c->type != GY_TYPE_STRING) {
            save_hist(&w, &c->hist);
            save_kll(&w, &c->kll, version);
        }
        save_mg(&w, &c->mg, c->type == GY_TYPE_STRING);
        w_bytes(&w, c->hll, HLL_M);
    }
    if (w.rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return gy_error_wrap(w.rc, "profile: save");
    }
    return GY_OK;
}

/* ------------------------------------------------------------------ load */

struct rd {
    const uint8_t *p;
    size_t n, off;
    size_t col; /* 1-based column being read, 0 in the header */
    enum gy_status rc;
    int version;
};

static enum gy_status r_fail(struct rd *r, const char *what)
{
    if (r->rc == GY_OK) {
        if (r->col)
            r->rc = gy_error_set(GY_E_CORRUPT, "profile state: column %zu: %s (at byte %zu)",
                                 r->col, what, r->off);
        else
            r->rc = gy_error_set(GY_E_CORRUPT, "profile state: %s (at byte %zu)", what, r->off);
    }
    return r->rc;
}

static const uint8_t *r_take(struct rd *r, size_t k)
{
    if (r->rc)
        return NULL;
    if (r->n - r->off < k) {
        r_fail(r, "truncated");
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += k;
    return q;
}

static uint8_t r_u8(struct rd *r)
{
    const uint8_t *q = r_take(r, 1);
    return q ? q[0] : 0;
}

static uint16_t r_u16(struct rd *r)
{
    const uint8_t *q = r_take(r, 2);
    return q ? (uint16_t)(q[0] | (q[1] << 8)) : 0;
}

static uint32_t r_u32(struct rd *r)
{
    const uint8_t *q = r_take(r, 4);
    return q ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24
             : 0;
}

static uint64_t r_u64(struct rd *r)
{
    const uint8_t *q = r_take(r, 8);
    return q ? get_le64(q) : 0;
}

static double r_f64(struct rd *r)
{
    return bits_f64(r_u64(r));
}

/* A loaded key must decode to a value of the column within [min, max]. */
static int key_ok(const struct col *c, uint64_t key)
{
    if (c->type == GY_TYPE_FLOAT64)
        return key >= f64_key(c->fmin) && key <= f64_key(c->fmax) && key != f64_key(-0.0);
    return key >= i64_key(c->imin) && key <= i64_key(c->imax);
}

static void load_hist(struct rd *r, struct col *c)
{
    struct hist *h = &c->hist;
    int is_f = c->type == GY_TYPE_FLOAT64;
    h->e = (int16_t)r_u16(r);
    h->m0 = (int64_t)r_u64(r);
    h->nb = r_u8(r);
    if (r->rc)
        return;
    int e;
    int64_t m0;
    uint32_t nb;
    hist_shape(is_f, c->fmin, c->fmax, c->imin, c->imax, &e, &m0, &nb);
    if (h->e != e || h->m0 != m0 || h->nb != nb) {
        r_fail(r, "histogram shape does not match min/max");
        return;
    }
    unsigned __int128 sum = 0;
    for (uint32_t i = 0; i < h->nb; i++) {
        h->c[i] = r_u64(r);
        sum += h->c[i];
    }
    if (r->rc)
        return;
    if (h->c[0] == 0 || h->c[h->nb - 1] == 0 || sum != c->nfin)
        r_fail(r, "histogram counts do not add up");
}

static void load_kll(struct rd *r, struct col *c, int version)
{
    struct kll *k = &c->kll;
    uint32_t nl = r_u8(r), below = 0; /* levels under h with compactions */
    unsigned __int128 weight = 0;
    if (r->rc)
        return;
    if (nl == 0 || nl >= KLL_LEVELS) {
        r_fail(r, "bad quantile sketch level count");
        return;
    }
    k->nlevels = nl;
    for (uint32_t h = 0; h < nl && !r->rc; h++) {
        struct kll_level *l = &k->lv[h];
        l->ncompact = r_u64(r);
        l->toggle = r_u8(r);
        uint32_t n = r_u16(r);
        if (r->rc)
            return;
        /* Each compaction at level h consumed at least KLL_K items of weight 2^h. */
        int sh = (int)h + 12;
        uint64_t maxc = sh >= 64 ? 0 : c->nfin >> sh;
        uint32_t cap = h > 0 ? KLL_K : version == 1 ? KLL_B0_V1 : KLL_B0;
        if (l->toggle > 1 || n >= cap || l->ncompact > maxc) {
            r_fail(r, "bad quantile sketch level");
            return;
        }
        if (h > 0 && (n || l->ncompact) && !below) {
            r_fail(r, "quantile sketch level without compactions below");
            return;
        }
        below += l->ncompact != 0;
        if (h + 1 == nl && n == 0) {
            r_fail(r, "empty top quantile sketch level");
            return;
        }
        const uint8_t *q = r_take(r, (size_t)n * 8);
        if (!q)
            return;
        if (n && kll_reserve(l, h, n) != GY_OK) {
            r->rc = GY_E_NOMEM;
            return;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint64_t key = get_le64(q + 8 * (size_t)i);
            if (!key_ok(c, key) || (h > 0 && i > 0 && key < l->items[i - 1])) {
                r_fail(r, "bad quantile sketch item");
                return;
            }
            l->items[i] = key;
        }
        l->n = n;
        weight += (unsigned __int128)n << h;
    }
    if (!r->rc && weight != c->nfin)
        r_fail(r, "quantile sketch weights do not add up");
    if (r->rc)
        return;
    if (k->lv[0].n)
        key_range(k->lv[0].items, k->lv[0].n, &k->lo0, &k->hi0);
    /* Format 1 counted level-0 compactions of bound 1 (see struct kll). */
    if (version == 1) {
        k->nc0_v1 = k->lv[0].ncompact;
        k->lv[0].ncompact = 0;
    }
}

static void load_mg(struct rd *r, struct col *c)
{
    struct mg *g = &c->mg;
    int is_str = c->type == GY_TYPE_STRING;
    uint32_t n = r_u16(r);
    g->dec = r_u64(r);
    if (r->rc)
        return;
    if (n == MG_OFF_MARK && c->type == GY_TYPE_FLOAT64 && g->dec == 0 && c->nfin > MG_MAX) {
        if (mg_init(g) != GY_OK) {
            r->rc = GY_E_NOMEM;
            return;
        }
        mg_stop(g);
        return;
    }
    if (n > MG_MAX || g->dec > c->nfin / (MG_CAP + 1)) {
        r_fail(r, "bad top-value table");
        return;
    }
    if (mg_init(g) != GY_OK) {
        r->rc = GY_E_NOMEM;
        return;
    }
    unsigned __int128 sum = 0;
    for (uint32_t i = 0; i < n && !r->rc; i++) {
        uint64_t key = 0, hash, cnt;
        const uint8_t *sp = NULL;
        uint32_t len = 0;
        int trunc = 0;
        if (is_str) {
            len = r_u16(r);
            trunc = r_u8(r);
            if (r->rc)
                return;
            if (len > MG_STR_MAX || trunc > 1 ||
                (trunc ? len < MG_STR_MAX - 3 || c->len_max <= MG_STR_MAX
                       : len < c->len_min || len > c->len_max)) {
                r_fail(r, "bad top value");
                return;
            }
            if (!(sp = r_take(r, len)))
                return;
            hash = str_hash_stored((const char *)sp, len, trunc, gy_hash64(sp, len, HASH_SEED));
        } else {
            key = r_u64(r);
            if (r->rc)
                return;
            if (!key_ok(c, c->type == GY_TYPE_FLOAT64 ? f64_key(bits_f64(key))
                                                      : i64_key((int64_t)key)) ||
                (c->type == GY_TYPE_FLOAT64 && isnan(bits_f64(key)))) {
                r_fail(r, "bad top value");
                return;
            }
            hash = hash_u64(key);
        }
        cnt = r_u64(r);
        if (r->rc)
            return;
        if (cnt == 0) {
            r_fail(r, "zero top-value count");
            return;
        }
        sum += cnt;
        uint32_t before = g->n;
        if (is_str) {
            if (mg_put_str(g, (const char *)sp, len, trunc, hash, cnt) != GY_OK) {
                r->rc = GY_E_NOMEM;
                return;
            }
        } else {
            mg_add_num(g, key, hash, cnt);
        }
        if (g->n == before) {
            r_fail(r, "duplicate top value");
            return;
        }
    }
    /* Each reduction removed dec_i from at least MG_CAP + 1 counters. */
    sum += (unsigned __int128)g->dec * (MG_CAP + 1);
    if (!r->rc && (sum > c->nfin || (g->dec == 0 && sum != c->nfin)))
        r_fail(r, "top-value counts do not add up");
}

static void load_hll(struct rd *r, struct col *c)
{
    const uint8_t *q = r_take(r, HLL_M);
    if (!q)
        return;
    int any = 0;
    for (uint32_t j = 0; j < HLL_M; j++) {
        if (q[j] > HLL_RMAX) {
            r_fail(r, "bad distinct-count register");
            return;
        }
        any |= q[j];
    }
    if (!any) {
        r_fail(r, "empty distinct-count registers");
        return;
    }
    if (!(c->hll = gy_malloc(HLL_M))) {
        r->rc = GY_E_NOMEM;
        return;
    }
    memcpy(c->hll, q, HLL_M);
}

static void load_column(struct rd *r, struct col *c, const struct gy_column_def *def)
{
    uint8_t t = r_u8(r);
    c->count = r_u64(r);
    c->nulls = r_u64(r);
    if (r->rc)
        return;
    if (t != (uint8_t)def->type) {
        r->rc = gy_error_set(GY_E_SCHEMA,
                             "profile state: column %zu \"%s\": type %u in the state, %s in the "
                             "schema",
                             r->col, def->name ? def->name : "", t, gy_type_name(def->type));
        return;
    }
    if (c->count > MAX_COUNT || c->nulls > MAX_COUNT - c->count) {
        r_fail(r, "bad counts");
        return;
    }
    switch (c->type) {
    case GY_TYPE_FLOAT64:
        c->pos_inf = r_u64(r);
        c->neg_inf = r_u64(r);
        if (r->rc)
            return;
        if (c->pos_inf > c->count || c->neg_inf > c->count - c->pos_inf) {
            r_fail(r, "bad infinity counts");
            return;
        }
        c->nfin = c->count - c->pos_inf - c->neg_inf;
        if (c->nfin) {
            c->fmin = r_f64(r);
            c->fmax = r_f64(r);
            c->mean = r_f64(r);
            c->m2 = r_f64(r);
            if (r->rc)
                return;
            if (!isfinite(c->fmin) || !isfinite(c->fmax) || !(c->fmin <= c->fmax) ||
                f64_bits(c->fmin) == f64_bits(-0.0) || f64_bits(c->fmax) == f64_bits(-0.0) ||
                !(c->mean >= c->fmin && c->mean <= c->fmax) || !(c->m2 >= 0) ||
                (c->nfin == 1 && (c->m2 != 0 || c->fmin != c->fmax))) {
                r_fail(r, "bad moments");
                return;
            }
        }
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        c->nfin = c->count;
        if (c->nfin) {
            c->imin = (int64_t)r_u64(r);
            c->imax = (int64_t)r_u64(r);
            uint64_t lo = r_u64(r), hi = r_u64(r);
            c->m2 = r_f64(r);
            if (r->rc)
                return;
            c->isum = (__int128)(((unsigned __int128)hi << 64) | lo);
            if (c->imin > c->imax || c->isum < (__int128)c->imin * (__int128)c->count ||
                c->isum > (__int128)c->imax * (__int128)c->count || !(c->m2 >= 0) ||
                !isfinite(c->m2) || (c->nfin == 1 && c->m2 != 0)) {
                r_fail(r, "bad moments");
                return;
            }
        }
        break;
    case GY_TYPE_BOOL:
        c->ntrue = r_u64(r);
        if (!r->rc && c->ntrue > c->count)
            r_fail(r, "bad true count");
        return;
    case GY_TYPE_STRING:
        c->nfin = c->count;
        if (c->nfin) {
            c->len_min = r_u64(r);
            c->len_max = r_u64(r);
            c->len_sum = r_u64(r);
            if (r->rc)
                return;
            if (c->len_min > c->len_max || c->len_max > UINT32_MAX ||
                (unsigned __int128)c->len_sum < (unsigned __int128)c->len_min * c->count ||
                (unsigned __int128)c->len_sum > (unsigned __int128)c->len_max * c->count) {
                r_fail(r, "bad string lengths");
                return;
            }
        }
        break;
    }
    if (c->nfin == 0 || r->rc)
        return;
    if (c->type != GY_TYPE_STRING) {
        load_hist(r, c);
        load_kll(r, c, r->version);
    }
    load_mg(r, c);
    load_hll(r, c);
}

enum gy_status gy__profile_load(const void *data, size_t len, const struct gy_schema *schema,
                                struct gy_profile **out)
{
    struct gy_profile *p = NULL;
    struct rd r = {data, len, 0, 0, GY_OK, FORMAT_VERSION};
    enum gy_status rc;

    *out = NULL;
    if (!data && len)
        return gy_error_set(GY_E_INVALID, "profile state: no data");
    if ((rc = gy__profile_create(schema, &p)) != GY_OK)
        return rc;
    const uint8_t *magic = r_take(&r, 4);
    if (magic && memcmp(magic, "GYPF", 4) != 0)
        r_fail(&r, "bad magic");
    uint16_t version = r_u16(&r);
    if (!r.rc && version != FORMAT_VERSION && version != 1) {
        r.rc = gy_error_set(GY_E_UNSUPPORTED,
                            "profile state: format version %u (this build "
                            "reads 1 and %d)",
                            version, FORMAT_VERSION);
    }
    r.version = version;
    uint16_t flags = r_u16(&r);
    uint32_t ncols = r_u32(&r);
    uint16_t kk = r_u16(&r), mgc = r_u16(&r);
    uint8_t hp = r_u8(&r), hb = r_u8(&r);
    uint16_t b0 = r_u16(&r); /* format 1: reserved (0) */
    if (!r.rc && (flags || b0 != (version == 1 ? 0 : KLL_SHAPE)))
        r_fail(&r, "bad header flags");
    if (!r.rc && (kk != KLL_K || mgc != MG_CAP || hp != HLL_P || hb != HIST_BINS))
        r.rc = gy_error_set(GY_E_UNSUPPORTED, "profile state: sketch parameters differ from "
                                              "this build's");
    if (!r.rc && ncols != schema->ncols)
        r.rc = gy_error_set(GY_E_SCHEMA, "profile state: %u columns, schema has %zu", ncols,
                            schema->ncols);
    for (size_t i = 0; i < schema->ncols && !r.rc; i++) {
        r.col = i + 1;
        load_column(&r, &p->cols[i], &schema->cols[i]);
    }
    r.col = 0;
    p->version = version;
    if (!r.rc && r.off != r.n)
        r_fail(&r, "trailing bytes");
    if (r.rc) {
        if (r.rc == GY_E_NOMEM)
            gy_error_set(GY_E_NOMEM, "profile state: out of memory");
        gy__profile_free(p);
        return r.rc;
    }
    *out = p;
    return GY_OK;
}

/* ------------------------------------------------------------------ summary */

/* Quantile of sorted values, numpy.quantile(method="linear"). @p iv: int64 values (or NULL)
 * so differences are taken in integers as numpy does for integer arrays. */
static double quantile_linear(const double *v, const int64_t *iv, size_t n, double q)
{
    double vi = (double)(n - 1) * q;
    if (vi >= (double)(n - 1))
        return v[n - 1];
    double fl = floor(vi);
    size_t lo = (size_t)fl;
    double t = vi - fl;
    double a = v[lo], b = v[lo + 1];
    double diff = iv ? (double)((uint64_t)iv[lo + 1] - (uint64_t)iv[lo]) : b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/* All sketch items sorted by key, with weights (new arrays). */
static enum gy_status kll_flatten(const struct kll *k, uint64_t **keys_out, uint64_t **w_out,
                                  size_t *n_out)
{
    size_t total = 0, n = 0;
    for (uint32_t h = 0; h < k->nlevels; h++)
        total += k->lv[h].n;
    uint64_t *keys = gy_malloc((total ? total : 1) * sizeof *keys);
    uint64_t *w = gy_malloc((total ? total : 1) * sizeof *w);
    uint64_t *tk = gy_malloc((total ? total : 1) * sizeof *tk);
    uint64_t *tw = gy_malloc((total ? total : 1) * sizeof *tw);
    if (!keys || !w || !tk || !tw) {
        gy_free(keys);
        gy_free(w);
        gy_free(tk);
        gy_free(tw);
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    }
    if (k->nlevels) {
        n = k->lv[0].n;
        memcpy(keys, k->lv[0].items, n * sizeof *keys);
        radix_sort(keys, tk, n);
        for (size_t i = 0; i < n; i++)
            w[i] = 1;
    }
    for (uint32_t h = 1; h < k->nlevels; h++) {
        const struct kll_level *l = &k->lv[h];
        size_t i = 0, j = 0, o = 0;
        if (l->n == 0)
            continue; /* levels 1 to KLL_JUMP - 1 are empty but for format-1 state */
        while (i < n || j < l->n) {
            if (j >= l->n || (i < n && keys[i] <= l->items[j])) {
                tk[o] = keys[i];
                tw[o++] = w[i++];
            } else {
                tk[o] = l->items[j++];
                tw[o++] = 1ULL << h;
            }
        }
        memcpy(keys, tk, o * sizeof *keys);
        memcpy(w, tw, o * sizeof *w);
        n = o;
    }
    gy_free(tk);
    gy_free(tw);
    *keys_out = keys;
    *w_out = w;
    *n_out = n;
    return GY_OK;
}

static double key_value(enum gy_type t, uint64_t key)
{
    return t == GY_TYPE_FLOAT64 ? key_f64(key) : (double)key_i64(key);
}

static int jset(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) != 0;
}

static json_t *jcount(uint64_t v)
{
    return json_integer((json_int_t)GY_MIN(v, MAX_COUNT));
}

/* Adds "quantiles" and "quantile_rank_error". */
static enum gy_status summary_quantiles(const struct col *c, json_t *o)
{
    uint64_t *keys = NULL, *w = NULL;
    size_t n = 0;
    double *v = NULL;
    int64_t *iv = NULL;
    int bad = 0;
    enum gy_status rc = kll_flatten(&c->kll, &keys, &w, &n);
    if (rc)
        return rc;
    json_t *q = json_object();
    int exact = kll_exact(&c->kll);
    double lo = c->type == GY_TYPE_FLOAT64 ? c->fmin : (double)c->imin;
    double hi = c->type == GY_TYPE_FLOAT64 ? c->fmax : (double)c->imax;
    if (!q || n == 0) {
        bad = 1;
        goto out;
    }
    if (exact) {
        v = gy_malloc(n * sizeof *v);
        iv = is_int_type(c->type) ? gy_malloc(n * sizeof *iv) : NULL;
        if (!v || (is_int_type(c->type) && !iv)) {
            bad = 1;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            v[i] = key_value(c->type, keys[i]);
            if (iv)
                iv[i] = key_i64(keys[i]);
        }
    }
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += (double)w[i];
    size_t j = 0;
    double cum = (double)w[0];
    for (size_t k = 0; k < GY_ARRAY_LEN(quantile_points); k++) {
        double qq = quantile_points[k].q, x;
        if (qq == 0.0)
            x = lo;
        else if (qq == 1.0)
            x = hi;
        else if (exact)
            x = quantile_linear(v, iv, n, qq);
        else {
            /* The smallest item whose cumulative weight reaches q * N. */
            double target = qq * total;
            while (cum < target && j + 1 < n)
                cum += (double)w[++j];
            x = key_value(c->type, keys[j]);
        }
        bad |= jset(q, quantile_points[k].name, gy_json_real(x));
    }
    bad |= jset(o, "quantiles", q);
    q = NULL;
    bad |= jset(o, "quantile_rank_error",
                json_real(exact ? 0.0 : kll_error(&c->kll) / (double)c->nfin));
out:
    json_decref(q);
    gy_free(keys);
    gy_free(w);
    gy_free(v);
    gy_free(iv);
    return bad ? gy_error_set(GY_E_NOMEM, "profile: out of memory") : GY_OK;
}

static json_t *summary_hist(const struct col *c)
{
    const struct hist *h = &c->hist;
    json_t *o = json_object(), *edges = json_array(), *counts = json_array();
    int bad = !o || !edges || !counts;
    for (uint32_t i = 0; i <= h->nb && !bad; i++) {
        double x = ldexp((double)(h->m0 + (int64_t)i), h->e);
        x = clampd(x, -DBL_MAX, DBL_MAX);
        bad |= json_array_append_new(edges, json_real(x)) != 0;
        if (i < h->nb)
            bad |= json_array_append_new(counts, jcount(h->c[i])) != 0;
    }
    if (!bad) {
        bad |= jset(o, "edges", edges);
        edges = NULL;
        bad |= jset(o, "counts", counts);
        counts = NULL;
    }
    json_decref(edges);
    json_decref(counts);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct top_item {
    uint64_t count;
    const struct mg_entry *e;
    const char *s;
    enum gy_type type;
};

static int top_cmp(const void *pa, const void *pb)
{
    const struct top_item *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    switch (a->type) {
    case GY_TYPE_FLOAT64: {
        double x = bits_f64(a->e->key), y = bits_f64(b->e->key);
        return x < y ? -1 : x > y;
    }
    case GY_TYPE_STRING: {
        size_t n = GY_MIN(a->e->len, b->e->len);
        int r = n ? memcmp(a->s, b->s, n) : 0;
        if (r)
            return r;
        if (a->e->len != b->e->len)
            return a->e->len < b->e->len ? -1 : 1;
        return (int)a->e->trunc - (int)b->e->trunc;
    }
    default: {
        int64_t x = (int64_t)a->e->key, y = (int64_t)b->e->key;
        return x < y ? -1 : x > y;
    }
    }
}

/* A JSON string for stored bytes; invalid UTF-8 (possible only in hand-made batches) is
 * replaced byte by byte with U+FFFD. */
static json_t *json_bytes(const char *p, size_t len)
{
    json_t *s = json_stringn(p, len);
    if (s)
        return s;
    struct gy_buf b;
    gy_buf_init(&b, 4 * len + 16);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x80 && ch != 0) {
            gy_buf_putc(&b, (char)ch);
        } else {
            json_t *one = NULL;
            size_t k = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC0 ? 2 : 1;
            if (k > 1 && i + k <= len && (one = json_stringn(p + i, k)) != NULL) {
                gy_buf_append(&b, p + i, k);
                i += k - 1;
                json_decref(one);
            } else {
                gy_buf_puts(&b, "\xEF\xBF\xBD");
            }
        }
    }
    s = b.data ? json_stringn(b.data, b.len) : json_string("");
    gy_buf_free(&b);
    return s;
}

static json_t *top_value(const struct col *c, const struct top_item *t)
{
    switch (c->type) {
    case GY_TYPE_FLOAT64:
        return gy_json_real(bits_f64(t->e->key));
    case GY_TYPE_STRING:
        return json_bytes(t->s, t->e->len);
    default:
        return json_integer((json_int_t)t->e->key);
    }
}

/* Adds "top", "top_exact", "top_error" and "distinct". */
static int summary_top(const struct col *c, json_t *o)
{
    int bad = 0;
    json_t *top = json_array();
    if (!top)
        return 1;
    if (c->type == GY_TYPE_BOOL) {
        uint64_t nf = c->count - c->ntrue;
        int first = c->ntrue > nf ? 1 : 0; /* ties: false before true */
        for (int k = 0; k < 2; k++) {
            int val = k == 0 ? first : !first;
            uint64_t cnt = val ? c->ntrue : nf;
            if (cnt)
                bad |=
                    json_array_append_new(top, json_pack("{s:b, s:I}", "value", val, "count",
                                                         (json_int_t)GY_MIN(cnt, MAX_COUNT))) != 0;
        }
        bad |= jset(o, "top", top);
        bad |= jset(o, "top_exact", json_true());
        bad |= jset(o, "distinct", json_integer((c->ntrue > 0) + (nf > 0)));
        return bad;
    }
    const struct mg *g = &c->mg;
    if (g->off) {
        /* A float64 column with more than MG_MAX distinct values: no top values are kept,
         * so every count is "low" by at most the number of values. */
        uint64_t distinct = 0;
        if (c->hll) {
            double est = round(hll_estimate(c->hll));
            distinct = est >= (double)c->nfin ? c->nfin : (uint64_t)est;
        }
        distinct = GY_MAX(distinct, (uint64_t)MG_MAX + 1); /* that many were seen */
        distinct += (c->pos_inf > 0) + (c->neg_inf > 0);
        bad |= jset(o, "top", top);
        bad |= jset(o, "top_exact", json_false());
        bad |= jset(o, "top_error", jcount(c->nfin));
        bad |= jset(o, "top_tracked", json_false());
        bad |= jset(o, "distinct", jcount(distinct));
        return bad;
    }
    struct top_item *items = gy_calloc(g->n ? g->n : 1, sizeof *items);
    if (!items) {
        json_decref(top);
        return 1;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        items[i].count = g->e[i].count;
        items[i].e = &g->e[i];
        items[i].s = c->type == GY_TYPE_STRING ? mg_str(g, &g->e[i]) : NULL;
        items[i].type = c->type;
    }
    qsort(items, g->n, sizeof *items, top_cmp);
    for (uint32_t i = 0; i < g->n && i < TOP_N && !bad; i++) {
        json_t *t = json_object();
        bad |= !t;
        if (t) {
            bad |= jset(t, "value", top_value(c, &items[i]));
            bad |= jset(t, "count", jcount(items[i].count));
            if (items[i].e->trunc)
                bad |= jset(t, "truncated", json_true());
            bad |= json_array_append_new(top, t) != 0;
        }
    }
    gy_free(items);
    bad |= jset(o, "top", top);
    bad |= jset(o, "top_exact", json_boolean(g->dec == 0));
    bad |= jset(o, "top_error", jcount(g->dec));
    uint64_t distinct = g->n;
    if (g->dec && c->hll) {
        double est = round(hll_estimate(c->hll));
        distinct = est >= (double)c->nfin ? c->nfin : (uint64_t)est;
        distinct = GY_MAX(distinct, (uint64_t)g->n);
    }
    distinct += (c->pos_inf > 0) + (c->neg_inf > 0);
    bad |= jset(o, "distinct", jcount(distinct));
    return bad;
}

/* Timestamps between years 1 and 9999 get an RFC 3339 form. */
static int summary_time(json_t *o, const char *key, int64_t us)
{
    if (us < -62135596800000000LL || us > 253402300799999999LL)
        return 0;
    char buf[32];
    gy_time_format(us, buf);
    return jset(o, key, json_string(buf));
}

static enum gy_status summary_column(const struct col *c, const char *name, json_t **out)
{
    json_t *o = json_object();
    int bad = !o;
    *out = NULL;
    if (bad)
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    bad |= jset(o, "name", json_string(name ? name : ""));
    bad |= jset(o, "type", json_string(gy_type_name(c->type)));
    bad |= jset(o, "count", jcount(c->count));
    bad |= jset(o, "nulls", jcount(c->nulls));
    switch (c->type) {
    case GY_TYPE_FLOAT64:
        bad |= jset(o, "pos_inf", jcount(c->pos_inf));
        bad |= jset(o, "neg_inf", jcount(c->neg_inf));
        if (c->nfin) {
            bad |= jset(o, "min", gy_json_real(c->fmin));
            bad |= jset(o, "max", gy_json_real(c->fmax));
            bad |= jset(o, "mean", gy_json_real(c->mean));
        }
        break;
    case GY_TYPE_INT64:
    case GY_TYPE_TIMESTAMP:
        if (c->nfin) {
            bad |= jset(o, "min", json_integer(c->imin));
            bad |= jset(o, "max", json_integer(c->imax));
            bad |= jset(o, "mean", gy_json_real(int_mean(c)));
        }
        break;
    case GY_TYPE_BOOL:
        bad |= jset(o, "true", jcount(c->ntrue));
        break;
    case GY_TYPE_STRING:
        if (c->nfin) {
            bad |= jset(o, "min_length", jcount(c->len_min));
            bad |= jset(o, "max_length", jcount(c->len_max));
            bad |= jset(o, "mean_length", json_real((double)c->len_sum / (double)c->count));
        }
        break;
    }
    if (c->type != GY_TYPE_BOOL && c->type != GY_TYPE_STRING && c->nfin) {
        if (c->nfin >= 2 && isfinite(c->m2))
            bad |= jset(o, "std", gy_json_real(sqrt(c->m2 / (double)(c->nfin - 1))));
        if (c->type == GY_TYPE_TIMESTAMP) {
            bad |= summary_time(o, "min_time", c->imin);
            bad |= summary_time(o, "max_time", c->imax);
        }
        if (!bad && summary_quantiles(c, o) != GY_OK)
            bad = 1;
        bad |= jset(o, "histogram", summary_hist(c));
    }
    if (!bad)
        bad |= summary_top(c, o);
    if (bad) {
        json_decref(o);
        return gy_error_set(GY_E_NOMEM, "profile: out of memory");
    }
    *out = o;
    return GY_OK;
}

enum gy_status gy__profile_summary(const struct gy_profile *p, json_t **out)
{
    json_t *root = json_object(), *cols = json_array();
    enum gy_status rc = GY_OK;
    *out = NULL;
    if (!root || !cols) {
        rc = gy_error_set(GY_E_NOMEM, "profile: out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->schema->ncols && rc == GY_OK; i++) {
        json_t *c;
        rc = summary_column(&p->cols[i], p->schema->cols[i].name, &c);
        if (rc == GY_OK && json_array_append_new(cols, c) != 0)
            rc = gy_error_set(GY_E_NOMEM, "profile: out of memory");
    }
    if (rc == GY_OK && jset(root, "columns", cols) != 0)
        rc = gy_error_set(GY_E_NOMEM, "profile: out of memory");
    cols = NULL;
    if (rc == GY_OK) {
        *out = root;
        root = NULL;
    }
out:
    json_decref(cols);
    json_decref(root);
    return rc;
}
