//! The sidebar read from counters kept beside the rows: `tags.published_post_count`
//! and `posts.comment_count` (see `crate::services::db::counters`, which every write path calls).
//!
//! What changed from `aggregated.rs`: nothing is counted when the sidebar is read.
//! The tag cloud is one pass over the 50 tags; "most discussed" reads the first five
//! entries of the index on `(status, comment_count DESC, id)` and stops — where the
//! `GROUP BY`s visited every published post's tag links and every comment. The
//! counting moved to the writes, which pay one small `UPDATE` each.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Fragment, POPULAR_POSTS, Sidebar, render};
use crate::base::entities::{post, tag};
use crate::base::error::AppError;

/// The sidebar from the counters and rendered, on every call: what a page does without
/// the fragment cache, and what the cache runs on a miss.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn fragment(db: &impl ConnectionTrait, root: &str) -> Result<Fragment, AppError> {
    render(&load(db).await?, root)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(db: &impl ConnectionTrait) -> Result<Sidebar, DbErr> {
    // SELECT name, slug, published_post_count FROM tags
    //  WHERE published_post_count > 0 ORDER BY name
    let tags: Vec<(String, String, i32)> = tag::Entity::find()
        .select_only()
        .columns([
            tag::Column::Name,
            tag::Column::Slug,
            tag::Column::PublishedPostCount,
        ])
        .filter(tag::Column::PublishedPostCount.gt(0))
        .order_by_asc(tag::Column::Name)
        .into_tuple()
        .all(db)
        .await?;

    // SELECT title, slug, comment_count FROM posts
    //  WHERE status = 'published' AND comment_count > 0
    //  ORDER BY comment_count DESC, id LIMIT 5
    let popular: Vec<(String, String, i32)> = post::Entity::find()
        .select_only()
        .columns([
            post::Column::Title,
            post::Column::Slug,
            post::Column::CommentCount,
        ])
        .filter(post::Column::Status.eq(post::Status::Published))
        .filter(post::Column::CommentCount.gt(0))
        .order_by_desc(post::Column::CommentCount)
        .order_by_asc(post::Column::Id)
        .limit(POPULAR_POSTS)
        .into_tuple()
        .all(db)
        .await?;

    Ok(Sidebar::from_counts(tags, popular))
}
