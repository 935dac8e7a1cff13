//! The comment and its email in one transaction; the email itself is sent later by
//! the outbox worker (`mail::worker`).
//!
//! What changed from `naive.rs`: the request writes one more row (to `email_outbox`)
//! and never talks to the mail server. Both rows commit together or not at all — a
//! comment is never stored without its email queued, nor an email queued for a
//! comment that was rolled back. A slow or absent SMTP server delays the email, not
//! the page; the worker retries until it is back.

use chrono::{DateTime, Utc};
use sea_orm::{DbErr, TransactionSession, TransactionTrait};

use super::{CommentTarget, NewComment, insert_comment};
use crate::services::db;
use crate::services::mail::outbox;

/// `db` may be a pool or a transaction: in a transaction (the lab's, which is rolled
/// back) this one is a savepoint, and its commit releases the savepoint.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn add(
    db: &impl TransactionTrait,
    target: &CommentTarget,
    comment: &NewComment,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = db::begin_write(db).await?;
    insert_comment(&txn, target, comment, now).await?;
    outbox::enqueue(&txn, &target.notification(comment, public_url), now).await?;
    txn.commit().await
}
