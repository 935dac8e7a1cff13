//! Write-behind view counts: a view adds 1 to a tally — in Redis (`HINCRBY`) when
//! `REDIS_URL` is set, so replicas share it, in this process otherwise — and a flusher
//! writes the tally to `posts.view_count` about once a second, in one set-based
//! statement per 1,000 posts.
//!
//! The trade-off, which the tests pin:
//! - **A crash loses at most one interval of views** — those tallied in this process
//!   since the last flush. A tally in Redis outlives the process that counted it: the
//!   next flush, by any replica, writes it.
//! - **A graceful shutdown flushes** ([`ViewTally::run`] flushes once more when told
//!   to stop), so a deploy loses nothing.
//! - **N concurrent views are N** once flushed: each is an atomic add to the tally
//!   (a mutex-guarded map, or `HINCRBY`), and the flush adds to the column
//!   (`view_count = view_count + v.views`), never overwrites it.
//! - A flush that fails (the database is down) keeps its views for the next one; Redis
//!   down tallies in process meanwhile. No view is lost to an outage.
//! - The count a page shows is the stored count plus the pending tally. While a flush
//!   is between taking the tally and committing it (while its statement runs), a page can
//!   show up to that flush's views too few.
//! - **A cached page reads nothing per view.** Beside the pending views the tally keeps
//!   each post's running total — every view it has counted, written or not; it never
//!   goes down. A page rendered when the count was `c` and the total `t` shows
//!   `c + (total now − t)`: exact without asking the database (see
//!   `views/post_detail/write_behind.rs`). Views counted in process while Redis was down
//!   join the shared total at the next flush.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbErr, Statement};
use tokio::sync::watch;

use super::FragmentCache;
use crate::services::history::{TaskRecorder, record_batch};

/// Posts per flush statement: keeps a statement's text (and its row locks) bounded.
const POSTS_PER_STATEMENT: usize = 1_000;

/// Views counted, not yet written to the database.
#[derive(Clone)]
pub struct ViewTally {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where the shared tally lives (Redis), when there is one.
    cache: Option<FragmentCache>,
    local: Mutex<Local>,
    /// Counts each flush's start and end: odd while one runs. A page rendered across a
    /// change cannot trust the count it read (see [`ViewTally::flush_epoch`]).
    flushes: AtomicU64,
}

#[derive(Default)]
struct Local {
    /// Views tallied in this process: all of them without Redis, those counted while
    /// Redis was down (or whose flush failed) with it.
    pending: HashMap<i32, i64>,
    /// Without Redis: every view this process has counted, per post (the running total).
    totals: HashMap<i32, i64>,
    /// With Redis: views counted here while it was down, not yet in its running total.
    owed_to_shared_totals: HashMap<i32, i64>,
}

/// One post's views as the tally knows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tallied {
    /// Counted, not yet written to `posts.view_count`.
    pub pending: i64,
    /// Counted since the tally began, written or not; it never goes down. `None` when
    /// Redis holds it and cannot be asked.
    pub total: Option<i64>,
}

/// What one flush wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    pub posts: usize,
    pub views: i64,
    pub statements: usize,
}

impl ViewTally {
    /// A tally beside `cache`: shared in Redis if the cache is.
    pub fn new(cache: &FragmentCache) -> Self {
        Self::with(cache.inner.store.is_shared().then(|| cache.clone()))
    }

    /// A tally in this process only (the lab's, which is never flushed).
    pub fn in_process() -> Self {
        Self::with(None)
    }

    fn with(cache: Option<FragmentCache>) -> Self {
        Self {
            inner: Arc::new(Inner {
                cache,
                local: Mutex::new(Local::default()),
                flushes: AtomicU64::new(0),
            }),
        }
    }

    /// Counts one view of `post_id`; returns its pending views and running total, this
    /// view included. No database statement.
    pub async fn add(&self, post_id: i32) -> Tallied {
        if let Some(cache) = &self.inner.cache {
            if let Ok(Some(shared)) = cache.inner.store.add_view(post_id).await {
                return Tallied {
                    pending: shared.pending + self.local_pending(post_id),
                    total: Some(shared.total),
                };
            }
            let mut local = self.local();
            *local.owed_to_shared_totals.entry(post_id).or_insert(0) += 1;
            return Tallied {
                pending: increment(&mut local.pending, post_id),
                total: None,
            };
        }
        let mut local = self.local();
        Tallied {
            pending: increment(&mut local.pending, post_id),
            total: Some(increment(&mut local.totals, post_id)),
        }
    }

    /// `post_id`'s pending views and running total, counting nothing.
    pub async fn peek(&self, post_id: i32) -> Tallied {
        if let Some(cache) = &self.inner.cache {
            let shared = cache.inner.store.peek_views(post_id).await;
            let local = self.local_pending(post_id);
            return match shared {
                Ok(Some(shared)) => Tallied {
                    pending: shared.pending + local,
                    total: Some(shared.total),
                },
                _ => Tallied {
                    pending: local,
                    total: None,
                },
            };
        }
        let local = self.local();
        Tallied {
            pending: local.pending.get(&post_id).copied().unwrap_or(0),
            total: Some(local.totals.get(&post_id).copied().unwrap_or(0)),
        }
    }

