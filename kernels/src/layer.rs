//! Owning convenience API over [`Rnn::forward`] and [`Rnn::backward`]:
//! weights in `Vec`s, workspaces allocated per call. Engines that care about
//! allocation use the slice API directly.

use crate::parallel::Parallelism;
use crate::real::Real;
use crate::sequence::{BackwardOpts, BackwardOut, Dims, ForwardOut, Params, ParamsMut, Rnn, Saved, State, Upstream};

/// Owned layer parameters (or parameter gradients), PyTorch layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights<T> {
    /// `[G·H, I]`.
    pub w_ih: Vec<T>,
    /// `[G·H, H]`.
    pub w_hh: Vec<T>,
    /// `[G·H]`.
    pub b_ih: Vec<T>,
    /// `[G·H]`.
    pub b_hh: Vec<T>,
}

impl<T: Real> Weights<T> {
    /// All-zero parameters shaped for `rnn`.
    pub fn zeros(rnn: &Rnn) -> Self {
        Self {
            w_ih: vec![T::ZERO; rnn.w_ih_len()],
            w_hh: vec![T::ZERO; rnn.w_hh_len()],
            b_ih: vec![T::ZERO; rnn.bias_len()],
            b_hh: vec![T::ZERO; rnn.bias_len()],
        }
    }
    /// Borrowed view for the kernels.
    pub fn view(&self) -> Params<'_, T> {
        Params { w_ih: &self.w_ih, w_hh: &self.w_hh, b_ih: &self.b_ih, b_hh: &self.b_hh }
    }
    /// Mutable view for the kernels.
    pub fn view_mut(&mut self) -> ParamsMut<'_, T> {
        ParamsMut { w_ih: &mut self.w_ih, w_hh: &mut self.w_hh, b_ih: &mut self.b_ih, b_hh: &mut self.b_hh }
    }
    /// The four buffers in the order `w_ih, w_hh, b_ih, b_hh`.
    pub fn buffers(&self) -> [&[T]; 4] {
        [&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh]
    }
    /// The four buffers, mutably, in the order `w_ih, w_hh, b_ih, b_hh`.
    pub fn buffers_mut(&mut self) -> [&mut [T]; 4] {
        [&mut self.w_ih, &mut self.w_hh, &mut self.b_ih, &mut self.b_hh]
    }
}

/// What a training forward saved: the output and everything backward needs.
#[derive(Clone, Debug)]
pub struct Trace<T> {
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    x: Vec<T>,
    h0: Vec<T>,
    c0: Option<Vec<T>>,
    /// Every hidden state `[T, B, H]` (zero past a row's length).
    pub h_out: Vec<T>,
    /// Each row's final hidden state `[B, H]`.
    pub h_n: Vec<T>,
    /// Each row's final cell state `[B, H]` (LSTM).
    pub c_n: Option<Vec<T>>,
    tape: Vec<T>,
}

impl<T> Trace<T> {
    /// The shape of the call.
    pub fn dims(&self) -> Dims<'_> {
        match &self.lengths {
            Some(l) => Dims::with_lengths(self.seq_len, l),
            None => Dims::new(self.seq_len, self.batch),
        }
    }
    /// Each row's final hidden state `h_n: [B, H]`.
    pub fn h_n(&self) -> &[T] {
        &self.h_n
    }
}

/// Everything backward computes, owned.
#[derive(Clone, Debug)]
pub struct Grads<T> {
    /// Weight and bias gradients.
    pub weights: Weights<T>,
    /// `dL/dx: [T, B, I]`.
    pub dx: Vec<T>,
    /// `dL/dh_0: [B, H]`.
    pub dh0: Vec<T>,
    /// `dL/dc_0: [B, H]` (LSTM).
    pub dc0: Option<Vec<T>>,
    /// `‖dL/dh_t‖_F` over the batch, `[T]`.
    pub step_norms: Vec<T>,
    /// The total gradient `dL/dh_t` for every step, `[T, B, H]`.
    pub dh_all: Vec<T>,
}

/// What an inference forward returns, owned.
#[derive(Clone, Debug)]
pub struct Output<T> {
    /// Every hidden state `[T, B, H]` (zero past a row's length).
    pub h_out: Vec<T>,
    /// Each row's final hidden state `[B, H]`.
    pub h_n: Vec<T>,
    /// Each row's final cell state `[B, H]` (LSTM).
    pub c_n: Option<Vec<T>>,
}

