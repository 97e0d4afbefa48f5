//! Collecting the runs of a sharded sweep for `harness merge OUT DIR...`: the inputs must
//! hold one spec (the same `spec.toml`, `source.toml` and `source.json`), every run of its
//! plan must be complete in one of them, and the complete run directories are copied into
//! `OUT` (under a temporary name, renamed when whole). The aggregates are the `report`
//! floor's, written by the command line as for an unsharded sweep.

use super::outdir::{Refusal, Source};
use super::output;
use super::output::named;
use super::sweep::Run;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The spec the inputs share: `spec.toml`'s text and the source to load it from.
pub fn read_inputs(dirs: &[PathBuf]) -> Result<(String, Source), Refusal> {
    let mut first: Option<(&PathBuf, String, Source)> = None;
    for dir in dirs {
        if !dir.is_dir() {
            return Err(Refusal::Usage(format!("{}: not a directory", dir.display())));
        }
        let spec = dir.join("spec.toml");
        let resolved = fs::read_to_string(&spec)
            .map_err(|e| Refusal::Usage(format!("{}: {e}: not an output directory of the harness", spec.display())))?;
        let source = Source::read(dir).map_err(|e| {
            Refusal::Usage(format!("{e} (written by every sweep and shard of this harness version; cannot merge)"))
        })?;
        match &first {
            None => first = Some((dir, resolved, source)),
            Some((d0, r0, s0)) => {
                let differs = if *r0 != resolved {
                    Some("spec.toml")
                } else if s0.text != source.text {
                    Some("source.toml")
                } else if s0 != &source {
                    Some("source.json")
                } else {
                    None
                };
                if let Some(file) = differs {
                    return Err(Refusal::Usage(format!(
                        "{} and {} hold runs of different specs ({file} differs); refusing to merge them",
                        d0.display(),
                        dir.display()
                    )));
                }
            }
        }
    }
    let (_, resolved, source) = first.ok_or_else(|| Refusal::Usage("no input directory".into()))?;
    Ok((resolved, source))
}

/// Runs found (with the directory that has each) and runs found nowhere.
pub type Located<'a> = (Vec<(&'a Run, PathBuf)>, Vec<&'a Run>);

/// For each run, the first of `dirs` in which it is complete; and the runs found nowhere.
pub fn locate<'a>(runs: &'a [Run], dirs: &[PathBuf]) -> io::Result<Located<'a>> {
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for run in runs {
        let mut at = None;
        for dir in dirs {
            if output::read_record(dir, &run.id)?.is_some() {
                at = Some(dir.clone());
                break;
            }
        }
        match at {
            Some(dir) => found.push((run, dir)),
            None => missing.push(run),
        }
    }
    Ok((found, missing))
}

/// Copies run `id` from `from` into `out` unless `out` already has it complete.
pub fn copy_run(from: &Path, out: &Path, id: &str) -> io::Result<()> {
    if output::read_record(out, id)?.is_some() {
        return Ok(());
    }
    let src = output::runs_dir(from).join(id);
    let runs = output::runs_dir(out);
    fs::create_dir_all(&runs).map_err(|e| named(&runs, e))?;
    let tmp = runs.join(format!(".tmp-{id}"));
    let copy = || -> io::Result<()> {
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        for entry in fs::read_dir(&src)? {
            let entry = entry?;
            let to = tmp.join(entry.file_name());
            fs::copy(entry.path(), &to)?;
            fs::File::open(&to)?.sync_all()?;
        }
        Ok(())
    };
    copy().map_err(|e| named(&tmp, e))?;
    let to = runs.join(id);
    fs::rename(&tmp, &to).map_err(|e| named(&to, e))
}
