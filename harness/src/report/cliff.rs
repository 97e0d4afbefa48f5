//! The one-unit cliff's report: its figures and its claims (the spec is
//! `spec::evaluate`, the computation `run::cliff`).
//!
//! Figures: `plots/cliff_scan.svg` (E and |dE/db| against b) and, with a
//! surface grid, `plots/cliff_surface.svg` (heatmaps of E and log10 |dE/db|).

use super::claims::{Checked, judge};
use super::plot::{SIZE, chart_builder, plot_err};
use super::stats::quantile;
use crate::run::cliff::{Results, cliff_point};
use crate::spec::evaluate::{POINT_METRICS, point_coord};
use crate::spec::{EvaluateSpec, Expect};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;

/// Writes `DIR/plots/cliff_scan.svg` and, with a surface grid, `cliff_surface.svg`.
pub fn write_figures(dir: &Path, spec: &EvaluateSpec, results: &Results) -> io::Result<()> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    cliff_scan(&plots.join("cliff_scan.svg"), spec.scan_w, &results.scan)?;
    if !results.surface.is_empty() {
        cliff_surface(&plots.join("cliff_surface.svg"), spec, &results.surface)?;
    }
    Ok(())
}

/// Measures and judges the claims of an evaluate-only spec (validated by
/// `EvalOnly::validate_expect`): point metrics are computed afresh at `at`,
/// `spike_ratio` is read from the scan.
pub fn check(spec: &EvaluateSpec, results: &Results, expects: &[Expect], quick: bool) -> Vec<Checked> {
    expects
        .iter()
        .map(|e| {
            let raw = if let Some(i) = POINT_METRICS.iter().position(|m| *m == e.metric) {
                let at = e.at.as_ref().expect("validated");
                let (w, b) = (point_coord(at, "w").expect("validated"), point_coord(at, "b").expect("validated"));
                cliff_point(spec, w, b)[i]
            } else {
                let [lo, hi] = e.within.expect("validated");
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
            };
            judge(e, raw, quick)
        })
        .collect()
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

/// The one-unit cliff: `E` (top) and `|dE/db|` (bottom, log scale) against `b`.
pub fn cliff_scan(path: &Path, w: f64, scan: &[(f64, [f64; 3])]) -> io::Result<()> {
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
    root.present().map_err(plot_err)
}

/// Colour of `t` in `[0, 1]`: blue (low) to red (high).
fn heat(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 1.0 };
    let c = HSLColor(0.66 * (1.0 - t), 0.85, 0.5).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Heatmaps over `(w, b)` of `E` (left) and `log10 |dE/db|` (right).
pub fn cliff_surface(path: &Path, spec: &EvaluateSpec, surface: &[(f64, f64, [f64; 3])]) -> io::Result<()> {
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
