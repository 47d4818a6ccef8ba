/* SPDX-License-Identifier: MIT */
/*
 * test_filter.c - the MLflow filter and order_by parser (valid forms, every spelling of the
 * prefixes, quoting, numbers, lists, and errors with their columns), the LIKE-to-GLOB
 * translation, the key checks and the enum parsers. No database needed.
 */
#include "../store_fixture.h"

#include <math.h>

static struct gy_tracking_filter *parse_ok(const char *text)
{
    struct gy_tracking_filter *f = NULL;
    enum gy_status rc = gy_tracking_filter_parse(text, &f);
    cr_assert_eq(rc, GY_OK, "parse \"%s\": %s", text, gy_error_msg());
    cr_assert_not_null(f);
    return f;
}

/* Parses @p text expecting failure, and checks the message mentions @p needle. */
static void parse_bad(const char *text, const char *needle)
{
    struct gy_tracking_filter *f = (void *)1;
    enum gy_status rc = gy_tracking_filter_parse(text, &f);
    cr_assert_eq(rc, GY_E_INVALID, "\"%s\" should fail, got %s", text, gy_status_str(rc));
    cr_assert_null(f);
    cr_assert(strstr(gy_error_msg(), needle), "\"%s\": message \"%s\" lacks \"%s\"", text,
              gy_error_msg(), needle);
}

Test(filter, empty_and_blank)
{
    int64_t before = gy_alloc_bytes();
    struct gy_tracking_filter *f = parse_ok(NULL);
    cr_assert_eq(f->n, 0);
    gy_tracking_filter_free(f);
    f = parse_ok("   \t ");
    cr_assert_eq(f->n, 0);
    gy_tracking_filter_free(f);
    gy_tracking_filter_free(NULL);
    cr_assert_eq(gy_alloc_bytes(), before);
}

Test(filter, conditions_and_types)
{
    int64_t before = gy_alloc_bytes();
    struct gy_tracking_filter *f =
        parse_ok("metrics.rmse < 1 and params.model_class = 'LogisticRegression' AND "
                 "tags.\"user-name\" != 'Tomas' And attributes.status = \"FAILED\" anD "
                 "run_id IN ('a1', 'b2') AND datasets.context NOT IN ('training')");
    cr_assert_eq(f->n, 6);
    cr_assert_eq(f->conds[0].entity, GY_TRACKING_ENT_METRIC);
    cr_assert_str_eq(f->conds[0].key, "rmse");
    cr_assert_eq(f->conds[0].op, GY_TRACKING_OP_LT);
    cr_assert(f->conds[0].is_num);
    cr_assert_float_eq(f->conds[0].num, 1.0, 0);
    cr_assert_eq(f->conds[0].pos, 0);
    cr_assert_eq(f->conds[1].entity, GY_TRACKING_ENT_PARAM);
    cr_assert_str_eq(f->conds[1].str, "LogisticRegression");
    cr_assert_eq(f->conds[1].pos, 21);
    cr_assert_eq(f->conds[2].entity, GY_TRACKING_ENT_TAG);
    cr_assert_str_eq(f->conds[2].key, "user-name");
    cr_assert_eq(f->conds[2].op, GY_TRACKING_OP_NE);
    cr_assert_eq(f->conds[3].entity, GY_TRACKING_ENT_ATTRIBUTE);
    cr_assert_str_eq(f->conds[3].key, "status");
    cr_assert_str_eq(f->conds[3].str, "FAILED");
    cr_assert_eq(f->conds[4].op, GY_TRACKING_OP_IN);
    cr_assert_eq(f->conds[4].nlist, 2);
    cr_assert_str_eq(f->conds[4].list[1], "b2");
    cr_assert_eq(f->conds[5].entity, GY_TRACKING_ENT_DATASET);
    cr_assert_eq(f->conds[5].op, GY_TRACKING_OP_NOT_IN);
    cr_assert_str_eq(f->conds[5].list[0], "training");
    gy_tracking_filter_free(f);
    cr_assert_eq(gy_alloc_bytes(), before);
}

