//! The import with multi-row `INSERT`s: per 1,000 posts, one `INSERT` for the posts,
//! one `SELECT` for their new ids, and one `INSERT` per 1,000 of their tags; then one
//! `UPDATE` for every tag's published-post counter.
//!
//! What changed from `naive.rs`: rows travel in batches, not one per round trip, and
//! nothing is sent back but the ids. The ids are looked up by slug (unique) rather than
//! taken from `RETURNING`, because neither database promises that a multi-row
//! `INSERT … RETURNING` lists rows in the order they were given.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use super::NewPost;
use crate::base::entities::{post, post_tag};
use crate::services::db::bulk_insert::{INSERT_BATCH_ROWS, insert_batched};
use crate::services::db::counters;

/// Writes `posts` inside the caller's transaction (`import::insert` makes one; an
/// NDJSON import writes every batch in its one).
pub async fn insert(
    txn: &impl ConnectionTrait,
    posts: &[NewPost],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for batch in posts.chunks(INSERT_BATCH_ROWS) {
        post::Entity::insert_many(batch.iter().map(|new_post| new_post.active_model(now)))
            .exec_without_returning(txn)
            .await?;
        let ids: HashMap<String, i32> = post::Entity::find()
            .select_only()
            .columns([post::Column::Slug, post::Column::Id])
            .filter(post::Column::Slug.is_in(batch.iter().map(|p| p.slug.as_str())))
            .into_tuple::<(String, i32)>()
            .all(txn)
            .await?
            .into_iter()
            .collect();
        let tags: Vec<post_tag::ActiveModel> = batch
            .iter()
            .filter_map(|new_post| ids.get(&new_post.slug).map(|&id| (id, new_post)))
            .flat_map(|(post_id, new_post)| {
                new_post
                    .tag_ids
                    .iter()
                    .map(move |&tag_id| post_tag::ActiveModel {
                        post_id: Set(post_id),
                        tag_id: Set(tag_id),
                        ..Default::default()
                    })
            })
            .collect();
        insert_batched(txn, tags).await?;
    }
    counters::add_to_tags(txn, &published_per_tag(posts)).await
}

/// How many published posts of the import each tag gets: what its counter goes up by.
fn published_per_tag(posts: &[NewPost]) -> Vec<(i32, u64)> {
    let mut per_tag: HashMap<i32, u64> = HashMap::new();
    for new_post in posts.iter().filter(|p| p.status == post::Status::Published) {
        for &tag_id in &new_post.tag_ids {
            *per_tag.entry(tag_id).or_default() += 1;
        }
    }
    per_tag.into_iter().collect()
}
