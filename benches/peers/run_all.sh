#!/usr/bin/env bash
# The whole speed table in one command: ours, PyTorch and JAX, every process
# pinned to the same cores, in one run. Writes the JSON files and table.md into
# OUT (default target/peers) and prints the table.
#
#   benches/peers/run_all.sh [OUT]
#
# Needs a Python with torch and/or jax (PYTHON, default python3; a missing
# framework is skipped with a message). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/peers}
py=${PYTHON:-python3}
mkdir -p "$out"
cargo build --profile bench -p benches --bin profile
target_dir=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
profile="$target_dir/release/profile" # the bench profile builds into release/
for t in 1 2; do
  cores=$(seq -s, 0 $((t - 1)))
  taskset -c "$cores" "$profile" table "$t" "$out/ours-t$t.json"
  taskset -c "$cores" "$py" benches/peers/run_peers.py --threads "$t" --out "$out/peers-t$t.json"
done
{
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)."
  echo
  "$py" benches/peers/table.py --ours "$out"/ours-t{1,2}.json --peers "$out"/peers-t{1,2}.json
} | tee "$out/table.md"
