/* SPDX-License-Identifier: MIT */
/**
 * monitor.h - drift detection and data quality: the statistics (two-sample Kolmogorov-Smirnov
 * with SciPy's p-values, PSI, normalized Wasserstein-1, chi-square homogeneity, Jensen-Shannon
 * distance, two-proportion z-test, Benjamini-Hochberg), per-feature accumulators that windows
 * of values are fed into incrementally (exact up to a limit, then a quantile sketch with a
 * tracked rank-error bound), the per-feature comparison with its decision rule, the
 * dataset-level verdict, and JSON and HTML reports.
 *
 * Every statistic equals SciPy 1.10 / NumPy 1.24 on the same input to 1e-9 relative (see
 * docs/internals/monitor.md for the exact semantics chosen). Nothing here returns NaN: a
 * comparison without enough data says so in its status.
 *
 * Thread-safety: the pure statistics are thread-safe; an accumulator or report must not be
 * used from two threads at once.
 */
#ifndef GY_MONITOR_H
#define GY_MONITOR_H

#include "base/base.h"
#include "db/db.h"
#include "lake/lake.h"

/* ------------------------------------------------------------------ special functions */

/**
 * Survival function of the two-sided one-sample Kolmogorov-Smirnov statistic D_n, i.e.
 * scipy.stats.kstwo.sf(x, n) (Simard & L'Ecuyer's choice among Ruben-Gambino, Durbin's matrix
 * (Marsaglia-Tsang-Wang), Pomeranz, Pelz-Good and 2*smirnov). NaN only when n < 1.
 */
double gy_monitor_kstwo_sf(int64_t n, double x);

/** One-sided Smirnov survival function Pr(D_n^+ >= x), i.e. scipy.special.smirnov(n, x). */
double gy_monitor_smirnov(int64_t n, double x);

/** Regularized upper incomplete gamma Q(a, x) (Cephes igamc), a > 0, x >= 0. */
double gy_monitor_igamc(double a, double x);

/** Chi-square survival function with @p dof degrees of freedom: Q(dof/2, x/2). */
double gy_monitor_chi2_sf(double x, double dof);

/** Standard normal survival function 1 - Phi(z), as scipy.stats.norm.sf (Cephes ndtr(-z)). */
double gy_monitor_norm_sf(double z);

/* ------------------------------------------------------------------ statistics */

/**
 * Sorts @p n doubles ascending with an LSD radix sort on their IEEE-754 bit patterns
 * (-0.0 becomes +0.0). The values must not be NaN. @p tmp is scratch of n doubles, or NULL
 * to allocate it (GY_E_NOMEM).
 */
enum gy_status gy_monitor_sort(double *v, size_t n, double *tmp);

enum gy_monitor_ks_method {
    GY_MONITOR_KS_EXACT = 1,      /* lattice-path count (SciPy's 'exact') */
    GY_MONITOR_KS_ASYMPTOTIC = 2, /* kstwo.sf(D, round(n*m/(n+m))) */
};

struct gy_monitor_ks {
    double statistic;
    double p_value;
    enum gy_monitor_ks_method method;
};

/**
 * Two-sample two-sided KS test on sorted samples (n, m >= 1), exactly as
 * scipy.stats.ks_2samp(x, y, method='auto'): the statistic is max |F_x - G_y| over every
 * pooled value; the p-value is exact when max(n, m) <= 10000 (and the statistic is then
 * rounded to h/lcm(n, m) as SciPy does), asymptotic otherwise or when the exact computation
 * fails.
 */
void gy_monitor_ks_sorted(const double *x, size_t n, const double *y, size_t m,
                          struct gy_monitor_ks *out);

/**
 * The same test on unsorted samples (n, m >= 1, no NaN), without sorting them: both are
 * counted into 65536 order-preserving buckets, which gives the exact CDF difference at each
 * bucket's last value and a bound inside it; only the buckets whose bound reaches the best
 * difference are gathered and merged exactly. Same statistic and p-value as sorting (it falls
 * back to sorting on small or heavily tied inputs). GY_E_NOMEM, GY_E_INVALID for empty input.
 */
enum gy_status gy_monitor_ks_2samp(const double *x, size_t n, const double *y, size_t m,
                                   struct gy_monitor_ks *out);

/**
 * The p-value part of ks_2samp for a statistic @p d: *d_out receives the statistic SciPy
 * reports (h/lcm in the exact case, @p d otherwise). @p force_asymptotic skips the exact path.
 */
double gy_monitor_ks_pvalue(uint64_t n, uint64_t m, double d, int force_asymptotic,
                            enum gy_monitor_ks_method *method, double *d_out);

/**
 * Wasserstein-1 distance between two sorted samples (n, m >= 1), as
 * scipy.stats.wasserstein_distance(x, y).
 */
