//! Forward over a sequence and backpropagation through time, for every cell:
//! [`Rnn`], its argument types, their checks, and the non-generic `f32`/`f64`
//! entry points behind the generic API.

use crate::cells::Cell;
use crate::engine;
use crate::gemm::{MatRef, col_sums, par_gemm};
use crate::parallel::Parallelism;
use crate::real::{Real, cast, cast_mut};
use crate::simd::{self, Elem, fp::Ftz};

/// Steps whose input projection inference computes at once (bounds its scratch).
const INFER_CHUNK: usize = 32;
/// Rows (`steps · B`) inference projects at once, at least: small batches take
/// longer chunks, so that the projection GEMM stays efficient.
const INFER_ROWS: usize = 512;

/// Steps whose input projection inference computes at once.
fn infer_chunk(dims: Dims<'_>) -> usize {
    INFER_ROWS.div_ceil(dims.batch).max(INFER_CHUNK).min(dims.seq_len)
}

/// A single-layer, unidirectional recurrent layer's shape: cell, input size
/// `I` and hidden size `H`. It holds no weights; the kernels take them as
/// [`Params`].
///
/// # Layout
/// All buffers are row-major and contiguous:
/// - sequences `x: [T, B, I]`, `h_out: [T, B, H]` (time-major, batch rows contiguous);
/// - states `h0, c0, dh0, dc0: [B, H]`;
/// - parameters as PyTorch: `w_ih: [G·H, I]`, `w_hh: [G·H, H]`, `b_ih, b_hh: [G·H]`.
///
/// # Algorithm
/// Forward: the input projection of all steps, `X · W_ihᵀ + b`, is one GEMM
/// written into the tape; each step then adds the recurrent product
/// `h_{t-1} · W_hhᵀ` and applies the cell's element-wise update. Backward walks
/// the steps in reverse, turning the saved gate activations into gate
/// gradients `dG` in place, and only after the sweep computes
/// `dW_ih = dGᵀ X`, `dW_hh = dGᵀ H_prev` and `dX = dG W_ih` as single GEMMs over
/// all `T·B` rows.
///
/// # Memory
/// Callers query [`Rnn::tape_len`], [`Rnn::forward_scratch_len`] and
/// [`Rnn::backward_scratch_len`] and pass the buffers; nothing is allocated
/// inside the time loop. The tape holds `G·T·B·H` gate values plus `T·B·H` for
/// the LSTM (`c_t`) and GRU (`W_hn h + b_hn`); with `h_out` that is `6·T·B·H`
/// for the LSTM. Backward overwrites the tape.
///
/// # Kernels and threads
/// The per-step products run on `W_hh` packed once per call into panels, with
/// the cell's element-wise step fused into the register tiles
/// (the engine and the SIMD micro-kernels), at the SIMD level of
/// [`crate::simd::level`] (forced with [`crate::simd::with_level`],
/// [`crate::simd::set_level`] or `RNN_KERNELS_SIMD=scalar|avx2|avx512|neon`).
/// With [`Parallelism::Rayon`], the time loop is split between threads by
/// hidden-unit panels (one barrier per step) or, for large batches, by batch
/// rows (no synchronisation); the big GEMMs are split by output rows. `f32`
/// calls flush denormals (FTZ/DAZ) on their threads for their duration: values
/// below `f32::MIN_POSITIVE` become zero, which keeps vanishing-gradient runs
/// off the slow denormal path.
///
/// # Determinism
/// For a given input, shape, element type and SIMD level the results are
/// bitwise reproducible, whatever the thread count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rnn {
    cell: Cell,
    input_size: usize,
    hidden_size: usize,
}

/// Sequence length `T` and batch size `B` of one call, and for a batch of
/// sequences of different lengths, the length of each row.
///
/// With `lengths`, row `b` is a sequence of `lengths[b]` steps (`1..=T`, any
/// order), padded to `T` in every `[T, B, ·]` buffer, as
/// `torch.nn.utils.rnn.pack_padded_sequence` describes a batch: steps past a
/// row's length produce zero output and take no gradient, the row's final
/// state (`h_n`, `c_n`) is its state at its own last step, and upstream
/// gradients at padded steps are ignored. The time loop spends nothing on rows
/// that have ended (it runs the rows longest first, so the rows still running
/// are a prefix); the once-per-sequence GEMMs run over the padded `T·B` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims<'a> {
    /// Time steps `T >= 1`.
    pub seq_len: usize,
    /// Batch rows `B >= 1`.
    pub batch: usize,
    /// The length of each row (`[B]`, each in `1..=T`); `None`: every row has `T` steps.
    pub lengths: Option<&'a [usize]>,
}

impl Dims<'static> {
    /// `T` steps for each of `B` rows.
    pub fn new(seq_len: usize, batch: usize) -> Self {
        Self { seq_len, batch, lengths: None }
    }
}

