//! Property tests of the spec loader: on random TOML, on mutations of real specs and on
//! random `--set` arguments it never panics, and its answer is either a valid plan or a
//! located error (the command line turns it into exit code 2, see `cli`): a line and
//! column in the file or the `--set` argument, and the dotted key whenever the text
//! parses as TOML.

use crate::sharding::SIX;
use harness::spec::{Origin, Plan, SpecError, load_str};
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Dotted keys the loader knows, and a few it does not.
const KEYS: &[&str] = &[
    "experiment.name",
    "experiment.seeds",
    "experiment.description",
    "model.cell",
    "model.activation",
    "model.hidden",
    "model.precision",
    "model.init",
    "model.recurrent_scale",
    "model.sparse_nonzeros",
    "model.input_scale",
    "model.output_scale",
    "model.forget_bias",
    "model.leaky_slope",
    "task.kind",
    "task.seq_len",
    "task.variant",
    "task.prefix_len",
    "task.noise_var",
    "task.form",
    "train.optimizer",
    "train.lr",
    "train.momentum",
    "train.batch",
    "train.steps",
    "train.clip",
    "train.clip_threshold",
    "train.l1",
    "train.penalty_on",
    "train.omega_alpha",
    "train.truncate",
    "train.eval_every",
    "train.eval_size",
    "train.success_tolerance",
    "train.success_loss",
    "train.stop_on_success",
    "train.diverge_norm",
    "log.every",
    "log.grad_norms_every",
    "sweep.model.hidden",
    "sweep.train.lr",
    "sweep.arm",
    "sweep.train",
    "sweep.experiment.seeds",
    "figures.group_by",
    "figures.paper_points",
    "evaluate.problem",
    "profile.quick",
    "expect",
    "model",
    "quick",
    "modle.hidden",
    "train.lrate",
    "",
    ".",
    "a..b",
];

/// Words that are values somewhere.
const WORDS: &[&str] = &[
    "rnn",
    "lstm",
    "gru",
    "tanh",
    "relu",
    "sigmoid",
    "f32",
    "f64",
    "orthogonal",
    "sparse",
    "adding",
    "copy",
    "latch",
    "temporal_order",
    "two_sequence",
    "sgd",
    "adam",
    "norm",
    "value",
    "none",
    "hh",
    "paper",
    "one_unit_cliff",
    "<=",
    ">",
    "solved",
    "mcnemar",
    "worst",
];

/// A TOML value, as text (sometimes not valid TOML).
fn value() -> impl Strategy<Value = String> {
    value_or_garbage(9)
}

/// A valid TOML value `odds` times in `odds + 1`, else a few random characters.
fn value_or_garbage(odds: u32) -> impl Strategy<Value = String> {
    prop_oneof![odds => toml_value(), 1 => prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter)]
}

/// A valid TOML value, as text, of any type the loader may meet.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        (-3i64..40).prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| toml::Value::Float(f).to_string()),
        prop::sample::select(vec![
            "nan",
            "inf",
            "-inf",
            "-0.0",
            "1e308",
            "1e-320",
            "0.5",
            "1_000",
            "0x10",
            "1979-05-27"
        ])
        .prop_map(String::from),
        prop::sample::select(WORDS).prop_map(|w| format!("\"{w}\"")),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::collection::vec(any::<char>(), 0..8).prop_map(|c| toml::Value::String(String::from_iter(c)).to_string()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..3).prop_map(|kv| {
                let items: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\" = {v}")).collect();
                format!("{{ {} }}", items.join(", "))
            }),
        ]
    })
}

/// Table headers a spec may have (and a few it may not).
const SECTIONS: &[&str] = &[
    "experiment",
    "model",
    "task",
    "train",
    "log",
    "sweep",
    "figures",
    "evaluate",
    "profile.quick",
    "profile.paper",
    "[expect]",
    "quick",
    "model.x",
];

/// A random spec: tables of keys (the last part of a dotted key, or a quoted dotted
/// key) with values, each table and key once, so that it is mostly valid TOML.
fn random_spec() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(KEYS).prop_map(|k| k
            .rsplit('.')
            .next()
            .filter(|l| !l.is_empty())
            .unwrap_or("x")
            .to_string()),
        prop::sample::select(KEYS).prop_map(|k| format!("\"{k}\"")),
    ];
    let table = (prop::sample::select(SECTIONS), prop::collection::btree_map(key, value_or_garbage(60), 0..8));
    prop::collection::vec(table, 0..9).prop_map(|tables| {
        let mut seen = Vec::new();
        let mut out = String::new();
        for (name, keys) in tables {
            if !name.starts_with('[') && seen.contains(&name) {
                continue;
            }
            seen.push(name);
            out.push_str(&format!("[{name}]\n"));
            for (k, v) in keys {
                out.push_str(&format!("{k} = {v}\n"));
            }
        }
        out
    })
}

