#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: the MLflow REST API 2.0 of `gyre server` over real HTTP. Plain curl tests for
# MLflow's error format and codes (server-made errors included), message reading (unknown
# keys, run_uuid, GET query parameters, DELETE bodies and queries, wrong types, missing
# fields), experiments, runs, metric history with steps and pages, log-batch limits, run
# search with filter and order_by, the registry (models, versions, stages, aliases, tags,
# searches, download URIs), the mlflow-artifacts proxy round trip (PUT, list, GET, DELETE),
# and every artifact-path traversal trick of the MLflow CVEs on every artifact surface (each
# one its own case, all answered 400 INVALID_PARAMETER_VALUE). Then the conformance run of the
# real npm client mlflow@2.0.7 (tests/e2e/mlflow_client.js), installed here from the npm
# registry; its TAP lines are relayed.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
PY=/usr/bin/python3
SRV_PID=""
PORT=""
HERE=$(cd "$(dirname "$0")" && pwd)

stop_server() {
    if [ -n "$SRV_PID" ]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=""
    fi
}
trap 'stop_server; t_cleanup' EXIT

start_server() {
    rm -f "$D/ready"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" "$@" 2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
        i=$((i + 1))
    done
    PORT=$(cat "$D/ready" 2>/dev/null)
    if [ -n "$PORT" ]; then ok "server ready on port $PORT"; else not_ok "server ready" "$(cat "$D/server.log")"; fi
}

# req DESC WANT_STATUS CURL_ARGS...: one request; body in $BODY, headers in $D/hdr.
req() {
    desc=$1
    want=$2
    shift 2
    code=$(curl -sS --path-as-is -o "$D/body" -D "$D/hdr" -w '%{http_code}' "$@" 2>"$D/curl.err")
    BODY=$(cat "$D/body")
    if [ "$code" = "$want" ]; then
        ok "$desc"
    else
        not_ok "$desc" "status $code, wanted $want; body: $BODY $(cat "$D/curl.err")"
    fi
}
# post DESC STATUS ENDPOINT JSON / get DESC STATUS ENDPOINT?QUERY / del, patch likewise.
post() { req "$1" "$2" -X POST -H 'Content-Type: application/json' --data-binary "$4" "$M/$3"; }
patch() { req "$1" "$2" -X PATCH -H 'Content-Type: application/json' --data-binary "$4" "$M/$3"; }
del() { req "$1" "$2" -X DELETE -H 'Content-Type: application/json' --data-binary "$4" "$M/$3"; }
get() { req "$1" "$2" "$M/$3"; }
json() { printf '%s' "$BODY" | $PY -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>&1; }
# json2 STATEMENT EXPR: like json, after STATEMENT (e.g. 'v=d["model_version"]').
json2() { printf '%s' "$BODY" | $PY -c "import json,sys; d=json.load(sys.stdin); $1; print($2)" 2>&1; }
# code_is DESC CODE: the last body is MLflow's error with that error_code.
code_is() { eq "$1" "$(json 'd["error_code"], sorted(d)')" "$2 ['error_code', 'message']"; }
body_has() { OUT=$BODY; contains "$1" "$2"; }

start_server --max-body 256K --threads 4
M="http://127.0.0.1:$PORT/api/2.0/mlflow"
MA="http://127.0.0.1:$PORT/api/2.0/mlflow-artifacts/artifacts"

# ------------------------------------------------------------------ errors and messages
get "an unknown endpoint is 404" 404 "experiments/nope"
code_is "ENDPOINT_NOT_FOUND in MLflow's format" ENDPOINT_NOT_FOUND
req "an unknown artifact-proxy endpoint is 404" 404 "http://127.0.0.1:$PORT/api/2.0/mlflow-artifacts/nope"
code_is "ENDPOINT_NOT_FOUND there too" ENDPOINT_NOT_FOUND
req "a wrong method is 405" 405 -X DELETE "$M/experiments/create"
code_is "in MLflow's format" ENDPOINT_NOT_FOUND
OUT=$(tr -d '\r' <"$D/hdr")
contains "with Allow" "Allow: POST"
post "bad JSON is 400" 400 experiments/create '{"name": '
code_is "INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
body_has "with the parser's position" "line 1, column"
post "a JSON array body is 400" 400 experiments/create '["name"]'
code_is "INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
req "a POST without Content-Type is 400" 400 -X POST -H 'Content-Type:' -d '{"name": "x"}' "$M/experiments/create"
body_has "saying so" "Content-Type header is missing"
req "a POST with a form Content-Type is 400" 400 -X POST -d '{"name": "x"}' "$M/experiments/create"
body_has "naming the allowed type" "application/json"
post "a missing required field is 400" 400 experiments/create '{}'
code_is "INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
body_has "naming the field" "Missing value for required parameter 'name'"
post "an empty required string counts as missing" 400 experiments/create '{"name": ""}'
body_has "naming the field" "parameter 'name'"
post "a wrong JSON type is 400" 400 experiments/create '{"name": 5}'
body_has "naming the field and type" "parameter 'name' supplied. Hint: Value was of type 'int'"
head -c 300000 /dev/zero | tr '\0' 'x' >"$D/big"
req "a body over --max-body is 413" 413 -X POST -H 'Content-Type: application/json' --data-binary @"$D/big" "$M/runs/log-batch"
code_is "in MLflow's format" INVALID_PARAMETER_VALUE
req "a bad %-escape in the query is 400" 400 "$M/experiments/get?experiment_id=%G1"
code_is "in MLflow's format" INVALID_PARAMETER_VALUE

# ------------------------------------------------------------------ experiments
post "create an experiment (unknown keys ignored)" 200 experiments/create \
    '{"name": "exp-a", "tags": [{"key": "team", "value": "risk"}], "whatever": {"x": 1}}'
