#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Oracle for tests/e2e/test_drift.sh: recomputes every statistic of a `gyre drift check`
JSON report from the CSV files that were ingested, with SciPy 1.10 and NumPy (Debian
python3-scipy / python3-numpy), and compares each to 1e-9 relative.

  drift_oracle.py gen DIR              write the scenario CSVs and schemas into DIR
  drift_oracle.py check REF.csv CUR.csv[+MORE.csv] REPORT.json [--top-categories N] [--alpha A]
                                       [--drift-share S] [--features a,b]

`check` prints one line per compared value that disagrees and a summary line
"checked N values, M mismatches"; it exits 1 on any mismatch or a missing field.

The definitions re-implemented here (docs/drift.md):
  numeric   ks = scipy.stats.ks_2samp(ref, cur) (method='auto'); wasserstein =
            scipy.stats.wasserstein_distance; wasserstein_norm = W / max(np.std(ref), 0.001);
            psi on 13 bins: below min(ref), the 10 bins between np.quantile(ref, .1 .. .9)
            (searchsorted side='right'), above max(ref), missing; bins empty on both sides
            dropped; p = (c + 0.5) / (N + 0.5 B); psi = sum (q - p) ln(q / p)
  categorical  columns: top-K reference categories (count desc, then name), (other),
            (unseen), zero columns dropped; chi2 = scipy.stats.chi2_contingency (Yates when
            dof == 1); jensenshannon = scipy.spatial.distance.jensenshannon(base=2)
  binary    z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2)), p = 2 norm.sf(|z|);
            jensenshannon over (false, true)
  decision  Benjamini-Hochberg over the compared features' p-values; drift when effect >=
            threshold and p_adj < alpha; dataset drift when share >= drift_share
