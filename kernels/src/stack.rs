//! Stacked and bidirectional layers with PyTorch's semantics (`torch.nn.RNN`,
//! `LSTM`, `GRU` with `num_layers` and `bidirectional`), built on the
//! single-layer kernels.
//!
//! Layer `k` reads `x` (`k = 0`) or the previous layer's output `[T, B, D·H]`.
//! Its forward direction runs the sequence as given; its reverse direction runs
//! each row's own `len_b` steps from the row's last step back to its first (as
//! PyTorch does with `pack_padded_sequence`). The output concatenates the
//! directions at each step, `[T, B, D·H]`, the forward direction's `H` values
//! first; `h_n` and `c_n` are `[L·D, B, H]`, index `k·D + d`. Parameters (and
//! their gradients) are one [`Params`] per (layer, direction) in PyTorch's
//! order: `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`,
//! then the same with the suffix `_reverse` ([`Stack::param_names`]).
//!
//! With two or more threads the two directions of a layer run at the same
//! time, each on half the threads; every result is bitwise identical for any
//! thread count (each direction's values do not depend on its threads, and the
//! directions' input gradients are summed in a fixed order).

use crate::cells::Cell;
use crate::layer::Weights;
use crate::parallel::Parallelism;
use crate::real::Real;
use crate::sequence::{
    BackwardOpts, BackwardOut, Checker, Dims, ForwardOut, Params, ParamsMut, Rnn, Saved, ShapeError, State, Upstream,
    or_panic,
};

/// A stack of `L` recurrent layers of `D` directions (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stack {
    cell: Cell,
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bidirectional: bool,
}

/// Where a stack's forward writes.
#[derive(Debug)]
pub struct StackOut<'a, T> {
    /// The last layer's output at every step, `[T, B, D·H]` (zero past a row's length).
    pub output: &'a mut [T],
    /// Each (layer, direction)'s final hidden state, `[L·D, B, H]`, if wanted.
    pub h_n: Option<&'a mut [T]>,
    /// Each (layer, direction)'s final cell state, `[L·D, B, H]` (LSTM), if wanted.
    pub c_n: Option<&'a mut [T]>,
    /// The training tape of [`Stack::tape_len`] values; `None` is inference.
    pub tape: Option<&'a mut [T]>,
}

/// What a stack's backward needs from its forward.
#[derive(Debug)]
pub struct StackSaved<'a, T> {
    /// The input `[T, B, I]`.
    pub x: &'a [T],
    /// The initial states `h0, c0: [L·D, B, H]` (`c0` for the LSTM).
    pub init: State<'a, T>,
    /// The tape the training forward wrote; overwritten by backward.
    pub tape: &'a mut [T],
}

/// Gradients arriving from the loss at a stack's outputs.
#[derive(Clone, Copy, Debug, Default)]
pub struct StackUpstream<'a, T> {
    /// `dL/d output`, `[T, B, D·H]`; `None` is zero.
    pub d_output: Option<&'a [T]>,
    /// `dL/dh_n`, `[L·D, B, H]`; `None` is zero.
    pub dh_n: Option<&'a [T]>,
    /// `dL/dc_n`, `[L·D, B, H]` (LSTM); `None` is zero.
    pub dc_n: Option<&'a [T]>,
}

/// Where a stack's backward writes. Every field is optional.
#[derive(Debug, Default)]
pub struct StackBackwardOut<'g, 'a, T> {
    /// One gradient per (layer, direction), in [`Stack::param_names`] order,
    /// overwritten or accumulated (see [`BackwardOpts::accumulate`]).
    pub grads: Option<&'g mut [ParamsMut<'a, T>]>,
    /// `dL/dx: [T, B, I]`.
    pub dx: Option<&'a mut [T]>,
    /// `dL/dh0: [L·D, B, H]`.
    pub dh0: Option<&'a mut [T]>,
    /// `dL/dc0: [L·D, B, H]` (LSTM).
    pub dc0: Option<&'a mut [T]>,
    /// `‖dL/dh_t‖` over the batch for every (layer, direction) and step,
    /// `[L·D, T]`: the gradient reaching that layer's state at step `t` (a
    /// reverse direction's step `t` is `t` steps back from each row's end).
    pub step_norms: Option<&'a mut [T]>,
}

/// The pieces of one layer's segment of the tape (training) or work area
/// (inference), in the order they are stored: the layer's input (above the
/// first layer), the reverse direction's reversed input, then per direction
/// the single layer's tape (training) and its output `[T, B, H]`.
struct Segment<'s, T> {
    input: &'s mut [T],
    x_rev: &'s mut [T],
    dirs: Vec<(&'s mut [T], &'s mut [T])>,
}

impl Stack {
    /// A stack of `num_layers` layers of `cell`, each of one or (with
    /// `bidirectional`) two directions. Panics if a size is zero or the
    /// activation is invalid.
    #[track_caller]
    pub fn new(cell: Cell, input_size: usize, hidden_size: usize, num_layers: usize, bidirectional: bool) -> Self {
        assert!(num_layers > 0, "Stack::new: `num_layers` must be >= 1");
        // The first layer's checks (sizes, activation) are every layer's.
        Rnn::new(cell, input_size, hidden_size);
        Self { cell, input_size, hidden_size, num_layers, bidirectional }
    }

