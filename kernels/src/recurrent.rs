//! The per-step recurrent products of a sequence call:
//! forward `out = h_{t-1} · W_hhᵀ` (`[B, G·H]`) and backward
//! `dh_{t-1} (+)= dG · W_hh` (`[B, H]`).

use crate::gemm::{MatRef, gemm};
use crate::parallel::Parallelism;
use crate::real::Real;

/// Scratch values the forward product needs for `W_hh: [gh, h]` and batch `b`.
pub(crate) fn forward_scratch_len(_gh: usize, _h: usize, _b: usize) -> usize {
    0
}

/// Scratch values the backward product needs.
pub(crate) fn backward_scratch_len(_gh: usize, _h: usize, _b: usize) -> usize {
    0
}

/// `W_hh` prepared for the per-step products of one sequence call.
pub(crate) struct Recurrent<'a, T> {
    w_hh: &'a [T],
    gh: usize,
    h: usize,
}

impl<'a, T: Real> Recurrent<'a, T> {
    pub(crate) fn new(w_hh: &'a [T], gh: usize, h: usize, _scratch: &'a mut [T], _par: Parallelism) -> Self {
        Self { w_hh, gh, h }
    }

    /// `out[B, gh] = h_prev[B, h] · W_hhᵀ`.
    pub(crate) fn forward(&self, h_prev: &[T], out: &mut [T], b: usize) {
        gemm(
            T::ONE,
            MatRef::row_major(h_prev, b, self.h),
            MatRef::row_major(self.w_hh, self.gh, self.h).t(),
            T::ZERO,
            out,
            self.gh,
        );
    }

    /// `out[B, h] (+)= dg[B, gh] · W_hh`.
    pub(crate) fn backward(&self, dg: &[T], out: &mut [T], b: usize, accumulate: bool) {
        let beta = if accumulate { T::ONE } else { T::ZERO };
        gemm(
            T::ONE,
            MatRef::row_major(dg, b, self.gh),
            MatRef::row_major(self.w_hh, self.gh, self.h),
            beta,
            out,
            self.h,
        );
    }
}
