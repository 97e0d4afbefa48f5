//! The network descriptor, its checks, the flat parameter layout and the
//! workspace size queries.

use core::ffi::c_char;

use kernels::{Activation, Cell, Dims, Stack};

use crate::buffers::{self, write_out};
use crate::error::{guard, Error, Result, RnnkStatus};

/// The recurrent cell of a network (the `cell` field of `RnnkDesc`).
///
/// Gate order and parameter shapes follow PyTorch (`torch.nn.RNN` with
/// `nonlinearity`, `LSTM`, `GRU`): `G` gate blocks of `H` rows, `G = 1` for the
/// vanilla RNNs, 4 for the LSTM (`i, f, g, o`), 3 for the GRU (`r, z, n`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RnnkCell {
    /// Vanilla RNN, `h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`.
    RnnTanh = 1,
    /// Vanilla RNN with `max(a, 0)`.
    RnnRelu = 2,
    /// Vanilla RNN with the logistic sigmoid.
    RnnSigmoid = 3,
    /// Vanilla RNN without a non-linearity.
    RnnLinear = 4,
    /// Vanilla RNN with leaky ReLU (`a` for `a > 0`, else `leaky_relu_slope * a`).
    RnnLeakyRelu = 5,
    /// LSTM (has a cell state `c`).
    Lstm = 6,
    /// GRU (reset gate applied after the recurrent product, as PyTorch).
    Gru = 7,
}

/// A network: `num_layers` layers of `cell`, each of one direction or (with
/// `bidirectional`) two, as `torch.nn.RNN`/`LSTM`/`GRU`. Layer 0 reads inputs
/// of `input_size` values, the layers above the previous layer's output of
/// `D * hidden_size` values (`D = 2` when bidirectional, else 1).
///
/// Zero-initialise it and set every field: a zero `cell` is invalid.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RnnkDesc {
    /// One of `RnnkCell`.
    pub cell: i32,
    /// 1 for two directions per layer, 0 for one (anything else is invalid).
    pub bidirectional: i32,
    /// Input size `I >= 1`.
    pub input_size: usize,
    /// Hidden size `H >= 1`.
    pub hidden_size: usize,
    /// Layers `L >= 1`.
    pub num_layers: usize,
    /// The slope of `RNNK_CELL_RNN_LEAKY_RELU` (finite, `>= 0`); ignored for the other cells.
    pub leaky_relu_slope: f64,
}

/// One parameter tensor's place in the flat parameter buffer (and in the flat
/// gradient buffer, which has the same layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RnnkParamTensor {
    /// Offset of its first element from the start of the buffer, in elements.
    pub offset: usize,
    /// Elements, `rows * cols`.
    pub len: usize,
    /// Rows, `G * H` (row-major).
    pub rows: usize,
    /// Columns: the layer's input size (`weight_ih`), `H` (`weight_hh`), or 1
    /// (a bias, which PyTorch shapes `[G * H]`).
    pub cols: usize,
}

/// Most elements (of 8 bytes) any buffer or size in a call may have: what a
/// byte count in `isize` allows.
const MAX_ELEMS: usize = isize::MAX as usize / 8;

/// Checks a descriptor and makes the stack it describes.
///
/// # Safety
/// `desc` is NULL or points to a readable `RnnkDesc`.
pub(crate) unsafe fn read_desc(desc: *const RnnkDesc) -> Result<Stack> {
    if desc.is_null() {
        return Err(Error::null("desc"));
    }
    // SAFETY: non-null, and the caller guarantees it points to an
    // `RnnkDesc`; every bit pattern is a valid `RnnkDesc` (integers and a
    // float), and the unaligned read needs no alignment.
    let d = unsafe { desc.read_unaligned() };
    let cell = match d.cell {
        1 => Cell::Rnn(Activation::Tanh),
        2 => Cell::Rnn(Activation::Relu),
        3 => Cell::Rnn(Activation::Sigmoid),
        4 => Cell::Rnn(Activation::Linear),
        5 => {
            let s = d.leaky_relu_slope;
            if !(s.is_finite() && s >= 0.0) {
                return Err(Error::invalid(format!("`desc->leaky_relu_slope` is {s}, must be finite and >= 0")));
            }
            Cell::Rnn(Activation::LeakyRelu(s))
        }
        6 => Cell::Lstm,
        7 => Cell::Gru,
        c => return Err(Error::invalid(format!("`desc->cell` is {c}, not an RnnkCell (1..=7)"))),
    };
    for (name, v) in [("input_size", d.input_size), ("hidden_size", d.hidden_size), ("num_layers", d.num_layers)] {
        if v == 0 {
            return Err(Error::invalid(format!("`desc->{name}` is 0, must be >= 1")));
        }
    }
    let bidirectional = match d.bidirectional {
        0 => false,
        1 => true,
        b => return Err(Error::invalid(format!("`desc->bidirectional` is {b}, must be 0 or 1"))),
    };
    // The checks above are all `Stack::new`'s (it would panic on a failure).
    let stack = Stack::new(cell, d.input_size, d.hidden_size, d.num_layers, bidirectional);
    check_sizes(&stack, 1, 1)?;
    Ok(stack)
}

