/* SPDX-License-Identifier: MIT */
/*
 * test_base.c - unit tests for src/base: error text, allocation accounting and failure
 * injection, arenas, capped buffers, JSON parsing limits, SHA-256, atomic writes, the thread
 * pool and the small string helpers.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

Test(status, names_and_error_text)
{
    cr_assert_str_eq(gy_status_str(GY_OK), "ok");
    cr_assert_str_eq(gy_status_str(GY_E_BUSY), "busy, retry");
    cr_assert_str_eq(gy_status_str((enum gy_status)999), "unknown status");
    gy_error_clear();
    cr_assert_str_eq(gy_error_msg(), "");
    cr_assert_eq(gy_error_set(GY_E_INVALID, "%s:%d: bad", "f.csv", 3), GY_E_INVALID);
    cr_assert_str_eq(gy_error_msg(), "f.csv:3: bad");
    cr_assert_eq(gy_error_wrap(GY_E_INVALID, "ingest"), GY_E_INVALID);
    cr_assert_str_eq(gy_error_msg(), "ingest: f.csv:3: bad");
    cr_assert_eq(gy_error_set(GY_E_INVALID, "%s: %s", "again", gy_error_msg()), GY_E_INVALID);
    cr_assert_str_eq(gy_error_msg(), "again: ingest: f.csv:3: bad", "own text as an argument");
}

Test(alloc, accounting_and_failure_injection)
{
    int64_t before = gy_alloc_bytes();
    char *p = gy_malloc(1000);
    cr_assert_not_null(p);
    cr_assert_eq(gy_alloc_bytes() - before, 1000);
    p = gy_realloc(p, 3000);
    cr_assert_eq(gy_alloc_bytes() - before, 3000);
    gy_free(p);
    cr_assert_eq(gy_alloc_bytes(), before);
    gy_alloc_fail_after(2);
    p = gy_malloc(8);
    cr_assert_not_null(p);
    cr_assert_null(gy_malloc(8), "the second allocation must fail");
    char *q = gy_malloc(8);
    cr_assert_not_null(q, "only one allocation fails");
    gy_free(p);
    gy_free(q);
    cr_assert_null(gy_calloc(SIZE_MAX / 2, 4), "overflowing calloc is refused");
    gy_free(NULL);
}

Test(arena, alloc_align_large)
{
    int64_t before = gy_alloc_bytes();
    struct gy_arena *a = gy_arena_create(256);
    cr_assert_not_null(a);
    for (int i = 0; i < 1000; i++) {
        char *p = gy_arena_alloc(a, (size_t)(i % 37) + 1);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    char *small = gy_arena_alloc(a, 8);
    char *big = gy_arena_alloc(a, 100000);
    char *after = gy_arena_alloc(a, 8);
    cr_assert_not_null(big);
    memset(big, 1, 100000);
    cr_assert(after > small && after - small < 256, "a large block keeps the current block in use");
    cr_assert_str_eq(gy_arena_strdup(a, "hello"), "hello");
    cr_assert_str_eq(gy_arena_strndup(a, "hello", 3), "hel");
    gy_arena_free(a);
    gy_arena_free(NULL);
    cr_assert_eq(gy_alloc_bytes(), before);
}

static int cleanup_order[4];
static int cleanup_n;
static void record_cleanup(void *arg)
{
    cleanup_order[cleanup_n++] = (int)(intptr_t)arg;
}

Test(arena, cleanups_run_last_first)
{
    int64_t before = gy_alloc_bytes();
    struct gy_arena *a = gy_arena_create(64);
    cleanup_n = 0;
    cr_assert_eq(gy_arena_cleanup_add(a, record_cleanup, (void *)(intptr_t)1), GY_OK);
    cr_assert_eq(gy_arena_cleanup_add(a, record_cleanup, (void *)(intptr_t)2), GY_OK);
    gy_arena_free(a);
    cr_assert_eq(cleanup_n, 2);
    cr_assert_eq(cleanup_order[0], 2);
    cr_assert_eq(cleanup_order[1], 1);
    cr_assert_eq(gy_alloc_bytes(), before, "arena memory is all returned");
}

Test(buf, grows_to_cap_and_refuses_beyond)
{
    struct gy_buf b;
    gy_buf_init(&b, 100);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(gy_buf_puts(&b, "0123456789"), GY_OK);
    cr_assert_eq(b.len, 100);
    cr_assert_eq(b.data[100], '\0');
    cr_assert_eq(gy_buf_putc(&b, 'x'), GY_E_TOO_LARGE);
    cr_assert_eq(b.len, 100, "a refused append changes nothing");
    gy_buf_reset(&b);
    cr_assert_eq(gy_buf_printf(&b, "%d-%s", 42, "x"), GY_OK);
    cr_assert_str_eq(b.data, "42-x");
    cr_assert_eq(gy_buf_append(&b, "y", SIZE_MAX), GY_E_TOO_LARGE);
    size_t n;
    char *d = gy_buf_detach(&b, &n);
    cr_assert_str_eq(d, "42-x");
    cr_assert_eq(n, 4);
    cr_assert_null(b.data);
    gy_free(d);
    gy_buf_free(&b);
}

Test(json, parses_and_limits_depth)
{
    json_t *j = NULL;
    const char *ok = "{\"a\": [1, 2, {\"b\": \"x]\"}], \"n\": 2.5}";
    cr_assert_eq(gy_json_parse(ok, strlen(ok), 8, "body", &j), GY_OK);
    cr_assert_eq(gy_json_int(json_array_get(json_object_get(j, "a"), 1), "zz", 7), 7);
    cr_assert_eq(gy_json_num(j, "n", 0), 2.5);
    cr_assert_str_eq(gy_json_str(j, "missing", "def"), "def");
    json_decref(j);

    char deep[300];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 100);
    cr_assert_eq(gy_json_parse(deep, 300, 64, "body", &j), GY_E_INVALID);
    cr_assert_null(j);
    cr_assert(strstr(gy_error_msg(), "nesting deeper than 64") != NULL, "%s", gy_error_msg());
    cr_assert(strstr(gy_error_msg(), "column 65") != NULL, "%s", gy_error_msg());

    const char *bad = "{\"a\": 1,\n \"b\": }";
    cr_assert_eq(gy_json_parse(bad, strlen(bad), 8, "body", &j), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "body: line 2") != NULL, "%s", gy_error_msg());
    const char *dup = "{\"a\": 1, \"a\": 2}";
    cr_assert_eq(gy_json_parse(dup, strlen(dup), 8, "body", &j), GY_E_INVALID);
    const char *trail = "{} x";
    cr_assert_eq(gy_json_parse(trail, strlen(trail), 8, "body", &j), GY_E_INVALID);
    const char badutf[] = "\"\xff\"";
    cr_assert_eq(gy_json_parse(badutf, 3, 8, "body", &j), GY_E_INVALID);

    struct gy_buf b;
    gy_buf_init(&b, 1024);
    json_t *o = json_object();
    gy_json_set(o, "x", gy_json_real(0.1));
    gy_json_set(o, "nan", gy_json_real(0.0 / 0.0));
    cr_assert_eq(gy_json_dump(o, &b), GY_OK);
    cr_assert_str_eq(b.data, "{\"x\":0.10000000000000001,\"nan\":null}");
    json_decref(o);
    gy_buf_free(&b);
}

Test(hash, sha256_known_vectors)
{
    char hex[65];
    gy_sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    struct gy_sha256 h;
    uint8_t d[32];
    gy_sha256_init(&h);
    gy_sha256_update(&h, "a", 1);
    gy_sha256_update(&h, "bc", 2);
    gy_sha256_final(&h, d);
    gy_hex_encode(d, 32, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert(gy_is_sha256_hex(hex));
    cr_assert(!gy_is_sha256_hex("../etc/passwd"));
    hex[10] = 'G';
    cr_assert(!gy_is_sha256_hex(hex));
    cr_assert_eq(gy_hash64("abc", 3, 1), gy_hash64("abc", 3, 1));
    cr_assert_neq(gy_hash64("abc", 3, 1), gy_hash64("abd", 3, 1));
    cr_assert_neq(gy_hash64("abc", 3, 1), gy_hash64("abc", 3, 2));
}

Test(files, atomic_write_read_mkdir)
{
    char dir[] = "/tmp/gyre-base-XXXXXX";
    char path[256], sub[256];
    struct gy_buf b;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    cr_assert_eq(gy_mkdir_p(sub), GY_OK);
    cr_assert_eq(gy_mkdir_p(sub), GY_OK, "an existing directory is fine");
    snprintf(path, sizeof path, "%s/f.txt", sub);
    cr_assert_eq(gy_file_write_atomic(path, "one", 3), GY_OK);
    cr_assert_eq(gy_file_write_atomic(path, "second", 6), GY_OK);
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(gy_file_read(path, &b), GY_OK);
    cr_assert_str_eq(b.data, "second");
    gy_buf_free(&b);
    gy_buf_init(&b, 3);
    cr_assert_eq(gy_file_read(path, &b), GY_E_TOO_LARGE);
    gy_buf_free(&b);
    snprintf(path, sizeof path, "%s/missing", dir);
    gy_buf_init(&b, 100);
    cr_assert_eq(gy_file_read(path, &b), GY_NOT_FOUND);
    gy_buf_free(&b);
    snprintf(path, sizeof path, "%s/nodir/f", dir);
    cr_assert_eq(gy_file_write_atomic(path, "x", 1), GY_NOT_FOUND);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* A FIFO stands for /dev/null and /dev/stdout: written in place, never replaced by a file. */
