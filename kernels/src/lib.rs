//! CPU kernels for recurrent neural networks: vanilla RNN (tanh, sigmoid,
//! relu, leaky relu, linear), LSTM and GRU; forward over a sequence and
//! backpropagation through time (full and truncated), in `f32` and `f64`.
//!
//! - [`Rnn`] describes a layer (cell, input and hidden size); [`Rnn::forward`]
//!   and [`Rnn::backward`] are the BLAS-shaped, allocation-free entry points
//!   with caller-provided workspaces, and [`layer`] the owning convenience API.
//! - [`reference`] is a plain scalar implementation kept as the test oracle.
//! - [`clip`], [`regularize`] and [`init`] hold the training utilities.
//!
//! Parameters use PyTorch's layout and gate order (see [`cells`]); sequences
//! are `[T, B, I]`, time-major with batch rows contiguous (see [`sequence`]).

pub mod activation;
pub mod cells;
pub mod clip;
pub mod gemm;
pub mod init;
pub mod layer;
pub mod linalg;
pub mod parallel;
pub mod real;
mod recurrent;
pub mod regularize;
pub mod sequence;
pub mod simd;

pub use activation::Activation;
pub use cells::Cell;
pub use layer::{Grads, Trace, Weights};
pub use parallel::Parallelism;
pub use real::Real;
pub use sequence::{BackwardOpts, BackwardOut, Dims, ForwardOut, Params, ParamsMut, Rnn, Saved, State, Upstream};
