/* SPDX-License-Identifier: MIT */
/*
 * monitor_int.h - private to src/monitor: the accumulator's layout, weighted sorted views
 * that the KS and Wasserstein code walk for both exact samples and sketches, and helpers
 * shared between the module's files.
 */
#ifndef GY_MONITOR_INT_H
#define GY_MONITOR_INT_H

#include "monitor/monitor.h"

#define GY_MONITOR_DEFAULT_EXACT_LIMIT ((size_t)4000000)
#define GY_MONITOR_MAX_EXACT_LIMIT ((size_t)1 << 30)
#define GY_MONITOR_DEFAULT_SKETCH_K 4096u
#define GY_MONITOR_DEFAULT_MAX_CATEGORIES ((size_t)100000)
#define GY_MONITOR_PSI_DECILES 9         /* cut points: 10 bins between the reference min and max */
#define GY_MONITOR_MAX_CATEGORY_LEN 1024 /* longer category values are truncated */

/**
 * A sorted sample with integer weights: an exact sample (w == NULL, every weight 1) or the
 * retained items of a sketch. total is the sum of weights.
 */
struct gy__monitor_view {
    const double *v;
    const uint64_t *w;
    size_t len;
    uint64_t total;
    uint64_t rank_error; /* bound on |estimated rank - true rank|, in items */
};

/**
 * Exact numeric accumulator: computes numpy.mean/std of its values in arrival order (once),
 * then sorts them. GY_E_NOMEM.
 */
enum gy_status gy__monitor_acc_finish(struct gy_monitor_acc *a);

/** KS statistic max |F - G| over weighted views (used when a side is a sketch). */
double gy__monitor_ks_views(const struct gy__monitor_view *a, const struct gy__monitor_view *b);
/** Wasserstein-1 over weighted views. */
double gy__monitor_wasserstein_views(const struct gy__monitor_view *a,
                                     const struct gy__monitor_view *b);
/** Number of items <= x in a view (weighted). */
uint64_t gy__monitor_view_rank(const struct gy__monitor_view *a, double x);
/** The q quantile of a view (numpy 'linear' on exact views; by rank on weighted ones). */
double gy__monitor_view_quantile(const struct gy__monitor_view *a, double q);

/**
 * The sketch's items merged into one sorted weighted array (new: *v and *w freed by the
 * caller with gy_free). GY_E_NOMEM.
 */
enum gy_status gy__monitor_sketch_view(const struct gy_monitor_sketch *s, double **v, uint64_t **w,
                                       struct gy__monitor_view *out);
double gy__monitor_sketch_min(const struct gy_monitor_sketch *s);
double gy__monitor_sketch_max(const struct gy_monitor_sketch *s);

/** One category and its count (open addressing; name NULL marks an empty slot). */
struct gy__monitor_cat {
    char *name;
    size_t len;
    uint64_t hash;
    uint64_t count;
};

/** Hash of a category value (already truncated to GY_MONITOR_MAX_CATEGORY_LEN). */
static inline uint64_t gy__monitor_cat_hash(const char *s, size_t len)
{
    return gy_hash64(s, len, 0x6779726564726966ULL);
}

struct gy_monitor_acc;
/** Looks up a category of a categorical accumulator (NULL when absent). */
const struct gy__monitor_cat *gy__monitor_cat_lookup(const struct gy_monitor_acc *a, const char *s,
                                                     size_t len, uint64_t h);

struct gy_monitor_acc {
    enum gy_monitor_kind kind;
    struct gy_monitor_acc_opts opts;
    uint64_t rows;
    uint64_t missing;
    /* numeric */
    double *vals;
    size_t nvals, cap;
    int sorted;
    struct gy_monitor_sketch *sk;
    double vmin, vmax;
    uint64_t nfinite; /* values (exact or sketched) */
    double mean, m2;  /* Welford, for the sketched case */
    int have_moments; /* ex_mean/ex_std hold numpy.mean/std of vals in arrival order */
    double ex_mean, ex_std;
    int has_bins; /* bins frozen from a reference */
    double cuts[GY_MONITOR_PSI_DECILES];
    double bin_lo, bin_hi;                     /* reference min and max */
    uint64_t bins[GY_MONITOR_PSI_DECILES + 3]; /* under, 10 deciles, over */
    /* categorical */
    struct gy__monitor_cat *cats;
    size_t ncats, catcap;
    uint64_t cat_overflow; /* values of categories beyond max_categories */
    /* binary */
    uint64_t ntrue, nfalse;
};

/*
 * gy_monitor_check_datasets with only the rows of the current side whose byte in @p cur_mask
 * (@p cur_nmask bytes, one per row of the version) is set; @p cur_label (may be NULL) names
 * the current side in the report.
 */
enum gy_status gy__monitor_check_masked(struct gy_db *db, const char *ref_name, int64_t ref_version,
                                        const char *cur_name, int64_t cur_version,
                                        const uint8_t *cur_mask, uint64_t cur_nmask,
                                        const char *cur_label, const char *const *features,
                                        size_t nfeatures, const struct gy_monitor_config *cfg,
                                        struct gy_monitor_report **out);

#endif /* GY_MONITOR_INT_H */
