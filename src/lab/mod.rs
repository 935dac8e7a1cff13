//! The lab: every pattern's comparisons, defined once and run live, its naive and
//! optimized sides side by side, with the statements they sent, their time, what they
//! found, their source, and the bench report's figures. `GET /lab` lists the patterns;
//! `GET /lab/{pattern}` runs one.
//!
//! It leaves the data as it was: visitors choose a pattern, nothing else; writes run
//! in transactions that are rolled back; and one comparison runs at a time (the naive
//! sides are deliberately expensive — `docs/lab.md` says how much).

pub mod backfire;
mod bound_values;
pub mod compare;
pub mod fixtures;
mod growth_chart;
mod highlight;
pub mod lessons;
mod markdown;
mod page;
mod source;
mod source_view;
mod sources;
mod sql;
pub mod static_visit;
pub mod workbench;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use catalog::Catalog;
pub use page::published;
use workbench::Workbench;

use crate::services::gate::Gate;

/// The pattern files of `docs/patterns/`, compiled in by `build.rs`.
static PATTERN_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/patterns.rs"));

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    // Compiled in, and read by the catalog crate's tests and this crate's: a file that
    // does not read fails `cargo test`, never a running server.
    Catalog::from_files(PATTERN_FILES.iter().copied()).unwrap_or_else(|problem| panic!("{problem}"))
});

/// Every pattern, as this binary was built: what the lab shows and runs.
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

/// What the lab's routes need: a workbench to run comparisons on, and the gate that
/// lets one run at a time.
#[derive(Clone)]
pub struct Lab {
    pub workbench: Arc<Workbench>,
    pub gate: LabGate,
    /// Where source files are linked: `REPOSITORY_URL`, or `None` for `/lab/source/…`.
    pub repository_url: Option<Arc<str>>,
    /// The site's own caches, whose hit ratios the caching lessons show.
    pub site_caches: SiteCaches,
}

/// The site's fragment and page caches, read for their hits and misses.
#[derive(Clone)]
pub struct SiteCaches {
    pub fragments: crate::services::cache::FragmentCache,
    pub pages: crate::services::cache::PageCache,
}

impl SiteCaches {
    /// "On this server since it started: 1,234 hits, 56 misses — 95.7 % hits", for
    /// the lessons about the site's two caches; `None` for the others.
    pub fn hit_ratio_for(&self, slug: &str) -> Option<String> {
        let (what, hits, misses) = match slug {
            "fragment-caching" => {
                let stats = self.fragments.stats();
                ("fragment cache (the sidebar)", stats.hits, stats.misses)
            }
            "per-view-caching" => {
                let stats = self.pages.stats();
                ("page cache", stats.hits, stats.misses)
            }
            _ => return None,
        };
        let thousands = catalog::report::thousands;
        Some(match hits + misses {
            0 => format!("This server's {what} has not been asked yet since it started."),
            asked => format!(
                "This server's {what} since it started: {} {}, {} {} — {:.1} % hits.",
                thousands(hits),
                if hits == 1 { "hit" } else { "hits" },
                thousands(misses),
                if misses == 1 { "miss" } else { "misses" },
                100.0 * hits as f64 / asked as f64
            ),
        })
    }
}

pub fn routes(lab: Lab) -> Router {
    Router::new()
        .route("/lab", get(page::index))
        .route("/lab/", get(|| async { Redirect::permanent("/lab") }))
        .route("/lab/{pattern}", get(page::pattern))
        .route("/lab/source/{*path}", get(source_view::file))
        .route(
            "/lab/static-files/visit/{names}/{page}",
            get(static_visit::page),
        )
        .with_state(lab)
}

/// One comparison at a time: the naive sides are deliberately expensive, and two
/// running at once would also distort each other's timings.
pub type LabGate = Gate;

/// The lab's gate: a visitor waits up to `wait` for the comparison ahead of theirs.
pub fn lab_gate(wait: Duration) -> LabGate {
    Gate::new(
        1,
        wait,
        "The lab is running someone else's experiment; try again in a moment.",
    )
}
