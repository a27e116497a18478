#!/bin/sh
# --eval end to end: its usage errors, the record's curves against the
# PyTorch reference of test/gen/fixtures_faithfulness.py, the lines on
# stderr, the settings, and the same bits for any --batch and --threads.
. test/lib.sh

CAT=test/fixtures/images/cat.png
CAT224=test/fixtures/images/cat224.png
TINY=test/fixtures/golden/tiny.safetensors
REF=test/fixtures/faithfulness/reference.json

check "--eval with an unknown metric lists them" \
    expect 2 "--eval deletion,occlusion: 'occlusion' is not a metric \(available: deletion, insertion, road, avg-drop\)" \
    "$GUIDEDBP" -w "$TINY" --eval deletion,occlusion -o "$TMP/x.png" "$CAT"
check "--eval-road's percentages must increase" expect 2 "--eval-road 50,20: expected increasing" \
    "$GUIDEDBP" -w "$TINY" --eval road --eval-road 50,20 -o "$TMP/x.png" "$CAT"
check "--eval-road 100 is refused" expect 2 "--eval-road 100: expected increasing" \
    "$GUIDEDBP" -w "$TINY" --eval road --eval-road 100 -o "$TMP/x.png" "$CAT"
check "--eval-steps alone needs --eval" expect 2 "need --eval" \
    "$GUIDEDBP" -w "$TINY" --eval-steps 10 -o "$TMP/x.png" "$CAT"
check "--eval-road needs road among the metrics" expect 2 "--eval-road needs --eval road" \
    "$GUIDEDBP" -w "$TINY" --eval deletion --eval-road 10 -o "$TMP/x.png" "$CAT"
check "--eval-score takes probability or logit" expect 2 "--eval-score softmax: expected probability or logit" \
    "$GUIDEDBP" -w "$TINY" --eval deletion --eval-score softmax -o "$TMP/x.png" "$CAT"
check "--eval scores a class, not a channel" expect 2 "not with --channel" \
    "$GUIDEDBP" -w "$TINY" --eval deletion --layer features.10 --channel 3 -o "$TMP/x.png" "$CAT"

# The fixture's case tiny_cat_guided_steps37: every metric of the CLI's own
# guided map (make_fixtures' golden, the same bits) against PyTorch's.
matches_reference() {
    "$GUIDEDBP" -w "$TINY" --eval deletion,insertion,road,avg-drop --eval-steps 37 \
        --eval-road 25,50,75 --seed 9 --json -o "$TMP/m.png" "$CAT" >"$TMP/m.json" \
        2>"$TMP/m.err" || fail_with "$(cat "$TMP/m.err")" || return 1
    python3 - "$TMP/m.json" "$REF" <<'EOF' || return 1
import json, sys
rec = json.load(open(sys.argv[1]))
ref = next(c for c in json.load(open(sys.argv[2]))["cases"] if c["name"] == "tiny_cat_guided_steps37")
ev = rec["eval"]
assert rec["class"] == ref["target"], (rec["class"], ref["target"])
def close(got, want):
    return abs(got - want) <= 1e-5 and abs(got - want) <= 1e-4 * abs(want)
for key in ("deletion", "insertion"):
    got, want = ev[key]["scores"], ref[key]
    assert len(got) == len(want) == 38, (key, len(got))
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if not close(g, w)]
    assert not bad, (key, bad[:5])
    assert abs(ev[key]["auc"] - ref[key + "_auc"]) <= 1e-5, key
    assert ev[key]["pixels"] == [i * 50176 // 37 for i in range(38)], key
assert ev["road"]["percents"] == [25, 50, 75]
for key in ("morf", "lerf"):
    assert all(close(g, w) for g, w in zip(ev["road"][key], ref[key])), key
assert abs(ev["road"]["combined"] - ref["road"]) <= 1e-5
d = ev["avg_drop"]
assert close(d["original"], ref["original"]) and close(d["masked"], ref["masked"])
assert d["increase"] == bool(ref["increase"])
assert rec["settings"]["eval"] == {"metrics": ["deletion", "insertion", "road", "avg-drop"],
    "score": "probability", "steps": 37, "road_percents": [25, 50, 75], "seed": 9}, rec["settings"]["eval"]
EOF
    grep -q "^  deletion   AUC " "$TMP/m.err" && grep -q "^  road       (LeRF - MoRF) / 2 = " "$TMP/m.err" &&
        grep -q "^  avg-drop   drop " "$TMP/m.err" || fail_with "stderr lacks the metrics: $(cat "$TMP/m.err")"
}
check "the record's curves, ROAD and avg-drop are PyTorch's (fixtures_faithfulness.py)" matches_reference

