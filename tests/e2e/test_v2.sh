#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: the KServe/Triton V2 inference protocol of `gyre server` over real HTTP - health,
# server and model metadata, model ready, inference with JSON (nested, flat, per-column) and
# the binary tensor extension (JSON + binary, binary outputs, raw requests), id echo,
# requested outputs, the answering version and variant, sticky routing, repository
# index/load/unload, statistics, and every refusal with its exact status and message.
# Oracle: predictions must equal `gyre model predict --engine reference` on the same rows
# (the reference evaluator, which `gyre train` checks bit for bit against XGBoost 1.7.4).
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
py() { /usr/bin/python3 -c "$1"; }

SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT

gyre generate transactions --rows 4000 --seed 7 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "train an all-numeric model" 0 gyre train --dataset tx --target is_fraud --rounds 8 \
    --param max_depth=3 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register num --alias champion --quiet
run "train a second version of it" 0 gyre train --dataset tx --target is_fraud --rounds 3 \
    --param max_depth=2 --features 'merchant_category:drop;country:drop;tx_id:drop' \
    --register num --quiet
run "train a model with string inputs" 0 gyre train --dataset tx --target is_fraud --rounds 5 \
    --param max_depth=3 --register mixed --quiet
run "train a logistic model" 0 gyre train --dataset tx --target is_fraud --trainer logistic \
    --features 'merchant_category:drop;country:drop;tx_id:drop' --register lin --quiet
run "train a multiclass model" 0 gyre train --dataset tx --target merchant_category --rounds 3 \
    --param max_depth=2 --features 'country:drop;tx_id:drop;is_fraud:drop' --register multi --quiet

# Three rows of the stream as CSV for the offline oracle.
py "
import csv
rows = list(csv.DictReader(open('$D/tx.csv')))[:3]
num = ['amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h']
mixed = ['tx_id', 'amount', 'merchant_category', 'country', 'hour', 'card_present',
         'customer_age', 'distance_km', 'velocity_1h']
for name, cols in (('num', num), ('mixed', mixed)):
    with open('$D/rows_%s.csv' % name, 'w') as f:
        f.write(','.join(cols) + '\n')
        for r in rows:
            f.write(','.join(r[c] for c in cols) + '\n')
"
run "offline predictions of num@1" 0 gyre model predict num@1 --csv "$D/rows_num.csv" --engine reference
printf '%s\n' "$OUT" >"$D/want_num"
run "offline margins of num@1" 0 gyre model predict num@1 --csv "$D/rows_num.csv" --engine reference --margins
printf '%s\n' "$OUT" >"$D/want_num_margin"
run "offline predictions of num@2" 0 gyre model predict num@2 --csv "$D/rows_num.csv" --engine reference
printf '%s\n' "$OUT" >"$D/want_num2"
run "offline predictions of mixed" 0 gyre model predict mixed --csv "$D/rows_mixed.csv" --engine reference
printf '%s\n' "$OUT" >"$D/want_mixed"
run "offline predictions of lin" 0 gyre model predict lin --csv "$D/rows_num.csv" --engine reference
printf '%s\n' "$OUT" >"$D/want_lin"

"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --max-body 65536 \
    --max-elements 1000 --poll-ms 100 2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
U="http://127.0.0.1:$(cat "$D/ready")"

# call METHOD PATH [curl args...]: $CODE, $BODY, headers in $D/hdr
call() {
    m=$1
    p=$2
    shift 2
    CODE=$(curl -sS -o "$D/body" -D "$D/hdr" -w '%{http_code}' -X "$m" "$@" "$U$p")
    BODY=$(cat "$D/body")
}
post() { call POST "$1" -H 'Content-Type: application/json' --data-binary "$2"; }
# expect DESC STATUS NEEDLE: the last call answered STATUS with NEEDLE in its body
expect() {
    case "$BODY" in
    *"$3"*) found=1 ;;
    *) found=0 ;;
    esac
    if [ "$CODE" = "$2" ] && [ $found -eq 1 ]; then
        ok "$1"
    else
        not_ok "$1" "status $CODE (want $2); body: $BODY
