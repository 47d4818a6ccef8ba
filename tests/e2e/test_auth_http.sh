#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: authentication and authorization of `gyre server --auth` over real HTTP - a
# role x endpoint matrix (datasets, MLflow experiments/runs/registered models, V2 metadata and
# inference, /metrics, public health) checked cell by cell against the table below; 401 with
# WWW-Authenticate and the reason for missing, malformed, expired and revoked tokens (the
# revocation within the cache TTL); MLflow's {"error_code","message"} format for refusals;
# audit records of refusals (rate-limited) and of successful writes; no CORS headers; the
# non-loopback refusal without --auth, --insecure-no-auth's warning, GYRE_AUTH=1.
# backends: sqlite postgres
# shellcheck disable=SC2154 # TOK_<role> are assigned through eval
. "$(dirname "$0")/lib.sh"
D=$T_DIR
PY=/usr/bin/python3
SRV_PID=""
PORT=""
export USER=e2e-user

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
    : >"$D/server.log"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" "$@" 2>>"$D/server.log" &
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

# call TOKEN METHOD PATH [BODY]: one request (no Authorization header when TOKEN is "-");
# the status in $CODE, the body in $BODY, the headers in $D/hdr.
call() {
    tok=$1
    m=$2
    p=$3
    shift 3
    set -- -sS -o "$D/body" -D "$D/hdr" -w '%{http_code}' -X "$m" "$@"
    if [ "$tok" != "-" ]; then set -- -H "Authorization: Bearer $tok" "$@"; fi
    if [ "$m" = POST ] || [ "$m" = PATCH ]; then set -- -H 'Content-Type: application/json' "$@"; fi
    CODE=$(curl "$@" "http://127.0.0.1:$PORT$p" 2>"$D/curl.err")
    BODY=$(cat "$D/body")
}
hdr_has() { OUT=$(tr -d '\r' <"$D/hdr"); contains "$1" "$2"; }
body_has() { OUT=$BODY; contains "$1" "$2"; }

# ------------------------------------------------------------------ a model to serve

$PY -c "
import random
random.seed(3)
print('a,b,c,d,e,f,y')
for i in range(400):
    x = [random.random() for _ in range(6)]
    print(','.join('%.4f' % v for v in x) + ',' + ('1' if x[0] + x[1] > 1 else '0'))
" >"$D/train.csv"
run "ingest a training set" 0 gyre ingest train "$D/train.csv"
run "train and register model num" 0 gyre train --dataset train --target y --rounds 2 \
    --param max_depth=2 --register num --alias champion --quiet

# ------------------------------------------------------------------ secure defaults

run "a non-loopback host without --auth is refused" 2 gyre server --host 0.0.0.0 --port 0
contains "saying so" "not a loopback address"
contains "naming --auth" "--auth"
run "--auth with --insecure-no-auth is a usage error" 2 gyre server --auth --insecure-no-auth --port 0

start_server --host 0.0.0.0 --insecure-no-auth --quiet-access-log
OUT=$(cat "$D/server.log")
contains "--insecure-no-auth logs a warning at start" "WITHOUT authentication"
call - GET /api/v1/datasets
eq "without --auth a request needs no token" "$CODE" 200
stop_server

start_server --host 0.0.0.0 --auth --quiet-access-log
call - GET /api/v1/datasets
eq "--auth on a non-loopback host starts and requires a token" "$CODE" 401
stop_server

# ------------------------------------------------------------------ tokens of each role

for r in admin maintainer data-scientist viewer predictor; do
    t=$(gyre token create --role "$r" --name "tok-$r" --expires 1h 2>/dev/null)
    eq "token of role $r created" "${#t}" 54
    eval "TOK_$(printf '%s' "$r" | tr - _)=\$t"
done
EXP=$(gyre token create --role admin --name short --expires 1s 2>/dev/null)
REV=$(gyre token create --role admin --name to-revoke --expires 1h 2>/dev/null)

GYRE_AUTH=1 start_server --quiet-access-log
OUT=$(cat "$D/server.log")
contains "GYRE_AUTH=1 turns authentication on" "(auth on)"

# Fixtures made with the admin token.
call "$TOK_admin" POST /api/2.0/mlflow/runs/create '-d' '{"run_name": "fixture"}'
eq "admin creates a run" "$CODE" 200
RUN_ID=$(printf '%s' "$BODY" | $PY -c "import json,sys; print(json.load(sys.stdin)['run']['info']['run_id'])")
INFER='{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"FP32","data":[[0.1,0.2,0.3,0.4,0.5,0.6]]}]}'

