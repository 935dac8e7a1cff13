//! What the naive sidebar will hold, estimated before it loads, and its share of the
//! naive work's memory budget (`NAIVE_MEMORY_BUDGET`). The naive sidebar is the one
//! naive loader whose memory grows with the whole dataset — every published post with
//! its body, every comment — so it is the one that asks first: naive pages and the
//! lab's aggregation page alike.
//!
//! The estimate is one statement: four counts (tags, published posts, comments, links)
//! and the average size of the newest published posts' and comments' text. A loaded row
//! is held twice while it is mapped — as the driver returned it and as the model — so
//! its text counts twice, plus the model itself and the driver's bookkeeping for each
//! value: an upper bound, since the posts' driver copies are freed before the comments
//! load. The counts read every row of the comments' smallest index; the measurement log
//! has what the statement costs.

use std::mem::size_of;

use sea_orm::{ConnectionTrait, DbErr, Statement};

use crate::base::config::Backend;
use crate::base::entities::{comment, post, post_tag, tag};
use crate::base::error::AppError;
use crate::base::published::published;
use crate::services::memory_budget::{MemoryBudget, NoShare, Share};
use catalog::report::{bytes, duration, thousands};

/// What the driver keeps per value besides its bytes (a type tag, a length, a pointer,
/// the allocator's header): a round figure, not a measurement.
const PER_VALUE: u64 = 64;

/// Rows the newest sample averages its text over.
const SAMPLE: u64 = 200;

/// What the naive sidebar will load, and about how much memory it will hold at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaiveSidebarLoad {
    pub tags: u64,
    pub posts: u64,
    pub comments: u64,
    pub links: u64,
    pub bytes: u64,
}

impl NaiveSidebarLoad {
    /// Counted and sampled now, in one statement.
    pub async fn estimate(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM tags), \
             (SELECT COUNT(*) FROM posts WHERE status = 'published'), \
             (SELECT COUNT(*) FROM comments), \
             (SELECT COUNT(*) FROM post_tags), \
             (SELECT CAST(COALESCE(AVG(LENGTH(title) + LENGTH(slug) + LENGTH(excerpt) \
               + LENGTH(body)), 0) AS BIGINT) FROM (SELECT title, slug, excerpt, body \
               FROM posts WHERE status = 'published' ORDER BY id DESC LIMIT {SAMPLE}) newest), \
             (SELECT CAST(COALESCE(AVG(LENGTH(body)), 0) AS BIGINT) FROM (SELECT body \
               FROM comments ORDER BY id DESC LIMIT {SAMPLE}) newest)"
        );
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the naive sidebar's estimate".to_owned()))?;
        let counts: (i64, i64, i64, i64) = row.try_get_many_by_index()?;
        let text: (i64, i64) = (row.try_get_by_index(4)?, row.try_get_by_index(5)?);
        let n = |value: i64| value.unsigned_abs();
        let (tags, posts, comments, links) = counts;
        let rows = [n(tags), n(posts), n(comments), n(links)];
        Ok(Self::of(rows, (n(text.0), n(text.1))))
    }

    /// `[tags, posts, comments, links]`, with the average text of a post and of a
    /// comment (a tag's is left out: there are a few hundred).
    pub fn of(
        [tags, posts, comments, links]: [u64; 4],
        (post_text, comment_text): (u64, u64),
    ) -> Self {
        let held = |rows: u64, text: u64, model: usize, columns: u64| {
            rows.saturating_mul(2 * text + model as u64 + columns * PER_VALUE)
        };
        let bytes = held(posts, post_text, size_of::<post::Model>(), 12)
            .saturating_add(held(comments, comment_text, size_of::<comment::Model>(), 5))
            .saturating_add(held(links, 0, size_of::<post_tag::Model>(), 2))
            .saturating_add(held(tags, 0, size_of::<tag::Model>(), 4));
        Self {
            tags,
            posts,
            comments,
            links,
            bytes,
        }
    }

    /// Every row it loads.
    pub fn rows(&self) -> u64 {
        self.tags + self.posts + self.comments + self.links
    }

    /// "90,000 published posts with their bodies, 1,000,000 comments and 270,000
    /// post–tag links, about 2.0 GB held at once".
    pub fn described(&self) -> String {
        format!(
            "{} published posts with their bodies, {} comments and {} post–tag links, \
             about {} held at once",
            thousands(self.posts),
            thousands(self.comments),
            thousands(self.links),
            bytes(self.bytes)
        )
    }
}

