//! The forward and backward entry points: every argument is checked (here and
//! by `Stack::check_forward` / `Stack::check_backward`) before anything is
//! written; sequences that are not dense time-major go through the scratch.

use core::slice;

use kernels::{BackwardOpts, Parallelism, Real, Stack, StackBackwardOut, StackOut, StackSaved, StackUpstream, State};

use crate::buffers::{buffer, Regions, Seq};
use crate::desc::{extras, flag, read_shape, RnnkDesc};
use crate::error::{guard, Error, Result, RnnkStatus};

/// `threads` as the kernels' parallelism: 1 is the calling thread, 0 all the
/// threads of rayon's global pool, `n` that many parts on it.
fn parallelism(threads: usize) -> Parallelism {
    if threads == 1 {
        Parallelism::Sequential
    } else {
        Parallelism::Rayon(threads)
    }
}

/// The flat parameter (or gradient) buffer's length must be the network's.
fn check_params_len(name: &str, len: usize, stack: &Stack) -> Result<()> {
    if len == stack.num_params() {
        Ok(())
    } else {
        Err(Error::invalid(format!("`{name}` is {len}, expected rnnk_num_params = {}", stack.num_params())))
    }
}

/// A cell-state argument (`c0`, `c_n`, `dc_n`, `dc0`) is only for the LSTM.
fn check_lstm_only<T>(name: &str, p: Option<*const T>, stack: &Stack) -> Result<()> {
    if p.is_some() && !stack.cell().has_cell_state() {
        return Err(Error::invalid(format!("`{name}` must be NULL: only the LSTM has a cell state")));
    }
    Ok(())
}

/// The scratch must hold `need` elements.
fn check_scratch(len: usize, need: usize, query: &str) -> Result<()> {
    if len >= need {
        Ok(())
    } else {
        Err(Error::invalid(format!("`scratch_len` is {len}, needs at least {need} (see {query})")))
    }
}

/// A dense optional buffer as a slice of `len`.
///
/// # Safety
/// The pointer (checked non-null and aligned by `buffer`) is valid for
/// reading `len` elements, which nothing writes while the slice lives.
unsafe fn view<'a, T>(p: Option<*const T>, len: usize) -> Option<&'a [T]> {
    // SAFETY: the caller's guarantee.
    p.map(|p| unsafe { slice::from_raw_parts(p, len) })
}

/// A dense optional buffer as a mutable slice of `len`.
///
/// # Safety
/// As `view`, writable, and shared with no other buffer of the call.
unsafe fn view_mut<'a, T>(p: Option<*const T>, len: usize) -> Option<&'a mut [T]> {
    // SAFETY: the caller's guarantee.
    p.map(|p| unsafe { slice::from_raw_parts_mut(p.cast_mut(), len) })
}

/// The arguments of `rnnk_forward_*`.
struct ForwardArgs<T> {
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    params: *const T,
    params_len: usize,
    x: *const T,
    x_time_stride: usize,
    x_batch_stride: usize,
    h0: *const T,
    c0: *const T,
    output: *mut T,
    output_time_stride: usize,
    output_batch_stride: usize,
    h_n: *mut T,
    c_n: *mut T,
    tape: *mut T,
    tape_len: usize,
    scratch: *mut T,
    scratch_len: usize,
    threads: usize,
}

