//! The time loop of a sequence call: per-step recurrent products on `W_hh`
//! packed once per call, with the cell's element-wise step fused into the
//! product's register tiles, run by a step-synchronous thread team.
//!
//! - Forward, step `t`: tiles of `h_{t-1} · W_hhᵀ` over gate-interleaved
//!   panels ([`sg::pack_gates`]); the cell epilogue adds the input projection
//!   (already in the gate buffer), applies the activations and writes the gates,
//!   the cell state and `h_t`.
//! - Backward, step `t` (from `T - 1` down): tiles of `dG_{t+1} · W_hh` over
//!   column panels ([`sg::pack_cols`]); the epilogue forms `dh_t` (plus the loss
//!   gradient, the final-state gradient, the GRU's direct term), records
//!   `‖dh_t‖²` per (row, panel), and writes `dG_t` over the tape.
//!
//! # Threads
//! Work is split either by *panels* (hidden-unit blocks with all their gates:
//! each thread keeps its slice of `W_hh` in its own cache for the whole
//! sequence, and the team meets once per step), or by *batch rows* (each
//! thread runs its rows through the whole sequence with no synchronisation at
//! all). The choice depends on the shape only through `B`, the panel count
//! and the per-step work; results never depend on it (see [`sg`]).
//!
//! The big products outside the time loop (input projection, `dX`, `dW_ih`,
//! `dW_hh`) go through matrixmultiply, split by output rows between threads.

use crate::cells::{Cell, fused, gru, lstm, rnn};
use crate::gemm::{MatRef, gemm};
use crate::parallel::{MAX_PARTS, Shared, Src, run_parts, run_steps, split};
use crate::real::Real;
use crate::simd::gemm::{self as sg, Job, Lhs};
use crate::simd::{Level, dispatch};
use pulp::{Simd, WithSimd};

/// Per-step product work (FLOPs) below which one part runs a whole panel-split step.
const MIN_STEP_WORK: usize = 96 * 1024;
/// Big-GEMM work (FLOPs) below which it is not split.
const MIN_GEMM_WORK: usize = 4 << 20;

/// Scratch values the forward time loop needs (packed `W_hh`, partial tiles
/// and the folded bias row).
pub(crate) fn forward_scratch_len(cell: Cell, h: usize, b: usize) -> usize {
    let g = cell.gates();
    sg::pack_gates_len(g, h, h) + b * g * sg::padded(h) + g * h
}

/// Scratch values the backward time loop needs.
pub(crate) fn backward_scratch_len(cell: Cell, t: usize, h: usize, b: usize) -> usize {
    let gh = cell.gates() * h;
    let cell_extra = match cell {
        Cell::Rnn(_) => 0,
        Cell::Lstm => b * h,
        Cell::Gru => b * h + 2 * b * gh,
    };
    let _ = t;
    sg::pack_cols_len(gh, h) + b * sg::padded(h) + 2 * b * h + cell_extra
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    Panels,
    Rows,
}

/// How the time loop is cut: `(split, parts)`.
fn plan(threads: usize, b: usize, npanels: usize, step_work: usize) -> (Split, usize) {
    let threads = threads.clamp(1, MAX_PARTS);
    if threads == 1 {
        return (Split::Panels, 1);
    }
    if b >= 4 * threads {
        return (Split::Rows, threads.min(b));
    }
    let by_work = (step_work / MIN_STEP_WORK).max(1);
    (Split::Panels, threads.min(npanels).min(by_work))
}

/// Initialises a block of output rows (first row index, rows) before a product accumulates into it.
pub(crate) type RowInit<'a, T> = dyn Fn(usize, &mut [T]) + Sync + 'a;

/// `C[rows] ← α A[rows] · B + β C[rows]`, output rows split between threads.
/// Each part is an independent matrixmultiply call; its values do not depend
/// on the split (matrixmultiply blocks `K` identically for every row range).
#[allow(clippy::too_many_arguments)]
pub(crate) fn par_gemm<T: Real>(
    threads: usize,
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: &mut [T],
    ldc: usize,
    init: Option<&RowInit<'_, T>>,
) {
    let (m, n) = (a.rows, b.cols);
    let work = 2 * m * n * a.cols;
    let parts = if work >= MIN_GEMM_WORK { threads.min(MAX_PARTS).min(m).max(1) } else { 1 };
    if parts == 1 {
        if let Some(f) = init {
            f(0, c);
        }
        gemm(alpha, a, b, beta, c, ldc);
        return;
    }
    assert!(m == 0 || (m - 1) * ldc + n <= c.len(), "par_gemm: C too small");
    // SAFETY: part `p` touches only rows `split(m, parts, p)` of C.
    let cs = unsafe { Shared::new(c) };
    run_parts(threads, parts, T::IS_F32, |p| {
        let r = split(m, parts, p);
        if r.is_empty() {
            return;
        }
        let len = (r.len() - 1) * ldc + n;
        let cp = cs.slice_mut(r.start * ldc, len);
        if let Some(f) = init {
            f(r.start, cp);
        }
        gemm(alpha, a.rows(r.start, r.len()), b, beta, cp, ldc);
    });
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
}

