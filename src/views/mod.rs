//! The pages. Each view is a folder: `mod.rs` holds the page model, its template and
//! its two handlers; `naive.rs` and `optimized.rs` load that same page model, so the
//! template cannot tell them apart and the HTML is byte-identical above the footer.

pub mod admin;
pub mod comments;
pub mod form;
pub mod import;
pub mod pagination;
pub mod post_detail;
pub mod post_list;
pub mod sidebar;
pub mod slug;
pub mod tag_page;

use std::fmt;

use axum::Router;
use axum::http::Uri;
use axum::response::Redirect;
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::instrument::{self, QueryStats};
use crate::state::AppState;

/// Every page, as in DESIGN.md: the optimized variant owns the plain path (it is what
/// production would run) and its naive twin lives under `/naive`.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(post_list::optimized))
        .route("/naive/", get(post_list::naive))
        .route("/naive", get(|| async { Redirect::permanent("/naive/") }))
        .route("/tags/{slug}", get(tag_page::optimized))
        .route("/naive/tags/{slug}", get(tag_page::naive))
        .route("/posts/{slug}", get(post_detail::optimized))
        .route("/naive/posts/{slug}", get(post_detail::naive))
        .merge(comments::routes(state))
        .merge(admin::routes(state))
}

/// Which loader produced a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Naive,
    Optimized,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Naive => "naive",
            Variant::Optimized => "optimized",
        })
    }
}

/// What a page shows at its foot: which variant it is, how to reach the other one,
/// and the figures the `X-Query-Count` and `Server-Timing` headers carry. Captured
/// just before rendering, after every query the page needs has run.
#[derive(Clone, Debug)]
pub struct Footer {
    pub variant: Variant,
    pub stats: QueryStats,
    /// The same page in the other variant, where there is one.
    pub twin_href: Option<String>,
}

impl Footer {
    pub fn capture(variant: Variant, uri: &Uri) -> Self {
        let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let twin_href = match variant {
            Variant::Naive => path_and_query
                .strip_prefix("/naive")
                .unwrap_or(path_and_query)
                .to_owned(),
            Variant::Optimized => format!("/naive{path_and_query}"),
        };
        Self {
            variant,
            stats: instrument::current(),
            twin_href: Some(twin_href),
        }
    }

    /// For pages whose twin cannot be opened with a link (the result of a POST).
    pub fn without_twin(self) -> Self {
        Self {
            twin_href: None,
            ..self
        }
    }

    pub fn twin(&self) -> Variant {
        match self.variant {
            Variant::Naive => Variant::Optimized,
            Variant::Optimized => Variant::Naive,
        }
    }

    pub fn db_ms(&self) -> String {
        format!("{:.2}", self.stats.db_millis())
    }
}

/// "3 Feb 2025", as pages show dates.
pub fn human_date(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.format("%-d %b %Y").to_string())
        .unwrap_or_default()
}

/// "2025-02-03", for `<time datetime=…>`.
pub fn iso_date(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_links_each_variant_to_its_twin() {
        let optimized = Footer::capture(Variant::Optimized, &Uri::from_static("/tags/rust?page=2"));
        assert_eq!(
            optimized.twin_href.as_deref(),
            Some("/naive/tags/rust?page=2")
        );
        let naive = Footer::capture(Variant::Naive, &Uri::from_static("/naive/?page=3"));
        assert_eq!(naive.twin_href.as_deref(), Some("/?page=3"));
    }
}