impl<'a> Dims<'a> {
    /// A batch of `lengths.len()` rows padded to `seq_len` steps, row `b` running
    /// `lengths[b]` of them (checked by the entry points).
    pub fn with_lengths(seq_len: usize, lengths: &'a [usize]) -> Self {
        Self { seq_len, batch: lengths.len(), lengths: Some(lengths) }
    }

    /// The length of row `b`.
    pub fn len_of(&self, b: usize) -> usize {
        self.lengths.map_or(self.seq_len, |l| l[b])
    }

    /// The same shape without the lengths (every row `T` steps).
    pub fn padded(&self) -> Dims<'static> {
        Dims::new(self.seq_len, self.batch)
    }
}

/// A shape mismatch or invalid argument found by a checking function
/// ([`Rnn::check_forward`], [`Rnn::check_backward`], ...): which entry point,
/// which argument, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    /// The entry point, e.g. `Rnn::forward`.
    pub call: &'static str,
    /// The argument, e.g. `out.h_out` or `dims.lengths[3]`.
    pub arg: String,
    /// What is wrong, e.g. `has length 5, expected T*B*H = 6`.
    pub message: String,
}

impl core::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: `{}` {}", self.call, self.arg, self.message)
    }
}

impl std::error::Error for ShapeError {}

/// The checks of one entry point: each returns the first violation.
pub(crate) struct Checker {
    pub(crate) call: &'static str,
}

impl Checker {
    pub(crate) fn fail(&self, arg: impl Into<String>, message: impl Into<String>) -> ShapeError {
        ShapeError { call: self.call, arg: arg.into(), message: message.into() }
    }

    /// `s.len() == expected` (`formula` names it in the message).
    pub(crate) fn len<T>(&self, arg: &str, s: &[T], expected: usize, formula: &str) -> Result<(), ShapeError> {
        self.len_in("", arg, s, expected, formula)
    }

    /// [`Checker::len`] for the argument `{prefix}{arg}` (the name is built only on failure).
    pub(crate) fn len_in<T>(
        &self,
        prefix: &str,
        arg: &str,
        s: &[T],
        expected: usize,
        formula: &str,
    ) -> Result<(), ShapeError> {
        if s.len() == expected {
            Ok(())
        } else {
            Err(self.fail(format!("{prefix}{arg}"), format!("has length {}, expected {formula} = {expected}", s.len())))
        }
    }

    /// `s.len() >= need`.
    pub(crate) fn at_least<T>(&self, arg: &str, s: &[T], need: usize, what: &str) -> Result<(), ShapeError> {
        if s.len() >= need {
            Ok(())
        } else {
            Err(self.fail(arg, format!("has length {}, needs at least {what} = {need}", s.len())))
        }
    }

    /// `T >= 1`, `B >= 1`, and each length in `1..=T`.
    pub(crate) fn dims(&self, dims: Dims<'_>) -> Result<(), ShapeError> {
        if dims.seq_len == 0 {
            return Err(self.fail("dims.seq_len", "must be >= 1"));
        }
        if dims.batch == 0 {
            return Err(self.fail("dims.batch", "must be >= 1"));
        }
        if let Some(lens) = dims.lengths {
            self.len("dims.lengths", lens, dims.batch, "B")?;
            if let Some((b, &l)) = lens.iter().enumerate().find(|&(_, &l)| l == 0 || l > dims.seq_len) {
                return Err(
                    self.fail(format!("dims.lengths[{b}]"), format!("is {l}, must be in 1..=T = {}", dims.seq_len))
                );
            }
        }
        Ok(())
    }
}

/// Panics with the checker's message (the panicking API's one failure path).
#[track_caller]
pub(crate) fn or_panic(r: Result<(), ShapeError>) {
    if let Err(e) = r {
        panic!("{e}");
    }
}

/// The row plan of a variable-length batch, owned for one call: rows sorted by
/// length (longest first, ties by row), and how many run at each step.
pub(crate) struct Rows {
    order: Vec<usize>,
    active: Vec<usize>,
}

impl Rows {
    /// `None` when every row runs every step (no lengths, or all equal to `T`).
    pub(crate) fn plan(dims: Dims<'_>) -> Option<Rows> {
        let lens = dims.lengths?;
        if lens.iter().all(|&l| l == dims.seq_len) {
            return None;
        }
        let mut order: Vec<usize> = (0..dims.batch).collect();
        order.sort_by_key(|&b| core::cmp::Reverse(lens[b]));
        let active = (0..dims.seq_len).map(|t| lens.iter().filter(|&&l| l > t).count()).collect();
        Some(Rows { order, active })
    }

    pub(crate) fn view<'a>(&'a self, lens: &'a [usize]) -> engine::RowPlan<'a> {
        engine::RowPlan { order: &self.order, active: &self.active, lens }
    }
}

