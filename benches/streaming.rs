//! Streaming a large result: the export of the first 1,000 posts and of all 10,000 (the
//! standard dataset), to its last byte — built whole before it is sent (`buffered`, the
//! naive export), or written one 100-post batch at a time (`streamed`). Time is the
//! smaller half of this pattern's gain; memory, the larger, is measured in a load run
//! (docs/patterns.md, "Streaming"), since criterion cannot see it.

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::TryStreamExt;
use perfblog::views::export::{naive, optimized};

const SIZES: [u64; 2] = [1_000, 10_000];

fn streaming(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("streaming"));
    group.sample_size(10);
    for posts in SIZES {
        let buffered = runtime
            .block_on(naive::export(db, Some(posts)))
            .expect("the naive export runs");
        let streamed: Vec<u8> = runtime
            .block_on(
                optimized::export(db.clone(), Some(posts))
                    .map_ok(|batch| batch.to_vec())
                    .try_concat(),
            )
            .expect("the streamed export runs");
        assert!(buffered == streamed, "the same {posts} lines both ways");
        group.bench_with_input(BenchmarkId::new("buffered", posts), &posts, |b, &n| {
            b.to_async(&runtime).iter(|| naive::export(db, Some(n)));
        });
        group.bench_with_input(BenchmarkId::new("streamed", posts), &posts, |b, &n| {
            b.to_async(&runtime)
                .iter(|| optimized::export(db.clone(), Some(n)).try_for_each(|_| async { Ok(()) }));
        });
    }
    group.finish();
}

criterion_group!(benches, streaming);
criterion_main!(benches);
