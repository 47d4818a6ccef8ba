/* SPDX-License-Identifier: MIT */
/*
 * objects.c - the content-addressed object store of a data home: immutable blobs named by
 * the SHA-256 of their bytes, at home/objects/ab/cdef... (the first two hex digits name a
 * fan-out directory). Writes are atomic and durable (temporary file, fsync, rename, fsync of
 * the directory); reads verify the content against the name. Names are checked to be 64
 * lowercase hex digits before they touch a path, so no name can escape the store.
 *
 * Encryption at rest: with a write key set (GYRE_KEY_FILE), an object file is a 52-byte
 * header followed by libsodium secretstream (XChaCha20-Poly1305) chunks of 64 KiB plaintext
 * each, the last one tagged FINAL:
 *
 *     0  magic "\x89GYENC\r\n"   8  version (1)   9  chunk shift (16)   10  reserved (0, 0)
 *    12  key id (8 bytes: BLAKE2b-256(key)[0..8))   20  plaintext length (u64 little endian)
 *    28  secretstream header (24 bytes)             52  chunks: ciphertext + 17-byte tag
 *
 * Bytes 0..28 and the object's name are additional data of the first chunk, so the header
 * cannot be altered and a ciphertext cannot be moved to another name. The file size follows
 * from the plaintext length, so truncation is caught before decryption, and the FINAL tag
 * catches it again. The name stays the SHA-256 of the plaintext (dedup across keys), which a
 * read checks after decrypting. A plain object that happens to begin with the magic is still
 * read: when decryption fails, the raw bytes are accepted if they hash to the name.
 */
#include "db/db_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENC_MAGIC "\x89GYENC\r\n"
#define ENC_MAGIC_LEN 8
#define ENC_VERSION 1
#define ENC_CHUNK_SHIFT 16
#define ENC_CHUNK ((size_t)1 << ENC_CHUNK_SHIFT)
#define ENC_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define ENC_SSHDR crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define ENC_PREFIX 28                           /* magic .. plaintext length */
#define ENC_HDR (ENC_PREFIX + ENC_SSHDR)        /* 52 */
#define ENC_AD (ENC_PREFIX + GY_SHA256_HEX_LEN) /* first chunk's additional data */

/* Largest key file read (raw key, or hex with some whitespace around it). */
#define KEY_FILE_MAX 256

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

/* ------------------------------------------------------------------ encryption helpers */

/* libsodium must be initialized before its random generator is used. */
static enum gy_status crypto_ready(struct gy_db *db)
{
    if (sodium_init() < 0)
        return gy__db_error(db, GY_E_INTERNAL, "libsodium could not be initialized");
    return GY_OK;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The stored size of an encrypted object of @p len plaintext bytes; 0 on overflow. */
static int enc_size(uint64_t len, uint64_t *out)
{
    uint64_t chunks = len ? (len - 1) / ENC_CHUNK + 1 : 1;
    uint64_t over = ENC_HDR + chunks * ENC_ABYTES;
    if (len > UINT64_MAX - over)
        return 0;
    *out = len + over;
    return 1;
}

void gy_db_key_id(const uint8_t key[GY_DB_KEY_LEN], char out[GY_DB_KEY_ID_HEX_LEN + 1])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, key, GY_DB_KEY_LEN, NULL, 0);
    gy_hex_encode(h, GY_DB_KEY_ID_LEN, out);
}

static void key_init(struct gy_db_key *k, const uint8_t key[GY_DB_KEY_LEN])
{
    uint8_t h[32];
    memcpy(k->key, key, GY_DB_KEY_LEN);
    crypto_generichash(h, sizeof h, key, GY_DB_KEY_LEN, NULL, 0);
    memcpy(k->id, h, GY_DB_KEY_ID_LEN);
}

