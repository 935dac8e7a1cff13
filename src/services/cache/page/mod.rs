//! Per-view caching: whole rendered pages, with holes for what changes per request.
//!
//! A page is rendered with placeholders ([`Hole`]) where the view count and the
//! footer's figures go, split there into fixed segments, and each segment is
//! compressed once (see [`precompressed`](super::precompressed)). A hit fills the
//! holes and joins the segments in the encoding the client asked for.
//!
//! - **Same invalidation as the fragments.** Pages live under the fragment cache's
//!   generation: every write's `invalidate` retires them all at once.
//! - **One tier per process, one shared.** Each process keeps the pages it has read in
//!   memory. With Redis, a page is also stored there (one blob, every encoding), and a
//!   hit first asks Redis for the generation alone — a few bytes — so the bytes of the
//!   page come from memory without ever being staler than Redis: a write through any
//!   instance bumps the generation every instance checks.
//! - **TTL with jitter, single flight** on a miss, as for fragments.
//! - **Stale-if-error.** A page past its TTL or its generation is kept for
//!   [`PageCacheSettings::serve_stale_for`] after its render; if rendering it again
//!   fails for a server-side reason (the database is down), that copy is served,
//!   marked stale, instead of an error page.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::precompressed::Segments;
use super::{FragmentCache, jittered};
use stored::{decode, encode};

mod stored;
use crate::base::config::PageCacheSettings;
use crate::base::error::AppError;
use crate::base::instrument::trace::OpenSpan;
use crate::base::instrument::{self, CacheOutcome};

/// A place in a cached page that is filled per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hole {
    /// The post page's view count: counted on every request, hit or miss.
    Views,
    /// The footer's figures: this request's statements and time.
    Footer,
}

impl Hole {
    /// What a template writes where the hole goes.
    pub const fn marker(self) -> &'static str {
        match self {
            Hole::Views => "<!--hole:views-->",
            Hole::Footer => "<!--hole:footer-->",
        }
    }

    const ALL: [Hole; 2] = [Hole::Views, Hole::Footer];

    fn code(self) -> u8 {
        match self {
            Hole::Views => 1,
            Hole::Footer => 2,
        }
    }

    fn from_code(code: u8) -> Option<Hole> {
        Hole::ALL.into_iter().find(|hole| hole.code() == code)
    }
}

/// The post a page shows, for the view counter hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject {
    pub post_id: i32,
    /// Its view count when the page was rendered, pending views included (shown if
    /// counting fails).
    pub views_at_render: i32,
    /// The view tally's running total for the post then; `None` if it could not be had.
    pub counted_at_render: Option<i64>,
}

/// What a render hands the cache: HTML with hole markers in it.
#[derive(Debug)]
pub struct Rendered {
    pub html: String,
    pub subject: Option<Subject>,
}

/// What rendering a page cost, as the footer of a hit recalls it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderCost {
    pub statements: u32,
    pub db_micros: u64,
}

/// A page as the cache keeps it.
#[derive(Debug, PartialEq, Eq)]
pub struct CachedPage {
    generation: u64,
    /// Milliseconds since the Unix epoch (comparable across instances).
    rendered_at_ms: u64,
    fresh_until_ms: u64,
    pub cost: RenderCost,
    pub subject: Option<Subject>,
    /// The holes between consecutive segments, in order.
    pub holes: Vec<Hole>,
    pub segments: Segments,
    /// A hash of the fixed parts: the same page has the same ETag on every instance.
    pub etag: u64,
}

impl CachedPage {
    /// Splits `rendered` at its hole markers and compresses the segments.
    pub fn build(
        rendered: Rendered,
        generation: u64,
        cost: RenderCost,
        ttl: Duration,
    ) -> anyhow::Result<CachedPage> {
        let mut holes = Vec::new();
        let mut identity = Vec::new();
        let mut rest = rendered.html.as_str();
        while let Some((at, hole)) = Hole::ALL
            .into_iter()
            .filter_map(|hole| rest.find(hole.marker()).map(|at| (at, hole)))
            .min_by_key(|(at, _)| *at)
        {
            identity.push(Bytes::copy_from_slice(&rest.as_bytes()[..at]));
            holes.push(hole);
            rest = &rest[at + hole.marker().len()..];
        }
        identity.push(Bytes::copy_from_slice(rest.as_bytes()));
        let etag = identity
            .iter()
            .fold(xxhash_rust::xxh3::Xxh3::new(), |mut hasher, segment| {
                hasher.update(segment);
                hasher
            });
        let now = now_ms();
        Ok(CachedPage {
            generation,
            rendered_at_ms: now,
            fresh_until_ms: now + u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX / 2),
            cost,
            subject: rendered.subject,
            holes,
            segments: Segments::compress(identity)?,
            etag: etag.digest(),
        })
    }

    /// How long ago the page was rendered.
    pub fn age(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.rendered_at_ms))
    }

    /// Seconds of freshness left; negative once past the TTL (`Cache-Status: ttl=`).
    pub fn ttl_left_secs(&self) -> i64 {
        let left = i128::from(self.fresh_until_ms) - i128::from(now_ms());
        i64::try_from(left / 1000).unwrap_or(0)
    }

    fn is_fresh_in(&self, generation: u64) -> bool {
        self.generation == generation && self.fresh_until_ms > now_ms()
    }

    /// Bytes held, for the in-process tier's budget.
    fn weight(&self) -> u32 {
        let segments = &self.segments;
        let total: usize = [&segments.identity, &segments.gzip, &segments.brotli]
            .iter()
            .flat_map(|encoding| encoding.iter())
            .map(Bytes::len)
            .sum();
        u32::try_from(total + 256).unwrap_or(u32::MAX)
    }
}

