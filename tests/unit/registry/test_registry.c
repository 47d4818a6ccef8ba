/* SPDX-License-Identifier: MIT */
/*
 * test_registry.c - registered models and versions on both backends: create, get (MLflow
 * JSON with latest versions per stage, tags, aliases), rename, description, delete; version
 * numbering (never reused), lineage fields, stages with archive_existing_versions, tags,
 * register-from-run, searches with filters/order/paging, the download URI, and the checks of
 * names, aliases and sources (the model-source CVEs).
 */
#include "../store_fixture.h"

static void mkrun(struct gy_db *db, char id[33])
{
    struct gy_tracking_run_create c = {0};
    OK(gy_tracking_run_create(db, &c, id));
}

static int64_t mkver(struct gy_db *db, const char *model, const char *source)
{
    struct gy_registry_version_create c = {0};
    char run[33] = "";
    int64_t v = -1;
    c.name = model;
    c.source = source ? source : "mlflow-artifacts:/0/abc/artifacts/model";
    if (strncmp(c.source, "runs:/", 6) == 0 && strlen(c.source) > 38) {
        memcpy(run, c.source + 6, 32); /* a runs:/ source names its run */
        c.run_id = run;
    }
    OK(gy_registry_version_create(db, &c, &v));
    return v;
}

Test(registry_checks, names_aliases_sources_stages)
{
    enum gy_registry_stage st;
    int64_t v = 0;
    static const char *const bad_sources[] = {
        "file:///etc/passwd",
        "/etc/passwd",
        "etc/passwd",
        "s3://bucket/x",
        "http://host/x",
        "runs:/abc/../../etc",
        "mlflow-artifacts:/../x",
        "mlflow-artifacts://host/x",
        "models:/m/1#../../etc",
        "runs:/abc/model;x",
        "runs:/abc/%2e%2e/x",
        "runs:/abc\\..\\x",
        "models:/m?/../x",
        "",
        "runs:/",
    };
    cr_assert_eq(gy_registry_name_check("fraud"), GY_OK);
    cr_assert_eq(gy_registry_name_check("fraud model v2.1"), GY_OK);
    cr_assert_eq(gy_registry_name_check(""), GY_E_INVALID);
    cr_assert_eq(gy_registry_name_check("a/b"), GY_E_INVALID);
    cr_assert_eq(gy_registry_name_check("a@b"), GY_E_INVALID);
    cr_assert_eq(gy_registry_name_check("a\nb"), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_check("champion"), GY_OK);
    cr_assert_eq(gy_registry_alias_check("challenger-2"), GY_OK);
    cr_assert_eq(gy_registry_alias_check("latest"), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_check("LATEST"), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_check("v3"), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_check("V12"), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_check("3"), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_check("vip"), GY_OK);
    cr_assert_eq(gy_registry_alias_check("a b"), GY_E_INVALID);
    cr_assert_eq(gy_registry_alias_check(""), GY_E_INVALID);
    cr_assert_eq(gy_registry_source_check("runs:/0123/model"), GY_OK);
    cr_assert_eq(gy_registry_source_check("mlflow-artifacts:/0/r/artifacts/model"), GY_OK);
    cr_assert_eq(gy_registry_source_check("models:/m-abc"), GY_OK);
    for (size_t i = 0; i < GY_ARRAY_LEN(bad_sources); i++)
        cr_assert_eq(gy_registry_source_check(bad_sources[i]), GY_E_INVALID, "%s accepted",
                     bad_sources[i]);
    cr_assert_eq(gy_registry_source_check(NULL), GY_E_INVALID);
    cr_assert_eq(gy_registry_stage_parse("production", &st), GY_OK);
    cr_assert_eq(st, GY_STAGE_PRODUCTION);
    cr_assert_eq(gy_registry_stage_parse("None", &st), GY_OK);
    cr_assert_eq(st, GY_STAGE_NONE);
    cr_assert_eq(gy_registry_stage_parse("Deleted_Internal", &st), GY_E_INVALID);
    cr_assert_str_eq(gy_registry_stage_str(GY_STAGE_ARCHIVED), "Archived");
    cr_assert_str_eq(gy_registry_stage_str((enum gy_registry_stage)7), "");
    cr_assert_eq(gy_registry_version_parse("12", &v), GY_OK);
    cr_assert_eq(v, 12);
    cr_assert_eq(gy_registry_version_parse("0", &v), GY_E_INVALID);
    cr_assert_eq(gy_registry_version_parse("-1", &v), GY_E_INVALID);
    cr_assert_eq(gy_registry_version_parse("1a", &v), GY_E_INVALID);
    cr_assert_eq(gy_registry_version_parse(NULL, &v), GY_E_INVALID);
}

