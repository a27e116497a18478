#!/bin/sh
# The command line end to end: options, exit statuses, messages, the files
# it writes, and byte-identical output for any thread count.
. test/lib.sh

CAT=test/fixtures/images/cat.png
GRAY=test/fixtures/images/gray.png
TINY=test/fixtures/golden/tiny.safetensors

# Every long option of cli.c's getopt table, so a new one cannot go unmentioned.
help_lists_every_option() {
    "$GUIDEDBP" --help >"$TMP/help" || return 1
    longs=$(grep -o '{"[a-z0-9-]*", [a-z_]*_argument' src/cli/cli.c | sed 's/{"\([^"]*\)".*/--\1/')
    [ "$(echo "$longs" | wc -l)" -ge 35 ] || fail_with "read only $(echo "$longs" | wc -l) options" ||
        return 1
    for opt in $longs random:SEED GUIDEDBP_WEIGHTS "Exit status"; do
        grep -q -- "$opt" "$TMP/help" || fail_with "--help does not mention $opt" || return 1
    done
}
check "--help lists every option, its default and the exit statuses" help_lists_every_option
check "--version" sh -c '"$GUIDEDBP" --version | grep -Eq "^guidedbp [0-9]+\.[0-9]+\.[0-9]+$"'

check "no image: usage error" expect 2 "no IMAGE given" "$GUIDEDBP"
check "unknown option" expect 2 "--frobnicate: unknown option" "$GUIDEDBP" --frobnicate "$CAT"
check "option missing its value" expect 2 "-o: this option needs a value" "$GUIDEDBP" "$CAT" -o
check "bad --guide" expect 2 "--guide sideways" "$GUIDEDBP" --guide sideways "$CAT"
check "unknown --method" expect 2 "available: guided, gradient" "$GUIDEDBP" -m occlusion "$CAT"
check "--threads 0" expect 2 "--threads 0" "$GUIDEDBP" -t 0 "$CAT"
check "--topk -1" expect 2 "--topk -1" "$GUIDEDBP" -k -1 "$CAT"
check "several images need -o DIR" expect 2 "give an output directory with -o DIR" \
    "$GUIDEDBP" -w "$TINY" "$CAT" "$GRAY"
check "class out of range" expect 2 "not a class index" \
    "$GUIDEDBP" -w "$TINY" -c 1000 -o "$TMP/x.png" "$CAT"
check "unknown class name" expect 2 "no ImageNet class has this name" \
    "$GUIDEDBP" -w "$TINY" -c "flying spaghetti" -o "$TMP/x.png" "$CAT"
check "an unknown class name suggests the nearest ones" expect 2 'did you mean 281 "tabby"' \
    "$GUIDEDBP" -w "$TINY" -c "tabby cat" -o "$TMP/x.png" "$CAT"
check "a word that names several classes is refused with each index" \
    expect 2 'retriever: ambiguous, it names 5 classes: 205 .*207 "golden retriever".*209' \
    "$GUIDEDBP" -w "$TINY" -c retriever -o "$TMP/x.png" "$CAT"
