//! The sidebar as it is usually first written: load the tags, the published posts,
//! the post–tag links and the comments, and count in Rust.
//!
//! Cost: four queries, but they move the whole dataset — every published post with
//! its 2–8 KB body, every comment — across the connection on every page view, to
//! produce fifty numbers and five titles.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{POPULAR_POSTS, PopularPost, Sidebar, TagCount};
use crate::base::entities::{comment, post, post_tag, tag};

#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(db: &impl ConnectionTrait) -> Result<Sidebar, DbErr> {
    let tags = tag::Entity::find()
        .order_by_asc(tag::Column::Name)
        .all(db)
        .await?;
    let published: HashMap<i32, post::Model> = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .all(db)
        .await?
        .into_iter()
        .map(|post| (post.id, post))
        .collect();

    let mut posts_per_tag: HashMap<i32, u64> = HashMap::new();
    for link in post_tag::Entity::find().all(db).await? {
        if published.contains_key(&link.post_id) {
            *posts_per_tag.entry(link.tag_id).or_default() += 1;
        }
    }
    let tags = tags
        .into_iter()
        .filter_map(|tag| {
            let posts = posts_per_tag.get(&tag.id).copied()?;
            Some(TagCount {
                name: tag.name,
                slug: tag.slug,
                posts,
            })
        })
        .collect();

    let mut comments_per_post: HashMap<i32, u64> = HashMap::new();
    let published_ids: HashSet<i32> = published.keys().copied().collect();
    for comment in comment::Entity::find().all(db).await? {
        if published_ids.contains(&comment.post_id) {
            *comments_per_post.entry(comment.post_id).or_default() += 1;
        }
    }
    let mut ranked: Vec<(i32, u64)> = comments_per_post.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let popular = ranked
        .into_iter()
        .take(POPULAR_POSTS as usize)
        .filter_map(|(id, comments)| {
            let post = published.get(&id)?;
            Some(PopularPost {
                title: post.title.clone(),
                slug: post.slug.clone(),
                comments,
            })
        })
        .collect();
    Ok(Sidebar { tags, popular })
}
