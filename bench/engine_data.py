#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the engine benchmark's model and rows (bench/engine_bench.c).

The workload of ../shared/bench/peers/01_prepare.py, re-created here with bench/make_synth.py's
make_synth (the same recipe as peers/common.py):
  * model: XGBoost binary:logistic, hist, 100 rounds, max_depth 6, eta 0.3, nthread 2, seed 0,
    trained on make_synth(100_000, seed=3)  ->  OUTDIR/model.json (and model.ubj)
  * rows:  make_synth(100_000, seed=5), 28 float32 features, row-major little-endian
           ->  OUTDIR/rows.f32
  * check: XGBoost's own probabilities on those rows (Booster.inplace_predict)
           ->  OUTDIR/pred.f32
Deterministic (hist with nthread 2 gives the same trees on every run). Files already present
with the same meta.json are kept.

Usage: engine_data.py OUTDIR        (Debian /usr/bin/python3 with python3-xgboost and numpy)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgboost as xgb  # noqa: E402

from make_synth import make_synth  # noqa: E402

PARAMS = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.3,
          "nthread": 2, "seed": 0}
ROUNDS = 100


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    meta = {"recipe": "peers/01_prepare.py xgb_m.json + bench_X.f32", "params": PARAMS,
            "rounds": ROUNDS, "train": "make_synth(100000, seed=3)",
            "rows": "make_synth(100000, seed=5)", "xgboost": xgb.__version__}
    os.makedirs(out, exist_ok=True)
    mpath = os.path.join(out, "meta.json")
    try:
        with open(mpath) as f:
            if json.load(f) == meta and os.path.exists(os.path.join(out, "pred.f32")):
                print(f"engine_data: {out} is up to date")
                return
    except (OSError, ValueError):
        pass
    X, y = make_synth(100_000, seed=3)
    booster = xgb.train(PARAMS, xgb.DMatrix(X, label=y), num_boost_round=ROUNDS)
    booster.save_model(os.path.join(out, "model.json"))
    booster.save_model(os.path.join(out, "model.ubj"))
    Xb, _ = make_synth(100_000, seed=5)
    Xb.astype("<f4").tofile(os.path.join(out, "rows.f32"))
    booster.inplace_predict(Xb).astype("<f4").tofile(os.path.join(out, "pred.f32"))
    with open(mpath, "w") as f:
        json.dump(meta, f)
    print(f"engine_data: wrote {out}/model.json, model.ubj, rows.f32 (100000 x 28), pred.f32")


if __name__ == "__main__":
    main()
