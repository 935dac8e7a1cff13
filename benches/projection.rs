//! Column projection: the list's page query loading whole rows (2–8 KB `body`
//! included) against the six columns a list entry shows — for a list page of 20 posts
//! and for 1,000, where the bytes dominate. Besides the time, it prints the bytes each
//! side fetched: the sum of the decoded column values (text lengths, 4-byte integers,
//! 8-byte timestamps).

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::catalog::projection::{projected_bytes, whole_row_bytes};
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::post_list::{naive, optimized};

/// A default list page, and a page large enough for the bytes to dominate.
const SIZES: [u64; 2] = [20, 1_000];

fn projection(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;

    let mut group = c.benchmark_group(bench.group_name("projection"));
    group.sample_size(30);
    for posts in SIZES {
        let window = PageWindow::new(PageNumber::FIRST).with_size(posts);
        let whole: u64 = runtime
            .block_on(naive::page_rows(db, window))
            .expect("rows load")
            .iter()
            .map(whole_row_bytes)
            .sum::<u64>();
        let projected: u64 = runtime
            .block_on(optimized::page_rows(db, window))
            .expect("rows load")
            .iter()
            .map(projected_bytes)
            .sum::<u64>();
        println!(
            "{} for {posts} posts: whole rows fetch {:.3} MB, projected columns {:.3} MB ({:.1}x fewer bytes)",
            bench.group_name("projection"),
            whole as f64 / 1e6,
            projected as f64 / 1e6,
            whole as f64 / projected.max(1) as f64
        );
        group.bench_with_input(BenchmarkId::new("whole-rows", posts), &window, |b, &w| {
            b.to_async(&runtime).iter(|| naive::page_rows(db, w));
        });
        group.bench_with_input(BenchmarkId::new("projected", posts), &window, |b, &w| {
            b.to_async(&runtime).iter(|| optimized::page_rows(db, w));
        });
    }
    group.finish();
}

criterion_group!(benches, projection);
criterion_main!(benches);
