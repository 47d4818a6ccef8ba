#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: the embedding API as a user meets it. pkg-config on the build tree's
# gyre-uninstalled.pc compiles examples/predict.c against include/gyre.h and libgyre.a; models
# trained with `gyre train` are fetched as bundles through the MLflow artifact proxy (the
# run's model/model.gyre) and predicted by the example program, in both its input forms
# (numbers through gyre_predict, CSV through gyre_predict_values). The reference is XGBoost
# 1.7.4 itself (python3-xgboost) on the run's model/xgboost.json, fed rows preprocessed in
# Python from the bundle's fitted preprocessing as `gyre model inspect` prints it: outputs and
# margins must agree as "%.9g" text, i.e. bit for bit. (No `gyre model predict` exists to
# compare with; XGBoost is the stronger, independent oracle.) Also: a C++ compiler accepts
# the header, and the example's error paths.
. "$(dirname "$0")/lib.sh"
D=$T_DIR
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "$(dirname "$GYRE_BIN")" && pwd)
PY=/usr/bin/python3
py() { $PY -c "$1"; }

# ---------------------------------------------------------------- build against the .pc
if [ -f "$B/gyre-uninstalled.pc" ]; then ok "the build made gyre-uninstalled.pc"; else not_ok "the build made gyre-uninstalled.pc (make unit-build)"; fi
run "pkg-config resolves gyre from the build tree" 0 env PKG_CONFIG_PATH="$B" pkg-config --cflags --libs --static gyre
PCFLAGS=$OUT
contains "the flags name libgyre and its dependencies" "-lgyre -ljansson"
run "pkg-config reports the header's version" 0 env PKG_CONFIG_PATH="$B" pkg-config --modversion gyre
eq "version" "$OUT" "$(sed -n 's/^#define GYRE_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$TOP/include/gyre.h" | paste -sd.)"
# shellcheck disable=SC2086
run "examples/predict.c compiles with the pkg-config flags alone" 0 \
    cc -std=c11 -Wall -Wextra -Werror -pedantic "$TOP/examples/predict.c" $PCFLAGS -o "$D/predict"
P=$D/predict
if command -v c++ >/dev/null 2>&1; then
    printf '#include "gyre.h"\n#include <cstdio>\nint main() { std::printf("%%s\\n", gyre_version()); return gyre_status_str(GYRE_OK)[0] != %so%s; }\n' "'" "'" >"$D/v.cc"
    # shellcheck disable=SC2086
    run "a C++ program includes gyre.h and links" 0 c++ -Wall -Werror "$D/v.cc" $PCFLAGS -o "$D/v"
    run "and runs" 0 "$D/v"
fi

# ---------------------------------------------------------------- train two models
gyre generate transactions --rows 4000 --seed 11 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "train a numeric-only model" 0 gyre train --dataset tx --target is_fraud --rounds 12 \
    --param max_depth=4 --features "ts:drop;tx_id:drop;merchant_category:drop;country:drop" \
    --register num --json --quiet
printf '%s' "$OUT" | sed -n '/^{/,$p' >"$D/num.json"
run "train a model with category inputs" 0 gyre train --dataset tx --target is_fraud --rounds 12 \
    --param max_depth=5 --features "ts:drop;tx_id:drop" --register cat --json --quiet
printf '%s' "$OUT" | sed -n '/^{/,$p' >"$D/cat.json"

