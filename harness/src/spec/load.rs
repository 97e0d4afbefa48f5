//! From a spec file and the command line to the [`Plan`] to run.
//!
//! 1. The file is parsed twice: once into a span-carrying tree, to know where
//!    every key is written, and once into a plain [`toml::Table`].
//! 2. The overrides of the chosen profile's `[profile.NAME]` table (`--profile NAME`;
//!    `--quick` is `--profile quick`), then `--set KEY=VALUE` overrides are applied to the table; each overridden key remembers where its value
//!    came from. An override of a swept key replaces the sweep; an override of
//!    `sweep.KEY` replaces that sweep list.
//! 3. The table is deserialized into a [`Spec`] and range-checked, and so is
//!    every point of the `[sweep]` cartesian product; the claims are checked
//!    against the configurations (those not checked under the profile only for
//!    their form), and a test that cannot reach its `alpha` with the seeds is refused.
//!
//! Every check reports a [`SpecError`] with the dotted key; the loader's
//! context locates it (file, line and column, or the `--set` argument) and
//! adds a "did you mean" suggestion for misspelt names.

use super::config::{Config, label};
use super::error::{Origin, SpecError};
use super::evaluate::EvalOnly;
use super::expect::{self, Expect};
use super::plan::{Figures, Plan};
use super::sections::Spec;
use super::suggest::suggestion;
use std::collections::HashMap;
use std::path::Path;
use toml::Value;
use toml::de::{DeTable, DeValue};

/// Reads and validates a spec under `profile` (`None`: the full spec): see the module docs.
pub fn load(path: &Path, profile: Option<&str>, sets: &[String]) -> Result<Plan, SpecError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| SpecError { file: file.clone(), ..SpecError::new(format!("cannot read the spec file: {e}")) })?;
    load_str(&file, &text, profile, sets)
}

