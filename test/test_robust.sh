#!/bin/sh
# Hostile use, round 2 (the command line and the file system): nothing a run
# reads is overwritten, a weights file truncated under a run is a message
# and not a signal death, --files-from is bounded, names of any length and
# bytes are handled, and a long method hears SIGTERM.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
CAT=test/fixtures/images/cat.png
PY=${PYTHON:-python3}

protected_reads() {
    cp "$TINY" "$TMP/w.safetensors"
    cp "$CAT" "$TMP/photo.png"
    printf '%s\n' "$TMP/photo.png" >"$TMP/list.png" # a list named like an output
    expect 2 "w.safetensors: the output would overwrite .*w.safetensors, which this run reads" \
        "$GUIDEDBP" -w "$TMP/w.safetensors" -o "$TMP/w.safetensors" "$TMP/photo.png" || return 1
    ln -s w.safetensors "$TMP/alias.png"
    expect 2 "which this run reads" \
        "$GUIDEDBP" -w "$TMP/w.safetensors" -o "$TMP/alias.png" "$TMP/photo.png" || return 1
    expect 2 "--strip .*photo.png: the output would overwrite an input" "$GUIDEDBP" \
        -w "$TMP/w.safetensors" --check class --strip "$TMP/photo.png" -o "$TMP/o.png" \
        "$TMP/photo.png" || return 1
    expect 2 "both --strip and an image's output" "$GUIDEDBP" -w "$TMP/w.safetensors" \
        --check class --strip "$TMP/o.png" -o "$TMP/o.png" "$TMP/photo.png" || return 1
    expect 2 "--report .*photo.png: the output would overwrite an input" "$GUIDEDBP" \
        -w "$TMP/w.safetensors" --report "$TMP/photo.png" -o "$TMP/o.png" "$TMP/photo.png" || return 1
    expect 2 "--report .*o.png: both --report and an image's output" "$GUIDEDBP" \
        -w "$TMP/w.safetensors" --report "$TMP/o.png" -o "$TMP/o.png" "$TMP/photo.png" || return 1
    expect 2 "--report .*s.png: also --strip's output" "$GUIDEDBP" -w "$TMP/w.safetensors" \
        --check class --strip "$TMP/s.png" --report "$TMP/s.png" -o "$TMP/o.png" \
        "$TMP/photo.png" || return 1
    expect 2 "w.safetensors: the output would overwrite .*w.safetensors, which this run reads" \
        "$GUIDEDBP" -w "$TMP/w.safetensors" --report "$TMP/w.safetensors" -o "$TMP/o.png" \
        "$TMP/photo.png" || return 1
    expect 2 "list.png, which this run reads" "$GUIDEDBP" -w "$TMP/w.safetensors" \
        --files-from "$TMP/list.png" --name list -o "$TMP/" || return 1
    cmp -s "$TINY" "$TMP/w.safetensors" && cmp -s "$CAT" "$TMP/photo.png" ||
        fail_with "a file the run reads was changed"
}
check "-o, --strip, --report and outputs never replace the weights, an input or the --files-from list" \
    protected_reads

