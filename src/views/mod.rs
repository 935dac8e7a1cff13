//! The pages. Each view is a folder: `mod.rs` holds the page model, its template and
//! its handler; `naive.rs` and `optimized.rs` load that same page model, so the
//! template cannot tell them apart and the HTML is byte-identical above the footer,
//! the pager's links aside (a page number on the naive twin, a cursor on the
//! optimized lists).
//! The handler picks the loader by the [`Variant`] in its path, in one `match`.

pub mod admin;
pub mod batch;
pub mod cached_page;
pub mod comments;
pub mod cursor;
pub mod echo;
pub mod export;
pub mod form;
pub mod import;
pub mod naive_gate;
pub mod pagination;
pub mod post_detail;
pub mod post_list;
pub mod sidebar;
pub mod sitemap;
pub mod slug;
pub mod tag_page;

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::Uri;
use axum::http::request::Parts;
use axum::response::Redirect;
use axum::routing::{MethodRouter, get};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::cache::page::{RenderCost, Served};
use crate::cache::{FragmentCache, PageCache, ViewTally};
use crate::config::{AdminToken, Config};
use crate::entities::tag;
use crate::instrument::{self, Component, Inspected, QueryStats, ShapeCount};
use crate::mail::Mailer;

/// What the pages share. Cloned per request, so everything in it is a handle.
#[derive(Clone)]
pub struct Site {
    /// A connection pool; every statement through it is counted (see `instrument`).
    pub db: DatabaseConnection,
    /// Rendered fragments (the sidebar) and "no such post" answers; writes invalidate it.
    pub cache: FragmentCache,
    /// Whole optimized pages (list, tag, post), under the same generation as the
    /// fragments; disabled by `PAGE_CACHE=off`.
    pub pages: PageCache,
    /// What the admin routes ask for.
    pub admin_token: AdminToken,
    /// SMTP or a folder; the naive comment handler talks to it inside the request.
    pub mailer: Mailer,
    /// Wakes the outbox worker when a message is queued.
    pub outbox_wake: Arc<Notify>,
    /// Views of the optimized post page, written to the database about once a second.
    pub views: ViewTally,
    /// Where links in emails point, without a trailing slash.
    pub public_url: String,
}

impl Site {
    /// The pages' share of what the app holds, on `db`, with caches of its own as
    /// `config` says: the app's (`AppState::new`), and the lab's, which must neither
    /// fill nor read the app's.
    pub fn new(
        db: DatabaseConnection,
        config: &Config,
        admin_token: AdminToken,
        public_url: String,
    ) -> anyhow::Result<Self> {
        let cache = FragmentCache::new(&config.cache)?;
        Ok(Site {
            pages: PageCache::new(&cache, &config.page_cache),
            views: ViewTally::new(&cache),
            cache,
            db,
            admin_token,
            mailer: Mailer::new(&config.mail)?,
            outbox_wake: Arc::new(Notify::new()),
            public_url,
        })
    }
}

/// Every page and admin action. The optimized variant owns the plain path (it is what
/// production would run) and its naive twin lives under `/naive`; one handler serves
/// both and reads its [`Variant`] from the path. The comment routes are separate
/// ([`comments::routes`]): the server puts a rate limit in front of them.
pub fn routes(site: Site) -> Router {
    let pages = Router::new()
        .route("/naive", get(|| async { Redirect::permanent("/naive/") }))
        .merge(twins("/", get(post_list::page)))
        .merge(twins("/tags/{slug}", get(tag_page::page)))
        .merge(twins("/posts/{slug}", get(post_detail::page)))
        .route("/sitemap.xml", get(sitemap::sitemap));
    pages.merge(admin::routes(&site)).with_state(site)
}

/// `route` at `path` and at `/naive{path}`.
pub fn twins(path: &str, route: MethodRouter<Site>) -> Router<Site> {
    Router::new()
        .route(path, route.clone())
        .route(&format!("/naive{path}"), route)
}

/// Which loader produced a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Naive,
    Optimized,
}

impl Variant {
    /// `/naive/…` is the naive twin; every other path is optimized.
    pub fn of_path(path: &str) -> Self {
        if path == "/naive" || path.starts_with("/naive/") {
            Variant::Naive
        } else {
            Variant::Optimized
        }
    }
}

impl Variant {
    /// What this variant's paths start with: `""` or `"/naive"`.
    pub fn path_prefix(self) -> &'static str {
        match self {
            Variant::Naive => "/naive",
            Variant::Optimized => "",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Naive => "naive",
            Variant::Optimized => "optimized",
        })
    }
}

/// A handler's variant, from the path it answers.
impl<S: Send + Sync> FromRequestParts<S> for Variant {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Variant::of_path(parts.uri.path()))
    }
}

/// What a page shows at its foot: which variant it is, how to reach the other one,
/// and the figures the `X-Query-Count` and `Server-Timing` headers carry — in all and
/// by part of the page. Captured just before rendering, after every query the page
/// needs has run.
#[derive(Clone, Debug)]
pub struct Footer {
    pub variant: Variant,
    pub stats: QueryStats,
    /// The named parts of the page ("post list", "sidebar"), in the order they ran.
    pub components: Vec<Component>,
    /// The same page in the other variant, where there is one.
    pub twin_href: Option<String>,
    /// Rendered for the page cache: the footer is a hole, filled per request.
    pub is_hole: bool,
    /// How the page cache served the page, when it did.
    pub page: Option<PageNote>,
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
    /// "page from cache, rendered 12 s ago in 4 queries".
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
            components: instrument::components(),
            twin_href: Some(twin_href),
            is_hole: false,
            page: None,
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
}

/// A tag as pages link to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagLink {
    pub name: String,
    pub slug: String,
}

impl From<tag::Model> for TagLink {
    fn from(tag: tag::Model) -> Self {
        TagLink {
            name: tag.name,
            slug: tag.slug,
        }
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
    fn paths_under_naive_are_the_naive_variant() {
        assert_eq!(Variant::of_path("/naive/"), Variant::Naive);
        assert_eq!(Variant::of_path("/naive/posts/x"), Variant::Naive);
        assert_eq!(Variant::of_path("/naive"), Variant::Naive);
        assert_eq!(Variant::of_path("/naiveté"), Variant::Optimized);
        assert_eq!(Variant::of_path("/posts/naive"), Variant::Optimized);
    }

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
