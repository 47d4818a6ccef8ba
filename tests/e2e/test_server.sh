#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: `gyre server` over real HTTP on loopback - readiness via --ready-file, health,
# JSON errors (404, 405 + Allow, 400 for bad JSON and bad %-escapes, 413 by Content-Length and
# chunked, 414, 431), the native dataset API (create, ingest CSV over HTTP, list, show,
# versions; bad CSV -> 400 with line:column), request ids, the access log, a slow client cut
# off by --timeout while others are served, SIGTERM letting an in-flight upload finish with
# exit 0, and the refusal of a non-loopback --host without --insecure-no-auth.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
PY=/usr/bin/python3
SRV_PID=""
PORT=""

stop_server() {
    if [ -n "$SRV_PID" ]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=""
    fi
}
trap 'stop_server; t_cleanup' EXIT

# start_server ARGS...: starts gyre server on an ephemeral port and waits for its ready file.
start_server() {
    rm -f "$D/ready"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" "$@" 2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
        i=$((i + 1))
    done
    PORT=$(cat "$D/ready" 2>/dev/null)
    if [ -n "$PORT" ]; then ok "server ready on port $PORT"; else not_ok "server ready" "$(cat "$D/server.log")"; fi
}

# req DESC WANT_STATUS CURL_ARGS...: one request; body in $BODY, headers in $D/hdr.
req() {
    desc=$1
    want=$2
    shift 2
    code=$(curl -sS -o "$D/body" -D "$D/hdr" -w '%{http_code}' "$@" 2>"$D/curl.err")
    BODY=$(cat "$D/body")
    if [ "$code" = "$want" ]; then
        ok "$desc"
    else
        not_ok "$desc" "status $code, wanted $want; body: $BODY $(cat "$D/curl.err")"
    fi
}

