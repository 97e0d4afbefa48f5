//! [`Spec::validate`]: the range and cross-key checks of one resolved
//! configuration, made before any run starts. Errors name the dotted key;
//! the loader locates them in the file or on the command line.

use super::error::SpecError;
use super::sections::{ActivationKind, CellKind, InitKind, Seeds, Spec, TaskKind};

/// Fails with `key` and `what` unless `ok`.
fn check(ok: bool, key: &str, what: impl FnOnce() -> String) -> Result<(), SpecError> {
    if ok { Ok(()) } else { Err(SpecError::at(key, what())) }
}

fn finite_at_least(v: f64, min: f64, key: &str) -> Result<(), SpecError> {
    check(v.is_finite() && v >= min, key, || format!("must be a finite number >= {min}, got {v}"))
}

fn in_unit(v: f64, key: &str) -> Result<(), SpecError> {
    check((0.0..1.0).contains(&v), key, || format!("must be in [0, 1), got {v}"))
}

/// The most seeds per configuration (a count beyond it is a typo, and its run
/// list would not fit in memory).
pub const MAX_SEEDS: u64 = 1_000_000;

impl Spec {
    /// Checks every range and every cross-key constraint.
    pub fn validate(&self) -> Result<(), SpecError> {
        let e = &self.experiment;
        check(!e.name.is_empty(), "experiment.name", || "must not be empty".into())?;
        check(
            e.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) && !e.name.starts_with('.'),
            "experiment.name",
            || format!("`{}` must use only letters, digits, `-`, `_` and `.` (it names a directory)", e.name),
        )?;
        match &e.seeds {
            Seeds::Count(n) => {
                check(*n >= 1, "experiment.seeds", || "must be at least 1".into())?;
                check(*n <= MAX_SEEDS, "experiment.seeds", || {
                    format!("{n} seeds per configuration is more than the most a sweep runs ({MAX_SEEDS})")
                })?;
            }
            Seeds::List(v) => {
                check(!v.is_empty(), "experiment.seeds", || "must not be an empty list".into())?;
                let mut sorted = v.clone();
                sorted.sort_unstable();
                sorted.dedup();
                check(sorted.len() == v.len(), "experiment.seeds", || "must not repeat a seed".into())?;
            }
        }

        let m = &self.model;
        check(m.hidden >= 1, "model.hidden", || "must be at least 1".into())?;
        if m.cell != CellKind::Rnn {
            check(m.activation.is_none(), "model.activation", || "applies only to cell = \"rnn\"".into())?;
        }
        if let Some(s) = m.leaky_slope {
            check(m.activation == Some(ActivationKind::LeakyRelu), "model.leaky_slope", || {
                "applies only to activation = \"leaky_relu\"".into()
            })?;
            finite_at_least(s, 0.0, "model.leaky_slope")?;
        }
        if let Some(f) = m.forget_bias {
            check(m.cell == CellKind::Lstm, "model.forget_bias", || "applies only to cell = \"lstm\"".into())?;
            check(f.is_finite(), "model.forget_bias", || format!("must be finite, got {f}"))?;
        }
        if let Some(s) = m.recurrent_scale {
            finite_at_least(s, 0.0, "model.recurrent_scale")?;
            check(m.init != InitKind::GlorotUniform, "model.recurrent_scale", || {
                "does not apply to init = \"glorot_uniform\" (its half-width is √(6/(2H)))".into()
            })?;
        }
        if let Some(k) = m.sparse_nonzeros {
            check(m.init == InitKind::Sparse, "model.sparse_nonzeros", || "applies only to init = \"sparse\"".into())?;
            check(k >= 1 && k <= m.hidden, "model.sparse_nonzeros", || {
                format!("must be between 1 and model.hidden = {}, got {k}", m.hidden)
            })?;
        }
        for (v, key) in [(m.input_scale, "model.input_scale"), (m.output_scale, "model.output_scale")] {
            if let Some(v) = v {
                finite_at_least(v, 0.0, key)?;
            }
        }

