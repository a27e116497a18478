#!/bin/sh
# corpus.sh: the bytes a refactor must not change. Runs guidedbp over a
# corpus of commands covering every method, style, option and failure class
# and keeps, per command, its stdout, stderr, exit status and every file it
# wrote, under OUT/NNN/. Run it before and after a change that should not
# change behaviour, then `diff -r BEFORE AFTER` (or `cmp` each file): any
# difference is a behaviour change. Timings ("ms" in --json records, the
# batch summary's seconds) are the only things masked.
# Not part of `make test`: it compares two builds, not one build with goldens.
# Usage: sh test/corpus.sh GUIDEDBP_BINARY OUT_DIR
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
OUT=$2
ROOT=$(pwd)
TINY=$ROOT/test/fixtures/golden/tiny.safetensors
VGG=$ROOT/test/fixtures/vgg/vgg13_bn.safetensors
CAT=$ROOT/test/fixtures/images/cat.png
JPG=$ROOT/test/fixtures/images/cat.jpg
C224=$ROOT/test/fixtures/images/cat224.png
GRAY=$ROOT/test/fixtures/images/gray.png
H=$ROOT/test/hostile
rm -rf "$OUT" && mkdir -p "$OUT" || exit 1
n=0

# run ARGS...: one command of the corpus, run in its own empty directory
# (relative outputs land there) with the inputs given as absolute paths.
run() {
    n=$((n + 1))
    d=$OUT/$(printf %03d $n)
    mkdir -p "$d/work"
    printf '%s\n' "$*" >"$d/command"
    (cd "$d/work" && "$BIN" "$@" >"../stdout" 2>"../stderr" </dev/null)
    echo $? >"$d/status"
    sed -i -E 's/"ms":[0-9.e+-]+/"ms":_/g' "$d/stdout"
    sed -i -E 's/\([0-9.]+ s\)$/(_ s)/' "$d/stderr"
}

# Every method, with its raw map and record; both models' sizes.
for m in guided gradient deconv grad-x-input gradcam guided-gradcam; do
    run -w "$TINY" -m "$m" --npy --json -o out.png "$CAT"
    run -w random:0 -t 2 -m "$m" --npy -o out.png "$C224"
done
run -w "$TINY" -m integrated --steps 5 --npy --json -o out.png "$CAT"
run -w "$TINY" -m integrated --steps 3 --baseline zero --npy -o out.png "$JPG"
run -w "$TINY" -m guided --smooth 3 --noise 0.3 --seed 7 --npy -o out.png "$CAT"
run -w "$TINY" -m grad-x-input --smooth 2 --npy -o out.png "$GRAY"
run -w "$TINY" --guide all --npy -o out.png "$CAT"
run -w "$TINY" -m deconv --guide all --npy -o out.png "$CAT"
run -w "$TINY" -m guided-gradcam --guide all --npy -o out.png "$CAT"
run -w "$TINY" --layer features.10 --channel 3 --npy --json -o out.png "$CAT"
run -w "$TINY" -m gradient --layer features.11 --channel 0 --npy -o out.png "$CAT"
run -w "$TINY" -m gradcam --layer features.8 --npy -o out.png "$CAT"
run -w "$TINY" -c tabby -k 3 --json -o out.png "$CAT"
run -w "$TINY" -c 281 -k 1000 --json -o out.png "$JPG"
run -w "$TINY" "$CAT"
run -w "$VGG" --npy --json -o out.png "$C224"
run -w "$VGG" -m gradcam --npy -o out.png "$C224"
run -w "$ROOT/test/fixtures/vgg/vgg11.safetensors" -m guided-gradcam -o out.png "$CAT"

# Every style, in the crop and in the image's frame.
for s in color gray pos neg; do
    run -w "$TINY" --style "$s" -o out.png "$CAT"
    run -w "$TINY" --style "$s" --full-size -o out.png "$JPG"
    run -w "$TINY" -m gradient --style "$s" --full-size -o out.png "$GRAY"
done
for s in heatmap gray; do
    run -w "$TINY" -m gradcam --style "$s" -o out.png "$CAT"
    run -w "$TINY" -m gradcam --style "$s" --full-size -o out.png "$JPG"
done

# Sanity checks, with their strips.
run -w "$TINY" --check class --strip strip.png --json -o out.png "$CAT"
run -w "$TINY" --check class --vs 5 -o out.png "$CAT"
run -w "$TINY" --check randomize --seed 3 --strip strip.png --json -o out.png "$CAT"
run -w "$TINY" -m gradcam --check randomize --json -o out.png "$CAT"
run -w random:0 -t 2 --check class --json -o out.png "$C224"
run -w random:0 -t 2 --check randomize --seed 0 -o out.png "$C224"

