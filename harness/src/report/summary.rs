//! Per-configuration statistics: success rate with its 95% Wilson interval,
//! median steps to solve, final-loss quantiles; as CSV and as a table.

use super::stats::{quantile, wilson};
use crate::run::output::{RunRecord, csv_field};
use crate::spec::{Plan, value_text};
use std::fmt::Write as _;

/// The statistics of one configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigSummary {
    /// `key=value` label of the configuration.
    pub label: String,
    /// Its swept values, as text, in sweep order.
    pub values: Vec<String>,
    /// Runs (seeds).
    pub runs: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Runs that met the success criterion at some evaluation (first hit).
    pub solved: usize,
    /// Runs whose last evaluation met it.
    pub solved_end: usize,
    /// `solved / runs`.
    pub success_rate: f64,
    /// 95% Wilson score interval of the success rate.
    pub wilson: (f64, f64),
    /// Median steps to solve over the solved runs.
    pub median_steps_to_solve: Option<f64>,
    /// Median training sequences to solve over the solved runs.
    pub median_sequences_to_solve: Option<f64>,
    /// Min, 25%, median, 75%, max of the final held-out loss over runs that did not diverge.
    pub final_loss: Option<[f64; 5]>,
}

/// One summary per configuration of `plan`, from the records (any order).
pub fn summarize(plan: &Plan, records: &[RunRecord]) -> Vec<ConfigSummary> {
    plan.configs
        .iter()
        .enumerate()
        .map(|(i, config)| {
            let recs: Vec<&RunRecord> = records.iter().filter(|r| r.config == i).collect();
            let solved = recs.iter().filter(|r| r.solved).count();
            let mut steps: Vec<f64> = recs.iter().filter_map(|r| r.steps_to_solve.map(|s| s as f64)).collect();
            steps.sort_by(f64::total_cmp);
            let mut seqs: Vec<f64> = recs.iter().filter_map(|r| r.sequences_to_solve.map(|s| s as f64)).collect();
            seqs.sort_by(f64::total_cmp);
            let mut losses: Vec<f64> = recs.iter().filter(|r| !r.diverged()).filter_map(|r| r.final_loss).collect();
            losses.sort_by(f64::total_cmp);
            ConfigSummary {
                label: config.label(),
                values: config.params.iter().map(|(_, v)| value_text(v)).collect(),
                runs: recs.len(),
                diverged: recs.iter().filter(|r| r.diverged()).count(),
                solved,
                solved_end: recs.iter().filter(|r| r.solved_end).count(),
                success_rate: if recs.is_empty() { 0.0 } else { solved as f64 / recs.len() as f64 },
                wilson: wilson(solved, recs.len()),
                median_steps_to_solve: (!steps.is_empty()).then(|| quantile(&steps, 0.5)),
                median_sequences_to_solve: (!seqs.is_empty()).then(|| quantile(&seqs, 0.5)),
                final_loss: (!losses.is_empty()).then(|| [0.0, 0.25, 0.5, 0.75, 1.0].map(|q| quantile(&losses, q))),
            }
        })
        .collect()
}

const COLUMNS: [&str; 15] = [
    "runs",
    "diverged",
    "solved",
    "success_rate",
    "success_low",
    "success_high",
    "median_steps_to_solve",
    "final_loss_min",
    "final_loss_q25",
    "final_loss_median",
    "final_loss_q75",
    "final_loss_max",
    "solved_end",
    "median_sequences_to_solve",
    "config",
];

/// The statistic columns of a summary, as text (empty when undefined).
fn cells(s: &ConfigSummary) -> Vec<String> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    let mut c = vec![
        s.runs.to_string(),
        s.diverged.to_string(),
        s.solved.to_string(),
        format!("{:.4}", s.success_rate),
        format!("{:.4}", s.wilson.0),
        format!("{:.4}", s.wilson.1),
        opt(s.median_steps_to_solve),
    ];
    c.extend((0..5).map(|i| opt(s.final_loss.map(|q| q[i]))));
    c.push(s.solved_end.to_string());
    c.push(opt(s.median_sequences_to_solve));
    c
}

/// `summary.csv`: the swept keys, then the statistics, then the label.
pub fn csv(plan: &Plan, summaries: &[ConfigSummary]) -> String {
    let mut header: Vec<String> = plan.sweep.iter().map(|(k, _)| csv_field(k)).collect();
    header.extend(COLUMNS.iter().map(|c| c.to_string()));
    let mut out = header.join(",") + "\n";
    for s in summaries {
        let mut row: Vec<String> = s.values.iter().map(|v| csv_field(v)).collect();
        row.extend(cells(s));
        row.push(csv_field(&s.label));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The summary as an aligned text table for the terminal.
pub fn table(plan: &Plan, summaries: &[ConfigSummary]) -> String {
    let mut header: Vec<String> = plan.sweep.iter().map(|(k, _)| k.clone()).collect();
    header.extend(
        ["runs", "diverged", "solved", "at end", "success (95% CI)", "median steps", "final loss median [min, max]"]
            .map(String::from),
    );
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            let mut r = s.values.clone();
            r.push(s.runs.to_string());
            r.push(s.diverged.to_string());
            r.push(s.solved.to_string());
            r.push(s.solved_end.to_string());
            r.push(format!("{:.2} [{:.2}, {:.2}]", s.success_rate, s.wilson.0, s.wilson.1));
            r.push(s.median_steps_to_solve.map_or("-".into(), |v| format!("{v}")));
            r.push(s.final_loss.map_or("-".into(), |q| format!("{:.4} [{:.4}, {:.4}]", q[2], q[0], q[4])));
            r
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].len()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end()).unwrap();
    }
    out
}
