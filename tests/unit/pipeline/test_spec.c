/* SPDX-License-Identifier: MIT */
/*
 * test_spec.c - unit tests for pipeline specs (src/pipeline/spec.c): the example spec parses
 * with every field as written and round-trips through the canonical JSON form; a minimal
 * spec gets every default; each class of error (unknown key, wrong type, out of range,
 * missing field, bad names, cross-field rules, duplicate keys, anchors, aliases, tags,
 * several documents, depth, size, NUL bytes, syntax) names the YAML line and the field path;
 * the JSON form names the path without a line; durations and operator names.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "pipeline/pipeline.h"

/* ------------------------------------------------------------------ helpers */

static const char *minimal = "name: p1\n"
                             "data:\n"
                             "  dataset: ds\n"
                             "train:\n"
                             "  target: y\n"
                             "register:\n"
                             "  model: m\n";

static struct gy_pipeline_spec *parse_ok(const char *yaml)
{
    struct gy_pipeline_spec *s = NULL;
    enum gy_status rc = gy_pipeline_spec_parse_yaml(yaml, strlen(yaml), &s);
    cr_assert_eq(rc, GY_OK, "parse failed: %s", gy_error_msg());
    cr_assert_not_null(s);
    return s;
}

/* Parses @p yaml expecting GY_E_INVALID with @p want somewhere in the error text. */
static void parse_err(const char *yaml, const char *want)
{
    struct gy_pipeline_spec *s = (struct gy_pipeline_spec *)1;
    enum gy_status rc = gy_pipeline_spec_parse_yaml(yaml, strlen(yaml), &s);
    cr_assert_eq(rc, GY_E_INVALID, "expected an error for:\n%s\ngot rc %d (%s)", yaml, rc,
                 gy_error_msg());
    cr_assert_null(s);
    cr_assert(strstr(gy_error_msg(), want), "error \"%s\" lacks \"%s\"", gy_error_msg(), want);
}

/* minimal + extra lines appended. */
static void minimal_err(const char *extra, const char *want)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", minimal, extra);
    parse_err(buf, want);
}

static char *read_file(const char *path, size_t *len)
{
    struct gy_buf b;
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy_file_read(path, &b), GY_OK, "%s", gy_error_msg());
    return gy_buf_detach(&b, len);
}

static char *canon(const struct gy_pipeline_spec *s)
{
    json_t *j = NULL;
    char *text;
    cr_assert_eq(gy_pipeline_spec_to_json(s, &j), GY_OK, "%s", gy_error_msg());
    text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(j);
    cr_assert_not_null(text);
    return text;
}

/* ------------------------------------------------------------------ valid specs */

