#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end: tokens, the audit log and encryption at rest from the command line - token
# create/list/verify/revoke (format, shown once, never stored, expiry, names), the server
# secret's mode, audit records of token, dataset and admin commands, `audit verify` against
# a log tampered with through sqlite3 (edited, deleted, reordered, truncated with an anchor),
# key files (mode checks, keygen), encrypted objects (magic on disk, no plaintext, wrong or
# missing key, a flipped byte and a truncation caught), and key rotation interrupted with
# --limit and resumed.
. "$(dirname "$0")/lib.sh"
D=$T_DIR
DB=$GYRE_HOME/gyre.db
export USER=e2e-user
unset GYRE_KEY_FILE GYRE_OLD_KEY_FILE

# ------------------------------------------------------------------ tokens

T=$(gyre token create --role viewer --name ci --scope models/fraud --scope 'deployments/*' \
    --expires 12h 2>"$D/create.err")
eq "token create exits 0" "$?" 0
case $T in
gyre_*) ok "token has the gyre_ prefix" ;;
*) not_ok "token has the gyre_ prefix" "$T" ;;
esac
eq "token is 54 characters" "${#T}" 54
if printf '%s' "$T" | grep -Eq '^gyre_[0-9A-Za-z]{49}$'; then ok "token is base62 after the prefix"; else not_ok "token is base62" "$T"; fi
OUT=$(cat "$D/create.err")
contains "creation says the token is shown once" "only time the token is shown"
eq "server secret is mode 600" "$(stat -c %a "$GYRE_HOME/secret.key")" 600
eq "server secret is 32 bytes" "$(stat -c %s "$GYRE_HOME/secret.key")" 32

SECRET_PART=$(printf '%s' "$T" | cut -c6-54)
run "token list" 0 gyre token list
contains "list shows the name" "ci"
contains "list shows the scopes" "models/fraud,deployments/*"
case $OUT in
*"$SECRET_PART"*) not_ok "list never shows the token" ;;
*) ok "list never shows the token" ;;
esac
run "token list --json" 0 gyre token list --json
case $OUT in
*"$SECRET_PART"* | *gyre_*) not_ok "JSON list never shows the token" ;;
*) ok "JSON list never shows the token" ;;
esac
if grep -aq "$SECRET_PART" "$DB" "$DB-wal" 2>/dev/null; then not_ok "the data home never stores the token"; else ok "the data home never stores the token"; fi

run "verify reads the token from stdin" 0 sh -c "printf '%s\n' '$T' | '$GYRE_BIN' token verify"
contains "verify shows role and scopes" "role viewer, scopes models/fraud,deployments/*"
BAD=$(printf '%s' "$T" | sed 's/.$/0/')
[ "$BAD" = "$T" ] && BAD=$(printf '%s' "$T" | sed 's/.$/1/')
run "a token with a bad checksum is rejected" 1 sh -c "printf '%s\n' '$BAD' | '$GYRE_BIN' token verify"
contains "with the reason" "malformed token: bad checksum"
run "a truncated token is rejected" 1 sh -c "printf '%s\n' 'gyre_abc' | '$GYRE_BIN' token verify"
contains "as malformed" "malformed token"

run "a second active token of the same name is refused" 1 gyre token create --role viewer --name ci
contains "saying it exists" 'a token named "ci" already exists'
run "an unknown role is a usage error" 2 gyre token create --role root
contains "naming the roles" "data-scientist"
run "a bad scope is a usage error" 2 gyre token create --role viewer --scope widgets/x
run "a bad lifetime is a usage error" 2 gyre token create --role viewer --expires 30x

P=$(gyre token create --role predictor --name short --expires never 2>/dev/null)
sqlite3 "$DB" "UPDATE auth_tokens SET expires_us = 1 WHERE name = 'short'"
run "an expired token is rejected" 1 sh -c "printf '%s\n' '$P' | '$GYRE_BIN' token verify"
contains "as expired" "token expired"

run "revoke by name" 0 gyre token revoke ci
contains "revoke names the token" "(ci)"
run "a revoked token is rejected" 1 sh -c "printf '%s\n' '$T' | '$GYRE_BIN' token verify"
contains "as revoked" "token revoked"
run "revoking an unknown token fails" 3 gyre token revoke nobody
run "list --all shows the revoked token" 0 gyre token list --all
contains "as revoked" "revoked"
run "the name is free again" 0 gyre token create --role viewer --name ci

