//! Bulk updates: publishing the drafts by loading and saving each in one transaction,
//! or with one statement.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::lab::fixtures::make_drafts;
use crate::lab::workbench::Workbench;
use crate::services::db::begin_write;
use crate::services::seed::DatasetSize;
use crate::views::admin::{one_transaction, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "bulk-updates",
    comparisons: &[&PUBLISH],
    backfire: None,
};

/// Where the drafts are, and how many each run publishes: in the lab, the newest `size`
/// of the site's drafts (the front matter's `live`), the rest set aside inside its
/// rolled-back transaction, so that the naive loop stays within a page's time however
/// many drafts the site has; for a bench, `size` drafts made again before each run.
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
    let db = &drafts.db;
    let published = match (bench.keeps_writes(), drafts.size) {
        (true, Some(size)) => {
            let reset = || make_drafts(db, size);
            runs.time_with(reset, |()| publish_with(db, which)).await?
        }
        (true, None) => runs.time(|| publish_with(db, which)).await?,
        (false, newest) => {
            let set_aside = || newest_drafts_only(db, newest);
            let publish = |txn: DatabaseTransaction| async move {
                let published = publish_with(&txn, which).await;
                txn.rollback().await?;
                published
            };
            runs.time_with(set_aside, publish).await?
        }
    };
    Ok(Facts::rows(published as usize))
}

async fn publish_with(
    db: &(impl ConnectionTrait + TransactionTrait),
    which: Which,
) -> Result<u64, DbErr> {
    match which {
        Which::Naive => one_transaction::publish_drafts(db, Utc::now()).await,
        Which::Optimized => optimized::publish_drafts(db, Utc::now()).await,
    }
}

/// A transaction, rolled back by the run, in which only the newest `most` drafts are
/// still drafts (the older ones marked archived, which neither side touches; the
/// site's drafts are untouched): not timed. On SQLite it holds the write lock, as every
/// lab write does, so the site's writes wait for it.
async fn newest_drafts_only(
    db: &DatabaseConnection,
    most: Option<u64>,
) -> Result<DatabaseTransaction, AppError> {
    let txn = begin_write(db).await?;
    match archive_older_drafts(&txn, most).await {
        Ok(()) => Ok(txn),
        Err(error) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}

async fn archive_older_drafts(
    txn: &DatabaseTransaction,
    most: Option<u64>,
) -> Result<(), AppError> {
    let Some(most) = most.filter(|most| *most > 0) else {
        return Ok(());
    };
    let oldest_kept: Option<i32> = post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(post::Column::Status.eq(post::Status::Draft))
        .order_by_desc(post::Column::Id)
        .offset(most - 1)
        .into_tuple()
        .one(txn)
        .await?;
    if let Some(oldest_kept) = oldest_kept {
        post::Entity::update_many()
            .col_expr(post::Column::Status, Expr::value(post::Status::Archived))
            .filter(post::Column::Status.eq(post::Status::Draft))
            .filter(post::Column::Id.lt(oldest_kept))
            .exec(txn)
            .await?;
    }
    Ok(())
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
