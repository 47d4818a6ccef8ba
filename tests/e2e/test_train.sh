#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: from a dataset to tracked, registered models - gyre train with each trainer,
# bundles that reproduce XGBoost bit for bit, runs with params, per-round metrics and
# lineage, the registry with versions and aliases, and the failure paths.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
py() { /usr/bin/python3 -c "$1"; }

gyre generate transactions --rows 20000 --seed 5 >"$D/tx.csv"
run "ingest a transaction stream" 0 gyre ingest tx "$D/tx.csv"

run "train xgboost and register it as champion" 0 gyre train --dataset tx --target is_fraud \
    --trainer xgboost --rounds 20 --param max_depth=4 --experiment fraud --register fraud \
    --alias champion --json --quiet
printf '%s' "$OUT" | sed -n '/^{/,$p' >"$D/train1.json"
run_id=$(py "import json; print(json.load(open('$D/train1.json'))['run_id'])")
eq "the model is version 1" "$(py "import json; print(json.load(open('$D/train1.json'))['model_version'])")" 1
auc=$(py "import json; print(json.load(open('$D/train1.json'))['metrics']['valid_auc'])")
if py "import sys; sys.exit(0 if $auc > 0.7 else 1)"; then ok "validation AUC $auc shows a learned signal"; else not_ok "validation AUC $auc > 0.7"; fi

run "the same training without --quiet checks the bundle" 0 gyre train --dataset tx@1 --target is_fraud --rounds 5 --experiment fraud
contains "against XGBoost bit for bit" "bit-identical to XGBoost's"

run "runs show" 0 gyre runs show "$run_id" --json
printf '%s' "$OUT" >"$D/run.json"
eq "run finished" "$(py "import json; print(json.load(open('$D/run.json'))['info']['status'])")" FINISHED
eq "params recorded" "$(py "import json; d=json.load(open('$D/run.json')); p={x['key']:x['value'] for x in d['data']['params']}; print(p['trainer'], p['dataset'], p['target'], p['max_depth'])")" "xgboost tx@1 is_fraud 4"
eq "dataset lineage recorded" "$(py "import json; d=json.load(open('$D/run.json')); print(d['inputs']['dataset_inputs'][0]['dataset']['name'])")" tx

run "models show" 0 gyre models show fraud
contains "champion is version 1" "champion -> 1"
contains "with lineage to the dataset version" "tx@1"

run "train a logistic model into the same registered model" 0 gyre train --dataset tx --target is_fraud --trainer logistic --register fraud --quiet
contains "as version 2" "registered fraud version 2"
run "move the champion alias" 0 gyre models alias fraud champion 2
run "models show after the move" 0 gyre models show fraud --json
eq "exactly one version holds champion" "$(printf '%s' "$OUT" | py "import json,sys; d=json.load(sys.stdin); print([a for a in d['aliases'] if a['alias']=='champion'][0]['version'])")" 2

run "inspect the champion bundle" 0 gyre model inspect fraud@champion --compact
contains "a logistic model" '"trainer":"logistic"'
contains "with its preprocessing" '"preprocessing"'
contains "and the training data's profile" '"profile"'

run "retrain version 1's recipe with version 1 as the baseline" 0 gyre train --dataset tx@1 \
    --target is_fraud --trainer xgboost --rounds 20 --param max_depth=4 --experiment fraud \
    --baseline fraud@1 --json --quiet
printf '%s' "$OUT" | sed -n '/^{/,$p' >"$D/base.json"
eq "the baseline is scored on the same holdout: identical metrics" "$(py "import json; m=json.load(open('$D/base.json'))['metrics']; print(m['valid_auc'] == m['baseline_valid_auc'] == $auc, m['valid_logloss'] == m['baseline_valid_logloss'])")" "True True"
run "a baseline that cannot score this task is reported, not fatal" 0 gyre train --dataset tx \
    --target merchant_category --trainer xgboost --rounds 2 --baseline fraud@1 --json --quiet