Test(files, atomic_write_to_a_fifo_keeps_the_fifo)
{
    char dir[] = "/tmp/gyre-base-XXXXXX";
    char path[256], got[16] = "";
    struct stat st;
    int fd;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/pipe", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    fd = open(path, O_RDONLY | O_NONBLOCK); /* a reader, so the writer's open succeeds */
    cr_assert(fd >= 0);
    cr_assert_eq(gy_file_write_atomic(path, "hello", 5), GY_OK);
    cr_assert_eq(read(fd, got, sizeof got - 1), 5);
    cr_assert_str_eq(got, "hello");
    close(fd);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode), "the FIFO must not be replaced by a regular file");
    cr_assert_eq(gy_file_write_atomic(dir, "x", 1), GY_E_INVALID, "a directory is refused");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static atomic_int pool_sum;
static void add_job(void *arg)
{
    atomic_fetch_add(&pool_sum, (int)(intptr_t)arg);
}

Test(pool, runs_every_job)
{
    struct gy_pool *p;
    cr_assert_eq(gy_pool_create(3, &p), GY_OK);
    cr_assert_eq(gy_pool_size(p), 3);
    atomic_store(&pool_sum, 0);
    for (int i = 1; i <= 1000; i++)
        cr_assert_eq(gy_pool_submit(p, add_job, (void *)(intptr_t)i), GY_OK);
    gy_pool_wait(p);
    cr_assert_eq(atomic_load(&pool_sum), 500500);
    for (int i = 1; i <= 10; i++)
        gy_pool_submit(p, add_job, (void *)(intptr_t)1);
    gy_pool_free(p); /* finishes queued jobs before joining */
    cr_assert_eq(atomic_load(&pool_sum), 500510);
    gy_pool_free(NULL);
}

