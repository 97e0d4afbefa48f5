//! One training run: a configuration and its generators' seeds in, a log and an outcome out.
//!
//! Step `s` means "after `s` updates": at each step `s = 0..=steps` the
//! minibatch loss and gradient are computed and logged, the model is
//! evaluated when due, and (for `s < steps`) the clipped gradient is applied.
//!
//! The gradient is the task loss's plus the L1/L2 penalties' (on `train.penalty_on`) plus, with
//! `train.omega_alpha`, `α·∂Ω/∂W_hh` of Pascanu et al.'s regularizer (added
//! before clipping, as in their code); it is then clipped. The logged `loss` is the task loss
//! alone; `grad_norm` and `clipped_grad_norm` are the global norms before and after clipping,
//! and `task_grad_norm` (logged when a penalty or Ω is on) the norm of the task loss's gradient.
//!
//! A run diverges, and ends, when (in this order of checking):
//! - `nonfinite`: the minibatch loss or the gradient is NaN or infinite;
//! - `norm`: the pre-clip gradient norm exceeds `train.diverge_norm` (1e10);
//! - `loss`: a held-out loss after step 0 exceeds `train.diverge_loss_factor` (10) times the
//!   larger of the task's chance loss and the run's own held-out loss at step 0 (or is not finite).
//!
//! These do not depend on the precision: a run that overflows in f32 has a norm or a loss far
//! beyond either bound in f64. The authors' fallback for such a gradient (shrink `W_hh`) is not
//! implemented.
//!
//! The three generators (initial weights, minibatches, held-out set) are seeded separately
//! (`run::sweep::Streams`), so that configurations that differ only in `train.*` keys other than
//! `train.batch` start from the same weights and see the same minibatches.

use crate::nn::model::{Evaluation, Model, Params};
use crate::nn::optim::Optimizer;
use crate::spec::{ClipKind, Precision, Spec, TrainSpec};
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

/// The seeds of a run's three generators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streams {
    /// Initial weights: from the seed, `model` and `task`.
    pub init: u64,
    /// Training minibatches: from the seed, `task` and `train.batch`.
    pub data: u64,
    /// The held-out set: from the seed and `task`.
    pub eval: u64,
}

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
    /// Norm of the task loss's gradient alone (when a penalty or Ω is on).
    pub task_grad_norm: Option<f64>,
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

/// Why a run diverged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Divergence {
    /// A NaN or infinite loss or gradient.
    NonFinite,
    /// A pre-clip gradient norm above `train.diverge_norm`.
    Norm,
    /// A held-out loss above `train.diverge_loss_factor` times its reference.
    Loss,
}

