//! The top floor, the command line: parse arguments, load the spec, prepare
//! the output directory, run the sweep, write the aggregates, check the
//! claims. Imports every floor below; nothing imports it.
//!
//! Forms: `harness SPEC [options]` (also `harness run SPEC [options]`) runs a
//! spec, whole or one shard; `harness plan SPEC [options]` lists its runs;
//! `harness merge OUT DIR...` joins shards. A first argument `plan`, `run` or
//! `merge` is the subcommand, so a spec file of that name is written `./plan`.
//!
//! Exit codes: 0 success (diverged runs included), 1 an I/O failure (the path
//! named), 2 refused before any work (a bad spec, command line, shard or Slurm
//! variable; an output directory that exists, holds another spec or is in use),
//! 3 the sweep finished but a `[[expect]]` claim failed, 4 incomplete (a run
//! failed other than by diverging, or `merge` found runs missing).

use crate::report::{claims, plot, summary};
use crate::run::manifest::{self, Manifest, Provenance};
use crate::run::outdir::{self, Refusal, Source};
use crate::run::output::{self, RunRecord, write_atomic};
use crate::run::shard::{self, Shard};
use crate::run::{merge, sweep};
use crate::spec::{self, EvaluateSpec, Plan};
use crate::{report, run};
use clap::Parser;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs a TOML experiment spec as a sweep of seeded RNN training runs.
#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about,
    after_help = "Other forms:\n  harness plan SPEC [--profile NAME | --quick] [--set KEY=VALUE]...   list the runs (count, ids)\n  harness run SPEC [options]                                           the same as `harness SPEC [options]`"
)]
pub struct Args {
    /// The experiment spec (TOML).
    pub spec: PathBuf,
    /// Output directory (default `runs/<experiment.name>`); must not exist unless --resume.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results are identical for every value.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Override a spec key, e.g. `--set model.hidden=32` (TOML value syntax; bare words are strings).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Apply the spec's `[profile.NAME]` overrides (e.g. `quick`, `paper`).
    #[arg(long, value_name = "NAME", conflicts_with = "quick")]
    pub profile: Option<String>,
    /// The same as `--profile quick` (a reduced version for CI and a first look).
    #[arg(long)]
    pub quick: bool,
    /// Finish an interrupted sweep in --out, skipping the runs that are complete.
    #[arg(long)]
    pub resume: bool,
    /// Run only the runs whose plan index is I mod N (default: from a Slurm job array's
    /// SLURM_ARRAY_TASK_* variables when set). Shards may share --out; `harness merge` joins them.
    #[arg(long, value_name = "I/N", conflicts_with = "no_shard")]
    pub shard: Option<String>,
    /// Run every run even inside a Slurm job array (ignore SLURM_ARRAY_TASK_*).
    #[arg(long)]
    pub no_shard: bool,
}

/// `harness plan SPEC`: the runs of a spec, in plan order.
#[derive(Debug, Parser)]
#[command(name = "harness plan", version)]
pub struct PlanArgs {
    /// The experiment spec (TOML).
    pub spec: PathBuf,
    /// Override a spec key, as for a run.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Apply the spec's `[profile.NAME]` overrides.
    #[arg(long, value_name = "NAME", conflicts_with = "quick")]
    pub profile: Option<String>,
    /// The same as `--profile quick`.
    #[arg(long)]
    pub quick: bool,
    /// Print only the number of runs.
    #[arg(long)]
    pub count: bool,
}

/// The binary's entry point: dispatches on a first argument `plan` or `run`.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let sub = args.get(1).and_then(|a| a.to_str()).map(str::to_string);
    // The subcommand's own parser sees `harness SUB` as its program name.
    let rest = |name: &str| std::iter::once(OsString::from(name)).chain(args[2..].iter().cloned()).collect::<Vec<_>>();
    match sub.as_deref() {
        Some("plan") => plan_main(PlanArgs::parse_from(rest("harness plan"))),
        Some("run") => run_main(Args::parse_from(rest("harness run"))),
        Some("merge") => merge_main(MergeArgs::parse_from(rest("harness merge"))),
        _ => run_main(Args::parse_from(args)),
    }
}

