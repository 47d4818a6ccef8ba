/* SPDX-License-Identifier: MIT */
/*
 * test_crypt.c - encryption at rest of the object store (src/db/objects.c): round trips at
 * chunk boundaries, the on-disk header, content addressing over the plaintext, every byte of
 * an encrypted object flipped, truncation and extension, wrong and missing keys, ciphertext
 * moved to another name, mixed plain/encrypted stores, key files (raw, hex, refused modes),
 * keys from the environment, and key rotation (rekey), including one interrupted after N
 * objects and resumed, with a crash's temporary file left behind.
 */
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#define CHUNK 65536
#define HDR 52
#define TAG 17

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = gy_mix64(x + i);
        p[i] = (unsigned char)x;
    }
}

static void key_of(uint8_t key[GY_DB_KEY_LEN], int seed)
{
    for (int i = 0; i < GY_DB_KEY_LEN; i++)
        key[i] = (uint8_t)(seed * 31 + i + 1);
}

static size_t enc_len(size_t n)
{
    size_t chunks = n ? (n - 1) / CHUNK + 1 : 1;
    return HDR + n + chunks * TAG;
}

static off_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_size;
}

static void read_file(const char *path, unsigned char **out, size_t *n)
{
    struct gy_buf b;
    gy_buf_init(&b, (size_t)64 << 20);
    OK(gy_file_read(path, &b));
    *out = (unsigned char *)gy_buf_detach(&b, n);
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
    cr_assert_eq(chmod(path, mode), 0);
}

/* Expects object @p hex to read back as exactly @p data. */
static void expect_object(struct gy_db *db, const char *hex, const void *data, size_t n)
{
    struct gy_buf b;
    gy_buf_init(&b, (size_t)64 << 20);
    OK(gy_db_object_get(db, hex, &b));
    cr_assert_eq(b.len, n, "object %s: %zu bytes, wanted %zu", hex, b.len, n);
    cr_assert(n == 0 || memcmp(b.data, data, n) == 0, "object %s has other bytes", hex);
    gy_buf_free(&b);
}

/* Expects reading @p hex to fail with @p want and leave the buffer's "keep" alone. */
static void expect_fail(struct gy_db *db, const char *hex, enum gy_status want, const char *text)
{
    struct gy_buf b;
    enum gy_status rc;
    gy_buf_init(&b, (size_t)64 << 20);
    OK(gy_buf_puts(&b, "keep"));
    rc = gy_db_object_get(db, hex, &b);
    cr_assert_eq(rc, want, "got %s (%s), wanted %s", gy_status_str(rc), gy_error_msg(),
                 gy_status_str(want));
    if (text)
        cr_assert(strstr(gy_error_msg(), text), "\"%s\" lacks \"%s\"", gy_error_msg(), text);
    cr_assert_eq(b.len, 4);
    cr_assert_str_eq(b.data, "keep");
    gy_buf_free(&b);
}

DB_TEST(crypt_round_trip_at_chunk_boundaries)
{
    static const size_t sizes[] = {0,         1,     51,        52,        100,
                                   CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17};
    static unsigned char data[3 * CHUNK + 17];
    uint8_t key[GY_DB_KEY_LEN];
    char hex[GY_SHA256_HEX_LEN + 1], want[GY_SHA256_HEX_LEN + 1], path[1024], id[17];
    struct gy_db_object_info info;
    unsigned char *raw;
    size_t rawn;

    key_of(key, 1);
    gy_db_key_id(key, id);
    cr_assert_not(gy_db_objects_encrypted(f->db));
    OK(gy_db_objects_set_key(f->db, key));
    cr_assert(gy_db_objects_encrypted(f->db));
    for (size_t i = 0; i < GY_ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i];
        fill(data, n, 1000 + i);
        gy_sha256_hex(data, n, want);
        OK(gy_db_object_put(f->db, data, n, hex));
        cr_assert_str_eq(hex, want, "the name is the SHA-256 of the plaintext");
        OK(gy_db_object_path(f->db, hex, path, sizeof path));
        cr_assert_eq(file_size(path), (off_t)enc_len(n), "size %zu", n);
        read_file(path, &raw, &rawn);
        cr_assert_eq(memcmp(raw, "\x89GYENC\r\n", 8), 0);
        cr_assert_eq(raw[8], 1, "format version");
        cr_assert_eq(raw[9], 16, "chunk shift");
        /* The plaintext is nowhere in the file. */
        if (n >= 16)
            cr_assert_null(memmem(raw, rawn, data, 16));
        gy_free(raw);
        OK(gy_db_object_stat(f->db, hex, &info));
        cr_assert(info.encrypted);
        cr_assert_str_eq(info.key_id, id);
        cr_assert_eq(info.size, n);
        cr_assert_eq(info.stored_size, enc_len(n));
        expect_object(f->db, hex, data, n);
    }
}

