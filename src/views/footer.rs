//! What a page shows at its foot: which variant it is, its twin, and what it cost.

use axum::http::Uri;

use crate::base::instrument::findings::Finding;
use crate::base::instrument::{self, Component, Inspected, QueryStats, ShapeCount};
use crate::base::variant::Variant;
use crate::services::cache::page::{RenderCost, Served};

/// What a page shows at its foot: which variant it is, how to reach the other one,
/// and the figures the `X-Query-Count` and `Server-Timing` headers carry — in all and
/// by part of the page. Captured just before rendering, after every query the page
/// needs has run.
#[derive(Clone, Debug)]
pub struct Footer {
    pub variant: Variant,
    pub stats: QueryStats,
    /// The named parts of the page ("post list", "sidebar"), costliest first: the
    /// part to measure first leads.
    pub components: Vec<Component>,
    /// The same page in the other variant, where there is one.
    pub twin_href: Option<String>,
    /// Rendered for the page cache: the footer is a hole, filled per request.
    pub is_hole: bool,
    /// How the page cache served the page, when it did.
    pub page: Option<PageNote>,
    /// Parts and statements of this request past the slow threshold, costliest first:
    /// shown before any N+1 suspect.
    pub slow: Vec<Finding>,
    /// Statement shapes this request repeated: N+1 suspects (none with the detector off).
    pub n_plus_one: Vec<ShapeCount>,
    /// Every statement and cache lookup, when the SQL panel is on (`PERFBLOG_INSPECT=1`).
    pub inspected: Option<Inspected>,
}

/// The footer's account of a page the per-view cache served.
#[derive(Clone, Copy, Debug)]
pub struct PageNote {
    pub served: Served,
    /// Since the page was rendered.
    pub age: std::time::Duration,
    /// What rendering it cost.
    pub cost: RenderCost,
}

impl PageNote {
    /// "page from cache, rendered 12 s ago in 3 queries".
    pub fn describe(&self) -> String {
        let age = self.age.as_secs();
        let ago = if age < 120 {
            format!("{age} s ago")
        } else {
            format!("{} min ago", age / 60)
        };
        let cost = QueryStats {
            statements: self.cost.statements,
            ..QueryStats::default()
        }
        .describe();
        match self.served {
            Served::Hit => format!("page from cache, rendered {ago} in {cost}"),
            Served::Miss => format!("page rendered now in {cost}, and cached"),
            Served::Stale => {
                format!("stale page from cache (the database is unreachable), rendered {ago}")
            }
        }
    }
}

impl Footer {
    pub fn capture(variant: Variant, uri: &Uri) -> Self {
        let path_and_query = twin_of(uri);
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
            components: costliest_first(instrument::components()),
            twin_href: Some(twin_href),
            is_hole: false,
            page: None,
            slow: instrument::slow_findings(),
            n_plus_one: instrument::suspects(),
            inspected: instrument::inspected(),
        }
    }

    /// The footer a page is rendered with: this request's figures (captured now, after
    /// the page's statements), or a hole the page cache fills per request.
    pub fn for_page(hole: bool, variant: Variant, uri: &Uri) -> Self {
        if hole {
            Self::hole(variant)
        } else {
            Self::capture(variant, uri)
        }
    }

    /// A placeholder for the page cache: the footer is filled in per request.
    pub fn hole(variant: Variant) -> Self {
        Self {
            variant,
            stats: QueryStats::default(),
            components: Vec::new(),
            twin_href: None,
            is_hole: true,
            page: None,
            slow: Vec::new(),
            n_plus_one: Vec::new(),
            inspected: None,
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

    /// `part`'s share of the request's database time, in whole percent: its bar.
    pub fn share(&self, part: &Component) -> u32 {
        instrument::percent_of(part.stats.db_time, self.stats.db_time)
    }
}

/// The longest query a twin link carries over: a page's own (`?page=12`, `?after=…`)
/// is far shorter; anything longer is not echoed into the page.
const MOST_QUERY_CARRIED: usize = 256;

/// The path and query the twin link starts from: the query left off past
/// [`MOST_QUERY_CARRIED`] bytes.
fn twin_of(uri: &Uri) -> &str {
    match uri.path_and_query() {
        Some(whole)
            if whole
                .query()
                .is_none_or(|query| query.len() <= MOST_QUERY_CARRIED) =>
        {
            whole.as_str()
        }
        _ => uri.path(),
    }
}

/// `parts` by database time, most first; parts that cost the same keep the order they ran.
fn costliest_first(mut parts: Vec<Component>) -> Vec<Component> {
    parts.sort_by_key(|part| std::cmp::Reverse(part.stats.db_time));
    parts
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

    #[test]
    fn parts_are_listed_costliest_first_and_equal_ones_in_the_order_they_ran() {
        let part = |name, ms| Component {
            name,
            stats: QueryStats {
                db_time: std::time::Duration::from_millis(ms),
                ..QueryStats::default()
            },
        };
        let listed = costliest_first(vec![
            part("post list", 5),
            part("view counter", 1),
            part("sidebar", 400),
            part("comments", 1),
        ]);
        let names: Vec<&str> = listed.iter().map(|part| part.name).collect();
        assert_eq!(names, ["sidebar", "post list", "view counter", "comments"]);
    }

    #[test]
    fn a_query_longer_than_a_page_would_use_is_not_echoed_into_the_twin_link() {
        let long: Uri = format!("/tags/rust?x={}", "&".repeat(13_049))
            .parse()
            .expect("a URI");
        let footer = Footer::capture(Variant::Optimized, &long);
        assert_eq!(footer.twin_href.as_deref(), Some("/naive/tags/rust"));
    }
}