/// Borrowed layer parameters in PyTorch layout (see [`Rnn`]).
#[derive(Clone, Copy, Debug)]
pub struct Params<'a, T> {
    /// `[G·H, I]`.
    pub w_ih: &'a [T],
    /// `[G·H, H]`.
    pub w_hh: &'a [T],
    /// `[G·H]`.
    pub b_ih: &'a [T],
    /// `[G·H]`.
    pub b_hh: &'a [T],
}

/// Mutably borrowed parameter-shaped buffers (weight gradients).
#[derive(Debug)]
pub struct ParamsMut<'a, T> {
    /// `[G·H, I]`.
    pub w_ih: &'a mut [T],
    /// `[G·H, H]`.
    pub w_hh: &'a mut [T],
    /// `[G·H]`.
    pub b_ih: &'a mut [T],
    /// `[G·H]`.
    pub b_hh: &'a mut [T],
}

/// A recurrent state: `h: [B, H]`, and `c: [B, H]` for the LSTM (required there, ignored otherwise).
#[derive(Clone, Copy, Debug)]
pub struct State<'a, T> {
    /// Hidden state.
    pub h: &'a [T],
    /// Cell state (LSTM only).
    pub c: Option<&'a [T]>,
}

/// Where the forward pass writes.
#[derive(Debug)]
pub struct ForwardOut<'a, T> {
    /// Every hidden state `h_1..h_T`: `[T, B, H]` (zero past a row's length).
    pub h_out: &'a mut [T],
    /// The final hidden state of each row, `[B, H]`, if wanted (without
    /// lengths it is also the last row block of `h_out`).
    pub h_n: Option<&'a mut [T]>,
    /// The final cell state of each row, `[B, H]` (LSTM), if wanted.
    pub c_n: Option<&'a mut [T]>,
    /// The training tape of [`Rnn::tape_len`] values; `None` is inference, which saves nothing.
    pub tape: Option<&'a mut [T]>,
}

/// What backward needs from the forward call.
#[derive(Debug)]
pub struct Saved<'a, T> {
    /// The input `[T, B, I]`.
    pub x: &'a [T],
    /// The initial state.
    pub init: State<'a, T>,
    /// The forward output `[T, B, H]` (as the forward call wrote it).
    pub h_out: &'a [T],
    /// The tape written by the training forward; overwritten by backward.
    pub tape: &'a mut [T],
}

/// Gradients arriving from the loss.
#[derive(Clone, Copy, Debug, Default)]
pub struct Upstream<'a, T> {
    /// `dL/dh_t` for every step, `[T, B, H]`, as far as the loss reads `h_t`
    /// directly; `None` means zero (for example a loss on the last step only).
    pub dh_out: Option<&'a [T]>,
    /// Extra gradient at each row's final state `h_n`, `[B, H]`.
    pub dh_n: Option<&'a [T]>,
    /// Gradient at each row's final cell state `c_n`, `[B, H]` (LSTM).
    pub dc_n: Option<&'a [T]>,
}

/// Where backward writes. Every field is optional: pass only what you need.
#[derive(Debug, Default)]
pub struct BackwardOut<'a, T> {
    /// Weight and bias gradients, overwritten or accumulated (see [`BackwardOpts::accumulate`]).
    pub grads: Option<ParamsMut<'a, T>>,
    /// `dL/dx: [T, B, I]`, overwritten.
    pub dx: Option<&'a mut [T]>,
    /// `dL/dh_0: [B, H]`, overwritten.
    pub dh0: Option<&'a mut [T]>,
    /// `dL/dc_0: [B, H]` (LSTM), overwritten.
    pub dc0: Option<&'a mut [T]>,
    /// `‖dL/dh_t‖_F` over the batch for every step `t = 1..T`, `[T]`: the total
    /// gradient reaching `h_t` (from the loss at `t` and from later steps).
    pub step_norms: Option<&'a mut [T]>,
    /// The total gradient `dL/dh_t` reaching every step, `[T, B, H]` (what
    /// `step_norms` takes the norm of), overwritten.
    pub dh_all: Option<&'a mut [T]>,
}

/// Options of the backward pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardOpts {
    /// Add into the weight gradients instead of overwriting them.
    pub accumulate: bool,
    /// Truncated BPTT with blocks of `k` steps counted from the end of the
    /// sequence: `[T-k, T)`, `[T-2k, T-k)`, … The gradient flows through the
    /// recurrence only inside a block; the state entering a block (other than
    /// the first, which starts from `h_0`) is treated as a constant. Equivalently,
    /// each block is backpropagated as its own sequence from the saved state,
    /// and the weight gradients of the blocks are summed. `None` (or `k >= T`)
    /// is full BPTT.
    pub truncate: Option<usize>,
}