Test(spec, example_parses_with_every_field)
{
    size_t len;
    char *text = read_file("examples/pipelines/fraud.yaml", &len);
    struct gy_pipeline_spec *s = NULL;
    cr_assert_eq(gy_pipeline_spec_parse_yaml(text, len, &s), GY_OK, "%s", gy_error_msg());
    cr_assert_str_eq(s->name, "fraud-retrain");
    cr_assert_str_eq(s->description, "Daily fraud retraining with a 10% canary");
    cr_assert_str_eq(s->data.dataset, "tx");
    cr_assert_eq(s->data.select, GY_SELECT_WINDOW);
    cr_assert_str_eq(s->data.window_column, "ts");
    cr_assert_eq(s->data.window_us, 14LL * 86400 * 1000000);
    cr_assert_str_eq(s->data.feedback_from, "fraud-live");
    cr_assert_str_eq(s->train.target, "is_fraud");
    cr_assert_str_eq(s->train.trainer, "xgboost");
    cr_assert_str_eq(s->train.task, "binary");
    cr_assert_str_eq(s->train.features,
                     "amount:standardize,impute=median;merchant_category:onehot,top=20;tx_id:drop");
    cr_assert_str_eq(s->train.split, "stratified");
    cr_assert_eq(s->train.valid_fraction, 0.2);
    cr_assert_eq(s->train.seed, 42);
    cr_assert_eq(s->train.rounds, 200);
    cr_assert_eq(s->train.early_stopping, 20);
    cr_assert_str_eq(s->train.experiment, "fraud-pipeline");
    cr_assert_eq(s->train.n_params, 2);
    cr_assert_str_eq(s->train.params[0].key, "max_depth");
    cr_assert_str_eq(s->train.params[0].value, "4");
    cr_assert_str_eq(s->train.params[1].key, "eta");
    cr_assert_str_eq(s->train.params[1].value, "0.3");
    cr_assert_eq(s->gates.n_min, 2);
    cr_assert_str_eq(s->gates.min[0].metric, "auc");
    cr_assert_eq(s->gates.min[0].op, GY_OP_GE);
    cr_assert_eq(s->gates.min[0].value, 0.80);
    cr_assert_str_eq(s->gates.min[1].metric, "logloss");
    cr_assert_eq(s->gates.min[1].op, GY_OP_LE);
    cr_assert_eq(s->gates.min[1].value, 0.5);
    cr_assert_str_eq(s->gates.champion_metric, "auc");
    cr_assert_eq(s->gates.champion_margin, 0.002);
    cr_assert_str_eq(s->register_.model, "fraud");
    cr_assert_str_eq(s->register_.alias, "challenger");
    cr_assert_str_eq(s->rollout.deployment, "fraud-live");
    cr_assert_eq(s->rollout.canary_percent, 10);
    cr_assert_eq(s->rollout.min_requests, 100);
    cr_assert_eq(s->rollout.min_duration_us, 60LL * 1000000);
    cr_assert_eq(s->rollout.max_duration_us, 3600LL * 1000000);
    cr_assert_eq(s->rollout.max_error_rate, 0.01);
    cr_assert_eq(s->rollout.max_p99_ratio, 2.0);
    cr_assert_str_eq(s->rollout.online_metric, "accuracy");
    cr_assert_eq(s->rollout.max_online_drop, 0.02);
    cr_assert_eq(s->rollout.min_feedback, 50);
    cr_assert_eq(s->rollout.require_significance, 0);
    cr_assert_eq(s->rollout.alpha, 0.05);
    cr_assert_str_eq(s->triggers.drift_deployment, "fraud-live");
    cr_assert_str_eq(s->triggers.schedule, "0 3 * * *");
    cr_assert_eq(s->triggers.new_rows, 10000);
    gy_pipeline_spec_free(s);
    gy_free(text);
}

Test(spec, example_round_trips_through_json)
{
    size_t len;
    char *text = read_file("examples/pipelines/fraud.yaml", &len), *c1, *c2;
    struct gy_pipeline_spec *s = NULL, *s2 = NULL;
    json_t *j = NULL, *back;
    cr_assert_eq(gy_pipeline_spec_parse_yaml(text, len, &s), GY_OK, "%s", gy_error_msg());
    c1 = canon(s);
    cr_assert_eq(gy_pipeline_spec_to_json(s, &j), GY_OK);
    /* through text too, as the store keeps it */
    back = json_loads(c1, 0, NULL);
    cr_assert_not_null(back);
    cr_assert_eq(gy_pipeline_spec_from_json(back, &s2), GY_OK, "%s", gy_error_msg());
    c2 = canon(s2);
    cr_assert_str_eq(c1, c2);
    /* spot-check the canonical shape */
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "data"), "select")),
                     "window");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "data"), "window"), "last")),
                     "14d");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "gates"), "min"), "logloss")),
                     "<= 0.5");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(j, "rollout"), "max_duration")), "1h");
    cr_assert_eq(s2->train.n_params, 2);
    /* the canonical text has sorted keys, so params come back sorted */
    cr_assert_str_eq(s2->train.params[0].key, "eta");
    cr_assert_str_eq(s2->train.params[0].value, "0.3");
    cr_assert_str_eq(s2->train.params[1].value, "4");
    json_decref(back);
    json_decref(j);
    gy_free(c1);
    gy_free(c2);
    gy_pipeline_spec_free(s);
    gy_pipeline_spec_free(s2);
    gy_free(text);
}

