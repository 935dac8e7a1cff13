//! The request timeout: a request still running after [`super::REQUEST_TIMEOUT`] is
//! answered `503` and dropped — and says so to what runs inside it, which is dropped
//! mid-request and cannot tell a timeout from a client that went away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Put in each request's extensions: set just before the request is dropped for
/// running past the timeout (so the metrics count it as the `503` it was answered).
#[derive(Clone, Debug, Default)]
pub struct TimedOut(Arc<AtomicBool>);

impl TimedOut {
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How long a request may run: the import's own limit, every other route's.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub default: Duration,
    pub import: Duration,
}

impl Limits {
    fn of(self, path: &str) -> Duration {
        match path.strip_prefix("/naive").unwrap_or(path) {
            "/admin/import" => self.import,
            _ => self.default,
        }
    }
}

/// Middleware: runs the request for at most its limit; past it, marks it
/// [`TimedOut`], drops it and answers `503`.
pub async fn limit(State(limits): State<Limits>, mut request: Request, next: Next) -> Response {
    let limit = limits.of(request.uri().path());
    let timed_out = TimedOut::default();
    request.extensions_mut().insert(timed_out.clone());
    let mut running = Box::pin(next.run(request));
    tokio::select! {
        response = &mut running => response,
        () = tokio::time::sleep(limit) => {
            timed_out.0.store(true, Ordering::Relaxed);
            drop(running);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "5")],
                "The request took too long and was stopped. Try again shortly.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_and_its_naive_twin_get_their_own_limit_and_every_other_route_the_default() {
        let limits = Limits {
            default: Duration::from_secs(15),
            import: Duration::from_secs(600),
        };
        assert_eq!(limits.of("/admin/import"), limits.import);
        assert_eq!(limits.of("/naive/admin/import"), limits.import);
        for path in [
            "/",
            "/admin/import/x",
            "/admin/export.ndjson",
            "/naive/",
            "/importer",
        ] {
            assert_eq!(limits.of(path), limits.default, "{path}");
        }
    }
}
