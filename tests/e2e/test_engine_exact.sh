#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: gyre's engine against XGBoost 1.7.4 itself, bit for bit. tests/e2e/xgb_oracle.py
# trains random models with Debian's python3-xgboost (every objective the importer takes,
# dart, num_parallel_tree, lossguide, depth 1 to 10, base_score set) and writes each as JSON
# and UBJSON with test rows holding NaN, values exactly on split thresholds and their
# neighbours, +-1e30, +-3e38 and -0. Each model is imported with `gyre model import` (JSON to
# a file, UBJSON into the registry), predicted with `gyre model predict` (fast engine and
# reference evaluator, outputs and margins) and compared with booster.predict and
# output_margin=True on the float32 bit patterns. Also: categorical splits and bad feature
# names are refused, export writes the registered bundle, CSV errors name the problem.
. "$(dirname "$0")/lib.sh"
D=$T_DIR
ORACLE="$(dirname "$0")/xgb_oracle.py"

if ! /usr/bin/python3 -c 'import xgboost' 2>/dev/null; then
    echo "1..0 # SKIP python3-xgboost is not installed"
    exit 0
fi
run "the oracle trains its models" 0 /usr/bin/python3 "$ORACLE" gen "$D/m"

# check CASE SUFFIX...: one TAP line per compared file.
check() {
    res=$(/usr/bin/python3 "$ORACLE" check "$D/m" "$@")
    while IFS= read -r line; do
        case "$line" in
        PASS*) ok "${line#PASS }" ;;
        *) not_ok "${line#FAIL }" ;;
        esac
    done <<EOF
$res
EOF
}

ncases=0
while read -r name flags names <&3; do
    ncases=$((ncases + 1))
    extra=""
    [ "$flags" = flagnames ] && extra="--feature-names $names"
    # shellcheck disable=SC2086
    run "$name: import the JSON model into a bundle file" 0 \
        gyre model import "$D/m/$name.json" --format xgboost --out "$D/m/$name.gyre" $extra
    # shellcheck disable=SC2086
    run "$name: import the UBJSON model into the registry" 0 \
        gyre model import "$D/m/$name.ubj" --format xgboost --register "$name" $extra
    contains "$name: registered as version 1" "registered $name version 1"
    for v in "fast.out" "ref.out --engine reference" "fast.margin --margins" \
        "ref.margin --margins --engine reference"; do
        opts=""
        [ "${v#* }" != "$v" ] && opts=${v#* }
        # shellcheck disable=SC2086
        gyre model predict "$D/m/$name.gyre" --csv "$D/m/$name.csv" $opts \
            >"$D/m/$name.${v%% *}" 2>"$D/err" || cat "$D/err"
    done
    gyre model predict "$name" --csv "$D/m/$name.csv" >"$D/m/$name.ubj.out" 2>"$D/err" ||
        cat "$D/err"
    gyre model predict "$name@1" --csv "$D/m/$name.csv" --margins \
        >"$D/m/$name.ubj.margin" 2>"$D/err" || cat "$D/err"
    check "$name" fast.out ref.out fast.margin ref.margin ubj.out ubj.margin
done 3<"$D/m/cases.txt"
eq "every oracle case ran" "$ncases" 15

# Export writes the registered bundle; it predicts the same.
run "export a registered version" 0 gyre model export softprob4@1 "$D/exported.gyre"
contains "naming the version" "from softprob4 version 1"
run "predict from the exported file" 0 gyre model predict "$D/exported.gyre" \
    --csv "$D/m/softprob4.csv"
eq "the exported bundle predicts as the registered one" "$OUT" "$(cat "$D/m/softprob4.ubj.out")"
run "export of an unknown model fails" 3 gyre model export nosuch "$D/x.gyre"
if [ -e "$D/x.gyre" ]; then not_ok "no file for an unknown model"; else ok "no file for an unknown model"; fi

# Refusals.
run "a model with categorical splits is refused" 1 \
    gyre model import "$D/m/cat.json" --format xgboost --out "$D/cat.gyre"
contains "saying why" "categorical"
run "a feature-name count that does not match is refused" 1 \
    gyre model import "$D/m/stumps.json" --feature-names a,b --out "$D/s.gyre"
contains "naming both counts" "gives 2 names; the model has 3 features"
run "import needs a destination" 2 gyre model import "$D/m/stumps.json"
run "only the xgboost format" 2 \
    gyre model import "$D/m/stumps.json" --format lightgbm --out "$D/s.gyre"
printf 'not a model' >"$D/junk.json"
run "a file that is not a model is refused" 1 gyre model import "$D/junk.json" --out "$D/j.gyre"
head -c 300 "$D/m/stumps.ubj" >"$D/trunc.ubj"
run "a truncated UBJSON model is refused" 1 gyre model import "$D/trunc.ubj" --out "$D/t.gyre"
contains "with the byte offset" "byte "

# CSV errors name the file, line and column.
printf 'x1,feat 2\n1,2\n' >"$D/short.csv"
run "a CSV without an input column fails" 1 \
    gyre model predict "$D/m/stumps.gyre" --csv "$D/short.csv"
contains "naming the input" 'input "feat 0" has no column'
printf 'feat 0,x1,feat 2\n1,2,3\n1,abc,3\n' >"$D/bad.csv"
run "a non-number fails" 1 gyre model predict "$D/m/stumps.gyre" --csv "$D/bad.csv"
contains "naming line and column" 'bad.csv:3: column "x1": "abc" is not a number'
printf 'feat 0,x1,feat 2\n1,2\n' >"$D/ragged.csv"
run "a short row fails" 1 gyre model predict "$D/m/stumps.gyre" --csv "$D/ragged.csv"
contains "naming the line" "ragged.csv:2: 2 fields; the header has 3"
printf '"feat 0","x1",feat 2\r\n"1.5",,"-2"\r\n' >"$D/quoted.csv"
run "quoted fields and CRLF are read" 0 \
    gyre model predict "$D/m/stumps.gyre" --csv "$D/quoted.csv" --margins
eq "one line per row" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 1

done_testing
