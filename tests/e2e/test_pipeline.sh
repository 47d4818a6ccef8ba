#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: continuous-training pipelines in a running server. Specs are validated at apply
# time with the YAML line; a candidate below an absolute gate, and one worse than the champion
# on the same holdout, are rejected without being registered; a better candidate is canaried
# while traffic with feedback flows and promoted when the A/B test finds it significantly
# better; a candidate that fails the online criterion is rolled back (routes restored,
# challenger alias dropped); a candidate that is not significantly better times out and is
# rolled back; triggers during a run are coalesced; the new-rows trigger fires;
# the API shows the same runs.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
LOAD_PID=""
stop_all() {
    touch "$D/stop"
    [ -n "$LOAD_PID" ] && wait "$LOAD_PID" 2>/dev/null
    if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; fi
}
trap 'stop_all; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }

FEAT='merchant_category:drop;country:drop;tx_id:drop'
gyre generate transactions --rows 4000 --seed 5 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "a weak champion (2 rounds of depth 1)" 0 gyre train --dataset tx --target is_fraud \
    --rounds 2 --param max_depth=1 --param eta=0.1 --features "$FEAT" --register fraud \
    --alias champion --quiet
run "deploy it, every request logged" 0 gyre deploy create fraud --route fraud@champion=100 \
    --log-sample 1

# ------------------------------------------------------------------ specs at apply time
cat >"$D/bad.yaml" <<'EOF'
name: bad
data:
  dataset: tx
train:
  target: is_fraud
  rounds: many
register:
  model: fraud
EOF
run "a bad spec fails at apply time" 1 gyre pipeline apply "$D/bad.yaml"
contains "naming the YAML line and the field" "line 6: train.rounds"
sed 's/rounds: many/rounds: 3/; s/dataset: tx/dataset: nosuch/' "$D/bad.yaml" >"$D/bad2.yaml"
run "a spec naming a missing dataset fails at apply time" 1 gyre pipeline apply "$D/bad2.yaml"
contains "naming the field" 'data.dataset: no dataset named "nosuch"'

# spec NAME EXTRA: a pipeline on tx registering into fraud; EXTRA is appended (YAML).
spec() {
    cat >"$D/$1.yaml" <<EOF
name: $1
data:
  dataset: tx
  feedback_from: fraud
train:
  target: is_fraud
  features: "$FEAT"
$2
register:
  model: fraud
EOF
    run "apply $1" 0 gyre pipeline apply "$D/$1.yaml"
}

# ------------------------------------------------------------------ the server and traffic
"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
    --pipeline-tick-ms 100 2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$D/ready")
U="http://127.0.0.1:$PORT"

# Sends rows of a CSV to deployment fraud (ids q<n>, one user per id) until $D/stop exists,
# posting their labels as feedback every 40 requests.
cat >"$D/load.py" <<'EOF'
import csv, http.client, json, os, sys, time
port, src, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cols = ['amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h']
rows = list(csv.DictReader(open(src)))
conv = lambda v: 1.0 if v == 'true' else 0.0 if v == 'false' else float(v)
conn, n, items = None, 0, []
while not os.path.exists(stop):
    r = rows[n % len(rows)]
    rid = 'q%d' % n
    body = json.dumps({'id': rid, 'inputs': [{'name': 'input-0', 'shape': [1, 6],
                       'datatype': 'FP64', 'data': [conv(r[c]) for c in cols]}]})
    try:
        if conn is None:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        conn.request('POST', '/v2/models/fraud/infer', body, {'Content-Type': 'application/json'})
        resp = conn.getresponse()
        resp.read()
        if resp.status == 200:
            items.append({'request_id': rid, 'label': 1 if r['is_fraud'] == 'true' else 0})
        if len(items) >= 40:
            conn.request('POST', '/api/v1/feedback', json.dumps({'deployment': 'fraud',
                         'items': items}), {'Content-Type': 'application/json'})
            conn.getresponse().read()
            items = []
    except (OSError, http.client.HTTPException):
        conn = None
        time.sleep(0.05)
    n += 1