# ------------------------------------------------------------------ the matrix
# One line per endpoint: name, method, path, body, then the expected outcome for
# admin maintainer data-scientist viewer predictor and no token
# (ok = any 2xx; bodies use @R@ for a per-role unique name).
M=/api/2.0/mlflow
cat >"$D/matrix" <<EOF
datasets.list|GET|/api/v1/datasets||ok ok ok ok 403 401
datasets.create|POST|/api/v1/datasets|{"name": "ds-@R@"}|ok ok ok 403 403 401
experiments.search|GET|$M/experiments/search?max_results=5||ok ok ok ok 403 401
experiments.create|POST|$M/experiments/create|{"name": "exp-@R@"}|ok ok ok 403 403 401
runs.get|GET|$M/runs/get?run_id=$RUN_ID||ok ok ok ok 403 401
runs.create|POST|$M/runs/create|{"run_name": "r-@R@"}|ok ok ok 403 403 401
registered-models.search|GET|$M/registered-models/search||ok ok ok ok 403 401
registered-models.create|POST|$M/registered-models/create|{"name": "rm-@R@"}|ok ok ok 403 403 401
v2.model|GET|/v2/models/num||ok ok ok ok ok 401
v2.infer|POST|/v2/models/num/infer|$INFER|ok ok ok 403 ok 401
metrics|GET|/metrics||ok ok ok ok 403 401
health|GET|/api/v1/health||ok ok ok ok ok ok
pipelines.list|GET|/api/v1/pipelines||ok ok ok ok 403 401
pipelines.trigger|POST|/api/v1/pipelines/nope/runs||404 404 404 403 403 401
deployments.compare|GET|/api/v1/deployments/nope/compare||404 404 404 404 403 401
tokens.list|GET|/api/v1/tokens||ok 403 403 403 403 401
tokens.create|POST|/api/v1/tokens|{"role": "viewer", "name": "t-@R@", "expires": "1h"}|ok 403 403 403 403 401
tokens.revoke|DELETE|/api/v1/tokens/nope||404 403 403 403 403 401
audit.list|GET|/api/v1/audit?limit=5||ok ok 403 403 403 401
audit.verify|GET|/api/v1/audit/verify||ok ok 403 403 403 401
EOF
ROLES="admin maintainer data-scientist viewer predictor none"
while IFS='|' read -r name method path body want; do
    i=1
    for r in $ROLES; do
        w=$(printf '%s\n' "$want" | cut -d' ' -f$i)
        i=$((i + 1))
        if [ "$r" = none ]; then tok=-; else tok=$(eval "printf '%s' \"\$TOK_$(printf '%s' "$r" | tr - _)\""); fi
        if [ -n "$body" ]; then
            b=$(printf '%s' "$body" | sed "s/@R@/$r/g")
            call "$tok" "$method" "$path" -d "$b"
        else
            call "$tok" "$method" "$path"
        fi
        got=$CODE
        case $CODE in 2??) got=ok ;; esac
        if [ "$got" = "$w" ]; then
            ok "$name as $r: $w"
        else
            not_ok "$name as $r: $w" "status $CODE; body: $BODY"
        fi
    done
done <"$D/matrix"

# ------------------------------------------------------------------ refusals in detail

call - GET /api/v1/datasets
eq "no token: 401" "$CODE" 401
hdr_has "with WWW-Authenticate: Bearer" 'WWW-Authenticate: Bearer realm="gyre"'
body_has "saying how to authenticate" "Authorization: Bearer"
call gyre_nonsense GET /api/v1/datasets
eq "a malformed token: 401" "$CODE" 401
body_has "saying it is malformed" "malformed token"
call - GET /api/v1/datasets -H 'Authorization: Basic dXNlcjpwYXNz'
eq "another scheme: 401" "$CODE" 401
sleep 1.2
call "$EXP" GET /api/v1/datasets
eq "an expired token: 401" "$CODE" 401
body_has "saying it expired" "token expired"
call "$REV" GET /api/v1/datasets
eq "a token works before its revocation" "$CODE" 200
run "revoke it" 0 gyre token revoke to-revoke
sleep 2.5
call "$REV" GET /api/v1/datasets
eq "a revoked token: 401 (after the cache TTL)" "$CODE" 401
body_has "saying it was revoked" "token revoked"
call - GET "$M/experiments/search?max_results=1"
eq "MLflow route without a token: 401" "$CODE" 401
body_has "in MLflow's error format" '"error_code"'
call "$TOK_viewer" POST "$M/experiments/create" -d '{"name": "nope"}'
eq "MLflow write as viewer: 403" "$CODE" 403
body_has "in MLflow's format" '"error_code"'
body_has "naming the missing permission" "experiments:write"
call "$TOK_predictor" GET /api/v1/datasets
body_has "a 403 names the role" "role predictor"