want in body: $3"
    fi
}
# jq-like: evaluates a Python expression over the JSON body d
jget() { printf '%s' "$BODY" | py "import json,sys; d=json.load(sys.stdin); print($1)"; }
header() { tr -d '\r' <"$D/hdr" | sed -n "s/^$1: //Ip" | head -n 1; }
# same_floats FILE: the body's output-0 (or $2) equals the lines of FILE as float32
same_floats() {
    printf '%s' "$BODY" | py "
import json, struct, sys
d = json.load(sys.stdin)
o = [x for x in d['outputs'] if x['name'] == '${2:-output-0}'][0]
f32 = lambda v: struct.unpack('<f', struct.pack('<f', float(v)))[0]
got = [f32(v) for v in o['data']]
want = [f32(l) for l in open('$1').read().split()]
print('same' if got == want else 'got %r want %r' % (got, want))"
}

# ---------------------------------------------------------------- health and metadata
call GET /v2
expect "server metadata" 200 '"name":"gyre"'
eq "extensions implemented" "$(jget "' '.join(d['extensions'])")" "binary_tensor_data model_repository statistics parameters"
call GET /v2/health/live
expect "live" 200 '{"live":true}'
call GET /v2/health/ready
expect "ready" 200 '{"ready":true}'
eq "HEAD ready answers 200" "$(curl -sS -o /dev/null -I -w '%{http_code}' "$U/v2/health/ready")" 200

call GET /v2/models/num
expect "model metadata" 200 '"platform":"gyre_xgboost"'
eq "all-numeric: one FP32 [-1, 6] input-0" "$(jget "d['inputs']")" "[{'name': 'input-0', 'datatype': 'FP32', 'shape': [-1, 6]}]"
eq "its columns in signature order" "$(jget "json.loads(d['properties']['columns'])")" "['amount', 'hour', 'card_present', 'customer_age', 'distance_km', 'velocity_1h']"
eq "outputs output-0 and margin-0" "$(jget "[(o['name'], o['shape']) for o in d['outputs']]")" "[('output-0', [-1]), ('margin-0', [-1])]"
eq "versions the endpoint answers with" "$(jget "d['versions']")" "['1']"
call GET /v2/models/num/versions/2
expect "version metadata" 200 '"name":"num"'
eq "pinned version in properties" "$(jget "d['properties']['version']")" 2
call GET /v2/models/mixed
eq "string inputs: one tensor per column" "$(jget "[(i['name'], i['datatype']) for i in d['inputs']][:4]")" "[('tx_id', 'INT64'), ('amount', 'FP64'), ('merchant_category', 'BYTES'), ('country', 'BYTES')]"
call GET /v2/models/lin
expect "linear platform" 200 '"platform":"gyre_linear"'
call GET /v2/models/multi
eq "multiclass output is [-1, K]" "$(jget "d['outputs'][0]['shape'][0] == -1 and d['outputs'][0]['shape'][1] > 2")" True
call GET /v2/models/nosuch
expect "unknown model: 404" 404 "Request for unknown model: 'nosuch' is not found"
call GET /v2/models/num/versions/9
expect "unknown version: 404" 404 "Request for unknown model: 'num' version 9 is not found"
call GET /v2/models/num/versions/abc
expect "malformed version: 400" 400 'invalid model version \"abc\"'
call GET /v2/models/num/ready
expect "model ready" 200 '{"name":"num","ready":true}'
call GET /v2/models/num/versions/2/ready
expect "model version ready" 200 '"ready":true'
call GET /v2/models/nosuch/ready
expect "unknown model not ready: 404" 404 "is not found"

