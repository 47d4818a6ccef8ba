#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: hot swap under load. Three versions of a model that predict known, distinct
# values for two fixed rows; a canary deployment (champion 90 %, challenger 10 %); four
# keep-alive client threads sending requests for the whole test and recording every status,
# answering version and output; meanwhile 16 alias swaps, a deployment update and a
# rollback, and finally the champion alias pointed at a version whose bundle was corrupted
# on disk. Asserts: no request failed, every response's two outputs are exactly the values
# of the version it names (no mixed versions), each swap is answered by the new version
# within one second, the corrupt version is refused while the old one keeps serving.
# Oracle: `gyre model predict --engine reference` on the same rows, per version.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
py() { /usr/bin/python3 -c "$1"; }

SRV_PID=""
LOAD_PID=""
trap 'rm -f "$D/run"; [ -n "$LOAD_PID" ] && wait $LOAD_PID 2>/dev/null; if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT

FEAT='merchant_category:drop;country:drop;tx_id:drop'
gyre generate transactions --rows 3000 --seed 11 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
for r in 1 4 12; do
    run "train hs with $r rounds" 0 gyre train --dataset tx --target is_fraud --rounds $r \
        --param max_depth=3 --features "$FEAT" --register hs --quiet
done
py "
import csv
rows = list(csv.DictReader(open('$D/tx.csv')))
cols = ['amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h']
with open('$D/rows.csv', 'w') as f:
    f.write(','.join(cols) + '\n')
    for r in (rows[0], rows[7]):
        f.write(','.join(r[c] for c in cols) + '\n')
"
for v in 1 2 3; do
    run "offline predictions of version $v" 0 gyre model predict "hs@$v" --csv "$D/rows.csv" --engine reference
    printf '%s\n' "$OUT" >"$D/want$v"
done
eq "the three versions predict distinct values" "$(py "print(len({open('$D/want%d' % v).read() for v in (1, 2, 3)}))")" 3

run "champion is version 1" 0 gyre models alias hs champion 1
run "challenger is version 2" 0 gyre models alias hs challenger 2
run "a canary deployment" 0 gyre deploy create canary --route hs@champion=90 --route hs@challenger=10

"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
    2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$D/ready")

# The request body: the two rows as one FP32 [2, 6] tensor.
py "
import csv, json
rows = list(csv.DictReader(open('$D/rows.csv')))
conv = lambda v: 1.0 if v == 'true' else 0.0 if v == 'false' else float(v)
print(json.dumps({'inputs': [{'name': 'input-0', 'shape': [2, 6], 'datatype': 'FP32',
                              'data': [[conv(v) for v in r.values()] for r in rows]}]}))" >"$D/req.json"

# Load: 4 threads with keep-alive connections, alternating the deployment and the alias
# endpoint, one line per response: time, endpoint, status, version, variant, outputs.
cat >"$D/load.py" <<'EOF'
import http.client, json, os, sys, threading, time
port, body, run, out = int(sys.argv[1]), open(sys.argv[2], 'rb').read(), sys.argv[3], sys.argv[4]
lock = threading.Lock()
lines = []
def worker(k):
    conn = None
    n = 0
    while os.path.exists(run):
        path = '/v2/models/canary/infer' if (n + k) % 2 == 0 else '/v2/models/hs@champion/infer'
        n += 1
        t = time.time()
        try:
            if conn is None:
                conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
            conn.request('POST', path, body, {'Content-Type': 'application/json'})
            r = conn.getresponse()
            data = r.read()
            if r.status == 200:
                d = json.loads(data)
                rec = [t, path, 200, d['model_version'], d['parameters']['gyre_variant'],
                       d['outputs'][0]['data']]
            else:
                rec = [t, path, r.status, None, None, data.decode(errors='replace')[:200]]
        except Exception as e:
            rec = [t, path, 0, None, None, repr(e)]
            conn = None
        with lock:
            lines.append(rec)
threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for th in threads:
    th.start()
for th in threads:
    th.join()
with open(out, 'w') as f:
    for rec in lines:
        f.write(json.dumps(rec) + '\n')
EOF
# probe.py PATH WANT_VERSION [VARIANT]: ms until PATH answers with that version (and variant).
cat >"$D/probe.py" <<'EOF'
import http.client, json, sys, time
port, path, want = int(sys.argv[1]), sys.argv[2], sys.argv[3]
variant = sys.argv[4] if len(sys.argv) > 4 else None
body = open(sys.argv[5] if len(sys.argv) > 5 else 'req.json', 'rb').read()
t0 = time.time()
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
while time.time() - t0 < 3:
    conn.request('POST', path, body, {'Content-Type': 'application/json'})
    r = conn.getresponse()
    d = json.loads(r.read())
    if r.status == 200 and d['model_version'] == want and (
            variant is None or d['parameters']['gyre_variant'] == variant):
        print(int((time.time() - t0) * 1000))
        sys.exit(0)
    time.sleep(0.005)
print('timeout')
EOF
probe() { (cd "$D" && /usr/bin/python3 probe.py "$PORT" "$@"); }
within_1s() {
    ms=$(probe "$@")
    case "$ms" in
    timeout) not_ok "$desc" "no answer from $2 with version $3 ${4:-} within 3 s" ;;
    *) if [ "$ms" -le 1000 ]; then ok "$desc ($ms ms)"; else not_ok "$desc" "took $ms ms"; fi ;;
    esac
}

desc="the champion answers before the load starts"
within_1s /v2/models/hs@champion/infer 1
: >"$D/run"
/usr/bin/python3 "$D/load.py" "$PORT" "$D/req.json" "$D/run" "$D/load.jsonl" &
LOAD_PID=$!
sleep 0.5

