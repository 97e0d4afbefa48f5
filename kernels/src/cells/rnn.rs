//! Vanilla RNN step: `h_t = f(a_t)`, `a_t = (W_ih x_t + b_ih + b_hh) + W_hh h_{t-1}`.
//!
//! Both biases are folded into the hoisted input projection, so a step is the
//! recurrent product plus one activation.

use super::fused::{DhSink, ld, lds, pf, pfs, st, total_dh, units};
use crate::activation::Activation;
use crate::parallel::Shared;
use crate::real::Real;
use crate::simd::gemm::Epilogue;
use crate::simd::math::{activate_v, derivative_v};
use pulp::Simd;

/// `h = f(xg + hh)` element-wise; `xg` holds the input projection with both
/// biases, `hh = h_{t-1} · W_hhᵀ`. All three slices are `[B, H]`.
#[inline]
pub fn forward_step<T: Real>(act: Activation, xg: &[T], hh: &[T], h: &mut [T]) {
    for ((h, &x), &r) in h.iter_mut().zip(xg).zip(hh) {
        *h = act.apply(x + r);
    }
}

/// `dg = dh ⊙ f'(a_t)`, the derivative taken from the saved output `h_t`.
/// `dg` is the gradient of the pre-activation, for both weight matrices.
#[inline]
pub fn backward_step<T: Real>(act: Activation, h: &[T], dh: &[T], dg: &mut [T]) {
    for ((g, &h), &d) in dg.iter_mut().zip(h).zip(dh) {
        *g = d * act.derivative_from_output(h);
    }
}

/// Fused forward tile: `h_t = f(xg + acc)` (see [`super::fused`]).
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

impl<T: Real> Epilogue<T> for Fwd<'_, T> {
    #[inline(always)]
    fn prefetch<S: Simd, const NV: usize>(&self, row0: usize, m: usize, panel: usize) {
        let (hs, u) = (self.hidden, NV * T::lanes::<S>());
        let j = panel * u;
        let u = u.min(hs - j);
        for b in row0..row0 + m {
            pf(self.xg, self.xg_off + b * hs + j, u);
            pf(self.h_out, self.h_off + b * hs + j, u);
        }
    }

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
            let row = (row0 + r) * self.hidden;
            for (w, &a) in acc.iter().enumerate() {
                let Some((j, n)) = units(panel, NV * l, w, l, self.hidden) else { break };
                let pre = T::vadd(s, a, ld::<S, T>(self.xg, self.xg_off + row + j, n));
                st::<S, T>(self.h_out, self.h_off + row + j, n, activate_v::<S, T>(s, self.act, pre));
            }
        }
    }
}

/// Fused backward tile: `dG_t = (acc + D + dh_out) ⊙ f'(a_t)`, `f'` from `h_t`.
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
    /// `dh_T` on the last step, `[B, H]`.
    pub carry: Option<&'a [T]>,
    pub norms: DhSink<'a, T>,
}

impl<T: Real> Epilogue<T> for Bwd<'_, T> {
    #[inline(always)]
    fn prefetch<S: Simd, const NV: usize>(&self, row0: usize, m: usize, panel: usize) {
        let (hs, u) = (self.hidden, NV * T::lanes::<S>());
        let j = panel * u;
        let u = u.min(hs - j);
        for b in row0..row0 + m {
            pf(self.gates, self.g_off + b * hs + j, u);
            pfs(self.h_t, b * hs + j, u);
            if let Some(d) = self.dh_out {
                pfs(d, b * hs + j, u);
            }
        }
    }

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
            let row = b * self.hidden;
            for (w, &a) in acc.iter().enumerate() {
                let Some((j, n)) = units(panel, NV * l, w, l, self.hidden) else { break };
                let dh = total_dh::<S, T>(s, a, self.carry, self.dh_out, row + j, n, &self.norms);
                let d = derivative_v::<S, T>(s, self.act, lds::<S, T>(self.h_t, row + j, n));
                st::<S, T>(self.gates, self.g_off + row + j, n, T::vmul(s, dh, d));
            }
        }
    }
}
