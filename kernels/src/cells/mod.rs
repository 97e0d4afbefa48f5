//! The three cells. Each file holds the element-wise part of one time step,
//! forward and backward, as per-vector epilogues of the step's recurrent
//! product ([`crate::simd::panels::Epilogue`]); the products and the time loop
//! around them live in `crate::engine`.
//!
//! Gate layout follows PyTorch, so weights can be exchanged with it:
//! `W_ih: [G·H, I]`, `W_hh: [G·H, H]`, `b_ih, b_hh: [G·H]`, gate blocks of `H`
//! rows stacked in the order of [`Cell`]'s formulas.

pub(crate) mod gru;
pub(crate) mod lstm;
pub(crate) mod rnn;

use crate::activation::Activation;

/// Which recurrent cell.
///
/// Parameters follow PyTorch's layout, so weights can be exchanged with
/// `torch.nn.RNN`/`LSTM`/`GRU`: `W_ih: [G·H, I]`, `W_hh: [G·H, H]`,
/// `b_ih, b_hh: [G·H]`, the `G` gate blocks of `H` rows stacked in the order
/// of the formulas below.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// Vanilla (Elman) RNN, one gate: `h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`.
    Rnn(Activation),
    /// LSTM (PyTorch form), gates `i, f, g, o`:
    ///
    /// ```text
    /// [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    /// i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
    /// c_t = f ⊙ c_{t-1} + i ⊙ g
    /// h_t = o ⊙ tanh(c_t)
    /// ```
    Lstm,
    /// GRU (PyTorch form), gates `r, z, n`, reset applied after the recurrent product:
    ///
    /// ```text
    /// r = σ(W_ir x + b_ir + W_hr h_{t-1} + b_hr)
    /// z = σ(W_iz x + b_iz + W_hz h_{t-1} + b_hz)
    /// n = tanh(W_in x + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
    /// h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    /// ```
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

/// Helpers of the cells' fused epilogues (see [`crate::simd::panels::Epilogue`]).
///
/// A forward epilogue receives, for one batch row and one vector of hidden
/// units, the recurrent pre-activation of one gate; it adds the input
/// projection (already in the gate buffer), applies the activations and writes
/// the gates, states and `h_t` of exactly that row and those units. A backward
/// epilogue receives `dG_{t+1} · W_hh` for one row and vector of units, adds the
/// other gradients reaching `h_t`, and writes `dG_t` for that row and those
/// units (all gates). Epilogues never touch other rows or units, which is what
/// lets the threads of a team share the buffers (see [`crate::shared::Shared`]).
pub(crate) mod fused {
    use crate::shared::Shared;
    use crate::simd::{Elem, prefetch};
    use pulp::Simd;

    /// Loads `min(n, L)` values at `off` of a shared buffer (zero-filled lanes past `n`).
    #[inline(always)]
    pub(crate) fn ld<S: Simd, T: Elem>(s: S, buf: &Shared<'_, T>, off: usize, n: usize) -> T::V<S> {
        T::vload_n::<S>(s, buf.slice(off, n))
    }

    /// Loads from a plain slice.
    #[inline(always)]
    pub(crate) fn lds<S: Simd, T: Elem>(s: S, buf: &[T], off: usize, n: usize) -> T::V<S> {
        T::vload_n::<S>(s, &buf[off..off + n])
    }

    /// Stores the first `n` lanes at `off` of a shared buffer.
    #[inline(always)]
    pub(crate) fn st<S: Simd, T: Elem>(s: S, buf: &Shared<'_, T>, off: usize, n: usize, v: T::V<S>) {
        T::vstore_n::<S>(s, buf.slice_mut(off, n), v);
    }

    /// Prefetches the `u` values at `off` of a shared buffer: every cache line
    /// they touch (the buffers are not aligned to lines, so `u` values of
    /// 64·k bytes can span k + 1 of them).
    #[inline(always)]
    pub(crate) fn pf<T>(buf: &Shared<'_, T>, off: usize, u: usize) {
        pfs(buf.slice(off, u), 0, u);
    }

    /// Prefetches the `u` values at `off` of a slice (every line they touch).
    #[inline(always)]
    pub(crate) fn pfs<T>(buf: &[T], off: usize, u: usize) {
        let line = crate::simd::ALIGN / core::mem::size_of::<T>();
        for i in (0..u).step_by(line) {
            prefetch(&buf[off + i..]);
        }
        prefetch(&buf[off + u - 1..]);
    }

    /// A variable-length batch's row ends at a backward step: row `b` ends at
    /// step `t` (its last) when `lens[b] == t1 = t + 1`. There the gradient of
    /// its final state (`dh_T`, `dc_T`, the GRU's `D`) enters, whatever the
    /// truncation says about the step after it (which the row never ran).
    #[derive(Clone, Copy)]
    pub(crate) struct Ends<'a> {
        pub lens: &'a [usize],
        pub t1: usize,
    }

    impl Ends<'_> {
        /// Whether row `b` ends at this step: `None` when every row ends at `T - 1`.
        #[inline(always)]
        pub(crate) fn row(ends: Option<Self>, b: usize) -> Option<bool> {
            ends.map(|e| e.lens[b] == e.t1)
        }
    }

    /// Where a backward epilogue keeps `dh_t` when it is wanted (for `dh_all` or
    /// the step norms): units `b·H + j` at `off + b·H + j` of `all`.
    pub(crate) struct DhSink<'a, T> {
        pub all: Option<&'a Shared<'a, T>>,
        pub off: usize,
    }

    /// `dh = acc + carry + dh_out` for the `n` units at `off = b·H + j`, kept
    /// in `sink` when wanted.
    #[inline(always)]
    pub(crate) fn total_dh<S: Simd, T: Elem>(
        s: S,
        acc: T::V<S>,
        carry: Option<&[T]>,
        dh_out: Option<&[T]>,
        off: usize,
        n: usize,
        sink: &DhSink<'_, T>,
    ) -> T::V<S> {
        let mut dh = acc;
        if let Some(d) = carry {
            dh = T::vadd(s, dh, lds::<S, T>(s, d, off, n));
        }
        if let Some(d) = dh_out {
            dh = T::vadd(s, dh, lds::<S, T>(s, d, off, n));
        }
        if let Some(all) = sink.all {
            st::<S, T>(s, all, sink.off + off, n, dh);
        }
        dh
    }
}
