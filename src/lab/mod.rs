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
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;
use crate::state::AppState;
use crate::views::{Footer, Variant};
use catalog::{PATTERNS, Pattern};
use experiments::Measured;

/// How long a visitor waits for the experiment ahead of theirs before a 503.
pub const WAIT_FOR_THE_LAB: Duration = Duration::from_secs(20);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lab", get(index))
        .route("/lab/{pattern}", get(pattern))
}

/// One experiment at a time: the naive sides are deliberately expensive, and two
/// running at once would also distort each other's timings.
#[derive(Clone, Debug)]
pub struct LabGate {
    turns: Arc<Semaphore>,
    wait: Duration,
}

impl LabGate {
    /// A visitor waits up to `wait` for the experiment ahead of theirs.
    pub fn new(wait: Duration) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(1)),
            wait,
        }
    }

    /// The lab to oneself, until the permit is dropped — or a 503 after the wait.
    pub async fn take_turn(&self) -> Result<OwnedSemaphorePermit, AppError> {
        tokio::time::timeout(self.wait, self.turns.clone().acquire_owned())
            .await
            .map_err(|_| {
                AppError::Busy(
                    "The lab is running someone else's experiment; try again in a moment."
                        .to_owned(),
                )
            })?
            .map_err(|_| AppError::Busy("The lab is closed.".to_owned()))
    }
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
    let _turn = state.lab_gate.take_turn().await?;
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