/// [`load()`] on text already read; `file` names it in messages.
pub fn load_str(file: &str, text: &str, profile: Option<&str>, sets: &[String]) -> Result<Plan, SpecError> {
    let mut ctx = Context { file: file.to_string(), origins: HashMap::new() };
    let doc = DeTable::parse(text).map_err(|e| ctx.toml_error(text, &e))?;
    index_origins(doc.get_ref(), "", text, &mut ctx.origins);
    let mut table: toml::Table = toml::from_str(text).map_err(|e| ctx.toml_error(text, &e))?;

    if table.contains_key("quick") {
        return Err(
            ctx.error(Some("quick"), "`[quick]` is now `[profile.quick]` (override tables under [profile.NAME])")
        );
    }
    let profile_tables = match table.remove("profile") {
        None => toml::Table::new(),
        Some(Value::Table(t)) => t,
        Some(_) => return Err(ctx.error(Some("profile"), "must be tables: [profile.NAME]")),
    };
    if let Some((name, _)) = profile_tables.iter().find(|(n, v)| !v.is_table() || *n == "full") {
        let why =
            if name == "full" { "`full` names the spec without a profile" } else { "must be a table of overrides" };
        return Err(ctx.error(Some(&format!("profile.{name}")), why));
    }
    let profile_names: Vec<String> = profile_tables.keys().cloned().collect();
    let expect_value = table.remove("expect");
    let figures_value = table.remove("figures");
    let mut sweep: Vec<(String, Vec<Value>)> = Vec::new();
    if let Some(s) = table.remove("sweep") {
        for (key, value) in flatten(&s, "") {
            let values = ctx.sweep_values(&format!("sweep.{key}"), value)?;
            sweep.push((key, values));
        }
    }
    let mut overrides: Vec<(String, Value, Origin)> = Vec::new();
    if let Some(name) = profile {
        let q = profile_tables.get(name).ok_or_else(|| {
            let known = if profile_names.is_empty() { "none".to_string() } else { profile_names.join(", ") };
            let message =
                format!("--profile {name} given but the spec has no [profile.{name}] table (profiles: {known})");
            let origin = Some(Origin::Arg(format!("--profile {name}")));
            ctx.locate(SpecError { key: Some(format!("profile.{name}")), origin, ..SpecError::new(message) })
        })?;
        for (key, value) in flatten(q, "") {
            let origin = ctx.origin_of(&format!("profile.{name}.{key}"));
            overrides.push((key, value, origin));
        }
    }
    for arg in sets {
        let (key, value) = parse_set(arg).map_err(|e| ctx.locate(e))?;
        overrides.push((key, value, Origin::Set(arg.clone())));
    }
    for (key, value, origin) in overrides {
        ctx.origins.insert(key.clone(), origin);
        if let Some(swept) = key.strip_prefix("sweep.") {
            let values = ctx.sweep_values(&key, value)?;
            match sweep.iter_mut().find(|(k, _)| k == swept) {
                Some(entry) => entry.1 = values,
                None => sweep.push((swept.to_string(), values)),
            }
        } else {
            sweep.retain(|(k, _)| *k != key);
            set_path(&mut table, &key, value).map_err(|e| ctx.locate(e))?;
        }
    }

    let expects = ctx.expects(expect_value)?;
    for (i, e) in expects.iter().enumerate() {
        if let Some(p) = e.profiles.iter().flatten().find(|p| *p != "full" && !profile_names.contains(p)) {
            let known = std::iter::once("full".to_string()).chain(profile_names.iter().cloned()).collect::<Vec<_>>();
            let err = SpecError::at("profiles", format!("no profile `{p}`; one of {}", known.join(", ")));
            return Err(ctx.expect_error(i, err));
        }
    }
    let profile_owned = profile.map(str::to_string);
    let figures: Figures = match figures_value {
        None => Figures::default(),
        Some(v) => serde_path_to_error::deserialize(v).map_err(|e| ctx.de_error("figures", &e))?,
    };
    if let Some(k) = &figures.group_by
        && !sweep.iter().any(|(s, _)| s == k)
    {
        return Err(ctx.error(Some("figures.group_by"), format!("`{k}` is not a swept key")));
    }

    if table.contains_key("evaluate") {
        if !sweep.is_empty() {
            return Err(ctx.error(Some("sweep"), "an evaluate-only spec ([evaluate]) cannot have a [sweep]"));
        }
        let eval: EvalOnly =
            serde_path_to_error::deserialize(Value::Table(table.clone())).map_err(|e| ctx.de_error("", &e))?;
        eval.validate().map_err(|e| ctx.locate(e))?;
        for (i, e) in expects.iter().enumerate().filter(|(_, e)| e.applies_to(profile)) {
            eval.validate_expect(e, profile).map_err(|err| ctx.expect_error(i, err))?;
        }
        let resolved = resolved_toml(&table, &sweep, profile);
        let (configs, evaluate) = (Vec::new(), Some(eval));
        return Ok(Plan { sweep, configs, resolved, expects, profile: profile_owned, figures, evaluate });
    }

    // Two sweep entries must not set the same key (e.g. "model.cell" and a
    // table-valued "model" sweep that also sets `cell`): one would silently win.
    let leaves_of = |key: &str, values: &[Value]| -> Vec<String> {
        let mut leaves: Vec<String> =
            values.iter().flat_map(|v| point_leaves(key, v).into_iter().map(|(k, _)| k)).collect();
        leaves.sort();
        leaves.dedup();
        leaves
    };
    for (i, (a, va)) in sweep.iter().enumerate() {
        let la = leaves_of(a, va);
        for (b, vb) in &sweep[i + 1..] {
            if let Some(both) = leaves_of(b, vb).into_iter().find(|k| la.contains(k)) {
                return Err(ctx.error(Some(&format!("sweep.{b}")), format!("sweeps `{a}` and `{b}` both set `{both}`")));
            }
        }
    }

    let mut configs = Vec::new();
    for point in cartesian(&sweep) {
        let mut t = table.clone();
        for (key, value) in &point {
            for (k, v) in point_leaves(key, value) {
                // Blamed on the swept key, whose `[sweep]` entry wrote the value.
                set_path(&mut t, &k, v)
                    .map_err(|e| ctx.swept(&point).locate(SpecError { key: Some(key.clone()), ..e }))?;
            }
        }
        let spec = ctx.swept(&point).resolve(&t)?;
        if let Some(same) = configs.iter().find(|c: &&Config| c.spec == spec) {
            let message = format!("sweep points `{}` and `{}` are the same configuration", same.label(), label(&point));
            return Err(ctx.swept(&point).error(point.first().map(|(k, _)| k.as_str()), message));
        }
        // An arm is named by its `name` in labels and selectors.
        let params = point
            .into_iter()
            .map(|(k, v)| match (k.as_str(), &v) {
                (ARM, Value::Table(t)) => (k, t.get("name").cloned().unwrap_or(v)),
                _ => (k, v),
            })
            .collect();
        configs.push(Config { spec, params });
    }
    for (i, e) in expects.iter().enumerate().filter(|(_, e)| e.applies_to(profile)) {
        expect::validate_sweep(e, &configs, profile).map_err(|err| ctx.expect_error(i, err))?;
    }
    let resolved = resolved_toml(&table, &sweep, profile);
    Ok(Plan { sweep, configs, resolved, expects, profile: profile_owned, figures, evaluate: None })
}

