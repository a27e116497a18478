#!/bin/sh
# --crop on the command line: the sizes of what it writes, the refusal of an
# image too elongated (that image only), no crop warning when nothing is
# cropped, and the same bytes for any --batch. Whether the maps are
# PyTorch's is test_crop.c's business.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
WIDE=test/fixtures/crop/wide.png
TALL=test/fixtures/crop/tall.png
BANNER=test/fixtures/crop/banner.png # 9:1, past the 8:1 limit

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk.
png_size() {
    set -- $(head -c 24 "$1" | tail -c 8 | od -An -tu1)
    echo "$(($1 << 24 | $2 << 16 | $3 << 8 | $4))x$(($5 << 24 | $6 << 16 | $7 << 8 | $8))"
}

# size_is FILE WxH
size_is() {
    [ -f "$1" ] || fail_with "$1 was not written" || return 1
    got=$(png_size "$1")
    [ "$got" = "$2" ] || fail_with "$1 is $got, expected $2"
}

bad_value() {
    "$GUIDEDBP" -w "$TINY" --crop sideways "$WIDE" -o "$TMP/x.png" 2>"$TMP/bad.err"
    [ $? -eq 2 ] && grep -q -- "--crop sideways" "$TMP/bad.err" ||
        fail_with "$(cat "$TMP/bad.err")"
}
check "--crop takes center or none" bad_value

# The sizes come from the images themselves: shorter side 224, longer
# int(224 long / short), as torchvision's Resize.
expected_size() {
    set -- $(png_size "$1" | tr x ' ')
    if [ "$1" -le "$2" ]; then echo "224x$((224 * $2 / $1))"; else echo "$((224 * $1 / $2))x224"; fi
}

sizes() {
    for img in "$WIDE" "$TALL"; do
        stem=$(basename "$img" .png)
        "$GUIDEDBP" -q -w "$TINY" --crop none "$img" -o "$TMP/$stem.png" || return 1
        size_is "$TMP/$stem.png" "$(expected_size "$img")" || return 1
        "$GUIDEDBP" -q -w "$TINY" --crop none --full-size "$img" -o "$TMP/${stem}_full.png" ||
            return 1
        size_is "$TMP/${stem}_full.png" "$(png_size "$img")" || return 1
        "$GUIDEDBP" -q -w "$TINY" "$img" -o "$TMP/${stem}_center.png" || return 1
        size_is "$TMP/${stem}_center.png" 224x224 || return 1
    done
}
check "--crop none: the whole resized image; --full-size: the photo's size" sizes

no_warning() {
    "$GUIDEDBP" -w "$TINY" --crop none "$WIDE" -o "$TMP/w.png" >/dev/null 2>"$TMP/none.err" &&
        ! grep -q "center crop" "$TMP/none.err" || fail_with "$(cat "$TMP/none.err")" || return 1
    "$GUIDEDBP" -w "$TINY" "$WIDE" -o "$TMP/w.png" >/dev/null 2>"$TMP/center.err" &&
        grep -q "center crop (the recipe's) explains only .*--crop none explains it all" \
            "$TMP/center.err" || fail_with "center: $(cat "$TMP/center.err")"
}
check "the crop warning: given for the center crop, pointing at --crop none; not with none" \
    no_warning

too_elongated() {
    mkdir -p "$TMP/in"
    cp "$WIDE" "$TMP/in/a.png"
    cp "$BANNER" "$TMP/in/b.png"
    cp "$TALL" "$TMP/in/c.png"
    "$GUIDEDBP" -w "$TINY" --crop none -o "$TMP/out" "$TMP/in" >"$TMP/long.out" 2>"$TMP/long.err"
    status=$?
    [ $status -eq 1 ] || fail_with "exit $status, expected 1" || return 1
    grep -q "b.png: .* is too elongated for --crop none: .* more than 1792 (8:1); use --crop center" \
        "$TMP/long.err" || fail_with "$(cat "$TMP/long.err")" || return 1
    [ -f "$TMP/out/a_guided.png" ] && [ -f "$TMP/out/c_guided.png" ] &&
        [ ! -f "$TMP/out/b_guided.png" ] ||
        fail_with "the other images were not written: $(ls "$TMP/out")" || return 1
    "$GUIDEDBP" -q -w "$TINY" "$BANNER" -o "$TMP/banner.png" && size_is "$TMP/banner.png" 224x224
}
check "an image past 8:1 fails alone under --crop none (the center crop takes it)" too_elongated

# Images of three sizes in one run: each is its own pass, whatever --batch,
# and every output is the bytes the image gets alone.
any_batch() {
    mkdir -p "$TMP/mix"
    cp "$WIDE" "$TMP/mix/a.png"
    cp test/fixtures/images/cat.png "$TMP/mix/b.png"
    cp "$TALL" "$TMP/mix/c.png"
    cp "$WIDE" "$TMP/mix/d.png"
    "$GUIDEDBP" -q -w "$TINY" --crop none --batch 4 -t 2 -o "$TMP/b4" "$TMP/mix" || return 1
    "$GUIDEDBP" -q -w "$TINY" --crop none -t 1 -o "$TMP/b1" "$TMP/mix" || return 1
    for f in a b c d; do
        cmp -s "$TMP/b4/${f}_guided.png" "$TMP/b1/${f}_guided.png" || fail_with "$f differs" ||
            return 1
        "$GUIDEDBP" -q -w "$TINY" --crop none "$TMP/mix/$f.png" -o "$TMP/alone.png" || return 1
        cmp -s "$TMP/alone.png" "$TMP/b1/${f}_guided.png" || fail_with "$f alone differs" || return 1
    done
    size_is "$TMP/b1/b_guided.png" 336x224
}
check "--crop none: the same bytes for --batch 4 on 2 threads, --batch 1 and alone" any_batch

checks_and_cams() {
    "$GUIDEDBP" -w "$TINY" --crop none --check class --json "$TALL" -o "$TMP/chk.png" \
        >"$TMP/chk.json" 2>/dev/null || fail_with "--check class failed" || return 1
    grep -q '"spearman_abs":' "$TMP/chk.json" || fail_with "$(cat "$TMP/chk.json")" || return 1
    "$GUIDEDBP" -q -w "$TINY" --crop none -m gradcam "$WIDE" -o "$TMP/cam.png" &&
        size_is "$TMP/cam.png" "$(expected_size "$WIDE")" || return 1
    "$GUIDEDBP" -q -w "$TINY" --crop none -m gradcam --full-size "$TALL" -o "$TMP/camf.png" &&
        size_is "$TMP/camf.png" "$(png_size "$TALL")"
}
check "--crop none with a sanity check and with Grad-CAM heatmaps" checks_and_cams

summary
