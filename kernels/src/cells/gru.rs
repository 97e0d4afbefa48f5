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

use crate::activation::sigmoid;
use crate::real::Real;

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