/// The error context: the file name and where each key's value came from.
#[derive(Clone)]
struct Context {
    file: String,
    origins: HashMap<String, Origin>,
}

impl Context {
    /// `err` in this spec's file, at the origin of its key (or of the key's
    /// closest written ancestor) unless it already has one.
    fn locate(&self, err: SpecError) -> SpecError {
        // A key written nowhere (a missing section) is blamed on the file: its first line.
        let origin = err
            .origin
            .clone()
            .or_else(|| err.key.as_deref().map(|k| self.lookup(k).unwrap_or(Origin::File { line: 1, col: 1 })));
        SpecError { file: self.file.clone(), origin, ..err }
    }

    /// A located error about `key` (or about no key).
    fn error(&self, key: Option<&str>, message: impl Into<String>) -> SpecError {
        self.locate(SpecError { key: key.map(str::to_string), ..SpecError::new(message) })
    }

    /// The `[[expect]]` tables, deserialized (each error located in its table).
    fn expects(&self, value: Option<Value>) -> Result<Vec<Expect>, SpecError> {
        let Some(value) = value else { return Ok(Vec::new()) };
        let Value::Array(items) = value else {
            return Err(self.error(Some("expect"), "must be an array of tables: write each claim as [[expect]]"));
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let e: Expect = serde_path_to_error::deserialize(item).map_err(|e| {
                    let message = e.inner().message().trim().to_string();
                    let key = error_key(&e.path().to_string(), &message);
                    let mut err = self.expect_error(i, SpecError { key, ..SpecError::new(message.clone()) });
                    if let Some(s) = suggestion(&message) {
                        err.message.push_str(&format!("; did you mean `{s}`?"));
                    }
                    err
                })?;
                expect::validate_common(&e).map_err(|err| self.expect_error(i, err))?;
                Ok(e)
            })
            .collect()
    }

    /// `err`, whose key is relative to the `i`-th `[[expect]]` table, located
    /// in that table (`expect.I.KEY` in the origin index) and named as the user
    /// counts claims (`expect[I+1].KEY`).
    fn expect_error(&self, i: usize, err: SpecError) -> SpecError {
        let key = match &err.key {
            Some(k) => format!("expect[{}].{k}", i + 1),
            None => format!("expect[{}]", i + 1),
        };
        SpecError { key: Some(key), ..self.locate(err.under(&format!("expect.{i}"))) }
    }

    /// A deserialization error of a table other than the training spec, under `prefix`.
    fn de_error(&self, prefix: &str, e: &serde_path_to_error::Error<toml::de::Error>) -> SpecError {
        let message = e.inner().message().trim().to_string();
        let path = e.path().to_string();
        let path = if prefix.is_empty() { path } else { join(prefix, &path).trim_end_matches(".").to_string() };
        let key = error_key(&path, &message);
        let mut err = self.error(key.as_deref(), &message);
        if let Some(s) = suggestion(&message) {
            err.message.push_str(&format!("; did you mean `{s}`?"));
        }
        err
    }

    /// The origin of `key` or of its closest written ancestor.
    fn lookup(&self, key: &str) -> Option<Origin> {
        let mut k = key;
        loop {
            if let Some(o) = self.origins.get(k) {
                return Some(o.clone());
            }
            k = &k[..k.rfind('.')?];
        }
    }

    /// This context with each swept key located at its `[sweep]` entry.
    fn swept(&self, point: &[(String, Value)]) -> Context {
        let mut ctx = self.clone();
        for (key, _) in point {
            ctx.origins.insert(key.clone(), self.origin_of(&format!("sweep.{key}")));
        }
        ctx
    }

    fn origin_of(&self, key: &str) -> Origin {
        self.lookup(key).unwrap_or(Origin::File { line: 1, col: 1 })
    }

    fn toml_error(&self, text: &str, e: &toml::de::Error) -> SpecError {
        let origin = e.span().map(|s| {
            let (line, col) = line_col(text, s.start);
            Origin::File { line, col }
        });
        self.locate(SpecError { origin, ..SpecError::new(e.message().trim()) })
    }

    /// The values of the sweep entry `key` (`sweep.DOTTED.KEY`): a non-empty list; for
    /// `sweep.arm`, tables with a unique string `name` and dotted keys of any section but `experiment`.
    fn sweep_values(&self, key: &str, value: Value) -> Result<Vec<Value>, SpecError> {
        if key.starts_with("sweep.experiment.") {
            return Err(self.error(Some(key), "[experiment] keys cannot be swept"));
        }
        let values = match value {
            Value::Array(v) if !v.is_empty() => v,
            Value::Array(_) => return Err(self.error(Some(key), "a sweep needs at least one value")),
            other => return Err(self.error(Some(key), format!("a sweep takes a list of values, got `{other}`"))),
        };
        if key == "sweep.arm" {
            let mut names = Vec::new();
            for v in &values {
                let name = v.as_table().and_then(|t| t.get("name")).and_then(Value::as_str).ok_or_else(|| {
                    self.error(
                        Some(key),
                        "each arm is a table with a name: { name = \"...\", \"train.lr\" = 0.1, ... }",
                    )
                })?;
                if names.contains(&name) {
                    return Err(self.error(Some(key), format!("two arms are named `{name}`")));
                }
                names.push(name);
                if let Some((k, _)) = point_leaves("arm", v).into_iter().find(|(k, _)| k.starts_with("experiment.")) {
                    return Err(
                        self.error(Some(key), format!("an arm cannot set `{k}` ([experiment] keys cannot be swept)"))
                    );
                }
            }
        }
        Ok(values)
    }

    /// Deserializes and validates one configuration.
    fn resolve(&self, table: &toml::Table) -> Result<Spec, SpecError> {
        let spec: Spec = serde_path_to_error::deserialize(Value::Table(table.clone())).map_err(|e| {
            let message = e.inner().message().trim().to_string();
            let key = error_key(&e.path().to_string(), &message);
            let mut err = self.error(key.as_deref(), &message);
            if let Some(s) = suggestion(&message) {
                err.message.push_str(&format!("; did you mean `{s}`?"));
            }
            err
        })?;
        spec.validate().map_err(|e| self.locate(e))?;
        Ok(spec)
    }
}

