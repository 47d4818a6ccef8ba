/* SPDX-License-Identifier: MIT */
/*
 * test_spec.c - unit tests for feature specs (src/features/spec.c): the flag grammar, the JSON
 * and YAML forms, their round trip through gy_features_spec_to_json, and the error messages
 * for every kind of bad rule (an invalid flag string leaves the spec unchanged).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "features/features.h"

static json_t *spec_json(const struct gy_feature_spec *s)
{
    json_t *j = NULL;
    cr_assert_eq(gy_features_spec_to_json(s, &j), GY_OK);
    return j;
}

static const json_t *col(const json_t *j, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "columns"), i, v)
    {
        if (strcmp(gy_json_str(v, "name", ""), name) == 0)
            return v;
    }
    return NULL;
}

Test(spec, flags_valid)
{
    struct gy_feature_spec *s;
    json_t *j;
    const json_t *c;
    cr_assert_eq(gy_features_spec_create(&s), GY_OK);
    cr_assert_eq(gy_features_spec_add_flags(s, "amount:standardize,impute=median;"
                                               " merchant : onehot , top=20 ;hour:passthrough;"
                                               "tx_id:drop;score:clip=-1.5:2,impute=0.25;"
                                               "low:clip=:5;"),
                 GY_OK, "%s", gy_error_msg());
    j = spec_json(s);
    cr_assert_str_eq(gy_json_str(j, "default", ""), "auto");
    cr_assert_eq(json_array_size(json_object_get(j, "columns")), 6);
    c = col(j, "amount");
    cr_assert_str_eq(gy_json_str(c, "encode", ""), "standardize");
    cr_assert_str_eq(gy_json_str(c, "impute", ""), "median");
    c = col(j, "merchant");
    cr_assert_not_null(c, "names are trimmed");
    cr_assert_str_eq(gy_json_str(c, "encode", ""), "onehot");
    cr_assert_eq(gy_json_int(c, "top", 0), 20);
    cr_assert_str_eq(gy_json_str(col(j, "hour"), "encode", ""), "passthrough");
    cr_assert_str_eq(gy_json_str(col(j, "tx_id"), "encode", ""), "drop");
    c = col(j, "score");
    cr_assert_eq(json_real_value(json_object_get(c, "impute")), 0.25);
    cr_assert_eq(json_number_value(json_array_get(json_object_get(c, "clip"), 0)), -1.5);
    cr_assert_eq(json_number_value(json_array_get(json_object_get(c, "clip"), 1)), 2.0);
    c = col(j, "low");
    cr_assert(json_is_null(json_array_get(json_object_get(c, "clip"), 0)));
    cr_assert_eq(json_number_value(json_array_get(json_object_get(c, "clip"), 1)), 5.0);
    json_decref(j);

    /* A later rule for the same column replaces the earlier one; "*" sets the default. */
    cr_assert_eq(gy_features_spec_add_flags(s, "amount:passthrough;*:drop"), GY_OK);
    j = spec_json(s);
    cr_assert_str_eq(gy_json_str(j, "default", ""), "drop");
    cr_assert_str_eq(gy_json_str(col(j, "amount"), "encode", ""), "passthrough");
    cr_assert_null(json_object_get((json_t *)col(j, "amount"), "impute"));
    json_decref(j);
    gy_features_spec_free(s);
}

struct bad_case {
    const char *flags;
    const char *msg;
};