/// How a page was served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// From the cache.
    Hit,
    /// Rendered by this request (or one it waited for) and stored.
    Miss,
    /// From the cache past its freshness, because rendering it failed.
    Stale,
}

impl Served {
    pub fn as_str(self) -> &'static str {
        match self {
            Served::Hit => "hit",
            Served::Miss => "miss",
            Served::Stale => "stale",
        }
    }
}

/// The page cache. Cloning shares it; `PAGE_CACHE=off` makes one that is
/// [`disabled`](PageCache::is_enabled).
#[derive(Clone)]
pub struct PageCache {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    fragments: FragmentCache,
    settings: PageCacheSettings,
    /// This process's pages, by key, weighed in bytes.
    local: moka::future::Cache<String, Arc<CachedPage>>,
    /// Renders in progress, per generation and key: the single flight.
    flights: moka::future::Cache<String, Arc<CachedPage>>,
    stats: PageStats,
}

#[derive(Debug, Default)]
struct PageStats {
    hits: AtomicU64,
    misses: AtomicU64,
    renders: AtomicU64,
    stale: AtomicU64,
}

/// The page cache's counters since start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Pages actually rendered (fewer than misses when flights are shared).
    pub renders: u64,
    /// Stale pages served because rendering failed.
    pub stale: u64,
}

