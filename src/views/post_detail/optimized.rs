//! The post page in four queries, however many comments it shows.
//!
//! What changed from `naive.rs`: the post's author and each comment's author are
//! joined into the queries that load the post and the comments (and only their names
//! are selected), and the tags and count reuse the post list's batched queries.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait,
};

use super::{CommentView, LATEST_COMMENTS, PostDetail};
use crate::entities::{comment, post, user};
use crate::views::post_list::optimized::{comment_counts_of, tags_of};
use crate::views::slug::Slug;

#[derive(Debug, FromQueryResult)]
struct PostRow {
    id: i32,
    title: String,
    slug: String,
    body: String,
    published_at: Option<chrono::DateTime<chrono::Utc>>,
    view_count: i32,
    author_name: String,
}

#[derive(Debug, FromQueryResult)]
struct CommentRow {
    body: String,
    created_at: chrono::DateTime<chrono::Utc>,
    author_name: String,
}

/// `None` when no published post has this slug.
pub async fn load(db: &impl ConnectionTrait, slug: &Slug) -> Result<Option<PostDetail>, DbErr> {
    let Some(post) = post::Entity::find()
        .select_only()
        .columns([
            post::Column::Id,
            post::Column::Title,
            post::Column::Slug,
            post::Column::Body,
            post::Column::PublishedAt,
            post::Column::ViewCount,
        ])
        .column_as(user::Column::Name, "author_name")
        .join(JoinType::InnerJoin, post::Relation::User.def())
        .filter(post::Column::Slug.eq(slug.as_str()))
        .filter(post::Column::Status.eq(post::Status::Published))
        .into_model::<PostRow>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let tags = tags_of(db, &[post.id]).await?.remove(&post.id);
    let comment_count = comment_counts_of(db, &[post.id])
        .await?
        .get(&post.id)
        .copied();
    let comments = comment::Entity::find()
        .select_only()
        .columns([comment::Column::Body, comment::Column::CreatedAt])
        .column_as(user::Column::Name, "author_name")
        .join(JoinType::InnerJoin, comment::Relation::User.def())
        .filter(comment::Column::PostId.eq(post.id))
        .order_by_desc(comment::Column::CreatedAt)
        .order_by_desc(comment::Column::Id)
        .limit(LATEST_COMMENTS)
        .into_model::<CommentRow>()
        .all(db)
        .await?;
    Ok(Some(PostDetail {
        id: post.id,
        title: post.title,
        slug: post.slug,
        body: post.body,
        author_name: post.author_name,
        published_at: post.published_at,
        tags: tags.unwrap_or_default(),
        comments: comments
            .into_iter()
            .map(|row| CommentView {
                author_name: row.author_name,
                body: row.body,
                created_at: row.created_at,
            })
            .collect(),
        comment_count: comment_count.unwrap_or(0),
        view_count: post.view_count,
    }))
}

/// Counts a view in one statement the database applies atomically:
/// `UPDATE posts SET view_count = view_count + 1 WHERE id = $1`.
///
/// What changed from `naive.rs`: the addition happens in the database, under the row's
/// lock, so concurrent views queue for the row instead of overwriting each other —
/// 200 concurrent views count 200.
pub async fn count_view(db: &impl ConnectionTrait, post_id: i32) -> Result<(), DbErr> {
    post::Entity::update_many()
        .col_expr(
            post::Column::ViewCount,
            Expr::col(post::Column::ViewCount).add(1),
        )
        .filter(post::Column::Id.eq(post_id))
        .exec(db)
        .await?;
    Ok(())
}
