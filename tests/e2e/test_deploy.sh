#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: `gyre deploy` on a data home - create a weighted deployment over registry
# references, show it with resolved versions and shares, list, update (flags not given keep
# their values), history, rollback (to the previous and to a given revision), delete, and the
# failure paths: malformed routes, unknown models and aliases, taken names, missing deployments.
# backends: sqlite postgres
. "$(dirname "$0")/lib.sh"
D=$T_DIR
py() { /usr/bin/python3 -c "$1"; }
jq_() { printf '%s' "$OUT" | py "import json,sys; d=json.load(sys.stdin); print($1)"; }
# has_line DESC ERE: some line of the last $OUT matches ERE.
has_line() {
    if printf '%s\n' "$OUT" | grep -Eq "$2"; then ok "$1"; else not_ok "$1" "no line matches: $2
output was:
$OUT"; fi
}

gyre generate transactions --rows 2000 --seed 7 >"$D/tx.csv"
run "ingest" 0 gyre ingest tx "$D/tx.csv"
run "train version 1 as champion" 0 gyre train --dataset tx --target is_fraud --rounds 3 \
    --register fraud --alias champion --quiet
run "train version 2 as challenger" 0 gyre train --dataset tx --target is_fraud --rounds 4 \
    --register fraud --alias challenger --quiet

run "deploy create with a 90/10 split, a shadow and a sticky header" 0 gyre deploy create live \
    --route fraud@champion=90 --route fraud@challenger=10 --shadow fraud@1 --sticky-header X-User \
    --reason "first canary"
contains "revision 1" "revision    1"
has_line "champion resolves to version 1 with 90%" "^  fraud@champion +version 1 +90\.0%$"
has_line "challenger resolves to version 2 with 10%" "^  fraud@challenger +version 2 +10\.0%$"
contains "the shadow is listed" "shadows:"
contains "the sticky header" "sticky      X-User"

run "deploy show --json" 0 gyre deploy show live --json
eq "JSON: routes" "$(jq_ "','.join('%s@%s=%d' % (r['model'], r['ref'], r['weight']) for r in d['spec']['routes'])")" \
    "fraud@champion=90,fraud@challenger=10"
eq "JSON: resolved versions" "$(jq_ "[r['version'] for r in d['resolved']]")" "[1, 2, 1]"
eq "JSON: reason" "$(jq_ "d['reason']")" "first canary"
eq "JSON: batching off" "$(jq_ "d['spec']['max_batch_size']")" 0

run "deploy update: new routes and batching; the shadow and sticky header stay" 0 gyre deploy \
    update live --route fraud@challenger --max-batch-size 8 --max-queue-delay-us 2000 --json
eq "revision 2" "$(jq_ "d['revision']")" 2
eq "one route now" "$(jq_ "len(d['spec']['routes'])")" 1
eq "the shadow is kept" "$(jq_ "d['spec']['shadows'][0]['ref']")" 1
eq "the sticky header is kept" "$(jq_ "d['spec']['sticky_header']")" X-User
eq "batching on with the default queue" "$(jq_ "(d['spec']['max_batch_size'], d['spec']['max_queue_size'])")" "(8, 1024)"
run "deploy update --no-shadows --no-sticky" 0 gyre deploy update live --no-shadows --no-sticky --json
eq "no shadows, no sticky header" "$(jq_ "(d['spec']['shadows'], d['spec']['sticky_header'])")" "([], None)"
run "deploy update with nothing to change is a usage error" 2 gyre deploy update live

run "a second deployment" 0 gyre deploy create b-side --route fraud@2
run "deploy list" 0 gyre deploy list
contains "lists live" "live"
contains "lists b-side with its route" "fraud@2=100"
run "deploy list --json" 0 gyre deploy list --json
eq "ordered by name" "$(jq_ "[x['name'] for x in d]")" "['b-side', 'live']"
eq "live is at revision 3" "$(jq_ "[x['revision'] for x in d if x['name'] == 'live'][0]")" 3

run "deploy rollback to the previous revision" 0 gyre deploy rollback live --json
eq "rollback is revision 4" "$(jq_ "d['revision']")" 4
eq "with revision 2's shadow back" "$(jq_ "len(d['spec']['shadows'])")" 1
eq "and its reason" "$(jq_ "d['reason']")" "rollback to revision 2"
run "deploy rollback --to 1" 0 gyre deploy rollback live --to 1 --reason "back to the start"
contains "the 90/10 split is back" "90.0%"
run "deploy history" 0 gyre deploy history live
contains "newest first with its reason" "back to the start"
run "deploy history --json" 0 gyre deploy history live --json
eq "five revisions, newest first" "$(jq_ "[h['revision'] for h in d]")" "[5, 4, 3, 2, 1]"
run "rollback to the current revision fails" 1 gyre deploy rollback live --to 5
run "rollback to a missing revision" 3 gyre deploy rollback live --to 99
contains "names it" "no revision 99"
run "rollback --to 0 is a usage error" 2 gyre deploy rollback live --to 0

# Failure paths.
run "a malformed weight" 2 gyre deploy create bad --route "fraud@champion=-3"
contains "says what" "weight"
run "a weight over the limit" 2 gyre deploy create bad --route "fraud=1000001"
run "a malformed alias" 2 gyre deploy create bad --route "fraud@no way"
run "an unknown model" 3 gyre deploy create bad --route nosuch@champion
contains "names the model" "nosuch"
run "an unknown alias" 3 gyre deploy create bad --route fraud@staging
contains "names the alias" "staging"
run "all weights zero" 1 gyre deploy create bad --route fraud=0
contains "explains" "must not all be 0"
run "no route" 2 gyre deploy create bad
run "a bad deployment name" 1 gyre deploy create "bad/name" --route fraud
run "a bad sticky header" 1 gyre deploy create bad --route fraud --sticky-header "X User"
run "a bad log sample" 2 gyre deploy create bad --route fraud --log-sample 2
run "a taken name" 1 gyre deploy create live --route fraud
contains "says so" "already exists"
run "nothing was stored for the failures" 0 gyre deploy list --json
eq "still two deployments" "$(jq_ "len(d)")" 2
run "show an unknown deployment" 3 gyre deploy show nosuch
run "update an unknown deployment" 3 gyre deploy update nosuch --route fraud

run "deploy delete" 0 gyre deploy delete live
run "it is gone" 3 gyre deploy show live
run "its history too" 3 gyre deploy history live
run "delete again" 3 gyre deploy delete live
run "the name can be used again" 0 gyre deploy create live --route fraud@champion --json
eq "from revision 1" "$(jq_ "d['revision']")" 1

done_testing
