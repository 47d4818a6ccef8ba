#!/bin/sh
# SPDX-License-Identifier: MIT
# Crash safety: kill -9 ingests at random moments, repeatedly (GYRE_CRASH_KILLS, default 50),
# and check after every kill that the dataset is at a committed version: every surviving
# version verifies (all segment checksums, row counts), versions are consecutive, and each
# holds exactly k copies of the input file. A final ingest must still work.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
KILLS=${GYRE_CRASH_KILLS:-50}

# About 8 MB: long enough to kill in the middle of parsing, compressing or committing.
awk 'BEGIN { srand(7); print "id,x,y,cat,flag";
  for (i = 0; i < 120000; i++) printf "%d,%.6f,%.3f,c%d,%s\n", i, rand()*1000-500, rand(), int(rand()*50), (rand()<0.5?"true":"false") }' >"$D/in.csv"
ROWS=120000

rand_ms() { od -An -N2 -tu2 /dev/urandom | awk -v m="$1" '{ printf "%d", $1 % m }'; }

start=$(date +%s%N)
run "a first ingest succeeds" 0 gyre ingest d "$D/in.csv"
dur_ms=$((($(date +%s%N) - start) / 1000000))
[ "$dur_ms" -lt 20 ] && dur_ms=20
echo "# one ingest takes about $dur_ms ms; killing at random points within $((dur_ms * 5 / 4)) ms"

versions() { gyre dataset versions d --json | /usr/bin/python3 -c 'import json,sys; print(" ".join("%d:%d" % (v["version"], v["rows"]) for v in json.load(sys.stdin)))'; }

bad=0
killed_mid=0
i=0
while [ $i -lt "$KILLS" ]; do
    i=$((i + 1))
    before=$(versions)
    gyre ingest d "$D/in.csv" >/dev/null 2>&1 &
    pid=$!
    ms=$(rand_ms $((dur_ms * 5 / 4)))
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    if kill -9 $pid 2>/dev/null; then killed_mid=$((killed_mid + 1)); fi
    wait $pid 2>/dev/null
    after=$(versions)
    # The set of versions either stayed the same or gained exactly the next one.
    nb=$(echo "$before" | wc -w)
    na=$(echo "$after" | wc -w)
    if [ "$na" -ne "$nb" ] && [ "$na" -ne $((nb + 1)) ]; then
        bad=1
        not_ok "kill $i: versions went from [$before] to [$after]"
    fi
    # Every version k holds k copies of the file.
    for vr in $after; do
        v=${vr%%:*}
        r=${vr#*:}
        if [ "$r" -ne $((v * ROWS)) ]; then
            bad=1
            not_ok "kill $i: version $v has $r rows, not $((v * ROWS))"
        fi
    done
    if ! out=$(gyre dataset verify d 2>&1); then
        bad=1
        not_ok "kill $i (at $ms ms): latest version fails verification" "$out"
    fi
done
[ $bad -eq 0 ] && ok "$KILLS kills (at $killed_mid of them the ingest was still running): every check held"
run "every surviving version verifies" 0 gyre dataset verify d --all
nv=$(versions | wc -w)
eq "all versions verified" "$(printf '%s\n' "$OUT" | grep -c ': ok,')" "$nv"
run "an ingest after all the kills succeeds" 0 gyre ingest d "$D/in.csv"
contains "with the next version" "into d@$((nv + 1))"
done_testing
