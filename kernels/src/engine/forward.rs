//! The forward time loop: per chunk of steps, the input projection (one GEMM),
//! then one fused recurrent product per step.

use super::{RowPlan, Team};
use crate::cells::{Cell, gru, lstm, rnn};
use crate::gemm::{MatRef, par_gemm};
use crate::shared::{Shared, Src};
use crate::simd::panels::{self as sp, Epilogue, Gemv, Job, Kernel, Lhs, Tiles};
use crate::simd::{ALIGN_SLACK, AlignedVec, Elem, Level, aligned, dispatch};
use core::marker::PhantomData;
use pulp::{Simd, WithSimd};

/// Scratch values the forward time loop needs (packed `W_hh`, partial tiles
/// and the folded bias row); with prepacked weights only the partial tiles.
pub(crate) fn forward_scratch_len(cell: Cell, h: usize, b: usize, prepacked: bool) -> usize {
    let g = cell.gates();
    let partial = b * g * sp::padded(h);
    // Slack to start the packed panels and partial tiles on a cache line.
    let len = if prepacked { partial } else { sp::pack_gates_len(g, h, h) + partial + g * h };
    len + ALIGN_SLACK
}

/// Weights packed once for many calls ([`crate::PackedWeights`]): `W_hh` in the
/// forward gate panels of both kernels (index 0: [`Tiles`], `NV` vectors per
/// panel; 1: [`Gemv`], `NV_GEMV`), `W_ih` likewise (for single steps, whose
/// input projection runs through the same kernels), and the folded bias row.
pub(crate) struct Prepacked<'a, T> {
    pub w_hh: [&'a [T]; 2],
    pub w_ih: [&'a [T]; 2],
    pub bias_row: &'a [T],
}

/// The buffers of [`Prepacked`], owned.
#[derive(Clone, Debug)]
pub(crate) struct PackedBuffers<T> {
    pub w_hh: [AlignedVec<T>; 2],
    pub w_ih: [AlignedVec<T>; 2],
    pub bias_row: Vec<T>,
}

/// The folded bias row every row of the input projection starts from:
/// `b_ih + b_hh`, except the GRU's `n` block, whose `b_hn` is scaled by `r`
/// (added in the epilogue).
fn fold_bias<T: Elem>(cell: Cell, hidden: usize, b_ih: &[T], b_hh: &[T], out: &mut [T]) {
    for (j, v) in out.iter_mut().enumerate() {
        let fold = !(cell == Cell::Gru && j >= 2 * hidden);
        *v = if fold { b_ih[j] + b_hh[j] } else { b_ih[j] };
    }
}

/// Packs a layer's weights at `level` for [`Prepacked`] use.
pub(crate) fn pack_weights<T: Elem>(
    level: Level,
    cell: Cell,
    input: usize,
    hidden: usize,
    w_ih: &[T],
    w_hh: &[T],
    b_ih: &[T],
    b_hh: &[T],
) -> PackedBuffers<T> {
    struct Pack<'a, T> {
        cell: Cell,
        input: usize,
        hidden: usize,
        w: [&'a [T]; 4],
    }
    impl<T: Elem> WithSimd for Pack<'_, T> {
        type Output = PackedBuffers<T>;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _s: S) -> PackedBuffers<T> {
            let (g, h, i) = (self.cell.gates(), self.hidden, self.input);
            let [w_ih, w_hh, b_ih, b_hh] = self.w;
            let pack = |w: &[T], k: usize, nv: usize| {
                let mut out = AlignedVec::zeroed(sp::pack_gates_len(g, h, k));
                sp::pack_gates::<S, T>(w, g, h, k, nv, out.as_mut_slice());
                out
            };
            let mut bias_row = vec![T::ZERO; g * h];
            fold_bias(self.cell, h, b_ih, b_hh, &mut bias_row);
            PackedBuffers {
                w_hh: [pack(w_hh, h, sp::NV), pack(w_hh, h, sp::NV_GEMV)],
                w_ih: [pack(w_ih, i, sp::NV), pack(w_ih, i, sp::NV_GEMV)],
                bias_row,
            }
        }
    }
    dispatch(level, Pack { cell, input, hidden, w: [w_ih, w_hh, b_ih, b_hh] })
}

/// The input projection of a single step, through the step kernels on the
/// prepacked `W_ih`: `gates[b, g·H + j] = x_b · W_ih[g·H + j] + bias_row[g·H + j]`.
struct Projection<'a, T> {
    gates: &'a Shared<'a, T>,
    bias_row: &'a [T],
    hidden: usize,
    gate_rows: usize,
}

impl<T: Elem> Epilogue<T> for Projection<'_, T> {
    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, gate: usize, acc: T::V<S>) {
        let col = gate * self.hidden + j;
        let v = T::vadd(s, acc, T::vload_n::<S>(s, &self.bias_row[col..col + n]));
        T::vstore_n::<S>(s, self.gates.slice_mut(b * self.gate_rows + col, n), v);
    }
}

