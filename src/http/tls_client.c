/* SPDX-License-Identifier: MIT */
/*
 * tls_client.c - TLS client certificates, the GnuTLS side. libmicrohttpd 0.9.75's
 * MHD_OPTION_HTTPS_MEM_TRUST loads the client CA into the server's credentials and makes the
 * handshake *request* a client certificate, but it never checks one: a client may send any
 * certificate, or none, and the handshake succeeds. This file checks the certificate chain the
 * client sent against that CA (gnutls_certificate_verify_peers with the TLS client key
 * purpose: signature chain, validity dates, key usage) and reads the subject's common name
 * (CN), which the caller maps to a principal. It also validates the CA PEM text before the
 * server starts (libmicrohttpd accepts a trust file with no certificate in it silently).
 * server.c fetches the GnuTLS session from libmicrohttpd and caches the outcome per
 * connection; docs/internals/http.md, "TLS client certificates".
 */
#include "http/http_int.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define CA_LIST_MAX 64 /* certificates in a --tls-client-ca file */

enum gy_status gy__http_tls_ca_check(const char *ca_pem)
{
    gnutls_x509_crt_t *crts = NULL;
    unsigned int n = 0, i;
    gnutls_datum_t d;
    int r;

    if (!ca_pem || !*ca_pem)
        return gy_error_set(GY_E_INVALID, "the client CA is empty");
    d.data = (unsigned char *)(uintptr_t)ca_pem;
    d.size = (unsigned int)strlen(ca_pem);
    r = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0)
        return gy_error_set(GY_E_INVALID, "the client CA is not a PEM certificate list: %s",
                            gnutls_strerror(r));
    for (i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    if (n == 0)
        return gy_error_set(GY_E_INVALID, "the client CA holds no certificate");
    if (n > CA_LIST_MAX)
        return gy_error_set(GY_E_TOO_LARGE, "the client CA holds %u certificates (at most %d)", n,
                            CA_LIST_MAX);
    return GY_OK;
}

/* True for a CN gyre accepts as a principal name: printable ASCII, no quotes or backslash. */
static int cn_ok(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

enum gy_status gy__http_tls_peer_verify(void *session, char *cn, size_t cap)
{
    gnutls_session_t s = session;
    const gnutls_datum_t *peers;
    unsigned int npeers = 0, status = 0;
    gnutls_typed_vdata_st vd = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                .data = (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT,
                                .size = 0};
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t why = {NULL, 0};
    char buf[256];
    size_t blen = sizeof buf;
    enum gy_status rc;
    int r;

    if (!s)
        return gy_error_set(GY_NOT_FOUND, "not a TLS connection");
    if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
        return gy_error_set(GY_NOT_FOUND, "no client certificate");
    peers = gnutls_certificate_get_peers(s, &npeers);
    if (!peers || npeers == 0)
        return gy_error_set(GY_NOT_FOUND, "no client certificate");
    r = gnutls_certificate_verify_peers(s, &vd, 1, &status);
    if (r < 0)
        return gy_error_set(GY_E_PERM, "client certificate not verified: %s", gnutls_strerror(r));
    if (status) {
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) < 0)
            why.data = NULL;
        while (why.data && why.size > 0 &&
               (why.data[why.size - 1] == ' ' || why.data[why.size - 1] == '.'))
            why.data[--why.size] = '\0'; /* "... is unknown. " */
        rc = gy_error_set(GY_E_PERM, "client certificate not trusted: %s",
                          why.data ? (const char *)why.data : "verification failed");
        gnutls_free(why.data);
        return rc;
    }
    if ((r = gnutls_x509_crt_init(&crt)) < 0)
        return gy_error_set(GY_E_NOMEM, "client certificate: %s", gnutls_strerror(r));
    r = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER);
    if (r >= 0)
        r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &blen);
    gnutls_x509_crt_deinit(crt);
    if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        return gy_error_set(GY_E_PERM, "client certificate has no common name (CN)");
    if (r == GNUTLS_E_SHORT_MEMORY_BUFFER || blen >= sizeof buf)
        return gy_error_set(GY_E_PERM, "client certificate's common name is too long");
    if (r < 0)
        return gy_error_set(GY_E_PERM, "client certificate unreadable: %s", gnutls_strerror(r));
    if (!cn_ok(buf, blen) || strlen(buf) != blen)
        return gy_error_set(GY_E_PERM,
                            "client certificate's common name has characters gyre does not "
                            "accept (printable ASCII without quotes or backslash)");
    if (blen + 1 > cap)
        return gy_error_set(GY_E_PERM,
                            "client certificate's common name is too long (%zu bytes, "
                            "at most %zu)",
                            blen, cap - 1);
    memcpy(cn, buf, blen + 1);
    return GY_OK;
}
