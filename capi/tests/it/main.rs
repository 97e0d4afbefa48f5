//! The C API's tests, one crate (one test binary), calling the `extern "C"`
//! functions from Rust: each module is one concern.

mod common;
mod equivalence;
mod errors;
mod layout;
