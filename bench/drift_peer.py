#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Drift benchmark: gyre's KS test and PSI against SciPy's ks_2samp and a NumPy PSI, side by
side in one run, on the same arrays, with the values compared.

Arrays (the recipe of ../shared/bench/peers/04_drift.py, carried here so the project's bench
does not need ../shared):
    rng = np.random.default_rng(20240601)
    ref = rng.standard_normal(n)            # float64
    cur = rng.standard_normal(n) + shift    # same generator, drawn after ref
  values are checked for n in {1e4, 1e5, 1e6} and shift in {0, 0.01, 0.1} (the 1e4 ones take
  the exact p-value path, the others the asymptotic one); timings use n = 1e6, shift = 0.1.
PSI (04_drift.py's psi()): cuts = np.quantile(ref, [.1 .. .9]), bins by
  np.searchsorted(cuts, x, side="right"), proportions clipped to >= 1e-6,
  PSI = sum((a - e) * ln(a / e)).
Timed, each as the median of repeated calls (numpy in-process, gyre in build/bench/drift_bench,
runs alternating RUNS times so that load from other processes hits both alike):
  ks          scipy.stats.ks_2samp(ref, cur) (method='auto')  vs  gy_monitor_ks_2samp on the
              unsorted arrays (bucket counts + exact merge of the candidate buckets + p-value)
  ks_sort     the same SciPy call  vs  copy + radix sort of both + merge + p-value
  psi_window  psi_props(cur, edges) with the edges precomputed  vs  gy_monitor_bin_count
  psi_full    psi(ref, cur)  vs  copy + sort for the deciles + binning both + PSI
Each run records how many cores other processes kept busy ("foreign cores") and the load
average. Values must agree to 1e-9 relative (exit 1 otherwise).

Usage: bench/drift_peer.py [BENCH_BIN]   (default build/bench/drift_bench)
Knobs: RUNS=3  SECONDS=1 (per gyre measurement)
Writes bench/out/drift.json.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy
from scipy import stats as sps

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "bench",
                                                        "drift_bench")
DATA = os.path.join(HERE, "out", "drift_data")
RUNS = int(os.environ.get("RUNS", "3"))
SECONDS = float(os.environ.get("SECONDS", "1"))
SEED = 20240601
SIZES = [10_000, 100_000, 1_000_000]
SHIFTS = [0.0, 0.01, 0.1]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def busy_s():
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:9]))
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def own_s():
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


class Noise:
    """foreign = average number of cores busy with other processes during the block."""

    def __enter__(self):
        self.t, self.b, self.o = time.perf_counter(), busy_s(), own_s()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t
        self.foreign = max(0.0, (busy_s() - self.b - (own_s() - self.o)) / wall) if wall else 0
        return False


def arrays(n, shift):
    rng = np.random.default_rng(SEED)
    ref = rng.standard_normal(n)
    cur = rng.standard_normal(n) + shift
    return ref, cur


def psi_edges(ref, bins=10):
    return np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1])


def psi_props(x, edges, bins=10):
    return np.bincount(np.searchsorted(edges, x, side="right"), minlength=bins) / x.size