impl PageCache {
    /// A page cache in `fragments`' store, under its generation.
    pub fn new(fragments: &FragmentCache, settings: &PageCacheSettings) -> Self {
        if !settings.enabled {
            return Self { inner: None };
        }
        let keep_for = settings.ttl.mul_f64(1.2) + settings.serve_stale_for;
        let inner = Inner {
            fragments: fragments.clone(),
            settings: *settings,
            local: moka::future::Cache::builder()
                .max_capacity(settings.memory_bytes)
                .weigher(|_key, page: &Arc<CachedPage>| page.weight())
                .time_to_live(keep_for)
                .build(),
            flights: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(1))
                .build(),
            stats: PageStats::default(),
        };
        Self {
            inner: Some(Arc::new(inner)),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Counters since start-up (zeros when disabled).
    pub fn stats(&self) -> PageCacheStats {
        self.inner
            .as_ref()
            .map_or_else(PageCacheStats::default, |inner| {
                let stats = &inner.stats;
                PageCacheStats {
                    hits: stats.hits.load(Ordering::Relaxed),
                    misses: stats.misses.load(Ordering::Relaxed),
                    renders: stats.renders.load(Ordering::Relaxed),
                    stale: stats.stale.load(Ordering::Relaxed),
                }
            })
    }

    /// The page under `key`: from the cache when it holds a fresh one, else rendered
    /// once however many requests miss together. When disabled, always rendered.
    pub async fn get_or_render<F, Fut>(
        &self,
        key: &str,
        render: F,
    ) -> Result<(Arc<CachedPage>, Served), AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Rendered, AppError>>,
    {
        let _timed =
            OpenSpan::open("cache", "page").map(|span| span.with_fields(format!("key={key}")));
        let Some(inner) = &self.inner else {
            let page = build(render, 0, Duration::ZERO).await?;
            return Ok((Arc::new(page), Served::Miss));
        };
        let store = &inner.fragments.inner.store;
        let generation = store.generation().await.ok();
        let mut older = inner.local.get(key).await;
        if let Some(generation) = generation {
            if let Some(page) = older.as_ref().filter(|page| page.is_fresh_in(generation)) {
                inner.stats.hits.fetch_add(1, Ordering::Relaxed);
                record_lookup(key, CacheOutcome::Hit);
                return Ok((page.clone(), Served::Hit));
            }
            if let Some(shared) = self.shared_page(key).await {
                if shared.is_fresh_in(generation) {
                    inner.local.insert(key.to_owned(), shared.clone()).await;
                    inner.stats.hits.fetch_add(1, Ordering::Relaxed);
                    record_lookup(key, CacheOutcome::Hit);
                    return Ok((shared, Served::Hit));
                }
                older = newest(older, Some(shared));
            }
        }
        inner.stats.misses.fetch_add(1, Ordering::Relaxed);
        record_lookup(key, CacheOutcome::Miss);
        match self.render_once(inner, key, generation, render).await {
            Ok(page) => Ok((page, Served::Miss)),
            Err(error) => match older.filter(|page| {
                is_server_side(&error) && page.age() <= inner.settings.serve_stale_for
            }) {
                Some(stale) => {
                    inner.stats.stale.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(key, %error, "serving a stale page: it could not be rendered");
                    Ok((stale, Served::Stale))
                }
                None => Err(error),
            },
        }
    }

    /// The page another instance (or this one) stored in Redis, if any.
    async fn shared_page(&self, key: &str) -> Option<Arc<CachedPage>> {
        let store = &self.inner.as_ref()?.fragments.inner.store;
        if !store.is_shared() {
            return None;
        }
        let blob = store.get_page(key).await.ok()??;
        match decode(Bytes::from(blob)) {
            Some(page) => Some(Arc::new(page)),
            None => {
                tracing::warn!(key, "a cached page could not be read; rendering it again");
                None
            }
        }
    }

    async fn render_once<F, Fut>(
        &self,
        inner: &Inner,
        key: &str,
        generation: Option<u64>,
        render: F,
    ) -> Result<Arc<CachedPage>, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Rendered, AppError>>,
    {
        let flight = format!(
            "{}:{}:{key}",
            generation.map_or_else(|| "down".to_owned(), |g| g.to_string()),
            inner
                .fragments
                .inner
                .local_generation
                .load(Ordering::Acquire)
        );
        inner
            .flights
            .try_get_with(flight, async {
                inner.stats.renders.fetch_add(1, Ordering::Relaxed);
                let ttl = jittered(inner.settings.ttl);
                let page = Arc::new(build(render, generation.unwrap_or(0), ttl).await?);
                if generation.is_some() {
                    inner.local.insert(key.to_owned(), page.clone()).await;
                    let store = &inner.fragments.inner.store;
                    if store.is_shared() {
                        let keep_for = ttl + inner.settings.serve_stale_for;
                        let _ = store.put_page(key, &encode(&page), keep_for).await;
                    }
                }
                Ok::<_, AppError>(page)
            })
            .await
            .map_err(|shared| shared.duplicate())
    }
}

/// Renders, measuring the statements the render ran in the current request.
async fn build<F, Fut>(render: F, generation: u64, ttl: Duration) -> Result<CachedPage, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Rendered, AppError>>,
{
    let before = crate::base::instrument::current();
    let rendered = render().await?;
    let after = crate::base::instrument::current();
    let cost = RenderCost {
        statements: after.statements.saturating_sub(before.statements),
        db_micros: u64::try_from(after.db_time.saturating_sub(before.db_time).as_micros())
            .unwrap_or(u64::MAX),
    };
    // Compressing takes milliseconds of CPU: off the async workers.
    tokio::task::spawn_blocking(move || CachedPage::build(rendered, generation, cost, ttl))
        .await
        .map_err(|error| AppError::Internal(anyhow::anyhow!("compressing a page failed: {error}")))?
        .map_err(AppError::Internal)
}

fn newest(a: Option<Arc<CachedPage>>, b: Option<Arc<CachedPage>>) -> Option<Arc<CachedPage>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.rendered_at_ms >= b.rendered_at_ms {
            a
        } else {
            b
        }),
        (a, b) => a.or(b),
    }
}

/// Whether an error is the server's trouble (worth serving a stale page over), not
/// an answer about the request (a 404 must stay a 404).
fn is_server_side(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Internal(_) | AppError::Busy(_) | AppError::DatabaseUnavailable(_)
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Notes a page lookup for the SQL panel (`Server-Timing` has the page's own entry,
/// `page;desc="hit|miss|stale"`, written where the page is served).
fn record_lookup(key: &str, outcome: CacheOutcome) {
    instrument::record_cache_for_panel(&format!("page:{key}"), outcome);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with both holes (also used by `stored`'s tests).
    pub(super) fn rendered() -> Rendered {
        Rendered {
            html: format!(
                "<p>{} views</p><h1>Post</h1>{}",
                Hole::Views.marker(),
                Hole::Footer.marker()
            ),
            subject: Some(Subject {
                post_id: 7,
                views_at_render: 41,
                counted_at_render: Some(7),
            }),
        }
    }

    #[test]
    fn a_page_is_split_at_its_holes_in_order() {
        let page = CachedPage::build(
            rendered(),
            3,
            RenderCost::default(),
            Duration::from_secs(60),
        )
        .expect("builds");
        assert_eq!(page.holes, vec![Hole::Views, Hole::Footer]);
        let identity: Vec<&[u8]> = page.segments.identity.iter().map(|s| &s[..]).collect();
        assert_eq!(identity, vec![&b"<p>"[..], b" views</p><h1>Post</h1>", b""]);
    }
}
