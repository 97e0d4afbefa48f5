"""Time a training step of ``torch.nn.X`` and ``rnn_kernels.X`` at the shapes S1-S5.

A step is forward over the whole sequence and backward from ``loss =
output.sum()`` (every weight, bias and input gradient), single layer,
``I = H``, float32, ``h0 = 0``: the benchmarks' ``fwd_bwd``
(``benches/README.md``). Both libraries run in this one process; for the
one-thread column the process is pinned to one core and
``torch.set_num_threads(1)``, for the two-thread column to two cores and
``torch.set_num_threads(2)`` (``rnn_kernels`` follows ``torch.get_num_threads()``).
Each entry is the best of several steps after a warm-up step.

    python bench/train_step.py [--cells LSTM,GRU,RNN] [--shapes S1,S2] [--threads 1,2] [--reps 5]

prints a Markdown table (milliseconds per step, and torch.nn's time over ours).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from typing import Dict, List, Tuple

import torch
from torch import nn

import rnn_kernels

SHAPES: Dict[str, Tuple[int, int, int]] = {  # (T, B, H), I = H
    "S1": (100, 1, 128),
    "S2": (100, 16, 256),
    "S3": (50, 64, 512),
    "S4": (25, 32, 1024),
    "S5": (1000, 1, 64),
}


def step_time(module: nn.Module, x: torch.Tensor, reps: int, budget_s: float) -> float:
    """Best seconds of one forward + backward (after one warm-up), within about ``budget_s``."""

    def once() -> float:
        module.zero_grad(set_to_none=True)
        x.grad = None
        t0 = time.perf_counter()
        out, _ = module(x)
        out.sum().backward()
        return time.perf_counter() - t0

    once()
    best = float("inf")
    start = time.perf_counter()
    for i in range(reps):
        best = min(best, once())
        if i >= 1 and time.perf_counter() - start > budget_s:
            break
    return best


def simd_flags() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                names = ["avx512f", "avx512bw", "avx512vl", "avx2", "fma", "avx", "sse4_2", "neon"]
                return " ".join(n for n in names if n in flags)
    return "?"


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="LSTM,GRU,RNN")
    ap.add_argument("--shapes", default="S1,S2,S3,S4,S5")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget", type=float, default=4.0, help="seconds per entry after the first two steps")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    cores = sorted(os.sched_getaffinity(0))
    if max(threads) > len(cores):
        raise SystemExit(f"{max(threads)} threads need as many cores; this process may use {cores}")

    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; SIMD flags: {simd_flags()}; "
          f"rnn_kernels SIMD level: {rnn_kernels.simd_level()}")
    print(f"date: {datetime.date.today()}; torch {torch.__version__}; one training step (forward + backward, "
          f"loss = output.sum()), f32, I = H, 1 layer; ms per step, best of up to {args.reps}")
    print()
    head = "| cell | shape (T, B, H) |"
    rule = "|---|---|"
    for t in threads:
        head += f" torch.nn {t}T | rnn_kernels {t}T | speed-up {t}T |"
        rule += "---:|---:|---:|"
    print(head)
    print(rule, flush=True)
    results: Dict[Tuple[str, str, int], Tuple[float, float]] = {}
    for cell in args.cells.split(","):
        for shape in args.shapes.split(","):
            t_len, batch, hidden = SHAPES[shape]
            torch.manual_seed(0)
            ref = getattr(nn, cell)(hidden, hidden)
            ours = getattr(rnn_kernels, cell)(hidden, hidden)
            ours.load_state_dict(ref.state_dict())
            x = torch.randn(t_len, batch, hidden, requires_grad=True)
            row = f"| {cell} | {shape} ({t_len}, {batch}, {hidden}) |"
            for t in threads:
                os.sched_setaffinity(0, cores[:t])
                torch.set_num_threads(t)
                a = step_time(ref, x, args.reps, args.budget)
                b = step_time(ours, x, args.reps, args.budget)
                results[(cell, shape, t)] = (a, b)
                row += f" {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.2f}x |"
            os.sched_setaffinity(0, cores)
            print(row, flush=True)


if __name__ == "__main__":
    main()
