#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: online A/B evaluation. Train two versions of a model, deploy them 50/50 twice
# (deployments "abx" and "abeq"), serve traffic with known ids, stop the server (the log is
# flushed), post feedback labels, and run `gyre deploy compare`: on "abx" the challenger is
# told it is right far more often than the champion, so version 2 is significantly better on
# accuracy (and the z-test equals the formula computed with SciPy from the counts); on "abeq"
# both versions are right equally often, so the difference is not significant. Plus the
# readable table and the errors.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT
py() { /usr/bin/python3 -c "$1"; }
N=400

FEAT='merchant_category:drop;country:drop;tx_id:drop'
gyre generate transactions --rows 2000 --seed 7 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "train the champion (version 1)" 0 gyre train --dataset tx --target is_fraud --rounds 4 \
    --param max_depth=3 --features "$FEAT" --register ab --quiet
run "train the challenger (version 2)" 0 gyre train --dataset tx --target is_fraud --rounds 8 \
    --param max_depth=3 --features "$FEAT" --register ab --quiet
run "deploy both 50/50" 0 gyre deploy create abx --route ab@1=50 --route ab@2=50 --log-sample 1
run "and again for the equal-quality split" 0 gyre deploy create abeq --route ab@1=50 \
    --route ab@2=50 --log-sample 1

"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --poll-ms 100 \
    2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$D/ready")

# N requests per deployment with ids DEP-i; the answering version and output go to DEP.json.
cat >"$D/send.py" <<'EOF'
import csv, http.client, json, sys
port, n, src, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cols = ['amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h']
rows = list(csv.DictReader(open(src)))
conv = lambda v: 1.0 if v == 'true' else 0.0 if v == 'false' else float(v)
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
for dep in ('abx', 'abeq'):
    sent = []
    for i in range(n):
        x = [conv(rows[i % len(rows)][c]) for c in cols]
        body = json.dumps({'id': '%s-%d' % (dep, i), 'inputs': [
            {'name': 'input-0', 'shape': [1, 6], 'datatype': 'FP64', 'data': x}]})
        conn.request('POST', '/v2/models/%s/infer' % dep, body,
                     {'Content-Type': 'application/json'})
        resp = conn.getresponse()
        r = json.loads(resp.read())
        assert resp.status == 200, r
        sent.append({'id': '%s-%d' % (dep, i), 'version': int(r['model_version']),
                     'p': r['outputs'][0]['data'][0]})
    json.dump(sent, open('%s/%s.json' % (d, dep), 'w'))
    vs = sorted(set(s['version'] for s in sent))
    print(dep, vs, min(sum(s['version'] == v for s in sent) for v in vs) > n // 4)
EOF
eq "both versions answer both splits" "$(/usr/bin/python3 "$D/send.py" "$PORT" $N "$D/tx.csv" "$D" 2>&1 | tr '\n' ' ')" \
    "abx [1, 2] True abeq [1, 2] True "
kill "$SRV_PID"
wait "$SRV_PID"
eq "the server stopped cleanly (the log is flushed)" "$?" 0
SRV_PID=""

# Labels: on abx version 2 is right on 9 of 10 of its requests and version 1 on 6 of 10; on
# abeq each is right on 3 of 4 of its own requests.
py "
import json
for dep in ('abx', 'abeq'):
    sent = json.load(open('$D/%s.json' % dep))
    seen = {1: 0, 2: 0}
    with open('$D/%s.csv' % dep, 'w') as f:
        f.write('request_id,label\n')
        for s in sent:
            k = seen[s['version']]
            seen[s['version']] += 1
            if dep == 'abx':
                right = k % 10 < (9 if s['version'] == 2 else 6)
            else:
                right = k % 4 != 3
            pred = 1 if s['p'] >= 0.5 else 0
            f.write('%s,%d\n' % (s['id'], pred if right else 1 - pred))
"
run "feedback for abx" 0 gyre feedback abx --csv "$D/abx.csv"
run "feedback for abeq" 0 gyre feedback abeq --csv "$D/abeq.csv"

run "compare abx --json" 0 gyre deploy compare abx --json
printf '%s\n' "$OUT" >"$D/abx_cmp.json"
eq "the challenger is significantly better on accuracy" "$(py "
import json
c = json.load(open('$D/abx_cmp.json'))
v = c['variants']
print(c['metric'], c['control']['version'], c['higher_is_better'], len(v), v[0]['version'],
      v[0]['test'], v[0]['significant'], v[0]['better'], v[0]['effect'] > 0.2, v[0]['df'])
" 2>&1)" "accuracy 1 True 1 2 two-proportion z-test True True True None"

# The oracle: the pooled z-test and the Wald interval from the counts, with SciPy.
run "feedback metrics of abx" 0 gyre feedback metrics abx --json
printf '%s\n' "$OUT" >"$D/abx_m.json"
eq "the test equals SciPy's from the counts" "$(py "
import json, math
import scipy.stats as st
c = json.load(open('$D/abx_cmp.json'))
m = {v['version']: v for v in json.load(open('$D/abx_m.json'))['versions']}
xa, na, xb, nb = m[1]['correct'], m[1]['labeled'], m[2]['correct'], m[2]['labeled']
pa, pb, pool = xa / na, xb / nb, (xa + xb) / (na + nb)
z = (pb - pa) / math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
p = 2 * st.norm.sf(abs(z))
h = st.norm.isf(0.025) * math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
v = c['variants'][0]
bad = []
for k, got, want in [('z', v['statistic'], z), ('p', v['p_value'], p),
                     ('lo', v['ci'][0], pb - pa - h), ('hi', v['ci'][1], pb - pa + h),
                     ('n', v['n'], nb), ('value', v['value'], pb), ('control', c['control']['value'], pa)]:
    if abs(got - want) > 1e-9 * max(abs(want), 1e-3):
        bad.append('%s %r != %r' % (k, got, want))
print('; '.join(bad) or 'ok')
" 2>&1)" ok

run "compare abeq --json" 0 gyre deploy compare abeq --json
printf '%s\n' "$OUT" >"$D/abeq_cmp.json"
eq "equal quality: not significant, no verdict" "$(py "
import json
v = json.load(open('$D/abeq_cmp.json'))['variants'][0]
print(v['version'], v['significant'], v['better'], v['p_value'] > 0.5, v['ci'][0] < 0 < v['ci'][1])
" 2>&1)" "2 False None True True"

run "the readable table" 0 gyre deploy compare abx
contains "names the verdict" "better (significant)"
contains "shows the interval column" "95% CI"
run "the control can be chosen" 0 gyre deploy compare abx --control 2 --json
eq "then version 1 is significantly worse" "$(printf '%s' "$OUT" | py "
import json, sys
v = json.load(sys.stdin)['variants'][0]
print(v['version'], v['better'])")" "1 False"
run "the equal split in the table" 0 gyre deploy compare abeq
contains "says no significant difference" "no significant difference"
run "other metrics: logloss (Welch)" 0 gyre deploy compare abx --metric logloss --json
contains "with a Welch test" '"test": "Welch t-test"'
run "a window after every report holds no feedback" 1 gyre deploy compare abx --since 2030-01-01
contains "says the control has none" "control version 1 has no labeled feedback"

run "an unknown deployment" 3 gyre deploy compare nope
run "an unknown metric" 1 gyre deploy compare abx --metric f1
contains "names it" 'unknown metric "f1"'
run "a bad alpha" 2 gyre deploy compare abx --alpha 1.5
run "a bad control" 2 gyre deploy compare abx --control x
run "value_mean without values" 1 gyre deploy compare abx --metric value_mean
done_testing
