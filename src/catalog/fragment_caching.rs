//! Fragment caching: render the sidebar on every request, or once until a write.

use super::measure::{Fetched, Outcome, Step, Workbench, measure};
use super::{Comparison, Pattern, SIDEBAR, Side};
use crate::cache::FragmentCache;
use crate::config::CacheSettings;
use crate::error::AppError;
use crate::views::sidebar::{cached, denormalized};

pub static PATTERN: Pattern = Pattern {
    slug: "fragment-caching",
    title: "Fragment caching",
    django: "`{% cache %}` template fragment caching (`cache.get_or_set()` in Python)",
    rails: Some("`<% cache … do %>` fragment caching"),
    problem: "The sidebar is read and rendered on every page view, though it changes only when someone writes.",
    setup: "Both sides produce the same rendered sidebar; the optimized side reads it from a cache of the lab's own (in process). Its life is played out live first — miss, hit, a write, miss — then the timed runs read it warm. The site's cache is not touched.",
    why: "The rendered HTML is cached and reused until a write bumps the cache's generation: a hit is one Redis round trip (or a hash lookup) and no SQL. Misses share one computation.",
    when_not: "When the data changes on nearly every request, when a stale value is unacceptable and invalidation cannot be made exact, or when computing is as cheap as looking up.",
    shows_on: &[SIDEBAR],
    naive: Side {
        summary: "read from the counters and rendered, on every request",
        code: &[
            code!("src/views/sidebar/denormalized.rs", "fragment"),
            code!("src/views/sidebar/denormalized.rs", "load"),
        ],
    },
    optimized: Side {
        summary: "rendered HTML in Redis or in process, invalidated on write (`src/cache/`)",
        code: &[
            code!("src/views/sidebar/cached.rs", "load"),
            code!("src/cache/mod.rs", "FragmentCache::get_or_render"),
            code!("src/cache/store.rs", "MemoryStore::lookup"),
            code!("src/cache/mod.rs", "FragmentCache::invalidate"),
        ],
    },
    tests: &["tests/api/fragment_cache.rs"],
    benches: &[
        Comparison {
            what: "fragment cache: sidebar, in process",
            bench: "fragment_cache",
            naive: "sidebar-uncached",
            optimized: "sidebar-cached-memory",
            headline: None,
        },
        Comparison {
            what: "fragment cache: sidebar, Redis",
            bench: "fragment_cache",
            naive: "sidebar-uncached",
            optimized: "sidebar-cached-redis",
            headline: None,
        },
    ],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let cache = FragmentCache::new(&CacheSettings::Memory)?;
    let steps = invalidation(&cache, bench).await?;
    let mut outcome = Outcome {
        naive: measure(|| async {
            denormalized::fragment(db, "./").await?;
            Ok(Fetched::default())
        })
        .await?,
        optimized: measure(|| async {
            cached::load(&cache, db, "./").await?;
            Ok(Fetched::default())
        })
        .await?,
    };
    outcome.optimized.steps = steps;
    Ok(outcome)
}

/// The cache's life in four steps: the first read misses and renders, the second
/// hits, a write bumps the generation (what every comment, publish or import does),
/// and the next read misses again because every entry was stored under the old one.
async fn invalidation(cache: &FragmentCache, bench: &Workbench) -> Result<Vec<Step>, AppError> {
    let db = &bench.db;
    let mut steps = Vec::with_capacity(4);
    for action in ["read", "read again", "a write", "read after the write"] {
        let generation = cache.generation().await;
        let (done, stats) = crate::instrument::count_queries(async {
            if action == "a write" {
                cache.invalidate().await;
                Ok::<_, AppError>(())
            } else {
                cached::load(cache, db, "./").await.map(|_| ())
            }
        })
        .await;
        done?;
        let outcome = match (action, stats.cache) {
            ("a write", _) => "generation bumped",
            (_, Some(crate::instrument::CacheOutcome::Hit)) => "hit",
            _ => "miss",
        };
        steps.push(Step {
            action,
            outcome,
            generation: if action == "a write" {
                cache.generation().await
            } else {
                generation
            },
            statements: stats.statements,
        });
    }
    Ok(steps)
}
