//! The database: connecting (with query counting attached), commenting each statement
//! with where it came from ([`commented`]), migrating, starting
//! transactions that write, and asking how a statement would run ([`explain`] for the
//! lab, [`plan_tree`] for the request history).

pub mod bulk_insert;
pub mod commented;
pub mod counters;
pub mod exists;
pub mod explain;
pub mod indexes;
pub mod plan_tree;
pub mod scratch;
pub mod standbys;
pub mod statement_limit;

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::base::config::{Backend, DatabaseUrl, StandbySettings};
use crate::base::instrument;
use standbys::Reads;

/// Opens the app's pool on `url`, with query counting attached.
pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<DatabaseConnection> {
    open(url, Shape::POOL).await
}

/// One connection, opened now, for one unit of work, to be closed after it
/// (`close()`): what every request pays when there is no pool, and what [`migrate`]
/// runs on. The same options as the app's pool otherwise, query counting included.
pub async fn connect_one(url: &DatabaseUrl) -> anyhow::Result<DatabaseConnection> {
    open(
        url,
        Shape {
            connections: Some(1),
            ..Shape::POOL
        },
    )
    .await
}

/// The lab's pool: the app's, except that the database stops any statement that runs
/// longer than `limit` (on SQLite, any transaction too; see [`statement_limit`]), and
/// that it opens connections only once the lab is visited.
pub async fn connect_limited(
    url: &DatabaseUrl,
    limit: Duration,
) -> anyhow::Result<DatabaseConnection> {
    open(
        url,
        Shape {
            statement_limit: Some(limit),
            lazy: true,
            ..Shape::POOL
        },
    )
    .await
}

/// The app's pool without sqlx's prepared-statement cache: every statement is parsed
/// and planned again on every run. What the cache saves is measured by the pooling
/// bench; nothing else uses this.
pub async fn connect_without_statement_cache(
    url: &DatabaseUrl,
) -> anyhow::Result<DatabaseConnection> {
    open(
        url,
        Shape {
            statement_cache: false,
            ..Shape::POOL
        },
    )
    .await
}

/// The optimized pages' reads: from `settings`' standbys where they qualify, else
/// from `primary` (see [`standbys`]). Each standby's pool is the primary's size and
/// counts its statements the same way; it is opened lazily, so a standby that is down
/// at start-up is only left out until the watcher finds it answering.
pub async fn reads(
    primary: &DatabaseConnection,
    primary_url: &DatabaseUrl,
    settings: &StandbySettings,
) -> anyhow::Result<Reads> {
    if settings.urls.is_empty() {
        return Ok(Reads::primary_only(primary.clone().into()));
    }
    if primary_url.backend() != Backend::Postgres {
        anyhow::bail!(
            "DATABASE_REPLICA_URLS names standbys of a PostgreSQL primary; DATABASE_URL is {}",
            primary_url.backend()
        );
    }
    let mut standbys = Vec::new();
    for url in &settings.urls {
        if url.backend() != Backend::Postgres {
            anyhow::bail!(
                "DATABASE_REPLICA_URLS: {} is not a PostgreSQL URL",
                url.redacted()
            );
        }
        let pool = open(
            url,
            Shape {
                lazy: true,
                ..Shape::POOL
            },
        )
        .await?;
        standbys.push((url.host_and_port(), pool.into()));
    }
    let watching = open(
        primary_url,
        Shape {
            connections: Some(1),
            lazy: true,
            ..Shape::POOL
        },
    )
    .await?;
    Ok(Reads::new(
        primary.clone().into(),
        watching.into(),
        standbys,
        settings.max_lag,
    ))
}

/// How many connections a pool holds (`None`: the backend's default) and whether each
/// keeps its prepared statements.
#[derive(Clone, Copy)]
struct Shape {
    connections: Option<u32>,
    statement_cache: bool,
    /// Opens connections when first asked for one, not before returning.
    lazy: bool,
    /// How long the database lets a statement run before it stops it (`None`: forever).
    statement_limit: Option<Duration>,
}

impl Shape {
    const POOL: Shape = Shape {
        connections: None,
        statement_cache: true,
        lazy: false,
        statement_limit: None,
    };
}

