/* SPDX-License-Identifier: MIT */
/*
 * test_query.c - unit tests for the pure helpers of src/http: %-decoding (bad escapes, '+',
 * escaped NUL), query-string parsing (repeated keys, empty pieces, keys without '='), the
 * request accessors (case-insensitive headers, query lists, body, JSON body with its depth
 * limit), request ids (unique across threads), header tokens, the gy_status -> HTTP status
 * table, and the response helpers (JSON, bytes, errors, header validation, Retry-After on
 * 503).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_int.h"

static char *decode(struct gy_arena *a, const char *s, int plus, enum gy_status *rc)
{
    char *out = NULL;
    *rc = gy__http_pct_decode(a, s, strlen(s), plus, &out, NULL);
    return out;
}

Test(decode, escapes_plus_and_errors)
{
    struct gy_arena *a = gy_arena_create(1024);
    enum gy_status rc;
    size_t len;
    char *out;
    cr_assert_str_eq(decode(a, "a%20b%2Fc%2fd", 0, &rc), "a b/c/d");
    cr_assert_eq(rc, GY_OK);
    cr_assert_str_eq(decode(a, "x+y", 0, &rc), "x+y");
    cr_assert_str_eq(decode(a, "x+y%2B", 1, &rc), "x y+");
    cr_assert_str_eq(decode(a, "", 1, &rc), "");
    cr_assert_str_eq(decode(a, "%C3%A9", 0, &rc), "\xc3\xa9");
    cr_assert_null(decode(a, "abc%", 0, &rc));
    cr_assert_eq(rc, GY_E_INVALID);
    cr_assert_null(decode(a, "abc%4", 0, &rc));
    cr_assert_eq(rc, GY_E_INVALID);
    cr_assert_null(decode(a, "%g0", 0, &rc));
    cr_assert_eq(rc, GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "%g0"), "%s", gy_error_msg());
    cr_assert_null(decode(a, "a%00b", 1, &rc));
    cr_assert_eq(rc, GY_E_INVALID);
    /* Only n bytes are read. */
    cr_assert_eq(gy__http_pct_decode(a, "ab%41zz", 5, 0, &out, &len), GY_OK);
    cr_assert_str_eq(out, "abA");
    cr_assert_eq(len, 3);
    gy_arena_free(a);
}

Test(query, parse_in_order_with_repeats)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy__http_kvlist l = {0};
    cr_assert_eq(gy__http_query_parse(a, "a=1&b=x+y&&a=%32&flag&c=&=v&d=e=f", &l), GY_OK);
    cr_assert_eq(l.n, 7);
    cr_assert_str_eq(l.v[0].key, "a");
    cr_assert_str_eq(l.v[0].val, "1");
    cr_assert_str_eq(l.v[1].val, "x y");
    cr_assert_str_eq(l.v[2].key, "a");
    cr_assert_str_eq(l.v[2].val, "2");
    cr_assert_str_eq(l.v[3].key, "flag");
    cr_assert_str_eq(l.v[3].val, "");
    cr_assert_str_eq(l.v[4].key, "c");
    cr_assert_str_eq(l.v[4].val, "");
    cr_assert_str_eq(l.v[5].key, "");
    cr_assert_str_eq(l.v[5].val, "v");
    cr_assert_str_eq(l.v[6].key, "d");
    cr_assert_str_eq(l.v[6].val, "e=f");
    cr_assert_str_eq(gy__http_kv_find(&l, "a", 0), "1");
    cr_assert_null(gy__http_kv_find(&l, "A", 0));
    gy_arena_free(a);
}

Test(query, bad_escape_names_the_parameter)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy__http_kvlist l = {0};
    cr_assert_eq(gy__http_query_parse(a, "ok=1&filter=a%zzb", &l), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "query parameter \"filter\""), "%s", gy_error_msg());
    l = (struct gy__http_kvlist){0};
    cr_assert_eq(gy__http_query_parse(a, "k%=1", &l), GY_E_INVALID);
    l = (struct gy__http_kvlist){0};
    cr_assert_eq(gy__http_query_parse(a, "k=%00", &l), GY_E_INVALID);
    gy_arena_free(a);
}

