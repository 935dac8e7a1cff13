//! Admin actions as one statement each, whatever the number of rows: the database
//! finds and changes the rows itself, and returns the ids it changed — which one more
//! statement, in the same transaction, uses to adjust the tags' published-post
//! counters (`crate::services::db::counters`), set-based too.
//!
//! What changed from `naive.rs`: no row travels to Rust and back, only ids. Two
//! statements in one transaction however many rows: no half-done state, and one
//! commit.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr, StatementBuilder, TransactionSession, TransactionTrait};

use super::{ArchiveCutoff, TitleSearch};
use crate::base::entities::{post, post_tag};
use crate::services::db;
use crate::services::db::counters::{self, Change};

/// `UPDATE posts SET status = 'published', published_at = $now, updated_at = $now
///  WHERE status = 'draft' RETURNING id`, then the tags' counters.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn publish_drafts(db: &impl TransactionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let txn = db::begin_write(db).await?;
    let published = changed_ids(
        &txn,
        &Query::update()
            .table(post::Entity)
            .value(post::Column::Status, post::Status::Published)
            .value(post::Column::PublishedAt, now)
            .value(post::Column::UpdatedAt, now)
            .and_where(Expr::col(post::Column::Status).eq(post::Status::Draft))
            .returning_col(post::Column::Id)
            .to_owned(),
    )
    .await?;
    counters::published_changed(&txn, &published, Change::Published).await?;
    txn.commit().await?;
    Ok(published.len() as u64)
}

/// `UPDATE posts SET status = 'archived', updated_at = $now
///  WHERE status = 'published' AND published_at < $cutoff RETURNING id`, then the tags'
///  counters.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn archive_published_before(
    db: &impl TransactionTrait,
    cutoff: ArchiveCutoff,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let txn = db::begin_write(db).await?;
    let archived = changed_ids(
        &txn,
        &Query::update()
            .table(post::Entity)
            .value(post::Column::Status, post::Status::Archived)
            .value(post::Column::UpdatedAt, now)
            .and_where(Expr::col(post::Column::Status).eq(post::Status::Published))
            .and_where(Expr::col(post::Column::PublishedAt).lt(cutoff.instant()))
            .returning_col(post::Column::Id)
            .to_owned(),
    )
    .await?;
    counters::published_changed(&txn, &archived, Change::Unpublished).await?;
    txn.commit().await?;
    Ok(archived.len() as u64)
}

/// The ids a statement with `RETURNING id` (or `post_id`) changed.
async fn changed_ids(
    db: &impl ConnectionTrait,
    statement: &impl StatementBuilder,
) -> Result<Vec<i32>, DbErr> {
    db.query_all(statement)
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<i32>(0))
        .collect()
}

/// `INSERT INTO post_tags (post_id, tag_id)
///  SELECT id, $tag FROM posts WHERE LOWER(title) LIKE $pattern
///  AND NOT EXISTS (SELECT 1 FROM post_tags WHERE post_id = posts.id AND tag_id = $tag)
///  RETURNING post_id`, then the tag's counter.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn tag_matching(
    db: &impl TransactionTrait,
    tag_id: i32,
    search: &TitleSearch,
) -> Result<u64, DbErr> {
    let already_tagged = Query::select()
        .expr(Expr::val(1))
        .from(post_tag::Entity)
        .and_where(
            Expr::col((post_tag::Entity, post_tag::Column::PostId))
                .equals((post::Entity, post::Column::Id)),
        )
        .and_where(Expr::col((post_tag::Entity, post_tag::Column::TagId)).eq(tag_id))
        .to_owned();
    let untagged_matches = Query::select()
        .column((post::Entity, post::Column::Id))
        .expr(Expr::val(tag_id))
        .from(post::Entity)
        .and_where(search.condition())
        .and_where(Expr::not_exists(already_tagged))
        .to_owned();
    let insert = Query::insert()
        .into_table(post_tag::Entity)
        .columns([post_tag::Column::PostId, post_tag::Column::TagId])
        .select_from(untagged_matches)
        .map_err(|error| DbErr::Custom(error.to_string()))?
        .returning_col(post_tag::Column::PostId)
        .to_owned();
    let txn = db::begin_write(db).await?;
    let tagged = changed_ids(&txn, &insert).await?;
    counters::tag_links_added(&txn, tag_id, &tagged).await?;
    txn.commit().await?;
    Ok(tagged.len() as u64)
}
