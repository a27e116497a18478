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
# Pickles and archives that crashed the converter (hostile corpus round 2),
# made here with the standard library: a key nested in 200,000 1-tuples
# (a segfault while hashing it), 30,000 (a RecursionError), a zip member
# flagged encrypted, one compressed with method 6.
"$PY" - "$TMP" <<'PYEOF'
import io, pickle, struct, sys, zipfile
out = sys.argv[1]
def nested(depth):
    key = b"\x8c\x01a" + b"\x85" * depth            # SHORT_BINUNICODE 'a', TUPLE1 x depth
    return b"\x80\x02}" + key + b"K\x01s." # PROTO 2, EMPTY_DICT, key, BININT1 1, SETITEM, STOP
for depth in (200000, 30000):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", nested(depth))
    open("%s/nested_%d.pth" % (out, depth), "wb").write(buf.getvalue())
    # The legacy stream too: magic, protocol, sys info, then the pickle.
    legacy = (pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) +
              pickle.dumps({"little_endian": True}, 2) + nested(depth))
    open("%s/nested_%d_legacy.pth" % (out, depth), "wb").write(legacy)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", b"\x80\x02}.")
data = bytearray(buf.getvalue())
for sig in (b"PK\x03\x04", b"PK\x01\x02"):   # the flag bit 0 (encrypted) in both headers
    at = data.index(sig)
    flag = at + (6 if sig == b"PK\x03\x04" else 8)
    data[flag] |= 1
open(out + "/encrypted.pth", "wb").write(bytes(data))
data = bytearray(buf.getvalue())
for sig in (b"PK\x03\x04", b"PK\x01\x02"):   # compression method 6 (implode)
    at = data.index(sig)
    method = at + (8 if sig == b"PK\x03\x04" else 10)
    data[method:method + 2] = struct.pack("<H", 6)
open(out + "/method6.pth", "wb").write(bytes(data))
PYEOF
check "refuses a key nested 200,000 tuples deep (was a segfault)" \
    refuses nested200k "$TMP/nested_200000.pth" "nests objects more than 100 deep"
check "refuses a key nested 30,000 tuples deep (was a RecursionError)" \
    refuses nested30k "$TMP/nested_30000.pth" "nests objects more than 100 deep"
check "refuses the same nesting in a legacy stream" \
    refuses nested_legacy "$TMP/nested_200000_legacy.pth" "nests objects more than 100 deep"
check "refuses a zip member flagged encrypted" refuses encrypted "$TMP/encrypted.pth" "encrypted"
check "refuses a zip member compressed with method 6" \
    refuses method6 "$TMP/method6.pth" "unsupported compression"
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
check "refuses an int64 BatchNorm counter outside a vgg*_bn or ResNet" \
    refuses vgg_counter "$VGG/bad_counter.pth" "tensor 'bn.num_batches_tracked' is a BatchNorm counter.* only in a torchvision vgg\*_bn or ResNet state_dict"
check "refuses AlexNet's names with other kernels" \
    refuses alexnet_kernels "$FIX/alexnet_tiny.pth" \
    "tensor 'features.0.weight' has shape \[2,3,1,1\], expected \[C,3,11,11\] for alexnet"
check "--expect vgg16 refuses a vgg11" \
    refuses expect_vgg16 "$VGG/vgg11.pth" "the state_dict is vgg11 (.*), not vgg16 (" --expect vgg16
check "--expect vgg11 requires torchvision's full size" \
    refuses expect_full "$VGG/vgg11.pth" \
    "tensor 'features.0.weight' has shape \[4,3,3,3\], expected \[64,3,3,3\] for vgg11" --expect vgg11
check "--expect any refuses other modules" \
    refuses expect_any "$FIX/toy_zip.pth" \
    "tensor '0.weight' is not part of a torchvision AlexNet or VGG, .*, nor of a ResNet, whose are conv1" \
    --expect any