Test(spec, defaults_are_filled)
{
    struct gy_pipeline_spec *s = parse_ok(minimal);
    json_t *j = NULL;
    cr_assert_null(s->description);
    cr_assert_eq(s->data.select, GY_SELECT_LATEST);
    cr_assert_null(s->data.feedback_from);
    cr_assert_str_eq(s->train.trainer, "xgboost");
    cr_assert_null(s->train.task);
    cr_assert_null(s->train.features);
    cr_assert_str_eq(s->train.split, "stratified");
    cr_assert_eq(s->train.valid_fraction, 0.2);
    cr_assert_eq(s->train.seed, 42);
    cr_assert_eq(s->train.rounds, 0);
    cr_assert_eq(s->train.early_stopping, 0);
    cr_assert_str_eq(s->train.experiment, "pipeline-p1");
    cr_assert_eq(s->train.n_params, 0);
    cr_assert_eq(s->gates.n_min, 0);
    cr_assert_null(s->gates.champion_metric);
    cr_assert_eq(s->gates.champion_margin, 0);
    cr_assert_str_eq(s->register_.alias, "challenger");
    cr_assert_null(s->rollout.deployment);
    cr_assert_eq(s->rollout.canary_percent, 10);
    cr_assert_eq(s->rollout.min_requests, 100);
    cr_assert_eq(s->rollout.min_duration_us, 60LL * 1000000);
    cr_assert_eq(s->rollout.max_duration_us, 3600LL * 1000000);
    cr_assert_eq(s->rollout.max_error_rate, 0.01);
    cr_assert_eq(s->rollout.max_p99_ratio, 0);
    cr_assert_null(s->rollout.online_metric);
    cr_assert_eq(s->rollout.max_online_drop, 0.02);
    cr_assert_eq(s->rollout.min_feedback, 50);
    cr_assert_eq(s->rollout.alpha, 0.05);
    cr_assert_null(s->triggers.drift_deployment);
    cr_assert_null(s->triggers.schedule);
    cr_assert_eq(s->triggers.new_rows, 0);
    cr_assert_eq(gy_pipeline_spec_to_json(s, &j), GY_OK);
    cr_assert(json_is_null(json_object_get(j, "rollout")));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "train"), "split")),
                     "stratified");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "train"), "seed")), 42);
    json_decref(j);
    gy_pipeline_spec_free(s);
}

Test(spec, rollout_defaults_inside_a_rollout)
{
    char buf[1024];
    struct gy_pipeline_spec *s;
    snprintf(buf, sizeof buf, "%srollout:\n  deployment: d1\n  online: {metric: auc}\n", minimal);
    s = parse_ok(buf);
    cr_assert_str_eq(s->rollout.deployment, "d1");
    cr_assert_eq(s->rollout.canary_percent, 10);
    cr_assert_str_eq(s->rollout.online_metric, "auc");
    cr_assert_eq(s->rollout.min_feedback, 50);
    cr_assert_eq(s->rollout.alpha, 0.05);
    gy_pipeline_spec_free(s);
}

Test(spec, select_last_rows_and_booleans_and_explicit_ops)
{
    struct gy_pipeline_spec *s =
        parse_ok("name: p\n"
                 "data: {dataset: ds, select: last_rows, last_rows: 500}\n"
                 "train: {target: y, split: 'time:ts'}\n"
                 "gates:\n"
                 "  min: {rmse: 3, r2: '> 0.5', mae: '<0.25', auc: '>=0.7'}\n"
                 "register: {model: m}\n"
                 "rollout:\n"
                 "  deployment: d\n"
                 "  online: {metric: rmse, require_significance: yes}\n");
    cr_assert_eq(s->data.select, GY_SELECT_LAST_ROWS);
    cr_assert_eq(s->data.last_rows, 500);
    cr_assert_str_eq(s->train.split, "time:ts");
    cr_assert_eq(s->gates.n_min, 4);
    cr_assert_eq(s->gates.min[0].op, GY_OP_LE); /* rmse: lower is better */
    cr_assert_eq(s->gates.min[0].value, 3);
    cr_assert_eq(s->gates.min[1].op, GY_OP_GT);
    cr_assert_eq(s->gates.min[2].op, GY_OP_LT);
    cr_assert_eq(s->gates.min[2].value, 0.25);
    cr_assert_eq(s->gates.min[3].op, GY_OP_GE);
    cr_assert_eq(s->rollout.require_significance, 1);
    gy_pipeline_spec_free(s);
}

