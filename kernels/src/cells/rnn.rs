//! Vanilla RNN step: `h_t = f(a_t)`, `a_t = (W_ih x_t + b_ih + b_hh) + W_hh h_{t-1}`.
//!
//! Both biases are folded into the hoisted input projection, so a step is the
//! recurrent product plus one activation.

use super::fused::{DhSink, Ends, ld, lds, pf, pfs, st, total_dh};
use crate::activation::Activation;
use crate::shared::Shared;
use crate::simd::Elem;
use crate::simd::panels::Epilogue;
use pulp::Simd;

/// Forward epilogue: `h_t = f(xg + acc)`.
pub(crate) struct Fwd<'a, T> {
    pub act: Activation,
    pub hidden: usize,
    /// `xg` of the step at `xg_off`, `[B, H]`.
    pub xg: &'a Shared<'a, T>,
    pub xg_off: usize,
    /// `h_t` at `h_off`, `[B, H]`.
    pub h_out: &'a Shared<'a, T>,
    pub h_off: usize,
}

impl<T: Elem> Epilogue<T> for Fwd<'_, T> {
    #[inline(always)]
    fn prefetch(&self, b: usize, j: usize, u: usize, _gate: usize) {
        let row = b * self.hidden + j;
        pf(self.xg, self.xg_off + row, u);
        pf(self.h_out, self.h_off + row, u);
    }

    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, _gate: usize, acc: T::V<S>) {
        let off = b * self.hidden + j;
        let pre = T::vadd(s, acc, ld::<S, T>(s, self.xg, self.xg_off + off, n));
        st::<S, T>(s, self.h_out, self.h_off + off, n, self.act.apply_v::<S, T>(s, pre));
    }
}

/// Backward epilogue: `dG_t = (acc + D + dh_out) ⊙ f'(a_t)`, `f'` from `h_t`.
pub(crate) struct Bwd<'a, T> {
    pub act: Activation,
    pub hidden: usize,
    /// Gates of the step (`dG_t` written here), `[B, H]` at `g_off`.
    pub gates: &'a Shared<'a, T>,
    pub g_off: usize,
    /// `h_t`, `[B, H]`.
    pub h_t: &'a [T],
    /// Gradient from the loss at `h_t`, `[B, H]`.
    pub dh_out: Option<&'a [T]>,
    /// `dh_T`, `[B, H]`, added on the last step (of each row, with `ends`).
    pub carry: Option<&'a [T]>,
    pub ends: Option<Ends<'a>>,
    pub norms: DhSink<'a, T>,
}

impl<T: Elem> Epilogue<T> for Bwd<'_, T> {
    #[inline(always)]
    fn prefetch(&self, b: usize, j: usize, u: usize, _gate: usize) {
        let row = b * self.hidden + j;
        pf(self.gates, self.g_off + row, u);
        pfs(self.h_t, row, u);
        if let Some(d) = self.dh_out {
            pfs(d, row, u);
        }
    }

    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, _gate: usize, acc: T::V<S>) {
        let off = b * self.hidden + j;
        let carry = if Ends::row(self.ends, b) == Some(false) { None } else { self.carry };
        let dh = total_dh::<S, T>(s, acc, carry, self.dh_out, off, n, &self.norms);
        let d = self.act.derivative_v::<S, T>(s, lds::<S, T>(s, self.h_t, off, n));
        st::<S, T>(s, self.gates, self.g_off + off, n, T::vmul(s, dh, d));
    }
}
