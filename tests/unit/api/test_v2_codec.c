/* SPDX-License-Identifier: MIT */
/*
 * test_v2_codec.c - unit tests for the V2 inference request parser and response writer
 * (src/api/v2_codec.c): JSON requests (nested and flat data, every datatype, id, parameters,
 * requested outputs), each refusal with its message (malformed JSON with line and column,
 * missing fields, unknown datatype, FP16 in JSON, shape/data mismatch, integers out of range,
 * nesting depth, element limit, duplicates, shared memory, classification), the binary tensor
 * extension (Inference-Header-Content-Length, sizes, BYTES elements, leftover and missing
 * bytes, unaligned data, raw requests), and the response writer (JSON shape, binary outputs,
 * escaping, shortest float32 text that reads back exactly).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/v2_int.h"

static struct gy_arena *arena;

static void setup(void)
{
    arena = gy_arena_create(4096);
}

static void teardown(void)
{
    gy_arena_free(arena);
}

TestSuite(v2_parse, .init = setup, .fini = teardown);
TestSuite(v2_binary, .init = setup, .fini = teardown);
TestSuite(v2_write, .init = setup, .fini = teardown);

static struct gy_v2_limits lim = {0};

static struct gy_v2_request parse_ok(const char *text)
{
    struct gy_v2_request r;
    enum gy_status rc = gy__v2_request_parse(text, strlen(text), strlen(text), &lim, arena, &r);
    cr_assert_eq(rc, GY_OK, "%s: %s", text, gy_error_msg());
    return r;
}

static void parse_fails(const char *text, enum gy_status want, const char *needle)
{
    struct gy_v2_request r;
    enum gy_status rc = gy__v2_request_parse(text, strlen(text), strlen(text), &lim, arena, &r);
    cr_assert_eq(rc, want, "%s: want %d, got %d (%s)", text, want, rc, gy_error_msg());
    cr_assert(strstr(gy_error_msg(), needle), "%s: message \"%s\" lacks \"%s\"", text,
              gy_error_msg(), needle);
}

Test(v2_parse, nested_fp32_with_id_and_outputs)
{
    struct gy_v2_request r =
        parse_ok("{\"id\": \"req-1\", \"inputs\": [{\"name\": \"input-0\", \"shape\": [2, 3], "
                 "\"datatype\": \"FP32\", \"data\": [[1, 2.5, -3e2], [0.1, 1e-3, 16777217]]}],"
                 " \"outputs\": [{\"name\": \"output-0\"}, {\"name\": \"margin-0\", "
                 "\"parameters\": {\"binary_data\": true}}]}");
    const float *x;
    cr_assert_str_eq(r.id, "req-1");
    cr_assert_eq(r.n_inputs, 1);
    cr_assert_str_eq(r.inputs[0].name, "input-0");
    cr_assert_eq(r.inputs[0].dtype, GY_DT_FP32);
    cr_assert_eq(r.inputs[0].ndim, 2);
    cr_assert_eq(r.inputs[0].shape[0], 2);
    cr_assert_eq(r.inputs[0].shape[1], 3);
    cr_assert_eq(r.inputs[0].n_elems, 6);
    x = r.inputs[0].data;
    cr_assert_eq(x[0], 1.0f);
    cr_assert_eq(x[1], 2.5f);
    cr_assert_eq(x[2], -300.0f);
    cr_assert_eq(x[3], 0.1f);
    cr_assert_eq(x[4], 1e-3f);
    cr_assert_eq(x[5], 16777216.0f, "16777217 rounds to the nearest float32 (even)");
    cr_assert_eq(r.n_outputs, 2);
    cr_assert_str_eq(r.outputs[0].name, "output-0");
    cr_assert_eq(r.outputs[0].binary, -1);
    cr_assert_eq(r.outputs[1].binary, 1);
    cr_assert_eq(r.binary_output, -1);
    cr_assert_eq(r.raw, 0);
}

Test(v2_parse, flat_data_members_in_any_order)
{
    struct gy_v2_request r = parse_ok(
        "{\"inputs\":[{\"data\":[1,2,3,4],\"datatype\":\"FP64\",\"shape\":[2,2],\"name\":\"x\","
        "\"extra\":{\"a\":[1,{\"b\":null}]}}],\"parameters\":{\"binary_data_output\":true,"
        "\"custom\":\"v\",\"n\":3.5,\"flag\":false}}");
    const double *x = r.inputs[0].data;
    cr_assert_null(r.id);
    cr_assert_null(r.outputs);
    cr_assert_eq(r.binary_output, 1);
    cr_assert_eq(r.inputs[0].dtype, GY_DT_FP64);
    cr_assert_eq(x[0], 1.0);
    cr_assert_eq(x[3], 4.0);
}

Test(v2_parse, numbers_match_strtod_then_float)
{
    /* The correctly rounded double, narrowed: what float32(json.loads(text)) gives. */
    static const char *const nums[] = {
        "0.1",
        "3.14159265358979323846264338327950288",
        "1e-45",
        "7.006492321624085e-46",
        "123456789",
        "0.000000000000000000000000000000000000011754943508222875",
        "-2.5e-10",
        "9007199254740993",
        "1.00000005960464477539062500001",
        "340282346638528859811704183484516925440",
    };
    char text[512];
    for (size_t i = 0; i < GY_ARRAY_LEN(nums); i++) {
        snprintf(text, sizeof text,
                 "{\"inputs\":[{\"name\":\"a\",\"datatype\":\"FP32\",\"shape\":[1],"
                 "\"data\":[%s]},{\"name\":\"b\",\"datatype\":\"FP64\",\"shape\":[1],"
                 "\"data\":[%s]}]}",
                 nums[i], nums[i]);
        struct gy_v2_request r = parse_ok(text);
        double d = strtod(nums[i], NULL);
        float f = (float)d;
        cr_assert_eq(memcmp(r.inputs[0].data, &f, 4), 0, "%s as FP32", nums[i]);
        cr_assert_eq(memcmp(r.inputs[1].data, &d, 8), 0, "%s as FP64", nums[i]);
    }
}

