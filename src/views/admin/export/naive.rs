//! The export as it is usually first written once its N + 1 is fixed: load every post,
//! write every line — each 100 posts' authors and tags asked for in one query each, as
//! the streamed export asks — and send the file when it is complete.
//!
//! Cost: every post (bodies of 2–8 KB) and the whole file (tens of MB on the standard
//! dataset: `docs/measurement-log.md`) are in memory at once, per request — eight exports
//! at a time hold eight copies — and the client sees no byte until the last post is
//! written. 1 + 2 statements per 100 posts.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect};

use super::optimized::BATCH;
use super::write_lines;
use crate::base::entities::post;

/// The export of the first `limit` posts by id (every post when `None`), as one buffer.
pub async fn export(db: &impl ConnectionTrait, limit: Option<u64>) -> Result<Vec<u8>, DbErr> {
    let posts = post::Entity::find()
        .order_by_asc(post::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::new();
    let mut posts = posts.into_iter().peekable();
    while posts.peek().is_some() {
        let batch: Vec<post::Model> = posts.by_ref().take(BATCH as usize).collect();
        write_lines(db, batch, &mut out).await?;
    }
    Ok(out)
}
