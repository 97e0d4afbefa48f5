//! The kernels' integration tests, one crate (one build of the test binary):
//! each module is one concern.

mod common;
mod driver;
mod gemm;
mod gradcheck;
mod gradient_flow;
mod internals;
mod omega;
mod packed;
mod reference;
mod shapes;
mod simd_math;
mod simd_products;
mod simd_sequence;
mod stack;
mod threads_determinism;
mod torch_fixture;
mod utils;
mod varlen;
