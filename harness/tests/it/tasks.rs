//! Task generators against their definitions (marker positions, targets,
//! input encoding) and the constant-predictor baselines, computed with the
//! harness's own loss functions.

use harness::nn::loss::{mse, softmax_cross_entropy};
use harness::spec::{AddingVariant, SeqLen, TaskKind, TaskSpec};
use harness::tasks::{self, Batch, Target};
use kernels::train::init::{SeedRng, rng_from_seed};

fn spec(kind: TaskKind, len: usize) -> TaskSpec {
    TaskSpec {
        kind,
        seq_len: SeqLen { min: len, max: len },
        variant: None,
        prefix_len: None,
        noise_var: None,
        form: None,
    }
}

fn generate(task: &TaskSpec, len: usize, batch: usize, seed: u64) -> Batch {
    let mut rng: SeedRng = rng_from_seed(seed);
    tasks::make(task).generate(&mut rng, len, batch)
}

/// `x[t, b, k]`.
fn x(batch: &Batch, t: usize, b: usize, k: usize, inputs: usize) -> f64 {
    batch.x[(t * batch.batch + b) * inputs + k]
}

/// The one-hot symbol at `(t, b)`, checking that it is one-hot.
fn symbol(batch: &Batch, t: usize, b: usize, inputs: usize) -> usize {
    let row: Vec<f64> = (0..inputs).map(|k| x(batch, t, b, k, inputs)).collect();
    assert_eq!(row.iter().filter(|&&v| v == 1.0).count(), 1, "step {t} of sequence {b} is not one-hot: {row:?}");
    assert_eq!(row.iter().filter(|&&v| v == 0.0).count(), inputs - 1);
    row.iter().position(|&v| v == 1.0).unwrap()
}

fn values(batch: &Batch) -> &[f64] {
    match &batch.target {
        Target::Value(v) => v,
        other => panic!("expected value targets, got {other:?}"),
    }
}

fn marked(batch: &Batch, b: usize) -> Vec<usize> {
    (0..batch.seq_len).filter(|&t| x(batch, t, b, 1, 2) != 0.0).collect()
}

#[test]
fn adding_sum_has_one_marker_per_half_and_sums_them() {
    let (len, n) = (21, 300);
    let batch = generate(&spec(TaskKind::Adding, len), len, n, 1);
    assert_eq!(batch.x.len(), len * n * 2);
    for b in 0..n {
        let m = marked(&batch, b);
        assert_eq!(m.len(), 2, "sequence {b}: markers at {m:?}");
        assert!(m[0] < len / 2 && m[1] >= len / 2, "sequence {b}: markers at {m:?}");
        for t in 0..len {
            let v = x(&batch, t, b, 0, 2);
            assert!((0.0..1.0).contains(&v));
            assert!([0.0, 1.0].contains(&x(&batch, t, b, 1, 2)));
        }
        let sum = x(&batch, m[0], b, 0, 2) + x(&batch, m[1], b, 0, 2);
        assert_eq!(values(&batch)[b], sum);
    }
}

#[test]
fn adding_hochreiter_and_mean_variants_follow_their_papers() {
    let (len, n) = (40, 300);
    let mut s = spec(TaskKind::Adding, len);
    s.variant = Some(AddingVariant::Hochreiter);
    let batch = generate(&s, len, n, 2);
    let mut first_positions = std::collections::BTreeSet::new();
    for b in 0..n {
        let m = marked(&batch, b);
        assert_eq!(m.len(), 2);
        // One marker among the first 10 steps, both among the first T/2 - 1.
        assert!(m[0] < 10 && m[1] < len / 2 - 1, "sequence {b}: markers at {m:?}");
        first_positions.insert(m[0]);
        let (a, c) = (x(&batch, m[0], b, 0, 2), x(&batch, m[1], b, 0, 2));
        assert!((-1.0..1.0).contains(&a) && (-1.0..1.0).contains(&c));
        assert_eq!(values(&batch)[b], 0.5 + (a + c) / 4.0);
    }
    assert!(first_positions.len() > 5, "marker positions barely vary: {first_positions:?}");

    s.variant = Some(AddingVariant::Mean);
    let batch = generate(&s, len, n, 3);
    for b in 0..n {
        let m = marked(&batch, b);
        assert_eq!(values(&batch)[b], (x(&batch, m[0], b, 0, 2) + x(&batch, m[1], b, 0, 2)) / 2.0);
    }
}

