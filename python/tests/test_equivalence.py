"""Outputs and every gradient equal to ``torch.nn``'s, over random configurations."""

from __future__ import annotations

from typing import List

import pytest
import torch

from conftest import TOL, Config, flat_outputs, leaves, make_inputs, make_pair, pack

SEEDS = list(range(120))


def _loss_weights(outs: List[torch.Tensor], seed: int) -> List[torch.Tensor]:
    """Random upstream weights; some outputs left out of the loss (their gradient is None)."""
    g = torch.Generator().manual_seed(seed)
    ws = [torch.randn(o.shape, generator=g, dtype=o.dtype) for o in outs]
    drop = int(torch.randint(0, len(outs) + 1, (1,), generator=g))  # == len(outs): keep all
    return [None if i == drop else w for i, w in enumerate(ws)]


def _run(module: torch.nn.Module, cfg: Config, x: torch.Tensor, lengths, hx, ws=None):
    x, hx = leaves(x, hx)
    out = module(pack(x, lengths, cfg.batch_first), hx)
    outs = flat_outputs(out)
    if ws is None:
        ws = _loss_weights(outs, cfg.seed)
    loss = sum((o * w).sum() for o, w in zip(outs, ws) if w is not None)
    loss.backward()
    grads = {"input": x.grad}
    if hx is not None:
        for i, h in enumerate(hx if isinstance(hx, tuple) else (hx,)):
            grads[f"hx{i}"] = h.grad
    for name, p in module.named_parameters():
        grads[name] = p.grad
    return outs, grads, ws


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_torch(seed: int) -> None:
    cfg = Config.random(seed)
    ref, ours = make_pair(cfg)
    x, lengths, hx = make_inputs(cfg)
    r_outs, r_grads, ws = _run(ref, cfg, x, lengths, hx)
    o_outs, o_grads, _ = _run(ours, cfg, x, lengths, hx, ws)
    tol = TOL[cfg.dtype]
    for name, r, o in zip(["output", "h_n", "c_n"], r_outs, o_outs):
        assert o.dtype == cfg.dtype
        torch.testing.assert_close(o, r, rtol=tol, atol=tol, msg=lambda m: f"{name} {cfg}: {m}")
    assert r_grads.keys() == o_grads.keys()
    for name in r_grads:
        r, o = r_grads[name], o_grads[name]
        if r is None:  # e.g. an input whose every use was dropped from the loss
            assert o is None or not o.any(), name
            continue
        assert o is not None, f"{name}: no gradient, {cfg}"
        torch.testing.assert_close(o, r, rtol=tol, atol=tol, msg=lambda m: f"grad {name} {cfg}: {m}")


def test_configurations_cover_every_case() -> None:
    cfgs = [Config.random(s) for s in SEEDS]
    for attr, values in [("cell", {"rnn_tanh", "rnn_relu", "lstm", "gru"}), ("num_layers", {1, 2, 3}),
                         ("bidirectional", {False, True}), ("batch_first", {False, True}),
                         ("packed", {False, True}), ("dtype", {torch.float32, torch.float64}),
                         ("bias", {False, True}), ("with_hx", {False, True})]:
        assert {getattr(c, attr) for c in cfgs} == values, attr
    # Every cell in both dtypes, packed and bidirectional.
    for cell in ["rnn_tanh", "rnn_relu", "lstm", "gru"]:
        for dtype in [torch.float32, torch.float64]:
            hit = any(c.cell == cell and c.dtype == dtype and c.packed and c.bidirectional for c in cfgs)
            assert hit, (cell, dtype)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_larger_shapes(cell: str, dtype: torch.dtype) -> None:
    """Sizes past the SIMD panel widths (H = 70 > 64), unequal lengths, two layers, both directions."""
    cfg = Config(cell=cell, input_size=33, hidden_size=70, num_layers=2, bidirectional=True, batch_first=False,
                 bias=True, packed=True, dtype=dtype, seq_len=12, batch=9, with_hx=True, seed=7)
    ref, ours = make_pair(cfg)
    x, lengths, hx = make_inputs(cfg)
    r_outs, r_grads, ws = _run(ref, cfg, x, lengths, hx)
    o_outs, o_grads, _ = _run(ours, cfg, x, lengths, hx, ws)
    tol = TOL[dtype]
    for r, o in zip(r_outs, o_outs):
        torch.testing.assert_close(o, r, rtol=tol, atol=tol)
    for name in r_grads:
        if r_grads[name] is not None:
            torch.testing.assert_close(o_grads[name], r_grads[name], rtol=tol, atol=tol, msg=name)


def test_inference_matches_torch() -> None:
    """Without grad (no tape): the same outputs as the training forward and as torch.nn."""
    for seed in range(12):
        cfg = Config.random(seed)
        ref, ours = make_pair(cfg)
        x, lengths, hx = make_inputs(cfg)
        with torch.no_grad():
            r = flat_outputs(ref(pack(x, lengths, cfg.batch_first), hx))
            o = flat_outputs(ours(pack(x, lengths, cfg.batch_first), hx))
        tol = TOL[cfg.dtype]
        for a, b in zip(o, r):
            assert not a.requires_grad
            torch.testing.assert_close(a, b, rtol=tol, atol=tol)
