//! Variable-length batches (`Dims::with_lengths`) against independent
//! compositions: each row run alone, unpadded, with the same weights; and the
//! explicit all-`T` lengths against no lengths. Every cell, every SIMD level the
//! host has, and every thread count.

use crate::common::{TestRng, all_cells, assert_close, random_weights};
use crate::driver::{Case, Want};
use kernels::simd::{self, Level};
use kernels::{BackwardOpts, Cell, Dims, Parallelism, Real, Rnn, Upstream, Weights};

/// Rows in no particular order, one of length 1, two of the full length.
const LENGTHS: &[usize] = &[5, 2, 7, 1, 7];
const T_MAX: usize = 7;

struct Run<T> {
    h_out: Vec<T>,
    h_n: Vec<T>,
    c_n: Option<Vec<T>>,
    grads: Weights<T>,
    dx: Vec<T>,
    dh0: Vec<T>,
    dc0: Option<Vec<T>>,
    dh_all: Vec<T>,
}

/// Forward and backward of one call with every output, from upstream
/// gradients `a` (at every step), `b` (final `h`), `c` (final `c`).
#[allow(clippy::too_many_arguments)]
fn run<T: Real>(
    rnn: &Rnn,
    w: &Weights<T>,
    dims: Dims<'_>,
    x: &[T],
    h0: &[T],
    c0: Option<&[T]>,
    (a, b, c): (&[T], &[T], Option<&[T]>),
    par: Parallelism,
) -> Run<T> {
    let trace = rnn.forward_train(w, dims, x, Some(h0), c0, par);
    let (h_out, h_n, c_n) = (trace.h_out.clone(), trace.h_n.clone(), trace.c_n.clone());
    let g = rnn.backward_trace(
        w,
        trace,
        Upstream { dh_out: Some(a), dh_n: Some(b), dc_n: c },
        BackwardOpts::default(),
        par,
    );
    Run { h_out, h_n, c_n, grads: g.weights, dx: g.dx, dh0: g.dh0, dc0: g.dc0, dh_all: g.dh_all }
}

/// Rows `b` of the `[T, B, n]` buffer `v` for steps `0..len`, as `[len, 1, n]`.
fn row_of<T: Real>(v: &[T], b: usize, batch: usize, n: usize, len: usize) -> Vec<T> {
    (0..len).flat_map(|t| v[(t * batch + b) * n..][..n].to_vec()).collect()
}

fn compare_with_rows<T: Real>(cell: Cell, tol: f64, par: Parallelism) {
    let (input, hidden, batch) = (3, 9, LENGTHS.len());
    let rnn = Rnn::new(cell, input, hidden);
    let mut rng = TestRng(17);
    let w: Weights<T> = random_weights(&rnn, &mut rng);
    let x: Vec<T> = rng.vec(T_MAX * batch * input, 1.0);
    let h0: Vec<T> = rng.vec(batch * hidden, 0.5);
    let lstm = cell.has_cell_state();
    let c0: Option<Vec<T>> = lstm.then(|| rng.vec(batch * hidden, 0.5));
    let a: Vec<T> = rng.vec(T_MAX * batch * hidden, 1.0);
    let b: Vec<T> = rng.vec(batch * hidden, 1.0);
    let c: Option<Vec<T>> = lstm.then(|| rng.vec(batch * hidden, 1.0));
    let dims = Dims::with_lengths(T_MAX, LENGTHS);
    let all = run(&rnn, &w, dims, &x, &h0, c0.as_deref(), (&a, &b, c.as_deref()), par);

    let mut sum = Weights::<T>::zeros(&rnn);
    for (row, &len) in LENGTHS.iter().enumerate() {
        let what = format!("{cell:?} {} row {row} (length {len})", T::NAME);
        let slice = |v: &[T], n| row_of(v, row, batch, n, len);
        let state = |v: &[T]| v[row * hidden..][..hidden].to_vec();
        let one = run(
            &rnn,
            &w,
            Dims::new(len, 1),
            &slice(&x, input),
            &state(&h0),
            c0.as_deref().map(state).as_deref(),
            (&slice(&a, hidden), &state(&b), c.as_deref().map(state).as_deref()),
            Parallelism::Sequential,
        );
        assert_close(&format!("{what}: h_out"), &slice(&all.h_out, hidden), &one.h_out, tol);
        assert_close(&format!("{what}: h_n"), &state(&all.h_n), &one.h_n, tol);
        if let (Some(all_c), Some(one_c)) = (&all.c_n, &one.c_n) {
            assert_close(&format!("{what}: c_n"), &state(all_c), one_c, tol);
        }
        assert_close(&format!("{what}: dx"), &slice(&all.dx, input), &one.dx, tol);
        assert_close(&format!("{what}: dh0"), &state(&all.dh0), &one.dh0, tol);
        if let (Some(all_c), Some(one_c)) = (&all.dc0, &one.dc0) {
            assert_close(&format!("{what}: dc0"), &state(all_c), one_c, tol);
        }
        assert_close(&format!("{what}: dh_t"), &slice(&all.dh_all, hidden), &one.dh_all, tol);
        // Past the row's end: zero output, zero input gradient, zero dh_t.
        for t in len..T_MAX {
            let at = |v: &[T], n: usize| v[(t * batch + row) * n..][..n].iter().all(|&v| v == T::ZERO);
            assert!(at(&all.h_out, hidden), "{what}: h_out at padded step {t} is not zero");
            assert!(at(&all.dx, input), "{what}: dx at padded step {t} is not zero");
            assert!(at(&all.dh_all, hidden), "{what}: dh_t at padded step {t} is not zero");
        }
        for (s, o) in sum.buffers_mut().into_iter().zip(one.grads.buffers()) {
            for (s, &o) in s.iter_mut().zip(o) {
                *s += o;
            }
        }
    }
    for (name, (got, want)) in
        ["w_ih", "w_hh", "b_ih", "b_hh"].iter().zip(all.grads.buffers().into_iter().zip(sum.buffers()))
    {
        assert_close(&format!("{cell:?} {}: {name} against the sum of the rows' gradients", T::NAME), got, want, tol);
    }
}

