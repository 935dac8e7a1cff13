//! Middleware cost: the crawler check in front of every page, its expression compiled on
//! every request or once — the same response either way, and the lab page shows what
//! each layer of the stack took.

use perfblog::base::config::DatabaseUrl;
use perfblog::lab::lessons::middleware_cost::{respond, stacks};
use perfblog::lab::workbench::Workbench;

use axum::body::Bytes;
use axum::http::Response;

use crate::helpers::{SMALL, header, spawn_app, unbrotli};

#[tokio::test]
async fn the_crawler_check_compiled_per_request_and_compiled_once_give_the_same_response() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let url = DatabaseUrl::parse(&app.database_url).expect("a URL");
    let workbench = Workbench::new(app.db.clone(), url);
    let stacks = stacks(&workbench, None).await.expect("both stacks");

    let naive = respond(&stacks.compiling_each_time).await.expect("a page");
    let optimized = respond(&stacks.compiled_once).await.expect("a page");

    // Asked as a browser asks, answered from the page cache, precompressed.
    for response in [&naive, &optimized] {
        assert_eq!(header(response.headers(), "content-encoding"), Some("br"));
        assert!(response.headers().contains_key("content-security-policy"));
    }
    let names = |response: &Response<Bytes>| -> Vec<String> {
        response
            .headers()
            .keys()
            .map(|name| name.to_string())
            .collect()
    };
    assert_eq!(names(&naive), names(&optimized));
    for name in ["content-type", "etag", "cache-control", "vary"] {
        assert_eq!(
            header(naive.headers(), name),
            header(optimized.headers(), name),
            "{name}"
        );
    }
    // The footer's hole holds each request's own timings: the page above it is the same.
    let above_the_footer = |response: &Response<Bytes>| {
        let html = String::from_utf8(unbrotli(response.body())).expect("UTF-8");
        html.split("<footer class=\"stats\">")
            .next()
            .map(str::to_owned)
    };
    assert_eq!(above_the_footer(&naive), above_the_footer(&optimized));
}

#[tokio::test]
async fn the_middleware_lab_page_shows_each_layers_own_time_on_both_sides() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let page = app.get_page("/lab/middleware-cost").await;

    assert_eq!(page.status, 200);
    let tables = page.body.matches("<table class=\"lab-layers\">").count();
    assert_eq!(tables, 2, "one table of layers a side");
    for layer in [
        "one Host header",
        "timeout",
        "security headers",
        "compression",
        "conditional GET",
        "crawler check",
        "the page itself",
    ] {
        let rows = page.body.matches(&format!("<td>{layer}</td>")).count();
        assert_eq!(rows, 2, "{layer}: a row a side");
    }
}