impl Rnn {
    /// A layer of `cell` mapping inputs of size `input_size` to hidden states of
    /// size `hidden_size`. Panics if a size is zero or the activation is invalid.
    #[track_caller]
    pub fn new(cell: Cell, input_size: usize, hidden_size: usize) -> Self {
        assert!(input_size > 0, "Rnn::new: `input_size` must be >= 1");
        assert!(hidden_size > 0, "Rnn::new: `hidden_size` must be >= 1");
        if let Cell::Rnn(a) = cell {
            a.validate();
        }
        Self { cell, input_size, hidden_size }
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
    /// Gate rows `G·H` of the weight matrices.
    pub fn gate_rows(&self) -> usize {
        self.cell.gates() * self.hidden_size
    }
    /// Length of `w_ih` (`G·H·I`).
    pub fn w_ih_len(&self) -> usize {
        self.gate_rows() * self.input_size
    }
    /// Length of `w_hh` (`G·H·H`).
    pub fn w_hh_len(&self) -> usize {
        self.gate_rows() * self.hidden_size
    }
    /// Length of each bias (`G·H`).
    pub fn bias_len(&self) -> usize {
        self.gate_rows()
    }
    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.w_ih_len() + self.w_hh_len() + 2 * self.bias_len()
    }

    /// Values of the training tape for `dims`: `(G + e)·T·B·H`, `e = 1` for LSTM and GRU.
    pub fn tape_len(&self, dims: Dims<'_>) -> usize {
        (self.cell.gates() + self.cell.extra_tape()) * dims.seq_len * dims.batch * self.hidden_size
    }

    /// Scratch values [`Rnn::forward`] needs (training when `training`, else inference).
    ///
    /// Holds `W_hh` packed into panels (`G·H'·H`, `H'` = `H` rounded up to a
    /// multiple of 64), the partial register tiles (`B·G·H'`) and the folded
    /// bias row (`G·H`); inference adds
    /// the gate buffer of a chunk of `max(32, ⌈512 / B⌉)` steps (at most `T`)
    /// and the LSTM/GRU state slots.
    pub fn forward_scratch_len(&self, dims: Dims<'_>, training: bool) -> usize {
        self.forward_scratch_len_with(dims, training, false)
    }

    /// [`Rnn::forward_scratch_len`], or with `prepacked` weights (no packing space).
    pub(crate) fn forward_scratch_len_with(&self, dims: Dims<'_>, training: bool, prepacked: bool) -> usize {
        let (b, h, gh) = (dims.batch, self.hidden_size, self.gate_rows());
        let step = engine::forward_scratch_len(self.cell, h, b, prepacked);
        if training {
            step
        } else {
            let chunk = infer_chunk(dims);
            let state = match self.cell {
                Cell::Rnn(_) => 0,
                Cell::Lstm => 2 * b * h,
                Cell::Gru => b * h,
            };
            step + chunk * b * gh + state
        }
    }

    /// Scratch values [`Rnn::backward`] needs: `W_hh` packed into column panels
    /// (`G·H·H'`), partial tiles (`B·H'`), a two-slot ring of `dh_t` (`2·B·H`)
    /// and the cell's carries (LSTM `dc`; GRU `D` and two `[B, G·H]` operand
    /// buffers). It does not depend on `T`.
    pub fn backward_scratch_len(&self, dims: Dims<'_>) -> usize {
        engine::backward_scratch_len(self.cell, self.hidden_size, dims.batch)
    }

    pub(crate) fn check_params<T>(&self, c: &Checker, prefix: &str, p: &Params<'_, T>) -> Result<(), ShapeError> {
        c.len_in(prefix, "w_ih", p.w_ih, self.w_ih_len(), "G*H*I")?;
        c.len_in(prefix, "w_hh", p.w_hh, self.w_hh_len(), "G*H*H")?;
        c.len_in(prefix, "b_ih", p.b_ih, self.bias_len(), "G*H")?;
        c.len_in(prefix, "b_hh", p.b_hh, self.bias_len(), "G*H")
    }

    pub(crate) fn check_state<T>(
        &self,
        c: &Checker,
        dims: Dims<'_>,
        s: &State<'_, T>,
        h: &str,
        cn: &str,
    ) -> Result<(), ShapeError> {
        let bh = dims.batch * self.hidden_size;
        c.len(h, s.h, bh, "B*H")?;
        match (self.cell.has_cell_state(), s.c) {
            (true, Some(c0)) => c.len(cn, c0, bh, "B*H"),
            (true, None) => Err(c.fail(cn, "is required for the LSTM")),
            (false, _) => Ok(()),
        }
    }

    pub(crate) fn check_lstm_only<T>(&self, c: &Checker, arg: &str, v: &Option<T>) -> Result<(), ShapeError> {
        if v.is_some() && !self.cell.has_cell_state() {
            return Err(c.fail(arg, "is given for a cell without cell state (LSTM only)"));
        }
        Ok(())
    }

