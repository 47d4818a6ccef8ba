# SPDX-License-Identifier: MIT
# Helpers for gyre's end-to-end tests: TAP-style "ok"/"not ok" lines, a fresh data home per
# script, and assertions on command output and exit codes. Sourced by tests/e2e/test_*.sh.
# Environment: GYRE_BIN (the binary), GYRE_TEST_DB (empty for SQLite, or a PostgreSQL URL).

set -u
: "${GYRE_BIN:?GYRE_BIN must point to the gyre binary}"
T_N=0
T_FAILED=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gyre-e2e.XXXXXX")
export GYRE_HOME="$T_DIR/home"
if [ -n "${GYRE_TEST_DB:-}" ]; then
    # A fresh PostgreSQL database per script, so scripts do not see each other's data.
    T_PGDB="e2e_$(basename "$0" .sh | tr -c 'a-z0-9_\n' '_')_$$"
    psql "$GYRE_TEST_DB" -qAt -c "CREATE DATABASE $T_PGDB" >/dev/null
    export GYRE_DB=$(printf '%s' "$GYRE_TEST_DB" | sed "s|/[^/]*\$|/$T_PGDB|")
else
    unset GYRE_DB
fi
t_cleanup() {
    if [ -n "${T_PGDB:-}" ]; then
        psql "$GYRE_TEST_DB" -qAt -c "DROP DATABASE IF EXISTS $T_PGDB WITH (FORCE)" >/dev/null 2>&1
    fi
    rm -rf "$T_DIR"
}
trap t_cleanup EXIT

gyre() { "$GYRE_BIN" "$@"; }

ok() {
    T_N=$((T_N + 1))
    echo "ok $T_N - $1"
}

not_ok() {
    T_N=$((T_N + 1))
    T_FAILED=$((T_FAILED + 1))
    echo "not ok $T_N - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
    return 0
}

# run DESC EXPECTED_EXIT CMD...: runs CMD, captures stdout+stderr in $OUT, checks the exit code.
run() {
    desc=$1
    want=$2
    shift 2
    OUT=$("$@" 2>&1)
    got=$?
    if [ "$got" -eq "$want" ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $got, wanted $want; output:
$OUT"
    fi
}

# contains DESC NEEDLE: the last $OUT contains NEEDLE (fixed string).
contains() {
    case "$OUT" in
    *"$2"*) ok "$1" ;;
    *) not_ok "$1" "output lacks: $2
output was:
$OUT" ;;
    esac
}

# eq DESC GOT WANT
eq() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "got:  $2
want: $3"
    fi
}

done_testing() {
    echo "1..$T_N"
    [ "$T_FAILED" -eq 0 ]
    exit $?
}
