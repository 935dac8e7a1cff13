//! The view counter's three rungs: read-add-write (two statements, loses updates),
//! `UPDATE … SET view_count = view_count + 1` (one statement, a write and a commit
//! per view), and write-behind (`write-behind`: a tally in process and one read of
//! the stored count; `write-behind-redis`: the tally in Redis, with
//! `BENCH_REDIS_URL`), with 1 and with 16 views of the same post in flight at once.
//! One iteration = that many views. The tally is never flushed here: a flush is one
//! statement a second, whatever the rate of views.

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::cache::{FragmentCache, ViewTally};
use perfblog::views::post_detail::{naive, optimized, write_behind};
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
    let tallies: Vec<(String, ViewTally)> = {
        let _inside = runtime.enter();
        support::caches()
            .into_iter()
            .map(|(name, settings)| {
                let id = match name {
                    "memory" => "write-behind".to_owned(),
                    other => format!("write-behind-{other}"),
                };
                let cache = FragmentCache::new(&settings).expect("a cache");
                (id, ViewTally::new(&cache))
            })
            .collect()
    };
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
        for (id, tally) in &tallies {
            group.bench_with_input(BenchmarkId::new(id, tasks), &tasks, |b, &tasks| {
                b.to_async(&runtime).iter(|| {
                    view_concurrently(db, tasks, |db| {
                        let tally = tally.clone();
                        async move { write_behind::count_view(&db, &tally, POST_ID).await }
                    })
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, atomic_counter);
criterion_main!(benches);
