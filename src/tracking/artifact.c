/* SPDX-License-Identifier: MIT */
/*
 * artifact.c - run artifacts: the bytes are content-addressed objects in the data home
 * (gy_db_object_put); the table run_artifacts maps (run, path) to the object and its size.
 * Paths are relative names checked against every traversal trick MLflow's artifact CVEs used
 * (absolute paths, drive letters, "..", ".", empty segments, backslashes, ';', '#', '?', '%'
 * left over from double encoding, NUL and control characters, overlong UTF-8). Because a path
 * is only ever a key in a table and never a file system path, a missed trick still could not
 * reach outside the store; the checks keep the names clean for clients that do map them to
 * files. Listing rolls files up into directories like MLflow's artifacts/list.
 */
#include "tracking/tracking_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum gy_status gy_tracking_artifact_path_check(const char *path, int allow_empty)
{
    size_t n;
    const char *seg;
    if (!path)
        return gy_error_set(GY_E_INVALID, "artifact path is missing");
    n = strlen(path);
    if (n == 0)
        return allow_empty ? GY_OK : gy_error_set(GY_E_INVALID, "artifact path must not be empty");
    if (n > GY_TRACKING_ARTIFACT_PATH_MAX)
        return gy_error_set(GY_E_INVALID, "artifact path is longer than %d bytes",
                            GY_TRACKING_ARTIFACT_PATH_MAX);
    if (!gy__tracking_utf8_valid(path, n))
        return gy_error_set(GY_E_INVALID, "artifact path is not valid UTF-8");
    if (path[0] == '/')
        return gy_error_set(GY_E_INVALID, "artifact path '%s' is absolute", path);
    if (isalpha((unsigned char)path[0]) && path[1] == ':')
        return gy_error_set(GY_E_INVALID, "artifact path '%s' starts with a drive letter", path);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        const char *why = NULL;
        if (c < 0x20 || c == 0x7f)
            why = "a control character";
        else if (c == '\\')
            why = "a backslash";
        else if (c == ';')
            why = "';' (path parameters)";
        else if (c == '#')
            why = "'#' (a URI fragment)";
        else if (c == '?')
            why = "'?' (a query string)";
        else if (c == '%')
            why = "'%' (percent-encoding left after decoding: double encoding)";
        if (why)
            return gy_error_set(GY_E_INVALID, "artifact path '%s' contains %s", path, why);
    }
    seg = path;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0)
            return gy_error_set(GY_E_INVALID, "artifact path '%s' has an empty segment", path);
        if (len == 1 && seg[0] == '.')
            return gy_error_set(GY_E_INVALID, "artifact path '%s' has a '.' segment", path);
        if (len == 2 && seg[0] == '.' && seg[1] == '.')
            return gy_error_set(GY_E_INVALID, "artifact path '%s' has a '..' segment", path);
        if (!end)
            break;
        seg = end + 1;
    }
    return GY_OK;
}

/* Number of UTF-8 characters in @p s (what SQL substr counts). */
static int64_t utf8_chars(const char *s)
{
    int64_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* "path/" (new) for matching everything under directory @p path. */
static char *dir_prefix(const char *path)
{
    size_t n = strlen(path);
    char *p = gy_malloc(n + 2);
    if (!p)
        return NULL;
    memcpy(p, path, n);
    p[n] = '/';
    p[n + 1] = '\0';
    return p;
}

/* Inside a transaction: @p path must not be a directory, nor lie under a file. */
static enum gy_status put_conflicts(struct gy_db *db, int64_t rid, const char *path)
{
    struct gy_db_sql b;
    int64_t n = 0;
    char *pre = dir_prefix(path);
    enum gy_status rc;
    if (!pre)
        return gy_error_set(GY_E_NOMEM, "out of memory");
    gy_db_sql_init(&b);
    gy_db_sql_printf(&b, "SELECT COUNT(*) FROM run_artifacts WHERE run = ");
    gy_db_sql_param(&b, GY_DB_P_INT(rid));
    gy_db_sql_printf(&b, " AND (substr(path, 1, CAST(");
    gy_db_sql_param(&b, GY_DB_P_INT(utf8_chars(pre)));
    gy_db_sql_printf(&b, " AS INTEGER)) = ");
    gy_db_sql_text_own(&b, pre);
    for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
        gy_db_sql_printf(&b, " OR path = ");
        gy_db_sql_text_own(&b, gy_strndup(path, (size_t)(s - path)));
    }
    gy_db_sql_printf(&b, ")");
    rc = b.rc;
    if (rc == GY_OK)
        rc = gy_db_query_int(db, b.sql.data, b.p, b.np, &n);
    gy_db_sql_free(&b);
    if (rc == GY_OK && n > 0)
        rc = gy_error_set(GY_E_INVALID,
                          "artifact path '%s' clashes with an existing artifact (a directory of "
                          "that name, or a file where a directory would be)",
                          path);
    return rc;
}

