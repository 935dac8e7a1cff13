//! Exists vs count: "does the busiest tag have a published post?" and "are there any
//! posts?" (the start-up check), each answered by counting every match
//! (`*-count`) and by `SELECT EXISTS (… LIMIT 1)` (`*-exists`). A third way, not a
//! comparison of the catalog's: SeaORM's own `exists()`, which sends no `LIMIT`
//! (`busiest-tag-seaorm-exists`).

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::catalog::exists::busiest_tag;
use perfblog::db::exists::{by_counting, by_finding_one, published_tagged};
use perfblog::entities::post;
use sea_orm::{EntityTrait, SelectExt};

fn exists(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let tag_id = runtime.block_on(busiest_tag(db)).expect("a tag");
    let mut group = c.benchmark_group(bench.group_name("exists"));
    group.bench_function("busiest-tag-count", |b| {
        b.to_async(&runtime)
            .iter(|| by_counting(db, published_tagged(tag_id)));
    });
    group.bench_function("busiest-tag-exists", |b| {
        b.to_async(&runtime)
            .iter(|| by_finding_one(db, published_tagged(tag_id)));
    });
    group.bench_function("busiest-tag-seaorm-exists", |b| {
        b.to_async(&runtime)
            .iter(|| published_tagged(tag_id).exists(db));
    });
    group.bench_function("any-post-count", |b| {
        b.to_async(&runtime)
            .iter(|| by_counting(db, post::Entity::find()));
    });
    group.bench_function("any-post-exists", |b| {
        b.to_async(&runtime)
            .iter(|| by_finding_one(db, post::Entity::find()));
    });
    group.finish();
}

criterion_group!(benches, exists);
criterion_main!(benches);
