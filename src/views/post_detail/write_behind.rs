//! The view counter's third rung: the view goes to a tally ([`ViewTally`]: in process,
//! or Redis when `REDIS_URL` is set) and is written to `posts.view_count` with the
//! other views of the last second, in one statement.
//!
//! What changed from `optimized.rs`: a view is no longer a write. The atomic
//! `UPDATE … RETURNING` is exact, but it takes the row's lock and commits — a WAL
//! flush on PostgreSQL — for every view; here the page reads the stored count (or
//! already has it) and adds the pending tally. The price is durability: a crash
//! loses the views tallied in process since the last flush (at most one interval).
//!
//! A cached page goes one step further and reads nothing: it was rendered knowing the
//! count and the tally's running total for the post, and the views since are the
//! total's growth ([`count_cached_view`]).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use crate::base::entities::post;
use crate::services::cache::ViewTally;
use crate::services::cache::page::Subject;
use crate::services::cache::write_behind::Tallied;

/// Counts a view of `post_id` and returns the count to show: the stored count (one
/// read by primary key, no lock, no commit) plus the views not yet stored (0 if the
/// post is gone).
pub async fn count_view(
    db: &impl ConnectionTrait,
    tally: &ViewTally,
    post_id: i32,
) -> Result<i32, DbErr> {
    let tallied = tally.add(post_id).await;
    stored_plus_pending(db, post_id, tallied).await
}

async fn stored_plus_pending(
    db: &impl ConnectionTrait,
    post_id: i32,
    tallied: Tallied,
) -> Result<i32, DbErr> {
    Ok(shown(stored_views(db, post_id).await?, tallied.pending))
}

/// The views stored in `post_id`'s row (0 if the post is gone).
pub async fn stored_views(db: &impl ConnectionTrait, post_id: i32) -> Result<i32, DbErr> {
    let stored: Option<i32> = post::Entity::find_by_id(post_id)
        .select_only()
        .column(post::Column::ViewCount)
        .into_tuple()
        .one(db)
        .await?;
    Ok(stored.unwrap_or(0))
}

/// Counts a view of a post just loaded, whose stored count is known: no statement.
pub async fn count_loaded_view(tally: &ViewTally, post_id: i32, stored: i32) -> i32 {
    shown(stored, tally.add(post_id).await.pending)
}

/// The count to show for `post_id` without counting a view (a HEAD): `stored` plus the
/// views not yet stored.
pub async fn loaded_views(tally: &ViewTally, post_id: i32, stored: i32) -> i32 {
    shown(stored, tally.peek(post_id).await.pending)
}

/// What a page rendered now records of its post's views, to count later ones from:
/// `stored` was read when the tally's [`ViewTally::flush_epoch`] was `epoch`. If a
/// flush ran meanwhile, moving views from the tally into the column, the page records
/// no running total, and each of its hits reads the stored count instead.
pub async fn subject_at_render(
    tally: &ViewTally,
    post_id: i32,
    stored: i32,
    epoch: u64,
) -> Subject {
    let tallied = tally.peek(post_id).await;
    let undisturbed = epoch.is_multiple_of(2) && tally.flush_epoch() == epoch;
    Subject {
        post_id,
        views_at_render: shown(stored, tallied.pending),
        counted_at_render: tallied.total.filter(|_| undisturbed),
    }
}

/// Counts a view of a cached page's post and returns the count to show — with no
/// statement: the count at render plus the views the tally has counted since.
///
/// What changed from [`count_view`]: the stored count is not read per view. Only when
/// the tally cannot give its running total (Redis down) or that total went back (Redis
/// lost its data) is the stored count read as before. Views counted outside the tally
/// — the naive twin's counter writes the column itself — show once the page is
/// rendered again.
pub async fn count_cached_view(
    db: &impl ConnectionTrait,
    tally: &ViewTally,
    subject: Subject,
) -> Result<i32, DbErr> {
    let tallied = tally.add(subject.post_id).await;
    match (subject.counted_at_render, tallied.total) {
        (Some(then), Some(now)) if now >= then => Ok(shown(subject.views_at_render, now - then)),
        _ => stored_plus_pending(db, subject.post_id, tallied).await,
    }
}

/// Counts a view of a stale cached page — served because the database is down — with
/// no statement: its count at render plus the tally's views since, or the count at
/// render where the tally cannot tell.
pub async fn count_stale_view(tally: &ViewTally, subject: Subject) -> i32 {
    since_render(subject, tally.add(subject.post_id).await)
}

/// The count a cached page shows when it counts no view (a HEAD, a crawler's visit):
/// its count at render plus the tally's views since, as a reader would see it less
/// their own — no statement, and the count at render where the tally cannot tell.
pub async fn cached_views(tally: &ViewTally, subject: Subject) -> i32 {
    since_render(subject, tally.peek(subject.post_id).await)
}

fn since_render(subject: Subject, tallied: Tallied) -> i32 {
    match (subject.counted_at_render, tallied.total) {
        (Some(then), Some(now)) if now >= then => shown(subject.views_at_render, now - then),
        _ => subject.views_at_render,
    }
}

fn shown(stored: i32, pending: i64) -> i32 {
    i32::try_from(i64::from(stored).saturating_add(pending)).unwrap_or(i32::MAX)
}