EOF
# Traffic is new rows (another seed, never repeated): the candidates' training data, which
# includes the labeled traffic, never holds the rows they are judged on.
gyre generate transactions --rows 20000 --seed 11 >"$D/traffic.csv"
/usr/bin/python3 "$D/load.py" "$PORT" "$D/traffic.csv" "$D/stop" &
LOAD_PID=$!

# wait_run NAME ID: waits (up to 120 s) until run ID of NAME is final; prints its JSON.
final() {
    case $1 in promoted | rejected | rolled_back | failed) return 0 ;; esac
    return 1
}
wait_run() {
    j=0
    while [ $j -lt 600 ]; do
        curl -sS "$U/api/v1/pipelines/$1/runs/$2" >"$D/run.json" 2>/dev/null
        st=$(py "import json; print(json.load(open('$D/run.json')).get('state', ''))" 2>/dev/null)
        final "$st" && break
        sleep 0.2
        j=$((j + 1))
    done
    cat "$D/run.json"
}
field() { py "import json; d=json.load(open('$D/run.json')); print($1)"; }
trigger() { curl -sS -X POST "$U/api/v1/pipelines/$1/runs" | py "import json,sys; print(json.load(sys.stdin).get('id', 0))"; }
champion() { gyre models show fraud --json | py "import json,sys; d=json.load(sys.stdin); print([a['version'] for a in d['aliases'] if a['alias']=='champion'][0])"; }
routes() { gyre deploy show fraud --json | py "import json,sys; d=json.load(sys.stdin); print(','.join('%s@%s=%s' % (r['model'], r['ref'], r['weight']) for r in d['spec']['routes']))"; }
nversions() { gyre models show fraud --json | py "import json,sys; print(len(json.load(sys.stdin)['versions']))"; }

# ------------------------------------------------------------------ gates
spec strict "  rounds: 5
gates:
  min: {auc: 0.999}"
run "gyre pipeline run --wait follows the run the server carries out" 0 \
    gyre pipeline run strict --wait --timeout 120
contains "rejected by the absolute gate, with the numbers" "rejected: auc 0."
contains "and the threshold" "< 0.999"
eq "a rejected candidate is not registered" "$(nversions)" 1

spec worse "  rounds: 1
  params: {max_depth: 1, eta: 0.01}
gates:
  champion: {metric: logloss, margin: 0.0}"
id=$(trigger worse)
wait_run worse "$id" >/dev/null
eq "a candidate worse than the champion on the same holdout is rejected" "$(field "d['state']")" rejected
OUT=$(field "d['reason']")
contains "the reason compares it with the champion" "> champion"
eq "the gate results are kept with the run" "$(field "[g['gate'] for g in d['details']['gates']]")" "['champion']"

# ------------------------------------------------------------------ canary, significance, promotion
spec better "  rounds: 40
  params: {max_depth: 4}
gates:
  min: {auc: 0.6}
  champion: {metric: logloss}
rollout:
  deployment: fraud
  canary_percent: 50
  min_requests: 40
  min_duration: 1s
  max_duration: 90s
  online: {metric: logloss, max_drop: 0.0, min_feedback: 60, require_significance: true}"
id=$(trigger better)
j=0
while [ $j -lt 600 ] && [ "$(routes)" != "fraud@champion=50,fraud@challenger=50" ]; do
    sleep 0.1
    j=$((j + 1))
done
eq "the canary splits the deployment 50/50 with the challenger" "$(routes)" \
    "fraud@champion=50,fraud@challenger=50"
# The labeled traffic reaches the join once the prediction log is flushed (every 2 s).
j=0
while [ $j -lt 50 ] && ! gyre deploy compare fraud --metric logloss >/dev/null 2>&1; do
    sleep 0.2
    j=$((j + 1))
