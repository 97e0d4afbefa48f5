//! The output directory's life: created or reopened, locked (`run::lock`), checked
//! against the spec, cleared of what a killed process left, and the spec files
//! written. Every file here is written under a temporary name in the same
//! directory and renamed into place, so that a reader (or a process killed
//! half-way) never sees half a file.
//!
//! Files of the spec, written by every process that runs into the directory:
//!
//! - `spec.toml`: the resolved spec (a resumed or sharded sweep must match it);
//! - `source.toml`: the spec file as given, and `source.json`: the profile and the
//!   `--set` arguments, from which `harness merge` loads the same plan (claims and
//!   figures included, which `spec.toml` does not carry).

use super::lock::{self, Lock, LockError};
use super::output::{self, named, temp_path, write_atomic};
use super::shard::Shard;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a spec was loaded from: enough to load the same plan again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The spec file's text (`source.toml`).
    #[serde(skip)]
    pub text: String,
    /// `--profile` (`--quick`: `quick`).
    pub profile: Option<String>,
    /// The `--set` arguments, in order.
    pub sets: Vec<String>,
}

impl Source {
    /// `source.json`'s text.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializes") + "\n"
    }

    /// Reads `DIR/source.toml` and `DIR/source.json`.
    pub fn read(dir: &Path) -> io::Result<Source> {
        let text = read_named(&dir.join("source.toml"))?;
        let json = read_named(&dir.join("source.json"))?;
        let source: Source =
            serde_json::from_str(&json).map_err(|e| named(&dir.join("source.json"), io::Error::other(e)))?;
        Ok(Source { text, ..source })
    }
}

/// Why the directory cannot be used.
#[derive(Debug)]
pub enum Refusal {
    /// A usage problem (exit code 2): in use, exists, a different spec.
    Usage(String),
    /// An I/O failure (exit code 1), the path named.
    Io(String),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        Refusal::Io(e.to_string())
    }
}

/// The locks a process holds on its output directory while it works.
#[derive(Debug)]
pub struct Held {
    /// `DIR/.lock`.
    pub dir: Lock,
    /// `DIR/shards/I-of-N.lock` for a shard.
    pub shard: Option<Lock>,
}

fn read_named(path: &Path) -> io::Result<String> {
    fs::read_to_string(path).map_err(|e| named(path, e))
}

/// Creates `path` with `bytes` unless it exists; then its content must be `bytes`
/// (false if not). Atomic: the file appears whole, and of processes racing to
/// create it, one wins and the others compare.
fn install_or_compare(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_path(dir, &path.file_name().unwrap_or_default().to_string_lossy());
    fs::write(&tmp, bytes).map_err(|e| named(&tmp, e))?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(fs::read(path).map_err(|e| named(path, e))? == bytes),
        Err(e) => Err(named(path, e)),
    }
}

/// Removes the temporary files and directories (figures being drawn) a killed process
/// left in `dir` (not the run directories, which are in `runs/`).
fn remove_temp_files(dir: &Path) -> io::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            let path = entry.path();
            let removed = if entry.file_type()?.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            removed.map_err(|e| named(&path, e))?;
        }
    }
    Ok(())
}

fn busy_whole(dir: &Path) -> Refusal {
    Refusal::Usage(format!(
        "{} is in use by another harness process (it holds {}); wait for it to finish, or choose another --out",
        dir.display(),
        lock::dir_lock_path(dir).display()
    ))
}

fn lock_error(dir: &Path, e: LockError, busy: impl FnOnce() -> Refusal) -> Refusal {
    let _ = dir;
    match e {
        LockError::Busy(_) => busy(),
        LockError::Io(path, e) => Refusal::Io(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Whether `DIR/runs` holds a complete run.
fn has_complete_runs(dir: &Path) -> bool {
    fs::read_dir(output::runs_dir(dir)).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| !e.file_name().to_string_lossy().starts_with(".tmp-") && e.path().join("result.json").exists())
    })
}

