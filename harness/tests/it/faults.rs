//! Faults: a sweep killed with SIGKILL and resumed, two processes on one output
//! directory, an unwritable output directory, a run that fails (exit status 4).

use crate::sharding::SIX;
use crate::support::{BIN, assert_same_results, files, harness, harness_env, stderr, temp_dir, write_spec};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// 12 short runs: a few seconds in all, so that kills land in every phase.
const TWELVE: &str = r#"
[experiment]
name = "twelve"
seeds = 3

[model]
cell = "rnn"
hidden = 8

[task]
kind = "adding"
seq_len = 12

[train]
lr = 0.05
batch = 8
steps = 120
eval_every = 40
eval_size = 50

[log]
grad_norms_every = 40

[sweep]
"model.cell" = ["rnn", "gru"]
"train.lr" = [0.05, 0.1]

[[expect]]
claim = "no run diverges"
metric = "diverged_fraction"
op = "<="
threshold = 0.0
"#;

/// Spawns the harness on `args`, kills it with SIGKILL after `delay`; whether it was still
/// running (a real kill).
fn kill_after(args: &[&str], delay: Duration) -> bool {
    let mut child = Command::new(BIN).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap_or(());
    child.wait().unwrap();
    running
}

/// The complete runs in `out`, each checked against `reference`: a run directory that
/// exists is whole (no partial run is ever counted).
fn complete_runs(out: &Path, reference: &Path) -> usize {
    let Ok(entries) = fs::read_dir(out.join("runs")) else { return 0 };
    let mut n = 0;
    for e in entries {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            continue;
        }
        let (a, b) = (files(&out.join("runs").join(&name)), files(&reference.join("runs").join(&name)));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "run {name} is partial");
        for (f, bytes) in &a {
            if f == "metrics.csv" || f == "grad_norms.csv" {
                assert!(*bytes == b[f], "run {name}: {f} differs");
            }
        }
        n += 1;
    }
    n
}