done
run "gyre deploy compare shows the running split" 0 gyre deploy compare fraud --metric logloss
wait_run better "$id" >/dev/null
eq "a significantly better candidate is promoted" "$(field "d['state']")" promoted
eq "the A/B test found it better" "$(field "d['details']['online']['better'], d['details']['online']['p_value'] < 0.05")" "True True"
eq "the champion alias moved to it" "$(champion)" 2
eq "the deployment is back to one route, the champion" "$(routes)" "fraud@champion=100"
eq "its lineage: the data version and the parent champion" "$(field "d['data'].startswith('pipeline-better-'), d['champion_version'], d['candidate_version']")" "True 1 2"
tr=$(field "d['tracking_run']")
run "the pipeline run is a tracked run" 0 gyre runs show "$tr" --json
contains "tagged with its outcome" '"gyre.pipeline.state"'
contains "and the gate results behind it" '"gyre.pipeline.gates"'

# ------------------------------------------------------------------ rollback
spec bad "  rounds: 1
  params: {max_depth: 1, eta: 0.01}
gates:
  min: {auc: 0.5}
rollout:
  deployment: fraud
  canary_percent: 50
  min_requests: 40
  min_duration: 1s
  max_duration: 90s
  online: {metric: logloss, max_drop: 0.01, min_feedback: 60}"
id=$(trigger bad)
wait_run bad "$id" >/dev/null
eq "a candidate that fails the online criterion is rolled back" "$(field "d['state']")" rolled_back
OUT=$(field "d['reason']")
contains "naming the online metric" "online logloss"
eq "the champion is unchanged" "$(champion)" 2
eq "the routes are restored" "$(routes)" "fraud@champion=100"
eq "the challenger alias is gone" "$(gyre models show fraud --json | py "import json,sys; print([a['alias'] for a in json.load(sys.stdin)['aliases']])")" "['champion']"

spec same "  rounds: 40
  params: {max_depth: 4}
  seed: 7
rollout:
  deployment: fraud
  canary_percent: 50
  min_requests: 40
  min_duration: 1s
  max_duration: 10s
  online: {metric: logloss, max_drop: 1.0, min_feedback: 20, require_significance: true,
           alpha: 0.001}"
id=$(trigger same)
wait_run same "$id" >/dev/null
eq "a candidate that is not significantly better is rolled back when the canary times out" \
    "$(field "d['state']")" rolled_back
OUT=$(field "d['reason']")
contains "saying so" "not significantly better"

# ------------------------------------------------------------------ triggers and the API
spec rows "  rounds: 3
triggers:
  new_rows: 500"
gyre generate transactions --rows 600 --seed 9 >"$D/more.csv"
run "ingest 600 more rows" 0 gyre ingest tx "$D/more.csv"
j=0
while [ $j -lt 100 ] && [ "$(curl -sS "$U/api/v1/pipelines/rows/runs" | py "import json,sys; print(len(json.load(sys.stdin)['runs']))")" = 0 ]; do
    sleep 0.1
    j=$((j + 1))
done
eq "the new-rows trigger started a run" "$(curl -sS "$U/api/v1/pipelines/rows/runs" | py "import json,sys; print(json.load(sys.stdin)['runs'][-1]['trigger'])")" new_rows

spec twice "  rounds: 20"
a=$(trigger twice)
b=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$U/api/v1/pipelines/twice/runs")
eq "a trigger during a run is coalesced (202)" "$b" 202
c=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$U/api/v1/pipelines/twice/runs")
eq "and so is a third (202)" "$c" 202
wait_run twice "$a" >/dev/null
wait_run twice $((a + 1)) >/dev/null
eq "the coalesced triggers start exactly one more run" "$(curl -sS "$U/api/v1/pipelines/twice/runs" | py "import json,sys; print([r['trigger'] for r in json.load(sys.stdin)['runs']])")" "['api', 'api']"

run "gyre pipeline runs shows the history with reasons" 0 gyre pipeline runs better
contains "the promotion" "promoted fraud@2"
run "gyre pipeline list" 0 gyre pipeline list
contains "every pipeline" "strict"
run "the audit log has the pipeline's steps" 0 gyre audit list --json
contains "the gate" '"pipeline.gate"'
contains "the canary" '"pipeline.canary"'
contains "the promotion" '"pipeline.promote"'
contains "the rollback" '"pipeline.rollback"'
done_testing
