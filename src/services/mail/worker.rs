//! The outbox worker: claims due messages, sends them, settles each one.
//!
//! It runs inside `perfblog serve` (woken the moment a comment commits) or on its own
//! as `perfblog worker`, as many as you like against one database.
//!
//! Delivery is at least once. The one window for a duplicate: the SMTP server accepted
//! a message and the worker died before recording it as sent. The claim then expires,
//! another worker sends the message again, and both copies carry the same
//! `Message-ID` (derived from the outbox row), so mail clients and tests can tell.

use std::sync::Arc;

use chrono::Utc;
use prometheus_client::metrics::counter::Counter;
use sea_orm::DbErr;
use tokio::sync::{Notify, watch};

use super::outbox;
use super::{Mailer, message};
use crate::base::config::WorkerSettings;
use crate::base::entities::outbox_message;
use crate::services::db::commented::Db;
use crate::services::history::{TaskRecorder, record_batch};

pub struct Worker {
    db: Db,
    mailer: Mailer,
    settings: WorkerSettings,
    id: String,
    wake: Arc<Notify>,
    failures: Option<Counter>,
    /// Where each batch that sent something is recorded (the request history).
    batches: Option<TaskRecorder>,
}

impl Worker {
    pub fn new(
        db: impl Into<Db>,
        mailer: Mailer,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        let id = format!(
            "worker-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Self {
            db: db.into(),
            mailer,
            settings,
            id,
            wake,
            failures: None,
            batches: None,
        }
    }

    /// Records each batch that claimed a message in the request history, checked for
    /// N+1 and slow statements like a request.
    pub fn record_batches_in(self, batches: Option<TaskRecorder>) -> Self {
        Self { batches, ..self }
    }

    /// Adds each failed delivery to `counter` (`/metrics`).
    pub fn count_failures_in(self, counter: Counter) -> Self {
        Self {
            failures: Some(counter),
            ..self
        }
    }

    /// Delivers until `stop` turns true; a batch in progress is finished first, so
    /// nothing is left claimed by a worker that stopped on purpose.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "outbox worker started");
        // When the current database outage began; `None` while the database answers.
        let mut outage: Option<std::time::Instant> = None;
        while !*stop.borrow() {
            let delivered = record_batch(
                self.batches.as_ref(),
                "outbox worker batch",
                self.deliver_due(),
                |delivered| match delivered {
                    Ok(0) => None,
                    Ok(_) => Some(false),
                    Err(_) => Some(true),
                },
            )
            .await;
            outage = self.note_outage(outage, delivered.as_ref().err());
            let idle = !matches!(delivered, Ok(claimed) if claimed > 0);
            if idle {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!(worker = %self.id, "outbox worker stopped");
    }

    /// One warning when the database stops answering, one line when it answers again,
    /// for every outage (not a line per failed poll). Returns the outage in progress.
    fn note_outage(
        &self,
        outage: Option<std::time::Instant>,
        error: Option<&DbErr>,
    ) -> Option<std::time::Instant> {
        match (outage, error) {
            (None, Some(error)) => {
                tracing::warn!(worker = %self.id, %error, "outbox worker cannot reach the database; retrying");
                Some(std::time::Instant::now())
            }
            (Some(began), None) => {
                tracing::info!(worker = %self.id, after = ?began.elapsed(), "outbox worker reaches the database again");
                None
            }
            (outage, _) => outage,
        }
    }

    /// Claims one batch and settles every message in it. Returns how many it claimed.
    pub async fn deliver_due(&self) -> Result<usize, DbErr> {
        let claimed = outbox::claim(
            &self.db,
            &self.id,
            self.settings.batch,
            self.settings.lease,
            Utc::now(),
        )
        .await?;
        for message in &claimed {
            self.deliver(message).await?;
        }
        Ok(claimed.len())
    }

    async fn deliver(&self, row: &outbox_message::Model) -> Result<(), DbErr> {
        let sent = match message(
            &row.recipient,
            &row.subject,
            &row.body,
            Some(outbox::message_id(row)),
        ) {
            Ok(email) => self.mailer.send(email).await,
            Err(error) => Err(error),
        };
        match sent {
            Ok(()) => outbox::mark_sent(&self.db, row.id, Utc::now()).await,
            Err(error) => {
                if let Some(failures) = &self.failures {
                    failures.inc();
                }
                tracing::warn!(worker = %self.id, message = row.id, attempt = row.attempts, %error, "email not delivered");
                outbox::mark_failed(
                    &self.db,
                    row,
                    &self.id,
                    &error,
                    &self.settings.retry,
                    Utc::now(),
                )
                .await
            }
        }
    }
}
