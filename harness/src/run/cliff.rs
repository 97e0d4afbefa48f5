//! Evaluate-only specs, computed: Pascanu et al.'s one-unit "cliff" and the gradient descent
//! beside its wall (see `spec::evaluate` for the specs), no training.
//!
//! ```text
//! x_t = w·σ(x_{t-1}) + b,   x_0 = x0,   E = (σ(x_T) − target)²
//! ```
//!
//! is exactly a one-unit sigmoid RNN `h_t = σ(w h_{t-1} + b)` with zero
//! input, `h_0 = σ(x0)` and `E = (h_T − target)²`; the kernels compute it in
//! f64 and their BPTT gives `dE/dw` (from `dW_hh`) and `dE/db` (from `db_hh`).
//!
//! Outputs of the cliff: `scan.csv` (`b,loss,dloss_db,dloss_dw`), `surface.csv`
//! (`w,b,loss,dloss_db,dloss_dw`) and `cliff.json` (the refined peak, the attractor switch and
//! the analytic bistable interval). Outputs of the descent: `starts.csv` (one row per start and
//! arm) and `trajectories.csv`. The figures and the claims are `report::cliff`'s.

use crate::spec::{CliffSpec, DescentSpec};
use kernels::{Activation, BackwardOpts, Cell, Dims, Parallelism, Rnn, Upstream, Weights};

/// The logistic sigmoid, exactly as the kernels compute it.
fn sigmoid(x: f64) -> f64 {
    Activation::Sigmoid.apply(x)
}
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// `E`, `dE/db`, `dE/dw` at `(w, b)`, by the kernels in f64.
pub fn cliff_point(spec: &CliffSpec, w: f64, b: f64) -> [f64; 3] {
    unit_point(spec.seq_len, spec.x0, spec.target, w, b)
}

/// `E`, `dE/db`, `dE/dw` at `(w, b)` of the unit with `T` steps from `x0`, by the kernels in f64.
pub fn unit_point(seq_len: usize, x0: f64, target: f64, w: f64, b: f64) -> [f64; 3] {
    let rnn = Rnn::new(Cell::Rnn(Activation::Sigmoid), 1, 1);
    let mut weights = Weights::<f64>::zeros(&rnn);
    weights.w_hh[0] = w;
    weights.b_hh[0] = b;
    let dims = Dims::new(seq_len, 1);
    let x = vec![0.0; seq_len];
    let h0 = [sigmoid(x0)];
    let trace = rnn.forward_train(&weights, dims, &x, Some(&h0), None, Parallelism::Sequential);
    let e = trace.h_n()[0] - target;
    let dh = [2.0 * e];
    let upstream = Upstream { dh_out: None, dh_n: Some(&dh), dc_n: None };
    let opts = BackwardOpts { accumulate: false, truncate: None };
    let g = rnn.backward_trace(&weights, trace, upstream, opts, Parallelism::Sequential);
    [e * e, g.weights.b_hh[0], g.weights.w_hh[0]]
}

fn linspace([lo, hi]: [f64; 2], n: usize) -> Vec<f64> {
    (0..n).map(|i| if i + 1 == n { hi } else { lo + (hi - lo) * i as f64 / (n - 1) as f64 }).collect()
}

/// The scan and surface results.
pub struct Results {
    /// `(b, [E, dE/db, dE/dw])` at `w = scan_w`.
    pub scan: Vec<(f64, [f64; 3])>,
    /// `(w, b, [E, dE/db, dE/dw])`.
    pub surface: Vec<(f64, f64, [f64; 3])>,
    /// The grid-independent facts of the scan.
    pub facts: CliffFacts,
}

/// What the cliff scan shows independently of its grid.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CliffFacts {
    /// `b` of the largest `|dE/db|`, refined by golden-section search on the two grid cells
    /// around the grid's largest value.
    pub peak_b_refined: f64,
    /// `|dE/db|` there.
    pub peak_dloss_db: f64,
    /// `peak_dloss_db` over the median `|dE/db|` of the scan.
    pub peak_ratio_refined: f64,
    /// The median `|dE/db|` of the scan.
    pub scan_median_dloss_db: f64,
    /// Where `x_T` from `x0` switches attractor (NaN if `scan_w <= 4`).
    pub switch_b: f64,
    /// The analytic bistable interval at `scan_w` (NaN if `scan_w <= 4`).
    pub bistable: [f64; 2],
}

