//! The naive twins, rationed. They are slow and memory-hungry on purpose — the naive
//! sidebar alone loads every published post and comment — and they are public: each
//! one in flight adds its own copy of all that to the server's memory, so a crowd of
//! them can take it all (docs/operations.md, "Under load", has the run with and
//! without this gate). So a few run at a time
//! (`NAIVE_CONCURRENCY`); the next waits briefly, then gets a 503 with `Retry-After`.
//! `NAIVE_ROUTES=off` takes them off a public deployment altogether. The optimized
//! pages never pass through this gate.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::base::config::NaiveRoutes;
use crate::base::error::AppError;
use crate::base::variant::Variant;
use crate::services::gate::Gate;

/// `None`: the naive twins are turned off.
#[derive(Clone, Debug)]
pub struct NaiveGate(Option<Gate>);

impl NaiveGate {
    pub fn new(settings: NaiveRoutes) -> Self {
        Self(settings.enabled.then(|| {
            Gate::new(
                settings.in_flight,
                settings.wait,
                "Too many naive pages are being served right now: they are slow on purpose, \
                 so this server runs only a few at a time. Try again in a moment, or open the \
                 optimized page (the same address without /naive).",
            )
        }))
    }

    /// The gate, if the naive twins are on (tests fill it).
    pub fn gate(&self) -> Option<&Gate> {
        self.0.as_ref()
    }
}

/// Middleware: naive requests take a turn (or a 503, or a 404 when turned off);
/// everything else passes straight through.
pub async fn ration(
    State(naive): State<NaiveGate>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let path = request.uri().path();
    if Variant::of_path(path) == Variant::Optimized {
        return Ok(next.run(request).await);
    }
    let Some(gate) = naive.gate() else {
        let optimized = path
            .strip_prefix("/naive")
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        return Err(AppError::NotFound(format!(
            "The naive twins are turned off on this server (NAIVE_ROUTES=off). \
             The optimized page is at {}.",
            super::echo::shorten(optimized)
        )));
    };
    let _turn = gate.take_turn().await?;
    Ok(next.run(request).await)
}
