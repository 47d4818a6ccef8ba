/* SPDX-License-Identifier: MIT */
/*
 * xgboost_int.h - private pieces shared by the XGBoost importers: xgboost_json.c (the JSON
 * text reader and the document walker that builds an ensemble) and xgboost_ubj.c (the
 * UBJSON reader, which turns a .ubj model into the same jansson document). Not for other
 * modules; the UBJ unit tests and fuzz target include it.
 */
#ifndef GY_XGBOOST_INT_H
#define GY_XGBOOST_INT_H

#include "models/models_int.h"

/** Nesting limit of an XGBoost model document (JSON or UBJSON). */
#define GY_XGB_MAX_DEPTH GY_MODEL_MAX_JSON_DEPTH

/**
 * Builds an ensemble from a parsed XGBoost 1.7 model document (JSON text or UBJSON, both
 * read into jansson). The rules and errors of gy_model_trees_from_xgboost_json. *out new.
 */
enum gy_status gy__model_xgboost_import(const json_t *root, struct gy_trees **out);

/** learner.feature_names of a parsed document as a new array of strings ([] when none). */
enum gy_status gy__model_xgboost_names(const json_t *root, json_t **names);

/**
 * Reads one UBJSON value (the whole input; trailing bytes are an error) into jansson. Every
 * count is checked against the bytes left before anything is allocated; nesting is limited
 * to GY_XGB_MAX_DEPTH. Per-node training statistics that inference never reads
 * (loss_changes, sum_hessian, base_weights, parents) are checked and skipped, not built, when
 * @p skip_stats is set. Non-finite floats become null. GY_E_INVALID with "byte N: reason";
 * GY_E_NOMEM. *out new.
 */
enum gy_status gy__model_ubj_parse(const void *data, size_t len, int skip_stats, json_t **out);

/** True when @p data starts like a UBJSON object ('{' then a length marker), not JSON text. */
int gy__model_xgboost_is_ubj(const void *data, size_t len);

#endif /* GY_XGBOOST_INT_H */
