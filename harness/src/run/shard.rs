//! Sharding a sweep across processes: `--shard I/N` runs the runs whose plan
//! index is `I mod N`; without it, a Slurm job array's variables choose the
//! shard (`SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT`, or with
//! `SLURM_ARRAY_TASK_MIN`/`MAX`), and `SLURM_CPUS_PER_TASK` the default number
//! of worker threads.
//!
//! Every function here reads the environment through a lookup function, so
//! that tests need not set process-wide variables.

use std::fmt;

/// One shard of a sweep: the runs whose plan index `i` has `i % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// `I`, below `count`.
    pub index: usize,
    /// `N`, at least 1.
    pub count: usize,
}

impl Shard {
    /// Whether the run at plan index `i` is in this shard.
    pub fn selects(self, i: usize) -> bool {
        i % self.count == self.index
    }

    /// `I-of-N`, for file names.
    pub fn file_stem(self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A non-negative integer, or a message naming `what`.
fn parse_count(what: &str, text: &str) -> Result<usize, String> {
    text.trim().parse::<usize>().map_err(|_| format!("{what}: `{text}` is not a non-negative integer"))
}

/// `index` and `count` checked (`count >= 1`, `index < count`); `what` names their source.
fn checked(what: &str, index: usize, count: usize) -> Result<Shard, String> {
    if count == 0 {
        return Err(format!("{what}: the number of shards must be at least 1"));
    }
    if index >= count {
        return Err(format!("{what}: shard index {index} must be below the number of shards {count}"));
    }
    Ok(Shard { index, count })
}

/// Parses `--shard I/N`.
pub fn parse(text: &str) -> Result<Shard, String> {
    let what = format!("--shard {text}");
    let (i, n) = text.split_once('/').ok_or_else(|| format!("{what}: expected I/N, e.g. 0/4"))?;
    let (i, n) = (parse_count(&what, i)?, parse_count(&what, n)?);
    checked(&what, i, n)
}

/// The shard a Slurm job array selects, if `SLURM_ARRAY_TASK_ID` is set.
///
/// The index is `SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` (`MIN` taken as 0 when unset);
/// the count `SLURM_ARRAY_TASK_COUNT`, or `MAX − MIN + 1`. An array with a step or gaps
/// (`--array=0-12:4`, `--array=1,5`), whose ids are not consecutive, is refused.
pub fn from_slurm(env: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
    let var = |name: &str| -> Result<Option<usize>, String> {
        env(name).map(|v| parse_count(&format!("{name}={v}"), &v)).transpose()
    };
    let Some(id) = var("SLURM_ARRAY_TASK_ID")? else { return Ok(None) };
    let (min, max, count) =
        (var("SLURM_ARRAY_TASK_MIN")?, var("SLURM_ARRAY_TASK_MAX")?, var("SLURM_ARRAY_TASK_COUNT")?);
    let base = min.unwrap_or(0);
    let span = match (min, max) {
        (Some(lo), Some(hi)) if hi < lo => {
            return Err(format!("SLURM_ARRAY_TASK_MAX={hi} is below SLURM_ARRAY_TASK_MIN={lo}"));
        }
        (Some(lo), Some(hi)) => Some(hi - lo + 1),
        _ => None,
    };
    let count = match (count, span) {
        (Some(c), Some(s)) if c != s => {
            return Err(format!(
                "SLURM_ARRAY_TASK_COUNT={c} but SLURM_ARRAY_TASK_MIN..MAX spans {s} ids: an array with a step or \
                 gaps cannot be a shard index; submit --array=0-{} or pass --shard I/N",
                c.saturating_sub(1)
            ));
        }
        (Some(c), _) => c,
        (None, Some(s)) => s,
        (None, None) => {
            return Err("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN and \
                        SLURM_ARRAY_TASK_MAX are: cannot tell the number of shards (pass --shard I/N)"
                .into());
        }
    };
    if id < base {
        return Err(format!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={base}"));
    }
    let what = format!("SLURM_ARRAY_TASK_ID={id} (with {count} array tasks from {base})");
    checked(&what, id - base, count).map(Some)
}

/// `SLURM_CPUS_PER_TASK`, if set: the default number of worker threads.
pub fn slurm_threads(env: impl Fn(&str) -> Option<String>) -> Result<Option<usize>, String> {
    let Some(v) = env("SLURM_CPUS_PER_TASK") else { return Ok(None) };
    match parse_count(&format!("SLURM_CPUS_PER_TASK={v}"), &v)? {
        0 => Err(format!("SLURM_CPUS_PER_TASK={v}: must be at least 1")),
        n => Ok(Some(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn shard_arguments() {
        assert_eq!(parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(parse("3/4").unwrap().selects(7) && !parse("3/4").unwrap().selects(6));
        for (bad, needle) in [
            ("4/4", "must be below"),
            ("0/0", "at least 1"),
            ("x/4", "`x` is not"),
            ("1", "expected I/N"),
            ("-1/4", "`-1` is not"),
            ("1/4/5", "`4/5` is not"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(&format!("--shard {bad}")) && err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn slurm_arrays() {
        assert_eq!(from_slurm(env(&[])), Ok(None));
        let shard = |vars| from_slurm(env(vars));
        assert_eq!(
            shard(&[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "4")]),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        let one_based = [("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_MAX", "4")];
        assert_eq!(shard(&one_based), Ok(Some(Shard { index: 3, count: 4 })));
        let all = [
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "3"),
        ];
        assert_eq!(shard(&all), Ok(Some(Shard { index: 0, count: 4 })));
        for (vars, needle) in [
            (&[("SLURM_ARRAY_TASK_ID", "x")][..], "SLURM_ARRAY_TASK_ID=x"),
            (&[("SLURM_ARRAY_TASK_ID", "1")][..], "cannot tell the number"),
            (&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")][..], "SLURM_ARRAY_TASK_ID=4"),
            (&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "0")][..], "at least 1"),
            (
                &[
                    ("SLURM_ARRAY_TASK_ID", "4"),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                    ("SLURM_ARRAY_TASK_MIN", "0"),
                    ("SLURM_ARRAY_TASK_MAX", "12"),
                ][..],
                "step or gaps",
            ),
        ] {
            let err = shard(vars).unwrap_err();
            assert!(err.contains(needle), "{vars:?}: {err}");
        }
        assert_eq!(slurm_threads(env(&[("SLURM_CPUS_PER_TASK", "3")])), Ok(Some(3)));
        assert!(slurm_threads(env(&[("SLURM_CPUS_PER_TASK", "0")])).unwrap_err().contains("SLURM_CPUS_PER_TASK=0"));
        assert!(slurm_threads(env(&[("SLURM_CPUS_PER_TASK", "two")])).unwrap_err().contains("SLURM_CPUS_PER_TASK"));
    }
}
