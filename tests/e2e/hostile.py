# SPDX-License-Identifier: MIT
# The hostile-input client of tests/e2e/test_hostile.sh (issue 7; the reference's sections 4.6
# and 4.7): raw sockets only, so the bytes on the wire are exactly what each case says.
#
#   hostile.py cases PORT HOME            the malformed-request corpus (classes 1-12, 14-30)
#   hostile.py auth PORT TOKENS LOG       class 13 against a server started with --auth
#   hostile.py slow PORT TIMEOUT_S [PID [RSS_MIB]]
#                                         slowloris, slow bodies, slow readers and idle
#                                         connections from 127.0.0.2 while a legitimate
#                                         client on 127.0.0.3 sends inference requests (and
#                                         the server PID's RSS grows less than RSS_MIB,
#                                         default 64; 0: only printed)
#
# Each check prints one line for the shell script to turn into TAP:
#   PASS<TAB>description  |  FAIL<TAB>description<TAB>detail  |  TODO<TAB>description<TAB>reason
# and "#"-lines are diagnostics. Python 3 standard library only.
import json
import re
import socket
import statistics
import sys
import multiprocessing
import threading
import time

HOST = "127.0.0.1"
MODEL = "num"
INFER_PATH = "/v2/models/%s/infer" % MODEL
ROW = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
GOOD = json.dumps({"inputs": [{"name": "input-0", "shape": [1, 6], "datatype": "FP32",
                               "data": [ROW]}]}).encode()
CLOSE = "close"  # expected outcome: the connection is closed without any response

# Text that must never reach a client in an error body (R11): source locations, SQL, stack
# traces, the data home. The data home is added at run time.
LEAKS = [re.compile(p) for p in (
    r"[A-Za-z_]+\.c:\d+", r"(?i)\bselect\s.+\bfrom\b", r"(?i)\binsert\s+into\b",
    r"(?i)sqlite3?_", r"(?i)traceback", r"(?i)segmentation", r"(?i)stack trace",
    r"/tmp/", r"/src/")]
MAX_ERROR_BODY = 1024


def out(kind, desc, detail=""):
    detail = detail.replace("\t", " ").replace("\n", " | ")
    if len(detail) > 600:
        detail = detail[:600] + "..."
    sys.stdout.write("%s\t%s\t%s\n" % (kind, desc, detail))
    sys.stdout.flush()


# ---------------------------------------------------------------- raw HTTP


