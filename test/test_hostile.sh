#!/bin/sh
# Hostile inputs: files from strangers must be refused with one line that
# names the file and the problem, the right exit status, and no output left
# behind; never a crash, a hang or a runaway allocation. The corpus is
# test/hostile/ (written by test/gen/make_hostile.py; cases.txt says what each
# file must do); the cases that need the filesystem (FIFOs, directories,
# permissions, full disks) are made here.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
GOOD=test/fixtures/images/gray.png
H=test/hostile
# Long enough for the sanitizer build; only a hang comes near it.
LIMIT=30

MOUNTED=
trap '[ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null; rm -rf "$TMP"' EXIT

skip() {
    echo "skip $1: $2"
}

# run [ARGS...]: guidedbp with a time limit, stdin closed, output captured.
run() {
    if command -v timeout >/dev/null 2>&1; then
        timeout -k 5 "$LIMIT" "$GUIDEDBP" "$@" </dev/null >"$TMP/stdout" 2>"$TMP/stderr"
    else
        "$GUIDEDBP" "$@" </dev/null >"$TMP/stdout" 2>"$TMP/stderr"
    fi
}

no_temporaries() {
    ! find "$TMP" -name '*.tmp.*' | grep -q . ||
        fail_with "temporary files left: $(find "$TMP" -name '*.tmp.*')"
}

# expect STATUS REGEX ARGS...: guidedbp ARGS exits with STATUS; stderr's
# first line matches REGEX (empty REGEX: stderr is empty), and a refusal is
# one line (plus the --help hint for usage errors).
expect() {
    want=$1 re=$2
    shift 2
    run "$@"
    got=$?
    [ "$got" -ne 124 ] && [ "$got" -ne 137 ] ||
        fail_with "no answer after ${LIMIT}s (a hang?)" || return 1
    [ "$got" -eq "$want" ] ||
        fail_with "exit $got, expected $want: $(head -c 400 "$TMP/stderr")" || return 1
    if [ -z "$re" ]; then
        [ ! -s "$TMP/stderr" ] || fail_with "unexpected stderr: $(head -c 400 "$TMP/stderr")"
        return
    fi
    grep -Eq -- "$re" "$TMP/stderr" ||
        fail_with "stderr lacks /$re/: $(head -c 400 "$TMP/stderr")" || return 1
    lines=$(grep -vc "^Try 'guidedbp --help'" "$TMP/stderr")
    [ "$lines" -eq 1 ] || fail_with "$lines lines on stderr, expected one: $(cat "$TMP/stderr")"
}

# ---- the corpus: each file as the image or as the weights
corpus_case() {
    file=$1 arg=$2 want=$3 re=$4
    out=$TMP/case.png
    rm -f "$out"
    [ "$re" = '^$' ] && re=
    if [ "$arg" = image ]; then
        expect "$want" "$re" -q -w "$TINY" -o "$out" "$H/$file" || return 1
    else
        expect "$want" "$re" -q -w "$H/$file" -o "$out" "$GOOD" || return 1
    fi
    if [ "$want" -eq 0 ]; then
        [ -s "$out" ] || fail_with "accepted, but no output written" || return 1
    else
        [ ! -e "$out" ] || fail_with "refused, but $out was written" || return 1
    fi
    no_temporaries
}

[ -f "$H/cases.txt" ] || { echo "not ok $H/cases.txt is missing (python3 test/gen/make_hostile.py)"; exit 1; }
while read -r file arg want re; do
    case $file in '#'*|'') continue ;; esac
    check "$arg $file: exit $want" corpus_case "$file" "$arg" "$want" "$re"
done <"$H/cases.txt"

# ---- memory: a tiny image whose Resize(224) is huge must cost what its crop does
peak_rss_mb() {
    python3 - "$GUIDEDBP" "$@" <<'EOF2'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL, timeout=300)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
EOF2
}
bounded_memory() {
    base=$(peak_rss_mb -q -w "$TINY" -o "$TMP/m.png" "$GOOD") &&
        peak=$(peak_rss_mb -q -w "$TINY" -o "$TMP/m.png" "$H/$1") || return 1
    [ "$peak" -le $((base + 200)) ] ||
        fail_with "$1 (a few hundred bytes) peaked at $peak MB, a normal image at $base MB"
}
if command -v python3 >/dev/null 2>&1; then
    check "1x4096 PNG: peak memory near a normal image's, not 616 MB" bounded_memory i_aspect_1x4096.png
    check "1x16384 PNG: peak memory near a normal image's" bounded_memory i_aspect_1x16384.png
else
    skip "peak memory of the aspect-ratio cases" "no python3"
fi

# ---- the header check refuses a bomb by its header, whatever the limit
check "--max-pixels: a 32x24 PNG over a limit of 100 pixels" \
    expect 1 "i_16bit.png: PNG of 20x12 pixels is outside the limits" \
    -q -w "$TINY" -o "$TMP/x.png" --max-pixels 100 "$H/i_16bit.png"
