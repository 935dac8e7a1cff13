//! Bulk updates: publishing N drafts by loading and saving each (naive) against one
//! `UPDATE … WHERE status = 'draft'` (optimized), at 100, 1,000 and 10,000 rows.
//!
//! Each measured run starts from exactly N drafts; putting them back is not timed.
//! Runs against a scratch database (10,000 posts), never the standard one.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::entities::post;
use perfblog::seed::DatasetSize;
use perfblog::views::admin::{naive, optimized};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
};

const ROWS: [u64; 3] = [100, 1_000, 10_000];

/// Every post published, then posts 1..=rows back to drafts.
async fn make_drafts(db: &DatabaseConnection, rows: u64) {
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Published))
        .filter(post::Column::Status.ne(post::Status::Published))
        .exec(db)
        .await
        .expect("reset runs");
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Draft))
        .filter(post::Column::Id.lte(rows as i32))
        .exec(db)
        .await
        .expect("reset runs");
    // Each run leaves N dead row versions on PostgreSQL; clear them as autovacuum would
    // between bursts, so every measured run starts from the same table.
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM posts")
            .await
            .expect("vacuum runs");
    }
}

fn bulk_update(c: &mut Criterion) {
    let runtime = support::runtime();
    let size = DatasetSize {
        posts: 10_000,
        comments_per_post: 0,
        ..DatasetSize::STANDARD
    };
    let bench = support::scratch_database(&runtime, "bulk_update", size);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("bulk_update"));
    group.sample_size(10);

    for rows in ROWS {
        group.bench_with_input(
            BenchmarkId::new("publish-naive", rows),
            &rows,
            |b, &rows| {
                b.to_async(&runtime).iter_custom(|iterations| async move {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iterations {
                        make_drafts(db, rows).await;
                        let started = Instant::now();
                        let changed = naive::publish_drafts(db, Utc::now()).await.expect("runs");
                        spent += started.elapsed();
                        assert_eq!(changed, rows);
                    }
                    spent
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("publish-optimized", rows),
            &rows,
            |b, &rows| {
                b.to_async(&runtime).iter_custom(|iterations| async move {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iterations {
                        make_drafts(db, rows).await;
                        let started = Instant::now();
                        let changed = optimized::publish_drafts(db, Utc::now())
                            .await
                            .expect("runs");
                        spent += started.elapsed();
                        assert_eq!(changed, rows);
                    }
                    spent
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bulk_update);
criterion_main!(benches);
