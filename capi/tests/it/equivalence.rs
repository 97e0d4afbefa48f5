//! Successful calls: the C API equals the kernels' Rust API bit for bit, for
//! every cell, shape, element type, layout and thread count.

use rnn_kernels::*;

use crate::common::*;

/// Runs `call` through the C API and compares every result with the Rust API's.
fn check_against_rust<T: Api>(mut call: Call<T>, what: &str) -> Expected<T> {
    let want = call.expected();
    run(&mut call);
    let got = call.got();
    got.assert_bits_eq(&want, what);
    got
}

#[test]
fn every_cell_equals_the_rust_api_bitwise() {
    for cell in CELLS {
        for (layers, bidirectional) in [(2, true), (1, false), (3, false)] {
            let d = desc(cell, 3, 5, layers, bidirectional);
            let what = format!("{cell:?} L={layers} bidirectional={bidirectional}");
            check_against_rust(Call::<f64>::new(d, 6, &[6, 2, 5], 1, Layout::Dense), &format!("{what} f64"));
            check_against_rust(Call::<f32>::new(d, 6, &[3, 6, 1, 4], 2, Layout::Dense), &format!("{what} f32"));
        }
    }
}

#[test]
fn equal_lengths_and_no_lengths_agree() {
    let d = desc(RnnkCell::Lstm, 4, 6, 2, true);
    let full = Call::<f64>::new(d, 5, &[5, 5, 5], 3, Layout::Dense);
    let mut none = full.clone();
    none.lengths = None;
    let a = check_against_rust(full, "lengths all T");
    let b = check_against_rust(none, "no lengths");
    a.assert_bits_eq(&b, "lengths all T vs none");
}

#[test]
fn null_initial_states_are_zeros_and_null_outputs_are_skipped() {
    for cell in [RnnkCell::Lstm, RnnkCell::Gru, RnnkCell::RnnTanh] {
        let d = desc(cell, 3, 4, 2, true);
        let mut given = Call::<f64>::new(d, 5, &[2, 5, 4], 4, Layout::Dense);
        let states = given.h0.as_ref().map_or(0, Vec::len);
        given.h0 = Some(vec![0.0; states]);
        given.c0 = given.c0.as_ref().map(|c| vec![0.0; c.len()]);
        let mut null = given.clone();
        (null.h0, null.c0) = (None, None);
        check_against_rust(given.clone(), "zeros given")
            .assert_bits_eq(&check_against_rust(null.clone(), "NULL h0/c0"), &format!("{cell:?}: zeros vs NULL"));
        // Without the optional outputs and upstream gradients: the rest is unchanged.
        let mut sparse = null.clone();
        (sparse.dh_n, sparse.dc_n, sparse.d_output) = (None, None, None);
        let mut without = sparse.clone();
        (without.h_n, without.c_n, without.grads, without.dh0, without.dc0, without.step_norms) =
            (None, None, None, None, None, None);
        run(&mut sparse);
        run(&mut without);
        let dense = |s: &Option<SeqBuf<f64>>| bits(&s.as_ref().expect("a sequence").dense());
        assert_eq!(dense(&without.output), dense(&sparse.output), "{cell:?}: output");
        assert_eq!(dense(&without.dx), dense(&sparse.dx), "{cell:?}: dx");
        // The NULL outputs stay NULL, and h_n, c_n, dh0, dc0, step_norms were computed in `sparse`.
        assert!(sparse.h_n.as_deref().is_some_and(|v| !untouched(v)), "{cell:?}: h_n");
        assert!(sparse.dh0.as_deref().is_some_and(|v| !untouched(v)), "{cell:?}: dh0");
        check_against_rust(null, "NULL upstream");
    }
}

