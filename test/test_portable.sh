#!/bin/sh
# --portable: the same bytes whatever code the CPU lets glibc, libjpeg-turbo
# and gemm pick. This machine stands in for others by running each of them
# under every variant it has: gemm's instruction sets (GUIDEDBP_ISA), glibc's
# FMA/AVX2 or baseline libm (GLIBC_TUNABLES) and libjpeg-turbo's SIMD levels
# (JSIMD_FORCE*). The maps of the test images and methods, including the
# ones that call exp, log and cos (SmoothGrad, integrated gradients, random
# weights), must be identical bytes under all of them.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
IMG=test/fixtures/images
isas=$(GUIDEDBP_ISA= "$GUIDEDBP" --version | sed -n 's/^gemm: .* (this CPU has: \(.*\)).*/\1/p')

# run NAME ENV... : the maps of every case into $TMP/NAME, under ENV: the
# test images through the tiny model with four methods, and full-size
# AlexNet weights drawn at random (61 million Box-Muller draws, log and cos)
# with SmoothGrad (its noise drawn the same way).
run() {
    out=$TMP/$1
    shift
    for m in "guided" "gradient --smooth 3 --seed 4" "integrated --steps 4" "gradcam"; do
        tag=$(echo "$m" | tr ' ./-' '____')
        # shellcheck disable=SC2086
        env "$@" "$GUIDEDBP" -q --portable -w "$TINY" -m $m --npy -o "$out/$tag" "$TMP/images" ||
            return 1
    done
    env "$@" "$GUIDEDBP" -q --portable -w random:0 -c 281 --smooth 2 -o "$out/random0.png" \
        "$IMG/cat.jpg"
}
mkdir -p "$TMP/images"
cp "$IMG/cat.png" "$IMG/gray.png" "$TMP/images/"
cp "$IMG/cat.jpg" "$TMP/images/cat_jpeg.jpg"

same_bytes_everywhere() {
    run base || return 1
    n=0
    for isa in $isas; do
        for libm in "" "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA"; do
            for simd in "" JSIMD_FORCENONE=1; do
                n=$((n + 1))
                # shellcheck disable=SC2086
                run "v$n" GUIDEDBP_ISA="$isa" $libm $simd || return 1
                diff -r "$TMP/base" "$TMP/v$n" >/dev/null ||
                    fail_with "differs under GUIDEDBP_ISA=$isa $libm $simd" || return 1
            done
        done
    done
    echo "  $n variants, $(find "$TMP/base" -type f | wc -l) files each, identical"
}
check "--portable: the same bytes under every gemm ISA, libm and libjpeg-turbo variant" \
    same_bytes_everywhere

# The restarted run is the portable one: it ignores the caller's
# GUIDEDBP_ISA (a name no CPU has fails without --portable) and says so in
# the provenance.
restarted() {
    GUIDEDBP_ISA=bogus "$GUIDEDBP" -q -w "$TINY" -o "$TMP/r.png" "$IMG/cat.png" 2>/dev/null &&
        fail_with "GUIDEDBP_ISA=bogus ran without --portable" && return 1
    GUIDEDBP_ISA=bogus "$GUIDEDBP" -q --portable -w "$TINY" --json -o "$TMP/r.png" \
        "$IMG/cat.png" >"$TMP/r.json" || fail_with "--portable did not restart" || return 1
    grep -q '"portable":true' "$TMP/r.json" || fail_with "$(cat "$TMP/r.json")"
}
check "--portable restarts with the baseline code, recorded as portable in the settings" restarted

summary
