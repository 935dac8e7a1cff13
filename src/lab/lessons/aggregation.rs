//! Aggregation in the database: count in Rust over loaded rows, or `COUNT … GROUP BY`.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{Comparison, Facts, Lesson};
use crate::base::entities::{comment, post, post_tag, tag};
use crate::base::error::AppError;
use crate::lab::workbench::Workbench;
use crate::views::sidebar::{aggregated, naive};

pub static LESSON: Lesson = Lesson {
    slug: "aggregation",
    comparisons: &[&SIDEBAR],
};

/// The sidebar's figures — the tag cloud, the five most-discussed posts — uncached and
/// not rendered. The input is how many rows the naive side loads, counted beforehand.
static SIDEBAR: Comparison<u64> = Comparison::new(
    "sidebar",
    |bench, _| Box::pin(rows_the_naive_sidebar_loads(bench)),
    |bench, loaded, runs| {
        Box::pin(async move {
            runs.time(|| naive::load(&bench.db)).await?;
            Ok(Facts::rows(*loaded as usize))
        })
    },
    |bench, _, runs| {
        Box::pin(async move {
            let shown = runs.time(|| aggregated::load(&bench.db)).await?;
            Ok(Facts::rows(shown.tags.len() + shown.popular.len()))
        })
    },
)
.samples(10);

/// Tags, published posts, post–tag links and comments: what `sidebar::naive` loads.
async fn rows_the_naive_sidebar_loads(bench: &Workbench) -> Result<u64, AppError> {
    let db = &bench.db;
    let published = post::Entity::find().filter(post::Column::Status.eq(post::Status::Published));
    Ok(tag::Entity::find().count(db).await?
        + published.count(db).await?
        + post_tag::Entity::find().count(db).await?
        + comment::Entity::find().count(db).await?)
}
