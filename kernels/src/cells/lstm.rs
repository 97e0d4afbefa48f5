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

use crate::activation::sigmoid;
use crate::real::Real;

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
