#!/usr/bin/env python3
"""Markdown table of our criterion medians (target/criterion/<id>/new/estimates.json)
against the peers: by default the best-peer numbers of /work/shared/peers.md
(copied below, measured on the same 2-core machine, 2026-11-27), or JSON files
written by run_peers.py (`--peers`). Ratio = peer time / our time (> 1: we are faster).

    cargo bench -p benches --bench rnn
    python3 benches/peers/table.py [--criterion target/criterion] [--peers peers-t1.json ...]
"""
import argparse
import json
import os

SHAPES = {"S1": "T100_B1_H128", "S2": "T100_B16_H256", "S3": "T50_B64_H512", "S4": "T25_B32_H1024",
          "S5": "T1000_B1_H64"}
CELLS = ["rnn_tanh", "lstm", "gru"]
# Best peer per cell, /work/shared/peers.md: (fwd_bwd t1, fwd t1, fwd_bwd t2) in ms.
PEERS_MD = {
    ("rnn_tanh", "S1"): (0.469, 0.131, 0.521), ("lstm", "S1"): (1.731, 0.621, 1.437), ("gru", "S1"): (1.145, 0.510, 1.493),
    ("rnn_tanh", "S2"): (17.8, 4.61, 15.8), ("lstm", "S2"): (53.8, 17.1, 28.6), ("gru", "S2"): (51.9, 19.2, 40.8),
    ("rnn_tanh", "S3"): (124, 35.9, 68.8), ("lstm", "S3"): (459, 143, 249), ("gru", "S3"): (388, 109, 235),
    ("rnn_tanh", "S4"): (134, 36.6, 63.3), ("lstm", "S4"): (495, 151, 232), ("gru", "S4"): (454, 134, 239),
    ("rnn_tanh", "S5"): (1.99, 0.342, 1.96), ("lstm", "S5"): (6.28, 1.95, 6.05), ("gru", "S5"): (4.70, 1.91, 4.66),
}


def ours(root, cell, mode, shape, threads):
    p = os.path.join(root, f"{cell}_{mode}", SHAPES[shape], f"t{threads}", "new", "estimates.json")
    if not os.path.exists(p):
        p = os.path.join(root, cell, mode, SHAPES[shape], f"t{threads}", "new", "estimates.json")
    try:
        with open(p) as f:
            return json.load(f)["median"]["point_estimate"] / 1e6
    except FileNotFoundError:
        return None


def fmt(v):
    return "–" if v is None else (f"{v:.3g}" if v < 100 else f"{v:.0f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criterion", default="target/criterion")
    ap.add_argument("--peers", nargs="*", default=[])
    args = ap.parse_args()
    peers = {}
    for path in args.peers:
        for r in json.load(open(path))["results"]:
            for mode in ["fwd", "fwd_bwd"]:
                key = (r["cell"], r["shape"], mode, r["threads"])
                v = r[f"{mode}_ms"]
                if key not in peers or v < peers[key][0]:
                    peers[key] = (v, r["peer"])
    if not peers:
        for (cell, shape), (fb1, f1, fb2) in PEERS_MD.items():
            peers[(cell, shape, "fwd_bwd", 1)] = (fb1, "peers.md")
            peers[(cell, shape, "fwd", 1)] = (f1, "peers.md")
            peers[(cell, shape, "fwd_bwd", 2)] = (fb2, "peers.md")
    print("| cell | shape | mode | threads | ours ms | best peer ms | peer/ours |")
    print("|---|---|---|---|---|---|---|")
    for cell in CELLS:
        for shape in SHAPES:
            for mode in ["fwd", "fwd_bwd"]:
                for threads in [1, 2]:
                    o = ours(args.criterion, cell, mode, shape, threads)
                    p = peers.get((cell, shape, mode, threads))
                    ratio = f"{p[0] / o:.2f}" if (o and p) else "–"
                    print(f"| {cell} | {shape} | {mode} | {threads} | {fmt(o)} | {fmt(p[0] if p else None)} | {ratio} |")
    print()
    print("Two-thread speed-up (ours, t1/t2):")
    print("| cell | shape | fwd | fwd_bwd |")
    print("|---|---|---|---|")
    for cell in CELLS:
        for shape in SHAPES:
            row = []
            for mode in ["fwd", "fwd_bwd"]:
                a, b = ours(args.criterion, cell, mode, shape, 1), ours(args.criterion, cell, mode, shape, 2)
                row.append(f"{a / b:.2f}" if (a and b) else "–")
            print(f"| {cell} | {shape} | {row[0]} | {row[1]} |")


if __name__ == "__main__":
    main()
