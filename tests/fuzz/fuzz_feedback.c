/* SPDX-License-Identifier: MIT */
/*
 * fuzz_feedback.c - libFuzzer target for the feedback API's body handling: the body is read
 * as POST /api/v1/feedback reads it (gy_json_parse, then "deployment" and "items") and stored
 * with gy_feedback_put (src/serving/feedback.c) in a SQLite data home made once per process
 * in $TMPDIR and removed at exit.
 *
 * Besides the sanitizers, the target aborts when a promise breaks: a refusal without error
 * text or with a status other than GY_E_INVALID/GY_E_TOO_LARGE/GY_E_NOMEM; a refused body that
 * stored anything (all or nothing) or reports stored items; an accepted one whose stored count
 * is not the number of items, or whose last item's request id is not in the table afterwards.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "serving/serving.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gy_db *db;
static char home[512];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    gy_db_free(db);
    db = NULL;
    if (home[0])
        nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(home, sizeof(home), "%s/gyre-fuzz-feedback.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(home))
        abort();
    atexit(cleanup);
    if (gy_db_open(home, NULL, &db) != GY_OK)
        abort();
}

static int64_t count_rows(const char *dep, const char *request_id)
{
    struct gy_db_param p[2];
    int64_t n = -1;
    enum gy_status rc;
    if (request_id) {
        p[0] = GY_DB_P_TEXT(dep);
        p[1] = GY_DB_P_TEXT(request_id);
        rc = gy_db_query_int(
            db, "SELECT COUNT(*) FROM feedback WHERE deployment = $1 AND request_id = $2", p, 2,
            &n);
    } else {
        rc = gy_db_query_int(db, "SELECT COUNT(*) FROM feedback", NULL, 0, &n);
    }
    if (rc != GY_OK)
        abort();
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL, *items;
    const char *dep;
    size_t stored = 99;
    int64_t before;
    enum gy_status rc;

    if (!db)
        setup();
    gy_error_clear();
    rc = gy_json_parse((const char *)data, size, GY_JSON_MAX_DEPTH, "request body", &body);
    if (rc != GY_OK) {
        if (!*gy_error_msg() || (rc != GY_E_INVALID && rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM))
            abort();
        return 0;
    }
    dep = json_is_object(body) ? gy_json_str(body, "deployment", NULL) : NULL;
    if (!dep) {
        json_decref(body);
        return 0;
    }
    items = json_object_get(body, "items");
    before = count_rows(NULL, NULL);
    gy_error_clear();
    rc = gy_feedback_put(db, dep, items, &stored);
    if (rc != GY_OK) {
        if (!*gy_error_msg() || (rc != GY_E_INVALID && rc != GY_E_TOO_LARGE && rc != GY_E_NOMEM))
            abort();
        if (stored != 0 || count_rows(NULL, NULL) != before)
            abort();
    } else {
        size_t n = json_array_size(items);
        const char *last = gy_json_str(json_array_get(items, n - 1), "request_id", NULL);
        if (n == 0 || stored != n || !last || count_rows(dep, last) != 1)
            abort();
    }
    json_decref(body);
    return 0;
}
