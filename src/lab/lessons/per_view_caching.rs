//! Per-view caching: render the whole page on every request, or once until a write.

use axum::body::{Bytes, to_bytes};
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;

use super::{Comparison, Facts, Fut, Lesson, Runs, Which};
use crate::base::config::{AdminToken, CacheSettings, Config, MailSettings, PageCacheSettings};
use crate::base::error::AppError;
use crate::base::variant::Variant;
use crate::lab::workbench::Workbench;
use crate::services::cache::precompressed::brotli_on_the_fly;
use crate::views::cached_page::PageRequest;
use crate::views::pagination::Position;
use crate::views::site::Site;
use crate::views::{post_detail, post_list};

pub static LESSON: Lesson = Lesson {
    slug: "per-view-caching",
    comparisons: &[&LIST_MEMORY, &LIST_REDIS, &POST_MEMORY],
};

/// Two sites of the comparison's own on the workbench's database — one renders every
/// page, one caches them — so the lab neither fills nor reads the site's caches; both
/// warmed by a first request, and asked as a browser asks.
struct Sites {
    rendering: Site,
    caching: Site,
    /// `None`: the list's first page; `Some`: this post's page (its view counted).
    post: Option<crate::base::slug::Slug>,
}

static LIST_MEMORY: Comparison<Sites> = of("list-memory", |bench, _| {
    Box::pin(sites(bench, CacheSettings::Memory, false))
});
static LIST_REDIS: Comparison<Sites> = of("list-redis", |bench, _| {
    Box::pin(sites(bench, redis(bench), false))
})
.needing_redis();
static POST_MEMORY: Comparison<Sites> = of("post-memory", |bench, _| {
    Box::pin(sites(bench, CacheSettings::Memory, true))
});

/// The page of the sites `setup` makes: rendered, or from the cache.
const fn of(
    measure: &'static str,
    setup: for<'a> fn(&'a Workbench, Option<u64>) -> Fut<'a, Sites>,
) -> Comparison<Sites> {
    Comparison::either(measure, setup, |_, sites, runs, which| match which {
        Which::Naive => Box::pin(rendered(sites, runs)),
        Which::Optimized => Box::pin(cached(sites, runs)),
    })
    .samples(20)
}

fn redis(bench: &Workbench) -> CacheSettings {
    CacheSettings::Redis {
        url: bench.redis_url.clone().unwrap_or_default(),
        namespace: format!("perfblog-bench-{}", std::process::id()),
    }
}

async fn sites(bench: &Workbench, cache: CacheSettings, post: bool) -> Result<Sites, AppError> {
    let site = |page_cache| {
        let config = Config {
            cache: cache.clone(),
            page_cache: PageCacheSettings {
                enabled: page_cache,
                ..PageCacheSettings::default()
            },
            mail: MailSettings::Folder(std::env::temp_dir().join("perfblog-lab-mail")),
            ..Config::default()
        };
        Site::new(
            bench.db.clone(),
            &config,
            AdminToken::generate(),
            "http://lab".to_owned(),
        )
    };
    let post = if post {
        Some(bench.newest_post().await?.1)
    } else {
        None
    };
    let sites = Sites {
        rendering: site(false)?,
        caching: site(true)?,
        post,
    };
    page(&sites, &sites.rendering).await?;
    page(&sites, &sites.caching).await?;
    Ok(sites)
}

/// Rendered, then compressed as the compression layer does (brotli at quality 4).
async fn rendered(sites: &Sites, runs: &mut Runs) -> Result<Facts, AppError> {
    runs.time(|| async {
        let html = page(sites, &sites.rendering).await?;
        Ok::<_, AppError>(brotli_on_the_fly(&html)?)
    })
    .await?;
    Ok(Facts::none())
}

/// From the page cache, holes filled, precompressed.
async fn cached(sites: &Sites, runs: &mut Runs) -> Result<Facts, AppError> {
    runs.time(|| page(sites, &sites.caching)).await?;
    Ok(Facts::none())
}

/// The page, as the handler answers a browser, read to its last byte.
async fn page(sites: &Sites, site: &Site) -> Result<Bytes, AppError> {
    let request = |path: &str| PageRequest {
        uri: path.parse::<Uri>().unwrap_or_default(),
        accept_encoding: Some("gzip, deflate, br, zstd".to_owned()),
        if_none_match: None,
    };
    let response: Response = match &sites.post {
        None => {
            let state = State(site.clone());
            post_list::page(state, Variant::Optimized, Position::FIRST, request("/")).await?
        }
        Some(slug) => {
            let path = format!("/posts/{slug}");
            let state = State(site.clone());
            post_detail::page(state, Variant::Optimized, slug.clone(), request(&path)).await?
        }
    };
    to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|error| AppError::Internal(anyhow::anyhow!("reading a page: {error}")))
}
