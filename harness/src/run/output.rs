//! The files of the output contract: per-run directories (written under a
//! temporary name and renamed when complete), `runs.jsonl`, and CSV helpers.

use super::train::Outcome;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A finished run: one line of `runs.jsonl` (and the run's `result.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Stable id, derived from the resolved configuration and the seed.
    pub id: String,
    /// Index of the configuration in the sweep.
    pub config: usize,
    /// The seed.
    pub seed: u64,
    /// Each swept dotted key and its value.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// `"ok"` or `"diverged"`.
    pub status: String,
    /// Step at which the run diverged.
    pub diverged_at: Option<usize>,
    /// Why: `"nonfinite"`, `"norm"` (gradient norm above `train.diverge_norm`) or `"loss"`.
    pub diverged_reason: Option<String>,
    /// Updates applied.
    pub updates: usize,
    /// Training sequences of those updates: `train.batch × updates` (the budget ledger).
    pub sequences_seen: usize,
    /// Held-out loss at the last evaluation (null if diverged before any).
    pub final_loss: Option<f64>,
    /// Held-out error rate at the last evaluation.
    pub final_error_rate: Option<f64>,
    /// The lowest held-out error rate of any evaluation.
    pub min_error_rate: Option<f64>,
    /// Spectral radius of `W_hh` at the last evaluation (vanilla RNN).
    pub final_spectral_radius: Option<f64>,
    /// Minibatch loss at the last step (null when not finite).
    pub final_train_loss: Option<f64>,
    /// Whether an evaluation met the success criterion (first hit).
    pub solved: bool,
    /// Whether the last evaluation met it (false if the run diverged).
    pub solved_end: bool,
    /// Updates made before the first successful evaluation.
    pub steps_to_solve: Option<usize>,
    /// Training sequences before it: `train.batch × steps_to_solve`.
    pub sequences_to_solve: Option<usize>,
    /// The largest pre-clip gradient norm (null if it became non-finite).
    pub max_grad_norm: Option<f64>,
    /// Fraction of the updates whose pre-clip norm exceeded `train.clip_threshold` (also
    /// without clipping: the updates clipping would have cut).
    pub clip_fraction: Option<f64>,
    /// Median over the updates of `lr·min(1, clip_threshold/‖g‖)` (norm clipping) or `lr`.
    pub median_effective_lr: Option<f64>,
    /// Wall-clock seconds the run took (the only field that varies between identical runs).
    pub wall_s: f64,
}

impl RunRecord {
    /// Whether the run diverged.
    pub fn diverged(&self) -> bool {
        self.status == "diverged"
    }
}

/// The record of a finished run.
pub fn record(
    id: &str,
    config: usize,
    seed: u64,
    params: serde_json::Map<String, serde_json::Value>,
    batch: usize,
    outcome: &Outcome,
    wall_s: f64,
) -> RunRecord {
    let finite = |v: f64| v.is_finite().then_some(v);
    RunRecord {
        id: id.to_string(),
        config,
        seed,
        params,
        status: if outcome.diverged_at.is_some() { "diverged" } else { "ok" }.into(),
        diverged_at: outcome.diverged_at,
        diverged_reason: outcome.divergence.map(|d| d.name().to_string()),
        updates: outcome.updates,
        sequences_seen: batch * outcome.updates,
        final_loss: outcome.final_eval.and_then(|e| finite(e.loss)),
        final_error_rate: outcome.final_eval.and_then(|e| finite(e.error_rate)),
        min_error_rate: outcome.min_error_rate,
        final_spectral_radius: outcome.final_eval.and_then(|e| e.spectral_radius).and_then(finite),
        final_train_loss: finite(outcome.final_train_loss),
        solved: outcome.steps_to_solve.is_some(),
        solved_end: outcome.solved_end,
        steps_to_solve: outcome.steps_to_solve,
        sequences_to_solve: outcome.steps_to_solve.map(|s| s * batch),
        max_grad_norm: finite(outcome.max_grad_norm),
        clip_fraction: outcome.clip_fraction,
        median_effective_lr: outcome.median_effective_lr,
        wall_s,
    }
}

/// An I/O error with the path it concerns.
pub fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A name for a temporary file in `dir`, unique across processes and calls.
pub fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".tmp-{name}-{}-{n}", std::process::id()))
}

/// Writes `path` atomically: a temporary file beside it, renamed over it.
pub fn write_atomic(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_path(dir, &path.file_name().unwrap_or_default().to_string_lossy());
    fs::write(&tmp, bytes).map_err(|e| named(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        named(path, e)
    })
}

/// `DIR/runs`.
pub fn runs_dir(dir: &Path) -> PathBuf {
    dir.join("runs")
}

/// `DIR/runs/<id>/result.json`, if that run is complete.
pub fn read_record(dir: &Path, id: &str) -> io::Result<Option<RunRecord>> {
    let path = runs_dir(dir).join(id).join("result.json");
    match fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).map(Some).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `DIR/runs/<id>/` (metrics.csv, grad_norms.csv, provenance.json, result.json)
