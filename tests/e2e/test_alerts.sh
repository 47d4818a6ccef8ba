#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: drift alerts through a real Alertmanager (Debian prometheus-alertmanager) on
# loopback. Deploy a model, send shifted traffic, `gyre drift report --alertmanager URL` fires
# GyreDataDrift and Alertmanager lists it as active with the right labels; a second drifted
# report sends nothing (deduplicated); unshifted traffic, and a report on it resolves the alert.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
AM_PID=""
trap 'for p in $SRV_PID $AM_PID; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }
AM_BIN=$(command -v prometheus-alertmanager || true)
if [ -z "$AM_BIN" ]; then
    echo "1..0 # SKIP prometheus-alertmanager is not installed"
    exit 0
fi
AM_PORT=18951

start_server() {
    rm -f "$D/ready"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
        2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    PORT=$(cat "$D/ready")
}
stop_server() {
    kill "$SRV_PID"
    wait "$SRV_PID"
    SRV_PID=""
}

cat >"$D/am.yml" <<'EOF'
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
mkdir -p "$D/am"
"$AM_BIN" --config.file="$D/am.yml" --storage.path="$D/am" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$D/am.log" 2>&1 &
AM_PID=$!
AM="http://127.0.0.1:$AM_PORT"
i=0
while ! curl -sf "$AM/-/ready" >/dev/null 2>&1 && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
run "Alertmanager is up" 0 curl -sf "$AM/-/ready"

gyre generate transactions --rows 3000 --seed 5 >"$D/tx.csv"
gyre generate transactions --rows 600 --seed 12 --shift >"$D/shifted.csv"
gyre generate transactions --rows 600 --seed 11 >"$D/same.csv"
run "ingest the training data" 0 gyre ingest tx "$D/tx.csv"
run "train and register a model" 0 gyre train --dataset tx --target is_fraud --rounds 5 \
    --param max_depth=3 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register am --quiet
run "deploy it with every request logged" 0 gyre deploy create fraud --route am@1 --log-sample 1

cat >"$D/send.py" <<'EOF'
import csv, http.client, json, sys
port, src, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cols = ['amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h']
rows = list(csv.DictReader(open(src)))
conv = lambda v: 1.0 if v == 'true' else 0.0 if v == 'false' else float(v)
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
n = 0
for b in range(0, len(rows), 50):
    batch = rows[b:b + 50]
    x = [conv(r[c]) for r in batch for c in cols]
    body = json.dumps({'id': '%s-%d' % (tag, b), 'inputs': [
        {'name': 'input-0', 'shape': [len(batch), 6], 'datatype': 'FP64', 'data': x}]})
    conn.request('POST', '/v2/models/fraud/infer', body, {'Content-Type': 'application/json'})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    n += len(batch)
print(n)
EOF
# The GyreDataDrift alerts Alertmanager lists: "state deployment severity features endsAt>now".
alerts() {
    curl -sf "$AM/api/v2/alerts?filter=alertname%3D%22GyreDataDrift%22" | py "
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc)
out = []
for a in json.load(sys.stdin):
    ends = datetime.datetime.fromisoformat(a['endsAt'].replace('Z', '+00:00'))
    l = a['labels']
    out.append('%s %s %s [%s] %s' % (a['status']['state'], l.get('deployment'), l.get('severity'),
               a['annotations'].get('drifted_features'), ends > now))
print(';'.join(out))
"
}

start_server
eq "600 shifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/shifted.csv" a)" 600
stop_server

eq "no alert before any report" "$(alerts)" ""
run "a drifted report fires the alert" 0 gyre drift report fraud --drift-share 0.1 \
    --alertmanager "$AM"
contains "it says so" "alert GyreDataDrift for fraud fired"
eq "Alertmanager lists it active with its labels and drifted features" "$(alerts)" \
    "active fraud warning [amount] True"
run "a second drifted report" 0 gyre drift report fraud --drift-share 0.1 --alertmanager "$AM"
case "$OUT" in
*"alert GyreDataDrift"*) not_ok "it sends nothing: the alert already fires" "$OUT" ;;
*) ok "it sends nothing: the alert already fires" ;;
esac
eq "still one active alert" "$(alerts)" "active fraud warning [amount] True"

start_server
eq "600 unshifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/same.csv" b)" 600
stop_server
run "a report without drift resolves the alert (URL from GYRE_ALERTMANAGER_URL)" 0 \
    env GYRE_ALERTMANAGER_URL="$AM" "$GYRE_BIN" drift report fraud --drift-share 0.1 --last-rows 600
contains "it says so" "alert GyreDataDrift for fraud resolved"
eq "Alertmanager no longer lists it as firing" "$(alerts | grep -c True)" 0
run "another report without drift" 0 gyre drift report fraud --drift-share 0.1 \
    --last-rows 600 --alertmanager "$AM"
case "$OUT" in
*"alert GyreDataDrift"*) not_ok "it sends nothing: already resolved" "$OUT" ;;
*) ok "it sends nothing: already resolved" ;;
esac

run "an unreachable Alertmanager fails the command" 1 gyre drift report fraud --drift-share 0.1 \
    --alertmanager http://127.0.0.1:1 --last-rows 1200
contains "the report was still stored" "the report was stored"
run "https is refused (usage error)" 2 gyre drift report fraud --alertmanager https://127.0.0.1:1
contains "it says why" "https is not supported"

done_testing