/// One edit of a text.
#[derive(Clone, Debug)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    SetValue(usize, String),
    Insert(usize, String),
    Delete(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<usize>(), value()).prop_map(|(i, v)| Edit::SetValue(i, v)),
        (
            any::<usize>(),
            prop_oneof![
                value(),
                prop::sample::select(vec!["\n", "[", "]", "\"", "=", "#", "{", ","]).prop_map(String::from)
            ]
        )
            .prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// The nearest character boundary at or below `i % (len + 1)`.
fn boundary(text: &str, i: usize) -> usize {
    let mut i = i % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len().max(1);
    match edit {
        Edit::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(i % n);
        }
        Edit::DuplicateLine(i) if !lines.is_empty() => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Edit::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
        Edit::SetValue(i, v) if !lines.is_empty() => {
            let l = &mut lines[i % n];
            if let Some((k, _)) = l.split_once('=') {
                *l = format!("{k}= {v}");
            }
        }
        Edit::Insert(i, s) => {
            let at = boundary(text, *i);
            return format!("{}{s}{}", &text[..at], &text[at..]);
        }
        Edit::Delete(i, len) => {
            let at = boundary(text, *i);
            let end = boundary(text, (at + len).min(text.len()));
            return format!("{}{}", &text[..at], &text[end.max(at)..]);
        }
        Edit::Truncate(i) => return text[..boundary(text, *i)].to_string(),
        _ => {}
    }
    lines.join("\n")
}

/// The specs mutations start from: every experiment and the tests' small sweep.
fn corpus() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.sort();
    texts.push(SIX.to_string());
    texts
}

/// A `--set` argument: a known or odd key, `=`, a value (or no `=`).
fn set_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (prop::sample::select(KEYS), value()).prop_map(|(k, v)| format!("{k}={v}")),
        1 => prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
    ]
}

/// Loads under a panic guard and checks the property.
fn check(text: &str, profile: Option<&str>, sets: &[String]) -> Result<(), TestCaseError> {
    let result = catch_unwind(AssertUnwindSafe(|| load_str("s.toml", text, profile, sets)));
    let result = result.map_err(|_| TestCaseError::fail(format!("the loader panicked on\n{text}\nwith {sets:?}")))?;
    match result {
        Ok(plan) => valid(&plan),
        Err(e) => located(&e, text, sets),
    }
}

fn valid(plan: &Plan) -> Result<(), TestCaseError> {
    prop_assert!(plan.evaluate.is_some() == plan.configs.is_empty(), "a plan trains or evaluates");
    for c in &plan.configs {
        prop_assert!(c.spec.model.hidden >= 1 && c.spec.train.batch >= 1);
        let _ = c.label();
    }
    prop_assert!(!plan.resolved.is_empty());
    Ok(())
}

fn located(e: &SpecError, text: &str, sets: &[String]) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    prop_assert!(e.origin.is_some(), "no line or --set argument: {shown}\n--- spec:\n{text}\n--- sets: {sets:?}");
    prop_assert!(shown.starts_with("s.toml:"), "{shown}");
    // In the file, only a TOML syntax error has no key to name (a `--set` argument is shown whole).
    if matches!(e.origin, Some(Origin::File { .. })) && toml::from_str::<toml::Table>(text).is_ok() {
        prop_assert!(e.key.is_some(), "no key: {shown}\n--- spec:\n{text}\n--- sets: {sets:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_toml_never_panics_the_loader(text in random_spec(), quick in any::<bool>()) {
        check(&text, quick.then_some("quick"), &[])?;
    }

    #[test]
    fn mutated_specs_never_panic_the_loader(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
        quick in any::<bool>(),
    ) {
        let corpus = corpus();
        let text = edits.iter().fold(pick.get(&corpus).clone(), |t, e| apply(&t, e));
        check(&text, quick.then_some("quick"), &[])?;
    }

    #[test]
    fn random_set_values_never_panic_the_loader(
        pick in any::<prop::sample::Index>(),
        sets in prop::collection::vec(set_arg(), 1..4),
    ) {
        let corpus = corpus();
        check(pick.get::<String>(&corpus), None, &sets)?;
    }
}

/// Found by `random_set_values_never_panic_the_loader`: a seed count beyond
/// any sweep is a spec error naming the key, not an attempt to list the seeds
/// (the loader aborted allocating 4.7e18 bytes).
#[test]
fn an_absurd_seed_count_is_a_spec_error() {
    let corpus = corpus();
    for sets in [["experiment.seeds=4738825838962133264"], ["experiment.seeds=1000001"]] {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let err = load_str("s.toml", &corpus[0], None, &sets).expect_err("an absurd seed count must be refused");
        assert_eq!(err.key.as_deref(), Some("experiment.seeds"), "{err}");
        assert!(err.to_string().contains("more than the most a sweep runs"), "{err}");
    }
    let ok: Vec<String> = vec!["experiment.seeds=1000000".into()];
    load_str("s.toml", &corpus[0], None, &ok).expect("a million seeds is allowed");
}
