//! The time loop of a sequence call: per-step recurrent products on `W_hh`
//! packed once per call, with the cell's element-wise step fused into the
//! product ([`crate::simd::panels`], the cells' epilogues), run by a
//! step-synchronous thread team.
//!
//! - Forward, step `t` ([`Forward`]): `h_{t-1} · W_hhᵀ` over gate-interleaved
//!   panels; the cell epilogue adds the input projection (already in the gate
//!   buffer), applies the activations and writes the gates, the cell state and
//!   `h_t`.
//! - Backward, step `t` from `T - 1` down ([`Backward`]): `dG_{t+1} · W_hh`
//!   over column panels; the epilogue forms `dh_t` (plus the loss gradient,
//!   the final-state gradient, the GRU's direct term), keeps it when wanted,
//!   and writes `dG_t` over the tape.
//!
//! # Threads
//! Work is split either by *panels* (hidden-unit blocks with all their gates:
//! each thread keeps its slice of `W_hh` in its own cache for the whole
//! sequence, and the team meets once per step), or by *batch rows* (each
//! thread runs its rows through the whole sequence with no synchronisation at
//! all). The choice ([`Team::plan`]) depends on the shape only through `B`,
//! the panel count and the per-step work; results never depend on it, because
//! every value is computed by the same code in the same order whichever part
//! computes it.
//!
//! The big products outside the time loop (input projection, `dX`, `dW_ih`,
//! `dW_hh`) go through [`crate::gemm::par_gemm`].

mod backward;
mod forward;

pub(crate) use backward::{Backward, backward_scratch_len};
pub(crate) use forward::{Forward, PackedBuffers, Prepacked, forward_scratch_len, pack_weights};

/// The rows of a variable-length batch: at step `t` only the rows whose
/// sequence is longer than `t` run. Sorted longest first, they are a prefix of
/// the logical rows, so a step runs logical rows `0..active[t]` (each mapped to
/// its row of the buffers by `order`) and spends nothing on rows that ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowPlan<'a> {
    /// Logical row `i` is row `order[i]` of every `[B, ·]` buffer, longest first.
    pub order: &'a [usize],
    /// `active[t]`: how many rows are longer than `t`.
    pub active: &'a [usize],
    /// The length of each row (by buffer row).
    pub lens: &'a [usize],
}

impl RowPlan<'_> {
    /// Logical rows `rows` cut to those that run at step `t`.
    fn at(plan: Option<Self>, t: usize, rows: Range<usize>) -> Range<usize> {
        match plan {
            Some(p) => rows.start..rows.end.min(p.active[t]).max(rows.start),
            None => rows,
        }
    }
}

use crate::parallel::{MAX_PARTS, run_parts, run_steps, split};
use core::ops::Range;

/// Per-step product work (FLOPs) below which one part runs a whole panel-split step.
const MIN_STEP_WORK: usize = 96 * 1024;

/// How the time loop is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    /// By hidden-unit blocks, one barrier per step.
    Panels,
    /// By batch rows, no synchronisation.
    Rows,
}

/// The cut of one call's time loop into parts.
#[derive(Clone, Copy, Debug)]
struct Team {
    threads: usize,
    split: Split,
    parts: usize,
    /// Batch rows `B`.
    rows: usize,
    /// Units of work along the panels: unit blocks (forward) or panels (backward).
    blocks: usize,
    /// Panels per block.
    per_block: usize,
}

impl Team {
    /// The cut for `threads` threads, `rows` batch rows, `blocks` blocks of
    /// `per_block` panels and `step_work` FLOPs per step; with `panels_only`,
    /// never by rows.
    fn plan(threads: usize, rows: usize, blocks: usize, per_block: usize, step_work: usize, panels_only: bool) -> Team {
        let threads = threads.clamp(1, MAX_PARTS);
        let (split, parts) = if threads == 1 {
            (Split::Panels, 1)
        } else if rows >= 4 * threads {
            // Enough rows for every thread: no barrier at all (unless the
            // caller needs one per step, then the same parts cut by panels).
            if panels_only { (Split::Panels, threads.min(rows).min(blocks)) } else { (Split::Rows, threads.min(rows)) }
        } else {
            let by_work = (step_work / MIN_STEP_WORK).max(1);
            (Split::Panels, threads.min(blocks).min(by_work))
        };
        Team { threads, split, parts, rows, blocks, per_block }
    }

    /// Runs `step(i, rows, panels, lead)` for the steps `i in 0..steps` in
    /// order, each over the rows and panels of every part (`lead`: part 0 of a
    /// panel split, which may also do per-step work of the whole team). Parts
    /// of one step run concurrently; with a panel split, step `i + 1` starts
    /// when every part of step `i` is done.
    fn run(&self, steps: usize, ftz: bool, step: impl Fn(usize, Range<usize>, Range<usize>, bool) + Sync) {
        let panels = |r: Range<usize>| r.start * self.per_block..r.end * self.per_block;
        match self.split {
            Split::Panels => run_steps(self.threads, self.parts, steps, ftz, |i, p| {
                step(i, 0..self.rows, panels(split(self.blocks, self.parts, p)), p == 0)
            }),
            Split::Rows => run_parts(self.threads, self.parts, ftz, |p| {
                for i in 0..steps {
                    step(i, split(self.rows, self.parts, p), panels(0..self.blocks), false);
                }
            }),
        }
    }
}
