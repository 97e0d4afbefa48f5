#!/usr/bin/env python3
"""Gradient decay and spectral radius per configuration of a regularization run.

Usage: python3 grad_decay.py DIR   (DIR = the harness's --out directory)

For every configuration prints, as medians over seeds: the ratio
||dL/dh_(T-lag)|| / ||dL/dh_T|| at the largest lag (T - 1) at step 0 and at
the last recorded step (from grad_norms.csv), the spectral radius of W_hh at
the last evaluation (metrics.csv), the final held-out MSE and the success rate.
The harness has no summary metric for the gradient decay after training yet.
"""
import collections, csv, json, os, statistics, sys

d = sys.argv[1]
rows = collections.defaultdict(list)
labels = {}
for line in open(os.path.join(d, "runs.jsonl")):
    r = json.loads(line)
    run = os.path.join(d, "runs", r["id"])
    g = list(csv.DictReader(open(os.path.join(run, "grad_norms.csv"))))
    steps = sorted({int(x["step"]) for x in g})

    def ratio(step):
        by_lag = {int(x["lag"]): float(x["norm"]) for x in g if int(x["step"]) == step}
        return by_lag[max(by_lag)] / by_lag[0]

    m = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
    sr = [float(x["spectral_radius"]) for x in m if x["spectral_radius"]]
    rows[r["config"]].append((ratio(steps[0]), ratio(steps[-1]), sr[-1], r["final_loss"], r["solved"]))
    labels[r["config"]] = " ".join(f"{k}={v}" for k, v in r["params"].items())

print("| config | grad ratio lag T-1 / lag 0, step 0 | same, last step | spectral radius W_hh (final) | held-out MSE | solved |")
print("|---|---|---|---|---|---|")
for c in sorted(rows):
    v = rows[c]
    med = lambda i: statistics.median(x[i] for x in v)
    print(f"| {labels[c]} | {med(0):.1e} | {med(1):.1e} | {med(2):.2f} | {med(3):.4f} | {sum(x[4] for x in v)}/{len(v)} |")
