//! Plain scalar reference implementation: the obvious loops, one time step,
//! batch row and hidden unit at a time, with every pre-activation kept.
//!
//! It shares no code with the production path (not even the activation
//! derivatives, which it takes from pre-activations), so that the tests can
//! use it as an oracle; the benchmarks use it as the baseline. Same formulas,
//! layouts and truncation rule as [`crate::Rnn`].

// Index loops are the point here: the reference reads like the formulas.
#![allow(clippy::needless_range_loop)]

use crate::activation::{Activation, sigmoid};
use crate::cells::Cell;
use crate::layer::Weights;
use crate::real::Real;
use crate::sequence::{Dims, Rnn};

/// Everything the reference forward computed.
#[derive(Clone, Debug)]
pub struct RefForward<T> {
    /// `h_1..h_T`: `[T, B, H]`.
    pub h: Vec<T>,
    /// `c_1..c_T` (LSTM, else empty): `[T, B, H]`.
    pub c: Vec<T>,
    /// Pre-activations `[T, B, G·H]`: for the GRU's `n` block,
    /// `W_in x + b_in + r ⊙ (W_hn h + b_hn)`.
    pub pre: Vec<T>,
    /// GRU only: `W_hn h_{t-1} + b_hn`, `[T, B, H]`.
    pub hn: Vec<T>,
}

/// Everything the reference backward computed.
#[derive(Clone, Debug)]
pub struct RefGrads<T> {
    /// Weight and bias gradients.
    pub weights: Weights<T>,
    /// `dL/dx: [T, B, I]`.
    pub dx: Vec<T>,
    /// `dL/dh_0: [B, H]`.
    pub dh0: Vec<T>,
    /// `dL/dc_0: [B, H]` (LSTM, else empty).
    pub dc0: Vec<T>,
    /// `‖dL/dh_t‖_F` over the batch, `[T]`.
    pub step_norms: Vec<T>,
}

fn act_derivative<T: Real>(act: Activation, a: T) -> T {
    match act {
        Activation::Tanh => {
            let y = a.tanh();
            T::ONE - y * y
        }
        Activation::Sigmoid => {
            let s = sigmoid(a);
            s * (T::ONE - s)
        }
        Activation::Relu => {
            if a > T::ZERO {
                T::ONE
            } else {
                T::ZERO
            }
        }
        Activation::LeakyRelu(slope) => {
            if a > T::ZERO {
                T::ONE
            } else {
                T::from_f64(slope)
            }
        }
        Activation::Linear => T::ONE,
    }
}

/// `Σ_k w[row, k] v[k]` for a row-major matrix with `v.len()` columns.
fn dot_row<T: Real>(w: &[T], row: usize, v: &[T]) -> T {
    let n = v.len();
    let mut s = T::ZERO;
    for k in 0..n {
        s += w[row * n + k] * v[k];
    }
    s
}