# Batches: directories, lists, shards, resume, record for every failure.
# Inputs at a fixed path, as records name them.
B=${TMPDIR:-/tmp}/guidedbp-corpus
rm -rf "$B"
mkdir -p "$B/sub"
cp "$CAT" "$C224" "$B/"
cp "$JPG" "$B/photo.jpg"
cp "$GRAY" "$B/sub/"
printf 'not an image\n' >"$B/text.jpg"
head -c 3000 "$CAT" >"$B/truncated.png"
run -w "$TINY" --json -o o "$B"
run -w "$TINY" --json -r --batch 3 -t 2 --npy -o o "$B"
run -w "$TINY" --json -r --batch 2 --shard 1/2 -o o "$B"
run -w "$TINY" -r -q -o o "$B"
ls "$B"/*.png "$B"/sub/*.png >"$B.list"
run -w "$TINY" --json --files-from "$B.list" -o o
run -w "$TINY" --json -m gradcam --batch 4 -o o "$B/cat.png" "$B/photo.jpg" "$B/text.jpg" "$B/cat224.png"
run -w "$TINY" --json -m integrated --steps 3 --batch 2 -o o "$B/cat.png" "$B/photo.jpg" "$B/cat224.png"
run -w "$TINY" --json -m guided --smooth 2 --batch 3 -o o "$B/cat.png" "$B/photo.jpg" "$B/cat224.png"
run -w "$TINY" --json --check class --batch 2 -o o "$B/cat.png" "$B/cat224.png" "$B/text.jpg"
run -w "$TINY" --json --max-pixels 50000 -o o "$B/cat.png" "$B/cat224.png"
hostile_images=$(ls "$H"/i_*)
# shellcheck disable=SC2086
run -w "$TINY" --json --batch 4 -t 2 -o o $hostile_images
mkdir -p "$B.resume"
"$BIN" -w "$TINY" -q -o "$B.resume" "$B/cat.png" "$B/gray.png" 2>/dev/null
run -w "$TINY" --json --skip-existing -o "$B.resume" "$B/cat.png" "$B/cat224.png"
rm -rf "$B.resume"

# Every weights failure, and the other failure classes.
for w in "$H"/w_*; do run -w "$w" -o out.png "$CAT"; done
run -w random:x1 "$CAT"
run -w "$ROOT/nothere.safetensors" "$CAT"
run -w "$TINY" -o nodir/out.png "$CAT"
run -w "$TINY" -o out.png nothere.png
run
run --frobnicate "$CAT"
run "$CAT" -o
run --guide sideways "$CAT"
run -m occlusion "$CAT"
run -t 0 "$CAT"
run -k -1 "$CAT"
run -w "$TINY" "$CAT" "$GRAY"
run -w "$TINY" -c 1000 -o out.png "$CAT"
run -w "$TINY" -c "flying spaghetti" -o out.png "$CAT"
run -w "$TINY" -c CARDIGAN -o out.png "$CAT"
run -w "$TINY" --layer features.99 -m gradcam -o out.png "$CAT"
run -w "$TINY" --layer classifier.1 -m gradcam -o out.png "$CAT"
run -w "$TINY" --layer features.10 --channel 99 -o out.png "$CAT"
run -w "$TINY" --baseline zero -o out.png "$CAT"
run -w "$TINY" --strip s.png -o o "$CAT" "$GRAY"
run -w "$TINY" --style heatmap -o out.png "$CAT"
run -w "$TINY" --style heatmap --colormap turbo --alpha 0.3 --sign pos -o out.png "$CAT"
run -w "$TINY" --colormap viridis -o out.png "$CAT"
run -w "$TINY" -m gradcam --style pos -o out.png "$CAT"
run -w "$TINY" --smooth 3 -m gradcam -o out.png "$CAT"
run -w "$TINY" --batch 0 -o out.png "$CAT"
run -w "$TINY" --shard 2/2 -o o "$B"
run -w "$TINY" -o "$CAT" "$CAT"
run -w "$TINY" -o o "$ROOT/test/fixtures/golden"
run --help
export GUIDEDBP_ISA=sse2
run --version
export GUIDEDBP_ISA=avx9
run -w "$TINY" -o out.png "$CAT"
unset GUIDEDBP_ISA
rm -rf "$B" "$B.list"
echo "$n commands, $(find "$OUT" -type f | wc -l) files in $OUT"
