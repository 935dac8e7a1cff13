//! The post list in a constant number of queries, loading only the columns it shows.
//!
//! What changed from `naive.rs`: the author is joined into the page query, the tags
//! and comment counts of all the page's posts come in one query each (`IN (…)`), and
//! the page query selects the five columns the page shows instead of whole rows.
//! SeaORM's `LoaderTrait` batches the same way, but it starts from whole `post::Model`s
//! — the rows this page deliberately does not load — so the batches are written out.

use std::collections::HashMap;

use sea_orm::sea_query::{Asterisk, Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait, Select,
};

use super::{PostListPage, PostSummary, TagLink, published_newest_first};
use crate::entities::{comment, post, post_tag, tag, user};
use crate::views::pagination::PageWindow;

/// The columns a list entry shows, the author's name joined in: no `body`, which is
/// 2–8 KB a post and not on this page.
#[derive(Debug, FromQueryResult)]
pub struct SummaryRow {
    pub id: i32,
    pub title: String,
    pub slug: String,
    pub excerpt: String,
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    pub author_name: String,
}

/// Three queries whatever the page size: the page (authors joined), the tags of its
/// posts (one `IN (…)`), their comment counts (one `GROUP BY` over those ids only —
/// counting before the `LIMIT` would group every published post's comments).
pub async fn load_page(
    db: &impl ConnectionTrait,
    window: PageWindow,
) -> Result<PostListPage, DbErr> {
    let (rows, has_next) = window.split(page_rows(db, window).await?);
    Ok(PostListPage {
        posts: summarize(db, rows).await?,
        page: window.number,
        has_next,
    })
}

/// The page's posts as [`SummaryRow`]s: five columns and the author's name.
pub async fn page_rows(
    db: &impl ConnectionTrait,
    window: PageWindow,
) -> Result<Vec<SummaryRow>, DbErr> {
    summary_rows(post::Entity::find())
        .limit(window.rows_to_fetch())
        .offset(window.offset())
        .into_model::<SummaryRow>()
        .all(db)
        .await
}

/// The projection: published posts, newest first, only the columns of [`SummaryRow`].
pub fn summary_rows(query: Select<post::Entity>) -> Select<post::Entity> {
    published_newest_first(query)
        .select_only()
        .columns([
            post::Column::Id,
            post::Column::Title,
            post::Column::Slug,
            post::Column::Excerpt,
            post::Column::PublishedAt,
        ])
        .column_as(user::Column::Name, "author_name")
        .join(JoinType::InnerJoin, post::Relation::User.def())
}

/// Completes rows into summaries with two batched queries, however many rows there are.
/// An empty page needs none.
pub async fn summarize(
    db: &impl ConnectionTrait,
    rows: Vec<SummaryRow>,
) -> Result<Vec<PostSummary>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = rows.iter().map(|row| row.id).collect();
    let mut tags = tags_of(db, &ids).await?;
    let comment_counts = comment_counts_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| PostSummary {
            tags: tags.remove(&row.id).unwrap_or_default(),
            comment_count: comment_counts.get(&row.id).copied().unwrap_or(0),
            id: row.id,
            title: row.title,
            slug: row.slug,
            excerpt: row.excerpt,
            author_name: row.author_name,
            published_at: row.published_at,
        })
        .collect())
}

/// The tags of all `post_ids` in one query, each post's tags sorted by name.
pub(crate) async fn tags_of(
    db: &impl ConnectionTrait,
    post_ids: &[i32],
) -> Result<HashMap<i32, Vec<TagLink>>, DbErr> {
    let rows: Vec<(i32, String, String)> = post_tag::Entity::find()
        .select_only()
        .column(post_tag::Column::PostId)
        .column(tag::Column::Name)
        .column(tag::Column::Slug)
        .join(JoinType::InnerJoin, post_tag::Relation::Tag.def())
        .filter(post_tag::Column::PostId.is_in(post_ids.iter().copied()))
        .order_by_asc(tag::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_post: HashMap<i32, Vec<TagLink>> = HashMap::new();
    for (post_id, name, slug) in rows {
        by_post
            .entry(post_id)
            .or_default()
            .push(TagLink { name, slug });
    }
    Ok(by_post)
}

/// `SELECT post_id, COUNT(*) … WHERE post_id IN (…) GROUP BY post_id`: one query, an
/// index range scan per post, and posts without comments are simply absent.
pub(crate) async fn comment_counts_of(
    db: &impl ConnectionTrait,
    post_ids: &[i32],
) -> Result<HashMap<i32, u64>, DbErr> {
    let rows: Vec<(i32, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::PostId)
        // COUNT(*), not COUNT(id): the (post_id, created_at) index answers it alone
        // (an index-only scan), where COUNT(id) must visit every comment's row.
        .column_as(
            Expr::from(Func::count(Expr::col(Asterisk))),
            "comment_count",
        )
        .filter(comment::Column::PostId.is_in(post_ids.iter().copied()))
        .group_by(comment::Column::PostId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(post_id, count)| (post_id, u64::try_from(count).unwrap_or(0)))
        .collect())
}
