#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the training benchmark's data set as raw little-endian float32 files.

The recipe is make_synth from ../shared/bench/peers/common.py (re-implemented here, so this
script imports nothing outside bench/): 28 standard-normal float32 features from numpy's
default_rng(seed) (PCG64), fixed weights from default_rng(7), a nonlinear logit and
y = rng.random(n) < sigmoid(logit). Train is make_synth(N, seed=1), test make_synth(M, seed=2),
exactly as peers/06_train.py.

Usage: make_synth.py OUTDIR [N_TRAIN [N_TEST]]   (defaults 1000000 and 200000)
Writes OUTDIR/{train,test}_{X,y}.f32 (X row-major n x 28, y n) and OUTDIR/meta.json.
Files already present with the right sizes and meta are kept (regenerating takes seconds).
"""
import json
import os
import sys

import numpy as np

N_FEATURES = 28


def make_synth(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES), dtype=np.float32)
    wr = np.random.default_rng(7)
    w = wr.standard_normal(N_FEATURES) * (wr.random(N_FEATURES) < 0.6)
    X64 = X.astype(np.float64)
    logit = (0.3 * (X64 @ w) + 0.8 * X64[:, 0] * X64[:, 1] + np.sin(2 * X64[:, 2])
             + 0.5 * (X64[:, 3] > 0.5) - 0.3 * X64[:, 4] ** 2 + 0.3)
    p = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(n) < p).astype(np.float32)
    return X, y


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    n_train = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    n_test = int(sys.argv[3]) if len(sys.argv) > 3 else 200_000
    meta = {"recipe": "make_synth (shared/bench/peers/common.py)", "features": N_FEATURES,
            "train_rows": n_train, "train_seed": 1, "test_rows": n_test, "test_seed": 2,
            "dtype": "<f4", "layout": "row-major"}
    os.makedirs(out, exist_ok=True)
    mpath = os.path.join(out, "meta.json")
    try:
        with open(mpath) as f:
            if json.load(f) == meta:
                print(f"make_synth: {out} is up to date")
                return
    except (OSError, ValueError):
        pass
    for part, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        X, y = make_synth(n, seed)
        X.astype("<f4").tofile(os.path.join(out, f"{part}_X.f32"))
        y.astype("<f4").tofile(os.path.join(out, f"{part}_y.f32"))
    with open(mpath, "w") as f:
        json.dump(meta, f)
    print(f"make_synth: wrote {n_train} train and {n_test} test rows to {out}")


if __name__ == "__main__":
    main()
