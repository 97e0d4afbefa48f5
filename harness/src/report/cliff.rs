//! The one-unit problems' reports: their figures and their claims (the specs are
//! `spec::evaluate`, the computations `run::cliff`).
//!
//! Figures: `plots/cliff_scan.svg` (E and |dE/db| against b, the bistable interval and the
//! refined peak marked) and, with a surface grid, `plots/cliff_surface.svg` (heatmaps of E and
//! log10 |dE/db|); for the descent, `plots/descent.svg` (E against the update, one line per
//! start, unclipped and clipped).

use super::claims::{self, Arm, Checked, judge, judge_test, not_checked, run_test, summarize_values};
use super::plot::{SIZE, chart_builder, plot_err};
use super::stats::quantile;
use crate::run::cliff::{CliffFacts, DescentResults, Results, cliff_point};
use crate::spec::evaluate::{DESCENT_ARMS, DESCENT_METRICS, POINT_METRICS, descent_arm, point_coord};
use crate::spec::expect::{self, Op};
use crate::spec::{CliffSpec, DescentSpec, Expect, Form, Within};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;

/// Writes `DIR/plots/cliff_scan.svg` and, with a surface grid, `cliff_surface.svg`.
pub fn write_figures(dir: &Path, spec: &CliffSpec, results: &Results) -> io::Result<()> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    cliff_scan(&plots.join("cliff_scan.svg"), spec.scan_w, &results.scan, &results.facts)?;
    if !results.surface.is_empty() {
        cliff_surface(&plots.join("cliff_surface.svg"), spec, &results.surface)?;
    }
    Ok(())
}

/// Measures and judges the claims of a cliff spec (validated by `EvalOnly::validate_expect`):
/// point metrics are computed afresh at `at`, the others read from the scan and its facts.
pub fn check(spec: &CliffSpec, results: &Results, expects: &[Expect], profile: Option<&str>) -> Vec<Checked> {
    let f = &results.facts;
    expects
        .iter()
        .map(|e| {
            if !e.applies_to(profile) {
                return not_checked(e, profile.unwrap_or("full"));
            }
            let raw = if let Some(i) = POINT_METRICS.iter().position(|m| *m == e.metric) {
                let at = e.at.as_ref().expect("validated");
                let (w, b) = (point_coord(at, "w").expect("validated"), point_coord(at, "b").expect("validated"));
                cliff_point(spec, w, b)[i]
            } else if e.metric == "spike_ratio" {
                let [lo, hi] = match &e.within {
                    Some(Within::Range(r)) => *r,
                    _ => f.bistable,
                };
                let mut all: Vec<f64> = results.scan.iter().map(|(_, v)| v[1].abs()).collect();
                all.sort_by(f64::total_cmp);
                let median = quantile(&all, 0.5);
                let peak = results
                    .scan
                    .iter()
                    .filter(|(b, _)| *b > lo && *b < hi)
                    .map(|(_, v)| v[1].abs())
                    .fold(f64::NAN, f64::max);
                peak / median
            } else {
                fact(f, &e.metric)
            };
            if e.form() == Form::Describe {
                let mut c = judge(e, raw, profile, Vec::new());
                c.pass = None;
                c
            } else {
                judge(e, raw, profile, Vec::new())
            }
        })
        .collect()
}

/// A grid-independent metric of the cliff (`spec::evaluate::CLIFF_METRICS`).
fn fact(f: &CliffFacts, metric: &str) -> f64 {
    let [lo, hi] = f.bistable;
    match metric {
        "peak_b_refined" => f.peak_b_refined,
        "peak_ratio_refined" => f.peak_ratio_refined,
        "switch_b" => f.switch_b,
        "peak_switch_distance" => (f.peak_b_refined - f.switch_b).abs(),
        "peak_bistable_margin" => (f.peak_b_refined - lo).min(hi - f.peak_b_refined),
        "bistable_low" => lo,
        "bistable_high" => hi,
        other => unreachable!("metric {other} was validated"),
    }
}

/// The per-start values of a descent metric for one arm (0: unclipped, 1: clipped).
fn descent_values(spec: &DescentSpec, results: &DescentResults, metric: &str, arm: usize) -> Vec<f64> {
    results
        .arms
        .iter()
        .map(|pair| {
            let d = &pair[arm];
            match metric {
                "jumped" => f64::from(u8::from(d.jumps > 0)),
                "in_valley" => f64::from(u8::from(d.final_loss < spec.valley_loss)),
                "jumps" => d.jumps as f64,
                "final_loss" => d.final_loss,
                "max_step" => d.max_step,
                other => unreachable!("metric {other} was validated"),
            }
        })
        .collect()
}