Test(spec, features_mapping_is_stored_as_canonical_json)
{
    char buf[1024], *c1, *c2;
    struct gy_pipeline_spec *s, *s2 = NULL;
    json_t *j = NULL;
    snprintf(buf, sizeof buf,
             "name: p\ndata: {dataset: ds}\nregister: {model: m}\n"
             "train:\n  target: y\n  features:\n    default: drop\n    columns:\n"
             "      amount: {encode: standardize, clip: [0, 1000.5]}\n"
             "      merchant: {encode: onehot, top: 20}\n");
    s = parse_ok(buf);
    cr_assert_eq(s->train.features[0], '{');
    cr_assert(strstr(s->train.features, "\"default\":\"drop\""), "%s", s->train.features);
    cr_assert(strstr(s->train.features, "1000.5"), "%s", s->train.features);
    c1 = canon(s);
    cr_assert_eq(gy_pipeline_spec_to_json(s, &j), GY_OK);
    cr_assert(json_is_object(json_object_get(json_object_get(j, "train"), "features")));
    cr_assert_eq(gy_pipeline_spec_from_json(j, &s2), GY_OK, "%s", gy_error_msg());
    cr_assert_str_eq(s->train.features, s2->train.features);
    c2 = canon(s2);
    cr_assert_str_eq(c1, c2);
    json_decref(j);
    gy_free(c1);
    gy_free(c2);
    gy_pipeline_spec_free(s);
    gy_pipeline_spec_free(s2);
}

/* ------------------------------------------------------------------ YAML errors */

Test(spec_errors, unknown_key_names_line_and_path)
{
    minimal_err("gates:\n  min:\n    auc: 0.8\n  champ: {metric: auc}\n",
                "line 11: gates.champ: unknown key (expected one of: min, champion)");
    parse_err("name: p\ndata:\n  dataset: ds\n  selct: latest\n",
              "line 4: data.selct: unknown key");
    parse_err("nam: p\n", "line 1: nam: unknown key");
}

Test(spec_errors, wrong_type)
{
    minimal_err("gates:\n  min:\n    auc: high\n",
                "line 10: gates.min.auc: expected a number or \"OP NUMBER\"");
    minimal_err("gates:\n  min:\n    auc: [1]\n",
                "line 10: gates.min.auc: expected a number, got a list");
    minimal_err("triggers:\n  new_rows: 1.5\n",
                "line 9: triggers.new_rows: expected a whole number, got 1.5");
    minimal_err("rollout:\n  deployment: d\n  online: {metric: auc, require_significance: 1}\n",
                "line 10: rollout.online.require_significance: expected true or false, got 1");
    parse_err("name: p\ndata: [ds]\n", "line 2: data: expected a mapping, got a list");
    parse_err("name: yes\n", "line 1: name: expected a string, got yes");
    minimal_err("rollout:\n  deployment: d\n  min_duration: 60\n",
                "line 10: rollout.min_duration: expected a duration like \"90s\"");
}

Test(spec_errors, out_of_range_and_non_finite)
{
    minimal_err("rollout:\n  deployment: d\n  canary_percent: 100\n",
                "line 10: rollout.canary_percent: must be between 1 and 99, got 100");
    parse_err("name: p\ndata: {dataset: ds}\nregister: {model: m}\ntrain:\n  target: y\n"
              "  valid: 1.0\n",
              "line 6: train.valid: must be > 0 and < 1, got 1.0");
    minimal_err("gates:\n  min: {auc: .nan}\n", "line 9: gates.min.auc: must be a finite number");
    minimal_err("gates:\n  min: {auc: -.inf}\n", "line 9: gates.min.auc: must be a finite number");
    minimal_err("gates:\n  min: {auc: 1e999}\n", "line 9: gates.min.auc: 1e999 is out of range");
    minimal_err("triggers:\n  new_rows: 99999999999999999999999\n",
                "line 9: triggers.new_rows: must be between 0 and 1000000000000");
    minimal_err("triggers:\n  new_rows: -1\n", "line 9: triggers.new_rows: must be between");
    minimal_err("rollout:\n  deployment: d\n  min_duration: 2h\n",
                "rollout.max_duration: must not be shorter than min_duration");
    minimal_err("rollout:\n  deployment: d\n  max_duration: 3651d\n",
                "line 10: rollout.max_duration: expected a duration");
}