    /// The cell.
    pub fn cell(&self) -> Cell {
        self.cell
    }
    /// Input size `I`.
    pub fn input_size(&self) -> usize {
        self.input_size
    }
    /// Hidden size `H`.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }
    /// Layers `L`.
    pub fn num_layers(&self) -> usize {
        self.num_layers
    }
    /// Whether each layer has a reverse direction.
    pub fn bidirectional(&self) -> bool {
        self.bidirectional
    }
    /// Directions `D` (1, or 2 when bidirectional).
    pub fn directions(&self) -> usize {
        1 + usize::from(self.bidirectional)
    }
    /// (layer, direction) pairs `L·D`: the number of parameter sets and the
    /// first dimension of `h0`, `h_n`, `c0`, `c_n`.
    pub fn units(&self) -> usize {
        self.num_layers * self.directions()
    }
    /// Values per step of the output, `D·H`.
    pub fn output_size(&self) -> usize {
        self.directions() * self.hidden_size
    }

    /// The single layer of layer `k` (either direction): input size `I` for
    /// `k = 0`, `D·H` above.
    pub fn layer(&self, k: usize) -> Rnn {
        assert!(k < self.num_layers, "Stack::layer: layer {k} of {}", self.num_layers);
        Rnn::new(self.cell, if k == 0 { self.input_size } else { self.output_size() }, self.hidden_size)
    }