#[test]
fn batch_first_and_sliced_sequences_equal_dense_bitwise() {
    for cell in [RnnkCell::Lstm, RnnkCell::Gru, RnnkCell::RnnRelu] {
        let d = desc(cell, 3, 4, 2, true);
        let dense = check_against_rust(Call::<f64>::new(d, 6, &[6, 1, 4, 5], 5, Layout::Dense), "dense");
        for layout in [Layout::BatchFirst, Layout::Sliced] {
            let call = Call::<f64>::new(d, 6, &[6, 1, 4, 5], 5, layout);
            let got = check_against_rust(call.clone(), &format!("{layout:?}"));
            got.assert_bits_eq(&dense, &format!("{cell:?}: {layout:?} vs dense"));
            // The sliced buffers' gaps are untouched.
            let mut c = call;
            run(&mut c);
            if layout == Layout::Sliced {
                for s in [c.output.as_ref().expect("output"), c.dx.as_ref().expect("dx")] {
                    let used: std::collections::HashSet<usize> = (0..s.t)
                        .flat_map(|t| (0..s.b).flat_map(move |b| (0..s.f).map(move |f| t * s.ts + b * s.bs + f)))
                        .collect();
                    let gaps: Vec<f64> =
                        s.data.iter().enumerate().filter(|(k, _)| !used.contains(k)).map(|(_, &v)| v).collect();
                    assert!(!gaps.is_empty() && untouched(&gaps), "{cell:?}: a gap was written");
                }
            }
        }
        // Mixed: a dense x with a batch-first output and dx, f32.
        let mut mixed = Call::<f32>::new(d, 6, &[6, 1, 4, 5], 6, Layout::Dense);
        let t = mixed.output.as_ref().expect("output");
        mixed.output = Some(SeqBuf::new(Layout::BatchFirst, t.t, t.b, t.f, t.data[0]));
        let t = mixed.dx.as_ref().expect("dx");
        mixed.dx = Some(SeqBuf::new(Layout::BatchFirst, t.t, t.b, t.f, t.data[0]));
        mixed.fwd_scratch_len += 200; // more than enough for the staged output
        mixed.fwd_scratch = Some(vec![0.0; mixed.fwd_scratch_len]);
        mixed.bwd_scratch_len += 200;
        mixed.bwd_scratch = Some(vec![0.0; mixed.bwd_scratch_len]);
        check_against_rust(mixed, "mixed layouts");
    }
}

#[test]
fn thread_counts_give_identical_bits() {
    for cell in [RnnkCell::Lstm, RnnkCell::Gru] {
        let d = desc(cell, 8, 16, 2, true);
        let base = Call::<f32>::new(d, 12, &[12, 3, 9, 12, 7], 7, Layout::BatchFirst);
        let mut first = base.clone();
        run(&mut first);
        for threads in [0, 2, 3, 4, 7] {
            let mut c = base.clone();
            c.threads = threads;
            run(&mut c);
            c.got().assert_bits_eq(&first.got(), &format!("{cell:?}: {threads} threads vs 1"));
        }
    }
}

#[test]
fn accumulate_and_truncate_match_the_rust_api() {
    let d = desc(RnnkCell::Lstm, 3, 4, 2, true);
    let mut c = Call::<f64>::new(d, 8, &[8, 3, 6], 8, Layout::Dense);
    c.grads = Some(Gen(99).vec(c.params_len));
    c.accumulate = 1;
    check_against_rust(c.clone(), "accumulate");
    for k in [1, 3, 8, 20] {
        let mut t = c.clone();
        t.accumulate = 0;
        t.truncate = k;
        check_against_rust(t, &format!("truncate {k}"));
    }
}

#[test]
fn inference_forward_equals_the_rust_api() {
    for cell in [RnnkCell::Lstm, RnnkCell::RnnTanh] {
        let d = desc(cell, 3, 4, 2, true);
        for layout in [Layout::Dense, Layout::BatchFirst] {
            let mut c = Call::<f64>::new(d, 7, &[7, 2, 5], 10, layout);
            let lens = c.lengths.clone().expect("lengths");
            let strided = i32::from(layout != Layout::Dense);
            // SAFETY: valid pointers; `lens` holds `batch` values.
            let n = query(|n| unsafe { rnnk_forward_scratch_len(&d, 7, 3, lens.as_ptr(), 0, strided, n) });
            c.fwd_scratch_len = n;
            c.fwd_scratch = Some(vec![0.0; n]);
            assert_eq!(<f64 as Api>::forward(&mut c, false), RnnkStatus::Ok, "{}", last_error());
            let want = c.expected();
            assert_eq!(bits(&c.output.as_ref().expect("output").dense()), bits(&want.output));
            assert_eq!(bits(c.h_n.as_ref().expect("h_n")), bits(&want.h_n));
            assert!(untouched(c.tape.as_ref().expect("tape")), "inference wrote the tape");
        }
    }
}

#[test]
fn broadcast_input_with_a_zero_batch_stride() {
    // Every row reads the same x: a zero batch stride is fine for an input.
    let d = desc(RnnkCell::Gru, 3, 4, 1, true);
    let mut c = Call::<f64>::new(d, 4, &[4, 4, 4], 11, Layout::Dense);
    let x = c.x.as_ref().expect("x").clone();
    let row0: Vec<f64> = (0..4).flat_map(|t| x.data[t * x.ts..][..3].to_vec()).collect();
    c.x = Some(SeqBuf { data: row0.clone(), ts: 3, bs: 0, t: 4, b: 3, f: 3 });
    c.fwd_scratch_len += 4 * 3 * 3;
    c.fwd_scratch = Some(vec![0.0; c.fwd_scratch_len]);
    c.bwd_scratch_len += 4 * 3 * 3;
    c.bwd_scratch = Some(vec![0.0; c.bwd_scratch_len]);
    check_against_rust(c, "broadcast x");
}