double gy_monitor_wasserstein_sorted(const double *x, size_t n, const double *y, size_t m);

/** The @p q quantile of a sorted sample (n >= 1) as numpy.quantile(v, q) ('linear'). */
double gy_monitor_quantile_sorted(const double *v, size_t n, double q);

/** Mean and population standard deviation (ddof=0) as numpy.mean/numpy.std (pairwise sums). */
void gy_monitor_mean_std(const double *v, size_t n, double *mean, double *std);

/** Sum of @p n doubles in NumPy's pairwise order (what numpy.sum returns). */
double gy_monitor_sum(const double *v, size_t n);

/**
 * Bins @p n values on @p ncuts ascending cut points the way
 * numpy.searchsorted(cuts, x, side='right') does and adds to counts[0..ncuts]: bin i holds
 * cuts[i-1] <= x < cuts[i]. Values must not be NaN. Branch-free; 1e6 values take ~1 ms.
 */
void gy_monitor_bin_count(const double *cuts, size_t ncuts, const double *x, size_t n,
                          uint64_t *counts);

/** PSI = sum (q_i - p_i) * ln(q_i / p_i) over proportions that are all > 0. */
double gy_monitor_psi(const double *p, const double *q, size_t k);

/**
 * Jensen-Shannon distance between two count or probability vectors, as
 * scipy.spatial.distance.jensenshannon(p, q, base) (each normalized by its sum; base <= 0
 * means natural log). Both sums must be > 0.
 */
double gy_monitor_jensenshannon(const double *p, const double *q, size_t k, double base);

struct gy_monitor_chi2 {
    double statistic;
    double p_value;
    int dof;
};

/**
 * Chi-square test of homogeneity on the 2 x k table (row0, row1), as
 * scipy.stats.chi2_contingency(table) with its defaults (Yates' correction when dof == 1;
 * dof == 0 gives statistic 0 and p 1). GY_E_INVALID when a row or a column sums to zero
 * (SciPy raises there).
 */
enum gy_status gy_monitor_chi2_contingency(const double *row0, const double *row1, size_t k,
                                           struct gy_monitor_chi2 *out);

/**
 * Two-proportion z-test: x1 successes of n1 against x2 of n2 (n1, n2 >= 1), pooled variance;
 * p = 2 * norm.sf(|z|). When both samples hold one and the same value, z = 0 and p = 1.
 */
void gy_monitor_ztest_2prop(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z,
                            double *p);

/**
 * Benjamini-Hochberg adjusted p-values (as scipy.stats.false_discovery_control(p, 'bh')):
 * adj[i] = min over p_(j) >= p_i of p_(j) * m / j, capped at 1. GY_E_NOMEM.
 */
enum gy_status gy_monitor_bh_adjust(const double *p, size_t m, double *adj);

/* ------------------------------------------------------------------ quantile sketch */

/**
 * A deterministic compacting quantile sketch (Manku-Rajagopalan-Lindsay levels of k items,
 * alternating offsets, as in KLL without randomness). It tracks an exact bound on its rank
 * error: for any x, |estimated #items <= x - true #items <= x| <= gy_monitor_sketch_error()
 * items. That bound is at most (n / k) * (log2(n / k) + 1): 0.38% of n at n = 1e8, k = 4096.
 */
struct gy_monitor_sketch;

/** Creates an empty sketch with level capacity @p k (even, 16..1<<20). *out new. */
enum gy_status gy_monitor_sketch_create(uint32_t k, struct gy_monitor_sketch **out);
void gy_monitor_sketch_free(struct gy_monitor_sketch *s);
/** Adds @p n finite values. GY_E_NOMEM. */
enum gy_status gy_monitor_sketch_add(struct gy_monitor_sketch *s, const double *v, size_t n);
/** Adds everything in @p src to @p dst (same k). GY_E_INVALID for different k. */
enum gy_status gy_monitor_sketch_merge(struct gy_monitor_sketch *dst,
                                       const struct gy_monitor_sketch *src);
/** Items added. */
uint64_t gy_monitor_sketch_count(const struct gy_monitor_sketch *s);
/** The rank-error bound in items (0 until the first compaction). */
uint64_t gy_monitor_sketch_error(const struct gy_monitor_sketch *s);
/** Estimated number of items <= x. */
uint64_t gy_monitor_sketch_rank(const struct gy_monitor_sketch *s, double x);

/* ------------------------------------------------------------------ accumulators */

/** How a feature is compared. */
enum gy_monitor_kind {
    GY_MONITOR_NUMERIC = 1,     /* KS, PSI, Wasserstein; out-of-range share */
    GY_MONITOR_CATEGORICAL = 2, /* chi-square, Jensen-Shannon; unseen share */
    GY_MONITOR_BINARY = 3,      /* two-proportion z-test, Jensen-Shannon */
};