    /// PyTorch's parameter names in order: per (layer, direction) `weight_ih`,
    /// `weight_hh`, `bias_ih`, `bias_hh`, with the suffix `_l{k}` and, for the
    /// reverse direction, `_reverse`. Entry `4·u + j` names field `j`
    /// (`w_ih`, `w_hh`, `b_ih`, `b_hh`) of parameter set `u = k·D + d`.
    pub fn param_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(4 * self.units());
        for k in 0..self.num_layers {
            for d in 0..self.directions() {
                let suffix = if d == 1 { "_reverse" } else { "" };
                for p in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
                    names.push(format!("{p}_l{k}{suffix}"));
                }
            }
        }
        names
    }

    /// The total number of parameters.
    pub fn num_params(&self) -> usize {
        (0..self.num_layers).map(|k| self.directions() * self.layer(k).num_params()).sum()
    }

    /// One flat buffer of [`Stack::num_params`] values, in [`Stack::param_names`]
    /// order (PyTorch's, tensors back to back), as one [`Params`] per
    /// (layer, direction).
    ///
    /// # Panics
    /// If `flat` does not hold exactly [`Stack::num_params`] values.
    #[track_caller]
    pub fn split_params<'a, T>(&self, mut flat: &'a [T]) -> Vec<Params<'a, T>> {
        assert_eq!(flat.len(), self.num_params(), "split_params: the buffer must hold num_params values");
        (0..self.units())
            .map(|u| {
                let rnn = self.layer(u / self.directions());
                let (w_ih, r) = flat.split_at(rnn.w_ih_len());
                let (w_hh, r) = r.split_at(rnn.w_hh_len());
                let (b_ih, r) = r.split_at(rnn.bias_len());
                let (b_hh, r) = r.split_at(rnn.bias_len());
                flat = r;
                Params { w_ih, w_hh, b_ih, b_hh }
            })
            .collect()
    }

    /// [`Stack::split_params`] for a mutable buffer (gradients).
    ///
    /// # Panics
    /// If `flat` does not hold exactly [`Stack::num_params`] values.
    #[track_caller]
    pub fn split_params_mut<'a, T>(&self, mut flat: &'a mut [T]) -> Vec<ParamsMut<'a, T>> {
        assert_eq!(flat.len(), self.num_params(), "split_params_mut: the buffer must hold num_params values");
        (0..self.units())
            .map(|u| {
                let rnn = self.layer(u / self.directions());
                let (w_ih, r) = core::mem::take(&mut flat).split_at_mut(rnn.w_ih_len());
                let (w_hh, r) = r.split_at_mut(rnn.w_hh_len());
                let (b_ih, r) = r.split_at_mut(rnn.bias_len());
                let (b_hh, r) = r.split_at_mut(rnn.bias_len());
                flat = r;
                ParamsMut { w_ih, w_hh, b_ih, b_hh }
            })
            .collect()
    }

    /// Values of layer `k`'s segment (see [`Segment`]).
    fn segment_len(&self, dims: Dims<'_>, k: usize, training: bool) -> usize {
        let (tb, h, d) = (dims.seq_len * dims.batch, self.hidden_size, self.directions());
        let rnn = self.layer(k);
        let input = if k == 0 { 0 } else { tb * rnn.input_size() };
        let x_rev = if d == 2 { tb * rnn.input_size() } else { 0 };
        let tape = if training { rnn.tape_len(dims) } else { 0 };
        input + x_rev + d * (tape + tb * h)
    }

    /// Layer `k`'s segment of `area`, cut into its pieces.
    fn segment<'s, T>(&self, dims: Dims<'_>, k: usize, training: bool, area: &'s mut [T]) -> Segment<'s, T> {
        let (tb, h, d) = (dims.seq_len * dims.batch, self.hidden_size, self.directions());
        let rnn = self.layer(k);
        let (input, rest) = area.split_at_mut(if k == 0 { 0 } else { tb * rnn.input_size() });
        let (x_rev, mut rest) = rest.split_at_mut(if d == 2 { tb * rnn.input_size() } else { 0 });
        let tape = if training { rnn.tape_len(dims) } else { 0 };
        let mut dirs = Vec::with_capacity(d);
        for _ in 0..d {
            let (t, r) = rest.split_at_mut(tape);
            let (o, r) = r.split_at_mut(tb * h);
            dirs.push((t, o));
            rest = r;
        }
        Segment { input, x_rev, dirs }
    }

    /// The largest segment (inference keeps two, alternately).
    fn max_segment(&self, dims: Dims<'_>) -> usize {
        (0..self.num_layers).map(|k| self.segment_len(dims, k, false)).max().unwrap_or(0)
    }

    /// Values of the training tape for `dims`: per layer its input (above the
    /// first), the reverse direction's reversed input, and per direction the
    /// single layer's tape and output.
    pub fn tape_len(&self, dims: Dims<'_>) -> usize {
        (0..self.num_layers).map(|k| self.segment_len(dims, k, true)).sum()
    }

    fn per_dir_forward(&self, dims: Dims<'_>, training: bool) -> usize {
        (0..self.num_layers).map(|k| self.layer(k).forward_scratch_len(dims, training)).max().unwrap_or(0)
    }

    /// Scratch values [`Stack::forward`] needs (training when `training`): a
    /// single layer's scratch per direction and, for inference, two layers'
    /// segments of intermediate values (which the tape holds when training).
    pub fn forward_scratch_len(&self, dims: Dims<'_>, training: bool) -> usize {
        let work = if training { 0 } else { 2 * self.max_segment(dims) };
        self.directions() * self.per_dir_forward(dims, training) + work
    }

    fn per_dir_backward(&self, dims: Dims<'_>) -> usize {
        let tb = dims.seq_len * dims.batch;
        let max_in = self.input_size.max(self.output_size());
        (0..self.num_layers).map(|k| self.layer(k).backward_scratch_len(dims)).max().unwrap_or(0)
            + tb * self.hidden_size
            + tb * max_in
    }

    /// Scratch values [`Stack::backward`] needs: per direction a single
    /// layer's scratch, its output gradient and its input gradient; and two
    /// buffers for the gradient reaching a layer's output.
    pub fn backward_scratch_len(&self, dims: Dims<'_>) -> usize {
        let tb = dims.seq_len * dims.batch;
        self.directions() * self.per_dir_backward(dims) + 2 * tb * self.input_size.max(self.output_size())
    }

    fn check_params<T>(&self, c: &Checker, arg: &str, params: &[Params<'_, T>]) -> Result<(), ShapeError> {
        if params.len() != self.units() {
            return Err(c.fail(arg, format!("has {} entries, expected L*D = {}", params.len(), self.units())));
        }
        for (u, p) in params.iter().enumerate() {
            self.layer(u / self.directions()).check_params(c, &format!("{arg}[{u}]."), p)?;
        }
        Ok(())
    }

    fn check_units<T>(
        &self,
        c: &Checker,
        arg: &str,
        v: Option<&[T]>,
        dims: Dims<'_>,
        lstm_only: bool,
    ) -> Result<(), ShapeError> {
        if let Some(v) = v {
            if lstm_only && !self.cell.has_cell_state() {
                return Err(c.fail(arg, "is given for a cell without cell state (LSTM only)"));
            }
            c.len(arg, v, self.units() * dims.batch * self.hidden_size, "L*D*B*H")?;
        }
        Ok(())
    }

    fn check_init<T>(&self, c: &Checker, prefix: &str, dims: Dims<'_>, s: &State<'_, T>) -> Result<(), ShapeError> {
        self.check_units(c, &format!("{prefix}.h"), Some(s.h), dims, false)?;
        if self.cell.has_cell_state() && s.c.is_none() {
            return Err(c.fail(format!("{prefix}.c"), "is required for the LSTM"));
        }
        self.check_units(c, &format!("{prefix}.c"), s.c, dims, true)
    }

    /// Checks the arguments of [`Stack::forward`] without running it.
    pub fn check_forward<T>(
        &self,
        params: &[Params<'_, T>],
        dims: Dims<'_>,
        x: &[T],
        init: &State<'_, T>,
        out: &StackOut<'_, T>,
        scratch: &[T],
    ) -> Result<(), ShapeError> {
        let c = Checker { call: "Stack::forward" };
        c.dims(dims)?;
        self.check_params(&c, "params", params)?;
        let tb = dims.seq_len * dims.batch;
        c.len("x", x, tb * self.input_size, "T*B*I")?;
        self.check_init(&c, "init", dims, init)?;
        c.len("out.output", out.output, tb * self.output_size(), "T*B*D*H")?;
        self.check_units(&c, "out.h_n", out.h_n.as_deref(), dims, false)?;
        self.check_units(&c, "out.c_n", out.c_n.as_deref(), dims, true)?;
        if let Some(tape) = &out.tape {
            c.len("out.tape", tape, self.tape_len(dims), "Stack::tape_len(dims)")?;
        }
        c.at_least("scratch", scratch, self.forward_scratch_len(dims, out.tape.is_some()), "Stack::forward_scratch_len")
    }

    /// Runs the stack over a sequence (see the module docs for the layouts).
    /// With `out.tape` it records what [`Stack::backward`] needs. Panics on
    /// any mismatch that [`Stack::check_forward`] reports.
    #[track_caller]
    #[allow(clippy::too_many_arguments)]
    pub fn forward<T: Real>(
        &self,
        params: &[Params<'_, T>],
        dims: Dims<'_>,
        x: &[T],
        init: State<'_, T>,
        out: StackOut<'_, T>,
        scratch: &mut [T],
        par: Parallelism,
    ) {
        or_panic(self.check_forward(params, dims, x, &init, &out, scratch));
        let (tb, bh, d) = (dims.seq_len * dims.batch, dims.batch * self.hidden_size, self.directions());
        let training = out.tape.is_some();
        let per_dir = self.per_dir_forward(dims, training);
        let (dir_scratch, work) = scratch.split_at_mut(d * per_dir);
        let mut dir_scratch: Vec<&mut [T]> = dir_scratch.chunks_mut(per_dir.max(1)).take(d).collect();
        // The layers' segments: consecutive in the tape when training; for
        // inference two halves of the scratch that take turns.
        let max_seg = self.max_segment(dims);
        let seg_len = |k: usize| if training { self.segment_len(dims, k, true) } else { max_seg };
        let starts: Vec<usize> = (0..=self.num_layers)
            .scan(0, |at, k| Some(core::mem::replace(at, *at + if k < self.num_layers { seg_len(k) } else { 0 })))
            .collect();
        let area: &mut [T] = match out.tape {
            Some(tape) => tape,
            None => &mut work[..2 * max_seg],
        };
        let mut h_n: Vec<Option<&mut [T]>> = split_units(out.h_n, bh, self.units());
        let mut c_n: Vec<Option<&mut [T]>> = split_units(out.c_n, bh, self.units());
        for k in 0..self.num_layers {
            let rnn = self.layer(k);
            // This layer's segment and the next layer's, disjoint.
            let (cur, next) = if training {
                let (a, b) = area.split_at_mut(starts[k + 1]);
                (&mut a[starts[k]..], b)
            } else {
                let (a, b) = area.split_at_mut(max_seg);
                if k % 2 == 0 { (a, b) } else { (b, a) }
            };
            let seg = self.segment(dims, k, training, &mut cur[..seg_len(k)]);
            let input: &[T] = if k == 0 { x } else { &*seg.input };
            if d == 2 {
                reverse_rows(dims, input, rnn.input_size(), seg.x_rev);
            }
            let x_rev: &[T] = &*seg.x_rev;
            let mut outs: Vec<&[T]> = Vec::with_capacity(d);
            {
                let mut jobs: Vec<Direction<'_, T>> = Vec::with_capacity(d);
                for (dir, ((tape, h_out), scratch)) in seg.dirs.into_iter().zip(dir_scratch.iter_mut()).enumerate() {
                    let u = k * d + dir;
                    jobs.push(Direction {
                        rnn,
                        params: params[u],
                        x: if dir == 0 { input } else { x_rev },
                        h0: &init.h[u * bh..][..bh],
                        c0: init.c.map(|c| &c[u * bh..][..bh]),
                        h_out,
                        h_n: h_n[u].take(),
                        c_n: c_n[u].take(),
                        tape: training.then_some(tape),
                        scratch,
                    });
                }
                run_directions(&mut jobs, |j, par| j.forward(dims, par), par);
                for j in jobs {
                    outs.push(j.h_out);
                }
            }
            if k + 1 == self.num_layers {
                join_directions(dims, &outs, self.hidden_size, &mut *out.output);
            } else {
                let next = self.segment(dims, k + 1, training, &mut next[..seg_len(k + 1)]);
                join_directions(dims, &outs, self.hidden_size, next.input);
            }
        }
        let _ = tb;
    }

    /// Checks the arguments of [`Stack::backward`] without running it.
    #[allow(clippy::too_many_arguments)]
    pub fn check_backward<T>(
        &self,
        params: &[Params<'_, T>],
        dims: Dims<'_>,
        saved: &StackSaved<'_, T>,
        upstream: &StackUpstream<'_, T>,
        out: &StackBackwardOut<'_, '_, T>,
        opts: &BackwardOpts,
        scratch: &[T],
    ) -> Result<(), ShapeError> {
        let c = Checker { call: "Stack::backward" };
        c.dims(dims)?;
        self.check_params(&c, "params", params)?;
        let tb = dims.seq_len * dims.batch;
        c.len("saved.x", saved.x, tb * self.input_size, "T*B*I")?;
        self.check_init(&c, "saved.init", dims, &saved.init)?;
        c.len("saved.tape", saved.tape, self.tape_len(dims), "Stack::tape_len(dims)")?;
        if let Some(g) = upstream.d_output {
            c.len("upstream.d_output", g, tb * self.output_size(), "T*B*D*H")?;
        }
        self.check_units(&c, "upstream.dh_n", upstream.dh_n, dims, false)?;
        self.check_units(&c, "upstream.dc_n", upstream.dc_n, dims, true)?;
        if let Some(g) = &out.grads {
            if g.len() != self.units() {
                return Err(c.fail("out.grads", format!("has {} entries, expected L*D = {}", g.len(), self.units())));
            }
            for (u, g) in g.iter().enumerate() {
                let p = Params { w_ih: &*g.w_ih, w_hh: &*g.w_hh, b_ih: &*g.b_ih, b_hh: &*g.b_hh };
                self.layer(u / self.directions()).check_params(&c, &format!("out.grads[{u}]."), &p)?;
            }
        }
        if let Some(dx) = &out.dx {
            c.len("out.dx", dx, tb * self.input_size, "T*B*I")?;
        }
        self.check_units(&c, "out.dh0", out.dh0.as_deref(), dims, false)?;
        self.check_units(&c, "out.dc0", out.dc0.as_deref(), dims, true)?;
        if let Some(n) = &out.step_norms {
            c.len("out.step_norms", n, self.units() * dims.seq_len, "L*D*T")?;
        }
        if opts.truncate == Some(0) {
            return Err(c.fail("opts.truncate", "must be >= 1 (use None for full BPTT)"));
        }
        c.at_least("scratch", scratch, self.backward_scratch_len(dims), "Stack::backward_scratch_len")
    }

    /// Backpropagation through time through the stack, from the top layer
    /// down, over the tape of a training [`Stack::forward`]. Computes on
    /// request every parameter gradient, `dL/dx`, `dL/dh0`, `dL/dc0` and the
    /// per-step gradient norms of every (layer, direction). Truncated BPTT
    /// (`opts.truncate`) cuts every layer's recurrence; the gradient still
    /// passes between layers at every step. Panics on any mismatch that
    /// [`Stack::check_backward`] reports.
    #[track_caller]
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Real>(
        &self,
        params: &[Params<'_, T>],
        dims: Dims<'_>,
        saved: StackSaved<'_, T>,
        upstream: StackUpstream<'_, T>,
        out: StackBackwardOut<'_, '_, T>,
        opts: BackwardOpts,
        scratch: &mut [T],
        par: Parallelism,
    ) {
        or_panic(self.check_backward(params, dims, &saved, &upstream, &out, &opts, scratch));
        let (t_len, tb, bh, d, h) = (
            dims.seq_len,
            dims.seq_len * dims.batch,
            dims.batch * self.hidden_size,
            self.directions(),
            self.hidden_size,
        );
        let max_in = self.input_size.max(self.output_size());
        let per_dir = self.per_dir_backward(dims);
        let (dir_area, rest) = scratch.split_at_mut(d * per_dir);
        let (mut d_out, rest) = rest.split_at_mut(tb * max_in);
        let mut d_in = &mut rest[..tb * max_in];
        let mut dirs: Vec<&mut [T]> = dir_area.chunks_mut(per_dir.max(1)).take(d).collect();
        // The tape's segments, each layer's own.
        let mut segs: Vec<Segment<'_, T>> = Vec::with_capacity(self.num_layers);
        let mut tape_rest: &mut [T] = saved.tape;
        for k in 0..self.num_layers {
            let (s, r) = core::mem::take(&mut tape_rest).split_at_mut(self.segment_len(dims, k, true));
            tape_rest = r;
            segs.push(self.segment(dims, k, true, s));
        }
        let mut dh0: Vec<Option<&mut [T]>> = split_units(out.dh0, bh, self.units());
        let mut dc0: Vec<Option<&mut [T]>> = split_units(out.dc0, bh, self.units());
        let mut norms: Vec<Option<&mut [T]>> = split_units(out.step_norms, t_len, self.units());
        let mut grads: Vec<Option<&mut ParamsMut<'_, T>>> = match out.grads {
            Some(g) => g.iter_mut().map(Some).collect(),
            None => (0..self.units()).map(|_| None).collect(),
        };
        let mut dx_user = out.dx;
        // The gradient reaching the top layer's output.
        let top = tb * self.output_size();
        match upstream.d_output {
            Some(g) => d_out[..top].copy_from_slice(g),
            None => d_out[..top].fill(T::ZERO),
        }
        for k in (0..self.num_layers).rev() {
            let rnn = self.layer(k);
            let in_len = tb * rnn.input_size();
            let seg = segs.pop().expect("one segment per layer");
            let Segment { input, x_rev, dirs: seg_dirs } = seg;
            let input: &[T] = if k == 0 { saved.x } else { input };
            let x_rev: &[T] = x_rev;
            let want_dx = k > 0 || dx_user.is_some();
            {
                let mut jobs: Vec<BackDirection<'_, '_, '_, T>> = Vec::with_capacity(d);
                for (dir, ((tape, h_out), area)) in seg_dirs.into_iter().zip(dirs.iter_mut()).enumerate() {
                    let u = k * d + dir;
                    let (scratch, rest) = area.split_at_mut(per_dir - tb * h - tb * max_in);
                    let (dh_out, dx) = rest.split_at_mut(tb * h);
                    // This direction's share of the output gradient, in its own time.
                    split_direction(dims, &d_out[..tb * self.output_size()], d, dir, h, dh_out);
                    jobs.push(BackDirection {
                        rnn,
                        params: params[u],
                        x: if dir == 0 { input } else { x_rev },
                        h0: &saved.init.h[u * bh..][..bh],
                        c0: saved.init.c.map(|c| &c[u * bh..][..bh]),
                        h_out: &*h_out,
                        tape,
                        dh_out: &*dh_out,
                        dh_n: upstream.dh_n.map(|g| &g[u * bh..][..bh]),
                        dc_n: upstream.dc_n.map(|g| &g[u * bh..][..bh]),
                        grads: grads[u].take(),
                        dx: want_dx.then_some(&mut dx[..in_len]),
                        dh0: dh0[u].take(),
                        dc0: dc0[u].take(),
                        norms: norms[u].take(),
                        scratch,
                    });
                }
                run_directions(&mut jobs, |j, par| j.backward(dims, opts, par), par);
                if want_dx {
                    // dL/d input = the forward direction's dx + the reverse one's, back in time order.
                    let dest: &mut [T] = match (k, dx_user.as_deref_mut()) {
                        (0, Some(dx)) => dx,
                        _ => &mut d_in[..in_len],
                    };
                    let n = rnn.input_size();
                    dest.copy_from_slice(jobs[0].dx.as_deref().expect("wanted"));
                    if d == 2 {
                        let rev = jobs[1].dx.as_deref().expect("wanted");
                        add_reversed(dims, rev, n, dest);
                    }
                }
            }
            core::mem::swap(&mut d_out, &mut d_in);
        }
    }
}

/// `v` cut into `units` chunks of `n` (each `None` when `v` is).
fn split_units<T>(v: Option<&mut [T]>, n: usize, units: usize) -> Vec<Option<&mut [T]>> {
    match v {
        Some(v) => v.chunks_mut(n.max(1)).take(units).map(Some).collect(),
        None => (0..units).map(|_| None).collect(),
    }
}

/// One direction of one layer in a forward call.
struct Direction<'a, T> {
    rnn: Rnn,
    params: Params<'a, T>,
    x: &'a [T],
    h0: &'a [T],
    c0: Option<&'a [T]>,
    h_out: &'a mut [T],
    h_n: Option<&'a mut [T]>,
    c_n: Option<&'a mut [T]>,
    tape: Option<&'a mut [T]>,
    scratch: &'a mut [T],
}

impl<T: Real> Direction<'_, T> {
    fn forward(&mut self, dims: Dims<'_>, par: Parallelism) {
        self.rnn.forward(
            self.params,
            dims,
            self.x,
            State { h: self.h0, c: self.c0 },
            ForwardOut {
                h_out: &mut *self.h_out,
                h_n: self.h_n.as_deref_mut(),
                c_n: self.c_n.as_deref_mut(),
                tape: self.tape.as_deref_mut(),
            },
            &mut *self.scratch,
            par,
        );
    }
}

/// One direction of one layer in a backward call.
struct BackDirection<'g, 'p, 'a, T> {
    rnn: Rnn,
    params: Params<'a, T>,
    x: &'a [T],
    h0: &'a [T],
    c0: Option<&'a [T]>,
    h_out: &'a [T],
    tape: &'a mut [T],
    dh_out: &'a [T],
    dh_n: Option<&'a [T]>,
    dc_n: Option<&'a [T]>,
    grads: Option<&'g mut ParamsMut<'p, T>>,
    dx: Option<&'a mut [T]>,
    dh0: Option<&'a mut [T]>,
    dc0: Option<&'a mut [T]>,
    norms: Option<&'a mut [T]>,
    scratch: &'a mut [T],
}