Test(v2_parse, missing_values_and_infinities)
{
    struct gy_v2_request r =
        parse_ok("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[5],"
                 "\"data\":[null, NaN, Infinity, -Infinity, -0.0]}]}");
    const float *x = r.inputs[0].data;
    cr_assert(isnan(x[0]));
    cr_assert(isnan(x[1]));
    cr_assert(isinf(x[2]) && x[2] > 0);
    cr_assert(isinf(x[3]) && x[3] < 0);
    cr_assert(x[4] == 0.0f && signbit(x[4]));
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                "\"data\":[1e39]}]}",
                GY_E_INVALID, "out of range for FP32");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP64\",\"shape\":[1],"
                "\"data\":[1e999]}]}",
                GY_E_INVALID, "out of range for FP64");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                "\"data\":[\"1.5\"]}]}",
                GY_E_INVALID, "input 'x': data element 0: expected a number");
}

Test(v2_parse, integer_and_bool_types)
{
    struct gy_v2_request r = parse_ok(
        "{\"inputs\":[{\"name\":\"i8\",\"datatype\":\"INT8\",\"shape\":[2],\"data\":[-128,127]},"
        "{\"name\":\"u16\",\"datatype\":\"UINT16\",\"shape\":[1],\"data\":[65535]},"
        "{\"name\":\"i64\",\"datatype\":\"INT64\",\"shape\":[2],"
        "\"data\":[-9223372036854775808,9223372036854775807]},"
        "{\"name\":\"u64\",\"datatype\":\"UINT64\",\"shape\":[1],\"data\":[18446744073709551615]},"
        "{\"name\":\"b\",\"datatype\":\"BOOL\",\"shape\":[3],\"data\":[true,false,true]}]}");
    cr_assert_eq(((const int8_t *)r.inputs[0].data)[0], -128);
    cr_assert_eq(((const int8_t *)r.inputs[0].data)[1], 127);
    cr_assert_eq(((const uint16_t *)r.inputs[1].data)[0], 65535);
    cr_assert_eq(((const int64_t *)r.inputs[2].data)[0], INT64_MIN);
    cr_assert_eq(((const int64_t *)r.inputs[2].data)[1], INT64_MAX);
    cr_assert_eq(((const uint64_t *)r.inputs[3].data)[0], UINT64_MAX);
    cr_assert_eq(memcmp(r.inputs[4].data, "\1\0\1", 3), 0);

    parse_fails(
        "{\"inputs\":[{\"name\":\"v\",\"datatype\":\"INT8\",\"shape\":[1],\"data\":[128]}]}",
        GY_E_INVALID, "input 'v': data element 0: 128 is out of range for INT8");
    parse_fails(
        "{\"inputs\":[{\"name\":\"v\",\"datatype\":\"UINT8\",\"shape\":[1],\"data\":[-1]}]}",
        GY_E_INVALID, "-1 is out of range for UINT8");
    parse_fails("{\"inputs\":[{\"name\":\"v\",\"datatype\":\"INT64\",\"shape\":[1],"
                "\"data\":[-9223372036854775809]}]}",
                GY_E_INVALID, "out of range for INT64");
    parse_fails("{\"inputs\":[{\"name\":\"v\",\"datatype\":\"INT32\",\"shape\":[2],"
                "\"data\":[1, 1.5]}]}",
                GY_E_INVALID, "data element 1: 1.5 is not an integer");
    parse_fails("{\"inputs\":[{\"name\":\"v\",\"datatype\":\"BOOL\",\"shape\":[1],\"data\":[1]}]}",
                GY_E_INVALID, "BOOL elements must be true or false");
}