/** "numeric", "categorical", "binary" (static). */
const char *gy_monitor_kind_name(enum gy_monitor_kind k);

struct gy_monitor_acc_opts {
    /** Numeric values kept exactly; past this the accumulator switches to the sketch
     * (default 4,000,000; 0 = default). */
    size_t exact_limit;
    /** Level capacity of the sketch (default 4096). */
    uint32_t sketch_k;
    /** Distinct categories counted exactly (default 100,000); more are counted as
     * "overflow" and compare as "other". */
    size_t max_categories;
};

/**
 * One feature's values in one window (or the reference): missing count, numeric values
 * (exact, then sketched), optional exact counts on frozen reference bins, category counts or
 * true/false counts. Feed it incrementally; merge windows; compare against a reference.
 */
struct gy_monitor_acc;

/** Creates an empty accumulator. @p opts may be NULL (defaults). *out new. */
enum gy_status gy_monitor_acc_create(enum gy_monitor_kind kind,
                                     const struct gy_monitor_acc_opts *opts,
                                     struct gy_monitor_acc **out);
void gy_monitor_acc_free(struct gy_monitor_acc *a);
/** Empties it (a new tumbling window), keeping frozen bins. */
void gy_monitor_acc_reset(struct gy_monitor_acc *a);
enum gy_monitor_kind gy_monitor_acc_kind(const struct gy_monitor_acc *a);
/** Rows offered so far (values plus missing). */
uint64_t gy_monitor_acc_rows(const struct gy_monitor_acc *a);

/** Numeric: adds values; NaN and +-inf count as missing. GY_E_INVALID for other kinds. */
enum gy_status gy_monitor_acc_add_f64(struct gy_monitor_acc *a, const double *v, size_t n);
/** Adds @p n missing values (any kind). */
enum gy_status gy_monitor_acc_add_missing(struct gy_monitor_acc *a, uint64_t n);
/** Categorical: adds one value of @p len bytes (not NUL-terminated). */
enum gy_status gy_monitor_acc_add_str(struct gy_monitor_acc *a, const char *s, size_t len);
/** Binary: adds one true (v != 0) or false value. */
enum gy_status gy_monitor_acc_add_bool(struct gy_monitor_acc *a, int v);
/**
 * Adds a lake column batch: float64/int64 to numeric, string to categorical, bool to binary
 * (int64 and bool also feed categorical as their decimal/"true"/"false" text); invalid rows
 * are missing. GY_E_SCHEMA when the column type cannot feed this kind.
 */
enum gy_status gy_monitor_acc_add_colvec(struct gy_monitor_acc *a, const struct gy_colvec *c);
/** Adds everything in @p src to @p dst (same kind). */
enum gy_status gy_monitor_acc_merge(struct gy_monitor_acc *dst, const struct gy_monitor_acc *src);
/**
 * Numeric reference: computes its PSI bins (the deciles, as numpy.quantile) so that windows
 * can count into them exactly with gy_monitor_acc_use_bins. GY_NOT_FOUND when it holds no
 * values. Called by gy_monitor_compare when needed.
 */
enum gy_status gy_monitor_acc_freeze_bins(struct gy_monitor_acc *ref);
/**
 * Numeric window: counts every value from now on (and those already added) into the frozen
 * bins of @p ref, which keeps PSI exact after the window switched to its sketch.
 */
enum gy_status gy_monitor_acc_use_bins(struct gy_monitor_acc *cur,
                                       const struct gy_monitor_acc *ref);

/* ------------------------------------------------------------------ comparison */

/** Per-feature threshold override (a NULL feature name applies to every feature). */
struct gy_monitor_threshold {
    const char *feature;
    const char *statistic; /* "psi", "wasserstein_norm", "jensenshannon", "alpha" */
    double value;
};

struct gy_monitor_config {
    double alpha;            /* significance after Benjamini-Hochberg (0.05) */
    double psi;              /* PSI threshold (0.1) */
    double wasserstein_norm; /* normalized Wasserstein threshold (0.1) */
    double jensenshannon;    /* JS distance (base 2) threshold (0.1) */
    /** Effect size of numeric features: "wasserstein_norm" (default) or "psi". */
    const char *numeric_effect;
    double drift_share;   /* dataset drifts when this share of features drift (0.5) */
    size_t top_important; /* ... or any of this many most important features (5) */
    /** Feature names, most important first (may be NULL). Borrowed. */
    const char *const *importance;
    size_t nimportance;
    size_t top_categories;          /* categories kept by name; the rest is "other" (20) */
    size_t small_window;            /* fewer values than this get a warning (500) */
    double quality_missing;         /* alert: missing rate up by more than this (0.05) */
    double quality_range;           /* alert: share out of the reference range above (0.05) */
    double quality_unseen;          /* alert: share of unseen categories above (0.05) */
    struct gy_monitor_acc_opts acc; /* how values are accumulated */
    const struct gy_monitor_threshold *overrides; /* borrowed */
    size_t noverrides;
};