DB_TEST(crypt_same_content_dedups_and_stays_put)
{
    uint8_t key[GY_DB_KEY_LEN];
    char hex1[GY_SHA256_HEX_LEN + 1], hex2[GY_SHA256_HEX_LEN + 1], path[1024];
    struct stat st1, st2;
    struct gy_db_object_info info;

    /* Written plain first: a later encrypted put of the same content leaves it alone. */
    OK(gy_db_object_put(f->db, "same bytes", 10, hex1));
    key_of(key, 2);
    OK(gy_db_objects_set_key(f->db, key));
    OK(gy_db_object_path(f->db, hex1, path, sizeof path));
    cr_assert_eq(stat(path, &st1), 0);
    OK(gy_db_object_put(f->db, "same bytes", 10, hex2));
    cr_assert_str_eq(hex1, hex2);
    cr_assert_eq(stat(path, &st2), 0);
    cr_assert_eq(st1.st_ino, st2.st_ino);
    OK(gy_db_object_stat(f->db, hex1, &info));
    cr_assert_not(info.encrypted);

    /* Written encrypted: a second put is a no-op too, with or without the key. */
    OK(gy_db_object_put(f->db, "other bytes", 11, hex1));
    OK(gy_db_object_path(f->db, hex1, path, sizeof path));
    cr_assert_eq(stat(path, &st1), 0);
    OK(gy_db_object_put(f->db, "other bytes", 11, hex2));
    OK(gy_db_objects_set_key(f->db, NULL));
    OK(gy_db_object_put(f->db, "other bytes", 11, hex2));
    cr_assert_eq(stat(path, &st2), 0);
    cr_assert_eq(st1.st_ino, st2.st_ino, "an encrypted object was rewritten");
    /* The key stays loaded for reading. */
    expect_object(f->db, hex1, "other bytes", 11);
}

DB_TEST(crypt_every_flipped_byte_is_refused)
{
    static unsigned char data[300];
    uint8_t key[GY_DB_KEY_LEN];
    char hex[GY_SHA256_HEX_LEN + 1], path[1024];
    unsigned char *raw;
    size_t rawn;

    key_of(key, 3);
    OK(gy_db_objects_set_key(f->db, key));
    fill(data, sizeof data, 7);
    OK(gy_db_object_put(f->db, data, sizeof data, hex));
    OK(gy_db_object_path(f->db, hex, path, sizeof path));
    read_file(path, &raw, &rawn);
    cr_assert_eq(rawn, enc_len(sizeof data));
    for (size_t i = 0; i < rawn; i++) {
        enum gy_status want = GY_E_CORRUPT;
        const char *text = "integrity check failed (tampered or truncated)";
        raw[i] ^= 0x01;
        write_file(path, raw, rawn, 0644);
        if (i < 8) {
            text = "failed its checksum"; /* no magic: read as a plain object */
        } else if (i == 8) {
            want = GY_E_UNSUPPORTED;
            text = "encryption format version";
        } else if (i >= 12 && i < 20) {
            want = GY_E_PERM; /* another key id: not a key we hold */
            text = "not among the keys given";
        }
        expect_fail(f->db, hex, want, text);
        cr_assert(strstr(gy_error_msg(), hex), "the error names the object");
        raw[i] ^= 0x01;
    }
    write_file(path, raw, rawn, 0644);
    expect_object(f->db, hex, data, sizeof data);
    gy_free(raw);
}

