//! Reporting a finished sweep: the per-configuration [`summary`], the figures
//! ([`plot`]), the claims ([`claims`]), the one-unit cliff's figures and
//! claims ([`cliff`]), and the statistics they share ([`stats`]). Imports
//! `spec`, `nn` (a cell's derivative bound) and `run` (the records and
//! per-run files it reads back). Statistical tests for claims belong here,
//! beside `stats` and `claims`.

pub mod claims;
pub mod cliff;
pub mod plot;
pub mod stats;
pub mod summary;
