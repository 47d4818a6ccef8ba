#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Serving benchmark: gyre's V2 server against nginx (the HTTP limit) and FastAPI+uvicorn.

Workload (as ../shared/bench/peers/02_serving.py defines it): XGBoost binary:logistic, 100
trees of depth 6 on 28 features, trained with python3-xgboost on make_synth(100000, seed=3)
(hist, eta 0.3, seed 0); one request = one row (row 0 of make_synth(1000, seed=4)) as a V2
JSON body, POSTed by wrk to /v2/models/m/infer on 127.0.0.1.

Servers, each started, checked for the correct answer, measured and stopped, rounds
interleaved so machine noise spreads over all of them:
  gyre            `gyre server` serving the model imported with `gyre model import` (/v2/models/m)
  gyre-log        the same model through a deployment that logs every request (prediction log)
  gyre-nolog      the same through a deployment with --log-sample 0
  gyre-batch      the same through a deployment with dynamic batching (max_batch_size 16,
                  max_queue_delay_us 200), log off
  nginx-w1/w2     nginx returning the same response bytes, 1 and 2 worker processes
  fastapi         FastAPI + uvicorn (uvloop, httptools), 1 worker, XGBoost inplace_predict
Per server and round: wrk -t1 -c32 (throughput) and wrk -t1 -c1 (latency) after a warm-up;
start-to-ready time (spawn to the first 200 from /v2/health/ready, then to the first correct
prediction); RSS after the load; the server's CPU time (user + system, all its processes and
threads) per request during the c32 run, which other load on the machine disturbs far less
than requests/s.

Usage: bench/serving.py [GYRE_BIN]   (default build/gyre)
Knobs: BENCH_ROUNDS (3), BENCH_DURATION (10 s), BENCH_DURATION_C1 (5 s), BENCH_ONLY (server ids
to run, comma-separated: an item that is an id selects that id, any other the ids containing it), GYRE_THREADS (server --threads, default 0 = one per CPU),
BENCH_GYRE_BASE (another gyre binary, measured in the same rounds as "gyre-base" on the same
data home: an A/B of a change, with the ratios gyre_over_base_*).
Writes bench/out/serving.json and prints a table with the ratios.
"""
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
GYRE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "gyre"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DUR = int(os.environ.get("BENCH_DURATION", "10"))
DUR_C1 = int(os.environ.get("BENCH_DURATION_C1", "5"))
ONLY = os.environ.get("BENCH_ONLY", "")
THREADS = os.environ.get("GYRE_THREADS", "0")
# Another gyre binary to measure in the same run as "gyre-base" (an A/B of a change).
BASE = os.environ.get("BENCH_GYRE_BASE", "")
PATH = "/v2/models/m/infer"
# Deployments of the same model: (name, extra `gyre deploy create` flags).
DEPLOYMENTS = {
    "gyre-log": ("ml", ["--log-sample", "1"]),
    "gyre-nolog": ("mn", ["--log-sample", "0"]),
    "gyre-batch": ("mb", ["--log-sample", "0", "--max-batch-size", "16",
                          "--max-queue-delay-us", "200"]),
}
NOPROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def load_make_synth():
    spec = importlib.util.spec_from_file_location("make_synth", os.path.join(HERE, "make_synth.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_synth


def prepare(work):
    """Trains the model, writes model.json, body.json and the expected prediction."""
    import numpy as np
    import xgboost as xgb
    make_synth = load_make_synth()
    X, y = make_synth(100_000, seed=3)
    booster = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6,
                         "eta": 0.3, "nthread": 2, "seed": 0},
                        xgb.DMatrix(X, label=y), num_boost_round=100)
    model = os.path.join(work, "model.json")
    booster.save_model(model)
    Xq, _ = make_synth(1000, seed=4)
    row = Xq[:1]
    body = {"inputs": [{"name": "input-0", "shape": [1, 28], "datatype": "FP32",
                        "data": [float(v) for v in row[0]]}]}
    with open(os.path.join(work, "body.json"), "w") as f:
        json.dump(body, f, separators=(",", ":"))
    want = float(booster.inplace_predict(row)[0])
    assert np.float32(want) == booster.inplace_predict(row)[0]
    return model, want


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(url, data=None):
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with NOPROXY.open(req, timeout=5) as r:
        return r.status, r.read()


def rss_kib(pid):
    d = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, v = line.split(":", 1)
                if k in ("VmRSS", "VmHWM"):
                    d[k] = int(v.split()[0])
    except OSError:
        pass
    return d


def cpu_ticks(pids):
    """User + system CPU clock ticks used so far by the processes @pids (with their threads)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def children(pid):
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    stack.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


