//! Where cached values live: in this process (moka) or in Redis. Both keep a
//! generation number and values tagged with the generation they were computed under.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

/// One post's views in the shared tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedViews {
    /// Not yet written to the database.
    pub pending: i64,
    /// Every view counted in Redis since its data began; never goes down.
    pub total: i64,
}

/// Redis could not be asked; the caller computes without the cache.
#[derive(Debug)]
pub struct Unavailable;

/// The current generation, and the value under the key if it belongs to it.
pub struct Found {
    pub generation: u64,
    pub value: Option<Arc<str>>,
}

pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Store {
    pub fn memory() -> Self {
        Store::Memory(MemoryStore {
            generation: AtomicU64::new(0),
            entries: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        })
    }

    pub fn redis(url: &str, namespace: &str) -> anyhow::Result<Self> {
        // Fail fast: a page must not wait long for a cache it can do without.
        let manager = crate::services::redis_connection::lazy_redis(
            url,
            Duration::from_millis(250),
            "the cache",
        )?;
        Ok(Store::Redis(RedisStore {
            manager,
            generation_key: format!("{namespace}:generation"),
            fragment_prefix: format!("{namespace}:fragment:"),
            page_prefix: format!("{namespace}:page:"),
            views_key: format!("{namespace}:views"),
            view_totals_key: format!("{namespace}:view-totals"),
            health: Health::default(),
        }))
    }

    pub async fn lookup(&self, key: &str) -> Result<Found, Unavailable> {
        match self {
            Store::Memory(memory) => Ok(memory.lookup(key).await),
            Store::Redis(redis) => redis.lookup(key).await,
        }
    }

    pub async fn put(
        &self,
        key: &str,
        generation: u64,
        value: &str,
        ttl: Duration,
    ) -> Result<(), Unavailable> {
        match self {
            Store::Memory(memory) => {
                memory.put(key, generation, value, ttl).await;
                Ok(())
            }
            Store::Redis(redis) => redis.put(key, generation, value, ttl).await,
        }
    }

    /// The current generation alone (one small `GET` in Redis).
    pub async fn generation(&self) -> Result<u64, Unavailable> {
        match self {
            Store::Memory(memory) => Ok(memory.generation.load(Ordering::Acquire)),
            Store::Redis(redis) => redis.generation().await,
        }
    }

    /// Whether values put here are seen by other processes (Redis) or only this one.
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Redis(_))
    }

    /// A whole cached page, as bytes (Redis only; in process the page cache keeps
    /// pages itself).
    pub async fn get_page(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        match self {
            Store::Memory(_) => Ok(None),
            Store::Redis(redis) => redis.get_page(key).await,
        }
    }

    pub async fn put_page(&self, key: &str, page: &[u8], ttl: Duration) -> Result<(), Unavailable> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(redis) => redis.put_page(key, page, ttl).await,
        }
    }

    pub async fn bump(&self) {
        match self {
            Store::Memory(memory) => {
                memory.generation.fetch_add(1, Ordering::AcqRel);
            }
            Store::Redis(redis) => redis.bump().await,
        }
    }

    pub async fn ping(&self) -> super::CacheHealth {
        match self {
            Store::Memory(_) => super::CacheHealth::InProcess,
            Store::Redis(redis) => {
                let mut connection = redis.manager.clone();
                let answer: redis::RedisResult<String> =
                    redis::cmd("PING").query_async(&mut connection).await;
                match redis.health.observe(answer) {
                    Ok(_) => super::CacheHealth::Ok,
                    Err(Unavailable) => super::CacheHealth::Unavailable,
                }
            }
        }
    }

    /// Adds one view of `post_id` to the shared tally and its running total (two
    /// `HINCRBY`s, one round trip), or `None` when views are tallied in process.
    pub async fn add_view(&self, post_id: i32) -> Result<Option<SharedViews>, Unavailable> {
        match self {
            Store::Memory(_) => Ok(None),
            Store::Redis(redis) => redis.add_view(post_id).await.map(Some),
        }
    }

    /// `post_id`'s shared pending views and running total, counting nothing.
    pub async fn peek_views(&self, post_id: i32) -> Result<Option<SharedViews>, Unavailable> {
        match self {
            Store::Memory(_) => Ok(None),
            Store::Redis(redis) => redis.peek_views(post_id).await.map(Some),
        }
    }

    /// Adds views counted elsewhere to the shared running totals.
    pub async fn add_to_view_totals(&self, views: &[(i32, i64)]) -> Result<(), Unavailable> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(redis) => redis.add_to_view_totals(views).await,
        }
    }

    /// Forgets the shared tally and its totals (the lab's, whose views were not real).
    pub async fn forget_views(&self) -> Result<(), Unavailable> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(redis) => redis.forget_views().await,
        }
    }

    /// Takes the whole shared tally, leaving it empty (nothing in process).
    pub async fn take_views(&self) -> Result<Vec<(i32, i64)>, Unavailable> {
        match self {
            Store::Memory(_) => Ok(Vec::new()),
            Store::Redis(redis) => redis.take_views().await,
        }
    }

    pub fn outages(&self) -> u64 {
        match self {
            Store::Memory(_) => 0,
            Store::Redis(redis) => redis.health.outages.load(Ordering::Relaxed),
        }
    }
}

