/* SPDX-License-Identifier: MIT */
/*
 * test_objects.c - the content-addressed object store of a data home: round trips, naming
 * and layout, idempotent puts, integrity checks on read, name validation, size limits. The
 * store lives in the home whatever the metadata backend, so these run on both as well.
 */
#include "fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static const char empty_sha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* Fills @p n bytes with a deterministic pattern including NUL bytes. */
static void fill(unsigned char *p, size_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        x = gy_mix64(x + i);
        p[i] = (unsigned char)(i % 7 == 0 ? 0 : x);
    }
}

static void overwrite(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_geq(fd, 0, "open %s", path);
    cr_assert_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
}

DB_TEST(object_round_trip_and_layout)
{
    static unsigned char data[100000];
    char hex[GY_SHA256_HEX_LEN + 1], want[GY_SHA256_HEX_LEN + 1], path[1024], expect[1024];
    struct gy_buf b;
    struct stat st;

    fill(data, sizeof data);
    gy_sha256_hex(data, sizeof data, want);
    cr_assert_not(gy_db_object_exists(f->db, want));
    OK(gy_db_object_put(f->db, data, sizeof data, hex));
    cr_assert_str_eq(hex, want);
    cr_assert(gy_db_object_exists(f->db, hex));

    OK(gy_db_object_path(f->db, hex, path, sizeof path));
    snprintf(expect, sizeof expect, "%s/objects/%.2s/%s", f->home, hex, hex + 2);
    cr_assert_str_eq(path, expect);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, (off_t)sizeof data);
    cr_assert_eq(gy_db_object_path(f->db, hex, path, 10), GY_E_TOO_LARGE);

    /* get appends to what the buffer holds. */
    gy_buf_init(&b, 1 << 20);
    OK(gy_buf_puts(&b, "head:"));
    OK(gy_db_object_get(f->db, hex, &b));
    cr_assert_eq(b.len, 5 + sizeof data);
    cr_assert_eq(memcmp(b.data, "head:", 5), 0);
    cr_assert_eq(memcmp(b.data + 5, data, sizeof data), 0);
    gy_buf_free(&b);
}

DB_TEST(object_put_is_idempotent)
{
    char hex1[GY_SHA256_HEX_LEN + 1], hex2[GY_SHA256_HEX_LEN + 1], path[1024], dir[1024];
    struct stat st1, st2;
    DIR *d;
    struct dirent *e;
    int files = 0;

    OK(gy_db_object_put(f->db, "same bytes", 10, hex1));
    OK(gy_db_object_path(f->db, hex1, path, sizeof path));
    cr_assert_eq(stat(path, &st1), 0);
    OK(gy_db_object_put(f->db, "same bytes", 10, hex2));
    cr_assert_str_eq(hex1, hex2);
    cr_assert_eq(stat(path, &st2), 0);
    cr_assert_eq(st1.st_ino, st2.st_ino, "an existing object was rewritten");

    /* Nothing but the object is left in its directory (no temporary files). */
    snprintf(dir, sizeof dir, "%s/objects/%.2s", f->home, hex1);
    d = opendir(dir);
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            files++;
    closedir(d);
    cr_assert_eq(files, 1);
}

DB_TEST(object_empty)
{
    char hex[GY_SHA256_HEX_LEN + 1];
    struct gy_buf b;
    OK(gy_db_object_put(f->db, NULL, 0, hex));
    cr_assert_str_eq(hex, empty_sha);
    gy_buf_init(&b, 16);
    OK(gy_db_object_get(f->db, hex, &b));
    cr_assert_eq(b.len, 0);
    gy_buf_free(&b);
}

DB_TEST(object_tampered_is_corrupt)
{
    char hex[GY_SHA256_HEX_LEN + 1], path[1024];
    struct gy_buf b;
    OK(gy_db_object_put(f->db, "original content", 16, hex));
    OK(gy_db_object_path(f->db, hex, path, sizeof path));

    /* Same size, different bytes. */
    overwrite(path, "tampered content", 16);
    gy_buf_init(&b, 1 << 20);
    OK(gy_buf_puts(&b, "keep"));
    cr_assert_eq(gy_db_object_get(f->db, hex, &b), GY_E_CORRUPT);
    cr_assert(strstr(gy_error_msg(), "failed its checksum"), "%s", gy_error_msg());
    cr_assert(strstr(gy_error_msg(), hex), "%s", gy_error_msg());
    cr_assert_eq(b.len, 4, "the buffer kept the bad bytes");
    cr_assert_str_eq(b.data, "keep");

    /* Truncated. */
    overwrite(path, "orig", 4);
    cr_assert_eq(gy_db_object_get(f->db, hex, &b), GY_E_CORRUPT);
    cr_assert_eq(b.len, 4);

    /* A put of the true content repairs an object whose size is wrong. */
    OK(gy_db_object_put(f->db, "original content", 16, hex));
    OK(gy_db_object_get(f->db, hex, &b));
    cr_assert_str_eq(b.data, "keeporiginal content");
    gy_buf_free(&b);
}

DB_TEST(object_bad_names)
{
    const char *bad[] = {
        "",
        "../../../../etc/passwd",
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8/5",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
    };
    char path[1024];
    struct gy_buf b;
    char hex[GY_SHA256_HEX_LEN + 1];
    OK(gy_db_object_put(f->db, "", 0, hex));
    gy_buf_init(&b, 1024);
    for (size_t i = 0; i < GY_ARRAY_LEN(bad); i++) {
        cr_assert_eq(gy_db_object_get(f->db, bad[i], &b), GY_E_INVALID, "%s", bad[i]);
        cr_assert_eq(gy_db_object_path(f->db, bad[i], path, sizeof path), GY_E_INVALID);
        cr_assert_not(gy_db_object_exists(f->db, bad[i]));
    }
    cr_assert_eq(gy_db_object_get(f->db, NULL, &b), GY_E_INVALID);
    cr_assert_not(gy_db_object_exists(f->db, NULL));
    cr_assert_eq(b.len, 0);
    gy_buf_free(&b);
}

DB_TEST(object_missing_is_not_found)
{
    struct gy_buf b;
    const char *hex = "0000000000000000000000000000000000000000000000000000000000000000";
    gy_buf_init(&b, 1024);
    cr_assert_eq(gy_db_object_get(f->db, hex, &b), GY_NOT_FOUND);
    cr_assert_not(gy_db_object_exists(f->db, hex));
    cr_assert_eq(b.len, 0);
    gy_buf_free(&b);
}

DB_TEST(object_get_respects_the_buffer_cap)
{
    static unsigned char data[5000];
    char hex[GY_SHA256_HEX_LEN + 1];
    struct gy_buf b;
    fill(data, sizeof data);
    OK(gy_db_object_put(f->db, data, sizeof data, hex));
    gy_buf_init(&b, 4999);
    cr_assert_eq(gy_db_object_get(f->db, hex, &b), GY_E_TOO_LARGE);
    cr_assert_eq(b.len, 0);
    gy_buf_free(&b);
    /* Exactly at the cap is fine. */
    gy_buf_init(&b, 5000);
    OK(gy_db_object_get(f->db, hex, &b));
    cr_assert_eq(b.len, 5000);
    gy_buf_free(&b);
}