class Server:
    def __init__(self, sid, work, model, want):
        self.id, self.work, self.model, self.want = sid, work, model, want
        self.proc = None
        self.port = free_port()
        self.name = DEPLOYMENTS.get(sid, ("m",))[0]
        self.path = f"/v2/models/{self.name}/infer"

    def command(self):
        run = os.path.join(self.work, "run-" + self.id)
        os.makedirs(run, exist_ok=True)
        if self.id.startswith("nginx"):
            workers = self.id[-1]
            resp = json.dumps({"model_name": "m", "outputs": [{"name": "output-0", "shape": [1],
                               "datatype": "FP32", "data": [self.want]}]}, separators=(",", ":"))
            conf = open(os.path.join(HERE, "peers", "nginx.conf.tmpl")).read()
            for k, v in (("@WORKERS@", workers), ("@PORT@", str(self.port)), ("@RUN@", run),
                         ("@BODY@", resp)):
                conf = conf.replace(k, v)
            path = os.path.join(run, "nginx.conf")
            open(path, "w").write(conf)
            return ["nginx", "-p", run + "/", "-c", path, "-e", os.path.join(run, "error.log")], None
        if self.id == "fastapi":
            env = dict(os.environ, PEER_MODEL_FILE=self.model, PEER_NTHREAD="1")
            return ["/usr/bin/python3", "-m", "uvicorn", "fastapi_app:app", "--app-dir",
                    os.path.join(HERE, "peers"), "--host", "127.0.0.1", "--port", str(self.port),
                    "--workers", "1", "--loop", "uvloop", "--http", "httptools",
                    "--no-access-log", "--log-level", "warning"], env
        env = dict(os.environ, GYRE_HOME=os.path.join(self.work, "home"), GYRE_LOG_LEVEL="warn")
        return [BASE if self.id == "gyre-base" else GYRE, "server", "--host", "127.0.0.1", "--port", str(self.port), "--threads",
                THREADS, "--quiet-access-log"], env

    def start(self):
        cmd, env = self.command()
        log = open(os.path.join(self.work, self.id + ".log"), "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{self.port}"
        ready = None
        body = open(os.path.join(self.work, "body.json"), "rb").read()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.id} exited rc={self.proc.returncode}; see {log.name}")
            try:
                if ready is None and not self.id.startswith("nginx"):
                    if get(base + "/v2/health/ready")[0] == 200:
                        ready = time.perf_counter() - t0
                status, raw = get(base + self.path, body)
                if status == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > 90:
                raise RuntimeError(f"{self.id} did not answer in 90 s")
            time.sleep(0.002)
        first = time.perf_counter() - t0
        resp = json.loads(raw)
        out = resp["outputs"][0]
        assert resp["model_name"] == self.name and out["name"] == "output-0", resp
        assert out["datatype"] == "FP32" and out["shape"] == [1], resp
        import numpy as np
        assert np.float32(out["data"][0]) == np.float32(self.want), (out, self.want)
        return ready, first

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        time.sleep(0.3)