# 16 swaps of the champion between versions 3 and 1.
n=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
    if [ $((i % 2)) -eq 1 ]; then v=3; else v=1; fi
    if gyre models alias hs champion $v >/dev/null 2>&1; then n=$((n + 1)); fi
    desc="swap $i: champion -> $v is answered by version $v within 1 s"
    within_1s /v2/models/hs@champion/infer $v
    desc="swap $i: the canary's champion route follows within 1 s"
    within_1s /v2/models/canary/infer $v hs@champion
done
eq "16 alias changes made" "$n" 16

run "deploy update: half the traffic to version 3" 0 gyre deploy update canary \
    --route hs@champion=50 --route hs@3=50 --reason "canary v3"
desc="the updated route answers within 1 s"
within_1s /v2/models/canary/infer 3 hs@3
run "deploy rollback" 0 gyre deploy rollback canary --reason "back"
desc="after the rollback the challenger route answers within 1 s"
within_1s /v2/models/canary/infer 2 hs@challenger
sleep 0.3
variants=$(i=0; while [ $i -lt 30 ]; do
    curl -sS -H 'Content-Type: application/json' --data-binary "@$D/req.json" \
        "http://127.0.0.1:$PORT/v2/models/canary/infer" | py "import json,sys; print(json.load(sys.stdin)['parameters']['gyre_variant'])"
    i=$((i + 1))
done | sort -u | tr '\n' ' ')
case "$variants" in
*hs@3*) not_ok "the rolled-back route is gone" "variants seen: $variants" ;;
*) ok "the rolled-back route is gone ($variants)" ;;
esac

# A corrupt version: trained and registered fine, then its bundle damaged on disk.
run "train version 4" 0 gyre train --dataset tx --target is_fraud --rounds 2 --param max_depth=3 \
    --features "$FEAT" --register hs --quiet
run "models show hs@4" 0 gyre models show hs@4 --json
hash=$(printf '%s' "$OUT" | py "import json,sys; print(json.load(sys.stdin)['gyre']['bundle_hash'])")
obj="$GYRE_HOME/objects/$(printf '%s' "$hash" | cut -c1-2)/$(printf '%s' "$hash" | cut -c3-)"
chmod u+w "$obj" 2>/dev/null
py "
f = open('$obj', 'r+b')
data = bytearray(f.read())
for k in range(len(data) // 2, len(data) // 2 + 16):
    data[k] ^= 0x5a
f.seek(0)
f.write(data)
f.close()"
eq "the bundle no longer matches its hash" "$(sha256sum "$obj" | cut -c1-64 | grep -c "$hash")" 0
run "point the champion at the corrupt version" 0 gyre models alias hs champion 4
sleep 1.5
eq "the old champion keeps answering" "$(curl -sS -H 'Content-Type: application/json' --data-binary "@$D/req.json" "http://127.0.0.1:$PORT/v2/models/hs@champion/infer" | py "import json,sys; print(json.load(sys.stdin)['model_version'])")" 1
desc="the canary's champion route keeps answering with version 1"
within_1s /v2/models/canary/infer 1 hs@champion
fails=$(curl -sS "http://127.0.0.1:$PORT/metrics" | sed -n 's/^gyre_model_load_failures_total //p')
if [ "${fails:-0}" -ge 1 ]; then ok "the refused load is counted ($fails)"; else not_ok "the refused load is counted" "gyre_model_load_failures_total=$fails"; fi
if grep "refused:" "$D/server.log" | grep -q "the current version keeps serving"; then
    ok "the refusal is logged: $(grep "refused:" "$D/server.log" | head -n 1 | cut -c1-160)"
else
    not_ok "the refusal is logged" "$(tail -n 20 "$D/server.log")"
fi
sleep 0.5

rm -f "$D/run"
wait $LOAD_PID
LOAD_PID=""
eq "the load generator finished" "$?" 0
summary=$(py "
import json, struct
f32 = lambda v: struct.unpack('<f', struct.pack('<f', float(v)))[0]
want = {str(v): [f32(x) for x in open('$D/want%d' % v).read().split()] for v in (1, 2, 3)}
n = bad = wrong = 0
versions = set()
for line in open('$D/load.jsonl'):
    t, path, status, ver, variant, data = json.loads(line)
    n += 1
    if status != 200:
        bad += 1
        if bad <= 3:
            print('FAILED', path, status, data)
        continue
    versions.add(ver)
    if ver not in want or [f32(x) for x in data] != want[ver]:
        wrong += 1
        if wrong <= 3:
            print('MIXED', path, ver, variant, data)
print('requests=%d failed=%d inconsistent=%d versions=%s' % (n, bad, wrong, ','.join(sorted(versions))))
")
printf '%s\n' "$summary" | sed 's/^/# /'
last=$(printf '%s\n' "$summary" | tail -n 1)
eq "no request failed during the swaps" "$(printf '%s' "$last" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')" 0
eq "every response is exactly its version's values" "$(printf '%s' "$last" | sed -n 's/.*inconsistent=\([0-9]*\).*/\1/p')" 0
eq "responses came from versions 1, 2 and 3" "$(printf '%s' "$last" | sed -n 's/.*versions=\([0-9,]*\).*/\1/p')" "1,2,3"
reqs=$(printf '%s' "$last" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
if [ "${reqs:-0}" -ge 200 ]; then ok "the load was real ($reqs requests)"; else not_ok "the load was real" "only ${reqs:-0} requests"; fi

kill "$SRV_PID"
wait "$SRV_PID"
eq "the server stopped cleanly" "$?" 0
SRV_PID=""
done_testing
