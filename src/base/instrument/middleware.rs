//! The middleware every page passes through: it opens the request's [`QueryLog`]
//! scope, and when the request is done reports what ran — `X-Query-Count`,
//! `Server-Timing` (with the request's `total`), its findings in cost order, slow
//! before N+1 (`X-Perf-Findings`), and N+1 suspects (headers, one warning per route, a
//! 500 under `N_PLUS_ONE=raise`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::detector::{self, Detector, Inspection, NPlusOne, ShapeCount};
use super::findings::{self, Finding};
use super::{CURRENT, Keep, PANEL, QueryLog, RequestLog, Watch, sql_comment};
use crate::base::variant::Variant;
use http_body::{Frame, SizeHint};

/// Middleware: counts the request's statements and reports them in `X-Query-Count`
/// and `Server-Timing`, so a browser's developer tools show them; with the detector
/// on, reports N+1 suspects (`X-N-Plus-One`, `Server-Timing`, one warning per route)
/// and under `raise` answers 500 with the report; with the panel on, lets the footer
/// list every statement.
pub async fn count_request_queries(
    State(detector): State<Detector>,
    request: Request,
    next: Next,
) -> Response {
    let Inspection {
        n_plus_one,
        threshold,
        panel,
        slow,
        sql_comments,
    } = detector.settings;
    let route = route_of(&request);
    let tags = sql_comments.then(|| {
        sql_comment::request_tags(
            matched_path(&request),
            Variant::of_path(request.uri().path()),
        )
    });
    let detecting = n_plus_one != NPlusOne::Off;
    let keep = Keep {
        shapes: detecting || panel,
        watch: detecting.then(|| Watch {
            threshold,
            allowed: detector.allowed.clone(),
            call_site: n_plus_one == NPlusOne::Raise || !detector.has_warned(&route),
        }),
        slow: Some(slow),
        tags,
        ..Keep::default()
    };
    let started = std::time::Instant::now();
    let (mut response, log) = if panel {
        PANEL
            .scope((), QueryLog::scope(keep, next.run(request)))
            .await
    } else {
        QueryLog::scope(keep, next.run(request)).await
    };
    let suspects = log.suspects_for_the_head();
    if !suspects.is_empty() {
        warn_once(&detector, &route, threshold, &suspects);
        if n_plus_one == NPlusOne::Raise {
            response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                detector::report(&route, threshold, &suspects),
            )
                .into_response();
        }
    }
    let findings = findings::of(&log, &suspects, slow);
    warn_slow_once(&detector, &route, &findings);
    write_headers(response.headers_mut(), &log, &suspects);
    write_findings(response.headers_mut(), &findings, started.elapsed());
    response
        .extensions_mut()
        .insert(Suspects(u32::try_from(suspects.len()).unwrap_or(u32::MAX)));
    response.extensions_mut().insert(RequestLog(log.clone()));
    in_scope_while_streamed(response, log)
}

/// A body whose size is not known yet is produced after the handler returned (the
/// export, the sitemap): it is polled inside the request's scope, so its statements
/// count towards the request — for the history, which reads the log when the body
/// ends; the headers went out before them.
fn in_scope_while_streamed(response: Response, log: Arc<QueryLog>) -> Response {
    if response.body().size_hint().exact().is_some() {
        return response;
    }
    let mut response = response.map(|inner| Body::new(InScope { inner, log }));
    response.extensions_mut().insert(StreamedBody);
    response
}

/// Marks a response whose body was streamed: its statements ran after its headers.
#[derive(Clone, Copy, Debug)]
pub struct StreamedBody;

struct InScope {
    inner: Body,
    log: Arc<QueryLog>,
}

