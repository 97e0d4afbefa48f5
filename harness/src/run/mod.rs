//! Running: [`train`] one run, [`sweep`] (run ids, seeds, the worker pool,
//! `--resume`), the per-run output files and `runs.jsonl` ([`output`]), the
//! provenance ([`manifest`]), and the evaluate-only computation ([`cliff`]),
//! which is a kind of run too. Imports `spec`, `tasks` and `nn`.
//!
//! Sharding a sweep (`--shard I/N`) would select from [`sweep::runs`] here.

pub mod cliff;
pub mod manifest;
pub mod output;
pub mod sweep;
pub mod train;
