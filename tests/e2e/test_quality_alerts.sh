#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: data quality at the V2 API. `gyre server --drift-every 1s` counts the infer
# requests each endpoint refuses for their input by kind (gyre_input_errors_total{deployment,
# kind} on /metrics: shape, type, missing, malformed, too_large; unknown endpoints are not
# counted), and each round compares every deployment's refused share since the previous round
# with --quality-error-rate: a burst of bad requests fires GyreDataQuality on the webhook (a
# tiny python3 http.server on a free port of 23600-23699, which also stands in for
# Alertmanager's /api/v2/alerts) once, naming the kinds with their counts; good traffic only
# resolves it. The deployment logs nothing (--log-sample 0): the
# quality check does not need the prediction log.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
HOOK_PID=""
trap 'for p in $SRV_PID $HOOK_PID; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }

cat >"$D/hook.py" <<'EOF'
import http.server, json, os, sys
out, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(out, 'a') as f:
            f.write(json.dumps({'path': self.path, 'body': json.loads(body)}) + '\n')
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
for port in range(23600, 23700):
    try:
        srv = http.server.HTTPServer(('127.0.0.1', port), H)
        break
    except OSError:
        continue
open(portfile + '.tmp', 'w').write(str(port))
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
EOF
touch "$D/hook.jsonl"
/usr/bin/python3 "$D/hook.py" "$D/hook.jsonl" "$D/hook.port" &
HOOK_PID=$!
i=0
while [ ! -s "$D/hook.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
HOOK="http://127.0.0.1:$(cat "$D/hook.port")"

# send.py PORT MODEL PLAN: one request per letter of PLAN, on one connection: g good, m
# malformed JSON, s wrong shape, t BYTES for the numeric inputs, i an unknown input name, l over
# --max-elements (spaces in PLAN are ignored). Prints "STATUS:COUNT" per HTTP status.
cat >"$D/send.py" <<'EOF'
import http.client, json, sys
port, model, plan = int(sys.argv[1]), sys.argv[2], ''.join(sys.argv[3:])
row = [120.5, 13.0, 1.0, 41.0, 3.2, 1.0]
bodies = {
    'g': {'inputs': [{'name': 'input-0', 'shape': [1, 6], 'datatype': 'FP64', 'data': row}]},
    's': {'inputs': [{'name': 'input-0', 'shape': [1, 5], 'datatype': 'FP64', 'data': row[:5]}]},
    't': {'inputs': [{'name': 'input-0', 'shape': [1, 6], 'datatype': 'BYTES',
                      'data': ['a'] * 6}]},
    'i': {'inputs': [{'name': 'amount', 'shape': [1], 'datatype': 'FP64', 'data': [1.0]},
                     {'name': 'nope', 'shape': [1], 'datatype': 'FP64', 'data': [1.0]}]},
    'l': {'inputs': [{'name': 'input-0', 'shape': [200, 6], 'datatype': 'FP64',
                      'data': row * 200}]},
}
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
out = []
for c in plan:
    body = '{"inputs": [' if c == 'm' else json.dumps(bodies[c])
    conn.request('POST', '/v2/models/%s/infer' % model, body, {'Content-Type': 'application/json'})
    r = conn.getresponse()
    r.read()
    out.append(str(r.status))
print(' '.join('%s:%d' % (s, out.count(s)) for s in sorted(set(out))))
EOF
send() { /usr/bin/python3 "$D/send.py" "$PORT" "$@"; }
metric() {
    curl -s "http://127.0.0.1:$PORT/metrics" |
        sed -n "s/^gyre_input_errors_total{deployment=\"$1\",kind=\"$2\"} //p"
}
# quality_hooks: the GyreDataQuality POSTs so far, "STATUS:DEPLOYMENT" each.
quality_hooks() {
    py "
import json
hs = [json.loads(l) for l in open('$D/hook.jsonl')]
print(' '.join('%s:%s' % (h['body']['status'], h['body']['deployment']) for h in hs
               if h['path'] == '/quality' and h['body']['alert'] == 'GyreDataQuality'))"
}
# am_hooks: the Alertmanager POSTs so far, "ALERTNAME:DEPLOYMENT:firing|resolved" each.
am_hooks() {
    py "
import json, datetime
t = lambda v: datetime.datetime.fromisoformat(v.replace('Z', '+00:00'))
hs = [json.loads(l) for l in open('$D/hook.jsonl')]
print(' '.join('%s:%s:%s' % (a['labels']['alertname'], a['labels']['deployment'],
                             'firing' if (t(a['endsAt']) - t(a['startsAt'])).days > 30
                             else 'resolved')
               for h in hs if h['path'] == '/api/v2/alerts' for a in h['body']))"
}
# wait_hooks WANT: waits up to 8 s for quality_hooks to print WANT.
wait_hooks() {
    i=0
    while [ "$(quality_hooks)" != "$1" ] && [ $i -lt 80 ]; do sleep 0.1; i=$((i + 1)); done
}

gyre generate transactions --rows 800 --seed 5 >"$D/tx.csv"
run "ingest the training data" 0 gyre ingest tx "$D/tx.csv"
run "train and register a model" 0 gyre train --dataset tx --target is_fraud --rounds 3 \
    --param max_depth=3 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register qm --quiet
run "deploy it without a prediction log" 0 gyre deploy create qa --route qm@1 --log-sample 0

run "--quality-error-rate needs --drift-every" 2 gyre server --port 0 --quality-error-rate 0.1
contains "it says so" "need --drift-every"
run "--quality-error-rate must be in (0, 1)" 2 gyre server --port 0 --drift-every 1s \
    --quality-error-rate 1.5
contains "it says why" "--quality-error-rate must be a number in (0, 1)"

"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
    --drift-every 1s --quality-error-rate 0.2 --max-elements 1000 \
    --alert-webhook "$HOOK/quality" --alertmanager "$HOOK" 2>>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$D/ready")

eq "40 good requests are answered" "$(send qa gggggggggggggggggggggggggggggggggggggggg)" 200:40
eq "before any refusal every kind is 0" \
    "$(for k in shape type missing malformed too_large; do metric qa $k; done | tr '\n' ' ')" \
    "0 0 0 0 0 "
sleep 2.2
eq "a round of good traffic sends nothing" "$(quality_hooks)" ""

# Interleaved, so that however the rounds cut the burst, each part is mostly refusals.
eq "the burst: every bad kind is refused with its status" \
    "$(send qa gmmsti gmmsti gmmsti gmmsti gmmsti gmmsti gmmsti gmmsti gmmsti gmmstill)" \
    "200:10 400:50 413:2"
eq "malformed requests are counted" "$(metric qa malformed)" 20
eq "shape errors are counted" "$(metric qa shape)" 10
eq "BYTES for numeric inputs are type errors" "$(metric qa type)" 10
eq "an unknown input name is a missing input" "$(metric qa missing)" 10
eq "requests over --max-elements are too_large" "$(metric qa too_large)" 2
curl -s "http://127.0.0.1:$PORT/metrics" >"$D/metrics.txt"
OUT=$(cat "$D/metrics.txt")
contains "the family is typed as a counter" "# TYPE gyre_input_errors_total counter"

eq "an unknown model answers 404" "$(send nosuch mmm)" 404:3
eq "it has no series" "$(grep -c 'deployment="nosuch"' "$D/metrics.txt")" 0

wait_hooks "firing:qa"
eq "the webhook receives GyreDataQuality firing" "$(quality_hooks)" "firing:qa"
eq "the alert names the kinds with their counts" "$(py "
import json
b = [json.loads(l)['body'] for l in open('$D/hook.jsonl') if '"/quality"' in l][0]
k = b['kinds']
named = all(('%s %d' % (n, c) in b['description']) == (c > 0) for n, c in k.items())
print(sorted(k), named, b['refused'] == sum(k.values()), b['refused'] <= 52,
      b['error_rate'] > 0.2, b['threshold'], 'refused for their input' in b['description'])
")" "['malformed', 'missing', 'shape', 'too_large', 'type'] True True True True 0.2 True"

eq "more refusals" "$(send qa mmmmmmmmmmmmmmmmmmmmmmmmm)" 400:25
sleep 2.2
eq "an alert already firing is not sent again" "$(quality_hooks)" "firing:qa"

eq "good traffic only" "$(send qa gggggggggggggggggggggggggggggggggggggggg)" 200:40
wait_hooks "firing:qa resolved:qa"
eq "it resolves" "$(quality_hooks)" "firing:qa resolved:qa"
i=0
while [ "$(am_hooks)" != "GyreDataQuality:qa:firing GyreDataQuality:qa:resolved" ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
eq "Alertmanager got it fired and resolved, with its own state" "$(am_hooks)" \
    "GyreDataQuality:qa:firing GyreDataQuality:qa:resolved"
eq "the resolution says what the round saw" "$(py "
import json
b = [json.loads(l)['body'] for l in open('$D/hook.jsonl') if '"/quality"' in l][-1]
print(b['alert'], b['refused'], b['description'].startswith('0 of '))
")" "GyreDataQuality 0 True"

kill "$SRV_PID"
wait "$SRV_PID"
SRV_PID=""
OUT=$(cat "$D/server.log")
contains "the server log says it fired" "alert GyreDataQuality fired"
contains "and resolved" "alert GyreDataQuality resolved"

done_testing
