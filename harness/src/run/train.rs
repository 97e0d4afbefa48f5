//! One training run: a configuration and a seed in, a log and an outcome out.
//!
//! Step `s` means "after `s` updates": at each step `s = 0..=steps` the
//! minibatch loss and gradient are computed and logged, the model is
//! evaluated when due, and (for `s < steps`) the clipped gradient is applied.
//! A non-finite loss or gradient ends the run as diverged at that step.
//!
//! The gradient is the task loss's plus the L1/L2 penalties' plus, with
//! `train.omega_alpha`, `α·∂Ω/∂W_hh` of Pascanu et al.'s regularizer (added
//! before clipping, as in their code); it is then clipped. The authors'
//! fallback for a NaN/Inf gradient (shrink `W_hh`) is not implemented: such a
//! run ends as diverged, like every other. The logged `loss` is the task loss alone; `grad_norm` and
//! `clipped_grad_norm` are the global norms before and after clipping.

use crate::nn::model::{Evaluation, Model, Params};
use crate::nn::optim::Optimizer;
use crate::spec::{ClipKind, Precision, Spec};
use crate::tasks::{self, Batch, Task};
use kernels::train::clip::{clip_global_norm, clip_value, global_norm};
use kernels::train::init::{SeedRng, rng_from_seed};
use kernels::train::linalg::spectral_radius;
use kernels::train::regularize::{add_l1_grad, add_l2_grad};
use kernels::{Cell, Real};

/// Default `train.omega_bound` (the authors' code).
pub const OMEGA_BOUND: f64 = 1e-20;

/// Sequences per forward call when evaluating.
const EVAL_CHUNK: usize = 250;

/// The ChaCha streams of a run's generator.
const STREAM_INIT: u64 = 0;
const STREAM_TRAIN: u64 = 1;
const STREAM_EVAL: u64 = 2;

/// One row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsRow {
    /// Updates made before this row.
    pub step: usize,
    /// Minibatch loss.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Global gradient norm after clipping.
    pub clipped_grad_norm: f64,
    /// The evaluation made at this step, if any.
    pub eval: Option<Eval>,
    /// Pascanu's Ω on this minibatch (when `train.omega_alpha` is set).
    pub omega: Option<f64>,
}

/// An evaluation on the held-out set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Eval {
    /// Mean held-out loss.
    pub loss: f64,
    /// Fraction of scored predictions that were wrong.
    pub error_rate: f64,
    /// Spectral radius of `W_hh` (vanilla RNN only; gated cells have one matrix per gate).
    pub spectral_radius: Option<f64>,
}

/// `‖dL/dh_{T-lag}‖` for every lag at one step (index = lag).
#[derive(Clone, Debug, PartialEq)]
pub struct GradNorms {
    /// Updates made before.
    pub step: usize,
    /// Norm per lag, lag 0 first (the last step).
    pub by_lag: Vec<f64>,
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The step at which the loss or gradient stopped being finite.
    pub diverged_at: Option<usize>,
    /// The step of the first evaluation that met the success criterion.
    pub steps_to_solve: Option<usize>,
    /// The last evaluation.
    pub final_eval: Option<Eval>,
    /// The last minibatch loss.
    pub final_train_loss: f64,
    /// The metrics rows.
    pub metrics: Vec<MetricsRow>,
    /// The recorded gradient norms.
    pub grad_norms: Vec<GradNorms>,
}

/// Trains `spec` with the generator seeded by `rng_seed`, in the spec's precision.
pub fn train(spec: &Spec, rng_seed: u64) -> Outcome {
    match spec.model.precision {
        Precision::F32 => train_typed::<f32>(spec, rng_seed),
        Precision::F64 => train_typed::<f64>(spec, rng_seed),
    }
}

fn stream(seed: u64, id: u64) -> SeedRng {
    let mut rng = rng_from_seed(seed);
    rng.set_stream(id);
    rng
}

/// The held-out set: `size` sequences in chunks, lengths drawn per chunk.
fn eval_set(spec: &Spec, task: &dyn Task, rng: &mut SeedRng) -> Vec<Batch> {
    let mut left = spec.train.eval_size;
    let mut out = Vec::new();
    while left > 0 {
        let n = left.min(EVAL_CHUNK);
        let len = tasks::draw_len(rng, spec.task.seq_len);
        out.push(task.generate(rng, len, n));
        left -= n;
    }
    out
}