Test(filter, prefix_spellings)
{
    static const struct {
        const char *text;
        enum gy_tracking_entity e;
    } cases[] = {
        {"metric.a = 1", GY_TRACKING_ENT_METRIC},
        {"METRICS.a = 1", GY_TRACKING_ENT_METRIC},
        {"param.a = 'x'", GY_TRACKING_ENT_PARAM},
        {"parameter.a = 'x'", GY_TRACKING_ENT_PARAM},
        {"Parameters.a = 'x'", GY_TRACKING_ENT_PARAM},
        {"tag.a = 'x'", GY_TRACKING_ENT_TAG},
        {"attr.status = 'x'", GY_TRACKING_ENT_ATTRIBUTE},
        {"run.status = 'x'", GY_TRACKING_ENT_ATTRIBUTE},
        {"dataset.name = 'x'", GY_TRACKING_ENT_DATASET},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(cases); i++) {
        struct gy_tracking_filter *f = parse_ok(cases[i].text);
        cr_assert_eq(f->n, 1);
        cr_assert_eq(f->conds[0].entity, cases[i].e, "%s", cases[i].text);
        gy_tracking_filter_free(f);
    }
}

Test(filter, quoting_numbers_and_aliases)
{
    struct gy_tracking_filter *f =
        parse_ok("metrics.`my metric` >= -1.5e3 AND params.\"a.b\" LIKE 'it''s%' AND "
                 "`Run name` ILIKE '%X%' AND created > 1600000000000 AND metrics.a.b <= .5 "
                 "AND params.p = \"say \"\"hi\"\"\"");
    cr_assert_eq(f->n, 6);
    cr_assert_str_eq(f->conds[0].key, "my metric");
    cr_assert_eq(f->conds[0].op, GY_TRACKING_OP_GE);
    cr_assert_float_eq(f->conds[0].num, -1500.0, 0);
    cr_assert_str_eq(f->conds[1].key, "a.b");
    cr_assert_eq(f->conds[1].op, GY_TRACKING_OP_LIKE);
    cr_assert_str_eq(f->conds[1].str, "it's%");
    cr_assert_str_eq(f->conds[2].key, "run_name");
    cr_assert_eq(f->conds[2].op, GY_TRACKING_OP_ILIKE);
    cr_assert_str_eq(f->conds[3].key, "start_time");
    cr_assert_str_eq(f->conds[4].key, "a.b");
    cr_assert_float_eq(f->conds[4].num, 0.5, 0);
    cr_assert_str_eq(f->conds[5].str, "say \"hi\"");
    gy_tracking_filter_free(f);
}

Test(filter, errors_name_their_column)
{
    parse_bad("metrics.rmse", "column 13: expected a comparator");
    parse_bad("metrics.rmse ~ 1", "column 14: expected a comparator");
    parse_bad("metrics.rmse < ", "column 16: expected a quoted string or a number");
    parse_bad("metrics.rmse < 1 params.x = 'a'", "column 18: expected AND or the end");
    parse_bad("metrics.rmse < 1 OR params.x = 'a'", "column 18: OR is not supported");
    parse_bad("(metrics.rmse < 1)", "column 1: parentheses are not supported");
    parse_bad("metrics.rmse < 1 AND", "expected a condition after AND");
    parse_bad("params.x = 'abc", "column 12: unterminated quote");
    parse_bad("tags.`abc = 'x'", "unterminated quote");
    parse_bad("foo.bar = 'x'", "column 1: invalid identifier type 'foo'");
    parse_bad("metrics. = 1", "column 9: expected a key");
    parse_bad("metrics.\"\" = 1", "empty key");
    parse_bad("run_id IN 'a'", "column 11: expected '('");
    parse_bad("run_id IN ('a' 'b')", "expected ',' or ')'");
    parse_bad("run_id IN ()", "expected a quoted string in the list");
    parse_bad("run_id NOT 'a'", "expected IN after NOT");
    parse_bad("metrics.a > 1e", "digits of the exponent");
    parse_bad("metrics.a > 12abc", "expected the end of the number");
    parse_bad("metrics.a > 1e999", "out of range");
    parse_bad("= 1", "column 1: expected an identifier");
    parse_bad("metrics.a > nan", "expected a quoted string or a number");
}

Test(filter, too_long)
{
    size_t n = GY_TRACKING_FILTER_MAX + 10;
    char *text = gy_malloc(n + 1);
    struct gy_tracking_filter *f = NULL;
    memset(text, ' ', n);
    text[n] = '\0';
    cr_assert_eq(gy_tracking_filter_parse(text, &f), GY_E_TOO_LARGE);
    cr_assert_null(f);
    gy_free(text);
}

