//! Operations: `/healthz` for load balancers and orchestrators, `/metrics` for
//! Prometheus.

pub mod health;
pub mod metrics;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
}
