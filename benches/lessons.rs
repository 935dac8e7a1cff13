//! Every pattern's comparisons, as `src/lab/lessons/` defines them — the same setup and
//! the same two sides the lab runs live — at each size their `docs/patterns/*.md` lists,
//! in the group `{pattern}-{backend}` as `{measure}-naive` and `{measure}-optimized`.
//! Each side decides what is timed (`Runs::time`); what it does around that is not.
//!
//! `cargo bench --bench lessons` (SQLite), `-- eager-loading` for one pattern;
//! `BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://… cargo bench --bench lessons`;
//! the lessons about standbys run only with `BENCH_REPLICA_URL` (a standby of the
//! `BENCH_DATABASE_URL` server).

mod support;

use catalog::Unit;
use catalog::report::{Amount, FOUND_FILE};
use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkId, Criterion, criterion_group, criterion_main};
use perfblog::lab::compare::{Compare, Runs, Which};
use perfblog::lab::lessons;
use perfblog::lab::workbench::Workbench;

fn lessons(c: &mut Criterion) {
    let runtime = support::runtime();
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let workbench = support::workbench(&runtime, &bench);
    for pattern in perfblog::lab::catalog().patterns() {
        let Some(lesson) = lessons::find(&pattern.slug) else {
            continue;
        };
        let mut group = c.benchmark_group(bench.group_name(&pattern.slug));
        for measure in &pattern.measures {
            let Some(comparison) = lesson.comparison(&measure.id) else {
                continue;
            };
            if let Some(missing) = missing_service(comparison, &workbench) {
                eprintln!(
                    "{}/{}: skipped, {missing} is not set",
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
                    let found = runtime.block_on(found(
                        comparison,
                        which,
                        &workbench,
                        &input,
                        measure.unit,
                    ));
                    file_found(&bench.group_name(&pattern.slug), &function, size, found);
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

/// The setting a comparison needs and the bench run lacks: Redis, or a standby.
fn missing_service(comparison: &dyn Compare, workbench: &Workbench) -> Option<&'static str> {
    if comparison.needs_redis() && workbench.redis_url.is_none() {
        Some("BENCH_REDIS_URL")
    } else if comparison.needs_standby() && !workbench.reads.has_standbys() {
        Some("BENCH_REPLICA_URL")
    } else {
        None
    }
}

/// What one side finds in the measure's unit when it is not time (views kept of a
/// race, bytes held): one run as the lab runs it, which plays out what the bench's
/// timed runs skip.
async fn found(
    comparison: &dyn Compare,
    which: Which,
    workbench: &Workbench,
    input: &perfblog::lab::compare::Input,
    unit: Unit,
) -> Option<Amount> {
    if unit == Unit::Speed || unit == Unit::TimeSaved {
        return None;
    }
    match comparison
        .side(which, workbench, input, &mut Runs::live())
        .await
    {
        Ok(facts) => facts.in_unit(unit),
        Err(error) => panic!("{} {}: {error:?}", comparison.measure(), which.label()),
    }
}

/// Files `found` where bench-report looks for it: beside the side's criterion result
/// (`{criterion}/{group}/{function}/{size}/found.json`), criterion's folder found as
/// criterion finds it (`CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
/// `target/criterion`).
fn file_found(group: &str, function: &str, size: Option<u64>, found: Option<Amount>) {
    let Some(found) = found else {
        return;
    };
    let home = std::env::var_os("CRITERION_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(|dir| std::path::PathBuf::from(dir).join("criterion"))
        })
        .unwrap_or_else(|| "target/criterion".into());
    let mut dir = home.join(group).join(function);
    if let Some(size) = size {
        dir = dir.join(size.to_string());
    }
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let json = serde_json::to_string(&found).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(FOUND_FILE), json)
    });
    if let Err(error) = written {
        panic!("{}: {error}", dir.display());
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