# Tokens and the audit log over HTTP (admin).
call "$TOK_admin" POST /api/v1/tokens -d '{"role": "viewer", "name": "via-http", "expires": "1h"}'
eq "POST /api/v1/tokens creates a token" "$CODE" 201
hdr_has "never cached" "Cache-Control: no-store"
HT=$(printf '%s' "$BODY" | $PY -c "import json,sys; print(json.load(sys.stdin)['token'])")
call "$HT" GET /api/v1/datasets
eq "the new token works" "$CODE" 200
call "$TOK_admin" GET /api/v1/tokens
body_has "the list names it" '"via-http"'
OUT=$BODY
case "$OUT" in *"$HT"*) not_ok "the list never shows a token" ;; *) ok "the list never shows a token" ;; esac
call "$TOK_admin" POST /api/v1/tokens -d '{"role": "viewer", "rôle": "x"}'
eq "an unknown field is refused" "$CODE" 400
call "$TOK_admin" DELETE /api/v1/tokens/via-http
eq "DELETE /api/v1/tokens/NAME revokes it" "$CODE" 200
sleep 2.5
call "$HT" GET /api/v1/datasets
eq "the revoked token: 401" "$CODE" 401
call "$TOK_admin" GET "/api/v1/audit?action=http.post&limit=100"
body_has "the audit log over HTTP records the creation" '"route":"POST /api/v1/tokens","status":201'
call "$TOK_maintainer" GET /api/v1/audit/verify
body_has "and verifies as intact" '"intact":true'

# A token scoped to another model than the one in the path.
SC=$(gyre token create --role data-scientist --name scoped --scope 'models/other' --expires 1h 2>/dev/null)
call "$SC" GET /v2/models/num
eq "a token scoped to another model: 403" "$CODE" 403
body_has "saying it has no scope" "scope"

# ------------------------------------------------------------------ no CORS
curl -sS -o /dev/null -D "$D/hdr" -H 'Origin: https://evil.example' \
    -H "Authorization: Bearer $TOK_admin" "http://127.0.0.1:$PORT/api/v1/datasets"
if grep -qi '^access-control-' "$D/hdr"; then not_ok "no Access-Control-* headers" "$(cat "$D/hdr")"; else ok "no Access-Control-* headers"; fi
curl -sS -o /dev/null -D "$D/hdr" -X OPTIONS -H 'Origin: https://evil.example' \
    -H 'Access-Control-Request-Method: POST' "http://127.0.0.1:$PORT/api/v1/datasets"
if grep -qi '^access-control-' "$D/hdr"; then not_ok "no CORS preflight answer" "$(cat "$D/hdr")"; else ok "no CORS preflight answer"; fi

# ------------------------------------------------------------------ audit log
sleep 0.3 # the post-request hook writes after the response
run "audit list --json" 0 gyre audit list --json --limit 1000
printf '%s' "$OUT" >"$D/audit.json"
aq() { $PY -c "import json,sys; a=json.load(open('$D/audit.json')); print($1)"; }
eq "a refused request is recorded (auth.denied, anonymous)" \
    "$(aq "any(e['action']=='auth.denied' and e['actor']=='anonymous' and e['result'].startswith('denied:') for e in a)")" True
eq "a 403 is recorded with the token's name and role" \
    "$(aq "any(e['action']=='auth.denied' and e['actor']=='tok-viewer' and e['role']=='viewer' and 'experiments:write' in e['result'] for e in a)")" True
eq "a revoked token's refusal names the token id, not the token" \
    "$(aq "any(e['action']=='auth.denied' and e['actor'].startswith('token:') and 'token revoked' in e['result'] for e in a)")" True
eq "a successful write is recorded (actor, role, action, resource, route, status)" \
    "$(aq "any(e['action']=='http.post' and e['actor']=='tok-data-scientist' and e['role']=='data-scientist' and e['resource']=='datasets' and e['result']=='ok' and e['detail']['route']=='POST /api/v1/datasets' and 200<=e['detail']['status']<300 for e in a)")" True
eq "MLflow writes are recorded" \
    "$(aq "any(e['action']=='http.post' and e['actor']=='tok-maintainer' and e['detail']['route'].endswith('experiments/create') for e in a)")" True
eq "inference is not recorded" "$(aq "any('infer' in e['detail'].get('route','') for e in a)")" False
eq "reads are not recorded" "$(aq "any(e['action']=='http.get' for e in a)")" False
case $(cat "$D/audit.json") in
*"$TOK_admin"* | *"$REV"*) not_ok "the audit log never holds a token" ;;
*) ok "the audit log never holds a token" ;;
esac

# A flood of refusals is rate-limited: 60 requests in one curl run.
set --
for i in $(seq 60); do set -- "$@" "http://127.0.0.1:$PORT/api/v1/datasets?flood=$i"; done
curl -s "$@" >/dev/null
sleep 0.3
run "audit list after the flood" 0 gyre audit list --json --action auth.denied --limit 10000
printf '%s' "$OUT" >"$D/audit.json"
FLOOD=$(aq "sum(1 for e in a if 'flood=' in e['resource'] or False)")
N=$(aq "sum(1 for e in a if e['resource']=='GET /api/v1/datasets' and e['actor']=='anonymous')")
if [ "$N" -lt 60 ]; then ok "refusals are rate-limited ($N of 60+ recorded)"; else not_ok "refusals are rate-limited" "$N recorded"; fi
eq "the query is not part of the recorded resource" "$FLOOD" 0
run "audit verify" 0 gyre audit verify

stop_server
done_testing
