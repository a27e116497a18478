#!/bin/sh
# Batch runs end to end: folders, JSON records, resuming, interruption,
# shards, --batch, and the example scripts.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
IMG=test/fixtures/images
PY=${PYTHON:-python3}

# A tree with nested folders, a name used twice in different folders, an
# upper-case extension, two corrupt images and a file that is no image.
mkdir -p "$TMP/in/sub/deeper" "$TMP/in/bad"
cp "$IMG/cat224.png" "$TMP/in/a.png"
cp "$IMG/cat.jpg" "$TMP/in/b.jpg"
cp "$IMG/gray.png" "$TMP/in/sub/c.png"
cp "$IMG/cat.png" "$TMP/in/sub/deeper/d.png"
cp "$IMG/cat224.png" "$TMP/in/sub/E.PNG"
cp "$IMG/gray.png" "$TMP/in/sub/a.png"
head -c 2000 "$IMG/cat.png" >"$TMP/in/bad/corrupt.png"
echo "not a picture" >"$TMP/in/bad/text.jpg"
echo "notes" >"$TMP/in/notes.txt"

# json_check FILE PYTHON-EXPRESSION: every line of FILE is a JSON object and
# the expression over `recs` (the list of records) is true.
json_check() {
    "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
keys = {"input", "outputs", "status", "error", "class", "class_name", "score", "topk",
        "width", "height", "ms"}
for r in recs:
    assert keys <= set(r), "missing keys: %s" % (keys - set(r))
ok = eval(sys.argv[2])
if not ok:
    print("  FAIL: %s is false for:" % sys.argv[2])
    for r in recs: print("   ", json.dumps(r))
sys.exit(0 if ok else 1)
PYEOF
}

recursive_run() {
    "$GUIDEDBP" -w "$TINY" -r --json --npy -o "$TMP/out" "$TMP/in" >"$TMP/run1.jsonl" 2>"$TMP/err"
    [ $? -eq 1 ] || fail_with "exit status is not 1" || return 1
    (cd "$TMP/out" && find . -type f | sort) >"$TMP/files"
    printf '%s\n' ./a_guided.npy ./a_guided.png ./b_guided.npy ./b_guided.png ./sub/E_guided.npy \
        ./sub/E_guided.png ./sub/a_guided.npy ./sub/a_guided.png ./sub/c_guided.npy \
        ./sub/c_guided.png ./sub/deeper/d_guided.npy ./sub/deeper/d_guided.png >"$TMP/want"
    cmp -s "$TMP/files" "$TMP/want" || fail_with "outputs: $(cat "$TMP/files")" || return 1
    json_check "$TMP/run1.jsonl" "[r['input'] for r in recs] == sorted(r['input'] for r in recs) \
        and len(recs) == 8 \
        and [r['status'] for r in recs].count('ok') == 6 \
        and all(r['error'] is None and r['class'] == 707 and len(r['topk']) == 5 \
                and len(r['outputs']) == 2 and r['width'] > 0 for r in recs if r['status'] == 'ok') \
        and all(r['outputs'] == [] and r['class'] is None and r['input'] in r['error'] \
                for r in recs if r['status'] == 'error') \
        and {r['input'].split('/in/')[1] for r in recs if r['status'] == 'error'} \
            == {'bad/corrupt.png', 'bad/text.jpg'}" || return 1
    grep -q "corrupt.png: truncated PNG" "$TMP/err" && grep -q "text.jpg: unsupported image format" "$TMP/err" ||
        fail_with "stderr: $(cat "$TMP/err")" || return 1
    ! grep -q "$(printf '\r')" "$TMP/err" || fail_with "a progress bar on a non-terminal"
}
check "a nested folder: mirrored outputs, JSON records, errors reported, exit 1" recursive_run

top_level_only() {
    "$GUIDEDBP" -w "$TINY" --json -o "$TMP/out_flat" "$TMP/in" >"$TMP/flat.jsonl" 2>/dev/null &&
        json_check "$TMP/flat.jsonl" "[r['input'].split('/in/')[1] for r in recs] == ['a.png', 'b.jpg']"
}
check "without -r only the folder's own images" top_level_only

