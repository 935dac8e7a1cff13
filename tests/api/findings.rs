//! Measure first: a request's slow parts and statements are reported before its N+1
//! suspects, costliest first — in `X-Perf-Findings`, `Server-Timing` and the footer —
//! each with its fix; no optimized page has a finding.

use std::time::Duration;

use perfblog::base::config::Inspection;
use perfblog::base::instrument::Fix;

use perfblog::services::seed::DatasetSize;

use crate::helpers::{SMALL, TestOptions, spawn_app, spawn_app_with};

/// Enough posts and comments that the naive sidebar, which loads them all, costs more
/// than the list's loops: the shape of the standard dataset, smaller.
const SIDEBAR_DOMINATES: DatasetSize = DatasetSize {
    posts: 400,
    comments_per_post: 20,
    ..SMALL
};

/// A threshold a test dataset's parts can pass.
fn slow_from(ms: u64) -> TestOptions {
    TestOptions {
        inspection: Inspection {
            slow: Duration::from_millis(ms),
            ..Inspection::default()
        },
        ..TestOptions::rendering_every_page()
    }
}

#[tokio::test]
async fn the_naive_list_reports_its_slow_sidebar_before_any_n_plus_one() {
    let app = spawn_app_with(slow_from(1)).await;
    app.seed(SIDEBAR_DOMINATES).await;

    let page = app.get_page("/naive/").await;

    let first_n_plus_one = page
        .findings
        .iter()
        .position(|finding| finding.starts_with("N+1"))
        .unwrap_or(page.findings.len()); // the header carries the first five
    let last_slow = page
        .findings
        .iter()
        .rposition(|finding| finding.starts_with("slow"))
        .expect("something was slow");
    assert!(last_slow < first_n_plus_one, "{:#?}", page.findings);
    assert!(
        page.findings
            .iter()
            .any(|finding| finding.starts_with("slow part sidebar")
                && finding.ends_with("fix: counting in the database, /lab/aggregation")),
        "{:#?}",
        page.findings
    );
    let costs: Vec<f64> = page.findings[..=last_slow]
        .iter()
        .map(|finding| {
            let (before, _) = finding
                .split_once(" ms in the database")
                .expect("a cost in ms");
            before
                .rsplit(' ')
                .next()
                .and_then(|ms| ms.parse().ok())
                .expect("a number")
        })
        .collect();
    assert!(
        costs.windows(2).all(|pair| pair[0] >= pair[1]),
        "the costliest first: {:#?}",
        page.findings
    );
    assert!(
        page.body.contains("Measure first: slow part sidebar"),
        "the footer says it first"
    );
    assert!(
        page.body.find("Measure first: ") < page.body.find("N+1 suspected"),
        "the footer lists slow before N+1"
    );
    assert!(
        page.timings
            .iter()
            .any(|timing| timing.starts_with("slow;dur="))
    );
}

#[tokio::test]
async fn no_optimized_page_has_a_finding_and_every_page_says_its_total_time() {
    let app = spawn_app().await;
    // The data that makes the naive sidebar slow: the optimized pages stay quick.
    app.seed(SIDEBAR_DOMINATES).await;
    let post = app.first_published().await;

    for path in [
        "/".to_owned(),
        "/tags/rust".to_owned(),
        format!("/posts/{}", post.slug),
    ] {
        for visit in ["miss", "hit"] {
            let page = app.get_page(&path).await;
            assert!(
                page.findings.is_empty(),
                "{path} ({visit}): {:#?}",
                page.findings
            );
            assert!(!page.body.contains("Measure first: "), "{path} ({visit})");
            assert!(
                page.timings
                    .iter()
                    .any(|timing| timing.starts_with("total;dur=")),
                "{path} ({visit}): {:?}",
                page.timings
            );
        }
    }
}

#[test]
fn a_count_per_entry_points_at_eager_loadings_grouped_query() {
    let fix =
        Fix::for_shape("SELECT COUNT(*) FROM \"comments\" WHERE \"comments\".\"post_id\" = $1");
    assert_eq!(fix.lab, "eager-loading");
}

#[tokio::test]
async fn with_every_finding_reported_a_naive_pages_head_fits_a_proxys_default_buffer() {
    // A threshold every part and statement passes: the most findings a head can carry.
    let app = spawn_app_with(slow_from(1)).await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    for path in [
        "/naive/".to_owned(),
        format!("/naive/posts/{}", post.slug),
        "/naive/?page=2".to_owned(),
    ] {
        let response = app.get(&path).await;
        let head: usize = response
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        // nginx's default buffer for a proxied response's head (`proxy_buffer_size`);
        // `deploy/nginx.conf` leaves it at the default. Past it, nginx answers 502.
        assert!(head < 4096, "{path}: a head of {head} bytes");
    }
}
