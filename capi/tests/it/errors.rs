//! Bad input: the call returns an error status and a message naming the
//! problem, and writes nothing (every output buffer, the tape and the scratch
//! keep their canary values).

use rnn_kernels::*;

use crate::common::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Forward,
    Backward,
    Both,
}

/// Applies `modify` to a valid call and checks that the forward and/or the
/// backward fail with `status` and a message containing `needle`, writing nothing.
fn refused<T: Api>(
    base: &Call<T>,
    which: Which,
    status: RnnkStatus,
    needle: &str,
    modify: impl Fn(&mut Call<T>),
) -> String {
    let mut last = String::new();
    for backward in [false, true] {
        if (backward && which == Which::Forward) || (!backward && which == Which::Backward) {
            continue;
        }
        let mut c = base.clone();
        modify(&mut c);
        let inputs_before = format!("{:?}", (&c.params, &c.x, &c.h0, &c.c0, &c.d_output, &c.dh_n, &c.dc_n));
        let s = if backward { T::backward(&mut c) } else { T::forward(&mut c, true) };
        let message = last_error();
        let what = format!("{} `{needle}`", if backward { "backward" } else { "forward" });
        assert_eq!(s, status, "{what}: {message}");
        assert!(message.contains(needle), "{what}: the message {message:?} does not mention it");
        let call = if backward { "rnnk_backward_f" } else { "rnnk_forward_f" };
        assert!(message.starts_with(call), "{what}: {message:?} does not name the call");
        c.assert_untouched(&what);
        let inputs_after = format!("{:?}", (&c.params, &c.x, &c.h0, &c.c0, &c.d_output, &c.dh_n, &c.dc_n));
        assert_eq!(inputs_before, inputs_after, "{what}: an input changed");
        last = message;
    }
    last
}

fn lstm_call<T: Api>() -> Call<T> {
    Call::new(desc(RnnkCell::Lstm, 3, 4, 2, true), 5, &[5, 2, 4], 21, Layout::BatchFirst)
}

use RnnkStatus::{InvalidArgument as Invalid, NullPointer as Null};
use Which::{Backward, Both, Forward};

#[test]
fn null_pointers() {
    let c = lstm_call::<f64>();
    refused(&c, Both, Null, "`params` is NULL", |c| c.params = None);
    refused(&c, Both, Null, "`x` is NULL", |c| c.x = None);
    refused(&c, Forward, Null, "`output` is NULL", |c| c.output = None);
    refused(&c, Forward, Null, "`scratch` is NULL", |c| c.fwd_scratch = None);
    refused(&c, Backward, Null, "`scratch` is NULL", |c| c.bwd_scratch = None);
    refused(&c, Backward, Null, "`tape` is NULL", |c| c.tape = None);
    let c32 = lstm_call::<f32>();
    refused(&c32, Both, Null, "`x` is NULL", |c| c.x = None);
}

#[test]
fn null_descriptor() {
    let mut c = lstm_call::<f64>();
    let lens = c.lengths.clone().expect("lengths");
    let (x, out) = (c.x.as_ref().expect("x"), c.output.as_mut().expect("output"));
    // SAFETY: the descriptor is NULL, which the call refuses before reading anything.
    let s = unsafe {
        rnnk_forward_f64(
            core::ptr::null(),
            c.seq_len,
            c.batch,
            lens.as_ptr(),
            c.params.as_ref().expect("params").as_ptr(),
            c.params_len,
            x.data.as_ptr(),
            x.ts,
            x.bs,
            core::ptr::null(),
            core::ptr::null(),
            out.data.as_mut_ptr(),
            out.ts,
            out.bs,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            0,
            c.fwd_scratch.as_mut().expect("scratch").as_mut_ptr(),
            c.fwd_scratch_len,
            1,
        )
    };
    assert_eq!(s, Null);
    assert!(last_error().contains("`desc` is NULL"));
    c.assert_untouched("NULL desc");
}

