#!/usr/bin/env python3
"""Markdown table of our criterion medians (target/criterion/<id>/new/estimates.json)
against the peers' medians in the JSON files that run_peers.py wrote in the same
session, on the same cores. Ratio = best peer time / our time (> 1: we are faster).

    cargo bench -p benches --bench rnn
    python3 benches/peers/table.py --peers peers-t1.json peers-t2.json [--criterion target/criterion]
"""
import argparse
import json
import os

SHAPES = {"S1": "T100_B1_H128", "S2": "T100_B16_H256", "S3": "T50_B64_H512", "S4": "T25_B32_H1024",
          "S5": "T1000_B1_H64"}
CELLS = ["rnn_tanh", "lstm", "gru"]
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
    ap.add_argument("--peers", nargs="+", required=True, help="JSON files written by run_peers.py")
    args = ap.parse_args()
    peers = {}
    for path in args.peers:
        for r in json.load(open(path))["results"]:
            for mode in ["fwd", "fwd_bwd"]:
                key = (r["cell"], r["shape"], mode, r["threads"])
                v = r[f"{mode}_ms"]
                if key not in peers or v < peers[key][0]:
                    peers[key] = (v, r["peer"])
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
