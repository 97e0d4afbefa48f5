"""A small training task: the loss curve of rnn_kernels.X follows torch.nn.X's.

"Within float32 tolerance" is measured on the task itself: float32 rounding
alone moves torch.nn's own curve away from its float64 curve by some amount
(``drift``); our float32 curve must stay within a few times that of torch.nn's
float32 curve, and in float64 the two curves must agree to 1e-9.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnn_kernels

STEPS = 300


def _task(seed: int, n: int = 64, t: int = 16):
    """Regress the (scaled) sum of the first input channel over the sequence: a memory task."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, 3, generator=g)
    y = x[:, :, 0].sum(1, keepdim=True) / t ** 0.5
    return x, y


class Model(nn.Module):
    def __init__(self, rnn: nn.Module, hidden: int, directions: int) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(directions * hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _curve(lib, name: str, dtype: torch.dtype, batch: int = 16) -> torch.Tensor:
    """``STEPS`` Adam steps of a 2-layer ``lib.name`` (the GRU bidirectional) from one seeded init."""
    hidden, bidirectional = 16, name == "GRU"
    d = 2 if bidirectional else 1
    torch.manual_seed(0)
    init = Model(getattr(nn, name)(3, hidden, num_layers=2, batch_first=True, bidirectional=bidirectional),
                 hidden, d).state_dict()
    model = Model(getattr(lib, name)(3, hidden, num_layers=2, batch_first=True, bidirectional=bidirectional),
                  hidden, d)
    model.load_state_dict(init)
    model.to(dtype)
    x, y = _task(1)
    x, y = x.to(dtype), y.to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for step in range(STEPS):
        i = (step * batch) % x.shape[0]
        loss = nn.functional.mse_loss(model(x[i:i + batch]), y[i:i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float64)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs() / a.abs()).max().item()


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_same_loss_curve(name: str) -> None:
    ref32, ours32 = _curve(nn, name, torch.float32), _curve(rnn_kernels, name, torch.float32)
    ref64, ours64 = _curve(nn, name, torch.float64), _curve(rnn_kernels, name, torch.float64)
    # It learns: the last losses are a fraction of the first.
    assert ref32[-20:].mean() < 0.1 * ref32[:20].mean()
    assert ours32[-20:].mean() < 0.1 * ours32[:20].mean()
    assert _rel(ref64, ours64) < 1e-9
    drift = _rel(ref64, ref32)  # float32 rounding's own effect on torch.nn's curve
    assert _rel(ref32, ours32) < max(10 * drift, 1e-5), (_rel(ref32, ours32), drift)