    /// Checks the arguments of [`Rnn::forward`] without running it: the first
    /// mismatch, naming the argument and the expected shape.
    pub fn check_forward<T>(
        &self,
        params: &Params<'_, T>,
        dims: Dims<'_>,
        x: &[T],
        init: &State<'_, T>,
        out: &ForwardOut<'_, T>,
        scratch: &[T],
    ) -> Result<(), ShapeError> {
        let c = Checker { call: "Rnn::forward" };
        self.check_params(&c, "params.", params)?;
        self.check_forward_io(&c, dims, x, init, out)?;
        c.at_least("scratch", scratch, self.forward_scratch_len(dims, out.tape.is_some()), "Rnn::forward_scratch_len")
    }

    /// The checks of a forward call's shape, input, state and outputs.
    pub(crate) fn check_forward_io<T>(
        &self,
        c: &Checker,
        dims: Dims<'_>,
        x: &[T],
        init: &State<'_, T>,
        out: &ForwardOut<'_, T>,
    ) -> Result<(), ShapeError> {
        c.dims(dims)?;
        let (t_len, b) = (dims.seq_len, dims.batch);
        let bh = b * self.hidden_size;
        c.len("x", x, t_len * b * self.input_size, "T*B*I")?;
        self.check_state(c, dims, init, "init.h", "init.c")?;
        c.len("out.h_out", out.h_out, t_len * bh, "T*B*H")?;
        if let Some(h_n) = &out.h_n {
            c.len("out.h_n", h_n, bh, "B*H")?;
        }
        self.check_lstm_only(c, "out.c_n", &out.c_n)?;
        if let Some(c_n) = &out.c_n {
            c.len("out.c_n", c_n, bh, "B*H")?;
        }
        if let Some(tape) = &out.tape {
            c.len("out.tape", tape, self.tape_len(dims), "Rnn::tape_len(dims)")?;
        }
        Ok(())
    }

    /// Checks the arguments of [`Rnn::backward`] without running it.
    #[allow(clippy::too_many_arguments)]
    pub fn check_backward<T>(
        &self,
        params: &Params<'_, T>,
        dims: Dims<'_>,
        saved: &Saved<'_, T>,
        upstream: &Upstream<'_, T>,
        out: &BackwardOut<'_, T>,
        opts: &BackwardOpts,
        scratch: &[T],
    ) -> Result<(), ShapeError> {
        let c = Checker { call: "Rnn::backward" };
        c.dims(dims)?;
        self.check_params(&c, "params.", params)?;
        let (t_len, b, i_len) = (dims.seq_len, dims.batch, self.input_size);
        let bh = b * self.hidden_size;
        c.len("saved.x", saved.x, t_len * b * i_len, "T*B*I")?;
        self.check_state(&c, dims, &saved.init, "saved.init.h", "saved.init.c")?;
        c.len("saved.h_out", saved.h_out, t_len * bh, "T*B*H")?;
        c.len("saved.tape", saved.tape, self.tape_len(dims), "Rnn::tape_len(dims)")?;
        if let Some(d) = upstream.dh_out {
            c.len("upstream.dh_out", d, t_len * bh, "T*B*H")?;
        }
        if let Some(d) = upstream.dh_n {
            c.len("upstream.dh_n", d, bh, "B*H")?;
        }
        self.check_lstm_only(&c, "upstream.dc_n", &upstream.dc_n)?;
        if let Some(d) = upstream.dc_n {
            c.len("upstream.dc_n", d, bh, "B*H")?;
        }
        if let Some(g) = &out.grads {
            c.len("out.grads.w_ih", g.w_ih, self.w_ih_len(), "G*H*I")?;
            c.len("out.grads.w_hh", g.w_hh, self.w_hh_len(), "G*H*H")?;
            c.len("out.grads.b_ih", g.b_ih, self.bias_len(), "G*H")?;
            c.len("out.grads.b_hh", g.b_hh, self.bias_len(), "G*H")?;
        }
        if let Some(d) = &out.dx {
            c.len("out.dx", d, t_len * b * i_len, "T*B*I")?;
        }
        if let Some(d) = &out.dh0 {
            c.len("out.dh0", d, bh, "B*H")?;
        }
        self.check_lstm_only(&c, "out.dc0", &out.dc0)?;
        if let Some(d) = &out.dc0 {
            c.len("out.dc0", d, bh, "B*H")?;
        }
        if let Some(n) = &out.step_norms {
            c.len("out.step_norms", n, t_len, "T")?;
        }
        if let Some(d) = &out.dh_all {
            c.len("out.dh_all", d, t_len * bh, "T*B*H")?;
        }
        if opts.truncate == Some(0) {
            return Err(c.fail("opts.truncate", "must be >= 1 (use None for full BPTT)"));
        }
        c.at_least("scratch", scratch, self.backward_scratch_len(dims), "Rnn::backward_scratch_len")
    }

