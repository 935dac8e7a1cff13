//! The sidebar on every list and post page: the tag cloud (tags with their published
//! posts) and the five most-commented published posts. Aggregates over the whole
//! dataset — the most expensive part of a page, computed four ways, each rung changing
//! one thing:
//!
//! - `naive.rs`: load the rows, count in Rust (what `/naive/` pages show);
//! - `aggregated.rs`: `COUNT … GROUP BY` in the database, every time (aggregation in
//!   the database changes only where the counting happens);
//! - `denormalized.rs`: read counters that every write keeps (denormalization changes
//!   only when the counting happens: at the write, once);
//! - `cached.rs`: that, rendered once and reused from the fragment cache (what the
//!   optimized pages show: fragment caching changes only whether it is recomputed).
//!
//! Rendering it is a ladder of its own (`runtime_template.rs`): a runtime engine that
//! parses `sidebar.html` on every render, the same engine parsing it once, and the
//! template compiled into the binary ([`render`], what every page uses).

pub mod aggregated;
pub mod cached;
pub mod denormalized;
pub mod naive;
pub mod naive_load;
pub mod runtime_template;

use std::fmt;
use std::sync::{Arc, PoisonError};

use askama::Template;
use serde::Serialize;

use crate::base::error::AppError;
use crate::base::instrument::component;
use crate::base::instrument::trace::OpenSpan;
use crate::base::variant::Variant;
use crate::services::db::standbys::Server;
use crate::views::site::Site;

/// Posts in the "most discussed" list.
pub const POPULAR_POSTS: u64 = 5;

/// What all four loaders return. (`Serialize`: a runtime template engine reads it as
/// data, see `runtime_template`.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sidebar {
    /// Tags with at least one published post, by name.
    pub tags: Vec<TagCount>,
    /// The most-commented published posts, most comments first (ties: oldest id first).
    pub popular: Vec<PopularPost>,
}

impl Sidebar {
    /// From `(name, slug, published posts)` per tag and `(title, slug, comments)` per
    /// post, as the database counted them (a negative count, which none is, as zero).
    pub fn from_counts<N: TryInto<u64>>(
        tags: Vec<(String, String, N)>,
        popular: Vec<(String, String, N)>,
    ) -> Self {
        let count = |n: N| n.try_into().unwrap_or(0);
        Sidebar {
            tags: tags
                .into_iter()
                .map(|(name, slug, posts)| TagCount {
                    name,
                    slug,
                    posts: count(posts),
                })
                .collect(),
            popular: popular
                .into_iter()
                .map(|(title, slug, comments)| PopularPost {
                    title,
                    slug,
                    comments: count(comments),
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagCount {
    pub name: String,
    pub slug: String,
    pub posts: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PopularPost {
    pub title: String,
    pub slug: String,
    pub comments: u64,
}

/// Rendered sidebar HTML, as pages embed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment(pub Arc<str>);

impl fmt::Display for Fragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Template)]
#[template(path = "sidebar.html")]
struct SidebarTemplate<'a> {
    root: &'a str,
    sidebar: &'a Sidebar,
}

/// The sidebar as HTML for a page whose links start at `root` ("./" or "../").
pub fn render(sidebar: &Sidebar, root: &str) -> Result<Fragment, AppError> {
    let _timed = OpenSpan::open("template", "SidebarTemplate");
    let html = SidebarTemplate { root, sidebar }
        .render()
        .map_err(|error| {
            AppError::Internal(anyhow::Error::new(error).context("rendering the sidebar"))
        })?;
    Ok(Fragment(html.into()))
}

/// The sidebar of a page in `variant`, as the part of the page called "sidebar": on
/// naive pages loaded and counted in Rust on every request (within the naive memory
/// budget, or refused), on optimized pages from
/// the fragment cache — rendered, on a miss, from a server as current as the primary
/// when the cache read its generation (a standby, where one is). A standby that fails
/// that render is set aside and the primary renders it again.
pub async fn for_page(site: &Site, variant: Variant, root: &str) -> Result<Fragment, AppError> {
    component("sidebar", async {
        match variant {
            Variant::Naive => {
                let _share = naive_load::hold_share(&site.naive_memory, &site.db)
                    .await
                    .map_err(naive_load::NotHeld::for_a_page)?;
                render(&naive::load(&site.db).await?, root)
            }
            Variant::Optimized => from_current(site, root).await,
        }
    })
    .await
}

async fn from_current(site: &Site, root: &str) -> Result<Fragment, AppError> {
    let chosen = std::sync::Mutex::new(None);
    let current = async || {
        let reader = site.reads.current().await?;
        let db = reader.db().clone();
        *chosen.lock().unwrap_or_else(PoisonError::into_inner) = Some(reader);
        Ok(db)
    };
    let fragment = cached::load(&site.cache, current, root).await;
    let failed = chosen.into_inner().unwrap_or_else(PoisonError::into_inner);
    match (fragment, failed) {
        (Err(AppError::Internal(_) | AppError::DatabaseUnavailable(_)), Some(reader))
            if reader.server() != Server::Primary =>
        {
            site.reads.set_aside(&reader);
            cached::load(&site.cache, async || Ok(site.db.clone()), root).await
        }
        (fragment, _) => fragment,
    }
}
