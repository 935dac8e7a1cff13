//! The patterns perfblog teaches, in one registry: [`PATTERNS`].
//!
//! Each entry says what the pattern is about, which functions its naive and optimized
//! sides are (the lab shows their source), where it shows on the site, which tests
//! pin it, which criterion comparisons measure it, and how the lab runs it live (its
//! experiment: a function that calls those same functions). The lab's pages, the
//! bench report and the README's pattern table are all derived from here, and tests
//! fail when the README or a bench disagrees — so a new pattern is added in one place:
//! a file in this folder and a line in [`PATTERNS`] (see `docs/architecture.md`).
//!
//! Every comparison changes one idea and holds the rest equal. No measured figure is
//! written here: figures come from the bench report ([`figures`]).

pub mod figures;
pub mod measure;
pub mod source;

use std::future::Future;
use std::pin::Pin;

use crate::error::AppError;
use measure::{Outcome, Workbench};

/// One pattern, as the lab, the bench report and the README show it.
pub struct Pattern {
    /// Its address in the lab: `/lab/{slug}`.
    pub slug: &'static str,
    pub title: &'static str,
    /// What a Django developer calls it and writes, in markdown (`code` in backticks):
    /// the lab shows it under the title, the README's pattern table in a column.
    pub django: &'static str,
    /// Rails's name for it, where Rails has one of its own.
    pub rails: Option<&'static str>,
    /// The problem, in a line.
    pub problem: &'static str,
    /// How the lab runs the two sides, and what it holds equal between them.
    pub setup: &'static str,
    /// Why the optimized side wins.
    pub why: &'static str,
    /// When it would not.
    pub when_not: &'static str,
    /// Where the two sides run on the site.
    pub shows_on: &'static [Place],
    pub naive: Side,
    pub optimized: Side,
    /// The integration tests that pin its promise.
    pub tests: &'static [&'static str],
    /// The criterion comparisons that measure it.
    pub benches: &'static [Comparison],
    /// Runs both sides live, on the lab's page.
    pub experiment: Experiment,
}

/// A page of the site where a pattern's sides run: the optimized page at `path`, the
/// naive one at `/naive{path}`.
pub struct Place {
    pub view: &'static str,
    pub path: &'static str,
    /// The view's folder, from the repository's root.
    pub folder: &'static str,
}

/// The pages several patterns show on.
pub const POST_LIST: Place = Place {
    view: "post list",
    path: "/",
    folder: "src/views/post_list",
};
pub const TAG_PAGE: Place = Place {
    view: "tag page",
    path: "/tags/{slug}",
    folder: "src/views/tag_page",
};
pub const POST_PAGE: Place = Place {
    view: "post page",
    path: "/posts/{slug}",
    folder: "src/views/post_detail",
};
/// The sidebar of every list and post page.
pub const SIDEBAR: Place = Place {
    view: "sidebar",
    path: "/",
    folder: "src/views/sidebar",
};

/// One side of a pattern.
pub struct Side {
    /// What it does and what that costs, in a line.
    pub summary: &'static str,
    /// The functions it runs, the one the lab calls first.
    pub code: &'static [Code],
}

/// A function in the repository, with its file's text compiled in (see [`source`]).
pub struct Code {
    /// Path from the repository's root.
    pub file: &'static str,
    /// The function's name.
    pub function: &'static str,
    pub source: &'static str,
}

/// A criterion comparison: two functions of one bench, each side's median at each
/// size, in the group `{bench}-{backend}`.
pub struct Comparison {
    /// What is compared, as the report labels it.
    pub what: &'static str,
    /// The bench target, `benches/{bench}.rs`.
    pub bench: &'static str,
    pub naive: &'static str,
    pub optimized: &'static str,
    /// The size the README quotes, for comparisons measured at several.
    pub headline: Option<&'static str>,
}

/// A pattern's live run: both sides measured against the current data.
pub type Experiment =
    for<'a> fn(
        &'a Workbench,
    ) -> Pin<Box<dyn Future<Output = Result<Outcome, AppError>> + Send + 'a>>;

/// `code!("src/views/post_list/naive.rs", "summarize")`: a [`Code`] with the file's text.
macro_rules! code {
    ($file:literal, $function:literal) => {
        $crate::catalog::Code {
            file: $file,
            function: $function,
            source: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $file)),
        }
    };
}

pub mod aggregation;
pub mod atomic_counters;
pub mod bulk_inserts;
pub mod bulk_updates;
pub mod connection_pooling;
pub mod denormalized_counters;
pub mod eager_loading;
pub mod exists;
pub mod fragment_caching;
pub mod indexes;
pub mod keyset_pagination;
pub mod offloaded_email;
pub mod per_view_caching;
pub mod projection;
pub mod streaming;
pub mod twin_pages;
pub mod write_behind_counter;