Test(v2_parse, bytes_strings_are_decoded)
{
    struct gy_v2_request r = parse_ok(
        "{\"inputs\":[{\"name\":\"s\",\"datatype\":\"BYTES\",\"shape\":[4],"
        "\"data\":[\"plain\", \"a\\\"b\\\\c\\n\", \"caf\\u00e9 \\ud83d\\ude00\", \"\"]}]}");
    const struct gy_bytes *b = r.inputs[0].data;
    cr_assert_eq(b[0].len, 5);
    cr_assert_eq(memcmp(b[0].data, "plain", 5), 0);
    cr_assert_eq(b[1].len, 6);
    cr_assert_eq(memcmp(b[1].data, "a\"b\\c\n", 6), 0);
    cr_assert_eq(b[2].len, strlen("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    cr_assert_eq(memcmp(b[2].data, "caf\xc3\xa9 \xf0\x9f\x98\x80", b[2].len), 0);
    cr_assert_eq(b[3].len, 0);
    parse_fails("{\"inputs\":[{\"name\":\"s\",\"datatype\":\"BYTES\",\"shape\":[1],"
                "\"data\":[5]}]}",
                GY_E_INVALID, "BYTES elements must be JSON strings");
    parse_fails("{\"inputs\":[{\"name\":\"s\",\"datatype\":\"BYTES\",\"shape\":[1],"
                "\"data\":[\"\\ud83d\"]}]}",
                GY_E_INVALID, "unpaired UTF-16 surrogate");
    parse_fails("{\"inputs\":[{\"name\":\"s\",\"datatype\":\"BYTES\",\"shape\":[1],"
                "\"data\":[\"\xc3\x28\"]}]}",
                GY_E_INVALID, "invalid UTF-8");
}

Test(v2_parse, shape_and_data_must_agree)
{
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2,2],"
                "\"data\":[1,2,3]}]}",
                GY_E_INVALID, "input 'x': data has 3 elements but its shape says 4");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2,2],"
                "\"data\":[[1,2],[3,4],[5]]}]}",
                GY_E_INVALID, "data has more elements than its shape's 4");
    /* A zero-element tensor is allowed. */
    struct gy_v2_request r = parse_ok(
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[0,3],\"data\":[]}]}");
    cr_assert_eq(r.inputs[0].n_elems, 0);
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,3],"
                "\"data\":[1,2,3]}]}",
                GY_E_INVALID, "shape dimensions must be non-negative integers");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                "\"data\":[1]}]}",
                GY_E_INVALID, "more than 8 dimensions");
}

