//! The post page in four queries, however many comments it shows.
//!
//! What changed from `naive.rs`: the post's author and each comment's author are
//! joined into the queries that load the post and the comments (SeaORM's
//! `find_also_related`, Django's `select_related`) instead of being asked for one by
//! one. The rows are the same whole rows the naive page loads: the post page shows
//! the body, so there is no projection to make here.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{CommentView, LATEST_COMMENTS, PostDetail};
use crate::entities::{comment, post, user};
use crate::views::batch::{comment_counts_of, tags_of};
use crate::views::slug::Slug;

/// `None` when no published post has this slug.
pub async fn load(db: &impl ConnectionTrait, slug: &Slug) -> Result<Option<PostDetail>, DbErr> {
    let Some((post, author)) = post::Entity::find()
        .find_also_related(user::Entity)
        .filter(post::Column::Slug.eq(slug.as_str()))
        .filter(post::Column::Status.eq(post::Status::Published))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let author = author.ok_or_else(|| missing_author("post", post.id))?;
    let tags = tags_of(db, &[post.id]).await?.remove(&post.id);
    let comment_count = comment_counts_of(db, &[post.id])
        .await?
        .get(&post.id)
        .copied();
    let latest = comment::Entity::find()
        .find_also_related(user::Entity)
        .filter(comment::Column::PostId.eq(post.id))
        .order_by_desc(comment::Column::CreatedAt)
        .order_by_desc(comment::Column::Id)
        .limit(LATEST_COMMENTS)
        .all(db)
        .await?;
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
    Ok(Some(PostDetail {
        id: post.id,
        title: post.title,
        slug: post.slug,
        body: post.body,
        author_name: author.name,
        published_at: post.published_at,
        tags: tags.unwrap_or_default(),
        comments,
        comment_count: comment_count.unwrap_or(0),
        view_count: post.view_count,
    }))
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
