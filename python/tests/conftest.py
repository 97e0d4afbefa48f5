"""Shared helpers: building a ``torch.nn`` module and ours with the same state dict."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import pytest
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import rnn_kernels

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


@dataclass
class Config:
    cell: str  # rnn_tanh, rnn_relu, lstm, gru
    input_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    batch_first: bool
    bias: bool
    packed: bool
    dtype: torch.dtype
    seq_len: int
    batch: int
    with_hx: bool
    seed: int

    @staticmethod
    def random(seed: int) -> "Config":
        r = random.Random(seed)
        return Config(
            cell=r.choice(["rnn_tanh", "rnn_relu", "lstm", "gru"]),
            input_size=r.randint(1, 7),
            hidden_size=r.randint(1, 9),
            num_layers=r.randint(1, 3),
            bidirectional=r.random() < 0.5,
            batch_first=r.random() < 0.5,
            bias=r.random() < 0.8,
            packed=r.random() < 0.5,
            dtype=r.choice([torch.float32, torch.float64]),
            seq_len=r.randint(1, 8),
            batch=r.randint(1, 5),
            with_hx=r.random() < 0.6,
            seed=seed,
        )

    def kwargs(self) -> Dict[str, Any]:
        kw: Dict[str, Any] = dict(num_layers=self.num_layers, bias=self.bias, batch_first=self.batch_first,
                                  bidirectional=self.bidirectional, dtype=self.dtype)
        if self.cell.startswith("rnn"):
            kw["nonlinearity"] = self.cell[4:]
        return kw

    def classes(self) -> Tuple[type, type]:
        name = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}[self.cell]
        return getattr(nn, name), getattr(rnn_kernels, name)


def make_pair(cfg: Config, **extra: Any) -> Tuple[nn.Module, nn.Module]:
    """A ``torch.nn`` module and ours with ``torch.nn``'s state dict."""
    torch_cls, our_cls = cfg.classes()
    torch.manual_seed(cfg.seed)
    ref = torch_cls(cfg.input_size, cfg.hidden_size, **cfg.kwargs())
    ours = our_cls(cfg.input_size, cfg.hidden_size, **cfg.kwargs(), **extra)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def make_inputs(cfg: Config) -> Tuple[Tensor, Optional[List[int]], Any]:
    """Input ``[T, B, I]`` (or batch first), row lengths for the packed case, and ``hx`` (or None)."""
    g = torch.Generator().manual_seed(1000 + cfg.seed)
    t, b, i = cfg.seq_len, cfg.batch, cfg.input_size
    shape = (b, t, i) if cfg.batch_first else (t, b, i)
    x = torch.randn(shape, generator=g, dtype=cfg.dtype)
    lengths = None
    if cfg.packed:
        lengths = [int(v) for v in torch.randint(1, cfg.seq_len + 1, (cfg.batch,), generator=g)]
        lengths[int(torch.randint(0, cfg.batch, (1,), generator=g))] = cfg.seq_len
    hx = None
    if cfg.with_hx:
        units = cfg.num_layers * (2 if cfg.bidirectional else 1)
        h0 = torch.randn(units, cfg.batch, cfg.hidden_size, generator=g, dtype=cfg.dtype)
        if cfg.cell == "lstm":
            hx = (h0, torch.randn(units, cfg.batch, cfg.hidden_size, generator=g, dtype=cfg.dtype))
        else:
            hx = h0
    return x, lengths, hx


def leaves(x: Tensor, hx: Any) -> Tuple[Tensor, Any]:
    """Fresh leaf copies requiring grad."""
    x = x.clone().requires_grad_(True)
    if hx is None:
        return x, None
    if isinstance(hx, tuple):
        return x, tuple(h.clone().requires_grad_(True) for h in hx)
    return x, hx.clone().requires_grad_(True)


def pack(x: Tensor, lengths: Optional[List[int]], batch_first: bool) -> Any:
    if lengths is None:
        return x
    return pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)


def flat_outputs(out: Any) -> List[Tensor]:
    """output (the packed data), h_n, c_n as a list."""
    output, hidden = out
    data = output.data if isinstance(output, PackedSequence) else output
    return [data] + (list(hidden) if isinstance(hidden, tuple) else [hidden])


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