impl<T: Real> BackDirection<'_, '_, '_, T> {
    fn backward(&mut self, dims: Dims<'_>, opts: BackwardOpts, par: Parallelism) {
        let grads = self.grads.as_deref_mut().map(|g| ParamsMut {
            w_ih: &mut *g.w_ih,
            w_hh: &mut *g.w_hh,
            b_ih: &mut *g.b_ih,
            b_hh: &mut *g.b_hh,
        });
        self.rnn.backward(
            self.params,
            dims,
            Saved { x: self.x, init: State { h: self.h0, c: self.c0 }, h_out: self.h_out, tape: &mut *self.tape },
            Upstream { dh_out: Some(self.dh_out), dh_n: self.dh_n, dc_n: self.dc_n },
            BackwardOut {
                grads,
                dx: self.dx.as_deref_mut(),
                dh0: self.dh0.as_deref_mut(),
                dc0: self.dc0.as_deref_mut(),
                step_norms: self.norms.as_deref_mut(),
                dh_all: None,
            },
            opts,
            &mut *self.scratch,
            par,
        );
    }
}

/// Runs `f` for each direction of a layer: both at once on half the threads
/// each when there are two directions and at least two threads.
fn run_directions<J: Send>(jobs: &mut [J], f: impl Fn(&mut J, Parallelism) + Sync, par: Parallelism) {
    let threads = par.threads();
    match jobs {
        [fwd, rev] if threads >= 2 => {
            let share = |n: usize| if n <= 1 { Parallelism::Sequential } else { Parallelism::Rayon(n) };
            let (a, b) = (share(threads / 2), share(threads - threads / 2));
            rayon::join(|| f(fwd, a), || f(rev, b));
        }
        _ => {
            for j in jobs {
                f(j, par);
            }
        }
    }
}

