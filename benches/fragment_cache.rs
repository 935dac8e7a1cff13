//! Fragment caching: the sidebar read from its counters and rendered on every call
//! (uncached) against the same HTML from the fragment cache — in process, and in
//! Redis when `BENCH_REDIS_URL` is set. The cache is warm: this measures a hit.

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::cache::FragmentCache;
use perfblog::views::sidebar::{cached, denormalized};

fn fragment_cache(c: &mut Criterion) {
    let runtime = support::runtime();
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("fragment_cache"));
    group.sample_size(10);

    group.bench_function("sidebar-uncached", |b| {
        b.to_async(&runtime)
            .iter(|| denormalized::fragment(db, "./"));
    });
    for (name, settings) in support::caches() {
        let cache = FragmentCache::new(&settings).expect("the cache connects");
        let cache = &cache;
        runtime.block_on(cache.invalidate());
        let id = match name {
            "redis" => "sidebar-cached-redis",
            _ => "sidebar-cached-memory",
        };
        group.bench_function(id, |b| {
            b.to_async(&runtime).iter(|| cached::load(cache, db, "./"));
        });
    }
    group.finish();
}

criterion_group!(benches, fragment_cache);
criterion_main!(benches);
