//! The tag page in four queries, whatever the page size: the tag, the page of its
//! posts (projected, through `post_tags`, with their comment counters), then the post
//! list's two batched queries for authors and tags.
//!
//! What changed from `naive.rs`: the post list's ideas — only the columns shown,
//! related rows for the whole page at once, and the comment count read from its
//! counter.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QuerySelect,
    RelationTrait,
};

use super::TagPage;
use crate::base::entities::{post, post_tag, tag};
use crate::base::slug::Slug;
use crate::views::pagination::PageWindow;
use crate::views::post_list::PostListPage;
use crate::views::post_list::optimized::{PostRow, keyset, project, summarize};
use crate::views::post_list::published_newest_first;
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
    let rows = keyset(
        project(published_newest_first(post::Entity::find())),
        window,
    )
    .join(JoinType::InnerJoin, post_tag::Relation::Post.def().rev())
    .filter(post_tag::Column::TagId.eq(tag_id))
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
