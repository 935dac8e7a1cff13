//! One transaction: publishing the drafts by loading and saving each, with a commit
//! per row or one commit for them all.

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::{AppError, is_database_unavailable};
use crate::lab::fixtures::make_drafts;
use crate::lab::workbench::Workbench;
use crate::services::seed::DatasetSize;
use crate::views::admin::{naive, one_transaction};

pub static LESSON: Lesson = Lesson {
    slug: "one-transaction",
    comparisons: &[&PUBLISH],
    backfire: None,
};

/// Drafts published per run when no size is asked for (at most 1,000: the posts there are).
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
    let thousand_posts = DatasetSize {
        users: 20,
        tags: 20,
        posts: 1_000,
        comments_per_post: 0,
    };
    let db = bench
        .committing_database("one_transaction", thousand_posts)
        .await
        .map_err(|error| match error {
            // Down is down: a 503 to retry, as anywhere else.
            AppError::Internal(cause) if !is_database_unavailable(&cause) => {
                tracing::warn!(error = %format!("{cause:#}"), "no database for one-transaction");
                AppError::NotOffered(NO_DATABASE.to_owned())
            }
            other => other,
        })?;
    Ok(Drafts {
        db,
        size: size.unwrap_or(DRAFTS),
    })
}

/// What the lab says when the database server will not make the comparison a database
/// of its own (a role without `CREATEDB`, a read-only directory for SQLite).
const NO_DATABASE: &str = "This comparison commits for real, so it runs on a database of its \
    own, and this server could not make one (its log says why: on PostgreSQL the role needs \
    CREATEDB; on SQLite the database's directory must be writable). Every other page of the \
    lab works; the bench report's figures for this one are in \
    docs/patterns/one-transaction.md.";