    /// Runs the layer over a sequence from `init`, writing every `h_t` (and the
    /// final states on request). With `out.tape` it records what
    /// [`Rnn::backward`] needs; without, nothing is saved.
    ///
    /// `scratch` must hold at least [`Rnn::forward_scratch_len`] values (its
    /// contents are ignored). Panics, naming the argument, on any mismatch
    /// that [`Rnn::check_forward`] reports.
    #[track_caller]
    pub fn forward<T: Real>(
        &self,
        params: Params<'_, T>,
        dims: Dims<'_>,
        x: &[T],
        init: State<'_, T>,
        out: ForwardOut<'_, T>,
        scratch: &mut [T],
        par: Parallelism,
    ) {
        or_panic(self.check_forward(&params, dims, x, &init, &out, scratch));
        let call = ForwardCall { params, dims, x, init, out, scratch, par, packed: None };
        if T::IS_F32 { forward_f32(self, call.cast()) } else { forward_f64(self, call.cast()) }
    }

    /// The forward pass proper, on checked arguments.
    pub(crate) fn run_forward<T: Elem>(&self, call: ForwardCall<'_, T>) {
        let ForwardCall { params, dims, x, init, mut out, scratch, par, packed } = call;
        let (t_len, b, h, gh) = (dims.seq_len, dims.batch, self.hidden_size, self.gate_rows());
        let (bh, bg) = (b * h, b * gh);
        let _ftz = Ftz::new(T::IS_F32);
        let rows = Rows::plan(dims);
        let plan = rows.as_ref().zip(dims.lengths).map(|(r, lens)| r.view(lens));
        let (rec_scratch, scratch) =
            scratch.split_at_mut(engine::forward_scratch_len(self.cell, h, b, packed.is_some()));
        // Gate storage: the tape itself when training, a chunk buffer otherwise.
        // Extra per-step state (LSTM c_t, GRU hn) lives in `slots` buffers of B·H.
        let training = out.tape.is_some();
        let (gates, extra, slots, chunk): (&mut [T], &mut [T], usize, usize) = match out.tape {
            Some(tape) => {
                let (g, e) = tape.split_at_mut(t_len * bg);
                (g, e, t_len, t_len)
            }
            None => {
                let chunk = infer_chunk(dims);
                let (g, e) = scratch.split_at_mut(chunk * bg);
                let slots = match self.cell {
                    Cell::Rnn(_) => 1,
                    Cell::Lstm => 2,
                    Cell::Gru => 1,
                };
                let len = if matches!(self.cell, Cell::Rnn(_)) { 0 } else { slots * bh };
                (g, &mut e[..len], slots, chunk)
            }
        };
        engine::Forward {
            level: packed.as_ref().map_or_else(simd::level, |p| p.level),
            threads: par.threads(),
            cell: self.cell,
            hidden: h,
            input: self.input_size,
            batch: b,
            seq_len: t_len,
            w_ih: params.w_ih,
            w_hh: params.w_hh,
            b_ih: params.b_ih,
            b_hh: params.b_hh,
            x,
            h0: init.h,
            c0: init.c,
            h_out: &mut *out.h_out,
            gates: &mut *gates,
            extra: &mut *extra,
            slots,
            chunk,
            scratch: rec_scratch,
            plan,
            step_input: packed.as_ref().is_some_and(|p| p.step),
            prepacked: packed.map(|p| p.weights),
        }
        .run();
        // Each row's final states, then zeros past each row's end (in the
        // output, and in the tape, so that backward's GEMMs over all T·B rows
        // see no gradient there).
        for b_row in 0..b {
            let last = dims.len_of(b_row) - 1;
            if let Some(h_n) = out.h_n.as_deref_mut() {
                h_n[b_row * h..][..h].copy_from_slice(&out.h_out[(last * b + b_row) * h..][..h]);
            }
            if let Some(c_n) = out.c_n.as_deref_mut() {
                c_n[b_row * h..][..h].copy_from_slice(&extra[(last % slots) * bh + b_row * h..][..h]);
            }
        }
        if rows.is_some() {
            for t in 0..t_len {
                for b_row in (0..b).filter(|&r| dims.len_of(r) <= t) {
                    out.h_out[(t * b + b_row) * h..][..h].fill(T::ZERO);
                    if training {
                        gates[(t * b + b_row) * gh..][..gh].fill(T::ZERO);
                        if !extra.is_empty() {
                            extra[(t * b + b_row) * h..][..h].fill(T::ZERO);
                        }
                    }
                }
            }
        }
    }