fn create_parents(dir: &Path) -> Result<(), Refusal> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| Refusal::Io(format!("cannot create the output directory {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// Opens `dir` for a whole (unsharded) sweep or a merge, which hold it exclusively: a new
/// directory, or with `resume` an existing one whose `spec.toml` is `resolved` (or that
/// has none and no complete run: a sweep killed as it started). Writes the spec files.
pub fn open_whole(dir: &Path, resolved: &str, source: &Source, resume: bool) -> Result<Held, Refusal> {
    create_parents(dir)?;
    let created = match fs::create_dir(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(Refusal::Io(format!("cannot create the output directory {}: {e}", dir.display()))),
    };
    if !created && !dir.is_dir() {
        return Err(Refusal::Usage(format!("{} exists and is not a directory", dir.display())));
    }
    let held = lock::try_lock(&lock::dir_lock_path(dir), true).map_err(|e| lock_error(dir, e, || busy_whole(dir)))?;
    if !created {
        if !resume {
            return Err(Refusal::Usage(format!(
                "{} exists; pass --resume to finish it, or choose another --out",
                dir.display()
            )));
        }
        match fs::read_to_string(dir.join("spec.toml")) {
            Ok(old) if old == resolved => {}
            Ok(_) => {
                return Err(Refusal::Usage(format!(
                    "{}/spec.toml differs from this spec; cannot resume it or merge into it",
                    dir.display()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !has_complete_runs(dir) => {}
            Err(e) => {
                return Err(Refusal::Usage(format!("cannot resume {}: no readable spec.toml ({e})", dir.display())));
            }
        }
    }
    remove_temp_files(dir)?;
    remove_temp_files(&dir.join("shards"))?;
    write_spec_files(dir, resolved, source)?;
    Ok(Held { dir: held, shard: None })
}

/// Writes `spec.toml`, `source.toml` and `source.json`.
pub fn write_spec_files(dir: &Path, resolved: &str, source: &Source) -> io::Result<()> {
    write_atomic(&dir.join("spec.toml"), resolved)?;
    write_atomic(&dir.join("source.toml"), &source.text)?;
    write_atomic(&dir.join("source.json"), source.json())
}

/// `DIR/shards`.
pub fn shards_dir(dir: &Path) -> PathBuf {
    dir.join("shards")
}

/// Opens `dir` for one shard of a sharded sweep: created if missing, or one that other
/// shards of the same spec and the same number of shards use; the shard's complete runs
/// are kept (a sharded sweep always resumes).
pub fn open_shard(dir: &Path, resolved: &str, source: &Source, shard: Shard) -> Result<Held, Refusal> {
    create_parents(dir)?;
    fs::create_dir_all(dir)
        .map_err(|e| Refusal::Io(format!("cannot create the output directory {}: {e}", dir.display())))?;
    let whole = lock::try_lock(&lock::dir_lock_path(dir), false).map_err(|e| {
        lock_error(dir, e, || {
            Refusal::Usage(format!(
                "{} is in use by an unsharded sweep or a merge (it holds {}); wait for it to finish",
                dir.display(),
                lock::dir_lock_path(dir).display()
            ))
        })
    })?;
    let shards = shards_dir(dir);
    fs::create_dir_all(&shards).map_err(|e| named(&shards, e))?;
    for entry in fs::read_dir(&shards).map_err(|e| named(&shards, e))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_suffix(".lock").and_then(|s| s.split_once("-of-")).map(|(_, n)| n.to_string())
            && n != shard.count.to_string()
        {
            return Err(Refusal::Usage(format!(
                "{} holds shards of {n} (shards/{name}); this is shard {shard}: every shard of a directory \
                 must use the same number of shards",
                dir.display()
            )));
        }
    }
    let own = shards.join(format!("{}.lock", shard.file_stem()));
    let shard_lock = lock::try_lock(&own, true).map_err(|e| {
        lock_error(dir, e, || {
            Refusal::Usage(format!(
                "shard {shard} is already running in {} (it holds {})",
                dir.display(),
                own.display()
            ))
        })
    })?;
    for (name, bytes) in [
        ("spec.toml", resolved.as_bytes()),
        ("source.toml", source.text.as_bytes()),
        ("source.json", source.json().as_bytes()),
    ] {
        if !install_or_compare(&dir.join(name), bytes)? {
            return Err(Refusal::Usage(format!(
                "{}/{name} differs from this spec's: the directory holds shards of another spec (or other \
                 --profile/--set); use another --out",
                dir.display()
            )));
        }
    }
    Ok(Held { dir: whole, shard: Some(shard_lock) })
}
