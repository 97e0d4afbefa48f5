//! The harness's integration tests, one test crate (one link, one binary):
//! [`cli`] runs the harness binary end to end, [`sharding`] its `plan`,
//! `--shard` and `merge`, [`tasks`] checks the task
//! generators against their definitions, [`layers`] checks the source's
//! import layering; [`support`] holds the helpers they share.

mod claims;
mod cli;
mod faults;
mod layers;
mod sharding;
mod spec_fuzz;
mod support;
mod tasks;
