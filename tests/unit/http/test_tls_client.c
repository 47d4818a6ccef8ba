/* SPDX-License-Identifier: MIT */
/*
 * test_tls_client.c - TLS client certificates in the HTTP layer
 * (gy_http_server_set_tls_client_ca, gy_http_req_tls_client): the client CA must be a PEM
 * certificate list (empty text, garbage and a base64 block that is no certificate are
 * refused), a client CA without a server certificate makes start fail, and on a plain-HTTP
 * server a request has no client certificate (GY_NOT_FOUND). The handshake and verification
 * against real certificates are tested end to end in tests/e2e/test_tls.sh (openssl and curl).
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include "http/http.h"
#include "client.h"

/* A self-signed P-256 CA certificate (openssl req -x509, CN=unit-ca, valid to 2126). */
static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBejCCASGgAwIBAgIUArl0Qsp1TkT4EUpRLuRpZXCNlU4wCgYIKoZIzj0EAwIw\n"
                             "EjEQMA4GA1UEAwwHdW5pdC1jYTAgFw0yNjExMjcyMjM3NTdaGA8yMTI2MTEwMzIy\n"
                             "Mzc1N1owEjEQMA4GA1UEAwwHdW5pdC1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
                             "A0IABEiucbvD0bwP0V8mJckECp5hT7BJWD8CM0ESz47Wbx+VV9wiVq/ids63LR9a\n"
                             "rdkOqLZs72zW4bAWfUFG5I4S9hOjUzBRMB0GA1UdDgQWBBRaJ9Un2ysA3ErBcEbj\n"
                             "NzovZH1dXTAfBgNVHSMEGDAWgBRaJ9Un2ysA3ErBcEbjNzovZH1dXTAPBgNVHRMB\n"
                             "Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCICKmVHfdeBu9NMizjGs8RGmuk8bk\n"
                             "JgsPAr7x7jx8DfePAiAId+DEKs4LD8HYwec7am506lUvG5KKOrsO1szb5eP3XA==\n"
                             "-----END CERTIFICATE-----\n";

static atomic_int seen_rc = -1;

static enum gy_status h_peer(struct gy_http_req *req, struct gy_http_resp *resp, void *ctx)
{
    char cn[64];
    GY_UNUSED(ctx);
    atomic_store(&seen_rc, (int)gy_http_req_tls_client(req, cn, sizeof cn));
    return gy_http_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static const struct gy_http_route routes[] = {
    {"GET", "/peer", h_peer, 0, NULL, "client certificate", 0},
};

static struct gy_http_server *make(void)
{
    struct gy_http_config cfg;
    struct gy_http_server *srv;
    gy_http_config_init(&cfg);
    cfg.port = 0;
    cfg.threads = 1;
    cfg.access_log = GY_HTTP_LOG_OFF;
    cr_assert_eq(gy_http_server_create(&cfg, &srv), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_add_routes(srv, routes, GY_ARRAY_LEN(routes), NULL), GY_OK);
    return srv;
}

Test(tls_client, ca_must_be_a_certificate_list)
{
    struct gy_http_server *srv = make();
    cr_assert_eq(gy_http_server_set_tls_client_ca(srv, ""), GY_E_INVALID);
    cr_assert_eq(gy_http_server_set_tls_client_ca(srv, "hello"), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "client CA"), "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_set_tls_client_ca(srv, "-----BEGIN CERTIFICATE-----\n"
                                                       "bm90IGEgY2VydGlmaWNhdGU=\n"
                                                       "-----END CERTIFICATE-----\n"),
                 GY_E_INVALID);
    cr_assert_eq(gy_http_server_set_tls_client_ca(srv, ca_pem), GY_OK, "%s", gy_error_msg());
    gy_http_server_free(srv);
}

Test(tls_client, ca_without_tls_does_not_start)
{
    struct gy_http_server *srv = make();
    cr_assert_eq(gy_http_server_set_tls_client_ca(srv, ca_pem), GY_OK, "%s", gy_error_msg());
    cr_assert_eq(gy_http_server_start(srv), GY_E_INVALID);
    cr_assert(strstr(gy_error_msg(), "needs TLS"), "%s", gy_error_msg());
    gy_http_server_free(srv);
}

Test(tls_client, plain_http_has_no_client_certificate)
{
    struct gy_http_server *srv = make();
    struct cl_resp *r = gy_calloc(1, sizeof *r);
    int fd;
    cr_assert_not_null(r);
    cr_assert_eq(gy_http_server_start(srv), GY_OK, "%s", gy_error_msg());
    fd = cl_connect(gy_http_server_port(srv));
    cr_assert_geq(fd, 0);
    cr_assert_eq(cl_sends(fd, "GET /peer HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    cr_assert_eq(cl_read(fd, r), 0);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(atomic_load(&seen_rc), GY_NOT_FOUND);
    close(fd);
    gy_free(r);
    gy_http_server_free(srv);
}
