#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: `gyre server --tls-cert F --tls-key F` - with a CA and a server certificate
# generated here by openssl: HTTPS works and verifies against the CA (curl --cacert), the
# certificate is refused without the CA, plain HTTP to the TLS port gets no HTTP answer,
# --auth works over TLS, and clear errors for a missing file, a file that is not PEM, a key
# that does not match the certificate, and --tls-cert without --tls-key.
# Client certificates (--tls-client-ca/--tls-client-role): a certificate from that CA acts
# with the role's permissions (a viewer reads, writing is 403) and is audited as cert:<CN>;
# one from another CA is 401 even with a valid token; without one the token path applies,
# unless --tls-client-required; usage errors for the flags.
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

# ---- client certificates: a client CA with "alice", and "mallory" from an unrelated CA
# under the same name (a self-signed certificate claiming CN=alice).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/cca.key" -out "$D/cca.pem" -days 2 \
    -subj /CN=gyre-client-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$D/alice.key" -out "$D/alice.csr" -subj /CN=alice 2>/dev/null
openssl x509 -req -in "$D/alice.csr" -CA "$D/cca.pem" -CAkey "$D/cca.key" -CAcreateserial \
    -out "$D/alice.pem" -days 2 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/mallory.key" -out "$D/mallory.pem" -days 2 \
    -subj /CN=alice 2>/dev/null
if [ -s "$D/alice.pem" ] && [ -s "$D/mallory.pem" ]; then ok "client certificates generated"; else not_ok "client certificates generated"; fi

TLS="--tls-cert $D/srv.pem --tls-key $D/srv.key"
# shellcheck disable=SC2086
run "--tls-client-ca without --auth is a usage error" 2 gyre server --port 0 $TLS \
    --tls-client-ca "$D/cca.pem" --tls-client-role viewer
contains "saying what it needs" "--tls-client-ca needs --tls-cert/--tls-key, --auth and --tls-client-role"
run "--tls-client-ca without --tls-cert is a usage error" 2 gyre server --port 0 --auth \
    --tls-client-ca "$D/cca.pem" --tls-client-role viewer
# shellcheck disable=SC2086
run "--tls-client-ca without --tls-client-role is a usage error" 2 gyre server --port 0 --auth $TLS \
    --tls-client-ca "$D/cca.pem"
# shellcheck disable=SC2086
run "--tls-client-role alone is a usage error" 2 gyre server --port 0 --auth $TLS --tls-client-role viewer
contains "naming the missing flag" "need --tls-client-ca"
# shellcheck disable=SC2086
run "an unknown --tls-client-role is a usage error" 2 gyre server --port 0 --auth $TLS \
    --tls-client-ca "$D/cca.pem" --tls-client-role wizard
contains "naming the flag" "--tls-client-role:"
# shellcheck disable=SC2086
run "a key given as the client CA is refused" 1 gyre server --port 0 --auth $TLS \
    --tls-client-ca "$D/cca.key" --tls-client-role viewer
contains "as not a certificate" "--tls-client-ca $D/cca.key: not a PEM file with a CERTIFICATE"
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' >"$D/bad-ca.pem"
# shellcheck disable=SC2086
run "a client CA that does not parse is refused" 1 gyre server --port 0 --auth $TLS \
    --tls-client-ca "$D/bad-ca.pem" --tls-client-role viewer
contains "naming the file" "--tls-client-ca $D/bad-ca.pem:"

A=$(gyre token create --role admin --name tls-admin --expires 1h 2>/dev/null)
# shellcheck disable=SC2086
start_server --auth $TLS --tls-client-ca "$D/cca.pem" --tls-client-role viewer
U="https://127.0.0.1:$PORT"
ALICE="--cacert $D/ca.pem --cert $D/alice.pem --key $D/alice.key"
MALLORY="--cacert $D/ca.pem --cert $D/mallory.pem --key $D/mallory.key"
# shellcheck disable=SC2086
OUT=$(curl -sS $ALICE -w ' %{http_code}' "$U/api/v1/datasets" 2>&1)
contains "a certificate from the client CA reads as a viewer" '{"datasets":[]} 200'
# shellcheck disable=SC2086
OUT=$(curl -sS $ALICE -w ' %{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"name":"certds","schema":{"fields":[{"name":"x","type":"float64"}]}}' "$U/api/v1/datasets" 2>&1)
contains "... but may not write: 403" " 403"
contains "... naming the certificate's principal and role" "'cert:alice' (role viewer) lacks datasets:write"
# shellcheck disable=SC2086
OUT=$(curl -sS $ALICE -w ' %{http_code}' -X POST -H "Authorization: Bearer $A" \
    -H 'Content-Type: application/json' -d '{"name":"certds"}' "$U/api/v1/datasets" 2>&1)
contains "a verified certificate wins over a token (still 403)" " 403"
# shellcheck disable=SC2086
OUT=$(curl -sS $MALLORY -w ' %{http_code}' "$U/api/v1/datasets" 2>&1)
contains "a certificate from another CA is refused: 401" " 401"
contains "... as not trusted" "client certificate not trusted"
# shellcheck disable=SC2086
OUT=$(curl -sS $MALLORY -w ' %{http_code}' -H "Authorization: Bearer $A" "$U/api/v1/datasets" 2>&1)
contains "... even with a valid token" " 401"
# shellcheck disable=SC2086
OUT=$(curl -sS $MALLORY -w ' %{http_code}' "$U/api/v1/health" 2>&1)
contains "public routes still answer a client with an untrusted certificate" " 200"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$D/ca.pem" "$U/api/v1/datasets")
eq "no certificate and no token: 401" "$code" 401
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$D/ca.pem" -H "Authorization: Bearer $T" \
    "$U/api/v1/datasets")
eq "no certificate: the token path applies (viewer token reads)" "$code" 200
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$D/ca.pem" -H "Authorization: Bearer $A" \
    -X POST -H 'Content-Type: application/json' -d '{}' "$U/api/v1/datasets")
eq "no certificate: an admin token passes the permission check (400 for the empty body)" "$code" 400
stop_server
OUT=$(gyre audit list --actor cert:alice --json 2>&1)
contains "the certificate's refusal is audited as cert:alice" '"auth.denied"'

# shellcheck disable=SC2086
start_server --auth $TLS --tls-client-ca "$D/cca.pem" --tls-client-role data-scientist --tls-client-required
U="https://127.0.0.1:$PORT"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$D/ca.pem" -H "Authorization: Bearer $A" \
    "$U/api/v1/datasets")
eq "--tls-client-required: a token without a certificate is 401" "$code" 401
# shellcheck disable=SC2086
OUT=$(curl -sS $ALICE -w ' %{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
    "$U/api/v1/datasets" 2>&1)
contains "--tls-client-required: the certificate's role (data-scientist) may write (400: empty body)" " 400"
stop_server
done_testing
