//! The version, the parameter layout and the workspace queries, against the
//! kernels' Rust API; the last-error buffer protocol; panics.

use std::ffi::CStr;

use rnn_kernels::*;

use crate::common::*;

#[test]
fn version_matches_the_crate_and_the_header() {
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(rnnk_version()) }.to_str().expect("UTF-8");
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    let parts: Vec<u32> = v.split('.').map(|p| p.parse().expect("a number")).collect();
    assert_eq!(parts, [rnnk_version_major(), rnnk_version_minor(), rnnk_version_patch()]);
    assert_eq!(parts, [RNNK_VERSION_MAJOR, RNNK_VERSION_MINOR, RNNK_VERSION_PATCH]);
    let header = include_str!("../../include/rnn_kernels.h");
    for (name, value) in [("MAJOR", parts[0]), ("MINOR", parts[1]), ("PATCH", parts[2])] {
        assert!(header.contains(&format!("#define RNNK_VERSION_{name} {value}\n")), "the header's {name}");
    }
}

#[test]
fn status_names() {
    for (code, name) in [
        (RnnkStatus::Ok as i32, "RNNK_STATUS_OK"),
        (RnnkStatus::NullPointer as i32, "RNNK_STATUS_NULL_POINTER"),
        (RnnkStatus::InvalidArgument as i32, "RNNK_STATUS_INVALID_ARGUMENT"),
        (RnnkStatus::InternalError as i32, "RNNK_STATUS_INTERNAL_ERROR"),
        (-1, "RNNK_STATUS_UNKNOWN"),
        (4, "RNNK_STATUS_UNKNOWN"),
    ] {
        // SAFETY: a static NUL-terminated string.
        assert_eq!(unsafe { CStr::from_ptr(rnnk_status_name(code)) }.to_str(), Ok(name));
    }
}

#[test]
fn parameter_layout_is_pytorchs_for_every_cell_and_shape() {
    for cell in CELLS {
        for (layers, bidirectional) in [(1, false), (2, true), (3, false), (2, false)] {
            let d = desc(cell, 5, 3, layers, bidirectional);
            let stack = stack_of(&d);
            // SAFETY (the queries): a valid descriptor and out value.
            assert_eq!(query(|n| unsafe { rnnk_num_params(&d, n) }), stack.num_params());
            // SAFETY: as above.
            let count = query(|n| unsafe { rnnk_num_param_tensors(&d, n) });
            let names = stack.param_names();
            assert_eq!(count, names.len());
            assert_eq!(count, 4 * layers * (1 + usize::from(bidirectional)));
            let mut offsets = vec![usize::MAX; count];
            // SAFETY: `offsets` holds `count` values.
            assert_eq!(unsafe { rnnk_param_offsets(&d, offsets.as_mut_ptr(), count) }, RnnkStatus::Ok);
            let mut at = 0;
            for (k, name) in names.iter().enumerate() {
                let mut t = RnnkParamTensor::default();
                // SAFETY: valid pointers.
                assert_eq!(unsafe { rnnk_param_tensor(&d, k, &mut t) }, RnnkStatus::Ok);
                let rnn = stack.layer(k / 4 / stack.directions());
                let (rows, cols) = match k % 4 {
                    0 => (rnn.gate_rows(), rnn.input_size()),
                    1 => (rnn.gate_rows(), rnn.hidden_size()),
                    _ => (rnn.gate_rows(), 1),
                };
                assert_eq!(t, RnnkParamTensor { offset: at, len: rows * cols, rows, cols }, "{name}");
                assert_eq!(offsets[k], at);
                at += rows * cols;
                let mut buf = [0x55u8; 64];
                let mut needed = 0;
                // SAFETY: `buf` holds 64 bytes.
                let s = unsafe { rnnk_param_name(&d, k, buf.as_mut_ptr().cast(), buf.len(), &mut needed) };
                assert_eq!(s, RnnkStatus::Ok);
                assert_eq!(needed, name.len() + 1);
                assert_eq!(CStr::from_bytes_until_nul(&buf).expect("NUL").to_str(), Ok(name.as_str()));
            }
            assert_eq!(at, stack.num_params());
        }
    }
}