# ------------------------------------------------------------------ audit

printf 'id,x\n1,2.5\n2,3.5\n' >"$D/a.csv"
run "ingest (audited)" 0 gyre ingest plain "$D/a.csv"
run "audit list" 0 gyre audit list
contains "records token creation" "token.create"
contains "records revocation" "token.revoke"
contains "records ingest" "dataset.ingest"
contains "as the local user" "cli:e2e-user"
contains "names the resource" "datasets/plain"
run "audit list --action token.revoke --json" 0 gyre audit list --action token.revoke --json
contains "filters by action" '"action": "token.revoke"'
case $OUT in
*dataset.ingest*) not_ok "the filter excludes other actions" ;;
*) ok "the filter excludes other actions" ;;
esac
case $OUT in
*"$SECRET_PART"*) not_ok "the audit log never holds a token" ;;
*) ok "the audit log never holds a token" ;;
esac
run "audit list --since 1h --limit 2" 0 gyre audit list --since 1h --limit 2
eq "limit applies" "$(printf '%s\n' "$OUT" | tail -n +2 | wc -l)" 2
run "a failed command is recorded too" 3 gyre token revoke ci-missing
run "audit list --resource" 0 gyre audit list --resource tokens/ci-missing
contains "with its error" "error: no active token"

run "audit verify on an intact log" 0 gyre audit verify
contains "says intact" "audit log intact"
ANCHOR=$(printf '%s\n' "$OUT" | sed -n 's/^head: //p')
N=$(printf '%s' "$ANCHOR" | cut -d: -f1)
run "verify with the anchor" 0 gyre audit verify --anchor "$ANCHOR"

sqlite3 "$DB" ".backup '$D/intact.db'"
restore() { sqlite3 "$DB" ".restore '$D/intact.db'"; }

sqlite3 "$DB" "UPDATE audit_log SET result = 'ok' WHERE seq = 2"
run "an edited record is detected" 1 gyre audit verify
contains "at its sequence number" "record 2: content does not match its hash"
restore
sqlite3 "$DB" "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3"
run "an edited actor is detected" 1 gyre audit verify
contains "at record 3" "record 3"
restore
sqlite3 "$DB" "DELETE FROM audit_log WHERE seq = 3"
run "a deleted record is detected" 1 gyre audit verify
contains "as missing" "record 3 is missing (deleted)"
restore
sqlite3 "$DB" "UPDATE audit_log SET seq = 1000 WHERE seq = 1; UPDATE audit_log SET seq = 1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 1000"
run "reordered records are detected" 1 gyre audit verify
contains "at the first of them" "record 1"
restore
sqlite3 "$DB" "DELETE FROM audit_log WHERE seq = $N"
run "a dropped tail passes the chain alone" 0 gyre audit verify
run "but not the anchor" 1 gyre audit verify --anchor "$ANCHOR"
contains "as truncation" "truncated"
restore
run "the restored log verifies again" 0 gyre audit verify --anchor "$ANCHOR"

# ------------------------------------------------------------------ keys

run "keygen writes a key" 0 gyre admin keygen "$D/k1"
eq "the key file is mode 600" "$(stat -c %a "$D/k1")" 600
eq "it holds 64 hex digits" "$(tr -d '\n' <"$D/k1" | grep -cE '^[0-9a-f]{64}$')" 1
run "keygen never overwrites" 1 gyre admin keygen "$D/k1"
gyre admin keygen "$D/k2" >/dev/null
chmod 644 "$D/k1"
run "a world-readable key file is refused" 1 env GYRE_KEY_FILE="$D/k1" "$GYRE_BIN" dataset list
contains "saying how to fix it" "chmod 600"
contains "naming the variable" "GYRE_KEY_FILE"
chmod 600 "$D/k1"
head -c 16 /dev/urandom >"$D/short"
chmod 600 "$D/short"
run "a key file of the wrong size is refused" 1 env GYRE_KEY_FILE="$D/short" "$GYRE_BIN" dataset list
contains "saying what it expects" "expected 32 raw bytes or 64 hex digits"

# ------------------------------------------------------------------ encrypted objects

