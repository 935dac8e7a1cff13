//! What the N+1 detector and the SQL panel cost: the optimized list page, rendered
//! each time (page cache off, sidebar from the fragment cache), through the router
//! without a network, with the detector off, on (`N_PLUS_ONE=log`, the default) and
//! with the panel on too (`PERFBLOG_INSPECT=1`). The detector works out each
//! statement's shape and tallies it; the panel renders the tallies into the footer.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use perfblog::config::{CacheSettings, Inspection, NPlusOne};
use tower::ServiceExt;

async fn get(app: &Router, path: &str) {
    let request = Request::get(path).body(Body::empty()).expect("a request");
    let response = app.clone().oneshot(request).await.expect("answered");
    assert_eq!(response.status(), 200, "{path}");
}

fn n_plus_one(c: &mut Criterion) {
    let runtime = support::runtime();
    let _entered = runtime.enter();
    let bench = support::standard_database(&runtime);
    let mut group = c.benchmark_group(bench.group_name("n_plus_one"));

    let settings = [
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
    ];
    for (id, inspection) in settings {
        let app = support::inspecting_app(&bench.db, CacheSettings::Memory, false, inspection);
        runtime.block_on(get(&app, "/"));
        group.bench_function(id, |b| {
            b.to_async(&runtime).iter(|| get(&app, "/"));
        });
    }
    group.finish();
}

criterion_group!(benches, n_plus_one);
criterion_main!(benches);
