//! perfblog's patterns as data. Each pattern is written once, in
//! `docs/patterns/<slug>.md`: front matter (title, Django and Rails names, where it
//! shows, the functions of its two sides, its tests and its measures) and prose, in the
//! same sections in every file. This crate compiles those files in and reads them;
//! the lab, the bench report, the README's table and the docs index all start here.
//!
//! It also holds the bench report's types ([`report`]) and the placeholders that put
//! the report's figures into prose ([`figures`]). It knows nothing of the server: no
//! web framework, no database.

pub mod figures;
mod pattern;
pub mod report;

use std::sync::LazyLock;

pub use pattern::{
    CodeRef, MEASURED_SECTION, Measure, Pattern, Place, REQUIRED_SECTIONS, Section, Side,
};

/// Every file of `docs/patterns/` but its README, as `(slug, text)`: `build.rs` lists
/// them, so a new file is a new pattern.
const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/patterns.rs"));

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let mut patterns: Vec<Pattern> = FILES
        .iter()
        .map(|(slug, text)| {
            // The files are compiled in and every one is parsed by this crate's tests:
            // a file that does not parse fails `cargo test`, never a running server.
            Pattern::parse(slug, text)
                .unwrap_or_else(|problem| panic!("docs/patterns/{slug}.md: {problem}"))
        })
        .collect();
    patterns.sort_by_key(|pattern| pattern.order);
    patterns
});

/// Every pattern, in reading order: by their `order`.
pub fn patterns() -> &'static [Pattern] {
    &PATTERNS
}

/// The pattern at `/lab/{slug}`.
pub fn find(slug: &str) -> Option<&'static Pattern> {
    patterns().iter().find(|pattern| pattern.slug == slug)
}

/// The slug whole pages are measured under: a page against its naive twin, every idea
/// at once. Not a pattern: the footer breaks a page down by part.
pub const TWIN_PAGES: &str = "twin-pages";

static TWIN_PAGE_MEASURES: LazyLock<Vec<Measure>> = LazyLock::new(|| {
    let measure = |id: &str, what: &str| Measure {
        id: id.to_owned(),
        what: what.to_owned(),
        sizes: Vec::new(),
        live: None,
        headline: None,
    };
    vec![
        measure("list-memory", "list page, warm cache in process"),
        measure("list-redis", "list page, warm cache in Redis"),
    ]
});

/// Every measure criterion runs, with the slug it is filed under: the patterns' in
/// reading order, then the whole pages'.
pub fn measures() -> impl Iterator<Item = (&'static str, &'static Measure)> {
    let patterns = patterns()
        .iter()
        .flat_map(|pattern| pattern.measures.iter().map(|m| (pattern.slug.as_str(), m)));
    patterns.chain(TWIN_PAGE_MEASURES.iter().map(|m| (TWIN_PAGES, m)))
}

#[cfg(test)]
mod tests;
