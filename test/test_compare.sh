#!/bin/sh
# guidedbp compare: maps held to their goldens, file by file or tree by
# tree; its measures, limits, records and exit statuses.
. test/lib.sh

CAT=test/fixtures/images/cat.png
C224=test/fixtures/images/cat224.png
TINY=test/fixtures/golden/tiny.safetensors
PY=${PYTHON:-python3}

# expect STATUS PATTERN CMD...: CMD exits with STATUS and its stdout and
# stderr together match the extended regular expression PATTERN.
expect() {
    want=$1 pattern=$2
    shift 2
    "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    got=$?
    [ "$got" -eq "$want" ] ||
        fail_with "exit $got, expected $want: $(cat "$TMP/stdout" "$TMP/stderr")" || return 1
    cat "$TMP/stdout" "$TMP/stderr" | grep -Eq -- "$pattern" ||
        fail_with "output lacks /$pattern/: $(cat "$TMP/stdout" "$TMP/stderr")"
}

# png FILE W H [X Y C DELTA]: a W x H RGB PNG of a fixed pattern, value
# (Y, X, C) changed by DELTA levels (no PIL here: zlib and struct).
png() {
    "$PY" - "$@" <<'PYEOF'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
px = bytearray((x * 7 + y * 13 + c * 50) % 200 + 20 for y in range(h) for x in range(w) for c in range(3))
if len(sys.argv) > 4:
    x, y, c, d = map(int, sys.argv[4:8])
    px[(y * w + x) * 3 + c] += d
raw = b"".join(b"\0" + bytes(px[y * w * 3:(y + 1) * w * 3]) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PYEOF
}

# The maps the tests compare, made once: the tiny model's for classes 281
# and 282 (PNG and .npy), its gradcam (a (224, 224) .npy), and the class-281
# map again under every instruction set the CPU has.
"$GUIDEDBP" -q -w "$TINY" -c 281 --npy -o "$TMP/c281.png" "$C224" &&
    "$GUIDEDBP" -q -w "$TINY" -c 282 --npy -o "$TMP/c282.png" "$C224" &&
    "$GUIDEDBP" -q -w "$TINY" -c 281 -m gradcam --npy -o "$TMP/cam.png" "$C224" ||
    echo "  FAIL: could not make the maps"
isas=$(GUIDEDBP_ISA= "$GUIDEDBP" --version | sed -n 's/^gemm: .* (this CPU has: \(.*\)).*/\1/p')
for isa in $isas; do
    GUIDEDBP_ISA=$isa "$GUIDEDBP" -q -w "$TINY" -c 281 --npy -o "$TMP/isa_$isa.png" "$C224"
done

# Every long option of compare.c's table, so a new one cannot go unmentioned.
help_lists_every_option() {
    "$GUIDEDBP" compare --help >"$TMP/help" || return 1
    longs=$(grep -o '{"[a-z0-9-]*", [a-z_]*_argument' src/cli/compare.c | sed 's/{"\([^"]*\)".*/--\1/')
    [ "$(echo "$longs" | wc -l)" -ge 6 ] || fail_with "read only $(echo "$longs" | wc -l) options" ||
        return 1
    for opt in $longs "Usage: guidedbp compare" "Exit status" "default: 2" "default: 0.001" \
        "default: 0.0001" "default: 0.99999"; do
        grep -q -- "$opt" "$TMP/help" || fail_with "compare --help does not mention $opt" || return 1
    done
    "$GUIDEDBP" --help | grep -q "guidedbp compare" || fail_with "guidedbp --help does not mention compare"
}
check "compare --help lists its options and defaults; guidedbp --help mentions compare" \
    help_lists_every_option

self_passes() {
    expect 0 "^PASS $TMP/c281.png: max 0, mean 0, 0% differ$" \
        "$GUIDEDBP" compare "$TMP/c281.png" "$TMP/c281.png" || return 1
    grep -q "^guidedbp compare: 1 pair, 1 passed, 0 failed" "$TMP/stderr" ||
        fail_with "summary: $(cat "$TMP/stderr")" || return 1
    [ "$(wc -l <"$TMP/stdout")" -eq 1 ] || fail_with "the summary went to stdout"
}
check "a map against itself passes: one line on stdout, the summary on stderr" self_passes

isa_twin_passes() {
    first=$(echo $isas | cut -d' ' -f1) last=$(echo $isas | awk '{print $NF}')
    expect 0 "^PASS .*: max 0, mean 0, 0% differ$" \
        "$GUIDEDBP" compare "$TMP/isa_$first.png" "$TMP/isa_$last.png" &&
        expect 0 "^PASS .*: max err/max 0, cosine 1$" \
            "$GUIDEDBP" compare "$TMP/isa_$first.npy" "$TMP/isa_$last.npy"
}
check "a map against its twin made under another GUIDEDBP_ISA ($isas) passes, max 0" isa_twin_passes

pytorch_golden_passes() {
    "$GUIDEDBP" -q -w "$TINY" --npy -o "$TMP/g707.png" "$C224" || return 1
    expect 0 "^PASS .*: max 0," "$GUIDEDBP" compare test/fixtures/golden/tiny_cat224_png_features.png \
        "$TMP/g707.png" &&
        expect 0 "^PASS .*: max err/max [0-9.]+e-07, cosine 1$" "$GUIDEDBP" compare \
            test/fixtures/golden/tiny_cat224_png_features_map.npy "$TMP/g707.npy" &&
        expect 1 "^FAIL .*: max err/max [0-9.]+e-07 > 1e-09, cosine 1$" "$GUIDEDBP" compare \
            --max-rel 1e-9 test/fixtures/golden/tiny_cat224_png_features_map.npy "$TMP/g707.npy"
}
check "our map against PyTorch's golden passes (PNG and .npy); --max-rel 1e-9 fails it" \
    pytorch_golden_passes

other_class_fails() {
    expect 1 "^FAIL $TMP/c282.png: max [0-9]+ > 2, mean [0-9.]+, [0-9.]+% differ > 0.1%$" \
        "$GUIDEDBP" compare "$TMP/c281.png" "$TMP/c282.png" || return 1
    grep -q "1 pair, 0 passed, 1 failed" "$TMP/stderr" || fail_with "summary: $(cat "$TMP/stderr")"
}
check "the map of another class fails, exit 1, saying which limit" other_class_fails

loosened_passes() {
    expect 0 "^PASS " "$GUIDEDBP" compare --max-level 255 --max-differing 1 "$TMP/c281.png" \
        "$TMP/c282.png" &&
        expect 0 "^PASS " "$GUIDEDBP" compare --max-rel 10 --min-cosine=-1 "$TMP/c281.npy" \
            "$TMP/c282.npy"
}
check "options loosen: another class passes with --max-level 255 --max-differing 1" loosened_passes

one_level() {
    png "$TMP/a.png" 100 100 && png "$TMP/b.png" 100 100 10 20 1 1 || return 1
    expect 0 "^PASS $TMP/b.png: max 1, mean 3.33e-05, 0.00333% differ$" \
        "$GUIDEDBP" compare "$TMP/a.png" "$TMP/b.png" &&
        expect 1 "^FAIL $TMP/b.png: max 1 > 0, mean 3.33e-05, 0.00333% differ$" \
            "$GUIDEDBP" compare --max-level 0 "$TMP/a.png" "$TMP/b.png" &&
        expect 1 "^FAIL .*: max 1, mean 3.33e-05, 0.00333% differ > 0%$" \
            "$GUIDEDBP" compare --max-differing 0 "$TMP/a.png" "$TMP/b.png" &&
        png "$TMP/c.png" 100 100 10 20 1 3 &&
        expect 1 "^FAIL .*: max 3 > 2," "$GUIDEDBP" compare "$TMP/a.png" "$TMP/c.png" &&
        expect 0 "^PASS .*: max 3," "$GUIDEDBP" compare --max-level 3 "$TMP/a.png" "$TMP/c.png"
}
check "a 1-level difference passes by default, fails with --max-level 0 or --max-differing 0" one_level

sizes_differ() {
    png "$TMP/w101.png" 101 100 || return 1
    expect 1 "^FAIL $TMP/w101.png: $TMP/w101.png is 101x100, its golden $TMP/a.png 100x100$" \
        "$GUIDEDBP" compare "$TMP/a.png" "$TMP/w101.png"
}
check "PNGs of different sizes fail" sizes_differ

npy_pairs() {
    expect 0 "^PASS $TMP/c281.npy: max err/max 0, cosine 1$" \
        "$GUIDEDBP" compare "$TMP/c281.npy" "$TMP/c281.npy" &&
        expect 1 "^FAIL .*: max err/max [0-9.]+ > 0.0001, cosine 0.[0-9]+ < 0.99999$" \
            "$GUIDEDBP" compare "$TMP/c281.npy" "$TMP/c282.npy" &&
        expect 1 "^FAIL .*: $TMP/cam.npy has shape \(224, 224\), its golden $TMP/c281.npy \(224, 224, 3\)$" \
            "$GUIDEDBP" compare "$TMP/c281.npy" "$TMP/cam.npy"
}
check ".npy pairs: identical passes, another class fails, another shape fails" npy_pairs

# Two trees as a batch run writes them: the same maps, made with other
# --batch and --threads, compared file by file.
mirrored() {
    mkdir -p "$TMP/in/sub" && cp "$CAT" "$TMP/in/" && cp "$C224" "$TMP/in/sub/" || return 1
    "$GUIDEDBP" -q -w "$TINY" -c 281 -r --npy -o "$TMP/gold" "$TMP/in" &&
        "$GUIDEDBP" -q -w "$TINY" -c 281 -r --npy --batch 2 -t 1 -o "$TMP/act" "$TMP/in" || return 1
    expect 0 "4 pairs, 4 passed, 0 failed" "$GUIDEDBP" compare "$TMP/gold" "$TMP/act/" || return 1
    printf 'PASS cat_guided.npy: \nPASS cat_guided.png: \nPASS sub/cat224_guided.npy: \nPASS sub/cat224_guided.png: \n' \
        >"$TMP/want"
    sed 's/: .*/: /' "$TMP/stdout" | cmp -s - "$TMP/want" || fail_with "lines: $(cat "$TMP/stdout")"
}
check "two directories, mirrored as batch output: every .png and .npy passes, in path order" mirrored

one_side_fails() {
    cp -r "$TMP/act" "$TMP/act2" && rm "$TMP/act2/sub/cat224_guided.npy" &&
        cp "$TMP/act2/cat_guided.png" "$TMP/act2/sub/extra.png" || return 1
    expect 1 "^FAIL sub/cat224_guided.npy: missing in ACTUAL: no $TMP/act2/sub/cat224_guided.npy$" \
        "$GUIDEDBP" compare "$TMP/gold" "$TMP/act2" || return 1
    grep -q "^FAIL sub/extra.png: not in GOLDEN: no $TMP/gold/sub/extra.png$" "$TMP/stdout" &&
        grep -q "5 pairs, 3 passed, 2 failed (2 on one side only)" "$TMP/stderr" ||
        fail_with "$(cat "$TMP/stdout" "$TMP/stderr")"
}
check "a file missing in ACTUAL, or only in ACTUAL, fails, named" one_side_fails

json_records() {
    printf 'not a png\n' >"$TMP/act2/bad.png" && cp "$TMP/act2/bad.png" "$TMP/gold/bad.png" &&
        head -c 1000 "$TMP/gold/cat_guided.npy" >"$TMP/act2/cat_guided.npy" || return 1
    "$GUIDEDBP" compare --json "$TMP/gold" "$TMP/act2" >"$TMP/recs" 2>"$TMP/err"
    [ $? -eq 1 ] || fail_with "exit status" || return 1
    rm "$TMP/gold/bad.png"
    "$PY" - "$TMP/recs" "$TMP/gold" "$TMP/act2" <<'PYEOF' || fail_with "$(cat "$TMP/recs")"
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]  # every line is a record
gold, act = sys.argv[2], sys.argv[3]
by = {r["actual"][len(act) + 1:]: r for r in recs}
assert sorted(by) == ["bad.png", "cat_guided.npy", "cat_guided.png", "sub/cat224_guided.npy",
                      "sub/cat224_guided.png", "sub/extra.png"], sorted(by)
for rel, r in by.items():
    assert r["golden"] == gold + "/" + rel and r["kind"] == rel[-3:], r
    assert r["pass"] == (r["reason"] is None), r
ok = by["cat_guided.png"]
assert ok["pass"] and ok["max_level"] == 0 and ok["differing"] == 0 and ok["values"] == 150528 \
    and ok["differing_fraction"] == 0 and ok["mean_level"] == 0 and ok["width"] == 224, ok
n = by["sub/cat224_guided.npy"]
assert not n["pass"] and n["reason"].startswith("missing in ACTUAL") and n["shape"] is None \
    and n["max_rel"] is None and n["cosine"] is None, n
assert "unsupported image format" in by["bad.png"]["reason"] and by["bad.png"]["max_level"] is None
assert "bytes of data" in by["cat_guided.npy"]["reason"], by["cat_guided.npy"]
p = by["sub/cat224_guided.png"]
assert p["pass"] and p["max_level"] == 0, p
assert by["sub/extra.png"]["reason"].startswith("not in GOLDEN")
PYEOF
    grep -q "6 pairs, 2 passed, 4 failed" "$TMP/err" || fail_with "summary: $(cat "$TMP/err")"
    "$GUIDEDBP" compare --json "$TMP/c281.npy" "$TMP/c281.npy" 2>/dev/null | "$PY" -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["kind"] == "npy" and r["pass"] and r["shape"] == [224, 224, 3] and r["max_rel"] == 0 \
    and r["cosine"] == 1 and r["reason"] is None, r' || fail_with ".npy record"
}
check "--json: one record per pair and nothing else; unreadable files are failed pairs" json_records

