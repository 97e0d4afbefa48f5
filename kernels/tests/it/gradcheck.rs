//! Finite-difference checks of every gradient, in f64, for every cell and
//! activation, at shapes H ∈ {1, 3, 17}, B ∈ {1, 4}, T ∈ {1, 7}.
//!
//! Loss: `L = Σ A ⊙ h_{1..T} + Σ B ⊙ h_T (+ Σ C ⊙ c_T)` with random `A, B, C`,
//! so that every upstream path (`dh_out`, `dh_n`, `dc_n`) is exercised. The
//! numerical derivative is the 5-point stencil with step 1e-4 (truncation
//! error O(ε⁴)); the error measure is `|a - n| / max(|a|, |n|, 1e-3)`, i.e.
//! relative, and absolute for the rare components below 1e-3.

use crate::common::{TestRng, random_weights};
use kernels::reference;
use kernels::{Activation, BackwardOpts, Cell, Dims, Parallelism, Rnn, Upstream, Weights};

const EPS: f64 = 1e-4;
const TOL: f64 = 1e-6;

struct Problem {
    rnn: Rnn,
    dims: Dims<'static>,
    w: Weights<f64>,
    x: Vec<f64>,
    h0: Vec<f64>,
    c0: Option<Vec<f64>>,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Option<Vec<f64>>,
}

/// Which of the inputs a flat index perturbs.
#[derive(Clone, Copy, Debug)]
enum Slot {
    WIh,
    WHh,
    BIh,
    BHh,
    X,
    H0,
    C0,
}

impl Problem {
    fn new(cell: Cell, input: usize, hidden: usize, dims: Dims<'static>, seed: u64) -> Self {
        let rnn = Rnn::new(cell, input, hidden);
        let mut rng = TestRng(seed);
        let bh = dims.batch * hidden;
        let lstm = cell.has_cell_state();
        Problem {
            rnn,
            dims,
            w: random_weights(&rnn, &mut rng),
            x: rng.vec(dims.seq_len * dims.batch * input, 1.0),
            h0: rng.vec(bh, 0.8),
            c0: lstm.then(|| rng.vec(bh, 0.8)),
            a: rng.vec(dims.seq_len * bh, 1.0),
            b: rng.vec(bh, 1.0),
            c: lstm.then(|| rng.vec(bh, 1.0)),
        }
    }

    fn slot_mut(&mut self, s: Slot) -> &mut Vec<f64> {
        match s {
            Slot::WIh => &mut self.w.w_ih,
            Slot::WHh => &mut self.w.w_hh,
            Slot::BIh => &mut self.w.b_ih,
            Slot::BHh => &mut self.w.b_hh,
            Slot::X => &mut self.x,
            Slot::H0 => &mut self.h0,
            Slot::C0 => self.c0.as_mut().expect("LSTM"),
        }
    }

    /// The loss through the production inference path.
    fn loss(&self) -> f64 {
        let out = self.rnn.forward_infer(
            &self.w,
            self.dims,
            &self.x,
            Some(&self.h0),
            self.c0.as_deref(),
            Parallelism::Sequential,
        );
        let (h_out, h_n, c_n) = (out.h_out, out.h_n, out.c_n);
        let mut l: f64 = self.a.iter().zip(&h_out).map(|(a, h)| a * h).sum();
        l += self.b.iter().zip(&h_n).map(|(b, h)| b * h).sum::<f64>();
        if let (Some(c), Some(cn)) = (&self.c, &c_n) {
            l += c.iter().zip(cn).map(|(c, v)| c * v).sum::<f64>();
        }
        l
    }

    /// Sign pattern of all pre-activations (ReLU kinks), from the reference.
    fn kinks(&self) -> Vec<bool> {
        let f = reference::forward(&self.rnn, &self.w, self.dims, &self.x, &self.h0, self.c0.as_deref());
        f.pre.iter().map(|&v| v > 0.0).collect()
    }