Test(spec, flags_invalid_leave_spec_unchanged)
{
    static const struct bad_case cases[] = {
        {"amount", "has no ':'"},
        {"amount:", "no options"},
        {":onehot", "bad column name"},
        {"amount:foo", "unknown option 'foo'"},
        {"amount:impute=bogus", "impute=bogus"},
        {"amount:impute=mean,impute=median", "impute given twice"},
        {"amount:clip=5:1", "above upper bound"},
        {"amount:clip=a:b", "clip=a:b"},
        {"amount:clip=5", "expected LO:HI"},
        {"amount:clip=:", "clip=:"},
        {"amount:top=0", "top=0"},
        {"amount:top=100001", "top=100001"},
        {"amount:top=x", "top=x"},
        {"m:onehot,ordinal", "conflicting encodings onehot and ordinal"},
        {"m:drop,impute=mean", "a dropped column takes no other option"},
        {"m:standardize,top=3", "top= applies to onehot or ordinal columns"},
        {"m:onehot,clip=0:1", "clip= applies to numeric columns"},
        {"m:standardize,impute=mode", "impute=mode applies to string columns"},
        {"m:onehot,impute=mean", "impute=mean applies to numeric columns"},
        {"*:standardize", "only drop or auto"},
        {"*:impute=mean", "only drop or auto"},
        {"ok:passthrough;bad:nope", "unknown option 'nope'"},
        {"m:size=3", "unknown option 'size'"},
        {"m:onehot,,top=3", "empty option"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gy_feature_spec *s;
        json_t *j;
        cr_assert_eq(gy_features_spec_create(&s), GY_OK);
        cr_assert_eq(gy_features_spec_add_flags(s, "keep:ordinal"), GY_OK);
        cr_assert_eq(gy_features_spec_add_flags(s, cases[i].flags), GY_E_INVALID, "%s",
                     cases[i].flags);
        cr_assert(strstr(gy_error_msg(), cases[i].msg), "'%s': got '%s'", cases[i].flags,
                  gy_error_msg());
        j = spec_json(s);
        cr_assert_eq(json_array_size(json_object_get(j, "columns")), 1, "%s", cases[i].flags);
        cr_assert_str_eq(gy_json_str(j, "default", ""), "auto");
        json_decref(j);
        gy_features_spec_free(s);
    }
}

Test(spec, json_forms_and_round_trip)
{
    const char *arr =
        "{\"default\":\"drop\",\"columns\":[{\"name\":\"a\",\"encode\":\"standardize\","
        "\"impute\":\"mean\",\"clip\":[0,null]},{\"name\":\"m\",\"encode\":\"onehot\","
        "\"top\":5,\"impute\":\"mode\"},{\"name\":\"c\",\"impute\":-2.5}]}";
    const char *obj = "{\"default\":\"drop\",\"columns\":{\"a\":{\"encode\":\"standardize\","
                      "\"impute\":\"mean\",\"clip\":[0,null]},\"m\":{\"encode\":\"onehot\","
                      "\"top\":5,\"impute\":\"mode\"},\"c\":{\"impute\":-2.5}}}";
    struct gy_feature_spec *s1, *s2, *s3;
    json_t *j1, *j2, *j3;
    struct gy_buf b;
    cr_assert_eq(gy_features_spec_parse_json(arr, strlen(arr), &s1), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_features_spec_parse_json(obj, strlen(obj), &s2), GY_OK, "%s", gy_error_msg());
    j1 = spec_json(s1);
    j2 = spec_json(s2);
    cr_assert(json_equal(j1, j2));
    cr_assert_eq(json_real_value(json_object_get(col(j1, "c"), "impute")), -2.5);
    /* to_json output parses back to the same spec. */
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy_json_dump(j1, &b), GY_OK);
    cr_assert_eq(gy_features_spec_parse_json(b.data, b.len, &s3), GY_OK);
    j3 = spec_json(s3);
    cr_assert(json_equal(j1, j3));
    gy_buf_free(&b);
    json_decref(j1);
    json_decref(j2);
    json_decref(j3);
    gy_features_spec_free(s1);
    gy_features_spec_free(s2);
    gy_features_spec_free(s3);
}

