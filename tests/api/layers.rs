//! The import picture is a stack of folders: `src/base/` at the bottom, then
//! `src/services/`, `src/views/`, `src/lab/` and `src/app/` on top. A module uses its
//! own layer and the layers below, never one above, and the modules of one layer never
//! use each other in a loop. A module's layer is the folder it is created in: there is
//! no list of modules to keep up to date.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// perfblog's layers, bottom first: the folders of `src/`.
const LAYERS: [&str; 5] = ["base", "services", "views", "lab", "app"];

fn layer(folder: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| *layer == folder)
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

/// Every `crate::<layer>::<module>` a text names, in `use` lines (grouped ones too:
/// `crate::{base, views::site}`, `crate::views::{site, footer}`) and in paths, as
/// `(layer, module)`; the module is empty where only the layer is named.
fn modules_named(text: &str) -> Vec<(String, String)> {
    let mut named = Vec::new();
    for (at, prefix) in text.match_indices("crate::") {
        if text[..at].ends_with('$') {
            continue;
        }
        let mut paths = Vec::new();
        use_tree(&text[at + prefix.len()..], &mut Vec::new(), &mut paths);
        named.extend(paths.into_iter().map(|mut path| {
            path.resize(2, String::new());
            (path[0].clone(), path[1].clone())
        }));
    }
    named
}

/// The paths of a use tree (`a::{b, c::d}` is `a::b` and `a::c::d`), each as its
/// first segments; returns what it read.
fn use_tree<'a>(text: &'a str, prefix: &mut Vec<String>, paths: &mut Vec<Vec<String>>) -> &'a str {
    let mut rest = text.trim_start();
    let mut segments = 0;
    loop {
        if let Some(inside) = rest.strip_prefix('{') {
            rest = inside;
            loop {
                rest = use_tree(rest, prefix, paths).trim_start();
                match rest.chars().next() {
                    Some(',') => rest = &rest[1..],
                    Some('}') => return finish(&rest[1..], prefix, segments),
                    _ => return finish(rest, prefix, segments),
                }
            }
        }
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        prefix.push(ident.clone());
        segments += 1;
        rest = &rest[ident.len()..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    if segments > 0 {
        paths.push(prefix.clone());
    }
    finish(rest, prefix, segments)
}

fn finish<'a>(rest: &'a str, prefix: &mut Vec<String>, segments: usize) -> &'a str {
    prefix.truncate(prefix.len() - segments);
    rest
}

/// `(layer, module)` of a file under `src/`: `src/views/post_list/naive.rs` is
/// `("views", "post_list")`.
fn own_module(relative: &Path) -> (String, String) {
    let mut parts = relative.components().map(|part| {
        part.as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned()
    });
    let layer = parts.next().unwrap_or_default();
    (layer, parts.next().unwrap_or_default())
}

#[test]
fn every_module_uses_only_its_own_layer_and_the_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let (own_layer, _) = own_module(relative);
        if ["lib", "main"].contains(&own_layer.as_str()) {
            continue;
        }
        let Some(own) = layer(&own_layer) else {
            wrong.push(format!(
                "src/{own_layer} is in no layer: create it in one of {LAYERS:?}"
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable");
        for (used, _) in modules_named(&text) {
            match layer(&used) {
                Some(used_layer) if used_layer <= own => {}
                Some(_) => wrong.push(format!(
                    "{} reaches up to crate::{used}",
                    relative.display()
                )),
                None => wrong.push(format!(
                    "{} names crate::{used}, in no layer",
                    relative.display()
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Modules of one layer may use each other, but never in a loop: the layer still reads
/// from the bottom up. (SeaORM's entities name each other in their relations; they are
/// one module, `base::entities`.)
#[test]
fn the_modules_of_a_layer_use_each_other_without_a_loop() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut uses: BTreeMap<(String, String), BTreeSet<(String, String)>> = BTreeMap::new();
    for file in &files {
        let own = own_module(file.strip_prefix(&src).expect("under src/"));
        let text = std::fs::read_to_string(file).expect("readable");
        for used in modules_named(&text) {
            if used.0 == own.0 && !used.1.is_empty() && used.1 != own.1 {
                uses.entry(own.clone()).or_default().insert(used);
            }
        }
    }
    for start in uses.keys() {
        let mut path = vec![start.clone()];
        assert!(
            !loops_back(start, start, &uses, &mut path, &mut BTreeSet::new()),
            "a loop: {}",
            path.iter()
                .map(|(l, m)| format!("{l}::{m}"))
                .collect::<Vec<_>>()
                .join(" -> ")
        );
    }
}

fn loops_back(
    start: &(String, String),
    at: &(String, String),
    uses: &BTreeMap<(String, String), BTreeSet<(String, String)>>,
    path: &mut Vec<(String, String)>,
    seen: &mut BTreeSet<(String, String)>,
) -> bool {
    for next in uses.get(at).into_iter().flatten() {
        path.push(next.clone());
        if next == start || (seen.insert(next.clone()) && loops_back(start, next, uses, path, seen))
        {
            return true;
        }
        path.pop();
    }
    false
}

#[test]
fn a_module_reaching_up_or_looping_is_caught() {
    assert_eq!(
        modules_named("use crate::app::state::AppState;\nlet x = crate::views::site::Site;"),
        [
            ("app".into(), "state".into()),
            ("views".into(), "site".into())
        ]
    );
    assert_eq!(
        modules_named("use crate::{base::error, views::{site, footer}};"),
        [
            ("base".into(), "error".into()),
            ("views".into(), "site".into()),
            ("views".into(), "footer".into())
        ]
    );
    assert_eq!(
        modules_named("$crate::lab::x"),
        Vec::<(String, String)>::new()
    );
    assert!(layer("app") > layer("views"));
    let a = ("views".to_owned(), "a".to_owned());
    let b = ("views".to_owned(), "b".to_owned());
    let uses = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert!(loops_back(&a, &a, &uses, &mut vec![], &mut BTreeSet::new()));
}

/// Templates compile into the modules that render them — `base::error` among them, in
/// the bottom layer — so what they name must be of the bottom layer.
#[test]
fn templates_name_only_the_bottom_layer() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&templates).expect("templates/").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("readable");
        for (used, _) in modules_named(&text) {
            assert_eq!(
                layer(&used),
                Some(0),
                "{} names crate::{used}",
                entry.path().display()
            );
        }
    }
}
