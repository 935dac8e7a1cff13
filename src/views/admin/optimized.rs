//! Admin actions as one statement each, whatever the number of rows: the database
//! finds and changes the rows itself, and reports how many it changed.
//!
//! What changed from `naive.rs`: no row travels to Rust and back. A single statement
//! is atomic on its own (its own transaction), so there is no half-done state and no
//! `BEGIN`/`COMMIT` round trips to add.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{ArchiveCutoff, TitleSearch};
use crate::entities::{post, post_tag};

/// `UPDATE posts SET status = 'published', published_at = $now, updated_at = $now
///  WHERE status = 'draft'`
pub async fn publish_drafts(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Published))
        .col_expr(post::Column::PublishedAt, Expr::value(now))
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Status.eq(post::Status::Draft))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// `UPDATE posts SET status = 'archived', updated_at = $now
///  WHERE status = 'published' AND published_at < $cutoff`
pub async fn archive_published_before(
    db: &impl ConnectionTrait,
    cutoff: ArchiveCutoff,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Archived))
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Status.eq(post::Status::Published))
        .filter(post::Column::PublishedAt.lt(cutoff.instant()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// `INSERT INTO post_tags (post_id, tag_id)
///  SELECT id, $tag FROM posts WHERE LOWER(title) LIKE $pattern
///  AND NOT EXISTS (SELECT 1 FROM post_tags WHERE post_id = posts.id AND tag_id = $tag)`
pub async fn tag_matching(
    db: &impl ConnectionTrait,
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
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected())
}
