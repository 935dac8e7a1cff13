//! Aggregation in the database: the sidebar's figures — posts per tag, the five
//! most-discussed posts — counted in Rust over every loaded post and comment (naive)
//! or by two `COUNT … GROUP BY` queries (optimized). Rendering is left out of both.

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::views::sidebar::{aggregated, naive};

fn aggregation(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("aggregation"));
    group.sample_size(10);

    group.bench_function("sidebar-naive", |b| {
        b.to_async(&runtime).iter(|| naive::load(db));
    });
    group.bench_function("sidebar-aggregated", |b| {
        b.to_async(&runtime).iter(|| aggregated::load(db));
    });
    group.finish();
}

criterion_group!(benches, aggregation);
criterion_main!(benches);
