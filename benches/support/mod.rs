//! What every bench needs: a runtime, and the standard dataset on the backend chosen
//! by `BENCH_DATABASE_URL` (unset: a SQLite file under `target/bench-data/`), seeded
//! once and reused by later runs, never per iteration.

#![allow(dead_code)] // each bench binary uses its own part of this module

use indicatif::{ProgressBar, ProgressStyle};
use perfblog::config::{Backend, DatabaseUrl};
use perfblog::entities::{comment, post, user};
use perfblog::seed::{self, DatasetSize, Existing};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};
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

/// Connects, migrates and makes sure the standard dataset is there.
pub fn standard_database(runtime: &Runtime) -> BenchDatabase {
    let raw = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| SQLITE_BENCH_URL.to_owned());
    let url = DatabaseUrl::parse(&raw)
        .unwrap_or_else(|problem| panic!("BENCH_DATABASE_URL cannot be used: {problem}"));
    runtime.block_on(async {
        let db = perfblog::db::connect(&url).await.unwrap_or_else(|error| {
            panic!(
                "{error:#}\n(for PostgreSQL, create the database first, e.g. \
                 `createdb -h 127.0.0.1 -U postgres perfblog_bench`)"
            )
        });
        perfblog::db::migrate(&db).await.expect("migrations apply");
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

/// A database of its own for a bench that writes (`name` is part of its name), created
/// fresh on each run and seeded with `size`: the standard dataset stays untouched.
pub fn scratch_database(runtime: &Runtime, name: &str, size: DatasetSize) -> BenchDatabase {
    let raw = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| SQLITE_BENCH_URL.to_owned());
    let standard = DatabaseUrl::parse(&raw)
        .unwrap_or_else(|problem| panic!("BENCH_DATABASE_URL cannot be used: {problem}"));
    runtime.block_on(async {
        let url = match standard.backend() {
            Backend::Sqlite => {
                let file = format!("target/bench-data/{name}.sqlite");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{file}{suffix}"));
                }
                format!("sqlite://{file}?mode=rwc")
            }
            Backend::Postgres => {
                let server = sea_orm::Database::connect(standard.as_str())
                    .await
                    .expect("BENCH_DATABASE_URL accepts connections");
                let mut url = url::Url::parse(standard.as_str()).expect("a URL");
                let database = format!("{}_{name}", url.path().trim_start_matches('/'));
                for statement in [
                    format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
                    format!("CREATE DATABASE \"{database}\""),
                ] {
                    server
                        .execute_unprepared(&statement)
                        .await
                        .expect("the scratch database is created");
                }
                url.set_path(&database);
                url.to_string()
            }
        };
        let url = DatabaseUrl::parse(&url).expect("scratch URL parses");
        let db = perfblog::db::connect(&url).await.expect("connects");
        perfblog::db::migrate(&db).await.expect("migrations apply");
        seed::seed(&db, size, Existing::Replace, &ProgressBar::hidden())
            .await
            .expect("the scratch dataset is seeded");
        BenchDatabase {
            db,
            backend: url.backend(),
            url: url.clone(),
        }
    })
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
pub fn caches() -> Vec<(&'static str, perfblog::config::CacheSettings)> {
    use perfblog::config::CacheSettings;
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

/// `/posts/{slug}` of the newest published post: the post page benches open.
pub async fn newest_post_path(db: &DatabaseConnection) -> String {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let post = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .one(db)
        .await
        .expect("query runs")
        .expect("a published post");
    format!("/posts/{}", post.slug)
}

/// The whole app's router on `db`, with `cache` and the page cache on or off, mail to
/// a temporary folder: what the page benches send their requests through.
pub fn app(
    db: &DatabaseConnection,
    cache: perfblog::config::CacheSettings,
    page_cache: bool,
) -> axum::Router {
    inspecting_app(
        db,
        cache,
        page_cache,
        perfblog::config::Inspection::default(),
    )
}

/// [`app`] with the N+1 detector and the SQL panel set as `inspection` says.
pub fn inspecting_app(
    db: &DatabaseConnection,
    cache: perfblog::config::CacheSettings,
    page_cache: bool,
    inspection: perfblog::config::Inspection,
) -> axum::Router {
    use perfblog::config::{AdminToken, Config, MailSettings, PageCacheSettings};
    let config = Config {
        inspection,
        mail: MailSettings::Folder(std::env::temp_dir().join("perfblog-bench-mail")),
        cache,
        page_cache: PageCacheSettings {
            enabled: page_cache,
            ..PageCacheSettings::default()
        },
        ..Config::default()
    };
    let state = perfblog::state::AppState::new(
        db.clone(),
        &config,
        AdminToken::generate(),
        "http://bench".to_owned(),
    )
    .expect("the app's state");
    perfblog::startup::router(&state)
}