/* The read key whose id is @p id, or NULL. */
static const struct gy_db_key *key_find(const struct gy_db *db, const uint8_t *id)
{
    for (size_t i = 0; i < db->nread_keys; i++)
        if (memcmp(db->read_keys[i].id, id, GY_DB_KEY_ID_LEN) == 0)
            return &db->read_keys[i];
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum gy_status gy_db_key_file_read(const char *path, uint8_t key[GY_DB_KEY_LEN])
{
    uint8_t buf[KEY_FILE_MAX + 1];
    size_t n = 0, a, b;
    struct stat st;
    enum gy_status rc = GY_OK;
    int fd, zero = 1;

    memset(key, 0, GY_DB_KEY_LEN);
    if (!path || !*path)
        return gy_error_set(GY_E_INVALID, "no key file given");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gy_error_set(errno == ENOENT   ? GY_NOT_FOUND
                            : errno == EACCES ? GY_E_PERM
                                              : GY_E_IO,
                            "key file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = gy_error_set(GY_E_INVALID, "key file %s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 0006) {
        rc = gy_error_set(GY_E_PERM,
                          "key file %s is accessible to other users (mode %04o); refusing to use "
                          "it: run chmod 600 %s",
                          path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    while (n < sizeof buf) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = gy_error_set(GY_E_IO, "key file %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n == GY_DB_KEY_LEN) {
        memcpy(key, buf, GY_DB_KEY_LEN);
    } else {
        /* 64 hex digits, whitespace around them allowed. */
        for (a = 0; a < n && is_space((char)buf[a]); a++)
            ;
        for (b = n; b > a && is_space((char)buf[b - 1]); b--)
            ;
        if (n > KEY_FILE_MAX || b - a != 2 * GY_DB_KEY_LEN) {
            rc = gy_error_set(GY_E_INVALID,
                              "key file %s: expected 32 raw bytes or 64 hex digits (e.g. from "
                              "`openssl rand -hex 32`), found %s%zu bytes",
                              path, n > KEY_FILE_MAX ? "over " : "",
                              n > KEY_FILE_MAX ? (size_t)KEY_FILE_MAX : n);
            goto out;
        }
        for (size_t i = 0; i < GY_DB_KEY_LEN; i++) {
            int hi = hexval(buf[a + 2 * i]), lo = hexval(buf[a + 2 * i + 1]);
            if (hi < 0 || lo < 0) {
                rc = gy_error_set(GY_E_INVALID, "key file %s: not a hex digit at byte %zu", path,
                                  a + 2 * i + (hi < 0 ? 0 : 1) + 1);
                goto out;
            }
            key[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    for (size_t i = 0; i < GY_DB_KEY_LEN; i++)
        zero &= key[i] == 0;
    if (zero)
        rc = gy_error_set(GY_E_INVALID, "key file %s: the key is all zero bytes", path);
out:
    sodium_memzero(buf, sizeof buf);
    if (rc)
        sodium_memzero(key, GY_DB_KEY_LEN);
    close(fd);
    return rc;
}

enum gy_status gy_db_objects_add_read_key(struct gy_db *db, const uint8_t key[GY_DB_KEY_LEN])
{
    struct gy_db_key k;
    enum gy_status rc = crypto_ready(db);
    if (rc)
        return rc;
    key_init(&k, key);
    if (!key_find(db, k.id)) {
        if (db->nread_keys == GY_DB_READ_KEYS_MAX) {
            sodium_memzero(&k, sizeof k);
            return gy__db_error(db, GY_E_TOO_LARGE, "at most %d object keys can be loaded",
                                GY_DB_READ_KEYS_MAX);
        }
        db->read_keys[db->nread_keys++] = k;
    }
    sodium_memzero(&k, sizeof k);
    return GY_OK;
}

enum gy_status gy_db_objects_set_key(struct gy_db *db, const uint8_t *key)
{
    enum gy_status rc;
    if (!key) {
        sodium_memzero(&db->write_key, sizeof db->write_key);
        db->has_write_key = 0;
        return GY_OK;
    }
    if ((rc = gy_db_objects_add_read_key(db, key)))
        return rc;
    key_init(&db->write_key, key);
    db->has_write_key = 1;
    return GY_OK;
}

int gy_db_objects_encrypted(const struct gy_db *db)
{
    return db->has_write_key;
}

void gy__db_keys_clear(struct gy_db *db)
{
    sodium_memzero(&db->write_key, sizeof db->write_key);
    sodium_memzero(db->read_keys, sizeof db->read_keys);
    db->has_write_key = 0;
    db->nread_keys = 0;
}

/* Loads the key file named by environment variable @p var, as write key or read key. */
static enum gy_status env_key(struct gy_db *db, const char *var, int write)
{
    const char *path = getenv(var);
    uint8_t key[GY_DB_KEY_LEN];
    enum gy_status rc;
    if (!path || !*path)
        return GY_OK;
    rc = gy_db_key_file_read(path, key);
    if (rc)
        return gy__db_error(db, rc, "%s: %s", var, gy_error_msg());
    rc = write ? gy_db_objects_set_key(db, key) : gy_db_objects_add_read_key(db, key);
    sodium_memzero(key, sizeof key);
    return rc;
}

enum gy_status gy__db_keys_from_env(struct gy_db *db)
{
    enum gy_status rc = env_key(db, "GYRE_KEY_FILE", 1);
    if (rc == GY_OK)
        rc = env_key(db, "GYRE_OLD_KEY_FILE", 0);
    return rc;
}

/* The first chunk's additional data: header bytes 0..28 and the object's name. */
static void enc_ad(const uint8_t *hdr, const char *hex, uint8_t ad[ENC_AD])
{
    memcpy(ad, hdr, ENC_PREFIX);
    memcpy(ad + ENC_PREFIX, hex, GY_SHA256_HEX_LEN);
}

/*
 * Writes @p len bytes encrypted with @p key to @p path the way gy_file_write_atomic_ex
 * writes plain ones: a temporary file next to it, fsync (when @p durable), rename, fsync of
 * @p dir (when @p durable). On failure nothing at @p path changes.
 */
static enum gy_status write_encrypted(struct gy_db *db, const char *path, const char *dir,
                                      const uint8_t *data, size_t len, const struct gy_db_key *key,
                                      const char *hex, int durable)
{
    crypto_secretstream_xchacha20poly1305_state ss;
    uint8_t hdr[ENC_HDR], ad[ENC_AD], *chunk = NULL;
    char tmp[4096];
    size_t off = 0;
    enum gy_status rc;
    int fd = -1, first = 1;

    if ((rc = crypto_ready(db)))
        return rc;
    if (gy_snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lld", path, (long)getpid(),
                    (long long)gy_time_mono_ns()))
        return gy__db_error(db, GY_E_TOO_LARGE, "object path too long: %s", path);
    memcpy(hdr, ENC_MAGIC, ENC_MAGIC_LEN);
    hdr[8] = ENC_VERSION;
    hdr[9] = ENC_CHUNK_SHIFT;
    hdr[10] = hdr[11] = 0;
    memcpy(hdr + 12, key->id, GY_DB_KEY_ID_LEN);
    put_le64(hdr + 20, (uint64_t)len);
    crypto_secretstream_xchacha20poly1305_init_push(&ss, hdr + ENC_PREFIX, key->key);
    enc_ad(hdr, hex, ad);
    chunk = gy_malloc(ENC_CHUNK + ENC_ABYTES);
    if (!chunk) {
        rc = gy__db_error(db, GY_E_NOMEM, "out of memory encrypting object %s", hex);
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc =
            gy__db_error(db, errno == EACCES ? GY_E_PERM : GY_E_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if ((rc = gy_fd_write_all(fd, hdr, sizeof hdr)))
        goto out;
    do {
        size_t n = GY_MIN(ENC_CHUNK, len - off);
        unsigned long long clen = 0;
        int final = off + n == len;
        crypto_secretstream_xchacha20poly1305_push(
            &ss, chunk, &clen, data + off, n, first ? ad : NULL, first ? sizeof ad : 0,
            final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                  : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
        if ((rc = gy_fd_write_all(fd, chunk, (size_t)clen)))
            goto out;
        off += n;
        first = 0;
    } while (off < len);
    if (durable && fsync(fd) != 0) {
        rc = gy__db_error(db, GY_E_IO, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = gy__db_error(db, GY_E_IO, "close %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = gy__db_error(db, GY_E_IO, "rename to %s: %s", path, strerror(errno));
        goto out;
    }
    if (durable)
        rc = gy_fsync_dir(dir);
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    sodium_memzero(&ss, sizeof ss);
    gy_free(chunk);
    return rc;
}

static enum gy_status integrity_failed(struct gy_db *db, const char *hex)
{
    return gy__db_error(db, GY_E_CORRUPT,
                        "object %s: integrity check failed (tampered or truncated)", hex);
}

/* Reads exactly @p n bytes at @p off; GY_E_CORRUPT when the file ends first. */
static enum gy_status pread_exact(struct gy_db *db, int fd, const char *hex, void *p, size_t n,
                                  uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return gy__db_error(db, GY_E_IO, "reading object %s: %s", hex, strerror(errno));
        if (r == 0)
            return integrity_failed(db, hex);
        got += (size_t)r;
    }
    return GY_OK;
}

/*
 * Reads the first bytes of the object open on @p fd into @p hdr (ENC_HDR bytes, zero-padded)
 * and tells whether they mark an encrypted object. A file cut short inside its header still
 * counts as encrypted (and then fails its integrity check).
 */
static int is_encrypted(int fd, uint64_t size, uint8_t *hdr)
{
    ssize_t r;
    memset(hdr, 0, ENC_HDR);
    if (size < ENC_MAGIC_LEN)
        return 0;
    r = pread(fd, hdr, ENC_HDR, 0);
    return r >= ENC_MAGIC_LEN && memcmp(hdr, ENC_MAGIC, ENC_MAGIC_LEN) == 0;
}

/*
 * Checks the header of an encrypted object of @p size stored bytes: version, layout and that
 * the size agrees with the plaintext length. *plain gets the plaintext length.
 */
static enum gy_status header_check(struct gy_db *db, const char *hex, const uint8_t *hdr,
                                   uint64_t size, uint64_t *plain)
{
    uint64_t want;
    if (size < ENC_HDR)
        return integrity_failed(db, hex);
    if (hdr[8] != ENC_VERSION)
        return gy__db_error(db, GY_E_UNSUPPORTED,
                            "object %s: encryption format version %u is not supported by this "
                            "gyre (it reads version %d)",
                            hex, hdr[8], ENC_VERSION);
    *plain = get_le64(hdr + 20);
    if (hdr[9] != ENC_CHUNK_SHIFT || hdr[10] || hdr[11] || !enc_size(*plain, &want) || want != size)
        return integrity_failed(db, hex);
    return GY_OK;
}

/* Names the configured keys for an error message. */
static void key_ids(const struct gy_db *db, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < db->nread_keys && o + GY_DB_KEY_ID_HEX_LEN + 3 < cap; i++) {
        if (i)
            out[o++] = ',', out[o++] = ' ';
        gy_hex_encode(db->read_keys[i].id, GY_DB_KEY_ID_LEN, out + o);
        o += GY_DB_KEY_ID_HEX_LEN;
    }
}

/*
 * Decrypts the encrypted object open on @p fd (@p size bytes, header @p hdr) into @p out,
 * appending. Nothing is appended on failure (partial plaintext is wiped).
 */
static enum gy_status read_encrypted(struct gy_db *db, int fd, const char *hex, const uint8_t *hdr,
                                     uint64_t size, struct gy_buf *out)
{
    crypto_secretstream_xchacha20poly1305_state ss;
    const struct gy_db_key *key;
    uint8_t ad[ENC_AD], *cbuf = NULL;
    uint64_t plain = 0, pos = ENC_HDR;
    size_t off = 0;
    enum gy_status rc;
    int first = 1;

    if ((rc = header_check(db, hex, hdr, size, &plain)))
        return rc;
    key = key_find(db, hdr + 12);
    if (!key) {
        char id[GY_DB_KEY_ID_HEX_LEN + 1], have[96];
        gy_hex_encode(hdr + 12, GY_DB_KEY_ID_LEN, id);
        if (db->nread_keys == 0)
            return gy__db_error(db, GY_E_PERM,
                                "object %s is encrypted (key %s) and no key is configured: set "
                                "GYRE_KEY_FILE",
                                hex, id);
        key_ids(db, have, sizeof have);
        return gy__db_error(db, GY_E_PERM,
                            "object %s is encrypted with key %s, which is not among the keys "
                            "given (%s): set GYRE_KEY_FILE, or GYRE_OLD_KEY_FILE during a key "
                            "rotation",
                            hex, id, have);
    }
    if (plain > (uint64_t)SIZE_MAX - 1)
        return gy__db_error(db, GY_E_TOO_LARGE, "object %s is too large", hex);
    if ((rc = gy_buf_reserve(out, (size_t)plain)))
        return gy__db_error(db, rc, "object %s (%llu bytes): %s", hex, (unsigned long long)plain,
                            gy_error_msg());
    if (crypto_secretstream_xchacha20poly1305_init_pull(&ss, hdr + ENC_PREFIX, key->key) != 0)
        return integrity_failed(db, hex);
    cbuf = gy_malloc(ENC_CHUNK + ENC_ABYTES);
    if (!cbuf) {
        rc = gy__db_error(db, GY_E_NOMEM, "out of memory decrypting object %s", hex);
        goto out;
    }
    enc_ad(hdr, hex, ad);
    do {
        size_t n = (size_t)GY_MIN((uint64_t)ENC_CHUNK, plain - off);
        unsigned long long mlen = 0;
        unsigned char tag = 0;
        int final = off + n == plain;
        if ((rc = pread_exact(db, fd, hex, cbuf, n + ENC_ABYTES, pos)))
            goto out;
        if (crypto_secretstream_xchacha20poly1305_pull(
                &ss, (uint8_t *)out->data + out->len + off, &mlen, &tag, cbuf, n + ENC_ABYTES,
                first ? ad : NULL, first ? sizeof ad : 0) != 0 ||
            mlen != n ||
            tag != (final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                          : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)) {
            rc = integrity_failed(db, hex);
            goto out;
        }
        off += n;
        pos += n + ENC_ABYTES;
        first = 0;
    } while (off < plain);
    out->len += off;
    out->data[out->len] = '\0';
out:
    if (rc && off)
        sodium_memzero(out->data + out->len, off);
    sodium_memzero(&ss, sizeof ss);
    gy_free(cbuf);
    return rc;
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
    uint64_t esize = 0;
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
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        ((uint64_t)st.st_size == (uint64_t)len ||
         (enc_size(len, &esize) && (uint64_t)st.st_size == esize)))
        return GY_OK;
    dir_existed = stat(dir, &st) == 0;
    rc = gy_mkdir_p(dir);
    /* A new fan-out directory must itself be durable before the object inside it is. */
    if (rc == GY_OK && !dir_existed && !db->defer_sync)
        rc = gy_fsync_dir(db->objects_dir);
    if (rc == GY_OK && db->has_write_key)
        rc = write_encrypted(db, path, dir, data ? data : (const uint8_t *)"", len, &db->write_key,
                             hex, !db->defer_sync);
    else if (rc == GY_OK)
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
    uint8_t hdr[ENC_HDR];
    size_t start = out->len;
    struct stat st;
    enum gy_status rc;
    int fd, enc = 0;

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
    enc = is_encrypted(fd, (uint64_t)st.st_size, hdr);
    if (enc) {
        rc = read_encrypted(db, fd, hex, hdr, (uint64_t)st.st_size, out);
        if (rc == GY_OK) {
            gy_sha256_hex(out->data + start, out->len - start, actual);
            if (strcmp(actual, hex) != 0)
                rc = integrity_failed(db, hex);
        }
        if (rc == GY_OK)
            goto out;
        {
            /* A plain object that merely starts with the magic is still good if its bytes
             * hash to its name; otherwise the decryption error stands. */
            char saved[GY_DB_ERRMSG_CAP];
            enum gy_status first = rc;
            snprintf(saved, sizeof saved, "%s", gy_error_msg());
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
            if (lseek(fd, 0, SEEK_SET) == 0 &&
                read_exact(db, fd, hex, (size_t)st.st_size, out) == GY_OK) {
                gy_sha256_hex(out->data + start, out->len - start, actual);
                if (strcmp(actual, hex) == 0) {
                    rc = GY_OK;
                    goto out;
                }
            }
            rc = gy__db_error(db, first, "%s", saved);
            goto out;
        }
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
        /* Leave the caller's buffer as it was (and no plaintext of a failed read behind). */
        if (enc && out->len > start)
            sodium_memzero(out->data + start, out->len - start);
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

/* ------------------------------------------------------------------ stat, walk, rekey */

enum gy_status gy_db_object_stat(struct gy_db *db, const char *hex, struct gy_db_object_info *out)
{
    char path[4096];
    uint8_t hdr[ENC_HDR];
    struct stat st;
    enum gy_status rc;
    int fd;

    memset(out, 0, sizeof *out);
    if ((rc = object_paths(db, hex, NULL, 0, path, sizeof path)))
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
    out->stored_size = (uint64_t)st.st_size;
    out->size = (uint64_t)st.st_size;
    if (is_encrypted(fd, (uint64_t)st.st_size, hdr)) {
        if ((rc = header_check(db, hex, hdr, (uint64_t)st.st_size, &out->size)))
            goto out;
        out->encrypted = 1;
        gy_hex_encode(hdr + 12, GY_DB_KEY_ID_LEN, out->key_id);
    }
out:
    close(fd);
    return rc;
}

static int is_hex_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == '\0';
}

enum gy_status gy_db_objects_walk(struct gy_db *db,
                                  enum gy_status (*fn)(void *arg, const char *hex), void *arg)
{
    DIR *top = opendir(db->objects_dir), *sub = NULL;
    struct dirent *e, *f;
    char path[4096], hex[GY_SHA256_HEX_LEN + 1];
    enum gy_status rc = GY_OK;

    if (!top)
        return gy__db_error(db, GY_E_IO, "%s: %s", db->objects_dir, strerror(errno));
    while (rc == GY_OK && (e = readdir(top)) != NULL) {
        if (!is_hex_lower(e->d_name, 2))
            continue;
        if (gy_snprintf(path, sizeof path, "%s/%s", db->objects_dir, e->d_name)) {
            rc = gy__db_error(db, GY_E_TOO_LARGE, "object path too long under %s", db->objects_dir);
            break;
        }
        sub = opendir(path);
        if (!sub) {
            if (errno == ENOTDIR)
                continue;
            rc = gy__db_error(db, GY_E_IO, "%s: %s", path, strerror(errno));
            break;
        }
        while (rc == GY_OK && (f = readdir(sub)) != NULL) {
            if (!is_hex_lower(f->d_name, GY_SHA256_HEX_LEN - 2))
                continue;
            memcpy(hex, e->d_name, 2);
            memcpy(hex + 2, f->d_name, GY_SHA256_HEX_LEN - 2 + 1);
            rc = fn(arg, hex);
        }
        closedir(sub);
    }
    closedir(top);
    return rc;
}

struct rekey {
    struct gy_db *db;
    struct gy_db_key key;
    uint64_t limit;
    struct gy_db_rekey_stats st;
    enum gy_status first_rc;
    char first_msg[GY_DB_ERRMSG_CAP];
    struct gy_buf buf;
};

/* Notes an object that could not be read (the first one's text is kept). */
static enum gy_status rekey_failed(struct rekey *k, enum gy_status rc)
{
    k->st.failed++;
    if (!k->first_rc) {
        k->first_rc = rc;
        snprintf(k->first_msg, sizeof k->first_msg, "%s", gy_error_msg());
    }
    gy_log(GY_LOG_WARN, "rekey: %s", gy_error_msg());
    return GY_OK;
}

static enum gy_status rekey_one(void *arg, const char *hex)
{
    struct rekey *k = arg;
    struct gy_db_object_info info;
    char dir[4096], path[4096];
    enum gy_status rc;

    k->st.scanned++;
    if ((rc = gy_db_object_stat(k->db, hex, &info)))
        return rc == GY_NOT_FOUND ? GY_OK : rekey_failed(k, rc);
    if (info.encrypted) {
        char id[GY_DB_KEY_ID_HEX_LEN + 1];
        gy_hex_encode(k->key.id, GY_DB_KEY_ID_LEN, id);
        if (strcmp(id, info.key_id) == 0) {
            k->st.already++;
            return GY_OK;
        }
    }
    if (k->limit && k->st.rewritten >= k->limit)
        return GY_DECLINED; /* stop here; a later pass resumes */
    if (k->buf.data)
        sodium_memzero(k->buf.data, k->buf.len);
    gy_buf_reset(&k->buf);
    if ((rc = gy_db_object_get(k->db, hex, &k->buf)))
        return rekey_failed(k, rc);
    if ((rc = object_paths(k->db, hex, dir, sizeof dir, path, sizeof path)) ||
        (rc = write_encrypted(k->db, path, dir, (const uint8_t *)k->buf.data, k->buf.len, &k->key,
                              hex, 1)))
        return gy_error_wrap(rc, "re-encrypting object %s", hex);
    k->st.rewritten++;
    return GY_OK;
}

enum gy_status gy_db_objects_rekey(struct gy_db *db, const uint8_t new_key[GY_DB_KEY_LEN],
                                   uint64_t limit, struct gy_db_rekey_stats *st)
{
    struct rekey *k = gy_calloc(1, sizeof *k);
    enum gy_status rc;

    if (!k)
        return gy__db_error(db, GY_E_NOMEM, "out of memory");
    if ((rc = crypto_ready(db)))
        goto out;
    k->db = db;
    k->limit = limit;
    key_init(&k->key, new_key);
    gy_buf_init(&k->buf, (size_t)1 << 40);
    rc = gy_db_objects_walk(db, rekey_one, k);
    if (rc == GY_DECLINED)
        rc = GY_OK;
    if (rc == GY_OK && k->first_rc)
        rc = gy__db_error(db, k->first_rc, "%llu objects could not be read; the first: %s",
                          (unsigned long long)k->st.failed, k->first_msg);
out:
    if (st)
        *st = k->st;
    if (k->buf.data)
        sodium_memzero(k->buf.data, k->buf.len);
    gy_buf_free(&k->buf);
    sodium_memzero(&k->key, sizeof k->key);
    gy_free(k);
    return rc;
}