/// Checks that every size a call on `T = seq_len`, `B = batch` computes fits
/// (so that no size computation overflows): a generous bound on the
/// parameters, the tape and the scratch is at most `MAX_ELEMS`.
fn check_sizes(stack: &Stack, seq_len: usize, batch: usize) -> Result<()> {
    let (h, g, dirs) = (stack.hidden_size(), stack.cell().gates(), stack.directions());
    let bound = (|| {
        let max_in = stack.input_size().max(dirs.checked_mul(h)?).checked_add(64)?;
        let rows = seq_len.checked_mul(batch)?.checked_add(g.checked_mul(h.checked_add(64)?)?)?.checked_add(64)?;
        rows.checked_mul(max_in)?.checked_mul(g + 4)?.checked_mul(stack.num_layers())?.checked_mul(dirs)?.checked_mul(4)
    })();
    match bound {
        Some(b) if b <= MAX_ELEMS => Ok(()),
        _ => Err(Error::invalid(format!(
            "sizes too large: input_size {}, hidden_size {h}, num_layers {}, seq_len {seq_len}, batch {batch} \
             make buffers of more than {MAX_ELEMS} elements",
            stack.input_size(),
            stack.num_layers()
        ))),
    }
}

/// A checked call shape: the stack, `T`, `B` and the lengths (copied).
pub(crate) struct Shape {
    pub(crate) stack: Stack,
    pub(crate) seq_len: usize,
    pub(crate) batch: usize,
    pub(crate) lengths: Option<Vec<usize>>,
}

impl Shape {
    /// The kernels' `Dims`.
    pub(crate) fn dims(&self) -> Dims<'_> {
        match &self.lengths {
            Some(l) => Dims::with_lengths(self.seq_len, l),
            None => Dims::new(self.seq_len, self.batch),
        }
    }

    /// Elements of one `[L*D, B, H]` state.
    pub(crate) fn state_len(&self) -> usize {
        self.stack.units() * self.batch * self.stack.hidden_size()
    }

    /// Elements of `[T, B, I]`.
    pub(crate) fn input_len(&self) -> usize {
        self.seq_len * self.batch * self.stack.input_size()
    }

    /// Elements of `[T, B, D*H]`.
    pub(crate) fn output_len(&self) -> usize {
        self.seq_len * self.batch * self.stack.output_size()
    }
}

/// Checks a descriptor, `T`, `B` and the lengths (`NULL` or `[B]`, each in `1..=T`).
///
/// # Safety
/// `desc` as `read_desc`; `lengths` is NULL or valid for reading `batch` values.
pub(crate) unsafe fn read_shape(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
) -> Result<Shape> {
    // SAFETY: the caller's guarantee on `desc`.
    let stack = unsafe { read_desc(desc) }?;
    if seq_len == 0 {
        return Err(Error::invalid("`seq_len` is 0, must be >= 1"));
    }
    if batch == 0 {
        return Err(Error::invalid("`batch` is 0, must be >= 1"));
    }
    check_sizes(&stack, seq_len, batch)?;
    let lengths = if lengths.is_null() {
        None
    } else {
        buffers::check_aligned("lengths", lengths)?;
        // SAFETY: non-null and aligned; the caller guarantees `batch` readable
        // values, and `batch * 8` bytes fit in `isize` (checked above).
        let lens = unsafe { core::slice::from_raw_parts(lengths, batch) }.to_vec();
        if let Some((b, &l)) = lens.iter().enumerate().find(|&(_, &l)| l == 0 || l > seq_len) {
            return Err(Error::invalid(format!("`lengths[{b}]` is {l}, must be in 1..=seq_len = {seq_len}")));
        }
        Some(lens)
    };
    Ok(Shape { stack, seq_len, batch, lengths })
}

/// A 0/1 flag argument.
pub(crate) fn flag(name: &str, v: i32) -> Result<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::invalid(format!("`{name}` is {v}, must be 0 or 1"))),
    }
}

/// Every parameter tensor of `stack` in PyTorch's order (the flat layout).
pub(crate) fn tensors(stack: &Stack) -> Vec<RnnkParamTensor> {
    let mut out = Vec::with_capacity(4 * stack.units());
    let mut offset = 0;
    for u in 0..stack.units() {
        let rnn = stack.layer(u / stack.directions());
        let rows = rnn.gate_rows();
        for cols in [rnn.input_size(), rnn.hidden_size(), 1, 1] {
            out.push(RnnkParamTensor { offset, len: rows * cols, rows, cols });
            offset += rows * cols;
        }
    }
    out
}

