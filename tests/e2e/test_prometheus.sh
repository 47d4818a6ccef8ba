#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: GET /metrics of `gyre server` in Prometheus's text format. Sends known traffic
# (successes direct and through a deployment, refusals), checks the exact counts in Triton's
# names and gyre's own, runs `promtool check metrics` on the output, then starts a real
# Prometheus on loopback that scrapes the server every second and queries its HTTP API for
# the series and their labels. Skips the Prometheus part only when it is not installed
# (scripts/install-deps test installs the Debian prometheus package).
. "$(dirname "$0")/lib.sh"
D=$T_DIR
py() { /usr/bin/python3 -c "$1"; }

SRV_PID=""
PROM_PID=""
trap 'for p in $PROM_PID $SRV_PID; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; t_cleanup' EXIT

gyre generate transactions --rows 2000 --seed 3 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "train" 0 gyre train --dataset tx --target is_fraud --rounds 4 --param max_depth=3 \
    --features 'merchant_category:drop;country:drop;tx_id:drop' --register fraud \
    --alias champion --quiet
run "a deployment" 0 gyre deploy create scoring --route fraud@champion=100

"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log 2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$D/ready")
U="http://127.0.0.1:$PORT"

GOOD='{"inputs":[{"name":"input-0","shape":[2,6],"datatype":"FP32","data":[[12.5,3,1,40,2.5,1],[900,2,0,22,800,7]]}]}'
WIDE='{"inputs":[{"name":"input-0","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}]}'
code() { curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$2" "$U$1"; }
ok_direct=0
ok_dep=0
i=0
while [ $i -lt 5 ]; do
    [ "$(code /v2/models/fraud/infer "$GOOD")" = 200 ] && ok_direct=$((ok_direct + 1))
    [ "$(code /v2/models/scoring/infer "$GOOD")" = 200 ] && ok_dep=$((ok_dep + 1))
    i=$((i + 1))
done
eq "ten requests answered" "$((ok_direct + ok_dep))" 10
eq "a refused request: 400" "$(code /v2/models/fraud/infer "$WIDE")" 400
eq "a malformed request: 400" "$(code /v2/models/fraud/infer '{"inputs":')" 400

curl -sS -D "$D/mhdr" "$U/metrics" >"$D/metrics.txt"
eq "the exposition format's content type" "$(tr -d '\r' <"$D/mhdr" | sed -n 's/^Content-Type: //Ip')" "text/plain; version=0.0.4; charset=utf-8"
m() { grep -v '^#' "$D/metrics.txt" | grep -F "$1" | head -n 1 | sed 's/.* //'; }
eq "nv_inference_request_success counts the ten" "$(m 'nv_inference_request_success{model="fraud",version="1"}')" 10
eq "nv_inference_count counts rows" "$(m 'nv_inference_count{model="fraud",version="1"}')" 20
eq "nv_inference_exec_count counts executions" "$(m 'nv_inference_exec_count{model="fraud",version="1"}')" 10
eq "the refused request is a failure" "$(grep -F 'nv_inference_request_failure{model="fraud",version="1",' "$D/metrics.txt" | awk '{s += $2} END {print s}')" 1
eq "nothing pending" "$(m 'nv_inference_pending_request_count{model="fraud",version="1"}')" 0
eq "the deployment's routed count" "$(m 'gyre_routed_requests_total{deployment="scoring",variant="fraud@champion"}')" 5
eq "its latency histogram counts the five" "$(m 'gyre_request_duration_seconds_count{deployment="scoring",variant="fraud@champion",role="route"}')" 5
eq "the +Inf bucket equals the count" "$(m 'gyre_request_duration_seconds_bucket{deployment="scoring",variant="fraud@champion",role="route",le="+Inf"}')" 5
eq "the variant's version" "$(m 'gyre_variant_version{deployment="scoring",variant="fraud@champion",role="route"}')" 1
eq "V2 responses by class: 10 successes" "$(m 'gyre_v2_responses_total{endpoint="infer",code="2xx"}')" 10
eq "V2 responses by class: 2 refusals" "$(m 'gyre_v2_responses_total{endpoint="infer",code="4xx"}')" 2
eq "one model version loaded" "$(m 'gyre_model_loads_total')" 1
eq "build info" "$(m 'gyre_build_info{version=')" 1
rss=$(m process_resident_memory_bytes)
if [ "${rss:-0}" -gt 1000000 ]; then ok "process RSS is reported ($rss bytes)"; else not_ok "process RSS is reported" "$rss"; fi
start=$(m process_start_time_seconds)
if py "import time, sys; sys.exit(0 if abs(time.time() - $start) < 600 else 1)"; then ok "process start time is recent"; else not_ok "process start time is recent" "$start"; fi
for f in process_cpu_seconds_total process_open_fds process_max_fds gyre_model_memory_bytes gyre_model_load_duration_seconds gyre_swaps_total gyre_batches_total gyre_shadow_requests_total gyre_shadow_dropped_total gyre_inference_compute_infer_duration_seconds_total; do
    if grep -q "^# TYPE $f " "$D/metrics.txt"; then ok "$f is exposed"; else not_ok "$f is exposed"; fi
done
if promtool check metrics <"$D/metrics.txt" >"$D/promtool.out" 2>&1; then
    ok "promtool check metrics passes"
else
    not_ok "promtool check metrics passes" "$(cat "$D/promtool.out")"
fi
curl -sS "$U/metrics?compat=triton" >"$D/triton.txt"
eq "?compat=triton adds Triton's microsecond counters" "$(grep -c '^# TYPE nv_inference_\(request\|queue\|compute_input\|compute_infer\|compute_output\)_duration_us counter' "$D/triton.txt")" 5
eq "?compat=other is refused" "$(curl -sS -o /dev/null -w '%{http_code}' "$U/metrics?compat=other")" 400

# ---------------------------------------------------------------- a real Prometheus
if ! command -v prometheus >/dev/null 2>&1; then
    echo "ok $((T_N + 1)) # SKIP prometheus is not installed"
    T_N=$((T_N + 1))
    done_testing
fi
PPORT=""
for p in 18790 18791 18792 18793 18794 18795 18796 18797 18798 18799; do
    if ! curl -s -o /dev/null "http://127.0.0.1:$p/"; then
        PPORT=$p
        break
    fi
done
cat >"$D/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: gyre
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
prometheus --config.file="$D/prom.yml" --storage.tsdb.path="$D/prom" \
    --web.listen-address="127.0.0.1:$PPORT" >"$D/prom.log" 2>&1 &
PROM_PID=$!
P="http://127.0.0.1:$PPORT"
i=0
while [ "$(curl -s -o /dev/null -w '%{http_code}' "$P/-/ready")" != 200 ] && [ $i -lt 300 ]; do
    sleep 0.1
    i=$((i + 1))
done
eq "Prometheus is ready" "$(curl -s -o /dev/null -w '%{http_code}' "$P/-/ready")" 200
q() { curl -sS -G "$P/api/v1/query" --data-urlencode "query=$1"; }
i=0
res=""
while [ $i -lt 150 ]; do
    res=$(q nv_inference_request_success | py "import json,sys; r=json.load(sys.stdin)['data']['result']; print(r[0]['value'][1] if r else '')")
    [ -n "$res" ] && break
    sleep 0.1
    i=$((i + 1))
done
eq "Prometheus scraped nv_inference_request_success" "$res" 10
eq "with the model and version labels" "$(q nv_inference_request_success | py "import json,sys; m=json.load(sys.stdin)['data']['result'][0]['metric']; print(m['model'], m['version'], m['job'], m['instance'])")" "fraud 1 gyre 127.0.0.1:$PORT"
eq "the target is up" "$(q 'up{job="gyre"}' | py "import json,sys; print(json.load(sys.stdin)['data']['result'][0]['value'][1])")" 1
eq "the failure reasons are series" "$(q 'sum(nv_inference_request_failure{model="fraud"})' | py "import json,sys; print(json.load(sys.stdin)['data']['result'][0]['value'][1])")" 1
eq "the histogram is queryable" "$(q 'gyre_request_duration_seconds_count{deployment="scoring",role="route"}' | py "import json,sys; print(json.load(sys.stdin)['data']['result'][0]['value'][1])")" 5
eq "histogram_quantile works on it" "$(q 'histogram_quantile(0.5, gyre_request_duration_seconds_bucket{deployment="scoring"}) > 0' | py "import json,sys; print(len(json.load(sys.stdin)['data']['result']))")" 1
eq "the scrape had no errors" "$(curl -sS "$P/api/v1/targets" | py "import json,sys; t=json.load(sys.stdin)['data']['activeTargets'][0]; print(t['health'], t['lastError'] or 'none')")" "up none"
kill "$PROM_PID"
wait "$PROM_PID" 2>/dev/null
PROM_PID=""
ok "Prometheus stopped"
kill "$SRV_PID"
wait "$SRV_PID"
eq "the server stopped cleanly" "$?" 0
SRV_PID=""
done_testing