/// The body of `rnnk_forward_*`.
///
/// # Safety
/// The entry point's contract (see `rnnk_forward_f64`).
unsafe fn forward<T: Real>(a: ForwardArgs<T>) -> Result<()> {
    // SAFETY: the caller's guarantees on `desc` and `lengths`.
    let shape = unsafe { read_shape(a.desc, a.seq_len, a.batch, a.lengths) }?;
    let (stack, dims) = (shape.stack, shape.dims());
    let (t, b, states) = (shape.seq_len, shape.batch, shape.state_len());
    let lstm = stack.cell().has_cell_state();

    let params = buffer("params", a.params, true)?;
    check_params_len("params_len", a.params_len, &stack)?;
    let x = Seq::new("x", a.x, t, b, stack.input_size(), a.x_time_stride, a.x_batch_stride, true)?
        .ok_or_else(|| Error::null("x"))?;
    let output = Seq::new(
        "output",
        a.output.cast_const(),
        t,
        b,
        stack.output_size(),
        a.output_time_stride,
        a.output_batch_stride,
        true,
    )?
    .ok_or_else(|| Error::null("output"))?;
    output.check_disjoint_rows()?;
    let h0 = buffer("h0", a.h0, false)?;
    let c0 = buffer("c0", a.c0, false)?;
    let h_n = buffer("h_n", a.h_n.cast_const(), false)?;
    let c_n = buffer("c_n", a.c_n.cast_const(), false)?;
    check_lstm_only("c0", c0, &stack)?;
    check_lstm_only("c_n", c_n, &stack)?;
    let tape = buffer("tape", a.tape.cast_const(), false)?;
    let tape_len = stack.tape_len(dims);
    match tape {
        None if a.tape_len != 0 => {
            return Err(Error::invalid(format!("`tape` is NULL (inference) but `tape_len` is {}, not 0", a.tape_len)));
        }
        Some(_) if a.tape_len != tape_len => {
            return Err(Error::invalid(format!("`tape_len` is {}, expected rnnk_tape_len = {tape_len}", a.tape_len)));
        }
        _ => {}
    }
    let scratch = buffer("scratch", a.scratch.cast_const(), true)?;
    let ex = extras(&shape, false, !x.dense(), !output.dense(), false);
    let need = ex.total() + stack.forward_scratch_len(dims, tape.is_some());
    check_scratch(a.scratch_len, need, "rnnk_forward_scratch_len")?;

    let mut regions = Regions::default();
    regions.add("params", params, a.params_len, false);
    regions.add_seq(Some(&x), false);
    regions.add("h0", h0, states, false);
    regions.add("c0", c0, states, false);
    regions.add_seq(Some(&output), true);
    regions.add("h_n", h_n, states, true);
    regions.add("c_n", c_n, states, true);
    regions.add("tape", tape, tape_len, true);
    regions.add("scratch", scratch, need, true);
    regions.check()?;

    // SAFETY: (this and every view below) each pointer is non-null where
    // used and aligned (checked), the caller guarantees it valid for the
    // elements its shape gives (the ones the views span), and no buffer the
    // call writes shares memory with any other (checked just above).
    let params = unsafe { slice::from_raw_parts(params.expect("required"), a.params_len) };
    let params = stack.split_params(params);
    // SAFETY: as above.
    let (h0, c0) = unsafe { (view(h0, states), view(c0, states)) };
    // SAFETY: as above.
    let (mut h_n, mut c_n) = unsafe { (view_mut(h_n, states), view_mut(c_n, states)) };
    // SAFETY: as above.
    let mut tape = unsafe { view_mut(tape, tape_len) };
    // SAFETY: as above.
    let scratch = unsafe { view_mut(scratch, need) }.expect("required");
    let (zeros, rest) = scratch.split_at_mut(ex.zeros);
    let (x_copy, rest) = rest.split_at_mut(ex.x);
    let (out_stage, kernel_scratch) = rest.split_at_mut(ex.out);
    // SAFETY: as above; dense when viewed.
    let x_dense = x.dense().then(|| unsafe { x.as_slice() });
    // SAFETY: as above; dense when viewed.
    let mut out_dense = output.dense().then(|| unsafe { output.as_mut_slice() });

    // The kernels' own checks, before anything is written.
    {
        let init = State { h: h0.unwrap_or(&*zeros), c: lstm.then(|| c0.unwrap_or(&*zeros)) };
        let out = StackOut {
            output: out_dense.as_deref_mut().unwrap_or(&mut *out_stage),
            h_n: h_n.as_deref_mut(),
            c_n: c_n.as_deref_mut(),
            tape: tape.as_deref_mut(),
        };
        stack.check_forward(&params, dims, x_dense.unwrap_or(&*x_copy), &init, &out, kernel_scratch)?;
    }

    zeros.fill(T::ZERO);
    if x_dense.is_none() {
        // SAFETY: `x` is readable (the caller's guarantee) and disjoint from the scratch (checked).
        unsafe { x.gather(x_copy) };
    }
    let init = State { h: h0.unwrap_or(&*zeros), c: lstm.then(|| c0.unwrap_or(&*zeros)) };
    let out = StackOut { output: out_dense.as_deref_mut().unwrap_or(&mut *out_stage), h_n, c_n, tape };
    stack.forward(&params, dims, x_dense.unwrap_or(&*x_copy), init, out, kernel_scratch, parallelism(a.threads));
    if out_dense.is_none() {
        // SAFETY: `output` is writable (the caller's guarantee), its rows are
        // disjoint and it overlaps no other buffer (checked).
        unsafe { output.scatter(out_stage) };
    }
    Ok(())
}