/// The naive sidebar's share of `budget`, held until dropped: estimated on `db` first.
pub async fn hold_share(
    budget: &MemoryBudget,
    db: &impl ConnectionTrait,
) -> Result<(Share, NaiveSidebarLoad), NotHeld> {
    let load = NaiveSidebarLoad::estimate(db)
        .await
        .map_err(NotHeld::Estimate)?;
    let share = budget.hold(load.bytes).await.map_err(|no| match no {
        NoShare::OverBudget { budget } => {
            NotHeld::OverBudget(refusal(&load, budget, db.get_database_backend().into()))
        }
        NoShare::Busy => NotHeld::Busy,
    })?;
    Ok((share, load))
}

/// Why the naive sidebar did not get its share.
#[derive(Debug)]
pub enum NotHeld {
    /// Larger than the whole budget: what it would load, the budget, and the bench
    /// report's figures for the sidebar on the standard dataset.
    OverBudget(String),
    /// Other naive work holds the budget now.
    Busy,
    Estimate(DbErr),
}

impl NotHeld {
    /// As a naive page answers: 503, without `Retry-After` when waiting will not help.
    pub fn for_a_page(self) -> AppError {
        match self {
            NotHeld::OverBudget(why) => AppError::NotOffered(format!(
                "This naive page was not served. {why} The optimized page is at the same \
                 address without /naive."
            )),
            NotHeld::Busy => AppError::Busy(
                "Other naive pages hold this server's memory for naive work right now \
                 (NAIVE_MEMORY_BUDGET); try again in a moment, or open the optimized page \
                 (the same address without /naive)."
                    .to_owned(),
            ),
            NotHeld::Estimate(error) => error.into(),
        }
    }
}

/// What the naive sidebar would have loaded, the budget it is over, and the bench
/// report's figures for it on the standard dataset.
pub fn refusal(load: &NaiveSidebarLoad, budget: u64, backend: Backend) -> String {
    let backend = backend.to_string();
    let allowed = match budget {
        0 => "this server gives naive work no memory (NAIVE_ROUTES=off, or \
              NAIVE_MEMORY_BUDGET=0)"
            .to_owned(),
        budget => format!(
            "more than this server lets naive work hold at once (NAIVE_MEMORY_BUDGET, {})",
            bytes(budget)
        ),
    };
    let measured = published()
        .at("aggregation", "sidebar", "", &backend)
        .map(|figure| {
            format!(
                " On the standard dataset, loading and counting it so took {} where the \
                 database counts the same figures in {} ({backend}, the bench report).",
                duration(figure.naive_ns),
                duration(figure.optimized_ns)
            )
        })
        .unwrap_or_default();
    format!(
        "Its sidebar loads every published post and comment to count them in Rust: on this \
         server's data, {} — {allowed}.{measured}",
        load.described(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_grows_with_the_rows_and_their_text() {
        let standard = NaiveSidebarLoad::of([20, 9_000, 100_000, 27_000], (5_000, 300));
        let ten_times = NaiveSidebarLoad::of([200, 90_000, 1_000_000, 270_000], (5_000, 300));
        assert!(ten_times.bytes >= 10 * standard.bytes - 10);
        assert!(
            standard.bytes > 2 * (9_000 * 5_000 + 100_000 * 300),
            "text counts twice"
        );
    }

    #[test]
    fn a_refusal_says_what_would_be_loaded_and_the_budget() {
        let load = NaiveSidebarLoad::of([200, 90_000, 1_000_000, 270_000], (5_000, 300));
        let said = refusal(&load, 256_000_000, Backend::Sqlite);
        for part in ["90,000 published posts", "1,000,000 comments", "256.0 MB"] {
            assert!(said.contains(part), "{said}");
        }
        assert!(said.contains("NAIVE_MEMORY_BUDGET"), "{said}");
        let off = refusal(&load, 0, Backend::Sqlite);
        assert!(off.contains("NAIVE_ROUTES=off"), "{off}");
    }

    #[test]
    fn a_naive_page_over_the_budget_is_told_waiting_will_not_help_and_one_kept_waiting_to_retry() {
        let over = NotHeld::OverBudget("too much".to_owned()).for_a_page();
        assert!(
            matches!(&over, AppError::NotOffered(why) if why.contains("too much")),
            "503 without Retry-After: {over:?}"
        );
        let busy = NotHeld::Busy.for_a_page();
        assert!(
            matches!(&busy, AppError::Busy(why) if why.contains("NAIVE_MEMORY_BUDGET")),
            "503 with Retry-After: {busy:?}"
        );
    }
}
