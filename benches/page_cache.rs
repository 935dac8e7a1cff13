//! Per-view caching: the optimized list and post pages rendered on every request
//! (`PAGE_CACHE=off`) against the same pages from the page cache, in process and in
//! Redis (when `BENCH_REDIS_URL` is set). Through the router without a network, with
//! the header a browser sends, so the rendered side pays its compression per request
//! as it does in production, and the cached side its copy of precompressed bytes.

mod support;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::config::CacheSettings;
use tower::ServiceExt;

const BROWSER_ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// GETs `path` as a browser would and reads the whole (compressed) body.
async fn get(app: &Router, path: &str) {
    let request = Request::get(path)
        .header("accept-encoding", BROWSER_ACCEPT_ENCODING)
        .body(Body::empty())
        .expect("a request");
    let response = app.clone().oneshot(request).await.expect("answered");
    assert_eq!(response.status(), 200, "{path}");
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    assert!(!body.is_empty());
}

fn page_cache(c: &mut Criterion) {
    let runtime = support::runtime();
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let post = runtime.block_on(support::newest_post_path(db));
    let mut group = c.benchmark_group(bench.group_name("page_cache"));
    group.sample_size(20);

    let rendering = support::app(db, CacheSettings::Memory, false);
    for (page, path) in [("list", "/"), ("post", post.as_str())] {
        runtime.block_on(get(&rendering, path));
        let id = if page == "list" {
            "list-rendered"
        } else {
            "post-rendered"
        };
        group.bench_function(id, |b| {
            b.to_async(&runtime).iter(|| get(&rendering, path));
        });
    }
    for (name, settings) in support::caches() {
        let cached = support::app(db, settings, true);
        for (page, path) in [("list", "/"), ("post", post.as_str())] {
            runtime.block_on(get(&cached, path));
            let id = match (page, name) {
                ("list", "redis") => "list-cached-redis",
                ("list", _) => "list-cached-memory",
                (_, "redis") => "post-cached-redis",
                _ => "post-cached-memory",
            };
            group.bench_function(id, |b| {
                b.to_async(&runtime).iter(|| get(&cached, path));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, page_cache);
criterion_main!(benches);