/// under the temporary name `.tmp-<id>`, flushes it to disk, then renames it into
/// place: a run directory is complete or absent, also after a crash.
pub fn write_run(dir: &Path, rec: &RunRecord, outcome: &Outcome, provenance: &str) -> io::Result<()> {
    let runs = runs_dir(dir);
    let tmp = runs.join(format!(".tmp-{}", rec.id));
    let files = [
        ("metrics.csv", metrics_csv(outcome)),
        ("grad_norms.csv", grad_norms_csv(outcome)),
        ("provenance.json", provenance.to_string() + "\n"),
        ("result.json", serde_json::to_string_pretty(rec)? + "\n"),
    ];
    let write = || -> io::Result<()> {
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        for (name, text) in &files {
            let mut f = fs::File::create(tmp.join(name))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        fs::File::open(&tmp)?.sync_all()
    };
    write().map_err(|e| named(&tmp, e))?;
    let to = runs.join(&rec.id);
    fs::rename(&tmp, &to).map_err(|e| named(&to, e))?;
    // The rename itself: durable once the parent directory is.
    fs::File::open(&runs).and_then(|f| f.sync_all()).map_err(|e| named(&runs, e))
}

/// Removes every temporary run directory an interrupted sweep left.
pub fn remove_partial_runs(dir: &Path) -> io::Result<()> {
    let Ok(entries) = fs::read_dir(runs_dir(dir)) else { return Ok(()) };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            fs::remove_dir_all(entry.path()).map_err(|e| named(&entry.path(), e))?;
        }
    }
    Ok(())
}

/// Removes the temporary directory of run `id`, if an interrupted sweep left one.
pub fn remove_partial_run(dir: &Path, id: &str) -> io::Result<()> {
    let tmp = runs_dir(dir).join(format!(".tmp-{id}"));
    match fs::remove_dir_all(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(named(&tmp, e)),
        _ => Ok(()),
    }
}

/// The header of `metrics.csv`.
///
/// The evaluation columns (`eval_loss`, `error_rate`, `spectral_radius` of
/// `W_hh`, the last for the vanilla RNN only) are empty on rows without an evaluation.
pub const METRICS_HEADER: &str = "step,loss,grad_norm,clipped_grad_norm,eval_loss,error_rate,spectral_radius";

/// `METRICS_HEADER` plus the `omega` column, used when `train.omega_alpha` is set.
pub const METRICS_HEADER_OMEGA: &str =
    "step,loss,grad_norm,clipped_grad_norm,eval_loss,error_rate,spectral_radius,omega";

/// The last column of `metrics.csv` when a penalty or Ω is on: the norm of the task loss's
/// gradient alone (what arms that differ only in `train.*` share at step 0).
pub const TASK_GRAD_NORM_COLUMN: &str = "task_grad_norm";

fn metrics_csv(outcome: &Outcome) -> String {
    let with_omega = outcome.metrics.iter().any(|r| r.omega.is_some());
    let with_task = outcome.metrics.iter().any(|r| r.task_grad_norm.is_some());
    let mut s = (if with_omega { METRICS_HEADER_OMEGA } else { METRICS_HEADER }).to_string();
    if with_task {
        s.push(',');
        s.push_str(TASK_GRAD_NORM_COLUMN);
    }
    s.push('\n');
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in &outcome.metrics {
        let eval =
            r.eval.map_or(",,".to_string(), |e| format!("{},{},{}", e.loss, e.error_rate, opt(e.spectral_radius)));
        write!(s, "{},{},{},{},{eval}", r.step, r.loss, r.grad_norm, r.clipped_grad_norm).unwrap();
        if with_omega {
            write!(s, ",{}", opt(r.omega)).unwrap();
        }
        if with_task {
            write!(s, ",{}", opt(r.task_grad_norm)).unwrap();
        }
        s.push('\n');
    }
    s
}

fn grad_norms_csv(outcome: &Outcome) -> String {
    let mut s = String::from("step,lag,norm\n");
    for g in &outcome.grad_norms {
        for (lag, n) in g.by_lag.iter().enumerate() {
            writeln!(s, "{},{lag},{n}", g.step).unwrap();
        }
    }
    s
}

/// The numeric columns of a CSV file we wrote (empty fields as NaN), with its header.
pub fn read_csv(path: &Path) -> io::Result<(Vec<String>, Vec<Vec<f64>>)> {
    let text = fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().split(',').map(str::to_string).collect();
    let rows = lines.map(|l| l.split(',').map(|f| f.parse().unwrap_or(f64::NAN)).collect()).collect();
    Ok((header, rows))
}

/// A CSV field, quoted when it holds a comma, a quote or a newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// `runs.jsonl`: one compact JSON object per run, in plan order.
pub fn write_jsonl(path: &Path, records: &[RunRecord]) -> io::Result<()> {
    let mut s = String::new();
    for r in records {
        s.push_str(&serde_json::to_string(r)?);
        s.push('\n');
    }
    write_atomic(path, s)
}