/// Writes `x: [T, B, n]` with each row's first `len_b` steps in reverse order
/// into `out` (zero past them).
fn reverse_rows<T: Real>(dims: Dims<'_>, x: &[T], n: usize, out: &mut [T]) {
    let b = dims.batch;
    out.fill(T::ZERO);
    for row in 0..b {
        let len = dims.len_of(row);
        for t in 0..len {
            out[(t * b + row) * n..][..n].copy_from_slice(&x[((len - 1 - t) * b + row) * n..][..n]);
        }
    }
}

/// Adds `rev: [T, B, n]`, in each row's reversed time, into `dest` in time order.
fn add_reversed<T: Real>(dims: Dims<'_>, rev: &[T], n: usize, dest: &mut [T]) {
    let b = dims.batch;
    for row in 0..b {
        let len = dims.len_of(row);
        for t in 0..len {
            let src = &rev[((len - 1 - t) * b + row) * n..][..n];
            for (o, &v) in dest[(t * b + row) * n..][..n].iter_mut().zip(src) {
                *o += v;
            }
        }
    }
}

/// The directions' outputs `[T, B, H]` (the reverse one in each row's
/// reversed time) interleaved into `dest: [T, B, D·H]` (zero past a row's length).
fn join_directions<T: Real>(dims: Dims<'_>, outs: &[&[T]], h: usize, dest: &mut [T]) {
    let (b, d) = (dims.batch, outs.len());
    dest.fill(T::ZERO);
    for row in 0..b {
        let len = dims.len_of(row);
        for t in 0..len {
            for (dir, o) in outs.iter().enumerate() {
                let src_t = if dir == 0 { t } else { len - 1 - t };
                dest[(t * b + row) * d * h + dir * h..][..h].copy_from_slice(&o[(src_t * b + row) * h..][..h]);
            }
        }
    }
}

