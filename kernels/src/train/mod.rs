//! Training utilities around the layer kernels (crate feature `train`, on by
//! default): seeded initialisers, the spectral radius and norm, gradient
//! clipping, L1/L2 penalties and Pascanu et al.'s regularizer Ω.
//!
//! An engine that links the kernels for their forward and backward passes only
//! can leave them out: `default-features = false` drops this module and its
//! dependency on `rand_chacha`.

pub mod clip;
pub mod init;
pub mod linalg;
pub mod omega;
pub mod regularize;