/* A request as the server would have prepared it, without a server. */
static struct gy_http_req *fake_req(struct gy_arena *a)
{
    struct gy_http_req *req = gy_arena_alloc(a, sizeof *req);
    gy__http_req_init(req, a);
    cr_assert_eq(gy__http_kv_add(a, &req->headers, "Content-Type", "application/json"), GY_OK);
    cr_assert_eq(gy__http_kv_add(a, &req->headers, "X-Trace", "one"), GY_OK);
    cr_assert_eq(gy__http_kv_add(a, &req->headers, "x-trace", "two"), GY_OK);
    cr_assert_eq(gy__http_query_parse(a, "run_id=r1&tag=a&tag=b+c&max=10", &req->query), GY_OK);
    return req;
}

Test(request, headers_are_case_insensitive)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_req *req = fake_req(a);
    cr_assert_str_eq(gy_http_req_header(req, "content-type"), "application/json");
    cr_assert_str_eq(gy_http_req_header(req, "CONTENT-TYPE"), "application/json");
    cr_assert_str_eq(gy_http_req_header(req, "X-TRACE"), "one");
    cr_assert_null(gy_http_req_header(req, "Content-Length"));
    gy_arena_free(a);
}

Test(request, query_values_and_lists)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_req *req = fake_req(a);
    const char *const *vals;
    const char *k, *v;
    size_t n;
    cr_assert_str_eq(gy_http_req_query(req, "run_id"), "r1");
    cr_assert_str_eq(gy_http_req_query(req, "tag"), "a");
    cr_assert_null(gy_http_req_query(req, "missing"));
    cr_assert_eq(gy_http_req_query_list(req, "tag", &vals, &n), GY_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(vals[0], "a");
    cr_assert_str_eq(vals[1], "b c");
    cr_assert_eq(gy_http_req_query_list(req, "missing", &vals, &n), GY_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(vals);
    cr_assert_eq(gy_http_req_query_count(req), 4);
    gy_http_req_query_at(req, 3, &k, &v);
    cr_assert_str_eq(k, "max");
    cr_assert_str_eq(v, "10");
    gy_http_req_query_at(req, 4, &k, &v);
    cr_assert_null(k);
    gy_arena_free(a);
}

static void set_body(struct gy_http_req *req, const char *text)
{
    gy_buf_init(&req->body, 1 << 20);
    cr_assert_eq(gy_buf_append(&req->body, text, strlen(text)), GY_OK);
    req->body_len = strlen(text);
}

Test(request, json_body)
{
    int64_t before = gy_alloc_bytes();
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_req *req = fake_req(a);
    json_t *j, *j2;
    size_t len;

    cr_assert_str_eq(gy_http_req_body(req, &len), "");
    cr_assert_eq(len, 0);
    cr_assert_eq(gy_http_req_json(req, &j), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "empty"), "%s", gy_error_msg());

    set_body(req, "{\"experiment_id\": \"1\", \"n\": [1, 2]}");
    cr_assert_str_eq(gy_http_req_body(req, &len), "{\"experiment_id\": \"1\", \"n\": [1, 2]}");
    cr_assert_eq(gy_http_req_json(req, &j), GY_OK);
    cr_assert_str_eq(gy_json_str(j, "experiment_id", ""), "1");
    cr_assert_eq(gy_http_req_json(req, &j2), GY_OK);
    cr_assert_eq(j, j2, "parsed once, then the same borrowed object");
    gy_buf_free(&req->body);
    gy_arena_free(a); /* releases the JSON through the cleanup hook */
    cr_assert_eq(gy_alloc_bytes(), before);
}

Test(request, json_errors_and_depth)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_req *req = fake_req(a);
    char deep[200];
    json_t *j;

    set_body(req, "{\"a\": }");
    cr_assert_eq(gy_http_req_json(req, &j), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "request body: line 1, column"), "%s", gy_error_msg());
    cr_assert_null(j);
    gy_buf_free(&req->body);

    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    set_body(req, deep);
    cr_assert_eq(gy_http_req_json(req, &j), GY_E_INVALID, "65 levels is past the limit of 64");
    gy_buf_free(&req->body);

    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    set_body(req, deep);
    cr_assert_eq(gy_http_req_json(req, &j), GY_OK, "%s", gy_error_msg());
    gy_buf_free(&req->body);
    gy_arena_free(a);
}

Test(request, spooled_body_fd)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_req *req = fake_req(a);
    int fd;
    uint64_t len;
    json_t *j;
    cr_assert_eq(gy_http_req_body_fd(req, &fd, &len), GY_NOT_FOUND);
    cr_assert_eq(fd, -1);
    req->body_fd = open("/dev/null", O_RDONLY);
    req->body_len = 0;
    cr_assert_eq(gy_http_req_body_fd(req, &fd, &len), GY_OK);
    cr_assert_eq(fd, req->body_fd);
    cr_assert_eq(gy_http_req_json(req, &j), GY_E_UNSUPPORTED);
    close(req->body_fd);
    gy_arena_free(a);
}