Test(v2_parse, missing_and_wrong_fields)
{
    parse_fails("", GY_E_INVALID, "request body is empty");
    parse_fails("[1]", GY_E_INVALID, "the request must be a JSON object");
    parse_fails("{}", GY_E_INVALID, "the request has no \"inputs\"");
    parse_fails("{\"inputs\": []}", GY_E_INVALID, "\"inputs\" is empty");
    parse_fails("{\"inputs\":[{\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}", GY_E_INVALID,
                "an input has no \"name\"");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"data\":[1]}]}", GY_E_INVALID,
                "input 'x' has no \"datatype\"");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"data\":[1]}]}", GY_E_INVALID,
                "input 'x' has no \"shape\"");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1]}]}", GY_E_INVALID,
                "neither \"data\" nor parameters.binary_data_size");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"fp32\",\"shape\":[1],\"data\":[1]}]}",
                GY_E_INVALID, "unknown datatype \"fp32\"");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP16\",\"shape\":[1],\"data\":[1]}]}",
                GY_E_INVALID, "receiving FP16 data via JSON is not supported");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BF16\",\"shape\":[1],\"data\":[1]}]}",
                GY_E_INVALID, "receiving BF16 data via JSON is not supported");
    parse_fails("{\"inputs\":[{\"name\":1,\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}",
                GY_E_INVALID, "an input's \"name\" must be a string");
    parse_fails("{\"id\":5,\"inputs\":[]}", GY_E_INVALID, "\"id\" must be a string");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]},"
                "{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}",
                GY_E_INVALID, "input 'x' is given twice");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
                "\"inputs\":[]}",
                GY_E_INVALID, "duplicate key \"inputs\"");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
                "\"outputs\":[{\"name\":\"o\"},{\"name\":\"o\"}]}",
                GY_E_INVALID, "output 'o' is requested twice");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
                "\"parameters\":{\"binary_data_output\":1}}",
                GY_E_INVALID, "parameter 'binary_data_output' must be true or false");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
                "\"parameters\":{\"nested\":{\"a\":1}}}",
                GY_E_INVALID, "parameter 'nested' must be a string, number or boolean");
}

Test(v2_parse, malformed_json_says_where)
{
    parse_fails("{\"inputs\": [\n  {\"name\": \"x\",, }]}", GY_E_INVALID,
                "request body: line 2, column 16: expected a string key");
    parse_fails("{\"inputs\": [1", GY_E_INVALID, "request body: line 1, column 13");
    parse_fails(
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]} x",
        GY_E_INVALID, "unexpected data after the JSON object");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[01]}]}",
                GY_E_INVALID, "expected ',' or ']'");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1.]}]}",
                GY_E_INVALID, "a digit must follow '.'");
    parse_fails("{\"a\":\"tab\there\"}", GY_E_INVALID, "control character in string");
    parse_fails("{\"a\":nul}", GY_E_INVALID, "expected a JSON value");
}

Test(v2_parse, depth_limit)
{
    char text[1024];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                          "\"data\":");
    for (int i = 0; i < 40; i++)
        text[n++] = '[';
    text[n++] = '1';
    for (int i = 0; i < 40; i++)
        text[n++] = ']';
    memcpy(text + n, "}]}", 4);
    parse_fails(text, GY_E_INVALID, "JSON nested deeper than 32 levels");
    /* Unknown members are held to the same limit. */
    n = 0;
    n += (size_t)snprintf(text, sizeof text, "{\"other\":");
    for (int i = 0; i < 100; i++)
        text[n++] = '[';
    text[n] = '\0';
    parse_fails(text, GY_E_INVALID, "JSON nested deeper than 32 levels");
}