Test(filter, order_by)
{
    struct gy_tracking_order o;
    int64_t before = gy_alloc_bytes();
    cr_assert_eq(gy_tracking_order_parse("metrics.rmse DESC", &o), GY_OK);
    cr_assert_eq(o.entity, GY_TRACKING_ENT_METRIC);
    cr_assert_str_eq(o.key, "rmse");
    cr_assert(o.desc);
    gy_free(o.key);
    cr_assert_eq(gy_tracking_order_parse("  params.x ", &o), GY_OK);
    cr_assert_eq(o.entity, GY_TRACKING_ENT_PARAM);
    cr_assert_not(o.desc);
    gy_free(o.key);
    cr_assert_eq(gy_tracking_order_parse("start_time", &o), GY_OK);
    cr_assert_eq(o.entity, GY_TRACKING_ENT_ATTRIBUTE);
    cr_assert_str_eq(o.key, "start_time");
    gy_free(o.key);
    cr_assert_eq(gy_tracking_order_parse("attributes.run_name asc", &o), GY_OK);
    cr_assert_str_eq(o.key, "run_name");
    cr_assert_not(o.desc);
    gy_free(o.key);
    cr_assert_eq(gy_tracking_order_parse("tags.`a b` desc", &o), GY_OK);
    cr_assert_str_eq(o.key, "a b");
    cr_assert(o.desc);
    gy_free(o.key);
    cr_assert_eq(gy_tracking_order_parse("metrics.rmse DOWN", &o), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "order_by: at column 14: expected ASC, DESC"), "%s",
              gy_error_msg());
    cr_assert_null(o.key);
    cr_assert_eq(gy_tracking_order_parse("", &o), GY_E_INVALID);
    cr_assert_eq(gy_tracking_order_parse("bogus.x", &o), GY_E_INVALID);
    cr_assert_eq(gy_alloc_bytes(), before);
}

Test(filter, like_to_glob)
{
    static const struct {
        const char *like, *glob;
    } cases[] = {
        {"abc", "abc"},       {"a%", "a*"},     {"_b_", "?b?"},     {"a*b", "a[*]b"},
        {"what?", "what[?]"}, {"[x]", "[[]x]"}, {"%Ünï_", "*Ünï?"}, {"", ""},
    };
    for (size_t i = 0; i < GY_ARRAY_LEN(cases); i++) {
        char *g = NULL;
        cr_assert_eq(gy_tracking_like_to_glob(cases[i].like, &g), GY_OK);
        cr_assert_str_eq(g, cases[i].glob);
        gy_free(g);
    }
}

Test(filter, sql_like_per_backend)
{
    struct gy_buf b;
    char *bound = NULL;
    gy_buf_init(&b, 1024);
    cr_assert_eq(
        gy_tracking_sql_like(GY_DB_SQLITE, "x.v", GY_TRACKING_OP_LIKE, "a_%", 3, &b, &bound),
        GY_OK);
    cr_assert_str_eq(b.data, "x.v GLOB $3");
    cr_assert_str_eq(bound, "a?*");
    gy_free(bound);
    gy_buf_reset(&b);
    cr_assert_eq(
        gy_tracking_sql_like(GY_DB_SQLITE, "x.v", GY_TRACKING_OP_ILIKE, "a_%", 1, &b, &bound),
        GY_OK);
    cr_assert_str_eq(b.data, "x.v LIKE $1");
    cr_assert_str_eq(bound, "a_%");
    gy_free(bound);
    gy_buf_reset(&b);
    cr_assert_eq(
        gy_tracking_sql_like(GY_DB_POSTGRES, "x.v", GY_TRACKING_OP_LIKE, "a", 2, &b, &bound),
        GY_OK);
    cr_assert_str_eq(b.data, "x.v LIKE $2 ESCAPE ''");
    gy_free(bound);
    gy_buf_reset(&b);
    cr_assert_eq(
        gy_tracking_sql_like(GY_DB_POSTGRES, "x.v", GY_TRACKING_OP_ILIKE, "a", 2, &b, &bound),
        GY_OK);
    cr_assert_str_eq(b.data, "x.v ILIKE $2 ESCAPE ''");
    gy_free(bound);
    cr_assert_eq(gy_tracking_sql_like(GY_DB_POSTGRES, "x", GY_TRACKING_OP_EQ, "a", 2, &b, &bound),
                 GY_E_INTERNAL);
    cr_assert_null(bound);
    gy_buf_free(&b);
}

