/* SPDX-License-Identifier: MIT */
/*
 * test_experiment.c - experiments on both backends: the default experiment, create (unique
 * names, also against deleted ones), get by id and name, ensure, rename, soft delete and
 * restore (carrying runs along), tags, and search with filters, order_by and paging.
 */
#include "../store_fixture.h"

static int64_t mkexp(struct gy_db *db, const char *name)
{
    int64_t id = -1;
    OK(gy_tracking_experiment_create(db, name, NULL, NULL, 0, &id));
    return id;
}

DB_TEST(exp_default)
{
    json_t *e = NULL;
    OK(gy_tracking_experiment_get(f->db, 0, &e));
    cr_assert_str_eq(jstr(e, "experiment_id"), "0");
    cr_assert_str_eq(jstr(e, "name"), "Default");
    cr_assert_str_eq(jstr(e, "artifact_location"), "mlflow-artifacts:/0");
    cr_assert_str_eq(jstr(e, "lifecycle_stage"), "active");
    cr_assert_gt(jint(e, "creation_time"), 1600000000000LL);
    cr_assert_null(jpath(e, "tags"), "empty tags are omitted");
    json_decref(e);
}

DB_TEST(exp_create_get)
{
    struct gy_tracking_tag tags[] = {{"team", "fraud"}, {"team", "risk"}, {"note", "x"}};
    json_t *e = NULL;
    int64_t id = -1, id2 = -1;
    int active = 0;
    OK(gy_tracking_experiment_create(f->db, "exp-a", "", tags, 3, &id));
    cr_assert_eq(id, 1, "ids start after the default experiment 0");
    OK(gy_tracking_experiment_get(f->db, id, &e));
    cr_assert_str_eq(jstr(e, "experiment_id"), "1");
    cr_assert_str_eq(jstr(e, "artifact_location"), "mlflow-artifacts:/1");
    cr_assert_eq(jlen(e, "tags"), 2);
    cr_assert_str_eq(json_string_value(jkv(e, "tags", "team")), "risk", "the last value wins");
    cr_assert_eq(jint(e, "creation_time"), jint(e, "last_update_time"));
    json_decref(e);

    cr_assert_eq(gy_tracking_experiment_create(f->db, "exp-a", NULL, NULL, 0, &id2), GY_E_EXISTS);
    cr_assert_str_eq(gy_error_msg(), "Experiment(name=exp-a) already exists.");
    cr_assert_eq(gy_tracking_experiment_create(f->db, "", NULL, NULL, 0, &id2), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_create(f->db, "x", "file:///etc", NULL, 0, &id2),
                 GY_E_INVALID, "clients never choose a server location");
    {
        struct gy_tracking_tag bad = {"a/../b", "v"};
        cr_assert_eq(gy_tracking_experiment_create(f->db, "y", NULL, &bad, 1, &id2), GY_E_INVALID);
        cr_assert_eq(gy_tracking_experiment_id_by_name(f->db, "y", &id2, NULL), GY_NOT_FOUND,
                     "a failed create leaves nothing behind");
    }

    OK(gy_tracking_experiment_get_by_name(f->db, "exp-a", &e));
    cr_assert_str_eq(jstr(e, "experiment_id"), "1");
    json_decref(e);
    cr_assert_eq(gy_tracking_experiment_get_by_name(f->db, "nope", &e), GY_NOT_FOUND);
    cr_assert_null(e);
    cr_assert_eq(gy_tracking_experiment_get(f->db, 99, &e), GY_NOT_FOUND);
    cr_assert_str_eq(gy_error_msg(), "No Experiment with id=99 exists");
    OK(gy_tracking_experiment_id_by_name(f->db, "exp-a", &id2, &active));
    cr_assert_eq(id2, id);
    cr_assert(active);

    /* Deleted names stay reserved. */
    OK(gy_tracking_experiment_delete(f->db, id));
    cr_assert_eq(gy_tracking_experiment_create(f->db, "exp-a", NULL, NULL, 0, &id2), GY_E_EXISTS);
    OK(gy_tracking_experiment_get_by_name(f->db, "exp-a", &e));
    cr_assert_str_eq(jstr(e, "lifecycle_stage"), "deleted");
    json_decref(e);
}

DB_TEST(exp_ensure)
{
    int64_t a = -1, b = -2, c = -3;
    OK(gy_tracking_experiment_ensure(f->db, "train", &a));
    OK(gy_tracking_experiment_ensure(f->db, "train", &b));
    cr_assert_eq(a, b);
    OK(gy_tracking_experiment_ensure(f->db, "Default", &c));
    cr_assert_eq(c, 0);
    OK(gy_tracking_experiment_delete(f->db, a));
    cr_assert_eq(gy_tracking_experiment_ensure(f->db, "train", &b), GY_E_INVALID);
}