impl Divergence {
    /// The name recorded in `runs.jsonl`.
    pub fn name(self) -> &'static str {
        match self {
            Divergence::NonFinite => "nonfinite",
            Divergence::Norm => "norm",
            Divergence::Loss => "loss",
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The step at which the run diverged.
    pub diverged_at: Option<usize>,
    /// Why.
    pub divergence: Option<Divergence>,
    /// The step of the first evaluation that met the success criterion.
    pub steps_to_solve: Option<usize>,
    /// Whether the last evaluation met it (false if the run diverged).
    pub solved_end: bool,
    /// The last evaluation.
    pub final_eval: Option<Eval>,
    /// The lowest held-out error rate of any evaluation.
    pub min_error_rate: Option<f64>,
    /// The last minibatch loss.
    pub final_train_loss: f64,
    /// Updates applied.
    pub updates: usize,
    /// The largest pre-clip gradient norm (infinite if it became non-finite).
    pub max_grad_norm: f64,
    /// Fraction of the updates whose pre-clip norm exceeded `train.clip_threshold`.
    pub clip_fraction: Option<f64>,
    /// Median over the updates of the effective learning rate `lr·min(1, c/‖g‖)` (norm
    /// clipping) or `lr`.
    pub median_effective_lr: Option<f64>,
    /// The metrics rows.
    pub metrics: Vec<MetricsRow>,
    /// The recorded gradient norms.
    pub grad_norms: Vec<GradNorms>,
}

/// Trains `spec` with generators seeded by `streams`, in the spec's precision.
pub fn train(spec: &Spec, streams: Streams) -> Outcome {
    match spec.model.precision {
        Precision::F32 => train_typed::<f32>(spec, streams),
        Precision::F64 => train_typed::<f64>(spec, streams),
    }
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

/// The median of unsorted values (`None` when empty).
fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn train_typed<T: Real>(spec: &Spec, streams: Streams) -> Outcome {
    let task = tasks::make(&spec.task);
    let (train, log) = (&spec.train, &spec.log);
    let tolerance = train.success_tolerance.unwrap_or_else(|| spec.task.default_tolerance());
    let mut model = Model::<T>::for_task(
        &spec.model,
        &spec.task,
        task.input_size(),
        task.output_size(),
        &mut rng_from_seed(streams.init),
    );
    let mut data = rng_from_seed(streams.data);
    let eval_batches = eval_set(spec, task.as_ref(), &mut rng_from_seed(streams.eval));
    let lens: Vec<usize> = model.params.buffers().iter().map(|b| b.len()).collect();
    let mut optimizer = Optimizer::<T>::new(train, &lens);
    let truncate = (train.truncate > 0).then_some(train.truncate);
    let omega = train.omega_alpha.map(|a| (a, train.omega_bound.unwrap_or(OMEGA_BOUND)));
    let log_task_norm = omega.is_some() || train.l1 > 0.0 || train.l2 > 0.0;
    let diverge_norm = train.diverge_norm.unwrap_or(crate::spec::sections::DIVERGE_NORM);
    let diverge_factor = train.diverge_loss_factor.unwrap_or(crate::spec::sections::DIVERGE_LOSS_FACTOR);
    let mut loss_reference = spec.task.chance_loss();

    let mut out = Outcome {
        diverged_at: None,
        divergence: None,
        steps_to_solve: None,
        solved_end: false,
        final_eval: None,
        min_error_rate: None,
        final_train_loss: f64::NAN,
        updates: 0,
        max_grad_norm: 0.0,
        clip_fraction: None,
        median_effective_lr: None,
        metrics: Vec::new(),
        grad_norms: Vec::new(),
    };
    let (mut clipped, mut effective_lr) = (0usize, Vec::with_capacity(train.steps));
    for step in 0..=train.steps {
        let len = tasks::draw_len(&mut data, spec.task.seq_len);
        let batch = task.generate(&mut data, len, train.batch);
        let mut g = model.gradient_with_omega(&batch, truncate, omega);
        add_penalty_grads(&model.params, &mut g.grads, train);
        model.mask_frozen(&mut g.grads);
        let grad_norm = global_norm(&g.grads.buffers());
        out.final_train_loss = g.loss;
        out.max_grad_norm = if grad_norm.is_nan() { f64::INFINITY } else { out.max_grad_norm.max(grad_norm) };
        let task_grad_norm = log_task_norm.then_some(g.task_grad_norm);
        let row = |clipped_grad_norm: f64, eval: Option<Eval>| MetricsRow {
            step,
            loss: g.loss,
            grad_norm,
            clipped_grad_norm,
            eval,
            omega: g.omega,
            task_grad_norm,
        };
        if !(g.loss.is_finite() && grad_norm.is_finite()) {
            out.diverged_at = Some(step);
            out.divergence = Some(Divergence::NonFinite);
            out.metrics.push(row(f64::NAN, None));
            break;
        }
        if log.grad_norms_every > 0 && (step % log.grad_norms_every == 0 || step == train.steps) {
            out.grad_norms.push(GradNorms { step, by_lag: g.step_norms.iter().rev().copied().collect() });
        }
        if grad_norm > diverge_norm {
            out.diverged_at = Some(step);
            out.divergence = Some(Divergence::Norm);
            out.metrics.push(row(f64::NAN, None));
            break;
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
            out.min_error_rate = Some(out.min_error_rate.map_or(e.error_rate, |m: f64| m.min(e.error_rate)));
            if step == 0 && e.loss.is_finite() {
                loss_reference = loss_reference.max(e.loss);
            }
            if !e.loss.is_finite() || (step > 0 && e.loss > diverge_factor * loss_reference) {
                out.diverged_at = Some(step);
                out.divergence = Some(Divergence::Loss);
                out.solved_end = false;
                out.metrics.push(row(clipped_grad_norm, eval));
                break;
            }
            out.solved_end = train.meets_criterion(e.loss, e.error_rate);
            if out.steps_to_solve.is_none() && out.solved_end {
                out.steps_to_solve = Some(step);
            }
        }
        let last = step == train.steps || (train.stop_on_success && out.steps_to_solve.is_some());
        if step % log.every == 0 || eval.is_some() || last {
            out.metrics.push(row(clipped_grad_norm, eval));
        }
        if last {
            break;
        }
        clipped += usize::from(grad_norm > train.clip_threshold);
        effective_lr.push(match train.clip {
            ClipKind::Norm => train.lr * (train.clip_threshold / grad_norm).min(1.0),
            _ => train.lr,
        });
        optimizer.step(&mut model.params.buffers_mut(), &g.grads.buffers());
        out.updates += 1;
    }
    if out.diverged_at.is_some() {
        out.solved_end = false;
    }
    out.clip_fraction = (out.updates > 0).then(|| clipped as f64 / out.updates as f64);
    out.median_effective_lr = median(effective_lr);
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

/// Adds the gradients of the L1 and L2 penalties on the matrices of `train.penalty_on`.
pub fn add_penalty_grads<T: Real>(params: &Params<T>, grads: &mut Params<T>, train: &TrainSpec) {
    let (l1, l2) = (train.l1, train.l2);
    if l1 == 0.0 && l2 == 0.0 {
        return;
    }
    let p = params.buffers();
    let g = grads.buffers_mut();
    for target in [crate::spec::PenaltyTarget::Ih, crate::spec::PenaltyTarget::Hh, crate::spec::PenaltyTarget::Hy] {
        if !train.penalises(target) {
            continue;
        }
        let i = Params::<T>::matrix_index(target);
        if l1 > 0.0 {
            add_l1_grad(p[i], l1, g[i]);
        }
        if l2 > 0.0 {
            add_l2_grad(p[i], l2, g[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{OptimizerKind, PenaltyTarget};

    /// With a zero task gradient, plain SGD with an L2 penalty on `W_hh` only shrinks `W_hh`
    /// by exactly `1 − ηλ` per update and leaves the other matrices alone.
    #[test]
    fn l2_on_w_hh_alone_decays_it_by_one_minus_lr_lambda() {
        let spec: crate::spec::ModelSpec = toml::from_str("cell = \"rnn\"\nhidden = 3").unwrap();
        let model = Model::<f64>::init(&spec, 2, 1, &mut rng_from_seed(3));
        let text = "lr = 0.05\nbatch = 1\nsteps = 1\nl2 = 0.1\npenalty_on = [\"hh\"]";
        let train: TrainSpec = toml::from_str(text).unwrap();
        assert_eq!((train.optimizer, train.penalty_on.clone()), (OptimizerKind::Sgd, Some(vec![PenaltyTarget::Hh])));
        let mut params = model.params.clone();
        let lens: Vec<usize> = params.buffers().iter().map(|b| b.len()).collect();
        let mut opt = Optimizer::<f64>::new(&train, &lens);
        for _ in 0..10 {
            let mut g = params.zeros_like();
            add_penalty_grads(&params, &mut g, &train);
            opt.step(&mut params.buffers_mut(), &g.buffers());
        }
        let factor = (1.0f64 - 0.05 * 0.1).powi(10);
        for (a, b) in params.layer.w_hh.iter().zip(&model.params.layer.w_hh) {
            assert!((a - b * factor).abs() <= 1e-15 * b.abs().max(1.0), "{a} vs {}", b * factor);
        }
        assert_eq!(params.layer.w_ih, model.params.layer.w_ih);
        assert_eq!(params.w_hy, model.params.w_hy);
    }
}
