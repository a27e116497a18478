#!/bin/sh
# Runs every test program (BUILD/test_*) and every shell test (test/test_*.sh),
# each of which ends its output with "N passed, N failed", and adds them up.
# A program that dies before printing its summary counts as one failure.
# The test programs run once for each instruction set of gemm this CPU has
# (GUIDEDBP_ISA, as `guidedbp --version` lists them): the bits must not
# depend on it, so every golden must hold under each. The shell tests, which
# run the binary, once with its default.
# Usage: test/run.sh BUILD_DIR GUIDEDBP_BINARY
build=${1:-build}
GUIDEDBP=${2:-./guidedbp}
export GUIDEDBP
isas=$(GUIDEDBP_ISA= "$GUIDEDBP" --version | sed -n 's/^gemm: .* (this CPU has: \(.*\)).*/\1/p')
if [ -z "$isas" ]; then
    echo "not ok: $GUIDEDBP --version names no instruction set"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
for t in "$build"/test_* test/test_*.sh; do
    [ -f "$t" ] || continue
    case $t in *.d|*.o) continue ;; esac
    case $t in *.sh) runs=default ;; *) runs=$isas ;; esac
    for isa in $runs; do
        out=$(mktemp)
        case $t in
            *.sh) echo "== $t"; sh "$t" >"$out" 2>&1 ;;
            *) echo "== $t ($isa)"; GUIDEDBP_ISA=$isa "$t" >"$out" 2>&1 ;;
        esac
        status=$?
        cat "$out"
        summary=$(tail -n 1 "$out" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p')
        rm -f "$out"
        if [ -z "$summary" ]; then
            echo "not ok $t: exited with status $status before printing its summary"
            failed=$((failed + 1))
            continue
        fi
        # shellcheck disable=SC2086
        set -- $summary
        passed=$((passed + $1))
        failed=$((failed + $2))
        if [ "$2" -eq 0 ] && [ "$status" -ne 0 ]; then
            echo "not ok $t: exited with status $status"
            failed=$((failed + 1))
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