/// Reference forward over the sequence `x: [T, B, I]` from `h0` (and `c0` for the LSTM).
pub fn forward<T: Real>(rnn: &Rnn, w: &Weights<T>, dims: Dims, x: &[T], h0: &[T], c0: Option<&[T]>) -> RefForward<T> {
    let (tn, bn, hn_, inp) = (dims.seq_len, dims.batch, rnn.hidden_size(), rnn.input_size());
    let g = rnn.cell().gates();
    let gh = g * hn_;
    let mut out = RefForward {
        h: vec![T::ZERO; tn * bn * hn_],
        c: if rnn.cell() == Cell::Lstm { vec![T::ZERO; tn * bn * hn_] } else { Vec::new() },
        pre: vec![T::ZERO; tn * bn * gh],
        hn: if rnn.cell() == Cell::Gru { vec![T::ZERO; tn * bn * hn_] } else { Vec::new() },
    };
    for t in 0..tn {
        for b in 0..bn {
            let xt = &x[(t * bn + b) * inp..][..inp];
            let h_prev: Vec<T> =
                if t == 0 { h0[b * hn_..][..hn_].to_vec() } else { out.h[((t - 1) * bn + b) * hn_..][..hn_].to_vec() };
            // Input and recurrent parts of every gate row, biases included.
            let xa: Vec<T> = (0..gh).map(|r| dot_row(&w.w_ih, r, xt) + w.b_ih[r]).collect();
            let ha: Vec<T> = (0..gh).map(|r| dot_row(&w.w_hh, r, &h_prev) + w.b_hh[r]).collect();
            let pre = &mut out.pre[(t * bn + b) * gh..][..gh];
            let idx = (t * bn + b) * hn_;
            match rnn.cell() {
                Cell::Rnn(act) => {
                    for j in 0..hn_ {
                        pre[j] = xa[j] + ha[j];
                        out.h[idx + j] = act.apply(pre[j]);
                    }
                }
                Cell::Lstm => {
                    for j in 0..hn_ {
                        for q in 0..4 {
                            pre[q * hn_ + j] = xa[q * hn_ + j] + ha[q * hn_ + j];
                        }
                        let i = sigmoid(pre[j]);
                        let f = sigmoid(pre[hn_ + j]);
                        let gg = pre[2 * hn_ + j].tanh();
                        let o = sigmoid(pre[3 * hn_ + j]);
                        let c_prev =
                            if t == 0 { c0.expect("LSTM needs c0")[b * hn_ + j] } else { out.c[idx - bn * hn_ + j] };
                        let c = f * c_prev + i * gg;
                        out.c[idx + j] = c;
                        out.h[idx + j] = o * c.tanh();
                    }
                }
                Cell::Gru => {
                    for j in 0..hn_ {
                        pre[j] = xa[j] + ha[j];
                        pre[hn_ + j] = xa[hn_ + j] + ha[hn_ + j];
                        let r = sigmoid(pre[j]);
                        let z = sigmoid(pre[hn_ + j]);
                        out.hn[idx + j] = ha[2 * hn_ + j];
                        pre[2 * hn_ + j] = xa[2 * hn_ + j] + r * ha[2 * hn_ + j];
                        let n = pre[2 * hn_ + j].tanh();
                        out.h[idx + j] = (T::ONE - z) * n + z * h_prev[j];
                    }
                }
            }
        }
    }
    out
}

