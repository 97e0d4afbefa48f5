//! Shared driver of the SIMD, thread and allocation tests: one training
//! forward, one inference forward and one backward through the slice API,
//! every output collected.
#![allow(dead_code)]

use kernels::{
    Activation, BackwardOpts, BackwardOut, Cell, Dims, ForwardOut, Parallelism, Real, Rnn, Saved, State, Upstream,
    Weights,
};

pub fn all_cells() -> Vec<Cell> {
    vec![
        Cell::Rnn(Activation::Tanh),
        Cell::Rnn(Activation::Sigmoid),
        Cell::Rnn(Activation::Relu),
        Cell::Rnn(Activation::LeakyRelu(0.1)),
        Cell::Rnn(Activation::Linear),
        Cell::Lstm,
        Cell::Gru,
    ]
}

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn uniform(&mut self, scale: f64) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale
    }
    pub fn vec<T: Real>(&mut self, n: usize, scale: f64) -> Vec<T> {
        (0..n).map(|_| T::from_f64(self.uniform(scale))).collect()
    }
}

/// Which outputs backward is asked for.
#[derive(Clone, Copy, Debug)]
pub struct Want {
    pub dh_all: bool,
    pub step_norms: bool,
    pub dh0: bool,
    pub dc0: bool,
    pub truncate: Option<usize>,
}

impl Want {
    pub const ALL: Want = Want { dh_all: true, step_norms: true, dh0: true, dc0: true, truncate: None };
}

pub struct Case<T> {
    pub rnn: Rnn,
    pub dims: Dims,
    pub w: Weights<T>,
    pub x: Vec<T>,
    pub h0: Vec<T>,
    pub c0: Option<Vec<T>>,
    pub dh_out: Vec<T>,
    pub dh_n: Vec<T>,
    pub dc_n: Option<Vec<T>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outputs<T> {
    pub h_out: Vec<T>,
    pub c_n: Option<Vec<T>>,
    pub h_inf: Vec<T>,
    pub c_inf: Option<Vec<T>>,
    pub grads: Weights<T>,
    pub dx: Vec<T>,
    pub dh0: Vec<T>,
    pub dc0: Vec<T>,
    pub step_norms: Vec<T>,
    pub dh_all: Vec<T>,
}

impl<T: Real> Case<T> {
    pub fn new(cell: Cell, input: usize, hidden: usize, dims: Dims, seed: u64) -> Self {
        let rnn = Rnn::new(cell, input, hidden);
        let mut rng = Rng(seed);
        let bh = dims.batch * hidden;
        let lstm = cell.has_cell_state();
        let (i, h) = (input as f64, hidden as f64);
        let w = Weights {
            w_ih: rng.vec(rnn.w_ih_len(), 1.0 / i.sqrt()),
            w_hh: rng.vec(rnn.w_hh_len(), 1.2 / h.sqrt()),
            b_ih: rng.vec(rnn.bias_len(), 0.5),
            b_hh: rng.vec(rnn.bias_len(), 0.5),
        };
        Case {
            rnn,
            dims,
            w,
            x: rng.vec(dims.seq_len * dims.batch * input, 1.0),
            h0: rng.vec(bh, 0.5),
            c0: lstm.then(|| rng.vec(bh, 0.5)),
            dh_out: rng.vec(dims.seq_len * bh, 1.0),
            dh_n: rng.vec(bh, 1.0),
            dc_n: lstm.then(|| rng.vec(bh, 1.0)),
        }
    }

    /// Runs both forwards and the backward through the slice API.
    pub fn run(&self, par: Parallelism, want: Want) -> Outputs<T> {
        let (rnn, dims) = (&self.rnn, self.dims);
        let bh = self.h0.len();
        let n = dims.seq_len * bh;
        let init = State { h: &self.h0, c: self.c0.as_deref() };
        let lstm = rnn.cell().has_cell_state();
        let mut scratch = vec![T::ZERO; rnn.forward_scratch_len(dims, false)];
        let mut h_inf = vec![T::ZERO; n];
        let mut c_inf = lstm.then(|| vec![T::ZERO; bh]);
        rnn.forward(
            self.w.view(),
            dims,
            &self.x,
            init,
            ForwardOut { h_out: &mut h_inf, c_n: c_inf.as_deref_mut(), tape: None },
            &mut scratch,
            par,
        );
        let mut scratch = vec![T::ZERO; rnn.forward_scratch_len(dims, true).max(rnn.backward_scratch_len(dims))];
        let mut h_out = vec![T::ZERO; n];
        let mut c_n = lstm.then(|| vec![T::ZERO; bh]);
        let mut tape = vec![T::ZERO; rnn.tape_len(dims)];
        rnn.forward(
            self.w.view(),
            dims,
            &self.x,
            init,
            ForwardOut { h_out: &mut h_out, c_n: c_n.as_deref_mut(), tape: Some(&mut tape) },
            &mut scratch,
            par,
        );
        let mut grads = Weights::zeros(rnn);
        let mut dx = vec![T::ZERO; self.x.len()];
        let mut dh0 = vec![T::ZERO; if want.dh0 { bh } else { 0 }];
        let mut dc0 = vec![T::ZERO; if want.dc0 && lstm { bh } else { 0 }];
        let mut step_norms = vec![T::ZERO; if want.step_norms { dims.seq_len } else { 0 }];
        let mut dh_all = vec![T::ZERO; if want.dh_all { n } else { 0 }];
        rnn.backward(
            self.w.view(),
            dims,
            Saved { x: &self.x, init, h_out: &h_out, tape: &mut tape },
            Upstream { dh_out: Some(&self.dh_out), dh_n: Some(&self.dh_n), dc_n: self.dc_n.as_deref() },
            BackwardOut {
                grads: Some(grads.view_mut()),
                dx: Some(&mut dx),
                dh0: opt(&mut dh0),
                dc0: opt(&mut dc0),
                step_norms: opt(&mut step_norms),
                dh_all: opt(&mut dh_all),
            },
            BackwardOpts { accumulate: false, truncate: want.truncate },
            &mut scratch,
            par,
        );
        Outputs { h_out, c_n, h_inf, c_inf, grads, dx, dh0, dc0, step_norms, dh_all }
    }
}

fn opt<T>(v: &mut [T]) -> Option<&mut [T]> {
    if v.is_empty() { None } else { Some(v) }
}

/// Normwise relative difference `max|a - b| / max|b|`.
pub fn rel_diff<T: Real>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let (mut d, mut s) = (0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        d = d.max((x.to_f64() - y.to_f64()).abs());
        s = s.max(y.to_f64().abs());
    }
    if d == 0.0 { 0.0 } else { d / s.max(f64::MIN_POSITIVE) }
}

#[track_caller]
pub fn assert_close<T: Real>(what: &str, a: &[T], b: &[T], tol: f64) {
    assert!(a.iter().all(|v| v.is_finite()), "{what}: non-finite values");
    let d = rel_diff(a, b);
    assert!(d <= tol, "{what}: relative difference {d:e} > {tol:e}");
}