DB_TEST(exp_lifecycle)
{
    struct gy_tracking_run_create rc = {0};
    char run[GY_TRACKING_RUN_ID_LEN + 1], run2[GY_TRACKING_RUN_ID_LEN + 1];
    json_t *e = NULL, *r = NULL;
    int64_t id = mkexp(f->db, "one"), other = mkexp(f->db, "two");
    rc.experiment_id = id;
    OK(gy_tracking_run_create(f->db, &rc, run));
    OK(gy_tracking_run_create(f->db, &rc, run2));
    OK(gy_tracking_run_delete(f->db, run2)); /* deleted before: stays deleted after restore */

    OK(gy_tracking_experiment_rename(f->db, id, "uno"));
    OK(gy_tracking_experiment_get(f->db, id, &e));
    cr_assert_str_eq(jstr(e, "name"), "uno");
    json_decref(e);
    cr_assert_eq(gy_tracking_experiment_rename(f->db, id, "two"), GY_E_EXISTS);
    cr_assert_eq(gy_tracking_experiment_rename(f->db, 77, "x"), GY_NOT_FOUND);
    cr_assert_eq(gy_tracking_experiment_rename(f->db, id, ""), GY_E_INVALID);
    OK(gy_tracking_experiment_rename(f->db, id, "uno")); /* same name again is fine */

    usleep(2000); /* deletion times must differ from run2's deletion */
    OK(gy_tracking_experiment_delete(f->db, id));
    OK(gy_tracking_run_get(f->db, run, &r));
    cr_assert_str_eq(jstr(r, "info.lifecycle_stage"), "deleted", "runs go with the experiment");
    json_decref(r);
    cr_assert_eq(gy_tracking_experiment_delete(f->db, id), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_rename(f->db, id, "dos"), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_tag_set(f->db, id, "k", "v"), GY_E_INVALID);
    rc.experiment_id = id;
    cr_assert_eq(gy_tracking_run_create(f->db, &rc, run2), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "must be in the 'active' state"), "%s", gy_error_msg());

    OK(gy_tracking_experiment_restore(f->db, id));
    cr_assert_eq(gy_tracking_experiment_restore(f->db, id), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_restore(f->db, 555), GY_NOT_FOUND);
    OK(gy_tracking_run_get(f->db, run, &r));
    cr_assert_str_eq(jstr(r, "info.lifecycle_stage"), "active");
    json_decref(r);
    {
        struct gy_tracking_search s = {0};
        int64_t ids[1] = {id};
        s.experiment_ids = ids;
        s.nexperiment_ids = 1;
        s.view = GY_TRACKING_VIEW_DELETED_ONLY;
        OK(gy_tracking_run_search(f->db, &s, &r));
        cr_assert_eq(jlen(r, "runs"), 1, "the run deleted earlier stays deleted");
        json_decref(r);
    }
    GY_UNUSED(other);
}

DB_TEST(exp_tags)
{
    json_t *e = NULL;
    int64_t id = mkexp(f->db, "tagged"), t0, t1;
    OK(gy_tracking_experiment_get(f->db, id, &e));
    t0 = jint(e, "last_update_time");
    json_decref(e);
    usleep(2000);
    OK(gy_tracking_experiment_tag_set(f->db, id, "owner", "ana"));
    OK(gy_tracking_experiment_tag_set(f->db, id, "owner", "bo"));
    OK(gy_tracking_experiment_tag_set(f->db, id, "mlflow.note.content", "long text"));
    OK(gy_tracking_experiment_get(f->db, id, &e));
    t1 = jint(e, "last_update_time");
    cr_assert_gt(t1, t0, "tags touch last_update_time");
    cr_assert_eq(jlen(e, "tags"), 2);
    cr_assert_str_eq(json_string_value(jkv(e, "tags", "owner")), "bo");
    json_decref(e);
    OK(gy_tracking_experiment_tag_delete(f->db, id, "owner"));
    cr_assert_eq(gy_tracking_experiment_tag_delete(f->db, id, "owner"), GY_NOT_FOUND);
    cr_assert_eq(gy_tracking_experiment_tag_set(f->db, id, "", "v"), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_tag_set(f->db, id, "k", NULL), GY_E_INVALID);
    cr_assert_eq(gy_tracking_experiment_tag_set(f->db, 404, "k", "v"), GY_NOT_FOUND);
    OK(gy_tracking_experiment_get(f->db, id, &e));
    cr_assert_eq(jlen(e, "tags"), 1);
    json_decref(e);
}

/* Names of the experiments in a search result, joined by ','. */
static void names_of(json_t *res, char *out, size_t cap)
{
    json_t *e;
    size_t i;
    out[0] = '\0';
    json_array_foreach(json_object_get(res, "experiments"), i, e)
    {
        if (i)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, json_string_value(json_object_get(e, "name")), cap - strlen(out) - 1);
    }
}

static void search(struct gy_db *db, const char *filter, const char *const *order, size_t norder,
                   enum gy_tracking_view view, int64_t max, const char *token, char *names,
                   size_t cap, char *next, size_t ncap)
{
    struct gy_tracking_search s = {0};
    json_t *res = NULL;
    s.filter = filter;
    s.order_by = order;
    s.norder_by = norder;
    s.view = view;
    s.max_results = max;
    s.page_token = token;
    OK(gy_tracking_experiment_search(db, &s, &res));
    names_of(res, names, cap);
    if (next)
        snprintf(next, ncap, "%s", jstr(res, "next_page_token"));
    json_decref(res);
}

