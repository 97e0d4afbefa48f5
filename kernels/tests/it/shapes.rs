//! Wrong shapes panic with a message that names the argument, at every public
//! entry point of the sequence kernels and the owning API.

use kernels::{
    Activation, BackwardOpts, BackwardOut, Cell, Dims, ForwardOut, Parallelism, Params, Rnn, Saved, State, Upstream,
    Weights,
};

const SEQ: Parallelism = Parallelism::Sequential;

fn setup(cell: Cell) -> (Rnn, Dims<'static>, Weights<f64>) {
    let rnn = Rnn::new(cell, 3, 4);
    (rnn, Dims::new(5, 2), Weights::zeros(&rnn))
}

/// Runs the slice-API forward with one argument optionally resized.
fn forward_with(cell: Cell, bad: &str) {
    let (rnn, dims, w) = setup(cell);
    let len = |name: &str, n: usize| if name == bad { n + 1 } else { n };
    let x = vec![0.0; len("x", 5 * 2 * 3)];
    let h0 = vec![0.0; len("init.h", 8)];
    let c0 = vec![0.0; len("init.c", 8)];
    let w_ih = vec![0.0; len("w_ih", w.w_ih.len())];
    let mut h_out = vec![0.0; len("out.h_out", 5 * 8)];
    let mut tape = vec![0.0; len("out.tape", rnn.tape_len(dims))];
    let mut scratch = vec![0.0; rnn.forward_scratch_len(dims, true) - usize::from(bad == "scratch")];
    rnn.forward(
        Params { w_ih: &w_ih, ..w.view() },
        dims,
        &x,
        State { h: &h0, c: (cell == Cell::Lstm && bad != "no c0").then_some(&c0[..]) },
        ForwardOut { h_out: &mut h_out, h_n: None, c_n: None, tape: Some(&mut tape) },
        &mut scratch,
        SEQ,
    );
}

#[test]
#[should_panic(expected = "Rnn::forward: `x` has length 31")]
fn forward_x() {
    forward_with(Cell::Gru, "x");
}
#[test]
#[should_panic(expected = "Rnn::forward: `init.h`")]
fn forward_h0() {
    forward_with(Cell::Rnn(Activation::Tanh), "init.h");
}
#[test]
#[should_panic(expected = "Rnn::forward: `init.c`")]
fn forward_c0() {
    forward_with(Cell::Lstm, "init.c");
}
#[test]
#[should_panic(expected = "`init.c` is required for the LSTM")]
fn forward_c0_missing() {
    forward_with(Cell::Lstm, "no c0");
}
#[test]
#[should_panic(expected = "Rnn::forward: `params.w_ih`")]
fn forward_w_ih() {
    forward_with(Cell::Lstm, "w_ih");
}
#[test]
#[should_panic(expected = "Rnn::forward: `out.h_out`")]
fn forward_h_out() {
    forward_with(Cell::Gru, "out.h_out");
}
#[test]
#[should_panic(expected = "Rnn::forward: `out.tape`")]
fn forward_tape() {
    forward_with(Cell::Gru, "out.tape");
}
#[test]
#[should_panic(expected = "Rnn::forward: `scratch`")]
fn forward_scratch() {
    forward_with(Cell::Lstm, "scratch");
}
#[test]
fn forward_with_correct_shapes_runs() {
    for cell in [Cell::Rnn(Activation::Relu), Cell::Lstm, Cell::Gru] {
        forward_with(cell, "");
    }
}

/// Runs the slice-API backward with one argument optionally resized.
fn backward_with(cell: Cell, bad: &str) {
    let (rnn, dims, w) = setup(cell);
    let len = |name: &str, n: usize| if name == bad { n - 1 } else { n };
    let x = vec![0.0; 30];
    let h0 = [0.0; 8];
    let c0 = [0.0; 8];
    let init = State { h: &h0, c: (cell == Cell::Lstm).then_some(&c0[..]) };
    let mut h_out = vec![0.0; 40];
    let mut tape = vec![0.0; rnn.tape_len(dims)];
    let mut scratch = vec![0.0; rnn.forward_scratch_len(dims, true).max(rnn.backward_scratch_len(dims))];
    rnn.forward(
        w.view(),
        dims,
        &x,
        init,
        ForwardOut { h_out: &mut h_out, h_n: None, c_n: None, tape: Some(&mut tape) },
        &mut scratch,
        SEQ,
    );
    let x_b = vec![0.0; len("saved.x", 30)];
    let h_out_b = &h_out[..len("saved.h_out", 40)];
    let dh_out = vec![0.0; len("upstream.dh_out", 40)];
    let dh_n = vec![0.0; len("upstream.dh_n", 8)];
    let mut g = Weights::zeros(&rnn);
    let mut w_hh_g = vec![0.0; len("out.grads.w_hh", g.w_hh.len())];
    let mut dx = vec![0.0; len("out.dx", 30)];
    let mut dh0 = vec![0.0; len("out.dh0", 8)];
    let mut norms = vec![0.0; len("out.step_norms", 5)];
    let mut grads = g.view_mut();
    grads.w_hh = &mut w_hh_g;
    let scratch_len = rnn.backward_scratch_len(dims) - usize::from(bad == "scratch");
    rnn.backward(
        w.view(),
        dims,
        Saved { x: &x_b, init, h_out: h_out_b, tape: &mut tape },
        Upstream { dh_out: Some(&dh_out), dh_n: Some(&dh_n), dc_n: None },
        BackwardOut {
            grads: Some(grads),
            dx: Some(&mut dx),
            dh0: Some(&mut dh0),
            dc0: None,
            step_norms: Some(&mut norms),
            dh_all: None,
        },
        BackwardOpts { accumulate: false, truncate: (bad == "truncate").then_some(0) },
        &mut scratch[..scratch_len],
        SEQ,
    );
}