class_by_prefix() {
    "$GUIDEDBP" -w "$TINY" --json -c golden -o "$TMP/g.png" "$CAT" | grep -q '"class":207,' &&
        "$GUIDEDBP" -w "$TINY" --json -c "Persian" -o "$TMP/g.png" "$CAT" | grep -q '"class":283,'
}
check "a unique prefix or word names its class (golden: 207, Persian: 283)" class_by_prefix
list_classes() {
    "$GUIDEDBP" --list-classes >"$TMP/classes" || return 1
    [ "$(wc -l <"$TMP/classes")" -eq 1000 ] || fail_with "$(wc -l <"$TMP/classes") lines" || return 1
    [ "$(sed -n 282p "$TMP/classes")" = "281	n02123045	tabby" ] &&
        grep -q "^0	n01440764	tench$" "$TMP/classes" &&
        grep -q "^134	n02012849	crane bird$" "$TMP/classes" &&
        grep -q "^517	n03126707	crane$" "$TMP/classes" &&
        grep -q "^999	n15075141	toilet tissue$" "$TMP/classes" ||
        fail_with "$(sed -n '1p;135p;282p;518p;1000p' "$TMP/classes")"
}
check "--list-classes prints the 1000 indices, WordNet ids and names" list_classes
class_by_wnid() {
    "$GUIDEDBP" -w "$TINY" --json -c n02123045 -o "$TMP/w.png" "$CAT" | grep -q '"class":281,' &&
        "$GUIDEDBP" -w "$TINY" --json -c N02123045 -o "$TMP/w.png" "$CAT" | grep -q '"class":281,' &&
        "$GUIDEDBP" -w "$TINY" --json -c n03126707 -o "$TMP/w.png" "$CAT" | grep -q '"class":517,'
}
check "a WordNet id names its class, N or n (n02123045: 281, n03126707: 517)" class_by_wnid
check "an unknown WordNet id is refused, named" \
    expect 2 "--class n99999999: no ImageNet class has this WordNet id" \
    "$GUIDEDBP" -w "$TINY" -c n99999999 -o "$TMP/x.png" "$CAT"
check "ambiguous class name" expect 2 "ambiguous.*264.*474" \
    "$GUIDEDBP" -w "$TINY" -c CARDIGAN -o "$TMP/x.png" "$CAT"

check "missing image" expect 1 "nothere.png: cannot open: No such file" \
    "$GUIDEDBP" -w "$TINY" -o "$TMP/x.png" "$TMP/nothere.png"
printf 'not an image\n' >"$TMP/text.jpg"
check "text file named .jpg" expect 1 "text.jpg: unsupported image format" \
    "$GUIDEDBP" -w "$TINY" -o "$TMP/x.png" "$TMP/text.jpg"
head -c 3000 "$CAT" >"$TMP/truncated.png"
check "truncated PNG" expect 1 "truncated.png: truncated PNG" \
    "$GUIDEDBP" -w "$TINY" -o "$TMP/x.png" "$TMP/truncated.png"

check "missing weights" expect 3 "nothere.safetensors" \
    "$GUIDEDBP" -w "$TMP/nothere.safetensors" -o "$TMP/x.png" "$CAT"
check "default weights missing: says how to get them" expect 3 "make weights" \
    env GUIDEDBP_WEIGHTS= sh -c 'cd "$1" && "$2" "$3"' sh "$TMP" "$(pwd)/$GUIDEDBP" "$(pwd)/$CAT"
check "bad random seed" expect 3 "random:x1: the seed" "$GUIDEDBP" -w random:x1 "$CAT"
check "random without a seed says random:SEED" expect 3 "random: needs a seed: random:SEED" \
    "$GUIDEDBP" -w random "$CAT"
check "a .pth as weights says how to convert it" expect 3 \
    "resnet18.pth: a PyTorch .pth file, not safetensors: convert it first with guidedbp-convert" \
    "$GUIDEDBP" -w test/fixtures/resnet/resnet18.pth -o "$TMP/x.png" "$CAT"
check "a legacy-format .pth too" expect 3 "tiny_vgg13_bn_legacy.pth: a PyTorch .pth file" \
    "$GUIDEDBP" -w test/fixtures/vgg/tiny_vgg13_bn_legacy.pth -o "$TMP/x.png" "$CAT"
check "GUIDEDBP_WEIGHTS is the default" expect 3 "envweights.safetensors" \
    env GUIDEDBP_WEIGHTS="$TMP/envweights.safetensors" "$GUIDEDBP" -o "$TMP/x.png" "$CAT"

overwrite_refused() {
    cp "$CAT" "$TMP/in.png"
    expect 2 "would overwrite an input" "$GUIDEDBP" -w "$TINY" -o "$TMP/in.png" "$TMP/in.png" &&
        cmp -s "$CAT" "$TMP/in.png"
}
check "output path equal to the input is refused, input untouched" overwrite_refused