impl HttpBody for InScope {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let log = self.log.clone();
        CURRENT.sync_scope(log, || Pin::new(&mut self.inner).poll_frame(cx))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How many N+1 suspects a response's request had — all of them, where the headers
/// carry the first few — for `/metrics`.
#[derive(Clone, Copy, Debug)]
pub struct Suspects(pub u32);

/// Suspects reported in headers; the log and the panel have them all.
const MOST_REPORTED: usize = 5;

/// `X-Query-Count`, one `X-N-Plus-One` per suspect (the first few), and `Server-Timing`: the whole
/// request, each suspect, each cache lookup, each named part.
fn write_headers(headers: &mut HeaderMap, log: &QueryLog, suspects: &[ShapeCount]) {
    let stats = log.stats();
    headers.insert("x-query-count", HeaderValue::from(stats.statements));
    // Five lines of at most about 310 bytes (a shape is cut at 240 characters), and
    // one saying how many more: under 2 KB, inside nginx's default 4 KB buffer for a
    // proxied response's head (`deploy/nginx.conf` leaves it at the default).
    for suspect in suspects.iter().take(MOST_REPORTED) {
        if let Ok(value) = HeaderValue::from_str(&suspect.header()) {
            headers.append("x-n-plus-one", value);
        }
    }
    if suspects.len() > MOST_REPORTED {
        let more = format!(
            "{} more repeated shapes: see the log",
            suspects.len() - MOST_REPORTED
        );
        if let Ok(value) = HeaderValue::from_str(&more) {
            headers.append("x-n-plus-one", value);
        }
    }
    let lookups = log
        .lookups()
        .into_iter()
        .filter(|lookup| lookup.in_server_timing)
        .map(|lookup| format!("cache.{};desc=\"{}\"", lookup.name, lookup.outcome.as_str()));
    let timings = std::iter::once(stats.server_timing())
        .chain(
            suspects
                .iter()
                .take(MOST_REPORTED)
                .map(ShapeCount::server_timing),
        )
        .chain(lookups)
        .chain(log.parts().into_iter().map(|part| part.server_timing()));
    for timing in timings {
        if let Ok(timing) = HeaderValue::from_str(&timing) {
            headers.append("server-timing", timing);
        }
    }
}

/// `X-Perf-Findings` (the first few, costliest first, slow before N+1), a `slow`
/// `Server-Timing` entry per slow finding, and `total`: the request's own time.
fn write_findings(headers: &mut HeaderMap, findings: &[Finding], total: std::time::Duration) {
    for finding in findings.iter().take(MOST_REPORTED) {
        if let Ok(value) = HeaderValue::from_str(&finding.header()) {
            headers.append("x-perf-findings", value);
        }
    }
    if findings.len() > MOST_REPORTED {
        let more = match findings.len() - MOST_REPORTED {
            1 => "1 more finding: see the footer and the log".to_owned(),
            n => format!("{n} more findings: see the footer and the log"),
        };
        if let Ok(value) = HeaderValue::from_str(&more) {
            headers.append("x-perf-findings", value);
        }
    }
    let timings = findings
        .iter()
        .filter(|finding| finding.is_slow())
        .take(MOST_REPORTED)
        .map(Finding::server_timing)
        .chain(std::iter::once(format!(
            "total;dur={:.3}",
            total.as_secs_f64() * 1000.0
        )));
    for timing in timings {
        if let Ok(timing) = HeaderValue::from_str(&timing) {
            headers.append("server-timing", timing);
        }
    }
}

/// The log's one warning per route for its slow parts and statements.
fn warn_slow_once(detector: &Detector, route: &str, findings: &[Finding]) {
    let slow: Vec<&Finding> = findings.iter().filter(|f| f.is_slow()).collect();
    if slow.is_empty() || !detector.first_warning(&format!("slow {route}")) {
        return;
    }
    for finding in slow {
        tracing::warn!(
            route,
            finding = %finding.describe(),
            fix = %format!("{}: {}", finding.fix.name, finding.fix.advice),
            lab = %format!("/lab/{}", finding.fix.lab),
            "slow: reported before any N+1 suspect — measure first"
        );
    }
}

/// `GET /posts/{slug}`: the method and the route's pattern, never the slug itself
/// (one warning per route, and a bounded set of them).
fn route_of(request: &Request) -> String {
    format!("{} {}", request.method(), matched_path(request))
}

/// The route's pattern, `/posts/{slug}`.
fn matched_path(request: &Request) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
}

/// The log's one warning for `route`, with where each suspect was issued.
fn warn_once(detector: &Detector, route: &str, threshold: u32, suspects: &[ShapeCount]) {
    if !detector.first_warning(route) {
        return;
    }
    for suspect in suspects {
        let fix = suspect.fix();
        tracing::warn!(
            route,
            runs = suspect.count,
            threshold,
            shape = %suspect.shape,
            call_site = suspect.call_site.as_deref().unwrap_or("unknown (no line tables)"),
            fix = %format!("{}: {}", fix.name, fix.advice),
            lab = %format!("/lab/{}", fix.lab),
            "N+1 suspected: one statement shape ran {} times in one request",
            suspect.count
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::base::instrument::{CacheLookup, CacheOutcome};

    fn suspect(table: usize) -> ShapeCount {
        ShapeCount {
            shape: format!("SELECT \"a\" FROM \"t{table}\" WHERE \"id\" = $1"),
            count: 20,
            db_time: Duration::from_millis(1),
            call_site: None,
        }
    }

    fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn at_most_five_suspects_go_into_the_headers_and_a_line_says_how_many_more() {
        let suspects: Vec<ShapeCount> = (0..7).map(suspect).collect();
        let mut headers = HeaderMap::new();
        write_headers(&mut headers, &QueryLog::default(), &suspects);

        let reports = values(&headers, "x-n-plus-one");
        assert_eq!(reports.len(), 6, "{reports:?}");
        assert!(reports[4].contains("\"t4\""));
        assert_eq!(reports[5], "2 more repeated shapes: see the log");
        let timings = values(&headers, "server-timing");
        assert_eq!(
            timings
                .iter()
                .filter(|t| t.starts_with("n-plus-one;"))
                .count(),
            5
        );
    }

    #[test]
    fn a_lookup_noted_for_the_panel_only_is_not_in_server_timing() {
        let log = QueryLog::default();
        if let Ok(mut lookups) = log.lookups.lock() {
            for (name, in_server_timing) in [("sidebar", true), ("page", false)] {
                lookups.push(CacheLookup {
                    name: name.to_owned(),
                    key: format!("{name}:/"),
                    outcome: CacheOutcome::Hit,
                    in_server_timing,
                });
            }
        }
        let mut headers = HeaderMap::new();
        write_headers(&mut headers, &log, &[]);

        let timings = values(&headers, "server-timing");
        assert!(
            timings.contains(&"cache.sidebar;desc=\"hit\"".to_owned()),
            "{timings:?}"
        );
        assert!(
            !timings.iter().any(|t| t.starts_with("cache.page")),
            "{timings:?}"
        );
        assert!(values(&headers, "x-n-plus-one").is_empty());
    }
}