def connect(port, src=None, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((HOST, port))
    return s


def send_all(s, data):
    """Sends what it can; a server that answers early and closes is not an error here."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


class Reader:
    """Reads HTTP/1.1 responses off one socket (Content-Length, chunked or to EOF)."""

    def __init__(self, s):
        self.s = s
        self.buf = b""
        self.eof = False

    def _more(self):
        if self.eof:
            return False
        try:
            d = self.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def response(self):
        """(status, headers dict lower-case, body) or None when the connection closed first.
        socket.timeout propagates."""
        while b"\r\n\r\n" not in self.buf:
            if not self._more():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            raise ValueError("not an HTTP response: %r" % lines[0][:80])
        status = int(m.group(1))
        hdrs = {"#": {}}  # "#": how many times each header came
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            k = k.strip().lower()
            hdrs.setdefault(k, v.strip())
            hdrs["#"][k] = hdrs["#"].get(k, 0) + 1
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            while len(self.buf) < n:
                if not self._more():
                    break
            body, self.buf = self.buf[:n], self.buf[n:]
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self._more():
                        return status, hdrs, body
                ln, self.buf = self.buf.split(b"\r\n", 1)
                n = int(ln.split(b";")[0], 16)
                while len(self.buf) < n + 2:
                    if not self._more():
                        break
                body += self.buf[:n]
                self.buf = self.buf[n + 2:]
                if n == 0:
                    break
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            while self._more():
                pass
            body, self.buf = self.buf, b""
        return status, hdrs, body

    def closed(self):
        """True when the peer closed (EOF or reset) before sending anything more."""
        while not self.buf:
            if not self._more():
                return True
        return False


def exchange(port, data, timeout=5.0, src=None, chunks=None, pause=0.0):
    """Sends @data (or the pieces of @chunks with @pause between them) on a new connection
    and reads one response. Returns (status | CLOSE, headers, body, seconds)."""
    t0 = time.monotonic()
    s = connect(port, src, timeout)
    try:
        if chunks is None:
            send_all(s, data)
        else:
            for c in chunks:
                if not send_all(s, c):
                    break
                if pause:
                    time.sleep(pause)
        r = Reader(s).response()
    finally:
        s.close()
    dt = time.monotonic() - t0
    if r is None:
        return CLOSE, {}, b"", dt
    return r[0], r[1], r[2], dt


def req(method, path, body=None, headers=None, ctype="application/json", version="HTTP/1.1",
        host=True, close=True):
    """Builds a request. @headers: list of (name, value) or raw header lines (bytes)."""
    lines = [("%s %s %s" % (method, path, version)).encode("latin-1")]
    if host:
        lines.append(b"Host: 127.0.0.1")
    if body is not None and ctype:
        lines.append(b"Content-Type: " + ctype.encode())
    for h in headers or []:
        lines.append(h if isinstance(h, bytes) else ("%s: %s" % h).encode("latin-1"))
    if body is not None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not any((isinstance(h, tuple) and h[0].lower() in ("content-length",
                                                              "transfer-encoding"))
                   or (isinstance(h, bytes) and h.lower().startswith((b"content-length",
                                                                      b"transfer-encoding")))
                   for h in headers or []):
            lines.append(b"Content-Length: %d" % len(body))
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def infer_body(inputs=None, **top):
    d = {"inputs": inputs if inputs is not None else [
        {"name": "input-0", "shape": [1, 6], "datatype": "FP32", "data": [ROW]}]}
    d.update(top)
    return json.dumps(d)


def tensor(data, shape=(1, 6), datatype="FP32"):
    return infer_body([{"name": "input-0", "shape": list(shape), "datatype": datatype,
                        "data": data}])


def legit(port, src=None, timeout=10.0):
    """One legitimate inference on a fresh connection: (ok, seconds, detail)."""
    try:
        st, _, body, dt = exchange(port, req("POST", INFER_PATH, GOOD), timeout=timeout, src=src)
    except (OSError, ValueError) as e:
        return False, 0.0, "legitimate infer: %s" % e
    if st != 200 or b'"output-0"' not in body:
        return False, dt, "legitimate infer: status %s body %r" % (st, body[:200])
    return True, dt, ""


# ---------------------------------------------------------------- the corpus


def chunked(pieces, final=b"0\r\n\r\n"):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + final


def corpus():
    """(class, description, bytes, expected status or CLOSE, options) for classes 1-12, 14-30.
    options: timeout (s), todo (reason: a known deviation of gyre), path, chunks/pause."""
    P = INFER_PATH
    G = GOOD
    ML = "/api/2.0/mlflow/experiments/create"
    NAT = "/api/v1/datasets"
    C = []

    def add(cls, desc, data, want, **o):
        C.append((cls, desc, data, want, o))

    # 1. methods
    add(1, "unknown method FOO", req("FOO", P, G), 405)
    add(1, "lower-case method post", req("post", P, G), 405)
    add(1, "TRACE", req("TRACE", P), 405)
    add(1, "CONNECT authority-form", req("CONNECT", "127.0.0.1:443"), 400)
    add(1, "overlong method (300 letters)", req("X" * 300, P), 405)
    add(1, "GET on the infer route", req("GET", P), 405)
    # 2. Host and the request target
    add(2, "HTTP/1.1 without Host", req("POST", P, G, host=False), 400)
    add(2, "two Host headers", req("POST", P, G, headers=[("Host", "other")]), 400)
    add(2, "two Content-Type headers", req("POST", P, G, headers=[("Content-Type", "text/csv")]),
        400)
    add(2, "two Authorization headers (auth off)",
        req("POST", P, G, headers=[("Authorization", "Bearer a"), ("Authorization", "Bearer b")]),
        400)
    add(2, "absolute-form target", req("POST", "http://127.0.0.1" + P, G), 400)
    add(2, "asterisk-form target on POST", req("POST", "*", G), 400)
    # 3. header syntax
    add(3, "header line without a colon", req("POST", P, G, headers=[b"NoColonHere"]), 400)
    add(3, "obsolete line folding", req("POST", P, G, headers=[b"X-A: one", b" two"]), 400,
        todo="libmicrohttpd 0.9.75 joins folded lines before gyre sees them")
    add(3, "NUL in a header value", req("POST", P, G, headers=[b"X-A: a\x00b"]), 400,
        todo="libmicrohttpd 0.9.75 cuts the value at the NUL before gyre sees it")
    add(3, "DEL in a header value", req("POST", P, G, headers=[b"X-A: a\x7fb"]), 400)
    add(3, "ESC in a header value", req("POST", P, G, headers=[b"X-A: \x1b[31m"]), 400)
    add(3, "bare CR in a header value", req("POST", P, G, headers=[b"X-A: a\rb"]), 400)
    add(3, "space before the colon", req("POST", P, G, headers=[b"X-A : v"]), 400)
    add(3, "NUL in a header name", req("POST", P, G, headers=[b"X-\x00A: v"]), 400)
    # 4. header sizes
    add(4, "one 9 KiB header", req("POST", P, G, headers=[("X-Big", "a" * 9216)]), 431)
    add(4, "65 headers", req("POST", P, G, headers=[("X-H%d" % i, "v") for i in range(65)]),
        431)
    add(4, "header block over 32 KiB",
        req("POST", P, G, headers=[("X-H%d" % i, "b" * 4000) for i in range(9)]), 431)
    add(4, "1000 tiny headers", req("POST", P, G, headers=[("X-%d" % i, "") for i in
                                                           range(1000)]), 431)
    # 5. Content-Length and Transfer-Encoding
    add(5, "Content-Length and Transfer-Encoding together",
        req("POST", P, chunked([G]), headers=[("Transfer-Encoding", "chunked"),
                                              ("Content-Length", str(len(G)))]), 400)
    add(5, "two different Content-Lengths",
        req("POST", P, G, headers=[("Content-Length", str(len(G))),
                                   ("Content-Length", str(len(G) + 1))]), 400)
    add(5, "negative Content-Length", req("POST", P, G, headers=[("Content-Length", "-5")]), 400)
    add(5, "non-numeric Content-Length", req("POST", P, G, headers=[("Content-Length", "12a")]),
        400)
    add(5, "Content-Length 2^63", req("POST", P, G,
                                      headers=[("Content-Length", "9223372036854775808")]), 400)
    # libmicrohttpd itself answers a length past 2^64-1 with 413, before gyre sees the request.
    add(5, "Content-Length 2^64 (libmicrohttpd's 413)",
        req("POST", P, G, headers=[("Content-Length", "18446744073709551616")]), 413)
    add(5, "Content-Length with a plus sign", req("POST", P, G, headers=[("Content-Length",
                                                                          "+%d" % len(G))]), 400)
    # 6. Content-Length versus the body sent
    add(6, "Content-Length past the body: closed at the deadline",
        req("POST", P, G, headers=[("Content-Length", str(len(G) + 100))]), CLOSE, timeout=30)
    add(6, "Content-Length short of the body: truncated JSON",
        req("POST", P, G, headers=[("Content-Length", str(len(G) - 5))]), 400)
    # 7. chunked bodies
    add(7, "chunked body (valid)", req("POST", P, chunked([G[:10], G[10:]]),
                                       headers=[("Transfer-Encoding", "chunked")]), 200)
    add(7, "bad hex chunk size", req("POST", P, b"zz\r\n" + G + b"\r\n0\r\n\r\n",
                                     headers=[("Transfer-Encoding", "chunked")]), 400)
    add(7, "chunk size overflowing 64 bits",
        req("POST", P, b"1ffffffffffffffffffff\r\nab\r\n0\r\n\r\n",
            headers=[("Transfer-Encoding", "chunked")]), 413)
    add(7, "20 KiB chunk extension",
        req("POST", P, b"%x;ext=%s\r\n%s\r\n0\r\n\r\n" % (len(G), b"e" * 20480, G),
            headers=[("Transfer-Encoding", "chunked")]), 400,
        todo="libmicrohttpd 0.9.75 answers 500 when a chunk line outgrows the connection buffer")
    add(7, "1 KiB chunk extension (ignored)",
        req("POST", P, b"%x;ext=%s\r\n%s\r\n0\r\n\r\n" % (len(G), b"e" * 1024, G),
            headers=[("Transfer-Encoding", "chunked")]), 200)
    add(7, "200,000 one-byte chunks (valid JSON)",
        req("POST", P, chunked([bytes([b]) for b in G + b" " * (200000 - len(G))]),
            headers=[("Transfer-Encoding", "chunked")]), 200, timeout=30)
    add(7, "missing final chunk: closed at the deadline",
        req("POST", P, chunked([G], final=b""), headers=[("Transfer-Encoding", "chunked")]),
        CLOSE, timeout=30)
    add(7, "trailer fields after the last chunk",
        req("POST", P, chunked([G], final=b"0\r\nX-Trailer: t\r\n\r\n"),
            headers=[("Transfer-Encoding", "chunked")]), 200)
    add(7, "unknown transfer coding", req("POST", P, G, headers=[("Transfer-Encoding", "gzip")]),
        501)
    add(7, "Transfer-Encoding gzip, chunked",
        req("POST", P, chunked([G]), headers=[("Transfer-Encoding", "gzip, chunked")]), 501)
    # 8. Expect: 100-continue with an over-limit length
    add(8, "Expect 100-continue over the body cap",
        req("POST", P, None, headers=[("Expect", "100-continue"), ("Content-Length",
                                                                   str(1 << 30))]), 413)
    add(8, "Content-Length over the body cap without Expect",
        req("POST", P, None, headers=[("Content-Length", str(1 << 30))]), 413)
    add(8, "Expect with an unknown expectation",
        req("POST", P, G, headers=[("Expect", "200-ok")]), 417)
    # 9. other protocols
    add(9, "HTTP/2 connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505)
    add(9, "HTTP/0.9 request line", b"GET /v2/health/live\r\n", 400)
    add(9, "HTTP/2.0 version on a request line", req("GET", "/v2/health/live", version="HTTP/2.0"),
        505)
    add(9, "TLS ClientHello on the plain port", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" +
        b"\x00" * 160, CLOSE)
    # 10. path traversal
    add(10, "../ in the path", req("POST", "/v2/models/../../etc/passwd", G), 404)
    add(10, "..\\ in a model name", req("POST", "/v2/models/..\\..\\x/infer", G), 404)
    add(10, "%2e%2e%2f in a model name", req("POST", "/v2/models/%2e%2e%2fetc/infer", G), 400)
    add(10, "double encoding %252e%252e%252f", req("POST", "/v2/models/%252e%252e%252f/infer", G),
        404)
    add(10, "overlong UTF-8 %c0%ae%c0%ae", req("POST", "/v2/models/%c0%ae%c0%ae/infer", G), 400)
    add(10, "%00 in the path", req("POST", "/v2/models/num%00.json/infer", G), 400)
    add(10, "// in the path", req("POST", "/v2//models/num/infer", G), 404)
    add(10, "/./ in the path", req("POST", "/v2/./models/num/infer", G), 404)
    add(10, "path over 2 KiB", req("POST", "/v2/models/" + "a" * 2100 + "/infer", G), 414)
    add(10, "request target over 8 KiB", req("GET", "/v2/health/live?q=" + "a" * 8300), 414)
    # 11. model names and versions
    add(11, "bad %-escape in the name", req("POST", "/v2/models/n%zzm/infer", G), 400)
    add(11, "% in the name", req("POST", "/v2/models/n%25m/infer", G), 404)
    add(11, "Unicode confusable name (Cyrillic u)",
        req("POST", "/v2/models/n%D1%83m/infer", G), 404)
    add(11, "trailing dot", req("POST", "/v2/models/num./infer", G), 404)
    add(11, "name over 128 bytes", req("POST", "/v2/models/" + "n" * 200 + "/infer", G), 404)
    add(11, "version 99999999999999999999",
        req("POST", "/v2/models/num/versions/99999999999999999999/infer", G), 400)
    add(11, "version -1", req("POST", "/v2/models/num/versions/-1/infer", G), 400)
    add(11, "version latest", req("POST", "/v2/models/num/versions/latest/infer", G), 400)
    add(11, "empty version", req("POST", "/v2/models/num/versions//infer", G), 404)
    # 12. unknown model
    add(12, "unknown model", req("POST", "/v2/models/nosuch/infer", G), 404)
    add(12, "unknown version", req("POST", "/v2/models/num/versions/9/infer", G), 404)
    add(12, "metadata of an unknown model", req("GET", "/v2/models/nosuch"), 404)
    # 14. body type
    # Deliberate: no Content-Type is taken as JSON, because Triton's own HTTP clients send none
    # (docs/security.md, "Hostile input").
    add(14, "no Content-Type (taken as JSON, as Triton's clients send none)",
        req("POST", P, G, ctype=None), 200)
    add(14, "text/plain", req("POST", P, G, ctype="text/plain"), 415)
    add(14, "multipart/form-data", req("POST", P, G, ctype="multipart/form-data; boundary=x"),
        415)
    add(14, "application/x-www-form-urlencoded",
        req("POST", P, G, ctype="application/x-www-form-urlencoded"), 415)
    add(14, "charset latin-1", req("POST", P, G, ctype="application/json; charset=iso-8859-1"),
        415)
    add(14, "charset utf-8 is fine", req("POST", P, G, ctype="application/json; charset=UTF-8"),
        200)
    add(14, "MLflow: text/plain (MLflow's own answer is 400)",
        req("POST", ML, '{"name":"x"}', ctype="text/plain"), 400)
    add(14, "MLflow: no Content-Type (MLflow's own answer is 400)",
        req("POST", ML, '{"name":"x"}', ctype=None), 400)
    # 15. Content-Encoding
    add(15, "Content-Encoding gzip", req("POST", P, G, headers=[("Content-Encoding", "gzip")]),
        415)
    add(15, "Content-Encoding deflate", req("POST", P, G, headers=[("Content-Encoding",
                                                                    "deflate")]), 415)
    add(15, "Content-Encoding br", req("POST", P, G, headers=[("Content-Encoding", "br")]), 415)
    # JSON classes 16-22, on V2 infer, the native API and MLflow
    def jcase(cls, desc, body, want_v2=400, want_nat=400, want_ml=400, todo_v2=None):
        add(cls, "V2: " + desc, req("POST", P, body), want_v2, **({"todo": todo_v2} if todo_v2
                                                                  else {}))
        add(cls, "native: " + desc, req("POST", NAT, body), want_nat)
        add(cls, "MLflow: " + desc, req("POST", ML, body), want_ml)

    # 16. syntax
    jcase(16, "empty body", b"")
    jcase(16, "only whitespace", b"  \r\n\t ")
    jcase(16, "truncated document", G[:-7])
    jcase(16, "trailing bytes after the document", G + b' {"a":1}')
    # 17.
    jcase(17, "UTF-8 BOM", b"\xef\xbb\xbf" + G)
    jcase(17, "a comment", b"/* c */" + G)
    jcase(17, "single quotes", G.replace(b'"', b"'"))
    jcase(17, "unquoted keys", G.replace(b'"inputs"', b"inputs"))
    jcase(17, "trailing comma", G[:-1] + b",}")
    # 18.
    jcase(18, "control character in a string", G.replace(b'"input-0"', b'"input\x01-0"'))
    jcase(18, "invalid escape", G.replace(b'"input-0"', b'"input\\q0"'))
    jcase(18, "lone surrogate \\ud800", G.replace(b'"input-0"', b'"input\\ud800"'))
    jcase(18, "invalid UTF-8", G.replace(b'"input-0"', b'"input\xff\xfe"'))
    jcase(18, "overlong UTF-8", G.replace(b'"input-0"', b'"input\xc0\xaf"'))
    jcase(18, "\\u0000 in a key", G.replace(b'"inputs"', b'"inp\\u0000uts"'))
    jcase(18, "Infinity", tensor([1, 2, 3, 4, 5, "INF"]).replace('"INF"', "Infinity"))
    add(18, "V2: NaN (gyre reads NaN as a missing value, as XGBoost)",
        req("POST", P, tensor([1, 2, 3, 4, 5, "NAN"]).replace('"NAN"', "NaN")), 200)
    # 19. top level
    for b in (b"[]", b'"inputs"', b"42", b"null", b"true"):
        jcase(19, "top level %s" % b.decode(), b)
    # 20. depth
    jcase(20, "depth 33", b'{"a":' * 33 + b"1" + b"}" * 33)
    jcase(20, "depth 100,000 of arrays", b"[" * 100000 + b"]" * 100000)
    jcase(20, "depth 100,000 unclosed", b'{"a":' * 100000)
    # 21. keys
    jcase(21, "duplicate key", b'{"inputs":[],' + G[1:])
    jcase(21, "unknown top-level key", G[:-1] + b',"inptus":[]}')
    jcase(21, "required key missing", b'{"outputs":[]}')
    jcase(21, "null where a value is required", b'{"inputs":null,"name":null}')
    # 22. many keys
    many = "{" + ",".join('"k%d":1' % i for i in range(10001)) + "}"
    jcase(22, "10,001 keys", many)
    coll = "{" + ",".join('"%s":1' % ("Aa" * 4 if i == 0 else "".join(
        "Aa" if (i >> j) & 1 else "BB" for j in range(14))) for i in range(10000)) + "}"
    jcase(22, "10,000 keys that collide in a naive hash", coll)
    jcase(22, "1 MiB key (over the body caps)", '{"' + "k" * (1 << 20) + '":1}', want_v2=413,
          want_nat=413, want_ml=413)
    add(22, "V2: 512 KiB key", req("POST", P, '{"' + "k" * (1 << 19) + '":1}'), 400)
    # 23. special numbers
    add(23, "1e999", req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "1e999")), 400)
    add(23, "-1e999", req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "-1e999")), 400)
    add(23, "1e-400 (underflows to 0)",
        req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "1e-400")), 200)
    add(23, "-0", req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "-0")), 200)
    add(23, "a denormal", req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "4e-320")),
        200)
    # 24. big numbers and number syntax
    add(24, "2^53+1 in an FP32 tensor", req("POST", P, tensor([9007199254740993, 2, 3, 4, 5, 6])),
        200)
    add(24, "2^63 in an INT64 tensor",
        req("POST", P, tensor([9223372036854775808, 2, 3, 4, 5, 6], datatype="INT64")), 400)
    add(24, "10,000-digit number",
        req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "9" * 10000)), 400)
    add(24, "leading zeros", req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "007")),
        400)
    add(24, "+1", req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "+1")), 400)
    add(24, "hex 0x10", req("POST", P, tensor([1, 2, 3, 4, 5, "X"]).replace('"X"', "0x10")), 400)
    # 25. ragged, rank
    add(25, "ragged array", req("POST", P, tensor([[1, 2, 3, 4, 5, 6], [1, 2]], shape=(2, 6))),
        400)
    add(25, "rank 1 for a rank-2 signature", req("POST", P, tensor([1, 2, 3, 4, 5, 6],
                                                                   shape=(6,))), 400)
    add(25, "rank 3 for a rank-2 signature", req("POST", P, tensor([[ROW]], shape=(1, 1, 6))), 400)
    # 26. shapes
    add(26, "shape product overflowing 64 bits",
        req("POST", P, tensor(ROW, shape=(4294967296, 4294967296, 6))), 413)
    add(26, "shape [2^32, 6]", req("POST", P, tensor(ROW, shape=(4294967296, 6))), 413)
    add(26, "zero dimension", req("POST", P, tensor([], shape=(0, 6))), 400)
    add(26, "negative dimension", req("POST", P, tensor(ROW, shape=(-1, 6))), 400)
    # 27. caps (the server runs with --max-elements 1200)
    add(27, "batch of 201 rows over --max-elements", req("POST", P, tensor([ROW] * 201,
                                                                          shape=(201, 6))), 413)
    add(27, "declared 10^6 rows with little data", req("POST", P, tensor(ROW, shape=(1000000, 6))),
        413)
    add(27, "body over --max-body", req("POST", P, tensor([ROW] * 40000, shape=(40000, 6))), 413)
    # 28. element types
    add(28, "boolean in an FP32 tensor", req("POST", P, tensor([True, 2, 3, 4, 5, 6])), 400)
    add(28, "string in an FP32 tensor", req("POST", P, tensor(["1", 2, 3, 4, 5, 6])), 400)
    add(28, "object in an FP32 tensor", req("POST", P, tensor([{}, 2, 3, 4, 5, 6])), 400)
    add(28, "datatype not a string", req("POST", P, tensor(ROW, datatype=7)), 400)
    # 29. data present, binary sizes (V2 JSON has no base64; the binary extension instead)
    add(29, "empty data array", req("POST", P, tensor([])), 400)
    add(29, "no data and no binary_data_size",
        req("POST", P, infer_body([{"name": "input-0", "shape": [1, 6], "datatype": "FP32"}])),
        400)
    add(29, "binary header length past the body",
        req("POST", P, G, headers=[("Inference-Header-Content-Length", "99999")]), 400)
    add(29, "binary_data_size larger than the binary part",
        req("POST", P, infer_body([{"name": "input-0", "shape": [1, 6], "datatype": "FP32",
                                    "parameters": {"binary_data_size": 24}}]).encode() + b"\0" * 8,
            headers=[("Inference-Header-Content-Length",
                      str(len(infer_body([{"name": "input-0", "shape": [1, 6], "datatype": "FP32",
                                           "parameters": {"binary_data_size": 24}}]))))]), 400)
    return C


def check_body(desc, status, hdrs, body, leaks):
    """Error bodies: at most 1 KiB, no internal text. Returns a problem or ''."""
    if status == CLOSE or status < 400:
        return ""
    if len(body) > MAX_ERROR_BODY:
        return "error body is %d bytes (> %d)" % (len(body), MAX_ERROR_BODY)
    text = body.decode("utf-8", "replace")
    for p in leaks:
        if p.search(text):
            return "error body leaks %r: %s" % (p.pattern, text[:300])
    return ""


def run_cases(port, home):
    ok, _, why = legit(port)
    if not ok:
        out("FAIL", "the server answers a legitimate inference before the corpus", why)
        return
    leaks = LEAKS + [re.compile(re.escape(home))]
    times = []
    ncase = 0
    for cls, desc, data, want, o in corpus():
        ncase += 1
        name = "class %d: %s -> %s" % (cls, desc, want if want != CLOSE else "closed, no response")
        try:
            st, hdrs, body, dt = exchange(port, data, timeout=o.get("timeout", 10))
            err = ""
        except socket.timeout:
            st, hdrs, body, dt, err = "timeout", {}, b"", 0, "no answer and no close in time"
        except (OSError, ValueError) as e:
            st, hdrs, body, dt, err = "error", {}, b"", 0, str(e)
        if st != CLOSE and isinstance(st, int) and st >= 400:
            times.append(dt)
        problem = ""
        if st != want:
            problem = "got %s, want %s %s; body: %r" % (st, want, err, body[:300])
        else:
            problem = check_body(desc, st, hdrs, body, leaks)
            if not problem and st == 405 and "allow" not in hdrs:
                problem = "405 without an Allow header"
            if not problem and st == 503 and hdrs["#"].get("retry-after") != 1:
                problem = "503 without exactly one Retry-After"
        ok, _, why = legit(port)
        if not ok:
            problem = (problem + "; " if problem else "") + "after it, " + why
        if o.get("todo") and problem:
            out("TODO", name, o["todo"] + " (" + problem + ")")
        elif problem:
            out("FAIL", name, problem)
        else:
            out("PASS", name)
    run_stress(port)
    if times:
        out("#", "%d cases; median rejection round trip %.1f ms (new connection each)" %
            (ncase, 1000 * statistics.median(times)))


# ---------------------------------------------------------------- class 30


def run_stress(port):
    # 30: a malformed request followed by a good one on the same connection (pipelined).
    bad = req("POST", INFER_PATH, b"{oops", close=False)
    good = req("POST", INFER_PATH, GOOD)
    s = connect(port)
    try:
        send_all(s, bad + good)
        r = Reader(s)
        a = r.response()
        b = r.response()
    finally:
        s.close()
    got = (a and a[0], b and b[0])
    res = "PASS" if got == (400, 200) else "FAIL"
    out(res, "class 30: pipelined malformed then good request -> 400 then 200", "got %s" % (got,))

    # 6: a Content-Length 5 bytes short on a kept-alive connection, then a good request: the
    # first answer is the truncated document's 400, the 5 left-over bytes glue onto the next
    # request line ("]]}]}POST ...", an unknown method: 405), then the connection closes.
    short = req("POST", INFER_PATH, GOOD, headers=[("Content-Length", str(len(GOOD) - 5))],
                close=False)
    s = connect(port)
    try:
        send_all(s, short + good)
        r = Reader(s)
        got = []
        for _ in range(3):
            x = r.response()
            got.append(x[0] if x else CLOSE)
            if not x:
                break
    finally:
        s.close()
    out("PASS" if got == [400, 405, CLOSE] else "FAIL",
        "class 6: Content-Length short of the body, kept alive: 400, the left-over bytes fail "
        "cleanly (405), closed", "got %s" % (got,))

    # Two good requests pipelined.
    s = connect(port)
    try:
        send_all(s, req("POST", INFER_PATH, GOOD, close=False) + good)
        r = Reader(s)
        a, b = r.response(), r.response()
    finally:
        s.close()
    got = (a and a[0], b and b[0])
    out("PASS" if got == (200, 200) else "FAIL",
        "class 30: two pipelined good requests -> 200, 200",
        "got %s" % (got,))

    # 12: an unloaded model answers 503 with one Retry-After until it is loaded again.
    st, _, _, _ = exchange(port, req("POST", "/v2/repository/models/num/unload", b""))
    for desc, data in (("infer", req("POST", INFER_PATH, GOOD)),
                       ("infer on its version", req("POST", "/v2/models/num/versions/1/infer",
                                                    GOOD)),
                       ("model ready", req("GET", "/v2/models/num/ready"))):
        s2, h, b, _ = exchange(port, data)
        good = st == 200 and s2 == 503 and h["#"].get("retry-after") == 1
        kind = "PASS" if good else "FAIL"
        why = "unload %s; got %s %s %r" % (st, s2, h.get("#"), b[:200])
        out(kind, "class 12: %s of an unloaded model -> 503 with one Retry-After" % desc, why)
    st, _, _, _ = exchange(port, req("POST", "/v2/repository/models/num/load", b""))
    ok, _, why = legit(port)
    out("PASS" if st == 200 and ok else "FAIL", "class 12: loaded again, it answers 200",
        "load %s; %s" % (st, why))
    s2, _, b, _ = exchange(port, req("POST", "/v2/models/num/versions/1/infer", GOOD))
    out("PASS" if s2 == 200 else "FAIL", "class 12: loaded again, its version answers 200 too",
        "got %s %r" % (s2, b[:200]))

    # Cancelled mid-body: half a body, then the client goes away.
    for k in range(3):
        s = connect(port)
        data = req("POST", INFER_PATH, GOOD)
        send_all(s, data[:len(data) - len(GOOD) // (k + 2)])
        if k == 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    ok, _, why = legit(port)
    out("PASS" if ok else "FAIL", "class 30: three requests cancelled mid-body (one by RST); the"
        " server still answers", why)

    # The same request while the model is unloaded and loaded again, from 4 threads.
    errs = []
    codes = {}
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                st, h, b, _ = exchange(port, req("POST", INFER_PATH, GOOD))
            except (OSError, ValueError) as e:
                errs.append(str(e))
                continue
            codes[st] = codes.get(st, 0) + 1
            if st not in (200, 404, 503):
                errs.append("status %s: %r" % (st, b[:200]))
            if st == 503 and h["#"].get("retry-after") != 1:
                errs.append("503 without exactly one Retry-After")
    ts = [threading.Thread(target=hammer) for _ in range(4)]
    for t in ts:
        t.start()
    rl = []
    for _ in range(5):
        for op in ("unload", "load"):
            st, _, b, _ = exchange(port, req("POST", "/v2/repository/models/num/" + op, b""))
            rl.append(st)
        time.sleep(0.05)
    time.sleep(0.2)
    stop.set()
    for t in ts:
        t.join()
    ok, _, why = legit(port)
    out("PASS" if not errs and all(x == 200 for x in rl) and ok else "FAIL",
        "class 30: inference during 5 unload/load cycles answers only 200, 404 or 503+Retry-After",
        "statuses %s; load/unload %s; %s %s" % (codes, rl, errs[:3], why))


# ---------------------------------------------------------------- class 13: auth


def run_auth(port, tokfile, logfile):
    toks = dict(ln.split("=", 1) for ln in open(tokfile).read().split())
    P = INFER_PATH
    G = GOOD
    good = toks["predictor"]
    cases = [
        ("no Authorization", [], 401),
        ("wrong scheme (Basic)", [("Authorization", "Basic dXNlcjpwYXNz")], 401),
        ("Bearer without a token", [("Authorization", "Bearer")], 401),
        ("two Authorization headers", [("Authorization", "Bearer " + good),
                                       ("Authorization", "Bearer " + toks["viewer"])], 400),
        ("token with a bad checksum", [("Authorization", "Bearer " + good[:-1] +
                                        ("A" if good[-1] != "A" else "B"))], 401),
        ("truncated token", [("Authorization", "Bearer " + good[:20])], 401),
        ("expired token", [("Authorization", "Bearer " + toks["expired"])], 401),
        ("revoked token", [("Authorization", "Bearer " + toks["revoked"])], 401),
        ("token of a role without inference (viewer)", [("Authorization",
                                                         "Bearer " + toks["viewer"])], 403),
        ("token scoped to another model", [("Authorization", "Bearer " + toks["scoped"])], 403),
        ("valid predictor token", [("Authorization", "Bearer " + good)], 200),
    ]
    for desc, h, want in cases:
        st, hdrs, body, _ = exchange(port, req("POST", P, G, headers=h))
        problem = "" if st == want else "got %s, want %s; body %r" % (st, want, body[:300])
        problem = problem or check_body(desc, st, hdrs, body, LEAKS)
        if not problem and st == 401 and "www-authenticate" not in hdrs:
            problem = "401 without WWW-Authenticate"
        out("PASS" if not problem else "FAIL", "class 13: %s -> %d" % (desc, want), problem)
    # The token in the query string is not a credential, and is never logged.
    st, _, body, _ = exchange(port, req("POST", P + "?access_token=" + good + "&token=" + good, G))
    out("PASS" if st == 401 else "FAIL", "class 13: token in the query string -> 401",
        "got %s %r" % (st, body[:200]))
    time.sleep(0.3)
    log = open(logfile, errors="replace").read()
    out("PASS" if good not in log else "FAIL", "class 13: the token never appears in the log",
        "found in the server log")
    # MLflow's error code for a missing login.
    st, _, body, _ = exchange(port, req("GET", "/api/2.0/mlflow/experiments/search"))
    out("PASS" if st == 401 and b'"error_code":"UNAUTHENTICATED"' in body else "FAIL",
        "class 13: MLflow without a token -> 401 UNAUTHENTICATED", "got %s %r" % (st, body[:300]))
    st, _, body, _ = exchange(port, req("POST", "/api/2.0/mlflow/experiments/create",
                                        '{"name":"x"}', headers=[("Authorization",
                                                                  "Bearer " + toks["viewer"])]))
    out("PASS" if st == 403 and b'"error_code":"PERMISSION_DENIED"' in body else "FAIL",
        "class 13: MLflow write as viewer -> 403 PERMISSION_DENIED", "got %s %r" % (st, body[:300]))


# ---------------------------------------------------------------- 4.6: slow clients

ATTACKER = "127.0.0.2"
CLIENT = "127.0.0.3"
ESTABLISHED = 1  # tcpi_state in struct tcp_info (linux/tcp.h)


def tcp_state(s):
    try:
        return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except OSError:
        return -1


def server_states(port):
    """{client port: (TCP state, "tx_queue:rx_queue")} of the server's side of connections
    from 127.0.0.2, from /proc/net/tcp. A slow reader's own socket cannot see the server
    close (the FIN waits behind data it never reads), but the server's side leaves
    ESTABLISHED (01) at once."""
    want_local = "0100007F:%04X" % port
    want_peer = "0200007F:"
    res = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            p = ln.split()
            if p[1] == want_local and p[2].startswith(want_peer):
                res[int(p[2].split(":")[1], 16)] = (int(p[3], 16), p[4])
    return res


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))]


class Attack:
    """The attack connections from 127.0.0.2, driven from one thread: each has a kind, the
    time it was opened, and the time the server was first seen to have closed it."""

    def __init__(self, port, counts):
        self.port = port
        self.counts = counts
        # [kind, sock, opened, closed_at, next_send, pending bytes, server queues, last change,
        #  first bytes sent]
        self.conns = []
        self.stop = threading.Event()
        self.errors = []

    def open_all(self):
        slowloris_head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " % INFER_PATH).encode()
        slowpost_head = req("POST", INFER_PATH, None, headers=[("Content-Length", "100000")],
                            ctype="application/json", close=False)
        reader_req = b"GET /v2/models/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % MODEL.encode()
        plan = [("idle", self.counts[3], b""), ("slowloris", self.counts[0], slowloris_head),
                ("slowpost", self.counts[1], slowpost_head),
                ("slowreader", self.counts[2], reader_req * 300)]
        for kind, n, first in plan:
            for i in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if kind == "slowreader":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.bind((ATTACKER, 0))
                try:
                    s.connect((HOST, self.port))
                except OSError as e:
                    self.errors.append("connect %s: %s" % (kind, e))
                    s.close()
                    continue
                s.setblocking(False)
                now = time.monotonic()
                self.conns.append([kind, s, now, None, now + (i % 20) * 0.1, first, None, now,
                                   None])

    def run(self):
        srv, srv_at = {}, 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            if now - srv_at >= 0.25:  # /proc/net/tcp is long under attack: read it 4 times a s
                srv, srv_at = server_states(self.port), now
            for c in self.conns:
                kind, s, opened, closed, nxt, pend = c[:6]
                if closed is not None:
                    continue
                st, queues = srv.get(s.getsockname()[1], (-1, None))
                if st == ESTABLISHED and queues != c[6]:  # the server wrote or read
                    c[6], c[7] = queues, now
                if tcp_state(s) != ESTABLISHED or st != ESTABLISHED:
                    c[3] = now
                    continue
                if pend and now >= nxt:
                    try:
                        if kind == "slowreader":
                            n = s.send(pend)
                            c[5] = pend[n:]
                        else:
                            s.send(pend)
                            c[5] = b""
                        if c[8] is None:
                            c[8] = now
                    except BlockingIOError:
                        pass
                    except OSError:
                        c[3] = now
                        continue
                if kind in ("slowloris", "slowpost") and not c[5] and now >= nxt:
                    # slowloris: one header byte every 2 s; slow POST: 10 body bytes a second
                    if kind == "slowloris":
                        c[5], c[4] = b"a", now + 2.0
                    else:
                        c[5], c[4] = b"          ", now + 1.0
            self.stop.wait(0.05)

    def close(self):
        for c in self.conns:
            c[1].close()


def rss_kib(pid):
    """The resident set of process @pid in KiB (0 when unknown)."""
    try:
        for ln in open("/proc/%d/status" % pid):
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def legit_loop(port, stop, tx):
    """Sequential inference from CLIENT until @stop is set; sends (latencies, errors)."""
    lat, errs = [], []
    while not stop.is_set():
        ok, dt, why = legit(port, CLIENT)
        if ok:
            lat.append(dt)
        else:
            errs.append(why)
        time.sleep(0.005)
    tx.send((lat, errs))


def run_slow(port, timeout_s, counts, window, pid=0, rss_limit_mib=64):
    # Baseline: sequential inference from 127.0.0.3, each on a new connection.
    for _ in range(20):  # warm-up
        legit(port, CLIENT)
    base = []
    for _ in range(150):
        ok, dt, why = legit(port, CLIENT)
        if not ok:
            out("FAIL", "slow clients: baseline inference", why)
            return
        base.append(dt)
    rss0 = rss_kib(pid) if pid else 0
    rss_max = rss0
    atk = Attack(port, counts)
    t_open = time.monotonic()
    atk.open_all()
    th = threading.Thread(target=atk.run)
    th.start()
    # The legitimate client runs in a process of its own: in this one, the attack thread's
    # bookkeeping would hold the interpreter lock and inflate the latencies it measures.
    stop_legit = multiprocessing.Event()
    rx, tx = multiprocessing.Pipe(duplex=False)
    lp = multiprocessing.Process(target=legit_loop, args=(port, stop_legit, tx))
    lp.start()
    t_end = t_open + window
    while time.monotonic() < t_end or (time.monotonic() < t_end + 5 and
                                       any(c[3] is None for c in atk.conns)):
        if pid:
            rss_max = max(rss_max, rss_kib(pid))
        time.sleep(0.05)
    stop_legit.set()
    lat, errs = rx.recv()
    lp.join()
    atk.stop.set()
    th.join()
    bp, ap = p99(base), p99(lat) if lat else float("inf")
    bound = max(3 * bp, 0.010)
    n_open = len(atk.conns)
    out("PASS" if n_open == sum(counts) and not atk.errors else "FAIL",
        "slow clients: %d attack connections opened from %s (%d slowloris, %d slow POST, "
        "%d slow readers, %d idle)" % (sum(counts), ATTACKER, counts[0], counts[1], counts[2],
                                       counts[3]), "; ".join(atk.errors[:3]))
    out("PASS" if not errs and len(lat) >= 50 else "FAIL",
        "slow clients: the legitimate client (%s) sees 0 errors in %d inferences" %
        (CLIENT, len(lat)), "; ".join(errs[:3]) + (" only %d requests" % len(lat)))
    out("#", "legitimate p99: baseline %.2f ms, under attack %.2f ms (ratio %.2f; bound %.2f ms "
        "= max(3 x baseline, 10 ms))" % (bp * 1e3, ap * 1e3, ap / bp if bp else 0, bound * 1e3))
    out("PASS" if ap <= bound else "FAIL",
        "slow clients: legitimate p99 within max(3 x baseline, 10 ms)",
        "p99 %.2f ms, baseline %.2f ms" % (ap * 1e3, bp * 1e3))
    # Every attack connection is closed by the server within its deadline: the header
    # deadline (slowloris, idle), the body rate check (slow POST, after the same time) and the
    # idle timeout (slow readers: no write progress), all --timeout; 3 s of slack for the
    # reaper's period and a busy machine.
    for kind in ("slowloris", "slowpost", "slowreader", "idle"):
        cs = [c for c in atk.conns if c[0] == kind]
        open_ = [c for c in cs if c[3] is None]
        # A slow reader's deadline runs from the server's last progress on it (libmicrohttpd's
        # idle timeout): it answers while the socket buffers take its responses. A slow POST's
        # from its request headers (sent up to 2 s after the connection, staggered); the
        # others' from the connection.
        ref = {"slowreader": 7, "slowpost": 8}.get(kind, 2)
        took = [c[3] - c[ref] for c in cs if c[3] is not None and c[ref] is not None]
        early = [t for t in took if t < timeout_s - 1.0]
        late = [t for t in took if t > timeout_s + 3.0]
        out("#", "%s: %d closed by the server, after %.1f to %.1f s" %
            (kind, len(took), min(took) if took else 0, max(took) if took else 0))
        out("PASS" if cs and not open_ and not early and not late else "FAIL",
            "slow clients: all %d %s connections closed between %.1f and %.1f s" %
            (len(cs), kind, timeout_s - 1.0, timeout_s + 3.0),
            "%d still open, %d early, %d late" % (len(open_), len(early), len(late)))
    if pid:
        out("#", "server RSS: %d KiB before the attack, at most %d KiB during it" %
            (rss0, rss_max))
        if rss_limit_mib:
            out("PASS" if rss0 and rss_max - rss0 < rss_limit_mib * 1024 else "FAIL",
                "slow clients: server RSS grows less than %d MiB during the attack" %
                rss_limit_mib, "%d KiB -> %d KiB" % (rss0, rss_max))
    atk.close()
    ok, _, why = legit(port, CLIENT)
    out("PASS" if ok else "FAIL", "slow clients: the server answers after the attack", why)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "cases":
        run_cases(int(sys.argv[2]), sys.argv[3])
    elif mode == "auth":
        run_auth(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif mode == "slow":
        run_slow(int(sys.argv[2]), float(sys.argv[3]), (200, 50, 50, 500), float(sys.argv[3]) + 4,
                 int(sys.argv[4]) if len(sys.argv) > 4 else 0,
                 int(sys.argv[5]) if len(sys.argv) > 5 else 64)
    else:
        sys.exit("usage: hostile.py cases|auth|slow ...")