impl Rnn {
    /// Training forward: runs the layer and keeps what backward needs.
    /// `h0`/`c0` default to zeros.
    #[track_caller]
    pub fn forward_train<T: Real>(
        &self,
        weights: &Weights<T>,
        dims: Dims<'_>,
        x: &[T],
        h0: Option<&[T]>,
        c0: Option<&[T]>,
        par: Parallelism,
    ) -> Trace<T> {
        let bh = dims.batch * self.hidden_size();
        let h0 = h0.map_or_else(|| vec![T::ZERO; bh], <[T]>::to_vec);
        let c0 = self.cell().has_cell_state().then(|| c0.map_or_else(|| vec![T::ZERO; bh], <[T]>::to_vec));
        let mut h_out = vec![T::ZERO; dims.seq_len * bh];
        let mut h_n = vec![T::ZERO; bh];
        let mut c_n = c0.as_ref().map(|_| vec![T::ZERO; bh]);
        let mut tape = vec![T::ZERO; self.tape_len(dims)];
        let mut scratch = vec![T::ZERO; self.forward_scratch_len(dims, true)];
        self.forward(
            weights.view(),
            dims,
            x,
            State { h: &h0, c: c0.as_deref() },
            ForwardOut { h_out: &mut h_out, h_n: Some(&mut h_n), c_n: c_n.as_deref_mut(), tape: Some(&mut tape) },
            &mut scratch,
            par,
        );
        Trace {
            seq_len: dims.seq_len,
            batch: dims.batch,
            lengths: dims.lengths.map(<[usize]>::to_vec),
            x: x.to_vec(),
            h0,
            c0,
            h_out,
            h_n,
            c_n,
            tape,
        }
    }

    /// Inference forward: every `h_t` and each row's final states.
    #[track_caller]
    pub fn forward_infer<T: Real>(
        &self,
        weights: &Weights<T>,
        dims: Dims<'_>,
        x: &[T],
        h0: Option<&[T]>,
        c0: Option<&[T]>,
        par: Parallelism,
    ) -> Output<T> {
        let bh = dims.batch * self.hidden_size();
        let zeros = vec![T::ZERO; bh];
        let h0 = h0.unwrap_or(&zeros);
        let c0 = self.cell().has_cell_state().then(|| c0.unwrap_or(&zeros));
        let mut h_out = vec![T::ZERO; dims.seq_len * bh];
        let mut h_n = vec![T::ZERO; bh];
        let mut c_n = c0.map(|_| vec![T::ZERO; bh]);
        let mut scratch = vec![T::ZERO; self.forward_scratch_len(dims, false)];
        self.forward(
            weights.view(),
            dims,
            x,
            State { h: h0, c: c0 },
            ForwardOut { h_out: &mut h_out, h_n: Some(&mut h_n), c_n: c_n.as_deref_mut(), tape: None },
            &mut scratch,
            par,
        );
        Output { h_out, h_n, c_n }
    }

    /// Backward through the sequence of `trace` (consumed: backward overwrites its tape).
    #[track_caller]
    pub fn backward_trace<T: Real>(
        &self,
        weights: &Weights<T>,
        mut trace: Trace<T>,
        upstream: Upstream<'_, T>,
        opts: BackwardOpts,
        par: Parallelism,
    ) -> Grads<T> {
        let lengths = trace.lengths.take();
        let dims = match &lengths {
            Some(l) => Dims::with_lengths(trace.seq_len, l),
            None => Dims::new(trace.seq_len, trace.batch),
        };
        let bh = trace.h0.len();
        let mut grads = Weights::zeros(self);
        let mut dx = vec![T::ZERO; trace.x.len()];
        let mut dh0 = vec![T::ZERO; bh];
        let mut dc0 = trace.c0.as_ref().map(|_| vec![T::ZERO; bh]);
        let mut step_norms = vec![T::ZERO; dims.seq_len];
        let mut dh_all = vec![T::ZERO; trace.h_out.len()];
        let mut scratch = vec![T::ZERO; self.backward_scratch_len(dims)];
        self.backward(
            weights.view(),
            dims,
            Saved {
                x: &trace.x,
                init: State { h: &trace.h0, c: trace.c0.as_deref() },
                h_out: &trace.h_out,
                tape: &mut trace.tape,
            },
            upstream,
            BackwardOut {
                grads: Some(grads.view_mut()),
                dx: Some(&mut dx),
                dh0: Some(&mut dh0),
                dc0: dc0.as_deref_mut(),
                step_norms: Some(&mut step_norms),
                dh_all: Some(&mut dh_all),
            },
            BackwardOpts { accumulate: false, ..opts },
            &mut scratch,
            par,
        );
        Grads { weights: grads, dx, dh0, dc0, step_norms, dh_all }
    }
}
