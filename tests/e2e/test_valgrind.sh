#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: `gyre server` under valgrind memcheck through a short mixed load has zero
# memory errors and zero definitely lost bytes. The server (the normal -O2 -g build) serves
# a small tree model; tests/e2e/valgrind_load.py drives 300 requests in three rounds from two
# keep-alive threads - V2 inference in JSON and binary (header + binary, raw), malformed
# requests of several kinds, metadata, statistics, /metrics, health, native and MLflow reads -
# and between the rounds the champion alias moves to another version and back (hot swaps the
# server picks up by polling; the second one unloads the other version). The server is
# stopped with SIGTERM and must exit 0: valgrind runs with --error-exitcode=99 and
# --errors-for-leak-kinds=definite, so an invalid read or write, a use of uninitialised
# memory, a bad free or a definite leak changes the exit status. Suppressions:
# tests/e2e/valgrind.supp (third-party libraries' one-time allocations only, each with its
# reason). Environment: VALGRIND_REQUESTS (default 300).
. "$(dirname "$0")/lib.sh"
D=$T_DIR
HERE=$(cd "$(dirname "$0")" && pwd)
REQS=${VALGRIND_REQUESTS:-300}

SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT

if ! command -v valgrind >/dev/null 2>&1; then
    not_ok "valgrind is installed (scripts/install-deps test)"
    done_testing
fi

gyre generate transactions --rows 1500 --seed 11 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "train version 1" 0 gyre train --dataset tx --target is_fraud --rounds 6 \
    --param max_depth=3 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register num --alias champion --quiet
run "train version 2" 0 gyre train --dataset tx --target is_fraud --rounds 3 \
    --param max_depth=2 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register num --quiet

# Valgrind's report goes to vg.log, the server's log to server.log.
valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --error-exitcode=99 --num-callers=30 \
    --child-silent-after-fork=yes --suppressions="$HERE/valgrind.supp" \
    --log-file="$D/vg.log" \
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --threads 2 \
    --max-body 65536 --max-elements 1000 --poll-ms 200 2>"$D/server.log" &
SRV_PID=$!
i=0
# Under valgrind the start (schema, model load) takes a few seconds.
while [ ! -s "$D/ready" ] && [ $i -lt 600 ]; do
    kill -0 $SRV_PID 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ ! -s "$D/ready" ]; then
    not_ok "server starts under valgrind" "$(tail -n 20 "$D/server.log"; tail -n 40 "$D/vg.log")"
    done_testing
fi
ok "server starts under valgrind"
U="http://127.0.0.1:$(cat "$D/ready")"

# wait_log NEEDLE: waits up to 20 s for the server log to contain NEEDLE.
wait_log() {
    j=0
    while ! grep -q "$1" "$D/server.log" && [ $j -lt 200 ]; do
        sleep 0.1
        j=$((j + 1))
    done
    grep -q "$1" "$D/server.log"
}
# load N DESC: N requests from two threads; every one answered as expected.
load() {
    python3 "$HERE/valgrind_load.py" "$U" "$1" 2 >"$D/load.out" 2>&1
    rc=$?
    OUT=$(cat "$D/load.out")
    eq "$2: every request answered as expected" "$rc" 0
    [ "$rc" -eq 0 ] || printf '%s\n' "$OUT" | sed 's/^/#   /'
    contains "$2: all $1 requests made" "requests $1 ok"
}
third=$((REQS / 3))
load $third "load on version 1"
run "alias moves to version 2" 0 gyre models alias num champion 2
if wait_log "now answers with num = num 2"; then
    ok "hot swap to version 2"
else
    not_ok "hot swap to version 2" "$(tail -n 5 "$D/server.log")"
fi
load $third "load on version 2"
run "alias moves back to version 1" 0 gyre models alias num champion 1
if wait_log "unloaded num version 2"; then
    ok "hot swap back, version 2 unloaded"
else
    not_ok "hot swap back, version 2 unloaded" "$(tail -n 5 "$D/server.log")"
fi
load $((REQS - 2 * third)) "load on version 1 again"

OUT=$(curl -sS "$U/metrics")
contains "metrics answer after the load" "gyre_"

kill -TERM $SRV_PID
wait $SRV_PID
vrc=$?
SRV_PID=""
eq "server exits 0 under valgrind (99 would mean memcheck errors)" "$vrc" 0
# The summary lines only (the stacks follow below when something failed).
OUT=$(grep -E 'ERROR SUMMARY|definitely lost' "$D/vg.log")
contains "ERROR SUMMARY: 0 errors" "ERROR SUMMARY: 0 errors"
case "$OUT" in
*"definitely lost:"*) contains "no definite leaks" "definitely lost: 0 bytes" ;;
*) ok "no definite leaks (no leak summary: nothing was lost)" ;;
esac
if [ "$vrc" -ne 0 ] || [ "$T_FAILED" -ne 0 ]; then
    sed -n '/ERROR SUMMARY\|Invalid\|uninitialised\|definitely lost\|at 0x\|by 0x/p' "$D/vg.log" |
        head -n 80 | sed 's/^/#   /'
    tail -n 20 "$D/server.log" | sed 's/^/#   server: /'
fi
done_testing
