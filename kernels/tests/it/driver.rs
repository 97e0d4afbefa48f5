//! Driver of the SIMD-level and thread tests: one training forward, one
//! inference forward and one backward through the slice API, every output
//! collected.

use crate::common::{TestRng, random_weights};
use kernels::{
    BackwardOpts, BackwardOut, Cell, Dims, ForwardOut, Parallelism, Real, Rnn, Saved, State, Upstream, Weights,
};

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
    pub dims: Dims<'static>,
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
    pub fn new(cell: Cell, input: usize, hidden: usize, dims: Dims<'static>, seed: u64) -> Self {
        let rnn = Rnn::new(cell, input, hidden);
        let mut rng = TestRng(seed);
        let bh = dims.batch * hidden;
        let lstm = cell.has_cell_state();
        let w = random_weights(&rnn, &mut rng);
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
            ForwardOut { h_out: &mut h_inf, h_n: None, c_n: c_inf.as_deref_mut(), tape: None },
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
            ForwardOut { h_out: &mut h_out, h_n: None, c_n: c_n.as_deref_mut(), tape: Some(&mut tape) },
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
