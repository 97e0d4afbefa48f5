//! LSTM step (PyTorch form, gate order `i, f, g, o`):
//!
//! ```text
//! [a_i, a_f, a_g, a_o] = (W_ih x_t + b_ih + b_hh) + W_hh h_{t-1}
//! i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
//! c_t = f ⊙ c_{t-1} + i ⊙ g
//! h_t = o ⊙ tanh(c_t)
//! ```
//!
//! The tape keeps the four activated gates and `c_t`; with `h_t` (the output)
//! that is `6·B·H` values per step, all that backward needs.

use super::fused::{DhSink, Ends, ld, lds, pf, pfs, st, total_dh};
use crate::shared::{Shared, Src};
use crate::simd::Elem;
use crate::simd::panels::Epilogue;
use pulp::Simd;

/// Forward epilogue: gates, `c_t` and `h_t` of its row and units.
pub(crate) struct Fwd<'a, T> {
    pub hidden: usize,
    /// `[B, 4H]` at `g_off`: `xg` in, activated `i, f, g, o` out.
    pub gates: &'a Shared<'a, T>,
    pub g_off: usize,
    /// `c_{t-1}`, `[B, H]`.
    pub c_prev: Src<'a, T>,
    /// `c_t` at `c_off`, `[B, H]`.
    pub c: &'a Shared<'a, T>,
    pub c_off: usize,
    /// `h_t` at `h_off`, `[B, H]`.
    pub h_out: &'a Shared<'a, T>,
    pub h_off: usize,
}

impl<T: Elem> Epilogue<T> for Fwd<'_, T> {
    #[inline(always)]
    fn prefetch(&self, b: usize, j: usize, u: usize, gate: usize) {
        let hs = self.hidden;
        pf(self.gates, self.g_off + b * 4 * hs + gate * hs + j, u);
        if gate == 3 {
            pf(self.c, self.c_off + b * hs + j, u);
            pf(self.h_out, self.h_off + b * hs + j, u);
        }
    }

    /// The panels of a unit block come in gate order: `i, f, g` are activated
    /// and parked in the gate buffer; at `o` the state update completes.
    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, gate: usize, acc: T::V<S>) {
        let hs = self.hidden;
        let at = |k: usize| self.g_off + b * 4 * hs + k * hs + j;
        let pre = T::vadd(s, acc, ld::<S, T>(s, self.gates, at(gate), n));
        if gate < 3 {
            let v = if gate == 2 { T::vtanh(s, pre) } else { T::vsigmoid(s, pre) };
            st::<S, T>(s, self.gates, at(gate), n, v);
            return;
        }
        let o = T::vsigmoid(s, pre);
        let (i, f, g) = (
            ld::<S, T>(s, self.gates, at(0), n),
            ld::<S, T>(s, self.gates, at(1), n),
            ld::<S, T>(s, self.gates, at(2), n),
        );
        let cp = T::vload_n::<S>(s, self.c_prev.get(b * hs + j, n));
        let c = T::vfma(s, f, cp, T::vmul(s, i, g));
        let h = T::vmul(s, o, T::vtanh(s, c));
        st::<S, T>(s, self.gates, at(3), n, o);
        st::<S, T>(s, self.c, self.c_off + b * hs + j, n, c);
        st::<S, T>(s, self.h_out, self.h_off + b * hs + j, n, h);
    }
}

/// Backward epilogue: `dh_t = acc + D + dh_out`, then the gate gradients
/// `dG_t` (written over the gates) and `dc_{t-1}` (written over `dc`).
pub(crate) struct Bwd<'a, T> {
    pub hidden: usize,
    /// `[B, 4H]` at `g_off`: activated gates in, `dG_t` out.
    pub gates: &'a Shared<'a, T>,
    pub g_off: usize,
    /// `c_t` and `c_{t-1}`, `[B, H]`.
    pub c_t: &'a [T],
    pub c_prev: &'a [T],
    /// `dc`, `[B, H]`: the gradient reaching `c_t` in, `c_{t-1}`'s out.
    pub dc: &'a Shared<'a, T>,
    /// Whether `dc` (and `carry`) flow into this step (false right after a truncation cut).
    pub flow: bool,
    pub dh_out: Option<&'a [T]>,
    /// `dh_T`, added on the last step (of each row, with `ends`).
    pub carry: Option<&'a [T]>,
    pub ends: Option<Ends<'a>>,
    pub norms: DhSink<'a, T>,
}

impl<T: Elem> Epilogue<T> for Bwd<'_, T> {
    #[inline(always)]
    fn prefetch(&self, b: usize, j: usize, u: usize, _gate: usize) {
        let hs = self.hidden;
        for g in 0..4 {
            pf(self.gates, self.g_off + b * 4 * hs + g * hs + j, u);
        }
        pfs(self.c_t, b * hs + j, u);
        pfs(self.c_prev, b * hs + j, u);
        if let Some(d) = self.dh_out {
            pfs(d, b * hs + j, u);
        }
    }

    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, _gate: usize, acc: T::V<S>) {
        let hs = self.hidden;
        let one = T::vsplat(s, T::ONE);
        let ends = Ends::row(self.ends, b);
        // A row's own last step always takes `dc` (`dc_T` is still there) and `dh_T`.
        let flow = self.flow || ends == Some(true);
        let carry = if flow && ends != Some(false) { self.carry } else { None };
        let grow = self.g_off + b * 4 * hs;
        let off = b * hs + j;
        let dh = total_dh::<S, T>(s, acc, carry, self.dh_out, off, n, &self.norms);
        let gate = |g: usize| ld::<S, T>(s, self.gates, grow + g * hs + j, n);
        let (i, f, g, o) = (gate(0), gate(1), gate(2), gate(3));
        let tc = T::vtanh(s, lds::<S, T>(s, self.c_t, off, n));
        let dc_in = if flow { ld::<S, T>(s, self.dc, off, n) } else { T::vsplat(s, T::ZERO) };
        // dct = dc + dh·o·(1 - tc²)
        let dct = T::vfma(s, T::vmul(s, dh, o), T::vsub(s, one, T::vmul(s, tc, tc)), dc_in);
        let di = T::vmul(s, T::vmul(s, dct, g), T::vmul(s, i, T::vsub(s, one, i)));
        let cp = lds::<S, T>(s, self.c_prev, off, n);
        let df = T::vmul(s, T::vmul(s, dct, cp), T::vmul(s, f, T::vsub(s, one, f)));
        let dg = T::vmul(s, T::vmul(s, dct, i), T::vsub(s, one, T::vmul(s, g, g)));
        let d_o = T::vmul(s, T::vmul(s, dh, tc), T::vmul(s, o, T::vsub(s, one, o)));
        for (k, v) in [di, df, dg, d_o].into_iter().enumerate() {
            st::<S, T>(s, self.gates, grow + k * hs + j, n, v);
        }
        st::<S, T>(s, self.dc, off, n, T::vmul(s, dct, f));
    }
}
