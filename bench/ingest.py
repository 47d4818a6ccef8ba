#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Ingest benchmark: gyre ingest vs pandas.read_csv on the same CSV, side by side in one run.

Workload (the same recipe as shared/bench/peers/05_ingest.py): 1,000,000 rows x 20 columns,
18 float64 (f_j = N(0,1) * (1 + j) + 10 j - 50, written with "%.6f"), one int64 (i0) and one
categorical string column (cat, 8 values); numpy default_rng(777); about 200 MB.

Measured, page cache warm, median of BENCH_RUNS (default 3) runs each:
  - gyre ingest into a fresh data home (parse, type, profile, compress, checksum, fsync, commit)
  - pandas.read_csv default, and with explicit dtypes
Peak RSS is gyre's own VmHWM, reported by `gyre ingest --json`.
Usage: bench/ingest.py [GYRE_BIN]   (env: BENCH_ROWS, BENCH_RUNS, BENCH_OUT)
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "out"))
GYRE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "gyre")
N = int(os.environ.get("BENCH_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CATS = np.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"])
os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, f"ingest_{N}.csv")

if not os.path.exists(path):
    rng = np.random.default_rng(777)
    F = rng.standard_normal((N, 18)) * (1 + np.arange(18)) + (10 * np.arange(18) - 50)
    df = pd.DataFrame(F, columns=[f"f{j}" for j in range(18)])
    df["i0"] = rng.integers(0, 1_000_000, N)
    df["cat"] = CATS[rng.integers(0, 8, N)]
    df.to_csv(path + ".tmp", index=False, float_format="%.6f")
    os.rename(path + ".tmp", path)
    del df, F
size = os.path.getsize(path)
mb = size / 1e6
subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # warm the page cache


def gyre_once():
    home = os.path.join(OUT, "ingest-home")
    shutil.rmtree(home, ignore_errors=True)
    env = dict(os.environ, GYRE_HOME=home)
    env.pop("GYRE_DB", None)
    t0 = time.perf_counter()
    p = subprocess.run([GYRE, "ingest", "bench", path, "--quiet", "--json"], env=env,
                       capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("gyre ingest failed: " + p.stderr)
    res = json.loads(p.stdout)
    assert res["rows"] == N, res
    rss = res["peak_rss_mib"]  # gyre's own VmHWM (getrusage of children would count the fork)
    du = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(home) for f in fs)
    shutil.rmtree(home, ignore_errors=True)
    return dt, rss, du


def timed(fn):
    ts = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts), out


g = [gyre_once() for _ in range(RUNS)]
g_med = statistics.median(x[0] for x in g)
g_rss = max(x[1] for x in g)
g_disk = g[-1][2]
p_med, p_min, df = timed(lambda: pd.read_csv(path))
assert df.shape == (N, 20)
del df
dtypes = {f"f{j}": "float32" for j in range(18)}
dtypes.update({"i0": "int64", "cat": "category"})
pt_med, _, df = timed(lambda: pd.read_csv(path, dtype=dtypes))
del df

res = {
    "rows": N, "MB": mb, "runs": RUNS,
    "gyre_s": g_med, "gyre_MB_per_s": mb / g_med, "gyre_peak_rss_MiB": g_rss,
    "gyre_home_MB": g_disk / 1e6,
    "pandas_default_s": p_med, "pandas_default_MB_per_s": mb / p_med,
    "pandas_typed_s": pt_med, "pandas_typed_MB_per_s": mb / pt_med,
    "ratio_vs_pandas_default": p_med / g_med, "ratio_vs_pandas_typed": pt_med / g_med,
}
with open(os.path.join(OUT, "ingest.json"), "w") as f:
    json.dump(res, f, indent=1)
print(f"ingest {N} rows x 20 cols, {mb:.1f} MB CSV, median of {RUNS}:")
print(f"  gyre ingest          {g_med:7.3f} s  {mb / g_med:8.1f} MB/s  peak RSS {g_rss:.0f} MiB"
      f"  (data home {g_disk / 1e6:.0f} MB)")
print(f"  pandas.read_csv      {p_med:7.3f} s  {mb / p_med:8.1f} MB/s")
print(f"  pandas typed dtypes  {pt_med:7.3f} s  {mb / pt_med:8.1f} MB/s")
print(f"  ratio gyre/pandas: {p_med / g_med:.2f}x (default), {pt_med / g_med:.2f}x (typed)")
