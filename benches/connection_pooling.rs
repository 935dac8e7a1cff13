//! Connection pooling: the optimized post page's loader (four statements) on a
//! connection opened for it and closed after (`connection-per-request`), on the pool
//! (`pooled`), and on a pool whose connections keep no prepared statements
//! (`pooled-no-statement-cache`: every statement parsed and planned again).

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::catalog::measure::newest_post;
use perfblog::db;
use perfblog::views::post_detail;
use perfblog::views::slug::Slug;

fn connection_pooling(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let (db, url) = (&bench.db, &bench.url);
    let (_, slug) = runtime.block_on(newest_post(db)).expect("a published post");
    let slug = Slug::parse(&slug).expect("a valid slug");
    let uncached = runtime
        .block_on(db::connect_without_statement_cache(url))
        .expect("a pool without a statement cache");
    let mut group = c.benchmark_group(bench.group_name("connection_pooling"));
    group.sample_size(30);
    group.bench_function("connection-per-request", |b| {
        b.to_async(&runtime).iter(|| async {
            let own = db::connect_one(url).await.expect("a connection");
            let page = post_detail::optimized::load(&own, &slug).await;
            own.close().await.expect("closes");
            page
        });
    });
    group.bench_function("pooled", |b| {
        b.to_async(&runtime)
            .iter(|| post_detail::optimized::load(db, &slug));
    });
    group.bench_function("pooled-no-statement-cache", |b| {
        b.to_async(&runtime)
            .iter(|| post_detail::optimized::load(&uncached, &slug));
    });
    group.finish();
}

criterion_group!(benches, connection_pooling);
criterion_main!(benches);
