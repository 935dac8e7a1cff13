//! The comment, then the email, inside the request — as it is usually first written.
//!
//! Cost: the request waits for the whole SMTP conversation (connect, greet, send,
//! wait for the server's acceptance), so a slow mail server makes every comment slow,
//! and a failing one makes the request fail (502) after the comment was stored — and
//! that email is never sent.

use chrono::{DateTime, Utc};
use sea_orm::{TransactionSession, TransactionTrait};

use super::{CommentTarget, NewComment, insert_comment};
use crate::base::error::AppError;
use crate::services::db;
use crate::services::mail::{self, Mailer};

#[tracing::instrument(level = "debug", skip_all)]
pub async fn add(
    db: &impl TransactionTrait,
    mailer: &Mailer,
    target: &CommentTarget,
    comment: &NewComment,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = db::begin_write(db).await?;
    insert_comment(&txn, target, comment, now).await?;
    txn.commit().await?;
    let notification = target.notification(comment, public_url);
    let email = notification
        .recipient()
        .and_then(|to| mail::message(&to, &notification.subject(), &notification.text(), None))
        .map_err(|error| AppError::MailUnavailable(anyhow::anyhow!(error)))?;
    mailer
        .send(email)
        .await
        .map_err(|error| AppError::MailUnavailable(anyhow::anyhow!(error)))
}
