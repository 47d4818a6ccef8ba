#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: datasets from the command line - create, ingest (CSV, JSON Lines, stdin),
# versions, show, head, export round trips, bad input with exact locations and nothing
# committed, schema mismatches, --skip-bad-rows, concurrent ingests, and verify.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR

cat >"$D/schema.json" <<'J'
[{"name": "id", "type": "int64"}, {"name": "amount", "type": "float64"},
 {"name": "merchant", "type": "string"}, {"name": "fraud", "type": "bool"},
 {"name": "ts", "type": "timestamp"}]
J
cat >"$D/a.csv" <<'C'
id,amount,merchant,fraud,ts
1,12.5,grocery,false,2024-01-01T00:00:00.000000Z
2,-0.25,"fuel, highway",true,2024-01-01T01:30:00.250000Z
3,,grocery,false,2024-01-02T00:00:00.000000Z
4,1e+300,"say ""hi""",,2024-01-03T00:00:00.000000Z
C
cat >"$D/b.csv" <<'C'
id,amount,merchant,fraud,ts
5,7,travel,true,2024-02-01T00:00:00.000000Z
6,0.1,,false,2024-02-02T00:00:00.000000Z
C

run "create a dataset with a schema file" 0 gyre dataset create tx --schema "$D/schema.json"
run "creating it again fails" 1 gyre dataset create tx --schema "$D/schema.json"
contains "and says it exists" 'dataset "tx" already exists'
run "ingest version 1" 0 gyre ingest tx "$D/a.csv"
contains "reports rows and version" "ingested 4 rows into tx@1"
run "ingest version 2" 0 gyre ingest tx "$D/b.csv"
contains "v2 holds both files" "(6 rows in all"
run "list versions" 0 gyre dataset versions tx
contains "version 2 listed" "       2            6"
run "export v2 as CSV" 0 sh -c "'$GYRE_BIN' dataset export tx --format csv > '$D/out.csv'"
{ cat "$D/a.csv"; tail -n +2 "$D/b.csv"; } >"$D/expect.csv"
if cmp -s "$D/expect.csv" "$D/out.csv"; then ok "CSV export equals the ingested files byte for byte"; else not_ok "CSV export equals the ingested files" "$(diff "$D/expect.csv" "$D/out.csv")"; fi
run "version 1 stays readable" 0 gyre dataset export tx@1 --format csv
eq "v1 has 4 rows" "$(printf '%s\n' "$OUT" | tail -n +2 | wc -l | tr -d ' ')" 4
run "head -n 2" 0 gyre dataset head tx -n 2
eq "head prints header and 2 rows" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 3
run "export JSON Lines" 0 sh -c "'$GYRE_BIN' dataset export tx --format jsonl > '$D/out.jsonl'"
run "ingest the JSON Lines export into a new dataset" 0 gyre ingest tx2 "$D/out.jsonl"
run "its CSV export" 0 sh -c "'$GYRE_BIN' dataset export tx2 --format csv > '$D/out2.csv'"
if cmp -s "$D/out.csv" "$D/out2.csv"; then ok "JSONL round trip keeps every value"; else not_ok "JSONL round trip" "$(diff "$D/out.csv" "$D/out2.csv")"; fi

