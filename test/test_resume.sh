#!/bin/sh
# Batch runs that never give a silently wrong answer: output names that
# cannot collide across methods, PNGs and records that say what they are,
# --skip-existing that keeps only what these settings made from these
# files, resumed scripts that keep every record, NUL-separated lists and
# --base.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
IMG=test/fixtures/images
PY=${PYTHON:-python3}

mkdir -p "$TMP/photos/sub"
cp "$IMG/cat224.png" "$TMP/photos/a.png"
cp "$IMG/cat.jpg" "$TMP/photos/b.jpg"
cp "$IMG/gray.png" "$TMP/photos/sub/c.png"

# py EXPRESSION FILE...: the Python expression is true; `recs` holds the
# JSON Lines records of the files, `texts(png)` a PNG's text chunks (read
# with the standard library, not with guidedbp).
py() {
    "$PY" - "$@" <<'PYEOF'
import hashlib, json, struct, sys
def texts(path):
    data, out, at = open(path, "rb").read(), {}, 8
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if kind == b"iTXt":
            key, rest = body.split(b"\0", 1)
            out[key.decode()] = rest[2:].split(b"\0", 2)[2].decode()
        at += 12 + n
    return out
def sha(path): return hashlib.sha256(open(path, "rb").read()).hexdigest()
recs = [json.loads(l) for f in sys.argv[2:] for l in open(f) if f.endswith(".jsonl")]
ok = eval(sys.argv[1])
if not ok:
    print("  FAIL: %s is false" % sys.argv[1])
    for r in recs: print("   ", json.dumps(r)[:600])
sys.exit(0 if ok else 1)
PYEOF
}

