#!/bin/sh
# compare_eval.sh GUIDEDBP: --eval's metrics against the same metrics done
# the PyTorch way (test/bench/torch_eval.py: batched forwards under no_grad,
# 32 at a time, ROAD's imputation by scipy's spsolve), on this machine, with
# the same weights, image and map, runs alternated; prints a Markdown table
# of medians (`make bench-compare-eval`). Skips, with a message and exit
# status 0, where PyTorch is not installed.
#
# guidedbp's time of a metric is the median wall time of a run with
# `--eval METRIC` minus that of the same run without it (the whole
# process: loading, the map, writing); PyTorch's is the metric alone,
# timed inside the script after an untimed run. Defaults: RISE's 224 steps,
# ROAD at 10..90%, the softmax probability.
#
# Environment: RUNS (default 3); PYTHON (default /usr/bin/python3);
# BENCH_WEIGHTS (default weights/alexnet.safetensors); BENCH_IMAGE (default
# the bundled cat.png); METHOD (default guided). Both tools use every CPU.
set -eu
bin=${1:-./guidedbp}
py=${PYTHON:-/usr/bin/python3}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
weights=${BENCH_WEIGHTS:-weights/alexnet.safetensors}
image=${BENCH_IMAGE:-$here/test/fixtures/images/cat.png}
method=${METHOD:-guided}

if ! "$py" -c 'import torch, torchvision, scipy' 2>/dev/null; then
    echo "bench-compare-eval: skipped: PyTorch or SciPy is not installed for $py"
    exit 0
fi
[ -x "$bin" ] || { echo "bench-compare-eval: $bin is not an executable" >&2; exit 1; }
[ -f "$weights" ] || { echo "bench-compare-eval: no $weights (set BENCH_WEIGHTS)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
now_ns() { date +%s%N; }
median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ms_of() { # ms_of CMD...: its wall time in ms
    t0=$(now_ns)
    "$@" >/dev/null
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000000 ))
}

echo "bench-compare-eval: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); $runs runs each, alternated" >&2
# The map and the class both tools evaluate.
"$bin" -q -w "$weights" -m "$method" "$image" --npy --json -o "$tmp/map.png" >"$tmp/rec.json"
class=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["class"])' "$tmp/rec.json")

echo "| metric | guidedbp ms | PyTorch ms | PyTorch / guidedbp | guidedbp value | PyTorch value |"
echo "|---|---|---|---|---|---|"
for metric in deletion insertion road avg-drop; do
    : >"$tmp/g" ; : >"$tmp/t"
    r=0
    while [ $r -lt "$runs" ]; do
        base=$(ms_of "$bin" -q -w "$weights" -m "$method" "$image" -o "$tmp/b.png")
        with=$(ms_of "$bin" -q -w "$weights" -m "$method" "$image" --eval "$metric" --json -o "$tmp/e.png")
        echo $((with - base)) >>"$tmp/g"
        "$py" "$here/test/bench/torch_eval.py" "$image" "$tmp/map.npy" -w "$weights" \
            --metric "$metric" --class "$class" --runs 1 >"$tmp/t.json"
        "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["ms"])' "$tmp/t.json" >>"$tmp/t"
        r=$((r + 1))
    done
    "$bin" -q -w "$weights" -m "$method" "$image" --eval "$metric" --json -o "$tmp/e.png" >"$tmp/e.json"
    gv=$("$py" -c '
import json, sys
e = json.load(open(sys.argv[1]))["eval"]; m = sys.argv[2]
print("%.6g" % (e[m]["auc"] if m in ("deletion", "insertion") else e["road"]["combined"] if m == "road" else e["avg_drop"]["drop"]))' "$tmp/e.json" "$metric")
    tv=$("$py" -c 'import json, sys; print("%.6g" % json.load(open(sys.argv[1]))["value"])' "$tmp/t.json")
    g=$(median "$tmp/g") t=$(median "$tmp/t")
    awk -v m="$metric" -v g="$g" -v t="$t" -v gv="$gv" -v tv="$tv" \
        'BEGIN {printf "| %s | %.0f | %.0f | %.1fx | %s | %s |\n", m, g, t, t / (g > 0 ? g : 1), gv, tv}'
done
