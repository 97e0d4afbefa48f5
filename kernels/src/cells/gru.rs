//! GRU step (PyTorch form, gate order `r, z, n`, reset after the product):
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h_{t-1} + b_hr)
//! z = σ(W_iz x + b_iz + W_hz h_{t-1} + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
//! h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
//! ```
//!
//! `b_hr, b_hz` are folded into the input projection; `b_hn` cannot be (it is
//! scaled by `r`) and is added here. The tape keeps `r, z, n` and
//! `W_hn h_{t-1} + b_hn`.

use super::fused::{DhSink, ld, lds, pf, pfs, st, total_dh, units};
use crate::activation::sigmoid;
use crate::parallel::{Shared, Src};
use crate::real::Real;
use crate::simd::gemm::Epilogue;
use pulp::Simd;

/// One forward step for `B` rows. `gates: [B, 3H]` holds `xg` on entry
/// (with `b_hr, b_hz` folded into the `r, z` blocks) and `r, z, n` on exit;
/// `hh: [B, 3H] = h_{t-1} · W_hhᵀ`; `b_hn: [H]`; `hn` receives
/// `W_hn h_{t-1} + b_hn`; `h_prev, h: [B, H]`.
#[inline]
pub fn forward_step<T: Real>(
    hidden: usize,
    gates: &mut [T],
    hh: &[T],
    b_hn: &[T],
    h_prev: &[T],
    hn: &mut [T],
    h: &mut [T],
) {
    let hs = hidden;
    for ((gr, hr), ((hp, hnr), hrow)) in gates
        .chunks_exact_mut(3 * hs)
        .zip(hh.chunks_exact(3 * hs))
        .zip(h_prev.chunks_exact(hs).zip(hn.chunks_exact_mut(hs)).zip(h.chunks_exact_mut(hs)))
    {
        for j in 0..hs {
            let r = sigmoid(gr[j] + hr[j]);
            let z = sigmoid(gr[hs + j] + hr[hs + j]);
            let hnv = hr[2 * hs + j] + b_hn[j];
            let n = (gr[2 * hs + j] + r * hnv).tanh();
            gr[j] = r;
            gr[hs + j] = z;
            gr[2 * hs + j] = n;
            hnr[j] = hnv;
            hrow[j] = (T::ONE - z) * n + z * hp[j];
        }
    }
}

/// One backward step. On entry `gates` holds `r, z, n` and `hn` holds
/// `W_hn h_{t-1} + b_hn`; on exit `gates` holds the gradients of the input
/// pre-activations `[da_r, da_z, da_n]` and `hn` the gradient of
/// `W_hn h_{t-1} + b_hn`. `dgh: [B, 3H]` receives the gradient of the
/// recurrent pre-activations `[da_r, da_z, r ⊙ da_n]`, and `dh_prev: [B, H]`
/// the direct term `dh ⊙ z` of the gradient reaching `h_{t-1}`.
#[inline]
pub fn backward_step<T: Real>(
    hidden: usize,
    gates: &mut [T],
    hn: &mut [T],
    h_prev: &[T],
    dh: &[T],
    dgh: &mut [T],
    dh_prev: &mut [T],
) {
    let hs = hidden;
    for (((gr, hnr), (hp, dhr)), (dghr, dhp)) in gates
        .chunks_exact_mut(3 * hs)
        .zip(hn.chunks_exact_mut(hs))
        .zip(h_prev.chunks_exact(hs).zip(dh.chunks_exact(hs)))
        .zip(dgh.chunks_exact_mut(3 * hs).zip(dh_prev.chunks_exact_mut(hs)))
    {
        for j in 0..hs {
            let (r, z, n) = (gr[j], gr[hs + j], gr[2 * hs + j]);
            let d = dhr[j];
            let da_n = d * (T::ONE - z) * (T::ONE - n * n);
            let da_z = d * (hp[j] - n) * z * (T::ONE - z);
            let da_r = da_n * hnr[j] * r * (T::ONE - r);
            let dhn = da_n * r;
            gr[j] = da_r;
            gr[hs + j] = da_z;
            gr[2 * hs + j] = da_n;
            hnr[j] = dhn;
            dghr[j] = da_r;
            dghr[hs + j] = da_z;
            dghr[2 * hs + j] = dhn;
            dhp[j] = d * z;
        }
    }
}

