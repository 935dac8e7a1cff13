//! Exists vs count: answer "is there any …?" by counting every match, or by asking for
//! one.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::{Comparison, Facts, Fut, Lesson, Runs};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::services::db::exists::{by_counting, by_finding_one, published_tagged};

pub static LESSON: Lesson = Lesson {
    slug: "exists",
    comparisons: &[&BUSIEST_TAG, &ANY_POST, &MATCHES],
    backfire: None,
};

/// Does the busiest tag have a published post? (The question is built in each run,
/// as a page would build it.)
static BUSIEST_TAG: Comparison<Option<i32>> = Comparison::new(
    "busiest-tag",
    |bench, _| Box::pin(async move { Ok(Some(bench.busiest_tag().await?.0)) }),
    counting,
    finding_one,
);

/// Are there any posts at all? (The start-up check: seed an empty database.)
static ANY_POST: Comparison<Option<i32>> = Comparison::new(
    "any-post",
    |_, _| Box::pin(async { Ok(None) }),
    counting,
    finding_one,
);

/// Is any of the first `size` published posts (by id) there? `size` posts match: the
/// count grows with them, the search for one does not. The input is the last of them.
static MATCHES: Comparison<i32> = Comparison::new(
    "matches",
    |bench, size| Box::pin(nth_published(bench, size.unwrap_or(1_000))),
    |bench, last, runs| {
        Box::pin(async move {
            let any = runs
                .time(|| by_counting(&bench.db, published_up_to(*last)))
                .await?;
            Ok(Facts::rows(usize::from(any)))
        })
    },
    |bench, last, runs| {
        Box::pin(async move {
            let any = runs
                .time(|| by_finding_one(&bench.db, published_up_to(*last)))
                .await?;
            Ok(Facts::rows(usize::from(any)))
        })
    },
);

/// The id of the `n`th published post by id (the last one if there are fewer).
async fn nth_published(bench: &Workbench, n: u64) -> Result<i32, AppError> {
    let ids: Vec<i32> = post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_asc(post::Column::Id)
        .limit(n)
        .into_tuple()
        .all(&bench.db)
        .await?;
    ids.last().copied().ok_or_else(|| {
        AppError::NotFound("The lab needs a published post; seed the database.".to_owned())
    })
}

/// The published posts up to the id `last`.
fn published_up_to(last: i32) -> Select<post::Entity> {
    post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .filter(post::Column::Id.lte(last))
}

/// The published posts of the tag, or every post.
fn question(tag: Option<i32>) -> Select<post::Entity> {
    tag.map_or_else(post::Entity::find, published_tagged)
}

fn counting<'a>(bench: &'a Workbench, tag: &'a Option<i32>, runs: &'a mut Runs) -> Fut<'a, Facts> {
    Box::pin(async move {
        let any = runs.time(|| by_counting(&bench.db, question(*tag))).await?;
        Ok(Facts::rows(usize::from(any)))
    })
}

fn finding_one<'a>(
    bench: &'a Workbench,
    tag: &'a Option<i32>,
    runs: &'a mut Runs,
) -> Fut<'a, Facts> {
    Box::pin(async move {
        let any = runs
            .time(|| by_finding_one(&bench.db, question(*tag)))
            .await?;
        Ok(Facts::rows(usize::from(any)))
    })
}
