//! Fragment caching: rendered HTML, cached under a key, in Redis (`REDIS_URL`) or in
//! process (moka) — one interface, the same behaviour.
//!
//! - **Invalidation by generation.** Every write that changes what fragments show
//!   calls [`FragmentCache::invalidate`], which bumps a generation number (an `INCR` in
//!   Redis). Each cached value carries the generation it was computed under, and a
//!   lookup only accepts the current one. Deleting keys instead would race: a reader
//!   that computed from the old data just before the write could store its stale value
//!   just after the delete. Under a generation that value is simply never read.
//! - **TTL with jitter.** Values also expire after their TTL ± 20 %, so fragments
//!   written together do not all expire — and get recomputed — together.
//! - **Single flight.** On a miss, concurrent requests for the same key wait for one
//!   computation (moka's `try_get_with`) instead of each running it (a stampede).
//! - **Negative entries.** "There is no post at this slug" can be remembered too
//!   ([`FragmentCache::knows_missing`]), so a crawler hammering a dead link does not
//!   reach the database each time; the next write's generation forgets it, so a post
//!   published later is not hidden.
//! - **Redis down** (at start or mid-run): lookups fail fast, pages are computed
//!   uncached (a computation is shared with the requests of the same second, by the
//!   single flight), one warning is logged per outage, and caching resumes by itself.
//!   A write during the outage owes Redis its generation bump and pays it before this
//!   process reads from Redis again.

pub mod page;
pub mod precompressed;
mod store;
pub mod write_behind;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;

use crate::base::config::CacheSettings;
use crate::base::error::AppError;
use crate::base::instrument::trace::OpenSpan;
use crate::base::instrument::{self, CacheOutcome};
pub use page::PageCache;
use store::Store;
pub use write_behind::ViewTally;

/// How long a fragment lives when no write invalidates it first (± 20 %).
pub const FRAGMENT_TTL: Duration = Duration::from_secs(300);
/// How long "no post here" is remembered (± 20 %), writes aside.
pub const MISSING_TTL: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct FragmentCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FragmentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FragmentCache")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    /// Bumped by every local `invalidate`; part of every single-flight key, so a
    /// computation started before a write is never handed to a request after it.
    local_generation: AtomicU64,
    /// Computations in progress (and their results for a second), per generation and
    /// key: the single flight.
    flights: moka::future::Cache<String, Arc<str>>,
    stats: Stats,
}

#[derive(Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    renders: AtomicU64,
}

/// Counters since start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Fragments actually computed (fewer than misses when flights are shared).
    pub renders: u64,
    /// Times Redis went from reachable to unreachable (each logged once).
    pub outages: u64,
}

/// Whether a "no such thing" answer is remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Remembered,
    /// Not remembered: the generation to remember one under (`None`: Redis is down).
    Unknown {
        generation: Option<u64>,
    },
}

/// What `/healthz` reports about the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheHealth {
    InProcess,
    Ok,
    Unavailable,
}

impl CacheHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheHealth::InProcess => "in-process",
            CacheHealth::Ok => "ok",
            CacheHealth::Unavailable => "unavailable",
        }
    }
}

