//! Per-view caching: render the whole page on every request, or once until a write.

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use tokio::sync::Notify;

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, POST_LIST, POST_PAGE, Pattern, Side, TAG_PAGE};
use crate::cache::precompressed::brotli_on_the_fly;
use crate::cache::{FragmentCache, PageCache, ViewTally};
use crate::config::{AdminToken, CacheSettings, MailSettings, PageCacheSettings};
use crate::error::AppError;
use crate::mail::Mailer;
use crate::views::cached_page::PageRequest;
use crate::views::pagination::Position;
use crate::views::{Site, Variant, post_list};

pub static PATTERN: Pattern = Pattern {
    slug: "per-view-caching",
    title: "Per-view caching",
    django: "`@cache_page` / `cache_page(300)(view)`, the per-view cache",
    rails: Some("`caches_action` (the actionpack-action_caching gem)"),
    problem: "Every request for a page runs its queries, renders its template and compresses the result again, though the page changes only when someone writes.",
    setup: "Both sides serve the first page of the optimized list, as a browser asks for it (`Accept-Encoding: gzip, deflate, br, zstd`), with the sidebar from a warm fragment cache. The uncached side renders and compresses (brotli at quality 4, as the compression layer does); the cached side serves from a page cache of the lab's own (in process), filled before the runs.",
    why: "The whole page is rendered once per write, its fixed parts compressed once (brotli and gzip), and kept until a write bumps the generation. A hit runs no SQL and compresses nothing: it fills the holes — the view count, the footer's figures — and joins the precompressed parts.",
    when_not: "When a page differs per visitor in more than a few holes (a logged-in view), when it changes on nearly every request, or when it is cheap to render and rarely read.",
    shows_on: &[POST_LIST, TAG_PAGE, POST_PAGE],
    naive: Side {
        summary: "rendered and compressed on every request (`PAGE_CACHE=off`)",
        code: &[
            code!("src/views/post_list/mod.rs", "render"),
            code!("src/views/post_list/optimized.rs", "load_page"),
            code!("src/cache/precompressed.rs", "brotli_on_the_fly"),
        ],
    },
    optimized: Side {
        summary: "the page from the cache, holes filled per request, compressed once per render (`src/cache/page/mod.rs`)",
        code: &[
            code!("src/views/cached_page.rs", "serve"),
            code!("src/cache/page/mod.rs", "get_or_render"),
            code!("src/cache/page/mod.rs", "CachedPage::build"),
            code!("src/cache/precompressed.rs", "compress"),
            code!("src/views/cached_page.rs", "respond"),
            code!("src/cache/precompressed.rs", "join_brotli"),
        ],
    },
    tests: &["tests/api/page_cache.rs"],
    benches: &[
        Comparison {
            what: "per-view cache: list page, in process",
            bench: "page_cache",
            naive: "list-rendered",
            optimized: "list-cached-memory",
            headline: None,
        },
        Comparison {
            what: "per-view cache: list page, Redis",
            bench: "page_cache",
            naive: "list-rendered",
            optimized: "list-cached-redis",
            headline: None,
        },
        Comparison {
            what: "per-view cache: post page (its view counted), in process",
            bench: "page_cache",
            naive: "post-rendered",
            optimized: "post-cached-memory",
            headline: None,
        },
    ],
    experiment: |bench| Box::pin(run(bench)),
};

/// A site of the lab's own on the workbench's database: its own caches, so the lab
/// neither fills nor reads the site's.
fn lab_site(bench: &Workbench, page_cache: bool) -> Result<Site, AppError> {
    let cache = FragmentCache::new(&CacheSettings::Memory)?;
    let settings = PageCacheSettings {
        enabled: page_cache,
        ..PageCacheSettings::default()
    };
    Ok(Site {
        db: bench.db.clone(),
        pages: PageCache::new(&cache, &settings),
        cache,
        admin_token: AdminToken::generate(),
        mailer: Mailer::new(&MailSettings::Folder(
            std::env::temp_dir().join("perfblog-lab-mail"),
        ))?,
        outbox_wake: Arc::new(Notify::new()),
        // Never flushed: the lab's views change no data.
        views: ViewTally::in_process(),
        public_url: "http://lab".to_owned(),
    })
}

/// The first list page, as the handler answers a browser.
async fn first_page(site: &Site) -> Result<Response, AppError> {
    let request = PageRequest {
        uri: Uri::from_static("/"),
        accept_encoding: Some("gzip, deflate, br, zstd".to_owned()),
        if_none_match: None,
    };
    post_list::page(
        State(site.clone()),
        Variant::Optimized,
        Position::FIRST,
        request,
    )
    .await
}

async fn body_of(response: Response) -> Result<axum::body::Bytes, AppError> {
    to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|error| AppError::Internal(anyhow::anyhow!("reading a page: {error}")))
}

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let rendering = lab_site(bench, false)?;
    let caching = lab_site(bench, true)?;
    first_page(&rendering).await?;
    first_page(&caching).await?;
    Ok(Outcome {
        naive: measure(|| async {
            let html = body_of(first_page(&rendering).await?).await?;
            brotli_on_the_fly(&html)?;
            Ok(Fetched::default())
        })
        .await?,
        optimized: measure(|| async {
            body_of(first_page(&caching).await?).await?;
            Ok(Fetched::default())
        })
        .await?,
    })
}
