//! The request recorder: the outermost middleware. It gives every response an
//! `X-Request-Id` and, for the requests `PERF_RECORD` asks for, traces the request —
//! its spans and statements ([`trace`]) — until its body's last byte, then keeps it in
//! the [`History`] with its findings.
//!
//! Deciding happens twice. `off` and `sample:N` decide when the request arrives, so a
//! request that will not be kept opens no span and copies no statement; `errors` and
//! `slow` can only decide when it is done, so they trace every request and keep some.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

use crate::base::config::RecordPolicy;
use crate::base::instrument::trace::{self, OpenSpan, Trace};
use crate::base::instrument::{RequestLog, StreamedBody};
use crate::services::history::{Finished, History, RequestRecord};

pub const REQUEST_ID: &str = "x-request-id";

/// What the recorder needs: where to keep requests, which ones, and whether an
/// incoming `X-Request-Id` comes from a proxy we trust.
#[derive(Clone)]
pub struct Recorder {
    pub history: History,
    policy: RecordPolicy,
    trust_request_id: bool,
    arrivals: Arc<AtomicU64>,
}

impl Recorder {
    /// `trust_request_id`: the app stands behind a reverse proxy (`TRUSTED_PROXIES`),
    /// which sets or passes on the request's id; without one, any client could.
    pub fn new(history: History, trust_request_id: bool) -> Self {
        Self {
            policy: history.policy(),
            history,
            trust_request_id,
            arrivals: Arc::default(),
        }
    }

    /// The request's id: the proxy's when trusted and well formed, else a new one.
    fn request_id(&self, headers: &HeaderMap) -> String {
        let incoming = headers
            .get(REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                (1..=64).contains(&id.len())
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        match incoming {
            Some(id) if self.trust_request_id => id.to_owned(),
            _ => format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// Whether to trace a request to `path` at all: the history's own pages, the
    /// static files and the probes (`/healthz`, `/metrics`, polled every few seconds)
    /// never; the rest as the policy says, so far as it can say up front.
    fn traces(&self, path: &str) -> bool {
        if path.starts_with("/_perf")
            || path.starts_with("/static/")
            || path == "/healthz"
            || path == "/metrics"
        {
            return false;
        }
        match self.policy {
            RecordPolicy::Off => false,
            RecordPolicy::Sample(n) => self
                .arrivals
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(u64::from(n)),
            RecordPolicy::Errors | RecordPolicy::Slow | RecordPolicy::All => true,
        }
    }
}

/// Middleware: `X-Request-Id` on every response; the request traced and, once its
/// body has ended, kept in the history if the policy says so.
pub async fn record_requests(
    State(recorder): State<Recorder>,
    request: Request,
    next: Next,
) -> Response {
    let id = recorder.request_id(request.headers());
    let access = Access::of(&request);
    if !recorder.traces(request.uri().path()) {
        let mut response = next.run(request).await;
        access.log(&id, response.status());
        set_request_id(&mut response, &id);
        return response;
    }
    let trace = Trace::new();
    let arrived = Arrived {
        at: chrono::Utc::now(),
        method: request.method().to_string(),
        path: request
            .uri()
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .chars()
            .take(500)
            .collect(),
        route: request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str)
            .to_owned(),
    };
    let span = trace::tracing_into_sync(trace.clone(), || OpenSpan::open("request", ""));
    let mut response = trace::tracing_into(trace.clone(), next.run(request)).await;
    access.log(&id, response.status());
    set_request_id(&mut response, &id);
    let status = response.status().as_u16();
    let log = response.extensions().get::<RequestLog>().cloned();
    let streamed = response.extensions().get::<StreamedBody>().is_some();
    let sending =
        trace::tracing_into_sync(trace.clone(), || OpenSpan::open("body", "encode and send"));
    let ending = Ending {
        recorder,
        id,
        arrived,
        status,
        streamed,
        log,
        spans: [span, sending].into_iter().flatten().collect(),
    };
    response.map(|inner| {
        Body::new(Recorded {
            inner,
            trace,
            bytes: 0,
            ending: Some(ending),
        })
    })
}

fn set_request_id(response: &mut Response, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
}

/// The access log's line for a request (`perfblog::access`, written under
/// `LOG_FORMAT=json`): what it needs, taken as the request arrives.
struct Access {
    method: axum::http::Method,
    route: Option<MatchedPath>,
    started: Instant,
}

impl Access {
    fn of(request: &Request) -> Self {
        Self {
            method: request.method().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            started: Instant::now(),
        }
    }

    /// One line: the request's id, method, route (its pattern, never the path) and
    /// status, and the milliseconds until its response head was ready.
    fn log(&self, id: &str, status: axum::http::StatusCode) {
        tracing::info!(
            target: "perfblog::access",
            request_id = id,
            method = %self.method,
            route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str),
            status = status.as_u16(),
            latency_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "answered"
        );
    }
}

/// What was known when the request arrived.
struct Arrived {
    at: chrono::DateTime<chrono::Utc>,
    method: String,
    path: String,
    route: String,
}

/// What the record needs once the body has ended.
struct Ending {
    recorder: Recorder,
    id: String,
    arrived: Arrived,
    status: u16,
    streamed: bool,
    log: Option<RequestLog>,
    /// The request's span and the body's: closed when the body ends.
    spans: Vec<OpenSpan>,
}

/// The response body, polled with the request's trace current; at its end (or when
/// the client goes away) the request is recorded.
struct Recorded {
    inner: Body,
    trace: Arc<Trace>,
    bytes: u64,
    ending: Option<Ending>,
}

impl Recorded {
    fn end(&mut self) {
        let Some(mut ending) = self.ending.take() else {
            return;
        };
        let started = Instant::now();
        ending.spans.clear();
        let findings = ending
            .log
            .as_ref()
            .map(RequestLog::findings)
            .unwrap_or_default();
        if !ending.recorder.history.keeps(ending.status, &findings) {
            return;
        }
        let record = RequestRecord::of(Finished {
            id: ending.id,
            at: ending.arrived.at,
            method: ending.arrived.method,
            path: ending.arrived.path,
            route: ending.arrived.route,
            status: ending.status,
            streamed: ending.streamed,
            body_bytes: self.bytes,
            log: ending.log.as_ref(),
            findings: &findings,
            trace: &self.trace,
        });
        ending.recorder.history.add(record, started.elapsed());
    }
}

impl HttpBody for Recorded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let trace = self.trace.clone();
        let polled = trace::tracing_into_sync(trace, || Pin::new(&mut self.inner).poll_frame(cx));
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None | Some(Err(_))) => self.end(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Recorded {
    /// A body dropped before its end (the client went away, a `HEAD`, a body hyper
    /// knew was empty): the request is recorded as far as it went.
    fn drop(&mut self) {
        self.end();
    }
}