rid=$(printf '%s' "$OUT" | sed -n '/^{/,$p' | py "import json,sys; print(json.load(sys.stdin)['run_id'])")
run "its run" 0 gyre runs show "$rid" --json
eq "names why in the tag gyre.baseline.error" "$(printf '%s' "$OUT" | py "import json,sys; t={x['key']:x['value'] for x in json.load(sys.stdin)['data']['tags']}; print('outputs per row' in t.get('gyre.baseline.error', ''))")" True

run "linear regression on amount" 0 gyre train --dataset tx --target amount --trainer linear --quiet
contains "reports R2" "valid_r2"
run "multiclass on merchant_category" 0 gyre train --dataset tx --target merchant_category --trainer xgboost --rounds 5 --quiet --json
contains "a multiclass task" '"task": "multiclass"'

run "an unknown target fails" 1 gyre train --dataset tx --target nosuch
contains "naming the column" 'has no column "nosuch"'
run "a bad XGBoost parameter fails" 1 gyre train --dataset tx --target is_fraud --param max_depht=3 --rounds 2 --quiet
run "its run is marked FAILED" 0 gyre runs list --json
contains "FAILED" "FAILED"
run "an unknown dataset fails" 3 gyre train --dataset nosuch --target y

# The same run, its metric history and the version's lineage over the MLflow API, and a
# training job through the native API.
SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT
"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log 2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
U="http://127.0.0.1:$(cat "$D/ready")"
get() { curl -sS "$U$1"; }
post() { curl -sS -X POST -H 'Content-Type: application/json' -d "$2" "$U$1"; }
eq "MLflow runs/get shows the run finished" "$(get "/api/2.0/mlflow/runs/get?run_id=$run_id" | py "import json,sys; print(json.load(sys.stdin)['run']['info']['status'])")" FINISHED
eq "MLflow metrics/get-history has one point per round, steps 0..19" "$(get "/api/2.0/mlflow/metrics/get-history?run_id=$run_id&metric_key=valid-logloss" | py "import json,sys; m=json.load(sys.stdin)['metrics']; print(len(m), sorted(x['step'] for x in m) == list(range(20)))")" "20 True"
eq "MLflow model-versions/get links version 1 to its run" "$(get "/api/2.0/mlflow/model-versions/get?name=fraud&version=1" | py "import json,sys; print(json.load(sys.stdin)['model_version']['run_id'])")" "$run_id"
eq "the alias resolves over MLflow's API" "$(get "/api/2.0/mlflow/registered-models/alias?name=fraud&alias=champion" | py "import json,sys; print(json.load(sys.stdin)['model_version']['version'])")" 2
post /api/v1/train '{"dataset": "tx@1", "target": "is_fraud", "rounds": 5, "experiment": "jobs", "register": "fraud-jobs"}' >"$D/job.json"
job=$(py "import json; print(json.load(open('$D/job.json')).get('run_id', ''))")
if [ -n "$job" ]; then ok "POST /api/v1/train starts a job"; else not_ok "POST /api/v1/train starts a job" "$(cat "$D/job.json")"; fi
st=""
i=0
while [ $i -lt 120 ]; do
    st=$(get "/api/v1/train/$job" | py "import json,sys; print(json.load(sys.stdin).get('status', ''))")
    [ "$st" = FINISHED ] || [ "$st" = FAILED ] && break
    sleep 0.25
    i=$((i + 1))
done
eq "the job's run finishes" "$st" FINISHED
eq "and registers its model" "$(get "/api/2.0/mlflow/model-versions/get?name=fraud-jobs&version=1" | py "import json,sys; print(json.load(sys.stdin)['model_version']['run_id'])")" "$job"
eq "the job's log is kept as an artifact" "$(get "/api/2.0/mlflow/artifacts/list?run_id=$job" | py "import json,sys; print(sorted(f['path'] for f in json.load(sys.stdin)['files']))")" "['model', 'train.log']"
eq "a job for an unknown column is refused at once" "$(post /api/v1/train '{"dataset": "tx", "target": "nosuch"}' | py "import json,sys; print(json.load(sys.stdin)['error'])")" 'tx has no column "nosuch"'
eq "an option-like value is refused" "$(post /api/v1/train '{"dataset": "tx", "target": "is_fraud", "trainer": "--help"}' | py "import json,sys; print(json.load(sys.stdin)['error'])")" "\"trainer\" must not start with '-'"
done_testing