static enum gy_status record(struct gy_db *db, const char *run_id, const char *path,
                             const char *hex, int64_t size)
{
    int64_t rid = 0;
    struct gy_db_param p[5];
    enum gy_status rc = gy_db_begin(db);
    if (rc)
        return rc;
    rc = gy__tracking_run_find(db, run_id, &rid, NULL);
    if (rc == GY_OK)
        rc = put_conflicts(db, rid, path);
    if (rc == GY_OK) {
        p[0] = GY_DB_P_INT(rid);
        p[1] = GY_DB_P_TEXT(path);
        p[2] = GY_DB_P_TEXT(hex);
        p[3] = GY_DB_P_INT(size);
        p[4] = GY_DB_P_INT(gy__tracking_now_ms());
        rc = gy_db_exec(db,
                        "INSERT INTO run_artifacts (run, path, object, size, created_ms) "
                        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run, path) DO UPDATE SET "
                        "object = excluded.object, size = excluded.size, "
                        "created_ms = excluded.created_ms",
                        p, 5, NULL);
    }
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

enum gy_status gy_tracking_artifact_put(struct gy_db *db, const char *run_id, const char *path,
                                        const void *data, size_t len)
{
    char hex[GY_SHA256_HEX_LEN + 1];
    enum gy_status rc = gy_tracking_artifact_path_check(path, 0);
    if (rc)
        return rc;
    /* Fail early for an unknown run, before writing an object nobody would reference. */
    if ((rc = gy__tracking_run_find(db, run_id, NULL, NULL)))
        return rc;
    if ((rc = gy_db_object_put(db, data, len, hex)))
        return rc;
    return record(db, run_id, path, hex, (int64_t)len);
}

enum gy_status gy_tracking_artifact_put_object(struct gy_db *db, const char *run_id,
                                               const char *path, const char *hex)
{
    struct gy_db_object_info info;
    enum gy_status rc = gy_tracking_artifact_path_check(path, 0);
    if (rc)
        return rc;
    if (!hex || !gy_is_sha256_hex(hex))
        return gy_error_set(GY_E_INVALID, "object name must be 64 lowercase hex digits");
    /* The plaintext size: an encrypted object's file is larger than its content. */
    rc = gy_db_object_stat(db, hex, &info);
    if (rc == GY_NOT_FOUND)
        return gy_error_set(GY_NOT_FOUND, "object %s is not in the object store", hex);
    if (rc)
        return rc;
    return record(db, run_id, path, hex, (int64_t)info.size);
}

enum gy_status gy_tracking_artifact_stat(struct gy_db *db, const char *run_id, const char *path,
                                         char hex[GY_SHA256_HEX_LEN + 1], int64_t *size)
{
    struct gy_db_rows *rows = NULL;
    struct gy_db_param p[2];
    int64_t rid = 0;
    enum gy_status rc = gy_tracking_artifact_path_check(path, 0);
    if (rc || (rc = gy__tracking_run_find(db, run_id, &rid, NULL)))
        return rc;
    p[0] = GY_DB_P_INT(rid);
    p[1] = GY_DB_P_TEXT(path);
    rc = gy_db_query(db, "SELECT object, size FROM run_artifacts WHERE run = $1 AND path = $2", p,
                     2, &rows);
    if (rc)
        return rc;
    if (gy_db_rows_count(rows) == 0)
        rc = gy_error_set(GY_NOT_FOUND, "No artifact '%s' in run %s", path, run_id);
    else if (!gy_is_sha256_hex(gy_db_rows_text(rows, 0, 0)))
        rc = gy_error_set(GY_E_CORRUPT, "artifact '%s' of run %s names a bad object", path, run_id);
    else {
        memcpy(hex, gy_db_rows_text(rows, 0, 0), GY_SHA256_HEX_LEN + 1);
        if (size)
            *size = gy_db_rows_int(rows, 0, 1);
    }
    gy_db_rows_free(rows);
    return rc;
}