/** Fills @p c with the defaults above. */
void gy_monitor_config_init(struct gy_monitor_config *c);
/** Checks ranges (alpha in (0,1), thresholds >= 0, ...); GY_E_INVALID names the field. */
enum gy_status gy_monitor_config_check(const struct gy_monitor_config *c);

enum gy_monitor_status {
    GY_MONITOR_OK = 0,
    GY_MONITOR_NOT_ENOUGH_DATA = 1, /* a side has no non-missing value */
    GY_MONITOR_SKIPPED = 2,         /* not compared (type, absent from one side) */
};

/** A histogram of both sides for the report: numeric bins or category labels. */
struct gy_monitor_hist {
    size_t nbins;
    double *edges; /* nbins + 1 edges (numeric), or NULL */
    char **labels; /* nbins labels (categorical/binary), or NULL */
    double *ref;   /* proportions per bin */
    double *cur;
};

struct gy_monitor_feature {
    char *name;
    enum gy_monitor_kind kind;
    enum gy_monitor_status status;
    char *message;                   /* why not compared, or NULL */
    char *warning;                   /* small window, approximate statistics, or NULL */
    uint64_t rows_ref, rows_cur;     /* rows including missing */
    uint64_t values_ref, values_cur; /* non-missing */
    /* numeric */
    struct gy_monitor_ks ks;
    int ks_approximate; /* from a sketch: D within +-ks_rank_error; p asymptotic at D - eps */
    double ks_rank_error;
    double psi;
    double wasserstein;
    double wasserstein_norm;
    double ref_mean, ref_std, cur_mean, cur_std;
    double ref_min, ref_max;
    /* categorical and binary */
    struct gy_monitor_chi2 chi2;
    double jensenshannon;
    double z, z_p_value;
    double prop_ref, prop_cur; /* binary: share of true */
    /* decision */
    const char *effect_name; /* static */
    double effect, effect_threshold;
    const char *test_name; /* static: "ks", "chi2", "z" */
    double p_value, p_adjusted, alpha;
    int drift;
    int importance_rank; /* 1 = most important, 0 = not ranked */
    /* quality */
    double missing_ref, missing_cur;
    double out_of_range; /* numeric: share of current values outside [ref min, ref max] */
    double unseen;       /* categorical: share of current values never seen in reference */
    int quality_alert;
    char *quality_message;
    struct gy_monitor_hist hist;
    /** 1: a prediction record (served outputs against the model's own training scores;
     * statistics psi, chi2 and jensenshannon on the score histogram); 0: a model input. */
    int prediction;
};

/**
 * Compares one feature: @p cur against @p ref (same kind) under @p cfg. Accumulators are
 * finalized (sorted) in place. @p out is filled (its strings and arrays are new: free with
 * gy_monitor_feature_clear). The decision fields are left for gy_monitor_decide. Not enough
 * data is a status, not an error; errors are GY_E_NOMEM and GY_E_INVALID (kinds differ).
 */
enum gy_status gy_monitor_compare(const char *name, struct gy_monitor_acc *ref,
                                  struct gy_monitor_acc *cur, const struct gy_monitor_config *cfg,
                                  struct gy_monitor_feature *out);
void gy_monitor_feature_clear(struct gy_monitor_feature *f);

struct gy_monitor_report {
    char *reference; /* "NAME@V" or a description */
    char *current;
    uint64_t rows_ref, rows_cur;
    struct gy_monitor_config cfg; /* copy; overrides/importance not kept */
    struct gy_monitor_feature *features;
    size_t nfeatures;
    size_t checked, drifted;
    double share;
    int drift;
    char *reason;
    int64_t created_us;
    /* prediction drift: a separate verdict over the prediction records (any drifted output) */
    size_t prediction_checked, prediction_drifted;
    int prediction_drift;
    /* the window of served traffic, for deployment reports (window_kind NULL: none) */
    const char *window_kind;          /* static: "all", "sliding", "tumbling" */
    const char *window_unit;          /* static: "rows" or "time" (NULL for "all") */
    int64_t window_size;              /* rows, or microseconds */
    int64_t window_start, window_end; /* tumbling: log row positions [start, end) or times (us) */
};

/**
 * Applies the decision rule to the features of @p r: Benjamini-Hochberg across the p-values of
 * compared features; a feature drifts when its effect size is >= its threshold and its
 * adjusted p-value < alpha; the dataset drifts when drifted/checked >= drift_share or any of
 * the top_important most important features drifts. Sets quality alerts. GY_E_NOMEM.
 */
enum gy_status gy_monitor_decide(struct gy_monitor_report *r, const struct gy_monitor_config *cfg);