/// Measures and judges the claims of a descent spec: threshold claims combine the starts of
/// one arm with `reduce`; tests compare the arms start by start (paired).
pub fn check_descent(
    spec: &DescentSpec,
    results: &DescentResults,
    expects: &[Expect],
    profile: Option<&str>,
) -> Vec<Checked> {
    let units: Vec<u64> = (0..results.arms.len() as u64).collect();
    expects
        .iter()
        .map(|e| {
            if !e.applies_to(profile) {
                return not_checked(e, profile.unwrap_or("full"));
            }
            let boolean = DESCENT_METRICS.iter().find(|(m, _, _)| *m == e.metric).is_some_and(|(_, b, _)| *b);
            let arm = |role: &str, i: usize| {
                let values = descent_values(spec, results, &e.metric, i);
                Arm {
                    role: role.into(),
                    config: DESCENT_ARMS[i].into(),
                    best_of: None,
                    units: units.clone(),
                    summary: summarize_values(&values, boolean),
                    values,
                }
            };
            let w = descent_arm(&e.selector).expect("validated");
            let mut arms = vec![arm("where", w)];
            if let Some(v) = &e.versus {
                arms.push(arm("versus", descent_arm(v).expect("validated")));
            }
            match e.form() {
                Form::Test => {
                    let two = arms.len() == 2;
                    let test = e.test.unwrap_or_else(|| expect::default_test(boolean, two, true));
                    let greater = e.op.is_some_and(Op::greater);
                    let n = units.len();
                    let threshold = e.threshold_for(profile);
                    let min_p =
                        expect::min_attainable_p(test, greater, n, if two { n } else { 0 }, threshold.unwrap_or(0.5));
                    let outcome = run_test(
                        test,
                        greater,
                        e.alpha(),
                        threshold,
                        e.tie_tolerance.unwrap_or(0.0),
                        &arms[0].values,
                        arms.get(1).map(|a| a.values.as_slice()),
                        true,
                        min_p,
                    );
                    judge_test(e, outcome, arms, profile)
                }
                Form::Threshold => {
                    let raw = claims::reduce(&arms[0].values, e.reduce, e.op.expect("validated"));
                    judge(e, raw, profile, arms)
                }
                Form::Describe => {
                    let mut c = judge(e, f64::NAN, profile, arms);
                    c.measured = None;
                    c
                }
            }
        })
        .collect()
}

/// `plots/descent.svg`: `E` (log scale) against the update, one line per start; the unclipped
/// arm on the left, the clipped on the right.
pub fn write_descent_figure(dir: &Path, results: &DescentResults) -> io::Result<()> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    let path = plots.join("descent.svg");
    let root = SVGBackend::new(&path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let (left, right) = root.split_horizontally(600);
    let series = |arm: usize| -> Vec<Vec<(f64, f64)>> {
        results
            .arms
            .iter()
            .map(|pair| {
                pair[arm]
                    .trajectory
                    .iter()
                    .filter(|p| p.3 > 0.0 && p.3.is_finite())
                    .map(|p| (p.0 as f64, p.3.log10()))
                    .collect()
            })
            .collect()
    };
    let all = [series(0), series(1)];
    let pts = all.iter().flatten().flatten();
    let x_max = pts.clone().map(|p| p.0).fold(1.0, f64::max);
    let y_min = pts.clone().map(|p| p.1).fold(f64::INFINITY, f64::min) - 0.2;
    let y_max = pts.map(|p| p.1).fold(f64::NEG_INFINITY, f64::max) + 0.2;
    for (area, (arm, lines)) in [&left, &right].into_iter().zip(all.iter().enumerate()) {
        let title = format!("{} gradient descent: E by update", DESCENT_ARMS[arm]);
        let mut chart = chart_builder(area, &title).build_cartesian_2d(0.0..x_max, y_min..y_max).map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("update")
            .y_desc("E (log10)")
            .y_label_formatter(&|v| format!("{:.0e}", 10f64.powf(*v)))
            .draw()
            .map_err(plot_err)?;
        for (i, l) in lines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart.draw_series(LineSeries::new(l.iter().copied(), color.stroke_width(1))).map_err(plot_err)?;
        }
    }
    root.present().map_err(plot_err)
}

/// Up to `bins` points per series: each bin's smallest and largest `y` (keeps narrow spikes visible).
fn envelope(points: &[(f64, f64)], bins: usize) -> Vec<(f64, f64)> {
    if points.len() <= 2 * bins {
        return points.to_vec();
    }
    let per = points.len().div_ceil(bins);
    let mut out = Vec::new();
    for chunk in points.chunks(per) {
        let lo = chunk.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1)).expect("non-empty");
        let hi = chunk.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)).expect("non-empty");
        if lo.0 <= hi.0 {
            out.extend([lo, hi]);
        } else {
            out.extend([hi, lo]);
        }
    }
    out
}