EA=$(json 'd["experiment_id"]')
eq "experiment_id is a string" "$(json 'type(d["experiment_id"]).__name__')" "str"
post "a double-encoded JSON body is read (old clients)" 200 experiments/create '"{\"name\": \"exp-b\"}"'
EB=$(json 'd["experiment_id"]')
post "a duplicate name is 400" 400 experiments/create '{"name": "exp-a"}'
code_is "RESOURCE_ALREADY_EXISTS" RESOURCE_ALREADY_EXISTS
get "get an experiment" 200 "experiments/get?experiment_id=$EA"
eq "its fields" "$(json2 'e=d["experiment"]' 'e["name"], e["lifecycle_stage"], e["tags"], type(e["creation_time"]).__name__')" \
    "exp-a active [{'key': 'team', 'value': 'risk'}] int"
get "an unknown experiment is 404" 404 "experiments/get?experiment_id=424242"
code_is "RESOURCE_DOES_NOT_EXIST" RESOURCE_DOES_NOT_EXIST
get "a malformed experiment id is 400" 400 "experiments/get?experiment_id=abc"
get "a missing experiment_id is 400" 400 "experiments/get"
body_has "naming it" "'experiment_id'"
get "get-by-name" 200 "experiments/get-by-name?experiment_name=exp-b"
eq "finds it" "$(json 'd["experiment"]["experiment_id"]')" "$EB"
get "get-by-name of an unknown name is 404" 404 "experiments/get-by-name?experiment_name=nope"
body_has "with MLflow's text" "Could not find experiment with name 'nope'"
get "an error quoting bytes that are not UTF-8" 400 "runs/search?experiment_ids=a%ff%feb"
eq "is still valid JSON (bad bytes become ?)" "$(json '"a??b" in d["message"]')" "True"
post "rename" 200 experiments/update "{\"experiment_id\": \"$EB\", \"new_name\": \"exp-b2\"}"
eq "answers {}" "$BODY" "{}"
post "rename without new_name is 400" 400 experiments/update "{\"experiment_id\": \"$EB\"}"
post "rename to a taken name is 400" 400 experiments/update "{\"experiment_id\": \"$EB\", \"new_name\": \"exp-a\"}"
code_is "RESOURCE_ALREADY_EXISTS" RESOURCE_ALREADY_EXISTS
post "set an experiment tag (id as a JSON number)" 200 experiments/set-experiment-tag "{\"experiment_id\": $EB, \"key\": \"k\", \"value\": \"v\"}"
post "delete it" 200 experiments/delete-experiment-tag "{\"experiment_id\": \"$EB\", \"key\": \"k\"}"
post "search experiments (POST, filter and order_by)" 200 experiments/search \
    '{"filter": "name LIKE '"'"'exp-%'"'"'", "order_by": ["name DESC"], "max_results": 10}'
eq "both, by name descending" "$(json '[e["name"] for e in d["experiments"]]')" "['exp-b2', 'exp-a']"
get "search experiments (GET, repeated order_by, numbers as strings)" 200 \
    "experiments/search?filter=name%20LIKE%20'exp-%25'&order_by=name%20ASC&order_by=experiment_id&max_results=1"
eq "one page" "$(json '[e["name"] for e in d["experiments"]], "next_page_token" in d')" "['exp-a'] True"
TOKEN=$(json 'd["next_page_token"]')
get "the next page" 200 "experiments/search?filter=name%20LIKE%20'exp-%25'&order_by=name%20ASC&max_results=1&page_token=$TOKEN"
eq "holds the other" "$(json '[e["name"] for e in d["experiments"]]')" "['exp-b2']"
get "a bad view_type is 400" 400 "experiments/search?view_type=SOME"
get "max_results past 50000 is 400" 400 "experiments/search?max_results=50001"
get "max_results that is no number is 400" 400 "experiments/search?max_results=ten"
post "delete an experiment" 200 experiments/delete "{\"experiment_id\": \"$EB\"}"
get "the legacy list (DELETED_ONLY)" 200 "experiments/list?view_type=DELETED_ONLY"
eq "holds it" "$(json '[e["name"] for e in d["experiments"]]')" "['exp-b2']"
post "restore it" 200 experiments/restore "{\"experiment_id\": \"$EB\"}"
post "restoring an unknown experiment is 404" 404 experiments/restore '{"experiment_id": "424242"}'

# ------------------------------------------------------------------ runs
post "create a run" 200 runs/create \
    "{\"experiment_id\": \"$EA\", \"run_name\": \"r1\", \"start_time\": 1000, \"tags\": [{\"key\": \"t\", \"value\": \"1\"}]}"
R1=$(json 'd["run"]["info"]["run_id"]')
eq "RUNNING, named, in its experiment" "$(json2 'i=d["run"]["info"]' 'i["status"], i["run_name"], i["experiment_id"], i["start_time"]')" \
    "RUNNING r1 $EA 1000"
post "create a run without experiment_id (the Default experiment)" 200 runs/create '{"run_name": "in-default"}'
eq "is in experiment 0" "$(json 'd["run"]["info"]["experiment_id"]')" "0"
post "a run in an unknown experiment is 404" 404 runs/create '{"experiment_id": "424242"}'
post "a tag without a key is 400" 400 runs/create "{\"experiment_id\": \"$EA\", \"tags\": [{\"value\": \"x\"}]}"
body_has "naming it" "tags[0].key"
get "get by run_uuid" 200 "runs/get?run_uuid=$R1"
eq "the run" "$(json 'd["run"]["info"]["run_uuid"]')" "$R1"
get "get without an id is 400" 400 "runs/get"
body_has "naming run_id" "'run_id'"
for s in 0 1 2 3 4; do
    post "log-metric step $s" 200 runs/log-metric "{\"run_id\": \"$R1\", \"key\": \"loss\", \"value\": 0.$((9 - s)), \"timestamp\": $((2000 + s)), \"step\": $s}"
