"""Drop-in details: constructor, state dicts, shapes, unbatched input, dropout, clear refusals."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnn_kernels
from rnn_kernels import UnsupportedError

PAIRS = [(nn.RNN, rnn_kernels.RNN), (nn.LSTM, rnn_kernels.LSTM), (nn.GRU, rnn_kernels.GRU)]


@pytest.mark.parametrize("torch_cls,our_cls", PAIRS)
@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_both_ways(torch_cls, our_cls, bias: bool) -> None:
    kw = dict(num_layers=3, bidirectional=True, bias=bias)
    ref, ours = torch_cls(5, 7, **kw), our_cls(5, 7, **kw)
    sd_ref, sd_ours = ref.state_dict(), ours.state_dict()
    assert list(sd_ref) == list(sd_ours)
    assert all(sd_ref[k].shape == sd_ours[k].shape for k in sd_ref)
    ours.load_state_dict(sd_ref)
    ref2 = torch_cls(5, 7, **kw)
    ref2.load_state_dict(ours.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(ref2.parameters(), ref.parameters()))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [[p.shape for p in ps] for ps in ours.all_weights] == [[p.shape for p in ps] for ps in ref.all_weights]


@pytest.mark.parametrize("torch_cls,our_cls", PAIRS)
def test_same_seed_same_init(torch_cls, our_cls) -> None:
    torch.manual_seed(4)
    ref = torch_cls(3, 6, num_layers=2)
    torch.manual_seed(4)
    ours = our_cls(3, 6, num_layers=2)
    assert all(torch.equal(a, b) for a, b in zip(ref.parameters(), ours.parameters()))


def test_positional_arguments_as_torch() -> None:
    # torch.nn.RNN(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)
    m = rnn_kernels.RNN(3, 4, 2, "relu", False, True, 0.0, True)
    assert (m.num_layers, m.nonlinearity, m.bias, m.batch_first, m.bidirectional) == (2, "relu", False, True, True)
    m = rnn_kernels.LSTM(3, 4, 2, True, True, 0.0, True, 0)
    assert (m.num_layers, m.bias, m.batch_first, m.bidirectional, m.proj_size) == (2, True, True, True, 0)
    assert repr(rnn_kernels.GRU(3, 4, 2, batch_first=True)) == repr(nn.GRU(3, 4, 2, batch_first=True))


@pytest.mark.parametrize("torch_cls,our_cls", PAIRS)
def test_unbatched_input(torch_cls, our_cls) -> None:
    ref = torch_cls(3, 5, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours = our_cls(3, 5, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(6, 3, dtype=torch.float64)
    h = torch.randn(4, 5, dtype=torch.float64)
    hx = (h, torch.randn(4, 5, dtype=torch.float64)) if torch_cls is nn.LSTM else h
    for a, b in [(ref(x), ours(x)), (ref(x, hx), ours(x, hx))]:
        torch.testing.assert_close(b[0], a[0], rtol=1e-10, atol=1e-10)
        ha = a[1] if isinstance(a[1], tuple) else (a[1],)
        hb = b[1] if isinstance(b[1], tuple) else (b[1],)
        for u, v in zip(ha, hb):
            assert u.shape == v.shape
            torch.testing.assert_close(v, u, rtol=1e-10, atol=1e-10)


def test_packed_sequence_indices_and_batch_first() -> None:
    ref = nn.LSTM(2, 3, batch_first=True, bidirectional=True, dtype=torch.float64)
    ours = rnn_kernels.LSTM(2, 3, batch_first=True, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 5, 2, dtype=torch.float64)
    p = pack_padded_sequence(x, [3, 5, 1, 5], batch_first=True, enforce_sorted=False)
    (pa, (ha, ca)), (pb, (hb, cb)) = ref(p), ours(p)
    assert torch.equal(pa.batch_sizes, pb.batch_sizes)
    assert torch.equal(pa.sorted_indices, pb.sorted_indices)
    assert torch.equal(pa.unsorted_indices, pb.unsorted_indices)
    torch.testing.assert_close(pb.data, pa.data, rtol=1e-10, atol=1e-10)
    ya, la = pad_packed_sequence(pa, batch_first=True)
    yb, lb = pad_packed_sequence(pb, batch_first=True)
    assert torch.equal(la, lb)
    torch.testing.assert_close(yb, ya, rtol=1e-10, atol=1e-10)
    # Sorted packing (no indices) as well.
    p = pack_padded_sequence(x, [5, 5, 3, 1], batch_first=True)
    assert ours(p)[0].sorted_indices is None
    torch.testing.assert_close(ours(p)[0].data, ref(p)[0].data, rtol=1e-10, atol=1e-10)


def test_batch_first_output_layout() -> None:
    ours = rnn_kernels.GRU(3, 4, batch_first=True)
    out, h = ours(torch.randn(2, 7, 3))
    assert out.shape == (2, 7, 4) and h.shape == (1, 2, 4)


def test_dropout_matches_torch_with_the_same_seed() -> None:
    """Dropout between layers runs layer by layer and draws the same masks as torch.nn."""
    ref = nn.LSTM(4, 6, num_layers=3, dropout=0.4, dtype=torch.float64)
    ours = rnn_kernels.LSTM(4, 6, num_layers=3, dropout=0.4, dtype=torch.float64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(5, 3, 4, dtype=torch.float64)
    torch.manual_seed(9)
    a = ref(x)
    torch.manual_seed(9)
    b = ours(x)
    torch.testing.assert_close(b[0], a[0], rtol=1e-10, atol=1e-10)
    a[0].sum().backward()
    b[0].sum().backward()
    for p, q in zip(ref.parameters(), ours.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-10, atol=1e-10)
    # In eval mode dropout is off: one fused call, torch.nn's eval outputs.
    ref.eval()
    ours.eval()
    torch.testing.assert_close(ours(x)[0], ref(x)[0], rtol=1e-10, atol=1e-10)


def test_module_copies_and_pickles() -> None:
    m = rnn_kernels.GRU(3, 4, num_layers=2)
    x = torch.randn(5, 2, 3)
    for other in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert torch.equal(other(x)[0], m(x)[0])


def test_retain_graph_second_backward() -> None:
    m = rnn_kernels.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    out, _ = m(x)
    (g1,) = torch.autograd.grad(out.sum(), x, retain_graph=True)
    (g2,) = torch.autograd.grad(out.sum(), x)
    assert torch.equal(g1, g2)


def test_module_double_and_float() -> None:
    m = rnn_kernels.RNN(3, 4).double()
    assert m(torch.randn(2, 1, 3, dtype=torch.float64))[0].dtype == torch.float64
    m.float()
    assert m(torch.randn(2, 1, 3))[0].dtype == torch.float32


# Refusals: clear errors, never a silent fallback.

def test_refuses_proj_size() -> None:
    with pytest.raises(UnsupportedError, match="proj_size"):
        rnn_kernels.LSTM(3, 4, proj_size=2)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_refuses_other_dtypes(dtype) -> None:
    with pytest.raises(UnsupportedError, match="float32 and float64"):
        rnn_kernels.GRU(3, 4, dtype=dtype)
    m = rnn_kernels.GRU(3, 4)
    with pytest.raises(UnsupportedError, match="float32 and float64"):
        m(torch.randn(2, 1, 3).to(dtype))
    with pytest.raises(UnsupportedError, match="float32 and float64"):
        m.to(dtype)(torch.randn(2, 1, 3).to(dtype))


def test_refuses_integer_input_and_mixed_dtypes() -> None:
    m = rnn_kernels.RNN(3, 4)
    with pytest.raises(UnsupportedError):
        m(torch.ones(2, 1, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="float64"):
        m(torch.ones(2, 1, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="h_0"):
        m(torch.ones(2, 1, 3), torch.zeros(1, 1, 4, dtype=torch.float64))


def test_refuses_non_cpu_tensors() -> None:
    with pytest.raises(UnsupportedError, match="CPU"):
        rnn_kernels.LSTM(3, 4, device="cuda")
    m = rnn_kernels.LSTM(3, 4)
    with pytest.raises(UnsupportedError, match="CPU"):
        m(torch.empty(2, 1, 3, device="meta"))
    with pytest.raises(UnsupportedError, match="CPU"):
        m.to("meta")(torch.empty(2, 1, 3))


def test_shape_errors() -> None:
    m = rnn_kernels.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match="input_size"):
        m(torch.randn(5, 2, 7))
    with pytest.raises(RuntimeError, match="hidden size"):
        m(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match="tuple"):
        m(torch.randn(5, 2, 3), torch.zeros(2, 2, 4))
    with pytest.raises(ValueError):
        m(torch.randn(5, 2, 3, 1))
    with pytest.raises(RuntimeError, match="empty"):
        m(torch.randn(0, 2, 3))
    with pytest.raises(ValueError, match="nonlinearity"):
        rnn_kernels.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        rnn_kernels.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="num_threads"):
        rnn_kernels.GRU(3, 4, num_threads=0)


def test_native_checks_name_the_argument() -> None:
    """The kernels' shape checks come back as ValueError naming the argument."""
    stack = rnn_kernels._native.Stack("GRU", 2, 3, 1, False)
    import numpy as np
    params = [np.zeros(9 * 2, np.float32), np.zeros(9 * 3, np.float32), np.zeros(9, np.float32),
              np.zeros(9, np.float32)]
    with pytest.raises(ValueError, match="`x`"):
        stack.forward_f32(params, np.zeros(5, np.float32), 2, 1)
    with pytest.raises(ValueError, match="lengths"):
        stack.forward_f32(params, np.zeros(4, np.float32), 2, 1, lengths=[3])
    with pytest.raises(TypeError):
        stack.forward_f32(params, np.zeros(4, np.float64), 2, 1)