export GYRE_KEY_FILE="$D/k1"
printf 'id,card\n1,4111111111111111\n2,5500005555555559\n' >"$D/cards.csv"
run "ingest under a key" 0 gyre ingest cards "$D/cards.csv"
run "read it back" 0 gyre dataset head cards
contains "plaintext comes back" "4111111111111111"
run "the plain dataset written before still reads" 0 gyre dataset head plain
contains "with its rows" "3.5"
run "admin objects" 0 gyre admin objects --verify
contains "counts plain objects" "plain"
contains "and encrypted ones by key id" "key "
enc=0
for f in "$GYRE_HOME"/objects/*/*; do
    if [ "$(head -c 6 "$f" | tail -c 5)" = "GYENC" ]; then enc=$((enc + 1)); fi
done
if [ "$enc" -ge 2 ]; then ok "encrypted objects carry the magic ($enc)"; else not_ok "encrypted objects carry the magic" "$enc"; fi
if grep -rq "4111111111111111" "$GYRE_HOME/objects"; then not_ok "no plaintext in the object store"; else ok "no plaintext in the object store"; fi

run "without a key an encrypted object is refused" 1 env -u GYRE_KEY_FILE "$GYRE_BIN" dataset head cards
contains "saying a key is needed" "no key is configured: set GYRE_KEY_FILE"
run "with another key too" 1 env GYRE_KEY_FILE="$D/k2" "$GYRE_BIN" dataset head cards
contains "naming the rotation variable" "GYRE_OLD_KEY_FILE"

# Flip one byte near the end of every encrypted object (copies kept to restore them).
mkdir "$D/keep"
cp -a "$GYRE_HOME/objects" "$D/keep/"
for f in "$GYRE_HOME"/objects/*/*; do
    if [ "$(head -c 6 "$f" | tail -c 5)" = "GYENC" ]; then
        size=$(stat -c %s "$f")
        printf 'Z' | dd of="$f" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
    fi
done
run "a tampered object fails to read" 1 gyre dataset head cards
contains "with an integrity error" "integrity check failed (tampered or truncated)"
case $OUT in
*4111111111111111*) not_ok "and no data is shown" ;;
*) ok "and no data is shown" ;;
esac
run "admin objects --verify finds it" 1 gyre admin objects --verify
rm -rf "$GYRE_HOME/objects" && cp -a "$D/keep/objects" "$GYRE_HOME/"
for f in "$GYRE_HOME"/objects/*/*; do
    if [ "$(head -c 6 "$f" | tail -c 5)" = "GYENC" ]; then
        truncate -s -20 "$f"
    fi
done
run "a truncated object fails to read" 1 gyre dataset head cards
contains "with an integrity error" "integrity check failed"
rm -rf "$GYRE_HOME/objects" && cp -a "$D/keep/objects" "$GYRE_HOME/"
run "restored objects verify" 0 gyre admin objects --verify

# ------------------------------------------------------------------ rotation

ID2=$(gyre admin keygen "$D/k3" | sed -n 's/.*key id \([0-9a-f]*\).*/\1/p')
rm -f "$D/k3"
run "rekey interrupted after 1 object" 0 gyre admin rekey --new-key-file "$D/k2" --limit 1
contains "reports one object" "re-encrypted 1 objects"
contains "and says to run again" "run again"
run "mid-rotation both keys read everything" 0 env GYRE_KEY_FILE="$D/k2" GYRE_OLD_KEY_FILE="$D/k1" "$GYRE_BIN" admin objects --verify
run "mid-rotation the new key alone does not" 1 env GYRE_KEY_FILE="$D/k2" "$GYRE_BIN" admin objects --verify
run "rekey resumes" 0 gyre admin rekey --new-key-file "$D/k2"
contains "and finishes" "every object is under key"
export GYRE_KEY_FILE="$D/k2"
run "after rotation the new key alone reads everything" 0 gyre admin objects --verify
run "including the dataset" 0 gyre dataset head cards
contains "with its data" "5500005555555559"
run "the old key alone no longer does" 1 env GYRE_KEY_FILE="$D/k1" "$GYRE_BIN" dataset head cards
run "a second rekey has nothing to do" 0 gyre admin rekey --new-key-file "$D/k2"
contains "re-encrypting nothing" "re-encrypted 0 objects"
run "rotation is in the audit log" 0 gyre audit list --action admin.rekey
contains "as admin.rekey" "admin.rekey"
run "and the log still verifies" 0 gyre audit verify
[ -n "$ID2" ] && ok "keygen prints the key id" || not_ok "keygen prints the key id"

done_testing
