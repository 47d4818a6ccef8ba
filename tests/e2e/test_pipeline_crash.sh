#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: a server killed at every step of a pipeline run resumes and finishes it
# correctly. For each crash point of the controller (GYRE_PIPELINE_CRASH_AT: the process
# ends at once there, as kill -9 would) a run is triggered, the server dies at that point, a
# new server starts, and the run must end as it would have without the crash: promoted (or
# rolled back on the rollback path), with exactly one training finished, exactly one version
# registered, the champion alias on the candidate (or unchanged), the challenger alias as the
# outcome says, and the deployment's routes restored. Plus one real kill -9 of the server
# while its trainer runs: the orphaned trainer finishes and the new server waits for it.
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
gyre generate transactions --rows 1500 --seed 5 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "a champion" 0 gyre train --dataset tx --target is_fraud --rounds 2 --features "$FEAT" \
    --register fraud --alias champion --quiet
run "deployed" 0 gyre deploy create fraud --route fraud@champion=100

# Two pipelines: "up" is promoted after a short canary; "down" is rolled back (its online
# criterion waits for business values nobody posts, and the canary times out).
for p in up down; do
    if [ $p = up ]; then
        online=""
        maxd=60s
    else
        online="  online: {metric: value_mean, min_feedback: 1}"
        maxd=2s
    fi
    cat >"$D/$p.yaml" <<EOF
name: $p
data:
  dataset: tx
train:
  target: is_fraud
  features: "$FEAT"
  rounds: 3
register:
  model: fraud
rollout:
  deployment: fraud
  canary_percent: 50
  min_requests: 10
  min_duration: 1s
  max_duration: $maxd
$online
EOF
    run "apply $p" 0 gyre pipeline apply "$D/$p.yaml"
done

# The port stays the same across restarts, so the traffic follows the server.
PORT=$(py "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
start() {
    rm -f "$D/ready"
    "$GYRE_BIN" server --port "$PORT" --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
        --pipeline-tick-ms 100 2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}
cat >"$D/load.py" <<'EOF'
import http.client, json, os, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
body = json.dumps({'inputs': [{'name': 'input-0', 'shape': [1, 6], 'datatype': 'FP64',
                               'data': [12.5, 3, 1, 40, 5.0, 1]}]})
conn = None
while not os.path.exists(stop):
    try:
        if conn is None:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
        conn.request('POST', '/v2/models/fraud/infer', body, {'Content-Type': 'application/json'})
        conn.getresponse().read()
        time.sleep(0.01)
    except (OSError, http.client.HTTPException):
        conn = None
        time.sleep(0.1)
EOF
/usr/bin/python3 "$D/load.py" "$PORT" "$D/stop" &
LOAD_PID=$!

state() { gyre pipeline runs "$1" -n 1 --json | py "import json,sys; r=json.load(sys.stdin); print(r[0]['state'] if r else '')"; }
wait_final() {
    j=0
    while [ $j -lt 600 ]; do
        case $(state "$1") in promoted | rejected | rolled_back | failed) return 0 ;; esac
        sleep 0.1
        j=$((j + 1))
    done
}
champion() { gyre models show fraud --json | py "import json,sys; d=json.load(sys.stdin); print(*sorted((a['alias'], int(a['version'])) for a in d['aliases']))"; }
routes() { gyre deploy show fraud --json | py "import json,sys; d=json.load(sys.stdin); print(','.join('%s@%s=%s' % (r['model'], r['ref'], r['weight']) for r in d['spec']['routes']))"; }
nversions() { gyre models show fraud --json | py "import json,sys; print(len(json.load(sys.stdin)['versions']))"; }
# Trainings of the last run of pipeline $1: "FINISHED FAILED ..." (statuses, sorted).
trainings() {
    gyre pipeline runs "$1" -n 1 --json >"$D/r.json"
    gyre runs list --experiment "pipeline-$1" --all --json >"$D/t.json"
    py "
import json
r = json.load(open('$D/r.json'))[0]
t = json.load(open('$D/t.json'))
runs = t['runs'] if isinstance(t, dict) else t
out = []
for x in runs:
    tags = {g['key']: g['value'] for g in x.get('data', {}).get('tags', [])}
    if tags.get('mlflow.parentRunId') == r['tracking_run']:
        out.append(x['info']['status'])
print(' '.join(sorted(out)))"
}

# scenario PIPELINE POINT: crash at POINT, restart, check the outcome.
scenario() {
    p=$1
    point=$2
    before=$(nversions)
    champ_before=$(gyre models show fraud --json | py "import json,sys; d=json.load(sys.stdin); print([a['version'] for a in d['aliases'] if a['alias']=='champion'][0])")
    rm -f "$D/ready"
    GYRE_PIPELINE_CRASH_AT=$point "$GYRE_BIN" server --port "$PORT" --ready-file "$D/ready" \
        --quiet-access-log --poll-ms 100 --pipeline-tick-ms 100 2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    gyre pipeline run "$p" >/dev/null
    wait "$SRV_PID"
    code=$?
    SRV_PID=""
    eq "$p/$point: the server died at the crash point" "$code" 137
    start
    wait_final "$p"
    if [ "$p" = up ]; then
        eq "$p/$point: the run is promoted after the restart" "$(state "$p")" promoted
        eq "$p/$point: champion on the candidate, once" "$(champion)" "('champion', $((before + 1)))"
    else
        eq "$p/$point: the run is rolled back after the restart" "$(state "$p")" rolled_back
        eq "$p/$point: champion unchanged, challenger alias gone" "$(champion)" "('champion', $champ_before)"
    fi
    eq "$p/$point: exactly one training finished" "$(trainings "$p" | tr ' ' '\n' | grep -c FINISHED)" 1
    eq "$p/$point: exactly one version registered" "$(nversions)" $((before + 1))
    eq "$p/$point: routes restored" "$(routes)" "fraud@champion=100"
    kill "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_PID=""
}

for point in pending.data training.spawned training.finished evaluating.decided \
    evaluating.registered evaluating.canary canary.decided canary.promoted; do
    scenario up "$point"
done
for point in canary.decided canary.restored; do
    scenario down "$point"
done

# A real kill -9 while the trainer runs: it is orphaned, finishes its run, and the next
# server uses that training instead of starting another.
before=$(nversions)
start
gyre pipeline run up >/dev/null
j=0
while [ $j -lt 300 ] && [ "$(state up)" != training ]; do sleep 0.02; j=$((j + 1)); done
kill -9 "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
SRV_PID=""
start
wait_final up
eq "kill -9 during training: the run is promoted" "$(state up)" promoted
eq "kill -9 during training: no second training" "$(trainings up)" FINISHED
eq "kill -9 during training: one version registered" "$(nversions)" $((before + 1))
done_testing