DB_TEST(crypt_truncated_or_extended_is_refused)
{
    static unsigned char data[2 * CHUNK + 10];
    static const size_t cuts[] = {0,
                                  1,
                                  8,
                                  51,
                                  52,
                                  53,
                                  52 + CHUNK + TAG - 1,
                                  52 + CHUNK + TAG,
                                  52 + 2 * (CHUNK + TAG),
                                  52 + 2 * (CHUNK + TAG) + 26};
    uint8_t key[GY_DB_KEY_LEN];
    char hex[GY_SHA256_HEX_LEN + 1], path[1024];
    unsigned char *raw, *longer;
    size_t rawn;

    key_of(key, 4);
    OK(gy_db_objects_set_key(f->db, key));
    fill(data, sizeof data, 9);
    OK(gy_db_object_put(f->db, data, sizeof data, hex));
    OK(gy_db_object_path(f->db, hex, path, sizeof path));
    read_file(path, &raw, &rawn);
    cr_assert_eq(rawn, 52 + 3 * TAG + sizeof data);
    for (size_t i = 0; i < GY_ARRAY_LEN(cuts); i++) {
        cr_assert_lt(cuts[i], rawn);
        write_file(path, raw, cuts[i], 0644);
        expect_fail(f->db, hex, GY_E_CORRUPT,
                    cuts[i] < 8 ? "failed its checksum" : "integrity check failed");
    }
    /* One byte more, and a whole extra chunk's worth more. */
    longer = gy_calloc(1, rawn + CHUNK + TAG);
    memcpy(longer, raw, rawn);
    write_file(path, longer, rawn + 1, 0644);
    expect_fail(f->db, hex, GY_E_CORRUPT, "integrity check failed");
    write_file(path, longer, rawn + CHUNK + TAG, 0644);
    expect_fail(f->db, hex, GY_E_CORRUPT, "integrity check failed");
    /* Chunks swapped: both are the right size, in the wrong order. */
    memcpy(longer, raw, rawn);
    memcpy(longer + 52, raw + 52 + CHUNK + TAG, CHUNK + TAG);
    memcpy(longer + 52 + CHUNK + TAG, raw + 52, CHUNK + TAG);
    write_file(path, longer, rawn, 0644);
    expect_fail(f->db, hex, GY_E_CORRUPT, "integrity check failed");
    gy_free(longer);
    gy_free(raw);
}

DB_TEST(crypt_ciphertext_moved_to_another_name_is_refused)
{
    uint8_t key[GY_DB_KEY_LEN];
    char a[GY_SHA256_HEX_LEN + 1], b[GY_SHA256_HEX_LEN + 1], pa[1024], pb[1024];
    unsigned char *raw;
    size_t rawn;

    key_of(key, 5);
    OK(gy_db_objects_set_key(f->db, key));
    /* Same length, so the sizes agree: only the name bound in the first chunk differs. */
    OK(gy_db_object_put(f->db, "content A", 9, a));
    OK(gy_db_object_put(f->db, "content B", 9, b));
    OK(gy_db_object_path(f->db, a, pa, sizeof pa));
    OK(gy_db_object_path(f->db, b, pb, sizeof pb));
    read_file(pa, &raw, &rawn);
    write_file(pb, raw, rawn, 0644);
    expect_fail(f->db, b, GY_E_CORRUPT, "integrity check failed");
    expect_object(f->db, a, "content A", 9);
    gy_free(raw);
}

DB_TEST(crypt_wrong_or_missing_key)
{
    uint8_t ka[GY_DB_KEY_LEN], kb[GY_DB_KEY_LEN];
    char hex[GY_SHA256_HEX_LEN + 1], ida[17];
    struct gy_db *other = NULL;

    key_of(ka, 6);
    key_of(kb, 7);
    gy_db_key_id(ka, ida);
    OK(gy_db_objects_set_key(f->db, ka));
    OK(gy_db_object_put(f->db, "secret payload", 14, hex));

    /* A handle without keys. */
    OK(fx_open(f, &other));
    expect_fail(other, hex, GY_E_PERM, "no key is configured: set GYRE_KEY_FILE");
    cr_assert(strstr(gy_error_msg(), ida), "%s", gy_error_msg());
    /* A handle with another key. */
    OK(gy_db_objects_set_key(other, kb));
    expect_fail(other, hex, GY_E_PERM, "GYRE_OLD_KEY_FILE");
    /* The old key added for reading: both work, new writes use kb. */
    OK(gy_db_objects_add_read_key(other, ka));
    expect_object(other, hex, "secret payload", 14);
    gy_db_free(other);
}

