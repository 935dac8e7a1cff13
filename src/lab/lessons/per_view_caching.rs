//! Per-view caching: render the whole page on every request, or once until a write.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Backfire, Comparison, Facts, Fut, Lesson, Line, Runs, Which, median_of, time};
use crate::base::config::CacheSettings;
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::lab::fixtures::{page, site_of_its_own};
use crate::lab::workbench::Workbench;
use crate::services::cache::precompressed::zstd_on_the_fly;
use crate::views::site::Site;

pub static LESSON: Lesson = Lesson {
    slug: "per-view-caching",
    comparisons: &[&LIST_MEMORY, &LIST_REDIS, &POST_MEMORY],
    backfire: Some(&LOW_HIT_RATIO),
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

/// Rendered, then compressed as an uncached page is for a browser (zstd, in one call).
async fn rendered(sites: &Sites, runs: &mut Runs) -> Result<Facts, AppError> {
    runs.time(|| async {
        let html = page(&sites.rendering, sites.post.as_ref()).await?;
        Ok::<_, AppError>(zstd_on_the_fly(&html)?)
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

/// Post pages each asked for once — a long tail of posts, the hit ratio 0 % — against
/// one page asked for again and again.
static LOW_HIT_RATIO: Backfire = Backfire {
    tries: "caching pages that are rarely asked for twice",
    run: |bench| Box::pin(low_hit_ratio(bench)),
};

async fn low_hit_ratio(bench: &Workbench) -> Result<Vec<Line>, AppError> {
    let slugs: Vec<String> = post::Entity::find()
        .select_only()
        .column(post::Column::Slug)
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .limit(4)
        .into_tuple()
        .all(&bench.db)
        .await?;
    let slugs = slugs
        .iter()
        .map(|slug| Slug::parse(slug).map_err(|error| AppError::Internal(anyhow::anyhow!(error))))
        .collect::<Result<Vec<_>, _>>()?;
    let [first, others @ ..] = slugs.as_slice() else {
        return Err(AppError::NotFound(
            "The lab needs a published post; seed the database.".to_owned(),
        ));
    };
    if others.len() < 3 {
        return Ok(vec![Line::new(
            "a miss on a post page not asked for yet",
            "not measured: too few published posts",
        )]);
    }
    let rendering = site_of_its_own(&bench.db, &CacheSettings::Memory, false)?;
    let caching = site_of_its_own(&bench.db, &CacheSettings::Memory, true)?;
    page(&rendering, Some(first)).await?;
    page(&caching, Some(first)).await?;
    let (_, rendered) = median_of(|| async {
        let html = page(&rendering, Some(first)).await?;
        Ok(zstd_on_the_fly(&html)?)
    })
    .await?;
    let (_, hit) = median_of(|| page(&caching, Some(first))).await?;
    let mut unasked = others.iter();
    let (_, miss) = median_of(|| {
        let slug = unasked.next().unwrap_or(first).clone();
        let caching = &caching;
        async move { page(caching, Some(&slug)).await }
    })
    .await?;
    Ok(vec![
        Line::new(
            "no cache: rendered and compressed (zstd) per request",
            time(rendered),
        ),
        Line::new("from the page cache (in process): a hit", time(hit)),
        Line::new(
            "from the page cache (in process): a miss — rendered, compressed as brotli and gzip, stored",
            time(miss),
        ),
        Line::new(
            "share of requests that must be hits for the cache to save time",
            break_even(rendered, hit, miss),
        ),
    ])
}

/// The hit ratio `h` where `h × hit + (1 − h) × miss` equals rendering every time.
fn break_even(rendered: Duration, hit: Duration, miss: Duration) -> String {
    let (r, h, m) = (
        rendered.as_secs_f64(),
        hit.as_secs_f64(),
        miss.as_secs_f64(),
    );
    if m <= r {
        return "0 %: a miss costs no more than rendering".to_owned();
    }
    if h >= r {
        return "never: a hit costs as much as rendering".to_owned();
    }
    format!("{:.0} %", 100.0 * (m - r) / (m - h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_pays_above_the_hit_ratio_where_both_costs_meet() {
        let ms = Duration::from_millis;
        assert_eq!(break_even(ms(10), ms(0), ms(20)), "50 %");
        assert_eq!(
            break_even(ms(10), ms(1), ms(10)),
            "0 %: a miss costs no more than rendering"
        );
        assert_eq!(
            break_even(ms(10), ms(10), ms(20)),
            "never: a hit costs as much as rendering"
        );
    }
}