Test(spec_errors, missing_fields_name_the_parent_line)
{
    parse_err("name: p\ndata:\n  select: latest\n", "line 2: data.dataset: required");
    parse_err("data: {dataset: ds}\n", "line 1: name: required");
    parse_err("name: p\ndata: {dataset: ds}\n", "train: required");
    parse_err("name: p\ndata: {dataset: ds}\ntrain: {target: y}\n", "register: required");
    minimal_err("rollout:\n  canary_percent: 5\n", "line 8: rollout.deployment: required");
    parse_err("name: p\ndata: {dataset: ds, select: last_rows}\n",
              "line 2: data.last_rows: required with select: last_rows");
    parse_err("name: p\ndata:\n  dataset: ds\n  last_rows: 5\n",
              "line 4: data.last_rows: only allowed with select: last_rows");
    parse_err("name: p\ndata:\n  dataset: ds\n  select: window\n  window: {column: ts}\n",
              "line 5: data.window.last: required");
}

Test(spec_errors, names_metrics_and_enums)
{
    parse_err("name: -bad\n", "line 1: name: \"-bad\" is not a valid pipeline name");
    parse_err("name: p\ndata: {dataset: 'a b'}\n", "line 2: data.dataset: \"a b\" is not a valid "
                                                   "dataset name");
    minimal_err("gates:\n  min: {aucc: 0.8}\n",
                "line 9: gates.min.aucc: unknown metric (expected one of: auc, logloss, "
                "accuracy, precision, recall, f1, rmse, mae, r2)");
    minimal_err("gates:\n  champion: {metric: speed}\n",
                "line 9: gates.champion.metric: unknown metric \"speed\"");
    parse_err("name: p\ndata: {dataset: ds}\ntrain: {target: y, trainer: svm}\n",
              "line 3: train.trainer: must be one of xgboost, logistic, linear, got \"svm\"");
    parse_err("name: p\ndata: {dataset: ds}\ntrain: {target: y, split: 'time:'}\n",
              "line 3: train.split: must be random, stratified or time:COLUMN");
    parse_err("name: p\ndata: {dataset: ds}\ntrain: {target: y, trainer: logistic, task: "
              "regression}\n",
              "line 3: train.task: the logistic trainer cannot do regression");
    parse_err("name: p\ndata: {dataset: ds}\ntrain: {target: y}\nregister: {model: m, alias: "
              "Champion}\n",
              "line 4: register.alias: must not be \"champion\"");
    parse_err("name: p\ndata: {dataset: ds}\ntrain: {target: y}\nregister: {model: 'a/b'}\n",
              "line 4: register.model:");
    minimal_err("rollout: {deployment: .hidden}\n",
                "line 8: rollout.deployment: \".hidden\" is not a valid deployment name");
    minimal_err("triggers:\n  schedule: '61 * * * *'\n",
                "line 9: triggers.schedule: cron minute field: 61 is out of range 0-59");
}

Test(spec_errors, features_and_params_are_checked)
{
    parse_err("name: p\ndata: {dataset: ds}\ntrain:\n  target: y\n  features: 'amount:bogus'\n",
              "line 5: train.features:");
    parse_err("name: p\ndata: {dataset: ds}\ntrain:\n  target: y\n  features:\n    colums: {}\n",
              "line 5: train.features:");
    parse_err("name: p\ndata: {dataset: ds}\ntrain:\n  target: y\n  params:\n    'bad key': 1\n",
              "line 6: train.params.bad key:");
    parse_err("name: p\ndata: {dataset: ds}\ntrain:\n  target: y\n  params:\n    eta: {a: 1}\n",
              "line 6: train.params.eta: expected a value, got a mapping");
}

