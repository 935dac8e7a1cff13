//! Column projection: the first query of the post list, for 1,000 posts, loading whole
//! rows (2–8 KB `body` included) against the projected columns the page shows.
//! Besides the time, it prints the bytes each variant fetched: the sum of the
//! decoded column values (text lengths, 4-byte integers, 8-byte timestamps).

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::lab::experiments::{projected_bytes, whole_row_bytes};
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::post_list::{naive, optimized};

const POSTS: u64 = 1_000;
fn projection(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let window = PageWindow::new(PageNumber::FIRST).with_size(POSTS);

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
        "{} for {POSTS} posts: whole rows fetch {:.2} MB, projected columns {:.3} MB ({:.1}x fewer bytes)",
        bench.group_name("projection"),
        whole as f64 / 1e6,
        projected as f64 / 1e6,
        whole as f64 / projected.max(1) as f64
    );

    let mut group = c.benchmark_group(bench.group_name("projection"));
    group.sample_size(30);
    group.bench_with_input(BenchmarkId::new("whole-rows", POSTS), &window, |b, &w| {
        b.to_async(&runtime).iter(|| naive::page_rows(db, w));
    });
    group.bench_with_input(BenchmarkId::new("projected", POSTS), &window, |b, &w| {
        b.to_async(&runtime).iter(|| optimized::page_rows(db, w));
    });
    group.finish();
}

criterion_group!(benches, projection);
criterion_main!(benches);
