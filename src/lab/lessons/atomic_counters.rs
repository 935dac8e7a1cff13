//! Atomic counters: add to a counter in Rust and write it back, or let the database add.

use futures_util::future::try_join_all;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseExecutor, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use super::{Comparison, Fact, Facts, Lesson, Runs};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::services::db::scratch::ScratchPost;
use crate::views::post_detail::{naive, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "atomic-counters",
    comparisons: &[&VIEWS],
    backfire: None,
};

/// Views each side's race sends at once.
pub const RACERS: u64 = 20;

/// `views` views of the newest post, all in flight at once (one unless asked).
#[derive(Clone, Copy)]
pub struct Views {
    pub post_id: i32,
    pub views: u64,
}

pub async fn views(bench: &Workbench, size: Option<u64>) -> Result<Views, AppError> {
    let (post_id, _) = bench.newest_post().await?;
    Ok(Views {
        post_id,
        views: size.unwrap_or(1),
    })
}

static VIEWS: Comparison<Views> = Comparison::new(
    "views",
    |bench, size| Box::pin(views(bench, size)),
    |bench, views, runs| {
        Box::pin(side(bench, views, runs, async |db, id| {
            naive::count_view(db, id).await
        }))
    },
    |bench, views, runs| {
        Box::pin(side(bench, views, runs, async |db, id| {
            optimized::count_view(db, id).await
        }))
    },
);

/// Times `views` views counted by `count_view`; in the lab, then races [`RACERS`] of
/// them on a scratch post and says how many the row kept.
async fn side(
    bench: &Workbench,
    views: &Views,
    runs: &mut Runs,
    count_view: impl AsyncFn(&DatabaseExecutor<'_>, i32) -> Result<i32, DbErr>,
) -> Result<Facts, AppError> {
    let all_at_once = || {
        bench.write(&bench.db, async |db| {
            let each = (0..views.views).map(|_| count_view(db, views.post_id));
            Ok(try_join_all(each).await?.len())
        })
    };
    let counted = runs.time(all_at_once).await?;
    let facts = Facts::rows(counted);
    if !runs.is_live() {
        return Ok(facts);
    }
    let scratch = ScratchPost::create(&bench.db).await?;
    let kept = race(&bench.db, scratch.id, count_view).await?;
    scratch.remove().await?;
    Ok(facts.and(Fact::Kept { kept, of: RACERS }))
}

/// Sends [`RACERS`] views of `post_id` at once (futures of this one task, each on a
/// connection of its own from the pool) and reads how many the row kept.
pub async fn race(
    db: &DatabaseConnection,
    post_id: i32,
    count_view: impl AsyncFn(&DatabaseExecutor<'_>, i32) -> Result<i32, DbErr>,
) -> Result<u64, AppError> {
    let pool = DatabaseExecutor::from(db);
    post::Entity::update_many()
        .col_expr(post::Column::ViewCount, Expr::value(0))
        .filter(post::Column::Id.eq(post_id))
        .exec(db)
        .await?;
    try_join_all((0..RACERS).map(|_| count_view(&pool, post_id))).await?;
    let kept: Option<i32> = post::Entity::find_by_id(post_id)
        .select_only()
        .column(post::Column::ViewCount)
        .into_tuple()
        .one(db)
        .await?;
    Ok(u64::try_from(kept.unwrap_or(0)).unwrap_or(0))
}