done
post "log-metric with a string value \"NaN\" and string int64s" 200 runs/log-metric \
    "{\"run_uuid\": \"$R1\", \"key\": \"odd\", \"value\": \"NaN\", \"timestamp\": \"3000\", \"step\": \"1\"}"
post "log-metric without timestamp is 400" 400 runs/log-metric "{\"run_id\": \"$R1\", \"key\": \"loss\", \"value\": 1}"
body_has "naming it" "'timestamp'"
post "log-metric with a text value is 400" 400 runs/log-metric "{\"run_id\": \"$R1\", \"key\": \"loss\", \"value\": \"high\", \"timestamp\": 1}"
body_has "naming it" "'value'"
post "log-metric on an unknown run is 404" 404 runs/log-metric '{"run_id": "0123456789abcdef0123456789abcdef", "key": "k", "value": 1, "timestamp": 1}'
get "get-history" 200 "metrics/get-history?run_id=$R1&metric_key=loss"
eq "all five steps in order, int64 as numbers" "$(json '[(m["step"], m["value"], m["timestamp"]) for m in d["metrics"]]')" \
    "[(0, 0.9, 2000), (1, 0.8, 2001), (2, 0.7, 2002), (3, 0.6, 2003), (4, 0.5, 2004)]"
get "get-history in pages (max_results=2)" 200 "metrics/get-history?run_id=$R1&metric_key=loss&max_results=2"
eq "the first two steps and a token" "$(json '[m["step"] for m in d["metrics"]], bool(d.get("next_page_token"))')" "[0, 1] True"
TOKEN=$(json 'd["next_page_token"]')
get "the next page" 200 "metrics/get-history?run_id=$R1&metric_key=loss&max_results=2&page_token=$TOKEN"
eq "steps 2 and 3" "$(json '[m["step"] for m in d["metrics"]]')" "[2, 3]"
get "get-history of a NaN metric" 200 "metrics/get-history?run_id=$R1&metric_key=odd"
eq "NaN as the string \"NaN\"" "$(json 'd["metrics"][0]["value"], d["metrics"][0]["step"]')" "NaN 1"
get "get-history without metric_key is 400" 400 "metrics/get-history?run_id=$R1"
post "log-parameter" 200 runs/log-parameter "{\"run_id\": \"$R1\", \"key\": \"lr\", \"value\": \"0.1\"}"
post "the same value again" 200 runs/log-parameter "{\"run_id\": \"$R1\", \"key\": \"lr\", \"value\": \"0.1\"}"
post "a changed value is 400" 400 runs/log-parameter "{\"run_id\": \"$R1\", \"key\": \"lr\", \"value\": \"0.2\"}"
code_is "INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
post "a number as a param value is 400" 400 runs/log-parameter "{\"run_id\": \"$R1\", \"key\": \"n\", \"value\": 3}"
post "a bad key is 400" 400 runs/log-parameter "{\"run_id\": \"$R1\", \"key\": \"../x\", \"value\": \"1\"}"
post "set-tag" 200 runs/set-tag "{\"run_id\": \"$R1\", \"key\": \"owner\", \"value\": \"ana\"}"
post "delete-tag" 200 runs/delete-tag "{\"run_id\": \"$R1\", \"key\": \"owner\"}"
post "delete-tag of a missing tag is 404" 404 runs/delete-tag "{\"run_id\": \"$R1\", \"key\": \"owner\"}"
code_is "RESOURCE_DOES_NOT_EXIST" RESOURCE_DOES_NOT_EXIST

# log-batch and its limits
post "log-batch" 200 runs/log-batch "{\"run_id\": \"$R1\", \"run_uuid\": \"$R1\",
    \"metrics\": [{\"key\": \"acc\", \"value\": 0.5, \"timestamp\": 10, \"step\": 0}, {\"key\": \"acc\", \"value\": 0.75, \"timestamp\": 11, \"step\": 1}],
    \"params\": [{\"key\": \"depth\", \"value\": \"6\"}], \"tags\": [{\"key\": \"a\", \"value\": \"1\"}, {\"key\": \"a\", \"value\": \"2\"}]}"
get "the run shows the batch" 200 "runs/get?run_id=$R1"
eq "latest metrics, params, the last duplicate tag" \
    "$(json2 'r=d["run"]["data"]' 'sorted((m["key"], m["value"]) for m in r["metrics"]), sorted((p["key"], p["value"]) for p in r["params"]), [t["value"] for t in r["tags"] if t["key"] == "a"]')" \
    "[('acc', 0.75), ('loss', 0.5), ('odd', 'NaN')] [('depth', '6'), ('lr', '0.1')] ['2']"
$PY -c 'import json; print(json.dumps({"run_id": "RUN", "metrics": [{"key": "m", "value": i, "timestamp": 1, "step": i} for i in range(1001)]}))' | sed "s/RUN/$R1/" >"$D/m1001"
post "log-batch with 1001 metrics is 400" 400 runs/log-batch "$(cat "$D/m1001")"
body_has "with MLflow's text" "A batch logging request can contain at most 1000 metrics. Got 1001 metrics."
$PY -c 'import json; print(json.dumps({"run_id": "RUN", "params": [{"key": "p%d" % i, "value": "v"} for i in range(101)]}))' | sed "s/RUN/$R1/" >"$D/p101"
post "log-batch with 101 params is 400" 400 runs/log-batch "$(cat "$D/p101")"
body_has "with MLflow's text" "at most 100 params. Got 101 params."
$PY -c 'import json; print(json.dumps({"run_id": "RUN", "tags": [{"key": "t%d" % i, "value": "v"} for i in range(101)]}))' | sed "s/RUN/$R1/" >"$D/t101"
post "log-batch with 101 tags is 400" 400 runs/log-batch "$(cat "$D/t101")"
$PY -c 'import json; print(json.dumps({"run_id": "RUN", "metrics": [{"key": "m", "value": i, "timestamp": 1, "step": i} for i in range(950)], "params": [{"key": "p%d" % i, "value": "v"} for i in range(60)]}))' | sed "s/RUN/$R1/" >"$D/tot"
post "log-batch with 1010 entities in total is 400" 400 runs/log-batch "$(cat "$D/tot")"
body_has "naming the total" "total"
$PY -c 'import json; print(json.dumps({"run_id": "RUN", "metrics": [{"key": "big", "value": i / 10, "timestamp": 100 + i, "step": i} for i in range(1000)]}))' | sed "s/RUN/$R1/" >"$D/m1000"
post "log-batch with exactly 1000 metrics" 200 runs/log-batch "$(cat "$D/m1000")"
get "all 1000 points are in the history" 200 "metrics/get-history?run_id=$R1&metric_key=big"
eq "1000 points" "$(json 'len(d["metrics"]), d["metrics"][-1]["step"]')" "1000 999"
post "log-batch with a metric lacking its value is 400" 400 runs/log-batch "{\"run_id\": \"$R1\", \"metrics\": [{\"key\": \"x\", \"timestamp\": 1}]}"
body_has "naming it" "metrics[0]"
post "log-batch with a param changing value is 400" 400 runs/log-batch "{\"run_id\": \"$R1\", \"params\": [{\"key\": \"lr\", \"value\": \"9\"}]}"