/// The dotted key an error is about: serde's path, plus the field name for an
/// unknown or missing field (serde reports those at the enclosing table).
fn error_key(path: &str, message: &str) -> Option<String> {
    let parent = if path == "." { "" } else { path };
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match (parent, field) {
        ("", Some(f)) => Some(f.to_string()),
        ("", None) => None,
        (p, Some(f)) if !p.ends_with(&format!(".{f}")) && p != f => Some(format!("{p}.{f}")),
        (p, _) => Some(p.to_string()),
    }
}

/// 1-based line and column (in characters) of byte offset `pos`.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Records the position of every key of the document under its dotted path.
fn index_origins(table: &DeTable<'_>, prefix: &str, text: &str, out: &mut HashMap<String, Origin>) {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        let (line, col) = line_col(text, key.span().start);
        out.insert(path.clone(), Origin::File { line, col });
        match value.get_ref() {
            DeValue::Table(t) => index_origins(t, &path, text, out),
            // Arrays of tables ([[expect]]): `path.INDEX.key`.
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref() {
                        let p = format!("{path}.{i}");
                        let (line, col) = line_col(text, item.span().start);
                        out.insert(p.clone(), Origin::File { line, col });
                        index_origins(t, &p, text, out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

/// The sweep key whose values are named points: tables of dotted keys of any section.
const ARM: &str = "arm";

/// The keys a sweep value sets: a plain value sets `key`; a table sets each of its keys under
/// `key` (a sweep over variants, e.g. "train" = [{ clip = "none" }, { clip = "norm" }]); an
/// `arm` table sets its dotted keys from the root, all but its `name`.
fn point_leaves(key: &str, value: &Value) -> Vec<(String, Value)> {
    match value {
        Value::Table(t) if key == ARM => {
            let mut rest = t.clone();
            rest.remove("name");
            flatten(&Value::Table(rest), "")
        }
        Value::Table(_) => flatten(value, key),
        _ => vec![(key.to_string(), value.clone())],
    }
}

/// The leaves of a (nested) table as dotted keys, in order.
fn flatten(value: &Value, prefix: &str) -> Vec<(String, Value)> {
    match value {
        Value::Table(t) => t.iter().flat_map(|(k, v)| flatten(v, &join(prefix, k))).collect(),
        leaf => vec![(prefix.to_string(), leaf.clone())],
    }
}

/// Sets the dotted `key` in `table`, creating tables on the way.
fn set_path(table: &mut toml::Table, key: &str, value: Value) -> Result<(), SpecError> {
    let mut parts = key.split('.').peekable();
    let mut t = table;
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err(SpecError::at(key, format!("`{key}` is not a valid dotted key")));
        }
        if parts.peek().is_none() {
            t.insert(part.to_string(), value);
            return Ok(());
        }
        let entry = t.entry(part.to_string()).or_insert_with(|| Value::Table(toml::Table::new()));
        t = entry.as_table_mut().ok_or_else(|| SpecError::at(key, format!("`{part}` in `{key}` is not a table")))?;
    }
    Err(SpecError::at(key, "empty key"))
}

/// Splits `KEY=VALUE`; the value is TOML (`32`, `"lstm"`, `[1, 2]`), and a bare
/// word that is not valid TOML is taken as a string (`model.cell=lstm`). An
/// error is located at the argument.
fn parse_set(arg: &str) -> Result<(String, Value), SpecError> {
    let bad = |message: &str| SpecError { origin: Some(Origin::Set(arg.to_string())), ..SpecError::new(message) };
    let (key, raw) = arg.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("expected KEY=VALUE with a non-empty key"));
    }
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").ok_or_else(|| bad("no value"))?,
        Err(_) => Value::String(raw.trim().to_string()),
    };
    Ok((key.to_string(), value))
}