/// The one-unit cliff: `E` (top) and `|dE/db|` (bottom, log scale) against `b`, with the
/// analytic bistable interval (grey lines) and the refined peak (a red dot).
pub fn cliff_scan(path: &Path, w: f64, scan: &[(f64, [f64; 3])], facts: &CliffFacts) -> io::Result<()> {
    let root = SVGBackend::new(path, (SIZE.0, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let (top, bottom) = root.split_vertically(360);
    let (b0, b1) = (scan[0].0, scan[scan.len() - 1].0);
    let e: Vec<(f64, f64)> = envelope(&scan.iter().map(|(b, v)| (*b, v[0])).collect::<Vec<_>>(), 1500);
    let e_max = e.iter().map(|p| p.1).fold(0.0, f64::max) * 1.05;
    let mut chart = chart_builder(&top, &format!("One sigmoid unit, T = 50, w = {w}: E = (σ(x_T) − 0.7)²"))
        .build_cartesian_2d(b0..b1, 0.0..e_max.max(1e-12))
        .map_err(plot_err)?;
    chart.configure_mesh().x_desc("b").y_desc("E").draw().map_err(plot_err)?;
    chart.draw_series(LineSeries::new(e, BLUE.stroke_width(2))).map_err(plot_err)?;
    let g: Vec<(f64, f64)> = envelope(
        &scan.iter().map(|(b, v)| (*b, v[1].abs())).filter(|p| p.1 > 0.0 && p.1.is_finite()).collect::<Vec<_>>(),
        1500,
    );
    let g_min = g.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) / 2.0;
    let g_max = g.iter().map(|p| p.1).fold(0.0, f64::max) * 2.0;
    let mut chart = chart_builder(&bottom, "|dE/db| (log scale)")
        .build_cartesian_2d(b0..b1, (g_min..g_max.max(g_min * 4.0)).log_scale())
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("b")
        .y_desc("|dE/db|")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(plot_err)?;
    chart.draw_series(LineSeries::new(g, RED.stroke_width(2))).map_err(plot_err)?;
    let top = g_max.max(g_min * 4.0);
    for b in facts.bistable.into_iter().filter(|b| b.is_finite() && *b > b0 && *b < b1) {
        chart.draw_series(LineSeries::new([(b, g_min), (b, top)], BLACK.mix(0.4).stroke_width(1))).map_err(plot_err)?;
    }
    if facts.peak_dloss_db.is_finite() && facts.peak_dloss_db > 0.0 {
        let p = (facts.peak_b_refined, facts.peak_dloss_db.min(top));
        chart.draw_series([Circle::new(p, 4, RED.filled())]).map_err(plot_err)?;
    }
    root.present().map_err(plot_err)
}

/// Colour of `t` in `[0, 1]`: blue (low) to red (high).
fn heat(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 1.0 };
    let c = HSLColor(0.66 * (1.0 - t), 0.85, 0.5).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Heatmaps over `(w, b)` of `E` (left) and `log10 |dE/db|` (right).
pub fn cliff_surface(path: &Path, spec: &CliffSpec, surface: &[(f64, f64, [f64; 3])]) -> io::Result<()> {
    let (Some([w0, w1]), Some([b0, b1])) = (spec.surface_w, spec.surface_b) else { return Ok(()) };
    let [nw, nb] = spec.surface_points;
    let (dw, db) = ((w1 - w0) / (nw - 1) as f64, (b1 - b0) / (nb - 1) as f64);
    let root = SVGBackend::new(path, (1200, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let (left, right) = root.split_horizontally(600);
    let e_max = surface.iter().map(|p| p.2[0]).fold(0.0, f64::max).max(1e-300);
    let logs: Vec<f64> = surface.iter().map(|p| p.2[1].abs().max(1e-12).log10()).collect();
    let (l_min, l_max) = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    type Panel<'a, 'b> = (&'a DrawingArea<SVGBackend<'b>, Shift>, String, Box<dyn Fn(usize) -> f64 + 'a>);
    let panels: [Panel; 2] = [
        (&left, format!("E over (w, b), max {e_max:.3}"), Box::new(|i| surface[i].2[0] / e_max)),
        (
            &right,
            format!("log10 |dE/db| over (w, b), [{l_min:.1}, {l_max:.1}]"),
            Box::new(|i| (logs[i] - l_min) / (l_max - l_min).max(1e-12)),
        ),
    ];
    for (area, title, value) in panels {
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(w0 - dw / 2.0..w1 + dw / 2.0, b0 - db / 2.0..b1 + db / 2.0)
            .map_err(plot_err)?;
        chart.configure_mesh().disable_mesh().x_desc("w").y_desc("b").draw().map_err(plot_err)?;
        chart
            .draw_series(surface.iter().enumerate().map(|(i, &(w, b, _))| {
                Rectangle::new([(w - dw / 2.0, b - db / 2.0), (w + dw / 2.0, b + db / 2.0)], heat(value(i)).filled())
            }))
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)
}