# log-inputs, update, search
post "log-inputs" 200 runs/log-inputs "{\"run_id\": \"$R1\", \"datasets\": [{\"tags\": [{\"key\": \"mlflow.data.context\", \"value\": \"training\"}],
    \"dataset\": {\"name\": \"tx\", \"digest\": \"abc123\", \"source_type\": \"gyre\", \"source\": \"tx@1\"}}]}"
post "log-inputs without a digest is 400" 400 runs/log-inputs "{\"run_id\": \"$R1\", \"datasets\": [{\"dataset\": {\"name\": \"tx\", \"source_type\": \"s\", \"source\": \"x\"}}]}"
body_has "naming it" "'digest'"
post "update a run" 200 runs/update "{\"run_id\": \"$R1\", \"status\": \"FINISHED\", \"end_time\": 5000}"
eq "run_info shows it" "$(json 'd["run_info"]["status"], d["run_info"]["end_time"]')" "FINISHED 5000"
post "a bad status is 400" 400 runs/update "{\"run_id\": \"$R1\", \"status\": \"DONE\"}"
post "a second run" 200 runs/create "{\"experiment_id\": \"$EA\", \"run_name\": \"r2\", \"start_time\": 2000}"
R2=$(json 'd["run"]["info"]["run_id"]')
post "with loss 0.2" 200 runs/log-metric "{\"run_id\": \"$R2\", \"key\": \"loss\", \"value\": 0.2, \"timestamp\": 1, \"step\": 0}"
post "a third run without loss" 200 runs/create "{\"experiment_id\": \"$EA\", \"run_name\": \"r3\", \"start_time\": 3000}"
R3=$(json 'd["run"]["info"]["run_id"]')
post "search runs: filter and order_by" 200 runs/search "{\"experiment_ids\": [\"$EA\"], \"filter\": \"metrics.loss < 0.6\", \"order_by\": [\"metrics.loss DESC\"]}"
eq "r1 (0.5) then r2 (0.2)" "$(json '[r["info"]["run_name"] for r in d["runs"]]')" "['r1', 'r2']"
post "search runs: default order is start_time DESC" 200 runs/search "{\"experiment_ids\": [\"$EA\"]}"
eq "r3, r2, r1" "$(json '[r["info"]["run_name"] for r in d["runs"]]')" "['r3', 'r2', 'r1']"
post "search runs: runs lacking the metric sort last" 200 runs/search "{\"experiment_ids\": [\"$EA\"], \"order_by\": [\"metrics.loss ASC\"]}"
eq "r2, r1, r3" "$(json '[r["info"]["run_name"] for r in d["runs"]]')" "['r2', 'r1', 'r3']"
post "search runs: params and attributes" 200 runs/search "{\"experiment_ids\": [\"$EA\"], \"filter\": \"params.lr = '0.1' and attributes.status = 'FINISHED'\"}"
eq "r1" "$(json '[r["info"]["run_name"] for r in d["runs"]]')" "['r1']"
post "search runs: datasets.context" 200 runs/search "{\"experiment_ids\": [\"$EA\"], \"filter\": \"datasets.context = 'training'\"}"
eq "r1" "$(json '[r["info"]["run_name"] for r in d["runs"]]')" "['r1']"
get "search runs over GET (repeated experiment_ids, max_results as text)" 200 "runs/search?experiment_ids=$EA&experiment_ids=$EB&order_by=attributes.run_name&max_results=2"
eq "r1, r2 and a token" "$(json '[r["info"]["run_name"] for r in d["runs"]], "next_page_token" in d')" "['r1', 'r2'] True"
post "search runs with no experiment_ids: no runs" 200 runs/search '{"filter": "metrics.loss > 0"}'
eq "{}" "$BODY" "{}"
post "a bad filter is 400" 400 runs/search "{\"experiment_ids\": [\"$EA\"], \"filter\": \"metrics.loss <\"}"
code_is "INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
post "a bad order_by is 400" 400 runs/search "{\"experiment_ids\": [\"$EA\"], \"order_by\": [\"metrics.loss SIDEWAYS\"]}"
post "experiment_ids that are not ids are 400" 400 runs/search '{"experiment_ids": ["x"]}'
post "max_results above 50000 is 400" 400 runs/search "{\"experiment_ids\": [\"$EA\"], \"max_results\": 50001}"
post "order_by that is not a list is 400" 400 runs/search "{\"experiment_ids\": [\"$EA\"], \"order_by\": 5}"
post "delete a run" 200 runs/delete "{\"run_id\": \"$R3\"}"
post "search DELETED_ONLY (run_view_type)" 200 runs/search "{\"experiment_ids\": [\"$EA\"], \"run_view_type\": \"DELETED_ONLY\"}"
eq "r3" "$(json '[r["info"]["run_name"] for r in d["runs"]]')" "['r3']"
post "logging to a deleted run is 400" 400 runs/log-metric "{\"run_id\": \"$R3\", \"key\": \"k\", \"value\": 1, \"timestamp\": 1}"
post "restore it" 200 runs/restore "{\"run_uuid\": \"$R3\"}"
post "restoring an unknown run is 404" 404 runs/restore '{"run_id": "0123456789abcdef0123456789abcdef"}'