check "--max-pixels at its maximum still refuses a 60000x60000 PNG" \
    expect 1 "PNG of 60000x60000 pixels is outside the limits" \
    -q -w "$TINY" -o "$TMP/x.png" --max-pixels 268435456 "$H/i_bomb_60000x60000.png"

# ---- what the filesystem can do
check "missing image" expect 1 "nothere.png: cannot open: No such file" \
    -q -w "$TINY" -o "$TMP/x.png" "$TMP/nothere.png"

fifo_image() {
    mkfifo "$TMP/pipe.png" || return 1
    expect 1 "pipe.png: .*(not a regular file|FIFO)" -q -w "$TINY" -o "$TMP/x.png" "$TMP/pipe.png"
}
check "a FIFO as the image is refused at once, not waited on" fifo_image

fifo_weights() {
    mkfifo "$TMP/pipe.safetensors" || return 1
    expect 3 "pipe.safetensors: .*(not a regular file|FIFO)" -q -w "$TMP/pipe.safetensors" \
        -o "$TMP/x.png" "$GOOD"
}
check "a FIFO as the weights" fifo_weights

dir_weights() {
    mkdir "$TMP/w.safetensors" && expect 3 "w.safetensors: is a directory" \
        -q -w "$TMP/w.safetensors" -o "$TMP/x.png" "$GOOD"
}
check "a directory as the weights" dir_weights

dir_listed() {
    mkdir -p "$TMP/listed/x.png" && echo "$TMP/listed/x.png" >"$TMP/list" &&
        expect 1 "x.png: .*(directory|not a regular file)" -q -w "$TINY" -o "$TMP/listout" \
            --files-from "$TMP/list"
}
check "a directory named x.png given as a file (--files-from)" dir_listed

empty_dir_arg() {
    mkdir -p "$TMP/empty.png" &&
        expect 2 "empty.png: no .*(\.png|PNG|image)" -q -w "$TINY" -o "$TMP/e.png" \
            "$TMP/empty.png"
}
check "a directory with no images as the only argument is an error, not a silent success" \
    empty_dir_arg

unreadable() {
    cp "$GOOD" "$TMP/secret.png" && chmod 000 "$TMP/secret.png" &&
        expect 1 "secret.png: cannot open: Permission denied" -q -w "$TINY" -o "$TMP/x.png" \
            "$TMP/secret.png"
}
if [ "$(id -u)" -eq 0 ]; then
    skip "unreadable image" "running as root, which permissions do not stop"
    skip "output directory not writable" "running as root"
else
    check "unreadable image" unreadable
    readonly_dir() {
        mkdir "$TMP/ro" && chmod 555 "$TMP/ro" &&
            expect 4 "ro/out.png: cannot create a file there: Permission denied" \
                -q -w "$TINY" -o "$TMP/ro/out.png" "$GOOD" &&
            [ -z "$(ls -A "$TMP/ro")" ]
    }
    check "output directory not writable: exit 4, nothing left" readonly_dir
fi

# ---- outputs
output_is_input() {
    cp "$GOOD" "$TMP/in.png" &&
        expect 2 "would overwrite an input" -q -w "$TINY" -o "$TMP/in.png" "$TMP/in.png" &&
        cmp -s "$GOOD" "$TMP/in.png" || fail_with "the input changed"
}
check "output equal to the input: exit 2, input untouched" output_is_input

output_links_to_input() {
    cp "$GOOD" "$TMP/orig.png" && ln "$TMP/orig.png" "$TMP/hard.png" &&
        ln -s "$TMP/orig.png" "$TMP/soft.png" &&
        expect 2 "would overwrite an input" -q -w "$TINY" -o "$TMP/hard.png" "$TMP/orig.png" &&
        expect 2 "would overwrite an input" -q -w "$TINY" -o "$TMP/soft.png" "$TMP/orig.png" &&
        cmp -s "$GOOD" "$TMP/orig.png" || fail_with "the input changed"
}
check "output a hard or symbolic link to the input: exit 2" output_links_to_input

# A missing output directory is made (one image as in a batch); one that
# cannot be, because a file is in the way, fails the write: exit 4.
output_dir_is_a_file() {
    printf 'a file' >"$TMP/afile"
    expect 4 "afile" -q -w "$TINY" -o "$TMP/afile/sub/out.png" "$GOOD" &&
        [ "$(cat "$TMP/afile")" = "a file" ]
}
check "output directory that cannot be made (a file in the way): exit 4" output_dir_is_a_file

# -o /dev/null as root must not replace the device with a PNG: a FIFO
# stands in for it here.
output_special() {
    mkfifo "$TMP/special.png" &&
        expect 1 "special.png: .*(not a regular file|special)" -q -w "$TINY" \
            -o "$TMP/special.png" "$GOOD" &&
        [ -p "$TMP/special.png" ] || fail_with "the FIFO at the output path was replaced"
}
check "an output path that is a FIFO or device is not replaced (that image fails: exit 1)" output_special

