#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""XGBoost oracle for tests/e2e/test_engine_exact.sh (Debian python3-xgboost 1.7.4).

  xgb_oracle.py gen DIR     trains the random models and writes, for each case C listed in
                            DIR/cases.txt ("C FLAGS" per line):
                              C.json, C.ubj   the model in both formats
                              C.csv           test rows: header = feature names (shuffled
                                              column order for some cases), empty = missing
                              C.out.f32, C.margin.f32   booster.predict(DMatrix(missing=nan))
                                              and output_margin=True, float32 little-endian
                            plus cat.json, a model with categorical splits (must be refused).
  xgb_oracle.py check DIR C SUFFIX...
                            compares each DIR/C.SUFFIX (gyre model predict output: one line per
                            row, comma-separated decimals) with the expected float32 values,
                            bit for bit (SUFFIX ending in "margin" against C.margin.f32, else
                            C.out.f32). Prints "PASS C.SUFFIX" or "FAIL C.SUFFIX: details".

Test rows mix plain values with 15% NaN, values exactly equal to split thresholds read from
the trained model, their float32 neighbours, +-1e30 and +-3e38, and -0.0.
"""
import csv
import json
import os
import sys

import numpy as np

N_TRAIN = 400
N_TEST = 300


def labels(kind, s, rng):
    if kind == "binary":
        return (s > 0).astype(np.float32)
    if kind == "prob":
        return (1 / (1 + np.exp(-s))).astype(np.float32)
    if kind.startswith("multi"):
        k = int(kind[5:])
        return np.clip(np.floor((s + 2) * k / 4), 0, k - 1).astype(np.float32)
    if kind == "count":
        return np.floor(np.exp(np.clip(s, -3, 3) * 0.7)).astype(np.float32)
    if kind == "positive":
        return (np.exp(np.clip(s, -3, 3) * 0.5) + rng.random(len(s)) * 0.1).astype(np.float32)
    return (s + rng.normal(0, 0.3, len(s))).astype(np.float32)


def features(rng, n, nf):
    x = rng.normal(0, 1.5, (n, nf)).astype(np.float32)
    x[:, 0] = np.round(x[:, 0] * 2) / 2  # a coarse column: many ties on thresholds
    x[rng.random((n, nf)) < 0.15] = np.nan
    return x


def thresholds(model_json):
    """(feature, threshold) of every split in the saved model, as float32."""
    out = []
    for t in model_json["learner"]["gradient_booster"].get("model", model_json["learner"][
            "gradient_booster"].get("gbtree", {}).get("model", {}))["trees"]:
        for left, f, c in zip(t["left_children"], t["split_indices"], t["split_conditions"]):
            if left != -1:
                out.append((f, np.float32(c)))
    return out


def plant(rng, x, splits):
    """Overwrites cells with thresholds, their neighbours and extreme values."""
    n, nf = x.shape
    for i in range(n):
        for j in range(nf):
            u = rng.random()
            if u < 0.25 and splits:
                f, c = splits[rng.integers(len(splits))]
                v = c
                if u < 0.05:
                    v = np.nextafter(c, np.float32(np.inf))
                elif u < 0.08:
                    v = np.nextafter(c, np.float32(-np.inf))
                x[i, f] = v
            elif u < 0.27:
                x[i, j] = rng.choice(np.array([1e30, -1e30, 3e38, -3e38, -0.0], np.float32))


CASES = [
    # name, kind, params, rounds, nf, flags
    ("logistic_d6", "binary", {"objective": "binary:logistic", "max_depth": 6}, 20, 8, ""),
    ("logistic_base03", "binary", {"objective": "binary:logistic", "max_depth": 3,
                                   "base_score": 0.3}, 12, 5, "shuffle"),
    ("softprob4", "multi4", {"objective": "multi:softprob", "num_class": 4, "max_depth": 4},
     8, 6, ""),
    ("softmax3", "multi3", {"objective": "multi:softmax", "num_class": 3, "max_depth": 2},
     10, 4, "shuffle"),
    ("squared_exact_d8", "reg", {"objective": "reg:squarederror", "max_depth": 8,
                                 "tree_method": "exact", "base_score": -1.25}, 15, 7, ""),
    ("reglogistic", "prob", {"objective": "reg:logistic", "max_depth": 5}, 10, 5, ""),
    ("poisson", "count", {"objective": "count:poisson", "max_depth": 4}, 15, 6, "noname"),
    ("hinge", "binary", {"objective": "binary:hinge", "max_depth": 3}, 10, 5, ""),
    ("gamma", "positive", {"objective": "reg:gamma", "max_depth": 3}, 10, 4, ""),
    ("tweedie", "positive", {"objective": "reg:tweedie", "max_depth": 3,
                             "tweedie_variance_power": 1.3}, 10, 4, "flagnames"),
    ("dart", "binary", {"booster": "dart", "objective": "binary:logistic", "max_depth": 4,
                        "rate_drop": 0.3, "skip_drop": 0.0}, 12, 6, ""),
    ("forest", "reg", {"objective": "reg:squarederror", "num_parallel_tree": 4,
                       "subsample": 0.7, "colsample_bynode": 0.7, "max_depth": 5,
                       "base_score": 0.7}, 3, 6, ""),
    ("stumps", "binary", {"objective": "binary:logitraw", "max_depth": 1}, 25, 3, ""),
    ("deep_d10", "reg", {"objective": "reg:squarederror", "max_depth": 10,
                         "min_child_weight": 0}, 4, 9, ""),
    ("lossguide", "multi3", {"objective": "multi:softprob", "num_class": 3,
                             "grow_policy": "lossguide", "max_leaves": 12, "max_depth": 0,
                             "tree_method": "hist"}, 5, 5, ""),
]


def gen(out):
    import xgboost as xgb  # only here: the checks run without it, in a fraction of the time
    os.makedirs(out, exist_ok=True)
    lines = []
    for k, (name, kind, params, rounds, nf, flags) in enumerate(CASES):
        rng = np.random.default_rng(1000 + k)
        w = rng.normal(0, 1, nf)
        xtr = features(rng, N_TRAIN, nf)
        s = np.nan_to_num(xtr, nan=0.0) @ w / np.sqrt(nf) + 0.5 * np.sin(np.nan_to_num(xtr[:, 0]))
        ytr = labels(kind, s, rng)
        names = None if flags == "noname" or flags == "flagnames" else \
            [f"{'x' if j % 2 else 'feat '}{j}" for j in range(nf)]
        p = dict(params)
        p.update({"nthread": 1, "seed": k, "verbosity": 0})
        bst = xgb.train(p, xgb.DMatrix(xtr, label=ytr, feature_names=names), rounds)
        bst.save_model(os.path.join(out, name + ".json"))
        bst.save_model(os.path.join(out, name + ".ubj"))
        with open(os.path.join(out, name + ".json")) as f:
            splits = thresholds(json.load(f))
        xte = features(rng, N_TEST, nf)
        plant(rng, xte, splits)
        d = xgb.DMatrix(xte, missing=np.nan, feature_names=names)
        bst.predict(d).astype("<f4").tofile(os.path.join(out, name + ".out.f32"))
        bst.predict(d, output_margin=True).astype("<f4").tofile(
            os.path.join(out, name + ".margin.f32"))
        header = names or [f"f{j}" for j in range(nf)]
        if flags == "flagnames":
            header = [f"in{j}" for j in range(nf)]
        order = list(range(nf))
        if flags == "shuffle":
            rng.shuffle(order)
        with open(os.path.join(out, name + ".csv"), "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow([header[j] for j in order] + ["ignored"])
            for row in xte:
                # repr of the float32 as a double reads back to exactly that float32
                wr.writerow(["" if np.isnan(row[j]) else repr(float(row[j])) for j in order]
                            + ["x"])
        lines.append(f"{name} {flags or '-'} {','.join(header)}")
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    # A model with categorical splits: the importer must refuse it.
    rng = np.random.default_rng(7)
    xc = np.column_stack([rng.integers(0, 6, 500), rng.normal(0, 1, 500)]).astype(np.float32)
    yc = ((xc[:, 0] % 2 == 0) ^ (xc[:, 1] > 0)).astype(np.float32)
    dc = xgb.DMatrix(xc, label=yc, feature_types=["c", "q"], enable_categorical=True)
    xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_cat_to_onehot": 1,
               "max_depth": 3, "nthread": 1}, dc, 3).save_model(os.path.join(out, "cat.json"))


def check(out, name, suffixes):
    status = 0
    for suf in suffixes:
        want = np.fromfile(os.path.join(out, name + (".margin.f32" if suf.endswith("margin")
                                                     else ".out.f32")), dtype="<f4")
        path = os.path.join(out, f"{name}.{suf}")
        try:
            with open(path) as f:
                got = np.array([np.float32(float(v)) for line in f
                                for v in line.strip().split(",") if line.strip()],
                               dtype=np.float32)
        except (OSError, ValueError) as e:
            print(f"FAIL {name}.{suf}: cannot read: {e}")
            status = 1
            continue
        if got.shape != want.shape:
            print(f"FAIL {name}.{suf}: {got.size} values, expected {want.size}")
            status = 1
            continue
        bad = np.nonzero(got.view(np.uint32) != want.view(np.uint32))[0]
        if bad.size:
            i = bad[0]
            print(f"FAIL {name}.{suf}: {bad.size} of {want.size} values differ; first at "
                  f"{i}: gyre {got[i]!r} xgboost {want[i]!r}")
            status = 1
        else:
            print(f"PASS {name}.{suf}: {want.size} values bit-identical")
    return status


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