DB_TEST(exp_search)
{
    char names[512], next[32];
    const char *by_name[] = {"name"};
    const char *by_name_desc[] = {"name DESC"};
    const char *by_id[] = {"experiment_id DESC"};
    struct gy_tracking_search s = {0};
    json_t *res = NULL;
    int64_t b = mkexp(f->db, "Beta");
    mkexp(f->db, "alpha");
    mkexp(f->db, "alphabet");
    mkexp(f->db, "gamma");
    OK(gy_tracking_experiment_tag_set(f->db, b, "team", "fraud"));
    OK(gy_tracking_experiment_delete(f->db, mkexp(f->db, "zeta")));

    search(f->db, NULL, by_name, 1, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "Beta,Default,alpha,alphabet,gamma", "byte order, deleted hidden");
    search(f->db, NULL, by_name_desc, 1, GY_TRACKING_VIEW_ALL, 0, NULL, names, sizeof names, NULL,
           0);
    cr_assert_str_eq(names, "zeta,gamma,alphabet,alpha,Default,Beta");
    search(f->db, NULL, by_id, 1, GY_TRACKING_VIEW_DELETED_ONLY, 0, NULL, names, sizeof names, NULL,
           0);
    cr_assert_str_eq(names, "zeta");
    search(f->db, NULL, NULL, 0, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_eq(strlen(names), strlen("Beta,Default,alpha,alphabet,gamma"),
                 "default order returns everything active: %s", names);

    /* LIKE is case-sensitive, ILIKE is not: on both backends. */
    search(f->db, "name LIKE 'alpha%'", by_name, 1, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "alpha,alphabet");
    search(f->db, "name LIKE 'ALPHA%'", by_name, 1, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "");
    search(f->db, "name ILIKE 'ALPHA%'", by_name, 1, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "alpha,alphabet");
    search(f->db, "name LIKE '%eta'", by_name, 1, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "Beta");
    search(f->db, "name LIKE 'alpha_'", by_name, 1, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "");
    search(f->db, "name = 'gamma'", NULL, 0, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "gamma");
    search(f->db, "name != 'gamma' and name ilike 'a%'", by_name, 1, 0, 0, NULL, names,
           sizeof names, NULL, 0);
    cr_assert_str_eq(names, "alpha,alphabet");
    search(f->db, "tags.team = 'fraud'", NULL, 0, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "Beta");
    search(f->db, "tags.team ILIKE 'FR%'", NULL, 0, 0, 0, NULL, names, sizeof names, NULL, 0);
    cr_assert_str_eq(names, "Beta");
    search(f->db, "creation_time > 0 AND last_update_time >= 0", by_name, 1, 0, 0, NULL, names,
           sizeof names, NULL, 0);
    cr_assert_str_eq(names, "Beta,Default,alpha,alphabet,gamma");

    /* Paging: 2 + 2 + 1, tokens only while more follow. */
    search(f->db, NULL, by_name, 1, 0, 2, NULL, names, sizeof names, next, sizeof next);
    cr_assert_str_eq(names, "Beta,Default");
    cr_assert_str_eq(next, "2");
    search(f->db, NULL, by_name, 1, 0, 2, next, names, sizeof names, next, sizeof next);
    cr_assert_str_eq(names, "alpha,alphabet");
    search(f->db, NULL, by_name, 1, 0, 2, next, names, sizeof names, next, sizeof next);
    cr_assert_str_eq(names, "gamma");
    cr_assert_str_eq(next, "", "no token on the last page");

    /* Errors. */
    s.filter = "metrics.x > 1";
    cr_assert_eq(gy_tracking_experiment_search(f->db, &s, &res), GY_E_INVALID);
    s.filter = "name > 'a'";
    cr_assert_eq(gy_tracking_experiment_search(f->db, &s, &res), GY_E_INVALID);
    s.filter = "creation_time = 'a'";
    cr_assert_eq(gy_tracking_experiment_search(f->db, &s, &res), GY_E_INVALID);
    s.filter = NULL;
    s.max_results = GY_TRACKING_SEARCH_MAX + 1;
    cr_assert_eq(gy_tracking_experiment_search(f->db, &s, &res), GY_E_INVALID);
    s.max_results = -1;
    cr_assert_eq(gy_tracking_experiment_search(f->db, &s, &res), GY_E_INVALID);
    s.max_results = 0;
    s.page_token = "abc";
    cr_assert_eq(gy_tracking_experiment_search(f->db, &s, &res), GY_E_INVALID);
    s.page_token = NULL;
    {
        const char *bad_order[] = {"params.x"};
        s.order_by = bad_order;
        s.norder_by = 1;
        cr_assert_eq(gy_tracking_experiment_search(f->db, &s, &res), GY_E_INVALID);
    }
    cr_assert_null(res);
}