/**
 * Offline check: reads @p ref_name@ref_version and @p cur_name@cur_version (0 = latest)
 * through the lake scan API, one column at a time, compares every feature present in both
 * (or only @p features, when given) and decides. *out new (gy_monitor_report_free).
 * GY_NOT_FOUND for an unknown dataset, version or named feature.
 */
enum gy_status gy_monitor_check_datasets(struct gy_db *db, const char *ref_name,
                                         int64_t ref_version, const char *cur_name,
                                         int64_t cur_version, const char *const *features,
                                         size_t nfeatures, const struct gy_monitor_config *cfg,
                                         struct gy_monitor_report **out);

void gy_monitor_report_free(struct gy_monitor_report *r);

/** The report as JSON (documented in docs/drift.md). *out new. */
enum gy_status gy_monitor_report_json(const struct gy_monitor_report *r, json_t **out);

/**
 * A self-contained HTML page (inline CSS and SVG, no external resources): verdict, summary
 * table, per-feature overlaid histograms, statistics with thresholds, data quality.
 */
enum gy_status gy_monitor_report_html(const struct gy_monitor_report *r, struct gy_buf *out);

/* ------------------------------------------------------------------ deployments */

/** Which logged requests of a deployment a report covers. */
struct gy_monitor_window {
    int64_t model_version;  /* only the rows this model version answered; 0 = the version of the
                             * latest logged row */
    uint64_t last_rows;     /* sliding: only the last N of those rows; 0 = all */
    int64_t last_us;        /* sliding: only rows whose time is at most this old (us); 0 = off */
    uint64_t tumbling_rows; /* tumbling (gy_monitor_check_tumbling): windows of N rows */
    int64_t tumbling_us;    /* tumbling: windows of this duration (us), aligned to the epoch */
};

/**
 * Parses a duration: a positive whole number with a unit "ms", "s", "m", "h", "d" or "w"
 * ("90s", "1h"), at most 10 years. *us: microseconds. GY_E_INVALID otherwise.
 */
enum gy_status gy_monitor_duration_parse(const char *s, int64_t *us);

/**
 * Parses a window spec "rows:N" (N in 1..10^9) or "time:DURATION": exactly one of *rows and
 * *us is set, the other 0. GY_E_INVALID otherwise.
 */
enum gy_status gy_monitor_window_parse(const char *s, uint64_t *rows, int64_t *us);

/** The tumbling window a report covers, and the state key it advances. */
struct gy_monitor_tumble {
    char spec[96];      /* state key: "rows:N" or "time:Dus", "/vV" when a version was asked */
    int64_t start, end; /* log row positions [start, end) or times [start, end) in us */
    char reason[256];   /* when no full new window: why (for people) */
};

/**
 * Served-traffic check: reads the deployment's prediction log (dataset "predlog-DEPLOYMENT",
 * latest version), keeps the rows of @p win, and compares their logged model inputs with the
 * training data of the model version that answered them (its lineage dataset@version from the
 * registry). Only the model's input columns are compared: the log's own columns (request_id,
 * time, deployment, variant, model_version, latency_us, output_*) are not, nor any training
 * column that the log lacks (the target, dropped columns). *out new. GY_NOT_FOUND when the
 * deployment has no log, no row matches, or the model version has no lineage dataset.
 */
enum gy_status gy_monitor_check_deployment(struct gy_db *db, const char *deployment,
                                           const struct gy_monitor_window *win,
                                           const struct gy_monitor_config *cfg,
                                           struct gy_monitor_report **out);

/**
 * Tumbling windows of served traffic: the next full window (win->tumbling_rows rows of the
 * model version, or the epoch-aligned win->tumbling_us period with rows, complete once its end
 * is 3 s in the past) after the end stored for this deployment and spec (drift_windows; none:
 * from the log's first row). *out NULL (GY_OK) when no full new window has accumulated,
 * with tw->reason saying so. Store the report with gy_monitor_history_add_window(tw) to
 * advance the state. Otherwise as gy_monitor_check_deployment.
 */
enum gy_status gy_monitor_check_tumbling(struct gy_db *db, const char *deployment,
                                         const struct gy_monitor_window *win,
                                         const struct gy_monitor_config *cfg,
                                         struct gy_monitor_tumble *tw,
                                         struct gy_monitor_report **out);

/* ------------------------------------------------------------------ report history */

/**
 * gy_monitor_history_add, and in the same transaction records @p tw->end as the end of the
 * last reported window of (@p deployment, tw->spec) (drift_windows).
 */
enum gy_status gy_monitor_history_add_window(struct gy_db *db, const char *deployment, int drift,
                                             const char *report_json,
                                             const struct gy_monitor_tumble *tw, int64_t *id);

/**
 * Stores @p report_json (the JSON report text) as the newest report of @p deployment in the
 * metadata store (table drift_reports). *id (may be NULL) receives its id.
 */
