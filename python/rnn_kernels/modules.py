"""The modules and the autograd function behind them."""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnn_kernels._native import Stack

_DTYPES = (torch.float32, torch.float64)


class UnsupportedError(RuntimeError):
    """A case the kernels do not cover (CUDA tensors, other dtypes, ...).

    Raised instead of falling back to ``torch.nn`` silently.
    """


def _flat(t: Tensor) -> np.ndarray:
    """A flat numpy view of ``t`` (a copy only when ``t`` is not contiguous)."""
    return t.detach().contiguous().view(-1).numpy()


def _maybe_flat(t: Optional[Tensor]) -> Optional[np.ndarray]:
    return None if t is None else _flat(t)


def _tensor(a: Optional[np.ndarray], shape: Sequence[int]) -> Optional[Tensor]:
    """The numpy result ``a`` as a tensor of ``shape`` (no copy)."""
    return None if a is None else torch.from_numpy(a).view(*shape)


class _Call:
    """One call's fixed arguments: the stack, the shape, the lengths, the threads."""

    def __init__(self, stack: Stack, lstm: bool, seq_len: int, batch: int, lengths: Optional[List[int]],
                 threads: int, dtype: torch.dtype, hidden_size: int, units: int,
                 output_size: int) -> None:
        self.stack = stack
        self.lstm = lstm
        self.seq_len = seq_len
        self.batch = batch
        self.lengths = lengths
        self.threads = threads
        self.f64 = dtype == torch.float64
        self.state_shape = (units, batch, hidden_size)
        self.output_shape = (seq_len, batch, output_size)

    def forward(self, weights: Sequence[Tensor], x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor],
                training: bool) -> Tuple[Tensor, Tensor, Optional[Tensor], Optional[np.ndarray]]:
        run = self.stack.forward_f64 if self.f64 else self.stack.forward_f32
        out, h_n, c_n, tape = run(
            [_flat(w) for w in weights], _flat(x), self.seq_len, self.batch, _maybe_flat(h0), _maybe_flat(c0),
            self.lengths, self.threads, training)
        return (_tensor(out, self.output_shape), _tensor(h_n, self.state_shape), _tensor(c_n, self.state_shape),
                tape)


class _StackFunction(torch.autograd.Function):
    """Forward and BPTT of a whole stack: ``(call, x, h0, c0, *weights) -> (output, h_n[, c_n])``.

    The kernels' backward overwrites the forward's tape; a second backward
    through the same graph (``retain_graph=True``, ``gradcheck``) runs the
    forward again for a fresh tape (bitwise the same).
    """

    @staticmethod
    def forward(ctx: Any, call: _Call, x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor],
                *weights: Tensor) -> Tuple[Tensor, ...]:
        ctx.set_materialize_grads(False)
        out, h_n, c_n, tape = call.forward(weights, x, h0, c0, training=True)
        ctx.call = call
        ctx.tape = tape
        ctx.save_for_backward(x, h0, c0, *weights)
        return (out, h_n, c_n) if call.lstm else (out, h_n)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, d_output: Optional[Tensor], dh_n: Optional[Tensor],
                 dc_n: Optional[Tensor] = None) -> Tuple[Optional[Tensor], ...]:
        call: _Call = ctx.call
        x, h0, c0, *weights = ctx.saved_tensors
        tape = ctx.tape
        ctx.tape = None
        if tape is None:
            tape = call.forward(weights, x, h0, c0, training=True)[3]
        run = call.stack.backward_f64 if call.f64 else call.stack.backward_f32
        needs = ctx.needs_input_grad
        grads, dx, dh0, dc0 = run(
            [_flat(w) for w in weights], _flat(x), call.seq_len, call.batch, tape, _maybe_flat(h0),
            _maybe_flat(c0), call.lengths, _maybe_flat(d_output), _maybe_flat(dh_n), _maybe_flat(dc_n),
            bool(needs[1]), call.threads)
        dx = _tensor(dx, x.shape) if needs[1] else None
        dh0 = _tensor(dh0, call.state_shape) if needs[2] else None
        dc0 = _tensor(dc0, call.state_shape) if needs[3] else None
        dw = [_tensor(g, w.shape) if need else None for g, w, need in zip(grads, weights, needs[4:])]
        return (None, dx, dh0, dc0, *dw)


@functools.lru_cache(maxsize=256)
def _stack(mode: str, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool) -> Stack:
    """The kernels' stack of this shape (not kept in the module, which stays picklable)."""
    return Stack(mode, input_size, hidden_size, num_layers, bidirectional)