# ---------------------------------------------------------------- inference, JSON
REQ_NUM=$(py "
import csv, json
rows = list(csv.DictReader(open('$D/rows_num.csv')))
conv = lambda v: 1.0 if v == 'true' else 0.0 if v == 'false' else float(v)
data = [[conv(v) for v in r.values()] for r in rows]
print(json.dumps({'id': 'req-42', 'inputs': [{'name': 'input-0', 'shape': [3, 6], 'datatype': 'FP32', 'data': data}]}))")
post /v2/models/num/infer "$REQ_NUM"
expect "infer (nested data)" 200 '"model_name":"num"'
eq "equals the offline predictions of the champion" "$(same_floats "$D/want_num")" same
eq "id echoed" "$(jget "d['id']")" req-42
eq "answering version" "$(jget "d['model_version']")" 1
eq "answering variant in parameters" "$(jget "d['parameters']['gyre_variant']")" "$(header X-Gyre-Variant)"
eq "JSON content type" "$(header Content-Type)" application/json
eq "output-0 is FP32 [3]" "$(jget "(d['outputs'][0]['datatype'], d['outputs'][0]['shape'], len(d['outputs']))")" "('FP32', [3], 1)"

FLAT=$(printf '%s' "$REQ_NUM" | py "import json,sys; d=json.load(sys.stdin); t=d['inputs'][0]; t['data']=[x for r in t['data'] for x in r]; print(json.dumps(d))")
post /v2/models/num/infer "$FLAT"
expect "infer (flat data)" 200 '"output-0"'
eq "flat equals nested" "$(same_floats "$D/want_num")" same

MARG=$(printf '%s' "$REQ_NUM" | py "import json,sys; d=json.load(sys.stdin); d['outputs']=[{'name':'margin-0'},{'name':'output-0'}]; print(json.dumps(d))")
post /v2/models/num/infer "$MARG"
eq "requested outputs in order" "$(jget "[o['name'] for o in d['outputs']]")" "['margin-0', 'output-0']"
eq "margins equal the offline margins" "$(same_floats "$D/want_num_margin" margin-0)" same

post /v2/models/num/versions/2/infer "$REQ_NUM"
expect "infer on a pinned version" 200 '"model_version":"2"'
eq "version 2 predicts its own values" "$(same_floats "$D/want_num2")" same

COLS=$(py "
import csv, json
rows = list(csv.DictReader(open('$D/rows_num.csv')))
ins = []
for c in rows[0].keys():
    if c == 'card_present':
        ins.append({'name': c, 'shape': [3], 'datatype': 'BOOL', 'data': [r[c] == 'true' for r in rows]})
    else:
        ins.append({'name': c, 'shape': [3, 1], 'datatype': 'FP64', 'data': [[float(r[c])] for r in rows]})
print(json.dumps({'inputs': ins}))")
post /v2/models/num/infer "$COLS"
expect "infer with one tensor per column" 200 '"output-0"'
eq "per-column equals the matrix form" "$(same_floats "$D/want_num")" same
post /v2/models/lin/infer "$COLS"
expect "infer a linear model" 200 '"model_name":"lin"'
eq "linear equals its offline predictions" "$(same_floats "$D/want_lin")" same

MIXED=$(py "
import csv, json
rows = list(csv.DictReader(open('$D/rows_mixed.csv')))
types = {'merchant_category': 'BYTES', 'country': 'BYTES', 'card_present': 'BOOL', 'amount': 'FP64', 'distance_km': 'FP64'}
ins = []
for c in rows[0].keys():
    t = types.get(c, 'INT64')
    conv = {'BYTES': str, 'BOOL': lambda v: v == 'true', 'FP64': float, 'INT64': int}[t]
    ins.append({'name': c, 'shape': [3], 'datatype': t, 'data': [conv(r[c]) for r in rows]})
print(json.dumps({'inputs': ins}))")
post /v2/models/mixed/infer "$MIXED"
expect "infer with BYTES inputs" 200 '"model_name":"mixed"'
eq "mixed equals its offline predictions" "$(same_floats "$D/want_mixed")" same
post /v2/models/multi/infer "$REQ_NUM"
eq "multiclass output-0 is [3, K]" "$(jget "d['outputs'][0]['shape'][0] == 3 and d['outputs'][0]['shape'][1] == len(d['outputs'][0]['data']) // 3 > 2")" True

NAN=$(printf '%s' "$REQ_NUM" | sed 's/\[\[[^],]*/[[NaN/')
post /v2/models/num/infer "$NAN"
expect "NaN is a missing value" 200 '"output-0"'
NULLV=$(printf '%s' "$REQ_NUM" | sed 's/\[\[[^],]*/[[null/')
post /v2/models/num/infer "$NULLV"
expect "null is a missing value" 200 '"output-0"'
INF=$(printf '%s' "$REQ_NUM" | sed 's/\[\[[^],]*/[[Infinity/')
post /v2/models/num/infer "$INF"
expect "Infinity is refused by default" 400 "is infinite: Inf is not accepted"

# ---------------------------------------------------------------- inference, binary
py "
import csv, json, struct
rows = list(csv.DictReader(open('$D/rows_num.csv')))
conv = lambda v: 1.0 if v == 'true' else 0.0 if v == 'false' else float(v)
vals = [conv(v) for r in rows for v in r.values()]
raw = struct.pack('<18f', *vals)
hdr = json.dumps({'inputs': [{'name': 'input-0', 'shape': [3, 6], 'datatype': 'FP32', 'parameters': {'binary_data_size': 72}}],
                  'outputs': [{'name': 'output-0', 'parameters': {'binary_data': True}}, {'name': 'margin-0'}]}).encode()
open('$D/bin.req', 'wb').write(hdr + raw)
open('$D/bin.len', 'w').write(str(len(hdr)))
open('$D/bin_left.req', 'wb').write(hdr + raw + b'xyz')
open('$D/raw.req', 'wb').write(raw)
bad = hdr.replace(b'72', b'68')
open('$D/bin_size.req', 'wb').write(bad + raw[:68])
open('$D/bin_size.len', 'w').write(str(len(bad)))
"
decode_bin() {
    py "
import json, struct
body = open('$D/body', 'rb').read()
n = int([l.split(':', 1)[1] for l in open('$D/hdr').read().splitlines() if l.lower().startswith('inference-header-content-length:')][0])
d = json.loads(body[:n])
off = n
f32 = lambda v: struct.unpack('<f', struct.pack('<f', float(v)))[0]
want = [f32(l) for l in open('$D/want_num').read().split()]
for o in d['outputs']:
    size = o.get('parameters', {}).get('binary_data_size')
    if o['name'] == 'output-0':
        got = list(struct.unpack('<%df' % (size // 4), body[off:off + size]))
        print('same' if got == want and off + size == len(body) else 'got %r want %r' % (got, want))
    if size:
        off += size
"
}
call POST /v2/models/num/infer -H "Inference-Header-Content-Length: $(cat "$D/bin.len")" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$D/bin.req"
eq "binary request: 200" "$CODE" 200
eq "binary response content type" "$(header Content-Type)" application/octet-stream
eq "binary output-0 equals the offline predictions" "$(decode_bin)" same
call POST /v2/models/num/infer -H 'Content-Type: application/octet-stream' -H 'Inference-Header-Content-Length: 0' --data-binary "@$D/raw.req"
eq "raw binary request: 200" "$CODE" 200
eq "raw request's binary output equals the offline predictions" "$(decode_bin)" same
call POST /v2/models/num/infer -H 'Content-Type: application/octet-stream' -H "Inference-Header-Content-Length: $(cat "$D/bin.len")" \
    --data-binary "@$D/bin_left.req"
expect "bytes left over: 400" 400 "unexpected additional input data: 3 bytes"
call POST /v2/models/num/infer -H 'Content-Type: application/octet-stream' -H "Inference-Header-Content-Length: $(cat "$D/bin_size.len")" \
    --data-binary "@$D/bin_size.req"
expect "binary size mismatch: 400" 400 "unexpected size for input 'input-0', expecting 72 bytes"
call POST /v2/models/num/infer -H 'Content-Type: application/octet-stream' -H 'Inference-Header-Content-Length: 99999' --data-binary "@$D/bin.req"
expect "header length past the body: 400" 400 "is larger than the body"
call POST /v2/models/num/infer -H 'Content-Type: application/octet-stream' -H 'Inference-Header-Content-Length: x1' --data-binary "@$D/bin.req"
expect "malformed header length: 400" 400 "must be a byte count"
call POST /v2/models/mixed/infer -H 'Content-Type: application/octet-stream' -H 'Inference-Header-Content-Length: 0' --data-binary "@$D/raw.req"
expect "raw request to a model with string inputs: 400" 400 "needs a model whose inputs are all numeric"

# ---------------------------------------------------------------- refusals
post /v2/models/nosuch/infer "$REQ_NUM"
expect "infer on an unknown model: 404" 404 "Request for unknown model: 'nosuch' is not found"
post /v2/models/num/versions/9/infer "$REQ_NUM"
expect "infer on an unknown version: 404" 404 "version 9 is not found"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[2,6],"datatype":"FP32","data":[1,2,3]}]}'
expect "shape/data mismatch: 400" 400 "data has 3 elements but its shape says 12 (shape does not match the data)"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"FP17","data":[1,2,3,4,5,6]}]}'
expect "unknown datatype: 400" 400 'unknown datatype \"FP17\"'
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"FP16","data":[1,2,3,4,5,6]}]}'
expect "FP16 in JSON: 400" 400 "receiving FP16 data via JSON is not supported"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"BYTES","data":["a","b","c","d","e","f"]}]}'
expect "wrong datatype for the model: 400" 400 "input 'input-0': BYTES is not accepted for numeric inputs"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}]}'
expect "wrong width for the model: 400" 400 "has shape [1, 5] but model num version 1 takes [N, 6]"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":[{"name":"foo"}]}'
expect "unknown output: 400" 400 "unexpected inference output 'foo' for model 'num'"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"outputs":[{"name":"output-0","parameters":{"classification":2}}]}'
expect "classification extension: 400" 400 "parameter 'classification' is not supported"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"FP32","parameters":{"shared_memory_region":"r"}}]}'
expect "shared memory: 400" 400 "parameter 'shared_memory_region' is not supported"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]},'
expect "malformed JSON: 400 with the place" 400 "request body: line 1, column 84: unexpected end of JSON"
post /v2/models/num/infer "{\"inputs\":[{\"name\":\"input-0\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":$(py "print('['*40 + '1' + ']'*40)")}]}"
expect "JSON nested too deep: 400" 400 "JSON nested deeper than 32 levels"
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[200,6],"datatype":"FP32","data":[1]}]}'
expect "more elements than --max-elements: 413" 413 "input 'input-0': 1200 elements is more than this server accepts"
py "print('{\"inputs\":[{\"name\":\"input-0\",\"shape\":[1,6],\"datatype\":\"FP32\",\"data\":[1,2,3,4,5,6]}],\"pad\":\"' + 'x' * 70000 + '\"}')" >"$D/big.json"
call POST /v2/models/num/infer --data-binary "@$D/big.json"
eq "body over --max-body: 413" "$CODE" 413
post /v2/models/num/infer ''
expect "empty body: 400" 400 "request body is empty"
call POST /v2/models/num/infer -H 'Content-Encoding: gzip' --data-binary "$REQ_NUM"
expect "compressed body: 415" 415 'Content-Encoding \"gzip\" is not supported'
call GET /v2/models/num/infer
expect "wrong method: 405 with a JSON error" 405 '"error"'
eq "405 says what is allowed" "$(header Allow)" POST
call DELETE /v2
eq "DELETE /v2: 405" "$CODE" 405
call GET /v2/nosuch
expect "unknown route: 404" 404 '"error"'