Test(v2_parse, element_limit_checked_before_allocating)
{
    struct gy_v2_limits small = {.max_elements = 10};
    struct gy_v2_request r;
    const char *text = "{\"inputs\":[{\"name\":\"a\",\"datatype\":\"FP32\",\"shape\":[2,3],"
                       "\"data\":[1,2,3,4,5,6]},{\"name\":\"b\",\"datatype\":\"FP32\","
                       "\"shape\":[5],\"data\":[1,2,3,4,5]}]}";
    enum gy_status rc = gy__v2_request_parse(text, strlen(text), strlen(text), &small, arena, &r);
    cr_assert_eq(rc, GY_E_TOO_LARGE, "%s", gy_error_msg());
    cr_assert(strstr(gy_error_msg(), "input 'b': 5 elements is more than this server accepts"),
              "%s", gy_error_msg());
    /* A huge shape with little data fails on the count, not on memory. */
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP64\",\"shape\":[100000000,100000],"
                "\"data\":[1]}]}",
                GY_E_TOO_LARGE, "more than this server accepts");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP64\","
                "\"shape\":[4294967296,4294967296,4294967296],\"data\":[1]}]}",
                GY_E_TOO_LARGE, "element count overflows");
}

Test(v2_parse, unsupported_extensions)
{
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                "\"parameters\":{\"shared_memory_region\":\"r\"}}]}",
                GY_E_UNSUPPORTED, "parameter 'shared_memory_region' is not supported");
    parse_fails("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
                "\"outputs\":[{\"name\":\"output-0\",\"parameters\":{\"classification\":2}}]}",
                GY_E_UNSUPPORTED, "no classification extension");
}

/* ------------------------------------------------------------------ binary */

/* A body of JSON header + @p bin (n bytes), at an offset so the binary part is unaligned when
 * @p misalign. */
static const char *binbody(const char *json, const void *bin, size_t n, size_t *len, int misalign)
{
    size_t jl = strlen(json);
    char *b = gy_arena_alloc(arena, jl + n + 8);
    char *p = b + (misalign ? 1 : 0);
    cr_assert_not_null(b);
    memcpy(p, json, jl);
    memcpy(p + jl, bin, n);
    *len = jl + n;
    return p;
}

Test(v2_binary, two_inputs_after_the_header)
{
    /* The example of Triton's binary data extension doc: UINT32 [2,2] and BOOL [3]. */
    const char *json = "{\"inputs\":[{\"name\":\"input0\",\"shape\":[2,2],\"datatype\":\"UINT32\","
                       "\"parameters\":{\"binary_data_size\":16}},{\"name\":\"input1\","
                       "\"shape\":[3],\"datatype\":\"BOOL\",\"parameters\":"
                       "{\"binary_data_size\":3}}],\"outputs\":[{\"name\":\"output0\","
                       "\"parameters\":{\"binary_data\":true}}]}";
    unsigned char bin[19];
    uint32_t u[4] = {1, 2, 0xFFFFFFFFu, 4};
    struct gy_v2_request r;
    size_t len, jl;
    memcpy(bin, u, 16);
    memcpy(bin + 16, "\1\0\1", 3);
    const char *body = binbody(json, bin, sizeof bin, &len, 0);
    cr_assert_eq(gy__v2_header_length("123", len, &jl), GY_OK);
    cr_assert_eq(jl, 123);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(r.n_inputs, 2);
    cr_assert_eq(((const uint32_t *)r.inputs[0].data)[2], 0xFFFFFFFFu);
    cr_assert_eq(memcmp(r.inputs[1].data, "\1\0\1", 3), 0);
    cr_assert_eq(r.outputs[0].binary, 1);
}