DB_TEST(models_crud)
{
    struct gy_registry_tag tags[] = {{"team", "fraud"}, {"tier", "1"}};
    json_t *m = NULL;
    OK(gy_registry_model_create(f->db, "fraud", "detects fraud", "ana", tags, 2));
    cr_assert_eq(gy_registry_model_create(f->db, "fraud", NULL, NULL, NULL, 0), GY_E_EXISTS);
    cr_assert_str_eq(gy_error_msg(), "Registered Model (name=fraud) already exists.");
    cr_assert_eq(gy_registry_model_create(f->db, "a/b", NULL, NULL, NULL, 0), GY_E_INVALID);
    OK(gy_registry_model_get(f->db, "fraud", &m));
    cr_assert_str_eq(jstr(m, "name"), "fraud");
    cr_assert_str_eq(jstr(m, "description"), "detects fraud");
    cr_assert_str_eq(jstr(m, "user_id"), "ana");
    cr_assert_gt(jint(m, "creation_timestamp"), 1600000000000LL);
    cr_assert_eq(jlen(m, "tags"), 2);
    cr_assert_null(jpath(m, "latest_versions"));
    cr_assert_null(jpath(m, "aliases"));
    json_decref(m);
    cr_assert_eq(gy_registry_model_get(f->db, "nope", &m), GY_NOT_FOUND);
    cr_assert_str_eq(gy_error_msg(), "Registered Model with name=nope not found");

    OK(gy_registry_model_update(f->db, "fraud", "v2 text"));
    cr_assert_eq(gy_registry_model_update(f->db, "fraud", NULL), GY_E_INVALID);
    OK(gy_registry_model_tag_set(f->db, "fraud", "tier", "2"));
    OK(gy_registry_model_tag_delete(f->db, "fraud", "team"));
    cr_assert_eq(gy_registry_model_tag_delete(f->db, "fraud", "team"), GY_NOT_FOUND);
    cr_assert_eq(gy_registry_model_tag_set(f->db, "fraud", "", "x"), GY_E_INVALID);
    cr_assert_eq(gy_registry_model_tag_set(f->db, "nope", "k", "x"), GY_NOT_FOUND);

    mkver(f->db, "fraud", NULL);
    OK(gy_registry_model_create(f->db, "other", NULL, NULL, NULL, 0));
    cr_assert_eq(gy_registry_model_rename(f->db, "fraud", "other"), GY_E_EXISTS);
    OK(gy_registry_model_rename(f->db, "fraud", "fraud2"));
    OK(gy_registry_model_get(f->db, "fraud2", &m));
    cr_assert_str_eq(jstr(m, "description"), "v2 text");
    cr_assert_eq(jlen(m, "tags"), 1);
    cr_assert_str_eq(json_string_value(jkv(m, "tags", "tier")), "2");
    cr_assert_eq(jlen(m, "latest_versions"), 1);
    cr_assert_str_eq(jstr(m, "latest_versions.0.name"), "fraud2", "versions follow a rename");
    json_decref(m);
    cr_assert_eq(gy_registry_model_get(f->db, "fraud", &m), GY_NOT_FOUND);

    OK(gy_registry_alias_set(f->db, "fraud2", "champion", 1));
    OK(gy_registry_model_delete(f->db, "fraud2"));
    cr_assert_eq(gy_registry_model_get(f->db, "fraud2", &m), GY_NOT_FOUND);
    cr_assert_eq(gy_registry_model_delete(f->db, "fraud2"), GY_NOT_FOUND);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM model_versions"), 0);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM model_aliases"), 0);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM registered_model_tags"), 0);
    /* The name can be used again: registry deletes are hard, unlike experiments. */
    OK(gy_registry_model_create(f->db, "fraud2", NULL, NULL, NULL, 0));
}