/// Direction `dir`'s share of `g: [T, B, D·H]`, in that direction's time,
/// into `out: [T, B, H]` (zero past each row's length).
fn split_direction<T: Real>(dims: Dims<'_>, g: &[T], d: usize, dir: usize, h: usize, out: &mut [T]) {
    let b = dims.batch;
    out.fill(T::ZERO);
    for row in 0..b {
        let len = dims.len_of(row);
        for t in 0..len {
            let src_t = if dir == 0 { t } else { len - 1 - t };
            out[(t * b + row) * h..][..h].copy_from_slice(&g[(src_t * b + row) * d * h + dir * h..][..h]);
        }
    }
}

impl<T: Real> Weights<T> {
    /// Zero parameters for every (layer, direction) of `stack`, in order.
    pub fn zeros_for(stack: &Stack) -> Vec<Weights<T>> {
        (0..stack.units()).map(|u| Weights::zeros(&stack.layer(u / stack.directions()))).collect()
    }
}

/// A stack's training forward, owned: its outputs and everything backward needs.
#[derive(Clone, Debug)]
pub struct StackTrace<T> {
    seq_len: usize,
    batch: usize,
    lengths: Option<Vec<usize>>,
    x: Vec<T>,
    h0: Vec<T>,
    c0: Option<Vec<T>>,
    tape: Vec<T>,
    /// The last layer's output `[T, B, D·H]`.
    pub output: Vec<T>,
    /// Final hidden states `[L·D, B, H]`.
    pub h_n: Vec<T>,
    /// Final cell states `[L·D, B, H]` (LSTM).
    pub c_n: Option<Vec<T>>,
}

