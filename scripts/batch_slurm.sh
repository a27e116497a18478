#!/bin/sh
#SBATCH --job-name=guidedbp
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --mem=2G
# batch_slurm.sh IN_DIR OUT_DIR [GUIDEDBP OPTIONS...]: a Slurm job array
# over a folder. Submit with `sbatch scripts/batch_slurm.sh IN_DIR OUT_DIR`
# (change --array to the number of tasks you want). Task I of N takes shard
# I/N of the sorted inputs, so tasks never overlap and need no coordination;
# a resubmitted array skips what is already done (made with the same
# settings from the same files) and redoes the rest. Each task appends its
# JSON Lines records to OUT_DIR/results.I.jsonl, so no attempt's records are
# lost; a skipped image's record carries the results its PNG stores, so the
# last record of each "index" is its result (README: merging records). Set
# GUIDEDBP to the binary's path if it is not on PATH, and GUIDEDBP_WEIGHTS to
# the weights file.
set -eu
in=${1:?usage: sbatch batch_slurm.sh IN_DIR OUT_DIR [OPTIONS...]}
out=${2:?usage: sbatch batch_slurm.sh IN_DIR OUT_DIR [OPTIONS...]}
shift 2
shard=${SLURM_ARRAY_TASK_ID:?not in a Slurm job array: submit with sbatch --array}
shards=${SLURM_ARRAY_TASK_COUNT:?not in a Slurm job array: submit with sbatch --array}
mkdir -p "$out"
log=$out/results.$shard.jsonl
# A record cut by a kill -9 ends without a newline: end it, so this attempt
# starts on a line of its own (the merge skips the torn one).
if [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ]; then echo >> "$log"; fi
exec "${GUIDEDBP:-guidedbp}" -r -q --json --skip-existing --batch 8 \
    -t "${SLURM_CPUS_PER_TASK:-1}" --shard "$shard/$shards" -o "$out" "$@" "$in" \
    >> "$log"
