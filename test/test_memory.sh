#!/bin/sh
# The decoding budget (--max-decode-memory): images whose decoding would
# together pass it wait for each other, so four 4096x4096 16-bit RGBA PNGs
# (260 MB each to decode, image.h) on two threads under a budget of 1 MB
# peak at one image's memory, not two; their maps are the same bytes as
# when decoded side by side. The decoders' own figures are
# test_decode_memory's.
. test/lib.sh

TINY=test/fixtures/golden/tiny.safetensors
# Under AddressSanitizer (make check) freed blocks wait in a quarantine and
# count in the RSS; without it the peaks are the allocator's, as here.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
export ASAN_OPTIONS
PY=${PYTHON:-python3}

"$PY" - "$TMP" <<'PY' || { echo "not ok making the images"; echo "0 passed, 1 failed"; exit 1; }
import struct, sys, zlib
w = h = 4096
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(4):
    z = zlib.compressobj(9)
    row = b"\x00" + bytes([40 * i]) * (w * 8)  # a grey a file, opaque or not
    data = b"".join(z.compress(row) for _ in range(h)) + z.flush()
    with open(f"{sys.argv[1]}/big{i}.png", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0))
                + chunk(b"IDAT", data) + chunk(b"IEND", b""))
PY

# peak_kb CMD...: the peak RSS of CMD in KB, or -1 when it fails.
peak_kb() {
    "$PY" -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)' "$@"
}

one_at_a_time() {
    one=$(peak_kb "$GUIDEDBP" -w "$TINY" "$TMP/big0.png" -o "$TMP/one.png")
    four=$(peak_kb "$GUIDEDBP" -w "$TINY" --threads 2 --batch 4 --max-decode-memory 1 \
        "$TMP"/big?.png -o "$TMP/budget/")
    echo "  one image alone: $((one / 1024)) MB; four on two threads, budget 1 MB: $((four / 1024)) MB"
    [ "$one" -gt 0 ] && [ "$four" -gt 0 ] || fail_with "a run failed" || return 1
    [ "$four" -le $((one + one / 5)) ] || fail_with "the budget let two images decode at once"
}

same_maps() {
    "$GUIDEDBP" -q -w "$TINY" --threads 2 --batch 4 "$TMP"/big?.png -o "$TMP/free/" || return 1
    for i in 0 1 2 3; do
        cmp -s "$TMP/free/big${i}_guided.png" "$TMP/budget/big${i}_guided.png" ||
            fail_with "big${i}_guided.png differs" || return 1
    done
}

refused_value() {
    expect 2 "--max-decode-memory 0: expected megabytes" \
        "$GUIDEDBP" -w "$TINY" --max-decode-memory 0 "$TMP/big0.png" -o "$TMP/x.png"
}

check "images wait for the decoding budget, and decode one at a time under 1 MB" one_at_a_time
check "the budget changes no map" same_maps
check "--max-decode-memory 0 is refused" refused_value
summary
