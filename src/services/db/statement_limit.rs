//! A pool whose statements the database itself stops after a time limit: the lab's, so
//! that a side too slow for this server's data is cut off where it runs, not merely
//! abandoned by the request while the database goes on working for nobody.
//!
//! PostgreSQL has it built in: `statement_timeout`, set for each connection when it is
//! opened. SQLite has no timeout, but it calls a progress handler every few thousand
//! virtual-machine steps and stops the statement when the handler says so: each time the
//! pool hands a connection out, its handler is given a deadline of `limit` from then.
//! A connection serves one statement at a time outside a transaction, so on SQLite the
//! limit is per statement there, and per transaction inside one.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use sea_orm::sqlx::sqlite::{SqliteConnection, SqlitePoolOptions};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{DbErr, RuntimeErr};

/// Virtual-machine steps between two calls of SQLite's progress handler: a statement
/// runs past its deadline by at most this many steps, and reads the clock once per
/// this many.
const STEPS_BETWEEN_CHECKS: i32 = 1_000;

/// SQLite's `SQLITE_INTERRUPT`: the statement was stopped by its progress handler.
const SQLITE_INTERRUPT: &str = "9";

/// PostgreSQL's `query_canceled`, which `statement_timeout` raises.
const POSTGRES_QUERY_CANCELED: &str = "57014";

/// SQLite pool options whose connections stop any statement (or transaction) running
/// longer than `limit` from when the pool handed the connection out.
///
/// A write SQLite stops rolls its whole transaction back by itself; the `ROLLBACK` sent
/// after it then fails, and sqlx goes on counting a transaction the connection no longer
/// has — its next `BEGIN` would become a `SAVEPOINT` whose rollback leaves the write lock
/// held. Such a connection is closed when it comes back rather than kept.
pub fn sqlite_pool(options: SqlitePoolOptions, limit: Duration) -> SqlitePoolOptions {
    options
        .after_connect(move |connection, _| stop_after(connection, limit))
        .before_acquire(move |connection, _| {
            let armed = stop_after(connection, limit);
            Box::pin(async move { armed.await.map(|()| true) })
        })
        .after_release(|connection, _| {
            let clean = !connection.is_in_transaction();
            Box::pin(async move { Ok(clean) })
        })
}

/// `statement_timeout` as a PostgreSQL connection option: `800ms`.
pub fn postgres_setting(limit: Duration) -> (&'static str, String) {
    (
        "statement_timeout",
        format!("{}ms", limit.as_millis().max(1)),
    )
}

type Armed<'c> = Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// Gives `connection` a progress handler that stops what it runs once `limit` has passed.
fn stop_after(connection: &mut SqliteConnection, limit: Duration) -> Armed<'_> {
    Box::pin(async move {
        let deadline = Instant::now() + limit;
        connection
            .lock_handle()
            .await?
            .set_progress_handler(STEPS_BETWEEN_CHECKS, move || Instant::now() < deadline);
        Ok(())
    })
}

/// Whether `error` is the database stopping a statement at its limit.
pub fn stopped(error: &DbErr) -> bool {
    let sqlx = match error {
        DbErr::Query(RuntimeErr::SqlxError(sqlx))
        | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
        | DbErr::Conn(RuntimeErr::SqlxError(sqlx)) => sqlx,
        _ => return false,
    };
    let sqlx::Error::Database(database) = sqlx.as_ref() else {
        return false;
    };
    matches!(
        database.code().as_deref(),
        Some(SQLITE_INTERRUPT | POSTGRES_QUERY_CANCELED)
    )
}
