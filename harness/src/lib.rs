//! The experiment harness: a TOML spec becomes a sweep of seeded, reproducible
//! training runs of the `kernels` recurrent layers, with per-run logs, a
//! summary and plots. The binary's entry point is [`cli::main`]; the modules
//! are public so that tests and other tools can use the pieces.
//!
//! # Layers
//!
//! Six floors. A module imports only from its own floor and the floors below
//! it, never from above, and there are no import circles, between floors or
//! between the files of one floor (`tests/it/layers.rs` checks both).
//!
//! ```text
//! floor    its files                                                      imports from
//! cli      cli.rs: arguments, subcommands (plan, merge), exit codes      report, run, spec
//! report   summary, stats, plot, claims, cliff (figures and claims)       run, nn, spec
//! run      train, sweep, output, manifest, cliff (evaluate-only),         nn, tasks, spec
//!          shard, lock, outdir, merge
//! nn       model, loss, optim                                             tasks, spec
//! tasks    batch, sampling, adding, copy, latch, temporal_order, ...      spec
//! spec     error, sections, validate, config, expect, evaluate, plan,     (nothing)
//!          suggest, load
//! ```
//!
//! - [`spec`]: what a spec says. The typed sections and their range checks,
//!   the task facts validation needs (as methods of [`spec::TaskSpec`]), the
//!   resolved [`spec::Plan`] with its [`spec::Config`]s, claims
//!   ([`spec::Expect`]), evaluate-only specs ([`spec::EvalOnly`]), and
//!   [`spec::load()`], whose every failure is one located [`spec::SpecError`].
//! - [`tasks`]: the sequence generators.
//! - [`nn`]: the network (the kernels' layer and a readout), losses, optimizers.
//! - [`run`]: one training run, the sweep over runs (ids, seeds, the worker
//!   pool, `--resume`), the per-run files and `runs.jsonl`, the provenance
//!   files, the evaluate-only computation, and what sharding needs: shards
//!   (`--shard I/N`, Slurm arrays), the output directory's locks and life, and
//!   collecting shards' runs for `merge`.
//! - [`report`]: what is made of finished runs: `summary.csv`, figures,
//!   claims (`expectations.json`), and the statistics they share.
//! - [`cli`]: the binary's arguments and subcommands (`plan`, `merge`), the
//!   order of the steps, and the exit codes.

#![warn(missing_docs)]

pub mod cli;
pub mod nn;
pub mod report;
pub mod run;
pub mod spec;
pub mod tasks;