    /// Backpropagation through time over the sequence of the training forward
    /// whose tape is in `saved`.
    ///
    /// Given the upstream gradients, computes (each on request) the weight and
    /// bias gradients, `dL/dx`, `dL/dh_0`, `dL/dc_0` and the per-step norms of
    /// `dL/dh_t`. The tape is overwritten with gate gradients. `scratch` must
    /// hold at least [`Rnn::backward_scratch_len`] values. Panics on any
    /// mismatch that [`Rnn::check_backward`] reports.
    #[track_caller]
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Real>(
        &self,
        params: Params<'_, T>,
        dims: Dims<'_>,
        saved: Saved<'_, T>,
        upstream: Upstream<'_, T>,
        out: BackwardOut<'_, T>,
        opts: BackwardOpts,
        scratch: &mut [T],
        par: Parallelism,
    ) {
        or_panic(self.check_backward(&params, dims, &saved, &upstream, &out, &opts, scratch));
        let call = BackwardCall { params, dims, saved, upstream, out, opts, scratch, par };
        if T::IS_F32 { backward_f32(self, call.cast()) } else { backward_f64(self, call.cast()) }
    }

    /// The backward pass proper, on checked arguments.
    fn run_backward<T: Elem>(&self, call: BackwardCall<'_, T>) {
        let BackwardCall { params, dims, saved, upstream, out, opts, scratch, par } = call;
        let (t_len, b, h, gh, i_len) = (dims.seq_len, dims.batch, self.hidden_size, self.gate_rows(), self.input_size);
        let bg = b * gh;
        let _ftz = Ftz::new(T::IS_F32);
        let threads = par.threads();
        let level = simd::level();
        let rows = Rows::plan(dims);
        let plan = rows.as_ref().zip(dims.lengths).map(|(r, lens)| r.view(lens));
        let (gates_all, extra) = saved.tape.split_at_mut(t_len * bg);
        engine::Backward {
            level,
            threads,
            cell: self.cell,
            hidden: h,
            batch: b,
            seq_len: t_len,
            w_hh: params.w_hh,
            h0: saved.init.h,
            c0: saved.init.c,
            h_out: saved.h_out,
            gates: &mut *gates_all,
            extra: &mut *extra,
            dh_out: upstream.dh_out,
            dh_n: upstream.dh_n,
            dc_n: upstream.dc_n,
            truncate: opts.truncate.filter(|&k| k < t_len),
            dh0: out.dh0,
            dc0: out.dc0,
            step_norms: out.step_norms,
            dh_all: out.dh_all,
            scratch,
            plan,
        }
        .run();

        // Everything below is one GEMM (or column sum) over all T·B rows.
        let rows = t_len * b;
        let dg = MatRef::row_major(&*gates_all, rows, gh);
        if let Some(dx) = out.dx {
            par_gemm(level, threads, T::ONE, dg, MatRef::row_major(params.w_ih, gh, i_len), T::ZERO, dx, i_len, None);
        }
        if let Some(g) = out.grads {
            let beta = if opts.accumulate { T::ONE } else { T::ZERO };
            par_gemm(
                level,
                threads,
                T::ONE,
                dg.t(),
                MatRef::row_major(saved.x, rows, i_len),
                beta,
                g.w_ih,
                i_len,
                None,
            );
            col_sums(dg, g.b_ih, opts.accumulate);
            // dW_hh = dG_hᵀ · H_prev, H_prev = [h_0; h_1..h_{T-1}]: two GEMMs per
            // row block of dW_hh. For the GRU the n rows use dhn instead of da_n.
            let h0 = MatRef::row_major(saved.init.h, b, h);
            let hs = MatRef::row_major(saved.h_out, rows, h).rows(0, rows - b);
            let mut blocks: [(MatRef<'_, T>, usize, usize); 2] = [(dg, 0, gh), (dg, gh, gh)];
            let mut nblocks = 1;
            if self.cell == Cell::Gru {
                blocks[0] = (dg.cols(0, 2 * h), 0, 2 * h);
                blocks[1] = (MatRef::row_major(&*extra, rows, h), 2 * h, h);
                nblocks = 2;
            }
            for &(a, r0, nr) in &blocks[..nblocks] {
                let w = &mut g.w_hh[r0 * h..(r0 + nr) * h];
                par_gemm(level, threads, T::ONE, a.rows(0, b).t(), h0, beta, w, h, None);
                if t_len > 1 {
                    par_gemm(level, threads, T::ONE, a.rows(b, rows - b).t(), hs, T::ONE, w, h, None);
                }
                col_sums(a, &mut g.b_hh[r0..r0 + nr], opts.accumulate);
            }
        }
    }
}

/// The arguments of one [`Rnn::forward`] call.
pub(crate) struct ForwardCall<'a, T> {
    pub(crate) params: Params<'a, T>,
    pub(crate) dims: Dims<'a>,
    pub(crate) x: &'a [T],
    pub(crate) init: State<'a, T>,
    pub(crate) out: ForwardOut<'a, T>,
    pub(crate) scratch: &'a mut [T],
    pub(crate) par: Parallelism,
    /// Weights packed beforehand ([`crate::PackedWeights`]).
    pub(crate) packed: Option<PackedCall<'a, T>>,
}

/// Prepacked weights in a call: the level they were packed at (the call runs
/// at it), the buffers, and whether the call is a single step (whose input
/// projection then runs on the packed `W_ih`).
pub(crate) struct PackedCall<'a, T> {
    pub(crate) level: simd::Level,
    pub(crate) weights: engine::Prepacked<'a, T>,
    pub(crate) step: bool,
}

