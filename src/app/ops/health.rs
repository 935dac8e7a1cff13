//! `GET /healthz`: can this instance serve? The database is required (503 without
//! it); the cache is not (200, "degraded": pages are computed uncached), nor is a
//! standby (200, "degraded": its reads go to the primary).
//!
//! It answers within [`DATABASE_CHECK_TIMEOUT`] whatever the database does: a load
//! balancer that waits longer for a health check than for a page has already given
//! up on this instance.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::Ops;
use crate::services::cache::CacheHealth;
use crate::services::db::standbys::{StandbyHealth, StandbyStatus};

#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, `degraded` (serving without the cache, or without a standby) or
    /// `unavailable`.
    pub status: &'static str,
    pub database: &'static str,
    pub cache: &'static str,
    /// Each standby in `DATABASE_REPLICA_URLS`, as the watcher last found it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub standbys: Vec<StandbyHealth>,
}

/// A database that has not answered a ping in this long counts as unavailable.
pub const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_millis(500);

pub async fn healthz(State(state): State<Ops>) -> (StatusCode, Json<Health>) {
    let database = tokio::time::timeout(DATABASE_CHECK_TIMEOUT, state.db.ping());
    let (database, cache) = tokio::join!(database, state.cache.health());
    let database_ok = matches!(database, Ok(Ok(())));
    let standbys = state.reads.health();
    let standby_missing = standbys
        .iter()
        .any(|standby| standby.status != StandbyStatus::Ok);
    let (status, code) = match (database_ok, cache) {
        (false, _) => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        (true, CacheHealth::Unavailable) => ("degraded", StatusCode::OK),
        (true, _) if standby_missing => ("degraded", StatusCode::OK),
        (true, _) => ("ok", StatusCode::OK),
    };
    let health = Health {
        status,
        database: if database_ok { "ok" } else { "unavailable" },
        cache: cache.as_str(),
        standbys,
    };
    (code, Json(health))
}
