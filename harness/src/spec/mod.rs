//! The ground floor: what a spec says, and nothing about how it is run.
//!
//! The typed sections of a training spec and their checks, the resolved
//! [`Plan`] (one [`Config`] per sweep point), the claims ([`Expect`]), the
//! evaluate-only specs ([`EvalOnly`]), and [`load()`]: reading a file, applying
//! a `[profile.NAME]` table, `--set` and `[sweep]`, and reporting every problem as one
//! located [`SpecError`]. Imports nothing from the rest of the crate.
//!
//! Inside, each file imports only the ones listed before it:
//! `error`, `sections`, `validate`, `config`, `expect`, `evaluate`, `plan`,
//! `suggest`, `load`. The re-exports below are for the floors above; the
//! files here name each other directly so that this one imports none of them
//! back.

pub mod config;
pub mod error;
pub mod evaluate;
pub mod expect;
pub mod load;
pub mod plan;
pub mod sections;
pub mod suggest;
pub mod validate;

pub use config::{Config, value_text};
pub use error::{Origin, SpecError};
pub use evaluate::{CliffSpec, DescentSpec, EvalOnly, EvaluateSpec};
pub use expect::{ClaimKind, Expect, Form, Op, Reduce, TestKind, TestPlan, Within};
pub use load::{load, load_str};
pub use plan::{Figures, Plan};
pub use sections::{
    ActivationKind, AddingVariant, CellKind, ClipKind, Experiment, InitKind, LatchForm, LogSpec, ModelSpec,
    OptimizerKind, PenaltyTarget, Precision, Seeds, SeqLen, Spec, TaskKind, TaskSpec, TrainSpec,
};