Test(v2_binary, unaligned_fp32_is_copied_and_exact)
{
    const char *json = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
                       "\"parameters\":{\"binary_data_size\":12}}]}";
    float v[3] = {0.1f, -2.0f, NAN};
    struct gy_v2_request r;
    size_t len;
    /* json is 104 bytes long, so misaligning the body misaligns the floats. */
    const char *body = binbody(json, v, sizeof v, &len, 1);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_OK, "%s",
                 gy_error_msg());
    cr_assert_eq(((uintptr_t)r.inputs[0].data) % 4, 0, "the data is aligned for float reads");
    cr_assert_eq(memcmp(r.inputs[0].data, v, sizeof v), 0);
}

Test(v2_binary, sizes_must_match)
{
    const char *json = "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\","
                       "\"parameters\":{\"binary_data_size\":12}}]}";
    char bin[16] = {0};
    struct gy_v2_request r;
    size_t len;
    const char *body = binbody(json, bin, 12, &len, 0);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "unexpected size for input 'x', expecting 8 bytes"), "%s",
              gy_error_msg());

    json = "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\","
           "\"parameters\":{\"binary_data_size\":8}}]}";
    body = binbody(json, bin, 12, &len, 0);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "unexpected additional input data: 4 bytes"), "%s",
              gy_error_msg());

    body = binbody(json, bin, 6, &len, 0);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "only 6 bytes of binary data are left"), "%s", gy_error_msg());

    json = "{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1,2],"
           "\"parameters\":{\"binary_data_size\":8}}]}";
    body = binbody(json, bin, 8, &len, 0);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "has both \"data\" and parameters.binary_data_size"), "%s",
              gy_error_msg());
}

Test(v2_binary, bytes_elements_are_length_prefixed)
{
    const char *json = "{\"inputs\":[{\"name\":\"s\",\"shape\":[2],\"datatype\":\"BYTES\","
                       "\"parameters\":{\"binary_data_size\":13}}]}";
    unsigned char bin[13] = {3, 0, 0, 0, 'a', 'b', 'c', 2, 0, 0, 0, 'x', 'y'};
    struct gy_v2_request r;
    size_t len;
    const char *body = binbody(json, bin, sizeof bin, &len, 0);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_OK, "%s",
                 gy_error_msg());
    const struct gy_bytes *b = r.inputs[0].data;
    cr_assert_eq(b[0].len, 3);
    cr_assert_eq(memcmp(b[0].data, "abc", 3), 0);
    cr_assert_eq(b[1].len, 2);
    cr_assert_eq(memcmp(b[1].data, "xy", 2), 0);

    bin[7] = 9; /* runs past the end */
    body = binbody(json, bin, sizeof bin, &len, 0);
    cr_assert_eq(gy__v2_request_parse(body, len, strlen(json), &lim, arena, &r), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "BYTES element 1: length 9 runs past"), "%s", gy_error_msg());
}

Test(v2_binary, header_length_values)
{
    size_t jl;
    cr_assert_eq(gy__v2_header_length(NULL, 50, &jl), GY_OK);
    cr_assert_eq(jl, 50);
    cr_assert_eq(gy__v2_header_length(" 0 ", 50, &jl), GY_OK);
    cr_assert_eq(jl, 0);
    cr_assert_eq(gy__v2_header_length("51", 50, &jl), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "(51) is larger than the body (50 bytes)"), "%s",
              gy_error_msg());
    cr_assert_eq(gy__v2_header_length("-1", 50, &jl), GY_E_INVALID);
    cr_assert_eq(gy__v2_header_length("12abc", 50, &jl), GY_E_INVALID);
    cr_assert_eq(gy__v2_header_length("", 50, &jl), GY_E_INVALID);
    cr_assert_eq(gy__v2_header_length("99999999999999999999999", 50, &jl), GY_E_INVALID);
}