enum gy_status gy_monitor_history_add(struct gy_db *db, const char *deployment, int drift,
                                      const char *report_json, int64_t *id);

/**
 * The stored reports of @p deployment, newest first, at most @p limit (1..10000): a JSON array
 * of {"id", "created_us", "drift", "report"} where report is the parsed JSON. *out new.
 */
enum gy_status gy_monitor_history_list(struct gy_db *db, const char *deployment, size_t limit,
                                       json_t **out);

/**
 * The newest stored report of every deployment: a JSON array of {"deployment", "id",
 * "created_us", "drift", "report"}. *out new.
 */
enum gy_status gy_monitor_history_latest(struct gy_db *db, json_t **out);

/* ------------------------------------------------------------------ alerts */

/**
 * Minimal HTTP/1.1 POST of @p len bytes of JSON to @p url (http://HOST[:PORT][/PREFIX], no
 * TLS, no credentials) + @p path over a plain TCP socket, with one deadline of @p timeout_ms
 * (<= 0: 5 s) for connecting, sending and reading the answer. *status receives the HTTP
 * status (0 when none). GY_E_INVALID for a bad URL, GY_E_IO for a network failure, a timeout
 * or a status other than 2xx (the text holds the start of the answer's body).
 */
enum gy_status gy_monitor_http_post(const char *url, const char *path, const char *body, size_t len,
                                    int timeout_ms, int *status);

/** Checks that @p url is an Alertmanager URL gy_monitor_http_post accepts (GY_E_INVALID). */
enum gy_status gy_monitor_alert_url_check(const char *url);

/**
 * Brings Alertmanager at @p url in line with report @p r of @p deployment: when the report
 * drifted and the deployment's alert is not firing, POSTs GyreDataDrift{deployment,
 * severity="warning"} to /api/v2/alerts (startsAt now, annotations drifted_features and
 * description); when it did not drift and the alert is firing, POSTs the same labels with
 * endsAt now (resolved). The state is kept in the store (drift_alerts) and only updated after
 * Alertmanager accepted the alert, so nothing is sent without a change and a failed send is
 * retried by the next call. *sent: 1 fired, -1 resolved, 0 nothing sent.
 */
enum gy_status gy_monitor_alert_sync(struct gy_db *db, const char *url, const char *deployment,
                                     const struct gy_monitor_report *r, int *sent);

/** Checks that @p url is a webhook URL gy_monitor_http_post accepts (GY_E_INVALID). */
enum gy_status gy_monitor_webhook_url_check(const char *url);

/**
 * The generic webhook: when the report's drift verdict differs from what the webhook was last
 * told for @p deployment (drift_webhooks), POSTs {"status": "firing"|"resolved", "alert":
 * "GyreDataDrift", "deployment", "report_id", "drifted_features": [...], "reason", "time"} to
 * @p url (http:// only; the URL comes from the operator's configuration). The state is only
 * updated after a 2xx answer, so a failed send is retried by the next report.
 * *sent: 1 fired, -1 resolved, 0 nothing sent.
 */
enum gy_status gy_monitor_webhook_sync(struct gy_db *db, const char *url, const char *deployment,
                                       const struct gy_monitor_report *r, int64_t report_id,
                                       int *sent);

/** Where a named alert goes; each target keeps its own state (table monitor_alerts). */
enum gy_monitor_target { GY_MONITOR_TARGET_ALERTMANAGER = 0, GY_MONITOR_TARGET_WEBHOOK = 1 };

/** An alert of the in-server monitor other than GyreDataDrift (today: GyreDataQuality). */
struct gy_monitor_alert {
    const char *name;        /* the alertname label, e.g. "GyreDataQuality" */
    const char *deployment;  /* the deployment label */
    int firing;              /* the state wanted now: 1 firing, 0 resolved */
    const char *summary;     /* one line on what the alert means */
    const char *description; /* what was seen (the quality alert: kinds with their counts) */
    const json_t *details;   /* webhook only: keys added to the body (borrowed), or NULL */
};

/**
 * Brings @p target at @p url in line with alert @p a, with the state kept per (alert name,
 * target, deployment) in the store (monitor_alerts), so alerts of different names and targets
 * never share a state. When a->firing differs from the stored state it POSTs, to Alertmanager,
 * [{labels {alertname, deployment, severity="warning"}, annotations {summary, description},
 * startsAt, endsAt}] on /api/v2/alerts (endsAt now when resolving), or to the webhook
 * {"status": "firing"|"resolved", "alert", "deployment", "summary", "description", "time"}
 * plus a->details; the state is stored only after a 2xx answer, so a failed send is retried by
 * the next call. *sent: 1 fired, -1 resolved, 0 nothing sent.
 */
enum gy_status gy_monitor_alert_named_sync(struct gy_db *db, enum gy_monitor_target target,
                                           const char *url, const struct gy_monitor_alert *a,
                                           int *sent);

