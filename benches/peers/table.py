#!/usr/bin/env python3
"""Markdown tables of our medians against the peers', all measured in one session
on the same cores: `run_all.sh` writes the JSON files this reads.
Ratio = best peer time / our time (> 1: we are faster); share = achieved GFLOP/s
over the one-core FMA peak measured in the same run (`profile table`), for one thread.

    python3 benches/peers/table.py --ours ours-t1.json ours-t2.json --peers peers-t1.json peers-t2.json

Given several rounds' files, each entry is the best (smallest) of its rounds' medians.
"""
import argparse
import json

SHAPES = {"S1": (100, 1, 128), "S2": (100, 16, 256), "S3": (50, 64, 512), "S4": (25, 32, 1024),
          "S5": (1000, 1, 64)}
CELLS = {"rnn_tanh": 1, "lstm": 4, "gru": 3}
MODES = ["fwd", "fwd_bwd"]


def flops(cell, shape, mode):
    t, b, h = SHAPES[shape]
    f = 2 * t * b * (h + h) * CELLS[cell] * h
    return f if mode == "fwd" else 3 * f


def load(paths):
    """{(peer, cell, shape, mode, threads): ms} and the FMA peak (GFLOP/s), if given.

    Where several files (rounds) hold the same entry, the smallest median is kept,
    for ours and the peers alike, and the largest peak: a burst of load from the
    machine's neighbours slows one round, not the entry."""
    out, peak, level = {}, None, None
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        if doc.get("fma_peak_gflops") is not None:
            peak = max(peak or 0.0, doc["fma_peak_gflops"])
        level = doc.get("level", level)
        for r in doc["results"]:
            for mode in MODES:
                key, ms = (r["peer"], r["cell"], r["shape"], mode, r["threads"]), r[f"{mode}_ms"]
                if ms is not None:
                    out[key] = min(out.get(key, ms), ms)
    return out, peak, level


def fmt(v):
    return "–" if v is None else (f"{v:.3g}" if v < 100 else f"{v:.0f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", nargs="+", required=True, help="JSON files written by `profile table`")
    ap.add_argument("--peers", nargs="+", required=True, help="JSON files written by run_peers.py")
    args = ap.parse_args()
    ours, peak, level = load(args.ours)
    peers, _, _ = load(args.peers)
    names = sorted({k[0] for k in peers})
    threads = sorted({k[4] for k in ours})
    print(f"Our level: {level}; one-core FMA peak measured in this run: {peak:.0f} GFLOP/s.\n")
    head = " | ".join(f"{n} ms" for n in names)
    print(f"| cell | shape | mode | threads | ours ms | {head} | best peer / ours | ours % of peak |")
    print("|---|---|---|---|---|" + "---|" * len(names) + "---|---|")
    ratios = []
    for cell in CELLS:
        for shape in SHAPES:
            for mode in MODES:
                for t in threads:
                    o = ours.get(("ours", cell, shape, mode, t))
                    ps = [peers.get((n, cell, shape, mode, t)) for n in names]
                    best = min((p for p in ps if p), default=None)
                    ratio = best / o if (o and best) else None
                    if ratio and t == 1:
                        ratios.append(ratio)
                    share = f"{100 * flops(cell, shape, mode) / (o * 1e6) / peak:.0f}" if (o and peak and t == 1) else "–"
                    cols = " | ".join(fmt(p) for p in ps)
                    print(f"| {cell} | {shape} | {mode} | {t} | {fmt(o)} | {cols} | "
                          f"{'–' if ratio is None else f'{ratio:.2f}'} | {share} |")
    if ratios:
        g = 1.0
        for r in ratios:
            g *= r
        print(f"\nOne thread: geometric mean of best peer / ours {g ** (1 / len(ratios)):.2f} over {len(ratios)} "
              f"entries, {sum(r < 1 for r in ratios)} below 1, {sum(r >= 1.25 for r in ratios)} at or above 1.25.")
    if 1 in threads and 2 in threads:
        print("\nTwo threads against one (ours, t1 / t2):\n")
        print("| cell | shape | fwd | fwd_bwd |")
        print("|---|---|---|---|")
        for cell in CELLS:
            for shape in SHAPES:
                row = []
                for mode in MODES:
                    a, b = ours.get(("ours", cell, shape, mode, 1)), ours.get(("ours", cell, shape, mode, 2))
                    row.append(f"{a / b:.2f}" if (a and b) else "–")
                print(f"| {cell} | {shape} | {row[0]} | {row[1]} |")


if __name__ == "__main__":
    main()
