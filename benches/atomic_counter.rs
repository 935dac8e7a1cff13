//! The view counter: read-add-write (naive, two statements, loses updates) against
//! `UPDATE … SET view_count = view_count + 1` (optimized, one statement), with 1 and
//! with 16 views of the same post in flight at once. One iteration = that many views.

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::views::post_detail::{naive, optimized};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::task::JoinSet;

const CONCURRENCY: [usize; 2] = [1, 16];
const POST_ID: i32 = 1;

/// `tasks` views of the post, all in flight at once, each counted by `count`.
async fn view_concurrently<F, Fut>(db: &DatabaseConnection, tasks: usize, count: F)
where
    F: Fn(DatabaseConnection) -> Fut,
    Fut: Future<Output = Result<i32, DbErr>> + Send + 'static,
{
    let mut views = JoinSet::new();
    for _ in 0..tasks {
        views.spawn(count(db.clone()));
    }
    while let Some(view) = views.join_next().await {
        view.expect("task runs").expect("view counted");
    }
}

fn atomic_counter(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let db = &bench.db;
    let mut group = c.benchmark_group(bench.group_name("atomic_counter"));

    for tasks in CONCURRENCY {
        group.bench_with_input(
            BenchmarkId::new("read-add-write", tasks),
            &tasks,
            |b, &tasks| {
                b.to_async(&runtime).iter(|| {
                    view_concurrently(db, tasks, |db| async move {
                        naive::count_view(&db, POST_ID).await
                    })
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("increment", tasks), &tasks, |b, &tasks| {
            b.to_async(&runtime).iter(|| {
                view_concurrently(db, tasks, |db| async move {
                    optimized::count_view(&db, POST_ID).await
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, atomic_counter);
criterion_main!(benches);