impl<T: Real> Forward<'_, T> {
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
}

struct FwdStep<'c, 'a, T, const NV: usize, const MR: usize> {
    ctx: &'c FwdCtx<'a, T>,
    t: usize,
    /// First step of the current chunk (the gate buffer's step 0).
    t0: usize,
    rows: core::ops::Range<usize>,
    panels: core::ops::Range<usize>,
}

impl<T: Real, const NV: usize, const MR: usize> WithSimd for FwdStep<'_, '_, T, NV, MR> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let c = self.ctx;
        let (t, h, b) = (self.t, c.h, c.b);
        let (bh, bg) = (b * h, b * c.gh);
        let h_prev = if t == 0 { Src::Slice(c.h0) } else { Src::Shared(c.h_out, (t - 1) * bh) };
        let job = Job::<T, S, NV> {
            packed: sg::as_panels::<S, T, NV>(c.packed),
            k: h,
            a: Some(Lhs { data: h_prev, ld: h }),
            partial: c.partial,
            npanels: c.np,
        };
        let g_off = (t - self.t0) * bg;
        let h_off = t * bh;
        let (rows, panels) = (self.rows, self.panels);
        match c.cell {
            Cell::Rnn(act) => {
                let epi = rnn::Fwd { act, hidden: h, xg: c.gates, xg_off: g_off, h_out: c.h_out, h_off };
                job.run::<_, MR>(s, rows, panels, b, &epi);
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
                job.run::<_, MR>(s, rows, panels, b, &epi);
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
                job.run::<_, MR>(s, rows, panels, b, &epi);
            }
        }
    }
}

impl<T: Real> WithSimd for Forward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        // One row: a GEMV streaming `W_hh`; wider panels (`NV_GEMV` vectors per
        // broadcast of `h`) spend fewer loads per FMA.
        if self.batch == 1 { self.go::<S, { sg::NV_GEMV }, 1>(s) } else { self.go::<S, { sg::NV }, { sg::MR }>(s) }
    }
}

impl<T: Real> Forward<'_, T> {
    #[inline(always)]
    fn go<S: Simd, const NV: usize, const MR: usize>(self, s: S) {
        let (g, h, b, i_len) = (self.cell.gates(), self.hidden, self.batch, self.input);
        let gh = g * h;
        let bg = b * gh;
        let (packed, rest) = self.scratch.split_at_mut(sg::pack_gates_len(g, h, h));
        // `nb` unit blocks of `NV·L` units, `np = nb·G` panels.
        let nb = sg::pack_gates::<S, T>(self.w_hh, g, h, h, NV, packed);
        let np = nb * g;
        let (partial, rest) = rest.split_at_mut(b * np * NV * T::lanes::<S>());
        // The biases every row of the projection starts from: `b_ih + b_hh`,
        // except the GRU's `n` block, whose `b_hn` is scaled by `r` (added in the epilogue).
        let bias_row = &mut rest[..gh];
        for (j, v) in bias_row.iter_mut().enumerate() {
            let fold = !(self.cell == Cell::Gru && j >= 2 * h);
            *v = if fold { self.b_ih[j] + self.b_hh[j] } else { self.b_ih[j] };
        }
        let bias_row: &[T] = bias_row;
        let packed: &[T] = packed;
        let (split_by, parts) = plan(self.threads, b, nb, 2 * bg * h);
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
            // Input projection of the chunk: xg = x · W_ihᵀ + biases.
            par_gemm(
                self.threads,
                T::ONE,
                MatRef::row_major(&x[t0 * b * i_len..][..rows * i_len], rows, i_len),
                MatRef::row_major(w_ih, gh, i_len).t(),
                T::ONE,
                gates.slice_mut(0, rows * gh),
                gh,
                Some(&bias),
            );
            let step = |t: usize, rows: core::ops::Range<usize>, panels: core::ops::Range<usize>| {
                s.vectorize(FwdStep::<T, NV, MR> { ctx: &ctx, t, t0, rows, panels });
            };
            match split_by {
                Split::Panels => run_steps(self.threads, parts, t1 - t0, ftz, |i, p| {
                    // A part owns whole unit blocks (all gates of its units).
                    let blocks = split(nb, parts, p);
                    step(t0 + i, 0..b, blocks.start * g..blocks.end * g);
                }),
                Split::Rows => run_parts(self.threads, parts, ftz, |p| {
                    for t in t0..t1 {
                        step(t, split(b, parts, p), 0..np);
                    }
                }),
            }
            t0 = t1;
        }
    }
}

