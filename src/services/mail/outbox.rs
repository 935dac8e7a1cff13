//! The outbox table's operations: enqueue (inside the caller's transaction), claim a
//! batch, settle each message as sent, retried later, or dead — and, for the admin
//! page, list the dead and put them back in the queue.
//!
//! No job-queue crate is used: the maintained ones (apalis, underway, graphile_worker)
//! keep their own connection pools — most of them PostgreSQL-only and on sqlx 0.8 — so
//! none can enqueue inside the SeaORM transaction that writes the comment, which is
//! the whole point. The table and these five statements are the queue.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::CommentNotification;
use crate::base::config::RetryPolicy;
use crate::base::entities::outbox_message::{self, Column, Entity, Status};

/// The wait before attempt `attempts + 1`: `base × 2^(attempts − 1)`, capped, then a
/// random 50–100 % of that, so messages that failed together (an SMTP outage) do not
/// all retry in the same instant.
pub fn retry_delay(policy: &RetryPolicy, attempts: i32) -> Duration {
    let doublings = std::cmp::min(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0), 30);
    let delay = std::cmp::min(
        policy
            .base_delay
            .saturating_mul(2u32.saturating_pow(doublings)),
        policy.max_delay,
    );
    delay.mul_f64(rand::rng().random_range(0.5..=1.0))
}

/// The `Message-ID` of an outbox row: derived from the row, so if a message is ever
/// delivered twice (see `worker`), both copies carry the same id.
pub fn message_id(message: &outbox_message::Model) -> String {
    format!(
        "<outbox-{}-{}@perfblog.localhost>",
        message.id,
        message.created_at.timestamp()
    )
}

/// Queues the notification. Call it with the transaction that writes the comment:
/// both rows commit together or neither does.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    notification: &CommentNotification,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let recipient = notification.recipient().map_err(DbErr::Custom)?;
    Entity::insert(outbox_message::ActiveModel {
        recipient: Set(recipient),
        subject: Set(notification.subject()),
        body: Set(notification.text()),
        status: Set(Status::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        locked_by: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Claims up to `batch` due messages for `worker` until `now + lease`, in one
/// statement:
///
/// ```sql
/// UPDATE email_outbox SET locked_until = $lease_end, locked_by = $worker,
///        attempts = attempts + 1
///  WHERE id IN (SELECT id FROM email_outbox
///                WHERE status = 'pending' AND next_attempt_at <= $now
///                  AND (locked_until IS NULL OR locked_until < $now)
///                ORDER BY next_attempt_at, id LIMIT $batch
///                FOR UPDATE SKIP LOCKED)
/// RETURNING *
/// ```
///
/// On PostgreSQL, `SKIP LOCKED` lets concurrent workers claim disjoint batches without
/// waiting for each other. SQLite has no row locks (the clause is left out): there the
/// guarantee comes from SQLite allowing one writer at a time — the whole statement
/// runs under the write lock, so a second worker's claim sees the first one's
/// `locked_until` and skips those rows. Either way a row is held by one worker at a
/// time; a claim whose worker died expires with its lease.
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    batch: u64,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<outbox_message::Model>, DbErr> {
    let lease_end = now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX);
    let due = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::Status).eq(Status::Pending))
        .and_where(Expr::col(Column::NextAttemptAt).lte(now))
        .and_where(
            Expr::col(Column::LockedUntil)
                .is_null()
                .or(Expr::col(Column::LockedUntil).lt(now)),
        )
        .order_by(Column::NextAttemptAt, Order::Asc)
        .order_by(Column::Id, Order::Asc)
        .limit(batch)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let claim = Query::update()
        .table(Entity)
        .value(Column::LockedUntil, lease_end)
        .value(Column::LockedBy, worker)
        .value(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .and_where(Expr::col(Column::Id).in_subquery(due))
        .returning_all()
        .to_owned();
    let rows = db.query_all(&claim).await?;
    let mut claimed = rows
        .iter()
        .map(|row| outbox_message::Model::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|message| (message.next_attempt_at, message.id));
    Ok(claimed)
}

/// The message went out.
pub async fn mark_sent(
    db: &impl ConnectionTrait,
    id: i32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(Status::Sent))
        .col_expr(Column::SentAt, Expr::value(now))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The attempt failed: retry after the policy's delay, or give up after its last
/// attempt. Only the claiming worker may do this (its lease may have expired and the
/// row moved on to another worker).
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    message: &outbox_message::Model,
    worker: &str,
    error: &str,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let status = if message.attempts >= policy.max_attempts {
        Status::Dead
    } else {
        Status::Pending
    };
    let retry_at =
        now + TimeDelta::from_std(retry_delay(policy, message.attempts)).unwrap_or(TimeDelta::MAX);
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::NextAttemptAt, Expr::value(retry_at))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            Column::LastError,
            Expr::value(error.chars().take(2000).collect::<String>()),
        )
        .filter(Column::Id.eq(message.id))
        .filter(Column::LockedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// Messages still to be delivered: pending ones, due now or waiting out a retry's
/// delay. Dead messages are not in it ([`dead_count`]): nothing will send them until
/// an admin requeues them, so counting them as "waiting" would hide that.
pub async fn depth(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(Status::Pending))
        .count(db)
        .await
}