/// Every combination of the sweep values, first key slowest.
fn cartesian(sweep: &[(String, Vec<Value>)]) -> Vec<Vec<(String, Value)>> {
    let mut points = vec![Vec::new()];
    for (key, values) in sweep {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

/// The resolved spec as TOML: a `# profile: NAME` line under a profile, the spec's tables with
/// overrides applied, then the `[sweep]` table.
fn resolved_toml(table: &toml::Table, sweep: &[(String, Vec<Value>)], profile: Option<&str>) -> String {
    let mut out = profile.map_or(String::new(), |p| format!("# profile: {p}\n"));
    out.push_str(&toml::to_string(table).expect("a table always serializes"));
    if !sweep.is_empty() {
        let table: toml::Table = sweep.iter().map(|(k, v)| (k.clone(), Value::Array(v.clone()))).collect();
        let mut wrapper = toml::Table::new();
        wrapper.insert("sweep".into(), Value::Table(table));
        out.push('\n');
        out.push_str(&toml::to_string(&wrapper).expect("a table always serializes"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
[experiment]
name = "t"

[model]
cell = "rnn"
hidden = 4

[task]
kind = "adding"
seq_len = 5

[train]
lr = 0.1
batch = 2
steps = 3

[sweep]
"model.hidden" = [4, 8]
"train.lr" = [0.1, 0.2, 0.3]

[profile.quick]
train.steps = 1
"sweep.train.lr" = [0.5]
"#;

    #[test]
    fn sweep_is_a_cartesian_product_first_key_slowest() {
        let plan = load_str("s.toml", SPEC, None, &[]).unwrap();
        let labels: Vec<String> = plan.configs.iter().map(Config::label).collect();
        assert_eq!(labels[0], "model.hidden=4 train.lr=0.1");
        assert_eq!(labels[1], "model.hidden=4 train.lr=0.2");
        assert_eq!(labels[5], "model.hidden=8 train.lr=0.3");
        assert_eq!(plan.configs[5].spec.model.hidden, 8);
        assert_eq!(plan.configs[5].spec.train.lr, 0.3);
    }

    #[test]
    fn overrides_replace_values_and_sweeps() {
        let sets = ["model.hidden=16".to_string(), "model.cell=gru".to_string()];
        let plan = load_str("s.toml", SPEC, Some("quick"), &sets).unwrap();
        // --quick replaced the lr sweep and the steps; --set removed hidden from the sweep.
        assert_eq!(plan.sweep, vec![("train.lr".to_string(), vec![Value::Float(0.5)])]);
        let spec = &plan.configs[0].spec;
        assert_eq!((spec.model.hidden, spec.train.steps, spec.train.lr), (16, 1, 0.5));
        assert_eq!(spec.model.cell, crate::spec::sections::CellKind::Gru);
        assert!(plan.resolved.contains("hidden = 16") && plan.resolved.contains("\"train.lr\" = [0.5]"));
    }

    #[test]
    fn arms_are_named_points_of_any_section() {
        let text = SPEC.replace(
            "[sweep]\n\"model.hidden\" = [4, 8]\n\"train.lr\" = [0.1, 0.2, 0.3]",
            "[sweep]\n\"train.lr\" = [0.1, 0.2]\narm = [{ name = \"a\" }, { name = \"b\", \"model.hidden\" = 8, task = { seq_len = 7 } }]",
        );
        let plan = load_str("s.toml", &text, None, &[]).unwrap();
        let labels: Vec<String> = plan.configs.iter().map(Config::label).collect();
        assert_eq!(labels, ["train.lr=0.1 arm=a", "train.lr=0.1 arm=b", "train.lr=0.2 arm=a", "train.lr=0.2 arm=b"]);
        let b = &plan.configs[1].spec;
        assert_eq!((b.model.hidden, b.task.seq_len.min), (8, 7));
        let dup = text.replace("name = \"b\"", "name = \"a\"");
        assert!(load_str("s.toml", &dup, None, &[]).unwrap_err().message.contains("two arms are named `a`"));
        let clash = text.replace("{ name = \"a\" }", "{ name = \"a\", \"train.lr\" = 0.5 }");
        assert!(load_str("s.toml", &clash, None, &[]).unwrap_err().message.contains("both set `train.lr`"));
    }

    #[test]
    fn profiles_are_named_override_tables() {
        let text = format!("{SPEC}\n[profile.paper]\n\"train.steps\" = 9\n");
        let plan = load_str("s.toml", &text, Some("paper"), &[]).unwrap();
        assert_eq!((plan.configs[0].spec.train.steps, plan.profile.as_deref()), (9, Some("paper")));
        assert!(plan.resolved.starts_with("# profile: paper\n"));
        let err = load_str("s.toml", &text, Some("fast"), &[]).unwrap_err();
        assert!(err.message.contains("no [profile.fast] table (profiles: quick, paper)"), "{}", err.message);
        let err = load_str("s.toml", &SPEC.replace("[profile.quick]", "[quick]"), Some("quick"), &[]).unwrap_err();
        assert!(err.message.contains("`[quick]` is now `[profile.quick]`"));
    }

    #[test]
    fn errors_locate_the_value_that_caused_them() {
        let err = load_str("s.toml", SPEC, None, &["train.lr=-1".into()]).unwrap_err();
        assert_eq!(err.origin, Some(Origin::Set("train.lr=-1".into())));
        let bad = SPEC.replace("[4, 8]", "[4, 0]");
        let err = load_str("s.toml", &bad, None, &[]).unwrap_err();
        assert_eq!((err.key.as_deref(), err.origin), (Some("model.hidden"), Some(Origin::File { line: 19, col: 1 })));
        let err = load_str("s.toml", &SPEC.replace("batch = 2", "batch = -2"), None, &[]).unwrap_err();
        assert_eq!((err.key.as_deref(), err.origin), (Some("train.batch"), Some(Origin::File { line: 15, col: 1 })));
    }
}