/// Everything a backward call's time loop needs.
pub(crate) struct Backward<'a, T> {
    pub level: Level,
    pub threads: usize,
    pub cell: Cell,
    pub hidden: usize,
    pub batch: usize,
    pub seq_len: usize,
    pub w_hh: &'a [T],
    pub h0: &'a [T],
    pub c0: Option<&'a [T]>,
    pub h_out: &'a [T],
    /// Gates `[T, B, G·H]` (activated in, `dG` out).
    pub gates: &'a mut [T],
    /// LSTM `c_t` / GRU `hn` (`dhn` out), `[T, B, H]`.
    pub extra: &'a mut [T],
    pub dh_out: Option<&'a [T]>,
    pub dh_n: Option<&'a [T]>,
    pub dc_n: Option<&'a [T]>,
    pub truncate: Option<usize>,
    pub dh0: Option<&'a mut [T]>,
    pub dc0: Option<&'a mut [T]>,
    pub step_norms: Option<&'a mut [T]>,
    /// `dh_t` of every step, `[T, B, H]`.
    pub dh_all: Option<&'a mut [T]>,
    /// At least [`backward_scratch_len`] values.
    pub scratch: &'a mut [T],
}

impl<T: Real> Backward<'_, T> {
    pub(crate) fn run(self) {
        let level = self.level;
        dispatch(level, self);
    }
}

struct BwdCtx<'a, T> {
    cell: Cell,
    h: usize,
    b: usize,
    gh: usize,
    t_len: usize,
    np: usize,
    packed: &'a [T],
    partial: &'a Shared<'a, T>,
    gates: &'a Shared<'a, T>,
    extra: &'a Shared<'a, T>,
    h_out: &'a [T],
    h0: &'a [T],
    c0: Option<&'a [T]>,
    dh_out: Option<&'a [T]>,
    dh_n: Option<&'a [T]>,
    direct: &'a Shared<'a, T>,
    dc: &'a Shared<'a, T>,
    dgh: &'a Shared<'a, T>,
    /// Where tiles keep `dh_t`: `dh_all`, or a ring of two `[B, H]` buffers
    /// (slot `t % 2`) when only the step norms are wanted.
    sink: Option<&'a Shared<'a, T>>,
    ring: bool,
    /// Step norms computed from the ring during the sweep (by part 0).
    ring_norms: Option<&'a Shared<'a, T>>,
    truncate: Option<usize>,
    dh0: Option<&'a Shared<'a, T>>,
}

/// `sqrt(Σ v²)` summed in order (exactly as the reference and the tests do).
fn norm<T: Real>(v: &[T]) -> T {
    v.iter().map(|&x| x * x).sum::<T>().sqrt()
}

impl<T> BwdCtx<'_, T> {
    /// Whether no gradient flows from step `t` into `h_{t-1}` (a truncation boundary).
    fn cut(&self, t: usize) -> bool {
        t > 0 && self.truncate.is_some_and(|k| (self.t_len - t).is_multiple_of(k))
    }
}

struct BwdStep<'c, 'a, T, const NV: usize, const MR: usize> {
    ctx: &'c BwdCtx<'a, T>,
    /// Step `t`, or `None` for the final `dh_0` product.
    t: Option<usize>,
    rows: core::ops::Range<usize>,
    panels: core::ops::Range<usize>,
    /// Part 0, which also finishes the previous step's norm (ring mode).
    lead: bool,
}