# ---------------------------------------------------------------- deployments and sticky routing
run "a deployment with two routes and a sticky header" 0 gyre deploy create ab \
    --route num@1=50 --route num@2=50 --sticky-header X-User
sticky=$(i=0; while [ $i -lt 12 ]; do
    curl -sS -D - -o /dev/null -H 'X-User: alice' -H 'Content-Type: application/json' \
        --data-binary "$REQ_NUM" "$U/v2/models/ab/infer" | tr -d '\r' | sed -n 's/^X-Gyre-Variant: //Ip'
    i=$((i + 1))
done | sort -u)
eq "one user always gets one variant" "$(printf '%s\n' "$sticky" | wc -l | tr -d ' ')" 1
seen=$(i=0; while [ $i -lt 40 ]; do
    curl -sS -D - -o /dev/null -H "X-User: user$i" -H 'Content-Type: application/json' \
        --data-binary "$REQ_NUM" "$U/v2/models/ab/infer" | tr -d '\r' | sed -n 's/^X-Gyre-Variant: //Ip'
    i=$((i + 1))
done | sort -u | tr '\n' ' ')
eq "forty users see both variants" "$seen" "num@1 num@2 "
post /v2/models/ab/infer "$REQ_NUM"
eq "the deployment answers with the variant's version" "$(jget "(d['model_name'], d['parameters']['gyre_variant'][-1] == d['model_version'])")" "('ab', True)"
call GET /v2/models/ab
eq "deployment metadata names its sticky header" "$(jget "d['properties']['sticky_header']")" X-User

