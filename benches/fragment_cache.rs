//! Fragment caching and aggregation: the sidebar counted in Rust over loaded rows
//! (naive), counted by the database (aggregated, uncached), and served from the
//! fragment cache — in process, and in Redis when `BENCH_REDIS_URL` is set. Then whole
//! pages through the router (no network): the naive list page against the optimized
//! one with a warm cache.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::cache::{CacheSettings, FragmentCache};
use perfblog::config::AdminToken;
use perfblog::http::rate_limit::{CommentLimiter, CommentRate};
use perfblog::mail::{MailSettings, Mailer};
use perfblog::ops::metrics::Metrics;
use perfblog::startup;
use perfblog::state::AppState;
use perfblog::views::sidebar::{self, aggregated, cached};
use sea_orm::DatabaseConnection;
use tower::ServiceExt;

fn caches() -> Vec<(&'static str, FragmentCache)> {
    let mut caches = vec![(
        "memory",
        FragmentCache::new(&CacheSettings::Memory).expect("in-process cache"),
    )];
    if let Ok(url) = std::env::var("BENCH_REDIS_URL") {
        let settings = CacheSettings::Redis {
            url,
            namespace: format!("perfblog-bench-{}", std::process::id()),
        };
        caches.push(("redis", FragmentCache::new(&settings).expect("Redis cache")));
    }
    caches
}

fn app(db: &DatabaseConnection, cache: FragmentCache) -> Router {
    let mail_dir = std::env::temp_dir().join("perfblog-bench-mail");
    startup::router(AppState {
        db: db.clone(),
        admin_token: AdminToken::generate(),
        mailer: Mailer::new(&MailSettings::Folder(mail_dir)).expect("mailer"),
        outbox_wake: Arc::default(),
        public_url: "http://bench".to_owned(),
        metrics: Metrics::new(cache.clone()),
        comment_limiter: CommentLimiter::new(CommentRate::default()),
        lab_gate: perfblog::lab::LabGate::new(perfblog::lab::WAIT_FOR_THE_LAB),
        cache,
    })
}

async fn get(app: &Router, path: &str) {
    let request = Request::get(path).body(Body::empty()).expect("a request");
    let response = app.clone().oneshot(request).await.expect("answered");
    assert_eq!(response.status(), 200, "{path}");
}

fn fragment_cache(c: &mut Criterion) {
    let runtime = support::runtime();
    // The Redis connection manager spawns its tasks on the current runtime.
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("fragment_cache"));
    group.sample_size(10);

    group.bench_function("sidebar-naive", |b| {
        b.to_async(&runtime).iter(|| sidebar::naive(db, "./"));
    });
    group.bench_function("sidebar-aggregated", |b| {
        b.to_async(&runtime).iter(|| async {
            let model = aggregated::load(db).await.expect("loads");
            sidebar::render(&model, "./").expect("renders")
        });
    });
    for (name, cache) in caches() {
        let cache = &cache;
        runtime.block_on(cache.invalidate());
        group.bench_function(format!("sidebar-cached-{name}"), |b| {
            b.to_async(&runtime).iter(|| cached::load(cache, db, "./"));
        });
    }

    let naive_app = app(
        db,
        FragmentCache::new(&CacheSettings::Memory).expect("cache"),
    );
    group.bench_function("page-naive", |b| {
        b.to_async(&runtime).iter(|| get(&naive_app, "/naive/"));
    });
    for (name, cache) in caches() {
        runtime.block_on(cache.invalidate());
        let optimized_app = app(db, cache);
        runtime.block_on(get(&optimized_app, "/"));
        group.bench_function(format!("page-optimized-{name}"), |b| {
            b.to_async(&runtime).iter(|| get(&optimized_app, "/"));
        });
    }
    group.finish();
}

criterion_group!(benches, fragment_cache);
criterion_main!(benches);
