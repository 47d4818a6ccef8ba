#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: drift alerts through the generic webhook from `gyre drift report`, received by a
# tiny python3 http.server on loopback (a free port of 23500-23599). Shifted traffic fires
# {"status": "firing", "alert": "GyreDataDrift", ...} once (GYRE_ALERT_WEBHOOK_URL); a second
# drifted report sends nothing; an unreachable webhook fails the command after storing the
# report and changes no state, so the next report retries; a report without drift resolves it;
# https and URLs with credentials are usage errors.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
HOOK_PID=""
trap 'for p in $SRV_PID $HOOK_PID; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; t_cleanup' EXIT
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
stop_server() {
    kill "$SRV_PID"
    wait "$SRV_PID"
    SRV_PID=""
}
hooks() {
    py "
import json
hs = [json.loads(l) for l in open('$D/hook.jsonl')]
print(len(hs), ' '.join('%s:%s:%s' % (h['path'], h['body']['status'], ','.join(h['body']['drifted_features'])) for h in hs))"
}

cat >"$D/hook.py" <<'EOF'
import http.server, json, os, sys
out, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(out, 'a') as f:
            f.write(json.dumps({'path': self.path, 'type': self.headers.get('Content-Type'),
                                'body': json.loads(body)}) + '\n')
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
for port in range(23500, 23600):
    try:
        srv = http.server.HTTPServer(('127.0.0.1', port), H)
        break
    except OSError:
        continue
open(portfile + '.tmp', 'w').write(str(port))
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
EOF
/usr/bin/python3 "$D/hook.py" "$D/hook.jsonl" "$D/hook.port" &
HOOK_PID=$!
i=0
while [ ! -s "$D/hook.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
HOOK="http://127.0.0.1:$(cat "$D/hook.port")"
touch "$D/hook.jsonl"

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
    conn.request('POST', '/v2/models/wh/infer', body, {'Content-Type': 'application/json'})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    n += len(batch)
print(n)
EOF

gyre generate transactions --rows 3000 --seed 5 >"$D/tx.csv"
gyre generate transactions --rows 600 --seed 12 --shift >"$D/shifted.csv"
gyre generate transactions --rows 600 --seed 11 >"$D/same.csv"
run "ingest the training data" 0 gyre ingest tx "$D/tx.csv"
run "train and register a model" 0 gyre train --dataset tx --target is_fraud --rounds 5 \
    --param max_depth=3 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register whm --quiet
run "deploy it with every request logged" 0 gyre deploy create wh --route whm@1 --log-sample 1

start_server
eq "600 shifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/shifted.csv" a)" 600
stop_server

export GYRE_ALERT_WEBHOOK_URL="$HOOK/alerts"
run "a drifted report fires the webhook (from GYRE_ALERT_WEBHOOK_URL)" 0 gyre drift report wh \
    --drift-share 0.1
contains "it says so" "webhook: GyreDataDrift for wh fired"
ID1=$(gyre drift history wh --json | py 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
eq "one firing POST with the drifted input features" "$(hooks)" "1 /alerts:firing:amount"
eq "its body" "$(py "
import json
h = json.loads(open('$D/hook.jsonl').readline())
b = h['body']
print(h['type'], sorted(b), b['alert'], b['deployment'], b['report_id'] == $ID1,
      b['time'].endswith('Z'), 'drifted' in b['reason'])
")" "application/json ['alert', 'deployment', 'drifted_features', 'reason', 'report_id', 'status', 'time'] GyreDataDrift wh True True True"

run "a second drifted report" 0 gyre drift report wh --drift-share 0.1
case "$OUT" in
*"webhook:"*) not_ok "it sends nothing: already firing" "$OUT" ;;
*) ok "it sends nothing: already firing" ;;
esac
eq "still one POST" "$(hooks | cut -d' ' -f1)" 1

start_server
eq "600 unshifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/same.csv" b)" 600
stop_server

N=$(gyre drift history wh --json | py 'import json,sys; print(len(json.load(sys.stdin)))')
run "an unreachable webhook fails the command (--alert-webhook wins over the environment)" 1 \
    gyre drift report wh --drift-share 0.1 --last-rows 600 --alert-webhook http://127.0.0.1:1/x
contains "the report was still stored" "the report was stored"
contains "the error names the webhook" "webhook"
eq "one more report in the history" \
    "$(gyre drift history wh --json | py 'import json,sys; print(len(json.load(sys.stdin)))')" \
    $((N + 1))
eq "nothing reached the receiver" "$(hooks | cut -d' ' -f1)" 1
run "the next report without drift resolves it" 0 gyre drift report wh --drift-share 0.1 \
    --last-rows 600
contains "it says so" "webhook: GyreDataDrift for wh resolved"
eq "firing then resolved" "$(hooks)" "2 /alerts:firing:amount /alerts:resolved:"
run "another report without drift" 0 gyre drift report wh --drift-share 0.1 --last-rows 600
eq "sends nothing" "$(hooks | cut -d' ' -f1)" 2

run "an https webhook is a usage error" 2 gyre drift report wh --alert-webhook https://127.0.0.1:1
contains "it says why" "https is not supported"
run "a webhook URL with credentials is a usage error" 2 gyre drift report wh \
    --alert-webhook http://u:p@127.0.0.1:1/x
contains "it says why" "must not hold credentials"
GYRE_ALERT_WEBHOOK_URL=ftp://x run "a bad GYRE_ALERT_WEBHOOK_URL is a usage error" 2 \
    gyre drift report wh
unset GYRE_ALERT_WEBHOOK_URL

done_testing