DB_TEST(versions_and_lineage)
{
    struct gy_registry_version_create c = {0};
    struct gy_registry_tag vt[] = {{"validated", "yes"}};
    char hash[65];
    json_t *v = NULL;
    int64_t n = 0;
    char *uri = NULL;
    memset(hash, 'a', 64);
    hash[64] = '\0';
    OK(gy_registry_model_create(f->db, "m", NULL, NULL, NULL, 0));
    c.name = "m";
    c.source = "runs:/0123456789abcdef0123456789abcdef/model";
    c.run_id = "0123456789abcdef0123456789abcdef";
    c.description = "first";
    c.user_id = "bo";
    c.tags = vt;
    c.ntags = 1;
    c.dataset = "fraud";
    c.dataset_version = 3;
    c.bundle_hash = hash;
    OK(gy_registry_version_create(f->db, &c, &n));
    cr_assert_eq(n, 1);
    OK(gy_registry_version_get(f->db, "m", 1, &v));
    cr_assert_str_eq(jstr(v, "name"), "m");
    cr_assert_str_eq(jstr(v, "version"), "1", "versions are strings on the wire");
    cr_assert_str_eq(jstr(v, "current_stage"), "None");
    cr_assert_str_eq(jstr(v, "status"), "READY");
    cr_assert_str_eq(jstr(v, "source"), c.source);
    cr_assert_str_eq(jstr(v, "run_id"), c.run_id);
    cr_assert_str_eq(jstr(v, "description"), "first");
    cr_assert_str_eq(jstr(v, "user_id"), "bo");
    cr_assert_str_eq(json_string_value(jkv(v, "tags", "validated")), "yes");
    cr_assert_str_eq(jstr(v, "gyre.dataset"), "fraud");
    cr_assert_eq(jint(v, "gyre.dataset_version"), 3);
    cr_assert_str_eq(jstr(v, "gyre.bundle_hash"), hash);
    cr_assert_null(jpath(v, "aliases"));
    json_decref(v);

    cr_assert_eq(mkver(f->db, "m", NULL), 2);
    cr_assert_eq(mkver(f->db, "m", NULL), 3);
    OK(gy_registry_version_delete(f->db, "m", 3));
    cr_assert_eq(mkver(f->db, "m", NULL), 4, "a deleted version's number is not reused");
    OK(gy_registry_version_get(f->db, "m", 2, &v));
    cr_assert_null(jpath(v, "gyre"), "no lineage: no gyre member");
    cr_assert_null(jpath(v, "run_id"));
    json_decref(v);
    cr_assert_eq(gy_registry_version_get(f->db, "m", 3, &v), GY_NOT_FOUND);
    cr_assert_str_eq(gy_error_msg(), "Model Version (name=m, version=3) not found");
    cr_assert_eq(gy_registry_version_delete(f->db, "m", 3), GY_NOT_FOUND);

    OK(gy_registry_version_update(f->db, "m", 2, "second"));
    OK(gy_registry_version_tag_set(f->db, "m", 2, "k", "v"));
    OK(gy_registry_version_tag_set(f->db, "m", 2, "k", "w"));
    OK(gy_registry_version_get(f->db, "m", 2, &v));
    cr_assert_str_eq(jstr(v, "description"), "second");
    cr_assert_str_eq(json_string_value(jkv(v, "tags", "k")), "w");
    cr_assert_geq(jint(v, "last_updated_timestamp"), jint(v, "creation_timestamp"));
    json_decref(v);
    OK(gy_registry_version_tag_delete(f->db, "m", 2, "k"));
    cr_assert_eq(gy_registry_version_tag_delete(f->db, "m", 2, "k"), GY_NOT_FOUND);
    cr_assert_eq(gy_registry_version_update(f->db, "m", 99, "x"), GY_NOT_FOUND);

    /* Bad inputs change nothing. */
    c.source = "file:///etc/passwd";
    cr_assert_eq(gy_registry_version_create(f->db, &c, &n), GY_E_INVALID);
    c.source = "runs:/x/model";
    c.bundle_hash = "xyz";
    cr_assert_eq(gy_registry_version_create(f->db, &c, &n), GY_E_INVALID);
    c.bundle_hash = NULL;
    c.name = "ghost";
    cr_assert_eq(gy_registry_version_create(f->db, &c, &n), GY_NOT_FOUND);
    cr_assert_eq(fx_int(f->db, "SELECT COUNT(*) FROM model_versions"), 3);

    /* Download URIs: runs:/ sources resolve through the run when it is known. */
    OK(gy_registry_version_download_uri(f->db, "m", 1, &uri));
    cr_assert_str_eq(uri, "runs:/0123456789abcdef0123456789abcdef/model", "unknown run: as is");
    gy_free(uri);
    {
        char run[33], src[80], want[128];
        mkrun(f->db, run);
        snprintf(src, sizeof src, "runs:/%s/model", run);
        n = mkver(f->db, "m", src);
        OK(gy_registry_version_download_uri(f->db, "m", n, &uri));
        snprintf(want, sizeof want, "mlflow-artifacts:/0/%s/artifacts/model", run);
        cr_assert_str_eq(uri, want);
        gy_free(uri);
    }
    OK(gy_registry_version_download_uri(f->db, "m", 2, &uri));
    cr_assert_str_eq(uri, "mlflow-artifacts:/0/abc/artifacts/model");
    gy_free(uri);
    cr_assert_eq(gy_registry_version_download_uri(f->db, "m", 77, &uri), GY_NOT_FOUND);
    cr_assert_null(uri);
}