# ---------------------------------------------------------------- fetch the bundles
SRV_PID=""
trap 'if [ -n "$SRV_PID" ]; then kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null; fi; t_cleanup' EXIT
"$GYRE_BIN" server --port 0 --ready-file "$D/ready" --quiet-access-log 2>"$D/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$D/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
U="http://127.0.0.1:$(cat "$D/ready")/api/2.0/mlflow-artifacts/artifacts"
for m in num cat; do
    rid=$(py "import json; print(json.load(open('$D/$m.json'))['run_id'])")
    exp=$(gyre runs show "$rid" --json | py "import json,sys; print(json.load(sys.stdin)['info']['experiment_id'])")
    for a in model.gyre xgboost.json; do
        code=$(curl -sS -o "$D/$m.$a" -w '%{http_code}' "$U/$exp/$rid/artifacts/model/$a")
        eq "$m: artifact model/$a downloads" "$code" 200
    done
    eq "$m: the artifact is the registered bundle" \
        "$(sha256sum <"$D/$m.model.gyre" | cut -d' ' -f1)" \
        "$(py "import json; print(json.load(open('$D/$m.json'))['bundle'])")"
    gyre model inspect "$D/$m.model.gyre" --compact >"$D/$m.inspect.json"
done
kill $SRV_PID 2>/dev/null
wait $SRV_PID 2>/dev/null
SRV_PID=""

# ---------------------------------------------------------------- the XGBoost oracle
# ref.py INSPECT XGB_JSON CSV MODE: MODE "rows" prints the model's raw inputs per CSV row in
# signature order (the numbers form; bools as 0/1, empty as nan); "predict"/"margins" print
# XGBoost's outputs/margins for the rows preprocessed as the bundle says, one "%.9g" line each.
cat >"$D/ref.py" <<'EOF'
import csv, json, math, sys
import numpy as np

inspect, xgb_json, rows_csv, mode = sys.argv[1:5]
b = json.load(open(inspect))
pre = b["preprocessing"]
rows = list(csv.DictReader(open(rows_csv)))

def num(v, typ):
    if v == "":
        return math.nan
    if typ == "bool":
        return 1.0 if v in ("true", "1") else 0.0
    return float(v)

if mode == "rows":
    for r in rows:
        vals = [num(r[i["name"]], i["type"]) if i["type"] != "string" else None for i in pre["inputs"]]
        print(",".join("nan" if math.isnan(v) else repr(v) for v in vals))
    sys.exit(0)

import xgboost as xgb
X = np.full((len(rows), len(pre["outputs"])), np.nan, dtype=np.float32)
for k, r in enumerate(rows):
    j = 0
    for i in pre["inputs"]:
        v = r[i["name"]]
        if i["encode"] == "passthrough":
            assert i["impute"] == "none" and "clip" not in i, i
            X[k, j] = np.float32(num(v, i["type"]))
        elif i["encode"] == "ordinal":
            assert i["impute"] == "none", i
            cats = [c["value"] for c in i["categories"]]
            if v == "":
                code = math.nan
            elif v in cats:
                code = cats.index(v)
            elif v in i["other"]:
                code = len(cats)
            else:
                code = len(cats) + 1
            X[k, j] = np.float32(code)
        else:
            sys.exit("unexpected encoding %s" % i["encode"])
        j += 1
bst = xgb.Booster(model_file=xgb_json)
out = bst.predict(xgb.DMatrix(X, missing=np.nan), output_margin=(mode == "margins"))
for v in out.reshape(len(rows), -1):
    print(",".join("%.9g" % float(np.float32(x)) for x in v))
EOF
ref() { $PY "$D/ref.py" "$D/$1.inspect.json" "$D/$1.xgboost.json" "$2" "$3"; }

# 300 training rows, then rows with missing values, an unseen and an empty category.
head -n 301 "$D/tx.csv" >"$D/rows.csv"
py "
import csv
r = list(csv.DictReader(open('$D/tx.csv')))[500:503]
r[0]['amount'] = ''; r[0]['merchant_category'] = 'no-such-category'
r[1]['card_present'] = ''; r[1]['country'] = ''; r[1]['hour'] = ''
r[2]['distance_km'] = ''; r[2]['customer_age'] = ''
w = csv.DictWriter(open('$D/rows.csv', 'a', newline=''), fieldnames=list(r[0].keys()), lineterminator='\n')
w.writerows(r)
"
nrows=303

