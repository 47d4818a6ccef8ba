#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: the README's tour of the CLI, command by command as a new user types it, with
# the server's authentication on (`gyre server --auth`): every HTTP call then carries a token
# from `gyre token create`, and one without is refused. Keep this in step with README.md.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }
cd "$D" || exit 1

gyre generate transactions --rows 6000 --seed 1 >tx.csv
gyre generate transactions --rows 3000 --seed 2 >more.csv
run "dataset create --infer-from" 0 gyre dataset create tx --infer-from tx.csv
run "ingest" 0 gyre ingest tx tx.csv
run "ingest a second version" 0 gyre ingest tx more.csv
run "dataset versions" 0 gyre dataset versions tx
contains "two versions" "more.csv"
run "dataset show" 0 gyre dataset show tx@1
run "dataset head" 0 gyre dataset head tx -n 5
run "dataset export" 0 gyre dataset export tx@2 --format jsonl -o tx.jsonl
eq "the export has every row" "$(wc -l <tx.jsonl | tr -d ' ')" 9000
run "dataset verify --all" 0 gyre dataset verify tx --all
run "train XGBoost, register as champion" 0 gyre train --dataset tx --target is_fraud \
    --features tx_id:drop --register fraud --alias champion --quiet
run "train logistic into the same model" 0 gyre train --dataset tx@2 --target is_fraud \
    --features tx_id:drop --trainer logistic --register fraud --quiet
run "runs list" 0 gyre runs list --experiment Default --json
RID=$(printf '%s' "$OUT" | py "import json,sys; d=json.load(sys.stdin); r=d['runs'] if isinstance(d, dict) else d; print(r[0]['info']['run_id'])")
run "runs show" 0 gyre runs show "$RID"
run "models show" 0 gyre models show fraud
run "models alias challenger 2" 0 gyre models alias fraud challenger 2
run "model inspect" 0 gyre model inspect fraud@champion --compact

"$GYRE_BIN" server --auth --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
    2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
U="http://127.0.0.1:$(cat "$D/ready")"
OUT=$(cat "$D/server.log")
contains "the server says auth is on" "(auth on)"
run "deploy create 90/10" 0 gyre deploy create fraud-live --route fraud@champion=90 \
    --route fraud@challenger=10
TOKEN=$(gyre token create --role predictor --name app 2>/dev/null)
cat >request.json <<'EOF'
{"inputs": [
 {"name": "amount", "datatype": "FP64", "shape": [1], "data": [412.5]},
 {"name": "merchant_category", "datatype": "BYTES", "shape": [1], "data": ["electronics"]},
 {"name": "country", "datatype": "BYTES", "shape": [1], "data": ["BR"]},
 {"name": "hour", "datatype": "INT64", "shape": [1], "data": [3]},
 {"name": "card_present", "datatype": "BOOL", "shape": [1], "data": [false]},
 {"name": "customer_age", "datatype": "INT64", "shape": [1], "data": [23]},
 {"name": "distance_km", "datatype": "FP64", "shape": [1], "data": [840.0]},
 {"name": "velocity_1h", "datatype": "INT64", "shape": [1], "data": [4]}]}
EOF
code=0
j=0
while [ $j -lt 50 ]; do
    code=$(curl -s -o infer.json -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        --json @request.json "$U/v2/models/fraud-live/infer")
    [ "$code" = 200 ] && break
    sleep 0.1
    j=$((j + 1))
done
eq "curl --json with the predictor's token: 200" "$code" 200
eq "the answer names the version that answered" "$(py "import json; d=json.load(open('infer.json')); print(d['model_name'], d['model_version'] in ('1', '2'))")" "fraud-live True"
eq "the same without a token: 401" "$(curl -s -o /dev/null -w '%{http_code}' --json @request.json "$U/v2/models/fraud-live/infer")" 401
eq "the predictor may not read the registry: 403" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$U/api/2.0/mlflow/registered-models/search")" 403
run "gyre load with GYRE_TOKEN" 0 env GYRE_TOKEN="$TOKEN" "$GYRE_BIN" load fraud-live --url "$U" \
    --from tx@2 --rows 200 --concurrency 2 --json
contains "every request answered" '"ok": 200,'
run "model import (XGBoost JSON from anywhere)" 0 /usr/bin/python3 -c "
import numpy as np, xgboost as xgb
X = np.random.RandomState(0).rand(200, 4); y = (X[:, 0] > 0.5).astype(int)
xgb.train({'objective': 'binary:logistic', 'max_depth': 2}, xgb.DMatrix(X, label=y), 3).save_model('model.json')"
run "gyre model import" 0 gyre model import model.json --format xgboost --register m
run "drift check with an HTML report" 0 gyre drift check --reference tx@1 --current tx@2 \
    --html drift.html
eq "the report is written" "$(test -s drift.html && echo yes)" yes
run "pipeline apply the example" 0 gyre pipeline apply "$TOP/examples/pipelines/fraud.yaml"
run "pipeline runs" 0 gyre pipeline runs fraud-retrain
run "audit verify" 0 gyre audit verify
done_testing
