/* SPDX-License-Identifier: MIT */
/*
 * test_load.c - the pieces of `gyre load` (src/cli/load.c, included here so its static
 * functions can be tested): URL parsing, response head parsing, chunked decoding, the V2
 * request body of a row, nearest-rank percentiles, and the keep-alive client against a
 * scripted in-process HTTP server that answers, closes idle connections, closes in the middle
 * of an answer, answers chunked, and says "Connection: close". The CLI helpers of main.c are
 * not in libgyre: the few load.c calls are stubbed below (option parsing is covered by the
 * e2e test tests/e2e/test_demo.sh).
 */
#include "cli/load.c"

#include <arpa/inet.h>
#include <criterion/criterion.h>

/* ------------------------------------------------------------------ stubs for main.c */

int gy_cli_parse(int argc, char **argv, struct gy_cli_opt *opts, size_t nopts, char **pos,
                 size_t *npos)
{
    GY_UNUSED(argc);
    GY_UNUSED(argv);
    GY_UNUSED(opts);
    GY_UNUSED(nopts);
    GY_UNUSED(pos);
    *npos = 0;
    return GY_EXIT_USAGE;
}

const char *gy_cli_get(const struct gy_cli_opt *opts, size_t nopts, const char *name)
{
    for (size_t k = 0; k < nopts; k++)
        if (strcmp(opts[k].name, name) == 0)
            return opts[k].value;
    return NULL;
}

int gy_cli_fail(enum gy_status rc, const char *what)
{
    GY_UNUSED(what);
    return rc ? GY_EXIT_FAIL : GY_EXIT_OK;
}

void gy_cli_print_json(const json_t *j)
{
    GY_UNUSED(j);
}

/* ------------------------------------------------------------------ URLs */