/// The arguments of `rnnk_backward_*`.
struct BackwardArgs<T> {
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    params: *const T,
    params_len: usize,
    x: *const T,
    x_time_stride: usize,
    x_batch_stride: usize,
    h0: *const T,
    c0: *const T,
    tape: *mut T,
    tape_len: usize,
    d_output: *const T,
    d_output_time_stride: usize,
    d_output_batch_stride: usize,
    dh_n: *const T,
    dc_n: *const T,
    grads: *mut T,
    dx: *mut T,
    dx_time_stride: usize,
    dx_batch_stride: usize,
    dh0: *mut T,
    dc0: *mut T,
    step_norms: *mut T,
    accumulate: i32,
    truncate: usize,
    scratch: *mut T,
    scratch_len: usize,
    threads: usize,
}

/// The body of `rnnk_backward_*`.
///
/// # Safety
/// The entry point's contract (see `rnnk_backward_f64`).
unsafe fn backward<T: Real>(a: BackwardArgs<T>) -> Result<()> {
    // SAFETY: the caller's guarantees on `desc` and `lengths`.
    let shape = unsafe { read_shape(a.desc, a.seq_len, a.batch, a.lengths) }?;
    let (stack, dims) = (shape.stack, shape.dims());
    let (t, b, states) = (shape.seq_len, shape.batch, shape.state_len());
    let (i, dh) = (stack.input_size(), stack.output_size());
    let lstm = stack.cell().has_cell_state();

    let params = buffer("params", a.params, true)?;
    check_params_len("params_len", a.params_len, &stack)?;
    let x = Seq::new("x", a.x, t, b, i, a.x_time_stride, a.x_batch_stride, true)?.ok_or_else(|| Error::null("x"))?;
    let h0 = buffer("h0", a.h0, false)?;
    let c0 = buffer("c0", a.c0, false)?;
    check_lstm_only("c0", c0, &stack)?;
    let tape = buffer("tape", a.tape.cast_const(), true)?;
    let tape_len = stack.tape_len(dims);
    if a.tape_len != tape_len {
        return Err(Error::invalid(format!("`tape_len` is {}, expected rnnk_tape_len = {tape_len}", a.tape_len)));
    }
    let d_output = Seq::new("d_output", a.d_output, t, b, dh, a.d_output_time_stride, a.d_output_batch_stride, false)?;
    let dh_n = buffer("dh_n", a.dh_n, false)?;
    let dc_n = buffer("dc_n", a.dc_n, false)?;
    check_lstm_only("dc_n", dc_n, &stack)?;
    let grads = buffer("grads", a.grads.cast_const(), false)?;
    let dx = Seq::new("dx", a.dx.cast_const(), t, b, i, a.dx_time_stride, a.dx_batch_stride, false)?;
    if let Some(dx) = &dx {
        dx.check_disjoint_rows()?;
    }
    let dh0 = buffer("dh0", a.dh0.cast_const(), false)?;
    let dc0 = buffer("dc0", a.dc0.cast_const(), false)?;
    check_lstm_only("dc0", dc0, &stack)?;
    let step_norms = buffer("step_norms", a.step_norms.cast_const(), false)?;
    let norms_len = stack.units() * t;
    let accumulate = flag("accumulate", a.accumulate)?;
    let opts = BackwardOpts { accumulate, truncate: (a.truncate > 0).then_some(a.truncate) };
    let scratch = buffer("scratch", a.scratch.cast_const(), true)?;
    let strided_out = d_output.as_ref().is_some_and(|d| !d.dense());
    let strided_dx = dx.as_ref().is_some_and(|d| !d.dense());
    let ex = extras(&shape, true, !x.dense(), strided_out, strided_dx);
    let need = ex.total() + stack.backward_scratch_len(dims);
    check_scratch(a.scratch_len, need, "rnnk_backward_scratch_len")?;

    let mut regions = Regions::default();
    regions.add("params", params, a.params_len, false);
    regions.add_seq(Some(&x), false);
    regions.add("h0", h0, states, false);
    regions.add("c0", c0, states, false);
    regions.add("tape", tape, tape_len, true);
    regions.add_seq(d_output.as_ref(), false);
    regions.add("dh_n", dh_n, states, false);
    regions.add("dc_n", dc_n, states, false);
    regions.add("grads", grads, a.params_len, true);
    regions.add_seq(dx.as_ref(), true);
    regions.add("dh0", dh0, states, true);
    regions.add("dc0", dc0, states, true);
    regions.add("step_norms", step_norms, norms_len, true);
    regions.add("scratch", scratch, need, true);
    regions.check()?;

    // SAFETY: (this and every view below) each pointer is non-null where
    // used and aligned (checked), the caller guarantees it valid for the
    // elements its shape gives (the ones the views span), and no buffer the
    // call writes shares memory with any other (checked just above).
    let params = unsafe { slice::from_raw_parts(params.expect("required"), a.params_len) };
    let params = stack.split_params(params);
    // SAFETY: as above.
    let (h0, c0, dh_n, dc_n) = unsafe { (view(h0, states), view(c0, states), view(dh_n, states), view(dc_n, states)) };
    // SAFETY: as above.
    let tape = unsafe { view_mut(tape, tape_len) }.expect("required");
    // SAFETY: as above.
    let mut grads = unsafe { view_mut(grads, a.params_len) };
    // SAFETY: as above.
    let (mut dh0, mut dc0) = unsafe { (view_mut(dh0, states), view_mut(dc0, states)) };
    // SAFETY: as above.
    let mut step_norms = unsafe { view_mut(step_norms, norms_len) };
    // SAFETY: as above.
    let scratch = unsafe { view_mut(scratch, need) }.expect("required");
    let (zeros, rest) = scratch.split_at_mut(ex.zeros);
    let (x_copy, rest) = rest.split_at_mut(ex.x);
    let (d_out_copy, rest) = rest.split_at_mut(ex.out);
    let (dx_stage, kernel_scratch) = rest.split_at_mut(ex.dx);
    // SAFETY: as above; dense when viewed.
    let x_dense = x.dense().then(|| unsafe { x.as_slice() });
    // SAFETY: as above; dense when viewed.
    let d_out_dense = d_output.as_ref().filter(|d| d.dense()).map(|d| unsafe { d.as_slice() });
    // SAFETY: as above; dense when viewed.
    let mut dx_dense = dx.as_ref().filter(|d| d.dense()).map(|d| unsafe { d.as_mut_slice() });

    // The kernels' own checks, before anything is written (the tape only
    // keeps `saved`'s borrow for the call).
    {
        let saved = StackSaved {
            x: x_dense.unwrap_or(&*x_copy),
            init: State { h: h0.unwrap_or(&*zeros), c: lstm.then(|| c0.unwrap_or(&*zeros)) },
            tape: &mut *tape,
        };
        let upstream =
            StackUpstream { d_output: d_output.as_ref().map(|_| d_out_dense.unwrap_or(&*d_out_copy)), dh_n, dc_n };
        // Views with this block's lifetime (`ParamsMut` ties every output's).
        let mut views = grads.as_deref_mut().map(|g| stack.split_params_mut(g));
        let out = StackBackwardOut {
            grads: views.as_deref_mut(),
            dx: if dx.is_some() { Some(dx_dense.as_deref_mut().unwrap_or(&mut *dx_stage)) } else { None },
            dh0: dh0.as_deref_mut(),
            dc0: dc0.as_deref_mut(),
            step_norms: step_norms.as_deref_mut(),
        };
        stack.check_backward(&params, dims, &saved, &upstream, &out, &opts, kernel_scratch)?;
    }

    zeros.fill(T::ZERO);
    if x_dense.is_none() {
        // SAFETY: `x` is readable (the caller's guarantee) and disjoint from the scratch (checked).
        unsafe { x.gather(x_copy) };
    }
    if let Some(d) = d_output.as_ref().filter(|d| !d.dense()) {
        // SAFETY: as for `x`.
        unsafe { d.gather(d_out_copy) };
    }
    let saved = StackSaved {
        x: x_dense.unwrap_or(&*x_copy),
        init: State { h: h0.unwrap_or(&*zeros), c: lstm.then(|| c0.unwrap_or(&*zeros)) },
        tape,
    };
    let upstream =
        StackUpstream { d_output: d_output.as_ref().map(|_| d_out_dense.unwrap_or(&*d_out_copy)), dh_n, dc_n };
    let mut views = grads.map(|g| stack.split_params_mut(g));
    let out = StackBackwardOut {
        grads: views.as_deref_mut(),
        dx: if dx.is_some() { Some(dx_dense.unwrap_or(&mut *dx_stage)) } else { None },
        dh0,
        dc0,
        step_norms,
    };
    stack.backward(&params, dims, saved, upstream, out, opts, kernel_scratch, parallelism(a.threads));
    if let Some(dx) = dx.as_ref().filter(|d| !d.dense()) {
        // SAFETY: `dx` is writable (the caller's guarantee), its rows are
        // disjoint and it overlaps no other buffer (checked).
        unsafe { dx.scatter(dx_stage) };
    }
    Ok(())
}

