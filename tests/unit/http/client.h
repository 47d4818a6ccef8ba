/* SPDX-License-Identifier: MIT */
/*
 * client.h - a tiny raw-socket HTTP/1.1 client for the server tests: connect to a loopback
 * port, send bytes, read one response (status line, headers, a Content-Length body that may
 * hold NUL bytes) so that several requests can share a keep-alive connection. Every socket
 * has a 10 s receive timeout so a broken server fails a test instead of hanging it.
 */
#ifndef GY_TEST_HTTP_CLIENT_H
#define GY_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/base.h"

struct cl_resp {
    int status;
    char head[8192]; /* status line and headers, NUL-terminated */
    char body[65536];
    size_t len; /* body bytes (may contain NULs); body[len] is a NUL */
};

/* Connects to 127.0.0.1:@p port; -1 on failure. */
static inline int cl_connect(uint16_t port)
{
    struct sockaddr_in sa;
    struct timeval tv = {10, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends all @p n bytes; 0 on success. */
static inline int cl_send(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static inline int cl_sends(int fd, const char *s)
{
    return cl_send(fd, s, strlen(s));
}

/* The value of header @p name in a response head (a pointer into it, up to CR); NULL. */
static inline const char *cl_header(const struct cl_resp *r, const char *name, char *out,
                                    size_t cap)
{
    size_t n = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2] != '\r' && p[2] != '\0') {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            n = e ? (size_t)(e - v) : strlen(v);
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/*
 * Reads one response with a Content-Length body (or none). 0 on success; -1 when the
 * connection closed or timed out first (r->head then holds what came).
 */
static inline int cl_read(int fd, struct cl_resp *r)
{
    size_t got = 0, hlen, want = 0;
    char *end = NULL, cl[32];
    memset(r->head, 0, sizeof r->head);
    r->status = 0;
    r->len = 0;
    /* Byte by byte up to the blank line, so the next response stays in the socket. */
    while (got + 1 < sizeof r->head) {
        ssize_t n = recv(fd, r->head + got, 1, 0);
        if (n <= 0)
            return -1;
        got++;
        if (got >= 4 && memcmp(r->head + got - 4, "\r\n\r\n", 4) == 0) {
            end = r->head + got;
            break;
        }
    }
    if (!end)
        return -1;
    hlen = (size_t)(end - r->head);
    r->head[hlen] = '\0';
    if (strncmp(r->head, "HTTP/1.1 ", 9) != 0)
        return -1;
    r->status = (int)strtol(r->head + 9, NULL, 10);
    if (cl_header(r, "Content-Length", cl, sizeof cl))
        want = (size_t)strtoull(cl, NULL, 10);
    if (want >= sizeof r->body)
        return -1;
    while (r->len < want) {
        ssize_t n = recv(fd, r->body + r->len, want - r->len, 0);
        if (n <= 0)
            return -1;
        r->len += (size_t)n;
    }
    r->body[r->len] = '\0';
    return 0;
}

/* True when the server closed @p fd (EOF or reset) within the socket's receive timeout. */
static inline int cl_closed(int fd)
{
    char c;
    for (;;) {
        ssize_t n = recv(fd, &c, 1, 0);
        if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
            return 1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 0; /* timed out: still open */
    }
}

#endif /* GY_TEST_HTTP_CLIENT_H */