/* ------------------------------------------------------------------ data quality at the API */

#define GY_MONITOR_QUALITY_ERROR_RATE 0.05 /* default --quality-error-rate */
#define GY_MONITOR_QUALITY_MIN_REQUESTS 20 /* requests a round needs for a verdict */
#define GY_MONITOR_QUALITY_KINDS 5         /* = GY_INPUT_ERR_N of src/serving */

/** One deployment's V2 infer traffic in one round of the monitor (deltas of the counters). */
struct gy_monitor_quality_round {
    uint64_t answered;                          /* requests answered */
    uint64_t refused[GY_MONITOR_QUALITY_KINDS]; /* refused for their input, by kind */
};

/**
 * The GyreDataQuality decision for one round: the refused share refused / (refused +
 * answered) against @p max_rate (refused share strictly above it fires). With fewer than
 * @p min_requests requests there is no verdict: *verdict -1 (the alert keeps its state);
 * else 1 (fire) or 0 (resolve). *rate gets the share (0 without requests). @p desc (may be
 * NULL) gets a sentence naming the kinds with their counts, e.g. "12 of 40 infer requests
 * (30.0%) refused for their input: shape 7, malformed 5 (threshold 5.0%)"; kind names come from
 * @p kind_names (GY_MONITOR_QUALITY_KINDS strings). Pure; thread-safe.
 */
void gy_monitor_quality_decide(const struct gy_monitor_quality_round *r, double max_rate,
                               uint64_t min_requests, const char *const *kind_names, int *verdict,
                               double *rate, char *desc, size_t desc_cap);

/* ------------------------------------------------------------------ the in-server monitor */

struct gy_monitor_service;
struct gy_serving;

struct gy_monitor_service_opts {
    int64_t every_us;             /* period between rounds (> 0) */
    struct gy_monitor_window win; /* the window (model_version 0: latest answered) */
    int tumbling;                 /* use win.tumbling_* instead of the sliding last_* */
    const char *alertmanager;     /* Alertmanager URL or NULL (copied) */
    const char *webhook;          /* webhook URL or NULL (copied) */
    double drift_share;           /* the decision's drift share; 0: the default (0.5) */
    /*
     * Data quality at the API: with @c serving (borrowed; must outlive the service), each
     * round compares every deployment's share of V2 infer requests refused for their input
     * since the previous round with quality_error_rate (0: GY_MONITOR_QUALITY_ERROR_RATE) and
     * fires or resolves GyreDataQuality (at least quality_min_requests requests in the round;
     * 0: GY_MONITOR_QUALITY_MIN_REQUESTS). NULL: no quality alerts.
     */
    struct gy_serving *serving;
    double quality_error_rate;
    uint64_t quality_min_requests;
};

/**
 * Starts a background thread with its own store connection (@p home, @p db_url as gy_db_open)
 * that every opts->every_us runs the deployment report over the configured window for every
 * deployment whose log_sample is above 0, stores it and syncs the Alertmanager and webhook
 * alerts. A deployment without a log or lineage yet is skipped quietly (debug log). *out new.
 */
enum gy_status gy_monitor_service_start(const char *home, const char *db_url,
                                        const struct gy_monitor_service_opts *opts,
                                        struct gy_monitor_service **out);
/** Stops the thread (waits for a running round) and frees. NULL is a no-op. */
void gy_monitor_service_stop(struct gy_monitor_service *s);

/* ------------------------------------------------------------------ A/B comparison */

/**
 * The result of one two-sample comparison of a control (a) and a treatment (b). Every field is
 * filled by the gy_ab_* tests below; see docs/monitoring.md "Comparing variants (A/B)".
 */
struct gy_ab_test {
    const char
        *test;   /* static: "two-proportion z-test", "Welch t-test", "AUC z-test (Hanley-McNeil)" */
    double a, b; /* the metric of the control (a) and of the treatment (b) */
    uint64_t n_a, n_b;
    double effect;       /* b - a */
    double ci_lo, ci_hi; /* (1 - alpha) two-sided confidence interval of the effect */
    double statistic;    /* z or t (+-INFINITY when the effect is exact and not 0) */
    double df;           /* Welch-Satterthwaite degrees of freedom; NAN for z-tests */
    double p_value;      /* two-sided */
    int significant;     /* p_value < alpha */
};

/**
 * Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1, given x and
 * y = 1 - x separately so that neither loses precision near 1 (Numerical Recipes' continued
 * fraction with Lentz's method, the prefactor through a Stirling-series log-beta). NaN for
 * arguments out of range. Thread-safe.
 */
double gy_ab_betainc(double a, double b, double x, double y);

/** Student's t survival function Pr(T_df > t) (scipy.stats.t.sf), df > 0. NaN otherwise. */
double gy_ab_t_sf(double t, double df);

