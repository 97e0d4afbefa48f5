//! Weights packed once (`PackedWeights`): forwards on them equal `Rnn::forward`
//! bit for bit, a loop of single steps equals one forward over the sequence,
//! calls run at the level the weights were packed at, a clone equals the
//! original, and bad arguments are reported as values.

use crate::common::{TestRng, all_cells, assert_close, random_weights};
use kernels::simd::{self, Level};
use kernels::{Cell, Dims, ForwardOut, PackedWeights, Parallelism, Real, Rnn, State, StepOut, Weights};

struct Setup<T> {
    rnn: Rnn,
    w: Weights<T>,
    x: Vec<T>,
    h0: Vec<T>,
    c0: Option<Vec<T>>,
}

fn setup<T: Real>(cell: Cell, input: usize, hidden: usize, dims: Dims<'_>) -> Setup<T> {
    let rnn = Rnn::new(cell, input, hidden);
    let mut rng = TestRng(41);
    let w = random_weights(&rnn, &mut rng);
    let x = rng.vec(dims.seq_len * dims.batch * input, 1.0);
    let h0 = rng.vec(dims.batch * hidden, 0.5);
    let c0 = cell.has_cell_state().then(|| rng.vec(dims.batch * hidden, 0.5));
    Setup { rnn, w, x, h0, c0 }
}

/// Every output of a forward: `(h_out, h_n, c_n, tape)`.
type Outputs<T> = (Vec<T>, Vec<T>, Vec<T>, Vec<T>);

fn forward<T: Real>(s: &Setup<T>, dims: Dims<'_>, packed: Option<&PackedWeights<T>>, training: bool) -> Outputs<T> {
    let bh = dims.batch * s.rnn.hidden_size();
    let mut h_out = vec![T::ZERO; dims.seq_len * bh];
    let mut h_n = vec![T::ZERO; bh];
    let mut c_n = vec![T::ZERO; if s.c0.is_some() { bh } else { 0 }];
    let mut tape = vec![T::ZERO; if training { s.rnn.tape_len(dims) } else { 0 }];
    let out = ForwardOut {
        h_out: &mut h_out,
        h_n: Some(&mut h_n),
        c_n: s.c0.is_some().then_some(&mut c_n[..]),
        tape: training.then_some(&mut tape[..]),
    };
    let init = State { h: &s.h0, c: s.c0.as_deref() };
    let par = Parallelism::Sequential;
    match packed {
        Some(p) => {
            let mut scratch = vec![T::ZERO; p.forward_scratch_len(dims, training)];
            p.forward(dims, &s.x, init, out, &mut scratch, par);
        }
        None => {
            let mut scratch = vec![T::ZERO; s.rnn.forward_scratch_len(dims, training)];
            s.rnn.forward(s.w.view(), dims, &s.x, init, out, &mut scratch, par);
        }
    }
    (h_out, h_n, c_n, tape)
}

#[test]
fn forward_on_packed_weights_equals_forward() {
    const LENGTHS: &[usize] = &[6, 2, 5];
    for cell in all_cells() {
        for dims in [Dims::new(6, 1), Dims::new(6, 3), Dims::with_lengths(6, LENGTHS)] {
            for training in [false, true] {
                let s = setup::<f32>(cell, 5, 37, dims);
                let p = PackedWeights::new(&s.rnn, s.w.view());
                assert!(
                    forward(&s, dims, Some(&p), training) == forward(&s, dims, None, training),
                    "{cell:?} {dims:?} training={training}: packed forward differs"
                );
            }
        }
    }
}

/// A decode loop of single steps against one forward over the whole sequence.
fn decode_matches_forward<T: Real>(cell: Cell, batch: usize, tol: f64) {
    let (input, hidden, steps) = (7, 45, 9);
    let dims = Dims::new(steps, batch);
    let s = setup::<T>(cell, input, hidden, dims);
    let (h_out, _, c_n, _) = forward(&s, dims, None, false);
    let p = PackedWeights::new(&s.rnn, s.w.view());
    let bh = batch * hidden;
    let (mut h, mut c) = (s.h0.clone(), s.c0.clone());
    let (mut h_next, mut c_next) = (vec![T::ZERO; bh], s.c0.as_ref().map(|_| vec![T::ZERO; bh]));
    let mut scratch = vec![T::ZERO; p.step_scratch_len(batch)];
    for t in 0..steps {
        let x = &s.x[t * batch * input..][..batch * input];
        let next = StepOut { h: &mut h_next, c: c_next.as_deref_mut() };
        p.step(x, State { h: &h, c: c.as_deref() }, next, &mut scratch, Parallelism::Sequential);
        std::mem::swap(&mut h, &mut h_next);
        std::mem::swap(&mut c, &mut c_next);
        let what = format!("{cell:?} B={batch} {} step {t}", T::NAME);
        assert_close(&what, &h, &h_out[t * bh..][..bh], tol);
    }
    if let Some(c) = &c {
        assert_close(&format!("{cell:?} B={batch} c_n"), c, &c_n, tol);
    }
}

