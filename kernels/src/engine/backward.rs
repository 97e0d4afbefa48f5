//! The backward time loop: from the last step down, one fused product
//! `dG_{t+1} · W_hh` per step, turning the saved gates into gate gradients in
//! place; and, when `dh_0` is wanted, one more product `dG_0 · W_hh`.

use super::{RowPlan, Team};
use crate::cells::fused::{DhSink, Ends, ld, st};
use crate::cells::{Cell, gru, lstm, rnn};
use crate::real::Real;
use crate::shared::{Shared, Src};
use crate::simd::panels::{self as sp, Epilogue, Gemv, Job, Kernel, Lhs, Tiles};
use crate::simd::{ALIGN_SLACK, Elem, Level, aligned, dispatch};
use core::marker::PhantomData;
use pulp::{Simd, WithSimd};

/// Scratch values the backward time loop needs.
pub(crate) fn backward_scratch_len(cell: Cell, h: usize, b: usize) -> usize {
    let gh = cell.gates() * h;
    let cell_extra = match cell {
        Cell::Rnn(_) => 0,
        Cell::Lstm => b * h,
        Cell::Gru => b * h + 2 * b * gh,
    };
    // Slack to start the packed panels and partial tiles on a cache line.
    sp::pack_cols_len(gh, h) + b * sp::padded(h) + 2 * b * h + cell_extra + ALIGN_SLACK
}

/// `dh_0 = acc (+ D)`: the epilogue of the last product, writing `dh0`.
struct Dh0<'a, T> {
    hidden: usize,
    out: &'a Shared<'a, T>,
    /// The GRU's direct term `D = dh_1 ⊙ z_1`.
    direct: Option<&'a Shared<'a, T>>,
}

impl<T: Elem> Epilogue<T> for Dh0<'_, T> {
    #[inline(always)]
    fn vector<S: Simd>(&self, s: S, b: usize, j: usize, n: usize, _gate: usize, acc: T::V<S>) {
        let off = b * self.hidden + j;
        let v = match self.direct {
            Some(d) => T::vadd(s, acc, ld::<S, T>(s, d, off, n)),
            None => acc,
        };
        st::<S, T>(s, self.out, off, n, v);
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
    /// A variable-length batch's rows; `None` runs every row at every step.
    pub plan: Option<RowPlan<'a>>,
}

impl<T: Elem> Backward<'_, T> {
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
    plan: Option<RowPlan<'a>>,
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

struct BwdStep<'c, 'a, T, K, const NV: usize> {
    ctx: &'c BwdCtx<'a, T>,
    /// Step `t`, or `None` for the final `dh_0` product.
    t: Option<usize>,
    rows: core::ops::Range<usize>,
    panels: core::ops::Range<usize>,
    /// Part 0, which also finishes the previous step's norm (ring mode).
    lead: bool,
    kernel: PhantomData<K>,
}

impl<'c, T: Elem, K: Kernel, const NV: usize> WithSimd for BwdStep<'c, '_, T, K, NV> {
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
            packed: sp::as_panels::<S, T, NV>(c.packed),
            k: gh,
            a,
            partial: c.partial,
            npanels: c.np,
            gates: 1,
            units: h,
            order: c.plan.map(|p| p.order),
        };
        let rows = match self.t {
            Some(t) => RowPlan::at(c.plan, t, self.rows),
            None => self.rows,
        };
        let panels = self.panels;
        if let (true, Some(out), Some(t)) = (self.lead, c.ring_norms, self.t) {
            // Every part finished step t + 1 before this step began (panels split).
            if t + 1 < t_len {
                let ring = c.sink.expect("ring mode");
                out.slice_mut(t + 1, 1)[0] = norm(ring.slice(((t + 1) % 2) * bh, bh));
            }
        }
        if rows.is_empty() {
            return;
        }
        let Some(t) = self.t else {
            let out = c.dh0.expect("dh0 phase only when wanted");
            let direct = (c.cell == Cell::Gru).then_some(c.direct);
            K::run(&job(Some(src(0))), s, rows, panels, &Dh0 { hidden: h, out, direct });
            return;
        };
        let flow = t + 1 == t_len || !c.cut(t + 1);
        let a = (t + 1 < t_len && flow).then(|| src(t + 1));
        let job = job(a);
        let norms = DhSink { all: c.sink, off: if c.ring { (t % 2) * bh } else { t * bh } };
        let dh_out = c.dh_out.map(|d| &d[t * bh..][..bh]);
        // `dh_T` enters at each row's last step: step T - 1, or in a
        // variable-length batch wherever `ends` says a row ends.
        let ends = c.plan.map(|p| Ends { lens: p.lens, t1: t + 1 });
        let carry = if t + 1 == t_len || ends.is_some() { c.dh_n } else { None };
        let g_off = t * bg;
        match c.cell {
            Cell::Rnn(act) => {
                let h_t = &c.h_out[t * bh..][..bh];
                let epi = rnn::Bwd { act, hidden: h, gates: c.gates, g_off, h_t, dh_out, carry, ends, norms };
                K::run(&job, s, rows, panels, &epi);
            }
            Cell::Lstm => {
                let c_t = c.extra.slice(t * bh, bh);
                let c_prev = if t == 0 { c.c0.expect("checked") } else { c.extra.slice((t - 1) * bh, bh) };
                let epi = lstm::Bwd {
                    hidden: h,
                    gates: c.gates,
                    g_off,
                    c_t,
                    c_prev,
                    dc: c.dc,
                    flow,
                    dh_out,
                    carry,
                    ends,
                    norms,
                };
                K::run(&job, s, rows, panels, &epi);
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
                    ends,
                    norms,
                };
                K::run(&job, s, rows, panels, &epi);
            }
        }
    }
}

impl<T: Elem> WithSimd for Backward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        // One row: a GEMV streaming `W_hh`; wider panels (`NV_GEMV` vectors per
        // broadcast of `dG`) spend fewer loads per FMA.
        if self.batch == 1 { self.go::<S, Gemv, { sp::NV_GEMV }>(s) } else { self.go::<S, Tiles, { sp::NV }>(s) }
    }
}

impl<T: Elem> Backward<'_, T> {
    #[inline(always)]
    fn go<S: Simd, K: Kernel, const NV: usize>(mut self, s: S) {
        let (h, b, t_len) = (self.hidden, self.batch, self.seq_len);
        let gh = self.cell.gates() * h;
        let bh = b * h;
        let scratch = aligned(self.scratch);
        let (packed, scratch) = scratch.split_at_mut(sp::pack_cols_len(gh, h));
        let np = sp::pack_cols::<S, T>(self.w_hh, gh, h, NV, packed);
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
        if self.plan.is_some() {
            // Rows that have ended are never written at the steps past their
            // end: their `dh_t` and the GRU's operand rows must read as zero.
            ring.fill(T::ZERO);
            dgh.fill(T::ZERO);
            if let Some(all) = self.dh_all.as_deref_mut() {
                all.fill(T::ZERO);
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
            plan: self.plan,
        };
        // Ring mode needs the step barrier: part 0 sums step t + 1's ring slot at step t.
        let team = Team::plan(self.threads, b, np, 1, 2 * b * gh * h, ring_mode);
        let steps = t_len + usize::from(run_dh0);
        team.run(steps, T::IS_F32, |i, rows, panels, lead| {
            let t = (i < t_len).then(|| t_len - 1 - i);
            s.vectorize(BwdStep::<T, K, NV> { ctx: &ctx, t, rows, panels, lead, kernel: PhantomData });
        });
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
