//! The post list as it is usually first written: load the page of posts, then ask
//! for each post's author, tags and comment count.
//!
//! Cost: 1 + 3N statements for N posts — 61 for a page of 20 — each a round trip to
//! the database, and every post's `body` (2–8 KB, not shown on this page) travels
//! from the database to be thrown away.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{PostListPage, PostSummary, published_newest_first};
use crate::base::entities::{comment, post, tag, user};
use crate::views::pagination::PageWindow;
use crate::views::site::TagLink;

#[tracing::instrument(level = "debug", skip_all)]
pub async fn load_page(
    db: &impl ConnectionTrait,
    window: PageWindow,
) -> Result<PostListPage, DbErr> {
    let (posts, has_next) = window.split(page_rows(db, window).await?);
    Ok(PostListPage {
        posts: summarize(db, posts).await?,
        position: window.position,
        has_next,
    })
}

/// The page's posts as whole rows: every column, `body` included.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn page_rows(
    db: &impl ConnectionTrait,
    window: PageWindow,
) -> Result<Vec<post::Model>, DbErr> {
    published_newest_first(post::Entity::find())
        .limit(window.rows_to_fetch())
        .offset(window.offset())
        .all(db)
        .await
}

/// Three queries per post: its author's name, its tags, its comment count (the N + 1
/// problem, three times over).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn summarize(
    db: &impl ConnectionTrait,
    posts: Vec<post::Model>,
) -> Result<Vec<PostSummary>, DbErr> {
    let mut summaries = Vec::with_capacity(posts.len());
    for post in posts {
        // The columns the entry shows, as the batched side asks for them: the pair
        // differs in asking per post, not in what it asks for.
        let author_name: String = user::Entity::find_by_id(post.author_id)
            .select_only()
            .column(user::Column::Name)
            .into_tuple()
            .one(db)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("author of post {}", post.id)))?;
        let tags: Vec<(String, String)> = post
            .find_related(tag::Entity)
            .select_only()
            .columns([tag::Column::Name, tag::Column::Slug])
            .order_by_asc(tag::Column::Name)
            .into_tuple()
            .all(db)
            .await?;
        let comment_count = comment::Entity::find()
            .filter(comment::Column::PostId.eq(post.id))
            .count(db)
            .await?;
        summaries.push(PostSummary {
            id: post.id,
            title: post.title,
            slug: post.slug,
            excerpt: post.excerpt,
            author_name,
            published_at: post.published_at,
            tags: tags
                .into_iter()
                .map(|(name, slug)| TagLink { name, slug })
                .collect(),
            comment_count,
        });
    }
    Ok(summaries)
}