Test(spec, json_invalid)
{
    static const struct bad_case cases[] = {
        {"[1]", "expected an object"},
        {"{\"colums\":[]}", "unknown key \"colums\""},
        {"{\"default\":\"maybe\"}", "\"default\" must be auto or drop"},
        {"{\"columns\":5}", "must be an array or an object"},
        {"{\"columns\":[{\"encode\":\"onehot\"}]}", "missing \"name\""},
        {"{\"columns\":[{\"name\":\"a\",\"encode\":\"zscore\"}]}", "\"encode\" must be one of"},
        {"{\"columns\":[{\"name\":\"a\",\"impute\":true}]}", "\"impute\" must be"},
        {"{\"columns\":[{\"name\":\"a\",\"clip\":[1]}]}", "\"clip\" must be [LO, HI]"},
        {"{\"columns\":[{\"name\":\"a\",\"clip\":[null,null]}]}", "\"clip\" must be [LO, HI]"},
        {"{\"columns\":[{\"name\":\"a\",\"top\":2.5}]}", "\"top\" must be an integer"},
        {"{\"columns\":[{\"name\":\"a\",\"colour\":1}]}", "unknown key \"colour\""},
        {"{\"columns\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", "appears twice"},
        {"{\"columns\":{\"a\":{\"name\":\"b\"}}}", "differs from the key"},
        {"{\"columns\":[{\"name\":\"*\"}]}", "\"name\" must be a column name"},
        {"{\"columns\":[{\"name\":\"a\",", "line 1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gy_feature_spec *s = (void *)1;
        cr_assert_eq(gy_features_spec_parse_json(cases[i].flags, strlen(cases[i].flags), &s),
                     GY_E_INVALID, "%s", cases[i].flags);
        cr_assert_null(s);
        cr_assert(strstr(gy_error_msg(), cases[i].msg), "'%s': got '%s'", cases[i].flags,
                  gy_error_msg());
    }
}

static char *write_tmp(const char *text)
{
    char *path = gy_strdup("/tmp/gyre-spec-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(spec, yaml_and_json_files)
{
    const char *yaml = "# a feature spec\n"
                       "default: drop\n"
                       "columns:\n"
                       "  - name: amount\n"
                       "    encode: standardize\n"
                       "    impute: median\n"
                       "    clip: [0, 1000]\n"
                       "  - name: merchant\n"
                       "    encode: onehot\n"
                       "    top: 20\n"
                       "  - name: code\n"
                       "    impute: 7\n"
                       "  - {name: \"42\", encode: ordinal}\n";
    const char *json = "{\"default\":\"drop\",\"columns\":[{\"name\":\"amount\",\"encode\":"
                       "\"standardize\",\"impute\":\"median\",\"clip\":[0,1000]},{\"name\":"
                       "\"merchant\",\"encode\":\"onehot\",\"top\":20},{\"name\":\"code\","
                       "\"impute\":7},{\"name\":\"42\",\"encode\":\"ordinal\"}]}";
    char *yp = write_tmp(yaml), *jp = write_tmp(json);
    struct gy_feature_spec *ys, *js;
    json_t *yj, *jj;
    cr_assert_eq(gy_features_spec_load_file(yp, &ys), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_features_spec_load_file(jp, &js), GY_OK, "%s", gy_error_msg());
    yj = spec_json(ys);
    jj = spec_json(js);
    cr_assert(json_equal(yj, jj));
    json_decref(yj);
    json_decref(jj);
    gy_features_spec_free(ys);
    gy_features_spec_free(js);
    unlink(yp);
    unlink(jp);
    gy_free(yp);
    gy_free(jp);
}

Test(spec, yaml_invalid)
{
    static const struct bad_case cases[] = {
        {"columns:\n  - name: a\n    encode: [\n", "line"},
        {"base: &x {name: a}\ncolumns: [*x]\n", "anchors are not supported"},
        {"columns:\n  - name: a\n    top: 0\n", "\"top\" must be an integer"},
        {"columns:\n  - name: a\n    name: b\n", "duplicate key \"name\""},
        {"", "empty document"},
        {"a: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]\n", "nesting deeper"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = write_tmp(cases[i].flags);
        struct gy_feature_spec *s = (void *)1;
        cr_assert_eq(gy_features_spec_load_file(p, &s), GY_E_INVALID, "case %zu: %s", i,
                     gy_error_msg());
        cr_assert_null(s);
        cr_assert(strstr(gy_error_msg(), cases[i].msg), "case %zu: got '%s'", i, gy_error_msg());
        cr_assert(strstr(gy_error_msg(), p), "the message names the file: %s", gy_error_msg());
        unlink(p);
        gy_free(p);
    }
}

Test(spec, missing_file)
{
    struct gy_feature_spec *s;
    cr_assert_neq(gy_features_spec_load_file("/nonexistent/spec.yaml", &s), GY_OK);
    cr_assert(strstr(gy_error_msg(), "/nonexistent/spec.yaml"));
}