def psi(ref, cur, bins=10, eps=1e-6):
    edges = psi_edges(ref, bins)
    e = np.clip(psi_props(ref, edges, bins), eps, None)
    a = np.clip(psi_props(cur, edges, bins), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def timeit(fn, secs=SECONDS):
    fn()
    ts = []
    start = time.perf_counter()
    while len(ts) < 5 or time.perf_counter() - start < secs:
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return {"loops": len(ts), "min_s": ts[0], "median_s": ts[len(ts) // 2]}


def files(n, shift):
    os.makedirs(DATA, exist_ok=True)
    r, c = os.path.join(DATA, f"ref_{n}.f64"), os.path.join(DATA, f"cur_{n}_{shift}.f64")
    ref, cur = arrays(n, shift)
    ref.astype("<f8").tofile(r)
    cur.astype("<f8").tofile(c)
    return ref, cur, r, c


def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-300


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit(f"drift_peer: {BIN} is missing: make build/bench/drift_bench")
    res = {"machine": os.uname().nodename, "nproc": os.cpu_count(), "runs": RUNS,
           "scipy": scipy.__version__, "numpy": np.__version__, "seed": SEED,
           "loadavg_start": os.getloadavg(), "values": [], "timings": []}
    bad = 0
    print("values (gyre vs SciPy/NumPy, 1e-9 relative):")
    for n in SIZES:
        for shift in SHIFTS:
            ref, cur, rf, cf = files(n, shift)
            r = sps.ks_2samp(ref, cur)
            want = {"ks_statistic": float(r.statistic), "ks_pvalue": float(r.pvalue),
                    "ks_method": "exact" if n <= 10_000 else "asymp",
                    "psi_10_quantile_bins": psi(ref, cur)}
            got = json.loads(subprocess.run([BIN, "check", rf, cf], check=True,
                                            capture_output=True, text=True).stdout)
            ok = all(close(got[k], want[k]) for k in ("ks_statistic", "ks_pvalue",
                                                      "psi_10_quantile_bins"))
            ok = ok and got["ks_method"] == want["ks_method"]
            bad += not ok
            res["values"].append({"n": n, "shift": shift, "gyre": got, "scipy_numpy": want,
                                  "equal": ok})
            print(f"  n={n:8d} shift={shift:4.2f}  D {got['ks_statistic']:.10g} / "
                  f"{want['ks_statistic']:.10g}  p {got['ks_pvalue']:.10g} / "
                  f"{want['ks_pvalue']:.10g} ({want['ks_method']})  PSI "
                  f"{got['psi_10_quantile_bins']:.10g} / {want['psi_10_quantile_bins']:.10g}  "
                  f"{'ok' if ok else 'DIFFERENT'}", flush=True)

    n = 1_000_000
    ref, cur, rf, cf = files(n, 0.1)
    edges = psi_edges(ref)
    cases = {"ks": lambda: sps.ks_2samp(ref, cur),
             "ks_sort": lambda: sps.ks_2samp(ref, cur),
             "psi_window": lambda: psi_props(cur, edges),
             "psi_full": lambda: psi(ref, cur)}
    runs = {k: {"gyre": [], "peer": []} for k in cases}
    for i in range(RUNS):
        order = ("gyre", "peer") if i % 2 == 0 else ("peer", "gyre")
        for who in order:
            if who == "gyre":
                with Noise() as nz:
                    out = subprocess.run([BIN, "time", rf, cf, str(SECONDS)], check=True,
                                         capture_output=True, text=True).stdout
                for line in out.strip().splitlines():
                    r = json.loads(line)
                    r["foreign_cores"] = round(nz.foreign, 2)
                    runs[r["what"]]["gyre"].append(r)
                continue
            for what, fn in cases.items():
                with Noise() as nz:
                    r = timeit(fn)
                r["foreign_cores"] = round(nz.foreign, 2)
                runs[what]["peer"].append(r)
        print(f"  run {i}: " + ", ".join(
            f"{w} gyre {runs[w]['gyre'][-1]['median_s'] * 1e3:.2f} ms / peer "
            f"{runs[w]['peer'][-1]['median_s'] * 1e3:.2f} ms" for w in cases), flush=True)
    names = {"ks": "KS two-sample, n = m = 1e6 (scipy.stats.ks_2samp)",
             "ks_sort": "KS two-sample by radix sort + merge, n = m = 1e6 (scipy.stats.ks_2samp)",
             "psi_window": "PSI window, 1e6 values, 10 fixed decile bins (numpy searchsorted + "
                           "bincount)",
             "psi_full": "PSI full: deciles of 1e6 + both windows (numpy)"}
    print(f"timings, n = 1e6, shift 0.1 (medians of {RUNS} runs; load average "
          f"{os.getloadavg()[0]:.2f}):")
    for what in cases:
        g = statistics.median(r["median_s"] for r in runs[what]["gyre"])
        p = statistics.median(r["median_s"] for r in runs[what]["peer"])
        fg = statistics.median(r["foreign_cores"] for r in runs[what]["gyre"])
        fp = statistics.median(r["foreign_cores"] for r in runs[what]["peer"])
        print(f"  {names[what]}: gyre {g * 1e3:.2f} ms, peer {p * 1e3:.2f} ms, "
              f"{p / g:.1f}x faster (foreign cores {fg} / {fp})")
        res["timings"].append({"what": what, "name": names[what], "gyre_median_s": g,
                               "peer_median_s": p, "speedup": p / g, "gyre_foreign_cores": fg,
                               "peer_foreign_cores": fp, "runs": runs[what]})
    ks_last = runs["ks"]["gyre"][-1]
    r = sps.ks_2samp(ref, cur)
    same = close(ks_last["statistic"], float(r.statistic)) and close(ks_last["p_value"],
                                                                      float(r.pvalue))
    print(f"  timed KS result: gyre D={ks_last['statistic']:.17g} p={ks_last['p_value']:.17g}; "
          f"SciPy D={float(r.statistic):.17g} p={float(r.pvalue):.17g} "
          f"{'(equal)' if same else '(DIFFERENT)'}")
    bad += not same
    res["loadavg_end"] = os.getloadavg()
    out = os.path.join(HERE, "out", "drift.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"wrote {os.path.relpath(out)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
