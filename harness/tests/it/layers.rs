//! The layer rule of `harness/src` (drawn in the crate docs): a module imports
//! only from its own floor and the floors below it, and no files import each
//! other in a circle.
//!
//! Imports are read from the source text: `use` declarations (braces
//! expanded), `crate::`/`super::` paths written inline, and paths through a
//! child module by its bare name (`adding::Adding`, `pub use batch::Batch`).
//! Each is resolved to the longest module it names. Comments and literals are
//! blanked first, so that a path in a doc comment or a string is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The floors, ground first.
const LAYERS: [&str; 6] = ["spec", "tasks", "nn", "run", "report", "cli"];

/// A module path, e.g. `["spec", "load"]`.
type Module = Vec<String>;

/// Every module of `src` except the crate roots, with its code (comments and literals blanked).
fn read_modules(src: &Path) -> BTreeMap<Module, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().to_str().unwrap().replace('\\', "/");
            if !rel.ends_with(".rs") || rel == "lib.rs" || rel == "main.rs" {
                continue;
            }
            let mut module: Module = rel.trim_end_matches(".rs").split('/').map(String::from).collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            out.insert(module, blank(&fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

/// `text` with comments, string literals and character literals replaced by spaces.
fn blank(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let rest = &c[i..];
        // How many characters from `i` are a comment or a literal (0: neither).
        let skip = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|&ch| ch == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            (2..rest.len()).find(|&k| rest[k - 1] == '*' && rest[k] == '/').map_or(rest.len(), |k| k + 1)
        } else if rest[0] == 'r' && rest.get(1).is_some_and(|&ch| ch == '#' || ch == '"') {
            // r"..." or r#"..."#: ends at a quote followed by as many hashes.
            let hashes = rest[1..].iter().take_while(|&&ch| ch == '#').count();
            let open = 1 + hashes;
            if rest.get(open) != Some(&'"') {
                1
            } else {
                (open + 1..rest.len())
                    .find(|&k| {
                        rest[k] == '"' && rest[k + 1..].iter().take(hashes).filter(|&&ch| ch == '#').count() == hashes
                    })
                    .map_or(rest.len(), |k| k + 1 + hashes)
            }
        } else if rest[0] == '"' {
            let mut k = 1;
            while k < rest.len() && rest[k] != '"' {
                k += if rest[k] == '\\' { 2 } else { 1 };
            }
            k + 1
        } else if rest[0] == '\'' && rest.get(1) == Some(&'\\') {
            // '\n', '\'', '\u{..}': the closing quote comes after the escaped character.
            rest.get(3..).and_then(|r| r.iter().position(|&ch| ch == '\'')).map_or(1, |k| k + 4)
        } else if rest[0] == '\'' && rest.get(2) == Some(&'\'') {
            3
        } else {
            0
        };
        if skip == 0 {
            out.push(c[i]);
            i += 1;
        } else {
            let end = (i + skip).min(c.len());
            out.extend(c[i..end].iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
            i = end;
        }
    }
    out
}

/// `a::{b, c::{d, self}}` as `[a::b, a::c::d, a::c]`.
fn expand(path: &str) -> Vec<String> {
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = path.find('{') else {
        return vec![path.trim_end_matches("::self").to_string()];
    };
    let (head, body) = (&path[..open], &path[open + 1..path.len() - 1]);
    let mut items = vec![String::new()];
    let mut depth = 0;
    for ch in body.chars() {
        match ch {
            ',' if depth == 0 => items.push(String::new()),
            _ => {
                depth += i32::from(ch == '{') - i32::from(ch == '}');
                items.last_mut().unwrap().push(ch);
            }
        }
    }
    items.iter().filter(|i| !i.is_empty()).flat_map(|i| expand(&format!("{head}{i}"))).collect()
}

/// The longest known module that `path`, written in `module`, names (`None`: another crate).
/// `aliases` are the modules brought into scope by `use` (`use crate::run;` makes `run::x` a path).
fn resolve(
    module: &Module,
    path: &str,
    known: &BTreeSet<Module>,
    aliases: &BTreeMap<String, Module>,
) -> Option<Module> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    let mut full: Module = match parts.first()? {
        &"crate" => Vec::new(),
        &"super" | &"self" => module.clone(),
        first if known.contains(&[module.clone(), vec![first.to_string()]].concat()) => module.clone(),
        // The loop below appends the alias's own name again.
        first if aliases.contains_key(*first) => aliases[*first][..aliases[*first].len() - 1].to_vec(),
        _ => return None,
    };
    for (i, part) in parts.iter().enumerate() {
        match *part {
            "crate" if i == 0 => {}
            "self" => {}
            "super" => {
                full.pop();
            }
            p => full.push(p.to_string()),
        }
    }
    (1..=full.len()).rev().map(|n| full[..n].to_vec()).find(|m| known.contains(m))
}

/// Whether position `at` of `code` starts a path (not the tail of `a::b` or of an identifier).
fn starts_path(code: &str, at: usize) -> bool {
    code[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
}

/// The byte ranges of the inline modules (`mod tests { ... }`) in `code`.
fn inline_modules(code: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        let rest = &code[at + 4..];
        let name_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if !starts_path(code, at) || !rest[name_len..].trim_start().starts_with('{') {
            continue;
        }
        let open = at + 4 + name_len + rest[name_len..].find('{').unwrap();
        let mut depth = 0;
        let close = code[open..]
            .char_indices()
            .find(|&(_, c)| {
                depth += i32::from(c == '{') - i32::from(c == '}');
                depth == 0
            })
            .map_or(code.len(), |(k, _)| open + k);
        out.push((open, close));
    }
    out
}

