//! Denormalized counters: count on every read (`GROUP BY`), or keep the count beside
//! the row on every write and read it.

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, Pattern, SIDEBAR, Side};
use crate::error::AppError;
use crate::views::sidebar::{aggregated, denormalized};

pub static PATTERN: Pattern = Pattern {
    slug: "denormalized-counters",
    title: "Denormalized counters",
    django: "a `comment_count` column kept with `F('comment_count') + 1` in the same transaction (or by signals)",
    rails: Some("`counter_cache: true`"),
    problem: "Counting in the database still visits every row it counts: the sidebar's two `GROUP BY`s read every published post's tag links and every comment, on every uncached page view.",
    setup: "Both sides compute the sidebar's figures — the tag cloud and the five most-discussed posts — uncached, from the same data; rendering is left out of both. The counters were kept by the writes that made the data (and `perfblog seed` counted them once).",
    why: "`posts.comment_count` and `tags.published_post_count` are kept in the same transaction as every write that changes them — a comment adds 1; publishing, archiving, tagging and importing adjust the tags' counts, set-based — so reading the sidebar is a pass over 50 tags and the first five entries of an index on `(status, comment_count DESC, id)`. The counting moved to the writes, each paying one small `UPDATE`.",
    when_not: "When writes far outnumber reads, or a write path can bypass the code that keeps the counter (raw SQL, another service): every write path must keep it, and `perfblog recount` — one statement per counter, reporting how many rows had drifted — is the safety net. Counters that many writers bump at once contend on one row (see the write-behind counter for that).",
    shows_on: &[SIDEBAR],
    naive: Side {
        summary: "two `COUNT … GROUP BY` queries over every published post's tag links and every comment",
        code: &[code!("src/views/sidebar/aggregated.rs", "load")],
    },
    optimized: Side {
        summary: "read `tags.published_post_count` and `posts.comment_count`, kept by every write (`src/counters.rs`)",
        code: &[
            code!("src/views/sidebar/denormalized.rs", "load"),
            code!("src/counters.rs", "comment_added"),
            code!("src/counters.rs", "published_changed"),
            code!("src/counters.rs", "tag_links_added"),
            code!("src/counters.rs", "add_to_tags"),
            code!("src/counters.rs", "recount"),
        ],
    },
    tests: &["tests/api/counters.rs"],
    benches: &[Comparison {
        what: "denormalized counters: sidebar, uncached",
        bench: "aggregation",
        naive: "sidebar-aggregated",
        optimized: "sidebar-counters",
        headline: None,
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    Ok(Outcome {
        naive: measure(|| async {
            let shown = aggregated::load(db).await?;
            Ok(Fetched::rows(shown.tags.len() + shown.popular.len()))
        })
        .await?,
        optimized: measure(|| async {
            let shown = denormalized::load(db).await?;
            Ok(Fetched::rows(shown.tags.len() + shown.popular.len()))
        })
        .await?,
    })
}
