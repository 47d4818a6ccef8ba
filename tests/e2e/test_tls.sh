#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: `gyre server --tls-cert F --tls-key F` - with a CA and a server certificate
# generated here by openssl: HTTPS works and verifies against the CA (curl --cacert), the
# certificate is refused without the CA, plain HTTP to the TLS port gets no HTTP answer,
# --auth works over TLS, and clear errors for a missing file, a file that is not PEM, a key
# that does not match the certificate, and --tls-cert without --tls-key.
# backends: sqlite
. "$(dirname "$0")/lib.sh"
D=$T_DIR
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

start_server() {
    rm -f "$D/ready"
    : >"$D/server.log"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log "$@" 2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 300 ]; do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
        i=$((i + 1))
    done
    PORT=$(cat "$D/ready" 2>/dev/null)
    if [ -n "$PORT" ]; then ok "server ready on port $PORT"; else not_ok "server ready" "$(cat "$D/server.log")"; fi
}

# A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated key.
cat >"$D/ext.cnf" <<X
subjectAltName=IP:127.0.0.1,DNS:localhost
X
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/ca.key" -out "$D/ca.pem" -days 2 \
    -subj /CN=gyre-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$D/srv.key" -out "$D/srv.csr" -subj /CN=127.0.0.1 2>/dev/null
openssl x509 -req -in "$D/srv.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
    -out "$D/srv.pem" -days 2 -extfile "$D/ext.cnf" 2>/dev/null
openssl genrsa -out "$D/other.key" 2048 2>/dev/null
if [ -s "$D/srv.pem" ] && [ -s "$D/other.key" ]; then ok "test certificates generated"; else not_ok "test certificates generated"; fi

run "--tls-cert without --tls-key is a usage error" 2 gyre server --port 0 --tls-cert "$D/srv.pem"
contains "saying they go together" "go together"
run "a missing certificate file is refused" 3 gyre server --port 0 --tls-cert "$D/nope.pem" --tls-key "$D/srv.key"
contains "naming the flag and file" "--tls-cert: $D/nope.pem"
run "a key given as the certificate is refused" 1 gyre server --port 0 --tls-cert "$D/srv.key" --tls-key "$D/srv.key"
contains "as not a certificate" "not a PEM file with a CERTIFICATE"
run "a certificate given as the key is refused" 1 gyre server --port 0 --tls-cert "$D/srv.pem" --tls-key "$D/srv.pem"
contains "as not a private key" "not a PEM file with a PRIVATE KEY"
run "a key that does not match the certificate is refused" 1 gyre server --port 0 \
    --tls-cert "$D/srv.pem" --tls-key "$D/other.key"
contains "with a hint" "check that --tls-key matches --tls-cert"

start_server --tls-cert "$D/srv.pem" --tls-key "$D/srv.key"
OUT=$(cat "$D/server.log")
contains "the server says it speaks https" "listening on https://127.0.0.1:"
OUT=$(curl -sS --cacert "$D/ca.pem" "https://127.0.0.1:$PORT/api/v1/health" 2>&1)
contains "HTTPS works, verified against the CA" '"status":"ok"'
run "the certificate is not trusted without the CA" 60 curl -sS -o /dev/null "https://127.0.0.1:$PORT/api/v1/health"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/health")
eq "plain HTTP to the TLS port gets no HTTP answer" "$code" 000
stop_server

T=$(gyre token create --role viewer --name tls-viewer --expires 1h 2>/dev/null)
start_server --auth --tls-cert "$D/srv.pem" --tls-key "$D/srv.key"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$D/ca.pem" "https://127.0.0.1:$PORT/api/v1/datasets")
eq "--auth over TLS: no token is 401" "$code" 401
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$D/ca.pem" -H "Authorization: Bearer $T" \
    "https://127.0.0.1:$PORT/api/v1/datasets")
eq "--auth over TLS: a viewer token reads" "$code" 200
stop_server
done_testing