Test(v2_binary, raw_request_is_one_fp32_matrix)
{
    float v[6] = {1, 2, 3, 4, 5, 6};
    struct gy_v2_request r;
    cr_assert_eq(gy__v2_request_raw((const char *)v, sizeof v, 3, &lim, arena, &r), GY_OK);
    cr_assert_eq(r.raw, 1);
    cr_assert_eq(r.binary_output, 1);
    cr_assert_str_eq(r.inputs[0].name, "input-0");
    cr_assert_eq(r.inputs[0].shape[0], 2);
    cr_assert_eq(r.inputs[0].shape[1], 3);
    cr_assert_eq(((const float *)r.inputs[0].data)[5], 6.0f);
    cr_assert_eq(gy__v2_request_raw((const char *)v, 20, 3, &lim, arena, &r), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "whole rows of 3 FP32 values (12 bytes each); got 20"), "%s",
              gy_error_msg());
    cr_assert_eq(gy__v2_request_raw((const char *)v, 0, 3, &lim, arena, &r), GY_E_INVALID);
}

/* ------------------------------------------------------------------ writing */

Test(v2_write, json_response)
{
    float out[4] = {0.1f, 0.25f, NAN, 1e-8f};
    struct gy_v2_out_tensor t[2] = {
        {.name = "output-0", .data = out, .rows = 4, .cols = 1, .ndim = 1},
        {.name = "margin-0", .data = out, .rows = 2, .cols = 2, .ndim = 2},
    };
    struct gy_v2_response r = {.model_name = "fraud\"@x",
                               .model_version = 12,
                               .id = "id\n1",
                               .variant = "fraud@champion",
                               .outputs = t,
                               .n_outputs = 2};
    struct gy_buf b;
    size_t jl;
    json_t *j;
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy__v2_response_write(&r, &b, &jl), GY_OK);
    cr_assert_eq(jl, b.len);
    cr_assert_str_eq(b.data,
                     "{\"model_name\":\"fraud\\\"@x\",\"model_version\":\"12\",\"id\":\"id\\n1\","
                     "\"parameters\":{\"gyre_variant\":\"fraud@champion\"},\"outputs\":[{\"name\":"
                     "\"output-0\",\"datatype\":\"FP32\",\"shape\":[4],\"data\":[0.1,0.25,null,"
                     "1e-8]},{\"name\":\"margin-0\",\"datatype\":\"FP32\",\"shape\":[2,2],\"data\":"
                     "[0.1,0.25,null,1e-8]}]}");
    cr_assert_eq(gy_json_parse(b.data, b.len, 8, "response", &j), GY_OK, "%s", gy_error_msg());
    json_decref(j);
    gy_buf_free(&b);
}

Test(v2_write, binary_outputs_follow_the_json)
{
    float out[3] = {0.5f, -1.0f, 3.0f};
    struct gy_v2_out_tensor t[2] = {
        {.name = "output-0", .data = out, .rows = 3, .cols = 1, .ndim = 1, .binary = 1},
        {.name = "margin-0", .data = out, .rows = 3, .cols = 1, .ndim = 1, .binary = 0},
    };
    struct gy_v2_response r = {.model_name = "m", .outputs = t, .n_outputs = 2};
    struct gy_buf b;
    size_t jl;
    json_t *j;
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy__v2_response_write(&r, &b, &jl), GY_OK);
    cr_assert_eq(b.len, jl + 12);
    cr_assert_eq(memcmp(b.data + jl, out, 12), 0);
    cr_assert_eq(gy_json_parse(b.data, jl, 8, "response", &j), GY_OK, "%s", gy_error_msg());
    cr_assert_null(json_object_get(j, "model_version"), "no version given: none written");
    json_t *o0 = json_array_get(json_object_get(j, "outputs"), 0);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(o0, "parameters"), "binary_data_size")),
        12);
    cr_assert_null(json_object_get(o0, "data"));
    json_decref(j);
    gy_buf_free(&b);
}

