/* SPDX-License-Identifier: MIT */
/*
 * models_int.h - private pieces of the models module shared by trees.c, linear.c, xgboost.c
 * (the XGBoost JSON importer), bundle.c (container, builder, loader) and inspect.c. Tests and
 * the bundle fuzz target include it to reach the re-sealing helper. Not for other modules.
 */
#ifndef GY_MODELS_INT_H
#define GY_MODELS_INT_H

#include "models/models.h"

#include <string.h>

/* ------------------------------------------------------------------ container */

#define GY_BUNDLE_MAGIC "GYMB"
#define GY_BUNDLE_VERSION 1
#define GY_BUNDLE_HEADER_LEN 32
#define GY_BUNDLE_ENTRY_LEN 24
#define GY_BUNDLE_MAX_SECTIONS 16
#define GY_BUNDLE_MAX_LEN ((uint64_t)1 << 31)

/** Section ids. */
enum gy_bundle_section {
    GY_SEC_META = 1,
    GY_SEC_PREPROC = 2,
    GY_SEC_TREES = 3,
    GY_SEC_LINEAR = 4,
    GY_SEC_PROFILE = 5,
};

/** Estimator section layout versions. */
#define GY_TREES_SECTION_VERSION 1
#define GY_LINEAR_SECTION_VERSION 1

struct gy_model_bundle {
    enum gy_model_kind kind;
    json_t *meta;
    json_t *profile;
    struct gy_features *features;
    struct gy_trees *trees;
    struct gy_linear *linear;
    size_t file_len;
    char checksum[GY_SHA256_HEX_LEN + 1]; /* the trailer, hex */
    size_t n_sections;
    struct {
        uint32_t id;
        uint64_t offset, length;
    } sections[GY_BUNDLE_MAX_SECTIONS];
};

/** Name of a section id ("metadata", ...) or "unknown" (static). */
const char *gy__model_bundle_section_name(uint32_t id);

/** The output signature name for a link ("probability", "probabilities", "class", ...). */
const char *gy__model_output_name(enum gy_link link);

/**
 * Recomputes the trailing SHA-256 of a bundle image in place (data[len-32 .. len)). For tests
 * and the fuzz target, which alter a bundle and want the loader to look past the checksum.
 * Does nothing when len < 32.
 */
void gy__model_bundle_reseal(uint8_t *data, size_t len);

/**
 * Builds a bundle image from raw sections (id, bytes) without any validation, for tests that
 * need well-sealed bundles with malformed contents. Appends to @p out.
 */
enum gy_status gy__model_bundle_assemble(const uint32_t *ids, const void *const *secs,
                                         const size_t *lens, size_t n, struct gy_buf *out);

/* ------------------------------------------------------------------ estimators */

/** base_score in output space to the float32 base margin for @p rule. */
float gy__model_base_margin(enum gy_base_rule rule, float b);

/** Checks every tree's shape; depths[i] (may be NULL) gets each tree's depth. */
enum gy_status gy__model_trees_walk(const struct gy_trees *t, uint32_t *depths);

/** Depth of a validated tree (a lone leaf is 0). */
uint32_t gy__model_tree_depth(const struct gy_tree *tr);

/** Applies @p link to one row's margins @p m (n_groups) into @p out (may alias m). */
void gy__model_link_apply(enum gy_link link, const float *m, size_t n_groups, float *out);

/** Encodes the estimators' section bodies (appending to @p out). */
enum gy_status gy__model_trees_encode(const struct gy_trees *t, struct gy_buf *out);
enum gy_status gy__model_linear_encode(const struct gy_linear *l, struct gy_buf *out);

/** Decodes and validates section bodies. GY_E_CORRUPT naming the field. *out new. */
enum gy_status gy__model_trees_decode(const uint8_t *p, size_t n, struct gy_trees **out);
enum gy_status gy__model_linear_decode(const uint8_t *p, size_t n, struct gy_linear **out);

/** Estimator summary for inspect (new). @p names (may be NULL) labels linear weights. */
enum gy_status gy__model_trees_summary(const struct gy_trees *t, json_t **out);
enum gy_status gy__model_linear_summary(const struct gy_linear *l, const struct gy_features *f,
                                        json_t **out);

/* ------------------------------------------------------------------ little-endian */

static inline void gy__model_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t gy__model_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void gy__model_put_u64(uint8_t *p, uint64_t v)
{
    gy__model_put_u32(p, (uint32_t)v);
    gy__model_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t gy__model_get_u64(const uint8_t *p)
{
    return (uint64_t)gy__model_get_u32(p) | (uint64_t)gy__model_get_u32(p + 4) << 32;
}

static inline void gy__model_put_f32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    gy__model_put_u32(p, u);
}

static inline float gy__model_get_f32(const uint8_t *p)
{
    uint32_t u = gy__model_get_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline void gy__model_put_f64(uint8_t *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    gy__model_put_u64(p, u);
}

static inline double gy__model_get_f64(const uint8_t *p)
{
    uint64_t u = gy__model_get_u64(p);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

#endif /* GY_MODELS_INT_H */