impl<'c, T: Real, const NV: usize, const MR: usize> WithSimd for BwdStep<'c, '_, T, NV, MR> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let c = self.ctx;
        let (h, b, gh, t_len) = (c.h, c.b, c.gh, c.t_len);
        let (bh, bg) = (b * h, b * gh);
        // The recurrent operand dG_{t+1} (the GRU's n block scaled by r).
        let src = |t1: usize| {
            let data = match c.cell {
                Cell::Gru => Src::Shared(c.dgh, (t1 % 2) * bg),
                _ => Src::Shared(c.gates, t1 * bg),
            };
            Lhs { data, ld: gh }
        };
        let job = |a: Option<Lhs<'c, T>>| Job::<T, S, NV> {
            packed: sg::as_panels::<S, T, NV>(c.packed),
            k: gh,
            a,
            partial: c.partial,
            npanels: c.np,
        };
        let (rows, panels) = (self.rows, self.panels);
        if let (true, Some(out), Some(t)) = (self.lead, c.ring_norms, self.t) {
            // Every part finished step t + 1 before this step began (panels split).
            if t + 1 < t_len {
                let ring = c.sink.expect("ring mode");
                out.slice_mut(t + 1, 1)[0] = norm(ring.slice(((t + 1) % 2) * bh, bh));
            }
        }
        let Some(t) = self.t else {
            let out = c.dh0.expect("dh0 phase only when wanted");
            let direct = (c.cell == Cell::Gru).then_some(c.direct);
            job(Some(src(0))).run::<_, MR>(s, rows, panels, b, &fused::Dh0 { hidden: h, out, direct });
            return;
        };
        let flow = t + 1 == t_len || !c.cut(t + 1);
        let a = (t + 1 < t_len && flow).then(|| src(t + 1));
        let job = job(a);
        let norms = fused::DhSink { all: c.sink, off: if c.ring { (t % 2) * bh } else { t * bh } };
        let dh_out = c.dh_out.map(|d| &d[t * bh..][..bh]);
        let carry = if t + 1 == t_len { c.dh_n } else { None };
        let g_off = t * bg;
        match c.cell {
            Cell::Rnn(act) => {
                let h_t = &c.h_out[t * bh..][..bh];
                let epi = rnn::Bwd { act, hidden: h, gates: c.gates, g_off, h_t, dh_out, carry, norms };
                job.run::<_, MR>(s, rows, panels, b, &epi);
            }
            Cell::Lstm => {
                let c_t = c.extra.slice(t * bh, bh);
                let c_prev = if t == 0 { c.c0.expect("checked") } else { c.extra.slice((t - 1) * bh, bh) };
                let epi =
                    lstm::Bwd { hidden: h, gates: c.gates, g_off, c_t, c_prev, dc: c.dc, flow, dh_out, carry, norms };
                job.run::<_, MR>(s, rows, panels, b, &epi);
            }
            Cell::Gru => {
                let h_prev = if t == 0 { c.h0 } else { &c.h_out[(t - 1) * bh..][..bh] };
                let epi = gru::Bwd {
                    hidden: h,
                    gates: c.gates,
                    g_off,
                    hn: c.extra,
                    hn_off: t * bh,
                    h_prev,
                    dgh: c.dgh,
                    dgh_off: (t % 2) * bg,
                    direct: c.direct,
                    flow,
                    dh_out,
                    norms,
                };
                job.run::<_, MR>(s, rows, panels, b, &epi);
            }
        }
    }
}

impl<T: Real> WithSimd for Backward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        // One row: a GEMV streaming `W_hh`; wider panels (`NV_GEMV` vectors per
        // broadcast of `h`) spend fewer loads per FMA.
        if self.batch == 1 { self.go::<S, { sg::NV_GEMV }, 1>(s) } else { self.go::<S, { sg::NV }, { sg::MR }>(s) }
    }
}

