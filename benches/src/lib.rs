//! Shared set-up of the benchmarks: the shapes of the peer comparison
//! (`/benches/README.md`), their FLOP counts, and preallocated calls of the
//! kernels' slice API.

use kernels::{
    Activation, BackwardOpts, BackwardOut, Cell, Dims, ForwardOut, Parallelism, Rnn, Saved, State, Upstream, Weights,
};

/// A benchmark shape: sequence length, batch, hidden size (input size = hidden size).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// `S1` … `S5`.
    pub name: &'static str,
    /// Sequence length `T`.
    pub t: usize,
    /// Batch `B`.
    pub b: usize,
    /// Hidden size `H` (and input size `I`).
    pub h: usize,
}

impl Shape {
    /// The criterion id fragment `T<T>_B<B>_H<H>`.
    pub fn id(&self) -> String {
        format!("T{}_B{}_H{}", self.t, self.b, self.h)
    }
}

/// The five shapes of the peer table.
pub const SHAPES: [Shape; 5] = [
    Shape { name: "S1", t: 100, b: 1, h: 128 },
    Shape { name: "S2", t: 100, b: 16, h: 256 },
    Shape { name: "S3", t: 50, b: 64, h: 512 },
    Shape { name: "S4", t: 25, b: 32, h: 1024 },
    Shape { name: "S5", t: 1000, b: 1, h: 64 },
];

/// The experiments' training shape (temporal order at length 60, batch 20,
/// 100 units), with its 6 one-hot inputs ([`EXPERIMENT_INPUT`]).
pub const EXPERIMENT: Shape = Shape { name: "exp", t: 60, b: 20, h: 100 };
/// Inputs per step of [`EXPERIMENT`].
pub const EXPERIMENT_INPUT: usize = 6;

/// The three cells of the peer table, with their bench names.
pub const CELLS: [(&str, Cell); 3] =
    [("rnn_tanh", Cell::Rnn(Activation::Tanh)), ("lstm", Cell::Lstm), ("gru", Cell::Gru)];

/// Forward FLOPs `2·T·B·(I + H)·G·H` with `I = H`; forward + backward is three times that.
pub fn flops(cell: Cell, s: Shape, fwd_bwd: bool) -> u64 {
    flops_io(cell, s, s.h, fwd_bwd)
}

/// [`flops`] with `input` inputs per step.
pub fn flops_io(cell: Cell, s: Shape, input: usize, fwd_bwd: bool) -> u64 {
    let f = 2 * s.t * s.b * (input + s.h) * cell.gates() * s.h;
    (if fwd_bwd { 3 * f } else { f }) as u64
}

/// SplitMix64 values in `[-scale, scale)`.
fn fill(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// One cell and shape with every buffer allocated up front (`f32`, `h0 = c0 = 0`,
/// biases on, loss = sum of all outputs).
pub struct Case {
    /// The layer.
    pub rnn: Rnn,
    /// `T`, `B`.
    pub dims: Dims<'static>,
    /// Parameters, uniform in `±1/sqrt(H)` (PyTorch's default range).
    pub w: Weights<f32>,
    x: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    dh_out: Vec<f32>,
    h_out: Vec<f32>,
    tape: Vec<f32>,
    scratch: Vec<f32>,
    grads: Weights<f32>,
    dx: Vec<f32>,
}

impl Case {
    /// Allocates everything for `cell` at `s` (`I = H`).
    pub fn new(cell: Cell, s: Shape) -> Self {
        Self::with_input(cell, s, s.h)
    }

    /// Allocates everything for `cell` at `s` with `input` inputs per step.
    pub fn with_input(cell: Cell, s: Shape, input: usize) -> Self {
        let rnn = Rnn::new(cell, input, s.h);
        let dims = Dims::new(s.t, s.b);
        let k = 1.0 / (s.h as f32).sqrt();
        let w = Weights {
            w_ih: fill(rnn.w_ih_len(), 1, k),
            w_hh: fill(rnn.w_hh_len(), 2, k),
            b_ih: fill(rnn.bias_len(), 3, k),
            b_hh: fill(rnn.bias_len(), 4, k),
        };
        let bh = s.b * s.h;
        let scratch_len = rnn
            .forward_scratch_len(dims, true)
            .max(rnn.forward_scratch_len(dims, false))
            .max(rnn.backward_scratch_len(dims));
        Case {
            rnn,
            dims,
            grads: Weights::zeros(&rnn),
            w,
            x: fill(s.t * s.b * input, 5, 1.0),
            h0: vec![0.0; bh],
            c0: vec![0.0; bh],
            dh_out: vec![1.0; s.t * bh],
            h_out: vec![0.0; s.t * bh],
            tape: vec![0.0; rnn.tape_len(dims)],
            scratch: vec![0.0; scratch_len],
            dx: vec![0.0; s.t * s.b * input],
        }
    }

    /// Inference forward over the sequence; returns one output value.
    pub fn forward(&mut self, par: Parallelism) -> f32 {
        let init = State { h: &self.h0, c: self.rnn.cell().has_cell_state().then_some(&self.c0[..]) };
        self.rnn.forward(
            self.w.view(),
            self.dims,
            &self.x,
            init,
            ForwardOut { h_out: &mut self.h_out, h_n: None, c_n: None, tape: None },
            &mut self.scratch,
            par,
        );
        self.h_out[self.h_out.len() - 1]
    }

    /// Training forward, then backward with the gradients of every weight,
    /// bias and the input; returns one gradient value.
    pub fn forward_backward(&mut self, par: Parallelism) -> f32 {
        let init = State { h: &self.h0, c: self.rnn.cell().has_cell_state().then_some(&self.c0[..]) };
        self.rnn.forward(
            self.w.view(),
            self.dims,
            &self.x,
            init,
            ForwardOut { h_out: &mut self.h_out, h_n: None, c_n: None, tape: Some(&mut self.tape) },
            &mut self.scratch,
            par,
        );
        self.rnn.backward(
            self.w.view(),
            self.dims,
            Saved { x: &self.x, init, h_out: &self.h_out, tape: &mut self.tape },
            Upstream { dh_out: Some(&self.dh_out), dh_n: None, dc_n: None },
            BackwardOut { grads: Some(self.grads.view_mut()), dx: Some(&mut self.dx), ..Default::default() },
            BackwardOpts::default(),
            &mut self.scratch,
            par,
        );
        self.grads.w_hh[0] + self.dx[0]
    }

    /// The scalar reference's forward and (with `fwd_bwd`) backward, for context.
    pub fn reference(&self, fwd_bwd: bool) -> f32 {
        let c0 = self.rnn.cell().has_cell_state().then_some(&self.c0[..]);
        let r = kernels::reference::forward(&self.rnn, &self.w, self.dims, &self.x, &self.h0, c0);
        if !fwd_bwd {
            return r.h[r.h.len() - 1];
        }
        let g = kernels::reference::backward(
            &self.rnn,
            &self.w,
            self.dims,
            &self.x,
            &self.h0,
            c0,
            &r,
            Some(&self.dh_out),
            None,
            None,
            None,
        );
        g.weights.w_hh[0] + g.dx[0]
    }
}
