#!/bin/sh
# test_convert.sh: scripts/convert_pth.py and scripts/get_weights.sh against the
# committed fixtures in test/fixtures/pth (written by PyTorch; regenerate with
# `make fixtures`). Needs no PyTorch: only ${PYTHON:-python3}'s standard library.
# Run from the project root.
. test/lib.sh

PY=${PYTHON:-python3}
ROOT=$(pwd)
FIX=$ROOT/test/fixtures/pth
CONVERT=$ROOT/scripts/convert_pth.py
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

# verify OUT SRC EXPECTED: OUT must be well-formed safetensors whose tensors
# are exactly those of $FIX/EXPECTED.json/.bin (names, order, shapes, bytes),
# with __metadata__ naming SRC and its SHA-256. Reads OUT independently of
# convert_pth.py.
verify() {
    "$PY" - "$@" <<'EOF'
import hashlib, json, os, struct, sys
out, src, expected = sys.argv[1:4]
fix = os.path.join("test", "fixtures", "pth", expected)

def fail(msg):
    print("  FAIL: %s: %s" % (out, msg))
    sys.exit(1)

blob = open(out, "rb").read()
if len(blob) < 8:
    fail("shorter than the 8-byte header length")
(n,) = struct.unpack("<Q", blob[:8])
if n % 8 or 8 + n > len(blob):
    fail("header length %d is not a multiple of 8 or runs past the file" % n)
raw = blob[8:8 + n]
if len(raw) - len(raw.rstrip(b" ")) >= 8:
    fail("more than 7 bytes of padding")
header = json.loads(raw.decode("utf-8"), object_pairs_hook=lambda p: p)
data = blob[8 + n:]
meta = dict(header).get("__metadata__")
meta = dict(meta) if meta else {}
if meta.get("source") != os.path.basename(src):
    fail("__metadata__ source is %r" % meta.get("source"))
digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
if meta.get("source_sha256") != digest:
    fail("__metadata__ source_sha256 is %r, file's is %s" % (meta.get("source_sha256"), digest))
entries = [(k, dict(v)) for k, v in header if k != "__metadata__"]
want = json.load(open(fix + ".json"))["tensors"]
want_bin = open(fix + ".bin", "rb").read()
if [k for k, _ in entries] != [t["name"] for t in want]:
    fail("names %s, expected %s" % ([k for k, _ in entries], [t["name"] for t in want]))
pos = 0
for (name, e), t in zip(entries, want):
    if e.get("dtype") != "F32" or e.get("shape") != t["shape"]:
        fail("%s: dtype %s shape %s, expected F32 %s" % (name, e.get("dtype"), e.get("shape"), t["shape"]))
    size = 4
    for d in t["shape"]:
        size *= d
    if e.get("data_offsets") != [pos, pos + size]:
        fail("%s: data_offsets %s, expected %s" % (name, e.get("data_offsets"), [pos, pos + size]))
    got, exp = data[pos:pos + size], want_bin[pos:pos + size]
    if got != exp:
        diff = [i // 4 for i in range(0, size, 4) if got[i:i + 4] != exp[i:i + 4]]
        fail("%s: %d of %d float32 differ bitwise, first at element %d"
             % (name, len(diff), size // 4, diff[0]))
    pos += size
if pos != len(data) or pos != len(want_bin):
    fail("%d data bytes, tensors cover %d, expected %d" % (len(data), pos, len(want_bin)))
EOF
}

# converts NAME PTH EXPECTED: PTH converts (exit 0, one summary line) to the
# tensors of EXPECTED.
converts() {
    dir=$TMP/$1
    mkdir -p "$dir"
    if ! "$PY" "$CONVERT" "$2" "$dir/out.safetensors" >"$dir/stdout" 2>"$dir/stderr"; then
        fail_with "exit status $?: $(cat "$dir/stderr")"
        return
    fi
    [ "$(wc -l <"$dir/stdout")" -eq 1 ] && [ ! -s "$dir/stderr" ] ||
        fail_with "expected one summary line and no stderr, got: $(cat "$dir/stdout" "$dir/stderr")" ||
        return
    verify "$dir/out.safetensors" "$2" "$3" || return
    [ "$(ls -A "$dir" | wc -l)" -eq 3 ] || fail_with "temp files left: $(ls -A "$dir")"
}

# refuses NAME PTH PATTERN [OPTIONS...]: converting PTH (run from an empty
# directory) exits 1 with one line on stderr matching PATTERN, no traceback,
# and leaves no output or temp file.
refuses() {
    dir=$TMP/$1
    pth=$2
    pattern=$3
    shift 3
    mkdir -p "$dir/work"
    (cd "$dir/work" && "$PY" "$CONVERT" "$@" "$pth" out.safetensors) >"$dir/stdout" 2>"$dir/stderr"
    status=$?
    [ "$status" -eq 1 ] || fail_with "exit status $status, expected 1: $(cat "$dir/stderr")" || return
    [ "$(wc -l <"$dir/stderr")" -eq 1 ] && [ ! -s "$dir/stdout" ] ||
        fail_with "expected one line on stderr, got: $(cat "$dir/stdout" "$dir/stderr")" || return
    grep -q "$pattern" "$dir/stderr" || fail_with "message '$(cat "$dir/stderr")' lacks '$pattern'" ||
        return
    [ -z "$(ls -A "$dir/work")" ] || fail_with "left files behind: $(ls -A "$dir/work")"
}

check "zip file converts bit-exactly" converts toy_zip "$FIX/toy_zip.pth" toy
check "legacy file converts bit-exactly" converts toy_legacy "$FIX/toy_legacy.pth" toy
check "plain dict converts" converts plain "$FIX/plain_zip.pth" plain
check "pre-0.4 _rebuild_tensor file converts" converts v1 "$FIX/v1_legacy.pth" v1

summary_says() {
    grep -q "toy_legacy.pth (legacy format, sha256 [0-9a-f]\{64\}): 11 tensors, 114 float32 values" \
        "$TMP/toy_legacy/stdout" || fail_with "summary: $(cat "$TMP/toy_legacy/stdout")"
}
check "summary line names format, tensors and values" summary_says

# Hostile pickles, refused before their first object is built.
check "refuses os.system pickle as the whole file" \
    refuses evil_raw "$FIX/evil_raw.pth" "refusing pickle global posix.system in the magic number"
check "refuses os.system pickle as legacy sys info" \
    refuses evil_legacy "$FIX/evil_legacy.pth" "refusing pickle global posix.system in the sys info"
check "refuses os.system pickle as zip data.pkl" \
    refuses evil_zip "$FIX/evil_zip.pth" "refusing pickle global posix.system in the data.pkl"
no_marker() {
    for t in evil_raw evil_legacy evil_zip; do
        [ ! -e "$TMP/$t/work/guidedbp-pwned" ] || fail_with "$t ran its payload" || return
    done
}
check "hostile pickles created no marker file" no_marker
fixture_is_hostile() {
    mkdir -p "$TMP/plain_pickle"
    (cd "$TMP/plain_pickle" &&
        "$PY" -c 'import pickle, sys; pickle.load(open(sys.argv[1], "rb"))' "$FIX/evil_raw.pth")
    [ -e "$TMP/plain_pickle/guidedbp-pwned" ] ||
        fail_with "evil_raw.pth does not run its payload under plain pickle: the test proves nothing"
}
check "the hostile fixture does run its payload under plain pickle.load" fixture_is_hostile
check "refuses a torch global a state_dict does not need" \
    refuses parameter "$FIX/parameter.pth" "refusing pickle global torch._utils._rebuild_parameter"

# Not a .pth, or a broken one.
printf '' >"$TMP/empty.pth"
printf 'hello, I am text\n' >"$TMP/text.pth"
check "refuses an empty file" refuses empty "$TMP/empty.pth" "file is empty"
check "refuses a text file" refuses text "$TMP/text.pth" "not a PyTorch file"
check "refuses a missing file" refuses missing "$TMP/nonexistent.pth" "No such file"
check "refuses a truncated zip" refuses truncated_zip "$FIX/truncated_zip.pth" "truncated or corrupt zip"
check "refuses a truncated legacy file" \
    refuses truncated_legacy "$FIX/truncated_legacy.pth" "file is truncated"
check "refuses a wrong magic number" refuses wrong_magic "$FIX/wrong_magic.pth" "wrong magic number"

# Inconsistent tensors.
check "refuses a storage record shorter than its persistent id" \
    refuses short_record "$FIX/short_record_zip.pth" "record is 16 bytes, but its 6 float32 elements need 24"
check "refuses a storage shorter than its tensor needs" \
    refuses short_storage "$FIX/short_storage_legacy.pth" \
    "tensor 'w' (shape \[4,4\], offset 0, stride \[4,1\]) needs 16 elements of storage '0', which has only 10"
check "refuses size and stride of different lengths" \
    refuses stride_mismatch "$FIX/stride_mismatch_zip.pth" "size \[2,3\] but stride \[3\]"
check "refuses a negative size" refuses negative_size "$FIX/negative_size_zip.pth" "invalid shape \[2,-3\]"
check "refuses float64 tensors" refuses float64 "$FIX/float64.pth" "tensor 'w' has dtype float64"
check "--expect alexnet refuses a wrong shape" \
    refuses alexnet_shape "$FIX/alexnet_tiny.pth" \
    "tensor 'features.0.weight' has shape \[2,3,1,1\], expected \[64,3,11,11\] for alexnet" \
    --expect alexnet
check "--expect alexnet refuses other names" \
    refuses alexnet_names "$FIX/toy_zip.pth" "tensor 'features.0.weight' is missing" --expect alexnet

# torchvision AlexNet/VGG: the committed reduced-width VGGs of test/fixtures/vgg
# (test/gen/fixtures_vgg.py) convert to exactly the committed .safetensors,
# which the C tests load. vgg_check reads a converted file independently of
# convert_pth.py: its __metadata__, its tensor names (torchvision's module
# indices, hard-coded here), and its values, which must be the .pth's own
# (read with convert_pth's reader, tested above) or, for a _bn model, the
# BatchNorm folded into the convolution by the rule below, computed here with
# struct: s = gamma / sqrt(running_var + 1e-5), W' = W s, b' = (b - mean) s +
# beta, in float64, rounded once to float32.
VGG=$ROOT/test/fixtures/vgg

vgg_check() {
    "$PY" - "$@" <<'EOF'
import hashlib, json, math, os, struct, sys
sys.path.insert(0, "scripts")
import convert_pth
out, src, arch = sys.argv[1:4]

def fail(msg):
    print("  FAIL: %s: %s" % (out, msg))
    sys.exit(1)

CONVS = {
    "alexnet": [0, 3, 6, 8, 10],
    "vgg11": [0, 3, 6, 8, 11, 13, 16, 18],
    "vgg13": [0, 2, 5, 7, 10, 12, 15, 17, 20, 22],
    "vgg16": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
    "vgg19": [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34],
    "vgg11_bn": [0, 4, 8, 11, 15, 18, 22, 25],
    "vgg13_bn": [0, 3, 7, 10, 14, 17, 21, 24, 28, 31],
    "vgg16_bn": [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40],
    "vgg19_bn": [0, 3, 7, 10, 14, 17, 20, 23, 27, 30, 33, 36, 40, 43, 46, 49],
}
linears = [1, 4, 6] if arch == "alexnet" else [0, 3, 6]
names = ["features.%d.%s" % (i, p) for i in CONVS[arch] for p in ("weight", "bias")]
names += ["classifier.%d.%s" % (i, p) for i in linears for p in ("weight", "bias")]

blob = open(out, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=lambda p: p)
data = blob[8 + n:]
meta = dict(dict(header).get("__metadata__") or [])
digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
want_meta = {"format": "pt", "source": os.path.basename(src), "source_sha256": digest,
             "arch": arch}
for k, v in want_meta.items():
    if meta.get(k) != v:
        fail("__metadata__ %s is %r, expected %r" % (k, meta.get(k), v))
entries = [(k, dict(v)) for k, v in header if k != "__metadata__"]
if [k for k, _ in entries] != names:
    fail("tensors %s, expected %s" % ([k for k, _ in entries], names))

_, tensors = convert_pth.read_state_dict(src)
sd = {t.name: t for t in tensors}

def floats(raw):
    return struct.unpack("<%df" % (len(raw) // 4), raw)

def f32(values):
    return struct.pack("<%df" % len(values), *values)

pos = 0
c_in = 3
for name, e in entries:
    t = sd[name]
    size = 4 * math.prod(t.shape)
    if e["dtype"] != "F32" or tuple(e["shape"]) != t.shape or e["data_offsets"] != [pos, pos + size]:
        fail("%s: header entry %s, expected F32 %s at %d" % (name, e, list(t.shape), pos))
    got = data[pos:pos + size]
    pos += size
    want = bytes(t.raw)
    index = int(name.split(".")[1])
    folded = arch.endswith("_bn") and name.startswith("features.")
    if folded:
        bn = "features.%d." % (index + 1)
        g, b, m, v = (floats(bytes(sd[bn + p].raw)) for p in
                      ("weight", "bias", "running_mean", "running_var"))
        s = [gi / math.sqrt(vi + 1e-5) for gi, vi in zip(g, v)]
        x = floats(want)
        if name.endswith(".weight"):
            per = len(x) // len(s)
            want = f32([x[i] * s[i // per] for i in range(len(x))])
        else:
            want = f32([(x[c] - m[c]) * s[c] + b[c] for c in range(len(x))])
    if got != want:
        diff = [i // 4 for i in range(0, size, 4) if got[i:i + 4] != want[i:i + 4]]
        fail("%s: %d of %d values differ bitwise from the %s, first at %d"
             % (name, len(diff), size // 4, "fold" if folded else "state_dict",
                diff[0]))
if pos != len(data):
    fail("%d data bytes, the tensors cover %d" % (len(data), pos))
print(len([k for k in sd if k.endswith("running_var")]))
EOF
}

# vgg_converts ARCH: the committed ARCH.pth converts (one summary line naming
# the arch) to a file byte-identical to the committed ARCH.safetensors.
vgg_converts() {
    dir=$TMP/vgg_$1
    mkdir -p "$dir"
    "$PY" "$CONVERT" "$VGG/$1.pth" "$dir/$1.safetensors" >"$dir/stdout" 2>"$dir/stderr" ||
        fail_with "exit status $?: $(cat "$dir/stderr")" || return
    [ "$(wc -l <"$dir/stdout")" -eq 1 ] && [ ! -s "$dir/stderr" ] ||
        fail_with "expected one summary line, got: $(cat "$dir/stdout" "$dir/stderr")" || return
    grep -q "): $1[ ,]" "$dir/stdout" || fail_with "summary lacks the arch: $(cat "$dir/stdout")" ||
        return
    cmp -s "$dir/$1.safetensors" "$VGG/$1.safetensors" ||
        fail_with "differs from the committed $VGG/$1.safetensors" || return
    bns=$(vgg_check "$dir/$1.safetensors" "$VGG/$1.pth" "$1") || { echo "$bns"; return 1; }
    case $1 in
        *_bn) [ "$bns" -gt 0 ] || fail_with "the .pth has no BatchNorm: the fold is untested" ;;
    esac
}
for arch in vgg11 vgg13 vgg16 vgg19 vgg11_bn vgg13_bn vgg16_bn vgg19_bn; do
    check "$arch: converts to the committed file; arch, names and (folded) values checked" \
        vgg_converts $arch
done

manifest_lists_them() {
    "$PY" - <<'EOF' || fail_with "manifest check failed"
import json, os
m = json.load(open("test/fixtures/vgg/manifest.json"))
archs = [c["arch"] for c in m["cases"]]
assert archs == ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
                 "vgg19_bn"], archs
for c in m["cases"]:
    assert c["weights"] == "test/fixtures/vgg/%s.safetensors" % c["arch"], c
    assert c["pth"] == "test/fixtures/vgg/%s.pth" % c["arch"], c
    for k in ("weights", "pth", "image", "logits") + (("map",) if c["map"] else ()):
        assert os.path.isfile(c[k]), c[k]
    assert 0 <= c["target"] < 1000 and c["max_abs"] > 0, c
EOF
}
check "the VGG manifest lists all eight cases and their files" manifest_lists_them

tiny_alexnet() {
    mkdir -p "$TMP/tiny_alexnet"
    "$PY" "$CONVERT" "$VGG/tiny_alexnet.pth" "$TMP/tiny_alexnet/out.safetensors" >/dev/null ||
        fail_with "conversion failed" || return
    vgg_check "$TMP/tiny_alexnet/out.safetensors" "$VGG/tiny_alexnet.pth" alexnet >/dev/null
}
check "a reduced-width AlexNet converts with arch alexnet" tiny_alexnet

# The same vgg13_bn state_dict, in both formats and with its keys reversed,
# gives the same tensors (torchvision's order) and the same fold.
same_tensors() {
    for f in tiny_vgg13_bn_zip tiny_vgg13_bn_legacy tiny_vgg13_bn_reordered; do
        mkdir -p "$TMP/$f"
        "$PY" "$CONVERT" "$VGG/$f.pth" "$TMP/$f/out.safetensors" >/dev/null ||
            fail_with "$f: conversion failed" || return
        vgg_check "$TMP/$f/out.safetensors" "$VGG/$f.pth" vgg13_bn >/dev/null || return
    done
    "$PY" - "$TMP"/tiny_vgg13_bn_*/out.safetensors <<'EOF' || fail_with "tensors differ"
import json, struct, sys
def body(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    h = json.loads(blob[8:8 + n])
    h.pop("__metadata__")
    return h, blob[8 + n:]
first = body(sys.argv[1])
assert all(body(p) == first for p in sys.argv[2:])
EOF
}
check "zip, legacy and reordered vgg13_bn files give identical tensors" same_tensors

any_is_default() {
    mkdir -p "$TMP/any"
    "$PY" "$CONVERT" --expect any "$VGG/vgg16_bn.pth" "$TMP/any/vgg16_bn.safetensors" >/dev/null ||
        fail_with "--expect any refused vgg16_bn" || return
    cmp -s "$TMP/any/vgg16_bn.safetensors" "$VGG/vgg16_bn.safetensors" ||
        fail_with "--expect any wrote a different file"
}
check "--expect any accepts a reduced-width vgg16_bn" any_is_default

no_arch_for_plain() {
    grep -q '"arch"' "$TMP/toy_zip/out.safetensors" && fail_with "toy_zip got an arch entry"
    return 0
}
check "a state_dict of other modules converts without an arch entry" no_arch_for_plain

check "refuses an unknown layer sequence" \
    refuses vgg_unknown "$VGG/bad_unknown.pth" \
    "not a torchvision AlexNet or VGG layer sequence: convolutions at features.{0,2,4,7,.*nearest: vgg13"
check "refuses a shuffled layer sequence (a max pool moved)" \
    refuses vgg_shuffled "$VGG/bad_shuffled.pth" \
    "not a torchvision AlexNet or VGG layer sequence: .*nearest: vgg11, convolutions at features.{0,3,6,"
check "refuses a _bn model with one BatchNorm missing" \
    refuses vgg_missing_bn "$VGG/bad_missing_bn.pth" \
    "convolution features.8 has no BatchNorm2d at features.9 though others have one"
check "refuses inconsistent channels" \
    refuses vgg_channels "$VGG/bad_channels.pth" \
    "tensor 'features.3.weight' has shape \[2,3,3,3\], expected \[C,2,3,3\] for vgg11"
check "refuses a negative running variance" \
    refuses vgg_running_var "$VGG/bad_running_var.pth" \
    "tensor 'features.1.running_var' has -0.5 at element 1: running_var + eps"
check "refuses an int64 BatchNorm counter outside a vgg*_bn" \
    refuses vgg_counter "$VGG/bad_counter.pth" "tensor 'bn.num_batches_tracked' is a BatchNorm counter"
check "refuses AlexNet's names with other kernels" \
    refuses alexnet_kernels "$FIX/alexnet_tiny.pth" \
    "tensor 'features.0.weight' has shape \[2,3,1,1\], expected \[C,3,11,11\] for alexnet"
check "--expect vgg16 refuses a vgg11" \
    refuses expect_vgg16 "$VGG/vgg11.pth" "the state_dict is vgg11 (.*), not vgg16 (" --expect vgg16
check "--expect vgg11 requires torchvision's full size" \
    refuses expect_full "$VGG/vgg11.pth" \
    "tensor 'features.0.weight' has shape \[4,3,3,3\], expected \[64,3,3,3\] for vgg11" --expect vgg11
check "--expect any refuses other modules" \
    refuses expect_any "$FIX/toy_zip.pth" "tensor '0.weight' is not part of a torchvision AlexNet or VGG" \
    --expect any

keeps_old_output() {
    echo old >"$TMP/kept.safetensors"
    if "$PY" "$CONVERT" "$FIX/truncated_zip.pth" "$TMP/kept.safetensors" 2>/dev/null; then
        fail_with "conversion succeeded"
        return 1
    fi
    [ "$(cat "$TMP/kept.safetensors")" = old ] || fail_with "existing output was changed"
}
check "a failed conversion leaves an existing output untouched" keeps_old_output

# write_safetensors, as another script uses it.
write_api() {
    mkdir -p "$TMP/api"
    out=$("$PY" - "$TMP/api/x.safetensors" <<'EOF'
import json, os, struct, sys
sys.path.insert(0, "scripts")
import convert_pth
path = sys.argv[1]
one = struct.pack("<f", 1.0)
convert_pth.write_safetensors(path, [("b", (3,), one * 3), ("a", (), one)], {"k": "v"})
blob = open(path, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
h = json.loads(blob[8:8 + n])
assert n % 8 == 0 and list(h) == ["__metadata__", "b", "a"], h
assert h["__metadata__"] == {"k": "v"} and h["a"]["data_offsets"] == [12, 16], h
assert blob[8 + n:] == one * 4
try:
    convert_pth.write_safetensors(path + "2", [("c", (2,), one)], {})
except ValueError:
    pass
else:
    raise AssertionError("short data accepted")
assert sorted(os.listdir(os.path.dirname(path))) == ["x.safetensors"], os.listdir(os.path.dirname(path))
EOF
) || { fail_with "write_safetensors check failed"; return; }
    [ -z "$out" ] || fail_with "importing convert_pth printed: $out"
}
check "write_safetensors writes aligned, ordered files and refuses bad data" write_api

# get_weights.sh, without network: URLs are unreachable loopback addresses or file://.
OFFLINE_URL=http://127.0.0.1:9/alexnet-owt-7be5be79.pth

no_network() {
    w=$TMP/gw_offline
    if GUIDEDBP_WEIGHTS_URL=$OFFLINE_URL GUIDEDBP_WEIGHTS_DIR=$w sh scripts/get_weights.sh \
        >"$TMP/gw_offline.out" 2>&1; then
        fail_with "succeeded without network"
        return 1
    fi
    grep -q "could not download $OFFLINE_URL.*put it at $w/alexnet-owt-7be5be79.pth" \
        "$TMP/gw_offline.out" || fail_with "unclear message: $(cat "$TMP/gw_offline.out")" || return
    [ -z "$(ls -A "$w")" ] || fail_with "left files behind: $(ls -A "$w")"
}
check "get_weights without network says what to download and where" no_network

wrong_present_file() {
    w=$TMP/gw_wrong
    mkdir -p "$w"
    echo "not the weights" >"$w/alexnet-owt-7be5be79.pth"
    if GUIDEDBP_WEIGHTS_URL=$OFFLINE_URL GUIDEDBP_WEIGHTS_DIR=$w sh scripts/get_weights.sh \
        >"$TMP/gw_wrong.out" 2>&1; then
        fail_with "accepted a wrong file"
        return 1
    fi
    grep -q "alexnet-owt-7be5be79.pth has SHA-256 [0-9a-f]*, which does not start with 7be5be79" \
        "$TMP/gw_wrong.out" || fail_with "unclear message: $(cat "$TMP/gw_wrong.out")" || return
    ! grep -q "get_weights: downloading" "$TMP/gw_wrong.out" || fail_with "tried to download again" || return
    [ ! -e "$w/alexnet.safetensors" ] || fail_with "wrote alexnet.safetensors"
}
check "get_weights checks a file already present and refuses a wrong one" wrong_present_file

# A fixture renamed NAME-<its sha prefix>.pth stands in for torchvision's file.
sha_prefix() {
    "$PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()[:8])' "$1"
}
mkdir -p "$TMP/gw_src"
TOY_NAME=toy-$(sha_prefix "$FIX/toy_zip.pth").pth
cp "$FIX/toy_zip.pth" "$TMP/gw_src/$TOY_NAME"
TINY_NAME=alexnet-$(sha_prefix "$FIX/alexnet_tiny.pth").pth
cp "$FIX/alexnet_tiny.pth" "$TMP/gw_src/$TINY_NAME"

download_and_convert() {
    w=$TMP/gw_ok
    GUIDEDBP_WEIGHTS_URL=file://$TMP/gw_src/$TOY_NAME GUIDEDBP_WEIGHTS_DIR=$w \
        GUIDEDBP_WEIGHTS_EXPECT='' sh scripts/get_weights.sh >"$TMP/gw_ok.out" 2>&1 ||
        fail_with "failed: $(cat "$TMP/gw_ok.out")" || return
    cmp -s "$w/$TOY_NAME" "$FIX/toy_zip.pth" || fail_with "downloaded file differs" || return
    verify "$w/alexnet.safetensors" "$w/$TOY_NAME" toy || return
    [ "$(ls -A "$w" | wc -l)" -eq 2 ] || fail_with "unexpected files: $(ls -A "$w")"
}
check "get_weights downloads, checks and converts" download_and_convert

present_not_downloaded() {
    w=$TMP/gw_ok
    rm -f "$w/alexnet.safetensors"
    GUIDEDBP_WEIGHTS_URL=http://127.0.0.1:9/$TOY_NAME GUIDEDBP_WEIGHTS_DIR=$w \
        GUIDEDBP_WEIGHTS_EXPECT='' sh scripts/get_weights.sh >"$TMP/gw_again.out" 2>&1 ||
        fail_with "failed: $(cat "$TMP/gw_again.out")" || return
    grep -q "already here, not downloading" "$TMP/gw_again.out" ||
        fail_with "unexpected output: $(cat "$TMP/gw_again.out")" || return
    verify "$w/alexnet.safetensors" "$w/$TOY_NAME" toy
}
check "get_weights does not download a file already present" present_not_downloaded

expects_alexnet() {
    w=$TMP/gw_tiny
    if GUIDEDBP_WEIGHTS_URL=file://$TMP/gw_src/$TINY_NAME GUIDEDBP_WEIGHTS_DIR=$w \
        sh scripts/get_weights.sh >"$TMP/gw_tiny.out" 2>&1; then
        fail_with "accepted a file that is not AlexNet"
        return 1
    fi
    grep -q "tensor 'features.0.weight' has shape \[2,3,1,1\], expected \[64,3,11,11\]" \
        "$TMP/gw_tiny.out" || fail_with "unclear message: $(cat "$TMP/gw_tiny.out")" || return
    [ ! -e "$w/alexnet.safetensors" ] || fail_with "wrote alexnet.safetensors"
}
check "get_weights requires AlexNet's names and shapes by default" expects_alexnet

summary
