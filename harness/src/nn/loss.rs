//! Losses on the readout and their gradients, and the error counts of the
//! success criterion. Sums are taken in `f64` whatever the model's precision.

use kernels::Real;

/// Mean squared error over `y: [B]` against `target: [B]`, and `dL/dy`.
pub fn mse<T: Real>(y: &[T], target: &[f64]) -> (f64, Vec<T>) {
    let n = y.len() as f64;
    let mut loss = 0.0;
    let dy = y
        .iter()
        .zip(target)
        .map(|(&v, &d)| {
            let e = v.to_f64() - d;
            loss += e * e;
            T::from_f64(2.0 * e / n)
        })
        .collect();
    (loss / n, dy)
}

/// Softmax cross-entropy averaged over the rows of `logits: [N, C]`, and `dL/dlogits`.
pub fn softmax_cross_entropy<T: Real>(logits: &[T], labels: &[usize], classes: usize) -> (f64, Vec<T>) {
    let n = labels.len() as f64;
    let mut loss = 0.0;
    let mut grad = Vec::with_capacity(logits.len());
    for (row, &label) in logits.chunks_exact(classes).zip(labels) {
        let max = row.iter().map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = row.iter().map(|v| (v.to_f64() - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        loss += sum.ln() + max - row[label].to_f64();
        grad.extend(exps.iter().enumerate().map(|(c, e)| {
            let p = e / sum;
            T::from_f64((p - f64::from(u8::from(c == label))) / n)
        }));
    }
    (loss / n, grad)
}

/// Index of the largest entry (the first on ties).
pub fn argmax<T: Real>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

/// Predictions `y: [B]` whose error is not below `tolerance` (a NaN prediction is an error).
pub fn value_errors<T: Real>(y: &[T], target: &[f64], tolerance: f64) -> usize {
    let correct = y.iter().zip(target).filter(|&(&v, &d)| (v.to_f64() - d).abs() < tolerance).count();
    y.len() - correct
}

/// Rows of `logits: [N, C]` whose argmax is not the label.
pub fn class_errors<T: Real>(logits: &[T], labels: &[usize], classes: usize) -> usize {
    logits.chunks_exact(classes).zip(labels).filter(|&(row, &l)| argmax(row) != l).count()
}
