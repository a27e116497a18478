#!/bin/sh
# bench_compare.sh GUIDEDBP: guidedbp against the same job done the PyTorch
# way (test/bench/torch_bench.py), on this machine, with the same weights and
# images, runs alternated between the two tools; prints a Markdown table of
# medians and ratios (`make bench-compare`). Skips, with a message and exit
# status 0, where PyTorch is not installed.
#
# Jobs:
#   one image   the whole process, `guidedbp cat.png --class 281 -o out.png`
#               against the tutorial recipe as a script (bench_torch.py single)
#   folder      steady state over a folder of images, ms per image: guidedbp's
#               marginal cost, (time for 40 images - time for 8) / 32, at
#               --batch 1 and at its best --batch; PyTorch's own timing after
#               a warm-up pass, for the recipe (one image at a time, weight
#               gradients on; 8 images) and at its best (no weight gradients,
#               batch 16; 32 images)
#   peak RSS    of the guidedbp folder runs, at batch 1 and at the best batch
#
# Environment: RUNS (default 5) runs of each; PYTHON (default /usr/bin/python3);
# BENCH_WEIGHTS, a .safetensors file for both tools (default
# weights/alexnet.safetensors, else random full-size weights made by PyTorch
# in build/bench-weights/, the same work). Both tools use every CPU.
set -eu
bin=${1:-./guidedbp}
py=${PYTHON:-/usr/bin/python3}
runs=${RUNS:-5}
here=$(cd "$(dirname "$0")/../.." && pwd)
torch_script=$here/test/bench/torch_bench.py
images=$here/test/fixtures/images

if ! "$py" -c 'import torch, torchvision' 2>/dev/null; then
    echo "bench-compare: skipped: PyTorch is not installed for $py" \
         "(Debian: apt-get install python3-torch python3-torchvision)"
    exit 0
fi
[ -x "$bin" ] || { echo "bench-compare: $bin is not an executable" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -n "${BENCH_WEIGHTS:-}" ]; then
    weights=$BENCH_WEIGHTS
elif [ -f "${XDG_DATA_HOME:-$HOME/.local/share}/guidedbp/alexnet.safetensors" ]; then
    weights=${XDG_DATA_HOME:-$HOME/.local/share}/guidedbp/alexnet.safetensors
elif [ -f weights/alexnet.safetensors ]; then
    weights=weights/alexnet.safetensors
else
    weights=build/bench-weights/alexnet_random.safetensors
    if [ ! -f "$weights" ]; then
        echo "bench-compare: no weights/alexnet.safetensors; making random full-size weights" \
             "in build/bench-weights/ (same shapes, same work)" >&2
        mkdir -p build/bench-weights
        "$py" "$torch_script" make-weights build/bench-weights/alexnet_random.pth "$weights"
    fi
fi