/// The analytic bistable interval of `x = w·σ(x) + b` in `b` at this `w` (`w > 4`): the fixed
/// points are tangent where `w·σ'(x) = 1`, i.e. `σ(x) = s± = (1 ± √(1 − 4/w))/2`, at
/// `b = logit(s) − w·s`.
pub fn bistable_interval(w: f64) -> Option<[f64; 2]> {
    if w <= 4.0 {
        return None;
    }
    let r = (1.0 - 4.0 / w).sqrt();
    let at = |s: f64| (s / (1.0 - s)).ln() - w * s;
    Some([at((1.0 + r) / 2.0), at((1.0 - r) / 2.0)])
}

/// `x_T` of the unit by direct recursion.
fn x_final(seq_len: usize, x0: f64, w: f64, b: f64) -> f64 {
    (0..seq_len).fold(x0, |x, _| w * sigmoid(x) + b)
}

/// The middle (unstable) fixed point of `x = w·σ(x) + b` for `b` inside the bistable interval:
/// bisection of `w·σ(x) + b − x`, increasing between the tangent points `logit(s∓)`.
fn middle_fixed_point(w: f64, b: f64) -> f64 {
    let r = (1.0 - 4.0 / w).sqrt();
    let logit = |s: f64| (s / (1.0 - s)).ln();
    let (mut lo, mut hi) = (logit((1.0 - r) / 2.0), logit((1.0 + r) / 2.0));
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if w * sigmoid(mid) + b - mid < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The `b` at which `x_T` (from `x0`, at this `w`) switches from the low to the high attractor:
/// bisection on the sign of `x_T − x*(b)`, `x*` the middle fixed point, inside the analytic
/// bistable interval (NaN if `w <= 4` or the sides do not differ).
pub fn switch_b(seq_len: usize, x0: f64, w: f64) -> f64 {
    let Some([lo, hi]) = bistable_interval(w) else { return f64::NAN };
    let high = |b: f64| x_final(seq_len, x0, w, b) > middle_fixed_point(w, b);
    let eps = 1e-12 * (hi - lo).abs().max(1.0);
    let (mut a, mut c) = (lo + eps, hi - eps);
    if high(a) == high(c) {
        return f64::NAN;
    }
    let a_high = high(a);
    for _ in 0..200 {
        let m = 0.5 * (a + c);
        if high(m) == a_high {
            a = m;
        } else {
            c = m;
        }
    }
    0.5 * (a + c)
}

/// The maximum of `f` on `[a, c]` by golden-section search (`f` unimodal there).
fn golden_max(f: impl Fn(f64) -> f64, mut a: f64, mut c: f64) -> f64 {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut x1 = c - g * (c - a);
    let mut x2 = a + g * (c - a);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..200 {
        if (c - a).abs() <= 1e-15 * a.abs().max(1.0) {
            break;
        }
        if f1 < f2 {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (c - a);
            f2 = f(x2);
        } else {
            c = x2;
            x2 = x1;
            f2 = f1;
            x1 = c - g * (c - a);
            f1 = f(x1);
        }
    }
    if f1 > f2 { x1 } else { x2 }
}

/// The facts of a scan (see [`CliffFacts`]).
pub fn facts(spec: &CliffSpec, scan: &[(f64, [f64; 3])]) -> CliffFacts {
    let abs_db: Vec<f64> = scan.iter().map(|(_, v)| v[1].abs()).collect();
    let mut sorted = abs_db.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
    let i = (0..n).max_by(|&a, &b| abs_db[a].total_cmp(&abs_db[b])).unwrap_or(0);
    let (a, c) = (scan[i.saturating_sub(1)].0, scan[(i + 1).min(n - 1)].0);
    let f = |b: f64| cliff_point(spec, spec.scan_w, b)[1].abs();
    let b_peak = golden_max(f, a, c);
    let (b_peak, peak) = if f(b_peak) >= abs_db[i] { (b_peak, f(b_peak)) } else { (scan[i].0, abs_db[i]) };
    CliffFacts {
        peak_b_refined: b_peak,
        peak_dloss_db: peak,
        peak_ratio_refined: peak / median,
        scan_median_dloss_db: median,
        switch_b: switch_b(spec.seq_len, spec.x0, spec.scan_w),
        bistable: bistable_interval(spec.scan_w).unwrap_or([f64::NAN; 2]),
    }
}

/// Computes the scan, the surface and the facts.
pub fn compute(spec: &CliffSpec) -> Results {
    let scan: Vec<(f64, [f64; 3])> =
        linspace(spec.scan_b, spec.scan_points).into_iter().map(|b| (b, cliff_point(spec, spec.scan_w, b))).collect();
    let mut surface = Vec::new();
    if let (Some(wr), Some(br)) = (spec.surface_w, spec.surface_b) {
        for w in linspace(wr, spec.surface_points[0]) {
            for b in linspace(br, spec.surface_points[1]) {
                surface.push((w, b, cliff_point(spec, w, b)));
            }
        }
    }
    let facts = facts(spec, &scan);
    Results { scan, surface, facts }
}

/// Writes `scan.csv`, `cliff.json` and, with a surface grid, `surface.csv` (the figures are
/// `report::cliff`'s).
pub fn write(dir: &Path, results: &Results) -> io::Result<()> {
    let json = serde_json::to_value(results.facts)?;
    std::fs::write(dir.join("cliff.json"), serde_json::to_string_pretty(&json)? + "\n")?;
    let mut s = String::from("b,loss,dloss_db,dloss_dw\n");
    for (b, v) in &results.scan {
        writeln!(s, "{b},{},{},{}", v[0], v[1], v[2]).unwrap();
    }
    std::fs::write(dir.join("scan.csv"), s)?;
    if !results.surface.is_empty() {
        let mut s = String::from("w,b,loss,dloss_db,dloss_dw\n");
        for (w, b, v) in &results.surface {
            writeln!(s, "{w},{b},{},{},{}", v[0], v[1], v[2]).unwrap();
        }
        std::fs::write(dir.join("surface.csv"), s)?;
    }
    Ok(())
}

/// One arm of the descent from one start.
#[derive(Clone, Debug, PartialEq)]
pub struct Descent {
    /// `(w0, delta)` of the start.
    pub start: (f64, f64),
    /// The start's `b0 = b_switch(w0) − delta`.
    pub b0: f64,
    /// Jumps across the valley: updates longer than `jump_len` after which `E` rose.
    pub jumps: usize,
    /// The first step with a jump.
    pub first_jump: Option<usize>,
    /// `E` after the last update.
    pub final_loss: f64,
    /// `(w, b)` after the last update.
    pub end: (f64, f64),
    /// The longest update.
    pub max_step: f64,
    /// `(step, w, b, E)` every `record_every` steps and at the end.
    pub trajectory: Vec<(usize, f64, f64, f64)>,
}

/// Both arms (unclipped, clipped) from every start, in the order of `DescentSpec::starts`.
pub struct DescentResults {
    /// `[unclipped, clipped]` per start.
    pub arms: Vec<[Descent; 2]>,
}

/// Full-batch gradient descent on `(w, b)` from one start, norm-clipped at `clip` if given.
pub fn descend(spec: &DescentSpec, start: (f64, f64), clip: Option<f64>) -> Descent {
    let (w0, delta) = start;
    let b0 = switch_b(spec.seq_len, spec.x0, w0) - delta;
    let point = |w: f64, b: f64| unit_point(spec.seq_len, spec.x0, spec.target, w, b);
    let record_every = (spec.steps / 200).max(1);
    let (mut w, mut b) = (w0, b0);
    let mut v = point(w, b);
    let mut out = Descent {
        start,
        b0,
        jumps: 0,
        first_jump: None,
        final_loss: f64::NAN,
        end: (w, b),
        max_step: 0.0,
        trajectory: vec![(0, w, b, v[0])],
    };
    for step in 1..=spec.steps {
        let (mut gw, mut gb) = (v[2], v[1]);
        let norm = gw.hypot(gb);
        if let Some(c) = clip
            && norm > c
        {
            gw *= c / norm;
            gb *= c / norm;
        }
        let (dw, db) = (-spec.lr * gw, -spec.lr * gb);
        let len = dw.hypot(db);
        out.max_step = out.max_step.max(len);
        w += dw;
        b += db;
        let next = point(w, b);
        if len > spec.jump_len && next[0] > v[0] {
            out.jumps += 1;
            out.first_jump.get_or_insert(step);
        }
        v = next;
        if step % record_every == 0 || step == spec.steps {
            out.trajectory.push((step, w, b, v[0]));
        }
    }
    out.final_loss = v[0];
    out.end = (w, b);
    out
}

/// Runs both arms from every start.
pub fn compute_descent(spec: &DescentSpec) -> DescentResults {
    let arms = spec
        .starts()
        .into_iter()
        .map(|s| [descend(spec, s, None), descend(spec, s, Some(spec.clip_threshold))])
        .collect();
    DescentResults { arms }
}

/// Writes `starts.csv` (`w0,delta,b0,arm,jumps,first_jump,final_loss,in_valley,w_end,b_end,max_step`)
/// and `trajectories.csv` (`w0,delta,arm,step,w,b,loss`).
pub fn write_descent(dir: &Path, spec: &DescentSpec, results: &DescentResults) -> io::Result<()> {
    let names = crate::spec::evaluate::DESCENT_ARMS;
    let mut s = String::from("w0,delta,b0,arm,jumps,first_jump,final_loss,in_valley,w_end,b_end,max_step\n");
    let mut t = String::from("w0,delta,arm,step,w,b,loss\n");
    for pair in &results.arms {
        for (d, arm) in pair.iter().zip(names) {
            let (w0, delta) = d.start;
            let first = d.first_jump.map_or(String::new(), |v| v.to_string());
            let valley = u8::from(d.final_loss < spec.valley_loss);
            writeln!(
                s,
                "{w0},{delta},{},{arm},{},{first},{},{valley},{},{},{}",
                d.b0, d.jumps, d.final_loss, d.end.0, d.end.1, d.max_step
            )
            .unwrap();
            for (step, w, b, e) in &d.trajectory {
                writeln!(t, "{w0},{delta},{arm},{step},{w},{b},{e}").unwrap();
            }
        }
    }
    std::fs::write(dir.join("starts.csv"), s)?;
    std::fs::write(dir.join("trajectories.csv"), t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CliffSpec {
        CliffSpec {
            seq_len: 50,
            x0: 0.5,
            target: 0.7,
            scan_w: 5.0,
            scan_b: [-3.0, -2.0],
            scan_points: 11,
            surface_w: None,
            surface_b: None,
            surface_points: [2, 2],
        }
    }

    /// The interval of literature.md; the switch at w = 5 (−2.6122967 by the x_T − x* criterion,
    /// checked by an independent Python bisection; the sign of x_T alone gives −2.6123179); and
    /// a refined peak that does not depend on the grid.
    #[test]
    fn interval_switch_and_refined_peak() {
        let [lo, hi] = bistable_interval(5.0).unwrap();
        assert!((lo + 2.6556).abs() < 1e-4 && (hi + 2.3444).abs() < 1e-4, "{lo} {hi}");
        assert!(bistable_interval(4.0).is_none());
        let sw = switch_b(50, 0.5, 5.0);
        assert!((sw + 2.612_296_656).abs() < 1e-8, "{sw}");
        let mut peaks = Vec::new();
        for points in [101, 1001] {
            let s = CliffSpec { scan_points: points, ..spec() };
            let f = compute(&s).facts;
            assert!(f.peak_b_refined > lo && f.peak_b_refined < hi);
            assert!((f.peak_b_refined - sw).abs() < 1e-3, "{f:?}");
            peaks.push(f.peak_dloss_db);
        }
        assert!((peaks[0] - peaks[1]).abs() < 1e-6 * peaks[1], "{peaks:?}");
    }

    /// Gradient descent from beside the wall: clipped steps never exceed lr·c; the unclipped
    /// arm from a start close to the wall jumps.
    #[test]
    fn descent_clips_its_steps() {
        let d = DescentSpec {
            seq_len: 50,
            x0: 0.5,
            target: 0.7,
            w0: vec![5.0],
            delta: vec![0.01],
            lr: 0.1,
            steps: 300,
            clip_threshold: 1.0,
            jump_len: 1.0,
            valley_loss: 0.02,
        };
        let r = compute_descent(&d);
        let [free, clipped] = &r.arms[0];
        assert!(clipped.max_step <= 0.1 + 1e-12 && clipped.jumps == 0, "{}", clipped.max_step);
        assert!(free.max_step > clipped.max_step);
        assert!((free.b0 - (switch_b(50, 0.5, 5.0) - 0.01)).abs() < 1e-12);
    }

    /// The kernels' value and gradients against a direct recursion and central differences.
    #[test]
    fn cliff_point_matches_a_direct_recursion() {
        let s = spec();
        let direct = |w: f64, b: f64| {
            let mut x: f64 = 0.5;
            for _ in 0..50 {
                x = w * sigmoid(x) + b;
            }
            (sigmoid(x) - 0.7).powi(2)
        };
        for (w, b) in [(5.0, -3.0), (5.0, -2.2), (3.0, -1.0)] {
            let [e, db, dw] = cliff_point(&s, w, b);
            assert!((e - direct(w, b)).abs() < 1e-14, "{e}");
            let h = 1e-6;
            let ndb = (direct(w, b + h) - direct(w, b - h)) / (2.0 * h);
            let ndw = (direct(w + h, b) - direct(w - h, b)) / (2.0 * h);
            assert!((db - ndb).abs() < 1e-7 * (1.0 + ndb.abs()), "{db} vs {ndb}");
            assert!((dw - ndw).abs() < 1e-7 * (1.0 + ndw.abs()), "{dw} vs {ndw}");
        }
    }
}
