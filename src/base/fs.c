/* SPDX-License-Identifier: MIT */
/*
 * fs.c - file helpers with the durability the data home needs: atomic replace (temp file,
 * fsync, rename, fsync of the directory), whole-file reads under a cap, mkdir -p. errno is
 * translated to gy_status here and nowhere else.
 */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum gy_status errno_status(int e)
{
    switch (e) {
    case ENOENT:
        return GY_NOT_FOUND;
    case ENOMEM:
        return GY_E_NOMEM;
    case EACCES:
    case EPERM:
        return GY_E_PERM;
    case EEXIST:
        return GY_E_EXISTS;
    case EFBIG:
        return GY_E_TOO_LARGE;
    default:
        return GY_E_IO;
    }
}

enum gy_status gy_fd_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return gy_error_set(errno_status(errno), "write: %s", strerror(errno));
        }
        c += w;
        n -= (size_t)w;
    }
    return GY_OK;
}

enum gy_status gy_fd_read_all(int fd, struct gy_buf *out)
{
    for (;;) {
        size_t room = out->max - out->len, want = room < 65536 ? room : 65536;
        char probe;
        ssize_t r;
        enum gy_status rc;
        if (want == 0) {
            /* Full: only EOF is acceptable now. */
            r = read(fd, &probe, 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return gy_error_set(errno_status(errno), "read: %s", strerror(errno));
            if (r == 0)
                break;
            return gy_error_set(GY_E_TOO_LARGE, "input larger than %zu bytes", out->max);
        }
        if ((rc = gy_buf_reserve(out, want)) != GY_OK)
            return rc;
        r = read(fd, out->data + out->len, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return gy_error_set(errno_status(errno), "read: %s", strerror(errno));
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        out->data[out->len] = '\0';
    }
    return GY_OK;
}

enum gy_status gy_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return gy_error_set(errno_status(errno), "%s: %s", path, strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        return gy_error_set(errno_status(e), "fsync %s: %s", path, strerror(e));
    }
    close(fd);
    return GY_OK;
}

enum gy_status gy_file_write_atomic(const char *path, const void *data, size_t len)
{
    return gy_file_write_atomic_ex(path, data, len, 1);
}

enum gy_status gy_fs_sync(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gy_error_set(errno_status(errno), "%s: %s", path, strerror(errno));
    if (syncfs(fd) != 0) {
        int e = errno;
        close(fd);
        return gy_error_set(errno_status(e), "syncfs %s: %s", path, strerror(e));
    }
    close(fd);
    return GY_OK;
}

enum gy_status gy_file_write_atomic_ex(const char *path, const void *data, size_t len, int durable)
{
    char tmp[4096], dir[4096];
    const char *slash = strrchr(path, '/');
    enum gy_status rc;
    struct stat st;
    int fd;

    /* An existing device, FIFO or socket (/dev/null, /dev/stdout, a pipe) is written in
     * place: renaming a temporary file over it would replace the device with a file. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return gy_error_set(GY_E_INVALID, "%s is a directory", path);
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return gy_error_set(errno_status(errno), "%s: %s", path, strerror(errno));
        rc = gy_fd_write_all(fd, data, len);
        if (close(fd) != 0 && rc == GY_OK)
            rc = gy_error_set(errno_status(errno), "close %s: %s", path, strerror(errno));
        return rc;
    }
    if (gy_snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lld", path, (long)getpid(),
                    (long long)gy_time_mono_ns()))
        return gy_error_set(GY_E_TOO_LARGE, "path too long: %s", path);
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1;
        if (n >= sizeof dir)
            return gy_error_set(GY_E_TOO_LARGE, "path too long: %s", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    } else {
        dir[0] = '.';
        dir[1] = '\0';
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return gy_error_set(errno_status(errno), "%s: %s", tmp, strerror(errno));
    rc = gy_fd_write_all(fd, data, len);
    if (rc == GY_OK && durable && fsync(fd) != 0)
        rc = gy_error_set(errno_status(errno), "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == GY_OK)
        rc = gy_error_set(errno_status(errno), "close %s: %s", tmp, strerror(errno));
    if (rc == GY_OK && rename(tmp, path) != 0)
        rc = gy_error_set(errno_status(errno), "rename to %s: %s", path, strerror(errno));
    if (rc != GY_OK) {
        unlink(tmp);
        return rc;
    }
    return durable ? gy_fsync_dir(dir) : GY_OK;
}

enum gy_status gy_file_read(const char *path, struct gy_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    enum gy_status rc;
    struct stat st;
    if (fd < 0)
        return gy_error_set(errno_status(errno), "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        rc = gy_buf_reserve(out, (size_t)st.st_size);
        if (rc) {
            close(fd);
            return gy_error_wrap(rc, "%s", path);
        }
    }
    rc = gy_fd_read_all(fd, out);
    close(fd);
    return rc ? gy_error_wrap(rc, "%s", path) : GY_OK;
}

enum gy_status gy_mkdir_p(const char *path)
{
    char p[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof p)
        return gy_error_set(GY_E_INVALID, "bad directory path");
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return gy_error_set(errno_status(errno), "mkdir %s: %s", p, strerror(errno));
            p[i] = c;
        }
    }
    return GY_OK;
}