/// `harness plan`: the number of runs, then one line per run (plan index, id, seed,
/// configuration label), tab-separated.
fn plan_main(args: PlanArgs) -> ExitCode {
    let profile = if args.quick { Some("quick".to_string()) } else { args.profile.clone() };
    let plan = match load(&args.spec, profile.as_deref(), &args.sets) {
        Ok((plan, _)) => plan,
        Err(code) => return code,
    };
    let runs = sweep::runs(&plan);
    let text = if args.count {
        format!("{}\n", runs.len())
    } else if plan.evaluate.is_some() {
        "0 runs (an evaluate-only spec: no training runs; it runs as one job, unsharded)\n".to_string()
    } else {
        let mut text = format!("{} runs\n", runs.len());
        for (i, run) in runs.iter().enumerate() {
            text.push_str(&format!("{i}\t{}\tseed {}\t{}\n", run.id, run.seed, plan.configs[run.config].label()));
        }
        text
    };
    // A reader that stops early (`harness plan SPEC | head -1`) is no error.
    match io::Write::write_all(&mut io::stdout().lock(), text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => fail(1, &format!("stdout: {e}")),
        _ => ExitCode::SUCCESS,
    }
}

/// `harness merge OUT DIR...`: the runs of a sharded sweep's directories, gathered.
#[derive(Debug, Parser)]
#[command(name = "harness merge", version)]
pub struct MergeArgs {
    /// The merged output directory: created, or one of the inputs (a directory the shards
    /// shared), or an earlier merge of the same spec.
    pub out: PathBuf,
    /// The shards' output directories.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
}

/// An exit code and its message.
fn refused(r: Refusal) -> ExitCode {
    match r {
        Refusal::Usage(m) => fail(2, &m),
        Refusal::Io(m) => fail(1, &m),
    }
}

/// Reads the spec file (exit code 2 when unreadable) and loads it.
fn load(path: &Path, profile: Option<&str>, sets: &[String]) -> Result<(Plan, Source), ExitCode> {
    let text = fs::read_to_string(path)
        .map_err(|e| fail(2, &format!("{}: cannot read the spec file: {e}", path.display())))?;
    let plan =
        spec::load_str(&path.display().to_string(), &text, profile, sets).map_err(|e| fail(2, &e.to_string()))?;
    Ok((plan, Source { text, profile: profile.map(str::to_string), sets: sets.to_vec() }))
}

/// `harness SPEC`: runs the spec, whole or one shard.
fn run_main(args: Args) -> ExitCode {
    let profile = if args.quick { Some("quick".to_string()) } else { args.profile.clone() };
    let (plan, source) = match load(&args.spec, profile.as_deref(), &args.sets) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let env = |name: &str| std::env::var(name).ok();
    let shard = match (&args.shard, args.no_shard) {
        (Some(s), _) => shard::parse(s).map(Some),
        (None, true) => Ok(None),
        (None, false) => shard::from_slurm(env),
    };
    let shard = match shard {
        Ok(s) => s,
        Err(e) => return fail(2, &e),
    };
    let threads = match args.threads {
        Some(n) => n as usize,
        None => match shard::slurm_threads(env) {
            Ok(Some(n)) => n,
            Ok(None) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            Err(e) => return fail(2, &e),
        },
    };
    if let (Some(s), Some(_)) = (shard, &plan.evaluate) {
        return fail(
            2,
            &format!(
                "shard {s}: an evaluate-only spec has no runs to shard; run it as one job (--no-shard in an array)"
            ),
        );
    }
    let dir = args.out.clone().unwrap_or_else(|| Path::new("runs").join(plan.name()));
    let provenance = Provenance::current(threads, shard.map(|s| s.to_string()));
    let Some(shard) = shard else {
        let _held = match outdir::open_whole(&dir, &plan.resolved, &source, args.resume) {
            Ok(held) => held,
            Err(r) => return refused(r),
        };
        return run_plan(&plan, &dir, provenance).unwrap_or_else(|e| io_fail(&dir, &e));
    };
    let _held = match outdir::open_shard(&dir, &plan.resolved, &source, shard) {
        Ok(held) => held,
        Err(r) => return refused(r),
    };
    run_shard(&plan, &dir, shard, provenance).unwrap_or_else(|e| io_fail(&dir, &e))
}