/// `rnnk_forward_f64` in `float` (flushing denormals to zero on the
/// threads it runs on, for the call's duration).
///
/// # Safety
/// As `rnnk_forward_f64`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn rnnk_forward_f32(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    params: *const f32,
    params_len: usize,
    x: *const f32,
    x_time_stride: usize,
    x_batch_stride: usize,
    h0: *const f32,
    c0: *const f32,
    output: *mut f32,
    output_time_stride: usize,
    output_batch_stride: usize,
    h_n: *mut f32,
    c_n: *mut f32,
    tape: *mut f32,
    tape_len: usize,
    scratch: *mut f32,
    scratch_len: usize,
    threads: usize,
) -> RnnkStatus {
    let args = ForwardArgs {
        desc,
        seq_len,
        batch,
        lengths,
        params,
        params_len,
        x,
        x_time_stride,
        x_batch_stride,
        h0,
        c0,
        output,
        output_time_stride,
        output_batch_stride,
        h_n,
        c_n,
        tape,
        tape_len,
        scratch,
        scratch_len,
        threads,
    };
    // SAFETY: the caller's guarantees are the body's contract.
    guard("rnnk_forward_f32", || unsafe { forward(args) })
}

/// Runs the network forward over a batch of sequences, in `double`.
///
/// Shapes (`L` layers, `D` directions, `I` input size, `H` hidden size,
/// `T = seq_len`, `B = batch`; every buffer row-major):
/// - `lengths`: NULL (every row `T` steps) or `[B]`, each in `1..=T`, any
///   order: row `b` is a sequence of `lengths[b]` steps padded to `T`
///   (PyTorch's `pack_padded_sequence`). Padded steps produce zero output;
///   `h_n`/`c_n` hold each row's state at its own last step.
/// - `params`: the flat parameter buffer of `params_len = rnnk_num_params`
///   elements, PyTorch's order and shapes (see `rnnk_param_tensor`).
/// - `x`: `[T, B, I]`, element `(t, b, i)` at
///   `x[t * x_time_stride + b * x_batch_stride + i]` (dense time-major:
///   strides `B * I` and `I`; batch-first: `I` and `T * I`).
/// - `h0`, `c0`: `[L * D, B, H]` (index `layer * D + direction`), NULL for
///   zeros; `c0` only for the LSTM (NULL otherwise).
/// - `output`: `[T, B, D * H]` with its own two strides (the forward
///   direction's `H` values first); no two of its elements may share an address.
/// - `h_n`, `c_n`: `[L * D, B, H]`, NULL when not wanted; `c_n` only for the LSTM.
/// - `tape`: NULL for inference (`tape_len` 0), or `tape_len = rnnk_tape_len`
///   elements the training forward fills for the backward.
/// - `scratch`: at least `rnnk_forward_scratch_len` elements (`training` as
///   `tape` says; `strided = 1` unless `x` and `output` are dense
///   time-major); its contents are ignored and overwritten.
/// - `threads`: 1 runs on the calling thread, `n > 1` splits the work into
///   `n` parts on rayon's global pool, 0 into as many as the pool has
///   threads; the results are bitwise identical for every value.
///
/// Every argument is checked before anything is written: on an error the
/// call returns its status, sets `rnnk_last_error` and touches no buffer. No
/// buffer the call writes may share memory with another buffer of the call
/// (checked).
///
/// # Safety
/// Every non-NULL pointer is valid for the elements its shape and strides
/// address (reads, and writes for `output`, `h_n`, `c_n`, `tape`, `scratch`),
/// and no other thread writes them during the call. `desc` and `lengths` as
/// in `rnnk_tape_len`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn rnnk_forward_f64(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    params: *const f64,
    params_len: usize,
    x: *const f64,
    x_time_stride: usize,
    x_batch_stride: usize,
    h0: *const f64,
    c0: *const f64,
    output: *mut f64,
    output_time_stride: usize,
    output_batch_stride: usize,
    h_n: *mut f64,
    c_n: *mut f64,
    tape: *mut f64,
    tape_len: usize,
    scratch: *mut f64,
    scratch_len: usize,
    threads: usize,
) -> RnnkStatus {
    let args = ForwardArgs {
        desc,
        seq_len,
        batch,
        lengths,
        params,
        params_len,
        x,
        x_time_stride,
        x_batch_stride,
        h0,
        c0,
        output,
        output_time_stride,
        output_batch_stride,
        h_n,
        c_n,
        tape,
        tape_len,
        scratch,
        scratch_len,
        threads,
    };
    // SAFETY: the caller's guarantees are the body's contract.
    guard("rnnk_forward_f64", || unsafe { forward(args) })
}

