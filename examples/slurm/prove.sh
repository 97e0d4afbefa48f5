#!/usr/bin/env bash
# Proves examples/slurm/ on a real (one-node) Slurm cluster, made on this machine:
#
#   bash examples/slurm/prove.sh [SPEC.toml]        (as root, on Debian; default experiments/example.toml)
#
# HARNESS=path/to/harness uses that binary instead of building one.
# 1. apt-get installs Debian's slurm-wlm and munge; cargo builds the harness;
# 2. writes a one-node slurm.conf for a machine without systemd or cgroups
#    (proctrack/linuxproc, task/none, NodeAddr 127.0.0.1, the node's real CPU count and
#    memory from `slurmd -C`), creates a munge key, and starts munged, slurmctld and
#    slurmd as root in the background (everything under one temporary directory;
#    /etc is not touched);
# 3. submits a 4-task array of the spec (examples/slurm/sweep.sbatch, the tasks sharing
#    one output directory) and the merge job (merge.sbatch, --dependency=afterok), waits;
# 4. runs the spec unsharded and compares it with the merge byte for byte, apart from the
#    provenance files (manifest.json, shards/, runs/*/provenance.json, .lock) and wall_s;
# 5. stops the daemons (also on failure). Exit status 0 when the merge is identical, 1 when
#    it is not (or a job failed), 5 when no cluster could be started here (packages, munge,
#    a node that never became idle): .ci/run reports that and goes on.
set -euo pipefail
cd "$(dirname "$0")/../.."
spec=${1:-experiments/example.toml}
t0=$(date +%s)
step() { echo "== $1 (+$(( $(date +%s) - t0 )) s)"; }

if [ "$(id -u)" != 0 ]; then
  echo "prove.sh: run as root (it installs packages and starts slurmd)" >&2
  exit 2
fi

step "apt-get install slurm-wlm munge"
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; } ||
    { echo "prove.sh: could not install slurm-wlm and munge" >&2; exit 5; }
fi
slurmctld -V

if [ -n "${HARNESS:-}" ] && [ -x "$HARNESS" ]; then
  step "the harness: $HARNESS"
else
  step "cargo build -p harness"
  cargo build -q -p harness
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  export HARNESS="$target_dir/debug/harness"
fi
echo "$spec: $("$HARNESS" plan "$spec" | head -1)"

work=$(mktemp -d /tmp/harness-slurm.XXXXXX)
chmod 755 "$work"
pids=()
stop() {
  local code=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ ${#pids[@]} -gt 0 ]; then echo "== daemons stopped"; fi
  if [ $code -ne 0 ]; then
    echo "prove.sh failed (exit $code); logs in $work:" >&2
    tail -n 20 "$work"/*.log "$work"/*.out 2>/dev/null >&2 || true
  else
    rm -rf "$work"
  fi
  exit $code
}
trap stop EXIT

step "munge key and munged"
mkdir -p "$work/munge"
chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
socket="$work/munge/munge.socket"
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed" \
  --log-file="$work/munged.log" >>"$work/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
munge -n -S "$socket" | unmunge -S "$socket" | grep -E '^STATUS' || { echo "munged did not start" >&2; exit 5; }

step "slurm.conf, slurmctld, slurmd"
node=$(hostname -s)
# The node as slurmd sees it: CPUs, boards, sockets, cores, threads, RealMemory.
hw=$(slurmd -C | head -1 | sed -E 's/^NodeName=[^ ]+ //')
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF="$work/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=harness
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
grep -E '^(NodeName|ProctrackType|TaskPlugin)' "$SLURM_CONF"
slurmctld -D -i -f "$SLURM_CONF" >>"$work/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >>"$work/slurmd.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
sinfo
[ "$state" = idle ] || { echo "the node never became idle (state: ${state:-none})" >&2; exit 5; }

step "sbatch: a 4-task array and the merge (afterok)"
out="$work/shared"
mem=$(( $(echo "$hw" | sed -E 's/.*RealMemory=([0-9]+).*/\1/') / 8 ))
array=$(sbatch --parsable --array=0-3 --mem="${mem}M" --chdir="$PWD" --output="$work/sweep-%A_%a.out" \
  examples/slurm/sweep.sbatch "$spec" "$out")
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes --mem="${mem}M" --chdir="$PWD" \
  --output="$work/merge-%j.out" examples/slurm/merge.sbatch "$work/merged" "$out")
echo "array job $array, merge job $merge"
squeue
for _ in $(seq 3600); do
  [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
  sleep 1
done
scontrol show job "$merge" | grep -oE 'JobState=[A-Z]+|ExitCode=[0-9:]+' | tr '\n' ' '
echo
for f in "$work"/sweep-*.out "$work"/merge-*.out; do
  echo "-- $(basename "$f")"
  grep -vE '^\[' "$f" | tail -n 4
done
scontrol show job "$merge" | grep -q 'JobState=COMPLETED' || { echo "the merge job did not complete" >&2; exit 1; }

step "the unsharded run, compared with the merge"
"$HARNESS" "$spec" --out "$work/whole" --no-shard >/dev/null 2>&1
strip() { sed -E 's/"wall_s": ?[-+0-9.eE]+,?//' "$1"; }
compared=0
differ=0
while IFS= read -r f; do
  case "$f" in
  manifest.json | .lock | shards/* | */provenance.json) continue ;;
  esac
  compared=$((compared + 1))
  if [ ! -f "$work/merged/$f" ]; then
    echo "missing from the merge: $f"
    differ=1
  elif ! cmp -s <(strip "$work/whole/$f") <(strip "$work/merged/$f"); then
    echo "differs: $f"
    differ=1
  fi
done < <(cd "$work/whole" && find . -type f | sed 's|^\./||' | sort)
extra=$(cd "$work/merged" && find . -type f | sed 's|^\./||' | grep -vE '^(manifest.json|\.lock|shards/)' | while read -r f; do
  [ -f "$work/whole/$f" ] || echo "$f"
done)
[ -z "$extra" ] || { echo "only in the merge: $extra"; differ=1; }
[ $differ = 0 ] || exit 1
echo "identical: $compared files (provenance files and wall_s aside)"
step "done in $(( $(date +%s) - t0 )) s"
