//! What the N+1 detector and the SQL panel cost: the optimized list page, rendered
//! each time (page cache off, sidebar from the fragment cache), through the router
//! without a network, with the detector off, on (`N_PLUS_ONE=log`, the default) and
//! with the panel on too (`PERFBLOG_INSPECT=1`). The detector works out each
//! statement's shape and tallies it; the panel renders the tallies into the footer.
//! `shapes-of-the-list` times the detector's own work for that page alone.
//!
//! The request recorder on the same page: `PERF_RECORD=all` (every request traced —
//! a span per layer, part, cache call and template, a copy of each statement — and
//! kept) and `slow` (every request traced, this one not kept), each paired with
//! `off`. And what the recorder costs when it records nothing, on a route that does
//! nothing else: an `X-Request-Id` and the layers' spans that are never opened.
//!
//! SQL comments (`SQL_COMMENTS`) on the same page, traced as `cargo run` traces it (so
//! each comment names its function), paired with the page without them.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::base::config::{CacheSettings, Inspection, NPlusOne, RecordPolicy};
use perfblog::base::instrument::{record_queries, shape};
use perfblog::views::pagination::{PageNumber, PageWindow};
use perfblog::views::post_list::optimized;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// A request as a browser sends it, its body read to the end (compressed, and — when
/// recorded — the record made as the body ends).
async fn get(app: &Router, path: &str) {
    let request = Request::get(path)
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .body(Body::empty())
        .expect("a request");
    let response = app.clone().oneshot(request).await.expect("answered");
    assert_eq!(response.status(), 200, "{path}");
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
}

/// The three settings compared, as (criterion id, settings).
fn settings() -> [(&'static str, Inspection); 3] {
    [
        (
            "list-detector-off",
            Inspection {
                n_plus_one: NPlusOne::Off,
                ..Inspection::default()
            },
        ),
        ("list-detector-log", Inspection::default()),
        (
            "list-detector-and-panel",
            Inspection {
                panel: true,
                ..Inspection::default()
            },
        ),
    ]
}

fn n_plus_one(c: &mut Criterion) {
    let runtime = support::runtime();
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let mut group = c.benchmark_group(bench.group_name("n_plus_one"));

    let settings = settings();
    let apps: Vec<Router> = settings
        .iter()
        .map(|(_, inspection)| {
            let app = support::inspecting_app(
                &bench.db,
                CacheSettings::Memory,
                false,
                *inspection,
                RecordPolicy::Off,
            );
            runtime.block_on(get(&app, "/"));
            app
        })
        .collect();
    // The differences are a few microseconds on a page of 0.6-0.8 ms (as measured),
    // and this machine drifts by more than that between runs: each timed request of
    // one setting runs in a round with an untimed one of each other setting, in turn
    // first, second and third, so drift and position reach the three alike.
    for (timed, (id, _)) in settings.iter().enumerate() {
        let apps = &apps;
        group.bench_function(*id, |b| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let mut spent = Duration::ZERO;
                for round in 0..iters {
                    // The timed request takes each place in the round in turn.
                    for step in 0..apps.len() {
                        let index = (step + round as usize) % apps.len();
                        let started = Instant::now();
                        get(&apps[index], "/").await;
                        if index == timed {
                            spent += started.elapsed();
                        }
                    }
                }
                spent
            });
        });
    }

    // What each setting adds to the same page, from requests paired with the page
    // with the detector off in the same rounds (the order alternating): criterion's
    // phases above drift apart by more than the difference, and a difference near
    // zero is not a time criterion can take. Printed, with its spread.
    for (setting, name) in [(1, "the detector"), (2, "the detector and the panel")] {
        let added = runtime.block_on(paired_difference(&apps[0], &apps[setting]));
        eprintln!(
            "{}, cost of {name}: {added}",
            bench.group_name("n_plus_one")
        );
    }

    recorder_on_the_list(&runtime, &bench);
    recorder_off_by_itself(&runtime);
    sql_comments_on_the_list(&runtime, &bench);
    shapes_of_the_list(&mut group, &runtime, &bench);
    group.finish();
}

/// The app serving the optimized list (page cache off, sidebar cached in process) as
/// `inspection` and `record` say, its first request made.
fn the_list(
    runtime: &tokio::runtime::Runtime,
    bench: &support::BenchDatabase,
    inspection: Inspection,
    record: RecordPolicy,
) -> Router {
    let app = support::inspecting_app(&bench.db, CacheSettings::Memory, false, inspection, record);
    runtime.block_on(get(&app, "/"));
    app
}

