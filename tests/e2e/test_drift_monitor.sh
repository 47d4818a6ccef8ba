#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: drift monitoring of served traffic without a CLI call, and the windows.
# - `gyre server --drift-every 1s --drift-tumbling --drift-window rows:300` reports each full
#   window of 300 logged rows once: unshifted traffic gives reports without drift, shifted
#   traffic reports with drift, which starts a run of a pipeline with a drift trigger on the
#   deployment, and fires the webhook once; unshifted traffic again resolves it.
# - `gyre drift report --tumbling rows:N` reports consecutive windows and then says that no
#   full new window has accumulated, storing nothing; `--tumbling time:2s` covers every row
#   exactly once in epoch-aligned windows; `--window 1h` is the sliding time window.
# - Prediction drift: the record of output_0 against the model's training scores, checked
#   against SciPy on the bundle profile's histogram and the logged outputs; /metrics exports it.
# - Calibration of the online metrics (ECE, calibration-in-the-large) against scikit-learn's
#   calibration_curve on the served probabilities and posted labels; exported on /metrics.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
HOOK_PID=""
trap 'for p in $SRV_PID $HOOK_PID; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }

start_server() {
    rm -f "$D/ready"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 "$@" \
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
# Waits (up to 30 s) until the history of dm holds $1 reports.
wait_reports() {
    i=0
    while [ "$(gyre drift history dm --json --limit 1000 | py 'import json,sys; print(len(json.load(sys.stdin)))')" -lt "$1" ] &&
        [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
}
reports() {
    gyre drift history dm --json --limit 1000 | py "
import json, sys
h = json.load(sys.stdin)[::-1]
print(' '.join('%s:%s-%s:%s' % (e['id'] - h[0]['id'] + 1, e['report']['window']['start'],
               e['report']['window']['end'], 'D' if e['drift'] else 'n') for e in h))"
}

# The webhook receiver: a tiny HTTP server on a free loopback port of 23500-23599 that appends
# every POSTed JSON body to hook.jsonl.
cat >"$D/hook.py" <<'EOF'
import http.server, json, sys
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
for port in range(23500, 23600):
    try:
        srv = http.server.HTTPServer(('127.0.0.1', port), H)
        break
    except OSError:
        continue
open(portfile + '.tmp', 'w').write(str(port))
__import__('os').rename(portfile + '.tmp', portfile)
srv.serve_forever()
EOF
/usr/bin/python3 "$D/hook.py" "$D/hook.jsonl" "$D/hook.port" &
HOOK_PID=$!
i=0
while [ ! -s "$D/hook.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
HOOK="http://127.0.0.1:$(cat "$D/hook.port")/hooks/gyre"
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
    conn.request('POST', '/v2/models/dm/infer', body, {'Content-Type': 'application/json'})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    n += len(batch)
print(n)
EOF

gyre generate transactions --rows 3000 --seed 5 >"$D/tx.csv"
gyre generate transactions --rows 600 --seed 11 >"$D/same.csv"
gyre generate transactions --rows 600 --seed 12 --shift >"$D/shifted.csv"
gyre generate transactions --rows 600 --seed 13 >"$D/same2.csv"
run "ingest the training data" 0 gyre ingest tx "$D/tx.csv"
run "train and register a model" 0 gyre train --dataset tx --target is_fraud --rounds 5 \
    --param max_depth=3 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register mm --quiet
run "deploy it with every request logged" 0 gyre deploy create dm --route mm@1 --log-sample 1

run "--drift-window needs --drift-every" 2 gyre server --port 0 --drift-window rows:10
run "a bad --drift-window is a usage error" 2 gyre server --port 0 --drift-every 1s \
    --drift-window rows:0
run "a bad --drift-every is a usage error" 2 gyre server --port 0 --drift-every 10
run "an https webhook is refused" 2 gyre server --port 0 --drift-every 1s \
    --alert-webhook https://127.0.0.1:1/x
contains "it says why" "https is not supported"

printf 'name: retrain-dm\ndata: {dataset: tx}\ntrain: {target: is_fraud}\nregister: {model: mm2}\ntriggers:\n  drift: {deployment: dm}\n' >"$D/p.yaml"
run "a pipeline with a drift trigger on dm" 0 gyre pipeline apply "$D/p.yaml"

# ---------------------------------------------------------------- the in-server monitor
start_server --pipeline-tick-ms 200 --drift-every 1s --drift-tumbling --drift-window rows:300 --drift-share 0.1 \
    --alert-webhook "$HOOK"
eq "600 unshifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/same.csv" a)" 600
wait_reports 2
eq "two tumbling windows reported without a CLI call, no drift" "$(reports)" "1:0-300:n 2:300-600:n"
eq "the webhook was not called" "$(wc -l <"$D/hook.jsonl" | tr -d ' ')" 0
eq "600 shifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/shifted.csv" b)" 600
wait_reports 4
eq "the shifted windows drifted" "$(reports)" "1:0-300:n 2:300-600:n 3:600-900:D 4:900-1200:D"
sleep 1.5
eq "the webhook fired once (deduplicated)" "$(py "
import json
hs = [json.loads(l) for l in open('$D/hook.jsonl')]
h = json.load(open('/dev/stdin'))
first = [e for e in h[::-1] if e['drift']][0]
b = hs[0]['body']
print(len(hs), hs[0]['path'], b['status'], b['alert'], b['deployment'], b['report_id'] == first['id'],
      len(b['drifted_features']) > 0, sorted(b) == sorted(['status', 'alert', 'deployment', 'report_id',
      'drifted_features', 'reason', 'time']))
" <<EOF
$(gyre drift history dm --json --limit 100)
EOF
)" "1 /hooks/gyre firing GyreDataDrift dm True True True"
i=0
while [ "$(gyre pipeline runs retrain-dm --json | py 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] &&
    [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
eq "the stored drift report triggered the pipeline, without a CLI call" "$(gyre pipeline runs retrain-dm --json | py "
import json, sys
print(sorted(set(str(r.get('trigger', r.get('trigger_kind'))) for r in json.load(sys.stdin))))")" "['drift']"
eq "600 unshifted rows answered" "$(/usr/bin/python3 "$D/send.py" "$PORT" "$D/same2.csv" c)" 600
wait_reports 6
eq "no drift again" "$(reports | cut -d' ' -f5-)" "5:1200-1500:n 6:1500-1800:n"
sleep 1.5
eq "the webhook got the resolve" "$(py "
import json
hs = [json.loads(l)['body'] for l in open('$D/hook.jsonl')]
print(len(hs), [b['status'] for b in hs], hs[1]['drifted_features'])
")" "2 ['firing', 'resolved'] []"
sleep 1.5
eq "no full new window: nothing more stored" "$(reports | wc -w | tr -d ' ')" 6
curl -sS "http://127.0.0.1:$PORT/metrics" >"$D/metrics.txt"
stop_server
OUT=$(cat "$D/metrics.txt")
contains "the prediction record is a gauge" \
    'gyre_drift_score{deployment="dm",feature="prediction:output_0",statistic="psi"}'

# ---------------------------------------------------------------- windows from the CLI
run "tumbling rows:600: the first window" 0 gyre drift report dm --tumbling rows:600 \
    --drift-share 0.1 --json "$D/t1.json"
contains "it names the rows" "tumbling 600 rows: log rows 0..599"
run "the second window" 0 gyre drift report dm --tumbling rows:600 --drift-share 0.1 \
    --json "$D/t2.json" --html "$D/t2.html"
contains "the summary gives the prediction verdict" \
    "prediction drift: YES - 1 of 1 model outputs drifted"
run "the third window" 0 gyre drift report dm --tumbling rows:600 --drift-share 0.1 \
    --json "$D/t3.json"
N=$(gyre drift history dm --json --limit 1000 | py 'import json,sys; print(len(json.load(sys.stdin)))')
run "no fourth full window" 0 gyre drift report dm --tumbling rows:600 --json "$D/t4.json"
contains "it says so" "no full new window: 0 of 600 rows logged since log row 1800; nothing stored"
eq "nothing was stored" "$(gyre drift history dm --json --limit 1000 | py 'import json,sys; print(len(json.load(sys.stdin)))')" "$N"
eq "no JSON written either" "$(test -e "$D/t4.json" && echo yes || echo no)" no
eq "windows and verdicts" "$(py "
import json
a, b, c = (json.load(open('$D/t%d.json' % i)) for i in (1, 2, 3))
print(a['window'], a['current']['rows'], [(x['window']['start'], x['window']['end'], x['drift'])
      for x in (a, b, c)])
")" "{'kind': 'tumbling', 'unit': 'rows', 'rows': 600, 'start': 0, 'end': 600} 600 [(0, 600, False), (600, 1200, True), (1200, 1800, False)]"

run "tumbling and --no-store exclude each other" 2 gyre drift report dm --tumbling rows:5 --no-store
run "--window and --last-rows exclude each other" 2 gyre drift report dm --window 1h --last-rows 5
run "a bad --tumbling is a usage error" 2 gyre drift report dm --tumbling days:2
run "a bad --window is a usage error" 2 gyre drift report dm --window 0s
run "sliding time window of 1h" 0 gyre drift report dm --window 1h --no-store --json "$D/w.json"
eq "it covers every row" "$(py "
import json
r = json.load(open('$D/w.json'))
print(r['window'], r['current']['rows'])
")" "{'kind': 'sliding', 'unit': 'time', 'duration_us': 3600000000} 1800"

# Epoch-aligned 2 s windows: wait until the last row's window is over (plus the 3 s grace).
sleep 5
i=0
: >"$D/tt.txt"
while [ $i -lt 40 ]; do
    gyre drift report dm --tumbling time:2s --json "$D/tt$i.json" >"$D/tt.out" 2>&1 || break
    grep -q "nothing stored" "$D/tt.out" && break
    echo "$D/tt$i.json" >>"$D/tt.txt"
    i=$((i + 1))
done
OUT=$(cat "$D/tt.out")
contains "the last call says no full new window" "no full new window of 2s"
eq "time windows: consecutive, aligned, every row once" "$(py "
import json
ws = [json.load(open(p.strip())) for p in open('$D/tt.txt')]
ok = all(w['window']['end'] - w['window']['start'] == 2000000 and w['window']['start'] % 2000000 == 0
         for w in ws)
ok = ok and all(a['window']['end'] <= b['window']['start'] for a, b in zip(ws, ws[1:]))
print(len(ws) >= 1, ok, sum(w['current']['rows'] for w in ws))
")" "True True 1800"

# ---------------------------------------------------------------- prediction drift vs SciPy
run "export the log" 0 sh -c "'$GYRE_BIN' dataset export predlog-dm --format csv >'$D/log.csv'"
run "the model's profile" 0 sh -c "'$GYRE_BIN' model inspect mm@1 >'$D/model.json'"
eq "prediction record of the shifted window equals SciPy on the profile histogram" "$(py "
import csv, json, math
import numpy as np
from scipy.stats import chi2_contingency
from scipy.spatial.distance import jensenshannon
rep = json.load(open('$D/t2.json'))
f = [x for x in rep['features'] if x['feature'] == 'prediction:output_0'][0]
sc = json.load(open('$D/model.json'))['profile']['scores'][0]
e, rc = sc['histogram']['edges'], sc['histogram']['counts']
rows = list(csv.DictReader(open('$D/log.csv')))[600:1200]
v = np.array([float(r['output_0']) for r in rows])
cur = [int((v < e[0]).sum())] + [0] * 20 + [int((v > e[20]).sum())]
for x in v[(v >= e[0]) & (v <= e[20])]:
    t = (x - e[0]) / (e[20] - e[0]) * 20
    cur[1 + min(max(int(t), 0), 19)] += 1
ref = [0] + rc + [0]
keep = [i for i in range(22) if ref[i] or cur[i]]
R, C = np.array([ref[i] for i in keep], float), np.array([cur[i] for i in keep], float)
k = len(keep) + (1 if sc['nonfinite'] else 0)
p = (R + 0.5) / (sc['count'] + sc['nonfinite'] + 0.5 * k)
q = (C + 0.5) / (len(v) + 0.5 * k)
psi = float(((q - p) * np.log(q / p)).sum())
chi, pv, dof, _ = chi2_contingency([R, C])
js = float(jensenshannon(R, C, base=2))
st = f['statistics']
close = lambda a, b: abs(a - b) <= 1e-9 * max(1, abs(b))
print(f['role'], f['drift'], close(st['psi'], psi), close(st['chi2']['statistic'], chi),
      close(st['chi2']['p_value'], pv), st['chi2']['dof'] == dof, close(st['jensenshannon'], js),
      rep['prediction_drift'], f['decision']['effect'], f['decision']['test'])
")" "prediction True True True True True True True psi chi2"

# The HTML page shows the prediction record: rendered in headless Chromium when installed.
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
    echo "ok $((T_N + 1)) # SKIP chromium is not installed (Debian package chromium)"
    T_N=$((T_N + 1))
else
    dom=$(timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-extensions \
        --user-data-dir="$D/chrome" --dump-dom "file://$D/t2.html" 2>"$D/chrome.err")
    body=$(printf '%s' "$dom" | grep -o '<body[^>]*>' | head -n 1)
    eq "the page drew a histogram per compared record, the prediction record included" \
        "$(printf '%s' "$body" | grep -o 'data-rendered="[0-9]*"')" 'data-rendered="7"'
    case "$dom" in
    *'<tr class="drift" data-feature="prediction:output_0">'*'id="prediction-verdict">Prediction drift: 1 of 1'*) ;;
    *'id="prediction-verdict">Prediction drift: 1 of 1'*'<tr class="drift" data-feature="prediction:output_0">'*) ;;
    *) dom="" ;;
    esac
    eq "the prediction record is marked drifted and the page gives the prediction verdict" \
        "$(test -n "$dom" && echo yes)" yes
