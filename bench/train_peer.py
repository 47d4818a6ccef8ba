#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Training benchmark: gyre's trainers against their Python peers, side by side in one run.

Workload (as ../shared/bench/peers/06_train.py): train = make_synth(1_000_000, seed=1), test =
make_synth(200_000, seed=2), 28 float32 features, written once by bench/make_synth.py.
  * XGBoost binary:logistic, hist, 100 rounds, max_depth 6, eta 0.3, nthread 2, seed 0:
    gy_train_xgboost (build/train_bench) against xgb.train from python3-xgboost.
  * Logistic regression, C = 1 (scikit-learn's defaults): gy_train_linear against
    sklearn.linear_model.LogisticRegression(solver="lbfgs").fit on the same float32 array.
Runs alternate between gyre and the peer (RUNS each, default 3) so that load from other
processes hits both sides alike; each measurement records how many cores other processes
kept busy meanwhile ("foreign cores"). Prints the medians and the ratios and writes
bench/out/train.json.

Usage: bench/train_peer.py [BENCH_BIN [DATADIR]]
       (defaults build/bench/train_bench, from `make build/bench/train_bench`, and
       bench/out/train_data)
Knobs: RUNS=3  PARTS=xgboost,logistic
"""
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "bench",
                                                        "train_bench")
DATA = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "out", "train_data")
RUNS = int(os.environ.get("RUNS", "3"))
PARTS = os.environ.get("PARTS", "xgboost,logistic").split(",")
XGB_PARAMS = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.3,
              "nthread": 2, "seed": 0}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def busy_s():
    """Busy CPU-seconds of the whole machine since boot."""
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


def load(part):
    n = os.path.getsize(os.path.join(DATA, f"{part}_y.f32")) // 4
    X = np.fromfile(os.path.join(DATA, f"{part}_X.f32"), dtype="<f4").reshape(n, -1)
    y = np.fromfile(os.path.join(DATA, f"{part}_y.f32"), dtype="<f4")
    return X, y


def gyre(what, *args):
    with Noise() as nz:
        out = subprocess.run([BIN, DATA, what, *args], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["foreign_cores"] = round(nz.foreign, 2)
    return r


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    subprocess.run([sys.executable, os.path.join(HERE, "make_synth.py"), DATA], check=True)
    if not os.access(BIN, os.X_OK):
        sys.exit(f"train_peer: {BIN} is missing: make build/bench/train_bench")
    import sklearn
    import xgboost as xgb
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score

    Xtr, ytr = load("train")
    Xte, yte = load("test")
    res = {"machine": os.uname().nodename, "nproc": os.cpu_count(), "runs": RUNS,
           "xgboost": xgb.__version__, "sklearn": sklearn.__version__, "numpy": np.__version__}

    if "xgboost" in PARTS:
        g, p = [], []
        for i in range(RUNS):
            order = ("gyre", "python") if i % 2 == 0 else ("python", "gyre")
            for who in order:
                if who == "gyre":
                    g.append(gyre("xgboost"))
                    print(f"  gyre    xgboost run {i}: {g[-1]['wall_s']:.2f} s "
                          f"(boosting {g[-1]['boost_s']:.2f} s), foreign {g[-1]['foreign_cores']}",
                          flush=True)
                    continue
                t0 = time.perf_counter()
                dtr = xgb.DMatrix(Xtr, label=ytr, nthread=2)
                t_dm = time.perf_counter() - t0
                with Noise() as nz:
                    t0 = time.perf_counter()
                    bst = xgb.train(XGB_PARAMS, dtr, num_boost_round=100)
                    t = time.perf_counter() - t0
                t0 = time.perf_counter()
                pred = bst.predict(xgb.DMatrix(Xte, nthread=2))
                t_pred = time.perf_counter() - t0
                p.append({"train_s": t, "dmatrix_s": t_dm, "test_predict_s": t_pred,
                          "full_s": t_dm + t + t_pred, "foreign_cores": round(nz.foreign, 2),
                          "test_auc": float(roc_auc_score(yte, pred))})
                print(f"  python  xgboost run {i}: {t:.2f} s (DMatrix {t_dm:.2f} s before), "
                      f"foreign {p[-1]['foreign_cores']}", flush=True)
                del dtr, bst
        res["xgboost_bench"] = {"gyre": g, "python": p}
        gw, gb, pt, pf = med(g, "wall_s"), med(g, "boost_s"), med(p, "train_s"), med(p, "full_s")
        print(f"XGBoost 1M x 28, 100 rounds (medians of {RUNS}):")
        print(f"  boosting: gyre {gb:.2f} s, Python xgb.train {pt:.2f} s, ratio {gb / pt:.3f}")
        print(f"  whole job (DMatrix for train and test, 100 rounds, test predictions): gyre "
              f"gy_train_xgboost {gw:.2f} s, Python {pf:.2f} s, ratio {gw / pf:.3f}")
        print(f"  gyre's whole call / xgb.train alone = {gw / pt:.3f}")
        print(f"  test AUC gyre {g[0]['test_auc']:.6f}, Python {p[0]['test_auc']:.6f}")
        res["xgboost_summary"] = {"gyre_wall_s": gw, "gyre_boost_s": gb, "python_train_s": pt,
                                  "python_full_s": pf, "ratio_boost": gb / pt,
                                  "ratio_full": gw / pf, "ratio_wall_vs_train": gw / pt,
                                  "gyre_auc": g[0]["test_auc"], "python_auc": p[0]["test_auc"]}

    if "logistic" in PARTS:
        g, p = [], []
        for i in range(RUNS):
            order = ("gyre", "python") if i % 2 == 0 else ("python", "gyre")
            for who in order:
                if who == "gyre":
                    g.append(gyre("logistic"))
                    print(f"  gyre    logistic run {i}: {g[-1]['wall_s']:.3f} s "
                          f"({g[-1]['solver']}, {g[-1]['iterations']} iterations), "
                          f"foreign {g[-1]['foreign_cores']}", flush=True)
                    continue
                with warnings.catch_warnings(record=True) as wl:
                    warnings.simplefilter("always")
                    with Noise() as nz:
                        t0 = time.perf_counter()
                        lr = LogisticRegression(solver="lbfgs").fit(Xtr, ytr)
                        t = time.perf_counter() - t0
                z = lr.decision_function(Xtr).astype(np.float64)
                obj = float(np.sum(np.logaddexp(0, z) - ytr * z) + 0.5 * np.sum(lr.coef_ ** 2))
                p.append({"wall_s": t, "n_iter": int(lr.n_iter_[0]),
                          "foreign_cores": round(nz.foreign, 2), "objective": obj,
                          "train_logloss": float(log_loss(ytr, lr.predict_proba(Xtr)[:, 1].astype(np.float64))),
                          "test_logloss": float(log_loss(yte, lr.predict_proba(Xte)[:, 1].astype(np.float64))),
                          "test_auc": float(roc_auc_score(yte, lr.predict_proba(Xte)[:, 1])),
                          "warnings": [str(w.message)[:120] for w in wl]})
                print(f"  sklearn logistic run {i}: {t:.3f} s ({p[-1]['n_iter']} iterations), "
                      f"foreign {p[-1]['foreign_cores']}", flush=True)
        res["logistic_bench"] = {"gyre": g, "sklearn": p}
        gw, pw = med(g, "wall_s"), med(p, "wall_s")
        print(f"Logistic 1M x 28: gyre gy_train_linear {gw:.3f} s, sklearn lbfgs {pw:.3f} s, "
              f"ratio {gw / pw:.3f}")
        print(f"  objective (sum logloss + |w|^2/2): gyre {g[0]['objective']:.9f}, sklearn "
              f"{p[0]['objective']:.9f}")
        print(f"  train logloss gyre {g[0]['train_logloss']:.15f}, sklearn "
              f"{p[0]['train_logloss']:.15f}")
        print(f"  test logloss  gyre {g[0]['test_logloss']:.15f}, sklearn "
              f"{p[0]['test_logloss']:.15f}")
        res["logistic_summary"] = {"gyre_wall_s": gw, "sklearn_wall_s": pw, "ratio": gw / pw,
                                   "gyre_objective": g[0]["objective"],
                                   "sklearn_objective": p[0]["objective"],
                                   "gyre_test_logloss": g[0]["test_logloss"],
                                   "sklearn_test_logloss": p[0]["test_logloss"],
                                   "gyre_train_logloss": g[0]["train_logloss"],
                                   "sklearn_train_logloss": p[0]["train_logloss"]}

    out = os.path.join(HERE, "out", "train.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"wrote {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
