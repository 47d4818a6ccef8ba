/* SPDX-License-Identifier: MIT */
/*
 * objects.c - the content-addressed object store of a data home: immutable blobs named by
 * the SHA-256 of their bytes, at home/objects/ab/cdef... (the first two hex digits name a
 * fan-out directory). Writes are atomic and durable (temporary file, fsync, rename, fsync of
 * the directory); reads verify the content against the name. Names are checked to be 64
 * lowercase hex digits before they touch a path, so no name can escape the store.
 */
#include "db/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum gy_status bad_name(struct gy_db *db, const char *hex)
{
    return gy__db_error(db, GY_E_INVALID,
                        "bad object name \"%.80s\": expected 64 lowercase hex "
                        "digits",
                        hex ? hex : "(null)");
}

/* Writes home/objects/ab into @p dir and home/objects/ab/cdef... into @p path. */
static enum gy_status object_paths(struct gy_db *db, const char *hex, char *dir, size_t dircap,
                                   char *path, size_t pathcap)
{
    if (!gy_is_sha256_hex(hex))
        return bad_name(db, hex);
    if ((dir && gy_snprintf(dir, dircap, "%s/%.2s", db->objects_dir, hex)) ||
        gy_snprintf(path, pathcap, "%s/%.2s/%s", db->objects_dir, hex, hex + 2))
        return gy__db_error(db, GY_E_TOO_LARGE, "object path too long under %s", db->objects_dir);
    return GY_OK;
}

enum gy_status gy_db_object_path(struct gy_db *db, const char *hex, char *out, size_t cap)
{
    return object_paths(db, hex, NULL, 0, out, cap);
}

int gy_db_object_exists(struct gy_db *db, const char *hex)
{
    char path[4096];
    struct stat st;
    if (!gy_is_sha256_hex(hex) || object_paths(db, hex, NULL, 0, path, sizeof path))
        return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

enum gy_status gy_db_object_put(struct gy_db *db, const void *data, size_t len,
                                char hex[GY_SHA256_HEX_LEN + 1])
{
    char dir[4096], path[4096];
    struct stat st;
    enum gy_status rc;
    int dir_existed;

    if (!data && len)
        return gy__db_error(db, GY_E_INVALID, "object data is NULL");
    gy_sha256_hex(data ? data : "", len, hex);
    rc = object_paths(db, hex, dir, sizeof dir, path, sizeof path);
    if (rc)
        return rc;
    /*
     * Already stored: done. A file of the wrong size cannot be this object (a torn copy from
     * outside gyre, or damage), so it is replaced by the good bytes we hold.
     */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == (uint64_t)len)
        return GY_OK;
    dir_existed = stat(dir, &st) == 0;
    rc = gy_mkdir_p(dir);
    /* A new fan-out directory must itself be durable before the object inside it is. */
    if (rc == GY_OK && !dir_existed && !db->defer_sync)
        rc = gy_fsync_dir(db->objects_dir);
    if (rc == GY_OK)
        rc = gy_file_write_atomic_ex(path, data ? data : "", len, !db->defer_sync);
    if (rc)
        return gy__db_error(db, rc, "storing object %s: %s", hex, gy_error_msg());
    return GY_OK;
}

/* Reads the whole regular file at @p path (of size @p size) into @p out. */
static enum gy_status read_exact(struct gy_db *db, int fd, const char *hex, size_t size,
                                 struct gy_buf *out)
{
    size_t got = 0;
    char extra;
    enum gy_status rc = gy_buf_reserve(out, size);
    if (rc)
        return gy__db_error(db, rc, "object %s (%zu bytes): %s", hex, size, gy_error_msg());
    while (got < size) {
        ssize_t r = read(fd, out->data + out->len + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return gy__db_error(db, GY_E_IO, "reading object %s: %s", hex, strerror(errno));
        if (r == 0)
            break; /* shorter than it was a moment ago: the checksum will say so */
        got += (size_t)r;
    }
    /* Longer than at fstat time: also not an immutable object any more. */
    if (got == size && read(fd, &extra, 1) > 0)
        return gy__db_error(db, GY_E_CORRUPT, "object %s changed while being read", hex);
    out->len += got;
    out->data[out->len] = '\0';
    return GY_OK;
}

enum gy_status gy_db_object_get(struct gy_db *db, const char *hex, struct gy_buf *out)
{
    char path[4096], actual[GY_SHA256_HEX_LEN + 1];
    size_t start = out->len;
    struct stat st;
    enum gy_status rc;
    int fd;

    rc = object_paths(db, hex, NULL, 0, path, sizeof path);
    if (rc)
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return gy_error_set(GY_NOT_FOUND, "object %s not found", hex);
        return gy__db_error(db, errno == EACCES ? GY_E_PERM : GY_E_IO, "object %s: %s", hex,
                            strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = gy__db_error(db, GY_E_CORRUPT, "object %s is not a regular file", hex);
        goto out;
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        rc = gy__db_error(db, GY_E_TOO_LARGE, "object %s is too large", hex);
        goto out;
    }
    rc = read_exact(db, fd, hex, (size_t)st.st_size, out);
    if (rc)
        goto out;
    gy_sha256_hex(out->data + start, out->len - start, actual);
    if (strcmp(actual, hex) != 0)
        rc = gy__db_error(db, GY_E_CORRUPT, "object %s failed its checksum", hex);
out:
    close(fd);
    if (rc && out->data) {
        /* Leave the caller's buffer as it was. */
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

void gy_db_objects_defer_sync(struct gy_db *db, int on)
{
    db->defer_sync = on;
}

enum gy_status gy_db_objects_sync(struct gy_db *db)
{
    enum gy_status rc = gy_fs_sync(db->objects_dir);
    if (rc)
        return gy__db_error(db, rc, "flushing objects: %s", gy_error_msg());
    return GY_OK;
}