/// Everything a forward call's time loop needs.
pub(crate) struct Forward<'a, T> {
    pub level: Level,
    pub threads: usize,
    pub cell: Cell,
    pub hidden: usize,
    pub input: usize,
    pub batch: usize,
    pub seq_len: usize,
    pub w_ih: &'a [T],
    pub w_hh: &'a [T],
    pub b_ih: &'a [T],
    pub b_hh: &'a [T],
    pub x: &'a [T],
    pub h0: &'a [T],
    pub c0: Option<&'a [T]>,
    pub h_out: &'a mut [T],
    /// `[chunk, B, G·H]`: the tape when training.
    pub gates: &'a mut [T],
    /// `slots` buffers of `B·H` (LSTM `c_t`, GRU `hn`), step `t` in slot `t % slots`.
    pub extra: &'a mut [T],
    pub slots: usize,
    /// Steps whose input projection is computed at once.
    pub chunk: usize,
    /// At least [`forward_scratch_len`] values.
    pub scratch: &'a mut [T],
    /// A variable-length batch's rows; `None` runs every row at every step.
    pub plan: Option<RowPlan<'a>>,
    /// Weights packed beforehand (the call then packs nothing). With
    /// `step_input`, the input projection of the (single-step) call runs
    /// through the step kernels on the prepacked `W_ih` instead of a GEMM.
    pub prepacked: Option<Prepacked<'a, T>>,
    pub step_input: bool,
}

impl<T: Elem> Forward<'_, T> {
    pub(crate) fn run(self) {
        let level = self.level;
        dispatch(level, self);
    }
}

/// The state of one forward call shared by its team.
struct FwdCtx<'a, T> {
    cell: Cell,
    h: usize,
    b: usize,
    gh: usize,
    np: usize,
    slots: usize,
    packed: &'a [T],
    partial: &'a Shared<'a, T>,
    gates: &'a Shared<'a, T>,
    h_out: &'a Shared<'a, T>,
    extra: &'a Shared<'a, T>,
    h0: &'a [T],
    c0: Option<&'a [T]>,
    b_hn: &'a [T],
    plan: Option<RowPlan<'a>>,
    /// Single steps: the input projection through the step kernels.
    projection: Option<StepInput<'a, T>>,
}

/// A single step's input projection: the prepacked `W_ih` panels, the input
/// `x: [B, I]` and the folded bias row.
#[derive(Clone, Copy)]
struct StepInput<'a, T> {
    w_ih: &'a [T],
    x: &'a [T],
    input: usize,
    bias_row: &'a [T],
}

struct FwdStep<'c, 'a, T, K, const NV: usize> {
    ctx: &'c FwdCtx<'a, T>,
    t: usize,
    /// First step of the current chunk (the gate buffer's step 0).
    t0: usize,
    rows: core::ops::Range<usize>,
    panels: core::ops::Range<usize>,
    kernel: PhantomData<K>,
}

impl<T: Elem, K: Kernel, const NV: usize> WithSimd for FwdStep<'_, '_, T, K, NV> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let c = self.ctx;
        let (t, h, b) = (self.t, c.h, c.b);
        let (bh, bg) = (b * h, b * c.gh);
        let h_prev = if t == 0 { Src::Slice(c.h0) } else { Src::Shared(c.h_out, (t - 1) * bh) };
        let job = Job::<T, S, NV> {
            packed: sp::as_panels::<S, T, NV>(c.packed),
            k: h,
            a: Some(Lhs { data: h_prev, ld: h }),
            partial: c.partial,
            npanels: c.np,
            gates: c.cell.gates(),
            units: h,
            order: c.plan.map(|p| p.order),
        };
        let g_off = (t - self.t0) * bg;
        let h_off = t * bh;
        let (rows, panels) = (RowPlan::at(c.plan, t, self.rows), self.panels);
        if rows.is_empty() {
            return;
        }
        if let Some(StepInput { w_ih, x, input: i_len, bias_row }) = c.projection {
            // The same rows and unit blocks as the recurrent product below,
            // computed first by the same part: no barrier between the two.
            let proj = Job::<T, S, NV> {
                packed: sp::as_panels::<S, T, NV>(w_ih),
                k: i_len,
                a: Some(Lhs { data: Src::Slice(x), ld: i_len }),
                partial: c.partial,
                npanels: c.np,
                gates: c.cell.gates(),
                units: h,
                order: None,
            };
            let epi = Projection { gates: c.gates, bias_row, hidden: h, gate_rows: c.gh };
            K::run(&proj, s, rows.clone(), panels.clone(), &epi);
        }
        match c.cell {
            Cell::Rnn(act) => {
                let epi = rnn::Fwd { act, hidden: h, xg: c.gates, xg_off: g_off, h_out: c.h_out, h_off };
                K::run(&job, s, rows, panels, &epi);
            }
            Cell::Lstm => {
                let c_prev = match t {
                    0 => Src::Slice(c.c0.expect("checked")),
                    _ => Src::Shared(c.extra, ((t - 1) % c.slots) * bh),
                };
                let epi = lstm::Fwd {
                    hidden: h,
                    gates: c.gates,
                    g_off,
                    c_prev,
                    c: c.extra,
                    c_off: (t % c.slots) * bh,
                    h_out: c.h_out,
                    h_off,
                };
                K::run(&job, s, rows, panels, &epi);
            }
            Cell::Gru => {
                let epi = gru::Fwd {
                    hidden: h,
                    gates: c.gates,
                    g_off,
                    b_hn: c.b_hn,
                    h_prev,
                    hn: c.extra,
                    hn_off: (t % c.slots) * bh,
                    h_out: c.h_out,
                    h_off,
                };
                K::run(&job, s, rows, panels, &epi);
            }
        }
    }
}

