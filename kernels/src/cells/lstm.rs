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

use super::fused::{DhSink, ld, lds, pf, pfs, st, total_dh, units};
use crate::activation::sigmoid;
use crate::parallel::{Shared, Src};
use crate::real::Real;
use crate::simd::gemm::Epilogue;
use pulp::Simd;

/// One forward step for `B` rows. `gates: [B, 4H]` holds `xg` (input
/// projection with both biases) on entry and the activated `i, f, g, o` on
/// exit; `hh: [B, 4H] = h_{t-1} · W_hhᵀ`; `c_prev, c, h: [B, H]`.
#[inline]
pub fn forward_step<T: Real>(hidden: usize, gates: &mut [T], hh: &[T], c_prev: &[T], c: &mut [T], h: &mut [T]) {
    let hs = hidden;
    for ((gr, hr), ((cp, cr), hrow)) in gates
        .chunks_exact_mut(4 * hs)
        .zip(hh.chunks_exact(4 * hs))
        .zip(c_prev.chunks_exact(hs).zip(c.chunks_exact_mut(hs)).zip(h.chunks_exact_mut(hs)))
    {
        for j in 0..hs {
            let i = sigmoid(gr[j] + hr[j]);
            let f = sigmoid(gr[hs + j] + hr[hs + j]);
            let g = (gr[2 * hs + j] + hr[2 * hs + j]).tanh();
            let o = sigmoid(gr[3 * hs + j] + hr[3 * hs + j]);
            let ct = f * cp[j] + i * g;
            gr[j] = i;
            gr[hs + j] = f;
            gr[2 * hs + j] = g;
            gr[3 * hs + j] = o;
            cr[j] = ct;
            hrow[j] = o * ct.tanh();
        }
    }
}

/// One backward step. `gates: [B, 4H]` holds the activated gates on entry and
/// the pre-activation gradients `[da_i, da_f, da_g, da_o]` on exit (for both
/// weight matrices). `dh: [B, H]` is the total gradient into `h_t`; `dc: [B, H]`
/// holds on entry the gradient reaching `c_t` from step `t+1` and on exit the
/// one reaching `c_{t-1}` (`dc ⊙ f`).
#[inline]
pub fn backward_step<T: Real>(hidden: usize, gates: &mut [T], c_prev: &[T], c: &[T], dh: &[T], dc: &mut [T]) {
    let hs = hidden;
    for (((gr, cp), cr), (dhr, dcr)) in gates
        .chunks_exact_mut(4 * hs)
        .zip(c_prev.chunks_exact(hs))
        .zip(c.chunks_exact(hs))
        .zip(dh.chunks_exact(hs).zip(dc.chunks_exact_mut(hs)))
    {
        for j in 0..hs {
            let (i, f, g, o) = (gr[j], gr[hs + j], gr[2 * hs + j], gr[3 * hs + j]);
            let tc = cr[j].tanh();
            let dct = dcr[j] + dhr[j] * o * (T::ONE - tc * tc);
            gr[j] = dct * g * i * (T::ONE - i);
            gr[hs + j] = dct * cp[j] * f * (T::ONE - f);
            gr[2 * hs + j] = dct * i * (T::ONE - g * g);
            gr[3 * hs + j] = dhr[j] * tc * o * (T::ONE - o);
            dcr[j] = dct * f;
        }
    }
}

/// Fused forward tile (see [`super::fused`]): gates, `c_t` and `h_t` of its rows and units.
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

