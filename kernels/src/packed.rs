//! A layer's weights packed once for many calls: decode loops, streaming
//! inference and repeated forwards over the same weights.

use crate::engine::{self, PackedBuffers, Prepacked};
use crate::parallel::Parallelism;
use crate::real::{Real, cast};
use crate::sequence::{
    Checker, Dims, ForwardCall, ForwardOut, PackedCall, Params, Rnn, ShapeError, State, forward_f32, forward_f64,
    or_panic,
};
use crate::simd::{self, AlignedVec, Level};

/// A layer's weights prepared once for many forward calls: `W_hh` (and, for
/// single steps, `W_ih`) packed into the panels of the step kernels at one
/// SIMD level, and the biases folded. [`PackedWeights::forward`] and
/// [`PackedWeights::step`] never repack, which is what a decode loop of
/// one-step calls needs.
///
/// Calls run at the level the weights were packed at ([`PackedWeights::level`],
/// the level in force when [`PackedWeights::new`] ran), whatever level is in
/// force at the call; results are those of [`Rnn::forward`] at that level, bit
/// for bit (a step's input projection is summed by the step kernels rather than
/// the projection GEMM, so a step agrees with a one-step `forward` to rounding).
///
/// ```
/// use kernels::{Cell, Dims, ForwardOut, PackedWeights, Parallelism, Rnn, State, StepOut, Weights};
///
/// let rnn = Rnn::new(Cell::Gru, 4, 16);
/// let w = Weights::<f32>::zeros(&rnn);
/// let packed = PackedWeights::new(&rnn, w.view());
/// let (mut h, mut h_next) = (vec![0.0f32; 16], vec![0.0f32; 16]);
/// let mut scratch = vec![0.0f32; packed.step_scratch_len(1)];
/// for token in 0..10 {
///     let x = [token as f32; 4];
///     packed.step(&x, State { h: &h, c: None }, StepOut { h: &mut h_next, c: None }, &mut scratch, Parallelism::Sequential);
///     std::mem::swap(&mut h, &mut h_next);
/// }
/// ```
#[derive(Clone, Debug)]
pub struct PackedWeights<T> {
    rnn: Rnn,
    level: Level,
    w_ih: Vec<T>,
    b_ih: Vec<T>,
    b_hh: Vec<T>,
    w_hh: Vec<T>,
    packed: PackedBuffers<T>,
}

/// Where a single step writes: the next hidden state `[B, H]` and, for the
/// LSTM, the next cell state `[B, H]`.
#[derive(Debug)]
pub struct StepOut<'a, T> {
    /// `h_t`, `[B, H]`.
    pub h: &'a mut [T],
    /// `c_t`, `[B, H]` (LSTM only).
    pub c: Option<&'a mut [T]>,
}

impl<T: Real> PackedWeights<T> {
    /// Packs `params` for `rnn` at the current SIMD level ([`simd::level`]).
    /// Panics, naming the argument, on a shape mismatch.
    #[track_caller]
    pub fn new(rnn: &Rnn, params: Params<'_, T>) -> Self {
        match Self::try_new(rnn, params) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`PackedWeights::new`], returning the shape mismatch as a value.
    pub fn try_new(rnn: &Rnn, params: Params<'_, T>) -> Result<Self, ShapeError> {
        rnn.check_params(&Checker { call: "PackedWeights::new" }, "params.", &params)?;
        let level = simd::level();
        let packed = if T::IS_F32 {
            owned(pack_f32(level, rnn, params.cast()))
        } else {
            owned(pack_f64(level, rnn, params.cast()))
        };
        Ok(PackedWeights {
            rnn: *rnn,
            level,
            w_ih: params.w_ih.to_vec(),
            b_ih: params.b_ih.to_vec(),
            b_hh: params.b_hh.to_vec(),
            w_hh: params.w_hh.to_vec(),
            packed,
        })
    }

    /// The layer.
    pub fn rnn(&self) -> &Rnn {
        &self.rnn
    }