Test(spec_errors, yaml_structure)
{
    parse_err("name: p\nname: q\n", "line 2: duplicate key \"name\"");
    parse_err("name: &a p\n", "line 1: YAML anchors are not supported");
    parse_err("name: p\ndata: &d {dataset: ds}\n", "line 2: YAML anchors are not supported");
    parse_err("x: &a 1\ny: *a\n", "YAML anchors are not supported");
    parse_err("name: !!str p\n", "line 1: YAML tags are not supported");
    parse_err("name: p\n---\nname: q\n", "line 2: only one YAML document is allowed");
    parse_err("- a\n- b\n", "line 1: the spec must be a mapping, got a list");
    parse_err("", "line 1: the spec is empty");
    parse_err("name: [unclosed\n", "YAML syntax error");
    parse_err("? [a, b]\n: c\n", "line 1: mapping keys must be strings");
}

Test(spec_errors, alias_is_refused)
{
    parse_err("name: p\ndescription: *ref\n", "line 2: YAML aliases are not supported");
}

Test(spec_errors, depth_size_and_nul)
{
    char deep[512] = "name: p\ndescription: ";
    struct gy_pipeline_spec *s = NULL;
    char *big;
    size_t n = strlen(deep);
    for (int i = 0; i < GY_PIPELINE_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < GY_PIPELINE_MAX_DEPTH; i++)
        deep[n++] = ']';
    deep[n++] = '\n';
    deep[n] = '\0';
    parse_err(deep, "line 2: nesting deeper than 16 levels");

    big = gy_malloc(GY_PIPELINE_MAX_SPEC + 2);
    memset(big, ' ', GY_PIPELINE_MAX_SPEC + 1);
    big[GY_PIPELINE_MAX_SPEC + 1] = '\0';
    cr_assert_eq(gy_pipeline_spec_parse_yaml(big, GY_PIPELINE_MAX_SPEC + 1, &s), GY_E_TOO_LARGE);
    cr_assert_null(s);
    cr_assert(strstr(gy_error_msg(), "the limit is 1048576"), "%s", gy_error_msg());
    gy_free(big);

    cr_assert_eq(gy_pipeline_spec_parse_yaml("name: p\ndata:\0x\n", 15, &s), GY_E_INVALID);
    cr_assert_str_eq(gy_error_msg(), "line 2: the spec contains a NUL byte");
    parse_err("name: \"a\\0b\"\n", "line 1: a string contains a NUL byte");
    parse_err("name: p\ndescription: \"\xff\xfe\"\n", "line 2: YAML syntax error");
    parse_err("name: p\n\ndescription: \"a\x01\"\n", "line 3: YAML syntax error");
}

/* ------------------------------------------------------------------ JSON form */

Test(spec_json, errors_name_the_path_without_a_line)
{
    json_t *j =
        json_pack("{s:s, s:{s:s}, s:{s:s, s:s}, s:{s:s}}", "name", "p", "data", "dataset", "ds",
                  "train", "target", "y", "trainer", "forest", "register", "model", "m");
    struct gy_pipeline_spec *s = NULL;
    cr_assert_eq(gy_pipeline_spec_from_json(j, &s), GY_E_INVALID);
    cr_assert_null(s);
    cr_assert(strncmp(gy_error_msg(), "train.trainer: must be one of", 29) == 0, "%s",
              gy_error_msg());
    json_object_set_new(json_object_get(j, "train"), "trainer", json_string("linear"));
    json_object_set_new(j, "rollout",
                        json_pack("{s:s, s:f}", "deployment", "d", "max_p99_ratio", -1.0));
    cr_assert_eq(gy_pipeline_spec_from_json(j, &s), GY_E_INVALID);
    cr_assert(strncmp(gy_error_msg(), "rollout.max_p99_ratio: must be >= 0", 35) == 0, "%s",
              gy_error_msg());
    json_object_del(j, "rollout");
    json_object_set_new(j, "extra", json_true());
    cr_assert_eq(gy_pipeline_spec_from_json(j, &s), GY_E_INVALID);
    cr_assert(strncmp(gy_error_msg(), "extra: unknown key", 18) == 0, "%s", gy_error_msg());
    json_object_del(j, "extra");
    cr_assert_eq(gy_pipeline_spec_from_json(j, &s), GY_OK, "%s", gy_error_msg());
    cr_assert_str_eq(s->train.trainer, "linear");
    gy_pipeline_spec_free(s);
    json_decref(j);
}

