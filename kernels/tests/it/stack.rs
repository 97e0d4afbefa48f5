//! Stacked and bidirectional layers (`Stack`) against independent
//! compositions of single layers (two layers by hand; a reversed sequence by
//! hand; each row of a variable-length batch run alone), against finite
//! differences in f64, and across thread counts.

use crate::common::{TestRng, all_cells, assert_close, random_weights};
use kernels::{BackwardOpts, Cell, Dims, Parallelism, Real, Rnn, Stack, StackUpstream, Upstream, Weights};

const SEQ: Parallelism = Parallelism::Sequential;

struct Problem<T> {
    stack: Stack,
    w: Vec<Weights<T>>,
    x: Vec<T>,
    h0: Vec<T>,
    c0: Option<Vec<T>>,
    /// Upstream gradients: at the output, at `h_n`, at `c_n`.
    a: Vec<T>,
    b: Vec<T>,
    c: Option<Vec<T>>,
}

fn problem<T: Real>(stack: Stack, dims: Dims<'_>, seed: u64) -> Problem<T> {
    let mut rng = TestRng(seed);
    let w = (0..stack.units()).map(|u| random_weights(&stack.layer(u / stack.directions()), &mut rng)).collect();
    let n = stack.units() * dims.batch * stack.hidden_size();
    let lstm = stack.cell().has_cell_state();
    Problem {
        stack,
        w,
        x: rng.vec(dims.seq_len * dims.batch * stack.input_size(), 1.0),
        h0: rng.vec(n, 0.5),
        c0: lstm.then(|| rng.vec(n, 0.5)),
        a: rng.vec(dims.seq_len * dims.batch * stack.output_size(), 1.0),
        b: rng.vec(n, 1.0),
        c: lstm.then(|| rng.vec(n, 1.0)),
    }
}

impl<T: Real> Problem<T> {
    fn upstream(&self) -> StackUpstream<'_, T> {
        StackUpstream { d_output: Some(&self.a), dh_n: Some(&self.b), dc_n: self.c.as_deref() }
    }
}

/// Two stacked unidirectional layers equal the two single layers run one
/// after the other, forward and backward, bit for bit.
#[test]
fn two_layers_equal_two_single_layers_by_hand() {
    for cell in all_cells() {
        let (i, h, t, b) = (3, 5, 6, 2);
        let dims = Dims::new(t, b);
        let p = problem::<f64>(Stack::new(cell, i, h, 2, false), dims, 1);
        let trace = p.stack.forward_train(&p.w, dims, &p.x, Some(&p.h0), p.c0.as_deref(), SEQ);
        let (l0, l1) = (Rnn::new(cell, i, h), Rnn::new(cell, h, h));
        let bh = b * h;
        let st = |v: &[f64], u: usize| v[u * bh..][..bh].to_vec();
        let c0 = |u: usize| p.c0.as_deref().map(|c| st(c, u));
        let t0 = l0.forward_train(&p.w[0], dims, &p.x, Some(&st(&p.h0, 0)), c0(0).as_deref(), SEQ);
        let t1 = l1.forward_train(&p.w[1], dims, &t0.h_out, Some(&st(&p.h0, 1)), c0(1).as_deref(), SEQ);
        assert_eq!(trace.output, t1.h_out, "{cell:?}: output");
        assert_eq!(trace.h_n, [t0.h_n.clone(), t1.h_n.clone()].concat(), "{cell:?}: h_n");
        let g = p.stack.backward_trace(&p.w, trace, p.upstream(), BackwardOpts::default(), SEQ);
        let up1 = Upstream { dh_out: Some(&p.a), dh_n: Some(&p.b[bh..]), dc_n: p.c.as_deref().map(|c| &c[bh..]) };
        let g1 = l1.backward_trace(&p.w[1], t1, up1, BackwardOpts::default(), SEQ);
        let up0 = Upstream { dh_out: Some(&g1.dx), dh_n: Some(&p.b[..bh]), dc_n: p.c.as_deref().map(|c| &c[..bh]) };
        let g0 = l0.backward_trace(&p.w[0], t0, up0, BackwardOpts::default(), SEQ);
        assert_eq!(g.weights[0], g0.weights, "{cell:?}: layer 0 gradients");
        assert_eq!(g.weights[1], g1.weights, "{cell:?}: layer 1 gradients");
        assert_eq!(g.dx, g0.dx, "{cell:?}: dx");
        assert_eq!(g.dh0, [g0.dh0, g1.dh0].concat(), "{cell:?}: dh0");
        if let (Some(dc0), Some(a), Some(b)) = (&g.dc0, &g0.dc0, &g1.dc0) {
            assert_eq!(dc0, &[a.clone(), b.clone()].concat(), "{cell:?}: dc0");
        }
    }
}

