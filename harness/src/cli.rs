//! The top floor, the command line: parse arguments, load the spec, prepare
//! the output directory, run the sweep, write the aggregates, check the
//! claims. Imports every floor below; nothing imports it.
//!
//! Exit codes: 0 success (diverged runs included), 1 an I/O failure while
//! running, 2 a bad spec or command line (nothing is written), 3 the sweep
//! finished but a `[[expect]]` claim failed.

use crate::report::{claims, plot, summary};
use crate::run::manifest::{self, Manifest};
use crate::run::{output, sweep};
use crate::spec::{self, EvaluateSpec, Plan};
use crate::{report, run};
use clap::Parser;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs a TOML experiment spec as a sweep of seeded RNN training runs.
#[derive(Debug, Parser)]
#[command(version, about)]
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
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let profile = if args.quick { Some("quick".to_string()) } else { args.profile.clone() };
    let plan = match spec::load(&args.spec, profile.as_deref(), &args.sets) {
        Ok(plan) => plan,
        Err(e) => return fail(2, &e.to_string()),
    };
    let dir = args.out.clone().unwrap_or_else(|| Path::new("runs").join(plan.name()));
    if dir.exists() {
        if !args.resume {
            return fail(2, &format!("{} exists; pass --resume to finish it, or choose another --out", dir.display()));
        }
        match fs::read_to_string(dir.join("spec.toml")) {
            Ok(old) if old == plan.resolved => {}
            Ok(_) => return fail(2, &format!("{}/spec.toml differs from this spec; cannot resume", dir.display())),
            Err(e) => return fail(2, &format!("cannot resume {}: no readable spec.toml ({e})", dir.display())),
        }
    }
    let threads =
        args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |n| n as usize);
    match run_plan(&plan, &dir, threads, args.resume) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: a claim failed (see {}/expectations.json)", dir.display());
            ExitCode::from(3)
        }
        Err(e) => fail(1, &format!("{}: {e}", dir.display())),
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// Runs the plan into `dir`, writes every aggregate file and checks the
/// claims; false when a claim failed.
fn run_plan(plan: &Plan, dir: &Path, threads: usize, resume: bool) -> io::Result<bool> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("spec.toml"), &plan.resolved)?;
    let mut manifest = Manifest::start(threads, plan.profile.clone());
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
        return claims::report(dir, profile, &checked);
    }
    let records = sweep::execute(plan, dir, sweep::Options { threads, resume })?;
    output::write_jsonl(&dir.join("runs.jsonl"), &records)?;
    let summaries = summary::summarize(plan, &records);
    fs::write(dir.join("summary.csv"), summary::csv(plan, &summaries))?;
    plot::write_all(dir, plan, &records, &summaries)?;
    manifest.end_time = Some(manifest::now_rfc3339());
    write_json(&dir.join("manifest.json"), &manifest)?;
    print!("{}", summary::table(plan, &summaries));
    println!("results in {}", dir.display());
    let data = claims::SweepData { dir, configs: &plan.configs, summaries: &summaries, records: &records };
    let checked = claims::check_sweep(&plan.expects, profile, &data)?;
    claims::report(dir, profile, &checked)
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    fs::write(path, serde_json::to_string_pretty(value)? + "\n")
}
