//! `harness plan`, `--shard I/N` (and the Slurm array variables) and `harness merge`.

use crate::support::{BIN, assert_same_results, harness, harness_env, stderr, temp_dir, write_spec};

/// 3 configurations × 2 seeds of a fast task.
pub const SIX: &str = r#"
[experiment]
name = "six"
seeds = 2

[model]
cell = "rnn"
hidden = 4

[task]
kind = "adding"
seq_len = 8

[train]
lr = 0.05
batch = 4
steps = 6
eval_every = 3
eval_size = 20

[log]
grad_norms_every = 3

[sweep]
"model.cell" = ["rnn", "gru", "lstm"]

[profile.quick]
"sweep.model.cell" = ["gru"]

[[expect]]
claim = "no run diverges"
metric = "diverged_fraction"
op = "<="
threshold = 0.0
"#;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn plan_lists_the_runs_in_plan_order() {
    let dir = temp_dir("plan");
    let spec = write_spec(&dir, SIX);
    let o = harness(&["plan", &spec]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "6 runs");
    assert_eq!(lines.len(), 7, "{text}");
    let fields: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split('\t').collect()).collect();
    for (i, f) in fields.iter().enumerate() {
        assert_eq!(f[0], i.to_string());
        assert_eq!(f[1].len(), 16, "an id is 16 hex digits: {text}");
        assert_eq!(f[2], format!("seed {}", i % 2));
    }
    assert_eq!(fields[0][3], "model.cell=rnn");
    assert_eq!(fields[5][3], "model.cell=lstm");
    // The same ids as a run records, in the same order.
    let out = dir.join("out");
    assert!(harness(&[&spec, "--out", out.to_str().unwrap()]).status.success());
    let runs = std::fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let ids: Vec<String> = runs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(ids, fields.iter().map(|f| f[1].to_string()).collect::<Vec<_>>());
    // --count, profiles and --set change the plan as they change a run.
    assert_eq!(stdout(&harness(&["plan", &spec, "--count"])), "6\n");
    assert_eq!(stdout(&harness(&["plan", &spec, "--quick", "--count"])), "2\n");
    assert_eq!(stdout(&harness(&["plan", &spec, "--set", "experiment.seeds=5", "--count"])), "15\n");
    // `harness run SPEC` is `harness SPEC`.
    let o = harness(&["run", &spec, "--out", dir.join("run").to_str().unwrap(), "--quick"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Spec errors are exit 2, as for a run.
    let o = harness(&["plan", &spec, "--set", "model.hidden=0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("model.hidden"), "{}", stderr(&o));
    assert_eq!(harness(&["plan"]).status.code(), Some(2));
    // A reader that stops after the first line is no error.
    let mut child = std::process::Command::new(BIN)
        .args(["plan", &spec, "--set", "experiment.seeds=20000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert_eq!(first, "60000 runs\n");
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success() && o.stderr.is_empty(), "{:?}: {}", o.status, stderr(&o));
}

/// Runs the whole SIX sweep into `dir/whole`.
fn whole(dir: &std::path::Path, spec: &str) -> std::path::PathBuf {
    let out = dir.join("whole");
    let o = harness(&[spec, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn shards_sharing_a_directory_merge_to_the_unsharded_result() {
    let dir = temp_dir("shard-shared");
    let spec = write_spec(&dir, SIX);
    let whole = whole(&dir, &spec);
    let shared = dir.join("shared");
    // Three shards at once, into one directory.
    let children: Vec<_> = (0..3)
        .map(|i| {
            std::process::Command::new(BIN)
                .args([&spec, "--out", shared.to_str().unwrap(), "--shard", &format!("{i}/3"), "--threads", "1"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("2 runs complete"), "{}", stdout(&o));
    }
    for i in 0..3 {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(shared.join(format!("shards/{i}-of-3.json"))).unwrap())
                .unwrap();
        assert_eq!((m["shard"].as_str(), m["kind"].as_str()), (Some(format!("{i}/3").as_str()), Some("shard")));
        assert!(m["end_time"].is_string());
    }
    assert!(!shared.join("runs.jsonl").exists(), "a shard writes no aggregate");
    // Merged into a new directory, and in place.
    let merged = dir.join("merged");
    let o = harness(&["merge", merged.to_str().unwrap(), shared.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("PASS no run diverges"), "{}", stdout(&o));
    assert_same_results(&whole, &merged, &[]);
    let again = harness(&["merge", merged.to_str().unwrap(), shared.to_str().unwrap()]);
    assert!(again.status.success(), "merging twice: {}", stderr(&again));
    assert_same_results(&whole, &merged, &[]);
    let o = harness(&["merge", shared.to_str().unwrap(), shared.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_results(&whole, &shared, &["shards/"]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "merge");
}

#[test]
fn slurm_array_shards_in_separate_directories_merge_and_missing_runs_are_named() {
    let dir = temp_dir("shard-slurm");
    let spec = write_spec(&dir, SIX);
    let whole = whole(&dir, &spec);
    let parts: Vec<_> = (0..2).map(|i| dir.join(format!("part{i}"))).collect();
    for (i, part) in parts.iter().enumerate() {
        let id = (i + 1).to_string();
        // A 1-based array (--array=1-2): the index is ID - MIN.
        let env = [
            ("SLURM_ARRAY_TASK_ID", id.as_str()),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
            ("SLURM_CPUS_PER_TASK", "1"),
            ("SLURM_JOB_ID", "77"),
        ];
        let o = harness_env(&[&spec, "--out", part.to_str().unwrap()], &env);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let records = |d: &std::path::Path| std::fs::read_dir(d.join("runs")).unwrap().count();
    assert_eq!((records(&parts[0]), records(&parts[1])), (3, 3));
    let run = std::fs::read_dir(parts[1].join("runs")).unwrap().next().unwrap().unwrap().path();
    let prov: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("provenance.json")).unwrap()).unwrap();
    assert_eq!((prov["shard"].as_str(), prov["threads"].as_u64()), (Some("1/2"), Some(1)));
    assert_eq!(prov["slurm"]["SLURM_JOB_ID"], "77");

    let merged = dir.join("merged");
    let o = harness(&["merge", merged.to_str().unwrap(), parts[0].to_str().unwrap(), parts[1].to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_results(&whole, &merged, &[]);

    // One shard's directory alone: every missing run named, exit 4, nothing written.
    let partial = dir.join("partial");
    let o = harness(&["merge", partial.to_str().unwrap(), parts[0].to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    for line in std::fs::read_to_string(whole.join("runs.jsonl")).unwrap().lines().skip(1).step_by(2) {
        let id = serde_json::from_str::<serde_json::Value>(line).unwrap()["id"].as_str().unwrap().to_string();
        assert!(err.contains(&format!("missing run {id}")), "{id} not named: {err}");
    }
    assert!(err.contains("3 of 6 runs are missing"), "{err}");
    assert!(!partial.exists());

    // Runs of another spec are refused.
    let other = dir.join("other");
    let o = harness(&[&spec, "--out", other.to_str().unwrap(), "--shard", "1/2", "--set", "train.lr=0.1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = harness(&["merge", dir.join("m2").to_str().unwrap(), parts[0].to_str().unwrap(), other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("different specs (spec.toml differs)"), "{}", stderr(&o));
    // --no-shard ignores the array.
    let env = [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "2")];
    let all = dir.join("all");
    let o = harness_env(&[&spec, "--out", all.to_str().unwrap(), "--no-shard"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_results(&whole, &all, &[]);
}

#[test]
fn bad_shards_are_refused_before_any_work() {
    let dir = temp_dir("shard-bad");
    let spec = write_spec(&dir, SIX);
    let out = dir.join("out");
    let o_ = out.to_str().unwrap();
    for (args, env, needle) in [
        (vec!["--shard", "3/3"], vec![], "--shard 3/3: shard index 3 must be below the number of shards 3"),
        (vec!["--shard", "0/0"], vec![], "--shard 0/0: the number of shards must be at least 1"),
        (vec!["--shard", "a/b"], vec![], "--shard a/b: `a` is not a non-negative integer"),
        (vec![], vec![("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "2")], "SLURM_ARRAY_TASK_ID=x"),
        (vec![], vec![("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "2")], "SLURM_ARRAY_TASK_ID=2"),
        (vec![], vec![("SLURM_ARRAY_TASK_ID", "0")], "SLURM_ARRAY_TASK_COUNT"),
        (vec![], vec![("SLURM_CPUS_PER_TASK", "many")], "SLURM_CPUS_PER_TASK=many"),
        (vec!["--shard", "1/2", "--no-shard"], vec![], "--no-shard"),
    ] {
        let mut a = vec![spec.as_str(), "--out", o_];
        a.extend(args);
        let o = harness_env(&a, &env);
        assert_eq!(o.status.code(), Some(2), "{a:?} {env:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{a:?} {env:?}: `{needle}` not in {}", stderr(&o));
        assert!(!out.exists(), "{a:?}: output written");
    }
    // All shards of a directory have the same N, and one spec.
    assert!(harness(&[&spec, "--out", o_, "--shard", "0/2"]).status.success());
    let o = harness(&[&spec, "--out", o_, "--shard", "0/3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds shards of 2"), "{}", stderr(&o));
    let o = harness(&[&spec, "--out", o_, "--shard", "1/2", "--set", "model.hidden=5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("spec.toml differs"), "{}", stderr(&o));
    // A shard run again keeps its complete runs.
    let o = harness(&[&spec, "--out", o_, "--shard", "0/2"]);
    assert!(o.status.success() && stderr(&o).contains("3 runs already complete, 0 to go"), "{}", stderr(&o));
}
