//! The experiment harness: a TOML spec becomes a sweep of seeded, reproducible
//! training runs of the `kernels` recurrent layers, with per-run logs, a
//! summary and plots. The binary's entry point is [`cli::main`]; the modules
//! are public so that tests and other tools can use the pieces.
//!
//! - [`spec`]: the typed spec and its range checks; [`load`]: files, overrides,
//!   sweeps and located error messages.
//! - [`tasks`]: the sequence tasks; [`model`], [`loss`], [`optim`]: the network
//!   and its training; [`train`]: one run.
//! - [`sweep`]: ids, seeds, parallel execution; [`output`], [`summary`],
//!   [`plot`], [`manifest`]: the output contract.

pub mod cli;
pub mod evaluate;
pub mod expect;
pub mod load;
pub mod loss;
pub mod manifest;
pub mod model;
pub mod optim;
pub mod output;
pub mod plot;
pub mod spec;
pub mod summary;
pub mod sweep;
pub mod tasks;
pub mod train;