/// Fused forward tile (see [`super::fused`]): `r, z, n`, `hn` and `h_t` of its rows and units.
/// The tile's `n` block holds `W_hn h_{t-1}` (without `b_hn`).
pub(crate) struct Fwd<'a, T> {
    pub hidden: usize,
    /// `[B, 3H]` at `g_off`: `xg` in (with `b_hr, b_hz`), `r, z, n` out.
    pub gates: &'a Shared<'a, T>,
    pub g_off: usize,
    pub b_hn: &'a [T],
    /// `h_{t-1}`, `[B, H]`.
    pub h_prev: Src<'a, T>,
    /// `W_hn h_{t-1} + b_hn` at `hn_off`, `[B, H]`.
    pub hn: &'a Shared<'a, T>,
    pub hn_off: usize,
    /// `h_t` at `h_off`, `[B, H]`.
    pub h_out: &'a Shared<'a, T>,
    pub h_off: usize,
}

impl<T: Real> Epilogue<T> for Fwd<'_, T> {
    #[inline(always)]
    fn prefetch<S: Simd, const NV: usize>(&self, row0: usize, m: usize, panel: usize) {
        let (hs, u) = (self.hidden, NV * T::lanes::<S>());
        let (p, gate) = (panel / 3, panel % 3);
        let j = p * u;
        let u = u.min(hs - j);
        for b in row0..row0 + m {
            pf(self.gates, self.g_off + b * 3 * hs + gate * hs + j, u);
            if gate == 2 {
                pf(self.hn, self.hn_off + b * hs + j, u);
                pf(self.h_out, self.h_off + b * hs + j, u);
            }
        }
    }

    /// Panel `p·3 + k` holds gate `k` of unit block `p`: `r, z` are activated and
    /// parked in the gate buffer; at `n` the update completes.
    #[inline(always)]
    fn apply<S: Simd, const M: usize, const NV: usize>(
        &self,
        s: S,
        row0: usize,
        panel: usize,
        acc: &[[T::V<S>; NV]; M],
    ) {
        let (l, hs) = (T::lanes::<S>(), self.hidden);
        let (p, gate) = (panel / 3, panel % 3);
        let one = T::vsplat(s, T::ONE);
        for (r, acc) in acc.iter().enumerate() {
            let b = row0 + r;
            let grow = self.g_off + b * 3 * hs;
            for (w, &a) in acc.iter().enumerate() {
                let Some((j, n)) = units(p, NV * l, w, l, hs) else { break };
                let at = |k: usize| grow + k * hs + j;
                if gate < 2 {
                    let v = T::vsigmoid(s, T::vadd(s, a, ld::<S, T>(self.gates, at(gate), n)));
                    st::<S, T>(self.gates, at(gate), n, v);
                    continue;
                }
                let (rg, z) = (ld::<S, T>(self.gates, at(0), n), ld::<S, T>(self.gates, at(1), n));
                let hn = T::vadd(s, a, lds::<S, T>(self.b_hn, j, n));
                let nn = T::vtanh(s, T::vfma(s, rg, hn, ld::<S, T>(self.gates, at(2), n)));
                let hp = T::vload_n::<S>(self.h_prev.get(b * hs + j, n));
                // h = (1 - z)·n + z·h_prev
                let h = T::vfma(s, z, hp, T::vmul(s, T::vsub(s, one, z), nn));
                st::<S, T>(self.gates, at(2), n, nn);
                st::<S, T>(self.hn, self.hn_off + b * hs + j, n, hn);
                st::<S, T>(self.h_out, self.h_off + b * hs + j, n, h);
            }
        }
    }
}

