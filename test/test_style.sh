#!/bin/sh
# --style, --colormap, --alpha and --sign on the command line: which
# combinations are accepted and which refused (and how), the default output
# names, the sizes of what is written, and the same bytes for any --threads
# and --batch. Whether the pixels are matplotlib's is test_overlay.c's
# business.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
CAT=test/fixtures/images/cat.png
mkdir -p "$TMP/in" && cp "$CAT" "$TMP/in/cat.png" && cp test/fixtures/images/cat.jpg "$TMP/in/kit.jpg"

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk.
png_size() {
    set -- $(head -c 24 "$1" | tail -c 8 | od -An -tu1)
    echo "$(($1 << 24 | $2 << 16 | $3 << 8 | $4))x$(($5 << 24 | $6 << 16 | $7 << 8 | $8))"
}

# run_in DIR ARGS...: guidedbp on $TMP/in/cat.png with its default output name in DIR.
run_in() {
    dir=$1
    shift
    mkdir -p "$dir" && (cd "$dir" && "$OLDPWD/$GUIDEDBP" -q -w "$OLDPWD/$TINY" "$@" "$TMP/in/cat.png")
}

every_method_overlays() {
    for m in guided gradient deconv grad-x-input integrated guided-gradcam gradcam; do
        extra=
        [ "$m" = integrated ] && extra="--steps 2"
        run_in "$TMP/m" -m "$m" --style heatmap $extra ||
            fail_with "-m $m --style heatmap failed" || return 1
        want=cat_${m}_heatmap.png
        [ "$m" = gradcam ] && want=cat_gradcam.png # heatmap is gradcam's default style
        [ -f "$TMP/m/$want" ] || fail_with "-m $m: no $want: $(ls "$TMP/m")" || return 1
        [ "$(png_size "$TMP/m/$want")" = 224x224 ] || fail_with "$want is $(png_size "$TMP/m/$want")" ||
            return 1
    done
    run_in "$TMP/m" --smooth 2 --style heatmap --sign neg --colormap viridis --alpha 0.25 &&
        [ -f "$TMP/m/cat_guided_heatmap.png" ] || fail_with "--smooth with a heatmap"
}
check "every method has a heatmap, named %s_%m_heatmap unless it is the default" every_method_overlays

refused() {
    expect 2 "--colormap: only with --style heatmap \(the style is color\)" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --colormap viridis -o "$TMP/r.png" || return 1
    expect 2 "--alpha: only with --style heatmap \(the style is gray\)" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --style gray --alpha 0.3 -o "$TMP/r.png" || return 1
    expect 2 "--sign: only with --style heatmap \(the style is pos\)" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --style pos --sign pos -o "$TMP/r.png" || return 1
    expect 2 "--sign: -m gradcam's cam is not signed" \
        "$GUIDEDBP" -w "$TINY" "$CAT" -m gradcam --sign neg -o "$TMP/r.png" || return 1
    expect 2 "--style pos: a cam is shown as heatmap or gray" \
        "$GUIDEDBP" -w "$TINY" "$CAT" -m gradcam --style pos -o "$TMP/r.png" || return 1
    expect 2 "--colormap hot: expected jet, viridis, inferno, turbo or gray" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --style heatmap --colormap hot -o "$TMP/r.png" || return 1
    expect 2 "--sign both: expected abs, pos or neg" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --style heatmap --sign both -o "$TMP/r.png" || return 1
    for a in 1.5 -0.1 nan inf 0.5x ""; do
        expect 2 "--alpha $a: expected a number from 0 to 1" \
            "$GUIDEDBP" -w "$TINY" "$CAT" --style heatmap --alpha "$a" -o "$TMP/r.png" || return 1
    done
    [ ! -f "$TMP/r.png" ] || fail_with "a refused run wrote its output"
}
check "--colormap, --alpha and --sign: refused values and combinations" refused

# At alpha 0 every heatmap is the photo, whatever the method, map or colormap.
alpha_zero_is_the_photo() {
    "$GUIDEDBP" -q -w "$TINY" "$CAT" --style heatmap --alpha 0 -o "$TMP/a0g.png" &&
        "$GUIDEDBP" -q -w "$TINY" "$CAT" -m gradcam --colormap gray --alpha 0 -o "$TMP/a0c.png" &&
        "$GUIDEDBP" compare "$TMP/a0g.png" "$TMP/a0c.png" >"$TMP/a0.out" 2>&1 ||
        fail_with "$(cat "$TMP/a0.out")" || return 1
    "$GUIDEDBP" -q -w "$TINY" "$CAT" --style heatmap --alpha 1 -o "$TMP/a1.png" &&
        ! "$GUIDEDBP" compare "$TMP/a0g.png" "$TMP/a1.png" >/dev/null 2>&1 ||
        fail_with "alpha 1 is the photo too"
}
check "--alpha 0 is the photo for any method; --alpha 1 is not" alpha_zero_is_the_photo

