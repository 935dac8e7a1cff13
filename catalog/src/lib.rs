//! perfblog's patterns as data. Each pattern is written once, in
//! `docs/patterns/<slug>.md`: front matter (title, Django and Rails names, where it
//! shows, the functions of its two sides, its tests and its measures) and prose, in the
//! same sections in every file. This crate reads them into a [`Catalog`]: the server
//! compiles the files in, the bench report reads them from disk when it runs, so what
//! it writes into them is never built back into it.
//!
//! It also holds the bench report's types ([`report`]) and the placeholders that put
//! the report's figures into prose ([`figures`]). It knows nothing of the server: no
//! web framework, no database.

pub mod figures;
mod pattern;
pub mod report;

use std::path::Path;
use std::sync::LazyLock;

pub use pattern::{
    CodeRef, MEASURED_SECTION, Measure, Pattern, Place, REQUIRED_SECTIONS, Section, Side, Track,
    Unit,
};

/// Every pattern, in reading order: by their `order`.
#[derive(Clone, Debug)]
pub struct Catalog {
    patterns: Vec<Pattern>,
}

impl Catalog {
    /// The patterns of `files`, each `(slug, text)`; the first that does not read is
    /// the error, naming its file.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        let mut patterns = files
            .into_iter()
            .map(|(slug, text)| {
                Pattern::parse(slug, text)
                    .map_err(|problem| format!("docs/patterns/{slug}.md: {problem}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        patterns.sort_by_key(|pattern| pattern.order);
        for (at, pattern) in patterns.iter().enumerate() {
            if let Some(from) = &pattern.naive.starts_from
                && !patterns[..at].iter().any(|earlier| &earlier.slug == from)
            {
                return Err(format!(
                    "docs/patterns/{}.md: its naive side starts from `{from}`, \
                     which is not a pattern before it",
                    pattern.slug
                ));
            }
        }
        Ok(Self { patterns })
    }

    /// Every pattern file of `dir` (`docs/patterns/`) but its README, read now: a file
    /// there is a pattern.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        let mut files = Vec::new();
        for path in entries.flatten().map(|entry| entry.path()) {
            let slug = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned());
            let is_pattern =
                path.extension().is_some_and(|ext| ext == "md") && !path.ends_with("README.md");
            if let (Some(slug), true) = (slug, is_pattern) {
                let text = std::fs::read_to_string(&path)
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                files.push((slug, text));
            }
        }
        Self::from_files(
            files
                .iter()
                .map(|(slug, text)| (slug.as_str(), text.as_str())),
        )
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The pattern at `/lab/{slug}`.
    pub fn find(&self, slug: &str) -> Option<&Pattern> {
        self.patterns.iter().find(|pattern| pattern.slug == slug)
    }

    /// Every measure criterion runs, with the slug it is filed under: the patterns' in
    /// reading order, then the whole pages'.
    pub fn measures(&self) -> impl Iterator<Item = (&str, &Measure)> {
        let patterns = self
            .patterns
            .iter()
            .flat_map(|pattern| pattern.measures.iter().map(|m| (pattern.slug.as_str(), m)));
        patterns.chain(TWIN_PAGE_MEASURES.iter().map(|m| (TWIN_PAGES, m)))
    }

    /// What a figure compares: `Eager loading: list entries (posts)`.
    pub fn label(&self, pattern: &str, measure: &str) -> String {
        let title = self
            .find(pattern)
            .map_or("Twin pages", |p| p.title.as_str());
        let what = self
            .measures()
            .find(|(slug, m)| *slug == pattern && m.id == measure)
            .map_or("(not in the catalog)", |(_, m)| m.what.as_str());
        format!("{title}: {what}")
    }
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
        unit: Unit::Speed,
        grows: false,
    };
    vec![
        measure("list-memory", "list page, warm cache in process"),
        measure("list-redis", "list page, warm cache in Redis"),
    ]
});

#[cfg(test)]
mod tests;
