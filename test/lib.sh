# lib.sh: the shell side of the test harness, sourced by test/test_*.sh.
# `check NAME COMMAND...` runs COMMAND; it passes when COMMAND exits 0.
# `summary` prints "N passed, N failed" (read by test/run.sh) and sets the
# exit status. $GUIDEDBP is the binary under test; $TMP a scratch directory
# removed at exit.
passed_=0
failed_=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# guidedbp caches weights digests there (provenance.h); not in the user's home.
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME
: "${GUIDEDBP:=./guidedbp}"
export GUIDEDBP

check() {
    name=$1
    shift
    if "$@"; then
        passed_=$((passed_ + 1))
        echo "ok $name"
    else
        failed_=$((failed_ + 1))
        echo "not ok $name"
    fi
}

# fail_with MESSAGE: print why a check failed and return false.
fail_with() {
    echo "  FAIL: $*"
    return 1
}

# expect STATUS PATTERN CMD...: CMD exits with STATUS and its stderr matches
# the extended regular expression PATTERN.
expect() {
    want=$1 pattern=$2
    shift 2
    "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    got=$?
    [ "$got" -eq "$want" ] || fail_with "exit $got, expected $want: $(cat "$TMP/stderr")" || return 1
    grep -Eq -- "$pattern" "$TMP/stderr" || fail_with "stderr lacks /$pattern/: $(cat "$TMP/stderr")"
}

summary() {
    echo "$passed_ passed, $failed_ failed"
    [ "$failed_" -eq 0 ]
}
