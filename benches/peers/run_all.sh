#!/usr/bin/env bash
# The whole speed table in one command: ours, PyTorch and JAX, every process
# pinned to the same cores, in one run. Writes the JSON files and table.md into
# OUT (default target/peers) and prints the table.
#
#   benches/peers/run_all.sh [OUT]
#
# Needs a Python with torch and/or jax (PYTHON, default python3; a missing
# framework is skipped with a message). Run it on an otherwise idle machine.
# ROUNDS (default 2) runs the whole sequence (ours and peers, one thread then
# two) that many times; each entry of the table is the best of its rounds'
# medians, so that a burst of load on a shared machine slows a round, not an
# entry (one round on 2026-12-07 had LSTM S3 forward at 267 ms, against
# 187-210 ms in runs minutes apart).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/peers}
py=${PYTHON:-python3}
rounds=${ROUNDS:-2}
mkdir -p "$out"
cargo build --profile bench -p benches --bin profile
target_dir=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
profile="$target_dir/release/profile" # the bench profile builds into release/
rm -f "$out"/ours-t*.json "$out"/peers-t*.json
for r in $(seq 1 "$rounds"); do
  for t in 1 2; do
    cores=$(seq -s, 0 $((t - 1)))
    taskset -c "$cores" "$profile" table "$t" "$out/ours-t$t-r$r.json"
    taskset -c "$cores" "$py" benches/peers/run_peers.py --threads "$t" --out "$out/peers-t$t-r$r.json"
  done
done
{
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d); best of $rounds rounds' medians."
  echo
  "$py" benches/peers/table.py --ours "$out"/ours-t*.json --peers "$out"/peers-t*.json
} | tee "$out/table.md"
