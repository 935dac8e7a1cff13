//! Measure first, after the fact: every request gets an `X-Request-Id`, and the ones
//! `PERF_RECORD` asks for are kept — statements, spans, findings — in a bounded history
//! that `/_perf/requests` lists and `/_perf/requests/{id}` draws as a waterfall, each
//! `SELECT` kept whole with a safe EXPLAIN.

pub mod explain;
pub mod pages;
pub mod recorder;
pub mod waterfall;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::middleware;
use axum::routing::{get, post};
use sea_orm::DatabaseConnection;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::base::config::AdminToken;
use crate::views::admin::auth;
pub use recorder::{Recorder, record_requests};

/// What the history's pages read: the history, and the database to EXPLAIN on.
#[derive(Clone)]
pub struct Perf {
    pub recorder: Recorder,
    pub db: DatabaseConnection,
}

/// The history's pages, behind the admin token.
pub fn routes(perf: Perf, token: AdminToken) -> Router {
    Router::new()
        .route("/_perf/requests", get(pages::requests))
        .route("/_perf/requests/{id}", get(pages::request))
        .route(
            "/_perf/requests/{id}/statements/{n}/explain",
            post(explain::explain),
        )
        .route_layer(middleware::from_fn_with_state(token, auth::require_admin))
        // SQL and its parameters: kept by no browser or proxy cache.
        .layer(SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(perf)
}