resume_skips_everything() {
    mkdir -p "$TMP/clean"
    cp "$TMP/in/a.png" "$TMP/in/b.jpg" "$TMP/clean/"
    "$GUIDEDBP" -q -w "$TINY" -o "$TMP/out_clean" "$TMP/clean" || return 1
    before=$(ls -l --time-style=full-iso "$TMP/out_clean")
    "$GUIDEDBP" -w "$TINY" --json --skip-existing -o "$TMP/out_clean" "$TMP/clean" >"$TMP/skip.jsonl" 2>/dev/null ||
        fail_with "rerun exit status $?" || return 1
    json_check "$TMP/skip.jsonl" "len(recs) == 2 and all(r['status'] == 'skipped' and \
        r['outputs'] for r in recs)" &&
        [ "$before" = "$(ls -l --time-style=full-iso "$TMP/out_clean")" ]
}
check "a rerun with --skip-existing skips everything and rewrites nothing" resume_skips_everything

collision_refused() {
    mkdir -p "$TMP/coll"
    cp "$IMG/cat224.png" "$TMP/coll/x.png"
    cp "$IMG/cat.jpg" "$TMP/coll/x.jpg"
    "$GUIDEDBP" -w "$TINY" -o "$TMP/out_coll" "$TMP/coll" 2>"$TMP/err"
    [ $? -eq 2 ] && grep -q "would both write" "$TMP/err" && [ ! -e "$TMP/out_coll" ] ||
        fail_with "$(cat "$TMP/err")"
}
check "two inputs mapping to one output are refused before any work" collision_refused

input_not_overwritten() {
    cp "$IMG/cat224.png" "$TMP/clean/c.png"
    "$GUIDEDBP" -w "$TINY" --name %s -o "$TMP/clean" "$TMP/clean" 2>"$TMP/err"
    [ $? -eq 2 ] && grep -q "would overwrite an input" "$TMP/err" && cmp -s "$IMG/cat224.png" "$TMP/clean/c.png" ||
        fail_with "$(cat "$TMP/err")"
}
check "an output that is an input is refused (--name %s into the input folder)" input_not_overwritten

files_from_stdin() {
    (cd "$TMP" && printf 'in/a.png\n./in/sub/c.png\n\n%s\n' "$TMP/in/sub/deeper/d.png" |
        "$OLDPWD/$GUIDEDBP" -q -w "$OLDPWD/$TINY" --files-from - -o out_list) || return 1
    (cd "$TMP/out_list" && find . -type f | sort | tr '\n' ' ') >"$TMP/files"
    [ "$(cat "$TMP/files")" = "./d_guided.png ./in/a_guided.png ./in/sub/c_guided.png " ] ||
        fail_with "$(cat "$TMP/files")"
}
check "--files-from - mirrors relative paths, absolute ones by name" files_from_stdin

shards_cover_once() {
    for i in 0 1 2; do
        "$GUIDEDBP" -w "$TINY" -r --json --shard "$i/3" -o "$TMP/out_shard" "$TMP/in" \
            >"$TMP/shard$i.jsonl" 2>/dev/null
    done
    cat "$TMP/shard0.jsonl" "$TMP/shard1.jsonl" "$TMP/shard2.jsonl" >"$TMP/shards.jsonl"
    json_check "$TMP/shards.jsonl" "sorted(r['input'] for r in recs) == \
        sorted(json.loads(l)['input'] for l in open('$TMP/run1.jsonl'))"
}
check "shards 0..2 of 3 cover every input exactly once" shards_cover_once

batch_equals_single() {
    "$GUIDEDBP" -q -w "$TINY" -r --npy --batch 4 -t 2 -o "$TMP/out_b4" "$TMP/in"
    "$GUIDEDBP" -q -w "$TINY" -r --npy --batch 1 -t 1 -o "$TMP/out_b1" "$TMP/in"
    diff -r "$TMP/out_b4" "$TMP/out_b1" >/dev/null && [ -s "$TMP/out_b4/sub/deeper/d_guided.png" ] ||
        fail_with "outputs differ"
}
check "--batch 4 on 2 threads writes the same bytes as --batch 1 on 1" batch_equals_single

