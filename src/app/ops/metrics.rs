//! `GET /metrics` in Prometheus' text format: request latency and SQL statements per
//! request, by route and variant; requests by status; N+1 suspects by route; fragment
//! cache hits and misses; outbox depth, dead emails and send failures.
//! prometheus-client keeps a registry per app (no global state), so every test app
//! counts only its own requests.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::Ops;
use crate::base::instrument::Suspects;
use crate::base::variant::Variant;
use crate::services::cache::{FragmentCache, PageCache};
use crate::services::db::standbys::Reads;
use crate::services::http::timeout::TimedOut;
use crate::services::mail::outbox;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    variant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    variant: String,
    status: u16,
}

pub struct Metrics {
    registry: Registry,
    latency: Family<RouteLabels, Histogram>,
    statements: Family<RouteLabels, Histogram>,
    requests: Family<RequestLabels, Counter>,
    n_plus_one: Family<RouteLabels, Counter>,
    outbox_depth: Gauge,
    outbox_dead: Gauge,
    send_failures: Counter,
}

impl Metrics {
    pub fn new(cache: FragmentCache, pages: PageCache, reads: Reads) -> Arc<Self> {
        let metrics = Self {
            registry: Registry::default(),
            latency: Family::<RouteLabels, Histogram>::new_with_constructor(|| {
                // 0.25 ms to about 4 s.
                Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
            }),
            statements: Family::<RouteLabels, Histogram>::new_with_constructor(|| {
                Histogram::new([
                    1.0, 2.0, 3.0, 4.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0, 144.0, 233.0, 377.0,
                ])
            }),
            requests: Family::default(),
            n_plus_one: Family::default(),
            outbox_depth: Gauge::default(),
            outbox_dead: Gauge::default(),
            send_failures: Counter::default(),
        };
        let mut registry = Registry::with_prefix("perfblog");
        metrics.register_request_metrics(&mut registry);
        metrics.register_outbox_metrics(&mut registry);
        registry.register_collector(Box::new(CacheCollector(cache, pages)));
        registry.register_collector(Box::new(ReadsCollector(reads)));
        Arc::new(Self {
            registry,
            ..metrics
        })
    }

    /// What the request middleware records: latency, statements, status, N+1 suspects.
    fn register_request_metrics(&self, registry: &mut Registry) {
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route and variant",
            self.latency.clone(),
        );
        registry.register(
            "sql_statements_per_request",
            "SQL statements a request ran, by route and variant",
            self.statements.clone(),
        );
        registry.register(
            "http_requests",
            "Requests answered, by route, variant and status",
            self.requests.clone(),
        );
        registry.register(
            "n_plus_one_suspects",
            "Statement shapes a request repeated at least N_PLUS_ONE_THRESHOLD times (X-N-Plus-One), by route and variant",
            self.n_plus_one.clone(),
        );
    }

    /// The outbox's depth and dead emails (read at each scrape) and the worker's failures.
    fn register_outbox_metrics(&self, registry: &mut Registry) {
        registry.register(
            "outbox_depth",
            "Emails waiting in the outbox to be sent (due or waiting to retry)",
            self.outbox_depth.clone(),
        );
        registry.register(
            "outbox_dead",
            "Emails that used up their attempts; they wait for an admin to requeue them (/admin)",
            self.outbox_dead.clone(),
        );
        registry.register(
            "outbox_send_failures",
            "Failed delivery attempts by this process's outbox worker",
            self.send_failures.clone(),
        );
    }

    /// The counter the in-process outbox worker adds its failures to.
    pub fn send_failures(&self) -> Counter {
        self.send_failures.clone()
    }
}

/// Fragment and page cache counters, read from the caches at each scrape.
struct CacheCollector(FragmentCache, PageCache);

impl std::fmt::Debug for CacheCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheCollector")
    }
}

impl Collector for CacheCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        let pages = self.1.stats();
        for (name, help, value) in [
            (
                "page_cache_hits",
                "Pages served from the page cache",
                pages.hits,
            ),
            (
                "page_cache_misses",
                "Page cache lookups that had to render",
                pages.misses,
            ),
            (
                "page_cache_renders",
                "Pages rendered for the cache (misses share renders)",
                pages.renders,
            ),
            (
                "page_cache_stale",
                "Stale pages served because rendering failed",
                pages.stale,
            ),
            (
                "fragment_cache_hits",
                "Fragment cache lookups answered from the cache",
                stats.hits,
            ),
            (
                "fragment_cache_misses",
                "Fragment cache lookups that had to compute",
                stats.misses,
            ),
            (
                "fragment_cache_renders",
                "Fragments computed (misses share computations)",
                stats.renders,
            ),
            (
                "fragment_cache_outages",
                "Times Redis became unreachable",
                stats.outages,
            ),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(metric)?;
        }
        Ok(())
    }
}

/// Where the optimized pages read from, and each standby's lag, read at each scrape.
#[derive(Debug)]
struct ReadsCollector(Reads);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    server: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StandbyLabels {
    standby: String,
}

