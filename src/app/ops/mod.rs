//! Operations: `/healthz` for load balancers and orchestrators, `/metrics` for
//! Prometheus.

pub mod health;
pub mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::services::cache::FragmentCache;
use crate::services::db::commented::Db;
use crate::services::db::standbys::Reads;
use metrics::Metrics;

/// What the operations routes read: the database and the cache they check, and the
/// metrics they report.
#[derive(Clone)]
pub struct Ops {
    pub db: Db,
    /// The standbys, whose health `/healthz` reports.
    pub reads: Reads,
    pub cache: FragmentCache,
    pub metrics: Arc<Metrics>,
}

pub fn routes(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .with_state(ops)
}