/// The modules `module` imports.
fn imports(module: &Module, code: &str, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    // Each path with the module it is written in: the file's, or an inline
    // module inside it (whose `super` is the file's module).
    let inline = inline_modules(code);
    let scope = |at: usize| -> Module {
        let depth = inline.iter().filter(|&&(open, close)| open < at && at < close).count();
        [module.clone(), vec!["#inline".to_string(); depth]].concat()
    };
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("use ") {
        if starts_path(code, at) {
            let end = code[at..].find(';').map_or(code.len(), |e| at + e);
            paths.extend(expand(&code[at + 4..end]).into_iter().map(|p| (scope(at), p)));
        }
    }
    // Inline paths: `crate::a::b`, `super::x`, `child::item`.
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    for (at, _) in code.match_indices("::") {
        let start = code[..at].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |s| s + 1);
        if start < at && starts_path(code, start) {
            let end = code[start..].find(|c: char| !ident(c)).map_or(code.len(), |e| start + e);
            paths.push((scope(start), code[start..end].to_string()));
        }
    }
    // A `use` that names a module itself (`use crate::run;`, `use super::loss;`) makes its name an alias.
    let mut aliases = BTreeMap::new();
    for (scope, p) in &paths {
        if let Some(m) = resolve(scope, p, known, &BTreeMap::new())
            && p.rsplit("::").next() == m.last().map(String::as_str)
        {
            aliases.insert(m.last().unwrap().clone(), m);
        }
    }
    paths.iter().filter_map(|(scope, p)| resolve(scope, p, known, &aliases)).filter(|m| m != module).collect()
}

/// The import graph of `modules`.
fn graph(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let known: BTreeSet<Module> = modules.keys().cloned().collect();
    modules.iter().map(|(m, code)| (m.clone(), imports(m, code, &known))).collect()
}

/// Every import that breaks the layer rule, and one import circle if there is any.
fn violations(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let name = |m: &Module| m.join("::");
    let floor = |m: &Module| LAYERS.iter().position(|l| *l == m[0]);
    let mut out = Vec::new();
    for (m, deps) in graph {
        for d in deps {
            match (floor(m), floor(d)) {
                (Some(a), Some(b)) if b <= a => {}
                (Some(_), Some(_)) => out.push(format!("upward: {} imports {}", name(m), name(d))),
                _ => out.push(format!("outside the layers: {} imports {}", name(m), name(d))),
            }
        }
    }
    // Depth-first search; a module met again while still on the path closes a circle.
    fn visit(
        m: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            return Some([&path[i..], std::slice::from_ref(m)].concat());
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.clone());
        for d in graph.get(m).into_iter().flatten() {
            if let Some(circle) = visit(d, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(circle) = visit(m, graph, &mut Vec::new(), &mut done) {
            out.push(format!("circle: {}", circle.iter().map(name).collect::<Vec<_>>().join(" -> ")));
            break;
        }
    }
    out
}

#[test]
fn no_module_imports_a_floor_above_it_and_there_are_no_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&read_modules(&src));
    let floors: BTreeSet<(&str, &str)> = graph
        .iter()
        .flat_map(|(m, deps)| deps.iter().map(move |d| (m[0].as_str(), d[0].as_str())))
        .filter(|(a, b)| a != b)
        .collect();
    println!("{} modules, {} imports", graph.len(), graph.values().map(BTreeSet::len).sum::<usize>());
    for layer in LAYERS.iter().rev() {
        let below: Vec<&str> = floors.iter().filter(|(a, _)| a == layer).map(|(_, b)| *b).collect();
        println!("{layer} -> {}", below.join(", "));
    }
    let problems = violations(&graph);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(graph.len() > 20, "only {} modules found under {}", graph.len(), src.display());
}

/// The checker itself finds an upward import and a circle, and is not fooled
/// by paths in comments and strings.
#[test]
fn the_layer_checker_finds_upward_imports_and_circles() {
    let module = |path: &str| -> Module { path.split("::").map(String::from).collect() };
    let files: BTreeMap<Module, String> = [
        ("spec", "pub mod a;\npub mod b;\npub use a::X;"),
        ("spec::a", "use super::b::{self, Y};\n/// crate::report::X in a comment\nconst S: &str = \"crate::cli\";"),
        ("spec::b", "fn f() { crate::spec::a::g() }\nmod tests {\n    use super::*;\n}"),
        ("run", "use crate::{report::stats, spec};"),
        ("report", "pub mod stats;"),
        ("report::stats", "let c = '\"'; let d = r#\"crate::cli\"#;"),
        ("cli", "use crate::report;\nfn main() { report::stats::f() }"),
    ]
    .into_iter()
    .map(|(m, code)| (module(m), blank(code)))
    .collect();
    let graph = graph(&files);
    assert_eq!(graph[&module("spec")], [module("spec::a")].into());
    assert_eq!(graph[&module("spec::a")], [module("spec::b")].into());
    assert_eq!(graph[&module("run")], [module("report::stats"), module("spec")].into());
    assert!(graph[&module("report::stats")].is_empty());
    assert_eq!(graph[&module("cli")], [module("report"), module("report::stats")].into());
    let problems = violations(&graph);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0], "upward: run imports report::stats");
    assert_eq!(problems[1], "circle: spec::a -> spec::b -> spec::a");
}