Test(spec_json, numeric_params_and_gates_from_json)
{
    json_t *j =
        json_pack("{s:s, s:{s:s}, s:{s:s, s:{s:f, s:i}}, s:{s:{s:f}}, s:{s:s}}", "name", "p",
                  "data", "dataset", "ds", "train", "target", "y", "params", "eta", 0.1,
                  "max_depth", 6, "gates", "min", "auc", 0.75, "register", "model", "m");
    struct gy_pipeline_spec *s = NULL;
    cr_assert_eq(gy_pipeline_spec_from_json(j, &s), GY_OK, "%s", gy_error_msg());
    cr_assert_str_eq(s->train.params[0].value, "0.1");
    cr_assert_str_eq(s->train.params[1].value, "6");
    cr_assert_eq(s->gates.min[0].value, 0.75);
    cr_assert_eq(s->gates.min[0].op, GY_OP_GE);
    gy_pipeline_spec_free(s);
    json_decref(j);
}

Test(spec_json, deep_json_is_refused)
{
    json_t *root = json_pack("{s:s}", "name", "p"), *cur = json_array();
    struct gy_pipeline_spec *s = NULL;
    json_object_set_new(root, "description", cur);
    for (int i = 0; i < 40; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    cr_assert_eq(gy_pipeline_spec_from_json(root, &s), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "nesting deeper than 16"), "%s", gy_error_msg());
    json_decref(root);
}

/* ------------------------------------------------------------------ durations, ops */

Test(spec_misc, durations)
{
    int64_t us = 0;
    cr_assert_eq(gy_pipeline_duration_parse("90s", &us), GY_OK);
    cr_assert_eq(us, 90LL * 1000000);
    cr_assert_eq(gy_pipeline_duration_parse("1500ms", &us), GY_OK);
    cr_assert_eq(us, 1500000);
    cr_assert_eq(gy_pipeline_duration_parse("30m", &us), GY_OK);
    cr_assert_eq(us, 1800LL * 1000000);
    cr_assert_eq(gy_pipeline_duration_parse("12h", &us), GY_OK);
    cr_assert_eq(us, 12LL * 3600 * 1000000);
    cr_assert_eq(gy_pipeline_duration_parse("14d", &us), GY_OK);
    cr_assert_eq(us, 14LL * 86400 * 1000000);
    cr_assert_eq(gy_pipeline_duration_parse("2w", &us), GY_OK);
    cr_assert_eq(us, 14LL * 86400 * 1000000);
    cr_assert_eq(gy_pipeline_duration_parse("3650d", &us), GY_OK);
    const char *bad[] = {"",    "s",    "0s",   "-5s",   "5",
                         "5 s", "5sec", "1.5h", "3651d", "99999999999999999999999d",
                         "5S",  NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(gy_pipeline_duration_parse(bad[i], &us), GY_E_INVALID, "%s", bad[i]);
    cr_assert(strstr(gy_error_msg(), "unknown unit"), "%s", gy_error_msg());
}

Test(spec_misc, op_names)
{
    cr_assert_str_eq(gy_pipeline_op_name(GY_OP_GE), ">=");
    cr_assert_str_eq(gy_pipeline_op_name(GY_OP_GT), ">");
    cr_assert_str_eq(gy_pipeline_op_name(GY_OP_LE), "<=");
    cr_assert_str_eq(gy_pipeline_op_name(GY_OP_LT), "<");
}
