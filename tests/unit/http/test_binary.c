/* SPDX-License-Identifier: MIT */
/*
 * test_binary.c - binary bodies as the V2 binary tensor extension sends them: a JSON header
 * followed by raw little-endian tensor bytes (NULs included), Content-Type
 * application/octet-stream and Inference-Header-Content-Length. The handler must see every
 * byte (with a Content-Length and chunked), and a binary response with custom headers must
 * reach the client byte for byte.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "http/http.h"

#include "client.h"

#define MUST(x) ((x) ? (void)0 : (fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x), abort()))

static const char json_head[] =
    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\","
    "\"parameters\":{\"binary_data_size\":16}}]}";

/* 4 floats whose bytes include NULs: 0.0, 1.0, -2.0, 0.5 (little endian). */
static const unsigned char tensor[16] = {0, 0, 0, 0,    0, 0, 0x80, 0x3f,
                                         0, 0, 0, 0xc0, 0, 0, 0,    0x3f};

/*
 * Checks the body is json_head + tensor and answers a binary body: a JSON header, then the
 * tensor bytes reversed, with Inference-Header-Content-Length naming the JSON part.
 */
static enum gy_status h_infer(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    static const char out_head[] = "{\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\","
                                   "\"parameters\":{\"binary_data_size\":16}}]}";
    const char *ihcl = gy_http_req_header(req, "Inference-Header-Content-Length");
    const char *ct = gy_http_req_header(req, "Content-Type");
    size_t len, hl = sizeof json_head - 1;
    const char *body = gy_http_req_body(req, &len);
    struct gy_arena *a = gy_http_req_arena(req);
    unsigned char *out;
    char n[16];
    int64_t v;
    json_t *j;
    GY_UNUSED(ctx);
    MUST(ct && strcmp(ct, "application/octet-stream") == 0);
    MUST(ihcl && gy_parse_int64(ihcl, &v) == GY_OK && (size_t)v == hl);
    MUST(len == hl + sizeof tensor);
    MUST(memcmp(body, json_head, hl) == 0);
    MUST(memcmp(body + hl, tensor, sizeof tensor) == 0);
    MUST(body[len] == '\0'); /* the terminator past the end is still there */
    MUST(gy_json_parse(body, hl, 64, "inference header", &j) == GY_OK);
    json_decref(j);
    out = gy_arena_alloc(a, sizeof out_head - 1 + sizeof tensor);
    MUST(out != NULL);
    memcpy(out, out_head, sizeof out_head - 1);
    for (size_t i = 0; i < sizeof tensor; i++)
        out[sizeof out_head - 1 + i] = tensor[sizeof tensor - 1 - i];
    snprintf(n, sizeof n, "%zu", sizeof out_head - 1);
    MUST(gy_http_resp_header(resp, "Inference-Header-Content-Length", n) == GY_OK);
    return gy_http_resp_bytes(resp, 200, "application/octet-stream", out,
                              sizeof out_head - 1 + sizeof tensor, GY_HTTP_ARENA);
}

static const struct gy_http_route routes[] = {
    {"POST", "/v2/models/m/infer", h_infer, 0, NULL, "binary infer", 0},
};

static struct gy_http_server *start(void)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv;
    gy_http_config_init(&cfg);
    cfg.port = 0;
    cfg.threads = 2;
    cfg.access_log = GY_HTTP_LOG_OFF;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_add_routes(srv, routes, GY_ARRAY_LEN(routes), NULL), GY_OK);
    cr_assert_eq(gy_http_server_start(srv), GY_OK, "%s", gy_error_msg());
    return srv;
}

static void check_reply(const struct cl_resp *r)
{
    static const char out_head[] = "{\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\","
                                   "\"parameters\":{\"binary_data_size\":16}}]}";
    char h[64], want[16];
    size_t hl = sizeof out_head - 1;
    cr_assert_eq(r->status, 200, "%s", r->head);
    cr_assert_str_eq(cl_header(r, "Content-Type", h, sizeof h), "application/octet-stream");
    snprintf(want, sizeof want, "%zu", hl);
    cr_assert_str_eq(cl_header(r, "Inference-Header-Content-Length", h, sizeof h), want);
    cr_assert_eq(r->len, hl + sizeof tensor);
    cr_assert_eq(memcmp(r->body, out_head, hl), 0);
    for (size_t i = 0; i < sizeof tensor; i++)
        cr_assert_eq((unsigned char)r->body[hl + i], tensor[sizeof tensor - 1 - i], "byte %zu", i);
}

Test(binary, tensor_bytes_with_nuls_in_and_out)
{
    struct gy_http_server *srv = start();
    struct cl_resp *r = gy_malloc(sizeof *r);
    char head[512];
    size_t hl = sizeof json_head - 1;
    int fd = cl_connect(gy_http_server_port(srv));
    snprintf(head, sizeof head,
             "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\n"
             "Content-Type: application/octet-stream\r\n"
             "Inference-Header-Content-Length: %zu\r\nContent-Length: %zu\r\n\r\n",
             hl, hl + sizeof tensor);
    /* Twice on one connection, the body in one piece and then split inside the tensor. */
    cr_assert_eq(cl_sends(fd, head), 0);
    cr_assert_eq(cl_send(fd, json_head, hl), 0);
    cr_assert_eq(cl_send(fd, tensor, sizeof tensor), 0);
    cr_assert_eq(cl_read(fd, r), 0);
    check_reply(r);
    cr_assert_eq(cl_sends(fd, head), 0);
    cr_assert_eq(cl_send(fd, json_head, hl), 0);
    cr_assert_eq(cl_send(fd, tensor, 5), 0);
    usleep(20 * 1000);
    cr_assert_eq(cl_send(fd, tensor + 5, sizeof tensor - 5), 0);
    cr_assert_eq(cl_read(fd, r), 0);
    check_reply(r);
    close(fd);
    gy_http_server_free(srv);
    gy_free(r);
}

Test(binary, chunked_tensor_bytes)
{
    struct gy_http_server *srv = start();
    struct cl_resp *r = gy_malloc(sizeof *r);
    char head[512], size[32];
    size_t hl = sizeof json_head - 1;
    int fd = cl_connect(gy_http_server_port(srv));
    snprintf(head, sizeof head,
             "POST /v2/models/m/infer HTTP/1.1\r\nHost: t\r\n"
             "Content-Type: application/octet-stream\r\n"
             "Inference-Header-Content-Length: %zu\r\nTransfer-Encoding: chunked\r\n\r\n",
             hl);
    cr_assert_eq(cl_sends(fd, head), 0);
    snprintf(size, sizeof size, "%zx\r\n", hl);
    cr_assert_eq(cl_sends(fd, size), 0);
    cr_assert_eq(cl_send(fd, json_head, hl), 0);
    cr_assert_eq(cl_sends(fd, "\r\n10\r\n"), 0);
    cr_assert_eq(cl_send(fd, tensor, sizeof tensor), 0);
    cr_assert_eq(cl_sends(fd, "\r\n0\r\n\r\n"), 0);
    cr_assert_eq(cl_read(fd, r), 0);
    check_reply(r);
    close(fd);
    gy_http_server_free(srv);
    gy_free(r);
}