DB_TEST(stages_and_latest_versions)
{
    json_t *v = NULL, *l = NULL, *m = NULL;
    const char *prod[] = {"production"};
    const char *bad[] = {"Live"};
    OK(gy_registry_model_create(f->db, "s", NULL, NULL, NULL, 0));
    for (int i = 0; i < 4; i++)
        mkver(f->db, "s", NULL);
    OK(gy_registry_version_stage(f->db, "s", 1, GY_STAGE_PRODUCTION, 0, NULL));
    OK(gy_registry_version_stage(f->db, "s", 2, GY_STAGE_PRODUCTION, 0, &v));
    cr_assert_str_eq(jstr(v, "current_stage"), "Production");
    json_decref(v);
    OK(gy_registry_version_stage(f->db, "s", 3, GY_STAGE_STAGING, 0, NULL));
    OK(gy_registry_latest_versions(f->db, "s", NULL, 0, &l));
    cr_assert_eq(json_array_size(l), 3, "None, Staging, Production");
    cr_assert_str_eq(jstr(l, "0.current_stage"), "None");
    cr_assert_str_eq(jstr(l, "0.version"), "4");
    cr_assert_str_eq(jstr(l, "1.current_stage"), "Staging");
    cr_assert_str_eq(jstr(l, "2.version"), "2");
    json_decref(l);
    OK(gy_registry_latest_versions(f->db, "s", prod, 1, &l));
    cr_assert_eq(json_array_size(l), 1);
    cr_assert_str_eq(jstr(l, "0.version"), "2");
    json_decref(l);
    cr_assert_eq(gy_registry_latest_versions(f->db, "s", bad, 1, &l), GY_E_INVALID);
    cr_assert_eq(gy_registry_latest_versions(f->db, "none", NULL, 0, &l), GY_NOT_FOUND);

    /* archive_existing_versions moves the other Production versions to Archived. */
    OK(gy_registry_version_stage(f->db, "s", 4, GY_STAGE_PRODUCTION, 1, NULL));
    OK(gy_registry_version_get(f->db, "s", 1, &v));
    cr_assert_str_eq(jstr(v, "current_stage"), "Archived");
    json_decref(v);
    OK(gy_registry_version_get(f->db, "s", 3, &v));
    cr_assert_str_eq(jstr(v, "current_stage"), "Staging", "other stages are untouched");
    json_decref(v);
    OK(gy_registry_model_get(f->db, "s", &m));
    cr_assert_eq(jlen(m, "latest_versions"), 3, "Staging, Production, Archived");
    cr_assert_str_eq(jstr(m, "latest_versions.1.current_stage"), "Production");
    cr_assert_str_eq(jstr(m, "latest_versions.1.version"), "4");
    cr_assert_str_eq(jstr(m, "latest_versions.2.version"), "2");
    json_decref(m);
    cr_assert_eq(gy_registry_version_stage(f->db, "s", 9, GY_STAGE_STAGING, 0, NULL), GY_NOT_FOUND);
    cr_assert_eq(gy_registry_version_stage(f->db, "s", 1, (enum gy_registry_stage)9, 0, NULL),
                 GY_E_INVALID);
}