Test(ids, request_ids)
{
    char id[33], id2[33];
    cr_assert(gy__http_request_id_ok("abc-123_x.y:z"));
    cr_assert_not(gy__http_request_id_ok(""));
    cr_assert_not(gy__http_request_id_ok(NULL));
    cr_assert_not(gy__http_request_id_ok("has space"));
    cr_assert_not(gy__http_request_id_ok("quote\""));
    cr_assert_not(gy__http_request_id_ok("new\nline"));
    {
        char longid[130];
        memset(longid, 'a', 129);
        longid[129] = '\0';
        cr_assert_not(gy__http_request_id_ok(longid));
        longid[128] = '\0';
        cr_assert(gy__http_request_id_ok(longid));
    }
    gy__http_request_id_new(id);
    gy__http_request_id_new(id2);
    cr_assert_eq(strlen(id), 32);
    cr_assert(gy__http_request_id_ok(id));
    cr_assert_str_neq(id, id2);
}

#define IDS_PER_THREAD 20000
static char thread_ids[4][IDS_PER_THREAD][33];

static void *make_ids(void *p)
{
    char(*out)[33] = p;
    for (int i = 0; i < IDS_PER_THREAD; i++)
        gy__http_request_id_new(out[i]);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

Test(ids, unique_across_threads)
{
    pthread_t t[4];
    char(*all)[33] = (char(*)[33])thread_ids;
    size_t n = 4 * IDS_PER_THREAD;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, make_ids, thread_ids[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (size_t i = 0; i < n; i++)
        cr_assert(strlen(all[i]) == 32 && gy__http_request_id_ok(all[i]), "%s", all[i]);
    qsort(all, n, sizeof *all, cmp_id);
    for (size_t i = 1; i < n; i++)
        cr_assert_str_neq(all[i - 1], all[i], "id %s repeats", all[i]);
}

Test(ids, header_tokens)
{
    cr_assert(gy__http_token_ok("Retry-After"));
    cr_assert(gy__http_token_ok("x-a.b_c~"));
    cr_assert_not(gy__http_token_ok(""));
    cr_assert_not(gy__http_token_ok("Bad Name"));
    cr_assert_not(gy__http_token_ok("a:b"));
    cr_assert_not(gy__http_token_ok("a\r\nb"));
}

Test(status, mapping_table)
{
    cr_assert_eq(gy_http_status_from(GY_OK), 200);
    cr_assert_eq(gy_http_status_from(GY_E_INVALID), 400);
    cr_assert_eq(gy_http_status_from(GY_E_SCHEMA), 400);
    cr_assert_eq(gy_http_status_from(GY_E_UNSUPPORTED), 400);
    cr_assert_eq(gy_http_status_from(GY_E_PERM), 403);
    cr_assert_eq(gy_http_status_from(GY_NOT_FOUND), 404);
    cr_assert_eq(gy_http_status_from(GY_DECLINED), 404);
    cr_assert_eq(gy_http_status_from(GY_E_EXISTS), 409);
    cr_assert_eq(gy_http_status_from(GY_E_CONFLICT), 409);
    cr_assert_eq(gy_http_status_from(GY_E_TOO_LARGE), 413);
    cr_assert_eq(gy_http_status_from(GY_E_BUSY), 503);
    cr_assert_eq(gy_http_status_from(GY_AGAIN), 503);
    cr_assert_eq(gy_http_status_from(GY_E_DB), 500);
    cr_assert_eq(gy_http_status_from(GY_E_CORRUPT), 500);
    cr_assert_eq(gy_http_status_from(GY_E_NOMEM), 500);
    cr_assert_eq(gy_http_status_from((enum gy_status)999), 500);
    cr_assert_str_eq(gy_http_reason(404), "Not Found");
    cr_assert_str_eq(gy_http_reason(431), "Request Header Fields Too Large");
    cr_assert_str_eq(gy_http_reason(299), "Unknown");
}

static struct gy_http_resp *fake_resp(struct gy_arena *a)
{
    struct gy_http_resp *resp = gy_arena_alloc(a, sizeof *resp);
    gy__http_resp_init(resp, a);
    return resp;
}

Test(response, json_and_bytes)
{
    int64_t before = gy_alloc_bytes();
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_resp *resp = fake_resp(a);
    char *taken;

    cr_assert_not(gy_http_resp_is_set(resp));
    cr_assert_eq(gy_http_resp_json(resp, 201, json_pack("{s:i}", "n", 3)), GY_OK);
    cr_assert(gy_http_resp_is_set(resp));
    cr_assert_eq(resp->status, 201);
    cr_assert_str_eq(resp->content_type, "application/json");
    cr_assert_eq(resp->len, strlen("{\"n\":3}"));
    cr_assert_eq(memcmp(resp->data, "{\"n\":3}", resp->len), 0);
    cr_assert_eq(gy_http_resp_json(resp, 200, NULL), GY_E_NOMEM);
    cr_assert_eq(gy_http_resp_json(resp, 99, json_object()), GY_E_INVALID);

    cr_assert_eq(gy_http_resp_bytes(resp, 200, "text/plain", "hello", 5, GY_HTTP_COPY), GY_OK);
    cr_assert_eq(resp->len, 5);
    cr_assert_str_eq(resp->content_type, "text/plain");
    taken = gy_strdup("taken");
    cr_assert_eq(gy_http_resp_bytes(resp, 200, NULL, taken, 5, GY_HTTP_TAKE), GY_OK);
    cr_assert_eq(resp->data, taken);
    cr_assert_str_eq(resp->content_type, "application/octet-stream");
    cr_assert_eq(gy_http_resp_bytes(resp, 200, "a\r\nb", "x", 1, GY_HTTP_STATIC), GY_E_INVALID);
    gy_arena_free(a);
    cr_assert_eq(gy_alloc_bytes(), before, "taken buffer and JSON text released");
}

Test(response, errors_and_headers)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_resp *resp = fake_resp(a);
    char body[256];

    cr_assert_eq(gy_http_resp_error(resp, 404, "no dataset named \"%s\"", "tx"), GY_OK);
    cr_assert_eq(resp->status, 404);
    snprintf(body, sizeof body, "%.*s", (int)resp->len, resp->data);
    cr_assert_str_eq(body, "{\"error\":\"no dataset named \\\"tx\\\"\"}");

    gy_error_set(GY_E_BUSY, "store is locked");
    cr_assert_eq(gy_http_resp_status(resp, GY_E_BUSY), GY_E_BUSY);
    cr_assert_eq(resp->status, 503);
    snprintf(body, sizeof body, "%.*s", (int)resp->len, resp->data);
    cr_assert_str_eq(body, "{\"error\":\"store is locked\"}");
    cr_assert_str_eq(gy__http_kv_find(&resp->headers, "retry-after", 1), "1");

    /* Invalid UTF-8 in a message still gives valid JSON. */
    cr_assert_eq(gy_http_resp_error(resp, 400, "bad name \"%s\"", "a\xff\xfe"), GY_OK);
    snprintf(body, sizeof body, "%.*s", (int)resp->len, resp->data);
    cr_assert_str_eq(body, "{\"error\":\"bad name \\\"a??\\\"\"}");

    gy_error_clear();
    cr_assert_eq(gy_http_resp_status(resp, GY_NOT_FOUND), GY_NOT_FOUND);
    snprintf(body, sizeof body, "%.*s", (int)resp->len, resp->data);
    cr_assert_str_eq(body, "{\"error\":\"not found\"}");

    cr_assert_eq(gy_http_resp_header(resp, "X-Thing", "v1"), GY_OK);
    cr_assert_str_eq(gy__http_kv_find(&resp->headers, "x-thing", 1), "v1");
    cr_assert_eq(gy_http_resp_header(resp, "Bad Name", "v"), GY_E_INVALID);
    cr_assert_eq(gy_http_resp_header(resp, "X-Inject", "a\r\nSet-Cookie: x"), GY_E_INVALID);
    cr_assert_eq(gy_http_resp_header(resp, "Content-Length", "5"), GY_E_INVALID);
    gy_arena_free(a);
}

Test(response, file_is_closed_when_not_sent)
{
    struct gy_arena *a = gy_arena_create(1024);
    struct gy_http_resp *resp = fake_resp(a);
    int fd = open("/dev/null", O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(gy_http_resp_file(resp, 200, "application/octet-stream", fd, 0, 0), GY_OK);
    cr_assert_eq(resp->fd, fd);
    gy_arena_free(a);
    cr_assert_eq(fcntl(fd, F_GETFD), -1, "the arena's cleanup closed the file");
}
