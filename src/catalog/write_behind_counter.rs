//! Write-behind counter: write every view to the database as it happens, or tally
//! views and write them about once a second.

use super::measure::{Fetched, Outcome, Workbench, measure, rolled_back};
use super::{Comparison, POST_PAGE, Pattern, Side};
use crate::cache::ViewTally;
use crate::error::AppError;
use crate::views::post_detail::{optimized, write_behind};

pub static PATTERN: Pattern = Pattern {
    slug: "write-behind-counter",
    title: "Write-behind counter",
    django: "a Redis `INCR` per view, written back by a periodic task (Celery beat) with `F('view_count') + n`",
    rails: None,
    problem: "The atomic `UPDATE … SET view_count = view_count + 1` is exact, but every view is still a write: a row lock, and a commit — a WAL flush on PostgreSQL — per page view. Views of one popular post queue for its row.",
    setup: "Both sides count one view of the newest post and return the count to show. The naive side is the atomic increment (inside a transaction the lab rolls back); the optimized side adds the view to a tally of the lab's own, which is never flushed, and reads the stored count by primary key. The bench counts 1 and 16 views in flight at once, all three rungs of the counter.",
    why: "Adding to a tally in memory (or `HINCRBY` in Redis, which replicas share) takes no lock in the database and commits nothing; a flusher writes a second's worth of views for every post in one `UPDATE posts SET view_count = view_count + v.views FROM (VALUES …) v`, so a thousand views of a post cost one row update, not a thousand. The page shows the stored count plus the pending tally.",
    when_not: "When every count must survive a crash the moment it is shown (money, stock): a crash loses the views tallied in process since the last flush — at most one interval (a tally in Redis survives the app). Graceful shutdown flushes. While a flush's statement runs, the shown count can miss the views that flush took.",
    shows_on: &[POST_PAGE],
    naive: Side {
        summary: "`UPDATE … SET view_count = view_count + 1 RETURNING view_count`: a write and a commit per view",
        code: &[code!("src/views/post_detail/optimized.rs", "count_view")],
    },
    optimized: Side {
        summary: "add to a tally (in process or Redis), read the stored count; a flusher writes the tally once a second, one statement per 1,000 posts",
        code: &[
            code!("src/views/post_detail/write_behind.rs", "count_view"),
            code!("src/cache/write_behind.rs", "ViewTally::add"),
            code!("src/cache/store.rs", "RedisStore::add_view"),
            code!("src/cache/write_behind.rs", "ViewTally::run"),
            code!("src/cache/write_behind.rs", "flush"),
            code!("src/cache/write_behind.rs", "write"),
        ],
    },
    tests: &["tests/api/write_behind.rs"],
    benches: &[Comparison {
        what: "write-behind counter: views in flight at once",
        bench: "atomic_counter",
        naive: "increment",
        optimized: "write-behind",
        headline: Some("16"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let (id, _) = bench.newest_post().await?;
    let tally = ViewTally::in_process();
    Ok(Outcome {
        naive: measure(|| async {
            rolled_back(db, async |txn| Ok(optimized::count_view(txn, id).await?)).await?;
            Ok(Fetched::rows(1))
        })
        .await?,
        optimized: measure(|| async {
            write_behind::count_view(db, &tally, id).await?;
            Ok(Fetched::rows(1))
        })
        .await?,
    })
}
