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

/// The content with the fields that legitimately differ between two
/// identical sweeps (wall-clock times, thread count) removed.
pub fn without_time_fields(name: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let strip = |json: &str| {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        let obj = v.as_object_mut().unwrap();
        let keys: &[&str] = if name == "manifest.json" { &["start_time", "end_time", "threads"] } else { &["wall_s"] };
        for k in keys {
            obj.remove(*k).unwrap_or_else(|| panic!("{name} lacks {k}"));
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