impl FragmentCache {
    pub fn new(settings: &CacheSettings) -> anyhow::Result<Self> {
        let store = match settings {
            CacheSettings::Memory => Store::memory(),
            CacheSettings::Redis { url, namespace } => Store::redis(url, namespace)?,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                local_generation: AtomicU64::new(0),
                flights: moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(Duration::from_secs(1))
                    .build(),
                stats: Stats::default(),
            }),
        })
    }

    /// The value cached under `key`, or `render`'s result — computed once however
    /// many requests miss at the same time, then cached for about `ttl`.
    pub async fn get_or_render<F, Fut, V>(
        &self,
        key: &str,
        ttl: Duration,
        render: F,
    ) -> Result<Arc<str>, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, AppError>>,
        V: Into<Arc<str>>,
    {
        let _timed =
            OpenSpan::open("cache", "fragment").map(|span| span.with_fields(format!("key={key}")));
        let inner = &self.inner;
        let generation = match inner.store.lookup(key).await {
            Ok(found) => {
                if let Some(value) = found.value {
                    inner.stats.hits.fetch_add(1, Ordering::Relaxed);
                    instrument::record_cache(key, CacheOutcome::Hit);
                    return Ok(value);
                }
                Some(found.generation)
            }
            // Unavailable (Redis down): compute, still in a single flight, store nothing.
            Err(store::Unavailable) => None,
        };
        inner.stats.misses.fetch_add(1, Ordering::Relaxed);
        instrument::record_cache(key, CacheOutcome::Miss);
        let flight = format!(
            "{}:{}:{key}",
            generation.map_or_else(|| "down".to_owned(), |g| g.to_string()),
            inner.local_generation.load(Ordering::Acquire)
        );
        inner
            .flights
            .try_get_with(flight, async {
                inner.stats.renders.fetch_add(1, Ordering::Relaxed);
                let value: Arc<str> = render().await?.into();
                if let Some(generation) = generation {
                    let _ = inner
                        .store
                        .put(key, generation, &value, jittered(ttl))
                        .await;
                }
                Ok::<_, AppError>(value)
            })
            .await
            .map_err(|shared| shared.duplicate())
    }

    /// Whether `key` was remembered as missing (and still is, in this generation); if
    /// not, the generation now, to remember an answer found from here on under.
    pub async fn missing(&self, key: &str) -> Missing {
        let lookup = self.inner.store.lookup(key).await;
        let (outcome, missing) = match lookup {
            Ok(found) if found.value.is_some() => (CacheOutcome::Hit, Missing::Remembered),
            Ok(found) => (
                CacheOutcome::Miss,
                Missing::Unknown {
                    generation: Some(found.generation),
                },
            ),
            Err(store::Unavailable) => (CacheOutcome::Miss, Missing::Unknown { generation: None }),
        };
        instrument::record_cache(key, outcome);
        missing
    }

    /// Remembers that `key` names nothing, for about [`MISSING_TTL`] or until the
    /// next write: under `generation`, read before the answer was looked for
    /// ([`FragmentCache::missing`]), so a write in between makes it never read.
    pub async fn remember_missing(&self, key: &str, generation: u64) {
        let _ = self
            .inner
            .store
            .put(key, generation, "missing", jittered(MISSING_TTL))
            .await;
    }

    /// Forgets every fragment and negative entry: call it after each write that
    /// changes what they show.
    pub async fn invalidate(&self) {
        self.inner.local_generation.fetch_add(1, Ordering::AcqRel);
        self.inner.store.bump().await;
    }

    /// The generation entries are read under now (each write bumps it); `None` when
    /// the store cannot be reached.
    pub async fn generation(&self) -> Option<u64> {
        self.inner.store.generation().await.ok()
    }

    /// Whether the cache can be reached right now (asks Redis; in process: always).
    pub async fn health(&self) -> CacheHealth {
        self.inner.store.ping().await
    }

    pub fn stats(&self) -> CacheStats {
        let stats = &self.inner.stats;
        CacheStats {
            hits: stats.hits.load(Ordering::Relaxed),
            misses: stats.misses.load(Ordering::Relaxed),
            renders: stats.renders.load(Ordering::Relaxed),
            outages: self.inner.store.outages(),
        }
    }
}

/// `ttl` ± 20 %, at random.
fn jittered(ttl: Duration) -> Duration {
    ttl.mul_f64(rand::rng().random_range(0.8..=1.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_spread_around_the_base() {
        let spread: Vec<Duration> = (0..200).map(|_| jittered(FRAGMENT_TTL)).collect();
        assert!(
            spread
                .iter()
                .all(|ttl| *ttl >= FRAGMENT_TTL.mul_f64(0.8) && *ttl <= FRAGMENT_TTL.mul_f64(1.2))
        );
        let distinct: std::collections::HashSet<_> = spread.iter().collect();
        assert!(distinct.len() > 150, "jittered, not fixed");
    }
}
