//! Helpers shared by the test modules: temporary directories, running the
//! harness binary, reading its outputs back.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The harness binary of this build (`cargo test` builds it with the test
/// profile, which inherits the dev profile).
pub const BIN: &str = env!("CARGO_BIN_EXE_harness");

/// A fresh, empty temporary directory for one test, removed when dropped.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fresh temporary directory named after the test (and this process, so
/// that concurrent test runs do not collide).
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("harness-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Runs the harness binary with `args` and waits for it.
pub fn harness(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("the harness binary runs")
}

/// Runs the harness binary with `args` and extra environment variables, and waits for it.
pub fn harness_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN).args(args).envs(env.iter().copied()).output().expect("the harness binary runs")
}

/// The process's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` as `dir/spec.toml` and returns its path.
pub fn write_spec(dir: &Path, text: &str) -> String {
    let path = dir.join("spec.toml");
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every file under `dir`, by relative path.
pub fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().display().to_string(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Whether a file records provenance (times, host, threads, shard) rather than results:
/// the manifests, each run's `provenance.json`, and the lock files.
pub fn is_provenance(name: &str) -> bool {
    name == "manifest.json"
        || name.ends_with("provenance.json")
        || name.starts_with("shards/")
        || name.ends_with(".lock")
}

/// The content with what legitimately differs between two identical sweeps removed:
/// provenance files entirely, the `wall_s` field of JSON records.
pub fn without_time_fields(name: &str, bytes: &[u8]) -> String {
    if is_provenance(name) {
        return String::new();
    }
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let strip = |json: &str| {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("wall_s");
        }
        v.to_string()
    };
    if name.ends_with(".jsonl") {
        text.lines().map(strip).collect::<Vec<_>>().join("\n")
    } else if name.ends_with(".json") {
        strip(&text)
    } else {
        text
    }
}

/// Asserts that two output directories hold the same files with the same bytes, apart
/// from provenance and wall times; `skip` names files (by prefix) present in only one.
pub fn assert_same_results(a: &Path, b: &Path, skip: &[&str]) {
    let keep = |m: BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        m.into_iter().filter(|(k, _)| !skip.iter().any(|s| k.starts_with(s))).collect()
    };
    let (fa, fb) = (keep(files(a)), keep(files(b)));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>(), "{} and {}", a.display(), b.display());
    for (name, bytes) in &fa {
        if name.ends_with(".json") || name.ends_with(".jsonl") || is_provenance(name) {
            assert_eq!(without_time_fields(name, bytes), without_time_fields(name, &fb[name]), "{name} differs");
        } else {
            assert!(*bytes == fb[name], "{name} differs between {} and {}", a.display(), b.display());
        }
    }
}
