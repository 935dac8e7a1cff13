//! The repository's Rust sources, compiled in by `build.rs`: the lab shows the real
//! source, cut out of the files it was built from.

/// Every `.rs` file under `src/` and `migrations/src/`, by its path from the
/// repository's root.
static SOURCES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/sources.rs"));

/// The text of the file at `path` (`src/views/post_list/naive.rs`).
pub fn text(path: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(file, _)| *file == path)
        .map(|(_, text)| *text)
}