# ---------------------------------------------------------------- numeric model
run "predict: CSV rows through gyre_predict_values" 0 sh -c "'$P' '$D/num.model.gyre' <'$D/rows.csv' >'$D/num.csv.out' 2>'$D/num.sig'"
eq "one line per row" "$(wc -l <"$D/num.csv.out" | tr -d ' ')" $nrows
run "the signature goes to stderr" 0 cat "$D/num.sig"
contains "with the model name and objective" "model num (binary:logistic)"
contains "and typed inputs" "card_present bool"
ref num "$D/rows.csv" rows >"$D/num.numbers" || not_ok "ref.py rows"
run "predict: numbers through gyre_predict" 0 sh -c "'$P' '$D/num.model.gyre' <'$D/num.numbers' >'$D/num.num.out' 2>/dev/null"
ref num "$D/rows.csv" predict >"$D/num.xgb" || not_ok "ref.py predict (num)"
eq "$nrows XGBoost predictions computed" "$(wc -l <"$D/num.xgb" | tr -d ' ')" $nrows
if cmp -s "$D/num.csv.out" "$D/num.xgb"; then ok "CSV form equals XGBoost 1.7.4 bit for bit"; else not_ok "CSV form equals XGBoost" "$(diff "$D/num.csv.out" "$D/num.xgb" | head)"; fi
if cmp -s "$D/num.num.out" "$D/num.xgb"; then ok "numbers form equals XGBoost bit for bit"; else not_ok "numbers form equals XGBoost" "$(diff "$D/num.num.out" "$D/num.xgb" | head)"; fi
run "predict --margins" 0 sh -c "'$P' '$D/num.model.gyre' --margins <'$D/num.numbers' >'$D/num.margins' 2>/dev/null"
ref num "$D/rows.csv" margins >"$D/num.xgbm" || not_ok "ref.py margins"
if cmp -s "$D/num.margins" "$D/num.xgbm"; then ok "margins equal XGBoost's output_margin bit for bit"; else not_ok "margins equal XGBoost's" "$(diff "$D/num.margins" "$D/num.xgbm" | head)"; fi
if cmp -s "$D/num.margins" "$D/num.xgb"; then not_ok "margins differ from probabilities"; else ok "margins differ from probabilities"; fi

# ---------------------------------------------------------------- category model
run "predict a model with category inputs from CSV" 0 sh -c "'$P' '$D/cat.model.gyre' <'$D/rows.csv' >'$D/cat.out' 2>'$D/cat.sig'"
run "its signature" 0 cat "$D/cat.sig"
contains "names the category input" "merchant_category string"
ref cat "$D/rows.csv" predict >"$D/cat.xgb" || not_ok "ref.py predict (cat)"
eq "$nrows predictions" "$(wc -l <"$D/cat.out" | tr -d ' ')" $nrows
if cmp -s "$D/cat.out" "$D/cat.xgb"; then ok "category model equals XGBoost bit for bit (unseen and missing included)"; else not_ok "category model equals XGBoost" "$(diff "$D/cat.out" "$D/cat.xgb" | head)"; fi
if [ "$(sort -u "$D/cat.out" | wc -l)" -gt 10 ]; then ok "predictions vary across rows"; else not_ok "predictions vary across rows"; fi

# ---------------------------------------------------------------- errors
run "numbers for a model with category inputs are refused" 1 sh -c "printf '1 2 3 4 1 5 6 7\n' | '$P' '$D/cat.model.gyre'"
contains "pointing to gyre_predict_values" "gyre_predict_values"
run "a bool column refuses 2" 1 sh -c "printf 'amount,hour,card_present,customer_age,distance_km,velocity_1h\n1,2,2,30,1.5,1\n' | '$P' '$D/num.model.gyre'"
contains "naming it" "card_present"
head -c 200 "$D/num.model.gyre" >"$D/short.gyre"
run "a truncated bundle is refused" 1 "$P" "$D/short.gyre"
contains "with a reason" "short.gyre"
run "a missing bundle is refused" 1 "$P" "$D/nope.gyre"
contains "naming the file" "nope.gyre"
run "usage" 2 "$P"

done_testing
