#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: drift of served traffic. Train and deploy a model with every request logged,
# send unshifted traffic, check `gyre drift report` compares the logged inputs with the model's
# training data and finds no drift; send shifted traffic and check that a report on the last
# rows finds it (one feature of six moves: --drift-share 0.1); check the stored history, the window
# options and the Prometheus gauges. The report also holds a prediction record of output_0
# (see test_drift_monitor.sh), outside the input verdict.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }

start_server() {
    rm -f "$D/ready"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
        2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    PORT=$(cat "$D/ready")
}
# Stopping the server flushes the prediction log.
stop_server() {
    kill "$SRV_PID"
    wait "$SRV_PID"
    SRV_PID=""
}

gyre generate transactions --rows 3000 --seed 5 >"$D/tx.csv"
gyre generate transactions --rows 600 --seed 11 >"$D/same.csv"
gyre generate transactions --rows 600 --seed 12 --shift >"$D/shifted.csv"
run "ingest the training data" 0 gyre ingest tx "$D/tx.csv"
run "train and register a model" 0 gyre train --dataset tx --target is_fraud --rounds 5 \
    --param max_depth=3 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register dm --quiet
run "deploy it with every request logged" 0 gyre deploy create dd --route dm@1 --log-sample 1

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
    conn.request('POST', '/v2/models/dd/infer', body, {'Content-Type': 'application/json'})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    n += len(batch)
print(n)
EOF

run "no prediction log yet: exit 3" 3 gyre drift report dd
contains "it says so" "has no prediction log"
start_server
eq "600 unshifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/same.csv" a)" 600
stop_server

run "report on unshifted traffic" 0 gyre drift report dd --drift-share 0.1 --json "$D/r1.json" --html "$D/r1.html"
eq "no drift, inputs only, against the training data" "$(py "
import json
r = json.load(open('$D/r1.json'))
names = [f['feature'] for f in r['features'] if f['role'] == 'input']
preds = [f['feature'] for f in r['features'] if f['role'] == 'prediction']
print(r['drift'], r['reference']['dataset'], r['current']['rows'], sorted(names), preds,
      r['dataset']['features'])
")" "False tx@1 600 ['amount', 'card_present', 'customer_age', 'distance_km', 'hour', 'velocity_1h'] ['prediction:output_0'] 6"

start_server
eq "600 shifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/shifted.csv" b)" 600
stop_server

run "report on the last 600 rows exits 4 with --fail-on-drift" 4 gyre drift report dd \
    --last-rows 600 --drift-share 0.1 --json "$D/r2.json" --fail-on-drift
eq "the shifted window drifted" "$(py "
import json
r = json.load(open('$D/r2.json'))
d = [f['feature'] for f in r['features'] if f['drift']]
print(r['drift'], r['current']['rows'], len(d) > 0)
")" "True 600 True"
run "a report for model version 1 covers all 1200 rows" 0 gyre drift report dd \
    --model-version 1 --json "$D/r3.json" --no-store
eq "1200 rows in the window" "$(py "import json; print(json.load(open('$D/r3.json'))['current']['rows'])")" 1200
run "an unknown model version: exit 3" 3 gyre drift report dd --model-version 7
contains "it says so" "no row answered by model version 7"
run "a bad --last-rows is a usage error" 2 gyre drift report dd --last-rows 0

eq "history holds the two stored reports, newest first" "$(gyre drift history dd --json | py "
import json, sys
h = json.load(sys.stdin)
print([(e['drift'], e['report']['current']['rows']) for e in h])
" 2>&1)" "[(True, 600), (False, 600)]"
run "history table" 0 gyre drift history dd
contains "it lists the drifted report" "yes"

start_server
curl -sS "http://127.0.0.1:$PORT/metrics" >"$D/metrics.txt"
stop_server
OUT=$(cat "$D/metrics.txt")
contains "gyre_drift_detected from the newest report" 'gyre_drift_detected{deployment="dd"} 1'
eq "gyre_drift_score per feature and statistic" "$(py "
import json, re
r = json.load(open('$D/r2.json'))
want = {f['feature']: f['statistics']['wasserstein_norm'] for f in r['features']
        if f['status'] == 'ok' and f['type'] == 'numeric' and f['role'] == 'input'}
got = {}
for line in open('$D/metrics.txt'):
    m = re.match(r'gyre_drift_score\{deployment=\"dd\",feature=\"([^\"]+)\",statistic=\"wasserstein_norm\"\} (\S+)', line)
    if m:
        got[m.group(1)] = float(m.group(2))
print(len(want) > 0 and all(abs(got.get(k, -1) - v) <= 1e-12 * max(1, abs(v)) for k, v in want.items()))
")" True

done_testing