/// Elements of the zero state a call uses for a NULL `h0`/`c0`, and of the
/// copies it makes of the sequences that are not dense (`strided`).
pub(crate) struct Extras {
    /// A zero `[L*D, B, H]` state (shared by `h0` and `c0`).
    pub(crate) zeros: usize,
    /// A dense copy of `x`.
    pub(crate) x: usize,
    /// A dense staging of `output` (forward) or `d_output` (backward).
    pub(crate) out: usize,
    /// A dense staging of `dx` (backward).
    pub(crate) dx: usize,
}

impl Extras {
    /// All of it, in elements.
    pub(crate) fn total(&self) -> usize {
        self.zeros + self.x + self.out + self.dx
    }
}

/// The scratch beyond the kernels' that the C entry points use.
pub(crate) fn extras(shape: &Shape, backward: bool, strided_x: bool, strided_out: bool, strided_dx: bool) -> Extras {
    Extras {
        zeros: shape.state_len(),
        x: if strided_x { shape.input_len() } else { 0 },
        out: if strided_out { shape.output_len() } else { 0 },
        dx: if backward && strided_dx { shape.input_len() } else { 0 },
    }
}

/// The total number of parameters (elements of the flat parameter buffer and
/// of the flat gradient buffer) of the network `desc` describes.
///
/// # Safety
/// `desc` is NULL or points to an `RnnkDesc`; `count` is NULL or points to a
/// writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rnnk_num_params(desc: *const RnnkDesc, count: *mut usize) -> RnnkStatus {
    guard("rnnk_num_params", || {
        buffers::check_out("count", count)?;
        // SAFETY: the caller's guarantee.
        let stack = unsafe { read_desc(desc) }?;
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { write_out(count, stack.num_params()) };
        Ok(())
    })
}

/// The number of parameter tensors, `4 * L * D`: per layer `k` and direction,
/// `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` (the
/// reverse direction's with the suffix `_reverse`), in this order.
///
/// # Safety
/// As `rnnk_num_params`.
#[no_mangle]
pub unsafe extern "C" fn rnnk_num_param_tensors(desc: *const RnnkDesc, count: *mut usize) -> RnnkStatus {
    guard("rnnk_num_param_tensors", || {
        buffers::check_out("count", count)?;
        // SAFETY: the caller's guarantee.
        let stack = unsafe { read_desc(desc) }?;
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { write_out(count, 4 * stack.units()) };
        Ok(())
    })
}

/// Where tensor `index` (`0 <= index < 4 * L * D`, PyTorch's order, see
/// `rnnk_num_param_tensors`) lies in the flat parameter buffer.
///
/// # Safety
/// `desc` as `rnnk_num_params`; `tensor` is NULL or points to a writable
/// `RnnkParamTensor`.
#[no_mangle]
pub unsafe extern "C" fn rnnk_param_tensor(
    desc: *const RnnkDesc,
    index: usize,
    tensor: *mut RnnkParamTensor,
) -> RnnkStatus {
    guard("rnnk_param_tensor", || {
        buffers::check_out("tensor", tensor)?;
        // SAFETY: the caller's guarantee.
        let stack = unsafe { read_desc(desc) }?;
        let all = tensors(&stack);
        let t = *all.get(index).ok_or_else(|| {
            Error::invalid(format!("`index` is {index}, must be below the number of tensors {}", all.len()))
        })?;
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { write_out(tensor, t) };
        Ok(())
    })
}

/// Writes the offset of every parameter tensor (in elements, PyTorch's
/// order) into `offsets`, which holds `count = 4 * L * D` values.
///
/// # Safety
/// `desc` as `rnnk_num_params`; `offsets` is NULL or valid for writing
/// `count` `size_t` values.
#[no_mangle]
pub unsafe extern "C" fn rnnk_param_offsets(desc: *const RnnkDesc, offsets: *mut usize, count: usize) -> RnnkStatus {
    guard("rnnk_param_offsets", || {
        // SAFETY: the caller's guarantee.
        let stack = unsafe { read_desc(desc) }?;
        if offsets.is_null() {
            return Err(Error::null("offsets"));
        }
        buffers::check_aligned("offsets", offsets)?;
        let all = tensors(&stack);
        if count != all.len() {
            return Err(Error::invalid(format!("`count` is {count}, expected 4*L*D = {}", all.len())));
        }
        // SAFETY: non-null and aligned; the caller guarantees `count` writable
        // values, and `count` is small (4*L*D, bounded by the descriptor check).
        let out = unsafe { core::slice::from_raw_parts_mut(offsets, count) };
        for (o, t) in out.iter_mut().zip(&all) {
            *o = t.offset;
        }
        Ok(())
    })
}