fn train_typed<T: Real>(spec: &Spec, rng_seed: u64) -> Outcome {
    let task = tasks::make(&spec.task);
    let (train, log) = (&spec.train, &spec.log);
    let tolerance = train.success_tolerance.unwrap_or_else(|| spec.task.default_tolerance());
    let mut model =
        Model::<T>::init(&spec.model, task.input_size(), task.output_size(), &mut stream(rng_seed, STREAM_INIT));
    let mut data = stream(rng_seed, STREAM_TRAIN);
    let eval_batches = eval_set(spec, task.as_ref(), &mut stream(rng_seed, STREAM_EVAL));
    let lens: Vec<usize> = model.params.buffers().iter().map(|b| b.len()).collect();
    let mut optimizer = Optimizer::<T>::new(train, &lens);
    let truncate = (train.truncate > 0).then_some(train.truncate);
    let omega = train.omega_alpha.map(|a| (a, train.omega_bound.unwrap_or(OMEGA_BOUND)));

    let mut out = Outcome {
        diverged_at: None,
        steps_to_solve: None,
        final_eval: None,
        final_train_loss: f64::NAN,
        metrics: Vec::new(),
        grad_norms: Vec::new(),
    };
    for step in 0..=train.steps {
        let len = tasks::draw_len(&mut data, spec.task.seq_len);
        let batch = task.generate(&mut data, len, train.batch);
        let mut g = model.gradient_with_omega(&batch, truncate, omega);
        add_penalty_grads(&model.params, &mut g.grads, train.l1, train.l2);
        let grad_norm = global_norm(&g.grads.buffers());
        out.final_train_loss = g.loss;
        if !(g.loss.is_finite() && grad_norm.is_finite()) {
            out.diverged_at = Some(step);
            let clipped_grad_norm = f64::NAN;
            out.metrics.push(MetricsRow {
                step,
                loss: g.loss,
                grad_norm,
                clipped_grad_norm,
                eval: None,
                omega: g.omega,
            });
            break;
        }
        if log.grad_norms_every > 0 && step % log.grad_norms_every == 0 {
            out.grad_norms.push(GradNorms { step, by_lag: g.step_norms.iter().rev().copied().collect() });
        }
        match train.clip {
            ClipKind::None => {}
            ClipKind::Norm => {
                clip_global_norm(&mut g.grads.buffers_mut(), train.clip_threshold);
            }
            ClipKind::Value => {
                clip_value(&mut g.grads.buffers_mut(), train.clip_threshold);
            }
        }
        let clipped_grad_norm = global_norm(&g.grads.buffers());
        let eval =
            (step % train.eval_every == 0 || step == train.steps).then(|| evaluate(&model, &eval_batches, tolerance));
        if let Some(e) = eval {
            out.final_eval = eval;
            if out.steps_to_solve.is_none() && e.error_rate <= train.success_error_rate {
                out.steps_to_solve = Some(step);
            }
        }
        let last = step == train.steps || (train.stop_on_success && out.steps_to_solve.is_some());
        if step % log.every == 0 || eval.is_some() || last {
            out.metrics.push(MetricsRow { step, loss: g.loss, grad_norm, clipped_grad_norm, eval, omega: g.omega });
        }
        if last {
            break;
        }
        optimizer.step(&mut model.params.buffers_mut(), &g.grads.buffers());
    }
    out
}

/// Loss and error rate on the held-out batches, and the spectral radius of `W_hh`.
fn evaluate<T: Real>(model: &Model<T>, batches: &[Batch], tolerance: f64) -> Eval {
    let mut e = Evaluation::default();
    for b in batches {
        e.merge(model.evaluate(b, tolerance));
    }
    let spectral_radius = matches!(model.rnn.cell(), Cell::Rnn(_)).then(|| {
        let w: Vec<f64> = model.params.layer.w_hh.iter().map(|v| v.to_f64()).collect();
        spectral_radius(&w, model.rnn.hidden_size())
    });
    Eval { loss: e.loss(), error_rate: e.error_rate(), spectral_radius }
}

/// Adds the gradients of the L1 and L2 penalties on the weight matrices.
fn add_penalty_grads<T: Real>(params: &Params<T>, grads: &mut Params<T>, l1: f64, l2: f64) {
    if l1 == 0.0 && l2 == 0.0 {
        return;
    }
    let p = params.buffers();
    let g = grads.buffers_mut();
    for i in Params::<T>::WEIGHT_MATRICES {
        if l1 > 0.0 {
            add_l1_grad(p[i], l1, g[i]);
        }
        if l2 > 0.0 {
            add_l2_grad(p[i], l2, g[i]);
        }
    }
}
