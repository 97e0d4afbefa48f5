//! Paired seeds, statistical claims, profiles and the evaluate-only descent, end to end.

use crate::support::{harness, stderr, temp_dir, write_spec};
use std::fs;
use std::path::Path;

/// Arms that differ in `train.*` keys only (optimizer, lr, clipping, Ω, a penalty on `W_hh`,
/// steps), and one that differs in the model.
const ARMS: &str = r#"
[experiment]
name = "arms"
seeds = 5

[model]
cell = "rnn"
hidden = 8

[task]
kind = "two_sequence"
seq_len = 10

[train]
optimizer = "sgd"
lr = 0.1
batch = 16
steps = 200
eval_every = 50
eval_size = 200

[log]
every = 50
grad_norms_every = 100

[sweep]
"train" = [
  { lr = 0.1 },
  { lr = 0.0001 },
  { lr = 0.05, optimizer = "adam", clip = "norm", clip_threshold = 0.5, omega_alpha = 1.0, l2 = 0.01, penalty_on = ["hh"], steps = 100 },
]
"model.hidden" = [8, 9]

[profile.quick]
"experiment.seeds" = 2
"#;

fn records(out: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(out.join("runs.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The step-0 row of a run's metrics: (loss, norm of the task loss's gradient, held-out loss).
fn step0(out: &Path, id: &str) -> (String, String, String) {
    let text = fs::read_to_string(out.join("runs").join(id).join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let norm = col("task_grad_norm").or(col("grad_norm")).unwrap();
    assert_eq!(row[0], "0");
    (row[1].to_string(), row[norm].to_string(), row[col("eval_loss").unwrap()].to_string())
}

#[test]
fn arms_that_differ_only_in_train_keys_share_weights_and_minibatches() {
    let dir = temp_dir("paired");
    let spec = write_spec(&dir, ARMS);
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let recs = records(&out);
    assert_eq!(recs.len(), 6 * 5);
    let ids: std::collections::BTreeSet<&str> = recs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), recs.len(), "run ids stay unique per run");
    let run = |config: usize, seed: u64| {
        let r = recs.iter().find(|r| r["config"] == config && r["seed"] == seed).unwrap();
        step0(&out, r["id"].as_str().unwrap())
    };
    // Configurations: train arm slowest, hidden 8 / 9 fastest.
    for seed in 0..5 {
        let base = run(0, seed);
        for arm in [2, 4] {
            assert_eq!(run(arm, seed), base, "seed {seed}: config {arm} differs from config 0 at step 0");
        }
        assert_ne!(run(1, seed).0, base.0, "a different model must start elsewhere");
        if seed > 0 {
            assert_ne!(run(0, seed - 1), base, "seeds must differ");
        }
    }
    // The penalised arm logs the task gradient's norm beside the (larger) pre-clip norm.
    let r = recs.iter().find(|r| r["config"] == 4).unwrap();
    let text = fs::read_to_string(out.join("runs").join(r["id"].as_str().unwrap()).join("metrics.csv")).unwrap();
    assert!(text.lines().next().unwrap().ends_with(",omega,task_grad_norm"), "{text}");
    // The budget ledger and the per-run metrics.
    for r in &recs {
        let updates = r["updates"].as_u64().unwrap();
        assert_eq!(r["sequences_seen"].as_u64().unwrap(), 16 * updates);
        for key in ["solved_end", "min_error_rate", "max_grad_norm", "clip_fraction", "median_effective_lr"] {
            assert!(r.get(key).is_some(), "{key} missing: {r}");
        }
        if let Some(s) = r["steps_to_solve"].as_u64() {
            assert_eq!(r["sequences_to_solve"].as_u64(), Some(16 * s));
        }
    }
    let clipped = recs.iter().find(|r| r["config"] == 4).unwrap();
    let lr = clipped["median_effective_lr"].as_f64().unwrap();
    assert!(lr > 0.0 && lr <= 0.05, "{lr}");
    for f in ["plots/survival.svg", "plots/eval_loss.svg"] {
        let svg = fs::read_to_string(out.join(f)).unwrap();
        assert!(svg.contains("<text"), "{f}");
    }
    assert!(fs::read_to_string(out.join("plots/eval_loss.svg")).unwrap().contains("baseline 0.25000"));
}

/// `ARMS` with claims appended.
fn with(claims: &str) -> String {
    format!("{ARMS}\n{claims}")
}

const CLAIMS: &str = r#"
[[expect]]
claim = "lr 0.1 ends with a lower held-out loss than lr 0.0001"
where = { "train.lr" = 0.1, "model.hidden" = 8 }
versus = { "train.lr" = 0.0001, "model.hidden" = 8 }
metric = "final_loss"
op = "<"

[[expect]]
claim = "the reverse, which is false"
where = { "train.lr" = 0.1, "model.hidden" = 8 }
versus = { "train.lr" = 0.0001, "model.hidden" = 8 }
metric = "final_loss"
op = ">"
kind = "report"

[[expect]]
claim = "sgd at its best lr beats lr 0.0001 less often than 1 in 20 by chance"
where = { "train.optimizer" = "sgd", "model.hidden" = 8 }
versus = { "train.optimizer" = "adam", "model.hidden" = 8 }
best_of = "train.lr"
metric = "final_loss"
op = "<"
kind = "report"

[[expect]]
claim = "nobody diverges (a degenerate comparison)"
where = { "train.lr" = 0.1, "model.hidden" = 8 }
versus = { "train.lr" = 0.0001, "model.hidden" = 8 }
metric = "diverged"
op = "<"
profiles = ["full"]

[[expect]]
claim = "hidden 8 vs 9 is unpaired"
where = { "train.lr" = 0.1, "model.hidden" = 8 }
versus = { "train.lr" = 0.1, "model.hidden" = 9 }
metric = "final_loss"
op = "<"
kind = "report"
"#;

#[test]
fn tests_record_their_statistics_and_degenerate_comparisons_fail() {
    let dir = temp_dir("tests");
    let spec = write_spec(&dir, &with(CLAIMS));
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    // The degenerate claim fails the sweep; the false claim is a report and does not.
    assert_eq!(o.status.code(), Some(3), "{stdout}\n{}", stderr(&o));
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(out.join("expectations.json")).unwrap()).unwrap();
    assert_eq!(list.len(), 5);
    let t = &list[0]["test"];
    assert_eq!((t["name"].as_str(), t["paired"].as_bool()), (Some("sign"), Some(true)));
    assert_eq!(t["n"], serde_json::json!([5, 5]));
    assert!((t["min_p"].as_f64().unwrap() - 1.0 / 32.0).abs() < 1e-15);
    assert_eq!(list[0]["status"], "pass", "{stdout}");
    assert!(t["p_value"].as_f64().unwrap() <= 0.05 && t["statistic"]["for"] == 5);
    assert_eq!(list[0]["arms"].as_array().unwrap().len(), 2);
    assert_eq!(list[0]["arms"][0]["values"].as_array().unwrap().len(), 5);
    assert_eq!((list[1]["status"].as_str(), list[1]["pass"].as_bool()), (Some("report"), Some(false)));
    assert_eq!(list[1]["gating"], false);
    assert_eq!(list[2]["arms"][0]["best_of"], "0.1");
    assert_eq!((list[3]["status"].as_str(), list[3]["test"]["name"].as_str()), (Some("fail"), Some("mcnemar")));
    assert_eq!(list[3]["test"]["degenerate"], true);
    assert_eq!((list[4]["test"]["name"].as_str(), list[4]["test"]["paired"].as_bool()), (Some("rank"), Some(false)));
    assert!(stdout.contains("PASS lr 0.1 ends") && stdout.contains("REPORT (does not hold) the reverse"), "{stdout}");
    assert!(stdout.contains("(best of: 0.1)") && stdout.contains("DEGENERATE"), "{stdout}");

    // Under --quick (2 seeds) the claims limited to `full` are not checked; the others cannot
    // reach alpha with 2 seeds and are refused before anything runs.
    let o = harness(&[&spec, "--out", dir.join("q").to_str().unwrap(), "--quick"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in ["expect[1]", "lr 0.1 ends with", "sign test with 2 seeds", "p = 2.500e-1", "at least 5 seeds"] {
        assert!(err.contains(needle), "`{needle}` not in {err}");
    }
    assert!(!dir.join("q").exists());
    let limited = CLAIMS
        .replace("op = \"<\"\n\n", "op = \"<\"\nprofiles = [\"full\"]\n\n")
        .replace("op = \"<\"\nkind = \"report\"\n\"#", "op = \"<\"\nkind = \"report\"\nprofiles = [\"full\"]\n\"#");
    let limited: String = limited.replace("kind = \"report\"\n", "kind = \"report\"\nprofiles = [\"full\"]\n");
    let spec = write_spec(&dir, &with(&limited));
    let o = harness(&[&spec, "--out", dir.join("q").to_str().unwrap(), "--quick"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", stderr(&o));
    assert!(
        stdout.contains("SKIP lr 0.1 ends with a lower held-out loss than lr 0.0001: not checked under profile quick")
    );
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(dir.join("q/expectations.json")).unwrap()).unwrap();
    assert!(list.iter().all(|c| c["status"] == "not checked" && c["pass"].is_null()));
}

#[test]
fn bad_tests_are_refused_at_load() {
    let dir = temp_dir("bad-tests");
    let cases: [(&str, &str, &str); 6] = [
        ("metric = \"final_loss\"\ntest = \"mcnemar\"", "`mcnemar` does not apply", "expect[1].test"),
        ("metric = \"success_rate\"", "a test needs a per-run metric", "expect[1].metric"),
        ("metric = \"final_loss\"\nprofiles = [\"fast\"]", "no profile `fast`", "expect[1].profiles"),
        ("metric = \"final_loss\"\nthreshold = 0.5", "takes no threshold", "expect[1].threshold"),
        ("metric = \"solved_end\"\nbest_of = \"train.lr\"", "differ in more than `train.lr`", "expect[1].versus"),
        ("metric = \"final_loss\"\nalpha = 1e-9", "at least 30 seeds", "expect[1]"),
    ];
    for (i, (extra, needle, key)) in cases.iter().enumerate() {
        let versus = if extra.contains("best_of") {
            "{ \"model.hidden\" = 8 }"
        } else {
            "{ \"train.lr\" = 0.0001, \"model.hidden\" = 8 }"
        };
        let text = with(&format!(
            "[[expect]]\nclaim = \"c\"\nwhere = {{ \"train.lr\" = 0.1, \"model.hidden\" = 8 }}\nversus = {versus}\nop = \">\"\n{extra}\n"
        ));
        let spec = write_spec(&dir, &text);
        let out = dir.join(format!("out{i}"));
        let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains(needle) && err.contains(key), "case {i}: `{needle}`/`{key}` not in {err}");
        assert!(!out.exists());
    }
    // A claim on solved_end of runs that stop at their first success is refused.
    let text = with(
        "[[expect]]\nclaim = \"c\"\nwhere = { \"train.lr\" = 0.1, \"model.hidden\" = 8 }\nversus = { \"train.lr\" = 0.0001, \"model.hidden\" = 8 }\nop = \">\"\nmetric = \"solved_end\"\n",
    )
    .replace("eval_size = 200", "eval_size = 200\nstop_on_success = true");
    let spec = write_spec(&dir, &text);
    let o = harness(&[&spec, "--out", dir.join("se").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("stop_on_success"), "{}", stderr(&o));
}

#[test]
fn one_sample_tests_and_success_by_loss() {
    let dir = temp_dir("one-sample");
    let text = with(
        r#"
[[expect]]
claim = "lr 0.1 solves in more than a third of seeds"
where = { "train.lr" = 0.1, "model.hidden" = 8 }
metric = "solved_end"
test = "binomial"
op = ">"
threshold = 0.05

[[expect]]
claim = "lr 0.0001 stays above half the baseline"
where = { "train.lr" = 0.0001, "model.hidden" = 8 }
metric = "final_loss"
test = "sign"
op = ">"
threshold = 0.125
"#,
    )
    .replace("eval_size = 200", "eval_size = 200\nsuccess_loss = 0.05");
    let spec = write_spec(&dir, &text);
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", stderr(&o));
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(out.join("expectations.json")).unwrap()).unwrap();
    assert_eq!(list[0]["test"]["name"], "binomial");
    assert_eq!(list[1]["test"]["name"], "sign");
    // Solved by held-out loss alone: every solved run's final loss is at most 0.05 at its hit.
    for r in records(&out) {
        if r["solved_end"] == true {
            assert!(r["final_loss"].as_f64().unwrap() <= 0.05, "{r}");
        }
    }
}

const DESCENT: &str = r#"
[experiment]
name = "descent"

[evaluate]
problem = "one_unit_descent"
seq_len = 50
x0 = 0.5
target = 0.7
w0 = [4.6, 5.0, 5.4, 5.8, 6.0]
delta = [0.01, 0.05]
lr = 0.1
steps = 400
clip_threshold = 1.0

[[expect]]
claim = "clipped steps never jump"
where = { arm = "clipped" }
metric = "jumps"
op = "<="
threshold = 0.0

[[expect]]
claim = "clipped ends lower"
where = { arm = "clipped" }
versus = { arm = "unclipped" }
metric = "final_loss"
op = "<"
kind = "report"

[[expect]]
claim = "clipped ends in the valley more often"
where = { arm = "clipped" }
versus = { arm = "unclipped" }
metric = "in_valley"
op = ">"
kind = "report"
"#;

#[test]
fn the_descent_runs_both_arms_from_the_same_starts() {
    let dir = temp_dir("descent");
    let spec = write_spec(&dir, DESCENT);
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", stderr(&o));
    let starts = fs::read_to_string(out.join("starts.csv")).unwrap();
    assert_eq!(starts.lines().count(), 1 + 10 * 2);
    for f in ["trajectories.csv", "plots/descent.svg", "expectations.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(out.join("expectations.json")).unwrap()).unwrap();
    assert_eq!(list[0]["status"], "pass");
    assert_eq!((list[1]["test"]["name"].as_str(), list[1]["test"]["paired"].as_bool()), (Some("sign"), Some(true)));
    assert_eq!(list[2]["test"]["name"], "mcnemar");
    // Ten starts: a test needing five concordant-free pairs is reachable; with alpha 1e-4 it is not.
    let text = DESCENT
        .replace("kind = \"report\"\n\"#", "")
        .replace("op = \">\"\nkind = \"report\"", "op = \">\"\nalpha = 1e-4");
    let spec = write_spec(&dir, &text);
    let o = harness(&[&spec, "--out", dir.join("o2").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("mcnemar test with 10 seeds"), "{}", stderr(&o));
}

#[test]
fn the_cliff_claims_do_not_depend_on_the_grid() {
    let dir = temp_dir("cliff-facts");
    let base = r#"
[experiment]
name = "cliff"

[evaluate]
problem = "one_unit_cliff"
seq_len = 50
x0 = 0.5
target = 0.7
scan_w = 5.0
scan_b = [-3.0, -2.0]
scan_points = POINTS

[[expect]]
claim = "the refined peak lies in the bistable interval"
metric = "peak_bistable_margin"
op = ">"
threshold = 0.0

[[expect]]
claim = "at the attractor switch"
metric = "peak_switch_distance"
op = "<="
threshold = 1e-3

[[expect]]
claim = "refined ratio"
metric = "peak_ratio_refined"
op = ">="
threshold = 100.0
"#;
    let mut peaks = Vec::new();
    for points in ["101", "1001"] {
        let spec = write_spec(&dir, &base.replace("POINTS", points));
        let out = dir.join(format!("out{points}"));
        let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        let facts: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("cliff.json")).unwrap()).unwrap();
        peaks.push(facts["peak_dloss_db"].as_f64().unwrap());
    }
    assert!((peaks[0] - peaks[1]).abs() <= 1e-6 * peaks[1], "{peaks:?}");
}

/// Every spec in `experiments/` loads under the full profile and under each profile it
/// defines: its claims name real configurations and every test can reach its alpha.
#[test]
fn every_experiment_spec_loads_under_each_of_its_profiles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    let mut specs: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 10, "{specs:?}");
    for path in specs {
        let text = fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let profiles: Vec<String> =
            table.get("profile").and_then(|p| p.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default();
        assert!(profiles.iter().any(|p| p == "quick"), "{} has no [profile.quick]", path.display());
        for profile in std::iter::once(None).chain(profiles.iter().map(|p| Some(p.as_str()))) {
            if let Err(e) = harness::spec::load(&path, profile, &[]) {
                panic!("{} under {profile:?}: {e}", path.display());
            }
        }
    }
}
