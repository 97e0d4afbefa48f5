//! CPU kernels for recurrent neural networks: vanilla RNN (tanh, sigmoid,
//! relu, leaky relu, linear), LSTM and GRU; forward over a sequence and
//! backpropagation through time (full and truncated), in `f32` and `f64`.
//!
//! - [`Rnn`] describes a layer (cell, input and hidden size); [`Rnn::forward`]
//!   and [`Rnn::backward`] are the BLAS-shaped, allocation-free entry points
//!   with caller-provided workspaces (sizes from [`Rnn::tape_len`],
//!   [`Rnn::forward_scratch_len`], [`Rnn::backward_scratch_len`]), and
//!   [`Weights`] with [`Rnn::forward_train`] / [`Rnn::backward_trace`] the
//!   owning convenience API.
//! - [`Parallelism`] is passed per call; results are bitwise identical for
//!   every thread count. [`simd`] says which instruction set runs and lets a
//!   caller force one.
//! - [`mod@reference`] is a plain scalar implementation kept as the test oracle.
//! - [`train`] (crate feature `train`, on by default) holds the training
//!   utilities: initialisers, clipping, penalties, Pascanu et al.'s Ω.
//!
//! Parameters use PyTorch's layout and gate order (see [`Cell`]); sequences
//! are `[T, B, I]`, time-major with batch rows contiguous (see [`Rnn`]).
//!
//! ```
//! use kernels::{BackwardOpts, Cell, Dims, Parallelism, Rnn, Upstream, Weights};
//!
//! let rnn = Rnn::new(Cell::Lstm, 8, 32); // input size 8, hidden size 32
//! let dims = Dims::new(100, 16); // T = 100 steps, batch 16
//! let weights = Weights::<f32>::zeros(&rnn); // or fill with kernels::train::init
//! let x = vec![0.0f32; 100 * 16 * 8];
//! let trace = rnn.forward_train(&weights, dims, &x, None, None, Parallelism::Sequential);
//! let dh_n = vec![1.0f32; 16 * 32]; // dL/dh_T: a loss on the last step only
//! let grads = rnn.backward_trace(
//!     &weights,
//!     trace,
//!     Upstream { dh_n: Some(&dh_n), ..Default::default() },
//!     BackwardOpts { accumulate: false, truncate: None },
//!     Parallelism::Sequential,
//! );
//! assert_eq!(grads.weights.w_hh.len(), 4 * 32 * 32);
//! assert_eq!(grads.step_norms.len(), 100);
//! ```
//!
//! # Architecture
//! Modules import only from the floors below their own (no circles):
//!
//! ```text
//! 6  reference (the scalar oracle)            train (initialisers, clipping, Ω)
//! 5  sequence (Rnn: checks, the f32/f64 entry points)   layer (owning API)
//! 4  engine (plan, forward and backward time loops)
//! 3  cells (per-vector epilogues of rnn, lstm, gru)
//! 2  activation    gemm (matrixmultiply, row-split threads)    parallel (teams)
//! 1  simd (Elem, levels, vector math, packed panels and the one tile walk)
//! 0  real (the scalar trait)    shared (buffers shared by a team)
//! ```
//!
//! The generic public entry points only check their arguments and call a
//! non-generic `f32` or `f64` function, so the kernels are compiled once, in
//! this crate, whatever crate calls them.

#![deny(missing_docs)]

mod activation;
mod cells;
mod engine;
mod gemm;
#[doc(hidden)]
pub mod internals;
mod layer;
mod packed;
mod parallel;
mod real;
pub mod reference;
mod sequence;
mod shared;
pub mod simd;
mod stack;
#[cfg(feature = "train")]
pub mod train;

pub use activation::Activation;
pub use cells::Cell;
pub use layer::{Grads, Output, Trace, Weights};
pub use packed::{PackedWeights, StepOut};
pub use parallel::Parallelism;
pub use real::Real;
pub use sequence::{
    BackwardOpts, BackwardOut, Dims, ForwardOut, Params, ParamsMut, Rnn, Saved, ShapeError, State, Upstream,
};
pub use stack::{Stack, StackBackwardOut, StackGrads, StackOut, StackOutput, StackSaved, StackTrace, StackUpstream};
