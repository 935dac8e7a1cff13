//! The import picture is a stack: a module uses only modules of lower layers (and its
//! own submodules). A `use crate::state` in a view, or `crate::http` in `config`,
//! fails here, naming the file and the module it reached up to.

use std::path::{Path, PathBuf};

/// perfblog's top-level modules, bottom layer first; see `docs/architecture.md`.
const LAYERS: [&[&str]; 9] = [
    &["config", "stylesheet", "entities"],
    &["error", "instrument"],
    &["db", "bulk_insert", "cache", "mail", "counters", "gate"],
    &["views"],
    &["seed", "catalog"],
    &["lab", "ops", "http"],
    &["state"],
    &["startup"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Every `crate::<module>` a file names, in `use` lines (grouped ones too:
/// `crate::{db, views}`) and in paths.
fn modules_named(text: &str) -> Vec<String> {
    let ident = |rest: &str| -> String {
        rest.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut named = Vec::new();
    for (at, prefix) in text.match_indices("crate::") {
        if text[..at].ends_with('$') {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                named.extend(group.split(',').map(ident).filter(|m| !m.is_empty()));
            }
            None => named.push(ident(rest)),
        }
    }
    named
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let own = relative
            .components()
            .next()
            .and_then(|first| first.as_os_str().to_str())
            .map(|first| first.trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        let Some(own_layer) = layer(&own) else {
            assert!(
                ["lib", "main"].contains(&own.as_str()),
                "{own} is in no layer: add it to LAYERS"
            );
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable");
        for used in modules_named(&text) {
            let used_layer = layer(&used)
                .unwrap_or_else(|| panic!("{} names crate::{used}, in no layer", file.display()));
            if used != own && used_layer >= own_layer {
                upward.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that reach sideways or up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn a_module_reaching_up_is_caught() {
    assert_eq!(
        modules_named("use crate::state::AppState;\nlet x = crate::views::Site;"),
        ["state", "views"]
    );
    assert_eq!(
        modules_named("use crate::{db, views::Site};"),
        ["db", "views"]
    );
    assert_eq!(modules_named("$crate::catalog::Code"), Vec::<String>::new());
    assert!(layer("state") > layer("views"));
}

/// Templates compile into the modules that render them — `error` among them, one
/// layer from the bottom — so what they name must be of the bottom layer.
#[test]
fn templates_name_only_the_bottom_layer() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&templates).expect("templates/").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("readable");
        for used in modules_named(&text) {
            assert_eq!(
                layer(&used),
                Some(0),
                "{} names crate::{used}",
                entry.path().display()
            );
        }
    }
}