names() {
    "$GUIDEDBP" -q -w "$TINY" -r -o "$TMP/n1" "$TMP/photos" &&
        "$GUIDEDBP" -q -w "$TINY" -r -m gradcam -o "$TMP/n1" "$TMP/photos" &&
        "$GUIDEDBP" -q -w "$TINY" -r --style gray -o "$TMP/n1" "$TMP/photos" || return 1
    (cd "$TMP/n1" && find . -type f | sort | tr '\n' ' ') >"$TMP/names"
    [ "$(cat "$TMP/names")" = "./a_gradcam.png ./a_guided.png ./a_guided_gray.png ./b_gradcam.png \
./b_guided.png ./b_guided_gray.png ./sub/c_gradcam.png ./sub/c_guided.png ./sub/c_guided_gray.png " ] ||
        fail_with "$(cat "$TMP/names")" || return 1
    # One image: the same rule, in the current directory.
    root=$(pwd)
    case $GUIDEDBP in /*) bin=$GUIDEDBP ;; *) bin=$root/$GUIDEDBP ;; esac
    mkdir -p "$TMP/here"
    (cd "$TMP/here" && "$bin" -q -w "$root/$TINY" -m gradcam "$TMP/photos/a.png") &&
        [ -f "$TMP/here/a_gradcam.png" ] || fail_with "single mode: $(ls "$TMP/here")" || return 1
    cmp -s "$TMP/here/a_gradcam.png" "$TMP/n1/a_gradcam.png" || fail_with "single and batch differ"
}
check "names: <name>_<method>[_<style>] in batch and single mode; methods never overwrite" names

templates() {
    "$GUIDEDBP" -q -w "$TINY" -c 281 --name '%s-%m-%y-c%c-%%' -o "$TMP/t/" "$TMP/photos/a.png" &&
        [ -f "$TMP/t/a-guided-color-c281-%.png" ] || fail_with "$(ls "$TMP/t")" || return 1
    "$GUIDEDBP" -w "$TINY" --name '%s_%q' "$TMP/photos/a.png" 2>"$TMP/tpl.err"
    [ $? -eq 2 ] && grep -q -- "--name %s_%q: %q is not a field" "$TMP/tpl.err" ||
        fail_with "$(cat "$TMP/tpl.err")" || return 1
    "$GUIDEDBP" -w "$TINY" --name 'x/%s' "$TMP/photos/a.png" 2>"$TMP/tpl.err"
    [ $? -eq 2 ] && grep -q "without '/'" "$TMP/tpl.err" || fail_with "$(cat "$TMP/tpl.err")" ||
        return 1
    # A template without %s names every image alike: refused before any work.
    "$GUIDEDBP" -w "$TINY" --name 'same' -r -o "$TMP/t2" "$TMP/photos" 2>"$TMP/tpl.err"
    [ $? -eq 2 ] && grep -q "would both write" "$TMP/tpl.err" && [ ! -e "$TMP/t2" ] ||
        fail_with "$(cat "$TMP/tpl.err")"
}
check "--name templates: fields, % escapes, refused fields, '/' and collisions" templates

provenance() {
    "$GUIDEDBP" -q -w "$TINY" -c 281 -m guided --smooth 2 --noise 0.1 --seed 9 --json \
        -o "$TMP/p1.png" "$TMP/photos/b.jpg" >"$TMP/p1.jsonl" || return 1
    py "(lambda t, s, r: t['Software'].startswith('guidedbp ') and \
        s['guidedbp'] == t['Software'].split()[1] and \
        s['weights'] == {'name': 'tiny.safetensors', 'sha256': sha('$TINY'), 'arch': 'alexnet'} and \
        s['method'] == 'guided' and s['guide'] == 'features' and \
        s['target'] == {'kind': 'class', 'class': 281} and \
        s['smooth'] == {'n': 2, 'noise': 0.1, 'seed': 9} and s['style'] == 'color' and \
        s['crop'] == 'center' and s['full_size'] is False and \
        t['guidedbp:input-sha256'] == sha('$TMP/photos/b.jpg') and \
        r['class'] == 281 and r['class_name'] == 'tabby' and 0 < r['probability'] < 1 and \
        len(r['topk']) == 5 and r['width'] == 451 and \
        all(recs[0][k] == v for k, v in r.items()) and recs[0]['settings'] == s)( \
        texts('$TMP/p1.png'), json.loads(texts('$TMP/p1.png')['guidedbp:settings']), \
        json.loads(texts('$TMP/p1.png')['guidedbp:results']))" "$TMP/p1.jsonl" || return 1
    "$GUIDEDBP" -q -w "$TINY" -m integrated --steps 3 --baseline zero -o "$TMP/p2.png" \
        "$TMP/photos/a.png" || return 1
    py "(lambda s: s['method'] == 'integrated' and s['steps'] == 3 and s['baseline'] == 'zero' \
        and 'guide' not in s and s['target'] == {'kind': 'predicted'})( \
        json.loads(texts('$TMP/p2.png')['guidedbp:settings']))"
}
check "each PNG carries its settings, input digest and results; the record the same fields" \
    provenance

channel_target() {
    "$GUIDEDBP" -w "$TINY" --layer features.10 --channel 3 --json -o "$TMP/ch.png" \
        "$TMP/photos/a.png" >"$TMP/ch.jsonl" 2>/dev/null || return 1
    py "recs[0]['settings']['target'] == {'kind': 'channel', 'layer': 'features.10', 'channel': 3} \
        and recs[0]['class'] is None and recs[0]['score'] is None and len(recs[0]['topk']) == 5" \
        "$TMP/ch.jsonl" || return 1
    "$GUIDEDBP" -w "$TINY" --layer features.10 --channel 3 -o "$TMP/ch.png" "$TMP/photos/a.png" \
        >"$TMP/ch.txt" 2>&1 && grep -q "^target: channel 3 of features.10 (the sum of its activations)" \
        "$TMP/ch.txt" && ! grep -q "^target: [0-9]" "$TMP/ch.txt" ||
        fail_with "$(cat "$TMP/ch.txt")" || return 1
    "$GUIDEDBP" -w "$TINY" --layer features.10 --channel 3 -c 281 "$TMP/photos/a.png" 2>"$TMP/ch.err"
    [ $? -eq 2 ] && grep -q "with --channel the target is the channel" "$TMP/ch.err" ||
        fail_with "$(cat "$TMP/ch.err")"
}
check "a channel target is reported as the channel, never as a class; -c with it is refused" \
    channel_target

# The issue's case: guided maps, then Grad-CAM with --skip-existing.
mixed_methods() {
    "$GUIDEDBP" -q -w "$TINY" -r -o "$TMP/m" "$TMP/photos" || return 1
    "$GUIDEDBP" -w "$TINY" -r -m gradcam --skip-existing --json -o "$TMP/m" "$TMP/photos" \
        >"$TMP/m1.jsonl" 2>"$TMP/m1.err" || return 1
    py "len(recs) == 3 and all(r['status'] == 'ok' and r['outputs'][0].endswith('_gradcam.png') \
        for r in recs)" "$TMP/m1.jsonl" || return 1
    grep -q "3 done, 0 skipped, 0 failed" "$TMP/m1.err" || fail_with "$(cat "$TMP/m1.err")" ||
        return 1
    "$GUIDEDBP" -w "$TINY" -r -m gradcam --skip-existing --json -o "$TMP/m" "$TMP/photos" \
        >"$TMP/m2.jsonl" 2>/dev/null || return 1
    # Skipped records carry what the PNGs store: the same results as the run that made them.
    py "[r['status'] for r in recs[3:]] == ['skipped'] * 3 and all( \
        {k: v for k, v in a.items() if k not in ('status', 'ms')} == \
        {k: v for k, v in b.items() if k not in ('status', 'ms')} for a, b in zip(recs, recs[3:]))" \
        "$TMP/m1.jsonl" "$TMP/m2.jsonl"
}
check "guided then gradcam --skip-existing makes the cams; a rerun skips them with full records" \
    mixed_methods

# The weights' SHA-256 is cached by file identity, and a changed file is
# hashed again: its maps are then redone.
digest_cache() {
    cp "$TINY" "$TMP/w.safetensors"
    "$GUIDEDBP" -q -w "$TMP/w.safetensors" -o "$TMP/d.png" "$TMP/photos/a.png" || return 1
    grep -q "^$(sha256sum "$TMP/w.safetensors" | cut -c1-64) .* $TMP/w.safetensors\$" \
        "$XDG_CACHE_HOME/guidedbp/weights.sha256" ||
        fail_with "cache: $(cat "$XDG_CACHE_HOME/guidedbp/weights.sha256")" || return 1
    # One byte of the last tensor changed, the file rewritten (a new mtime).
    size=$(wc -c <"$TMP/w.safetensors")
    printf '\001' | dd of="$TMP/w.safetensors" bs=1 seek=$((size - 2)) conv=notrunc 2>/dev/null
    touch -d '+1 second' "$TMP/w.safetensors"
    "$GUIDEDBP" -w "$TMP/w.safetensors" --skip-existing --json -o "$TMP/d.png" \
        "$TMP/photos/a.png" >"$TMP/d.jsonl" 2>/dev/null || return 1
    py "recs[0]['status'] == 'ok' and 'weights ' in recs[0]['redone'] and \
        recs[0]['settings']['weights']['sha256'] == sha('$TMP/w.safetensors')" "$TMP/d.jsonl"
}
check "the weights digest is cached by file identity and recomputed for a changed file" \
    digest_cache

# Each change that alters a map is noticed, and the record says which.
changed_settings() {
    "$GUIDEDBP" -q -w "$TINY" -c 281 -o "$TMP/s.png" "$TMP/photos/a.png" || return 1
    for change in "-c 282:target" "--guide all:guide" "-w random:0:weights" \
        "--style pos:style" "--full-size:full_size"; do
        opts=${change%:*} key=${change##*:}
        case $opts in -w*) w= ;; *) w="-w $TINY" ;; esac
        [ "$opts" = "-c 282" ] || opts="-c 281 $opts"
        # shellcheck disable=SC2086
        "$GUIDEDBP" $w $opts --skip-existing --json -o "$TMP/s.png" "$TMP/photos/a.png" \
            >"$TMP/s.jsonl" 2>"$TMP/s.err" || fail_with "$change: exit $?" || return 1
        py "recs[0]['status'] == 'ok' and recs[0]['redone'].startswith( \
            'the existing output was made with other settings: ') and \
            '$key ' in recs[0]['redone']" "$TMP/s.jsonl" || fail_with "$change" || return 1
        grep -q "redoing $TMP/s.png: the existing output was made with other settings" \
            "$TMP/s.err" || fail_with "$change: $(cat "$TMP/s.err")" || return 1
        # Back to the first settings for the next change.
        "$GUIDEDBP" -q -w "$TINY" -c 281 -o "$TMP/s.png" "$TMP/photos/a.png" || return 1
    done
    # The photo replaced under the same name.
    cp "$IMG/gray.png" "$TMP/a_copy.png"
    "$GUIDEDBP" -q -w "$TINY" -c 281 -o "$TMP/s2.png" "$TMP/a_copy.png" || return 1
    cp "$IMG/cat224.png" "$TMP/a_copy.png"
    "$GUIDEDBP" -w "$TINY" -c 281 --skip-existing --json -o "$TMP/s2.png" "$TMP/a_copy.png" \
        >"$TMP/s2.jsonl" 2>/dev/null &&
        py "recs[0]['status'] == 'ok' and 'another input file' in recs[0]['redone']" \
            "$TMP/s2.jsonl" || return 1
    # A PNG that guidedbp did not make.
    cp "$IMG/cat224.png" "$TMP/foreign.png"
    "$GUIDEDBP" -w "$TINY" --skip-existing --json -o "$TMP/foreign.png" "$TMP/photos/a.png" \
        >"$TMP/s3.jsonl" 2>/dev/null &&
        py "recs[0]['status'] == 'ok' and 'does not say how it was made' in recs[0]['redone']" \
            "$TMP/s3.jsonl"
}
check "--skip-existing redoes an output of another class, guide, weights, style, size or photo" \
    changed_settings

npy_needed() {
    "$GUIDEDBP" -q -w "$TINY" -o "$TMP/np.png" "$TMP/photos/a.png" || return 1
    "$GUIDEDBP" -w "$TINY" --npy --skip-existing --json -o "$TMP/np.png" "$TMP/photos/a.png" \
        >"$TMP/np.jsonl" 2>/dev/null && [ -f "$TMP/np.npy" ] &&
        py "recs[0]['status'] == 'ok' and '.npy is missing' in recs[0]['redone']" "$TMP/np.jsonl"
}
check "--skip-existing --npy redoes an image whose .npy is missing" npy_needed

null_lists() {
    (cd "$TMP" && find photos -type f -print0 | sort -z) >"$TMP/list0"
    "$GUIDEDBP" -w "$TINY" --files-from "$TMP/list0" -o "$TMP/z" 2>"$TMP/z.err"
    [ $? -eq 2 ] && grep -q "line 1 has a NUL byte (a list from find -print0 needs -0)" \
        "$TMP/z.err" && [ ! -e "$TMP/z" ] || fail_with "$(cat "$TMP/z.err")" || return 1
    (cd "$TMP" && find photos -type f -print0 |
        "$OLDPWD/$GUIDEDBP" -q -w "$OLDPWD/$TINY" --files-from - -0 -o z) || return 1
    (cd "$TMP/z" && find . -type f | sort | tr '\n' ' ') >"$TMP/zf"
    [ "$(cat "$TMP/zf")" = "./photos/a_guided.png ./photos/b_guided.png ./photos/sub/c_guided.png " ] ||
        fail_with "$(cat "$TMP/zf")" || return 1
    "$GUIDEDBP" -w "$TINY" -0 "$TMP/photos/a.png" 2>"$TMP/z.err"
    [ $? -eq 2 ] && grep -q -- "-0/--null needs --files-from" "$TMP/z.err"
}
check "--files-from: a NUL-separated list needs -0 (refused without), every path taken with it" \
    null_lists

base_dir() {
    mkdir -p "$TMP/data/x" "$TMP/data/y"
    cp "$IMG/cat224.png" "$TMP/data/x/astronaut.png"
    cp "$IMG/gray.png" "$TMP/data/y/astronaut.png"
    printf '%s\n' "$TMP/data/x/astronaut.png" "$TMP/data/y/astronaut.png" >"$TMP/abs.txt"
    "$GUIDEDBP" -w "$TINY" --files-from "$TMP/abs.txt" -o "$TMP/b0" 2>"$TMP/b.err"
    [ $? -eq 2 ] && grep -q "would both write" "$TMP/b.err" || fail_with "$(cat "$TMP/b.err")" ||
        return 1
    "$GUIDEDBP" -q -w "$TINY" --files-from "$TMP/abs.txt" --base "$TMP/data/" -o "$TMP/b1" ||
        return 1
    [ -f "$TMP/b1/x/astronaut_guided.png" ] && [ -f "$TMP/b1/y/astronaut_guided.png" ] ||
        fail_with "$(cd "$TMP/b1" && find . -type f)" || return 1
    "$GUIDEDBP" -w "$TINY" --files-from "$TMP/abs.txt" --base "$TMP/data/x" -o "$TMP/b2" \
        2>"$TMP/b.err"
    [ $? -eq 2 ] && grep -q "y/astronaut.png: not under --base $TMP/data/x" "$TMP/b.err" ||
        fail_with "$(cat "$TMP/b.err")"
}
check "--base DIR keeps absolute paths' folders below DIR; a path outside is refused" base_dir

# batch_parallel.sh resumed: every record of both attempts is kept, and the
# README's merge line gives one complete record per input, in input order.
parallel_resume() {
    command -v jq >/dev/null || fail_with "jq is missing (README's merge line uses it)" || return 1
    GUIDEDBP=$GUIDEDBP sh scripts/batch_parallel.sh "$TMP/photos" "$TMP/par" 2 -w "$TINY" ||
        return 1
    GUIDEDBP=$GUIDEDBP sh scripts/batch_parallel.sh "$TMP/photos" "$TMP/par" 2 -w "$TINY" ||
        return 1
    # A torn last record (a kill -9 mid-line): the next attempt starts a new line.
    printf '{"input":"torn' >>"$TMP/par/results.1.jsonl"
    GUIDEDBP=$GUIDEDBP sh scripts/batch_parallel.sh "$TMP/photos" "$TMP/par" 2 -w "$TINY" ||
        return 1
    jq -cnR '[inputs | fromjson?] | group_by(.index) | map(.[-1]) | .[]' \
        "$TMP"/par/results.*.jsonl >"$TMP/merged.jsonl"
    grep -q '^{"input":"torn{"input"' "$TMP/par/results.1.jsonl" &&
        fail_with "the next record was glued to the torn one" && return 1
    grep -v '^{"input":"torn$' "$TMP/par/results.0.jsonl" "$TMP/par/results.1.jsonl" -h \
        >"$TMP/par_all.jsonl"
    py "len(recs) == 12 and sorted(r['status'] for r in recs[:9]) == ['ok'] * 3 + ['skipped'] * 6 \
        and [r['index'] for r in recs[9:]] == [0, 1, 2] \
        and [r['status'] for r in recs[9:]] == ['skipped'] * 3 \
        and [r['input'] for r in recs[9:]] == sorted(r['input'] for r in recs[9:]) \
        and all(r['class'] == 707 and len(r['topk']) == 5 for r in recs)" \
        "$TMP/par_all.jsonl" "$TMP/merged.jsonl"
}
check "batch_parallel.sh resumed (after a torn record too) keeps every record; the README's jq line merges them" \
    parallel_resume

summary