impl<T: Elem> WithSimd for Forward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        // One row: a GEMV streaming `W_hh`; wider panels (`NV_GEMV` vectors per
        // broadcast of `h`) spend fewer loads per FMA.
        // Several rows: panels of one vector where they pad less (not on
        // prepacked weights, which hold the `NV` layout).
        if self.batch == 1 {
            self.go::<S, Gemv, { sp::NV_GEMV }>(s)
        } else if self.prepacked.is_none() && sp::narrow_panels::<S, T>(self.hidden) {
            self.go::<S, Tiles, 1>(s)
        } else {
            self.go::<S, Tiles, { sp::NV }>(s)
        }
    }
}

impl<T: Elem> Forward<'_, T> {
    #[inline(always)]
    fn go<S: Simd, K: Kernel, const NV: usize>(self, s: S) {
        let (g, h, b, i_len) = (self.cell.gates(), self.hidden, self.batch, self.input);
        let gh = g * h;
        let bg = b * gh;
        // `nb` unit blocks of `NV·L` units, `np = nb·G` panels.
        let nb = h.div_ceil(NV * T::lanes::<S>());
        let np = nb * g;
        let kernel = usize::from(K::GEMV);
        let scratch = aligned(&mut *self.scratch);
        let (packed, bias_row, partial): (&[T], &[T], &mut [T]) = match &self.prepacked {
            Some(p) => (p.w_hh[kernel], p.bias_row, &mut scratch[..b * np * NV * T::lanes::<S>()]),
            None => {
                let (packed, rest) = scratch.split_at_mut(sp::pack_gates_len(g, h, h));
                sp::pack_gates::<S, T>(self.w_hh, g, h, h, NV, packed);
                let (partial, rest) = rest.split_at_mut(b * np * NV * T::lanes::<S>());
                let bias_row = &mut rest[..gh];
                fold_bias(self.cell, h, self.b_ih, self.b_hh, bias_row);
                (packed, bias_row, partial)
            }
        };
        let projection = match (&self.prepacked, self.step_input) {
            (Some(p), true) => Some(StepInput { w_ih: p.w_ih[kernel], x: self.x, input: i_len, bias_row: p.bias_row }),
            _ => None,
        };
        let team = Team::plan(self.threads, b, nb, g, 2 * bg * h, false);
        let ftz = T::IS_F32;
        let b_hn = &self.b_hh[(2 * h).min(gh)..];
        let (w_ih, x) = (self.w_ih, self.x);
        let cell = self.cell;
        // SAFETY: during the projection the gate buffer is only reached through
        // `par_gemm`'s disjoint row blocks; in the time loop, the tiles of a step
        // (one per (row, panel)) write only their own rows and units of step
        // `t`'s gates, state and output and of the partial-tile slots, and read
        // step `t - 1`'s values only at their own rows (rows split) or after the
        // step barrier (panels split), when nobody writes them.
        let (gates, h_out, extra, partial) = unsafe {
            (Shared::new(self.gates), Shared::new(self.h_out), Shared::new(self.extra), Shared::new(partial))
        };
        let ctx = FwdCtx {
            cell,
            h,
            b,
            gh,
            np,
            slots: self.slots,
            packed,
            partial: &partial,
            gates: &gates,
            h_out: &h_out,
            extra: &extra,
            h0: self.h0,
            c0: self.c0,
            b_hn,
            plan: self.plan,
            projection,
        };
        let bias = |_row0: usize, rows: &mut [T]| {
            for row in rows.chunks_mut(gh) {
                row.copy_from_slice(&bias_row[..row.len()]);
            }
        };
        let mut t0 = 0;
        while t0 < self.seq_len {
            let t1 = (t0 + self.chunk).min(self.seq_len);
            let rows = (t1 - t0) * b;
            // Input projection of the chunk: xg = x · W_ihᵀ + biases (single
            // steps on prepacked weights project inside the step instead).
            if projection.is_none() {
                par_gemm(
                    self.level,
                    self.threads,
                    T::ONE,
                    MatRef::row_major(&x[t0 * b * i_len..][..rows * i_len], rows, i_len),
                    MatRef::row_major(w_ih, gh, i_len).t(),
                    T::ONE,
                    gates.slice_mut(0, rows * gh),
                    gh,
                    Some(&bias),
                );
            }
            // A part owns whole unit blocks (all gates of its units).
            team.run(t1 - t0, ftz, |i, rows, panels, _| {
                s.vectorize(FwdStep::<T, K, NV> { ctx: &ctx, t: t0 + i, t0, rows, panels, kernel: PhantomData });
            });
            t0 = t1;
        }
    }
}