DB_TEST(register_from_run)
{
    char run[33], hash[65];
    json_t *v = NULL;
    int64_t n = 0;
    memset(hash, 'b', 64);
    hash[64] = '\0';
    mkrun(f->db, run);
    OK(gy_registry_register(f->db, "auto", run, NULL, hash, "fraud", 7, &n));
    cr_assert_eq(n, 1);
    OK(gy_registry_register(f->db, "auto", run, NULL, NULL, NULL, 0, &n));
    cr_assert_eq(n, 2);
    OK(gy_registry_version_get(f->db, "auto", 1, &v));
    cr_assert_str_eq(jstr(v, "run_id"), run);
    cr_assert(strncmp(jstr(v, "source"), "runs:/", 6) == 0);
    cr_assert(strstr(jstr(v, "source"), "/model"));
    cr_assert_str_eq(jstr(v, "gyre.dataset"), "fraud");
    cr_assert_eq(jint(v, "gyre.dataset_version"), 7);
    json_decref(v);
    cr_assert_eq(gy_registry_register(f->db, "auto2", "ffffffffffffffffffffffffffffffff", NULL,
                                      NULL, NULL, 0, &n),
                 GY_NOT_FOUND);
    cr_assert_eq(gy_registry_model_get(f->db, "auto2", &v), GY_NOT_FOUND,
                 "a failed register creates no model");
    cr_assert_eq(gy_registry_register(f->db, "auto", run, "file:///x", NULL, NULL, 0, &n),
                 GY_E_INVALID);
}

/* Names of the models (or "name/version" of versions) in a search result. */
static void names_of(json_t *res, const char *key, char *out, size_t cap)
{
    json_t *e;
    size_t i;
    out[0] = '\0';
    json_array_foreach(json_object_get(res, key), i, e)
    {
        if (i)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, jstr(e, "name"), cap - strlen(out) - 1);
        if (json_object_get(e, "version")) {
            strncat(out, "/", cap - strlen(out) - 1);
            strncat(out, jstr(e, "version"), cap - strlen(out) - 1);
        }
    }
}

static void msearch(struct gy_db *db, const char *filter, const char *order, int64_t max,
                    const char *token, char *names, size_t cap, char *next)
{
    struct gy_registry_search s = {0};
    const char *ob[1] = {order};
    json_t *res = NULL;
    s.filter = filter;
    s.order_by = ob;
    s.norder_by = order ? 1 : 0;
    s.max_results = max;
    s.page_token = token;
    OK(gy_registry_model_search(db, &s, &res));
    names_of(res, "registered_models", names, cap);
    if (next)
        snprintf(next, 32, "%s", jstr(res, "next_page_token"));
    json_decref(res);
}

static void vsearch(struct gy_db *db, const char *filter, const char *order, char *names,
                    size_t cap)
{
    struct gy_registry_search s = {0};
    const char *ob[1] = {order};
    json_t *res = NULL;
    s.filter = filter;
    s.order_by = ob;
    s.norder_by = order ? 1 : 0;
    OK(gy_registry_version_search(db, &s, &res));
    names_of(res, "model_versions", names, cap);
    json_decref(res);
}

