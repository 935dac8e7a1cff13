//! Bulk inserts: importing N posts (two tags each) with one `INSERT` per row (naive)
//! against multi-row `INSERT`s of 1,000 rows (optimized), at 100, 1,000 and 10,000
//! rows. Validation is the same for both and is done once, outside the measurement;
//! deleting the imported posts between runs is not timed either.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::entities::post;
use perfblog::seed::DatasetSize;
use perfblog::views::import::{self, ImportRow, NewPost, naive, optimized};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
};

const ROWS: [usize; 3] = [100, 1_000, 10_000];

fn import_rows(count: usize) -> Vec<ImportRow> {
    let rows: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "title": format!("Bench import {i}"),
                "slug": format!("bench-import-{i}"),
                "body": "A paragraph of imported text. ".repeat(100),
                "author_email": "user1@example.com",
                "tags": ["rust", "sql"],
                "status": "published",
            })
        })
        .collect();
    serde_json::from_value(serde_json::Value::Array(rows)).expect("valid rows")
}

/// Removes the previous run's posts. On PostgreSQL their dead index entries would stay
/// until a vacuum, and every re-insert of the same slug would wade through more of them
/// (measured: the 100-row import slowed from 8 ms to 45 ms over a run); vacuuming here,
/// as autovacuum would between bursts, keeps every measured run on the same table.
async fn delete_imported(db: &DatabaseConnection) {
    post::Entity::delete_many()
        .filter(post::Column::Slug.starts_with("bench-import-"))
        .exec(db)
        .await
        .expect("cleanup runs");
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM posts, post_tags")
            .await
            .expect("vacuum runs");
    }
}

fn bulk_insert(c: &mut Criterion) {
    let runtime = support::runtime();
    let size = DatasetSize {
        posts: 0,
        ..DatasetSize::STANDARD
    };
    let bench = support::scratch_database(&runtime, "bulk_insert", size);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("bulk_insert"));
    group.sample_size(10);

    for rows in ROWS {
        runtime.block_on(delete_imported(db));
        let posts: Vec<NewPost> = runtime
            .block_on(import::validate(db, import_rows(rows), Utc::now()))
            .expect("rows are valid");
        let posts = &posts;
        group.bench_with_input(BenchmarkId::new("import-naive", rows), &rows, |b, _| {
            b.to_async(&runtime).iter_custom(|iterations| async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    delete_imported(db).await;
                    let started = Instant::now();
                    naive::insert(db, posts, Utc::now()).await.expect("inserts");
                    spent += started.elapsed();
                }
                spent
            });
        });
        group.bench_with_input(BenchmarkId::new("import-optimized", rows), &rows, |b, _| {
            b.to_async(&runtime).iter_custom(|iterations| async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    delete_imported(db).await;
                    let started = Instant::now();
                    optimized::insert(db, posts, Utc::now())
                        .await
                        .expect("inserts");
                    spent += started.elapsed();
                }
                spent
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bulk_insert);
criterion_main!(benches);