/// `[T, B, n]` with each row's first `len` steps reversed (zero past them).
fn reversed(dims: Dims<'_>, v: &[f64], n: usize) -> Vec<f64> {
    let b = dims.batch;
    let mut out = vec![0.0; v.len()];
    for row in 0..b {
        let len = dims.len_of(row);
        for t in 0..len {
            out[(t * b + row) * n..][..n].copy_from_slice(&v[((len - 1 - t) * b + row) * n..][..n]);
        }
    }
    out
}

/// A bidirectional layer: the forward half of each output step is the single
/// layer on the sequence, the reverse half the single layer on each row's
/// reversed sequence, reversed back; gradients likewise. Equal lengths and
/// variable lengths.
#[test]
fn a_bidirectional_layer_equals_a_reversed_sequence_by_hand() {
    const LENGTHS: &[usize] = &[5, 2, 4];
    for cell in all_cells() {
        for dims in [Dims::new(5, 3), Dims::with_lengths(5, LENGTHS)] {
            let (i, h) = (4, 3);
            let (b, t) = (dims.batch, dims.seq_len);
            let p = problem::<f64>(Stack::new(cell, i, h, 1, true), dims, 2);
            let trace = p.stack.forward_train(&p.w, dims, &p.x, Some(&p.h0), p.c0.as_deref(), SEQ);
            let rnn = Rnn::new(cell, i, h);
            let bh = b * h;
            let st = |v: &[f64], u: usize| v[u * bh..][..bh].to_vec();
            let c0 = |u: usize| p.c0.as_deref().map(|c| st(c, u));
            let fwd = rnn.forward_train(&p.w[0], dims, &p.x, Some(&st(&p.h0, 0)), c0(0).as_deref(), SEQ);
            let x_rev = reversed(dims, &p.x, i);
            let rev = rnn.forward_train(&p.w[1], dims, &x_rev, Some(&st(&p.h0, 1)), c0(1).as_deref(), SEQ);
            let rev_out = reversed(dims, &rev.h_out, h);
            for s in 0..t {
                for row in 0..b {
                    let at = (s * b + row) * 2 * h;
                    assert_eq!(trace.output[at..at + h], fwd.h_out[(s * b + row) * h..][..h], "{cell:?} fwd t={s}");
                    assert_eq!(
                        trace.output[at + h..at + 2 * h],
                        rev_out[(s * b + row) * h..][..h],
                        "{cell:?} rev t={s}"
                    );
                }
            }
            assert_eq!(trace.h_n, [fwd.h_n.clone(), rev.h_n.clone()].concat(), "{cell:?}: h_n");
            // Backward: split the output gradient by direction (the reverse half in reversed time).
            let half = |dir: usize| -> Vec<f64> {
                (0..t * b).flat_map(|r| p.a[r * 2 * h + dir * h..][..h].to_vec()).collect()
            };
            let g = p.stack.backward_trace(&p.w, trace, p.upstream(), BackwardOpts::default(), SEQ);
            let (a0, a1) = (half(0), reversed(dims, &half(1), h));
            let cn = |u: usize| p.c.as_deref().map(|c| c[u * bh..][..bh].to_vec());
            let (c_0, c_1) = (cn(0), cn(1));
            let g0 = rnn.backward_trace(
                &p.w[0],
                fwd,
                Upstream { dh_out: Some(&a0), dh_n: Some(&p.b[..bh]), dc_n: c_0.as_deref() },
                BackwardOpts::default(),
                SEQ,
            );
            let g1 = rnn.backward_trace(
                &p.w[1],
                rev,
                Upstream { dh_out: Some(&a1), dh_n: Some(&p.b[bh..]), dc_n: c_1.as_deref() },
                BackwardOpts::default(),
                SEQ,
            );
            assert_eq!(g.weights[0], g0.weights, "{cell:?} {dims:?}: forward direction gradients");
            assert_eq!(g.weights[1], g1.weights, "{cell:?} {dims:?}: reverse direction gradients");
            let dx: Vec<f64> = g0.dx.iter().zip(reversed(dims, &g1.dx, i)).map(|(a, b)| a + b).collect();
            assert_eq!(g.dx, dx, "{cell:?} {dims:?}: dx");
            assert_eq!(g.dh0, [g0.dh0, g1.dh0].concat(), "{cell:?} {dims:?}: dh0");
        }
    }
}

