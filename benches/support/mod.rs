//! What every bench needs: a runtime, and the standard dataset on the backend chosen
//! by `BENCH_DATABASE_URL` (unset: a SQLite file under `target/bench-data/`), seeded
//! once and reused by later runs, never per iteration.

#![allow(dead_code)] // each bench binary uses its own part of this module

use indicatif::{ProgressBar, ProgressStyle};
use perfblog::base::config::{Backend, DatabaseUrl};
use perfblog::base::entities::{comment, post, user};
use perfblog::services::seed::{self, DatasetSize, Existing};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use tokio::runtime::Runtime;

const SQLITE_BENCH_URL: &str = "sqlite://target/bench-data/standard.sqlite?mode=rwc";

pub struct BenchDatabase {
    pub db: DatabaseConnection,
    pub backend: Backend,
    /// Where `db` points, for benches that open connections of their own.
    pub url: DatabaseUrl,
}

impl BenchDatabase {
    /// `eager_loading-postgres`: one criterion group per pattern and backend, so the
    /// two backends' results sit side by side in `target/criterion/`.
    pub fn group_name(&self, pattern: &str) -> String {
        let backend = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        format!("{pattern}-{backend}")
    }
}

/// A single-threaded runtime: criterion drives each sample with `block_on` from its
/// own thread, and on a multi-threaded runtime every I/O wake-up would hop from a
/// worker thread to that thread, a cost of the harness rather than of the loaders.
/// (The speed-up ratios came out the same both ways; absolute times are lower here.)
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the benches")
}

/// Migrates, connects and makes sure the standard dataset is there.
pub fn standard_database(runtime: &Runtime) -> BenchDatabase {
    let raw = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| SQLITE_BENCH_URL.to_owned());
    let url = DatabaseUrl::parse(&raw)
        .unwrap_or_else(|problem| panic!("BENCH_DATABASE_URL cannot be used: {problem}"));
    runtime.block_on(async {
        perfblog::services::db::migrate(&url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "{error:#}\n(for PostgreSQL, create the database first, e.g. \
                 `createdb -h 127.0.0.1 -U postgres perfblog_bench`)"
                )
            });
        let db = perfblog::services::db::connect(&url)
            .await
            .unwrap_or_else(|error| panic!("{error:#}"));
        if !holds_standard_dataset(&db).await {
            eprintln!(
                "Seeding the standard dataset into {} (once)…",
                url.redacted()
            );
            let progress = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template("[{bar:40}] {pos}/{len} posts") {
                progress.set_style(style);
            }
            seed::seed(&db, DatasetSize::STANDARD, Existing::Replace, &progress)
                .await
                .expect("the standard dataset is seeded");
        }
        BenchDatabase {
            db,
            backend: url.backend(),
            url: url.clone(),
        }
    })
}

/// A workbench on the standard dataset for the comparisons of `src/lab/lessons/`:
/// their writes kept (on databases of their own, made on first use), Redis where
/// `BENCH_REDIS_URL` says, and reads from the standby of `BENCH_DATABASE_URL`'s
/// server that `BENCH_REPLICA_URL` names (its watcher running on the current runtime:
/// call this inside `runtime.enter()`).
pub fn workbench(runtime: &Runtime, bench: &BenchDatabase) -> perfblog::lab::workbench::Workbench {
    let workbench = perfblog::lab::workbench::Workbench::for_benches(
        bench.db.clone(),
        bench.url.clone(),
        std::env::var("BENCH_REDIS_URL").ok(),
    );
    let Ok(standby) = std::env::var("BENCH_REPLICA_URL") else {
        return workbench;
    };
    let settings = perfblog::base::config::StandbySettings {
        urls: vec![DatabaseUrl::parse(&standby).expect("BENCH_REPLICA_URL is a database URL")],
        max_lag: perfblog::base::config::DEFAULT_REPLICA_MAX_LAG,
    };
    let reads = runtime
        .block_on(perfblog::services::db::reads(
            &bench.db, &bench.url, &settings,
        ))
        .expect("BENCH_REPLICA_URL: the standby's pool");
    let watcher = reads.clone();
    runtime.spawn(async move {
        // Never told to stop: it watches for the whole bench run.
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        watcher.watch(stopped).await;
    });
    // The watcher's first look, before any comparison reads.
    runtime.block_on(tokio::time::sleep(
        2 * perfblog::services::db::standbys::CHECK_EVERY,
    ));
    workbench.with_reads(reads)
}

async fn holds_standard_dataset(db: &DatabaseConnection) -> bool {
    let standard = DatasetSize::STANDARD;
    let posts = post::Entity::find().count(db).await.unwrap_or(0);
    let users = user::Entity::find().count(db).await.unwrap_or(0);
    let comments = comment::Entity::find().count(db).await.unwrap_or(0);
    posts == standard.posts as u64 && users == standard.users as u64 && comments > 100_000
}

/// The caches a bench measures: in process always, and Redis when `BENCH_REDIS_URL`
/// is set (under a namespace of this run's own). The Redis connection manager spawns
/// its tasks on the current runtime: call this inside `runtime.enter()`.
pub fn caches() -> Vec<(&'static str, perfblog::base::config::CacheSettings)> {
    use perfblog::base::config::CacheSettings;
    let mut caches = vec![("memory", CacheSettings::Memory)];
    if let Ok(url) = std::env::var("BENCH_REDIS_URL") {
        caches.push((
            "redis",
            CacheSettings::Redis {
                url,
                namespace: format!("perfblog-bench-{}", std::process::id()),
            },
        ));
    }
    caches
}

/// The whole app's router on `db`, with `cache` and the page cache on or off, mail to
/// a temporary folder: what the page benches send their requests through.
pub fn app(
    db: &DatabaseConnection,
    cache: perfblog::base::config::CacheSettings,
    page_cache: bool,
) -> axum::Router {
    inspecting_app(
        db,
        cache,
        page_cache,
        perfblog::base::config::Inspection::default(),
        perfblog::base::config::RecordPolicy::Off,
    )
}

/// [`app`] with the N+1 detector and the SQL panel set as `inspection` says, and the
/// request history keeping what `record` says (the page benches keep nothing: their
/// figures are the lessons', not the recorder's).
pub fn inspecting_app(
    db: &DatabaseConnection,
    cache: perfblog::base::config::CacheSettings,
    page_cache: bool,
    inspection: perfblog::base::config::Inspection,
    record: perfblog::base::config::RecordPolicy,
) -> axum::Router {
    use perfblog::base::config::{
        AdminToken, Config, MailSettings, PageCacheSettings, PerfRecording,
    };
    let config = Config {
        inspection,
        perf: PerfRecording {
            record,
            ..PerfRecording::default()
        },
        mail: MailSettings::Folder(std::env::temp_dir().join("perfblog-bench-mail")),
        cache,
        page_cache: PageCacheSettings {
            enabled: page_cache,
            ..PageCacheSettings::default()
        },
        ..Config::default()
    };
    let site = perfblog::views::site::Site::new(
        db.clone(),
        &config,
        AdminToken::generate(),
        "http://bench".to_owned(),
    )
    .expect("the pages' state");
    let state =
        perfblog::app::state::AppState::new(site, db.clone(), &config).expect("the app's state");
    perfblog::app::startup::router(&state)
}

/// The request recorder's spans, as the binary installs them (`main.rs`): without
/// them a recorded request keeps its statements only, and costs less than it does in
/// the server.
pub fn record_spans() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::registry()
        .with(perfblog::base::instrument::trace::SpanRecorder::layer());
    let _ = tracing::subscriber::set_global_default(subscriber);
}
