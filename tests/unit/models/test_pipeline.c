/* SPDX-License-Identifier: MIT */
/*
 * test_pipeline.c - the path a trainer takes, end to end on a real data home: ingest a CSV of
 * 70,000 rows (two lake chunks), fit a preprocessing batch by batch from a lake scan with a
 * training mask, apply it to the scan's batches, build a bundle with the version's lake profile
 * and the training scores, load it back, and check that the statistics equal a direct
 * computation, that serving-time row prediction equals the matrix path, and that the bundle's
 * profile keeps only the input columns.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "lake/lake.h"

#define ROWS 70000

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void write_csv(const char *path, double *sum, size_t *n_amount)
{
    FILE *f = fopen(path, "w");
    static const char *merchants[] = {"grocery", "fuel", "travel", "online", "cafe"};
    cr_assert_not_null(f);
    fprintf(f, "tx_id,amount,merchant,flag,label\n");
    *sum = 0;
    *n_amount = 0;
    for (int i = 0; i < ROWS; i++) {
        const char *m = merchants[(i * 7 + i / 3) % 5];
        int train = i % 4 != 0;
        if (i % 11 == 0) {
            fprintf(f, "t%d,,%s,%s,%d\n", i, m, i % 2 ? "true" : "false", i % 3 == 0);
        } else {
            double a = (double)((i * 37) % 1000) / 4.0;
            fprintf(f, "t%d,%.2f,%s,%s,%d\n", i, a, i % 13 == 0 ? "" : m, i % 2 ? "true" : "false",
                    i % 3 == 0);
            if (train) {
                *sum += a;
                (*n_amount)++;
            }
        }
    }
    fclose(f);
}

/* The training split: every row whose index is not a multiple of 4. */
static void mask_for(uint64_t first, size_t n, uint8_t *mask)
{
    for (size_t i = 0; i < n; i++)
        mask[i] = (first + i) % 4 != 0;
}