Test(load, url_parse)
{
    struct load_url u;
    cr_assert_eq(load_url_parse("http://127.0.0.1:8080", &u), GY_OK);
    cr_assert_str_eq(u.host, "127.0.0.1");
    cr_assert_str_eq(u.port, "8080");
    cr_assert_str_eq(u.prefix, "");
    cr_assert_eq(load_url_parse("http://example.org/gyre/", &u), GY_OK);
    cr_assert_str_eq(u.host, "example.org");
    cr_assert_str_eq(u.port, "80");
    cr_assert_str_eq(u.prefix, "/gyre");
    cr_assert_eq(load_url_parse("http://[::1]:9/", &u), GY_OK);
    cr_assert_str_eq(u.host, "::1");
    cr_assert_str_eq(u.port, "9");
    cr_assert_eq(load_url_parse("https://x:1", &u), GY_E_UNSUPPORTED);
    cr_assert_eq(load_url_parse("ftp://x", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://x:0", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://x:65536", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://x:12ab", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://user:pw@x", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://x/a b", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://x/a?b", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("http://[::1", &u), GY_E_INVALID);
    cr_assert_eq(load_url_parse("", &u), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "--url") != NULL);
}

/* ------------------------------------------------------------------ response heads */

static enum gy_status head(const char *text, struct load_resp *r, int64_t *clen, int *chunked)
{
    memset(r, 0, sizeof(*r));
    return load_head_parse(text, strlen(text), r, clen, chunked);
}

Test(load, head_parse)
{
    struct load_resp r;
    int64_t clen;
    int chunked;
    cr_assert_eq(head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Gyre-Variant:  fraud@champion "
                      "\r\n\r\n",
                      &r, &clen, &chunked),
                 GY_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(clen, 12);
    cr_assert_eq(chunked, 0);
    cr_assert_eq(r.close, 0);
    cr_assert_str_eq(r.variant, "fraud@champion");

    cr_assert_eq(head("HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n"
                      "connection: Close\r\n\r\n",
                      &r, &clen, &chunked),
                 GY_OK);
    cr_assert_eq(r.status, 503);
    cr_assert_eq(clen, -1);
    cr_assert_eq(chunked, 1);
    cr_assert_eq(r.close, 1);
    cr_assert_str_eq(r.variant, "");

    cr_assert_eq(head("HTTP/1.0 200 OK\r\n\r\n", &r, &clen, &chunked), GY_OK);
    cr_assert_eq(r.close, 1);
    cr_assert_eq(head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", &r, &clen, &chunked),
                 GY_OK);
    cr_assert_eq(r.close, 0);

    cr_assert_eq(head("SSH-2.0-OpenSSH\r\n\r\n", &r, &clen, &chunked), GY_E_INVALID);
    cr_assert_eq(head("HTTP/1.1 2000 OK\r\n\r\n", &r, &clen, &chunked), GY_E_INVALID);
    cr_assert_eq(head("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", &r, &clen, &chunked),
                 GY_E_INVALID);
    cr_assert_eq(head("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", &r, &clen, &chunked),
                 GY_E_INVALID);
    cr_assert_eq(head("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", &r, &clen, &chunked),
                 GY_E_INVALID);
}

/* ------------------------------------------------------------------ chunked bodies */

Test(load, chunked_decode)
{
    static const char body[] = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    struct gy_buf out;
    size_t used = 0;
    gy_buf_init(&out, 1 << 20);
    cr_assert_eq(load_chunked_decode(body, strlen(body), &out, &used), GY_OK);
    cr_assert_eq(out.len, 12);
    cr_assert_str_eq(out.data, "hello, world");
    cr_assert_str_eq(body + used, "NEXT");
    /* every proper prefix needs more bytes */
    for (size_t n = 0; n < strlen(body) - 4; n++)
        cr_assert_eq(load_chunked_decode(body, n, &out, &used), GY_AGAIN, "prefix %zu", n);
    cr_assert_eq(load_chunked_decode("a\r\n0123456789\r\n0\r\n\r\n", 22, &out, &used), GY_OK);
    cr_assert_str_eq(out.data, "0123456789");
    cr_assert_eq(load_chunked_decode("zz\r\n", 4, &out, &used), GY_E_INVALID);
    cr_assert_eq(load_chunked_decode("3\r\nabcXY0\r\n\r\n", 14, &out, &used), GY_E_INVALID);
    cr_assert_eq(load_chunked_decode("ffffffffffffffff\r\n", 18, &out, &used), GY_E_INVALID);
    cr_assert_eq(load_chunked_decode("7fffffff\r\n", 10, &out, &used), GY_E_TOO_LARGE);
    gy_buf_free(&out);
}

/* ------------------------------------------------------------------ bodies and percentiles */

Test(load, body_of_a_row)
{
    uint8_t valid_a[2] = {1, 0}, flags[2] = {1, 0};
    double amount[2] = {12.5, 0};
    uint32_t off[3] = {0, 6, 8};
    char text[] = "a\"b\\c\n"
                  "xyz";
    struct gy_colvec cols[3];
    struct load_input in[3] = {
        {"amount", "FP64", 0}, {"merchant", "BYTES", 1}, {"card_present", "FP32", 2}};
    struct gy_buf b;
    memset(cols, 0, sizeof cols);
    cols[0].type = GY_TYPE_FLOAT64;
    cols[0].n = 2;
    cols[0].valid = valid_a;
    cols[0].f64 = amount;
    cols[1].type = GY_TYPE_STRING;
    cols[1].n = 2;
    cols[1].off = off;
    cols[1].data = text;
    cols[2].type = GY_TYPE_BOOL;
    cols[2].n = 2;
    cols[2].b = flags;
    gy_buf_init(&b, 1 << 20);
    cr_assert_eq(body_build(&b, "p-", 41, in, 3, cols, 0), GY_OK);
    cr_assert_str_eq(b.data,
                     "{\"id\":\"p-41\",\"inputs\":["
                     "{\"name\":\"amount\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[12.5]},"
                     "{\"name\":\"merchant\",\"datatype\":\"BYTES\",\"shape\":[1],"
                     "\"data\":[\"a\\\"b\\\\c\\u000a\"]},"
                     "{\"name\":\"card_present\",\"datatype\":\"FP32\",\"shape\":[1],"
                     "\"data\":[1]}]}");
    gy_buf_reset(&b);
    cr_assert_eq(body_build(&b, "", 7, in, 3, cols, 1), GY_OK);
    cr_assert(strstr(b.data, "\"id\":\"7\"") != NULL);
    cr_assert(strstr(b.data, "\"data\":[null]") != NULL, "a missing value is null: %s", b.data);
    cr_assert(strstr(b.data, "\"data\":[\"xy\"]") != NULL);
    cr_assert(strstr(b.data, "\"data\":[0]") != NULL);
    {
        json_t *j = NULL;
        cr_assert_eq(gy_json_parse(b.data, b.len, 8, "body", &j), GY_OK);
        json_decref(j);
    }
    cr_assert_eq(input_check(&in[1], GY_TYPE_FLOAT64, "ds"), GY_E_SCHEMA);
    cr_assert_eq(input_check(&in[0], GY_TYPE_STRING, "ds"), GY_E_SCHEMA);
    cr_assert_eq(input_check(&in[2], GY_TYPE_BOOL, "ds"), GY_OK);
    gy_buf_free(&b);
}

Test(load, percentiles)
{
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i + 1;
    cr_assert_eq(load_percentile(v, 100, 0.5), 50);
    cr_assert_eq(load_percentile(v, 100, 0.9), 90);
    cr_assert_eq(load_percentile(v, 100, 0.99), 99);
    cr_assert_eq(load_percentile(v, 100, 1.0), 100);
    cr_assert_eq(load_percentile(v, 1, 0.99), 1);
    cr_assert_eq(load_percentile(v, 3, 0.5), 2);
    cr_assert_eq(load_percentile(v, 0, 0.5), 0);
}

/* ------------------------------------------------------------------ a scripted server */

/* What the server does with the request it has just read on a connection. */
enum act {
    ACT_OK,       /* 200, Content-Length, keep-alive, x-gyre-variant: v@1 */
    ACT_CHUNKED,  /* 200, chunked body */
    ACT_OK_CLOSE, /* 200 with Connection: close, then close */
    ACT_CLOSE,    /* close without answering */
    ACT_HALF,     /* half a head, then close */
    ACT_ERROR,    /* 500 with a body */
};

struct script {
    int lfd;
    const enum act *acts;
    size_t nacts;
    int accepted;
};

static int read_request(int fd)
{
    char buf[8192];
    size_t n = 0;
    char *e;
    while (!(e = (n ? memmem(buf, n, "\r\n\r\n", 4) : NULL))) {
        ssize_t k = recv(fd, buf + n, sizeof buf - n - 1, 0);
        if (k <= 0)
            return -1;
        n += (size_t)k;
        buf[n] = 0;
    }
    {
        char *cl = strcasestr(buf, "Content-Length:");
        size_t need = (size_t)(e + 4 - buf) + (cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0);
        while (n < need) {
            ssize_t k = recv(fd, buf, GY_MIN(sizeof buf, need - n), 0);
            if (k <= 0)
                return -1;
            n += (size_t)k;
        }
    }
    return 0;
}

static void say(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t k = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        off += (size_t)k;
    }
}

