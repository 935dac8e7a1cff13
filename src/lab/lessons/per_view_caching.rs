//! Per-view caching: render the whole page on every request, or once until a write.

use super::{Comparison, Facts, Fut, Lesson, Runs, Which};
use crate::base::config::CacheSettings;
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::lab::fixtures::{page, site_of_its_own};
use crate::lab::workbench::Workbench;
use crate::services::cache::precompressed::brotli_on_the_fly;
use crate::views::site::Site;

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
    post: Option<Slug>,
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
    let post = if post {
        Some(bench.newest_post().await?.1)
    } else {
        None
    };
    let sites = Sites {
        rendering: site_of_its_own(&bench.db, &cache, false)?,
        caching: site_of_its_own(&bench.db, &cache, true)?,
        post,
    };
    page(&sites.rendering, sites.post.as_ref()).await?;
    page(&sites.caching, sites.post.as_ref()).await?;
    Ok(sites)
}

/// Rendered, then compressed as the compression layer does (brotli at quality 4).
async fn rendered(sites: &Sites, runs: &mut Runs) -> Result<Facts, AppError> {
    runs.time(|| async {
        let html = page(&sites.rendering, sites.post.as_ref()).await?;
        Ok::<_, AppError>(brotli_on_the_fly(&html)?)
    })
    .await?;
    Ok(Facts::none())
}

/// From the page cache, holes filled, precompressed.
async fn cached(sites: &Sites, runs: &mut Runs) -> Result<Facts, AppError> {
    runs.time(|| page(&sites.caching, sites.post.as_ref()))
        .await?;
    Ok(Facts::none())
}
