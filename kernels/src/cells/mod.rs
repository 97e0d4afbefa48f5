//! The three cells. Each file holds the element-wise part of one time step,
//! forward and backward, for a whole batch: the matrix products around it live
//! in [`crate::sequence`].
//!
//! Gate layout follows PyTorch, so weights can be exchanged with it:
//! `W_ih: [G·H, I]`, `W_hh: [G·H, H]`, `b_ih, b_hh: [G·H]`, gate blocks of `H`
//! rows stacked in the order below.

pub mod gru;
pub mod lstm;
pub mod rnn;

use crate::activation::Activation;

/// Which recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// Vanilla (Elman) RNN, one gate: `h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`.
    Rnn(Activation),
    /// LSTM, gates `i, f, g, o` (see [`lstm`]).
    Lstm,
    /// GRU, gates `r, z, n`, reset applied after the recurrent product (see [`gru`]).
    Gru,
}

impl Cell {
    /// Number of gate blocks `G` (1, 4 or 3).
    pub fn gates(self) -> usize {
        match self {
            Cell::Rnn(_) => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// Whether the cell carries a cell state `c` besides `h` (LSTM only).
    pub fn has_cell_state(self) -> bool {
        matches!(self, Cell::Lstm)
    }

    /// Short name: `rnn_tanh`, `rnn_relu`, ..., `lstm`, `gru`.
    pub fn name(self) -> String {
        match self {
            Cell::Rnn(a) => format!("rnn_{}", a.name()),
            Cell::Lstm => "lstm".into(),
            Cell::Gru => "gru".into(),
        }
    }

    /// Vectors of `T·B·H` values the training tape holds besides the gates:
    /// the LSTM keeps `c_t`, the GRU keeps `W_hn h_{t-1} + b_hn`.
    pub(crate) fn extra_tape(self) -> usize {
        match self {
            Cell::Rnn(_) => 0,
            Cell::Lstm | Cell::Gru => 1,
        }
    }
}
