//! Every pattern's comparisons, as `src/lab/lessons/` defines them — the same setup and
//! the same two sides the lab runs live — at each size their `docs/patterns/*.md` lists,
//! in the group `{pattern}-{backend}` as `{measure}-naive` and `{measure}-optimized`.
//! Each side decides what is timed (`Runs::time`); what it does around that is not.
//!
//! `cargo bench --bench lessons` (SQLite), `-- eager-loading` for one pattern;
//! `BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://… cargo bench --bench lessons`.

mod support;

use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::lab::compare::{Compare, Runs, Which};
use perfblog::lab::lessons;
use perfblog::lab::workbench::Workbench;

fn lessons(c: &mut Criterion) {
    let runtime = support::runtime();
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let workbench = support::workbench(&bench);
    for pattern in perfblog::lab::catalog().patterns() {
        let Some(lesson) = lessons::find(&pattern.slug) else {
            continue;
        };
        let mut group = c.benchmark_group(bench.group_name(&pattern.slug));
        for measure in &pattern.measures {
            let Some(comparison) = lesson.comparison(&measure.id) else {
                continue;
            };
            if comparison.needs_redis() && workbench.redis_url.is_none() {
                eprintln!(
                    "{}/{}: skipped, BENCH_REDIS_URL is not set",
                    pattern.slug, measure.id
                );
                continue;
            }
            group.sample_size(comparison.samples());
            let sizes: Vec<Option<u64>> = if measure.sizes.is_empty() {
                vec![None]
            } else {
                measure.sizes.iter().copied().map(Some).collect()
            };
            for size in sizes {
                let input = runtime
                    .block_on(comparison.setup(&workbench, size))
                    .unwrap_or_else(|error| panic!("{}/{}: {error:?}", pattern.slug, measure.id));
                for which in Which::BOTH {
                    let function = format!("{}-{}", measure.id, which.label());
                    let run = |b: &mut Bencher<'_, WallTime>| {
                        b.to_async(&runtime).iter_custom(|iterations| {
                            side(comparison, which, &workbench, &input, iterations)
                        });
                    };
                    match size {
                        Some(size) => group.bench_function(BenchmarkId::new(function, size), run),
                        None => group.bench_function(function, run),
                    };
                }
            }
        }
        group.finish();
    }
}

/// `iterations` timed runs of one side, their total what criterion reads.
async fn side(
    comparison: &dyn Compare,
    which: Which,
    workbench: &Workbench,
    input: &perfblog::lab::compare::Input,
    iterations: u64,
) -> std::time::Duration {
    let mut runs = Runs::iterations(iterations);
    if let Err(error) = comparison.side(which, workbench, input, &mut runs).await {
        panic!("{} {}: {error:?}", comparison.measure(), which.label());
    }
    runs.total()
}

criterion_group!(benches, lessons);
criterion_main!(benches);