/// Fused backward tile: `dh_t = acc + D + dh_out` (`D = dh_{t+1} ⊙ z_{t+1}`),
/// then `[da_r, da_z, da_n]` over the gates, `dhn` over `hn`, the recurrent
/// operand `[da_r, da_z, dhn]` of the next product into `dgh`, and `D ← dh_t ⊙ z_t`.
pub(crate) struct Bwd<'a, T> {
    pub hidden: usize,
    /// `[B, 3H]` at `g_off`: `r, z, n` in, `da_r, da_z, da_n` out.
    pub gates: &'a Shared<'a, T>,
    pub g_off: usize,
    /// `W_hn h_{t-1} + b_hn` in, its gradient out, `[B, H]` at `hn_off`.
    pub hn: &'a Shared<'a, T>,
    pub hn_off: usize,
    pub h_prev: &'a [T],
    /// `[B, 3H]` at `dgh_off`.
    pub dgh: &'a Shared<'a, T>,
    pub dgh_off: usize,
    /// `D`, `[B, H]` (holds `dh_T` before the last step).
    pub direct: &'a Shared<'a, T>,
    /// Whether `D` flows into this step (false right after a truncation cut).
    pub flow: bool,
    pub dh_out: Option<&'a [T]>,
    pub norms: DhSink<'a, T>,
}

impl<T: Real> Epilogue<T> for Bwd<'_, T> {
    #[inline(always)]
    fn prefetch<S: Simd, const NV: usize>(&self, row0: usize, m: usize, panel: usize) {
        let (hs, u) = (self.hidden, NV * T::lanes::<S>());
        let j = panel * u;
        let u = u.min(hs - j);
        for b in row0..row0 + m {
            for g in 0..3 {
                pf(self.gates, self.g_off + b * 3 * hs + g * hs + j, u);
            }
            pf(self.hn, self.hn_off + b * hs + j, u);
            pfs(self.h_prev, b * hs + j, u);
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
        for (r, acc) in acc.iter().enumerate() {
            let b = row0 + r;
            let grow = self.g_off + b * 3 * hs;
            let drow = self.dgh_off + b * 3 * hs;
            for (w, &a) in acc.iter().enumerate() {
                let Some((j, n)) = units(panel, NV * l, w, l, hs) else { break };
                let off = b * hs + j;
                let mut dh = a;
                if self.flow {
                    dh = T::vadd(s, dh, ld::<S, T>(self.direct, off, n));
                }
                dh = total_dh::<S, T>(s, dh, None, self.dh_out, off, n, &self.norms);
                let gate = |g: usize| ld::<S, T>(self.gates, grow + g * hs + j, n);
                let (rg, z, nn) = (gate(0), gate(1), gate(2));
                let hnv = ld::<S, T>(self.hn, self.hn_off + off, n);
                let hp = lds::<S, T>(self.h_prev, off, n);
                let da_n = T::vmul(s, T::vmul(s, dh, T::vsub(s, one, z)), T::vsub(s, one, T::vmul(s, nn, nn)));
                let da_z = T::vmul(s, T::vmul(s, dh, T::vsub(s, hp, nn)), T::vmul(s, z, T::vsub(s, one, z)));
                let da_r = T::vmul(s, T::vmul(s, da_n, hnv), T::vmul(s, rg, T::vsub(s, one, rg)));
                let dhn = T::vmul(s, da_n, rg);
                for (k, v) in [da_r, da_z, da_n].into_iter().enumerate() {
                    st::<S, T>(self.gates, grow + k * hs + j, n, v);
                }
                for (k, v) in [da_r, da_z, dhn].into_iter().enumerate() {
                    st::<S, T>(self.dgh, drow + k * hs + j, n, v);
                }
                st::<S, T>(self.hn, self.hn_off + off, n, dhn);
                st::<S, T>(self.direct, off, n, T::vmul(s, dh, z));
            }
        }
    }
}
