//! Bulk updates: publishing the drafts by loading and saving each, or with one
//! statement.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
};

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::services::seed::DatasetSize;
use crate::views::admin::{naive, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "bulk-updates",
    comparisons: &[&PUBLISH],
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
.samples(10);

/// Publishes the drafts with `which` side's `publish_drafts`, timing each run.
async fn publish(
    bench: &Workbench,
    drafts: &Drafts,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let reset = || make_drafts(bench, drafts);
    let publish = |()| {
        bench.write(&drafts.db, async move |db| match which {
            Which::Naive => Ok(naive::publish_drafts(db, Utc::now()).await?),
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

/// For a bench, whose writes stay: every post published, then the first `size` back
/// to drafts, and on PostgreSQL the dead rows vacuumed as autovacuum would between
/// bursts, so every run starts from the same table.
async fn make_drafts(bench: &Workbench, drafts: &Drafts) -> Result<(), AppError> {
    let (Some(size), true) = (drafts.size, bench.keeps_writes()) else {
        return Ok(());
    };
    let db = &drafts.db;
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Published))
        .filter(post::Column::Status.ne(post::Status::Published))
        .exec(db)
        .await?;
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Draft))
        .filter(post::Column::Id.lte(i32::try_from(size).unwrap_or(i32::MAX)))
        .exec(db)
        .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM posts").await?;
    }
    Ok(())
}