#[test]
fn param_name_truncates_and_reports_the_size_needed() {
    let d = desc(RnnkCell::Gru, 2, 2, 2, true);
    let mut buf = [0x55u8; 8];
    let mut needed = 0;
    // SAFETY: `buf` holds 8 bytes, of which the call may use 5.
    let s = unsafe { rnnk_param_name(&d, 7, buf.as_mut_ptr().cast(), 5, &mut needed) };
    assert_eq!(s, RnnkStatus::Ok);
    assert_eq!(needed, "bias_hh_l0_reverse".len() + 1);
    assert_eq!(&buf, b"bias\0\x55\x55\x55");
    // SAFETY: no buffer, length 0; `needed` alone.
    let s = unsafe { rnnk_param_name(&d, 0, core::ptr::null_mut(), 0, &mut needed) };
    assert_eq!((s, needed), (RnnkStatus::Ok, "weight_ih_l0".len() + 1));
}

#[test]
fn workspace_queries_are_the_kernels_plus_the_c_apis_own() {
    for cell in CELLS {
        let d = desc(cell, 3, 5, 2, true);
        let stack = stack_of(&d);
        let lengths = [4, 1, 6];
        let dims = kernels::Dims::with_lengths(6, &lengths);
        let (t, b) = (6, 3);
        let zeros = stack.units() * b * 5;
        let (x, out) = (t * b * 3, t * b * stack.output_size());
        for lens in [lengths.as_ptr(), core::ptr::null()] {
            // SAFETY (the queries): valid pointers, `lens` NULL or `b` lengths.
            assert_eq!(query(|n| unsafe { rnnk_tape_len(&d, t, b, lens, n) }), stack.tape_len(dims));
            for training in [0, 1] {
                // SAFETY: as above.
                let dense = query(|n| unsafe { rnnk_forward_scratch_len(&d, t, b, lens, training, 0, n) });
                // SAFETY: as above.
                let strided = query(|n| unsafe { rnnk_forward_scratch_len(&d, t, b, lens, training, 1, n) });
                assert_eq!(dense, zeros + stack.forward_scratch_len(dims, training == 1));
                assert_eq!(strided, dense + x + out);
            }
            // SAFETY: as above.
            let dense = query(|n| unsafe { rnnk_backward_scratch_len(&d, t, b, lens, 0, n) });
            // SAFETY: as above.
            let strided = query(|n| unsafe { rnnk_backward_scratch_len(&d, t, b, lens, 1, n) });
            assert_eq!(dense, zeros + stack.backward_scratch_len(dims));
            assert_eq!(strided, dense + 2 * x + out);
        }
    }
}

#[test]
fn last_error_copies_truncates_and_is_per_thread() {
    // SAFETY: a NULL descriptor is refused.
    let s = unsafe { rnnk_num_params(core::ptr::null(), &mut 0) };
    assert_eq!(s, RnnkStatus::NullPointer);
    let full = last_error();
    assert_eq!(full, "rnnk_num_params: `desc` is NULL");
    let mut buf = [0x55u8; 8];
    // SAFETY: `buf` holds 8 bytes, of which the call may use 6.
    let n = unsafe { rnnk_last_error(buf.as_mut_ptr().cast(), 6) };
    assert_eq!(n, full.len() + 1);
    assert_eq!(&buf, b"rnnk_\0\x55\x55");
    // SAFETY: a NULL buffer with a length is not written.
    assert_eq!(unsafe { rnnk_last_error(core::ptr::null_mut(), 100) }, full.len() + 1);
    // Another thread has its own (empty) message.
    assert_eq!(std::thread::spawn(last_error).join().expect("thread"), "");
    assert_eq!(last_error(), full);
    // A successful call clears it.
    let d = desc(RnnkCell::Lstm, 1, 1, 1, false);
    // SAFETY: valid pointers.
    assert_eq!(unsafe { rnnk_num_params(&d, &mut 0) }, RnnkStatus::Ok);
    assert_eq!(last_error(), "");
    // SAFETY: NULL with length 0.
    assert_eq!(unsafe { rnnk_last_error(core::ptr::null_mut(), 0) }, 1);
}

#[test]
fn a_panic_becomes_an_internal_error_with_its_message() {
    let s = rnn_kernels::testing::guarded("rnnk_test", || panic!("boom {}", 42));
    assert_eq!(s, RnnkStatus::InternalError);
    assert_eq!(last_error(), "rnnk_test: internal error (panic): boom 42");
    let s = rnn_kernels::testing::guarded("rnnk_test", || Err("bad".into()));
    assert_eq!(s, RnnkStatus::InvalidArgument);
    assert_eq!(last_error(), "rnnk_test: bad");
}