static void *server_main(void *arg)
{
    struct script *s = arg;
    size_t i = 0;
    while (i < s->nacts) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            break;
        s->accepted++;
        while (i < s->nacts && read_request(fd) == 0) {
            enum act a = s->acts[i++];
            if (a == ACT_OK) {
                say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Gyre-Variant: v@1\r\n\r\n{}");
            } else if (a == ACT_CHUNKED) {
                say(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Gyre-Variant: v@2"
                        "\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n");
            } else if (a == ACT_OK_CLOSE) {
                say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
                break;
            } else if (a == ACT_ERROR) {
                say(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\n\r\nbroken");
            } else if (a == ACT_HALF) {
                say(fd, "HTTP/1.1 200 OK\r\nContent-Le");
                break;
            } else {
                break;
            }
        }
        close(fd);
    }
    return NULL;
}

static void run_script(const enum act *acts, size_t nacts, void (*client)(struct load_conn *),
                       int *accepted)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    struct script s = {-1, acts, nacts, 0};
    struct load_url u;
    struct addrinfo hints, *ai = NULL;
    struct load_conn c;
    pthread_t t;
    char url[64];
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(s.lfd >= 0);
    cr_assert_eq(bind(s.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(s.lfd, 8), 0);
    cr_assert_eq(getsockname(s.lfd, (struct sockaddr *)&sa, &len), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    cr_assert_eq(load_url_parse(url, &u), GY_OK);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    cr_assert_eq(getaddrinfo(u.host, u.port, &hints, &ai), 0);
    cr_assert_eq(pthread_create(&t, NULL, server_main, &s), 0);
    conn_init(&c, &u, ai, "", 5000);
    client(&c);
    conn_free(&c);
    shutdown(s.lfd, SHUT_RDWR);
    close(s.lfd);
    pthread_join(t, NULL);
    freeaddrinfo(ai);
    *accepted = s.accepted;
}

static enum gy_status post(struct load_conn *c, struct load_resp *r)
{
    return conn_request(c, "POST", "/v2/models/m/infer", "X-User: user-1\r\n", "{\"a\":1}", 7, r);
}

static void client_reconnects(struct load_conn *c)
{
    struct load_resp r;
    memset(&r, 0, sizeof r);
    gy_buf_init(&r.body, 1 << 20);
    /* 1: answered; 2: the server drops the idle connection: sent again on a fresh one */
    cr_assert_eq(post(c, &r), GY_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.variant, "v@1");
    cr_assert_eq(post(c, &r), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(r.status, 200);
    cr_assert_eq(c->reconnects, 1);
    /* 3: chunked; 4: an HTTP error is an answer, not an I/O failure */
    cr_assert_eq(post(c, &r), GY_OK);
    cr_assert_str_eq(r.variant, "v@2");
    cr_assert_str_eq(r.body.data, "{}");
    cr_assert_eq(post(c, &r), GY_OK);
    cr_assert_eq(r.status, 500);
    cr_assert_str_eq(r.body.data, "broken");
    /* 5: Connection: close is honoured: 6 goes over a new connection, no retry needed */
    cr_assert_eq(post(c, &r), GY_OK);
    cr_assert_eq(c->fd, -1);
    cr_assert_eq(post(c, &r), GY_OK);
    /* 7: the server closes in the middle of the head: an error, never retried */
    cr_assert_eq(post(c, &r), GY_E_IO);
    cr_assert(strstr(gy_error_msg(), "closed") != NULL, "%s", gy_error_msg());
    cr_assert_eq(c->fd, -1);
    /* 8: the next request reconnects */
    cr_assert_eq(post(c, &r), GY_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(c->reconnects, 1);
    gy_buf_free(&r.body);
}

Test(load, keep_alive_reconnect_and_errors, .timeout = 20)
{
    static const enum act acts[] = {ACT_OK,       ACT_CLOSE, ACT_OK,   ACT_CHUNKED, ACT_ERROR,
                                    ACT_OK_CLOSE, ACT_OK,    ACT_HALF, ACT_OK};
    int accepted = 0;
    run_script(acts, GY_ARRAY_LEN(acts), client_reconnects, &accepted);
    /* connections: 1-2(drop), retry 2..5(close), 6..7(half), 8 */
    cr_assert_eq(accepted, 4);
}

static void client_fresh_close(struct load_conn *c)
{
    struct load_resp r;
    memset(&r, 0, sizeof r);
    gy_buf_init(&r.body, 1 << 20);
    /* a fresh connection closed without an answer is an error, not a retry */
    cr_assert_eq(post(c, &r), GY_E_IO);
    cr_assert_eq(c->reconnects, 0);
    cr_assert_eq(post(c, &r), GY_OK);
    gy_buf_free(&r.body);
}

Test(load, fresh_connection_closed_is_an_error, .timeout = 20)
{
    static const enum act acts[] = {ACT_CLOSE, ACT_OK};
    int accepted = 0;
    run_script(acts, GY_ARRAY_LEN(acts), client_fresh_close, &accepted);
    cr_assert_eq(accepted, 2);
}