odd_names() {
    mkdir -p "$TMP/ng" "$TMP/na" && cp "$TMP/a.png" "$TMP/ng/x
y.png" && cp "$TMP/a.png" "$TMP/na/x
y.png" || return 1
    expect 0 '^PASS x\\x0ay.png: max 0' "$GUIDEDBP" compare "$TMP/ng" "$TMP/na" &&
        [ "$(wc -l <"$TMP/stdout")" -eq 1 ] || fail_with "$(cat "$TMP/stdout")"
}
check "a file name with a newline is shown escaped, on one line" odd_names

usage_errors() {
    mkdir -p "$TMP/empty"
    expect 2 "expected GOLDEN and ACTUAL, got 1 path" "$GUIDEDBP" compare "$TMP/a.png" &&
        expect 2 "got 3 paths" "$GUIDEDBP" compare "$TMP/a.png" "$TMP/a.png" "$TMP/a.png" &&
        expect 2 "Try 'guidedbp compare --help'" "$GUIDEDBP" compare --frobnicate "$TMP/a.png" "$TMP/a.png" &&
        expect 2 "nothere.png: No such file" "$GUIDEDBP" compare "$TMP/nothere.png" "$TMP/a.png" &&
        expect 2 "nothere.png: No such file" "$GUIDEDBP" compare "$TMP/a.png" "$TMP/nothere.png" &&
        expect 2 "gold is a directory and .*a.png is not" "$GUIDEDBP" compare "$TMP/gold" "$TMP/a.png" &&
        expect 2 "gold is a directory and .*a.png is not" "$GUIDEDBP" compare "$TMP/a.png" "$TMP/gold" &&
        expect 2 "--max-level 256: expected a whole number from 0 to 255" \
            "$GUIDEDBP" compare --max-level 256 "$TMP/a.png" "$TMP/a.png" &&
        expect 2 "--max-level 1.5" "$GUIDEDBP" compare --max-level 1.5 "$TMP/a.png" "$TMP/a.png" &&
        expect 2 "--max-differing 2: expected a fraction" \
            "$GUIDEDBP" compare --max-differing 2 "$TMP/a.png" "$TMP/a.png" &&
        expect 2 "--max-rel -1" "$GUIDEDBP" compare --max-rel=-1 "$TMP/a.png" "$TMP/a.png" &&
        expect 2 "--min-cosine nan" "$GUIDEDBP" compare --min-cosine nan "$TMP/a.png" "$TMP/a.png" &&
        expect 2 "--max-level: this option needs a value" "$GUIDEDBP" compare "$TMP/a.png" --max-level &&
        expect 2 "empty: no .png or .npy files" "$GUIDEDBP" compare "$TMP/empty" "$TMP/gold"
}
check "usage errors exit 2: operands, options, missing paths, a file against a directory" usage_errors

summary