/// Every pattern, in the order the lab and the README list them.
pub static PATTERNS: [&Pattern; 16] = [
    &eager_loading::PATTERN,
    &projection::PATTERN,
    &bulk_updates::PATTERN,
    &bulk_inserts::PATTERN,
    &atomic_counters::PATTERN,
    &write_behind_counter::PATTERN,
    &aggregation::PATTERN,
    &denormalized_counters::PATTERN,
    &fragment_caching::PATTERN,
    &per_view_caching::PATTERN,
    &offloaded_email::PATTERN,
    &keyset_pagination::PATTERN,
    &streaming::PATTERN,
    &indexes::PATTERN,
    &exists::PATTERN,
    &connection_pooling::PATTERN,
];

/// Whole pages against their twins — every idea at once, as a visitor meets them.
/// Measured too, but not one pattern's: the footer breaks them down by part.
pub static TWIN_PAGES: &[Comparison] = twin_pages::COMPARISONS;

pub fn find(slug: &str) -> Option<&'static Pattern> {
    PATTERNS
        .iter()
        .copied()
        .find(|pattern| pattern.slug == slug)
}

/// Every comparison the benches must run: the patterns', then the twin pages'.
pub fn comparisons() -> impl Iterator<Item = &'static Comparison> {
    PATTERNS
        .iter()
        .flat_map(|pattern| pattern.benches.iter())
        .chain(TWIN_PAGES.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_url_safe() {
        let mut slugs: Vec<&str> = PATTERNS.iter().map(|p| p.slug).collect();
        assert!(
            slugs
                .iter()
                .all(|s| crate::views::slug::Slug::parse(s).is_ok())
        );
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), PATTERNS.len());
    }

    #[test]
    fn every_function_a_side_shows_is_in_its_file() {
        for pattern in PATTERNS {
            for code in pattern.naive.code.iter().chain(pattern.optimized.code) {
                let cut = source::function(code.source, code.function);
                assert!(
                    cut.is_some(),
                    "{}: no `fn {}` in {}",
                    pattern.slug,
                    code.function,
                    code.file
                );
                // `Type::method` comes with its impl's line: whose method it is.
                if let (Some((owner, method)), Some(cut)) = (code.function.split_once("::"), cut) {
                    let first = cut.lines().next().unwrap_or_default();
                    assert!(
                        first.starts_with("impl") && first.contains(owner),
                        "{}: {first}",
                        code.function
                    );
                    assert!(cut.contains(&format!("fn {method}")), "{}", code.function);
                }
            }
        }
    }

    /// A Django developer looks for their own words: every pattern has them, and each
    /// code span is closed (the lab turns the spans into `<code>`).
    #[test]
    fn every_pattern_names_its_django_equivalent_with_closed_code_spans() {
        for pattern in PATTERNS {
            assert!(!pattern.django.trim().is_empty(), "{}", pattern.slug);
            for text in std::iter::once(pattern.django).chain(pattern.rails) {
                assert!(!text.trim().is_empty(), "{}", pattern.slug);
                assert!(
                    text.matches('`').count() % 2 == 0 && text.contains('`'),
                    "{}: an unclosed or missing code span in {text}",
                    pattern.slug
                );
            }
        }
        let eager = find("eager-loading").unwrap();
        assert!(eager.problem.contains("N+1") && eager.django.contains("N+1"));
    }

    /// The N+1 detector's reports link the lab page of each fix it suggests.
    #[test]
    fn every_fix_the_n_plus_one_detector_suggests_has_its_lab_page() {
        for fix in crate::instrument::Fix::ALL {
            assert!(find(fix.lab).is_some(), "/lab/{}", fix.lab);
        }
    }

    /// The README links each pattern's entry, its views' folders and its tests.
    #[test]
    fn every_file_and_folder_named_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for pattern in PATTERNS {
            let entry = format!("src/catalog/{}.rs", pattern.slug.replace('-', "_"));
            assert!(root.join(&entry).is_file(), "{}: {entry}", pattern.slug);
            for place in pattern.shows_on {
                assert!(
                    root.join(place.folder).is_dir(),
                    "{}: {}",
                    pattern.slug,
                    place.folder
                );
            }
            for path in pattern.tests {
                assert!(root.join(path).is_file(), "{}: {path}", pattern.slug);
            }
        }
    }

    /// The ids are strings criterion files results under; a bench that no longer
    /// runs one (renamed, removed) would leave the report without its figures.
    #[test]
    fn every_comparison_is_run_by_its_bench() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        for comparison in comparisons() {
            let bench = comparison.bench;
            assert!(
                manifest.contains(&format!("[[bench]]\nname = \"{bench}\"")),
                "Cargo.toml has no [[bench]] `{bench}`"
            );
            let file = root.join(format!("benches/{bench}.rs"));
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for id in [comparison.naive, comparison.optimized] {
                assert!(
                    text.contains(&format!("\"{id}\"")),
                    "benches/{bench}.rs does not run `{id}` ({})",
                    comparison.what
                );
            }
        }
    }
}
