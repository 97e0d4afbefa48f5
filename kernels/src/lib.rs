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
//!
//! ```
//! use kernels::{BackwardOpts, Cell, Dims, Parallelism, Rnn, Upstream, Weights};
//!
//! let rnn = Rnn::new(Cell::Lstm, 8, 32); // input size 8, hidden size 32
//! let dims = Dims::new(100, 16); // T = 100 steps, batch 16
//! let weights = Weights::<f32>::zeros(&rnn); // or fill with kernels::init
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

pub mod activation;
pub mod cells;
pub mod clip;
pub mod gemm;
pub mod init;
pub mod layer;
pub mod linalg;
pub mod omega;
pub mod parallel;
pub mod real;
mod recurrent;
pub mod reference;
pub mod regularize;
pub mod sequence;
pub mod simd;

pub use activation::Activation;
pub use cells::Cell;
pub use layer::{Grads, Trace, Weights};
pub use parallel::Parallelism;
pub use real::Real;
pub use sequence::{BackwardOpts, BackwardOut, Dims, ForwardOut, Params, ParamsMut, Rnn, Saved, State, Upstream};