full_size() {
    "$GUIDEDBP" -q -w "$TINY" "$CAT" -m gradient --style heatmap --sign pos --full-size \
        -o "$TMP/f.png" && [ "$(png_size "$TMP/f.png")" = 451x300 ] ||
        fail_with "--full-size: $(png_size "$TMP/f.png")" || return 1
    "$GUIDEDBP" -q -w "$TINY" "$CAT" --style heatmap --crop none -o "$TMP/n.png" &&
        [ "$(png_size "$TMP/n.png")" = 336x224 ] || fail_with "--crop none: $(png_size "$TMP/n.png")" ||
        return 1
    "$GUIDEDBP" -q -w "$TINY" "$CAT" --style heatmap --crop none --full-size -o "$TMP/nf.png" &&
        [ "$(png_size "$TMP/nf.png")" = 451x300 ] || fail_with "--crop none --full-size: $(png_size "$TMP/nf.png")"
}
check "a map's heatmap at full size and with --crop none" full_size

# The settings stored in the PNG (and compared by --skip-existing) hold the overlay.
settings_hold_the_overlay() {
    out=$TMP/s/cat_guided_heatmap.png
    "$GUIDEDBP" -q -w "$TINY" "$TMP/in/cat.png" --style heatmap --colormap inferno -o "$TMP/s/" --json \
        >"$TMP/s.json" || return 1
    grep -q '"overlay":{"colormap":"inferno","alpha":0.5,"sign":"abs"}' "$TMP/s.json" ||
        fail_with "$(cat "$TMP/s.json")" || return 1
    "$GUIDEDBP" -q -w "$TINY" "$TMP/in/cat.png" --style heatmap --colormap inferno -o "$TMP/s/" \
        --skip-existing --json | grep -q '"status":"skipped"' || fail_with "not skipped" || return 1
    "$GUIDEDBP" -q -w "$TINY" "$TMP/in/cat.png" --style heatmap --colormap inferno --alpha 0.7 \
        -o "$TMP/s/" --skip-existing --json | grep -q '"status":"ok"' ||
        fail_with "another --alpha was skipped" || return 1
    [ -f "$out" ]
}
check "--skip-existing redoes a heatmap whose overlay changed" settings_hold_the_overlay

compare_methods() {
    "$GUIDEDBP" -q -w "$TINY" "$CAT" -c 281 --compare-methods guided,gradcam,integrated --steps 2 \
        --style heatmap --strip "$TMP/cmp.png" -o "$TMP/main.png" || fail_with "the run failed" ||
        return 1
    [ "$(png_size "$TMP/cmp.png")" = 672x244 ] || fail_with "the strip is $(png_size "$TMP/cmp.png")" ||
        return 1
    [ "$(png_size "$TMP/main.png")" = 224x224 ] || fail_with "no main output" || return 1
    expect 2 "--compare-methods needs --strip FILE.png" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --compare-methods guided,gradient -o "$TMP/r.png" || return 1
    expect 2 "--compare-methods: not with --check" "$GUIDEDBP" -w "$TINY" "$CAT" --check class \
        --compare-methods guided,gradient --strip "$TMP/rs.png" -o "$TMP/r.png" || return 1
    expect 2 "--compare-methods guided: expected two or more methods" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --compare-methods guided --strip "$TMP/rs.png" || return 1
    expect 2 "--compare-methods gradient,gradient: gradient twice" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --compare-methods gradient,gradient --strip "$TMP/rs.png" ||
        return 1
    expect 2 "--compare-methods guided,,gradcam: unknown method '' \(available: guided, " \
        "$GUIDEDBP" -w "$TINY" "$CAT" --compare-methods guided,,gradcam --strip "$TMP/rs.png" ||
        return 1
    expect 2 "--compare-methods: gradcam explains a class, not --channel's channel" \
        "$GUIDEDBP" -w "$TINY" "$CAT" --layer features.10 --channel 3 \
        --compare-methods guided,gradcam --strip "$TMP/rs.png" || return 1
    expect 2 "--strip .*only with one image" "$GUIDEDBP" -w "$TINY" "$TMP/in" -o "$TMP/d/" \
        --compare-methods guided,gradient --strip "$TMP/rs.png" || return 1
    [ ! -f "$TMP/rs.png" ] && [ ! -f "$TMP/r.png" ] || fail_with "a refused run wrote"
}
check "--compare-methods: the strip of several methods, and its refusals" compare_methods

same_bytes() {
    for style in heatmap pos neg gray; do
        "$GUIDEDBP" -q -w "$TINY" "$TMP/in" --style "$style" --threads 1 --batch 1 -o "$TMP/b1/" &&
            "$GUIDEDBP" -q -w "$TINY" "$TMP/in" --style "$style" --threads 2 --batch 2 -o "$TMP/b2/" ||
            return 1
        for f in cat kit; do
            cmp -s "$TMP/b1/${f}_guided_$style.png" "$TMP/b2/${f}_guided_$style.png" ||
                fail_with "$style: $f differs between --threads 1 --batch 1 and 2/2" || return 1
        done
    done
}
check "the same bytes for any --threads and --batch" same_bytes

summary