/// Each row of a variable-length batch through a 2-layer bidirectional stack
/// equals that row run alone, unpadded.
#[test]
fn stacked_bidirectional_rows_match_their_unpadded_runs() {
    const LENGTHS: &[usize] = &[4, 7, 1, 6];
    for cell in all_cells() {
        let (i, h, t) = (3, 5, 7);
        let dims = Dims::with_lengths(t, LENGTHS);
        let b = dims.batch;
        let stack = Stack::new(cell, i, h, 2, true);
        let p = problem::<f64>(stack, dims, 3);
        let all = stack.forward_train(&p.w, dims, &p.x, Some(&p.h0), p.c0.as_deref(), SEQ);
        let (out_all, hn_all) = (all.output.clone(), all.h_n.clone());
        let g_all = stack.backward_trace(&p.w, all, p.upstream(), BackwardOpts::default(), SEQ);
        let (o, units) = (stack.output_size(), stack.units());
        let mut sum: Vec<Weights<f64>> = Weights::zeros_for(&stack);
        for (row, &len) in LENGTHS.iter().enumerate() {
            let what = format!("{cell:?} row {row} (length {len})");
            let rows = |v: &[f64], n: usize| -> Vec<f64> {
                (0..len).flat_map(|s| v[(s * b + row) * n..][..n].to_vec()).collect()
            };
            let states =
                |v: &[f64]| -> Vec<f64> { (0..units).flat_map(|u| v[(u * b + row) * h..][..h].to_vec()).collect() };
            let one_dims = Dims::new(len, 1);
            let c0 = p.c0.as_deref().map(states);
            let one = stack.forward_train(&p.w, one_dims, &rows(&p.x, i), Some(&states(&p.h0)), c0.as_deref(), SEQ);
            assert_close(&format!("{what}: output"), &rows(&out_all, o), &one.output, 1e-12);
            assert_close(&format!("{what}: h_n"), &states(&hn_all), &one.h_n, 1e-12);
            let (a, bb, c) = (rows(&p.a, o), states(&p.b), p.c.as_deref().map(states));
            let up = StackUpstream { d_output: Some(&a), dh_n: Some(&bb), dc_n: c.as_deref() };
            let g = stack.backward_trace(&p.w, one, up, BackwardOpts::default(), SEQ);
            assert_close(&format!("{what}: dx"), &rows(&g_all.dx, i), &g.dx, 1e-12);
            assert_close(&format!("{what}: dh0"), &states(&g_all.dh0), &g.dh0, 1e-12);
            for (s, w) in sum.iter_mut().zip(&g.weights) {
                for (s, w) in s.buffers_mut().into_iter().zip(w.buffers()) {
                    for (s, &w) in s.iter_mut().zip(w) {
                        *s += w;
                    }
                }
            }
        }
        for (u, (got, want)) in g_all.weights.iter().zip(&sum).enumerate() {
            for (k, (a, b)) in got.buffers().into_iter().zip(want.buffers()).enumerate() {
                assert_close(&format!("{cell:?} unit {u} buffer {k}: sum of rows"), a, b, 1e-12);
            }
        }
    }
}