/// A message that used up its attempts, as the admin page lists it (no body: a list
/// does not need it).
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct DeadMessage {
    pub id: i32,
    pub recipient: String,
    pub subject: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Up to `limit` dead messages, the most recently queued first.
pub async fn dead(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<DeadMessage>, DbErr> {
    Entity::find()
        .select_only()
        .columns([
            Column::Id,
            Column::Recipient,
            Column::Subject,
            Column::Attempts,
            Column::LastError,
            Column::CreatedAt,
        ])
        .filter(Column::Status.eq(Status::Dead))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .into_model::<DeadMessage>()
        .all(db)
        .await
}

/// How many messages are dead.
pub async fn dead_count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(Status::Dead))
        .count(db)
        .await
}

/// What [`requeue`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// It was dead; it is pending again.
    Requeued,
    /// It exists but is not dead (pending or sent): nothing was changed.
    NotDead(Status),
    /// No message has this id.
    Unknown,
}

/// Puts dead message `id` back in the queue, due `now`, with a full set of attempts
/// (see [`requeue_all_dead`] for what is reset and what is kept). One `UPDATE … WHERE
/// id = $id AND status = 'dead'`; only when it changes nothing does a second query ask
/// why, so a message that is being sent or was sent meanwhile is never touched.
pub async fn requeue(
    db: &impl ConnectionTrait,
    id: i32,
    now: DateTime<Utc>,
) -> Result<Requeue, DbErr> {
    let changed = requeue_dead(now)
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?
        .rows_affected;
    if changed > 0 {
        return Ok(Requeue::Requeued);
    }
    let status = Entity::find_by_id(id)
        .select_only()
        .column(Column::Status)
        .into_tuple::<Status>()
        .one(db)
        .await?;
    Ok(status.map_or(Requeue::Unknown, Requeue::NotDead))
}

/// Puts every dead message back in the queue, in one statement however many there
/// are. Returns how many.
///
/// `attempts` goes back to 0, so the worker's retry policy applies afresh: a message
/// requeued with its old count would be dead again after one more failure. `last_error`
/// is kept: until the next attempt settles it (`mark_sent` clears it, `mark_failed`
/// replaces it), it is the only record of why the message died, and it tells a
/// requeued message (attempts 0, an error) from a fresh one.
pub async fn requeue_all_dead(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(requeue_dead(now).exec(db).await?.rows_affected)
}

/// `UPDATE email_outbox SET status = 'pending', attempts = 0, next_attempt_at = $now,
///  locked_until = NULL WHERE status = 'dead'`.
fn requeue_dead(now: DateTime<Utc>) -> sea_orm::UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(Status::Pending))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Status.eq(Status::Dead))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
        };
        for (attempts, full) in [(1, 2), (2, 4), (3, 8), (6, 60), (40, 60)] {
            let delay = retry_delay(&policy, attempts);
            let full = Duration::from_secs(full);
            assert!(delay <= full && delay >= full / 2, "{attempts}: {delay:?}");
        }
    }
}
