//! The model: the kernels' recurrent layer and a linear readout
//! `y_t = W_hy h_t + b_y`, generic over the element type, with its
//! initialisation, its loss gradient (readout by hand, the layer by the
//! kernels' BPTT) and its evaluation.

use super::loss;
use crate::spec::{ActivationKind, CellKind, InitKind, ModelSpec, PenaltyTarget, TaskSpec};
use crate::tasks::{Batch, Target};
use kernels::train::init::{SeedRng, gaussian, orthogonal, scaled_identity, sparse, uniform};
use kernels::{Activation, BackwardOpts, Cell, Dims, Parallelism, Real, Rnn, Upstream, Weights};

/// Default slope of `leaky_relu`.
pub const LEAKY_SLOPE: f64 = 0.01;
/// Default non-zeros per row of the sparse init.
pub const SPARSE_NONZEROS: usize = 15;
/// Default initial LSTM forget-gate bias.
pub const FORGET_BIAS: f64 = 1.0;

/// Every trainable parameter (or a gradient shaped like them).
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T> {
    /// The recurrent layer: `w_ih, w_hh, b_ih, b_hh`.
    pub layer: Weights<T>,
    /// Readout weights `[O, H]`.
    pub w_hy: Vec<T>,
    /// Readout bias `[O]`.
    pub b_y: Vec<T>,
}

impl<T: Real> Params<T> {
    /// Positions in [`Params::buffers`] of the weight matrices `W_ih, W_hh, W_hy`
    /// (the ones L1 and L2 penalise).
    pub const WEIGHT_MATRICES: [usize; 3] = [0, 1, 4];

    /// The position in [`Params::buffers`] of a penalised matrix.
    pub fn matrix_index(target: PenaltyTarget) -> usize {
        match target {
            PenaltyTarget::Ih => 0,
            PenaltyTarget::Hh => 1,
            PenaltyTarget::Hy => 4,
        }
    }

    /// All zeros, shaped like `self`.
    pub fn zeros_like(&self) -> Self {
        let z = |v: &Vec<T>| vec![T::ZERO; v.len()];
        let l = &self.layer;
        Params {
            layer: Weights { w_ih: z(&l.w_ih), w_hh: z(&l.w_hh), b_ih: z(&l.b_ih), b_hh: z(&l.b_hh) },
            w_hy: z(&self.w_hy),
            b_y: z(&self.b_y),
        }
    }

    /// The six buffers: `w_ih, w_hh, b_ih, b_hh, w_hy, b_y`.
    pub fn buffers(&self) -> [&[T]; 6] {
        let [a, b, c, d] = self.layer.buffers();
        [a, b, c, d, &self.w_hy, &self.b_y]
    }

    /// The six buffers, mutably, in the order of [`Params::buffers`].
    pub fn buffers_mut(&mut self) -> [&mut [T]; 6] {
        let [a, b, c, d] = self.layer.buffers_mut();
        [a, b, c, d, &mut self.w_hy, &mut self.b_y]
    }
}

/// A recurrent layer with a linear readout.
#[derive(Clone, Debug)]
pub struct Model<T> {
    /// The layer's shape.
    pub rnn: Rnn,
    /// Outputs per step `O`.
    pub outputs: usize,
    /// The parameters.
    pub params: Params<T>,
    /// Entries that are not trained: `(buffer index in Params::buffers, range)`; their
    /// gradient is zeroed (the paper-form latch's fixed noise weight, biases and readout).
    pub frozen: Vec<(usize, std::ops::Range<usize>)>,
    /// The loss is this times the mean squared error or cross-entropy (½ for the paper-form latch).
    pub loss_scale: f64,
}

/// The loss and its gradient on one minibatch.
#[derive(Clone, Debug)]
pub struct Gradient<T> {
    /// The task loss (without penalties).
    pub loss: f64,
    /// `dL/dθ` for every parameter (frozen entries zero), Ω's gradient included when requested.
    pub grads: Params<T>,
    /// The global norm of the task loss's gradient alone (before Ω).
    pub task_grad_norm: f64,
    /// `‖dL/dh_t‖_F` over the batch for `t = 0..T`; lag `k = T - 1 - t`.
    pub step_norms: Vec<f64>,
    /// The value of Pascanu's Ω when requested (its gradient is in `grads`).
    pub omega: Option<f64>,
}

