//! Running: [`train`] one run, [`sweep`] (run ids, seeds, the worker pool,
//! `--resume`), the per-run output files and `runs.jsonl` ([`output`]), the
//! provenance ([`manifest`]), and the evaluate-only computation ([`cliff`]),
//! which is a kind of run too. Imports `spec`, `tasks` and `nn`.
//!
//! The output directory's locks ([`lock`]) and life ([`outdir`]), and the
//! shards of a sweep ([`shard`]: `--shard I/N`, Slurm arrays) are here too,
//! as is collecting the runs of shards for `harness merge` ([`merge`]).

pub mod cliff;
pub mod lock;
pub mod manifest;
pub mod merge;
pub mod outdir;
pub mod output;
pub mod shard;
pub mod sweep;
pub mod train;
