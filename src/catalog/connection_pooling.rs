//! Connection pooling: open a connection for each request and close it after, or take
//! one that is already open from the pool.

use super::measure::{Fetched, Outcome, Workbench, measure};
use super::{Comparison, Pattern, Place, Side};
use crate::db;
use crate::error::AppError;
use crate::views::post_detail;
use crate::views::slug::Slug;

/// Every page: each one needs a connection.
pub const EVERY_PAGE: Place = Place {
    view: "every page",
    path: "/",
    folder: "src/db",
};

pub static PATTERN: Pattern = Pattern {
    slug: "connection-pooling",
    title: "Connection pooling",
    django: "`CONN_MAX_AGE` (persistent connections), or from Django 5.1 a real pool: `OPTIONS={'pool': True}` (psycopg's pool)",
    rails: Some("built in: Active Record's pool, `pool:` in `database.yml`"),
    problem: "Opening a database connection for each request — on PostgreSQL a TCP handshake, authentication and a new backend process; on SQLite opening the file and setting its pragmas — can cost more than the queries the request came for.",
    setup: "Both sides load the same post page (the optimized post loader's four statements). The naive side first opens a connection of its own, with the same options as the app's pool, and closes it after; the optimized side takes one from the lab's pool, already open and warm.",
    why: "A pool keeps connections open and lends one to each request for as long as it needs it: connecting is paid once per connection, not per request. And a connection that lives keeps its prepared statements (sqlx caches 100 per connection), so a query it has run before is not parsed and planned again — the bench measures that too, with the cache off.",
    when_not: "A command that runs one query and exits gains nothing. Behind an external pooler (PgBouncer) the app's own pool mostly bounds concurrency. And a bigger pool is not faster: on PostgreSQL each connection is a process, and more busy connections than cores only add context switches — on this 2-core machine 4 connections served the list faster than 20.",
    shows_on: &[EVERY_PAGE],
    naive: Side {
        summary: "a connection opened for the request and closed after it",
        code: &[
            code!("src/db/mod.rs", "connect_one"),
            code!("src/db/mod.rs", "open"),
        ],
    },
    optimized: Side {
        summary: "a connection from the pool, open and holding its prepared statements",
        code: &[
            code!("src/db/mod.rs", "connect"),
            code!("src/db/mod.rs", "open"),
            code!("src/db/mod.rs", "default_postgres_pool"),
        ],
    },
    tests: &["tests/api/pooling.rs"],
    benches: &[
        Comparison {
            what: "connection pooling: post page, connection per request",
            bench: "connection_pooling",
            naive: "connection-per-request",
            optimized: "pooled",
            headline: None,
        },
        Comparison {
            what: "connection pooling: post page, prepared statements not cached",
            bench: "connection_pooling",
            naive: "pooled-no-statement-cache",
            optimized: "pooled",
            headline: None,
        },
    ],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let (_, slug) = bench.newest_post().await?;
    let slug = Slug::parse(&slug).map_err(AppError::BadRequest)?;
    Ok(Outcome {
        naive: measure(|| async {
            let own = db::connect_one(&bench.database_url).await?;
            let loaded = post_detail::optimized::load(&own, &slug).await;
            own.close().await?;
            Ok(Fetched::rows(usize::from(loaded?.is_some())))
        })
        .await?,
        optimized: measure(|| async {
            let loaded = post_detail::optimized::load(&bench.db, &slug).await?;
            Ok(Fetched::rows(usize::from(loaded.is_some())))
        })
        .await?,
    })
}