/// Finite differences (f64, fourth-order central) of every parameter, input
/// and initial state of stacked, bidirectional and variable-length stacks of
/// every cell.
#[test]
fn stacks_pass_finite_differences() {
    const LENGTHS: &[usize] = &[4, 2, 3];
    let configs: [(usize, bool, Dims<'static>); 3] =
        [(2, false, Dims::new(4, 2)), (1, true, Dims::new(4, 2)), (2, true, Dims::with_lengths(4, LENGTHS))];
    for cell in all_cells() {
        for (layers, bidi, dims) in configs {
            let stack = Stack::new(cell, 3, 3, layers, bidi);
            let what = format!("{cell:?} L={layers} bidirectional={bidi} {dims:?}");
            // Retry with other data only if a perturbation crossed a ReLU kink.
            let worst =
                (0..20).find_map(|seed| fd_check(stack, dims, 100 + seed)).unwrap_or_else(|| panic!("{what}: kinks"));
            assert!(worst <= 1e-6, "{what}: max relative error {worst:e}");
        }
    }
}

fn loss(p: &Problem<f64>, dims: Dims<'_>) -> f64 {
    let o = p.stack.forward_infer(&p.w, dims, &p.x, Some(&p.h0), p.c0.as_deref(), SEQ);
    let mut l: f64 = p.a.iter().zip(&o.output).map(|(a, v)| a * v).sum();
    l += p.b.iter().zip(&o.h_n).map(|(b, v)| b * v).sum::<f64>();
    if let (Some(c), Some(cn)) = (&p.c, &o.c_n) {
        l += c.iter().zip(cn).map(|(c, v)| c * v).sum::<f64>();
    }
    l
}

/// Max relative error of every analytic gradient, or `None` when a ReLU kink
/// sits too close to the data (the numerical derivative is then invalid).
fn fd_check(stack: Stack, dims: Dims<'_>, seed: u64) -> Option<f64> {
    let mut p = problem::<f64>(stack, dims, seed);
    let trace = stack.forward_train(&p.w, dims, &p.x, Some(&p.h0), p.c0.as_deref(), SEQ);
    let g = stack.backward_trace(&p.w, trace, p.upstream(), BackwardOpts::default(), SEQ);
    let eps = 1e-5;
    let mut worst: f64 = 0.0;
    let mut check = |p: &mut Problem<f64>, get: &dyn Fn(&mut Problem<f64>) -> &mut f64, an: f64| -> Option<()> {
        let orig = *get(p);
        let mut f = [0.0; 4];
        for (fi, step) in f.iter_mut().zip([2.0, 1.0, -1.0, -2.0]) {
            *get(p) = orig + step * eps;
            *fi = loss(p, dims);
        }
        *get(p) = orig;
        let num = (-f[0] + 8.0 * f[1] - 8.0 * f[2] + f[3]) / (12.0 * eps);
        // Kinks: a second-order estimate far from the fourth-order one.
        let two = (f[1] - f[2]) / (2.0 * eps);
        if (two - num).abs() > 1e-4 * num.abs().max(1.0) {
            return None;
        }
        worst = worst.max((an - num).abs() / an.abs().max(num.abs()).max(1e-3));
        Some(())
    };
    for u in 0..stack.units() {
        for j in 0..4 {
            for k in 0..g.weights[u].buffers()[j].len() {
                let an = g.weights[u].buffers()[j][k];
                check(&mut p, &|p| &mut p.w[u].buffers_mut()[j][k], an)?;
            }
        }
    }
    for k in 0..p.x.len() {
        check(&mut p, &|p| &mut p.x[k], g.dx[k])?;
    }
    for k in 0..p.h0.len() {
        check(&mut p, &|p| &mut p.h0[k], g.dh0[k])?;
    }
    if let Some(dc0) = &g.dc0 {
        for (k, &an) in dc0.iter().enumerate() {
            check(&mut p, &|p| &mut p.c0.as_mut().unwrap()[k], an)?;
        }
    }
    Some(worst)
}

/// The two directions run in parallel with two or more threads; every result
/// is the same bits for every thread count.
#[test]
fn stacks_are_bitwise_identical_for_every_thread_count() {
    const LENGTHS: &[usize] = &[9, 3, 7, 9, 1];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    for cell in [Cell::Rnn(kernels::Activation::Tanh), Cell::Lstm, Cell::Gru] {
        for dims in [Dims::new(9, 5), Dims::with_lengths(9, LENGTHS)] {
            let stack = Stack::new(cell, 6, 90, 2, true);
            let p = problem::<f32>(stack, dims, 4);
            let run = |par: Parallelism| {
                let t = stack.forward_train(&p.w, dims, &p.x, Some(&p.h0), p.c0.as_deref(), par);
                let (o, hn) = (t.output.clone(), t.h_n.clone());
                let g = stack.backward_trace(
                    &p.w,
                    t,
                    p.upstream(),
                    BackwardOpts { accumulate: false, truncate: Some(4) },
                    par,
                );
                let inf = stack.forward_infer(&p.w, dims, &p.x, Some(&p.h0), p.c0.as_deref(), par);
                assert_eq!(inf.output, o, "inference and training outputs differ");
                (o, hn, g.weights, g.dx, g.dh0, g.step_norms)
            };
            let base = run(SEQ);
            for threads in [1, 2, 3, 4] {
                let got = pool.install(|| run(Parallelism::Rayon(threads)));
                assert!(got == base, "{cell:?} {dims:?}: {threads} threads differ");
            }
        }
    }
}

#[test]
fn parameter_names_follow_pytorch() {
    let s = Stack::new(Cell::Lstm, 3, 4, 2, true);
    let names = s.param_names();
    assert_eq!(names.len(), 16);
    assert_eq!(&names[..5], ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"]);
    assert_eq!(names[15], "bias_hh_l1_reverse");
    assert_eq!(s.layer(1).input_size(), 8);
    assert_eq!(s.num_params(), 2 * (16 * 3 + 16 * 4 + 32) + 2 * (16 * 8 + 16 * 4 + 32));
}

#[test]
fn a_flat_buffer_splits_in_parameter_name_order() {
    let s = Stack::new(Cell::Gru, 3, 4, 2, true);
    // Value i of the flat buffer is i: each piece must start where the one before ended,
    // with the length of the tensor its name stands for.
    let flat: Vec<f64> = (0..s.num_params()).map(|i| i as f64).collect();
    let parts = s.split_params(&flat);
    assert_eq!(parts.len(), s.units());
    let mut next = 0.0;
    for (u, p) in parts.iter().enumerate() {
        let rnn = s.layer(u / s.directions());
        for (piece, len) in
            [(p.w_ih, rnn.w_ih_len()), (p.w_hh, rnn.w_hh_len()), (p.b_ih, rnn.bias_len()), (p.b_hh, rnn.bias_len())]
        {
            assert_eq!(piece.len(), len, "unit {u}");
            assert_eq!(piece[0], next, "unit {u}");
            next += len as f64;
        }
    }
    assert_eq!(next, s.num_params() as f64);
    let mut grads = flat.clone();
    let views = s.split_params_mut(&mut grads);
    assert_eq!(views[3].b_hh.last(), Some(&(s.num_params() as f64 - 1.0)));
}

#[test]
#[should_panic(expected = "num_params")]
fn a_flat_buffer_of_the_wrong_length_is_refused() {
    let s = Stack::new(Cell::Lstm, 3, 4, 1, false);
    s.split_params(&vec![0.0f32; s.num_params() - 1]);
}