async fn open(url: &DatabaseUrl, shape: Shape) -> anyhow::Result<DatabaseConnection> {
    let sqlite_dir = url
        .sqlite_file()
        .and_then(|file| std::path::Path::new(file).parent())
        .filter(|dir| !dir.as_os_str().is_empty());
    if let Some(dir) = sqlite_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the directory {}", dir.display()))?;
    }
    // sqlx's default: each connection keeps its 100 most recent prepared statements.
    let cached_statements = if shape.statement_cache { 100 } else { 0 };
    let mut options = ConnectOptions::new(url.as_str());
    options
        // sqlx would log every statement at INFO; the query counter reports them instead.
        .sqlx_logging(false)
        .acquire_timeout(url.acquire_timeout())
        .connect_lazy(shape.lazy);
    match url.backend() {
        Backend::Sqlite => {
            options
                .max_connections(shape.connections.or(url.max_connections()).unwrap_or(8))
                .map_sqlx_sqlite_opts(move |sqlite| {
                    // WAL lets readers run while a writer commits; NORMAL sync is safe with WAL.
                    sqlite
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(5))
                        .statement_cache_capacity(cached_statements)
                });
            if let Some(limit) = shape.statement_limit {
                options.map_sqlx_sqlite_pool_opts(move |pool| {
                    statement_limit::sqlite_pool(pool, limit)
                });
            }
        }
        Backend::Postgres => {
            options
                .max_connections(
                    shape
                        .connections
                        .or(url.max_connections())
                        .unwrap_or_else(default_postgres_pool),
                )
                .map_sqlx_postgres_opts(move |postgres| {
                    let postgres = postgres.statement_cache_capacity(cached_statements);
                    match shape.statement_limit {
                        Some(limit) => postgres.options([statement_limit::postgres_setting(limit)]),
                        None => postgres,
                    }
                });
        }
    }
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("could not connect to the database at {}", url.redacted()))?;
    instrument::attach(&mut db);
    Ok(db)
}

/// Two connections per core, at least four. A PostgreSQL backend is a process: more
/// busy connections than cores only adds context switches: on the 2-core machine 4
/// connections served the optimized list faster than 20 (`docs/measurement-log.md`, "Load
/// test: the optimized and naive pages").
fn default_postgres_pool() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

/// Applies pending migrations (a no-op when the schema is current) on a connection of
/// their own, closed before this returns: call it before opening the pool that will
/// use the schema. A SQLite connection checks a statement it prepares against the
/// schema it last read, which it reads again only when it next executes one — a
/// statement that fails to prepare does not refresh it: a pool connection opened before
/// a migration prepared `ON CONFLICT (email, name)` against the table without that
/// pair's UNIQUE, and the comment failed. (Another process holding connections — a
/// `perfblog worker` — is not refreshed by this; docs/operations.md says to stop it.)
pub async fn migrate(url: &DatabaseUrl) -> anyhow::Result<()> {
    let db = connect_one(url).await?;
    let applied = Migrator::up(&db, None)
        .await
        .context("could not apply the database migrations");
    let _ = db.close().await;
    applied
}

/// Starts a transaction that is going to write. On SQLite it is `BEGIN IMMEDIATE`: the
/// write lock is taken up front (waiting its turn behind other writers) — a plain
/// `BEGIN` that reads first and writes later fails with "database is locked" if
/// another connection committed in between. PostgreSQL ignores the option.
///
/// Inside a transaction it starts a savepoint instead (SQLite's mode applies to the
/// outermost `BEGIN` only): committing it releases the savepoint, and the outer
/// transaction still decides.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn standbys_are_refused_for_a_primary_that_is_not_postgres() {
        let settings = StandbySettings {
            urls: vec![DatabaseUrl::parse("postgres://postgres@standby/db").expect("a URL")],
            max_lag: Duration::from_secs(5),
        };
        let sqlite = DatabaseUrl::parse("sqlite::memory:").expect("a URL");
        let refused = reads(&DatabaseConnection::default(), &sqlite, &settings)
            .await
            .expect_err("refused");
        assert!(
            refused.to_string().contains("DATABASE_REPLICA_URLS"),
            "{refused}"
        );
    }
}