run "show --json" 0 gyre dataset show tx --json
prof=$(printf '%s' "$OUT" | /usr/bin/python3 -c '
import json,sys
d=json.load(sys.stdin)
c={x["name"]:x for x in d["profile"]["columns"]}
a=c["amount"]
print(d["rows"], a["count"], a["nulls"], c["merchant"]["nulls"], c["fraud"]["nulls"], c["fraud"].get("true"))
')
eq "profile counts rows, values and nulls per column" "$prof" "6 5 1 1 1 2"
run "show prints a table" 0 gyre dataset show tx@1
contains "with the amount column" "amount"

# Bad input: exact locations, nothing committed.
printf 'id,amount,merchant,fraud,ts\n7,1.0,a,true,2024-01-01\n8,2.0,b,true\n' >"$D/short.csv"
run "a short row fails" 1 gyre ingest tx "$D/short.csv"
contains "naming file, line and the field count" "short.csv:3:"
contains "with the counts" "expected 5 fields, found 4"
printf 'id,amount,merchant,fraud,ts\n7,1.0,a,true,2024-01-01\n8,abc,b,true,2024-01-01\n' >"$D/num.csv"
run "a bad number fails" 1 gyre ingest tx "$D/num.csv"
contains "naming line, column and field" 'num.csv:3:3: column "amount": expected float64, found "abc"'
printf 'id,amount,merchant,fraud,ts\n7,1.0,"open,true,2024-01-01\n' >"$D/quote.csv"
run "an unterminated quote fails" 1 gyre ingest tx "$D/quote.csv"
contains "naming where the quote opened" "quote.csv:2:"
printf 'id,amount,merchant,fraud,ts\n7,1.0,caf\351,true,2024-01-01\n' >"$D/utf8.csv"
run "invalid UTF-8 fails" 1 gyre ingest tx "$D/utf8.csv"
contains "naming the byte" "utf8.csv:2:"
run "versions unchanged after failures" 0 gyre dataset versions tx --json
eq "still 2 versions" "$(printf '%s' "$OUT" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2

printf 'id,amount,merchant,fraud,ts,extra\n7,1.0,a,true,2024-01-01,x\n' >"$D/extra.csv"
run "a schema mismatch fails" 1 gyre ingest tx "$D/extra.csv"
contains "listing the unexpected column" 'unexpected column "extra"'
contains "and the dataset's columns" "id:int64, amount:float64"
printf 'id,amount,merchant,fraud,ts\n7,1.0,a,true,2024-01-01\n8,x,b,true,2024-01-01\n9,3,c,false,2024-01-01\n' >"$D/skip.csv"
run "--skip-bad-rows 1 lets one bad row through" 0 gyre ingest tx "$D/skip.csv" --skip-bad-rows 1
contains "reporting the skipped row" "skipped: "
contains "and the rows kept" "ingested 2 rows into tx@3"
printf 'id,amount,merchant,fraud,ts\n8,x,b,true,2024-01-01\n9,y,c,false,2024-01-01\n' >"$D/skip2.csv"
run "two bad rows exceed --skip-bad-rows 1" 1 gyre ingest tx "$D/skip2.csv" --skip-bad-rows 1
printf 'id,amount,merchant,fraud,ts\n1,2,%0300d,true,2024-01-01\n' 0 >"$D/long.csv"
run "a line over --max-line fails" 1 gyre ingest tx "$D/long.csv" --max-line 100
contains "saying so" "longer than 100 bytes"

# Inference from stdin (a pipe is spooled, inferred, then ingested).
run "ingest from stdin into a new dataset infers the schema" 0 sh -c "printf 'k,v,flag\nx,1,true\ny,2.5,false\n' | '$GYRE_BIN' ingest inferred -"
run "show inferred schema" 0 gyre dataset show inferred --json
eq "types inferred" "$(printf '%s' "$OUT" | /usr/bin/python3 -c 'import json,sys; print(" ".join(c["type"] for c in json.load(sys.stdin)["schema"]))')" "string float64 bool"
run "dataset create --infer-from" 0 gyre dataset create inf2 --infer-from "$D/a.csv"
contains "prints the inference report" "amount: float64"
printf '{"id": 1, "amount": 2.5, "merchant": "x", "fraud": true, "ts": "2024-01-01T00:00:00Z"}\n{"id": 2, "amount": null, "merchant": "caf\\u00e9", "fraud": false, "ts": "2024-01-01T00:00:01Z"}\n' >"$D/j.jsonl"
run "ingest JSON Lines into the typed dataset" 0 gyre ingest tx "$D/j.jsonl"
run "dataset list" 0 gyre dataset list
contains "lists tx" "tx "

# Concurrent ingests: both land (one after the other) or one says busy, retry (exit 75).
gyre ingest tx "$D/b.csv" >"$D/c1.log" 2>&1 &
p1=$!
gyre ingest tx "$D/b.csv" >"$D/c2.log" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
if { [ $r1 -eq 0 ] || [ $r1 -eq 75 ]; } && { [ $r2 -eq 0 ] || [ $r2 -eq 75 ]; }; then ok "concurrent ingests succeed or say busy"; else not_ok "concurrent ingests" "exits $r1 $r2: $(cat "$D/c1.log" "$D/c2.log")"; fi
run "every version verifies after concurrent ingests" 0 gyre dataset verify tx --all
n_ok=$(printf '%s\n' "$OUT" | grep -c ': ok,')
want=$((4 + (r1 == 0) + (r2 == 0)))
eq "versions are consecutive and complete" "$n_ok" "$want"

# Tampering with a stored segment is detected.
seg=$(find "$GYRE_HOME/objects" -type f | head -n 200 | while read -r f; do if head -c 4 "$f" | grep -q GYSG; then echo "$f"; break; fi; done)
if [ -n "$seg" ]; then
    chmod u+w "$seg"
    printf 'X' | dd of="$seg" bs=1 seek=30 conv=notrunc 2>/dev/null
    run "verify detects a tampered segment" 1 gyre dataset verify tx --all
    contains "as a checksum failure" "checksum"
else
    not_ok "found a segment to tamper with"
fi
run "unknown dataset" 3 gyre dataset show nosuch
contains "says so" 'no dataset named "nosuch"'
run "bad version reference" 1 gyre dataset show tx@zero
done_testing