#[test]
fn adding_constant_predictor_baselines() {
    // Sum variant: predicting 1 gives MSE Var(u1 + u2) = 1/6.
    let n = 40_000;
    let batch = generate(&spec(TaskKind::Adding, 10), 10, n, 4);
    let (loss, _) = mse(&vec![1.0f64; n], values(&batch));
    assert!((loss - 1.0 / 6.0).abs() < 0.006, "MSE of predicting 1: {loss}");
    // Hochreiter variant: predicting 0.5 gives MSE Var((X1 + X2)/4) = 1/24.
    let mut s = spec(TaskKind::Adding, 20);
    s.variant = Some(AddingVariant::Hochreiter);
    let batch = generate(&s, 20, n, 5);
    let (loss, _) = mse(&vec![0.5f64; n], values(&batch));
    assert!((loss - 1.0 / 24.0).abs() < 0.0015, "MSE of predicting 0.5: {loss}");
}

fn check_temporal_order(kind: TaskKind, bits: usize, len: usize) {
    let n = 400;
    let batch = generate(&spec(kind, len), len, n, 6);
    let windows = tasks::temporal_order::windows(bits, len);
    let labels = match &batch.target {
        Target::Class(l) => l.clone(),
        other => panic!("expected class targets, got {other:?}"),
    };
    for (b, &label) in labels.iter().enumerate() {
        let syms: Vec<usize> = (0..len).map(|t| symbol(&batch, t, b, 6)).collect();
        let marks: Vec<usize> = (0..len).filter(|&t| syms[t] < 2).collect();
        assert_eq!(marks.len(), bits, "sequence {b}: {syms:?}");
        let mut class = 0;
        for (i, (&p, &(lo, hi))) in marks.iter().zip(&windows).enumerate() {
            assert!(lo <= p && p < hi, "mark {i} at {p}, window [{lo}, {hi})");
            class += syms[p] << i;
        }
        assert_eq!(label, class);
    }
    let classes = 1 << bits;
    // Uniform logits give exactly ln(classes); the best constant predictor (the
    // empirical class frequencies) cannot beat chance by more than sampling noise.
    let (uniform, _) = softmax_cross_entropy(&vec![0.0f64; n * classes], &labels, classes);
    assert!((uniform - (classes as f64).ln()).abs() < 1e-12);
    let freq: Vec<f64> = (0..classes).map(|c| labels.iter().filter(|&&l| l == c).count() as f64 / n as f64).collect();
    assert!(freq.iter().all(|&f| f > 0.0));
    let logits: Vec<f64> = (0..n).flat_map(|_| freq.iter().map(|f| f.ln())).collect();
    let (best, _) = softmax_cross_entropy(&logits, &labels, classes);
    assert!(best <= uniform && uniform - best < 0.02, "best constant {best} vs chance {uniform}");
}

#[test]
fn temporal_order_marks_windows_and_chance_level() {
    check_temporal_order(TaskKind::TemporalOrder, 2, 50);
    check_temporal_order(TaskKind::TemporalOrder, 2, 10);
    check_temporal_order(TaskKind::TemporalOrder3, 3, 60);
    assert_eq!(tasks::temporal_order::windows(2, 57), vec![(5, 10), (28, 33)]);
    assert_eq!(tasks::temporal_order::windows(3, 100), vec![(10, 20), (30, 40), (60, 70)]);
}

#[test]
fn copy_layout_targets_and_memoryless_baseline() {
    let (delay, n) = (30, 50);
    let batch = generate(&spec(TaskKind::Copy, delay), delay, n, 7);
    let len = delay + 20;
    assert_eq!(batch.seq_len, len);
    let (labels, scored_from) = match &batch.target {
        Target::ClassSeq { labels, scored_from } => (labels.clone(), *scored_from),
        other => panic!("expected per-step classes, got {other:?}"),
    };
    assert_eq!(scored_from, delay + 10);
    for b in 0..n {
        let syms: Vec<usize> = (0..len).map(|t| symbol(&batch, t, b, 10)).collect();
        assert!(syms[..10].iter().all(|&s| (1..=8).contains(&s)), "{syms:?}");
        assert!(syms[10..delay + 9].iter().all(|&s| s == 0));
        assert_eq!(syms[delay + 9], 9, "delimiter");
        assert!(syms[delay + 10..].iter().all(|&s| s == 0));
        for t in 0..len {
            let expected = if t < delay + 10 { 0 } else { syms[t - delay - 10] };
            assert_eq!(labels[t * n + b], expected);
        }
    }
    // Memoryless: certain blanks for T + 10 steps, then uniform over the 8 symbols.
    let mut logits = Vec::new();
    for t in 0..len {
        for _ in 0..n {
            logits.extend((0..9).map(|c| match (t < delay + 10, c == 0) {
                (true, true) => 0.0,
                (true, false) => -1e3,
                (false, true) => -1e3,
                (false, false) => 0.0,
            }));
        }
    }
    let (loss, _) = softmax_cross_entropy(&logits, &labels, 9);
    let expected = 10.0 * 8f64.ln() / (delay as f64 + 20.0);
    assert!((loss - expected).abs() < 1e-12, "{loss} vs {expected}");
    assert!((10.0 * 8f64.ln() / 120.0 - 0.17329).abs() < 1e-5);
}

