"""``torch.autograd.gradcheck`` in float64 through the modules."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import stateless
from torch.nn.utils.rnn import pack_padded_sequence

import rnn_kernels

CASES = [
    ("RNN", {"nonlinearity": "tanh"}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}),
    ("GRU", {}),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[c[0] + c[1].get("nonlinearity", "") for c in CASES])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_gradcheck(name: str, kw: dict, packed: bool) -> None:
    torch.manual_seed(3)
    module = getattr(rnn_kernels, name)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64, **kw)
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in module.parameters()]
    T, B = 5, 3
    lengths = [5, 2, 4] if packed else None
    x = torch.randn(T, B, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, B, 4, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(4, B, 4, dtype=torch.float64, requires_grad=True)
    lstm = name == "LSTM"

    def f(x, h0, c0, *ps):
        inp = pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else x
        hx = (h0, c0) if lstm else h0
        out, hidden = stateless.functional_call(module, dict(zip(names, ps)), (inp, hx))
        data = out.data if packed else out
        return (data, *hidden) if lstm else (data, hidden)

    assert torch.autograd.gradcheck(f, (x, h0, c0, *params), eps=1e-6, atol=1e-6, rtol=1e-5)
