//! SVG figures of a sweep (plotters' SVG backend, text as SVG `<text>`, no
//! font files needed): gradient norm against lag, loss curves, success rate
//! against the first swept variable. Each line of the first two is the median
//! over seeds of one configuration.

use crate::load::{Plan, value_text};
use crate::output::{RunRecord, read_csv, runs_dir};
use crate::summary::ConfigSummary;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

const SIZE: (u32, u32) = (900, 560);

/// Writes `DIR/plots/*.svg`; a figure with nothing to show is not written.
pub fn write_all(dir: &Path, plan: &Plan, records: &[RunRecord], summaries: &[ConfigSummary]) -> io::Result<()> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    let labels: Vec<String> = plan.configs.iter().map(|c| c.label()).collect();

    let grad: Vec<Vec<(f64, f64)>> = per_config(plan, records, |id| {
        let (_, rows) = read_csv(&runs_dir(dir).join(id).join("grad_norms.csv"))?;
        Ok(rows.iter().filter(|r| r[0] == 0.0).map(|r| (r[1], r[2])).collect())
    })?;
    if grad.iter().any(|l| !l.is_empty()) {
        lines(&plots.join("grad_norms.svg"), "Gradient norm ‖dL/dh_(T-lag)‖ at step 0", "lag", "norm", &labels, &grad)?;
    }
    let loss = per_config(plan, records, |id| {
        let (_, rows) = read_csv(&runs_dir(dir).join(id).join("metrics.csv"))?;
        Ok(rows.iter().map(|r| (r[0], r[1])).collect())
    })?;
    if loss.iter().any(|l| !l.is_empty()) {
        lines(&plots.join("loss.svg"), "Training loss (median over seeds)", "step", "loss", &labels, &loss)?;
    }
    success(&plots.join("success.svg"), plan, summaries)?;
    grouped(dir, &plots, plan, records)
}

/// A file-name-safe form of a value.
fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

/// The `[figures]` extras: per value of `group_by` (or once for all
/// configurations), the relative gradient norm against lag at step 0 (median
/// over seeds) and the pre-clip gradient norm over training (first seed).
fn grouped(dir: &Path, plots: &Path, plan: &Plan, records: &[RunRecord]) -> io::Result<()> {
    let f = &plan.figures;
    if f.group_by.is_none() && !f.training_grad_norm {
        return Ok(());
    }
    // (group name, member configuration indices)
    let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    for (i, c) in plan.configs.iter().enumerate() {
        let g = f
            .group_by
            .as_ref()
            .map(|k| c.params.iter().find(|(p, _)| p == k).map(|(_, v)| value_text(v)).unwrap_or_default());
        match groups.iter_mut().find(|(n, _)| *n == g) {
            Some((_, v)) => v.push(i),
            None => groups.push((g, vec![i])),
        }
    }
    let relative = per_config(plan, records, |id| {
        let (_, rows) = read_csv(&runs_dir(dir).join(id).join("grad_norms.csv"))?;
        let at0: Vec<&Vec<f64>> = rows.iter().filter(|r| r[0] == 0.0).collect();
        let n0 = at0.first().map_or(f64::NAN, |r| r[2]);
        Ok(at0.iter().map(|r| (r[1], r[2] / n0)).collect())
    })?;
    let first_seed = |i: usize| -> io::Result<Vec<(f64, f64)>> {
        let Some(r) = records.iter().find(|r| r.config == i) else { return Ok(Vec::new()) };
        let (_, rows) = read_csv(&runs_dir(dir).join(&r.id).join("metrics.csv"))?;
        Ok(rows.iter().filter(|r| r[2].is_finite() && r[2] > 0.0).map(|r| (r[0], r[2])).collect())
    };
    for (name, members) in &groups {
        let key = f.group_by.clone().unwrap_or_default();
        let labels: Vec<String> = members
            .iter()
            .map(|&i| {
                let rest: Vec<String> = plan.configs[i]
                    .params
                    .iter()
                    .filter(|(k, _)| *k != key)
                    .map(|(k, v)| format!("{k}={}", value_text(v)))
                    .collect();
                if rest.is_empty() { "base".into() } else { rest.join(" ") }
            })
            .collect();
        let (suffix, what) = match name {
            Some(v) => (format!("_{}", slug(v)), format!(" ({key} = {v})")),
            None => (String::new(), String::new()),
        };
        if f.group_by.is_some() {
            let series: Vec<Vec<(f64, f64)>> = members.iter().map(|&i| relative[i].clone()).collect();
            if series.iter().any(|s| !s.is_empty()) {
                let title = format!("‖dL/dh_(T-k)‖ / ‖dL/dh_T‖ at step 0{what}");
                lines(
                    &plots.join(format!("grad_norms_by{suffix}.svg")),
                    &title,
                    "lag k",
                    "relative norm",
                    &labels,
                    &series,
                )?;
            }
        }
        if f.training_grad_norm {
            let series: Vec<Vec<(f64, f64)>> = members.iter().map(|&i| first_seed(i)).collect::<io::Result<_>>()?;
            if series.iter().any(|s| !s.is_empty()) {
                let title = format!("Pre-clip gradient norm during training, first seed{what}");
                lines(&plots.join(format!("grad_norm_training{suffix}.svg")), &title, "step", "‖g‖", &labels, &series)?;
            }
        }
    }
    Ok(())
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
pub fn cliff_surface(
    path: &Path,
    spec: &crate::evaluate::EvaluateSpec,
    surface: &[(f64, f64, [f64; 3])],
) -> io::Result<()> {
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

/// For each configuration, the median over its runs of `(x, y)` series keyed by `x`.
fn per_config(
    plan: &Plan,
    records: &[RunRecord],
    series: impl Fn(&str) -> io::Result<Vec<(f64, f64)>>,
) -> io::Result<Vec<Vec<(f64, f64)>>> {
    (0..plan.configs.len())
        .map(|i| {
            let mut at: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for r in records.iter().filter(|r| r.config == i) {
                for (x, y) in series(&r.id)? {
                    if y.is_finite() && y > 0.0 {
                        at.entry(x as u64).or_default().push(y);
                    }
                }
            }
            Ok(at
                .into_iter()
                .map(|(x, mut ys)| {
                    ys.sort_by(f64::total_cmp);
                    (x as f64, crate::summary::quantile(&ys, 0.5))
                })
                .collect())
        })
        .collect()
}

fn plot_err<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(format!("plot: {e}"))
}

/// One line per series on a log-scale y axis (drawn as log10 on a linear axis,
/// so that ranges of many decades keep their labels).
fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    labels: &[String],
    series: &[Vec<(f64, f64)>],
) -> io::Result<()> {
    let series: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.iter().filter(|p| p.1 > 0.0 && p.1.is_finite()).map(|&(x, y)| (x, y.log10())).collect())
        .collect();
    let points = series.iter().flatten();
    let x_max = points.clone().map(|p| p.0).fold(1.0, f64::max);
    let y_min = points.clone().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y_max = points.map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let pad = ((y_max - y_min) * 0.05).max(0.3);
    let (y_min, y_max) = (y_min - pad, y_max + pad);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = chart_builder(&root, title).build_cartesian_2d(0.0..x_max, y_min..y_max).map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(format!("{y_desc} (log scale)"))
        .y_label_formatter(&|v| {
            let e = v.round();
            if (v - e).abs() < 1e-6 { format!("1e{e:.0}") } else { format!("{:.2e}", 10f64.powf(*v)) }
        })
        .draw()
        .map_err(plot_err)?;
    for (i, (label, s)) in labels.iter().zip(&series).enumerate().filter(|(_, (_, s))| !s.is_empty()) {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(s.iter().copied(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    legend(&mut chart)?;
    root.present().map_err(plot_err)
}

fn chart_builder<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 20)).margin(15).x_label_area_size(45).y_label_area_size(70);
    b
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, DB, CT>) -> io::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)
}

