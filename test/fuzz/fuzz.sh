#!/bin/sh
# fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets of test/fuzz/
# (clang, -fsanitize=fuzzer,address,undefined) into build/fuzz/ and runs
# each for SECONDS (default 60) on a scratch copy of its seed corpus
# test/fuzz/corpus/TARGET (the committed corpus never grows by itself).
# Targets: safetensors weights image cli (default: all, one after another).
# SECONDS 0 only builds them (run one by hand: build/fuzz/fuzz_TARGET -help=1).
# FUZZ_OUT=DIR builds and works in DIR instead of build/fuzz (two runs at once).
#
# FUZZ_MSAN=1: the image target with MemorySanitizer instead, as
# build/fuzz/fuzz_image_msan (only the image sources are linked: MSan needs
# everything that touches the data instrumented; so PNG only, libjpeg-turbo
# is Debian's uninstrumented build).
#
# Exit status 0 when no target found anything; otherwise 1, after printing
# each reproducer's path. Reproduce one with:
#     build/fuzz/fuzz_TARGET build/fuzz/crash-TARGET-...
# Keep a finding once it is fixed: its input goes into test/hostile/ with
# the expected message (test/gen/make_hostile.py) or into the seed corpus.
#
# Memory is bounded (-rss_limit_mb, -malloc_limit_mb) and the targets check
# that no single allocation exceeds what the input justifies, so a
# decompression bomb is a finding, not a slow run. Needs clang and
# libclang-rt-dev (Debian: clang-14 libclang-rt-14-dev).
set -eu

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-safetensors weights image cli}
CC=${FUZZ_CC:-clang}
out=${FUZZ_OUT:-build/fuzz}

command -v "$CC" >/dev/null 2>&1 ||
    { echo "fuzz.sh: $CC not found (apt-get install clang libclang-rt-dev)" >&2; exit 2; }
mkdir -p "$out/obj"

base="-std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fno-omit-frame-pointer -Isrc"
flags="$base -fsanitize=address,undefined -fno-sanitize-recover=all
       $(pkg-config --cflags libcjson stb libjpeg)"
libs="$(pkg-config --libs libcjson stb libjpeg nettle zlib) -lpthread -lm"

if [ "${FUZZ_MSAN:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    $CC $base -D_GNU_SOURCE $(pkg-config --cflags stb) -fsanitize=fuzzer,memory \
        -fsanitize-memory-track-origins -o "$out/fuzz_image_msan" test/fuzz/fuzz_image.c \
        src/io/image.c src/io/raster.c src/io/jpeg.c src/io/png.c src/io/fileio.c src/io/resize.c src/io/preprocess.c src/io/digest.c src/util/error.c \
        test/fuzz/stb_image_impl.c $(pkg-config --libs libjpeg zlib nettle) -lm || exit 2
    targets=image_msan
else
    for t in $targets; do
        [ -f "test/fuzz/fuzz_$t.c" ] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
    done
    # The library (everything but main.c) plus the compiled-in class names,
    # instrumented for coverage; rebuilt every run, it takes seconds.
    if [ -f weights/imagenet_classes.txt ]; then
        sh src/cli/labels_to_c.sh weights/imagenet_classes.txt >"$out/labels_data.c"
    fi
    objs=""
    for src in $(ls src/*/*.c) "$out/labels_data.c" \
        test/fuzz/stb_image_impl.c; do
        obj="$out/obj/$(basename "$src" .c).o"
        cov=-fsanitize=fuzzer-no-link
        case $src in
            # Pixel and tensor kernels: edge coverage, but no comparison
            # tracing, which would spend most of each run in their loops.
            src/io/resize.c|src/io/preprocess.c|src/nn/conv.c|src/nn/im2col.c|src/nn/linear.c|src/nn/pool.c|src/nn/relu.c|src/nn/gemm.c)
                cov="$cov -fno-sanitize-coverage=trace-cmp" ;;
            # stb_image 2.27 shifts by 32 and shifts negative values on
            # corrupt JPEG data (stbi__grow_buffer_unsafe,
            # stbi__extend_receive; upstream issue 1291): guidedbp no longer
            # hands it JPEGs, but the code is compiled in; undefined,
            # harmless on x86. Memory errors and indexing are still reported.
            test/fuzz/stb_image_impl.c) cov="$cov -fno-sanitize=shift" ;;
        esac
        # shellcheck disable=SC2086
        $CC $flags $cov -c -o "$obj" "$src" || exit 2
        objs="$objs $obj"
    done
    for t in $targets; do
        # The harness itself needs no comparison tracing either.
        # shellcheck disable=SC2086
        $CC $flags -D_GNU_SOURCE -fsanitize=fuzzer -fno-sanitize-coverage=trace-cmp \
            -o "$out/fuzz_$t" "test/fuzz/fuzz_$t.c" $objs $libs || exit 2
    done
fi
[ "$seconds" -gt 0 ] || exit 0

status=0
for t in $targets; do
    seeds=${t%_msan}
    work="$out/corpus-$t"
    rm -rf "$work"
    mkdir -p "$work"
    cp test/fuzz/corpus/"$seeds"/* "$work"/ 2>/dev/null || true
    max_len=65536
    case $seeds in
        image)
            # Small inputs keep runs fast (a 35 KB photo costs 20 ms each
            # under the sanitizers); the fixture photos that fit are seeds too.
            max_len=16384
            for f in test/fixtures/images/*.png test/fixtures/images/*.jpg; do
                [ "$(wc -c <"$f")" -le $max_len ] && cp "$f" "$work"/
            done ;;
        cli) max_len=4096 ;;
    esac
    dict=""
    [ -f "test/fuzz/$seeds.dict" ] && dict="-dict=test/fuzz/$seeds.dict"

    log="$out/$t.log"
    echo "== fuzz_$t: $seconds s (log: $log)"
    set +e
    # shellcheck disable=SC2086
    "$out/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -max_len=$max_len -print_final_stats=1 \
        -artifact_prefix="$out/crash-$t-" $dict "$work" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
        sed -n 's/.*\(cov: [0-9]*\).*\(ft: [0-9]*\).*\(corp: [0-9/]*[a-zA-Z]*\).*/\1 \2 \3/p')
    echo "fuzz_$t: ${runs:-?} runs, $cov"
    if [ "$rc" -ne 0 ]; then
        status=1
        grep -E '^(==[0-9]+==ERROR|SUMMARY|FUZZ FINDING|.*runtime error|.*Assertion)' "$log" |
            head -n 5
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        echo "fuzz_$t: FINDING (exit $rc); reproducer: ${repro:-see $log}"
        echo "  reproduce: $out/fuzz_$t ${repro:-}"
    fi
done
exit $status
