#!/bin/sh
# scripts/batch_slurm.sh under a real Slurm: a job array submitted with
# sbatch to the cluster SLURM_CONF names, its maps and records against one
# single-process run, then the same array resubmitted. Without a cluster it
# is skipped, or is one failure when GUIDEDBP_REQUIRE_SLURM=1 (CI, which
# starts one with test/slurm/cluster.sh).
. test/lib.sh

why=
if [ -z "${SLURM_CONF:-}" ]; then
    why="SLURM_CONF is not set"
elif ! command -v sinfo >/dev/null; then
    why="no sinfo on PATH (apt-get install slurm-client)"
elif ! sinfo -h >"$TMP/sinfo" 2>&1; then
    why="SLURM_CONF=$SLURM_CONF, but sinfo says: $(cat "$TMP/sinfo")"
fi
if [ -n "$why" ]; then
    if [ "${GUIDEDBP_REQUIRE_SLURM:-0}" = 1 ]; then
        check "a Slurm cluster answers (GUIDEDBP_REQUIRE_SLURM=1)" fail_with "$why"
    else
        echo "skipped: no Slurm cluster (start one with test/slurm/cluster.sh start DIR)"
        echo "  ($why)"
    fi
    summary
    exit
fi

# The job runs in a fresh shell on the node (here, this machine): the binary
# and the weights by absolute path.
case $GUIDEDBP in
    /*) ;;
    */*) GUIDEDBP=$(pwd)/$GUIDEDBP ;;
    *) GUIDEDBP=$(command -v "$GUIDEDBP") ;;
esac
export GUIDEDBP
TINY=$(pwd)/test/fixtures/golden/tiny.safetensors
IMG=test/fixtures/images
IN=$TMP/in
OUT=$TMP/out
# Each sbatch --wait is bounded: a cluster that never runs the job (node
# down, too little memory) fails the check instead of hanging the suite.
WAIT=${GUIDEDBP_SLURM_TIMEOUT:-600}

# Eight images, two of each kind, so each of the four tasks gets two.
mkdir -p "$IN" "$TMP/logs"
for k in 1 2; do
    cp "$IMG/cat224.png" "$IN/a$k.png"
    cp "$IMG/cat.jpg" "$IN/b$k.jpg"
    cp "$IMG/gray.png" "$IN/c$k.png"
    cp "$IMG/cat.png" "$IN/d$k.png"
done
find "$IN" -type f | sort >"$TMP/inputs"

# records FILE...: "INPUT STATUS CLASS" for each of guidedbp's --json
# records (CLASS is null when there is none); a line that is not a record
# comes out as "UNPARSED LINE", which no check accepts.
records() {
    "${PYTHON:-python3}" - "$@" <<'PYEOF'
import json, sys
for path in sys.argv[1:]:
    for line in open(path):
        try:
            r = json.loads(line)
            print(r["input"], r["status"], "null" if r["class"] is None else r["class"])
        except (ValueError, KeyError, TypeError):
            print("UNPARSED", line.strip()[:200])
PYEOF
}

# submit NAME: run the array (4 tasks, 1 CPU each) over IN into OUT and wait
# for it; the #SBATCH lines' 16 tasks of 4 CPUs are overridden here.
submit() {
    timeout "$WAIT" sbatch --parsable --wait --array=0-3 --cpus-per-task=1 --mem=256M \
        --job-name="guidedbp-test-$1" -o "$TMP/logs/slurm-%A_%a.out" \
        scripts/batch_slurm.sh "$IN" "$OUT" -w "$TINY" >"$TMP/job_$1" 2>"$TMP/sbatch_$1"
    status=$?
    job=$(head -n 1 "$TMP/job_$1")
    if [ $status -eq 124 ]; then
        [ -n "$job" ] && scancel "$job"
        fail_with "job $job not finished after $WAIT s: $(squeue -h -j "$job" 2>&1)"
        return 1
    fi
    [ $status -eq 0 ] && return 0
    fail_with "sbatch exited $status: $(cat "$TMP/sbatch_$1")"
    for f in "$TMP"/logs/slurm-"$job"_*.out; do
        [ -s "$f" ] && { echo "  --- $f"; sed 's/^/  /' "$f"; }
    done
    return 1
}