        let t = &self.task;
        check(t.seq_len.min >= 1, "task.seq_len", || "must be at least 1".into())?;
        check(t.seq_len.min <= t.seq_len.max, "task.seq_len", || {
            format!("[min, max] needs min <= max, got [{}, {}]", t.seq_len.min, t.seq_len.max)
        })?;
        let shortest = t.min_seq_len();
        check(t.seq_len.min >= shortest, "task.seq_len", || {
            format!("must be at least {shortest} for this task, got {}", t.seq_len.min)
        })?;
        let adding = t.kind == TaskKind::Adding;
        let prefixed = matches!(t.kind, TaskKind::Latch | TaskKind::TwoSequence);
        check(t.variant.is_none() || adding, "task.variant", || "applies only to kind = \"adding\"".into())?;
        if let Some(p) = t.prefix_len {
            check(prefixed, "task.prefix_len", || "applies only to kind = \"latch\" or \"two_sequence\"".into())?;
            check(p >= 1 && p < t.seq_len.min, "task.prefix_len", || {
                format!("must be between 1 and task.seq_len - 1 = {}, got {p}", t.seq_len.min.saturating_sub(1))
            })?;
        }
        if let Some(v) = t.noise_var {
            check(prefixed, "task.noise_var", || "applies only to kind = \"latch\" or \"two_sequence\"".into())?;
            finite_at_least(v, 0.0, "task.noise_var")?;
        }
        if t.form.is_some() {
            check(t.kind == TaskKind::Latch, "task.form", || "applies only to kind = \"latch\"".into())?;
        }
        if t.is_paper_latch() {
            let tanh = m.cell == CellKind::Rnn && m.activation.is_none_or(|a| a == ActivationKind::Tanh);
            check(tanh && m.hidden == 1, "task.form", || {
                "the paper form is one tanh unit: model.cell = \"rnn\", activation tanh, hidden = 1".into()
            })?;
            check(m.output_scale.is_none(), "model.output_scale", || {
                "the paper form has no readout (the unit's state is the output)".into()
            })?;
        }

        let r = &self.train;
        finite_at_least(r.lr, 0.0, "train.lr")?;
        in_unit(r.momentum, "train.momentum")?;
        in_unit(r.decay, "train.decay")?;
        in_unit(r.beta1, "train.beta1")?;
        in_unit(r.beta2, "train.beta2")?;
        check(r.eps.is_finite() && r.eps > 0.0, "train.eps", || format!("must be > 0, got {}", r.eps))?;
        check(r.batch >= 1, "train.batch", || "must be at least 1".into())?;
        if let Some(a) = r.omega_alpha {
            finite_at_least(a, 0.0, "train.omega_alpha")?;
            check(a == 0.0 || matches!(self.model.cell, CellKind::Rnn), "train.omega_alpha", || {
                "Pascanu's Omega is defined for the vanilla RNN only (model.cell = \"rnn\")".into()
            })?;
        }
        if let Some(b) = r.omega_bound {
            check(r.omega_alpha.is_some(), "train.omega_bound", || "applies only with train.omega_alpha".into())?;
            check(b.is_finite() && b > 0.0, "train.omega_bound", || format!("must be > 0, got {b}"))?;
        }
        check(r.clip_threshold.is_finite() && r.clip_threshold > 0.0, "train.clip_threshold", || {
            format!("must be > 0, got {}", r.clip_threshold)
        })?;
        finite_at_least(r.l1, 0.0, "train.l1")?;
        finite_at_least(r.l2, 0.0, "train.l2")?;
        if let Some(on) = &r.penalty_on {
            check(!on.is_empty(), "train.penalty_on", || "must name at least one of ih, hh, hy".into())?;
        }
        check(r.eval_every >= 1, "train.eval_every", || "must be at least 1".into())?;
        check(r.eval_size >= 1, "train.eval_size", || "must be at least 1".into())?;
        if let Some(tol) = r.success_tolerance {
            check(t.kind.is_regression(), "train.success_tolerance", || {
                "applies only to regression tasks (adding, latch, two_sequence)".into()
            })?;
            check(tol.is_finite() && tol > 0.0, "train.success_tolerance", || format!("must be > 0, got {tol}"))?;
        }
        if let Some(rate) = r.success_error_rate {
            check((0.0..=1.0).contains(&rate), "train.success_error_rate", || {
                format!("must be in [0, 1], got {rate}")
            })?;
        }
        if let Some(l) = r.success_loss {
            check(l.is_finite() && l >= 0.0, "train.success_loss", || {
                format!("must be a finite number >= 0, got {l}")
            })?;
        }
        if let Some(n) = r.diverge_norm {
            check(n > 0.0 && !n.is_nan(), "train.diverge_norm", || format!("must be > 0 (inf: never), got {n}"))?;
        }
        if let Some(f) = r.diverge_loss_factor {
            check(f > 1.0 && !f.is_nan(), "train.diverge_loss_factor", || {
                format!("must be > 1 (inf: never), got {f}")
            })?;
        }

        check(self.log.every >= 1, "log.every", || "must be at least 1".into())?;
        Ok(())
    }
}
