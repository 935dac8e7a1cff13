//! Eager loading: completing a list page's entries — author, tags, comment count — per
//! post (naive) or with one query per kind of thing (optimized), for the same posts at
//! 10, 20, 50 and 100 a page; and the post page of the most commented post (50
//! comments shown), its authors asked for one by one or joined. The steps are called
//! directly, without HTTP and without the sidebar, so nothing else hides the
//! difference; the list's page query runs once per size, and each run's copy of the
//! posts (the naive side's carry their bodies) is made outside the measurement.
//!
//! `cargo bench --bench eager_loading` (SQLite);
//! `BENCH_DATABASE_URL=postgres://… cargo bench --bench eager_loading` (PostgreSQL).

mod support;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::entities::{comment, post};
use perfblog::instrument::count_queries;
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::post_list::optimized::PostRow;
use perfblog::views::slug::Slug;
use perfblog::views::{post_detail, post_list};
use sea_orm::{
    ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};

const PAGE_SIZES: [u64; 4] = [10, 20, 50, 100];

fn eager_loading(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("eager_loading"));
    group.sample_size(30);

    for size in PAGE_SIZES {
        let window = PageWindow::new(PageNumber::FIRST).with_size(size);
        let (posts, _) = window.split(
            runtime
                .block_on(post_list::naive::page_rows(db, window))
                .expect("the page loads"),
        );
        let rows: Vec<PostRow> = posts.iter().cloned().map(PostRow::from).collect();
        let (_, naive) = runtime.block_on(count_queries(post_list::naive::summarize(
            db,
            posts.clone(),
        )));
        let (_, optimized) = runtime.block_on(count_queries(post_list::optimized::summarize(
            db,
            rows.clone(),
        )));
        println!(
            "entries of {size} posts: naive {} statements, optimized {}",
            naive.statements, optimized.statements
        );
        group.bench_with_input(
            BenchmarkId::new("entries-naive", size),
            &posts,
            |b, posts| {
                b.to_async(&runtime).iter_batched(
                    || posts.clone(),
                    |posts| post_list::naive::summarize(db, posts),
                    BatchSize::SmallInput,
                );
            },
        );
        group.bench_with_input(
            BenchmarkId::new("entries-optimized", size),
            &rows,
            |b, rows| {
                b.to_async(&runtime).iter_batched(
                    || rows.clone(),
                    |rows| post_list::optimized::summarize(db, rows),
                    BatchSize::SmallInput,
                );
            },
        );
    }

    let slug = runtime.block_on(most_commented_published_post(db));
    group.bench_function("detail-naive", |b| {
        b.to_async(&runtime)
            .iter(|| post_detail::naive::load(db, &slug));
    });
    group.bench_function("detail-optimized", |b| {
        b.to_async(&runtime)
            .iter(|| post_detail::optimized::load(db, &slug));
    });
    group.finish();
}

/// The worst case for the naive post page: 50 comments shown, 50 author lookups.
async fn most_commented_published_post(db: &sea_orm::DatabaseConnection) -> Slug {
    let slug: String = post::Entity::find()
        .select_only()
        .column(post::Column::Slug)
        .join(JoinType::InnerJoin, post::Relation::Comment.def())
        .filter(post::Column::Status.eq(post::Status::Published))
        .group_by(post::Column::Id)
        .group_by(post::Column::Slug)
        .order_by_desc(comment::Column::Id.count())
        .order_by_asc(post::Column::Id)
        .into_tuple()
        .one(db)
        .await
        .expect("query runs")
        .expect("the dataset has commented posts");
    Slug::parse(&slug).expect("seeded slugs are valid")
}

criterion_group!(benches, eager_loading);
criterion_main!(benches);
