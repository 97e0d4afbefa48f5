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

/// The fused element-wise parts of a step, applied to register tiles of the
/// recurrent product (see [`crate::simd::gemm::Epilogue`]).
///
/// A forward tile holds, for `M` batch rows and one panel of `u = NVU·L`
/// hidden units, the recurrent pre-activations of every gate of those units
/// (`acc[r][g·NVU + w]` covers units `panel·u + w·L ..`); the epilogue adds the
/// input projection, applies the activations and the state update, and writes
/// the gates, states and `h_t` of exactly those rows and units. A backward tile
/// holds `dG_{t+1} · W_hh` for `M` rows and `u = NV·L` units; the epilogue adds
/// the other gradients reaching `h_t`, and writes `dG_t` for those rows and
/// units (all gates). Tiles never touch other rows or units, which is what lets
/// the threads of a team share the buffers (see [`crate::parallel::Shared`]).
pub(crate) mod fused {
    use crate::parallel::Shared;
    use crate::real::Real;
    use crate::simd::Elem;
    use pulp::Simd;

    /// Loads `min(n, L)` values at `off` of a shared buffer (zero-filled lanes past `n`).
    #[inline(always)]
    pub(crate) fn ld<S: Simd, T: Elem>(buf: &Shared<'_, T>, off: usize, n: usize) -> T::V<S> {
        T::vload_n::<S>(buf.slice(off, n))
    }

    /// Loads from a plain slice.
    #[inline(always)]
    pub(crate) fn lds<S: Simd, T: Elem>(buf: &[T], off: usize, n: usize) -> T::V<S> {
        T::vload_n::<S>(&buf[off..off + n])
    }

    /// Stores the first `n` lanes at `off` of a shared buffer.
    #[inline(always)]
    pub(crate) fn st<S: Simd, T: Elem>(buf: &Shared<'_, T>, off: usize, n: usize, v: T::V<S>) {
        T::vstore_n::<S>(buf.slice_mut(off, n), v);
    }

    /// Prefetches the `u` values at `off` of a shared buffer (both ends' lines).
    #[inline(always)]
    pub(crate) fn pf<T>(buf: &Shared<'_, T>, off: usize, u: usize) {
        crate::simd::prefetch(buf.slice(off, 1));
        crate::simd::prefetch(buf.slice(off + u - 1, 1));
    }

    /// Prefetches the `u` values at `off` of a slice (both ends' lines).
    #[inline(always)]
    pub(crate) fn pfs<T>(buf: &[T], off: usize, u: usize) {
        crate::simd::prefetch(&buf[off..]);
        crate::simd::prefetch(&buf[off + u - 1..]);
    }

    /// `(first unit, valid units)` of vector `w` of `panel` (`u` units per panel),
    /// or `None` past `hidden`.
    #[inline(always)]
    pub(crate) fn units(panel: usize, u: usize, w: usize, lanes: usize, hidden: usize) -> Option<(usize, usize)> {
        let j = panel * u + w * lanes;
        (j < hidden).then(|| (j, lanes.min(hidden - j)))
    }

    /// Where a backward tile keeps `dh_t` when it is wanted (for `dh_all` or the
    /// step norms): units `b·H + j` at `off + b·H + j` of `all`.
    pub(crate) struct DhSink<'a, T> {
        pub all: Option<&'a Shared<'a, T>>,
        pub off: usize,
    }

    /// `dh = acc + carry + dh_out` for the `n` units at `off = b·H + j`, kept
    /// in `sink` when wanted.
    #[inline(always)]
    pub(crate) fn total_dh<S: Simd, T: Real>(
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
            dh = T::vadd(s, dh, lds::<S, T>(d, off, n));
        }
        if let Some(d) = dh_out {
            dh = T::vadd(s, dh, lds::<S, T>(d, off, n));
        }
        if let Some(all) = sink.all {
            st::<S, T>(all, sink.off + off, n, dh);
        }
        dh
    }

    /// `dh_0 = acc (+ D)`: the last phase of backward, writing `dh0` tiles.
    pub(crate) struct Dh0<'a, T> {
        pub hidden: usize,
        pub out: &'a Shared<'a, T>,
        pub direct: Option<&'a Shared<'a, T>>,
    }

    impl<T: Elem> crate::simd::gemm::Epilogue<T> for Dh0<'_, T> {
        #[inline(always)]
        fn apply<S: Simd, const M: usize, const NV: usize>(
            &self,
            s: S,
            row0: usize,
            panel: usize,
            acc: &[[T::V<S>; NV]; M],
        ) {
            let l = T::lanes::<S>();
            for (r, acc) in acc.iter().enumerate() {
                let b = row0 + r;
                for (w, &a) in acc.iter().enumerate() {
                    let Some((j, n)) = units(panel, NV * l, w, l, self.hidden) else { break };
                    let off = b * self.hidden + j;
                    let v = match self.direct {
                        Some(d) => T::vadd(s, a, ld::<S, T>(d, off, n)),
                        None => a,
                    };
                    st::<S, T>(self.out, off, n, v);
                }
            }
        }
    }
}
