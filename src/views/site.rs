//! What every page shares: the [`Site`] its handler is given, the way a route is
//! served twice ([`twins`]), and how pages show tags and dates.

use std::sync::Arc;

use axum::Router;
use axum::routing::MethodRouter;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::base::config::{AdminToken, Config};
use crate::base::entities::tag;
use crate::services::cache::{FragmentCache, PageCache, ViewTally};
use crate::services::db::commented::Db;
use crate::services::db::standbys::Reads;
use crate::services::mail::Mailer;
use crate::services::memory_budget::MemoryBudget;

/// What the pages share. Cloned per request, so everything in it is a handle.
#[derive(Clone)]
pub struct Site {
    /// A connection pool; every statement through it is counted (see `instrument`) and
    /// ends with a comment saying where it came from (see `commented`).
    pub db: Db,
    /// Where the optimized pages read from: `db`, or a streaming standby that has what
    /// the reader must see (`DATABASE_REPLICA_URLS`).
    pub reads: Reads,
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
    /// The most addresses one sitemap file lists.
    pub sitemap_urls: u64,
    /// The largest NDJSON import taken, in bytes (`IMPORT_MAX_MB`).
    pub import_max_bytes: u64,
    /// The memory the naive sidebar may hold, shared with the lab's naive side of it
    /// (`NAIVE_MEMORY_BUDGET`; nothing when the naive twins are off).
    pub naive_memory: MemoryBudget,
}

impl Site {
    /// The pages' share of what the app holds, on `db`, with caches of its own as
    /// `config` says: the app's (`AppState::new` builds the rest around it), and the
    /// lab's, which must neither fill nor read the app's.
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
            reads: Reads::primary_only(Db::new(db.clone())),
            db: Db::new(db),
            admin_token,
            mailer: Mailer::new(&config.mail)?,
            outbox_wake: Arc::new(Notify::new()),
            public_url,
            sitemap_urls: config.sitemap_urls,
            import_max_bytes: config.import_max_bytes,
            naive_memory: MemoryBudget::new(
                match config.naive.enabled {
                    true => config.naive.memory_budget,
                    false => 0,
                },
                config.naive.wait,
            ),
        })
    }
}

impl Site {
    /// This site, its optimized pages reading as `reads` says.
    pub fn reading_from(self, reads: Reads) -> Self {
        Site { reads, ..self }
    }
}

/// `route` at `path` and at `/naive{path}`.
pub fn twins(path: &str, route: MethodRouter<Site>) -> Router<Site> {
    Router::new()
        .route(path, route.clone())
        .route(&format!("/naive{path}"), route)
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