reference_run() {
    "$GUIDEDBP" -r -q --json -w "$TINY" -o "$TMP/ref" "$IN" >"$TMP/ref.jsonl" ||
        fail_with "exit status $?" || return 1
    records "$TMP/ref.jsonl" | cut -d ' ' -f 1,2 >"$TMP/got"
    sed 's/$/ ok/' "$TMP/inputs" | cmp -s - "$TMP/got" || fail_with "records: $(cat "$TMP/ref.jsonl")"
}
check "one process over the folder (the reference)" reference_run

check "sbatch --wait of a 4-task array exits 0" submit first
[ -d "$OUT" ] && cp -R "$OUT" "$TMP/out_first"

# same_maps: OUT holds exactly the reference's files (plus the records),
# each byte for byte the same: same binary, same machine, and guidedbp's
# maps do not depend on --batch, threads or sharding.
same_maps() {
    (cd "$OUT" && find . -type f ! -name 'results.*.jsonl' | sort) >"$TMP/files"
    (cd "$TMP/ref" && find . -type f | sort) >"$TMP/want"
    cmp -s "$TMP/files" "$TMP/want" || fail_with "files: $(tr '\n' ' ' <"$TMP/files")" || return 1
    while read -r f; do
        cmp -s "$OUT/$f" "$TMP/ref/$f" || fail_with "$f differs from the single-process run" || return 1
    done <"$TMP/files"
}
check "the array wrote the single-process run's maps, byte for byte" same_maps

first_records() {
    shards=$(cd "$OUT" && echo results.*.jsonl)
    [ "$shards" = "results.0.jsonl results.1.jsonl results.2.jsonl results.3.jsonl" ] ||
        fail_with "record files: $shards" || return 1
    records "$OUT"/results.*.jsonl | cut -d ' ' -f 1,2 | sort >"$TMP/got"
    sed 's/$/ ok/' "$TMP/inputs" | cmp -s - "$TMP/got" ||
        fail_with "want each input once, ok; got: $(cat "$TMP/got")"
}
check "results.0..3.jsonl: every input exactly once, status ok" first_records

stamps_before=$(ls -l --time-style=full-iso "$OUT"/*.png 2>/dev/null)
check "the same array resubmitted exits 0" submit second

# second_records: the second attempt's records, whether a task appended to
# its results.I.jsonl (the lines after the first attempt's), replaced it
# (the whole file) or wrote a new one.
second_records() {
    for f in "$OUT"/results.*.jsonl; do
        old=$TMP/out_first/${f##*/}
        if [ -f "$old" ] && n=$(wc -l <"$old") && head -n "$n" "$f" | cmp -s - "$old"; then
            tail -n +"$((n + 1))" "$f"
        else
            cat "$f"
        fi
    done
}

all_skipped() {
    second_records >"$TMP/second.jsonl"
    records "$TMP/second.jsonl" | cut -d ' ' -f 1,2 | sort >"$TMP/got"
    sed 's/$/ skipped/' "$TMP/inputs" | cmp -s - "$TMP/got" ||
        fail_with "want each input once, skipped; got: $(cat "$TMP/got")"
}
check "the resubmission skips every input, each once" all_skipped

maps_unchanged() {
    same_maps || return 1
    [ "$(ls -l --time-style=full-iso "$OUT"/*.png)" = "$stamps_before" ] || fail_with "a map was rewritten"
}
check "the resubmission leaves every map as it was" maps_unchanged

# A resubmission must not lose the first attempt's results: a task that
# opens its results.I.jsonl with ">" replaces the records that carry each
# image's class, score and topk by "skipped" ones whose class is null.
classes_kept() {
    records "$TMP/ref.jsonl" | cut -d ' ' -f 1,3 | sort >"$TMP/want"
    records "$OUT"/results.*.jsonl | cut -d ' ' -f 1,3 | sort -u >"$TMP/got"
    comm -23 "$TMP/want" "$TMP/got" >"$TMP/lost"
    [ ! -s "$TMP/lost" ] ||
        fail_with "no record in results.*.jsonl keeps the class of: $(tr '\n' ' ' <"$TMP/lost")"
}
check "after the resubmission every input's class is still on record" classes_kept

summary