/// What a stack's inference forward returns, owned.
#[derive(Clone, Debug)]
pub struct StackOutput<T> {
    /// The last layer's output `[T, B, D·H]`.
    pub output: Vec<T>,
    /// Final hidden states `[L·D, B, H]`.
    pub h_n: Vec<T>,
    /// Final cell states `[L·D, B, H]` (LSTM).
    pub c_n: Option<Vec<T>>,
}

/// Everything a stack's backward computes, owned.
#[derive(Clone, Debug)]
pub struct StackGrads<T> {
    /// One gradient per (layer, direction), in [`Stack::param_names`] order.
    pub weights: Vec<Weights<T>>,
    /// `dL/dx: [T, B, I]`.
    pub dx: Vec<T>,
    /// `dL/dh0: [L·D, B, H]`.
    pub dh0: Vec<T>,
    /// `dL/dc0: [L·D, B, H]` (LSTM).
    pub dc0: Option<Vec<T>>,
    /// `‖dL/dh_t‖` per (layer, direction) and step, `[L·D, T]`.
    pub step_norms: Vec<T>,
}

impl Stack {
    fn initial<T: Real>(&self, dims: Dims<'_>, h0: Option<&[T]>, c0: Option<&[T]>) -> (Vec<T>, Option<Vec<T>>) {
        let n = self.units() * dims.batch * self.hidden_size;
        let h0 = h0.map_or_else(|| vec![T::ZERO; n], <[T]>::to_vec);
        let c0 = self.cell.has_cell_state().then(|| c0.map_or_else(|| vec![T::ZERO; n], <[T]>::to_vec));
        (h0, c0)
    }