/// The optimized list with the recorder off, keeping every request, and tracing every
/// request to keep only those with a finding (none here): paired, printed.
fn recorder_on_the_list(runtime: &tokio::runtime::Runtime, bench: &support::BenchDatabase) {
    support::record_spans();
    let recording = |record| the_list(runtime, bench, Inspection::default(), record);
    let off = recording(RecordPolicy::Off);
    for (record, name) in [(RecordPolicy::All, "all"), (RecordPolicy::Slow, "slow")] {
        let added = runtime.block_on(paired_difference(&off, &recording(record)));
        eprintln!(
            "{}, cost of PERF_RECORD={name} on the list: {added}",
            bench.group_name("n_plus_one")
        );
    }
}

/// What the recorder and the layers' spans cost when nothing is recorded, on a route
/// that answers at once: the same route without them, paired.
fn recorder_off_by_itself(runtime: &tokio::runtime::Runtime) {
    use axum::routing::get as route_get;
    use perfblog::app::perf::{Recorder, record_requests};
    use perfblog::base::config::{CacheSettings as Cache, PerfRecording};
    use perfblog::services::history::History;
    use perfblog::services::http::spanned::Spanned;

    let bare = Router::new().route("/", route_get(|| async { "ok" }));
    let off = PerfRecording {
        record: RecordPolicy::Off,
        ..PerfRecording::default()
    };
    let recorder = Recorder::new(
        History::new(&off, &Cache::Memory).expect("a history"),
        false,
    );
    let mut layered = bare.clone();
    for label in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        layered = layered.layer(Spanned::new(label, tower::layer::util::Identity::new()));
    }
    let layered = layered.layer(axum::middleware::from_fn_with_state(
        recorder,
        record_requests,
    ));
    let added = runtime.block_on(paired_difference(&bare, &layered));
    eprintln!("recorder off and eight layers' spans, by themselves: {added}");
}

/// The optimized list with every statement commented, paired with the same list
/// without, both traced and kept (`PERF_RECORD=all`, as `cargo run` has it): printed.
fn sql_comments_on_the_list(runtime: &tokio::runtime::Runtime, bench: &support::BenchDatabase) {
    support::record_spans();
    let commenting = |sql_comments| {
        let inspection = Inspection {
            sql_comments,
            ..Inspection::default()
        };
        the_list(runtime, bench, inspection, RecordPolicy::All)
    };
    let added = runtime.block_on(paired_difference(&commenting(false), &commenting(true)));
    eprintln!(
        "{}, cost of SQL_COMMENTS=1 on the list: {added}",
        bench.group_name("n_plus_one")
    );
}

/// The detector's own work on that page, without the page: the shape of each
/// statement the optimized list runs.
fn shapes_of_the_list(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    bench: &support::BenchDatabase,
) {
    let (_, _, statements) = runtime.block_on(record_queries(async {
        let window = PageWindow::new(PageNumber::FIRST);
        optimized::load_page(&bench.db, window)
            .await
            .expect("loads")
    }));
    group.bench_function("shapes-of-the-list", |b| {
        b.iter(|| {
            statements
                .iter()
                .map(|sql| shape::of(std::hint::black_box(sql)).len())
                .sum::<usize>()
        });
    });
}

/// How much longer `on` answers `/` than `off`: 20 batches of 500 rounds, each round
/// one request to each (alternating which goes first); the mean of the batches'
/// differences per request, ± twice their standard error, and as a share of `off`.
async fn paired_difference(off: &Router, on: &Router) -> String {
    const BATCHES: u32 = 20;
    const ROUNDS: u32 = 500;
    let mut differences = Vec::new();
    let mut base = Duration::ZERO;
    for _ in 0..BATCHES {
        let (mut off_time, mut on_time) = (Duration::ZERO, Duration::ZERO);
        for round in 0..ROUNDS {
            let pair = if round % 2 == 0 { [off, on] } else { [on, off] };
            for app in pair {
                let started = Instant::now();
                get(app, "/").await;
                let elapsed = started.elapsed();
                if std::ptr::eq(app, off) {
                    off_time += elapsed;
                } else {
                    on_time += elapsed;
                }
            }
        }
        base += off_time;
        differences.push((on_time.as_secs_f64() - off_time.as_secs_f64()) / f64::from(ROUNDS));
    }
    let n = f64::from(BATCHES);
    let mean = differences.iter().sum::<f64>() / n;
    let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let error = 2.0 * (variance / n).sqrt();
    let page = base.as_secs_f64() / f64::from(BATCHES * ROUNDS);
    format!(
        "{:+.1} µs ± {:.1} µs per request to a {:.0} µs page ({:+.2} % ± {:.2} %)",
        mean * 1e6,
        error * 1e6,
        page * 1e6,
        100.0 * mean / page,
        100.0 * error / page
    )
}

criterion_group!(benches, n_plus_one);
criterion_main!(benches);