impl<T: Real> Epilogue<T> for Fwd<'_, T> {
    #[inline(always)]
    fn prefetch<S: Simd, const NV: usize>(&self, row0: usize, m: usize, panel: usize) {
        let (hs, u) = (self.hidden, NV * T::lanes::<S>());
        let (p, gate) = (panel / 4, panel % 4);
        let j = p * u;
        let u = u.min(hs - j);
        for b in row0..row0 + m {
            pf(self.gates, self.g_off + b * 4 * hs + gate * hs + j, u);
            if gate == 3 {
                pf(self.c, self.c_off + b * hs + j, u);
                pf(self.h_out, self.h_off + b * hs + j, u);
            }
        }
    }

    /// Panel `p·4 + k` holds gate `k` of unit block `p`: `i, f, g` are activated
    /// and parked in the gate buffer; at `o` the state update completes.
    #[inline(always)]
    fn apply<S: Simd, const M: usize, const NV: usize>(
        &self,
        s: S,
        row0: usize,
        panel: usize,
        acc: &[[T::V<S>; NV]; M],
    ) {
        let (l, hs) = (T::lanes::<S>(), self.hidden);
        let (p, gate) = (panel / 4, panel % 4);
        for (r, acc) in acc.iter().enumerate() {
            let b = row0 + r;
            let grow = self.g_off + b * 4 * hs;
            for (w, &a) in acc.iter().enumerate() {
                let Some((j, n)) = units(p, NV * l, w, l, hs) else { break };
                let at = |k: usize| grow + k * hs + j;
                let pre = T::vadd(s, a, ld::<S, T>(self.gates, at(gate), n));
                if gate < 3 {
                    let v = if gate == 2 { T::vtanh(s, pre) } else { T::vsigmoid(s, pre) };
                    st::<S, T>(self.gates, at(gate), n, v);
                    continue;
                }
                let o = T::vsigmoid(s, pre);
                let (i, f, g) = (
                    ld::<S, T>(self.gates, at(0), n),
                    ld::<S, T>(self.gates, at(1), n),
                    ld::<S, T>(self.gates, at(2), n),
                );
                let cp = T::vload_n::<S>(self.c_prev.get(b * hs + j, n));
                let c = T::vfma(s, f, cp, T::vmul(s, i, g));
                let h = T::vmul(s, o, T::vtanh(s, c));
                st::<S, T>(self.gates, at(3), n, o);
                st::<S, T>(self.c, self.c_off + b * hs + j, n, c);
                st::<S, T>(self.h_out, self.h_off + b * hs + j, n, h);
            }
        }
    }
}

/// Fused backward tile: `dh_t = acc + D + dh_out`, then the gate gradients
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
    /// `dh_T` on the last step.
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
            for g in 0..4 {
                pf(self.gates, self.g_off + b * 4 * hs + g * hs + j, u);
            }
            pfs(self.c_t, b * hs + j, u);
            pfs(self.c_prev, b * hs + j, u);
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
        let (l, hs) = (T::lanes::<S>(), self.hidden);
        let one = T::vsplat(s, T::ONE);
        let carry = if self.flow { self.carry } else { None };
        for (r, acc) in acc.iter().enumerate() {
            let b = row0 + r;
            let grow = self.g_off + b * 4 * hs;
            for (w, &a) in acc.iter().enumerate() {
                let Some((j, n)) = units(panel, NV * l, w, l, hs) else { break };
                let off = b * hs + j;
                let dh = total_dh::<S, T>(s, a, carry, self.dh_out, off, n, &self.norms);
                let gate = |g: usize| ld::<S, T>(self.gates, grow + g * hs + j, n);
                let (i, f, g, o) = (gate(0), gate(1), gate(2), gate(3));
                let tc = T::vtanh(s, lds::<S, T>(self.c_t, off, n));
                let dc_in = if self.flow { ld::<S, T>(self.dc, off, n) } else { T::vsplat(s, T::ZERO) };
                // dct = dc + dh·o·(1 - tc²)
                let dct = T::vfma(s, T::vmul(s, dh, o), T::vsub(s, one, T::vmul(s, tc, tc)), dc_in);
                let di = T::vmul(s, T::vmul(s, dct, g), T::vmul(s, i, T::vsub(s, one, i)));
                let cp = lds::<S, T>(self.c_prev, off, n);
                let df = T::vmul(s, T::vmul(s, dct, cp), T::vmul(s, f, T::vsub(s, one, f)));
                let dg = T::vmul(s, T::vmul(s, dct, i), T::vsub(s, one, T::vmul(s, g, g)));
                let d_o = T::vmul(s, T::vmul(s, dh, tc), T::vmul(s, o, T::vsub(s, one, o)));
                for (k, v) in [di, df, dg, d_o].into_iter().enumerate() {
                    st::<S, T>(self.gates, grow + k * hs + j, n, v);
                }
                st::<S, T>(self.dc, off, n, T::vmul(s, dct, f));
            }
        }
    }
}