# ------------------------------------------------------------------ artifacts: round trip
printf 'weights\000\001\002' >"$D/w.bin"
req "upload an artifact (PUT)" 200 -X PUT --data-binary @"$D/w.bin" "$MA/$EA/$R1/artifacts/model/w.bin"
eq "answers {}" "$BODY" "{}"
printf '{"a": 1}' >"$D/m.json"
req "upload a second one" 200 -X PUT --data-binary @"$D/m.json" "$MA/$EA/$R1/artifacts/model/meta.json"
req "upload one at the root" 200 -X PUT --data-binary 'hello' "$MA/$EA/$R1/artifacts/README.txt"
req "upload an empty file" 200 -X PUT -H 'Content-Length: 0' "$MA/$EA/$R1/artifacts/empty"
req "download it back (GET)" 200 "$MA/$EA/$R1/artifacts/model/w.bin"
if cmp -s "$D/w.bin" "$D/body"; then ok "the same bytes"; else not_ok "the same bytes"; fi
OUT=$(tr -d '\r' <"$D/hdr")
contains "as an attachment" 'Content-Disposition: attachment; filename="w.bin"'
contains "with nosniff" "X-Content-Type-Options: nosniff"
req "download the JSON one" 200 "$MA/$EA/$R1/artifacts/model/meta.json"
eq "its bytes" "$BODY" '{"a": 1}'
OUT=$(tr -d '\r' <"$D/hdr")
contains "typed application/json" "Content-Type: application/json"
req "download the empty one" 200 "$MA/$EA/$R1/artifacts/empty"
eq "no bytes" "$BODY" ""
req "re-uploading replaces the file" 200 -X PUT --data-binary 'hello again' "$MA/$EA/$R1/artifacts/README.txt"
req "download it" 200 "$MA/$EA/$R1/artifacts/README.txt"
eq "the new bytes" "$BODY" "hello again"
req "proxy list (?path=run root)" 200 "$MA?path=$EA/$R1/artifacts"
eq "base names, sizes, directories" "$(json '[(f["path"], f["is_dir"], f.get("file_size")) for f in d["files"]]')" \
    "[('README.txt', False, 11), ('empty', False, 0), ('model', True, None)]"
req "proxy list of a directory" 200 "$MA?path=$EA/$R1/artifacts/model"
eq "its files by base name" "$(json '[(f["path"], f["file_size"]) for f in d["files"]]')" "[('meta.json', 8), ('w.bin', 10)]"
get "tracking artifacts/list" 200 "artifacts/list?run_id=$R1"
eq "root_uri and entries" "$(json 'd["root_uri"], [f["path"] for f in d["files"]]')" \
    "mlflow-artifacts:/$EA/$R1/artifacts ['README.txt', 'empty', 'model']"
get "tracking artifacts/list with path (run_uuid)" 200 "artifacts/list?run_uuid=$R1&path=model"
eq "paths relative to the run" "$(json '[f["path"] for f in d["files"]]')" "['model/meta.json', 'model/w.bin']"
req "download of a missing file is 404" 404 "$MA/$EA/$R1/artifacts/model/nope.bin"
code_is "RESOURCE_DOES_NOT_EXIST" RESOURCE_DOES_NOT_EXIST
req "download of a directory is 404" 404 "$MA/$EA/$R1/artifacts/model"
req "the wrong experiment for the run is 404" 404 "$MA/$EB/$R1/artifacts/README.txt"
req "an unknown run is 404" 404 "$MA/$EA/0123456789abcdef0123456789abcdef/artifacts/README.txt"
req "a path of another shape is 400" 400 "$MA/$EA/$R1/files/README.txt"
req "the artifact root is no file: GET is 400" 400 "$MA/$EA/$R1/artifacts"
req "DELETE a file" 200 -X DELETE "$MA/$EA/$R1/artifacts/model/meta.json"
req "it is gone" 404 "$MA/$EA/$R1/artifacts/model/meta.json"
req "DELETE a directory" 200 -X DELETE "$MA/$EA/$R1/artifacts/model"
req "its files are gone" 404 "$MA/$EA/$R1/artifacts/model/w.bin"
req "DELETE of a missing path is 404" 404 -X DELETE "$MA/$EA/$R1/artifacts/model"
req "the rest remains" 200 "$MA?path=$EA/$R1/artifacts"
eq "README.txt and empty" "$(json '[f["path"] for f in d["files"]]')" "['README.txt', 'empty']"

