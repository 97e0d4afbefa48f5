#!/usr/bin/env python3
"""Times PyTorch and JAX (CPU wheels from PyPI) on the cells and shapes of the
`rnn` criterion benchmark, at the same thread counts, and writes one JSON file
of median milliseconds. Not run by CI.

    pip install torch jax jaxlib          # CPU wheels
    python3 benches/peers/run_peers.py --threads 1 --out peers-t1.json
    python3 benches/peers/run_peers.py --threads 2 --out peers-t2.json
    python3 benches/peers/table.py --peers peers-t1.json peers-t2.json

Each framework runs in its own process per thread count (thread pools are
fixed at start-up), so run the script once per thread count. Same set-up as
ours: f32, single layer, unidirectional, I = H, biases on, h0 = 0; `fwd` is an
inference forward over the whole sequence, `fwd_bwd` a training forward and
the gradients of every weight, bias and the input for loss = sum of all
outputs. JAX uses lax.scan cells with the input projection hoisted out of the
loop (one GEMM), its fastest formulation of these cells.
"""
import argparse
import json
import os
import statistics
import sys
import time

SHAPES = {"S1": (100, 1, 128), "S2": (100, 16, 256), "S3": (50, 64, 512), "S4": (25, 32, 1024), "S5": (1000, 1, 64)}
CELLS = {"rnn_tanh": 1, "lstm": 4, "gru": 3}


def timeit(fn, min_time=1.0, min_runs=5):
    fn()  # warm-up / compile
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    return statistics.median(times) * 1e3


def run_torch(threads, results, shapes):
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    mods = {"rnn_tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    for cell, mod in mods.items():
        for name in shapes:
            t, b, h = SHAPES[name]
            m = mod(h, h)
            x = torch.randn(t, b, h)

            def fwd():
                with torch.no_grad():
                    m(x)

            def fwd_bwd():
                xg = x.detach().requires_grad_(True)
                out, _ = m(xg)
                out.sum().backward()

            results.append({"peer": "pytorch " + torch.__version__, "cell": cell, "shape": name, "threads": threads,
                            "fwd_ms": timeit(fwd), "fwd_bwd_ms": timeit(fwd_bwd)})
            print(results[-1], file=sys.stderr)


def run_jax(threads, results, shapes):
    import jax
    import jax.numpy as jnp

    def cell_fn(kind, h):
        def step(carry, xg, w_hh, b_hh):
            if kind == "lstm":
                hp, cp = carry
                g = xg + hp @ w_hh.T + b_hh
                i, f, gg, o = jnp.split(g, 4, axis=-1)
                c = jax.nn.sigmoid(f) * cp + jax.nn.sigmoid(i) * jnp.tanh(gg)
                hn = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (hn, c), hn
            if kind == "gru":
                hp = carry
                hh = hp @ w_hh.T + b_hh
                xr, xz, xn = jnp.split(xg, 3, axis=-1)
                hr, hz, hn_ = jnp.split(hh, 3, axis=-1)
                r = jax.nn.sigmoid(xr + hr)
                z = jax.nn.sigmoid(xz + hz)
                n = jnp.tanh(xn + r * hn_)
                hn = (1 - z) * n + z * hp
                return hn, hn
            hp = carry
            hn = jnp.tanh(xg + hp @ w_hh.T + b_hh)
            return hn, hn

        def run(params, x):
            w_ih, w_hh, b_ih, b_hh = params
            xg = x @ w_ih.T + b_ih  # hoisted input projection: one GEMM
            b = x.shape[1]
            h0 = jnp.zeros((b, h), x.dtype)
            carry = (h0, h0) if kind == "lstm" else h0
            _, ys = jax.lax.scan(lambda c, g: step(c, g, w_hh, b_hh), carry, xg)
            return ys

        return run

    for cell, g in CELLS.items():
        for name in shapes:
            t, b, h = SHAPES[name]
            key = jax.random.PRNGKey(0)
            k = 1.0 / h ** 0.5
            ks = jax.random.split(key, 5)
            params = (jax.random.uniform(ks[0], (g * h, h), minval=-k, maxval=k),
                      jax.random.uniform(ks[1], (g * h, h), minval=-k, maxval=k),
                      jax.random.uniform(ks[2], (g * h,), minval=-k, maxval=k),
                      jax.random.uniform(ks[3], (g * h,), minval=-k, maxval=k))
            x = jax.random.normal(ks[4], (t, b, h))
            run = cell_fn(cell, h)
            fwd = jax.jit(run)
            grad = jax.jit(jax.grad(lambda p, x: run(p, x).sum(), argnums=(0, 1)))
            results.append({"peer": "jax " + jax.__version__, "cell": cell, "shape": name, "threads": threads,
                            "fwd_ms": timeit(lambda: fwd(params, x).block_until_ready()),
                            "fwd_bwd_ms": timeit(lambda: jax.tree_util.tree_map(
                                lambda a: a.block_until_ready(), grad(params, x)))})
            print(results[-1], file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="peers.json")
    ap.add_argument("--only", choices=["torch", "jax"], default=None)
    ap.add_argument("--shapes", nargs="*", default=list(SHAPES))
    args = ap.parse_args()
    # Thread counts must be fixed before the frameworks start. XLA's CPU
    # runtime ignores the flags below for part of its work (unpinned, its
    # "one thread" runs used both cores here), so the process is also pinned
    # to `threads` cores: the peers get exactly the cores we do.
    os.sched_setaffinity(0, set(range(args.threads)))
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["MKL_NUM_THREADS"] = str(args.threads)
    # Debian's torch calls the system BLAS (libblas.so.3: OpenBLAS when libopenblas0 is
    # installed, else the reference BLAS), which sizes its own thread pool at load.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'} "
                               f"intra_op_parallelism_threads={args.threads}")
    results = []
    for name, fn in [("torch", run_torch), ("jax", run_jax)]:
        if args.only not in (None, name):
            continue
        try:
            fn(args.threads, results, args.shapes)
        except ImportError as e:
            print(f"skipping {name}: {e}", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump({"machine": os.uname().nodename, "date": time.strftime("%Y-%m-%d"), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
