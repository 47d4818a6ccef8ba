/* SPDX-License-Identifier: MIT */
/*
 * features_int.h - private structures of the features module shared by spec.c (spec parsing),
 * fit.c (fitting), apply.c (the per-value transforms and the shape accessors) and persist.c
 * (the JSON form of a fitted preprocessing). Not for other modules.
 */
#ifndef GY_FEATURES_INT_H
#define GY_FEATURES_INT_H

#include "features/features.h"

#include <math.h>

/* Defaults for top=K when a rule does not state it. */
#define GY_FEATURES_TOP_ONEHOT 20
#define GY_FEATURES_TOP_ORDINAL 100
/* Distinct categories counted per column while fitting. */
#define GY_FEATURES_MAX_DISTINCT (1u << 24)

/** One column's rule in a spec; unstated fields are DEFAULT / 0. */
struct gy_feature_rule {
    char *name;
    enum gy_feature_encode encode;
    enum gy_feature_impute impute;
    double impute_value; /* for GY_IMPUTE_CONSTANT */
    int has_lo, has_hi;
    double lo, hi; /* clip bounds when has_lo / has_hi */
    uint32_t top;  /* 0: default */
};

struct gy_feature_spec {
    int drop_unnamed; /* "*:drop" */
    size_t n, cap;
    struct gy_feature_rule *rules;
};

/** The rule for @p name, or NULL. */
const struct gy_feature_rule *gy__features_spec_find(const struct gy_feature_spec *s,
                                                     const char *name);

/**
 * One numeric channel: a numeric or bool input has one, a timestamp with "parts" two (hour,
 * dow). Transform: missing -> fill (or NaN when impute is NONE), clip to [lo, hi], then
 * (v - mean) / std when standardize.
 */
struct gy_fnum {
    enum gy_feature_impute impute; /* NONE, MEAN, MEDIAN, CONSTANT */
    double fill;
    double lo, hi; /* -inf / +inf when not clipped */
    int standardize;
    double mean, std;        /* std > 0 */
    uint64_t count, missing; /* training rows with and without a value */
};

/** A categorical input's fitted vocabulary. */
struct gy_fcat {
    uint32_t top;     /* requested K */
    uint32_t n_top;   /* categories with their own code: values[0 .. n_top) */
    uint32_t n_vocab; /* n_top + seen-but-not-top values kept */
    int complete;     /* every seen value is in values[]: misses are "unseen" */
    char **values;    /* n_vocab values (may hold NUL bytes; lens gives the length) */
    uint32_t *lens;
    uint64_t *counts; /* n_top counts */
    uint64_t other_count, missing;
    enum gy_feature_impute impute; /* NONE or MODE */
    uint32_t mask;                 /* lookup table size - 1 */
    uint32_t *slots;               /* open addressing: vocabulary index + 1, 0 = empty */
};

struct gy_finput {
    char *name;
    enum gy_type type;
    enum gy_feature_encode encode; /* never DEFAULT or DROP */
    size_t out_off, n_out;
    int n_num; /* numeric channels used */
    struct gy_fnum num[2];
    struct gy_fcat cat;
};

struct gy_features {
    enum gy_features_mode mode;
    size_t n_inputs;
    struct gy_finput *inputs;
    size_t n_outputs;
    char **out_names;
};

/** Code of a category lookup result relative to the vocabulary. */
#define GY_FCAT_OTHER (UINT32_MAX - 1)
#define GY_FCAT_UNSEEN UINT32_MAX

/** Builds the lookup table of @p c from its values. GY_E_NOMEM. */
enum gy_status gy__features_cat_index(struct gy_fcat *c);

/** True when another vocabulary entry holds the same bytes as entry @p i (after indexing). */
int gy__features_cat_has_twin(const struct gy_fcat *c, uint32_t i);

/** Lays out outputs (offsets and names) from the inputs. GY_E_NOMEM, GY_E_TOO_LARGE. */
enum gy_status gy__features_layout(struct gy_features *f);

/** Frees what an input holds (not the input itself). */
void gy__features_input_clear(struct gy_finput *in);

/** Hour of day (0-23, UTC) and day of week (0 = Monday) of a timestamp in microseconds. */
void gy__features_timestamp_parts(int64_t us, double *hour, double *dow);

/** The shared numeric transform (see struct gy_fnum). */
static inline float gy__features_num_apply(const struct gy_fnum *c, double v, int present)
{
    if (!present || !isfinite(v)) {
        if (c->impute == GY_IMPUTE_NONE)
            return NAN;
        v = c->fill;
    }
    if (v < c->lo)
        v = c->lo;
    if (v > c->hi)
        v = c->hi;
    if (c->standardize)
        v = (v - c->mean) / c->std;
    return (float)v;
}

/** True when @p p[0..n) is valid UTF-8 (what JSON strings need). */
int gy__features_utf8_valid(const char *p, size_t n);

#endif /* GY_FEATURES_INT_H */