# Two images, batched and threaded two ways: the same numbers, bit for bit.
same_bits() {
    for run in "1 1" "2 2"; do
        set -- $run
        "$GUIDEDBP" -w "$TINY" --eval deletion,insertion,road,avg-drop --eval-steps 9 \
            --eval-road 30,60 --eval-score logit --batch "$1" -t "$2" --json -q -o "$TMP/b$1/" \
            "$CAT" "$CAT224" >"$TMP/b$1.json" || return 1
    done
    python3 - "$TMP/b1.json" "$TMP/b2.json" <<'EOF'
import json, sys
a, b = ([json.loads(l)["eval"] for l in open(p)] for p in sys.argv[1:])
assert len(a) == 2 and a == b, "the eval objects differ"
assert a[0]["score"] == "logit" and len(a[0]["deletion"]["scores"]) == 10
EOF
}
check "--batch and --threads change no bit of the metrics" same_bits

# --eval-plot: a PLOT_W x PLOT_H picture with each asked curve's colour;
# usage errors; never over an input.
plot() {
    "$GUIDEDBP" -q -w "$TINY" --eval deletion,insertion,road --eval-steps 12 --eval-road 30,60 \
        -o "$TMP/pl.png" --eval-plot "$TMP/plot.png" "$CAT" || return 1
    python3 - "$TMP/plot.png" <<'EOF' || return 1
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (480, 320), (w, h)
at, idat = 8, b""
while at < len(d):
    n, = struct.unpack(">I", d[at:at + 4])
    if d[at + 4:at + 8] == b"IDAT": idat += d[at + 8:at + 8 + n]
    at += 12 + n
raw, stride = zlib.decompress(idat), 1 + 3 * w
rows, prev = [], bytearray(3 * w)
for y in range(h):  # undo the PNG filters (none, sub, up, average, paeth)
    f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    for i in range(len(line)):
        a = line[i - 3] if i >= 3 else 0
        b, c = prev[i], prev[i - 3] if i >= 3 else 0
        p = a + b - c
        pr = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
        line[i] = (line[i] + (0, a, b, (a + b) // 2, pr)[f]) & 255
    rows.append(bytes(line)); prev = line
px = {r[3 * x:3 * x + 3] for r in rows for x in range(w)}
for name, c in (("deletion", (214, 39, 40)), ("insertion", (31, 119, 180)), ("MoRF", (255, 127, 14)), ("LeRF", (44, 160, 44))):
    assert bytes(c) in px, name + "'s colour is missing"
EOF
    expect 2 "--eval-plot needs --eval deletion, insertion or road" \
        "$GUIDEDBP" -w "$TINY" --eval avg-drop --eval-plot "$TMP/p2.png" -o "$TMP/x.png" "$CAT" &&
        expect 2 "--eval-plot .*: only with one image" "$GUIDEDBP" -w "$TINY" --eval deletion \
            --eval-plot "$TMP/p3.png" -o "$TMP/two/" "$CAT" "$CAT224" &&
        expect 2 "--eval-plot .*: the output would overwrite an input image" "$GUIDEDBP" -w "$TINY" \
            --eval deletion --eval-plot "$CAT" -o "$TMP/x.png" "$CAT"
}
check "--eval-plot draws the curves asked for; refused without them, for two images, over an input" plot

check "-q leaves the metrics out of stderr" sh -c '"$GUIDEDBP" -w "$1" --eval avg-drop -q -o "$2/q.png" "$3" 2>&1 | grep -q . && exit 1; exit 0' \
    sh "$TINY" "$TMP" "$CAT"

summary
