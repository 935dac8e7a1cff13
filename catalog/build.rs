//! Compiles every pattern file, `docs/patterns/*.md`, into the crate: a new file is a
//! new pattern, with nothing to register. Their order is their front matter's `order`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = manifest.join("../docs/patterns");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    files.retain(|path| {
        path.extension().is_some_and(|ext| ext == "md") && !path.ends_with("README.md")
    });
    files.sort();
    let mut table = String::from("&[\n");
    for path in &files {
        let slug = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned());
        let _ = writeln!(
            table,
            "    ({:?}, include_str!({:?})),",
            slug.unwrap_or_default(),
            path.display().to_string()
        );
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("patterns.rs");
    if let Err(error) = std::fs::write(&out, table) {
        panic!("could not write {}: {error}", out.display());
    }
}