fi

# ---------------------------------------------------------------- calibration vs scikit-learn
py "
import csv, json, random
random.seed(3)
rows = list(csv.DictReader(open('$D/log.csv')))
items = [{'request_id': r['request_id'],
          'label': 1 if random.random() < min(1.0, 2.5 * float(r['output_0'])) else 0}
         for r in rows[:900]]
json.dump({'deployment': 'dm', 'items': items}, open('$D/fb.json', 'w'))
w = csv.writer(open('$D/fb.csv', 'w'))
w.writerow(['request_id', 'label'])
for it in items:
    w.writerow([it['request_id'], it['label']])
"
run "post feedback labels" 0 gyre feedback dm --csv "$D/fb.csv"
run "online metrics" 0 sh -c "'$GYRE_BIN' feedback metrics dm --json >'$D/om.json'"
eq "ECE and calibration-in-the-large equal scikit-learn's calibration_curve" "$(py "
import csv, json
import numpy as np
from sklearn.calibration import calibration_curve
m = json.load(open('$D/om.json'))['versions'][0]
first = {}
for r in csv.DictReader(open('$D/log.csv')):
    first.setdefault(r['request_id'], float(r['output_0']))
fb = json.load(open('$D/fb.json'))['items']
y = np.array([it['label'] for it in fb], float)
p = np.array([first[it['request_id']] for it in fb])
prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy='uniform')
bins = np.linspace(0, 1, 11)
ids = np.searchsorted(bins[1:-1], p)
counts = np.bincount(ids, minlength=10)
w = counts[counts > 0] / len(p)
ece = float((w * np.abs(prob_pred - prob_true)).sum())
citl = float(p.mean() - y.mean())
close = lambda a, b: abs(a - b) <= 1e-12 * max(1, abs(b))
cb = m['calibration_bins']
print(m['labeled'], close(m['ece'], ece), close(m['calibration_in_the_large'], citl), ece > 0.01,
      len(cb) == len(prob_true), all(close(b['observed_rate'], t) and close(b['mean_predicted'], q)
      for b, t, q in zip(cb, prob_true, prob_pred)))
")" "900 True True True True True"
start_server
curl -sS "http://127.0.0.1:$PORT/api/v1/deployments/dm/metrics" >/dev/null
curl -sS "http://127.0.0.1:$PORT/metrics" >"$D/metrics2.txt"
stop_server
OUT=$(cat "$D/metrics2.txt")
contains "ECE on /metrics" 'gyre_online_metric{deployment="dm",version="1",metric="ece"}'
contains "calibration-in-the-large on /metrics" \
    'gyre_online_metric{deployment="dm",version="1",metric="calibration_in_the_large"}'

done_testing