DB_TEST(searches)
{
    struct gy_registry_tag t = {"team", "Fraud"};
    struct gy_registry_search s = {0};
    char names[512], next[32], run[33], src[80], filter[100];
    json_t *res = NULL;
    OK(gy_registry_model_create(f->db, "alpha", NULL, NULL, &t, 1));
    OK(gy_registry_model_create(f->db, "Alpha2", NULL, NULL, NULL, 0));
    OK(gy_registry_model_create(f->db, "beta", NULL, NULL, NULL, 0));
    OK(gy_registry_model_create(f->db, "gamma", NULL, NULL, NULL, 0));
    mkrun(f->db, run);
    snprintf(src, sizeof src, "runs:/%s/model", run);
    mkver(f->db, "alpha", src);
    mkver(f->db, "alpha", NULL);
    mkver(f->db, "beta", src);

    msearch(f->db, NULL, NULL, 0, NULL, names, sizeof names, next);
    cr_assert_str_eq(names, "Alpha2,alpha,beta,gamma", "default: name ASC in byte order");
    msearch(f->db, NULL, "name DESC", 0, NULL, names, sizeof names, NULL);
    cr_assert_str_eq(names, "gamma,beta,alpha,Alpha2");
    msearch(f->db, "name LIKE 'alpha%'", NULL, 0, NULL, names, sizeof names, NULL);
    cr_assert_str_eq(names, "alpha");
    msearch(f->db, "name ILIKE 'alpha%'", NULL, 0, NULL, names, sizeof names, NULL);
    cr_assert_str_eq(names, "Alpha2,alpha");
    msearch(f->db, "name = 'beta'", NULL, 0, NULL, names, sizeof names, NULL);
    cr_assert_str_eq(names, "beta");
    msearch(f->db, "name != 'beta'", NULL, 0, NULL, names, sizeof names, NULL);
    cr_assert_str_eq(names, "Alpha2,alpha,gamma");
    msearch(f->db, "tags.team = 'Fraud'", NULL, 0, NULL, names, sizeof names, NULL);
    cr_assert_str_eq(names, "alpha");
    msearch(f->db, "tags.team LIKE 'fraud'", NULL, 0, NULL, names, sizeof names, NULL);
    cr_assert_str_eq(names, "");
    msearch(f->db, "tags.team ILIKE 'fraud' AND name LIKE 'a%'", NULL, 0, NULL, names, sizeof names,
            NULL);
    cr_assert_str_eq(names, "alpha");
    msearch(f->db, NULL, "last_updated_timestamp DESC", 0, NULL, names, sizeof names, NULL);
    cr_assert_eq(strlen(names), strlen("Alpha2,alpha,beta,gamma"));
    msearch(f->db, NULL, "name", 3, NULL, names, sizeof names, next);
    cr_assert_str_eq(names, "Alpha2,alpha,beta");
    cr_assert_str_eq(next, "3");
    msearch(f->db, NULL, "name", 3, next, names, sizeof names, next);
    cr_assert_str_eq(names, "gamma");
    cr_assert_str_eq(next, "");
    s.filter = "metrics.x > 1";
    cr_assert_eq(gy_registry_model_search(f->db, &s, &res), GY_E_INVALID);
    s.filter = "name > 'a'";
    cr_assert_eq(gy_registry_model_search(f->db, &s, &res), GY_E_INVALID);
    s.filter = NULL;
    s.max_results = 1001;
    cr_assert_eq(gy_registry_model_search(f->db, &s, &res), GY_E_INVALID);
    cr_assert_null(res);

    vsearch(f->db, "name = 'alpha'", "version_number", names, sizeof names);
    cr_assert_str_eq(names, "alpha/1,alpha/2");
    snprintf(filter, sizeof filter, "run_id = '%s'", run);
    vsearch(f->db, filter, "name", names, sizeof names);
    cr_assert_str_eq(names, "alpha/1,beta/1");
    snprintf(filter, sizeof filter, "run_id IN ('%s', 'x') AND name != 'beta'", run);
    vsearch(f->db, filter, NULL, names, sizeof names);
    cr_assert_str_eq(names, "alpha/1");
    vsearch(f->db, "source_path LIKE 'mlflow-artifacts:%'", NULL, names, sizeof names);
    cr_assert_str_eq(names, "alpha/2");
    vsearch(f->db, "version_number >= 2", NULL, names, sizeof names);
    cr_assert_str_eq(names, "alpha/2");
    vsearch(f->db, "name ILIKE 'ALPHA'", "version_number DESC", names, sizeof names);
    cr_assert_str_eq(names, "alpha/2,alpha/1");
    OK(gy_registry_version_tag_set(f->db, "beta", 1, "ok", "1"));
    vsearch(f->db, "tags.ok = '1'", NULL, names, sizeof names);
    cr_assert_str_eq(names, "beta/1");
    s.filter = "run_id LIKE 'a%'";
    cr_assert_eq(gy_registry_version_search(f->db, &s, &res), GY_E_INVALID);
    s.filter = "version_number = 'x'";
    cr_assert_eq(gy_registry_version_search(f->db, &s, &res), GY_E_INVALID);
    s.filter = "params.x = 'a'";
    cr_assert_eq(gy_registry_version_search(f->db, &s, &res), GY_E_INVALID);
    cr_assert_null(res);
}
