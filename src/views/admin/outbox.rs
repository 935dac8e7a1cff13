//! Dead emails: the messages the outbox worker gave up on, listed on `GET /admin` and
//! put back in the queue from there — one (`POST /admin/outbox/{id}/requeue`) or all
//! (`POST /admin/outbox/requeue-dead`, one statement however many).
//!
//! Requeueing wakes this process's outbox worker, so a message goes out as soon as the
//! mail server takes it again; a `perfblog worker` elsewhere finds it at its next poll.

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::Redirect;
use axum::routing::post;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr};

use crate::base::entities::outbox_message::Status;
use crate::base::error::AppError;
use crate::services::mail::outbox::{self, DeadMessage, Requeue};
use crate::views::echo::{shorten, shorten_to};
use crate::views::site::Site;

/// The admin page lists at most this many dead emails, the newest first.
pub const DEAD_SHOWN: u64 = 50;
/// A last error longer than this is cut on the page (the row keeps all of it).
const ERROR_SHOWN_CHARS: usize = 200;

/// The requeue routes; `admin::routes` puts them behind the admin credentials and the
/// same-origin check.
pub fn routes() -> Router<Site> {
    Router::new()
        .route("/admin/outbox/{id}/requeue", post(requeue_one))
        .route("/admin/outbox/requeue-dead", post(requeue_all))
}

/// The dead emails the admin page shows, and how many there are in all.
#[derive(Clone, Debug, Default)]
pub struct DeadEmails {
    pub shown: Vec<DeadRow>,
    pub total: u64,
}

/// One dead email as the page shows it.
#[derive(Clone, Debug)]
pub struct DeadRow {
    pub id: i32,
    pub recipient: String,
    pub subject: String,
    pub attempts: i32,
    /// Shortened to [`ERROR_SHOWN_CHARS`]; escaped by the template like all text.
    pub last_error: String,
    /// When it was queued, `2026-11-25 14:03 UTC`.
    pub queued_at: String,
}

impl DeadEmails {
    /// The newest [`DEAD_SHOWN`], and the total — counted only when the list is full:
    /// a shorter list is the total.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        let dead = outbox::dead(db, DEAD_SHOWN).await?;
        let total = if (dead.len() as u64) < DEAD_SHOWN {
            dead.len() as u64
        } else {
            outbox::dead_count(db).await?
        };
        Ok(Self {
            shown: dead.into_iter().map(DeadRow::from).collect(),
            total,
        })
    }

    /// Whether some dead emails are not in the list.
    pub fn more_than_shown(&self) -> bool {
        self.total > self.shown.len() as u64
    }
}

impl From<DeadMessage> for DeadRow {
    fn from(message: DeadMessage) -> Self {
        Self {
            id: message.id,
            recipient: message.recipient,
            subject: message.subject,
            attempts: message.attempts,
            last_error: message
                .last_error
                .map_or_else(String::new, |error| shorten_to(&error, ERROR_SHOWN_CHARS)),
            queued_at: message.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

/// `{id}` in a requeue path: an outbox row's id, or a 400 that says what one is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageId(pub i32);

impl MessageId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.parse::<i32>().map(MessageId).map_err(|_| {
            format!(
                "`{}` is not an outbox message id: ids are whole numbers, as the admin page lists them.",
                shorten(raw)
            )
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MessageId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::BadRequest("The message id could not be read.".to_owned()))?;
        MessageId::parse(&raw).map_err(AppError::BadRequest)
    }
}

/// `POST /admin/outbox/{id}/requeue`: a 303 back to `/admin`, a 404 for an unknown
/// id, a 409 for a message that is not dead (it changes nothing).
async fn requeue_one(
    State(site): State<Site>,
    MessageId(id): MessageId,
) -> Result<Redirect, AppError> {
    match outbox::requeue(&site.db, id, Utc::now()).await? {
        Requeue::Requeued => {
            site.outbox_wake.notify_one();
            Ok(Redirect::to("/admin#dead-emails"))
        }
        Requeue::NotDead(status) => Err(AppError::Conflict(format!(
            "Message {id} is not dead: {}. Only dead messages can be requeued.",
            match status {
                Status::Pending => "it is queued for delivery already",
                Status::Sent => "it was sent",
                Status::Dead => "it changed while it was being requeued; reload the admin page",
            }
        ))),
        Requeue::Unknown => Err(AppError::NotFound(format!(
            "There is no message {id} in the outbox."
        ))),
    }
}

/// `POST /admin/outbox/requeue-dead`: every dead message, in one statement; a 303 back
/// to `/admin` (also when there were none).
async fn requeue_all(State(site): State<Site>) -> Result<Redirect, AppError> {
    if outbox::requeue_all_dead(&site.db, Utc::now()).await? > 0 {
        site.outbox_wake.notify_one();
    }
    Ok(Redirect::to("/admin#dead-emails"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_id_is_a_whole_number() {
        assert_eq!(MessageId::parse("42"), Ok(MessageId(42)));
        for bad in ["", "abc", "4.2", "99999999999", " 1"] {
            let message = MessageId::parse(bad).unwrap_err();
            assert!(message.contains("not an outbox message id"), "{message}");
        }
    }

    #[test]
    fn a_long_last_error_is_shortened_for_the_list() {
        let row = DeadRow::from(DeadMessage {
            id: 1,
            recipient: "a@example.com".to_owned(),
            subject: "s".to_owned(),
            attempts: 3,
            last_error: Some("x".repeat(5_000)),
            created_at: chrono::DateTime::from_timestamp(0, 0).unwrap_or_default(),
        });
        assert_eq!(row.last_error.chars().count(), ERROR_SHOWN_CHARS + 1);
        assert!(row.last_error.ends_with('…'));
        assert_eq!(row.queued_at, "1970-01-01 00:00 UTC");
    }
}
