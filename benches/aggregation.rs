//! The sidebar's figures — posts per tag, the five most-discussed posts — three ways:
//! counted in Rust over every loaded post and comment (`sidebar-naive`), by two
//! `COUNT … GROUP BY` queries (`sidebar-aggregated`: aggregation in the database), or
//! read from the counters the writes keep (`sidebar-counters`: denormalized counters).
//! Rendering is left out of all three.

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::views::sidebar::{aggregated, denormalized, naive};

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
    group.bench_function("sidebar-counters", |b| {
        b.to_async(&runtime).iter(|| denormalized::load(db));
    });
    group.finish();
}

criterion_group!(benches, aggregation);
criterion_main!(benches);