    fn local_pending(&self, post_id: i32) -> i64 {
        self.local().pending.get(&post_id).copied().unwrap_or(0)
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.inner
            .local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether views are tallied in Redis, shared by every replica.
    pub fn is_shared(&self) -> bool {
        self.inner.cache.is_some()
    }

    /// Forgets every pending view, shared and in process: the lab's tally, whose
    /// views were never real ones.
    pub async fn discard(&self) {
        *self.local() = Local::default();
        if let Some(cache) = &self.inner.cache {
            let _ = cache.inner.store.forget_views().await;
        }
    }

    /// This process's flushes so far, twice each (odd while one runs). A reader that
    /// reads the stored count and then the pending views sees every view exactly once
    /// only if no flush moved views between the two: the same even epoch before and
    /// after. (A flush by another replica, sharing Redis, is not seen here.)
    pub fn flush_epoch(&self) -> u64 {
        self.inner.flushes.load(Ordering::Acquire)
    }

    /// Writes every pending view to `posts.view_count`: one `UPDATE … FROM (VALUES …)`
    /// per 1,000 posts. On failure the views not written go back to the tally (in
    /// process), for the next flush.
    pub async fn flush(&self, db: &impl ConnectionTrait) -> Result<Flushed, DbErr> {
        self.inner.flushes.fetch_add(1, Ordering::AcqRel);
        let flushed = self.flush_now(db).await;
        self.inner.flushes.fetch_add(1, Ordering::AcqRel);
        flushed
    }

    async fn flush_now(&self, db: &impl ConnectionTrait) -> Result<Flushed, DbErr> {
        let mut taken: HashMap<i32, i64> = std::mem::take(&mut self.local().pending);
        if let Some(cache) = &self.inner.cache {
            self.pay_owed_totals(cache).await;
            if let Ok(shared) = cache.inner.store.take_views().await {
                for (post_id, views) in shared {
                    *taken.entry(post_id).or_insert(0) += views;
                }
            }
        }
        let mut views: Vec<(i32, i64)> = taken.into_iter().filter(|(_, n)| *n > 0).collect();
        views.sort_unstable();
        let mut flushed = Flushed::default();
        for (at, chunk) in views.chunks(POSTS_PER_STATEMENT).enumerate() {
            if let Err(error) = write(db, chunk).await {
                self.put_back(&views[at * POSTS_PER_STATEMENT..]);
                return Err(error);
            }
            flushed.posts += chunk.len();
            flushed.views += chunk.iter().map(|(_, n)| n).sum::<i64>();
            flushed.statements += 1;
        }
        Ok(flushed)
    }

    fn put_back(&self, views: &[(i32, i64)]) {
        let mut local = self.local();
        for (post_id, n) in views {
            *local.pending.entry(*post_id).or_insert(0) += n;
        }
    }

    /// Adds the views counted here while Redis was down to its running totals, so a
    /// page cached before the outage counts them; kept for the next flush if Redis is
    /// still down.
    async fn pay_owed_totals(&self, cache: &FragmentCache) {
        let owed: Vec<(i32, i64)> = std::mem::take(&mut self.local().owed_to_shared_totals)
            .into_iter()
            .collect();
        if owed.is_empty() || cache.inner.store.add_to_view_totals(&owed).await.is_ok() {
            return;
        }
        let mut local = self.local();
        for (post_id, n) in owed {
            *local.owed_to_shared_totals.entry(post_id).or_insert(0) += n;
        }
    }

    /// Flushes every `interval` until `stopped` turns true, then once more: a
    /// graceful shutdown writes every view counted before it. A failing flush is
    /// logged once when the failures start and once when they end. Each flush that
    /// wrote views goes into the request history, when `batches` says where.
    pub async fn run<C: ConnectionTrait>(
        self,
        db: C,
        interval: Duration,
        mut stopped: watch::Receiver<bool>,
        batches: Option<TaskRecorder>,
    ) {
        let mut failing = false;
        loop {
            let stopping = tokio::select! {
                () = tokio::time::sleep(interval) => false,
                _ = stopped.wait_for(|stop| *stop) => true,
            };
            let result = record_batch(
                batches.as_ref(),
                "view counts flush",
                self.flush(&db),
                |flushed| match flushed {
                    Ok(flushed) if flushed.views == 0 => None,
                    Ok(_) => Some(false),
                    Err(_) => Some(true),
                },
            )
            .await;
            match (&result, failing) {
                (Err(error), false) => {
                    tracing::warn!(%error, "view counts could not be written; kept for the next flush");
                    failing = true;
                }
                (Ok(_), true) => {
                    tracing::info!("view counts are being written again");
                    failing = false;
                }
                _ => {}
            }
            if stopping {
                if let Ok(flushed) = result {
                    tracing::info!(views = flushed.views, "view counts flushed at shutdown");
                }
                return;
            }
        }
    }
}

fn increment(counts: &mut HashMap<i32, i64>, post_id: i32) -> i64 {
    let count = counts.entry(post_id).or_insert(0);
    *count += 1;
    *count
}

/// `WITH v(post_id, views) AS (VALUES (1, 3), (7, 1), …) UPDATE posts SET view_count =
/// view_count + v.views FROM v WHERE posts.id = v.post_id` — PostgreSQL's
/// `UPDATE … FROM`, which SQLite (3.33+) also speaks. The values are integers this
/// process produced, written into the text; a post deleted meanwhile matches nothing.
async fn write(db: &impl ConnectionTrait, views: &[(i32, i64)]) -> Result<(), DbErr> {
    let mut values = String::with_capacity(views.len() * 12);
    for (i, (post_id, n)) in views.iter().enumerate() {
        let separator = if i == 0 { "" } else { ", " };
        let _ = write!(values, "{separator}({post_id}, {n})");
    }
    // `execute_raw`, not `execute_unprepared`: SeaORM meters only the former, and the
    // detector and the request history count what it meters.
    let sql = format!(
        "WITH v(post_id, views) AS (VALUES {values}) \
         UPDATE posts SET view_count = view_count + v.views \
         FROM v WHERE posts.id = v.post_id"
    );
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(())
}