Test(str, parse_int64_and_snprintf)
{
    int64_t v;
    cr_assert_eq(gy_parse_int64("-9223372036854775808", &v), GY_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(gy_parse_int64("9223372036854775808", &v), GY_E_INVALID);
    cr_assert_eq(gy_parse_int64("12x", &v), GY_E_INVALID);
    cr_assert_eq(gy_parse_int64("", &v), GY_E_INVALID);
    cr_assert_eq(gy_parse_int64(" 1", &v), GY_E_INVALID);
    char small[4];
    cr_assert_eq(gy_snprintf(small, sizeof small, "%s", "abc"), GY_OK);
    cr_assert_eq(gy_snprintf(small, sizeof small, "%s", "abcd"), GY_E_TOO_LARGE);
}

Test(time, rfc3339_format)
{
    char ts[32];
    gy_time_format(0, ts);
    cr_assert_str_eq(ts, "1970-01-01T00:00:00.000000Z");
    gy_time_format(951782400123456LL, ts);
    cr_assert_str_eq(ts, "2000-02-29T00:00:00.123456Z");
    gy_time_format(-1, ts);
    cr_assert_str_eq(ts, "1969-12-31T23:59:59.999999Z");
    int64_t a = gy_time_mono_ns(), b = gy_time_mono_ns();
    cr_assert(b >= a);
    cr_assert(gy_time_wall_us() > 1600000000000000LL);
}

#include <sodium.h>

/* The SHA-NI path (used on CPUs that have it) must agree with libsodium on every length and
 * every way of splitting the input across updates. */
Test(hash, sha256_agrees_with_libsodium)
{
    static uint8_t data[5000];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        data[i] = (uint8_t)(x >> 56);
    }
    for (size_t len = 0; len < sizeof data; len += (len < 200 ? 1 : 97)) {
        uint8_t want[32], got[32];
        struct gy_sha256 h;
        crypto_hash_sha256(want, data, len);
        gy_sha256_init(&h);
        size_t at = 0, step = 1 + len % 71;
        while (at < len) {
            size_t n = len - at < step ? len - at : step;
            gy_sha256_update(&h, data + at, n);
            at += n;
            step = step * 3 % 131 + 1;
        }
        gy_sha256_final(&h, got);
        cr_assert_arr_eq(got, want, 32, "length %zu", len);
    }
}