/// PyTorch's name of parameter tensor `index` (e.g. `"weight_hh_l1_reverse"`):
/// copies at most `len - 1` bytes and a terminating NUL into `buf` (nothing
/// when `len` is 0; `buf` may then be NULL) and, when `needed` is not NULL,
/// stores there the buffer size the whole name needs, NUL included.
///
/// # Safety
/// `desc` as `rnnk_num_params`; `buf` is NULL or valid for writing `len`
/// bytes; `needed` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rnnk_param_name(
    desc: *const RnnkDesc,
    index: usize,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> RnnkStatus {
    guard("rnnk_param_name", || {
        // SAFETY: the caller's guarantee.
        let stack = unsafe { read_desc(desc) }?;
        if buf.is_null() && len > 0 {
            return Err(Error::null("buf"));
        }
        let names = stack.param_names();
        let name = names.get(index).ok_or_else(|| {
            Error::invalid(format!("`index` is {index}, must be below the number of tensors {}", names.len()))
        })?;
        if len > 0 {
            let n = name.len().min(len - 1);
            // SAFETY: `buf` is non-null (checked) and valid for `len > n`
            // bytes (the caller's guarantee); the name is ours.
            unsafe {
                core::ptr::copy_nonoverlapping(name.as_ptr(), buf.cast::<u8>(), n);
                buf.add(n).write(0);
            }
        }
        if !needed.is_null() {
            // SAFETY: non-null; the caller guarantees it is writable (any alignment).
            unsafe { write_out(needed, name.len() + 1) };
        }
        Ok(())
    })
}

/// Elements of the training tape a forward with a tape (training) writes and
/// the backward reads, for `T = seq_len` steps of `B = batch` rows.
/// `lengths` (NULL, or `[B]` each in `1..=T`) is checked but does not change
/// the size. The same count serves `float` and `double`.
///
/// # Safety
/// `desc` as `rnnk_num_params`; `lengths` is NULL or valid for reading
/// `batch` values; `len` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rnnk_tape_len(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    len: *mut usize,
) -> RnnkStatus {
    guard("rnnk_tape_len", || {
        buffers::check_out("len", len)?;
        // SAFETY: the caller's guarantees.
        let shape = unsafe { read_shape(desc, seq_len, batch, lengths) }?;
        let n = shape.stack.tape_len(shape.dims());
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { write_out(len, n) };
        Ok(())
    })
}

/// Elements of scratch a forward call needs: with a tape (`training = 1`) or
/// without (`training = 0`, inference). `strided = 1` adds room for dense
/// copies of `x` and `output`, which the call makes when either is not dense
/// time-major (time stride `B * I` or `B * D * H`, batch stride `I` or
/// `D * H`); `strided = 0` is enough for dense buffers. The count includes a
/// zero state for NULL `h0`/`c0` and serves `float` and `double`.
///
/// # Safety
/// As `rnnk_tape_len`.
#[no_mangle]
pub unsafe extern "C" fn rnnk_forward_scratch_len(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    training: i32,
    strided: i32,
    len: *mut usize,
) -> RnnkStatus {
    guard("rnnk_forward_scratch_len", || {
        buffers::check_out("len", len)?;
        // SAFETY: the caller's guarantees.
        let shape = unsafe { read_shape(desc, seq_len, batch, lengths) }?;
        let (training, strided) = (flag("training", training)?, flag("strided", strided)?);
        let n = extras(&shape, false, strided, strided, false).total()
            + shape.stack.forward_scratch_len(shape.dims(), training);
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { write_out(len, n) };
        Ok(())
    })
}

/// Elements of scratch a backward call needs. `strided = 1` adds room for
/// dense copies of `x`, `d_output` and `dx`, which the call makes for those
/// that are not dense time-major; `strided = 0` is enough for dense buffers.
/// The count includes a zero state for NULL `h0`/`c0` and serves `float` and
/// `double`.
///
/// # Safety
/// As `rnnk_tape_len`.
#[no_mangle]
pub unsafe extern "C" fn rnnk_backward_scratch_len(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    strided: i32,
    len: *mut usize,
) -> RnnkStatus {
    guard("rnnk_backward_scratch_len", || {
        buffers::check_out("len", len)?;
        // SAFETY: the caller's guarantees.
        let shape = unsafe { read_shape(desc, seq_len, batch, lengths) }?;
        let strided = flag("strided", strided)?;
        let n =
            extras(&shape, true, strided, strided, strided).total() + shape.stack.backward_scratch_len(shape.dims());
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { write_out(len, n) };
        Ok(())
    })
}
