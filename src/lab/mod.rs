//! The lab: every pattern's naive and optimized code run live, side by side, with
//! the statements they sent, their time, what they fetched, and their source.
//! `GET /lab` lists the patterns; `GET /lab/{pattern}` runs one.
//!
//! It is safe to expose: visitors choose a pattern, nothing else; writes run in
//! transactions that are rolled back; and one experiment runs at a time (the naive
//! sides are deliberately expensive).

pub mod catalog;
pub mod experiments;
pub mod source;

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::get;
use tokio::sync::Semaphore;

use crate::error::AppError;
use crate::state::AppState;
use crate::views::{Footer, Variant};
use catalog::{PATTERNS, Pattern};
use experiments::Measured;

/// How long a visitor waits for the experiment ahead of theirs before a 503.
const WAIT_FOR_THE_LAB: Duration = Duration::from_secs(20);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lab", get(index))
        .route("/lab/{pattern}", get(pattern))
}

/// One experiment at a time.
pub fn gate() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(1))
}

#[derive(Template, WebTemplate)]
#[template(path = "lab_index.html")]
pub struct LabIndexTemplate {
    pub root: &'static str,
    pub patterns: &'static [Pattern],
    pub footer: Footer,
}

async fn index(uri: Uri) -> LabIndexTemplate {
    LabIndexTemplate {
        root: "./",
        patterns: &PATTERNS,
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    }
}

/// One side as the page shows it.
pub struct Column {
    pub label: &'static str,
    pub file: &'static str,
    pub source: String,
    pub measured: Measured,
}

#[derive(Template, WebTemplate)]
#[template(path = "lab_pattern.html")]
pub struct LabPatternTemplate {
    pub root: &'static str,
    pub pattern: &'static Pattern,
    pub columns: [Column; 2],
    pub footer: Footer,
}

async fn pattern(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
) -> Result<LabPatternTemplate, AppError> {
    let pattern = catalog::find(&slug)
        .ok_or_else(|| AppError::NotFound("There is no such pattern in the lab.".to_owned()))?;
    let _turn = tokio::time::timeout(WAIT_FOR_THE_LAB, state.lab_gate.acquire())
        .await
        .map_err(|_| {
            AppError::Busy(
                "The lab is running someone else's experiment; try again in a moment.".to_owned(),
            )
        })?
        .map_err(|_| AppError::Busy("The lab is closed.".to_owned()))?;
    let (naive, optimized) = experiments::run(&state.db, pattern.slug).await?;
    let column = |label, side: &'static catalog::Side, measured| Column {
        label,
        file: side.file,
        source: source::function(side.source, side.signature).unwrap_or_default(),
        measured,
    };
    Ok(LabPatternTemplate {
        root: "../",
        pattern,
        columns: [
            column("naive", &pattern.naive, naive),
            column("optimized", &pattern.optimized, optimized),
        ],
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    })
}
