//! Atomic counters: add to a counter in Rust and write it back, or let the database
//! add.

use super::measure::{Fetched, Outcome, Workbench, measure, rolled_back};
use super::{Comparison, POST_PAGE, Pattern, Side};
use crate::error::AppError;
use crate::views::post_detail::{naive, optimized};

pub static PATTERN: Pattern = Pattern {
    slug: "atomic-counters",
    title: "Atomic counters",
    django: "`filter(pk=post.pk).update(view_count=F('view_count') + 1)` instead of `post.view_count += 1; post.save()`",
    rails: Some("`increment_counter` / `update_counters`"),
    problem: "Reading a counter, adding one in Rust and writing it back loses updates when views arrive together.",
    setup: "Both sides count one view of the newest post inside a transaction the lab rolls back. The lost updates need concurrent views: the tests run 200 at once against each side.",
    why: "SET view_count = view_count + 1 does the addition under the row's lock, so concurrent views queue instead of overwriting each other: 200 concurrent views count 200, where the naive counter keeps a handful. It is also one statement instead of two.",
    when_not: "Hot rows still serialise on their lock; at very high rates a counter is better batched (count in memory or Redis, flush periodically).",
    shows_on: &[POST_PAGE],
    naive: Side {
        summary: "read `view_count`, add 1 in Rust, write it back",
        code: &[code!("src/views/post_detail/naive.rs", "count_view")],
    },
    optimized: Side {
        summary: "`SET view_count = view_count + 1`",
        code: &[code!("src/views/post_detail/optimized.rs", "count_view")],
    },
    tests: &["tests/api/view_counter.rs"],
    benches: &[Comparison {
        what: "atomic counter: views in flight at once",
        bench: "atomic_counter",
        naive: "read-add-write",
        optimized: "increment",
        headline: Some("1"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let (id, _) = bench.newest_post().await?;
    Ok(Outcome {
        naive: measure(|| async {
            rolled_back(db, async |txn| Ok(naive::count_view(txn, id).await?)).await?;
            Ok(Fetched::rows(1))
        })
        .await?,
        optimized: measure(|| async {
            rolled_back(db, async |txn| Ok(optimized::count_view(txn, id).await?)).await?;
            Ok(Fetched::rows(1))
        })
        .await?,
    })
}