#[test]
fn wrong_buffer_sizes() {
    let c = lstm_call::<f64>();
    refused(&c, Both, Invalid, "`params_len` is", |c| c.params_len -= 1);
    refused(&c, Both, Invalid, "`params_len` is", |c| c.params_len += 1);
    let m = refused(&c, Forward, Invalid, "`scratch_len` is", |c| c.fwd_scratch_len -= 1);
    assert!(m.contains("rnnk_forward_scratch_len"), "{m}");
    refused(&c, Backward, Invalid, "`scratch_len` is", |c| c.bwd_scratch_len -= 1);
    refused(&c, Both, Invalid, "`tape_len` is", |c| c.tape_len -= 1);
    refused(&c, Both, Invalid, "`tape_len` is", |c| c.tape_len += 1);
    // The dense-layout scratch is too small for batch-first sequences.
    let dense_len = {
        let lens = c.lengths.clone().expect("lengths");
        // SAFETY: valid pointers.
        query(|n| unsafe { rnnk_forward_scratch_len(&c.desc, c.seq_len, c.batch, lens.as_ptr(), 1, 0, n) })
    };
    refused(&c, Forward, Invalid, "`scratch_len` is", |c| c.fwd_scratch_len = dense_len);
}

#[test]
fn bad_lengths_and_shapes() {
    let c = lstm_call::<f64>();
    refused(&c, Both, Invalid, "`lengths[1]` is 6, must be in 1..=seq_len = 5", |c| {
        c.lengths.as_mut().expect("lengths")[1] = 6
    });
    refused(&c, Both, Invalid, "`lengths[2]` is 0", |c| c.lengths.as_mut().expect("lengths")[2] = 0);
    refused(&c, Both, Invalid, "`batch` is 0", |c| {
        c.batch = 0;
        c.lengths = None;
    });
    refused(&c, Both, Invalid, "`seq_len` is 0", |c| c.seq_len = 0);
    // A seq_len shorter than the buffers: the tape no longer matches.
    refused(&c, Both, Invalid, "`lengths[0]` is 5", |c| c.seq_len = 4);
    refused(&c, Both, Invalid, "`tape_len` is", |c| {
        c.seq_len = 4;
        c.lengths = None;
    });
}

#[test]
fn bad_descriptors() {
    let c = lstm_call::<f64>();
    refused(&c, Both, Invalid, "`desc->hidden_size` is 0", |c| c.desc.hidden_size = 0);
    refused(&c, Both, Invalid, "`desc->input_size` is 0", |c| c.desc.input_size = 0);
    refused(&c, Both, Invalid, "`desc->num_layers` is 0", |c| c.desc.num_layers = 0);
    for code in [0, 8, -1, i32::MAX] {
        refused(&c, Both, Invalid, &format!("`desc->cell` is {code}, not an RnnkCell"), |c| c.desc.cell = code);
    }
    refused(&c, Both, Invalid, "`desc->bidirectional` is 2", |c| c.desc.bidirectional = 2);
    for slope in [-0.5, f64::NAN, f64::INFINITY] {
        refused(&c, Both, Invalid, "`desc->leaky_relu_slope`", |c| {
            c.desc.cell = RnnkCell::RnnLeakyRelu as i32;
            c.desc.leaky_relu_slope = slope;
        });
    }
    refused(&c, Both, Invalid, "sizes too large", |c| c.desc.hidden_size = usize::MAX / 4);
    refused(&c, Both, Invalid, "sizes too large", |c| c.seq_len = usize::MAX / 2);
    // Another cell: the buffers no longer fit its parameters.
    refused(&c, Both, Invalid, "`params_len` is", |c| c.desc.cell = RnnkCell::Gru as i32);
}

#[test]
fn cell_state_arguments_only_for_the_lstm() {
    let gru = Call::<f64>::new(desc(RnnkCell::Gru, 3, 4, 2, true), 5, &[5, 2, 4], 22, Layout::Dense);
    let states = gru.h0.as_ref().expect("h0").len();
    let canary = vec![CANARY; states];
    refused(&gru, Both, Invalid, "`c0` must be NULL", |c| c.c0 = Some(vec![0.0; states]));
    refused(&gru, Forward, Invalid, "`c_n` must be NULL", |c| c.c_n = Some(canary.clone()));
    refused(&gru, Backward, Invalid, "`dc_n` must be NULL", |c| c.dc_n = Some(vec![0.0; states]));
    refused(&gru, Backward, Invalid, "`dc0` must be NULL", |c| c.dc0 = Some(canary.clone()));
}