/// Reference BPTT. `dh_out: [T, B, H]` and `dh_n, dc_n: [B, H]` are the
/// upstream gradients (`None` = zero); `truncate` as
/// [`crate::BackwardOpts::truncate`].
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    rnn: &Rnn,
    w: &Weights<T>,
    dims: Dims,
    x: &[T],
    h0: &[T],
    c0: Option<&[T]>,
    fwd: &RefForward<T>,
    dh_out: Option<&[T]>,
    dh_n: Option<&[T]>,
    dc_n: Option<&[T]>,
    truncate: Option<usize>,
) -> RefGrads<T> {
    let (tn, bn, hs, inp) = (dims.seq_len, dims.batch, rnn.hidden_size(), rnn.input_size());
    let gh = rnn.cell().gates() * hs;
    let lstm = rnn.cell() == Cell::Lstm;
    let mut gr = RefGrads {
        weights: Weights::zeros(rnn),
        dx: vec![T::ZERO; tn * bn * inp],
        dh0: vec![T::ZERO; bn * hs],
        dc0: if lstm { vec![T::ZERO; bn * hs] } else { Vec::new() },
        step_norms: vec![T::ZERO; tn],
    };
    // Gradients flowing into h_{t} and c_{t} from step t+1, per batch row.
    let mut dh_carry: Vec<T> = dh_n.map_or_else(|| vec![T::ZERO; bn * hs], <[T]>::to_vec);
    let mut dc_carry: Vec<T> =
        if lstm { dc_n.map_or_else(|| vec![T::ZERO; bn * hs], <[T]>::to_vec) } else { Vec::new() };
    for t in (0..tn).rev() {
        let mut dh_total = dh_carry.clone();
        if let Some(d) = dh_out {
            for k in 0..bn * hs {
                dh_total[k] += d[t * bn * hs + k];
            }
        }
        let mut sq = T::ZERO;
        for &v in &dh_total {
            sq += v * v;
        }
        gr.step_norms[t] = sq.sqrt();
        let mut next_dh = vec![T::ZERO; bn * hs];
        let mut next_dc = vec![T::ZERO; if lstm { bn * hs } else { 0 }];
        for b in 0..bn {
            let idx = (t * bn + b) * hs;
            let pre = &fwd.pre[(t * bn + b) * gh..][..gh];
            let h_prev: Vec<T> =
                if t == 0 { h0[b * hs..][..hs].to_vec() } else { fwd.h[idx - bn * hs..][..hs].to_vec() };
            let dh = &dh_total[b * hs..][..hs];
            // Gradients of the input-side and recurrent-side pre-activations.
            let mut da_x = vec![T::ZERO; gh];
            let mut da_h = vec![T::ZERO; gh];
            match rnn.cell() {
                Cell::Rnn(act) => {
                    for j in 0..hs {
                        da_x[j] = dh[j] * act_derivative(act, pre[j]);
                        da_h[j] = da_x[j];
                    }
                }
                Cell::Lstm => {
                    for j in 0..hs {
                        let i = sigmoid(pre[j]);
                        let f = sigmoid(pre[hs + j]);
                        let gg = pre[2 * hs + j].tanh();
                        let o = sigmoid(pre[3 * hs + j]);
                        let c = fwd.c[idx + j];
                        let c_prev =
                            if t == 0 { c0.expect("LSTM needs c0")[b * hs + j] } else { fwd.c[idx - bn * hs + j] };
                        let tc = c.tanh();
                        let dc = dc_carry[b * hs + j] + dh[j] * o * (T::ONE - tc * tc);
                        da_x[j] = dc * gg * i * (T::ONE - i);
                        da_x[hs + j] = dc * c_prev * f * (T::ONE - f);
                        da_x[2 * hs + j] = dc * i * (T::ONE - gg * gg);
                        da_x[3 * hs + j] = dh[j] * tc * o * (T::ONE - o);
                        next_dc[b * hs + j] = dc * f;
                    }
                    da_h.copy_from_slice(&da_x);
                }
                Cell::Gru => {
                    for j in 0..hs {
                        let r = sigmoid(pre[j]);
                        let z = sigmoid(pre[hs + j]);
                        let n = pre[2 * hs + j].tanh();
                        let hnv = fwd.hn[idx + j];
                        let dn = dh[j] * (T::ONE - z);
                        let dz = dh[j] * (h_prev[j] - n);
                        let dpre_n = dn * (T::ONE - n * n);
                        let dr = dpre_n * hnv;
                        da_x[j] = dr * r * (T::ONE - r);
                        da_x[hs + j] = dz * z * (T::ONE - z);
                        da_x[2 * hs + j] = dpre_n;
                        da_h[j] = da_x[j];
                        da_h[hs + j] = da_x[hs + j];
                        da_h[2 * hs + j] = dpre_n * r;
                        next_dh[b * hs + j] += dh[j] * z;
                    }
                }
            }
            let xt = &x[(t * bn + b) * inp..][..inp];
            for r in 0..gh {
                for i in 0..inp {
                    gr.weights.w_ih[r * inp + i] += da_x[r] * xt[i];
                    gr.dx[(t * bn + b) * inp + i] += da_x[r] * w.w_ih[r * inp + i];
                }
                for k in 0..hs {
                    gr.weights.w_hh[r * hs + k] += da_h[r] * h_prev[k];
                    next_dh[b * hs + k] += da_h[r] * w.w_hh[r * hs + k];
                }
                gr.weights.b_ih[r] += da_x[r];
                gr.weights.b_hh[r] += da_h[r];
            }
        }
        let cut = t > 0 && truncate.is_some_and(|k| (tn - t) % k == 0);
        if cut {
            next_dh.fill(T::ZERO);
            next_dc.fill(T::ZERO);
        }
        dh_carry = next_dh;
        dc_carry = next_dc;
    }
    gr.dh0 = dh_carry;
    if lstm {
        gr.dc0 = dc_carry;
    }
    gr
}