    /// The SIMD level the weights were packed at, and every call runs at.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The parameters the weights were packed from.
    pub fn params(&self) -> Params<'_, T> {
        Params { w_ih: &self.w_ih, w_hh: &self.w_hh, b_ih: &self.b_ih, b_hh: &self.b_hh }
    }

    fn prepacked(&self, step: bool) -> PackedCall<'_, T> {
        PackedCall {
            level: self.level,
            weights: Prepacked {
                w_hh: [self.packed.w_hh[0].as_slice(), self.packed.w_hh[1].as_slice()],
                w_ih: [self.packed.w_ih[0].as_slice(), self.packed.w_ih[1].as_slice()],
                bias_row: &self.packed.bias_row,
            },
            step,
        }
    }

    /// Scratch values [`PackedWeights::forward`] needs: [`Rnn::forward_scratch_len`]
    /// without the packing space.
    pub fn forward_scratch_len(&self, dims: Dims<'_>, training: bool) -> usize {
        self.rnn.forward_scratch_len_with(dims, training, true)
    }

    /// Scratch values [`PackedWeights::step`] needs for a batch of `batch` rows.
    pub fn step_scratch_len(&self, batch: usize) -> usize {
        self.forward_scratch_len(Dims::new(1, batch), false)
    }

    /// Checks the arguments of [`PackedWeights::forward`].
    pub fn check_forward(
        &self,
        dims: Dims<'_>,
        x: &[T],
        init: &State<'_, T>,
        out: &ForwardOut<'_, T>,
        scratch: &[T],
    ) -> Result<(), ShapeError> {
        let c = Checker { call: "PackedWeights::forward" };
        self.rnn.check_forward_io(&c, dims, x, init, out)?;
        c.at_least("scratch", scratch, self.forward_scratch_len(dims, out.tape.is_some()), "forward_scratch_len")
    }

    /// [`Rnn::forward`] on the packed weights (training with `out.tape`, or inference).
    #[track_caller]
    pub fn forward(
        &self,
        dims: Dims<'_>,
        x: &[T],
        init: State<'_, T>,
        out: ForwardOut<'_, T>,
        scratch: &mut [T],
        par: Parallelism,
    ) {
        or_panic(self.check_forward(dims, x, &init, &out, scratch));
        self.run(ForwardCall {
            params: self.params(),
            dims,
            x,
            init,
            out,
            scratch,
            par,
            packed: Some(self.prepacked(false)),
        });
    }

    /// Checks the arguments of [`PackedWeights::step`].
    pub fn check_step(
        &self,
        x: &[T],
        prev: &State<'_, T>,
        next: &StepOut<'_, T>,
        scratch: &[T],
    ) -> Result<(), ShapeError> {
        let c = Checker { call: "PackedWeights::step" };
        let (i, h) = (self.rnn.input_size(), self.rnn.hidden_size());
        if x.is_empty() || !x.len().is_multiple_of(i) {
            return Err(c.fail("x", format!("has length {}, expected a positive multiple of I = {i} (B*I)", x.len())));
        }
        let b = x.len() / i;
        let dims = Dims::new(1, b);
        self.rnn.check_state(&c, dims, prev, "prev.h", "prev.c")?;
        c.len("next.h", next.h, b * h, "B*H")?;
        match (self.rnn.cell().has_cell_state(), &next.c) {
            (true, Some(cn)) => c.len("next.c", cn, b * h, "B*H")?,
            (true, None) => return Err(c.fail("next.c", "is required for the LSTM")),
            (false, Some(_)) => return Err(c.fail("next.c", "is given for a cell without cell state (LSTM only)")),
            (false, None) => {}
        }
        c.at_least("scratch", scratch, self.step_scratch_len(b), "step_scratch_len(B)")
    }

    /// One step for a batch of `B = x.len() / I` rows: `next = cell(x, prev)`,
    /// `x: [B, I]`, states `[B, H]`. The input projection runs through the step
    /// kernels on the packed `W_ih`, so a one-row decode step streams packed
    /// weights only and allocates nothing.
    #[track_caller]
    pub fn step(&self, x: &[T], prev: State<'_, T>, next: StepOut<'_, T>, scratch: &mut [T], par: Parallelism) {
        or_panic(self.check_step(x, &prev, &next, scratch));
        let dims = Dims::new(1, x.len() / self.rnn.input_size());
        let out = ForwardOut { h_out: next.h, h_n: None, c_n: next.c, tape: None };
        self.run(ForwardCall {
            params: self.params(),
            dims,
            x,
            init: prev,
            out,
            scratch,
            par,
            packed: Some(self.prepacked(true)),
        });
    }

    fn run(&self, call: ForwardCall<'_, T>) {
        if T::IS_F32 { forward_f32(&self.rnn, call.cast()) } else { forward_f64(&self.rnn, call.cast()) }
    }
}

#[inline(never)]
fn pack_f32(level: Level, rnn: &Rnn, p: Params<'_, f32>) -> PackedBuffers<f32> {
    engine::pack_weights(level, rnn.cell(), rnn.input_size(), rnn.hidden_size(), p.w_ih, p.w_hh, p.b_ih, p.b_hh)
}

#[inline(never)]
fn pack_f64(level: Level, rnn: &Rnn, p: Params<'_, f64>) -> PackedBuffers<f64> {
    engine::pack_weights(level, rnn.cell(), rnn.input_size(), rnn.hidden_size(), p.w_ih, p.w_hh, p.b_ih, p.b_hh)
}

/// The buffers of one element type seen as another (the same type: see `cast`).
fn owned<U: Real, T: Real>(p: PackedBuffers<U>) -> PackedBuffers<T> {
    let back = |v: AlignedVec<U>| {
        let mut out = AlignedVec::zeroed(v.as_slice().len());
        out.as_mut_slice().copy_from_slice(cast::<U, T>(v.as_slice()));
        out
    };
    PackedBuffers { w_hh: p.w_hh.map(back), w_ih: p.w_ih.map(back), bias_row: cast::<U, T>(&p.bias_row).to_vec() }
}