stdout_full() {
    [ -w /dev/full ] || { skip "stdout is /dev/full" "no /dev/full here"; return 0; }
    "$GUIDEDBP" -w "$TINY" -o "$TMP/full.png" "$GOOD" </dev/null >/dev/full 2>"$TMP/stderr"
    got=$?
    [ "$got" -eq 4 ] || fail_with "exit $got with stdout on /dev/full, expected 4" || return 1
    grep -q "standard output" "$TMP/stderr" || fail_with "stderr: $(cat "$TMP/stderr")"
}
check "results to a full stdout (/dev/full): exit 4" stdout_full

full_disk() {
    mkdir "$TMP/full"
    if ! mount -t tmpfs -o size=64k tmpfs "$TMP/full" 2>/dev/null; then
        skip "full disk" "cannot mount a small tmpfs here (needs root and mount permission)"
        return 0
    fi
    MOUNTED=$TMP/full
    head -c 40000 /dev/zero >"$TMP/full/filler"
    expect 4 "full/out.png: cannot write: No space left on device" \
        -q -w "$TINY" -o "$TMP/full/out.png" --npy "$GOOD"
    rc=$?
    left=$(ls -A "$TMP/full" | grep -v '^filler$')
    umount "$TMP/full" && MOUNTED=
    [ "$rc" -eq 0 ] || return 1
    [ -z "$left" ] || fail_with "left on the full disk: $left"
}
check "disk full (64 KB tmpfs): exit 4, no partial file" full_disk

# ---- bad arguments: exit 2, one line and the hint, never a crash
for args in "-c 1000" "-c -1" "-c 99999999999999999999" "-c frobnicator" "-m occlusion" \
    "-k -1" "-k 99999999999" "-t 0" "-t -3" "-t 1e9" "--batch 0" "--batch 100000" \
    "--shard 4/4" "--shard 1/0" "--shard x" "--max-pixels 0" "--max-pixels -5" \
    "--max-pixels 1e9" "--guide sideways" "--frobnicate" "-w" "--class"; do
    bad_args() {
        # shellcheck disable=SC2086
        expect 2 "." -q -w "$TINY" -o "$TMP/x.png" "$GOOD" $args &&
            grep -q "^Try 'guidedbp --help'" "$TMP/stderr" ||
            fail_with "no hint: $(cat "$TMP/stderr")"
    }
    check "bad arguments '$args': exit 2 with a hint" bad_args
done

# ---- a batch over a folder of good and hostile images
batch() {
    d=$TMP/batch
    mkdir -p "$d" "$d/x.png"
    cp "$GOOD" "$d/good1.png"
    cp test/fixtures/images/cat.jpg "$d/good2.jpg"
    printf 'not an image' >"$d/$(printf 'evil\nguidedbp: all fine\033[2J.png')"
    mkfifo "$d/pipe.png"
    bad=2 total=4 # the evil name and the FIFO; and the good ones
    while read -r file arg want re; do
        case $file in '#'*|'') continue ;; esac
        [ "$arg" = image ] || continue
        cp "$H/$file" "$d/$file"
        total=$((total + 1))
        [ "$want" -eq 0 ] || bad=$((bad + 1))
    done <"$H/cases.txt"
    run -q --json -w "$TINY" -o "$TMP/batch_out" "$d"
    got=$?
    [ "$got" -eq 1 ] || fail_with "exit $got, expected 1: $(head -c 600 "$TMP/stderr")" || return 1
    [ -s "$TMP/batch_out/good1_guided.png" ] && [ -s "$TMP/batch_out/good2_guided.png" ] &&
        [ -s "$TMP/batch_out/i_progressive_guided.png" ] ||
        fail_with "good images not written: $(ls "$TMP/batch_out")" || return 1
    records=$(grep -c '^{' "$TMP/stdout")
    [ "$records" -eq "$total" ] || fail_with "$records JSON records for $total files" || return 1
    errors=$(grep -c '"status":"error"' "$TMP/stdout")
    [ "$errors" -eq "$bad" ] || fail_with "$errors error records, expected $bad" || return 1
    grep '"input":"[^"]*i_bomb_60000x60000.png"' "$TMP/stdout" | grep -q 'outside the limits' ||
        fail_with "the bomb's record: $(grep bomb_60000 "$TMP/stdout")" || return 1
    # stderr: one line per failed image, each naming it; no raw control bytes.
    lines=$(wc -l <"$TMP/stderr")
    [ "$lines" -eq "$bad" ] || fail_with "$lines stderr lines for $bad failures" || return 1
    ! grep -v "^guidedbp: $d/" "$TMP/stderr" | grep -q . ||
        fail_with "a line that names no input: $(grep -v "^guidedbp: $d/" "$TMP/stderr")" || return 1
    ! LC_ALL=C grep -q "$(printf '\033')" "$TMP/stderr" ||
        fail_with "a file name put a raw escape sequence on stderr" || return 1
    [ ! -e "$TMP/batch_out/i_bomb_60000x60000.png" ] || fail_with "output for the bomb" || return 1
    no_temporaries
}
check "batch: good and hostile images mixed, exit 1, good outputs, one record each" batch

summary
