//! Compiles the repository's Rust sources into the binary, for the lab: it shows the
//! functions each pattern's sides run (`docs/patterns/*.md` names them) and, without
//! `REPOSITORY_URL`, serves those files whole. `src/lab/sources.rs` reads the table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut files = Vec::new();
    for dir in ["src", "migrations/src"] {
        println!("cargo:rerun-if-changed={dir}");
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    let mut table = String::from("&[\n");
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        let relative = relative.to_string_lossy().replace('\\', "/");
        let _ = writeln!(
            table,
            "    ({relative:?}, include_str!({:?})),",
            file.display().to_string()
        );
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("sources.rs");
    if let Err(error) = std::fs::write(&out, table) {
        panic!("could not write {}: {error}", out.display());
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}
