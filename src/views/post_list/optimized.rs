//! The post list in a constant number of queries, loading only the columns it shows.
//!
//! What changed from `naive.rs`, one idea per step:
//!
//! - `page_rows` selects the seven columns a list entry needs instead of whole rows
//!   (column projection: no 2–8 KB `body`);
//! - `summarize` asks for the authors and the tags of all the page's posts with one
//!   `IN (…)` query each (eager loading: 2 statements for any page size, not 2 per
//!   post). The batch loaders live in `views::batch`, shared with the post page;
//! - the comment count is read from the row, `posts.comment_count`, which every write
//!   keeps (denormalized counters), instead of counting each post's comments.
//!   [`summarize_counting`] is the rung before it: the counts in one more batched
//!   `GROUP BY` query, what eager loading alone gives.
//!
//! And one more idea for deep pages: `keyset` starts a page just after a cursor
//! instead of skipping rows with `OFFSET` (keyset pagination, `?after=`).

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Select,
};

use super::{PostListPage, PostSummary, published_newest_first};
use crate::base::entities::post;
use crate::views::batch::{authors_of, comment_counts_of, tags_of};
use crate::views::pagination::PageWindow;

/// The columns a list entry shows, its author as an id.
#[derive(Clone, Debug, FromQueryResult)]
pub struct PostRow {
    pub id: i32,
    pub title: String,
    pub slug: String,
    pub excerpt: String,
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    pub author_id: i32,
    /// `posts.comment_count`, kept by every write that adds a comment.
    pub comment_count: i32,
}

/// The same posts, whole rows trimmed to what a list entry shows: how the lab and the
/// benches give both `summarize` steps the very same posts.
impl From<post::Model> for PostRow {
    fn from(post: post::Model) -> Self {
        PostRow {
            id: post.id,
            title: post.title,
            slug: post.slug,
            excerpt: post.excerpt,
            published_at: post.published_at,
            author_id: post.author_id,
            comment_count: post.comment_count,
        }
    }
}

/// Three queries whatever the page size: the page with its comment counts, then the
/// authors and tags of its posts.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load_page(
    db: &impl ConnectionTrait,
    window: PageWindow,
) -> Result<PostListPage, DbErr> {
    let (rows, has_next) = window.split(page_rows(db, window).await?);
    Ok(PostListPage {
        posts: summarize(db, rows).await?,
        position: window.position,
        has_next,
    })
}

/// The page's posts as [`PostRow`]s: seven columns, no `body`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn page_rows(
    db: &impl ConnectionTrait,
    window: PageWindow,
) -> Result<Vec<PostRow>, DbErr> {
    keyset(
        project(published_newest_first(post::Entity::find())),
        window,
    )
    .limit(window.rows_to_fetch())
    .offset(window.offset())
    .into_model::<PostRow>()
    .all(db)
    .await
}

/// On a keyset page (`?after=CURSOR`), only the posts older than the cursor's:
/// `WHERE (published_at, id) < ($1, $2)`, which the index
/// `(status, published_at DESC, id DESC)` answers by seeking to the cursor and reading
/// the next rows — however deep the page, where `OFFSET` walks past every row before
/// it. Other pages are left as they are (`?page=N` links keep working).
pub fn keyset<Q: QueryFilter>(query: Q, window: PageWindow) -> Q {
    keyset_on(
        query,
        window,
        (post::Entity, post::Column::PublishedAt),
        (post::Entity, post::Column::Id),
    )
}

/// [`keyset`] on the columns of the index that orders the page: the tag page's are
/// `post_tags`' copies of the post's `published_at` and id.
pub fn keyset_on<Q: QueryFilter, C: IntoColumnRef>(
    query: Q,
    window: PageWindow,
    published_at: C,
    id: C,
) -> Q {
    let Some(cursor) = window.cursor() else {
        return query;
    };
    let position = Expr::tuple([Expr::col(published_at), Expr::col(id)]);
    query.filter(position.lt(Expr::tuple([
        Expr::val(cursor.published_at),
        Expr::val(cursor.id),
    ])))
}

/// The projection: only the columns of [`PostRow`].
pub fn project(query: Select<post::Entity>) -> Select<post::Entity> {
    query.select_only().columns([
        post::Column::Id,
        post::Column::Title,
        post::Column::Slug,
        post::Column::Excerpt,
        post::Column::PublishedAt,
        post::Column::AuthorId,
        post::Column::CommentCount,
    ])
}

/// Completes rows into summaries with two batched queries, however many rows there
/// are, each entry's comment count taken from its row. An empty page needs none.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn summarize(
    db: &impl ConnectionTrait,
    rows: Vec<PostRow>,
) -> Result<Vec<PostSummary>, DbErr> {
    let counts = rows
        .iter()
        .map(|row| (row.id, u64::try_from(row.comment_count).unwrap_or(0)))
        .collect();
    complete(db, rows, counts).await
}

/// [`summarize`] without the counter: the comment counts asked for in one more
/// batched query, `COUNT(*) … GROUP BY post_id` over the page's posts. The eager-loading
/// lesson's optimized side, where the naive side counts post by post; the
/// denormalized-counters lesson's naive side, where the counter is read instead.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn summarize_counting(
    db: &impl ConnectionTrait,
    rows: Vec<PostRow>,
) -> Result<Vec<PostSummary>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = rows.iter().map(|row| row.id).collect();
    let counts = comment_counts_of(db, &ids).await?;
    complete(db, rows, counts).await
}

/// The rows with their authors' names and tags, asked for in one query each.
async fn complete(
    db: &impl ConnectionTrait,
    rows: Vec<PostRow>,
    comment_counts: HashMap<i32, u64>,
) -> Result<Vec<PostSummary>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = rows.iter().map(|row| row.id).collect();
    let mut author_ids: Vec<i32> = rows.iter().map(|row| row.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors = authors_of(db, &author_ids).await?;
    let mut tags = tags_of(db, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let author_name = authors
                .get(&row.author_id)
                .cloned()
                .ok_or_else(|| DbErr::RecordNotFound(format!("author of post {}", row.id)))?;
            Ok(PostSummary {
                tags: tags.remove(&row.id).unwrap_or_default(),
                comment_count: comment_counts.get(&row.id).copied().unwrap_or(0),
                id: row.id,
                title: row.title,
                slug: row.slug,
                excerpt: row.excerpt,
                author_name,
                published_at: row.published_at,
            })
        })
        .collect()
}