# ------------------------------------------------------------------ artifacts: traversal
# Each trick on each surface: proxy GET, PUT and DELETE (the path in the URL, checked raw and
# decoded), proxy list ?path= and tracking artifacts/list ?path= (decoded once by the server).
# Every one is 400 INVALID_PARAMETER_VALUE, also for a run that does not exist (so the check
# comes before any lookup). "NAME|URL-PATH-TAIL|QUERY-VALUE" per line; the URL tail follows
# "$EA/$RUN/artifacts/", the query value replaces a whole path.
ZERO=0123456789abcdef0123456789abcdef
cat >"$D/tricks" <<'EOF'
dot-dot|../../../../etc/passwd|RUNROOT/../../../../etc/passwd
dot-dot at the start|..|RUNROOT/..
single dot segment|./x|RUNROOT/./x
encoded dots %2e%2e|%2e%2e/%2e%2e/etc/passwd|RUNROOT/%2e%2e/%2e%2e/etc/passwd
upper-case encoded dots %2E%2E|%2E%2E/x|RUNROOT/%2E%2E/x
mixed .%2e|.%2e/.%2e/x|RUNROOT/.%2e/.%2e/x
double encoding %252e%252e|%252e%252e/%252e%252e/etc/passwd|RUNROOT/%252e%252e/etc/passwd
double-encoded slash %252f|..%252f..%252fetc|RUNROOT/..%252f..%252fetc
encoded slash ..%2f|..%2f..%2fetc%2fpasswd|RUNROOT/..%2f..%2fetc
backslash|..\..\etc\passwd|RUNROOT/..\..\etc
encoded backslash %5c|..%5c..%5cetc%5cpasswd|RUNROOT/..%5c..%5cetc
semicolon path parameter|a;x=1/../../etc|RUNROOT/a;/../etc
encoded semicolon %3b|..%3b/..%3b/etc|RUNROOT/..%3b/x
fragment %23|a%23/../../etc|RUNROOT/a%23/../etc
query mark %3f|a%3f/../etc|RUNROOT/a%3f/x
absolute path (empty segment)|/etc/passwd|/etc/passwd
absolute path inside|x//etc/passwd|RUNROOT//etc/passwd
NUL %00|a%00.txt|RUNROOT/a%00.txt
overlong UTF-8 dot %c0%ae|%c0%ae%c0%ae/etc|RUNROOT/%c0%ae%c0%ae/etc
control character %0a|a%0ab|RUNROOT/a%0ab
EOF
while IFS='|' read -r name tail qval; do
    for run in "$R1" "$ZERO"; do
        [ "$run" = "$R1" ] && which="" || which=" (unknown run)"
        req "proxy GET: $name$which -> 400" 400 "$MA/$EA/$run/artifacts/$tail"
        code_is "proxy GET: $name$which: INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
    done
    req "proxy PUT: $name -> 400" 400 -X PUT --data-binary 'evil' "$MA/$EA/$R1/artifacts/$tail"
    code_is "proxy PUT: $name: INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
    req "proxy DELETE: $name -> 400" 400 -X DELETE "$MA/$EA/$R1/artifacts/$tail"
    code_is "proxy DELETE: $name: INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
    q=$(printf '%s' "$qval" | sed "s|RUNROOT|$EA/$R1/artifacts|" | sed 's|;|%3b|g; s|\\|%5c|g; s|#|%23|g')
    req "proxy list ?path=: $name -> 400" 400 "$MA?path=$q"
    code_is "proxy list ?path=: $name: INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
    q=$(printf '%s' "$qval" | sed "s|RUNROOT/||; s|RUNROOT||" | sed 's|;|%3b|g; s|\\|%5c|g; s|#|%23|g')
    req "artifacts/list ?path=: $name -> 400" 400 "$M/artifacts/list?run_id=$R1&path=$q"
    code_is "artifacts/list ?path=: $name: INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
done <"$D/tricks"
req "a drive letter in artifacts/list path is 400" 400 "$M/artifacts/list?run_id=$R1&path=C:/Windows"
req "a traversal in the experiment part is 400" 400 "$MA/../$EA/$R1/artifacts/x"
req "a listing path may end in /" 200 "$MA?path=$EA/$R1/artifacts/"
get "so may artifacts/list's" 200 "artifacts/list?run_id=$R1&path=model/"
req "nothing was written by the refused uploads" 200 "$MA?path=$EA/$R1/artifacts"
eq "still README.txt and empty" "$(json '[f["path"] for f in d["files"]]')" "['README.txt', 'empty']"

# ------------------------------------------------------------------ registry: models
post "create a registered model" 200 registered-models/create \
    '{"name": "fraud", "description": "scores", "tags": [{"key": "team", "value": "risk"}]}'
eq "registered_model" "$(json2 'm=d["registered_model"]' 'm["name"], m["description"], m["tags"], type(m["creation_timestamp"]).__name__')" \
    "fraud scores [{'key': 'team', 'value': 'risk'}] int"
post "a duplicate model is 400" 400 registered-models/create '{"name": "fraud"}'
code_is "RESOURCE_ALREADY_EXISTS" RESOURCE_ALREADY_EXISTS
post "a model without a name is 400" 400 registered-models/create '{}'
body_has "naming it" "'name'"
post "a second model" 200 registered-models/create '{"name": "churn"}'
get "get a model" 200 "registered-models/get?name=fraud"
eq "it" "$(json 'd["registered_model"]["name"]')" "fraud"
get "an unknown model is 404" 404 "registered-models/get?name=nope"
code_is "RESOURCE_DOES_NOT_EXIST" RESOURCE_DOES_NOT_EXIST
patch "update its description (PATCH)" 200 registered-models/update '{"name": "fraud", "description": "fraud scores"}'
eq "returns the model" "$(json 'd["registered_model"]["description"]')" "fraud scores"
post "set a model tag" 200 registered-models/set-tag '{"name": "fraud", "key": "tier", "value": "1"}'
del "delete it (DELETE with a JSON body)" 200 registered-models/delete-tag '{"name": "fraud", "key": "tier"}'
req "delete a missing tag (DELETE with a query) is 404" 404 -X DELETE "$M/registered-models/delete-tag?name=fraud&key=tier"
get "search models: filter and order_by" 200 "registered-models/search?filter=name%20LIKE%20'%25r%25'&order_by=name%20DESC"
eq "fraud, churn" "$(json '[m["name"] for m in d["registered_models"]]')" "['fraud', 'churn']"
get "search models: max_results=1" 200 "registered-models/search?max_results=1"
eq "churn and a token" "$(json '[m["name"] for m in d["registered_models"]], "next_page_token" in d')" "['churn'] True"
get "search models: a bad filter is 400" 400 "registered-models/search?filter=name%20%3D%3D%3D%20x"

