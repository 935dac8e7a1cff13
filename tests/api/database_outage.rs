//! PostgreSQL stopped under the running app: health checks and pages fail fast with
//! 503 + `Retry-After` (not a 500 after ten seconds), and everything recovers by
//! itself when it comes back. The test runs its own PostgreSQL server so it can stop
//! it; it is skipped where PostgreSQL's server binaries are not installed.

use std::time::{Duration, Instant};

use crate::helpers::{SMALL, TestApp, TestOptions, spawn_app_on};
use crate::own_postgres::OwnPostgres;

/// Timed from the client: the response, whatever it is, and how long it took.
async fn timed_get(app: &TestApp, path: &str) -> (u16, Option<String>, String, Duration) {
    let started = Instant::now();
    let response = app.get(path).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (
        status,
        retry_after,
        response.text().await.unwrap_or_default(),
        elapsed,
    )
}

#[tokio::test]
async fn with_postgres_down_health_and_pages_answer_503_fast_and_recover_when_it_returns() {
    let Some(postgres) = OwnPostgres::start() else {
        return;
    };
    let app = spawn_app_on(&postgres.url(), TestOptions::rendering_every_page()).await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let pages = [
        "/".to_owned(),
        "/naive/".to_owned(),
        format!("/posts/{}", post.slug),
    ];
    for path in &pages {
        assert_eq!(
            app.get(path).await.status(),
            200,
            "{path} before the outage"
        );
    }

    postgres.stop();

    let (status, _, body, took) = timed_get(&app, "/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#""database":"unavailable""#), "{body}");
    assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    for path in &pages {
        let (status, retry_after, body, took) = timed_get(&app, path).await;
        assert_eq!(status, 503, "{path}: {body}");
        assert!(retry_after.is_some(), "{path} says when to retry");
        assert!(body.contains("database is not answering"), "{path}: {body}");
        assert!(
            took < Duration::from_millis(2500),
            "{path} took {took:?} to fail"
        );
    }

    postgres.resume();

    let deadline = Instant::now() + Duration::from_secs(15);
    for path in pages.iter().map(String::as_str).chain(["/healthz"]) {
        loop {
            let status = app.get(path).await.status();
            if status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{path} still {status} after recovery"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn with_postgres_down_a_cached_page_is_served_stale_and_an_uncached_one_is_a_503() {
    let Some(postgres) = OwnPostgres::start() else {
        return;
    };
    let app = spawn_app_on(&postgres.url(), TestOptions::default()).await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    assert_eq!(app.get("/").await.status(), 200, "the list is now cached");

    postgres.stop();

    let stale = app.get("/").await;
    assert_eq!(stale.status(), 200, "served from the page cache");
    let (status, retry_after, body, took) = timed_get(&app, &format!("/posts/{}", post.slug)).await;
    assert_eq!(status, 503, "never rendered, nothing to serve: {body}");
    assert!(retry_after.is_some());
    assert!(took < Duration::from_millis(2500), "took {took:?} to fail");
}
