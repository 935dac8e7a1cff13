//! One transaction: publishing the drafts by loading and saving each, with a commit
//! per row or one commit for them all.

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::lab::fixtures::make_drafts;
use crate::lab::workbench::Workbench;
use crate::services::seed::DatasetSize;
use crate::views::admin::{naive, one_transaction};

pub static LESSON: Lesson = Lesson {
    slug: "one-transaction",
    comparisons: &[&PUBLISH],
};

/// Drafts published per run when no size is asked for.
const DRAFTS: u64 = 100;

/// A database of the comparison's own, in the lab too — the lesson is the commit,
/// which the lab's rolled-back transaction would turn into a savepoint — and how many
/// drafts each run publishes, made again before each run.
struct Drafts {
    db: DatabaseConnection,
    size: u64,
}

static PUBLISH: Comparison<Drafts> = Comparison::either(
    "publish",
    |bench, size| Box::pin(drafts(bench, size)),
    |_, input, runs, which| Box::pin(publish(input, runs, which)),
)
.samples(10);

/// Publishes the drafts with `which` side's `publish_drafts`, committing, timing each run.
async fn publish(drafts: &Drafts, runs: &mut Runs, which: Which) -> Result<Facts, AppError> {
    let reset = || make_drafts(&drafts.db, drafts.size);
    let publish = |()| async move {
        let db = &drafts.db;
        match which {
            Which::Naive => naive::publish_drafts(db, Utc::now()).await,
            Which::Optimized => one_transaction::publish_drafts(db, Utc::now()).await,
        }
    };
    Ok(Facts::rows(runs.time_with(reset, publish).await? as usize))
}

async fn drafts(bench: &Workbench, size: Option<u64>) -> Result<Drafts, AppError> {
    let size = size.unwrap_or(DRAFTS);
    let enough_posts = DatasetSize {
        users: 20,
        tags: 20,
        posts: usize::try_from(size).unwrap_or(usize::MAX).max(1_000),
        comments_per_post: 0,
    };
    let db = bench
        .committing_database("one_transaction", enough_posts)
        .await?;
    Ok(Drafts { db, size })
}
