#!/bin/sh
# batch_parallel.sh IN_DIR OUT_DIR [JOBS [GUIDEDBP OPTIONS...]]
#
# One machine, JOBS processes (default: one per CPU), each taking one shard
# of the sorted inputs with --shard and one thread, so no two processes ever
# touch the same image. The weights file is mapped by every process and
# shared through the page cache. Each shard appends its JSON Lines records
# to OUT_DIR/results.SHARD.jsonl. Rerunning the same command resumes an
# interrupted run (--skip-existing: what was made with the same settings
# from the same files is skipped, its record carrying the results its PNG
# stores); the last record of each "index" is that image's result (README:
# merging records). Rerun with the same JOBS: the shards are k mod JOBS.
#
# The same with GNU parallel instead of xargs:
#   parallel -j JOBS "guidedbp -r -q --json --skip-existing -t 1 --shard {}/JOBS \
#       -o OUT_DIR IN_DIR >> OUT_DIR/results.{}.jsonl" ::: $(seq 0 $((JOBS - 1)))
set -eu
in=${1:?usage: batch_parallel.sh IN_DIR OUT_DIR [JOBS [OPTIONS...]]}
out=${2:?usage: batch_parallel.sh IN_DIR OUT_DIR [JOBS [OPTIONS...]]}
jobs=${3:-$(nproc)}
[ $# -ge 3 ] && shift 3 || shift $#
guidedbp=${GUIDEDBP:-guidedbp}
mkdir -p "$out"
# xargs exits 123 when some shard reported failed images (guidedbp's exit 1).
seq 0 $((jobs - 1)) | xargs -P "$jobs" -I{} sh -c \
    'bin=$1 shard=$2 shards=$3 out=$4; shift 4
     log=$out/results.$shard.jsonl
     # A record cut by a kill -9 ends without a newline: end it, so the
     # next attempt starts on a line of its own (the merge skips the torn one).
     [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ] && echo >> "$log"
     "$bin" -r -q --json --skip-existing -t 1 --shard "$shard/$shards" -o "$out" "$@" >> "$log"' \
    sh "$guidedbp" {} "$jobs" "$out" "$in" "$@"
