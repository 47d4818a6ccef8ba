#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: the demo of `make demo` (scripts/demo) in its short mode (GYRE_DEMO_SHORT=1:
# fewer rows and a shorter canary), on its own data home, then checks what it should have
# left behind: v1 trained and made champion, drift detected in the shifted traffic (and the
# alert fired when Alertmanager is installed), the pipeline run triggered by that drift,
# promoted v2 after its canary, the champion alias on v2, the deployment's routes restored,
# and the drift HTML report and the Prometheus snapshot written. Also a few `gyre load`
# failure paths against the demo's data home. Must stay under a minute.
# backends: sqlite
. "$(dirname "$0")/lib.sh"
D=$T_DIR
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEMO_HOME=$D/demo
export DEMO_HOME

OUT=$(GYRE="$GYRE_BIN" GYRE_DEMO_SHORT=1 DEMO_AM_PORT=23491 DEMO_PIPELINE_TIMEOUT=45 \
    sh "$ROOT/scripts/demo" 2>&1)
rc=$?
eq "the short demo finishes with exit 0" "$rc" 0
[ "$rc" -eq 0 ] || printf '%s\n' "$OUT" | tail -n 40 | sed 's/^/#   /'
contains "v1 is registered as the champion" "registered fraud version 1 as @champion"
contains "the load client served the first week without errors" "3000 ok, 0 errors"
contains "the drift report on the shifted traffic finds drift" "dataset drift: YES"
if command -v prometheus-alertmanager >/dev/null 2>&1; then
    contains "the GyreDataDrift alert fired" "alert GyreDataDrift for fraud-live fired"
fi
contains "the run reached the canary" "run 1: canary"
contains "the summary names the drift report" "drift report (HTML):"

export GYRE_HOME=$DEMO_HOME
run "drift history" 0 gyre drift history fraud-live --json
# the reports, newest first: the shifted traffic drifted, the first week did not
eq "two drift reports: the shifted traffic drifted, the first week did not" \
    "$(printf '%s\n' "$OUT" | grep '^    "drift": ' | tr -d ' ,\n')" '"drift":true"drift":false'

run "pipeline runs" 0 gyre pipeline runs fraud-retrain --json
runs=$OUT
eq "one pipeline run" "$(printf '%s\n' "$runs" | grep -c '"pipeline": "fraud-retrain"')" 1
contains "the run was promoted" '"state": "promoted"'
contains "the drift triggered it" '"trigger": "drift"'
contains "it replaced v1" '"champion_version": 1,'
contains "with v2" '"candidate_version": 2,'
contains "the gates passed against the champion" '"gate": "champion"'
contains "the reason gives the online comparison" 'online logloss'
rows=$(printf '%s\n' "$runs" | sed -n 's/.*"data_rows": \([0-9]*\).*/\1/p')
# the window (the 24000 shifted rows) plus the 3000 + 4000 labeled requests (some may not
# be flushed yet: more than the window and the first week)
if [ "${rows:-0}" -gt 27000 ]; then
    ok "v2 trained on the fresh data plus the logged traffic ($rows rows)"
else
    not_ok "v2 trained on the fresh data plus the logged traffic" "data_rows: ${rows:-none}"
fi

run "the champion alias" 0 gyre models show fraud@champion --json
contains "the champion alias is on v2" '"version": "2"'
run "the deployment" 0 gyre deploy show fraud-live
contains "the routes are back to one champion route" "fraud@champion  version 2     100.0%"
case $OUT in
*challenger*) not_ok "no canary route is left" "$OUT" ;;
*) ok "no canary route is left" ;;
esac

run "online metrics" 0 gyre feedback metrics fraud-live --json
contains "feedback reached v2" '"version": 2'

if grep -q '<html' "$DEMO_HOME/drift.html" 2>/dev/null; then
    ok "the drift HTML report exists"
else
    not_ok "the drift HTML report exists" "$(ls -l "$DEMO_HOME" 2>&1)"
fi
if grep -q '^gyre_routed_requests_total{deployment="fraud-live"' "$DEMO_HOME/metrics.prom" \
    2>/dev/null; then
    ok "the Prometheus snapshot exists and counts the deployment's requests"
else
    not_ok "the Prometheus snapshot exists" "$(head -n 5 "$DEMO_HOME/metrics.prom" 2>&1)"
fi

# gyre load refuses bad options and reports an unreachable server clearly.
run "load: --feedback needs --label" 2 gyre load fraud-live --url http://127.0.0.1:1 \
    --from incoming --feedback
run "load: https is refused" 2 gyre load fraud-live --url https://127.0.0.1:1 --from incoming
run "load: bad concurrency" 2 gyre load fraud-live --url http://127.0.0.1:1 --from incoming -c 0
run "load: nothing listening" 1 gyre load fraud-live --url http://127.0.0.1:1 --from incoming
contains "load: the error names the address" "cannot connect to 127.0.0.1:1"

done_testing