/// `rnnk_backward_f64` in `float` (flushing denormals to zero on the
/// threads it runs on, for the call's duration).
///
/// # Safety
/// As `rnnk_backward_f64`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn rnnk_backward_f32(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    params: *const f32,
    params_len: usize,
    x: *const f32,
    x_time_stride: usize,
    x_batch_stride: usize,
    h0: *const f32,
    c0: *const f32,
    tape: *mut f32,
    tape_len: usize,
    d_output: *const f32,
    d_output_time_stride: usize,
    d_output_batch_stride: usize,
    dh_n: *const f32,
    dc_n: *const f32,
    grads: *mut f32,
    dx: *mut f32,
    dx_time_stride: usize,
    dx_batch_stride: usize,
    dh0: *mut f32,
    dc0: *mut f32,
    step_norms: *mut f32,
    accumulate: i32,
    truncate: usize,
    scratch: *mut f32,
    scratch_len: usize,
    threads: usize,
) -> RnnkStatus {
    let args = BackwardArgs {
        desc,
        seq_len,
        batch,
        lengths,
        params,
        params_len,
        x,
        x_time_stride,
        x_batch_stride,
        h0,
        c0,
        tape,
        tape_len,
        d_output,
        d_output_time_stride,
        d_output_batch_stride,
        dh_n,
        dc_n,
        grads,
        dx,
        dx_time_stride,
        dx_batch_stride,
        dh0,
        dc0,
        step_norms,
        accumulate,
        truncate,
        scratch,
        scratch_len,
        threads,
    };
    // SAFETY: the caller's guarantees are the body's contract.
    guard("rnnk_backward_f32", || unsafe { backward(args) })
}

