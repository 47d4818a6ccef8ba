/* SPDX-License-Identifier: MIT */
/*
 * mlflow_artifacts.c - artifacts over the MLflow REST API: the tracking side's
 * /api/2.0/mlflow/artifacts/list and the mlflow-artifacts proxy under
 * /api/2.0/mlflow-artifacts/ (GET ?path= lists, GET/PUT/DELETE artifacts/<path> download,
 * upload and delete). Proxy paths are "<experiment_id>/<run_id>/artifacts/<relpath>", the
 * tail of a run's artifact URI mlflow-artifacts:/<experiment_id>/<run_id>/artifacts, and map
 * to the run's artifacts in the tracking store (content-addressed objects in the data home).
 *
 * Every path is checked before anything reaches the store (gy__mlflow_proxy_path, on both the
 * text as sent and its decoded form, against the traversal tricks of the MLflow CVEs:
 * "..", encoded and double-encoded dots, backslashes, ';', '#', absolute paths, NUL); files
 * are then served from the object store by content hash, never from a path a client chose.
 */
#include "api/mlflow_int.h"

#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static enum gy_status db_of(struct gy__mlflow_call *c, struct gy_db **db)
{
    return gy_api_db(c->api, db);
}

/*
 * A listing path without its trailing '/'s ("model/" lists "model"; only listings accept
 * this, a file path must not end in '/'). Borrowed or from the request's arena.
 */
static enum gy_status trim_slash(struct gy__mlflow_call *c, const char **path)
{
    size_t n = *path ? strlen(*path) : 0;
    char *t;
    if (n < 2 || (*path)[n - 1] != '/')
        return GY_OK;
    while (n > 1 && (*path)[n - 1] == '/')
        n--;
    if (!(t = gy_arena_strndup(c->msg.arena, *path, n)))
        return gy_error_set(GY_E_NOMEM, "out of memory");
    *path = t;
    return GY_OK;
}

/* ------------------------------------------------------------------ artifacts/list */

GY__MLFLOW_HANDLER(, gy__mlflow_artifacts_list, 0)
{
    const char *id, *path;
    struct gy_db *db;
    json_t *out;
    enum gy_status rc;
    if ((rc = gy__mlflow_run_id(&c->msg, &id)) ||
        (rc = gy__mlflow_str(&c->msg, "path", 0, &path)) || (rc = trim_slash(c, &path)))
        return rc;
    /* Refused before the store is asked anything. */
    if (path && *path && (rc = gy_tracking_artifact_path_check(path, 1)))
        return gy_error_wrap(rc, "Invalid artifact path");
    if ((rc = db_of(c, &db)) || (rc = gy_tracking_artifact_list(db, id, path, &out)))
        return rc;
    return gy_http_resp_json(c->resp, 200, out);
}

/* ------------------------------------------------------------------ the proxy */

/*
 * Checks a proxy path (@p raw as sent, may be NULL for a query parameter; @p decoded) and
 * then finds its run: *rel points into @p decoded. @p need_file refuses the run's artifact
 * root itself (downloads, uploads and deletes name a file or a directory below it).
 */
static enum gy_status proxy_resolve(struct gy__mlflow_call *c, const char *raw, const char *decoded,
                                    int need_file, struct gy_db **db,
                                    char run_id[GY_TRACKING_RUN_ID_LEN + 1], const char **rel)
{
    int64_t exp;
    enum gy_status rc = gy__mlflow_proxy_path(raw, decoded, &exp, run_id, rel);
    if (rc)
        return rc;
    if (need_file && !**rel)
        return gy_error_set(GY_E_INVALID,
                            "Invalid artifact path '%s': it names the run's artifact root, not a "
                            "file",
                            decoded);
    if ((rc = db_of(c, db)))
        return rc;
    /* The run must exist and belong to that experiment. */
    return gy_tracking_artifact_proxy_path(*db, decoded, run_id, rel);
}

/* GET /api/2.0/mlflow-artifacts/artifacts?path=...: {"files": [FileInfo with base names]}. */
GY__MLFLOW_HANDLER(, gy__mlflow_proxy_list, 0)
{
    char run_id[GY_TRACKING_RUN_ID_LEN + 1];
    const char *path, *rel;
    struct gy_db *db;
    json_t *list = NULL, *files, *out = NULL;
    enum gy_status rc;

    if ((rc = gy__mlflow_str(&c->msg, "path", 0, &path)) || (rc = trim_slash(c, &path)) ||
        (rc = proxy_resolve(c, NULL, path, 0, &db, run_id, &rel)) ||
        (rc = gy_tracking_artifact_list(db, run_id, rel, &list)))
        return rc;
    files = json_object_get(list, "files");
    out = json_object();
    if (!out)
        goto nomem;
    if (json_array_size(files) > 0) {
        /* MLflow's proxy answers with base names, relative to the listed directory. */
        size_t i;
        json_t *fi;
        json_array_foreach(files, i, fi)
        {
            const char *p = json_string_value(json_object_get(fi, "path"));
            const char *slash = p ? strrchr(p, '/') : NULL;
            if (slash && json_object_set_new(fi, "path", json_string(slash + 1)))
                goto nomem;
        }
        if (json_object_set(out, "files", files))
            goto nomem;
    }
    json_decref(list);
    return gy_http_resp_json(c->resp, 200, out);
nomem:
    json_decref(list);
    json_decref(out);
    return gy_error_set(GY_E_NOMEM, "out of memory");
}