def wrk(port, conns, dur, work, path=PATH):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{dur}s", "--timeout", "10s", "-s",
           os.path.join(HERE, "peers", "post.lua"), f"http://127.0.0.1:{port}{path}"]
    res = subprocess.run(cmd, capture_output=True, text=True,
                         env=dict(os.environ, BENCH_BODY=os.path.join(work, "body.json")))
    m = re.search(r"^WRKJSON (.*)$", res.stdout, re.M)
    if not m:
        raise RuntimeError(f"wrk failed: {res.stdout}\n{res.stderr}")
    d = json.loads(m.group(1))
    d["rps"] = d["requests"] / (d["duration_us"] / 1e6)
    d["errors"] = sum(v for k, v in d.items() if k.startswith("err_"))
    return d


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"serving.py: {tool} is not installed (scripts/install-deps bench)")
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="gyre-serving-bench.")
    try:
        model, want = prepare(work)
        every = ("gyre", "gyre-log", "gyre-nolog", "gyre-batch", "nginx-w1", "nginx-w2", "fastapi")
        # Comma-separated items; one that names a server id selects it alone, any other item
        # selects the ids it is a substring of.
        items = ONLY.split(",")
        ids = [i for i in every if any(o == i if o in every else o in i for o in items)]
        if BASE:
            ids.insert(1, "gyre-base")
        if any(i.startswith("gyre") for i in ids):
            env = dict(os.environ, GYRE_HOME=os.path.join(work, "home"))
            subprocess.run([GYRE, "model", "import", model, "--format", "xgboost", "--register",
                            "m"], check=True, env=env, stdout=subprocess.DEVNULL)
            for sid, (name, flags) in DEPLOYMENTS.items():
                subprocess.run([GYRE, "deploy", "create", name, "--route", "m@1"] + flags,
                               check=True, env=env, stdout=subprocess.DEVNULL)
        runs = {i: [] for i in ids}
        for r in range(ROUNDS):
            for sid in ids:
                srv = Server(sid, work, model, want)
                ready, first = srv.start()
                try:
                    wrk(srv.port, 32, 2, work, srv.path)  # warm-up, discarded
                    pids = children(srv.proc.pid)
                    t0 = cpu_ticks(pids)
                    c32 = wrk(srv.port, 32, DUR, work, srv.path)
                    # Server CPU per request: robust to other load on the machine, unlike req/s.
                    c32["cpu_us_per_req"] = ((cpu_ticks(pids) - t0) / os.sysconf("SC_CLK_TCK") *
                                             1e6 / max(c32["requests"], 1))
                    c1 = wrk(srv.port, 1, DUR_C1, work, srv.path)
                    rss = sum(rss_kib(p).get("VmRSS", 0) for p in children(srv.proc.pid))
                finally:
                    srv.stop()
                rec = {"round": r, "ready_s": ready, "first_answer_s": first, "rss_kib": rss,
                       "c32": c32, "c1": c1, "loadavg": open("/proc/loadavg").read().split()[:3]}
                runs[sid].append(rec)
                print(f"[round {r}] {sid:9s} c32 {c32['rps']:8.0f} req/s p50 {c32['p50_us']:6d} us "
                      f"p99 {c32['p99_us']:6d} us cpu {c32['cpu_us_per_req']:5.1f} us/req | c1 p50 {c1['p50_us']:5d} us p99 {c1['p99_us']:5d} us "
                      f"| err {c32['errors'] + c1['errors']} | ready "
                      f"{(ready or 0) * 1000:6.1f} ms first {first * 1000:7.1f} ms | RSS {rss / 1024:6.1f} MiB",
                      flush=True)
        summary = {}
        for sid in ids:
            rs = runs[sid]
            summary[sid] = {
                "c32_rps": median([x["c32"]["rps"] for x in rs]),
                "c32_p50_us": median([x["c32"]["p50_us"] for x in rs]),
                "c32_cpu_us_per_req": median([x["c32"]["cpu_us_per_req"] for x in rs]),
                "c1_p50_us": median([x["c1"]["p50_us"] for x in rs]),
                "c1_p99_us": median([x["c1"]["p99_us"] for x in rs]),
                "errors": sum(x["c32"]["errors"] + x["c1"]["errors"] for x in rs),
                "ready_ms": median([(x["ready_s"] or 0) * 1000 for x in rs]),
                "first_answer_ms": median([x["first_answer_s"] * 1000 for x in rs]),
                "rss_mib": median([x["rss_kib"] / 1024 for x in rs]),
            }
        print("\nmedians over %d rounds (wrk -t1; c32 %d s, c1 %d s)" % (ROUNDS, DUR, DUR_C1))
        print(f"{'server':10s} {'c32 req/s':>10s} {'cpu us/req':>10s} {'c1 p50 us':>10s} "
              f"{'c1 p99 us':>10s} {'errors':>7s} {'ready ms':>9s} {'RSS MiB':>8s}")
        for sid, s in summary.items():
            print(f"{sid:10s} {s['c32_rps']:10.0f} {s['c32_cpu_us_per_req']:10.1f} "
                  f"{s['c1_p50_us']:10.0f} {s['c1_p99_us']:10.0f} {s['errors']:7d} "
                  f"{s['ready_ms']:9.1f} {s['rss_mib']:8.1f}")
        ratios = {}
        if "gyre" in summary:
            g = summary["gyre"]
            ng = [summary[k] for k in ("nginx-w1", "nginx-w2") if k in summary]
            if ng:
                best = max(ng, key=lambda s: s["c32_rps"])
                ratios["gyre_over_nginx_rps"] = g["c32_rps"] / best["c32_rps"]
                ratios["gyre_over_nginx_c1_p50"] = g["c1_p50_us"] / min(s["c1_p50_us"] for s in ng)
                ratios["gyre_over_nginx_cpu_per_req"] = (g["c32_cpu_us_per_req"] /
                                                         best["c32_cpu_us_per_req"])
            if "fastapi" in summary:
                ratios["gyre_over_fastapi_rps"] = g["c32_rps"] / summary["fastapi"]["c32_rps"]
        if "gyre-base" in summary and "gyre" in summary:
            ratios["gyre_over_base_rps"] = summary["gyre"]["c32_rps"] / summary["gyre-base"]["c32_rps"]
            ratios["gyre_over_base_cpu_per_req"] = (summary["gyre"]["c32_cpu_us_per_req"] /
                                                    summary["gyre-base"]["c32_cpu_us_per_req"])
        if "gyre-log" in summary and "gyre-nolog" in summary:
            ratios["log_over_nolog_rps"] = (summary["gyre-log"]["c32_rps"] /
                                            summary["gyre-nolog"]["c32_rps"])
        if "gyre-batch" in summary and "gyre-nolog" in summary:
            ratios["batch_over_nolog_rps"] = (summary["gyre-batch"]["c32_rps"] /
                                              summary["gyre-nolog"]["c32_rps"])
        if ratios:
            for k, v in ratios.items():
                print(f"{k}: {v:.2f}")
        with open(os.path.join(OUT, "serving.json"), "w") as f:
            json.dump({"runs": runs, "summary": summary, "ratios": ratios,
                       "cpu": subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"],
                                             capture_output=True, text=True).stdout.strip(),
                       "date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())}, f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