    /// Training forward, owned: `h0`/`c0` (`[L·D, B, H]`) default to zeros.
    #[track_caller]
    pub fn forward_train<T: Real>(
        &self,
        weights: &[Weights<T>],
        dims: Dims<'_>,
        x: &[T],
        h0: Option<&[T]>,
        c0: Option<&[T]>,
        par: Parallelism,
    ) -> StackTrace<T> {
        let (h0, c0) = self.initial(dims, h0, c0);
        let n = h0.len();
        let params: Vec<Params<'_, T>> = weights.iter().map(Weights::view).collect();
        let mut output = vec![T::ZERO; dims.seq_len * dims.batch * self.output_size()];
        let mut h_n = vec![T::ZERO; n];
        let mut c_n = c0.as_ref().map(|_| vec![T::ZERO; n]);
        let mut tape = vec![T::ZERO; self.tape_len(dims)];
        let mut scratch = vec![T::ZERO; self.forward_scratch_len(dims, true)];
        self.forward(
            &params,
            dims,
            x,
            State { h: &h0, c: c0.as_deref() },
            StackOut { output: &mut output, h_n: Some(&mut h_n), c_n: c_n.as_deref_mut(), tape: Some(&mut tape) },
            &mut scratch,
            par,
        );
        StackTrace {
            seq_len: dims.seq_len,
            batch: dims.batch,
            lengths: dims.lengths.map(<[usize]>::to_vec),
            x: x.to_vec(),
            h0,
            c0,
            tape,
            output,
            h_n,
            c_n,
        }
    }

    /// Inference forward, owned: `h0`/`c0` (`[L·D, B, H]`) default to zeros.
    #[track_caller]
    pub fn forward_infer<T: Real>(
        &self,
        weights: &[Weights<T>],
        dims: Dims<'_>,
        x: &[T],
        h0: Option<&[T]>,
        c0: Option<&[T]>,
        par: Parallelism,
    ) -> StackOutput<T> {
        let (h0, c0) = self.initial(dims, h0, c0);
        let params: Vec<Params<'_, T>> = weights.iter().map(Weights::view).collect();
        let mut output = vec![T::ZERO; dims.seq_len * dims.batch * self.output_size()];
        let mut h_n = vec![T::ZERO; h0.len()];
        let mut c_n = c0.as_ref().map(|c| vec![T::ZERO; c.len()]);
        let mut scratch = vec![T::ZERO; self.forward_scratch_len(dims, false)];
        self.forward(
            &params,
            dims,
            x,
            State { h: &h0, c: c0.as_deref() },
            StackOut { output: &mut output, h_n: Some(&mut h_n), c_n: c_n.as_deref_mut(), tape: None },
            &mut scratch,
            par,
        );
        StackOutput { output, h_n, c_n }
    }

    /// Backward through the forward of `trace` (consumed: backward overwrites its tape).
    #[track_caller]
    pub fn backward_trace<T: Real>(
        &self,
        weights: &[Weights<T>],
        mut trace: StackTrace<T>,
        upstream: StackUpstream<'_, T>,
        opts: BackwardOpts,
        par: Parallelism,
    ) -> StackGrads<T> {
        let lengths = trace.lengths.take();
        let dims = match &lengths {
            Some(l) => Dims::with_lengths(trace.seq_len, l),
            None => Dims::new(trace.seq_len, trace.batch),
        };
        let params: Vec<Params<'_, T>> = weights.iter().map(Weights::view).collect();
        let mut grads = Weights::zeros_for(self);
        let mut dx = vec![T::ZERO; trace.x.len()];
        let mut dh0 = vec![T::ZERO; trace.h0.len()];
        let mut dc0 = trace.c0.as_ref().map(|c| vec![T::ZERO; c.len()]);
        let mut step_norms = vec![T::ZERO; self.units() * dims.seq_len];
        let mut scratch = vec![T::ZERO; self.backward_scratch_len(dims)];
        {
            let mut views: Vec<ParamsMut<'_, T>> = grads.iter_mut().map(Weights::view_mut).collect();
            self.backward(
                &params,
                dims,
                StackSaved { x: &trace.x, init: State { h: &trace.h0, c: trace.c0.as_deref() }, tape: &mut trace.tape },
                upstream,
                StackBackwardOut {
                    grads: Some(&mut views),
                    dx: Some(&mut dx),
                    dh0: Some(&mut dh0),
                    dc0: dc0.as_deref_mut(),
                    step_norms: Some(&mut step_norms),
                },
                BackwardOpts { accumulate: false, ..opts },
                &mut scratch,
                par,
            );
        }
        StackGrads { weights: grads, dx, dh0, dc0, step_norms }
    }
}
