//! SVG figures of a sweep (plotters' SVG backend, text as SVG `<text>`, no
//! font files needed): gradient norm against lag, training loss, held-out loss
//! against sequences seen (with the task's baseline and the paper's values),
//! survival curves (fraction of runs not yet solved against sequences seen),
//! success rate against the first swept variable. Each line of the loss and
//! gradient figures is the median over seeds of one configuration. The chart
//! helpers are shared with `report::cliff`'s figures.

use super::stats::quantile;
use super::summary::ConfigSummary;
use crate::run::output::{RunRecord, read_csv, runs_dir};
use crate::spec::{Plan, value_text};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Width and height of a figure, in pixels.
pub(super) const SIZE: (u32, u32) = (900, 560);

/// Writes `DIR/plots/*.svg`; a figure with nothing to show is not written. The figures are
/// drawn in a temporary directory beside `plots/` and each is then renamed into it, so that
/// a figure is whole or absent, also when the process is killed.
pub fn write_all(dir: &Path, plan: &Plan, records: &[RunRecord], summaries: &[ConfigSummary]) -> io::Result<()> {
    let target = dir.join("plots");
    std::fs::create_dir_all(&target)?;
    let staging = dir.join(format!(".tmp-plots-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(&staging)?;
    draw_all(dir, &staging, plan, records, summaries)?;
    for entry in std::fs::read_dir(&staging)? {
        let entry = entry?;
        std::fs::rename(entry.path(), target.join(entry.file_name()))?;
    }
    std::fs::remove_dir(&staging)
}

fn draw_all(
    dir: &Path,
    plots: &Path,
    plan: &Plan,
    records: &[RunRecord],
    summaries: &[ConfigSummary],
) -> io::Result<()> {
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
    eval_loss(dir, plots, plan, records, &labels)?;
    survival(&plots.join("survival.svg"), plan, records, &labels)?;
    success(&plots.join("success.svg"), plan, summaries)?;
    grouped(dir, plots, plan, records)
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
                    (x as f64, quantile(&ys, 0.5))
                })
                .collect())
        })
        .collect()
}

/// `eval_loss.svg`: the held-out loss (median over seeds) against training sequences seen,
/// one line per configuration, the task's baseline dashed (one per distinct baseline) and
/// `[figures] paper_points` as black dots.
fn eval_loss(dir: &Path, plots: &Path, plan: &Plan, records: &[RunRecord], labels: &[String]) -> io::Result<()> {
    let series = (0..plan.configs.len())
        .map(|i| {
            let batch = plan.configs[i].spec.train.batch as f64;
            let mut at: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for r in records.iter().filter(|r| r.config == i) {
                let (header, rows) = read_csv(&runs_dir(dir).join(&r.id).join("metrics.csv"))?;
                let col = header.iter().position(|h| h == "eval_loss").unwrap_or(4);
                for row in rows.iter().filter(|row| row[col].is_finite() && row[col] > 0.0) {
                    at.entry(row[0] as u64).or_default().push(row[col]);
                }
            }
            Ok(at
                .into_iter()
                .map(|(step, mut ys)| {
                    ys.sort_by(f64::total_cmp);
                    (step as f64 * batch, quantile(&ys, 0.5))
                })
                .collect())
        })
        .collect::<io::Result<Vec<Vec<(f64, f64)>>>>()?;
    if series.iter().all(|s| s.is_empty()) {
        return Ok(());
    }
    let mut baselines: Vec<(f64, String)> = Vec::new();
    for c in &plan.configs {
        let b = c.spec.task.baseline_loss();
        if !baselines.iter().any(|(v, _)| (v - b).abs() <= 1e-12 * b) {
            baselines.push((b, format!("baseline {b:.5}")));
        }
    }
    let f = &plan.figures;
    let points: Vec<(f64, f64)> = f.paper_points.iter().map(|p| (p[0], p[1])).collect();
    let extra =
        Extras { hlines: baselines, points, points_label: f.paper_label.clone().unwrap_or_else(|| "paper".into()) };
    let title = "Held-out loss (median over seeds)";
    lines_with(&plots.join("eval_loss.svg"), title, "training sequences seen", "held-out loss", labels, &series, &extra)
}

