//! Indexes: the optimized post page's and list page's statements, and the admin's title
//! search, with the schema's indexes and with them dropped. Both run in one
//! transaction, rolled back at the end: the "without" runs follow a `DROP INDEX` that
//! never commits, so the standard dataset keeps its indexes.

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::catalog::indexes::{drop_indexes, title_search};
use perfblog::catalog::measure::newest_post;
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::slug::Slug;
use perfblog::views::{post_detail, post_list};
use sea_orm::ConnectionTrait;

fn indexes(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let (_, slug) = runtime.block_on(newest_post(db)).expect("a published post");
    let slug = Slug::parse(&slug).expect("a valid slug");
    let first = PageWindow::new(PageNumber::FIRST);
    let search = title_search(db.get_database_backend()).expect("a valid search");
    let txn = runtime
        .block_on(perfblog::db::begin_write(db))
        .expect("a transaction");
    let mut group = c.benchmark_group(bench.group_name("indexes"));
    group.sample_size(20);
    for indexed in [true, false] {
        if !indexed {
            runtime
                .block_on(drop_indexes(&txn))
                .expect("the indexes drop");
        }
        let name = |with: &'static str, without: &'static str| if indexed { with } else { without };
        group.bench_function(name("post-page-with", "post-page-without"), |b| {
            b.to_async(&runtime)
                .iter(|| post_detail::optimized::load(&txn, &slug));
        });
        group.bench_function(name("list-page-with", "list-page-without"), |b| {
            b.to_async(&runtime)
                .iter(|| post_list::optimized::load_page(&txn, first));
        });
        group.bench_function(name("title-search-with", "title-search-without"), |b| {
            b.to_async(&runtime)
                .iter(|| txn.query_all_raw(search.clone()));
        });
    }
    group.finish();
    runtime.block_on(txn.rollback()).expect("the rollback");
}

criterion_group!(benches, indexes);
criterion_main!(benches);