/// A tiny generator (xorshift64*) for the kill points.
fn next(state: &mut u64) -> f64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn a_sweep_killed_at_random_moments_loses_no_run_and_resumes_to_the_same_result() {
    let dir = temp_dir("kill");
    let spec = write_spec(&dir, TWELVE);
    let spec = spec.as_str();
    let reference = dir.join("reference");
    let start = Instant::now();
    let o = harness(&[spec, "--out", reference.to_str().unwrap(), "--threads", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let full = start.elapsed();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("uninterrupted sweep {full:?}; kill points from seed {seed}");
    let mut state = seed;
    let (mut kills, mut trials, mut mid_sweep) = (0, 0, 0);
    while kills < 20 || trials < 20 {
        assert!(trials < 60, "only {kills} of {trials} kills hit a running process");
        trials += 1;
        let out = dir.join(format!("k{trials}"));
        let out_ = out.to_str().unwrap();
        // Kill points spread over the whole sweep (start-up, runs, aggregates) and a bit beyond.
        let at = |state: &mut u64| full.mul_f64(1.1 * ((trials - 1) as f64 + next(state)) / 20.0 % 1.1);
        kills += usize::from(kill_after(&[spec, "--out", out_, "--threads", "2"], at(&mut state)));
        complete_runs(&out, &reference);
        if trials % 3 == 0 {
            // Killed again while resuming.
            kills += usize::from(kill_after(&[spec, "--out", out_, "--threads", "2", "--resume"], at(&mut state)));
        }
        let before = complete_runs(&out, &reference);
        mid_sweep += usize::from(before > 0 && before < 12);
        let o = harness(&[spec, "--out", out_, "--threads", "2", "--resume"]);
        assert!(o.status.success(), "trial {trials}: {}", stderr(&o));
        if before > 0 {
            let needle = format!("resuming: {before} runs already complete");
            assert!(stderr(&o).contains(&needle), "trial {trials}: `{needle}` not in {}", stderr(&o));
        }
        assert_same_results(&reference, &out, &[]);
        fs::remove_dir_all(&out).unwrap();
    }
    eprintln!("{kills} kills of a running harness in {trials} trials, {mid_sweep} with some runs complete");
    assert!(mid_sweep >= 3, "only {mid_sweep} trials were killed mid-sweep");
}

/// A sweep of a few seconds, for the tests that need one running.
fn slow_spec(dir: &Path) -> String {
    write_spec(dir, &SIX.replace("steps = 6", "steps = 1500").replace("seq_len = 8", "seq_len = 30"))
}

/// Waits until `path` exists.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_second_process_on_the_same_directory_is_refused_until_the_first_dies() {
    let dir = temp_dir("lock");
    let spec = slow_spec(&dir);
    let out = dir.join("out");
    let out_ = out.to_str().unwrap();
    let mut first = Command::new(BIN)
        .args([&spec, "--out", out_, "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&out.join("source.json"));
    for args in [vec!["--resume"], vec![], vec!["--shard", "0/2"]] {
        let mut a = vec![spec.as_str(), "--out", out_];
        a.extend(args);
        let o = harness(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("{out_} is in use by")) && err.contains(".lock"), "{a:?}: {err}");
    }
    let o = harness(&["merge", out_, out_]);
    assert_ne!(o.status.code(), Some(0), "a merge while the sweep runs: {}", stderr(&o));
    // The lock dies with its holder.
    first.kill().unwrap();
    first.wait().unwrap();
    let o = harness(&[&spec, "--out", out_, "--resume", "--set", "train.steps=1500"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Shards share a directory, but one shard does not run twice, and a whole sweep waits for them.
    let shared = dir.join("shared");
    let shared_ = shared.to_str().unwrap();
    let mut shard = Command::new(BIN)
        .args([&spec, "--out", shared_, "--shard", "0/2", "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&shared.join("source.json"));
    let o = harness(&[&spec, "--out", shared_, "--shard", "0/2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shard 0/2 is already running"), "{}", stderr(&o));
    let o = harness(&[&spec, "--out", shared_, "--resume"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("in use by another harness process"), "{}", stderr(&o));
    shard.kill().unwrap();
    shard.wait().unwrap();
}

#[test]
fn an_unwritable_output_directory_is_an_error_naming_it() {
    let dir = temp_dir("unwritable");
    let spec = write_spec(&dir, SIX);
    fs::write(dir.join("file"), "not a directory").unwrap();
    let out = dir.join("file").join("out");
    for extra in [vec![], vec!["--shard", "0/2"]] {
        let mut a = vec![spec.as_str(), "--out", out.to_str().unwrap()];
        a.extend(extra);
        let o = harness(&a);
        assert_eq!(o.status.code(), Some(1), "{a:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("cannot create the output directory {}", out.display())),
            "{}",
            stderr(&o)
        );
    }
    // Permission bits bind only a process that is not root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        let out = locked.join("out");
        let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains(&out.display().to_string()), "{}", stderr(&o));
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_failing_run_exits_4_keeps_the_others_and_resumes() {
    let dir = temp_dir("fail");
    let spec = write_spec(&dir, SIX);
    let reference = dir.join("reference");
    assert!(harness(&[&spec, "--out", reference.to_str().unwrap()]).status.success());
    let runs = fs::read_to_string(reference.join("runs.jsonl")).unwrap();
    let id = serde_json::from_str::<serde_json::Value>(runs.lines().nth(2).unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = dir.join("out");
    let o = harness_env(&[&spec, "--out", out.to_str().unwrap()], &[("HARNESS_FAULT_PANIC_RUN", &id)]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("run {id} failed")), "{}", stderr(&o));
    assert_eq!(fs::read_dir(out.join("runs")).unwrap().count(), 5, "the other runs are kept");
    assert!(!out.join("runs.jsonl").exists(), "no aggregate of an incomplete sweep");
    let o = harness(&[&spec, "--out", out.to_str().unwrap(), "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_results(&reference, &out, &[]);
}