/// Backpropagation through time, in `double`, over the tape of a training
/// `rnnk_forward_f64` with the same `desc`, `seq_len`, `batch`, `lengths`,
/// `params`, `x`, `h0` and `c0` (`x` may have other strides). The tape is
/// overwritten: one backward per training forward.
///
/// Upstream gradients, each NULL for zero: `d_output` (`[T, B, D * H]` with
/// its own two strides; padded steps are ignored), `dh_n`, `dc_n`
/// (`[L * D, B, H]`; `dc_n` only for the LSTM).
///
/// Outputs, each NULL when not wanted:
/// - `grads`: the flat gradient buffer, `params_len` elements in the
///   parameters' layout; overwritten, or added to with `accumulate = 1`;
/// - `dx`: `[T, B, I]` with its own two strides (zero at padded steps);
/// - `dh0`, `dc0`: `[L * D, B, H]` (`dc0` only for the LSTM);
/// - `step_norms`: `[L * D, T]`, the norm over the batch of the gradient
///   reaching each (layer, direction)'s state at each step (a reverse
///   direction's step `t` is `t` steps back from each row's end).
///
/// `accumulate` is 0 or 1; `truncate` is 0 for full BPTT, else the length of
/// the blocks of truncated BPTT (counted from the end of the sequence). The
/// scratch holds at least `rnnk_backward_scratch_len` elements
/// (`strided = 1` unless `x`, `d_output` and `dx` are dense time-major).
/// `threads`, the checks and the errors are as in `rnnk_forward_f64`.
///
/// # Safety
/// Every non-NULL pointer is valid for the elements its shape and strides
/// address (reads, and writes for `tape`, `grads`, `dx`, `dh0`, `dc0`,
/// `step_norms`, `scratch`), and no other thread writes them during the
/// call. `desc` and `lengths` as in `rnnk_tape_len`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn rnnk_backward_f64(
    desc: *const RnnkDesc,
    seq_len: usize,
    batch: usize,
    lengths: *const usize,
    params: *const f64,
    params_len: usize,
    x: *const f64,
    x_time_stride: usize,
    x_batch_stride: usize,
    h0: *const f64,
    c0: *const f64,
    tape: *mut f64,
    tape_len: usize,
    d_output: *const f64,
    d_output_time_stride: usize,
    d_output_batch_stride: usize,
    dh_n: *const f64,
    dc_n: *const f64,
    grads: *mut f64,
    dx: *mut f64,
    dx_time_stride: usize,
    dx_batch_stride: usize,
    dh0: *mut f64,
    dc0: *mut f64,
    step_norms: *mut f64,
    accumulate: i32,
    truncate: usize,
    scratch: *mut f64,
    scratch_len: usize,
    threads: usize,
) -> RnnkStatus {
    let args = BackwardArgs {
        desc,
        seq_len,
        batch,
        lengths,
        params,
        params_len,
        x,
        x_time_stride,
        x_batch_stride,
        h0,
        c0,
        tape,
        tape_len,
        d_output,
        d_output_time_stride,
        d_output_batch_stride,
        dh_n,
        dc_n,
        grads,
        dx,
        dx_time_stride,
        dx_batch_stride,
        dh0,
        dc0,
        step_norms,
        accumulate,
        truncate,
        scratch,
        scratch_len,
        threads,
    };
    // SAFETY: the caller's guarantees are the body's contract.
    guard("rnnk_backward_f64", || unsafe { backward(args) })
}