/// `survival.svg`: per configuration, the fraction of runs not yet solved (first hit) against
/// training sequences seen, to the end of the budget (runs that never solve are censored there;
/// a diverged run counts as unsolved).
fn survival(path: &Path, plan: &Plan, records: &[RunRecord], labels: &[String]) -> io::Result<()> {
    let curves: Vec<Vec<(f64, f64)>> = (0..plan.configs.len())
        .map(|i| {
            let spec = &plan.configs[i].spec.train;
            let runs: Vec<&RunRecord> = records.iter().filter(|r| r.config == i).collect();
            let n = runs.len().max(1) as f64;
            let budget = (spec.batch * spec.steps) as f64;
            let mut hits: Vec<f64> = runs.iter().filter_map(|r| r.sequences_to_solve.map(|s| s as f64)).collect();
            hits.sort_by(f64::total_cmp);
            let mut pts = vec![(0.0, 1.0)];
            let mut left = 1.0;
            for h in hits {
                pts.push((h, left));
                left -= 1.0 / n;
                pts.push((h, left));
            }
            pts.push((budget, left));
            pts
        })
        .collect();
    let x_max = curves.iter().flatten().map(|p| p.0).fold(1.0, f64::max);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = chart_builder(&root, "Runs not yet solved (censored at the budget)")
        .build_cartesian_2d(0.0..x_max, 0.0..1.05)
        .map_err(plot_err)?;
    chart.configure_mesh().x_desc("training sequences seen").y_desc("fraction unsolved").draw().map_err(plot_err)?;
    for (i, (label, c)) in labels.iter().zip(&curves).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let offset = i as f64 * 0.004;
        chart
            .draw_series(LineSeries::new(c.iter().map(|&(x, y)| (x, y + offset)), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    legend(&mut chart)?;
    root.present().map_err(plot_err)
}

/// Horizontal reference lines and marked points drawn on top of a [`lines_with`] figure.
struct Extras {
    /// `(y, label)`: dashed horizontal lines.
    hlines: Vec<(f64, String)>,
    /// Points drawn as black dots.
    points: Vec<(f64, f64)>,
    /// Their legend.
    points_label: String,
}

/// A plotting error as an I/O error (the figures are files).
pub(super) fn plot_err<E: std::fmt::Display>(e: E) -> io::Error {
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
    let none = Extras { hlines: Vec::new(), points: Vec::new(), points_label: String::new() };
    lines_with(path, title, x_desc, y_desc, labels, series, &none)
}

/// [`lines`] with reference lines and points.
fn lines_with(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    labels: &[String],
    series: &[Vec<(f64, f64)>],
    extras: &Extras,
) -> io::Result<()> {
    let log = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
        v.iter().filter(|p| p.1 > 0.0 && p.1.is_finite()).map(|&(x, y)| (x, y.log10())).collect()
    };
    let series: Vec<Vec<(f64, f64)>> = series.iter().map(|s| log(s)).collect();
    let marks = log(&extras.points);
    let hlines: Vec<(f64, &str)> =
        extras.hlines.iter().filter(|h| h.0 > 0.0 && h.0.is_finite()).map(|h| (h.0.log10(), h.1.as_str())).collect();
    let points = series.iter().flatten().chain(&marks);
    let x_max = points.clone().map(|p| p.0).fold(1.0, f64::max);
    let ys = points.map(|p| p.1).chain(hlines.iter().map(|h| h.0));
    let y_min = ys.clone().fold(f64::INFINITY, f64::min);
    let y_max = ys.fold(f64::NEG_INFINITY, f64::max);
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
    for (y, label) in &hlines {
        let style = BLACK.mix(0.6).stroke_width(1);
        let dashes: Vec<PathElement<(f64, f64)>> = (0..40)
            .filter(|k| k % 2 == 0)
            .map(|k| PathElement::new(vec![(x_max * k as f64 / 40.0, *y), (x_max * (k + 1) as f64 / 40.0, *y)], style))
            .collect();
        chart
            .draw_series(dashes)
            .map_err(plot_err)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    if !marks.is_empty() {
        chart
            .draw_series(marks.iter().map(|&p| Circle::new(p, 5, BLACK.filled())))
            .map_err(plot_err)?
            .label(extras.points_label.as_str())
            .legend(|(x, y)| Circle::new((x + 10, y), 4, BLACK.filled()));
    }
    legend(&mut chart)?;
    root.present().map_err(plot_err)
}

/// A chart on `root` with the figures' common caption, margin and label areas.
pub(super) fn chart_builder<'a, 'b>(
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