# torchvision ResNets: the committed tiny-width state_dicts of
# test/fixtures/resnet_pth (test/gen/fixtures_resnet_pth.py: random weights
# and BatchNorm statistics, module names and block counts torchvision's).
# resnet_check reads a converted file independently of convert_pth.py: its
# __metadata__; its tensors, which must be the manifest's (names, order and
# shapes taken from the torch model's modules: each Conv2d's weight and bias,
# then fc), as many as the block counts hard-coded here give; and its values:
# every convolution's BatchNorm folded by the rule below, computed here with
# struct from the .pth's own values (b = 0: a ResNet conv has no bias), and
# their bytes' SHA-256 equal to the manifest's NumPy float64 fold.
RES=$ROOT/test/fixtures/resnet_pth

resnet_check() {
    "$PY" - "$@" <<'EOF'
import hashlib, json, math, os, struct, sys
sys.path.insert(0, "scripts")
import convert_pth
out, src, name, arch = sys.argv[1:5]

def fail(msg):
    print("  FAIL: %s: %s" % (out, msg))
    sys.exit(1)

BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3), "resnet50": (3, 4, 6, 3),
          "resnet101": (3, 4, 23, 3), "resnet152": (3, 8, 36, 3)}
per_block = 3 if arch in ("resnet50", "resnet101", "resnet152") else 2
cases = [c for c in json.load(open("test/fixtures/resnet_pth/manifest.json"))["cases"]
         if c["name"] == name]
if len(cases) != 1:
    fail("the manifest has %d cases named %s" % (len(cases), name))
case = cases[0]
if case["arch"] != arch or case["pth"] != "test/fixtures/resnet_pth/%s.pth" % name:
    fail("manifest case %s is %s, %s" % (name, case["arch"], case["pth"]))
want = [(n, s) for n, s in case["tensors"]]
convs = [n[:-len(".weight")] for n, _ in want if n.endswith(".weight") and n != "fc.weight"]
downsamples = sum(1 for c in convs if c.endswith(".downsample.0"))
if len(convs) != 1 + per_block * sum(BLOCKS[arch]) + downsamples or downsamples not in (3, 4) \
        or want[-2][0] != "fc.weight" or want[-1][0] != "fc.bias":
    fail("the manifest's %d tensors are not %s's" % (len(want), arch))

blob = open(out, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=lambda p: p)
data = blob[8 + n:]
meta = dict(dict(header).get("__metadata__") or [])
digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
want_meta = {"format": "pt", "source": os.path.basename(src), "source_sha256": digest,
             "source_format": "torch.save " + case["format"], "arch": arch}
for k, v in want_meta.items():
    if meta.get(k) != v:
        fail("__metadata__ %s is %r, expected %r" % (k, meta.get(k), v))
entries = [(k, dict(v)) for k, v in header if k != "__metadata__"]
if [k for k, _ in entries] != [k for k, _ in want]:
    fail("tensors %s, expected %s" % ([k for k, _ in entries], [k for k, _ in want]))
if hashlib.sha256(data).hexdigest() != case["folded_sha256"]:
    fail("the data's SHA-256 is not the manifest's (NumPy's fold)")

_, tensors = convert_pth.read_state_dict(src)
sd = {t.name: t for t in tensors}

