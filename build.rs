//! Compiles into the binary what the lab shows: every pattern file of `docs/patterns/`
//! (a file there is a pattern; `src/lab/mod.rs` reads them), and the repository's Rust
//! sources — the functions each pattern's sides run, cut out of their files, and without
//! `REPOSITORY_URL` those files whole (`src/lab/sources.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut sources = Vec::new();
    for dir in ["src", "migrations/src"] {
        println!("cargo:rerun-if-changed={dir}");
        files_ending(&root.join(dir), ".rs", &mut sources);
    }
    write_table("sources.rs", &root, &sources, |relative| {
        relative.to_owned()
    });

    println!("cargo:rerun-if-changed=docs/patterns");
    let mut patterns = Vec::new();
    files_ending(&root.join("docs/patterns"), ".md", &mut patterns);
    patterns.retain(|path| !path.ends_with("README.md"));
    write_table("patterns.rs", &root, &patterns, |relative| {
        let slug = relative.trim_start_matches("docs/patterns/");
        slug.trim_end_matches(".md").to_owned()
    });
}

/// `$OUT_DIR/{name}`: `&[(key, include_str!(file)), …]`, the key made from the file's
/// path from the repository's root.
fn write_table(name: &str, root: &Path, files: &[PathBuf], key: impl Fn(&str) -> String) {
    let mut sorted = files.to_vec();
    sorted.sort();
    let mut table = String::from("&[\n");
    for file in &sorted {
        let relative = file.strip_prefix(root).unwrap_or(file);
        let relative = relative.to_string_lossy().replace('\\', "/");
        let path = file.display().to_string();
        let _ = writeln!(table, "    ({:?}, include_str!({path:?})),", key(&relative));
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join(name);
    if let Err(error) = std::fs::write(&out, table) {
        panic!("could not write {}: {error}", out.display());
    }
}

fn files_ending(dir: &Path, suffix: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_ending(&path, suffix, found);
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
}
