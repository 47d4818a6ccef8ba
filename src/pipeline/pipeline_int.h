/* SPDX-License-Identifier: MIT */
/*
 * pipeline_int.h - what the files of src/pipeline share: the training data of a run (data.c)
 * and the store helpers the controller uses (store.c).
 */
#ifndef GY_PIPELINE_INT_H
#define GY_PIPELINE_INT_H

#include "pipeline/pipeline.h"

/** Rows of @p dataset's latest version (0 when the dataset does not exist). */
enum gy_status gy__pipeline_dataset_rows(struct gy_db *db, const char *dataset, int64_t *rows);

/**
 * Chooses and, where needed, writes the training data of run @p run_id (see data.c): @p ref
 * gets "DATASET@V", *rows its row count.
 */
enum gy_status gy__pipeline_data(struct gy_db *db, const struct gy_pipeline_spec *sp,
                                 int64_t run_id, char *ref, size_t ref_cap, int64_t *rows);

/** Starts a run of @p name for its coalesced trigger when it has one and no unfinished run.
 * *run_id: the new run, or 0. */
enum gy_status gy__pipeline_start_pending(struct gy_db *db, const char *name, int64_t *run_id);

#endif /* GY_PIPELINE_INT_H */