/// Loss and errors of a model on some sequences.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Sum over loss terms (sequences, or steps for the copy task) of the loss.
    pub loss_sum: f64,
    /// Number of loss terms.
    pub terms: usize,
    /// Scored predictions that were wrong.
    pub errors: usize,
    /// Scored predictions.
    pub scored: usize,
}

impl Evaluation {
    /// Adds another evaluation's counts.
    pub fn merge(&mut self, other: Evaluation) {
        self.loss_sum += other.loss_sum;
        self.terms += other.terms;
        self.errors += other.errors;
        self.scored += other.scored;
    }
    /// Mean loss.
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.terms as f64
    }
    /// Fraction of scored predictions that were wrong.
    pub fn error_rate(&self) -> f64 {
        self.errors as f64 / self.scored as f64
    }
}

/// The kernels' cell for a model spec.
pub fn cell(spec: &ModelSpec) -> Cell {
    match spec.cell {
        CellKind::Lstm => Cell::Lstm,
        CellKind::Gru => Cell::Gru,
        CellKind::Rnn => Cell::Rnn(match spec.activation.unwrap_or(ActivationKind::Tanh) {
            ActivationKind::Tanh => Activation::Tanh,
            ActivationKind::Sigmoid => Activation::Sigmoid,
            ActivationKind::Relu => Activation::Relu,
            ActivationKind::LeakyRelu => Activation::LeakyRelu(spec.leaky_slope.unwrap_or(LEAKY_SLOPE)),
            ActivationKind::Linear => Activation::Linear,
        }),
    }
}

impl<T: Real> Model<T> {
    /// A freshly initialised model for `inputs` features and `outputs` outputs per step.
    ///
    /// `W_ih` and `W_hy` are gaussian (`model.input_scale`, `model.output_scale`);
    /// `W_hh` follows `model.init`, applied to each `H×H` gate block; biases are
    /// zero except the LSTM's forget gate (`model.forget_bias`, in `b_ih`).
    pub fn init(spec: &ModelSpec, inputs: usize, outputs: usize, rng: &mut SeedRng) -> Self {
        let rnn = Rnn::new(cell(spec), inputs, spec.hidden);
        let h = spec.hidden;
        let mut layer = Weights::zeros(&rnn);
        gaussian(rng, spec.input_scale.unwrap_or(1.0 / (inputs as f64).sqrt()), &mut layer.w_ih);
        let fan = 1.0 / (h as f64).sqrt();
        for block in layer.w_hh.chunks_exact_mut(h * h) {
            match spec.init {
                InitKind::Orthogonal => orthogonal(rng, h, spec.recurrent_scale.unwrap_or(1.0), block),
                InitKind::Identity => scaled_identity(h, spec.recurrent_scale.unwrap_or(1.0), block),
                InitKind::Gaussian => gaussian(rng, spec.recurrent_scale.unwrap_or(fan), block),
                InitKind::Uniform => uniform(rng, spec.recurrent_scale.unwrap_or(fan), block),
                InitKind::GlorotUniform => uniform(rng, (6.0 / (2 * h) as f64).sqrt(), block),
                InitKind::Sparse => sparse(
                    rng,
                    h,
                    spec.sparse_nonzeros.unwrap_or(SPARSE_NONZEROS.min(h)),
                    spec.recurrent_scale.unwrap_or(1.0),
                    block,
                ),
            }
        }
        if spec.cell == CellKind::Lstm {
            let f = T::from_f64(spec.forget_bias.unwrap_or(FORGET_BIAS));
            layer.b_ih[h..2 * h].iter_mut().for_each(|b| *b = f);
        }
        let mut w_hy = vec![T::ZERO; outputs * h];
        gaussian(rng, spec.output_scale.unwrap_or(fan), &mut w_hy);
        let params = Params { layer, w_hy, b_y: vec![T::ZERO; outputs] };
        Model { rnn, outputs, params, frozen: Vec::new(), loss_scale: 1.0 }
    }

    /// The model a task is trained with: [`Model::init`], except for the paper-form latch
    /// (`task.form = "paper"`, see `tasks::latch`): there the input weight of the noise feature
    /// is 1, the biases 0 and the readout the identity (`y = h_T`), all frozen, the other input
    /// weights are the trainable per-class inputs (gaussian, `model.input_scale`), and the loss
    /// is `½(y − d)²`.
    pub fn for_task(spec: &ModelSpec, task: &TaskSpec, inputs: usize, outputs: usize, rng: &mut SeedRng) -> Self {
        let mut model = Model::init(spec, inputs, outputs, rng);
        if task.is_paper_latch() {
            let p = &mut model.params;
            p.layer.w_ih[0] = T::ONE;
            p.w_hy[0] = T::ONE;
            let lens = p.buffers().map(<[T]>::len);
            model.frozen = vec![(0, 0..1), (2, 0..lens[2]), (3, 0..lens[3]), (4, 0..lens[4]), (5, 0..lens[5])];
            model.loss_scale = 0.5;
        }
        model
    }

