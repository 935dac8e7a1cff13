//! The view counter's third rung: the view goes to a tally ([`ViewTally`]: in process,
//! or Redis when `REDIS_URL` is set) and is written to `posts.view_count` with the
//! other views of the last second, in one statement.
//!
//! What changed from `optimized.rs`: a view is no longer a write. The atomic
//! `UPDATE … RETURNING` is exact, but it takes the row's lock and commits — a WAL
//! flush on PostgreSQL — for every view; here the page reads the stored count (or
//! already has it) and adds the pending tally. The price is durability: a crash
//! loses the views tallied in process since the last flush (at most one interval).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use crate::base::entities::post;
use crate::services::cache::ViewTally;

/// Counts a view of `post_id` and returns the count to show: the stored count (one
/// read by primary key, no lock, no commit) plus the views not yet stored (0 if the
/// post is gone).
pub async fn count_view(
    db: &impl ConnectionTrait,
    tally: &ViewTally,
    post_id: i32,
) -> Result<i32, DbErr> {
    let stored: Option<i32> = post::Entity::find_by_id(post_id)
        .select_only()
        .column(post::Column::ViewCount)
        .into_tuple()
        .one(db)
        .await?;
    let Some(stored) = stored else {
        return Ok(0);
    };
    Ok(shown(stored, tally.add(post_id).await))
}

/// Counts a view of a post just loaded, whose stored count is known: no statement.
pub async fn count_loaded_view(tally: &ViewTally, post_id: i32, stored: i32) -> i32 {
    shown(stored, tally.add(post_id).await)
}

fn shown(stored: i32, pending: i64) -> i32 {
    i32::try_from(i64::from(stored).saturating_add(pending)).unwrap_or(i32::MAX)
}