#[test]
fn bad_flags_and_strides() {
    let c = lstm_call::<f64>();
    refused(&c, Backward, Invalid, "`accumulate` is 2", |c| c.accumulate = 2);
    refused(&c, Backward, Invalid, "`accumulate` is -1", |c| c.accumulate = -1);
    // Output rows that overlap each other.
    refused(&c, Forward, Invalid, "`output` with time stride", |c| {
        let o = c.output.as_mut().expect("output");
        o.bs = o.f - 1;
    });
    refused(&c, Backward, Invalid, "`dx` with time stride", |c| {
        let d = c.dx.as_mut().expect("dx");
        d.ts = 1;
    });
    // Strides that address more memory than exists.
    refused(&c, Both, Invalid, "spans more memory than exists", |c| c.x.as_mut().expect("x").ts = usize::MAX / 2);
    refused(&c, Backward, Invalid, "spans more memory than exists", |c| {
        c.d_output.as_mut().expect("d_output").bs = usize::MAX / 3
    });
}

/// A forward on raw pointers into one arena (canary-filled): `edit` moves
/// some of them; the call must fail with `needle` and leave the arena alone.
fn arena_forward(needle: &str, edit: impl Fn(&mut [usize; 6], &mut usize)) {
    let d = desc(RnnkCell::Lstm, 3, 4, 1, false);
    let stack = stack_of(&d);
    let (t, b) = (4, 2);
    let (np, nx, no, ns) = (stack.num_params(), t * b * 3, t * b * 4, stack.units() * b * 4);
    let tape_len = stack.tape_len(kernels::Dims::new(t, b));
    // SAFETY: valid pointers.
    let scratch_len =
        query(|n| unsafe { rnnk_forward_scratch_len(&d, t, b, core::ptr::null(), 1, 0, n) }) + 8 * (nx + no);
    // Offsets (in f64) of params, x, output, h_n, tape, scratch in the arena.
    let lens = [np, nx, no, ns, tape_len, scratch_len];
    let mut offsets = [0usize; 6];
    for k in 1..6 {
        offsets[k] = offsets[k - 1] + lens[k - 1];
    }
    let mut arena = vec![CANARY; offsets[5] + scratch_len + 16];
    let mut tape_len_arg = tape_len;
    edit(&mut offsets, &mut tape_len_arg);
    let base = arena.as_mut_ptr().cast::<u8>();
    // Offsets in bytes: a non-multiple of 8 misaligns.
    let at = |k: usize| base.wrapping_add(offsets[k]).cast::<f64>();
    let scratch_bytes = offsets[5];
    // SAFETY: every pointer lies in the arena with room for its elements; the
    // call must refuse before touching any.
    let s = unsafe {
        rnnk_forward_f64(
            &d,
            t,
            b,
            core::ptr::null(),
            at(0),
            np,
            at(1),
            b * 3,
            3,
            core::ptr::null(),
            core::ptr::null(),
            at(2),
            b * 4,
            4,
            at(3),
            core::ptr::null_mut(),
            if tape_len_arg == usize::MAX { core::ptr::null_mut() } else { at(4) },
            if tape_len_arg == usize::MAX { 7 } else { tape_len_arg },
            base.wrapping_add(scratch_bytes).cast(),
            scratch_len,
            1,
        )
    };
    let message = last_error();
    assert_eq!(s, Invalid, "{needle}: {message}");
    assert!(message.contains(needle), "{needle}: {message}");
    assert!(untouched(&arena), "{needle}: the arena was written");
}

#[test]
fn misaligned_and_overlapping_buffers() {
    // The offsets are in elements; turn them into bytes first.
    let bytes = |o: &mut [usize; 6]| o.iter_mut().for_each(|v| *v *= 8);
    arena_forward("`x` (", |o, _| {
        bytes(o);
        o[1] += 4;
    });
    arena_forward("`output` overlaps `x`", |o, _| {
        bytes(o);
        o[2] = o[1] + 8;
    });
    arena_forward("`output` overlaps `h_n`", |o, _| {
        bytes(o);
        o[3] = o[2] + 16;
    });
    arena_forward("`scratch` overlaps `params`", |o, _| {
        bytes(o);
        o[5] = 8;
    });
    arena_forward("`tape` is NULL (inference) but `tape_len` is 7", |o, t| {
        bytes(o);
        *t = usize::MAX;
    });
}

