//! `DIR/manifest.json`: how and where the results were produced.

use serde::Serialize;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The provenance of an output directory.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// Package name.
    pub package: &'static str,
    /// Package version.
    pub version: &'static str,
    /// `git rev-parse HEAD` of the source tree (with `-dirty` when modified), when known.
    pub git_commit: Option<String>,
    /// The compiler that built the binary.
    pub rustc: &'static str,
    /// CPU model name.
    pub cpu: Option<String>,
    /// The widest SIMD instruction set the CPU offers the kernels.
    pub simd: &'static str,
    /// Worker threads.
    pub threads: usize,
    /// The profile the spec was run under (null: the full spec).
    pub profile: Option<String>,
    /// UTC start time, RFC 3339.
    pub start_time: String,
    /// UTC end time, RFC 3339 (null while running).
    pub end_time: Option<String>,
}

impl Manifest {
    /// The manifest of a sweep starting now.
    pub fn start(threads: usize, profile: Option<String>) -> Self {
        Manifest {
            package: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            git_commit: git_commit(),
            rustc: env!("HARNESS_RUSTC_VERSION"),
            cpu: cpu_model(),
            simd: simd_level(),
            threads,
            profile,
            start_time: now_rfc3339(),
            end_time: None,
        }
    }
}

fn git_commit() -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let run =
        |args: &[&str]| Command::new("git").arg("-C").arg(dir).args(args).output().ok().filter(|o| o.status.success());
    let head = String::from_utf8(run(&["rev-parse", "HEAD"])?.stdout).ok()?.trim().to_string();
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// The widest vector extension detected at run time.
fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
        "sse2"
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "scalar"
    }
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
