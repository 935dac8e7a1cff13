//! Keyset pagination: the list's page query at depth 1, 50 and 445 (the standard
//! dataset's last full page), by `OFFSET` (`?page=N`) and by cursor (`?after=`). Both load
//! the same six columns of the same 20 posts; only how the page finds its start differs.

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::views::cursor::Cursor;
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::post_list::optimized;
use sea_orm::DatabaseConnection;

/// 445 is the last full page of the standard dataset (8,959 published posts).
const DEPTHS: [u32; 3] = [1, 50, 445];

/// The page at `depth` both ways: by number, and just after the last post of the page
/// before (the cursor its "Older posts" link carries).
async fn windows(db: &DatabaseConnection, depth: u32) -> (PageWindow, PageWindow) {
    let number = PageNumber::parse(&depth.to_string()).expect("a page number");
    let by_offset = PageWindow::new(number);
    let Some(before) = number.previous() else {
        return (by_offset, by_offset);
    };
    let rows = optimized::page_rows(db, PageWindow::new(before))
        .await
        .expect("rows load");
    let last = rows.get(19).expect("a full page before");
    let cursor = Cursor::after(last.published_at, last.id).expect("published");
    (by_offset, PageWindow::after(cursor))
}

fn keyset_pagination(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("keyset_pagination"));
    group.sample_size(30);
    for depth in DEPTHS {
        let (by_offset, by_cursor) = runtime.block_on(windows(db, depth));
        let same = |window| {
            runtime
                .block_on(optimized::page_rows(db, window))
                .expect("rows load")
                .iter()
                .map(|row| row.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            same(by_offset),
            same(by_cursor),
            "the same posts at depth {depth}"
        );
        group.bench_with_input(BenchmarkId::new("offset", depth), &by_offset, |b, &w| {
            b.to_async(&runtime).iter(|| optimized::page_rows(db, w));
        });
        group.bench_with_input(BenchmarkId::new("keyset", depth), &by_cursor, |b, &w| {
            b.to_async(&runtime).iter(|| optimized::page_rows(db, w));
        });
    }
    group.finish();
}

criterion_group!(benches, keyset_pagination);
criterion_main!(benches);
