//! The sequence tasks: generators following the papers' definitions (see
//! `shared/literature.md`), one file per task. Imports only `spec`: the task's
//! section, whose methods also hold the facts that validation needs (shortest
//! length, regression or not, default tolerance), so that `spec` never has to
//! ask this module.
//!
//! Every generator writes a minibatch in the kernels' layout, `x: [T, B, I]`
//! time-major, with its targets. Lengths are drawn by the caller
//! ([`draw_len`]) so that one minibatch shares one length.

pub mod adding;
pub mod batch;
pub mod copy;
pub mod latch;
pub mod sampling;
pub mod temporal_order;
pub mod two_sequence;

pub use batch::{Batch, Target, Task, at};
pub use sampling::{draw_len, index, marked_prefix, range};

use crate::spec::{TaskKind, TaskSpec};

/// The generator for `spec`.
pub fn make(spec: &TaskSpec) -> Box<dyn Task> {
    let noise = spec.noise_var.unwrap_or(two_sequence::NOISE_VAR);
    let prefix = spec.prefix_len.unwrap_or(1);
    match spec.kind {
        TaskKind::Adding => Box::new(adding::Adding { variant: spec.variant.unwrap_or_default() }),
        TaskKind::TemporalOrder => Box::new(temporal_order::TemporalOrder { bits: 2 }),
        TaskKind::TemporalOrder3 => Box::new(temporal_order::TemporalOrder { bits: 3 }),
        TaskKind::Copy => Box::new(copy::Copy),
        TaskKind::Latch if spec.is_paper_latch() => {
            Box::new(latch::LatchPaper { prefix_len: prefix, noise_var: noise })
        }
        TaskKind::Latch => Box::new(latch::Latch { prefix_len: prefix, noise_var: noise }),
        TaskKind::TwoSequence => Box::new(two_sequence::TwoSequence { prefix_len: prefix, noise_var: noise }),
    }
}