# ---------------------------------------------------------------- dynamic batching (deferred responses)
run "a batching deployment" 0 gyre deploy create batched --route num@1 --max-batch-size 16 \
    --max-queue-delay-us 100000
printf '%s' "$REQ_NUM" >"$D/req_num.json"
# 24 threads, each with its own connection, released together by a barrier.
py "
import http.client, threading
body = open('$D/req_num.json', 'rb').read()
conns = [http.client.HTTPConnection('127.0.0.1', $(cat "$D/ready"), timeout=30) for _ in range(24)]
for c in conns:
    c.connect()
barrier = threading.Barrier(24)
out = [None] * 24
def go(k):
    barrier.wait()
    conns[k].request('POST', '/v2/models/batched/infer', body, {'Content-Type': 'application/json'})
    r = conns[k].getresponse()
    out[k] = (r.status, r.read())
ts = [threading.Thread(target=go, args=(k,)) for k in range(24)]
for t in ts:
    t.start()
for t in ts:
    t.join()
with open('$D/batch.codes', 'w') as f:
    for k, (status, data) in enumerate(out):
        f.write('%d\n' % status)
        open('$D/batch.%d' % k, 'wb').write(data)
"
eq "24 concurrent requests to the batching deployment: all 200" "$(sort -u "$D/batch.codes" | tr '\n' ' ')" "200 "
eq "each batched response equals the offline predictions" "$(for f in "$D"/batch.[0-9]*; do BODY=$(cat "$f"); same_floats "$D/want_num"; done | sort -u)" same
batches=$(curl -sS "$U/metrics" | sed -n 's/^gyre_batches_total //p')
batched=$(curl -sS "$U/metrics" | sed -n 's/^gyre_batched_requests_total //p')
if [ "${batches:-0}" -ge 1 ] && [ "${batched:-0}" -eq 24 ] && [ "$batches" -lt 24 ]; then
    ok "requests were batched ($batched requests in $batches batches)"