/// Exit code 1 for an I/O error, naming the output directory unless the error names a path in it.
fn io_fail(dir: &Path, e: &io::Error) -> ExitCode {
    let text = e.to_string();
    if text.contains(&dir.display().to_string()) {
        fail(1, &text)
    } else {
        fail(1, &format!("{}: {text}", dir.display()))
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// Exit code 4 after runs failed: names them.
fn runs_failed(failed: &[(String, String)]) -> ExitCode {
    for (id, message) in failed {
        eprintln!("error: run {id} failed: {message}");
    }
    fail(
        4,
        &format!(
            "{} run(s) failed (not a divergence); the finished runs are kept: fix the cause and rerun with --resume",
            failed.len()
        ),
    )
}

/// Runs the whole plan into `dir` (held), writes every aggregate file and checks the claims.
fn run_plan(plan: &Plan, dir: &Path, provenance: Provenance) -> io::Result<ExitCode> {
    let mut manifest = Manifest::start(provenance, plan.profile.clone(), "sweep");
    write_json(&dir.join("manifest.json"), &manifest)?;
    let profile = plan.profile.as_deref();
    if let Some(eval) = &plan.evaluate {
        let checked = match &eval.evaluate {
            EvaluateSpec::OneUnitCliff(c) => {
                let results = run::cliff::compute(c);
                run::cliff::write(dir, &results)?;
                report::cliff::write_figures(dir, c, &results)?;
                report::cliff::check(c, &results, &plan.expects, profile)
            }
            EvaluateSpec::OneUnitDescent(d) => {
                let results = run::cliff::compute_descent(d);
                run::cliff::write_descent(dir, d, &results)?;
                report::cliff::write_descent_figure(dir, &results)?;
                report::cliff::check_descent(d, &results, &plan.expects, profile)
            }
        };
        manifest.end_time = Some(manifest::now_rfc3339());
        write_json(&dir.join("manifest.json"), &manifest)?;
        println!("results in {}", dir.display());
        return Ok(claims_code(dir, claims::report(dir, profile, &checked)?));
    }
    let threads = manifest.provenance.threads;
    let opts = sweep::Options { threads, shard: None, provenance: &manifest.provenance };
    let executed = sweep::execute(plan, dir, opts)?;
    if !executed.failed.is_empty() {
        return Ok(runs_failed(&executed.failed));
    }
    aggregate(plan, dir, &executed.records, manifest)
}

/// Runs one shard of the plan into `dir` (held): its runs and `shards/I-of-N.json`, no aggregates.
fn run_shard(plan: &Plan, dir: &Path, shard: Shard, provenance: Provenance) -> io::Result<ExitCode> {
    let mut manifest = Manifest::start(provenance, plan.profile.clone(), "shard");
    let path = outdir::shards_dir(dir).join(format!("{}.json", shard.file_stem()));
    write_json(&path, &manifest)?;
    let opts =
        sweep::Options { threads: manifest.provenance.threads, shard: Some(shard), provenance: &manifest.provenance };
    let executed = sweep::execute(plan, dir, opts)?;
    if !executed.failed.is_empty() {
        return Ok(runs_failed(&executed.failed));
    }
    manifest.end_time = Some(manifest::now_rfc3339());
    write_json(&path, &manifest)?;
    let n = executed.records.len();
    println!(
        "shard {shard}: {n} run{} complete in {}; when every shard is done: harness merge OUT {}",
        if n == 1 { "" } else { "s" },
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `runs.jsonl`, `summary.csv`, the plots, the manifest's end and the claims, from the
/// records of every run of `plan` (in plan order) complete under `dir`.
fn aggregate(plan: &Plan, dir: &Path, records: &[RunRecord], mut manifest: Manifest) -> io::Result<ExitCode> {
    output::write_jsonl(&dir.join("runs.jsonl"), records)?;
    let summaries = summary::summarize(plan, records);
    write_atomic(&dir.join("summary.csv"), summary::csv(plan, &summaries))?;
    plot::write_all(dir, plan, records, &summaries)?;
    manifest.end_time = Some(manifest::now_rfc3339());
    write_json(&dir.join("manifest.json"), &manifest)?;
    print!("{}", summary::table(plan, &summaries));
    println!("results in {}", dir.display());
    let data = claims::SweepData { dir, configs: &plan.configs, summaries: &summaries, records };
    let checked = claims::check_sweep(&plan.expects, plan.profile.as_deref(), &data)?;
    Ok(claims_code(dir, claims::report(dir, plan.profile.as_deref(), &checked)?))
}

/// Exit code 0, or 3 when a gating claim failed.
fn claims_code(dir: &Path, held: bool) -> ExitCode {
    if held {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: a claim failed (see {}/expectations.json)", dir.display());
        ExitCode::from(3)
    }
}

/// `harness merge`.
fn merge_main(args: MergeArgs) -> ExitCode {
    let (resolved, source) = match merge::read_inputs(&args.dirs) {
        Ok(x) => x,
        Err(r) => return refused(r),
    };
    let file = args.dirs[0].join("source.toml").display().to_string();
    let plan = match spec::load_str(&file, &source.text, source.profile.as_deref(), &source.sets) {
        Ok(plan) => plan,
        Err(e) => return fail(2, &format!("the inputs' spec no longer loads: {e}")),
    };
    if plan.resolved != resolved {
        return fail(
            2,
            &format!("{file} no longer resolves to its spec.toml (another harness version?); cannot merge"),
        );
    }
    if plan.evaluate.is_some() {
        return fail(2, "an evaluate-only spec has no runs to merge");
    }
    let runs = sweep::runs(&plan);
    let (found, missing) = match merge::locate(&runs, &args.dirs) {
        Ok(x) => x,
        Err(e) => return fail(1, &format!("reading the input directories: {e}")),
    };
    if !missing.is_empty() {
        for run in &missing {
            let i = runs.iter().position(|r| r.id == run.id).unwrap_or(0);
            eprintln!(
                "error: missing run {} (plan index {i}, seed {}, {})",
                run.id,
                run.seed,
                plan.configs[run.config].label()
            );
        }
        return fail(
            4,
            &format!(
                "{} of {} runs are missing from {}: rerun their shards (a sharded run resumes), then merge again",
                missing.len(),
                runs.len(),
                args.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" ")
            ),
        );
    }
    let _held = match outdir::open_whole(&args.out, &resolved, &source, true) {
        Ok(held) => held,
        Err(r) => return refused(r),
    };
    let provenance = Provenance::current(1, None);
    let mut manifest = Manifest::start(provenance, plan.profile.clone(), "merge");
    manifest.merged_from = args.dirs.iter().map(|d| d.display().to_string()).collect();
    let merged = (|| -> io::Result<ExitCode> {
        for (run, from) in &found {
            merge::copy_run(from, &args.out, &run.id)?;
        }
        let records = runs
            .iter()
            .map(|r| {
                output::read_record(&args.out, &r.id)?
                    .ok_or_else(|| io::Error::other(format!("run {} was not copied", r.id)))
            })
            .collect::<io::Result<Vec<_>>>()?;
        aggregate(&plan, &args.out, &records, manifest)
    })();
    merged.unwrap_or_else(|e| io_fail(&args.out, &e))
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    write_atomic(path, serde_json::to_string_pretty(value)? + "\n")
}