# body_has DESC NEEDLE / hdr_has DESC NEEDLE
body_has() { OUT=$BODY; contains "$1" "$2"; }
hdr_has() { OUT=$(tr -d '\r' <"$D/hdr"); contains "$1" "$2"; }
json() { printf '%s' "$BODY" | $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

run "a non-loopback host is refused" 2 gyre server --host 0.0.0.0 --port 0
contains "saying how to allow it" "--insecure-no-auth"
run "a host name is a usage error" 2 gyre server --host example.invalid --port 0

start_server --timeout 2 --max-body 1K --max-upload 64K --threads 2
U="http://127.0.0.1:$PORT"
OUT=$(cat "$D/server.log")
contains "it says where it listens" "gyre server listening on http://127.0.0.1:$PORT"

req "health" 200 "$U/api/v1/health"
eq "health body" "$BODY" '{"status":"ok"}'
hdr_has "JSON content type" "Content-Type: application/json"
req "HEAD of a GET route" 200 -I "$U/api/v1/health"
req "version" 200 "$U/api/v1/version"
eq "version names the store" "$(json 'd["name"], d["store"] in ("sqlite", "postgresql")')" "gyre True"
req "a client request id is echoed" 200 -H 'X-Request-Id: e2e-42' "$U/api/v1/health"
hdr_has "in X-Request-Id" "X-Request-Id: e2e-42"

req "unknown path is 404" 404 "$U/api/v1/nope"
eq "with a JSON error" "$(json 'd["error"]')" "no such endpoint: GET /api/v1/nope"
req "wrong method is 405" 405 -X DELETE "$U/api/v1/datasets"
hdr_has "with Allow" "Allow: GET, HEAD, POST"
body_has "and a JSON error" '"error":"method DELETE is not allowed'
req "bad %-escape in the path is 400" 400 "$U/api/v1/datasets/a%zz"
body_has "saying so" "bad %-escape"
req "bad %-escape in the query is 400" 400 "$U/api/v1/datasets?x=%G1"
body_has "naming the parameter" 'query parameter \"x\"'
req "bad JSON is 400" 400 -X POST -H 'Content-Type: application/json' -d '{"name": ' "$U/api/v1/datasets"
body_has "with the parser's position" "request body: line 1, column"
req "JSON nested past 64 levels is 400" 400 -X POST -d "$($PY -c 'print("["*70 + "]"*70)')" "$U/api/v1/datasets"
head -c 2048 /dev/zero | tr '\0' 'x' >"$D/2k"
req "a body over --max-body is 413 (Content-Length)" 413 -X POST --data-binary @"$D/2k" "$U/api/v1/datasets"
body_has "naming the limit" "the limit is 1024 bytes"
req "a chunked body over --max-body is 413" 413 -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$D/2k" "$U/api/v1/datasets"
req "a too-long URL is 414" 414 "$U/api/v1/health?q=$(head -c 9000 /dev/zero | tr '\0' a)"
set --
i=0
while [ $i -lt 120 ]; do set -- "$@" -H "X-H$i: v"; i=$((i + 1)); done
req "too many header fields is 431" 431 "$@" "$U/api/v1/health"
req "the server is still up" 200 "$U/api/v1/health"

# The native dataset API.
req "create a dataset" 201 -X POST -H 'Content-Type: application/json' \
    -d '{"name": "tx", "schema": [{"name": "id", "type": "int64"}, {"name": "amount", "type": "float64"}]}' "$U/api/v1/datasets"
req "creating it again is 409" 409 -X POST -d '{"name": "tx"}' "$U/api/v1/datasets"
printf 'id,amount\n1,12.5\n2,-0.25\n3,\n' >"$D/a.csv"
req "ingest CSV over HTTP" 201 -X POST -H 'Content-Type: text/csv' --data-binary @"$D/a.csv" "$U/api/v1/datasets/tx/ingest"
eq "version 1 with 3 rows" "$(json 'd["version"], d["rows"], d["total_rows"]')" "1 3 3"
printf '{"id": 4, "amount": 1.5}\n' >"$D/b.jsonl"
req "ingest JSON Lines with ?format=jsonl" 201 -X POST --data-binary @"$D/b.jsonl" "$U/api/v1/datasets/tx/ingest?format=jsonl"
eq "version 2 holds 4 rows" "$(json 'd["version"], d["total_rows"]')" "2 4"
printf 'id,amount\n5,1.0\n6,abc\n' >"$D/bad.csv"
req "bad CSV over HTTP is 400" 400 -X POST --data-binary @"$D/bad.csv" "$U/api/v1/datasets/tx/ingest?format=csv"
body_has "naming line and column" "body:3:3:"
req "an unknown format is 400" 400 -X POST --data-binary @"$D/a.csv" "$U/api/v1/datasets/tx/ingest?format=xml"
req "an empty body is 400" 400 -X POST -H 'Content-Length: 0' "$U/api/v1/datasets/tx/ingest?format=csv"
req "list datasets" 200 "$U/api/v1/datasets"
eq "tx at version 2 with 4 rows" "$(json '[(x["name"], x["latest_version"], x["rows"]) for x in d["datasets"]]')" "[('tx', 2, 4)]"
req "show the latest version" 200 "$U/api/v1/datasets/tx"
eq "with schema and profile" "$(json 'd["version"], d["rows"], [c["name"] for c in d["schema"]], d["profile"]["columns"][1]["nulls"]')" "2 4 ['id', 'amount'] 1"
req "list versions" 200 "$U/api/v1/datasets/tx/versions"
eq "two versions" "$(json '[v["version"] for v in d["versions"]]')" "[1, 2]"
req "show version 1" 200 "$U/api/v1/datasets/tx/versions/1"
eq "3 rows in version 1" "$(json 'd["rows"]')" "3"
req "an unknown version is 404" 404 "$U/api/v1/datasets/tx/versions/9"
req "a bad version is 400" 400 "$U/api/v1/datasets/tx/versions/x"
req "an unknown dataset is 404" 404 "$U/api/v1/datasets/nope"
run "the CLI sees what came over HTTP" 0 gyre dataset versions tx --json
eq "two versions there too" "$(printf '%s' "$OUT" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
big=$($PY -c 'print("id,amount"); [print(f"{i},{i}.5") for i in range(8000)]')
printf '%s\n' "$big" >"$D/big.csv"
req "an upload over --max-upload is 413" 413 -X POST --data-binary @"$D/big.csv" "$U/api/v1/datasets/tx/ingest?format=csv"

# A slow client that stops in the middle of its headers is cut off by --timeout 2.
cat >"$D/slow.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
s.settimeout(15)
try:
    print("closed" if s.recv(100) == b"" else "answered")
except ConnectionResetError:
    print("closed")
except socket.timeout:
    print("still open")
PY
$PY "$D/slow.py" "$PORT" >"$D/slow.out" &
SLOW=$!
req "other clients are served meanwhile" 200 "$U/api/v1/health"
wait $SLOW
eq "the slow client is disconnected" "$(cat "$D/slow.out")" "closed"
req "and the server is fine" 200 "$U/api/v1/health"

OUT=$(cat "$D/server.log")
contains "the access log has a line per request" "access method=GET path=/api/v1/health status=200 bytes=15 us="
contains "with the request id" "id=e2e-42 remote=127.0.0.1:"
contains "and the 413s" "path=/api/v1/datasets status=413"

# SIGTERM while an upload is in flight: it completes, then the server exits 0.
$PY -c 'print("id,amount"); [print(f"{i},{i}.5") for i in range(3500)]' >"$D/mid.csv"
curl -sS -o "$D/slow-up" -w '%{http_code}' --limit-rate 12K -X POST -H 'Content-Type: text/csv' \
    --data-binary @"$D/mid.csv" "$U/api/v1/datasets/up/ingest" >"$D/slow-up.code" 2>&1 &
UP=$!
sleep 0.7
kill -TERM "$SRV_PID"
wait $UP
eq "the in-flight upload finishes with 201" "$(cat "$D/slow-up.code")" 201
wait "$SRV_PID"
eq "the server exits 0" "$?" 0
SRV_PID=""
OUT=$(cat "$D/server.log")
contains "and logs the shutdown" "SIGTERM received: shutting down"
contains "after the upload" "server stopped"
if curl -s -m 2 "$U/api/v1/health" >/dev/null 2>&1; then not_ok "nothing listens afterwards"; else ok "nothing listens afterwards"; fi

# JSON access log, IPv6, --quiet-access-log.
: >"$D/server.log"
GYRE_LOG_FORMAT=json start_server --host ::1
req "IPv6 loopback" 200 -g "http://[::1]:$PORT/api/v1/health"
stop_server
eq "a JSON access line" "$(grep '"msg":"access"' "$D/server.log" | $PY -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["method"], d["path"], d["status"], d["remote"].startswith("[::1]:"))')" "GET /api/v1/health 200 True"
: >"$D/server.log"
start_server --quiet-access-log
req "quiet server" 200 "http://127.0.0.1:$PORT/api/v1/health"
stop_server
if grep -q "access method" "$D/server.log"; then not_ok "--quiet-access-log writes no access lines"; else ok "--quiet-access-log writes no access lines"; fi

done_testing
