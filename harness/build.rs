//! Build-time facts for the provenance files (`run::manifest`): the compiler, the git
//! commit and dirty flag of the source, and the versions of the crates that shape results.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates whose versions are recorded, besides the harness (from `Cargo.lock`).
const CRATES: [&str; 7] = ["kernels", "matrixmultiply", "pulp", "rand_chacha", "rayon", "serde_json", "toml"];

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |s| s.trim().to_string());
    println!("cargo:rustc-env=HARNESS_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");

    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = here.parent().expect("the harness is a workspace member").to_path_buf();
    git_facts(&here);
    crate_versions(&root);
    // The dirty flag changes with the sources: rerun when they do (they rebuild the crate anyway).
    for p in
        ["src", "build.rs", "Cargo.toml", "../kernels/src", "../kernels/Cargo.toml", "../Cargo.toml", "../Cargo.lock"]
    {
        let path = here.join(p);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok().filter(|o| o.status.success())?;
    String::from_utf8(out.stdout).ok().map(|s| s.trim().to_string())
}

/// `HARNESS_GIT_COMMIT` and `HARNESS_GIT_DIRTY` (empty outside a git checkout); reruns when
/// HEAD or the branch it names moves.
fn git_facts(dir: &Path) {
    let commit = git(dir, &["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = if commit.is_empty() {
        String::new()
    } else {
        git(dir, &["status", "--porcelain", "--untracked-files=no"])
            .map_or(String::new(), |s| (!s.is_empty()).to_string())
    };
    println!("cargo:rustc-env=HARNESS_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=HARNESS_GIT_DIRTY={dirty}");
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(r) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(r);
    }
    for name in watched {
        if let Some(p) = git(dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(p);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}

/// `HARNESS_CRATE_VERSIONS`: `name version` pairs, comma-separated, from `Cargo.lock`.
fn crate_versions(root: &Path) {
    let mut out = vec![format!("harness {}", std::env::var("CARGO_PKG_VERSION").unwrap_or_default())];
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut name = None;
    for line in lock.lines() {
        if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
            && CRATES.contains(&n.as_str())
        {
            out.push(format!("{n} {}", v.trim_matches('"')));
        }
    }
    println!("cargo:rustc-env=HARNESS_CRATE_VERSIONS={}", out.join(","));
}