pub struct MemoryStore {
    generation: AtomicU64,
    entries: moka::future::Cache<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    generation: u64,
    value: Arc<str>,
    expires_at: Instant,
}

impl MemoryStore {
    async fn lookup(&self, key: &str) -> Found {
        let generation = self.generation.load(Ordering::Acquire);
        let value = self
            .entries
            .get(key)
            .await
            .filter(|entry| entry.generation == generation && entry.expires_at > Instant::now())
            .map(|entry| entry.value);
        Found { generation, value }
    }

    async fn put(&self, key: &str, generation: u64, value: &str, ttl: Duration) {
        let entry = Entry {
            generation,
            value: value.into(),
            expires_at: Instant::now() + ttl,
        };
        self.entries.insert(key.to_owned(), entry).await;
    }
}

pub struct RedisStore {
    manager: ConnectionManager,
    generation_key: String,
    fragment_prefix: String,
    page_prefix: String,
    /// A hash of post id → views not yet written to the database (`write_behind.rs`).
    views_key: String,
    /// A hash of post id → views ever counted (written or not): the running totals.
    view_totals_key: String,
    health: Health,
}

impl RedisStore {
    /// `MGET generation fragment`: one round trip. A value is stored as
    /// `"<generation>\n<html>"`.
    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(label = "lookup"))]
    async fn lookup(&self, key: &str) -> Result<Found, Unavailable> {
        self.pay_pending_bump().await?;
        let mut connection = self.manager.clone();
        let keys = [
            self.generation_key.clone(),
            format!("{}{key}", self.fragment_prefix),
        ];
        let answer: redis::RedisResult<(Option<u64>, Option<String>)> =
            connection.mget(&keys).await;
        let (generation, stored) = self.health.observe(answer)?;
        let generation = generation.unwrap_or(0);
        let value = stored.and_then(|stored| {
            let (tagged, value) = stored.split_once('\n')?;
            (tagged.parse::<u64>().ok()? == generation).then(|| Arc::from(value))
        });
        Ok(Found { generation, value })
    }

    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(label = "put"))]
    async fn put(
        &self,
        key: &str,
        generation: u64,
        value: &str,
        ttl: Duration,
    ) -> Result<(), Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<()> = connection
            .set_ex(
                format!("{}{key}", self.fragment_prefix),
                format!("{generation}\n{value}"),
                ttl.as_secs().max(1),
            )
            .await;
        self.health.observe(answer)
    }

    /// Pays a bump owed from an outage first, as `lookup` does.
    async fn pay_pending_bump(&self) -> Result<(), Unavailable> {
        self.health.check()?;
        if self.health.bump_pending.load(Ordering::Acquire) {
            self.bump().await;
            self.health.check()?;
        }
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "redis",
        skip_all,
        fields(label = "generation")
    )]
    async fn generation(&self) -> Result<u64, Unavailable> {
        self.pay_pending_bump().await?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<Option<u64>> = connection.get(&self.generation_key).await;
        match self.health.observe(answer)? {
            Some(generation) => Ok(generation),
            None => self.start_epoch().await,
        }
    }

    /// A Redis that lost its data (restarted without persistence) has no generation,
    /// and counting again from 1 would repeat numbers pages in some process's memory
    /// were stored under — they would look current. So a new count starts at a
    /// random number instead.
    async fn start_epoch(&self) -> Result<u64, Unavailable> {
        let mut connection = self.manager.clone();
        let start: u64 = rand::random::<u64>() >> 12;
        let answer: redis::RedisResult<u64> = connection.incr(&self.generation_key, start).await;
        self.health.observe(answer)
    }

    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(label = "get_page"))]
    async fn get_page(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<Option<Vec<u8>>> =
            connection.get(format!("{}{key}", self.page_prefix)).await;
        self.health.observe(answer)
    }

    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(label = "put_page"))]
    async fn put_page(&self, key: &str, page: &[u8], ttl: Duration) -> Result<(), Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<()> = connection
            .set_ex(
                format!("{}{key}", self.page_prefix),
                page,
                ttl.as_secs().max(1),
            )
            .await;
        self.health.observe(answer)
    }

    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(label = "add_view"))]
    async fn add_view(&self, post_id: i32) -> Result<SharedViews, Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<(i64, i64)> = redis::pipe()
            .atomic()
            .hincr(&self.views_key, post_id, 1)
            .hincr(&self.view_totals_key, post_id, 1)
            .query_async(&mut connection)
            .await;
        let (pending, total) = self.health.observe(answer)?;
        Ok(SharedViews { pending, total })
    }

    #[tracing::instrument(
        level = "debug",
        name = "redis",
        skip_all,
        fields(label = "peek_views")
    )]
    async fn peek_views(&self, post_id: i32) -> Result<SharedViews, Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<(Option<i64>, Option<i64>)> = redis::pipe()
            .atomic()
            .hget(&self.views_key, post_id)
            .hget(&self.view_totals_key, post_id)
            .query_async(&mut connection)
            .await;
        let (pending, total) = self.health.observe(answer)?;
        Ok(SharedViews {
            pending: pending.unwrap_or(0),
            total: total.unwrap_or(0),
        })
    }

    async fn add_to_view_totals(&self, views: &[(i32, i64)]) -> Result<(), Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let mut pipe = redis::pipe();
        for (post_id, n) in views {
            pipe.hincr(&self.view_totals_key, *post_id, *n).ignore();
        }
        let answer: redis::RedisResult<()> = pipe.query_async(&mut connection).await;
        self.health.observe(answer)
    }

    async fn forget_views(&self) -> Result<(), Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<()> = connection
            .del(&[self.views_key.as_str(), self.view_totals_key.as_str()])
            .await;
        self.health.observe(answer)
    }

    /// `MULTI; HGETALL views; DEL views; EXEC`: read and emptied in one step, so a
    /// view another replica adds meanwhile lands in the next tally, never in none.
    #[tracing::instrument(
        level = "debug",
        name = "redis",
        skip_all,
        fields(label = "take_views")
    )]
    async fn take_views(&self) -> Result<Vec<(i32, i64)>, Unavailable> {
        self.health.check()?;
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<(HashMap<i32, i64>,)> = redis::pipe()
            .atomic()
            .hgetall(&self.views_key)
            .del(&self.views_key)
            .ignore()
            .query_async(&mut connection)
            .await;
        self.health
            .observe(answer)
            .map(|(views,)| views.into_iter().collect())
    }

    /// `INCR generation`. If Redis cannot be reached, the bump is owed and paid before
    /// this process reads from Redis again, so it never serves what the write replaced.
    async fn bump(&self) {
        self.health.bump_pending.store(true, Ordering::Release);
        if self.health.check().is_err() {
            return;
        }
        let mut connection = self.manager.clone();
        let answer: redis::RedisResult<u64> = connection.incr(&self.generation_key, 1).await;
        match self.health.observe(answer) {
            // 1: the key was missing, Redis lost its data; see `start_epoch`.
            Ok(1) => {
                if self.start_epoch().await.is_ok() {
                    self.health.bump_pending.store(false, Ordering::Release);
                }
            }
            Ok(_) => self.health.bump_pending.store(false, Ordering::Release),
            Err(Unavailable) => {}
        }
    }
}

