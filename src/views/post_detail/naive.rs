//! The post page as it is usually first written: load the post, then its author, its
//! tags, its comment count and its latest comments — and each comment's author.
//!
//! Cost: 5 + C statements for C comments shown (55 for a post with 50 or more).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{CommentView, LATEST_COMMENTS, PostDetail};
use crate::base::entities::{comment, post, tag, user};
use crate::base::slug::Slug;
use crate::views::site::TagLink;

/// `None` when no published post has this slug.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(db: &impl ConnectionTrait, slug: &Slug) -> Result<Option<PostDetail>, DbErr> {
    let Some(post) = post::Entity::find()
        .filter(post::Column::Slug.eq(slug.as_str()))
        .filter(post::Column::Status.eq(post::Status::Published))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let author = author_of(db, &post).await?;
    let tags = post
        .find_related(tag::Entity)
        .order_by_asc(tag::Column::Name)
        .all(db)
        .await?;
    let comment_count = post.find_related(comment::Entity).count(db).await?;
    let comments = latest_comments(db, &post).await?;
    Ok(Some(PostDetail {
        id: post.id,
        title: post.title,
        slug: post.slug,
        body: post.body,
        author_name: author.name,
        published_at: post.published_at,
        tags: tags.into_iter().map(TagLink::from).collect(),
        comments,
        comment_count,
        view_count: post.view_count,
    }))
}

/// The post's latest comments, then one more query per comment for its author's name:
/// 1 + C statements for C comments shown.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn latest_comments(
    db: &impl ConnectionTrait,
    post: &post::Model,
) -> Result<Vec<CommentView>, DbErr> {
    let latest = post
        .find_related(comment::Entity)
        .order_by_desc(comment::Column::CreatedAt)
        .order_by_desc(comment::Column::Id)
        .limit(LATEST_COMMENTS)
        .all(db)
        .await?;
    let mut comments = Vec::with_capacity(latest.len());
    for comment in latest {
        let author = comment
            .find_related(user::Entity)
            .one(db)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("author of comment {}", comment.id)))?;
        comments.push(CommentView {
            author_name: author.name,
            body: comment.body,
            created_at: comment.created_at,
        });
    }
    Ok(comments)
}

/// Counts a view the way it is usually first written: read the counter, add one in
/// Rust, write the result back.
///
/// Two statements — `SELECT view_count …`, then `UPDATE posts SET view_count = $1 …` —
/// and wrong under concurrency: two requests that read 41 both write 42, and one view
/// is lost (a lost update). The tests count how many of 200 concurrent views survive.
/// Returns the count it wrote (0 if the post is gone).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn count_view(db: &impl ConnectionTrait, post_id: i32) -> Result<i32, DbErr> {
    let read: Option<i32> = post::Entity::find_by_id(post_id)
        .select_only()
        .column(post::Column::ViewCount)
        .into_tuple()
        .one(db)
        .await?;
    let Some(read) = read else {
        return Ok(0);
    };
    let views = read + 1;
    post::Entity::update_many()
        .col_expr(post::Column::ViewCount, Expr::value(views))
        .filter(post::Column::Id.eq(post_id))
        .exec(db)
        .await?;
    Ok(views)
}

async fn author_of(db: &impl ConnectionTrait, post: &post::Model) -> Result<user::Model, DbErr> {
    post.find_related(user::Entity)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("author of post {}", post.id)))
}
