#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: the hostile-input suite of issue 7 (reference reliability-and-security.md 4.6
# and 4.7) against a running `gyre server`, driven by tests/e2e/hostile.py over raw sockets:
# - the 30 malformed-input classes of 4.7 (HTTP framing and headers, paths, model names,
#   body types, JSON syntax and structure on V2 inference, the native API and MLflow, numbers,
#   tensor semantics, reloads, cancelled and pipelined requests), each request with its exact
#   expected status (or "closed without a response"); every error body at most 1 KiB with no
#   source locations, SQL, stack traces or data-home paths; a legitimate inference answered
#   after every case;
# - class 13 (authentication) against a second server started with --auth;
# - slow clients (4.6, CI size): 200 slowloris, 50 slow POST bodies, 50 slow readers and 500
#   idle connections from 127.0.0.2 while a legitimate client on 127.0.0.3 sends inferences:
#   0 errors for it, and every attack connection closed within the server's --timeout (the
#   reaper's header deadline, the 1 KiB/s body rate, libmicrohttpd's idle timeout), and the
#   server's RSS grows less than 64 MiB.
#   The p99 bound: the legitimate client's p99 under attack must stay within 3x its baseline
#   measured just before, with a floor of 10 ms on the bound (a loopback baseline can be a
#   fraction of a millisecond, where a busy 2-core CI machine's scheduling is the noise); the
#   measured ratio is printed either way. The client runs in its own process, so that the
#   attacker's bookkeeping does not hold the Python interpreter lock while it measures.
# Known deviations of gyre are reported as "not ok ... # TODO reason" (TAP todo) and do not
# fail the script; everything else must pass.
. "$(dirname "$0")/lib.sh"
D=$T_DIR
PY=/usr/bin/python3
HOSTILE="$(dirname "$0")/hostile.py"
TIMEOUT=5
SRV_PID=""
stop_server() {
    if [ -n "$SRV_PID" ]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=""
    fi
}
trap 'stop_server; t_cleanup' EXIT

# todo DESC REASON: a known deviation (TAP "# TODO"): reported, not counted as a failure.
todo() {
    T_N=$((T_N + 1))
    echo "not ok $T_N - $1 # TODO $2"
}

# report: turns hostile.py's PASS/FAIL/TODO lines into TAP.
report() {
    while IFS='	' read -r kind desc detail; do
        case "$kind" in
        PASS) ok "$desc" ;;
        FAIL) not_ok "$desc" "$detail" ;;
        TODO) todo "$desc" "$detail" ;;
        *) echo "# $desc" ;;
        esac
    done
}

# start_server ARGS...: gyre server on an ephemeral port; $PORT once its ready file is there.
start_server() {
    rm -f "$D/ready"
    "$GYRE_BIN" server --port 0 --ready-file "$D/ready" "$@" 2>>"$D/server.log" &
    SRV_PID=$!
    i=0
    while [ ! -s "$D/ready" ] && [ $i -lt 300 ]; do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
        i=$((i + 1))
    done
    PORT=$(cat "$D/ready" 2>/dev/null)
    if [ -n "$PORT" ]; then ok "server ready ($*)"; else not_ok "server ready" "$(cat "$D/server.log")"; fi
}

# clean_log DESC: no sanitizer report or crash in the server's log (after it stopped, so that
# LeakSanitizer's exit report is in).
clean_log() {
    OUT=$(cat "$D/server.log")
    case "$OUT" in
    *Sanitizer* | *"runtime error"* | *Segmentation*) not_ok "$1" "$OUT" ;;
    *) ok "$1" ;;
    esac
}

# alive DESC: the server process is still running (no crash).
alive() {
    if kill -0 "$SRV_PID" 2>/dev/null; then ok "$1"; else not_ok "$1" "$(tail -n 20 "$D/server.log")"; fi
}

# ------------------------------------------------------------------ a model to serve: num,
# six FP32 inputs
$PY -c "
import random
random.seed(3)
print('a,b,c,d,e,f,y')
for i in range(400):
    x = [random.random() for _ in range(6)]
    print(','.join('%.4f' % v for v in x) + ',' + ('1' if x[0] + x[1] > 1 else '0'))
" >"$D/train.csv"
run "ingest a training set" 0 gyre ingest train "$D/train.csv"
run "train and register model num" 0 gyre train --dataset train --target y --rounds 2 \
    --param max_depth=2 --register num --alias champion --quiet

# ------------------------------------------------------------------ classes 1-12, 14-30
: >"$D/server.log"
start_server --max-body 1M --max-elements 1200 --timeout $TIMEOUT --poll-ms 100
$PY "$HOSTILE" cases "$PORT" "$GYRE_HOME" >"$D/cases.out" 2>&1
report <"$D/cases.out"
grep -q '^PASS' "$D/cases.out" || not_ok "the corpus ran" "$(tail -n 20 "$D/cases.out")"

# ------------------------------------------------------------------ 4.6: slow clients
# The RSS bound does not hold under AddressSanitizer (its quarantine and shadow memory grow
# by hundreds of MiB): there it is only printed.
RSS_MIB=64
if grep -q __asan_init "$GYRE_BIN"; then RSS_MIB=0; fi
$PY "$HOSTILE" slow "$PORT" $TIMEOUT "$SRV_PID" $RSS_MIB >"$D/slow.out" 2>&1
report <"$D/slow.out"
grep -q '^PASS' "$D/slow.out" || not_ok "the slow-client attack ran" "$(tail -n 20 "$D/slow.out")"
alive "the server survived the corpus and the slow clients (no crash)"
stop_server
clean_log "no sanitizer report or crash in the server's log"

# ------------------------------------------------------------------ class 13: authentication
export USER=e2e-hostile
{
    for r in predictor viewer; do
        printf '%s=%s\n' "$r" "$(gyre token create --role $r --name "h-$r" --expires 1h 2>/dev/null)"
    done
    printf 'expired=%s\n' "$(gyre token create --role predictor --name h-exp --expires 1s 2>/dev/null)"
    printf 'revoked=%s\n' "$(gyre token create --role predictor --name h-rev --expires 1h 2>/dev/null)"
    printf 'scoped=%s\n' "$(gyre token create --role predictor --name h-scoped --scope models/other --expires 1h 2>/dev/null)"
} >"$D/tokens"
run "revoke one token" 0 gyre token revoke h-rev
sleep 1.2 # the 1 s token expires
: >"$D/server.log"
start_server --auth --timeout $TIMEOUT
$PY "$HOSTILE" auth "$PORT" "$D/tokens" "$D/server.log" >"$D/auth.out" 2>&1
report <"$D/auth.out"
grep -q '^PASS' "$D/auth.out" || not_ok "the auth cases ran" "$(tail -n 20 "$D/auth.out")"
alive "the --auth server survived (no crash)"
stop_server
clean_log "no sanitizer report or crash in the --auth server's log"

done_testing