def floats(raw):
    return struct.unpack("<%df" % (len(raw) // 4), bytes(raw))

def f32(values):
    return struct.pack("<%df" % len(values), *values)

def bn_of(conv):
    if conv.endswith(".downsample.0"):
        return conv[:-1] + "1"
    head, _, leaf = conv.rpartition(".")
    return (head + "." if head else "") + leaf.replace("conv", "bn")

pos = 0
changed = 0
for (name, e), (_, shape) in zip(entries, want):
    size = 4 * math.prod(shape)
    if e["dtype"] != "F32" or e["shape"] != shape or e["data_offsets"] != [pos, pos + size]:
        fail("%s: header entry %s, expected F32 %s at %d" % (name, e, shape, pos))
    got = data[pos:pos + size]
    pos += size
    module = name.rpartition(".")[0]
    if module == "fc":
        expected = bytes(sd[name].raw)
    else:
        if module + ".bias" in sd:
            fail("the .pth has %s.bias: no torchvision ResNet convolution has one" % module)
        bn = bn_of(module) + "."
        g, b, m, v = (floats(sd[bn + p].raw) for p in
                      ("weight", "bias", "running_mean", "running_var"))
        s = [gi / math.sqrt(vi + 1e-5) for gi, vi in zip(g, v)]
        if name.endswith(".weight"):
            x = floats(sd[name].raw)
            per = len(x) // len(s)
            expected = f32([x[i] * s[i // per] for i in range(len(x))])
            changed += expected != bytes(sd[name].raw)
        else:
            expected = f32([(0.0 - m[c]) * s[c] + b[c] for c in range(len(s))])
    if got != expected:
        diff = [i // 4 for i in range(0, size, 4) if got[i:i + 4] != expected[i:i + 4]]
        fail("%s: %d of %d values differ bitwise from the %s, first at %d"
             % (name, len(diff), size // 4, "state_dict" if module == "fc" else "fold", diff[0]))
if pos != len(data):
    fail("%d data bytes, the tensors cover %d" % (len(data), pos))
if changed != len(convs):
    fail("only %d of %d convolutions change when folded: the fold is untested" % (changed, len(convs)))
print(len(convs))
EOF
}

# resnet_converts NAME ARCH: the committed NAME.pth converts (one summary line
# naming ARCH and the BatchNorm layers folded, nothing on stderr, no temp
# file left) to what resnet_check requires.
resnet_converts() {
    dir=$TMP/resnet_$1
    mkdir -p "$dir"
    "$PY" "$CONVERT" "$RES/$1.pth" "$dir/out.safetensors" >"$dir/stdout" 2>"$dir/stderr" ||
        fail_with "exit status $?: $(cat "$dir/stderr")" || return
    [ "$(wc -l <"$dir/stdout")" -eq 1 ] && [ ! -s "$dir/stderr" ] ||
        fail_with "expected one summary line, got: $(cat "$dir/stdout" "$dir/stderr")" || return
    convs=$(resnet_check "$dir/out.safetensors" "$RES/$1.pth" "$1" "$2") ||
        { echo "$convs"; return 1; }
    grep -q "): $2 ($convs BatchNorm layers folded into their convolutions), $((2 * convs + 2)) tensors" \
        "$dir/stdout" || fail_with "summary lacks the arch or the counts: $(cat "$dir/stdout")" || return
    [ "$(ls -A "$dir" | wc -l)" -eq 3 ] || fail_with "temp files left: $(ls -A "$dir")"
}
for c in resnet18:resnet18 resnet34:resnet34 resnet50:resnet50 resnet101:resnet101 \
    resnet152:resnet152 resnet18_legacy:resnet18 resnet18_stem4:resnet18 resnet50_stem8:resnet50; do
    check "${c%%:*}: converts as ${c#*:}; metadata, names, shapes and folded values checked" \
        resnet_converts "${c%%:*}" "${c#*:}"
done

resnet_manifest_lists_them() {
    "$PY" - <<'EOF' || fail_with "manifest check failed"
import json, os
m = json.load(open("test/fixtures/resnet_pth/manifest.json"))
names = [c["name"] for c in m["cases"]]
assert names == ["resnet18", "resnet18_legacy", "resnet34", "resnet50", "resnet101", "resnet152",
                 "resnet18_stem4", "resnet50_stem8"], names
for c in m["cases"]:
    assert os.path.getsize(c["pth"]) < 1 << 20, c["pth"]
    assert c["format"] == ("legacy" if c["name"].endswith("_legacy") else "zip"), c["name"]
EOF
}
check "the ResNet manifest lists all eight cases, each file under 1 MB" resnet_manifest_lists_them

# Where torchvision puts layer1.0's downsample depends on the widths.
downsample_by_width() {
    for c in resnet18:0 resnet18_stem4:1 resnet50:1 resnet50_stem8:0; do
        n=$(grep -c '"layer1.0.downsample.0.bias"' "$TMP/resnet_${c%%:*}/out.safetensors")
        [ "$n" -eq "${c#*:}" ] || fail_with "${c%%:*}: $n layer1.0 downsample biases, expected ${c#*:}" ||
            return
    done
}
check "layer1.0 has a downsample exactly where torchvision's widths give one" downsample_by_width

resnet_zip_legacy_same() {
    "$PY" - "$TMP/resnet_resnet18/out.safetensors" "$TMP/resnet_resnet18_legacy/out.safetensors" <<'EOF' ||
import json, struct, sys
def body(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    h = json.loads(blob[8:8 + n])
    meta = h.pop("__metadata__")
    return h, blob[8 + n:], meta
(h1, d1, m1), (h2, d2, m2) = body(sys.argv[1]), body(sys.argv[2])
assert h1 == h2 and d1 == d2, "tensors differ"
assert (m1["source_format"], m2["source_format"]) == ("torch.save zip", "torch.save legacy"), (m1, m2)
EOF
        fail_with "zip and legacy resnet18 give different tensors"
}
check "zip and legacy resnet18 files give identical tensors" resnet_zip_legacy_same

resnet_any() {
    mkdir -p "$TMP/resnet_any"
    "$PY" "$CONVERT" --expect any "$RES/resnet50.pth" "$TMP/resnet_any/out.safetensors" >/dev/null ||
        fail_with "--expect any refused a reduced-width resnet50" || return
    cmp -s "$TMP/resnet_any/out.safetensors" "$TMP/resnet_resnet50/out.safetensors" ||
        fail_with "--expect any wrote a different file"
}
check "--expect any accepts a reduced-width resnet50" resnet_any

# --expect resnetNN accepts exactly torchvision's full-size model: checked on
# its names and shapes (torchvision_shapes.json, written from torchvision),
# which is all identify() reads; a full-size file would be 45-230 MB.
resnet_full_size() {
    "$PY" - <<'EOF' || fail_with "full-size check failed"
import json, sys
sys.path.insert(0, "scripts")
import convert_pth
shapes = json.load(open("test/fixtures/resnet_pth/torchvision_shapes.json"))
assert list(shapes) == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"], list(shapes)

def fake(pairs):
    return [convert_pth.Tensor(n, tuple(s), "int64" if n.endswith(".num_batches_tracked")
                               else "float32", None) for n, s in pairs]

for arch, pairs in shapes.items():
    assert convert_pth.EXPECTED_MODELS[arch] == [(n, tuple(s)) for n, s in pairs], arch
    for expect in (arch, "any", None):
        layout = convert_pth.identify(fake(pairs), expect)
        assert layout.name == arch, (arch, expect, layout.name)
    assert len(layout.output_names()) == 2 * sum(1 for n, s in pairs if len(s) == 4) + 2, arch
    for other in shapes:
        if other != arch:
            try:
                convert_pth.identify(fake(pairs), other)
            except convert_pth.PthError as e:
                assert str(e).startswith("the state_dict is %s (" % arch), e
            else:
                raise AssertionError("--expect %s accepted %s" % (other, arch))
    wrong = [(n, [999, s[1]] if n == "fc.weight" else [999] if n == "fc.bias" else s)
             for n, s in pairs]
    assert convert_pth.identify(fake(wrong), "any").name == arch, arch
    try:
        convert_pth.identify(fake(wrong), arch)
    except convert_pth.PthError as e:
        assert "tensor 'fc.weight' has shape [999,%d], expected [1000,%d] for %s" % (
            pairs[-2][1][1], pairs[-2][1][1], arch) in str(e), e
    else:
        raise AssertionError("--expect %s accepted 999 classes" % arch)
EOF
}
check "--expect resnetNN accepts torchvision's full-size names and shapes, and only those" resnet_full_size

check "--expect resnet18 requires torchvision's full size" \
    refuses resnet_expect_full "$RES/resnet18.pth" \
    "tensor 'conv1.weight' has shape \[2,3,7,7\], expected \[64,3,7,7\] for resnet18 (torchvision's full size" \
    --expect resnet18
check "--expect resnet50 refuses a resnet18" \
    refuses resnet_expect_other "$RES/resnet18.pth" \
    "the state_dict is resnet18 (BasicBlock stages of 2, 2, 2, 2 blocks), not resnet50 (Bottleneck stages of 3, 4, 6, 3 blocks)" \
    --expect resnet50
check "--expect resnet18 refuses a vgg11" \
    refuses resnet_expect_vgg "$VGG/vgg11.pth" "the state_dict is vgg11 (.*), not resnet18 (BasicBlock" \
    --expect resnet18
help_lists_resnets() {
    "$PY" "$CONVERT" --help | tr -s ' \n' ' ' | grep -q "vgg19_bn, resnet18, resnet34, resnet50, resnet101, resnet152; or 'any'" ||
        fail_with "--help: $("$PY" "$CONVERT" --help)"
}
check "--help lists the ResNets" help_lists_resnets

check "refuses a resnet50 with a tensor missing" \
    refuses resnet_missing "$RES/bad_missing.pth" \
    "tensor 'layer3.2.bn2.running_var' is missing (expected for resnet50: Bottleneck stages of 3, 4, 6, 3 blocks)"
check "refuses a resnet50 with a mis-shaped downsample" \
    refuses resnet_shape "$RES/bad_shape.pth" \
    "tensor 'layer2.0.downsample.0.weight' has shape \[16,4,1,1\], expected \[16,8,1,1\] for resnet50 (.*8 inputs from the output of layer1.2, 1x1 kernel)"
check "refuses blocks per stage no ResNet has, naming the counts" \
    refuses resnet_counts "$RES/bad_counts.pth" \
    "not a torchvision ResNet: blocks per stage (2, 2, 3, 2) with BasicBlock (no conv3); torchvision's are resnet18 (2, 2, 2, 2)"
check "refuses a ResNet convolution with a bias" \
    refuses resnet_conv_bias "$RES/bad_conv_bias.pth" \
    "tensor 'conv1.bias' is not part of resnet18: torchvision's ResNet convolutions have no bias"
check "refuses a layer1.0 without the downsample its widths need" \
    refuses resnet_no_downsample "$RES/bad_no_downsample.pth" \
    "tensor 'layer1.0.downsample.0.weight' is missing (expected for resnet18: layer1.0's input has 4 channels (from conv1.weight), its output 2"
check "refuses a layer1.0 downsample its widths do not call for" \
    refuses resnet_extra_downsample "$RES/bad_extra_downsample.pth" \
    "tensor 'layer1.0.downsample.0.weight' is not part of resnet18 at these widths (layer1.0's input has 2 channels"
check "refuses a wide_resnet-shaped Bottleneck (width 2 x planes)" \
    refuses resnet_wide "$RES/bad_wide.pth" \
    "tensor 'layer1.0.conv3.weight' has shape \[4,2,1,1\], expected \[8,2,1,1\] for resnet50"

conv1_fc_plain() {
    mkdir -p "$TMP/conv1_fc"
    "$PY" "$CONVERT" "$RES/plain_conv1_fc.pth" "$TMP/conv1_fc/out.safetensors" >/dev/null ||
        fail_with "refused" || return
    "$PY" - "$TMP/conv1_fc/out.safetensors" "$RES/plain_conv1_fc.pth" <<'EOF' || fail_with "not converted as it is"
import json, struct, sys
sys.path.insert(0, "scripts")
import convert_pth
blob = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
h = json.loads(blob[8:8 + n])
assert "arch" not in h["__metadata__"], h["__metadata__"]
_, tensors = convert_pth.read_state_dict(sys.argv[2])
assert [k for k in h if k != "__metadata__"] == [t.name for t in tensors] == \
    ["conv1.weight", "fc.weight", "fc.bias"], list(h)
assert blob[8 + n:] == b"".join(bytes(t.raw) for t in tensors)
EOF
}
check "conv1.* and fc.* alone convert as plain tensors, without an arch" conv1_fc_plain

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