fn check_prefixed(kind: TaskKind, target_of: fn(f64) -> f64) {
    let (len, n, prefix) = (30, 400, 3);
    let mut s = spec(kind, len);
    s.prefix_len = Some(prefix);
    let batch = generate(&s, len, n, 8);
    let targets = values(&batch);
    let mut noise = Vec::new();
    let mut signs = [0, 0];
    for (b, &target) in targets.iter().enumerate() {
        let mark = x(&batch, 0, b, 0, 1);
        assert!(mark == 1.0 || mark == -1.0);
        signs[usize::from(mark > 0.0)] += 1;
        assert!((0..prefix).all(|t| x(&batch, t, b, 0, 1) == mark));
        assert_eq!(target, target_of(mark));
        noise.extend((prefix..len).map(|t| x(&batch, t, b, 0, 1)));
    }
    assert!(signs[0] > n / 4 && signs[1] > n / 4, "classes unbalanced: {signs:?}");
    let m = noise.len() as f64;
    let mean = noise.iter().sum::<f64>() / m;
    let var = noise.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m;
    assert!(mean.abs() < 0.02 && (var - 0.2).abs() < 0.01, "noise mean {mean}, variance {var}");
}

#[test]
fn latch_and_two_sequence_prefixes_noise_and_targets() {
    check_prefixed(TaskKind::Latch, |s| 0.8 * s);
    check_prefixed(TaskKind::TwoSequence, |s| if s > 0.0 { 1.0 } else { 0.0 });
}

#[test]
fn lengths_are_drawn_within_the_inclusive_range() {
    let mut rng = rng_from_seed(9);
    let lens: Vec<usize> = (0..2000).map(|_| tasks::draw_len(&mut rng, SeqLen { min: 50, max: 55 })).collect();
    for l in 50..=55 {
        assert!(lens.contains(&l), "length {l} never drawn");
    }
    assert!(lens.iter().all(|l| (50..=55).contains(l)));
}

#[test]
fn generators_are_deterministic_per_seed() {
    let s = spec(TaskKind::TemporalOrder, 20);
    assert_eq!(generate(&s, 20, 5, 11), generate(&s, 20, 5, 11));
    assert_ne!(generate(&s, 20, 5, 11), generate(&s, 20, 5, 12));
    assert_eq!(tasks::make(&s).input_size(), 6);
}

/// The paper form of the latch: the same coins and noise as the harness form (one random
/// stream), the class as a one-hot of (class, prefix step) on features 1.., the noise unscaled
/// on feature 0 after the prefix.
#[test]
fn latch_paper_form_one_hot_class_inputs_and_unscaled_noise() {
    let (len, n, prefix) = (12, 50, 2);
    let mut harness_form = spec(TaskKind::Latch, len);
    harness_form.prefix_len = Some(prefix);
    let paper = TaskSpec { form: Some(harness::spec::LatchForm::Paper), ..harness_form.clone() };
    let (a, b) = (generate(&harness_form, len, n, 5), generate(&paper, len, n, 5));
    let inputs = 1 + 2 * prefix;
    assert_eq!(tasks::make(&paper).input_size(), inputs);
    assert_eq!(values(&a), values(&b));
    for s in 0..n {
        let class = usize::from(x(&a, 0, s, 0, 1) < 0.0);
        for t in 0..len {
            let row: Vec<f64> = (0..inputs).map(|k| x(&b, t, s, k, inputs)).collect();
            if t < prefix {
                let mut want = vec![0.0; inputs];
                want[1 + class * prefix + t] = 1.0;
                assert_eq!(row, want, "sequence {s} step {t}");
            } else {
                assert_eq!(row[0], x(&a, t, s, 0, 1));
                assert!(row[1..].iter().all(|&v| v == 0.0));
            }
        }
    }
}

#[test]
fn baselines_are_the_papers() {
    let mut s = spec(TaskKind::Copy, 100);
    assert!((s.baseline_loss() - 0.17329).abs() < 1e-5 && (s.chance_loss() - 9f64.ln()).abs() < 1e-12);
    s = spec(TaskKind::TemporalOrder, 50);
    assert_eq!(s.baseline_loss(), 4f64.ln());
    s = spec(TaskKind::Adding, 50);
    s.variant = Some(AddingVariant::Sum);
    assert_eq!(s.baseline_loss(), 1.0 / 6.0);
    s.variant = Some(AddingVariant::Hochreiter);
    assert_eq!(s.baseline_loss(), 1.0 / 24.0);
    s = spec(TaskKind::Latch, 5);
    assert_eq!(s.baseline_loss(), 0.64);
    s.form = Some(harness::spec::LatchForm::Paper);
    assert_eq!(s.baseline_loss(), 0.32);
}