# ------------------------------------------------------------------ registry: versions
post "create version 1" 200 model-versions/create \
    "{\"name\": \"fraud\", \"source\": \"mlflow-artifacts:/$EA/$R1/artifacts/model\", \"run_id\": \"$R1\", \"tags\": [{\"key\": \"k\", \"value\": \"v\"}], \"description\": \"first\"}"
eq "version \"1\", stage None, READY" "$(json2 'v=d["model_version"]' 'v["version"], v["current_stage"], v["status"], v["run_id"] == "'"$R1"'"')" "1 None READY True"
post "create version 2 (runs:/ source)" 200 model-versions/create "{\"name\": \"fraud\", \"source\": \"runs:/$R2/model\", \"run_id\": \"$R2\"}"
eq "version \"2\"" "$(json 'd["model_version"]["version"]')" "2"
post "create version 3" 200 model-versions/create "{\"name\": \"fraud\", \"source\": \"runs:/$R1/model\"}"
post "a file: source is 400 (CVE-2023-1177)" 400 model-versions/create '{"name": "fraud", "source": "file:///etc/passwd"}'
code_is "INVALID_PARAMETER_VALUE" INVALID_PARAMETER_VALUE
post "a plain path source is 400" 400 model-versions/create '{"name": "fraud", "source": "/etc/passwd"}'
post "a source with .. is 400 (CVE-2023-2356)" 400 model-versions/create "{\"name\": \"fraud\", \"source\": \"runs:/$R1/../../etc\"}"
post "a source with an encoded .. is 400" 400 model-versions/create "{\"name\": \"fraud\", \"source\": \"mlflow-artifacts:/$EA/%2e%2e/x\"}"
post "a source with a fragment is 400 (CVE-2024-1594)" 400 model-versions/create '{"name": "fraud", "source": "mlflow-artifacts:/1/x#../../etc"}'
post "a source with a backslash is 400 (CVE-2023-2780)" 400 model-versions/create '{"name": "fraud", "source": "runs:/x/..\\..\\etc"}'
post "a version without source is 400" 400 model-versions/create '{"name": "fraud"}'
body_has "naming it" "'source'"
post "a version of an unknown run is 404" 404 model-versions/create "{\"name\": \"fraud\", \"source\": \"runs:/$ZERO/model\", \"run_id\": \"$ZERO\"}"
post "a version of an unknown model is 404" 404 model-versions/create "{\"name\": \"nope\", \"source\": \"runs:/$R1/model\"}"
get "get a version" 200 "model-versions/get?name=fraud&version=1"
eq "its fields" "$(json2 'v=d["model_version"]' 'v["description"], v["tags"], v["source"]')" \
    "first [{'key': 'k', 'value': 'v'}] mlflow-artifacts:/$EA/$R1/artifacts/model"
get "a version that is no number is 400" 400 "model-versions/get?name=fraud&version=abc"
get "an unknown version is 404" 404 "model-versions/get?name=fraud&version=99"
code_is "RESOURCE_DOES_NOT_EXIST" RESOURCE_DOES_NOT_EXIST
patch "update a version's description" 200 model-versions/update '{"name": "fraud", "version": "2", "description": "second"}'
eq "returns the version" "$(json 'd["model_version"]["description"]')" "second"
post "set a version tag (version as a number)" 200 model-versions/set-tag '{"name": "fraud", "version": 2, "key": "q", "value": "ok"}'
del "delete it" 200 model-versions/delete-tag '{"name": "fraud", "version": "2", "key": "q"}'
get "get-download-uri of a runs:/ source" 200 "model-versions/get-download-uri?name=fraud&version=2"
eq "the run's artifact URI" "$(json 'd["artifact_uri"]')" "mlflow-artifacts:/$EA/$R2/artifacts/model"
get "get-download-uri of an mlflow-artifacts source" 200 "model-versions/get-download-uri?name=fraud&version=1"
eq "the source" "$(json 'd["artifact_uri"]')" "mlflow-artifacts:/$EA/$R1/artifacts/model"

# stages
post "transition version 1 to Staging" 200 model-versions/transition-stage '{"name": "fraud", "version": "1", "stage": "staging", "archive_existing_versions": false}'
eq "current_stage Staging" "$(json 'd["model_version"]["current_stage"]')" "Staging"
post "version 2 to Production" 200 model-versions/transition-stage '{"name": "fraud", "version": "2", "stage": "Production", "archive_existing_versions": false}'
post "version 3 to Production, archiving the others" 200 model-versions/transition-stage '{"name": "fraud", "version": "3", "stage": "Production", "archive_existing_versions": true}'
get "version 2 was archived" 200 "model-versions/get?name=fraud&version=2"
eq "Archived" "$(json 'd["model_version"]["current_stage"]')" "Archived"
post "a bad stage is 400" 400 model-versions/transition-stage '{"name": "fraud", "version": "1", "stage": "Prod", "archive_existing_versions": false}'
body_has "listing the stages" "None, Staging, Production, Archived"
post "archive_existing_versions is required" 400 model-versions/transition-stage '{"name": "fraud", "version": "1", "stage": "Staging"}'
body_has "naming it" "'archive_existing_versions'"
post "archive_existing_versions must be a boolean" 400 model-versions/transition-stage '{"name": "fraud", "version": "1", "stage": "Staging", "archive_existing_versions": 3}'
get "get-latest-versions (GET, repeated stages)" 200 "registered-models/get-latest-versions?name=fraud&stages=Production&stages=Staging"
eq "3 in Production, 1 in Staging" "$(json '[(v["version"], v["current_stage"]) for v in d["model_versions"]]')" "[('3', 'Production'), ('1', 'Staging')]"
post "get-latest-versions (POST, all stages)" 200 registered-models/get-latest-versions '{"name": "fraud"}'
eq "one per stage" "$(json 'sorted((v["current_stage"], v["version"]) for v in d["model_versions"])')" "[('Archived', '2'), ('Production', '3'), ('Staging', '1')]"
get "get-latest-versions with a bad stage is 400" 400 "registered-models/get-latest-versions?name=fraud&stages=Nope"
get "the model lists its latest versions" 200 "registered-models/get?name=fraud"
eq "per stage" "$(json 'sorted(v["version"] for v in d["registered_model"]["latest_versions"])')" "['1', '2', '3']"