#[test]
#[should_panic(expected = "Rnn::backward: `saved.x`")]
fn backward_x() {
    backward_with(Cell::Gru, "saved.x");
}
#[test]
#[should_panic(expected = "Rnn::backward: `saved.h_out`")]
fn backward_h_out() {
    backward_with(Cell::Lstm, "saved.h_out");
}
#[test]
#[should_panic(expected = "Rnn::backward: `upstream.dh_out`")]
fn backward_dh_out() {
    backward_with(Cell::Rnn(Activation::Tanh), "upstream.dh_out");
}
#[test]
#[should_panic(expected = "Rnn::backward: `upstream.dh_n`")]
fn backward_dh_n() {
    backward_with(Cell::Gru, "upstream.dh_n");
}
#[test]
#[should_panic(expected = "Rnn::backward: `out.grads.w_hh`")]
fn backward_grads() {
    backward_with(Cell::Lstm, "out.grads.w_hh");
}
#[test]
#[should_panic(expected = "Rnn::backward: `out.dx`")]
fn backward_dx() {
    backward_with(Cell::Gru, "out.dx");
}
#[test]
#[should_panic(expected = "Rnn::backward: `out.dh0`")]
fn backward_dh0() {
    backward_with(Cell::Gru, "out.dh0");
}
#[test]
#[should_panic(expected = "Rnn::backward: `out.step_norms`")]
fn backward_norms() {
    backward_with(Cell::Gru, "out.step_norms");
}
#[test]
#[should_panic(expected = "Rnn::backward: `scratch`")]
fn backward_scratch() {
    backward_with(Cell::Lstm, "scratch");
}
#[test]
#[should_panic(expected = "Rnn::backward: `opts.truncate` must be >= 1")]
fn backward_truncate_zero() {
    backward_with(Cell::Lstm, "truncate");
}
#[test]
fn backward_with_correct_shapes_runs() {
    for cell in [Cell::Rnn(Activation::Sigmoid), Cell::Lstm, Cell::Gru] {
        backward_with(cell, "");
    }
}

#[test]
#[should_panic(expected = "Rnn::new: `hidden_size` must be >= 1")]
fn new_zero_hidden() {
    Rnn::new(Cell::Gru, 3, 0);
}
#[test]
#[should_panic(expected = "Rnn::new: `input_size` must be >= 1")]
fn new_zero_input() {
    Rnn::new(Cell::Gru, 0, 3);
}
#[test]
#[should_panic(expected = "slope must be finite and >= 0")]
fn new_negative_leaky_slope() {
    Rnn::new(Cell::Rnn(Activation::LeakyRelu(-0.5)), 3, 3);
}
#[test]
#[should_panic(expected = "Rnn::forward: `x`")]
fn forward_train_x() {
    let (rnn, dims, w) = setup(Cell::Lstm);
    rnn.forward_train(&w, dims, &[0.0; 29], None, None, SEQ);
}
#[test]
#[should_panic(expected = "Rnn::forward: `init.h`")]
fn forward_infer_h0() {
    let (rnn, dims, w) = setup(Cell::Gru);
    rnn.forward_infer(&w, dims, &[0.0; 30], Some(&[0.0; 3]), None, SEQ);
}
#[test]
#[should_panic(expected = "Rnn::forward: `dims.seq_len` must be >= 1")]
fn forward_infer_empty_sequence() {
    let (rnn, _, w) = setup(Cell::Gru);
    rnn.forward_infer(&w, Dims::new(0, 2), &[], None, None, SEQ);
}
#[test]
#[should_panic(expected = "Rnn::backward: `upstream.dh_out`")]
fn backward_trace_dh_out() {
    let (rnn, dims, w) = setup(Cell::Gru);
    let t = rnn.forward_train(&w, dims, &[0.0; 30], None, None, SEQ);
    rnn.backward_trace(
        &w,
        t,
        Upstream { dh_out: Some(&[0.0; 39]), ..Default::default() },
        BackwardOpts::default(),
        SEQ,
    );
}
#[test]
#[should_panic(expected = "Rnn::backward: `upstream.dc_n` is given for a cell without cell state")]
fn backward_trace_dc_n_for_gru() {
    let (rnn, dims, w) = setup(Cell::Gru);
    let t = rnn.forward_train(&w, dims, &[0.0; 30], None, None, SEQ);
    rnn.backward_trace(&w, t, Upstream { dc_n: Some(&[0.0; 8]), ..Default::default() }, BackwardOpts::default(), SEQ);
}
