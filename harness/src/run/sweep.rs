//! Running a plan: stable run ids, per-run seeds, a rayon pool of workers,
//! skipping completed runs on `--resume`, and progress reporting.
//!
//! Each run is computed single-threaded from its own seed and written to its
//! own directory, and every aggregate is assembled in plan order afterwards,
//! so the output does not depend on the number of threads or on completion order.

use super::manifest::{self, Provenance, RunProvenance};
use super::output::{self, RunRecord};
use super::shard::Shard;
use super::train::{self, Streams};
use crate::spec::{Config, Plan};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::{self, IsTerminal};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Stack of each sweep worker thread: 16 MiB.
///
/// A run executes entirely on one worker, kernels included, and rayon's
/// workers otherwise get the default for spawned threads (2 MiB, or
/// `RUST_MIN_STACK`), a quarter of the main thread's usual 8 MiB. The
/// kernels built without optimisation come close to that default: when this
/// was written a run needed between 1.5 and 2 MiB of stack whatever the
/// hidden size (the optimised build under 64 KiB), and an unoptimised build
/// had been seen to overflow it (`thread '<unknown>' has overflowed its
/// stack`, also with `--threads 1`, which still runs on a worker). The harness
/// keeps no large arrays on the stack; the depth is the kernels' call chain.
/// 16 MiB leaves room for that to grow, needs no environment variable, and
/// is only reserved address space: pages a run does not touch cost no memory.
pub const WORKER_STACK_BYTES: usize = 16 << 20;

/// One run of the plan: a configuration and a seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Stable id: a hash of the resolved configuration and the seed.
    pub id: String,
    /// Index into [`Plan::configs`].
    pub config: usize,
    /// The seed.
    pub seed: u64,
}

/// 64-bit FNV-1a: a small hash whose value never changes across platforms or Rust versions.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The run id: 16 hex digits of the hash of the configuration's model, task,
/// train and log sections (serialized) and the seed. The experiment name,
/// description and seed list do not enter it.
pub fn run_id(config: &Config, seed: u64) -> String {
    let s = &config.spec;
    let canonical = serde_json::json!({"model": s.model, "task": s.task, "train": s.train, "log": s.log, "seed": seed});
    format!("{:016x}", fnv1a(canonical.to_string().as_bytes()))
}

/// The seeds of a run's three ChaCha generators: each is the FNV-1a hash of a JSON object
/// holding the stream's name, the seed and only the sections it depends on, so that runs pair
/// across configurations:
///
/// - `init` (initial weights): the seed, `model` and `task` (whose input and output sizes
///   shape the weights);
/// - `data` (training minibatches): the seed, `task` and `train.batch`;
/// - `eval` (the held-out set): the seed and `task`.
///
/// Configurations that differ only in other `train.*` keys (optimizer, lr, clipping, Ω,
/// penalties, steps, evaluation) start from the same weights and see the same minibatches
/// (and held-out sequences) for each seed.
pub fn streams(config: &Config, seed: u64) -> Streams {
    let s = &config.spec;
    let hash = |v: serde_json::Value| fnv1a(v.to_string().as_bytes());
    Streams {
        init: hash(serde_json::json!({"stream": "init", "seed": seed, "model": s.model, "task": s.task})),
        data: hash(serde_json::json!({"stream": "data", "seed": seed, "task": s.task, "batch": s.train.batch})),
        eval: hash(serde_json::json!({"stream": "eval", "seed": seed, "task": s.task})),
    }
}

/// Every run of the plan: configurations in sweep order, seeds in spec order within each.
pub fn runs(plan: &Plan) -> Vec<Run> {
    plan.configs
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.spec.experiment.seeds.values().into_iter().map(move |seed| Run { id: run_id(c, seed), config: i, seed })
        })
        .collect()
}

/// How runs are executed.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// Worker threads.
    pub threads: usize,
    /// Only this shard's runs (`--shard I/N`).
    pub shard: Option<Shard>,
    /// The process's provenance, written with each run.
    pub provenance: &'a Provenance,
}

/// What [`execute`] did.
#[derive(Debug)]
pub struct Executed {
    /// The records of the runs it was to run (all, or the shard's), complete ones only, in plan order.
    pub records: Vec<RunRecord>,
    /// The runs that failed (a panic, not a divergence): id and message. They left no result.
    pub failed: Vec<(String, String)>,
}

