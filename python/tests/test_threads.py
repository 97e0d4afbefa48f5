"""Bitwise identical results for one and two threads, and concurrent calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from conftest import Config, flat_outputs, leaves, make_inputs, make_pair, pack


def _all(module, cfg, x, lengths, hx):
    x, hx = leaves(x, hx)
    outs = flat_outputs(module(pack(x, lengths, cfg.batch_first), hx))
    sum((o * o).sum() for o in outs).backward()
    return outs + [x.grad] + [p.grad for p in module.parameters()]


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("packed", [False, True])
def test_one_and_two_threads_bitwise(cell: str, dtype: torch.dtype, packed: bool) -> None:
    # Large enough that two threads split the time loop (H and B past one panel).
    cfg = Config(cell=cell, input_size=40, hidden_size=96, num_layers=2, bidirectional=True, batch_first=False,
                 bias=True, packed=packed, dtype=dtype, seq_len=9, batch=16, with_hx=True, seed=11)
    _, one = make_pair(cfg, num_threads=1)
    _, two = make_pair(cfg, num_threads=2)
    x, lengths, hx = make_inputs(cfg)
    a = _all(one, cfg, x, lengths, hx)
    b = _all(two, cfg, x, lengths, hx)
    for u, v in zip(a, b):
        assert torch.equal(u, v)


def test_default_threads_follow_torch() -> None:
    cfg = Config(cell="gru", input_size=8, hidden_size=64, num_layers=1, bidirectional=True, batch_first=True,
                 bias=True, packed=False, dtype=torch.float32, seq_len=6, batch=8, with_hx=False, seed=2)
    _, m = make_pair(cfg)
    assert m.num_threads is None
    x, lengths, hx = make_inputs(cfg)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = _all(m, cfg, x, lengths, hx)
        m.zero_grad()
        torch.set_num_threads(2)
        b = _all(m, cfg, x, lengths, hx)
    finally:
        torch.set_num_threads(before)
    for u, v in zip(a, b):
        assert torch.equal(u, v)


def test_concurrent_calls() -> None:
    """Calls from several Python threads at once (the GIL is released) give the sequential results."""
    cfg = Config(cell="lstm", input_size=16, hidden_size=32, num_layers=2, bidirectional=False, batch_first=False,
                 bias=True, packed=False, dtype=torch.float64, seq_len=20, batch=4, with_hx=False, seed=5)
    _, m = make_pair(cfg, num_threads=1)
    xs = [torch.randn(20, 4, 16, dtype=torch.float64) for _ in range(6)]
    with torch.no_grad():
        expected = [m(x)[0] for x in xs]
        with ThreadPoolExecutor(3) as pool:
            got = list(pool.map(lambda x: m(x)[0], xs))
    for e, g in zip(expected, got):
        assert torch.equal(e, g)
