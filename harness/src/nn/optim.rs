//! Update rules over all parameter buffers: SGD, momentum, Nesterov momentum,
//! RMSProp and Adam. State is kept per element in the model's precision.

use crate::spec::{OptimizerKind, TrainSpec};
use kernels::Real;

/// An optimizer and its state.
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    kind: OptimizerKind,
    lr: f64,
    momentum: f64,
    decay: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Velocity (momentum, Nesterov) or first moment (Adam), per buffer.
    first: Vec<Vec<T>>,
    /// Mean squared gradient (RMSProp) or second moment (Adam), per buffer.
    second: Vec<Vec<T>>,
    /// Updates made so far.
    steps: i32,
}

impl<T: Real> Optimizer<T> {
    /// A fresh optimizer for buffers of the given lengths.
    pub fn new(spec: &TrainSpec, lens: &[usize]) -> Self {
        let zeros = || lens.iter().map(|&n| vec![T::ZERO; n]).collect::<Vec<_>>();
        Optimizer {
            kind: spec.optimizer,
            lr: spec.lr,
            momentum: spec.momentum,
            decay: spec.decay,
            beta1: spec.beta1,
            beta2: spec.beta2,
            eps: spec.eps,
            first: zeros(),
            second: zeros(),
            steps: 0,
        }
    }

    /// One update of `params` along `grads` (same buffer order and lengths as at construction).
    ///
    /// - sgd: `θ -= lr g`
    /// - momentum: `v = μ v - lr g; θ += v`
    /// - nesterov: `v' = μ v - lr g; θ += -μ v + (1 + μ) v'` (Sutskever et al. 2013)
    /// - rmsprop: `s = ρ s + (1-ρ) g²; θ -= lr g / (√s + ε)`
    /// - adam: bias-corrected moments, `θ -= lr m̂ / (√v̂ + ε)`
    pub fn step(&mut self, params: &mut [&mut [T]], grads: &[&[T]]) {
        self.steps += 1;
        let lr = T::from_f64(self.lr);
        let mu = T::from_f64(self.momentum);
        let eps = T::from_f64(self.eps);
        let (rho, b1, b2) = (T::from_f64(self.decay), T::from_f64(self.beta1), T::from_f64(self.beta2));
        let c1 = T::from_f64(1.0 - self.beta1.powi(self.steps));
        let c2 = T::from_f64(1.0 - self.beta2.powi(self.steps));
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let (m, s) = (&mut self.first[i], &mut self.second[i]);
            for j in 0..p.len() {
                let gj = g[j];
                match self.kind {
                    OptimizerKind::Sgd => p[j] -= lr * gj,
                    OptimizerKind::Momentum => {
                        m[j] = mu * m[j] - lr * gj;
                        p[j] += m[j];
                    }
                    OptimizerKind::Nesterov => {
                        let old = m[j];
                        m[j] = mu * old - lr * gj;
                        p[j] += -mu * old + (T::ONE + mu) * m[j];
                    }
                    OptimizerKind::Rmsprop => {
                        s[j] = rho * s[j] + (T::ONE - rho) * gj * gj;
                        p[j] -= lr * gj / (s[j].sqrt() + eps);
                    }
                    OptimizerKind::Adam => {
                        m[j] = b1 * m[j] + (T::ONE - b1) * gj;
                        s[j] = b2 * s[j] + (T::ONE - b2) * gj * gj;
                        p[j] -= lr * (m[j] / c1) / ((s[j] / c2).sqrt() + eps);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: OptimizerKind) -> TrainSpec {
        let text = format!(
            "optimizer = \"{}\"\nlr = 0.1\nbatch = 1\nsteps = 1",
            serde_json::to_value(kind).unwrap().as_str().unwrap()
        );
        toml::from_str(&text).unwrap()
    }

    /// Two updates on the gradient g = 1 from θ = 0, against the formulas worked by hand.
    #[test]
    fn two_steps_match_hand_computed_values() {
        let cases = [
            (OptimizerKind::Sgd, -0.2),
            (OptimizerKind::Momentum, -0.1 + (-0.09 - 0.1)),
            // v1 = -0.1, θ1 = 1.9·(-0.1); v2 = -0.19, θ2 = θ1 + 0.09 + 1.9·(-0.19).
            (OptimizerKind::Nesterov, -0.19 + 0.09 - 0.361),
            // s1 = 0.1, s2 = 0.19.
            (OptimizerKind::Rmsprop, -0.1 / (0.1f64.sqrt() + 1e-8) - 0.1 / (0.19f64.sqrt() + 1e-8)),
            // Adam's bias-corrected step on a constant gradient is lr each time.
            (OptimizerKind::Adam, -0.2),
        ];
        for (kind, expected) in cases {
            let mut opt = Optimizer::<f64>::new(&spec(kind), &[1]);
            let mut p = [0.0f64];
            for _ in 0..2 {
                opt.step(&mut [&mut p[..]], &[&[1.0][..]]);
            }
            assert!((p[0] - expected).abs() < 1e-6, "{kind:?}: {} vs {expected}", p[0]);
        }
    }
}
