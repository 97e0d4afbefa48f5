//! Provenance: `DIR/manifest.json` (the sweep's, or a merge's), `DIR/shards/I-of-N.json`
//! (a shard's) and `DIR/runs/<id>/provenance.json` (a run's). These files, and the
//! `wall_s` of the run records, are the only outputs that differ between two runs of
//! one spec; every other file is byte-identical (threads, shards, resumed or not).
//!
//! The git commit and its dirty flag are read **at build time** (`build.rs`: `git
//! rev-parse HEAD`, `git status --porcelain --untracked-files=no`), so they describe
//! the source the binary was built from; the build script reruns when git's HEAD
//! moves or a source file of the harness or the kernels changes. The crate versions
//! are the harness's, the kernels' and those of `Cargo.lock` for the dependencies
//! that shape results.

use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// What is the same for every run of one process: the build, the machine, the job.
#[derive(Clone, Debug, Serialize)]
pub struct Provenance {
    /// Package name.
    pub package: &'static str,
    /// Package version.
    pub version: &'static str,
    /// The commit the binary was built from (`git rev-parse HEAD` at build time), when known.
    pub git_commit: Option<&'static str>,
    /// Whether tracked files differed from that commit when the binary was built.
    pub git_dirty: Option<bool>,
    /// Where the git fields come from: always `"build"` (read by `build.rs`).
    pub git_source: &'static str,
    /// `name version` of the harness, the kernels and the dependencies that shape results.
    pub crates: Vec<String>,
    /// The compiler that built the binary.
    pub rustc: &'static str,
    /// The host name.
    pub host: Option<String>,
    /// CPU model name.
    pub cpu: Option<String>,
    /// The kernels' SIMD level on this CPU (`kernels::simd::Level::best()`).
    pub simd: &'static str,
    /// Worker threads.
    pub threads: usize,
    /// `I/N` for a shard of a sharded sweep.
    pub shard: Option<String>,
    /// The Slurm job's ids, when run under Slurm (`SLURM_JOB_ID`, `SLURM_ARRAY_JOB_ID`,
    /// `SLURM_ARRAY_TASK_ID`, `SLURMD_NODENAME`).
    pub slurm: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Provenance {
    /// This process's provenance.
    pub fn current(threads: usize, shard: Option<String>) -> Self {
        let git_commit = option_env!("HARNESS_GIT_COMMIT").filter(|s| !s.is_empty());
        let git_dirty = option_env!("HARNESS_GIT_DIRTY").and_then(|s| s.parse().ok());
        let slurm: serde_json::Map<String, serde_json::Value> =
            ["SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURMD_NODENAME"]
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v.into())))
                .collect();
        Provenance {
            package: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            git_commit,
            git_dirty,
            git_source: "build",
            crates: env!("HARNESS_CRATE_VERSIONS").split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
            rustc: env!("HARNESS_RUSTC_VERSION"),
            host: host_name(),
            cpu: cpu_model(),
            simd: kernels::simd::Level::best().name(),
            threads,
            shard,
            slurm: (!slurm.is_empty()).then_some(slurm),
        }
    }
}

/// The provenance of an output directory (`manifest.json`) or of a shard (`shards/I-of-N.json`).
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// The build, the machine, the job.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// The profile the spec was run under (null: the full spec).
    pub profile: Option<String>,
    /// What the process did: `sweep`, `shard` or `merge`.
    pub kind: &'static str,
    /// A merge's input directories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// UTC start time, RFC 3339.
    pub start_time: String,
    /// UTC end time, RFC 3339 (null while running: a directory whose manifest has no
    /// end time is not finished).
    pub end_time: Option<String>,
}

impl Manifest {
    /// The manifest of a process starting now.
    pub fn start(provenance: Provenance, profile: Option<String>, kind: &'static str) -> Self {
        Manifest { provenance, profile, kind, merged_from: Vec::new(), start_time: now_rfc3339(), end_time: None }
    }
}

/// `DIR/runs/<id>/provenance.json`: how one run was produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunProvenance<'a> {
    /// The run id.
    pub id: &'a str,
    /// The seed.
    pub seed: u64,
    /// The resolved configuration the run trained.
    pub config: &'a crate::spec::Spec,
    /// The profile of the sweep.
    pub profile: Option<&'a str>,
    /// The build, the machine, the job.
    #[serde(flatten)]
    pub provenance: &'a Provenance,
    /// UTC start time of the run, RFC 3339.
    pub start_time: String,
    /// UTC end time of the run.
    pub end_time: String,
    /// Wall-clock seconds.
    pub wall_s: f64,
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(super::civil_from_days(20_819), (2027, 1, 1));
    }
}