/**
 * Inverse survival function of Student's t: the t with Pr(T_df > t) = q, 0 < q < 1, df > 0
 * (scipy.stats.t.isf, to a few ulps; SciPy 1.10's own stdtrit is only good to about 1e-9).
 */
double gy_ab_t_isf(double q, double df);

/** Standard normal quantile Phi^-1(p), 0 < p < 1 (Wichura's AS241 PPND16 plus one Newton
 * step on Cephes' ndtr); -+INFINITY at 0 and 1, NaN outside. */
double gy_ab_norm_ppf(double p);

/**
 * Hanley-McNeil (1982) standard error of an AUC estimated from @p pos positives and @p neg
 * negatives: sqrt((A(1-A) + (pos-1)(Q1-A^2) + (neg-1)(Q2-A^2)) / (pos neg)), Q1 = A/(2-A),
 * Q2 = 2A^2/(1+A). NaN when pos or neg is 0 or A is not in [0, 1].
 */
double gy_ab_hanley_mcneil_se(double auc, uint64_t pos, uint64_t neg);

/**
 * Two-proportion z-test of x_b/n_b against x_a/n_a: the statistic and p-value use the pooled
 * proportion (the test of H0: equal rates), the confidence interval of the difference is the
 * unpooled Wald interval effect -+ z_{1-alpha/2} sqrt(pa(1-pa)/n_a + pb(1-pb)/n_b). When every
 * trial of both groups has the same outcome the statistic is 0 and the p-value 1.
 * GY_E_INVALID when n_a or n_b is 0, x > n, or alpha is not in (0, 1). Thread-safe.
 */
enum gy_status gy_ab_two_proportion(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b,
                                    double alpha, struct gy_ab_test *out);

/**
 * Welch's unequal-variances t-test of mean_b against mean_a from summary statistics: sample
 * variances (ddof = 1), t = (b - a) / sqrt(var_a/n_a + var_b/n_b), Welch-Satterthwaite df, a
 * two-sided p-value from Student's t with that df (scipy.stats.ttest_ind(b, a,
 * equal_var=False)), and the interval effect -+ t_{1-alpha/2, df} se. When both variances are
 * 0 the effect is exact: p = 1 (statistic 0) when the means are equal, p = 0 (statistic
 * +-INFINITY) when they differ, df NaN and a zero-width interval. GY_E_INVALID when n_a or n_b
 * is below 2, a mean or variance is not finite, a variance is negative, or alpha is not in
 * (0, 1). Thread-safe.
 */
enum gy_status gy_ab_welch(double mean_a, double var_a, uint64_t n_a, double mean_b, double var_b,
                           uint64_t n_b, double alpha, struct gy_ab_test *out);

/**
 * z-test of two independent AUCs: z = (auc_b - auc_a) / sqrt(se_a^2 + se_b^2) with the
 * Hanley-McNeil standard errors, interval effect -+ z_{1-alpha/2} sqrt(se_a^2 + se_b^2); n_a and
 * n_b are pos + neg. A zero combined standard error is treated as Welch treats zero variances.
 * GY_E_INVALID when a class count is 0, an AUC is not in [0, 1], or alpha is not in (0, 1).
 */
enum gy_status gy_ab_auc(double auc_a, uint64_t pos_a, uint64_t neg_a, double auc_b, uint64_t pos_b,
                         uint64_t neg_b, double alpha, struct gy_ab_test *out);

/**
 * Compares the model versions of deployment @p deployment on online metric @p metric
 * ("accuracy", "auc", "logloss", "rmse", "mae" or "value_mean"; NULL: "accuracy") from its
 * feedback reported at or after @p since_us (0: all), as gy_feedback_metrics computes it.
 * The control is @p control_version, or (0) the version the deployment's first route resolves
 * to now; every other version with feedback for the metric is a variant tested against it:
 * accuracy by the two-proportion z-test on correct/labeled, auc by gy_ab_auc, value_mean by
 * Welch on the values, and rmse/mae/logloss by Welch on the per-row squared error, absolute
 * error and log loss (for rmse the effect and interval are on the mean squared error).
 * *out new: {"deployment", "metric", "tested", "alpha", "since_us", "higher_is_better",
 * "control": {"version", "n", "value"}, "variants": [{"version", "n", "value", "test",
 * "effect", "ci": [lo, hi], "statistic", "df", "p_value", "significant", "better"}]}
 * (see docs/monitoring.md). GY_NOT_FOUND for an unknown deployment; GY_E_INVALID for an
 * unknown metric, a bad alpha, or a control or variant without enough data for the test
 * (the text names the version and what is missing).
 */
enum gy_status gy_deploy_compare(struct gy_db *db, const char *deployment, const char *metric,
                                 int64_t control_version, int64_t since_us, double alpha,
                                 json_t **out);

#endif /* GY_MONITOR_H */