/// Success rate with its 95% interval against the first swept key's values;
/// one line per combination of the other swept keys.
fn success(path: &Path, plan: &Plan, summaries: &[ConfigSummary]) -> io::Result<()> {
    let (x_key, x_values) =
        plan.sweep.first().map_or(("configuration".to_string(), vec!["base".to_string()]), |(k, v)| {
            (k.clone(), v.iter().map(value_text).collect())
        });
    // Group configurations by the values of the other keys, in first-seen order.
    let mut groups: Vec<(String, Vec<(f64, &ConfigSummary)>)> = Vec::new();
    for (config, s) in plan.configs.iter().zip(summaries) {
        let x =
            config.params.first().map_or(0, |(_, v)| x_values.iter().position(|t| *t == value_text(v)).unwrap_or(0));
        let rest: Vec<String> = config.params.iter().skip(1).map(|(k, v)| format!("{k}={}", value_text(v))).collect();
        let name = if rest.is_empty() { "success rate".to_string() } else { rest.join(" ") };
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push((x as f64, s)),
            None => groups.push((name, vec![(x as f64, s)])),
        }
    }
    let n = x_values.len();
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = chart_builder(&root, "Success rate (95% Wilson interval)")
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..1.05)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_key.as_str())
        .y_desc("success rate")
        .x_labels(n + 1)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                x_values.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(plot_err)?;
    for (i, (name, points)) in groups.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let offset = (i as f64 - (groups.len() - 1) as f64 / 2.0) * 0.03;
        let pts: Vec<(f64, f64)> = points.iter().map(|(x, s)| (x + offset, s.success_rate)).collect();
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(plot_err)?;
        chart
            .draw_series(points.iter().map(|(x, s)| {
                PathElement::new(vec![(x + offset, s.wilson.0), (x + offset, s.wilson.1)], color.stroke_width(1))
            }))
            .map_err(plot_err)?;
    }
    legend(&mut chart)?;
    root.present().map_err(plot_err)
}
