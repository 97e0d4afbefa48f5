"""``torch.nn.RNN``, ``LSTM`` and ``GRU`` on the rnn-kernels Rust CPU kernels.

The modules take ``torch.nn``'s constructor arguments, hold the same
parameters under the same names and shapes (``load_state_dict`` works both
ways), and have the same ``forward(input, hx)``; the forward pass and
backpropagation through time run in the Rust kernels (``rnn_kernels._native``)
with the GIL released. See ``README.md`` beside this package.
"""

from rnn_kernels._native import simd_level
from rnn_kernels.modules import GRU, LSTM, RNN, UnsupportedError

__all__ = ["RNN", "LSTM", "GRU", "UnsupportedError", "simd_level"]
__version__ = "0.1.0"