    /// Zeroes the gradient of the frozen entries.
    pub fn mask_frozen(&self, grads: &mut Params<T>) {
        let bufs = grads.buffers_mut();
        for (i, range) in &self.frozen {
            bufs[*i][range.clone()].iter_mut().for_each(|g| *g = T::ZERO);
        }
    }

    /// `y = h W_hyᵀ + b_y` for `h: [rows, H]`, giving `[rows, O]`.
    fn readout(&self, h: &[T]) -> Vec<T> {
        let hs = self.rnn.hidden_size();
        let mut y = Vec::with_capacity(h.len() / hs * self.outputs);
        for row in h.chunks_exact(hs) {
            for (w, &b) in self.params.w_hy.chunks_exact(hs).zip(&self.params.b_y) {
                y.push(row.iter().zip(w).map(|(&a, &c)| a * c).sum::<T>() + b);
            }
        }
        y
    }

    /// The hidden states the loss reads: the last step's `[B, H]`, or every step's `[T, B, H]`.
    fn read_states<'a>(&self, batch: &Batch, h_out: &'a [T]) -> &'a [T] {
        match batch.target {
            Target::ClassSeq { .. } => h_out,
            _ => &h_out[h_out.len() - batch.batch * self.rnn.hidden_size()..],
        }
    }

    /// The loss of outputs `y` and `dL/dy` (times `loss_scale`).
    fn loss(&self, batch: &Batch, y: &[T]) -> (f64, Vec<T>) {
        let (loss, mut dy) = match &batch.target {
            Target::Value(d) => loss::mse(y, d),
            Target::Class(l) | Target::ClassSeq { labels: l, .. } => loss::softmax_cross_entropy(y, l, self.outputs),
        };
        if self.loss_scale != 1.0 {
            let s = T::from_f64(self.loss_scale);
            dy.iter_mut().for_each(|v| *v *= s);
        }
        (loss * self.loss_scale, dy)
    }

    /// The loss on `batch` and its gradient with respect to every parameter;
    /// `truncate` is the truncated-BPTT block length (`None` for full BPTT).
    pub fn gradient(&self, batch: &Batch, truncate: Option<usize>) -> Gradient<T> {
        self.gradient_with_omega(batch, truncate, None)
    }

    /// [`Model::gradient`], plus `alpha·∂Ω/∂W_hh` of Pascanu et al.'s regularizer
    /// when `omega = Some((alpha, bound))` and the cell is the vanilla RNN
    /// (`kernels::train::omega::add_omega_grad` on the trace's `h_out` and backward's `dh_all`).
    pub fn gradient_with_omega(
        &self,
        batch: &Batch,
        truncate: Option<usize>,
        omega: Option<(f64, f64)>,
    ) -> Gradient<T> {
        let dims = Dims::new(batch.seq_len, batch.batch);
        let x: Vec<T> = batch.x.iter().map(|&v| T::from_f64(v)).collect();
        let layer = &self.params.layer;
        let trace = self.rnn.forward_train(layer, dims, &x, None, None, Parallelism::Sequential);
        let h = self.read_states(batch, &trace.h_out);
        let y = self.readout(h);
        let (loss, dy) = self.loss(batch, &y);

        // Readout backward: dW_hy = dyᵀ h, db_y = Σ dy, dh = dy W_hy.
        let hs = self.rnn.hidden_size();
        let mut grads = self.params.zeros_like();
        let mut dh = vec![T::ZERO; h.len()];
        for ((h_row, dy_row), dh_row) in
            h.chunks_exact(hs).zip(dy.chunks_exact(self.outputs)).zip(dh.chunks_exact_mut(hs))
        {
            for (o, &g) in dy_row.iter().enumerate() {
                grads.b_y[o] += g;
                let w = &self.params.w_hy[o * hs..][..hs];
                let dw = &mut grads.w_hy[o * hs..][..hs];
                for k in 0..hs {
                    dw[k] += g * h_row[k];
                    dh_row[k] += g * w[k];
                }
            }
        }
        let all_steps = matches!(batch.target, Target::ClassSeq { .. });
        let upstream = Upstream {
            dh_out: all_steps.then_some(dh.as_slice()),
            dh_n: (!all_steps).then_some(dh.as_slice()),
            dc_n: None,
        };
        let opts = BackwardOpts { accumulate: false, truncate };
        let omega = omega.and_then(|o| match self.rnn.cell() {
            Cell::Rnn(act) => Some((o, act, trace.h_out.clone())),
            _ => None,
        });
        let g = self.rnn.backward_trace(layer, trace, upstream, opts, Parallelism::Sequential);
        grads.layer = g.weights;
        self.mask_frozen(&mut grads);
        let task_grad_norm = kernels::train::clip::global_norm(&grads.buffers());
        let omega = omega.map(|((alpha, bound), act, h_out)| {
            kernels::train::omega::add_omega_grad(
                act,
                hs,
                &layer.w_hh,
                &h_out,
                &g.dh_all,
                bound,
                alpha,
                &mut grads.layer.w_hh,
            )
            .value
        });
        Gradient { loss, grads, task_grad_norm, step_norms: g.step_norms.iter().map(|v| v.to_f64()).collect(), omega }
    }

    /// Loss and error counts on `batch`; regression outputs count as correct
    /// when within `tolerance` of the target.
    pub fn evaluate(&self, batch: &Batch, tolerance: f64) -> Evaluation {
        let dims = Dims::new(batch.seq_len, batch.batch);
        let x: Vec<T> = batch.x.iter().map(|&v| T::from_f64(v)).collect();
        let h_out = self.rnn.forward_infer(&self.params.layer, dims, &x, None, None, Parallelism::Sequential).h_out;
        let y = self.readout(self.read_states(batch, &h_out));
        let (loss, _) = self.loss(batch, &y);
        let terms = y.len() / self.outputs;
        let (errors, scored) = match &batch.target {
            Target::Value(d) => (loss::value_errors(&y, d, tolerance), d.len()),
            Target::Class(l) => (loss::class_errors(&y, l, self.outputs), l.len()),
            Target::ClassSeq { labels, scored_from } => {
                let from = scored_from * batch.batch;
                (loss::class_errors(&y[from * self.outputs..], &labels[from..], self.outputs), labels.len() - from)
            }
        };
        Evaluation { loss_sum: loss * terms as f64, terms, errors, scored }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{AddingVariant, SeqLen, TaskKind, TaskSpec};
    use crate::tasks;
    use kernels::train::init::rng_from_seed;

    fn model_spec(cell: CellKind) -> ModelSpec {
        let activation = (cell == CellKind::Rnn).then_some(ActivationKind::Tanh);
        let text = format!("cell = {}\nhidden = 4\nrecurrent_scale = 0.9", serde_json::to_string(&cell).unwrap());
        ModelSpec { activation, ..toml::from_str(&text).unwrap() }
    }

    fn task_spec(kind: TaskKind, len: usize) -> TaskSpec {
        let variant = (kind == TaskKind::Adding).then_some(AddingVariant::Sum);
        TaskSpec {
            kind,
            seq_len: SeqLen { min: len, max: len },
            variant,
            prefix_len: None,
            noise_var: None,
            form: None,
        }
    }

    /// The whole model's gradient (readout, loss and layer) against central
    /// differences of the loss, for every parameter, in f64.
    #[test]
    fn gradient_matches_finite_differences() {
        let tasks = [(TaskKind::Adding, 6), (TaskKind::TemporalOrder, 10), (TaskKind::Copy, 2)];
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            for (kind, len) in tasks {
                let task = tasks::make(&task_spec(kind, len));
                let mut rng = rng_from_seed(7);
                let mut model = Model::<f64>::init(&model_spec(cell), task.input_size(), task.output_size(), &mut rng);
                // Non-zero biases so that their gradients are exercised away from the origin.
                for b in model.params.buffers_mut().into_iter().skip(2) {
                    b.iter_mut().enumerate().for_each(|(i, v)| *v += 0.05 * ((i % 5) as f64 - 2.0));
                }
                let batch = task.generate(&mut rng, len, 3);
                let analytic = model.gradient(&batch, None).grads;
                let eps = 1e-6;
                for buf in 0..6 {
                    for j in 0..model.params.buffers()[buf].len() {
                        let orig = model.params.buffers()[buf][j];
                        model.params.buffers_mut()[buf][j] = orig + eps;
                        let up = model.gradient(&batch, None).loss;
                        model.params.buffers_mut()[buf][j] = orig - eps;
                        let down = model.gradient(&batch, None).loss;
                        model.params.buffers_mut()[buf][j] = orig;
                        let numeric = (up - down) / (2.0 * eps);
                        let a = analytic.buffers()[buf][j];
                        assert!(
                            (a - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                            "{cell:?} {kind:?} buffer {buf} index {j}: analytic {a}, numeric {numeric}"
                        );
                    }
                }
            }
        }
    }

    /// The paper-form latch: `y = tanh(a_T)` with the noise weight, the biases and the readout
    /// frozen; the loss `½(y − d)²` and its gradient (zero on the frozen entries) against
    /// central differences.
    #[test]
    fn paper_latch_model_has_its_frozen_entries_and_half_squared_error() {
        let mut task = task_spec(TaskKind::Latch, 6);
        task.prefix_len = Some(2);
        task.form = Some(crate::spec::LatchForm::Paper);
        let generator = tasks::make(&task);
        let spec: ModelSpec =
            toml::from_str("cell = \"rnn\"\nhidden = 1\ninit = \"uniform\"\ninput_scale = 0.5").unwrap();
        let mut rng = rng_from_seed(4);
        let mut model = Model::<f64>::for_task(&spec, &task, generator.input_size(), generator.output_size(), &mut rng);
        assert_eq!((model.params.layer.w_ih[0], model.params.w_hy[0], model.params.b_y[0]), (1.0, 1.0, 0.0));
        let batch = generator.generate(&mut rng, 6, 5);
        let g = model.gradient(&batch, None);
        // The output is the state: ½ mean (h_T − d)², h_t = tanh(w h_{t−1} + W_ih x_t) by hand.
        let Target::Value(d) = &batch.target else { panic!() };
        let (w, inputs) = (model.params.layer.w_hh[0], generator.input_size());
        let want = (0..5)
            .map(|b| {
                let h = (0..6).fold(0.0f64, |h, t| {
                    let x = &batch.x[(t * 5 + b) * inputs..][..inputs];
                    let u: f64 = x.iter().zip(&model.params.layer.w_ih).map(|(a, c)| a * c).sum();
                    (w * h + u).tanh()
                });
                0.5 * (h - d[b]) * (h - d[b])
            })
            .sum::<f64>()
            / 5.0;
        assert!((g.loss - want).abs() < 1e-12, "{} vs {want}", g.loss);
        for (i, range) in model.frozen.clone() {
            assert!(g.grads.buffers()[i][range].iter().all(|&v| v == 0.0), "buffer {i} not frozen");
        }
        let eps = 1e-6;
        for (buf, j) in [(0, 1), (0, 2), (0, 3), (0, 4), (1, 0)] {
            let orig = model.params.buffers()[buf][j];
            model.params.buffers_mut()[buf][j] = orig + eps;
            let up = model.gradient(&batch, None).loss;
            model.params.buffers_mut()[buf][j] = orig - eps;
            let down = model.gradient(&batch, None).loss;
            model.params.buffers_mut()[buf][j] = orig;
            let numeric = (up - down) / (2.0 * eps);
            let a = g.grads.buffers()[buf][j];
            assert!((a - numeric).abs() <= 1e-7 * (1.0 + numeric.abs()), "buffer {buf}[{j}]: {a} vs {numeric}");
        }
    }

    /// Truncated BPTT drops the gradient flowing across block boundaries: the
    /// norm reaching steps before the last block is zero for a last-step loss.
    #[test]
    fn truncation_cuts_the_gradient_path() {
        let task = tasks::make(&task_spec(TaskKind::Adding, 8));
        let mut rng = rng_from_seed(1);
        let model = Model::<f64>::init(&model_spec(CellKind::Rnn), task.input_size(), task.output_size(), &mut rng);
        let batch = task.generate(&mut rng, 8, 2);
        let full = model.gradient(&batch, None).step_norms;
        let cut = model.gradient(&batch, Some(3)).step_norms;
        assert!(full.iter().all(|&n| n > 0.0));
        assert!(cut[..5].iter().all(|&n| n == 0.0) && cut[5..].iter().all(|&n| n > 0.0), "{cut:?}");
    }
}
