//! What every handler shares. Cloned per request, so everything in it is a handle.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::cache::FragmentCache;
use crate::config::AdminToken;
use crate::http::rate_limit::CommentLimiter;
use crate::mail::Mailer;
use crate::ops::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    /// A connection pool; every statement through it is counted (see `instrument`).
    pub db: DatabaseConnection,
    /// What the admin routes ask for.
    pub admin_token: AdminToken,
    /// SMTP or a folder; the naive comment handler talks to it inside the request.
    pub mailer: Mailer,
    /// Wakes the in-process outbox worker when a message is queued.
    pub outbox_wake: Arc<Notify>,
    /// Where links in emails point, without a trailing slash.
    pub public_url: String,
    /// Rendered fragments (the sidebar) and "no such post" answers; writes invalidate it.
    pub cache: FragmentCache,
    /// Request, cache and outbox metrics for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Comments per client address.
    pub comment_limiter: Arc<CommentLimiter>,
    /// The lab runs one experiment at a time.
    pub lab_gate: crate::lab::LabGate,
}
