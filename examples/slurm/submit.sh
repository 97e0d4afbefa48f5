#!/bin/bash
# Submits a sharded sweep and its merge:
#
#   examples/slurm/submit.sh SPEC.toml OUT [SHARDS] [harness options...]
#
# SHARDS array tasks (default 4) write into OUT; one merge job, run after all of them
# succeed (--dependency=afterok), writes OUT-merged. Prints both job ids. HARNESS names
# the binary as in sweep.sbatch (exported to the jobs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
spec=$1
out=$2
shards=${3:-4}
shift $(($# < 3 ? $# : 3))
runs=$("${HARNESS:-harness}" plan "$spec" --count "$@" 2>/dev/null || true)
echo "spec $spec: ${runs:-?} runs in $shards shards"
array=$(sbatch --parsable --array=0-$((shards - 1)) "$here/sweep.sbatch" "$spec" "$out" "$@")
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes "$here/merge.sbatch" "$out-merged" "$out")
echo "array job $array, merge job $merge"
