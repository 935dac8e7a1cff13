//! The post page in three queries, however many comments it shows.
//!
//! What changed from `naive.rs`: the post's author and each comment's author are
//! joined into the queries that load the post and the comments (SeaORM's
//! `find_also_related`, Django's `select_related`) instead of being asked for one by
//! one; and the comment count is the post row's `comment_count`, the counter every
//! write keeps, instead of a `COUNT` (denormalized counters). The rows are the same
//! whole rows the naive page loads: the post page shows the body, so there is no
//! projection to make here.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use std::collections::HashMap;

use super::{CommentView, LATEST_COMMENTS, PostDetail};
use crate::base::entities::{comment, post, user};
use crate::base::slug::Slug;
use crate::views::batch::tags_of;
use crate::views::site::TagLink;

/// `None` when no published post has this slug.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(db: &impl ConnectionTrait, slug: &Slug) -> Result<Option<PostDetail>, DbErr> {
    let Some((post, author)) = post_with_author(db, slug).await? else {
        return Ok(None);
    };
    let tags = tags_of(db, &[post.id]).await?;
    let latest = latest_comments(db, post.id).await?;
    detail(post, author, tags, latest).map(Some)
}

/// The same three statements as [`load`], the last two at once.
///
/// What changed from [`load`]: the tags and the latest comments need only the post's
/// id, so they are sent together (`tokio::try_join!`), each on a
/// connection of its own from the pool, and the page waits for the slowest of the
/// three instead of their sum. On one connection — inside a transaction — they would
/// queue, and when every connection is busy they wait for one.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load_concurrently(
    db: &impl ConnectionTrait,
    slug: &Slug,
) -> Result<Option<PostDetail>, DbErr> {
    let Some((post, author)) = post_with_author(db, slug).await? else {
        return Ok(None);
    };
    let ids = [post.id];
    let (tags, latest) = tokio::try_join!(tags_of(db, &ids), latest_comments(db, post.id))?;
    detail(post, author, tags, latest).map(Some)
}

/// The published post with this slug and its author, joined.
async fn post_with_author(
    db: &impl ConnectionTrait,
    slug: &Slug,
) -> Result<Option<(post::Model, Option<user::Model>)>, DbErr> {
    post::Entity::find()
        .find_also_related(user::Entity)
        .filter(post::Column::Slug.eq(slug.as_str()))
        .filter(post::Column::Status.eq(post::Status::Published))
        .one(db)
        .await
}

/// The post's latest comments, each with its author, joined.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn latest_comments(
    db: &impl ConnectionTrait,
    post_id: i32,
) -> Result<Vec<(comment::Model, Option<user::Model>)>, DbErr> {
    comment::Entity::find()
        .find_also_related(user::Entity)
        .filter(comment::Column::PostId.eq(post_id))
        .order_by_desc(comment::Column::CreatedAt)
        .order_by_desc(comment::Column::Id)
        .limit(LATEST_COMMENTS)
        .all(db)
        .await
}

/// The page model from what the statements brought back.
fn detail(
    post: post::Model,
    author: Option<user::Model>,
    mut tags: HashMap<i32, Vec<TagLink>>,
    latest: Vec<(comment::Model, Option<user::Model>)>,
) -> Result<PostDetail, DbErr> {
    let author = author.ok_or_else(|| missing_author("post", post.id))?;
    let comments = latest
        .into_iter()
        .map(|(comment, author)| {
            let author = author.ok_or_else(|| missing_author("comment", comment.id))?;
            Ok(CommentView {
                author_name: author.name,
                body: comment.body,
                created_at: comment.created_at,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    Ok(PostDetail {
        id: post.id,
        title: post.title,
        slug: post.slug,
        body: post.body,
        author_name: author.name,
        published_at: post.published_at,
        tags: tags.remove(&post.id).unwrap_or_default(),
        comments,
        comment_count: u64::try_from(post.comment_count).unwrap_or(0),
        view_count: post.view_count,
    })
}

fn missing_author(of: &str, id: i32) -> DbErr {
    DbErr::RecordNotFound(format!("author of {of} {id}"))
}

/// Counts a view in one statement the database applies atomically:
/// `UPDATE posts SET view_count = view_count + 1 WHERE id = $1 RETURNING view_count`.
/// It returns the new count, exact however many views run at once (0 if the post is
/// gone), so a cached page shows it without a second statement.
///
/// What changed from `naive.rs`: the addition happens in the database, under the row's
/// lock, so concurrent views queue for the row instead of overwriting each other —
/// 200 concurrent views count 200.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn count_view(db: &impl ConnectionTrait, post_id: i32) -> Result<i32, DbErr> {
    let increment = Query::update()
        .table(post::Entity)
        .value(
            post::Column::ViewCount,
            Expr::col(post::Column::ViewCount).add(1),
        )
        .and_where(post::Column::Id.eq(post_id))
        .returning_col(post::Column::ViewCount)
        .to_owned();
    let row = db.query_one(&increment).await?;
    row.map_or(Ok(0), |row| row.try_get("", "view_count"))
}