impl Collector for ReadsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (primary, standby) = self.0.served();
        let mut reads = encoder.encode_descriptor(
            "page_reads",
            "Page renders by the server they read from (the naive twins always read the primary)",
            None,
            MetricType::Counter,
        )?;
        for (server, count) in [("primary", primary), ("standby", standby)] {
            ConstCounter::new(count).encode(reads.encode_family(&ServerLabels { server })?)?;
        }
        let mut lags = encoder.encode_descriptor(
            "standby_lag_seconds",
            "How far behind the primary each answering standby was at the watcher's last look",
            None,
            MetricType::Gauge,
        )?;
        for standby in self.0.health() {
            if let Some(lag_ms) = standby.lag_ms {
                let labels = StandbyLabels {
                    standby: standby.name,
                };
                ConstGauge::new(lag_ms as f64 / 1000.0).encode(lags.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Middleware: times each request and records its statements, labelled with the
/// route's pattern (`/posts/{slug}`, never the slug itself) and its variant.
/// A request stopped by the timeout is dropped here mid-way and counted as the `503` it
/// was answered.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let variant = Variant::of_path(&route).to_string();
    let mut unfinished = Unfinished {
        metrics: &metrics,
        labels: Some(RouteLabels { route, variant }),
        started: Instant::now(),
        timed_out: request.extensions().get::<TimedOut>().cloned(),
    };
    let response = next.run(request).await;
    let Some(labels) = unfinished.labels.take() else {
        return response;
    };
    if let Some(statements) = response
        .headers()
        .get("x-query-count")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<f64>().ok())
    {
        metrics
            .statements
            .get_or_create(&labels)
            .observe(statements);
    }
    if let Some(Suspects(suspects)) = response.extensions().get::<Suspects>().copied()
        && suspects > 0
    {
        metrics
            .n_plus_one
            .get_or_create(&labels)
            .inc_by(u64::from(suspects));
    }
    unfinished.answered(labels, response.status());
    response
}

/// A request [`record`] has not seen answered: dropped before it was, by the timeout
/// (counted as its `503`) or by a client that went away (not counted: nothing was
/// answered).
struct Unfinished<'a> {
    metrics: &'a Metrics,
    labels: Option<RouteLabels>,
    started: Instant,
    timed_out: Option<TimedOut>,
}

impl Unfinished<'_> {
    /// Counts the request under `labels` as answered `status`, with its latency.
    fn answered(&self, labels: RouteLabels, status: StatusCode) {
        self.metrics
            .latency
            .get_or_create(&labels)
            .observe(self.started.elapsed().as_secs_f64());
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                route: labels.route,
                variant: labels.variant,
                status: status.as_u16(),
            })
            .inc();
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.timed_out.as_ref().is_some_and(TimedOut::happened) {
            return;
        }
        if let Some(labels) = self.labels.take() {
            self.answered(labels, StatusCode::SERVICE_UNAVAILABLE);
        }
    }
}

/// `GET /metrics`. The outbox gauges are read from the database at each scrape (a
/// failed read keeps the last value): every worker and replica shares one outbox.
pub async fn metrics(State(state): State<Ops>) -> Response {
    if let Ok(depth) = outbox::depth(&state.db).await {
        state
            .metrics
            .outbox_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    if let Ok(dead) = outbox::dead_count(&state.db).await {
        state
            .metrics
            .outbox_dead
            .set(i64::try_from(dead).unwrap_or(i64::MAX));
    }
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry) {
        Ok(()) => (
            [(
                CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::base::config::{CacheSettings, PageCacheSettings};
    use crate::services::http::timeout;

    /// Fresh metrics, and a router whose `/slow` takes 5 s and `/fast` answers at once,
    /// with the metrics and a `limit` timeout layered as the app layers them.
    fn measured(limit: Duration) -> (Arc<Metrics>, Router) {
        let cache = FragmentCache::new(&CacheSettings::Memory).expect("a cache");
        let pages = PageCache::new(&cache, &PageCacheSettings::default());
        let reads = Reads::primary_only(sea_orm::DatabaseConnection::default().into());
        let metrics = Metrics::new(cache, pages, reads);
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "soon" }))
            .layer(axum::middleware::from_fn_with_state(
                metrics.clone(),
                record,
            ))
            .layer(axum::middleware::from_fn_with_state(
                timeout::Limits {
                    default: limit,
                    import: limit,
                },
                timeout::limit,
            ));
        (metrics, app)
    }

    fn text_of(metrics: &Metrics) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).expect("encodes");
        text
    }

    /// The status `path` got under a 50 ms timeout, and the metrics' text after it.
    async fn metrics_after(path: &str) -> (u16, String) {
        let (metrics, app) = measured(Duration::from_millis(50));
        let request = Request::get(path).body(Body::empty()).expect("a request");
        let status = app.oneshot(request).await.expect("answered").status();
        (status.as_u16(), text_of(&metrics))
    }

    #[tokio::test]
    async fn a_request_stopped_by_the_timeout_is_counted_as_its_503() {
        let (status, text) = metrics_after("/slow").await;
        assert_eq!(status, 503);
        assert!(
            text.contains(r#"route="/slow",variant="optimized",status="503""#),
            "{text}"
        );
        let (status, text) = metrics_after("/fast").await;
        assert_eq!(status, 200);
        assert!(!text.contains(r#"status="503""#), "{text}");
    }

    #[tokio::test]
    async fn a_request_whose_client_went_away_is_not_counted() {
        let (metrics, app) = measured(Duration::from_secs(60));
        let request = Request::get("/slow")
            .body(Body::empty())
            .expect("a request");
        // Dropped after 50 ms, as hyper drops a request whose connection closed.
        let gone = tokio::time::timeout(Duration::from_millis(50), app.oneshot(request)).await;
        assert!(gone.is_err());
        let text = text_of(&metrics);
        assert!(!text.contains(r#"route="/slow""#), "{text}");
    }
}
