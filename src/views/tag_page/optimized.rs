//! The tag page in four queries, whatever the page size: the tag, the page of its
//! posts (projected, through `post_tags`, with their comment counters), then the post
//! list's two batched queries for authors and tags.
//!
//! What changed from `naive.rs`: the post list's ideas — only the columns shown,
//! related rows for the whole page at once, the comment count read from its counter,
//! and a cursor for older pages — and one of its own: the page's posts are chosen and
//! ordered by `post_tags`' copy of each post's status and date, which one index,
//! `(tag_id, status, published_at DESC, post_id DESC)`, hands over in order. Chosen
//! by `posts`' columns, as the naive page does, no index holds both the tag and the
//! order: the database sorts all of the tag's published posts to show 21, or walks
//! the newest posts until 21 have the tag.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Select,
};

use super::TagPage;
use crate::base::entities::{post, post_tag, tag};
use crate::base::slug::Slug;
use crate::views::pagination::PageWindow;
use crate::views::post_list::PostListPage;
use crate::views::post_list::optimized::{PostRow, keyset_on, project, summarize};
use crate::views::site::TagLink;

/// `None` when no tag has this slug.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load_page(
    db: &impl ConnectionTrait,
    slug: &Slug,
    window: PageWindow,
) -> Result<Option<TagPage>, DbErr> {
    let Some((tag_id, name, slug)) = tag::Entity::find()
        .select_only()
        .columns([tag::Column::Id, tag::Column::Name, tag::Column::Slug])
        .filter(tag::Column::Slug.eq(slug.as_str()))
        .into_tuple::<(i32, String, String)>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let rows = tag_newest_first(project(post::Entity::find()), tag_id, window)
        .limit(window.rows_to_fetch())
        .offset(window.offset())
        .into_model::<PostRow>()
        .all(db)
        .await?;
    let (rows, has_next) = window.split(rows);
    Ok(Some(TagPage {
        tag: TagLink { name, slug },
        page: PostListPage {
            posts: summarize(db, rows).await?,
            position: window.position,
            has_next,
        },
    }))
}

/// `… JOIN post_tags ON post_tags.post_id = posts.id WHERE post_tags.tag_id = $1 AND
/// post_tags.status = 'published' [AND (post_tags.published_at, post_tags.post_id) <
/// cursor] ORDER BY post_tags.published_at DESC, post_tags.post_id DESC`: every
/// condition and the order on the index's columns, so the database reads the page's
/// links from it in order and stops after the page.
fn tag_newest_first(
    posts: Select<post::Entity>,
    tag_id: i32,
    window: PageWindow,
) -> Select<post::Entity> {
    let links = posts
        .join(JoinType::InnerJoin, post_tag::Relation::Post.def().rev())
        .filter(post_tag::Column::TagId.eq(tag_id))
        .filter(post_tag::Column::Status.eq(post::Status::Published))
        .order_by_desc(post_tag::Column::PublishedAt)
        .order_by_desc(post_tag::Column::PostId);
    keyset_on(
        links,
        window,
        (post_tag::Entity, post_tag::Column::PublishedAt),
        (post_tag::Entity, post_tag::Column::PostId),
    )
}
