#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: `gyre drift check` on dataset versions in a fresh data home. Every statistic of
# the JSON report (KS statistic and p-value on the exact and the asymptotic path, PSI,
# Wasserstein, chi-square, Jensen-Shannon, z-test, Benjamini-Hochberg, the decisions) is
# recomputed from the ingested CSVs by tests/e2e/drift_oracle.py with SciPy/NumPy and must
# agree to 1e-9 relative, with ties, constant columns, an empty window and all-missing
# columns ("not enough data", never NaN). Then the exit codes (--fail-on-drift, unknown
# dataset or feature, bad options), per-feature thresholds, --features, --json - and the HTML
# report rendered in headless Chromium (skipped when chromium is not installed).
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
HERE=$(cd "$(dirname "$0")" && pwd)
ORACLE="/usr/bin/python3 $HERE/drift_oracle.py"

if ! /usr/bin/python3 -c 'import scipy, numpy' 2>/dev/null; then
    echo "1..0 # SKIP python3-scipy is not installed"
    exit 0
fi

$ORACLE gen "$D" || { echo "Bail out! could not generate the scenarios"; exit 1; }

run "ingest the reference" 0 gyre ingest tx "$D/ref.csv"
run "ingest the current window as a second dataset" 0 gyre ingest tx_cur "$D/cur.csv"
run "ingest the same window as tx version 2" 0 gyre ingest tx "$D/cur.csv"
run "create an empty-window dataset" 0 gyre dataset create tx_empty --schema "$D/schema.json"
run "ingest an empty window" 0 gyre ingest tx_empty "$D/empty.csv"
run "ingest the large reference" 0 gyre ingest big "$D/big_ref.csv"
run "ingest the large window" 0 gyre ingest big_cur "$D/big_cur.csv"

# --- statistics against SciPy -----------------------------------------------------------------
run "drift check writes JSON and HTML" 0 gyre drift check --reference tx@1 --current tx_cur \
    --json "$D/r1.json" --html "$D/r1.html"
contains "prints the summary table" "FEATURE"
contains "names the drifted numeric feature" "num_norm"
contains "prints the dataset verdict" "dataset drift: YES"
contains "reports the all-missing column" "not enough data: the current window has no values"
OUT=$($ORACLE check "$D/ref.csv" "$D/cur.csv" "$D/r1.json" 2>&1)
case "$OUT" in
*", 0 mismatches"*) ok "every statistic equals SciPy/NumPy to 1e-9 ($(printf '%s' "$OUT" | tail -n 1))" ;;
*) not_ok "every statistic equals SciPy/NumPy to 1e-9" "$OUT" ;;
esac

# Version 2 of tx holds version 1's rows followed by the window's (an append).
run "a later version of the same dataset as the window" 0 gyre drift check -r tx@1 -c tx@2 \
    --json "$D/r2.json" --top-categories 3 -q
OUT=$($ORACLE check "$D/ref.csv" "$D/ref.csv+$D/cur.csv" "$D/r2.json" --top-categories 3 2>&1)
case "$OUT" in
*", 0 mismatches"*) ok "top-3 categories with (other) and (unseen) equal SciPy" ;;
*) not_ok "top-3 categories with (other) and (unseen) equal SciPy" "$OUT" ;;
esac

run "large windows (asymptotic KS p-value)" 0 gyre drift check -r big -c big_cur --json "$D/r3.json"
OUT=$($ORACLE check "$D/big_ref.csv" "$D/big_cur.csv" "$D/r3.json" 2>&1)
case "$OUT" in
*", 0 mismatches"*) ok "asymptotic path equals kstwo.sf(D, round(nm/(n+m)))" ;;
*) not_ok "asymptotic path equals kstwo.sf" "$OUT" ;;
esac
eq "the large window used the asymptotic method" \
    "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["features"][0]["statistics"]["ks"]["method"])' "$D/r3.json")" \
    asymptotic

run "an empty window" 0 gyre drift check -r tx@1 -c tx_empty --json "$D/r4.json"
contains "the empty window gets no verdict" "dataset drift: no - no feature could be compared"
OUT=$($ORACLE check "$D/ref.csv" "$D/empty.csv" "$D/r4.json" 2>&1)
case "$OUT" in
*", 0 mismatches"*) ok "an empty window is not enough data for every feature" ;;
*) not_ok "an empty window is not enough data for every feature" "$OUT" ;;
esac
if grep -qi 'nan' "$D/r4.json" "$D/r1.json"; then
    not_ok "no NaN anywhere in the reports" "$(grep -i nan "$D/r4.json" "$D/r1.json" | head)"
