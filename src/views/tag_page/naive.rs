//! The tag page as it is usually first written: find the tag, load its posts (whole
//! rows), then the post list's per-post loop.
//!
//! Cost: 2 + 3N statements for N posts (62 for a full page), bodies included.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, QueryFilter, QuerySelect,
};

use super::TagPage;
use crate::base::entities::{post, tag};
use crate::base::slug::Slug;
use crate::views::pagination::PageWindow;
use crate::views::post_list::{self, PostListPage, published_newest_first};
use crate::views::site::TagLink;

/// `None` when no tag has this slug.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load_page(
    db: &impl ConnectionTrait,
    slug: &Slug,
    window: PageWindow,
) -> Result<Option<TagPage>, DbErr> {
    let Some(tag) = tag::Entity::find()
        .filter(tag::Column::Slug.eq(slug.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let posts = published_newest_first(tag.find_related(post::Entity))
        .limit(window.rows_to_fetch())
        .offset(window.offset())
        .all(db)
        .await?;
    let (posts, has_next) = window.split(posts);
    Ok(Some(TagPage {
        page: PostListPage {
            posts: post_list::naive::summarize(db, posts).await?,
            position: window.position,
            has_next,
        },
        tag: TagLink::from(tag),
    }))
}