Test(filter, op_names)
{
    cr_assert_str_eq(gy_tracking_op_str(GY_TRACKING_OP_NOT_IN), "NOT IN");
    cr_assert_str_eq(gy_tracking_op_str(GY_TRACKING_OP_LE), "<=");
    cr_assert_str_eq(gy_tracking_op_str(GY_TRACKING_OP_ILIKE), "ILIKE");
    cr_assert_str_eq(gy_tracking_op_str((enum gy_tracking_op)99), "");
}

Test(keys, key_check)
{
    static const char *const good[] = {"rmse", "a/b", "val loss", "x-y_z.1", "ns:key", "épsilon"};
    static const char *const bad[] = {"",     "/a",  "a/",   "a//b", "./a",   "a/../b", "..",
                                      "a\\b", "a;b", "a%2e", "a\nb", "tab\t", "q?"};
    char longkey[GY_TRACKING_KEY_MAX + 2];
    for (size_t i = 0; i < GY_ARRAY_LEN(good); i++)
        cr_assert_eq(gy_tracking_key_check("metric", good[i]), GY_OK, "%s: %s", good[i],
                     gy_error_msg());
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++)
        cr_assert_eq(gy_tracking_key_check("metric", bad[i]), GY_E_INVALID, "%s", bad[i]);
    cr_assert_eq(gy_tracking_key_check("param", NULL), GY_E_INVALID);
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    cr_assert_eq(gy_tracking_key_check("param", longkey), GY_E_INVALID);
    longkey[GY_TRACKING_KEY_MAX] = '\0';
    cr_assert_eq(gy_tracking_key_check("param", longkey), GY_OK);
    cr_assert_eq(gy_tracking_key_check("param", "\xc0\xae"), GY_E_INVALID, "overlong UTF-8");
}

Test(enums, parse_and_names)
{
    enum gy_tracking_view v;
    enum gy_tracking_run_status s;
    int64_t id = -1;
    cr_assert_eq(gy_tracking_view_parse("active_only", &v), GY_OK);
    cr_assert_eq(v, GY_TRACKING_VIEW_ACTIVE_ONLY);
    cr_assert_eq(gy_tracking_view_parse("DELETED_ONLY", &v), GY_OK);
    cr_assert_eq(v, GY_TRACKING_VIEW_DELETED_ONLY);
    cr_assert_eq(gy_tracking_view_parse("ALL", &v), GY_OK);
    cr_assert_eq(v, GY_TRACKING_VIEW_ALL);
    cr_assert_eq(gy_tracking_view_parse("SOME", &v), GY_E_INVALID);
    cr_assert_eq(gy_tracking_view_parse(NULL, &v), GY_E_INVALID);
    for (int i = GY_RUN_RUNNING; i <= GY_RUN_KILLED; i++) {
        cr_assert_eq(gy_tracking_run_status_parse(
                         gy_tracking_run_status_str((enum gy_tracking_run_status)i), &s),
                     GY_OK);
        cr_assert_eq((int)s, i);
    }
    cr_assert_str_eq(gy_tracking_run_status_str(GY_RUN_FINISHED), "FINISHED");
    cr_assert_str_eq(gy_tracking_run_status_str((enum gy_tracking_run_status)0), "");
    cr_assert_eq(gy_tracking_run_status_parse("finished", &s), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_id_parse("12", &id), GY_OK);
    cr_assert_eq(id, 12);
    cr_assert_eq(gy_tracking_experiment_id_parse("0", &id), GY_OK);
    cr_assert_eq(id, 0);
    cr_assert_eq(gy_tracking_experiment_id_parse("-1", &id), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_id_parse("1x", &id), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_id_parse("", &id), GY_E_INVALID);
    cr_assert(gy_tracking_run_id_valid("0123456789abcdef0123456789abcdef"));
    cr_assert_not(gy_tracking_run_id_valid("0123456789ABCDEF0123456789abcdef"));
    cr_assert_not(gy_tracking_run_id_valid("0123456789abcdef0123456789abcde"));
    cr_assert_not(gy_tracking_run_id_valid(NULL));
}