else
    not_ok "requests were batched" "gyre_batches_total=$batches gyre_batched_requests_total=$batched"
fi

# ---------------------------------------------------------------- repository
call POST /v2/repository/index
expect "repository index" 200 '"state":"READY"'
eq "num@1 is ready in the index" "$(jget "any(m['name'] == 'num' and m.get('version') == '1' and m['state'] == 'READY' for m in d)")" True
post /v2/repository/index '{"ready": true}'
eq "ready-only index has only READY entries" "$(jget "all(m['state'] == 'READY' for m in d)")" True
post /v2/repository/index '{"ready": 1}'
expect "index with a bad body: 400" 400 '\"ready\" must be true or false'
post /v2/repository/models/lin/unload ''
expect "unload" 200 '{"name":"lin","unload":true}'
post /v2/repository/models/lin/load ''
expect "load" 200 '{"name":"lin","load":true}'
post /v2/models/lin/infer "$COLS"
expect "a reloaded model answers" 200 '"model_name":"lin"'
post /v2/repository/models/nosuch/load ''
eq "load an unknown model: 404" "$CODE" 404
post /v2/repository/models/num/load '{"parameters":{"config":"{}"}}'
expect "load with a config: 400" 400 "load parameter 'config' is not supported"

# ---------------------------------------------------------------- statistics
call GET /v2/models/num/versions/1/stats
before=$(jget "(d['model_stats'][0]['inference_count'], d['model_stats'][0]['execution_count'], d['model_stats'][0]['inference_stats']['success']['count'])")
post /v2/models/num/versions/1/infer "$REQ_NUM"
call GET /v2/models/num/versions/1/stats
expect "model version statistics" 200 '"model_stats"'
after=$(jget "(d['model_stats'][0]['inference_count'], d['model_stats'][0]['execution_count'], d['model_stats'][0]['inference_stats']['success']['count'])")
eq "one request of 3 rows: +3 inferences, +1 execution, +1 success" "$(py "b = $before; a = $after; print((a[0] - b[0], a[1] - b[1], a[2] - b[2]))")" "(3, 1, 1)"
eq "Triton's statistics fields" "$(jget "sorted(d['model_stats'][0]['inference_stats'].keys())")" "['cache_hit', 'cache_miss', 'compute_infer', 'compute_input', 'compute_output', 'fail', 'queue', 'success']"
call GET /v2/models/num/stats
eq "model statistics hold only that model" "$(jget "sorted(set(m['name'] for m in d['model_stats']))")" "['num']"
call GET /v2/models/stats
eq "all statistics hold every loaded model" "$(jget "sorted(set(m['name'] for m in d['model_stats'])) >= ['lin', 'mixed', 'multi', 'num']")" True
call GET /v2/models/num/versions/7/stats
expect "statistics of an unknown version: 404" 404 "is not found"
call GET /v2/models/nosuch/stats
expect "statistics of an unknown model: 404" 404 "Request for unknown model: 'nosuch' is not found"

# ---------------------------------------------------------------- flags
run "a bad --not-ready-status is a usage error" 2 gyre server --not-ready-status 418
contains "naming the choices" "must be 503 or 400"
kill "$SRV_PID"
wait "$SRV_PID"
eq "the server stopped cleanly" "$?" 0
rm -f "$D/ready"
"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log --allow-inf \
    --not-ready-status 400 2>"$D/server2.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
U="http://127.0.0.1:$(cat "$D/ready")"
post /v2/models/num/infer "$INF"
expect "--allow-inf passes Infinity to the model" 200 '"output-0"'
post /v2/models/num/infer '{"inputs":[{"name":"input-0","shape":[200,6],"datatype":"FP32","data":[1]}]}'
expect "the default element limit allows 1200 elements" 400 "data has 1 elements but its shape says 1200"
kill "$SRV_PID"
wait "$SRV_PID"
SRV_PID=""
done_testing
