//! The export as it is usually first written: load every post, then ask for each
//! post's author and tags, and build the whole file before sending any of it.
//!
//! Cost: 1 + 2N statements for N posts (20,001 for the standard dataset's 10,000),
//! each a round trip; every post (bodies of 2–8 KB) and the whole file (tens of MB on
//! the standard dataset: `docs/measurement-log.md`) are in memory at once, per request — eight exports at a time hold eight copies — and the
//! client sees no byte until the last post is written.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, ModelTrait, QueryOrder, QuerySelect};

use super::write_line;
use crate::base::entities::{post, tag, user};

/// The export of the first `limit` posts by id (every post when `None`), as one buffer.
pub async fn export(db: &impl ConnectionTrait, limit: Option<u64>) -> Result<Vec<u8>, DbErr> {
    let posts = post::Entity::find()
        .order_by_asc(post::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for post in posts {
        let author = post
            .find_related(user::Entity)
            .one(db)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("author of post {}", post.id)))?;
        let tags = post
            .find_related(tag::Entity)
            .order_by_asc(tag::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(|tag| tag.slug)
            .collect();
        write_line(&mut out, post, author.email, tags)?;
    }
    Ok(out)
}
