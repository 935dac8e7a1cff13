//! Bulk updates: publishing the drafts by loading and saving each in one transaction,
//! or with one statement.

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::lab::fixtures::make_drafts;
use crate::lab::workbench::Workbench;
use crate::services::seed::DatasetSize;
use crate::views::admin::{one_transaction, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "bulk-updates",
    comparisons: &[&PUBLISH],
    backfire: None,
};

/// Where the drafts are, and how many each run publishes: every current draft in the
/// lab (its writes are rolled back); `size` of them for a bench, made again before
/// each run.
struct Drafts {
    db: DatabaseConnection,
    size: Option<u64>,
}

static PUBLISH: Comparison<Drafts> = Comparison::either(
    "publish",
    |bench, size| Box::pin(drafts(bench, size)),
    |bench, input, runs, which| Box::pin(publish(bench, input, runs, which)),
)
.samples(10)
.used_up_when_empty(
    "No drafts are left to publish: the admin's *Publish drafts* published them, so both \
     sides had nothing to do. `perfblog seed --reset` seeds the dataset again, drafts \
     included.",
);

/// Publishes the drafts with `which` side's `publish_drafts`, timing each run.
async fn publish(
    bench: &Workbench,
    drafts: &Drafts,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let reset = || make_drafts_again(bench, drafts);
    let publish = |()| {
        bench.write(&drafts.db, async move |db| match which {
            Which::Naive => Ok(one_transaction::publish_drafts(db, Utc::now()).await?),
            Which::Optimized => Ok(optimized::publish_drafts(db, Utc::now()).await?),
        })
    };
    Ok(Facts::rows(runs.time_with(reset, publish).await? as usize))
}

async fn drafts(bench: &Workbench, size: Option<u64>) -> Result<Drafts, AppError> {
    let ten_thousand_posts = DatasetSize {
        posts: 10_000,
        comments_per_post: 0,
        ..DatasetSize::STANDARD
    };
    let db = bench
        .database_of_its_own("bulk_updates", ten_thousand_posts)
        .await?;
    Ok(Drafts { db, size })
}

/// For a bench, whose writes stay: `size` drafts again before each run.
async fn make_drafts_again(bench: &Workbench, drafts: &Drafts) -> Result<(), AppError> {
    match (drafts.size, bench.keeps_writes()) {
        (Some(size), true) => make_drafts(&drafts.db, size).await,
        _ => Ok(()),
    }
}