weights_truncated() {
    mkdir -p "$TMP/many"
    for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16; do cp "$CAT" "$TMP/many/$i.png"; done
    cp "$TINY" "$TMP/wt.safetensors"
    "$GUIDEDBP" -q -w "$TMP/wt.safetensors" -t 1 --smooth 6 -o "$TMP/wout" "$TMP/many" \
        2>"$TMP/bus.err" &
    pid=$!
    n=0
    while [ ! -e "$TMP/wout/01_guided.png" ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n + 1)); done
    : >"$TMP/wt.safetensors"
    wait $pid
    status=$?
    [ $status -eq 3 ] || fail_with "exit $status, expected 3: $(cat "$TMP/bus.err")" || return 1
    grep -q "the weights file changed or was truncated while in use" "$TMP/bus.err" ||
        fail_with "$(cat "$TMP/bus.err")" || return 1
    [ "$(ls "$TMP/wout" | wc -l)" -lt 16 ] || fail_with "the run finished before the truncation" ||
        return 1
    for f in "$TMP"/wout/*.png; do
        [ "$(tail -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "49454e44ae426082" ] ||
            fail_with "$f is truncated" || return 1
    done
}
check "weights truncated under a running batch: a message and exit 3, no signal death" \
    weights_truncated

bounded_lists() {
    expect 2 "line 1 has a NUL byte" "$GUIDEDBP" -w "$TINY" --files-from /dev/zero -o "$TMP/z" ||
        return 1
    expect 2 "entry 1 is empty" "$GUIDEDBP" -w "$TINY" --files-from /dev/zero -0 -o "$TMP/z" ||
        return 1
    head -c 5000 /dev/zero | tr '\0' a >"$TMP/long.txt"
    expect 2 "line 1 is longer than 4096 bytes" "$GUIDEDBP" -w "$TINY" --files-from "$TMP/long.txt" \
        -o "$TMP/z"
}
check "--files-from: /dev/zero and a path past PATH_MAX are refused at once" bounded_lists

long_names() {
    mkdir -p "$TMP/long"
    # 245 bytes with the suffix: the longest name that fits; 260: too long.
    fits=$(printf '%0238d' 0)
    over=$(printf '%0260d' 0)
    cp "$CAT" "$TMP/long/$fits.png"
    cp "$CAT" "$TMP/long/b.png"
    "$GUIDEDBP" -q -w "$TINY" --name "%s_%m" -o "$TMP/lout" "$TMP/long" || return 1
    [ -f "$TMP/lout/${fits}_guided.png" ] || fail_with "the 245-byte name was not written" ||
        return 1
    # A template that makes one name too long fails that image, not the run.
    "$GUIDEDBP" -w "$TINY" --name "%s_${over}" -o "$TMP/lout2" "$TMP/long/b.png" \
        "$TMP/long/$fits.png" >/dev/null 2>"$TMP/long.err"
    status=$?
    [ $status -eq 1 ] || fail_with "exit $status, expected 1: $(cat "$TMP/long.err")" || return 1
    grep -q "File name too long" "$TMP/long.err" || fail_with "$(cat "$TMP/long.err")"
}
check "names up to NAME_MAX are written; a longer one fails its image alone (exit 1)" long_names

strange_names() {
    mkdir -p "$TMP/odd"
    nl=$(printf 'a\nb')
    esc=$(printf 'c\033[2Jd')
    bad=$(printf 'e\377f')
    for n in "$nl" "$esc" "$bad"; do cp "$CAT" "$TMP/odd/$n.png"; done
    "$GUIDEDBP" -w "$TINY" -o "$TMP/oout" "$TMP/odd" >"$TMP/odd.out" 2>"$TMP/odd.err" ||
        fail_with "exit $?" || return 1
    [ "$(wc -l <"$TMP/odd.out")" -eq 3 ] || fail_with "$(cat "$TMP/odd.out")" || return 1
    ! grep -q "$(printf '\033')" "$TMP/odd.out" "$TMP/odd.err" || fail_with "a raw ESC" || return 1
    grep -q 'a\\x0ab.png' "$TMP/odd.out" || fail_with "$(cat "$TMP/odd.out")" || return 1
    "$GUIDEDBP" -w "$TINY" --json -o "$TMP/oout" "$TMP/odd" >"$TMP/odd.jsonl" 2>/dev/null || return 1
    "$PY" - "$TMP/odd.jsonl" "$TMP/odd" <<'PYEOF'
import json, os, sys
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8")  # valid UTF-8, whatever the names
recs = [json.loads(l) for l in raw.decode().splitlines()]
got = sorted(os.path.basename(r["input"].encode("utf-8", "surrogateescape")) for r in recs)
want = sorted(os.listdir(os.fsencode(sys.argv[2])))
assert got == want, (got, want)
assert all(os.path.exists(r["outputs"][0].encode("utf-8", "surrogateescape")) for r in recs)
PYEOF
}
check "newlines, ESC and invalid UTF-8 in names: escaped for people, valid UTF-8 JSON that gives the bytes back" \
    strange_names

# The passes run 8 at a time (PIPELINE_PASS_BATCH), so the signal is heard
# within 8 passes: the tiny model's, which even the sanitizer build runs in
# well under a second, in a run far too long to end by itself.
long_method_stops() {
    "$GUIDEDBP" -q -w "$TINY" -t 1 --smooth 10000 -o "$TMP/long.png" "$CAT" 2>"$TMP/stop.err" &
    pid=$!
    sleep 2
    start=$(date +%s)
    kill -TERM $pid
    wait $pid
    status=$?
    took=$(($(date +%s) - start))
    [ $status -eq 143 ] && [ $took -le 10 ] && [ ! -e "$TMP/long.png" ] ||
        fail_with "exit $status after $took s: $(cat "$TMP/stop.err")" || return 1
    grep -q "interrupted before its map was made" "$TMP/stop.err" || fail_with "$(cat "$TMP/stop.err")"
}
check "SIGTERM during --smooth 10000 stops at the next passes (exit 143, no output)" long_method_stops

# A kill -9 can leave a temporary; a resume removes those of dead processes
# of this host, and only those (a live one, or another machine's on a
# shared directory, may still be writing).
stale_temporaries() {
    mkdir -p "$TMP/stale"
    "$GUIDEDBP" -q -w "$TINY" -o "$TMP/stale/" "$CAT" || return 1
    host=$(hostname | tr './' '__' | cut -c1-64)
    sh -c 'exit 0' &
    dead=$!
    wait $dead
    : >"$TMP/stale/.guidedbp.tmp.$host.$dead.aB3dE9"
    : >"$TMP/stale/.guidedbp.tmp.$host.$$.xY7zQ1"
    : >"$TMP/stale/.guidedbp.tmp.elsewhere.$dead.mN0pQ2"
    "$GUIDEDBP" -w "$TINY" --skip-existing -o "$TMP/stale/" "$CAT" >/dev/null 2>"$TMP/stale.err" ||
        return 1
    grep -q "removed 1 temporary file that killed runs left" "$TMP/stale.err" ||
        fail_with "$(cat "$TMP/stale.err")" || return 1
    [ ! -e "$TMP/stale/.guidedbp.tmp.$host.$dead.aB3dE9" ] &&
        [ -e "$TMP/stale/.guidedbp.tmp.$host.$$.xY7zQ1" ] &&
        [ -e "$TMP/stale/.guidedbp.tmp.elsewhere.$dead.mN0pQ2" ] ||
        fail_with "removed the wrong ones: $(ls -a "$TMP/stale")"
}
check "a resume removes the temporaries of dead processes of this host, only those" \
    stale_temporaries

summary
