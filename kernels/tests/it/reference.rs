//! The production path against the plain scalar reference (`kernels::reference`):
//! f64 within 1e-12 and f32 within 1e-5 (normwise relative), every cell,
//! edge shapes, every upstream combination, truncation and accumulation.
//! And truncated BPTT against its own definition.

use crate::common::{all_cells, assert_close};
use crate::driver::Case;
use kernels::reference;
use kernels::{BackwardOpts, BackwardOut, Dims, ForwardOut, Parallelism, Real, Saved, State, Upstream, Weights};

// The shared random case (weights, inputs, initial state, upstream gradients).
impl<T: Real> Case<T> {
    /// Compares production and reference for one upstream combination.
    fn compare(&self, use_out: bool, use_n: bool, truncate: Option<usize>, tol: f64) {
        let what = format!(
            "{:?} I={} H={} {:?} out={use_out} n={use_n} k={truncate:?} {}",
            self.rnn.cell(),
            self.rnn.input_size(),
            self.rnn.hidden_size(),
            self.dims,
            T::NAME
        );
        let r = reference::forward(&self.rnn, &self.w, self.dims, &self.x, &self.h0, self.c0.as_deref());
        let par = Parallelism::Sequential;
        let trace = self.rnn.forward_train(&self.w, self.dims, &self.x, Some(&self.h0), self.c0.as_deref(), par);
        assert_close(&format!("{what} h_out"), &trace.h_out, &r.h, tol);
        let inf = self.rnn.forward_infer(&self.w, self.dims, &self.x, Some(&self.h0), self.c0.as_deref(), par);
        let (h_inf, c_inf) = (inf.h_out, inf.c_n);
        assert_eq!(h_inf, trace.h_out, "{what}: inference and training forward differ");
        if let Some(c) = &c_inf {
            let bh = self.h0.len();
            assert_close(&format!("{what} c_n"), c, &r.c[r.c.len() - bh..], tol);
            assert_eq!(Some(c), trace.c_n.as_ref(), "{what}: inference and training c_n differ");
        }
        let up = Upstream {
            dh_out: use_out.then_some(&self.dh_out[..]),
            dh_n: use_n.then_some(&self.dh_n[..]),
            dc_n: if use_n { self.dc_n.as_deref() } else { None },
        };
        let g = self.rnn.backward_trace(&self.w, trace, up, BackwardOpts { accumulate: false, truncate }, par);
        let rg = reference::backward(
            &self.rnn,
            &self.w,
            self.dims,
            &self.x,
            &self.h0,
            self.c0.as_deref(),
            &r,
            up.dh_out,
            up.dh_n,
            up.dc_n,
            truncate,
        );
        for (name, a, b) in [
            ("dW_ih", &g.weights.w_ih, &rg.weights.w_ih),
            ("dW_hh", &g.weights.w_hh, &rg.weights.w_hh),
            ("db_ih", &g.weights.b_ih, &rg.weights.b_ih),
            ("db_hh", &g.weights.b_hh, &rg.weights.b_hh),
            ("dx", &g.dx, &rg.dx),
            ("dh0", &g.dh0, &rg.dh0),
            ("step_norms", &g.step_norms, &rg.step_norms),
        ] {
            assert_close(&format!("{what} {name}"), a, b, tol);
        }
        if let Some(dc0) = &g.dc0 {
            assert_close(&format!("{what} dc0"), dc0, &rg.dc0, tol);
        }
        // dh_all holds the vectors whose norms step_norms reports.
        let bh = self.h0.len();
        let norms: Vec<T> = g.dh_all.chunks(bh).map(|d| d.iter().map(|&v| v * v).sum::<T>().sqrt()).collect();
        assert_eq!(norms, g.step_norms, "{what}: dh_all and step_norms disagree");
    }
}

fn compare_all<T: Real>(tol: f64) {
    for cell in all_cells() {
        for (input, hidden) in [(1, 1), (2, 3), (5, 17), (7, 33)] {
            for batch in [1, 4] {
                for seq_len in [1, 2, 7] {
                    let case = Case::<T>::new(cell, input, hidden, Dims::new(seq_len, batch), 42 + seq_len as u64);
                    for (o, n) in [(true, true), (false, true), (true, false)] {
                        case.compare(o, n, None, tol);
                    }
                    for k in [1, 3] {
                        case.compare(true, true, Some(k), tol);
                    }
                }
            }
        }
    }
}

#[test]
fn production_equals_reference_f64() {
    compare_all::<f64>(1e-12);
}

#[test]
fn production_equals_reference_f32() {
    compare_all::<f32>(1e-5);
}

#[test]
fn longer_sequences_equal_reference() {
    for cell in all_cells() {
        Case::<f64>::new(cell, 8, 24, Dims::new(60, 3), 9).compare(true, true, None, 1e-12);
        Case::<f32>::new(cell, 8, 24, Dims::new(60, 3), 9).compare(true, true, None, 1e-5);
    }
}