DB_TEST(crypt_mixed_store)
{
    static unsigned char data[8][1000];
    char hex[8][GY_SHA256_HEX_LEN + 1];
    uint8_t key[GY_DB_KEY_LEN];
    struct gy_db_object_info info;
    struct gy_db *plain = NULL;

    key_of(key, 8);
    for (int i = 0; i < 8; i++) {
        fill(data[i], sizeof data[i], 50 + (uint64_t)i);
        OK(gy_db_objects_set_key(f->db, i % 2 ? key : NULL));
        OK(gy_db_object_put(f->db, data[i], sizeof data[i], hex[i]));
    }
    for (int i = 0; i < 8; i++) {
        OK(gy_db_object_stat(f->db, hex[i], &info));
        cr_assert_eq(info.encrypted, i % 2);
        cr_assert_eq(info.size, sizeof data[i]);
        expect_object(f->db, hex[i], data[i], sizeof data[i]);
    }
    /* Without the key the plain half still reads. */
    OK(fx_open(f, &plain));
    for (int i = 0; i < 8; i++) {
        if (i % 2)
            expect_fail(plain, hex[i], GY_E_PERM, "encrypted");
        else
            expect_object(plain, hex[i], data[i], sizeof data[i]);
    }
    gy_db_free(plain);
}

DB_TEST(crypt_plain_object_that_looks_encrypted)
{
    unsigned char data[200];
    char hex[GY_SHA256_HEX_LEN + 1];
    uint8_t key[GY_DB_KEY_LEN];
    memset(data, 'x', sizeof data);
    memcpy(data, "\x89GYENC\r\n\x01\x10", 10);
    OK(gy_db_object_put(f->db, data, sizeof data, hex));
    expect_object(f->db, hex, data, sizeof data);
    key_of(key, 9);
    OK(gy_db_objects_set_key(f->db, key));
    expect_object(f->db, hex, data, sizeof data);
}

DB_TEST(crypt_defer_sync)
{
    uint8_t key[GY_DB_KEY_LEN];
    char hex[GY_SHA256_HEX_LEN + 1];
    key_of(key, 10);
    OK(gy_db_objects_set_key(f->db, key));
    gy_db_objects_defer_sync(f->db, 1);
    OK(gy_db_object_put(f->db, "batched", 7, hex));
    OK(gy_db_objects_sync(f->db));
    gy_db_objects_defer_sync(f->db, 0);
    expect_object(f->db, hex, "batched", 7);
}

DB_TEST(crypt_key_files)
{
    uint8_t raw[GY_DB_KEY_LEN], key[GY_DB_KEY_LEN], zero[GY_DB_KEY_LEN] = {0};
    char path[512], hexkey[80];

    key_of(raw, 11);
    snprintf(path, sizeof path, "%s/key", f->home);

    write_file(path, raw, sizeof raw, 0600);
    OK(gy_db_key_file_read(path, key));
    cr_assert_eq(memcmp(key, raw, sizeof raw), 0);

    {
        char h[65];
        gy_hex_encode(raw, sizeof raw, h);
        snprintf(hexkey, sizeof hexkey, " \n%s\n", h);
    }
    write_file(path, hexkey, strlen(hexkey), 0400);
    OK(gy_db_key_file_read(path, key));
    cr_assert_eq(memcmp(key, raw, sizeof raw), 0);

    /* Group-readable is accepted (Kubernetes fsGroup); world access is not. */
    write_file(path, raw, sizeof raw, 0640);
    OK(gy_db_key_file_read(path, key));
    write_file(path, raw, sizeof raw, 0644);
    cr_assert_eq(gy_db_key_file_read(path, key), GY_E_PERM);
    cr_assert(strstr(gy_error_msg(), "chmod 600"), "%s", gy_error_msg());
    cr_assert(strstr(gy_error_msg(), "0644"), "%s", gy_error_msg());
    cr_assert_eq(memcmp(key, zero, sizeof zero), 0, "a refused key is not handed out");
    write_file(path, raw, sizeof raw, 0602);
    cr_assert_eq(gy_db_key_file_read(path, key), GY_E_PERM);

    write_file(path, raw, 31, 0600);
    cr_assert_eq(gy_db_key_file_read(path, key), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "expected 32 raw bytes or 64 hex digits"), "%s",
              gy_error_msg());
    hexkey[5] = 'g';
    write_file(path, hexkey, strlen(hexkey), 0600);
    cr_assert_eq(gy_db_key_file_read(path, key), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "not a hex digit"), "%s", gy_error_msg());
    write_file(path, zero, sizeof zero, 0600);
    cr_assert_eq(gy_db_key_file_read(path, key), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "all zero"), "%s", gy_error_msg());
    cr_assert_eq(gy_db_key_file_read(f->home, key), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "not a regular file"), "%s", gy_error_msg());
    snprintf(path, sizeof path, "%s/nokey", f->home);
    cr_assert_eq(gy_db_key_file_read(path, key), GY_NOT_FOUND);
}