"""
import csv
import json
import math
import sys

import numpy as np
from scipy import stats
from scipy.spatial import distance

RTOL = 1e-9
ATOL = 1e-300


def gen(d):
    rng = np.random.default_rng(20240601)

    def write(path, header, rows):
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for r in rows:
                w.writerow(r)

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, (bool, np.bool_)):
            return "true" if v else "false"
        if isinstance(v, (float, np.floating)):
            return repr(float(v))
        return str(v)

    header = ["num_norm", "num_ties", "num_int", "num_const", "num_missing", "num_gone",
              "cat", "cat_const", "flag"]
    cats = ["grocery", "fuel", "travel", "online", "pharmacy", "books"]

    def table(n, shift, cur):
        rows = []
        for i in range(n):
            norm = rng.standard_normal() * (1.0 + shift) + shift
            ties = round(float(rng.standard_normal() + shift), 1)
            iv = int(rng.integers(0, 6 if cur else 5))
            miss = None if rng.random() < (0.25 if cur else 0.1) else float(rng.exponential(2.0))
            gone = None if cur else float(rng.uniform(-1, 1))
            if cur and rng.random() < 0.15:
                c = "casino"  # unseen in the reference
            else:
                p = [0.35, 0.25, 0.15, 0.1, 0.1, 0.05] if not cur else [0.25, 0.3, 0.15, 0.1, 0.1,
                                                                        0.1]
                c = cats[int(rng.choice(6, p=p))]
            flag = bool(rng.random() < (0.3 if cur else 0.1))
            rows.append([cell(v) for v in (norm, ties, iv, 5, miss, gone, c, "same", flag)])
        return rows

    write(f"{d}/ref.csv", header, table(3000, 0.0, False))
    write(f"{d}/cur.csv", header, table(2500, 0.3, True))
    # Large enough for the asymptotic KS p-value (max(n, m) > 10000).
    big_ref = [[repr(float(v)), repr(float(round(w, 2)))]
               for v, w in zip(rng.standard_normal(12000), rng.standard_normal(12000))]
    big_cur = [[repr(float(v)), repr(float(round(w, 2)))]
               for v, w in zip(rng.standard_normal(11000) * 1.02 + 0.03,
                               rng.standard_normal(11000))]
    write(f"{d}/big_ref.csv", ["a", "b"], big_ref)
    write(f"{d}/big_cur.csv", ["a", "b"], big_cur)
    # An empty window (header only), ingested with an explicit schema.
    write(f"{d}/empty.csv", header, [])
    schema = [{"name": h, "type": t} for h, t in zip(
        header, ["float64", "float64", "int64", "int64", "float64", "float64", "string", "string",
                 "bool"])]
    with open(f"{d}/schema.json", "w") as f:
        json.dump(schema, f)


def read_csv(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        cols = {h: [] for h in header}
        for row in r:
            for h, v in zip(header, row):
                cols[h].append(v)
    return cols


class Checker:
    def __init__(self):
        self.n = 0
        self.bad = 0

    def eq(self, what, got, want, rtol=RTOL, atol=ATOL):
        self.n += 1
        if want is None or (isinstance(want, float) and not math.isfinite(want)):
            ok = got is None
        elif got is None:
            ok = False
        elif isinstance(want, (bool, str)) or isinstance(got, (bool, str)):
            ok = got == want
        else:
            ok = abs(float(got) - float(want)) <= rtol * max(abs(float(got)), abs(float(want))) + atol
        if not ok:
            self.bad += 1
            print(f"MISMATCH {what}: gyre {got!r}, oracle {want!r}")


def numeric_stats(ref_raw, cur_raw):
    ref = np.array([float(v) for v in ref_raw if v != ""], dtype=np.float64)
    cur = np.array([float(v) for v in cur_raw if v != ""], dtype=np.float64)
    out = {"values": (ref.size, cur.size),
           "missing": (1 - ref.size / len(ref_raw) if ref_raw else None,
                       1 - cur.size / len(cur_raw) if cur_raw else None)}
    if ref.size == 0 or cur.size == 0:
        out["status"] = "not_enough_data"
        return out
    out["status"] = "ok"
    r = stats.ks_2samp(ref, cur)
    out["ks"] = (float(r.statistic), float(r.pvalue),
                 "exact" if max(ref.size, cur.size) <= 10000 else "asymptotic")
    w = float(stats.wasserstein_distance(ref, cur))
    out["wasserstein"] = w
    out["wasserstein_norm"] = w / max(float(np.std(ref)), 0.001)
    cuts = np.quantile(ref, np.linspace(0.0, 1.0, 11)[1:-1])
    lo, hi = ref.min(), ref.max()

    def bins(x):
        c = np.zeros(12, dtype=np.int64)
        c[0] = np.sum(x < lo)
        c[11] = np.sum(x > hi)
        inr = x[(x >= lo) & (x <= hi)]
        c[1:11] = np.bincount(np.searchsorted(cuts, inr, side="right"), minlength=10)
        return c

    rc = np.append(bins(ref), len(ref_raw) - ref.size)
    cc = np.append(bins(cur), len(cur_raw) - cur.size)
    keep = (rc + cc) > 0
    rc, cc = rc[keep].astype(np.float64), cc[keep].astype(np.float64)
    b = rc.size
    p = (rc + 0.5) / (len(ref_raw) + 0.5 * b)
    q = (cc + 0.5) / (len(cur_raw) + 0.5 * b)
    out["psi"] = float(np.sum((q - p) * np.log(q / p)))
    out["out_of_range"] = float(np.mean((cur < lo) | (cur > hi)))
    out["ref"] = (float(np.mean(ref)), float(np.std(ref)), float(lo), float(hi))
    out["cur"] = (float(np.mean(cur)), float(np.std(cur)))
    out["effect"] = out["wasserstein_norm"]
    out["p"] = out["ks"][1]
    return out


def categorical_stats(ref_raw, cur_raw, top_k):
    ref = [v for v in ref_raw if v != ""]
    cur = [v for v in cur_raw if v != ""]
    out = {"values": (len(ref), len(cur)),
           "missing": (1 - len(ref) / len(ref_raw) if ref_raw else None,
                       1 - len(cur) / len(cur_raw) if cur_raw else None)}
    if not ref or not cur:
        out["status"] = "not_enough_data"
        return out
    out["status"] = "ok"
    rcount = {}
    for v in ref:
        rcount[v] = rcount.get(v, 0) + 1
    order = sorted(rcount, key=lambda c: (-rcount[c], c.encode()))
    top = order[:top_k]
    col = {c: i for i, c in enumerate(top)}
    k = len(top)
    r = np.zeros(k + 2)
    c = np.zeros(k + 2)
    for name in top:
        r[col[name]] = rcount[name]
    r[k] = len(ref) - r[:k].sum()
    for v in cur:
        if v in col:
            c[col[v]] += 1
        elif v in rcount:
            c[k] += 1
        else:
            c[k + 1] += 1
    out["unseen"] = c[k + 1] / len(cur)
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    if r.size == 1:
        out["chi2"] = (0.0, 1.0, 0)
    else:
        res = stats.chi2_contingency(np.array([r, c]))
        out["chi2"] = (float(res[0]), float(res[1]), int(res[2]))
    out["js"] = float(distance.jensenshannon(r, c, base=2))
    out["effect"] = out["js"]
    out["p"] = out["chi2"][1]
    return out


def binary_stats(ref_raw, cur_raw):
    ref = [v == "true" for v in ref_raw if v != ""]
    cur = [v == "true" for v in cur_raw if v != ""]
    out = {"values": (len(ref), len(cur)),
           "missing": (1 - len(ref) / len(ref_raw) if ref_raw else None,
                       1 - len(cur) / len(cur_raw) if cur_raw else None)}
    if not ref or not cur:
        out["status"] = "not_enough_data"
        return out
    out["status"] = "ok"
    n1, n2 = len(ref), len(cur)
    p1, p2 = float(sum(ref)) / n1, float(sum(cur)) / n2
    P = float(p1 * n1 + p2 * n2) / (n1 + n2)
    den = np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    if den > 0:
        z = (p1 - p2) / den
        pz = min(1.0, float(2 * stats.norm.sf(abs(z))))
    else:
        z, pz = 0.0, 1.0
    out["z"] = (float(z), pz)
    r = np.array([n1 - sum(ref), sum(ref)], dtype=float)
    c = np.array([n2 - sum(cur), sum(cur)], dtype=float)
    keep = (r + c) > 0
    out["js"] = float(distance.jensenshannon(r[keep], c[keep], base=2))
    out["props"] = (p1, p2)
    out["effect"] = out["js"]
    out["p"] = pz
    return out


def check(ref_csv, cur_csv, report_json, opts):
    """cur_csv may name several files joined by '+': a version that appended them."""
    ref, cur = read_csv(ref_csv), None
    for part in cur_csv.split("+"):
        c = read_csv(part)
        cur = c if cur is None else {k: cur[k] + c[k] for k in cur}
    with open(report_json) as f:
        rep = json.load(f)
    chk = Checker()
    top_k = int(opts.get("--top-categories", 20))
    alpha = float(opts.get("--alpha", 0.05))
    share = float(opts.get("--drift-share", 0.5))
    feats = rep["features"]
    names = opts["--features"].split(",") if "--features" in opts else list(ref.keys())
    chk.eq("feature list", [f["feature"] for f in feats] == names, True)
    oracle = {}
    for f in feats:
        name, t = f["feature"], f["type"]
        if f["status"] == "skipped":
            continue
        if t == "numeric":
            o = numeric_stats(ref[name], cur.get(name, []))
        elif t == "categorical":
            o = categorical_stats(ref[name], cur.get(name, []), top_k)
        else:
            o = binary_stats(ref[name], cur.get(name, []))
        oracle[name] = o
        chk.eq(f"{name} status", f["status"], o["status"])
        chk.eq(f"{name} values ref", f["values"]["reference"], o["values"][0])
        chk.eq(f"{name} values cur", f["values"]["current"], o["values"][1])
        chk.eq(f"{name} missing ref", f["quality"]["missing_rate_reference"], o["missing"][0])
        chk.eq(f"{name} missing cur", f["quality"]["missing_rate_current"], o["missing"][1])
        if o["status"] != "ok":
            chk.eq(f"{name} drift is null", f["drift"], None)
            chk.eq(f"{name} says not enough data", "not enough data" in (f["message"] or ""),
                   True)
            continue
        s = f["statistics"]
        if t == "numeric":
            chk.eq(f"{name} ks.statistic", s["ks"]["statistic"], o["ks"][0])
            chk.eq(f"{name} ks.p_value", s["ks"]["p_value"], o["ks"][1])
            chk.eq(f"{name} ks.method", s["ks"]["method"], o["ks"][2])
            chk.eq(f"{name} wasserstein", s["wasserstein"], o["wasserstein"])
            chk.eq(f"{name} wasserstein_norm", s["wasserstein_norm"], o["wasserstein_norm"])
            chk.eq(f"{name} psi", s["psi"], o["psi"])
            chk.eq(f"{name} out_of_range", f["quality"]["out_of_range_share"], o["out_of_range"])
            for i, k in enumerate(("mean", "std", "min", "max")):
                chk.eq(f"{name} reference.{k}", s["reference"][k], o["ref"][i])
            for i, k in enumerate(("mean", "std")):
                chk.eq(f"{name} current.{k}", s["current"][k], o["cur"][i])
        elif t == "categorical":
            chk.eq(f"{name} chi2.statistic", s["chi2"]["statistic"], o["chi2"][0])
            chk.eq(f"{name} chi2.p_value", s["chi2"]["p_value"], o["chi2"][1])
            chk.eq(f"{name} chi2.dof", s["chi2"]["dof"], o["chi2"][2])
            chk.eq(f"{name} jensenshannon", s["jensenshannon"], o["js"])
            chk.eq(f"{name} unseen_share", f["quality"]["unseen_share"], o["unseen"])
        else:
            chk.eq(f"{name} z.statistic", s["z"]["statistic"], o["z"][0])
            chk.eq(f"{name} z.p_value", s["z"]["p_value"], o["z"][1])
            chk.eq(f"{name} jensenshannon", s["jensenshannon"], o["js"])
            chk.eq(f"{name} proportion_reference", s["proportion_reference"], o["props"][0])
            chk.eq(f"{name} proportion_current", s["proportion_current"], o["props"][1])
        chk.eq(f"{name} decision.value", f["decision"]["value"], o["effect"])
        chk.eq(f"{name} decision.p_value", f["decision"]["p_value"], o["p"])
    # Benjamini-Hochberg across the compared features, then the rule.
    ok = [f for f in feats if f["status"] == "ok"]
    p = np.array([oracle[f["feature"]]["p"] for f in ok])
    m = p.size
    drifted = 0
    if m:
        order = np.argsort(p, kind="stable")
        adj = np.empty(m)
        run = 1.0
        for r in range(m - 1, -1, -1):
            run = min(run, p[order[r]] * m / (r + 1))
            adj[order[r]] = run
        for f, a in zip(ok, adj):
            o = oracle[f["feature"]]
            chk.eq(f"{f['feature']} p_value_adjusted", f["decision"]["p_value_adjusted"], a)
            want = bool(o["effect"] >= f["decision"]["threshold"] and a < alpha)
            chk.eq(f"{f['feature']} drift", f["drift"], want)
            drifted += want
    chk.eq("dataset checked", rep["dataset"]["checked"], m)
    chk.eq("dataset drifted", rep["dataset"]["drifted"], drifted)
    if not opts.get("--importance"):
        chk.eq("dataset drift", rep["drift"], bool(m and drifted / m >= share))
    print(f"checked {chk.n} values, {chk.bad} mismatches")
    return 1 if chk.bad else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
        return 0
    if len(sys.argv) >= 5 and sys.argv[1] == "check":
        opts = {}
        rest = sys.argv[5:]
        for i in range(0, len(rest) - 1, 2):
            opts[rest[i]] = rest[i + 1]
        return check(sys.argv[2], sys.argv[3], sys.argv[4], opts)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
