//! The import as it is usually first written: one `INSERT` per post, then one per tag
//! of that post.
//!
//! Cost: N + T statements for N posts with T tags in all (and one more per tag of a
//! published post, for its tag's counter), each a round trip — and
//! every `INSERT` returns the whole row it wrote (`RETURNING *`), body included, so
//! the id is known for the tags.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};

use super::NewPost;
use crate::base::entities::{post, post_tag};
use crate::services::db::counters;

/// Writes `posts` inside the caller's transaction (`import::insert` makes one; an
/// NDJSON import writes every batch in its one).
pub async fn insert(
    txn: &impl ConnectionTrait,
    posts: &[NewPost],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for new_post in posts {
        let post = new_post.active_model(now).insert(txn).await?;
        for &tag_id in &new_post.tag_ids {
            post_tag::ActiveModel {
                post_id: Set(post.id),
                tag_id: Set(tag_id),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            if new_post.status == post::Status::Published {
                counters::add_to_tags(txn, &[(tag_id, 1)]).await?;
            }
        }
    }
    Ok(())
}
