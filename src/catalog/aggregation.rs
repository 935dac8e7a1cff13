//! Aggregation in the database: count in Rust over loaded rows, or `COUNT … GROUP BY`.

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, Pattern, SIDEBAR, Side};
use crate::entities::{comment, post, post_tag, tag};
use crate::error::AppError;
use crate::views::sidebar::{aggregated, naive};

pub static PATTERN: Pattern = Pattern {
    slug: "aggregation",
    title: "Aggregation in the database",
    django: "`annotate(Count('posts'))` / `aggregate(Count(…))`: a `GROUP BY` in the database instead of `len()` in Python",
    rails: Some("`group(:tag_id).count`"),
    problem: "Counting posts per tag and comments per post in Rust means loading every post and every comment first.",
    setup: "Both sides compute the sidebar's figures — the tag cloud and the five most-discussed posts — from the current data, uncached; rendering is left out of both.",
    why: "COUNT … GROUP BY runs where the rows are, reads indexes, and sends back fifty counts and five titles instead of the whole dataset.",
    when_not: "When the rows are needed anyway for something else, or the counting rule is easier to express in Rust than in SQL — and on tiny tables.",
    shows_on: &[SIDEBAR],
    naive: Side {
        summary: "load every published post, link and comment; count in Rust",
        code: &[code!("src/views/sidebar/naive.rs", "load")],
    },
    optimized: Side {
        summary: "two `COUNT … GROUP BY` queries",
        code: &[code!("src/views/sidebar/aggregated.rs", "load")],
    },
    tests: &["tests/api/fragment_cache.rs"],
    benches: &[Comparison {
        what: "aggregation: sidebar",
        bench: "aggregation",
        naive: "sidebar-naive",
        optimized: "sidebar-aggregated",
        headline: None,
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let loaded = rows_the_naive_sidebar_loads(db).await?;
    Ok(Outcome {
        naive: measure(|| async {
            naive::load(db).await?;
            Ok(Fetched::rows(loaded as usize))
        })
        .await?,
        optimized: measure(|| async {
            let shown = aggregated::load(db).await?;
            Ok(Fetched::rows(shown.tags.len() + shown.popular.len()))
        })
        .await?,
    })
}

/// Tags, published posts, post–tag links and comments: what `sidebar::naive` loads.
async fn rows_the_naive_sidebar_loads(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let published = post::Entity::find().filter(post::Column::Status.eq(post::Status::Published));
    Ok(tag::Entity::find().count(db).await?
        + published.count(db).await?
        + post_tag::Entity::find().count(db).await?
        + comment::Entity::find().count(db).await?)
}
