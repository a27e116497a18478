#!/bin/sh
# compare_tolerances.sh [GUIDEDBP]: the measurements behind `guidedbp
# compare`'s default limits (explain/mapdiff.h; README: Golden-image tests).
# Prints a Markdown table of what compare measures on two kinds of pairs:
#   (a) the same map within float rounding: our maps against the PyTorch
#       goldens of test/fixtures/golden (PNG and .npy) and test/fixtures/resnet
#       (.npy), and our maps under GUIDEDBP_ISA=sse2 against the default ISA's;
#   (b) another map: the same image for class 281 and 282 (random:0 and the
#       tiny test model, guided and gradient), random:0 against random:1, and
#       one layer re-drawn (classifier.6, classifier.1, features.10,
#       features.0; test/bench/redraw_layer.c).
# Run it from a built checkout (`make` first: the helper links build/'s
# objects). Takes about a minute; writes only in a temporary directory.
set -eu
bin=${1:-./guidedbp}
build=${BUILD:-build}
py=${PYTHON:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
F=test/fixtures
recs=$out/records.jsonl
: >"$recs"
same=0 files=0

# The helper, compiled against the library as the tests are.
objs="$build/labels_data.o"
for src in src/*.c src/*/*.c; do
    [ "$src" = src/main.c ] || objs="$objs $build/$(echo "${src#src/}" | sed 's/\.c$/.o/')"
done
# shellcheck disable=SC2086
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Isrc $(pkg-config --cflags libcjson stb) \
    -o "$out/redraw_layer" test/bench/redraw_layer.c $objs \
    $(pkg-config --libs libcjson stb libjpeg nettle) -lpthread -lm

# pair GROUP GOLDEN ACTUAL: compare's record of one pair, with its group;
# for the instruction sets, also whether the files are byte-identical.
pair() {
    case $1 in *ISA*) files=$((files + 1)) && cmp -s "$2" "$3" && same=$((same + 1)) ;; esac
    "$bin" compare --json "$2" "$3" 2>/dev/null |
        "$py" -c 'import json, sys; r = json.load(sys.stdin); r["group"] = sys.argv[1]; print(json.dumps(r))' \
            "$1" >>"$recs"
}

# (a) The same map: the goldens' cases (test/test_golden.c, test/test_resnet.c).
for c in tiny_cat224_png_features:tiny:cat224.png:features:707 tiny_cat224_png_all:tiny:cat224.png:all:707 \
    tiny_cat_png_features:tiny:cat.png:features:707 tiny_cat_png_all:tiny:cat.png:all:707 \
    tiny_cat_jpg_features:tiny:cat.jpg:features:707 tiny_cat_jpg_all:tiny:cat.jpg:all:707 \
    tiny_gray_png_features:tiny:gray.png:features:707 tiny_gray_png_all:tiny:gray.png:all:707 \
    random0_cat224_png_features:random:0:cat224.png:features:281 \
    random0_cat224_png_all:random:0:cat224.png:all:281 random0_cat_png_features:random:0:cat.png:features:281; do
    name=${c%%:*} rest=${c#*:}
    case $rest in tiny:*) w=$F/golden/tiny.safetensors rest=${rest#tiny:} ;; *) w=random:0 rest=${rest#random:0:} ;; esac
    img=${rest%%:*} rest=${rest#*:} guide=${rest%%:*} cls=${rest#*:}
    "$bin" -q -w "$w" --guide "$guide" -c "$cls" --npy -o "$out/$name.png" "$F/images/$img"
    GUIDEDBP_ISA=sse2 "$bin" -q -w "$w" --guide "$guide" -c "$cls" --npy -o "$out/$name.sse2.png" "$F/images/$img"
    pair "a: ours vs PyTorch" "$F/golden/$name.png" "$out/$name.png"
    pair "a: ours vs PyTorch" "$F/golden/${name}_map.npy" "$out/$name.npy"
    pair "a: sse2 vs default ISA" "$out/$name.sse2.png" "$out/$name.png"
    pair "a: sse2 vs default ISA" "$out/$name.sse2.npy" "$out/$name.npy"
done
for arch in resnet18:268 resnet50:879; do
    a=${arch%:*} cls=${arch#*:}
    for m in guided_features:guided gradient:gradient deconv:deconv grad_x_input:grad-x-input \
        gradcam:gradcam integrated8_black:integrated; do
        name=${a}_cat224_${m%:*}
        steps=""
        [ "${m#*:}" = integrated ] && steps="--steps 8"
        # shellcheck disable=SC2086
        "$bin" -q -w "$F/resnet/$a.safetensors" -m "${m#*:}" $steps -c "$cls" --npy -o "$out/$name.png" "$F/images/cat224.png"
        # shellcheck disable=SC2086
        GUIDEDBP_ISA=sse2 "$bin" -q -w "$F/resnet/$a.safetensors" -m "${m#*:}" $steps -c "$cls" --npy \
            -o "$out/$name.sse2.png" "$F/images/cat224.png"
        pair "a: ours vs PyTorch" "$F/resnet/${name}_map.npy" "$out/$name.npy"
        pair "a: sse2 vs default ISA" "$out/$name.sse2.png" "$out/$name.png"
        pair "a: sse2 vs default ISA" "$out/$name.sse2.npy" "$out/$name.npy"
    done
done
# (b) Other maps.
for img in cat.png cat224.png; do
    for m in guided gradient; do
        for w in random:0 "$F/golden/tiny.safetensors"; do
            tag=$(basename "$w" .safetensors)
            "$bin" -q -w "$w" -m $m -c 281 --npy -o "$out/$tag.$img.$m.281.png" "$F/images/$img"
            "$bin" -q -w "$w" -m $m -c 282 --npy -o "$out/$tag.$img.$m.282.png" "$F/images/$img"
            for k in png npy; do
                pair "b: class 281 vs 282" "$out/$tag.$img.$m.281.$k" "$out/$tag.$img.$m.282.$k"
            done
        done
        "$bin" -q -w random:1 -m $m -c 281 --npy -o "$out/random:1.$img.$m.281.png" "$F/images/$img"
        for k in png npy; do
            pair "b: random:0 vs random:1" "$out/random:0.$img.$m.281.$k" "$out/random:1.$img.$m.281.$k"
        done
    done
    for layer in classifier.6 classifier.1 features.10 features.0; do
        "$out/redraw_layer" random:0 "$F/images/$img" 281 $layer "$out/redraw.$img.$layer"
        for k in png npy; do
            pair "b: one layer re-drawn" "$out/redraw.$img.${layer}_orig.$k" "$out/redraw.$img.${layer}_redrawn.$k"
        done
    done
done

"$py" - "$recs" "$same" "$files" <<'PYEOF'
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
groups = []
for r in recs:
    if r["group"] not in groups: groups.append(r["group"])
def span(vals, fmt):
    lo, hi = min(vals), max(vals)
    return fmt % lo if lo == hi else (fmt % lo) + " - " + (fmt % hi)
print("| pairs | PNG: max level | PNG: values that differ | .npy: max err / max | .npy: 1 - cosine | pass (defaults) |")
print("|---|---|---|---|---|---|")
for g in groups:
    png = [r for r in recs if r["group"] == g and r["kind"] == "png"]
    npy = [r for r in recs if r["group"] == g and r["kind"] == "npy"]
    bad = [r for r in png + npy if r["max_level" if r["kind"] == "png" else "max_rel"] is None]
    assert not bad, bad
    cells = ["%s (%d PNG, %d .npy)" % (g, len(png), len(npy))]
    if png:
        cells += [span([r["max_level"] for r in png], "%d"),
                  span([r["differing"] for r in png], "%d") + " of %d (%s)" % (
                      png[0]["values"], span([r["differing_fraction"] * 100 for r in png], "%.3g%%"))]
    else:
        cells += ["", ""]
    cells += [span([r["max_rel"] for r in npy], "%.2g"), span([1 - r["cosine"] for r in npy], "%.2g")]
    cells.append("%d of %d" % (sum(r["pass"] for r in png + npy), len(png + npy)))
    print("| " + " | ".join(cells) + " |")
print("\nsse2 against the default instruction set: %s of %s files byte-identical (cmp)"
      % (sys.argv[2], sys.argv[3]))
PYEOF