/// Whether Redis answers. After a failure it is left alone for [`RETRY_AFTER`], so an
/// outage costs each request nothing rather than a timeout; the first failure of an
/// outage is logged as a warning, the first success after it as back.
#[derive(Default)]
struct Health {
    down_until: Mutex<Option<Instant>>,
    reported: AtomicBool,
    outages: AtomicU64,
    bump_pending: AtomicBool,
}

const RETRY_AFTER: Duration = Duration::from_millis(500);

impl Health {
    fn check(&self) -> Result<(), Unavailable> {
        let down_until = *self
            .down_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match down_until {
            Some(until) if Instant::now() < until => Err(Unavailable),
            _ => Ok(()),
        }
    }

    fn observe<T>(&self, answer: redis::RedisResult<T>) -> Result<T, Unavailable> {
        match answer {
            Ok(value) => {
                *self
                    .down_until
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
                if self.reported.swap(false, Ordering::AcqRel) {
                    tracing::info!("Redis is reachable again; fragment caching resumes");
                }
                Ok(value)
            }
            Err(error) => {
                *self
                    .down_until
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some(Instant::now() + RETRY_AFTER);
                if !self.reported.swap(true, Ordering::AcqRel) {
                    self.outages.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, "Redis is unreachable; pages are computed without the cache until it is back");
                }
                Err(Unavailable)
            }
        }
    }
}
