//! `/healthz` and `/metrics`.

use perfblog::base::config::CacheSettings;
use serde_json::Value;

use crate::helpers::{
    SMALL, TestOptions, spawn_app, spawn_app_rendering_every_page, spawn_app_with,
};
use crate::smtp_sink::free_port;

#[tokio::test]
async fn healthz_reports_the_database_and_the_cache() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    let health: Value = serde_json::from_str(&response.text().await.expect("text")).expect("JSON");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    let cache = health["cache"].as_str().expect("a string");
    assert!(cache == "ok" || cache == "in-process", "{cache}");
}

#[tokio::test]
async fn healthz_with_the_cache_down_says_degraded_and_still_serves() {
    let closed = CacheSettings::Redis {
        url: format!("redis://127.0.0.1:{}", free_port()),
        namespace: "perfblog-health".to_owned(),
    };
    let app = spawn_app_with(TestOptions {
        cache: Some(closed),
        ..TestOptions::default()
    })
    .await;

    let response = app.get("/healthz").await;

    assert_eq!(
        response.status(),
        200,
        "pages still render without the cache"
    );
    let health: Value = serde_json::from_str(&response.text().await.expect("text")).expect("JSON");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["cache"], "unavailable");
    assert_eq!(health["database"], "ok");
}

/// The value of the first sample whose line starts with `name_and_labels`.
pub fn sample(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(name_and_labels))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_statements_cache_lookups_and_the_outbox() {
    let app = spawn_app_rendering_every_page().await;
    app.seed(SMALL).await;
    for path in ["/", "/", "/naive/", "/posts/no-such-post"] {
        app.get(path).await;
    }

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let metrics = response.text().await.expect("text");

    assert_eq!(
        sample(
            &metrics,
            "perfblog_http_requests_total{route=\"/\",variant=\"optimized\",status=\"200\"}"
        ),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            "perfblog_http_requests_total{route=\"/naive/\",variant=\"naive\",status=\"200\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "perfblog_http_requests_total{route=\"/posts/{slug}\",variant=\"optimized\",status=\"404\"}"
        ),
        Some(1.0),
        "routes are labelled by pattern, not by slug"
    );
    assert_eq!(
        sample(
            &metrics,
            "perfblog_http_request_duration_seconds_count{route=\"/\",variant=\"optimized\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "perfblog_sql_statements_per_request_sum{route=\"/\",variant=\"optimized\"}"
        ),
        Some(8.0),
        "5 on the cold request, 3 on the warm one"
    );
    assert!(sample(&metrics, "perfblog_fragment_cache_hits_total").unwrap_or(0.0) >= 1.0);
    assert!(sample(&metrics, "perfblog_fragment_cache_misses_total").unwrap_or(0.0) >= 1.0);
    assert_eq!(sample(&metrics, "perfblog_outbox_depth"), Some(0.0));
    assert_eq!(
        sample(&metrics, "perfblog_outbox_send_failures_total"),
        Some(0.0)
    );
}
