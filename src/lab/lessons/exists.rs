//! Exists vs count: answer "is there any …?" by counting every match, or by asking for
//! one.

use sea_orm::{EntityTrait, Select};

use super::{Comparison, Facts, Fut, Lesson, Runs};
use crate::base::entities::post;
use crate::lab::workbench::Workbench;
use crate::services::db::exists::{by_counting, by_finding_one, published_tagged};

pub static LESSON: Lesson = Lesson {
    slug: "exists",
    comparisons: &[&BUSIEST_TAG, &ANY_POST],
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