# aliases
post "set alias champion -> 1" 200 registered-models/alias '{"name": "fraud", "alias": "champion", "version": "1"}'
eq "answers {}" "$BODY" "{}"
get "get by alias" 200 "registered-models/alias?name=fraud&alias=champion"
eq "version 1 with its alias" "$(json 'd["model_version"]["version"], d["model_version"]["aliases"]')" "1 ['champion']"
post "move champion to 3" 200 registered-models/alias '{"name": "fraud", "alias": "champion", "version": 3}'
get "get by alias again" 200 "registered-models/alias?name=fraud&alias=champion"
eq "version 3" "$(json 'd["model_version"]["version"]')" "3"
get "version 1 lost the alias" 200 "model-versions/get?name=fraud&version=1"
eq "no aliases" "$(json 'd["model_version"].get("aliases", [])')" "[]"
post "set alias challenger -> 1" 200 registered-models/alias '{"name": "fraud", "alias": "challenger", "version": "1"}'
get "the model lists its aliases" 200 "registered-models/get?name=fraud"
eq "both" "$(json 'sorted((a["alias"], a["version"]) for a in d["registered_model"]["aliases"])')" "[('challenger', '1'), ('champion', '3')]"
post "the reserved alias latest is 400" 400 registered-models/alias '{"name": "fraud", "alias": "latest", "version": "1"}'
post "an alias on a missing version is 404" 404 registered-models/alias '{"name": "fraud", "alias": "x", "version": "42"}'
post "an alias without version is 400" 400 registered-models/alias '{"name": "fraud", "alias": "x"}'
del "delete alias challenger (JSON body)" 200 registered-models/alias '{"name": "fraud", "alias": "challenger"}'
get "it is gone" 404 "registered-models/alias?name=fraud&alias=challenger"
code_is "RESOURCE_DOES_NOT_EXIST" RESOURCE_DOES_NOT_EXIST
req "delete alias champion (query)" 200 -X DELETE "$M/registered-models/alias?name=fraud&alias=champion"
req "deleting it again is 404" 404 -X DELETE "$M/registered-models/alias?name=fraud&alias=champion"

# version search, delete, rename, model delete
get "search versions: name and order" 200 "model-versions/search?filter=name%3D'fraud'&order_by=version_number%20DESC"
eq "3, 2, 1" "$(json '[v["version"] for v in d["model_versions"]]')" "['3', '2', '1']"
get "search versions: by run_id" 200 "model-versions/search?filter=run_id%3D'$R2'"
eq "version 2" "$(json '[v["version"] for v in d["model_versions"]]')" "['2']"
del "delete version 2" 200 model-versions/delete '{"name": "fraud", "version": "2"}'
get "it is gone" 404 "model-versions/get?name=fraud&version=2"
post "version numbers are not reused" 200 model-versions/create "{\"name\": \"fraud\", \"source\": \"runs:/$R1/model\"}"
eq "version 4" "$(json 'd["model_version"]["version"]')" "4"
post "rename the model" 200 registered-models/rename '{"name": "fraud", "new_name": "fraud-v2"}'
eq "returns it under the new name" "$(json 'd["registered_model"]["name"]')" "fraud-v2"
get "its versions followed" 200 "model-versions/get?name=fraud-v2&version=3"
get "the old name is gone" 404 "registered-models/get?name=fraud"
post "renaming onto a taken name is 400" 400 registered-models/rename '{"name": "fraud-v2", "new_name": "churn"}'
code_is "RESOURCE_ALREADY_EXISTS" RESOURCE_ALREADY_EXISTS
del "delete a model" 200 registered-models/delete '{"name": "fraud-v2"}'
get "it is gone" 404 "registered-models/get?name=fraud-v2"
get "and so are its versions" 404 "model-versions/get?name=fraud-v2&version=3"
del "deleting it again is 404" 404 registered-models/delete '{"name": "fraud-v2"}'

stop_server
if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$D/server.log"; then
    not_ok "the server log is clean" "$(grep -m5 'runtime error\|AddressSanitizer\|LeakSanitizer' "$D/server.log")"
else
    ok "the server log is clean"
fi

# ------------------------------------------------------------------ the npm client
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    not_ok "npm and node are installed (needed for the mlflow@2.0.7 conformance run)"
    done_testing
fi
if timeout 300 npm install --no-audit --no-fund --prefix "$T_DIR/npm" mlflow@2.0.7 >"$D/npm.log" 2>&1; then
    ok "npm install mlflow@2.0.7"
else
    not_ok "npm install mlflow@2.0.7" "$(tail -n 20 "$D/npm.log")"
    done_testing
fi
start_server --threads 2
node "$HERE/mlflow_client.js" "http://127.0.0.1:$PORT" "$T_DIR/npm" >"$D/node.out" 2>&1
rc=$?
# Relay the client's TAP lines (renumbered into this script's sequence) and its diagnostics.
while IFS= read -r line; do
    case "$line" in
    "ok "*) ok "npm: ${line#ok * - }" ;;
    "not ok "*) not_ok "npm: ${line#not ok * - }" ;;
    "#"*) printf '%s\n' "$line" ;;
    esac
done <"$D/node.out"
if [ "$rc" -eq 0 ] && grep -q '^1\.\.' "$D/node.out"; then
    ok "the npm conformance run completed"
else
    not_ok "the npm conformance run completed" "exit $rc; $(tail -n 20 "$D/node.out")"
fi
stop_server
done_testing