/// Each row of a variable-length batch matches the row run alone, for every
/// cell, in f64 and f32, sequential and on 2 threads.
#[test]
fn rows_match_their_unpadded_runs() {
    for cell in all_cells() {
        for par in [Parallelism::Sequential, Parallelism::Rayon(2)] {
            compare_with_rows::<f64>(cell, 1e-12, par);
            compare_with_rows::<f32>(cell, 2e-5, par);
        }
    }
}

/// The same, at every SIMD level the host has (levels it lacks are skipped).
#[test]
fn rows_match_their_unpadded_runs_at_every_level() {
    for level in Level::ALL.into_iter().filter(|l| l.is_available()) {
        for cell in [Cell::Rnn(kernels::Activation::Tanh), Cell::Lstm, Cell::Gru] {
            simd::with_level(level, || compare_with_rows::<f64>(cell, 1e-12, Parallelism::Sequential));
        }
    }
}

/// Lengths that are all `T` change nothing, bit for bit.
#[test]
fn full_lengths_equal_no_lengths() {
    const FULL: &[usize] = &[6, 6, 6];
    for cell in all_cells() {
        let padded = Case::<f32>::new(cell, 4, 11, Dims::new(6, 3), 5).run(Parallelism::Sequential, Want::ALL);
        let full =
            Case::<f32>::new(cell, 4, 11, Dims::with_lengths(6, FULL), 5).run(Parallelism::Sequential, Want::ALL);
        assert!(padded == full, "{cell:?}: explicit full lengths differ from none");
    }
}

/// Every thread count gives the same bits with variable lengths, for the
/// panel split (small batch) and the row split (large batch), with and
/// without truncation.
#[test]
fn variable_lengths_are_bitwise_identical_for_every_thread_count() {
    const SMALL: &[usize] = &[9, 4, 1, 9, 6];
    let large: &'static [usize] = Box::leak((0..24).map(|b| 1 + (b * 7) % 9).collect::<Vec<_>>().into_boxed_slice());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    for cell in all_cells() {
        // H = 200 at B = 5: enough work per step to split by panels.
        for (lengths, hidden) in [(SMALL, 200), (large, 20)] {
            let c = Case::<f32>::new(cell, 5, hidden, Dims::with_lengths(9, lengths), 3);
            for want in [Want::ALL, Want { dh_all: false, step_norms: true, dh0: true, dc0: true, truncate: Some(2) }] {
                let base = c.run(Parallelism::Sequential, want);
                for threads in [2, 3, 4] {
                    let o = pool.install(|| c.run(Parallelism::Rayon(threads), want));
                    assert!(o == base, "{cell:?} lengths {lengths:?} {want:?}: {threads} threads differ");
                }
            }
        }
    }
}
