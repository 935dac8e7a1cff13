//! The naive twins are rationed: a few at a time, the rest wait and then get a 503
//! with `Retry-After`; what they load is bounded by a memory budget estimated before
//! they load; the optimized pages never wait behind them; and a public deployment can
//! turn them off.

use std::time::Duration;

use perfblog::base::config::NaiveRoutes;

use crate::helpers::{SMALL, TestOptions, spawn_app_with};

fn naive(in_flight: usize, wait: Duration) -> TestOptions {
    TestOptions {
        naive: NaiveRoutes {
            enabled: true,
            in_flight,
            wait,
            ..NaiveRoutes::default()
        },
        ..TestOptions::default()
    }
}

/// The naive twins on, their sidebar's loads bounded by `bytes`.
fn naive_memory(bytes: u64) -> TestOptions {
    TestOptions {
        naive: NaiveRoutes {
            memory_budget: bytes,
            ..TestOptions::default().naive
        },
        ..TestOptions::default()
    }
}

#[tokio::test]
async fn a_naive_page_whose_sidebar_would_load_more_than_the_memory_budget_is_refused_saying_what_it_would_load()
 {
    let app = spawn_app_with(naive_memory(1_000)).await;
    app.seed(SMALL).await;

    let refused = app.get("/naive/").await;
    assert_eq!(refused.status(), 503);
    assert!(
        !refused.headers().contains_key("retry-after"),
        "waiting changes nothing"
    );
    let message = refused.text().await.expect("text");
    for said in [
        "published posts",
        "comments",
        "NAIVE_MEMORY_BUDGET",
        "1.0 kB",
    ] {
        assert!(message.contains(said), "{said}: {message}");
    }
    assert_eq!(
        app.get("/").await.status(),
        200,
        "the optimized page answers"
    );
}

#[tokio::test]
async fn the_labs_naive_sidebar_obeys_the_same_budget_and_the_page_says_it_did_not_run() {
    let app = spawn_app_with(naive_memory(1_000)).await;
    app.seed(SMALL).await;

    let page = app.get("/lab/aggregation").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    assert!(html.contains("The naive side did not run"), "{html}");
    assert!(html.contains("NAIVE_MEMORY_BUDGET"), "{html}");

    let within = spawn_app_with(TestOptions::default()).await;
    within.seed(SMALL).await;
    let html = within
        .get("/lab/aggregation")
        .await
        .text()
        .await
        .expect("text");
    assert!(!html.contains("did not run"), "within the budget it runs");
}

#[tokio::test]
async fn with_the_naive_gate_full_naive_pages_get_503_with_retry_after_and_optimized_pages_still_answer()
 {
    let app = spawn_app_with(naive(2, Duration::from_millis(200))).await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let gate = app.naive_gate.gate().expect("the naive twins are on");
    let crowd = gate.take_every_turn().await.expect("the gate fills");

    let refused = app.get("/naive/").await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let message = refused.text().await.expect("text");
    assert!(message.contains("slow on purpose"), "{message}");

    for path in [
        "/".to_owned(),
        format!("/posts/{}", post.slug),
        "/healthz".to_owned(),
    ] {
        assert_eq!(app.get(&path).await.status(), 200, "{path} is not held up");
    }

    drop(crowd);
    assert_eq!(
        app.get("/naive/").await.status(),
        200,
        "served once a turn is free"
    );
}

#[tokio::test]
async fn naive_requests_past_the_limit_wait_their_turn_rather_than_fail() {
    let app = spawn_app_with(naive(1, Duration::from_secs(20))).await;
    app.seed(SMALL).await;

    // Each of the four is answered 200 (asserted inside), one after another.
    app.get_concurrently("/naive/", 4).await;
}

#[tokio::test]
async fn with_naive_routes_off_every_naive_address_is_a_404_naming_the_setting_and_the_lab_loads_no_naive_sidebar()
 {
    let app = spawn_app_with(TestOptions {
        naive: NaiveRoutes {
            enabled: false,
            ..NaiveRoutes::default()
        },
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    for path in ["/naive/".to_owned(), format!("/naive/posts/{}", post.slug)] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 404, "{path}");
        let message = response.text().await.expect("text");
        assert!(message.contains("NAIVE_ROUTES=off"), "{path}: {message}");
    }
    let comment = app
        .client
        .post(format!(
            "{}/naive/posts/{}/comments",
            app.address, post.slug
        ))
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("body", "Hi"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(comment.status(), 404);
    assert_eq!(app.get("/").await.status(), 200);
    let lab = app
        .get("/lab/aggregation")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        lab.contains("The naive side did not run"),
        "the lab's naive sidebar is off too: {lab}"
    );
}
