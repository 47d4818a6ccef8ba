/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - pipelines and runs in the store (src/pipeline/store.c), on SQLite and
 * PostgreSQL: versions per change, triggers that start a run or are coalesced into one,
 * at most one unfinished run per pipeline (a store constraint), the waiting trigger starting
 * the next run, and the state names.
 */
#include "../store_fixture.h"

#include "pipeline/pipeline.h"
#include "pipeline/pipeline_int.h"

static struct gy_pipeline_spec *parse(const char *yaml)
{
    struct gy_pipeline_spec *s = NULL;
    OK(gy_pipeline_spec_parse_yaml(yaml, strlen(yaml), &s));
    return s;
}

static const char SPEC1[] = "name: p\n"
                            "data: {dataset: tx}\n"
                            "train: {target: y, rounds: 5}\n"
                            "register: {model: m}\n";
static const char SPEC2[] = "name: p\n"
                            "data: {dataset: tx}\n"
                            "train: {target: y, rounds: 7}\n"
                            "register: {model: m}\n";

static int64_t count(struct gy_db *db, const char *sql)
{
    int64_t n = -1;
    OK(gy_db_query_int(db, sql, NULL, 0, &n));
    return n;
}

DB_TEST(apply_versions_only_changes)
{
    struct gy_pipeline_spec *a = parse(SPEC1), *b = parse(SPEC2), *got = NULL;
    int64_t v = 0, gv = 0;
    int changed = -1;
    OK(gy_pipeline_apply(f->db, a, &v, &changed));
    cr_assert_eq(v, 1);
    cr_assert_eq(changed, 1);
    OK(gy_pipeline_apply(f->db, a, &v, &changed));
    cr_assert_eq(v, 1, "the same spec again is no new version");
    cr_assert_eq(changed, 0);
    OK(gy_pipeline_apply(f->db, b, &v, &changed));
    cr_assert_eq(v, 2);
    cr_assert_eq(changed, 1);
    OK(gy_pipeline_get(f->db, "p", 1, &got, &gv));
    cr_assert_eq(gv, 1);
    cr_assert_eq(got->train.rounds, 5, "version 1 is kept as it was");
    gy_pipeline_spec_free(got);
    OK(gy_pipeline_get(f->db, "p", 0, &got, &gv));
    cr_assert_eq(gv, 2);
    cr_assert_eq(got->train.rounds, 7);
    gy_pipeline_spec_free(got);
    cr_assert_eq(gy_pipeline_get(f->db, "p", 3, &got, &gv), GY_NOT_FOUND);
    cr_assert_eq(gy_pipeline_get(f->db, "nope", 0, &got, &gv), GY_NOT_FOUND);
    gy_pipeline_spec_free(a);
    gy_pipeline_spec_free(b);
}

DB_TEST(triggers_start_one_run_and_coalesce_the_rest)
{
    struct gy_pipeline_spec *a = parse(SPEC1);
    int64_t v, run = 0, next = 0;
    int changed, co = -1;
    json_t *runs = NULL, *r = NULL;
    OK(gy_pipeline_apply(f->db, a, &v, &changed));
    OK(gy_pipeline_trigger(f->db, "p", "manual", NULL, &run, &co));
    cr_assert(run > 0);
    cr_assert_eq(co, 0);
    OK(gy_pipeline_trigger(f->db, "p", "drift", "report 3", &next, &co));
    cr_assert_eq(next, 0);
    cr_assert_eq(co, 1, "a trigger during a run is coalesced");
    OK(gy_pipeline_trigger(f->db, "p", "api", NULL, &next, &co));
    cr_assert_eq(co, 1);
    cr_assert_eq(count(f->db, "SELECT COUNT(*) FROM pipeline_runs"), 1);
    /* The store itself refuses a second unfinished run. */
    {
        struct gy_db_param p[] = {GY_DB_P_TEXT("p")};
        cr_assert_eq(gy_db_exec(f->db,
                                "INSERT INTO pipeline_runs (pipeline, spec_version, state, active, "
                                "trigger_kind, created_us, updated_us, attempts, details) "
                                "VALUES ($1, 1, 'pending', 1, 'x', 0, 0, 0, '{}')",
                                p, 1, NULL),
                     GY_E_EXISTS);
    }
    /* No new run while one is unfinished. */
    OK(gy__pipeline_start_pending(f->db, "p", &next));
    cr_assert_eq(next, 0);
    /* The run ends: the first waiting trigger starts exactly one more. */
    {
        struct gy_db_param p[] = {GY_DB_P_INT(run)};
        OK(gy_db_exec(f->db,
                      "UPDATE pipeline_runs SET state = 'rejected', active = NULL WHERE id = $1", p,
                      1, NULL));
    }
    OK(gy__pipeline_start_pending(f->db, "p", &next));
    cr_assert(next > run);
    OK(gy__pipeline_start_pending(f->db, "p", &v));
    cr_assert_eq(v, 0, "the waiting trigger is used up");
    OK(gy_pipeline_run_get(f->db, next, &r));
    cr_assert_str_eq(gy_json_str(r, "trigger", ""), "drift");
    cr_assert_str_eq(gy_json_str(r, "trigger_detail", ""), "report 3");
    cr_assert_str_eq(gy_json_str(r, "state", ""), "pending");
    json_decref(r);
    OK(gy_pipeline_runs(f->db, "p", 0, &runs));
    cr_assert_eq(json_array_size(runs), 2);
    cr_assert_eq(gy_json_int(json_array_get(runs, 0), "id", 0), next, "newest first");
    json_decref(runs);
    cr_assert_eq(gy_pipeline_run_get(f->db, next + 100, &r), GY_NOT_FOUND);
    cr_assert_eq(gy_pipeline_trigger(f->db, "nope", "manual", NULL, &run, &co), GY_NOT_FOUND);
    gy_pipeline_spec_free(a);
}

DB_TEST(list_shows_last_run_and_waiting_trigger)
{
    struct gy_pipeline_spec *a = parse(SPEC1);
    int64_t v, run, next;
    int changed, co;
    json_t *l = NULL, *p;
    OK(gy_pipeline_apply(f->db, a, &v, &changed));
    OK(gy_pipeline_trigger(f->db, "p", "manual", NULL, &run, &co));
    OK(gy_pipeline_trigger(f->db, "p", "schedule", "0 3 * * *", &next, &co));
    OK(gy_pipeline_list(f->db, &l));
    cr_assert_eq(json_array_size(l), 1);
    p = json_array_get(l, 0);
    cr_assert_str_eq(gy_json_str(p, "name", ""), "p");
    cr_assert_str_eq(gy_json_str(p, "pending_trigger", ""), "schedule: 0 3 * * *");
    cr_assert_eq(gy_json_int(json_object_get(p, "last_run"), "id", 0), run);
    json_decref(l);
    gy_pipeline_spec_free(a);
}

Test(pipeline_state, names_round_trip)
{
    for (int s = GY_PRUN_PENDING; s <= GY_PRUN_FAILED; s++) {
        enum gy_pipeline_state back;
        cr_assert_eq(gy_pipeline_state_parse(gy_pipeline_state_name(s), &back), GY_OK);
        cr_assert_eq((int)back, s);
        cr_assert_eq(gy_pipeline_state_final(s), s >= GY_PRUN_PROMOTED);
    }
    cr_assert_str_eq(gy_pipeline_state_name(GY_PRUN_ROLLED_BACK), "rolled_back");
    {
        enum gy_pipeline_state back;
        cr_assert_eq(gy_pipeline_state_parse("done", &back), GY_E_CORRUPT);
    }
}