Test(pipeline, lake_fit_apply_bundle, .timeout = 60)
{
    char home[] = "/tmp/gyre-pipe-XXXXXX", csv[300];
    struct gy_db *db;
    struct gy_ingest_result ir;
    struct gy_ingest_opts io = {.format = GY_FORMAT_CSV, .source = "tx.csv"};
    struct gy_lake_scan *scan;
    struct gy_feature_spec *sp;
    struct gy_features_fitter *ft;
    struct gy_features *f;
    const struct gy_colvec *cols;
    size_t nrows, n_amount, nout, batches = 0;
    uint64_t first = 0;
    double sum;
    float *x = NULL, *scores;
    size_t have = 0;
    uint8_t *mask = gy_malloc(ROWS);
    json_t *man, *fj, *a;
    struct gy_linear *l;
    struct gy_buf b;
    struct gy_model_bundle *m;
    int fd;

    cr_assert_not_null(mkdtemp(home));
    snprintf(csv, sizeof csv, "%s/tx.csv", home);
    write_csv(csv, &sum, &n_amount);
    cr_assert_eq(gy_db_open(home, NULL, &db), GY_OK, "%s", gy_error_msg());
    fd = open(csv, O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(gy_lake_ingest(db, "tx", fd, &io, &ir), GY_OK, "%s", gy_error_msg());
    close(fd);
    cr_assert_eq(ir.rows, ROWS);

    /* Fit on the training rows, batch by batch. */
    cr_assert_eq(gy_features_spec_create(&sp), GY_OK);
    cr_assert_eq(gy_features_spec_add_flags(sp, "tx_id:drop;merchant:onehot,top=3"), GY_OK);
    cr_assert_eq(gy_lake_scan_open(db, "tx", 0, NULL, 0, &scan), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(
        gy_features_fit_begin(sp, gy_lake_scan_schema(scan), "label", GY_FEATURES_LINEAR, &ft),
        GY_OK, "%s", gy_error_msg());
    for (;;) {
        cr_assert_eq(gy_lake_scan_next(scan, &cols, &nrows), GY_OK, "%s", gy_error_msg());
        if (nrows == 0)
            break;
        mask_for(first, nrows, mask);
        cr_assert_eq(gy_features_fit_add(ft, cols, nrows, mask), GY_OK, "%s", gy_error_msg());
        first += nrows;
        batches++;
    }
    cr_assert_geq(batches, 2, "the data spans several lake batches");
    cr_assert_eq(gy_features_fit_finish(ft, &f), GY_OK, "%s", gy_error_msg());
    gy_features_fitter_free(ft);
    gy_lake_scan_free(scan);

    cr_assert_eq(gy_features_n_inputs(f), 3, "amount, merchant, flag");
    nout = gy_features_n_outputs(f);
    cr_assert_eq(nout, 1 + 5 + 1);
    cr_assert_eq(gy_features_to_json(f, &fj), GY_OK);
    a = json_array_get(json_object_get(fj, "inputs"), 0);
    cr_assert_eq(json_integer_value(json_object_get(a, "count")), (json_int_t)n_amount);
    cr_assert_float_eq(json_number_value(json_object_get(a, "fill")), sum / (double)n_amount, 1e-9);
    json_decref(fj);

    /* Apply to every row, batch by batch (the trainer's matrix). */
    x = gy_malloc((size_t)ROWS * nout * sizeof(float));
    cr_assert_eq(gy_lake_scan_open(db, "tx", 0, NULL, 0, &scan), GY_OK);
    for (;;) {
        size_t got;
        cr_assert_eq(gy_lake_scan_next(scan, &cols, &nrows), GY_OK);
        if (nrows == 0)
            break;
        cr_assert_eq(gy_features_apply_cols(f, gy_lake_scan_schema(scan), cols, nrows, NULL,
                                            x + have * nout, &got),
                     GY_OK, "%s", gy_error_msg());
        have += got;
    }
    gy_lake_scan_free(scan);
    cr_assert_eq(have, ROWS);
    /* Row 11 has no amount: mean-imputed, so standardized near (fill - mean) / std. */
    cr_assert(!isnan(x[11 * nout]));

    /* A linear model, its scores on the training rows, the bundle with the lake profile. */
    cr_assert_eq(gy_model_linear_create("binary:logistic", GY_LINK_LOGISTIC, (uint32_t)nout, 1, &l),
                 GY_OK);
    for (size_t j = 0; j < nout; j++)
        l->weights[j] = 0.3 * ((double)j - 2.5);
    scores = gy_malloc(ROWS * sizeof(float));
    gy_model_linear_predict(l, x, ROWS, NULL, scores);
    cr_assert_eq(gy_lake_version_get(db, "tx", 0, &man), GY_OK);
    {
        struct gy_model_builder *bld;
        struct gy_model_info info = {.name = "fraud",
                                     .trainer = "logistic",
                                     .objective = "binary:logistic",
                                     .dataset = "tx@1"};
        cr_assert_eq(gy_model_builder_create(&bld), GY_OK);
        cr_assert_eq(gy_model_builder_set_info(bld, &info), GY_OK);
        gy_model_builder_set_features(bld, f);
        gy_model_builder_set_linear(bld, l);
        cr_assert_eq(
            gy_model_builder_set_profile(bld, json_object_get(man, "profile"), scores, ROWS, 1),
            GY_OK);
        gy_buf_init(&b, (size_t)1 << 30);
        cr_assert_eq(gy_model_builder_serialize(bld, &b), GY_OK, "%s", gy_error_msg());
        gy_model_builder_free(bld);
    }
    cr_assert_eq(gy_model_bundle_load(b.data, b.len, &m), GY_OK, "%s", gy_error_msg());
    {
        const json_t *prof = gy_model_bundle_profile(m);
        const json_t *pc = json_object_get(json_object_get(prof, "dataset"), "columns");
        const json_t *sc = json_array_get(json_object_get(prof, "scores"), 0);
        cr_assert_eq(json_array_size(pc), 3, "tx_id and label are not inputs");
        for (size_t i = 0; i < 3; i++)
            cr_assert_geq(gy_features_input_find(gy_model_bundle_features(m),
                                                 gy_json_str(json_array_get(pc, i), "name", "")),
                          0);
        cr_assert_eq(json_integer_value(json_object_get(sc, "count")), ROWS);
    }
    /* Serving: raw values of row 13 (missing merchant) give the matrix row's prediction. */
    {
        struct gy_feature_value v[3] = {
            {.kind = GY_FV_NUM, .num = (double)((13 * 37) % 1000) / 4.0},
            {.kind = GY_FV_NULL},
            {.kind = GY_FV_BOOL, .num = 1},
        };
        float p1, p2, row[7];
        gy_model_linear_predict(l, x + 13 * nout, 1, NULL, &p1);
        cr_assert_eq(gy_model_predict_row(m, v, NULL, &p2), GY_OK);
        cr_assert_eq(gy_features_apply_row(gy_model_bundle_features(m), v, row), GY_OK);
        cr_assert(memcmp(row, x + 13 * nout, sizeof(row)) == 0);
        cr_assert_eq(p1, p2);
    }
    gy_model_bundle_free(m);
    gy_buf_free(&b);
    json_decref(man);
    gy_model_linear_free(l);
    gy_free(scores);
    gy_free(x);
    gy_free(mask);
    gy_features_free(f);
    gy_features_spec_free(sp);
    gy_db_free(db);
    nftw(home, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