/// Test hook: a run whose id is the value of this variable panics (a run failing for a
/// reason other than divergence), to test the exit status and `--resume`.
pub const FAULT_PANIC_RUN: &str = "HARNESS_FAULT_PANIC_RUN";

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Runs every run of `plan` (or of `opts.shard`) not yet complete under `dir`: the
/// complete ones are kept (a fresh directory has none). A run that panics is reported in
/// [`Executed::failed`] and the others go on; an I/O error stops the sweep.
///
/// The caller holds the directory's lock (`run::outdir`): a whole sweep removes every
/// partial run directory an interrupted one left, a shard only its own runs'.
pub fn execute(plan: &Plan, dir: &Path, opts: Options) -> io::Result<Executed> {
    let all: Vec<Run> = runs(plan)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| opts.shard.is_none_or(|s| s.selects(*i)))
        .map(|(_, r)| r)
        .collect();
    let runs_dir = output::runs_dir(dir);
    std::fs::create_dir_all(&runs_dir).map_err(|e| output::named(&runs_dir, e))?;
    match opts.shard {
        None => output::remove_partial_runs(dir)?,
        Some(_) => all.iter().try_for_each(|r| output::remove_partial_run(dir, &r.id))?,
    }
    let mut pending = Vec::new();
    for run in &all {
        if output::read_record(dir, &run.id)?.is_none() {
            pending.push(run);
        }
    }
    let progress = Progress::new(pending.len() as u64, all.len() - pending.len());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .stack_size(WORKER_STACK_BYTES)
        .build()
        .map_err(io::Error::other)?;
    let fault = std::env::var(FAULT_PANIC_RUN).ok();
    let failed = std::sync::Mutex::new(Vec::new());
    pool.install(|| {
        pending.par_iter().try_for_each(|run| {
            let config = &plan.configs[run.config];
            let start_time = manifest::now_rfc3339();
            let start = Instant::now();
            let trained = std::panic::catch_unwind(AssertUnwindSafe(|| {
                if fault.as_deref() == Some(run.id.as_str()) {
                    panic!("{FAULT_PANIC_RUN} names this run");
                }
                train::train(&config.spec, streams(config, run.seed))
            }));
            let outcome = match trained {
                Ok(outcome) => outcome,
                Err(payload) => {
                    let message = panic_message(payload.as_ref());
                    progress.failed(&run.id, run.seed, &config.label(), &message);
                    failed.lock().expect("no panic while held").push((run.id.clone(), message));
                    return Ok(());
                }
            };
            let wall_s = start.elapsed().as_secs_f64();
            let params = config.params.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect();
            let batch = config.spec.train.batch;
            let rec = output::record(&run.id, run.config, run.seed, params, batch, &outcome, wall_s);
            let prov = RunProvenance {
                id: &run.id,
                seed: run.seed,
                config: &config.spec,
                profile: plan.profile.as_deref(),
                provenance: opts.provenance,
                start_time,
                end_time: manifest::now_rfc3339(),
                wall_s,
            };
            output::write_run(dir, &rec, &outcome, &serde_json::to_string_pretty(&prov)?)?;
            progress.finished(&rec, &config.label());
            Ok::<_, io::Error>(())
        })
    })?;
    progress.done();
    let mut failed = failed.into_inner().expect("no panic while held");
    // In plan order, as the records.
    failed.sort_by_key(|(id, _)| all.iter().position(|r| &r.id == id));
    let mut records = Vec::new();
    for run in &all {
        if let Some(rec) = output::read_record(dir, &run.id)? {
            records.push(rec);
        } else if !failed.iter().any(|(id, _)| *id == run.id) {
            return Err(io::Error::other(format!("run {} left no result", run.id)));
        }
    }
    Ok(Executed { records, failed })
}

/// A TOML value as JSON (datetimes as strings).
pub fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => s.clone().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect(),
    }
}

/// A progress bar with ETA on a terminal, plain lines otherwise (both on stderr).
enum Progress {
    Bar(ProgressBar),
    Lines { total: usize, done: AtomicUsize },
}

impl Progress {
    fn new(pending: u64, skipped: usize) -> Self {
        if skipped > 0 {
            eprintln!("resuming: {skipped} runs already complete, {pending} to go");
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(pending);
            let style =
                ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed_precise} elapsed, ETA {eta}  {msg}")
                    .expect("valid template");
            bar.set_style(style);
            Progress::Bar(bar)
        } else {
            Progress::Lines { total: pending as usize, done: AtomicUsize::new(0) }
        }
    }

    fn finished(&self, rec: &RunRecord, label: &str) {
        let what = format!(
            "{} seed {} ({label}): {}{}",
            rec.id,
            rec.seed,
            rec.status,
            if rec.solved { ", solved" } else { "" }
        );
        match self {
            Progress::Bar(bar) => {
                bar.set_message(what);
                bar.inc(1);
            }
            Progress::Lines { total, done } => {
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                eprintln!("[{n}/{total}] {what} in {:.1} s", rec.wall_s);
            }
        }
    }

    fn failed(&self, id: &str, seed: u64, label: &str, message: &str) {
        let what = format!("{id} seed {seed} ({label}): FAILED: {message}");
        match self {
            Progress::Bar(bar) => bar.println(what),
            Progress::Lines { .. } => eprintln!("{what}"),
        }
    }

    fn done(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
