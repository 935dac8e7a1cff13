//! Twin pages: the naive list page against the optimized one with a warm cache (in
//! process, and in Redis when `BENCH_REDIS_URL` is set), through the router without
//! a network — every idea at once, as a visitor meets them. Each page's footer says
//! which part cost what.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

async fn get(app: &Router, path: &str) {
    let request = Request::get(path).body(Body::empty()).expect("a request");
    let response = app.clone().oneshot(request).await.expect("answered");
    assert_eq!(response.status(), 200, "{path}");
}

fn twin_pages(c: &mut Criterion) {
    let runtime = support::runtime();
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    // Filed as the report's `twin-pages` measures, `list-memory` and `list-redis`:
    // each pairs the naive page with the optimized one on that cache.
    let mut group = c.benchmark_group(bench.group_name(catalog::TWIN_PAGES));
    group.sample_size(10);

    // With the page cache off: the twins compare how each renders (`page_cache.rs`
    // measures serving a rendered page from the cache).
    let naive_app = support::app(db, perfblog::base::config::CacheSettings::Memory, false);
    for (name, settings) in support::caches() {
        group.bench_function(format!("list-{name}-naive"), |b| {
            b.to_async(&runtime).iter(|| get(&naive_app, "/naive/"));
        });
        let optimized_app = support::app(db, settings, false);
        runtime.block_on(get(&optimized_app, "/"));
        group.bench_function(format!("list-{name}-optimized"), |b| {
            b.to_async(&runtime).iter(|| get(&optimized_app, "/"));
        });
    }
    group.finish();
}

criterion_group!(benches, twin_pages);
criterion_main!(benches);
