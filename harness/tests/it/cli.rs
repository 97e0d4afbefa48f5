//! End-to-end tests of the `harness` binary on small specs in temporary directories.

use crate::support::{files, harness, stderr, temp_dir, without_time_fields, write_spec};
use std::fs;
use std::path::Path;

/// A small sweep: 2 configurations × 2 seeds, every log enabled.
const SMALL: &str = r#"
[experiment]
name = "small"
seeds = 2

[model]
cell = "rnn"
hidden = 6

[task]
kind = "temporal_order"
seq_len = [10, 14]

[train]
optimizer = "momentum"
lr = 0.05
batch = 8
steps = 12
clip = "norm"
eval_every = 5
eval_size = 40

[log]
every = 2
grad_norms_every = 5

[sweep]
"model.cell" = ["rnn", "gru"]
"#;

#[test]
fn one_and_two_threads_give_identical_outputs() {
    let dir = temp_dir("threads");
    let spec = write_spec(&dir, SMALL);
    let (a, b) = (dir.join("t1"), dir.join("t2"));
    for (out, threads) in [(&a, "1"), (&b, "2")] {
        let o = harness(&[&spec, "--out", out.to_str().unwrap(), "--threads", threads]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    // 4 runs × 4 files, plus spec, source, manifest, lock, runs.jsonl, summary and 5 plots.
    assert_eq!(fa.len(), 4 * 4 + 12, "{:?}", fa.keys());
    for (name, bytes) in &fa {
        let other = &fb[name];
        let volatile = name.ends_with(".json") || name.ends_with(".jsonl");
        if volatile {
            assert_eq!(without_time_fields(name, bytes), without_time_fields(name, other), "{name} differs");
        } else {
            assert!(bytes == other, "{name} differs between --threads 1 and 2");
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(&fa["manifest.json"]).unwrap();
    for key in ["version", "rustc", "cpu", "simd", "threads", "start_time", "end_time", "git_commit"] {
        assert!(manifest.get(key).is_some(), "manifest lacks {key}");
    }
    assert_eq!(manifest["threads"], 1);
}

#[test]
fn outputs_follow_the_contract() {
    let dir = temp_dir("contract");
    let spec = write_spec(&dir, SMALL);
    let out = dir.join("out");
    let o =
        harness(&[&spec, "--out", out.to_str().unwrap(), "--set", "train.steps=7", "--set", "experiment.seeds=[3, 9]"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("success (95% CI)") && stdout.contains("gru"), "no summary table: {stdout}");

    let resolved = fs::read_to_string(out.join("spec.toml")).unwrap();
    assert!(resolved.contains("steps = 7") && resolved.contains("seeds = [3, 9]"), "{resolved}");
    let runs = fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = runs.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 4);
    let seeds: Vec<u64> = records.iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, [3, 9, 3, 9]);
    for r in &records {
        for key in ["id", "seed", "params", "status", "final_loss", "solved", "steps_to_solve", "wall_s"] {
            assert!(r.get(key).is_some(), "run record lacks {key}: {r}");
        }
        assert_eq!(r["status"], "ok");
        let id = r["id"].as_str().unwrap();
        let metrics = fs::read_to_string(out.join("runs").join(id).join("metrics.csv")).unwrap();
        let mut lines = metrics.lines();
        assert!(lines.next().unwrap().starts_with("step,loss,grad_norm,clipped_grad_norm,"));
        let steps: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
        // Every 2 steps, plus evaluations (0, 5) and the final step 7.
        assert_eq!(steps, ["0", "2", "4", "5", "6", "7"]);
        let grads = fs::read_to_string(out.join("runs").join(id).join("grad_norms.csv")).unwrap();
        let rows: Vec<&str> = grads.lines().collect();
        assert_eq!(rows[0], "step,lag,norm");
        // Steps 0 and 5, one row per lag of the minibatch's length (10..=14).
        let at_zero = rows[1..].iter().filter(|l| l.starts_with("0,")).count();
        assert!((10..=14).contains(&at_zero), "{at_zero} lags at step 0");
        assert!(rows[1].starts_with("0,0,"));
    }
    assert_eq!(records[0]["params"]["model.cell"], "rnn");
    let ids: std::collections::BTreeSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4, "run ids must be distinct");

    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert!(lines[0].starts_with(
        "model.cell,runs,diverged,solved,success_rate,success_low,success_high,median_steps_to_solve,final_loss_min"
    ));
    assert_eq!(lines.len(), 3);
    for plot in ["grad_norms.svg", "loss.svg", "success.svg"] {
        let svg = fs::read_to_string(out.join("plots").join(plot)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<text"), "{plot} has no text elements");
    }
    // Refuses to overwrite.
    let again = harness(&[&spec, "--out", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--resume"));
}

#[test]
fn run_ids_and_results_are_stable_across_sweeps() {
    // The same configuration gets the same id and results whether or not other configurations are swept with it.
    let dir = temp_dir("stable");
    let spec = write_spec(&dir, SMALL);
    let (a, b) = (dir.join("a"), dir.join("b"));
    assert!(harness(&[&spec, "--out", a.to_str().unwrap()]).status.success());
    assert!(harness(&[&spec, "--out", b.to_str().unwrap(), "--set", "sweep.model.cell=[\"gru\"]"]).status.success());
    let runs_b = fs::read_to_string(b.join("runs.jsonl")).unwrap();
    assert_eq!(runs_b.lines().count(), 2);
    for line in runs_b.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = r["id"].as_str().unwrap();
        let metrics = |d: &Path| fs::read(d.join("runs").join(id).join("metrics.csv")).unwrap();
        assert_eq!(metrics(&a), metrics(&b), "run {id}");
    }
}

#[test]
fn resume_skips_complete_runs_and_redoes_partial_ones() {
    let dir = temp_dir("resume");
    let spec = write_spec(&dir, SMALL);
    let out = dir.join("out");
    assert!(harness(&[&spec, "--out", out.to_str().unwrap(), "--threads", "2"]).status.success());
    let before = files(&out);
    let records: Vec<serde_json::Value> =
        fs::read_to_string(out.join("runs.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Simulate an interruption: one run missing, one half-written under its temporary name, no aggregates.
    let lost = records[1]["id"].as_str().unwrap().to_string();
    fs::rename(out.join("runs").join(&lost), out.join("runs").join(format!(".tmp-{lost}"))).unwrap();
    fs::remove_file(out.join("runs").join(format!(".tmp-{lost}")).join("result.json")).unwrap();
    fs::remove_file(out.join("runs.jsonl")).unwrap();
    fs::remove_file(out.join("summary.csv")).unwrap();

    let o = harness(&[&spec, "--out", out.to_str().unwrap(), "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("3 runs already complete, 1 to go"), "{}", stderr(&o));
    let after = files(&out);
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (name, bytes) in &before {
        if name.contains(&lost) || name == "runs.jsonl" || name == "manifest.json" {
            assert_eq!(without_time_fields(name, bytes), without_time_fields(name, &after[name]), "{name}");
        } else {
            // Skipped runs are untouched, wall times included; aggregates are rebuilt identically.
            assert!(*bytes == after[name], "{name} changed on resume");
        }
    }
    // A different spec cannot resume this directory.
    let o = harness(&[&spec, "--out", out.to_str().unwrap(), "--resume", "--set", "train.lr=0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("differs"), "{}", stderr(&o));
}

/// A ReLU RNN at ρ = 3 diverges in both precisions (its gradient norm at initialisation is
/// about 1e31: beyond `train.diverge_norm`, and near f32's limit); the verdict is the same.
#[test]
fn a_diverging_run_is_recorded_the_same_in_f32_and_f64_and_the_sweep_goes_on() {
    let dir = temp_dir("diverge");
    let spec = write_spec(
        &dir,
        r#"
[experiment]
name = "diverge"

[model]
cell = "rnn"
activation = "relu"
hidden = 20
init = "orthogonal"
recurrent_scale = 3.0

[task]
kind = "adding"
seq_len = 40

[train]
lr = 0.01
batch = 8
steps = 50
eval_every = 10
eval_size = 20

[sweep]
"model.recurrent_scale" = [3.0, 0.5]
"model.precision" = ["f32", "f64"]
"#,
    );
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let runs = fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = runs.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for r in &records[..2] {
        assert_eq!(r["status"], "diverged", "{runs}");
        assert_eq!(r["solved"], false);
        let at = r["diverged_at"].as_u64().unwrap();
        assert!(at <= 50);
        let reason = r["diverged_reason"].as_str().unwrap();
        let metrics = fs::read_to_string(out.join("runs").join(r["id"].as_str().unwrap()).join("metrics.csv")).unwrap();
        let last = metrics.lines().last().unwrap();
        assert!(last.starts_with(&format!("{at},")), "last metrics row {last}");
        let norm: f64 = last.split(',').nth(2).unwrap().parse().unwrap_or(f64::NAN);
        match reason {
            "nonfinite" => {
                assert!(!norm.is_finite() || !last.split(',').nth(1).unwrap().parse::<f64>().unwrap().is_finite())
            }
            "norm" => assert!(norm > 1e10, "{last}"),
            "loss" => {}
            other => panic!("reason {other}"),
        }
    }
    // The verdict does not depend on the precision; the other configuration ran to the end.
    assert_eq!(records[2]["status"], "ok", "{runs}");
    assert_eq!(records[3]["status"], "ok", "{runs}");
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.lines().nth(1).unwrap().starts_with("3.0,f32,1,1,0,"), "{summary}");
    assert!(summary.lines().nth(2).unwrap().starts_with("3.0,f64,1,1,0,"), "{summary}");
}

/// Runs a bad spec: exit code 2, the message names the key and the line, nothing written.
fn rejects(name: &str, text: &str, extra: &[&str], needles: &[&str]) {
    let dir = temp_dir(name);
    let spec = write_spec(&dir, text);
    let out = dir.join("out");
    let mut args = vec![spec.as_str(), "--out", out.to_str().unwrap()];
    args.extend(extra);
    let o = harness(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{name}: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{name}: `{needle}` not in: {err}");
    }
    assert!(!out.exists(), "{name}: output directory created");
    assert!(!Path::new("runs").join("small").exists());
}

/// `:LINE:` of the first line of `text` containing `needle`, as error messages print it.
fn line_of(text: &str, needle: &str) -> String {
    let line = text.lines().position(|l| l.contains(needle)).expect("needle occurs") + 1;
    format!(":{line}:")
}

/// `SMALL` with `from` replaced by `to` (which must occur).
fn small_with(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from));
    SMALL.replacen(from, to, 1)
}

#[test]
fn unknown_key_is_rejected_with_a_suggestion() {
    rejects(
        "unknown",
        &small_with("hidden = 6", "hiden = 6"),
        &[],
        &[line_of(SMALL, "hidden = 6").as_str(), "model.hiden", "did you mean `hidden`"],
    );
    rejects(
        "unknown-table",
        &small_with("[log]", "[logs]"),
        &[],
        &[line_of(SMALL, "[log]").as_str(), "logs", "did you mean `log`"],
    );
}

#[test]
fn unknown_variant_is_rejected_with_a_suggestion() {
    rejects(
        "variant",
        &small_with("\"momentum\"", "\"momentun\""),
        &[],
        &[line_of(SMALL, "\"momentum\"").as_str(), "train.optimizer", "did you mean `momentum`"],
    );
}

#[test]
fn wrong_type_is_rejected() {
    rejects(
        "type",
        &small_with("batch = 8", "batch = \"eight\""),
        &[],
        &[line_of(SMALL, "batch = 8").as_str(), "train.batch", "invalid type"],
    );
}

#[test]
fn out_of_range_values_are_rejected() {
    rejects(
        "seq0",
        &small_with("seq_len = [10, 14]", "seq_len = 0"),
        &[],
        &[line_of(SMALL, "seq_len = [10, 14]").as_str(), "task.seq_len"],
    );
    rejects(
        "hidden0",
        &small_with("hidden = 6", "hidden = 0"),
        &[],
        &[line_of(SMALL, "hidden = 6").as_str(), "model.hidden"],
    );
    rejects(
        "lr",
        &small_with("lr = 0.05", "lr = -0.05"),
        &[],
        &[line_of(SMALL, "lr = 0.05").as_str(), "train.lr", ">= 0"],
    );
    rejects(
        "range",
        &small_with("seq_len = [10, 14]", "seq_len = [14, 10]"),
        &[],
        &[line_of(SMALL, "seq_len = [10, 14]").as_str(), "task.seq_len"],
    );
    rejects(
        "short",
        &small_with("seq_len = [10, 14]", "seq_len = 9"),
        &[],
        &[line_of(SMALL, "seq_len = [10, 14]").as_str(), "at least 10"],
    );
}

#[test]
fn bad_sweeps_are_rejected() {
    rejects(
        "sweep-key",
        &small_with("\"model.cell\" = [", "\"model.cel\" = ["),
        &[],
        &[line_of(SMALL, "\"model.cell\" = [").as_str(), "model.cel", "did you mean `cell`"],
    );
    rejects(
        "sweep-value",
        &small_with("[\"rnn\", \"gru\"]", "[\"rnn\", \"grr\"]"),
        &[],
        &[line_of(SMALL, "[\"rnn\", \"gru\"]").as_str(), "model.cell", "did you mean `gru`"],
    );
    rejects(
        "sweep-list",
        &small_with("[\"rnn\", \"gru\"]", "\"gru\""),
        &[],
        &[line_of(SMALL, "[\"rnn\", \"gru\"]").as_str(), "model.cell", "list"],
    );
    rejects(
        "sweep-overlap",
        &format!("{SMALL}\"model\" = [{{ cell = \"lstm\" }}, {{ hidden = 8 }}]\n"),
        &[],
        &["sweep.model", "sweeps `model.cell` and `model` both set `model.cell`"],
    );
}

#[test]
fn bad_overrides_are_rejected() {
    rejects("set", SMALL, &["--set", "model.hidden=0"], &["--set model.hidden=0", "model.hidden"]);
    rejects("set-key", SMALL, &["--set", "train.lrate=0.1"], &["train.lrate", "did you mean `lr`"]);
    rejects("quick", SMALL, &["--quick"], &["[profile.quick]"]);
    rejects(
        "old-quick",
        &format!("{SMALL}\n[quick]\n\"train.steps\" = 3\n"),
        &["--quick"],
        &["`[quick]` is now `[profile.quick]`"],
    );
    rejects("profile", SMALL, &["--profile", "paper"], &["[profile.paper]"]);
}

#[test]
fn syntax_errors_and_unreadable_files_are_rejected() {
    rejects("syntax", &small_with("[train]", "[train"), &[], &[line_of(SMALL, "[train]").as_str()]);
    let dir = temp_dir("missing");
    let out = dir.join("out");
    let o = harness(&[dir.join("nope.toml").to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.toml") && stderr(&o).contains("cannot read"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn quick_overrides_apply() {
    let dir = temp_dir("quick");
    let spec =
        write_spec(&dir, &format!("{SMALL}\n[profile.quick]\n\"train.steps\" = 3\n\"sweep.model.cell\" = [\"gru\"]\n"));
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap(), "--quick"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved = fs::read_to_string(out.join("spec.toml")).unwrap();
    assert!(resolved.contains("steps = 3") && !resolved.contains("rnn\", \"gru"), "{resolved}");
    assert_eq!(fs::read_to_string(out.join("runs.jsonl")).unwrap().lines().count(), 2);
}

#[test]
fn the_example_spec_runs() {
    let dir = temp_dir("example");
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/example.toml");
    let out = dir.join("out");
    let o = harness(&[spec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = fs::read_to_string(out.join("runs.jsonl")).unwrap();
    assert_eq!(runs.lines().count(), 6);
    assert_eq!(runs.matches("\"status\":\"ok\"").count(), 6, "{runs}");
}

#[test]
fn a_solvable_task_is_solved_and_stops() {
    let dir = temp_dir("solve");
    let spec = write_spec(
        &dir,
        r#"
[experiment]
name = "solve"

[model]
cell = "rnn"
hidden = 8

[task]
kind = "two_sequence"
seq_len = 10

[train]
optimizer = "adam"
lr = 0.02
batch = 16
steps = 2000
eval_every = 20
eval_size = 200
stop_on_success = true
"#,
    );
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(fs::read_to_string(out.join("runs.jsonl")).unwrap().trim()).unwrap();
    assert_eq!(r["solved"], true, "{r}");
    let at = r["steps_to_solve"].as_u64().unwrap();
    assert!(at < 2000 && at.is_multiple_of(20), "{r}");
    assert!(r["final_error_rate"].as_f64().unwrap() <= 0.01);
    let metrics = fs::read_to_string(out.join("runs").join(r["id"].as_str().unwrap()).join("metrics.csv")).unwrap();
    assert!(metrics.lines().last().unwrap().starts_with(&format!("{at},")), "training did not stop at {at}");
}

/// A spec with two claims about the SMALL sweep: one that holds, and one that
/// cannot (a success rate above 1).
fn with_claims(failing_threshold: f64) -> String {
    format!(
        r#"{SMALL}
[[expect]]
claim = "no run diverges"
metric = "diverged_fraction"
op = "<="
threshold = 0.0

[[expect]]
claim = "the GRU succeeds more than this"
where = {{ "model.cell" = "gru" }}
metric = "success_rate"
op = ">"
threshold = {failing_threshold}
quick_threshold = -1.0
"#
    )
}

#[test]
fn a_failing_claim_exits_3_and_is_recorded() {
    let dir = temp_dir("claims");
    let spec = write_spec(&dir, &with_claims(1.5));
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap(), "--set", "train.steps=3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("PASS no run diverges") && stdout.contains("FAIL the GRU"), "{stdout}");
    let checked: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("expectations.json")).unwrap()).unwrap();
    let list = checked.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!((list[0]["pass"].as_bool(), list[1]["pass"].as_bool()), (Some(true), Some(false)));
    for key in ["claim", "measured", "threshold", "pass"] {
        assert!(list[1].get(key).is_some(), "{key}");
    }
    assert_eq!(list[1]["threshold"], 1.5);
    // The same claims all hold with a reachable threshold, or under --quick's.
    let o = harness(&[&spec, "--out", dir.join("q").to_str().unwrap(), "--set", "train.steps=3", "--quick"]);
    assert_eq!(o.status.code(), Some(2), "no [quick] table: {}", stderr(&o));
    let spec2 = write_spec(&dir, &format!("{}\n[profile.quick]\n\"train.steps\" = 3\n", with_claims(1.5)));
    let o = harness(&[&spec2, "--out", dir.join("q").to_str().unwrap(), "--quick"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn bad_claims_are_spec_errors() {
    let text = with_claims(0.5);
    rejects(
        "claim-metric",
        &text.replace("\"success_rate\"", "\"sucess_rate\""),
        &[],
        &["expect[2].metric", "unknown metric", &line_of(&text, "metric = \"success_rate\"")],
    );
    rejects("claim-op", &text.replace("\">\"", "\"=>\""), &[], &["expect[2].op"]);
    rejects("claim-where", &text.replace("\"gru\" }", "\"lstm\" }"), &[], &["expect[2].where", "selects no"]);
    rejects("claim-key", &text.replace("threshold = 0.0", "treshold = 0.0"), &[], &["expect[1]", "treshold"]);
}

#[test]
fn omega_is_logged_and_rejected_for_gated_cells() {
    let dir = temp_dir("omega");
    let text = SMALL.replace("clip = \"norm\"", "clip = \"norm\"\nomega_alpha = 0.5").replace("\"gru\"]", "\"rnn\"]");
    let text = text
        .replace("\"model.cell\" = [\"rnn\", \"rnn\"]", "\"train\" = [{ omega_alpha = 0.0 }, { omega_alpha = 2.0 }]");
    let spec = write_spec(&dir, &text);
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(runs.lines().next().unwrap()).unwrap();
    let metrics = fs::read_to_string(out.join("runs").join(first["id"].as_str().unwrap()).join("metrics.csv")).unwrap();
    let header = "step,loss,grad_norm,clipped_grad_norm,eval_loss,error_rate,spectral_radius,omega,task_grad_norm\n";
    assert!(metrics.starts_with(header), "{metrics}");
    let omega: f64 = metrics.lines().nth(1).unwrap().split(',').nth(7).unwrap().parse().unwrap();
    assert!(omega.is_finite() && omega >= 0.0, "{metrics}");
    rejects(
        "omega-gru",
        &SMALL.replace("clip = \"norm\"", "clip = \"norm\"\nomega_alpha = 0.5"),
        &[],
        &["train.omega_alpha", "vanilla RNN"],
    );
}

#[test]
fn evaluate_only_cliff_checks_its_claims() {
    let dir = temp_dir("cliff");
    let text = r#"
[experiment]
name = "cliff"

[evaluate]
problem = "one_unit_cliff"
seq_len = 50
x0 = 0.5
target = 0.7
scan_w = 5.0
scan_b = [-3.0, -2.0]
scan_points = 2001
surface_w = [4.0, 6.0]
surface_b = [-3.0, -2.0]
surface_points = [5, 5]

[[expect]]
claim = "E at b = -2.5 matches mpmath"
metric = "loss"
at = { w = 5.0, b = -2.5 }
reference = 0.024088868813358221264
op = "<="
threshold = 1e-9

[[expect]]
claim = "spike"
metric = "spike_ratio"
within = [-2.6556, -2.3444]
op = ">="
threshold = 1e9
"#;
    let spec = write_spec(&dir, text);
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("PASS E at b = -2.5") && stdout.contains("FAIL spike"), "{stdout}");
    for f in ["scan.csv", "surface.csv", "plots/cliff_scan.svg", "plots/cliff_surface.svg", "expectations.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    rejects("cliff-at", &text.replace("at = { w = 5.0, b = -2.5 }", "at = { w = 5.0 }"), &[], &["expect[1].at.b"]);
}

/// The binary `cargo test` builds (the dev-profile family, as `cargo run -p
/// harness` without `--release`) runs a sweep with the default thread count:
/// every configuration on a pool worker, with long sequences through every
/// cell's kernels. A worker stack too small for the kernels would abort it
/// (`has overflowed its stack`).
#[test]
fn the_dev_profile_binary_runs_a_sweep_with_default_threads() {
    let dir = temp_dir("dev-binary");
    let spec = write_spec(
        &dir,
        r#"
[experiment]
name = "dev-binary"
seeds = 2

[model]
cell = "lstm"
hidden = 32

[task]
kind = "copy"
seq_len = 200

[train]
optimizer = "adam"
lr = 0.01
batch = 8
steps = 2
eval_every = 2
eval_size = 16

[log]
grad_norms_every = 2

[sweep]
"model.cell" = ["lstm", "gru", "rnn"]
"#,
    );
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), stderr(&o));
    let runs = fs::read_to_string(out.join("runs.jsonl")).unwrap();
    assert_eq!(runs.lines().count(), 6, "{runs}");
    assert_eq!(runs.matches("\"status\":\"ok\"").count(), 6, "{runs}");
    let written = files(&out);
    for f in
        ["spec.toml", "manifest.json", "summary.csv", "plots/grad_norms.svg", "plots/loss.svg", "plots/success.svg"]
    {
        assert!(written.contains_key(f), "{f} not written: {:?}", written.keys());
    }
    assert_eq!(written.keys().filter(|k| k.starts_with("runs/")).count(), 6 * 4, "{:?}", written.keys());
    let manifest: serde_json::Value = serde_json::from_slice(&written["manifest.json"]).unwrap();
    assert!(manifest["threads"].as_u64().unwrap() >= 1);
}

#[test]
fn each_run_records_its_provenance_apart_from_its_results() {
    let dir = temp_dir("provenance");
    let spec = write_spec(&dir, SMALL);
    let out = dir.join("out");
    let o = harness(&[&spec, "--out", out.to_str().unwrap(), "--set", "train.steps=2", "--threads", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = fs::read_to_string(out.join("runs.jsonl")).unwrap();
    let expected_commit = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    for line in runs.lines() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = rec["id"].as_str().unwrap();
        let text = fs::read_to_string(out.join("runs").join(id).join("provenance.json")).unwrap();
        let p: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!((p["id"].as_str(), &p["seed"]), (Some(id), &rec["seed"]));
        assert_eq!(p["config"]["model"]["cell"], rec["params"]["model.cell"], "the resolved configuration");
        assert_eq!(p["config"]["train"]["steps"], 2);
        assert_eq!(p["simd"], kernels::simd::Level::best().name());
        assert_eq!((p["git_source"].as_str(), p["threads"].as_u64()), (Some("build"), Some(2)));
        if let Some(commit) = &expected_commit {
            // Built from this checkout (the test binary and the harness are one build).
            assert_eq!(p["git_commit"].as_str(), Some(commit.as_str()), "{text}");
            assert!(p["git_dirty"].is_boolean(), "{text}");
        }
        let crates: Vec<&str> = p["crates"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        for name in ["harness ", "kernels ", "rayon ", "rand_chacha "] {
            assert!(crates.iter().any(|c| c.starts_with(name)), "{name}: {crates:?}");
        }
        assert!(p["host"].as_str().is_some_and(|h| !h.is_empty()), "{text}");
        for t in ["start_time", "end_time"] {
            let t = p[t].as_str().unwrap();
            assert!(t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        }
        assert_eq!(p["wall_s"], rec["wall_s"]);
        // The record itself holds no provenance beyond wall_s.
        for key in ["host", "git_commit", "simd", "start_time"] {
            assert!(rec.get(key).is_none(), "runs.jsonl has {key}");
        }
    }
}