progress_on_a_terminal_only() {
    command -v script >/dev/null || { echo "  (no 'script' command: skipped)"; return 0; }
    script -qec "$GUIDEDBP -w $TINY -o $TMP/out_tty $TMP/clean >/dev/null" "$TMP/tty" >/dev/null &&
        grep -q "images/s" "$TMP/tty" || fail_with "no progress bar on a terminal" || return 1
    script -qec "$GUIDEDBP -q -w $TINY -o $TMP/out_tty2 $TMP/clean" "$TMP/tty2" >/dev/null &&
        ! grep -q "images/s" "$TMP/tty2" || fail_with "a progress bar with -q"
}
check "a progress bar on a terminal, none with -q" progress_on_a_terminal_only

# png_complete FILE: ends with the IEND chunk, i.e. was not cut short.
png_complete() {
    [ "$(tail -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "49454e44ae426082" ]
}

# Full-size AlexNet is slow enough to interrupt mid-way.
mkdir -p "$TMP/many"
for i in 01 02 03 04 05 06 07 08 09 10 11 12; do cp "$IMG/cat.png" "$TMP/many/img$i.png"; done

interrupted_then_resumed() {
    sig=$1 out=$TMP/out_$1
    "$GUIDEDBP" -q -w random:0 -t 1 --npy -o "$out" "$TMP/many" 2>"$TMP/err_$sig" &
    pid=$!
    n=0
    while [ ! -e "$out/img02_guided.png" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
    kill -"$sig" $pid
    wait $pid
    status=$?
    # Done: both outputs there (a kill may fall between the PNG and the .npy).
    done_before=0
    for f in "$out"/*.png; do [ -e "${f%.png}.npy" ] && done_before=$((done_before + 1)); done
    [ "$done_before" -lt 12 ] || fail_with "the run finished before the signal" || return 1
    if [ "$sig" = TERM ]; then
        [ $status -eq 143 ] && grep -q "interrupted after" "$TMP/err_$sig" &&
            grep -q "finishing the images in flight" "$TMP/err_$sig" ||
            fail_with "status $status: $(cat "$TMP/err_$sig")" || return 1
        ! ls -a "$out" | grep -q '\.tmp\.' || fail_with "temporary files left" || return 1
    fi
    for f in "$out"/*.png; do png_complete "$f" || fail_with "$f is truncated" || return 1; done
    for f in "$out"/*.npy; do
        [ "$(wc -c <"$f")" -eq 602240 ] || fail_with "$f is truncated" || return 1
    done
    "$GUIDEDBP" -w random:0 --json --npy --skip-existing -o "$out" "$TMP/many" >"$TMP/resume.jsonl" 2>/dev/null ||
        fail_with "resume exit $?" || return 1
    json_check "$TMP/resume.jsonl" "len(recs) == 12 and \
        [r['status'] for r in recs].count('skipped') == $done_before" &&
        [ "$(ls "$out"/*.png | wc -l)" -eq 12 ]
}
check "SIGTERM mid-run: says so at once, exit 143, whole files only, a resumed run completes" \
    interrupted_then_resumed TERM
check "SIGKILL mid-run: no truncated file under a final name, resumable" interrupted_then_resumed KILL

example_scripts() {
    GUIDEDBP=$GUIDEDBP sh scripts/batch_parallel.sh "$TMP/in" "$TMP/out_par" 3 -w "$TINY" --npy
    [ $? -eq 123 ] || fail_with "xargs should report the failed images (123)" || return 1
    cat "$TMP"/out_par/results.*.jsonl >"$TMP/par.jsonl"
    json_check "$TMP/par.jsonl" "len(recs) == 8 and [r['status'] for r in recs].count('ok') == 6" ||
        return 1
    for i in 0 1 2 3; do
        SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=4 GUIDEDBP=$GUIDEDBP \
            sh scripts/batch_slurm.sh "$TMP/in" "$TMP/out_slurm" -w "$TINY"
    done
    cat "$TMP"/out_slurm/results.*.jsonl >"$TMP/slurm.jsonl"
    json_check "$TMP/slurm.jsonl" "len(recs) == 8" &&
        diff -r -x '*.jsonl' -x '*.npy' "$TMP/out_par" "$TMP/out_slurm" >/dev/null ||
        fail_with "the two examples wrote different maps"
}
check "the xargs and Slurm examples process every image once" example_scripts

summary