# Folders of 8, 32 and 40 images: the bundled photos (PNG, JPEG, greyscale,
# one needing no resize), copied.
mkdir -p "$tmp/small" "$tmp/t32" "$tmp/large" "$tmp/out"
i=0
while [ $i -lt 10 ]; do
    for f in cat.png cat.jpg gray.png cat224.png; do
        name=$i-$(echo "$f" | tr . _).${f##*.} # distinct output names
        cp "$images/$f" "$tmp/large/$name"
        [ $i -lt 8 ] && cp "$images/$f" "$tmp/t32/$name"
        [ $i -lt 2 ] && cp "$images/$f" "$tmp/small/$name"
    done
    i=$((i + 1))
done
n_small=8 n_large=40

now_ns() { date +%s%N; }
median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# timed FILE CMD...: appends CMD's wall time in ms to FILE, its peak RSS in
# MB to FILE.rss.
timed() {
    out=$1
    shift
    t0=$(now_ns)
    /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null
    t1=$(now_ns)
    echo "$(( (t1 - t0) / 1000 ))" | awk '{print $1 / 1000}' >>"$out"
    awk '{print $1 / 1024}' "$tmp/rss" >>"$out.rss"
}

echo "bench-compare: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); $runs runs each, alternated" >&2

# One image, whole process (one untimed run of each first: page cache, JIT).
cat=$images/cat.png
"$bin" -q -w "$weights" "$cat" --class 281 -o "$tmp/out/g.png"
"$py" "$torch_script" single "$cat" -w "$weights" -o "$tmp/out/t.png" --class 281
r=0
while [ $r -lt "$runs" ]; do
    timed "$tmp/single_g" "$bin" -q -w "$weights" "$cat" --class 281 -o "$tmp/out/g.png"
    timed "$tmp/single_t" "$py" "$torch_script" single "$cat" -w "$weights" -o "$tmp/out/t.png" --class 281
    r=$((r + 1))
done

# guidedbp over a folder: ms per image at BATCH, from one pair of runs.
folder_ms() {
    t0=$(now_ns)
    /usr/bin/time -f %M -o "$tmp/rss_b$1" "$bin" -q -w "$weights" --batch "$1" "$tmp/small" -o "$tmp/out/s" >/dev/null
    t1=$(now_ns)
    /usr/bin/time -f %M -o "$tmp/rss_b$1" "$bin" -q -w "$weights" --batch "$1" "$tmp/large" -o "$tmp/out/l" >/dev/null
    t2=$(now_ns)
    awk -v s=$((t1 - t0)) -v l=$((t2 - t1)) -v n=$((n_large - n_small)) 'BEGIN {print (l - s) / n / 1e6}'
    awk '{print $1 / 1024}' "$tmp/rss_b$1" >>"$tmp/rss_batch$1"
}

# Pick guidedbp's best batch from one round, then alternate.
best=1 best_ms=
for b in 1 4 8 16 32; do
    ms=$(folder_ms $b)
    if [ -z "$best_ms" ] || awk -v a="$ms" -v b="$best_ms" 'BEGIN {exit !(a < b)}'; then
        best=$b best_ms=$ms
    fi
done
: >"$tmp/rss_batch1"
: >"$tmp/rss_batch$best"
r=0
while [ $r -lt "$runs" ]; do
    folder_ms 1 >>"$tmp/folder_g1"
    "$py" "$torch_script" folder "$tmp/small" -w "$weights" --batch 1 --passes 1 |
        awk '{print $1}' >>"$tmp/folder_t1"
    folder_ms "$best" >>"$tmp/folder_gb"
    "$py" "$torch_script" folder "$tmp/t32" -w "$weights" --batch 16 --no-weight-grad --passes 1 |
        awk '{print $1}' >>"$tmp/folder_tb"
    r=$((r + 1))
done

s_g=$(median "$tmp/single_g") s_t=$(median "$tmp/single_t")
f_g1=$(median "$tmp/folder_g1") f_t1=$(median "$tmp/folder_t1")
f_gb=$(median "$tmp/folder_gb") f_tb=$(median "$tmp/folder_tb")
rss_g1=$(median "$tmp/rss_batch1") rss_gb=$(median "$tmp/rss_batch$best")
rss_ts=$(median "$tmp/single_t.rss") rss_gs=$(median "$tmp/single_g.rss")
ratio() { awk -v t="$1" -v g="$2" 'BEGIN {printf "%.1fx", t / g}'; }
fmt() { awk -v v="$1" 'BEGIN {printf v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v}'; }

echo
echo "| job | guidedbp | PyTorch | PyTorch / guidedbp |"
echo "|---|---|---|---|"
echo "| one image, whole process, ms | $(fmt "$s_g") | $(fmt "$s_t") | $(ratio "$s_t" "$s_g") |"
echo "| folder, ms per image: batch 1 (PyTorch: the recipe, weight gradients on) | $(fmt "$f_g1") | $(fmt "$f_t1") | $(ratio "$f_t1" "$f_g1") |"
echo "| folder, ms per image: best batch (guidedbp --batch $best; PyTorch: no weight gradients, batch 16) | $(fmt "$f_gb") | $(fmt "$f_tb") | $(ratio "$f_tb" "$f_gb") |"
echo "| peak RSS, one image, MB | $(fmt "$rss_gs") | $(fmt "$rss_ts") | |"
echo "| peak RSS, folder at batch 1 / batch $best, MB | $(fmt "$rss_g1") / $(fmt "$rss_gb") | | |"

# ResNets: the same folder job on torchvision's random initialisation (the
# same work as trained weights), guidedbp's random:ARCH:0 against PyTorch's,
# one run each at batch 1 and at batch 8.
echo
echo "| ResNet folder job, ms per image | guidedbp batch 1 | PyTorch batch 1 (weight gradients on) | guidedbp batch 8 | PyTorch batch 8 (no weight gradients) |"
echo "|---|---|---|---|---|"
for arch in resnet18 resnet50; do
    rn_ms() {
        t0=$(now_ns)
        "$bin" -q -w "random:$arch:0" --batch "$1" "$tmp/small" -o "$tmp/out/rs" >/dev/null
        t1=$(now_ns)
        "$bin" -q -w "random:$arch:0" --batch "$1" "$tmp/large" -o "$tmp/out/rl" >/dev/null
        t2=$(now_ns)
        awk -v s=$((t1 - t0)) -v l=$((t2 - t1)) -v n=$((n_large - n_small)) 'BEGIN {print (l - s) / n / 1e6}'
    }
    g1=$(rn_ms 1) g8=$(rn_ms 8)
    t1=$("$py" "$torch_script" folder "$tmp/small" -w random --arch "$arch" --batch 1 --passes 1 | awk '{print $1}')
    t8=$("$py" "$torch_script" folder "$tmp/t32" -w random --arch "$arch" --batch 8 --no-weight-grad --passes 1 | awk '{print $1}')
    echo "| $arch | $(fmt "$g1") | $(fmt "$t1") | $(fmt "$g8") | $(fmt "$t8") |"
done

echo
echo "Medians of $runs alternated runs; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')," \
     "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
     "weights $weights${GUIDEDBP_ISA:+; GUIDEDBP_ISA=$GUIDEDBP_ISA}."
