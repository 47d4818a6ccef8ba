/* SPDX-License-Identifier: MIT */
/*
 * oracle.h - helpers shared by the train unit tests: a deterministic generator for test data
 * and a runner for Python oracles (Debian's /usr/bin/python3 with python3-sklearn, installed
 * by scripts/install-deps test). A test hands an oracle a JSON document and gets one back;
 * a missing Python or scikit-learn fails the test, it never skips it.
 */
#ifndef GY_TEST_TRAIN_ORACLE_H
#define GY_TEST_TRAIN_ORACLE_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train_int.h"

struct trng {
    uint64_t s;
};

static inline uint64_t trng_next(struct trng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double trng_unif(struct trng *r)
{
    return (double)(trng_next(r) >> 11) * 0x1p-53;
}

static inline double trng_normal(struct trng *r)
{
    double u = trng_unif(r), v = trng_unif(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* A JSON array of n doubles (or floats / ints), new. */
static inline json_t *jarr_d(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static inline json_t *jarr_f(const float *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static inline json_t *jarr_i(const int32_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

/*
 * Runs @p script with /usr/bin/python3 as `python3 script IN OUT`, where IN holds @p input
 * (JSON, reals with 17 significant digits) and the script writes its answer as JSON to OUT.
 * Returns the parsed answer (new). Fails the test when Python or the script fails.
 */
static inline json_t *oracle_run(const char *script, const json_t *input)
{
    char dir[] = "/tmp/gyre-train-oracle.XXXXXX", spath[64], ipath[64], opath[64], cmd[512];
    json_error_t err;
    json_t *out;
    FILE *f;
    int rc;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(spath, sizeof(spath), "%s/oracle.py", dir);
    snprintf(ipath, sizeof(ipath), "%s/in.json", dir);
    snprintf(opath, sizeof(opath), "%s/out.json", dir);
    f = fopen(spath, "w");
    cr_assert_not_null(f);
    fputs(script, f);
    fclose(f);
    cr_assert_eq(json_dump_file(input, ipath, JSON_COMPACT | JSON_REAL_PRECISION(17)), 0);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s %s", spath, ipath, opath);
    rc = system(cmd);
    cr_assert_eq(rc, 0,
                 "the Python oracle failed (needs Debian's python3-sklearn: "
                 "scripts/install-deps test): %s",
                 cmd);
    out = json_load_file(opath, JSON_DECODE_ANY, &err);
    cr_assert_not_null(out, "oracle output: %s", err.text);
    unlink(spath);
    unlink(ipath);
    unlink(opath);
    rmdir(dir);
    return out;
}

/* obj[key] as a number; fails the test if absent. */
static inline double jnum_req(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    cr_assert(v && json_is_number(v), "oracle answer lacks number '%s'", key);
    return json_number_value(v);
}

#endif /* GY_TEST_TRAIN_ORACLE_H */