DB_TEST(crypt_keys_from_the_environment)
{
    uint8_t ka[GY_DB_KEY_LEN], kb[GY_DB_KEY_LEN];
    char pa[512], pb[512], hex_a[GY_SHA256_HEX_LEN + 1], hex_b[GY_SHA256_HEX_LEN + 1];
    struct gy_db *db = NULL;
    struct gy_db_object_info info;
    char ida[17], idb[17];

    key_of(ka, 12);
    key_of(kb, 13);
    gy_db_key_id(ka, ida);
    gy_db_key_id(kb, idb);
    snprintf(pa, sizeof pa, "%s/a.key", f->home);
    snprintf(pb, sizeof pb, "%s/b.key", f->home);
    write_file(pa, ka, sizeof ka, 0600);
    write_file(pb, kb, sizeof kb, 0644);

    setenv("GYRE_KEY_FILE", pa, 1);
    OK(fx_open(f, &db));
    cr_assert(gy_db_objects_encrypted(db));
    OK(gy_db_object_put(db, "under a", 7, hex_a));
    OK(gy_db_object_stat(db, hex_a, &info));
    cr_assert_str_eq(info.key_id, ida);
    gy_db_free(db);
    db = NULL;

    /* A world-readable key file stops the open, naming the variable and the fix. */
    setenv("GYRE_KEY_FILE", pb, 1);
    cr_assert_eq(fx_open(f, &db), GY_E_PERM);
    cr_assert_null(db);
    cr_assert(strstr(gy_error_msg(), "GYRE_KEY_FILE"), "%s", gy_error_msg());
    cr_assert(strstr(gy_error_msg(), "chmod 600"), "%s", gy_error_msg());
    cr_assert_eq(chmod(pb, 0600), 0);

    /* Rotation: the new key writes, the old one still reads. */
    setenv("GYRE_OLD_KEY_FILE", pa, 1);
    OK(fx_open(f, &db));
    OK(gy_db_object_put(db, "under b", 7, hex_b));
    OK(gy_db_object_stat(db, hex_b, &info));
    cr_assert_str_eq(info.key_id, idb);
    expect_object(db, hex_a, "under a", 7);
    expect_object(db, hex_b, "under b", 7);
    gy_db_free(db);
    unsetenv("GYRE_KEY_FILE");
    unsetenv("GYRE_OLD_KEY_FILE");
    OK(fx_open(f, &db));
    cr_assert_not(gy_db_objects_encrypted(db));
    expect_fail(db, hex_b, GY_E_PERM, "no key is configured");
    gy_db_free(db);
}

/* Counts objects by state: plain, under key a, under key b. */
struct census {
    struct gy_db *db;
    char ida[17], idb[17];
    int plain, a, b, other;
};

static enum gy_status census_one(void *arg, const char *hex)
{
    struct census *c = arg;
    struct gy_db_object_info info;
    enum gy_status rc = gy_db_object_stat(c->db, hex, &info);
    if (rc)
        return rc;
    if (!info.encrypted)
        c->plain++;
    else if (strcmp(info.key_id, c->ida) == 0)
        c->a++;
    else if (strcmp(info.key_id, c->idb) == 0)
        c->b++;
    else
        c->other++;
    return GY_OK;
}

static struct census census_of(struct gy_db *db, const uint8_t *ka, const uint8_t *kb)
{
    struct census c = {.db = db};
    gy_db_key_id(ka, c.ida);
    gy_db_key_id(kb, c.idb);
    OK(gy_db_objects_walk(db, census_one, &c));
    return c;
}

