#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: the prediction log. Train a small model, deploy it with --log-sample 1, send N
# V2 requests with known ids, stop the server gracefully, then check that the lake dataset
# predlog-<deployment> holds exactly N rows with the fixed columns, the typed inputs sent and
# the outputs the server returned; /metrics counts the records and no drops; a deployment with
# --log-sample 0 writes nothing.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }
N=60

FEAT='merchant_category:drop;country:drop;tx_id:drop'
gyre generate transactions --rows 2000 --seed 5 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "train a small model" 0 gyre train --dataset tx --target is_fraud --rounds 5 \
    --param max_depth=3 --features "$FEAT" --register pl --quiet
run "deploy with every request logged" 0 gyre deploy create plog --route pl@1 --log-sample 1
run "deploy with nothing logged" 0 gyre deploy create quiet --route pl@1 --log-sample 0

"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
    2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$D/ready")

# N requests of one row each with ids req-0..: the sent rows and answers go to sent.json.
cat >"$D/send.py" <<'EOF'
import csv, http.client, json, sys
port, n, src, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cols = ['amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h']
rows = list(csv.DictReader(open(src)))[:n]
conv = lambda v: 1.0 if v == 'true' else 0.0 if v == 'false' else float(v)
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
sent = []
for i, r in enumerate(rows):
    x = [conv(r[c]) for c in cols]
    body = json.dumps({'id': 'req-%d' % i, 'inputs': [
        {'name': 'input-0', 'shape': [1, 6], 'datatype': 'FP64', 'data': x}]})
    conn.request('POST', '/v2/models/plog/infer', body, {'Content-Type': 'application/json'})
    resp = conn.getresponse()
    d = json.loads(resp.read())
    assert resp.status == 200, d
    sent.append({'id': 'req-%d' % i, 'x': dict(zip(cols, x)), 'y': d['outputs'][0]['data'][0]})
    conn.request('POST', '/v2/models/quiet/infer', body, {'Content-Type': 'application/json'})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200
json.dump(sent, open(out, 'w'))
print(len(sent))
EOF
eq "$N requests answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" $N "$D/tx.csv" "$D/sent.json" 2>&1)" $N
metric() { curl -sS "http://127.0.0.1:$PORT/metrics" | sed -n "s/^$1 //p"; }
eq "gyre_predlog_records_total counts the sampled requests" "$(metric gyre_predlog_records_total)" $N
eq "gyre_predlog_dropped_total is 0" "$(metric gyre_predlog_dropped_total)" 0

kill "$SRV_PID"
wait "$SRV_PID"
eq "the server stopped cleanly" "$?" 0
SRV_PID=""

run "the log is a dataset" 0 gyre dataset show predlog-plog --json
run "export the log" 0 gyre dataset export predlog-plog --format jsonl -o "$D/log.jsonl"
eq "the log matches what was sent and answered" "$(py "
import json
sent = json.load(open('$D/sent.json'))
log = [json.loads(l) for l in open('$D/log.jsonl')]
want_cols = ['request_id', 'time', 'deployment', 'variant', 'model_version', 'latency_us',
             'amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h',
             'output_0']
bad = []
if len(log) != len(sent):
    bad.append('rows %d != %d' % (len(log), len(sent)))
if log and list(log[0].keys()) != want_cols:
    bad.append('columns %s' % list(log[0].keys()))
byid = {r['request_id']: r for r in log}
for s in sent:
    r = byid.get(s['id'])
    if r is None:
        bad.append('missing ' + s['id']); continue
    if r['deployment'] != 'plog' or r['variant'] != 'pl@1' or r['model_version'] != 1:
        bad.append('header of ' + s['id'])
    if not r['latency_us'] > 0:
        bad.append('latency of ' + s['id'])
    for c, v in s['x'].items():
        got = r[c]
        if c == 'card_present':
            got = 1.0 if got else 0.0
        if abs(float(got) - v) > 1e-9 * max(1, abs(v)):
            bad.append('%s %s: %r != %r' % (s['id'], c, got, v))
    if abs(r['output_0'] - s['y']) > 1e-6:
        bad.append('%s output %r != %r' % (s['id'], r['output_0'], s['y']))
print('; '.join(bad[:5]) or 'ok')
")" ok
run "the quiet deployment has no log" 3 gyre dataset show predlog-quiet

# Feedback: labels (both classes) and business values for the first 40 requests, half through
# the CLI and half through the API; the last 20 logged requests get none. Plus one unknown id.
py "
import json
sent = json.load(open('$D/sent.json'))
with open('$D/fb1.csv', 'w') as f:
    f.write('request_id,label,value\n')
    for i, s in enumerate(sent[:20]):
        f.write('%s,%d,%s\n' % (s['id'], 1 if i % 3 == 0 else 0, '' if i == 5 else '%.2f' % (i * 1.5)))
items = [{'request_id': s['id'], 'label': 1 if (i + 20) % 3 == 0 else 0, 'value': (i + 20) * 1.5}
         for i, s in enumerate(sent[20:40])]