Test(v2_write, too_large_leaves_the_buffer_as_it_was)
{
    float out[1000] = {0};
    struct gy_v2_out_tensor t = {.name = "o", .data = out, .rows = 1000, .cols = 1, .ndim = 1};
    struct gy_v2_response r = {.model_name = "m", .outputs = &t, .n_outputs = 1};
    struct gy_buf b;
    size_t jl;
    gy_buf_init(&b, 512);
    cr_assert_eq(gy_buf_puts(&b, "keep"), GY_OK);
    cr_assert_eq(gy__v2_response_write(&r, &b, &jl), GY_E_TOO_LARGE);
    cr_assert_eq(b.len, 4);
    cr_assert_str_eq(b.data, "keep");
    gy_buf_free(&b);
}

Test(v2_write, floats_shortest_and_exact)
{
    static const struct {
        float f;
        const char *text;
    } cases[] = {
        {0.1f, "0.1"},
        {0.5f, "0.5"},
        {1.0f, "1"},
        {-0.0f, "-0"},
        {0.0f, "0"},
        {100.0f, "100"},
        {2.0f / 3.0f, "0.6666667"},
        {1e-8f, "1e-8"},
        {1e21f, "1e+21"},
        {3.4028235e38f, "3.4028235e+38"},
        {1.4e-45f, "1e-45"},
        {16777216.0f, "16777216"},
        {123456792.0f, "123456790"},
        {-2.5e-7f, "-2.5e-7"},
    };
    char out[32];
    for (size_t i = 0; i < GY_ARRAY_LEN(cases); i++) {
        gy__v2_fmt_f32(cases[i].f, out);
        cr_assert_str_eq(out, cases[i].text, "%.9g", (double)cases[i].f);
    }
    gy__v2_fmt_f32(INFINITY, out);
    cr_assert_str_eq(out, "null");
    /* Random bit patterns: the text always reads back to the same float, and no shorter
     * "%.*g" form does. */
    uint32_t x = 2463534242u;
    for (int i = 0; i < 200000; i++) {
        float f, g;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        memcpy(&f, &x, 4);
        if (!isfinite(f))
            continue;
        size_t n = gy__v2_fmt_f32(f, out);
        cr_assert_eq(n, strlen(out));
        g = strtof(out, NULL);
        cr_assert_eq(memcmp(&f, &g, 4), 0, "%a printed as %s reads back as %a", (double)f, out,
                     (double)g);
        if (i % 16 == 0) {
            char s[40];
            int digits = 0, started = 0, nd = 0;
            for (const char *c = out; *c && *c != 'e'; c++) {
                if (*c < '0' || *c > '9')
                    continue;
                if (*c == '0' && !started)
                    continue;
                started = 1;
                digits++;
                if (*c != '0')
                    nd = digits;
            }
            /* One digit fewer than we printed must not read back. */
            if (nd > 1) {
                snprintf(s, sizeof s, "%.*g", nd - 1, (double)f);
                cr_assert_neq(strtof(s, NULL), f, "%s reads back too, shorter than %s", s, out);
            }
        }
    }
}

Test(v2_write, json_strings_escape_controls)
{
    struct gy_buf b;
    gy_buf_init(&b, 1024);
    cr_assert_eq(gy__v2_json_str(&b, "a\x01\"\\\t\xc3\xa9", 7), GY_OK);
    cr_assert_str_eq(b.data, "\"a\\u0001\\\"\\\\\\t\xc3\xa9\"");
    gy_buf_free(&b);
}

Test(v2_parse, unknown_top_level_keys_are_refused)
{
    const char *in = "\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", "
                     "\"data\": [1]}]";
    char text[256];
    snprintf(text, sizeof text, "{%s, \"inptus\": []}", in);
    parse_fails(text, GY_E_INVALID, "unknown key \"inptus\"");
    snprintf(text, sizeof text, "{\"model_name\": \"m\", %s}", in);
    parse_fails(text, GY_E_INVALID, "(known: id, parameters, inputs, outputs)");
    /* A syntax error after the unknown key still wins: it says where. */
    snprintf(text, sizeof text, "{\"zz\": 1, %s, \"x\": }", in);
    parse_fails(text, GY_E_INVALID, "column");
}
