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

/// `pattern_file!("eager-loading")`: the slug and its file's text.
macro_rules! pattern_file {
    ($slug:literal) => {
        (
            $slug,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../docs/patterns/",
                $slug,
                ".md"
            )),
        )
    };
}

/// Every pattern's file, in the order the lab and the README list them.
const FILES: &[(&str, &str)] = &[
    pattern_file!("eager-loading"),
    pattern_file!("projection"),
    pattern_file!("bulk-updates"),
    pattern_file!("bulk-inserts"),
    pattern_file!("atomic-counters"),
    pattern_file!("write-behind-counter"),
    pattern_file!("aggregation"),
    pattern_file!("denormalized-counters"),
    pattern_file!("fragment-caching"),
    pattern_file!("per-view-caching"),
    pattern_file!("offloaded-email"),
    pattern_file!("keyset-pagination"),
    pattern_file!("streaming"),
    pattern_file!("indexes"),
    pattern_file!("exists"),
    pattern_file!("connection-pooling"),
];

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(slug, text)| {
            // The files are compiled in and every one is parsed by this crate's tests:
            // a file that does not parse fails `cargo test`, never a running server.
            Pattern::parse(slug, text)
                .unwrap_or_else(|problem| panic!("docs/patterns/{slug}.md: {problem}"))
        })
        .collect()
});

/// Every pattern, in reading order.
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