/// The arguments of one [`Rnn::backward`] call.
struct BackwardCall<'a, T> {
    params: Params<'a, T>,
    dims: Dims<'a>,
    saved: Saved<'a, T>,
    upstream: Upstream<'a, T>,
    out: BackwardOut<'a, T>,
    opts: BackwardOpts,
    scratch: &'a mut [T],
    par: Parallelism,
}

// The public entry points are generic; these non-generic functions are where
// the time loops get compiled, once, in this crate (see `crate::real::cast`).

#[inline(never)]
pub(crate) fn forward_f32(rnn: &Rnn, call: ForwardCall<'_, f32>) {
    rnn.run_forward(call);
}

#[inline(never)]
pub(crate) fn forward_f64(rnn: &Rnn, call: ForwardCall<'_, f64>) {
    rnn.run_forward(call);
}

#[inline(never)]
fn backward_f32(rnn: &Rnn, call: BackwardCall<'_, f32>) {
    rnn.run_backward(call);
}

#[inline(never)]
fn backward_f64(rnn: &Rnn, call: BackwardCall<'_, f64>) {
    rnn.run_backward(call);
}

/// `Option<&[T]>` seen as `Option<&[U]>` (`U` is `T`).
fn cast_opt<T: Real, U: Real>(x: Option<&[T]>) -> Option<&[U]> {
    x.map(cast)
}

/// `Option<&mut [T]>` seen as `Option<&mut [U]>` (`U` is `T`).
fn cast_opt_mut<T: Real, U: Real>(x: Option<&mut [T]>) -> Option<&mut [U]> {
    x.map(cast_mut)
}

impl<'a, T: Real> Params<'a, T> {
    pub(crate) fn cast<U: Real>(self) -> Params<'a, U> {
        Params { w_ih: cast(self.w_ih), w_hh: cast(self.w_hh), b_ih: cast(self.b_ih), b_hh: cast(self.b_hh) }
    }
}

impl<'a, T: Real> ParamsMut<'a, T> {
    fn cast<U: Real>(self) -> ParamsMut<'a, U> {
        ParamsMut {
            w_ih: cast_mut(self.w_ih),
            w_hh: cast_mut(self.w_hh),
            b_ih: cast_mut(self.b_ih),
            b_hh: cast_mut(self.b_hh),
        }
    }
}

impl<'a, T: Real> State<'a, T> {
    fn cast<U: Real>(self) -> State<'a, U> {
        State { h: cast(self.h), c: cast_opt(self.c) }
    }
}

impl<'a, T: Real> ForwardCall<'a, T> {
    pub(crate) fn cast<U: Real>(self) -> ForwardCall<'a, U> {
        ForwardCall {
            params: self.params.cast(),
            dims: self.dims,
            x: cast(self.x),
            init: self.init.cast(),
            out: ForwardOut {
                h_out: cast_mut(self.out.h_out),
                h_n: cast_opt_mut(self.out.h_n),
                c_n: cast_opt_mut(self.out.c_n),
                tape: cast_opt_mut(self.out.tape),
            },
            scratch: cast_mut(self.scratch),
            par: self.par,
            packed: self.packed.map(|p| PackedCall {
                level: p.level,
                weights: engine::Prepacked {
                    w_hh: p.weights.w_hh.map(cast),
                    w_ih: p.weights.w_ih.map(cast),
                    bias_row: cast(p.weights.bias_row),
                },
                step: p.step,
            }),
        }
    }
}

impl<'a, T: Real> BackwardCall<'a, T> {
    fn cast<U: Real>(self) -> BackwardCall<'a, U> {
        let (saved, up, out) = (self.saved, self.upstream, self.out);
        BackwardCall {
            params: self.params.cast(),
            dims: self.dims,
            saved: Saved {
                x: cast(saved.x),
                init: saved.init.cast(),
                h_out: cast(saved.h_out),
                tape: cast_mut(saved.tape),
            },
            upstream: Upstream { dh_out: cast_opt(up.dh_out), dh_n: cast_opt(up.dh_n), dc_n: cast_opt(up.dc_n) },
            out: BackwardOut {
                grads: out.grads.map(ParamsMut::cast),
                dx: cast_opt_mut(out.dx),
                dh0: cast_opt_mut(out.dh0),
                dc0: cast_opt_mut(out.dc0),
                step_norms: cast_opt_mut(out.step_norms),
                dh_all: cast_opt_mut(out.dh_all),
            },
            opts: self.opts,
            scratch: cast_mut(self.scratch),
            par: self.par,
        }
    }
}