DB_TEST(crypt_rekey_interrupted_and_resumed)
{
    static unsigned char data[12][70000];
    char hex[12][GY_SHA256_HEX_LEN + 1], path[1024], tmp[1200];
    uint8_t ka[GY_DB_KEY_LEN], kb[GY_DB_KEY_LEN];
    struct gy_db_rekey_stats st;
    struct gy_db *db = NULL;
    struct census c;

    key_of(ka, 14);
    key_of(kb, 15);
    /* 4 plain objects, 8 under key a. */
    for (int i = 0; i < 12; i++) {
        fill(data[i], sizeof data[i], 300 + (uint64_t)i);
        OK(gy_db_objects_set_key(f->db, i < 4 ? NULL : ka));
        OK(gy_db_object_put(f->db, data[i], sizeof data[i], hex[i]));
    }
    c = census_of(f->db, ka, kb);
    cr_assert_eq(c.plain, 4);
    cr_assert_eq(c.a, 8);

    /* A crash mid-write leaves a temporary file next to an object: ignored by the walk. */
    OK(gy_db_object_path(f->db, hex[5], path, sizeof path));
    snprintf(tmp, sizeof tmp, "%s.tmp.99999.12345", path);
    write_file(tmp, "half written", 12, 0644);

    /* Interrupted after 5 objects. */
    OK(gy_db_objects_rekey(f->db, kb, 5, &st));
    cr_assert_eq(st.rewritten, 5);
    cr_assert_eq(st.failed, 0);
    c = census_of(f->db, ka, kb);
    cr_assert_eq(c.b, 5);
    cr_assert_eq(c.plain + c.a, 7);
    cr_assert_eq(c.other, 0);
    /* Mid-rotation, a handle with both keys reads everything. */
    OK(fx_open(f, &db));
    OK(gy_db_objects_set_key(db, kb));
    OK(gy_db_objects_add_read_key(db, ka));
    for (int i = 0; i < 12; i++)
        expect_object(db, hex[i], data[i], sizeof data[i]);
    /* Resumed from another handle: skips what is done. */
    OK(gy_db_objects_rekey(db, kb, 0, &st));
    cr_assert_eq(st.rewritten, 7);
    cr_assert_eq(st.already, 5);
    cr_assert_eq(st.scanned, 12);
    gy_db_free(db);
    db = NULL;
    c = census_of(f->db, ka, kb);
    cr_assert_eq(c.b, 12);
    /* Only the new key is needed now. */
    OK(fx_open(f, &db));
    OK(gy_db_objects_set_key(db, kb));
    for (int i = 0; i < 12; i++)
        expect_object(db, hex[i], data[i], sizeof data[i]);
    /* A second full pass has nothing left to do. */
    OK(gy_db_objects_rekey(db, kb, 0, &st));
    cr_assert_eq(st.rewritten, 0);
    cr_assert_eq(st.already, 12);
    gy_db_free(db);
    cr_assert_eq(access(tmp, F_OK), 0, "rekey left the stray file alone");
}

DB_TEST(crypt_rekey_reports_unreadable_objects)
{
    uint8_t ka[GY_DB_KEY_LEN], kb[GY_DB_KEY_LEN], kc[GY_DB_KEY_LEN];
    char h1[GY_SHA256_HEX_LEN + 1], h2[GY_SHA256_HEX_LEN + 1];
    struct gy_db_rekey_stats st;
    struct gy_db *db = NULL;
    struct gy_db_object_info info;

    key_of(ka, 16);
    key_of(kb, 17);
    key_of(kc, 18);
    OK(gy_db_objects_set_key(f->db, ka));
    OK(gy_db_object_put(f->db, "one", 3, h1));
    OK(gy_db_objects_set_key(f->db, kc));
    OK(gy_db_object_put(f->db, "two", 3, h2));
    /* This handle lacks key c: "two" fails, "one" moves to key b. */
    OK(fx_open(f, &db));
    OK(gy_db_objects_set_key(db, ka));
    cr_assert_eq(gy_db_objects_rekey(db, kb, 0, &st), GY_E_PERM);
    cr_assert(strstr(gy_error_msg(), "1 objects could not be read"), "%s", gy_error_msg());
    cr_assert(strstr(gy_error_msg(), h2), "%s", gy_error_msg());
    cr_assert_eq(st.failed, 1);
    cr_assert_eq(st.rewritten, 1);
    OK(gy_db_object_stat(db, h2, &info));
    cr_assert(info.encrypted);
    gy_db_free(db);
}