#[test]
fn decode_steps_match_one_forward() {
    for cell in all_cells() {
        for batch in [1, 3] {
            decode_matches_forward::<f64>(cell, batch, 1e-12);
            decode_matches_forward::<f32>(cell, batch, 1e-5);
        }
    }
}

/// A clone owns its own panels (a new allocation, aligned afresh) and gives the
/// same bits as the original, also after the original is gone.
#[test]
fn a_clone_forwards_like_the_original() {
    for cell in all_cells() {
        let dims = Dims::new(4, 3);
        let s = setup::<f32>(cell, 5, 37, dims);
        let p = PackedWeights::new(&s.rnn, s.w.view());
        let expect = forward(&s, dims, Some(&p), true);
        let q = p.clone();
        drop(p);
        assert!(forward(&s, dims, Some(&q), true) == expect, "{cell:?}: the clone's forward differs");
    }
}

/// Packed at one level, a call runs at that level whatever is in force.
#[test]
fn calls_run_at_the_packing_level() {
    let levels: Vec<Level> = Level::ALL.into_iter().filter(|l| l.is_available()).collect();
    for cell in [Cell::Lstm, Cell::Gru] {
        let dims = Dims::new(5, 2);
        let s = setup::<f32>(cell, 4, 33, dims);
        for &packed_at in &levels {
            let p = simd::with_level(packed_at, || PackedWeights::new(&s.rnn, s.w.view()));
            assert_eq!(p.level(), packed_at);
            let expect = simd::with_level(packed_at, || forward(&s, dims, None, false));
            for &called_at in &levels {
                let got = simd::with_level(called_at, || forward(&s, dims, Some(&p), false));
                assert!(got == expect, "{cell:?}: packed at {packed_at:?}, called at {called_at:?}");
            }
        }
    }
}

#[test]
fn bad_arguments_are_reported_as_values() {
    let rnn = Rnn::new(Cell::Lstm, 3, 4);
    let w = Weights::<f64>::zeros(&rnn);
    let short = vec![0.0; 5];
    let bad = kernels::Params { w_hh: &short, ..w.view() };
    let e = PackedWeights::try_new(&rnn, bad).unwrap_err();
    assert_eq!(e.arg, "params.w_hh");
    let p = PackedWeights::new(&rnn, w.view());
    let (h, c) = (vec![0.0; 8], vec![0.0; 8]);
    let (mut hn, mut cn) = (vec![0.0; 8], vec![0.0; 8]);
    let scratch = vec![0.0; p.step_scratch_len(2)];
    let x = vec![0.0; 6];
    let prev = State { h: &h, c: Some(&c) };
    // x of 5 values is not B·I for I = 3.
    let e = p.check_step(&x[..5], &prev, &StepOut { h: &mut hn, c: Some(&mut cn) }, &scratch).unwrap_err();
    assert_eq!((e.call, e.arg.as_str()), ("PackedWeights::step", "x"));
    let e = p.check_step(&x, &prev, &StepOut { h: &mut hn, c: None }, &scratch).unwrap_err();
    assert_eq!(e.arg, "next.c");
    let e = p.check_step(&x, &prev, &StepOut { h: &mut hn[..3], c: Some(&mut cn) }, &scratch).unwrap_err();
    assert_eq!(e.arg, "next.h");
    let e = p.check_step(&x, &prev, &StepOut { h: &mut hn, c: Some(&mut cn) }, &scratch[..1]).unwrap_err();
    assert_eq!(e.arg, "scratch");
    assert!(p.check_step(&x, &prev, &StepOut { h: &mut hn, c: Some(&mut cn) }, &scratch).is_ok());
}