impl<T: Real> Backward<'_, T> {
    #[inline(always)]
    fn go<S: Simd, const NV: usize, const MR: usize>(self, s: S) {
        let (h, b, t_len) = (self.hidden, self.batch, self.seq_len);
        let gh = self.cell.gates() * h;
        let bh = b * h;
        let scratch = self.scratch;
        let (packed, scratch) = scratch.split_at_mut(sg::pack_cols_len(gh, h));
        let np = sg::pack_cols::<S, T>(self.w_hh, gh, h, NV, packed);
        let packed: &[T] = packed;
        let (partial, scratch) = scratch.split_at_mut(b * np * NV * T::lanes::<S>());
        let (ring, scratch) = scratch.split_at_mut(2 * bh);
        let (direct, dc, dgh): (&mut [T], &mut [T], &mut [T]) = match self.cell {
            Cell::Rnn(_) => (&mut [], &mut [], &mut []),
            Cell::Lstm => (&mut [], &mut scratch[..bh], &mut []),
            Cell::Gru => {
                let (d, rest) = scratch.split_at_mut(bh);
                (d, &mut [], &mut rest[..2 * b * gh])
            }
        };
        if self.cell == Cell::Gru {
            match self.dh_n {
                Some(d) => direct.copy_from_slice(d),
                None => direct.fill(T::ZERO),
            }
        }
        if self.cell == Cell::Lstm {
            match self.dc_n {
                Some(d) => dc.copy_from_slice(d),
                None => dc.fill(T::ZERO),
            }
        }
        // The final product dG_0 · W_hh runs only when dh0 is wanted (dc0 needs none).
        let run_dh0 = self.dh0.is_some();
        // SAFETY: the tiles of a step (one per (row, panel)) write only their own
        // rows and units of step `t`'s gates, `hn`, `dgh` slot, `D`, `dc`, norm
        // and partial-tile slots; they read step `t + 1`'s gradients (the
        // product operand) either at their own rows (rows split) or after the
        // step barrier (panels split), when nobody writes them.
        let (gates, extra, partial, ring, direct, dc, dgh) = unsafe {
            (
                Shared::new(self.gates),
                Shared::new(self.extra),
                Shared::new(partial),
                Shared::new(ring),
                Shared::new(direct),
                Shared::new(dc),
                Shared::new(dgh),
            )
        };
        // SAFETY: each dh0 tile writes only its own rows and units.
        let dh0 = self.dh0.map(|d| unsafe { Shared::new(d) });
        // SAFETY: each tile writes only its own rows and units of step `t`.
        let dh_all = self.dh_all.map(|d| unsafe { Shared::new(d) });
        // Step norms without dh_all: tiles keep dh_t in the ring, part 0 sums it
        // at the next step (after the barrier), so the team splits by panels.
        let ring_mode = dh_all.is_none() && self.step_norms.is_some();
        let mut step_norms = self.step_norms;
        // SAFETY: written by part 0 only, one element per step.
        let ring_norms = if ring_mode { step_norms.as_deref_mut().map(|n| unsafe { Shared::new(n) }) } else { None };
        let ctx = BwdCtx {
            cell: self.cell,
            h,
            b,
            gh,
            t_len,
            np,
            packed,
            partial: &partial,
            gates: &gates,
            extra: &extra,
            h_out: self.h_out,
            h0: self.h0,
            c0: self.c0,
            dh_out: self.dh_out,
            dh_n: self.dh_n,
            direct: &direct,
            dc: &dc,
            dgh: &dgh,
            sink: if ring_mode { Some(&ring) } else { dh_all.as_ref() },
            ring: ring_mode,
            ring_norms: ring_norms.as_ref(),
            truncate: self.truncate,
            dh0: dh0.as_ref(),
        };
        let (mut split_by, mut parts) = plan(self.threads, b, np, 2 * b * gh * h);
        if ring_mode && split_by == Split::Rows {
            split_by = Split::Panels;
            parts = parts.min(np);
        }
        let steps = t_len + usize::from(run_dh0);
        let step = |i: usize, rows: core::ops::Range<usize>, panels: core::ops::Range<usize>, lead: bool| {
            let t = (i < t_len).then(|| t_len - 1 - i);
            s.vectorize(BwdStep::<T, NV, MR> { ctx: &ctx, t, rows, panels, lead });
        };
        match split_by {
            Split::Panels => {
                run_steps(self.threads, parts, steps, T::IS_F32, |i, p| step(i, 0..b, split(np, parts, p), p == 0))
            }
            Split::Rows => run_parts(self.threads, parts, T::IS_F32, |p| {
                for i in 0..steps {
                    step(i, split(b, parts, p), 0..np, false);
                }
            }),
        }
        if let Some(out) = step_norms {
            match &dh_all {
                Some(all) => {
                    for (t, o) in out.iter_mut().enumerate() {
                        *o = norm(all.slice(t * bh, bh));
                    }
                }
                // The ring holds dh_0; the earlier steps were done in the sweep.
                None => out[0] = norm(ring.slice(0, bh)),
            }
        }
        if let Some(out) = self.dc0 {
            out.copy_from_slice(dc.slice(0, bh));
        }
    }
}