def _check_tensor(name: str, t: Tensor, dtype: torch.dtype) -> None:
    if t.device.type != "cpu":
        raise UnsupportedError(f"rnn_kernels runs on the CPU only: `{name}` is on {t.device}")
    if t.dtype != dtype:
        if t.dtype not in _DTYPES:
            raise UnsupportedError(f"rnn_kernels supports float32 and float64 only: `{name}` is {t.dtype}")
        raise TypeError(f"`{name}` is {t.dtype} but the module's parameters are {dtype}")


class _RNNBase(nn.Module):
    """``torch.nn.RNNBase`` on the kernels: parameters, checks and ``forward``."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Optional[torch.dtype] = None,
                 num_threads: Optional[int] = None) -> None:
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}")
        if proj_size != 0:
            raise UnsupportedError("rnn_kernels.LSTM does not support proj_size > 0 (the kernels have no "
                                   "projection); use torch.nn.LSTM")
        if device is not None and torch.device(device).type != "cpu":
            raise UnsupportedError(f"rnn_kernels runs on the CPU only, not on {device}")
        dtype = torch.get_default_dtype() if dtype is None else dtype
        if dtype not in _DTYPES:
            raise UnsupportedError(f"rnn_kernels supports float32 and float64 only, not {dtype}")
        if num_threads is not None and num_threads < 1:
            raise ValueError("num_threads must be >= 1 (or None for torch.get_num_threads())")
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = 0
        #: Threads of each kernel call; ``None``: ``torch.get_num_threads()`` at the call.
        self.num_threads = num_threads
        _stack(mode, input_size, hidden_size, num_layers, bidirectional)  # checks the sizes
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}[mode]
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names: List[str] = []
        self._all_weights: List[List[str]] = []
        for layer in range(num_layers):
            for direction in range(self._directions):
                layer_input = input_size if layer == 0 else hidden_size * self._directions
                params = [nn.Parameter(torch.empty((gates * hidden_size, layer_input), **kw)),
                          nn.Parameter(torch.empty((gates * hidden_size, hidden_size), **kw))]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    params += [nn.Parameter(torch.empty(gates * hidden_size, **kw)),
                               nn.Parameter(torch.empty(gates * hidden_size, **kw))]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, p in zip(names, params):
                    setattr(self, name, p)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """``torch.nn``'s initialisation, in the same order (same seed, same weights)."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op (``torch.nn``'s is for cuDNN), kept for drop-in use."""

    @property
    def all_weights(self) -> List[List[nn.Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        if self.num_threads is not None:
            s += ", num_threads={num_threads}"
        return s.format(**self.__dict__)

    def _weights(self, layer: Optional[int] = None) -> List[Tensor]:
        """Four tensors per (layer, direction) in the kernels' order; zero biases for ``bias=False``."""
        out: List[Tensor] = []
        layers = range(self.num_layers) if layer is None else [layer]
        for k in layers:
            for names in self._all_weights[k * self._directions:(k + 1) * self._directions]:
                ws = [getattr(self, n) for n in names]
                if not self.bias:
                    zero = torch.zeros(ws[0].shape[0], dtype=ws[0].dtype)
                    ws += [zero, zero]
                out.extend(ws)
        return out

    def _threads(self) -> int:
        return self.num_threads if self.num_threads is not None else max(1, torch.get_num_threads())

    def _check_hidden(self, hx: Tensor, batch: int, name: str) -> None:
        expected = (self.num_layers * self._directions, batch, self.hidden_size)
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected hidden size {expected}, got {list(hx.shape)}")

    def forward(self, input: Union[Tensor, PackedSequence], hx: Any = None) -> Tuple[Any, Any]:
        lstm = self.mode == "LSTM"
        dtype = self.weight_ih_l0.dtype
        if dtype not in _DTYPES:
            raise UnsupportedError(f"rnn_kernels supports float32 and float64 only: the parameters are {dtype}")
        for name in self._flat_weights_names:
            _check_tensor(name, getattr(self, name), dtype)
        weights = self._weights()
        packed = isinstance(input, PackedSequence)
        lengths: Optional[List[int]] = None
        batched = True
        if packed:
            _check_tensor("input", input.data, dtype)
            x, len_t = pad_packed_sequence(input)
            lengths = [int(v) for v in len_t]
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2-D or 3-D but received "
                                 f"{input.dim()}-D tensor")
            _check_tensor("input", input, dtype)
            batched = input.dim() == 3
            x = input if batched else input.unsqueeze(1)
            if self.batch_first and batched:
                x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")
        seq_len, batch = x.shape[0], x.shape[1]
        h0: Optional[Tensor] = None
        c0: Optional[Tensor] = None
        if hx is not None:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError("LSTM expects hx as a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0 = hx
            for name, s in (("h_0", h0), ("c_0", c0)):
                if s is None:
                    continue
                if not batched:
                    if s.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, {name} should also be 2-D but got "
                                           f"{s.dim()}-D tensor")
                elif s.dim() != 3:
                    raise RuntimeError(f"For batched 3-D input, {name} should also be 3-D but got "
                                       f"{s.dim()}-D tensor")
                _check_tensor(name, s, dtype)
            if not batched:
                h0 = h0.unsqueeze(1) if h0 is not None else None
                c0 = c0.unsqueeze(1) if c0 is not None else None
            for name, s in (("h_0", h0), ("c_0", c0)):
                if s is not None:
                    self._check_hidden(s, batch, name)
        if seq_len == 0 or batch == 0:
            raise RuntimeError("rnn_kernels: empty input (sequence length and batch must be >= 1)")

        if self.dropout > 0 and self.training and self.num_layers > 1:
            out, h_n, c_n = self._forward_layers(weights, x, h0, c0, lengths)
        else:
            stack = _stack(self.mode, self.input_size, self.hidden_size, self.num_layers, self.bidirectional)
            out, h_n, c_n = self._run(stack, self.num_layers, weights, x, h0, c0, lengths)

        if packed:
            if input.sorted_indices is not None:
                out = out.index_select(1, input.sorted_indices)
                sorted_lengths = [lengths[i] for i in input.sorted_indices.tolist()]
            else:
                sorted_lengths = lengths
            data = pack_padded_sequence(out, sorted_lengths, enforce_sorted=True).data
            output: Any = PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif not batched:
            output = out.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        else:
            output = out.transpose(0, 1) if self.batch_first else out
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _run(self, stack: Stack, layers: int, weights: List[Tensor], x: Tensor, h0: Optional[Tensor],
             c0: Optional[Tensor], lengths: Optional[List[int]]) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """The stack over padded ``x: [T, B, I]``: ``(output, h_n, c_n)``."""
        lstm = self.mode == "LSTM"
        call = _Call(stack, lstm, x.shape[0], x.shape[1], lengths, self._threads(), x.dtype, self.hidden_size,
                     layers * self._directions, self._directions * self.hidden_size)
        grad = torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (x, h0, c0, *weights))
        if grad:
            res = _StackFunction.apply(call, x, h0, c0, *weights)
            return (res[0], res[1], res[2]) if lstm else (res[0], res[1], None)
        out, h_n, c_n, _ = call.forward(weights, x, h0, c0, training=False)
        return out, h_n, c_n

    def _forward_layers(self, weights: List[Tensor], x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor],
                        lengths: Optional[List[int]]) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Layer by layer, with dropout on every layer's output but the last (as ``torch.nn``)."""
        d = self._directions
        h_ns, c_ns = [], []
        for k in range(self.num_layers):
            w = weights[4 * d * k:4 * d * (k + 1)]
            hk = h0[k * d:(k + 1) * d] if h0 is not None else None
            ck = c0[k * d:(k + 1) * d] if c0 is not None else None
            stack = _stack(self.mode, self.input_size if k == 0 else d * self.hidden_size, self.hidden_size, 1,
                           self.bidirectional)
            x, h_n, c_n = self._run(stack, 1, w, x, hk, ck, lengths)
            if k + 1 < self.num_layers:
                x = F.dropout(x, self.dropout, training=True)
            h_ns.append(h_n)
            c_ns.append(c_n)
        return x, torch.cat(h_ns), (torch.cat(c_ns) if c_ns[0] is not None else None)


class RNN(_RNNBase):
    """``torch.nn.RNN`` (tanh or relu) on the kernels. ``num_threads``: threads per kernel call
    (default ``torch.get_num_threads()`` at each call)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Optional[torch.dtype] = None, *,
                 num_threads: Optional[int] = None) -> None:
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype, num_threads)


class LSTM(_RNNBase):
    """``torch.nn.LSTM`` on the kernels (``proj_size`` must be 0)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Optional[torch.dtype] = None, *,
                 num_threads: Optional[int] = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype, num_threads)


class GRU(_RNNBase):
    """``torch.nn.GRU`` on the kernels."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Optional[torch.dtype] = None, *,
                 num_threads: Optional[int] = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype, num_threads)
