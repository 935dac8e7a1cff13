//! Fragment caching: render the sidebar on every request, or once until a write.

use super::{Action, Comparison, Fact, Facts, Found, Lesson, Runs, Step};
use crate::base::config::CacheSettings;
use crate::base::error::AppError;
use crate::base::instrument::{CacheOutcome, count_queries};
use crate::lab::workbench::Workbench;
use crate::services::cache::FragmentCache;
use crate::views::sidebar::{cached, denormalized};

pub static LESSON: Lesson = Lesson {
    slug: "fragment-caching",
    comparisons: &[&MEMORY, &REDIS],
    backfire: None,
};

/// The rendered sidebar, from the counters every time or from a cache of the
/// comparison's own — in process, or in Redis — so the site's cache is not touched.
static MEMORY: Comparison<FragmentCache> = Comparison::new(
    "memory",
    |_, _| Box::pin(async { Ok(FragmentCache::new(&CacheSettings::Memory)?) }),
    |bench, _, runs| Box::pin(uncached(bench, runs)),
    |bench, cache, runs| Box::pin(from_the_cache(bench, cache, runs)),
)
.samples(10);

static REDIS: Comparison<FragmentCache> = Comparison::new(
    "redis",
    |bench, _| Box::pin(redis(bench)),
    |bench, _, runs| Box::pin(uncached(bench, runs)),
    |bench, cache, runs| Box::pin(from_the_cache(bench, cache, runs)),
)
.samples(10)
.needing_redis();

async fn redis(bench: &Workbench) -> Result<FragmentCache, AppError> {
    let url = bench.redis_url.clone().unwrap_or_default();
    let namespace = format!("perfblog-bench-{}", std::process::id());
    let cache = FragmentCache::new(&CacheSettings::Redis { url, namespace })?;
    cache.invalidate().await;
    Ok(cache)
}

async fn uncached(bench: &Workbench, runs: &mut Runs) -> Result<Facts, AppError> {
    runs.time(|| denormalized::fragment(&bench.db, "./"))
        .await?;
    Ok(Facts::none())
}

/// In the lab, the cache's life played out first — miss, hit, a write, miss — then the
/// timed reads, warm.
async fn from_the_cache(
    bench: &Workbench,
    cache: &FragmentCache,
    runs: &mut Runs,
) -> Result<Facts, AppError> {
    let steps = if runs.is_live() {
        vec![Fact::Steps(invalidation(bench, cache).await?)]
    } else {
        Vec::new()
    };
    runs.time(|| cached::load(cache, async || Ok(bench.db.clone()), "./"))
        .await?;
    Ok(Facts(steps))
}

/// The cache's life in four steps: the first read misses and renders, the second hits,
/// a write bumps the generation (what every comment, publish or import does), and the
/// next read misses again because every entry was stored under the old one.
async fn invalidation(bench: &Workbench, cache: &FragmentCache) -> Result<Vec<Step>, AppError> {
    let mut steps = Vec::with_capacity(4);
    for action in [
        Action::Read,
        Action::ReadAgain,
        Action::Write,
        Action::ReadAfterWrite,
    ] {
        let read_under = cache.generation().await;
        let (done, stats) = count_queries(async {
            if action == Action::Write {
                cache.invalidate().await;
                return Ok(());
            }
            cached::load(cache, async || Ok(bench.db.clone()), "./")
                .await
                .map(|_| ())
        })
        .await;
        done?;
        let (found, generation) = match (action, stats.cache) {
            (Action::Write, _) => (Found::GenerationBumped, cache.generation().await),
            (_, Some(CacheOutcome::Hit)) => (Found::Hit, read_under),
            _ => (Found::Miss, read_under),
        };
        steps.push(Step {
            action,
            found,
            generation,
            statements: stats.statements,
        });
    }
    Ok(steps)
}
