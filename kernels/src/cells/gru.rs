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

use super::fused::{DhSink, Ends, ld, lds, pf, pfs, st, total_dh};
use crate::shared::{Shared, Src};
use crate::simd::Elem;
use crate::simd::panels::Epilogue;
use pulp::Simd;

/// Forward epilogue: `r, z, n`, `hn` and `h_t` of its row and units. The
/// accumulator of the `n` gate holds `W_hn h_{t-1}` (without `b_hn`).
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

impl<T: Elem> Epilogue<T> for Fwd<'_, T> {
    #[inline(always)]
    fn prefetch(&self, b: usize, j: usize, u: usize, gate: usize) {
        let hs = self.hidden;
        pf(self.gates, self.g_off + b * 3 * hs + gate * hs + j, u);
        if gate == 2 {
            pf(self.hn, self.hn_off + b * hs + j, u);
            pf(self.h_out, self.h_off + b * hs + j, u);
        }
    }

    /// The panels of a unit block come in gate order: `r, z` are activated and
    /// parked in the gate buffer; at `n` the update completes.
    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, gate: usize, acc: T::V<S>) {
        let hs = self.hidden;
        let one = T::vsplat(s, T::ONE);
        let at = |k: usize| self.g_off + b * 3 * hs + k * hs + j;
        if gate < 2 {
            let v = T::vsigmoid(s, T::vadd(s, acc, ld::<S, T>(s, self.gates, at(gate), n)));
            st::<S, T>(s, self.gates, at(gate), n, v);
            return;
        }
        let (rg, z) = (ld::<S, T>(s, self.gates, at(0), n), ld::<S, T>(s, self.gates, at(1), n));
        let hn = T::vadd(s, acc, lds::<S, T>(s, self.b_hn, j, n));
        let nn = T::vtanh(s, T::vfma(s, rg, hn, ld::<S, T>(s, self.gates, at(2), n)));
        let hp = T::vload_n::<S>(s, self.h_prev.get(b * hs + j, n));
        // h = (1 - z)·n + z·h_prev
        let h = T::vfma(s, z, hp, T::vmul(s, T::vsub(s, one, z), nn));
        st::<S, T>(s, self.gates, at(2), n, nn);
        st::<S, T>(s, self.hn, self.hn_off + b * hs + j, n, hn);
        st::<S, T>(s, self.h_out, self.h_off + b * hs + j, n, h);
    }
}

/// Backward epilogue: `dh_t = acc + D + dh_out` (`D = dh_{t+1} ⊙ z_{t+1}`),
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
    /// A variable-length batch's row ends: `D` (still `dh_T`) enters there.
    pub ends: Option<Ends<'a>>,
    pub norms: DhSink<'a, T>,
}

impl<T: Elem> Epilogue<T> for Bwd<'_, T> {
    #[inline(always)]
    fn prefetch(&self, b: usize, j: usize, u: usize, _gate: usize) {
        let hs = self.hidden;
        for g in 0..3 {
            pf(self.gates, self.g_off + b * 3 * hs + g * hs + j, u);
        }
        pf(self.hn, self.hn_off + b * hs + j, u);
        pfs(self.h_prev, b * hs + j, u);
        if let Some(d) = self.dh_out {
            pfs(d, b * hs + j, u);
        }
    }

    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, _gate: usize, acc: T::V<S>) {
        let hs = self.hidden;
        let one = T::vsplat(s, T::ONE);
        let grow = self.g_off + b * 3 * hs;
        let drow = self.dgh_off + b * 3 * hs;
        let off = b * hs + j;
        let mut dh = acc;
        if self.flow || Ends::row(self.ends, b) == Some(true) {
            dh = T::vadd(s, dh, ld::<S, T>(s, self.direct, off, n));
        }
        dh = total_dh::<S, T>(s, dh, None, self.dh_out, off, n, &self.norms);
        let gate = |g: usize| ld::<S, T>(s, self.gates, grow + g * hs + j, n);
        let (rg, z, nn) = (gate(0), gate(1), gate(2));
        let hnv = ld::<S, T>(s, self.hn, self.hn_off + off, n);
        let hp = lds::<S, T>(s, self.h_prev, off, n);
        let da_n = T::vmul(s, T::vmul(s, dh, T::vsub(s, one, z)), T::vsub(s, one, T::vmul(s, nn, nn)));
        let da_z = T::vmul(s, T::vmul(s, dh, T::vsub(s, hp, nn)), T::vmul(s, z, T::vsub(s, one, z)));
        let da_r = T::vmul(s, T::vmul(s, da_n, hnv), T::vmul(s, rg, T::vsub(s, one, rg)));
        let dhn = T::vmul(s, da_n, rg);
        for (k, v) in [da_r, da_z, da_n].into_iter().enumerate() {
            st::<S, T>(s, self.gates, grow + k * hs + j, n, v);
        }
        for (k, v) in [da_r, da_z, dhn].into_iter().enumerate() {
            st::<S, T>(s, self.dgh, drow + k * hs + j, n, v);
        }
        st::<S, T>(s, self.hn, self.hn_off + off, n, dhn);
        st::<S, T>(s, self.direct, off, n, T::vmul(s, dh, z));
    }
}
