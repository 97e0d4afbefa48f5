//! C ABI of the `kernels` crate: stacked, bidirectional, variable-length
//! vanilla RNN, LSTM and GRU, forward and backpropagation through time, in
//! `float` and `double`, over caller-allocated buffers.
//!
//! The header `include/rnn_kernels.h` is generated from this crate by
//! cbindgen (`cbindgen.toml`); `README.md` describes the API for C callers.
//!
//! - [`RnnkDesc`] describes a network (cell, sizes, layers, directions);
//! - the parameters (and their gradients) are one flat buffer in PyTorch's
//!   order, laid out by [`rnnk_num_params`], [`rnnk_param_tensor`],
//!   [`rnnk_param_offsets`] and [`rnnk_param_name`];
//! - [`rnnk_tape_len`], [`rnnk_forward_scratch_len`] and
//!   [`rnnk_backward_scratch_len`] size the workspaces;
//! - [`rnnk_forward_f32`], [`rnnk_forward_f64`], [`rnnk_backward_f32`] and
//!   [`rnnk_backward_f64`] run the network;
//! - every call returns an [`RnnkStatus`]; [`rnnk_last_error`] holds the
//!   calling thread's last message.
//!
//! Every entry point checks all of its arguments before it writes anything,
//! and no panic crosses the boundary: each body runs under `catch_unwind`.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod buffers;
mod calls;
mod desc;
mod error;
mod version;

pub use calls::{rnnk_backward_f32, rnnk_backward_f64, rnnk_forward_f32, rnnk_forward_f64};
pub use desc::{
    rnnk_backward_scratch_len, rnnk_forward_scratch_len, rnnk_num_param_tensors, rnnk_num_params, rnnk_param_name,
    rnnk_param_offsets, rnnk_param_tensor, rnnk_tape_len, RnnkCell, RnnkDesc, RnnkParamTensor,
};
pub use error::{rnnk_last_error, rnnk_status_name, RnnkStatus};
pub use version::{
    rnnk_version, rnnk_version_major, rnnk_version_minor, rnnk_version_patch, RNNK_VERSION_MAJOR, RNNK_VERSION_MINOR,
    RNNK_VERSION_PATCH,
};

/// Hooks for this crate's tests; not part of the C API.
#[doc(hidden)]
pub mod testing {
    use crate::error::{Error, RnnkStatus};

    /// Runs `f` as an entry point's body: `Err(message)` becomes an
    /// invalid-argument status, a panic an internal error.
    pub fn guarded(call: &'static str, f: impl FnOnce() -> Result<(), String>) -> RnnkStatus {
        crate::error::guard(call, || f().map_err(Error::invalid))
    }
}