items.append({'request_id': 'never-logged', 'label': 1})
json.dump({'deployment': 'plog', 'items': items}, open('$D/fb2.json', 'w'))
"
printf 'request_id,label\nreq-1,abc\n' >"$D/bad.csv"
run "a CSV with a bad label is refused" 1 gyre feedback plog --csv "$D/bad.csv"
contains "naming the line and column" "bad.csv:2: column 2"
run "feedback from a CSV" 0 gyre feedback plog --csv "$D/fb1.csv"
contains "says how many" "stored feedback for 20 requests of plog"

"$GYRE_BIN" server --port 0 --ready-file "$D/ready2" --quiet-access-log --poll-ms 100 \
    2>>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$D/ready2")
post() { curl -sS -o "$D/resp.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$1" "http://127.0.0.1:$PORT/api/v1/feedback"; }
eq "a bad item is refused with 400" "$(post '{"deployment":"plog","items":[{"request_id":"req-0","label":"x"}]}')" 400
eq "an item with neither label nor value is refused" "$(post '{"deployment":"plog","items":[{"request_id":"req-0"}]}')" 400
eq "feedback through the API" "$(post "@$D/fb2.json")" 201
eq "stored all items" "$(py "import json; print(json.load(open('$D/resp.json'))['stored'])")" 21
eq "GET metrics" "$(curl -sS -o "$D/metrics.json" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/deployments/plog/metrics")" 200
curl -sS "http://127.0.0.1:$PORT/metrics" >"$D/prom.txt"
kill "$SRV_PID"
wait "$SRV_PID"
SRV_PID=""
run "gyre feedback metrics --json" 0 gyre feedback metrics plog --json
printf '%s\n' "$OUT" >"$D/metrics_cli.json"
run "gyre feedback metrics" 0 gyre feedback metrics plog
contains "a table per version" "value_mean"

# The oracle: the same metrics computed in Python from the exported log and the labels sent.
cat >"$D/oracle.py" <<'PYEOF'
import json, math, sys
d = sys.argv[1]
log = {}
for l in open(d + '/log.jsonl'):
    r = json.loads(l)
    log.setdefault(r['request_id'], r)
fb = {}
for l in list(open(d + '/fb1.csv'))[1:]:
    rid, lab, val = l.rstrip('\n').split(',')
    fb[rid] = (float(lab), float(val) if val else None)
for it in json.load(open(d + '/fb2.json'))['items']:
    fb[it['request_id']] = (float(it['label']), it.get('value'))
ys, ps, vals = [], [], []
for rid, (lab, val) in fb.items():
    if rid in log:
        ys.append(lab)
        ps.append(log[rid]['output_0'])
        if val is not None:
            vals.append(val)
n = len(ys)
eps = 1.1920928955078125e-07
clip = lambda p: min(max(p, eps), 1 - eps)
pos = [p for p, y in zip(ps, ys) if y == 1]
neg = [p for p, y in zip(ps, ys) if y == 0]
want = {
    'labeled': n, 'valued': len(vals),
    'accuracy': sum((p >= 0.5) == (y == 1) for p, y in zip(ps, ys)) / n,
    'auc': sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg)),
    'logloss': -sum(y * math.log(clip(p)) + (1 - y) * math.log(1 - clip(p))
                    for p, y in zip(ps, ys)) / n,
    'rmse': math.sqrt(sum((p - y) ** 2 for p, y in zip(ps, ys)) / n),
    'mae': sum(abs(p - y) for p, y in zip(ps, ys)) / n,
    'value_sum': sum(vals), 'value_mean': sum(vals) / len(vals),
}
bad = []
for name in sys.argv[2:]:
    got = json.load(open(name))
    counts = (got['feedback'], got['matched'], got['unmatched'], got['logged'])
    if counts != (len(fb), n, len(fb) - n, len(log)):
        bad.append('%s: counts %r' % (name, counts))
    if len(got['versions']) != 1 or got['versions'][0]['version'] != 1:
        bad.append('%s: versions %r' % (name, got['versions']))
        continue
    v = got['versions'][0]
    for k, w in want.items():
        if k not in v or abs(v[k] - w) > 1e-9 * max(1, abs(w)):
            bad.append('%s: %s %r != %r' % (name, k, v.get(k), w))
print('; '.join(bad[:6]) or 'ok %d %d' % (n, len(vals)))
PYEOF
eq "API and CLI metrics equal the oracle's" "$(/usr/bin/python3 "$D/oracle.py" "$D" "$D/metrics.json" "$D/metrics_cli.json" 2>&1)" "ok 40 39"
eq "the AUC gauge in /metrics" "$(sed -n 's/^gyre_online_metric{deployment="plog",version="1",metric="auc"} //p' "$D/prom.txt" | py "import sys, json; g = float(sys.stdin.read()); m = json.load(open('$D/metrics.json'))['versions'][0]['auc']; print(abs(g - m) < 1e-12)" 2>&1)" True
done_testing
