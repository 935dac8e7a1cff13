//! `GET /healthz`: can this instance serve? The database is required (503 without
//! it); the cache is not (200, "degraded": pages are computed uncached).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::Ops;
use crate::cache::CacheHealth;

#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, `degraded` (serving without the cache) or `unavailable`.
    pub status: &'static str,
    pub database: &'static str,
    pub cache: &'static str,
}

pub async fn healthz(State(state): State<Ops>) -> (StatusCode, Json<Health>) {
    let database_ok = state.db.ping().await.is_ok();
    let cache = state.cache.health().await;
    let (status, code) = match (database_ok, cache) {
        (false, _) => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        (true, CacheHealth::Unavailable) => ("degraded", StatusCode::OK),
        (true, _) => ("ok", StatusCode::OK),
    };
    let health = Health {
        status,
        database: if database_ok { "ok" } else { "unavailable" },
        cache: cache.as_str(),
    };
    (code, Json(health))
}