#[test]
fn queries_refuse_bad_input_and_write_nothing() {
    let d = desc(RnnkCell::Lstm, 3, 4, 2, true);
    let lens = [3usize, 5, 1];
    let bad = [3usize, 6, 1];
    let sentinel = 0xdead_beef_usize;
    let mut n = sentinel;
    let check = |s: RnnkStatus, status: RnnkStatus, needle: &str, n: &mut usize| {
        let m = last_error();
        assert_eq!(s, status, "{needle}: {m}");
        assert!(m.contains(needle), "{needle}: {m}");
        assert_eq!(*n, sentinel, "{needle}: the out value was written");
    };
    let (null, nolens) = (core::ptr::null(), core::ptr::null());
    // SAFETY (every call): valid pointers or NULL, which the calls refuse.
    unsafe {
        check(rnnk_num_params(null, &mut n), Null, "`desc` is NULL", &mut n);
        check(rnnk_num_params(&d, core::ptr::null_mut()), Null, "`count` is NULL", &mut n);
        check(rnnk_num_param_tensors(null, &mut n), Null, "`desc` is NULL", &mut n);
        check(rnnk_tape_len(&d, 5, 3, bad.as_ptr(), &mut n), Invalid, "`lengths[1]` is 6", &mut n);
        check(rnnk_tape_len(&d, 5, 0, nolens, &mut n), Invalid, "`batch` is 0", &mut n);
        check(rnnk_tape_len(&d, 0, 3, nolens, &mut n), Invalid, "`seq_len` is 0", &mut n);
        check(rnnk_tape_len(&d, 5, 3, lens.as_ptr(), core::ptr::null_mut()), Null, "`len` is NULL", &mut n);
        check(rnnk_forward_scratch_len(&d, 5, 3, nolens, 2, 0, &mut n), Invalid, "`training` is 2", &mut n);
        check(rnnk_forward_scratch_len(&d, 5, 3, nolens, 1, -1, &mut n), Invalid, "`strided` is -1", &mut n);
        check(rnnk_backward_scratch_len(&d, 5, 3, nolens, 3, &mut n), Invalid, "`strided` is 3", &mut n);
        let bad_lens = [0usize, 1, 1];
        check(rnnk_backward_scratch_len(&d, 5, 3, bad_lens.as_ptr(), 0, &mut n), Invalid, "`lengths[0]`", &mut n);
        let mut zero = d;
        zero.hidden_size = 0;
        check(rnnk_backward_scratch_len(&zero, 5, 3, nolens, 0, &mut n), Invalid, "hidden_size", &mut n);
        let mut cell = d;
        cell.cell = 42;
        check(rnnk_num_params(&cell, &mut n), Invalid, "`desc->cell` is 42", &mut n);
    }
    let mut t = RnnkParamTensor { offset: 7, len: 7, rows: 7, cols: 7 };
    // SAFETY: valid pointers; the index is out of range.
    assert_eq!(unsafe { rnnk_param_tensor(&d, 16, &mut t) }, Invalid);
    assert!(last_error().contains("`index` is 16"));
    assert_eq!(t, RnnkParamTensor { offset: 7, len: 7, rows: 7, cols: 7 });
    let mut offsets = [sentinel; 17];
    // SAFETY: `offsets` holds 17 values; the count is wrong.
    assert_eq!(unsafe { rnnk_param_offsets(&d, offsets.as_mut_ptr(), 17) }, Invalid);
    assert!(last_error().contains("`count` is 17, expected 4*L*D = 16"));
    // SAFETY: NULL, refused.
    assert_eq!(unsafe { rnnk_param_offsets(&d, core::ptr::null_mut(), 16) }, Null);
    assert!(offsets.iter().all(|&o| o == sentinel));
    let mut buf = [0x55u8; 16];
    let mut needed = sentinel;
    // SAFETY: `buf` holds 16 bytes; the index is out of range.
    let s = unsafe { rnnk_param_name(&d, 99, buf.as_mut_ptr().cast(), 16, &mut needed) };
    assert_eq!(s, Invalid);
    assert!(buf.iter().all(|&c| c == 0x55) && needed == sentinel);
    // SAFETY: a NULL buffer with a length, refused.
    let s = unsafe { rnnk_param_name(&d, 0, core::ptr::null_mut(), 16, &mut needed) };
    assert_eq!(s, Null);
}
