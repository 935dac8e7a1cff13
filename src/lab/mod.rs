//! The lab: every pattern of the catalog run live, its naive and optimized sides side
//! by side, with the statements they sent, their time, what they fetched, their
//! source, and the bench report's figures. `GET /lab` lists the patterns; `GET
//! /lab/{pattern}` runs one.
//!
//! It is safe to expose: visitors choose a pattern, nothing else; writes run in
//! transactions that are rolled back; and one experiment runs at a time (the naive
//! sides are deliberately expensive).

mod page;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::catalog::measure::Workbench;
use crate::error::AppError;

/// What the lab's routes need: a workbench to run experiments on, and the gate that
/// lets one run at a time.
#[derive(Clone)]
pub struct Lab {
    pub workbench: Arc<Workbench>,
    pub gate: LabGate,
}

pub fn routes(lab: Lab) -> Router {
    Router::new()
        .route("/lab", get(page::index))
        .route("/lab/{pattern}", get(page::pattern))
        .with_state(lab)
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