/* A content type from the file name; anything a browser could run is sent as text/plain. */
static const char *mime_type(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".json", "application/json"}, {".csv", "text/csv"},    {".png", "image/png"},
        {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
        {".pdf", "application/pdf"},   {".txt", "text/plain"},  {".log", "text/plain"},
        {".md", "text/plain"},         {".yaml", "text/plain"}, {".yml", "text/plain"},
        {".py", "text/plain"},         {".html", "text/plain"}, {".htm", "text/plain"},
        {".svg", "text/plain"},        {".js", "text/plain"},   {".xml", "text/plain"},
    };
    const char *base = strrchr(name, '/');
    const char *dot;
    base = base ? base + 1 : name;
    if (strcmp(base, "MLmodel") == 0)
        return "text/plain";
    dot = strrchr(base, '.');
    if (dot)
        for (size_t i = 0; i < GY_ARRAY_LEN(types); i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* Content-Disposition: attachment, with the base name reduced to safe header characters. */
static enum gy_status disposition(struct gy_http_resp *resp, const char *rel)
{
    const char *base = strrchr(rel, '/');
    char v[300];
    size_t o;
    base = base ? base + 1 : rel;
    o = (size_t)snprintf(v, sizeof v, "attachment; filename=\"");
    for (const char *p = base; *p && o + 3 < sizeof v; p++) {
        unsigned char ch = (unsigned char)*p;
        v[o++] = (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch : '_';
    }
    v[o++] = '"';
    v[o] = '\0';
    return gy_http_resp_header(resp, "Content-Disposition", v);
}

/* GET /api/2.0/mlflow-artifacts/artifacts/<path>: the file's bytes, streamed. */
GY__MLFLOW_HANDLER(, gy__mlflow_proxy_download, 0)
{
    char run_id[GY_TRACKING_RUN_ID_LEN + 1], hex[GY_SHA256_HEX_LEN + 1], file[4096];
    const char *rel;
    struct gy_db *db;
    struct stat st;
    struct gy_db_object_info info;
    int64_t size = 0;
    int fd;
    enum gy_status rc;

    if ((rc = proxy_resolve(c, gy_http_req_capture_raw(c->req, "path"),
                            gy_http_req_capture(c->req, "path"), 1, &db, run_id, &rel)) ||
        (rc = gy_tracking_artifact_stat(db, run_id, rel, hex, &size)) ||
        (rc = gy_db_object_stat(db, hex, &info)) ||
        (rc = gy_db_object_path(db, hex, file, sizeof file)))
        return rc;
    if (info.encrypted) {
        /* Ciphertext on disk: decrypt and authenticate the whole object, then send it. */
        struct gy_buf data;
        gy_buf_init(&data, (size_t)1 << 31);
        if ((rc = gy_db_object_get(db, hex, &data)) || data.len != (size_t)size ||
            (rc = disposition(c->resp, rel)) ||
            (rc = gy_http_resp_header(c->resp, "X-Content-Type-Options", "nosniff"))) {
            gy_buf_free(&data);
            return rc ? rc
                      : gy_error_set(GY_E_CORRUPT,
                                     "artifact '%s' of run %s: its object %s has the wrong size",
                                     rel, run_id, hex);
        }
        rc = gy_http_resp_bytes(c->resp, 200, mime_type(rel), data.data, data.len, GY_HTTP_COPY);
        gy_buf_free(&data);
        return rc;
    }
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return gy_error_set(GY_E_CORRUPT, "artifact '%s' of run %s: its object %s is missing", rel,
                            run_id, hex);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != size) {
        close(fd);
        return gy_error_set(GY_E_CORRUPT,
                            "artifact '%s' of run %s: its object %s has the wrong size", rel,
                            run_id, hex);
    }
    if ((rc = disposition(c->resp, rel)) ||
        (rc = gy_http_resp_header(c->resp, "X-Content-Type-Options", "nosniff"))) {
        close(fd);
        return rc;
    }
    return gy_http_resp_file(c->resp, 200, mime_type(rel), fd, 0, (uint64_t)size);
}

/* PUT /api/2.0/mlflow-artifacts/artifacts/<path>: the body (spooled to a file) becomes the
 * artifact. */
GY__MLFLOW_HANDLER(, gy__mlflow_proxy_upload, GY__MLFLOW_RAW_BODY)
{
    char run_id[GY_TRACKING_RUN_ID_LEN + 1];
    const char *rel;
    struct gy_db *db;
    uint64_t len = 0;
    void *map = NULL;
    int fd;
    enum gy_status rc;

    if ((rc = proxy_resolve(c, gy_http_req_capture_raw(c->req, "path"),
                            gy_http_req_capture(c->req, "path"), 1, &db, run_id, &rel)))
        return rc;
    if (gy_http_req_body_fd(c->req, &fd, &len))
        return gy_error_set(GY_E_INTERNAL, "the upload route must spool its body");
    if (len > 0) {
        /* Mapped rather than read: the object store hashes and copies it without a heap copy. */
        map = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
            return gy_error_set(GY_E_IO, "cannot map the uploaded body");
    }
    rc = gy_tracking_artifact_put(db, run_id, rel, map ? map : "", (size_t)len);
    if (map)
        munmap(map, (size_t)len);
    return rc;
}

/* DELETE /api/2.0/mlflow-artifacts/artifacts/<path>: a file, or every file under a directory. */
GY__MLFLOW_HANDLER(, gy__mlflow_proxy_delete, 0)
{
    char run_id[GY_TRACKING_RUN_ID_LEN + 1];
    const char *rel;
    struct gy_db *db;
    enum gy_status rc;
    if ((rc = proxy_resolve(c, gy_http_req_capture_raw(c->req, "path"),
                            gy_http_req_capture(c->req, "path"), 1, &db, run_id, &rel)))
        return rc;
    return gy_tracking_artifact_delete(db, run_id, rel);
}