# png_ok FILE: FILE starts with PNG's signature.
png_ok() {
    [ "$(head -c 8 "$1" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail_with "$1 is not a PNG"
}

missing_dir() {
    "$GUIDEDBP" -q -w "$TINY" -o "$TMP/nodir/sub/out.png" "$CAT" && png_ok "$TMP/nodir/sub/out.png"
}
check "one image into a missing directory: made, as in a batch" missing_dir

unwritable_dir() {
    mkdir -p "$TMP/ro" && chmod 555 "$TMP/ro"
    [ "$(id -u)" -eq 0 ] && return 0 # root writes anywhere; nothing to see
    expect 4 "cannot create" "$GUIDEDBP" -w "$TINY" -o "$TMP/ro/x/out.png" "$CAT"
}
check "an output directory that cannot be made: exit 4" unwritable_dir

stdin_image() {
    "$GUIDEDBP" -w "$TINY" -o "$TMP/from_stdin.png" - <"$CAT" >"$TMP/stdout" || return 1
    "$GUIDEDBP" -q -w "$TINY" -o "$TMP/from_file.png" "$CAT" &&
        cmp -s "$TMP/from_stdin.png" "$TMP/from_file.png" || fail_with "stdin's map differs" || return 1
    grep -q "^image:  - (451x300)" "$TMP/stdout" || fail_with "report: $(cat "$TMP/stdout")" || return 1
    root=$(pwd)
    case $GUIDEDBP in /*) bin=$GUIDEDBP ;; *) bin=$root/$GUIDEDBP ;; esac
    (cd "$TMP" && "$bin" -q -w "$root/$TINY" - <"$root/$CAT") &&
        png_ok "$TMP/stdin_guided.png"
}
check "- reads the image from standard input (default output stdin_guided.png)" stdin_image

stdout_png() {
    "$GUIDEDBP" -w "$TINY" --json -o - "$CAT" >"$TMP/out.png" 2>"$TMP/err" || return 1
    cmp -s "$TMP/out.png" "$TMP/from_file.png" || fail_with "-o -: not the map's PNG" || return 1
    grep -q '"outputs":\["-"\]' "$TMP/err" || fail_with "the record is not on stderr: $(cat "$TMP/err")"
}
check "-o - writes the PNG to standard output, the report to standard error" stdout_png
check "-o - with --npy is refused" expect 2 "-o -: the PNG of one image on standard output" \
    "$GUIDEDBP" -w "$TINY" --npy -o - "$CAT"
check "- twice is refused" expect 2 "standard input can be read only once" \
    "$GUIDEDBP" -w "$TINY" -o "$TMP/d" - -

trailing_slash() {
    "$GUIDEDBP" -q -w "$TINY" -o "$TMP/slashdir/" "$CAT" && png_ok "$TMP/slashdir/cat_guided.png"
}
check "-o dir/ with one image means a directory" trailing_slash

writes_png_and_npy() {
    "$GUIDEDBP" -w "$TINY" -o "$TMP/a.png" --npy "$CAT" >"$TMP/stdout" || return 1
    [ "$(head -c 8 "$TMP/a.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] ||
        fail_with "a.png is not a PNG" || return 1
    # 128-byte .npy header + 224*224*3 float32
    [ "$(wc -c <"$TMP/a.npy")" -eq 602240 ] || fail_with "a.npy has the wrong size" || return 1
    head -c 128 "$TMP/a.npy" | grep -q "'descr': '<f4', 'fortran_order': False, 'shape': (224, 224, 3)" ||
        fail_with "a.npy header" || return 1
    grep -q "^target: " "$TMP/stdout" && grep -q "^top-5:" "$TMP/stdout" &&
        [ "$(grep -c '^  ' "$TMP/stdout")" -eq 5 ] && grep -q "^saliency: $TMP/a.png" "$TMP/stdout" ||
        fail_with "stdout: $(cat "$TMP/stdout")"
}
check "writes the PNG and the .npy, prints target and top-5" writes_png_and_npy

class_by_name() {
    "$GUIDEDBP" -w "$TINY" -o "$TMP/b.png" -c Tabby -k 0 "$CAT" >"$TMP/stdout" &&
        grep -q "^target: 281 tabby " "$TMP/stdout" && ! grep -q "^top-" "$TMP/stdout"
}
check "--class by name, any case; --topk 0 prints no list" class_by_name
check "--quiet prints nothing" sh -c '[ -z "$("$GUIDEDBP" -q -w "$1" -o "$2" "$3")" ]' sh \
    "$TINY" "$TMP/q.png" "$CAT"
check "grayscale PNG" sh -c '"$GUIDEDBP" -q -w "$1" -o "$2" "$3" && [ -s "$2" ]' sh \
    "$TINY" "$TMP/g.png" "$GRAY"

# Full-size AlexNet (random weights): the same bytes for 1 and 2 threads and
# on a second run. Thread-count independence is by construction (parallel.h).
identical_bytes() {
    "$GUIDEDBP" -q -w random:0 -c 281 -t 1 --npy -o "$TMP/t1.png" "$CAT" &&
        "$GUIDEDBP" -q -w random:0 -c 281 -t 2 --npy -o "$TMP/t2.png" "$CAT" &&
        "$GUIDEDBP" -q -w random:0 -c 281 -t 2 --npy -o "$TMP/t3.png" "$CAT" &&
        cmp "$TMP/t1.png" "$TMP/t2.png" && cmp "$TMP/t1.npy" "$TMP/t2.npy" &&
        cmp "$TMP/t2.png" "$TMP/t3.png" && cmp "$TMP/t2.npy" "$TMP/t3.npy"
}
check "identical bytes for --threads 1 and 2, and run to run" identical_bytes

check "--vs without --check class" expect 2 "--vs needs --check class" "$GUIDEDBP" --vs 3 "$CAT"
check "bad --check" expect 2 "--check sideways" "$GUIDEDBP" --check sideways "$CAT"
check "--strip with several images" expect 2 "--strip .*only with one image" \
    "$GUIDEDBP" -w "$TINY" --check class --strip "$TMP/s.png" -o "$TMP/sdir" "$CAT" "$GRAY"

checks_in_json() {
    "$GUIDEDBP" -w "$TINY" --json -m gradient --check randomize --strip "$TMP/strip.png" \
        -o "$TMP/r.png" "$CAT" >"$TMP/r.json" 2>"$TMP/r.err" || return 1
    "$GUIDEDBP" -w "$TINY" --json --check class --vs tabby -o "$TMP/c.png" "$CAT" >"$TMP/c.json" \
        2>"$TMP/c.err" || return 1
    ${PYTHON:-python3} - "$TMP/r.json" "$TMP/c.json" <<'PYEOF' || return 1
import json, sys
r = json.load(open(sys.argv[1]))["check"]
names = ["classifier.6", "classifier.4", "classifier.1", "features.10", "features.8",
         "features.6", "features.3", "features.0"]
for kind in ("cascading", "independent"):
    assert [s["layer"] for s in r[kind]] == names, r[kind]
    for s in r[kind]:
        assert all(-1 <= s[k] <= 1 for k in ("spearman_abs", "spearman", "ssim")), s
c = json.load(open(sys.argv[2]))["check"]
assert c["vs"] == 281 and all(-1 <= c[k] <= 1 for k in ("spearman_abs", "spearman", "ssim")), c
PYEOF
    grep -q "features.0" "$TMP/r.err" && grep -q "map of 281 tabby" "$TMP/c.err" ||
        fail_with "no table on stderr" || return 1
    # 9 tiles of 224: the map, then the 8 cascading steps.
    [ "$(head -c 24 "$TMP/strip.png" | tail -c 8 | od -An -tx1 | tr -d ' \n')" = 000007e0000000f4 ] ||
        fail_with "the strip is not 2016x244 (nine 224x224 maps under a 20-pixel band of titles)"
}
check "--check randomize and class: JSON records, tables, the strip" checks_in_json

leaves_no_temporaries() {
    ! ls -a "$TMP" | grep -q '\.tmp\.' || fail_with "temporary files left: $(ls -a "$TMP")"
}
check "no temporary files left behind" leaves_no_temporaries

# Grad-CAM of the lowest-scoring class is often all zero: a constant map has
# no ranks, so the similarity is undefined (null, with the reason), and the
# default --vs moves to the next-lowest class whose map is not constant.
C224=test/fixtures/images/cat224.png
undefined_check() {
    "$GUIDEDBP" -w random:0 -t 2 -m gradcam --check class --vs 382 --json -o "$TMP/u.png" "$C224" \
        >"$TMP/u.json" 2>"$TMP/u.err" || return 1
    grep -q '"spearman_abs":null,"spearman":null,.*"undefined":"a compared map is constant' \
        "$TMP/u.json" || fail_with "record: $(cat "$TMP/u.json")" || return 1
    grep -q "spearman_abs undefined  spearman undefined" "$TMP/u.err" ||
        fail_with "table: $(cat "$TMP/u.err")"
}
check "a check against a constant map is reported undefined, not as a number" undefined_check
default_vs_has_a_map() {
    "$GUIDEDBP" -w random:0 -t 2 -m gradcam --check class -k 1000 --json -o "$TMP/v.png" "$C224" 2>/dev/null \
        >"$TMP/v.json" || return 1
    python3 - "$TMP/v.json" <<'PY' || fail_with "$(cat "$TMP/v.json" | cut -c1-300)"
import json, sys
r = json.loads(open(sys.argv[1]).read())
lowest = r["topk"][-1]["class"]
assert lowest == 382, lowest  # its cam is constant (the check above)
assert r["check"]["vs"] != lowest and r["check"]["spearman"] is not None, r["check"]
PY
}
check "the default --vs skips a class whose map is constant" default_vs_has_a_map

scan_counts_what_it_leaves_out() {
    mkdir -p "$TMP/scan/sub"
    cp "$CAT" "$TMP/scan/"
    echo notes >"$TMP/scan/notes.txt"
    echo gif >"$TMP/scan/a.gif"
    "$GUIDEDBP" -w "$TINY" -o "$TMP/scanout" "$TMP/scan" >/dev/null 2>"$TMP/scan.err" || return 1
    grep -q "1 done, 0 skipped, 0 failed of 1 images (.* s); 2 other files in the folders left out (not .png, .jpg or .jpeg); 1 subfolder not entered (-r enters them)" \
        "$TMP/scan.err" || fail_with "summary: $(cat "$TMP/scan.err")"
}
check "the folder scan's summary counts the files and subfolders it left out" \
    scan_counts_what_it_leaves_out

crop_warning() {
    cp test/fixtures/images/cat.jpg "$TMP/photo.jpg"
    "$GUIDEDBP" -w "$TINY" -o "$TMP/crop" "$CAT" "$TMP/photo.jpg" >/dev/null 2>"$TMP/crop.err" ||
        return 1
    [ "$(grep -c "center crop (the recipe's) explains only 67% of this 451x300 image" \
        "$TMP/crop.err")" -eq 1 ] || fail_with "not said once: $(cat "$TMP/crop.err")" || return 1
    "$GUIDEDBP" -w "$TINY" -o "$TMP/c224.png" test/fixtures/images/cat224.png >/dev/null \
        2>"$TMP/c224.err" && ! grep -q "center crop" "$TMP/c224.err" ||
        fail_with "warned on a square image"
}
check "a center crop dropping over a quarter of the image is said once a run" crop_warning

summary