else
    ok "no NaN anywhere in the reports"
fi

# --- exit codes and options -------------------------------------------------------------------
run "--fail-on-drift exits 4 on drift" 4 gyre drift check -r tx@1 -c tx_cur --fail-on-drift -q
run "--fail-on-drift exits 0 without drift" 0 gyre drift check -r tx@1 -c tx@1 --fail-on-drift
contains "a dataset against itself does not drift" "dataset drift: no"
run "an unknown dataset exits 3" 3 gyre drift check -r nope -c tx_cur
contains "naming it" "nope"
run "an unknown version exits 3" 3 gyre drift check -r tx@9 -c tx_cur
run "an unknown feature exits 3" 3 gyre drift check -r tx -c tx_cur --features num_norm,bogus
contains "naming the feature" '"bogus"'
run "--current is required" 2 gyre drift check -r tx
run "an unknown statistic is a usage error" 2 gyre drift check -r tx -c tx_cur --threshold ks=0.1
run "alpha must be in (0,1)" 2 gyre drift check -r tx -c tx_cur --alpha 2
run "--features limits the comparison" 0 gyre drift check -r tx@1 -c tx_cur \
    --features num_const,flag --json "$D/r5.json" -q
OUT=$($ORACLE check "$D/ref.csv" "$D/cur.csv" "$D/r5.json" --features num_const,flag 2>&1)
case "$OUT" in
*", 0 mismatches"*) ok "--features report equals SciPy" ;;
*) not_ok "--features report equals SciPy" "$OUT" ;;
esac
run "--json - prints the report" 0 gyre drift check -r tx@1 -c tx_cur --json - \
    --threshold num_norm:wasserstein_norm=100,jensenshannon=0.5
dec=$(printf '%s' "$OUT" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
f = {x["feature"]: x for x in r["features"]}
print(f["num_norm"]["decision"]["threshold"], f["num_ties"]["decision"]["threshold"],
      f["cat"]["decision"]["threshold"], f["num_norm"]["drift"])')
eq "a per-feature threshold overrides only that feature" "$dec" "100.0 0.1 0.5 False"

# --- HTML in a real browser -------------------------------------------------------------------
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
    echo "ok $((T_N + 1)) # SKIP chromium is not installed (Debian package chromium)"
    T_N=$((T_N + 1))
else
    dom=$(timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-extensions \
        --user-data-dir="$D/chrome" --dump-dom "file://$D/r1.html" 2>"$D/chrome.err")
    rc=$?
    if [ $rc -ne 0 ]; then
        not_ok "chromium renders the HTML report" "exit $rc: $(tail -n 5 "$D/chrome.err")"
    else
        body=$(printf '%s' "$dom" | grep -o '<body[^>]*>' | head -n 1)
        want_ok=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(f["status"]=="ok" for f in r["features"]), r["dataset"]["drifted"])' "$D/r1.json")
        eq "the page ran its script and drew one SVG histogram per compared feature, and marked the drifted rows" \
            "$body" "<body data-rendered=\"${want_ok% *}\" data-drifted=\"${want_ok#* }\">"
        case "$body" in
        *data-error*) not_ok "no script error on the page" "$body" ;;
        *) ok "no script error on the page" ;;
        esac
        drifted=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(f["feature"] for f in r["features"] if f["drift"]))' "$D/r1.json")
        missing=""
        for f in $drifted; do
            printf '%s' "$dom" | grep -q "<tr class=\"drift\" data-feature=\"$f\"" || missing="$missing $f"
        done
        eq "the summary table marks every drifted feature ($drifted)" "$missing" ""
        case "$dom" in
        *"Drift detected"*) ok "the verdict says drift" ;;
        *) not_ok "the verdict says drift" "$body" ;;
        esac
    fi
fi
if grep -Eq '(src|href)="(https?:)?//|@import|url\(' "$D/r1.html"; then
    not_ok "the HTML loads nothing from outside" "$(grep -Eo '(src|href)="[^"]*"' "$D/r1.html" | head)"
else
    ok "the HTML loads nothing from outside"
fi

done_testing
