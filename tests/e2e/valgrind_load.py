# SPDX-License-Identifier: MIT
# Load driver for tests/e2e/test_valgrind.sh: a short, mixed load against a running
# `gyre server` over keep-alive connections from THREADS threads - V2 inference with JSON
# and with binary tensors (JSON header + binary, raw binary), malformed requests of several
# kinds (bad JSON, wrong shape, unknown model, bad binary sizes, wrong method, bad feedback,
# bad MLflow calls), model and server metadata, /metrics, health probes, and a few native and
# MLflow API reads.
#
# Usage: python3 valgrind_load.py BASE_URL REQUESTS THREADS
# Prints one line "requests N ok N errors N refused N other N" and "status CODE N" per status
# seen. Exits 1 when a request fails at the transport level (connection refused or reset,
# no answer), a well-formed request is not answered 200, or a malformed one gets a 2xx or 5xx.
import http.client
import json
import struct
import sys
import threading
import urllib.parse

base, total, nthreads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u = urllib.parse.urlsplit(base)

ROWS = [[120.5, 13, 1, 35, 2.5, 1], [9.99, 2, 0, 61, 840.0, 7], [55.0, 23, 1, 22, 10.0, 0]]
FLAT = [float(v) for r in ROWS for v in r]
JSON_REQ = json.dumps({'id': 'vg', 'inputs': [
    {'name': 'input-0', 'shape': [3, 6], 'datatype': 'FP32', 'data': ROWS}]}).encode()
RAW = struct.pack('<18f', *FLAT)
BIN_HDR = json.dumps({'inputs': [
    {'name': 'input-0', 'shape': [3, 6], 'datatype': 'FP32',
     'parameters': {'binary_data_size': 72}}],
    'outputs': [{'name': 'output-0', 'parameters': {'binary_data': True}},
                {'name': 'margin-0'}]}).encode()
JSON_H = {'Content-Type': 'application/json'}
BIN_H = {'Content-Type': 'application/octet-stream',
         'Inference-Header-Content-Length': str(len(BIN_HDR))}

# (method, path, body, headers, well_formed)
GOOD = [
    ('POST', '/v2/models/num/infer', JSON_REQ, JSON_H),
    ('POST', '/v2/models/num/versions/1/infer', JSON_REQ, JSON_H),
    ('POST', '/v2/models/num/infer', BIN_HDR + RAW, BIN_H),
    ('POST', '/v2/models/num/infer', RAW,
     {'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': '0'}),
    ('GET', '/v2/models/num', None, {}),
    ('GET', '/v2/models/num/ready', None, {}),
    ('GET', '/v2', None, {}),
    ('GET', '/v2/health/ready', None, {}),
    ('GET', '/metrics', None, {}),
    ('GET', '/v2/models/num/stats', None, {}),
    ('GET', '/api/v1/datasets/tx', None, {}),
    ('POST', '/v2/repository/index', b'{}', JSON_H),
    ('POST', '/api/2.0/mlflow/experiments/search', b'{"max_results": 10}', JSON_H),
    ('GET', '/api/2.0/mlflow/registered-models/get?name=num', None, {}),
]
BAD = [
    ('POST', '/v2/models/num/infer', b'{"inputs": [', JSON_H),
    ('POST', '/v2/models/num/infer', b'{"inputs": [{"name": "input-0", "shape": [2, 6], '
     b'"datatype": "FP32", "data": [1, 2, 3]}]}', JSON_H),
    ('POST', '/v2/models/num/infer', b'{"inputs": [{"name": "input-0", "shape": [1, 6], '
     b'"datatype": "FP99", "data": [1, 2, 3, 4, 5, 6]}]}', JSON_H),
    ('POST', '/v2/models/num/infer', b'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]'
     b']]]]]]]]]]]]]]]]]]]]]]]]]]]', JSON_H),
    ('POST', '/v2/models/nosuch/infer', JSON_REQ, JSON_H),
    ('POST', '/v2/models/num/infer', BIN_HDR + RAW[:40], BIN_H),
    ('POST', '/v2/models/num/infer', BIN_HDR + RAW + b'xyz', BIN_H),
    ('POST', '/v2/models/num/infer', BIN_HDR + RAW,
     {'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': '99999'}),
    ('POST', '/v2/models/num/infer', b'\xff\xfe{"inputs": "\xc3\x28"}', JSON_H),
    ('DELETE', '/v2/models/num/infer', None, {}),
    ('GET', '/v2/models/num/versions/abc', None, {}),
    ('GET', '/v2/models/%2e%2e/%2e%2e/etc/passwd', None, {}),
    ('POST', '/api/v1/feedback', b'{"deployment": "num", "items": [{"request_id": ""}]}', JSON_H),
    ('POST', '/api/2.0/mlflow/runs/create', b'{"experiment_id": "no-such"}', JSON_H),
    ('GET', '/api/2.0/mlflow/registered-models/get?name=%zz', None, {}),
]

lock = threading.Lock()
counts = {'ok': 0, 'refused': 0, 'other': 0, 'errors': 0}
statuses = {}
problems = []


def worker(idx):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    i = idx
    while True:
        with lock:
            if counts['ok'] + counts['refused'] + counts['other'] + counts['errors'] >= total:
                break
            counts['other'] += 1  # reserve a slot; reclassified below
        # Every third request is malformed.
        if i % 3 == 2:
            m, p, b, h = BAD[(i // 3) % len(BAD)]
            good = False
        else:
            m, p, b, h = GOOD[i % len(GOOD)]
            good = True
        i += nthreads
        try:
            conn.request(m, p, body=b, headers=h)
            r = conn.getresponse()
            r.read()
            code = r.status
            if r.getheader('Connection', '').lower() == 'close':
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        except (OSError, http.client.HTTPException) as e:
            with lock:
                counts['other'] -= 1
                counts['errors'] += 1
                problems.append('%s %s: %s' % (m, p, e))
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            continue
        with lock:
            counts['other'] -= 1
            statuses[code] = statuses.get(code, 0) + 1
            if good and code == 200:
                counts['ok'] += 1
            elif not good and 400 <= code < 500:
                counts['refused'] += 1
            else:
                counts['other'] += 1
                problems.append('%s %s (%s): status %d' % (m, p, 'good' if good else 'bad', code))
    conn.close()


threads = [threading.Thread(target=worker, args=(k,)) for k in range(nthreads)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print('requests %d ok %d errors %d refused %d other %d' % (
    sum(counts.values()), counts['ok'], counts['errors'], counts['refused'], counts['other']))
for code in sorted(statuses):
    print('status %d %d' % (code, statuses[code]))
for p in problems[:20]:
    print('problem: ' + p)
sys.exit(1 if problems else 0)
