//! The tag page in four queries, whatever the page size: the tag, the page of its
//! posts (projected, authors joined, through `post_tags`), then the post list's two
//! batched queries for tags and comment counts.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QuerySelect,
    RelationTrait,
};

use super::TagPage;
use crate::entities::{post, post_tag, tag};
use crate::views::pagination::PageWindow;
use crate::views::post_list::optimized::{SummaryRow, summarize, summary_rows};
use crate::views::post_list::{PostListPage, TagLink};
use crate::views::slug::Slug;

/// `None` when no tag has this slug.
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
    let rows = summary_rows(post::Entity::find())
        .join(JoinType::InnerJoin, post_tag::Relation::Post.def().rev())
        .filter(post_tag::Column::TagId.eq(tag_id))
        .limit(window.rows_to_fetch())
        .offset(window.offset())
        .into_model::<SummaryRow>()
        .all(db)
        .await?;
    let (rows, has_next) = window.split(rows);
    Ok(Some(TagPage {
        tag: TagLink { name, slug },
        page: PostListPage {
            posts: summarize(db, rows).await?,
            page: window.number,
            has_next,
        },
    }))
}