/// `accumulate: true` adds into the weight gradients; `false` overwrites them.
#[test]
fn accumulate_adds_and_overwrite_replaces() {
    for cell in all_cells() {
        let c = Case::<f64>::new(cell, 3, 5, Dims::new(4, 2), 3);
        let par = Parallelism::Sequential;
        let run = |accumulate: bool, start: f64| -> Weights<f64> {
            let mut h_out = vec![0.0; c.dh_out.len()];
            let mut tape = vec![0.0; c.rnn.tape_len(c.dims)];
            let mut scratch =
                vec![0.0; c.rnn.forward_scratch_len(c.dims, true).max(c.rnn.backward_scratch_len(c.dims))];
            let init = State { h: &c.h0, c: c.c0.as_deref() };
            c.rnn.forward(
                c.w.view(),
                c.dims,
                &c.x,
                init,
                ForwardOut { h_out: &mut h_out, h_n: None, c_n: None, tape: Some(&mut tape) },
                &mut scratch,
                par,
            );
            let mut grads = Weights::zeros(&c.rnn);
            for buf in grads.buffers_mut() {
                buf.fill(start);
            }
            c.rnn.backward(
                c.w.view(),
                c.dims,
                Saved { x: &c.x, init, h_out: &h_out, tape: &mut tape },
                Upstream { dh_out: Some(&c.dh_out), dh_n: None, dc_n: None },
                BackwardOut { grads: Some(grads.view_mut()), ..Default::default() },
                BackwardOpts { accumulate, truncate: None },
                &mut scratch,
                par,
            );
            grads
        };
        let fresh = run(false, f64::NAN);
        let added = run(true, 0.25);
        for (f, a) in fresh.buffers().iter().zip(added.buffers()) {
            assert!(f.iter().all(|v| v.is_finite()), "{cell:?}: overwrite read the old (NaN) values");
            let shifted: Vec<f64> = f.iter().map(|v| v + 0.25).collect();
            assert_close(&format!("{cell:?} accumulate"), a, &shifted, 1e-15);
        }
    }
}

/// Truncated BPTT with blocks of k steps (counted from the end) equals full
/// BPTT run separately on each block from the saved state, summed over blocks.
#[test]
fn truncated_bptt_matches_its_definition() {
    let par = Parallelism::Sequential;
    for cell in all_cells() {
        for (seq_len, k) in [(7, 3), (9, 3), (5, 1), (6, 10), (8, 8)] {
            let c = Case::<f64>::new(cell, 3, 4, Dims::new(seq_len, 2), 11);
            let bh = c.h0.len();
            let trace = c.rnn.forward_train(&c.w, c.dims, &c.x, Some(&c.h0), c.c0.as_deref(), par);
            let h_all = trace.h_out.clone();
            let r = reference::forward(&c.rnn, &c.w, c.dims, &c.x, &c.h0, c.c0.as_deref());
            let up = Upstream { dh_out: Some(&c.dh_out[..]), dh_n: Some(&c.dh_n[..]), dc_n: c.dc_n.as_deref() };
            let trunc =
                c.rnn.backward_trace(&c.w, trace, up, BackwardOpts { accumulate: false, truncate: Some(k) }, par);

            // The definition, block by block.
            let mut sum = Weights::<f64>::zeros(&c.rnn);
            let mut dx = vec![0.0; c.x.len()];
            let mut norms = vec![0.0; seq_len];
            let mut dh0 = vec![0.0; bh];
            let mut dc0 = vec![0.0; bh];
            let mut end = seq_len;
            while end > 0 {
                let start = end.saturating_sub(k);
                let dims = Dims::new(end - start, 2);
                let (h_start, c_start) = if start == 0 {
                    (c.h0.clone(), c.c0.clone())
                } else {
                    (
                        h_all[(start - 1) * bh..start * bh].to_vec(),
                        c.c0.as_ref().map(|_| r.c[(start - 1) * bh..start * bh].to_vec()),
                    )
                };
                let i = c.rnn.input_size();
                let xb = &c.x[start * 2 * i..end * 2 * i];
                let tb = c.rnn.forward_train(&c.w, dims, xb, Some(&h_start), c_start.as_deref(), par);
                let last = end == seq_len;
                let upb = Upstream {
                    dh_out: Some(&c.dh_out[start * bh..end * bh]),
                    dh_n: last.then_some(&c.dh_n[..]),
                    dc_n: if last { c.dc_n.as_deref() } else { None },
                };
                let g = c.rnn.backward_trace(&c.w, tb, upb, BackwardOpts::default(), par);
                for (s, b) in sum.buffers_mut().into_iter().zip(g.weights.buffers()) {
                    for (s, b) in s.iter_mut().zip(b) {
                        *s += b;
                    }
                }
                dx[start * 2 * i..end * 2 * i].copy_from_slice(&g.dx);
                norms[start..end].copy_from_slice(&g.step_norms);
                if start == 0 {
                    dh0 = g.dh0;
                    if let Some(d) = g.dc0 {
                        dc0 = d;
                    }
                }
                end = start;
            }
            let what = format!("{cell:?} T={seq_len} k={k}");
            for (name, a, b) in [
                ("dW_ih", &trunc.weights.w_ih, &sum.w_ih),
                ("dW_hh", &trunc.weights.w_hh, &sum.w_hh),
                ("db_ih", &trunc.weights.b_ih, &sum.b_ih),
                ("db_hh", &trunc.weights.b_hh, &sum.b_hh),
                ("dx", &trunc.dx, &dx),
                ("dh0", &trunc.dh0, &dh0),
                ("step_norms", &trunc.step_norms, &norms),
            ] {
                assert_close(&format!("{what} {name}"), a, b, 1e-12);
            }
            if let Some(d) = &trunc.dc0 {
                assert_close(&format!("{what} dc0"), d, &dc0, 1e-12);
            }
            // Truncation shorter than the sequence really changes the result.
            if k < seq_len {
                let full = c.rnn.backward_trace(
                    &c.w,
                    c.rnn.forward_train(&c.w, c.dims, &c.x, Some(&c.h0), c.c0.as_deref(), par),
                    up,
                    BackwardOpts::default(),
                    par,
                );
                assert!(crate::common::rel_diff(&full.weights.w_hh, &trunc.weights.w_hh) > 1e-6, "{what}: no effect");
            }
        }
    }
}