enum gy_status gy_tracking_artifact_get(struct gy_db *db, const char *run_id, const char *path,
                                        struct gy_buf *out)
{
    char hex[GY_SHA256_HEX_LEN + 1];
    enum gy_status rc = gy_tracking_artifact_stat(db, run_id, path, hex, NULL);
    if (rc)
        return rc;
    return gy_db_object_get(db, hex, out);
}

struct entry {
    char *path;
    int is_dir;
    int64_t size;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

enum gy_status gy_tracking_artifact_list(struct gy_db *db, const char *run_id, const char *path,
                                         json_t **out)
{
    struct gy_db_sql b;
    struct gy_db_rows *rows = NULL;
    struct entry *ents = NULL;
    size_t nents = 0, plen;
    char *uri = NULL, *pre = NULL;
    int64_t rid = 0;
    json_t *res = NULL, *files = NULL;
    enum gy_status rc;

    *out = NULL;
    if (!path)
        path = "";
    if ((rc = gy_tracking_artifact_path_check(path, 1)) ||
        (rc = gy__tracking_run_find(db, run_id, &rid, NULL)) ||
        (rc = gy_tracking_run_experiment(db, run_id, NULL, &uri)))
        return rc;
    gy_db_sql_init(&b);
    gy_db_sql_printf(&b, "SELECT path, size FROM run_artifacts WHERE run = ");
    gy_db_sql_param(&b, GY_DB_P_INT(rid));
    if (*path) {
        pre = dir_prefix(path);
        if (!pre) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        gy_db_sql_printf(&b, " AND substr(path, 1, CAST(");
        gy_db_sql_param(&b, GY_DB_P_INT(utf8_chars(pre)));
        gy_db_sql_printf(&b, " AS INTEGER)) = ");
        gy_db_sql_param(&b, GY_DB_P_TEXT(pre));
    }
    gy_db_sql_printf(&b, " ORDER BY path%s", gy__tracking_coll(db));
    if ((rc = b.rc) || (rc = gy_db_query(db, b.sql.data, b.p, b.np, &rows)))
        goto out;
    plen = pre ? strlen(pre) : 0;
    if (gy_db_rows_count(rows) && !(ents = gy_calloc(gy_db_rows_count(rows), sizeof *ents))) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t r = 0; r < gy_db_rows_count(rows); r++) {
        const char *full = gy_db_rows_text(rows, r, 0);
        const char *slash = strchr(full + plen, '/');
        size_t len = slash ? (size_t)(slash - full) : strlen(full);
        if (slash && nents && ents[nents - 1].is_dir && strlen(ents[nents - 1].path) == len &&
            strncmp(ents[nents - 1].path, full, len) == 0)
            continue; /* another file in the same subdirectory */
        ents[nents].path = gy_strndup(full, len);
        if (!ents[nents].path) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        ents[nents].is_dir = slash != NULL;
        ents[nents].size = gy_db_rows_int(rows, r, 1);
        nents++;
    }
    if (nents)
        qsort(ents, nents, sizeof *ents, cmp_entry);
    res = json_object();
    files = json_array();
    if (!res || !files || gy__tracking_jset_str(res, "root_uri", uri)) {
        rc = gy_error_set(GY_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nents; i++) {
        json_t *fi = json_object();
        if (!fi) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        if (gy__tracking_jset_str(fi, "path", ents[i].path) ||
            gy_json_set(fi, "is_dir", json_boolean(ents[i].is_dir)) ||
            (!ents[i].is_dir && gy_json_set(fi, "file_size", gy__tracking_jint(ents[i].size)))) {
            json_decref(fi);
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
        if (json_array_append_new(files, fi)) {
            rc = gy_error_set(GY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    rc = gy__tracking_jset_list(res, "files", files);
    files = NULL;
    if (rc == GY_OK) {
        *out = res;
        res = NULL;
    }
out:
    for (size_t i = 0; i < nents; i++)
        gy_free(ents[i].path);
    gy_free(ents);
    json_decref(files);
    json_decref(res);
    gy_db_rows_free(rows);
    gy_db_sql_free(&b);
    gy_free(pre);
    gy_free(uri);
    return rc;
}

enum gy_status gy_tracking_artifact_delete(struct gy_db *db, const char *run_id, const char *path)
{
    struct gy_db_sql b;
    int64_t rid = 0, changes = 0;
    enum gy_status rc = gy_tracking_artifact_path_check(path, 0);
    if (rc)
        return rc;
    if ((rc = gy_db_begin(db)))
        return rc;
    gy_db_sql_init(&b);
    rc = gy__tracking_run_find(db, run_id, &rid, NULL);
    if (rc == GY_OK) {
        char *pre = dir_prefix(path);
        gy_db_sql_printf(&b, "DELETE FROM run_artifacts WHERE run = ");
        gy_db_sql_param(&b, GY_DB_P_INT(rid));
        gy_db_sql_printf(&b, " AND (path = ");
        gy_db_sql_param(&b, GY_DB_P_TEXT(path));
        gy_db_sql_printf(&b, " OR substr(path, 1, CAST(");
        gy_db_sql_param(&b, GY_DB_P_INT(pre ? utf8_chars(pre) : 0));
        gy_db_sql_printf(&b, " AS INTEGER)) = ");
        gy_db_sql_text_own(&b, pre);
        gy_db_sql_printf(&b, ")");
        rc = b.rc;
        if (rc == GY_OK)
            rc = gy_db_exec(db, b.sql.data, b.p, b.np, &changes);
        if (rc == GY_OK && changes == 0)
            rc = gy_error_set(GY_NOT_FOUND, "No artifact '%s' in run %s", path, run_id);
    }
    gy_db_sql_free(&b);
    if (rc) {
        gy_db_rollback(db);
        return rc;
    }
    return gy_db_commit(db);
}

enum gy_status gy_tracking_artifact_proxy_path(struct gy_db *db, const char *path,
                                               char run_id[GY_TRACKING_RUN_ID_LEN + 1],
                                               const char **rel)
{
    const char *p = path, *slash;
    char expbuf[24];
    int64_t exp = 0, run_exp = -1;
    enum gy_status rc;
    *rel = NULL;
    if (!path)
        return gy_error_set(GY_E_INVALID, "artifact proxy path is missing");
    slash = strchr(p, '/');
    if (!slash || slash == p || (size_t)(slash - p) >= sizeof expbuf)
        goto shape;
    memcpy(expbuf, p, (size_t)(slash - p));
    expbuf[slash - p] = '\0';
    if (gy_tracking_experiment_id_parse(expbuf, &exp) != GY_OK)
        goto shape;
    p = slash + 1;
    if (strlen(p) < GY_TRACKING_RUN_ID_LEN + 1 + 9 || p[GY_TRACKING_RUN_ID_LEN] != '/')
        goto shape;
    memcpy(run_id, p, GY_TRACKING_RUN_ID_LEN);
    run_id[GY_TRACKING_RUN_ID_LEN] = '\0';
    if (!gy_tracking_run_id_valid(run_id))
        goto shape;
    p += GY_TRACKING_RUN_ID_LEN + 1;
    if (strncmp(p, "artifacts", 9) != 0 || (p[9] != '\0' && p[9] != '/'))
        goto shape;
    p += 9;
    if (*p == '/')
        p++;
    if ((rc = gy_tracking_artifact_path_check(p, 1)))
        return rc;
    if ((rc = gy_tracking_run_experiment(db, run_id, &run_exp, NULL)))
        return rc;
    if (run_exp != exp)
        return gy_error_set(GY_NOT_FOUND, "Run %s is not in experiment %lld", run_id,
                            (long long)exp);
    *rel = p;
    return GY_OK;
shape:
    run_id[0] = '\0';
    return gy_error_set(GY_E_INVALID,
                        "artifact proxy path must look like <experiment_id>/<run_id>/artifacts/"
                        "<path>");
}
