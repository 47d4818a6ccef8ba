/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.c - allocation-failure injection for the registry: every allocation of a set of
 * calls (model get with versions, aliases and tags; version search; resolve; alias moves;
 * register) is failed in turn; each call must fail cleanly (no crash, no leak) or succeed.
 * SQLite only.
 */
#include "../store_fixture.h"

static void torture(const char *what, enum gy_status (*fn)(struct gy_db *), struct gy_db *db)
{
    int ok = 0, fails = 0;
    for (int64_t n = 1; n < 20000 && !ok; n++) {
        int64_t before = gy_alloc_bytes();
        enum gy_status rc;
        gy_alloc_fail_after(n);
        rc = fn(db);
        gy_alloc_fail_after(0);
        cr_assert(rc == GY_OK || rc == GY_E_NOMEM || rc == GY_E_DB,
                  "%s with allocation %lld failing: %s (%s)", what, (long long)n, gy_status_str(rc),
                  gy_error_msg());
        cr_assert_eq(gy_alloc_bytes(), before, "%s leaked with allocation %lld failing", what,
                     (long long)n);
        ok = rc == GY_OK;
        fails += !ok;
    }
    cr_assert(ok, "%s never succeeded", what);
    cr_assert_gt(fails, 3, "%s: the injection did not reach it", what);
}

static enum gy_status do_model_get(struct gy_db *db)
{
    json_t *m = NULL;
    enum gy_status rc = gy_registry_model_get(db, "m", &m);
    json_decref(m);
    return rc;
}

static enum gy_status do_version_search(struct gy_db *db)
{
    struct gy_registry_search s = {0};
    json_t *r = NULL;
    enum gy_status rc;
    s.filter = "name LIKE 'm%' AND tags.k = 'v'";
    rc = gy_registry_version_search(db, &s, &r);
    json_decref(r);
    return rc;
}

static enum gy_status do_model_search(struct gy_db *db)
{
    struct gy_registry_search s = {0};
    json_t *r = NULL;
    enum gy_status rc;
    s.filter = "name ILIKE 'M'";
    rc = gy_registry_model_search(db, &s, &r);
    json_decref(r);
    return rc;
}

static enum gy_status do_resolve(struct gy_db *db)
{
    struct gy_registry_version_info *v = NULL;
    enum gy_status rc = gy_registry_resolve(db, "m@champion", &v);
    gy_registry_version_info_free(v);
    return rc;
}

static enum gy_status do_alias(struct gy_db *db)
{
    return gy_registry_alias_set(db, "m", "champion", 2);
}

static char run_id[33];

static enum gy_status do_register(struct gy_db *db)
{
    int64_t v = 0;
    return gy_registry_register(db, "m2", run_id, NULL, NULL, "d", 1, &v);
}

Test(alloc, registry_calls_fail_cleanly, .init = fx_init_sqlite, .fini = fx_fini)
{
    struct gy_tracking_run_create c = {0};
    struct gy_registry_tag t = {"k", "v"};
    int64_t v = 0;
    OK(gy_tracking_run_create(F.db, &c, run_id));
    OK(gy_registry_model_create(F.db, "m", "d", NULL, &t, 1));
    OK(gy_registry_register(F.db, "m", run_id, NULL, NULL, "d", 1, &v));
    OK(gy_registry_register(F.db, "m", run_id, NULL, NULL, NULL, 0, &v));
    OK(gy_registry_version_tag_set(F.db, "m", 1, "k", "v"));
    OK(gy_registry_alias_set(F.db, "m", "champion", 1));
    torture("model_get", do_model_get, F.db);
    torture("version_search", do_version_search, F.db);
    torture("model_search", do_model_search, F.db);
    torture("resolve", do_resolve, F.db);
    torture("alias_set", do_alias, F.db);
    torture("register", do_register, F.db);
    cr_assert_eq(fx_int(F.db, "SELECT COUNT(*) FROM model_versions"), 3,
                 "only the successful register wrote a version");
}
