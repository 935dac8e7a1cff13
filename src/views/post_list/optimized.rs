//! The post list in a constant number of queries, loading only the columns it shows.
//!
//! What changed from `naive.rs`, one idea per step:
//!
//! - `page_rows` selects the six columns a list entry needs instead of whole rows
//!   (column projection: no 2–8 KB `body`);
//! - `summarize` asks for the authors, the tags and the comment counts of all the
//!   page's posts with one `IN (…)` query each (eager loading: 3 statements for any
//!   page size, not 3 per post). The batch loaders live in `views::batch`, shared with
//!   the post page.
//!
//! And one more idea for deep pages: `keyset` starts a page just after a cursor
//! instead of skipping rows with `OFFSET` (keyset pagination, `?after=`).

use sea_orm::sea_query::{Expr, ExprTrait};
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
        }
    }
}

/// Four queries whatever the page size: the page, then the authors, tags and comment
/// counts of its posts.
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

/// The page's posts as [`PostRow`]s: six columns, no `body`.
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
    let Some(cursor) = window.cursor() else {
        return query;
    };
    let position = Expr::tuple([
        Expr::col((post::Entity, post::Column::PublishedAt)),
        Expr::col((post::Entity, post::Column::Id)),
    ]);
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
    ])
}

/// Completes rows into summaries with three batched queries, however many rows there
/// are. An empty page needs none.
pub async fn summarize(
    db: &impl ConnectionTrait,
    rows: Vec<PostRow>,
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
    let comment_counts = comment_counts_of(db, &ids).await?;
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