    /// Max error of the analytic gradient against finite differences, or
    /// `None` if a perturbation crossed a ReLU kink (the check would be invalid).
    fn check(&mut self) -> Option<f64> {
        let relu = matches!(self.rnn.cell(), Cell::Rnn(Activation::Relu | Activation::LeakyRelu(_)));
        let base_kinks = relu.then(|| self.kinks());
        let trace = self.rnn.forward_train(
            &self.w,
            self.dims,
            &self.x,
            Some(&self.h0),
            self.c0.as_deref(),
            Parallelism::Sequential,
        );
        let g = self.rnn.backward_trace(
            &self.w,
            trace,
            Upstream { dh_out: Some(&self.a), dh_n: Some(&self.b), dc_n: self.c.as_deref() },
            BackwardOpts::default(),
            Parallelism::Sequential,
        );
        let mut slots = vec![
            (Slot::WIh, g.weights.w_ih.clone()),
            (Slot::WHh, g.weights.w_hh.clone()),
            (Slot::BIh, g.weights.b_ih.clone()),
            (Slot::BHh, g.weights.b_hh.clone()),
            (Slot::X, g.dx.clone()),
            (Slot::H0, g.dh0.clone()),
        ];
        if let Some(dc0) = g.dc0.clone() {
            slots.push((Slot::C0, dc0));
        }
        let mut worst: f64 = 0.0;
        for (slot, analytic) in slots {
            for (k, &an) in analytic.iter().enumerate() {
                let orig = self.slot_mut(slot)[k];
                let mut f = [0.0; 4];
                for (fi, step) in f.iter_mut().zip([2.0, 1.0, -1.0, -2.0]) {
                    self.slot_mut(slot)[k] = orig + step * EPS;
                    *fi = self.loss();
                    if let Some(base) = &base_kinks
                        && &self.kinks() != base
                    {
                        self.slot_mut(slot)[k] = orig;
                        return None;
                    }
                }
                self.slot_mut(slot)[k] = orig;
                let num = (-f[0] + 8.0 * f[1] - 8.0 * f[2] + f[3]) / (12.0 * EPS);
                let err = (an - num).abs() / an.abs().max(num.abs()).max(1e-3);
                assert!(err.is_finite(), "{slot:?}[{k}]: non-finite");
                if err > TOL {
                    eprintln!("{slot:?}[{k}]: analytic {an:e}, numerical {num:e}, error {err:e}");
                }
                worst = worst.max(err);
            }
        }
        Some(worst)
    }
}

fn check_cell(cell: Cell) {
    // Equal lengths, and variable lengths (rows in any order, one of length 1,
    // a batch of one shorter row).
    let shapes: [Dims<'static>; 6] = [
        Dims::new(1, 1),
        Dims::new(7, 1),
        Dims::new(1, 4),
        Dims::new(7, 4),
        Dims::with_lengths(7, &[7, 3, 1, 5]),
        Dims::with_lengths(7, &[4]),
    ];
    for hidden in [1, 3, 17] {
        for dims in shapes {
            let input = 5;
            let what = format!("{cell:?} H={hidden} T={} lengths={:?} B={}", dims.seq_len, dims.lengths, dims.batch);
            // Retry with other data only if a perturbation crossed a ReLU kink.
            let err = (0..50)
                .find_map(|seed| Problem::new(cell, input, hidden, dims, 1000 + seed).check())
                .unwrap_or_else(|| panic!("{what}: every seed crossed a kink"));
            eprintln!("{what}: max error {err:e}");
            assert!(err <= TOL, "{what}: max relative error {err:e} > {TOL:e}");
        }
    }
}

#[test]
fn gradcheck_rnn_tanh() {
    check_cell(Cell::Rnn(Activation::Tanh));
}
#[test]
fn gradcheck_rnn_sigmoid() {
    check_cell(Cell::Rnn(Activation::Sigmoid));
}
#[test]
fn gradcheck_rnn_relu() {
    check_cell(Cell::Rnn(Activation::Relu));
}
#[test]
fn gradcheck_rnn_leaky_relu() {
    check_cell(Cell::Rnn(Activation::LeakyRelu(0.1)));
}
#[test]
fn gradcheck_rnn_linear() {
    check_cell(Cell::Rnn(Activation::Linear));
}
#[test]
fn gradcheck_lstm() {
    check_cell(Cell::Lstm);
}
#[test]
fn gradcheck_gru() {
    check_cell(Cell::Gru);
}

/// The check itself can fail: a wrong gradient (one weight-gradient entry
/// perturbed) is caught.
#[test]
fn gradcheck_detects_a_wrong_gradient() {
    let mut p = Problem::new(Cell::Gru, 3, 4, Dims::new(3, 2), 7);
    let trace = p.rnn.forward_train(&p.w, p.dims, &p.x, Some(&p.h0), None, Parallelism::Sequential);
    let g = p.rnn.backward_trace(
        &p.w,
        trace,
        Upstream { dh_out: Some(&p.a), dh_n: Some(&p.b), dc_n: None },
        BackwardOpts::default(),
        Parallelism::Sequential,
    );
    let k = 5;
    let orig = p.w.w_hh[k];
    let f = |p: &mut Problem, v: f64| {
        p.w.w_hh[k] = v;
        p.loss()
    };
    let num = (-f(&mut p, orig + 2.0 * EPS) + 8.0 * f(&mut p, orig + EPS) - 8.0 * f(&mut p, orig - EPS)
        + f(&mut p, orig - 2.0 * EPS))
        / (12.0 * EPS);
    let right = (g.weights.w_hh[k] - num).abs() / num.abs().max(1e-3);
    let wrong = (g.weights.w_hh[k] * 1.001 - num).abs() / num.abs().max(1e-3);
    assert!(right <= TOL, "{right:e}");
    assert!(wrong > TOL, "a 0.1% error went unnoticed: {wrong:e}");
}
